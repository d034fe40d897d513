//! The engine: what every dialect shares, one concern per folder. This module holds what every
//! room shares: the context ([`Ctx`]) and its file-level calls (write, store, publish, open,
//! delete), [`NewFile`], [`Expiry`], [`Later`], [`Held`], [`Missing`], [`Read`], [`Opened`]. The rooms:
//! - [`file`](mod@file): the record (with its [`file::record::Access`]), keys, who may read it by which
//!   route, expiry and TTLs, limits at creation, ids. Imports no other room.
//! - [`catalog`]: a tenant's account (its listing, digest index, usage, quota, reservations
//!   and expiry schedule, in one strongly consistent object), its alarm, and the sweep of
//!   files stored before accounts. Imports [`file`](mod@file), [`events`]' outbox and the
//!   context.
//! - [`events`]: webhook endpoints, the outbox, deliveries signed as Standard Webhooks, the
//!   pre-create hook. Imports the context.
//! - [`upload`]: resumable uploads by offset (the pure state machine, part plan, streaming
//!   writer, sha256, the run of a call, the object's calls, turns). Imports [`file`](mod@file)
//!   and the context.
//! - [`ledger`]: the small strongly consistent objects (sessions and tenants, logins, share
//!   links, Twake files) behind one call envelope ([`ledger::LedgerCalls`]). Imports
//!   [`file`](mod@file) only.
//! - [`chunked`]: Twake's files whose chunks arrive in any order (staged chunks, assembly,
//!   thumbnails, the open routes' opening, deletion). Imports [`file`](mod@file), the context,
//!   the upload room's writer, and the ledger's Twake call.
//! - [`tenant`]: tenants and keys at run time: the registry an operator writes (pure records,
//!   a bounded cache of what this isolate read, the operator's calls) and who a presented
//!   credential is. Imports [`file`](mod@file) (its keys) and the context.
//! - [`bundle`]: many files as one streamed zip (its layout from the records, the CRC-32s
//!   kept beside the files, the stream of any range of it). Imports [`file`](mod@file) and the
//!   context.
//! - [`jwt`] and [`throttle`]: HS256 tokens and per-client rate limits, used by dialects.
//!
//! No room imports a room that imports it. The rooms add methods to [`Ctx`] and this module
//! names their types (a record, a part plan), so each room and this module know each other;
//! that is the one exception. Generic over one platform ([`crate::store::Platform`]: its
//! blobs, records and objects), so it runs on the host over in-memory stores.
//!
//! The store layout: a file's bytes are the R2 object named by its id (`f/{id}`), whose
//! metadata carries everything a download needs, so a download is one R2 read, strongly
//! consistent everywhere. Each tenant's account (a ledger object) lists, counts, indexes and
//! expires its files, and queues their events, each change one write. KV holds the tombstones
//! of expired files (`410` rather than `404`), the registry of tenants and keys made at run
//! time, and, for files stored before accounts, their expiry and digest entries.

pub mod bundle;
pub mod catalog;
pub mod chunked;
pub mod events;
pub mod file;
pub mod jwt;
pub mod ledger;
pub mod tenant;
pub mod throttle;
pub mod upload;

use std::cell::RefCell;

use bytes::Bytes;
use futures_util::Stream;

use crate::auth::Tenant;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::download::BodyPlan;
use crate::store::{BlobMeta, BlobStore, MetaStore, ObjectInfo, Payload, Platform};
use catalog::account::{AccountAnswer, AccountCall};
use catalog::index::{self, IndexEntry};
use catalog::sweep::Entry;
use file::record::{Access, Extras, FileRecord, FromObject, Vendor};
use file::visibility::{may_read, Via};
use file::{keys, limits};
use upload::plan::PartPlan;
use upload::sha256::{NativeHashers, ResumableSha256, Running};
use upload::writer;

/// Everything a handler may touch, passed in. `now` reads the clock (ms since the epoch);
/// tests pass one they advance. `native` makes the platform's fast SHA-256, where it has one.
/// `later` collects what may be written after the answer (`ctx.waitUntil` in the worker).
pub struct Ctx<'a, P: Platform> {
    pub config: &'a Config,
    pub blobs: &'a P::Blobs,
    pub meta: &'a P::Meta,
    pub now: &'a dyn Fn() -> u64,
    pub native: NativeHashers<'a>,
    pub later: &'a Later,
    /// The platform's rate limit per client (share-link passwords, credentials the tenant
    /// registry does not know), where it has one.
    pub throttle: Option<&'a dyn throttle::Throttle>,
    /// The client the request comes from, as rate limits key it ([`throttle::client_key`]).
    pub client: String,
    /// What this isolate read of the tenant registry lately ([`tenant::cache`]).
    pub tenants: &'a tenant::cache::Cache,
    /// The Durable Objects (a tenant's account, from any handler or object).
    pub objects: &'a P::Objects,
    /// Outgoing requests (webhooks), where the platform makes them.
    pub fetch: Option<&'a dyn events::Fetch>,
}

/// What waits for the answer to be sent: the paths of public downloads to drop from this
/// location's cache (a deleted file's), events for a tenant's webhooks that need not be
/// in the write of what they tell (a share link's downloads): `(tenant, kind, data)`, and
/// files published before their sha256 was known, whose digest is read then
/// ([`Ctx::settle_digest`]).
#[derive(Debug, Default)]
pub struct Later(
    pub RefCell<Vec<String>>,
    pub RefCell<Vec<(String, String, serde_json::Value)>>,
    pub RefCell<Vec<FileRecord>>,
);

impl Later {
    /// The paths to drop from the cache.
    pub fn take_purges(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    /// The events to queue.
    pub fn take_events(&self) -> Vec<(String, String, serde_json::Value)> {
        std::mem::take(&mut *self.1.borrow_mut())
    }

    /// The files whose digest is to be read.
    pub fn take_digests(&self) -> Vec<FileRecord> {
        std::mem::take(&mut *self.2.borrow_mut())
    }
}

/// How long a one-request upload's reservation holds before the account's alarm looks at
/// it (publishing the file if its bytes were stored and its answer lost, else freeing it).
pub const REQUEST_RESERVATION_MS: u64 = 6 * 3_600_000;

/// A stream cut at the quota's room (not at the service's largest file) is a quota refusal.
fn quota_error(e: Error, allowance: Option<u64>, max_file_size: u64) -> Error {
    match (e, allowance) {
        (Error::TooLarge { .. }, Some(room)) if room < max_file_size => {
            Error::QuotaExceeded(format!("no room for more than {room} bytes"))
        }
        (e, _) => e,
    }
}

/// A new file as a dialect describes it, before its bytes are read.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub tenant: Tenant,
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub vendor: Vendor,
    pub access: Access,
    pub extra: Extras,
    /// Length the client announced (or an upper bound of it), for part sizing.
    pub length_hint: Option<u64>,
    /// Does the file always expire (its object then goes under the expiring prefix)?
    pub expiring: bool,
    /// May its record change after it is stored (an OpenTera rename)? Its record is then
    /// kept in its sidecar, whatever its size (a download reads both).
    pub mutable: bool,
}

/// How long a stored file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// Seconds from its creation.
    After(u64),
    /// At this time (ms), as the session it belongs to.
    At(u64),
}

impl NewFile {
    /// Where its bytes go in R2.
    pub fn key(&self) -> String {
        if self.expiring {
            keys::expiring_object(&self.id)
        } else {
            keys::object(&self.id)
        }
    }

    /// The record as far as it is known before the bytes: no size, digest, time or TTL.
    pub fn template(&self) -> FileRecord {
        FileRecord {
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            extra: self.extra.clone(),
            ..FileRecord::new(&self.id, &self.tenant.0, self.vendor, &self.key()).with_access(self.access)
        }
    }
}

/// A file written in one request, not yet stored under its final metadata: a small one is
/// held whole (one put, once its record is complete), a large one is a completed multipart
/// object whose record goes into a sidecar.
#[derive(Debug)]
pub struct Held {
    pub template: FileRecord,
    mutable: bool,
    pub size: u64,
    pub sha256: String,
    body: HeldBody,
}

#[derive(Debug)]
enum HeldBody {
    Tail(Vec<u8>),
    Sealed(ObjectInfo),
}

/// The texts a dialect shows for a file it cannot serve.
#[derive(Debug, Clone, Copy)]
pub struct Missing {
    pub not_found: &'static str,
    pub expired: &'static str,
}

/// What opening a file reads of its object in the same R2 call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Its head only (the metadata): for a `HEAD`, for a download whose ranges or conditions
    /// need the file's size and entity tag first, or to find a file's record.
    Head,
    /// Its body too (a plain `GET`).
    Body,
}

/// A file found for a download: its record, its entity tag, and its body when it was read
/// in the same R2 call.
#[derive(Debug)]
pub struct Opened {
    pub record: FileRecord,
    pub etag: String,
    pub body: Option<Payload>,
}

impl<'a, P: Platform> Ctx<'a, P> {
    pub fn now(&self) -> u64 {
        (self.now)()
    }

    /// How a public download of a file expiring at `expires_at` may be cached: never past
    /// its expiry, nor longer than the configured bound (`EDGESHARE_CACHE_MAX_AGE`), for any
    /// public file can be deleted.
    pub fn public_cache(&self, expires_at: Option<u64>) -> crate::http::download::CachePolicy {
        crate::http::download::CachePolicy::public_bounded(expires_at, self.now(), self.config.cache_max_age)
    }

    /// The hash for bytes that arrive in one request from a file's first byte to its last:
    /// the platform's native one where it has one.
    pub fn whole_file_hash(&self) -> Running {
        match self.native {
            Some(make) => Running::Native(make()),
            None => Running::Resumable(ResumableSha256::new()),
        }
    }

    /// Streams `body` into R2 under the new file's key, once the tenant's account has
    /// reserved room for it ([`Ctx::reserve`]: `413` before the first byte when it has none,
    /// and the stream stops where the room ends). A file that fits one part is held, to be
    /// put once its record is complete ([`Ctx::store_file`]); a larger one is written as a
    /// multipart upload whose metadata says its record is in a sidecar.
    pub async fn write_file<S>(&self, new: &NewFile, body: S) -> Result<Held>
    where
        S: Stream<Item = Result<Bytes>> + Unpin,
    {
        limits::check_name(&new.name)?;
        let template = new.template();
        let meta = template.blob_meta_with_sidecar();
        limits::check_record_meta(&template)?;
        let until = self.now() + REQUEST_RESERVATION_MS;
        let allowance = self.reserve(&template, &template.id, new.length_hint, until, true).await?;
        let max = allowance.map_or(self.config.max_file_size, |a| a.min(self.config.max_file_size));
        let hint = new.length_hint.map(|l| l.min(max));
        let written = async {
            let plan = PartPlan::new(hint, max, self.config.min_part_size)?;
            writer::write_held(self.blobs, &template.r2_key, &meta, plan, max, self.whole_file_hash(), body).await
        }
        .await;
        let fed = match written {
            Ok(fed) => fed,
            Err(e) => {
                self.release(&template.tenant, &template.id).await;
                return Err(quota_error(e, allowance, self.config.max_file_size));
            }
        };
        let body = match fed.sealed {
            Some(info) => HeldBody::Sealed(info),
            None => HeldBody::Tail(fed.tail),
        };
        Ok(Held { template, mutable: new.mutable, size: fed.size, sha256: fed.sha256, body })
    }

    /// Drops a held file that will not be stored: its bytes, and its reservation.
    pub async fn drop_held(&self, held: &Held) {
        self.discard(&held.template.r2_key).await;
        self.release(&held.template.tenant, &held.template.id).await;
    }

    /// Stores a held file under its complete record (expiring as `expiry` says): one R2 put
    /// for a small file; for a large one (or a mutable one), its sidecar. Nothing else is
    /// written: the caller publishes the file ([`Ctx::keep_file`] does both).
    pub async fn store_file(&self, held: Held, expiry: Expiry) -> Result<FileRecord> {
        let created_at = match &held.body {
            HeldBody::Tail(_) => self.now(),
            HeldBody::Sealed(info) => info.uploaded,
        };
        let record = FileRecord { size: held.size, sha256: held.sha256, created_at, ..held.template };
        let record = match expiry {
            Expiry::Never => record,
            Expiry::After(ttl) => record.expire_in(ttl),
            Expiry::At(at) => {
                FileRecord { expires_at: Some(at), ttl: Some(at.saturating_sub(created_at).div_ceil(1000)), ..record }
            }
        };
        match held.body {
            HeldBody::Tail(bytes) if held.mutable => {
                self.blobs.put(&record.r2_key, bytes, &record.blob_meta_with_sidecar()).await?;
                self.put_sidecar(&record).await?
            }
            HeldBody::Tail(bytes) => self.blobs.put(&record.r2_key, bytes, &record.blob_meta()).await.map(drop)?,
            HeldBody::Sealed(_) => self.put_sidecar(&record).await?,
        }
        Ok(record)
    }

    /// Writes the record of a file kept in its sidecar: at its creation, or to change it (an
    /// OpenTera rename; R2 is strongly consistent, so every read sees the change at once).
    pub async fn put_sidecar(&self, record: &FileRecord) -> Result<()> {
        let json = serde_json::to_vec(record).map_err(|e| Error::Internal(e.to_string()))?;
        self.blobs.put(&keys::sidecar(&record.id), json, &BlobMeta::default()).await.map(drop)
    }

    /// Stores a held file and publishes it ([`Ctx::store_held`], [`Ctx::publish`]), settling
    /// its reservation: a one-request file's writes before its answer, after which it is in
    /// its tenant's listing. If either fails, its bytes go and its reservation is freed.
    pub async fn keep_file(&self, held: Held, expiry: Expiry) -> Result<FileRecord> {
        let record = self.store_held(held, expiry).await?;
        if let Err(e) = self.publish(&record, Some(&record.id)).await {
            self.abandon(&record.tenant, &record.id, &record.r2_key).await;
            return Err(e);
        }
        Ok(record)
    }

    /// Drops what a file that will not be published stored (its bytes, its sidecar) and
    /// frees its reservation.
    async fn abandon(&self, tenant: &str, id: &str, key: &str) {
        self.discard(key).await;
        self.discard(&keys::sidecar(id)).await;
        self.release(tenant, id).await;
    }

    /// Stores a held file ([`Ctx::store_file`]) for its caller to publish once it has
    /// recorded it elsewhere (an NGCP session's entry): if publishing is lost, its reservation
    /// lapses and its account publishes it. If storing fails, its bytes go and its
    /// reservation is freed.
    pub async fn store_held(&self, held: Held, expiry: Expiry) -> Result<FileRecord> {
        let (tenant, id, key) = (held.template.tenant.clone(), held.template.id.clone(), held.template.r2_key.clone());
        let stored = self.store_file(held, expiry).await;
        if stored.is_err() {
            self.abandon(&tenant, &id, &key).await;
        }
        stored
    }

    /// A call to `tenant`'s account ([`catalog::account`]).
    pub(crate) async fn account(&self, tenant: &str, call: AccountCall) -> Result<AccountAnswer> {
        use ledger::{LedgerAnswer, LedgerCall, LedgerCalls};
        let call = LedgerCall::Account { tenant: tenant.to_string(), call };
        match self.objects.ledger(&keys::account(tenant), call).await? {
            LedgerAnswer::Account(answer) => Ok(answer),
            other => Err(Error::Internal(format!("account answered {other:?}"))),
        }
    }

    /// Reserves room (reservation `id`) in the tenant's account for a file to come (`bytes`: its size, or an
    /// upper bound of it, when known) until `until`; `journal`: the account publishes the
    /// file by itself if its bytes are stored and its publication lost. Answers the most the
    /// file may hold (`None`: no quota); `413` when the quota has no room.
    pub async fn reserve(
        &self,
        template: &FileRecord,
        id: &str,
        bytes: Option<u64>,
        until: u64,
        journal: bool,
    ) -> Result<Option<u64>> {
        let file = journal.then(|| catalog::listing::Listed::of(template));
        let call = AccountCall::Reserve { tenant: template.tenant.clone(), id: id.to_string(), bytes, until, file };
        match self.account(&template.tenant, call).await? {
            AccountAnswer::Reserved { allowance, hook: None } => Ok(allowance),
            AccountAnswer::Reserved { allowance, hook: Some(hook) } => {
                let starting = events::Starting {
                    tenant: &template.tenant,
                    id: &template.id,
                    name: &template.name,
                    content_type: &template.content_type,
                    dialect: template.vendor.as_str(),
                    size: bytes,
                };
                if let Err(e) = self.ask_pre_create(&hook, &starting).await {
                    self.release(&template.tenant, id).await;
                    return Err(e);
                }
                Ok(allowance)
            }
            other => Err(Error::Internal(format!("account answered {other:?}"))),
        }
    }

    /// Queues an event for `tenant`'s webhooks; answers the events some endpoint hears.
    pub async fn emit(&self, tenant: &str, kind: &str, data: serde_json::Value) -> Result<Vec<String>> {
        match self.account(tenant, AccountCall::Emit { kind: kind.to_string(), data }).await? {
            AccountAnswer::Listening { kinds } => Ok(kinds),
            other => Err(Error::Internal(format!("account answered {other:?}"))),
        }
    }

    /// Frees reservation `id` (an upload that will not be stored). A failure leaves it to
    /// lapse.
    pub async fn release(&self, tenant: &str, id: &str) {
        let _ = self.account(tenant, AccountCall::Release { id: id.to_string(), aborted: false }).await;
    }

    /// Frees the reservation of resumable upload `id`, given up (cancelled, or idle past its
    /// timeout): its tenant's webhooks hear `upload.aborted`.
    pub async fn abort_reservation(&self, tenant: &str, id: &str) {
        let _ = self.account(tenant, AccountCall::Release { id: id.to_string(), aborted: true }).await;
    }

    /// Makes a stored (or changed) file findable in one write of its tenant's account: its
    /// listing, usage, expiry and digest index, settling `reservation`; then, for a
    /// PortSIP blob, its public digest pointer. May be repeated.
    pub async fn publish(&self, record: &FileRecord, reservation: Option<&str>) -> Result<()> {
        let file = catalog::listing::Listed::of(record);
        let call =
            AccountCall::Publish { tenant: record.tenant.clone(), file, reservation: reservation.map(String::from) };
        self.account(&record.tenant, call).await?;
        self.point(record).await
    }

    /// Publishes a file whose sha256 is not known yet (stored without it: its ETag is R2's
    /// meanwhile), keeping its reservation as the journal of what is left to do, and has its
    /// digest read after the answer ([`Ctx::settle_digest`]); should that be lost, the
    /// account's alarm reads it when the reservation lapses.
    pub async fn publish_before_digest(&self, record: &FileRecord) -> Result<()> {
        self.publish(record, None).await?;
        self.later.2.borrow_mut().push(record.clone());
        Ok(())
    }

    /// Reads the digest of a file published without it (natively, from R2: the bytes never
    /// enter wasm), stores it in its record and publishes it again, which indexes it by its
    /// digest, tells its webhooks of it and settles its reservation.
    pub async fn settle_digest(&self, record: FileRecord) -> Result<()> {
        let record = self.fill_digest(record).await?;
        self.publish(&record, Some(&record.id)).await
    }

    /// A stored record, its sha256 read from its bytes when it has none (its sidecar
    /// rewritten with it).
    pub(crate) async fn fill_digest(&self, record: FileRecord) -> Result<FileRecord> {
        if !record.sha256.is_empty() {
            return Ok(record);
        }
        let sha256 = self.blobs.sha256(&record.r2_key).await?;
        let record = FileRecord { sha256, ..record };
        self.put_sidecar(&record).await?;
        Ok(record)
    }

    /// Points a PortSIP blob's digest URL at it (the public pointer in R2); nothing for any
    /// other file.
    async fn point(&self, record: &FileRecord) -> Result<()> {
        if record.access() == Access::PublicDigest {
            self.pointer_put(&record.sha256, &Entry::of(record).index()).await?;
        }
        Ok(())
    }

    /// The caller's own file with this digest, by its account's index (which files stored
    /// before accounts were imported into, indexed).
    async fn own_digest(&self, tenant: &str, sha256: &str) -> Result<Option<IndexEntry>> {
        match self.account(tenant, AccountCall::Digest { sha256: sha256.to_string() }).await? {
            AccountAnswer::Index { entry } => Ok(entry),
            other => Err(Error::Internal(format!("account answered {other:?}"))),
        }
    }

    /// The public digest pointer in R2, with the same precedence as the KV indexes.
    async fn pointer_put(&self, sha256: &str, entry: &IndexEntry) -> Result<()> {
        let key = keys::public_digest(sha256);
        let old = self.pointer_get(sha256).await?;
        if index::replaces(old.as_ref(), entry, self.now()) {
            self.blobs.put(&key, entry.to_json().into_bytes(), &BlobMeta::default()).await?;
        }
        Ok(())
    }

    async fn pointer_get(&self, sha256: &str) -> Result<Option<IndexEntry>> {
        let raw = self.blobs.get_bytes(&keys::public_digest(sha256)).await?;
        Ok(raw.and_then(|b| IndexEntry::parse(&String::from_utf8_lossy(&b))))
    }

    /// Deletes a file: its bytes (and sidecar), then its account's listing, usage, expiry and
    /// digest entries (one write), and its public digest pointer if it names it.
    pub async fn delete_file(&self, record: &FileRecord) -> Result<()> {
        self.blobs.delete(&record.r2_key).await?;
        self.blobs.delete(&keys::sidecar(&record.id)).await?;
        self.blobs.delete(&keys::crc(&record.id)).await?;
        let call = AccountCall::Remove { list_id: record.list_id().to_string(), id: record.id.clone(), expired: false };
        self.account(&record.tenant, call).await?;
        self.unpoint(record).await
    }

    /// Drops the public digest pointer if it names `record`.
    async fn unpoint(&self, record: &FileRecord) -> Result<()> {
        if record.access() == Access::PublicDigest
            && self.pointer_get(&record.sha256).await?.is_some_and(|e| e.id == record.id)
        {
            self.blobs.delete(&keys::public_digest(&record.sha256)).await?;
        }
        Ok(())
    }

    /// An expired file's bytes go; its tombstone (its record in KV, with KV's own
    /// expiration) answers `410` for the grace period. The one KV write of a file's life.
    pub async fn expire_file(&self, record: &FileRecord) -> Result<()> {
        self.blobs.delete(&record.r2_key).await?;
        self.blobs.delete(&keys::sidecar(&record.id)).await?;
        self.blobs.delete(&keys::crc(&record.id)).await?;
        let json = serde_json::to_string(record).map_err(|e| Error::Internal(e.to_string()))?;
        let ttl = self.config.grace.max(crate::store::limits::KV_MIN_TTL_SECS);
        self.meta.put(&keys::file(&record.id), json, Some(ttl)).await?;
        self.unpoint(record).await
    }

    /// Drops the bytes of a file that will not be stored.
    pub async fn discard(&self, key: &str) {
        let _ = self.blobs.delete(key).await;
    }

    /// The tombstone of file `id` in KV (the record of an expired file, kept for the grace
    /// period so that it answers `410`), if it has one.
    pub async fn tombstone(&self, id: &str) -> Result<Option<FileRecord>> {
        let Some(raw) = self.meta.get(&keys::file(id)).await? else { return Ok(None) };
        serde_json::from_str(&raw).map(Some).map_err(|e| Error::Internal(format!("bad record {id}: {e}")))
    }

    /// The record if it exists and is live.
    pub fn live(&self, record: Option<FileRecord>, texts: Missing) -> Result<FileRecord> {
        record.ok_or_else(|| Error::not_found(texts.not_found))?.live(self.now(), texts.expired)
    }

    /// The record an object's metadata (or its sidecar) describes.
    async fn record_of(&self, key: &str, info: &ObjectInfo) -> Result<Option<FileRecord>> {
        match FileRecord::from_object(key, info) {
            FromObject::Record(r) => Ok(Some(*r)),
            FromObject::Foreign => Ok(None),
            FromObject::Sidecar => {
                let Some(id) = info.meta.custom.get("id") else { return Ok(None) };
                let raw = self.blobs.get_bytes(&keys::sidecar(id)).await?;
                let record: Option<FileRecord> = raw.and_then(|b| serde_json::from_slice(&b).ok());
                Ok(record.map(|r| FileRecord { size: info.size, r2_key: key.into(), ..r }))
            }
        }
    }

    /// File `id` for a download, if `caller` may read it by `via` ([`file::visibility::may_read`])
    /// and it has not expired: `404` to anyone who may not (whether or not it exists), `410`
    /// once expired. One R2 call (reading as `read` says): KV is asked only when R2 has nothing
    /// (for a tombstone).
    pub async fn open(
        &self,
        id: &str,
        via: Via,
        caller: Option<&Tenant>,
        texts: Missing,
        read: Read,
    ) -> Result<Opened> {
        self.open_at(id, &keys::object(id), via, caller, texts, read).await
    }

    /// [`Ctx::open`] for a file that always expires ([`NewFile::expiring`]: NGCP's simple
    /// uploads), whose object is under the expiring prefix.
    pub async fn open_expiring(
        &self,
        id: &str,
        via: Via,
        caller: Option<&Tenant>,
        texts: Missing,
        read: Read,
    ) -> Result<Opened> {
        self.open_at(id, &keys::expiring_object(id), via, caller, texts, read).await
    }

    /// [`Ctx::open`] for a file whose object is at `key` (its dialect's, or an index entry's).
    pub async fn open_at(
        &self,
        id: &str,
        key: &str,
        via: Via,
        caller: Option<&Tenant>,
        texts: Missing,
        read: Read,
    ) -> Result<Opened> {
        if let Some(opened) = self.open_object(key, via, caller, texts, read).await? {
            return Ok(opened);
        }
        // no object: `410` if its tombstone says it expired, else `404`
        self.live(self.tombstone(id).await?.filter(|r| may_read(r, via, caller)), texts)?;
        Err(Error::not_found(texts.not_found))
    }

    /// The body a download plan serves of the object at `key`: the whole of it, or a range
    /// (`None` for no body). `404` if the object is gone since it was opened.
    pub async fn download_body(&self, key: &str, plan: &BodyPlan) -> Result<Option<Payload>> {
        let body = match plan {
            BodyPlan::None => return Ok(None),
            BodyPlan::Whole => self.blobs.get(key).await?.map(|(_, body)| body),
            BodyPlan::Part(span) => self.blobs.get_range_body(key, span.start, span.len).await?,
        };
        body.map(Some).ok_or_else(|| Error::not_found("file not found"))
    }

    async fn read_object(&self, key: &str, read: Read) -> Result<Option<(ObjectInfo, Option<Payload>)>> {
        Ok(match read {
            Read::Body => self.blobs.get(key).await?.map(|(i, p)| (i, Some(p))),
            Read::Head => self.blobs.head(key).await?.map(|i| (i, None)),
        })
    }

    /// The object at `key` if it is a file `caller` may read by `via`; `Ok(None)` if R2 has
    /// no such object.
    async fn open_object(
        &self,
        key: &str,
        via: Via,
        caller: Option<&Tenant>,
        texts: Missing,
        read: Read,
    ) -> Result<Option<Opened>> {
        let Some((info, body)) = self.read_object(key, read).await? else { return Ok(None) };
        let record = self.record_of(key, &info).await?.filter(|r| may_read(r, via, caller));
        let record = self.live(record, texts)?;
        Ok(Some(Opened { etag: record.etag(&info.etag), record, body }))
    }

    /// A file by its sha256 or its public opaque id: the caller's own file with that digest
    /// first, else a public one (by its R2 pointer, or by its id).
    pub async fn find_by_digest(
        &self,
        key: &str,
        caller: Option<&Tenant>,
        texts: Missing,
        read: Read,
    ) -> Result<Opened> {
        let Ok(digest) = crate::http::digest::parse_sha256(key) else {
            // an opaque id is the blob's file id
            return match crate::engine::file::ids::is_opaque_id(key) {
                true => self.open(key, Via::Digest, caller, texts, read).await,
                false => Err(Error::not_found(texts.not_found)),
            };
        };
        let mut candidates = Vec::new();
        if let Some(t) = caller {
            candidates.extend(self.own_digest(&t.0, &digest).await?);
        }
        candidates.extend(self.pointer_get(&digest).await?);
        let mut last = Error::not_found(texts.not_found);
        for entry in candidates {
            let key = entry.key.clone().unwrap_or_else(|| keys::object(&entry.id));
            match self.open_at(&entry.id, &key, Via::Digest, caller, texts, read).await {
                Ok(opened) => return Ok(opened),
                Err(e @ Error::Expired(_)) => last = e,
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}
