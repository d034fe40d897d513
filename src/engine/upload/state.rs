//! The resumable upload received sequentially by offset (tus, PortSIP, IMiS and NGCP `PUT`),
//! as a pure state machine: what an append, a completion, a cancellation or the idle clock may
//! do to an upload, decided without I/O. (Numbered chunks in any order, as Twake sends them,
//! are [`crate::engine::ledger::twake`]'s.)
//!
//! Offsets are checked here, before a byte is read: an append must start exactly where the
//! upload stands; a re-sent range that was already received is acknowledged and not applied
//! twice (or refused, as tus wants); a gap or an overlap is refused; nothing may run past a
//! declared length; completion needs the length known and reached.
//!
//! Phases: `Open` (taking bytes), `Finishing` (every byte is in; the object, the record, the
//! indexes and the expiry are being written: a state of its own, saved before the first of
//! those writes, so that a failure half way is finished by the next request or the alarm and
//! is never reported as complete), `Complete` (the file is downloadable).

use serde::{Deserialize, Serialize};

use super::sha256::ResumableSha256;
use crate::engine::file::keys;
use crate::engine::file::record::{Access, Extras, FileRecord, Vendor};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::{MultipartRef, UploadedPart};

/// What a dialect asks for when it opens an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUpload {
    pub id: String,
    pub tenant: String,
    /// Which vendor's API opens it (stored as `dialect`).
    #[serde(rename = "dialect")]
    pub vendor: Vendor,
    pub name: String,
    pub content_type: String,
    /// tus `Upload-Metadata`, echoed on HEAD.
    #[serde(default)]
    pub metadata: Option<String>,
    /// Total length when announced (`None`: deferred until later or until completion).
    pub length: Option<u64>,
    /// TTL of the finished file in seconds, if it expires.
    #[serde(default)]
    pub ttl: Option<u64>,
    /// A per-upload secret the client must present (PortSIP's upload token).
    #[serde(default)]
    pub token: Option<Secret>,
    /// Who may read the finished file besides its tenant (default: its vendor's).
    #[serde(default)]
    pub access: Option<Access>,
    /// Vendor-specific facts carried to the file record.
    #[serde(default)]
    pub extra: Extras,
    /// The finished file's id when it is not the upload's (a PortSIP blob is named by its
    /// opaque id); its R2 key follows from it.
    #[serde(default)]
    pub file_id: Option<String>,
}

impl NewUpload {
    /// An upload with no length, TTL, token or extras yet.
    pub fn new(id: &str, tenant: &str, vendor: Vendor, name: &str, content_type: &str) -> NewUpload {
        NewUpload {
            id: id.into(),
            tenant: tenant.into(),
            vendor,
            name: name.into(),
            content_type: content_type.into(),
            metadata: None,
            length: None,
            ttl: None,
            token: None,
            access: None,
            extra: Extras::default(),
            file_id: None,
        }
    }

    /// The id of the file this upload becomes.
    pub fn file_id(&self) -> &str {
        self.file_id.as_deref().unwrap_or(&self.id)
    }

    /// The file's record as far as it is known while the bytes arrive: what its R2 object's
    /// metadata holds (its time, digest and expiry come from its completion).
    pub fn template(&self) -> FileRecord {
        let mut record = FileRecord {
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            ttl: self.ttl,
            extra: self.extra.clone(),
            ..FileRecord::new(self.file_id(), &self.tenant, self.vendor, &keys::object(self.file_id()))
        };
        if let Some(access) = self.access {
            record = record.with_access(access);
        }
        record
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Open,
    Finishing,
    Complete,
}

/// Where finishing stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finishing {
    /// When every byte was in: the file's `created_at`, the same on every retry.
    pub started_at: u64,
    /// The file's digest, once known (at the start, or after reading the object back).
    pub sha256: Option<String>,
    /// The digest the client asked for, when it could not be checked before finishing.
    #[serde(default)]
    pub expected_sha256: Option<String>,
    /// The R2 object is written.
    pub sealed: bool,
    /// When R2 completed the object: the file's `created_at`.
    #[serde(default)]
    pub created_at: Option<u64>,
}

/// The next thing finishing must do; each is safe to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishStep {
    /// Write the object: a single put of the tail, or the last part and the completion.
    Seal,
    /// Read the object back to learn its digest (its start was hashed by a request that did
    /// not finish, natively, and that state could not be kept).
    Digest,
    /// Expiry, record, indexes.
    Publish,
}

/// Everything the Upload Durable Object keeps about one upload (the tail bytes aside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    #[serde(flatten)]
    pub new: NewUpload,
    pub offset: u64,
    pub part_size: u64,
    pub max_size: u64,
    pub r2_key: String,
    pub multipart: Option<MultipartRef>,
    pub parts: Vec<UploadedPart>,
    pub tail_len: u64,
    /// The running digest of the bytes so far; `None` when their start was hashed natively
    /// by a request that did not finish (the digest is then read back at completion).
    pub hash: Option<ResumableSha256>,
    pub created_at: u64,
    pub touched_at: u64,
    /// Idle time after which an open upload is aborted, in ms.
    pub idle_ms: u64,
    pub phase: Phase,
    #[serde(default)]
    pub finishing: Option<Finishing>,
    /// The finished file, once complete.
    #[serde(default)]
    pub file: Option<FileRecord>,
}

/// Where an append says it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum At {
    /// At this offset (tus `Upload-Offset`, IMiS `content-range`).
    Offset(u64),
    /// Wherever the upload stands (PortSIP appends).
    Current,
}

/// What to do with a body that re-sends bytes already received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resend {
    /// Acknowledge it, apply nothing (a retry whose answer was lost).
    Acknowledge,
    /// `409` (tus requires it).
    Refuse,
}

/// What happens once the body is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Then {
    /// Keep the upload open.
    Continue,
    /// Complete once the declared length is reached (tus).
    CompleteAtLength,
    /// Complete now, with the length as received; the file must have this digest if given.
    Complete { expected_sha256: Option<String> },
}

/// An append as a dialect asks for it (it crosses to the Durable Object as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Append {
    pub at: At,
    /// How many bytes the body carries, when known.
    pub body_len: Option<u64>,
    /// A deferred total length being announced now.
    #[serde(default)]
    pub set_length: Option<u64>,
    /// tus `Upload-Checksum` of this body; on mismatch nothing of it is kept.
    #[serde(default)]
    pub checksum: Option<String>,
    pub resend: Resend,
    pub then: Then,
}

/// What to do with an append's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Apply it; at most `limit` bytes may follow.
    Apply { limit: u64 },
    /// It re-sends bytes already received (or nothing, at the end of a finished upload):
    /// acknowledge, apply nothing.
    AlreadyHave,
}

pub const UPLOAD_NOT_FOUND: &str = "upload not found";
pub const UPLOAD_EXPIRED: &str = "upload expired";

/// Largest part size adopted from a client's chunk size (two parts are held in memory).
pub const ALIGNED_PART_MAX: u64 = 16 << 20;

impl UploadState {
    pub fn new(new: NewUpload, part_size: u64, max_size: u64, idle_secs: u64, now: u64) -> Result<UploadState> {
        if new.length.is_some_and(|l| l > max_size) {
            return Err(Error::TooLarge { max: max_size });
        }
        let r2_key = keys::object(new.file_id());
        Ok(UploadState {
            new,
            offset: 0,
            part_size,
            max_size,
            r2_key,
            multipart: None,
            parts: Vec::new(),
            tail_len: 0,
            hash: Some(ResumableSha256::new()),
            created_at: now,
            touched_at: now,
            idle_ms: idle_secs * 1000,
            phase: Phase::Open,
            finishing: None,
            file: None,
        })
    }

    pub fn length(&self) -> Option<u64> {
        self.new.length
    }

    /// When an open upload left alone is aborted (and a finished one forgotten).
    pub fn idle_deadline(&self) -> u64 {
        self.touched_at + self.idle_ms
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Has every byte arrived (finishing or complete)?
    pub fn has_every_byte(&self) -> bool {
        self.phase != Phase::Open
    }

    /// Sets a deferred length (tus `Upload-Length` on a later PATCH, or completion).
    pub fn set_length(&mut self, len: u64) -> Result<()> {
        match self.new.length {
            Some(l) if l == len => Ok(()),
            Some(_) => Err(Error::Conflict("Upload-Length cannot change once set".into())),
            None if len < self.offset => Err(Error::bad_request("length is smaller than what was received")),
            None if len > self.max_size => Err(Error::TooLarge { max: self.max_size }),
            None => {
                self.new.length = Some(len);
                Ok(())
            }
        }
    }

    /// Decides an append that starts `at` and carries `len` bytes if the client said so.
    pub fn accept(&self, at: At, len: Option<u64>) -> Result<Accept> {
        let at = match at {
            At::Offset(a) => a,
            // "wherever it stands" means nothing once every byte is in
            At::Current if self.has_every_byte() => return Err(Error::not_found(UPLOAD_NOT_FOUND)),
            At::Current => self.offset,
        };
        if at != self.offset {
            // even on a finished upload: a client racing another sees the offset move
            let end = len.and_then(|n| at.checked_add(n));
            return match end {
                Some(end) if at < self.offset && end <= self.offset => Ok(Accept::AlreadyHave),
                _ => Err(Error::OffsetMismatch { offset: self.offset }),
            };
        }
        if self.has_every_byte() {
            // the retry of a last request whose answer was lost: nothing more to take
            return match len {
                None | Some(0) => Ok(Accept::AlreadyHave),
                Some(_) => Err(self.overrun()),
            };
        }
        let room = self.new.length.unwrap_or(self.max_size).saturating_sub(self.offset);
        if len.is_some_and(|n| n > room) {
            return Err(self.overrun());
        }
        Ok(Accept::Apply { limit: room })
    }

    /// The error for bytes past the end: the declared length, or the service's maximum.
    pub fn overrun(&self) -> Error {
        Error::TooLarge { max: self.new.length.unwrap_or(self.max_size) }
    }

    /// Before the first byte arrives, the part size may still follow the client's chunk size:
    /// a client sending 8 MiB chunks then gets one 8 MiB part per request and no tail to
    /// store between requests. Only a chunk of at least the planned part size (so the part
    /// count stays within R2's limit) and at most `ALIGNED_PART_MAX` (memory) is adopted.
    pub fn adopt_chunk_size(&mut self, body_len: Option<u64>) {
        let first = self.offset == 0 && self.tail_len == 0 && self.multipart.is_none();
        if let Some(chunk) = body_len.filter(|_| first) {
            let whole_file = self.new.length.is_some_and(|l| chunk >= l);
            if !whole_file && chunk >= self.part_size && chunk <= ALIGNED_PART_MAX {
                self.part_size = chunk;
            }
        }
    }

    /// Does this append carry the whole file in one request, from its first byte to its last?
    /// Then its digest can be the platform's native one.
    pub fn is_whole_file(&self, append: &Append, limit: u64) -> bool {
        let from_start = self.offset == 0 && self.tail_len == 0 && self.multipart.is_none();
        let to_end = match &append.then {
            Then::Complete { .. } => true,
            Then::CompleteAtLength => self.new.length.is_some() && append.body_len == Some(limit),
            Then::Continue => false,
        };
        from_start && to_end
    }

    /// Takes in what an append did.
    pub fn absorb(
        &mut self,
        size: u64,
        multipart: Option<MultipartRef>,
        parts: Vec<UploadedPart>,
        tail_len: u64,
        hash: Option<ResumableSha256>,
        now: u64,
    ) {
        self.offset = size;
        self.multipart = multipart;
        self.parts = parts;
        self.tail_len = tail_len;
        self.hash = hash;
        self.touched_at = now;
    }

    /// May the upload be completed now? Completion takes a deferred length as what was
    /// received. The digest, when given and known, must match.
    pub fn check_complete(&mut self, expected_sha256: Option<&str>, sha256: Option<&str>) -> Result<()> {
        if !self.is_open() {
            return Err(Error::not_found(UPLOAD_NOT_FOUND));
        }
        if self.new.length.is_none() {
            self.set_length(self.offset)?;
        }
        if self.new.length != Some(self.offset) {
            return Err(Error::Conflict(format!(
                "upload incomplete: {} of {} bytes received",
                self.offset,
                self.new.length.unwrap_or(0)
            )));
        }
        if let (Some(want), Some(got)) = (expected_sha256, sha256) {
            if !want.eq_ignore_ascii_case(got) {
                return Err(Error::DigestMismatch);
            }
        }
        Ok(())
    }

    /// Every byte is in: from now on the upload is finishing, never open again.
    pub fn begin_finishing(&mut self, sha256: Option<String>, expected_sha256: Option<String>, now: u64) {
        self.phase = Phase::Finishing;
        let expected_sha256 = expected_sha256.filter(|_| sha256.is_none());
        self.finishing = Some(Finishing { started_at: now, sha256, expected_sha256, sealed: false, created_at: None });
        self.hash = None;
        self.touched_at = now;
    }

    /// What finishing must do next (`None`: nothing, it is not finishing).
    pub fn finish_step(&self) -> Option<FinishStep> {
        let f = self.finishing.as_ref().filter(|_| self.phase == Phase::Finishing)?;
        Some(if !f.sealed {
            FinishStep::Seal
        } else if f.sha256.is_none() {
            FinishStep::Digest
        } else {
            FinishStep::Publish
        })
    }

    /// The object is written (at `created_at`, R2's time): no multipart upload, parts or tail
    /// remain.
    pub fn sealed(&mut self, created_at: u64) {
        if let Some(f) = self.finishing.as_mut() {
            f.sealed = true;
            f.created_at = Some(created_at);
        }
        self.multipart = None;
        self.parts.clear();
        self.tail_len = 0;
    }

    /// The digest read back from the object; refused if the client asked for another.
    pub fn digest_known(&mut self, sha256: String) -> Result<()> {
        let f = self.finishing.as_mut().ok_or_else(|| Error::Internal("digest of an upload not finishing".into()))?;
        if f.expected_sha256.as_ref().is_some_and(|want| !want.eq_ignore_ascii_case(&sha256)) {
            return Err(Error::DigestMismatch);
        }
        f.sha256 = Some(sha256);
        Ok(())
    }

    /// The record of the finished file, the same on every retry of finishing: created when
    /// R2 completed its object (when every byte was in, until then).
    pub fn file_record(&self) -> Result<FileRecord> {
        let f = self.finishing.as_ref().ok_or_else(|| Error::Internal("record of an upload not finishing".into()))?;
        let sha256 = f.sha256.clone().ok_or_else(|| Error::Internal("record before its digest".into()))?;
        let created_at = f.created_at.unwrap_or(f.started_at);
        let record =
            FileRecord { size: self.offset, sha256, created_at, r2_key: self.r2_key.clone(), ..self.new.template() };
        Ok(record.expiring(self.new.ttl))
    }

    /// Finishing is done: the upload is complete with its file.
    pub fn completed(&mut self, file: FileRecord, now: u64) {
        self.phase = Phase::Complete;
        self.file = Some(file);
        self.finishing = None;
        self.touched_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(length: Option<u64>) -> UploadState {
        let new = NewUpload { length, ..NewUpload::new("u1", "t", Vendor::Tus, "f", "application/octet-stream") };
        UploadState::new(new, 5 << 20, 1 << 30, 86400, 1000).unwrap()
    }

    fn at(mut u: UploadState, offset: u64) -> UploadState {
        u.offset = offset;
        u
    }

    fn finishing(mut u: UploadState) -> UploadState {
        u.begin_finishing(Some("ab".repeat(32)), None, 2000);
        u
    }

    #[test]
    fn accept_table() {
        use Accept::*;
        type Row = (UploadState, At, Option<u64>, Result<Accept>);
        let rows: Vec<Row> = vec![
            (upload(Some(100)), At::Offset(0), Some(10), Ok(Apply { limit: 100 })),
            (upload(Some(100)), At::Offset(0), None, Ok(Apply { limit: 100 })),
            (upload(Some(100)), At::Current, None, Ok(Apply { limit: 100 })),
            (at(upload(Some(100)), 40), At::Offset(40), Some(60), Ok(Apply { limit: 60 })),
            (at(upload(Some(100)), 40), At::Current, Some(60), Ok(Apply { limit: 60 })),
            (upload(None), At::Offset(0), None, Ok(Apply { limit: 1 << 30 })),
            // a retry of a range already received is acknowledged, not applied twice
            (at(upload(Some(100)), 40), At::Offset(30), Some(10), Ok(AlreadyHave)),
            (at(upload(Some(100)), 40), At::Offset(0), Some(40), Ok(AlreadyHave)),
            // overlaps and gaps are refused with the upload's offset
            (at(upload(Some(100)), 40), At::Offset(30), Some(20), Err(Error::OffsetMismatch { offset: 40 })),
            (at(upload(Some(100)), 40), At::Offset(30), None, Err(Error::OffsetMismatch { offset: 40 })),
            (at(upload(Some(100)), 40), At::Offset(41), Some(1), Err(Error::OffsetMismatch { offset: 40 })),
            // an offset and length that overflow are a mismatch, not a panic
            (at(upload(Some(100)), 40), At::Offset(30), Some(u64::MAX), Err(Error::OffsetMismatch { offset: 40 })),
            // past the declared length, or the service's maximum: 413
            (at(upload(Some(100)), 40), At::Offset(40), Some(61), Err(Error::TooLarge { max: 100 })),
            (upload(None), At::Offset(0), Some((1 << 30) + 1), Err(Error::TooLarge { max: 1 << 30 })),
            // every byte is in: an empty append at the end is acknowledged (a lost answer retried)
            (finishing(at(upload(Some(100)), 100)), At::Offset(100), Some(0), Ok(AlreadyHave)),
            (finishing(at(upload(Some(100)), 100)), At::Offset(100), None, Ok(AlreadyHave)),
            (finishing(at(upload(Some(100)), 100)), At::Offset(100), Some(1), Err(Error::TooLarge { max: 100 })),
            (finishing(at(upload(Some(100)), 100)), At::Offset(90), Some(10), Ok(AlreadyHave)),
            (
                finishing(at(upload(Some(100)), 100)),
                At::Offset(99),
                Some(2),
                Err(Error::OffsetMismatch { offset: 100 }),
            ),
            (finishing(at(upload(Some(100)), 100)), At::Current, Some(0), Err(Error::not_found(UPLOAD_NOT_FOUND))),
        ];
        for (i, (u, offset, len, want)) in rows.into_iter().enumerate() {
            assert_eq!(u.accept(offset, len), want, "row {i}");
        }
    }

    #[test]
    fn completion_needs_the_length_reached() {
        let mut u = at(upload(Some(100)), 99);
        assert_eq!(u.check_complete(None, None).unwrap_err().status(), 409);
        u.offset = 100;
        assert!(u.check_complete(None, None).is_ok());
        // a deferred length becomes what was received
        let mut u = at(upload(None), 7);
        u.check_complete(None, None).unwrap();
        assert_eq!(u.length(), Some(7));
        // once finishing, it cannot be completed again
        let mut u = finishing(at(upload(Some(0)), 0));
        assert_eq!(u.check_complete(None, None).unwrap_err().status(), 404);
    }

    #[test]
    fn completion_checks_a_known_digest() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let mut u = at(upload(None), 3);
        assert_eq!(u.clone().check_complete(Some(&"0".repeat(64)), Some(abc)), Err(Error::DigestMismatch));
        assert!(u.clone().check_complete(Some(abc), Some(abc)).is_ok());
        assert!(u.check_complete(Some(&abc.to_uppercase()), Some(abc)).is_ok());
        // an unknown digest is checked once read back
        let mut u = at(upload(Some(3)), 3);
        u.begin_finishing(None, Some("0".repeat(64)), 5);
        u.sealed(5);
        assert_eq!(u.finish_step(), Some(FinishStep::Digest));
        assert_eq!(u.digest_known(abc.into()), Err(Error::DigestMismatch));
        let mut u = at(upload(Some(3)), 3);
        u.begin_finishing(None, Some(abc.into()), 5);
        u.sealed(5);
        u.digest_known(abc.into()).unwrap();
        assert_eq!(u.finish_step(), Some(FinishStep::Publish));
    }

    #[test]
    fn finishing_steps_in_order_and_the_same_record_every_time() {
        let mut u = at(upload(Some(10)), 10);
        u.new.ttl = Some(60);
        assert_eq!(u.finish_step(), None, "open");
        u.begin_finishing(Some("cd".repeat(32)), None, 7000);
        assert!(!u.is_open() && u.has_every_byte());
        assert_eq!(u.finish_step(), Some(FinishStep::Seal));
        u.sealed(7500);
        assert_eq!(u.finish_step(), Some(FinishStep::Publish));
        let record = u.file_record().unwrap();
        assert_eq!((record.size, record.created_at, record.expires_at), (10, 7500, Some(67_500)), "R2's time");
        assert_eq!(u.file_record().unwrap(), record, "a retry publishes the same record");
        u.completed(record.clone(), 8000);
        assert_eq!(u.finish_step(), None);
        assert_eq!(u.file, Some(record));
    }

    #[test]
    fn deferred_length_rules() {
        let mut u = at(upload(None), 10);
        assert_eq!(u.set_length(5).unwrap_err().status(), 400);
        assert_eq!(u.set_length((1 << 30) + 1).unwrap_err().status(), 413);
        u.set_length(20).unwrap();
        assert!(u.set_length(20).is_ok());
        assert_eq!(u.set_length(21).unwrap_err().status(), 409);
        assert!(UploadState::new(upload(None).new.clone(), 1, 10, 1, 0).is_ok());
        let mut big = upload(None).new;
        big.length = Some(11);
        assert_eq!(UploadState::new(big, 1, 10, 1, 0).unwrap_err().status(), 413);
    }

    #[test]
    fn whole_file_requests_are_recognised() {
        let tus = |len| Append {
            at: At::Offset(0),
            body_len: len,
            set_length: None,
            checksum: None,
            resend: Resend::Refuse,
            then: Then::CompleteAtLength,
        };
        let u = upload(Some(100));
        assert!(u.is_whole_file(&tus(Some(100)), 100));
        assert!(!u.is_whole_file(&tus(Some(50)), 100));
        assert!(!u.is_whole_file(&tus(None), 100));
        assert!(!at(upload(Some(100)), 10).is_whole_file(&tus(Some(90)), 90));
        let complete = Append { at: At::Current, then: Then::Complete { expected_sha256: None }, ..tus(None) };
        assert!(upload(None).is_whole_file(&complete, 1 << 30));
        let cont = Append { then: Then::Continue, ..complete.clone() };
        assert!(!upload(None).is_whole_file(&cont, 1 << 30));
    }

    #[test]
    fn part_size_follows_the_first_chunk_when_it_can() {
        let mib = 1 << 20;
        // (declared length, first body length, resulting part size)
        let rows: &[(Option<u64>, Option<u64>, u64)] = &[
            (Some(256 * mib), Some(8 * mib), 8 * mib),
            (Some(256 * mib), Some(7 * mib), 7 * mib),
            (Some(256 * mib), Some(mib), 5 * mib), // under R2's floor: keep the plan
            (Some(256 * mib), Some(64 * mib), 5 * mib), // too large to hold in memory twice
            (Some(256 * mib), Some(256 * mib), 5 * mib), // the whole file in one request
            (Some(256 * mib), None, 5 * mib),
            (None, Some(8 * mib), 8 * mib),
        ];
        for (length, body, want) in rows {
            let mut u = upload(*length);
            u.adopt_chunk_size(*body);
            assert_eq!(u.part_size, *want, "{length:?} {body:?}");
        }
        // never once bytes have arrived
        let mut u = at(upload(Some(256 * mib)), 1);
        u.adopt_chunk_size(Some(8 * mib));
        assert_eq!(u.part_size, 5 * mib);
    }

    #[test]
    fn idle_deadline_moves_with_activity() {
        let mut u = upload(Some(10));
        assert_eq!(u.idle_deadline(), 1000 + 86_400_000);
        u.absorb(0, None, Vec::new(), 0, Some(ResumableSha256::new()), 5000);
        assert_eq!(u.idle_deadline(), 5000 + 86_400_000);
    }
}
