//! The generic download responder, as a pure plan: which status, which headers, which bytes.
//! The worker layer then fetches exactly those bytes from R2 and streams them.

use super::disposition::{content_disposition, DispositionKind};
use super::etag::if_none_match;
use super::range::{Range, RangeCheck, Span};

/// What the client asked for, in the headers that matter to a download.
#[derive(Debug, Clone, Default)]
pub struct DownloadAsk<'a> {
    pub head: bool,
    pub range: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_range: Option<&'a str>,
}

/// What is being served.
#[derive(Debug, Clone)]
pub struct Served<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: u64,
    /// The strong entity tag, quoted.
    pub etag: &'a str,
    pub disposition: DispositionKind,
    pub cache: CachePolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// Authenticated or token downloads: only the client may cache.
    Private,
    /// Public downloads whose bytes never change, for `max_age` seconds (at most their
    /// file's remaining life): any cache may keep them, the worker's Cache API included.
    Public { max_age: u64 },
}

/// A year: the `max-age` of a public file that does not expire.
pub const YEAR_SECS: u64 = 31_536_000;

impl CachePolicy {
    /// Public until a file's expiry (a year if it has none; never past its expiry).
    pub fn public_until(expires_at: Option<u64>, now: u64) -> CachePolicy {
        let max_age = expires_at.map_or(YEAR_SECS, |at| (at.saturating_sub(now) / 1000).min(YEAR_SECS));
        CachePolicy::Public { max_age }
    }

    /// Public until a file's expiry and for at most `bound` seconds: the file may be deleted,
    /// and no copy anywhere may serve it for longer than that after its deletion.
    pub fn public_bounded(expires_at: Option<u64>, now: u64, bound: u64) -> CachePolicy {
        match CachePolicy::public_until(expires_at, now) {
            CachePolicy::Public { max_age } => CachePolicy::Public { max_age: max_age.min(bound) },
            private => private,
        }
    }

    pub fn header(self) -> String {
        match self {
            CachePolicy::Private => "private, no-cache".into(),
            CachePolicy::Public { max_age: YEAR_SECS } => format!("public, max-age={YEAR_SECS}, immutable"),
            CachePolicy::Public { max_age } => format!("public, max-age={max_age}"),
        }
    }
}

/// Which bytes of the object to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPlan {
    None,
    Whole,
    Part(Span),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadPlan {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: BodyPlan,
}

impl DownloadPlan {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Decides the answer to a GET or HEAD of a stored file.
pub fn plan_download(file: &Served<'_>, ask: &DownloadAsk<'_>) -> DownloadPlan {
    let etag = file.etag.to_string();
    let mut headers: Vec<(&'static str, String)> = vec![
        ("ETag", etag.clone()),
        ("Accept-Ranges", "bytes".into()),
        ("X-Content-Type-Options", "nosniff".into()),
        ("Cache-Control", file.cache.header()),
    ];
    if ask.if_none_match.is_some_and(|h| if_none_match(h, &etag)) {
        return DownloadPlan { status: 304, headers, body: BodyPlan::None };
    }
    headers.push(("Content-Type", file.content_type.to_string()));
    headers.push(("Content-Disposition", content_disposition(file.disposition, file.name)));

    // If-Range with a different validator means "send the whole file".
    let range_applies = ask.if_range.is_none_or(|v| v.trim() == etag);
    let range = ask.range.filter(|_| range_applies).and_then(Range::parse);
    let (status, body) = match range.map(|r| r.check(file.size)) {
        None => {
            headers.push(("Content-Length", file.size.to_string()));
            (200, BodyPlan::Whole)
        }
        Some(RangeCheck::Partial(span)) => {
            headers.push(("Content-Range", span.content_range(file.size)));
            headers.push(("Content-Length", span.len.to_string()));
            (206, BodyPlan::Part(span))
        }
        Some(RangeCheck::Unsatisfiable) => {
            // an empty answer: not of the file's type, nor a file to save
            headers.retain(|(k, _)| *k != "Content-Type" && *k != "Content-Disposition");
            headers.push(("Content-Range", format!("bytes */{}", file.size)));
            headers.push(("Content-Length", "0".into()));
            (416, BodyPlan::None)
        }
    };
    let body = if ask.head { BodyPlan::None } else { body };
    DownloadPlan { status, headers, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Served<'static> {
        Served {
            name: "a.txt",
            content_type: "text/plain",
            size: 10,
            etag: "\"abc\"",
            disposition: DispositionKind::Attachment,
            cache: CachePolicy::Private,
        }
    }

    #[test]
    fn plan_table() {
        let rows: &[(DownloadAsk<'static>, u16, BodyPlan, Option<&str>)] = &[
            (DownloadAsk::default(), 200, BodyPlan::Whole, None),
            (DownloadAsk { head: true, ..Default::default() }, 200, BodyPlan::None, None),
            (
                DownloadAsk { range: Some("bytes=2-4"), ..Default::default() },
                206,
                BodyPlan::Part(Span { start: 2, len: 3 }),
                Some("bytes 2-4/10"),
            ),
            (
                DownloadAsk { range: Some("bytes=2-4"), head: true, ..Default::default() },
                206,
                BodyPlan::None,
                Some("bytes 2-4/10"),
            ),
            (DownloadAsk { range: Some("bytes=10-"), ..Default::default() }, 416, BodyPlan::None, Some("bytes */10")),
            (DownloadAsk { range: Some("bytes=0-1,4-5"), ..Default::default() }, 200, BodyPlan::Whole, None),
            (DownloadAsk { if_none_match: Some("\"abc\""), ..Default::default() }, 304, BodyPlan::None, None),
            (DownloadAsk { if_none_match: Some("\"zzz\""), ..Default::default() }, 200, BodyPlan::Whole, None),
            (
                DownloadAsk { range: Some("bytes=0-0"), if_range: Some("\"abc\""), ..Default::default() },
                206,
                BodyPlan::Part(Span { start: 0, len: 1 }),
                Some("bytes 0-0/10"),
            ),
            (
                DownloadAsk { range: Some("bytes=0-0"), if_range: Some("\"old\""), ..Default::default() },
                200,
                BodyPlan::Whole,
                None,
            ),
        ];
        for (ask, status, body, content_range) in rows {
            let plan = plan_download(&file(), ask);
            assert_eq!(plan.status, *status, "{ask:?}");
            assert_eq!(plan.body, *body, "{ask:?}");
            assert_eq!(plan.header("Content-Range"), *content_range, "{ask:?}");
            assert_eq!(plan.header("X-Content-Type-Options"), Some("nosniff"));
            assert_eq!(plan.header("ETag"), Some("\"abc\""));
        }
    }

    #[test]
    fn lengths_and_types() {
        let p = plan_download(&file(), &DownloadAsk::default());
        assert_eq!(p.header("Content-Length"), Some("10"));
        assert_eq!(p.header("Content-Type"), Some("text/plain"));
        assert_eq!(p.header("Content-Disposition"), Some("attachment; filename=\"a.txt\""));
        assert_eq!(p.header("Cache-Control"), Some("private, no-cache"));
        let p = plan_download(&file(), &DownloadAsk { range: Some("bytes=-4"), ..Default::default() });
        assert_eq!(p.header("Content-Length"), Some("4"));
        let p = plan_download(&file(), &DownloadAsk { range: Some("bytes=10-"), ..Default::default() });
        assert_eq!((p.status, p.header("Content-Type"), p.header("Content-Disposition")), (416, None, None));
        let immutable = Served { cache: CachePolicy::public_until(None, 0), ..file() };
        let p = plan_download(&immutable, &DownloadAsk::default());
        assert_eq!(p.header("Cache-Control"), Some("public, max-age=31536000, immutable"));
        let expiring = Served { cache: CachePolicy::public_until(Some(90_500), 30_000), ..file() };
        let p = plan_download(&expiring, &DownloadAsk::default());
        assert_eq!(p.header("Cache-Control"), Some("public, max-age=60"), "never past the file's expiry");
        assert_eq!(CachePolicy::public_until(Some(1), 5), CachePolicy::Public { max_age: 0 });
    }
}
