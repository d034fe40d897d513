//! File requests (upload-only links): a tenant asks for files at `/v1/requests`, and anyone
//! with the request's link sends them, without an account, at `/r/{token}` (the upload page
//! in its request mode; JSON for `Accept: application/json`) through tus at
//! `/r/{token}/files/` (the token is the credential; the request's password, if it has one,
//! as `X-Request-Password` where an upload starts). What arrives is the tenant's file like
//! any other (listed, counted, announced), with the request's label. The request's object
//! reserves each upload's place before its first byte ([`crate::engine::ledger::request`]).

use serde_json::{json, Value};

use super::Op::Requests;
use super::{form, tus, Dialect, Reply, Request, Service};
use crate::auth::Tenant;
use crate::engine::file::ids::{iso8601_ms, new_uuid};
use crate::engine::ledger::link::{self, Change, LinkCall};
use crate::engine::ledger::request::{
    self, FileRequest, RequestAnswer, RequestCall, RequestChange, MAX_LABEL, MAX_UPLOADS, REQUEST_NOT_FOUND,
};
use crate::engine::ledger::{LedgerAnswer, LedgerCall, LedgerCalls};
use crate::engine::throttle;
use crate::engine::upload::calls::Uploads;
use crate::engine::upload::state::UPLOAD_NOT_FOUND;
use crate::error::{Error, Result};
use crate::route::{opt, row, Kind, Media, Param, PathParam, Spec, Table, JSON};
use crate::secret::Secret;
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    List,
    Update,
    Revoke,
    Look,
    TusCreate,
    TusHead,
    TusPatch,
    TusDelete,
    TusOptions,
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Native,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row!(Post "/v1/requests", Requests(Op::Create), Tenant, Read,
            "Creates a file request (an upload-only link): JSON `{\"max_files\", \"max_bytes\", \"expires_in\", \
            \"label\", \"password\"}`, all optional (one file, no byte limit, a day): 201 with `{\"token\", \"url\", \
            \"expires_at\", \"max_files\", \"max_bytes\", \"files\", \"bytes\", ...}`. Its page is `url`, `/r/{token}`.")
        .with(Spec::ok(&[(201, Media::Json)]).takes(JSON)),
        row!(Get "/v1/requests", Requests(Op::List), Tenant, None,
            "The tenant's file requests: `{\"requests\": [...]}`, each with what arrived (`files`, `bytes`, `done`) \
            and its `state`: `open`, `used_up`, `expired`. Revoked ones are not listed."),
        row!(Patch "/v1/requests/{token}", Requests(Op::Update), Tenant, Read,
            "Changes a file request: any of `max_files`, `max_bytes`, `expires_in`, `label`, `password` (`null` \
            removes a byte limit, a label or a password): 200 with the request.")
        .with(Spec::DEFAULT.takes(JSON).errors(&[410])),
        row!(Delete "/v1/requests/{token}", Requests(Op::Revoke), Tenant, None,
            "Revokes a file request: 204; its page and uploads answer 410 from then on (files that arrived stay).")
        .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Get "/r/{token}", Requests(Op::Look), RevocableCapability, None,
            "A file request: the upload page for browsers; JSON `{\"label\", \"tenant\", \"state\", \"expires_at\", \
            \"max_files\", \"max_bytes\", \"files\", \"bytes\", \"files_left\", \"bytes_left\", \"has_password\"}` \
            otherwise (`401` without its password, given as `X-Request-Password`).")
        .with(Spec::DEFAULT.headers(PASSWORD).errors(&[401, 403, 410])),
    ],
};

pub const TUS_TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Tus,
    prefixes: &[""],
    method_override: true,
    endpoints: &[
        row!(Post "/r/{token}/files/", Requests(Op::TusCreate), RevocableCapability, Forward,
            "tus creation through a file request (`Upload-Length` required, within what the request has left; its \
            password as `X-Request-Password`); then `HEAD`, `PATCH` and `DELETE` of the upload at its `Location`.")
        .with(Spec::ok(&[(201, Media::Empty)]).takes(OFFSET_OCTETS).headers(PASSWORD).errors(&[401, 403, 410, 413])),
        row!(Options "/r/{token}/files/", Requests(Op::TusOptions), None, None, "Capabilities.")
            .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Head "/r/{token}/files/{id}", Requests(Op::TusHead), RevocableCapability, None,
            "Where an upload through the request stands.")
        .with(Spec::ok(&[(200, Media::Empty)]).errors(&[404, 410])),
        row!(Patch "/r/{token}/files/{id}", Requests(Op::TusPatch), RevocableCapability, Forward,
            "Appends to an upload through the request.")
        .with(Spec::ok(&[(204, Media::Empty)]).takes(OFFSET_OCTETS).errors(&[404, 409, 410])),
        row!(Delete "/r/{token}/files/{id}", Requests(Op::TusDelete), RevocableCapability, None,
            "Terminates an unfinished upload through the request (its place is free again; a finished file stays).")
        .with(Spec::ok(&[(204, Media::Empty)]).errors(&[404, 410])),
        row!(Options "/r/{token}/files/{id}", Requests(Op::TusOptions), None, None, "Capabilities.")
            .with(Spec::ok(&[(204, Media::Empty)])),
    ],
};

const OFFSET_OCTETS: &[&str] = &["application/offset+octet-stream"];
const PASSWORD: &[Param] = &[opt("X-Request-Password", Kind::Str, "The file request's password.")];
/// A request's life unless asked otherwise: a day; at most a year.
const DEFAULT_TTL: u64 = 86_400;
const MAX_TTL: u64 = 365 * 86_400;
/// The upload page, served at `/r/{token}` for browsers (it finds its request in its path).
const PAGE: &str = include_str!("../../web/index.html");
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                        connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                        form-action 'self'";

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    match op {
        Op::Create => create(svc, req, req.tenant()?, P::read(body)).await,
        Op::List => list(svc, req, req.tenant()?).await,
        Op::Update => update(svc, req, req.tenant()?, P::read(body)).await,
        Op::Revoke => revoke(svc, req.tenant()?, token_of(req)?).await,
        Op::Look => look(svc, req).await,
        Op::TusOptions => Ok(tus::options(svc.ctx.config.max_file_size)),
        Op::TusCreate | Op::TusHead | Op::TusPatch | Op::TusDelete => upload(svc, op, req, body).await,
    }
}

/// The request's password, if the client sent one: every password tried costs a hash, so
/// at most so many per client address and minute (as a share link's).
async fn password<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>) -> Result<Option<String>> {
    let Some(given) = req.head.header("x-request-password") else { return Ok(None) };
    if given.is_empty() || given.len() > link::MAX_PASSWORD {
        return Err(Error::Forbidden("wrong password or no such file request".into()));
    }
    let client = throttle::client_key(req.head.header("cf-connecting-ip"));
    throttle::password_attempt(svc.ctx.throttle, &client).await?;
    Ok(Some(given.to_string()))
}

fn token_of<'r>(req: &'r Request<'_>) -> Result<&'r str> {
    let token = req.params.get(PathParam::Token);
    if link::is_token(token) {
        Ok(token)
    } else {
        Err(Error::not_found(REQUEST_NOT_FOUND))
    }
}

/// A call to a request's object.
async fn call<P: Platform>(svc: &Service<'_, P>, token: &str, call: RequestCall) -> Result<FileRequest> {
    match svc.objects.ledger(&request::request_object(token), LedgerCall::Request(call)).await? {
        LedgerAnswer::Request(RequestAnswer::Request { request }) => Ok(request),
        other => Err(Error::Internal(format!("request object answered {other:?}"))),
    }
}

/// A call to the tenant's list of requests (a list object as a file's list of links).
async fn listed<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, call: LinkCall) -> Result<Vec<String>> {
    super::share::tokens(svc, &request::requests_object(&tenant.0), call).await
}

/// A request as its tenant sees it.
fn request_json(token: &str, r: &FileRequest, origin: &str, now: u64) -> Value {
    json!({
        "token": token,
        "url": format!("{origin}/r/{token}"),
        "state": r.state(now).as_str(),
        "label": r.label,
        "created_at": iso8601_ms(r.created_at),
        "expires_at": iso8601_ms(r.expires_at),
        "max_files": r.max_files,
        "max_bytes": r.max_bytes,
        "files": r.files,
        "bytes": r.bytes,
        "done": r.done,
        "has_password": r.has_password,
    })
}

/// What a client asks of a request, checked: `(max_files, max_bytes, expires_in, label, password)`
/// as changes (absent: kept).
struct Ask {
    max_files: Option<u64>,
    max_bytes: Change<u64>,
    expires_in: Option<u64>,
    label: Change<String>,
    password: Change<String>,
}

fn parse_ask(fields: &serde_json::Map<String, Value>, max_file_size: u64) -> Result<Ask> {
    let number = |name: &str, max: u64| -> Result<Change<u64>> {
        match fields.get(name) {
            None => Ok(Change::Keep),
            Some(Value::Null) => Ok(Change::Remove),
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=max).contains(n))
                .map(Change::Set)
                .ok_or_else(|| Error::bad_request(format!("{name} must be an integer from 1 to {max}"))),
        }
    };
    let text = |name: &str, max: usize| -> Result<Change<String>> {
        match fields.get(name) {
            None => Ok(Change::Keep),
            Some(Value::Null) => Ok(Change::Remove),
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= max && !s.chars().any(char::is_control) => {
                Ok(Change::Set(s.trim().to_string()))
            }
            Some(_) => Err(Error::bad_request(format!("{name} must be a string of 1 to {max} bytes"))),
        }
    };
    Ok(Ask {
        max_files: number("max_files", MAX_UPLOADS)?.set(),
        max_bytes: number("max_bytes", max_file_size.saturating_mul(MAX_UPLOADS))?,
        expires_in: number("expires_in", MAX_TTL)?.set(),
        label: text("label", MAX_LABEL)?,
        password: text("password", link::MAX_PASSWORD)?,
    })
}

fn hash<P: Platform>(svc: &Service<'_, P>, password: Change<String>) -> Result<Change<String>> {
    Ok(match password {
        Change::Set(p) => Change::Set(super::native::hash(svc.ctx.config, &p)?),
        other => other,
    })
}

async fn create<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    body: crate::engine::upload::calls::ByteStream,
) -> Result<Reply> {
    let fields = form::small_json(body).await?;
    let ask = parse_ask(&fields, svc.ctx.config.max_file_size)?;
    let now = svc.ctx.now();
    let request = FileRequest {
        tenant: tenant.0.clone(),
        label: ask.label.set(),
        created_at: now,
        expires_at: now.saturating_add(ask.expires_in.unwrap_or(DEFAULT_TTL) * 1000),
        max_files: ask.max_files.unwrap_or(1),
        max_bytes: ask.max_bytes.set(),
        files: 0,
        bytes: 0,
        done: 0,
        password: hash(svc, ask.password)?.set(),
        has_password: false,
        revoked: false,
    };
    let token = Secret::random::<24>();
    let add =
        LinkCall::Add { tenant: tenant.0.clone(), token: token.expose().to_string(), expires_at: request.expires_at };
    listed(svc, tenant, add).await?;
    let request = call(svc, token.expose(), RequestCall::Create { request }).await?;
    Ok(Reply::json(201, request_json(token.expose(), &request, req.origin, now)))
}

async fn list<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &Tenant) -> Result<Reply> {
    let now = svc.ctx.now();
    let mut out = Vec::new();
    for token in listed(svc, tenant, LinkCall::List { tenant: tenant.0.clone() }).await? {
        match call(svc, &token, RequestCall::Peek { tenant: tenant.0.clone() }).await {
            Ok(r) if !r.revoked => out.push(request_json(&token, &r, req.origin, now)),
            Ok(_) | Err(Error::NotFound(_)) => {
                listed(svc, tenant, LinkCall::Remove { token }).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Reply::json(200, json!({"requests": out})))
}

async fn update<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    body: crate::engine::upload::calls::ByteStream,
) -> Result<Reply> {
    let token = token_of(req)?;
    let fields = form::small_json(body).await?;
    let ask = parse_ask(&fields, svc.ctx.config.max_file_size)?;
    let now = svc.ctx.now();
    let expires_at = ask.expires_in.map(|s| now.saturating_add(s * 1000));
    let change = RequestChange {
        expires_at,
        max_files: ask.max_files,
        max_bytes: ask.max_bytes,
        password: hash(svc, ask.password)?,
        label: ask.label,
    };
    let r = call(svc, token, RequestCall::Update { tenant: tenant.0.clone(), change }).await?;
    if let Some(at) = expires_at {
        let add = LinkCall::Add { tenant: tenant.0.clone(), token: token.to_string(), expires_at: at };
        listed(svc, tenant, add).await?;
    }
    Ok(Reply::json(200, request_json(token, &r, req.origin, now)))
}

async fn revoke<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, token: &str) -> Result<Reply> {
    call(svc, token, RequestCall::Revoke { tenant: tenant.0.clone() }).await?;
    listed(svc, tenant, LinkCall::Remove { token: token.to_string() }).await?;
    Ok(Reply::Empty { status: 204, headers: Vec::new() })
}

/// `GET /r/{token}`: the upload page for a browser (which asks for the JSON itself), the
/// request as its uploaders see it for everyone else.
async fn look<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>) -> Result<Reply> {
    let token = token_of(req)?;
    let wants_page = req.head.header("accept").is_some_and(|a| a.contains("text/html"));
    if wants_page {
        return Ok(super::share_page::html(200, PAGE_CSP, PAGE.to_string()));
    }
    let password = password(svc, req).await?;
    let r = call(svc, token, RequestCall::Look { password }).await?;
    let now = svc.ctx.now();
    if let Some(closed) = r.closed(now) {
        return Err(closed);
    }
    Ok(Reply::json(
        200,
        json!({
            "label": r.label,
            "tenant": r.tenant,
            "state": r.state(now).as_str(),
            "expires_at": iso8601_ms(r.expires_at),
            "max_files": r.max_files,
            "max_bytes": r.max_bytes,
            "files": r.files,
            "bytes": r.bytes,
            "files_left": r.max_files.saturating_sub(r.files),
            "bytes_left": r.bytes_left(),
            "has_password": r.has_password,
            "max_file_size": svc.ctx.config.max_file_size,
        }),
    ))
}

/// The tus routes of a request: creation reserves the upload's place first (and gives it
/// back if the creation fails); the others reach only the request's own uploads; a finished
/// upload is marked so; a terminated unfinished one frees its place.
async fn upload<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    crate::http::tus::check_version(req.head.header("tus-resumable"))?;
    let token = token_of(req)?;
    let base = format!("/r/{token}/files");
    if op == Op::TusCreate {
        let length = tus::creation_length(req.head, svc.ctx.config.max_file_size)?
            .ok_or_else(|| Error::bad_request("a file request needs Upload-Length"))?;
        let id = new_uuid();
        let password = password(svc, req).await?;
        let r = call(svc, token, RequestCall::Reserve { id: id.clone(), length, password }).await?;
        let tenant = Tenant(r.tenant.clone());
        let place = tus::Place { base, id: Some(id.clone()), label: r.label.clone() };
        return match tus::create(svc, req, &tenant, body, place).await {
            Ok(reply) => {
                if reply.header("Upload-Offset").and_then(|o| o.parse::<u64>().ok()) == Some(length) {
                    call(svc, token, RequestCall::Landed { id }).await?;
                }
                Ok(reply)
            }
            Err(e) => {
                let _ = call(svc, token, RequestCall::Release { id }).await;
                Err(e)
            }
        };
    }
    let id = req.path_uuid(PathParam::Id, UPLOAD_NOT_FOUND)?;
    let r = call(svc, token, RequestCall::Owns { id: id.clone() }).await.map_err(|e| match e {
        Error::NotFound(_) => Error::not_found(UPLOAD_NOT_FOUND),
        other => other,
    })?;
    let tenant = Tenant(r.tenant.clone());
    match op {
        Op::TusHead => tus::head(svc, &tenant, &id).await,
        Op::TusPatch => {
            let reply = tus::patch(svc, req, &tenant, &id, body).await?;
            // finished (or finished and forgotten by its object already)
            let finished = match svc.objects.state(&id, &tenant.0, None).await {
                Ok(st) => st.file.is_some(),
                Err(Error::NotFound(_)) => true,
                Err(e) => return Err(e),
            };
            if finished {
                call(svc, token, RequestCall::Landed { id }).await?;
            }
            Ok(reply)
        }
        Op::TusDelete => {
            tus::terminate_unfinished(svc, &tenant, &id).await?;
            call(svc, token, RequestCall::Release { id }).await?;
            Ok(Reply::Empty { status: 204, headers: tus::base_headers() })
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Method::*;
    use crate::testkit::{World, ACME_BEARER, BOBCO_BEARER};

    const ACME: (&str, &str) = ("Authorization", ACME_BEARER);
    const V: (&str, &str) = ("Tus-Resumable", "1.0.0");
    const OCTETS: (&str, &str) = ("Content-Type", "application/offset+octet-stream");

    fn make(w: &World, ask: Value) -> Value {
        let r = w.send(Post, "/v1/requests", &[ACME], ask.to_string().into_bytes());
        assert_eq!(r.status(), 201, "{r:?}");
        World::json(&r)
    }

    fn create(w: &World, token: &str, len: u64, extra: &[(&str, &str)]) -> Reply {
        let len = len.to_string();
        let mut headers = vec![V, ("Upload-Length", len.as_str()), ("Upload-Metadata", "filename aW52b2ljZS5wZGY=")];
        headers.extend_from_slice(extra);
        w.send(Post, &format!("/r/{token}/files/"), &headers, Vec::new())
    }

    fn patch(w: &World, location: &str, offset: u64, bytes: &[u8]) -> Reply {
        let path = location.trim_start_matches("https://edge.example");
        let (offset, len) = (offset.to_string(), bytes.len().to_string());
        let headers = [V, OCTETS, ("Upload-Offset", offset.as_str()), ("Content-Length", len.as_str())];
        w.send(Patch, path, &headers, bytes.to_vec())
    }

    #[test]
    fn files_arrive_through_a_request_within_its_limits() {
        let w = World::new();
        let made = make(&w, json!({"max_files": 2, "max_bytes": 20, "label": "Invoices"}));
        let token = made["token"].as_str().unwrap().to_string();
        assert_eq!(
            (made["files"].as_u64(), made["url"].as_str()),
            (Some(0), Some(&*format!("https://edge.example/r/{token}")))
        );
        // what an uploader sees
        let look = World::json(&w.send(Get, &format!("/r/{token}"), &[("Accept", "application/json")], Vec::new()));
        assert_eq!(
            (look["label"].as_str(), look["files_left"].as_u64(), look["bytes_left"].as_u64()),
            (Some("Invoices"), Some(2), Some(20))
        );
        assert_eq!(create(&w, &token, 21, &[]).status(), 413, "more than it has left");
        let deferred = w.send(Post, &format!("/r/{token}/files/"), &[V, ("Upload-Defer-Length", "1")], Vec::new());
        assert_eq!(deferred.status(), 400);
        let first = create(&w, &token, 12, &[]);
        assert_eq!(first.status(), 201, "{first:?}");
        let location = first.header("Location").unwrap().to_string();
        assert!(location.contains(&format!("/r/{token}/files/")), "{location}");
        assert_eq!(patch(&w, &location, 0, b"hello ").status(), 204);
        assert_eq!(patch(&w, &location, 6, b"world!").status(), 204);
        // a second file takes the rest; a third is refused
        let second = create(&w, &token, 8, &[]);
        assert_eq!(second.status(), 201);
        let r = create(&w, &token, 0, &[]);
        assert_eq!((r.status(), r.header("Tus-Resumable")), (410, Some("1.0.0")), "used up");
        // the file is the tenant's, labelled
        let files = World::json(&w.send(Get, "/v1/files", &[ACME], Vec::new()));
        let id = location.rsplit('/').next().unwrap();
        assert!(files["files"].as_array().unwrap().iter().any(|f| f["id"] == id && f["name"] == "invoice.pdf"));
        let got = w.send(Get, &format!("/files/{id}"), &[ACME, V], Vec::new());
        assert_eq!(w.body(&got), b"hello world!");
        // the tenant's other routes are not the request's: another upload's id, another tenant's
        let own = w.send(Post, "/files/", &[ACME, V, ("Upload-Length", "3")], Vec::new());
        let other = own.header("Location").unwrap().rsplit('/').next().unwrap().to_string();
        let h = w.send(Head, &format!("/r/{token}/files/{other}"), &[V], Vec::new());
        assert_eq!(h.status(), 404);
        // the second upload terminated: its place is free
        let second = second.header("Location").unwrap().trim_start_matches("https://edge.example").to_string();
        assert_eq!(w.send(Delete, &second, &[V], Vec::new()).status(), 204);
        let listed = World::json(&w.send(Get, "/v1/requests", &[ACME], Vec::new()));
        let row = &listed["requests"][0];
        assert_eq!((row["files"].as_u64(), row["bytes"].as_u64(), row["done"].as_u64()), (Some(1), Some(12), Some(1)));
        assert_eq!(row["state"], "open");
        // counted in the tenant's usage like any file
        let usage = World::json(&w.send(Get, "/v1/usage", &[ACME], Vec::new()));
        assert_eq!((usage["files"].as_u64(), usage["bytes"].as_u64()), (Some(1), Some(12)), "{usage}");
        // another tenant cannot see or revoke it
        let bob = [("Authorization", BOBCO_BEARER)];
        assert_eq!(World::json(&w.send(Get, "/v1/requests", &bob, Vec::new()))["requests"], json!([]));
        assert_eq!(w.send(Delete, &format!("/v1/requests/{token}"), &bob, Vec::new()).status(), 404);
        assert_eq!(w.send(Delete, &format!("/v1/requests/{token}"), &[ACME], Vec::new()).status(), 204);
        assert_eq!(create(&w, &token, 1, &[]).status(), 410);
        assert_eq!(w.send(Get, &format!("/r/{token}"), &[("Accept", "application/json")], Vec::new()).status(), 410);
        // the page for browsers
        let page = w.send(Get, &format!("/r/{token}"), &[("Accept", "text/html")], Vec::new());
        assert!(matches!(&page, Reply::Text { body, .. } if body.contains("/app.js")));
    }

    /// Invented tokens and ids: `404` (tus-shaped under `/r/{token}/files/`), nothing written;
    /// an absurd label or password refused; a request's token is no credential for `/v1/`.
    #[test]
    fn invented_tokens_find_nothing_and_absurd_asks_are_refused() {
        let w = World::new();
        let invented = "A".repeat(32);
        let json = [("Accept", "application/json")];
        assert_eq!(w.send(Get, &format!("/r/{invented}"), &json, Vec::new()).status(), 404);
        let r = create(&w, &invented, 3, &[]);
        assert_eq!((r.status(), r.header("Tus-Resumable")), (404, Some("1.0.0")));
        let id = "88e5905d-5d96-4750-ab3d-77a1ed26f569";
        assert_eq!(w.send(Head, &format!("/r/{invented}/files/{id}"), &[V], Vec::new()).status(), 404);
        assert_eq!(w.send(Get, &format!("/r/{}", "x".repeat(5000)), &json, Vec::new()).status(), 404);
        assert!(w.ledger(&request::request_object(&invented)).entries.borrow().is_empty(), "nothing written");
        let token = make(&w, json!({}))["token"].as_str().unwrap().to_string();
        assert_eq!(w.send(Head, &format!("/r/{token}/files/not-a-uuid"), &[V], Vec::new()).status(), 404);
        assert_eq!(w.send(Head, &format!("/r/{token}/files/{id}"), &[V], Vec::new()).status(), 404, "not its upload");
        for bad in [
            json!({"label": "x".repeat(MAX_LABEL + 1)}),
            json!({"password": "p".repeat(300)}),
            json!({"label": "a\u{0}b"}),
        ] {
            assert_eq!(w.send(Post, "/v1/requests", &[ACME], bad.to_string().into_bytes()).status(), 400, "{bad}");
        }
        let long = "p".repeat(300);
        let h = [("Accept", "application/json"), ("X-Request-Password", long.as_str())];
        assert_eq!(
            w.send(Get, &format!("/r/{token}"), &h, Vec::new()).status(),
            403,
            "an absurd password is not hashed"
        );
        let as_credential = format!("Bearer {token}");
        assert_eq!(w.send(Get, "/v1/files", &[("Authorization", as_credential.as_str())], Vec::new()).status(), 401);
    }

    #[test]
    fn a_passworded_request_asks_where_an_upload_starts() {
        let w = World::new();
        let token = make(&w, json!({"password": "pw"}))["token"].as_str().unwrap().to_string();
        let json_look = |pw: Option<&str>| {
            let mut h = vec![("Accept", "application/json")];
            if let Some(p) = pw {
                h.push(("X-Request-Password", p));
            }
            w.send(Get, &format!("/r/{token}"), &h, Vec::new()).status()
        };
        assert_eq!((json_look(None), json_look(Some("no")), json_look(Some("pw"))), (401, 403, 200));
        assert_eq!(create(&w, &token, 3, &[]).status(), 401);
        let made = create(&w, &token, 3, &[("X-Request-Password", "pw")]);
        assert_eq!(made.status(), 201);
        assert_eq!(
            patch(&w, made.header("Location").unwrap(), 0, b"abc").status(),
            204,
            "the upload's id carries it on"
        );
        assert_eq!(
            w.send(Post, "/v1/requests", &[ACME], json!({"max_files": 0}).to_string().into_bytes()).status(),
            400
        );
        assert_eq!(w.send(Post, "/v1/requests", &[ACME], json!({"label": 5}).to_string().into_bytes()).status(), 400);
    }
}
