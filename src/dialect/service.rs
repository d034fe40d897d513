//! The service's own endpoints, outside every vendor's URL space. Errors render as NGCP's
//! `{"message": ...}`.

use serde_json::json;

use super::{Dialect, Reply, Service};
use crate::error::Result;
use crate::route::{row, Media, Spec, Table};
use crate::store::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Health,
    OpenApi,
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Service,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row!(Get "/healthz", super::Op::Service(Op::Health), None, None, "Liveness: `{\"status\":\"ok\"}`."),
        row!(Head "/healthz", super::Op::Service(Op::Health), None, None, "Liveness, headers only.")
            .with(Spec::ok(&[(200, Media::Empty)])),
        row!(Get "/openapi.json", super::Op::Service(Op::OpenApi), None, None,
            "This document: every route of every dialect (OpenAPI 3.1)."),
    ],
};

pub fn handle<P: Platform>(_svc: &Service<'_, P>, op: Op, origin: &str) -> Result<Reply> {
    match op {
        Op::Health => Ok(Reply::json(200, json!({"status": "ok"}))),
        Op::OpenApi => Ok(Reply::json(200, super::openapi::document(origin)).with_headers(&[
            ("Access-Control-Allow-Origin", "*".into()),
            ("Cache-Control", "public, max-age=300".into()),
        ])),
    }
}
