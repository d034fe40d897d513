//! workerd's native SHA-256 (`crypto.DigestStream`, BoringSSL) behind the engine's
//! [`NativeSha256`]: several times faster than SHA-256 compiled to wasm, for bytes that
//! arrive in one request from a file's first byte to its last.

use futures_util::future::LocalBoxFuture;
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use worker::crypto::{DigestStream, DigestStreamAlgorithm};

use crate::engine::upload::sha256::NativeSha256;
use crate::error::{Error, Result};

pub struct NativeDigest {
    stream: DigestStream,
    writer: web_sys::WritableStreamDefaultWriter,
}

fn failed(e: impl std::fmt::Debug) -> Error {
    Error::Internal(format!("native digest: {e:?}"))
}

impl NativeDigest {
    pub fn new() -> Result<NativeDigest> {
        let stream = DigestStream::new(DigestStreamAlgorithm::Sha256);
        let writable: &web_sys::WritableStream = stream.raw().unchecked_ref();
        let writer = writable.get_writer().map_err(failed)?;
        Ok(NativeDigest { stream, writer })
    }

    /// A boxed hasher, or `None` if the runtime has none (the engine then hashes in wasm).
    pub fn boxed() -> Option<Box<dyn NativeSha256>> {
        NativeDigest::new().ok().map(|d| Box::new(d) as Box<dyn NativeSha256>)
    }
}

impl NativeSha256 for NativeDigest {
    /// Copies the bytes into a JavaScript buffer (the writer keeps it after this returns)
    /// and queues them; once the queue is full, the caller waits for the digest stream to
    /// catch up.
    fn update(&mut self, data: &[u8]) -> Option<LocalBoxFuture<'static, ()>> {
        let chunk = Uint8Array::from(data);
        let _ = self.writer.write_with_chunk(&chunk);
        if self.writer.desired_size().ok().flatten().is_some_and(|d| d > 0.0) {
            return None;
        }
        let ready = wasm_bindgen_futures::JsFuture::from(self.writer.ready());
        Some(Box::pin(async move {
            let _ = ready.await;
        }))
    }

    fn finish(self: Box<Self>) -> LocalBoxFuture<'static, Result<String>> {
        Box::pin(async move {
            wasm_bindgen_futures::JsFuture::from(self.writer.close()).await.map_err(failed)?;
            Ok(hex::encode(self.stream.digest().await.map_err(failed)?.to_vec()))
        })
    }
}
