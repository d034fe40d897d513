//! Workers KV behind [`MetaStore`].

use worker::KvStore;

use super::MetaStore;
use crate::error::{Error, Result};

pub struct KvMeta {
    pub kv: KvStore,
}

fn storage(op: &'static str) -> impl Fn(worker::KvError) -> Error {
    move |e| Error::Storage(format!("kv {op}: {e}"))
}

impl MetaStore for KvMeta {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        self.kv.get(key).text().await.map_err(storage("get"))
    }

    async fn put(&self, key: &str, value: String, ttl_secs: Option<u64>) -> Result<()> {
        let mut put = self.kv.put(key, value).map_err(storage("put"))?;
        if let Some(ttl) = ttl_secs {
            put = put.expiration_ttl(ttl.max(60));
        }
        put.execute().await.map_err(storage("put"))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.kv.delete(key).await.map_err(storage("delete"))
    }
}
