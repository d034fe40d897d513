//! R2 behind [`BlobStore`]. Thin: every rule lives in the engine.

use worker::{Bucket, Data, HttpMetadata};

use super::{BlobMeta, BlobStore, MultipartRef, UploadedPart};
use crate::error::{Error, Result};

pub struct R2Blobs {
    pub bucket: Bucket,
}

fn storage(op: &'static str) -> impl Fn(worker::Error) -> Error {
    move |e| Error::Storage(format!("r2 {op}: {e}"))
}

fn http_metadata(meta: &BlobMeta) -> HttpMetadata {
    HttpMetadata { content_type: Some(meta.content_type.clone()), ..Default::default() }
}

impl BlobStore for R2Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, meta: &BlobMeta) -> Result<()> {
        self.bucket
            .put(key, Data::Bytes(bytes))
            .http_metadata(http_metadata(meta))
            .custom_metadata(meta.custom.clone().into_iter().collect::<std::collections::HashMap<_, _>>())
            .execute()
            .await
            .map_err(storage("put"))?;
        Ok(())
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

    async fn upload_part(&self, mp: &MultipartRef, number: u16, bytes: Vec<u8>) -> Result<UploadedPart> {
        let upload = self.bucket.resume_multipart_upload(&mp.key, &mp.upload_id).map_err(storage("resume"))?;
        let part = upload.upload_part(number, Data::Bytes(bytes)).await.map_err(storage("upload part"))?;
        Ok(UploadedPart { number: part.part_number(), etag: part.etag() })
    }

    async fn complete(&self, mp: &MultipartRef, parts: Vec<UploadedPart>) -> Result<()> {
        let upload = self.bucket.resume_multipart_upload(&mp.key, &mp.upload_id).map_err(storage("resume"))?;
        let parts = parts.into_iter().map(|p| worker::UploadedPart::new(p.number, p.etag));
        upload.complete(parts).await.map_err(storage("complete"))?;
        Ok(())
    }

    async fn abort(&self, mp: &MultipartRef) -> Result<()> {
        let upload = self.bucket.resume_multipart_upload(&mp.key, &mp.upload_id).map_err(storage("resume"))?;
        upload.abort().await.map_err(storage("abort"))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.bucket.delete(key).await.map_err(storage("delete"))
    }
}
