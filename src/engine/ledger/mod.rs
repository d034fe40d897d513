//! The small strongly consistent objects (a Durable Object each in the worker): exact counts
//! and lists that KV cannot give. One kind of object per module: NGCP sessions and a tenant's
//! list and counters ([`session`]), IMiS logins ([`login`]), share links ([`link`]), file
//! requests ([`request`]), Twake
//! files while their chunks land ([`twake`]). This module is the envelope: the storage an
//! object runs over ([`LedgerStore`]), one [`LedgerCall`] and [`LedgerAnswer`] naming each kind's
//! calls, and [`serve`], which hands a call to its kind.
//!
//! May import: [`crate::engine::file`] (a file's life), the tenant's account logic
//! ([`crate::engine::catalog::account`], pure like the kinds here, whose object this envelope
//! also serves), `crate::error` and the storage ([`LedgerStore`]). A kind's module imports nothing of its siblings; only this envelope
//! names them all, so no two kinds import each other.

pub mod link;
pub mod login;
pub mod request;
pub mod session;
pub mod twake;

use serde::{Deserialize, Serialize};

use crate::engine::catalog::account;
use crate::error::Result;
use crate::store::object::{from_json, to_json, LedgerStore, Objects};
use session::{FileEntry, Session, SessionFile, Stored, Token};

/// One request to a session's or a tenant's object. It crosses to the Durable Object as
/// JSON; the answer comes back as JSON `Result<LedgerAnswer, Error>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LedgerCall {
    // a session's object
    CreateSession {
        session: Session,
    },
    GetSession {
        tenant: String,
    },
    /// Deletes the session; answers the entries whose bytes are to be deleted.
    DeleteSession {
        tenant: String,
    },
    AddFile {
        tenant: String,
        entry: FileEntry,
    },
    ListFiles {
        tenant: String,
    },
    /// May content be stored for this entry (it exists, has none yet, its session lives)?
    CheckPut {
        tenant: String,
        file_id: String,
    },
    /// Records the stored content; `409` if another request stored some first.
    CommitPut {
        tenant: String,
        file_id: String,
        stored: Stored,
        now: u64,
    },
    DeleteFile {
        tenant: String,
        file_id: String,
    },
    CreateToken {
        tenant: String,
        file_id: String,
        token: Token,
    },
    /// The session and file a token downloads (no other credential needed).
    ResolveToken {
        file_id: String,
        token_id: String,
    },
    // a tenant's object
    ListSessions,
    AddSession {
        session: Session,
    },
    RemoveSession {
        id: String,
    },
    /// The next number of a counter: 1, 2, 3, ... (OpenTera's `id_asset`).
    NextNumber {
        counter: String,
    },
    // a login's object (IMiS `session/open`), named by the hash of its token
    /// Opens a login of `tenant` that ends after `idle_ms` without use.
    OpenLogin {
        tenant: String,
        idle_ms: u64,
    },
    /// The tenant of a login still in use (and it counts as a use); `401` else.
    UseLogin,
    /// A Twake file's object.
    Twake(twake::TwakeCall),
    /// A share link's object, or a file's list of links (or a tenant's list of requests).
    Link(link::LinkCall),
    /// A file request's object.
    Request(request::RequestCall),
    /// A tenant's account ([`crate::engine::catalog::account`]), named so that the object
    /// knows whose it is before the call (to import what KV kept of its files before
    /// accounts, once).
    Account {
        tenant: String,
        call: account::AccountCall,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LedgerAnswer {
    Session { session: Session },
    Sessions { sessions: Vec<Session> },
    File(SessionFile),
    Files { session: Session, files: Vec<FileEntry> },
    Token { session: Session, token: Token },
    Removed { session: Session, files: Vec<FileEntry> },
    Number { n: u64 },
    Tenant { tenant: String },
    Twake(twake::TwakeAnswer),
    Link(link::LinkAnswer),
    Request(request::RequestAnswer),
    Account(account::AccountAnswer),
}

/// Serves one call against an object's storage at `now`.
/// The ledger objects, typed: a call to the one named `name`, over any platform's [`Objects`]
/// (which carries it as JSON).
#[allow(async_fn_in_trait)]
pub trait LedgerCalls: Objects {
    async fn ledger(&self, name: &str, call: LedgerCall) -> Result<LedgerAnswer> {
        let answer = self.ledger_call(name, to_json(&call)?).await?;
        from_json::<Result<LedgerAnswer>>(&answer)?
    }
}

impl<O: Objects> LedgerCalls for O {}

pub async fn serve<L: LedgerStore>(store: &L, now: u64, call: LedgerCall) -> Result<LedgerAnswer> {
    use LedgerAnswer as A;
    match call {
        LedgerCall::CreateSession { session } => {
            session::create_session(store, session).await.map(|session| A::Session { session })
        }
        LedgerCall::GetSession { tenant } => {
            session::get_session(store, now, &tenant).await.map(|session| A::Session { session })
        }
        LedgerCall::DeleteSession { tenant } => {
            let (session, files) = session::delete_session(store, now, &tenant).await?;
            Ok(A::Removed { session, files })
        }
        LedgerCall::AddFile { tenant, entry } => session::add_file(store, now, &tenant, entry).await.map(A::File),
        LedgerCall::ListFiles { tenant } => {
            let (session, files) = session::list_files(store, now, &tenant).await?;
            Ok(A::Files { session, files })
        }
        LedgerCall::CheckPut { tenant, file_id } => {
            session::check_put(store, now, &tenant, &file_id).await.map(A::File)
        }
        LedgerCall::CommitPut { tenant, file_id, stored, now: at } => {
            session::commit_put(store, now, &tenant, &file_id, stored, at).await.map(A::File)
        }
        LedgerCall::DeleteFile { tenant, file_id } => {
            let (session, files) = session::delete_file(store, now, &tenant, &file_id).await?;
            Ok(A::Removed { session, files })
        }
        LedgerCall::CreateToken { tenant, file_id, token } => {
            let (session, token) = session::create_token(store, now, &tenant, file_id, token).await?;
            Ok(A::Token { session, token })
        }
        LedgerCall::ResolveToken { file_id, token_id } => {
            session::resolve_token(store, now, &file_id, &token_id).await.map(A::File)
        }
        LedgerCall::ListSessions => session::list_sessions(store, now).await.map(|sessions| A::Sessions { sessions }),
        LedgerCall::AddSession { session } => {
            session::add_session(store, session).await.map(|session| A::Session { session })
        }
        LedgerCall::RemoveSession { id } => {
            session::remove_session(store, &id).await?;
            Ok(A::Sessions { sessions: Vec::new() })
        }
        LedgerCall::NextNumber { counter } => session::next_number(store, &counter).await.map(|n| A::Number { n }),
        LedgerCall::OpenLogin { tenant, idle_ms } => {
            login::open(store, now, tenant, idle_ms).await.map(|tenant| A::Tenant { tenant })
        }
        LedgerCall::Twake(call) => twake::serve(store, now, call).await.map(A::Twake),
        LedgerCall::Link(call) => link::serve(store, now, call).await.map(A::Link),
        LedgerCall::Request(call) => request::serve(store, now, call).await.map(A::Request),
        LedgerCall::Account { call, .. } => account::serve(store, now, call).await.map(A::Account),
        LedgerCall::UseLogin => login::use_login(store, now).await.map(|tenant| A::Tenant { tenant }),
    }
}

/// When an object may forget everything: a session's expiry plus the grace during which it
/// answers `410`; a login's end; a link's ([`link::forget_at`]). `None` for an object that
/// keeps what it holds (a tenant's).
pub async fn forget_at<L: LedgerStore>(store: &L, grace_secs: u64) -> Result<Option<u64>> {
    if let Some(at) = login::forget_at(store).await? {
        return Ok(Some(at));
    }
    if let Some(at) = session::forget_at(store, grace_secs).await? {
        return Ok(Some(at));
    }
    if let Some(at) = request::forget_at(store, grace_secs).await? {
        return Ok(Some(at));
    }
    link::forget_at(store, grace_secs).await
}

/// Does this call start something the object must forget later (so it sets its alarm)?
pub fn schedules(call: &LedgerCall) -> bool {
    match call {
        LedgerCall::CreateSession { .. } | LedgerCall::OpenLogin { .. } => true,
        LedgerCall::Link(call) => link::schedules(call),
        LedgerCall::Request(call) => request::schedules(call),
        LedgerCall::Account { call, .. } => account::schedules(call),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::session::tests::stored;

    #[test]
    fn calls_and_answers_survive_json() {
        let call = LedgerCall::CommitPut { tenant: "t".into(), file_id: "f".into(), stored: stored(), now: 1 };
        let text = serde_json::to_string(&call).unwrap();
        assert!(text.starts_with("{\"op\":\"commit_put\""), "{text}");
        assert_eq!(serde_json::from_str::<LedgerCall>(&text).unwrap(), call);
        let answer: Result<LedgerAnswer> = Ok(LedgerAnswer::Number { n: 4 });
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(serde_json::from_str::<Result<LedgerAnswer>>(&text).unwrap(), answer);
    }
}
