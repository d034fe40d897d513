//! IMiS's `content-range` of an uploaded part, in every form a client sends: `a-b` (the seed's),
//! `bytes a-b/total`, `bytes a-b/*`, `bytes=a-b`. `a` is the offset of the part's first byte
//! and `b` its last (inclusive); a range one byte short of the body (`b - a` equal to
//! `content-length`) is read as an exclusive end, as some clients send it.

use super::range::digits;
use crate::error::{Error, Result};

/// Where a part goes: its offset and its length, and the file's total length when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartRange {
    pub start: u64,
    pub len: u64,
    pub total: Option<u64>,
}

/// Parses `content-range` against the part's `content-length`.
pub fn parse_part_range(value: &str, content_length: u64) -> Result<PartRange> {
    let bad =
        || Error::bad_request("content-range must be `first-last`, `bytes first-last/total` or `bytes=first-last`");
    let v = value.trim();
    if v.len() > 100 {
        return Err(bad());
    }
    let lower = v.to_ascii_lowercase();
    let rest = lower.strip_prefix("bytes=").or_else(|| lower.strip_prefix("bytes ")).unwrap_or(&lower).trim();
    let (span, total) = match rest.split_once('/') {
        Some((span, "*")) => (span, None),
        Some((span, total)) => (span, Some(digits(total.trim()).ok_or_else(bad)?)),
        None => (rest, None),
    };
    let (a, b) = span.split_once('-').ok_or_else(bad)?;
    let (a, b) = (digits(a.trim()).ok_or_else(bad)?, digits(b.trim()).ok_or_else(bad)?);
    // checked throughout: `0-18446744073709551615` is `u64::MAX + 1` bytes, not 0
    let span = b.checked_sub(a).ok_or_else(bad)?;
    let len = if span.checked_add(1) == Some(content_length) || span == content_length {
        content_length
    } else {
        return Err(Error::bad_request(format!(
            "content-range {a}-{b} does not match content-length {content_length}"
        )));
    };
    let end = a.checked_add(len).ok_or_else(bad)?;
    if total.is_some_and(|t| end > t) {
        return Err(bad());
    }
    Ok(PartRange { start: a, len, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_a_client_sends() {
        let ok = |v: &str, len: u64| parse_part_range(v, len).map(|r| (r.start, r.len, r.total));
        type Row<'a> = (&'a str, u64, Option<(u64, u64, Option<u64>)>);
        let rows: &[Row] = &[
            ("0-9", 10, Some((0, 10, None))),
            (" 10-19 ", 10, Some((10, 10, None))),
            ("bytes 0-9/93847", 10, Some((0, 10, Some(93847)))),
            ("bytes 0-9/*", 10, Some((0, 10, None))),
            ("bytes=0-9", 10, Some((0, 10, None))),
            ("Bytes=5-5", 1, Some((5, 1, None))),
            ("0-10", 10, Some((0, 10, None))), // exclusive end
            ("bytes 0-10/10", 10, Some((0, 10, Some(10)))),
            ("0-0", 1, Some((0, 1, None))),
            ("0-9", 11, None), // neither inclusive nor exclusive
            ("9-0", 10, None),
            ("0-9/5", 10, None), // past the total
            ("a-b", 10, None),
            ("-9", 10, None),
            ("0-", 10, None),
            ("bytes 0-9/x", 10, None),
            ("", 0, None),
            ("0-99999999999999999999999", 10, None),
            // at the edge of u64: nothing wraps
            ("bytes 0-18446744073709551615/*", 0, None), // u64::MAX + 1 bytes, not 0
            ("0-18446744073709551615", 0, None),
            ("bytes=0-18446744073709551615", u64::MAX, Some((0, u64::MAX, None))), // exclusive end
            ("bytes 0-18446744073709551615/18446744073709551615", 0, None),
            ("bytes 0-18446744073709551614/18446744073709551615", u64::MAX, Some((0, u64::MAX, Some(u64::MAX)))),
            ("18446744073709551615-18446744073709551615", 1, None), // its end is past u64
            ("18446744073709551614-18446744073709551615", 1, Some((u64::MAX - 1, 1, None))),
            (
                "bytes 18446744073709551614-18446744073709551614/18446744073709551615",
                1,
                Some((u64::MAX - 1, 1, Some(u64::MAX))),
            ),
            ("18446744073709551615-0", 0, None),
            ("18446744073709551616-18446744073709551616", 1, None),
        ];
        for (v, len, want) in rows {
            assert_eq!(ok(v, *len).ok(), *want, "{v:?} with length {len}");
        }
        assert_eq!(parse_part_range(&"1".repeat(200), 1).unwrap_err().status(), 400);
    }
}
