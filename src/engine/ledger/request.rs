//! File requests: a capability to upload files to a tenant, without an account, within
//! limits (how many files, how many bytes, until when), with an optional label and password.
//!
//! Each request is one object, named by its token's hash ([`request_object`]), that counts
//! what was asked of it one call at a time: an upload reserves its place (one file, its whole
//! length) before a byte of it is stored, so the limits hold exactly however many uploads
//! start at once; a terminated upload gives its place back. The uploads it allowed are the
//! only ones its token reaches (an uploader sees nothing else of the tenant). A password is
//! checked where an upload starts (and by the page's first look); an upload's own id, which
//! only its uploader holds, carries it on from there. The tenant's list of its requests is
//! a list object of tokens like a file's list of links ([`requests_object`]).

use serde::{Deserialize, Serialize};

use super::link::{verify_password, Change};
use crate::error::{Error, Result};
use crate::store::object::LedgerStore;

pub const REQUEST_NOT_FOUND: &str = "file request not found";
pub const REQUEST_EXPIRED: &str = "file request expired";
pub const REQUEST_REVOKED: &str = "file request revoked";
pub const REQUEST_USED_UP: &str = "file request used up";
/// Most uploads one request remembers (its `max_files` at most).
pub const MAX_UPLOADS: u64 = 1000;
/// Longest label.
pub const MAX_LABEL: usize = 200;

const REQUEST_KEY: &str = "request";
const UPLOAD_PREFIX: &str = "u:";

/// The name of a request's object: its token's hash.
pub fn request_object(token: &str) -> String {
    use sha2::Digest;
    format!("request:{}", hex::encode(sha2::Sha256::digest(token.as_bytes())))
}

/// The name of the object listing a tenant's requests.
pub fn requests_object(tenant: &str) -> String {
    format!("requests:{tenant}")
}

/// A file request as its object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRequest {
    pub tenant: String,
    #[serde(default)]
    pub label: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    pub max_files: u64,
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Uploads started (finished or not, not terminated) and their announced bytes.
    #[serde(default)]
    pub files: u64,
    #[serde(default)]
    pub bytes: u64,
    /// Uploads finished.
    #[serde(default)]
    pub done: u64,
    /// The password's Argon2id hash; never sent back out of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default)]
    pub has_password: bool,
    #[serde(default)]
    pub revoked: bool,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    Open,
    UsedUp,
    Expired,
    Revoked,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Open => "open",
            RequestState::UsedUp => "used_up",
            RequestState::Expired => "expired",
            RequestState::Revoked => "revoked",
        }
    }
}

impl FileRequest {
    fn public(self) -> FileRequest {
        FileRequest { has_password: self.password.is_some() || self.has_password, password: None, ..self }
    }

    pub fn state(&self, now: u64) -> RequestState {
        if self.revoked {
            RequestState::Revoked
        } else if now >= self.expires_at {
            RequestState::Expired
        } else if self.files >= self.max_files || self.max_bytes.is_some_and(|m| self.bytes >= m) {
            RequestState::UsedUp
        } else {
            RequestState::Open
        }
    }

    /// Bytes a new upload may still have.
    pub fn bytes_left(&self) -> Option<u64> {
        self.max_bytes.map(|m| m.saturating_sub(self.bytes))
    }

    /// The refusal of an upload (or of anything) at `now`: revoked or expired (`410`).
    pub fn closed(&self, now: u64) -> Option<Error> {
        match self.state(now) {
            RequestState::Revoked => Some(Error::Expired(REQUEST_REVOKED.into())),
            RequestState::Expired => Some(Error::Expired(REQUEST_EXPIRED.into())),
            _ => None,
        }
    }
}

/// An upload a request allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowed {
    pub length: u64,
    #[serde(default)]
    pub done: bool,
}

/// What a change to a request sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestChange {
    #[serde(default)]
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub max_files: Option<u64>,
    #[serde(default)]
    pub max_bytes: Change<u64>,
    #[serde(default)]
    pub password: Change<String>,
    #[serde(default)]
    pub label: Change<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
pub enum RequestCall {
    Create {
        request: FileRequest,
    },
    /// The request as it stands, to its tenant.
    Peek {
        tenant: String,
    },
    /// The request as an uploader sees it (its password checked if it has one).
    Look {
        #[serde(default)]
        password: Option<String>,
    },
    /// Reserves one file of `length` bytes for upload `id` (password checked).
    Reserve {
        id: String,
        length: u64,
        #[serde(default)]
        password: Option<String>,
    },
    /// Is upload `id` one this request allowed, and may it go on?
    Owns {
        id: String,
    },
    /// Upload `id` finished.
    Landed {
        id: String,
    },
    /// Upload `id` was terminated before it finished: its place is free again.
    Release {
        id: String,
    },
    Update {
        tenant: String,
        change: RequestChange,
    },
    Revoke {
        tenant: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
pub enum RequestAnswer {
    Request { request: FileRequest },
}

fn parse<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::Internal(format!("request: {e}")))
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("request: {e}")))
}

async fn load<L: LedgerStore>(store: &L) -> Result<FileRequest> {
    let raw = store.get(REQUEST_KEY).await?.ok_or_else(|| Error::not_found(REQUEST_NOT_FOUND))?;
    parse(&raw)
}

async fn owned<L: LedgerStore>(store: &L, tenant: &str) -> Result<FileRequest> {
    let request = load(store).await?;
    if request.tenant != tenant {
        return Err(Error::not_found(REQUEST_NOT_FOUND));
    }
    Ok(request)
}

fn check_password(request: &FileRequest, given: Option<&str>) -> Result<()> {
    match (&request.password, given) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(Error::PasswordRequired),
        (Some(hash), Some(p)) if verify_password(p, hash) => Ok(()),
        (Some(_), Some(_)) => Err(Error::Forbidden("wrong password or no such file request".into())),
    }
}

fn answer(request: FileRequest) -> Result<RequestAnswer> {
    Ok(RequestAnswer::Request { request: request.public() })
}

/// Serves one call against a request's object at `now`.
pub async fn serve<L: LedgerStore>(store: &L, now: u64, call: RequestCall) -> Result<RequestAnswer> {
    match call {
        RequestCall::Create { request } => {
            if store.get(REQUEST_KEY).await?.is_some() {
                return Err(Error::Conflict("file request exists".into()));
            }
            store.put(REQUEST_KEY, &json(&request)?).await?;
            answer(request)
        }
        RequestCall::Peek { tenant } => answer(owned(store, &tenant).await?),
        RequestCall::Look { password } => {
            let request = load(store).await?;
            check_password(&request, password.as_deref())?;
            answer(request)
        }
        RequestCall::Reserve { id, length, password } => {
            let mut request = load(store).await?;
            check_password(&request, password.as_deref())?;
            if let Some(closed) = request.closed(now) {
                return Err(closed);
            }
            let key = format!("{UPLOAD_PREFIX}{id}");
            if store.get(&key).await?.is_some() {
                return Err(Error::Conflict("upload exists".into()));
            }
            if request.files >= request.max_files.min(MAX_UPLOADS) {
                return Err(Error::Expired(REQUEST_USED_UP.into()));
            }
            if let Some(left) = request.bytes_left() {
                if length > left {
                    return Err(Error::TooLarge { max: left });
                }
            }
            request.files += 1;
            request.bytes += length;
            store.put(&key, &json(&Allowed { length, done: false })?).await?;
            store.put(REQUEST_KEY, &json(&request)?).await?;
            answer(request)
        }
        RequestCall::Owns { id } => {
            let request = load(store).await?;
            if let Some(closed) = request.closed(now) {
                return Err(closed);
            }
            match store.get(&format!("{UPLOAD_PREFIX}{id}")).await? {
                Some(_) => answer(request),
                None => Err(Error::not_found("upload not found")),
            }
        }
        RequestCall::Landed { id } => {
            let mut request = load(store).await?;
            let key = format!("{UPLOAD_PREFIX}{id}");
            let raw = store.get(&key).await?.ok_or_else(|| Error::not_found("upload not found"))?;
            let mut allowed: Allowed = parse(&raw)?;
            if !allowed.done {
                allowed.done = true;
                request.done += 1;
                store.put(&key, &json(&allowed)?).await?;
                store.put(REQUEST_KEY, &json(&request)?).await?;
            }
            answer(request)
        }
        RequestCall::Release { id } => {
            let mut request = load(store).await?;
            let key = format!("{UPLOAD_PREFIX}{id}");
            if let Some(raw) = store.get(&key).await? {
                let allowed: Allowed = parse(&raw)?;
                if !allowed.done {
                    request.files = request.files.saturating_sub(1);
                    request.bytes = request.bytes.saturating_sub(allowed.length);
                    store.delete(&key).await?;
                    store.put(REQUEST_KEY, &json(&request)?).await?;
                }
            }
            answer(request)
        }
        RequestCall::Update { tenant, change } => {
            let mut request = owned(store, &tenant).await?;
            if request.revoked {
                return Err(Error::Expired(REQUEST_REVOKED.into()));
            }
            if let Some(at) = change.expires_at {
                request.expires_at = at;
            }
            if let Some(n) = change.max_files {
                request.max_files = n;
            }
            change.max_bytes.apply(&mut request.max_bytes);
            change.password.apply(&mut request.password);
            change.label.apply(&mut request.label);
            request.has_password = false;
            store.put(REQUEST_KEY, &json(&request)?).await?;
            answer(request)
        }
        RequestCall::Revoke { tenant } => {
            let mut request = owned(store, &tenant).await?;
            request.revoked = true;
            store.put(REQUEST_KEY, &json(&request)?).await?;
            answer(request)
        }
    }
}

/// When a request's object may forget everything: its expiry plus `grace`.
pub async fn forget_at<L: LedgerStore>(store: &L, grace_secs: u64) -> Result<Option<u64>> {
    Ok(match store.get(REQUEST_KEY).await? {
        Some(raw) => Some(parse::<FileRequest>(&raw)?.expires_at.saturating_add(grace_secs.saturating_mul(1000))),
        None => None,
    })
}

pub fn schedules(call: &RequestCall) -> bool {
    matches!(call, RequestCall::Create { .. } | RequestCall::Update { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::link::{hash_password, Kdf};
    use crate::testkit::MemoryLedger;
    use futures_executor::block_on;

    fn request(max_files: u64, max_bytes: Option<u64>) -> FileRequest {
        FileRequest {
            tenant: "acme".into(),
            label: Some("Invoices".into()),
            created_at: 0,
            expires_at: 10_000,
            max_files,
            max_bytes,
            files: 0,
            bytes: 0,
            done: 0,
            password: None,
            has_password: false,
            revoked: false,
        }
    }

    fn call(store: &MemoryLedger, now: u64, c: RequestCall) -> Result<FileRequest> {
        block_on(serve(store, now, c)).map(|RequestAnswer::Request { request }| request)
    }

    fn reserve(store: &MemoryLedger, id: &str, length: u64) -> Result<FileRequest> {
        call(store, 1, RequestCall::Reserve { id: id.into(), length, password: None })
    }

    #[test]
    fn uploads_reserve_files_and_bytes_exactly() {
        let store = MemoryLedger::default();
        call(&store, 0, RequestCall::Create { request: request(2, Some(100)) }).unwrap();
        assert_eq!(reserve(&store, "a", 101), Err(Error::TooLarge { max: 100 }));
        assert_eq!(reserve(&store, "a", 60).unwrap().bytes, 60);
        assert_eq!(reserve(&store, "a", 1), Err(Error::Conflict("upload exists".into())));
        assert_eq!(reserve(&store, "b", 41), Err(Error::TooLarge { max: 40 }));
        let r = reserve(&store, "b", 40).unwrap();
        assert_eq!((r.files, r.bytes, r.state(1)), (2, 100, RequestState::UsedUp));
        assert_eq!(reserve(&store, "c", 0), Err(Error::Expired(REQUEST_USED_UP.into())));
        // a terminated upload frees its place; a finished one does not
        call(&store, 1, RequestCall::Landed { id: "a".into() }).unwrap();
        call(&store, 1, RequestCall::Release { id: "a".into() }).unwrap();
        let r = call(&store, 1, RequestCall::Release { id: "b".into() }).unwrap();
        assert_eq!((r.files, r.bytes, r.done), (1, 60, 1));
        assert!(reserve(&store, "c", 40).is_ok());
        // only its own uploads, only while it lives
        assert!(call(&store, 1, RequestCall::Owns { id: "c".into() }).is_ok());
        assert!(matches!(call(&store, 1, RequestCall::Owns { id: "zz".into() }), Err(Error::NotFound(_))));
        assert_eq!(
            call(&store, 10_000, RequestCall::Owns { id: "c".into() }),
            Err(Error::Expired(REQUEST_EXPIRED.into()))
        );
    }

    /// An invented token: every uploader's call costs one read, hashes nothing, writes nothing
    /// and sets no alarm.
    #[test]
    fn an_unknown_request_costs_one_read_and_writes_nothing() {
        let empty = MemoryLedger::default();
        for c in [
            RequestCall::Look { password: Some("guess".into()) },
            RequestCall::Reserve { id: "u".into(), length: 1, password: Some("guess".into()) },
            RequestCall::Owns { id: "u".into() },
            RequestCall::Landed { id: "u".into() },
            RequestCall::Release { id: "u".into() },
            RequestCall::Revoke { tenant: "acme".into() },
        ] {
            assert_eq!(call(&empty, 1, c), Err(Error::not_found(REQUEST_NOT_FOUND)));
        }
        assert!(block_on(empty.list("")).unwrap().is_empty(), "nothing written");
        assert_eq!(block_on(forget_at(&empty, 60)), Ok(None), "no alarm to set");
        assert!(!schedules(&RequestCall::Reserve { id: "u".into(), length: 1, password: None }));
    }

    #[test]
    fn a_request_is_its_tenants_and_may_be_revoked() {
        let store = MemoryLedger::default();
        call(&store, 0, RequestCall::Create { request: request(5, None) }).unwrap();
        assert!(matches!(call(&store, 1, RequestCall::Peek { tenant: "bobco".into() }), Err(Error::NotFound(_))));
        assert!(matches!(call(&store, 1, RequestCall::Revoke { tenant: "bobco".into() }), Err(Error::NotFound(_))));
        let change = RequestChange { max_files: Some(1), label: Change::Remove, ..Default::default() };
        let r = call(&store, 1, RequestCall::Update { tenant: "acme".into(), change }).unwrap();
        assert_eq!((r.max_files, r.label), (1, None));
        call(&store, 1, RequestCall::Revoke { tenant: "acme".into() }).unwrap();
        assert_eq!(reserve(&store, "a", 1), Err(Error::Expired(REQUEST_REVOKED.into())));
    }

    #[test]
    fn a_password_is_asked_where_an_upload_starts() {
        let store = MemoryLedger::default();
        let hash = hash_password("pw", [7; 16], Kdf { memory_kib: 64, passes: 1 }).unwrap();
        let r =
            call(&store, 0, RequestCall::Create { request: FileRequest { password: Some(hash), ..request(5, None) } })
                .unwrap();
        assert!(r.has_password && r.password.is_none(), "the hash never leaves");
        assert_eq!(reserve(&store, "a", 1), Err(Error::PasswordRequired));
        let wrong = RequestCall::Reserve { id: "a".into(), length: 1, password: Some("no".into()) };
        assert!(matches!(call(&store, 1, wrong), Err(Error::Forbidden(_))));
        let right = RequestCall::Reserve { id: "a".into(), length: 1, password: Some("pw".into()) };
        assert!(call(&store, 1, right).is_ok());
        assert!(call(&store, 1, RequestCall::Owns { id: "a".into() }).is_ok(), "the upload's id carries it on");
    }
}
