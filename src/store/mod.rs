//! Every storage seam of the service, and nothing above it: the little the engine needs from
//! bytes storage (R2: [`BlobStore`]), record storage (KV: [`MetaStore`]) and the Durable
//! Objects ([`object`]: how they are reached, and an Upload's and a ledger's own storage).
//! [`limits`] holds R2's and KV's rules; [`memory`] implements every seam for host tests,
//! enforcing those rules; [`contract`] states, as checks, what every implementation promises
//! (run over the in-memory stores on the host, and over the real bindings in workerd); `r2`
//! and `kv` (wasm only) for the worker. JS values are not `Send`, so neither are these traits.

#![allow(async_fn_in_trait)]

pub mod contract;
#[cfg(target_arch = "wasm32")]
pub mod kv;
pub mod limits;
pub mod memory;
pub mod object;
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

impl BlobMeta {
    /// Bytes R2 counts against [`limits::R2_METADATA_BYTES`].
    pub fn size(&self) -> usize {
        self.content_type.len() + self.custom.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
    }
}

/// What R2 knows of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// R2's own entity tag: a strong validator (for a multipart object, not an MD5).
    pub etag: String,
    /// When the object was written (for a multipart upload: when it was completed), ms.
    pub uploaded: u64,
    pub meta: BlobMeta,
}

/// The body of an object read from R2, for the worker layer to stream to the client: what
/// it holds depends on the store (a JavaScript stream in the worker, bytes in host tests).
pub struct Payload(std::cell::RefCell<Option<Box<dyn std::any::Any>>>);

impl Payload {
    pub fn new<T: 'static>(body: T) -> Payload {
        Payload(std::cell::RefCell::new(Some(Box::new(body))))
    }

    /// The body, once (`None` if already taken or of another store's type).
    pub fn take<T: 'static>(&self) -> Option<T> {
        let any = self.0.borrow_mut().take()?;
        any.downcast::<T>().ok().map(|b| *b)
    }
}

/// Two payloads are the same only if they are one.
impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        std::ptr::eq(self, other)
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Payload")
    }
}

/// Keys listed from KV, in order, with their metadata; `cursor` if there are more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    pub keys: Vec<(String, Option<String>)>,
    pub cursor: Option<String>,
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

/// Bytes storage (R2): strongly consistent everywhere. Every part but the last of a
/// multipart upload has the same size, of at least [`limits::R2_MIN_PART`]; at most
/// [`limits::R2_MAX_PARTS`] parts; metadata at most [`limits::R2_METADATA_BYTES`], fixed when
/// the object (or the multipart upload) is created. Writing a key or a part number again
/// replaces it.
pub trait BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, meta: &BlobMeta) -> Result<ObjectInfo>;
    async fn create_multipart(&self, key: &str, meta: &BlobMeta) -> Result<MultipartRef>;
    async fn upload_part(&self, mp: &MultipartRef, number: u16, bytes: Vec<u8>) -> Result<UploadedPart>;
    async fn complete(&self, mp: &MultipartRef, parts: Vec<UploadedPart>) -> Result<ObjectInfo>;
    async fn abort(&self, mp: &MultipartRef) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// What R2 knows of the object at `key`, if there is one (one class B read).
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>>;
    /// The object at `key` and its whole body (one class B read).
    async fn get(&self, key: &str) -> Result<Option<(ObjectInfo, Payload)>>;
    /// `len` bytes of the object at `key` from `offset` (fewer at its end), as a body to
    /// stream to a client (a ranged download).
    async fn get_range_body(&self, key: &str, offset: u64, len: u64) -> Result<Option<Payload>>;
    /// A small object's bytes (a pointer, a sidecar record).
    async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Up to `len` bytes of the object at `key` from `offset` (fewer at its end), for reading
    /// a large object a piece at a time.
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Vec<u8>>>;
    /// The sha256 (lowercase hex) of the object at `key`, read back.
    async fn sha256(&self, key: &str) -> Result<String>;
    /// The CRC-32 (as zip has it) of the object at `key`, read back.
    async fn crc32(&self, key: &str) -> Result<u32>;
}

/// The stores of one platform, as one type: the worker's (R2, KV, Durable Objects) or the host
/// tests' (memory). The engine's context and every handler are generic over it alone.
pub trait Platform {
    type Blobs: BlobStore;
    type Meta: MetaStore;
    type Objects: object::Objects;

    /// A request body to read in the worker (a form), rather than forward to an object.
    fn read(body: Body<Self>) -> object::ByteStream {
        <Self::Objects as object::Objects>::read(body)
    }
}

/// A request body on platform `P`.
pub type Body<P> = <<P as Platform>::Objects as object::Objects>::Body;

/// Record storage (KV): string values, and listed keys carrying up to
/// [`limits::KV_METADATA_BYTES`] of metadata, with an optional expiration in seconds from now
/// of at least [`limits::KV_MIN_TTL_SECS`]. Eventually consistent across locations (up to
/// about 60 s), lists included; keys list in lexicographic order, up to
/// [`limits::KV_LIST_PAGE`] a call.
pub trait MetaStore {
    async fn get(&self, key: &str) -> Result<Option<String>>;
    async fn put(&self, key: &str, value: String, ttl_secs: Option<u64>) -> Result<()>;
    /// A key whose content is its metadata, for [`MetaStore::list`] to return.
    async fn put_listed(&self, key: &str, metadata: &str, ttl_secs: Option<u64>) -> Result<()>;
    async fn list(&self, prefix: &str, cursor: Option<&str>) -> Result<Listed>;
    async fn delete(&self, key: &str) -> Result<()>;
}
