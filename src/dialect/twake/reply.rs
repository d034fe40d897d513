//! Twake's answers: a file in its `{"resource": File}` envelope ([`resource`], epoch-millisecond
//! times, its thumbnails' URLs) and errors in fastify's shape ([`error_reply`]).

use serde_json::{json, Value};

use super::table::PREFIX;
use crate::dialect::Reply;
use crate::engine::ledger::twake::TwakeFile;
use crate::error::Error;

/// fastify's `{"statusCode", "error", "message"}`; `401` is always "Bad credentials".
pub fn error_reply(e: &Error) -> Reply {
    let status = e.status();
    let message = match e {
        Error::Unauthorized => "Bad credentials".to_string(),
        Error::NotFound(m) if m == "not found" => "Route not found".to_string(),
        other => other.message(),
    };
    Reply::json(status, json!({"statusCode": status, "error": crate::http::status::reason(status), "message": message}))
}

/// The `{"resource": File}` envelope of compat-spec §3.
pub fn resource(f: &TwakeFile) -> Reply {
    let thumbs: Vec<Value> = f
        .thumbnails
        .iter()
        .map(|t| {
            json!({"index": t.index, "id": t.id, "type": t.kind, "size": t.size, "width": t.width, "height": t.height,
                   "url": format!("{PREFIX}/companies/{}/files/{}/thumbnails/{}", f.company_id, f.id, t.index)})
        })
        .collect();
    Reply::json(
        200,
        json!({"resource": {
            "company_id": f.company_id,
            "id": f.id,
            "user_id": f.user_id,
            "application_id": Value::Null,
            "updated_at": f.updated_at,
            "created_at": f.created_at,
            "metadata": f.metadata,
            "thumbnails": thumbs,
            "upload_data": f.upload_data,
        }}),
    )
}
