//! The worker entry and the response glue. Wiring only: build the context from `Env`, hand
//! the request to the dialects, send the reply.

mod self_test;

use worker::{event, Context, Env, Headers, Request, Response};

use crate::config::Config;
use crate::dialect::access_log::{self, AccessLog};
use crate::dialect::{self, Head, Reply, Service};
use crate::engine::catalog::tally::Counters;
use crate::engine::file::ids::new_uuid;
use crate::engine::Later;
use crate::error::{Error, Result};
use crate::http::download::BodyPlan;
use crate::http::purge::{purge_calls, retry_after, PurgeCall};
use crate::platform::body::{Body, EARLY_ANSWER_MS, REFUSAL_MS};
use crate::platform::Bindings;
use crate::route::{self, Method};

/// The Cron Trigger: the sweep of files stored before accounts (each account expires its own
/// files by its alarm).
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let result = async {
        let b = Bindings::new(&env)?;
        let later = Later::default();
        b.ctx(&later).sweep().await
    }
    .await;
    match result {
        Ok(swept) => worker::console_log!("sweep: {} expired, {} repaired", swept.expired, swept.repaired),
        Err(e) => worker::console_error!("sweep: {e}"),
    }
}

/// How long the digest of a file published before it waits, so that its answer leaves
/// first: reading a large file back is long, and on a local runtime it holds the thread that
/// would send the answer.
const DIGEST_DELAY_MS: u64 = 100;

/// Does, after the answer, what a request left for then: queues the events it told of that
/// need not be in the write of what they tell (a share link's downloads), one call to the
/// tenant's account each, and reads the digest of the files it published before knowing it.
fn after_answer(env: &Env, ctx: &Context, later: &Later) {
    let (events, digests) = (later.take_events(), later.take_digests());
    if events.is_empty() && digests.is_empty() {
        return;
    }
    let env = env.clone();
    ctx.wait_until(async move {
        let Ok(b) = Bindings::new(&env) else { return };
        let later = Later::default();
        let ctx = b.ctx(&later);
        for (tenant, kind, data) in events {
            if let Err(e) = ctx.emit(&tenant, &kind, data).await {
                worker::console_error!("event {kind}: {e}");
            }
        }
        if !digests.is_empty() {
            // a long read: the answer leaves first
            worker::Delay::from(std::time::Duration::from_millis(DIGEST_DELAY_MS)).await;
        }
        for record in digests {
            let id = record.id.clone();
            if let Err(e) = ctx.settle_digest(record).await {
                worker::console_error!("digest of {id}: {e}");
            }
        }
    });
}

/// Drops a deleted file's public downloads from the cache: this location's copy under its
/// one canonical key (the Cache API has no global delete), and, where the operator configured
/// Cloudflare's purge API, every location's, retried while the API fails. Without the purge
/// API, other locations keep a copy at most `EDGESHARE_CACHE_MAX_AGE` (the `max-age` of
/// every public file that can be deleted).
fn purge_later(ctx: &Context, config: &Config, paths: Vec<String>) {
    if paths.is_empty() {
        return;
    }
    let urls: Vec<String> = paths.into_iter().map(|p| format!("{}{p}", config.cache_origin())).collect();
    let calls = match &config.purge {
        Some(api) => purge_calls(&api.api, &api.zone_id, api.token.expose(), &urls),
        None => Vec::new(),
    };
    ctx.wait_until(async move {
        for url in &urls {
            let _ = worker::Cache::default().delete(url.as_str(), false).await;
        }
        for call in calls {
            purge(call).await;
        }
    });
}

/// One call to the purge API, tried again as [`retry_after`] says. The token is never logged.
async fn purge(call: PurgeCall) {
    let mut attempt = 1;
    loop {
        let status = match purge_once(&call).await {
            Ok(status) => Some(status),
            Err(e) => {
                worker::console_error!("purge: {e}");
                None
            }
        };
        match retry_after(attempt, status) {
            Some(ms) => worker::Delay::from(std::time::Duration::from_millis(ms)).await,
            None => {
                if status.is_some_and(|s| (200..300).contains(&s)) {
                    worker::console_log!("purge: done after {attempt} attempt(s)");
                } else {
                    worker::console_error!("purge: gave up after {attempt} attempt(s), last status {status:?}");
                }
                return;
            }
        }
        attempt += 1;
    }
}

async fn purge_once(call: &PurgeCall) -> worker::Result<u16> {
    let headers = Headers::new();
    headers.set("Authorization", &call.authorization)?;
    headers.set("Content-Type", "application/json")?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post).with_headers(headers).with_body(Some(call.body.as_str().into()));
    let req = Request::new_with_init(&call.url, &init)?;
    Ok(worker::Fetch::Request(req).send().await?.status_code())
}

/// A public download from this location's cache, under its canonical key, with the request's
/// `Range` and conditions (the cache answers a range from the whole it holds).
async fn cache_match(key: &str, head: &dialect::Head) -> worker::Result<Option<Response>> {
    let headers = Headers::new();
    for name in ["range", "if-none-match", "if-modified-since"] {
        if let Some(v) = head.header(name) {
            headers.set(name, v)?;
        }
    }
    let req = Request::new_with_init(key, worker::RequestInit::new().with_headers(headers))?;
    worker::Cache::default().get(&req, false).await
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, wctx: Context) -> worker::Result<Response> {
    console_error_panic_hook::set_once();
    let started = crate::platform::now();
    let url = match req.url() {
        Ok(u) => u,
        Err(e) => return send_plain(Error::bad_request(format!("bad url: {e}"))),
    };
    if let Some(answer) = self_test::serve(&req, &env).await {
        return answer;
    }
    let method = Method::parse(req.inner().method().as_str());
    let head = Head::new(method, url.path(), url.query().unwrap_or(""), req.headers().entries().collect());
    // the access log, unless `EDGESHARE_ACCESS_LOG=off` (a client's id is echoed all the same)
    let logging = crate::platform::setting(&env, "EDGESHARE_ACCESS_LOG").as_deref() != Some("off");
    let request_id = access_log::request_id(head.header("x-request-id"), || match logging {
        true => new_uuid(),
        false => String::new(),
    });
    let mut log = AccessLog {
        request_id: request_id.clone(),
        tenant: None,
        dialect: "",
        method: method.as_str(),
        endpoint: None,
        path: access_log::cut_path(url.path()),
        status: 0,
        bytes_in: head.content_length(),
        bytes_out: None,
        duration_ms: 0,
        error: None,
        download: false,
    };
    let resp = answer(&req, &env, &wctx, &url, head, &mut log).await;
    log.duration_ms = crate::platform::now().saturating_sub(started);
    if let Some(status) = resp.as_ref().ok().map(|r| r.status_code()).or(Some(500)) {
        let bytes_out = resp.as_ref().ok().and_then(|r| r.headers().get("content-length").ok().flatten());
        count(&env, &wctx, &log, status, bytes_out.and_then(|l| l.parse().ok()));
    }
    match resp {
        Ok(resp) => {
            log.status = resp.status_code();
            log.bytes_out = resp.headers().get("content-length").ok().flatten().and_then(|l| l.parse().ok());
            if logging {
                worker::console_log!("{}", log.line());
            }
            if !request_id.is_empty() {
                let _ = resp.headers().set("X-Request-ID", &request_id);
            }
            Ok(resp)
        }
        Err(e) => {
            log.status = 500;
            log.error = Some("internal");
            if logging {
                worker::console_log!("{}", log.line());
            }
            Err(e)
        }
    }
}

/// Counts an answered request for its tenant in this isolate, and adds the isolate's counts
/// to the accounts after the answer once a flush is due (`EDGESHARE_COUNTER_FLUSH_SECS`).
fn count(env: &Env, wctx: &Context, log: &AccessLog, status: u16, bytes_out: Option<u64>) {
    let Some(tenant) = &log.tenant else { return };
    let tally = crate::platform::tally();
    tally.add(tenant, &Counters::request(status, log.bytes_in, bytes_out, log.download));
    let every = crate::platform::setting(env, "EDGESHARE_COUNTER_FLUSH_SECS").and_then(|v| v.trim().parse().ok());
    let due = tally.take_due(crate::platform::now(), every.unwrap_or(30u64) * 1000);
    if due.is_empty() {
        return;
    }
    let env = env.clone();
    wctx.wait_until(async move {
        let Ok(b) = Bindings::new(&env) else { return };
        let later = Later::default();
        let ctx = b.ctx(&later);
        for (tenant, counters) in due {
            if let Err(e) = ctx.add_counters(&tenant, counters).await {
                worker::console_error!("counters of {tenant}: {e}");
            }
        }
    });
}

/// The answer to a request, and what the access log says of it.
async fn answer(
    req: &Request,
    env: &Env,
    wctx: &Context,
    url: &worker::Url,
    head: Head,
    log: &mut AccessLog,
) -> worker::Result<Response> {
    // public downloads whose bytes cannot change: from this location's cache when they are in
    // it (a `Range` is answered from the cached whole), without a read of R2 or of the rest of
    // the settings; one canonical key per file, whatever the spelling of the URL, so that a
    // deletion purges it
    let found = dialect::route_head(&head);
    if let route::Found::Endpoint { dialect, endpoint, .. } = &found {
        // until the outcome cuts its capabilities short, the path is the row's template: a
        // cached public download's path is its capability
        (log.dialect, log.endpoint, log.path) = (dialect.name(), Some(endpoint.path), endpoint.path.into());
    }
    let cache_key = match dialect::shared_cache_path(&head, &found) {
        Some(path) => match crate::config::public_url(&|name| crate::platform::setting(env, name)) {
            Ok(public) => Some(format!("{}{path}", crate::config::cache_origin(public.as_deref()))),
            // a malformed setting: answered below, with the rest of the settings
            Err(_) => None,
        },
        None => None,
    };
    if let Some(key) = &cache_key {
        if let Ok(Some(hit)) = cache_match(key, &head).await {
            return Ok(hit);
        }
    }
    let b = match Bindings::new(env) {
        Ok(b) => b,
        Err(e) => {
            worker::console_error!("Error at {}: message={e}, status={}", url.path(), e.status());
            log.error = Some(e.code());
            return send_plain(e);
        }
    };
    // URLs in answers: the configured public origin, the request's only where none is
    let request_origin = url.origin().ascii_serialization();
    let origin = b.config.origin(&request_origin).to_string();
    let body = Body::new(req.inner().body());
    let later = Later::default();
    let mut ctx = b.ctx(&later);
    ctx.client = crate::engine::throttle::client_key(head.header("cf-connecting-ip"));
    let svc = Service { ctx: &ctx, objects: &b.objects };
    let outcome = dialect::serve_routed(&svc, &head, found, &origin, body.clone()).await;
    // NGCP's log format; never a header or a body, and a capability in the path is cut short,
    // so never a secret.
    // (a path no row served, a capability sent with the wrong method perhaps, is cut too)
    let log_path = match outcome.endpoint {
        Some(_) => outcome.log_path(url.path()),
        None => access_log::cut_path(url.path()),
    };
    log.path = log_path.clone();
    log.dialect = outcome.dialect.name();
    log.tenant = outcome.tenant.as_ref().map(|t| t.0.clone());
    if let Some(e) = &outcome.error {
        log.error = Some(e.code());
        worker::console_error!("Error at {log_path}: message={e}, status={}", e.status());
        // An early answer waits for the client to finish sending (else it sees a reset), but
        // not for long when the caller is refused, and never reading the body into wasm.
        body.discard(if e.refuses_caller() { REFUSAL_MS } else { EARLY_ANSWER_MS }).await;
    }
    purge_later(wctx, &b.config, later.take_purges());
    after_answer(env, wctx, &later);
    log.download = matches!(outcome.reply, Reply::Download { .. } | Reply::Zip { .. });
    let cache_key = cache_key.filter(|_| outcome.reply.cacheable());
    match send(outcome.reply, &b).await {
        Ok(mut resp) => {
            if let Some(key) = cache_key {
                if let Ok(copy) = resp.cloned() {
                    wctx.wait_until(async move {
                        let _ = worker::Cache::default().put(&key, copy).await;
                    });
                }
            }
            Ok(resp)
        }
        Err(e) => {
            worker::console_error!("Error at {log_path}: message={e}, status={}", e.status());
            log.error = Some(e.code());
            match send(dialect::error_reply(outcome.dialect, &e), &b).await {
                Ok(resp) => Ok(resp),
                Err(_) => send_plain(e),
            }
        }
    }
}

/// An error before any dialect could be chosen, as NGCP renders it.
fn send_plain(e: Error) -> worker::Result<Response> {
    let body = serde_json::json!({ "message": e.message() }).to_string();
    Ok(Response::ok(body)?.with_status(e.status()))
}

fn headers_of(list: &[(&'static str, String)]) -> Result<Headers> {
    let h = Headers::new();
    for (k, v) in list {
        h.set(k, v).map_err(|e| Error::Internal(format!("header {k}: {e}")))?;
    }
    Ok(h)
}

async fn send(reply: Reply, b: &Bindings) -> Result<Response> {
    let internal = |e: worker::Error| Error::Internal(e.to_string());
    match reply {
        Reply::Json { status, headers, body } => {
            let h = headers_of(&headers)?;
            h.set("Content-Type", "application/json; charset=utf-8").map_err(internal)?;
            let text = serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(Response::ok(text).map_err(internal)?.with_status(status).with_headers(h))
        }
        Reply::Text { status, headers, body } => {
            let h = headers_of(&headers)?;
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                h.set("Content-Type", "text/plain; charset=utf-8").map_err(internal)?;
            }
            Ok(Response::ok(body).map_err(internal)?.with_status(status).with_headers(h))
        }
        Reply::Empty { status, headers } => {
            Ok(Response::empty().map_err(internal)?.with_status(status).with_headers(headers_of(&headers)?))
        }
        Reply::Download { plan, body, .. } => {
            let h = headers_of(&plan.headers)?;
            // the body the engine read: whole, in the same R2 call as the file's metadata, or
            // the range the plan serves
            let response = match body.and_then(|p| p.take::<worker::ResponseBody>()) {
                Some(stream) => Response::from_body(stream),
                None if plan.body == BodyPlan::None => Response::empty(),
                None => return Err(Error::Internal("a download without its body".into())),
            };
            Ok(response.map_err(internal)?.with_status(plan.status).with_headers(h))
        }
        // the zip's bytes as the client takes them: each file's from R2, a chunk at a time
        Reply::Zip { plan, span, bundle } => {
            let h = headers_of(&plan.headers)?;
            let response = match span {
                Some(span) => {
                    let pieces = crate::engine::bundle::pieces(&bundle, span)?;
                    let body = crate::platform::zip::body(b.blobs.bucket.clone(), pieces, span.len)?;
                    Response::from_body(worker::ResponseBody::Stream(body))
                }
                None => Response::empty(),
            };
            Ok(response.map_err(internal)?.with_status(plan.status).with_headers(h))
        }
    }
}
