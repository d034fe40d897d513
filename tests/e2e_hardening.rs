//! The faults an attacker and an unlucky client find, end to end on workerd: private files
//! over share links, another tenant on every route, names storage would refuse, a client
//! that stalls mid-body, public blobs downgraded by someone else, tus where the spec says
//! MUST, bodies refused without being read.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use support::*;

const MIB: usize = 1024 * 1024;

fn tus_create(srv: &Server, auth: &str, length: usize, body: Option<&[u8]>) -> String {
    let mut req = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", &length.to_string())
        .set("Upload-Metadata", "filename c2VjcmV0LnR4dA==")
        .set("Authorization", auth);
    let r = match body {
        Some(b) => {
            req = req.set("Content-Type", "application/offset+octet-stream");
            req.send_bytes(b)
        }
        None => req.call(),
    };
    let r = r.unwrap();
    assert_eq!(r.status(), 201);
    r.header("Location").unwrap().to_string()
}

#[test]
fn private_files_are_not_served_by_share_links_or_digests_and_other_tenants_get_404_everywhere() {
    let srv = Server::start();
    let (me, other) = (basic_auth(), other_basic_auth());
    let done_url = tus_create(&srv, &me, 7, Some(b"private"));
    let done_id = done_url.rsplit('/').next().unwrap().to_string();
    let open_url = tus_create(&srv, &me, 10, None);
    let digest = hex::encode(Sha256::digest(b"private"));

    // the anonymous cross-dialect download: a tus file at NGCP's share-link route
    assert_eq!(get_sha256(&srv.url(&format!("/uploads/{done_id}"))).0, 404);
    assert_eq!(get_sha256(&srv.url(&format!("/rtc/fileshare/uploads/{done_id}"))).0, 404);
    assert_eq!(status_of(ureq::get(&srv.url(&format!("/uploads/{done_id}"))).set("Authorization", &me).call()), 404);
    // nor by its digest without credentials, nor to another tenant
    assert_eq!(get_sha256(&srv.url(&format!("/api/blobs/{digest}"))).0, 404);
    assert_eq!(get_sha256_with(&srv.url(&format!("/api/blobs/{digest}")), Some(&other)).0, 404);
    assert_eq!(
        get_sha256_auth(&srv.url(&format!("/api/blobs/sha256:{digest}"))).1,
        digest,
        "its own tenant, with the prefix"
    );

    // the second tenant walks every tus route against the first tenant's uploads
    for url in [&done_url, &open_url] {
        let v = |r: ureq::Request| r.set("Tus-Resumable", "1.0.0").set("Authorization", &other);
        assert_eq!(status_of(v(ureq::head(url)).call()), 404, "HEAD {url}");
        let patch =
            v(ureq::patch(url)).set("Upload-Offset", "0").set("Content-Type", "application/offset+octet-stream");
        assert_eq!(status_of(patch.send_bytes(b"x")), 404, "PATCH {url}");
        assert_eq!(status_of(v(ureq::get(url)).call()), 404, "GET {url}");
        assert_eq!(status_of(v(ureq::delete(url)).call()), 404, "DELETE {url}");
        let overridden = v(ureq::post(url)).set("X-HTTP-Method-Override", "DELETE");
        assert_eq!(status_of(overridden.call()), 404, "DELETE by override {url}");
    }
    // ... and every PortSIP upload route, even holding the upload's token
    let (pid, token) = portsip_initiate(&srv, "?filename=a.wav", &me);
    for op in ["append", "complete", "destroy"] {
        let r = ureq::post(&srv.url(&format!("/api/blobs/uploads/{pid}/{op}")))
            .set("Authorization", &other)
            .set("PortSIP-Upload-Token", &token)
            .send_bytes(b"x");
        assert_eq!(status_of(r), 404, "{op}");
    }
    let status = ureq::get(&srv.url(&format!("/api/blobs/uploads/{pid}/status"))).set("Authorization", &other).call();
    assert_eq!(status_of(status), 404);
    // an NGCP file is reachable by its share link (that is its contract), never by digest
    let nid = ngcp_upload(&srv, b"ngcp bytes");
    assert_eq!(get_sha256_with(&srv.url(&format!("/uploads/{nid}")), Some(&other)).0, 200);
    let ndigest = hex::encode(Sha256::digest(b"ngcp bytes"));
    assert_eq!(get_sha256_with(&srv.url(&format!("/api/blobs/{ndigest}")), Some(&other)).0, 404);

    // nothing changed for the owner
    let h = ureq::head(&open_url).set("Tus-Resumable", "1.0.0").set("Authorization", &me).call().unwrap();
    assert_eq!(h.header("Upload-Offset"), Some("0"));
    assert_eq!(get_sha256_auth(&done_url).1, digest);
    let st = ureq::get(&srv.url(&format!("/api/blobs/uploads/{pid}/status"))).set("Authorization", &me).call().unwrap();
    assert_eq!(st.status(), 204);
}

#[test]
fn names_storage_would_refuse_are_400_at_creation() {
    use base64::Engine;
    let srv = Server::start();
    let name = base64::engine::general_purpose::STANDARD.encode("n".repeat(9000));
    let r = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", "5")
        .set("Upload-Metadata", &format!("filename {name}"))
        .set("Authorization", &basic_auth())
        .call();
    assert_eq!(status_of(r), 400, "refused at creation, not at completion");
    let long = "n".repeat(300);
    let r =
        ureq::post(&srv.url(&format!("/api/blobs/uploads?filename={long}"))).set("Authorization", &basic_auth()).call();
    assert_eq!(status_of(r), 400);
}

#[test]
fn a_stalled_patch_does_not_lock_its_upload() {
    let srv = Server::start_with(&[("EDGESHARE_STALL_TIMEOUT", "2")]);
    let tmp = tempfile::tempdir().unwrap();
    let len = 20 * MIB;
    let (path, sha) = data_file(tmp.path(), "twenty", len);
    let bytes = std::fs::read(&path).unwrap();
    let url = tus_create(&srv, &basic_auth(), len, None);
    let upload_path = url.trim_start_matches(&srv.base).to_string();

    // 6 MiB of a 20 MiB PATCH, then silence: no more bytes, no FIN
    let head = format!(
        "PATCH {upload_path} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {len}\r\nAuthorization: {}",
        basic_auth()
    );
    let mut stalled = raw_request(srv.port, &head, &bytes[..6 * MIB]);
    // the write is under way in the upload's object: its first part has reached R2
    assert!(wait_until(Instant::now() + Duration::from_secs(30), || srv.r2_blobs() >= 1), "the PATCH never started");

    // HEAD answers at once from the last saved state
    let started = Instant::now();
    let h = ureq::head(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &basic_auth()).call().unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "HEAD took {:?}", started.elapsed());
    assert_eq!(h.status(), 200);

    // a new client resumes: the stalled write is stopped, keeps what landed, and the upload ends whole
    let r = tus_client(json!({
        "endpoint": srv.url("/files/"), "file": path, "chunkSize": 0, "auth": basic_auth(),
        "fingerprint": "stalled", "storage": tmp.path().join("urls.json"), "uploadUrl": url, "retry": true,
    }));
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(r["url"], url.as_str());
    assert_eq!(get_sha256_auth(&url).1, sha);
    // the stalled client, if it ever reads, hears that it was interrupted
    assert_eq!(raw_status(&mut stalled, 5), Some(409));
}

#[test]
fn refusals_of_the_caller_are_answered_without_reading_the_body() {
    let srv = Server::start();
    // a large upload announced with wrong credentials: 401 before a byte of the body is sent
    let head = "POST /uploads HTTP/1.1\r\nAuthorization: Basic bm86bm8=\r\n\
                Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000";
    let mut s = raw_request(srv.port, head, b"");
    assert_eq!(raw_status(&mut s, 5), Some(401));
    let head = "PATCH /files/88e5905d-5d96-4750-ab3d-77a1ed26f569 HTTP/1.1\r\nTus-Resumable: 1.0.0\r\n\
                Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 50000000";
    let mut s = raw_request(srv.port, head, b"");
    assert_eq!(raw_status(&mut s, 5), Some(401));
    // a wrong PortSIP upload token, refused by the upload's object: 403 at once too
    let (id, _) = portsip_initiate(&srv, "", &basic_auth());
    let head = format!(
        "POST /api/blobs/uploads/{id}/append HTTP/1.1\r\nAuthorization: {}\r\nPortSIP-Upload-Token: wrong\r\n\
         Content-Length: 50000000",
        basic_auth()
    );
    let mut s = raw_request(srv.port, &head, b"");
    assert_eq!(raw_status(&mut s, 5), Some(403));
}

#[test]
fn a_body_over_the_request_limit_is_413_as_on_cloudflare() {
    let srv = Server::start_with(&[("EDGESHARE_MAX_REQUEST_BODY", "1048576")]);
    let url = tus_create(&srv, &basic_auth(), 3 * MIB, None);
    let patch = |body: &[u8]| {
        ureq::patch(&url)
            .set("Tus-Resumable", "1.0.0")
            .set("Upload-Offset", "0")
            .set("Content-Type", "application/offset+octet-stream")
            .set("Authorization", &basic_auth())
            .send_bytes(body)
            .map_err(Box::new)
    };
    let status = |r: Result<ureq::Response, Box<ureq::Error>>| status_of(r.map_err(|e| *e));
    assert_eq!(status(patch(&vec![1u8; MIB + 1])), 413);
    assert_eq!(status(patch(&vec![1u8; MIB])), 204, "at the limit");
    let tmp = tempfile::tempdir().unwrap();
    let (path, _) = data_file(tmp.path(), "big", 2 * MIB);
    let form = format!("file=@{}", path.display());
    let creds = format!("{USER}:{PASSWORD}");
    let (status, _, _) = curl(&["-X", "POST", "--form", &form, "--user", &creds, &srv.url("/uploads")]);
    assert_eq!(status, 413);
}

#[test]
fn another_tenants_temporary_copy_does_not_downgrade_a_public_blob() {
    let srv = Server::start();
    let (id, token) = portsip_initiate(&srv, "?filename=keep.wav", &basic_auth());
    portsip_complete(&srv, &id, &token, &basic_auth(), b"the same recording");
    let digest = hex::encode(Sha256::digest(b"the same recording"));
    let (id2, token2) = portsip_initiate(&srv, "?filename=theirs.wav&temporary=True", &other_basic_auth());
    let theirs = portsip_complete(&srv, &id2, &token2, &other_basic_auth(), b"the same recording");
    let r = ureq::get(&srv.url(&format!("/api/blobs/{digest}"))).call().unwrap();
    assert_eq!(r.header("Content-Disposition"), Some("attachment; filename=\"keep.wav\""));
    assert_eq!(r.header("Cache-Control"), Some("public, max-age=300"), "EDGESHARE_CACHE_MAX_AGE bounds it");
    assert_eq!(get_sha256(&srv.url(&format!("/api/blobs/sha256:{digest}"))).1, digest);
    // the other tenant's blob is still its own under its opaque id
    let r = ureq::get(&srv.url(&format!("/api/blobs/{theirs}"))).call().unwrap();
    assert_eq!(r.header("Content-Disposition"), Some("attachment; filename=\"theirs.wav\""));
}

#[test]
fn tus_method_override_on_get_and_the_retried_last_patch() {
    let srv = Server::start();
    let auth = basic_auth();
    let url = tus_create(&srv, &auth, 5, None);
    let get = |m: &str| {
        ureq::get(&url).set("X-HTTP-Method-Override", m).set("Tus-Resumable", "1.0.0").set("Authorization", &auth)
    };
    let opts = ureq::get(&srv.url("/files/")).set("X-HTTP-Method-Override", "OPTIONS").call().unwrap();
    assert_eq!((opts.status(), opts.header("Tus-Version")), (204, Some("1.0.0")));
    let patched = get("PATCH")
        .set("Upload-Offset", "0")
        .set("Content-Type", "application/offset+octet-stream")
        .send_bytes(b"hello")
        .unwrap();
    assert_eq!((patched.status(), patched.header("Upload-Offset")), (204, Some("5")));
    let head = get("HEAD").call().unwrap();
    assert_eq!((head.status(), head.header("Upload-Offset")), (200, Some("5")));
    assert_eq!(head.into_string().unwrap(), "", "a HEAD, not a download");
    // the client lost the answer to its last PATCH and sends it again, empty
    let again = ureq::patch(&url)
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Offset", "5")
        .set("Content-Type", "application/offset+octet-stream")
        .set("Authorization", &auth)
        .send_bytes(b"")
        .unwrap();
    assert_eq!((again.status(), again.header("Upload-Offset")), (204, Some("5")));
    // past the length: 413
    let url2 = tus_create(&srv, &auth, 3, None);
    let over = ureq::patch(&url2)
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Offset", "0")
        .set("Content-Type", "application/offset+octet-stream")
        .set("Authorization", &auth)
        .send_bytes(b"four");
    assert_eq!(status_of(over), 413);
    assert_eq!(status_of(get("DELETE").call()), 204);
    assert_eq!(status_of(ureq::head(&url).set("Tus-Resumable", "1.0.0").set("Authorization", &auth).call()), 404);
}

/// Each request logs one JSON line (request id, tenant, dialect, endpoint row, status, bytes,
/// duration, error code) and answers its id: the client's `X-Request-ID` when it is safe, else
/// a new one. No credential and no body in it.
#[test]
fn each_request_logs_one_json_line_with_its_id() {
    let srv = Server::start();
    let r = ureq::post(&srv.url("/files/"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", "3")
        .set("Content-Type", "application/offset+octet-stream")
        .set("X-Request-ID", "e2e-req-42")
        .set("Authorization", &basic_auth())
        .send_bytes(b"abc")
        .unwrap();
    assert_eq!(r.header("X-Request-ID"), Some("e2e-req-42"));
    let refused = ureq::get(&srv.url("/v1/files")).set("X-Request-ID", "bad id\"x").call();
    let Err(ureq::Error::Status(401, refused)) = refused else { panic!("401 expected") };
    let generated = refused.header("X-Request-ID").unwrap().to_string();
    assert!(generated.len() >= 32 && generated != "bad id\"x", "{generated}");
    let lines = || -> Vec<serde_json::Value> {
        let text = srv.log_text();
        text.lines()
            .filter_map(|l| l.find("{\"request_id\"").map(|i| &l[i..]))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let both = || {
        let all = lines();
        ["e2e-req-42", generated.as_str()].iter().all(|id| all.iter().any(|l| l["request_id"] == *id))
    };
    assert!(wait_until(Instant::now() + Duration::from_secs(10), both), "{}", srv.log_tail());
    let all = lines();
    let upload = all.iter().find(|l| l["request_id"] == "e2e-req-42").expect("the upload's line");
    assert_eq!(upload["tenant"], "e2e");
    assert_eq!(upload["dialect"], "tus");
    assert_eq!(upload["endpoint"], "/files/");
    assert_eq!(upload["status"], 201);
    assert_eq!(upload["bytes_in"], 3);
    assert!(upload["duration_ms"].is_u64() && upload["error"].is_null());
    let line = all
        .iter()
        .find(|l| l["request_id"] == generated.as_str())
        .unwrap_or_else(|| panic!("the refusal's line {generated}: {}", srv.log_tail()));
    assert_eq!(
        (line["status"].as_u64(), line["error"].as_str(), &line["tenant"]),
        (Some(401), Some("unauthorized"), &serde_json::Value::Null)
    );
    // a capability in the path, with the right method or the wrong one: never whole
    let capability = "c59f7e77-cf54-4d0c-ba8b-09ec0338925e";
    assert_eq!(status_of(ureq::get(&srv.url(&format!("/uploads/{capability}"))).call()), 404);
    assert_eq!(status_of(ureq::delete(&srv.url(&format!("/uploads/{capability}"))).call()), 405);
    let cut = || lines().iter().filter(|l| l["path"] == "/uploads/c59f…").count() >= 2;
    assert!(wait_until(Instant::now() + Duration::from_secs(10), cut), "{}", srv.log_tail());
    let log = srv.log_text();
    assert!(!log.contains(&basic_auth()) && !log.contains(PASSWORD), "no credential in the log");
    // (wrangler's own request lines, `[wrangler:info] GET /uploads/…`, are the runtime's)
    let ours = log.lines().filter(|l| !l.contains("[wrangler:info]")).collect::<Vec<_>>().join("\n");
    assert!(!ours.contains(capability), "no whole capability in the service's lines");
}
