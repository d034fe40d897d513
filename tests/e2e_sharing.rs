//! Sharing beyond the peers, end to end on workerd: a link of three 100 MB files (300 MB in
//! all, more than an isolate's 128 MB) downloaded as one zip streamed from R2 while workerd's
//! memory is watched (it must grow by less than 128 MiB; the same bytes as three plain
//! downloads are measured first, for comparison), its length announced in advance, read back by Python's zipfile and
//! `unzip -t` (every entry's sha256), and resumed with `Range` from its middle to the same
//! bytes; a file request whose limits hold under concurrent uploads (exactly as many files as
//! it allows start, the rest are refused with `410`), the files arriving as the tenant's with
//! the request's label, the request refused once revoked.

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};
use support::*;

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn v1(srv: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = ureq::request(method, &srv.url(path)).set("Authorization", &bearer());
    read_json(match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(&b.to_string()),
        None => req.call(),
    })
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A tus upload of a file in one request, to `/files/` or a request's `/r/{token}/files/`.
fn tus_upload(srv: &Server, endpoint: &str, path: &std::path::Path, name: &str, auth: bool) -> (u16, String) {
    let len = std::fs::metadata(path).unwrap().len().to_string();
    let auth_header = format!("Authorization: {}", bearer());
    let length = format!("Upload-Length: {len}");
    let meta = format!("Upload-Metadata: filename {}", b64(name));
    let data = format!("@{}", path.display());
    let url = srv.url(endpoint);
    let mut args = vec!["-X", "POST", "-H", "Tus-Resumable: 1.0.0", "-H", &length, "-H", &meta];
    if auth {
        args.extend(["-H", &auth_header]);
    }
    args.extend(["-H", "Content-Type: application/offset+octet-stream", "--data-binary", &data, &url]);
    let (status, headers, _) = curl(&args);
    let id = header(&headers, "location").map(|l| l.rsplit('/').next().unwrap().to_string()).unwrap_or_default();
    (status, id)
}

#[test]
fn a_zip_of_300_mb_streams_from_r2_in_bounded_memory_and_resumes() {
    let srv = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    let mut expect = Vec::new();
    for (i, name) in ["a.bin", "b.bin", "a.bin"].iter().enumerate() {
        let (path, sha) = data_file(dir.path(), &format!("f{i}"), 100_000_000);
        let (status, id) = tus_upload(&srv, "/files/", &path, name, true);
        assert_eq!(status, 201, "{}", srv.log_tail());
        ids.push(id);
        expect.push(sha);
    }
    let (status, link) = v1(&srv, "POST", "/v1/links", Some(json!({"file_ids": ids})));
    assert_eq!(status, 201, "{link}");
    let token = link["token"].as_str().unwrap().to_string();
    let (status, list) =
        read_json(ureq::get(&srv.url(&format!("/s/{token}"))).set("Accept", "application/json").call());
    assert_eq!(status, 200);
    let zip_size = list["zip_size"].as_u64().unwrap();
    assert!(zip_size > 300_000_000);

    // the baseline: the same bytes as three plain downloads (R2's body handed to the runtime)
    let before = srv.workerd_rss_kib();
    let mut plain_peak = before;
    for i in 0..3 {
        let mut child = Command::new("curl")
            .args(["-s", "-o", "/dev/null"])
            .arg(srv.url(&format!("/s/{token}/files/{i}")))
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() {
            plain_peak = plain_peak.max(srv.workerd_rss_kib());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    eprintln!("plain downloads: workerd grew by {} MiB at most", plain_peak.saturating_sub(before) / 1024);

    // workerd's memory while the zip streams
    let before = srv.workerd_rss_kib();
    let peak = AtomicU64::new(before);
    let out = dir.path().join("all.zip");
    let started = std::time::Instant::now();
    let mut child = Command::new("curl")
        .args(["-s", "-D", "-", "-o"])
        .arg(&out)
        .arg(srv.url(&format!("/s/{token}/zip")))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        peak.fetch_max(srv.workerd_rss_kib(), Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let headers = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let grew_mib = peak.load(Ordering::Relaxed).saturating_sub(before) / 1024;
    eprintln!(
        "zip of {zip_size} bytes in {:?}; workerd RSS {} MiB before, grew by {grew_mib} MiB at most",
        started.elapsed(),
        before / 1024
    );
    assert!(headers.to_ascii_lowercase().contains(&format!("content-length: {zip_size}")), "{headers}");
    assert_eq!(std::fs::metadata(&out).unwrap().len(), zip_size);
    assert!(grew_mib < 128, "workerd grew by {grew_mib} MiB while streaming a {zip_size}-byte zip");

    // Python's zipfile (CRCs checked) and unzip -t read it back, every entry's sha256
    let script = "import zipfile,hashlib,json,sys\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n\
                  print(json.dumps([[i.filename, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))";
    let py = Command::new("python3").arg("-c").arg(script).arg(&out).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let got: Vec<(String, String)> = serde_json::from_slice(&py.stdout).unwrap();
    let names = ["a.bin", "b.bin", "a (1).bin"];
    assert_eq!(got, names.iter().map(|n| n.to_string()).zip(expect.iter().cloned()).collect::<Vec<_>>());
    let unzip = Command::new("unzip").arg("-tq").arg(&out).output().unwrap();
    assert!(unzip.status.success(), "{}", String::from_utf8_lossy(&unzip.stdout));

    // a broken download resumes from its middle to the same bytes (the CRCs were kept)
    let whole = std::fs::read(&out).unwrap();
    let from = zip_size / 2 + 12_345;
    let tail = dir.path().join("tail");
    let got = Command::new("curl")
        .args(["-s", "-D", "-", "-o"])
        .arg(&tail)
        .args(["-H", &format!("Range: bytes={from}-")])
        .arg(srv.url(&format!("/s/{token}/zip")))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&got.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert!(head.contains(&format!("content-range: bytes {from}-{}/{zip_size}", zip_size - 1)), "{head}");
    assert!(std::fs::read(&tail).unwrap() == whole[from as usize..], "the resumed bytes differ");
}

#[test]
fn a_file_requests_limits_hold_under_concurrent_uploads() {
    let srv = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (status, made) =
        v1(&srv, "POST", "/v1/requests", Some(json!({"max_files": 2, "max_bytes": 10_000_000, "label": "Scans"})));
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    assert_eq!(made["url"], srv.url(&format!("/r/{token}")));
    let (status, look) =
        read_json(ureq::get(&srv.url(&format!("/r/{token}"))).set("Accept", "application/json").call());
    assert_eq!((status, look["label"].as_str(), look["files_left"].as_u64()), (200, Some("Scans"), Some(2)));

    // six uploads at once, with no credentials but the request's token: two start
    let files: Vec<_> = (0..6).map(|i| data_file(dir.path(), &format!("r{i}"), 1_000_000)).collect();
    let endpoint = format!("/r/{token}/files/");
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, (path, _))| {
                let (srv, endpoint) = (&srv, &endpoint);
                s.spawn(move || tus_upload(srv, endpoint, path, &format!("scan {i}.pdf"), false))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: Vec<&(u16, String)> = statuses.iter().filter(|(s, _)| *s == 201).collect();
    let refused = statuses.iter().filter(|(s, _)| *s == 410).count();
    assert_eq!((ok.len(), refused), (2, 4), "{statuses:?}");

    // they are the tenant's files, with the request's label
    let (_, listed) = v1(&srv, "GET", "/v1/files", None);
    for (_, id) in &ok {
        let file = listed["files"].as_array().unwrap().iter().find(|f| f["id"] == id.as_str()).expect("listed");
        assert_eq!(file["label"], "Scans");
        assert_eq!(file["size"], 1_000_000);
    }
    let (_, requests) = v1(&srv, "GET", "/v1/requests", None);
    let row = &requests["requests"][0];
    assert_eq!(
        (row["files"].as_u64(), row["done"].as_u64(), row["state"].as_str()),
        (Some(2), Some(2), Some("used_up"))
    );
    // another tenant sees none of it; revoked, the request refuses
    let other = ureq::get(&srv.url("/v1/requests")).set("Authorization", &format!("Bearer {OTHER_TOKEN}"));
    assert_eq!(read_json(other.call()).1["requests"], json!([]));
    assert_eq!(v1(&srv, "DELETE", &format!("/v1/requests/{token}"), None).0, 204);
    let after = ureq::get(&srv.url(&format!("/r/{token}"))).set("Accept", "application/json").call();
    assert_eq!(status_of(after), 410);
}
