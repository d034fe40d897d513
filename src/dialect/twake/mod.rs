//! Twake (Linagora) company files (compat-spec §3), under `/internal/services/files/v1/`:
//! single uploads, chunked uploads in any order and in parallel (resumable.js's parameters,
//! from the query only), metadata, download, thumbnails and delete, in `{"resource": ...}`
//! envelopes with epoch-millisecond times. `Authorization: Bearer <JWT>` (HS256 with the
//! tenant's `twake` key, [`KeyKind::Twake`]; a Twake access token: `type: "access"`, `sub`
//! the user, `nbf` passed, a life from `iat` to `exp` of at most 30 days) on every route but
//! download and thumbnails, which are open, as the vendor has them, for this dialect's files.
//! Errors in fastify's shape.
//! CORS as the vendor's fastify-cors: `Access-Control-Allow-Origin: *` on every answer, errors
//! included ([`cors`], added in `dialect::with_dialect_headers`), and a preflight on every path.
//!
//! Companies: a company belongs to at most one tenant ([`crate::config::Config::owns_company`]):
//! one named in `EDGESHARE_TWAKE_COMPANIES` is its tenant's alone, and every other company id
//! is free, a namespace of its own in each tenant that uses it (two tenants using company
//! `c1` share nothing). A tenant that does not own a company hears `403` for it. A file is
//! found only under its own company's path, and only as its owner's: its object is named by
//! company and file id, the id a random v4 uuid the service makes at creation (never one a
//! client chooses), so two tenants' files never share an object or a URL; the object records
//! the file's tenant, and every authenticated route answers `404` to any other tenant (one
//! that does not own the company hears `403` first). The
//! open routes (download, thumbnails) carry no tenant: they find the file by its id and serve
//! it only if its record's company is the path's and its tenant owns that company by the rule
//! above, so no tenant's file is ever served under a company another tenant owns (a file left
//! under a company since claimed by another tenant is not served there any more; its owner
//! can still delete it through `DELETE /v1/files/{id}`).
//!
//! How chunks become one R2 object: see [`crate::engine::ledger::twake`].

use bytes::Bytes;
use serde_json::{json, Value};

use super::{download_reply_as, fetch_whole, form, Dialect, Reply, Request, Service};
use crate::auth::{KeyKind, Tenant};
use crate::engine::file::record::{content_type_or_guess, FileRecord};
use crate::engine::file::ids::{new_uuid, parse_uuid};
use crate::engine::upload::plan::PartPlan;
use crate::engine::ledger::{LedgerAnswer, LedgerCall};
use crate::engine::chunked::thumbs::{self, NoThumb};
use crate::engine::ledger::twake::{
    ChunkInfo, Phase, Thumbnail, TwakeAnswer, TwakeCall, TwakeFile, FILE_NOT_FOUND, UPLOAD_INCOMPLETE,
};
use crate::engine::upload::calls::{ByteStream, Uploads};
use crate::engine::file::record::Access;
use crate::engine::file::visibility::Via;
use crate::engine::{jwt, file::keys, file::limits, upload::writer, Ctx, Expiry, Held, Missing, NewFile};
use crate::error::{Error, Result};
use crate::http::disposition::{last_path_segment, DispositionKind};
use crate::http::download::CachePolicy;
use crate::route::{
    endpoint, opt, Auth, BodyUse, Endpoint, Kind, Media, Method, Param, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD,
    MULTIPART, RANGE_HEADERS,
};
use crate::store::{BlobMeta, BlobStore, MetaStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Upload,
    Chunk,
    Get,
    Download,
    Thumbnail,
    Delete,
    /// A CORS preflight, on every path.
    Options,
}

const fn row(
    op: Op,
    method: Method,
    path: &'static str,
    auth: Auth,
    body: BodyUse,
    doc: &'static str,
) -> Endpoint<super::Op> {
    endpoint(super::Op::Twake(op), method, path, auth, body, doc)
}

pub const PREFIX: &str = "/internal/services/files/v1";

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Twake,
    prefixes: &[PREFIX],
    method_override: false,
    endpoints: &[
        row(
            Op::Upload,
            Method::Post,
            "/companies/{cid}/files",
            Auth::Own,
            BodyUse::Read,
            "Create a file: an empty body (a chunked upload follows) or a multipart `file` (a single upload).",
        )
        .with(Spec::DEFAULT.takes(MULTIPART).query(CHUNK_QUERY).errors(&[403])),
        row(
            Op::Chunk,
            Method::Post,
            "/companies/{cid}/files/{id}",
            Auth::Own,
            BodyUse::Read,
            "Upload chunk `chunk_number` of `total_chunks` (query), multipart `file`; any order, in parallel.",
        )
        .with(Spec::DEFAULT.takes(MULTIPART).query(CHUNK_QUERY).errors(&[403, 409])),
        row(Op::Get, Method::Get, "/companies/{cid}/files/{id}", Auth::Own, BodyUse::None, "A file's metadata.")
            .with(Spec::DEFAULT.errors(&[403])),
        row(
            Op::Get,
            Method::Get,
            "/{cid}/files/{id}",
            Auth::Own,
            BodyUse::None,
            "A file's metadata (the seed's path).",
        )
        .with(Spec::DEFAULT.errors(&[403])),
        row(
            Op::Download,
            Method::Get,
            "/companies/{cid}/files/{id}/download",
            Auth::None,
            BodyUse::None,
            "Download a file (open).",
        )
        .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[409, 416])),
        row(
            Op::Download,
            Method::Head,
            "/companies/{cid}/files/{id}/download",
            Auth::None,
            BodyUse::None,
            "Download a file, headers only.",
        )
        .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[409, 416])),
        row(
            Op::Thumbnail,
            Method::Get,
            "/companies/{cid}/files/{id}/thumbnails/{index}",
            Auth::None,
            BodyUse::None,
            "A file's thumbnail (open).",
        )
        .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[416])),
        row(
            Op::Thumbnail,
            Method::Head,
            "/companies/{cid}/files/{id}/thumbnails/{index}",
            Auth::None,
            BodyUse::None,
            "A thumbnail, headers only.",
        )
        .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[416])),
        row(
            Op::Delete,
            Method::Delete,
            "/companies/{cid}/files/{id}",
            Auth::Own,
            BodyUse::None,
            "Delete a file, its chunks and thumbnails: `{\"status\":\"success\"}`.",
        )
        .with(Spec::DEFAULT.errors(&[403])),
        preflight_row("/companies/{cid}/files"),
        preflight_row("/companies/{cid}/files/{id}"),
        preflight_row("/{cid}/files/{id}"),
        preflight_row("/companies/{cid}/files/{id}/download"),
        preflight_row("/companies/{cid}/files/{id}/thumbnails/{index}"),
    ],
};

const fn preflight_row(path: &'static str) -> Endpoint<super::Op> {
    row(Op::Options, Method::Options, path, Auth::None, BodyUse::None, "CORS preflight (any origin).")
        .with(Spec::ok(&[(204, Media::Empty)]))
}

/// The headers a client on another origin may read, besides the safelisted ones.
const EXPOSED_HEADERS: &str = "Content-Disposition, Content-Range, Accept-Ranges, ETag";
/// What a preflight allows when it does not say which headers will come.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Accept, Accept-Language, Content-Language, \
                               X-Requested-With, Range, If-None-Match, If-Range, Cache-Control";

/// What every Twake answer carries, errors included: Twake's backend registers fastify-cors
/// with origin `*` (its web client may live on another host than its API).
pub fn cors() -> [(&'static str, String); 2] {
    [("Access-Control-Allow-Origin", "*".into()), ("Access-Control-Expose-Headers", EXPOSED_HEADERS.into())]
}

/// The answer to a preflight: the route's methods; the headers asked for (as fastify-cors
/// reflects them), else a generous list; cached for a day. The origin comes with [`cors`].
fn preflight(req: &Request<'_>) -> Reply {
    let methods = match super::route(Method::Options, None, &req.head.path) {
        super::Found::Endpoint { endpoint, .. } => {
            let mut m: Vec<&str> = Vec::new();
            for e in TABLE.endpoints.iter().filter(|e| e.path == endpoint.path) {
                if !m.contains(&e.method.as_str()) {
                    m.push(e.method.as_str());
                }
            }
            m.join(", ")
        }
        _ => "OPTIONS".into(),
    };
    let asked = req.head.header("access-control-request-headers").map(str::trim).filter(|h| {
        !h.is_empty() && h.len() <= 2048 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_, ".contains(&b))
    });
    let headers = vec![
        ("Access-Control-Allow-Methods", methods),
        ("Access-Control-Allow-Headers", asked.unwrap_or(ALLOWED_HEADERS).to_string()),
        ("Access-Control-Max-Age", "86400".into()),
        ("Vary", "Access-Control-Request-Headers".into()),
    ];
    Reply::Empty { status: 204, headers }
}

/// resumable.js's query parameters and their snake_case aliases (read from the query only).
const CHUNK_QUERY: &[Param] = &[
    opt("resumableChunkNumber", Kind::Int, "The chunk's number, from 1 (also `chunk_number`)."),
    opt("chunk_number", Kind::Int, "The chunk's number, from 1."),
    opt("resumableTotalChunks", Kind::Int, "How many chunks (also `total_chunks`)."),
    opt("total_chunks", Kind::Int, "How many chunks."),
    opt("resumableTotalSize", Kind::Int, "The whole file's size (also `total_size`)."),
    opt("total_size", Kind::Int, "The whole file's size."),
    opt("resumableFilename", Kind::Str, "The file's name (also `filename`)."),
    opt("filename", Kind::Str, "The file's name."),
    opt("resumableType", Kind::Str, "The file's media type (also `type`)."),
    opt("type", Kind::Str, "The file's media type."),
    opt("thumbnail_sync", Kind::Str, "Make thumbnails before answering."),
];

const DIALECT: &str = "twake";
/// The longest life of an access token, `iat` to `exp`: Twake issues them for an hour
/// (`auth.jwt.expiration`, 3600 s) back-dated ten minutes; an operator may lengthen that, but
/// no access token outlives Twake's own refresh tokens (30 days).
const MAX_TOKEN_LIFE: u64 = 30 * 86400;
/// A company the caller's tenant does not own.
const NOT_YOURS: &str = "this company is not the tenant's";
const MISSING: Missing = Missing { not_found: FILE_NOT_FOUND, expired: FILE_NOT_FOUND };
/// Staged chunks are read back this much at a time when the file is assembled.
const ASSEMBLY_PIECE: u64 = 4 << 20;

/// fastify's `{"statusCode", "error", "message"}`; `401` is always "Bad credentials".
pub fn error_reply(e: &Error) -> Reply {
    let status = e.status();
    let message = match e {
        Error::Unauthorized => "Bad credentials".to_string(),
        Error::NotFound(m) if m == "not found" => "Route not found".to_string(),
        other => other.message(),
    };
    Reply::json(status, json!({"statusCode": status, "error": crate::http::status::reason(status), "message": message}))
}

/// The caller: its tenant, its user id (`sub`), and whether it may overwrite metadata (an
/// application or a server request).
struct Caller {
    tenant: Tenant,
    user: String,
    privileged: bool,
}

fn caller(req: &Request<'_>, svc_config: &crate::config::Config, now_ms: u64) -> Result<Caller> {
    let token = match req.head.authorization() {
        Some(crate::http::auth_header::Presented::Bearer(t)) if jwt::looks_like_jwt(&t) && t.len() <= 8192 => t,
        _ => return Err(Error::Unauthorized),
    };
    let now = now_ms / 1000;
    let keys = svc_config.jwt_secrets.keys(KeyKind::Twake);
    let (tenant, claims) =
        jwt::verify_any(keys, &token, jwt::Expect { issuer: None, exp: true }, now).ok_or(Error::Unauthorized)?;
    // Twake's access tokens only: not its refresh tokens, nor another dialect's (OpenTera's
    // carry no `type`), nor one claiming a life no Twake issues
    if claims.get("type").and_then(Value::as_str) != Some("access") {
        return Err(Error::Unauthorized);
    }
    jwt::life_within(&claims, MAX_TOKEN_LIFE, now).map_err(|_| Error::Unauthorized)?;
    let user = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 128);
    let user = user.ok_or(Error::Unauthorized)?;
    let privileged = claims.get("server_request").and_then(Value::as_bool).unwrap_or(false)
        || claims.get("application_id").is_some_and(|a| !a.is_null());
    Ok(Caller { tenant: tenant.clone(), user: user.to_string(), privileged })
}

/// A company id as a path segment may hold one.
fn company(req: &Request<'_>) -> Result<String> {
    let cid = req.params.get("cid");
    let ok = (1..=64).contains(&cid.len()) && cid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| cid.to_string()).ok_or_else(|| Error::not_found(FILE_NOT_FOUND))
}

/// The object of file `id` of company `cid`: named by both, so a file is found only under
/// its own company's path. (Ids are random and made here, so no two tenants' files share one;
/// each route checks the tenant the object records.)
fn object(cid: &str, id: &str) -> String {
    format!("twake:{cid}:{id}")
}

async fn call<B, M, U: Uploads>(svc: &Service<'_, B, M, U>, cid: &str, id: &str, c: TwakeCall) -> Result<TwakeAnswer> {
    match svc.uploads.ledger(&object(cid, id), LedgerCall::Twake(c)).await? {
        LedgerAnswer::Twake(a) => Ok(a),
        other => Err(Error::Internal(format!("twake object answered {other:?}"))),
    }
}

/// The first of several query names present (resumable.js's, the snake_case ones, the seed's).
fn query(req: &Request<'_>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| req.head.query_param(n)).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn number(req: &Request<'_>, names: &[&str], default: u64) -> Result<u64> {
    match query(req, names) {
        None => Ok(default),
        Some(v) if v == "undefined" || v == "null" => Ok(default),
        Some(v) => {
            crate::http::range::digits(&v).ok_or_else(|| Error::bad_request(format!("{} must be a number", names[0])))
        }
    }
}

/// The chunk's parameters, from the query only (resumable.js sends them in the form too).
fn chunk_info(
    req: &Request<'_>,
    part_name: Option<&str>,
    part_type: Option<&str>,
    privileged: bool,
) -> Result<ChunkInfo> {
    let small = |v: u64| u32::try_from(v).map_err(|_| Error::bad_request("chunk numbers must be below 2^32"));
    let name = query(req, &["resumableFilename", "filename"]).or_else(|| part_name.map(str::to_string));
    let name = last_path_segment(name.as_deref().unwrap_or("file")).to_string();
    let name = if name.is_empty() { "file".to_string() } else { name };
    limits::check_name(&name)?;
    let declared = query(req, &["resumableType", "type"]).or_else(|| part_type.map(str::to_string));
    Ok(ChunkInfo {
        number: small(number(req, &["resumableChunkNumber", "chunk_number", "chunkNumber"], 1)?)?,
        total_chunks: small(number(req, &["resumableTotalChunks", "total_chunks", "totalChunks"], 1)?)?,
        total_size: number(req, &["resumableTotalSize", "total_size", "total_Size", "totalSize"], 0)?,
        mime: content_type_or_guess(declared.as_deref(), &name),
        name,
        privileged,
    })
}

pub async fn handle<B, M, U>(svc: &Service<'_, B, M, U>, op: Op, req: &Request<'_>, body: U::Body) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let ctx = svc.ctx;
    if op == Op::Options {
        return Ok(preflight(req));
    }
    let cid = company(req)?;
    match op {
        Op::Download => return download(svc, req, &cid).await,
        Op::Thumbnail => return thumbnail(svc, req, &cid).await,
        _ => {}
    }
    let who = caller(req, ctx.config, ctx.now())?;
    if !ctx.config.owns_company(&who.tenant.0, &cid) {
        return Err(Error::Forbidden(NOT_YOURS.into()));
    }
    if op == Op::Upload {
        let file = TwakeFile::new(&new_uuid(), &who.tenant.0, &cid, &who.user, ctx.now());
        let id = file.id.clone();
        call(svc, &cid, &id, TwakeCall::Create { file: Box::new(file.clone()) }).await?;
        return match chunk(svc, req, &who, &cid, &id, U::read(body), true).await? {
            Some(file) => Ok(resource(&file)),
            None => Ok(resource(&file)),
        };
    }
    let id = parse_uuid(req.params.get("id")).ok_or_else(|| Error::not_found(FILE_NOT_FOUND))?;
    let mine =
        |a: TwakeAnswer| if a.file.tenant == who.tenant.0 { Ok(a) } else { Err(Error::not_found(FILE_NOT_FOUND)) };
    match op {
        Op::Chunk => {
            let a = mine(call(svc, &cid, &id, TwakeCall::Peek).await?)?;
            if matches!(a.file.phase, Phase::Done { .. }) {
                // users cannot overwrite a file: a chunk for a finished one (a retry whose
                // answer was lost, most likely) is read, dropped, and answered with the file
                use futures_util::StreamExt;
                let mut body = U::read(body);
                while let Some(chunk) = body.next().await {
                    chunk?;
                }
                return Ok(resource(&a.file));
            }
            let file = chunk(svc, req, &who, &cid, &id, U::read(body), false).await?;
            let file = file.ok_or_else(|| Error::bad_request("file missing"))?;
            Ok(resource(&file))
        }
        Op::Get => {
            let a = mine(call(svc, &cid, &id, TwakeCall::Get).await?)?;
            let file = if a.assemble { assemble(svc, a.file).await? } else { a.file };
            Ok(resource(&file))
        }
        Op::Delete => {
            let a = mine(call(svc, &cid, &id, TwakeCall::Peek).await?)?;
            delete_file(svc, &a.file.tenant, &cid, &id).await?;
            Ok(Reply::json(200, json!({"status": "success"})))
        }
        Op::Upload | Op::Download | Op::Thumbnail | Op::Options => unreachable!("answered above"),
    }
}

/// The `{"resource": File}` envelope of compat-spec §3.
pub fn resource(f: &TwakeFile) -> Reply {
    let thumbs: Vec<Value> = f
        .thumbnails
        .iter()
        .map(|t| {
            json!({"index": t.index, "id": t.id, "type": t.kind, "size": t.size, "width": t.width, "height": t.height,
                   "url": format!("{PREFIX}/companies/{}/files/{}/thumbnails/{}", f.company_id, f.id, t.index)})
        })
        .collect();
    Reply::json(
        200,
        json!({"resource": {
            "company_id": f.company_id,
            "id": f.id,
            "user_id": f.user_id,
            "application_id": Value::Null,
            "updated_at": f.updated_at,
            "created_at": f.created_at,
            "metadata": f.metadata,
            "thumbnails": thumbs,
            "upload_data": f.upload_data,
        }}),
    )
}

/// Reads a chunk (the form's `file` field) and lands it; assembles the file if this chunk
/// completed it. `Ok(None)`: the form had no file (an empty init, when `init_ok`).
async fn chunk<B, M, U>(
    svc: &Service<'_, B, M, U>,
    req: &Request<'_>,
    who: &Caller,
    cid: &str,
    id: &str,
    body: ByteStream,
    init_ok: bool,
) -> Result<Option<TwakeFile>>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let ctx = svc.ctx;
    let max = ctx.config.max_file_size;
    let head = req.head;
    let Some(boundary) = form::boundary(head) else {
        // an empty init, under whatever content type
        return if init_ok {
            Ok(None)
        } else {
            Err(Error::bad_request("a chunk is a multipart form with a `file` part"))
        };
    };
    form::check_length(head, max)?;
    let mut parts = form::open(body, boundary, "file", max, ctx.config.max_request_body);
    // the chunk as it arrived: the whole file (held, stored once the form has been read to its
    // end), or its length in its staging object
    enum Written {
        Whole(Box<Held>),
        Staged(u64),
    }
    let mut landed: Option<(ChunkInfo, Written)> = None;
    let read = async {
        loop {
            let next = parts.next_field().await;
            // an empty body under a multipart type is an init too
            let field = match next {
                Ok(f) => f,
                Err(_) if init_ok && landed.is_none() && head.content_length().unwrap_or(0) == 0 => None,
                Err(e) => return Err(form::form_error(e, max)),
            };
            let Some(mut field) = field else { return Ok(()) };
            if field.name() != Some("file") || landed.is_some() {
                form::skip(&mut field, max).await?;
                continue;
            }
            let part_name = field.file_name().map(str::to_string);
            let part_type = field.content_type().map(|m| m.essence_str().to_string());
            let info = chunk_info(req, part_name.as_deref(), part_type.as_deref(), who.privileged)?;
            info.check(max)?;
            let stream = form::stream(&mut field, max);
            let written = if info.total_chunks == 1 {
                // the whole file: straight to its object
                let new = new_file(id, &who.tenant, cid, &who.user, &info.name, &info.mime, head.content_length());
                Written::Whole(Box::new(ctx.write_file(&new, stream).await?))
            } else {
                Written::Staged(stage(ctx, id, info.number, head.content_length(), stream).await?)
            };
            landed = Some((info, written));
        }
    }
    .await;
    if let Err(e) = read {
        // a form that failed after its file: nothing of the file is kept
        match &landed {
            Some((_, Written::Whole(held))) => ctx.discard(&held.template.r2_key).await,
            Some((info, Written::Staged(_))) => ctx.discard(&keys::staged_chunk(id, info.number)).await,
            None => {}
        }
        return Err(e);
    }
    let Some((info, written)) = landed else {
        return if init_ok { Ok(None) } else { Err(Error::bad_request("file missing")) };
    };
    let (len, record) = match written {
        Written::Whole(held) => {
            let record = ctx.keep_file(*held, Expiry::Never).await?;
            (record.size, Some(record))
        }
        Written::Staged(len) => (len, None),
    };
    let k = info.number;
    let a = match call(svc, cid, id, TwakeCall::Landed { info, len }).await {
        Ok(a) => a,
        Err(e @ Error::NotFound(_)) => {
            // the file was deleted while this chunk arrived: nothing will ever read it
            match &record {
                Some(record) => drop(ctx.delete_file(record).await),
                None => ctx.discard(&keys::staged_chunk(id, k)).await,
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let file = match (a.assemble, record) {
        (false, _) => a.file,
        (true, Some(record)) => {
            let done =
                call(svc, cid, id, TwakeCall::Finished { size: record.size, sha256: record.sha256.clone() }).await?;
            thumbnails(svc, done.file, &record).await?
        }
        (true, None) => assemble(svc, a.file).await?,
    };
    Ok(Some(file))
}

fn new_file(id: &str, tenant: &Tenant, cid: &str, user: &str, name: &str, mime: &str, hint: Option<u64>) -> NewFile {
    NewFile {
        tenant: tenant.clone(),
        id: id.to_string(),
        name: name.to_string(),
        content_type: mime.to_string(),
        dialect: DIALECT,
        access: Access::Private,
        extra: [("company_id".to_string(), cid.to_string()), ("user_id".to_string(), user.to_string())].into(),
        length_hint: hint,
        expiring: false,
        mutable: false,
    }
}

/// Writes chunk `k` to its staging object (streamed; a large chunk as a multipart object).
async fn stage<B: BlobStore, M: MetaStore, S>(
    ctx: &Ctx<'_, B, M>,
    id: &str,
    k: u32,
    hint: Option<u64>,
    body: S,
) -> Result<u64>
where
    S: futures_util::Stream<Item = Result<Bytes>> + Unpin,
{
    let max = ctx.config.max_file_size;
    let key = keys::staged_chunk(id, k);
    let meta = BlobMeta::default();
    let plan = PartPlan::new(hint.map(|h| h.min(max)), max, ctx.config.min_part_size)?;
    let fed = writer::write_held(ctx.blobs, &key, &meta, plan, max, ctx.whole_file_hash(), body).await?;
    if fed.sealed.is_none() {
        ctx.blobs.put(&key, fed.tail, &meta).await?;
    }
    Ok(fed.size)
}

/// Assembles a file whose chunks have all landed: the staged chunks, read in order a piece at
/// a time, go through the writer (equal R2 parts, the whole-file sha256 as they pass) into
/// the file's object; then the file is finished and its staging objects deleted. If that
/// fails, the file is released, so that the client's retry (or any next request) assembles it.
async fn assemble<B, M, U>(svc: &Service<'_, B, M, U>, file: TwakeFile) -> Result<TwakeFile>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let (cid, id) = (file.company_id.clone(), file.id.clone());
    let assembled = assemble_once(svc, file).await;
    if assembled.is_err() {
        let _ = call(svc, &cid, &id, TwakeCall::Released).await;
    }
    assembled
}

async fn assemble_once<B, M, U>(svc: &Service<'_, B, M, U>, file: TwakeFile) -> Result<TwakeFile>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let ctx = svc.ctx;
    let lengths = file.chunk_lengths()?;
    let total: u64 = lengths.iter().map(|(_, l)| l).sum();
    let meta = file.metadata.clone().unwrap_or(crate::engine::ledger::twake::Metadata {
        name: "file".into(),
        mime: "application/octet-stream".into(),
        thumbnails_status: "done".into(),
    });
    let new = new_file(
        &file.id,
        &Tenant(file.tenant.clone()),
        &file.company_id,
        &file.user_id,
        &meta.name,
        &meta.mime,
        Some(total),
    );
    let blobs = ctx.blobs;
    let id = file.id.clone();
    let pieces = futures_util::stream::try_unfold((0usize, 0u64), move |(i, off)| {
        let (lengths, id) = (lengths.clone(), id.clone());
        async move {
            let (mut i, mut off) = (i, off);
            while i < lengths.len() && off >= lengths[i].1 {
                (i, off) = (i + 1, 0);
            }
            let Some(&(k, len)) = lengths.get(i) else { return Ok(None) };
            let want = ASSEMBLY_PIECE.min(len - off);
            let bytes = blobs.get_range(&keys::staged_chunk(&id, k), off, want).await?;
            let bytes = bytes
                .filter(|b| b.len() as u64 == want)
                .ok_or_else(|| Error::Storage(format!("staged chunk {k} is short")))?;
            Ok(Some((Bytes::from(bytes), (i, off + want))))
        }
    });
    let held = ctx.write_file(&new, Box::pin(pieces)).await?;
    let record = ctx.keep_file(held, Expiry::Never).await?;
    let done =
        call(svc, &file.company_id, &file.id, TwakeCall::Finished { size: record.size, sha256: record.sha256 }).await?;
    for (k, _) in file.chunk_lengths()? {
        let _ = ctx.blobs.delete(&keys::staged_chunk(&file.id, k)).await;
    }
    Ok(done.file)
}

/// Makes the thumbnail of a one-chunk image under 50,000,000 bytes; the status goes
/// `waiting`, then `done` or `error`. Other files keep `done` and no thumbnails.
async fn thumbnails<B, M, U>(svc: &Service<'_, B, M, U>, file: TwakeFile, record: &FileRecord) -> Result<TwakeFile>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let ctx = svc.ctx;
    let mime = file.metadata.as_ref().map(|m| m.mime.clone()).unwrap_or_default();
    if !thumbs::is_image(&mime) || record.size >= thumbs::MAX_SOURCE_BYTES {
        return Ok(file);
    }
    let set = |status: &str, list: Vec<Thumbnail>| TwakeCall::Thumbnails { status: status.into(), thumbnails: list };
    call(svc, &file.company_id, &file.id, set("waiting", Vec::new())).await?;
    let bytes = ctx.blobs.get_bytes(&record.r2_key).await?.unwrap_or_default();
    let made = thumbs::thumbnail(&bytes, &mime);
    drop(bytes);
    let (status, list) = match made {
        Ok(t) => {
            let thumb = FileRecord {
                name: format!("{}.png", file.id),
                content_type: "image/png".into(),
                size: t.png.len() as u64,
                created_at: ctx.now(),
                extra: [("company_id".to_string(), file.company_id.clone())].into(),
                ..FileRecord::new(&format!("{}-t0", file.id), &file.tenant, DIALECT, &keys::thumbnail(&file.id, 0))
            };
            ctx.blobs.put(&thumb.r2_key, t.png, &thumb.blob_meta()).await?;
            let list = vec![Thumbnail {
                index: 0,
                id: thumb.name.clone(),
                kind: "image/png".into(),
                size: thumb.size,
                width: t.width,
                height: t.height,
            }];
            ("done", list)
        }
        Err(NoThumb::NotAnImage) => ("done", Vec::new()),
        Err(NoThumb::Failed(why)) => {
            let _ = why; // not logged per file: a user's picture is not an operator's error
            ("error", Vec::new())
        }
    };
    Ok(call(svc, &file.company_id, &file.id, set(status, list)).await?.file)
}

/// Deletes file `id` of company `cid` (its owner checked by the caller): its object, then its
/// bytes, staged chunks and thumbnails (`DELETE /v1/files/{id}` too).
pub async fn delete_file<B, M, U>(svc: &Service<'_, B, M, U>, tenant: &str, cid: &str, id: &str) -> Result<()>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let file = call(svc, cid, id, TwakeCall::Delete).await?.file;
    delete_bytes(svc.ctx, tenant, &file).await;
    Ok(())
}

/// Deletes a file's object, its staged chunks and its thumbnails: only what exists, never by
/// the chunk count a client declared (the chunks recorded as landed; a chunk landing after
/// the file is gone removes its own staging object).
async fn delete_bytes<B: BlobStore, M: MetaStore>(ctx: &Ctx<'_, B, M>, tenant: &str, file: &TwakeFile) {
    let owner = Tenant(tenant.to_string());
    if let Ok(opened) = ctx.open(&file.id, Via::Owner, Some(&owner), MISSING, false).await {
        let _ = ctx.delete_file(&opened.record).await;
    }
    // an assembled file's staging objects went with its assembly
    let staged = !matches!(file.phase, Phase::Done { .. });
    for (k, _) in file.chunks.iter().filter(|_| staged) {
        let _ = ctx.blobs.delete(&keys::staged_chunk(&file.id, *k)).await;
    }
    for t in &file.thumbnails {
        let _ = ctx.blobs.delete(&keys::thumbnail(&file.id, t.index)).await;
    }
}

/// The file of this dialect and company at `key`, for the open routes: served only if its
/// tenant owns that company.
async fn open_here<B: BlobStore, M: MetaStore>(
    ctx: &Ctx<'_, B, M>,
    id: &str,
    key: &str,
    cid: &str,
    fetch: bool,
) -> Result<crate::engine::Opened> {
    let opened = ctx.open_at(id, key, Via::Open { dialect: DIALECT }, None, MISSING, fetch).await?;
    let here = opened.record.extra.get("company_id").map(String::as_str) == Some(cid);
    if !here || !ctx.config.owns_company(&opened.record.tenant, cid) {
        return Err(Error::not_found(FILE_NOT_FOUND));
    }
    Ok(opened)
}

/// `GET .../download`: open; `409` while chunks are missing.
async fn download<B, M, U>(svc: &Service<'_, B, M, U>, req: &Request<'_>, cid: &str) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
    U: Uploads,
{
    let ctx = svc.ctx;
    let id = parse_uuid(req.params.get("id")).ok_or_else(|| Error::not_found(FILE_NOT_FOUND))?;
    let fetch = fetch_whole(req.head, req.method);
    let opened = match open_here(ctx, &id, &keys::object(&id), cid, fetch).await {
        Ok(o) => o,
        Err(Error::NotFound(_)) => {
            // no object yet: an unfinished file (of a tenant owning the company) is 409, a
            // stale completion is taken over, anything else is 404
            let a = call(svc, cid, &id, TwakeCall::Peek).await?;
            if !ctx.config.owns_company(&a.file.tenant, cid) {
                return Err(Error::not_found(FILE_NOT_FOUND));
            }
            let a = match a.file.phase {
                Phase::Finishing { .. } => call(svc, cid, &id, TwakeCall::Get).await?,
                _ => a,
            };
            match (a.assemble, &a.file.phase) {
                (true, _) => {
                    assemble(svc, a.file).await?;
                    open_here(ctx, &id, &keys::object(&id), cid, fetch).await?
                }
                (false, Phase::Done { .. }) => return Err(Error::not_found(FILE_NOT_FOUND)),
                (false, _) => return Err(Error::Conflict(UPLOAD_INCOMPLETE.into())),
            }
        }
        Err(e) => return Err(e),
    };
    // the vendor's year, bounded: a Twake file can be deleted
    Ok(download_reply_as(opened, req.head, req.method, svc.ctx.public_cache(None), DispositionKind::Attachment))
}

/// `GET .../thumbnails/{index}`: open, `inline`, cached as long as a deletable file may be.
async fn thumbnail<B, M, U>(svc: &Service<'_, B, M, U>, req: &Request<'_>, cid: &str) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
{
    let ctx = svc.ctx;
    let id = parse_uuid(req.params.get("id")).ok_or_else(|| Error::not_found(FILE_NOT_FOUND))?;
    let index = crate::http::range::digits(req.params.get("index")).and_then(|i| u32::try_from(i).ok());
    let index = index.ok_or_else(|| Error::not_found("Thumbnail not found"))?;
    let key = keys::thumbnail(&id, index);
    let opened = open_here(ctx, &format!("{id}-t{index}"), &key, cid, fetch_whole(req.head, req.method)).await?;
    let cache = ctx.public_cache(None);
    let max_age = match cache {
        CachePolicy::Public { max_age } => max_age,
        CachePolicy::Private => 0,
    };
    let expires = crate::engine::file::ids::http_date(ctx.now() + max_age * 1000);
    let reply = download_reply_as(opened, req.head, req.method, cache, DispositionKind::Inline);
    Ok(reply.with_headers(&[("Expires", expires)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MIB;
    use crate::testkit::{World, ACME_JWT_SECRET, BOBCO_JWT_SECRET};
    use sha2::{Digest, Sha256};

    const CID: &str = "6b2f8f0e-0000-4c0a-9f55-0e3c1f7a9b21";

    fn jwt(secret: &str, sub: &str, w: &World) -> String {
        let c = json!({"sub": sub, "exp": w.now() / 1000 + 3600, "type": "access"});
        format!("Bearer {}", jwt::sign(c.as_object().unwrap(), secret.as_bytes()))
    }

    fn multipart(name: &str, mime: &str, data: &[u8]) -> Vec<u8> {
        let mut b = format!(
            "--TB\r\nContent-Disposition: form-data; name=\"resumableChunkNumber\"\r\n\r\n99\r\n\
             --TB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .into_bytes();
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n--TB--\r\n");
        b
    }

    fn post(w: &World, path: &str, auth: &str, body: Vec<u8>) -> Reply {
        let ct = if body.is_empty() { "application/json" } else { "multipart/form-data; boundary=TB" };
        let len = body.len().to_string();
        w.send(
            Method::Post,
            &format!("{PREFIX}{path}"),
            &[("Authorization", auth), ("Content-Type", ct), ("Content-Length", &len)],
            body,
        )
    }

    fn get(w: &World, path: &str, auth: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        w.send(Method::Get, &format!("{PREFIX}{path}"), &headers, Vec::new())
    }

    fn res(r: &Reply) -> Value {
        assert_eq!(r.status(), 200, "{r:?}");
        World::json(r)["resource"].clone()
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    /// A Twake web client on another origin than its API: every path answers its preflight,
    /// and every answer, errors included, carries `Access-Control-Allow-Origin: *`. The init
    /// is sent as the client sends it (`'{}'` as `text/plain;charset=UTF-8`, the name raw in
    /// the query, as the browser's URL parser leaves it: `%` as is).
    #[test]
    fn a_client_on_another_origin() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "user-1", &w);
        let origin = ("Origin", "https://web.twake.example");
        let any =
            |r: &Reply, what: &str| assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"), "{what}: {r:?}");
        let raw = "r%C3%A9sum%C3%A9%2050%%20(1).txt";
        let init_path = format!("{PREFIX}/companies/{CID}/files?filename={raw}&type=text/plain&total_size=10");
        let asked = [
            origin,
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization,content-type"),
        ];
        let pre = w.send(Method::Options, &init_path, &asked, Vec::new());
        assert_eq!(pre.status(), 204, "{pre:?}");
        any(&pre, "preflight");
        assert_eq!(pre.header("Access-Control-Allow-Methods"), Some("POST, OPTIONS"));
        assert_eq!(pre.header("Access-Control-Allow-Headers"), Some("authorization,content-type"), "as asked");
        assert_eq!(pre.header("Access-Control-Max-Age"), Some("86400"));
        let headers = [origin, ("Authorization", me.as_str()), ("Content-Type", "text/plain;charset=UTF-8")];
        let init = w.send(Method::Post, &init_path, &headers, b"{}".to_vec());
        any(&init, "init");
        let id = res(&init)["id"].as_str().unwrap().to_string();
        let q = format!("resumableChunkNumber=1&resumableTotalChunks=1&resumableTotalSize=10&resumableFilename={raw}");
        let body = multipart("blob", "text/plain", b"0123456789");
        let len = body.len().to_string();
        let chunk = w.send(
            Method::Post,
            &format!("{PREFIX}/companies/{CID}/files/{id}?{q}"),
            &[
                origin,
                ("Authorization", &me),
                ("Content-Type", "multipart/form-data; boundary=TB"),
                ("Content-Length", &len),
            ],
            body,
        );
        any(&chunk, "chunk");
        assert_eq!(res(&chunk)["metadata"]["name"], "résumé 50% (1).txt");
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        any(&dl, "download");
        assert_eq!(w.body(&dl), b"0123456789");
        let exposed = dl.header("Access-Control-Expose-Headers").unwrap_or("");
        assert!(exposed.contains("Content-Disposition") && exposed.contains("ETag"), "{exposed}");
        // errors too: 401, 404, a route not found, a method not allowed
        any(&get(&w, &format!("/companies/{CID}/files/{id}"), Some("Bearer nope")), "401");
        any(&get(&w, &format!("/companies/{CID}/files/{}", new_uuid()), Some(&me)), "404");
        any(&get(&w, "/companies/x/nothing", None), "no route");
        let put = w.send(Method::Put, &format!("{PREFIX}/companies/{CID}/files/{id}"), &[], Vec::new());
        assert_eq!(put.status(), 405);
        any(&put, "405");
        // a preflight on every path, with the path's methods; a generous list when none asked
        for (path, methods) in [
            (format!("/companies/{CID}/files/{id}"), "POST, GET, DELETE, OPTIONS"),
            (format!("/{CID}/files/{id}"), "GET, OPTIONS"),
            (format!("/companies/{CID}/files/{id}/download"), "GET, HEAD, OPTIONS"),
            (format!("/companies/{CID}/files/{id}/thumbnails/0"), "GET, HEAD, OPTIONS"),
        ] {
            let r = w.send(Method::Options, &format!("{PREFIX}{path}"), &[origin], Vec::new());
            assert_eq!((r.status(), r.header("Access-Control-Allow-Methods")), (204, Some(methods)), "{path}");
            any(&r, &path);
            let allowed = r.header("Access-Control-Allow-Headers").unwrap_or("");
            assert!(allowed.contains("Authorization") && allowed.contains("Content-Type"), "{allowed}");
        }
        let odd = [origin, ("Access-Control-Request-Headers", "x-a\r\nset-cookie: 1")];
        let r = w.send(Method::Options, &init_path, &odd, Vec::new());
        assert!(r.header("Access-Control-Allow-Headers").unwrap().starts_with("Authorization"), "not echoed");
    }

    #[test]
    fn a_file_deleted_through_the_native_api_is_gone_here_too() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "user-1", &w);
        let data = png(64, 48);
        let r = res(&post(
            &w,
            &format!("/companies/{CID}/files?thumbnail_sync=1"),
            &me,
            multipart("p.png", "image/png", &data),
        ));
        let id = r["id"].as_str().unwrap().to_string();
        let native = w.send(Method::Delete, &format!("/v1/files/{id}"), &[("Authorization", "Bearer tok")], Vec::new());
        assert_eq!(native.status(), 204);
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}"), Some(&me)).status(), 404, "its metadata");
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 404);
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/thumbnails/0"), None).status(), 404);
        assert!(w.blobs.object(&keys::thumbnail(&id, 0)).is_none());
    }

    #[test]
    fn a_single_upload_with_its_thumbnail_then_delete() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "user-1", &w);
        let data = png(640, 480);
        let r = res(&post(
            &w,
            &format!("/companies/{CID}/files?thumbnail_sync=1"),
            &me,
            multipart("photo.png", "image/png", &data),
        ));
        assert_eq!(r["company_id"], CID);
        assert_eq!(r["user_id"], "user-1");
        assert_eq!(r["application_id"], Value::Null);
        assert_eq!(r["created_at"], w.now());
        assert_eq!(r["metadata"], json!({"name": "photo.png", "mime": "image/png", "thumbnails_status": "done"}));
        assert_eq!(r["upload_data"], json!({"size": data.len(), "chunks": 1}));
        let id = r["id"].as_str().unwrap().to_string();
        let t = &r["thumbnails"][0];
        assert_eq!(
            (t["index"].as_u64(), t["type"].as_str(), t["width"].as_u64(), t["height"].as_u64()),
            (Some(0), Some("image/png"), Some(320), Some(240))
        );
        assert_eq!(t["url"], format!("{PREFIX}/companies/{CID}/files/{id}/thumbnails/0"));
        // thumbnails and download are open
        let th = get(&w, &format!("/companies/{CID}/files/{id}/thumbnails/0"), None);
        assert_eq!(th.status(), 200);
        assert!(th.header("Content-Disposition").unwrap().starts_with("inline"));
        assert!(th.header("Expires").is_some());
        let decoded = image::load_from_memory(&w.body(&th)).unwrap();
        assert!(decoded.width() <= 320 && decoded.height() <= 320);
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        assert_eq!(w.body(&dl), data);
        assert_eq!(dl.header("Content-Type"), Some("image/png"));
        assert_eq!(dl.header("Cache-Control"), Some("public, max-age=300"), "bounded: a Twake file can be deleted");
        assert!(dl.header("Content-Disposition").unwrap().contains("photo.png"));
        // metadata at both paths
        assert_eq!(res(&get(&w, &format!("/companies/{CID}/files/{id}"), Some(&me)))["id"], id.as_str());
        assert_eq!(res(&get(&w, &format!("/{CID}/files/{id}"), Some(&me)))["id"], id.as_str());
        // delete: exactly {"status":"success"}, then 404 everywhere, bytes gone
        let del = w.send(
            Method::Delete,
            &format!("{PREFIX}/companies/{CID}/files/{id}"),
            &[("Authorization", &me)],
            Vec::new(),
        );
        assert_eq!(World::json(&del), json!({"status": "success"}));
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}"), Some(&me)).status(), 404);
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 404);
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/thumbnails/0"), None).status(), 404);
        assert!(w.blobs.object(&keys::object(&id)).is_none() && w.blobs.object(&keys::thumbnail(&id, 0)).is_none());
    }

    /// 13 chunks of unequal sizes (the last the largest, as resumable.js cuts), sent shuffled,
    /// one twice: one R2 object of equal parts and the right sha256.
    #[test]
    fn chunks_in_any_order_make_one_object_of_equal_parts() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let c = 1_290_555usize; // 13 chunks of ~1.2 MiB: staged, then assembled
        let size = 12 * c + c + 777;
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let init = res(&post(
            &w,
            &format!("/companies/{CID}/files?filename=big.bin&type=application/octet-stream&total_size={size}"),
            &me,
            Vec::new(),
        ));
        assert_eq!(
            (init["metadata"].clone(), init["upload_data"].clone(), init["thumbnails"].clone()),
            (Value::Null, Value::Null, json!([]))
        );
        let id = init["id"].as_str().unwrap().to_string();
        let chunk_of = |k: usize| if k == 13 { &data[12 * c..] } else { &data[(k - 1) * c..k * c] };
        let send = |k: usize| {
            let q = format!(
                "resumableChunkNumber={k}&resumableTotalChunks=13&resumableTotalSize={size}&resumableFilename=big.bin"
            );
            post(
                &w,
                &format!("/companies/{CID}/files/{id}?{q}"),
                &me,
                multipart("blob", "application/octet-stream", chunk_of(k)),
            )
        };
        for k in [7, 2, 13, 1, 9, 4, 4, 11, 3, 6, 12, 10, 5] {
            assert_eq!(res(&send(k))["id"], id.as_str());
            assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 409, "incomplete");
        }
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 409, "chunk 8 is missing");
        let r = World::json(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None));
        assert_eq!(r, json!({"statusCode": 409, "error": "Conflict", "message": "Upload incomplete"}));
        let last = res(&send(8));
        assert_eq!(last["upload_data"], json!({"size": size, "chunks": 13}));
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        assert_eq!(hex::encode(Sha256::digest(w.body(&dl))), hex::encode(Sha256::digest(&data)));
        let parts = w.blobs.part_sizes.borrow()[&keys::object(&id)].clone();
        assert!(
            parts.len() >= 3 && parts[..parts.len() - 1].iter().all(|p| *p == parts[0] && *p as u64 >= 5 * MIB),
            "{parts:?}"
        );
        assert!((1..=13).all(|k| w.blobs.object(&keys::staged_chunk(&id, k)).is_none()), "staging objects deleted");
        assert_eq!(last["metadata"]["thumbnails_status"], "done");
        assert_eq!(last["thumbnails"], json!([]), "chunked files get no thumbnails");
    }

    /// Chunks of any sizes (the last short, one smaller than the rest), one re-sent with the
    /// same bytes, one missing until the end: the parts are still equal.
    #[test]
    fn chunks_of_unequal_sizes_and_a_short_last_one() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let sizes = [3 * MIB as usize, MIB as usize, 6 * MIB as usize + 17, 4 * MIB as usize, 1000];
        let total: usize = sizes.iter().sum();
        let data: Vec<u8> = (0..total).map(|i| (i * 7 % 253) as u8).collect();
        let id =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let starts: Vec<usize> = sizes
            .iter()
            .scan(0, |acc, s| {
                let st = *acc;
                *acc += s;
                Some(st)
            })
            .collect();
        let send = |k: usize| {
            let q = format!("chunk_number={k}&total_chunks=5&total_size={total}&filename=u.bin");
            let bytes = &data[starts[k - 1]..starts[k - 1] + sizes[k - 1]];
            post(
                &w,
                &format!("/companies/{CID}/files/{id}?{q}"),
                &me,
                multipart("u.bin", "application/octet-stream", bytes),
            )
        };
        for k in [5, 1, 3, 1, 2] {
            assert_eq!(send(k).status(), 200);
        }
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 409, "chunk 4 is missing");
        assert!(w.blobs.object(&keys::object(&id)).is_none(), "nothing assembled yet");
        assert_eq!(res(&send(4))["upload_data"], json!({"size": total, "chunks": 5}));
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        assert_eq!(w.body(&dl), data);
        let parts = w.blobs.part_sizes.borrow()[&keys::object(&id)].clone();
        assert_eq!(parts.iter().sum::<usize>(), total);
        assert!(parts[..parts.len() - 1].iter().all(|p| *p == parts[0]), "{parts:?}");
        assert!(*parts.last().unwrap() <= parts[0]);
    }

    /// A form that fails after its file (a text field past its limit): 400, and nothing of the
    /// file is kept, neither a whole file's object nor a chunk's staging object.
    #[test]
    fn a_form_failing_after_its_file_keeps_nothing() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let data = vec![7u8; 6 * MIB as usize]; // past one part: written as it arrives
        let mut body = multipart("a.bin", "x/y", &data);
        body.truncate(body.len() - b"--TB--\r\n".len());
        body.extend_from_slice(b"--TB\r\nContent-Disposition: form-data; name=\"extra\"\r\n\r\n");
        body.extend_from_slice(&[b'x'; 9000]);
        body.extend_from_slice(b"\r\n--TB--\r\n");
        for q in ["", "?chunk_number=1&total_chunks=2"] {
            let id =
                res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
            let r = post(&w, &format!("/companies/{CID}/files/{id}{q}"), &me, body.clone());
            assert_eq!(r.status(), 400, "{q}: {r:?}");
            assert!(w.blobs.objects.borrow().is_empty(), "{q}: nothing kept");
            assert_eq!(res(&get(&w, &format!("/companies/{CID}/files/{id}"), Some(&me)))["upload_data"], Value::Null);
        }
    }

    /// R2 fails the assembly's completion: the chunk that completed the set hears 503, the
    /// client's retry of it assembles the file.
    #[test]
    fn a_failed_assembly_is_done_by_the_retry() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let c = 3 * MIB as usize;
        let data: Vec<u8> = (0..4 * c).map(|i| (i % 249) as u8).collect();
        let id =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let send = |k: usize| {
            let q = format!("chunk_number={k}&total_chunks=4&total_size={}&filename=r.bin", data.len());
            post(
                &w,
                &format!("/companies/{CID}/files/{id}?{q}"),
                &me,
                multipart("r.bin", "x/y", &data[(k - 1) * c..k * c]),
            )
        };
        for k in 1..=3 {
            assert_eq!(send(k).status(), 200);
        }
        w.blobs.faults.fail("complete", 1);
        assert_eq!(send(4).status(), 503);
        assert!(w.blobs.object(&keys::object(&id)).is_none());
        assert_eq!(send(4).status(), 200, "the retry assembles it");
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None)), data);
        // and a retry whose answer was lost after that: the same file, nothing overwritten
        let again = res(&send(4));
        assert_eq!(again["upload_data"], json!({"size": data.len(), "chunks": 4}));
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None)), data);
        // a failure then a download: the download assembles it
        let id2 =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let q = "chunk_number=1&total_chunks=2&total_size=6&filename=s.bin";
        assert_eq!(
            post(&w, &format!("/companies/{CID}/files/{id2}?{q}"), &me, multipart("s", "x/y", b"abc")).status(),
            200
        );
        w.blobs.faults.fail("get", 1); // the assembly reading the staged chunks back
        let q = "chunk_number=2&total_chunks=2&total_size=6&filename=s.bin";
        assert_eq!(
            post(&w, &format!("/companies/{CID}/files/{id2}?{q}"), &me, multipart("s", "x/y", b"def")).status(),
            503
        );
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id2}/download"), None)), b"abcdef");
    }

    #[test]
    fn huge_pictures_refusals_and_other_companies() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        // a small file of a 20,000 x 20,000 picture: thumbnails_status "error", still served
        let mut huge = png(1, 1);
        huge[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let r = res(&post(&w, &format!("/companies/{CID}/files"), &me, multipart("huge.png", "image/png", &huge)));
        assert_eq!(r["metadata"]["thumbnails_status"], "error");
        assert_eq!(r["thumbnails"], json!([]));
        let id = r["id"].as_str().unwrap().to_string();
        // a PDF: done, no thumbnails
        let pdf =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, multipart("a.pdf", "application/pdf", b"%PDF-1.4")));
        assert_eq!(
            (pdf["metadata"]["thumbnails_status"].as_str(), pdf["thumbnails"].clone()),
            (Some("done"), json!([]))
        );
        // a JWT of another secret, none, garbage: 401 in fastify's shape
        let bad = jwt("another-secret-0123456789", "u", &w);
        for auth in [bad.as_str(), "Bearer x.y.z", "Basic Zm9vOmJhcg=="] {
            let r = get(&w, &format!("/companies/{CID}/files/{id}"), Some(auth));
            assert_eq!(
                World::json(&r),
                json!({"statusCode": 401, "error": "Unauthorized", "message": "Bad credentials"})
            );
        }
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}"), None).status(), 401);
        // under another company's path: 404, even for its own tenant and on the open routes
        let other = "11111111-2222-4333-8444-555555555555";
        assert_eq!(get(&w, &format!("/companies/{other}/files/{id}"), Some(&me)).status(), 404);
        assert_eq!(get(&w, &format!("/companies/{other}/files/{id}/download"), None).status(), 404);
        // another tenant (its own secret): 404 on every route, nothing changes
        let bob = jwt(BOBCO_JWT_SECRET, "b", &w);
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}"), Some(&bob)).status(), 404);
        let del = w.send(
            Method::Delete,
            &format!("{PREFIX}/companies/{CID}/files/{id}"),
            &[("Authorization", &bob)],
            Vec::new(),
        );
        assert_eq!(del.status(), 404);
        let chunk = post(
            &w,
            &format!("/companies/{CID}/files/{id}?chunk_number=1&total_chunks=2"),
            &bob,
            multipart("x", "x/y", b"x"),
        );
        assert_eq!(chunk.status(), 404);
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None)), huge);
        // a finished file is not overwritten by a user; an unknown id is 404
        let again = res(&post(&w, &format!("/companies/{CID}/files/{id}"), &me, multipart("x", "x/y", b"x")));
        assert_eq!(again["upload_data"]["size"], huge.len());
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None)), huge);
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{other}"), Some(&me)).status(), 404);
        // bad chunk parameters
        let init = res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()));
        let fid = init["id"].as_str().unwrap();
        for q in
            ["chunk_number=0&total_chunks=2", "chunk_number=3&total_chunks=2", "chunk_number=x", "total_chunks=99999"]
        {
            let r = post(&w, &format!("/companies/{CID}/files/{fid}?{q}"), &me, multipart("x", "x/y", b"x"));
            assert_eq!(r.status(), 400, "{q}");
        }
        // a company id or a file name of absurd size
        let long = "c".repeat(5000);
        assert_eq!(post(&w, &format!("/companies/{long}/files"), &me, Vec::new()).status(), 404);
        let q = format!("filename={}", "n".repeat(300));
        let r = post(&w, &format!("/companies/{CID}/files/{fid}?{q}"), &me, multipart("x", "x/y", b"x"));
        assert_eq!(r.status(), 400, "a 300-byte name");
        // a tenant restricted to other companies
        let mut w2 = World::new();
        w2.config.twake_companies = vec![("acme".into(), vec!["c-only".into()])];
        let r = post(&w2, &format!("/companies/{CID}/files"), &jwt(ACME_JWT_SECRET, "u", &w2), Vec::new());
        assert_eq!(r.status(), 403);
        assert_eq!(World::json(&r)["error"], "Forbidden");
    }
    fn delete(w: &World, path: &str, auth: &str) -> Reply {
        w.send(Method::Delete, &format!("{PREFIX}{path}"), &[("Authorization", auth)], Vec::new())
    }

    /// `demo:*;other:other-co` (here `acme:*;bobco:other-co`): acme cannot upload into
    /// other-co, its file put there before the claim is served there no more, and bobco has
    /// other-co's files to itself.
    #[test]
    fn a_company_belongs_to_one_tenant() {
        let mut w = World::new();
        let acme = jwt(ACME_JWT_SECRET, "a", &w);
        let bob = jwt(BOBCO_JWT_SECRET, "b", &w);
        let picture = png(64, 48);
        let early = res(&post(
            &w,
            "/companies/other-co/files?thumbnail_sync=1",
            &acme,
            multipart("p.png", "image/png", &picture),
        ));
        let early = early["id"].as_str().unwrap().to_string();
        let unfinished =
            res(&post(&w, "/companies/other-co/files", &acme, Vec::new()))["id"].as_str().unwrap().to_string();
        let q = "chunk_number=1&total_chunks=2&total_size=6&filename=u.bin";
        let r = post(&w, &format!("/companies/other-co/files/{unfinished}?{q}"), &acme, multipart("u", "x/y", b"abc"));
        assert_eq!(r.status(), 200);
        w.config.twake_companies = vec![("acme".into(), vec!["*".into()]), ("bobco".into(), vec!["other-co".into()])];
        // acme: 403 in fastify's shape, whatever the company id's case
        for cid in ["other-co", "OTHER-CO"] {
            let r = post(&w, &format!("/companies/{cid}/files"), &acme, multipart("x.bin", "x/y", b"x"));
            let forbidden =
                json!({"statusCode": 403, "error": "Forbidden", "message": "this company is not the tenant's"});
            assert_eq!(World::json(&r), forbidden, "{cid}");
            assert_eq!(get(&w, &format!("/companies/{cid}/files/{early}"), Some(&acme)).status(), 403);
            assert_eq!(delete(&w, &format!("/companies/{cid}/files/{early}"), &acme).status(), 403);
        }
        // nothing of acme's is served at other-co's open URLs
        assert_eq!(get(&w, &format!("/companies/other-co/files/{early}/download"), None).status(), 404);
        assert_eq!(get(&w, &format!("/companies/other-co/files/{early}/thumbnails/0"), None).status(), 404);
        assert_eq!(get(&w, &format!("/companies/other-co/files/{unfinished}/download"), None).status(), 404);
        // bobco: uploads, sees, downloads and deletes its own there, not acme's
        let mine = res(&post(&w, "/companies/other-co/files", &bob, multipart("b.bin", "x/y", b"bobs")));
        let mine = mine["id"].as_str().unwrap().to_string();
        assert_eq!(res(&get(&w, &format!("/companies/other-co/files/{mine}"), Some(&bob)))["id"], mine.as_str());
        assert_eq!(w.body(&get(&w, &format!("/companies/other-co/files/{mine}/download"), None)), b"bobs");
        for id in [&early, &unfinished] {
            assert_eq!(get(&w, &format!("/companies/other-co/files/{id}"), Some(&bob)).status(), 404);
            assert_eq!(delete(&w, &format!("/companies/other-co/files/{id}"), &bob).status(), 404);
        }
        assert_eq!(
            World::json(&delete(&w, &format!("/companies/other-co/files/{mine}"), &bob)),
            json!({"status": "success"})
        );
        assert_eq!(get(&w, &format!("/companies/other-co/files/{mine}/download"), None).status(), 404);
        // any other company is acme's (`*`), none is bobco's
        assert_eq!(post(&w, "/companies/acme-co/files", &acme, Vec::new()).status(), 200);
        assert_eq!(post(&w, "/companies/acme-co/files", &bob, Vec::new()).status(), 403);
        // acme's file left under other-co is still its own to delete, through the native API
        let native =
            w.send(Method::Delete, &format!("/v1/files/{early}"), &[("Authorization", "Bearer tok")], Vec::new());
        assert_eq!(native.status(), 204);
        assert!(
            w.blobs.object(&keys::object(&early)).is_none() && w.blobs.object(&keys::thumbnail(&early, 0)).is_none()
        );
    }

    /// No configuration: acme and bobco both use company `c1`, and neither reaches the
    /// other's files through any route.
    #[test]
    fn two_tenants_using_one_company_id_share_nothing() {
        let w = World::new();
        let tenants = [jwt(ACME_JWT_SECRET, "a", &w), jwt(BOBCO_JWT_SECRET, "b", &w)];
        let mut files = Vec::new();
        for (i, me) in tenants.iter().enumerate() {
            let picture = png(40 + i as u32, 30);
            let done =
                res(&post(&w, "/companies/c1/files?thumbnail_sync=1", me, multipart("p.png", "image/png", &picture)));
            let open = res(&post(&w, "/companies/c1/files", me, Vec::new()))["id"].as_str().unwrap().to_string();
            let q = "chunk_number=1&total_chunks=2&total_size=6&filename=u.bin";
            assert_eq!(
                post(&w, &format!("/companies/c1/files/{open}?{q}"), me, multipart("u", "x/y", b"abc")).status(),
                200
            );
            files.push((done["id"].as_str().unwrap().to_string(), open, picture));
        }
        assert!(files[0].0 != files[1].0 && files[0].1 != files[1].1, "one URL, one file");
        for (me, other) in [(0, 1), (1, 0)] {
            let (auth, (done, open, _)) = (&tenants[me], &files[other]);
            for id in [done, open] {
                assert_eq!(get(&w, &format!("/companies/c1/files/{id}"), Some(auth)).status(), 404);
                assert_eq!(get(&w, &format!("/c1/files/{id}"), Some(auth)).status(), 404);
                assert_eq!(delete(&w, &format!("/companies/c1/files/{id}"), auth).status(), 404);
                let q = "chunk_number=2&total_chunks=2&total_size=6&filename=u.bin";
                let r = post(&w, &format!("/companies/c1/files/{id}?{q}"), auth, multipart("u", "x/y", b"def"));
                assert_eq!(r.status(), 404);
            }
            assert!(w.blobs.object(&keys::staged_chunk(open, 2)).is_none(), "nothing staged for the other's file");
        }
        // each file is whole and its own, at its own URLs and to its owner
        for (me, (done, open, picture)) in files.iter().enumerate() {
            assert_eq!(w.body(&get(&w, &format!("/companies/c1/files/{done}/download"), None)), *picture);
            assert_eq!(get(&w, &format!("/companies/c1/files/{done}/thumbnails/0"), None).status(), 200);
            assert_eq!(
                get(&w, &format!("/companies/c1/files/{open}/download"), None).status(),
                409,
                "still unfinished"
            );
            assert_eq!(
                res(&get(&w, &format!("/companies/c1/files/{open}"), Some(&tenants[me])))["upload_data"]["chunks"],
                2
            );
            assert!(w.blobs.object(&keys::staged_chunk(open, 1)).is_some());
        }
    }

    /// A file declared as 10,000 chunks with one landed: its deletion costs a few store calls,
    /// not one per declared chunk.
    #[test]
    fn deleting_touches_only_the_chunks_landed() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let id =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let q = "chunk_number=7&total_chunks=10000&total_size=100000&filename=many.bin";
        assert_eq!(
            post(&w, &format!("/companies/{CID}/files/{id}?{q}"), &me, multipart("m", "x/y", b"0123456789")).status(),
            200
        );
        assert!(w.blobs.object(&keys::staged_chunk(&id, 7)).is_some());
        let (deletes, reads) = (w.blobs.deletes.get(), w.blobs.reads.get());
        assert_eq!(
            World::json(&delete(&w, &format!("/companies/{CID}/files/{id}"), &me)),
            json!({"status": "success"})
        );
        assert_eq!(w.blobs.deletes.get() - deletes, 1, "the one staged chunk");
        assert!(w.blobs.reads.get() - reads <= 4, "{} reads", w.blobs.reads.get() - reads);
        assert!(w.blobs.objects.borrow().is_empty(), "nothing left");
    }

    /// A chunk whose file is deleted while it arrives (after its request found the file,
    /// before the chunk landed) keeps nothing: neither a staging object nor a whole file.
    #[test]
    fn a_chunk_landing_after_its_file_is_gone_keeps_nothing() {
        use crate::dialect::Head;
        use crate::route::Params;
        use crate::testkit::MemoryUploads;
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        for total in [3, 1] {
            let id =
                res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
            let body = multipart("m", "x/y", b"0123456789");
            let headers = vec![
                ("Content-Type".to_string(), "multipart/form-data; boundary=TB".to_string()),
                ("Content-Length".to_string(), body.len().to_string()),
            ];
            let query = format!("chunk_number=1&total_chunks={total}&total_size=10&filename=m.bin");
            let head = Head::new(Method::Post, &format!("{PREFIX}/companies/{CID}/files/{id}"), &query, headers);
            let params = Params(vec![("cid", CID.to_string()), ("id", id.clone())]);
            let req = Request { head: &head, method: Method::Post, params: &params, caller: None, origin: "https://e" };
            let who = Caller { tenant: Tenant("acme".into()), user: "u".into(), privileged: false };
            let (ctx, uploads) = (w.ctx(), w.uploads());
            let svc = Service { ctx: &ctx, uploads: &uploads };
            let landed = futures_executor::block_on(async {
                delete_file(&svc, "acme", CID, &id).await.unwrap();
                chunk(&svc, &req, &who, CID, &id, MemoryUploads::read(body.into()), false).await
            });
            assert_eq!(landed.unwrap_err().status(), 404, "{total} chunks");
            w.run_later();
            assert!(w.blobs.objects.borrow().is_empty(), "{total} chunks: nothing left behind");
            let listed = futures_executor::block_on(w.ctx().list_files("acme", None)).unwrap();
            assert!(listed.files.iter().all(|f| f.id != id), "{total} chunks: not listed");
        }
    }

    /// Twake's access tokens as Twake mints them, and nothing else: not OpenTera's (both are
    /// signed with the tenant's one secret), not Twake's refresh tokens, not before `nbf`, not
    /// with a life no Twake gives.
    #[test]
    fn only_twake_access_tokens_in_their_time() {
        let w = World::new();
        let now = w.now() / 1000;
        let bearer = |c: Value| format!("Bearer {}", jwt::sign(c.as_object().unwrap(), ACME_JWT_SECRET.as_bytes()));
        let twake = json!({"type": "access", "sub": "u", "email": "u@example.com", "iat": now - 600,
                           "nbf": now - 600, "exp": now + 3600, "track": false, "provider_id": ""});
        assert_eq!(post(&w, "/companies/c1/files", &bearer(twake.clone()), Vec::new()).status(), 200);
        let participant = "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21";
        let opentera_access =
            crate::dialect::opentera::access_token(ACME_JWT_SECRET.as_bytes(), &[participant], participant, w.now());
        let refused = [
            // an OpenTera identity token, even one carrying `sub`
            json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, "user_uuid": participant, "sub": "u"}),
            // Twake's refresh token, a token of no type, one before its nbf, lives too long
            json!({"type": "refresh", "sub": "u", "iat": now - 600, "nbf": now - 600, "exp": now + 2_592_000}),
            json!({"sub": "u", "exp": now + 3600}),
            json!({"type": "access", "sub": "u", "nbf": now + 60, "exp": now + 3600}),
            json!({"type": "access", "sub": "u", "iat": now - 600, "exp": now + 10 * 365 * 86400}),
            json!({"type": "access", "sub": "u", "exp": now + 31 * 86400}),
        ];
        let unauthorized = json!({"statusCode": 401, "error": "Unauthorized", "message": "Bad credentials"});
        for c in refused {
            assert_eq!(
                World::json(&post(&w, "/companies/c1/files", &bearer(c.clone()), Vec::new())),
                unauthorized,
                "{c}"
            );
        }
        let r = post(&w, "/companies/c1/files", &format!("Bearer {opentera_access}"), Vec::new());
        assert_eq!(r.status(), 401, "OpenTera's access token as it is");
        // a token not yet valid becomes valid at its nbf
        let soon = bearer(json!({"type": "access", "sub": "u", "nbf": now + 60, "exp": now + 3600}));
        assert_eq!(post(&w, "/companies/c1/files", &soon, Vec::new()).status(), 401);
        w.advance(60_000);
        assert_eq!(post(&w, "/companies/c1/files", &soon, Vec::new()).status(), 200);
    }
}
