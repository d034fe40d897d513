//! OpenTera FileTransferService (compat-spec §2), under `/file`: assets uploaded as a
//! multipart form (`file_asset` JSON and `file`), downloaded, deleted and described with an
//! asset access token the upload returns. Identity tokens come, in the vendor's order, from
//! `Authorization: OpenTera <token>` (a header of another scheme is passed over), `?token=`,
//! or the `OpenTera` cookie: a tenant's static token (uploads only), or an HS256 JWT as
//! OpenTera's server issues them, the caller's `user_uuid`, `participant_uuid`, `device_uuid`
//! or `service_uuid` telling its kind and the tenant's key of that kind verifying it
//! ([`crate::auth::KeyKind`]; `exp` and `iss` as each kind carries them: `token::Kind::key`).
//! Access tokens (`asset_uuids`, a list or one uuid string, and `requester_uuid`) are
//! verified, and issued, with the tenant's `access` key. Every refusal is `403` with a
//! JSON-string body; every answer carries wildcard CORS.
//!
//! An asset is a file like any other, private to its tenant; its record (asset fields
//! included) is kept in its R2 sidecar, so that a rename is one strongly consistent write.
//!
//! This module: the operations, their table, errors, CORS and the dispatch. Its parts:
//! [`token`] (identity and access tokens), [`asset`] (the upload form, the asset JSON, infos
//! and rename) and [`doc`] (the doc page and the Swagger document, from the table's rows).
//!
//! May import: the dialect layer's common parts (`crate::dialect`), the engine,
//! `crate::{auth, config, error, http, route, store}`; not another vendor's module. Its parts
//! never import this module; of each other, [`asset`] imports [`token`], and that is all.

pub mod asset;
pub mod doc;
pub mod token;

use serde_json::json;

use super::Op::OpenTera;
use super::{download_reply, fetch_whole, Dialect, Reply, Request, Service};
use crate::engine::file::ids::parse_uuid;
use crate::engine::file::record::{guess_content_type, Vendor};
use crate::engine::file::visibility::Via;
use crate::engine::Read;
use crate::error::{Error, Result};
use crate::http::download::CachePolicy;
use crate::route::{
    req, row, Kind as ParamKind, Media, Param, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD, JSON, MULTIPART, RANGE_HEADERS,
};
use crate::store::{Body, Platform};
use asset::{file_data, infos_post, upload, MISSING, NO_ASSET};
pub use token::{access_token, static_uuid};
use token::{check_access, identify, FORBIDDEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Upload,
    Download,
    Delete,
    Infos,
    InfosPost,
    Options,
    Doc,
    Swagger,
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::OpenTera,
    prefixes: &["/file"],
    method_override: false,
    endpoints: &[
        row!(Post "/api/assets", OpenTera(Op::Upload), Own, Read,
            "Upload an asset: multipart `file_asset` (JSON string: `id_session`, `asset_name`) and `file`.")
        .with(Spec::DEFAULT.takes(MULTIPART)),
        row!(Get "/api/assets", OpenTera(Op::Download), Own, None, "Download an asset: `?asset_uuid=&access_token=`.")
            .with(Spec::ok(DOWNLOAD).query(ASSET_QUERY).headers(RANGE_HEADERS).errors(&[404, 416])),
        row!(Head "/api/assets", OpenTera(Op::Download), Own, None, "Download an asset, headers only.")
            .with(Spec::ok(DOWNLOAD_HEAD).query(ASSET_QUERY).headers(RANGE_HEADERS).errors(&[404, 416])),
        row!(Delete "/api/assets", OpenTera(Op::Delete), Own, None, "Delete an asset: `?uuid=&access_token=`.").with(
            Spec::DEFAULT.query(&[req("uuid", ParamKind::Str, "The asset's uuid."), ACCESS_TOKEN]).errors(&[404]),
        ),
        row!(Options "/api/assets", OpenTera(Op::Options), None, None, "CORS preflight.")
            .with(Spec::ok(&[(200, Media::Empty)])),
        row!(Get "/api/assets/infos", OpenTera(Op::Infos), Own, None,
            "An asset's file data: `?asset_uuid=&access_token=`.")
        .with(Spec::DEFAULT.query(ASSET_QUERY).errors(&[404])),
        row!(Post "/api/assets/infos", OpenTera(Op::InfosPost), Own, Read,
            "File data of several assets (`{\"assets\": [...]}`: those held, each answered once, at most 100 distinct \
            assets in at most 1000 entries, else 400), or a rename (`{\"file_asset\": {...}}` with \
            `asset_original_filename`).")
        .with(Spec::DEFAULT.takes(JSON).errors(&[404])),
        row!(Options "/api/assets/infos", OpenTera(Op::Options), None, None, "CORS preflight.")
            .with(Spec::ok(&[(200, Media::Empty)])),
        row!(Get "/doc", OpenTera(Op::Doc), None, None, "This dialect's documentation page.")
            .with(Spec::ok(&[(200, Media::Html)])),
        row!(Get "/api/swagger.json", OpenTera(Op::Swagger), None, None, "This dialect's Swagger 2.0 document."),
    ],
};
const ACCESS_TOKEN: Param = req("access_token", ParamKind::Str, "The asset's access token (from its upload).");
const ASSET_QUERY: &[Param] = &[req("asset_uuid", ParamKind::Str, "The asset's uuid."), ACCESS_TOKEN];

/// The wildcard CORS of every answer, as the vendor sends it.
pub fn cors() -> [(&'static str, String); 3] {
    [
        ("Access-Control-Allow-Origin", "*".into()),
        ("Access-Control-Allow-Headers", "*".into()),
        ("Access-Control-Allow-Methods", "*".into()),
    ]
}

/// Errors as Flask-RESTX renders them: JSON strings, except reqparse's validation error and
/// the router's own `404`/`405`; a credential problem is always `403 "Forbidden"`.
pub fn error_reply(e: &Error) -> Reply {
    let (status, body) = match e {
        Error::Unauthorized => (403, json!(FORBIDDEN)),
        Error::MissingParameter(name) => (
            400,
            json!({
                "errors": { name.to_string(): "Missing required parameter in the query string" },
                "message": "Input payload validation failed",
            }),
        ),
        Error::MethodNotAllowed => (405, json!({"message": "The method is not allowed for the requested URL."})),
        Error::NotFound(m) if m == "not found" => (
            404,
            json!({"message": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."}),
        ),
        other => (other.status(), json!(other.message())),
    };
    Reply::Json { status, headers: Vec::new(), body }
}

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    let (config, now) = (svc.ctx.config, svc.ctx.now());
    match op {
        Op::Options => {
            Ok(Reply::Empty { status: 200, headers: vec![("Allow", "GET, HEAD, POST, DELETE, OPTIONS".into())] })
        }
        Op::Doc => Ok(doc::doc_page(TABLE.endpoints)),
        Op::Swagger => Ok(Reply::json(200, doc::swagger(TABLE.endpoints))),
        Op::Upload => {
            let who = identify(svc.ctx, req.head, false).await?;
            req.acting_as(&who.tenant);
            upload(svc, req, &who, P::read(body)).await
        }
        Op::Download | Op::Delete | Op::Infos => {
            let who = identify(svc.ctx, req.head, true).await?;
            req.acting_as(&who.tenant);
            let uuid_param = if op == Op::Delete { "uuid" } else { "asset_uuid" };
            let asset = req.head.query_param(uuid_param).filter(|v| !v.is_empty());
            let asset = asset.ok_or(Error::MissingParameter(uuid_param.into()))?;
            let token = req.head.query_param("access_token").filter(|v| !v.is_empty());
            let token = token.ok_or(Error::MissingParameter("access_token".into()))?;
            let denied = if op == Op::Infos { "Access denied for that asset" } else { "Access denied to asset" };
            check_access(config, &who, &token, &asset, now, denied)?;
            let asset = parse_uuid(&asset).ok_or_else(|| Error::not_found(NO_ASSET))?;
            let read = if op == Op::Download { fetch_whole(req.head, req.method) } else { Read::Head };
            let mut opened = svc.ctx.open(&asset, Via::Owner, Some(&who.tenant), MISSING, read).await?;
            if opened.record.vendor != Vendor::OpenTera {
                return Err(Error::not_found(NO_ASSET));
            }
            match op {
                Op::Download => {
                    opened.record.content_type = guess_content_type(&opened.record.name).to_string();
                    Ok(download_reply(opened, req.head, req.method, CachePolicy::Private))
                }
                Op::Delete => {
                    svc.ctx.delete_file(&opened.record).await?;
                    Ok(Reply::json(200, json!("")))
                }
                _ => Ok(Reply::json(200, file_data(&opened.record))),
            }
        }
        Op::InfosPost => {
            let who = identify(svc.ctx, req.head, false).await?;
            req.acting_as(&who.tenant);
            infos_post(svc, &who, P::read(body)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::jwt;
    use crate::route::Method;
    use crate::testkit::{World, ACME_JWT_SECRET, ACME_OPENTERA_STATIC, BOBCO_JWT_SECRET};
    use serde_json::Value;
    pub(super) const PARTICIPANT: &str = "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21";

    /// The access log names the tenant of an OpenTera identity token (the dialect's own
    /// credentials, not the row's), and of no refused one.
    #[test]
    fn the_outcome_names_the_tenant_of_an_identity_token() {
        let w = World::new();
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        let run = |auth: &str| {
            let headers = [("Authorization", auth), ("Content-Type", "application/json")];
            let body = br#"{"assets": []}"#.to_vec().into();
            futures_executor::block_on(w.request(Method::Post, "/file/api/assets/infos", &headers, body))
        };
        let ok = run(&auth);
        assert_eq!((ok.reply.status(), ok.tenant), (200, Some(crate::auth::Tenant("acme".into()))));
        let forged = format!("OpenTera {}", identity("not-the-secret-0123456789", "user_uuid", PARTICIPANT, 3600, &w));
        assert_eq!(run(&forged).tenant, None);
    }

    /// A dynamic identity token as OpenTera's server issues it.
    pub(super) fn identity(secret: &str, claim: &str, uuid: &str, exp_in: i64, w: &World) -> String {
        let now = (w.now() / 1000) as i64;
        let c = json!({"iss": "TeraServer", "iat": now, "exp": now + exp_in, claim: uuid, "id_participant": 7,
                       "participant_name": "P7"});
        jwt::sign(c.as_object().unwrap(), secret.as_bytes())
    }

    pub(super) fn form(asset: Option<&str>, file: Option<(&str, &[u8])>) -> Vec<u8> {
        let mut b = Vec::new();
        if let Some(a) = asset {
            b.extend_from_slice(
                format!("--XB\r\nContent-Disposition: form-data; name=\"file_asset\"\r\n\r\n{a}\r\n").as_bytes(),
            );
        }
        if let Some((name, data)) = file {
            b.extend_from_slice(
                format!("--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application type (ex: application/zip)\r\n\r\n").as_bytes(),
            );
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XB--\r\n");
        b
    }

    pub(super) fn upload(w: &World, auth: &str, body: Vec<u8>) -> Reply {
        let len = body.len().to_string();
        let headers = [
            ("Authorization", auth),
            ("Content-Type", "multipart/form-data; boundary=XB"),
            ("Content-Length", len.as_str()),
        ];
        w.send(Method::Post, "/file/api/assets", &headers, body)
    }

    pub(super) fn get(w: &World, m: Method, path_query: &str, auth: &str) -> Reply {
        w.send(m, path_query, &[("Authorization", auth)], Vec::new())
    }

    /// The seed's example, as written: `id_session` "Session number", the part's type
    /// "application type (ex: application/zip)", a static token.
    #[test]
    fn the_seed_upload_then_download_infos_rename_delete() {
        let w = World::new();
        let data = b"PK\x03\x04 some zip bytes";
        let asset = r#"{"id_session": "Session number", "asset_name": "Asset Name"}"#;
        let auth = format!("OpenTera {ACME_OPENTERA_STATIC}");
        let r = upload(&w, &auth, form(Some(asset), Some(("my report.zip", data))));
        assert_eq!(r.status(), 200, "{r:?}");
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        let a = World::json(&r);
        for field in [
            "id_asset",
            "id_session",
            "id_user",
            "id_participant",
            "id_device",
            "id_service",
            "asset_name",
            "asset_uuid",
            "asset_service_uuid",
            "asset_type",
            "asset_datetime",
            "asset_expiration_datetime",
            "asset_service_owner_name",
            "asset_session_name",
            "id_asset_file_data",
            "asset_original_filename",
            "asset_file_size",
            "asset_infos_url",
            "asset_url",
            "access_token",
        ] {
            assert!(a.get(field).is_some(), "{field} in {a}");
        }
        assert!(a.get("asset_user").is_none(), "display names only with their id");
        assert_eq!((a["id_asset"].as_u64(), a["id_asset_file_data"].as_u64()), (Some(1), Some(1)));
        assert_eq!(a["id_session"], "Session number");
        assert_eq!(a["asset_name"], "Asset Name");
        assert_eq!(a["asset_original_filename"], "my_report.zip");
        assert_eq!(a["asset_file_size"], data.len());
        assert_eq!(a["asset_type"], "application/zip");
        assert_eq!(a["asset_datetime"], "2024-05-02T10:00:00.000000+00:00");
        assert_eq!(a["asset_url"], "https://edge.example/file/api/assets");
        assert_eq!(a["asset_infos_url"], "https://edge.example/file/api/assets/infos");
        let uuid = a["asset_uuid"].as_str().unwrap().to_string();
        let token = a["access_token"].as_str().unwrap().to_string();
        let claims = jwt::verify(&token, ACME_JWT_SECRET.as_bytes(), Some("TeraServer"), w.now() / 1000).unwrap();
        assert_eq!(claims["requester_uuid"], static_uuid(ACME_OPENTERA_STATIC));
        assert_eq!(claims["asset_uuids"], json!([uuid]));
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 1800);
        // a second upload gets the next id
        let again = World::json(&upload(&w, &auth, form(Some(asset), Some(("b.txt", b"b")))));
        assert_eq!(again["id_asset"], 2);

        // downloads need a dynamic token of the same requester
        let me = identity(ACME_JWT_SECRET, "participant_uuid", &static_uuid(ACME_OPENTERA_STATIC), 600, &w);
        let dl_path = format!("/file/api/assets?asset_uuid={uuid}&access_token={token}");
        let static_dl = get(&w, Method::Get, &dl_path, &auth);
        assert_eq!(
            (static_dl.status(), World::json(&static_dl)),
            (403, json!("Forbidden")),
            "static tokens upload only"
        );
        let dl = get(&w, Method::Get, &dl_path, &format!("OpenTera {me}"));
        assert_eq!(dl.status(), 200);
        assert_eq!(w.body(&dl), data);
        assert_eq!(dl.header("Content-Type"), Some("application/zip"));
        assert!(dl.header("Content-Disposition").unwrap().contains("filename=\"my_report.zip\""));
        assert_eq!(dl.header("Access-Control-Allow-Origin"), Some("*"));
        // ?token= and the cookie work too
        let q = w.send(Method::Get, &format!("{dl_path}&token={me}"), &[("Range", "bytes=0-1")], Vec::new());
        assert_eq!((q.status(), w.body(&q)), (206, b"PK".to_vec()));
        let c = w.send(Method::Get, &dl_path, &[("Cookie", &format!("a=b; OpenTera={me}"))], Vec::new());
        assert_eq!(c.status(), 200);

        let infos = get(
            &w,
            Method::Get,
            &format!("/file/api/assets/infos?asset_uuid={uuid}&access_token={token}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!(
            World::json(&infos),
            json!({"id_asset_file_data": 1, "asset_uuid": uuid, "asset_original_filename": "my_report.zip", "asset_file_size": data.len()})
        );
        let post = |body: Value| {
            let b = body.to_string();
            w.send(
                Method::Post,
                "/file/api/assets/infos",
                &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
                b.into_bytes(),
            )
        };
        let many = post(json!({"assets": [{"asset_uuid": uuid, "access_token": token}]}));
        assert_eq!(World::json(&many)[0]["asset_uuid"], uuid.as_str());
        let renamed = post(
            json!({"file_asset": {"asset_uuid": uuid, "access_token": token, "asset_original_filename": "new name.zip"}}),
        );
        assert_eq!(World::json(&renamed)["asset_original_filename"], "new_name.zip");
        let dl = get(&w, Method::Get, &dl_path, &format!("OpenTera {me}"));
        assert!(dl.header("Content-Disposition").unwrap().contains("new_name.zip"), "the rename is seen at once");
        let listed = futures_executor::block_on(w.ctx().list_files("acme", None)).unwrap();
        let listed = listed.files.iter().find(|f| f.id == uuid).unwrap();
        assert_eq!(listed.name, "new_name.zip", "and in the tenant's listing");
        assert_eq!(post(json!({"nothing": 1})).status(), 400);
        assert_eq!(World::json(&post(json!({"nothing": 1}))), json!("Badly formatted request"));

        let del = get(
            &w,
            Method::Delete,
            &format!("/file/api/assets?uuid={uuid}&access_token={token}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!((del.status(), World::json(&del)), (200, json!("")));
        let gone = get(&w, Method::Get, &dl_path, &format!("OpenTera {me}"));
        assert_eq!((gone.status(), World::json(&gone)), (404, json!("No asset found")));
        assert!(w.blobs.object(&crate::engine::file::keys::object(&uuid)).is_none());
        assert!(w.blobs.object(&crate::engine::file::keys::sidecar(&uuid)).is_none());
    }

    #[test]
    fn refusals_are_403_strings_and_bad_forms_400() {
        let w = World::new();
        let me = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w);
        let auth = format!("OpenTera {me}");
        let asset = r#"{"id_session": 3, "asset_name": "A"}"#;
        let r = upload(&w, &auth, form(Some(asset), Some(("a.txt", b"abc"))));
        let a = World::json(&r);
        assert_eq!((a["id_session"].as_u64(), a["id_user"].as_u64()), (Some(3), None), "no id_user claim: null");
        let (uuid, token) =
            (a["asset_uuid"].as_str().unwrap().to_string(), a["access_token"].as_str().unwrap().to_string());
        let dl = |token: &str, auth: &str| {
            get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"), auth)
        };
        assert_eq!(dl(&token, &auth).status(), 200);

        let denied = json!("Access denied to asset");
        // another requester's token
        let other = identity(ACME_JWT_SECRET, "user_uuid", "11111111-2222-4333-8444-555555555555", 3600, &w);
        let r = dl(&token, &format!("OpenTera {other}"));
        assert_eq!((r.status(), World::json(&r)), (403, denied.clone()));
        // tampered access token
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = access_token(b"not-the-secret-at-all", &[&uuid], PARTICIPANT, w.now());
        let forged_sig = forged.split('.').nth(2).unwrap().to_string();
        parts[2] = &forged_sig;
        assert_eq!(World::json(&dl(&parts.join("."), &auth)), denied);
        // another asset's token
        let b = World::json(&upload(&w, &auth, form(Some(asset), Some(("b.txt", b"b")))));
        assert_eq!(World::json(&dl(b["access_token"].as_str().unwrap(), &auth)), denied);
        // identity tokens: wrong secret, expired, no uuid, wrong scheme, service token in the query
        let wrong = identity("some-other-secret-0123456789", "user_uuid", PARTICIPANT, 3600, &w);
        let expired = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, -1, &w);
        let no_uuid = identity(ACME_JWT_SECRET, "user_name", PARTICIPANT, 3600, &w);
        for bad in [
            format!("OpenTera {wrong}"),
            format!("OpenTera {expired}"),
            format!("OpenTera {no_uuid}"),
            format!("Bearer {me}"),
            format!("opentera {me}"),
            "OpenTera".into(),
            "OpenTera ".into(),
        ] {
            let r = dl(&token, &bad);
            assert_eq!((r.status(), World::json(&r)), (403, json!("Forbidden")), "{bad}");
            assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        }
        let service = identity(ACME_JWT_SECRET, "service_uuid", PARTICIPANT, 3600, &w);
        let r = w.send(
            Method::Get,
            &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}&token={service}"),
            &[],
            Vec::new(),
        );
        assert_eq!(r.status(), 403, "service tokens only in the header");
        assert_eq!(w.send(Method::Get, "/file/api/assets", &[], Vec::new()).status(), 403);
        let absurd = format!("OpenTera {}.{}.{}", "a".repeat(5000), "b".repeat(5000), "c".repeat(100));
        assert_eq!(World::json(&dl(&token, &absurd)), json!("Forbidden"), "a token of absurd size");
        // the access token expires after 1800 s
        w.advance(1_800_000);
        assert_eq!(World::json(&dl(&token, &auth)), denied);

        // reqparse's shape for a missing argument
        let r = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}"), &auth);
        assert_eq!(r.status(), 400);
        assert_eq!(World::json(&r)["message"], "Input payload validation failed");
        assert!(World::json(&r)["errors"]["access_token"].is_string());
        let r = get(&w, Method::Delete, &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"), &auth);
        assert!(World::json(&r)["errors"]["uuid"].is_string(), "delete takes `uuid`");
        // forms, in the vendor's order of checks
        let before = w.blobs.objects.borrow().len();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (form(None, Some(("a.txt", b"x"))), "Missing file asset information"),
            (form(Some(asset), None), "Missing uploaded file"),
            (form(Some(asset), Some(("", b"x"))), "Missing filename"),
            (form(Some("{not json"), Some(("a.txt", b"x"))), "Invalid file_asset format"),
            (
                form(Some(r#"{"asset_name": "A"}"#), Some(("a.txt", b"x"))),
                "Missing required field(s) in asset descriptor",
            ),
        ];
        for (body, want) in cases {
            let r = upload(&w, &auth, body);
            assert_eq!((r.status(), World::json(&r)), (400, json!(want)));
        }
        assert_eq!(w.blobs.objects.borrow().len(), before, "nothing kept of refused uploads");
        let r = w.send(
            Method::Post,
            "/file/api/assets",
            &[("Authorization", auth.as_str()), ("Content-Type", "application/json")],
            b"{}".to_vec(),
        );
        assert_eq!(World::json(&r), json!("Wrong content type"));
        let svc = identity(ACME_JWT_SECRET, "service_uuid", PARTICIPANT, 3600, &w);
        let r = upload(&w, &format!("OpenTera {svc}"), form(Some(asset), Some(("a.txt", b"x"))));
        assert_eq!(World::json(&r), json!("Missing at least one ID creator"));
        let r = upload(
            &w,
            &format!("OpenTera {svc}"),
            form(Some(r#"{"id_session": 1, "asset_name": "A", "id_device": "5"}"#), Some(("a.txt", b"x"))),
        );
        assert_eq!(World::json(&r)["id_device"], 5);
        // routes
        let r = w.send(Method::Delete, "/file/api/assets/infos", &[], Vec::new());
        assert_eq!(r.status(), 405);
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        let r = w.send(Method::Options, "/file/api/assets", &[], Vec::new());
        assert_eq!((r.status(), r.header("Access-Control-Allow-Methods")), (200, Some("*")));
        assert_eq!(w.send(Method::Get, "/file/nothing", &[], Vec::new()).status(), 404);
        let doc = w.send(Method::Get, "/file/doc", &[], Vec::new());
        assert!(matches!(&doc, Reply::Text { body, .. } if body.contains("/file/api/assets/infos")));
        assert!(matches!(&doc, Reply::Text { body, .. } if body.contains("href=\"/docs#/OpenTera\"")), "its section");
        assert_eq!(doc.header("Content-Type"), Some("text/html; charset=utf-8"));
        let sw = World::json(&w.send(Method::Get, "/file/api/swagger.json", &[], Vec::new()));
        assert_eq!(sw["swagger"], "2.0");
        assert!(sw["paths"]["/assets"]["post"].is_object() && sw["paths"]["/assets/infos"]["get"].is_object());
    }

    /// Another tenant, whatever token it holds: 403 on every route, nothing changes.
    #[test]
    fn another_tenant_gets_403_everywhere() {
        let w = World::new();
        let me = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w);
        let a = World::json(&upload(
            &w,
            &format!("OpenTera {me}"),
            form(Some(r#"{"id_session": 1, "asset_name": "A"}"#), Some(("a.txt", b"secret"))),
        ));
        let (uuid, token) = (a["asset_uuid"].as_str().unwrap(), a["access_token"].as_str().unwrap());
        // bobco's identity with the same uuid claim, signed with bobco's secret
        let bob = format!("OpenTera {}", identity(BOBCO_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        for (m, path) in [
            (Method::Get, format!("/file/api/assets?asset_uuid={uuid}&access_token={token}")),
            (Method::Head, format!("/file/api/assets?asset_uuid={uuid}&access_token={token}")),
            (Method::Delete, format!("/file/api/assets?uuid={uuid}&access_token={token}")),
            (Method::Get, format!("/file/api/assets/infos?asset_uuid={uuid}&access_token={token}")),
        ] {
            let r = get(&w, m, &path, &bob);
            assert_eq!(r.status(), 403, "{m:?} {path}");
        }
        let body =
            json!({"file_asset": {"asset_uuid": uuid, "access_token": token, "asset_original_filename": "x.txt"}});
        let r = w.send(
            Method::Post,
            "/file/api/assets/infos",
            &[("Authorization", bob.as_str())],
            body.to_string().into_bytes(),
        );
        assert_eq!(r.status(), 403);
        // and bobco's own access token for acme's asset (it cannot have one signed by acme)
        let forged = access_token(BOBCO_JWT_SECRET.as_bytes(), &[uuid], PARTICIPANT, w.now());
        let r = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={forged}"), &bob);
        assert_eq!(r.status(), 404, "bobco's own token reaches only bobco's files");
        let r = get(
            &w,
            Method::Get,
            &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!(w.body(&r), b"secret", "still there, unchanged");
        // a tus file is no asset, even to its own tenant with a token it minted
        let headers = [
            ("Authorization", crate::testkit::ACME_BEARER),
            ("Tus-Resumable", "1.0.0"),
            ("Upload-Length", "4"),
            ("Content-Type", "application/offset+octet-stream"),
        ];
        let up = w.send(Method::Post, "/files/", &headers, b"tus!".to_vec());
        let id = up.header("Location").unwrap().rsplit('/').next().unwrap().to_string();
        assert!(w.blobs.object(&crate::engine::file::keys::object(&id)).is_some(), "stored where an asset would be");
        let minted = access_token(ACME_JWT_SECRET.as_bytes(), &[&id], PARTICIPANT, w.now());
        let r = get(
            &w,
            Method::Get,
            &format!("/file/api/assets?asset_uuid={id}&access_token={minted}"),
            &format!("OpenTera {me}"),
        );
        assert_eq!((r.status(), World::json(&r)), (404, json!("No asset found")));
    }
}
