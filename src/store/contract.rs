//! The storage contract as checks: what every storage trait of this module promises
//! ([`BlobStore`], [`MetaStore`], [`UploadStore`], [`LedgerStore`]), and what the real stores
//! (R2, KV, a Durable Object's SQLite) refuse, so that the engine's host tests over the
//! in-memory stores mean something for the worker. Each check takes any implementation and
//! answers the first broken promise as an error: the in-memory stores run them below, and the
//! worker runs them against its real bindings when `EDGESHARE_SELF_TEST` is set (the end-to-end
//! test `e2e_store` does).
//!
//! [`Objects`](super::object::Objects) is a transport, not a store: its promise (a call reaches
//! the object it names, with its body) is what every engine test and end-to-end test relies on.

use sha2::{Digest, Sha256};

use super::object::{LedgerStore, UploadStore};
use super::{BlobMeta, BlobStore, MetaStore};
use crate::config::MIB;

/// A broken promise: what was expected, and what the store did.
pub type Broken = String;

/// Fails the check with a message unless the condition holds.
macro_rules! check {
    ($cond:expr, $($what:tt)+) => {
        if !$cond {
            return Err(format!($($what)+));
        }
    };
}

/// Fails the check unless the two are equal, naming both.
macro_rules! check_eq {
    ($left:expr, $right:expr, $($what:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err(format!("{}: {left:?} is not {right:?}", format!($($what)+)));
                }
            }
        }
    };
}

/// A store call that must succeed.
fn ok<T>(result: crate::error::Result<T>, what: &str) -> Result<T, Broken> {
    result.map_err(|e| format!("{what}: {e}"))
}

/// R2: objects are replaced whole; multipart parts are equal (≥ 5 MiB) but the last, which
/// is no larger; re-sent parts replace; metadata is at most 8 KiB; `head`, `get_range` and
/// `sha256` read what was written. Every key it writes starts with `prefix`, and is deleted.
pub async fn blob_store<B: BlobStore>(store: &B, prefix: &str) -> Result<(), Broken> {
    let key = |k: &str| format!("{prefix}{k}");
    let meta = BlobMeta { content_type: "text/plain".into(), ..Default::default() };
    ok(store.put(&key("a"), b"one".to_vec(), &meta).await, "put")?;
    ok(store.put(&key("a"), b"two!".to_vec(), &meta).await, "put again")?;
    check_eq!(ok(store.head(&key("a")).await, "head")?.map(|i| i.size), Some(4), "a put replaces the object");
    let (info, _) = ok(store.get(&key("a")).await, "get")?.ok_or("get: no object")?;
    check_eq!((info.size, info.meta.content_type.as_str()), (4, "text/plain"), "a get has the object's info");
    check_eq!(ok(store.get_bytes(&key("a")).await, "get_bytes")?.as_deref(), Some(&b"two!"[..]), "get_bytes");
    check_eq!(ok(store.get_range(&key("a"), 1, 2).await, "get_range")?.as_deref(), Some(&b"wo"[..]), "a range");
    check_eq!(
        ok(store.get_range(&key("a"), 3, 10).await, "get_range")?.as_deref(),
        Some(&b"!"[..]),
        "fewer at the end"
    );
    check_eq!(ok(store.get_range(&key("missing"), 0, 1).await, "get_range")?, None, "a range of nothing");
    check_eq!(ok(store.sha256(&key("a")).await, "sha256")?, hex::encode(Sha256::digest(b"two!")), "sha256");
    check_eq!(ok(store.head(&key("missing")).await, "head")?, None, "head of nothing");

    let part = vec![7u8; 5 * MIB as usize];
    let mp = ok(store.create_multipart(&key("m"), &meta).await, "create_multipart")?;
    let _ = ok(store.upload_part(&mp, 1, vec![0u8; 5 * MIB as usize]).await, "upload_part")?;
    let p1 = ok(store.upload_part(&mp, 1, part.clone()).await, "upload_part again")?; // replaces
    let p2 = ok(store.upload_part(&mp, 2, b"end".to_vec()).await, "upload_part")?;
    ok(store.complete(&mp, vec![p1, p2]).await, "complete")?;
    check_eq!(ok(store.head(&key("m")).await, "head")?.map(|i| i.size), Some(5 * MIB + 3), "a multipart object");
    let mut whole = part.clone();
    whole.extend_from_slice(b"end");
    check_eq!(
        ok(store.sha256(&key("m")).await, "sha256")?,
        hex::encode(Sha256::digest(&whole)),
        "re-sent part replaced"
    );
    check_eq!(
        ok(store.get_range(&key("m"), 5 * MIB - 1, 4).await, "get_range")?.as_deref(),
        Some(&[7u8, b'e', b'n', b'd'][..]),
        "a range across parts"
    );

    // unequal or small parts are refused
    let mp = ok(store.create_multipart(&key("bad"), &meta).await, "create_multipart")?;
    let small = ok(store.upload_part(&mp, 1, vec![1u8; 1024]).await, "upload_part")?;
    let last = ok(store.upload_part(&mp, 2, vec![1u8; 10]).await, "upload_part")?;
    check!(store.complete(&mp, vec![small, last]).await.is_err(), "parts under 5 MiB but the last are refused");
    let _ = store.abort(&mp).await;
    let mp = ok(store.create_multipart(&key("bad2"), &meta).await, "create_multipart")?;
    let first = ok(store.upload_part(&mp, 1, part.clone()).await, "upload_part")?;
    let bigger = ok(store.upload_part(&mp, 2, vec![1u8; 5 * MIB as usize + 1]).await, "upload_part")?;
    check!(store.complete(&mp, vec![first, bigger]).await.is_err(), "a last part larger than the others is refused");
    let _ = store.abort(&mp).await;

    // metadata over 8 KiB is refused at creation
    let mut huge = meta.clone();
    huge.custom.insert("name".into(), "n".repeat(9000));
    check!(store.put(&key("h"), b"x".to_vec(), &huge).await.is_err(), "a put with 9 KB of metadata is refused");
    check!(
        store.create_multipart(&key("h"), &huge).await.is_err(),
        "a multipart upload with 9 KB of metadata is refused"
    );

    for k in ["a", "a", "m"] {
        ok(store.delete(&key(k)).await, "delete")?; // deleting what is gone is fine
    }
    check_eq!(ok(store.head(&key("a")).await, "head")?, None, "a deleted object");
    Ok(())
}

/// KV: values are replaced; keys list in order within their prefix, with their metadata; an
/// expiration under 60 s and listed metadata over 1 KiB are refused; deleting what is gone is
/// fine. Every key it writes starts with `prefix`, and is deleted.
pub async fn meta_store<M: MetaStore>(store: &M, prefix: &str) -> Result<(), Broken> {
    let key = |k: &str| format!("{prefix}{k}");
    ok(store.put_listed(&key("exp:2:b"), r#"{"n":2}"#, None).await, "put_listed")?;
    ok(store.put_listed(&key("exp:1:a"), r#"{"n":1}"#, Some(60)).await, "put_listed")?;
    ok(store.put(&key("other"), "x".into(), None).await, "put")?;
    let listed = ok(store.list(&key("exp:"), None).await, "list")?;
    let keys: Vec<&str> = listed.keys.iter().map(|(k, _)| k.as_str()).collect();
    check_eq!(keys, [key("exp:1:a"), key("exp:2:b")], "in order, within the prefix");
    check_eq!(listed.keys[0].1.as_deref(), Some(r#"{"n":1}"#), "with their metadata");
    let long = format!("\"{}\"", "m".repeat(1100));
    check!(store.put_listed(&key("exp:3:c"), &long, None).await.is_err(), "KV's 1 KiB metadata");
    ok(store.put(&key("file:x"), "1".into(), None).await, "put")?;
    ok(store.put(&key("file:x"), "2".into(), Some(60)).await, "put again")?;
    check_eq!(ok(store.get(&key("file:x")).await, "get")?.as_deref(), Some("2"), "a put replaces the value");
    check!(store.put(&key("file:y"), "1".into(), Some(59)).await.is_err(), "KV's 60 s floor");
    for k in ["file:x", "file:x", "exp:1:a", "exp:2:b", "other"] {
        ok(store.delete(&key(k)).await, "delete")?;
    }
    check_eq!(ok(store.get(&key("file:x")).await, "get")?, None, "a deleted value");
    Ok(())
}

/// An Upload object's storage: one record; a tail that a save extends or replaces from where
/// its new bytes start, read back up to the saved length (bytes stored past it ignored, fewer
/// an error), across rows of any size; `clear` leaves nothing. Run on an empty store.
pub async fn upload_store<U: UploadStore>(store: &U) -> Result<(), Broken> {
    check_eq!(ok(store.load(), "load")?, None, "an empty store");
    check_eq!(ok(store.tail(0), "tail")?, Vec::<u8>::new(), "an empty tail");
    ok(store.save("s1", 3, b"abc"), "save")?;
    check_eq!(ok(store.load(), "load")?.as_deref(), Some("s1"), "the saved record");
    check_eq!(ok(store.tail(3), "tail")?, b"abc", "the saved tail");
    check_eq!(ok(store.tail(2), "tail")?, b"ab", "the tail's start");
    ok(store.save("s2", 5, b"de"), "save")?;
    check_eq!(ok(store.tail(5), "tail")?, b"abcde", "a save appends its bytes");
    ok(store.save("s3", 5, b""), "save")?;
    check_eq!(
        (ok(store.load(), "load")?.as_deref(), ok(store.tail(5), "tail")?),
        (Some("s3"), b"abcde".to_vec()),
        "no new bytes keep the tail"
    );
    ok(store.save("s4", 4, b"XY"), "save")?;
    check_eq!(ok(store.tail(4), "tail")?, b"abXY", "new bytes replace from where they start");
    check!(store.tail(6).is_err(), "a tail longer than stored is an error");
    ok(store.save("s5", 2, b""), "save")?;
    ok(store.save("s6", 3, b"Z"), "save")?;
    check_eq!(ok(store.tail(3), "tail")?, b"abZ", "bytes past the saved length are replaced");
    check!(store.save("s7", 1, b"too long").is_err(), "more new bytes than the tail holds is an error");
    check_eq!(ok(store.load(), "load")?.as_deref(), Some("s6"), "a refused save changes nothing");

    // a large tail, and small saves after it
    let big: Vec<u8> = (0..3 * MIB + 12_345).map(|i| (i % 251) as u8).collect();
    ok(store.save("big", big.len() as u64, &big), "save")?;
    let mut want = big.clone();
    for n in 0..40u8 {
        want.push(n);
        ok(store.save("small", want.len() as u64, &[n]), "save")?;
    }
    let got = ok(store.tail(want.len() as u64), "tail")?;
    check!(got == want, "a 3 MiB tail and 40 one-byte saves read back ({} bytes of {})", got.len(), want.len());
    ok(store.save("cut", 10, &want[..10]), "save")?;
    check_eq!(ok(store.tail(10), "tail")?, want[..10].to_vec(), "a whole new tail replaces it");

    ok(store.clear(), "clear")?;
    check_eq!(ok(store.load(), "load")?, None, "cleared");
    check!(store.tail(1).is_err(), "no tail once cleared");
    Ok(())
}

/// A ledger object's storage: values replaced by a put; `list` by prefix, in key order, with
/// values; deleting what is gone is fine; `clear` leaves nothing. Run on an empty store.
fn page_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub async fn ledger_store<L: LedgerStore>(store: &L) -> Result<(), Broken> {
    check_eq!(ok(store.get("k").await, "get")?, None, "an empty store");
    ok(store.put("k", "1").await, "put")?;
    ok(store.put("k", "2").await, "put again")?;
    check_eq!(ok(store.get("k").await, "get")?.as_deref(), Some("2"), "a put replaces the value");
    for (k, v) in [("f:b", "B"), ("f:a", "A"), ("f:10", "T"), ("g:a", "G"), ("f", "F")] {
        ok(store.put(k, v).await, "put")?;
    }
    let listed = ok(store.list("f:").await, "list")?;
    let want: Vec<(String, String)> =
        [("f:10", "T"), ("f:a", "A"), ("f:b", "B")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    check_eq!(listed, want, "in key order, within the prefix, with values");
    ok(store.delete("f:a").await, "delete")?;
    ok(store.delete("f:a").await, "delete again")?;
    check_eq!(ok(store.list("f:").await, "list")?.len(), 2, "a deleted key is not listed");
    check_eq!(ok(store.list("").await, "list")?.len(), 5, "everything under the empty prefix");
    let page = ok(store.list_page("f:", None, 1).await, "list a page")?;
    check_eq!(page, vec![("f:10".to_string(), "T".to_string())], "a page: the first key");
    let page = ok(store.list_page("f:", Some("f:10"), 5).await, "list a page")?;
    check_eq!(page, vec![("f:b".to_string(), "B".to_string())], "a page after a key, within the prefix");
    let tail = ok(store.list_tail("f:", 1).await, "list the tail")?;
    check_eq!(tail, vec![("f:b".to_string(), "B".to_string())], "the last key");
    let tail = ok(store.list_tail("f:", 9).await, "list the tail")?;
    check_eq!(tail, page_of(&[("f:10", "T"), ("f:b", "B")]), "a tail longer than the keys: all of them, in key order");
    let puts = [("w:1".to_string(), "1".to_string()), ("w:2".to_string(), "2".to_string())];
    ok(store.write(&puts, &["f:b".to_string(), "f:none".to_string()]).await, "write")?;
    check_eq!(ok(store.list("w:").await, "list")?.len(), 2, "a write's puts");
    check_eq!(ok(store.get("f:b").await, "get")?, None, "a write's deletes");
    ok(store.write(&[("f:b".to_string(), "B".to_string())], &["w:1".to_string(), "w:2".to_string()]).await, "write")?;
    ok(store.clear().await, "clear")?;
    check_eq!(ok(store.list("").await, "list")?, Vec::<(String, String)>::new(), "cleared");
    check_eq!(ok(store.get("k").await, "get")?, None, "cleared");
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;

    use super::*;
    use crate::store::memory::{MemoryBlobs, MemoryLedger, MemoryMeta, MemoryUploadStore};

    #[test]
    fn the_in_memory_stores_keep_the_contract() {
        block_on(blob_store(&MemoryBlobs::default(), "contract/")).unwrap();
        block_on(meta_store(&MemoryMeta::default(), "contract:")).unwrap();
        block_on(upload_store(&MemoryUploadStore::default())).unwrap();
        block_on(ledger_store(&MemoryLedger::default())).unwrap();
    }

    /// The checks can fail: a store that forgets what it is told breaks them.
    #[test]
    fn a_store_that_keeps_nothing_breaks_the_contract() {
        struct Forgetful;
        impl LedgerStore for Forgetful {
            async fn get(&self, _: &str) -> crate::error::Result<Option<String>> {
                Ok(None)
            }
            async fn put(&self, _: &str, _: &str) -> crate::error::Result<()> {
                Ok(())
            }
            async fn delete(&self, _: &str) -> crate::error::Result<()> {
                Ok(())
            }
            async fn list(&self, _: &str) -> crate::error::Result<Vec<(String, String)>> {
                Ok(Vec::new())
            }
            async fn list_page(
                &self,
                _: &str,
                _: Option<&str>,
                _: usize,
            ) -> crate::error::Result<Vec<(String, String)>> {
                Ok(Vec::new())
            }
            async fn list_tail(&self, _: &str, _: usize) -> crate::error::Result<Vec<(String, String)>> {
                Ok(Vec::new())
            }
            async fn write(&self, _: &[(String, String)], _: &[String]) -> crate::error::Result<()> {
                Ok(())
            }
            async fn clear(&self) -> crate::error::Result<()> {
                Ok(())
            }
        }
        let broken = block_on(ledger_store(&Forgetful)).unwrap_err();
        assert!(broken.starts_with("a put replaces the value"), "{broken}");
    }
}
