//! What this isolate learnt of the registry lately, pure and bounded: a credential's record (or
//! that there is none) and a tenant's status (or that it has no record), each for at most
//! [`CACHE_MS`], at most [`CACHE_ENTRIES`] of them. It saves a KV read per request of a busy
//! client; it is also what delays a change made in another isolate, by at most [`CACHE_MS`]
//! on top of KV's own propagation. `now` is a parameter.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::registry::{CredRecord, Status};

/// How long an answer is kept, in ms.
pub const CACHE_MS: u64 = 5_000;
/// How many answers are kept at most.
pub const CACHE_ENTRIES: usize = 512;

/// An answer of the registry, by the KV key it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// `reg:cred:...`: the credential's record, or none.
    Credential(Option<CredRecord>),
    /// `reg:tenant:...`: the tenant's status, or none (no record: a bootstrap tenant as configured).
    Status(Option<Status>),
    /// `reg:jwt`, `reg:twake`: what an operator set at run time, or nothing.
    Spec(Option<String>),
    /// `auth:{client}`: the client is over its limit of unknown credentials; nothing more is
    /// read for it meanwhile.
    Throttled,
}

impl Known {
    fn names(&self, tenant: &str) -> bool {
        matches!(self, Known::Credential(Some(c)) if c.tenant == tenant)
    }
}

/// The cache: one per isolate in the worker, one per world in the host tests.
#[derive(Debug, Default)]
pub struct Cache {
    entries: RefCell<BTreeMap<String, (u64, Known)>>,
}

fn fresh(at: u64, now: u64) -> bool {
    now >= at && now - at < CACHE_MS
}

impl Cache {
    /// The answer kept for `key`, if it is fresh.
    pub fn get(&self, key: &str, now: u64) -> Option<Known> {
        let entries = self.entries.borrow();
        entries.get(key).filter(|(at, _)| fresh(*at, now)).map(|(_, k)| k.clone())
    }

    /// Keeps an answer. When full, stale answers go first, then the oldest.
    pub fn put(&self, key: String, known: Known, now: u64) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= CACHE_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| fresh(*at, now));
            while entries.len() >= CACHE_ENTRIES {
                let oldest = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => entries.remove(&k),
                    None => break,
                };
            }
        }
        entries.insert(key, (now, known));
    }

    /// Forgets what it knows of `key` (this isolate just wrote it).
    pub fn forget(&self, key: &str) {
        self.entries.borrow_mut().remove(key);
    }

    /// Forgets everything naming `tenant`: its status under `status_key`, and its credentials.
    pub fn forget_tenant(&self, tenant: &str, status_key: &str) {
        self.entries.borrow_mut().retain(|k, (_, known)| k != status_key && !known.names(tenant));
    }

    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(tenant: &str) -> Known {
        Known::Credential(Some(CredRecord { tenant: tenant.into(), key_id: "k".into(), status: Status::Active }))
    }

    #[test]
    fn answers_are_kept_for_a_few_seconds() {
        let c = Cache::default();
        c.put("a".into(), cred("acme"), 1_000);
        assert_eq!(c.get("a", 1_000), Some(cred("acme")));
        assert_eq!(c.get("a", 1_000 + CACHE_MS - 1), Some(cred("acme")));
        assert_eq!(c.get("a", 1_000 + CACHE_MS), None, "stale");
        assert_eq!(c.get("a", 999), None, "a clock that went back: stale");
        c.put("none".into(), Known::Credential(None), 1_000);
        assert_eq!(c.get("none", 1_001), Some(Known::Credential(None)), "that there is none, too");
    }

    #[test]
    fn writes_here_are_seen_here_at_once() {
        let c = Cache::default();
        c.put("reg:cred:x".into(), cred("acme"), 0);
        c.put("reg:cred:y".into(), cred("bobco"), 0);
        c.put("reg:tenant:acme".into(), Known::Status(Some(Status::Active)), 0);
        c.put("reg:tenant:bobco".into(), Known::Status(None), 0);
        c.forget_tenant("acme", "reg:tenant:acme");
        assert_eq!((c.get("reg:cred:x", 1), c.get("reg:tenant:acme", 1)), (None, None));
        assert!(c.get("reg:cred:y", 1).is_some() && c.get("reg:tenant:bobco", 1).is_some(), "others stay");
        c.forget("reg:cred:y");
        assert_eq!(c.get("reg:cred:y", 1), None);
    }

    #[test]
    fn it_is_bounded() {
        let c = Cache::default();
        for i in 0..CACHE_ENTRIES as u64 {
            c.put(format!("k{i}"), Known::Status(None), i);
        }
        assert_eq!(c.len(), CACHE_ENTRIES);
        c.put("new".into(), Known::Status(None), CACHE_ENTRIES as u64);
        assert_eq!(c.len(), CACHE_ENTRIES, "the oldest made room");
        assert_eq!(c.get("k0", CACHE_ENTRIES as u64), None);
        assert!(c.get("k1", CACHE_ENTRIES as u64).is_some());
        // once they are stale, all of them make room at once
        c.put("later".into(), Known::Status(None), 10 * CACHE_MS);
        assert_eq!(c.len(), 1);
    }
}
