//! tus 1.0 end to end on workerd with the real tus-js-client: sizes and chunk sizes, abort
//! and resume by fingerprint, a restart of the runtime mid-upload, concurrent PATCHes.

mod support;

use serde_json::json;
use sha2::Digest;
use std::time::{Duration, Instant};
use support::*;

const MIB: usize = 1024 * 1024;

fn upload(srv: &Server, dir: &std::path::Path, file: &std::path::Path, chunk: usize, fp: &str) -> serde_json::Value {
    tus_client(json!({
        "endpoint": srv.url("/files/"),
        "file": file,
        "chunkSize": chunk,
        "auth": basic_auth(),
        "fingerprint": fp,
        "storage": dir.join("tus-urls.json"),
    }))
}

#[test]
fn tus_js_client_sizes_and_chunk_sizes() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    for len in [0, MIB, 64 * MIB] {
        let (path, sha) = data_file(tmp.path(), &format!("f{len}"), len);
        for chunk in [MIB, 5 * MIB, 7 * MIB, 0] {
            let fp = format!("fp-{len}-{chunk}");
            let r = upload(&srv, tmp.path(), &path, chunk, &fp);
            assert_eq!(r["done"], true, "{len} bytes in {chunk}-byte chunks: {r}");
            let url = r["url"].as_str().unwrap();
            let (status, got, n) = get_sha256_auth(url);
            assert_eq!((status, n), (200, len as u64), "{len}/{chunk}");
            assert_eq!(got, sha, "{len} bytes in {chunk}-byte chunks");
        }
    }
}

#[test]
fn aborted_upload_resumes_with_a_new_client() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let (path, sha) = data_file(tmp.path(), "big", 40 * MIB);
    for (chunk, fp) in [(5 * MIB, "chunked"), (0, "one-request")] {
        let storage = tmp.path().join(format!("{fp}.json"));
        let base = json!({
            "endpoint": srv.url("/files/"), "file": path, "chunkSize": chunk, "auth": basic_auth(),
            "fingerprint": fp, "storage": storage,
        });
        let mut first = base.clone();
        first["abortAfter"] = json!(20 * MIB);
        let r = tus_client(first);
        assert_eq!(r["done"], false, "{r}");
        let url = r["url"].as_str().unwrap().to_string();
        let offset = head_offset(&url);
        assert!(offset < 40 * MIB as u64, "aborted before the end: {offset}");
        let mut again = base.clone();
        again["resume"] = json!(true);
        let r = tus_client(again);
        assert_eq!(r["done"], true, "{r}");
        assert_eq!(r["url"], url.as_str(), "the same upload was resumed");
        assert_eq!(get_sha256_auth(&url).1, sha, "{fp}");
    }
}

fn head_offset(url: &str) -> u64 {
    let resp = ureq::head(url).set("Tus-Resumable", "1.0.0").set("Authorization", &basic_auth()).call().unwrap();
    assert_eq!(resp.header("Cache-Control"), Some("no-store"));
    resp.header("Upload-Offset").unwrap().parse().unwrap()
}

#[test]
fn restart_mid_upload_then_resume() {
    let mut srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let (path, sha) = data_file(tmp.path(), "big", 64 * MIB);
    let opts = json!({
        "endpoint": srv.url("/files/"), "file": path, "chunkSize": MIB, "auth": basic_auth(),
        "fingerprint": "restart", "storage": tmp.path().join("urls.json"),
    });
    // upload in the background; stop the runtime once some chunks are in
    let bg_opts = opts.clone();
    let client = std::thread::spawn(move || tus_client(bg_opts));
    let storage = tmp.path().join("urls.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        let stored = std::fs::read_to_string(&storage).unwrap_or_default();
        if let Some(u) = serde_json::from_str::<serde_json::Value>(&stored)
            .ok()
            .and_then(|v| v.as_object().and_then(|o| o.values().next().cloned()))
            .and_then(|v| v["uploadUrl"].as_str().map(str::to_string))
        {
            if head_offset(&u) >= 8 * MIB as u64 {
                break u;
            }
        }
        assert!(Instant::now() < deadline, "upload never got going");
        std::thread::sleep(Duration::from_millis(50));
    };
    srv.stop();
    let r = client.join().unwrap();
    assert!(r["error"].is_string(), "the client saw the server go: {r}");
    srv.restart();
    let offset = head_offset(&url);
    assert!(offset >= 8 * MIB as u64 && offset < 64 * MIB as u64, "progress survived the restart: {offset}");
    let mut again = opts.clone();
    again["resume"] = json!(true);
    let r = tus_client(again);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(r["url"], url.as_str());
    assert_eq!(get_sha256_auth(&url).1, sha);
}

#[test]
fn concurrent_patches_at_the_same_offset_apply_once() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let len = 6 * MIB;
    let (path, sha) = data_file(tmp.path(), "c", len);
    let body = std::fs::read(&path).unwrap();
    let created = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", &len.to_string())
        .set("Authorization", &basic_auth())
        .call()
        .unwrap();
    assert_eq!(created.status(), 201);
    let url = created.header("Location").unwrap().to_string();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || {
                match ureq::patch(&url)
                    .set("Tus-Resumable", "1.0.0")
                    .set("Upload-Offset", "0")
                    .set("Content-Type", "application/offset+octet-stream")
                    .set("Authorization", &basic_auth())
                    .send_bytes(&body)
                {
                    Ok(r) => r.status(),
                    Err(ureq::Error::Status(s, _)) => s,
                    Err(e) => panic!("{e}"),
                }
            })
        })
        .collect();
    let mut statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![204, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(head_offset(&url), len as u64);
    assert_eq!(get_sha256_auth(&url).1, sha);
}

#[test]
fn protocol_details() {
    let srv = Server::start();
    let auth = basic_auth();
    // OPTIONS: capabilities and CORS, without credentials
    let r = ureq::request("OPTIONS", &srv.url("/files/")).call().unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.header("Tus-Version"), Some("1.0.0"));
    assert!(r.header("Tus-Extension").unwrap().contains("creation-defer-length"));
    assert!(r.header("Tus-Checksum-Algorithm").unwrap().contains("sha1"));
    assert!(r.header("Tus-Max-Size").is_some());
    assert!(r.header("Access-Control-Expose-Headers").unwrap().contains("Upload-Offset"));
    assert!(r.header("Access-Control-Expose-Headers").unwrap().contains("Location"));

    let status = |r: Result<ureq::Response, ureq::Error>| match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("{e}"),
    };
    let post = || ureq::post(&srv.url("/files/")).set("Authorization", &auth);
    assert_eq!(status(post().set("Upload-Length", "5").call()), 412, "no Tus-Resumable");
    assert_eq!(status(post().set("Tus-Resumable", "0.2.2").set("Upload-Length", "5").call()), 412);
    assert_eq!(status(post().set("Tus-Resumable", "1.0.0").call()), 400, "no length");
    assert_eq!(
        status(ureq::post(&srv.url("/files/")).set("Tus-Resumable", "1.0.0").set("Upload-Length", "5").call()),
        401
    );

    // deferred length, creation-with-upload, checksum, method override, Upload-Expires
    let r = post()
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Defer-Length", "1")
        .set("Content-Type", "application/offset+octet-stream")
        .send_bytes(b"hello ")
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.header("Upload-Offset"), Some("6"));
    assert!(r.header("Upload-Expires").unwrap().ends_with(" GMT"));
    let url = r.header("Location").unwrap().to_string();
    let h = ureq::head(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &auth).call().unwrap();
    assert_eq!(h.header("Upload-Defer-Length"), Some("1"));
    let patch = |offset: &str, ct: &str| {
        ureq::post(&url)
            .set("X-HTTP-Method-Override", "PATCH")
            .set("Tus-Resumable", "1.0.0")
            .set("Upload-Offset", offset)
            .set("Content-Type", ct)
            .set("Authorization", &auth)
    };
    assert_eq!(status(patch("6", "application/octet-stream").send_bytes(b"world")), 415);
    assert_eq!(status(patch("5", "application/offset+octet-stream").send_bytes(b"world")), 409);
    // sha1("world") is fCEUM/AgcVl3Qeb/Wo6jR4mrv0M=; send a wrong one first
    let bad = patch("6", "application/offset+octet-stream").set("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(status(bad.send_bytes(b"world")), 460);
    assert_eq!(head_offset(&url), 6, "the chunk was discarded");
    let unknown = patch("6", "application/offset+octet-stream").set("Upload-Checksum", "md5 fXkwN6B2AYZXSwKC8vQ15w==");
    assert_eq!(status(unknown.send_bytes(b"world")), 400);
    let good = patch("6", "application/offset+octet-stream")
        .set("Upload-Checksum", "sha1 fCEUM/AgcVl3Qeb/Wo6jR4mrv0M=")
        .set("Upload-Length", "11");
    let r = good.send_bytes(b"world").unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.header("Upload-Offset"), Some("11"));
    let got = ureq::get(&url).set("Authorization", &auth).call().unwrap().into_string().unwrap();
    assert_eq!(got, "hello world");

    // termination
    let r = post().set("Tus-Resumable", "1.0.0").set("Upload-Length", "10").call().unwrap();
    let url2 = r.header("Location").unwrap().to_string();
    let del = ureq::delete(&url2).set("Tus-Resumable", "1.0.0").set("Authorization", &auth).call().unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(status(ureq::head(&url2).set("Tus-Resumable", "1.0.0").set("Authorization", &auth).call()), 404);
    // a credential that is nobody's is refused, and another tenant's sees nothing
    let nobody = format!("Bearer {TOKEN}x");
    assert_eq!(status(ureq::head(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &nobody).call()), 401);
    let other = other_basic_auth();
    assert_eq!(status(ureq::head(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &other).call()), 404);
    assert_eq!(status(ureq::get(&url).set("Authorization", &other).call()), 404);
    let del = ureq::delete(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &other).call();
    assert_eq!(status(del), 404);
    assert_eq!(ureq::get(&url).set("Authorization", &auth).call().unwrap().into_string().unwrap(), "hello world");
}

#[test]
fn idle_uploads_are_aborted_by_the_alarm() {
    let srv = Server::start_with(&[("EDGESHARE_IDLE_TIMEOUT", "2")]);
    let created = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", &(12 * MIB).to_string())
        .set("Authorization", &basic_auth())
        .call()
        .unwrap();
    let url = created.header("Location").unwrap().to_string();
    let r = ureq::patch(&url)
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Offset", "0")
        .set("Content-Type", "application/offset+octet-stream")
        .set("Authorization", &basic_auth())
        .send_bytes(&vec![7u8; 6 * MIB])
        .unwrap();
    assert_eq!(r.header("Upload-Offset"), Some(&*(6 * MIB).to_string()));
    assert!(srv.r2_blobs() >= 1, "a 5 MiB part is in R2");
    // after 2 idle seconds the alarm aborts the multipart upload: its parts go
    // (within a minute: the local R2 deletes the parts in the background, slower under load)
    assert_eq!(srv.wait_r2_blobs(0, 60), 0, "the aborted upload's parts are gone from R2");
    let head = ureq::head(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &basic_auth()).call();
    assert!(matches!(head, Err(ureq::Error::Status(404, _))), "the upload is forgotten");
}

#[test]
fn finished_uploads_are_forgotten_by_their_object_and_served_from_their_record() {
    let srv = Server::start_with(&[("EDGESHARE_IDLE_TIMEOUT", "4")]);
    let auth = basic_auth();
    // a tus upload finished by its creation request
    let created = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", "5")
        .set("Content-Type", "application/offset+octet-stream")
        .set("Authorization", &auth)
        .send_bytes(b"hello")
        .unwrap();
    assert_eq!(created.header("Upload-Offset"), Some("5"));
    let url = created.header("Location").unwrap().to_string();
    // a PortSIP blob completed in one request; a retried completion gets the same answer
    let blobs = srv.url("/api/blobs/uploads");
    let init = ureq::post(&blobs).set("Authorization", &auth).call().unwrap();
    let (id, token) = (init.header("PortSIP-Upload-ID").unwrap(), init.header("PortSIP-Upload-Token").unwrap());
    let complete = format!("{blobs}/{id}/complete");
    let send = || {
        let r = ureq::post(&complete).set("Authorization", &auth).set("PortSIP-Upload-Token", token).send_bytes(b"bye");
        match r {
            Ok(r) => (r.status(), json(r.into_string().unwrap().as_bytes())["id"].clone()),
            Err(ureq::Error::Status(status, _)) => (status, serde_json::Value::Null),
            Err(e) => panic!("{e}"),
        }
    };
    let (status, blob_id) = send();
    assert_eq!(status, 201);
    assert_eq!(send(), (201, blob_id));

    // four seconds after completion the objects forget both uploads: the retry is now unknown
    let forgotten = wait_until(Instant::now() + Duration::from_secs(20), || send().0 == 404);
    assert!(forgotten, "the finished PortSIP upload was not forgotten");
    // the files stay, served from their records
    let digest = hex::encode(sha2::Sha256::digest(b"bye"));
    assert_eq!(get_sha256(&srv.url(&format!("/api/blobs/{digest}"))).1, digest);
    let head = ureq::head(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &auth).call().unwrap();
    assert_eq!((head.header("Upload-Offset"), head.header("Upload-Length")), (Some("5"), Some("5")));
    assert_eq!(get_sha256_auth(&url).1, hex::encode(sha2::Sha256::digest(b"hello")));
    // termination works from the record too, and takes the bytes
    let blobs_before = srv.r2_blobs();
    let del = ureq::delete(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &auth).call().unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(srv.wait_r2_blobs(blobs_before - 1, 20), blobs_before - 1, "the tus file's bytes left R2");
    assert_eq!(get_sha256_auth(&url).0, 404);
}
