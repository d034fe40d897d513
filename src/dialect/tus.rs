//! tus 1.0 resumable uploads at `/files/` (core, creation, creation-with-upload,
//! creation-defer-length, termination, expiration, checksum), with `GET` of the finished
//! file and CORS that lets a browser client read every tus header. Auth: the tenant's
//! Basic or Bearer credentials. The upload itself lives in its Durable Object.

use super::{ngcp::download_reply, Head, Reply};
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
            // The object forgets a finished upload once its file expires; the record remains.
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
        uploads.cancel(upload_id(id)?, &tenant.0, None, true).await?;
        Ok(Reply::Empty { status: 204, headers: base_headers() })
    }

    /// `GET /files/{id}`: the finished file.
    pub async fn get(&self, head: &Head, id: &str) -> Result<Reply> {
        let ctx = self.ctx;
        let tenant = ctx.config.credentials.authenticate(head.authorization().as_ref())?;
        let file = own_file(ctx, &tenant.0, upload_id(id)?).await?;
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
