//! One structured line per request, for the operator's logs (Workers Logs, `wrangler tail`):
//! a JSON object with the request id, the tenant, the dialect, the endpoint row, the status,
//! the bytes in and out, the duration and the error's stable code, so logs can be filtered by
//! tenant or error. Never a header, a body, a query or a whole capability: the path is the
//! one [`super::Outcome::log_path`] cuts short. Pure: the worker layer fills it in and prints it.

use serde::Serialize;

/// Longest client `X-Request-ID` kept as the request's id (a longer one is replaced).
pub const MAX_REQUEST_ID: usize = 128;

/// The request's id: the client's `X-Request-ID` when it is short printable ASCII (so that it
/// cannot forge log lines), else `generated`.
pub fn request_id(client: Option<&str>, generated: impl FnOnce() -> String) -> String {
    match client.map(str::trim) {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_REQUEST_ID
                && id.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') =>
        {
            id.to_string()
        }
        _ => generated(),
    }
}

/// A path no row matched, as the log may show it: any segment long enough to be an id or a
/// token is cut to its first 4 characters (it may be a capability sent with the wrong
/// method), and the whole to 128 characters.
pub fn cut_path(path: &str) -> String {
    let cut: Vec<String> = path
        .split('/')
        .map(|seg| match seg.chars().count() > 16 {
            true => format!("{}…", seg.chars().take(4).collect::<String>()),
            false => seg.to_string(),
        })
        .collect();
    cut.join("/").chars().take(128).collect()
}

/// What one request did, as the log line says it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccessLog {
    pub request_id: String,
    /// The tenant the request acted for, when it authenticated as one.
    pub tenant: Option<String>,
    pub dialect: &'static str,
    pub method: &'static str,
    /// The endpoint row's path template (`/uploads/{id}`), or `None` when no row matched.
    pub endpoint: Option<&'static str>,
    /// The request's path, capabilities cut short.
    pub path: String,
    pub status: u16,
    /// The request body's declared length.
    pub bytes_in: Option<u64>,
    /// The answer body's length, where it is known before it is sent.
    pub bytes_out: Option<u64>,
    pub duration_ms: u64,
    /// The error's stable code ([`crate::error::Error::code`]).
    pub error: Option<&'static str>,
    /// Was the answer a file's bytes (for the tenant's counters; not logged)?
    #[serde(skip)]
    pub download: bool,
}

impl AccessLog {
    /// The line: one JSON object.
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_request_id_is_kept_only_when_it_is_safe() {
        let made = || "generated".to_string();
        assert_eq!(request_id(Some("abc-123_X.y:z"), made), "abc-123_X.y:z");
        assert_eq!(request_id(Some("  spaced  "), made), "spaced");
        for bad in ["", "a b", "line\nbreak", "quo\"te", "back\\slash", "é", &"x".repeat(MAX_REQUEST_ID + 1)] {
            assert_eq!(request_id(Some(bad), made), "generated", "{bad:?}");
        }
        assert_eq!(request_id(None, made), "generated");
        assert_eq!(request_id(Some(&"x".repeat(MAX_REQUEST_ID)), made).len(), MAX_REQUEST_ID);
    }

    #[test]
    fn paths_no_row_matched_keep_no_long_segment() {
        let id = "c59f7e77-cf54-4d0c-ba8b-09ec0338925e";
        assert_eq!(cut_path(&format!("/uploads/{id}")), "/uploads/c59f…");
        assert_eq!(cut_path("/short/path/"), "/short/path/");
        assert_eq!(cut_path(&"/a".repeat(200)).chars().count(), 128);
    }

    #[test]
    fn the_line_is_one_json_object_with_every_field() {
        let log = AccessLog {
            request_id: "r1".into(),
            tenant: Some("acme".into()),
            dialect: "ngcp",
            method: "GET",
            endpoint: Some("/uploads/{id}"),
            path: "/uploads/c59f…".into(),
            status: 404,
            bytes_in: None,
            bytes_out: Some(42),
            duration_ms: 7,
            error: Some("not_found"),
            download: true,
        };
        let line = log.line();
        assert!(!line.contains("download"), "what the counters need is not logged");
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["request_id"], "r1");
        assert_eq!(v["tenant"], "acme");
        assert_eq!(v["endpoint"], "/uploads/{id}");
        assert_eq!((v["status"].as_u64(), v["bytes_out"].as_u64()), (Some(404), Some(42)));
        assert_eq!(v["error"], "not_found");
        assert!(v["bytes_in"].is_null());
    }
}
