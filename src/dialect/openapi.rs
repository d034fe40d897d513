//! The OpenAPI 3.1 document of every route of every dialect, generated from the router's
//! tables ([`super::TABLES`]), so it cannot drift from what is served: each row gives its
//! method, path (under each of its table's prefixes), auth, body and description, and its
//! [`crate::route::Spec`] the query and header parameters, request media types, successful answers and the
//! errors particular to it. The errors that follow from a row's auth, path parameters and
//! body are added here, each in its dialect's own error shape, and every operation has a
//! `default` answer in that shape for the rest (a storage outage: `503`).

use serde_json::{json, Map, Value};

use super::{Dialect, Op, TABLES};
use crate::http::status::reason;
use crate::route::{Auth, BodyUse, Endpoint, Kind, Media, Method, Param};

/// The tag (section) of an operation: one per dialect, NGCP's sessions apart.
pub fn tag(op: Op) -> &'static str {
    match op {
        Op::Service(_) => "Service",
        Op::Native(_) => "edgeshare",
        Op::Admin(_) => "admin",
        Op::Webhooks(_) => "webhooks",
        Op::Ngcp(_) => "NGCP",
        Op::NgcpSessions(_) => "NGCP sessions",
        Op::OpenTera(_) => "OpenTera",
        Op::Imis(_) => "IMiS",
        Op::Twake(_) => "Twake",
        Op::Tus(_) => "tus",
        Op::Portsip(_) => "PortSIP",
        Op::Requests(_) => "file requests",
    }
}

const TAGS: [(&str, &str); 11] = [
    ("edgeshare", "edgeshare's own API: a tenant's files whatever dialect uploaded them, and share links (`/s/{token}`)."),
    ("file requests", "Upload-only links: a tenant asks for files (`/v1/requests`); anyone with the link sends them through tus at `/r/{token}/files/`, within the request's limits."),
    ("admin", "The operator's API: tenants and their keys at run time, with a token of `EDGESHARE_ADMIN_CREDENTIALS`."),
    ("tus", "tus 1.0 resumable uploads (core, creation, creation-with-upload, creation-defer-length, termination, expiration, checksum)."),
    ("NGCP", "Sipwise NGCP RTC fileshare: simple upload and download, at `/` and `/rtc/fileshare`."),
    ("NGCP sessions", "Sipwise NGCP RTC fileshare sessions, file entries and download tokens."),
    ("OpenTera", "OpenTera FileTransferService assets, under `/file`. Errors are JSON strings."),
    ("Twake", "Twake company files, under `/internal/services/files/v1`. Errors in fastify's shape."),
    ("PortSIP", "PortSIP resumable blob uploads and downloads by digest."),
    ("IMiS", "IMiS upload sessions with sequential `Content-Range` parts."),
    ("Service", "Health and this document."),
];

/// The name of a dialect's error schema, the media type its errors come in, and the status
/// it gives a caller without valid credentials.
fn errors_of(dialect: Dialect) -> (&'static str, &'static str, u16) {
    match dialect {
        Dialect::Service | Dialect::Ngcp => ("NgcpError", "application/json", 401),
        Dialect::Native => ("NativeError", "application/json", 401),
        Dialect::OpenTera => ("OpenTeraError", "application/json", 403),
        Dialect::Imis => ("ImisError", "application/json", 401),
        Dialect::Twake => ("TwakeError", "application/json", 401),
        Dialect::Tus => ("TusError", "text/plain", 401),
        Dialect::Portsip => ("PortsipError", "application/json", 401),
    }
}

fn error_schemas() -> Value {
    let text = json!({"type": "string"});
    json!({
        "NgcpError": {"type": "object", "required": ["message"], "properties": {"message": text}},
        "NativeError": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string", "description": "Stable machine code (`not_found`, `expired`, ...)."}, "message": text}
            }}
        },
        "OpenTeraError": {
            "description": "A JSON string (`\"Forbidden\"`), or Flask-RESTX's validation or routing object.",
            "anyOf": [
                text,
                {"type": "object", "properties": {"message": text, "errors": {"type": "object", "additionalProperties": text}}}
            ]
        },
        "ImisError": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "object", "properties": {"code": {"type": "integer"}, "message": text}}}
        },
        "TwakeError": {
            "type": "object",
            "required": ["statusCode", "error", "message"],
            "properties": {"statusCode": {"type": "integer"}, "error": text, "message": text}
        },
        "TusError": {"type": "string"},
        "PortsipError": {
            "type": "object",
            "required": ["errors"],
            "properties": {"errors": {"type": "array", "items": {
                "type": "object",
                "properties": {"code": text, "message": text, "detail": text}
            }}}
        },
    })
}

fn security_schemes() -> Value {
    json!({
        "basicAuth": {"type": "http", "scheme": "basic", "description": "A tenant's user and password."},
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A tenant's token."},
        "openTeraHeader": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`OpenTera <token>`: a static token or an HS256 JWT."},
        "openTeraQuery": {"type": "apiKey", "in": "query", "name": "token"},
        "openTeraCookie": {"type": "apiKey", "in": "cookie", "name": "OpenTera"},
        "twakeJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An HS256 JWT signed with the tenant's secret."},
        "imisSession": {"type": "http", "scheme": "bearer", "description": "The 64-character token of `session/open`."},
        "adminToken": {"type": "http", "scheme": "bearer", "description": "An operator's token (its sha256 in `EDGESHARE_ADMIN_CREDENTIALS`)."},
    })
}

/// Who may call a row, as OpenAPI security requirements.
fn security(dialect: Dialect, auth: Auth) -> Value {
    let tenant = || vec![json!({"basicAuth": []}), json!({"bearerAuth": []})];
    match (auth, dialect) {
        (Auth::None | Auth::Capability | Auth::RevocableCapability, _) => json!([]),
        (Auth::Tenant, _) => Value::Array(tenant()),
        (Auth::Optional, _) => {
            let mut anyone = vec![json!({})];
            anyone.extend(tenant());
            Value::Array(anyone)
        }
        (Auth::Own, Dialect::OpenTera) => {
            json!([{"openTeraHeader": []}, {"openTeraQuery": []}, {"openTeraCookie": []}])
        }
        (Auth::Own, Dialect::Twake) => json!([{"twakeJwt": []}]),
        (Auth::Admin, _) => json!([{"adminToken": []}]),
        (Auth::Own, _) => json!([{"imisSession": []}]),
    }
}

fn schema_of(kind: Kind) -> Value {
    match kind {
        Kind::Str => json!({"type": "string"}),
        Kind::Int => json!({"type": "integer", "minimum": 0}),
        Kind::Bool => json!({"type": "boolean"}),
    }
}

fn param(p: &Param, place: &str) -> Value {
    json!({"name": p.name, "in": place, "required": p.required, "description": p.doc, "schema": schema_of(p.kind)})
}

/// The `{name}` parameters of a path pattern.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

fn content(media: Media) -> Option<Value> {
    match media {
        Media::Empty => None,
        Media::Json => Some(json!({"application/json": {"schema": {}}})),
        Media::Bytes => Some(json!({"*/*": {"schema": {"type": "string", "format": "binary"}}})),
        Media::Html => Some(json!({"text/html": {"schema": {"type": "string"}}})),
    }
}

/// The error statuses of a row: its own, and those its auth, path and body imply.
fn error_statuses(dialect: Dialect, e: &Endpoint<Op>) -> Vec<u16> {
    let (_, _, unauthorized) = errors_of(dialect);
    let mut all: Vec<u16> = e.spec.errors.to_vec();
    if matches!(e.auth, Auth::Tenant | Auth::Own) {
        all.push(unauthorized);
    }
    if e.auth == Auth::Admin {
        // no operator's token; a tenant's credentials
        all.extend([401, 403]);
    }
    if !path_params(e.path).is_empty() {
        all.push(404);
    }
    if !e.spec.query.is_empty() || e.body != BodyUse::None {
        all.push(400);
    }
    if e.body != BodyUse::None {
        all.push(413);
    }
    if e.spec.takes == crate::route::JSON && matches!(e.auth, Auth::Tenant | Auth::Optional) {
        // a body that is not JSON (`check_json_body`)
        all.push(415);
    }
    if matches!(e.auth, Auth::Tenant | Auth::Optional)
        && !matches!(e.method, Method::Get | Method::Head | Method::Options)
    {
        // Basic credentials sent from another origin's page (`check_same_origin`)
        all.push(403);
    }
    all.sort_unstable();
    all.dedup();
    all
}

fn error_response(dialect: Dialect, status: u16) -> Value {
    if status == 416 {
        // a download's: empty, with `Content-Range: bytes */{size}`
        return json!({"description": "Range Not Satisfiable: empty, with `Content-Range: bytes */{size}`."});
    }
    let (schema, media, _) = errors_of(dialect);
    let mut body = Map::new();
    body.insert(media.into(), json!({"schema": {"$ref": format!("#/components/schemas/{schema}")}}));
    json!({"description": reason(status), "content": body})
}

fn operation(dialect: Dialect, e: &Endpoint<Op>, id: String) -> Value {
    let mut params: Vec<Value> = path_params(e.path)
        .into_iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    params.extend(e.spec.query.iter().map(|p| param(p, "query")));
    params.extend(e.spec.headers.iter().map(|p| param(p, "header")));
    let mut responses = Map::new();
    for (status, media) in e.spec.ok {
        let mut r = json!({"description": reason(*status)});
        if let Some(c) = content(*media) {
            r["content"] = c;
        }
        responses.insert(status.to_string(), r);
    }
    // a share link answers a browser's errors with a page
    use super::native::Op as N;
    let html = matches!(e.op, Op::Native(N::Share | N::ShareFile | N::ShareZip));
    for status in error_statuses(dialect, e) {
        let r = responses.entry(status.to_string()).or_insert_with(|| error_response(dialect, status));
        if html && status >= 400 {
            r["content"]["text/html"] = json!({"schema": {"type": "string"}});
        }
    }
    let mut default = error_response(dialect, 0);
    if html {
        default["content"]["text/html"] = json!({"schema": {"type": "string"}});
    }
    default["description"] = json!("Any other error, in this dialect's shape (storage unavailable: 503).");
    responses.insert("default".into(), default);
    let summary: String = e.doc.split(". ").next().unwrap_or(e.doc).trim_end_matches('.').chars().take(120).collect();
    let mut op = json!({
        "tags": [tag(e.op)],
        "operationId": id,
        "summary": summary,
        "description": e.doc,
        "security": security(dialect, e.auth),
        "responses": responses,
    });
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if !e.spec.takes.is_empty() {
        let mut media = Map::new();
        for t in e.spec.takes {
            let schema = match *t {
                "application/json" => json!({"type": "object"}),
                "application/x-www-form-urlencoded" => {
                    json!({"type": "object", "properties": {"password": {"type": "string"}}})
                }
                "multipart/form-data" => {
                    json!({"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}})
                }
                _ => json!({"type": "string", "format": "binary"}),
            };
            media.insert(t.to_string(), json!({"schema": schema}));
        }
        op["requestBody"] = json!({"required": false, "content": media});
    }
    op
}

/// The method's key in a path item.
fn method_key(m: Method) -> &'static str {
    match m {
        Method::Get => "get",
        Method::Head => "head",
        Method::Post => "post",
        Method::Put => "put",
        Method::Patch => "patch",
        Method::Delete => "delete",
        Method::Options => "options",
        Method::Other => "trace",
    }
}

/// Every (path, method) the tables serve, as the document names them.
pub fn operations() -> Vec<(String, Method, &'static Endpoint<Op>, Dialect)> {
    let mut out = Vec::new();
    for table in &TABLES {
        for prefix in table.prefixes {
            for e in table.endpoints {
                out.push((format!("{prefix}{}", e.path), e.method, e, table.dialect));
            }
        }
    }
    out
}

/// An operation id from the tag, method and path: `tus_patch_files_id`.
fn operation_id(op: Op, method: Method, path: &str) -> String {
    let mut id = format!("{}_{}", tag(op), method_key(method));
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.push_str(seg.trim_matches(|c| c == '{' || c == '}'));
    }
    id.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// The whole document, with `origin` as its server.
pub fn document(origin: &str) -> Value {
    let mut paths = Map::new();
    for (path, method, e, dialect) in operations() {
        let item = paths.entry(path.clone()).or_insert_with(|| json!({}));
        item[method_key(method)] = operation(dialect, e, operation_id(e.op, method, &path));
    }
    let mut schemas = error_schemas();
    schemas["File"] = json!({
        "type": "object",
        "required": ["id", "name", "dialect", "size", "sha256", "content_type", "created_at", "expires_at"],
        "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "dialect": {"type": "string"},
            "size": {"type": "integer"}, "sha256": {"type": "string"}, "content_type": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"}
        }
    });
    schemas["Link"] = json!({
        "type": "object",
        "required": ["token", "state", "url", "expires_at", "max_downloads", "downloads"],
        "properties": {
            "token": {"type": "string"},
            "state": {"type": "string", "enum": ["active", "used_up", "expired", "revoked"]},
            "url": {"type": "string"}, "file_id": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "max_downloads": {"type": ["integer", "null"]}, "downloads": {"type": "integer"},
            "has_password": {"type": "boolean"}
        }
    });
    schemas["Tenant"] = json!({
        "type": "object",
        "required": ["id", "status", "created_at", "bootstrap"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": ["active", "suspended"]},
            "created_at": {"type": ["string", "null"], "format": "date-time", "description": "`null`: a tenant of `EDGESHARE_CREDENTIALS` never changed here."},
            "bootstrap": {"type": "boolean", "description": "Named by `EDGESHARE_CREDENTIALS`."},
            "keys": {"type": "integer", "description": "How many keys it has (one tenant's answer only)."}
        }
    });
    schemas["Key"] = json!({
        "type": "object",
        "required": ["id", "kind", "user", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": ["bearer", "basic", "opentera"]},
            "user": {"type": ["string", "null"], "description": "A basic key's user."},
            "created_at": {"type": "string", "format": "date-time"},
            "secret": {"type": "string", "description": "Only in the answer that mints it."}
        }
    });
    // `{name: [item]}`, and its `cursor` if it comes in pages
    let list = |name: &str, item: &str, paged: bool| {
        let mut v = json!({"type": "object", "required": [name], "properties": {
            name: {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}}}});
        if paged {
            v["required"] = json!([name, "cursor"]);
            v["properties"]["cursor"] = json!({"type": ["string", "null"]});
        }
        v
    };
    let one = |item: &str| json!({"$ref": format!("#/components/schemas/{item}")});
    // the native and admin APIs' JSON answers, by reference
    for (path, method, status, schema) in [
        ("/v1/files", "get", "200", list("files", "File", true)),
        ("/v1/files/{id}/links", "post", "201", one("Link")),
        ("/v1/files/{id}/links", "get", "200", list("links", "Link", false)),
        ("/v1/admin/tenants", "post", "201", one("Tenant")),
        ("/v1/admin/tenants", "get", "200", list("tenants", "Tenant", true)),
        ("/v1/admin/tenants/{tenant}", "get", "200", one("Tenant")),
        ("/v1/admin/tenants/{tenant}/suspend", "post", "200", one("Tenant")),
        ("/v1/admin/tenants/{tenant}/resume", "post", "200", one("Tenant")),
        ("/v1/admin/tenants/{tenant}/keys", "post", "201", one("Key")),
        ("/v1/admin/tenants/{tenant}/keys", "get", "200", list("keys", "Key", false)),
    ] {
        let op = paths.get_mut(path).and_then(|p| p.get_mut(method));
        let op = op.unwrap_or_else(|| panic!("{method} {path} is a row"));
        op["responses"][status]["content"] = json!({"application/json": {"schema": schema}});
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "edgeshare",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One file store on Cloudflare Workers behind several vendors' file APIs, \
                            tus 1.0, and edgeshare's own API with share links. Generated from the \
                            router's tables.",
        },
        "servers": [{"url": origin}],
        "tags": TAGS.iter().map(|(name, d)| json!({"name": name, "description": d})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes()},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Found;

    /// Every row of every table is in the document, and everything in the document is a row.
    #[test]
    fn the_document_and_the_router_agree() {
        let doc = document("https://edge.example");
        let paths = doc["paths"].as_object().unwrap();
        let mut rows = 0;
        for (path, method, e, _) in operations() {
            let op = &paths[&path][method_key(method)];
            assert!(op.is_object(), "{} {path} is documented", method.as_str());
            assert_eq!(op["description"], e.doc);
            rows += 1;
        }
        let mut documented = 0;
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                documented += 1;
                let concrete = path.replace('{', "x").replace('}', "");
                let m = Method::parse(method);
                match super::super::route(m, None, &concrete) {
                    Found::Endpoint { endpoint, .. } => {
                        assert_eq!(endpoint.doc, op["description"], "{method} {path} is routed to its own row")
                    }
                    other => panic!("{method} {path} is documented but routes to {other:?}"),
                }
            }
        }
        assert_eq!(rows, documented, "no row twice, none missing");
        assert!(rows > 60);
    }

    #[test]
    fn operations_have_auth_errors_and_unique_ids() {
        let doc = document("https://edge.example");
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()), "{method} {path}");
                assert!(op["responses"]["default"].is_object());
                assert!(op["tags"][0].is_string());
            }
        }
        let tus_patch = &doc["paths"]["/files/{id}"]["patch"];
        assert_eq!(tus_patch["security"], json!([{"basicAuth": []}, {"bearerAuth": []}]));
        assert!(tus_patch["responses"]["401"]["content"]["text/plain"].is_object(), "tus errors are text");
        let asset = &doc["paths"]["/file/api/assets"]["get"];
        assert!(asset["responses"]["403"].is_object(), "OpenTera refuses with 403");
        assert_eq!(doc["paths"]["/s/{token}"]["get"]["security"], json!([]));
        let link = &doc["paths"]["/v1/files/{id}/links"]["post"]["responses"]["201"];
        assert_eq!(link["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Link");
        assert!(doc["paths"]["/rtc/fileshare/uploads"]["post"].is_object(), "every prefix");
        // the operator's routes: its token, and a tenant's credentials refused
        let mint = &doc["paths"]["/v1/admin/tenants/{tenant}/keys"]["post"];
        assert_eq!(mint["security"], json!([{"adminToken": []}]));
        assert!(mint["responses"]["401"].is_object() && mint["responses"]["403"].is_object());
        assert_eq!(
            mint["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Key"
        );
        assert_eq!(mint["tags"][0], "admin");
        assert_eq!(
            operation_id(Op::Tus(super::super::tus::Op::Patch), Method::Patch, "/files/{id}"),
            "tus_patch_files_id"
        );
    }
}
