//! The store layout end to end on workerd: downloads from R2 alone (no KV), the Cache API
//! for public downloads (a hit reads nothing from R2; an expired file is not served from
//! it; private downloads are never cached), and expiry by the scheduled sweep.

mod support;

use std::time::{Duration, Instant};

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
    // (without `EDGESHARE_SELF_TEST`, as deployed, the storage self-test is an unknown path)
    assert_eq!(status_of(ureq::post(&srv.url("/__self-test/storage")).call()), 404);
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
    let first = ureq::get(&url).call().unwrap();
    let max_age = |r: &ureq::Response| -> u64 {
        r.header("Cache-Control").unwrap().trim_start_matches("public, max-age=").parse().unwrap()
    };
    assert_eq!(max_age(&first), 300, "EDGESHARE_CACHE_MAX_AGE's default, not the file's hour: it may be deleted");
    assert_eq!(first.into_string().unwrap(), "0123456789");
    // the cache is written after the answer: once it holds the file, its bytes leave R2
    // behind the worker's back, and the next downloads are the cache's
    assert!(wait_until(Instant::now() + Duration::from_secs(10), || cache_status(&url).as_deref() == Some("HIT")));
    srv.r2_wipe_bytes();
    let hit = ureq::get(&url).call().unwrap();
    assert_eq!(hit.header("CF-Cache-Status"), Some("HIT"));
    assert_eq!(hit.into_string().unwrap(), "0123456789", "served without reading R2");
    let range = ureq::get(&url).set("Range", "bytes=2-4").call().unwrap();
    assert_eq!((range.status(), range.header("Content-Range")), (206, Some("bytes 2-4/10")));
    assert_eq!(range.into_string().unwrap(), "234", "a range from the cached whole");
    // a short-lived file, cached too (its bytes stay in R2: what it answers once expired is
    // the worker's, not a wiped object's)
    let born = Instant::now();
    let short = ngcp_upload(&srv, b"short", Some(4));
    let short_url = srv.url(&format!("/uploads/{}", short["id"].as_str().unwrap()));
    let cached = ureq::get(&short_url).call().unwrap();
    assert!(max_age(&cached) <= 4, "never past the file's expiry");
    assert!(
        wait_until(born + Duration::from_secs(3), || cache_status(&short_url).as_deref() == Some("HIT")),
        "the short-lived file is in the cache while it lives"
    );
    // once it has expired, its cached copy is not served any more: the expired file's answer
    let expired = || ureq::get(&short_url).call().map(|r| r.status()).unwrap_or_else(|e| status_of(Err(e))) != 200;
    assert!(wait_until(born + Duration::from_secs(10), expired), "still served 10 s after a 4 s TTL");
    let (status, body) = read_json(ureq::get(&short_url).call());
    assert_eq!((status, body), (410, serde_json::json!({"message": "upload expired"})));
}

/// The `CF-Cache-Status` of a GET (`None` without one, or on an error status).
fn cache_status(url: &str) -> Option<String> {
    ureq::get(url).call().ok()?.header("CF-Cache-Status").map(str::to_string)
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
    // from R2, which no longer has the bytes (a cached copy would answer 200)
    let r = ureq::get(&url).set("Authorization", &basic_auth()).call();
    let (status, body) = read_json(r);
    assert_eq!((status, body), (404, serde_json::json!("upload not found\n")), "never from the cache");
}

#[test]
fn expiry_by_the_scheduled_sweep() {
    let srv = Server::start();
    let up = ngcp_upload(&srv, b"short-lived", Some(2));
    let url = srv.url(&format!("/uploads/{}", up["id"].as_str().unwrap()));
    assert_eq!(srv.r2_blobs(), 1);
    srv.sweep();
    assert_eq!(srv.r2_blobs(), 1, "nothing before its expiry");
    // swept again and again until it has expired (2 s) and the sweep has deleted its bytes
    assert_eq!(srv.sweep_until_r2_blobs(0, 20), 0, "the sweep deleted the bytes");
    let (status, _, body) = curl(&[&url]);
    assert_eq!((status, body.as_slice()), (410, &br#"{"message":"upload expired"}"#[..]), "the tombstone answers");
}

/// The storage contract (`store::contract`) holds for the real bindings: R2 and KV as workerd
/// emulates them, an Upload object's SQLite and a ledger object's storage, the same checks the
/// host tests run over the in-memory stores.
#[test]
fn the_storage_contract_holds_on_the_real_bindings() {
    let srv = Server::start_with(&[("EDGESHARE_SELF_TEST", "1")]);
    let (status, body) = read_json(ureq::post(&srv.url("/__self-test/storage")).call());
    assert_eq!(status, 200, "{body}");
    for store in ["blob_store", "meta_store", "upload_store", "ledger_store"] {
        assert_eq!(body[store], "ok", "{store}: {body}");
    }
    // (R2's objects are checked gone by the contract itself; the emulator keeps one blob file
    // of these checks' multipart uploads, so its files are not counted here)
    assert!(srv.kv_keys().is_empty(), "nor in KV: {:?}", srv.kv_keys());
}
