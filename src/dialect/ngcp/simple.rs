//! NGCP's simple upload (compat-spec §1), at `/` and `/rtc/fileshare`.
//!
//! `POST /uploads`: multipart form, field `file` (mandatory) and `ttl` (seconds, optional;
//! `?ttl=` also works), HTTP Basic mandatory. `GET /uploads/{id}`: the bytes, or exactly
//! `410 {"message":"upload expired"}` once the TTL has passed; the id is the capability, and
//! only NGCP simple uploads are served there. Errors are `{"message": ...}` ([`super::error_reply`]).

use serde_json::json;

use super::{FILE_MISSING, PREFIXES, TTL};
use crate::dialect::Op::Ngcp;
use crate::dialect::{download_reply, fetch_whole, form, Dialect, Reply, Request, Service};
use crate::engine::file::ids::{iso8601_ms, new_uuid, parse_uuid};
use crate::engine::file::record::Access;
use crate::engine::file::record::{content_type_or_guess, FileRecord, Vendor};
use crate::engine::file::visibility::Via;
use crate::engine::upload::state::{UPLOAD_EXPIRED, UPLOAD_NOT_FOUND};
use crate::engine::{file::expiry, Expiry, Held, Missing, NewFile};
use crate::error::{Error, Result};
use crate::http::disposition::last_path_segment;
use crate::route::{row, PathParam, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD, MULTIPART, RANGE_HEADERS};
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Upload,
    Download,
}

pub const TABLE: Table<Dialect, crate::dialect::Op> = Table {
    dialect: Dialect::Ngcp,
    prefixes: PREFIXES,
    method_override: false,
    endpoints: &[
        row!(Post "/uploads", Ngcp(Op::Upload), Tenant, Read,
            "Simple upload: multipart `file` (mandatory) and `ttl` seconds (optional, also `?ttl=`).")
        .with(Spec::DEFAULT.takes(MULTIPART).query(TTL)),
        row!(Get "/uploads/{id}", Ngcp(Op::Download), Capability, None, "Simple download: the id is the share link.")
            .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[410, 416])),
        row!(Head "/uploads/{id}", Ngcp(Op::Download), Capability, None, "Simple download, headers only.")
            .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[410, 416])),
    ],
};

const MISSING: Missing = Missing { not_found: UPLOAD_NOT_FOUND, expired: UPLOAD_EXPIRED };

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    match op {
        Op::Upload => upload(svc, req, P::read(body)).await,
        Op::Download => download(svc, req).await,
    }
}

/// The upload JSON of compat-spec §1: snake_case, a superset any client reading `id` likes.
pub fn upload_json(r: &FileRecord) -> serde_json::Value {
    let created = iso8601_ms(r.created_at);
    json!({
        "id": r.id,
        "name": r.name,
        "mime_type": r.content_type,
        "size": r.size,
        "sha256": r.sha256,
        "ttl": r.ttl,
        "state": "uploaded",
        "created_at": created,
        "updated_at": created,
        "expires_at": r.expires_at.map(iso8601_ms),
    })
}

/// `POST /uploads`.
async fn upload<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    body: crate::engine::upload::calls::ByteStream,
) -> Result<Reply> {
    let (ctx, head) = (svc.ctx, req.head);
    let tenant = req.tenant()?;
    let max = ctx.config.max_file_size;
    form::check_length(head, max)?;
    let boundary = form::boundary(head).ok_or_else(|| Error::bad_request(FILE_MISSING))?;
    let mut form = form::open(body, boundary, "file", max, ctx.config.max_request_body);

    let mut written: Option<Held> = None;
    let mut ttl_field: Option<String> = None;
    let outcome: Result<()> = async {
        while let Some(mut field) = form.next_field().await.map_err(|e| form::form_error(e, max))? {
            match field.name() {
                Some("file") if written.is_none() => {
                    let name = field.file_name().map(last_path_segment).filter(|n| !n.is_empty()).unwrap_or("upload");
                    let declared = field.content_type().map(|m| m.essence_str().to_string());
                    let new = NewFile {
                        tenant: tenant.clone(),
                        id: new_uuid(),
                        name: name.to_string(),
                        content_type: content_type_or_guess(declared.as_deref(), name),
                        vendor: Vendor::Ngcp,
                        access: Access::ShareLink,
                        extra: Default::default(),
                        length_hint: head.content_length(),
                        expiring: true,
                        mutable: false,
                    };
                    written = Some(ctx.write_file(&new, form::stream(&mut field, max)).await?);
                }
                Some("ttl") => ttl_field = Some(form::read_text(&mut field, max).await?),
                _ => form::skip(&mut field, max).await?,
            }
        }
        Ok(())
    }
    .await;

    let ttl = outcome.and_then(|()| {
        let value = ttl_field.or_else(|| head.query_param("ttl"));
        expiry::parse_ttl(value.as_deref(), ctx.config.upload_ttl, ctx.config.max_ttl)
    });
    let held = match (ttl, written) {
        (Ok(ttl), Some(held)) => (held, ttl),
        (Ok(_), None) => return Err(Error::bad_request(FILE_MISSING)),
        (Err(e), written) => {
            if let Some(held) = written {
                ctx.discard(&held.template.r2_key).await;
            }
            return Err(e);
        }
    };
    // the bytes under their complete metadata, then the one record write: the journal entry
    // from which the expiry entry and the digest index, written after the answer, are redone
    // should they be lost
    let record = ctx.keep_file(held.0, Expiry::After(held.1)).await?;
    Ok(Reply::json(200, upload_json(&record)))
}

/// The shared cache's path for a download of upload `id` (one for every spelling of it and
/// both URL spaces): [`crate::engine::catalog::listing::public_paths`] purges the same.
pub fn cache_path(id: &str) -> Option<String> {
    parse_uuid(id).map(|id| format!("/uploads/{id}"))
}

/// `GET|HEAD /uploads/{id}`: no credentials needed, the id is the capability.
async fn download<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>) -> Result<Reply> {
    let ctx = svc.ctx;
    let id = req.path_uuid(PathParam::Id, UPLOAD_NOT_FOUND)?;
    let opened = ctx.open_expiring(&id, Via::ShareLink, None, MISSING, fetch_whole(req.head, req.method)).await?;
    let cache = ctx.public_cache(opened.record.expires_at);
    Ok(download_reply(opened, req.head, req.method, cache))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::catalog::sweep::Swept;
    use crate::engine::file::keys;
    use crate::engine::file::record::FromObject;
    use crate::http::download::BodyPlan;
    use crate::route::Method;
    use crate::store::BlobStore;
    use crate::testkit::{World, ACME_BASIC, ACME_BEARER, BOBCO_BASIC, T0};
    use futures_executor::block_on;
    use futures_util::FutureExt;
    use sha2::{Digest, Sha256};

    const BOUNDARY: &str = "XyZ";

    fn form(fields: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, filename, data) in fields {
            b.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
            if let Some(f) = filename {
                b.extend_from_slice(format!("; filename=\"{f}\"\r\nContent-Type: text/plain").as_bytes());
            }
            b.extend_from_slice(b"\r\n\r\n");
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        b
    }

    fn post(w: &World, query: &str, auth: Option<&str>, body: Vec<u8>) -> Reply {
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let len = body.len().to_string();
        let mut headers = vec![("Content-Type", ct.as_str()), ("Content-Length", len.as_str())];
        headers.extend(auth.map(|a| ("Authorization", a)));
        w.send(Method::Post, &format!("/rtc/fileshare/uploads{query}"), &headers, body)
    }

    fn get(w: &World, id: &str) -> Reply {
        w.send(Method::Get, &format!("/uploads/{id}"), &[], Vec::new())
    }

    #[test]
    fn upload_then_download_then_expire() {
        let w = World::new();
        let reply = post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"hello"), ("ttl", None, b"60")]));
        assert_eq!(reply.status(), 200);
        let up = World::json(&reply);
        assert_eq!(up["size"], 5);
        assert_eq!(up["ttl"], 60);
        assert_eq!(up["name"], "a.txt");
        assert_eq!(up["mime_type"], "text/plain");
        assert_eq!(up["sha256"], hex::encode(Sha256::digest(b"hello")));
        assert_eq!(up["created_at"], "2024-05-02T10:00:00.000Z");
        assert_eq!(up["expires_at"], "2024-05-02T10:01:00.000Z");
        let id = up["id"].as_str().unwrap();

        // on the request path: the object (with everything a download needs) and one journal entry
        let key = keys::expiring_object(id);
        assert_eq!(w.blobs.object(&key).unwrap(), b"hello");
        let FromObject::Record(record) = FileRecord::from_object(&key, &block_on(w.blobs.head(&key)).unwrap().unwrap())
        else {
            panic!("the object's metadata describes its file")
        };
        assert_eq!(
            (record.name.as_str(), record.expires_at, record.access()),
            ("a.txt", Some(w.now() + 60_000), Access::ShareLink)
        );
        assert_eq!(w.meta.keys("new:").len(), 1, "one journal entry");
        // after the answer: the expiry entry (kept past expiry + grace) and the digest index
        let expiry = keys::expiry(w.now() + 60_000, id);
        assert_eq!(w.meta.entries.borrow()[&expiry].1, Some(60 + w.config.grace));
        assert!(w.meta.value(&keys::digest("acme", &record.sha256)).unwrap().contains(id));
        assert!(w.meta.value(&keys::file(id)).is_none(), "no record while the file lives: R2 has it");

        let reads = w.blobs.reads.get();
        let dl = get(&w, id);
        assert_eq!(dl.status(), 200);
        assert_eq!(w.blobs.reads.get() - reads, 1, "a download is one R2 read");
        assert!(matches!(&dl, Reply::Download { plan, body: Some(_), .. } if plan.body == BodyPlan::Whole));
        assert_eq!(w.body(&dl), b"hello");
        assert_eq!(dl.header("Cache-Control"), Some("public, max-age=60"), "public, never past its expiry");
        let head = w.send(Method::Head, &format!("/uploads/{id}"), &[], Vec::new());
        assert!(
            matches!(&head, Reply::Download { plan, body: None, .. } if plan.body == BodyPlan::None && plan.status == 200)
        );
        w.advance(59_999);
        assert_eq!(get(&w, id).status(), 200);
        w.advance(1);
        let gone = get(&w, id);
        assert_eq!(gone.status(), 410, "expired by its metadata, before the sweep");
        assert_eq!(World::json(&gone), json!({"message": "upload expired"}));
        // the sweep deletes the bytes; the tombstone answers 410
        assert_eq!(w.sweep().expired, 1);
        assert!(w.blobs.object(&key).is_none());
        assert!(w.meta.value(&expiry).is_none());
        assert_eq!(get(&w, id).status(), 410);
        w.advance(w.config.grace * 1000);
        w.meta.entries.borrow_mut().retain(|_, (_, ttl, _)| ttl.is_none_or(|t| t > w.config.grace));
        assert_eq!(get(&w, id).status(), 404, "once the grace has passed");
    }

    #[test]
    fn ttl_defaults_and_query_and_cap() {
        let w = World::new();
        let file = form(&[("file", Some("a.txt"), b"x")]);
        assert_eq!(World::json(&post(&w, "", Some(ACME_BASIC), file.clone()))["ttl"], 3600);
        assert_eq!(World::json(&post(&w, "?ttl=5", Some(ACME_BEARER), file.clone()))["ttl"], 5);
        assert_eq!(World::json(&post(&w, "?ttl=99999999", Some(ACME_BASIC), file))["ttl"], 604800);
    }

    #[test]
    fn bad_requests() {
        let w = World::new();
        let file = form(&[("file", Some("a.txt"), b"x")]);
        let no_auth = post(&w, "", None, file.clone());
        assert_eq!(no_auth.status(), 401);
        assert_eq!(no_auth.header("WWW-Authenticate"), Some("Basic realm=\"fileshare\""));
        assert_eq!(World::json(&no_auth), json!({"message": "unauthorized"}));
        assert_eq!(post(&w, "", Some("Basic Zm9vOmJheg=="), file).status(), 401);

        let r = post(&w, "", Some(ACME_BASIC), form(&[("ttl", None, b"5")]));
        assert_eq!((r.status(), World::json(&r)), (400, json!({"message": "file missing"})));
        assert_eq!(post(&w, "", Some(ACME_BASIC), b"not a form".to_vec()).status(), 400);
        let long_ttl = "1".repeat(9000);
        let r =
            post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"x"), ("ttl", None, long_ttl.as_bytes())]));
        assert_eq!(r.status(), 400, "a text field is capped");

        // a bad ttl after the file: 400, and the bytes already written are removed
        let before = w.blobs.objects.borrow().len();
        let r = post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"x"), ("ttl", None, b"0")]));
        assert_eq!(r.status(), 400);
        assert_eq!(w.blobs.objects.borrow().len(), before);

        // a name storage would refuse: 400 at once, nothing stored
        let long = "n".repeat(300);
        let r = post(&w, "", Some(ACME_BASIC), form(&[("file", Some(&long), b"x")]));
        assert_eq!(r.status(), 400);
        assert_eq!(w.blobs.objects.borrow().len(), before);

        assert_eq!(
            World::json(&get(&w, "88e5905d-5d96-4750-ab3d-77a1ed26f569")),
            json!({"message": "upload not found"})
        );
        assert_eq!(get(&w, "..%2Fetc").status(), 404);
    }

    #[test]
    fn oversize_is_413_and_leaves_nothing() {
        let mut w = World::new();
        w.config.max_file_size = 10;
        let r = post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), &[b'x'; 11])]));
        assert_eq!(r.status(), 413);
        assert!(w.blobs.objects.borrow().is_empty());
        assert!(w.meta.entries.borrow().is_empty());
        assert_eq!(post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), &[b'x'; 10])])).status(), 200);
        // with a request body limit, a larger body is 413 before anything is read
        w.config.max_file_size = 1 << 20;
        w.config.max_request_body = Some(100);
        let r = post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), &[b'x'; 200])]));
        assert_eq!(r.status(), 413);
        assert!(World::json(&r)["message"].as_str().unwrap().contains("request body"));
    }

    #[test]
    fn a_failed_journal_write_leaves_nothing_and_answers_503() {
        let w = World::new();
        w.meta.faults.fail("put:new", 1);
        let r = post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"hello")]));
        assert_eq!(r.status(), 503);
        assert!(w.blobs.objects.borrow().is_empty(), "the bytes are dropped");
    }

    #[test]
    fn lost_writes_after_the_answer_are_redone_by_the_sweep() {
        let w = World::new();
        w.lose_later.set(true);
        let up = World::json(&post(&w, "?ttl=600", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"lost")])));
        let id = up["id"].as_str().unwrap().to_string();
        let sha = up["sha256"].as_str().unwrap().to_string();
        assert!(
            w.meta.keys("exp:").is_empty() && w.meta.keys("sha256:").is_empty(),
            "the writes after the answer were lost"
        );
        assert_eq!(get(&w, &id).status(), 200, "the file is served all the same, from R2");
        // the sweep goes through the journal two minutes later
        w.advance(60_000);
        assert_eq!(w.sweep().repaired, 0, "not yet: they may still be on their way");
        w.advance(60_000);
        assert_eq!(w.sweep().repaired, 1);
        assert_eq!(w.meta.keys("exp:"), vec![keys::expiry(T0 + 600_000, &id)]);
        assert!(w.meta.value(&keys::digest("acme", &sha)).unwrap().contains(&id));
        assert_eq!(w.sweep().repaired, 0, "each journal minute once");
        // and the file still expires on time
        w.advance(600_000);
        assert_eq!(w.sweep().expired, 1);
        assert!(w.blobs.object(&keys::expiring_object(&id)).is_none());
    }

    #[test]
    fn a_sweep_that_stops_half_way_is_finished_by_the_next_and_deletes_nothing_early() {
        let w = World::new();
        let ids: Vec<String> = [60u64, 61, 120, 3600]
            .iter()
            .map(|ttl| {
                let up = post(&w, &format!("?ttl={ttl}"), Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"x")]));
                World::json(&up)["id"].as_str().unwrap().to_string()
            })
            .collect();
        let alive = |id: &str| w.blobs.object(&keys::expiring_object(id)).is_some();
        w.advance(60_500);
        // the sweep deletes the first's bytes, then fails writing its tombstone
        w.meta.faults.fail("put:file", 1);
        assert!(w.ctx().sweep().now_or_never().unwrap().is_err());
        assert!(!alive(&ids[0]) && alive(&ids[1]));
        assert!(
            w.meta.keys("exp:").contains(&keys::expiry(T0 + 60_000, &ids[0])),
            "its key is left for the next sweep"
        );
        // the next sweep finishes it; the second (61 s) is not due at 60.5 s
        assert_eq!(w.sweep().expired, 1);
        assert_eq!(get(&w, &ids[0]).status(), 410);
        assert!(alive(&ids[1]), "nothing before its expires_at, though in the same minute");
        w.advance(500);
        assert_eq!(w.sweep().expired, 1);
        assert!(!alive(&ids[1]) && alive(&ids[2]) && alive(&ids[3]));
        w.advance(59_000);
        assert_eq!(w.sweep(), Swept { expired: 1, repaired: 0 }, "the journal does not bring back what was swept");
        assert!(!alive(&ids[2]) && alive(&ids[3]));
        assert!(ids[..3].iter().all(|id| get(&w, id).status() == 410));
    }

    #[test]
    fn share_links_serve_ngcp_uploads_to_anyone_and_other_tenants_see_their_own() {
        let w = World::new();
        let up = World::json(&post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"shared")])));
        let id = up["id"].as_str().unwrap();
        let with = |auth: &str| w.send(Method::Get, &format!("/uploads/{id}"), &[("Authorization", auth)], Vec::new());
        assert_eq!(with(BOBCO_BASIC).status(), 200, "a share link is a share link");
        assert_eq!(with("Basic garbage").status(), 200, "credentials are not looked at");
    }
}
