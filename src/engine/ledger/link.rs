//! Share links: a capability to download one file of a tenant, whatever dialect uploaded it,
//! with an expiry, an optional download limit and an optional password.
//!
//! Each link is one object (a Durable Object in the worker), named by the hash of its token
//! ([`link_object`]) so that the token itself names nothing in storage: the object holds the
//! link and counts its downloads, one call at a time, so the last allowed download succeeds
//! and the next is refused however many arrive at once. Each file with links has one more
//! object ([`file_links_object`]) listing its links' tokens (for `GET /v1/files/{id}/links`,
//! and to revoke them all when the file is deleted).
//!
//! A password is stored as an Argon2id hash (PHC string) and checked inside the link's
//! object. Wrong passwords are counted there for each client (its address, see
//! [`crate::engine::throttle::client_key`]): after [`FREE_FAILURES`] in a row that client's every
//! further attempt must wait, doubling each time up to [`MAX_BACKOFF_SECS`] (`429` with
//! `Retry-After`), while other clients (the link's real recipients) are not slowed down.
//! An unknown token costs one read and nothing else: no hashing, nothing written. Tokens are
//! 192 random bits, so telling "no such link" from "wrong password" gives a guesser nothing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::engine::file::record::FileRecord;
use crate::error::{Error, Result};
use crate::store::object::LedgerStore;

pub const LINK_NOT_FOUND: &str = "link not found";
pub const LINK_EXPIRED: &str = "link expired";
pub const LINK_REVOKED: &str = "link revoked";
pub const LINK_EXHAUSTED: &str = "download limit reached";
pub const WRONG_PASSWORD: &str = "wrong password or no such link";
/// Most links one file has.
pub const MAX_LINKS_PER_FILE: usize = 100;
/// Most files one link names.
pub const MAX_FILES_PER_LINK: usize = 200;
/// Wrong passwords in a row that cost nothing more than their own hashing.
pub const FREE_FAILURES: u32 = 3;
/// The longest wait between two attempts after many wrong passwords.
pub const MAX_BACKOFF_SECS: u64 = 300;
/// Longest password accepted.
pub const MAX_PASSWORD: usize = 256;
/// How long an object without a link remembers wrong passwords.
const FAILURES_REMEMBERED_MS: u64 = 3_600_000;

const LINK_KEY: &str = "link";
/// A client's wrong passwords: `fails:{client}`.
const FAILS_PREFIX: &str = "fails:";
/// When the last wrong password of any client was (for forgetting them).
const LAST_FAIL_KEY: &str = "last_fail";
/// Most clients whose wrong passwords one link remembers one by one; past that, the rest
/// share one count (many addresses cannot fill a link's object).
pub const MAX_CLIENTS: usize = 1000;
const OTHERS: &str = "others";
/// A file's list: whose file it is, and when its last link expires.
const TENANT_KEY: &str = "tenant";
const UNTIL_KEY: &str = "until";

/// The name of a link's object: its token's hash.
pub fn link_object(token: &str) -> String {
    use sha2::Digest;
    format!("link:{}", hex::encode(sha2::Sha256::digest(token.as_bytes())))
}

/// The name of the object listing a file's links.
pub fn file_links_object(tenant: &str, file_id: &str) -> String {
    format!("links:{tenant}:{file_id}")
}

/// A client as a link's object remembers it: a hash of its address, not the address.
pub fn client_tag(client: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(format!("edgeshare-client\0{client}").as_bytes())[..12])
}

/// A share link's entity tag for a file whose own is `file_etag`: a hash keyed by the link's
/// token, so that it names neither the file's digest (a PortSIP blob's public URL) nor
/// anything another link of the same file could be matched with.
pub fn link_etag(token: &str, file_etag: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("edgeshare-link\0{token}\0{file_etag}").as_bytes());
    format!("\"{}\"", hex::encode(&h[..16]))
}

/// Is this shaped like a token we issue (base64url, 32 characters: 192 bits)?
pub fn is_token(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A share link as its object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub tenant: String,
    /// The file's id in the store (its record's), and the id its dialect gave it.
    pub file_id: String,
    pub list_id: String,
    pub r2_key: String,
    pub created_at: u64,
    pub expires_at: u64,
    pub max_downloads: Option<u64>,
    pub downloads: u64,
    /// The password's Argon2id hash; never sent back out of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Does it have a password (what the object tells, instead of the hash)?
    #[serde(default)]
    pub has_password: bool,
    #[serde(default)]
    pub revoked: bool,
    /// Does its tenant hear of its downloads (a webhook subscribed to `link.downloaded` or
    /// `link.used_up` when it was made)?
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notify: bool,
    /// The files it names after the first, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<LinkedFile>,
}

/// A file a link names: its id in the store, the id its dialect gave it, its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedFile {
    pub file_id: String,
    pub list_id: String,
    pub r2_key: String,
}

impl LinkedFile {
    /// A file as a link names it.
    pub fn of(record: &FileRecord) -> LinkedFile {
        LinkedFile { file_id: record.id.clone(), list_id: record.list_id().to_string(), r2_key: record.r2_key.clone() }
    }
}

impl Link {
    /// Every file it names, the first first.
    pub fn files(&self) -> Vec<LinkedFile> {
        let first =
            LinkedFile { file_id: self.file_id.clone(), list_id: self.list_id.clone(), r2_key: self.r2_key.clone() };
        std::iter::once(first).chain(self.more.iter().cloned()).collect()
    }

    /// Names `files` too (those it names already once); `409` past [`MAX_FILES_PER_LINK`].
    pub fn add_files(&mut self, files: Vec<LinkedFile>) -> Result<()> {
        for f in files {
            if f.file_id != self.file_id && !self.more.iter().any(|m| m.file_id == f.file_id) {
                self.more.push(f);
            }
        }
        if self.more.len() + 1 > MAX_FILES_PER_LINK {
            return Err(Error::Conflict(format!("a link names at most {MAX_FILES_PER_LINK} files")));
        }
        Ok(())
    }

    /// Forgets a file (deleted); `false` when it was the last one it named.
    pub fn drop_file(&mut self, file_id: &str) -> bool {
        if self.file_id == file_id {
            if self.more.is_empty() {
                return false;
            }
            let next = self.more.remove(0);
            (self.file_id, self.list_id, self.r2_key) = (next.file_id, next.list_id, next.r2_key);
        } else {
            self.more.retain(|m| m.file_id != file_id);
        }
        true
    }

    /// The link as it leaves its object: without its password's hash.
    fn public(self) -> Link {
        Link { has_password: self.password.is_some() || self.has_password, password: None, ..self }
    }

    /// Where the link stands at `now`: revoked before expired before used up.
    pub fn state(&self, now: u64) -> LinkState {
        if self.revoked {
            LinkState::Revoked
        } else if now >= self.expires_at {
            LinkState::Expired
        } else if self.max_downloads.is_some_and(|max| self.downloads >= max) {
            LinkState::UsedUp
        } else {
            LinkState::Active
        }
    }
}

/// Whether a link still serves its file, and if not, why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Active,
    /// Its `max_downloads` have been made.
    UsedUp,
    Expired,
    Revoked,
}

impl LinkState {
    const ALL: [LinkState; 4] = [LinkState::Active, LinkState::UsedUp, LinkState::Expired, LinkState::Revoked];

    /// Its name in the native API's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Active => "active",
            LinkState::UsedUp => "used_up",
            LinkState::Expired => "expired",
            LinkState::Revoked => "revoked",
        }
    }

    /// What a link in this state answers a download: `410` with its reason (none when active).
    pub fn refusal(self) -> Option<Error> {
        let why = match self {
            LinkState::Active => return None,
            LinkState::UsedUp => LINK_EXHAUSTED,
            LinkState::Expired => LINK_EXPIRED,
            LinkState::Revoked => LINK_REVOKED,
        };
        Some(Error::Expired(why.into()))
    }

    /// The state a link's refusal names, if it is one (for the page that explains it).
    pub fn of_refusal(e: &Error) -> Option<LinkState> {
        LinkState::ALL.into_iter().find(|s| s.refusal().as_ref() == Some(e))
    }
}

/// Wrong passwords in a row, and when the last was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    pub count: u32,
    pub last: u64,
}

impl Failures {
    /// When the next attempt may be made (`None`: now).
    pub fn next_allowed(&self) -> Option<u64> {
        let over = self.count.checked_sub(FREE_FAILURES)?;
        let wait = 1u64.checked_shl(over).unwrap_or(u64::MAX).min(MAX_BACKOFF_SECS);
        Some(self.last.saturating_add(wait * 1000))
    }
}

/// One request to a link's object or to a file's list of links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "share", rename_all = "snake_case")]
pub enum LinkCall {
    // a link's object
    Create {
        link: Link,
    },
    /// Checks the password (if the link has one) and, with `count`, counts a download.
    /// `client` names the caller for its own count of wrong passwords.
    Claim {
        #[serde(default)]
        password: Option<String>,
        count: bool,
        #[serde(default)]
        client: Option<String>,
        /// The place of the one file asked for: `404` past the last, before anything counts.
        #[serde(default)]
        file: Option<usize>,
        /// Counts only if the link names one file (the page's form, which for many files
        /// shows their page).
        #[serde(default)]
        one_only: bool,
    },
    /// The link as it stands, to its tenant.
    Peek {
        tenant: String,
    },
    Revoke {
        tenant: String,
    },
    /// Names more files, to its owner; a revoked link stays revoked (`410`).
    AddFiles {
        tenant: String,
        files: Vec<LinkedFile>,
    },
    /// Forgets a deleted file; revokes the link if it named no other.
    DropFile {
        tenant: String,
        file_id: String,
    },
    /// Changes what `change` names, to its owner; a revoked link stays revoked (`410`).
    Update {
        tenant: String,
        change: LinkChange,
    },
    // a file's list
    /// Lists a new link, which expires at `expires_at` (the list is forgotten with its last);
    /// for a link already listed, only makes the list live until `expires_at` at least.
    Add {
        tenant: String,
        token: String,
        expires_at: u64,
    },
    List {
        tenant: String,
    },
    Remove {
        token: String,
    },
    /// Forgets the list; answers the tokens it held (their links are to be revoked).
    Drop {
        tenant: String,
    },
}

/// What a change to a link sets, each part kept, set, or (where it can be) removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkChange {
    #[serde(default)]
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub max_downloads: Change<u64>,
    /// The new password's Argon2id hash.
    #[serde(default)]
    pub password: Change<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change<T> {
    #[default]
    Keep,
    Set(T),
    Remove,
}

impl<T> Change<T> {
    /// The value it sets, if it sets one.
    pub fn set(self) -> Option<T> {
        match self {
            Change::Set(v) => Some(v),
            Change::Keep | Change::Remove => None,
        }
    }

    /// `field` with this change made.
    pub fn apply(self, field: &mut Option<T>) {
        match self {
            Change::Keep => {}
            Change::Set(v) => *field = Some(v),
            Change::Remove => *field = None,
        }
    }
}

impl LinkChange {
    /// The link with this change made (its downloads, and wrong passwords, are kept).
    pub fn apply(self, mut link: Link) -> Link {
        if let Some(at) = self.expires_at {
            link.expires_at = at;
        }
        self.max_downloads.apply(&mut link.max_downloads);
        self.password.apply(&mut link.password);
        link.has_password = false; // told from the hash as the link leaves its object
        link
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "share", rename_all = "snake_case")]
pub enum LinkAnswer {
    Link { link: Link },
    Tokens { tokens: Vec<String> },
    Done,
}

fn parse<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::Internal(format!("link: {e}")))
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("link: {e}")))
}

/// Argon2id cost: OWASP's second configuration (19 MiB, 2 passes); tests pass a cheaper one.
#[derive(Debug, Clone, Copy)]
pub struct Kdf {
    pub memory_kib: u32,
    pub passes: u32,
}

pub const KDF: Kdf = Kdf { memory_kib: 19 * 1024, passes: 2 };

fn argon2(kdf: Kdf) -> Result<Argon2<'static>> {
    let params = Params::new(kdf.memory_kib, kdf.passes, 1, None).map_err(|e| Error::Internal(format!("kdf: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The stored form of a password: an Argon2id PHC string with a random 16-byte salt.
pub fn hash_password(password: &str, salt: [u8; 16], kdf: Kdf) -> Result<String> {
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    let hash =
        argon2(kdf)?.hash_password(password.as_bytes(), &salt).map_err(|e| Error::Internal(format!("kdf: {e}")))?;
    Ok(hash.to_string())
}

/// Does `password` match the stored hash (by the hash's own parameters)?
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    // the parameters are the hash's own; the default instance only supplies the algorithm list
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()
}

/// Serves one call against a link's object (or a file's list) at `now`.
pub async fn serve<L: LedgerStore>(store: &L, now: u64, call: LinkCall) -> Result<LinkAnswer> {
    match call {
        LinkCall::Create { link } => {
            if store.get(LINK_KEY).await?.is_some() {
                return Err(Error::Conflict("link exists".into()));
            }
            store.put(LINK_KEY, &json(&link)?).await?;
            Ok(LinkAnswer::Link { link: link.public() })
        }
        LinkCall::Claim { password, count, client, file, one_only } => {
            claim(store, now, password, Counting { count, file, one_only }, client).await
        }
        LinkCall::Peek { tenant } => Ok(LinkAnswer::Link { link: owned(store, &tenant).await?.public() }),
        LinkCall::Revoke { tenant } => {
            let mut link = owned(store, &tenant).await?;
            if !link.revoked {
                link.revoked = true;
                store.put(LINK_KEY, &json(&link)?).await?;
            }
            Ok(LinkAnswer::Link { link: link.public() })
        }
        LinkCall::AddFiles { tenant, files } => {
            let mut link = owned(store, &tenant).await?;
            if link.revoked {
                return Err(Error::Expired(LINK_REVOKED.into()));
            }
            link.add_files(files)?;
            store.put(LINK_KEY, &json(&link)?).await?;
            Ok(LinkAnswer::Link { link: link.public() })
        }
        LinkCall::DropFile { tenant, file_id } => {
            let mut link = owned(store, &tenant).await?;
            if !link.drop_file(&file_id) {
                link.revoked = true;
            }
            store.put(LINK_KEY, &json(&link)?).await?;
            Ok(LinkAnswer::Link { link: link.public() })
        }
        LinkCall::Update { tenant, change } => {
            let link = owned(store, &tenant).await?;
            if link.revoked {
                return Err(Error::Expired(LINK_REVOKED.into()));
            }
            let link = change.apply(link);
            store.put(LINK_KEY, &json(&link)?).await?;
            Ok(LinkAnswer::Link { link: link.public() })
        }
        LinkCall::Add { tenant, token, expires_at } => {
            check_list_owner(store, &tenant).await?;
            let key = format!("l:{token}");
            if store.get(&key).await?.is_none() {
                if store.list("l:").await?.len() >= MAX_LINKS_PER_FILE {
                    return Err(Error::Conflict(format!("a file has at most {MAX_LINKS_PER_FILE} links")));
                }
                store.put(&key, &now.to_string()).await?;
            }
            let until = store.get(UNTIL_KEY).await?.and_then(|u| u.parse::<u64>().ok()).unwrap_or(0);
            if expires_at > until {
                store.put(UNTIL_KEY, &expires_at.to_string()).await?;
            }
            Ok(LinkAnswer::Done)
        }
        LinkCall::List { tenant } => Ok(LinkAnswer::Tokens { tokens: listed(store, &tenant).await? }),
        LinkCall::Remove { token } => {
            store.delete(&format!("l:{token}")).await?;
            Ok(LinkAnswer::Done)
        }
        LinkCall::Drop { tenant } => {
            let tokens = listed(store, &tenant).await?;
            store.clear().await?;
            Ok(LinkAnswer::Tokens { tokens })
        }
    }
}

async fn check_list_owner<L: LedgerStore>(store: &L, tenant: &str) -> Result<()> {
    match store.get(TENANT_KEY).await? {
        Some(t) if t != tenant => Err(Error::not_found(LINK_NOT_FOUND)),
        Some(_) => Ok(()),
        None => store.put(TENANT_KEY, tenant).await,
    }
}

/// The tokens of a file's list, oldest first; none to another tenant.
async fn listed<L: LedgerStore>(store: &L, tenant: &str) -> Result<Vec<String>> {
    if store.get(TENANT_KEY).await?.is_some_and(|t| t != tenant) {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(u64, String)> = Vec::new();
    for (key, at) in store.list("l:").await? {
        rows.push((at.parse().unwrap_or(0), key.trim_start_matches("l:").to_string()));
    }
    rows.sort();
    Ok(rows.into_iter().map(|(_, t)| t).collect())
}

/// The link of this object if it is `tenant`'s (anyone else: `404`).
async fn owned<L: LedgerStore>(store: &L, tenant: &str) -> Result<Link> {
    let raw = store.get(LINK_KEY).await?.ok_or_else(|| Error::not_found(LINK_NOT_FOUND))?;
    let link: Link = parse(&raw)?;
    if link.tenant != tenant {
        return Err(Error::not_found(LINK_NOT_FOUND));
    }
    Ok(link)
}

/// Whether a claim counts a download.
#[derive(Debug, Clone, Copy, Default)]
struct Counting {
    count: bool,
    file: Option<usize>,
    one_only: bool,
}

async fn claim<L: LedgerStore>(
    store: &L,
    now: u64,
    password: Option<String>,
    counting: Counting,
    client: Option<String>,
) -> Result<LinkAnswer> {
    // an unknown token: one read, nothing hashed, nothing written
    let raw = store.get(LINK_KEY).await?.ok_or_else(|| Error::not_found(LINK_NOT_FOUND))?;
    let mut link: Link = parse(&raw)?;
    // a password is judged before the link's state, so a wrong one learns nothing of it
    if let (Some(given), Some(hash)) = (&password, &link.password) {
        let key = fails_key(store, client.as_deref()).await?;
        let fails: Failures = match store.get(&key).await? {
            Some(raw) => parse(&raw)?,
            None => Failures::default(),
        };
        if let Some(at) = fails.next_allowed().filter(|at| *at > now) {
            return Err(Error::TooManyRequests { retry_after: (at - now).div_ceil(1000) });
        }
        if !verify_password(given, hash) {
            let fails = Failures { count: fails.count.saturating_add(1), last: now };
            store.put(&key, &json(&fails)?).await?;
            store.put(LAST_FAIL_KEY, &now.to_string()).await?;
            return Err(Error::Forbidden(WRONG_PASSWORD.into()));
        }
        if fails.count > 0 {
            store.delete(&key).await?;
        }
    }
    // a link that cannot serve says why, password or not (rather than ask for one in vain)
    if let Some(refused) = link.state(now).refusal() {
        return Err(refused);
    }
    if link.password.is_some() && password.is_none() {
        return Err(Error::PasswordRequired);
    }
    if counting.file.is_some_and(|i| i > link.more.len()) {
        return Err(Error::not_found("no such file in this link"));
    }
    if counting.count && (!counting.one_only || link.more.is_empty()) {
        link.downloads += 1;
        store.put(LINK_KEY, &json(&link)?).await?;
    }
    Ok(LinkAnswer::Link { link: link.public() })
}

/// The key of a client's count of wrong passwords: its own while the link remembers fewer
/// than [`MAX_CLIENTS`], else the one shared by the rest.
async fn fails_key<L: LedgerStore>(store: &L, client: Option<&str>) -> Result<String> {
    let own = format!("{FAILS_PREFIX}{}", client.unwrap_or(OTHERS));
    if store.get(&own).await?.is_some() || store.list(FAILS_PREFIX).await?.len() < MAX_CLIENTS {
        Ok(own)
    } else {
        Ok(format!("{FAILS_PREFIX}{OTHERS}"))
    }
}

/// When a link's object may forget everything: its link's expiry plus `grace` (during which
/// it answers `410`), and not before an hour after the last wrong password; a file's list of
/// links when the last of them is forgotten. `None`: nothing to forget.
pub async fn forget_at<L: LedgerStore>(store: &L, grace_secs: u64) -> Result<Option<u64>> {
    if let Some(raw) = store.get(LINK_KEY).await? {
        let link: Link = parse(&raw)?;
        let forget = link.expires_at.saturating_add(grace_secs.saturating_mul(1000));
        return Ok(Some(match store.get(LAST_FAIL_KEY).await?.and_then(|l| l.parse::<u64>().ok()) {
            // wrong passwords are remembered for a while even past the link's end
            Some(last) => forget.max(last.saturating_add(FAILURES_REMEMBERED_MS)),
            None => forget,
        }));
    }
    let until = store.get(UNTIL_KEY).await?.and_then(|u| u.parse::<u64>().ok());
    Ok(until.map(|u| u.saturating_add(grace_secs.saturating_mul(1000))))
}

/// Does this call leave something its object must forget later?
pub fn schedules(call: &LinkCall) -> bool {
    matches!(call, LinkCall::Create { .. } | LinkCall::Update { .. } | LinkCall::Add { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::MemoryLedger;
    use futures_executor::block_on;

    const CHEAP: Kdf = Kdf { memory_kib: 64, passes: 1 };

    fn link(max: Option<u64>, password: Option<&str>) -> Link {
        Link {
            tenant: "acme".into(),
            file_id: "f1".into(),
            list_id: "f1".into(),
            r2_key: "f/f1".into(),
            created_at: 1_000,
            expires_at: 100_000,
            max_downloads: max,
            downloads: 0,
            password: password.map(|p| hash_password(p, [7; 16], CHEAP).unwrap()),
            has_password: false,
            revoked: false,
            notify: false,
            more: Vec::new(),
        }
    }

    fn call(store: &MemoryLedger, now: u64, c: LinkCall) -> Result<LinkAnswer> {
        block_on(serve(store, now, c))
    }

    fn claim(store: &MemoryLedger, now: u64, password: Option<&str>) -> Result<u64> {
        claim_by(store, now, password, "1.2.3.4")
    }

    fn claim_by(store: &MemoryLedger, now: u64, password: Option<&str>, client: &str) -> Result<u64> {
        let call_ = LinkCall::Claim {
            password: password.map(str::to_string),
            count: true,
            client: Some(client.into()),
            file: None,
            one_only: false,
        };
        match call(store, now, call_)? {
            LinkAnswer::Link { link } => {
                assert!(link.password.is_none(), "the hash never leaves the object");
                Ok(link.downloads)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn downloads_are_counted_to_the_limit() {
        let store = MemoryLedger::default();
        call(&store, 1_000, LinkCall::Create { link: link(Some(3), None) }).unwrap();
        assert_eq!(claim(&store, 2_000, None), Ok(1));
        assert_eq!(claim(&store, 2_000, None), Ok(2));
        // a look that does not count
        let peek = call(
            &store,
            2_000,
            LinkCall::Claim { password: None, count: false, client: None, file: None, one_only: false },
        )
        .unwrap();
        assert!(matches!(peek, LinkAnswer::Link { link } if link.downloads == 2));
        assert_eq!(claim(&store, 2_000, None), Ok(3), "the last allowed download");
        assert_eq!(claim(&store, 2_000, None), Err(Error::Expired(LINK_EXHAUSTED.into())));
        assert_eq!(claim(&store, 2_000, None), Err(Error::Expired(LINK_EXHAUSTED.into())));
        assert!(call(&store, 1_000, LinkCall::Create { link: link(None, None) }).is_err(), "never created twice");
    }

    #[test]
    fn links_expire_and_are_revoked_by_their_tenant_only() {
        let store = MemoryLedger::default();
        call(&store, 1_000, LinkCall::Create { link: link(None, None) }).unwrap();
        assert_eq!(claim(&store, 99_999, None), Ok(1));
        assert_eq!(claim(&store, 100_000, None), Err(Error::Expired(LINK_EXPIRED.into())));
        let store = MemoryLedger::default();
        call(&store, 1_000, LinkCall::Create { link: link(None, None) }).unwrap();
        let other = call(&store, 2_000, LinkCall::Revoke { tenant: "bobco".into() });
        assert_eq!(other, Err(Error::not_found(LINK_NOT_FOUND)));
        assert!(call(&store, 2_000, LinkCall::Peek { tenant: "bobco".into() }).is_err());
        assert_eq!(claim(&store, 2_000, None), Ok(1));
        call(&store, 2_000, LinkCall::Revoke { tenant: "acme".into() }).unwrap();
        assert_eq!(claim(&store, 2_000, None), Err(Error::Expired(LINK_REVOKED.into())));
        assert_eq!(block_on(forget_at(&store, 60)), Ok(Some(160_000)));
        // an object that never had a link
        assert_eq!(claim(&MemoryLedger::default(), 2_000, None), Err(Error::not_found(LINK_NOT_FOUND)));
    }

    #[test]
    fn a_links_state_and_its_refusal() {
        let l = link(Some(2), None);
        assert_eq!(l.state(99_999), LinkState::Active);
        assert_eq!(Link { downloads: 2, ..l.clone() }.state(99_999), LinkState::UsedUp);
        assert_eq!(Link { downloads: 2, ..l.clone() }.state(100_000), LinkState::Expired, "expired first");
        assert_eq!(Link { revoked: true, downloads: 2, ..l.clone() }.state(100_000), LinkState::Revoked);
        assert_eq!(link(None, None).state(99_999), LinkState::Active, "no limit");
        for state in LinkState::ALL {
            match state.refusal() {
                None => assert_eq!(state, LinkState::Active),
                Some(e) => {
                    assert_eq!(e.status(), 410);
                    assert_eq!(LinkState::of_refusal(&e), Some(state), "{e:?}");
                }
            }
        }
        assert_eq!(LinkState::of_refusal(&Error::Expired("file expired".into())), None);
        // a used-up link with a password says so, rather than ask for the password
        let store = MemoryLedger::default();
        call(&store, 1_000, LinkCall::Create { link: link(Some(1), Some("pw")) }).unwrap();
        assert_eq!(claim(&store, 2_000, Some("pw")), Ok(1));
        assert_eq!(claim(&store, 2_000, None), Err(Error::Expired(LINK_EXHAUSTED.into())));
        assert_eq!(claim(&store, 2_000, Some("wrong")), Err(Error::Forbidden(WRONG_PASSWORD.into())), "judged first");
    }

    #[test]
    fn passwords_are_hashed_checked_and_guesses_slowed_down() {
        let store = MemoryLedger::default();
        let l = link(Some(10), Some("s3cret"));
        assert!(l.password.as_deref().unwrap().starts_with("$argon2id$"));
        assert!(!l.password.as_deref().unwrap().contains("s3cret"));
        call(&store, 1_000, LinkCall::Create { link: l }).unwrap();
        assert_eq!(claim(&store, 2_000, None), Err(Error::PasswordRequired));
        assert_eq!(claim(&store, 2_000, Some("s3cret")), Ok(1));
        let wrong = Err(Error::Forbidden(WRONG_PASSWORD.into()));
        let mut t = 3_000;
        for _ in 0..FREE_FAILURES {
            assert_eq!(claim(&store, t, Some("guess")), wrong);
        }
        // now each attempt waits: 1 s, then 2 s, ...
        for wait in [1u64, 2, 4] {
            assert_eq!(claim(&store, t, Some("s3cret")), Err(Error::TooManyRequests { retry_after: wait }));
            t += wait * 1000;
            assert_eq!(claim(&store, t, Some("guess")), wrong, "allowed again after {wait} s");
        }
        assert_eq!(claim(&store, t + 8_000, Some("s3cret")), Ok(2), "the right password resets the count");
        assert_eq!(claim(&store, t + 8_000, Some("guess")), wrong);
        assert_eq!(claim(&store, t + 8_000, Some("s3cret")), Ok(3));
    }

    #[test]
    fn an_unknown_token_costs_one_read_and_writes_nothing() {
        let empty = MemoryLedger::default();
        for password in [None, Some("guess"), Some("guess"), Some("guess"), Some("guess")] {
            assert_eq!(claim(&empty, 2_000, password), Err(Error::not_found(LINK_NOT_FOUND)), "never a 429");
        }
        assert!(block_on(empty.list("")).unwrap().is_empty(), "nothing written");
        assert_eq!(block_on(forget_at(&empty, 60)), Ok(None), "no alarm to set");
        let claim_call =
            LinkCall::Claim { password: Some("x".into()), count: true, client: None, file: None, one_only: false };
        assert!(!schedules(&claim_call), "a claim schedules nothing");
    }

    #[test]
    fn wrong_passwords_slow_down_their_own_client_only() {
        let store = MemoryLedger::default();
        let long = Link { expires_at: 86_400_000, ..link(None, Some("right")) };
        call(&store, 1_000, LinkCall::Create { link: long }).unwrap();
        let wrong = Err(Error::Forbidden(WRONG_PASSWORD.into()));
        for _ in 0..FREE_FAILURES {
            assert_eq!(claim_by(&store, 2_000, Some("guess"), "6.6.6.6"), wrong);
        }
        assert_eq!(claim_by(&store, 2_000, Some("right"), "6.6.6.6"), Err(Error::TooManyRequests { retry_after: 1 }));
        // the link's recipients are not locked out by someone else's guesses
        assert_eq!(claim_by(&store, 2_000, Some("right"), "1.2.3.4"), Ok(1));
        // one wrong try every five minutes from the guesser still leaves them alone
        for t in 1..5u64 {
            let _ = claim_by(&store, 2_000 + t * 300_000, Some("guess"), "6.6.6.6");
            assert_eq!(claim_by(&store, 2_000 + t * 300_000, Some("right"), "1.2.3.4"), Ok(1 + t));
        }
        // wrong passwords are remembered an hour after the last, even past the link's end
        let last = 2_000 + 4 * 300_000;
        assert_eq!(block_on(forget_at(&store, 0)), Ok(Some(86_400_000)), "the link outlives them");
        let short = MemoryLedger::default();
        call(&short, 1_000, LinkCall::Create { link: link(None, Some("right")) }).unwrap();
        assert_eq!(claim_by(&short, last, Some("guess"), "6.6.6.6"), wrong);
        assert_eq!(block_on(forget_at(&short, 0)), Ok(Some(last + FAILURES_REMEMBERED_MS)), "they outlive the link");
    }

    #[test]
    fn many_clients_cannot_fill_a_links_object() {
        let store = MemoryLedger::default();
        call(&store, 1_000, LinkCall::Create { link: link(None, Some("right")) }).unwrap();
        for i in 0..MAX_CLIENTS + 50 {
            let _ = claim_by(&store, 2_000, Some("guess"), &format!("c{i}"));
        }
        assert!(block_on(store.list(FAILS_PREFIX)).unwrap().len() <= MAX_CLIENTS + 1);
        // the ones past the cap share one count
        for i in MAX_CLIENTS + 50..MAX_CLIENTS + 60 {
            let _ = claim_by(&store, 2_000, Some("guess"), &format!("c{i}"));
        }
        let late = claim_by(&store, 2_000, Some("right"), "c99999");
        assert!(matches!(late, Err(Error::TooManyRequests { .. })), "{late:?}");
        assert_eq!(claim_by(&store, 2_000, Some("right"), "c1"), Ok(1), "a client with a count of its own");
    }

    #[test]
    fn passwords_verify_by_their_own_parameters() {
        assert!(verify_password("pw", &hash_password("pw", [1; 16], CHEAP).unwrap()));
        assert!(!verify_password("px", &hash_password("pw", [1; 16], CHEAP).unwrap()));
        assert!(!verify_password("pw", "not a hash"));
    }

    #[test]
    fn a_files_list_holds_its_tokens_for_its_tenant() {
        let store = MemoryLedger::default();
        let add = |t: &str, tenant: &str, now: u64| {
            let expires_at = 100 * now;
            call(&store, now, LinkCall::Add { tenant: tenant.into(), token: t.into(), expires_at })
        };
        add("b", "acme", 2).unwrap();
        add("a", "acme", 3).unwrap();
        assert_eq!(block_on(forget_at(&store, 1)), Ok(Some(1_300)), "forgotten with its last link");
        assert!(add("c", "bobco", 4).is_err(), "another tenant's file");
        let list = |tenant: &str| call(&store, 5, LinkCall::List { tenant: tenant.into() });
        assert_eq!(list("acme"), Ok(LinkAnswer::Tokens { tokens: vec!["b".into(), "a".into()] }), "oldest first");
        assert_eq!(list("bobco"), Ok(LinkAnswer::Tokens { tokens: vec![] }));
        call(&store, 6, LinkCall::Remove { token: "b".into() }).unwrap();
        let dropped = call(&store, 7, LinkCall::Drop { tenant: "acme".into() });
        assert_eq!(dropped, Ok(LinkAnswer::Tokens { tokens: vec!["a".into()] }));
        assert_eq!(list("acme"), Ok(LinkAnswer::Tokens { tokens: vec![] }));
        assert!(is_token(&"A".repeat(32)) && !is_token(&"A".repeat(31)) && !is_token(&format!("{}/", "A".repeat(31))));
    }

    /// A link's owner changes its expiry, limit and password; its downloads are kept, nobody
    /// else can change it, and a revoked link stays revoked.
    #[test]
    fn a_link_is_changed_by_its_owner_only() {
        let store = MemoryLedger::default();
        call(&store, 1_000, LinkCall::Create { link: link(Some(1), None) }).unwrap();
        assert_eq!(claim(&store, 2_000, None), Ok(1));
        assert_eq!(claim(&store, 2_000, None), Err(Error::Expired(LINK_EXHAUSTED.into())));
        let update = |tenant: &str, change: LinkChange| match call(
            &store,
            3_000,
            LinkCall::Update { tenant: tenant.into(), change },
        )? {
            LinkAnswer::Link { link } => Ok(link),
            other => panic!("{other:?}"),
        };
        let more = LinkChange { max_downloads: Change::Set(3), ..LinkChange::default() };
        assert_eq!(update("bobco", more.clone()), Err(Error::not_found(LINK_NOT_FOUND)));
        let l = update("acme", more).unwrap();
        assert_eq!((l.max_downloads, l.downloads, l.state(3_000)), (Some(3), 1, LinkState::Active));
        assert_eq!(claim(&store, 4_000, None), Ok(2), "used up no more");
        // a password set, then removed; the hash never leaves the object
        let pw = hash_password("new", [3; 16], CHEAP).unwrap();
        let l = update("acme", LinkChange { password: Change::Set(pw), ..LinkChange::default() }).unwrap();
        assert!(l.has_password && l.password.is_none());
        assert_eq!(claim(&store, 4_000, None), Err(Error::PasswordRequired));
        assert_eq!(claim(&store, 4_000, Some("new")), Ok(3));
        let l = update(
            "acme",
            LinkChange { password: Change::Remove, max_downloads: Change::Remove, ..LinkChange::default() },
        )
        .unwrap();
        assert!(!l.has_password && l.max_downloads.is_none());
        assert_eq!(claim(&store, 4_000, None), Ok(4), "no password, no limit");
        // a later expiry: the object is forgotten later too
        let l = update("acme", LinkChange { expires_at: Some(500_000), ..LinkChange::default() }).unwrap();
        assert_eq!((l.expires_at, l.max_downloads, l.has_password), (500_000, None, false), "the rest kept");
        assert_eq!(claim(&store, 200_000, None), Ok(5));
        assert_eq!(block_on(forget_at(&store, 60)), Ok(Some(560_000)));
        assert!(schedules(&LinkCall::Update { tenant: "acme".into(), change: LinkChange::default() }));
        call(&store, 5_000, LinkCall::Revoke { tenant: "acme".into() }).unwrap();
        let again = update("acme", LinkChange { expires_at: Some(900_000), ..LinkChange::default() });
        assert_eq!(again, Err(Error::Expired(LINK_REVOKED.into())));
        assert_eq!(claim(&store, 6_000, None), Err(Error::Expired(LINK_REVOKED.into())));
    }

    /// Adding a link already listed only extends the list's life: its place and the count of
    /// links stay as they were.
    #[test]
    fn a_listed_link_added_again_extends_its_list() {
        let store = MemoryLedger::default();
        let add = |t: &str, now: u64, expires_at: u64| {
            call(&store, now, LinkCall::Add { tenant: "acme".into(), token: t.into(), expires_at })
        };
        for i in 0..MAX_LINKS_PER_FILE as u64 {
            add(&format!("t{i:03}"), 10 + i, 1_000).unwrap();
        }
        assert!(add("one-more", 500, 1_000).is_err(), "full");
        add("t000", 600, 9_000).unwrap();
        assert_eq!(block_on(forget_at(&store, 1)), Ok(Some(10_000)), "the list lives as long as its longest link");
        let LinkAnswer::Tokens { tokens } = call(&store, 700, LinkCall::List { tenant: "acme".into() }).unwrap() else {
            panic!()
        };
        assert_eq!((tokens.len(), tokens[0].as_str()), (MAX_LINKS_PER_FILE, "t000"), "still first, not added twice");
    }
}
