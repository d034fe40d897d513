//! IMiS logins (`session/open`): one object per login, named by the hash of its token, that
//! ends after its idle time without use. The envelope ([`super::serve`]) calls the functions
//! below for [`super::LedgerCall::OpenLogin`] and [`super::LedgerCall::UseLogin`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::object::LedgerStore;

/// A login (IMiS): whose, when last used, how long it may stay idle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub tenant: String,
    pub last_used: u64,
    pub idle_ms: u64,
}

impl Login {
    fn ends_at(&self) -> u64 {
        self.last_used.saturating_add(self.idle_ms)
    }
}

/// The name of a login's object: the token's hash, so that the token itself is stored nowhere.
pub fn login_object(token: &str) -> String {
    use sha2::Digest;
    format!("login:{}", hex::encode(sha2::Sha256::digest(token.as_bytes())))
}

/// A login is used at most this often without its object writing the time again.
const LOGIN_TOUCH_MS: u64 = 60_000;
const LOGIN_KEY: &str = "login";

fn parse<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::Internal(format!("ledger: {e}")))
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("ledger: {e}")))
}

/// Opens a login of `tenant` that ends after `idle_ms` without use.
pub(super) async fn open<L: LedgerStore>(store: &L, now: u64, tenant: String, idle_ms: u64) -> Result<String> {
    let login = Login { tenant: tenant.clone(), last_used: now, idle_ms };
    store.put(LOGIN_KEY, &json(&login)?).await?;
    Ok(tenant)
}

/// The tenant of a login still in use (and it counts as a use); `401` else.
pub(super) async fn use_login<L: LedgerStore>(store: &L, now: u64) -> Result<String> {
    let Some(raw) = store.get(LOGIN_KEY).await? else { return Err(Error::Unauthorized) };
    let mut login: Login = parse(&raw)?;
    if now >= login.ends_at() {
        store.clear().await?;
        return Err(Error::Unauthorized);
    }
    if now.saturating_sub(login.last_used) >= LOGIN_TOUCH_MS {
        login.last_used = now;
        store.put(LOGIN_KEY, &json(&login)?).await?;
    }
    Ok(login.tenant)
}

/// When a login's object may forget everything: the login's end. `None` if this is no
/// login's object.
pub(super) async fn forget_at<L: LedgerStore>(store: &L) -> Result<Option<u64>> {
    let Some(raw) = store.get(LOGIN_KEY).await? else { return Ok(None) };
    Ok(Some(parse::<Login>(&raw)?.ends_at()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::{forget_at, serve, LedgerAnswer, LedgerCall};
    use crate::testkit::MemoryLedger;
    use futures_executor::block_on;

    #[test]
    fn logins_end_after_their_idle_time() {
        let l = MemoryLedger::default();
        let run = |now, call| block_on(serve(&l, now, call));
        run(0, LedgerCall::OpenLogin { tenant: "acme".into(), idle_ms: 100_000 }).unwrap();
        assert_eq!(block_on(forget_at(&l, 0)).unwrap(), Some(100_000));
        assert_eq!(run(99_999, LedgerCall::UseLogin).unwrap(), LedgerAnswer::Tenant { tenant: "acme".into() });
        // used: it lives on from then
        assert_eq!(block_on(forget_at(&l, 0)).unwrap(), Some(199_999));
        assert!(run(150_000, LedgerCall::UseLogin).is_ok(), "within its idle time of the last use");
        assert_eq!(run(199_999, LedgerCall::UseLogin).unwrap_err(), Error::Unauthorized);
        assert!(l.is_empty(), "an ended login leaves nothing");
        assert_eq!(run(0, LedgerCall::UseLogin).unwrap_err(), Error::Unauthorized);
        assert_ne!(login_object("a"), login_object("b"));
        assert!(!login_object("secret-token").contains("secret"));
    }
}
