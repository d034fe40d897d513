//! The storage contract ([`crate::store::contract`]) run against the real bindings, for the
//! end-to-end tests: `POST /__self-test/storage` runs every check (R2 and KV here, an Upload
//! object's and a ledger object's storage in objects of their own) and answers what each
//! found. Only when `EDGESHARE_SELF_TEST` is `1`: a deployment never sets it, and the path is
//! then an ordinary `404`.

use worker::{Env, Request, Response};

use crate::platform::{self_test, Bindings, SELF_TEST_PATH};
use crate::store::contract;

/// The checks' results, or `None` when self-tests are off or the request is not one.
pub async fn serve(req: &Request, env: &Env) -> Option<worker::Result<Response>> {
    if req.method() != worker::Method::Post || !self_test(env, &req.path()) {
        return None;
    }
    Some(run(env).await)
}

async fn run(env: &Env) -> worker::Result<Response> {
    let b = Bindings::new(env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let outcome = |r: Result<(), String>| r.err().unwrap_or_else(|| "ok".into());
    let blobs = outcome(contract::blob_store(&b.blobs, "self-test/").await);
    let meta = outcome(contract::meta_store(&b.meta, "self-test:").await);
    let mut answers = Vec::new();
    for ns in [&b.objects.ns, &b.objects.ledgers] {
        let stub = ns.get_by_name("self-test")?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post);
        let req = Request::new_with_init(&format!("https://object{SELF_TEST_PATH}"), &init)?;
        answers.push(stub.fetch_with_request(req).await?.text().await?);
    }
    Response::from_json(&serde_json::json!({
        "blob_store": blobs,
        "meta_store": meta,
        "upload_store": answers[0],
        "ledger_store": answers[1],
    }))
}
