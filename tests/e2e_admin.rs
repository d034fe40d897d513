//! The operator's API end to end on workerd: the operator creates a tenant and mints its keys,
//! the keys upload through three dialects (NGCP simple upload with Basic, tus with Bearer
//! through tus-js-client, PortSIP with Bearer) and an OpenTera static token uploads for a
//! configured tenant; a tenant's credentials never reach `/v1/admin/`; suspension stops every
//! key and resumption brings them back; a revoked key stops; a tenant with files is not deleted.

mod support;

use serde_json::{json, Value};
use support::*;

const MIB: usize = 1024 * 1024;

fn admin_auth() -> String {
    format!("Bearer {ADMIN_TOKEN}")
}

/// A JSON call with these credentials: its status and body (`null` when empty).
fn call(srv: &Server, method: &str, path: &str, auth: &str, body: Option<Value>) -> (u16, Value) {
    let req = ureq::request(method, &srv.url(path)).set("Authorization", auth);
    match body {
        Some(b) => read_json(req.set("Content-Type", "application/json").send_string(&b.to_string())),
        None => read_json(req.call()),
    }
}

/// A key minted by the operator: its answer, with its secret.
fn mint(srv: &Server, tenant: &str, ask: Value) -> Value {
    let (status, key) = call(srv, "POST", &format!("/v1/admin/tenants/{tenant}/keys"), &admin_auth(), Some(ask));
    assert_eq!(status, 201, "{key}");
    key
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// An NGCP simple upload as curl sends it: its status and answer.
fn ngcp(srv: &Server, user: &str, password: &str, path: &std::path::Path) -> (u16, Value) {
    let form = format!("file=@{}", path.display());
    let creds = format!("{user}:{password}");
    let (status, _, body) = curl(&["-X", "POST", "--form", &form, "--user", &creds, &srv.url("/uploads")]);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn list_files(srv: &Server, auth: &str) -> (u16, Value) {
    call(srv, "GET", "/v1/files", auth, None)
}

#[test]
fn a_tenant_made_at_run_time_uploads_through_three_dialects_until_suspended_or_revoked() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();

    // the operator creates a tenant and mints a Bearer and a Basic key
    let (status, t) = call(&srv, "POST", "/v1/admin/tenants", &admin_auth(), Some(json!({"id": "zeta"})));
    assert_eq!((status, t["id"].as_str(), t["status"].as_str()), (201, Some("zeta"), Some("active")), "{t}");
    assert_eq!(call(&srv, "POST", "/v1/admin/tenants", &admin_auth(), Some(json!({"id": "zeta"}))).0, 409);
    let bearer = mint(&srv, "zeta", json!({"kind": "bearer"}));
    let token = bearer["secret"].as_str().unwrap().to_string();
    let bearer_auth = format!("Bearer {token}");
    let basic_key = mint(&srv, "zeta", json!({"kind": "basic", "user": "alice"}));
    let password = basic_key["secret"].as_str().unwrap().to_string();
    let (status, keys) = call(&srv, "GET", "/v1/admin/tenants/zeta/keys", &admin_auth(), None);
    assert_eq!(status, 200);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert!(!keys.to_string().contains(&token) && !keys.to_string().contains(&password), "no secret listed");
    assert!(keys["keys"].as_array().unwrap().iter().all(|k| k.get("secret").is_none()));

    // NGCP simple upload with Basic
    let (ngcp_path, ngcp_sha) = data_file(tmp.path(), "ngcp.bin", 200_000);
    let (status, up) = ngcp(&srv, "alice", &password, &ngcp_path);
    assert_eq!(status, 200, "{up}");
    let (status, got, _) = get_sha256(&srv.url(&format!("/uploads/{}", up["id"].as_str().unwrap())));
    assert_eq!((status, got), (200, ngcp_sha));

    // tus with Bearer, through tus-js-client in 5 MiB chunks
    let (tus_path, tus_sha) = data_file(tmp.path(), "tus.bin", 6 * MIB + 3);
    let r = tus_client(json!({
        "endpoint": srv.url("/files/"), "file": tus_path, "chunkSize": 5 * MIB, "auth": bearer_auth,
        "fingerprint": "admin-e2e", "storage": tmp.path().join("tus-urls.json"),
    }));
    assert_eq!(r["done"], true, "{r}");
    let (status, got, _) = get_sha256_with(r["url"].as_str().unwrap(), Some(&bearer_auth));
    assert_eq!((status, got), (200, tus_sha));

    // PortSIP with Bearer: initiate, then the whole body at complete
    let body = b"portsip bytes of a run-time tenant".to_vec();
    let (id, upload_token) = portsip_initiate(&srv, "?filename=call.wav", &bearer_auth);
    let blob = portsip_complete(&srv, &id, &upload_token, &bearer_auth, &body);
    let (status, _, got) =
        curl(&["-H", &format!("Authorization: {bearer_auth}"), &srv.url(&format!("/api/blobs/{blob}"))]);
    assert_eq!((status, got), (200, body));

    // the three are the tenant's, whatever the key; no other tenant sees them
    let (status, files) = list_files(&srv, &basic("alice", &password));
    assert_eq!(status, 200);
    let mut dialects: Vec<&str> =
        files["files"].as_array().unwrap().iter().map(|f| f["dialect"].as_str().unwrap()).collect();
    dialects.sort();
    assert_eq!(dialects, ["ngcp", "portsip", "tus"], "{files}");
    assert_eq!(
        list_files(&srv, &basic_auth()).1["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["dialect"] == "portsip")
            .count(),
        0
    );

    // a tenant's credentials are no operator's, and the operator is no tenant
    for auth in [basic_auth(), bearer_auth.clone()] {
        let (status, e) = call(&srv, "GET", "/v1/admin/tenants", &auth, None);
        assert_eq!((status, e["error"]["code"].as_str()), (403, Some("forbidden")), "{e}");
    }
    assert_eq!(call(&srv, "GET", "/v1/admin/tenants", "Bearer nobody", None).0, 401);
    assert_eq!(list_files(&srv, &admin_auth()).0, 403);

    // suspended: every key refused at once (the same location wrote it); resumed: back
    let (status, t) = call(&srv, "POST", "/v1/admin/tenants/zeta/suspend", &admin_auth(), None);
    assert_eq!((status, t["status"].as_str()), (200, Some("suspended")));
    assert_eq!(list_files(&srv, &bearer_auth).0, 403);
    assert_eq!(ngcp(&srv, "alice", &password, &ngcp_path).0, 403);
    assert_eq!(status_of(ureq::post(&srv.url("/api/blobs/uploads")).set("Authorization", &bearer_auth).call()), 403);
    assert_eq!(list_files(&srv, &basic_auth()).0, 200, "other tenants go on");
    let (status, t) = call(&srv, "POST", "/v1/admin/tenants/zeta/resume", &admin_auth(), None);
    assert_eq!((status, t["status"].as_str()), (200, Some("active")));
    assert_eq!(list_files(&srv, &bearer_auth).0, 200);

    // revoked: the key stops, the other goes on
    let path = format!("/v1/admin/tenants/zeta/keys/{}", bearer["id"].as_str().unwrap());
    assert_eq!(call(&srv, "DELETE", &path, &admin_auth(), None).0, 204);
    assert_eq!(list_files(&srv, &bearer_auth).0, 401);
    assert_eq!(list_files(&srv, &basic("alice", &password)).0, 200);

    // a tenant with files stays
    let (status, e) = call(&srv, "DELETE", "/v1/admin/tenants/zeta", &admin_auth(), None);
    assert_eq!(status, 409, "{e}");
    let (status, page) = call(&srv, "GET", "/v1/admin/tenants", &admin_auth(), None);
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["tenants"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"zeta") && ids.contains(&"e2e"), "{page}");
}

/// A configured tenant can be suspended (its configured credentials too) and given an OpenTera
/// static token, which uploads through OpenTera; a tenant without files is deleted.
#[test]
fn configured_tenants_and_opentera_keys() {
    let srv = Server::start();
    let tera = mint(&srv, "e2e", json!({"kind": "opentera"}));
    let static_token = tera["secret"].as_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (path, _) = data_file(tmp.path(), "asset.bin", 1000);
    let upload = |token: &str| {
        let asset = r#"file_asset={"id_session": 1, "asset_name": "A"}"#;
        let file = format!("file=@{}", path.display());
        let auth = format!("Authorization: OpenTera {token}");
        curl(&["-X", "POST", "-H", &auth, "--form", asset, "--form", &file, &srv.url("/file/api/assets")]).0
    };
    assert_eq!(upload(static_token), 200);
    assert_eq!(upload(OPENTERA_STATIC), 200, "the configured one too");

    let (status, t) = call(&srv, "POST", "/v1/admin/tenants/e2e/suspend", &admin_auth(), None);
    assert_eq!((status, t["bootstrap"].as_bool()), (200, Some(true)), "{t}");
    assert_eq!(upload(static_token), 403);
    assert_eq!(upload(OPENTERA_STATIC), 403);
    assert_eq!(list_files(&srv, &basic_auth()).0, 403, "its configured Basic credentials");
    call(&srv, "POST", "/v1/admin/tenants/e2e/resume", &admin_auth(), None);
    assert_eq!(list_files(&srv, &basic_auth()).0, 200);
    assert_eq!(call(&srv, "DELETE", "/v1/admin/tenants/e2e", &admin_auth(), None).0, 409, "configured");

    call(&srv, "POST", "/v1/admin/tenants", &admin_auth(), Some(json!({"id": "empty"})));
    let key = mint(&srv, "empty", json!({"kind": "bearer"}));
    assert_eq!(call(&srv, "DELETE", "/v1/admin/tenants/empty", &admin_auth(), None).0, 204);
    assert_eq!(list_files(&srv, &format!("Bearer {}", key["secret"].as_str().unwrap())).0, 401);
    assert_eq!(call(&srv, "GET", "/v1/admin/tenants/empty", &admin_auth(), None).0, 404);

    // made-up tokens each cost a registry read: ten a minute per client address, then 429
    // (the binding's windows are wall-clock minutes: 25 tries cross at most one boundary)
    let refused = (0..25).map(|n| list_files(&srv, &format!("Bearer made-up-{n}")).0).collect::<Vec<_>>();
    assert!(refused.iter().take(10).all(|s| *s == 401 || *s == 429), "{refused:?}");
    assert!(refused.contains(&429), "unknown credentials limited: {refused:?}");
}

/// Quotas on workerd: 20 uploads at once that together exceed the quota by one file are
/// accepted up to it and not a byte beyond; the listing and usage are exact the moment the
/// uploads answer; a stream of no declared size stops where the room ends; a key of a
/// run-time tenant meets its quota through three dialects.
#[test]
fn quotas_hold_under_concurrency_and_usage_is_exact() {
    let srv = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    call(&srv, "POST", "/v1/admin/tenants", &admin_auth(), Some(json!({"id": "quota"})));
    let key = mint(&srv, "quota", json!({"kind": "bearer"}));
    let auth = format!("Bearer {}", key["secret"].as_str().unwrap());
    let quota = json!({"max_bytes": 19 * 1024, "max_files": 30});
    let (status, u) = call(&srv, "PUT", "/v1/admin/tenants/quota/quota", &admin_auth(), Some(quota));
    assert_eq!((status, u["quota"]["max_bytes"].as_u64()), (200, Some(19 * 1024)), "{u}");

    // 20 tus uploads of 1 KiB at once against room for 19
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let uploads: Vec<_> = (0..20u8)
            .map(|n| {
                let (srv, auth) = (&srv, &auth);
                s.spawn(move || {
                    let body = vec![n; 1024];
                    status_of(
                        ureq::post(&srv.url("/files/"))
                            .set("Authorization", auth)
                            .set("Tus-Resumable", "1.0.0")
                            .set("Upload-Length", "1024")
                            .set("Content-Type", "application/offset+octet-stream")
                            .send_bytes(&body),
                    )
                })
            })
            .collect();
        uploads.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 19, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 413).count(), 1, "{statuses:?}");
    let (status, u) = call(&srv, "GET", "/v1/usage", &auth, None);
    assert_eq!(status, 200);
    assert_eq!(
        (u["bytes"].as_u64(), u["files"].as_u64(), u["uploads_in_progress"].as_u64()),
        (Some(19 * 1024), Some(19), Some(0)),
        "{u}"
    );
    assert_eq!(list_files(&srv, &auth).1["files"].as_array().unwrap().len(), 19, "listed the moment they answered");

    // full: a declared size is refused in each dialect's shape, a stream with no size too
    let (status, e) = read_json(
        ureq::post(&srv.url("/files/"))
            .set("Authorization", &auth)
            .set("Tus-Resumable", "1.0.0")
            .set("Upload-Length", "1")
            .call(),
    );
    assert_eq!(status, 413, "{e}");
    let small = tmp.path().join("one.txt");
    std::fs::write(&small, b"x").unwrap();
    let form = format!("file=@{}", small.display());
    let (status, _, body) =
        curl(&["-X", "POST", "-H", &format!("Authorization: {auth}"), "--form", &form, &srv.url("/uploads")]);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert!(json(&body)["message"].as_str().unwrap().contains("quota"), "NGCP's shape");

    // room again after a delete: a stream of no declared size stops where the room ends
    let first = list_files(&srv, &auth).1["files"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(call(&srv, "DELETE", &format!("/v1/files/{first}"), &auth, None).0, 204);
    let (pid, ptoken) = portsip_initiate(&srv, "?filename=big.wav", &auth);
    let r = ureq::post(&srv.url(&format!("/api/blobs/uploads/{pid}/complete")))
        .set("Authorization", &auth)
        .set("PortSIP-Upload-Token", &ptoken)
        .send_bytes(&vec![9u8; 4096]);
    assert_eq!(status_of(r), 413, "4 KiB where 1 KiB is left");
    let (_, u) = call(&srv, "GET", "/v1/admin/tenants/quota/usage", &admin_auth(), None);
    assert_eq!((u["bytes"].as_u64(), u["files"].as_u64()), (Some(18 * 1024), Some(18)), "nothing of it counted: {u}");
    let blob = portsip_complete(&srv, &pid, &ptoken, &auth, &[9u8; 1024]);
    assert!(!blob.is_empty(), "exactly the room left");
    let (_, u) = call(&srv, "GET", "/v1/usage", &auth, None);
    assert_eq!(u["bytes"].as_u64(), Some(19 * 1024), "{u}");
}

/// Per-tenant counters on workerd: an isolate counts each tenant's requests and adds them to
/// its account once its flush is due (1 s here); uploads are counted by the account.
#[test]
fn counters_reach_the_account() {
    let srv = Server::start_with(&[("EDGESHARE_COUNTER_FLUSH_SECS", "1")]);
    let auth = format!("Bearer {TOKEN}");
    let id = ngcp_upload(&srv, b"counted bytes");
    assert_eq!(get_sha256(&srv.url(&format!("/uploads/{id}"))).0, 200, "public: counted for nobody");
    assert_eq!(list_files(&srv, &auth).0, 200);
    assert_eq!(call(&srv, "DELETE", "/v1/files/not-a-file", &auth, None).0, 404);
    let counted = wait_until(std::time::Instant::now() + std::time::Duration::from_secs(15), || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let (_, u) = call(&srv, "GET", "/v1/usage", &auth, None);
        u["counters"]["requests"].as_u64().unwrap_or(0) >= 3
    });
    let (_, u) = call(&srv, "GET", "/v1/admin/tenants/e2e/usage", &admin_auth(), None);
    assert!(counted, "{u}");
    let c = &u["counters"];
    assert_eq!(c["uploads"], 1, "{c}");
    assert!(c["errors"].as_u64() >= Some(1) && c["bytes_in"].as_u64() > Some(13), "{c}");
}

/// A tenant made at run time is given a JWT secret by the operator: an OpenTera user token
/// signed with it uploads through OpenTera on workerd; removed, it is refused.
#[test]
fn jwt_secrets_set_at_run_time_sign_opentera_tokens() {
    let srv = Server::start();
    call(&srv, "POST", "/v1/admin/tenants", &admin_auth(), Some(json!({"id": "tera"})));
    let secret = "tera-runtime-secret-0123456789";
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, "user_uuid": "11111111-2222-4333-8444-555555555555"});
    let token = edgeshare::engine::jwt::sign(claims.as_object().unwrap(), secret.as_bytes());
    let tmp = tempfile::tempdir().unwrap();
    let (path, _) = data_file(tmp.path(), "asset.bin", 1000);
    let upload = || {
        let asset = r#"file_asset={"id_session": 1, "asset_name": "A"}"#;
        let file = format!("file=@{}", path.display());
        let auth = format!("Authorization: OpenTera {token}");
        curl(&["-X", "POST", "-H", &auth, "--form", asset, "--form", &file, &srv.url("/file/api/assets")]).0
    };
    assert_eq!(upload(), 403, "no secret yet");
    let set = |secrets: Value| {
        call(&srv, "PUT", "/v1/admin/tenants/tera/jwt-secrets", &admin_auth(), Some(json!({"secrets": secrets})))
    };
    let (status, answer) = set(json!({"user": secret, "access": "tera-access-secret-0123456789"}));
    assert_eq!(status, 200, "{answer}");
    assert!(!answer.to_string().contains(secret));
    assert_eq!(upload(), 200, "signed with the run-time secret");
    assert_eq!(set(json!({})).0, 200);
    assert_eq!(upload(), 403, "removed");
}
