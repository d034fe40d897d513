//! Multipart forms, as the dialects that take one read them: streamed, field by field, with
//! size limits (the file field up to the maximum file size, text fields small), and multer's
//! errors as ours.

use futures_util::TryStreamExt;

use super::Head;
use crate::engine::uploads::ByteStream;
use crate::error::{Error, Result};

/// Room for the multipart envelope around the file when checking `Content-Length`.
pub const FORM_OVERHEAD: u64 = 64 * 1024;
/// Longest value read from a text field (`ttl`, `file_asset`).
pub const MAX_TEXT_FIELD: u64 = 8 * 1024;

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
