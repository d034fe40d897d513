//! The public edges end to end on workerd: a deleted public file is gone from the cache under
//! every spelling of its URL; deletion calls Cloudflare's purge API (a local stand-in here)
//! with the zone's token, again while it fails; the configured public origin, never the
//! request's `Host`, is in answers; share-link passwords are rate limited per client address
//! by the rate-limiting binding, and unknown tokens cost nothing but a lookup.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

/// A GET as a CDN's client would send it: (status, `CF-Cache-Status`).
fn get(url: &str) -> (u16, Option<String>) {
    let (status, headers, _) = curl(&[url]);
    (status, header(&headers, "cf-cache-status").map(str::to_string))
}

fn delete_file(srv: &Server, id: &str) {
    let r = ureq::delete(&srv.url(&format!("/v1/files/{id}"))).set("Authorization", &format!("Bearer {TOKEN}")).call();
    assert_eq!(status_of(r), 204);
}

/// Fetches every spelling until one of them is answered from the cache (so the cache is
/// really in play), then deletes the file and waits for every spelling to answer 404.
fn gone_under_every_spelling(srv: &Server, id: &str, spellings: &[String]) {
    for s in spellings {
        assert_eq!(get(&srv.url(s)).0, 200, "{s}");
    }
    let cached = wait_until(Instant::now() + Duration::from_secs(10), || {
        spellings.iter().any(|s| get(&srv.url(s)).1.as_deref() == Some("HIT"))
    });
    assert!(cached, "no spelling of {id} was ever served from the cache: the test proves nothing");
    delete_file(srv, id);
    let purged =
        wait_until(Instant::now() + Duration::from_secs(10), || spellings.iter().all(|s| get(&srv.url(s)).0 == 404));
    let left: Vec<_> = spellings.iter().map(|s| (s.clone(), get(&srv.url(s)))).collect();
    assert!(purged, "still served after its deletion: {left:?}");
}

#[test]
fn a_deleted_public_file_is_served_under_no_spelling_of_its_url() {
    let srv = Server::start();
    let id = ngcp_upload(&srv, b"cached, then deleted");
    let upper = id.to_ascii_uppercase();
    let spellings = [
        format!("/uploads/{id}"),
        format!("/uploads/{id}?x=1"),
        format!("/uploads/{upper}"),
        format!("/uploads/{id}/"),
        format!("/rtc/fileshare/uploads/{id}?download=1"),
    ];
    gone_under_every_spelling(&srv, &id, &spellings);

    let body = b"a public blob, then destroyed";
    let (up, token) = portsip_initiate(&srv, "?filename=b.wav", &basic_auth());
    let blob = portsip_complete(&srv, &up, &token, &basic_auth(), body);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
    let spellings = [
        format!("/api/blobs/{sha}?x=1"),
        format!("/api/blobs/sha256:{}", sha.to_ascii_uppercase()),
        format!("/api/blobs/{sha}/"),
        format!("/api/blobs/{blob}"),
    ];
    let (_, headers, _) = curl(&[&srv.url(&spellings[0])]);
    assert_eq!(header(&headers, "cache-control"), Some("public, max-age=300"), "a deletable file's bound");
    gone_under_every_spelling(&srv, &blob, &spellings);
}

/// A stand-in for Cloudflare's API: answers the purge calls it gets with `statuses` in turn
/// (200 once they run out), and keeps each request (path, Authorization, body).
struct PurgeApi {
    port: u16,
    seen: Arc<Mutex<Vec<(String, String, Value)>>>,
}

impl PurgeApi {
    fn start(statuses: Vec<u16>) -> PurgeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (mut auth, mut len) = (String::new(), 0usize);
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap_or((h, ""));
                    match k.to_ascii_lowercase().as_str() {
                        "authorization" => auth = v.trim().to_string(),
                        "content-length" => len = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                log.lock().unwrap().push((path, auth, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                let status = statuses.next().unwrap_or(200);
                let text = r#"{"success":true,"errors":[],"messages":[],"result":{"id":"z"}}"#;
                let answer =
                    format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len());
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        PurgeApi { port, seen }
    }
}

#[test]
fn deletion_purges_every_location_through_the_zone_api_and_answers_name_the_public_origin() {
    let api = PurgeApi::start(vec![503, 502]);
    let zone = "023e105f4ecef8ad9ca31a8372d0c353";
    let secret = "purge-token-e2e-0123456789";
    let api_url = format!("http://127.0.0.1:{}/client/v4", api.port);
    let srv = Server::start_with(&[
        ("EDGESHARE_PUBLIC_URL", "https://files.example.com"),
        ("EDGESHARE_PURGE_ZONE_ID", zone),
        ("EDGESHARE_PURGE_API_TOKEN", secret),
        ("EDGESHARE_PURGE_API_URL", &api_url),
    ]);
    // the public origin, whatever Host the request came with
    let (status, doc) = read_json(ureq::get(&srv.url("/openapi.json")).set("Host", "evil.example").call());
    assert_eq!((status, doc["servers"][0]["url"].as_str()), (200, Some("https://files.example.com")));
    let id = ngcp_upload(&srv, b"purged everywhere");
    let (status, l) = read_json(
        ureq::post(&srv.url(&format!("/v1/files/{id}/links")))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .set("Host", "evil.example")
            .set("Content-Type", "application/json")
            .send_string("{}"),
    );
    assert_eq!(status, 201, "{l}");
    assert!(l["url"].as_str().unwrap().starts_with("https://files.example.com/s/"), "{l}");
    assert_eq!(l["file_public_url"], format!("https://files.example.com/uploads/{id}"), "public anyway");

    delete_file(&srv, &id);
    let three = wait_until(Instant::now() + Duration::from_secs(20), || api.seen.lock().unwrap().len() >= 3);
    let seen = api.seen.lock().unwrap().clone();
    assert!(three, "the purge is tried until it succeeds (503, 502, then 200): {seen:?}");
    assert_eq!(seen.len(), 3, "and no more once it did: {seen:?}");
    for (path, auth, body) in &seen {
        assert_eq!(path, &format!("/client/v4/zones/{zone}/purge_cache"));
        assert_eq!(auth, &format!("Bearer {secret}"));
        assert_eq!(body, &json!({"files": [format!("https://files.example.com/uploads/{id}")]}));
    }
    assert!(!srv.log_tail().contains(secret), "the token is never logged");
}

#[test]
fn password_attempts_are_limited_per_address_and_unknown_tokens_cost_a_lookup() {
    let srv = Server::start_with(&[("EDGESHARE_LINK_KDF_KIB", "64")]);
    let id = ngcp_upload(&srv, b"guarded by passwords");
    let link = |pw: &str| {
        let (status, l) = read_json(
            ureq::post(&srv.url(&format!("/v1/files/{id}/links")))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .set("Content-Type", "application/json")
                .send_string(&json!({ "password": pw }).to_string()),
        );
        assert_eq!(status, 201, "{l}");
        l["url"].as_str().unwrap().to_string()
    };
    let urls: Vec<String> = (0..3).map(|i| link(&format!("pw-{i}"))).collect();
    // the binding counts per wall-clock minute: start well inside one (waiting is the scenario)
    let into_minute = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 60;
    if into_minute > 35 {
        std::thread::sleep(Duration::from_secs(61 - into_minute));
    }
    // unknown tokens: 404 at once, however many at a time; without a password not even counted
    let unknown = |i: usize, password: bool| {
        let query = if password { "?password=x" } else { "" };
        srv.url(&format!("/s/{i:0>32}{query}"))
    };
    let answers: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..20).map(|i| s.spawn(move || curl(&[&unknown(i, false)]).0)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers, vec![404; 20]);
    assert_eq!((curl(&[&unknown(1, true)]).0, curl(&[&unknown(2, true)]).0), (404, 404), "no 403 after a hash");
    // ten passwords per address and minute (wrangler.toml), these two included: three wrong
    // ones on each of two links and two on a third are answered (each link backs off its own
    // guesser only after three); the next is refused before any hashing, right or not
    let mut answers = Vec::new();
    for (url, n) in [(&urls[0], 3), (&urls[1], 3), (&urls[2], 2)] {
        for _ in 0..n {
            answers.push(curl(&["-H", "X-Share-Password: wrong", url]).0);
        }
    }
    assert_eq!(answers, vec![403; 8]);
    let (status, headers, body) = curl(&["-H", "X-Share-Password: pw-2", &urls[2]]);
    assert_eq!((status, header(&headers, "retry-after")), (429, Some("60")), "{}", String::from_utf8_lossy(&body));
    assert_eq!(curl(&["-H", "X-Share-Password: pw-2", &unknown(3, true)]).0, 429, "nor for guessed tokens");
    // without a password nothing is hashed, and nothing is counted
    assert_eq!(curl(&[&urls[2]]).0, 401);
}
