//! OpenTera FileTransferService end to end on workerd: the seed's Python `requests` example
//! run as written (only the URL, the token and the file path filled in), then download and
//! delete with the access token it returned; refused tokens; another tenant on every route.

mod support;

use std::process::Command;

use edgeshare::dialect::opentera::{access_token, static_uuid};
use edgeshare::engine::jwt;
use serde_json::{json, Value};
use support::*;

const MIB: usize = 1024 * 1024;
const PARTICIPANT: &str = "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21";

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// An identity token as OpenTera's server issues one.
fn identity(secret: &str, claim: &str, uuid: &str) -> String {
    let now = now_ms() / 1000;
    let claims = json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, claim: uuid});
    jwt::sign(claims.as_object().unwrap(), secret.as_bytes())
}

/// Runs the seed's script with the placeholders filled in; returns what it printed.
fn seed_upload(srv: &Server, token: &str, path: &std::path::Path) -> Value {
    let script = std::fs::read_to_string(root().join("tests/opentera/seed_upload.py")).unwrap();
    let script = script
        .replace("URL of the server with the FileTransfer API", &srv.url("/file/api/assets"))
        .replace("{Previously obtained token}", token)
        .replace("PATH to file", &path.display().to_string());
    let file = path.with_extension("py");
    std::fs::write(&file, script).unwrap();
    let out = Command::new(root().join(".venv/bin/python")).arg(&file).output().expect("run .venv/bin/python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json(&out.stdout)
}

fn send(method: &str, url: &str, auth: Option<&str>) -> (u16, Value) {
    let mut req = ureq::request(method, url);
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"), "{method} {url}");
    let status = resp.status();
    let body = resp.into_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

#[test]
fn the_seed_example_then_download_and_delete() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let (path, sha) = data_file(tmp.path(), "report.zip", 3 * MIB + 17);

    // with a static token, as a participant's device would
    let asset = seed_upload(&srv, OPENTERA_STATIC, &path);
    assert_eq!(asset["asset_name"], "Asset Name");
    assert_eq!(asset["id_session"], "Session number");
    assert_eq!(asset["asset_original_filename"], "filename");
    assert_eq!(asset["asset_file_size"], 3 * MIB + 17);
    assert_eq!(asset["asset_url"], srv.url("/file/api/assets"));
    assert_eq!(asset["asset_infos_url"], srv.url("/file/api/assets/infos"));
    assert!(asset["id_asset"].as_u64().is_some());
    let uuid = asset["asset_uuid"].as_str().unwrap();
    let token = asset["access_token"].as_str().unwrap();

    // download and delete need a dynamic token of the same requester
    let me = format!("OpenTera {}", identity(JWT_SECRET, "participant_uuid", &static_uuid(OPENTERA_STATIC)));
    let dl = format!("{}?asset_uuid={uuid}&access_token={token}", asset["asset_url"].as_str().unwrap());
    assert_eq!(send("GET", &dl, Some(&format!("OpenTera {OPENTERA_STATIC}"))), (403, json!("Forbidden")));
    let (status, got, len) = get_sha256_with(&dl, Some(&me));
    assert_eq!((status, got.as_str(), len), (200, sha.as_str(), 3 * MIB as u64 + 17));
    let resp = ureq::get(&dl).set("Authorization", &me).call().unwrap();
    assert!(resp.header("content-disposition").unwrap().contains("filename=\"filename\""));
    let infos = format!("{}?asset_uuid={uuid}&access_token={token}", asset["asset_infos_url"].as_str().unwrap());
    assert_eq!(send("GET", &infos, Some(&me)).1["asset_file_size"], 3 * MIB + 17);
    let del = format!("{}?uuid={uuid}&access_token={token}", asset["asset_url"].as_str().unwrap());
    assert_eq!(send("DELETE", &del, Some(&me)), (200, json!("")));
    assert_eq!(send("GET", &dl, Some(&me)), (404, json!("No asset found")));

    // with a dynamic token (what OpenTera's login gives), the same script
    let user = identity(JWT_SECRET, "user_uuid", PARTICIPANT);
    let asset = seed_upload(&srv, &user, &path);
    let (uuid, token) = (asset["asset_uuid"].as_str().unwrap(), asset["access_token"].as_str().unwrap());
    let dl = srv.url(&format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"));
    let auth = format!("OpenTera {user}");
    assert_eq!(get_sha256_with(&dl, Some(&auth)).1, sha);
    // ?token= works as well as the header
    assert_eq!(get_sha256(&format!("{dl}&token={user}")).1, sha);

    // refused: expired, tampered, another requester's access token; a JWT of another secret
    let expired = access_token(JWT_SECRET.as_bytes(), &[uuid], PARTICIPANT, now_ms() - 1_801_000);
    let denied = (403, json!("Access denied to asset"));
    let at = |t: &str| srv.url(&format!("/file/api/assets?asset_uuid={uuid}&access_token={t}"));
    assert_eq!(send("GET", &at(&expired), Some(&auth)), denied);
    let mut tampered = token.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(send("GET", &at(&tampered), Some(&auth)), denied);
    let someone = format!("OpenTera {}", identity(JWT_SECRET, "user_uuid", "11111111-2222-4333-8444-555555555555"));
    assert_eq!(send("GET", &at(token), Some(&someone)), denied);
    let wrong_secret = format!("OpenTera {}", identity("not-the-tenant-secret-0123456789", "user_uuid", PARTICIPANT));
    assert_eq!(send("GET", &at(token), Some(&wrong_secret)), (403, json!("Forbidden")));
    assert_eq!(send("GET", &at(token), None), (403, json!("Forbidden")));
    assert_eq!(send("GET", &at(token), Some(&format!("Bearer {user}"))), (403, json!("Forbidden")));
    assert_eq!(send("DELETE", &srv.url("/file/api/assets/infos"), Some(&auth)).0, 405);
    // still there for its owner
    assert_eq!(get_sha256_with(&dl, Some(&auth)).1, sha);
}

/// The second tenant, with a valid identity of its own, on every OpenTera route: 403.
#[test]
fn another_tenant_is_refused_everywhere() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let (path, sha) = data_file(tmp.path(), "a.bin", 1000);
    let user = identity(JWT_SECRET, "user_uuid", PARTICIPANT);
    let asset = seed_upload(&srv, &user, &path);
    let (uuid, token) = (asset["asset_uuid"].as_str().unwrap(), asset["access_token"].as_str().unwrap());
    let other = format!("OpenTera {}", identity(OTHER_JWT_SECRET, "user_uuid", PARTICIPANT));
    for (m, path) in [
        ("GET", format!("/file/api/assets?asset_uuid={uuid}&access_token={token}")),
        ("HEAD", format!("/file/api/assets?asset_uuid={uuid}&access_token={token}")),
        ("GET", format!("/file/api/assets/infos?asset_uuid={uuid}&access_token={token}")),
        ("DELETE", format!("/file/api/assets?uuid={uuid}&access_token={token}")),
    ] {
        let mut req = ureq::request(m, &srv.url(&path)).set("Authorization", &other);
        req = req.set("Accept", "*/*");
        assert_eq!(status_of(req.call()), 403, "{m} {path}");
    }
    let rename = json!({"file_asset": {"asset_uuid": uuid, "access_token": token, "asset_original_filename": "x"}});
    let r =
        ureq::post(&srv.url("/file/api/assets/infos")).set("Authorization", &other).send_string(&rename.to_string());
    assert_eq!(status_of(r), 403);
    // its own access token, signed with its own secret, reaches only its own files
    let forged = access_token(OTHER_JWT_SECRET.as_bytes(), &[uuid], PARTICIPANT, now_ms());
    let r = ureq::get(&srv.url(&format!("/file/api/assets?asset_uuid={uuid}&access_token={forged}")))
        .set("Authorization", &other)
        .call();
    assert_eq!(status_of(r), 404);
    let dl = srv.url(&format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"));
    assert_eq!(get_sha256_with(&dl, Some(&format!("OpenTera {user}"))).1, sha, "unchanged");
    let (status, _, body) = curl(&[&srv.url("/file/doc")]);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("/file/api/assets"));
    assert_eq!(send("GET", &srv.url("/file/api/swagger.json"), None).1["swagger"], "2.0");
}

/// The tokens OpenTera's own server issues: a device's carries no `exp`; the access tokens
/// of its `/api/*/assets?with_urls=true` name one asset as a string; and its clients' other
/// habits: another `Authorization` scheme beside `?token=`, `POST .../infos` listing an asset
/// not held here, a rename without `asset_original_filename`.
#[test]
fn tokens_and_habits_of_opentera_s_own_server() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let (path, sha) = data_file(tmp.path(), "d.bin", 5000);
    let device = jwt::sign(
        json!({"iss": "TeraServer", "jti": "8c2d1f0e-3b4a-4c5d-8e6f-7a8b9c0d1e2f", "device_uuid": PARTICIPANT,
               "id_device": 4})
        .as_object()
        .unwrap(),
        JWT_SECRET.as_bytes(),
    );
    let auth = format!("OpenTera {device}");
    let (status, body) = send("GET", &srv.url("/file/api/assets"), Some(&auth));
    assert_eq!((status, body["message"].as_str()), (400, Some("Input payload validation failed")), "{body}");
    let asset = seed_upload(&srv, &device, &path);
    assert_eq!(asset["id_device"], 4, "{asset}");
    let uuid = asset["asset_uuid"].as_str().unwrap();
    let now = now_ms() / 1000;
    let minted = jwt::sign(
        json!({"iat": now, "exp": now + 1800, "iss": "TeraServer", "asset_uuids": uuid, "requester_uuid": PARTICIPANT})
            .as_object()
            .unwrap(),
        JWT_SECRET.as_bytes(),
    );
    let dl = srv.url(&format!("/file/api/assets?asset_uuid={uuid}&access_token={minted}"));
    assert_eq!(get_sha256_with(&dl, Some(&auth)).1, sha);
    assert_eq!(get_sha256_with(&format!("{dl}&token={device}"), Some("Bearer someone-else")).1, sha);
    let infos = srv.url("/file/api/assets/infos");
    let post = |body: Value| {
        read_json(
            ureq::post(&infos)
                .set("Authorization", &auth)
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
        )
    };
    let absent = "0b9d8f7e-1c2d-4e3f-8a4b-5c6d7e8f9a0b";
    let absent_token = access_token(JWT_SECRET.as_bytes(), &[absent], PARTICIPANT, now_ms());
    let (status, found) = post(json!({"assets": [
        {"asset_uuid": absent, "access_token": absent_token},
        {"asset_uuid": uuid, "access_token": minted},
    ]}));
    assert_eq!((status, found.as_array().map(Vec::len)), (200, Some(1)), "{found}");
    assert_eq!(found[0]["asset_uuid"], uuid);
    let (status, body) = post(json!({"file_asset": {"asset_uuid": uuid, "access_token": minted}}));
    assert_eq!((status, body), (400, json!("Only original filename can be changed from here")));
}
