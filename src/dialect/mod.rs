//! Dialect adapters: each turns its vendor's requests into engine calls and renders the
//! engine's answers and [`Error`]s in the vendor's shape. Each declares its endpoints once,
//! in its [`Table`]; [`serve`] routes by those tables, authenticates as the row says, checks
//! the request body against the configured limit, dispatches, and renders every error
//! (`404` and `405` included) in the shape of the dialect whose URL space the path is in.

pub mod access_log;
pub mod admin;
pub mod form;
pub mod imis;
pub mod native;
pub mod ngcp;
pub mod openapi;
pub mod opentera;
pub mod portsip;
pub mod requests;
pub mod service;
pub mod share;
pub mod share_page;
pub mod tus;
pub mod twake;
pub mod webhooks;

use crate::auth::Tenant;
use crate::engine::{Ctx, Opened, Read};
use crate::error::{Error, Result};
use crate::http::auth_header::{parse_authorization, Presented};
use crate::http::disposition::DispositionKind;
use crate::http::download::{plan_download, BodyPlan, CachePolicy, DownloadAsk, DownloadPlan, Served};
use crate::route::{self, Auth, BodyUse, Endpoint, Found, Method, Params, PathParam, Table};
use crate::store::{Body, Payload, Platform};

/// The dialects, each with its part of the URL space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Service,
    /// edgeshare's own API (`/v1/`, the operator's `/v1/admin/` too) and share links (`/s/`).
    Native,
    Ngcp,
    OpenTera,
    Imis,
    Twake,
    Tus,
    Portsip,
}

impl Dialect {
    /// Its name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Service => "service",
            Dialect::Native => "native",
            Dialect::Ngcp => "ngcp",
            Dialect::OpenTera => "opentera",
            Dialect::Imis => "imis",
            Dialect::Twake => "twake",
            Dialect::Tus => "tus",
            Dialect::Portsip => "portsip",
        }
    }
}

/// Every endpoint of every dialect: the dialect, then its own operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Service(service::Op),
    Native(native::Op),
    Admin(admin::Op),
    Webhooks(webhooks::Op),
    Ngcp(ngcp::simple::Op),
    NgcpSessions(ngcp::sessions::Op),
    OpenTera(opentera::Op),
    Imis(imis::Op),
    Twake(twake::Op),
    Tus(tus::Op),
    Portsip(portsip::Op),
    Requests(requests::Op),
}

/// The router's tables, most specific URL spaces first; NGCP (at the root) last.
pub static TABLES: [Table<Dialect, Op>; 13] = [
    service::TABLE,
    admin::TABLE,
    webhooks::TABLE,
    native::TABLE,
    requests::TABLE,
    requests::TUS_TABLE,
    tus::TABLE,
    portsip::TABLE,
    opentera::TABLE,
    imis::TABLE,
    twake::TABLE,
    ngcp::sessions::TABLE,
    ngcp::simple::TABLE,
];

/// Routes a request by the tables.
pub fn route(method: Method, method_override: Option<&str>, path: &str) -> Found<'static, Dialect, Op> {
    route::find(&TABLES, method, method_override, path)
}

/// Routes a request by its head.
pub fn route_head(head: &Head) -> Found<'static, Dialect, Op> {
    route(head.method, head.header("x-http-method-override"), &head.path)
}

/// The head of a request: everything but the body, with no `worker::` types.
#[derive(Debug, Clone)]
pub struct Head {
    pub method: Method,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn new(method: Method, path: &str, query: &str, headers: Vec<(String, String)>) -> Head {
        let headers = headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        Head { method, path: path.into(), query: query.into(), headers }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// First value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        urlencoded_value(&self.query, name)
    }

    pub fn authorization(&self) -> Option<Presented> {
        self.header("authorization").and_then(parse_authorization)
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.trim().parse().ok())
    }
}

/// First value of `name` in `application/x-www-form-urlencoded` text (a query string, or a
/// form's body), percent-decoded.
pub fn urlencoded_value(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

/// A routed request, as a handler sees it.
#[derive(Debug)]
pub struct Request<'r> {
    pub head: &'r Head,
    /// The method after `X-HTTP-Method-Override`, where the dialect honours it.
    pub method: Method,
    pub params: &'r Params,
    /// The authenticated tenant, where the endpoint's auth looked for one.
    pub caller: Option<Tenant>,
    /// `scheme://host[:port]` of the request, for URLs in answers.
    pub origin: &'r str,
    /// The tenant a dialect's own credentials named (a JWT, a login), for the access log.
    pub acting: std::cell::RefCell<Option<Tenant>>,
}

impl Request<'_> {
    /// Names the tenant the dialect's own credentials (a JWT, a login) authenticated.
    pub fn acting_as(&self, tenant: &Tenant) {
        *self.acting.borrow_mut() = Some(tenant.clone());
    }

    /// The caller of an endpoint whose auth is [`Auth::Tenant`] (authenticated before the
    /// handler runs).
    pub fn tenant(&self) -> Result<&Tenant> {
        self.caller.as_ref().ok_or(Error::Unauthorized)
    }

    /// A path parameter that must be a uuid (lowercased, as `parse_uuid` reads one); `404`
    /// with `not_found` if it is not.
    #[track_caller]
    pub fn path_uuid(&self, p: PathParam, not_found: &'static str) -> Result<String> {
        crate::engine::file::ids::parse_uuid(self.params.get(p)).ok_or_else(|| Error::not_found(not_found))
    }
}

/// The engine's context and the Durable Objects (uploads' and ledgers'), which every handler is given.
pub struct Service<'a, P: Platform> {
    pub ctx: &'a Ctx<'a, P>,
    pub objects: &'a P::Objects,
}

/// What a handler answers, for the worker layer to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Json {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: serde_json::Value,
    },
    Empty {
        status: u16,
        headers: Vec<(&'static str, String)>,
    },
    Text {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Stream (part of) an R2 object as `plan` says: its body if it was read already (the one
    /// R2 call of a plain download), else read from `r2_key` by [`serve`] before it answers.
    Download {
        r2_key: String,
        plan: DownloadPlan,
        body: Option<std::rc::Rc<Payload>>,
    },
    /// Stream bytes `span` of a bundle's zip (none for `HEAD`, a `304`, a `416`), as `plan`
    /// says: the worker reads the files from R2 as the archive goes out.
    Zip {
        plan: DownloadPlan,
        span: Option<crate::http::range::Span>,
        bundle: Box<crate::engine::bundle::Bundle>,
    },
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Json { status, headers: Vec::new(), body }
    }

    /// Adds headers to any reply (a download's go into its plan).
    pub fn with_headers(mut self, extra: &[(&'static str, String)]) -> Reply {
        match &mut self {
            Reply::Json { headers, .. } | Reply::Empty { headers, .. } | Reply::Text { headers, .. } => {
                headers.extend_from_slice(extra)
            }
            Reply::Download { plan, .. } | Reply::Zip { plan, .. } => plan.headers.extend_from_slice(extra),
        }
        self
    }

    /// A header of the reply (case-insensitive), for tests and logs.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self {
            Reply::Empty { headers, .. } | Reply::Json { headers, .. } | Reply::Text { headers, .. } => {
                headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
            }
            Reply::Download { plan, .. } | Reply::Zip { plan, .. } => plan.header(name),
        }
    }

    /// May this reply go into a shared cache (the Workers Cache API)? A whole public download,
    /// whose bytes cannot change, for as long as its `max-age`, of a file small enough that
    /// copying it into the cache does not slow its own download down.
    pub fn cacheable(&self) -> bool {
        match self {
            Reply::Download { plan, .. } => {
                plan.status == 200
                    && plan.body == BodyPlan::Whole
                    && plan
                        .header("Content-Length")
                        .and_then(|l| l.parse::<u64>().ok())
                        .is_some_and(|l| l <= CACHE_MAX_BYTES)
                    && plan.header("Cache-Control").is_some_and(|c| c.starts_with("public") && !c.contains("max-age=0"))
            }
            _ => false,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Reply::Json { status, .. } | Reply::Empty { status, .. } | Reply::Text { status, .. } => *status,
            Reply::Download { plan, .. } | Reply::Zip { plan, .. } => plan.status,
        }
    }
}

/// Largest file a public download puts into the Workers cache.
pub const CACHE_MAX_BYTES: u64 = 64 << 20;

/// Is this request a public download, whose answer a shared cache may hold (a share link, a
/// digest URL without credentials)? Its cached answer is looked up before anything else.
pub fn is_public_download(head: &Head, found: &Found<'static, Dialect, Op>) -> bool {
    let Found::Endpoint { endpoint, method, .. } = found else {
        return false;
    };
    let method = *method;
    let anonymous = match endpoint.auth {
        // a share link looks at no credentials: its answer is the same for everyone
        Auth::Capability => true,
        Auth::Optional => head.header("authorization").is_none(),
        // a revocable token's downloads are private
        Auth::None | Auth::Tenant | Auth::Own | Auth::RevocableCapability | Auth::Admin => false,
    };
    // an `If-Range` is ours to judge (a cache may serve the range whatever the validator)
    method == Method::Get && endpoint.body == BodyUse::None && anonymous && head.header("if-range").is_none()
}

/// The one key under which a shared cache holds a public download (a path: the worker puts
/// the configured origin before it), whatever spelling of its URL the caller chose: the
/// route's own id, normalised (a lowercase uuid, a lowercase digest without its `sha256:`),
/// no query, no trailing slash, one path for the route's aliases. `None`: not a public
/// download, or an id that names nothing (the cache is neither read nor filled).
pub fn shared_cache_path(head: &Head, found: &Found<'static, Dialect, Op>) -> Option<String> {
    if !is_public_download(head, found) {
        return None;
    }
    let Found::Endpoint { endpoint, params, .. } = found else { return None };
    match endpoint.op {
        Op::Ngcp(ngcp::simple::Op::Download) => ngcp::simple::cache_path(params.get(PathParam::Id)),
        Op::Portsip(portsip::Op::Download) => portsip::cache_path(params.get(PathParam::Digest)),
        _ => None,
    }
}

/// Can a download be served by the R2 read that finds its file (a plain `GET`: its body
/// too)? Ranges and conditions need the file's size and entity tag first (its head only).
pub fn fetch_whole(head: &Head, method: Method) -> Read {
    let whole =
        method == Method::Get && ["range", "if-none-match", "if-range"].iter().all(|h| head.header(h).is_none());
    if whole {
        Read::Body
    } else {
        Read::Head
    }
}

/// The download of an opened file, honouring the request's conditional and range headers.
pub fn download_reply(opened: Opened, head: &Head, method: Method, cache: CachePolicy) -> Reply {
    download_reply_as(opened, head, method, cache, DispositionKind::Attachment)
}

/// [`download_reply`], shown `inline` or as an attachment.
pub fn download_reply_as(
    opened: Opened,
    head: &Head,
    method: Method,
    cache: CachePolicy,
    disposition: DispositionKind,
) -> Reply {
    let record = &opened.record;
    let served = Served {
        name: &record.name,
        content_type: &record.content_type,
        size: record.size,
        etag: &opened.etag,
        disposition,
        cache,
    };
    let ask = DownloadAsk {
        head: method == Method::Head,
        range: head.header("range"),
        if_none_match: head.header("if-none-match"),
        if_range: head.header("if-range"),
    };
    let plan = plan_download(&served, &ask);
    let body = opened.body.filter(|_| plan.body == BodyPlan::Whole).map(std::rc::Rc::new);
    Reply::Download { r2_key: record.r2_key.clone(), plan, body }
}

/// What [`serve`] did: the reply to send, and what the worker layer needs to log and to
/// tidy up after it.
#[derive(Debug)]
pub struct Outcome {
    /// The dialect whose shape errors take for this request.
    pub dialect: Dialect,
    pub reply: Reply,
    pub error: Option<Error>,
    /// The endpoint served, if the request reached one.
    pub endpoint: Option<&'static Endpoint<Op>>,
    /// The tenant the request authenticated as (by its row's credentials, or its dialect's own).
    pub tenant: Option<Tenant>,
}

impl Outcome {
    /// The path as logs may show it: a capability in it (a share link's id) is cut short.
    pub fn log_path(&self, path: &str) -> String {
        // a path that names a credential: a capability's, or a share link's token (revoked by
        // its tenant at `/v1/links/{token}`)
        let secret = |e: &Endpoint<Op>| {
            matches!(e.auth, Auth::Capability | Auth::RevocableCapability) || e.path.ends_with("{token}")
        };
        match self.endpoint {
            // the token's own segment wherever it is (`/s/{token}/zip`), else the last
            Some(e) if secret(e) => {
                let at = e.path.split('/').position(|s| s == "{token}");
                let mut segments: Vec<String> = path.split('/').map(str::to_string).collect();
                let at = at.filter(|&i| i < segments.len()).unwrap_or(segments.len() - 1);
                if at > 0 {
                    segments[at] = format!("{}…", segments[at].chars().take(4).collect::<String>());
                }
                segments.join("/")
            }
            _ => path.into(),
        }
    }
}

/// Serves one request: route, authenticate, check the body's size, dispatch, render.
pub async fn serve<P: Platform>(svc: &Service<'_, P>, head: &Head, origin: &str, body: Body<P>) -> Outcome {
    serve_routed(svc, head, route_head(head), origin, body).await
}

/// [`serve`] for a request already routed (by [`route_head`]).
pub async fn serve_routed<P: Platform>(
    svc: &Service<'_, P>,
    head: &Head,
    found: Found<'static, Dialect, Op>,
    origin: &str,
    body: Body<P>,
) -> Outcome {
    let mut tenant = None;
    let (dialect, endpoint, result) = match found {
        Found::Endpoint { dialect, endpoint, params, method } => {
            let result = dispatch(svc, head, origin, endpoint, &params, method, body, &mut tenant).await;
            (*dialect, Some(endpoint), result)
        }
        Found::MethodNotAllowed { dialect, allow } => {
            let reply = error_reply(*dialect, &Error::MethodNotAllowed).with_headers(&[("Allow", allow)]);
            let error = Some(Error::MethodNotAllowed);
            let outcome = Outcome { dialect: *dialect, reply, error, endpoint: None, tenant: None };
            return with_dialect_headers(outcome);
        }
        Found::NotFound { dialect } => {
            (dialect.copied().unwrap_or(Dialect::Ngcp), None, Err(Error::not_found("not found")))
        }
    };
    let result = match result {
        Ok(reply) => with_body(svc, reply).await,
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(reply) => Outcome { dialect, reply, error: None, endpoint, tenant },
        Err(e) => {
            let reply = error_reply(dialect, &e).with_headers(&e.headers());
            Outcome { dialect, reply, error: Some(e), endpoint, tenant }
        }
    };
    with_dialect_headers(outcome)
}

/// A download's body, read now unless its open read it already: a range, or a whole file
/// opened by its metadata first.
async fn with_body<P: Platform>(svc: &Service<'_, P>, reply: Reply) -> Result<Reply> {
    match reply {
        Reply::Download { r2_key, plan, body: None } => {
            let body = svc.ctx.download_body(&r2_key, &plan.body).await?.map(std::rc::Rc::new);
            Ok(Reply::Download { r2_key, plan, body })
        }
        reply => Ok(reply),
    }
}

/// Headers a dialect puts on every answer (OpenTera's and Twake's wildcard CORS).
fn with_dialect_headers(mut outcome: Outcome) -> Outcome {
    match outcome.dialect {
        Dialect::OpenTera => outcome.reply = outcome.reply.with_headers(&opentera::cors()),
        Dialect::Twake => outcome.reply = outcome.reply.with_headers(&twake::cors()),
        _ => {}
    }
    outcome
}

/// Authenticates as the row says and hands the request to its dialect; the tenant it
/// authenticated as (by the row's Basic or Bearer credentials, or by the dialect's own, which
/// the handler names with [`Request::acting_as`]) goes into `tenant`, for the access log.
#[allow(clippy::too_many_arguments)]
async fn dispatch<P: Platform>(
    svc: &Service<'_, P>,
    head: &Head,
    origin: &str,
    endpoint: &'static Endpoint<Op>,
    params: &Params,
    method: Method,
    body: Body<P>,
    tenant: &mut Option<Tenant>,
) -> Result<Reply> {
    let ctx = svc.ctx;
    check_same_origin(head, method, origin, &ctx.config.allowed_origins)?;
    let caller = match (endpoint.auth, head.authorization()) {
        (Auth::None | Auth::Capability | Auth::RevocableCapability | Auth::Own, _) => None,
        (Auth::Admin, presented) => {
            ctx.authenticate_admin(presented.as_ref()).await?;
            None
        }
        (Auth::Tenant, presented) => Some(ctx.authenticate(presented.as_ref()).await?),
        // refused credentials (a suspended tenant's too) are no credentials here
        (Auth::Optional, Some(p)) => ctx.authenticate(Some(&p)).await.ok(),
        (Auth::Optional, None) => None,
    };
    tenant.clone_from(&caller);
    check_json_body(head, endpoint)?;
    if let (Some(max), BodyUse::Read | BodyUse::Forward) = (svc.ctx.config.max_request_body, endpoint.body) {
        if head.content_length().is_some_and(|len| len > max) {
            return Err(Error::BodyTooLarge { max });
        }
    }
    // the dialects that verify JWTs (and the operator's API, which checks them) see the JWT
    // secrets and Twake companies an operator set at run time
    let (runtime, runtime_ctx, runtime_svc);
    let svc = match endpoint.op {
        Op::OpenTera(_) | Op::Twake(_) | Op::Admin(_) => match ctx.runtime_config().await? {
            Some(config) => {
                runtime = config;
                runtime_ctx = Ctx { config: &runtime, client: ctx.client.clone(), ..*ctx };
                runtime_svc = Service { ctx: &runtime_ctx, objects: svc.objects };
                &runtime_svc
            }
            None => svc,
        },
        _ => svc,
    };
    let req = Request { head, method, params, caller, origin, acting: Default::default() };
    let result = match endpoint.op {
        Op::Service(op) => service::handle(svc, op, origin),
        Op::Native(op) => native::handle(svc, op, &req, body).await,
        Op::Admin(op) => admin::handle(svc, op, &req, body).await,
        Op::Webhooks(op) => webhooks::handle(svc, op, &req, body).await,
        Op::Ngcp(op) => ngcp::simple::handle(svc, op, &req, body).await,
        Op::NgcpSessions(op) => ngcp::sessions::handle(svc, op, &req, body).await,
        Op::OpenTera(op) => opentera::handle(svc, op, &req, body).await,
        Op::Imis(op) => imis::handle(svc, op, &req, body).await,
        Op::Twake(op) => twake::handle(svc, op, &req, body).await,
        Op::Tus(op) => tus::handle(svc, op, &req, body).await,
        Op::Portsip(op) => portsip::handle(svc, op, &req, body).await,
        Op::Requests(op) => requests::handle(svc, op, &req, body).await,
    };
    if let Some(acting) = req.acting.take() {
        *tenant = Some(acting);
    }
    result
}

/// A route that reads JSON and accepts credentials a browser sends by itself (Basic, which
/// it remembers after a `401`) takes a non-empty body only as JSON (`application/json`, or
/// `application/*+json`): a browser sends no such type across origins without asking first
/// (a CORS preflight), so a page elsewhere cannot post JSON as `text/plain` or a form. Routes
/// whose credentials a page cannot borrow (a bearer token, a login in the body: IMiS, Twake)
/// take their vendors' clients as they are.
fn check_json_body(head: &Head, endpoint: &Endpoint<Op>) -> Result<()> {
    if endpoint.spec.takes != route::JSON || !matches!(endpoint.auth, Auth::Tenant | Auth::Optional) {
        return Ok(());
    }
    let empty = head.content_length() == Some(0)
        || (head.content_length().is_none() && head.header("transfer-encoding").is_none());
    let json = head.header("content-type").is_some_and(|t| {
        let t = crate::http::media_type(t);
        t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
    });
    if empty || json {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType("the body must be JSON (Content-Type: application/json)".into()))
    }
}

/// A browser remembers Basic credentials after a `401` and sends them with any request to
/// this origin, whichever page asks: a state-changing request with Basic credentials from a
/// page of another origin (its `Origin`, or `Sec-Fetch-Site: cross-site`) is refused unless
/// that origin is configured (`EDGESHARE_ALLOWED_ORIGINS`). Clients that are not browsers
/// send neither header.
pub fn check_same_origin(head: &Head, method: Method, origin: &str, allowed: &[String]) -> Result<()> {
    if matches!(method, Method::Get | Method::Head | Method::Options)
        || !matches!(head.authorization(), Some(Presented::Basic { .. }))
    {
        return Ok(());
    }
    let from = head.header("origin").map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase());
    // the page's origin is ours: the public one, or the host this request came to
    let host = head.header("host").map(|h| h.trim().to_ascii_lowercase());
    let same_host = |o: &str| o.split_once("://").is_some_and(|(_, h)| Some(h) == host.as_deref());
    let allowed_origin = |o: &str| o == origin.to_ascii_lowercase() || same_host(o) || allowed.iter().any(|a| a == o);
    let refused = match (&from, head.header("sec-fetch-site").map(str::trim)) {
        (Some(o), _) => !allowed_origin(o),
        (None, Some(site)) => site.eq_ignore_ascii_case("cross-site"),
        (None, None) => false,
    };
    if refused {
        Err(Error::Forbidden("cross-origin request with Basic credentials refused".into()))
    } else {
        Ok(())
    }
}

/// An error in the dialect's shape.
pub fn error_reply(dialect: Dialect, e: &Error) -> Reply {
    match dialect {
        Dialect::Service | Dialect::Ngcp => ngcp::error_reply(e),
        Dialect::Native => native::error_reply(e),
        Dialect::OpenTera => opentera::error_reply(e),
        Dialect::Imis => imis::error_reply(e),
        Dialect::Twake => twake::error_reply(e),
        Dialect::Tus => tus::error_reply(e),
        Dialect::Portsip => portsip::error_reply(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcome names the tenant a request authenticated as, for the access log; a public
    /// or refused request names none.
    #[test]
    fn the_outcome_names_the_authenticated_tenant() {
        use crate::testkit::{World, ACME_BEARER};
        let w = World::new();
        let run = |headers: &[(&str, &str)]| {
            futures_executor::block_on(w.request(Method::Get, "/v1/files", headers, Vec::<u8>::new().into()))
        };
        let ok = run(&[("Authorization", ACME_BEARER)]);
        assert_eq!((ok.reply.status(), ok.tenant), (200, Some(Tenant("acme".into()))));
        let refused = run(&[("Authorization", "Bearer nope")]);
        assert_eq!((refused.reply.status(), refused.tenant), (401, None));
        assert_eq!(run(&[]).tenant, None);
    }

    #[test]
    fn query_params_are_decoded() {
        let h =
            Head::new(Method::Get, "/", "ttl=60&name=a%20b+c&flag&ttl=9", vec![("Content-Length".into(), "12".into())]);
        assert_eq!(h.query_param("ttl").as_deref(), Some("60"));
        assert_eq!(h.query_param("name").as_deref(), Some("a b c"));
        assert_eq!(h.query_param("flag").as_deref(), Some(""));
        assert_eq!(h.query_param("none"), None);
        assert_eq!(h.content_length(), Some(12));
        assert_eq!(h.header("CONTENT-LENGTH"), Some("12"));
    }

    /// Where each documented URL goes: (method, override, path, dialect, op or the
    /// `Allow` of a 405, or not found).
    #[test]
    fn the_route_table() {
        use Method::*;
        let id = "88e5905d-5d96-4750-ab3d-77a1ed26f569";
        let sha = "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882";
        enum Want {
            Is(Op),
            Allow(&'static str),
            NotFound(Option<Dialect>),
        }
        use Want::*;
        let (n, t, p) = (|o| Is(super::Op::Ngcp(o)), |o| Is(super::Op::Tus(o)), |o| Is(super::Op::Portsip(o)));
        let (s, o) = (|o| Is(super::Op::NgcpSessions(o)), |o| Is(super::Op::OpenTera(o)));
        let (i, k) = (|o| Is(super::Op::Imis(o)), |o| Is(super::Op::Twake(o)));
        let a = |o| Is(super::Op::Admin(o));
        let tw = twake::PREFIX;
        let rows: Vec<(Method, Option<&str>, String, Want)> = vec![
            (Get, None, "/healthz".into(), Is(super::Op::Service(service::Op::Health))),
            (Head, None, "/healthz".into(), Is(super::Op::Service(service::Op::Health))),
            (Post, None, "/healthz".into(), Allow("GET, HEAD")),
            // NGCP at the root and under /rtc/fileshare
            (Post, None, "/uploads".into(), n(ngcp::simple::Op::Upload)),
            (Post, None, "/uploads/".into(), n(ngcp::simple::Op::Upload)),
            (Post, None, "/rtc/fileshare/uploads".into(), n(ngcp::simple::Op::Upload)),
            (Get, None, format!("/uploads/{id}"), n(ngcp::simple::Op::Download)),
            (Head, None, format!("/uploads/{id}"), n(ngcp::simple::Op::Download)),
            (Get, None, format!("/rtc/fileshare/uploads/{id}"), n(ngcp::simple::Op::Download)),
            (Get, None, "/uploads".into(), Allow("POST")),
            (Delete, None, format!("/uploads/{id}"), Allow("GET, HEAD")),
            (Post, None, format!("/uploads/{id}"), Allow("GET, HEAD")),
            (Delete, Some("GET"), format!("/uploads/{id}"), Allow("GET, HEAD")),
            (Get, None, format!("/uploads/{id}/extra"), NotFound(Some(Dialect::Ngcp))),
            (Post, None, "/rtc/fileshareX/uploads".into(), NotFound(None)),
            (Post, None, "/rtc/uploads".into(), NotFound(None)),
            (Get, None, "/".into(), NotFound(None)),
            (Get, None, "/nothing".into(), NotFound(None)),
            // tus, with X-HTTP-Method-Override whatever the real method
            (Post, None, "/files/".into(), t(tus::Op::Create)),
            (Post, None, "/files".into(), t(tus::Op::Create)),
            (Options, None, "/files/".into(), t(tus::Op::Options)),
            (Options, None, "/files/abc".into(), t(tus::Op::Options)),
            (Head, None, "/files/abc".into(), t(tus::Op::Head)),
            (Patch, None, "/files/abc".into(), t(tus::Op::Patch)),
            (Delete, None, "/files/abc".into(), t(tus::Op::Delete)),
            (Get, None, "/files/abc".into(), t(tus::Op::Get)),
            (Post, Some("PATCH"), "/files/abc".into(), t(tus::Op::Patch)),
            (Get, Some("PATCH"), "/files/abc".into(), t(tus::Op::Patch)),
            (Get, Some("HEAD"), "/files/abc".into(), t(tus::Op::Head)),
            (Get, Some("DELETE"), "/files/abc".into(), t(tus::Op::Delete)),
            (Get, Some("OPTIONS"), "/files/".into(), t(tus::Op::Options)),
            (Get, Some("options"), "/files/".into(), t(tus::Op::Options)),
            (Put, None, "/files/abc".into(), Allow("HEAD, PATCH, DELETE, GET, OPTIONS")),
            (Get, None, "/files/".into(), Allow("POST, OPTIONS")),
            (Get, None, "/files/a/b".into(), NotFound(Some(Dialect::Tus))),
            // PortSIP blobs; no method override there
            (Post, None, "/api/blobs/uploads".into(), p(portsip::Op::Initiate)),
            (Post, None, format!("/api/blobs/uploads/{id}/append"), p(portsip::Op::Append)),
            (Post, None, format!("/api/blobs/uploads/{id}/complete"), p(portsip::Op::Complete)),
            (Get, None, format!("/api/blobs/uploads/{id}/status"), p(portsip::Op::Status)),
            (Post, None, format!("/api/blobs/uploads/{id}/destroy"), p(portsip::Op::Destroy)),
            (Get, None, format!("/api/blobs/uploads/{id}/append"), Allow("POST")),
            (Post, None, format!("/api/blobs/uploads/{id}/status"), Allow("GET")),
            (Post, Some("GET"), format!("/api/blobs/uploads/{id}/status"), Allow("GET")),
            (Post, None, format!("/api/blobs/uploads/{id}/other"), NotFound(Some(Dialect::Portsip))),
            (Get, None, "/api/blobs/uploads".into(), Allow("POST")),
            (Get, None, format!("/api/blobs/{sha}"), p(portsip::Op::Download)),
            (Head, None, format!("/api/blobs/{sha}"), p(portsip::Op::Download)),
            (Get, None, format!("/api/blobs/sha256:{sha}"), p(portsip::Op::Download)),
            (Get, None, "/api/blobs/rZTOS5yB5elnATSbfxd_pgAQQKn01i8M".into(), p(portsip::Op::Download)),
            (Post, None, "/api/blobs/abc".into(), Allow("GET, HEAD")),
            (Get, None, "/api/blobs/a/b/c/d".into(), NotFound(Some(Dialect::Portsip))),
            // NGCP sessions, at the root and under /rtc/fileshare
            (Post, None, "/sessions".into(), s(ngcp::sessions::Op::Create)),
            (Get, None, "/rtc/fileshare/sessions".into(), s(ngcp::sessions::Op::List)),
            (Get, None, format!("/sessions/{id}"), s(ngcp::sessions::Op::Get)),
            (Delete, None, format!("/rtc/fileshare/sessions/{id}"), s(ngcp::sessions::Op::Delete)),
            (Put, None, format!("/sessions/{id}"), Allow("GET, DELETE")),
            (Post, None, format!("/sessions/{id}/files"), s(ngcp::sessions::Op::AddFile)),
            (Get, None, format!("/sessions/{id}/files"), s(ngcp::sessions::Op::ListFiles)),
            (Put, None, format!("/sessions/{id}/files/{id}"), s(ngcp::sessions::Op::PutFile)),
            (Delete, None, format!("/sessions/{id}/files/{id}"), s(ngcp::sessions::Op::DeleteFile)),
            (Get, None, format!("/sessions/{id}/files/{id}"), Allow("PUT, DELETE")),
            (Post, None, format!("/sessions/{id}/files/{id}/tokens"), s(ngcp::sessions::Op::CreateToken)),
            (Get, None, format!("/sessions/{id}/files/{id}/tokens/tok"), s(ngcp::sessions::Op::Download)),
            (Head, None, format!("/sessions/{id}/files/{id}/tokens/tok"), s(ngcp::sessions::Op::Download)),
            (Delete, None, format!("/sessions/{id}/files/{id}/tokens/tok"), Allow("GET, HEAD")),
            (Get, None, format!("/sessions/{id}/other"), NotFound(Some(Dialect::Ngcp))),
            // OpenTera under /file only
            (Post, None, "/file/api/assets".into(), o(opentera::Op::Upload)),
            (Get, None, "/file/api/assets".into(), o(opentera::Op::Download)),
            (Delete, None, "/file/api/assets".into(), o(opentera::Op::Delete)),
            (Options, None, "/file/api/assets".into(), o(opentera::Op::Options)),
            (Get, None, "/file/api/assets/infos".into(), o(opentera::Op::Infos)),
            (Post, None, "/file/api/assets/infos".into(), o(opentera::Op::InfosPost)),
            (Delete, None, "/file/api/assets/infos".into(), Allow("GET, POST, OPTIONS")),
            (Get, None, "/file/doc".into(), o(opentera::Op::Doc)),
            (Get, None, "/file/api/swagger.json".into(), o(opentera::Op::Swagger)),
            (Get, None, "/api/assets".into(), NotFound(Some(Dialect::Portsip))),
            (Get, None, "/file/api/nothing".into(), NotFound(Some(Dialect::OpenTera))),
            // IMiS, each path with and without .json
            (Post, None, "/archives/A/session/open.json".into(), i(imis::Op::Open)),
            (Post, None, "/archives/A/session/open".into(), i(imis::Op::Open)),
            (Post, None, "/archives/A/entities/H:h/create_sessions.json".into(), i(imis::Op::Create)),
            (Post, None, "/archives/A/entities/H:h/create_sessions".into(), i(imis::Op::Create)),
            (Put, None, format!("/archives/A/entities/H:h/create_sessions/{id}"), i(imis::Op::Put)),
            (Delete, None, format!("/archives/A/entities/H:h/create_sessions/{id}.json"), i(imis::Op::Cancel)),
            (Post, None, format!("/archives/A/entities/H:h/create_sessions/{id}/save.json"), i(imis::Op::Save)),
            (Post, None, format!("/archives/A/entities/H:h/create_sessions/{id}/save"), i(imis::Op::Save)),
            (Get, None, "/archives/A/objects/x".into(), i(imis::Op::Read)),
            (Get, None, format!("/archives/A/entities/H:h/create_sessions/{id}"), Allow("PUT, DELETE")),
            (Get, None, "/archives/A/other".into(), NotFound(Some(Dialect::Imis))),
            // the operator's API, beside edgeshare's own
            (Post, None, "/v1/admin/tenants".into(), a(admin::Op::CreateTenant)),
            (Get, None, "/v1/admin/tenants/".into(), a(admin::Op::ListTenants)),
            (Get, None, "/v1/admin/tenants/acme".into(), a(admin::Op::GetTenant)),
            (Put, None, "/v1/admin/tenants/acme".into(), Allow("GET, DELETE")),
            (Post, None, "/v1/admin/tenants/acme/suspend".into(), a(admin::Op::Suspend)),
            (Get, None, "/v1/admin/tenants/acme/resume".into(), Allow("POST")),
            (Get, None, "/v1/admin/tenants/acme/keys".into(), a(admin::Op::ListKeys)),
            (Delete, None, "/v1/admin/tenants/acme/keys/0123456789abcdef".into(), a(admin::Op::RevokeKey)),
            (Get, None, "/v1/admin/other".into(), NotFound(Some(Dialect::Native))),
            (Get, None, "/v1/files".into(), Is(super::Op::Native(native::Op::ListFiles))),
            // Twake, under its prefix
            (Post, None, format!("{tw}/companies/c/files"), k(twake::Op::Upload)),
            (Post, None, format!("{tw}/companies/c/files/"), k(twake::Op::Upload)),
            (Post, None, format!("{tw}/companies/c/files/{id}"), k(twake::Op::Chunk)),
            (Get, None, format!("{tw}/companies/c/files/{id}"), k(twake::Op::Get)),
            (Get, None, format!("{tw}/c/files/{id}"), k(twake::Op::Get)),
            (Delete, None, format!("{tw}/companies/c/files/{id}"), k(twake::Op::Delete)),
            (Get, None, format!("{tw}/companies/c/files/{id}/download"), k(twake::Op::Download)),
            (Get, None, format!("{tw}/companies/c/files/{id}/thumbnails/0"), k(twake::Op::Thumbnail)),
            (Put, None, format!("{tw}/companies/c/files/{id}"), Allow("POST, GET, DELETE, OPTIONS")),
            (Get, None, format!("{tw}/companies/c/files"), Allow("POST, OPTIONS")),
            // a preflight on every Twake path
            (Options, None, format!("{tw}/companies/c/files"), k(twake::Op::Options)),
            (Options, None, format!("{tw}/companies/c/files/{id}"), k(twake::Op::Options)),
            (Options, None, format!("{tw}/c/files/{id}"), k(twake::Op::Options)),
            (Options, None, format!("{tw}/companies/c/files/{id}/download"), k(twake::Op::Options)),
            (Options, None, format!("{tw}/companies/c/files/{id}/thumbnails/0"), k(twake::Op::Options)),
        ];
        for (m, ovr, path, want) in rows {
            match (route(m, ovr, &path), want) {
                (Found::Endpoint { endpoint, .. }, Is(op)) => assert_eq!(endpoint.op, op, "{m:?} {ovr:?} {path}"),
                (Found::MethodNotAllowed { allow, .. }, Allow(a)) => assert_eq!(allow, a, "{m:?} {path}"),
                (Found::NotFound { dialect }, NotFound(d)) => assert_eq!(dialect.copied(), d, "{m:?} {path}"),
                (got, _) => panic!("{m:?} {ovr:?} {path}: got {got:?}"),
            }
        }
    }

    /// Every row of every table is reachable by its own method and path.
    #[test]
    fn every_row_is_routed() {
        for table in &TABLES {
            for e in table.endpoints {
                for prefix in table.prefixes {
                    let path = format!("{prefix}{}", e.path.replace('{', "x").replace('}', ""));
                    match route(e.method, None, &path) {
                        Found::Endpoint { endpoint, dialect, .. } => {
                            assert_eq!(endpoint.op, e.op, "{path}");
                            assert_eq!(*dialect, table.dialect);
                        }
                        other => panic!("{:?} {path}: {other:?}", e.method),
                    }
                }
                assert!(!e.doc.is_empty(), "{:?} has a description", e.op);
            }
        }
    }

    /// Every `{name}` in every table's path is a [`PathParam`] (a table does not compile
    /// otherwise), and the router hands each to the handler under that name.
    #[test]
    fn every_path_parameter_is_known() {
        for table in &TABLES {
            for e in table.endpoints {
                let path = format!("{}{}", table.prefixes[0], e.path.replace('{', "x-").replace('}', ""));
                let Found::Endpoint { params, .. } = route(e.method, None, &path) else { panic!("{path}") };
                for segment in e.path.split('/').filter(|s| s.contains(['{', '}'])) {
                    let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
                    let p = name.and_then(PathParam::parse);
                    let p = p.unwrap_or_else(|| panic!("{}: {segment} is not a PathParam", e.path));
                    assert_eq!(params.get(p), format!("x-{}", p.name()), "{path}");
                }
                assert_eq!(params.0.len(), e.path.matches('{').count(), "{path}: every parameter, once");
            }
        }
    }

    #[test]
    fn only_public_downloads_are_looked_up_in_and_put_into_a_shared_cache() {
        let id = "88e5905d-5d96-4750-ab3d-77a1ed26f569";
        let req = |m: Method, path: &str, auth: bool| {
            let headers = if auth { vec![("Authorization".to_string(), "Bearer t".to_string())] } else { vec![] };
            let head = Head::new(m, path, "", headers);
            is_public_download(&head, &route_head(&head))
        };
        assert!(req(Method::Get, &format!("/uploads/{id}"), false), "a share link");
        assert!(req(Method::Get, &format!("/uploads/{id}"), true), "a share link does not look at credentials");
        assert!(req(Method::Get, &format!("/api/blobs/{}", "ab".repeat(32)), false), "a digest URL");
        assert!(!req(Method::Get, &format!("/api/blobs/{}", "ab".repeat(32)), true), "with credentials: private");
        assert!(!req(Method::Head, &format!("/uploads/{id}"), false));
        assert!(!req(Method::Get, &format!("/files/{id}"), true), "tus downloads are private");
        assert!(!req(Method::Post, "/uploads", false));
        assert!(!req(Method::Get, &format!("/sessions/{id}/files/{id}/tokens/t"), false), "revocable: private");
        let if_range = Head::new(Method::Get, &format!("/uploads/{id}"), "", vec![("If-Range".into(), "\"x\"".into())]);
        assert!(!is_public_download(&if_range, &route_head(&if_range)), "If-Range is judged by the worker");

        use crate::http::download::{DownloadPlan, YEAR_SECS};
        let plan = |status, cache: CachePolicy, body| DownloadPlan {
            status,
            headers: vec![("Cache-Control", cache.header()), ("Content-Length", "10".into())],
            body,
        };
        let dl = |p| Reply::Download { r2_key: "k".into(), plan: p, body: None };
        assert!(dl(plan(200, CachePolicy::Public { max_age: YEAR_SECS }, BodyPlan::Whole)).cacheable());
        assert!(dl(plan(200, CachePolicy::Public { max_age: 60 }, BodyPlan::Whole)).cacheable());
        assert!(!dl(plan(200, CachePolicy::Public { max_age: 0 }, BodyPlan::Whole)).cacheable(), "expiring now");
        assert!(!dl(plan(200, CachePolicy::Private, BodyPlan::Whole)).cacheable());
        let range = crate::http::range::Span { start: 0, len: 1 };
        assert!(!dl(plan(206, CachePolicy::Public { max_age: 60 }, BodyPlan::Part(range))).cacheable());
        assert!(!dl(plan(304, CachePolicy::Public { max_age: 60 }, BodyPlan::None)).cacheable());
        assert!(!Reply::json(200, serde_json::json!({})).cacheable());
        let mut big = plan(200, CachePolicy::Public { max_age: 60 }, BodyPlan::Whole);
        big.headers[1].1 = (CACHE_MAX_BYTES + 1).to_string();
        assert!(!dl(big).cacheable(), "a large file is not copied into the cache");
    }

    #[test]
    fn cross_origin_basic_requests_that_change_state_are_refused() {
        let basic = ("authorization".to_string(), "Basic Zm9vOmJhcg==".to_string());
        let allowed = vec!["https://app.example.com".to_string()];
        let check = |method: Method, extra: &[(&str, &str)], auth: bool| {
            let mut headers: Vec<(String, String)> =
                extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            if auth {
                headers.push(basic.clone());
            }
            let head = super::Head::new(method, "/sessions", "", headers);
            check_same_origin(&head, method, "https://files.example.com", &allowed).is_ok()
        };
        use Method::*;
        assert!(check(Post, &[], true), "curl and scripts send no Origin");
        assert!(check(Post, &[("Origin", "https://files.example.com")], true), "our own page");
        let workers_dev = [("Origin", "https://edgeshare.acme.workers.dev"), ("Host", "edgeshare.acme.workers.dev")];
        assert!(check(Post, &workers_dev, true), "our page at another of our hosts");
        assert!(!check(Post, &[("Origin", "https://evil.example"), ("Host", "files.example.com")], true));
        assert!(check(Post, &[("Origin", "https://app.example.com")], true), "a configured origin");
        assert!(!check(Post, &[("Origin", "https://evil.example")], true));
        assert!(!check(Delete, &[("Origin", "null")], true));
        assert!(!check(Put, &[("Sec-Fetch-Site", "cross-site")], true));
        assert!(check(Post, &[("Sec-Fetch-Site", "same-origin")], true));
        assert!(check(Get, &[("Origin", "https://evil.example")], true), "reads change nothing");
        assert!(check(Post, &[("Origin", "https://evil.example")], false), "no remembered credentials in play");
        let bearer = super::Head::new(
            Post,
            "/sessions",
            "",
            vec![("authorization".into(), "Bearer t".into()), ("origin".into(), "https://evil.example".into())],
        );
        assert!(
            check_same_origin(&bearer, Post, "https://files.example.com", &[]).is_ok(),
            "a bearer token is sent by script only"
        );
    }

    #[test]
    fn json_routes_take_json_only() {
        let w = crate::testkit::World::new();
        let basic = ("Authorization", "Basic Zm9vOmJhcg==");
        let post = |ct: Option<&str>, body: &[u8]| {
            let len = body.len().to_string();
            let mut headers = vec![basic, ("Content-Length", len.as_str())];
            headers.extend(ct.map(|c| ("Content-Type", c)));
            w.send(Method::Post, "/sessions", &headers, body.to_vec()).status()
        };
        assert_eq!(
            post(Some("text/plain"), br#"{"ttl": 60}"#),
            415,
            "JSON as text/plain: a cross-site form could send it"
        );
        assert_eq!(post(Some("application/x-www-form-urlencoded"), br#"{"ttl": 60}"#), 415);
        assert_eq!(post(None, br#"{"ttl": 60}"#), 415);
        assert_eq!(post(Some("application/json; charset=utf-8"), br#"{"ttl": 60}"#), 200);
        assert_eq!(post(Some("application/vnd.api+json"), br#"{"ttl": 60}"#), 200);
        assert_eq!(post(None, b""), 200, "no body: nothing to check");
        assert_eq!(post(Some("text/plain"), b""), 200);
    }

    #[test]
    fn every_spelling_of_a_public_download_has_one_cache_key() {
        let id = "88e5905d-5d96-4750-ab3d-77a1ed26f569";
        let sha = "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882";
        let key = |path: &str, query: &str, auth: bool| {
            let headers = if auth { vec![("Authorization".to_string(), "Bearer t".to_string())] } else { vec![] };
            let head = Head::new(Method::Get, path, query, headers);
            shared_cache_path(&head, &route_head(&head))
        };
        let upper = id.to_ascii_uppercase();
        let want = Some(format!("/uploads/{id}"));
        for (path, query) in [
            (format!("/uploads/{id}"), ""),
            (format!("/uploads/{id}"), "x=1"),
            (format!("/uploads/{upper}"), ""),
            (format!("/uploads/{id}/"), ""),
            (format!("/rtc/fileshare/uploads/{id}"), "download=1"),
            (format!("/rtc/fileshare/uploads/{upper}/"), ""),
        ] {
            assert_eq!(key(&path, query, false), want, "{path}?{query}");
        }
        assert_eq!(key("/uploads/not-a-uuid", "", false), None, "an id that names nothing is not cached");
        let want = Some(format!("/api/blobs/{sha}"));
        let upper = sha.to_ascii_uppercase();
        for path in [format!("/api/blobs/{sha}"), format!("/api/blobs/sha256:{upper}"), format!("/api/blobs/{upper}/")]
        {
            assert_eq!(key(&path, "x=1", false), want, "{path}");
        }
        assert_eq!(key("/api/blobs/NzAw", "", false), Some("/api/blobs/NzAw".into()), "an opaque id");
        assert_eq!(key(&format!("/api/blobs/{sha}"), "", true), None, "with credentials: never shared");
        assert_eq!(key(&format!("/files/{id}"), "", true), None);
        // what a deletion purges is exactly those keys
        use crate::engine::catalog::listing::public_paths;
        use crate::engine::file::record::FileRecord;
        use crate::engine::file::record::{Access, Vendor};
        let ngcp = FileRecord::new(id, "acme", Vendor::Ngcp, "e/x").with_access(Access::ShareLink);
        assert_eq!(public_paths(&ngcp), vec![key(&format!("/uploads/{id}"), "", false).unwrap()]);
        let blob = FileRecord { sha256: sha.into(), ..FileRecord::new("NzAw", "acme", Vendor::Portsip, "f/NzAw") };
        let keys =
            vec![key("/api/blobs/NzAw", "", false).unwrap(), key(&format!("/api/blobs/{sha}"), "", false).unwrap()];
        assert_eq!(public_paths(&blob), keys);
    }

    #[test]
    fn capabilities_are_cut_short_in_logs() {
        let id = "88e5905d-5d96-4750-ab3d-77a1ed26f569";
        let ngcp =
            ngcp::simple::TABLE.endpoints.iter().find(|e| e.op == super::Op::Ngcp(ngcp::simple::Op::Download)).unwrap();
        let reply = Reply::json(404, serde_json::json!({}));
        let out = Outcome { dialect: Dialect::Ngcp, reply, error: None, endpoint: Some(ngcp), tenant: None };
        let logged = out.log_path(&format!("/rtc/fileshare/uploads/{id}"));
        assert_eq!(logged, "/rtc/fileshare/uploads/88e5…");
        assert!(!logged.contains(id));
        let token_op = super::Op::NgcpSessions(ngcp::sessions::Op::Download);
        let token = ngcp::sessions::TABLE.endpoints.iter().find(|e| e.op == token_op).unwrap();
        let out = Outcome { endpoint: Some(token), ..out };
        let secret = "Qm9iLXNlY3JldC10b2tlbi12YWx1ZS0xMjM0";
        let logged = out.log_path(&format!("/sessions/{id}/files/{id}/tokens/{secret}"));
        assert_eq!(logged, format!("/sessions/{id}/files/{id}/tokens/Qm9i…"));
        let revoke =
            native::TABLE.endpoints.iter().find(|e| e.op == super::Op::Native(native::Op::RevokeLink)).unwrap();
        let out = Outcome { endpoint: Some(revoke), ..out };
        assert_eq!(out.log_path(&format!("/v1/links/{secret}")), "/v1/links/Qm9i…", "a share link's token");
        let tus = tus::TABLE.endpoints.iter().find(|e| e.op == super::Op::Tus(tus::Op::Head)).unwrap();
        let out = Outcome { endpoint: Some(tus), ..out };
        assert_eq!(out.log_path("/files/abc"), "/files/abc", "ids that are not credentials stay");
        // a token inside the path is cut where it is
        for (op, path, logged) in [
            (super::Op::Native(native::Op::ShareZip), format!("/s/{secret}/zip"), "/s/Qm9i…/zip"),
            (super::Op::Native(native::Op::ShareFile), format!("/s/{secret}/files/1"), "/s/Qm9i…/files/1"),
            (
                super::Op::Requests(requests::Op::TusPatch),
                format!("/r/{secret}/files/{id}"),
                &*format!("/r/Qm9i…/files/{id}"),
            ),
        ] {
            let row = TABLES.iter().flat_map(|t| t.endpoints.iter()).find(|e| e.op == op).unwrap();
            let reply = Reply::json(404, serde_json::json!({}));
            let out = Outcome { dialect: Dialect::Native, reply, error: None, endpoint: Some(row), tenant: None };
            assert_eq!(out.log_path(&path), logged);
        }
    }
}
