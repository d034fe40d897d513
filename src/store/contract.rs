//! The storage contract as tests: what every [`BlobStore`] and [`MetaStore`] promises, and
//! what the real ones (R2, KV) refuse, so that the engine's host tests over the in-memory
//! stores mean something for the worker. Each function takes any implementation; the
//! in-memory stores run them below.

use futures_executor::block_on;

use super::{BlobMeta, BlobStore, MetaStore};
use crate::config::MIB;

/// R2: objects are replaced whole; multipart parts are equal (≥ 5 MiB) but the last, which
/// is no larger; re-sent parts replace; metadata is at most 8 KiB; `head` and `sha256` read
/// what was written.
pub fn blob_store_contract<B: BlobStore>(store: &B) {
    block_on(async {
        let meta = BlobMeta { content_type: "text/plain".into(), ..Default::default() };
        store.put("a", b"one".to_vec(), &meta).await.unwrap();
        store.put("a", b"two!".to_vec(), &meta).await.unwrap();
        assert_eq!(store.head("a").await.unwrap().map(|i| i.size), Some(4), "a put replaces the object");
        let (info, _) = store.get("a").await.unwrap().unwrap();
        assert_eq!((info.size, info.meta.content_type.as_str()), (4, "text/plain"), "a get has the object's info");
        assert_eq!(store.get_bytes("a").await.unwrap().as_deref(), Some(&b"two!"[..]));
        assert_eq!(store.get_range("a", 1, 2).await.unwrap().as_deref(), Some(&b"wo"[..]));
        assert_eq!(store.get_range("a", 3, 10).await.unwrap().as_deref(), Some(&b"!"[..]), "fewer at the end");
        assert_eq!(store.get_range("missing", 0, 1).await.unwrap(), None);
        assert_eq!(store.sha256("a").await.unwrap(), hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"two!")));
        assert_eq!(store.head("missing").await.unwrap(), None);

        let part = vec![7u8; 5 * MIB as usize];
        let mp = store.create_multipart("m", &meta).await.unwrap();
        let _ = store.upload_part(&mp, 1, vec![0u8; 5 * MIB as usize]).await.unwrap();
        let p1 = store.upload_part(&mp, 1, part.clone()).await.unwrap(); // re-sent: replaces
        let p2 = store.upload_part(&mp, 2, b"end".to_vec()).await.unwrap();
        store.complete(&mp, vec![p1, p2]).await.unwrap();
        assert_eq!(store.head("m").await.unwrap().map(|i| i.size), Some(5 * MIB + 3));

        // unequal or small parts are refused
        let mp = store.create_multipart("bad", &meta).await.unwrap();
        let small = store.upload_part(&mp, 1, vec![1u8; 1024]).await.unwrap();
        let last = store.upload_part(&mp, 2, vec![1u8; 10]).await.unwrap();
        assert!(store.complete(&mp, vec![small, last]).await.is_err(), "parts under 5 MiB but the last");
        let mp = store.create_multipart("bad2", &meta).await.unwrap();
        let first = store.upload_part(&mp, 1, part.clone()).await.unwrap();
        let bigger = store.upload_part(&mp, 2, vec![1u8; 5 * MIB as usize + 1]).await.unwrap();
        assert!(store.complete(&mp, vec![first, bigger]).await.is_err(), "a last part larger than the others");

        // metadata over 8 KiB is refused at creation
        let mut huge = meta.clone();
        huge.custom.insert("name".into(), "n".repeat(9000));
        assert!(store.put("h", b"x".to_vec(), &huge).await.is_err());
        assert!(store.create_multipart("h", &huge).await.is_err());

        store.delete("a").await.unwrap();
        store.delete("a").await.unwrap(); // deleting what is gone is fine
        assert_eq!(store.head("a").await.unwrap(), None);
    });
}

/// KV: values are replaced; an expiration under 60 s is refused (KV's floor); deleting what
/// is gone is fine.
pub fn meta_store_contract<M: MetaStore>(store: &M) {
    block_on(async {
        store.put_listed("exp:2:b", r#"{"n":2}"#, None).await.unwrap();
        store.put_listed("exp:1:a", r#"{"n":1}"#, Some(60)).await.unwrap();
        store.put("other", "x".into(), None).await.unwrap();
        let listed = store.list("exp:", None).await.unwrap();
        let keys: Vec<&str> = listed.keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["exp:1:a", "exp:2:b"], "in order, within the prefix");
        assert_eq!(listed.keys[0].1.as_deref(), Some(r#"{"n":1}"#), "with their metadata");
        assert!(
            store.put_listed("exp:3:c", &format!("\"{}\"", "m".repeat(1100)), None).await.is_err(),
            "KV's 1 KiB metadata"
        );
        store.put("file:x", "1".into(), None).await.unwrap();
        store.put("file:x", "2".into(), Some(60)).await.unwrap();
        assert_eq!(store.get("file:x").await.unwrap().as_deref(), Some("2"));
        assert!(store.put("file:y", "1".into(), Some(59)).await.is_err(), "KV's 60 s floor");
        store.delete("file:x").await.unwrap();
        store.delete("file:x").await.unwrap();
        assert_eq!(store.get("file:x").await.unwrap(), None);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{MemoryBlobs, MemoryMeta};

    #[test]
    fn the_in_memory_stores_keep_the_contract() {
        blob_store_contract(&MemoryBlobs::default());
        meta_store_contract(&MemoryMeta::default());
    }
}
