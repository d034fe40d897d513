//! Sipwise NGCP "RTC fileshare" simple upload (compat-spec §1), at `/` and `/rtc/fileshare`.
//!
//! `POST /uploads`: multipart form, field `file` (mandatory) and `ttl` (seconds, optional;
//! `?ttl=` also works), HTTP Basic mandatory. `GET /uploads/{id}`: the bytes, or exactly
//! `410 {"message":"upload expired"}` once the TTL has passed. Errors are `{"message": ...}`.

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use serde_json::json;

use super::{Head, Reply};
use crate::engine::files::{content_type_or_guess, FileRecord};
use crate::engine::ids::{is_uuid, iso8601_ms, random_bytes, uuid_v4};
use crate::engine::{expiry, Ctx, NewFile};
use crate::error::{Error, Result};
use crate::http::disposition::last_path_segment;
use crate::http::download::CachePolicy;
use crate::store::{BlobStore, Janitor, MetaStore};

pub const UPLOAD_NOT_FOUND: &str = "upload not found";
pub const UPLOAD_EXPIRED: &str = "upload expired";
const FILE_MISSING: &str = "file missing";
/// Room for the multipart envelope around the file when checking `Content-Length`.
const FORM_OVERHEAD: u64 = 64 * 1024;
/// Longest value read from a text field such as `ttl`.
const MAX_TEXT_FIELD: usize = 1024;

/// `{"message": ...}` with the error's status, and the Basic challenge on 401.
pub fn error_reply(e: &Error) -> Reply {
    let mut headers = Vec::new();
    if matches!(e, Error::Unauthorized) {
        headers.push(("WWW-Authenticate", "Basic realm=\"fileshare\"".to_string()));
    }
    Reply::Json { status: e.status(), headers, body: json!({ "message": e.message() }) }
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
pub async fn upload<B, M, J, S>(ctx: &Ctx<'_, B, M, J>, head: &Head, body: S) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
    J: Janitor,
    S: Stream<Item = Result<Bytes>> + Send + 'static,
{
    let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
    let max = ctx.config.max_file_size;
    if head.content_length().is_some_and(|len| len > max + FORM_OVERHEAD) {
        return Err(Error::TooLarge { max });
    }
    let boundary = head
        .header("content-type")
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| Error::bad_request(FILE_MISSING))?;
    let mut form = multer::Multipart::new(body, boundary);

    let mut written: Option<FileRecord> = None;
    let mut ttl_field: Option<String> = None;
    let outcome: Result<()> = async {
        while let Some(mut field) = form.next_field().await.map_err(malformed)? {
            match field.name() {
                Some("file") if written.is_none() => {
                    let name = field.file_name().map(last_path_segment).filter(|n| !n.is_empty()).unwrap_or("upload");
                    let declared = field.content_type().map(|m| m.essence_str().to_string());
                    let new = NewFile {
                        tenant: tenant.clone(),
                        id: uuid_v4(random_bytes()),
                        name: name.to_string(),
                        content_type: content_type_or_guess(declared.as_deref(), name),
                        dialect: "ngcp",
                        length_hint: head.content_length(),
                    };
                    let stream = (&mut field).map_err(malformed).boxed_local();
                    let (record, _) = ctx.write_file(&new, stream).await?;
                    written = Some(record);
                }
                Some("ttl") => ttl_field = Some(read_text(&mut field).await?),
                _ => while field.chunk().await.map_err(malformed)?.is_some() {},
            }
        }
        Ok(())
    }
    .await;

    let ttl = outcome.and_then(|()| {
        let value = ttl_field.or_else(|| head.query_param("ttl"));
        expiry::parse_ttl(value.as_deref(), ctx.config.upload_ttl, ctx.config.max_ttl)
    });
    let record = match (ttl, written) {
        (Ok(ttl), Some(record)) => ctx.commit_file(record, Some(ttl)).await?,
        (Ok(_), None) => return Err(Error::bad_request(FILE_MISSING)),
        (Err(e), written) => {
            if let Some(record) = written {
                ctx.discard(&record).await;
            }
            return Err(e);
        }
    };
    Ok(Reply::json(200, upload_json(&record)))
}

/// `GET|HEAD /uploads/{id}`: no credentials needed, the id is the capability.
pub async fn download<B, M, J>(ctx: &Ctx<'_, B, M, J>, head: &Head, id: &str) -> Result<Reply>
where
    B: BlobStore,
    M: MetaStore,
    J: Janitor,
{
    if !is_uuid(id) {
        return Err(Error::not_found(UPLOAD_NOT_FOUND));
    }
    let record = ctx.live_file(&id.to_ascii_lowercase(), UPLOAD_NOT_FOUND, UPLOAD_EXPIRED).await?;
    Ok(super::download_reply(&record, head, CachePolicy::Private))
}

fn malformed<E: std::fmt::Display>(e: E) -> Error {
    Error::bad_request(format!("malformed multipart body: {e}"))
}

async fn read_text(field: &mut multer::Field<'_>) -> Result<String> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        if text.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(Error::bad_request("form field too long"));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text).map_err(|_| Error::bad_request("form field is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{credential_hash, Credentials};
    use crate::config::Config;
    use crate::http::auth_header::Presented;
    use crate::http::download::BodyPlan;
    use crate::route::Method;
    use crate::store::memory::{MemoryBlobs, MemoryJanitor, MemoryMeta};
    use futures_executor::block_on;
    use sha2::{Digest, Sha256};
    use std::cell::Cell;

    const BOUNDARY: &str = "XyZ";

    struct World {
        config: Config,
        blobs: MemoryBlobs,
        meta: MemoryMeta,
        janitor: MemoryJanitor,
        now: Cell<u64>,
    }

    impl World {
        fn new() -> World {
            let user = Presented::Basic { user: "foo".into(), password: "bar".into() };
            let spec = format!("acme:basic:{}", hex::encode(credential_hash(&user)));
            let config = Config { credentials: Credentials::parse(&spec).unwrap(), ..Config::default() };
            World {
                config,
                blobs: MemoryBlobs::default(),
                meta: MemoryMeta::default(),
                janitor: MemoryJanitor::default(),
                now: Cell::new(1_714_644_000_000),
            }
        }

        fn run<T>(&self, f: impl FnOnce(&Ctx<'_, MemoryBlobs, MemoryMeta, MemoryJanitor>) -> T) -> T {
            let now = || self.now.get();
            let ctx =
                Ctx { config: &self.config, blobs: &self.blobs, meta: &self.meta, janitor: &self.janitor, now: &now };
            f(&ctx)
        }

        fn post(&self, query: &str, auth: Option<&str>, body: Vec<u8>) -> Result<Reply> {
            let mut headers = vec![
                ("Content-Type".to_string(), format!("multipart/form-data; boundary={BOUNDARY}")),
                ("Content-Length".to_string(), body.len().to_string()),
            ];
            if let Some(a) = auth {
                headers.push(("Authorization".into(), a.into()));
            }
            let head = Head::new(Method::Post, "/uploads", query, headers);
            let stream =
                futures_util::stream::iter(body.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>());
            self.run(|ctx| block_on(upload(ctx, &head, stream)))
        }

        fn get(&self, id: &str, headers: Vec<(String, String)>) -> Result<Reply> {
            let head = Head::new(Method::Get, &format!("/uploads/{id}"), "", headers);
            self.run(|ctx| block_on(download(ctx, &head, id)))
        }
    }

    const AUTH: &str = "Basic Zm9vOmJhcg=="; // foo:bar

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

    fn body_json(r: &Reply) -> &serde_json::Value {
        match r {
            Reply::Json { body, .. } => body,
            other => panic!("not JSON: {other:?}"),
        }
    }

    #[test]
    fn upload_then_download_then_expire() {
        let w = World::new();
        let reply = w.post("", Some(AUTH), form(&[("file", Some("a.txt"), b"hello"), ("ttl", None, b"60")])).unwrap();
        let up = body_json(&reply).clone();
        assert_eq!(up["size"], 5);
        assert_eq!(up["ttl"], 60);
        assert_eq!(up["name"], "a.txt");
        assert_eq!(up["mime_type"], "text/plain");
        assert_eq!(up["sha256"], hex::encode(Sha256::digest(b"hello")));
        assert_eq!(up["created_at"], "2024-05-02T10:00:00.000Z");
        assert_eq!(up["expires_at"], "2024-05-02T10:01:00.000Z");
        let id = up["id"].as_str().unwrap();

        // bytes in R2, record and digest index in KV with a TTL past expiry + grace
        let record: FileRecord = serde_json::from_str(&w.meta.entries.borrow()[&FileRecord::kv_key(id)].0).unwrap();
        assert_eq!(w.blobs.object(&record.r2_key).unwrap(), b"hello");
        assert_eq!(w.meta.entries.borrow()[&FileRecord::kv_key(id)].1, Some(60 + w.config.grace));
        let digest_key = FileRecord::digest_key("acme", &record.sha256);
        assert_eq!(w.meta.entries.borrow()[&digest_key].0, id);
        assert_eq!(w.janitor.scheduled.borrow()[0], (id.to_string(), record.r2_key.clone(), w.now.get() + 60_000));

        match w.get(id, vec![]).unwrap() {
            Reply::Download { r2_key, plan } => {
                assert_eq!(r2_key, record.r2_key);
                assert_eq!(plan.status, 200);
                assert_eq!(plan.body, BodyPlan::Whole);
            }
            other => panic!("{other:?}"),
        }
        w.now.set(w.now.get() + 59_999);
        assert!(w.get(id, vec![]).is_ok());
        w.now.set(w.now.get() + 1);
        let err = w.get(id, vec![]).unwrap_err();
        assert_eq!(err, Error::Expired(UPLOAD_EXPIRED.into()));
        assert_eq!(body_json(&error_reply(&err)), &json!({"message": "upload expired"}));
        assert_eq!(error_reply(&err).status(), 410);
    }

    #[test]
    fn ttl_defaults_and_query_and_cap() {
        let w = World::new();
        let file = form(&[("file", Some("a.txt"), b"x")]);
        assert_eq!(body_json(&w.post("", Some(AUTH), file.clone()).unwrap())["ttl"], 3600);
        assert_eq!(body_json(&w.post("ttl=5", Some(AUTH), file.clone()).unwrap())["ttl"], 5);
        assert_eq!(body_json(&w.post("ttl=99999999", Some(AUTH), file).unwrap())["ttl"], 604800);
    }

    #[test]
    fn bad_requests() {
        let w = World::new();
        let file = form(&[("file", Some("a.txt"), b"x")]);
        assert_eq!(w.post("", None, file.clone()).unwrap_err(), Error::Unauthorized);
        assert_eq!(w.post("", Some("Basic Zm9vOmJheg=="), file).unwrap_err(), Error::Unauthorized);
        let e = error_reply(&Error::Unauthorized);
        assert!(
            matches!(&e, Reply::Json { headers, .. } if headers.iter().any(|(k, v)| *k == "WWW-Authenticate" && v == "Basic realm=\"fileshare\""))
        );

        assert_eq!(w.post("", Some(AUTH), form(&[("ttl", None, b"5")])).unwrap_err(), Error::bad_request(FILE_MISSING));
        assert_eq!(w.post("", Some(AUTH), b"not a form".to_vec()).unwrap_err().status(), 400);

        // a bad ttl after the file: 400, and the bytes already written are removed
        let before = w.blobs.objects.borrow().len();
        let err = w.post("", Some(AUTH), form(&[("file", Some("a.txt"), b"x"), ("ttl", None, b"0")])).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(w.blobs.objects.borrow().len(), before);

        assert_eq!(
            w.get("88e5905d-5d96-4750-ab3d-77a1ed26f569", vec![]).unwrap_err(),
            Error::not_found(UPLOAD_NOT_FOUND)
        );
        assert_eq!(w.get("../etc", vec![]).unwrap_err(), Error::not_found(UPLOAD_NOT_FOUND));
    }

    #[test]
    fn oversize_is_413_and_leaves_nothing() {
        let mut w = World::new();
        w.config.max_file_size = 10;
        let err = w.post("", Some(AUTH), form(&[("file", Some("a.txt"), &[b'x'; 11])])).unwrap_err();
        assert_eq!(err.status(), 413);
        assert!(w.blobs.objects.borrow().is_empty());
        assert!(w.meta.entries.borrow().is_empty());
        assert!(w.post("", Some(AUTH), form(&[("file", Some("a.txt"), &[b'x'; 10])])).is_ok());
    }
}
