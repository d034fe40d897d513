//! A zip's body in the worker: a `FixedLengthStream` of the archive's length (so the answer
//! has its `Content-Length`), written by a task that runs while the answer streams: the
//! archive's own records written as bytes, each file's range piped from R2 into it as R2
//! gives it. No byte of a file enters wasm, and the pipe waits for the client: memory does
//! not grow with the archive.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::Bucket;

use crate::engine::bundle::Piece;
use crate::error::{Error, Result};

fn failed(e: JsValue) -> Error {
    let text = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string());
    Error::Storage(format!("zip stream: {}", text.unwrap_or_default()))
}

/// The readable side of the zip's body; the pieces are written into it in the background.
pub fn body(bucket: Bucket, pieces: Vec<Piece>, len: u64) -> Result<web_sys::ReadableStream> {
    use worker::worker_sys::FixedLengthStream;
    let fixed = if len < u64::from(u32::MAX) {
        FixedLengthStream::new(len as u32)
    } else {
        FixedLengthStream::new_big_int(js_sys::BigInt::from(len))
    }
    .map_err(failed)?;
    let transform: &web_sys::TransformStream = fixed.unchecked_ref();
    let (readable, writable) = (transform.readable(), transform.writable());
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = write(&bucket, &writable, pieces).await {
            worker::console_error!("zip: {e}");
            // the client sees a broken download (short of its Content-Length), never a wrong one
            let _ = writable.abort_with_reason(&JsValue::from_str(&e.to_string()));
        }
    });
    Ok(readable)
}

async fn write_bytes(writable: &web_sys::WritableStream, bytes: &[u8]) -> Result<()> {
    let writer = writable.get_writer().map_err(failed)?;
    let written = JsFuture::from(writer.write_with_chunk(&Uint8Array::from(bytes))).await;
    writer.release_lock();
    written.map(drop).map_err(failed)
}

async fn write(bucket: &Bucket, writable: &web_sys::WritableStream, pieces: Vec<Piece>) -> Result<()> {
    for piece in pieces {
        match piece {
            Piece::Bytes(bytes) => write_bytes(writable, &bytes).await?,
            Piece::File { len: 0, .. } => {}
            Piece::File { key, offset, len } => {
                let range = worker::Range::OffsetWithLength { offset, length: len };
                let get = bucket.get(&key).range(range).execute().await;
                let object = get.map_err(|e| Error::Storage(format!("r2 get: {e}")))?;
                let object = object.ok_or_else(|| Error::Storage(format!("r2: no object {key}")))?;
                let body = object.body().ok_or_else(|| Error::Storage(format!("r2: no body for {key}")))?;
                match body.response_body().map_err(|e| Error::Storage(format!("r2 body: {e}")))? {
                    worker::ResponseBody::Stream(stream) => {
                        let options = web_sys::StreamPipeOptions::new();
                        options.set_prevent_close(true);
                        JsFuture::from(stream.pipe_to_with_options(writable, &options)).await.map_err(failed)?;
                    }
                    worker::ResponseBody::Body(bytes) => write_bytes(writable, &bytes).await?,
                    worker::ResponseBody::Empty => {}
                }
            }
        }
    }
    JsFuture::from(writable.close()).await.map_err(failed)?;
    Ok(())
}
