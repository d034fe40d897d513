//! Webhooks end to end on workerd, to a real local HTTP receiver: it fails the first three
//! deliveries and then takes every message, checking each signature as a Standard Webhooks
//! verifier does; 200 uploads in a burst deliver 200 `file.created`, each exactly once by
//! `webhook-id`; the worker restarted with events pending still delivers them; a pre-create
//! endpoint refuses an upload (`403`) and allows the next.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use support::*;

/// One message as received: its `webhook-id`, timestamp, signature and body.
#[derive(Debug, Clone)]
struct Message {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A receiver: answers `fail_first` requests `500`, then `204` (or, for a pre-create ask,
/// what `verdict` holds); records every request.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Message>>>,
    up: Arc<Mutex<bool>>,
    verdict: Arc<Mutex<String>>,
}

impl Receiver {
    fn start(fail_first: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let up = Arc::new(Mutex::new(true));
        let verdict = Arc::new(Mutex::new(r#"{"allow": true}"#.to_string()));
        let (log, on, answer) = (seen.clone(), up.clone(), verdict.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut m = Message {
                    id: String::new(),
                    timestamp: String::new(),
                    signature: String::new(),
                    body: String::new(),
                };
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap_or(0);
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap_or((h, ""));
                    let v = v.trim().to_string();
                    match k.to_ascii_lowercase().as_str() {
                        "webhook-id" => m.id = v,
                        "webhook-timestamp" => m.timestamp = v,
                        "webhook-signature" => m.signature = v,
                        "content-length" => len = v.parse().unwrap_or(0),
                        _ => {}
                    }
                }
                let mut body = vec![0u8; len];
                // a request cut short (the worker stopped mid-delivery) is no delivery: the
                // worker sends it again
                if reader.read_exact(&mut body).is_err() || len == 0 {
                    continue;
                }
                m.body = String::from_utf8_lossy(&body).into_owned();
                let n = {
                    let mut seen = log.lock().unwrap();
                    seen.push(m.clone());
                    seen.len()
                };
                let pre_create = m.body.contains("upload.pre_create");
                let reply = if !*on.lock().unwrap() || (n <= fail_first && !pre_create) {
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
                } else if pre_create {
                    let v = answer.lock().unwrap().clone();
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{v}", v.len())
                } else {
                    "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_string()
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Receiver { url, seen, up, verdict }
    }

    fn messages(&self) -> Vec<Message> {
        self.seen.lock().unwrap().clone()
    }
}

/// Checks a message's signature as the convention's verifiers do.
fn verify(secret: &str, m: &Message) -> bool {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", m.id, m.timestamp, m.body).as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    m.signature.split(' ').any(|s| s == format!("v1,{want}"))
}

fn register(srv: &Server, body: Value) -> Value {
    let r = ureq::post(&srv.url("/v1/webhooks"))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string());
    let (status, hook) = read_json(r);
    assert_eq!(status, 201, "{hook}");
    hook
}

/// The ids of the `file.created` messages the receiver took (after its failures).
fn created(r: &Receiver, fail_first: usize) -> Vec<(String, Value)> {
    r.messages()
        .iter()
        .skip(fail_first)
        .map(|m| (m.id.clone(), serde_json::from_str::<Value>(&m.body).unwrap()))
        .filter(|(_, b)| b["type"] == "file.created")
        .collect()
}

#[test]
fn events_reach_a_real_receiver_signed_once_each_across_failures_and_a_restart() {
    let mut srv = Server::start_with(&[("EDGESHARE_WEBHOOK_BACKOFF", "1")]);
    let receiver = Receiver::start(3);
    let hook = register(&srv, json!({"url": receiver.url, "events": ["file.created", "file.deleted"]}));
    let secret = hook["secret"].as_str().unwrap().to_string();

    // 200 uploads in a burst, 8 at a time
    let ids: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let srv = &srv;
                s.spawn(move || {
                    (0..25).map(|i| ngcp_upload(srv, format!("burst {t} {i}").as_bytes())).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(ids.len(), 200);
    let all_in = wait_until(Instant::now() + Duration::from_secs(90), || created(&receiver, 3).len() >= 200);
    let got = created(&receiver, 3);
    assert!(all_in, "{} of 200 file.created arrived", got.len());
    let messages = receiver.messages();
    assert!(messages.iter().all(|m| verify(&secret, m)), "every message's signature checks");
    assert!(messages[..3].iter().all(|m| m.id == messages[0].id), "the failed deliveries were one message, retried");
    let distinct: std::collections::BTreeSet<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!((distinct.len(), got.len()), (200, 200), "each event exactly once by webhook-id");
    let files: std::collections::BTreeSet<&str> = got.iter().map(|(_, b)| b["data"]["id"].as_str().unwrap()).collect();
    assert_eq!(files, ids.iter().map(String::as_str).collect(), "one per file uploaded");

    // the receiver goes away; events wait; the worker restarts; the receiver comes back
    *receiver.up.lock().unwrap() = false;
    let late: Vec<String> = (0..3).map(|i| ngcp_upload(&srv, format!("late {i}").as_bytes())).collect();
    std::thread::sleep(Duration::from_secs(2));
    srv.restart();
    *receiver.up.lock().unwrap() = true;
    let arrived = wait_until(Instant::now() + Duration::from_secs(60), || {
        let got = created(&receiver, 3);
        late.iter().all(|id| got.iter().any(|(_, b)| b["data"]["id"] == id.as_str() && b["type"] == "file.created"))
    });
    assert!(arrived, "events pending across the restart are delivered:\n{}", srv.log_tail());
    let (status, d) = read_json(
        ureq::get(&srv.url(&format!("/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap())))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .call(),
    );
    assert_eq!(status, 200);
    let list = d["deliveries"].as_array().unwrap();
    assert!(list.iter().all(|d| d["state"] == "delivered"), "{d}");
    assert!(list.iter().any(|d| d["attempts"].as_u64() > Some(1)), "retries are listed");
}

#[test]
fn a_pre_create_endpoint_allows_or_refuses_uploads() {
    let srv = Server::start();
    let receiver = Receiver::start(0);
    register(&srv, json!({"url": receiver.url, "pre_create": true}));
    *receiver.verdict.lock().unwrap() = r#"{"allow": false, "reason": "not today"}"#.into();
    let tus = |body: &[u8]| {
        status_of(
            ureq::post(&srv.url("/files/"))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .set("Tus-Resumable", "1.0.0")
                .set("Upload-Length", &body.len().to_string())
                .set("Content-Type", "application/offset+octet-stream")
                .send_bytes(body),
        )
    };
    assert_eq!(tus(b"refused"), 403);
    let asked: Value = serde_json::from_str(&receiver.messages()[0].body).unwrap();
    assert_eq!((asked["type"].as_str(), asked["data"]["dialect"].as_str()), (Some("upload.pre_create"), Some("tus")));
    assert_eq!(asked["data"]["size"], 7);
    *receiver.verdict.lock().unwrap() = r#"{"allow": true}"#.into();
    assert_eq!(tus(b"allowed"), 201);
}
