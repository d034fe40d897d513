//! Dialect adapters: each turns its vendor's requests into engine calls and renders the
//! engine's answers and [`Error`](crate::error::Error)s in the vendor's shape.

pub mod ngcp;
pub mod portsip;
pub mod tus;

use crate::engine::files::FileRecord;
use crate::http::auth_header::{parse_authorization, Presented};
use crate::http::disposition::DispositionKind;
use crate::http::download::{plan_download, CachePolicy, DownloadAsk, DownloadPlan, Served};
use crate::route::Method;

/// The head of a request: everything but the body, with no `worker::` types.
#[derive(Debug, Clone)]
pub struct Head {
    pub method: Method,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn new(method: Method, path: &str, query: &str, headers: Vec<(String, String)>) -> Head {
        let headers = headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        Head { method, path: path.into(), query: query.into(), headers }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// First value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k) == name).then(|| decode(v))
        })
    }

    pub fn authorization(&self) -> Option<Presented> {
        self.header("authorization").and_then(parse_authorization)
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.trim().parse().ok())
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

/// What a handler answers, for the worker layer to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Json {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: serde_json::Value,
    },
    Empty {
        status: u16,
        headers: Vec<(&'static str, String)>,
    },
    Text {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Stream (part of) an R2 object as `plan` says.
    Download {
        r2_key: String,
        plan: DownloadPlan,
    },
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Json { status, headers: Vec::new(), body }
    }

    /// Adds headers to any reply (a download's go into its plan).
    pub fn with_headers(mut self, extra: &[(&'static str, String)]) -> Reply {
        match &mut self {
            Reply::Json { headers, .. } | Reply::Empty { headers, .. } | Reply::Text { headers, .. } => {
                headers.extend_from_slice(extra)
            }
            Reply::Download { plan, .. } => plan.headers.extend_from_slice(extra),
        }
        self
    }

    /// A header of the reply (case-insensitive), for tests and logs.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self {
            Reply::Empty { headers, .. } | Reply::Json { headers, .. } | Reply::Text { headers, .. } => {
                headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
            }
            Reply::Download { plan, .. } => plan.header(name),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Reply::Json { status, .. } | Reply::Empty { status, .. } | Reply::Text { status, .. } => *status,
            Reply::Download { plan, .. } => plan.status,
        }
    }
}

/// Host tests of the dialects: the engine over in-memory R2, KV and Upload objects, with one
/// tenant, `acme`, whose Bearer token is `tok`, at a fixed time.
/// The download of a live record, honouring the request's conditional and range headers.
pub fn download_reply(record: &FileRecord, head: &Head, cache: CachePolicy) -> Reply {
    let served = Served {
        name: &record.name,
        content_type: &record.content_type,
        size: record.size,
        sha256: &record.sha256,
        disposition: DispositionKind::Attachment,
        cache,
    };
    let ask = DownloadAsk {
        head: head.method == Method::Head,
        range: head.header("range"),
        if_none_match: head.header("if-none-match"),
        if_range: head.header("if-range"),
    };
    Reply::Download { r2_key: record.r2_key.clone(), plan: plan_download(&served, &ask) }
}

#[cfg(test)]
pub(crate) fn with_memory(
    f: impl FnOnce(
        &crate::engine::Ctx<
            '_,
            crate::store::memory::MemoryBlobs,
            crate::store::memory::MemoryMeta,
            crate::store::memory::MemoryJanitor,
        >,
        &crate::store::memory::MemoryUploads<'_, '_>,
    ),
) {
    use crate::auth::{credential_hash, Credentials};
    use crate::store::memory::{MemoryBlobs, MemoryJanitor, MemoryMeta, MemoryUploads};
    let spec = format!("acme:bearer:{}", hex::encode(credential_hash(&Presented::Bearer("tok".into()))));
    let config = crate::config::Config { credentials: Credentials::parse(&spec).unwrap(), ..Default::default() };
    let (blobs, meta, janitor) = (MemoryBlobs::default(), MemoryMeta::default(), MemoryJanitor::default());
    let now = || 1_714_644_000_000;
    let ctx = crate::engine::Ctx { config: &config, blobs: &blobs, meta: &meta, janitor: &janitor, now: &now };
    let uploads = MemoryUploads::new(&ctx);
    f(&ctx, &uploads);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let h =
            Head::new(Method::Get, "/", "ttl=60&name=a%20b+c&flag&ttl=9", vec![("Content-Length".into(), "12".into())]);
        assert_eq!(h.query_param("ttl").as_deref(), Some("60"));
        assert_eq!(h.query_param("name").as_deref(), Some("a b c"));
        assert_eq!(h.query_param("flag").as_deref(), Some(""));
        assert_eq!(h.query_param("none"), None);
        assert_eq!(h.content_length(), Some(12));
        assert_eq!(h.header("CONTENT-LENGTH"), Some("12"));
    }
}
