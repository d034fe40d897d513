//! The resumable upload as a pure state machine: what an append, a completion, a
//! cancellation or the idle clock may do to an upload, decided without I/O.
//!
//! Offsets are checked here, before a byte is read: an append must start exactly where the
//! upload stands; a re-sent range that was already received is acknowledged and not applied
//! twice; a gap or an overlap is refused; nothing may run past a declared length; completion
//! needs the length known and reached.

use serde::{Deserialize, Serialize};

use super::files::FileRecord;
use super::sha256::ResumableSha256;
use super::writer::Cut;
use crate::error::{Error, Result};
use crate::store::{MultipartRef, UploadedPart};

/// What a dialect asks for when it opens an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUpload {
    pub id: String,
    pub tenant: String,
    pub dialect: String,
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
    /// PortSIP's per-upload token.
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Open,
    Complete,
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
    pub hash: ResumableSha256,
    pub created_at: u64,
    pub touched_at: u64,
    /// Idle time after which an open upload is aborted, in ms.
    pub idle_ms: u64,
    pub phase: Phase,
    /// The finished file, once complete.
    #[serde(default)]
    pub file: Option<FileRecord>,
}

/// What to do with an append's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Apply it; at most `limit` bytes may follow.
    Apply { limit: u64 },
    /// It re-sends bytes already received: acknowledge, apply nothing.
    AlreadyHave,
}

pub const UPLOAD_NOT_FOUND: &str = "upload not found";

/// Largest part size adopted from a client's chunk size (two parts are held in memory).
pub const ALIGNED_PART_MAX: u64 = 16 << 20;

impl UploadState {
    pub fn new(new: NewUpload, part_size: u64, max_size: u64, idle_secs: u64, now: u64) -> Result<UploadState> {
        if new.length.is_some_and(|l| l > max_size) {
            return Err(Error::TooLarge { max: max_size });
        }
        let r2_key = FileRecord::r2_key_for(&new.tenant, &new.id);
        Ok(UploadState {
            new,
            offset: 0,
            part_size,
            max_size,
            r2_key,
            multipart: None,
            parts: Vec::new(),
            tail_len: 0,
            hash: ResumableSha256::new(),
            created_at: now,
            touched_at: now,
            idle_ms: idle_secs * 1000,
            phase: Phase::Open,
            file: None,
        })
    }

    pub fn length(&self) -> Option<u64> {
        self.new.length
    }

    /// When an open upload left alone is aborted.
    pub fn idle_deadline(&self) -> u64 {
        self.touched_at + self.idle_ms
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    fn open(&self) -> Result<()> {
        if self.is_open() {
            Ok(())
        } else {
            Err(Error::not_found(UPLOAD_NOT_FOUND))
        }
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

    /// Decides an append that says it starts at `at` (`None`: wherever the upload stands)
    /// and carries `len` bytes if the client said so.
    pub fn accept(&self, at: Option<u64>, len: Option<u64>) -> Result<Accept> {
        let at = at.unwrap_or(self.offset);
        if at != self.offset {
            // even on a finished upload: a client racing another sees the offset move
            return match len {
                Some(n) if at < self.offset && at + n <= self.offset => Ok(Accept::AlreadyHave),
                _ => Err(Error::Conflict(format!("offset mismatch: the upload is at {}", self.offset))),
            };
        }
        self.open()?;
        let room = self.new.length.unwrap_or(self.max_size) - self.offset;
        if len.is_some_and(|n| n > room) {
            return Err(self.overrun());
        }
        Ok(Accept::Apply { limit: room })
    }

    /// The error for bytes past the end: the declared length, or the service's maximum.
    pub fn overrun(&self) -> Error {
        match self.new.length {
            Some(_) => Error::bad_request("the body runs past the upload's length"),
            None => Error::TooLarge { max: self.max_size },
        }
    }

    /// The writer's state for the next append, with the tail read from storage.
    pub fn cut(&self, tail: Vec<u8>) -> Cut {
        Cut { multipart: self.multipart.clone(), parts: self.parts.clone(), tail, hash: self.hash.clone() }
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

    /// Takes in what an append did.
    pub fn absorb(&mut self, cut: &Cut, now: u64) {
        self.offset = cut.size();
        self.multipart = cut.multipart.clone();
        self.parts = cut.parts.clone();
        self.tail_len = cut.tail.len() as u64;
        self.hash = cut.hash.clone();
        self.touched_at = now;
    }

    /// May the upload be completed now? Completion takes a deferred length as what was
    /// received; `expected_sha256` must match when given.
    pub fn check_complete(&mut self, expected_sha256: Option<&str>) -> Result<()> {
        self.open()?;
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
        if let Some(want) = expected_sha256 {
            if !want.eq_ignore_ascii_case(&self.hash.hex()) {
                return Err(Error::DigestMismatch);
            }
        }
        Ok(())
    }

    /// Marks the upload complete with its file record.
    pub fn completed(&mut self, file: FileRecord, now: u64) {
        self.phase = Phase::Complete;
        self.file = Some(file);
        self.multipart = None;
        self.parts.clear();
        self.tail_len = 0;
        self.touched_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(length: Option<u64>) -> UploadState {
        let new = NewUpload {
            id: "u1".into(),
            tenant: "t".into(),
            dialect: "tus".into(),
            name: "f".into(),
            content_type: "application/octet-stream".into(),
            metadata: None,
            length,
            ttl: None,
            token: None,
        };
        UploadState::new(new, 5 << 20, 1 << 30, 86400, 1000).unwrap()
    }

    fn at(mut u: UploadState, offset: u64) -> UploadState {
        u.offset = offset;
        u
    }

    #[test]
    fn accept_table() {
        use Accept::*;
        type Row = (UploadState, Option<u64>, Option<u64>, Result<Accept>);
        let rows: Vec<Row> = vec![
            (upload(Some(100)), Some(0), Some(10), Ok(Apply { limit: 100 })),
            (upload(Some(100)), Some(0), None, Ok(Apply { limit: 100 })),
            (upload(Some(100)), None, None, Ok(Apply { limit: 100 })),
            (at(upload(Some(100)), 40), Some(40), Some(60), Ok(Apply { limit: 60 })),
            (upload(None), Some(0), None, Ok(Apply { limit: 1 << 30 })),
            // a retry of a range already received is acknowledged, not applied twice
            (at(upload(Some(100)), 40), Some(30), Some(10), Ok(AlreadyHave)),
            (at(upload(Some(100)), 40), Some(0), Some(40), Ok(AlreadyHave)),
            // overlaps and gaps are refused
            (at(upload(Some(100)), 40), Some(30), Some(20), Err(Error::Conflict("x".into()))),
            (at(upload(Some(100)), 40), Some(30), None, Err(Error::Conflict("x".into()))),
            (at(upload(Some(100)), 40), Some(41), Some(1), Err(Error::Conflict("x".into()))),
            // past the declared length
            (at(upload(Some(100)), 40), Some(40), Some(61), Err(Error::bad_request("x"))),
            (upload(None), Some(0), Some((1 << 30) + 1), Err(Error::TooLarge { max: 1 << 30 })),
        ];
        for (i, (u, offset, len, want)) in rows.into_iter().enumerate() {
            let got = u.accept(offset, len);
            match (&got, &want) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "row {i}"),
                (Err(a), Err(b)) => assert_eq!(a.code(), b.code(), "row {i}: {a}"),
                _ => panic!("row {i}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn finished_or_cancelled_uploads_take_nothing() {
        let mut u = upload(Some(0));
        u.check_complete(None).unwrap();
        u.completed(sample_record(), 5);
        assert_eq!(u.accept(Some(0), Some(0)).unwrap_err().status(), 404);
        assert_eq!(u.check_complete(None).unwrap_err().status(), 404);
    }

    #[test]
    fn completion_needs_the_length_reached() {
        let mut u = at(upload(Some(100)), 99);
        assert_eq!(u.check_complete(None).unwrap_err().status(), 409);
        u.offset = 100;
        assert!(u.check_complete(None).is_ok());
        // a deferred length becomes what was received
        let mut u = at(upload(None), 7);
        u.check_complete(None).unwrap();
        assert_eq!(u.length(), Some(7));
    }

    #[test]
    fn completion_checks_the_digest() {
        let mut u = upload(None);
        let mut cut = u.cut(Vec::new());
        cut.hash.update(b"abc");
        u.absorb(&cut, 2000);
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(u.clone().check_complete(Some(&"0".repeat(64))), Err(Error::DigestMismatch));
        assert!(u.clone().check_complete(Some(abc)).is_ok());
        assert!(u.check_complete(Some(&abc.to_uppercase())).is_ok());
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
        let cut = u.cut(Vec::new());
        u.absorb(&cut, 5000);
        assert_eq!(u.idle_deadline(), 5000 + 86_400_000);
    }

    fn sample_record() -> FileRecord {
        FileRecord {
            id: "u1".into(),
            tenant: "t".into(),
            name: "f".into(),
            content_type: "x/y".into(),
            size: 0,
            sha256: String::new(),
            created_at: 0,
            expires_at: None,
            ttl: None,
            dialect: "tus".into(),
            r2_key: "k".into(),
        }
    }
}
