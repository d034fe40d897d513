//! Twake company files end to end on workerd: a 64 MiB file in 13 chunks sent shuffled, 5 at
//! a time, one twice (staged); a file in chunks of a multiple of the part size, said as
//! Twake's client says it, straight into R2 parts, its digest known soon after; thumbnails of a PNG and a JPEG; a 20,000 × 20,000 PNG getting `error`
//! while the worker keeps serving; delete; a JWT of another secret; another company's path;
//! another tenant on every route.

mod support;

use std::sync::{Arc, Mutex};

use edgeshare::engine::jwt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::*;

const MIB: usize = 1024 * 1024;
const PREFIX: &str = "/internal/services/files/v1";
const CID: &str = "0f8e0b5e-1a2b-4c3d-8e9f-001122334455";

fn bearer(secret: &str, sub: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // as Twake mints its access tokens
    let claims = json!({"type": "access", "sub": sub, "email": "u@example.com", "iat": now - 600, "nbf": now - 600,
                        "exp": now + 3600});
    format!("Bearer {}", jwt::sign(claims.as_object().unwrap(), secret.as_bytes()))
}

/// A multipart body as resumable.js sends a chunk: its parameters as form fields too.
fn chunk_body(name: &str, mime: &str, data: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--RJS\r\nContent-Disposition: form-data; name=\"resumableChunkNumber\"\r\n\r\n1\r\n\
         --RJS\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(data);
    b.extend_from_slice(b"\r\n--RJS--\r\n");
    b
}

fn post(url: &str, auth: &str, body: &[u8]) -> (u16, Value) {
    let req = ureq::post(url).set("Authorization", auth);
    let r = if body.is_empty() {
        req.set("Content-Type", "application/json").send_bytes(b"")
    } else {
        req.set("Content-Type", "multipart/form-data; boundary=RJS").send_bytes(body)
    };
    read_json(r)
}

fn get(url: &str, auth: Option<&str>) -> (u16, Value) {
    let mut req = ureq::get(url);
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    read_json(req.call())
}

fn image_bytes(format: image::ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 255) as u8, (y % 255) as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), format).unwrap();
    out
}

/// A valid 20,000 × 20,000 one-bit greyscale PNG of a few hundred KiB, made by Python's zlib.
fn huge_png(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("huge.png");
    let script = r#"
import struct, sys, zlib
w = h = 20000
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
z = zlib.compressobj(9)
row = b'\x00' + b'\x00' * ((w + 7) // 8)
idat = b''.join(z.compress(row) for _ in range(h)) + z.flush()
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0)) + chunk(b'IDAT', idat) + chunk(b'IEND', b'')
open(sys.argv[1], 'wb').write(png)
"#;
    let out = std::process::Command::new("python3").args(["-c", script]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(path).unwrap()
}

#[test]
fn a_64_mib_file_in_13_shuffled_parallel_chunks() {
    let srv = Server::start();
    let me = bearer(JWT_SECRET, "user-1");
    let size = 64 * MIB;
    let data: Arc<Vec<u8>> = Arc::new((0..size).map(|i| ((i * 2654435761usize) >> 13) as u8).collect());
    let want = hex::encode(Sha256::digest(&*data));
    // resumable.js's cut: 13 chunks of floor(size / 13) bytes, the rest to the last
    let c = size / 13;
    let files = srv.url(&format!("{PREFIX}/companies/{CID}/files"));
    let (status, init) =
        post(&format!("{files}?filename=big.bin&type=application/octet-stream&total_size={size}"), &me, b"");
    assert_eq!(status, 200, "{init}");
    assert_eq!(init["resource"]["metadata"], Value::Null);
    let id = init["resource"]["id"].as_str().unwrap().to_string();
    // shuffled, chunk 6 twice, 5 at a time
    let order = Arc::new(Mutex::new(vec![9usize, 2, 13, 6, 1, 11, 4, 7, 12, 6, 3, 10, 5, 8]));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..5)
        .map(|_| {
            let (order, statuses, data, me, files, id) =
                (order.clone(), statuses.clone(), data.clone(), me.clone(), files.clone(), id.clone());
            std::thread::spawn(move || loop {
                let Some(k) = order.lock().unwrap().pop() else { return };
                let bytes = if k == 13 { &data[12 * c..] } else { &data[(k - 1) * c..k * c] };
                let q = format!("resumableChunkNumber={k}&resumableTotalChunks=13&resumableTotalSize={size}&resumableFilename=big.bin&resumableCurrentChunkSize={}", bytes.len());
                let (status, body) = post(&format!("{files}/{id}?{q}"), &me, &chunk_body("blob", "application/octet-stream", bytes));
                statuses.lock().unwrap().push((k, status, body["resource"]["upload_data"].clone()));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let statuses = statuses.lock().unwrap();
    assert!(statuses.iter().all(|(_, s, _)| *s == 200), "{statuses:?}");
    let (status, got, len) = get_sha256(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}/download")));
    assert_eq!((status, got.as_str(), len), (200, want.as_str(), size as u64));
    let (status, meta) = get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}")), Some(&me));
    assert_eq!(status, 200);
    assert_eq!(meta["resource"]["upload_data"], json!({"size": size, "chunks": 13}));
    assert_eq!(meta["resource"]["metadata"]["name"], "big.bin");
    // delete: {"status":"success"}, then 404, and its bytes leave the local R2 store
    let (status, body) = read_json(
        ureq::delete(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}"))).set("Authorization", &me).call(),
    );
    assert_eq!((status, body), (200, json!({"status": "success"})));
    assert_eq!(get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}/download")), None).0, 404);
    assert_eq!(srv.wait_r2_blobs(0, 10), 0, "no chunk, part or object left");
}

/// Twake's web client's cut at a smaller scale: chunks of 10 MiB (2 × 5 MiB parts), the last
/// taking the rest, `resumableChunkSize` said, all in flight at once: each chunk straight
/// into its own R2 parts (no staging object), the file whole at once, its sha256 in the
/// tenant's listing soon after the last answer.
#[test]
fn chunks_of_a_part_multiple_go_straight_into_r2_parts() {
    let srv = Server::start();
    let me = bearer(JWT_SECRET, "user-1");
    let c = 10 * MIB;
    let size = 2 * c + 7 * MIB + 3;
    let data: Arc<Vec<u8>> = Arc::new((0..size).map(|i| ((i * 2654435761usize) >> 11) as u8).collect());
    let want = hex::encode(Sha256::digest(&*data));
    let files = srv.url(&format!("{PREFIX}/companies/{CID}/files"));
    let (status, init) = post(&format!("{files}?filename=d.bin&type=&total_size={size}"), &me, b"");
    assert_eq!(status, 200, "{init}");
    let id = init["resource"]["id"].as_str().unwrap().to_string();
    let threads: Vec<_> = [3usize, 1, 2]
        .into_iter()
        .map(|k| {
            let (data, me, files, id) = (data.clone(), me.clone(), files.clone(), id.clone());
            std::thread::spawn(move || {
                let bytes = if k == 3 { &data[2 * c..] } else { &data[(k - 1) * c..k * c] };
                let q = format!("resumableChunkNumber={k}&resumableChunkSize={c}&resumableCurrentChunkSize={}&resumableTotalSize={size}&resumableType=&resumableIdentifier={size}-dbin&resumableFilename=d.bin&resumableRelativePath=d.bin&resumableTotalChunks=3", bytes.len());
                post(&format!("{files}/{id}?{q}"), &me, &chunk_body("d.bin", "application/octet-stream", bytes)).0
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(statuses, vec![200, 200, 200]);
    let (status, got, len) = get_sha256(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}/download")));
    assert_eq!((status, got.as_str(), len), (200, want.as_str(), size as u64));
    // its digest, read after the answer, in the tenant's listing
    let listed = || {
        let (status, body) =
            read_json(ureq::get(&srv.url("/v1/files")).set("Authorization", &format!("Bearer {TOKEN}")).call());
        assert_eq!(status, 200, "{body}");
        body["files"].as_array().unwrap().iter().find(|f| f["id"] == id.as_str()).cloned().expect("listed")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    assert!(wait_until(deadline, || listed()["sha256"] == want.as_str()), "digest: {}", listed());
    let (status, _) = read_json(
        ureq::delete(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}"))).set("Authorization", &me).call(),
    );
    assert_eq!(status, 200);
    assert_eq!(srv.wait_r2_blobs(0, 10), 0, "nothing left");
}

#[test]
fn thumbnails_refusals_and_other_tenants() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let me = bearer(JWT_SECRET, "user-1");
    let files = srv.url(&format!("{PREFIX}/companies/{CID}/files"));
    for (format, mime, name) in
        [(image::ImageFormat::Png, "image/png", "p.png"), (image::ImageFormat::Jpeg, "image/jpeg", "j.jpg")]
    {
        let img = image_bytes(format, 1200, 900);
        let (status, r) = post(&format!("{files}?thumbnail_sync=1"), &me, &chunk_body(name, mime, &img));
        assert_eq!(status, 200, "{r}");
        let r = &r["resource"];
        assert_eq!(r["metadata"]["thumbnails_status"], "done", "{mime}");
        let url = srv.url(r["thumbnails"][0]["url"].as_str().unwrap());
        let resp = ureq::get(&url).call().unwrap();
        assert_eq!(resp.header("content-type"), Some("image/png"));
        let mut thumb = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut thumb).unwrap();
        let t = image::load_from_memory(&thumb).unwrap();
        assert_eq!((t.width(), t.height()), (320, 240), "{mime}");
        let id = r["id"].as_str().unwrap();
        let (_, sha, _) = get_sha256(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}/download")));
        assert_eq!(sha, hex::encode(Sha256::digest(&img)));
    }
    // a small file of a huge picture: `error`, and the worker keeps serving
    let huge = huge_png(tmp.path());
    assert!(huge.len() < 4 * MIB, "{} bytes", huge.len());
    let (status, r) = post(&format!("{files}?thumbnail_sync=1"), &me, &chunk_body("huge.png", "image/png", &huge));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["resource"]["metadata"]["thumbnails_status"], "error");
    let id = r["resource"]["id"].as_str().unwrap().to_string();
    assert_eq!(get(&srv.url("/healthz"), None).0, 200);
    let (status, meta) = get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}")), Some(&me));
    assert_eq!((status, meta["resource"]["metadata"]["thumbnails_status"].as_str()), (200, Some("error")));

    // a JWT signed with another secret: 401 in fastify's shape
    let wrong = bearer("not-this-tenants-secret-0123", "user-1");
    let (status, body) = get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}")), Some(&wrong));
    assert_eq!(
        (status, body),
        (401, json!({"statusCode": 401, "error": "Unauthorized", "message": "Bad credentials"}))
    );
    // under another company's path: 404, open routes included
    let other_cid = "99999999-1a2b-4c3d-8e9f-001122334455";
    assert_eq!(get(&srv.url(&format!("{PREFIX}/companies/{other_cid}/files/{id}")), Some(&me)).0, 404);
    assert_eq!(get(&srv.url(&format!("{PREFIX}/companies/{other_cid}/files/{id}/download")), None).0, 404);
    // the second tenant, with a valid JWT of its own, on every route: 404, nothing changes
    let other = bearer(OTHER_JWT_SECRET, "user-2");
    assert_eq!(get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}")), Some(&other)).0, 404);
    assert_eq!(get(&srv.url(&format!("{PREFIX}/{CID}/files/{id}")), Some(&other)).0, 404);
    let chunk = format!("{files}/{id}?chunk_number=1&total_chunks=1");
    assert_eq!(post(&chunk, &other, &chunk_body("x", "x/y", b"x")).0, 404);
    let del =
        ureq::delete(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}"))).set("Authorization", &other).call();
    assert_eq!(read_json(del).0, 404);
    let (_, sha, _) = get_sha256(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}/download")));
    assert_eq!(sha, hex::encode(Sha256::digest(&huge)), "unchanged");
    // and a tus or NGCP file is no Twake file at the open download route
    let (_, up) = {
        let r = ureq::post(&srv.url("/files/"))
            .set("Authorization", &basic_auth())
            .set("Tus-Resumable", "1.0.0")
            .set("Upload-Length", "3")
            .set("Content-Type", "application/offset+octet-stream")
            .send_bytes(b"tus");
        let resp = r.unwrap();
        (resp.status(), resp.header("location").unwrap().to_string())
    };
    let tus_id = up.rsplit('/').next().unwrap();
    assert_eq!(get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{tus_id}/download")), None).0, 404);
}

/// A Twake web client on another origin than its API: the preflight of its init, the init as
/// it sends it (`'{}'` as `text/plain;charset=UTF-8`, the name as the browser leaves it in the
/// query), a chunk, the download, an error: each with `Access-Control-Allow-Origin: *`.
#[test]
fn a_client_on_another_origin() {
    let srv = Server::start();
    let me = bearer(JWT_SECRET, "user-1");
    let raw = "r%C3%A9sum%C3%A9%2050%%20(1).txt";
    let init = srv.url(&format!("{PREFIX}/companies/{CID}/files?filename={raw}&type=text/plain&total_size=10"));
    let origin = "Origin: https://web.twake.example";
    let (status, headers, _) = curl(&[
        "-X",
        "OPTIONS",
        "-H",
        origin,
        "-H",
        "Access-Control-Request-Method: POST",
        "-H",
        "Access-Control-Request-Headers: authorization,content-type",
        &init,
    ]);
    assert_eq!(status, 204, "{headers:?}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&headers, "access-control-allow-methods"), Some("POST, OPTIONS"));
    assert_eq!(header(&headers, "access-control-allow-headers"), Some("authorization,content-type"));
    let auth = format!("Authorization: {me}");
    let (status, headers, body) = curl(&[
        "-X",
        "POST",
        "-H",
        origin,
        "-H",
        &auth,
        "-H",
        "Content-Type: text/plain;charset=UTF-8",
        "--data-binary",
        "{}",
        &init,
    ]);
    assert_eq!((status, header(&headers, "access-control-allow-origin")), (200, Some("*")));
    let id = json(&body)["resource"]["id"].as_str().unwrap().to_string();
    let q = format!("resumableChunkNumber=1&resumableTotalChunks=1&resumableTotalSize=10&resumableFilename={raw}");
    let r = ureq::post(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}?{q}")))
        .set("Authorization", &me)
        .set("Origin", "https://web.twake.example")
        .set("Content-Type", "multipart/form-data; boundary=RJS")
        .send_bytes(&chunk_body("blob", "text/plain", b"0123456789"))
        .unwrap();
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let (_, file) = read_json(Ok(r));
    assert_eq!(file["resource"]["metadata"]["name"], "résumé 50% (1).txt");
    let dl = ureq::get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}/download"))).call().unwrap();
    assert_eq!(dl.header("access-control-allow-origin"), Some("*"));
    assert!(dl.header("access-control-expose-headers").unwrap_or("").contains("Content-Disposition"));
    let e =
        ureq::get(&srv.url(&format!("{PREFIX}/companies/{CID}/files/{id}"))).set("Authorization", "Bearer x").call();
    match e {
        Err(ureq::Error::Status(401, r)) => assert_eq!(r.header("access-control-allow-origin"), Some("*")),
        other => panic!("{other:?}"),
    }
}
