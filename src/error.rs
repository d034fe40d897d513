//! The one error type of the service.
//!
//! Every failure is a variant with a stable machine code and an HTTP status, listed in
//! [`Error::code`] and [`Error::status`] below and nowhere else. Dialects only choose how to
//! render it (`{"message": ...}` for NGCP, `{"errors": [...]}` for PortSIP, ...).

use std::fmt;

/// What went wrong, with the human text a client sees where the dialect shows text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No credentials, or credentials that match no tenant.
    Unauthorized,
    /// A credential that is valid but not allowed to do this.
    Forbidden(&'static str),
    /// The thing named in the URL does not exist (or belongs to another tenant).
    NotFound(&'static str),
    /// The thing existed but its TTL has passed.
    Expired(&'static str),
    /// The request is malformed: missing field, bad number, bad header.
    BadRequest(String),
    /// The body is larger than the service accepts.
    TooLarge { max: u64 },
    /// A `Range` that does not overlap the file.
    RangeNotSatisfiable { size: u64 },
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The body's media type is not the one this endpoint takes.
    UnsupportedMediaType(&'static str),
    /// The request conflicts with the resource's state (offset mismatch, already stored).
    Conflict(String),
    /// R2, KV or a Durable Object failed; not the client's fault.
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
            Error::TooLarge { .. } => "too_large",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::Conflict(_) => "conflict",
            Error::Storage(_) => "storage_unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status every dialect uses for this error unless its vendor says otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed => 405,
            Error::Conflict(_) => 409,
            Error::Expired(_) => 410,
            Error::TooLarge { .. } => 413,
            Error::UnsupportedMediaType(_) => 415,
            Error::RangeNotSatisfiable { .. } => 416,
            Error::Internal(_) => 500,
            Error::Storage(_) => 503,
        }
    }

    /// The text shown to clients. Storage and internal details are not leaked.
    pub fn message(&self) -> String {
        match self {
            Error::Unauthorized => "unauthorized".into(),
            Error::Forbidden(m) | Error::NotFound(m) | Error::Expired(m) => (*m).into(),
            Error::UnsupportedMediaType(m) => (*m).into(),
            Error::BadRequest(m) | Error::Conflict(m) => m.clone(),
            Error::TooLarge { max } => format!("file too large (maximum {max} bytes)"),
            Error::RangeNotSatisfiable { .. } => "range not satisfiable".into(),
            Error::MethodNotAllowed => "method not allowed".into(),
            Error::Storage(_) => "storage unavailable, try again".into(),
            Error::Internal(_) => "internal error".into(),
        }
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Error::BadRequest(msg.into())
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
            (Error::Forbidden("x"), "forbidden", 403),
            (Error::NotFound("upload not found"), "not_found", 404),
            (Error::Expired("upload expired"), "expired", 410),
            (Error::bad_request("file missing"), "bad_request", 400),
            (Error::TooLarge { max: 1 }, "too_large", 413),
            (Error::RangeNotSatisfiable { size: 3 }, "range_not_satisfiable", 416),
            (Error::MethodNotAllowed, "method_not_allowed", 405),
            (Error::UnsupportedMediaType("x"), "unsupported_media_type", 415),
            (Error::Conflict("x".into()), "conflict", 409),
            (Error::Storage("r2 down".into()), "storage_unavailable", 503),
            (Error::Internal("bug".into()), "internal", 500),
        ];
        for (e, code, status) in table {
            assert_eq!(e.code(), code, "{e:?}");
            assert_eq!(e.status(), status, "{e:?}");
        }
    }

    #[test]
    fn storage_details_are_not_shown_to_clients() {
        let e = Error::Storage("bucket secret-name: 500".into());
        assert!(!e.message().contains("secret-name"));
        assert_eq!(Error::Expired("upload expired").message(), "upload expired");
    }
}
