//! OpenTera's own documentation, as the vendor's service has it: the `/file/doc` page and the
//! Swagger 2.0 document at `/file/api/swagger.json`, both rendered from the dialect's table
//! (its rows are given: this module imports nothing of the dialect's other parts).

use serde_json::{json, Map, Value};

use crate::dialect::{Op, Reply};
use crate::http::html;
use crate::route::{Endpoint, Method};

/// `/file/doc`: this dialect's endpoints, from its table's rows.
pub fn doc_page(endpoints: &[Endpoint<Op>]) -> Reply {
    let mut rows = String::new();
    for e in endpoints {
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>/file{}</code></td><td>{}</td></tr>\n",
            e.method.as_str(),
            e.path,
            // the docs' `code` marks are dropped, not shown
            html::escape(&e.doc.replace('`', ""))
        ));
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>File Transfer Service API</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>\
         <h1>File Transfer Service (OpenTera)</h1>\
         <p>Identity token: <code>Authorization: OpenTera &lt;token&gt;</code>, <code>?token=</code> or the \
         <code>OpenTera</code> cookie. Swagger document: <a href=\"/file/api/swagger.json\">/file/api/swagger.json</a>. \
         The whole service's interactive documentation, at this dialect's section: \
         <a id=\"openapi\" href=\"/docs#/OpenTera\">/docs#/OpenTera</a> (OpenAPI 3.1: <a href=\"/openapi.json\">/openapi.json</a>).</p>\
         <table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>\n{rows}</tbody></table>\
         </body></html>\n"
    );
    Reply::Text { status: 200, headers: vec![("Content-Type", "text/html; charset=utf-8".into())], body }
}

/// A Swagger 2.0 document of this dialect, from its table's rows (Flask-RESTX serves one there).
pub fn swagger(endpoints: &[Endpoint<Op>]) -> Value {
    let mut paths = Map::new();
    for e in endpoints.iter().filter(|e| e.path.starts_with("/api/") && e.method != Method::Options) {
        let path = e.path.trim_start_matches("/api");
        let ops = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        ops[e.method.as_str().to_ascii_lowercase()] = json!({
            "summary": e.doc,
            "security": [{"OpenTera": []}],
            "responses": {"200": {"description": "Success"}, "400": {"description": "Bad request"}, "403": {"description": "Forbidden"}},
        });
    }
    json!({
        "swagger": "2.0",
        "basePath": "/file/api",
        "info": {"title": "File Transfer Service", "version": "1.0"},
        "securityDefinitions": {"OpenTera": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        "paths": paths,
    })
}
