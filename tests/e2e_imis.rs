//! IMiS upload sessions end to end on workerd: the seed's flow as written (log in, create a
//! session, PUT the parts in sequence, save), parts of 1 MiB and 6 MiB in each `content-range`
//! form, an out-of-order part refused, cancel, the saved object read back with its sha256;
//! another tenant's login on every route.

mod support;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::*;

const MIB: usize = 1024 * 1024;
const ENTITY: &str = "/archives/ARCH1/entities/H:0a1b2c3d";

fn login(srv: &Server, user: &str, password: &str) -> String {
    let body = json!({"authentication": {"username": user, "password": password}, "api_version": 6,
                      "computer_name": "e2e", "application_name": "edgeshare-e2e", "impersonate": ""});
    let (status, v) =
        read_json(ureq::post(&srv.url("/archives/ARCH1/session/open.json")).send_string(&body.to_string()));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["service_name"], "IMiS/ARChive Storage Server");
    v["token"].as_str().unwrap().to_string()
}

fn create(srv: &Server, token: &str, ct: &str) -> String {
    let (status, v) = read_json(
        ureq::post(&srv.url(&format!("{ENTITY}/create_sessions.json")))
            .set("Authorization", &format!("Bearer {token}"))
            .send_string(&json!({"content_type": ct}).to_string()),
    );
    assert_eq!(status, 200, "{v}");
    v["session"]["id"].as_str().unwrap().to_string()
}

fn put(srv: &Server, token: &str, sid: &str, range: &str, part: &[u8]) -> (u16, Value) {
    read_json(
        ureq::put(&srv.url(&format!("{ENTITY}/create_sessions/{sid}")))
            .set("Authorization", &format!("Bearer {token}"))
            .set("content-range", range)
            .send_bytes(part),
    )
}

#[test]
fn the_seed_flow_in_every_content_range_form() {
    let srv = Server::start();
    let token = login(&srv, USER, PASSWORD);
    assert_eq!(token.len(), 64);
    let tmp = tempfile::tempdir().unwrap();
    // 1 MiB and 6 MiB parts, alternating, each in another form
    let sizes = [MIB, 6 * MIB, MIB, 6 * MIB, MIB + 123];
    let total: usize = sizes.iter().sum();
    let (path, sha) = data_file(tmp.path(), "rec.wav", total);
    let data = std::fs::read(path).unwrap();
    let sid = create(&srv, &token, "audio/wav");
    let mut off = 0;
    for (i, len) in sizes.iter().enumerate() {
        let (a, b) = (off, off + len - 1);
        let range = match i {
            0 => format!("{a}-{b}"),
            1 => format!("bytes {a}-{b}/{total}"),
            2 => format!("bytes {a}-{b}/*"),
            3 => format!("bytes={a}-{b}"),
            _ => format!("{a}-{}", b + 1), // the exclusive-end tolerance
        };
        let (status, v) = put(&srv, &token, &sid, &range, &data[off..off + len]);
        assert_eq!((status, v), (200, json!({"session": {"id": sid}})), "{range}");
        if i == 1 {
            // a part out of order: 409; the last part sent again: acknowledged once
            let (status, v) = put(&srv, &token, &sid, &format!("{}-{}", off + len + 10, off + len + 19), &[0; 10]);
            assert_eq!((status, v["error"]["code"].as_u64()), (409, Some(409)));
            assert_eq!(put(&srv, &token, &sid, &range, &data[off..off + len]).0, 200);
        }
        off += len;
    }
    let (status, saved) = read_json(
        ureq::post(&srv.url(&format!("{ENTITY}/create_sessions/{sid}/save.json")))
            .set("Authorization", &format!("Bearer {token}"))
            .send_string(r#"{"description": "", "container_id": ""}"#),
    );
    assert_eq!(status, 200, "{saved}");
    let o = &saved["object"];
    assert_eq!(
        (o["size"].as_u64(), o["content_type"].as_str(), o["extension"].as_str()),
        (Some(total as u64), Some("audio/wav"), Some(".wav"))
    );
    assert_eq!(o["parent_id"], "0a1b2c3d");
    assert!(o["created"].as_str().unwrap().ends_with('Z'));
    let id = o["id"].as_str().unwrap();
    let (status, got, len) =
        get_sha256_with(&srv.url(&format!("/archives/ARCH1/objects/{id}")), Some(&format!("Bearer {token}")));
    assert_eq!((status, got.as_str(), len), (200, sha.as_str(), total as u64));
    assert_eq!(hex::encode(Sha256::digest(&data)), sha);
    // the session ended with the save
    assert_eq!(put(&srv, &token, &sid, &format!("{total}-{total}"), b"x").0, 404);

    // cancel frees a session: 200 with an empty body, then 404
    let sid = create(&srv, &token, "application/pdf");
    assert_eq!(put(&srv, &token, &sid, "0-9", &[1; 10]).0, 200);
    let (status, body) = read_json(
        ureq::delete(&srv.url(&format!("{ENTITY}/create_sessions/{sid}.json")))
            .set("Authorization", &format!("Bearer {token}"))
            .call(),
    );
    assert_eq!((status, body), (200, Value::Null));
    assert_eq!(put(&srv, &token, &sid, "10-19", &[1; 10]).0, 404);

    // another tenant's login, on every route: 404; no login at all: 401
    let other = login(&srv, OTHER_USER, OTHER_PASSWORD);
    let sid = create(&srv, &token, "text/plain");
    assert_eq!(put(&srv, &token, &sid, "0-2", b"abc").0, 200);
    assert_eq!(put(&srv, &other, &sid, "3-5", b"def").0, 404);
    let save = |t: &str| {
        read_json(
            ureq::post(&srv.url(&format!("{ENTITY}/create_sessions/{sid}/save")))
                .set("Authorization", &format!("Bearer {t}"))
                .send_string(""),
        )
    };
    assert_eq!(save(&other).0, 404);
    let cancel = ureq::delete(&srv.url(&format!("{ENTITY}/create_sessions/{sid}.json")))
        .set("Authorization", &format!("Bearer {other}"))
        .call();
    assert_eq!(read_json(cancel).0, 404);
    let (status, saved) = save(&token);
    assert_eq!((status, saved["object"]["size"].as_u64()), (200, Some(3)));
    let id = saved["object"]["id"].as_str().unwrap();
    assert_eq!(
        status_of(
            ureq::get(&srv.url(&format!("/archives/ARCH1/objects/{id}")))
                .set("Authorization", &format!("Bearer {other}"))
                .call()
        ),
        404
    );
    assert_eq!(status_of(ureq::get(&srv.url(&format!("/archives/ARCH1/objects/{id}"))).call()), 401);
    assert_eq!(put(&srv, &"x".repeat(64), &sid, "0-0", b"x").0, 401);
    let (status, v) = read_json(
        ureq::post(&srv.url("/archives/ARCH1/session/open.json"))
            .send_string(&json!({"authentication": {"username": USER, "password": "wrong"}}).to_string()),
    );
    assert_eq!((status, v["error"]["code"].as_u64()), (401, Some(401)));
}
