//! NGCP simple upload end to end on workerd: the seed's curl commands as written, sizes
//! from 0 B to 64 MiB, Range and conditional requests, TTL expiry, bad input.

mod support;

use std::time::{Duration, Instant};
use support::*;

const MIB: usize = 1024 * 1024;

fn creds() -> String {
    format!("{USER}:{PASSWORD}")
}

/// Uploads a file with curl, returns the upload JSON.
fn upload(srv: &Server, path: &std::path::Path, prefix: &str, extra: &[&str]) -> serde_json::Value {
    let form = format!("file=@{}", path.display());
    let url = srv.url(&format!("{prefix}/uploads"));
    let creds = creds();
    let mut args = vec!["-X", "POST", "--form", &form, "--user", &creds];
    args.extend_from_slice(extra);
    args.push(&url);
    let (status, _, body) = curl(&args);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    json(&body)
}

#[test]
fn seed_curl_commands_as_written() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let test_txt = tmp.path().join("test.txt");
    std::fs::write(&test_txt, b"hello from the seed\n").unwrap();
    let form = format!("file=@{}", test_txt.display());
    let url = srv.url("/rtc/fileshare/uploads");

    // curl -i -X POST --insecure --form file=@/tmp/test.txt --user 'myuser@example.com:mypass' .../rtc/fileshare/uploads
    let seed_user = format!("{SEED_USER}:{SEED_PASSWORD}");
    let (status, headers, body) = curl(&["-X", "POST", "--insecure", "--form", &form, "--user", &seed_user, &url]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(header(&headers, "content-type").unwrap().starts_with("application/json"));
    let up = json(&body);
    let id = up["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID v4 like the seed's: {id}");
    assert_eq!(up["name"], "test.txt");
    assert_eq!(up["size"], 20);
    assert_eq!(up["ttl"], 3600, "default upload ttl");
    assert_eq!(up["state"], "uploaded");
    let (status, headers, got) = curl(&[&srv.url(&format!("/rtc/fileshare/uploads/{id}"))]);
    assert_eq!(status, 200);
    assert_eq!(got, b"hello from the seed\n");
    assert_eq!(header(&headers, "content-disposition"), Some("attachment; filename=\"test.txt\""));
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));

    // curl -i -X POST --insecure --form file=@/tmp/test.txt .../uploads   (no user: 401)
    let (status, headers, body) = curl(&["-X", "POST", "--insecure", "--form", &form, &url]);
    assert_eq!(status, 401);
    assert_eq!(header(&headers, "www-authenticate"), Some("Basic realm=\"fileshare\""));
    assert_eq!(json(&body), serde_json::json!({"message": "unauthorized"}));

    // curl -i -X POST --insecure --user 'foo:bar' .../uploads   (no file: 400)
    let creds = creds();
    let (status, _, body) = curl(&["-X", "POST", "--insecure", "--user", &creds, &url]);
    assert_eq!(status, 400);
    assert_eq!(json(&body), serde_json::json!({"message": "file missing"}));

    // curl -i -X POST --insecure --form file=@/tmp/test.txt --form ttl=3600 --user 'foo:bar' .../uploads
    let (status, _, body) =
        curl(&["-X", "POST", "--insecure", "--form", &form, "--form", "ttl=3600", "--user", &creds, &url]);
    assert_eq!(status, 200);
    let up = json(&body);
    assert_eq!(up["ttl"], 3600);
    assert!(up["expires_at"].as_str().unwrap() > up["created_at"].as_str().unwrap());
}

#[test]
fn sizes_round_trip_with_their_sha256() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    for (i, &len) in [0, 1, MIB, 20 * MIB, 64 * MIB].iter().enumerate() {
        let (path, sha) = data_file(tmp.path(), &format!("f{len}.bin"), len);
        let prefix = if i % 2 == 0 { "" } else { "/rtc/fileshare" };
        let up = upload(&srv, &path, prefix, &[]);
        assert_eq!(up["size"], len as u64, "{len}");
        assert_eq!(up["sha256"], sha.as_str(), "{len}");
        let id = up["id"].as_str().unwrap();
        for p in ["", "/rtc/fileshare"] {
            let (status, got_sha, got_len) = get_sha256(&srv.url(&format!("{p}/uploads/{id}")));
            assert_eq!(status, 200, "{len}");
            assert_eq!(got_len, len as u64, "{len}");
            assert_eq!(got_sha, sha, "{len}");
        }
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn range_and_conditional_requests() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("résumé 2024.txt");
    std::fs::write(&path, b"0123456789").unwrap();
    let up = upload(&srv, &path, "", &[]);
    let url = srv.url(&format!("/uploads/{}", up["id"].as_str().unwrap()));
    let etag = format!("\"{}\"", up["sha256"].as_str().unwrap());

    let (status, h, body) = curl(&[&url]);
    assert_eq!(status, 200);
    assert_eq!(body, b"0123456789");
    assert_eq!(header(&h, "content-length"), Some("10"));
    assert_eq!(header(&h, "etag"), Some(etag.as_str()));
    assert_eq!(header(&h, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&h, "content-type"), Some("text/plain"));
    assert_eq!(
        header(&h, "content-disposition"),
        Some("attachment; filename=\"r_sum_ 2024.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.txt")
    );

    let (status, h, body) = curl(&["-H", "Range: bytes=2-4", &url]);
    assert_eq!((status, body.as_slice()), (206, &b"234"[..]));
    assert_eq!(header(&h, "content-range"), Some("bytes 2-4/10"));
    assert_eq!(header(&h, "content-length"), Some("3"));

    let (status, _, body) = curl(&["-H", "Range: bytes=-3", &url]);
    assert_eq!((status, body.as_slice()), (206, &b"789"[..]));
    let (status, _, body) = curl(&["-H", "Range: bytes=7-", &url]);
    assert_eq!((status, body.as_slice()), (206, &b"789"[..]));

    let (status, h, _) = curl(&["-H", "Range: bytes=10-", &url]);
    assert_eq!(status, 416);
    assert_eq!(header(&h, "content-range"), Some("bytes */10"));

    let inm = format!("If-None-Match: {etag}");
    let (status, h, body) = curl(&["-H", &inm, &url]);
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(header(&h, "etag"), Some(etag.as_str()));
    let (status, _, _) = curl(&["-H", "If-None-Match: \"other\"", &url]);
    assert_eq!(status, 200);

    let if_range = format!("If-Range: {etag}");
    let (status, _, body) = curl(&["-H", "Range: bytes=0-0", "-H", &if_range, &url]);
    assert_eq!((status, body.as_slice()), (206, &b"0"[..]));
    let (status, _, body) = curl(&["-H", "Range: bytes=0-0", "-H", "If-Range: \"stale\"", &url]);
    assert_eq!((status, body.as_slice()), (200, &b"0123456789"[..]));

    let (status, h, body) = curl(&["-I", &url]);
    assert_eq!(status, 200);
    assert!(body.is_empty());
    assert_eq!(header(&h, "content-length"), Some("10"));
    assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"));
}

#[test]
fn ttl_two_seconds_then_410() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let (path, _) = data_file(tmp.path(), "short.bin", 1000);
    let born = Instant::now();
    let up = upload(&srv, &path, "/rtc/fileshare", &["--form", "ttl=2"]);
    assert_eq!(up["ttl"], 2);
    let url = srv.url(&format!("/rtc/fileshare/uploads/{}", up["id"].as_str().unwrap()));
    assert_eq!(curl(&[&url]).0, 200);
    assert!(wait_until(born + Duration::from_secs(10), || curl(&[&url]).0 != 200), "still served 10 s after a 2 s TTL");
    let (status, h, body) = curl(&[&url]);
    assert_eq!(status, 410);
    assert!(header(&h, "content-type").unwrap().starts_with("application/json"));
    assert_eq!(body, br#"{"message":"upload expired"}"#);
    // the scheduled sweep deletes the bytes after expiry; the tombstone stays to answer 410
    assert_eq!(srv.sweep_until_r2_blobs(0, 20), 0, "the expired file's bytes are gone from R2");
    let (status, _, body) = curl(&[&url]);
    assert_eq!((status, body.as_slice()), (410, &br#"{"message":"upload expired"}"#[..]));
    // ?ttl= works too
    let up = upload(&srv, &path, "", &[]);
    assert_eq!(up["ttl"], 3600);
    let form = format!("file=@{}", path.display());
    let creds = creds();
    let (status, _, body) = curl(&["-X", "POST", "--form", &form, "--user", &creds, &srv.url("/uploads?ttl=120")]);
    assert_eq!(status, 200);
    assert_eq!(json(&body)["ttl"], 120);
}

#[test]
fn bad_input_gets_documented_errors() {
    let srv = Server::start_with(&[("EDGESHARE_MAX_FILE_SIZE", "1048576")]);
    let tmp = tempfile::tempdir().unwrap();
    let (small, _) = data_file(tmp.path(), "small.bin", 100);
    let form = format!("file=@{}", small.display());
    let url = srv.url("/uploads");
    let creds = creds();

    let (status, h, body) = curl(&["-X", "POST", "--form", &form, "--user", "e2e-user:wrong", &url]);
    assert_eq!(status, 401);
    assert!(header(&h, "www-authenticate").is_some());
    assert_eq!(json(&body)["message"], "unauthorized");

    // refused before the body is read: the body is drained so the client gets the answer
    let (big, _) = data_file(tmp.path(), "big.bin", 2 * 1024 * 1024);
    let big_form = format!("file=@{}", big.display());
    for _ in 0..3 {
        let (status, _, _) = curl(&["-X", "POST", "--form", &big_form, "--user", "e2e-user:wrong", &url]);
        assert_eq!(status, 401);
    }

    let bearer = format!("Authorization: Bearer {TOKEN}");
    let (status, _, _) = curl(&["-X", "POST", "--form", &form, "-H", &bearer, &url]);
    assert_eq!(status, 200, "the tenant's bearer token works too");

    for bad in ["ttl=0", "ttl=-1", "ttl=abc", "ttl=1.5"] {
        let (status, _, body) = curl(&["-X", "POST", "--form", &form, "--form", bad, "--user", &creds, &url]);
        assert_eq!(status, 400, "{bad}");
        assert!(json(&body)["message"].as_str().unwrap().contains("ttl"), "{bad}");
    }

    let (status, _, body) = curl(&["-X", "POST", "--form", "other=1", "--user", &creds, &url]);
    assert_eq!((status, json(&body)), (400, serde_json::json!({"message": "file missing"})));
    let (status, _, body) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: multipart/form-data; boundary=x",
        "--data-binary",
        "garbage",
        "--user",
        &creds,
        &url,
    ]);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(json(&body)["message"].is_string());

    let (status, _, body) = curl(&["-X", "POST", "--form", &big_form, "--user", &creds, &url]);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert!(json(&body)["message"].as_str().unwrap().contains("too large"));
    // chunked, so no Content-Length to refuse early: the stream itself is cut off
    let (status, _, body) =
        curl(&["-X", "POST", "-H", "Transfer-Encoding: chunked", "--form", &big_form, "--user", &creds, &url]);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));

    let (status, _, body) = curl(&[&srv.url("/uploads/88e5905d-5d96-4750-ab3d-77a1ed26f569")]);
    assert_eq!((status, json(&body)), (404, serde_json::json!({"message": "upload not found"})));
    let (status, _, body) = curl(&[&srv.url("/uploads/not-a-uuid")]);
    assert_eq!((status, json(&body)), (404, serde_json::json!({"message": "upload not found"})));
    let (status, h, body) = curl(&[&srv.url("/uploads")]);
    assert_eq!(status, 405);
    assert_eq!(header(&h, "allow"), Some("POST"));
    assert!(json(&body)["message"].is_string());
    let (status, _, body) = curl(&[&srv.url("/nowhere")]);
    assert_eq!(status, 404);
    assert!(json(&body)["message"].is_string());
}
