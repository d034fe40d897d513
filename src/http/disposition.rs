//! `Content-Disposition` (RFC 6266 with RFC 8187 `filename*`), and file names as they may be
//! shown.
//!
//! A file name comes from a client and goes back out in a header, so it is never trusted:
//! the ASCII `filename` keeps only printable characters minus `"` and `\`, and the UTF-8
//! `filename*` is percent-encoded, so no name can inject a header or a parameter. Wherever a
//! name is shown or sent (this header, the share page, the native listing) it first loses
//! what a reader cannot see ([`visible_name`]), so that no name reads as another.

use std::borrow::Cow;

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
    let visible = visible_name(name);
    let name = last_path_segment(&visible);
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

/// A file name as it may be shown or sent: without the characters that change how a name
/// reads yet show nothing themselves. Those are Unicode's format characters (general category
/// Cf: bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners, the
/// BOM, invisible operators, tags, ...), by which `photo\u{202E}gnp.exe` shows as
/// `photoexe.png`; control characters (C0, DEL, C1); and the line and paragraph separators.
/// The rest is kept as it is. A name of nothing else comes out empty: callers treat it as
/// they treat any empty name.
pub fn visible_name(name: &str) -> Cow<'_, str> {
    if name.chars().any(is_invisible) {
        Cow::Owned(name.chars().filter(|c| !is_invisible(*c)).collect())
    } else {
        Cow::Borrowed(name)
    }
}

/// Unicode 15.1's general category Cf, by ranges (inclusive).
const FORMAT: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

fn is_invisible(c: char) -> bool {
    c.is_control() // Cc: C0, DEL and C1
        || c == '\u{2028}'
        || c == '\u{2029}'
        || FORMAT.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
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
            ("x\r\nSet-Cookie: a=b", r#"attachment; filename="xSet-Cookie: a=b""#), // controls go
            ("../../etc/passwd", r#"attachment; filename="passwd""#),
            ("C:\\Users\\me\\a.txt", r#"attachment; filename="a.txt""#),
            ("a;b=c.txt", r#"attachment; filename="a;b=c.txt""#),
            ("日本.txt", r#"attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"#),
            ("", "attachment"),
            ("dir/", "attachment"),
            // what cannot be seen is not sent: the name reads as what it is
            ("photo\u{202E}gnp.exe", r#"attachment; filename="photognp.exe""#),
            (
                "r\u{200B}ésumé\u{2067}.pdf",
                r#"attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"#,
            ),
            ("\u{FEFF}\u{202E}", "attachment"),
            ("dir/\u{200B}", "attachment"),
        ];
        for (name, want) in rows {
            assert_eq!(content_disposition(Attachment, name), *want, "name {name:?}");
        }
        assert_eq!(content_disposition(Inline, "a.png"), r#"inline; filename="a.png""#);
    }

    #[test]
    fn visible_name_table() {
        let rows: &[(&str, &str)] = &[
            ("photo\u{202E}gnp.exe", "photognp.exe"),
            ("\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}a", "a"),
            ("\u{2066}\u{2067}\u{2068}\u{2069}b", "b"),
            ("\u{200B}\u{200C}\u{200D}\u{200E}\u{200F}c", "c"),
            ("\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}d", "d"),
            ("\u{FEFF}e\u{061C}\u{180E}\u{00AD}", "e"),
            ("f\u{206A}\u{206F}\u{FFF9}\u{FFFB}", "f"),
            ("g\u{E0001}\u{E0067}\u{E007F}\u{1D173}\u{13430}", "g"),
            ("h\u{0}\u{1F}\u{7F}\u{80}\u{9F}\u{2028}\u{2029}", "h"),
            ("\u{202E}\u{200B}", ""),
            ("", ""),
            // visible text of any script is kept, and so are marks that draw
            ("résumé 日本 مرحبا עברית.pdf", "résumé 日本 مرحبا עברית.pdf"),
            ("❤\u{FE0F} e\u{301}.png", "❤\u{FE0F} e\u{301}.png"),
            ("  spaced  .txt", "  spaced  .txt"),
            ("\u{00A0}nbsp\u{3000}", "\u{00A0}nbsp\u{3000}"),
        ];
        for (name, want) in rows {
            assert_eq!(visible_name(name), *want, "name {name:?}");
        }
        assert!(matches!(visible_name("plain.txt"), Cow::Borrowed(_)), "nothing copied when nothing goes");
        // every range of the table, its ends and middle, goes
        for (lo, hi) in FORMAT {
            let mid = char::from_u32((*lo as u32 + *hi as u32) / 2).unwrap();
            for c in [*lo, mid, *hi] {
                assert_eq!(visible_name(&format!("x{c}y")), "xy", "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn no_control_characters_ever_reach_the_header() {
        for name in ["\u{0}\u{7f}x", "a\nb", "tab\there", "\u{2028}"] {
            let v = content_disposition(Attachment, name);
            assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b)), "{v:?}");
        }
    }
}
