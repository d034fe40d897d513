//! CORS as Twake's fastify-cors has it: `Access-Control-Allow-Origin: *` on every answer,
//! errors included ([`cors`], added in `dialect::with_dialect_headers`), and the answer to a
//! preflight on every path ([`preflight`]).

use super::table::TABLE;
use crate::dialect::{self, Reply, Request};
use crate::route::{Found, Method};

/// The headers a client on another origin may read, besides the safelisted ones.
const EXPOSED_HEADERS: &str = "Content-Disposition, Content-Range, Accept-Ranges, ETag";
/// What a preflight allows when it does not say which headers will come.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Accept, Accept-Language, Content-Language, \
                               X-Requested-With, Range, If-None-Match, If-Range, Cache-Control";

/// What every Twake answer carries, errors included: Twake's backend registers fastify-cors
/// with origin `*` (its web client may live on another host than its API).
pub fn cors() -> [(&'static str, String); 2] {
    [("Access-Control-Allow-Origin", "*".into()), ("Access-Control-Expose-Headers", EXPOSED_HEADERS.into())]
}

/// The answer to a preflight: the route's methods; the headers asked for (as fastify-cors
/// reflects them), else a generous list; cached for a day. The origin comes with [`cors`].
pub fn preflight(req: &Request<'_>) -> Reply {
    let methods = match dialect::route(Method::Options, None, &req.head.path) {
        Found::Endpoint { endpoint, .. } => {
            let mut m: Vec<&str> = Vec::new();
            for e in TABLE.endpoints.iter().filter(|e| e.path == endpoint.path) {
                if !m.contains(&e.method.as_str()) {
                    m.push(e.method.as_str());
                }
            }
            m.join(", ")
        }
        _ => "OPTIONS".into(),
    };
    let asked = req.head.header("access-control-request-headers").map(str::trim).filter(|h| {
        !h.is_empty() && h.len() <= 2048 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_, ".contains(&b))
    });
    let headers = vec![
        ("Access-Control-Allow-Methods", methods),
        ("Access-Control-Allow-Headers", asked.unwrap_or(ALLOWED_HEADERS).to_string()),
        ("Access-Control-Max-Age", "86400".into()),
        ("Vary", "Access-Control-Request-Headers".into()),
    ];
    Reply::Empty { status: 204, headers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::twake::tests::{get, jwt, multipart, res, CID};
    use crate::dialect::twake::PREFIX;
    use crate::engine::file::ids::new_uuid;
    use crate::testkit::{World, ACME_JWT_SECRET};

    /// A Twake web client on another origin than its API: every path answers its preflight,
    /// and every answer, errors included, carries `Access-Control-Allow-Origin: *`. The init
    /// is sent as the client sends it (`'{}'` as `text/plain;charset=UTF-8`, the name raw in
    /// the query, as the browser's URL parser leaves it: `%` as is).
    #[test]
    fn a_client_on_another_origin() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "user-1", &w);
        let origin = ("Origin", "https://web.twake.example");
        let any =
            |r: &Reply, what: &str| assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"), "{what}: {r:?}");
        let raw = "r%C3%A9sum%C3%A9%2050%%20(1).txt";
        let init_path = format!("{PREFIX}/companies/{CID}/files?filename={raw}&type=text/plain&total_size=10");
        let asked = [
            origin,
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization,content-type"),
        ];
        let pre = w.send(Method::Options, &init_path, &asked, Vec::new());
        assert_eq!(pre.status(), 204, "{pre:?}");
        any(&pre, "preflight");
        assert_eq!(pre.header("Access-Control-Allow-Methods"), Some("POST, OPTIONS"));
        assert_eq!(pre.header("Access-Control-Allow-Headers"), Some("authorization,content-type"), "as asked");
        assert_eq!(pre.header("Access-Control-Max-Age"), Some("86400"));
        let headers = [origin, ("Authorization", me.as_str()), ("Content-Type", "text/plain;charset=UTF-8")];
        let init = w.send(Method::Post, &init_path, &headers, b"{}".to_vec());
        any(&init, "init");
        let id = res(&init)["id"].as_str().unwrap().to_string();
        let q = format!("resumableChunkNumber=1&resumableTotalChunks=1&resumableTotalSize=10&resumableFilename={raw}");
        let body = multipart("blob", "text/plain", b"0123456789");
        let len = body.len().to_string();
        let chunk = w.send(
            Method::Post,
            &format!("{PREFIX}/companies/{CID}/files/{id}?{q}"),
            &[
                origin,
                ("Authorization", &me),
                ("Content-Type", "multipart/form-data; boundary=TB"),
                ("Content-Length", &len),
            ],
            body,
        );
        any(&chunk, "chunk");
        assert_eq!(res(&chunk)["metadata"]["name"], "résumé 50% (1).txt");
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        any(&dl, "download");
        assert_eq!(w.body(&dl), b"0123456789");
        let exposed = dl.header("Access-Control-Expose-Headers").unwrap_or("");
        assert!(exposed.contains("Content-Disposition") && exposed.contains("ETag"), "{exposed}");
        // errors too: 401, 404, a route not found, a method not allowed
        any(&get(&w, &format!("/companies/{CID}/files/{id}"), Some("Bearer nope")), "401");
        any(&get(&w, &format!("/companies/{CID}/files/{}", new_uuid()), Some(&me)), "404");
        any(&get(&w, "/companies/x/nothing", None), "no route");
        let put = w.send(Method::Put, &format!("{PREFIX}/companies/{CID}/files/{id}"), &[], Vec::new());
        assert_eq!(put.status(), 405);
        any(&put, "405");
        // a preflight on every path, with the path's methods; a generous list when none asked
        for (path, methods) in [
            (format!("/companies/{CID}/files/{id}"), "POST, GET, DELETE, OPTIONS"),
            (format!("/{CID}/files/{id}"), "GET, OPTIONS"),
            (format!("/companies/{CID}/files/{id}/download"), "GET, HEAD, OPTIONS"),
            (format!("/companies/{CID}/files/{id}/thumbnails/0"), "GET, HEAD, OPTIONS"),
        ] {
            let r = w.send(Method::Options, &format!("{PREFIX}{path}"), &[origin], Vec::new());
            assert_eq!((r.status(), r.header("Access-Control-Allow-Methods")), (204, Some(methods)), "{path}");
            any(&r, &path);
            let allowed = r.header("Access-Control-Allow-Headers").unwrap_or("");
            assert!(allowed.contains("Authorization") && allowed.contains("Content-Type"), "{allowed}");
        }
        let odd = [origin, ("Access-Control-Request-Headers", "x-a\r\nset-cookie: 1")];
        let r = w.send(Method::Options, &init_path, &odd, Vec::new());
        assert!(r.header("Access-Control-Allow-Headers").unwrap().starts_with("Authorization"), "not echoed");
    }
}
