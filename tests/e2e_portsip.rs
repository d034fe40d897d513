//! PortSIP blobs end to end on workerd: the seed's flow as written, wrong digest, wrong
//! token, append after complete, status of an unknown id, public download by digest.

mod support;

use sha2::{Digest, Sha256};
use support::*;

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn h(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn call(args: &[&str]) -> Answer {
    let (status, headers, body) = curl(args);
    Answer { status, headers, body }
}

/// `curl -X POST -H <header>... [--data-binary <data>] <url>`
fn post(url: &str, headers: &[&str], data: Option<&str>) -> Answer {
    let mut args = vec!["-X", "POST"];
    for h in headers {
        args.extend(["-H", h]);
    }
    if let Some(d) = data {
        args.extend(["--data-binary", d]);
    }
    args.push(url);
    call(&args)
}

const BEARER: &str = "Authorization: Bearer e2e-token-0123456789";
const OCTETS: &str = "Content-Type: application/octet-stream";

#[test]
fn seed_flow_and_failures() {
    let srv = Server::start();
    let base = srv.url("/api/blobs");
    let status_of = |id: &str| call(&["-H", BEARER, &format!("{base}/uploads/{id}/status")]);

    // POST /api/blobs/uploads  (202, id and token in headers, Range: 0-0, no body)
    let init = post(&format!("{base}/uploads?filename=call.wav"), &[BEARER, "Accept: */*"], None);
    assert_eq!(init.status, 202);
    assert!(init.body.is_empty());
    assert_eq!(init.h("range"), Some("0-0"));
    let id = init.h("portsip-upload-id").unwrap().to_string();
    let token = init.h("portsip-upload-token").unwrap().to_string();
    assert_eq!(id.len(), 36);
    let token_h = format!("PortSIP-Upload-Token: {token}");
    let append_url = format!("{base}/uploads/{id}/append");

    // POST .../append, Content-Type application/octet-stream, Content-Length 8: 203
    let append = post(&append_url, &[BEARER, &token_h, OCTETS], Some("\"binary\""));
    assert_eq!(append.status, 203);
    assert_eq!(append.h("range"), Some("0-7"));
    assert_eq!(append.h("portsip-upload-id"), Some(id.as_str()));

    // wrong token: refused, nothing changed
    let wrong = post(&append_url, &[BEARER, "PortSIP-Upload-Token: nope"], Some("xx"));
    assert_eq!(wrong.status, 403);
    assert_eq!(json(&wrong.body)["errors"][0]["code"], "UNKNOWN");
    let status = status_of(&id);
    assert_eq!(status.status, 204);
    assert_eq!(status.h("range"), Some("0-7"), "the wrong token changed nothing");
    assert_eq!(status.h("portsip-upload-token"), Some(token.as_str()));

    // complete with a final body and a wrong digest: VALIDATE_FAILED, upload left intact
    let whole = b"\"binary\"tail";
    let digest = hex::encode(Sha256::digest(whole));
    let complete_url = |query: &str| format!("{base}/uploads/{id}/complete{query}");
    let bad = post(&complete_url(&format!("?digest={}", "0".repeat(64))), &[BEARER, &token_h], Some("tail"));
    assert_eq!(bad.status, 400);
    assert_eq!(json(&bad.body)["errors"][0]["code"], "VALIDATE_FAILED");
    assert_eq!(status_of(&id).h("range"), Some("0-7"));

    // complete with the right digest (sha256: prefix accepted): 201 {"id"}
    let done = post(&complete_url(&format!("?digest=sha256:{digest}")), &[BEARER, &token_h, OCTETS], Some("tail"));
    assert_eq!(done.status, 201, "{}", String::from_utf8_lossy(&done.body));
    let blob_id = json(&done.body)["id"].as_str().unwrap().to_string();
    // the answer was lost and the client retries: the same answer
    let retry = post(&complete_url(&format!("?digest={digest}")), &[BEARER, &token_h], None);
    assert_eq!(retry.status, 201);
    assert_eq!(json(&retry.body)["id"], blob_id.as_str());

    // the upload id stops working: append after complete, status
    assert_eq!(post(&append_url, &[BEARER, &token_h], Some("x")).status, 404);
    assert_eq!(status_of(&id).status, 404);

    // GET /api/blobs/{digest}: public, immutable, attachment with the filename
    let dl = call(&[&format!("{base}/{digest}")]);
    assert_eq!(dl.status, 200);
    assert_eq!(dl.body, whole);
    assert_eq!(dl.h("cache-control"), Some("public, max-age=300"), "EDGESHARE_CACHE_MAX_AGE bounds it");
    assert_eq!(dl.h("content-disposition"), Some("attachment; filename=\"call.wav\""));
    assert_eq!(dl.h("content-type"), Some("application/octet-stream"));
    let by_id = call(&[&format!("{base}/{blob_id}")]);
    assert_eq!((by_id.status, by_id.body.as_slice()), (200, &whole[..]));
    assert_eq!(call(&[&format!("{base}/{}", "1".repeat(64))]).status, 404);

    // unknown ids, missing auth
    let unknown = "52e51422-573d-4fc9-b5c6-4a30058f5d71";
    assert_eq!(status_of(unknown).status, 404);
    assert_eq!(post(&format!("{base}/uploads/{unknown}/destroy"), &[BEARER], None).status, 404);
    let noauth = post(&format!("{base}/uploads"), &[], None);
    assert_eq!(noauth.status, 401);
    assert!(json(&noauth.body)["errors"][0]["message"].is_string());
}

#[test]
fn destroy_and_no_digest_and_large_blob() {
    let srv = Server::start();
    let base = srv.url("/api/blobs");
    let tmp = tempfile::tempdir().unwrap();

    let init = post(&format!("{base}/uploads"), &[BEARER], None);
    let id = init.h("portsip-upload-id").unwrap().to_string();
    assert_eq!(post(&format!("{base}/uploads/{id}/destroy"), &[BEARER], None).status, 204);
    assert_eq!(call(&["-H", BEARER, &format!("{base}/uploads/{id}/status")]).status, 404);

    // 12 MiB in three appends of 4 MiB (parts are re-cut to 5 MiB), completed without a digest
    let init = post(&format!("{base}/uploads?temporary=true"), &[BEARER], None);
    let id = init.h("portsip-upload-id").unwrap().to_string();
    let token_h = format!("PortSIP-Upload-Token: {}", init.h("portsip-upload-token").unwrap());
    let (path, sha) = data_file(tmp.path(), "blob", 12 * 1024 * 1024);
    let bytes = std::fs::read(&path).unwrap();
    for (i, chunk) in bytes.chunks(4 * 1024 * 1024).enumerate() {
        let p = tmp.path().join(format!("c{i}"));
        std::fs::write(&p, chunk).unwrap();
        let r = post(&format!("{base}/uploads/{id}/append"), &[BEARER, &token_h], Some(&format!("@{}", p.display())));
        assert_eq!(r.status, 203);
        assert_eq!(r.h("range").unwrap(), format!("0-{}", (i + 1) * 4 * 1024 * 1024 - 1));
    }
    assert_eq!(post(&format!("{base}/uploads/{id}/complete"), &[BEARER, &token_h], None).status, 201);
    let (status, got, n) = get_sha256(&format!("{base}/{sha}"));
    assert_eq!((status, n), (200, bytes.len() as u64));
    assert_eq!(got, sha);
}
