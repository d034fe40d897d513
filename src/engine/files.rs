//! The file record: one model under every dialect.

use serde::{Deserialize, Serialize};

use super::expiry::{liveness, Liveness};
use crate::error::{Error, Result};

/// A finished, immutable file. Stored as JSON in KV under [`FileRecord::kv_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Lowercase hex sha256 of the whole file.
    pub sha256: String,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The TTL the file was given, in seconds, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Which dialect created it (`ngcp`, `tus`, `portsip`, ...).
    pub dialect: String,
    /// The R2 object holding the bytes.
    pub r2_key: String,
}

impl FileRecord {
    pub fn kv_key(id: &str) -> String {
        format!("file:{id}")
    }

    /// The `sha256 → file` index key, scoped to the tenant.
    pub fn digest_key(tenant: &str, sha256: &str) -> String {
        format!("sha256:{tenant}:{sha256}")
    }

    pub fn r2_key_for(tenant: &str, id: &str) -> String {
        format!("t/{tenant}/f/{id}")
    }

    /// The record if its file can still be served at `now_ms`, else `Expired(what)`.
    pub fn live(self, now_ms: u64, what: &'static str) -> Result<FileRecord> {
        match liveness(self.expires_at, now_ms) {
            Liveness::Live => Ok(self),
            Liveness::Expired => Err(Error::Expired(what.into())),
        }
    }
}

/// A best-effort content type from a file name, for clients that send none.
pub fn guess_content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// A client-declared content type, if it is a plausible `type/subtype` without control
/// characters; otherwise the guess from the name.
pub fn content_type_or_guess(declared: Option<&str>, name: &str) -> String {
    match declared.map(str::trim) {
        Some(ct) if ct.contains('/') && ct.len() <= 255 && ct.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
            ct.to_string()
        }
        _ => guess_content_type(name).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(expires_at: Option<u64>) -> FileRecord {
        FileRecord {
            id: "i".into(),
            tenant: "t".into(),
            name: "n".into(),
            content_type: "text/plain".into(),
            size: 1,
            sha256: "00".into(),
            created_at: 0,
            expires_at,
            ttl: None,
            dialect: "ngcp".into(),
            r2_key: "k".into(),
        }
    }

    #[test]
    fn expired_records_say_so() {
        assert!(rec(Some(10)).live(9, "upload expired").is_ok());
        assert_eq!(rec(Some(10)).live(10, "upload expired"), Err(Error::Expired("upload expired".into())));
        assert!(rec(None).live(u64::MAX, "x").is_ok());
    }

    #[test]
    fn records_round_trip_through_json() {
        let r = rec(Some(5));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<FileRecord>(&json).unwrap(), r);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_or_guess(Some("text/plain"), "x.bin"), "text/plain");
        assert_eq!(content_type_or_guess(None, "x.PNG"), "image/png");
        assert_eq!(content_type_or_guess(Some("evil\r\nX: y"), "x.txt"), "text/plain");
        assert_eq!(content_type_or_guess(Some("nonsense"), "noext"), "application/octet-stream");
    }
}
