//! The Durable Objects: how the worker reaches them ([`Objects`]), and each one's own storage,
//! strongly consistent, reached only from inside its object, which handles one event at a
//! time. An Upload object keeps one state record and the tail bytes of its upload
//! ([`UploadStore`]); a ledger object keeps a small key-value map ([`LedgerStore`]). What the
//! calls and records mean is the engine's: these traits carry JSON, strings and bytes.

use bytes::Bytes;

use crate::error::{Error, Result};

/// A body read in the worker, as a stream of bytes that libraries needing `Send` accept.
pub type ByteStream = futures_util::stream::BoxStream<'static, Result<Bytes>>;

/// The Durable Objects as the worker (or a test) reaches them, by name: an upload's (with
/// the request body streamed through to it) and a ledger's. A call and its answer are JSON
/// (the engine's calls, and `Result<_, Error>` back); an object of either kind is made by its
/// first call and keeps its storage across calls.
#[allow(async_fn_in_trait)]
pub trait Objects {
    /// A request body as the platform has it: read in the worker, or forwarded to an object.
    type Body;

    /// A body to read in the worker (a form), rather than forward.
    fn read(body: Self::Body) -> ByteStream;

    /// A call to the Upload object named `id`, with a body to stream to it; its JSON answer.
    async fn upload_call(&self, id: &str, call: String, body: Option<Self::Body>) -> Result<String>;

    /// A call to the ledger object named `name`; its JSON answer.
    async fn ledger_call(&self, name: &str, call: String) -> Result<String>;
}

/// A call as JSON, for [`Objects`].
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("object call: {e}")))
}

/// An answer from JSON, from [`Objects`].
pub fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("object answer: {e}")))
}

/// An Upload object's storage: one state record, and the tail (bytes after the last full part)
/// kept beside it. Every call is synchronous (the object's SQLite), so a [`UploadStore::save`]
/// is one atomic write.
pub trait UploadStore {
    /// The saved state record, if there is one.
    fn load(&self) -> Result<Option<String>>;
    /// The tail's first `len` bytes (the saved state's tail length: bytes stored past it
    /// belong to no saved state, and are ignored). Fewer stored is an error.
    fn tail(&self, len: u64) -> Result<Vec<u8>>;
    /// Saves the state record and the end of its tail, `tail_len` bytes long, in one atomic
    /// write: `new_tail` is the tail's bytes from `tail_len - new_tail.len()` on. The stored
    /// bytes before them stay as they are, any from there on are replaced, so a save writes
    /// only what is new: `&[]` keeps the tail; the whole tail replaces it.
    fn save(&self, state: &str, tail_len: u64, new_tail: &[u8]) -> Result<()>;
    /// Deletes the record and the tail.
    fn clear(&self) -> Result<()>;
}

/// A ledger object's storage: a strongly consistent key-value map (a Durable Object's storage,
/// or memory in tests). Each call the engine serves runs alone against its object (a Durable
/// Object's input gate holds other events while its storage answers).
#[allow(async_fn_in_trait)]
pub trait LedgerStore {
    async fn get(&self, key: &str) -> Result<Option<String>>;
    async fn put(&self, key: &str, value: &str) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// Every key under `prefix` with its value, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>>;
    /// Up to `limit` keys under `prefix` after `after` (all of them from the first when
    /// `None`), with their values, in key order.
    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<(String, String)>>;
    /// The last `limit` keys under `prefix` with their values, in key order.
    async fn list_tail(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>>;
    /// Puts and deletes as one atomic write: all of them or none (a file's listing, index,
    /// schedule and usage change together).
    async fn write(&self, puts: &[(String, String)], deletes: &[String]) -> Result<()>;
    /// Deletes everything.
    async fn clear(&self) -> Result<()>;
}
