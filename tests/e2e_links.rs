//! Share links and the `/v1/` API end to end on workerd: files of several dialects listed and
//! linked; a download limit under 10 concurrent requests (exactly N succeed); expiry; the
//! password (right, wrong, as header, query and form; an unknown link answered at once;
//! backoff); revocation; another tenant on every route; deleting a file; the browser page; the
//! OpenAPI document.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

fn v1(srv: &Server, method: &str, path: &str, auth: &str, body: Option<Value>) -> (u16, Value) {
    let req = ureq::request(method, &srv.url(path)).set("Authorization", auth);
    read_json(match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(&b.to_string()),
        None => req.call(),
    })
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn other() -> String {
    format!("Bearer {OTHER_TOKEN}")
}

/// A tus upload in one request (creation with upload); its id.
fn tus_upload(srv: &Server, path: &std::path::Path) -> String {
    let len = std::fs::metadata(path).unwrap().len().to_string();
    let meta = format!("filename {}", base64_of("tus file.bin"));
    let (status, headers, _) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Authorization: {}", bearer()),
        "-H",
        "Tus-Resumable: 1.0.0",
        "-H",
        &format!("Upload-Length: {len}"),
        "-H",
        &format!("Upload-Metadata: {meta}"),
        "-H",
        "Content-Type: application/offset+octet-stream",
        "--data-binary",
        &format!("@{}", path.display()),
        &srv.url("/files/"),
    ]);
    assert_eq!(status, 201);
    header(&headers, "location").unwrap().rsplit('/').next().unwrap().to_string()
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn link(srv: &Server, id: &str, ask: Value) -> Value {
    let (status, l) = v1(srv, "POST", &format!("/v1/files/{id}/links"), &bearer(), Some(ask));
    assert_eq!(status, 201, "{l}");
    l
}

/// GET a link's URL as curl does: (status, sha256 of the body).
fn fetch(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = ureq::get(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = resp.status();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
    use sha2::Digest;
    (status, hex::encode(sha2::Sha256::digest(&body)))
}

#[test]
fn share_links_of_any_dialect_counted_expiring_protected_and_revoked() {
    let srv = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (small, small_sha) = data_file(dir.path(), "small.bin", 300_000);
    let (big, big_sha) = data_file(dir.path(), "big.bin", 6 * 1024 * 1024 + 5);
    let tus = tus_upload(&srv, &small);
    let (status, _, body) = curl(&[
        "--user",
        &format!("{USER}:{PASSWORD}"),
        "--form",
        &format!("file=@{}", big.display()),
        &srv.url("/rtc/fileshare/uploads"),
    ]);
    assert_eq!(status, 200);
    let ngcp = json(&body)["id"].as_str().unwrap().to_string();

    // the tenant's files, whatever their dialect; nobody else's
    let (status, list) = v1(&srv, "GET", "/v1/files", &bearer(), None);
    assert_eq!(status, 200, "{list}");
    let files = list["files"].as_array().unwrap();
    let find = |id: &str| files.iter().find(|f| f["id"] == id).unwrap_or_else(|| panic!("{id} in {list}")).clone();
    let (t, n) = (find(&tus), find(&ngcp));
    assert_eq!(
        (t["dialect"].as_str(), t["sha256"].as_str(), t["size"].as_u64()),
        (Some("tus"), Some(&*small_sha), Some(300_000))
    );
    assert_eq!(t["name"], "tus file.bin");
    assert_eq!((n["dialect"].as_str(), n["sha256"].as_str()), (Some("ngcp"), Some(&*big_sha)));
    assert!(n["expires_at"].is_string() && t["expires_at"].is_null());
    assert_eq!(list["cursor"], Value::Null);
    let (status, theirs) = v1(&srv, "GET", "/v1/files", &other(), None);
    assert_eq!((status, theirs["files"].as_array().unwrap().len()), (200, 0));
    assert_eq!(v1(&srv, "GET", "/v1/files", "Bearer wrong", None).0, 401);

    // at most 3 downloads, with 10 at once: exactly 3 get the bytes
    let l = link(&srv, &tus, json!({"max_downloads": 3}));
    assert_eq!((l["max_downloads"].as_u64(), l["downloads"].as_u64()), (Some(3), Some(0)));
    let url = l["url"].as_str().unwrap().to_string();
    assert_eq!(url, srv.url(&format!("/s/{}", l["token"].as_str().unwrap())));
    let results: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10).map(|_| s.spawn(|| fetch(&url, &[("Accept", "*/*")]))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(ok.len(), 3, "{results:?}");
    assert!(ok.iter().all(|(_, sha)| *sha == small_sha));
    assert_eq!(results.iter().filter(|(s, _)| *s == 410).count(), 7, "{results:?}");
    let (_, links) = v1(&srv, "GET", &format!("/v1/files/{tus}/links"), &bearer(), None);
    assert_eq!(links["links"][0]["downloads"], 3);
    assert_eq!(links["links"][0]["state"], "used_up", "listed as used up, not as live");

    // a multipart NGCP file through a link, with Range; its page for a browser
    let born = Instant::now();
    let l = link(&srv, &ngcp, json!({"expires_in": 2}));
    let url = l["url"].as_str().unwrap().to_string();
    assert_eq!(fetch(&url, &[]), (200, big_sha.clone()));
    let (status, headers, body) = curl(&["-H", "Range: bytes=0-9", &url]);
    assert_eq!((status, body.len(), header(&headers, "cache-control")), (206, 10, Some("private, no-cache")));
    let (status, headers, page) = curl(&["-H", "Accept: text/html,application/xhtml+xml", &url]);
    let page = String::from_utf8_lossy(&page);
    assert_eq!(status, 200);
    assert!(header(&headers, "content-security-policy").unwrap().contains("default-src 'none'"));
    assert!(page.contains("big.bin") && page.contains("<svg") && page.contains("?download=1"), "{page}");
    // the page did not count; it expires (asked with HEAD, which counts no download either)
    let expired = || curl(&["-I", &url]).0 != 200;
    assert!(wait_until(born + Duration::from_secs(10), expired), "a 2 s link still answers after 10 s");
    assert_eq!(fetch(&url, &[]).0, 410);

    // a password: none, wrong, right as header, query and form; an unknown link is 404 at
    // once (nothing hashed: 192-bit tokens need no hiding)
    let l = link(&srv, &tus, json!({"password": "s3 cret"}));
    assert_eq!(l["has_password"], true);
    let url = l["url"].as_str().unwrap().to_string();
    assert_eq!(fetch(&url, &[]).0, 401);
    let (ws, _, _) = curl(&["-H", "X-Share-Password: nope", &url]);
    assert_eq!(ws, 403);
    let (us, _, _) = curl(&["-H", "X-Share-Password: nope", &srv.url(&format!("/s/{}", "A".repeat(32)))]);
    assert_eq!(us, 404);
    assert_eq!(fetch(&url, &[("X-Share-Password", "s3 cret")]), (200, small_sha.clone()));
    assert_eq!(fetch(&format!("{url}?password=s3%20cret"), &[]), (200, small_sha.clone()));
    let (status, _, body) = curl(&["--data-urlencode", "password=s3 cret", &url]);
    assert_eq!((status, body.len()), (200, 300_000), "the page's form");
    // repeated wrong passwords are slowed down: 3 in a row are refused, then they must wait
    // (the host test checks the waits and that the right password waits too)
    let mut answers = Vec::new();
    for _ in 0..8 {
        let (status, headers, _) = curl(&["-H", "X-Share-Password: guess", &url]);
        answers.push(status);
        if status == 429 {
            let wait: u64 = header(&headers, "retry-after").expect("Retry-After").parse().unwrap();
            assert!((1..=300).contains(&wait), "{wait}");
            break;
        }
    }
    assert_eq!(answers[..3], [403, 403, 403], "{answers:?}");
    assert_eq!(answers.last(), Some(&429), "slowed down after 3 wrong passwords: {answers:?}");

    // revocation: by its tenant only
    let l = link(&srv, &tus, json!({}));
    let token = l["token"].as_str().unwrap();
    assert_eq!(v1(&srv, "DELETE", &format!("/v1/links/{token}"), &other(), None).0, 404);
    assert_eq!(fetch(l["url"].as_str().unwrap(), &[]).0, 200);
    assert_eq!(v1(&srv, "DELETE", &format!("/v1/links/{token}"), &bearer(), None).0, 204);
    assert_eq!(fetch(l["url"].as_str().unwrap(), &[]).0, 410);

    // another tenant on every route of a file
    for (method, path) in [
        ("POST", format!("/v1/files/{tus}/links")),
        ("GET", format!("/v1/files/{tus}/links")),
        ("DELETE", format!("/v1/files/{tus}")),
    ] {
        assert_eq!(v1(&srv, method, &path, &other(), Some(json!({}))).0, 404, "{method} {path}");
    }

    // deleting a file: its bytes, its links, its public share link, its listing
    let l = link(&srv, &ngcp, json!({}));
    assert_eq!(v1(&srv, "DELETE", &format!("/v1/files/{ngcp}"), &bearer(), None).0, 204);
    assert_eq!(fetch(l["url"].as_str().unwrap(), &[]).0, 410);
    assert_eq!(fetch(&srv.url(&format!("/uploads/{ngcp}")), &[]).0, 404);
    let (_, list) = v1(&srv, "GET", "/v1/files", &bearer(), None);
    assert!(list["files"].as_array().unwrap().iter().all(|f| f["id"] != ngcp.as_str()));
    assert_eq!(v1(&srv, "DELETE", &format!("/v1/files/{ngcp}"), &bearer(), None).0, 404);
    assert_eq!(
        fetch(&srv.url(&format!("/files/{tus}")), &[("Authorization", &bearer()), ("Tus-Resumable", "1.0.0")]).0,
        200
    );
}

#[test]
fn the_openapi_document_is_served() {
    let srv = Server::start();
    let (status, doc) = read_json(ureq::get(&srv.url("/openapi.json")).call());
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], srv.base);
    for (path, method) in
        [("/v1/files", "get"), ("/files/{id}", "patch"), ("/file/api/assets", "post"), ("/s/{token}", "get")]
    {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let (status, _, page) = curl(&[&srv.url("/file/doc")]);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("/docs#/OpenTera"));
}
