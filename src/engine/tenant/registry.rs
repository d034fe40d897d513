//! The registry's records, pure: a tenant's (its status and its keys, never their secrets), a
//! credential's (which tenant and key a presented secret is, and whether it may be used), the
//! checks of ids, kinds and users, and the transitions an operator's calls make. No I/O, no
//! clock: `now` is a parameter, secrets are handed in.

use serde::{Deserialize, Serialize};

use crate::auth::{is_tenant_name, Hashed, Scheme};
use crate::error::{Error, Result};
use crate::http::auth_header::Presented;

/// Longest id of a tenant created at run time.
pub const MAX_TENANT_ID: usize = 32;
/// Most keys a tenant has at once (suspending it rewrites each key's record).
pub const MAX_KEYS: usize = 100;
/// Longest user name of a Basic key.
pub const MAX_USER: usize = 64;
/// What a refused credential of a suspended tenant hears.
pub const SUSPENDED: &str = "this tenant is suspended";

/// A new tenant's id: 1 to [`MAX_TENANT_ID`] of `a-z`, `0-9`, `-`, `_`, from a letter or digit.
pub fn check_new_id(id: &str) -> Result<()> {
    let ok = (1..=MAX_TENANT_ID).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "id must be 1 to {MAX_TENANT_ID} of a-z, 0-9, '-' and '_', starting with a letter or digit"
        )))
    }
}

/// Could this name a tenant, one created here or one of `EDGESHARE_CREDENTIALS`? Anything else
/// is not looked up at all.
pub fn is_tenant_ref(id: &str) -> bool {
    id.len() <= 64 && is_tenant_name(id)
}

/// A key's id: 16 lowercase hex digits.
pub fn is_key_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a tenant's credentials are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    /// Every credential of the tenant is refused (`403`), its files are kept.
    Suspended,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
        }
    }
}

/// One key of a tenant, as its record keeps it: never its secret, only the sha256 of the
/// secret as presented, which names its credential's KV key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    pub id: String,
    pub kind: Scheme,
    /// A Basic key's user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub created_at: u64,
    /// sha256 hex of the secret as presented (`user:password` for Basic). Never shown.
    pub hash: String,
}

/// A tenant in the registry. Fields added later (a quota) take `#[serde(default)]`, so that
/// records written before them still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: String,
    pub status: Status,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
}

/// What a tenant's listed key carries (KV metadata, well under its 1 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    #[serde(rename = "s")]
    pub status: Status,
    #[serde(rename = "c")]
    pub created_at: u64,
}

impl Listed {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a credential's KV key holds: whose key it is, and whether its tenant is active (the
/// record's status, copied into each key's so that one read answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredRecord {
    pub tenant: String,
    pub key_id: String,
    pub status: Status,
}

impl CredRecord {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads a stored record; a broken one is a bug, not the caller's fault.
pub fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::Internal(format!("registry record: {e}")))
}

impl TenantRecord {
    pub fn new(id: &str, now: u64) -> TenantRecord {
        TenantRecord { id: id.into(), status: Status::Active, created_at: now, updated_at: now, keys: Vec::new() }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn listed(&self) -> Listed {
        Listed { status: self.status, created_at: self.created_at }
    }

    /// The record of each of its keys, at its status.
    pub fn credential(&self, key: &KeyEntry) -> CredRecord {
        CredRecord { tenant: self.id.clone(), key_id: key.id.clone(), status: self.status }
    }

    pub fn set_status(&mut self, status: Status, now: u64) {
        self.status = status;
        self.updated_at = now;
    }

    /// Adds a key; `409` once it has [`MAX_KEYS`].
    pub fn add_key(&mut self, key: KeyEntry, now: u64) -> Result<()> {
        if self.keys.len() >= MAX_KEYS {
            return Err(Error::Conflict(format!("a tenant has at most {MAX_KEYS} keys: revoke one first")));
        }
        self.keys.push(key);
        self.updated_at = now;
        Ok(())
    }

    /// Takes a key out; `None` if it has none of that id.
    pub fn remove_key(&mut self, key_id: &str, now: u64) -> Option<KeyEntry> {
        let at = self.keys.iter().position(|k| k.id == key_id)?;
        self.updated_at = now;
        Some(self.keys.remove(at))
    }
}

/// A key an operator asks for, checked: its kind, and a Basic key's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAsk {
    pub kind: Scheme,
    pub user: Option<String>,
}

impl KeyAsk {
    /// `kind` one of `bearer`, `basic`, `opentera`; a user for `basic` only (1 to [`MAX_USER`]
    /// of letters, digits and `.`, `_`, `-`, `@`, `+`: no `:`, which ends a Basic user).
    pub fn parse(kind: Option<&str>, user: Option<&str>) -> Result<KeyAsk> {
        let kind = kind.and_then(Scheme::parse).filter(|k| k.name() == kind.unwrap_or_default());
        let kind = kind.ok_or_else(|| Error::bad_request("kind must be \"bearer\", \"basic\" or \"opentera\""))?;
        let user = match (kind, user) {
            (Scheme::Basic, Some(u))
                if (1..=MAX_USER).contains(&u.len())
                    && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@+".contains(&b)) =>
            {
                Some(u.to_string())
            }
            (Scheme::Basic, _) => {
                return Err(Error::bad_request(format!(
                    "a basic key needs a user: 1 to {MAX_USER} of letters, digits, '.', '_', '-', '@', '+'"
                )))
            }
            (_, Some(_)) => return Err(Error::bad_request("only a basic key has a user")),
            (_, None) => None,
        };
        Ok(KeyAsk { kind, user })
    }

    /// The secret as a client presents it, hashed as the registry looks it up.
    pub fn hashed(&self, secret: &str) -> Hashed {
        match (self.kind, &self.user) {
            (Scheme::Basic, Some(user)) => {
                Hashed::of(&Presented::Basic { user: user.clone(), password: secret.to_string() })
            }
            (Scheme::OpenTera, _) => Hashed::opentera(secret),
            _ => Hashed::of(&Presented::Bearer(secret.to_string())),
        }
    }

    /// The key's entry for its tenant's record.
    pub fn entry(&self, id: &str, secret: &str, now: u64) -> KeyEntry {
        KeyEntry {
            id: id.into(),
            kind: self.kind,
            user: self.user.clone(),
            created_at: now,
            hash: self.hashed(secret).hex(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::credential_hash;

    #[test]
    fn new_ids_are_short_and_plain() {
        for good in ["acme", "a", "0day", "bob_co-2", &"x".repeat(MAX_TENANT_ID)] {
            assert!(check_new_id(good).is_ok(), "{good}");
        }
        for bad in ["", "Acme", "-acme", "_a", "a:b", "a b", "a/b", "ac.me", "é", &"x".repeat(MAX_TENANT_ID + 1)] {
            assert_eq!(check_new_id(bad).unwrap_err().status(), 400, "{bad:?}");
        }
        assert!(is_tenant_ref("Acme") && is_tenant_ref("acme") && !is_tenant_ref("a:b") && !is_tenant_ref(""));
        assert!(is_key_id("0123456789abcdef") && !is_key_id("0123456789ABCDEF") && !is_key_id("0123"));
    }

    #[test]
    fn key_asks() {
        let ask = |k: Option<&str>, u: Option<&str>| KeyAsk::parse(k, u).map(|a| (a.kind, a.user));
        assert_eq!(ask(Some("bearer"), None).unwrap(), (Scheme::Bearer, None));
        assert_eq!(ask(Some("opentera"), None).unwrap(), (Scheme::OpenTera, None));
        assert_eq!(
            ask(Some("basic"), Some("alice@example.com")).unwrap(),
            (Scheme::Basic, Some("alice@example.com".into()))
        );
        for (k, u) in [
            (None, None),
            (Some("digest"), None),
            (Some("Bearer"), None),
            (Some("basic"), None),
            (Some("basic"), Some("")),
            (Some("basic"), Some("a:b")),
            (Some("basic"), Some("a b")),
            (Some("bearer"), Some("alice")),
        ] {
            let err = KeyAsk::parse(k, u).unwrap_err();
            assert_eq!(err.status(), 400, "{k:?} {u:?}");
        }
        assert!(KeyAsk::parse(Some("basic"), Some(&"u".repeat(MAX_USER + 1))).is_err());
    }

    /// A key's hash is the one a client's credential hashes to, as `EDGESHARE_CREDENTIALS`
    /// writes it: `user:password` for Basic.
    #[test]
    fn keys_hash_as_presented() {
        let basic = KeyAsk::parse(Some("basic"), Some("alice")).unwrap();
        let e = basic.entry("0123456789abcdef", "s3cret", 7);
        let presented = Presented::Basic { user: "alice".into(), password: "s3cret".into() };
        assert_eq!(e.hash, hex::encode(credential_hash(&presented)));
        assert_eq!((e.kind, e.user.as_deref(), e.created_at), (Scheme::Basic, Some("alice"), 7));
        let bearer = KeyAsk::parse(Some("bearer"), None).unwrap();
        assert_eq!(bearer.hashed("t"), Hashed::of(&Presented::Bearer("t".into())));
        let tera = KeyAsk::parse(Some("opentera"), None).unwrap();
        assert_eq!(tera.hashed("t"), Hashed::opentera("t"));
        assert_ne!(tera.hashed("t").scheme, bearer.hashed("t").scheme, "same hash, another scheme");
    }

    #[test]
    fn records_round_trip_and_count_their_keys() {
        let mut r = TenantRecord::new("acme", 1);
        let ask = KeyAsk::parse(Some("bearer"), None).unwrap();
        for i in 0..MAX_KEYS {
            r.add_key(ask.entry(&format!("{i:016x}"), "s", 2), 2).unwrap();
        }
        assert_eq!(r.add_key(ask.entry("ffffffffffffffff", "s", 3), 3).unwrap_err().status(), 409);
        let gone = r.remove_key(&format!("{:016x}", 5), 4).unwrap();
        assert_eq!((gone.id.as_str(), r.keys.len(), r.updated_at), ("0000000000000005", MAX_KEYS - 1, 4));
        assert_eq!(r.remove_key("0000000000000005", 5), None);
        r.set_status(Status::Suspended, 6);
        let back: TenantRecord = from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.credential(&r.keys[0]).status, Status::Suspended, "a key's record carries the status");
        assert!(r.to_json().contains("\"status\":\"suspended\""));
        let old: TenantRecord = from_json(r#"{"id":"a","status":"active","created_at":1,"updated_at":1}"#).unwrap();
        assert!(old.keys.is_empty(), "fields default");
        assert!(r.listed().to_json().len() < 64);
        assert_eq!(from_json::<TenantRecord>("{").unwrap_err().status(), 500);
    }
}
