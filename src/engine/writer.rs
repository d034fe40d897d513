//! The streaming write path: a byte stream of unknown length into R2.
//!
//! Bytes are hashed as they pass and re-cut into parts of exactly `plan.part_size`.
//! A stream no longer than one part becomes a single `put`; a longer one an R2 multipart
//! upload. One part is uploaded while the next one fills, so memory stays at about two
//! parts whatever the file size, and reading the body never waits on R2 longer than it must.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::future::{select, Either};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::part_plan::{PartPlan, MAX_PARTS};
use crate::error::{Error, Result};
use crate::store::{BlobMeta, BlobStore, MultipartRef, UploadedPart};

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
    pub parts: u16,
}

type PartFuture<'a> = Pin<Box<dyn Future<Output = Result<UploadedPart>> + 'a>>;

/// Writes `body` to `key`. On any failure (including the body exceeding `max_size`) an
/// open multipart upload is aborted and nothing is left behind.
pub async fn write_stream<B, S>(
    store: &B,
    key: &str,
    meta: &BlobMeta,
    plan: PartPlan,
    max_size: u64,
    body: S,
) -> Result<Written>
where
    B: BlobStore,
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let mut w = PartWriter { store, key, meta, part_size: plan.part_size as usize, mp: None, parts: Vec::new() };
    match w.run(max_size, body).await {
        Ok(written) => Ok(written),
        Err(e) => {
            if let Some(mp) = &w.mp {
                let _ = store.abort(mp).await; // best effort; the idle alarm catches the rest
            }
            Err(e)
        }
    }
}

struct PartWriter<'a, B> {
    store: &'a B,
    key: &'a str,
    meta: &'a BlobMeta,
    part_size: usize,
    mp: Option<MultipartRef>,
    parts: Vec<UploadedPart>,
}

impl<'a, B: BlobStore> PartWriter<'a, B> {
    async fn run<S>(&mut self, max_size: u64, mut body: S) -> Result<Written>
    where
        S: Stream<Item = Result<Bytes>> + Unpin,
    {
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut buf: Vec<u8> = Vec::new();
        let mut in_flight: Option<PartFuture<'a>> = None;

        loop {
            // Read the next chunk while the previous part uploads.
            let next = match in_flight.as_mut() {
                None => body.next().await,
                Some(part) => match select(part.as_mut(), body.next()).await {
                    Either::Left((done, next)) => {
                        self.parts.push(done?);
                        in_flight = None;
                        next.await
                    }
                    Either::Right((next, _)) => next,
                },
            };
            let Some(chunk) = next else { break };
            let chunk = chunk?;
            size += chunk.len() as u64;
            if size > max_size {
                if let Some(part) = in_flight.take() {
                    let _ = part.await;
                }
                return Err(Error::TooLarge { max: max_size });
            }
            hasher.update(&chunk);
            let mut rest: &[u8] = &chunk;
            while !rest.is_empty() {
                // A full part is sent only once more bytes arrive, so a file of exactly one
                // part is still a single put.
                if buf.len() == self.part_size {
                    let full = std::mem::replace(&mut buf, Vec::with_capacity(self.part_size));
                    if let Some(part) = in_flight.take() {
                        self.parts.push(part.await?);
                    }
                    in_flight = Some(self.start_part(full).await?);
                }
                if buf.capacity() == 0 {
                    buf.reserve_exact(self.part_size.min(rest.len().max(64 * 1024)));
                }
                let take = (self.part_size - buf.len()).min(rest.len());
                buf.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
            }
        }
        if let Some(part) = in_flight.take() {
            self.parts.push(part.await?);
        }

        let sha256 = hex::encode(hasher.finalize());
        match &self.mp {
            None => {
                self.store.put(self.key, buf, self.meta).await?;
                Ok(Written { size, sha256, parts: 0 })
            }
            Some(mp) => {
                if !buf.is_empty() {
                    let n = self.next_part_number()?;
                    self.parts.push(self.store.upload_part(mp, n, buf).await?);
                }
                let count = self.parts.len() as u16;
                self.store.complete(mp, std::mem::take(&mut self.parts)).await?;
                Ok(Written { size, sha256, parts: count })
            }
        }
    }

    /// Parts are numbered densely from 1. Callers await the part in flight before starting
    /// the next, so every earlier part is in `parts`.
    fn next_part_number(&self) -> Result<u16> {
        let n = self.parts.len() + 1;
        u16::try_from(n)
            .ok()
            .filter(|n| u64::from(*n) <= MAX_PARTS)
            .ok_or(Error::TooLarge { max: self.part_size as u64 * MAX_PARTS })
    }

    /// Opens the multipart upload on the first part, then starts uploading `bytes`.
    async fn start_part(&mut self, bytes: Vec<u8>) -> Result<PartFuture<'a>> {
        if self.mp.is_none() {
            self.mp = Some(self.store.create_multipart(self.key, self.meta).await?);
        }
        let n = self.next_part_number()?;
        let store = self.store;
        let mp = self.mp.clone().expect("opened above");
        Ok(Box::pin(async move { store.upload_part(&mp, n, bytes).await }))
    }
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
        hex::encode(Sha256::digest(b))
    }

    fn chunks(b: &[u8], size: usize) -> impl Stream<Item = Result<Bytes>> + Unpin {
        let v: Vec<Result<Bytes>> = b.chunks(size.max(1)).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        stream::iter(v)
    }

    fn write(store: &MemoryBlobs, body: &[u8], chunk: usize, max: u64) -> Result<Written> {
        let plan = PartPlan { part_size: PART };
        block_on(write_stream(store, "k", &BlobMeta::default(), plan, max, chunks(body, chunk)))
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
        let s = stream::iter(vec![
            Ok(Bytes::from(good)),
            Err(Error::bad_request("client went away")),
        ]);
        let r = block_on(write_stream(&store, "k", &BlobMeta::default(), PartPlan { part_size: PART }, u64::MAX, s));
        assert_eq!(r.unwrap_err().status(), 400);
        assert!(store.object("k").is_none());
        assert_eq!(store.open_uploads(), 0);
    }
}
