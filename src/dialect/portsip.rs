//! PortSIP PBX Blobs API (compat-spec §4) at `/api/blobs/`: initiate (202), append (203),
//! complete with an optional sha256 `digest` (201 `{"id"}`), status (204), destroy (204), and
//! the public, immutable download by digest or opaque id. Upload id and token travel in
//! `PortSIP-Upload-ID` / `PortSIP-Upload-Token` headers; `Range` is `0-<last byte>`.

use base64::Engine;
use serde_json::json;

use super::{download_reply, Head, Reply};
use crate::engine::files::FileRecord;
use crate::engine::ids::{is_uuid, random_bytes, uuid_v4};
use crate::engine::resumable::AppendAsk;
use crate::engine::upload::{NewUpload, UploadState, UPLOAD_NOT_FOUND};
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::http::digest::{looks_like_sha256, parse_sha256};
use crate::http::download::CachePolicy;
use crate::store::{BlobStore, Janitor, MetaStore, Uploads};

const TOKEN_HEADER: &str = "portsip-upload-token";
/// `temporary=true` blobs are kept this long after completion.
const TEMPORARY_TTL: u64 = 86400;
const BLOB_NOT_FOUND: &str = "blob not found";

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

/// Public index entries: a PortSIP blob is served without credentials by its digest and by
/// its opaque id (public by that vendor's design; other dialects' files never are).
pub fn blob_key(key: &str) -> String {
    format!("blob:{key}")
}

/// `base64(decimal id)`, like PortSIP's `NzAwNTUxOTA5NzczMTQ4MTYw` (= "700551909773148160"):
/// a snowflake-style number from the file's creation time and 22 bits of its upload id, so
/// that a retried completion answers the same id.
pub fn opaque_id(created_ms: u64, upload_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(upload_id.as_bytes());
    let bits = u64::from(u32::from_le_bytes([h[0], h[1], h[2], h[3]]) & 0x3f_ffff);
    let n = (created_ms.saturating_sub(1_288_834_974_657) << 22) | bits;
    base64::engine::general_purpose::STANDARD.encode(n.to_string())
}

fn upload_headers(st: &UploadState) -> Vec<(&'static str, String)> {
    let range = if st.offset == 0 { "0-0".to_string() } else { format!("0-{}", st.offset - 1) };
    vec![
        ("PortSIP-Upload-ID", st.new.id.clone()),
        ("PortSIP-Upload-Token", st.new.token.clone().unwrap_or_default()),
        ("Range", range),
        ("Content-Length", "0".into()),
    ]
}

fn upload_id(id: &str) -> Result<&str> {
    if is_uuid(id) {
        Ok(id)
    } else {
        Err(Error::not_found(UPLOAD_NOT_FOUND))
    }
}

fn token(head: &Head) -> Result<String> {
    head.header(TOKEN_HEADER)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Forbidden("missing PortSIP-Upload-Token".into()))
}

/// The Portsip endpoints, over the engine's context and the uploads' Durable Objects.
pub struct Portsip<'a, 'c, B, M, J, U> {
    pub ctx: &'a Ctx<'c, B, M, J>,
    pub uploads: &'a U,
}

impl<B: BlobStore, M: MetaStore, J: Janitor, U: Uploads> Portsip<'_, '_, B, M, J, U> {
    /// `POST /api/blobs/uploads?filename=&temporary=`
    pub async fn initiate(&self, head: &Head) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
        let temporary = match head.query_param("temporary").as_deref().map(str::trim) {
            None | Some("") | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => return Err(Error::bad_request("temporary must be true or false")),
        };
        let name = head.query_param("filename").map(|f| crate::http::disposition::last_path_segment(&f).to_string());
        let new = NewUpload {
            id: uuid_v4(random_bytes()),
            tenant: tenant.0,
            dialect: "portsip".into(),
            // the digest stands in for a missing name once known (see `complete`)
            name: name.filter(|n| !n.is_empty()).unwrap_or_default(),
            content_type: "application/octet-stream".into(),
            metadata: None,
            length: None,
            ttl: temporary.then_some(TEMPORARY_TTL),
            token: Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<24>())),
        };
        let st = uploads.create(&new).await?;
        Ok(Reply::Empty { status: 202, headers: upload_headers(&st) })
    }

    /// `POST /api/blobs/uploads/{id}/append`
    pub async fn append(&self, head: &Head, id: &str, body: U::Body) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
        let ask = AppendAsk { token: Some(token(head)?), ..Default::default() };
        let st = uploads.append(upload_id(id)?, &tenant.0, &ask, body).await?;
        Ok(Reply::Empty { status: 203, headers: upload_headers(&st) })
    }

    /// `POST /api/blobs/uploads/{id}/complete?digest=`: appends a final body if any, checks
    /// the digest (a mismatch leaves the upload as it was), and publishes the blob.
    pub async fn complete(&self, head: &Head, id: &str, body: U::Body) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
        let digest =
            head.query_param("digest").filter(|d| !d.trim().is_empty()).map(|d| parse_sha256(&d)).transpose()?;
        let ask =
            AppendAsk { token: Some(token(head)?), complete: true, expected_sha256: digest, ..Default::default() };
        let st = uploads.append(upload_id(id)?, &tenant.0, &ask, body).await?;
        let file = st.file.ok_or_else(|| Error::Internal("completed upload without a file".into()))?;
        let opaque = opaque_id(file.created_at, &file.id);
        let ttl = file.expires_at.map(|at| crate::engine::expiry::kv_ttl_secs(at, (ctx.now)(), ctx.config.grace));
        ctx.meta.put(&blob_key(&opaque), file.id.clone(), ttl).await?;
        ctx.meta.put(&blob_key(&file.sha256), file.id.clone(), ttl).await?;
        Ok(Reply::json(201, json!({ "id": opaque })))
    }

    /// `GET /api/blobs/uploads/{id}/status`
    pub async fn status(&self, head: &Head, id: &str) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
        let st = uploads.state(upload_id(id)?, &tenant.0, None).await?;
        if !st.is_open() {
            return Err(Error::not_found(UPLOAD_NOT_FOUND));
        }
        Ok(Reply::Empty { status: 204, headers: upload_headers(&st) })
    }

    /// `POST /api/blobs/uploads/{id}/destroy`
    pub async fn destroy(&self, head: &Head, id: &str) -> Result<Reply> {
        let (ctx, uploads) = (self.ctx, self.uploads);
        let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
        uploads.cancel(upload_id(id)?, &tenant.0, None, false).await?;
        Ok(Reply::Empty { status: 204, headers: Vec::new() })
    }

    /// `GET /api/blobs/{digest or id}`: public for PortSIP blobs; with a tenant's credentials,
    /// any of that tenant's files by sha256.
    pub async fn download(&self, head: &Head, key: &str) -> Result<Reply> {
        let ctx = self.ctx;
        let tenant = head.authorization().and_then(|p| ctx.config.credentials.authenticate(Some(&p)).ok());
        let digest = looks_like_sha256(key).then(|| key.to_ascii_lowercase());
        let mut id = None;
        if let (Some(t), Some(d)) = (&tenant, &digest) {
            id = ctx.meta.get(&FileRecord::digest_key(&t.0, d)).await?;
        }
        if id.is_none() {
            id = ctx.meta.get(&blob_key(digest.as_deref().unwrap_or(key))).await?;
        }
        let id = id.ok_or_else(|| Error::not_found(BLOB_NOT_FOUND))?;
        let mut file = ctx.live_file(&id, BLOB_NOT_FOUND, "blob expired").await?;
        if file.name.is_empty() {
            file.name = file.sha256.clone();
        }
        Ok(download_reply(&file, head, CachePolicy::Immutable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::route::Method;
    use crate::store::memory::{MemoryBlobs, MemoryJanitor, MemoryMeta, MemoryUploads};
    use futures_executor::block_on;
    use sha2::{Digest, Sha256};

    fn req(query: &str, headers: &[(&str, &str)]) -> Head {
        let all = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Head::new(Method::Post, "/api/blobs/uploads", query, all)
    }

    type MemoryPortsip<'a, 'c> = Portsip<'a, 'c, MemoryBlobs, MemoryMeta, MemoryJanitor, MemoryUploads<'a, 'c>>;

    /// Runs `f` against PortSIP over in-memory R2, KV and Upload objects; tenant `acme`'s
    /// token is `tok`.
    fn with_portsip(f: impl FnOnce(&MemoryPortsip<'_, '_>)) {
        crate::dialect::with_memory(|ctx, uploads| f(&Portsip { ctx, uploads }));
    }

    #[test]
    fn initiate_append_complete_download() {
        with_portsip(|ps| {
            let bearer = ("Authorization", "Bearer tok");

            assert_eq!(block_on(ps.initiate(&req("", &[]))).unwrap_err(), Error::Unauthorized);
            assert_eq!(block_on(ps.initiate(&req("temporary=maybe", &[bearer]))).unwrap_err().status(), 400);
            let init = block_on(ps.initiate(&req("filename=a.wav", &[bearer]))).unwrap();
            assert_eq!((init.status(), init.header("Range")), (202, Some("0-0")));
            let id = init.header("PortSIP-Upload-ID").unwrap().to_string();
            let token = init.header("PortSIP-Upload-Token").unwrap().to_string();
            let with_token = [bearer, ("PortSIP-Upload-Token", token.as_str())];

            let r = block_on(ps.append(&req("", &with_token), &id, b"abc".to_vec())).unwrap();
            assert_eq!((r.status(), r.header("Range")), (203, Some("0-2")));
            assert_eq!(block_on(ps.append(&req("", &[bearer]), &id, b"x".to_vec())).unwrap_err().status(), 403);
            let st = block_on(ps.status(&req("", &[bearer]), &id)).unwrap();
            assert_eq!((st.status(), st.header("Range")), (204, Some("0-2")));

            assert_eq!(block_on(ps.complete(&req("digest=xyz", &with_token), &id, vec![])).unwrap_err().status(), 400);
            let digest = hex::encode(Sha256::digest(b"abcd"));
            let done =
                block_on(ps.complete(&req(&format!("digest={digest}"), &with_token), &id, b"d".to_vec())).unwrap();
            assert_eq!(done.status(), 201);

            let anonymous = Head::new(Method::Get, "/", "", vec![]);
            let dl = block_on(ps.download(&anonymous, &digest)).unwrap();
            assert_eq!(dl.status(), 200);
            assert_eq!(dl.header("Cache-Control"), Some("public, max-age=31536000, immutable"));
            assert_eq!(dl.header("Content-Disposition"), Some("attachment; filename=\"a.wav\""));
            assert_eq!(block_on(ps.download(&anonymous, &"0".repeat(64))).unwrap_err().status(), 404);
            assert_eq!(block_on(ps.status(&req("", &[bearer]), &id)).unwrap_err().status(), 404, "finished");
        });
    }

    #[test]
    fn only_portsip_blobs_are_public() {
        with_portsip(|ps| {
            let ctx = ps.ctx;
            // a file of another dialect, indexed by digest for its tenant only
            let record = FileRecord {
                id: "f1".into(),
                tenant: "acme".into(),
                name: "n".into(),
                content_type: "text/plain".into(),
                size: 1,
                sha256: "ab".repeat(32),
                created_at: 0,
                expires_at: None,
                ttl: None,
                dialect: "ngcp".into(),
                r2_key: "k".into(),
            };
            block_on(ctx.commit_file(record, None)).unwrap();
            let anonymous = Head::new(Method::Get, "/", "", vec![]);
            assert_eq!(block_on(ps.download(&anonymous, &"ab".repeat(32))).unwrap_err().status(), 404);
            let owner = Head::new(Method::Get, "/", "", vec![("Authorization".into(), "Bearer tok".into())]);
            assert_eq!(block_on(ps.download(&owner, &"ab".repeat(32))).unwrap().status(), 200);
        });
    }

    #[test]
    fn opaque_ids_look_like_portsip_ones() {
        let id = opaque_id(1_455_867_064_657, "52e51422-573d-4fc9-b5c6-4a30058f5d71");
        let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&id).unwrap()).unwrap();
        assert!(decoded.bytes().all(|b| b.is_ascii_digit()), "{decoded}");
        assert_ne!(opaque_id(1, "a"), opaque_id(1, "b"));
        assert_eq!(opaque_id(1, "a"), opaque_id(1, "a"), "a retried completion answers the same id");
        assert_eq!(
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode("NzAwNTUxOTA5NzczMTQ4MTYw").unwrap())
                .unwrap(),
            "700551909773148160"
        );
    }

    #[test]
    fn range_header_is_last_byte_inclusive() {
        let new = NewUpload {
            id: "i".into(),
            tenant: "t".into(),
            dialect: "portsip".into(),
            name: String::new(),
            content_type: "x/y".into(),
            metadata: None,
            length: None,
            ttl: None,
            token: Some("tok".into()),
        };
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
        match r {
            Reply::Json { body, .. } => assert_eq!(body["errors"][0]["code"], "VALIDATE_FAILED"),
            _ => unreachable!(),
        }
        match error_reply(&Error::Forbidden("x".into())) {
            Reply::Json { status, body, .. } => {
                assert_eq!(status, 403);
                assert_eq!(body["errors"][0]["code"], "UNKNOWN");
            }
            _ => unreachable!(),
        }
    }
}
