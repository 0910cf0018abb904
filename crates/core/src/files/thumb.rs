//! Thumbnails in PocketBase's size formats: `WxH` (crop to fill, centred), `WxHt` and `WxHb`
//! (crop from the top or bottom), `WxHf` (fit inside), `Wx0` and `0xH` (keep the aspect ratio).

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat};

use super::FileError;

/// The size every image may be thumbed at (the dashboard's), whatever the field lists.
pub const ALWAYS_ALLOWED: &str = "100x100";

/// Content types that thumbnails are made of; anything else is served as is.
pub const THUMBABLE: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Center,
    Top,
    Bottom,
    Fit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbSize {
    pub width: u32,
    pub height: u32,
    pub mode: Mode,
}

impl ThumbSize {
    /// `None` unless `spec` is one of the formats (and not `0x0`).
    pub fn parse(spec: &str) -> Option<ThumbSize> {
        let (w, rest) = spec.split_once('x')?;
        let (h, mode) = match rest.char_indices().last()? {
            (i, 't') => (&rest[..i], Mode::Top),
            (i, 'b') => (&rest[..i], Mode::Bottom),
            (i, 'f') => (&rest[..i], Mode::Fit),
            _ => (rest, Mode::Center),
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(w) || !digits(h) {
            return None;
        }
        let (width, height) = (w.parse().ok()?, h.parse().ok()?);
        let zero_side = width == 0 || height == 0;
        if (width == 0 && height == 0) || (zero_side && mode != Mode::Center) {
            return None;
        }
        Some(ThumbSize {
            width,
            height,
            mode,
        })
    }
}

/// Makes the thumbnail of `original` (in the same format) at `size`.
pub fn generate(original: &[u8], size: ThumbSize) -> Result<Vec<u8>, FileError> {
    let format = image::guess_format(original).map_err(|e| FileError::Thumb(e.to_string()))?;
    let img = image::load_from_memory_with_format(original, format)
        .map_err(|e| FileError::Thumb(e.to_string()))?;
    let out = resize(&img, size);
    let mut buf = std::io::Cursor::new(Vec::new());
    let out = match format {
        // JPEG has no alpha channel.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(out.to_rgb8()),
        // The WebP encoder takes 8-bit RGB(A) only.
        ImageFormat::WebP => DynamicImage::ImageRgba8(out.to_rgba8()),
        _ => out,
    };
    out.write_to(&mut buf, format)
        .map_err(|e| FileError::Thumb(e.to_string()))?;
    Ok(buf.into_inner())
}

fn resize(img: &DynamicImage, size: ThumbSize) -> DynamicImage {
    let (iw, ih) = (img.width().max(1), img.height().max(1));
    let (w, h) = (size.width, size.height);
    let filter = FilterType::Lanczos3;
    if w == 0 {
        let nw = ((iw as f64) * (h as f64) / (ih as f64)).round().max(1.0) as u32;
        return img.resize_exact(nw, h, filter);
    }
    if h == 0 {
        let nh = ((ih as f64) * (w as f64) / (iw as f64)).round().max(1.0) as u32;
        return img.resize_exact(w, nh, filter);
    }
    match size.mode {
        Mode::Fit => {
            // The side that does not fill the box is rounded down, as PocketBase's is.
            let scale = f64::min(w as f64 / iw as f64, h as f64 / ih as f64);
            let nw = ((iw as f64 * scale).floor() as u32).clamp(1, w);
            let nh = ((ih as f64 * scale).floor() as u32).clamp(1, h);
            img.resize_exact(nw, nh, filter)
        }
        Mode::Center => img.resize_to_fill(w, h, filter),
        Mode::Top | Mode::Bottom => {
            // Scale to cover the box, then keep the top (or bottom) of the overflow.
            let scale = f64::max(w as f64 / iw as f64, h as f64 / ih as f64);
            let nw = ((iw as f64 * scale).ceil() as u32).max(w);
            let nh = ((ih as f64 * scale).ceil() as u32).max(h);
            let scaled = img.resize_exact(nw, nh, filter);
            let x = (nw - w) / 2;
            let y = if size.mode == Mode::Top { 0 } else { nh - h };
            scaled.crop_imm(x, y, w, h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        let s = |w, h, mode| {
            Some(ThumbSize {
                width: w,
                height: h,
                mode,
            })
        };
        assert_eq!(ThumbSize::parse("100x50"), s(100, 50, Mode::Center));
        assert_eq!(ThumbSize::parse("100x50t"), s(100, 50, Mode::Top));
        assert_eq!(ThumbSize::parse("100x50b"), s(100, 50, Mode::Bottom));
        assert_eq!(ThumbSize::parse("100x50f"), s(100, 50, Mode::Fit));
        assert_eq!(ThumbSize::parse("0x50"), s(0, 50, Mode::Center));
        assert_eq!(ThumbSize::parse("70x0"), s(70, 0, Mode::Center));
        for bad in [
            "0x0", "x50", "50x", "abc", "50x50x", "-1x5", "0x50f", "50 x50",
        ] {
            assert_eq!(ThumbSize::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn thumbnails_have_the_asked_size() {
        let img = DynamicImage::new_rgb8(120, 80);
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, ImageFormat::Png).unwrap();
        let png = png.into_inner();
        for (spec, want) in [
            ("50x50", (50, 50)),
            ("50x50t", (50, 50)),
            ("50x50b", (50, 50)),
            ("60x60f", (60, 40)),
            ("40x40f", (40, 26)),
            ("60x0", (60, 40)),
            ("0x40", (60, 40)),
        ] {
            let out = generate(&png, ThumbSize::parse(spec).unwrap()).unwrap();
            let t = image::load_from_memory(&out).unwrap();
            assert_eq!((t.width(), t.height()), want, "{spec}");
        }
    }
}
