//! In-memory stores for host tests. The blob store enforces R2's rules (equal parts of at
//! least 5 MiB but the last, at most 10,000, metadata within 8 KiB) and KV's (no expiration
//! under 60 s, listed metadata within 1 KiB, lists of at most 1,000 keys), all from
//! [`super::limits`], so tests that pass here would not be refused by the real stores. Each store
//! can be told to fail its next calls of one operation ([`Faults`]), to test what a storage
//! failure half way leaves behind.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use std::rc::Rc;

use super::limits::{check_kv_ttl, KV_LIST_PAGE, KV_METADATA_BYTES, R2_MAX_PARTS, R2_METADATA_BYTES, R2_MIN_PART};
use super::object::{LedgerStore, UploadStore};
use super::{BlobMeta, BlobStore, Listed, MetaStore, MultipartRef, ObjectInfo, Payload, UploadedPart};
use crate::error::{Error, Result};

/// Failures to inject: the next `n` calls of an operation fail with `Error::Storage`.
/// Operations are named `"put"`, `"complete"`, ...; KV puts by the first segment of their key
/// (`"put:file"`, `"put:sha256"`, `"put:blob"`).
#[derive(Default)]
pub struct Faults(RefCell<HashMap<String, u32>>);

impl Faults {
    pub fn fail(&self, op: &str, times: u32) {
        self.0.borrow_mut().insert(op.into(), times);
    }

    fn check(&self, op: &str) -> Result<()> {
        let mut map = self.0.borrow_mut();
        match map.get_mut(op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(Error::Storage(format!("injected failure of {op}")))
            }
            _ => Ok(()),
        }
    }
}

/// An open multipart upload: its key, metadata and the parts received.
type OpenUpload = (String, BlobMeta, BTreeMap<u16, Vec<u8>>);

/// A stored object: its bytes, metadata and when it was written.
pub type Stored = (Vec<u8>, BlobMeta, u64);

#[derive(Default)]
pub struct MemoryBlobs {
    pub objects: RefCell<HashMap<String, Stored>>,
    /// The clock objects are stamped with (the test kit shares its own).
    pub clock: Rc<Cell<u64>>,
    uploads: RefCell<HashMap<String, OpenUpload>>,
    next_id: Cell<u64>,
    pub faults: Faults,
    /// Counts of calls, for tests that check how bytes were written.
    pub puts: Cell<u32>,
    pub multiparts: Cell<u32>,
    pub aborts: Cell<u32>,
    pub reads: Cell<u32>,
    pub deletes: Cell<u32>,
    /// Parts uploaded and multipart uploads completed.
    pub parts: Cell<u32>,
    pub completes: Cell<u32>,
    /// The part sizes of each object completed from a multipart upload.
    pub part_sizes: RefCell<HashMap<String, Vec<usize>>>,
}

impl MemoryBlobs {
    /// R2's class A operations so far (puts, multipart creations, parts, completions, aborts).
    pub fn class_a(&self) -> u32 {
        self.puts.get() + self.multiparts.get() + self.parts.get() + self.completes.get() + self.aborts.get()
    }

    /// Objects stamped by this clock.
    pub fn with_clock(clock: Rc<Cell<u64>>) -> MemoryBlobs {
        MemoryBlobs { clock, ..MemoryBlobs::default() }
    }

    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.borrow().get(key).map(|(b, _, _)| b.clone())
    }

    fn store(&self, key: String, bytes: Vec<u8>, meta: BlobMeta) -> ObjectInfo {
        let info = info_of(&bytes, &meta, self.clock.get());
        self.objects.borrow_mut().insert(key, (bytes, meta, self.clock.get()));
        info
    }

    pub fn open_uploads(&self) -> usize {
        self.uploads.borrow().len()
    }
}

fn info_of(bytes: &[u8], meta: &BlobMeta, uploaded: u64) -> ObjectInfo {
    let etag = hex::encode(&Sha256::digest(bytes)[..16]);
    ObjectInfo { size: bytes.len() as u64, etag, uploaded, meta: meta.clone() }
}

fn check_meta(meta: &BlobMeta) -> Result<()> {
    if meta.size() > R2_METADATA_BYTES {
        return Err(Error::Storage("r2: metadata too large".into()));
    }
    Ok(())
}

impl BlobStore for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, meta: &BlobMeta) -> Result<ObjectInfo> {
        self.faults.check("put")?;
        check_meta(meta)?;
        self.puts.set(self.puts.get() + 1);
        Ok(self.store(key.into(), bytes, meta.clone()))
    }

    async fn create_multipart(&self, key: &str, meta: &BlobMeta) -> Result<MultipartRef> {
        self.faults.check("create_multipart")?;
        check_meta(meta)?;
        self.multiparts.set(self.multiparts.get() + 1);
        let id = format!("mp-{}", self.next_id.get());
        self.next_id.set(self.next_id.get() + 1);
        self.uploads.borrow_mut().insert(id.clone(), (key.into(), meta.clone(), BTreeMap::new()));
        Ok(MultipartRef { key: key.into(), upload_id: id })
    }

    async fn upload_part(&self, mp: &MultipartRef, number: u16, bytes: Vec<u8>) -> Result<UploadedPart> {
        self.faults.check("upload_part")?;
        self.parts.set(self.parts.get() + 1);
        if !(1..=R2_MAX_PARTS).contains(&u64::from(number)) {
            return Err(Error::Storage(format!("part number {number} out of range")));
        }
        let mut uploads = self.uploads.borrow_mut();
        let (_, _, parts) = uploads.get_mut(&mp.upload_id).ok_or_else(|| Error::Storage("no such upload".into()))?;
        let etag = format!("etag-{number}-{}", bytes.len());
        parts.insert(number, bytes);
        Ok(UploadedPart { number, etag })
    }

    async fn complete(&self, mp: &MultipartRef, parts: Vec<UploadedPart>) -> Result<ObjectInfo> {
        self.faults.check("complete")?;
        self.completes.set(self.completes.get() + 1);
        let (key, meta, stored) =
            self.uploads.borrow_mut().remove(&mp.upload_id).ok_or_else(|| Error::Storage("no such upload".into()))?;
        let mut bytes = Vec::new();
        let mut first_size = None;
        let mut sizes = Vec::new();
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
            sizes.push(data.len());
        }
        self.part_sizes.borrow_mut().insert(key.clone(), sizes);
        let info = self.store(key, bytes, meta);
        // the object is made, but the caller hears a failure (a lost answer, a crash)
        self.faults.check("complete:after")?;
        Ok(info)
    }

    async fn abort(&self, mp: &MultipartRef) -> Result<()> {
        self.faults.check("abort")?;
        self.aborts.set(self.aborts.get() + 1);
        self.uploads.borrow_mut().remove(&mp.upload_id);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.faults.check("delete")?;
        self.deletes.set(self.deletes.get() + 1);
        self.objects.borrow_mut().remove(key);
        Ok(())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        self.faults.check("head")?;
        self.reads.set(self.reads.get() + 1);
        Ok(self.objects.borrow().get(key).map(|(b, m, at)| info_of(b, m, *at)))
    }

    async fn get(&self, key: &str) -> Result<Option<(ObjectInfo, Payload)>> {
        self.faults.check("get")?;
        self.reads.set(self.reads.get() + 1);
        Ok(self.objects.borrow().get(key).map(|(b, m, at)| (info_of(b, m, *at), Payload::new(b.clone()))))
    }

    async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.faults.check("get")?;
        self.reads.set(self.reads.get() + 1);
        Ok(self.object(key))
    }

    async fn get_range_body(&self, key: &str, offset: u64, len: u64) -> Result<Option<Payload>> {
        Ok(self.get_range(key, offset, len).await?.map(Payload::new))
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Vec<u8>>> {
        self.faults.check("get")?;
        self.reads.set(self.reads.get() + 1);
        Ok(self.object(key).map(|b| {
            let start = (offset as usize).min(b.len());
            let end = (offset.saturating_add(len) as usize).min(b.len());
            b[start..end].to_vec()
        }))
    }

    async fn sha256(&self, key: &str) -> Result<String> {
        self.faults.check("sha256")?;
        let objects = self.objects.borrow();
        let (bytes, _, _) = objects.get(key).ok_or_else(|| Error::Storage(format!("r2: no object {key}")))?;
        Ok(hex::encode(Sha256::digest(bytes)))
    }

    async fn crc32(&self, key: &str) -> Result<u32> {
        self.faults.check("crc32")?;
        self.reads.set(self.reads.get() + 1);
        let objects = self.objects.borrow();
        let (bytes, _, _) = objects.get(key).ok_or_else(|| Error::Storage(format!("r2: no object {key}")))?;
        Ok(crc32fast::hash(bytes))
    }
}

/// A KV entry: its value, the TTL it was written with, its metadata.
pub type Entry = (String, Option<u64>, Option<String>);

/// KV in memory (ordered, as KV lists); remembers the TTL each key was written with.
#[derive(Default)]
pub struct MemoryMeta {
    pub entries: RefCell<BTreeMap<String, Entry>>,
    pub faults: Faults,
    /// Keys per page of a list (0: KV's, [`KV_LIST_PAGE`]).
    pub page: Cell<usize>,
    /// Reads (`get`) so far, for tests that count what a request costs.
    pub gets: Cell<u32>,
    /// Writes and deletes so far (KV bills them alike).
    pub writes: Cell<u32>,
    /// Lists so far.
    pub lists: Cell<u32>,
}

impl MemoryMeta {
    pub fn value(&self, key: &str) -> Option<String> {
        self.entries.borrow().get(key).map(|(v, _, _)| v.clone())
    }

    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.entries.borrow().keys().filter(|k| k.starts_with(prefix)).cloned().collect()
    }

    fn write(&self, key: &str, value: String, ttl_secs: Option<u64>, metadata: Option<String>) -> Result<()> {
        self.faults.check(&format!("put:{}", key.split(':').next().unwrap_or("")))?;
        check_kv_ttl(ttl_secs)?;
        if metadata.as_ref().is_some_and(|m| m.len() > KV_METADATA_BYTES) {
            return Err(Error::Storage(format!("KV refuses metadata over {KV_METADATA_BYTES} bytes")));
        }
        self.entries.borrow_mut().insert(key.into(), (value, ttl_secs, metadata));
        self.writes.set(self.writes.get() + 1);
        Ok(())
    }
}

impl MetaStore for MemoryMeta {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        self.faults.check("get")?;
        self.gets.set(self.gets.get() + 1);
        Ok(self.value(key))
    }

    async fn put(&self, key: &str, value: String, ttl_secs: Option<u64>) -> Result<()> {
        self.write(key, value, ttl_secs, None)
    }

    async fn put_listed(&self, key: &str, metadata: &str, ttl_secs: Option<u64>) -> Result<()> {
        self.write(key, String::new(), ttl_secs, Some(metadata.into()))
    }

    async fn list(&self, prefix: &str, cursor: Option<&str>) -> Result<Listed> {
        self.faults.check("list")?;
        self.lists.set(self.lists.get() + 1);
        let page = match self.page.get() {
            0 => KV_LIST_PAGE,
            n => n,
        };
        let entries = self.entries.borrow();
        let mut keys: Vec<(String, Option<String>)> = entries
            .range(cursor.unwrap_or(prefix).to_string()..)
            .filter(|(k, _)| cursor.is_none_or(|c| k.as_str() > c))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, (_, _, m))| (k.clone(), m.clone()))
            .take(page + 1)
            .collect();
        let more = keys.len() > page;
        keys.truncate(page);
        let cursor = if more { keys.last().map(|(k, _)| k.clone()) } else { None };
        Ok(Listed { keys, cursor })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.faults.check("delete")?;
        self.entries.borrow_mut().remove(key);
        self.writes.set(self.writes.get() + 1);
        Ok(())
    }
}

/// The Upload object's storage in memory: the state kept as JSON, the tail as rows by the
/// offset in the tail of their first byte, as the object's SQLite keeps them. It counts what
/// saves write, and can fail saves.
#[derive(Default)]
pub struct MemoryUploadStore {
    pub state: RefCell<Option<String>>,
    pub tail: RefCell<BTreeMap<u64, Vec<u8>>>,
    pub saves: Cell<u32>,
    /// Bytes written by saves: the state's JSON and the tail bytes.
    pub written: Cell<u64>,
    /// Bytes of the tail read back.
    pub tail_read: Cell<u64>,
    /// Saves to fail before they write anything (the object's storage failing, or the
    /// object dying before its write), one each.
    pub fail_saves: Cell<u32>,
}

impl MemoryUploadStore {
    /// The tail's rows put together from the start, as far as they reach without a gap (a
    /// later row overwrites what an earlier one holds past its start).
    fn rows(&self, len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for (pos, data) in self.tail.borrow().range(..len) {
            if *pos as usize > out.len() {
                break;
            }
            out.truncate(*pos as usize);
            out.extend_from_slice(data);
        }
        out
    }
}

impl UploadStore for MemoryUploadStore {
    fn load(&self) -> Result<Option<String>> {
        Ok(self.state.borrow().clone())
    }

    fn tail(&self, len: u64) -> Result<Vec<u8>> {
        let mut out = self.rows(len);
        if (out.len() as u64) < len {
            return Err(Error::Internal(format!("a tail of {} bytes, not {len}", out.len())));
        }
        out.truncate(len as usize);
        self.tail_read.set(self.tail_read.get() + len);
        Ok(out)
    }

    fn save(&self, state: &str, tail_len: u64, new_tail: &[u8]) -> Result<()> {
        if self.fail_saves.get() > 0 {
            self.fail_saves.set(self.fail_saves.get() - 1);
            return Err(Error::Storage("injected save failure".into()));
        }
        let at = tail_len
            .checked_sub(new_tail.len() as u64)
            .ok_or_else(|| Error::Internal("more new tail bytes than the tail holds".into()))?;
        self.written.set(self.written.get() + state.len() as u64 + new_tail.len() as u64);
        *self.state.borrow_mut() = Some(state.into());
        let mut rows = self.tail.borrow_mut();
        rows.split_off(&at);
        if !new_tail.is_empty() {
            rows.insert(at, new_tail.to_vec());
        }
        drop(rows);
        assert!(self.rows(tail_len).len() as u64 >= tail_len, "the stored tail reaches tail_len");
        self.saves.set(self.saves.get() + 1);
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        *self.state.borrow_mut() = None;
        self.tail.borrow_mut().clear();
        Ok(())
    }
}

/// A ledger object's storage in memory. It can fail calls, by operation name.
#[derive(Default)]
pub struct MemoryLedger {
    pub entries: RefCell<BTreeMap<String, String>>,
    /// Calls to fail, by operation name (`put`, `get`, ...), each once; `write:{p}` fails a
    /// write that puts a key starting `{p}:` (an account's `write:f`: the one listing a file).
    pub fail: RefCell<Vec<&'static str>>,
}

impl MemoryLedger {
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    fn fault(&self, op: &str) -> Result<()> {
        let mut fail = self.fail.borrow_mut();
        match fail.iter().position(|f| *f == op) {
            Some(i) => {
                fail.remove(i);
                Err(Error::Storage(format!("injected {op} failure")))
            }
            None => Ok(()),
        }
    }
}

impl LedgerStore for MemoryLedger {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        self.fault("get")?;
        Ok(self.entries.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, value: &str) -> Result<()> {
        self.fault("put")?;
        self.entries.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.fault("delete")?;
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.fault("list")?;
        let e = self.entries.borrow();
        Ok(e.range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<(String, String)>> {
        self.fault("list")?;
        let e = self.entries.borrow();
        let from = after.map_or(prefix.to_string(), |a| a.to_string());
        Ok(e.range(from..)
            .filter(|(k, _)| Some(k.as_str()) != after)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn list_tail(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>> {
        let mut all = self.list(prefix).await?;
        Ok(all.split_off(all.len().saturating_sub(limit)))
    }

    async fn write(&self, puts: &[(String, String)], deletes: &[String]) -> Result<()> {
        self.fault("write")?;
        for (k, _) in puts {
            if let Some((prefix, _)) = k.split_once(':') {
                self.fault(&format!("write:{prefix}"))?;
            }
        }
        let mut e = self.entries.borrow_mut();
        for k in deletes {
            e.remove(k);
        }
        for (k, v) in puts {
            e.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    async fn clear(&self) -> Result<()> {
        self.fault("clear")?;
        self.entries.borrow_mut().clear();
        Ok(())
    }
}
