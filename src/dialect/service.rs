//! The service's own endpoints, outside every vendor's URL space. Errors render as NGCP's
//! `{"message": ...}`.

use serde_json::json;

use super::{Dialect, Reply, Service};
use crate::error::Result;
use crate::route::{Auth, BodyUse, Endpoint, Method, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Health,
}

const fn row(method: Method, doc: &'static str) -> Endpoint<super::Op> {
    Endpoint {
        op: super::Op::Service(Op::Health),
        method,
        path: "/healthz",
        auth: Auth::None,
        body: BodyUse::None,
        doc,
    }
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Service,
    prefixes: &[""],
    method_override: false,
    endpoints: &[row(Method::Get, "Liveness: `{\"status\":\"ok\"}`."), row(Method::Head, "Liveness, headers only.")],
};

pub fn handle<B, M, U>(_svc: &Service<'_, B, M, U>, op: Op) -> Result<Reply> {
    match op {
        Op::Health => Ok(Reply::json(200, json!({"status": "ok"}))),
    }
}
