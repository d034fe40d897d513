//! In-memory stores for host tests. The blob store enforces R2's multipart rules (equal
//! parts of at least 5 MiB but the last, at most 10,000), so tests that pass here would
//! not be refused by R2.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use super::{BlobMeta, BlobStore, MetaStore, MultipartRef, UploadedPart};
use crate::config::R2_MIN_PART;
use crate::error::{Error, Result};

/// An open multipart upload: its key, metadata and the parts received.
type OpenUpload = (String, BlobMeta, BTreeMap<u16, Vec<u8>>);

#[derive(Default)]
pub struct MemoryBlobs {
    pub objects: RefCell<HashMap<String, (Vec<u8>, BlobMeta)>>,
    uploads: RefCell<HashMap<String, OpenUpload>>,
    next_id: Cell<u64>,
    /// Counts of calls, for tests that check how bytes were written.
    pub puts: Cell<u32>,
    pub multiparts: Cell<u32>,
    pub aborts: Cell<u32>,
}

impl MemoryBlobs {
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.borrow().get(key).map(|(b, _)| b.clone())
    }

    pub fn open_uploads(&self) -> usize {
        self.uploads.borrow().len()
    }
}

impl BlobStore for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, meta: &BlobMeta) -> Result<()> {
        self.puts.set(self.puts.get() + 1);
        self.objects.borrow_mut().insert(key.into(), (bytes, meta.clone()));
        Ok(())
    }

    async fn create_multipart(&self, key: &str, meta: &BlobMeta) -> Result<MultipartRef> {
        self.multiparts.set(self.multiparts.get() + 1);
        let id = format!("mp-{}", self.next_id.get());
        self.next_id.set(self.next_id.get() + 1);
        self.uploads.borrow_mut().insert(id.clone(), (key.into(), meta.clone(), BTreeMap::new()));
        Ok(MultipartRef { key: key.into(), upload_id: id })
    }

    async fn upload_part(&self, mp: &MultipartRef, number: u16, bytes: Vec<u8>) -> Result<UploadedPart> {
        if !(1..=10_000).contains(&number) {
            return Err(Error::Storage(format!("part number {number} out of range")));
        }
        let mut uploads = self.uploads.borrow_mut();
        let (_, _, parts) = uploads.get_mut(&mp.upload_id).ok_or_else(|| Error::Storage("no such upload".into()))?;
        let etag = format!("etag-{number}-{}", bytes.len());
        parts.insert(number, bytes);
        Ok(UploadedPart { number, etag })
    }

    async fn complete(&self, mp: &MultipartRef, parts: Vec<UploadedPart>) -> Result<()> {
        let (key, meta, stored) =
            self.uploads.borrow_mut().remove(&mp.upload_id).ok_or_else(|| Error::Storage("no such upload".into()))?;
        let mut bytes = Vec::new();
        let mut first_size = None;
        for (i, p) in parts.iter().enumerate() {
            let data = stored.get(&p.number).ok_or_else(|| Error::Storage("unknown part".into()))?;
            if p.etag != format!("etag-{}-{}", p.number, data.len()) {
                return Err(Error::Storage("etag mismatch".into()));
            }
            if p.number as usize != i + 1 {
                return Err(Error::Storage("parts must be numbered 1..n".into()));
            }
            let last = i + 1 == parts.len();
            if !last {
                let size = *first_size.get_or_insert(data.len());
                if size != data.len() || (size as u64) < R2_MIN_PART {
                    return Err(Error::Storage(format!(
                        "part {} has size {}, R2 wants equal parts >= 5 MiB",
                        p.number,
                        data.len()
                    )));
                }
            } else if first_size.is_some_and(|s| data.len() > s) {
                return Err(Error::Storage("last part larger than the others".into()));
            }
            bytes.extend_from_slice(data);
        }
        self.objects.borrow_mut().insert(key, (bytes, meta));
        Ok(())
    }

    async fn abort(&self, mp: &MultipartRef) -> Result<()> {
        self.aborts.set(self.aborts.get() + 1);
        self.uploads.borrow_mut().remove(&mp.upload_id);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.objects.borrow_mut().remove(key);
        Ok(())
    }
}

/// KV in memory; remembers the TTL each key was written with.
#[derive(Default)]
pub struct MemoryMeta {
    pub entries: RefCell<HashMap<String, (String, Option<u64>)>>,
}

impl MetaStore for MemoryMeta {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.entries.borrow().get(key).map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: String, ttl_secs: Option<u64>) -> Result<()> {
        if ttl_secs.is_some_and(|t| t < 60) {
            return Err(Error::Storage("KV refuses an expiration under 60 s".into()));
        }
        self.entries.borrow_mut().insert(key.into(), (value, ttl_secs));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.entries.borrow_mut().remove(key);
        Ok(())
    }
}

/// Records what was scheduled, for tests.
#[derive(Default)]
pub struct MemoryJanitor {
    pub scheduled: RefCell<Vec<(String, String, u64)>>,
}

impl super::Janitor for MemoryJanitor {
    async fn delete_at(&self, file_id: &str, r2_key: &str, at_ms: u64) -> Result<()> {
        self.scheduled.borrow_mut().push((file_id.into(), r2_key.into(), at_ms));
        Ok(())
    }
}

/// The Upload object's storage in memory, kept as JSON so that every load really goes
/// through (de)serialisation, as it does across requests and restarts in the worker.
#[derive(Default)]
pub struct MemoryUploadStore {
    pub state: RefCell<Option<String>>,
    pub tail: RefCell<Vec<u8>>,
    pub saves: Cell<u32>,
}

impl crate::engine::resumable::UploadStore for MemoryUploadStore {
    fn load(&self) -> Result<Option<crate::engine::upload::UploadState>> {
        match &*self.state.borrow() {
            None => Ok(None),
            Some(json) => serde_json::from_str(json).map(Some).map_err(|e| Error::Internal(e.to_string())),
        }
    }

    fn tail(&self) -> Result<Vec<u8>> {
        Ok(self.tail.borrow().clone())
    }

    fn save(&self, state: &crate::engine::upload::UploadState, tail: Option<&[u8]>) -> Result<()> {
        assert!(state.tail_len <= state.part_size, "the tail never exceeds one part");
        *self.state.borrow_mut() = Some(serde_json::to_string(state).map_err(|e| Error::Internal(e.to_string()))?);
        if let Some(t) = tail {
            *self.tail.borrow_mut() = t.to_vec();
        }
        assert_eq!(self.tail.borrow().len() as u64, state.tail_len);
        self.saves.set(self.saves.get() + 1);
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        *self.state.borrow_mut() = None;
        self.tail.borrow_mut().clear();
        Ok(())
    }
}

/// The uploads' Durable Objects in memory: one [`MemoryUploadStore`] per upload id, the
/// engine's operations run directly (one at a time: tests are single-threaded).
pub struct MemoryUploads<'a, 'c> {
    pub ctx: &'a crate::engine::Ctx<'c, MemoryBlobs, MemoryMeta, MemoryJanitor>,
    pub objects: RefCell<HashMap<String, std::rc::Rc<MemoryUploadStore>>>,
}

impl<'a, 'c> MemoryUploads<'a, 'c> {
    pub fn new(ctx: &'a crate::engine::Ctx<'c, MemoryBlobs, MemoryMeta, MemoryJanitor>) -> Self {
        MemoryUploads { ctx, objects: RefCell::default() }
    }

    /// The object named `id`; a new one is empty, as a Durable Object never used is.
    fn object(&self, id: &str) -> std::rc::Rc<MemoryUploadStore> {
        self.objects.borrow_mut().entry(id.to_string()).or_default().clone()
    }
}

impl super::Uploads for MemoryUploads<'_, '_> {
    type Body = Vec<u8>;

    async fn create(&self, new: &crate::engine::upload::NewUpload) -> Result<crate::engine::upload::UploadState> {
        self.ctx.create_upload(&*self.object(&new.id), new.clone())
    }

    async fn append(
        &self,
        id: &str,
        tenant: &str,
        ask: &crate::engine::resumable::AppendAsk,
        body: Vec<u8>,
    ) -> Result<crate::engine::upload::UploadState> {
        let chunks: Vec<Result<bytes::Bytes>> =
            body.chunks(64 * 1024).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
        self.ctx.append(&*self.object(id), tenant, ask.clone(), futures_util::stream::iter(chunks)).await
    }

    async fn state(&self, id: &str, tenant: &str, token: Option<&str>) -> Result<crate::engine::upload::UploadState> {
        self.ctx.load_upload(&*self.object(id), tenant, token)
    }

    async fn cancel(&self, id: &str, tenant: &str, token: Option<&str>, delete_finished: bool) -> Result<()> {
        self.ctx.cancel_upload(&*self.object(id), tenant, token, delete_finished).await
    }
}
