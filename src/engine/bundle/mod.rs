//! Many files as one download: a zip archive of stored entries ([`crate::http::zip`]) laid out
//! from the files' records, any range of it on its own, as pieces the platform streams: the
//! archive's own records (small, rendered here) and ranges of the files' R2 objects (which
//! the worker pipes to the client as R2 gives them; no byte of a file passes through wasm).
//! Each file's CRC-32 is read once, natively, where the range needs it and it is not known
//! yet, and kept beside the file (`z/{id}`, [`keys::crc`]) for every later zip of it.

use futures_util::stream::StreamExt;

use super::Ctx;
use crate::engine::file::keys;
use crate::engine::file::record::FileRecord;
use crate::error::{Error, Result};
use crate::http::range::Span;
use crate::http::zip::{safe_names, Archive, Entry, Segment};
use crate::store::{BlobStore, Platform};

/// Kept CRC-32s read at once.
const READS_AT_ONCE: usize = 6;

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

/// A run of an archive's bytes as the platform sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// The archive's own bytes (a header, a descriptor, the directory).
    Bytes(Vec<u8>),
    /// `len` bytes of the object at `key` from `offset`.
    File { key: String, offset: u64, len: u64 },
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

impl<P: Platform> Ctx<'_, P> {
    /// The bundle of `files` (records and their entity tags, in order; names made safe and
    /// unique), with the CRC-32s kept for them.
    pub async fn bundle(&self, files: &[(FileRecord, String)]) -> Result<Bundle> {
        use sha2::Digest;
        let archive = archive_of(files.iter().map(|(r, _)| r));
        // the kept CRC-32s, a few reads at a time
        let kept: Vec<Result<Option<Vec<u8>>>> = futures_util::stream::iter(files.iter())
            .map(|(record, _)| async move { self.blobs.get_bytes(&keys::crc(&record.id)).await })
            .buffered(READS_AT_ONCE)
            .collect()
            .await;
        let mut crcs = Vec::with_capacity(files.len());
        let mut tag = sha2::Sha256::new();
        for (((record, etag), entry), kept) in files.iter().zip(archive.entries()).zip(kept) {
            tag.update(format!("{}\0{}\0{}\0{etag}\0", entry.name, record.size, record.created_at));
            crcs.push(kept?.and_then(|raw| parse_crc(&raw, record.size)));
        }
        let files = files.iter().map(|(r, _)| Bundled { id: r.id.clone(), r2_key: r.r2_key.clone() }).collect();
        let etag = format!("\"z{}\"", hex::encode(&tag.finalize()[..16]));
        Ok(Bundle { archive, files, crcs, etag })
    }

    /// Makes sure the CRC-32s the bytes `span` hold are known: each missing one read from its
    /// file (natively in the worker), and kept.
    pub async fn crcs_for(&self, bundle: &mut Bundle, span: Span) -> Result<()> {
        for i in bundle.archive.crcs_needed(span) {
            if bundle.crcs[i].is_some() {
                continue;
            }
            let file = &bundle.files[i];
            let crc = match self.blobs.crc32(&file.r2_key).await {
                Ok(crc) => crc,
                Err(_) if self.blobs.head(&file.r2_key).await?.is_none() => {
                    return Err(Error::Expired("file no longer available".into()))
                }
                Err(e) => return Err(e),
            };
            let kept = crc_record(crc, bundle.archive.entries()[i].size).into_bytes();
            self.blobs.put(&keys::crc(&file.id), kept, &Default::default()).await?;
            bundle.crcs[i] = Some(crc);
        }
        Ok(())
    }
}

/// The archive of `records`, in order: their names made safe and unique, their sizes and
/// times (what a bundle sends, and what a listing announces as its length).
pub fn archive_of<'a>(records: impl IntoIterator<Item = &'a FileRecord>) -> Archive {
    let records: Vec<&FileRecord> = records.into_iter().collect();
    let names = safe_names(records.iter().map(|r| r.name.as_str()));
    let entries = records.iter().zip(names).map(|(r, name)| Entry { name, size: r.size, modified: r.created_at });
    Archive::new(entries.collect())
}

/// The pieces that make bytes `span` of a bundle's archive, in order; the CRC-32s they hold
/// must be known ([`Ctx::crcs_for`]).
pub fn pieces(bundle: &Bundle, span: Span) -> Result<Vec<Piece>> {
    let mut crcs = Vec::with_capacity(bundle.crcs.len());
    for (i, c) in bundle.crcs.iter().enumerate() {
        crcs.push(match c {
            Some(c) => *c,
            None if bundle.archive.crcs_needed(span).contains(&i) => {
                return Err(Error::Internal(format!("zip: the CRC-32 of entry {i} is not known")))
            }
            None => 0,
        });
    }
    let mut out = Vec::new();
    for segment in bundle.archive.segments(span) {
        match segment {
            Segment::Part { part, skip, take } => {
                let bytes = bundle.archive.render(part, &crcs);
                let piece = bytes[skip as usize..(skip + take) as usize].to_vec();
                // adjoining records go out as one write
                match out.last_mut() {
                    Some(Piece::Bytes(prev)) => prev.extend_from_slice(&piece),
                    _ => out.push(Piece::Bytes(piece)),
                }
            }
            Segment::Data { entry, offset, len } => {
                out.push(Piece::File { key: bundle.files[entry].r2_key.clone(), offset, len })
            }
        }
    }
    Ok(out)
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
