//! OpenTera FileTransferService (compat-spec §2), under `/file`: assets uploaded as a
//! multipart form (`file_asset` JSON and `file`), downloaded, deleted and described with an
//! asset access token the upload returns. Identity tokens come, in the vendor's order, from
//! `Authorization: OpenTera <token>` (a header of another scheme is passed over), `?token=`,
//! or the `OpenTera` cookie: a tenant's static token (uploads only), or an HS256 JWT as
//! OpenTera's server issues them, the caller's `user_uuid`, `participant_uuid`, `device_uuid`
//! or `service_uuid` telling its kind and the tenant's key of that kind verifying it
//! ([`KeyKind`]; `exp` and `iss` as each kind carries them: `Kind::key`). Access tokens
//! (`asset_uuids`, a list or one uuid string, and `requester_uuid`) are verified, and issued,
//! with the tenant's `access` key. Every refusal is `403` with a JSON-string body; every
//! answer carries wildcard CORS.
//!
//! An asset is a file like any other, private to its tenant; its record (asset fields
//! included) is kept in its R2 sidecar, so that a rename is one strongly consistent write.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{download_reply, fetch_whole, form, Dialect, Head, Reply, Request, Service};
use crate::auth::{KeyKind, Tenant};
use crate::config::Config;
use crate::engine::file::record::{content_type_or_guess, guess_content_type, FileRecord};
use crate::engine::file::ids::{iso8601_micros, new_uuid, parse_uuid, uuid_v4};
use crate::engine::jwt;
use crate::engine::ledger::session::tenant_object;
use crate::engine::ledger::{LedgerAnswer, LedgerCall};
use crate::engine::upload::calls::{ByteStream, Uploads};
use crate::engine::file::record::Access;
use crate::engine::file::visibility::Via;
use crate::engine::{file::limits, Expiry, Held, Missing, NewFile};
use crate::error::{Error, Result};
use crate::http::download::CachePolicy;
use crate::http::html;
use crate::route::{
    endpoint, req, Auth, BodyUse, Endpoint, Kind as ParamKind, Media, Method, Param, Spec, Table, DOWNLOAD,
    DOWNLOAD_HEAD, JSON, MULTIPART, RANGE_HEADERS,
};
use crate::store::{BlobStore, MetaStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Upload,
    Download,
    Delete,
    Infos,
    InfosPost,
    Options,
    Doc,
    Swagger,
}

const fn row(
    op: Op,
    method: Method,
    path: &'static str,
    auth: Auth,
    body: BodyUse,
    doc: &'static str,
) -> Endpoint<super::Op> {
    endpoint(super::Op::OpenTera(op), method, path, auth, body, doc)
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::OpenTera,
    prefixes: &["/file"],
    method_override: false,
    endpoints: &[
        row(
            Op::Upload,
            Method::Post,
            "/api/assets",
            Auth::Own,
            BodyUse::Read,
            "Upload an asset: multipart `file_asset` (JSON string: `id_session`, `asset_name`) and `file`.",
        )
        .with(Spec::DEFAULT.takes(MULTIPART)),
        row(
            Op::Download,
            Method::Get,
            "/api/assets",
            Auth::Own,
            BodyUse::None,
            "Download an asset: `?asset_uuid=&access_token=`.",
        )
        .with(Spec::ok(DOWNLOAD).query(ASSET_QUERY).headers(RANGE_HEADERS).errors(&[404, 416])),
        row(Op::Download, Method::Head, "/api/assets", Auth::Own, BodyUse::None, "Download an asset, headers only.")
            .with(Spec::ok(DOWNLOAD_HEAD).query(ASSET_QUERY).headers(RANGE_HEADERS).errors(&[404, 416])),
        row(
            Op::Delete,
            Method::Delete,
            "/api/assets",
            Auth::Own,
            BodyUse::None,
            "Delete an asset: `?uuid=&access_token=`.",
        )
        .with(Spec::DEFAULT.query(&[req("uuid", ParamKind::Str, "The asset's uuid."), ACCESS_TOKEN]).errors(&[404])),
        row(Op::Options, Method::Options, "/api/assets", Auth::None, BodyUse::None, "CORS preflight.")
            .with(Spec::ok(&[(200, Media::Empty)])),
        row(
            Op::Infos,
            Method::Get,
            "/api/assets/infos",
            Auth::Own,
            BodyUse::None,
            "An asset's file data: `?asset_uuid=&access_token=`.",
        )
        .with(Spec::DEFAULT.query(ASSET_QUERY).errors(&[404])),
        row(
            Op::InfosPost,
            Method::Post,
            "/api/assets/infos",
            Auth::Own,
            BodyUse::Read,
            "File data of several assets (`{\"assets\": [...]}`: those held, each answered once, at most 100 \
             distinct assets in at most 1000 entries, else 400), or a rename (`{\"file_asset\": {...}}` with \
             `asset_original_filename`).",
        )
        .with(Spec::DEFAULT.takes(JSON).errors(&[404])),
        row(Op::Options, Method::Options, "/api/assets/infos", Auth::None, BodyUse::None, "CORS preflight.")
            .with(Spec::ok(&[(200, Media::Empty)])),
        row(Op::Doc, Method::Get, "/doc", Auth::None, BodyUse::None, "This dialect's documentation page.")
            .with(Spec::ok(&[(200, Media::Html)])),
        row(
            Op::Swagger,
            Method::Get,
            "/api/swagger.json",
            Auth::None,
            BodyUse::None,
            "This dialect's Swagger 2.0 document.",
        )
        .with(Spec::DEFAULT),
    ],
};
const ACCESS_TOKEN: Param = req("access_token", ParamKind::Str, "The asset's access token (from its upload).");
const ASSET_QUERY: &[Param] = &[req("asset_uuid", ParamKind::Str, "The asset's uuid."), ACCESS_TOKEN];

const ISSUER: &str = "TeraServer";
/// Lifetime of the asset access tokens the service issues.
pub const ACCESS_TOKEN_SECS: u64 = 1800;
const FORBIDDEN: &str = "Forbidden";
const NO_ASSET: &str = "No asset found";
const MISSING: Missing = Missing { not_found: NO_ASSET, expired: NO_ASSET };
const DIALECT: &str = "opentera";
/// Most distinct assets one `POST .../infos` may ask for: each costs a lookup (two R2 reads),
/// and a Worker's request has 1,000 subrequests.
pub const MAX_INFOS: usize = 100;
/// Most entries in its list (each one's token is checked, repeats included).
const MAX_INFOS_ENTRIES: usize = 1000;
/// The record's extra holding the asset's own fields (as JSON).
const ASSET: &str = "asset";

/// The wildcard CORS of every answer, as the vendor sends it.
pub fn cors() -> [(&'static str, String); 3] {
    [
        ("Access-Control-Allow-Origin", "*".into()),
        ("Access-Control-Allow-Headers", "*".into()),
        ("Access-Control-Allow-Methods", "*".into()),
    ]
}

/// Errors as Flask-RESTX renders them: JSON strings, except reqparse's validation error and
/// the router's own `404`/`405`; a credential problem is always `403 "Forbidden"`.
pub fn error_reply(e: &Error) -> Reply {
    let (status, body) = match e {
        Error::Unauthorized => (403, json!(FORBIDDEN)),
        Error::MissingParameter(name) => (
            400,
            json!({
                "errors": { name.to_string(): "Missing required parameter in the query string" },
                "message": "Input payload validation failed",
            }),
        ),
        Error::MethodNotAllowed => (405, json!({"message": "The method is not allowed for the requested URL."})),
        Error::NotFound(m) if m == "not found" => (
            404,
            json!({"message": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."}),
        ),
        other => (other.status(), json!(other.message())),
    };
    Reply::Json { status, headers: Vec::new(), body }
}

/// Who is calling: the tenant, the caller's uuid (the `requester_uuid` of its access tokens),
/// and the claims of a dynamic token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub tenant: Tenant,
    pub uuid: String,
    pub kind: Kind,
    pub claims: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A tenant's static token of this service (`opentera` credential): uploads only.
    Static,
    User,
    /// A participant's dynamic token (with `exp`).
    Participant,
    /// A participant's static token (OpenTera's `create_token`: no `exp`), signed with its
    /// own key: uploads only, as OpenTera takes static tokens.
    StaticParticipant,
    Device,
    Service,
}

impl Kind {
    /// The kind of an OpenTera identity token, and the claim naming the caller: from the
    /// first of `user_uuid`, `participant_uuid`, `device_uuid`, `service_uuid` it carries (a
    /// participant's token without `exp` is its static one). None for anything else (an
    /// access token, a Twake token).
    fn of(claims: &Map<String, Value>) -> Option<(Kind, &'static str)> {
        let kinds = [
            ("user_uuid", Kind::User),
            ("participant_uuid", Kind::Participant),
            ("device_uuid", Kind::Device),
            ("service_uuid", Kind::Service),
        ];
        let (claim, kind) = kinds.into_iter().find(|(claim, _)| claims.contains_key(*claim))?;
        let kind =
            if kind == Kind::Participant && !claims.contains_key("exp") { Kind::StaticParticipant } else { kind };
        Some((kind, claim))
    }

    /// The key a token of this kind is verified with, and what it must carry, as OpenTera's
    /// server issues each kind: users' (`TeraUser.get_token`) and dynamic participants'
    /// (`dynamic_token`) always carry `iss` and `exp`, so one without `exp` is refused; devices'
    /// and static participants' (`create_token`) carry `iss` and no `exp`; a service's own
    /// (`service_generate_token`) only `iat` and `service_uuid`, neither `iss` nor `exp`. An
    /// `exp` a token carries is checked whatever its kind (and `nbf` too). None for this
    /// service's static tokens, which are no JWTs.
    fn key(self) -> Option<(KeyKind, jwt::Expect<'static>)> {
        let tera = |exp| jwt::Expect { issuer: Some(ISSUER), exp };
        Some(match self {
            Kind::Static => return None,
            Kind::User => (KeyKind::User, tera(true)),
            Kind::Participant => (KeyKind::Participant, tera(true)),
            Kind::StaticParticipant => (KeyKind::ParticipantStatic, tera(false)),
            Kind::Device => (KeyKind::Device, tera(false)),
            Kind::Service => (KeyKind::Service, jwt::Expect { issuer: None, exp: false }),
        })
    }
}

/// The uuid of a static token's identity: derived from the token (domain-separated, so it
/// says nothing of the stored hash), stable, in UUID v4 form.
pub fn static_uuid(token: &str) -> String {
    let h = Sha256::digest(format!("edgeshare:opentera:{token}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid_v4(b)
}

/// Where the identity token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Header,
    Query,
    Cookie,
}

/// The identity token, in the vendor's order: the `Authorization: OpenTera` header (scheme
/// case-sensitive, split on the first whitespace), `?token=`, the `OpenTera` cookie. As the
/// vendor's `ServiceAccessManager` does, a header of another scheme (`Bearer x`) is passed
/// over for the query and the cookie, and a header that does not split in two is refused.
fn presented(head: &Head) -> Result<(String, From)> {
    if let Some(h) = head.header("authorization") {
        let (scheme, token) = h.trim().split_once(char::is_whitespace).ok_or_else(forbidden)?;
        let token = token.trim();
        if scheme == "OpenTera" {
            if token.is_empty() {
                return Err(forbidden());
            }
            return Ok((token.to_string(), From::Header));
        }
    }
    if let Some(t) = head.query_param("token").filter(|t| !t.is_empty()) {
        return Ok((t, From::Query));
    }
    let cookie = head.header("cookie").and_then(|c| {
        c.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == "OpenTera" && !v.is_empty()).then(|| v.trim_matches('"').to_string())
        })
    });
    cookie.map(|t| (t, From::Cookie)).ok_or_else(forbidden)
}

fn forbidden() -> Error {
    Error::Forbidden(FORBIDDEN.into())
}

/// Authenticates the caller; `dynamic_only` refuses static tokens (downloads, deletes, infos).
pub fn identify(head: &Head, config: &Config, now_ms: u64, dynamic_only: bool) -> Result<Identity> {
    let (token, from) = presented(head)?;
    if token.len() > 8192 {
        return Err(forbidden());
    }
    if !jwt::looks_like_jwt(&token) {
        if dynamic_only {
            return Err(forbidden());
        }
        let tenant = config.credentials.authenticate_opentera(&token).map_err(|_| forbidden())?;
        return Ok(Identity { tenant, uuid: static_uuid(&token), kind: Kind::Static, claims: Map::new() });
    }
    // the kind, from the claims as sent, chooses the key; the claims verified must say the same
    let (kind, claim) = jwt::peek(&token).as_ref().and_then(Kind::of).ok_or_else(forbidden)?;
    if dynamic_only && kind == Kind::StaticParticipant {
        return Err(forbidden());
    }
    let (key, expect) = kind.key().ok_or_else(forbidden)?;
    let found = jwt::verify_any(config.jwt_secrets.keys(key), &token, expect, now_ms / 1000);
    let (tenant, claims) = found.ok_or_else(forbidden)?;
    let tenant = tenant.clone();
    if Kind::of(&claims) != Some((kind, claim)) {
        return Err(forbidden());
    }
    let uuid = claims.get(claim).and_then(Value::as_str).and_then(parse_uuid).ok_or_else(forbidden)?;
    if kind == Kind::Service && from != From::Header {
        return Err(forbidden());
    }
    Ok(Identity { tenant, uuid, kind, claims })
}

/// The tenant's key of asset access tokens, without which none can be issued or checked.
fn secret<'c>(config: &'c Config, tenant: &Tenant) -> Result<&'c [u8]> {
    config.jwt_secrets.key(tenant, KeyKind::Access).ok_or_else(forbidden)
}

/// An asset access token: HS256, `iat`, `exp` (+1800 s), `iss`, `asset_uuids`, `requester_uuid`.
pub fn access_token(secret: &[u8], asset_uuids: &[&str], requester: &str, now_ms: u64) -> String {
    let now = now_ms / 1000;
    let claims = json!({
        "iat": now,
        "exp": now + ACCESS_TOKEN_SECS,
        "iss": ISSUER,
        "asset_uuids": asset_uuids,
        "requester_uuid": requester,
    });
    jwt::sign(claims.as_object().expect("an object"), secret)
}

/// Does the access token let `who` reach `asset`?
fn check_access(
    config: &Config,
    who: &Identity,
    token: &str,
    asset: &str,
    now_ms: u64,
    denied: &'static str,
) -> Result<()> {
    let denied = || Error::Forbidden(denied.into());
    let claims = jwt::verify(token, secret(config, &who.tenant)?, Some(ISSUER), now_ms / 1000).map_err(|_| denied())?;
    let requester = claims.get("requester_uuid").and_then(Value::as_str).and_then(parse_uuid);
    if requester.as_deref() != Some(who.uuid.as_str()) || !grants(&claims, asset) {
        return Err(denied());
    }
    Ok(())
}

/// Does an access token's `asset_uuids` name `asset`? OpenTera's server mints it as one uuid
/// string (`get_access_token(asset_uuids=asset.asset_uuid, ...)`), this service as a list;
/// the vendor's `uuid in access['asset_uuids']` is a substring test on a string, where only
/// the whole string is taken here.
fn grants(claims: &Map<String, Value>, asset: &str) -> bool {
    match claims.get("asset_uuids") {
        Some(Value::String(one)) => one == asset,
        Some(Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(asset)),
        _ => false,
    }
}

/// Werkzeug's `secure_filename`: ASCII only, whitespace runs to `_`, nothing but
/// `[A-Za-z0-9_.-]`, no leading or trailing `.` or `_`.
pub fn secure_filename(name: &str) -> String {
    let ascii: String =
        name.chars().filter(char::is_ascii).map(|c| if c == '/' || c == '\\' { ' ' } else { c }).collect();
    let joined = ascii.split_whitespace().collect::<Vec<_>>().join("_");
    let kept: String = joined.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')).collect();
    kept.trim_matches(|c| c == '.' || c == '_').to_string()
}

pub async fn handle<B, M, U>(svc: &Service<'_, B, M, U>, op: Op, req: &Request<'_>, body: U::Body) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let (config, now) = (svc.ctx.config, svc.ctx.now());
    match op {
        Op::Options => {
            Ok(Reply::Empty { status: 200, headers: vec![("Allow", "GET, HEAD, POST, DELETE, OPTIONS".into())] })
        }
        Op::Doc => Ok(doc_page()),
        Op::Swagger => Ok(Reply::json(200, swagger())),
        Op::Upload => {
            let who = identify(req.head, config, now, false)?;
            upload(svc, req, &who, U::read(body)).await
        }
        Op::Download | Op::Delete | Op::Infos => {
            let who = identify(req.head, config, now, true)?;
            let uuid_param = if op == Op::Delete { "uuid" } else { "asset_uuid" };
            let asset = req.head.query_param(uuid_param).filter(|v| !v.is_empty());
            let asset = asset.ok_or(Error::MissingParameter(uuid_param.into()))?;
            let token = req.head.query_param("access_token").filter(|v| !v.is_empty());
            let token = token.ok_or(Error::MissingParameter("access_token".into()))?;
            let denied = if op == Op::Infos { "Access denied for that asset" } else { "Access denied to asset" };
            check_access(config, &who, &token, &asset, now, denied)?;
            let asset = parse_uuid(&asset).ok_or_else(|| Error::not_found(NO_ASSET))?;
            let fetch = op == Op::Download && fetch_whole(req.head, req.method);
            let mut opened = svc.ctx.open(&asset, Via::Owner, Some(&who.tenant), MISSING, fetch).await?;
            if opened.record.dialect != DIALECT {
                return Err(Error::not_found(NO_ASSET));
            }
            match op {
                Op::Download => {
                    opened.record.content_type = guess_content_type(&opened.record.name).to_string();
                    Ok(download_reply(opened, req.head, req.method, CachePolicy::Private))
                }
                Op::Delete => {
                    svc.ctx.delete_file(&opened.record).await?;
                    Ok(Reply::json(200, json!("")))
                }
                _ => Ok(Reply::json(200, file_data(&opened.record))),
            }
        }
        Op::InfosPost => {
            let who = identify(req.head, config, now, false)?;
            infos_post(svc, &who, U::read(body)).await
        }
    }
}

/// AssetFileData.
fn file_data(r: &FileRecord) -> Value {
    let id: Value = r.extra.get("id_asset").and_then(|n| n.parse::<u64>().ok()).into();
    json!({
        "id_asset_file_data": id,
        "asset_uuid": r.id,
        "asset_original_filename": r.name,
        "asset_file_size": r.size,
    })
}

/// The asset JSON of compat-spec §2: TeraAsset ∪ AssetFileData.
fn asset_json(r: &FileRecord) -> Value {
    let mut v = r.extra.get(ASSET).and_then(|a| serde_json::from_str::<Value>(a).ok()).unwrap_or_else(|| json!({}));
    if let (Value::Object(asset), Value::Object(data)) = (&mut v, file_data(r)) {
        asset.extend(data);
    }
    v
}

/// The URL an answer names: `https://` and the external host and port the proxy says, else
/// the request's own origin; never a query string.
fn url(req: &Request<'_>, path: &str) -> String {
    let h =
        |a: &str, b: &str| req.head.header(a).or_else(|| req.head.header(b)).map(str::trim).filter(|v| !v.is_empty());
    match (h("x-externalserver", "x_externalserver"), h("x-externalport", "x_externalport")) {
        (Some(host), Some(port)) => format!("https://{host}:{port}/file{path}"),
        (Some(host), None) => format!("https://{host}/file{path}"),
        _ => format!("{}/file{path}", req.origin),
    }
}

/// What the form carried, as it arrived.
#[derive(Default)]
struct Form {
    asset: Option<String>,
    file: Option<Held>,
    filename_missing: bool,
}

async fn read_form<B, M, U>(
    svc: &Service<'_, B, M, U>,
    req: &Request<'_>,
    who: &Identity,
    body: ByteStream,
) -> Result<Form>
where
    B: BlobStore,
    M: MetaStore,
{
    let ctx = svc.ctx;
    let max = ctx.config.max_file_size;
    let head = req.head;
    let boundary = head
        .header("content-type")
        .filter(|ct| ct.trim().to_ascii_lowercase().starts_with("multipart/form-data"))
        .and_then(|_| form::boundary(head))
        .ok_or_else(|| Error::bad_request("Wrong content type"))?;
    form::check_length(head, max)?;
    let mut parts = form::open(body, boundary, "file", max, ctx.config.max_request_body);
    let mut got = Form::default();
    let read = async {
        while let Some(mut field) = parts.next_field().await.map_err(|e| form::form_error(e, max))? {
            match field.name() {
                Some("file_asset") if got.asset.is_none() => got.asset = Some(form::read_text(&mut field, max).await?),
                Some("file") if got.file.is_none() => {
                    let Some(original) = field.file_name().map(str::to_string).filter(|n| !n.is_empty()) else {
                        got.filename_missing = true;
                        form::skip(&mut field, max).await?;
                        continue;
                    };
                    let name = secure_filename(&original);
                    let name = if name.is_empty() { "file".to_string() } else { name };
                    limits::check_name(&name)?;
                    let declared = field.content_type().map(|m| m.essence_str().to_string());
                    let new = NewFile {
                        tenant: who.tenant.clone(),
                        id: new_uuid(),
                        content_type: content_type_or_guess(declared.as_deref(), &name),
                        name,
                        dialect: DIALECT,
                        access: Access::Private,
                        extra: Default::default(),
                        length_hint: head.content_length(),
                        expiring: false,
                        mutable: true,
                    };
                    got.file = Some(ctx.write_file(&new, form::stream(&mut field, max)).await?);
                }
                _ => form::skip(&mut field, max).await?,
            }
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(e) = read {
        if let Some(held) = &got.file {
            ctx.discard(&held.template.r2_key).await;
        }
        return Err(e);
    }
    Ok(got)
}

/// `file_asset`'s fields, checked in the vendor's order.
fn asset_fields(raw: &str) -> Result<Map<String, Value>> {
    let mut v: Value = serde_json::from_str(raw).map_err(|_| Error::bad_request("Invalid file_asset format"))?;
    // the doc's example wraps it in {"file_asset": {...}}; clients send it bare
    if let Some(inner) = v.get_mut("file_asset").map(Value::take) {
        v = inner;
    }
    let Value::Object(fields) = v else { return Err(Error::bad_request("Invalid file_asset format")) };
    let present = |k: &str| fields.get(k).is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
    if !present("id_session") || !present("asset_name") {
        return Err(Error::bad_request("Missing required field(s) in asset descriptor"));
    }
    Ok(fields)
}

/// A number given as a number or a numeric string; anything else as it was sent.
fn lenient_int(v: &Value) -> Value {
    match v {
        Value::String(s) => s.trim().parse::<i64>().map(Value::from).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// `POST /file/api/assets`.
async fn upload<B, M, U>(
    svc: &Service<'_, B, M, U>,
    req: &Request<'_>,
    who: &Identity,
    body: ByteStream,
) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let ctx = svc.ctx;
    let secret = secret(ctx.config, &who.tenant)?;
    let got = read_form(svc, req, who, body).await?;
    let checked = (|| {
        let raw = got.asset.as_deref().ok_or_else(|| Error::bad_request("Missing file asset information"))?;
        if got.file.is_none() {
            return Err(Error::bad_request(if got.filename_missing {
                "Missing filename"
            } else {
                "Missing uploaded file"
            }));
        }
        let fields = asset_fields(raw)?;
        let creators = ["id_user", "id_participant", "id_device", "id_service"];
        if who.kind == Kind::Service && !creators.iter().any(|c| fields.get(*c).is_some_and(|v| !v.is_null())) {
            return Err(Error::bad_request("Missing at least one ID creator"));
        }
        Ok(fields)
    })();
    let fields = match checked {
        Ok(f) => f,
        Err(e) => {
            if let Some(held) = &got.file {
                ctx.discard(&held.template.r2_key).await;
            }
            return Err(e);
        }
    };
    let mut held = got.file.expect("checked above");
    let id_asset = match svc
        .uploads
        .ledger(&tenant_object(&who.tenant.0), LedgerCall::NextNumber { counter: "opentera_asset".into() })
        .await
    {
        Ok(LedgerAnswer::Number { n }) => n,
        other => {
            ctx.discard(&held.template.r2_key).await;
            return Err(other.err().unwrap_or_else(|| Error::Internal("no number".into())));
        }
    };
    let now = ctx.now();
    let text = |k: &str, max: usize| {
        fields.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty() && s.len() <= max)
    };
    let asset_type = text("asset_type", 255).filter(|t| t.contains('/')).map(str::to_string);
    let asset_type = asset_type.unwrap_or_else(|| guess_content_type(&held.template.name).to_string());
    let datetime = text("asset_datetime", 64).map(str::to_string).unwrap_or_else(|| iso8601_micros(now));
    // creators: a service names them; anyone else is the creator
    let claim_id = |k: &str| who.claims.get(k).filter(|v| v.is_number()).cloned().unwrap_or(Value::Null);
    let (id_user, id_participant, id_device, id_service) = match who.kind {
        Kind::Service => {
            let f = |k: &str| fields.get(k).map(lenient_int).unwrap_or(Value::Null);
            (f("id_user"), f("id_participant"), f("id_device"), f("id_service"))
        }
        _ => (claim_id("id_user"), claim_id("id_participant"), claim_id("id_device"), Value::Null),
    };
    let mut asset = json!({
        "id_asset": id_asset,
        "id_session": lenient_int(&fields["id_session"]),
        "id_user": id_user,
        "id_participant": id_participant,
        "id_device": id_device,
        "id_service": id_service,
        "asset_name": fields["asset_name"],
        "asset_uuid": held.template.id,
        "asset_service_uuid": static_uuid(&format!("service:{}", who.tenant.0)),
        "asset_type": asset_type,
        "asset_datetime": datetime,
        "asset_expiration_datetime": Value::Null,
        "asset_service_owner_name": "File Transfer Service",
        "asset_session_name": Value::Null,
    });
    let names = [
        ("id_user", "asset_user", "user_fullname"),
        ("id_participant", "asset_participant", "participant_name"),
        ("id_device", "asset_device", "device_name"),
        ("id_service", "asset_service", "service_name"),
    ];
    for (id, shown, claim) in names {
        if !asset[id].is_null() {
            let name = who.claims.get(claim).cloned().unwrap_or_else(|| asset[id].to_string().into());
            asset[shown] = name;
        }
    }
    let extra = serde_json::to_string(&asset).map_err(|e| Error::Internal(e.to_string()))?;
    if extra.len() > 16 * 1024 {
        ctx.discard(&held.template.r2_key).await;
        return Err(Error::bad_request("file_asset too large"));
    }
    held.template.extra.insert(ASSET.into(), extra);
    held.template.extra.insert("id_asset".into(), id_asset.to_string());
    held.template.content_type = asset_type;
    let record = ctx.keep_file(held, Expiry::Never).await?;
    let mut answer = asset_json(&record);
    answer["asset_infos_url"] = url(req, "/api/assets/infos").into();
    answer["asset_url"] = url(req, "/api/assets").into();
    answer["access_token"] = access_token(secret, &[&record.id], &who.uuid, now).into();
    Ok(Reply::json(200, answer))
}

/// `POST /file/api/assets/infos`: the file data of several assets, or a rename.
async fn infos_post<B, M, U>(svc: &Service<'_, B, M, U>, who: &Identity, body: ByteStream) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
{
    let ctx = svc.ctx;
    let bad = || Error::bad_request("Badly formatted request");
    let raw = form::read_small(body, 256 * 1024).await.map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let now = ctx.now();
    // an entry's uuid, once its access token lets the caller reach it (no I/O); `None` for
    // one that is no uuid (no asset has it)
    let check = |asset: &Value| {
        let uuid = asset.get("asset_uuid").and_then(Value::as_str).unwrap_or("");
        let token = asset.get("access_token").and_then(Value::as_str).unwrap_or("");
        if uuid.is_empty() || token.is_empty() {
            return Err(bad());
        }
        check_access(ctx.config, who, token, uuid, now, "Access denied for that asset")?;
        Ok(parse_uuid(uuid))
    };
    let open = |id: String| async move {
        let opened = ctx.open(&id, Via::Owner, Some(&who.tenant), MISSING, false).await?;
        if opened.record.dialect != DIALECT {
            return Err(Error::not_found(NO_ASSET));
        }
        Ok(opened.record)
    };
    if let Some(assets) = v.get("assets").and_then(Value::as_array) {
        // every entry's token is checked; each distinct asset is read once, answered once (as
        // OpenTera's query of the listed uuids answers), in the order first listed
        let too_many = || {
            Error::bad_request(format!(
                "Too many assets: at most {MAX_INFOS} distinct ones in at most {MAX_INFOS_ENTRIES} entries"
            ))
        };
        if assets.len() > MAX_INFOS_ENTRIES {
            return Err(too_many());
        }
        let mut distinct: Vec<String> = Vec::new();
        for a in assets {
            let Some(id) = check(a)? else { continue };
            if !distinct.contains(&id) {
                if distinct.len() == MAX_INFOS {
                    return Err(too_many());
                }
                distinct.push(id);
            }
        }
        // the assets found (OpenTera's query answers those it finds), whichever are not here
        let mut out = Vec::with_capacity(distinct.len());
        for id in distinct {
            match open(id).await {
                Ok(record) => out.push(file_data(&record)),
                Err(Error::NotFound(_) | Error::Expired(_)) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(Reply::json(200, Value::Array(out)));
    }
    // a rename, in the vendor's order: the access token, then the name, then the asset
    let Some(asset) = v.get("file_asset").filter(|a| a.is_object()) else { return Err(bad()) };
    let id = check(asset)?.ok_or_else(|| Error::not_found(NO_ASSET))?;
    let name = match asset.get("asset_original_filename") {
        None => return Err(Error::bad_request("Only original filename can be changed from here")),
        Some(name) => name.as_str().map(secure_filename).filter(|n| !n.is_empty()).ok_or_else(bad)?,
    };
    limits::check_name(&name)?;
    let mut record = open(id).await?;
    record.name = name;
    ctx.rename_file(&record).await?;
    Ok(Reply::json(200, file_data(&record)))
}

/// `/file/doc`: this dialect's endpoints, from its table.
fn doc_page() -> Reply {
    let mut rows = String::new();
    for e in TABLE.endpoints {
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>/file{}</code></td><td>{}</td></tr>\n",
            e.method.as_str(),
            e.path,
            // the docs' `code` marks are dropped, not shown
            html::escape(&e.doc.replace('`', ""))
        ));
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>File Transfer Service API</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>\
         <h1>File Transfer Service (OpenTera)</h1>\
         <p>Identity token: <code>Authorization: OpenTera &lt;token&gt;</code>, <code>?token=</code> or the \
         <code>OpenTera</code> cookie. Swagger document: <a href=\"/file/api/swagger.json\">/file/api/swagger.json</a>. \
         The whole service's interactive documentation, at this dialect's section: \
         <a id=\"openapi\" href=\"/docs#/OpenTera\">/docs#/OpenTera</a> (OpenAPI 3.1: <a href=\"/openapi.json\">/openapi.json</a>).</p>\
         <table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>\n{rows}</tbody></table>\
         </body></html>\n"
    );
    Reply::Text { status: 200, headers: vec![("Content-Type", "text/html; charset=utf-8".into())], body }
}

/// A Swagger 2.0 document of this dialect, from its table (Flask-RESTX serves one there).
pub fn swagger() -> Value {
    let mut paths = Map::new();
    for e in TABLE.endpoints.iter().filter(|e| e.path.starts_with("/api/") && e.method != Method::Options) {
        let path = e.path.trim_start_matches("/api");
        let ops = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        ops[e.method.as_str().to_ascii_lowercase()] = json!({
            "summary": e.doc,
            "security": [{"OpenTera": []}],
            "responses": {"200": {"description": "Success"}, "400": {"description": "Bad request"}, "403": {"description": "Forbidden"}},
        });
    }
    json!({
        "swagger": "2.0",
        "basePath": "/file/api",
        "info": {"title": "File Transfer Service", "version": "1.0"},
        "securityDefinitions": {"OpenTera": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{World, ACME_JWT_SECRET, ACME_OPENTERA_STATIC, BOBCO_JWT_SECRET};
    const PARTICIPANT: &str = "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21";

    /// A dynamic identity token as OpenTera's server issues it.
    fn identity(secret: &str, claim: &str, uuid: &str, exp_in: i64, w: &World) -> String {
        let now = (w.now() / 1000) as i64;
        let c = json!({"iss": "TeraServer", "iat": now, "exp": now + exp_in, claim: uuid, "id_participant": 7,
                       "participant_name": "P7"});
        jwt::sign(c.as_object().unwrap(), secret.as_bytes())
    }

    fn form(asset: Option<&str>, file: Option<(&str, &[u8])>) -> Vec<u8> {
        let mut b = Vec::new();
        if let Some(a) = asset {
            b.extend_from_slice(
                format!("--XB\r\nContent-Disposition: form-data; name=\"file_asset\"\r\n\r\n{a}\r\n").as_bytes(),
            );
        }
        if let Some((name, data)) = file {
            b.extend_from_slice(
                format!("--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application type (ex: application/zip)\r\n\r\n").as_bytes(),
            );
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XB--\r\n");
        b
    }

    fn upload(w: &World, auth: &str, body: Vec<u8>) -> Reply {
        let len = body.len().to_string();
        let headers = [
            ("Authorization", auth),
            ("Content-Type", "multipart/form-data; boundary=XB"),
            ("Content-Length", len.as_str()),
        ];
        w.send(Method::Post, "/file/api/assets", &headers, body)
    }

    fn get(w: &World, m: Method, path_query: &str, auth: &str) -> Reply {
        w.send(m, path_query, &[("Authorization", auth)], Vec::new())
    }

    /// The seed's example, as written: `id_session` "Session number", the part's type
    /// "application type (ex: application/zip)", a static token.
    #[test]
    fn the_seed_upload_then_download_infos_rename_delete() {
        let w = World::new();
        let data = b"PK\x03\x04 some zip bytes";
        let asset = r#"{"id_session": "Session number", "asset_name": "Asset Name"}"#;
        let auth = format!("OpenTera {ACME_OPENTERA_STATIC}");
        let r = upload(&w, &auth, form(Some(asset), Some(("my report.zip", data))));
        assert_eq!(r.status(), 200, "{r:?}");
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        let a = World::json(&r);
        for field in [
            "id_asset",
            "id_session",
            "id_user",
            "id_participant",
            "id_device",
            "id_service",
            "asset_name",
            "asset_uuid",
            "asset_service_uuid",
            "asset_type",
            "asset_datetime",
            "asset_expiration_datetime",
            "asset_service_owner_name",
            "asset_session_name",
            "id_asset_file_data",
            "asset_original_filename",
            "asset_file_size",
            "asset_infos_url",
            "asset_url",
            "access_token",
        ] {
            assert!(a.get(field).is_some(), "{field} in {a}");
        }
        assert!(a.get("asset_user").is_none(), "display names only with their id");
        assert_eq!((a["id_asset"].as_u64(), a["id_asset_file_data"].as_u64()), (Some(1), Some(1)));
        assert_eq!(a["id_session"], "Session number");
        assert_eq!(a["asset_name"], "Asset Name");
        assert_eq!(a["asset_original_filename"], "my_report.zip");
        assert_eq!(a["asset_file_size"], data.len());
        assert_eq!(a["asset_type"], "application/zip");
        assert_eq!(a["asset_datetime"], "2024-05-02T10:00:00.000000+00:00");
        assert_eq!(a["asset_url"], "https://edge.example/file/api/assets");
        assert_eq!(a["asset_infos_url"], "https://edge.example/file/api/assets/infos");
        let uuid = a["asset_uuid"].as_str().unwrap().to_string();
        let token = a["access_token"].as_str().unwrap().to_string();
        let claims = jwt::verify(&token, ACME_JWT_SECRET.as_bytes(), Some("TeraServer"), w.now() / 1000).unwrap();
        assert_eq!(claims["requester_uuid"], static_uuid(ACME_OPENTERA_STATIC));
        assert_eq!(claims["asset_uuids"], json!([uuid]));
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 1800);
        // a second upload gets the next id
        let again = World::json(&upload(&w, &auth, form(Some(asset), Some(("b.txt", b"b")))));
        assert_eq!(again["id_asset"], 2);

        // downloads need a dynamic token of the same requester
        let me = identity(ACME_JWT_SECRET, "participant_uuid", &static_uuid(ACME_OPENTERA_STATIC), 600, &w);
        let dl_path = format!("/file/api/assets?asset_uuid={uuid}&access_token={token}");
        let static_dl = get(&w, Method::Get, &dl_path, &auth);
        assert_eq!(
            (static_dl.status(), World::json(&static_dl)),
            (403, json!("Forbidden")),
            "static tokens upload only"
        );
        let dl = get(&w, Method::Get, &dl_path, &format!("OpenTera {me}"));
        assert_eq!(dl.status(), 200);
        assert_eq!(w.body(&dl), data);
        assert_eq!(dl.header("Content-Type"), Some("application/zip"));
        assert!(dl.header("Content-Disposition").unwrap().contains("filename=\"my_report.zip\""));
        assert_eq!(dl.header("Access-Control-Allow-Origin"), Some("*"));
        // ?token= and the cookie work too
        let q = w.send(Method::Get, &format!("{dl_path}&token={me}"), &[("Range", "bytes=0-1")], Vec::new());
        assert_eq!((q.status(), w.body(&q)), (206, b"PK".to_vec()));
        let c = w.send(Method::Get, &dl_path, &[("Cookie", &format!("a=b; OpenTera={me}"))], Vec::new());
        assert_eq!(c.status(), 200);

        let infos = get(
            &w,
            Method::Get,
            &format!("/file/api/assets/infos?asset_uuid={uuid}&access_token={token}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!(
            World::json(&infos),
            json!({"id_asset_file_data": 1, "asset_uuid": uuid, "asset_original_filename": "my_report.zip", "asset_file_size": data.len()})
        );
        let post = |body: Value| {
            let b = body.to_string();
            w.send(
                Method::Post,
                "/file/api/assets/infos",
                &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
                b.into_bytes(),
            )
        };
        let many = post(json!({"assets": [{"asset_uuid": uuid, "access_token": token}]}));
        assert_eq!(World::json(&many)[0]["asset_uuid"], uuid.as_str());
        let renamed = post(
            json!({"file_asset": {"asset_uuid": uuid, "access_token": token, "asset_original_filename": "new name.zip"}}),
        );
        assert_eq!(World::json(&renamed)["asset_original_filename"], "new_name.zip");
        let dl = get(&w, Method::Get, &dl_path, &format!("OpenTera {me}"));
        assert!(dl.header("Content-Disposition").unwrap().contains("new_name.zip"), "the rename is seen at once");
        let listed = futures_executor::block_on(w.ctx().list_files("acme", None)).unwrap();
        let listed = listed.files.iter().find(|f| f.id == uuid).unwrap();
        assert_eq!(listed.name, "new_name.zip", "and in the tenant's listing");
        assert_eq!(post(json!({"nothing": 1})).status(), 400);
        assert_eq!(World::json(&post(json!({"nothing": 1}))), json!("Badly formatted request"));

        let del = get(
            &w,
            Method::Delete,
            &format!("/file/api/assets?uuid={uuid}&access_token={token}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!((del.status(), World::json(&del)), (200, json!("")));
        let gone = get(&w, Method::Get, &dl_path, &format!("OpenTera {me}"));
        assert_eq!((gone.status(), World::json(&gone)), (404, json!("No asset found")));
        assert!(w.blobs.object(&crate::engine::file::keys::object(&uuid)).is_none());
        assert!(w.blobs.object(&crate::engine::file::keys::sidecar(&uuid)).is_none());
    }

    #[test]
    fn refusals_are_403_strings_and_bad_forms_400() {
        let w = World::new();
        let me = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w);
        let auth = format!("OpenTera {me}");
        let asset = r#"{"id_session": 3, "asset_name": "A"}"#;
        let r = upload(&w, &auth, form(Some(asset), Some(("a.txt", b"abc"))));
        let a = World::json(&r);
        assert_eq!((a["id_session"].as_u64(), a["id_user"].as_u64()), (Some(3), None), "no id_user claim: null");
        let (uuid, token) =
            (a["asset_uuid"].as_str().unwrap().to_string(), a["access_token"].as_str().unwrap().to_string());
        let dl = |token: &str, auth: &str| {
            get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"), auth)
        };
        assert_eq!(dl(&token, &auth).status(), 200);

        let denied = json!("Access denied to asset");
        // another requester's token
        let other = identity(ACME_JWT_SECRET, "user_uuid", "11111111-2222-4333-8444-555555555555", 3600, &w);
        let r = dl(&token, &format!("OpenTera {other}"));
        assert_eq!((r.status(), World::json(&r)), (403, denied.clone()));
        // tampered access token
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = access_token(b"not-the-secret-at-all", &[&uuid], PARTICIPANT, w.now());
        let forged_sig = forged.split('.').nth(2).unwrap().to_string();
        parts[2] = &forged_sig;
        assert_eq!(World::json(&dl(&parts.join("."), &auth)), denied);
        // another asset's token
        let b = World::json(&upload(&w, &auth, form(Some(asset), Some(("b.txt", b"b")))));
        assert_eq!(World::json(&dl(b["access_token"].as_str().unwrap(), &auth)), denied);
        // identity tokens: wrong secret, expired, no uuid, wrong scheme, service token in the query
        let wrong = identity("some-other-secret-0123456789", "user_uuid", PARTICIPANT, 3600, &w);
        let expired = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, -1, &w);
        let no_uuid = identity(ACME_JWT_SECRET, "user_name", PARTICIPANT, 3600, &w);
        for bad in [
            format!("OpenTera {wrong}"),
            format!("OpenTera {expired}"),
            format!("OpenTera {no_uuid}"),
            format!("Bearer {me}"),
            format!("opentera {me}"),
            "OpenTera".into(),
            "OpenTera ".into(),
        ] {
            let r = dl(&token, &bad);
            assert_eq!((r.status(), World::json(&r)), (403, json!("Forbidden")), "{bad}");
            assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        }
        let service = identity(ACME_JWT_SECRET, "service_uuid", PARTICIPANT, 3600, &w);
        let r = w.send(
            Method::Get,
            &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}&token={service}"),
            &[],
            Vec::new(),
        );
        assert_eq!(r.status(), 403, "service tokens only in the header");
        assert_eq!(w.send(Method::Get, "/file/api/assets", &[], Vec::new()).status(), 403);
        let absurd = format!("OpenTera {}.{}.{}", "a".repeat(5000), "b".repeat(5000), "c".repeat(100));
        assert_eq!(World::json(&dl(&token, &absurd)), json!("Forbidden"), "a token of absurd size");
        // the access token expires after 1800 s
        w.advance(1_800_000);
        assert_eq!(World::json(&dl(&token, &auth)), denied);

        // reqparse's shape for a missing argument
        let r = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}"), &auth);
        assert_eq!(r.status(), 400);
        assert_eq!(World::json(&r)["message"], "Input payload validation failed");
        assert!(World::json(&r)["errors"]["access_token"].is_string());
        let r = get(&w, Method::Delete, &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"), &auth);
        assert!(World::json(&r)["errors"]["uuid"].is_string(), "delete takes `uuid`");
        // forms, in the vendor's order of checks
        let before = w.blobs.objects.borrow().len();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (form(None, Some(("a.txt", b"x"))), "Missing file asset information"),
            (form(Some(asset), None), "Missing uploaded file"),
            (form(Some(asset), Some(("", b"x"))), "Missing filename"),
            (form(Some("{not json"), Some(("a.txt", b"x"))), "Invalid file_asset format"),
            (
                form(Some(r#"{"asset_name": "A"}"#), Some(("a.txt", b"x"))),
                "Missing required field(s) in asset descriptor",
            ),
        ];
        for (body, want) in cases {
            let r = upload(&w, &auth, body);
            assert_eq!((r.status(), World::json(&r)), (400, json!(want)));
        }
        assert_eq!(w.blobs.objects.borrow().len(), before, "nothing kept of refused uploads");
        let r = w.send(
            Method::Post,
            "/file/api/assets",
            &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
            b"{}".to_vec(),
        );
        assert_eq!(World::json(&r), json!("Wrong content type"));
        let svc = identity(ACME_JWT_SECRET, "service_uuid", PARTICIPANT, 3600, &w);
        let r = upload(&w, &format!("OpenTera {svc}"), form(Some(asset), Some(("a.txt", b"x"))));
        assert_eq!(World::json(&r), json!("Missing at least one ID creator"));
        let r = upload(
            &w,
            &format!("OpenTera {svc}"),
            form(Some(r#"{"id_session": 1, "asset_name": "A", "id_device": "5"}"#), Some(("a.txt", b"x"))),
        );
        assert_eq!(World::json(&r)["id_device"], 5);
        // routes
        let r = w.send(Method::Delete, "/file/api/assets/infos", &[], Vec::new());
        assert_eq!(r.status(), 405);
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        let r = w.send(Method::Options, "/file/api/assets", &[], Vec::new());
        assert_eq!((r.status(), r.header("Access-Control-Allow-Methods")), (200, Some("*")));
        assert_eq!(w.send(Method::Get, "/file/nothing", &[], Vec::new()).status(), 404);
        let doc = w.send(Method::Get, "/file/doc", &[], Vec::new());
        assert!(matches!(&doc, Reply::Text { body, .. } if body.contains("/file/api/assets/infos")));
        assert!(matches!(&doc, Reply::Text { body, .. } if body.contains("href=\"/docs#/OpenTera\"")), "its section");
        assert_eq!(doc.header("Content-Type"), Some("text/html; charset=utf-8"));
        let sw = World::json(&w.send(Method::Get, "/file/api/swagger.json", &[], Vec::new()));
        assert_eq!(sw["swagger"], "2.0");
        assert!(sw["paths"]["/assets"]["post"].is_object() && sw["paths"]["/assets/infos"]["get"].is_object());
    }

    /// Another tenant, whatever token it holds: 403 on every route, nothing changes.
    #[test]
    fn another_tenant_gets_403_everywhere() {
        let w = World::new();
        let me = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w);
        let a = World::json(&upload(
            &w,
            &format!("OpenTera {me}"),
            form(Some(r#"{"id_session": 1, "asset_name": "A"}"#), Some(("a.txt", b"secret"))),
        ));
        let (uuid, token) = (a["asset_uuid"].as_str().unwrap(), a["access_token"].as_str().unwrap());
        // bobco's identity with the same uuid claim, signed with bobco's secret
        let bob = format!("OpenTera {}", identity(BOBCO_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        for (m, path) in [
            (Method::Get, format!("/file/api/assets?asset_uuid={uuid}&access_token={token}")),
            (Method::Head, format!("/file/api/assets?asset_uuid={uuid}&access_token={token}")),
            (Method::Delete, format!("/file/api/assets?uuid={uuid}&access_token={token}")),
            (Method::Get, format!("/file/api/assets/infos?asset_uuid={uuid}&access_token={token}")),
        ] {
            let r = get(&w, m, &path, &bob);
            assert_eq!(r.status(), 403, "{m:?} {path}");
        }
        let body =
            json!({"file_asset": {"asset_uuid": uuid, "access_token": token, "asset_original_filename": "x.txt"}});
        let r = w.send(
            Method::Post,
            "/file/api/assets/infos",
            &[("Authorization", bob.as_str())],
            body.to_string().into_bytes(),
        );
        assert_eq!(r.status(), 403);
        // and bobco's own access token for acme's asset (it cannot have one signed by acme)
        let forged = access_token(BOBCO_JWT_SECRET.as_bytes(), &[uuid], PARTICIPANT, w.now());
        let r = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={forged}"), &bob);
        assert_eq!(r.status(), 404, "bobco's own token reaches only bobco's files");
        let r = get(
            &w,
            Method::Get,
            &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!(w.body(&r), b"secret", "still there, unchanged");
        // a tus file is no asset, even to its own tenant with a token it minted
        let headers = [
            ("Authorization", crate::testkit::ACME_BEARER),
            ("Tus-Resumable", "1.0.0"),
            ("Upload-Length", "4"),
            ("Content-Type", "application/offset+octet-stream"),
        ];
        let up = w.send(Method::Post, "/files/", &headers, b"tus!".to_vec());
        let id = up.header("Location").unwrap().rsplit('/').next().unwrap().to_string();
        assert!(w.blobs.object(&crate::engine::file::keys::object(&id)).is_some(), "stored where an asset would be");
        let minted = access_token(ACME_JWT_SECRET.as_bytes(), &[&id], PARTICIPANT, w.now());
        let r = get(
            &w,
            Method::Get,
            &format!("/file/api/assets?asset_uuid={id}&access_token={minted}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!((r.status(), World::json(&r)), (404, json!("No asset found")));
    }

    /// A Twake access token (signed with the same tenant secret) is no OpenTera identity, and
    /// an OpenTera token is refused before its `nbf`.
    #[test]
    fn tokens_of_another_dialect_or_not_yet_valid_are_refused() {
        let w = World::new();
        let now = w.now() / 1000;
        let sign = |c: Value| jwt::sign(c.as_object().unwrap(), ACME_JWT_SECRET.as_bytes());
        let asset = r#"{"id_session": 3, "asset_name": "A"}"#;
        let send = |token: &str| upload(&w, &format!("OpenTera {token}"), form(Some(asset), Some(("a.txt", b"abc"))));
        let twake = sign(json!({"type": "access", "sub": PARTICIPANT, "email": "u@example.com", "iat": now - 600,
                                "nbf": now - 600, "exp": now + 3600}));
        let r = send(&twake);
        assert_eq!((r.status(), World::json(&r)), (403, json!("Forbidden")));
        let soon = sign(
            json!({"iss": "TeraServer", "iat": now, "nbf": now + 60, "exp": now + 3600, "user_uuid": PARTICIPANT}),
        );
        assert_eq!(send(&soon).status(), 403, "not before its nbf");
        w.advance(60_000);
        assert_eq!(send(&soon).status(), 200, "from its nbf on");
    }

    /// `POST .../infos` with one asset listed 650 times reads it once and answers it once; more
    /// than `MAX_INFOS` distinct assets are refused before anything is read.
    #[test]
    fn infos_read_each_asset_once_and_are_capped() {
        let w = World::new();
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        let a = World::json(&upload(
            &w,
            &auth,
            form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))),
        ));
        let entry = json!({"asset_uuid": a["asset_uuid"], "access_token": a["access_token"]});
        let post = |assets: Vec<Value>| {
            let body = json!({"assets": assets}).to_string().into_bytes();
            assert!(body.len() < 256 * 1024, "within the body limit: {}", body.len());
            let reads = w.blobs.reads.get();
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            let r = w.send(Method::Post, "/file/api/assets/infos", &headers, body);
            (r, w.blobs.reads.get() - reads)
        };
        let (one, once) = post(vec![entry.clone()]);
        assert_eq!(one.status(), 200);
        let (many, reads) = post(vec![entry.clone(); 650]);
        assert_eq!(World::json(&many), World::json(&one), "answered once");
        assert_eq!(reads, once, "read once");
        // over the cap: 400 in OpenTera's shape (a JSON string), nothing read
        let other = |i: usize| {
            let uuid = format!("6b2f8f0e-5d43-4c0a-9f55-{i:012}");
            let token = access_token(ACME_JWT_SECRET.as_bytes(), &[&uuid], PARTICIPANT, w.now());
            json!({"asset_uuid": uuid, "access_token": token})
        };
        let (r, reads) = post((0..=MAX_INFOS).map(other).collect());
        assert_eq!((r.status(), reads), (400, 0));
        assert!(World::json(&r).as_str().unwrap().contains("at most 100 distinct"), "{r:?}");
        let (r, _) = post(vec![json!({"asset_uuid": PARTICIPANT, "access_token": "x"}); 1001]);
        assert_eq!(r.status(), 400, "too many entries");
        // at the cap, the list is not refused for its length (the one asset held is answered)
        let (r, _) = post((1..MAX_INFOS).map(other).chain([entry]).collect());
        assert_eq!((r.status(), World::json(&r)), (200, World::json(&one)));
    }

    const DEVICE: &str = "2d7a3c1e-8f4b-4a6d-9e2c-7b1f0a5d3c8e";
    const SERVICE: &str = "0f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b";

    /// Tokens as OpenTera's server mints them (no `exp` for devices, static participants and a
    /// service's own), signed with `key`.
    fn vendor_token(key: &str, claims: Value) -> String {
        jwt::sign(claims.as_object().unwrap(), key.as_bytes())
    }

    /// A device's token carries no `exp`: it uploads, downloads and hears 400 for a query
    /// without arguments, as from OpenTera; a static participant's uploads only; a service's
    /// own (`iat` and `service_uuid` only) passes in the header; a user's without `exp` does not.
    #[test]
    fn tokens_without_exp_where_opentera_issues_them() {
        let w = World::new();
        let now = w.now() / 1000;
        let device = |extra: Value| {
            let mut c = json!({"iss": "TeraServer", "jti": "8c2d1f0e-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                               "device_uuid": DEVICE, "id_device": 4});
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            format!("OpenTera {}", vendor_token(ACME_JWT_SECRET, c))
        };
        let auth = device(json!({}));
        let r = get(&w, Method::Get, "/file/api/assets", &auth);
        assert_eq!((r.status(), World::json(&r)["message"].as_str()), (400, Some("Input payload validation failed")));
        let up = upload(&w, &auth, form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))));
        assert_eq!(up.status(), 200, "{up:?}");
        let a = World::json(&up);
        assert_eq!(a["id_device"], 4);
        let dl = format!(
            "/file/api/assets?asset_uuid={}&access_token={}",
            a["asset_uuid"].as_str().unwrap(),
            a["access_token"].as_str().unwrap()
        );
        assert_eq!(w.body(&get(&w, Method::Get, &dl, &auth)), b"abc");
        // an exp given is checked, and an nbf
        assert_eq!(get(&w, Method::Get, &dl, &device(json!({"exp": now + 60}))).status(), 200);
        assert_eq!(get(&w, Method::Get, &dl, &device(json!({"exp": now}))).status(), 403);
        assert_eq!(get(&w, Method::Get, &dl, &device(json!({"nbf": now + 60}))).status(), 403);

        // a static participant: uploads; its downloads need its dynamic token
        let static_p = format!(
            "OpenTera {}",
            vendor_token(
                ACME_JWT_SECRET,
                json!({"iss": "TeraServer", "jti": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                       "participant_uuid": PARTICIPANT, "id_participant": 7})
            )
        );
        let up = upload(&w, &static_p, form(Some(r#"{"id_session": 3, "asset_name": "B"}"#), Some(("b.txt", b"b"))));
        assert_eq!(up.status(), 200, "{up:?}");
        let b = World::json(&up);
        assert_eq!(b["id_participant"], 7);
        let dl = format!(
            "/file/api/assets?asset_uuid={}&access_token={}",
            b["asset_uuid"].as_str().unwrap(),
            b["access_token"].as_str().unwrap()
        );
        assert_eq!((get(&w, Method::Get, &dl, &static_p).status()), 403, "static tokens upload only");
        let dynamic = identity(ACME_JWT_SECRET, "participant_uuid", PARTICIPANT, 3600, &w);
        assert_eq!(get(&w, Method::Get, &dl, &format!("OpenTera {dynamic}")).status(), 200);

        // a service's own token: in the header only
        let service = vendor_token(ACME_JWT_SECRET, json!({"iat": now, "service_uuid": SERVICE}));
        let asset = r#"{"id_session": 3, "asset_name": "C", "id_participant": 7}"#;
        let r = upload(&w, &format!("OpenTera {service}"), form(Some(asset), Some(("c.txt", b"c"))));
        assert_eq!((r.status(), World::json(&r)["id_participant"].as_u64()), (200, Some(7)), "{r:?}");
        let r = w.send(Method::Get, &format!("{dl}&token={service}"), &[], Vec::new());
        assert_eq!(r.status(), 403, "service tokens only in the header");

        // users' tokens always carry exp: one without is refused
        let user = vendor_token(ACME_JWT_SECRET, json!({"iss": "TeraServer", "iat": now, "user_uuid": PARTICIPANT}));
        assert_eq!(get(&w, Method::Get, &dl, &format!("OpenTera {user}")).status(), 403);
    }

    /// Each kind of token verified with its own key (`tenant:kind:secret`): OpenTera's five
    /// (user, dynamic and static participant, device, service; access tokens with the service
    /// key unless `access` is given) and Twake's; a token signed with another kind's key is
    /// refused.
    #[test]
    fn a_key_per_kind_of_token() {
        let mut w = World::new();
        let (user, part, part_static, device, service, twake) = (
            "user-key-0123456789abcdef",
            "participant-key-0123456789",
            "participant-static-key-0123456789",
            "device-key-0123456789abcdef",
            "service-key-0123456789abcdef",
            "twake-key-0123456789abcdef",
        );
        let spec = format!(
            "acme:user:{user};acme:participant:{part};acme:participant_static:{part_static};\
             acme:device:{device};acme:service:{service};acme:twake:{twake};bobco:{BOBCO_JWT_SECRET}"
        );
        w.config.jwt_secrets = crate::auth::JwtSecrets::parse(&spec).unwrap();
        let now = w.now() / 1000;
        let tokens = [
            (user, json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, "user_uuid": PARTICIPANT})),
            (part, json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, "participant_uuid": PARTICIPANT})),
            (part_static, json!({"iss": "TeraServer", "participant_uuid": PARTICIPANT})),
            (device, json!({"iss": "TeraServer", "device_uuid": PARTICIPANT, "id_device": 2})),
            (service, json!({"iat": now, "service_uuid": PARTICIPANT})),
        ];
        let asset = r#"{"id_session": 3, "asset_name": "A", "id_device": 2}"#;
        for (key, claims) in &tokens {
            let auth = format!("OpenTera {}", vendor_token(key, claims.clone()));
            let r = upload(&w, &auth, form(Some(asset), Some(("a.txt", b"abc"))));
            assert_eq!(r.status(), 200, "{claims} with its key: {r:?}");
            // its access token is signed with the service key, as OpenTera's are
            let at = World::json(&r)["access_token"].as_str().unwrap().to_string();
            assert!(jwt::verify(&at, service.as_bytes(), Some("TeraServer"), now).is_ok());
            for (other, _) in tokens.iter().filter(|(k, _)| k != key) {
                let auth = format!("OpenTera {}", vendor_token(other, claims.clone()));
                let r = upload(&w, &auth, form(Some(asset), Some(("a.txt", b"abc"))));
                assert_eq!(r.status(), 403, "{claims} with another kind's key");
            }
        }
        // an access token OpenTera's server minted with its service key, for an asset held here
        let me = format!("OpenTera {}", vendor_token(user, tokens[0].1.clone()));
        let a = World::json(&upload(&w, &me, form(Some(asset), Some(("a.txt", b"abc")))));
        let uuid = a["asset_uuid"].as_str().unwrap();
        let minted = |key: &str| {
            vendor_token(
                key,
                json!({"iat": now, "exp": now + 1800, "iss": "TeraServer", "asset_uuids": uuid, "requester_uuid": PARTICIPANT}),
            )
        };
        let dl = |w: &World, t: &str| {
            get(w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={t}"), &me)
        };
        assert_eq!(dl(&w, &minted(service)).status(), 200);
        assert_eq!(dl(&w, &minted(user)).status(), 403, "access tokens: the service key");
        // an access key of its own, when given
        let spec = format!("{spec};acme:access:access-key-0123456789abcdef");
        w.config.jwt_secrets = crate::auth::JwtSecrets::parse(&spec).unwrap();
        assert_eq!(dl(&w, &minted("access-key-0123456789abcdef")).status(), 200);
        assert_eq!(dl(&w, &minted(service)).status(), 403);
        // Twake: its own key
        let twake_token = |key: &str| {
            let c = json!({"type": "access", "sub": PARTICIPANT, "iat": now, "nbf": now - 600, "exp": now + 3600});
            format!("Bearer {}", vendor_token(key, c))
        };
        let file = format!("{}/companies/c1/files/{PARTICIPANT}", super::super::twake::PREFIX);
        let r = w.send(Method::Get, &file, &[("Authorization", twake_token(twake).as_str())], Vec::new());
        assert_eq!(r.status(), 404, "authenticated, no such file");
        let r = w.send(Method::Get, &file, &[("Authorization", twake_token(user).as_str())], Vec::new());
        assert_eq!(r.status(), 401);
        let r = w.send(Method::Get, &file, &[("Authorization", twake_token(BOBCO_JWT_SECRET).as_str())], Vec::new());
        assert_eq!(r.status(), 404, "bobco's one secret still serves every kind");
    }

    /// An access token as OpenTera's server mints it for `/api/*/assets?with_urls=true`:
    /// `asset_uuids` is one uuid string, not a list.
    fn vendor_access_token(asset_uuids: Value, requester: &str, w: &World) -> String {
        let now = w.now() / 1000;
        let c = json!({"iat": now, "exp": now + 1800, "iss": "TeraServer", "asset_uuids": asset_uuids,
                       "requester_uuid": requester});
        jwt::sign(c.as_object().unwrap(), ACME_JWT_SECRET.as_bytes())
    }

    /// Info, download, rename and delete with an access token whose `asset_uuids` is the
    /// asset's uuid as a string; a string that only contains it is no grant.
    #[test]
    fn access_tokens_as_opentera_mints_them() {
        let w = World::new();
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        let up = |name: &str| {
            let a = World::json(&upload(
                &w,
                &auth,
                form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some((name, b"abc"))),
            ));
            a["asset_uuid"].as_str().unwrap().to_string()
        };
        let (uuid, other) = (up("a.txt"), up("b.txt"));
        let token = vendor_access_token(json!(uuid), PARTICIPANT, &w);
        let infos =
            get(&w, Method::Get, &format!("/file/api/assets/infos?asset_uuid={uuid}&access_token={token}"), &auth);
        assert_eq!((infos.status(), World::json(&infos)["asset_uuid"].as_str()), (200, Some(uuid.as_str())));
        let dl = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"), &auth);
        assert_eq!((dl.status(), w.body(&dl)), (200, b"abc".to_vec()));
        let rename =
            json!({"file_asset": {"asset_uuid": uuid, "access_token": token, "asset_original_filename": "c.txt"}});
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let r = w.send(Method::Post, "/file/api/assets/infos", &headers, rename.to_string().into_bytes());
        assert_eq!((r.status(), World::json(&r)["asset_original_filename"].as_str()), (200, Some("c.txt")));
        let many = json!({"assets": [{"asset_uuid": uuid, "access_token": token}]});
        let r = w.send(Method::Post, "/file/api/assets/infos", &headers, many.to_string().into_bytes());
        assert_eq!((r.status(), World::json(&r)[0]["asset_uuid"].as_str()), (200, Some(uuid.as_str())));
        // a string is equal to the uuid or grants nothing (Python's `in` on it is a substring test)
        for loose in
            [json!(format!("{uuid},{other}")), json!(format!("{other} {uuid}")), json!(&uuid[..8]), json!(null)]
        {
            let t = vendor_access_token(loose.clone(), PARTICIPANT, &w);
            let r = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={t}"), &auth);
            assert_eq!((r.status(), World::json(&r)), (403, json!("Access denied to asset")), "{loose}");
        }
        let del = get(&w, Method::Delete, &format!("/file/api/assets?uuid={uuid}&access_token={token}"), &auth);
        assert_eq!((del.status(), World::json(&del)), (200, json!("")));
    }

    /// `POST .../infos` answers the listed assets it holds and leaves out the others, as
    /// OpenTera's query of the listed uuids does; a refused token still refuses the whole.
    #[test]
    fn infos_answer_the_assets_found() {
        let w = World::new();
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        let a = World::json(&upload(
            &w,
            &auth,
            form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))),
        ));
        let held = json!({"asset_uuid": a["asset_uuid"], "access_token": a["access_token"]});
        let absent = "0b9d8f7e-1c2d-4e3f-8a4b-5c6d7e8f9a0b";
        let token = access_token(ACME_JWT_SECRET.as_bytes(), &[absent, "not-a-uuid"], PARTICIPANT, w.now());
        let post = |assets: Vec<Value>| {
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            w.send(Method::Post, "/file/api/assets/infos", &headers, json!({"assets": assets}).to_string().into_bytes())
        };
        let r = post(vec![
            json!({"asset_uuid": absent, "access_token": token}),
            held.clone(),
            json!({"asset_uuid": "not-a-uuid", "access_token": token}),
        ]);
        assert_eq!(r.status(), 200, "{r:?}");
        let got = World::json(&r);
        assert_eq!(got.as_array().map(Vec::len), Some(1), "{got}");
        assert_eq!(got[0]["asset_uuid"], a["asset_uuid"]);
        let r = post(vec![json!({"asset_uuid": absent, "access_token": token})]);
        assert_eq!((r.status(), World::json(&r)), (200, json!([])), "none found: an empty list");
        let r = post(vec![held, json!({"asset_uuid": absent, "access_token": "x.y.z"})]);
        assert_eq!((r.status(), World::json(&r)), (403, json!("Access denied for that asset")));
    }

    /// A `file_asset` without `asset_original_filename` is 400 in the vendor's words, after its
    /// access token is checked and before the asset is looked up.
    #[test]
    fn a_rename_needs_the_original_filename() {
        let w = World::new();
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        let a = World::json(&upload(
            &w,
            &auth,
            form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))),
        ));
        let post = |file_asset: Value| {
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            let r = w.send(
                Method::Post,
                "/file/api/assets/infos",
                &headers,
                json!({"file_asset": file_asset}).to_string().into_bytes(),
            );
            (r.status(), World::json(&r))
        };
        let only = json!("Only original filename can be changed from here");
        assert_eq!(
            post(json!({"asset_uuid": a["asset_uuid"], "access_token": a["access_token"]})),
            (400, only.clone())
        );
        let absent = "0b9d8f7e-1c2d-4e3f-8a4b-5c6d7e8f9a0b";
        let token = access_token(ACME_JWT_SECRET.as_bytes(), &[absent], PARTICIPANT, w.now());
        assert_eq!(post(json!({"asset_uuid": absent, "access_token": token})), (400, only));
        assert_eq!(
            post(json!({"asset_uuid": absent, "access_token": token, "asset_original_filename": "b.txt"})),
            (404, json!("No asset found"))
        );
        assert_eq!(
            post(json!({"asset_uuid": a["asset_uuid"], "access_token": "x.y.z"})),
            (403, json!("Access denied for that asset")),
            "the token first"
        );
        let r = post(
            json!({"asset_uuid": a["asset_uuid"], "access_token": a["access_token"], "asset_original_filename": 5}),
        );
        assert_eq!(r, (400, json!("Badly formatted request")));
        let infos = get(
            &w,
            Method::Get,
            &format!(
                "/file/api/assets/infos?asset_uuid={}&access_token={}",
                a["asset_uuid"].as_str().unwrap(),
                a["access_token"].as_str().unwrap()
            ),
            &auth,
        );
        assert_eq!(World::json(&infos)["asset_original_filename"], "a.txt", "unchanged");
    }

    /// An `Authorization` header of another scheme is passed over for `?token=` and the
    /// cookie, as OpenTera's `ServiceAccessManager` does; an `OpenTera` one is used whatever
    /// follows, and one that does not split in two is refused.
    #[test]
    fn another_authorization_scheme_does_not_shadow_the_query_token() {
        let w = World::new();
        let me = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w);
        let a = World::json(&upload(
            &w,
            &format!("OpenTera {me}"),
            form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))),
        ));
        let dl = format!(
            "/file/api/assets?asset_uuid={}&access_token={}",
            a["asset_uuid"].as_str().unwrap(),
            a["access_token"].as_str().unwrap()
        );
        let with_query = format!("{dl}&token={me}");
        let cookie = format!("OpenTera={me}");
        for (path, headers, want) in [
            (&with_query, vec![("Authorization", "Bearer x")], 200),
            (&with_query, vec![("Authorization", "Basic Zm9vOmJhcg==")], 200),
            (&dl, vec![("Authorization", "Bearer x"), ("Cookie", cookie.as_str())], 200),
            (&dl, vec![("Authorization", "Bearer x")], 403),
            (&with_query, vec![("Authorization", "Bearer")], 403),
            (&with_query, vec![("Authorization", "OpenTera")], 403),
            (&with_query, vec![("Authorization", "OpenTera not-a-token")], 403),
        ] {
            let r = w.send(Method::Get, path, &headers, Vec::new());
            assert_eq!(r.status(), want, "{headers:?} {path}");
        }
    }

    #[test]
    fn secure_filenames() {
        for (raw, want) in [
            ("My cool movie.mov", "My_cool_movie.mov"),
            ("../../../etc/passwd", "etc_passwd"),
            ("i contain cool \u{fc}ml\u{e4}uts.txt", "i_contain_cool_mluts.txt"),
            ("__.hidden", "hidden"),
            ("résumé.pdf", "rsum.pdf"),
            ("日本.txt", "txt"),
        ] {
            assert_eq!(secure_filename(raw), want, "{raw}");
        }
    }
}
