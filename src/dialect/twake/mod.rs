//! Twake (Linagora) company files (compat-spec §3), under `/internal/services/files/v1/`:
//! single uploads, chunked uploads in any order and in parallel (resumable.js's parameters,
//! from the query only), metadata, download, thumbnails and delete, in `{"resource": ...}`
//! envelopes with epoch-millisecond times. `Authorization: Bearer <JWT>` (HS256 with the
//! tenant's `twake` key, [`crate::auth::KeyKind::Twake`]; a Twake access token: `type:
//! "access"`, `sub` the user, `nbf` passed, a life from `iat` to `exp` of at most 30 days) on
//! every route but download and thumbnails, which are open, as the vendor has them, for this
//! dialect's files. Errors in fastify's shape.
//! CORS as the vendor's fastify-cors: `Access-Control-Allow-Origin: *` on every answer, errors
//! included ([`cors()`], added in `dialect::with_dialect_headers`), and a preflight on every path.
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
//! This folder translates, the engine does the I/O: the endpoints ([`table`]), CORS
//! ([`cors`](mod@cors)), the caller and its company ([`auth`]), a chunk's request ([`chunk`]), the
//! vendor's JSON ([`reply`]); a file's chunks are staged, assembled, thumbnailed, opened and
//! deleted by [`crate::engine::chunked`], and a file's state while its chunks land is its
//! ledger object's ([`crate::engine::ledger::twake`], which also says how chunks become one
//! R2 object).

pub mod auth;
pub mod chunk;
pub mod cors;
pub mod reply;
pub mod table;

pub use cors::cors;
pub use reply::{error_reply, resource};
pub use table::{PREFIX, TABLE};

use futures_util::StreamExt;

use super::{download_reply_as, fetch_whole, Reply, Request, Service};
use crate::engine::chunked::{self, assembly, call};
use crate::engine::file::ids::{http_date, new_uuid};
use crate::engine::ledger::twake::{Phase, TwakeAnswer, TwakeCall, TwakeFile, FILE_NOT_FOUND};
use crate::error::{Error, Result};
use crate::http::disposition::DispositionKind;
use crate::http::download::CachePolicy;
use crate::route::PathParam;
use crate::store::{Body, Platform};

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

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    let (ctx, uploads) = (svc.ctx, svc.objects);
    if op == Op::Options {
        return Ok(cors::preflight(req));
    }
    let cid = auth::company(req)?;
    match op {
        Op::Download => return download(svc, req, &cid).await,
        Op::Thumbnail => return thumbnail(svc, req, &cid).await,
        _ => {}
    }
    let who = auth::caller(req, ctx.config, ctx.now())?;
    req.acting_as(&who.tenant);
    ctx.check_active(&who.tenant).await?;
    auth::check_company(ctx.config, &who, &cid)?;
    if op == Op::Upload {
        let file = TwakeFile::new(&new_uuid(), &who.tenant.0, &cid, &who.user, ctx.now());
        let id = file.id.clone();
        call(uploads, &cid, &id, TwakeCall::Create { file: Box::new(file.clone()) }).await?;
        return match chunk::chunk(svc, req, &who, &cid, &id, P::read(body), true).await? {
            Some(file) => Ok(resource(&file)),
            None => Ok(resource(&file)),
        };
    }
    let id = req.path_uuid(PathParam::Id, FILE_NOT_FOUND)?;
    let mine =
        |a: TwakeAnswer| if a.file.tenant == who.tenant.0 { Ok(a) } else { Err(Error::not_found(FILE_NOT_FOUND)) };
    match op {
        Op::Chunk => {
            let a = mine(call(uploads, &cid, &id, TwakeCall::Peek).await?)?;
            if matches!(a.file.phase, Phase::Done { .. }) {
                // users cannot overwrite a file: a chunk for a finished one (a retry whose
                // answer was lost, most likely) is read, dropped, and answered with the file
                let mut body = P::read(body);
                while let Some(chunk) = body.next().await {
                    chunk?;
                }
                return Ok(resource(&a.file));
            }
            let file = chunk::chunk(svc, req, &who, &cid, &id, P::read(body), false).await?;
            let file = file.ok_or_else(|| Error::bad_request("file missing"))?;
            Ok(resource(&file))
        }
        Op::Get => {
            let a = mine(call(uploads, &cid, &id, TwakeCall::Get).await?)?;
            let file = if a.assemble { assembly::assemble(ctx, uploads, a.file).await? } else { a.file };
            Ok(resource(&file))
        }
        Op::Delete => {
            let a = mine(call(uploads, &cid, &id, TwakeCall::Peek).await?)?;
            delete_file(svc, &a.file.tenant, &cid, &id).await?;
            Ok(Reply::json(200, serde_json::json!({"status": "success"})))
        }
        Op::Upload | Op::Download | Op::Thumbnail | Op::Options => unreachable!("answered above"),
    }
}

/// Deletes file `id` of company `cid` (its owner checked by the caller): its object, then its
/// bytes, staged chunks and thumbnails (`DELETE /v1/files/{id}` too).
pub async fn delete_file<P: Platform>(svc: &Service<'_, P>, tenant: &str, cid: &str, id: &str) -> Result<()> {
    chunked::delete::delete_file(svc.ctx, svc.objects, tenant, cid, id).await
}

/// `GET .../download`: open; `409` while chunks are missing (the engine assembles a file whose
/// assembly is due).
async fn download<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, cid: &str) -> Result<Reply> {
    let id = req.path_uuid(PathParam::Id, FILE_NOT_FOUND)?;
    let opened = chunked::open::file(svc.ctx, svc.objects, cid, &id, fetch_whole(req.head, req.method)).await?;
    // the vendor's year, bounded: a Twake file can be deleted
    Ok(download_reply_as(opened, req.head, req.method, svc.ctx.public_cache(None), DispositionKind::Attachment))
}

/// `GET .../thumbnails/{index}`: open, `inline`, cached as long as a deletable file may be.
async fn thumbnail<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, cid: &str) -> Result<Reply> {
    let ctx = svc.ctx;
    let id = req.path_uuid(PathParam::Id, FILE_NOT_FOUND)?;
    let index = crate::http::range::digits(req.params.get(PathParam::Index)).and_then(|i| u32::try_from(i).ok());
    let index = index.ok_or_else(|| Error::not_found("Thumbnail not found"))?;
    let opened = chunked::open::thumbnail(ctx, cid, &id, index, fetch_whole(req.head, req.method)).await?;
    let cache = ctx.public_cache(None);
    let max_age = match cache {
        CachePolicy::Public { max_age } => max_age,
        CachePolicy::Private => 0,
    };
    let expires = http_date(ctx.now() + max_age * 1000);
    let reply = download_reply_as(opened, req.head, req.method, cache, DispositionKind::Inline);
    Ok(reply.with_headers(&[("Expires", expires)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::keys;
    use crate::engine::jwt;
    use crate::route::Method;
    use crate::testkit::{World, ACME_JWT_SECRET, BOBCO_JWT_SECRET};
    use serde_json::{json, Value};

    pub(super) const CID: &str = "6b2f8f0e-0000-4c0a-9f55-0e3c1f7a9b21";

    pub(super) fn jwt(secret: &str, sub: &str, w: &World) -> String {
        let c = json!({"sub": sub, "exp": w.now() / 1000 + 3600, "type": "access"});
        format!("Bearer {}", jwt::sign(c.as_object().unwrap(), secret.as_bytes()))
    }

    pub(super) fn multipart(name: &str, mime: &str, data: &[u8]) -> Vec<u8> {
        let mut b = format!(
            "--TB\r\nContent-Disposition: form-data; name=\"resumableChunkNumber\"\r\n\r\n99\r\n\
             --TB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .into_bytes();
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n--TB--\r\n");
        b
    }

    pub(super) fn post(w: &World, path: &str, auth: &str, body: Vec<u8>) -> Reply {
        let ct = if body.is_empty() { "application/json" } else { "multipart/form-data; boundary=TB" };
        let len = body.len().to_string();
        w.send(
            Method::Post,
            &format!("{PREFIX}{path}"),
            &[("Authorization", auth), ("Content-Type", ct), ("Content-Length", &len)],
            body,
        )
    }

    pub(super) fn get(w: &World, path: &str, auth: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        w.send(Method::Get, &format!("{PREFIX}{path}"), &headers, Vec::new())
    }

    pub(super) fn res(r: &Reply) -> Value {
        assert_eq!(r.status(), 200, "{r:?}");
        World::json(r)["resource"].clone()
    }

    pub(super) fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    pub(super) fn delete(w: &World, path: &str, auth: &str) -> Reply {
        w.send(Method::Delete, &format!("{PREFIX}{path}"), &[("Authorization", auth)], Vec::new())
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
}
