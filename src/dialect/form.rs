//! Request bodies the dialects read in the worker. Multipart forms: streamed, field by field, with
//! size limits (the file field up to the maximum file size, text fields small), and multer's
//! errors as ours.

use futures_util::TryStreamExt;

use super::Head;
use crate::engine::upload::calls::ByteStream;
use crate::error::{Error, Result};

/// Longest JSON body a dialect reads whole (a session, a file entry, an IMiS call).
pub const MAX_JSON: u64 = 16 * 1024;

/// A body of at most `max` bytes, read whole (`400` past it).
pub async fn read_small(body: ByteStream, max: u64) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut body = body;
    let mut raw = Vec::new();
    while let Some(chunk) = body.next().await {
        raw.extend_from_slice(&chunk?);
        if raw.len() as u64 > max {
            return Err(Error::bad_request(format!("body larger than {max} bytes")));
        }
    }
    Ok(raw)
}

/// A small JSON object body: none (or empty, or `null`) is an empty object.
pub async fn small_json(body: ByteStream) -> Result<serde_json::Map<String, serde_json::Value>> {
    let raw = read_small(body, MAX_JSON).await?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    match serde_json::from_slice::<serde_json::Value>(&raw) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(serde_json::Value::Null) => Ok(Default::default()),
        _ => Err(Error::bad_request("body must be a JSON object")),
    }
}

/// Room for the multipart envelope around the file when checking `Content-Length`.
pub const FORM_OVERHEAD: u64 = 64 * 1024;
/// Longest value read from a text field (`ttl`, `file_asset`).
pub const MAX_TEXT_FIELD: u64 = 8 * 1024;

/// `413` if the request announces more than a form with a file of `max` bytes can hold.
pub fn check_length(head: &Head, max: u64) -> Result<()> {
    match head.content_length() {
        Some(len) if len > max + FORM_OVERHEAD => Err(Error::TooLarge { max }),
        _ => Ok(()),
    }
}

/// Is the request a multipart form? Its boundary.
pub fn boundary(head: &Head) -> Option<String> {
    head.header("content-type").and_then(|ct| multer::parse_boundary(ct).ok())
}

/// A form over `body`, whose `file_field` may hold up to `max` bytes (the whole body a little
/// more, and never more than the request body limit).
pub fn open(
    body: ByteStream,
    boundary: String,
    file_field: &str,
    max: u64,
    max_body: Option<u64>,
) -> multer::Multipart<'static> {
    let whole = max_body.map_or(max + FORM_OVERHEAD, |b| b.min(max + FORM_OVERHEAD));
    let limits =
        multer::SizeLimit::new().whole_stream(whole).per_field(MAX_TEXT_FIELD).for_field(file_field.to_string(), max);
    multer::Multipart::with_constraints(body, boundary, multer::Constraints::new().size_limit(limits))
}

/// A field's bytes as a stream of our results.
pub fn stream<'f, 'a: 'f>(
    field: &'f mut multer::Field<'a>,
    max: u64,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes>> + Unpin + use<'f, 'a> {
    field.map_err(move |e| form_error(e, max))
}

/// Reads a field to its end, dropping it.
pub async fn skip(field: &mut multer::Field<'_>, max: u64) -> Result<()> {
    while field.chunk().await.map_err(|e| form_error(e, max))?.is_some() {}
    Ok(())
}

/// multer's errors as ours: size limits are `413` (the file) or `400` (a text field); a body
/// that failed to arrive keeps its own error.
pub fn form_error(e: multer::Error, max: u64) -> Error {
    match e {
        multer::Error::StreamSizeExceeded { .. } => Error::TooLarge { max },
        multer::Error::FieldSizeExceeded { field_name, .. } if field_name.as_deref() == Some("file") => {
            Error::TooLarge { max }
        }
        multer::Error::FieldSizeExceeded { .. } => Error::bad_request("form field too long"),
        multer::Error::StreamReadFailed(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::bad_request(format!("malformed multipart body: {other}")),
        },
        other => Error::bad_request(format!("malformed multipart body: {other}")),
    }
}

pub async fn read_text(field: &mut multer::Field<'_>, max: u64) -> Result<String> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| form_error(e, max))? {
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text).map_err(|_| Error::bad_request("form field is not UTF-8"))
}
