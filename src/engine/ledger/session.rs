//! NGCP sessions, their file entries and download tokens, and the per-tenant counters and
//! session lists: what must be strongly consistent ("create, then list" shows what was
//! created, a token stops working the moment its session is deleted). Each session is one
//! object (a Durable Object in the worker) holding its record, its file entries and its
//! tokens; each tenant has one more, holding the list of its sessions and its counters (kept
//! here: a tenant's list holds [`Session`]s). The envelope ([`super::serve`]) calls the
//! functions below for each [`super::LedgerCall`] of theirs; the file bytes themselves are
//! stored by the worker through the engine, like any other file.

use serde::{Deserialize, Serialize};

use crate::engine::file::expiry::{liveness, Liveness};
use crate::error::{Error, Result};
use crate::store::object::LedgerStore;

pub const SESSION_NOT_FOUND: &str = "session not found";
pub const SESSION_EXPIRED: &str = "session expired";
pub const FILE_NOT_FOUND: &str = "file not found";
pub const TOKEN_NOT_FOUND: &str = "token not found";
/// Most file entries one session holds, and tokens one file has.
pub const MAX_FILES: usize = 1000;
pub const MAX_TOKENS: usize = 1000;

/// The name of a session's object and of a tenant's.
pub fn session_object(sid: &str) -> String {
    format!("session:{sid}")
}

pub fn tenant_object(tenant: &str) -> String {
    format!("tenant:{tenant}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub tenant: String,
    /// Seconds.
    pub ttl: u64,
    pub created_at: u64,
    pub updated_at: u64,
}

impl Session {
    pub fn expires_at(&self) -> u64 {
        self.created_at.saturating_add(self.ttl.saturating_mul(1000))
    }

    fn live(self, now: u64) -> Result<Session> {
        match liveness(Some(self.expires_at()), now) {
            Liveness::Live => Ok(self),
            Liveness::Expired => Err(Error::Expired(SESSION_EXPIRED.into())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    Created,
    Uploaded,
}

/// A file entry of a session; once uploaded, the file of the same id is stored like any
/// other (its R2 key here), expiring with the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub id: String,
    pub name: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub state: FileState,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r2_key: Option<String>,
    /// The id of the stored file (one per attempt to store content, so that two attempts at
    /// once never write the same object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

/// What the worker stored for a file entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub file_id: String,
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    pub sha256: String,
    pub r2_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// At least 128 random bits: the token is the only credential of its download.
    pub id: String,
    pub file_id: String,
    /// `created`, then `downloaded` once used (it stays usable until its session ends).
    pub state: String,
    pub created_at: u64,
    pub updated_at: u64,
}

/// A session and one of its file entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFile {
    pub session: Session,
    pub file: FileEntry,
}

const SESSION_KEY: &str = "session";

fn file_key(fid: &str) -> String {
    format!("f:{fid}")
}

fn token_key(tid: &str) -> String {
    format!("t:{tid}")
}

fn listed_key(sid: &str) -> String {
    format!("s:{sid}")
}

fn parse<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::Internal(format!("ledger: {e}")))
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("ledger: {e}")))
}

/// The session of this object, if `tenant`'s (anyone else: `404`) and not expired (`410`).
async fn session<L: LedgerStore>(store: &L, tenant: Option<&str>, now: u64) -> Result<Session> {
    let raw = store.get(SESSION_KEY).await?.ok_or_else(|| Error::not_found(SESSION_NOT_FOUND))?;
    let s: Session = parse(&raw)?;
    if tenant.is_some_and(|t| t != s.tenant) {
        return Err(Error::not_found(SESSION_NOT_FOUND));
    }
    s.live(now)
}

async fn entry<L: LedgerStore>(store: &L, fid: &str) -> Result<FileEntry> {
    let raw = store.get(&file_key(fid)).await?.ok_or_else(|| Error::not_found(FILE_NOT_FOUND))?;
    parse(&raw)
}

async fn entries<L: LedgerStore>(store: &L) -> Result<Vec<FileEntry>> {
    let mut files: Vec<FileEntry> = Vec::new();
    for (_, raw) in store.list("f:").await? {
        files.push(parse(&raw)?);
    }
    files.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(files)
}

pub(super) async fn create_session<L: LedgerStore>(store: &L, session: Session) -> Result<Session> {
    if store.get(SESSION_KEY).await?.is_some() {
        return Err(Error::Conflict("session exists".into()));
    }
    store.put(SESSION_KEY, &json(&session)?).await?;
    Ok(session)
}

pub(super) async fn get_session<L: LedgerStore>(store: &L, now: u64, tenant: &str) -> Result<Session> {
    session(store, Some(tenant), now).await
}

/// Deletes the session; answers the entries whose bytes are to be deleted.
pub(super) async fn delete_session<L: LedgerStore>(
    store: &L,
    now: u64,
    tenant: &str,
) -> Result<(Session, Vec<FileEntry>)> {
    let session = session(store, Some(tenant), now).await?;
    let files = entries(store).await?;
    store.clear().await?;
    Ok((session, files))
}

pub(super) async fn add_file<L: LedgerStore>(store: &L, now: u64, tenant: &str, new: FileEntry) -> Result<SessionFile> {
    let session = session(store, Some(tenant), now).await?;
    if store.list("f:").await?.len() >= MAX_FILES {
        return Err(Error::Conflict(format!("a session holds at most {MAX_FILES} files")));
    }
    store.put(&file_key(&new.id), &json(&new)?).await?;
    Ok(SessionFile { session, file: new })
}

pub(super) async fn list_files<L: LedgerStore>(store: &L, now: u64, tenant: &str) -> Result<(Session, Vec<FileEntry>)> {
    let session = session(store, Some(tenant), now).await?;
    Ok((session, entries(store).await?))
}

pub(super) async fn check_put<L: LedgerStore>(store: &L, now: u64, tenant: &str, file_id: &str) -> Result<SessionFile> {
    let session = session(store, Some(tenant), now).await?;
    let file = entry(store, file_id).await?;
    if file.state == FileState::Uploaded {
        return Err(Error::Conflict("content already stored".into()));
    }
    Ok(SessionFile { session, file })
}

pub(super) async fn commit_put<L: LedgerStore>(
    store: &L,
    now: u64,
    tenant: &str,
    file_id: &str,
    stored: Stored,
    at: u64,
) -> Result<SessionFile> {
    let session = session(store, Some(tenant), now).await?;
    let mut file = entry(store, file_id).await?;
    if file.state == FileState::Uploaded {
        return Err(Error::Conflict("content already stored".into()));
    }
    file = FileEntry {
        name: Some(stored.name),
        mime_type: Some(stored.mime_type),
        size: Some(stored.size),
        state: FileState::Uploaded,
        updated_at: at,
        sha256: Some(stored.sha256),
        r2_key: Some(stored.r2_key),
        file_id: Some(stored.file_id),
        ..file
    };
    store.put(&file_key(file_id), &json(&file)?).await?;
    Ok(SessionFile { session, file })
}

pub(super) async fn delete_file<L: LedgerStore>(
    store: &L,
    now: u64,
    tenant: &str,
    file_id: &str,
) -> Result<(Session, Vec<FileEntry>)> {
    let session = session(store, Some(tenant), now).await?;
    let file = entry(store, file_id).await?;
    store.delete(&file_key(file_id)).await?;
    for (key, raw) in store.list("t:").await? {
        if parse::<Token>(&raw)?.file_id == file_id {
            store.delete(&key).await?;
        }
    }
    Ok((session, vec![file]))
}

pub(super) async fn create_token<L: LedgerStore>(
    store: &L,
    now: u64,
    tenant: &str,
    file_id: String,
    token: Token,
) -> Result<(Session, Token)> {
    let session = session(store, Some(tenant), now).await?;
    let file = entry(store, &file_id).await?;
    if file.state != FileState::Uploaded {
        return Err(Error::Conflict("no content stored yet".into()));
    }
    let mut tokens = 0;
    for (_, raw) in store.list("t:").await? {
        tokens += usize::from(parse::<Token>(&raw)?.file_id == file_id);
    }
    if tokens >= MAX_TOKENS {
        return Err(Error::Conflict(format!("a file has at most {MAX_TOKENS} tokens")));
    }
    let token = Token { file_id, ..token };
    store.put(&token_key(&token.id), &json(&token)?).await?;
    Ok((session, token))
}

/// The session and file a token downloads (no other credential needed).
pub(super) async fn resolve_token<L: LedgerStore>(
    store: &L,
    now: u64,
    file_id: &str,
    token_id: &str,
) -> Result<SessionFile> {
    let missing = || Error::not_found(TOKEN_NOT_FOUND);
    let raw = store.get(SESSION_KEY).await?.ok_or_else(missing)?;
    let session = parse::<Session>(&raw)?.live(now)?;
    let raw = store.get(&token_key(token_id)).await?.ok_or_else(missing)?;
    let mut token: Token = parse(&raw)?;
    // constant-time is not needed: the token id is the key it was looked up by
    if token.file_id != file_id {
        return Err(missing());
    }
    let file = entry(store, file_id).await.map_err(|_| missing())?;
    if file.state != FileState::Uploaded {
        return Err(missing());
    }
    if token.state == "created" {
        token.state = "downloaded".into();
        token.updated_at = now;
        store.put(&token_key(token_id), &json(&token)?).await?;
    }
    Ok(SessionFile { session, file })
}

/// A tenant's object: its sessions still live (the expired ones are dropped from the list).
pub(super) async fn list_sessions<L: LedgerStore>(store: &L, now: u64) -> Result<Vec<Session>> {
    let mut sessions = Vec::new();
    for (key, raw) in store.list("s:").await? {
        let s: Session = parse(&raw)?;
        if s.expires_at() <= now {
            // no longer listed; its own object answers 410 while its tombstone lasts
            store.delete(&key).await?;
        } else {
            sessions.push(s);
        }
    }
    sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(sessions)
}

pub(super) async fn add_session<L: LedgerStore>(store: &L, session: Session) -> Result<Session> {
    store.put(&listed_key(&session.id), &json(&session)?).await?;
    Ok(session)
}

pub(super) async fn remove_session<L: LedgerStore>(store: &L, id: &str) -> Result<()> {
    store.delete(&listed_key(id)).await
}

/// The next number of a counter: 1, 2, 3, ... (OpenTera's `id_asset`).
pub(super) async fn next_number<L: LedgerStore>(store: &L, counter: &str) -> Result<u64> {
    let key = format!("n:{counter}");
    let n = match store.get(&key).await? {
        Some(raw) => raw.trim().parse::<u64>().map_err(|e| Error::Internal(format!("counter: {e}")))? + 1,
        None => 1,
    };
    store.put(&key, &n.to_string()).await?;
    Ok(n)
}

/// When a session's object may forget everything: its expiry plus the grace during which it
/// answers `410`. `None` if this is no session's object.
pub(super) async fn forget_at<L: LedgerStore>(store: &L, grace_secs: u64) -> Result<Option<u64>> {
    let Some(raw) = store.get(SESSION_KEY).await? else { return Ok(None) };
    let s: Session = parse(&raw)?;
    Ok(Some(s.expires_at().saturating_add(grace_secs.saturating_mul(1000))))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::engine::ledger::{forget_at, serve, LedgerAnswer, LedgerCall};
    use crate::testkit::MemoryLedger;
    use futures_executor::block_on;

    fn sess(ttl: u64) -> Session {
        Session { id: "s1".into(), tenant: "acme".into(), ttl, created_at: 1_000, updated_at: 1_000 }
    }

    fn file(id: &str) -> FileEntry {
        FileEntry {
            id: id.into(),
            name: None,
            mime_type: None,
            size: None,
            state: FileState::Created,
            created_at: 2_000,
            updated_at: 2_000,
            sha256: None,
            r2_key: None,
            file_id: None,
        }
    }

    /// A stored file of a session entry, for the tests of the ledger's envelope too.
    pub(in crate::engine::ledger) fn stored() -> Stored {
        Stored {
            file_id: "s1".into(),
            name: "a.txt".into(),
            mime_type: "text/plain".into(),
            size: 3,
            sha256: "ab".into(),
            r2_key: "e/f1".into(),
        }
    }

    fn token(id: &str) -> Token {
        Token { id: id.into(), file_id: String::new(), state: "created".into(), created_at: 3_000, updated_at: 3_000 }
    }

    #[test]
    fn a_session_its_files_and_tokens() {
        let l = MemoryLedger::default();
        let run = |now, call| block_on(serve(&l, now, call));
        let t = || "acme".to_string();
        run(5_000, LedgerCall::CreateSession { session: sess(10) }).unwrap();
        assert_eq!(run(5_000, LedgerCall::CreateSession { session: sess(10) }).unwrap_err().status(), 409);
        run(5_000, LedgerCall::AddFile { tenant: t(), entry: file("f1") }).unwrap();
        // listed at once after creation
        let Ok(LedgerAnswer::Files { files, .. }) = run(5_000, LedgerCall::ListFiles { tenant: t() }) else { panic!() };
        assert_eq!(files.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["f1"]);
        // another tenant sees nothing: 404, as for a session that does not exist
        let other = LedgerCall::ListFiles { tenant: "bobco".into() };
        assert_eq!(run(5_000, other).unwrap_err(), Error::not_found(SESSION_NOT_FOUND));
        // no token before content
        let tok = |id: &str| LedgerCall::CreateToken { tenant: t(), file_id: "f1".into(), token: token(id) };
        assert_eq!(run(5_000, tok("tk1")).unwrap_err().status(), 409);
        run(5_000, LedgerCall::CheckPut { tenant: t(), file_id: "f1".into() }).unwrap();
        let commit = || LedgerCall::CommitPut { tenant: t(), file_id: "f1".into(), stored: stored(), now: 6_000 };
        let Ok(LedgerAnswer::File(sf)) = run(6_000, commit()) else { panic!() };
        assert_eq!((sf.file.state, sf.file.size, sf.file.updated_at), (FileState::Uploaded, Some(3), 6_000));
        assert_eq!(run(6_000, commit()).unwrap_err().status(), 409, "content is stored once");
        assert_eq!(run(6_000, LedgerCall::CheckPut { tenant: t(), file_id: "f1".into() }).unwrap_err().status(), 409);
        let Ok(LedgerAnswer::Token { token: tk, .. }) = run(6_000, tok("tk1")) else { panic!() };
        assert_eq!(tk.file_id, "f1");
        // the token downloads its own file only
        let resolve = |fid: &str, tid: &str| LedgerCall::ResolveToken { file_id: fid.into(), token_id: tid.into() };
        let Ok(LedgerAnswer::File(sf)) = run(7_000, resolve("f1", "tk1")) else { panic!() };
        assert_eq!(sf.file.r2_key.as_deref(), Some("e/f1"));
        assert_eq!(run(7_000, resolve("f2", "tk1")).unwrap_err().status(), 404);
        assert_eq!(run(7_000, resolve("f1", "tk2")).unwrap_err().status(), 404);
        // expired with its session: everything answers 410
        assert_eq!(run(11_000, resolve("f1", "tk1")).unwrap_err(), Error::Expired(SESSION_EXPIRED.into()));
        assert_eq!(run(11_000, LedgerCall::ListFiles { tenant: t() }).unwrap_err().status(), 410);
        assert_eq!(block_on(forget_at(&l, 60)).unwrap(), Some(11_000 + 60_000));
    }

    #[test]
    fn deleting_a_file_or_its_session_ends_its_tokens() {
        let l = MemoryLedger::default();
        let run = |call| block_on(serve(&l, 5_000, call));
        let t = || "acme".to_string();
        run(LedgerCall::CreateSession { session: sess(100) }).unwrap();
        for f in ["f1", "f2"] {
            run(LedgerCall::AddFile { tenant: t(), entry: file(f) }).unwrap();
            run(LedgerCall::CommitPut { tenant: t(), file_id: f.into(), stored: stored(), now: 1 }).unwrap();
            let tok = Token { id: format!("tk-{f}"), ..token("") };
            run(LedgerCall::CreateToken { tenant: t(), file_id: f.into(), token: tok }).unwrap();
        }
        let Ok(LedgerAnswer::Removed { files, .. }) = run(LedgerCall::DeleteFile { tenant: t(), file_id: "f1".into() })
        else {
            panic!()
        };
        assert_eq!(files[0].id, "f1");
        let resolve = |fid: &str| LedgerCall::ResolveToken { file_id: fid.into(), token_id: format!("tk-{fid}") };
        assert_eq!(run(resolve("f1")).unwrap_err().status(), 404);
        assert!(run(resolve("f2")).is_ok());
        let Ok(LedgerAnswer::Removed { files, .. }) = run(LedgerCall::DeleteSession { tenant: t() }) else { panic!() };
        assert_eq!(files.len(), 1, "the rest of its files, for their bytes to go");
        assert_eq!(run(resolve("f2")).unwrap_err().status(), 404);
        assert!(l.is_empty(), "a deleted session leaves nothing");
    }

    #[test]
    fn a_tenants_sessions_and_counters() {
        let l = MemoryLedger::default();
        let run = |now, call| block_on(serve(&l, now, call));
        let s2 = Session { id: "s2".into(), ttl: 1, ..sess(100) };
        run(0, LedgerCall::AddSession { session: sess(100) }).unwrap();
        run(0, LedgerCall::AddSession { session: s2 }).unwrap();
        let ids = |a: LedgerAnswer| match a {
            LedgerAnswer::Sessions { sessions } => sessions.into_iter().map(|s| s.id).collect::<Vec<_>>(),
            _ => panic!(),
        };
        assert_eq!(ids(run(1_500, LedgerCall::ListSessions).unwrap()), ["s1", "s2"]);
        assert_eq!(ids(run(2_000, LedgerCall::ListSessions).unwrap()), ["s1"], "expired ones are not listed");
        run(0, LedgerCall::RemoveSession { id: "s1".into() }).unwrap();
        assert!(ids(run(0, LedgerCall::ListSessions).unwrap()).is_empty());
        let next = || match run(0, LedgerCall::NextNumber { counter: "asset".into() }).unwrap() {
            LedgerAnswer::Number { n } => n,
            _ => panic!(),
        };
        assert_eq!((next(), next(), next()), (1, 2, 3));
    }
}
