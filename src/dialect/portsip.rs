//! PortSIP PBX Blobs API (compat-spec §4) at `/api/blobs/`: initiate (202), append (203),
//! complete with an optional sha256 `digest` (201 `{"id"}`), status (204), destroy (204), and
//! the public, immutable download by digest or opaque id. Upload id and token travel in
//! `PortSIP-Upload-ID` / `PortSIP-Upload-Token` headers; `Range` is `0-<last byte>`.

use base64::Engine;
use serde_json::json;

use super::Op::Portsip;
use super::{download_reply, fetch_whole, Dialect, Reply, Request, Service};
use crate::engine::file::ids::{new_uuid, random_bytes};
use crate::engine::file::record::{Access, Vendor};
use crate::engine::upload::calls::{Cancel, Uploads};
use crate::engine::upload::state::{Append, At, NewUpload, Resend, Then, UploadState, UPLOAD_NOT_FOUND};
use crate::engine::Missing;
use crate::error::{Error, Result};
use crate::http::digest::parse_sha256;
use crate::http::download::CachePolicy;
use crate::route::{
    opt, req, row, Kind, Media, Param, PathParam, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD, OCTETS, RANGE_HEADERS,
};
use crate::secret::Secret;
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Initiate,
    Append,
    Complete,
    Status,
    Destroy,
    Download,
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Portsip,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row!(Post "/api/blobs/uploads", Portsip(Op::Initiate), Tenant, None,
            "Initiate (`?filename=&temporary=`): 202, id and token in headers.")
        .with(Spec::ok(&[(202, Media::Empty)]).query(&[
            opt("filename", Kind::Str, "The blob's name."),
            opt("temporary", Kind::Bool, "Expire after a day."),
        ])),
        row!(Post "/api/blobs/uploads/{id}/append", Portsip(Op::Append), Tenant, Forward,
            "Append the body (with `PortSIP-Upload-Token`): 203.")
        .with(Spec::ok(&[(203, Media::Empty)]).takes(OCTETS).headers(&[UPLOAD_TOKEN]).errors(&[403, 409])),
        row!(Post "/api/blobs/uploads/{id}/complete", Portsip(Op::Complete), Tenant, Forward,
            "Append a final body if any, check `?digest=`, publish: 201 `{\"id\"}`.")
        .with(
            Spec::ok(&[(201, Media::Json)])
                .takes(OCTETS)
                .query(&[req("digest", Kind::Str, "`sha256:<hex>` of the whole blob.")])
                .headers(&[UPLOAD_TOKEN])
                .errors(&[403, 409]),
        ),
        row!(Get "/api/blobs/uploads/{id}/status", Portsip(Op::Status), Tenant, None,
            "Where the upload stands: 204 with `Range`.")
        .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Post "/api/blobs/uploads/{id}/destroy", Portsip(Op::Destroy), Tenant, None, "Cancel the upload: 204.")
            .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Get "/api/blobs/{digest}", Portsip(Op::Download), Optional, None,
            "Public download by sha256 or opaque id.")
        .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[410, 416])),
        row!(Head "/api/blobs/{digest}", Portsip(Op::Download), Optional, None, "Public download, headers only.")
            .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[410, 416])),
    ],
};
const UPLOAD_TOKEN: Param = req("PortSIP-Upload-Token", Kind::Str, "The token `initiate` answered.");

const TOKEN_HEADER: &str = "portsip-upload-token";
/// `temporary=true` blobs are kept this long after completion.
const TEMPORARY_TTL: u64 = 86400;
const MISSING: Missing = Missing { not_found: "blob not found", expired: "blob expired" };

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    if op == Op::Download {
        return download(svc, req).await;
    }
    let tenant = &req.tenant()?.0;
    if op == Op::Initiate {
        return initiate(svc, req, tenant).await;
    }
    let id = req.path_uuid(PathParam::Id, UPLOAD_NOT_FOUND)?;
    let uploads = svc.objects;
    let answer = match op {
        Op::Append => {
            let append = Append {
                at: At::Current,
                body_len: req.head.content_length(),
                set_length: None,
                checksum: None,
                resend: Resend::Acknowledge,
                then: Then::Continue,
            };
            let st = uploads.append(&id, tenant, Some(token(req)?), append, body).await;
            st.map(|st| Reply::Empty { status: 203, headers: upload_headers(&st) })
        }
        Op::Complete => complete(svc, req, tenant, &id, body).await,
        Op::Status => match uploads.state(&id, tenant, None).await {
            Ok(st) if st.is_open() => Ok(Reply::Empty { status: 204, headers: upload_headers(&st) }),
            Ok(_) => Err(Error::not_found(UPLOAD_NOT_FOUND)),
            Err(e) => Err(e),
        },
        Op::Destroy => uploads
            .cancel(&id, tenant, None, Cancel::KeepFinished)
            .await
            .map(|()| Reply::Empty { status: 204, headers: Vec::new() }),
        Op::Initiate | Op::Download => unreachable!("answered above"),
    };
    // PortSIP's uploads are unknown (404) once expired, finished or destroyed
    answer.map_err(|e| match e {
        Error::Expired(_) => Error::not_found(UPLOAD_NOT_FOUND),
        e => e,
    })
}

/// `{"errors":[{"code","message","detail"}]}`: `VALIDATE_FAILED` for bad input, else `UNKNOWN`.
pub fn error_reply(e: &Error) -> Reply {
    let code = if e.status() == 400 { "VALIDATE_FAILED" } else { "UNKNOWN" };
    let mut headers = Vec::new();
    if matches!(e, Error::Unauthorized) {
        headers.push(("WWW-Authenticate", "Bearer".to_string()));
    }
    Reply::Json {
        status: e.status(),
        headers,
        body: json!({"errors": [{"code": code, "message": e.message(), "detail": e.code()}]}),
    }
}

/// `base64(decimal id)`, like PortSIP's `NzAwNTUxOTA5NzczMTQ4MTYw` (= "700551909773148160"):
/// 64 random bits, drawn when the upload starts, so that a retried completion answers the
/// same id and nobody can guess another blob's.
pub fn opaque_id() -> String {
    let n = u64::from_le_bytes(random_bytes());
    base64::engine::general_purpose::STANDARD.encode(n.to_string())
}

/// PortSIP's booleans, in any case.
fn parse_bool(value: Option<&str>, name: &str) -> Result<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(Error::bad_request(format!("{name} must be true or false"))),
    }
}

fn upload_headers(st: &UploadState) -> Vec<(&'static str, String)> {
    let range = if st.offset == 0 { "0-0".to_string() } else { format!("0-{}", st.offset - 1) };
    vec![
        ("PortSIP-Upload-ID", st.new.id.clone()),
        ("PortSIP-Upload-Token", st.new.token.as_ref().map(|t| t.expose().to_string()).unwrap_or_default()),
        ("Range", range),
        ("Content-Length", "0".into()),
    ]
}

fn token(req: &Request<'_>) -> Result<Secret> {
    req.head
        .header(TOKEN_HEADER)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| Error::Forbidden("missing PortSIP-Upload-Token".into()))
}

/// `POST /api/blobs/uploads?filename=&temporary=`
async fn initiate<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &str) -> Result<Reply> {
    let temporary = parse_bool(req.head.query_param("temporary").as_deref(), "temporary")?;
    let name = req.head.query_param("filename").map(|f| crate::http::disposition::last_path_segment(&f).to_string());
    // the digest stands in for a missing name (see `download`)
    let name = name.unwrap_or_default();
    let new = NewUpload {
        ttl: temporary.then_some(TEMPORARY_TTL),
        token: Some(Secret::random::<24>()),
        access: Some(Access::PublicDigest),
        // the blob is named by its opaque id: its download by that id is one R2 read
        file_id: Some(opaque_id()),
        ..NewUpload::new(&new_uuid(), tenant, Vendor::Portsip, &name, "application/octet-stream")
    };
    let st = svc.objects.create(new).await?;
    Ok(Reply::Empty { status: 202, headers: upload_headers(&st) })
}

/// `POST /api/blobs/uploads/{id}/complete?digest=`: appends a final body if any, checks
/// the digest (a mismatch leaves the upload as it was), and publishes the blob: its digest
/// URL and opaque id work once this answers.
async fn complete<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &str,
    id: &str,
    body: Body<P>,
) -> Result<Reply> {
    let head = req.head;
    let digest = head.query_param("digest").filter(|d| !d.trim().is_empty()).map(|d| parse_sha256(&d)).transpose()?;
    let append = Append {
        at: At::Current,
        body_len: head.content_length(),
        set_length: None,
        checksum: None,
        resend: Resend::Acknowledge,
        then: Then::Complete { expected_sha256: digest },
    };
    let st = svc.objects.append(id, tenant, Some(token(req)?), append, body).await?;
    let file = st.file.ok_or_else(|| Error::Internal("completed upload without a file".into()))?;
    Ok(Reply::json(201, json!({ "id": file.id })))
}

/// The shared cache's path for an anonymous download by digest (`<hex>` and `sha256:<HEX>`
/// alike) or by opaque id: [`crate::engine::catalog::listing::public_paths`] purges the same.
pub fn cache_path(key: &str) -> Option<String> {
    match parse_sha256(key) {
        Ok(digest) => Some(format!("/api/blobs/{digest}")),
        Err(_) => crate::engine::file::ids::is_opaque_id(key).then(|| format!("/api/blobs/{key}")),
    }
}

/// `GET /api/blobs/{digest or id}`: public for PortSIP blobs; with a tenant's credentials,
/// any of that tenant's files by sha256 (`<hex>` or `sha256:<hex>`).
async fn download<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>) -> Result<Reply> {
    let ctx = svc.ctx;
    let fetch = fetch_whole(req.head, req.method);
    let mut opened = ctx.find_by_digest(req.params.get(PathParam::Digest), req.caller.as_ref(), MISSING, fetch).await?;
    let file = &mut opened.record;
    if file.name.is_empty() {
        file.name = file.sha256.clone();
    }
    let cache = match req.caller {
        // what a tenant reads with its credentials may be its private file: never shared
        Some(_) => CachePolicy::Private,
        None => ctx.public_cache(file.expires_at),
    };
    Ok(download_reply(opened, req.head, req.method, cache))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Method;
    use crate::testkit::{World, ACME_BEARER, BOBCO_BEARER};
    use sha2::{Digest, Sha256};

    const BEARER: (&str, &str) = ("Authorization", ACME_BEARER);

    fn post(w: &World, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let len = body.len().to_string();
        let mut all = headers.to_vec();
        all.push(("Content-Length", &len));
        w.send(Method::Post, &format!("/api/blobs/uploads{path}"), &all, body)
    }

    fn initiate(w: &World, query: &str, auth: &str) -> (String, String) {
        let init = post(w, query, &[("Authorization", auth)], b"");
        assert_eq!((init.status(), init.header("Range")), (202, Some("0-0")));
        (init.header("PortSIP-Upload-ID").unwrap().into(), init.header("PortSIP-Upload-Token").unwrap().into())
    }

    fn get(w: &World, key: &str, auth: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        w.send(Method::Get, &format!("/api/blobs/{key}"), &headers, Vec::new())
    }

    /// A whole blob in one complete; returns its opaque id.
    fn blob(w: &World, query: &str, auth: &str, bytes: &[u8]) -> String {
        let (id, token) = initiate(w, query, auth);
        let done =
            post(w, &format!("/{id}/complete"), &[("Authorization", auth), ("PortSIP-Upload-Token", &token)], bytes);
        assert_eq!(done.status(), 201, "{done:?}");
        World::json(&done)["id"].as_str().unwrap().to_string()
    }

    #[test]
    fn initiate_append_complete_download() {
        let w = World::new();
        assert_eq!(post(&w, "", &[], b"").status(), 401);
        assert_eq!(post(&w, "?temporary=maybe", &[BEARER], b"").status(), 400);
        let (id, token) = initiate(&w, "?filename=a.wav", ACME_BEARER);
        let with_token = [BEARER, ("PortSIP-Upload-Token", token.as_str())];

        let r = post(&w, &format!("/{id}/append"), &with_token, b"abc");
        assert_eq!((r.status(), r.header("Range")), (203, Some("0-2")));
        assert_eq!(post(&w, &format!("/{id}/append"), &[BEARER], b"x").status(), 403);
        let wrong = [BEARER, ("PortSIP-Upload-Token", "nope")];
        assert_eq!(post(&w, &format!("/{id}/append"), &wrong, b"x").status(), 403);
        let st = w.send(Method::Get, &format!("/api/blobs/uploads/{id}/status"), &[BEARER], Vec::new());
        assert_eq!((st.status(), st.header("Range")), (204, Some("0-2")));

        assert_eq!(post(&w, &format!("/{id}/complete?digest=xyz"), &with_token, b"").status(), 400);
        let digest = hex::encode(Sha256::digest(b"abcd"));
        let done = post(&w, &format!("/{id}/complete?digest={digest}"), &with_token, b"d");
        assert_eq!(done.status(), 201);
        let blob_id = World::json(&done)["id"].as_str().unwrap().to_string();
        // a retried completion (its answer lost) answers the same id
        let again = post(&w, &format!("/{id}/complete?digest={digest}"), &with_token, b"");
        assert_eq!(World::json(&again)["id"], blob_id.as_str());

        for key in [digest.clone(), format!("sha256:{digest}"), format!("SHA256:{}", digest.to_uppercase()), blob_id] {
            let dl = get(&w, &key, None);
            assert_eq!(dl.status(), 200, "{key}");
            assert_eq!(w.body(&dl), b"abcd");
            assert_eq!(dl.header("Cache-Control"), Some("public, max-age=300"), "bounded: a blob can be destroyed");
            assert_eq!(dl.header("Content-Disposition"), Some("attachment; filename=\"a.wav\""));
        }
        assert_eq!(get(&w, &"0".repeat(64), None).status(), 404);
        let st = w.send(Method::Get, &format!("/api/blobs/uploads/{id}/status"), &[BEARER], Vec::new());
        assert_eq!(st.status(), 404, "finished");
        assert_eq!(post(&w, &format!("/{id}/append"), &with_token, b"more").status(), 404, "append after complete");
    }

    #[test]
    fn only_portsip_blobs_are_public() {
        let w = World::new();
        // a tus file, indexed by digest for its tenant only
        let created = w.send(
            Method::Post,
            "/files/",
            &[
                BEARER,
                ("Tus-Resumable", "1.0.0"),
                ("Upload-Length", "7"),
                ("Content-Type", "application/offset+octet-stream"),
            ],
            &b"private"[..],
        );
        assert_eq!(created.status(), 201);
        let digest = hex::encode(Sha256::digest(b"private"));
        assert_eq!(get(&w, &digest, None).status(), 404);
        assert_eq!(get(&w, &digest, Some(BOBCO_BEARER)).status(), 404, "another tenant");
        assert_eq!(get(&w, &digest, Some(ACME_BEARER)).status(), 200, "its own tenant");
        assert_eq!(get(&w, &format!("sha256:{digest}"), Some(ACME_BEARER)).status(), 200);
    }

    #[test]
    fn another_tenants_copy_never_makes_a_blob_less_reachable() {
        let w = World::new();
        blob(&w, "?filename=keep.wav", ACME_BEARER, b"same bytes");
        let digest = hex::encode(Sha256::digest(b"same bytes"));
        // bobco uploads the same bytes as a temporary blob under another name
        blob(&w, "?filename=other.wav&temporary=True", BOBCO_BEARER, b"same bytes");
        let dl = get(&w, &digest, None);
        assert_eq!(dl.header("Content-Disposition"), Some("attachment; filename=\"keep.wav\""));
        w.advance((TEMPORARY_TTL + 1) * 1000);
        w.fire_alarms();
        let dl = get(&w, &digest, None);
        assert_eq!(dl.status(), 200, "the permanent blob is still served");
        assert_eq!(w.body(&dl), b"same bytes");
        // the same for a tenant's own index: an expiring copy does not displace a permanent one
        blob(&w, "?filename=short.wav&temporary=true", ACME_BEARER, b"same bytes");
        let own = get(&w, &digest, Some(ACME_BEARER));
        assert_eq!(own.header("Content-Disposition"), Some("attachment; filename=\"keep.wav\""));
        // but a temporary blob does give way to a permanent copy, and the opaque ids stay apart
        let temp = blob(&w, "?filename=t.wav&temporary=1", BOBCO_BEARER, b"other bytes");
        let perm = blob(&w, "?filename=p.wav", BOBCO_BEARER, b"other bytes");
        let other = hex::encode(Sha256::digest(b"other bytes"));
        assert_eq!(get(&w, &other, None).header("Content-Disposition"), Some("attachment; filename=\"p.wav\""));
        assert_ne!(temp, perm);
        assert_eq!(get(&w, &temp, None).header("Content-Disposition"), Some("attachment; filename=\"t.wav\""));
    }

    #[test]
    fn other_tenants_get_404_on_every_upload_route() {
        let w = World::new();
        let (id, token) = initiate(&w, "", ACME_BEARER);
        let bob = [("Authorization", BOBCO_BEARER), ("PortSIP-Upload-Token", token.as_str())];
        for op in ["append", "complete", "destroy"] {
            assert_eq!(post(&w, &format!("/{id}/{op}"), &bob, b"x").status(), 404, "{op}");
        }
        let st = w.send(Method::Get, &format!("/api/blobs/uploads/{id}/status"), &[bob[0]], Vec::new());
        assert_eq!(st.status(), 404);
        // the upload is untouched
        let st = w.send(Method::Get, &format!("/api/blobs/uploads/{id}/status"), &[BEARER], Vec::new());
        assert_eq!((st.status(), st.header("Range")), (204, Some("0-0")));
    }

    #[test]
    fn expired_uploads_are_404_and_a_body_with_bad_credentials_is_refused_at_once() {
        let w = World::new();
        let (id, token) = initiate(&w, "", ACME_BEARER);
        w.advance(w.config.idle_timeout * 1000);
        let r = post(&w, &format!("/{id}/append"), &[BEARER, ("PortSIP-Upload-Token", &token)], b"x");
        assert_eq!(r.status(), 404);
        let nf = w.send(Method::Get, "/api/blobs/a/b/c/d", &[], Vec::new());
        assert_eq!((nf.status(), World::json(&nf)["errors"][0]["code"].clone()), (404, json!("UNKNOWN")));
        let na = w.send(Method::Put, "/api/blobs/uploads", &[], Vec::new());
        assert_eq!((na.status(), na.header("Allow")), (405, Some("POST")));
        assert!(World::json(&na)["errors"].is_array(), "PortSIP's shape");
    }

    #[test]
    fn opaque_ids_look_like_portsip_ones_and_are_random() {
        let id = opaque_id();
        let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&id).unwrap()).unwrap();
        assert!(decoded.bytes().all(|b| b.is_ascii_digit()), "{decoded}");
        assert!(decoded.parse::<u64>().is_ok());
        assert_ne!(opaque_id(), opaque_id());
        assert_eq!(
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode("NzAwNTUxOTA5NzczMTQ4MTYw").unwrap())
                .unwrap(),
            "700551909773148160"
        );
    }

    #[test]
    fn booleans_in_any_case() {
        for (v, want) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("1", true),
            ("false", false),
            ("False", false),
            ("", false),
        ] {
            assert_eq!(parse_bool(Some(v), "temporary").unwrap(), want, "{v}");
        }
        assert!(!parse_bool(None, "t").unwrap());
        assert_eq!(parse_bool(Some("yes please"), "t").unwrap_err().status(), 400);
    }

    #[test]
    fn range_header_is_last_byte_inclusive() {
        let new = NewUpload { token: Some(Secret::new("tok")), ..NewUpload::new("i", "t", Vendor::Portsip, "", "x/y") };
        let mut st = UploadState::new(new, 5 << 20, 1 << 30, 60, 0).unwrap();
        let range = |st: &UploadState| upload_headers(st).into_iter().find(|(k, _)| *k == "Range").unwrap().1;
        assert_eq!(range(&st), "0-0");
        st.offset = 8;
        assert_eq!(range(&st), "0-7");
    }

    #[test]
    fn errors_have_the_vendor_shape() {
        let r = error_reply(&Error::DigestMismatch);
        assert_eq!(r.status(), 400);
        assert_eq!(World::json(&r)["errors"][0]["code"], "VALIDATE_FAILED");
        let r = error_reply(&Error::Forbidden("x".into()));
        assert_eq!(r.status(), 403);
        assert_eq!(World::json(&r)["errors"][0]["code"], "UNKNOWN");
    }
}
