//! R2 behind [`BlobStore`]. Thin: every rule lives in the engine.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Bucket, Data, HttpMetadata};

use super::{BlobMeta, BlobStore, MultipartRef, ObjectInfo, Payload, UploadedPart};
use crate::error::{Error, Result};

/// What R2 says of an object, as the engine sees it.
fn info_of(o: &worker::Object) -> ObjectInfo {
    let meta = BlobMeta {
        content_type: o.http_metadata().content_type.unwrap_or_default(),
        custom: o.custom_metadata().unwrap_or_default().into_iter().collect(),
    };
    ObjectInfo { size: o.size(), etag: o.etag(), uploaded: o.uploaded().as_millis(), meta }
}

pub struct R2Blobs {
    pub bucket: Bucket,
}

fn storage(op: &'static str) -> impl Fn(worker::Error) -> Error {
    move |e| Error::Storage(format!("r2 {op}: {e}"))
}

fn js_text(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_default()
}

fn http_metadata(meta: &BlobMeta) -> HttpMetadata {
    HttpMetadata { content_type: Some(meta.content_type.clone()), ..Default::default() }
}

impl BlobStore for R2Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, meta: &BlobMeta) -> Result<ObjectInfo> {
        let object = self
            .bucket
            .put(key, Data::Bytes(bytes))
            .http_metadata(http_metadata(meta))
            .custom_metadata(meta.custom.clone().into_iter().collect::<std::collections::HashMap<_, _>>())
            .execute()
            .await
            .map_err(storage("put"))?
            .ok_or_else(|| Error::Storage(format!("r2 put {key}: refused")))?;
        Ok(info_of(&object))
    }

    async fn create_multipart(&self, key: &str, meta: &BlobMeta) -> Result<MultipartRef> {
        let mp = self
            .bucket
            .create_multipart_upload(key)
            .http_metadata(http_metadata(meta))
            .custom_metadata(meta.custom.clone().into_iter().collect::<std::collections::HashMap<_, _>>())
            .execute()
            .await
            .map_err(storage("create multipart"))?;
        Ok(MultipartRef { key: key.into(), upload_id: mp.upload_id().await })
    }

    /// Hands R2 a view of the part in wasm memory rather than a JavaScript copy of it: the
    /// runtime copies an `ArrayBufferView` argument into its own buffer during the call, so
    /// no 5 MiB garbage array is left per part for the JavaScript heap to collect.
    async fn upload_part(&self, mp: &MultipartRef, number: u16, bytes: Vec<u8>) -> Result<UploadedPart> {
        let fail = |e: JsValue| Error::Storage(format!("r2 upload part: {}", js_text(&e)));
        let bucket: &JsValue = self.bucket.as_ref();
        let resume: Function = Reflect::get(bucket, &"resumeMultipartUpload".into()).map_err(fail)?.unchecked_into();
        let upload = resume.call2(bucket, &mp.key.as_str().into(), &mp.upload_id.as_str().into()).map_err(fail)?;
        let upload_part: Function = Reflect::get(&upload, &"uploadPart".into()).map_err(fail)?.unchecked_into();
        // SAFETY: the view is used only during this synchronous call, in which nothing can
        // allocate in wasm memory (and so move it); `bytes` outlives it.
        let promise = unsafe {
            let view = Uint8Array::view(&bytes);
            upload_part.call2(&upload, &JsValue::from(number), &view)
        }
        .map_err(fail)?;
        let part = JsFuture::from(promise.unchecked_into::<Promise>()).await.map_err(fail)?;
        drop(bytes);
        let etag = Reflect::get(&part, &"etag".into()).map_err(fail)?.as_string();
        Ok(UploadedPart { number, etag: etag.ok_or_else(|| Error::Storage("r2 upload part: no etag".into()))? })
    }

    async fn complete(&self, mp: &MultipartRef, parts: Vec<UploadedPart>) -> Result<ObjectInfo> {
        let upload = self.bucket.resume_multipart_upload(&mp.key, &mp.upload_id).map_err(storage("resume"))?;
        let parts = parts.into_iter().map(|p| worker::UploadedPart::new(p.number, p.etag));
        let object = upload.complete(parts).await.map_err(storage("complete"))?;
        Ok(info_of(&object))
    }

    async fn abort(&self, mp: &MultipartRef) -> Result<()> {
        let upload = self.bucket.resume_multipart_upload(&mp.key, &mp.upload_id).map_err(storage("resume"))?;
        upload.abort().await.map_err(storage("abort"))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.bucket.delete(key).await.map_err(storage("delete"))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        Ok(self.bucket.head(key).await.map_err(storage("head"))?.as_ref().map(info_of))
    }

    /// The body goes to the client as the runtime's stream: it never enters wasm.
    async fn get(&self, key: &str) -> Result<Option<(ObjectInfo, Payload)>> {
        let Some(object) = self.bucket.get(key).execute().await.map_err(storage("get"))? else { return Ok(None) };
        let info = info_of(&object);
        let body = object.body().ok_or_else(|| Error::Storage(format!("r2: no body for {key}")))?;
        Ok(Some((info, Payload::new(body.response_body().map_err(storage("body"))?))))
    }

    async fn get_range_body(&self, key: &str, offset: u64, len: u64) -> Result<Option<Payload>> {
        let range = worker::Range::OffsetWithLength { offset, length: len };
        let get = self.bucket.get(key).range(range).execute().await;
        let Some(object) = get.map_err(storage("get"))? else { return Ok(None) };
        let body = object.body().ok_or_else(|| Error::Storage(format!("r2: no body for {key}")))?;
        Ok(Some(Payload::new(body.response_body().map_err(storage("body"))?)))
    }

    async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(object) = self.bucket.get(key).execute().await.map_err(storage("get"))? else { return Ok(None) };
        match object.body() {
            Some(body) => body.bytes().await.map(Some).map_err(storage("read")),
            None => Ok(Some(Vec::new())),
        }
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Vec<u8>>> {
        if len == 0 {
            return Ok(self.head(key).await?.map(|_| Vec::new()));
        }
        let range = worker::Range::OffsetWithLength { offset, length: len };
        let get = self.bucket.get(key).range(range).execute().await;
        let Some(object) = get.map_err(storage("get"))? else { return Ok(None) };
        match object.body() {
            Some(body) => body.bytes().await.map(Some).map_err(storage("read")),
            None => Ok(Some(Vec::new())),
        }
    }

    /// Reads the object back through workerd's native digest; the bytes never enter wasm.
    async fn sha256(&self, key: &str) -> Result<String> {
        Ok(hex::encode(self.digest(key, "SHA-256").await?))
    }

    /// As [`R2Blobs::sha256`], with workerd's native `crc32` digest (big-endian).
    async fn crc32(&self, key: &str) -> Result<u32> {
        let d = self.digest(key, "crc32").await?;
        let bytes: [u8; 4] = d.as_slice().try_into().map_err(|_| Error::Storage("crc32: not 4 bytes".into()))?;
        Ok(u32::from_be_bytes(bytes))
    }
}

impl R2Blobs {
    /// The object's digest by workerd's `crypto.DigestStream` (`SHA-256`, `crc32`): its body
    /// piped into the digest natively.
    async fn digest(&self, key: &str, algorithm: &str) -> Result<Vec<u8>> {
        let missing = || Error::Storage(format!("r2: no object {key}"));
        let fail = |e: JsValue| Error::Storage(format!("r2 digest: {}", js_text(&e)));
        let object = self.bucket.get(key).execute().await.map_err(storage("get"))?.ok_or_else(missing)?;
        let body = object.body().ok_or_else(missing)?;
        let digest = worker::worker_sys::DigestStream::new(algorithm);
        let writable: &web_sys::WritableStream = digest.unchecked_ref();
        match body.response_body().map_err(storage("body"))? {
            worker::ResponseBody::Stream(stream) => {
                JsFuture::from(stream.pipe_to(writable)).await.map_err(fail)?;
            }
            worker::ResponseBody::Body(bytes) => {
                let writer = writable.get_writer().map_err(fail)?;
                JsFuture::from(writer.write_with_chunk(&js_sys::Uint8Array::from(bytes.as_slice())))
                    .await
                    .map_err(fail)?;
                JsFuture::from(writer.close()).await.map_err(fail)?;
            }
            worker::ResponseBody::Empty => {
                JsFuture::from(writable.close()).await.map_err(fail)?;
            }
        }
        let value = JsFuture::from(digest.digest()).await.map_err(fail)?;
        Ok(js_sys::Uint8Array::new(&value).to_vec())
    }
}
