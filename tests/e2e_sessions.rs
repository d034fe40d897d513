//! NGCP sessions end to end on workerd: the spec's order (session, file entry, content,
//! token, download by token) with 1 MiB and 64 MiB files; tokens bound to their file and
//! session; a 2 s session expiring; deleting a session; another tenant on every route.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

const MIB: usize = 1024 * 1024;

/// A request with curl and the test tenant's credentials (or `user`'s); (status, JSON body).
fn call(srv: &Server, method: &str, path: &str, user: Option<&str>, extra: &[&str]) -> (u16, Value) {
    let url = srv.url(path);
    let mut args = vec!["-X", method];
    if let Some(u) = user {
        args.extend(["--user", u]);
    }
    args.extend_from_slice(extra);
    args.push(&url);
    let (status, _, body) = curl(&args);
    let v = if body.is_empty() { Value::Null } else { json(&body) };
    (status, v)
}

fn me() -> String {
    format!("{USER}:{PASSWORD}")
}

fn ok(r: (u16, Value)) -> Value {
    assert_eq!(r.0, 200, "{}", r.1);
    r.1
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn the_session_flow_with_1_and_64_mib() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let u = me();
    let user = Some(u.as_str());
    let json_ct = ["-H", "Content-Type: application/json"];
    let s =
        ok(call(&srv, "POST", "/rtc/fileshare/sessions", user, &[&json_ct[..], &["-d", r#"{"ttl": 600}"#]].concat()));
    assert_eq!(s["ttl"], 600);
    let sid = id(&s);
    let listed = ok(call(&srv, "GET", "/rtc/fileshare/sessions", user, &[]));
    assert!(listed.as_array().unwrap().iter().any(|x| x["id"] == sid.as_str()), "listed at once");

    let mut tokens = Vec::new();
    for (len, multipart) in [(MIB, false), (64 * MIB, true)] {
        let name = format!("f{len}.bin");
        let (path, sha) = data_file(tmp.path(), &name, len);
        let entry = json!({"name": name, "mime_type": "application/octet-stream", "size": len}).to_string();
        let f =
            ok(call(&srv, "POST", &format!("/sessions/{sid}/files"), user, &[&json_ct[..], &["-d", &entry]].concat()));
        assert_eq!(f["state"], "created");
        let fid = id(&f);
        // listed at once after its creation: no eventual-consistency gap
        let files = ok(call(&srv, "GET", &format!("/sessions/{sid}/files"), user, &[]));
        assert!(files.as_array().unwrap().iter().any(|x| x["id"] == fid.as_str()));
        // no token before content
        assert_eq!(call(&srv, "POST", &format!("/sessions/{sid}/files/{fid}/tokens"), user, &[]).0, 409);
        let put = format!("/rtc/fileshare/sessions/{sid}/files/{fid}");
        let file_arg = format!("file=@{}", path.display());
        let up = if multipart {
            ok(call(&srv, "PUT", &put, user, &["--form", &file_arg]))
        } else {
            let data = format!("@{}", path.display());
            ok(call(&srv, "PUT", &put, user, &["-H", "Content-Type: application/octet-stream", "--data-binary", &data]))
        };
        assert_eq!((up["state"].as_str(), up["size"].as_u64()), (Some("uploaded"), Some(len as u64)));
        assert_eq!(up["sha256"], sha.as_str());
        assert_eq!(
            call(&srv, "PUT", &put, user, &["--data-binary", "again"]),
            (409, json!({"message": "content already stored"}))
        );
        let t = ok(call(&srv, "POST", &format!("/sessions/{sid}/files/{fid}/tokens"), user, &[]));
        assert_eq!((t["state"].as_str(), t["uploaded_id"].as_str()), (Some("created"), Some(fid.as_str())));
        let url = t["url"].as_str().unwrap().to_string();
        assert_eq!(url, srv.url(&format!("/sessions/{sid}/files/{fid}/tokens/{}", id(&t))));
        // the token is the only credential needed
        let (status, got, n) = get_sha256(&url);
        assert_eq!((status, got.as_str(), n), (200, sha.as_str(), len as u64));
        tokens.push((fid, id(&t), sha));
    }
    // a token of another file, or under another session, is refused
    let (f1, t1, _) = &tokens[0];
    let (f2, t2, _) = &tokens[1];
    let s2 = id(&ok(call(&srv, "POST", "/sessions", user, &[])));
    for path in [
        format!("/sessions/{sid}/files/{f1}/tokens/{t2}"),
        format!("/sessions/{sid}/files/{f2}/tokens/{t1}"),
        format!("/sessions/{s2}/files/{f1}/tokens/{t1}"),
        format!("/sessions/{sid}/files/{f1}/tokens/{}", "x".repeat(32)),
    ] {
        assert_eq!(call(&srv, "GET", &path, None, &[]), (404, json!({"message": "token not found"})), "{path}");
    }
    // its tenant finds a session file by digest; nobody else does
    let sha = &tokens[0].2;
    assert_eq!(get_sha256_auth(&srv.url(&format!("/api/blobs/{sha}"))).0, 200);
    assert_eq!(get_sha256(&srv.url(&format!("/api/blobs/{sha}"))).0, 404);

    // the second tenant, on every route of the session: 404, nothing leaks or changes
    let o = format!("{OTHER_USER}:{OTHER_PASSWORD}");
    let other = Some(o.as_str());
    for (m, path) in [
        ("GET", format!("/sessions/{sid}")),
        ("DELETE", format!("/sessions/{sid}")),
        ("POST", format!("/sessions/{sid}/files")),
        ("GET", format!("/sessions/{sid}/files")),
        ("PUT", format!("/sessions/{sid}/files/{f1}")),
        ("DELETE", format!("/sessions/{sid}/files/{f1}")),
        ("POST", format!("/sessions/{sid}/files/{f1}/tokens")),
    ] {
        let (status, body) =
            call(&srv, m, &path, other, &["-H", "Content-Type: application/json", "--data-binary", "{}"]);
        assert_eq!(status, 404, "{m} {path}: {body}");
    }
    let theirs = ok(call(&srv, "GET", "/sessions", other, &[]));
    assert!(theirs.as_array().unwrap().is_empty());
    assert_eq!(get_sha256(&srv.url(&format!("/sessions/{sid}/files/{f1}/tokens/{t1}"))).1, tokens[0].2, "unchanged");
}

#[test]
fn expiry_and_deletion_end_files_and_tokens() {
    let srv = Server::start();
    let u = me();
    let user = Some(u.as_str());
    let make = |ttl: &str| {
        let body = format!(r#"{{"ttl": {ttl}}}"#);
        let sid =
            id(&ok(call(&srv, "POST", "/sessions", user, &["-H", "Content-Type: application/json", "-d", &body])));
        let fid = id(&ok(call(&srv, "POST", &format!("/sessions/{sid}/files"), user, &[])));
        ok(call(&srv, "PUT", &format!("/sessions/{sid}/files/{fid}"), user, &["--data-binary", "session bytes"]));
        let tid = id(&ok(call(&srv, "POST", &format!("/sessions/{sid}/files/{fid}/tokens"), user, &[])));
        (sid, fid, tid)
    };
    // a 2 s session: after 3 s its token, its files and itself answer 410, and the sweep
    // deletes its bytes
    let blobs_before = srv.r2_blobs();
    let born = Instant::now();
    let (sid, fid, tid) = make("2");
    let token_url = srv.url(&format!("/sessions/{sid}/files/{fid}/tokens/{tid}"));
    assert_eq!(get_sha256(&token_url).0, 200);
    assert!(srv.r2_blobs() > blobs_before);
    let expired = || get_sha256(&token_url).0 != 200;
    assert!(wait_until(born + Duration::from_secs(10), expired), "a 2 s session still serves after 10 s");
    let expired = json!({"message": "session expired"});
    for (m, path) in [
        ("GET", format!("/sessions/{sid}/files/{fid}/tokens/{tid}")),
        ("GET", format!("/sessions/{sid}/files")),
        ("GET", format!("/sessions/{sid}")),
        ("POST", format!("/sessions/{sid}/files")),
    ] {
        let auth = if path.contains("/tokens/") { None } else { user };
        assert_eq!(call(&srv, m, &path, auth, &[]), (410, expired.clone()), "{m} {path}");
    }
    assert_eq!(srv.sweep_until_r2_blobs(blobs_before, 60), blobs_before, "its bytes are deleted");

    // deleting a session: its token and its files are refused afterwards
    let (sid, fid, tid) = make("600");
    assert_eq!(call(&srv, "DELETE", &format!("/sessions/{sid}"), user, &[]).0, 204);
    assert_eq!(call(&srv, "GET", &format!("/sessions/{sid}/files/{fid}/tokens/{tid}"), None, &[]).0, 404);
    assert_eq!(call(&srv, "GET", &format!("/sessions/{sid}/files"), user, &[]).0, 404);
    assert_eq!(call(&srv, "PUT", &format!("/sessions/{sid}/files/{fid}"), user, &["--data-binary", "x"]).0, 404);
    assert!(!ok(call(&srv, "GET", "/sessions", user, &[])).as_array().unwrap().iter().any(|s| s["id"] == sid.as_str()));
    assert_eq!(srv.wait_r2_blobs(blobs_before, 10), blobs_before, "and its bytes");
    // and deleting one file ends its token only
    let (sid, fid, tid) = make("600");
    let fid2 = id(&ok(call(&srv, "POST", &format!("/sessions/{sid}/files"), user, &[])));
    ok(call(&srv, "PUT", &format!("/sessions/{sid}/files/{fid2}"), user, &["--data-binary", "two"]));
    let tid2 = id(&ok(call(&srv, "POST", &format!("/sessions/{sid}/files/{fid2}/tokens"), user, &[])));
    assert_eq!(call(&srv, "DELETE", &format!("/sessions/{sid}/files/{fid}"), user, &[]).0, 204);
    assert_eq!(get_sha256(&srv.url(&format!("/sessions/{sid}/files/{fid}/tokens/{tid}"))).0, 404);
    assert_eq!(get_sha256(&srv.url(&format!("/sessions/{sid}/files/{fid2}/tokens/{tid2}"))).0, 200);
    // bad input: clear 400s
    assert_eq!(
        call(&srv, "POST", "/sessions", user, &["-H", "Content-Type: application/json", "-d", r#"{"ttl": -1}"#]).0,
        400
    );
    assert_eq!(
        call(&srv, "POST", "/sessions", user, &["-H", "Content-Type: application/json", "-d", "not json"]).0,
        400
    );
    // JSON only as JSON: curl's default form type (what a page elsewhere could post) is refused
    assert_eq!(call(&srv, "POST", "/sessions", user, &["-d", r#"{"ttl": 60}"#]).0, 415);
    assert_eq!(call(&srv, "POST", "/sessions", None, &[]).0, 401);
}
