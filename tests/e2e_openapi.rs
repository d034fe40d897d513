//! Schemathesis (PyPI, in `.venv`) against `/openapi.json` on workerd, with the test tenant's
//! credentials: every operation of every dialect fuzzed, and no answer may be a 5xx or fail to
//! conform to the document (status code, content type, JSON schema).

mod support;

use std::process::Command;

use support::*;

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let srv = Server::start();
    let st = root().join(".venv/bin/schemathesis");
    assert!(st.exists(), "{} is missing: `make setup` installs it", st.display());
    let report = root().join("target/e2e-openapi");
    std::fs::create_dir_all(&report).unwrap();
    let out = Command::new(&st)
        .arg("run")
        .arg(srv.url("/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--workers",
            "2",
            "--seed",
            "1",
            "--request-timeout",
            "30",
            "--suppress-health-check",
            "all",
            "--continue-on-failure",
            "--warnings",
            "off",
        ])
        .args(["--auth", &format!("{USER}:{PASSWORD}")])
        .arg("--report-dir")
        .arg(&report)
        .args(["--report", "junit"])
        .env("SCHEMATHESIS_HOOKS", "st_hooks")
        .env("PYTHONPATH", root().join("tests/openapi"))
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stdout.lines().collect();
    let tail = tail[tail.len().saturating_sub(200)..].join("\n");
    // (the server's log follows when the assertion fails)
    assert!(out.status.success(), "schemathesis failed:\n{tail}\n{stderr}");
    assert!(stdout.contains("passed"), "{tail}");
    // the summary, for the test log
    let summary = stdout.find("SUMMARY").map_or("", |at| &stdout[at..]);
    eprintln!("{summary}");
    for phase in ["Coverage", "Fuzzing"] {
        assert!(summary.contains(&format!("✅ {phase}")), "the {phase} phase ran and passed:\n{summary}");
    }
}
