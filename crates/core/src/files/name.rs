//! The names files are stored under, as PocketBase makes them: the original name in snake case,
//! `_`, ten random lowercase letters and digits, then the original extension (or one guessed
//! from the content). The random part keeps names unguessable and never colliding; the cleaning
//! keeps them safe as path segments and in headers.

use crate::util::random_lower;

/// Longer extensions keep only their last characters.
const MAX_EXT: usize = 20;
/// Longer names are cut.
const MAX_NAME: usize = 100;
/// Shorter names get an extra random part.
const MIN_NAME: usize = 3;
const RANDOM_PART: usize = 10;

/// The stored name for an upload called `original` whose content sniffed as `mime`.
pub fn stored_name(original: &str, mime: &str) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or("");
    let ext = extension(base);
    let mut clean_ext: String = ext
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_.*-+=#".contains(*c))
        .collect();
    if clean_ext.is_empty() {
        clean_ext = super::sniff::extension_for(mime).to_string();
    }
    if clean_ext.len() > MAX_EXT {
        clean_ext = format!(".{}", &clean_ext[clean_ext.len() - MAX_EXT..]);
    }
    let mut name = snake_case(&base[..base.len() - ext.len()]);
    if name.len() < MIN_NAME {
        name.push_str(&random_lower(RANDOM_PART));
    } else if name.len() > MAX_NAME {
        name.truncate(MAX_NAME);
    }
    format!("{name}_{}{clean_ext}", random_lower(RANDOM_PART))
}

/// The extension with its dot, two levels deep (`.tar.gz`); empty when there is none.
fn extension(name: &str) -> &str {
    let Some(last) = name.rfind('.') else {
        return "";
    };
    match name[..last].rfind('.') {
        Some(second) => &name[second..],
        None => &name[last..],
    }
}

/// ASCII words joined by `_`, lowercased, with a break before an uppercase letter that follows
/// a lowercase one (`myTestDB` -> `my_test_db`). Everything else is dropped.
fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        let mut prev_upper = true;
        for c in word.chars() {
            let upper = c.is_ascii_uppercase();
            if upper && !prev_upper {
                out.push('_');
            }
            prev_upper = upper;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `name_xxxxxxxxxx.ext` into (name, ext) after checking the random part.
    fn parts(stored: &str) -> (String, String) {
        let dot = stored[..].find('.').unwrap_or(stored.len());
        let (stem, ext) = stored.split_at(dot);
        let (name, random) = stem.rsplit_once('_').expect("a random part");
        assert_eq!(random.len(), 10, "{stored}");
        assert!(random
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        (name.to_string(), ext.to_string())
    }

    #[test]
    fn names_follow_pocketbase() {
        // Read off PocketBase 0.40.6 uploads.
        for (original, name, ext) in [
            ("hello.txt", "hello", ".txt"),
            ("my photo.PNG", "my_photo", ".PNG"),
            ("a.b.c.png", "a_b", ".c.png"),
            ("archive.tar.gz", "archive", ".tar.gz"),
            ("myTestDB.JPG", "my_test_db", ".JPG"),
            ("hello-world_2.txt", "hello_world_2", ".txt"),
            ("ABC.txt", "abc", ".txt"),
            ("a__b--c.txt", "a_b_c", ".txt"),
            ("../../etc/p\u{e4} sswd", "p_sswd", ".txt"),
            ("name.with spaces.t x t", "name", ".withspaces.txt"),
            (
                "file.tooooooooooooooooooooooooolongext",
                "file",
                ".ooooooooooooolongext",
            ),
        ] {
            let stored = stored_name(original, "text/plain; charset=utf-8");
            assert_eq!(parts(&stored), (name.into(), ext.into()), "{original}");
        }
    }

    #[test]
    fn short_names_get_more_randomness() {
        let stored = stored_name("ab.txt", "text/plain");
        let (name, ext) = parts(&stored);
        assert_eq!((name.len(), &name[..2], ext.as_str()), (12, "ab", ".txt"));
        let (name, _) = parts(&stored_name("\u{e4}.txt", "text/plain"));
        assert_eq!(name.len(), 10);
        let (_, ext) = parts(&stored_name("blob", "application/octet-stream"));
        assert_eq!(ext, "");
    }
}
