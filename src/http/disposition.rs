//! `Content-Disposition` (RFC 6266 with RFC 8187 `filename*`).
//!
//! A file name comes from a client and goes back out in a header, so it is never trusted:
//! the ASCII `filename` keeps only printable characters minus `"` and `\`, and the UTF-8
//! `filename*` is percent-encoded, so no name can inject a header or a parameter.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// RFC 8187 `attr-char`: ALPHA / DIGIT / "!#$&+-.^_`|~". Everything else is encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="..."; filename*=UTF-8''...` (or `inline`).
pub fn content_disposition(kind: DispositionKind, name: &str) -> String {
    let kind = match kind {
        DispositionKind::Attachment => "attachment",
        DispositionKind::Inline => "inline",
    };
    let name = last_path_segment(name);
    if name.is_empty() {
        return kind.to_string();
    }
    let fallback = ascii_fallback(name);
    if fallback == name {
        format!("{kind}; filename=\"{fallback}\"")
    } else {
        let encoded = utf8_percent_encode(name, ATTR_CHAR);
        format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispositionKind {
    Attachment,
    Inline,
}

/// Clients sometimes send a path (`C:\Users\me\a.txt`); only the last segment is the name.
pub fn last_path_segment(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or("").trim()
}

/// The name in printable ASCII without quote or backslash; other characters become `_`.
fn ascii_fallback(name: &str) -> String {
    name.chars().map(|c| if (' '..='~').contains(&c) && c != '"' && c != '\\' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use DispositionKind::*;

    #[test]
    fn disposition_table() {
        let rows: &[(&str, &str)] = &[
            ("test.txt", r#"attachment; filename="test.txt""#),
            ("my file (1).pdf", r#"attachment; filename="my file (1).pdf""#),
            ("résumé.pdf", r#"attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"#),
            ("a\"b.txt", r#"attachment; filename="a_b.txt"; filename*=UTF-8''a%22b.txt"#),
            (
                "x\r\nSet-Cookie: a=b",
                r#"attachment; filename="x__Set-Cookie: a=b"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db"#,
            ),
            ("../../etc/passwd", r#"attachment; filename="passwd""#),
            ("C:\\Users\\me\\a.txt", r#"attachment; filename="a.txt""#),
            ("a;b=c.txt", r#"attachment; filename="a;b=c.txt""#),
            ("日本.txt", r#"attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"#),
            ("", "attachment"),
            ("dir/", "attachment"),
        ];
        for (name, want) in rows {
            assert_eq!(content_disposition(Attachment, name), *want, "name {name:?}");
        }
        assert_eq!(content_disposition(Inline, "a.png"), r#"inline; filename="a.png""#);
    }

    #[test]
    fn no_control_characters_ever_reach_the_header() {
        for name in ["\u{0}\u{7f}x", "a\nb", "tab\there", "\u{2028}"] {
            let v = content_disposition(Attachment, name);
            assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b)), "{v:?}");
        }
    }
}
