//! Storage seams: the little the engine needs from bytes storage (R2) and record storage
//! (KV). [`memory`] implements them for host tests; [`r2`] and [`kv`] (wasm only) for the
//! worker. JS values are not `Send`, so neither are these traits.

#![allow(async_fn_in_trait)]

#[cfg(target_arch = "wasm32")]
pub mod kv;
pub mod memory;
#[cfg(target_arch = "wasm32")]
pub mod r2;

use std::collections::BTreeMap;

use crate::error::Result;

/// What R2 keeps beside the bytes: enough to serve the file if its KV record is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobMeta {
    pub content_type: String,
    pub custom: BTreeMap<String, String>,
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

/// Bytes storage (R2).
pub trait BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, meta: &BlobMeta) -> Result<()>;
    async fn create_multipart(&self, key: &str, meta: &BlobMeta) -> Result<MultipartRef>;
    async fn upload_part(&self, mp: &MultipartRef, number: u16, bytes: Vec<u8>) -> Result<UploadedPart>;
    async fn complete(&self, mp: &MultipartRef, parts: Vec<UploadedPart>) -> Result<()>;
    async fn abort(&self, mp: &MultipartRef) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Record storage (KV): string values with an optional expiration in seconds from now.
pub trait MetaStore {
    async fn get(&self, key: &str) -> Result<Option<String>>;
    async fn put(&self, key: &str, value: String, ttl_secs: Option<u64>) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Deletes a file's bytes when it expires (the Upload Durable Object's alarm in the worker).
pub trait Janitor {
    async fn delete_at(&self, file_id: &str, r2_key: &str, at_ms: u64) -> Result<()>;
}

/// The resumable uploads, as the worker sees them: in the worker each call goes to the
/// upload's Durable Object, with the request body streamed through untouched.
pub trait Uploads {
    /// A request body as the platform has it.
    type Body;
    async fn create(&self, new: &crate::engine::upload::NewUpload) -> Result<crate::engine::upload::UploadState>;
    async fn append(
        &self,
        id: &str,
        tenant: &str,
        ask: &crate::engine::resumable::AppendAsk,
        body: Self::Body,
    ) -> Result<crate::engine::upload::UploadState>;
    async fn state(&self, id: &str, tenant: &str, token: Option<&str>) -> Result<crate::engine::upload::UploadState>;
    async fn cancel(&self, id: &str, tenant: &str, token: Option<&str>, delete_finished: bool) -> Result<()>;
}
