//! Text into HTML: the one escaper for every page the service writes.

/// Text made safe for HTML, in element content and in quoted attributes: `&`, `<`, `>`, `"`
/// and `'` as entities, control characters as U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_control_characters_are_escaped() {
        assert_eq!(escape("<a href=\"x\">&'</a>\u{7}"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;\u{fffd}");
        assert_eq!(escape("résumé 日本.txt"), "résumé 日本.txt");
    }
}
