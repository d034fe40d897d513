//! The streaming write path: byte streams into R2.
//!
//! Bytes are hashed as they pass and re-cut into parts of exactly `part_size`. A file no
//! longer than one part becomes a single `put`; a longer one an R2 multipart upload. One part
//! is uploaded while the next one fills, so memory stays at about two parts whatever the file
//! size, and reading the body never waits on R2 longer than it must.
//!
//! [`Cut`] is the state between streams: an upload received over many requests feeds each
//! request's body into the same `Cut` ([`feed`]), saves it between requests (the tail bytes
//! in the Upload Durable Object's storage) and [`seal`]s it once. Between requests the tail
//! stays where it is stored (`Cut::stored`): a request only adds its own bytes to it, and
//! reads it back only when a part is cut from it. [`write_held`] does all three for a file
//! that arrives in one request, hashing it natively where it can.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::future::{select, Either};
use futures_util::{Stream, StreamExt};

use super::plan::PartPlan;
use super::sha256::Running;
use crate::error::{Error, Result};
use crate::store::limits::R2_MAX_PARTS;
use crate::store::{BlobMeta, BlobStore, MultipartRef, ObjectInfo, UploadedPart};

/// A file that arrived in one stream: its size and digest, and either the completed multipart
/// object (`sealed`) or, for a file of at most one part, its bytes (`tail`), not yet written.
#[derive(Debug)]
pub struct Fed {
    pub size: u64,
    pub sha256: String,
    pub sealed: Option<ObjectInfo>,
    pub tail: Vec<u8>,
}

/// Where a file being written stands: its open multipart upload and acknowledged parts, the
/// bytes after the last part (the tail, at most one part: its first `stored` bytes kept
/// elsewhere, the rest in `tail`), how many bytes in all, and the hash of everything so far.
#[derive(Debug)]
pub struct Cut {
    pub multipart: Option<MultipartRef>,
    pub parts: Vec<UploadedPart>,
    /// The tail's first bytes, kept outside the `Cut` (in the Upload object's storage, as
    /// an earlier request left them): read back only when a part is cut from them, after
    /// which this is 0 and the whole tail is in `tail`.
    pub stored: u64,
    /// The tail's bytes after the `stored` ones.
    pub tail: Vec<u8>,
    pub size: u64,
    pub hash: Running,
    /// The number of the first part cut here (1, but for a chunk going into parts of its
    /// file's upload: [`write_parts`]).
    pub first_part: u16,
}

impl Cut {
    /// Nothing written yet, hashed with `hash`.
    pub fn new(hash: Running) -> Cut {
        Cut { multipart: None, parts: Vec::new(), stored: 0, tail: Vec::new(), size: 0, hash, first_part: 1 }
    }

    /// The bytes after the last part, stored and held.
    pub fn tail_len(&self) -> u64 {
        self.stored + self.tail.len() as u64
    }
}

/// Reads the stored start of a tail (its length given) when a part is cut from it.
pub type ReadStored<'r> = &'r dyn Fn(u64) -> Result<Vec<u8>>;

/// Where the bytes go and how they are cut.
pub struct Target<'a, B> {
    pub store: &'a B,
    pub key: &'a str,
    pub meta: &'a BlobMeta,
    pub part_size: u64,
}

type PartFuture<'a> = Pin<Box<dyn Future<Output = Result<UploadedPart>> + 'a>>;

/// How much a [`feed`] may take, and what to do at its end.
#[derive(Debug, Clone)]
pub struct FeedLimits {
    /// Most bytes this body may carry.
    pub limit: u64,
    /// The error when `limit` is passed.
    pub over: Error,
    /// Send a tail that is exactly one part at the end of the body (more bodies will follow,
    /// so it is not the file's only part) instead of keeping it.
    pub flush_full_tail: bool,
}

/// Feeds `body` into `cut`. `stored` reads the tail's stored start, if a part is cut from
/// it. `observe` sees every byte (for a per-request checksum). On error, `cut` still holds
/// every byte received before it, with the part in flight acknowledged: the caller decides
/// whether to keep that progress or drop it.
pub async fn feed<'a, B, S>(
    target: &Target<'a, B>,
    cut: &mut Cut,
    limits: FeedLimits,
    body: S,
    stored: ReadStored<'_>,
    observe: &mut dyn FnMut(&[u8]),
) -> Result<()>
where
    B: BlobStore,
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let mut in_flight: Option<PartFuture<'a>> = None;
    let result = feed_inner(target, cut, &limits, body, stored, observe, &mut in_flight).await;
    land(cut, &mut in_flight).await?;
    result
}

async fn feed_inner<'a, B, S>(
    target: &Target<'a, B>,
    cut: &mut Cut,
    limits: &FeedLimits,
    mut body: S,
    stored: ReadStored<'_>,
    observe: &mut dyn FnMut(&[u8]),
    in_flight: &mut Option<PartFuture<'a>>,
) -> Result<()>
where
    B: BlobStore,
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let part_size = target.part_size as usize;
    let mut received: u64 = 0;
    loop {
        // Read the next chunk while the previous part uploads.
        let next = match in_flight.as_mut() {
            None => body.next().await,
            Some(part) => match select(part.as_mut(), body.next()).await {
                Either::Left((done, next)) => {
                    *in_flight = None;
                    cut.parts.push(done?);
                    next.await
                }
                Either::Right((next, _)) => next,
            },
        };
        let Some(chunk) = next else {
            if limits.flush_full_tail && cut.tail_len() == part_size as u64 {
                flush(target, cut, stored, in_flight).await?;
            }
            return Ok(());
        };
        let chunk = chunk?;
        received += chunk.len() as u64;
        if received > limits.limit {
            return Err(limits.over.clone());
        }
        observe(&chunk);
        cut.hash.update(&chunk).await;
        cut.size += chunk.len() as u64;
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            // A full tail is sent only once more bytes arrive, so that a file of exactly one
            // part is still a single put.
            if cut.tail_len() >= part_size as u64 {
                flush(target, cut, stored, in_flight).await?;
            }
            // what `tail` may hold: the part, less the bytes stored before them
            let room = part_size - cut.stored as usize;
            let take = (room - cut.tail.len()).min(rest.len());
            if cut.tail.capacity() < cut.tail.len() + take {
                // A file known to span parts gets whole parts at once; a small one (or the
                // end of a stored tail) grows as a Vec would. Never past one part: memory
                // stays at about one part.
                let want = match cut.multipart {
                    Some(_) if cut.stored == 0 => room,
                    _ => (cut.tail.len() + take).max(cut.tail.capacity() * 2).max(64 * 1024).min(room),
                };
                cut.tail.reserve_exact(want - cut.tail.len());
            }
            cut.tail.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
    }
}

/// Waits for the part in flight, if any, and records it.
async fn land<'a>(cut: &mut Cut, in_flight: &mut Option<PartFuture<'a>>) -> Result<()> {
    if let Some(part) = in_flight.take() {
        cut.parts.push(part.await?);
    }
    Ok(())
}

/// Sends the (full) tail as the next part, its stored start read back first; it uploads
/// while the following bytes are read.
async fn flush<'a, B: BlobStore>(
    target: &Target<'a, B>,
    cut: &mut Cut,
    stored: ReadStored<'_>,
    in_flight: &mut Option<PartFuture<'a>>,
) -> Result<()> {
    let full = if cut.stored > 0 {
        let mut full = stored(cut.stored)?;
        if full.len() as u64 != cut.stored {
            return Err(Error::Internal(format!("stored tail of {} bytes, not {}", full.len(), cut.stored)));
        }
        full.reserve_exact(cut.tail.len());
        full.extend_from_slice(&std::mem::take(&mut cut.tail));
        cut.stored = 0;
        full
    } else {
        std::mem::take(&mut cut.tail)
    };
    land(cut, in_flight).await?;
    *in_flight = Some(start_part(target, cut, full).await?);
    Ok(())
}

/// Parts are numbered densely from `first_part`; the part in flight is always awaited before
/// the next starts, so every earlier part is in `parts`.
fn next_part_number(cut: &Cut, part_size: u64) -> Result<u16> {
    let n = usize::from(cut.first_part) + cut.parts.len();
    u16::try_from(n)
        .ok()
        .filter(|n| u64::from(*n) <= R2_MAX_PARTS)
        .ok_or(Error::TooLarge { max: part_size * R2_MAX_PARTS })
}

/// Opens the multipart upload on the first part, then starts uploading `bytes`.
async fn start_part<'a, B: BlobStore>(target: &Target<'a, B>, cut: &mut Cut, bytes: Vec<u8>) -> Result<PartFuture<'a>> {
    if cut.multipart.is_none() {
        cut.multipart = Some(target.store.create_multipart(target.key, target.meta).await?);
    }
    let n = next_part_number(cut, target.part_size)?;
    let store = target.store;
    let mp = cut.multipart.clone().expect("opened above");
    Ok(Box::pin(async move { store.upload_part(&mp, n, bytes).await }))
}

/// Makes the object: a single put when no part was cut, else the last part and the
/// completion of the multipart upload. Either step may be repeated after a failure: a put or
/// a part is simply written again.
pub async fn seal<B: BlobStore>(
    target: &Target<'_, B>,
    multipart: Option<&MultipartRef>,
    mut parts: Vec<UploadedPart>,
    tail: Vec<u8>,
) -> Result<ObjectInfo> {
    match multipart {
        None => target.store.put(target.key, tail, target.meta).await,
        Some(mp) => {
            if !tail.is_empty() {
                let n = u16::try_from(parts.len() + 1)
                    .map_err(|_| Error::TooLarge { max: target.part_size * R2_MAX_PARTS })?;
                parts.push(target.store.upload_part(mp, n, tail).await?);
            }
            target.store.complete(mp, parts).await
        }
    }
}

/// Writes exactly `len` bytes of `body` into parts of the open multipart upload `mp`,
/// numbered from `first`, each `part_size` bytes but the last: a piece of a file whose pieces
/// arrive in any order (a Twake chunk). Nothing is hashed. A body longer or shorter than
/// `len` fails with `wrong`, its parts left to be replaced by a retry or dropped with the
/// upload.
pub async fn write_parts<B, S>(
    store: &B,
    mp: &MultipartRef,
    first: u16,
    part_size: u64,
    len: u64,
    wrong: Error,
    body: S,
) -> Result<Vec<UploadedPart>>
where
    B: BlobStore,
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let meta = BlobMeta::default();
    let target = Target { store, key: &mp.key, meta: &meta, part_size };
    let mut cut = Cut { multipart: Some(mp.clone()), first_part: first, ..Cut::new(Running::Unknown) };
    let limits = FeedLimits { limit: len, over: wrong.clone(), flush_full_tail: true };
    feed(&target, &mut cut, limits, body, &|_| Ok(Vec::new()), &mut |_| {}).await?;
    if cut.size != len {
        return Err(wrong);
    }
    if !cut.tail.is_empty() {
        let n = next_part_number(&cut, part_size)?;
        cut.parts.push(store.upload_part(mp, n, std::mem::take(&mut cut.tail)).await?);
    }
    Ok(cut.parts)
}

/// Writes a file that arrives in one stream, hashed with `hash`: a file longer than one part
/// becomes a completed multipart object under `meta`; a shorter one is held, for the caller to
/// put once its metadata is complete. On any failure (including the body exceeding
/// `max_size`) an open multipart upload is aborted and nothing is left.
pub async fn write_held<B, S>(
    store: &B,
    key: &str,
    meta: &BlobMeta,
    plan: PartPlan,
    max_size: u64,
    hash: Running,
    body: S,
) -> Result<Fed>
where
    B: BlobStore,
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let target = Target { store, key, meta, part_size: plan.part_size };
    let mut cut = Cut::new(hash);
    let limits = FeedLimits { limit: max_size, over: Error::TooLarge { max: max_size }, flush_full_tail: false };
    let fed = feed(&target, &mut cut, limits, body, &|_| Ok(Vec::new()), &mut |_| {}).await;
    let mp = cut.multipart.clone();
    let result = async {
        fed?;
        let Cut { multipart, parts, tail, size, hash, .. } = cut;
        let sha256 =
            hash.finish().await?.ok_or_else(|| Error::Internal("a one-request write without a hash".into()))?;
        match multipart {
            None => Ok(Fed { size, sha256, sealed: None, tail }),
            Some(mp) => {
                let info = seal(&target, Some(&mp), parts, tail).await?;
                Ok(Fed { size, sha256, sealed: Some(info), tail: Vec::new() })
            }
        }
    }
    .await;
    if let (Err(_), Some(mp)) = (&result, mp) {
        let _ = store.abort(&mp).await; // best effort; R2 expires abandoned uploads too
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MIB;
    use crate::store::memory::MemoryBlobs;
    use futures_executor::block_on;
    use futures_util::stream;

    const PART: u64 = 5 * MIB;

    /// Deterministic bytes, different at every offset.
    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u32).wrapping_mul(2654435761).rotate_right(13) as u8).collect()
    }

    fn sha(b: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(b))
    }

    fn chunks(b: &[u8], size: usize) -> impl Stream<Item = Result<Bytes>> + Unpin {
        let v: Vec<Result<Bytes>> = b.chunks(size.max(1)).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        stream::iter(v)
    }

    /// What a test wrote: parts 0 for a held file, which is then put as its caller would.
    #[derive(Debug)]
    struct Written {
        size: u64,
        sha256: String,
        parts: u16,
    }

    fn write_with(store: &MemoryBlobs, body: &[u8], chunk: usize, max: u64, hash: Running) -> Result<Written> {
        let plan = PartPlan { part_size: PART };
        let fed = block_on(write_held(store, "k", &BlobMeta::default(), plan, max, hash, chunks(body, chunk)))?;
        let parts = match fed.sealed {
            Some(_) => fed.size.div_ceil(PART) as u16,
            None => {
                block_on(store.put("k", fed.tail, &BlobMeta::default())).unwrap();
                0
            }
        };
        Ok(Written { size: fed.size, sha256: fed.sha256, parts })
    }

    fn write(store: &MemoryBlobs, body: &[u8], chunk: usize, max: u64) -> Result<Written> {
        write_with(store, body, chunk, max, Running::Resumable(Default::default()))
    }

    #[test]
    fn native_and_resumable_hashes_agree() {
        for len in [0, 1, 64, 1000, PART as usize + 7] {
            let body = data(len);
            let native = Running::Native(Box::<crate::engine::upload::sha256::Sha2Native>::default());
            let w = write_with(&MemoryBlobs::default(), &body, 4096, u64::MAX, native).unwrap();
            assert_eq!(w.sha256, sha(&body), "{len}");
            assert_eq!(write(&MemoryBlobs::default(), &body, 4096, u64::MAX).unwrap().sha256, sha(&body));
        }
    }

    #[test]
    fn a_stored_tail_is_read_back_only_when_a_part_is_cut_from_it() {
        let store = MemoryBlobs::default();
        let body = data(2 * PART as usize);
        let stored = 3 * MIB;
        let reads = std::cell::Cell::new(0);
        let read = |len: u64| {
            reads.set(reads.get() + 1);
            assert_eq!(len, stored);
            Ok(body[..len as usize].to_vec())
        };
        let meta = BlobMeta::default();
        let target = Target { store: &store, key: "k", meta: &meta, part_size: PART };
        let mut cut = Cut { stored, size: stored, ..Cut::new(Running::Resumable(Default::default())) };
        let limits = || FeedLimits { limit: u64::MAX, over: Error::TooLarge { max: 0 }, flush_full_tail: true };
        // bytes that leave the tail short of a part are held after the stored ones
        let (from, to) = (stored as usize, stored as usize + MIB as usize);
        block_on(feed(&target, &mut cut, limits(), chunks(&body[from..to], 4096), &read, &mut |_| {})).unwrap();
        assert_eq!((reads.get(), cut.stored, cut.tail.len(), cut.tail_len()), (0, stored, MIB as usize, 4 * MIB));
        // bytes that fill it: the stored start is read once, the part is the tail in order
        block_on(feed(&target, &mut cut, limits(), chunks(&body[to..], 4096), &read, &mut |_| {})).unwrap();
        assert_eq!((reads.get(), cut.stored, cut.parts.len(), cut.tail_len()), (1, 0, 2, 0));
        block_on(seal(&target, cut.multipart.as_ref(), cut.parts, cut.tail)).unwrap();
        assert_eq!(store.object("k").as_deref(), Some(&body[..]));
    }

    #[test]
    fn sizes_round_trip_with_their_digest() {
        let p = PART as usize;
        // (length, chunk size, expected parts; 0 = single put)
        let rows: &[(usize, usize, u16)] = &[
            (0, 1, 0),
            (1, 1, 0),
            (1000, 7, 0),
            (MIB as usize, 64 * 1024, 0),
            (p - 1, 65536, 0),
            (p, 65536, 0),
            (p, p, 0),
            (p + 1, 65536, 2),
            (p + 1, p + 1, 2),
            (2 * p, 3 * MIB as usize, 2),
            (2 * p + 1, 1 << 20, 3),
            (20 * MIB as usize, 7 * MIB as usize, 4),
            (3 * p + 12345, 64 * 1024 + 3, 4),
        ];
        for &(len, chunk, parts) in rows {
            let store = MemoryBlobs::default();
            let body = data(len);
            let w = write(&store, &body, chunk, u64::MAX).unwrap_or_else(|e| panic!("{len}/{chunk}: {e}"));
            assert_eq!(w.size, len as u64);
            assert_eq!(w.sha256, sha(&body));
            assert_eq!(w.parts, parts, "{len}/{chunk}");
            assert_eq!(store.object("k").as_deref(), Some(&body[..]), "{len}/{chunk}");
            assert_eq!(store.puts.get(), u32::from(parts == 0));
            assert_eq!(store.open_uploads(), 0);
        }
    }

    #[test]
    fn over_the_maximum_is_refused_and_cleaned_up() {
        let store = MemoryBlobs::default();
        let body = data(3 * PART as usize);
        let err = write(&store, &body, 1 << 20, 2 * PART).unwrap_err();
        assert_eq!(err, Error::TooLarge { max: 2 * PART });
        assert!(store.object("k").is_none());
        assert_eq!(store.open_uploads(), 0);
        assert_eq!(store.aborts.get(), 1);
    }

    #[test]
    fn a_failing_body_aborts_the_upload() {
        let store = MemoryBlobs::default();
        let good = data(2 * PART as usize);
        let s = stream::iter(vec![Ok(Bytes::from(good)), Err(Error::IncompleteBody("client went away".into()))]);
        let hash = Running::Resumable(Default::default());
        let r =
            block_on(write_held(&store, "k", &BlobMeta::default(), PartPlan { part_size: PART }, u64::MAX, hash, s));
        assert_eq!(r.unwrap_err().status(), 400);
        assert!(store.object("k").is_none());
        assert_eq!(store.open_uploads(), 0);
    }
}
