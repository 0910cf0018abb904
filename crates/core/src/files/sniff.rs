//! What a file is, read from its first bytes rather than trusted from the client: the
//! `mimeTypes` check, the served `Content-Type` and a missing extension all come from here.
//! Binary formats go by their magic numbers; text is told apart by its opening.

/// How many leading bytes the detection looks at.
pub const SNIFF_LEN: usize = 3072;

const TEXT: &str = "text/plain; charset=utf-8";
const OCTET: &str = "application/octet-stream";

/// The MIME type of content starting with `head` (in PocketBase's spelling, parameters included).
pub fn detect(head: &[u8]) -> String {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if let Some(t) = infer::get(head) {
        if t.matcher_type() != infer::MatcherType::Text {
            return t.mime_type().to_string();
        }
    }
    detect_text(head).unwrap_or(OCTET).to_string()
}

fn detect_text(head: &[u8]) -> Option<&'static str> {
    if head.is_empty() {
        return Some(TEXT);
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A multi-byte character cut by the sniffing window is still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    if text.contains('\0') {
        return None;
    }
    let start = text.trim_start_matches('\u{feff}').trim_start();
    let lower = start
        .get(..start.len().min(256))
        .unwrap_or(start)
        .to_ascii_lowercase();
    if lower.starts_with("<svg") || (lower.starts_with("<?xml") && lower.contains("<svg")) {
        return Some("image/svg+xml");
    }
    if lower.starts_with("<?xml") {
        return Some("text/xml; charset=utf-8");
    }
    const HTML: &[&str] = &[
        "<!doctype html",
        "<html",
        "<head",
        "<script",
        "<iframe",
        "<h1",
        "<div",
        "<font",
        "<table",
        "<a",
        "<style",
        "<title",
        "<b",
        "<body",
        "<br",
        "<p",
        "<!--",
    ];
    if HTML.iter().any(|tag| {
        lower.starts_with(tag)
            && lower[tag.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == '>' || c == ' ' || (*tag == "<!--"))
    }) {
        return Some("text/html; charset=utf-8");
    }
    if (start.starts_with('{') || start.starts_with('['))
        && serde_json::from_slice::<serde_json::Value>(head).is_ok()
    {
        return Some("application/json");
    }
    Some(TEXT)
}

/// The bare `type/subtype` of a MIME type, lowercased.
pub fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether `mime` is one of `allowed` (compared without parameters, case-insensitively).
pub fn is_one_of(mime: &str, allowed: &[String]) -> bool {
    let e = essence(mime);
    allowed.iter().any(|a| essence(a) == e)
}

/// The extension (with its dot) for a file that came without one; empty when unknown.
pub fn extension_for(mime: &str) -> &'static str {
    match essence(mime).as_str() {
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/xml" => ".xml",
        "image/svg+xml" => ".svg",
        "application/json" => ".json",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/bmp" => ".bmp",
        "image/x-icon" | "image/vnd.microsoft.icon" => ".ico",
        "image/avif" => ".avif",
        "image/tiff" => ".tiff",
        "application/pdf" => ".pdf",
        "application/zip" => ".zip",
        "application/gzip" => ".gz",
        "application/x-tar" => ".tar",
        "video/mp4" => ".mp4",
        "video/webm" => ".webm",
        "audio/mpeg" => ".mp3",
        "audio/x-wav" | "audio/wav" => ".wav",
        "audio/ogg" => ".ogg",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_not_the_name() {
        let png = [
            0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 13,
        ];
        assert_eq!(detect(&png), "image/png");
        assert_eq!(detect(b"hello world"), TEXT);
        assert_eq!(
            detect(b"<html><script>x</script></html>"),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            detect(b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"),
            "image/svg+xml"
        );
        assert_eq!(detect(br#"{"a":1}"#), "application/json");
        assert_eq!(detect(&[0, 159, 146, 150, 1, 2]), OCTET);
        assert_eq!(detect(b"%PDF-1.4\n"), "application/pdf");
    }

    #[test]
    fn allowed_types_ignore_parameters_and_case() {
        let allowed = vec!["text/plain".to_string(), "Image/PNG".to_string()];
        assert!(is_one_of(TEXT, &allowed));
        assert!(is_one_of("image/png", &allowed));
        assert!(!is_one_of("image/jpeg", &allowed));
    }
}
