//! Storage seams: the little the engine needs from bytes storage (R2), record storage (KV)
//! and expiry. [`memory`] implements them for host tests (and [`contract`] states, as tests,
//! what every implementation promises); [`r2`] and [`kv`] (wasm only) for the worker. JS
//! values are not `Send`, so neither are these traits.

#![allow(async_fn_in_trait)]

#[cfg(test)]
pub mod contract;
#[cfg(target_arch = "wasm32")]
pub mod kv;
pub mod memory;
#[cfg(target_arch = "wasm32")]
pub mod r2;

use std::collections::BTreeMap;

use crate::error::Result;

/// R2's limit on an object's metadata (custom keys and values, and the HTTP metadata).
pub const R2_METADATA_BYTES: usize = 8192;

/// What R2 keeps beside the bytes: enough to serve the file if its KV record is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobMeta {
    pub content_type: String,
    pub custom: BTreeMap<String, String>,
}

impl BlobMeta {
    /// Bytes R2 counts against [`R2_METADATA_BYTES`].
    pub fn size(&self) -> usize {
        self.content_type.len() + self.custom.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
    }
}

/// An R2 multipart upload, by plain data so that it can be saved and resumed later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MultipartRef {
    pub key: String,
    pub upload_id: String,
}

/// A part that R2 acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedPart {
    pub number: u16,
    pub etag: String,
}

/// Bytes storage (R2). Every part but the last of a multipart upload has the same size, of
/// at least 5 MiB; at most 10,000 parts; metadata at most 8 KiB. Writing a key or a part
/// number again replaces it.
pub trait BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, meta: &BlobMeta) -> Result<()>;
    async fn create_multipart(&self, key: &str, meta: &BlobMeta) -> Result<MultipartRef>;
    async fn upload_part(&self, mp: &MultipartRef, number: u16, bytes: Vec<u8>) -> Result<UploadedPart>;
    async fn complete(&self, mp: &MultipartRef, parts: Vec<UploadedPart>) -> Result<()>;
    async fn abort(&self, mp: &MultipartRef) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// The size of the object at `key`, if there is one.
    async fn head(&self, key: &str) -> Result<Option<u64>>;
    /// The sha256 (lowercase hex) of the object at `key`, read back.
    async fn sha256(&self, key: &str) -> Result<String>;
}

/// Record storage (KV): string values with an optional expiration in seconds from now, of
/// at least 60 s. Eventually consistent across locations.
pub trait MetaStore {
    async fn get(&self, key: &str) -> Result<Option<String>>;
    async fn put(&self, key: &str, value: String, ttl_secs: Option<u64>) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Deletes a file's bytes when it expires (its object's alarm in the worker). Scheduling
/// the same file again replaces its time.
pub trait Janitor {
    async fn delete_at(&self, file_id: &str, r2_key: &str, at_ms: u64) -> Result<()>;
}
