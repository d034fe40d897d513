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
                ctx.drop_held(&held).await;
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
    use crate::testkit::{World, ACME_BASIC, ACME_BEARER, BOBCO_BASIC};
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

        // on the request path: the object (with everything a download needs) and its account
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
        assert!(w.meta.keys("").is_empty(), "no KV write");
        assert_eq!(w.scheduled("acme"), vec![(w.now() + 60_000, id.to_string())]);
        assert_eq!(w.indexed("acme", &record.sha256).as_deref(), Some(id));

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
        assert!(w.scheduled("acme").is_empty());
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
    fn a_failed_publication_leaves_nothing_and_answers_503() {
        let w = World::new();
        w.ledger("account:acme").fail.borrow_mut().push("write:f");
        let r = post(&w, "", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"hello")]));
        assert_eq!(r.status(), 503);
        assert!(w.blobs.objects.borrow().is_empty(), "the bytes are dropped");
        let usage = World::json(&w.send(Method::Get, "/v1/usage", &[("Authorization", ACME_BASIC)], Vec::new()));
        assert_eq!((usage["files"].as_u64(), usage["uploads_in_progress"].as_u64()), (Some(0), Some(0)));
    }

    #[test]
    fn an_upload_is_listed_indexed_and_scheduled_when_it_answers_with_no_kv_write() {
        let w = World::new();
        let up = World::json(&post(&w, "?ttl=600", Some(ACME_BASIC), form(&[("file", Some("a.txt"), b"kept")])));
        let id = up["id"].as_str().unwrap().to_string();
        assert!(w.meta.keys("").is_empty(), "no KV key at all: {:?}", w.meta.keys(""));
        let listed = World::json(&w.send(Method::Get, "/v1/files", &[("Authorization", ACME_BASIC)], Vec::new()));
        assert_eq!(listed["files"][0]["id"], id.as_str());
        w.advance(600_000);
        assert_eq!(w.sweep().expired, 1);
        assert!(w.blobs.object(&keys::expiring_object(&id)).is_none());
        assert_eq!(w.meta.keys(""), vec![keys::file(&id)], "its tombstone: the one KV write of its life");
        assert_eq!(get(&w, &id).status(), 410);
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
        // the alarm deletes the first's bytes, then fails writing its tombstone
        w.meta.faults.fail("put:file", 1);
        let account = w.ledger("account:acme");
        assert!(w.ctx().account_alarm(&*account).now_or_never().unwrap().is_err());
        assert!(!alive(&ids[0]) && alive(&ids[1]));
        let listed = World::json(&w.send(Method::Get, "/v1/files", &[("Authorization", ACME_BASIC)], Vec::new()));
        assert_eq!(listed["files"].as_array().unwrap().len(), 3, "the first is past its time, not forgotten");
        // the next alarm finishes it; the second (61 s) is not due at 60.5 s
        assert_eq!(w.sweep().expired, 1);
        assert_eq!(get(&w, &ids[0]).status(), 410);
        assert!(alive(&ids[1]), "nothing before its expires_at, though in the same minute");
        w.advance(500);
        assert_eq!(w.sweep().expired, 1);
        assert!(!alive(&ids[1]) && alive(&ids[2]) && alive(&ids[3]));
        w.advance(59_000);
        assert_eq!(w.sweep(), Swept { expired: 1, ..Swept::default() });
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

    /// The life of a small file (upload, one download, expiry), counted as Cloudflare bills
    /// it: `bench/cost.py` prints these counts (the line `COST {...}`) and the bill they make.
    #[test]
    fn a_small_files_life_costs_one_kv_write_and_two_object_requests() {
        let w = World::new();
        // a tenant's first call imports what KV listed before accounts: one list, once
        let usage = w.send(Method::Get, "/v1/usage", &[("Authorization", ACME_BASIC)], Vec::new());
        assert_eq!((usage.status(), w.counts().kv_lists), (200, 1));
        let before = w.counts();
        let up = post(&w, "?ttl=3600", Some(ACME_BASIC), form(&[("file", Some("a.bin"), &[7u8; 1024])]));
        let id = World::json(&up)["id"].as_str().unwrap().to_string();
        let upload = w.counts().since(&before);
        assert_eq!(get(&w, &id).status(), 200);
        let download = w.counts().since(&before).since(&upload);
        w.advance(3_600_000);
        assert_eq!(w.fire_account_alarms().expired, 1);
        let life = w.counts().since(&before);
        println!("COST {}", json!({"upload": upload, "download": download, "life": life}));
        assert_eq!((upload.kv_writes, upload.object_requests, upload.r2_class_a), (0, 2, 1), "{upload:?}");
        assert_eq!(download.subrequests(), 1, "one R2 read: {download:?}");
        assert_eq!(life.kv_writes, 1, "its tombstone, the one KV write of its life: {life:?}");
        assert_eq!((life.kv_lists, life.object_requests, life.object_alarms), (0, 2, 1), "{life:?}");
        assert_eq!((life.r2_class_a, life.r2_class_b), (1, 1), "as a raw worker's put and get: {life:?}");
    }

    /// No request makes more calls to the platform's bindings than the Free plan allows
    /// (1,000 subrequests to Cloudflare's services): the largest one-request upload the plan
    /// takes (100 MB), and its download.
    #[test]
    fn the_largest_request_stays_within_the_subrequest_limit() {
        let w = World::new();
        let big = vec![5u8; 100_000_000];
        let before = w.counts();
        let up = post(&w, "?ttl=3600", Some(ACME_BASIC), form(&[("file", Some("big.bin"), &big)]));
        assert_eq!(up.status(), 200);
        let upload = w.counts().since(&before);
        assert!(upload.subrequests() <= 50, "{} subrequests: {upload:?}", upload.subrequests());
        let id = World::json(&up)["id"].as_str().unwrap().to_string();
        let before = w.counts();
        assert_eq!(get(&w, &id).status(), 200);
        assert!(w.counts().since(&before).subrequests() <= 2);
    }
}
