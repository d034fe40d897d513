//! tus 1.0 resumable uploads at `/files/` (core, creation, creation-with-upload,
//! creation-defer-length, termination, expiration, checksum), with `GET` of the finished
//! file and CORS that lets a browser client read every tus header. Auth: the tenant's
//! Basic or Bearer credentials. The upload itself lives in its Durable Object.

use super::{download_reply, Head, Reply};
use crate::engine::files::{content_type_or_guess, FileRecord};
use crate::engine::ids::{is_uuid, random_bytes, uuid_v4};
use crate::engine::resumable::AppendAsk;
use crate::engine::upload::{NewUpload, UploadState, UPLOAD_NOT_FOUND};
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::http::download::CachePolicy;
use crate::http::tus::{self, check_version, http_date, parse_metadata, parse_u64};
use crate::store::{BlobStore, Janitor, MetaStore, Uploads};

const OFFSET_TYPE: &str = "application/offset+octet-stream";

/// Headers on every tus answer: the version, and CORS for browser clients.
fn base_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Tus-Resumable", tus::VERSION.into()),
        ("Access-Control-Allow-Origin", "*".into()),
        ("Access-Control-Expose-Headers", tus::EXPOSED_HEADERS.into()),
    ]
}

/// tus errors are plain text with the tus headers.
pub fn error_reply(e: &Error) -> Reply {
    let mut headers = base_headers();
    match e {
        Error::UnsupportedVersion => headers.push(("Tus-Version", tus::VERSION.into())),
        Error::Unauthorized => headers.push(("WWW-Authenticate", "Basic realm=\"edgeshare\"".into())),
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

fn expires(st: &UploadState, headers: &mut Vec<(&'static str, String)>) {
    if st.is_open() {
        headers.push(("Upload-Expires", http_date(st.idle_deadline())));
    }
}

/// Every tus request but `OPTIONS`: the tenant's credentials and `Tus-Resumable: 1.0.0`.
fn caller<B, M, J>(ctx: &Ctx<'_, B, M, J>, head: &Head) -> Result<crate::auth::Tenant> {
    let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
    check_version(head.header("tus-resumable"))?;
    Ok(tenant)
}

fn upload_id(id: &str) -> Result<&str> {
    if is_uuid(id) {
        Ok(id)
    } else {
        Err(Error::not_found(UPLOAD_NOT_FOUND))
    }
}

fn append_ask(head: &Head, offset: u64) -> Result<AppendAsk> {
    Ok(AppendAsk {
        offset: Some(offset),
        body_len: head.content_length(),
        checksum: head.header("upload-checksum").map(str::to_string),
        complete_at_length: true,
        strict_offset: true,
        ..Default::default()
    })
}

fn has_upload_body(head: &Head) -> bool {
    head.header("content-type").is_some_and(|ct| ct.trim().eq_ignore_ascii_case(OFFSET_TYPE))
}

/// The Tus endpoints, over the engine's context and the uploads' Durable Objects.
pub struct Tus<'a, 'c, B, M, J, U> {
    pub ctx: &'a Ctx<'c, B, M, J>,
    pub uploads: &'a U,
}

impl<B: BlobStore, M: MetaStore, J: Janitor, U: Uploads> Tus<'_, '_, B, M, J, U> {
    /// `POST /files/`: creation (with an upload in the body, if it has one).
    pub async fn create(&self, head: &Head, origin: &str, body: U::Body) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = caller(ctx, head)?;
        let length = match (head.header("upload-length"), head.header("upload-defer-length")) {
            (Some(l), None) => Some(parse_u64(l, "Upload-Length")?),
            (None, Some(d)) if d.trim() == "1" => None,
            _ => return Err(Error::bad_request("send either Upload-Length or Upload-Defer-Length: 1")),
        };
        if length.is_some_and(|l| l > ctx.config.max_file_size) {
            return Err(Error::TooLarge { max: ctx.config.max_file_size });
        }
        let raw_meta = head.header("upload-metadata").map(str::to_string);
        let meta = parse_metadata(raw_meta.as_deref().unwrap_or(""))?;
        let get = |k: &str| meta.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let name = get("filename").or(get("name")).map(crate::http::disposition::last_path_segment).unwrap_or("");
        let name = if name.is_empty() { "upload" } else { name };
        let new = NewUpload {
            id: uuid_v4(random_bytes()),
            tenant: tenant.0,
            dialect: "tus".into(),
            name: name.into(),
            content_type: content_type_or_guess(get("filetype").or(get("type")), name),
            metadata: raw_meta,
            length,
            ttl: None,
            token: None,
        };
        let mut st = uploads.create(&new).await?;
        let with_upload = has_upload_body(head);
        if with_upload || length == Some(0) {
            st = uploads.append(&new.id, &new.tenant, &append_ask(head, 0)?, body).await?;
        }
        let mut headers = base_headers();
        headers.push(("Location", format!("{origin}/files/{}", new.id)));
        if with_upload {
            headers.push(("Upload-Offset", st.offset.to_string()));
        }
        expires(&st, &mut headers);
        Ok(Reply::Empty { status: 201, headers })
    }

    /// `HEAD /files/{id}`: where the upload stands. `Cache-Control: no-store`, always.
    pub async fn head(&self, head: &Head, id: &str) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = caller(ctx, head)?;
        let id = upload_id(id)?;
        let mut headers = base_headers();
        headers.push(("Cache-Control", "no-store".into()));
        match uploads.state(id, &tenant.0, None).await {
            Ok(st) => {
                headers.push(("Upload-Offset", st.offset.to_string()));
                match st.length() {
                    Some(l) => headers.push(("Upload-Length", l.to_string())),
                    None => headers.push(("Upload-Defer-Length", "1".into())),
                }
                if let Some(m) = &st.new.metadata {
                    headers.push(("Upload-Metadata", m.clone()));
                }
                expires(&st, &mut headers);
            }
            // The object forgets a finished upload (after the idle timeout, or when its file
            // expires); the file's record remains.
            Err(Error::NotFound(_)) => {
                let file = own_file(ctx, &tenant.0, id).await?;
                headers.push(("Upload-Offset", file.size.to_string()));
                headers.push(("Upload-Length", file.size.to_string()));
            }
            Err(e) => return Err(e),
        }
        Ok(Reply::Empty { status: 200, headers })
    }

    /// `PATCH /files/{id}`: append at `Upload-Offset`.
    pub async fn patch(&self, head: &Head, id: &str, body: U::Body) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = caller(ctx, head)?;
        if !has_upload_body(head) {
            return Err(Error::UnsupportedMediaType("Content-Type must be application/offset+octet-stream".into()));
        }
        let id = upload_id(id)?;
        let offset = parse_u64(
            head.header("upload-offset").ok_or_else(|| Error::bad_request("missing Upload-Offset"))?,
            "Upload-Offset",
        )?;
        let mut ask = append_ask(head, offset)?;
        ask.set_length = head.header("upload-length").map(|l| parse_u64(l, "Upload-Length")).transpose()?;
        let st = uploads.append(id, &tenant.0, &ask, body).await?;
        let mut headers = base_headers();
        headers.push(("Upload-Offset", st.offset.to_string()));
        expires(&st, &mut headers);
        Ok(Reply::Empty { status: 204, headers })
    }

    /// `DELETE /files/{id}`: termination; a finished upload's file goes with it.
    pub async fn delete(&self, head: &Head, id: &str) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = caller(ctx, head)?;
        let id = upload_id(id)?;
        match uploads.cancel(id, &tenant.0, None, true).await {
            // The object forgets a finished upload after a while; its file record remains.
            Err(Error::NotFound(_)) => ctx.delete_file(&own_file(ctx, &tenant.0, id).await?).await?,
            other => other?,
        }
        Ok(Reply::Empty { status: 204, headers: base_headers() })
    }

    /// `GET /files/{id}`: the finished file.
    pub async fn get(&self, head: &Head, id: &str) -> Result<Reply> {
        let ctx = self.ctx;
        let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
        let id = upload_id(id)?;
        let file = match own_file(ctx, &tenant.0, id).await {
            // KV is eventually consistent; the upload's object knows its file at once.
            Err(Error::NotFound(_)) => {
                let st = self.uploads.state(id, &tenant.0, None).await?;
                let file = st.file.ok_or_else(|| Error::not_found(UPLOAD_NOT_FOUND))?;
                file.live((ctx.now)(), "upload expired")?
            }
            other => other?,
        };
        Ok(download_reply(&file, head, CachePolicy::Private).with_headers(&base_headers()))
    }
}

async fn own_file<B, M, J>(ctx: &Ctx<'_, B, M, J>, tenant: &str, id: &str) -> Result<FileRecord>
where
    B: BlobStore,
    M: MetaStore,
    J: Janitor,
{
    let file = ctx.live_file(id, UPLOAD_NOT_FOUND, "upload expired").await?;
    if file.tenant != tenant {
        return Err(Error::not_found(UPLOAD_NOT_FOUND));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Method;
    use crate::store::memory::{MemoryBlobs, MemoryJanitor, MemoryMeta, MemoryUploads};
    use futures_executor::block_on;

    const AUTH: &str = "Bearer tok";

    fn head(method: Method, headers: &[(&str, &str)]) -> Head {
        let mut all: Vec<(String, String)> = vec![("Authorization".into(), AUTH.into())];
        all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Head::new(method, "/files/", "", all)
    }

    /// Runs `f` against tus over in-memory R2, KV and Upload objects.
    fn with_tus(f: impl FnOnce(&Tus<'_, '_, MemoryBlobs, MemoryMeta, MemoryJanitor, MemoryUploads<'_, '_>>)) {
        crate::dialect::with_memory(|ctx, uploads| f(&Tus { ctx, uploads }));
    }

    const V: (&str, &str) = ("Tus-Resumable", "1.0.0");
    const OCTETS: (&str, &str) = ("Content-Type", "application/offset+octet-stream");

    fn id_of(created: &Reply) -> String {
        created.header("Location").unwrap().rsplit('/').next().unwrap().to_string()
    }

    #[test]
    fn create_patch_head_get() {
        with_tus(|tus| {
            let create =
                head(Method::Post, &[V, ("Upload-Length", "11"), ("Upload-Metadata", "filename aGVsbG8udHh0")]);
            let created = block_on(tus.create(&create, "https://h", Vec::new())).unwrap();
            assert_eq!(created.status(), 201);
            assert!(created.header("Location").unwrap().starts_with("https://h/files/"));
            assert_eq!(created.header("Upload-Expires"), Some("Fri, 03 May 2024 10:00:00 GMT"));
            let id = id_of(&created);

            let patch = |offset: &str, body: &[u8]| {
                let h = head(Method::Patch, &[V, OCTETS, ("Upload-Offset", offset)]);
                block_on(tus.patch(&h, &id, body.to_vec()))
            };
            let r = patch("0", b"hello ").unwrap();
            assert_eq!((r.status(), r.header("Upload-Offset")), (204, Some("6")));
            assert_eq!(patch("0", b"hello ").unwrap_err().status(), 409, "a retry at an old offset");
            assert_eq!(patch("7", b"x").unwrap_err().status(), 409, "a gap");

            let h = block_on(tus.head(&head(Method::Head, &[V]), &id)).unwrap();
            assert_eq!(h.header("Upload-Offset"), Some("6"));
            assert_eq!(h.header("Upload-Length"), Some("11"));
            assert_eq!(h.header("Cache-Control"), Some("no-store"));
            assert_eq!(h.header("Upload-Metadata"), Some("filename aGVsbG8udHh0"));

            patch("6", b"world").unwrap();
            let got = block_on(tus.get(&head(Method::Get, &[]), &id)).unwrap();
            assert_eq!(got.status(), 200);
            assert_eq!(got.header("Content-Disposition"), Some("attachment; filename=\"hello.txt\""));
            assert_eq!(got.header("Access-Control-Allow-Origin"), Some("*"));

            // a KV record not yet visible where this request runs: the Upload object answers
            tus.ctx.meta.entries.borrow_mut().remove(&FileRecord::kv_key(&id));
            assert_eq!(block_on(tus.get(&head(Method::Get, &[]), &id)).unwrap().status(), 200);
        });
    }

    #[test]
    fn protocol_errors() {
        with_tus(|tus| {
            let create = |h: &[(&str, &str)]| block_on(tus.create(&head(Method::Post, h), "https://h", Vec::new()));
            assert_eq!(create(&[("Upload-Length", "1")]).unwrap_err(), Error::UnsupportedVersion);
            assert_eq!(create(&[V]).unwrap_err().status(), 400);
            assert_eq!(create(&[V, ("Upload-Length", "1"), ("Upload-Defer-Length", "1")]).unwrap_err().status(), 400);
            assert_eq!(create(&[V, ("Upload-Length", "-1")]).unwrap_err().status(), 400);
            assert_eq!(create(&[V, ("Upload-Length", "99999999999999")]).unwrap_err().status(), 413);
            assert_eq!(
                create(&[V, ("Upload-Length", "1"), ("Upload-Metadata", "filename !")]).unwrap_err().status(),
                400
            );

            let id = id_of(&create(&[V, ("Upload-Defer-Length", "1")]).unwrap());
            let patch =
                |h: &[(&str, &str)], body: &[u8]| block_on(tus.patch(&head(Method::Patch, h), &id, body.to_vec()));
            assert_eq!(patch(&[V, ("Upload-Offset", "0")], b"x").unwrap_err().status(), 415);
            assert_eq!(patch(&[V, OCTETS], b"x").unwrap_err().status(), 400, "no Upload-Offset");
            let bad_sum = ("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
            assert_eq!(patch(&[V, OCTETS, ("Upload-Offset", "0"), bad_sum], b"x").unwrap_err().status(), 460);
            // the deferred length arrives with the last PATCH, which completes the upload
            let r = patch(&[V, OCTETS, ("Upload-Offset", "0"), ("Upload-Length", "2")], b"ab").unwrap();
            assert_eq!(r.header("Upload-Offset"), Some("2"));
            assert_eq!(r.header("Upload-Expires"), None, "a finished upload does not expire");

            let e = error_reply(&Error::UnsupportedVersion);
            assert_eq!(e.header("Tus-Version"), Some("1.0.0"));
            assert_eq!(e.header("Tus-Resumable"), Some("1.0.0"));
            assert!(options(10).header("Access-Control-Expose-Headers").unwrap().contains("Upload-Offset"));
            assert_eq!(block_on(tus.head(&head(Method::Head, &[V]), "not-a-uuid")).unwrap_err().status(), 404);
        });
    }

    #[test]
    fn termination_and_tenants() {
        with_tus(|tus| {
            let created =
                block_on(tus.create(&head(Method::Post, &[V, ("Upload-Length", "3")]), "https://h", Vec::new()))
                    .unwrap();
            let id = id_of(&created);
            let stranger = Head::new(Method::Head, "/", "", vec![("Tus-Resumable".into(), "1.0.0".into())]);
            assert_eq!(block_on(tus.head(&stranger, &id)).unwrap_err(), Error::Unauthorized);
            assert_eq!(block_on(tus.delete(&head(Method::Delete, &[V]), &id)).unwrap().status(), 204);
            assert_eq!(block_on(tus.head(&head(Method::Head, &[V]), &id)).unwrap_err().status(), 404);
        });
    }

    #[test]
    fn terminating_a_finished_upload_drops_its_digest_entry_unless_a_newer_copy_owns_it() {
        with_tus(|tus| {
            let upload = |body: &[u8]| {
                let len = body.len().to_string();
                let create = head(Method::Post, &[V, OCTETS, ("Upload-Length", len.as_str())]);
                id_of(&block_on(tus.create(&create, "https://h", body.to_vec())).unwrap())
            };
            let (first, second) = (upload(b"same bytes"), upload(b"same bytes"));
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"same bytes"));
            let digest_key = FileRecord::digest_key("acme", &digest);
            let indexed = || tus.ctx.meta.entries.borrow().get(&digest_key).map(|(id, _)| id.clone());
            assert_eq!(indexed(), Some(second.clone()), "the newer copy owns the digest");
            let delete = |id: &str| block_on(tus.delete(&head(Method::Delete, &[V]), id)).unwrap().status();
            assert_eq!(delete(&first), 204);
            assert_eq!(indexed(), Some(second.clone()), "deleting the older copy leaves the entry");
            assert_eq!(delete(&second), 204);
            assert_eq!(indexed(), None, "no entry left pointing at a deleted file");
            assert!(!tus.ctx.meta.entries.borrow().contains_key(&FileRecord::kv_key(&second)));
        });
    }

    #[test]
    fn a_finished_upload_forgotten_by_its_object_is_served_and_terminated_from_its_record() {
        with_tus(|tus| {
            let create = head(Method::Post, &[V, OCTETS, ("Upload-Length", "5")]);
            let id = id_of(&block_on(tus.create(&create, "https://h", b"hello".to_vec())).unwrap());
            let file = tus.ctx.live_file(&id, "", "");
            let r2_key = block_on(file).unwrap().r2_key;
            // what the object's alarm does once the idle timeout after completion has passed
            crate::engine::resumable::UploadStore::clear(&*tus.uploads.objects.borrow()[&id]).unwrap();
            assert_eq!(block_on(tus.uploads.state(&id, "acme", None)).unwrap_err().status(), 404);

            let h = block_on(tus.head(&head(Method::Head, &[V]), &id)).unwrap();
            assert_eq!((h.header("Upload-Offset"), h.header("Upload-Length")), (Some("5"), Some("5")));
            assert_eq!(block_on(tus.get(&head(Method::Get, &[V]), &id)).unwrap().status(), 200);
            let stranger = Head::new(Method::Delete, "/", "", vec![("Authorization".into(), "Bearer nope".into())]);
            assert_eq!(block_on(tus.delete(&stranger, &id)).unwrap_err(), Error::Unauthorized);

            assert_eq!(block_on(tus.delete(&head(Method::Delete, &[V]), &id)).unwrap().status(), 204);
            assert!(tus.ctx.blobs.object(&r2_key).is_none(), "the bytes are gone");
            assert_eq!(block_on(tus.head(&head(Method::Head, &[V]), &id)).unwrap_err().status(), 404);
            assert_eq!(block_on(tus.delete(&head(Method::Delete, &[V]), &id)).unwrap_err().status(), 404);
        });
    }
}
