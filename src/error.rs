//! The one error type of the service.
//!
//! Every failure is a variant with a stable machine code and an HTTP status, listed in
//! [`Error::code`] and [`Error::status`] below and nowhere else. Dialects only choose how to
//! render it (`{"message": ...}` for NGCP, `{"errors": [...]}` for PortSIP, ...). Errors cross
//! from the Upload Durable Object to the worker by serde, details included.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Human text: a literal most of the time, built at run time sometimes.
pub type Text = Cow<'static, str>;

/// What went wrong, with the human text a client sees where the dialect shows text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum Error {
    /// No credentials, or credentials that match no tenant.
    Unauthorized,
    /// A credential that is valid but not allowed to do this.
    Forbidden(Text),
    /// The thing named in the URL does not exist (or belongs to another tenant).
    NotFound(Text),
    /// The thing existed but its TTL (or its idle deadline) has passed.
    Expired(Text),
    /// The request is malformed: missing field, bad number, bad header.
    BadRequest(String),
    /// The request body ended (its stream failed: the client went away) before its declared
    /// length; what arrived before may be kept for a resume.
    IncompleteBody(String),
    /// A required query parameter is missing (named).
    MissingParameter(Text),
    /// The file (or the body, past a declared length) is larger than allowed.
    TooLarge { max: u64 },
    /// The tenant's quota has no room for this upload (bytes, files, largest file, uploads
    /// in progress); nothing of it is stored.
    QuotaExceeded(String),
    /// The request body is larger than one request may carry (`EDGESHARE_MAX_REQUEST_BODY`).
    BodyTooLarge { max: u64 },
    /// A share link's password is needed and was not sent.
    PasswordRequired,
    /// Too many attempts (wrong passwords): try again after `retry_after` seconds.
    TooManyRequests { retry_after: u64 },
    /// A `Range` that does not overlap the file.
    RangeNotSatisfiable { size: u64 },
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The body's media type is not the one this endpoint takes.
    UnsupportedMediaType(Text),
    /// The request conflicts with the resource's state (already stored, ...).
    Conflict(String),
    /// An append that does not start where the upload stands.
    OffsetMismatch { offset: u64 },
    /// A write that stalled was stopped so that a newer request for its upload could go on;
    /// what it had received is kept.
    Interrupted,
    /// A protocol version the service does not speak (tus `Tus-Resumable`).
    UnsupportedVersion,
    /// The body does not match the checksum the client sent with it; nothing was applied.
    ChecksumMismatch,
    /// The file does not match the digest the client expected; nothing was changed.
    DigestMismatch,
    /// R2, KV or a Durable Object failed; not the client's fault. Retrying may succeed.
    Storage(String),
    /// A bug: an invariant did not hold. Never caused by input.
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Stable machine-readable code: part of the API, never renamed.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Expired(_) => "expired",
            Error::BadRequest(_) => "bad_request",
            Error::IncompleteBody(_) => "incomplete_body",
            Error::MissingParameter(_) => "missing_parameter",
            Error::TooLarge { .. } => "too_large",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::QuotaExceeded(_) => "quota_exceeded",
            Error::PasswordRequired => "password_required",
            Error::TooManyRequests { .. } => "too_many_requests",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::Conflict(_) => "conflict",
            Error::OffsetMismatch { .. } => "offset_mismatch",
            Error::Interrupted => "interrupted",
            Error::UnsupportedVersion => "unsupported_version",
            Error::ChecksumMismatch => "checksum_mismatch",
            Error::DigestMismatch => "digest_mismatch",
            Error::Storage(_) => "storage_unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status every dialect uses for this error unless its vendor says otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) | Error::IncompleteBody(_) | Error::MissingParameter(_) => 400,
            Error::Unauthorized | Error::PasswordRequired => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed => 405,
            Error::Conflict(_) | Error::OffsetMismatch { .. } | Error::Interrupted => 409,
            Error::UnsupportedVersion => 412,
            Error::ChecksumMismatch => 460,
            Error::DigestMismatch => 400,
            Error::Expired(_) => 410,
            Error::TooLarge { .. } | Error::BodyTooLarge { .. } | Error::QuotaExceeded(_) => 413,
            Error::UnsupportedMediaType(_) => 415,
            Error::RangeNotSatisfiable { .. } => 416,
            Error::TooManyRequests { .. } => 429,
            Error::Internal(_) => 500,
            Error::Storage(_) => 503,
        }
    }

    /// The text shown to clients. Storage and internal details are not leaked.
    pub fn message(&self) -> String {
        match self {
            Error::Unauthorized => "unauthorized".into(),
            Error::Forbidden(m) | Error::NotFound(m) | Error::Expired(m) => m.to_string(),
            Error::UnsupportedMediaType(m) => m.to_string(),
            Error::UnsupportedVersion => "unsupported protocol version".into(),
            Error::ChecksumMismatch => "checksum mismatch".into(),
            Error::DigestMismatch => "digest does not match the uploaded content".into(),
            Error::BadRequest(m) | Error::Conflict(m) => m.clone(),
            Error::QuotaExceeded(m) => format!("quota exceeded: {m}"),
            Error::IncompleteBody(m) => format!("request body incomplete: {m}"),
            Error::MissingParameter(name) => format!("missing required parameter {name}"),
            Error::OffsetMismatch { offset } => format!("offset mismatch: the upload is at {offset}"),
            Error::Interrupted => "upload interrupted by a newer request; its bytes are kept".into(),
            Error::TooLarge { max } => format!("file too large (maximum {max} bytes)"),
            Error::BodyTooLarge { max } => format!("request body too large (maximum {max} bytes per request)"),
            Error::RangeNotSatisfiable { .. } => "range not satisfiable".into(),
            Error::PasswordRequired => "password required".into(),
            Error::TooManyRequests { retry_after } => format!("too many attempts: try again in {retry_after} s"),
            Error::MethodNotAllowed => "method not allowed".into(),
            Error::Storage(_) => "storage unavailable, try again".into(),
            Error::Internal(_) => "internal error".into(),
        }
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Error::BadRequest(msg.into())
    }

    pub fn not_found(msg: impl Into<Text>) -> Self {
        Error::NotFound(msg.into())
    }

    /// Errors a client can cause by sending fewer bytes than it announced, or by stalling:
    /// what arrived before them is worth keeping for a resume. Nothing else: a request
    /// refused for what it says (a bad header, a name too long) has kept nothing.
    pub fn keeps_progress(&self) -> bool {
        matches!(self, Error::IncompleteBody(_) | Error::Interrupted)
    }

    /// Refusals that do not depend on the body: answered at once, without reading it.
    pub fn refuses_caller(&self) -> bool {
        matches!(
            self,
            Error::Unauthorized
                | Error::Forbidden(_)
                | Error::PasswordRequired
                | Error::TooManyRequests { .. }
                | Error::QuotaExceeded(_)
        )
    }

    /// Headers that go with the error whatever the dialect (`Retry-After`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::TooManyRequests { retry_after } => vec![("Retry-After", retry_after.to_string())],
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Details of storage and internal errors go to logs, not to clients.
            Error::Storage(d) | Error::Internal(d) => write!(f, "{}: {d}", self.code()),
            _ => write!(f, "{}: {}", self.code(), self.message()),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_code_and_status() {
        let table: Vec<(Error, &str, u16)> = vec![
            (Error::Unauthorized, "unauthorized", 401),
            (Error::Forbidden("x".into()), "forbidden", 403),
            (Error::not_found("upload not found"), "not_found", 404),
            (Error::Expired("upload expired".into()), "expired", 410),
            (Error::bad_request("file missing"), "bad_request", 400),
            (Error::IncompleteBody("connection reset".into()), "incomplete_body", 400),
            (Error::MissingParameter("asset_uuid".into()), "missing_parameter", 400),
            (Error::TooLarge { max: 1 }, "too_large", 413),
            (Error::BodyTooLarge { max: 1 }, "body_too_large", 413),
            (Error::RangeNotSatisfiable { size: 3 }, "range_not_satisfiable", 416),
            (Error::PasswordRequired, "password_required", 401),
            (Error::TooManyRequests { retry_after: 4 }, "too_many_requests", 429),
            (Error::MethodNotAllowed, "method_not_allowed", 405),
            (Error::UnsupportedMediaType("x".into()), "unsupported_media_type", 415),
            (Error::Conflict("x".into()), "conflict", 409),
            (Error::OffsetMismatch { offset: 7 }, "offset_mismatch", 409),
            (Error::Interrupted, "interrupted", 409),
            (Error::UnsupportedVersion, "unsupported_version", 412),
            (Error::ChecksumMismatch, "checksum_mismatch", 460),
            (Error::DigestMismatch, "digest_mismatch", 400),
            (Error::Storage("r2 down".into()), "storage_unavailable", 503),
            (Error::Internal("bug".into()), "internal", 500),
        ];
        for (e, code, status) in table {
            assert_eq!(e.code(), code, "{e:?}");
            assert_eq!(e.status(), status, "{e:?}");
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Error>(&json).unwrap(), e, "survives the trip from a Durable Object");
        }
    }

    #[test]
    fn only_a_body_cut_short_or_interrupted_keeps_progress() {
        assert!(Error::IncompleteBody("connection reset".into()).keeps_progress());
        assert!(Error::Interrupted.keeps_progress());
        for refused in [
            Error::bad_request("file name longer than 255 bytes"),
            Error::MissingParameter("x".into()),
            Error::TooLarge { max: 1 },
            Error::ChecksumMismatch,
            Error::Storage("r2 down".into()),
        ] {
            assert!(!refused.keeps_progress(), "{refused:?}");
        }
    }

    #[test]
    fn storage_details_are_not_shown_to_clients() {
        let e = Error::Storage("bucket secret-name: 500".into());
        assert!(!e.message().contains("secret-name"));
        assert!(e.to_string().contains("secret-name"), "but logs have them");
        assert_eq!(Error::Expired("upload expired".into()).message(), "upload expired");
    }
}
