//! Workers KV behind [`MetaStore`].

use worker::KvStore;

use super::limits::check_kv_ttl;
use super::{Listed, MetaStore};
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
        check_kv_ttl(ttl_secs)?;
        let mut put = self.kv.put(key, value).map_err(storage("put"))?;
        if let Some(ttl) = ttl_secs {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(storage("put"))
    }

    async fn put_listed(&self, key: &str, metadata: &str, ttl_secs: Option<u64>) -> Result<()> {
        check_kv_ttl(ttl_secs)?;
        let value: serde_json::Value = serde_json::from_str(metadata).map_err(|e| Error::Internal(e.to_string()))?;
        let mut put = self.kv.put(key, "").map_err(storage("put"))?.metadata(value).map_err(storage("put"))?;
        if let Some(ttl) = ttl_secs {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(storage("put"))
    }

    async fn list(&self, prefix: &str, cursor: Option<&str>) -> Result<Listed> {
        let mut list = self.kv.list().prefix(prefix.to_string());
        if let Some(c) = cursor {
            list = list.cursor(c.to_string());
        }
        let page = list.execute().await.map_err(storage("list"))?;
        let keys = page.keys.into_iter().map(|k| (k.name, k.metadata.map(|m| m.to_string()))).collect();
        Ok(Listed { keys, cursor: if page.list_complete { None } else { page.cursor } })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.kv.delete(key).await.map_err(storage("delete"))
    }
}
