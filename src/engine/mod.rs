//! The engine: what every dialect shares. Files, part planning, expiry, the streaming
//! writer. Generic over the storage seams, so it runs on the host over in-memory stores.

pub mod expiry;
pub mod files;
pub mod ids;
pub mod part_plan;
pub mod resumable;
pub mod sha256;
pub mod upload;
pub mod writer;

use bytes::Bytes;
use futures_util::Stream;

use crate::auth::Tenant;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::{BlobMeta, BlobStore, Janitor, MetaStore};
use expiry::kv_ttl_secs;
use files::FileRecord;
use part_plan::PartPlan;

/// Everything a handler may touch, passed in. `now` reads the clock (ms since the epoch);
/// tests pass a fixed one.
pub struct Ctx<'a, B, M, J> {
    pub config: &'a Config,
    pub blobs: &'a B,
    pub meta: &'a M,
    pub janitor: &'a J,
    pub now: &'a dyn Fn() -> u64,
}

/// A new file as a dialect describes it, before its bytes are read.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub tenant: Tenant,
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub dialect: &'static str,
    /// Length the client announced (or an upper bound of it), for part sizing.
    pub length_hint: Option<u64>,
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
    /// Streams `body` into R2 under the new file's key. The file has no record yet: call
    /// [`Ctx::commit_file`] once the dialect knows its TTL, or [`Ctx::discard`] to drop it.
    pub async fn write_file<S>(&self, new: &NewFile, body: S) -> Result<(FileRecord, writer::Written)>
    where
        S: Stream<Item = Result<Bytes>> + Unpin,
    {
        let max = self.config.max_file_size;
        let hint = new.length_hint.map(|l| l.min(max));
        let plan = PartPlan::new(hint, max, self.config.min_part_size)?;
        let key = FileRecord::r2_key_for(&new.tenant.0, &new.id);
        let meta = blob_meta(&new.tenant.0, &new.id, &new.name, new.dialect, &new.content_type);
        let written = writer::write_stream(self.blobs, &key, &meta, plan, max, body).await?;
        let now = (self.now)();
        let record = FileRecord {
            id: new.id.clone(),
            tenant: new.tenant.0.clone(),
            name: new.name.clone(),
            content_type: new.content_type.clone(),
            size: written.size,
            sha256: written.sha256.clone(),
            created_at: now,
            expires_at: None,
            ttl: None,
            dialect: new.dialect.into(),
            r2_key: key,
        };
        Ok((record, written))
    }

    /// Makes a written file visible: its record, its digest index entry, and (when it
    /// expires) the deletion of its bytes at `expires_at`.
    pub async fn commit_file(&self, mut record: FileRecord, ttl_secs: Option<u64>) -> Result<FileRecord> {
        record.ttl = ttl_secs;
        record.expires_at = ttl_secs.map(|t| record.created_at + t * 1000);
        let now = (self.now)();
        let kv_ttl = record.expires_at.map(|at| kv_ttl_secs(at, now, self.config.grace));
        let json = serde_json::to_string(&record).map_err(|e| Error::Internal(e.to_string()))?;
        self.meta.put(&FileRecord::kv_key(&record.id), json, kv_ttl).await?;
        self.meta.put(&FileRecord::digest_key(&record.tenant, &record.sha256), record.id.clone(), kv_ttl).await?;
        if let Some(at) = record.expires_at {
            self.janitor.delete_at(&record.id, &record.r2_key, at).await?;
        }
        Ok(record)
    }

    /// Deletes a committed file: its bytes, its record, and its digest index entry when that
    /// still points to it (the same bytes uploaded again since point to the newer file).
    pub async fn delete_file(&self, record: &FileRecord) -> Result<()> {
        self.blobs.delete(&record.r2_key).await?;
        self.meta.delete(&FileRecord::kv_key(&record.id)).await?;
        let digest_key = FileRecord::digest_key(&record.tenant, &record.sha256);
        if self.meta.get(&digest_key).await?.as_deref() == Some(record.id.as_str()) {
            self.meta.delete(&digest_key).await?;
        }
        Ok(())
    }

    /// Drops the bytes of a file that will not be committed.
    pub async fn discard(&self, record: &FileRecord) {
        let _ = self.blobs.delete(&record.r2_key).await;
    }

    /// The record of file `id` if it exists and has not expired; `NotFound(missing)` or
    /// `Expired(expired)` otherwise.
    pub async fn live_file(&self, id: &str, missing: &'static str, expired: &'static str) -> Result<FileRecord> {
        let raw = self.meta.get(&FileRecord::kv_key(id)).await?.ok_or_else(|| Error::not_found(missing))?;
        let record: FileRecord =
            serde_json::from_str(&raw).map_err(|e| Error::Internal(format!("bad record {id}: {e}")))?;
        record.live((self.now)(), expired)
    }
}
