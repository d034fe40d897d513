//! Numbered chunks in any order (Twake's resumable.js uploads: chunk `k` of `n`, 1-based,
//! several in parallel, a re-sent chunk replacing the earlier one), as a pure model: where
//! each chunk's bytes go in R2, and when the file is whole. No I/O here.
//!
//! resumable.js cuts a file of `size` bytes into `n = max(floor(size / c), 1)` chunks of `c`
//! bytes but the last, which takes the rest (from `c` up to `2c - 1` bytes, or less when the
//! file is smaller than `c`). So every chunk but the last has the same size, which is what
//! R2 wants of multipart parts. The layout:
//! - one chunk: the whole file, written as any one-request file is;
//! - chunks of at least 5 MiB: chunk `k < n` is R2 part `k`; the last chunk is part `n`, or
//!   parts `n` and `n + 1` when it is larger than the others (R2 wants a last part no larger
//!   than the rest). Chunks upload in parallel, each straight to its part; the chunk size is
//!   learned from the first chunk that is not the last, or from the last one and the total
//!   size (`c = (size - last) / (n - 1)`);
//! - smaller chunks (R2 refuses parts under 5 MiB): each is staged as an object of its own,
//!   and the file is assembled from them in order at completion.
//!
//! Either way the file's sha256 is computed at completion, from the assembled object.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::part_plan::MAX_PARTS;
use crate::config::R2_MIN_PART;
use crate::error::{Error, Result};

/// How the chunks of one upload are laid out in R2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A single chunk: the whole file.
    Single,
    /// Chunk `k` is R2 part `k` (and the last may add part `n + 1`).
    Parts { chunk_size: u64 },
    /// Each chunk is an object of its own until completion.
    Staged,
}

/// Where one chunk's bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The whole file, in one request.
    Whole,
    /// Into these R2 parts: (part number, bytes of the chunk it takes).
    Parts(Vec<(u16, u64)>),
    /// Into its own staging object.
    Staged,
}

/// A chunked upload's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunked {
    pub total_chunks: u32,
    /// The file's size, when the client said.
    pub total_size: Option<u64>,
    pub layout: Option<Layout>,
    /// Chunks received, by number: their length.
    pub received: BTreeMap<u32, u64>,
}

impl Chunked {
    pub fn new(total_chunks: u32, total_size: Option<u64>, max_file: u64) -> Result<Chunked> {
        if total_chunks == 0 || u64::from(total_chunks) >= MAX_PARTS {
            return Err(Error::bad_request(format!("total chunks must be 1 to {}", MAX_PARTS - 1)));
        }
        if total_size.is_some_and(|s| s > max_file) {
            return Err(Error::TooLarge { max: max_file });
        }
        Ok(Chunked { total_chunks, total_size: total_size.filter(|s| *s > 0), layout: None, received: BTreeMap::new() })
    }

    /// The layout a chunk fixes when none is fixed yet.
    fn layout_for(&self, k: u32, len: u64) -> Result<Layout> {
        let n = u64::from(self.total_chunks);
        if n == 1 {
            return Ok(Layout::Single);
        }
        let chunk_size = if u64::from(k) < n {
            Some(len)
        } else {
            // the last chunk: the others' size follows from the total, if it is known
            self.total_size
                .and_then(|s| s.checked_sub(len))
                .filter(|rest| rest % (n - 1) == 0)
                .map(|rest| rest / (n - 1))
        };
        Ok(match chunk_size {
            Some(c) if c >= R2_MIN_PART => Layout::Parts { chunk_size: c },
            _ => Layout::Staged,
        })
    }

    /// Where chunk `k` (1-based) of `len` bytes goes; fixes the layout on the first chunk.
    /// A chunk that cannot belong to this upload is refused before a byte is read.
    pub fn place(&mut self, k: u32, len: u64) -> Result<Placement> {
        let n = self.total_chunks;
        if k == 0 || k > n {
            return Err(Error::bad_request(format!("chunk number must be 1 to {n}")));
        }
        let layout = match self.layout {
            Some(l) => l,
            None => self.layout_for(k, len)?,
        };
        let last = k == n;
        let placement = match layout {
            Layout::Single => Placement::Whole,
            Layout::Staged => Placement::Staged,
            Layout::Parts { chunk_size: c } => {
                if !last && len != c {
                    return Err(Error::bad_request(format!(
                        "chunk {k} has {len} bytes; every chunk but the last has {c}"
                    )));
                }
                if last && (len == 0 || len >= 2 * c) {
                    return Err(Error::bad_request(format!("the last chunk must have 1 to {} bytes", 2 * c - 1)));
                }
                let part = u16::try_from(k).map_err(|_| Error::bad_request("too many chunks"))?;
                if last && len > c {
                    Placement::Parts(vec![(part, c), (part + 1, len - c)])
                } else {
                    Placement::Parts(vec![(part, len)])
                }
            }
        };
        if let (Some(size), Layout::Parts { chunk_size: c }) = (self.total_size, layout) {
            let end = u64::from(k - 1) * c + len;
            if end > size || (last && end != size) {
                return Err(Error::bad_request(format!("chunk {k} does not fit a file of {size} bytes")));
            }
        }
        self.layout = Some(layout);
        Ok(placement)
    }

    /// Chunk `k` has landed (a re-sent one replaces the earlier).
    pub fn landed(&mut self, k: u32, len: u64) {
        self.received.insert(k, len);
    }

    /// Chunks still missing, in order.
    pub fn missing(&self) -> Vec<u32> {
        (1..=self.total_chunks).filter(|k| !self.received.contains_key(k)).collect()
    }

    /// The size of the whole file, once every chunk is in; `409` before.
    pub fn complete(&self) -> Result<u64> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Err(Error::Conflict(format!(
                "upload incomplete: {} of {} chunks missing",
                missing.len(),
                self.total_chunks
            )));
        }
        let size: u64 = self.received.values().sum();
        if self.total_size.is_some_and(|s| s != size) {
            return Err(Error::Conflict(format!(
                "the chunks hold {size} bytes, not the {} announced",
                self.total_size.unwrap_or(0)
            )));
        }
        Ok(size)
    }

    /// The R2 parts of the assembled object, in order (for `Layout::Parts`).
    pub fn part_numbers(&self) -> Vec<u16> {
        let Some(Layout::Parts { chunk_size: c }) = self.layout else { return Vec::new() };
        let mut parts: Vec<u16> = (1..=self.total_chunks as u16).collect();
        if self.received.get(&self.total_chunks).is_some_and(|len| *len > c) {
            parts.push(self.total_chunks as u16 + 1);
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MIB;

    const MAX: u64 = 5 << 30;
    const C: u64 = 50 * MIB;

    #[test]
    fn parallel_chunks_in_any_order_map_to_equal_parts() {
        // 4 chunks of 50 MiB, the last with 70 MiB (resumable.js gives the rest to the last)
        let size = 3 * C + 70 * MIB;
        let mut up = Chunked::new(4, Some(size), MAX).unwrap();
        assert_eq!(up.place(3, C).unwrap(), Placement::Parts(vec![(3, C)]));
        assert_eq!(up.layout, Some(Layout::Parts { chunk_size: C }));
        assert_eq!(
            up.place(4, 70 * MIB).unwrap(),
            Placement::Parts(vec![(4, C), (5, 20 * MIB)]),
            "a larger last chunk is split"
        );
        up.landed(4, 70 * MIB);
        up.landed(3, C);
        assert_eq!(up.missing(), vec![1, 2]);
        assert_eq!(up.complete().unwrap_err().status(), 409);
        assert_eq!(up.place(1, C).unwrap(), Placement::Parts(vec![(1, C)]));
        up.landed(1, C);
        // a re-sent chunk goes to the same part, replacing it
        assert_eq!(up.place(1, C).unwrap(), Placement::Parts(vec![(1, C)]));
        up.landed(1, C);
        up.place(2, C).unwrap();
        up.landed(2, C);
        assert_eq!(up.complete().unwrap(), size);
        assert_eq!(up.part_numbers(), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_last_chunk_first_learns_the_chunk_size_from_the_total() {
        let size = 2 * C + 10 * MIB;
        let mut up = Chunked::new(3, Some(size), MAX).unwrap();
        assert_eq!(up.place(3, 10 * MIB).unwrap(), Placement::Parts(vec![(3, 10 * MIB)]));
        assert_eq!(up.layout, Some(Layout::Parts { chunk_size: C }));
        assert_eq!(up.place(1, C - 1).unwrap_err().status(), 400, "every chunk but the last has the same size");
        // without a total, a last chunk first cannot tell the size: stage
        let mut up = Chunked::new(3, None, MAX).unwrap();
        assert_eq!(up.place(3, 10 * MIB).unwrap(), Placement::Staged);
    }

    #[test]
    fn small_chunks_are_staged_and_one_chunk_is_the_whole_file() {
        let mut up = Chunked::new(3, Some(2 * MIB + 5), MAX).unwrap();
        assert_eq!(up.place(2, MIB).unwrap(), Placement::Staged, "R2 refuses parts under 5 MiB");
        assert_eq!(up.part_numbers(), Vec::<u16>::new());
        let mut one = Chunked::new(1, Some(10), MAX).unwrap();
        assert_eq!(one.place(1, 10).unwrap(), Placement::Whole);
        one.landed(1, 10);
        assert_eq!(one.complete().unwrap(), 10);
    }

    #[test]
    fn chunks_that_cannot_belong_are_refused() {
        assert_eq!(Chunked::new(0, None, MAX).unwrap_err().status(), 400);
        assert_eq!(Chunked::new(10_000, None, MAX).unwrap_err().status(), 400);
        assert_eq!(Chunked::new(2, Some(MAX + 1), MAX).unwrap_err().status(), 413);
        let mut up = Chunked::new(4, Some(3 * C + 10), MAX).unwrap();
        assert_eq!(up.place(0, C).unwrap_err().status(), 400);
        assert_eq!(up.place(5, C).unwrap_err().status(), 400);
        up.place(1, C).unwrap();
        assert_eq!(
            up.place(4, 2 * C).unwrap_err().status(),
            400,
            "a last chunk of twice the size is not resumable.js's"
        );
        assert_eq!(up.place(4, 11).unwrap_err().status(), 400, "does not add up to the total");
        assert!(up.place(4, 10).is_ok());
        // the whole adds up, or completion says so
        let mut up = Chunked::new(2, Some(C + 5), MAX).unwrap();
        up.place(1, C).unwrap();
        up.landed(1, C);
        up.landed(2, 5);
        assert_eq!(up.complete().unwrap(), C + 5);
        up.landed(2, 6);
        assert_eq!(up.complete().unwrap_err().status(), 409);
    }
}
