//! A tenant's ledger (its "account"): one strongly consistent object per tenant that holds,
//! each change in one atomic write, what KV used to spread over several keys: the listing of
//! its live files, its digest index, the schedule of their expiry, its usage and quota, and
//! the reservations of the uploads in progress. Pure logic over [`LedgerStore`]; the object
//! (a Durable Object in the worker) runs one call at a time, so check and write never race.
//!
//! Keys: `account` (whose account it is), `f:{list id}` (a live file, [`Listed`]),
//! `x:{expires_at}:{list id}` (its expiry, in time order), `d:{sha256}` ([`IndexEntry`]),
//! `u` ([`Usage`]), `q` ([`Quota`]), `r:{id}` ([`Reservation`]); and the webhook endpoints
//! and the outbox ([`outbox`]), whose events are queued in the same write as the change
//! they tell of.
//!
//! Quotas are exact under concurrency: an upload reserves its size (declared, or the most it
//! may store when it declares none) before its first byte, against the bytes stored plus
//! those reserved; publishing the file settles the reservation at the file's size; a
//! reservation released (the upload failed, was aborted) or lapsed frees what it held.

use serde::{Deserialize, Serialize};

use super::index::{self, IndexEntry};
use super::listed::Listed;
use super::tally::Counters;
use crate::engine::events::outbox::{self, Endpoint};
use crate::engine::file::ids::iso8601_ms;
use crate::error::{Error, Result};
use crate::store::object::LedgerStore;

/// Whose account it is; a key no other kind of ledger object writes (a link's list of links
/// keeps a `tenant`), so that the object's alarm knows it serves an account.
const TENANT: &str = "account";
const USAGE: &str = "u";
const COUNTERS: &str = "c";
/// When the files KV listed for the tenant before accounts were imported.
const IMPORTED: &str = "imported";
const QUOTA: &str = "q";
/// How many files a listing page holds at most.
pub const PAGE: usize = 1000;

/// What an operator allows a tenant; `None`: no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uploads_in_progress: Option<u64>,
}

impl Quota {
    fn is_unlimited(&self) -> bool {
        *self == Quota::default()
    }
}

/// What a tenant's live files take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub bytes: u64,
    pub files: u64,
}

/// Room held for an upload in progress until it is published or released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub bytes: u64,
    /// When it lapses if nothing settles or releases it.
    pub until: u64,
    /// The file it will publish, as far as known at the start: if the upload's answer is
    /// lost after its bytes were stored, the object publishes it from this when the
    /// reservation lapses (its journal entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Listed>,
}

/// Usage, reservations and quota, as `GET /v1/usage` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub bytes: u64,
    pub files: u64,
    pub uploads_in_progress: u64,
    pub reserved_bytes: u64,
    pub quota: Quota,
    /// What its requests did, as counted so far ([`super::tally`]).
    #[serde(default)]
    pub counters: Counters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "account", rename_all = "snake_case")]
pub enum AccountCall {
    /// Holds room for upload `id` (its size if `bytes` says it, else as much as it may
    /// store); `413` if the quota has none.
    Reserve {
        tenant: String,
        id: String,
        bytes: Option<u64>,
        until: u64,
        file: Option<Listed>,
    },
    /// Lists a stored file (or a changed one), counts it, schedules its expiry, indexes its
    /// digest, and settles its reservation.
    Publish {
        tenant: String,
        file: Listed,
        reservation: Option<String>,
    },
    /// Frees an upload's reservation (`aborted`: a resumable upload given up, which its
    /// webhooks hear of).
    Release {
        id: String,
        #[serde(default)]
        aborted: bool,
    },
    /// Forgets file `id` listed as `list_id` (deleted, or expired); answers it if it was.
    Remove {
        list_id: String,
        id: String,
        #[serde(default)]
        expired: bool,
    },
    /// Queues an event for the webhooks (a share link's).
    Emit {
        kind: String,
        data: serde_json::Value,
    },
    AddWebhook {
        tenant: String,
        endpoint: Endpoint,
    },
    ListWebhooks,
    DeleteWebhook {
        id: String,
    },
    Deliveries {
        id: String,
    },
    Replay {
        id: String,
    },
    Get {
        list_id: String,
    },
    List {
        after: Option<String>,
    },
    Digest {
        sha256: String,
    },
    Usage,
    SetQuota {
        tenant: String,
        quota: Quota,
    },
    /// Adds an isolate's counts of the tenant's requests.
    AddCounters {
        counters: Counters,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "account", rename_all = "snake_case")]
pub enum AccountAnswer {
    /// The most the upload may store (`None`: no limit), and the endpoint to ask before it
    /// starts, if the tenant registered one.
    Reserved {
        allowance: Option<u64>,
        #[serde(default)]
        hook: Option<Endpoint>,
    },
    Done,
    File {
        file: Option<Listed>,
    },
    Page {
        files: Vec<Listed>,
        cursor: Option<String>,
    },
    Index {
        entry: Option<IndexEntry>,
    },
    Usage(Report),
    Webhook {
        endpoint: Endpoint,
    },
    Webhooks {
        endpoints: Vec<Endpoint>,
    },
    Deliveries {
        deliveries: Vec<(outbox::Event, outbox::Delivery)>,
    },
    Replayed {
        n: u64,
    },
    /// The events some endpoint subscribes to.
    Listening {
        kinds: Vec<String>,
    },
}

fn file_key(list_id: &str) -> String {
    format!("f:{list_id}")
}

fn expiry_key(at: u64, list_id: &str) -> String {
    format!("x:{at:015}:{list_id}")
}

fn digest_key(sha256: &str) -> String {
    format!("d:{sha256}")
}

fn reservation_key(id: &str) -> String {
    format!("r:{id}")
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

async fn read<L: LedgerStore, T: serde::de::DeserializeOwned>(store: &L, key: &str) -> Result<Option<T>> {
    Ok(store.get(key).await?.and_then(|raw| serde_json::from_str(&raw).ok()))
}

/// Serves one call at `now`.
pub async fn serve<L: LedgerStore>(store: &L, now: u64, call: AccountCall) -> Result<AccountAnswer> {
    use AccountAnswer as A;
    match call {
        AccountCall::Reserve { tenant, id, bytes, until, file } => {
            let allowance = reserve(store, now, &tenant, &id, bytes, until, file).await?;
            Ok(A::Reserved { allowance, hook: outbox::pre_create(store).await? })
        }
        AccountCall::Publish { tenant, file, reservation } => {
            publish(store, now, &tenant, file, reservation.as_deref()).await.map(|_| A::Done)
        }
        AccountCall::Release { id, aborted } => release(store, now, &id, aborted).await.map(|_| A::Done),
        AccountCall::Remove { list_id, id, expired } => {
            remove(store, now, &[(list_id, id)], expired).await.map(|mut gone| A::File { file: gone.pop() })
        }
        AccountCall::Emit { kind, data } => {
            let mut puts = Vec::new();
            outbox::enqueue(store, now, vec![(kind.as_str(), data)], &mut puts).await?;
            store.write(&puts, &[]).await?;
            let mut kinds: Vec<String> = outbox::endpoints(store).await?.into_iter().flat_map(|e| e.events).collect();
            kinds.sort();
            kinds.dedup();
            Ok(A::Listening { kinds })
        }
        AccountCall::AddWebhook { tenant, endpoint } => {
            let endpoint = outbox::add(store, endpoint).await?;
            store.put(TENANT, &tenant).await?;
            Ok(A::Webhook { endpoint })
        }
        AccountCall::ListWebhooks => outbox::endpoints(store).await.map(|endpoints| A::Webhooks { endpoints }),
        AccountCall::DeleteWebhook { id } => outbox::remove(store, &id).await.map(|_| A::Done),
        AccountCall::Deliveries { id } => {
            outbox::deliveries(store, &id, 100).await.map(|deliveries| A::Deliveries { deliveries })
        }
        AccountCall::Replay { id } => outbox::replay(store, now, &id).await.map(|n| A::Replayed { n }),
        AccountCall::Get { list_id } => read(store, &file_key(&list_id)).await.map(|file| A::File { file }),
        AccountCall::List { after } => {
            list(store, after.as_deref()).await.map(|(files, cursor)| A::Page { files, cursor })
        }
        AccountCall::Digest { sha256 } => read(store, &digest_key(&sha256)).await.map(|entry| A::Index { entry }),
        AccountCall::Usage => report(store, now).await.map(A::Usage),
        AccountCall::AddCounters { counters } => {
            let mut total: Counters = read(store, COUNTERS).await?.unwrap_or_default();
            total.add(&counters);
            store.put(COUNTERS, &json(&total)).await.map(|_| A::Done)
        }
        AccountCall::SetQuota { tenant, quota } => {
            let puts = [(QUOTA.to_string(), json(&quota)), (TENANT.to_string(), tenant)];
            store.write(&puts, &[]).await.map(|_| A::Done)
        }
    }
}

/// Does this call change what the object's alarm must wake for (an expiry, a lapse, an
/// event to deliver)?
pub fn schedules(call: &AccountCall) -> bool {
    matches!(
        call,
        AccountCall::Reserve { .. }
            | AccountCall::Publish { .. }
            | AccountCall::Remove { .. }
            | AccountCall::Release { .. }
            | AccountCall::Emit { .. }
            | AccountCall::Replay { .. }
    )
}

/// A file as its webhooks describe it (its public description: never a key or a secret).
pub fn file_data(tenant: &str, f: &Listed) -> serde_json::Value {
    serde_json::json!({
        "id": f.list_id,
        "name": f.name,
        "size": f.size,
        "sha256": f.sha256,
        "content_type": f.content_type,
        "dialect": f.vendor,
        "tenant": tenant,
        "created_at": iso8601_ms(f.created_at),
        "expires_at": f.expires_at.map(iso8601_ms),
    })
}

/// Frees reservation `id`; an aborted upload's webhooks hear of it.
async fn release<L: LedgerStore>(store: &L, now: u64, id: &str, aborted: bool) -> Result<()> {
    let key = reservation_key(id);
    let held: Option<Reservation> = read(store, &key).await?;
    let mut puts = Vec::new();
    if let (true, Some(r)) = (aborted, &held) {
        let tenant = tenant_of(store).await?.unwrap_or_default();
        let mut data = serde_json::json!({"upload_id": id, "tenant": tenant});
        if let Some(f) = &r.file {
            data["name"] = f.name.clone().into();
            data["dialect"] = serde_json::to_value(f.vendor).unwrap_or_default();
        }
        outbox::enqueue(store, now, vec![("upload.aborted", data)], &mut puts).await?;
    }
    store.write(&puts, &[key]).await
}

/// The live reservations (not lapsed at `now`) and the lapsed ones.
async fn reservations<L: LedgerStore>(store: &L, now: u64) -> Result<(Vec<Reservation>, Vec<(String, Reservation)>)> {
    let (mut live, mut lapsed) = (Vec::new(), Vec::new());
    for (key, raw) in store.list("r:").await? {
        let Ok(r) = serde_json::from_str::<Reservation>(&raw) else { continue };
        match r.until > now {
            true => live.push(r),
            false => lapsed.push((key["r:".len()..].to_string(), r)),
        }
    }
    Ok((live, lapsed))
}

async fn reserve<L: LedgerStore>(
    store: &L,
    now: u64,
    tenant: &str,
    id: &str,
    bytes: Option<u64>,
    until: u64,
    file: Option<Listed>,
) -> Result<Option<u64>> {
    let quota: Quota = read(store, QUOTA).await?.unwrap_or_default();
    let key = reservation_key(id);
    if let Some(held) = read::<L, Reservation>(store, &key).await? {
        // the same upload asking again (a retried call): what it holds
        return Ok(Some(held.bytes).filter(|_| !quota.is_unlimited()));
    }
    let usage: Usage = read(store, USAGE).await?.unwrap_or_default();
    let (live, _) = reservations(store, now).await?;
    let refuse = |what: &str| Err(Error::QuotaExceeded(what.to_string()));
    if quota.max_uploads_in_progress.is_some_and(|max| live.len() as u64 >= max) {
        return refuse("too many uploads in progress");
    }
    if quota.max_files.is_some_and(|max| usage.files + live.len() as u64 >= max) {
        return refuse("file quota reached");
    }
    let reserved: u64 = live.iter().map(|r| r.bytes).sum();
    let room = quota.max_bytes.map(|max| max.saturating_sub(usage.bytes + reserved));
    let largest = match (room, quota.max_file_size) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let held = match (bytes, largest) {
        (Some(n), _) if quota.max_file_size.is_some_and(|max| n > max) => {
            return refuse("file larger than the tenant's largest file")
        }
        (Some(n), Some(room)) if n > room => return refuse("storage quota reached"),
        (Some(n), _) => n,
        (None, Some(0)) => return refuse("storage quota reached"),
        (None, Some(room)) => room,
        (None, None) => 0,
    };
    let puts = [(key, json(&Reservation { bytes: held, until, file })), (TENANT.to_string(), tenant.to_string())];
    store.write(&puts, &[]).await?;
    Ok(largest.map(|_| held))
}

async fn publish<L: LedgerStore>(
    store: &L,
    now: u64,
    tenant: &str,
    file: Listed,
    reservation: Option<&str>,
) -> Result<()> {
    let mut usage: Usage = read(store, USAGE).await?.unwrap_or_default();
    let (mut puts, mut deletes) = (Vec::new(), Vec::new());
    let old: Option<Listed> = read(store, &file_key(&file.list_id)).await?;
    // a file published before its digest is known is announced once it is
    let announced = old.as_ref().is_some_and(|o| !o.sha256.is_empty());
    if !announced && !file.sha256.is_empty() {
        outbox::enqueue(store, now, vec![("file.created", file_data(tenant, &file))], &mut puts).await?;
    }
    if old.is_none() {
        let mut counters: Counters = read(store, COUNTERS).await?.unwrap_or_default();
        counters.uploads += 1;
        puts.push((COUNTERS.to_string(), json(&counters)));
    }
    if let Some(old) = &old {
        usage.bytes = usage.bytes.saturating_sub(old.size);
        usage.files = usage.files.saturating_sub(1);
        if let Some(at) = old.expires_at {
            deletes.push(expiry_key(at, &old.list_id));
        }
        if old.id != file.id || old.sha256 != file.sha256 {
            unindex(store, old, &mut deletes).await?;
        }
    }
    usage.bytes += file.size;
    usage.files += 1;
    if let Some(at) = file.expires_at {
        let key = expiry_key(at, &file.list_id);
        deletes.retain(|k| *k != key);
        puts.push((key, file.list_id.clone()));
    }
    index(store, now, tenant, &file, &mut puts, &mut deletes).await?;
    if let Some(id) = reservation {
        deletes.push(reservation_key(id));
    }
    puts.push((file_key(&file.list_id), json(&file)));
    puts.push((USAGE.to_string(), json(&usage)));
    puts.push((TENANT.to_string(), tenant.to_string()));
    store.write(&puts, &deletes).await
}

/// Points the digest index at `file` (puts of the caller's write) unless the file it names,
/// as stored or as this write already puts it, lives at least as long ([`index::replaces`]).
async fn index<L: LedgerStore>(
    store: &L,
    now: u64,
    tenant: &str,
    file: &Listed,
    puts: &mut Vec<(String, String)>,
    deletes: &mut Vec<String>,
) -> Result<()> {
    if file.sha256.is_empty() {
        return Ok(());
    }
    let key = digest_key(&file.sha256);
    let entry = index_entry(tenant, file);
    let pending = puts.iter().position(|(k, _)| *k == key);
    let current = match pending {
        Some(i) => IndexEntry::parse(&puts[i].1),
        None => read(store, &key).await?,
    };
    if index::replaces(current.as_ref(), &entry, now) {
        puts.retain(|(k, _)| *k != key);
        deletes.retain(|k| *k != key);
        puts.push((key, entry.to_json()));
    }
    Ok(())
}

/// A file's entry in the digest index.
fn index_entry(tenant: &str, file: &Listed) -> IndexEntry {
    let key = Some(file.r2_key.clone()).filter(|k| *k != crate::engine::file::keys::object(&file.id));
    IndexEntry { id: file.id.clone(), expires_at: file.expires_at, tenant: Some(tenant.to_string()), key }
}

/// Drops `file`'s digest index entry if it names it.
async fn unindex<L: LedgerStore>(store: &L, file: &Listed, deletes: &mut Vec<String>) -> Result<()> {
    let key = digest_key(&file.sha256);
    if read::<L, IndexEntry>(store, &key).await?.is_some_and(|e| e.id == file.id) {
        deletes.push(key);
    }
    Ok(())
}

/// Forgets files (deleted, or `expired`): each `(list id, id)` whose listed file is that one;
/// their webhooks hear of it. Answers those it forgot.
pub async fn remove<L: LedgerStore>(
    store: &L,
    now: u64,
    files: &[(String, String)],
    expired: bool,
) -> Result<Vec<Listed>> {
    let mut usage: Usage = read(store, USAGE).await?.unwrap_or_default();
    let tenant = tenant_of(store).await?.unwrap_or_default();
    let (mut deletes, mut gone, mut events) = (Vec::new(), Vec::new(), Vec::new());
    for (list_id, id) in files {
        let Some(file) = read::<L, Listed>(store, &file_key(list_id)).await?.filter(|f| f.id == *id) else { continue };
        usage.bytes = usage.bytes.saturating_sub(file.size);
        usage.files = usage.files.saturating_sub(1);
        deletes.push(file_key(list_id));
        if let Some(at) = file.expires_at {
            deletes.push(expiry_key(at, list_id));
        }
        unindex(store, &file, &mut deletes).await?;
        events.push((if expired { "file.expired" } else { "file.deleted" }, file_data(&tenant, &file)));
        gone.push(file);
    }
    if !gone.is_empty() {
        let mut puts = vec![(USAGE.to_string(), json(&usage))];
        outbox::enqueue(store, now, events, &mut puts).await?;
        store.write(&puts, &deletes).await?;
    }
    Ok(gone)
}

/// One page of files, in list id order, after `after` (a page's cursor).
async fn list<L: LedgerStore>(store: &L, after: Option<&str>) -> Result<(Vec<Listed>, Option<String>)> {
    let after = after.map(file_key);
    let page = store.list_page("f:", after.as_deref(), PAGE).await?;
    let cursor = match page.len() == PAGE {
        true => page.last().map(|(k, _)| k["f:".len()..].to_string()),
        false => None,
    };
    let files = page.iter().filter_map(|(_, raw)| serde_json::from_str(raw).ok()).collect();
    Ok((files, cursor))
}

async fn report<L: LedgerStore>(store: &L, now: u64) -> Result<Report> {
    let usage: Usage = read(store, USAGE).await?.unwrap_or_default();
    let (live, _) = reservations(store, now).await?;
    Ok(Report {
        bytes: usage.bytes,
        files: usage.files,
        uploads_in_progress: live.len() as u64,
        reserved_bytes: live.iter().map(|r| r.bytes).sum(),
        quota: read(store, QUOTA).await?.unwrap_or_default(),
        counters: read(store, COUNTERS).await?.unwrap_or_default(),
    })
}

/// Has the account imported what KV listed of its tenant's files before accounts?
pub async fn imported<L: LedgerStore>(store: &L) -> Result<bool> {
    Ok(store.get(IMPORTED).await?.is_some())
}

/// Imports files KV listed before accounts (one page of them): each not listed yet and not
/// expired is listed, counted, scheduled and indexed by its digest, with no event.
pub async fn import<L: LedgerStore>(store: &L, now: u64, tenant: &str, files: Vec<Listed>) -> Result<()> {
    let mut usage: Usage = read(store, USAGE).await?.unwrap_or_default();
    let (mut puts, mut deletes) = (Vec::new(), Vec::new());
    for file in files.into_iter().filter(|f| f.expires_at.is_none_or(|at| at > now)) {
        if store.get(&file_key(&file.list_id)).await?.is_some() {
            continue;
        }
        usage.bytes += file.size;
        usage.files += 1;
        if let Some(at) = file.expires_at {
            puts.push((expiry_key(at, &file.list_id), file.list_id.clone()));
        }
        index(store, now, tenant, &file, &mut puts, &mut deletes).await?;
        puts.push((file_key(&file.list_id), json(&file)));
    }
    puts.push((USAGE.to_string(), json(&usage)));
    puts.push((TENANT.to_string(), tenant.to_string()));
    store.write(&puts, &deletes).await
}

/// Marks the import done (the tenant's account is then authoritative).
pub async fn import_done<L: LedgerStore>(store: &L, now: u64) -> Result<()> {
    store.put(IMPORTED, &now.to_string()).await
}

/// Whose account the object is, once it has been used.
pub async fn tenant_of<L: LedgerStore>(store: &L) -> Result<Option<String>> {
    store.get(TENANT).await
}

/// Up to `limit` files whose expiry has come at `now`, soonest first.
pub async fn due<L: LedgerStore>(store: &L, now: u64, limit: usize) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    for (key, list_id) in store.list_page("x:", None, limit).await? {
        if expiry_time(&key).is_none_or(|at| at > now) {
            break;
        }
        match read::<L, Listed>(store, &file_key(&list_id)).await? {
            Some(file) => out.push(file),
            // a schedule entry whose file is gone: drop it
            None => store.delete(&key).await?,
        }
    }
    Ok(out)
}

/// The reservations that lapsed by `now`, with their ids.
pub async fn lapsed<L: LedgerStore>(store: &L, now: u64) -> Result<Vec<(String, Reservation)>> {
    Ok(reservations(store, now).await?.1)
}

fn expiry_time(key: &str) -> Option<u64> {
    key.strip_prefix("x:")?.split(':').next()?.parse().ok()
}

/// When the object must wake next: its soonest expiry, lapse or delivery, if any.
pub async fn next_alarm<L: LedgerStore>(store: &L) -> Result<Option<u64>> {
    let expiry = store.list_page("x:", None, 1).await?.first().and_then(|(k, _)| expiry_time(k));
    let (live, lapsed) = reservations(store, 0).await?;
    let lapse = live.iter().chain(lapsed.iter().map(|(_, r)| r)).map(|r| r.until).min();
    Ok([expiry, lapse, outbox::next_at(store).await?].into_iter().flatten().min())
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;

    use super::*;
    use crate::engine::file::record::{FileRecord, Vendor};
    use crate::store::memory::MemoryLedger;

    fn file(id: &str, size: u64, sha: &str, expires_at: Option<u64>) -> Listed {
        let r = FileRecord {
            size,
            sha256: sha.into(),
            expires_at,
            ..FileRecord::new(id, "acme", Vendor::Tus, &format!("f/{id}"))
        };
        Listed::of(&r)
    }

    fn call(store: &MemoryLedger, now: u64, call: AccountCall) -> Result<AccountAnswer> {
        block_on(serve(store, now, call))
    }

    fn reserve(store: &MemoryLedger, id: &str, bytes: Option<u64>) -> Result<Option<u64>> {
        let c = AccountCall::Reserve { tenant: "acme".into(), id: id.into(), bytes, until: 1_000, file: None };
        match call(store, 10, c)? {
            AccountAnswer::Reserved { allowance, .. } => Ok(allowance),
            other => panic!("{other:?}"),
        }
    }

    fn publish(store: &MemoryLedger, f: Listed, reservation: Option<&str>) {
        let c = AccountCall::Publish { tenant: "acme".into(), file: f, reservation: reservation.map(Into::into) };
        call(store, 10, c).unwrap();
    }

    fn usage(store: &MemoryLedger) -> Report {
        match call(store, 10, AccountCall::Usage).unwrap() {
            AccountAnswer::Usage(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn set_quota(store: &MemoryLedger, quota: Quota) {
        call(store, 10, AccountCall::SetQuota { tenant: "acme".into(), quota }).unwrap();
    }

    #[test]
    fn publishing_lists_counts_indexes_and_schedules_and_removing_undoes_it() {
        let s = MemoryLedger::default();
        publish(&s, file("a", 5, "aa", Some(500)), None);
        publish(&s, file("b", 7, "bb", None), None);
        assert_eq!((usage(&s).bytes, usage(&s).files), (12, 2));
        // publishing the same file again (a retry) counts it once
        publish(&s, file("a", 5, "aa", Some(500)), None);
        assert_eq!((usage(&s).bytes, usage(&s).files), (12, 2));
        let AccountAnswer::Page { files, cursor } = call(&s, 10, AccountCall::List { after: None }).unwrap() else {
            panic!()
        };
        assert_eq!((files.len(), cursor), (2, None));
        let AccountAnswer::Index { entry } = call(&s, 10, AccountCall::Digest { sha256: "aa".into() }).unwrap() else {
            panic!()
        };
        assert_eq!(entry.unwrap().id, "a");
        assert_eq!(block_on(next_alarm(&s)).unwrap(), Some(500));
        assert!(block_on(due(&s, 499, 10)).unwrap().is_empty(), "nothing before its time");
        assert_eq!(block_on(due(&s, 500, 10)).unwrap()[0].id, "a");
        let gone = block_on(remove(&s, 10, &[("a".into(), "a".into()), ("b".into(), "other".into())], false)).unwrap();
        assert_eq!(gone.len(), 1, "only the listed file that is the one named");
        assert_eq!((usage(&s).bytes, usage(&s).files), (7, 1));
        assert_eq!(block_on(next_alarm(&s)).unwrap(), None);
        let AccountAnswer::Index { entry } = call(&s, 10, AccountCall::Digest { sha256: "aa".into() }).unwrap() else {
            panic!()
        };
        assert_eq!(entry, None);
    }

    #[test]
    fn reservations_hold_room_until_settled_released_or_lapsed() {
        let s = MemoryLedger::default();
        assert_eq!(reserve(&s, "u0", Some(1 << 40)).unwrap(), None, "no quota: anything, no allowance");
        call(&s, 10, AccountCall::Release { id: "u0".into(), aborted: false }).unwrap();
        set_quota(&s, Quota { max_bytes: Some(100), max_files: Some(3), ..Quota::default() });
        assert_eq!(reserve(&s, "u1", Some(60)).unwrap(), Some(60));
        assert!(matches!(reserve(&s, "u2", Some(41)), Err(Error::QuotaExceeded(_))), "60 + 41 > 100");
        assert_eq!(reserve(&s, "u1", Some(60)).unwrap(), Some(60), "a retry holds what it held");
        assert_eq!(reserve(&s, "u2", None).unwrap(), Some(40), "no size: the room left");
        assert!(matches!(reserve(&s, "u3", None), Err(Error::QuotaExceeded(_))), "no room left");
        assert_eq!(usage(&s).uploads_in_progress, 2);
        publish(&s, file("u1", 50, "11", None), Some("u1"));
        assert_eq!(usage(&s).reserved_bytes, 40, "settled at the file's size");
        call(&s, 10, AccountCall::Release { id: "u2".into(), aborted: false }).unwrap();
        assert_eq!(reserve(&s, "u3", Some(50)).unwrap(), Some(50));
        assert!(matches!(reserve(&s, "u4", Some(1)), Err(Error::QuotaExceeded(_))), "100 bytes held");
        // a lapsed reservation no longer holds room
        let lapse =
            AccountCall::Reserve { tenant: "acme".into(), id: "u4".into(), bytes: Some(1), until: 1, file: None };
        assert!(call(&s, 2_000, lapse).is_ok(), "u3 lapsed at 1000");
        assert_eq!(block_on(lapsed(&s, 2_000)).unwrap().len(), 2);
    }

    #[test]
    fn file_count_size_and_uploads_in_progress_quotas() {
        let s = MemoryLedger::default();
        set_quota(
            &s,
            Quota { max_files: Some(2), max_file_size: Some(10), max_uploads_in_progress: Some(1), ..Quota::default() },
        );
        assert!(matches!(reserve(&s, "big", Some(11)), Err(Error::QuotaExceeded(_))));
        assert_eq!(reserve(&s, "a", None).unwrap(), Some(10), "no size: the largest file");
        assert!(matches!(reserve(&s, "b", Some(1)), Err(Error::QuotaExceeded(_))), "one upload at a time");
        publish(&s, file("a", 3, "aa", None), Some("a"));
        assert_eq!(reserve(&s, "b", Some(1)).unwrap(), Some(1));
        publish(&s, file("b", 1, "bb", None), Some("b"));
        assert!(matches!(reserve(&s, "c", Some(1)), Err(Error::QuotaExceeded(_))), "two files at most");
    }

    #[test]
    fn only_an_account_is_taken_for_one() {
        let s = MemoryLedger::default();
        block_on(s.put("tenant", "acme")).unwrap();
        assert_eq!(block_on(tenant_of(&s)).unwrap(), None, "a link's list keeps a tenant: no account");
        set_quota(&s, Quota::default());
        assert_eq!(block_on(tenant_of(&s)).unwrap().as_deref(), Some("acme"));
    }

    #[test]
    fn pages_follow_their_cursor() {
        let s = MemoryLedger::default();
        for i in 0..(PAGE + 3) {
            publish(&s, file(&format!("f{i:05}"), 1, "", None), None);
        }
        let AccountAnswer::Page { files, cursor } = call(&s, 10, AccountCall::List { after: None }).unwrap() else {
            panic!()
        };
        assert_eq!(files.len(), PAGE);
        let AccountAnswer::Page { files, cursor } = call(&s, 10, AccountCall::List { after: cursor }).unwrap() else {
            panic!()
        };
        assert_eq!((files.len(), cursor), (3, None));
    }
}
