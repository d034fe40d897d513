//! The service's own endpoints, outside every vendor's URL space. Errors render as NGCP's
//! `{"message": ...}`.

use serde_json::json;

use super::{Dialect, Reply, Service};
use crate::error::Result;
use crate::route::{endpoint, Auth, BodyUse, Endpoint, Media, Method, Spec, Table};
use crate::store::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Health,
    OpenApi,
}

const fn row(op: Op, method: Method, path: &'static str, doc: &'static str) -> Endpoint<super::Op> {
    endpoint(super::Op::Service(op), method, path, Auth::None, BodyUse::None, doc)
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Service,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row(Op::Health, Method::Get, "/healthz", "Liveness: `{\"status\":\"ok\"}`."),
        row(Op::Health, Method::Head, "/healthz", "Liveness, headers only.").with(Spec::ok(&[(200, Media::Empty)])),
        row(Op::OpenApi, Method::Get, "/openapi.json", "This document: every route of every dialect (OpenAPI 3.1)."),
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
