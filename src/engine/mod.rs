//! The engine: what every dialect shares. Files and their records, who may read them, the
//! digest indexes, part planning, expiry, the streaming writer, and resumable uploads (the
//! work of the Upload Durable Object). Generic over the storage seams, so it runs on the host
//! over in-memory stores.

pub mod chunks;
pub mod expiry;
pub mod files;
pub mod ids;
pub mod index;
pub mod keys;
pub mod limits;
pub mod part_plan;
pub mod resumable;
pub mod sha256;
pub mod turns;
pub mod upload;
pub mod uploads;
pub mod visibility;
pub mod writer;

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::Stream;

use crate::auth::Tenant;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::{BlobMeta, BlobStore, Janitor, MetaStore};
use expiry::kv_ttl_secs;
use files::FileRecord;
use index::IndexEntry;
use part_plan::PartPlan;
use sha256::{NativeHashers, ResumableSha256, Running};
use visibility::{may_read, Access, Via};

/// Everything a handler may touch, passed in. `now` reads the clock (ms since the epoch);
/// tests pass one they advance. `native` makes the platform's fast SHA-256, where it has one.
pub struct Ctx<'a, B, M, J> {
    pub config: &'a Config,
    pub blobs: &'a B,
    pub meta: &'a M,
    pub janitor: &'a J,
    pub now: &'a dyn Fn() -> u64,
    pub native: NativeHashers<'a>,
}

/// A new file as a dialect describes it, before its bytes are read.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub tenant: Tenant,
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub dialect: &'static str,
    pub access: Access,
    pub extra: BTreeMap<String, String>,
    /// Length the client announced (or an upper bound of it), for part sizing.
    pub length_hint: Option<u64>,
}

/// The texts a dialect shows for a file it cannot serve.
#[derive(Debug, Clone, Copy)]
pub struct Missing {
    pub not_found: &'static str,
    pub expired: &'static str,
}

/// What R2 keeps beside a file's bytes: enough to tell whose file it is and what it is
/// without its KV record.
pub fn blob_meta(tenant: &str, id: &str, name: &str, dialect: &str, content_type: &str) -> BlobMeta {
    let mut meta = BlobMeta { content_type: content_type.into(), ..Default::default() };
    for (k, v) in [("tenant", tenant), ("id", id), ("name", name), ("dialect", dialect)] {
        meta.custom.insert(k.into(), v.into());
    }
    meta
}

impl<'a, B: BlobStore, M: MetaStore, J: Janitor> Ctx<'a, B, M, J> {
    pub fn now(&self) -> u64 {
        (self.now)()
    }

    /// The hash for bytes that arrive in one request from a file's first byte to its last:
    /// the platform's native one where it has one.
    pub fn whole_file_hash(&self) -> Running {
        match self.native {
            Some(make) => Running::Native(make()),
            None => Running::Resumable(ResumableSha256::new()),
        }
    }

    /// Streams `body` into R2 under the new file's key. The file has no record yet: call
    /// [`Ctx::publish`] once the dialect knows its TTL, or [`Ctx::discard`] to drop it.
    pub async fn write_file<S>(&self, new: &NewFile, body: S) -> Result<FileRecord>
    where
        S: Stream<Item = Result<Bytes>> + Unpin,
    {
        limits::check_name(&new.name)?;
        let max = self.config.max_file_size;
        let hint = new.length_hint.map(|l| l.min(max));
        let plan = PartPlan::new(hint, max, self.config.min_part_size)?;
        let key = keys::object(&new.tenant.0, &new.id);
        let meta = blob_meta(&new.tenant.0, &new.id, &new.name, new.dialect, &new.content_type);
        limits::check_blob_meta(&meta)?;
        let written = writer::write_stream(self.blobs, &key, &meta, plan, max, self.whole_file_hash(), body).await?;
        Ok(FileRecord {
            name: new.name.clone(),
            content_type: new.content_type.clone(),
            size: written.size,
            sha256: written.sha256,
            created_at: self.now(),
            extra: new.extra.clone(),
            ..FileRecord::new(&new.id, &new.tenant.0, new.dialect, &key).with_access(new.access)
        })
    }

    /// Makes a written file visible: first the deletion of its bytes at `expires_at` (so that
    /// no failure after it leaves bytes that never expire), then its record, then its digest
    /// indexes. Every step may be repeated: a retry after a failure half way does no harm.
    pub async fn publish(&self, record: &FileRecord) -> Result<()> {
        if let Some(at) = record.expires_at {
            self.janitor.delete_at(&record.id, &record.r2_key, at).await?;
        }
        let kv_ttl = self.kv_ttl(record);
        let json = serde_json::to_string(record).map_err(|e| Error::Internal(e.to_string()))?;
        self.meta.put(&keys::file(&record.id), json, kv_ttl).await?;
        let entry =
            IndexEntry { id: record.id.clone(), expires_at: record.expires_at, tenant: Some(record.tenant.clone()) };
        self.index_put(&keys::digest(&record.tenant, &record.sha256), &entry, kv_ttl).await?;
        if record.access() == Access::PublicDigest {
            self.index_put(&keys::public_blob(&record.sha256), &entry, kv_ttl).await?;
            if let Some(blob_id) = record.extra.get(files::BLOB_ID) {
                self.meta.put(&keys::public_blob(blob_id), entry.to_json(), kv_ttl).await?;
            }
        }
        Ok(())
    }

    fn kv_ttl(&self, record: &FileRecord) -> Option<u64> {
        record.expires_at.map(|at| kv_ttl_secs(at, self.now(), self.config.grace))
    }

    /// Points an index entry at `entry`'s file unless the file it names already lives at
    /// least as long ([`index::replaces`]).
    async fn index_put(&self, key: &str, entry: &IndexEntry, kv_ttl: Option<u64>) -> Result<()> {
        let old = self.index_get(key).await?;
        if index::replaces(old.as_ref(), entry, self.now()) {
            self.meta.put(key, entry.to_json(), kv_ttl).await?;
        }
        Ok(())
    }

    /// The entry under an index key; a bare id (written before entries carried their
    /// expiry) takes its expiry from the file's record, and names nothing if that is gone.
    async fn index_get(&self, key: &str) -> Result<Option<IndexEntry>> {
        let Some(raw) = self.meta.get(key).await? else { return Ok(None) };
        match IndexEntry::parse(&raw) {
            Ok(entry) => Ok(Some(entry)),
            Err(id) => {
                Ok(self.record(&id).await?.map(|r| IndexEntry { id, expires_at: r.expires_at, tenant: Some(r.tenant) }))
            }
        }
    }

    /// Deletes a published file: its bytes, its record, and each index entry that still
    /// points to it (the same bytes uploaded again may own an entry now).
    pub async fn delete_file(&self, record: &FileRecord) -> Result<()> {
        self.blobs.delete(&record.r2_key).await?;
        self.meta.delete(&keys::file(&record.id)).await?;
        let mut entries = vec![keys::digest(&record.tenant, &record.sha256)];
        if record.access() == Access::PublicDigest {
            entries.push(keys::public_blob(&record.sha256));
            entries.extend(record.extra.get(files::BLOB_ID).map(|b| keys::public_blob(b)));
        }
        for key in entries {
            if self.index_get(&key).await?.is_some_and(|e| e.id == record.id) {
                self.meta.delete(&key).await?;
            }
        }
        Ok(())
    }

    /// Drops the bytes of a file that will not be published.
    pub async fn discard(&self, record: &FileRecord) {
        let _ = self.blobs.delete(&record.r2_key).await;
    }

    /// The record of file `id`, whatever its state.
    pub async fn record(&self, id: &str) -> Result<Option<FileRecord>> {
        let Some(raw) = self.meta.get(&keys::file(id)).await? else { return Ok(None) };
        serde_json::from_str(&raw).map(Some).map_err(|e| Error::Internal(format!("bad record {id}: {e}")))
    }

    /// File `id` if `caller` may read it by `via` ([`visibility::may_read`]) and it has not
    /// expired: `404` to anyone who may not (whether or not it exists), `410` once expired.
    pub async fn read_file(&self, id: &str, via: Via, caller: Option<&Tenant>, texts: Missing) -> Result<FileRecord> {
        let record = self.record(id).await?.filter(|r| may_read(r, via, caller));
        self.live(record, texts)
    }

    /// The record if it exists and is live.
    pub fn live(&self, record: Option<FileRecord>, texts: Missing) -> Result<FileRecord> {
        record.ok_or_else(|| Error::not_found(texts.not_found))?.live(self.now(), texts.expired)
    }

    /// A file by its sha256 or its public opaque id: the caller's own file with that digest
    /// first, else a public one.
    pub async fn find_by_digest(&self, key: &str, caller: Option<&Tenant>, texts: Missing) -> Result<FileRecord> {
        let digest = crate::http::digest::parse_sha256(key).ok();
        let mut keys_to_try = Vec::new();
        if let (Some(t), Some(d)) = (caller, &digest) {
            keys_to_try.push(keys::digest(&t.0, d));
        }
        keys_to_try.push(keys::public_blob(digest.as_deref().unwrap_or(key)));
        for index_key in keys_to_try {
            if let Some(entry) = self.index_get(&index_key).await? {
                if let Some(record) = self.record(&entry.id).await?.filter(|r| may_read(r, Via::Digest, caller)) {
                    return record.live(self.now(), texts.expired);
                }
            }
        }
        Err(Error::not_found(texts.not_found))
    }
}
