//! Twake company files: the file's state while its chunks arrive, and what its object does
//! with a call. A file is one object (named by its company and id, so it is found only under
//! its own company's path) holding its resource as Twake shows it, the chunks landed so far
//! and the phase: `Uploading`, `Finishing` (one request, the one whose chunk completed the set,
//! assembles the file; should it die, another takes over once the phase is stale), `Done`.
//!
//! How chunks become one R2 object: each chunk is written, as it arrives and in parallel with
//! the others, to a staging object of its own (`c/{id}/{k}`: streamed, never held whole); the
//! request that lands the last missing chunk reads the staged chunks in order, a piece at a
//! time, through the same writer as any one-request file, which cuts them into equal R2 parts
//! and computes the whole-file sha256 as the bytes pass; then the staging objects go. A
//! one-chunk file is written straight to its object. Re-sending chunk `k` replaces its staging
//! object; chunk sizes may be anything (resumable.js gives the rest to the last one).
//!
//! Unless the chunk size allows better: when the client says its chunk size (resumable.js's
//! `resumableChunkSize`, as Twake's web client sends it) and that size is a multiple of a
//! part size R2 accepts ([`Direct::plan`]: 50,000,000 = 8 × 6,250,000), every chunk goes
//! straight into its own numbered parts of one R2 multipart upload, in any order, and the
//! file is one `complete` call: no staging object, no read-back. The first chunk to arrive
//! fixes the file's [`Layout`] ([`TwakeCall::Layout`]) for all the others.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::limits::R2_MAX_PARTS;
use crate::store::object::LedgerStore;
use crate::store::UploadedPart;

pub const FILE_NOT_FOUND: &str = "File not found";
pub const UPLOAD_INCOMPLETE: &str = "Upload incomplete";
const NO_OVERWRITE: &str = "users cannot directly overwrite a file";
/// A `Finishing` phase older than this is taken over by the next request.
pub const FINISHING_STALE_MS: u64 = 60_000;
/// Most chunks a file may have.
pub const MAX_CHUNKS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub name: String,
    pub mime: String,
    pub thumbnails_status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub index: u32,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadData {
    pub size: u64,
    pub chunks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Uploading,
    Finishing { since: u64 },
    Done { size: u64, sha256: String },
}

/// Largest part a chunk is cut into when its chunks go straight into R2 parts: a request
/// holds about two parts in memory, and five run at once in one isolate.
pub const DIRECT_MAX_PART: u64 = 16 << 20;

/// How a file's chunks become its object, fixed by its first chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "layout", rename_all = "snake_case")]
pub enum Layout {
    /// Each chunk in a staging object, assembled once all are in.
    Staged,
    /// Each chunk straight into its own parts of one multipart upload.
    Direct(Direct),
}

/// A file whose chunks go straight into the parts of one R2 multipart upload: every chunk
/// but the last is `chunk` bytes, cut into parts of `part` bytes (which divides it), so
/// chunk `k`'s parts are numbered from `(k - 1) × chunk / part + 1` whatever order chunks
/// arrive in, and every part but the very last has the same size, as R2 wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Direct {
    pub upload_id: String,
    pub total: u64,
    pub chunks: u32,
    pub chunk: u64,
    pub part: u64,
}

impl Direct {
    /// The chunk and part sizes for a file of `total` bytes in `chunks` chunks of
    /// `chunk` bytes (the last one takes the rest), if its chunks can go straight into parts:
    /// at least two chunks, the last one not empty, and a part size of `min_part` to
    /// [`DIRECT_MAX_PART`] bytes dividing the chunk size (the smallest such, for memory),
    /// within R2's 10,000 parts.
    pub fn plan(total: u64, chunks: u32, chunk: u64, min_part: u64) -> Option<(u64, u64)> {
        let n = u64::from(chunks);
        // (a chunk past 10,000 of the largest parts never fits: refused before the search for
        // a part size, whose steps grow with the chunk size a client claims)
        if n < 2 || chunk == 0 || chunk > R2_MAX_PARTS * DIRECT_MAX_PART || total <= (n - 1).checked_mul(chunk)? {
            return None;
        }
        let part = (1..=chunk / min_part)
            .rev()
            .filter(|m| chunk.is_multiple_of(*m))
            .map(|m| chunk / m)
            .find(|p| *p >= min_part && *p <= DIRECT_MAX_PART)?;
        let parts = (n - 1) * (chunk / part) + (total - (n - 1) * chunk).div_ceil(part);
        (parts <= R2_MAX_PARTS).then_some((chunk, part))
    }

    /// How many bytes chunk `k` must hold.
    pub fn chunk_len(&self, k: u32) -> u64 {
        if k == self.chunks {
            self.total - u64::from(self.chunks - 1) * self.chunk
        } else {
            self.chunk
        }
    }

    /// The number of chunk `k`'s first part.
    pub fn first_part(&self, k: u32) -> u16 {
        // within R2_MAX_PARTS, checked by `plan`
        (u64::from(k - 1) * (self.chunk / self.part) + 1) as u16
    }

    /// Does chunk `info` belong to this layout (same total, chunk count and chunk number)?
    pub fn check(&self, info: &ChunkInfo) -> Result<()> {
        if info.total_size != self.total || info.total_chunks != self.chunks || info.number > self.chunks {
            return Err(Error::bad_request(format!(
                "this file is {} bytes in {} chunks of {}: chunk {} of {} ({} bytes) does not fit it",
                self.total, self.chunks, self.chunk, info.number, info.total_chunks, info.total_size
            )));
        }
        Ok(())
    }
}

/// A Twake file, as its object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwakeFile {
    pub id: String,
    pub tenant: String,
    pub company_id: String,
    pub user_id: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub metadata: Option<Metadata>,
    pub thumbnails: Vec<Thumbnail>,
    pub upload_data: Option<UploadData>,
    /// The chunks landed: (number, length), by number. (A list, not a map: integer map keys
    /// do not survive the JSON of a tagged enum.)
    pub chunks: Vec<(u32, u64)>,
    pub phase: Phase,
    /// How its chunks become its object (`None` until its first chunk says; a file whose
    /// chunks landed before layouts existed is staged).
    #[serde(default)]
    pub layout: Option<Layout>,
    /// The R2 parts of each chunk landed, by chunk number (a direct layout's).
    #[serde(default)]
    pub parts: Vec<(u32, Vec<UploadedPart>)>,
}

impl TwakeFile {
    pub fn new(id: &str, tenant: &str, company_id: &str, user_id: &str, now: u64) -> TwakeFile {
        TwakeFile {
            id: id.into(),
            tenant: tenant.into(),
            company_id: company_id.into(),
            user_id: user_id.into(),
            created_at: now,
            updated_at: now,
            metadata: None,
            thumbnails: Vec::new(),
            upload_data: None,
            chunks: Vec::new(),
            phase: Phase::Uploading,
            layout: None,
            parts: Vec::new(),
        }
    }

    /// How many chunks make the file.
    pub fn total_chunks(&self) -> u32 {
        self.upload_data.as_ref().map_or(1, |u| u.chunks.max(1))
    }

    fn chunk(&self, k: u32) -> Option<u64> {
        self.chunks.binary_search_by_key(&k, |c| c.0).ok().map(|i| self.chunks[i].1)
    }

    /// Chunk `k` has landed with `len` bytes, in `parts` when its layout is direct (a
    /// re-sent one replaces the earlier).
    fn land(&mut self, k: u32, len: u64, parts: Vec<UploadedPart>) {
        match self.chunks.binary_search_by_key(&k, |c| c.0) {
            Ok(i) => self.chunks[i].1 = len,
            Err(i) => self.chunks.insert(i, (k, len)),
        }
        match self.parts.binary_search_by_key(&k, |p| p.0) {
            _ if parts.is_empty() => {}
            Ok(i) => self.parts[i].1 = parts,
            Err(i) => self.parts.insert(i, (k, parts)),
        }
    }

    /// The R2 parts of every chunk, in order, once every chunk is in (a direct layout's).
    pub fn all_parts(&self) -> Result<Vec<UploadedPart>> {
        let mut all = Vec::new();
        for (k, _) in self.chunk_lengths()? {
            let i =
                self.parts.binary_search_by_key(&k, |p| p.0).map_err(|_| Error::Conflict(UPLOAD_INCOMPLETE.into()))?;
            all.extend(self.parts[i].1.iter().cloned());
        }
        Ok(all)
    }

    /// The chunks not landed yet.
    pub fn missing(&self) -> Vec<u32> {
        (1..=self.total_chunks()).filter(|k| self.chunk(*k).is_none()).collect()
    }

    /// The chunk lengths in order, once every chunk is in.
    pub fn chunk_lengths(&self) -> Result<Vec<(u32, u64)>> {
        let lengths: Option<Vec<(u32, u64)>> =
            (1..=self.total_chunks()).map(|k| self.chunk(k).map(|l| (k, l))).collect();
        lengths.ok_or_else(|| Error::Conflict(UPLOAD_INCOMPLETE.into()))
    }
}

/// What a chunk says of its file (from the query, else its form part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInfo {
    pub number: u32,
    pub total_chunks: u32,
    pub total_size: u64,
    pub name: String,
    pub mime: String,
    /// May it change an uploaded file's metadata (an application, a server request)?
    pub privileged: bool,
    /// The chunk size the client cuts the file with, when it says (`resumableChunkSize`).
    #[serde(default)]
    pub chunk_size: Option<u64>,
}

impl ChunkInfo {
    pub fn check(&self, max_file: u64) -> Result<()> {
        if self.total_chunks == 0 || self.total_chunks > MAX_CHUNKS {
            return Err(Error::bad_request(format!("total chunks must be 1 to {MAX_CHUNKS}")));
        }
        if self.number == 0 || self.number > self.total_chunks {
            return Err(Error::bad_request(format!("chunk number must be 1 to {}", self.total_chunks)));
        }
        if self.total_size > max_file {
            return Err(Error::TooLarge { max: max_file });
        }
        Ok(())
    }
}

/// One request to a Twake file's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "twake", rename_all = "snake_case")]
pub enum TwakeCall {
    Create {
        file: Box<TwakeFile>,
    },
    /// The file (taking over a stale completion: `assemble` then says so).
    Get,
    /// The file, nothing taken over.
    Peek,
    /// Chunk `info.number` of `len` bytes has landed; `assemble` is true for the one request
    /// whose chunk completed the set.
    Landed {
        info: ChunkInfo,
        len: u64,
        /// Its R2 parts, when the file's layout is direct.
        #[serde(default)]
        parts: Vec<UploadedPart>,
    },
    /// The file's layout: the one fixed, else `propose`d (the first proposal wins; a file
    /// with chunks landed before layouts existed is staged). `None` only asks.
    Layout {
        propose: Option<Layout>,
    },
    /// The file is assembled and stored.
    Finished {
        size: u64,
        sha256: String,
    },
    /// The assembly failed: the next request for the file takes it over at once.
    Released,
    /// Where its thumbnails stand.
    Thumbnails {
        status: String,
        thumbnails: Vec<Thumbnail>,
    },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwakeAnswer {
    pub file: TwakeFile,
    /// Should this request assemble the file now?
    #[serde(default)]
    pub assemble: bool,
}

const KEY: &str = "twake";

fn parse(raw: &str) -> Result<TwakeFile> {
    serde_json::from_str(raw).map_err(|e| Error::Internal(format!("twake file: {e}")))
}

async fn save<L: LedgerStore>(store: &L, file: &TwakeFile) -> Result<()> {
    let json = serde_json::to_string(file).map_err(|e| Error::Internal(e.to_string()))?;
    store.put(KEY, &json).await
}

/// Takes over a completion whose request went away.
fn retake(file: &mut TwakeFile, now: u64) -> bool {
    match file.phase {
        Phase::Finishing { since } if now.saturating_sub(since) >= FINISHING_STALE_MS => {
            file.phase = Phase::Finishing { since: now };
            true
        }
        _ => false,
    }
}

/// Serves one call against a file's object at `now`.
pub async fn serve<L: LedgerStore>(store: &L, now: u64, call: TwakeCall) -> Result<TwakeAnswer> {
    if let TwakeCall::Create { file } = call {
        if store.get(KEY).await?.is_some() {
            return Err(Error::Conflict("file exists".into()));
        }
        save(store, &file).await?;
        return Ok(TwakeAnswer { file: *file, assemble: false });
    }
    let raw = store.get(KEY).await?.ok_or_else(|| Error::not_found(FILE_NOT_FOUND))?;
    let mut file = parse(&raw)?;
    let answer = |file: TwakeFile, assemble: bool| Ok(TwakeAnswer { file, assemble });
    match call {
        TwakeCall::Create { .. } => unreachable!("answered above"),
        TwakeCall::Peek => answer(file, false),
        TwakeCall::Get => {
            let assemble = retake(&mut file, now);
            if assemble {
                save(store, &file).await?;
            }
            answer(file, assemble)
        }
        TwakeCall::Layout { propose } => {
            if matches!(file.phase, Phase::Done { .. }) {
                return Err(Error::Conflict(NO_OVERWRITE.into()));
            }
            if file.layout.is_none() && propose.is_some() {
                file.layout = if file.chunks.is_empty() { propose } else { Some(Layout::Staged) };
                save(store, &file).await?;
            }
            answer(file, false)
        }
        TwakeCall::Landed { info, len, parts } => {
            if matches!(file.phase, Phase::Done { .. }) {
                return Err(Error::Conflict(NO_OVERWRITE.into()));
            }
            // the vendor's rule: a chunk sets the metadata while the size is unknown (or for
            // applications), when it changes the size or the name
            let unset = file.upload_data.as_ref().is_none_or(|u| u.size == 0);
            let changes = file.upload_data.as_ref().map(|u| u.size) != Some(info.total_size)
                || file.metadata.as_ref().map(|m| m.name.as_str()) != Some(info.name.as_str());
            if (info.privileged || unset) && changes || file.upload_data.is_none() {
                file.metadata = Some(Metadata {
                    name: info.name.clone(),
                    mime: info.mime.clone(),
                    thumbnails_status: "done".into(),
                });
                file.upload_data = Some(UploadData { size: info.total_size, chunks: info.total_chunks });
            }
            if info.number > file.total_chunks() {
                return Err(Error::bad_request(format!("chunk number must be 1 to {}", file.total_chunks())));
            }
            file.land(info.number, len, parts);
            file.updated_at = now;
            let assemble = file.phase == Phase::Uploading && file.missing().is_empty() || retake(&mut file, now);
            if assemble {
                file.phase = Phase::Finishing { since: now };
            }
            save(store, &file).await?;
            answer(file, assemble)
        }
        TwakeCall::Finished { size, sha256 } => {
            if let Some(u) = file.upload_data.as_mut().filter(|_| file.chunks.len() == 1) {
                // a one-chunk upload: the size is what arrived
                u.size = size;
            }
            file.phase = Phase::Done { size, sha256 };
            file.updated_at = now;
            save(store, &file).await?;
            answer(file, false)
        }
        TwakeCall::Released => {
            if let Phase::Finishing { .. } = file.phase {
                file.phase = Phase::Finishing { since: 0 };
                save(store, &file).await?;
            }
            answer(file, false)
        }
        TwakeCall::Thumbnails { status, thumbnails } => {
            if let Some(m) = file.metadata.as_mut() {
                m.thumbnails_status = status;
            }
            file.thumbnails = thumbnails;
            file.updated_at = now;
            save(store, &file).await?;
            answer(file, false)
        }
        TwakeCall::Delete => {
            store.clear().await?;
            answer(file, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::MemoryLedger;
    use futures_executor::block_on;

    fn info(number: u32, total: u32, size: u64) -> ChunkInfo {
        ChunkInfo {
            number,
            total_chunks: total,
            total_size: size,
            name: "a.bin".into(),
            mime: "x/y".into(),
            privileged: false,
            chunk_size: None,
        }
    }

    #[test]
    fn chunks_in_any_order_one_request_assembles() {
        let l = MemoryLedger::default();
        let run = |now, call| block_on(serve(&l, now, call));
        let file = TwakeFile::new("f", "acme", "c", "u", 0);
        run(0, TwakeCall::Create { file: Box::new(file) }).unwrap();
        let a = run(1, TwakeCall::Get).unwrap();
        assert_eq!(
            (a.file.metadata, a.file.upload_data, a.assemble),
            (None, None, false),
            "nothing after an empty init"
        );
        // 4 chunks, sent 3, 1, 4, 1 (again), 2
        for (k, len, last) in [(3, 10, false), (1, 10, false), (4, 15, false), (1, 10, false), (2, 10, true)] {
            let a = run(2, TwakeCall::Landed { info: info(k, 4, 45), len, parts: vec![] }).unwrap();
            assert_eq!(a.assemble, last, "chunk {k}");
        }
        let a = run(3, TwakeCall::Get).unwrap();
        assert_eq!(a.file.chunk_lengths().unwrap(), vec![(1, 10), (2, 10), (3, 10), (4, 15)]);
        assert_eq!(a.file.upload_data, Some(UploadData { size: 45, chunks: 4 }));
        assert!(!a.assemble, "a fresh completion is not taken over");
        // a chunk re-sent while finishing does not start a second assembly
        assert!(!run(4, TwakeCall::Landed { info: info(2, 4, 45), len: 10, parts: vec![] }).unwrap().assemble);
        // the assembling request died: the next request after a minute takes over, once
        assert!(run(2 + FINISHING_STALE_MS, TwakeCall::Get).unwrap().assemble);
        assert!(!run(3 + FINISHING_STALE_MS, TwakeCall::Get).unwrap().assemble);
        // an assembly that failed is released: the very next request takes it over
        run(4 + FINISHING_STALE_MS, TwakeCall::Released).unwrap();
        assert!(
            run(5 + FINISHING_STALE_MS, TwakeCall::Landed { info: info(2, 4, 45), len: 10, parts: vec![] })
                .unwrap()
                .assemble
        );
        let done = run(5, TwakeCall::Finished { size: 45, sha256: "ab".into() }).unwrap();
        assert_eq!(done.file.phase, Phase::Done { size: 45, sha256: "ab".into() });
        let late = run(6, TwakeCall::Landed { info: info(1, 4, 45), len: 10, parts: vec![] });
        assert_eq!(late.unwrap_err().status(), 409, "users cannot overwrite");
        assert_eq!(run(6, TwakeCall::Delete).unwrap().file.id, "f");
        assert!(l.is_empty());
        assert_eq!(run(7, TwakeCall::Get).unwrap_err().status(), 404);
    }

    #[test]
    fn metadata_follows_the_vendors_rule_and_one_chunk_takes_its_real_size() {
        let l = MemoryLedger::default();
        let run = |call| block_on(serve(&l, 0, call));
        run(TwakeCall::Create { file: Box::new(TwakeFile::new("f", "acme", "c", "u", 0)) }).unwrap();
        let a = run(TwakeCall::Landed { info: ChunkInfo { total_size: 0, ..info(1, 1, 0) }, len: 7, parts: vec![] })
            .unwrap();
        assert!(a.assemble);
        assert_eq!(a.file.metadata.as_ref().unwrap().name, "a.bin");
        let a = run(TwakeCall::Finished { size: 7, sha256: "s".into() }).unwrap();
        assert_eq!(a.file.upload_data, Some(UploadData { size: 7, chunks: 1 }), "the bytes that arrived");
        // once the size is known, a plain user's chunk does not rename the file
        let l = MemoryLedger::default();
        let run = |call| block_on(serve(&l, 0, call));
        run(TwakeCall::Create { file: Box::new(TwakeFile::new("f", "acme", "c", "u", 0)) }).unwrap();
        run(TwakeCall::Landed { info: info(1, 2, 20), len: 10, parts: vec![] }).unwrap();
        let renamed = ChunkInfo { name: "other.bin".into(), ..info(2, 2, 20) };
        let a = run(TwakeCall::Landed { info: renamed.clone(), len: 10, parts: vec![] }).unwrap();
        assert_eq!(a.file.metadata.unwrap().name, "a.bin");
        assert_eq!(run(TwakeCall::Landed { info: info(3, 2, 20), len: 1, parts: vec![] }).unwrap_err().status(), 400);
        assert_eq!(info(0, 2, 1).check(100).unwrap_err().status(), 400);
        assert_eq!(info(1, 0, 1).check(100).unwrap_err().status(), 400);
        assert_eq!(info(1, 1, 101).check(100).unwrap_err().status(), 413);
    }

    #[test]
    fn direct_layout_plan_parts_and_first_proposal_wins() {
        const MIB: u64 = 1 << 20;
        // Twake's web client: 50,000,000-byte chunks, the last up to twice that
        assert_eq!(Direct::plan(268_435_456, 5, 50_000_000, 5 * MIB), Some((50_000_000, 6_250_000)));
        // no part size of 5 to 16 MiB divides it, or one chunk only, or an empty last chunk
        assert_eq!(Direct::plan(64 * MIB, 13, 5_162_220, 5 * MIB), None);
        assert_eq!(Direct::plan(20_000_003 * 3, 2, 20_000_003, 5 * MIB), None, "a prime past 16 MiB");
        assert_eq!(Direct::plan(100, 1, 100, 5 * MIB), None);
        assert_eq!(Direct::plan(20 * MIB, 3, 10 * MIB, 5 * MIB), None, "the last chunk would be empty");
        assert_eq!(
            Direct::plan(32 * MIB, 2, 16 * MIB, 5 * MIB),
            Some((16 * MIB, 8 * MIB)),
            "the smallest part that divides"
        );
        // absurd claims: answered at once, never a search over them
        assert_eq!(Direct::plan(u64::MAX, 2, 1 << 62, 5 * MIB), None);
        assert_eq!(Direct::plan(100, 3, u64::MAX, 5 * MIB), None);
        // past R2's 10,000 parts
        assert_eq!(Direct::plan(20_000 * 5 * MIB, 2_000, 10 * 5 * MIB, 5 * MIB), None);
        let d = Direct { upload_id: "u".into(), total: 268_435_456, chunks: 5, chunk: 50_000_000, part: 6_250_000 };
        assert_eq!((d.first_part(1), d.first_part(2), d.first_part(5)), (1, 9, 33));
        assert_eq!((d.chunk_len(4), d.chunk_len(5)), (50_000_000, 68_435_456));
        assert!(d.check(&ChunkInfo { total_size: 268_435_456, ..info(5, 5, 0) }).is_ok());
        assert_eq!(d.check(&info(5, 5, 1)).unwrap_err().status(), 400, "another total");

        let l = MemoryLedger::default();
        let run = |call| block_on(serve(&l, 0, call));
        run(TwakeCall::Create { file: Box::new(TwakeFile::new("f", "acme", "c", "u", 0)) }).unwrap();
        assert_eq!(run(TwakeCall::Layout { propose: None }).unwrap().file.layout, None, "asking fixes nothing");
        let mine = Layout::Direct(d.clone());
        let theirs = Layout::Direct(Direct { upload_id: "v".into(), ..d.clone() });
        assert_eq!(run(TwakeCall::Layout { propose: Some(mine.clone()) }).unwrap().file.layout, Some(mine.clone()));
        assert_eq!(run(TwakeCall::Layout { propose: Some(theirs) }).unwrap().file.layout, Some(mine), "first wins");
        let part = |n| UploadedPart { number: n, etag: format!("e{n}") };
        let sizes = ChunkInfo { total_size: 268_435_456, ..info(2, 5, 0) };
        run(TwakeCall::Landed { info: sizes.clone(), len: 50_000_000, parts: (9..=16).map(part).collect() }).unwrap();
        // re-sent: its parts replace the earlier ones
        run(TwakeCall::Landed { info: sizes, len: 50_000_000, parts: vec![part(9)] }).unwrap();
        let a = run(TwakeCall::Peek).unwrap();
        assert_eq!(a.file.parts, vec![(2, vec![part(9)])]);
        assert_eq!(a.file.all_parts().unwrap_err().status(), 409, "chunks missing");
        // a file that landed staged chunks before layouts existed stays staged
        let l = MemoryLedger::default();
        let run = |call| block_on(serve(&l, 0, call));
        run(TwakeCall::Create { file: Box::new(TwakeFile::new("f", "acme", "c", "u", 0)) }).unwrap();
        run(TwakeCall::Landed { info: info(1, 2, 20), len: 10, parts: vec![] }).unwrap();
        let a = run(TwakeCall::Layout { propose: Some(Layout::Direct(d)) }).unwrap();
        assert_eq!(a.file.layout, Some(Layout::Staged));
        run(TwakeCall::Finished { size: 20, sha256: "s".into() }).unwrap();
        assert_eq!(run(TwakeCall::Layout { propose: None }).unwrap_err().status(), 409, "done: no more chunks");
    }
}
