//! tus 1.0 resumable uploads at `/files/` (core, creation, creation-with-upload,
//! creation-defer-length, termination, expiration, checksum), with `GET` of the finished
//! file and CORS that lets a browser client read every tus header. Auth: the tenant's
//! Basic or Bearer credentials. `X-HTTP-Method-Override` is honoured whatever the real
//! method. The upload itself lives in its Durable Object.

use super::Op::Tus;
use super::{download_reply, fetch_whole, Dialect, Reply, Request, Service};
use crate::auth::Tenant;
use crate::engine::file::ids::{http_date, new_uuid};
use crate::engine::file::record::content_type_or_guess;
use crate::engine::file::record::{Access, Vendor};
use crate::engine::file::visibility::Via;
use crate::engine::upload::calls::{Cancel, Uploads};
use crate::engine::upload::state::{
    Append, At, NewUpload, Phase, Resend, Then, UploadState, UPLOAD_EXPIRED, UPLOAD_NOT_FOUND,
};
use crate::engine::{Missing, NewFile, Opened, Read};
use crate::error::{Error, Result};
use crate::http::download::CachePolicy;
use crate::http::tus::{self, check_version, parse_metadata, parse_u64};
use crate::route::{opt, req, row, Kind, Media, Param, PathParam, Spec, Table, DOWNLOAD, RANGE_HEADERS};
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Options,
    Create,
    Head,
    Patch,
    Delete,
    Get,
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Tus,
    prefixes: &[""],
    method_override: true,
    endpoints: &[
        row!(Post "/files/", Tus(Op::Create), Tenant, Forward,
            "Creation (`Upload-Length` or `Upload-Defer-Length: 1`, `Upload-Metadata`), with the first bytes if sent.")
        .with(Spec::ok(&[(201, Media::Empty)]).takes(OFFSET_OCTETS).headers(CREATE_HEADERS).errors(&[412, 415, 460])),
        row!(Options "/files/", Tus(Op::Options), None, None, "Capabilities; CORS preflight.")
            .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Head "/files/{id}", Tus(Op::Head), Tenant, None,
            "Where the upload stands: `Upload-Offset`, `Upload-Length`.")
        .with(Spec::ok(&[(200, Media::Empty)]).headers(VERSION).errors(&[410, 412])),
        row!(Patch "/files/{id}", Tus(Op::Patch), Tenant, Forward, "Append at `Upload-Offset`.").with(
            Spec::ok(&[(204, Media::Empty)])
                .takes(OFFSET_OCTETS)
                .headers(PATCH_HEADERS)
                .errors(&[409, 410, 412, 415, 460]),
        ),
        row!(Delete "/files/{id}", Tus(Op::Delete), Tenant, None, "Termination; a finished upload's file goes too.")
            .with(Spec::ok(&[(204, Media::Empty)]).headers(VERSION).errors(&[410, 412])),
        row!(Get "/files/{id}", Tus(Op::Get), Tenant, None, "The finished file (Range, ETag).")
            .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[409, 410, 416])),
        row!(Options "/files/{id}", Tus(Op::Options), None, None, "CORS preflight.")
            .with(Spec::ok(&[(204, Media::Empty)])),
    ],
};
const OFFSET_OCTETS: &[&str] = &["application/offset+octet-stream"];
const VERSION: &[Param] = &[req("Tus-Resumable", Kind::Str, "The protocol version: `1.0.0`.")];
const CREATE_HEADERS: &[Param] = &[
    req("Tus-Resumable", Kind::Str, "The protocol version: `1.0.0`."),
    opt("Upload-Length", Kind::Int, "The file's size."),
    opt("Upload-Defer-Length", Kind::Int, "`1`: the size comes later."),
    opt("Upload-Metadata", Kind::Str, "`key base64,key base64`: `filename`, `filetype`."),
    opt("Upload-Checksum", Kind::Str, "`sha1|sha256 <base64>` of the bytes sent with the creation."),
];
const PATCH_HEADERS: &[Param] = &[
    req("Tus-Resumable", Kind::Str, "The protocol version: `1.0.0`."),
    req("Upload-Offset", Kind::Int, "Where these bytes go."),
    opt("Upload-Length", Kind::Int, "The file's size, if deferred until now."),
    opt("Upload-Checksum", Kind::Str, "`sha1|sha256 <base64>` of this request's bytes."),
];

const OFFSET_TYPE: &str = "application/offset+octet-stream";
const MISSING: Missing = Missing { not_found: UPLOAD_NOT_FOUND, expired: UPLOAD_EXPIRED };

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    if op == Op::Options {
        return Ok(options(svc.ctx.config.max_file_size));
    }
    check_version(req.head.header("tus-resumable")).or_else(|e| if op == Op::Get { Ok(()) } else { Err(e) })?;
    let tenant = req.tenant()?;
    if op == Op::Create {
        return create(svc, req, tenant, body, Place::tenant()).await;
    }
    let id = req.path_uuid(PathParam::Id, UPLOAD_NOT_FOUND)?;
    match op {
        Op::Head => head(svc, tenant, &id).await,
        Op::Patch => patch(svc, req, tenant, &id, body).await,
        Op::Delete => delete(svc, tenant, &id).await,
        Op::Get => get(svc, req, tenant, &id).await,
        Op::Options | Op::Create => unreachable!("answered above"),
    }
}

/// Headers on every tus answer: the version, and CORS for browser clients.
pub(super) fn base_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Tus-Resumable", tus::VERSION.into()),
        ("Access-Control-Allow-Origin", "*".into()),
        ("Access-Control-Expose-Headers", tus::EXPOSED_HEADERS.into()),
    ]
}

/// tus errors are plain text with the tus headers; a `409` says where the upload stands.
pub fn error_reply(e: &Error) -> Reply {
    let mut headers = base_headers();
    match e {
        Error::UnsupportedVersion => headers.push(("Tus-Version", tus::VERSION.into())),
        Error::Unauthorized => headers.push(("WWW-Authenticate", "Basic realm=\"edgeshare\"".into())),
        Error::OffsetMismatch { offset } => headers.push(("Upload-Offset", offset.to_string())),
        _ => {}
    }
    Reply::Text { status: e.status(), headers, body: format!("{}\n", e.message()) }
}

/// `OPTIONS`: the server's capabilities, and the answer to a CORS preflight.
pub fn options(max_size: u64) -> Reply {
    let mut headers = base_headers();
    headers.extend([
        ("Tus-Version", tus::VERSION.to_string()),
        ("Tus-Extension", tus::EXTENSIONS.into()),
        ("Tus-Max-Size", max_size.to_string()),
        ("Tus-Checksum-Algorithm", crate::http::checksum::ALGORITHMS.into()),
        ("Access-Control-Allow-Methods", "POST, GET, HEAD, PATCH, DELETE, OPTIONS".into()),
        ("Access-Control-Allow-Headers", tus::REQUEST_HEADERS.into()),
        ("Access-Control-Max-Age", "86400".into()),
    ]);
    Reply::Empty { status: 204, headers }
}

/// Headers saying where an upload stands after a write.
fn progress(st: &UploadState) -> Vec<(&'static str, String)> {
    let mut headers = base_headers();
    headers.push(("Upload-Offset", st.offset.to_string()));
    if st.is_open() {
        headers.push(("Upload-Expires", http_date(st.idle_deadline())));
    }
    headers
}

fn append(head: &crate::dialect::Head, offset: u64) -> Result<Append> {
    Ok(Append {
        at: At::Offset(offset),
        body_len: head.content_length(),
        set_length: head.header("upload-length").map(|l| parse_u64(l, "Upload-Length")).transpose()?,
        checksum: head.header("upload-checksum").map(str::to_string),
        resend: Resend::Refuse,
        then: Then::CompleteAtLength,
    })
}

fn has_upload_body(head: &crate::dialect::Head) -> bool {
    head.header("content-type").is_some_and(|ct| ct.trim().eq_ignore_ascii_case(OFFSET_TYPE))
}

/// Where an upload is created: the tenant's `/files/`, or a file request's
/// `/r/{token}/files/` (its id chosen, and reserved, by the request first; its label kept
/// with the file).
pub struct Place {
    /// The path its `Location` is under (`/files`).
    pub base: String,
    pub id: Option<String>,
    pub label: Option<String>,
}

impl Place {
    fn tenant() -> Place {
        Place { base: "/files".into(), id: None, label: None }
    }
}

/// A creation's `Upload-Length` (`None`: deferred), checked against the largest file.
pub fn creation_length(head: &crate::dialect::Head, max: u64) -> Result<Option<u64>> {
    let length = match (head.header("upload-length"), head.header("upload-defer-length")) {
        (Some(l), None) => Some(parse_u64(l, "Upload-Length")?),
        (None, Some(d)) if d.trim() == "1" => None,
        _ => return Err(Error::bad_request("send either Upload-Length or Upload-Defer-Length: 1")),
    };
    if length.is_some_and(|l| l > max) {
        return Err(Error::TooLarge { max });
    }
    Ok(length)
}

/// `POST /files/`: creation (with an upload in the body, if it has one).
pub(super) async fn create<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    body: Body<P>,
    place: Place,
) -> Result<Reply> {
    let (ctx, head) = (svc.ctx, req.head);
    let length = creation_length(head, ctx.config.max_file_size)?;
    let raw_meta = head.header("upload-metadata").map(str::to_string);
    let meta = parse_metadata(raw_meta.as_deref().unwrap_or(""))?;
    let get = |k: &str| meta.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let name = get("filename").or(get("name")).map(crate::http::disposition::last_path_segment).unwrap_or("");
    let name = if name.is_empty() { "upload" } else { name };
    let content_type = content_type_or_guess(get("filetype").or(get("type")), name);
    let id = place.id.unwrap_or_else(new_uuid);
    let mut new =
        NewUpload { metadata: raw_meta, length, ..NewUpload::new(&id, &tenant.0, Vendor::Tus, name, &content_type) };
    new.extra.e2ee = get("e2ee").map(e2ee_meta).transpose()?;
    new.extra.label = place.label;
    let id = new.id.clone();
    let with_upload = has_upload_body(head);
    if with_upload && is_small_whole_file(ctx.config, head, length) {
        return create_small(svc, req, new, body, &place.base).await;
    }
    let st = if with_upload || length == Some(0) {
        // creation and its first bytes in one request to the upload's object
        match svc.objects.create_with(new, append(head, 0)?, body).await {
            Ok(st) => st,
            // the upload exists and keeps what arrived: tell the client where it is
            Err(e) if e.keeps_progress() => svc.objects.state(&id, &tenant.0, None).await?,
            Err(e) => return Err(e),
        }
    } else {
        svc.objects.create(new).await?
    };
    let mut headers = if with_upload { progress(&st) } else { base_headers() };
    headers.push(("Location", format!("{}{}/{id}", req.origin, place.base)));
    if !with_upload && st.is_open() {
        headers.push(("Upload-Expires", http_date(st.idle_deadline())));
    }
    Ok(Reply::Empty { status: 201, headers })
}

/// Longest end-to-end encrypted description of a file (`e2ee` in `Upload-Metadata`).
pub const MAX_E2EE_META: usize = 1024;

/// An end-to-end encrypted file's description (its name, type and size, encrypted in the
/// browser): opaque, kept as given if it is short printable ASCII.
fn e2ee_meta(raw: &str) -> Result<String> {
    if raw.is_empty() || raw.len() > MAX_E2EE_META || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::bad_request(format!("e2ee must be 1 to {MAX_E2EE_META} printable ASCII characters")));
    }
    Ok(raw.to_string())
}

/// Does a creation carry a whole file small enough to be one R2 put? Then it is written like
/// any one-request file, without an Upload object: one R2 put and one KV write.
fn is_small_whole_file(config: &crate::config::Config, head: &crate::dialect::Head, length: Option<u64>) -> bool {
    length.is_some_and(|l| l <= config.min_part_size)
        && head.content_length() == length
        && head.header("upload-checksum").is_none()
}

/// The creation of a small file with all its bytes: written in the worker; the upload id is
/// the file's, and `HEAD`, `PATCH`, `GET`, `DELETE` find it by that id in R2.
async fn create_small<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    new: NewUpload,
    body: Body<P>,
    base: &str,
) -> Result<Reply> {
    let ctx = svc.ctx;
    let file = NewFile {
        tenant: Tenant(new.tenant.clone()),
        id: new.id.clone(),
        name: new.name.clone(),
        content_type: new.content_type.clone(),
        vendor: Vendor::Tus,
        access: Access::Private,
        extra: new.extra.clone(),
        length_hint: new.length,
        expiring: false,
        mutable: false,
    };
    let held = ctx.write_file(&file, P::read(body)).await?;
    let record = ctx.keep_file(held, crate::engine::Expiry::Never).await?;
    let mut headers = base_headers();
    headers.push(("Upload-Offset", record.size.to_string()));
    headers.push(("Location", format!("{}{base}/{}", req.origin, record.id)));
    Ok(Reply::Empty { status: 201, headers })
}

/// `HEAD /files/{id}`: where the upload stands, from its last saved state (a write in
/// flight does not hold it up). `Cache-Control: no-store`, always.
pub(super) async fn head<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, id: &str) -> Result<Reply> {
    let mut headers = base_headers();
    headers.push(("Cache-Control", "no-store".into()));
    match svc.objects.state(id, &tenant.0, None).await {
        Ok(st) => {
            debug_assert_ne!(st.phase, Phase::Finishing, "the object finishes before it answers");
            // a finished upload whose file is gone is gone: the client starts over
            svc.ctx.check_finished(&st).await?;
            headers.push(("Upload-Offset", st.offset.to_string()));
            match st.length() {
                Some(l) => headers.push(("Upload-Length", l.to_string())),
                None => headers.push(("Upload-Defer-Length", "1".into())),
            }
            if let Some(m) = &st.new.metadata {
                headers.push(("Upload-Metadata", m.clone()));
            }
            if st.is_open() {
                headers.push(("Upload-Expires", http_date(st.idle_deadline())));
            }
        }
        // The object forgets a finished upload after the idle timeout; its file stays in R2.
        Err(Error::NotFound(_)) => {
            let file = own_file(svc, tenant, id, Read::Head).await?.record;
            headers.push(("Upload-Offset", file.size.to_string()));
            headers.push(("Upload-Length", file.size.to_string()));
        }
        Err(e) => return Err(e),
    }
    Ok(Reply::Empty { status: 200, headers })
}

/// `PATCH /files/{id}`: append at `Upload-Offset`.
pub(super) async fn patch<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    id: &str,
    body: Body<P>,
) -> Result<Reply> {
    let head = req.head;
    if !has_upload_body(head) {
        return Err(Error::UnsupportedMediaType("Content-Type must be application/offset+octet-stream".into()));
    }
    let offset = parse_u64(
        head.header("upload-offset").ok_or_else(|| Error::bad_request("missing Upload-Offset"))?,
        "Upload-Offset",
    )?;
    let empty = head.content_length().unwrap_or(0) == 0;
    match svc.objects.append(id, &tenant.0, None, append(head, offset)?, body).await {
        // An empty PATCH at the end of a finished upload (the retry of a last PATCH whose
        // answer was lost) is answered only while its file is there.
        Ok(st) if empty && st.file.is_some() => {
            svc.ctx.check_finished(&st).await?;
            Ok(Reply::Empty { status: 204, headers: progress(&st) })
        }
        Ok(st) => Ok(Reply::Empty { status: 204, headers: progress(&st) }),
        // A finished upload its object has forgotten: an empty PATCH at its end is the retry
        // of a last PATCH whose answer was lost.
        Err(Error::NotFound(m)) => {
            let file = own_file(svc, tenant, id, Read::Head).await.map_err(|_| Error::NotFound(m))?.record;
            if offset == file.size && empty {
                let mut headers = base_headers();
                headers.push(("Upload-Offset", file.size.to_string()));
                return Ok(Reply::Empty { status: 204, headers });
            }
            Err(Error::OffsetMismatch { offset: file.size })
        }
        Err(e) => Err(e),
    }
}

/// `DELETE /files/{id}`: termination; a finished upload's file goes with it.
async fn delete<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, id: &str) -> Result<Reply> {
    match svc.objects.cancel(id, &tenant.0, None, Cancel::DeleteFinished).await {
        // The object forgets a finished upload after a while; its file stays in R2.
        Err(Error::NotFound(_)) => svc.ctx.delete_file(&own_file(svc, tenant, id, Read::Head).await?.record).await?,
        other => other?,
    }
    Ok(Reply::Empty { status: 204, headers: base_headers() })
}

/// Termination of an upload that has not finished; a finished one's file stays (an
/// upload through a file request: its file is the tenant's once it is there).
pub(super) async fn terminate_unfinished<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, id: &str) -> Result<()> {
    match svc.objects.cancel(id, &tenant.0, None, Cancel::KeepFinished).await {
        Ok(_) | Err(Error::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `GET /files/{id}`: the finished file, to its tenant.
async fn get<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &Tenant, id: &str) -> Result<Reply> {
    let opened = own_file(svc, tenant, id, fetch_whole(req.head, req.method)).await?;
    Ok(download_reply(opened, req.head, req.method, CachePolicy::Private).with_headers(&base_headers()))
}

/// The tenant's finished file by its upload id, from R2 (strongly consistent: there at once).
async fn own_file<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, id: &str, read: Read) -> Result<Opened> {
    svc.ctx.open(id, Via::Owner, Some(tenant), MISSING, read).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::keys;
    use crate::route::Method;
    use crate::testkit::{World, ACME_BEARER, BOBCO_BEARER};

    const V: (&str, &str) = ("Tus-Resumable", "1.0.0");
    const OCTETS: (&str, &str) = ("Content-Type", "application/offset+octet-stream");
    const AUTH: (&str, &str) = ("Authorization", ACME_BEARER);

    fn id_of(created: &Reply) -> String {
        created.header("Location").unwrap().rsplit('/').next().unwrap().to_string()
    }

    fn create(w: &World, headers: &[(&str, &str)], body: impl Into<crate::testkit::Body>) -> Reply {
        w.send(Method::Post, "/files/", headers, body)
    }

    fn patch(w: &World, id: &str, offset: &str, body: &[u8]) -> Reply {
        let len = body.len().to_string();
        let headers = [AUTH, V, OCTETS, ("Upload-Offset", offset), ("Content-Length", len.as_str())];
        w.send(Method::Patch, &format!("/files/{id}"), &headers, body)
    }

    fn head(w: &World, id: &str, auth: &str) -> Reply {
        w.send(Method::Head, &format!("/files/{id}"), &[("Authorization", auth), V], Vec::new())
    }

    #[test]
    fn create_patch_head_get() {
        let w = World::new();
        let created =
            create(&w, &[AUTH, V, ("Upload-Length", "11"), ("Upload-Metadata", "filename aGVsbG8udHh0")], b"");
        assert_eq!(created.status(), 201);
        assert!(created.header("Location").unwrap().starts_with("https://edge.example/files/"));
        assert_eq!(created.header("Upload-Expires"), Some("Fri, 03 May 2024 10:00:00 GMT"));
        let id = id_of(&created);

        let r = patch(&w, &id, "0", b"hello ");
        assert_eq!((r.status(), r.header("Upload-Offset")), (204, Some("6")));
        let retry = patch(&w, &id, "0", b"hello ");
        assert_eq!((retry.status(), retry.header("Upload-Offset")), (409, Some("6")), "a retry at an old offset");
        assert_eq!(patch(&w, &id, "7", b"x").status(), 409, "a gap");

        let h = head(&w, &id, ACME_BEARER);
        assert_eq!(h.header("Upload-Offset"), Some("6"));
        assert_eq!(h.header("Upload-Length"), Some("11"));
        assert_eq!(h.header("Cache-Control"), Some("no-store"));
        assert_eq!(h.header("Upload-Metadata"), Some("filename aGVsbG8udHh0"));

        assert_eq!(patch(&w, &id, "6", b"world!").status(), 413, "past Upload-Length");
        assert_eq!(patch(&w, &id, "6", b"world").status(), 204);
        let got = w.send(Method::Get, &format!("/files/{id}"), &[AUTH], Vec::new());
        assert_eq!(got.status(), 200);
        assert_eq!(w.body(&got), b"hello world");
        assert_eq!(got.header("Content-Disposition"), Some("attachment; filename=\"hello.txt\""));
        assert_eq!(got.header("Access-Control-Allow-Origin"), Some("*"));

        // a KV record not yet visible where this request runs: the Upload object answers
        w.meta.entries.borrow_mut().remove(&keys::file(&id));
        assert_eq!(w.send(Method::Get, &format!("/files/{id}"), &[AUTH], Vec::new()).status(), 200);
    }

    #[test]
    fn protocol_errors() {
        let w = World::new();
        assert_eq!(create(&w, &[AUTH, ("Upload-Length", "1")], b"").status(), 412);
        assert_eq!(create(&w, &[AUTH, V], b"").status(), 400);
        assert_eq!(create(&w, &[AUTH, V, ("Upload-Length", "1"), ("Upload-Defer-Length", "1")], b"").status(), 400);
        assert_eq!(create(&w, &[AUTH, V, ("Upload-Length", "-1")], b"").status(), 400);
        assert_eq!(create(&w, &[AUTH, V, ("Upload-Length", "99999999999999")], b"").status(), 413);
        assert_eq!(
            create(&w, &[AUTH, V, ("Upload-Length", "1"), ("Upload-Metadata", "filename !")], b"").status(),
            400
        );

        let id = id_of(&create(&w, &[AUTH, V, ("Upload-Defer-Length", "1")], b""));
        let path = format!("/files/{id}");
        let send = |h: &[(&str, &str)], body: &[u8]| w.send(Method::Patch, &path, h, body);
        assert_eq!(send(&[AUTH, V, ("Upload-Offset", "0")], b"x").status(), 415);
        assert_eq!(send(&[AUTH, V, OCTETS], b"x").status(), 400, "no Upload-Offset");
        let bad_sum = ("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(send(&[AUTH, V, OCTETS, ("Upload-Offset", "0"), bad_sum], b"x").status(), 460);
        // the deferred length arrives with the last PATCH, which completes the upload
        let r = send(&[AUTH, V, OCTETS, ("Upload-Offset", "0"), ("Upload-Length", "2")], b"ab");
        assert_eq!(r.header("Upload-Offset"), Some("2"));
        assert_eq!(r.header("Upload-Expires"), None, "a finished upload does not expire");
        // the retry of that last PATCH, empty, whose answer was lost: 204 at its offset
        let again = send(&[AUTH, V, OCTETS, ("Upload-Offset", "2"), ("Content-Length", "0")], b"");
        assert_eq!((again.status(), again.header("Upload-Offset")), (204, Some("2")));

        let e = error_reply(&Error::UnsupportedVersion);
        assert_eq!(e.header("Tus-Version"), Some("1.0.0"));
        assert_eq!(e.header("Tus-Resumable"), Some("1.0.0"));
        assert!(options(10).header("Access-Control-Expose-Headers").unwrap().contains("Upload-Offset"));
        assert_eq!(head(&w, "not-a-uuid", ACME_BEARER).status(), 404);
        // 404 and 405 under /files/ answer in tus's shape
        let nf = w.send(Method::Get, "/files/a/b", &[], Vec::new());
        assert_eq!((nf.status(), nf.header("Tus-Resumable")), (404, Some("1.0.0")));
        let na = w.send(Method::Put, &path, &[], Vec::new());
        assert_eq!((na.status(), na.header("Allow")), (405, Some("HEAD, PATCH, DELETE, GET, OPTIONS")));
        assert_eq!(na.header("Tus-Resumable"), Some("1.0.0"));
    }

    /// A browser on another origin may send what tusd allows by default (Uppy's
    /// `addRequestId` sends `X-Request-ID`) and read a download's name and validator.
    #[test]
    fn cors_allows_what_tusd_allows_and_exposes_a_downloads_name_and_etag() {
        let w = World::new();
        let list = |v: Option<&str>| -> Vec<String> {
            v.unwrap_or_default().split(',').map(|h| h.trim().to_ascii_lowercase()).collect()
        };
        let tusd_allows = [
            "Authorization",
            "Origin",
            "X-Requested-With",
            "X-Request-ID",
            "X-HTTP-Method-Override",
            "Content-Type",
            "Upload-Length",
            "Upload-Offset",
            "Tus-Resumable",
            "Upload-Metadata",
            "Upload-Defer-Length",
            "Upload-Concat",
            "Upload-Incomplete",
            "Upload-Complete",
            "Upload-Draft-Interop-Version",
        ];
        let tusd_exposes = [
            "Upload-Offset",
            "Location",
            "Upload-Length",
            "Tus-Version",
            "Tus-Resumable",
            "Tus-Max-Size",
            "Tus-Extension",
            "Upload-Metadata",
            "Upload-Defer-Length",
            "Upload-Concat",
            "Upload-Incomplete",
            "Upload-Complete",
            "Upload-Draft-Interop-Version",
        ];
        let asked = tusd_allows.join(",").to_ascii_lowercase();
        for path in ["/files/", "/files/4b1c8d2e-0f3a-4c5b-9d6e-7f8a9b0c1d2e"] {
            let preflight = [
                ("Origin", "https://app.example"),
                ("Access-Control-Request-Method", "PATCH"),
                ("Access-Control-Request-Headers", asked.as_str()),
            ];
            let r = w.send(Method::Options, path, &preflight, Vec::new());
            assert_eq!((r.status(), r.header("Access-Control-Allow-Origin")), (204, Some("*")), "{path}");
            let allowed = list(r.header("Access-Control-Allow-Headers"));
            for h in tusd_allows.iter().chain(&["Upload-Checksum"]) {
                assert!(allowed.contains(&h.to_ascii_lowercase()), "{path}: {h} not allowed: {allowed:?}");
            }
        }
        let id = id_of(&create(&w, &[AUTH, V, OCTETS, ("Upload-Length", "5")], b"hello"));
        let got = w.send(Method::Get, &format!("/files/{id}"), &[AUTH, ("Origin", "https://app.example")], Vec::new());
        assert_eq!(got.status(), 200);
        assert!(got.header("Content-Disposition").is_some() && got.header("ETag").is_some());
        let exposed = list(got.header("Access-Control-Expose-Headers"));
        for h in tusd_exposes.iter().chain(&["Upload-Expires", "Content-Disposition", "ETag"]) {
            assert!(exposed.contains(&h.to_ascii_lowercase()), "{h} not exposed: {exposed:?}");
        }
    }

    #[test]
    fn names_and_metadata_storage_would_refuse_are_400_at_creation() {
        use base64::Engine;
        let w = World::new();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let long = format!("filename {}", b64(&"n".repeat(9000)));
        let r = create(&w, &[AUTH, V, ("Upload-Length", "3"), ("Upload-Metadata", long.as_str())], b"");
        assert_eq!(r.status(), 400);
        let just_too_long = format!("filename {}", b64(&"n".repeat(256)));
        assert_eq!(
            create(&w, &[AUTH, V, ("Upload-Length", "3"), ("Upload-Metadata", just_too_long.as_str())], b"").status(),
            400
        );
        let longest = format!("filename {}", b64(&"n".repeat(255)));
        assert_eq!(
            create(&w, &[AUTH, V, ("Upload-Length", "3"), ("Upload-Metadata", longest.as_str())], b"").status(),
            201
        );
        assert!(
            w.objects.borrow().values().filter(|o| o.store.state.borrow().is_some()).count() == 1,
            "only the good one"
        );
    }

    /// A creation-with-upload too large for one put goes to the upload's object: a name
    /// storage would refuse is still `400` there, not taken for a body cut short (whose
    /// "progress" would be looked up, and not found: `404`).
    #[test]
    fn a_long_name_with_a_large_first_body_is_400() {
        use base64::Engine;
        let w = World::new();
        let len = 6 * crate::config::MIB as usize;
        let (length, name) = (len.to_string(), "n".repeat(300));
        let meta = format!("filename {}", base64::engine::general_purpose::STANDARD.encode(&name));
        let headers = [
            AUTH,
            V,
            OCTETS,
            ("Upload-Length", length.as_str()),
            ("Content-Length", length.as_str()),
            ("Upload-Metadata", meta.as_str()),
        ];
        let r = create(&w, &headers, vec![7u8; len]);
        assert_eq!(r.status(), 400, "{r:?}");
        assert!(w.objects.borrow().values().all(|o| o.store.state.borrow().is_none()), "nothing opened");
    }

    /// A creation-with-upload whose body ends early (the client went away) keeps what
    /// arrived: `201` at the offset reached, to resume from.
    #[test]
    fn a_first_body_cut_short_keeps_what_arrived() {
        let w = World::new();
        let mib = crate::config::MIB as usize;
        let length = (12 * mib).to_string();
        let headers = [AUTH, V, OCTETS, ("Upload-Length", length.as_str()), ("Content-Length", length.as_str())];
        let cut = crate::testkit::Body { bytes: vec![7u8; 7 * mib], cut: true, ..Default::default() };
        let r = create(&w, &headers, cut);
        let offset = (7 * mib).to_string();
        assert_eq!((r.status(), r.header("Upload-Offset")), (201, Some(offset.as_str())), "{r:?}");
        let id = id_of(&r);
        assert_eq!(head(&w, &id, ACME_BEARER).header("Upload-Offset"), Some(offset.as_str()));
        assert_eq!(patch(&w, &id, &offset, &vec![7u8; 5 * mib]).status(), 204, "and resumes from there");
    }

    /// Each PATCH stores only its own bytes: the tail already stored (bytes short of a part)
    /// is neither rewritten nor read back until a part is cut from it.
    #[test]
    fn small_patches_after_a_large_tail_write_only_their_own_bytes() {
        use crate::engine::upload::run::Saved;
        use sha2::{Digest, Sha256};
        let w = World::new();
        let mib = crate::config::MIB as usize;
        let body: Vec<u8> = (0..6 * mib + 512 * 1024 + 16).map(|i| (i * 7 + i / 251) as u8).collect();
        let length = body.len().to_string();
        let id = id_of(&create(&w, &[AUTH, V, ("Upload-Length", length.as_str())], b""));
        let store = || w.object(&id);
        let first = 4 * mib + mib / 2;
        assert_eq!(patch(&w, &id, "0", &body[..first]).status(), 204);
        assert_eq!(store().store.state().unwrap().unwrap().tail_len, first as u64, "a 4.5 MiB tail");
        for at in first..first + 16 {
            let (written, read) = (store().store.written.get(), store().store.tail_read.get());
            assert_eq!(patch(&w, &id, &at.to_string(), &body[at..at + 1]).status(), 204);
            let wrote = store().store.written.get() - written;
            assert!(wrote < 64 * 1024, "a 1-byte PATCH wrote {wrote} bytes");
            assert_eq!(store().store.tail_read.get(), read, "and read nothing back");
        }
        // the next part is cut from the stored tail, the rest completes the file
        let at = first + 16;
        assert_eq!(patch(&w, &id, &at.to_string(), &body[at..at + mib]).status(), 204);
        let st = store().store.state().unwrap().unwrap();
        assert_eq!((st.parts.len(), st.tail_len), (1, (at + mib - 5 * mib) as u64), "one part cut");
        let at = at + mib;
        assert_eq!(patch(&w, &id, &at.to_string(), &body[at..]).status(), 204);
        let got = w.send(Method::Get, &format!("/files/{id}"), &[AUTH], Vec::new());
        assert_eq!(w.body(&got), body);
        let sha256 = hex::encode(Sha256::digest(&body));
        assert_eq!(store().store.state().unwrap().unwrap().file.unwrap().sha256, sha256);
    }

    #[test]
    fn method_override_whatever_the_real_method() {
        let w = World::new();
        let id = id_of(&create(&w, &[AUTH, V, ("Upload-Length", "2")], b""));
        let path = format!("/files/{id}");
        let with = |m: &str, extra: &[(&str, &str)], body: &[u8]| {
            let mut h = vec![AUTH, V, ("X-HTTP-Method-Override", m)];
            h.extend_from_slice(extra);
            w.send(Method::Get, &path, &h, body)
        };
        assert_eq!(with("OPTIONS", &[], b"").header("Tus-Version"), Some("1.0.0"));
        let r = with("PATCH", &[OCTETS, ("Upload-Offset", "0"), ("Content-Length", "1")], b"a");
        assert_eq!((r.status(), r.header("Upload-Offset")), (204, Some("1")));
        let h = with("HEAD", &[], b"");
        assert_eq!((h.status(), h.header("Upload-Offset")), (200, Some("1")));
        assert!(matches!(h, Reply::Empty { .. }), "a HEAD, not a download");
        assert_eq!(with("DELETE", &[], b"").status(), 204);
        assert_eq!(head(&w, &id, ACME_BEARER).status(), 404, "terminated");
    }

    #[test]
    fn idle_uploads_are_410_until_forgotten() {
        let w = World::new();
        let id = id_of(&create(&w, &[AUTH, V, ("Upload-Length", "10")], b""));
        assert_eq!(patch(&w, &id, "0", b"abc").status(), 204);
        w.advance(w.config.idle_timeout * 1000);
        assert_eq!(head(&w, &id, ACME_BEARER).status(), 410, "past its idle deadline, still tracked");
        assert_eq!(patch(&w, &id, "3", b"d").status(), 410);
        w.fire_alarms();
        assert_eq!(head(&w, &id, ACME_BEARER).status(), 404, "forgotten");
    }

    #[test]
    fn other_tenants_get_404_on_every_route() {
        let w = World::new();
        let open = id_of(&create(&w, &[AUTH, V, ("Upload-Length", "10")], b""));
        let done = id_of(&create(&w, &[AUTH, V, OCTETS, ("Upload-Length", "5")], b"hello"));
        let bob = ("Authorization", BOBCO_BEARER);
        for id in [&open, &done] {
            let path = format!("/files/{id}");
            assert_eq!(head(&w, id, BOBCO_BEARER).status(), 404);
            let p =
                w.send(Method::Patch, &path, &[bob, V, OCTETS, ("Upload-Offset", "0"), ("Content-Length", "1")], b"x");
            assert_eq!(p.status(), 404);
            assert_eq!(w.send(Method::Get, &path, &[bob], Vec::new()).status(), 404);
            assert_eq!(w.send(Method::Delete, &path, &[bob, V], Vec::new()).status(), 404);
        }
        // and nothing changed for the owner
        assert_eq!(head(&w, &open, ACME_BEARER).header("Upload-Offset"), Some("0"));
        assert_eq!(w.send(Method::Get, &format!("/files/{done}"), &[AUTH], Vec::new()).status(), 200);
        // no credentials at all: 401
        assert_eq!(w.send(Method::Head, &format!("/files/{open}"), &[V], Vec::new()).status(), 401);
    }

    #[test]
    fn terminating_a_finished_upload_drops_its_digest_entry_unless_a_newer_copy_owns_it() {
        let w = World::new();
        let upload = |body: &[u8]| {
            let len = body.len().to_string();
            id_of(&create(&w, &[AUTH, V, OCTETS, ("Upload-Length", len.as_str())], body))
        };
        let (first, second) = (upload(b"same bytes"), upload(b"same bytes"));
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"same bytes"));
        let indexed = || w.indexed("acme", &digest);
        assert_eq!(indexed(), Some(second.clone()), "the newer copy owns the digest");
        let delete = |id: &str| w.send(Method::Delete, &format!("/files/{id}"), &[AUTH, V], Vec::new()).status();
        assert_eq!(delete(&first), 204);
        assert_eq!(indexed(), Some(second.clone()), "deleting the older copy leaves the entry");
        assert_eq!(delete(&second), 204);
        assert_eq!(indexed(), None, "no entry left pointing at a deleted file");
        assert!(w.meta.value(&keys::file(&second)).is_none());
    }

    /// A file deleted by another route (here `DELETE /v1/files/{id}`) while its Upload object
    /// still remembers the finished upload: tus no longer sees it finished, so a client that
    /// kept its fingerprint (Uppy, tus-js-client) starts over instead of reporting success.
    #[test]
    fn a_finished_upload_whose_file_is_deleted_elsewhere_is_gone_to_head_and_patch() {
        let w = World::new();
        let id = id_of(&create(&w, &[AUTH, V, ("Upload-Length", "5")], b""));
        assert_eq!(patch(&w, &id, "0", b"hello").status(), 204);
        assert!(w.object(&id).store.state.borrow().is_some(), "the object remembers it");
        let h = head(&w, &id, ACME_BEARER);
        assert_eq!((h.status(), h.header("Upload-Offset")), (200, Some("5")));
        let again = patch(&w, &id, "5", b"");
        assert_eq!((again.status(), again.header("Upload-Offset")), (204, Some("5")), "a lost answer, retried");

        assert_eq!(w.send(Method::Delete, &format!("/v1/files/{id}"), &[AUTH], Vec::new()).status(), 204);
        assert_eq!(w.send(Method::Get, &format!("/files/{id}"), &[AUTH], Vec::new()).status(), 404);
        let h = head(&w, &id, ACME_BEARER);
        assert_eq!((h.status(), h.header("Upload-Offset")), (404, None), "not finished: gone");
        assert_eq!(h.header("Tus-Resumable"), Some("1.0.0"));
        assert_eq!(patch(&w, &id, "5", b"").status(), 404, "an empty PATCH at its end is no success");
        // and once the object has forgotten it too
        w.advance(w.config.idle_timeout * 1000);
        w.fire_alarms();
        assert_eq!(head(&w, &id, ACME_BEARER).status(), 404);
        assert_eq!(patch(&w, &id, "5", b"").status(), 404);
    }

    #[test]
    fn a_finished_upload_forgotten_by_its_object_is_served_and_terminated_from_its_record() {
        let w = World::new();
        let id = id_of(&create(&w, &[AUTH, V, OCTETS, ("Upload-Length", "5")], b"hello"));
        let r2_key = keys::object(&id);
        // the object's alarm forgets it once the idle timeout after completion has passed
        w.advance(w.config.idle_timeout * 1000);
        w.fire_alarms();
        assert!(w.object(&id).store.state.borrow().is_none());

        let h = head(&w, &id, ACME_BEARER);
        assert_eq!((h.header("Upload-Offset"), h.header("Upload-Length")), (Some("5"), Some("5")));
        assert_eq!(w.send(Method::Get, &format!("/files/{id}"), &[AUTH], Vec::new()).status(), 200);
        // the retried empty last PATCH still gets its 204 from the record
        let again = patch(&w, &id, "5", b"");
        assert_eq!((again.status(), again.header("Upload-Offset")), (204, Some("5")));
        assert_eq!(patch(&w, &id, "0", b"hello").status(), 409);
        let stranger = [("Authorization", "Bearer nope"), V];
        assert_eq!(w.send(Method::Delete, &format!("/files/{id}"), &stranger, Vec::new()).status(), 401);

        assert_eq!(w.send(Method::Delete, &format!("/files/{id}"), &[AUTH, V], Vec::new()).status(), 204);
        assert!(w.blobs.object(&r2_key).is_none(), "the bytes are gone");
        assert_eq!(head(&w, &id, ACME_BEARER).status(), 404);
        assert_eq!(w.send(Method::Delete, &format!("/files/{id}"), &[AUTH, V], Vec::new()).status(), 404);
    }
}
