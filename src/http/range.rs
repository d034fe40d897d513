//! `Range` request header (RFC 9110 §14.1.2), single range only.
//!
//! Two steps, as in s3s: [`Range::parse`] knows nothing about the file, [`Range::check`]
//! resolves it against the file's length.

/// A parsed `Range: bytes=...` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// `bytes=first-` or `bytes=first-last` (last inclusive).
    FromTo { first: u64, last: Option<u64> },
    /// `bytes=-n`: the last n bytes.
    Suffix { len: u64 },
}

/// A byte span resolved against a file: `start` and `len`, never empty, inside the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub len: u64,
}

impl Span {
    /// The `Content-Range` value of a 206 answer.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.start + self.len - 1, size)
    }
}

/// What a `Range` header asks of a file of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeCheck {
    /// Serve these bytes with 206.
    Partial(Span),
    /// The range covers no byte of the file: 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

impl Range {
    /// Parses a `Range` header value. `None` means "ignore the header and send the whole
    /// file", which RFC 9110 allows for anything we do not understand: other units,
    /// several ranges, syntax errors.
    pub fn parse(value: &str) -> Option<Range> {
        let spec = value.trim();
        let (unit, set) = spec.split_once('=')?;
        if !unit.trim().eq_ignore_ascii_case("bytes") {
            return None;
        }
        let set = set.trim();
        if set.contains(',') {
            return None; // multipart/byteranges is not offered
        }
        let (a, b) = set.split_once('-')?;
        let (a, b) = (a.trim(), b.trim());
        if a.is_empty() {
            return Some(Range::Suffix { len: digits(b)? });
        }
        let first = digits(a)?;
        let last = if b.is_empty() { None } else { Some(digits(b)?) };
        if matches!(last, Some(l) if l < first) {
            return None;
        }
        Some(Range::FromTo { first, last })
    }

    /// Resolves the range against a file of `size` bytes.
    pub fn check(self, size: u64) -> RangeCheck {
        match self {
            Range::FromTo { first, last } => {
                if first >= size {
                    return RangeCheck::Unsatisfiable;
                }
                let last = last.map_or(size - 1, |l| l.min(size - 1));
                RangeCheck::Partial(Span { start: first, len: last - first + 1 })
            }
            Range::Suffix { len } => {
                if len == 0 || size == 0 {
                    return RangeCheck::Unsatisfiable;
                }
                let len = len.min(size);
                RangeCheck::Partial(Span { start: size - len, len })
            }
        }
    }
}

/// A non-empty run of ASCII digits that fits a u64.
pub(crate) fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        use Range::*;
        let rows: &[(&str, Option<Range>)] = &[
            ("bytes=0-0", Some(FromTo { first: 0, last: Some(0) })),
            ("bytes=0-499", Some(FromTo { first: 0, last: Some(499) })),
            ("bytes=500-", Some(FromTo { first: 500, last: None })),
            ("bytes=-500", Some(Suffix { len: 500 })),
            ("BYTES = 1-2", Some(FromTo { first: 1, last: Some(2) })),
            (" bytes=1-2 ", Some(FromTo { first: 1, last: Some(2) })),
            ("bytes=5-4", None),
            ("bytes=0-1,3-4", None),
            ("items=0-1", None),
            ("bytes=", None),
            ("bytes=-", None),
            ("bytes=a-1", None),
            ("bytes=+1-2", None),
            ("bytes=1-2-3", None),
            ("bytes=99999999999999999999-", None),
            ("0-1", None),
            ("", None),
        ];
        for (input, want) in rows {
            assert_eq!(Range::parse(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn check_table() {
        use RangeCheck::*;
        let p = |start, len| Partial(Span { start, len });
        let rows: &[(&str, u64, RangeCheck)] = &[
            ("bytes=0-0", 10, p(0, 1)),
            ("bytes=0-9", 10, p(0, 10)),
            ("bytes=0-100", 10, p(0, 10)),
            ("bytes=9-", 10, p(9, 1)),
            ("bytes=10-", 10, Unsatisfiable),
            ("bytes=10-20", 10, Unsatisfiable),
            ("bytes=-3", 10, p(7, 3)),
            ("bytes=-30", 10, p(0, 10)),
            ("bytes=-0", 10, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
        ];
        for (input, size, want) in rows {
            let got = Range::parse(input).unwrap().check(*size);
            assert_eq!(got, *want, "{input} on {size} bytes");
        }
    }

    #[test]
    fn content_range_is_inclusive() {
        assert_eq!(Span { start: 7, len: 3 }.content_range(10), "bytes 7-9/10");
    }
}
