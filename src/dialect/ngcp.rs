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
use crate::http::disposition::{last_path_segment, DispositionKind};
use crate::http::download::{plan_download, CachePolicy, DownloadAsk, Served};
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
    if let Error::MethodNotAllowed = e {
        headers.push(("Allow", "GET, HEAD, POST".to_string()));
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
        return Err(Error::NotFound(UPLOAD_NOT_FOUND));
    }
    let record = ctx.live_file(&id.to_ascii_lowercase(), UPLOAD_NOT_FOUND, UPLOAD_EXPIRED).await?;
    Ok(download_reply(&record, head, CachePolicy::Private))
}

/// The download of a live record, honouring the request's conditional and range headers.
pub fn download_reply(record: &FileRecord, head: &Head, cache: CachePolicy) -> Reply {
    let served = Served {
        name: &record.name,
        content_type: &record.content_type,
        size: record.size,
        sha256: &record.sha256,
        disposition: DispositionKind::Attachment,
        cache,
    };
    let ask = DownloadAsk {
        head: head.method == crate::route::Method::Head,
        range: head.header("range"),
        if_none_match: head.header("if-none-match"),
        if_range: head.header("if-range"),
    };
    Reply::Download { r2_key: record.r2_key.clone(), plan: plan_download(&served, &ask) }
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
