//! Resumable uploads: the work of the Upload Durable Object, generic over its storage so it
//! runs on the host. Each operation loads the state, applies a pure transition
//! ([`super::upload`]), does the I/O the transition asked for, and saves the state (and the
//! tail bytes) in one atomic write before answering, so a lost answer or a crash mid-request
//! leaves the upload exactly where the last answer said it was.

use bytes::Bytes;
use futures_util::Stream;

use super::files::FileRecord;
use super::part_plan::PartPlan;
use super::upload::{Accept, NewUpload, UploadState, UPLOAD_NOT_FOUND};
use super::writer::{feed, finish, Cut, FeedLimits, Target};
use super::Ctx;
use crate::error::{Error, Result};
use crate::http::checksum::Checksum;
use crate::store::{BlobMeta, BlobStore, Janitor, MetaStore};

/// The Upload object's own storage: the state, and the tail (bytes after the last full part).
/// `save` writes both atomically.
pub trait UploadStore {
    fn load(&self) -> Result<Option<UploadState>>;
    fn tail(&self) -> Result<Vec<u8>>;
    fn save(&self, state: &UploadState, tail: Option<&[u8]>) -> Result<()>;
    fn clear(&self) -> Result<()>;
}

/// An append as a dialect asks for it (it crosses to the Durable Object as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppendAsk {
    /// Where the client says the body starts (`None`: wherever the upload stands).
    pub offset: Option<u64>,
    /// How many bytes the body carries, when known.
    pub body_len: Option<u64>,
    /// A deferred total length being announced now.
    pub set_length: Option<u64>,
    /// `Upload-Checksum` of this body; on mismatch nothing of it is kept.
    pub checksum: Option<String>,
    /// Complete the upload once the body is in.
    pub complete: bool,
    /// With `complete`: the sha256 the file must have (a mismatch leaves the upload intact).
    pub expected_sha256: Option<String>,
    /// Complete as soon as the declared length is reached (tus).
    pub complete_at_length: bool,
    /// PortSIP's upload token, when the dialect has one.
    pub token: Option<String>,
    /// Refuse (409) a re-sent range instead of acknowledging it (tus requires it).
    pub strict_offset: bool,
}

fn meta_for(st: &UploadState) -> BlobMeta {
    let n = &st.new;
    super::blob_meta(&n.tenant, &n.id, &n.name, &n.dialect, &n.content_type)
}

impl<'a, B: BlobStore, M: MetaStore, J: Janitor> Ctx<'a, B, M, J> {
    /// Opens a new upload in `store`.
    pub fn create_upload<U: UploadStore>(&self, store: &U, new: NewUpload) -> Result<UploadState> {
        if store.load()?.is_some() {
            return Err(Error::Conflict("upload id already in use".into()));
        }
        let plan = PartPlan::new(new.length, self.config.max_file_size, self.config.min_part_size)?;
        let st =
            UploadState::new(new, plan.part_size, self.config.max_file_size, self.config.idle_timeout, (self.now)())?;
        store.save(&st, Some(&[]))?;
        Ok(st)
    }

    /// The upload, if it exists for this tenant and has not gone idle. Another tenant's
    /// upload is "not found", so ids cannot be probed.
    pub fn load_upload<U: UploadStore>(&self, store: &U, tenant: &str, token: Option<&str>) -> Result<UploadState> {
        let st = store.load()?.ok_or_else(|| Error::not_found(UPLOAD_NOT_FOUND))?;
        if st.new.tenant != tenant || (st.is_open() && (self.now)() >= st.idle_deadline()) {
            return Err(Error::not_found(UPLOAD_NOT_FOUND));
        }
        if let (Some(want), Some(got)) = (&st.new.token, token) {
            use subtle::ConstantTimeEq;
            if want.as_bytes().ct_eq(got.as_bytes()).unwrap_u8() != 1 {
                return Err(Error::Forbidden("invalid upload token".into()));
            }
        }
        Ok(st)
    }

    /// Appends a body (and completes when asked or when the length is reached).
    pub async fn append<U, S>(&self, store: &U, tenant: &str, ask: AppendAsk, body: S) -> Result<UploadState>
    where
        U: UploadStore,
        S: Stream<Item = Result<Bytes>> + Unpin,
    {
        let mut checksum = ask.checksum.as_deref().map(Checksum::parse).transpose()?;
        let mut st = self.load_upload(store, tenant, ask.token.as_deref())?;
        if ask.complete {
            if let Some(file) = &st.file {
                // A completion retried because its answer was lost: the same answer again.
                if ask.expected_sha256.as_ref().is_some_and(|want| !want.eq_ignore_ascii_case(&file.sha256)) {
                    return Err(Error::DigestMismatch);
                }
                return Ok(st);
            }
        }
        if let Some(len) = ask.set_length {
            st.set_length(len)?;
        }
        let limit = match st.accept(ask.offset, ask.body_len)? {
            Accept::AlreadyHave if ask.strict_offset => {
                return Err(Error::Conflict(format!("offset mismatch: the upload is at {}", st.offset)))
            }
            Accept::AlreadyHave => return Ok(st),
            Accept::Apply { limit } => limit,
        };
        st.adopt_chunk_size(ask.body_len);
        let tail = if st.tail_len > 0 { store.tail()? } else { Vec::new() };
        let mut cut = st.cut(tail);
        let meta = meta_for(&st);
        let target = Target { store: self.blobs, key: &st.r2_key, meta: &meta, part_size: st.part_size };
        let overrun = st.overrun();
        let limits = FeedLimits { limit, too_large: 0, flush_full_tail: true };
        let fed = feed(&target, &mut cut, limits, body, &mut |b| {
            if let Some(c) = checksum.as_mut() {
                c.update(b)
            }
        })
        .await;
        if let Err(e) = fed {
            let e = if matches!(e, Error::TooLarge { .. }) { overrun } else { e };
            // A client that went away mid-body: keep what arrived, so it resumes from there.
            // Not with a checksum (the whole body is checked or nothing is kept), and not
            // after a storage failure (the part in flight may be lost).
            if matches!(e, Error::BadRequest(_)) && checksum.is_none() && cut.size() > st.offset {
                st.absorb(&cut, (self.now)());
                store.save(&st, Some(&cut.tail))?;
            }
            return Err(e);
        }
        if let Some(c) = checksum {
            if !c.matches() {
                return Err(Error::ChecksumMismatch);
            }
        }
        st.absorb(&cut, (self.now)());
        let complete = ask.complete || (ask.complete_at_length && st.length() == Some(st.offset));
        if complete {
            // Checked before anything is saved: a wrong digest leaves the upload as it was.
            st.check_complete(ask.expected_sha256.as_deref())?;
        }
        store.save(&st, Some(&cut.tail))?;
        if complete {
            return self.finish_upload(store, st, cut).await;
        }
        Ok(st)
    }

    async fn finish_upload<U: UploadStore>(&self, store: &U, mut st: UploadState, cut: Cut) -> Result<UploadState> {
        let meta = meta_for(&st);
        let target = Target { store: self.blobs, key: &st.r2_key, meta: &meta, part_size: st.part_size };
        let written = finish(&target, cut).await?;
        let now = (self.now)();
        let record = FileRecord {
            id: st.new.id.clone(),
            tenant: st.new.tenant.clone(),
            name: st.new.name.clone(),
            content_type: st.new.content_type.clone(),
            size: written.size,
            sha256: written.sha256,
            created_at: now,
            expires_at: None,
            ttl: None,
            dialect: st.new.dialect.clone(),
            r2_key: st.r2_key.clone(),
        };
        let record = self.commit_file(record, st.new.ttl).await?;
        st.completed(record, now);
        store.save(&st, Some(&[]))?;
        Ok(st)
    }

    /// Cancels an upload: aborts the R2 multipart upload and forgets everything. A finished
    /// upload is "not found" unless `delete_finished`, which deletes its file too.
    pub async fn cancel_upload<U: UploadStore>(
        &self,
        store: &U,
        tenant: &str,
        token: Option<&str>,
        delete_finished: bool,
    ) -> Result<()> {
        let st = self.load_upload(store, tenant, token)?;
        match (&st.file, delete_finished) {
            (Some(_), false) => return Err(Error::not_found(UPLOAD_NOT_FOUND)),
            (Some(file), true) => self.delete_file(file).await?,
            (None, _) => {
                if let Some(mp) = &st.multipart {
                    self.blobs.abort(mp).await?;
                }
            }
        }
        store.clear()
    }

    /// The alarm: abort an upload gone idle, delete a finished file's bytes once it expires.
    /// Returns when to wake next, if ever.
    pub async fn upload_alarm<U: UploadStore>(&self, store: &U) -> Result<Option<u64>> {
        let Some(st) = store.load()? else { return Ok(None) };
        let now = (self.now)();
        match &st.file {
            None if now >= st.idle_deadline() => {
                if let Some(mp) = &st.multipart {
                    let _ = self.blobs.abort(mp).await;
                }
                store.clear()?;
                Ok(None)
            }
            None => Ok(Some(st.idle_deadline())),
            Some(file) => match file.expires_at {
                Some(at) if now >= at => {
                    self.blobs.delete(&file.r2_key).await?;
                    store.clear()?;
                    Ok(None)
                }
                // A finished upload is remembered for the idle timeout after completion, so a
                // retried last request gets the same answer; then only its file record (and
                // the expiry the janitor was given at completion) remains.
                _ if now >= st.idle_deadline() => {
                    store.clear()?;
                    Ok(None)
                }
                _ => Ok(Some(next_alarm(&st))),
            },
        }
    }
}

/// When the alarm should next fire for this state.
pub fn next_alarm(st: &UploadState) -> u64 {
    let forget = st.idle_deadline();
    st.file.as_ref().and_then(|f| f.expires_at).map_or(forget, |at| at.min(forget))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, MIB};
    use crate::engine::upload::Phase;
    use crate::store::memory::{MemoryBlobs, MemoryJanitor, MemoryMeta, MemoryUploadStore};
    use futures_executor::block_on;
    use futures_util::stream;
    use sha2::{Digest, Sha256};
    use std::cell::Cell;

    struct World {
        config: Config,
        blobs: MemoryBlobs,
        meta: MemoryMeta,
        janitor: MemoryJanitor,
        store: MemoryUploadStore,
        now: Cell<u64>,
    }

    impl World {
        fn new() -> World {
            World {
                config: Config::default(),
                blobs: MemoryBlobs::default(),
                meta: MemoryMeta::default(),
                janitor: MemoryJanitor::default(),
                store: MemoryUploadStore::default(),
                now: Cell::new(1_000_000),
            }
        }

        fn ctx<T>(&self, f: impl FnOnce(&Ctx<'_, MemoryBlobs, MemoryMeta, MemoryJanitor>) -> T) -> T {
            let now = || self.now.get();
            f(&Ctx { config: &self.config, blobs: &self.blobs, meta: &self.meta, janitor: &self.janitor, now: &now })
        }

        fn create(&self, length: Option<u64>, token: Option<&str>) -> UploadState {
            let new = NewUpload {
                id: "up1".into(),
                tenant: "acme".into(),
                dialect: "tus".into(),
                name: "f.bin".into(),
                content_type: "application/octet-stream".into(),
                metadata: None,
                length,
                ttl: None,
                token: token.map(Into::into),
            };
            self.ctx(|c| c.create_upload(&self.store, new)).unwrap()
        }

        fn append(&self, ask: AppendAsk, bytes: &[u8]) -> Result<UploadState> {
            let chunks: Vec<Result<Bytes>> = bytes.chunks(100_003).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
            self.ctx(|c| block_on(c.append(&self.store, "acme", ask, stream::iter(chunks))))
        }

        fn state(&self) -> UploadState {
            self.store.load().unwrap().unwrap()
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i as u64).wrapping_mul(0x9E3779B97F4A7C15).rotate_left(17) as u8).collect()
    }

    fn at(offset: u64, len: usize) -> AppendAsk {
        AppendAsk { offset: Some(offset), body_len: Some(len as u64), complete_at_length: true, ..Default::default() }
    }

    #[test]
    fn any_request_sizes_give_equal_parts_and_the_whole_digest() {
        let len = 23 * MIB as usize + 12345;
        let body = data(len);
        for chunk in [MIB as usize, 5 * MIB as usize, 7 * MIB as usize, 13 * MIB as usize, len] {
            let w = World::new();
            w.create(Some(len as u64), None);
            let mut off = 0;
            while off < len {
                let end = (off + chunk).min(len);
                let st = w.append(at(off as u64, end - off), &body[off..end]).unwrap();
                assert_eq!(st.offset, end as u64);
                off = end;
            }
            let st = w.state();
            assert_eq!(st.phase, Phase::Complete, "chunk {chunk}");
            let file = st.file.unwrap();
            assert_eq!(file.sha256, hex::encode(Sha256::digest(&body)));
            // MemoryBlobs refuses unequal or small parts, so reaching here proves the cuts
            assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body, "chunk {chunk}");
            assert!(w.meta.entries.borrow().contains_key(&FileRecord::kv_key("up1")));
        }
    }

    #[test]
    fn chunks_of_a_part_size_leave_no_tail_between_requests() {
        let w = World::new();
        let len = 40 * MIB as usize;
        let body = data(len);
        w.create(Some(len as u64), None);
        for off in (0..len).step_by(8 * MIB as usize) {
            let st = w.append(at(off as u64, 8 * MIB as usize), &body[off..off + 8 * MIB as usize]).unwrap();
            assert_eq!(st.part_size, 8 * MIB, "the first chunk set the part size");
            assert_eq!(st.tail_len, 0, "nothing to keep between requests");
        }
        let file = w.state().file.unwrap();
        assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body);
    }

    #[test]
    fn a_body_shorter_than_announced_keeps_what_arrived() {
        let w = World::new();
        let body = data(12 * MIB as usize);
        w.create(Some(body.len() as u64), None);
        // announces 12 MiB, sends 7 MiB and ends: one part cut, 2 MiB kept as the tail
        let short = w.append(at(0, body.len()), &body[..7 * MIB as usize]).unwrap();
        assert_eq!((short.offset, short.tail_len, short.parts.len()), (7 * MIB, 2 * MIB, 1));
        w.append(at(7 * MIB, 5 * MIB as usize), &body[7 * MIB as usize..]).unwrap();
        let file = w.state().file.unwrap();
        assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body);
    }

    #[test]
    fn tiny_requests_and_single_byte_file() {
        let w = World::new();
        w.create(Some(3), None);
        for (i, b) in b"abc".iter().enumerate() {
            w.append(at(i as u64, 1), &[*b]).unwrap();
        }
        let file = w.state().file.unwrap();
        assert_eq!(w.blobs.object(&file.r2_key).unwrap(), b"abc");
        assert_eq!(w.blobs.puts.get(), 1, "under one part: a single put");
        // an empty file completes on its first (empty) append
        let w = World::new();
        w.create(Some(0), None);
        w.append(at(0, 0), b"").unwrap();
        assert_eq!(w.state().phase, Phase::Complete);
    }

    #[test]
    fn retries_are_acknowledged_not_applied_twice_and_gaps_refused() {
        let w = World::new();
        w.create(Some(30), None);
        w.append(at(0, 10), &data(10)).unwrap();
        let st = w.append(at(0, 10), &data(10)).unwrap();
        assert_eq!(st.offset, 10, "a retry of what was received changes nothing");
        let strict = AppendAsk { strict_offset: true, ..at(0, 10) };
        assert_eq!(w.append(strict, &data(10)).unwrap_err().status(), 409, "tus refuses even an exact retry");
        assert_eq!(w.append(at(5, 10), &data(10)).unwrap_err().status(), 409, "overlap");
        assert_eq!(w.append(at(11, 1), b"x").unwrap_err().status(), 409, "gap");
        assert_eq!(w.append(at(10, 21), &data(21)).unwrap_err().status(), 400, "past the length");
        assert_eq!(w.state().offset, 10);
    }

    #[test]
    fn body_running_past_the_length_is_refused_and_not_kept() {
        let w = World::new();
        w.create(Some(10), None);
        // the client declares no length for its body, then sends too much
        let ask = AppendAsk { offset: Some(0), complete_at_length: true, ..Default::default() };
        assert_eq!(w.append(ask, &data(11)).unwrap_err().status(), 400);
        assert_eq!(w.state().offset, 0);
    }

    #[test]
    fn checksum_mismatch_discards_the_chunk() {
        use base64::Engine;
        let w = World::new();
        w.create(Some(6 * MIB), None);
        let body = data(6 * MIB as usize);
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(d));
        let wrong = AppendAsk { checksum: Some(format!("sha256 {}", b64(b"nope"))), ..at(0, body.len()) };
        assert_eq!(w.append(wrong, &body).unwrap_err(), Error::ChecksumMismatch);
        let st = w.state();
        assert_eq!((st.offset, st.tail_len, st.hash.len()), (0, 0, 0), "nothing of it kept");
        let right = AppendAsk { checksum: Some(format!("sha256 {}", b64(&body))), ..at(0, body.len()) };
        w.append(right, &body).unwrap();
        let file = w.state().file.unwrap();
        assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body, "re-sent part numbers overwrite the discarded ones");
    }

    #[test]
    fn a_body_cut_short_keeps_what_arrived() {
        let w = World::new();
        w.create(Some(12 * MIB), None);
        let body = data(12 * MIB as usize);
        let half: Vec<Result<Bytes>> = vec![
            Ok(Bytes::copy_from_slice(&body[..7 * MIB as usize])),
            Err(Error::bad_request("reading request body: aborted")),
        ];
        let err = w.ctx(|c| block_on(c.append(&w.store, "acme", at(0, body.len()), stream::iter(half)))).unwrap_err();
        assert_eq!(err.status(), 400);
        let st = w.state();
        assert_eq!(st.offset, 7 * MIB);
        w.append(at(st.offset, 5 * MIB as usize), &body[7 * MIB as usize..]).unwrap();
        let file = w.state().file.unwrap();
        assert_eq!(file.sha256, hex::encode(Sha256::digest(&body)));
        assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body);
    }

    #[test]
    fn portsip_style_complete_with_digest() {
        let w = World::new();
        w.create(None, Some("tok"));
        let append =
            |bytes: &[u8], token: &str| w.append(AppendAsk { token: Some(token.into()), ..Default::default() }, bytes);
        append(b"hello ", "tok").unwrap();
        assert_eq!(append(b"x", "wrong").unwrap_err().status(), 403);
        assert_eq!(w.state().offset, 6, "a wrong token changes nothing");
        let complete = |want: String| AppendAsk {
            token: Some("tok".into()),
            complete: true,
            expected_sha256: Some(want),
            ..Default::default()
        };
        // complete with a final body and a wrong digest: refused, upload left intact
        assert_eq!(w.append(complete("00".repeat(32)), b"world").unwrap_err(), Error::DigestMismatch);
        assert_eq!(w.state().offset, 6);
        assert!(w.state().is_open());
        let digest = hex::encode(Sha256::digest(b"hello world"));
        let st = w.append(complete(digest.clone()), b"world").unwrap();
        assert_eq!(st.file.unwrap().sha256, digest);
        assert_eq!(append(b"more", "tok").unwrap_err().status(), 404, "append after complete");
        // a retried completion (its answer lost) gets the same file, not an error
        assert_eq!(w.append(complete(digest.clone()), b"").unwrap().file.unwrap().sha256, digest);
        assert_eq!(w.append(complete("1".repeat(64)), b"").unwrap_err(), Error::DigestMismatch);
    }

    #[test]
    fn tenants_cancel_and_alarms() {
        let w = World::new();
        w.create(Some(20 * MIB), None);
        w.append(at(0, 11 * MIB as usize), &data(11 * MIB as usize)).unwrap();
        assert!(w.state().multipart.is_some());
        let other = w.ctx(|c| c.load_upload(&w.store, "someone-else", None)).unwrap_err();
        assert_eq!(other.status(), 404);

        // idle: the alarm aborts the multipart upload and forgets the upload
        assert_eq!(w.ctx(|c| block_on(c.upload_alarm(&w.store))).unwrap(), Some(w.state().idle_deadline()));
        w.now.set(w.state().idle_deadline());
        assert_eq!(w.append(at(11 * MIB, 1), b"x").unwrap_err().status(), 404, "gone idle");
        assert_eq!(w.ctx(|c| block_on(c.upload_alarm(&w.store))).unwrap(), None);
        assert!(w.store.load().unwrap().is_none());
        assert_eq!(w.blobs.open_uploads(), 0);

        // cancel
        let w = World::new();
        w.create(Some(20 * MIB), None);
        w.append(at(0, 11 * MIB as usize), &data(11 * MIB as usize)).unwrap();
        w.ctx(|c| block_on(c.cancel_upload(&w.store, "acme", None, false))).unwrap();
        assert!(w.store.load().unwrap().is_none());
        assert_eq!(w.blobs.open_uploads(), 0);
    }

    #[test]
    fn finished_files_with_a_ttl_are_deleted_by_the_alarm() {
        let w = World::new();
        let new = NewUpload {
            id: "up2".into(),
            tenant: "acme".into(),
            dialect: "portsip".into(),
            name: "t".into(),
            content_type: "application/octet-stream".into(),
            metadata: None,
            length: None,
            ttl: Some(60),
            token: None,
        };
        w.ctx(|c| c.create_upload(&w.store, new)).unwrap();
        let st = w.append(AppendAsk { complete: true, ..Default::default() }, b"temp").unwrap();
        // the ask crosses to the Durable Object as JSON: it must survive the trip
        let ask = AppendAsk { complete: true, ..Default::default() };
        assert_eq!(serde_json::from_str::<AppendAsk>(&serde_json::to_string(&ask).unwrap()).unwrap(), ask);
        let file = st.file.clone().unwrap();
        assert_eq!(next_alarm(&st), w.now.get() + 60_000);
        assert_eq!(w.janitor.scheduled.borrow()[0], ("up2".into(), file.r2_key.clone(), w.now.get() + 60_000));
        w.now.set(w.now.get() + 60_000);
        assert_eq!(w.ctx(|c| block_on(c.upload_alarm(&w.store))).unwrap(), None);
        assert!(w.blobs.object(&file.r2_key).is_none());
    }

    #[test]
    fn a_finished_upload_is_forgotten_after_the_idle_timeout_and_its_file_stays() {
        let w = World::new();
        w.create(Some(4), None);
        let st = w.append(at(0, 4), b"keep").unwrap();
        let file = st.file.clone().expect("complete at its length");
        assert_eq!(next_alarm(&st), st.idle_deadline(), "no expiry: wake to forget the upload");
        assert_eq!(w.ctx(|c| block_on(c.upload_alarm(&w.store))).unwrap(), Some(st.idle_deadline()));
        // until then, a retried last request still gets its answer
        assert_eq!(w.append(at(0, 4), b"keep").unwrap().file, Some(file.clone()));
        w.now.set(st.idle_deadline());
        assert_eq!(w.ctx(|c| block_on(c.upload_alarm(&w.store))).unwrap(), None);
        assert!(w.store.load().unwrap().is_none(), "the object keeps nothing");
        assert_eq!(w.blobs.object(&file.r2_key).as_deref(), Some(&b"keep"[..]), "the file stays");
        assert!(w.meta.entries.borrow().contains_key(&FileRecord::kv_key(&file.id)));
    }
}
