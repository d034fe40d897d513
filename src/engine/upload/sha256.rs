//! SHA-256 as the bytes pass.
//!
//! [`ResumableSha256`] is a hash whose state can be saved and resumed: an upload received over
//! many requests, and over restarts, still gets its whole-file digest without reading the file
//! back. The compression function is the `sha2` crate's; this keeps only the chaining value,
//! the length, and the bytes of an unfinished 64-byte block. It runs in wasm (~310 MiB/s).
//!
//! [`Running`] is what a write uses: that resumable hash, or the platform's native one
//! (`crypto.DigestStream` in workerd, several times faster, but its state cannot be saved) when
//! one request carries a file from its first byte to its last, or nothing at all when the
//! start of the file was hashed natively by a request that did not finish: then the digest is
//! computed at completion by reading the file back.

use serde::{Deserialize, Serialize};
use sha2::digest::generic_array::{typenum::U64, GenericArray};

/// Whole 64-byte blocks of `data` (its length a multiple of 64) as the block type `sha2` takes.
fn blocks(data: &[u8]) -> &[GenericArray<u8, U64>] {
    debug_assert_eq!(data.len() % 64, 0);
    // SAFETY: GenericArray<u8, U64> is a [u8; 64] (size 64, alignment 1), so any 64-byte
    // aligned run of bytes is a valid block, and the count is the exact number of blocks.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), data.len() / 64) }
}

const IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumableSha256 {
    h: [u32; 8],
    /// Bytes hashed so far.
    len: u64,
    /// The last `len % 64` bytes, not yet compressed (hex in JSON).
    #[serde(with = "hex_bytes")]
    pending: Vec<u8>,
}

impl Default for ResumableSha256 {
    fn default() -> Self {
        ResumableSha256 { h: IV, len: 0, pending: Vec::with_capacity(64) }
    }
}

impl ResumableSha256 {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.pending.is_empty() {
            let take = (64 - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < 64 {
                return;
            }
            sha2::compress256(&mut self.h, blocks(&self.pending));
            self.pending.clear();
        }
        let full = data.len() / 64 * 64;
        sha2::compress256(&mut self.h, blocks(&data[..full]));
        self.pending.extend_from_slice(&data[full..]);
    }

    /// Lowercase hex digest of everything hashed so far; the state is left as it was.
    pub fn hex(&self) -> String {
        let mut h = self.h;
        let mut tail = self.pending.clone();
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&(self.len * 8).to_be_bytes());
        sha2::compress256(&mut h, blocks(&tail));
        h.iter().map(|w| format!("{w:08x}")).collect()
    }
}

/// The platform's native SHA-256 (workerd's `crypto.DigestStream`), fed as bytes pass.
pub trait NativeSha256 {
    /// Feeds bytes; a returned future is the hasher asking the writer to wait before feeding
    /// more (its queue is full), so that bytes do not pile up in memory.
    fn update(&mut self, data: &[u8]) -> Option<futures_util::future::LocalBoxFuture<'static, ()>>;
    /// The lowercase hex digest of everything fed.
    fn finish(self: Box<Self>) -> futures_util::future::LocalBoxFuture<'static, crate::error::Result<String>>;
}

/// Makes native hashers; `None` where the platform has none.
pub type NativeHashers<'a> = Option<&'a dyn Fn() -> Box<dyn NativeSha256>>;

/// The hash of a write in progress.
pub enum Running {
    Resumable(ResumableSha256),
    Native(Box<dyn NativeSha256>),
    /// The bytes so far were not all hashed here: read the file back at completion.
    Unknown,
}

impl Running {
    pub async fn update(&mut self, data: &[u8]) {
        match self {
            Running::Resumable(h) => h.update(data),
            Running::Native(h) => {
                if let Some(wait) = h.update(data) {
                    wait.await
                }
            }
            Running::Unknown => {}
        }
    }

    /// What can be saved between requests: a native hash cannot, so an upload that stops
    /// after one is read back at completion.
    pub fn saved(&self) -> Option<ResumableSha256> {
        match self {
            Running::Resumable(h) => Some(h.clone()),
            Running::Native(_) | Running::Unknown => None,
        }
    }

    /// The digest of everything fed, if it is known here.
    pub async fn finish(self) -> crate::error::Result<Option<String>> {
        match self {
            Running::Resumable(h) => Ok(Some(h.hex())),
            Running::Native(h) => h.finish().await.map(Some),
            Running::Unknown => Ok(None),
        }
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Running::Resumable(_) => "Running::Resumable",
            Running::Native(_) => "Running::Native",
            Running::Unknown => "Running::Unknown",
        })
    }
}

/// `sha2` behind the platform's interface: the stand-in for a native hasher in host tests,
/// and where the platform's cannot be had.
#[derive(Default)]
pub struct Sha2Native(sha2::Sha256);

impl NativeSha256 for Sha2Native {
    fn update(&mut self, data: &[u8]) -> Option<futures_util::future::LocalBoxFuture<'static, ()>> {
        sha2::Digest::update(&mut self.0, data);
        None
    }

    fn finish(self: Box<Self>) -> futures_util::future::LocalBoxFuture<'static, crate::error::Result<String>> {
        let hex = hex::encode(sha2::Digest::finalize(self.0));
        Box::pin(async move { Ok(hex) })
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(s).map_err(serde::de::Error::custom)?;
        if v.len() >= 64 {
            return Err(serde::de::Error::custom("pending block too long"));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn matches_sha2_for_any_split_and_survives_serialisation() {
        for len in [0usize, 1, 55, 56, 63, 64, 65, 119, 128, 1000, 4097] {
            let d = data(len);
            let want = hex::encode(Sha256::digest(&d));
            for split in [1usize, 3, 63, 64, 65, 500] {
                let mut h = ResumableSha256::new();
                for chunk in d.chunks(split) {
                    // save and restore between every chunk, as an upload does between requests
                    let json = serde_json::to_string(&h).unwrap();
                    h = serde_json::from_str(&json).unwrap();
                    h.update(chunk);
                }
                assert_eq!(h.hex(), want, "len {len} split {split}");
                assert_eq!(h.len(), len as u64);
            }
        }
    }

    #[test]
    fn hex_does_not_consume_the_state() {
        let mut h = ResumableSha256::new();
        h.update(b"ab");
        let _ = h.hex();
        h.update(b"c");
        assert_eq!(h.hex(), hex::encode(Sha256::digest(b"abc")));
    }

    #[test]
    fn corrupt_saved_state_is_refused() {
        assert!(serde_json::from_str::<ResumableSha256>(&format!(
            r#"{{"h":[0,0,0,0,0,0,0,0],"len":0,"pending":"{}"}}"#,
            "00".repeat(64)
        ))
        .is_err());
    }
}
