//! Entity tags. A file's ETag is its sha256 in quotes (or R2's own etag where the digest was
//! not known when its object was created): strong, stable across dialects.

/// The strong ETag of a file whose validator (sha256 hex, or R2's etag) is this.
pub fn etag_for(validator: &str) -> String {
    format!("\"{validator}\"")
}

/// Does an `If-None-Match` header match this ETag? Weak comparison (RFC 9110 §13.1.2):
/// `W/` prefixes are ignored, `*` matches any existing file.
pub fn if_none_match(header: &str, etag: &str) -> bool {
    let want = etag.trim_start_matches("W/");
    header.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_table() {
        let etag = etag_for("abc");
        let rows: &[(&str, bool)] = &[
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abcd\"", false),
            ("abc", false),
            ("", false),
        ];
        for (h, want) in rows {
            assert_eq!(if_none_match(h, &etag), *want, "{h:?}");
        }
    }
}
