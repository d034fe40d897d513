//! Resumable uploads: the work of the Upload Durable Object, generic over its storage so it
//! runs on the host. Each operation loads the state, applies a pure transition
//! ([`super::state`]), does the I/O the transition asked for, and saves the state (and the
//! tail bytes) in one atomic write before answering, so a lost answer or a crash mid-request
//! leaves the upload exactly where the last answer said it was.
//!
//! The tail (bytes received but not yet cut into a part) is stored append-only: a request
//! saves only the bytes it brought, and the stored tail is read back only when a part is
//! cut from it or the upload is sealed, so a small request costs its own bytes, not the
//! tail's.
//!
//! Completion is a phase of its own ([`Phase::Finishing`]): saved before the first of its
//! writes, each of its steps repeatable, and finished by whichever comes first of the next
//! request for the upload or its alarm. No dialect reports an upload complete before its
//! file is downloadable.

use bytes::Bytes;
use futures_util::Stream;

use super::calls::Cancel;
use super::plan::PartPlan;
use super::sha256::Running;
use super::state::{Accept, Append, At, FinishStep, NewUpload, Phase, Resend, Then, UploadState};
use super::state::{UPLOAD_EXPIRED, UPLOAD_NOT_FOUND};
use super::writer::{feed, seal, Cut, FeedLimits, Target};
use crate::engine::file::record::FileRecord;
use crate::engine::{file::limits, Ctx};
use crate::error::{Error, Result};
use crate::http::checksum::Checksum;
use crate::store::object::UploadStore;
use crate::store::{BlobMeta, BlobStore, Platform};

/// The upload's state, typed, over its object's storage (which keeps it as JSON).
pub trait Saved: UploadStore {
    /// The saved state, if any.
    fn state(&self) -> Result<Option<UploadState>> {
        match self.load()? {
            None => Ok(None),
            Some(json) => {
                serde_json::from_str(&json).map(Some).map_err(|e| Error::Internal(format!("upload state: {e}")))
            }
        }
    }

    /// Saves the state and the end of its tail (see [`UploadStore::save`]).
    fn save_state(&self, st: &UploadState, new_tail: &[u8]) -> Result<()> {
        debug_assert!(st.tail_len <= st.part_size, "the tail never exceeds one part");
        let json = serde_json::to_string(st).map_err(|e| Error::Internal(format!("upload state: {e}")))?;
        self.save(&json, st.tail_len, new_tail)
    }
}

impl<U: UploadStore + ?Sized> Saved for U {}

/// How long finishing is retried (by the alarm, every minute) before the upload is dropped.
const FINISH_RETRY_MS: u64 = 60_000;
/// How long an upload's reservation holds at least before its account may free it (an
/// upload still open then keeps going; its file is counted when it is published).
const UPLOAD_RESERVATION_MS: u64 = 24 * 3_600_000;

/// The R2 metadata of the upload's object: fixed when its multipart upload begins, so what
/// only completion knows (its time and digest) is left for reads to take from the object.
fn meta_for(st: &UploadState) -> BlobMeta {
    st.new.template().blob_meta()
}

/// The metadata of a single put at completion: everything, the digest too if known.
fn sealed_meta(st: &UploadState) -> BlobMeta {
    let f = st.finishing.as_ref();
    FileRecord {
        sha256: f.and_then(|f| f.sha256.clone()).unwrap_or_default(),
        created_at: f.map_or(0, |f| f.started_at),
        ..st.new.template()
    }
    .expiring(st.new.ttl)
    .blob_meta()
}

impl<'a, P: Platform> Ctx<'a, P> {
    /// Opens a new upload in `store` once its tenant's account has reserved room for it
    /// (its length, or as much as it may hold when it announces none: `413` when the quota
    /// has no room). The reservation is settled when its file is published and freed when
    /// it is cancelled or aborted.
    pub async fn open_upload<U: UploadStore>(&self, store: &U, new: NewUpload) -> Result<UploadState> {
        if store.state()?.is_some() {
            return Err(Error::Conflict("upload id already in use".into()));
        }
        let template = new.template();
        let until = self.now() + UPLOAD_RESERVATION_MS.max(self.config.idle_timeout * 2_000);
        let allowance = self.reserve(&template, &new.id, new.length, until, false).await?;
        let max = allowance.map_or(self.config.max_file_size, |a| a.min(self.config.max_file_size));
        let (tenant, id) = (new.tenant.clone(), new.id.clone());
        let created = self.create_upload(store, new, max);
        if created.is_err() {
            self.release(&tenant, &id).await;
        }
        created
    }

    /// Opens a new upload of at most `max` bytes in `store`. What storage would refuse at
    /// completion (a name or metadata too large) is refused now.
    fn create_upload<U: UploadStore>(&self, store: &U, new: NewUpload, max: u64) -> Result<UploadState> {
        limits::check_name(&new.name)?;
        if new.metadata.as_ref().is_some_and(|m| m.len() > limits::MAX_UPLOAD_METADATA) {
            return Err(Error::bad_request(format!(
                "Upload-Metadata longer than {} bytes",
                limits::MAX_UPLOAD_METADATA
            )));
        }
        if store.state()?.is_some() {
            return Err(Error::Conflict("upload id already in use".into()));
        }
        let plan = PartPlan::new(new.length, max, self.config.min_part_size)?;
        let st = UploadState::new(new, plan.part_size, max, self.config.idle_timeout, self.now())?;
        limits::check_record_meta(&st.new.template())?;
        store.save_state(&st, &[])?;
        Ok(st)
    }

    /// The upload, if it exists for this tenant. Another tenant's upload is "not found", so
    /// ids cannot be probed; an open upload past its idle deadline is "expired" until its
    /// alarm forgets it.
    pub fn load_upload<U: UploadStore>(&self, store: &U, tenant: &str, token: Option<&str>) -> Result<UploadState> {
        let st =
            store.state()?.filter(|st| st.new.tenant == tenant).ok_or_else(|| Error::not_found(UPLOAD_NOT_FOUND))?;
        if st.is_open() && self.now() >= st.idle_deadline() {
            return Err(Error::Expired(UPLOAD_EXPIRED.into()));
        }
        if let (Some(want), Some(got)) = (&st.new.token, token) {
            if !want.matches(got) {
                return Err(Error::Forbidden("invalid upload token".into()));
            }
        }
        Ok(st)
    }

    /// Appends a body (and completes when asked or when the length is reached). Call with
    /// the upload's write turn held.
    pub async fn append<U, S>(
        &self,
        store: &U,
        tenant: &str,
        token: Option<&str>,
        append: Append,
        body: S,
    ) -> Result<UploadState>
    where
        U: UploadStore,
        S: Stream<Item = Result<Bytes>> + Unpin,
    {
        let mut checksum = append.checksum.as_deref().map(Checksum::parse).transpose()?;
        let mut st = self.load_upload(store, tenant, token)?;
        if st.phase == Phase::Finishing {
            st = self.finish(store, st).await?;
        }
        if let (Then::Complete { expected_sha256 }, Some(file)) = (&append.then, &st.file) {
            // A completion retried because its answer was lost: the same answer again.
            if expected_sha256.as_ref().is_some_and(|want| !want.eq_ignore_ascii_case(&file.sha256)) {
                return Err(Error::DigestMismatch);
            }
            return Ok(st);
        }
        if let Some(len) = append.set_length {
            st.set_length(len)?;
        }
        let limit = match st.accept(append.at, append.body_len)? {
            Accept::AlreadyHave => {
                let resent = matches!(append.at, At::Offset(a) if a < st.offset);
                if resent && append.resend == Resend::Refuse {
                    return Err(Error::OffsetMismatch { offset: st.offset });
                }
                return Ok(st);
            }
            Accept::Apply { limit } => limit,
        };
        st.adopt_chunk_size(append.body_len);
        let hash = if st.is_whole_file(&append, limit) {
            self.whole_file_hash()
        } else {
            st.hash.clone().map_or(Running::Unknown, Running::Resumable)
        };
        // The stored tail stays where it is unless a part is cut from it.
        let mut cut = Cut {
            multipart: st.multipart.clone(),
            parts: st.parts.clone(),
            stored: st.tail_len,
            tail: Vec::new(),
            size: st.offset,
            hash,
            first_part: 1,
        };
        let meta = meta_for(&st);
        let target = Target { store: self.blobs, key: &st.r2_key, meta: &meta, part_size: st.part_size };
        let limits = match self.config.max_request_body {
            Some(max) if max < limit => {
                FeedLimits { limit: max, over: Error::BodyTooLarge { max }, flush_full_tail: true }
            }
            _ => FeedLimits { limit, over: st.overrun(), flush_full_tail: true },
        };
        let fed = feed(&target, &mut cut, limits, body, &|len| store.tail(len), &mut |b| {
            if let Some(c) = checksum.as_mut() {
                c.update(b)
            }
        })
        .await;
        if let Err(e) = fed {
            // A client that went away or stalled mid-body: keep what arrived, so it resumes
            // from there. Not with a checksum (the whole body is checked or nothing is kept),
            // and not after a storage failure (the part in flight may be lost).
            if e.keeps_progress() && checksum.is_none() && cut.size > st.offset {
                let tail_len = cut.tail_len();
                st.absorb(cut.size, cut.multipart, cut.parts, tail_len, cut.hash.saved(), self.now());
                store.save_state(&st, &cut.tail)?;
            }
            return Err(e);
        }
        if checksum.is_some_and(|c| !c.matches()) {
            return Err(Error::ChecksumMismatch);
        }
        let complete = match &append.then {
            Then::Continue => false,
            Then::CompleteAtLength => st.length() == Some(cut.size),
            Then::Complete { .. } => true,
        };
        let tail_len = cut.tail_len();
        // only this request's bytes (or, after a part was cut, the tail it left)
        let Cut { multipart, parts, tail, size, hash, .. } = cut;
        let now = self.now();
        if !complete {
            st.absorb(size, multipart, parts, tail_len, hash.saved(), now);
            store.save_state(&st, &tail)?;
            return Ok(st);
        }
        let sha256 = hash.finish().await?;
        let expected = match append.then {
            Then::Complete { expected_sha256 } => expected_sha256,
            _ => None,
        };
        let mut next = st;
        next.absorb(size, multipart, parts, tail_len, None, now);
        // Checked before anything is saved: a wrong digest leaves the upload as it was.
        next.check_complete(expected.as_deref(), sha256.as_deref())?;
        next.begin_finishing(sha256, expected, now);
        store.save_state(&next, &tail)?;
        self.finish(store, next).await
    }

    /// Runs finishing to its end from wherever it stands, saving after each step; a failed
    /// step leaves the upload finishing, for the next request or the alarm to go on.
    pub async fn finish<U: UploadStore>(&self, store: &U, mut st: UploadState) -> Result<UploadState> {
        while let Some(step) = st.finish_step() {
            match step {
                FinishStep::Seal => {
                    let single = st.multipart.is_none();
                    let meta = if single { sealed_meta(&st) } else { meta_for(&st) };
                    let target = Target { store: self.blobs, key: &st.r2_key, meta: &meta, part_size: st.part_size };
                    let tail = if st.tail_len > 0 { store.tail(st.tail_len)? } else { Vec::new() };
                    let info = match seal(&target, st.multipart.as_ref(), st.parts.clone(), tail).await {
                        Ok(info) => info,
                        // A completion that R2 took but whose saving was lost leaves nothing
                        // to complete: the object is there.
                        Err(e) => match self.blobs.head(&st.r2_key).await? {
                            Some(info) if !single && info.size == st.offset => info,
                            _ => return Err(e),
                        },
                    };
                    // a single put carries its creation time; a multipart object's is R2's
                    let started = st.finishing.as_ref().map_or(info.uploaded, |f| f.started_at);
                    st.sealed(if single { started } else { info.uploaded });
                }
                FinishStep::Digest => {
                    let sha256 = self.blobs.sha256(&st.r2_key).await?;
                    if let Err(e) = st.digest_known(sha256) {
                        // Bytes whose digest was only known once assembled, and not the one
                        // the client asked for: they cannot be taken back apart.
                        self.blobs.delete(&st.r2_key).await?;
                        store.clear()?;
                        return Err(e);
                    }
                }
                FinishStep::Publish => {
                    let record = st.file_record()?;
                    self.publish(&record, Some(&st.new.id)).await?;
                    st.completed(record, self.now());
                }
            }
            // once sealed, `tail_len` is 0: this drops the stored tail
            store.save_state(&st, &[])?;
        }
        Ok(st)
    }

    /// Checks that a finished upload's file is still there. The object remembers a finished
    /// upload for the idle timeout, so that a retried last request gets its answer, but the
    /// file may have gone meanwhile by any route (`DELETE /v1/files/{id}`, its dialect's own
    /// deletion, expiry and the sweep): `404` once its bytes are gone, `410` once it has
    /// expired. One R2 head (strongly consistent: a deletion that has answered is seen), and
    /// nothing at all for an upload still open.
    pub async fn check_finished(&self, st: &UploadState) -> Result<()> {
        let Some(file) = &st.file else { return Ok(()) };
        file.clone().live(self.now(), UPLOAD_EXPIRED)?;
        match self.blobs.head(&file.r2_key).await? {
            Some(_) => Ok(()),
            None => Err(Error::not_found(UPLOAD_NOT_FOUND)),
        }
    }

    /// Cancels an upload: aborts the R2 multipart upload (or deletes what finishing wrote)
    /// and forgets everything. A finished upload is "not found" unless `finished` says
    /// [`Cancel::DeleteFinished`], which deletes its file too. Call with the write turn held.
    pub async fn cancel_upload<U: UploadStore>(
        &self,
        store: &U,
        tenant: &str,
        token: Option<&str>,
        finished: Cancel,
    ) -> Result<()> {
        let st = self.load_upload(store, tenant, token)?;
        match (&st.file, finished) {
            (Some(_), Cancel::KeepFinished) => return Err(Error::not_found(UPLOAD_NOT_FOUND)),
            (Some(file), Cancel::DeleteFinished) => self.delete_file(file).await?,
            (None, _) => self.drop_bytes(&st).await?,
        }
        match st.file {
            Some(_) => self.release(&st.new.tenant, &st.new.id).await,
            None => self.abort_reservation(&st.new.tenant, &st.new.id).await,
        }
        store.clear()
    }

    /// Whatever bytes an unfinished upload has in R2, and what finishing may have published.
    async fn drop_bytes(&self, st: &UploadState) -> Result<()> {
        if let Some(mp) = &st.multipart {
            self.blobs.abort(mp).await?;
        }
        match st.file_record() {
            Ok(record) => self.delete_file(&record).await,
            Err(_) if st.phase == Phase::Finishing => self.blobs.delete(&st.r2_key).await,
            Err(_) => Ok(()),
        }
    }

    /// The alarm: finish what is finishing, abort an upload gone idle, forget a finished
    /// upload the idle timeout after its completion (its file stays; its bytes are deleted
    /// at expiry by the sweep, the one path that deletes expired bytes). Returns when to
    /// wake next, if ever.
    pub async fn upload_alarm<U: UploadStore>(&self, store: &U) -> Result<Option<u64>> {
        let Some(st) = store.state()? else { return Ok(None) };
        let now = self.now();
        match st.phase {
            Phase::Open if now >= st.idle_deadline() => {
                if let Some(mp) = &st.multipart {
                    let _ = self.blobs.abort(mp).await;
                }
                self.abort_reservation(&st.new.tenant, &st.new.id).await;
                store.clear()?;
                Ok(None)
            }
            Phase::Finishing => {
                let deadline = st.idle_deadline();
                match self.finish(store, st.clone()).await {
                    Ok(done) => Ok(Some(done.idle_deadline())),
                    Err(_) if now >= deadline => {
                        let _ = self.drop_bytes(&st).await;
                        self.abort_reservation(&st.new.tenant, &st.new.id).await;
                        store.clear()?;
                        Ok(None)
                    }
                    Err(_) => Ok(Some(now + FINISH_RETRY_MS)),
                }
            }
            Phase::Complete if now >= st.idle_deadline() => {
                store.clear()?;
                Ok(None)
            }
            Phase::Open | Phase::Complete => Ok(Some(st.idle_deadline())),
        }
    }
}

/// When the alarm should next fire for this state: its idle deadline (abort, or forget), or
/// soon while finishing is still to do.
pub fn next_alarm(st: &UploadState, now: u64) -> u64 {
    match st.phase {
        Phase::Finishing => now + FINISH_RETRY_MS,
        Phase::Open | Phase::Complete => st.idle_deadline(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MIB;
    use crate::engine::file::record::Vendor;
    use crate::engine::upload::calls::Uploads;
    use crate::secret::Secret;
    use crate::testkit::{Body, World};
    use futures_executor::{block_on, LocalPool};
    use sha2::{Digest, Sha256};

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i as u64).wrapping_mul(0x9E3779B97F4A7C15).rotate_left(17) as u8).collect()
    }

    fn create(w: &World, length: Option<u64>, ttl: Option<u64>, token: Option<&str>) -> String {
        let id = crate::engine::file::ids::new_uuid();
        let new = NewUpload {
            length,
            ttl,
            token: token.map(Secret::new),
            ..NewUpload::new(&id, "acme", Vendor::Tus, "f.bin", "application/octet-stream")
        };
        block_on(w.uploads().create(new)).unwrap();
        id
    }

    fn at(offset: u64, len: usize) -> Append {
        Append {
            at: At::Offset(offset),
            body_len: Some(len as u64),
            set_length: None,
            checksum: None,
            resend: Resend::Acknowledge,
            then: Then::CompleteAtLength,
        }
    }

    fn current(then: Then) -> Append {
        Append { at: At::Current, body_len: None, set_length: None, checksum: None, resend: Resend::Acknowledge, then }
    }

    fn append(w: &World, id: &str, append: Append, bytes: &[u8]) -> Result<UploadState> {
        block_on(w.uploads().append(id, "acme", None, append, Body::from(bytes)))
    }

    fn state(w: &World, id: &str) -> UploadState {
        w.object(id).store.state().unwrap().unwrap()
    }

    fn file_of(w: &World, id: &str) -> crate::engine::file::record::FileRecord {
        state(w, id).file.expect("complete")
    }

    #[test]
    fn any_request_sizes_give_equal_parts_and_the_whole_digest() {
        let len = 23 * MIB as usize + 12345;
        let body = data(len);
        for chunk in [MIB as usize, 5 * MIB as usize, 7 * MIB as usize, 13 * MIB as usize, len] {
            let w = World::new();
            let id = create(&w, Some(len as u64), None, None);
            let mut off = 0;
            while off < len {
                let end = (off + chunk).min(len);
                let st = append(&w, &id, at(off as u64, end - off), &body[off..end]).unwrap();
                assert_eq!(st.offset, end as u64);
                off = end;
            }
            assert_eq!(state(&w, &id).phase, Phase::Complete, "chunk {chunk}");
            let file = file_of(&w, &id);
            assert_eq!(file.sha256, hex::encode(Sha256::digest(&body)));
            // MemoryBlobs refuses unequal or small parts, so reaching here proves the cuts
            assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body, "chunk {chunk}");
            assert_eq!(w.indexed("acme", &file.sha256).as_deref(), Some(id.as_str()), "indexed");
        }
    }

    #[test]
    fn chunks_of_a_part_size_leave_no_tail_between_requests() {
        let w = World::new();
        let len = 40 * MIB as usize;
        let body = data(len);
        let id = create(&w, Some(len as u64), None, None);
        for off in (0..len).step_by(8 * MIB as usize) {
            let st = append(&w, &id, at(off as u64, 8 * MIB as usize), &body[off..off + 8 * MIB as usize]).unwrap();
            assert_eq!(st.part_size, 8 * MIB, "the first chunk set the part size");
            assert_eq!(st.tail_len, 0, "nothing to keep between requests");
        }
        assert_eq!(w.blobs.object(&file_of(&w, &id).r2_key).unwrap(), body);
    }

    #[test]
    fn a_body_shorter_than_announced_keeps_what_arrived() {
        let w = World::new();
        let body = data(12 * MIB as usize);
        let id = create(&w, Some(body.len() as u64), None, None);
        // announces 12 MiB, sends 7 MiB and ends: one part cut, 2 MiB kept as the tail
        let short = append(&w, &id, at(0, body.len()), &body[..7 * MIB as usize]).unwrap();
        assert_eq!((short.offset, short.tail_len, short.parts.len()), (7 * MIB, 2 * MIB, 1));
        append(&w, &id, at(7 * MIB, 5 * MIB as usize), &body[7 * MIB as usize..]).unwrap();
        let file = file_of(&w, &id);
        assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body);
        assert_eq!(file.sha256, hex::encode(Sha256::digest(&body)), "read back: its start was hashed natively");
    }

    #[test]
    fn tiny_requests_and_single_byte_file() {
        let w = World::new();
        let id = create(&w, Some(3), None, None);
        for (i, b) in b"abc".iter().enumerate() {
            append(&w, &id, at(i as u64, 1), &[*b]).unwrap();
        }
        assert_eq!(w.blobs.object(&file_of(&w, &id).r2_key).unwrap(), b"abc");
        assert_eq!(w.blobs.puts.get(), 1, "under one part: a single put");
        // an empty file completes on its first (empty) append
        let id = create(&w, Some(0), None, None);
        append(&w, &id, at(0, 0), b"").unwrap();
        assert_eq!(state(&w, &id).phase, Phase::Complete);
    }

    #[test]
    fn retries_are_acknowledged_not_applied_twice_and_gaps_refused() {
        let w = World::new();
        let id = create(&w, Some(30), None, None);
        append(&w, &id, at(0, 10), &data(10)).unwrap();
        let st = append(&w, &id, at(0, 10), &data(10)).unwrap();
        assert_eq!(st.offset, 10, "a retry of what was received changes nothing");
        let strict = Append { resend: Resend::Refuse, ..at(0, 10) };
        assert_eq!(
            append(&w, &id, strict, &data(10)).unwrap_err(),
            Error::OffsetMismatch { offset: 10 },
            "tus refuses even an exact retry"
        );
        assert_eq!(append(&w, &id, at(5, 10), &data(10)).unwrap_err().status(), 409, "overlap");
        assert_eq!(append(&w, &id, at(11, 1), b"x").unwrap_err().status(), 409, "gap");
        assert_eq!(append(&w, &id, at(10, 21), &data(21)).unwrap_err().status(), 413, "past the length");
        assert_eq!(state(&w, &id).offset, 10);
    }

    #[test]
    fn body_running_past_the_length_is_refused_and_not_kept() {
        let w = World::new();
        let id = create(&w, Some(10), None, None);
        // the client declares no length for its body, then sends too much
        let ask = Append { body_len: None, ..at(0, 0) };
        assert_eq!(append(&w, &id, ask, &data(11)).unwrap_err(), Error::TooLarge { max: 10 });
        assert_eq!(state(&w, &id).offset, 0);
    }

    #[test]
    fn a_request_body_limit_is_413_and_keeps_nothing() {
        let mut w = World::new();
        w.config.max_request_body = Some(6 * MIB);
        let id = create(&w, Some(20 * MIB), None, None);
        let ask = Append { body_len: None, ..at(0, 0) };
        assert_eq!(append(&w, &id, ask, &data(7 * MIB as usize)).unwrap_err(), Error::BodyTooLarge { max: 6 * MIB });
        assert_eq!(state(&w, &id).offset, 0);
        assert!(append(&w, &id, at(0, 6 * MIB as usize), &data(6 * MIB as usize)).is_ok(), "at the limit is fine");
    }

    #[test]
    fn checksum_mismatch_discards_the_chunk() {
        use base64::Engine;
        let w = World::new();
        let id = create(&w, Some(6 * MIB), None, None);
        let body = data(6 * MIB as usize);
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(d));
        let wrong = Append { checksum: Some(format!("sha256 {}", b64(b"nope"))), ..at(0, body.len()) };
        assert_eq!(append(&w, &id, wrong, &body).unwrap_err(), Error::ChecksumMismatch);
        let st = state(&w, &id);
        assert_eq!((st.offset, st.tail_len), (0, 0), "nothing of it kept");
        let right = Append { checksum: Some(format!("sha256 {}", b64(&body))), ..at(0, body.len()) };
        append(&w, &id, right, &body).unwrap();
        assert_eq!(
            w.blobs.object(&file_of(&w, &id).r2_key).unwrap(),
            body,
            "re-sent part numbers overwrite the discarded ones"
        );
    }

    #[test]
    fn portsip_style_complete_with_digest() {
        let w = World::new();
        let id = create(&w, None, None, Some("tok"));
        let send = |ask: Append, bytes: &[u8], token: &str| {
            block_on(w.uploads().append(&id, "acme", Some(Secret::new(token)), ask, Body::from(bytes)))
        };
        send(current(Then::Continue), b"hello ", "tok").unwrap();
        assert_eq!(send(current(Then::Continue), b"x", "wrong").unwrap_err().status(), 403);
        assert_eq!(state(&w, &id).offset, 6, "a wrong token changes nothing");
        let complete = |want: String| current(Then::Complete { expected_sha256: Some(want) });
        // complete with a final body and a wrong digest: refused, upload left intact
        assert_eq!(send(complete("00".repeat(32)), b"world", "tok").unwrap_err(), Error::DigestMismatch);
        assert_eq!(state(&w, &id).offset, 6);
        assert!(state(&w, &id).is_open());
        let digest = hex::encode(Sha256::digest(b"hello world"));
        let st = send(complete(digest.clone()), b"world", "tok").unwrap();
        assert_eq!(st.file.unwrap().sha256, digest);
        assert_eq!(send(current(Then::Continue), b"more", "tok").unwrap_err().status(), 404, "append after complete");
        // a retried completion (its answer lost) gets the same file, not an error
        assert_eq!(send(complete(digest.clone()), b"", "tok").unwrap().file.unwrap().sha256, digest);
        assert_eq!(send(complete("1".repeat(64)), b"", "tok").unwrap_err(), Error::DigestMismatch);
    }

    #[test]
    fn an_interrupted_whole_file_request_is_read_back_and_checked_at_completion() {
        let w = World::new();
        let body = data(9 * MIB as usize);
        let digest = hex::encode(Sha256::digest(&body));
        let id = create(&w, Some(body.len() as u64), None, None);
        // tus: one PATCH for the whole file that stops after 6 MiB
        let st = append(&w, &id, at(0, body.len()), &body[..6 * MIB as usize]).unwrap();
        assert_eq!(st.hash, None, "the native hash could not be kept");
        append(&w, &id, at(6 * MIB, 3 * MIB as usize), &body[6 * MIB as usize..]).unwrap();
        assert_eq!(file_of(&w, &id).sha256, digest, "read back at completion");
    }

    #[test]
    fn finishing_survives_a_failure_at_each_step_and_is_never_reported_complete() {
        let steps = [
            ("blobs", "put", 3u64 * MIB),
            ("blobs", "upload_part", 12 * MIB),
            ("blobs", "complete", 12 * MIB),
            ("blobs", "complete:after", 12 * MIB),
            ("account", "write:f", 3 * MIB),
            ("account", "write:f", 12 * MIB),
        ];
        for (store, op, len) in steps {
            let w = World::new();
            let body = data(len as usize);
            let id = create(&w, Some(len), Some(3600), None);
            // the first 10 MiB in one request, where they fit
            let first = (len as usize).min(10 * MIB as usize) - 1;
            append(&w, &id, at(0, first), &body[..first]).unwrap();
            match store {
                "blobs" => w.blobs.faults.fail(op, 1),
                "account" => w.ledger("account:acme").fail.borrow_mut().push(op),
                _ => unreachable!(),
            }
            let last = append(&w, &id, at(first as u64, body.len() - first), &body[first..]);
            let st = if op == "complete:after" {
                // R2 made the object but its answer was lost: finishing sees the object and goes on
                last.unwrap()
            } else {
                assert_eq!(last.map(|_| ()).unwrap_err().status(), 503, "{op}: the failure is reported");
                let st = state(&w, &id);
                assert_eq!(st.phase, Phase::Finishing, "{op}: all bytes in, not complete");
                // no dialect can see it as complete: its state says finishing
                // the next request finishes it
                block_on(w.uploads().state(&id, "acme", None)).unwrap()
            };
            assert_eq!(st.phase, Phase::Complete, "{op}");
            let file = st.file.unwrap();
            assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body, "{op}: the bytes survived");
            assert_eq!(file.sha256, hex::encode(Sha256::digest(&body)));
            assert_eq!(w.indexed("acme", &file.sha256).as_deref(), Some(id.as_str()));
            assert_eq!(w.scheduled("acme"), vec![(file.expires_at.unwrap(), file.id.clone())], "{op}: expiry set");
            let usage = block_on(w.ctx().usage("acme")).unwrap();
            assert_eq!((usage.files, usage.bytes, usage.uploads_in_progress), (1, len, 0), "{op}: counted once");
            // finishing twice does no harm: a retried last request gets the same file
            let again = append(&w, &id, at(len, 0), b"").unwrap();
            assert_eq!(again.file.as_ref(), Some(&file));
            assert_eq!(w.blobs.open_uploads(), 0);
        }
    }

    #[test]
    fn the_alarm_finishes_an_interrupted_completion() {
        let w = World::new();
        let id = create(&w, Some(5), None, None);
        w.ledger("account:acme").fail.borrow_mut().push("write:f");
        assert_eq!(append(&w, &id, at(0, 5), b"hello").unwrap_err().status(), 503);
        assert_eq!(w.object(&id).alarm.get(), Some(w.now() + FINISH_RETRY_MS), "retry soon");
        w.advance(FINISH_RETRY_MS);
        w.fire_alarms();
        assert_eq!(state(&w, &id).phase, Phase::Complete);
        assert!(w.indexed("acme", &hex::encode(Sha256::digest(b"hello"))).is_some(), "indexed");
        // a finishing that keeps failing past the idle timeout is dropped, bytes and all
        let id = create(&w, Some(5), None, None);
        w.ledger("account:acme").fail.borrow_mut().extend(std::iter::repeat_n("write:f", 2_000));
        assert_eq!(append(&w, &id, at(0, 5), b"hello").unwrap_err().status(), 503);
        let key = state(&w, &id).r2_key;
        for _ in 0..(w.config.idle_timeout * 1000 / FINISH_RETRY_MS + 2) {
            w.advance(FINISH_RETRY_MS);
            w.fire_alarms();
        }
        assert!(w.object(&id).store.state().unwrap().is_none());
        assert!(w.blobs.object(&key).is_none());
    }

    #[test]
    fn a_stalled_writer_is_taken_over_and_reads_never_wait() {
        let w = World::new();
        let len = 20 * MIB as usize;
        let body = data(len);
        let id = create(&w, Some(len as u64), None, None);
        let mut pool = LocalPool::new();
        let uploads = w.uploads();
        // a client sends 6 MiB of its 20 MiB PATCH, then goes silent without closing
        let stalled = Body { bytes: body[..6 * MIB as usize].to_vec(), stall: true, ..Body::default() };
        let mut first = Box::pin(uploads.append(&id, "acme", None, at(0, len), stalled));
        assert!(pool.run_until(futures_util::future::poll_immediate(&mut first)).is_none(), "it is waiting for more");
        // a read answers at once from the last saved state, while the write is in flight
        let seen = pool.run_until(uploads.state(&id, "acme", None)).unwrap();
        assert_eq!(seen.offset, 0);
        // a new write for the upload makes the stalled one stop; it keeps what landed
        let second =
            uploads.append(&id, "acme", None, Append { resend: Resend::Refuse, ..at(0, len) }, Body::from(&body[..]));
        let (first, second) = pool.run_until(futures_util::future::join(first, second));
        assert_eq!(first.unwrap_err(), Error::Interrupted);
        assert_eq!(second.unwrap_err(), Error::OffsetMismatch { offset: 6 * MIB }, "409 with the saved offset");
        assert_eq!(state(&w, &id).offset, 6 * MIB);
        // the client resumes from there and gets the whole file
        append(&w, &id, at(6 * MIB, len - 6 * MIB as usize), &body[6 * MIB as usize..]).unwrap();
        assert_eq!(file_of(&w, &id).sha256, hex::encode(Sha256::digest(&body)));
    }

    #[test]
    fn a_writer_taken_over_keeps_what_landed_on_a_stored_tail() {
        let w = World::new();
        let len = 20 * MIB as usize;
        let body = data(len);
        let id = create(&w, Some(len as u64), None, None);
        let mut from = 3 * MIB as usize;
        append(&w, &id, at(0, from), &body[..from]).unwrap();
        let mut pool = LocalPool::new();
        let uploads = w.uploads();
        // a writer stalls after adding to the stored tail, another after going past a part
        for sent in [64 * 1024, 4 * MIB as usize] {
            let stalled = Body { bytes: body[from..from + sent].to_vec(), stall: true, ..Body::default() };
            let mut first = Box::pin(uploads.append(&id, "acme", None, at(from as u64, len - from), stalled));
            assert!(pool.run_until(futures_util::future::poll_immediate(&mut first)).is_none(), "waiting");
            let ask = Append { resend: Resend::Refuse, ..at(from as u64, len - from) };
            let second = uploads.append(&id, "acme", None, ask, Body::from(&body[from..]));
            let (first, second) = pool.run_until(futures_util::future::join(first, second));
            assert_eq!(first.unwrap_err(), Error::Interrupted);
            from += sent;
            assert_eq!(second.unwrap_err(), Error::OffsetMismatch { offset: from as u64 }, "it kept what landed");
        }
        let st = state(&w, &id);
        assert_eq!((st.parts.len(), st.tail_len), (1, (from - 5 * MIB as usize) as u64));
        append(&w, &id, at(from as u64, len - from), &body[from..]).unwrap();
        assert_eq!(w.blobs.object(&file_of(&w, &id).r2_key).unwrap(), body);
        assert_eq!(file_of(&w, &id).sha256, hex::encode(Sha256::digest(&body)));
    }

    #[test]
    fn a_failed_save_keeps_nothing_of_its_request_and_stray_tail_rows_are_ignored() {
        let w = World::new();
        let body = data(12 * MIB as usize);
        let id = create(&w, Some(body.len() as u64), None, None);
        let obj = w.object(&id);
        let mut from = 4 * MIB as usize + MIB as usize / 2;
        append(&w, &id, at(0, from), &body[..from]).unwrap();
        let stray = |at: usize| obj.store.tail.borrow_mut().insert(at as u64, vec![0xEE; 1000]);
        let kept = |w: &World| {
            let st = state(w, &id);
            (st.offset, st.tail_len, st.parts.len())
        };
        // a small append whose save fails keeps nothing
        obj.store.fail_saves.set(1);
        assert_eq!(append(&w, &id, at(from as u64, 1), &body[from..from + 1]).unwrap_err().status(), 503);
        assert_eq!(kept(&w), (from as u64, from as u64, 0));
        // bytes stored past the tail the state covers (as from a write the state never saw)
        // are not the tail: an append replaces them
        stray(from);
        append(&w, &id, at(from as u64, 1), &body[from..from + 1]).unwrap();
        from += 1;
        // a part cut from the stored tail whose save fails: it is sent again by the retry
        stray(from);
        let to = from + MIB as usize;
        obj.store.fail_saves.set(1);
        assert_eq!(append(&w, &id, at(from as u64, to - from), &body[from..to]).unwrap_err().status(), 503);
        assert_eq!(kept(&w), (from as u64, from as u64, 0));
        append(&w, &id, at(from as u64, to - from), &body[from..to]).unwrap();
        assert_eq!(kept(&w), (to as u64, (to - 5 * MIB as usize) as u64, 1));
        append(&w, &id, at(to as u64, body.len() - to), &body[to..]).unwrap();
        let file = file_of(&w, &id);
        assert_eq!(w.blobs.object(&file.r2_key).unwrap(), body);
        assert_eq!(file.sha256, hex::encode(Sha256::digest(&body)));
    }

    #[test]
    fn tenants_cancel_and_alarms() {
        let w = World::new();
        let id = create(&w, Some(20 * MIB), None, None);
        append(&w, &id, at(0, 11 * MIB as usize), &data(11 * MIB as usize)).unwrap();
        assert!(state(&w, &id).multipart.is_some());
        let other = block_on(w.uploads().state(&id, "someone-else", None)).unwrap_err();
        assert_eq!(other.status(), 404);

        // idle: 410 while tracked, then the alarm aborts the multipart upload and forgets it
        let deadline = state(&w, &id).idle_deadline();
        assert_eq!(w.object(&id).alarm.get(), Some(deadline));
        w.clock.set(deadline);
        assert_eq!(append(&w, &id, at(11 * MIB, 1), b"x").unwrap_err().status(), 410, "gone idle");
        w.fire_alarms();
        assert!(w.object(&id).store.state().unwrap().is_none());
        assert_eq!(w.blobs.open_uploads(), 0);

        // cancel
        let id = create(&w, Some(20 * MIB), None, None);
        append(&w, &id, at(0, 11 * MIB as usize), &data(11 * MIB as usize)).unwrap();
        block_on(w.uploads().cancel(&id, "acme", None, Cancel::KeepFinished)).unwrap();
        assert!(w.object(&id).store.state().unwrap().is_none());
        assert_eq!(w.blobs.open_uploads(), 0);
    }

    #[test]
    fn expired_files_lose_their_bytes_by_the_sweep_and_finished_uploads_are_forgotten() {
        let w = World::new();
        let id = create(&w, None, Some(60), None);
        let st = append(&w, &id, current(Then::Complete { expected_sha256: None }), b"temp").unwrap();
        let file = st.file.clone().unwrap();
        assert_eq!(w.scheduled("acme"), vec![(w.now() + 60_000, file.id.clone())]);
        assert_eq!(w.object(&id).alarm.get(), Some(st.idle_deadline()), "the object only forgets; the account deletes");
        w.advance(60_000);
        w.fire_alarms();
        assert!(w.blobs.object(&file.r2_key).is_some(), "not the object's alarm");
        assert_eq!(w.sweep().expired, 1);
        assert!(w.blobs.object(&file.r2_key).is_none());
        // until the idle timeout after completion, a retried last request gets its answer
        let again = append(&w, &id, current(Then::Complete { expected_sha256: None }), b"").unwrap();
        assert_eq!(again.file.unwrap().id, id);
        w.clock.set(st.idle_deadline());
        w.fire_alarms();
        assert!(w.object(&id).store.state().unwrap().is_none(), "the object keeps nothing");

        let id = create(&w, Some(4), None, None);
        let file = append(&w, &id, at(0, 4), b"keep").unwrap().file.unwrap();
        w.advance(w.config.idle_timeout * 1000);
        w.fire_alarms();
        assert!(w.object(&id).store.state().unwrap().is_none());
        assert_eq!(w.blobs.object(&file.r2_key).as_deref(), Some(&b"keep"[..]), "a file without a TTL stays");
        assert!(w.indexed("acme", &file.sha256).is_some());
    }

    #[test]
    fn a_finished_uploads_file_is_checked_for_expiry_and_deletion() {
        let w = World::new();
        let check = |id: &str| block_on(w.ctx().check_finished(&state(&w, id))).map_err(|e| e.status());
        let open = create(&w, Some(4), Some(60), None);
        assert_eq!(check(&open), Ok(()), "an open upload has no file to check");
        append(&w, &open, at(0, 4), b"temp").unwrap();
        assert_eq!(check(&open), Ok(()));
        w.advance(60_000);
        assert_eq!(check(&open), Err(410), "expired, before the sweep");
        w.sweep();
        assert_eq!(check(&open), Err(410), "and after it");

        let id = create(&w, Some(4), None, None);
        let file = append(&w, &id, at(0, 4), b"keep").unwrap().file.unwrap();
        assert_eq!(check(&id), Ok(()));
        block_on(w.ctx().delete_any(&file)).unwrap();
        assert_eq!(check(&id), Err(404), "deleted by another route");
    }

    #[test]
    fn probing_an_unknown_upload_writes_nothing() {
        let w = World::new();
        let id = crate::engine::file::ids::new_uuid();
        assert_eq!(block_on(w.uploads().state(&id, "acme", None)).unwrap_err().status(), 404);
        assert_eq!(append(&w, &id, at(0, 1), b"x").unwrap_err().status(), 404);
        assert!(w.object(&id).store.state.borrow().is_none());
        assert_eq!(w.object(&id).store.saves.get(), 0);
    }
}
