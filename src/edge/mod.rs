//! The worker entry and the request/response glue. Wiring only: build the context from
//! `Env`, route, hand the request to its dialect, send the reply.

pub mod body;

use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use worker::{event, Context, Env, Headers, Request, Response};

use crate::config::Config;
use crate::dialect::{ngcp, portsip, tus, Head, Reply};
use crate::durable::{DoJanitor, DoUploads};
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::http::download::BodyPlan;
use crate::route::{Method, Route};
use crate::store::kv::KvMeta;
use crate::store::r2::R2Blobs;

pub const BUCKET: &str = "FILES";
pub const KV: &str = "RECORDS";
pub const UPLOADS: &str = "UPLOADS";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    console_error_panic_hook::set_once();
    let path = req.path();
    let (route, reply) = handle(req, &env).await;
    let reply = reply.unwrap_or_else(|e| {
        // NGCP's log format; never a header or a body, so never a secret.
        worker::console_error!("Error at {path}: message={}, status={}", e, e.status());
        render_error(&route, &e)
    });
    match send(reply, &env).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            worker::console_error!("Error at {path}: message={}, status={}", e, e.status());
            send(render_error(&route, &e), &env).await.or_else(|_| Response::error("internal error", 500))
        }
    }
}

/// Each dialect renders errors in its own shape.
fn render_error(route: &Route, e: &Error) -> Reply {
    use Route::*;
    match route {
        TusOptions | TusCreate | TusHead { .. } | TusPatch { .. } | TusDelete { .. } | TusGet { .. } => {
            tus::error_reply(e)
        }
        PortsipInitiate
        | PortsipAppend { .. }
        | PortsipComplete { .. }
        | PortsipStatus { .. }
        | PortsipDestroy { .. }
        | PortsipDownload { .. } => portsip::error_reply(e),
        MethodNotAllowed { allow } => ngcp::error_reply(e).with_headers(&[("Allow", allow.to_string())]),
        Health | NgcpUpload | NgcpDownload { .. } | NotFound => ngcp::error_reply(e),
    }
}

/// The settings and the R2 and KV stores, from the worker's (or an object's) bindings.
pub fn stores(env: &Env) -> Result<(Config, R2Blobs, KvMeta)> {
    let binding = |e: worker::Error| Error::Internal(format!("binding: {e}"));
    let blobs = R2Blobs { bucket: env.bucket(BUCKET).map_err(binding)? };
    let meta = KvMeta { kv: env.kv(KV).map_err(binding)? };
    Ok((config(env)?, blobs, meta))
}

pub fn config(env: &Env) -> Result<Config> {
    Config::from_lookup(|name| {
        env.secret(name).ok().map(|s| s.to_string()).or_else(|| env.var(name).ok().map(|v| v.to_string()))
    })
}

async fn handle(req: Request, env: &Env) -> (Route, Result<Reply>) {
    let mut method = Method::parse(req.inner().method().as_str());
    // tus clients behind proxies that only pass GET and POST
    if method == Method::Post {
        if let Some(m) = req.headers().get("x-http-method-override").ok().flatten() {
            method = Method::parse(&m);
        }
    }
    let url = match req.url() {
        Ok(u) => u,
        Err(e) => return (Route::NotFound, Err(Error::bad_request(format!("bad url: {e}")))),
    };
    let route = Route::from(method, url.path());
    let head = Head::new(method, url.path(), url.query().unwrap_or(""), req.headers().entries().collect());
    // Bodies for uploads that a Durable Object owns go to it untouched; NGCP's form is read here.
    let raw_body = req.inner().body();
    let body = match body::SharedBody::new(if route == Route::NgcpUpload { raw_body.clone() } else { None }) {
        Ok(b) => b,
        Err(e) => return (route, Err(e)),
    };
    let origin = url.origin().ascii_serialization();
    let result = async {
        let (config, blobs, meta) = stores(env)?;
        let binding = |e: worker::Error| Error::Internal(format!("binding: {e}"));
        let objects = env.durable_object(UPLOADS).map_err(binding)?;
        let janitor = DoJanitor { ns: objects.clone() };
        let now = || worker::Date::now().as_millis();
        let ctx = Ctx { config: &config, blobs: &blobs, meta: &meta, janitor: &janitor, now: &now };
        let uploads = DoUploads { ns: objects };
        let tus = tus::Tus { ctx: &ctx, uploads: &uploads };
        let portsip = portsip::Portsip { ctx: &ctx, uploads: &uploads };
        match &route {
            Route::Health => Ok(Reply::json(200, serde_json::json!({"status": "ok"}))),
            Route::NgcpUpload => ngcp::upload(&ctx, &head, SendStream(body.clone())).await,
            Route::NgcpDownload { id } => ngcp::download(&ctx, &head, id).await,
            Route::TusOptions => Ok(tus::options(config.max_file_size)),
            Route::TusCreate => tus.create(&head, &origin, raw_body.clone()).await,
            Route::TusHead { id } => tus.head(&head, id).await,
            Route::TusPatch { id } => tus.patch(&head, id, raw_body.clone()).await,
            Route::TusDelete { id } => tus.delete(&head, id).await,
            Route::TusGet { id } => tus.get(&head, id).await,
            Route::PortsipInitiate => portsip.initiate(&head).await,
            Route::PortsipAppend { id } => portsip.append(&head, id, raw_body.clone()).await,
            Route::PortsipComplete { id } => portsip.complete(&head, id, raw_body.clone()).await,
            Route::PortsipStatus { id } => portsip.status(&head, id).await,
            Route::PortsipDestroy { id } => portsip.destroy(&head, id).await,
            Route::PortsipDownload { key } => portsip.download(&head, key).await,
            Route::MethodNotAllowed { .. } => Err(Error::MethodNotAllowed),
            Route::NotFound => Err(Error::not_found("not found")),
        }
    }
    .await;
    if result.is_err() {
        body.drain().await;
        // a body meant for a Durable Object but refused before it got there
        if let Some(raw) = raw_body.filter(|b| !b.locked()) {
            if let Ok(unread) = body::SharedBody::new(Some(raw)) {
                unread.drain().await;
            }
        }
    }
    (route, result)
}

/// Workers are single-threaded: a JS-backed stream may be handed to libraries that ask for
/// `Send` (multer) without ever crossing a thread.
pub struct SendStream<S>(S);
unsafe impl<S> Send for SendStream<S> {}

impl<S: Stream + Unpin> Stream for SendStream<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

fn headers_of(list: &[(&'static str, String)]) -> Result<Headers> {
    let h = Headers::new();
    for (k, v) in list {
        h.set(k, v).map_err(|e| Error::Internal(format!("header {k}: {e}")))?;
    }
    Ok(h)
}

async fn send(reply: Reply, env: &Env) -> Result<Response> {
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
            h.set("Content-Type", "text/plain; charset=utf-8").map_err(internal)?;
            Ok(Response::ok(body).map_err(internal)?.with_status(status).with_headers(h))
        }
        Reply::Empty { status, headers } => {
            Ok(Response::empty().map_err(internal)?.with_status(status).with_headers(headers_of(&headers)?))
        }
        Reply::Download { r2_key, plan } => {
            let h = headers_of(&plan.headers)?;
            let range = match plan.body {
                BodyPlan::None => {
                    return Ok(Response::empty().map_err(internal)?.with_status(plan.status).with_headers(h));
                }
                BodyPlan::Whole => None,
                BodyPlan::Part(span) => Some(worker::Range::OffsetWithLength { offset: span.start, length: span.len }),
            };
            let bucket = env.bucket(BUCKET).map_err(internal)?;
            let mut get = bucket.get(&r2_key);
            if let Some(r) = range {
                get = get.range(r);
            }
            let object = get
                .execute()
                .await
                .map_err(|e| Error::Storage(format!("r2 get: {e}")))?
                .ok_or(Error::not_found("file not found"))?;
            let body = object.body().ok_or(Error::not_found("file not found"))?;
            let stream = body.response_body().map_err(internal)?;
            Ok(Response::from_body(stream).map_err(internal)?.with_status(plan.status).with_headers(h))
        }
    }
}
