//! The store layout end to end on workerd: downloads from R2 alone (no KV), the Cache API
//! for public downloads (a hit reads nothing from R2; an expired file is not served from
//! it; private downloads are never cached), and expiry by the scheduled sweep.

mod support;

use std::time::Duration;

use sha2::{Digest, Sha256};
use support::*;

fn ngcp_upload(srv: &Server, bytes: &[u8], ttl: Option<u64>) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.txt");
    std::fs::write(&path, bytes).unwrap();
    let form = format!("file=@{}", path.display());
    let creds = format!("{USER}:{PASSWORD}");
    let ttl = ttl.map(|t| format!("ttl={t}"));
    let mut args = vec!["-X", "POST", "--form", &form, "--user", &creds];
    if let Some(t) = &ttl {
        args.extend(["--form", t]);
    }
    let url = srv.url("/uploads");
    args.push(&url);
    let (status, _, body) = curl(&args);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    json(&body)
}

#[test]
fn downloads_are_served_from_r2_alone_at_once() {
    let srv = Server::start();
    let up = ngcp_upload(&srv, b"from R2 alone", None);
    let id = up["id"].as_str().unwrap();
    // a tus upload in one request, and a PortSIP blob
    let tus = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", "3")
        .set("Content-Type", "application/offset+octet-stream")
        .set("Authorization", &basic_auth())
        .send_bytes(b"tus")
        .unwrap();
    let tus_url = tus.header("Location").unwrap().to_string();
    let init =
        ureq::post(&srv.url("/api/blobs/uploads?filename=b.wav")).set("Authorization", &basic_auth()).call().unwrap();
    let (pid, token) = (init.header("PortSIP-Upload-ID").unwrap(), init.header("PortSIP-Upload-Token").unwrap());
    let done = ureq::post(&srv.url(&format!("/api/blobs/uploads/{pid}/complete")))
        .set("Authorization", &basic_auth())
        .set("PortSIP-Upload-Token", token)
        .send_bytes(b"blob")
        .unwrap();
    let blob_id = json(done.into_string().unwrap().as_bytes())["id"].as_str().unwrap().to_string();

    // KV emptied: records, indexes, journal, expiry entries all gone
    srv.kv_clear();
    assert!(srv.kv_keys().is_empty());
    let (status, sha, _) = get_sha256(&srv.url(&format!("/uploads/{id}")));
    assert_eq!((status, sha), (200, hex::encode(Sha256::digest(b"from R2 alone"))));
    assert_eq!(get_sha256_auth(&tus_url).1, hex::encode(Sha256::digest(b"tus")));
    let head = ureq::head(&tus_url).set("Tus-Resumable", "1.0.0").set("Authorization", &basic_auth()).call().unwrap();
    assert_eq!(head.header("Upload-Offset"), Some("3"));
    assert_eq!(get_sha256(&srv.url(&format!("/api/blobs/{blob_id}"))).1, hex::encode(Sha256::digest(b"blob")));
    let digest = hex::encode(Sha256::digest(b"blob"));
    assert_eq!(get_sha256(&srv.url(&format!("/api/blobs/{digest}"))).0, 200, "the public pointer is in R2 too");
}

#[test]
fn public_downloads_are_cached_and_never_past_their_file() {
    let srv = Server::start();
    let up = ngcp_upload(&srv, b"0123456789", None);
    let url = srv.url(&format!("/uploads/{}", up["id"].as_str().unwrap()));
    let short = ngcp_upload(&srv, b"short", Some(4));
    let short_url = srv.url(&format!("/uploads/{}", short["id"].as_str().unwrap()));
    let first = ureq::get(&url).call().unwrap();
    let max_age = |r: &ureq::Response| -> u64 {
        r.header("Cache-Control").unwrap().trim_start_matches("public, max-age=").parse().unwrap()
    };
    assert!((3590..=3600).contains(&max_age(&first)), "as long as the file lives");
    assert_eq!(first.into_string().unwrap(), "0123456789");
    let cached = ureq::get(&short_url).call().unwrap();
    assert!(max_age(&cached) <= 4, "never past the file's expiry");
    // the bytes leave R2 behind the worker's back: the next downloads are the cache's
    std::thread::sleep(Duration::from_millis(300));
    srv.r2_wipe_bytes();
    let hit = ureq::get(&url).call().unwrap();
    assert_eq!(hit.header("CF-Cache-Status"), Some("HIT"));
    assert_eq!(hit.into_string().unwrap(), "0123456789", "served without reading R2");
    let range = ureq::get(&url).set("Range", "bytes=2-4").call().unwrap();
    assert_eq!((range.status(), range.header("Content-Range")), (206, Some("bytes 2-4/10")));
    assert_eq!(range.into_string().unwrap(), "234", "a range from the cached whole");
    // once the short-lived file has expired, its cached copy is not served any more
    std::thread::sleep(Duration::from_secs(5));
    let gone = ureq::get(&short_url).call();
    assert!(gone.is_err(), "not served from the cache after its file expired");
}

#[test]
fn private_downloads_are_never_cached() {
    let srv = Server::start();
    let tus = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", "7")
        .set("Content-Type", "application/offset+octet-stream")
        .set("Authorization", &basic_auth())
        .send_bytes(b"private")
        .unwrap();
    let url = tus.header("Location").unwrap().to_string();
    for _ in 0..2 {
        let r = ureq::get(&url).set("Authorization", &basic_auth()).call().unwrap();
        assert_eq!(r.header("Cache-Control"), Some("private, no-cache"));
        assert_eq!(r.header("CF-Cache-Status"), None);
    }
    // the owner's digest lookup is authenticated: private too
    let digest = hex::encode(Sha256::digest(b"private"));
    let r = ureq::get(&srv.url(&format!("/api/blobs/{digest}"))).set("Authorization", &basic_auth()).call().unwrap();
    assert_eq!(r.header("Cache-Control"), Some("private, no-cache"));
    srv.r2_wipe_bytes();
    let r = ureq::get(&url).set("Authorization", &basic_auth()).call();
    assert!(!matches!(r, Ok(ref r) if r.header("CF-Cache-Status") == Some("HIT")), "never from the cache");
}

#[test]
fn expiry_by_the_scheduled_sweep() {
    let srv = Server::start();
    let up = ngcp_upload(&srv, b"short-lived", Some(2));
    let url = srv.url(&format!("/uploads/{}", up["id"].as_str().unwrap()));
    assert_eq!(srv.r2_blobs(), 1);
    srv.sweep();
    assert_eq!(srv.r2_blobs(), 1, "nothing before its expiry");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(srv.sweep_until_r2_blobs(0, 20), 0, "the sweep deleted the bytes");
    let (status, _, body) = curl(&[&url]);
    assert_eq!((status, body.as_slice()), (410, &br#"{"message":"upload expired"}"#[..]), "the tombstone answers");
}
