//! The worker's source of a zip's bytes ([`crate::engine::bundle::Source`]): ranges of R2
//! objects read as streams, a chunk at a time as the client takes them, and the CRC-32s a
//! first download computed written back.

use futures_util::future::LocalBoxFuture;
use futures_util::stream::{LocalBoxStream, StreamExt};
use worker::Bucket;

use crate::engine::bundle::Source;
use crate::error::{Error, Result};

/// An owned handle on the bucket: the stream outlives the request's handler.
pub struct R2Source(pub Bucket);

impl Source for R2Source {
    fn read(
        &self,
        key: &str,
        offset: u64,
        len: u64,
    ) -> LocalBoxFuture<'_, Result<LocalBoxStream<'static, Result<Vec<u8>>>>> {
        let key = key.to_string();
        Box::pin(async move {
            if len == 0 {
                return Ok(futures_util::stream::empty().boxed_local());
            }
            let range = worker::Range::OffsetWithLength { offset, length: len };
            let get = self.0.get(&key).range(range).execute().await;
            let object = get.map_err(|e| Error::Storage(format!("r2 get: {e}")))?;
            let object = object.ok_or_else(|| Error::Expired("file no longer available".into()))?;
            let body = object.body().ok_or_else(|| Error::Storage(format!("r2: no body for {key}")))?;
            let stream = body.stream().map_err(|e| Error::Storage(format!("r2 body: {e}")))?;
            Ok(stream.map(|chunk| chunk.map_err(|e| Error::Storage(format!("r2 read: {e}")))).boxed_local())
        })
    }

    fn keep(&self, key: String, value: String) -> LocalBoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.0.put(&key, value.into_bytes()).execute().await.map_err(|e| Error::Storage(format!("r2 put: {e}")))?;
            Ok(())
        })
    }
}
