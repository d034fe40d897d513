//! Many files as one download: a zip archive of stored entries ([`crate::http::zip`]) laid out
//! from the files' records, its bytes streamed from R2 as they are read, any range of it on
//! its own. Each file's CRC-32 is kept beside it once known (`z/{id}`, [`keys::crc`]): a
//! first whole download computes the CRCs of the files it lacks as their bytes pass and keeps
//! them; a range that needs one not yet known reads that file first.

use futures_util::future::LocalBoxFuture;
use futures_util::stream::{LocalBoxStream, StreamExt};

use super::Ctx;
use crate::engine::file::keys;
use crate::engine::file::record::FileRecord;
use crate::error::{Error, Result};
use crate::http::range::Span;
use crate::http::zip::{safe_names, Archive, Crc, Entry, Part, Segment};
use crate::store::{BlobStore, Platform};

/// Bytes read at a time when a CRC-32 is computed before an answer.
const CRC_PIECE: u64 = 8 * 1024 * 1024;

/// A file in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundled {
    pub id: String,
    pub r2_key: String,
}

/// The archive of some files, as far as is known before a byte of it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub archive: Archive,
    pub files: Vec<Bundled>,
    /// Each file's CRC-32, where known.
    pub crcs: Vec<Option<u32>>,
    /// A strong validator of the archive's bytes: the same files, names and contents.
    pub etag: String,
}

/// A file's kept CRC-32: `{crc:08x} {size}` (the size guards against a file whose bytes
/// changed under the same id).
fn crc_record(crc: u32, size: u64) -> String {
    format!("{crc:08x} {size}")
}

fn parse_crc(raw: &[u8], size: u64) -> Option<u32> {
    let text = std::str::from_utf8(raw).ok()?;
    let (crc, kept_size) = text.trim().split_once(' ')?;
    (kept_size.parse::<u64>().ok()? == size).then_some(())?;
    u32::from_str_radix(crc, 16).ok()
}

/// A file's bytes, a chunk at a time.
pub type Chunks = LocalBoxStream<'static, Result<Vec<u8>>>;

/// Where a bundle's stream reads files' bytes and keeps the CRC-32s it computed: the
/// worker's R2 bucket, or the host tests' memory.
pub trait Source {
    /// `len` bytes of the object at `key` from `offset`, a chunk at a time.
    fn read(&self, key: &str, offset: u64, len: u64) -> LocalBoxFuture<'_, Result<Chunks>>;
    /// Writes a small object (a kept CRC-32).
    fn keep(&self, key: String, value: String) -> LocalBoxFuture<'_, Result<()>>;
}

impl<P: Platform> Ctx<'_, P> {
    /// The bundle of `files` (records and their entity tags, in order; names made safe and
    /// unique), with the CRC-32s kept for them.
    pub async fn bundle(&self, files: &[(FileRecord, String)]) -> Result<Bundle> {
        use sha2::Digest;
        let names = safe_names(files.iter().map(|(r, _)| r.name.as_str()));
        let mut entries = Vec::with_capacity(files.len());
        let mut crcs = Vec::with_capacity(files.len());
        let mut tag = sha2::Sha256::new();
        for ((record, etag), name) in files.iter().zip(names) {
            tag.update(format!("{name}\0{}\0{}\0{etag}\0", record.size, record.created_at));
            let kept = self.blobs.get_bytes(&keys::crc(&record.id)).await?;
            crcs.push(kept.and_then(|raw| parse_crc(&raw, record.size)));
            entries.push(Entry { name, size: record.size, modified: record.created_at });
        }
        let files = files.iter().map(|(r, _)| Bundled { id: r.id.clone(), r2_key: r.r2_key.clone() }).collect();
        let etag = format!("\"z{}\"", hex::encode(&tag.finalize()[..16]));
        Ok(Bundle { archive: Archive::new(entries), files, crcs, etag })
    }

    /// Makes sure the CRC-32s the bytes `span` hold are known, where the stream cannot compute
    /// them as it goes (it can for a file whose bytes it sends whole before its descriptor):
    /// such a file is read now, and its CRC-32 kept.
    pub async fn crcs_for(&self, bundle: &mut Bundle, span: Span) -> Result<()> {
        let streamed = streamed_whole(&bundle.archive, span);
        for i in bundle.archive.crcs_needed(span) {
            if bundle.crcs[i].is_some() || streamed.contains(&i) {
                continue;
            }
            let size = bundle.archive.entries()[i].size;
            let mut crc = Crc::default();
            let mut at = 0;
            while at < size {
                let len = CRC_PIECE.min(size - at);
                let piece = self.blobs.get_range(&bundle.files[i].r2_key, at, len).await?;
                let piece = piece.ok_or_else(|| Error::Expired("file no longer available".into()))?;
                if piece.len() as u64 != len {
                    return Err(Error::Storage(format!("short read of {}", bundle.files[i].r2_key)));
                }
                crc.update(&piece);
                at += len;
            }
            let value = crc.value();
            let kept = crc_record(value, size).into_bytes();
            self.blobs.put(&keys::crc(&bundle.files[i].id), kept, &Default::default()).await?;
            bundle.crcs[i] = Some(value);
        }
        Ok(())
    }
}

/// The entries whose bytes `span` sends whole.
fn streamed_whole(archive: &Archive, span: Span) -> Vec<usize> {
    archive
        .segments(span)
        .into_iter()
        .filter_map(|s| match s {
            Segment::Data { entry, offset: 0, len } if len == archive.entries()[entry].size => Some(entry),
            _ => None,
        })
        .collect()
}

/// What the stream does next.
enum Step {
    Segments(std::vec::IntoIter<Segment>),
    Done,
}

struct Run<S> {
    source: S,
    bundle: Bundle,
    crcs: Vec<u32>,
    /// CRC-32s this stream computed (to keep).
    computed: Vec<usize>,
    step: Step,
    /// The file being sent: its entry, its bytes, and its CRC-32 as they pass (if computed).
    data: Option<(usize, Chunks, Option<Crc>)>,
}

/// The bytes `span` of a bundle's archive, as a stream; CRC-32s the bytes need must be known
/// ([`Ctx::crcs_for`]) or computed as the file's bytes pass (and are then kept).
pub fn stream<'a, S: Source + 'a>(source: S, bundle: Bundle, span: Span) -> LocalBoxStream<'a, Result<Vec<u8>>> {
    let segments = bundle.archive.segments(span);
    let crcs = bundle.crcs.iter().map(|c| c.unwrap_or(0)).collect();
    let run =
        Run { source, bundle, crcs, computed: Vec::new(), step: Step::Segments(segments.into_iter()), data: None };
    futures_util::stream::unfold(run, |mut run| async move {
        match next(&mut run).await {
            Ok(Some(bytes)) => Some((Ok(bytes), run)),
            Ok(None) => None,
            Err(e) => {
                run.step = Step::Done;
                run.data = None;
                Some((Err(e), run))
            }
        }
    })
    .boxed_local()
}

async fn next<S: Source>(run: &mut Run<S>) -> Result<Option<Vec<u8>>> {
    loop {
        if let Some((entry, data, crc)) = &mut run.data {
            match data.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    if let Some(crc) = crc {
                        crc.update(&chunk);
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    return Ok(Some(chunk));
                }
                None => {
                    if let Some(crc) = crc.take() {
                        run.crcs[*entry] = crc.value();
                        run.computed.push(*entry);
                    }
                    run.data = None;
                    continue;
                }
            }
        }
        let Step::Segments(segments) = &mut run.step else { return Ok(None) };
        let Some(segment) = segments.next() else {
            run.step = Step::Done;
            return Ok(None);
        };
        match segment {
            Segment::Part { part, skip, take } => {
                if part == Part::Directory {
                    keep_computed(run).await;
                }
                let bytes = run.bundle.archive.render(part, &run.crcs);
                return Ok(Some(bytes[skip as usize..(skip + take) as usize].to_vec()));
            }
            Segment::Data { entry, offset, len } => {
                let whole = offset == 0 && len == run.bundle.archive.entries()[entry].size;
                let crc = (whole && run.bundle.crcs[entry].is_none()).then(Crc::default);
                let data = run.source.read(&run.bundle.files[entry].r2_key, offset, len).await?;
                run.data = Some((entry, counted(data, len, run.bundle.files[entry].r2_key.clone()), crc));
            }
        }
    }
}

/// A file's bytes, refused if they end before `len` (a stored object shorter than its record
/// says would make a corrupt archive: better an error the client sees as a broken download).
fn counted(data: Chunks, len: u64, key: String) -> Chunks {
    let state = (data, 0u64, false);
    futures_util::stream::unfold(state, move |(mut data, seen, ended)| {
        let key = key.clone();
        async move {
            if ended {
                return None;
            }
            match data.next().await {
                Some(Ok(chunk)) => {
                    let seen = seen + chunk.len() as u64;
                    if seen > len {
                        return Some((
                            Err(Error::Storage(format!("{key}: longer than its record"))),
                            (data, seen, true),
                        ));
                    }
                    Some((Ok(chunk), (data, seen, false)))
                }
                Some(Err(e)) => Some((Err(e), (data, seen, true))),
                None if seen < len => {
                    Some((Err(Error::Storage(format!("{key}: shorter than its record"))), (data, seen, true)))
                }
                None => None,
            }
        }
    })
    .boxed_local()
}

/// Keeps the CRC-32s this stream computed; a failure costs only a later recomputation.
async fn keep_computed<S: Source>(run: &mut Run<S>) {
    for i in std::mem::take(&mut run.computed) {
        let size = run.bundle.archive.entries()[i].size;
        let key = keys::crc(&run.bundle.files[i].id);
        let _ = run.source.keep(key, crc_record(run.crcs[i], size)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_crcs_are_read_for_their_size_only() {
        assert_eq!(parse_crc(crc_record(0xdeadbeef, 12).as_bytes(), 12), Some(0xdeadbeef));
        assert_eq!(parse_crc(crc_record(0xdeadbeef, 12).as_bytes(), 13), None);
        assert_eq!(parse_crc(b"zz 12", 12), None);
        assert_eq!(parse_crc(b"", 0), None);
    }
}
