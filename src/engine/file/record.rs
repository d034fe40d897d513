//! The file record: one model under every dialect.

use serde::{Deserialize, Serialize};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::expiry::{liveness, Liveness};
use crate::error::{Error, Result};
use crate::store::{BlobMeta, ObjectInfo};

/// Characters kept as they are in a name in R2 metadata (the rest is percent-encoded, so the
/// metadata is ASCII, as R2's S3 API wants it).
const NAME_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b' ');

/// What an R2 object's metadata says of its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromObject {
    Record(Box<FileRecord>),
    /// Its record was not known when the object was created: it is in the sidecar object.
    Sidecar,
    /// Not an object this layout wrote.
    Foreign,
}

/// How a file may be reached besides by its own tenant, fixed by the dialect that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Only with its tenant's credentials (tus uploads, and anything unlisted).
    Private,
    /// Its id is a capability: `GET /uploads/{id}` serves it to anyone (NGCP simple uploads).
    ShareLink,
    /// Its digest URL is public: `GET /api/blobs/{digest}` serves it to anyone (PortSIP blobs).
    PublicDigest,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Private => "private",
            Access::ShareLink => "share_link",
            Access::PublicDigest => "public_digest",
        }
    }

    pub fn parse(s: &str) -> Option<Access> {
        [Access::Private, Access::ShareLink, Access::PublicDigest].into_iter().find(|a| a.as_str() == s)
    }

    /// What each vendor's files get when their record does not say (older records).
    pub fn default_for(vendor: Vendor) -> Access {
        match vendor {
            Vendor::Ngcp => Access::ShareLink,
            Vendor::Portsip => Access::PublicDigest,
            _ => Access::Private,
        }
    }
}

/// Which vendor's API stored a file (tus counts as one): its record's `dialect`, `d` in its
/// R2 metadata and in the KV entries. These names are stored, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    /// NGCP's simple uploads (`POST /upload`), served by their id as a share link.
    Ngcp,
    /// A file of an NGCP session, named by its session's file entry ([`Extras::entry_id`]).
    NgcpSession,
    Tus,
    Portsip,
    #[serde(rename = "opentera")]
    OpenTera,
    /// A Twake file or thumbnail, of a company ([`Extras::company_id`]).
    Twake,
    Imis,
}

impl Vendor {
    pub const ALL: [Vendor; 7] = [
        Vendor::Ngcp,
        Vendor::NgcpSession,
        Vendor::Tus,
        Vendor::Portsip,
        Vendor::OpenTera,
        Vendor::Twake,
        Vendor::Imis,
    ];

    /// Its stored name (the same as its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Ngcp => "ngcp",
            Vendor::NgcpSession => "ngcp_session",
            Vendor::Tus => "tus",
            Vendor::Portsip => "portsip",
            Vendor::OpenTera => "opentera",
            Vendor::Twake => "twake",
            Vendor::Imis => "imis",
        }
    }

    pub fn parse(s: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What a vendor keeps about a file beyond the common model, each field set by one vendor's
/// files. Stored (as `extra` in a record's JSON, `x` in its R2 metadata) as a JSON object of
/// the fields that are set, in the order of their names, as a map of strings would be: keep
/// the fields in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extras {
    /// IMiS: the archive the file is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_id: Option<String>,
    /// OpenTera: the asset's own fields, as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// An end-to-end encrypted file (from the upload page): its real name, type and size,
    /// encrypted in the browser; opaque here (see the README's format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2ee: Option<String>,
    /// A file request's label, for a file that came through one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Twake: the company of the file (or of the file a thumbnail is of).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    /// IMiS: the entity (the object's handle) the file is of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// NGCP session: the id of the session's file entry, by which the native API names the
    /// file ([`FileRecord::list_id`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// OpenTera: the asset's number (decimal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_asset: Option<String>,
    /// NGCP session: the session the file belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Twake: the user who uploaded the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl Extras {
    pub fn is_empty(&self) -> bool {
        *self == Extras::default()
    }
}

/// A finished file. Kept in its R2 object's metadata ([`FileRecord::blob_meta`]), or as JSON in
/// its sidecar ([`super::keys::sidecar`]) when it was not whole when the object was created or
/// may change (an OpenTera rename); once the file has expired, as JSON in its KV tombstone
/// ([`super::keys::file`]).
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
    /// Which vendor's API created it (stored as `dialect`: `ngcp`, `tus`, `portsip`, ...).
    #[serde(rename = "dialect")]
    pub vendor: Vendor,
    /// The R2 object holding the bytes.
    pub r2_key: String,
    /// Who may read it besides its tenant (the rule is in `file::visibility`). Records written before
    /// this field existed take their vendor's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// What its vendor keeps about the file beyond the common model (NGCP session and entry,
    /// Twake company, IMiS archive and entity, ...).
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extra: Extras,
}

impl FileRecord {
    /// A record with no expiry, no extras, and its vendor's access.
    pub fn new(id: &str, tenant: &str, vendor: Vendor, r2_key: &str) -> FileRecord {
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
            vendor,
            r2_key: r2_key.into(),
            access: None,
            extra: Extras::default(),
        }
    }

    pub fn access(&self) -> Access {
        self.access.unwrap_or_else(|| Access::default_for(self.vendor))
    }

    pub fn with_access(mut self, access: Access) -> FileRecord {
        self.access = Some(access);
        self
    }

    /// R2 metadata for this file: everything a download needs, so that one R2 read serves it.
    /// What is not known yet when the object is created (a multipart file's sha256; its
    /// creation and expiry times, which are its completion's) is left out: `created_at` 0
    /// means "when R2 completed the object", and the expiry follows from the TTL.
    pub fn blob_meta(&self) -> BlobMeta {
        let mut custom = std::collections::BTreeMap::new();
        let mut put = |k: &str, v: String| {
            custom.insert(k.to_string(), v);
        };
        put("v", "1".into());
        put("id", self.id.clone());
        put("t", self.tenant.clone());
        put("d", self.vendor.as_str().into());
        put("a", self.access().as_str().into());
        put("n", utf8_percent_encode(&self.name, NAME_KEEP).to_string());
        if self.created_at != 0 {
            put("c", self.created_at.to_string());
        }
        if !self.sha256.is_empty() {
            put("s", self.sha256.clone());
        }
        if let Some(ttl) = self.ttl {
            put("l", ttl.to_string());
        }
        if let Some(at) = self.expires_at.filter(|_| self.created_at != 0) {
            put("e", at.to_string());
        }
        if !self.extra.is_empty() {
            put("x", serde_json::to_string(&self.extra).unwrap_or_default());
        }
        BlobMeta { content_type: self.content_type.clone(), custom }
    }

    /// R2 metadata saying that the record is kept in a sidecar object (a file whose TTL was
    /// not known when its multipart upload began).
    pub fn blob_meta_with_sidecar(&self) -> BlobMeta {
        let mut meta = FileRecord { ttl: None, expires_at: None, ..self.clone() }.blob_meta();
        meta.custom.insert("r".into(), "sidecar".into());
        meta
    }

    /// The record an R2 object's metadata describes, its size and times from the object.
    pub fn from_object(key: &str, info: &ObjectInfo) -> FromObject {
        let m = &info.meta.custom;
        let get = |k: &str| m.get(k).map(String::as_str);
        if get("v") != Some("1") {
            return FromObject::Foreign;
        }
        if get("r") == Some("sidecar") {
            return FromObject::Sidecar;
        }
        let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok());
        let (Some(id), Some(tenant), Some(vendor)) = (get("id"), get("t"), get("d").and_then(Vendor::parse)) else {
            return FromObject::Foreign;
        };
        let created_at = num("c").unwrap_or(info.uploaded);
        let ttl = num("l");
        let record = FileRecord {
            name: percent_decode_str(get("n").unwrap_or("")).decode_utf8_lossy().into_owned(),
            content_type: info.meta.content_type.clone(),
            size: info.size,
            sha256: get("s").unwrap_or("").to_string(),
            created_at,
            ttl,
            expires_at: num("e").or_else(|| ttl.map(|t| created_at + t * 1000)),
            access: get("a").and_then(Access::parse),
            extra: get("x").and_then(|x| serde_json::from_str(x).ok()).unwrap_or_default(),
            ..FileRecord::new(id, tenant, vendor, key)
        };
        FromObject::Record(Box::new(record))
    }

    /// The strong entity tag of the file's bytes: its sha256 when known, else R2's own.
    pub fn etag(&self, r2_etag: &str) -> String {
        crate::http::etag::etag_for(if self.sha256.is_empty() { r2_etag.trim_matches('"') } else { &self.sha256 })
    }

    /// The id the file's own dialect gave it, by which the native API (`/v1/files/{id}`)
    /// names it: its record's id, but for an NGCP session's file entry (whose content is
    /// stored under an id of its own for each attempt).
    pub fn list_id(&self) -> &str {
        self.extra.entry_id.as_deref().unwrap_or(&self.id)
    }

    /// The record with a TTL from its creation, if it has one.
    pub fn expiring(self, ttl_secs: Option<u64>) -> FileRecord {
        match ttl_secs {
            Some(t) => self.expire_in(t),
            None => self,
        }
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
            ..FileRecord::new("i", "t", Vendor::Ngcp, "k")
        }
    }

    #[test]
    fn records_round_trip_through_r2_metadata() {
        let names = ["plain.txt", "a \"quoted\" name.pdf", "résumé 日本.txt", "semi;colon,comma=eq", &"é".repeat(127)];
        for name in names {
            let mut r = FileRecord {
                name: name.to_string(),
                content_type: "text/plain; charset=utf-8".into(),
                size: 5,
                sha256: "ab".repeat(32),
                created_at: 1_714_644_000_123,
                ..FileRecord::new("f1", "acme", Vendor::Ngcp, "f/f1").with_access(Access::ShareLink)
            }
            .expire_in(60);
            r.extra.session_id = Some("NzAw".into());
            let meta = r.blob_meta();
            assert!(meta.custom.values().all(|v| v.is_ascii()), "{name}: ASCII only");
            assert!(meta.size() < 1500, "{name}: well within R2's 8 KiB");
            let info = ObjectInfo { size: 5, etag: "e".into(), uploaded: 9, meta };
            assert_eq!(FileRecord::from_object("f/f1", &info), FromObject::Record(Box::new(r.clone())), "{name}");
        }
        // a multipart object: its metadata is written before its digest and completion are known
        let template = FileRecord { ttl: Some(60), ..FileRecord::new("f2", "acme", Vendor::Portsip, "f/f2") };
        let info = ObjectInfo { size: 7, etag: "r2etag".into(), uploaded: 5_000, meta: template.blob_meta() };
        let FromObject::Record(got) = FileRecord::from_object("f/f2", &info) else { panic!() };
        assert_eq!((got.created_at, got.expires_at, got.sha256.as_str()), (5_000, Some(65_000), ""));
        assert_eq!(got.access(), Access::PublicDigest);
        assert_eq!(got.etag("r2etag"), "\"r2etag\"", "R2's etag stands in for an unknown digest");
        // a record kept in a sidecar, and objects of another layout
        let info = ObjectInfo { meta: template.blob_meta_with_sidecar(), ..info };
        assert_eq!(FileRecord::from_object("f/f2", &info), FromObject::Sidecar);
        let info = ObjectInfo { meta: BlobMeta::default(), ..info };
        assert_eq!(FileRecord::from_object("f/f2", &info), FromObject::Foreign);
    }

    /// The stored forms are what they were when the vendor and the extras were strings: R2
    /// metadata keys and values, and the JSON of a sidecar, a tombstone or an upload's state.
    #[test]
    fn records_are_stored_as_before() {
        let all = Extras {
            archive_id: Some("a1".into()),
            asset: Some("{\"k\":1}".into()),
            company_id: Some("c1".into()),
            entity: Some("e1".into()),
            entry_id: Some("n1".into()),
            id_asset: Some("7".into()),
            session_id: Some("s1".into()),
            user_id: Some("u1".into()),
            ..Extras::default()
        };
        let x = r#"{"archive_id":"a1","asset":"{\"k\":1}","company_id":"c1","entity":"e1","entry_id":"n1","id_asset":"7","session_id":"s1","user_id":"u1"}"#;
        let names = ["ngcp", "ngcp_session", "tus", "portsip", "opentera", "twake", "imis"];
        let access = ["share_link", "private", "private", "public_digest", "private", "private", "private"];
        assert_eq!(Vendor::ALL.map(Vendor::as_str), names);
        for ((vendor, name), access) in Vendor::ALL.into_iter().zip(names).zip(access) {
            assert_eq!(serde_json::to_string(&vendor).unwrap(), format!("\"{name}\""));
            assert_eq!(Vendor::parse(name), Some(vendor));
            let bare = FileRecord {
                name: "a b é.txt".into(),
                size: 5,
                sha256: "ab".into(),
                created_at: 1_000,
                ..FileRecord::new("f1", "acme", vendor, "f/f1")
            }
            .expire_in(60);
            let full = FileRecord { extra: all.clone(), ..bare.clone() };
            let json = |extra: &str| {
                format!(
                    r#"{{"id":"f1","tenant":"acme","name":"a b é.txt","content_type":"application/octet-stream","size":5,"sha256":"ab","created_at":1000,"expires_at":61000,"ttl":60,"dialect":"{name}","r2_key":"f/f1"{extra}}}"#
                )
            };
            assert_eq!(serde_json::to_string(&bare).unwrap(), json(""));
            assert_eq!(serde_json::to_string(&full).unwrap(), json(&format!(",\"extra\":{x}")));
            assert_eq!(serde_json::from_str::<FileRecord>(&json(&format!(",\"extra\":{x}"))).unwrap(), full);
            let want = |extra: Option<&str>| {
                let mut m: std::collections::BTreeMap<String, String> = [
                    ("a", access),
                    ("c", "1000"),
                    ("d", name),
                    ("e", "61000"),
                    ("id", "f1"),
                    ("l", "60"),
                    ("n", "a b %C3%A9.txt"),
                    ("s", "ab"),
                    ("t", "acme"),
                    ("v", "1"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
                m.extend(extra.map(|x| ("x".to_string(), x.to_string())));
                m
            };
            assert_eq!(bare.blob_meta().custom, want(None), "{name}");
            assert_eq!(full.blob_meta().custom, want(Some(x)), "{name}");
        }
        // a record naming a vendor this layout does not know is not one of its records
        let mut meta = FileRecord::new("f1", "acme", Vendor::Tus, "f/f1").blob_meta();
        meta.custom.insert("d".into(), "ftp".into());
        let info = ObjectInfo { size: 1, etag: "e".into(), uploaded: 1, meta };
        assert_eq!(FileRecord::from_object("f/f1", &info), FromObject::Foreign);
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
        r.extra.company_id = Some("c1".into());
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
