//! The file record: one model under every dialect.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::expiry::{liveness, Liveness};
use super::visibility::Access;
use crate::error::{Error, Result};

/// The `extra` key of a PortSIP blob's opaque id (its public name besides its digest).
pub const BLOB_ID: &str = "blob_id";

/// A finished, immutable file. Stored as JSON in KV under [`super::keys::file`].
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
    /// Who may read it besides its tenant (see [`super::visibility`]). Records written before
    /// this field existed take their dialect's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// What a dialect keeps about the file beyond the common model (OpenTera session id,
    /// Twake company, IMiS archive and entity, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl FileRecord {
    /// A record with no expiry, no extras, and its dialect's access.
    pub fn new(id: &str, tenant: &str, dialect: &str, r2_key: &str) -> FileRecord {
        FileRecord {
            id: id.into(),
            tenant: tenant.into(),
            name: String::new(),
            content_type: "application/octet-stream".into(),
            size: 0,
            sha256: String::new(),
            created_at: 0,
            expires_at: None,
            ttl: None,
            dialect: dialect.into(),
            r2_key: r2_key.into(),
            access: None,
            extra: BTreeMap::new(),
        }
    }

    pub fn access(&self) -> Access {
        self.access.unwrap_or_else(|| Access::default_for(&self.dialect))
    }

    pub fn with_access(mut self, access: Access) -> FileRecord {
        self.access = Some(access);
        self
    }

    /// The record with a TTL from its creation.
    pub fn expire_in(mut self, ttl_secs: u64) -> FileRecord {
        self.ttl = Some(ttl_secs);
        self.expires_at = Some(self.created_at + ttl_secs * 1000);
        self
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
            name: "n".into(),
            size: 1,
            sha256: "00".into(),
            expires_at,
            ..FileRecord::new("i", "t", "ngcp", "k")
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
        let mut r = rec(Some(5)).with_access(Access::Private);
        r.extra.insert("company_id".into(), "c1".into());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<FileRecord>(&json).unwrap(), r);
        // a record written before `access` and `extra` existed
        let old = r#"{"id":"i","tenant":"t","name":"n","content_type":"x/y","size":1,"sha256":"00",
            "created_at":0,"dialect":"ngcp","r2_key":"k"}"#;
        let old: FileRecord = serde_json::from_str(old).unwrap();
        assert_eq!(old.access(), Access::ShareLink, "NGCP files keep their share link");
        assert!(old.extra.is_empty());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_or_guess(Some("text/plain"), "x.bin"), "text/plain");
        assert_eq!(content_type_or_guess(None, "x.PNG"), "image/png");
        assert_eq!(content_type_or_guess(Some("evil\r\nX: y"), "x.txt"), "text/plain");
        assert_eq!(content_type_or_guess(Some("nonsense"), "noext"), "application/octet-stream");
    }
}
