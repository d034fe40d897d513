//! Sipwise NGCP "RTC fileshare" (compat-spec §1), at `/` and `/rtc/fileshare`: the simple
//! upload and its share link ([`simple`]), and sessions of file entries with download tokens
//! ([`sessions`]). This module holds what the two share: their URL spaces, the `ttl`
//! parameter, and errors as `{"message": ...}` (with the Basic challenge on `401`).
//!
//! May import: the dialect layer's common parts (`crate::dialect`: requests, replies, forms,
//! downloads), the engine, `crate::{auth, error, http, route, secret, store}`. Not another
//! vendor's module; [`simple`] and [`sessions`] import this module, never each other.

pub mod sessions;
pub mod simple;

use serde_json::json;

use super::Reply;
use crate::error::Error;
use crate::route::{opt, Kind, Param};

/// Where NGCP's paths are served: under `/rtc/fileshare`, and at the root.
pub const PREFIXES: &[&str] = &["/rtc/fileshare", ""];

/// The `ttl` query parameter (NGCP uploads and sessions).
pub const TTL: &[Param] =
    &[opt("ttl", Kind::Int, "Seconds it lives (a positive integer; capped by the configured maximum).")];

/// The answer to a form without its `file` field.
pub const FILE_MISSING: &str = "file missing";

/// `{"message": ...}` with the error's status, and the Basic challenge on 401.
pub fn error_reply(e: &Error) -> Reply {
    let mut headers = Vec::new();
    if matches!(e, Error::Unauthorized) {
        headers.push(("WWW-Authenticate", "Basic realm=\"fileshare\"".to_string()));
    }
    Reply::Json { status: e.status(), headers, body: json!({ "message": e.message() }) }
}
