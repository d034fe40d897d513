//! IMiS/Storage Connector Services REST, entity content upload sessions (compat-spec §5),
//! under `/archives/`, each path with and without `.json`. A login (`session/open`) with a
//! tenant's username and password gives a 64-character bearer token that ends after an hour
//! without use; an upload session takes parts strictly in sequence (`content-range` in every
//! form clients send; a re-sent last part acknowledged once; a gap or an overlap `409`), and
//! `save` makes it an object, readable at `objects/{id}`. Each upload session is an Upload
//! object named by its archive, entity and id, so a session is found only under its own
//! entity. Errors are `{"error": {"code": <status>, "message": ...}}`.

use base64::Engine;
use serde_json::{json, Value};

use super::Op::Imis;
use super::{download_reply, fetch_whole, form, Dialect, Reply, Request, Service};
use crate::auth::Tenant;
use crate::engine::file::ids::{iso8601_ms, new_uuid, random_bytes};
use crate::engine::file::record::Access;
use crate::engine::file::record::{Extras, FileRecord, Vendor};
use crate::engine::file::visibility::Via;
use crate::engine::ledger::login::login_object;
use crate::engine::ledger::{LedgerAnswer, LedgerCall, LedgerCalls};
use crate::engine::upload::calls::{ByteStream, Cancel, UploadCall, Uploads};
use crate::engine::upload::state::{Append, At, NewUpload, Resend, Then, UploadState};
use crate::engine::Missing;
use crate::error::{Error, Result};
use crate::http::auth_header::Presented;
use crate::http::content_range::parse_part_range;
use crate::http::download::CachePolicy;
use crate::route::{
    req, row, Kind, Media, Param, PathParam, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD, JSON, OCTETS, RANGE_HEADERS,
};
use crate::secret::Secret;
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    Create,
    Put,
    Save,
    Cancel,
    Read,
}

const CREATE_DOC: &str = "Create an upload session: JSON `{\"content_type\"}`; `{\"session\": {\"id\"}}`.";
const SAVE_DOC: &str = "Save the session's content as an object: `{\"object\": {...}}`; the session ends.";
const OPEN_DOC: &str = "Log in: JSON `{\"authentication\": {\"username\", \"password\"}}`; a 64-character token.";

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Imis,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row!(Post "/archives/{aid}/session/open.json", Imis(Op::Open), None, Read, OPEN_DOC)
            .with(Spec::DEFAULT.takes(JSON).errors(&[401])),
        row!(Post "/archives/{aid}/session/open", Imis(Op::Open), None, Read, OPEN_DOC)
            .with(Spec::DEFAULT.takes(JSON).errors(&[401])),
        row!(Post "/archives/{aid}/entities/{entity}/create_sessions.json", Imis(Op::Create), Own, Read, CREATE_DOC)
            .with(Spec::DEFAULT.takes(JSON)),
        row!(Post "/archives/{aid}/entities/{entity}/create_sessions", Imis(Op::Create), Own, Read, CREATE_DOC)
            .with(Spec::DEFAULT.takes(JSON)),
        row!(Put "/archives/{aid}/entities/{entity}/create_sessions/{sid}", Imis(Op::Put), Own, Forward,
            "Upload the next part: `content-range` (`a-b`, `bytes a-b/total`, `bytes=a-b`) and `content-length`.")
        .with(Spec::DEFAULT.takes(OCTETS).headers(&[CONTENT_RANGE]).errors(&[409])),
        row!(Delete "/archives/{aid}/entities/{entity}/create_sessions/{sid}", Imis(Op::Cancel), Own, None,
            "Cancel the upload session (`{sid}` or `{sid}.json`): 200, empty body.")
        .with(Spec::ok(&[(200, Media::Empty)])),
        row!(Post "/archives/{aid}/entities/{entity}/create_sessions/{sid}/save.json", Imis(Op::Save), Own, Read,
            SAVE_DOC)
        .with(Spec::DEFAULT.takes(JSON).errors(&[409])),
        row!(Post "/archives/{aid}/entities/{entity}/create_sessions/{sid}/save", Imis(Op::Save), Own, Read, SAVE_DOC)
            .with(Spec::DEFAULT.takes(JSON).errors(&[409])),
        row!(Get "/archives/{aid}/objects/{id}", Imis(Op::Read), Own, None,
            "Read a saved object's content (`Range`, `ETag`).")
        .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[416])),
        row!(Head "/archives/{aid}/objects/{id}", Imis(Op::Read), Own, None, "A saved object's content, headers only.")
            .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[416])),
    ],
};
const CONTENT_RANGE: Param =
    req("Content-Range", Kind::Str, "The part's place: `a-b`, `bytes a-b/total` or `bytes=a-b`.");

/// A login ends after this long without use.
pub const LOGIN_IDLE_SECS: u64 = 3600;
const SESSION_NOT_FOUND: &str = "upload session not found";
const OBJECT_NOT_FOUND: &str = "object not found";
const MISSING: Missing = Missing { not_found: OBJECT_NOT_FOUND, expired: OBJECT_NOT_FOUND };
/// Longest archive id or entity handle taken.
const MAX_ID: usize = 128;

/// `{"error": {"code": <status>, "message": ...}}`.
pub fn error_reply(e: &Error) -> Reply {
    let mut headers = Vec::new();
    if matches!(e, Error::Unauthorized) {
        headers.push(("WWW-Authenticate", "Bearer".to_string()));
    }
    let message = match e {
        Error::Unauthorized => "invalid or expired session".to_string(),
        other => other.message(),
    };
    Reply::Json { status: e.status(), headers, body: json!({"error": {"code": e.status(), "message": message}}) }
}

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    let aid = req.params.get(PathParam::Aid);
    if aid.len() > MAX_ID {
        return Err(Error::not_found(SESSION_NOT_FOUND));
    }
    if op == Op::Open {
        return open(svc, P::read(body)).await;
    }
    let tenant = logged_in(svc, req).await?;
    req.acting_as(&tenant);
    if op == Op::Read {
        return read(svc, req, &tenant, aid).await;
    }
    let entity = req.params.get(PathParam::Entity);
    let handle = entity.strip_prefix("H:").filter(|h| !h.is_empty() && entity.len() <= MAX_ID);
    let handle = handle.ok_or_else(|| Error::not_found("entity not found"))?;
    if op == Op::Create {
        return create(svc, &tenant, aid, handle, P::read(body)).await;
    }
    let sid = req.params.get(PathParam::Sid);
    let sid = sid.strip_suffix(".json").unwrap_or(sid);
    let sid = crate::engine::file::ids::parse_uuid(sid).ok_or_else(|| Error::not_found(SESSION_NOT_FOUND))?;
    let upload = upload_id(aid, handle, &sid);
    let uploads = svc.objects;
    let not_found = |e: Error| match e {
        Error::NotFound(_) | Error::Expired(_) => Error::not_found(SESSION_NOT_FOUND),
        e => e,
    };
    match op {
        Op::Put => {
            let len = req.head.content_length().ok_or_else(|| Error::bad_request("content-length is required"))?;
            let range =
                req.head.header("content-range").ok_or_else(|| Error::bad_request("content-range is required"))?;
            let range = parse_part_range(range, len)?;
            let append = Append {
                at: At::Offset(range.start),
                body_len: Some(range.len),
                set_length: None,
                checksum: None,
                resend: Resend::Acknowledge,
                then: Then::Continue,
            };
            let st = match uploads.append(&upload, &tenant.0, None, append, body).await {
                // past the end of a saved session's file: the session is gone
                Err(Error::TooLarge { max }) => match uploads.state(&upload, &tenant.0, None).await {
                    Ok(st) if !st.is_open() => return Err(Error::not_found(SESSION_NOT_FOUND)),
                    _ => return Err(Error::TooLarge { max }),
                },
                other => other.map_err(not_found)?,
            };
            if !st.is_open() {
                return Err(Error::not_found(SESSION_NOT_FOUND));
            }
            Ok(Reply::json(200, json!({"session": {"id": sid}})))
        }
        Op::Save => {
            let fields = form::small_json(P::read(body)).await?;
            let text =
                |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("").chars().take(1024).collect::<String>();
            let append = Append {
                at: At::Current,
                body_len: Some(0),
                set_length: None,
                checksum: None,
                resend: Resend::Acknowledge,
                then: Then::Complete { expected_sha256: None },
            };
            // no body goes to the object: the save is an empty, completing append
            let call = UploadCall::Append { tenant: tenant.0.clone(), token: None, append };
            let st: Option<UploadState> = uploads.call(&upload, call, None).await.map_err(not_found)?;
            let file =
                st.and_then(|st| st.file).ok_or_else(|| Error::Internal("saved session without a file".into()))?;
            Ok(Reply::json(
                200,
                json!({"object": object_json(&file, &text("description"), &text("container_id"), handle)}),
            ))
        }
        Op::Cancel => {
            uploads.cancel(&upload, &tenant.0, None, Cancel::KeepFinished).await.map_err(not_found)?;
            Ok(Reply::Empty { status: 200, headers: Vec::new() })
        }
        Op::Open | Op::Create | Op::Read => unreachable!("answered above"),
    }
}

/// The Upload object of a session: named by its archive, entity and id, so that it is found
/// only under its own entity.
fn upload_id(aid: &str, handle: &str, sid: &str) -> String {
    format!("imis:{aid}:{handle}:{sid}")
}

/// The tenant of the request's login (`Authorization: Bearer <token>`), which counts as a use.
async fn logged_in<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>) -> Result<Tenant> {
    let token = match req.head.authorization() {
        Some(Presented::Bearer(t)) if t.len() == 64 => t,
        _ => return Err(Error::Unauthorized),
    };
    let tenant = match svc.objects.ledger(&login_object(&token), LedgerCall::UseLogin).await? {
        LedgerAnswer::Tenant { tenant } => Tenant(tenant),
        _ => return Err(Error::Internal("login object: no tenant".into())),
    };
    // a login outlives no suspension of its tenant
    svc.ctx.check_active(&tenant).await?;
    Ok(tenant)
}

/// `POST archives/{aid}/session/open.json`: a tenant's username and password (its Basic
/// credentials) for a login token.
async fn open<P: Platform>(svc: &Service<'_, P>, body: ByteStream) -> Result<Reply> {
    let fields = form::small_json(body).await?;
    let auth = fields.get("authentication").and_then(Value::as_object);
    let field = |k: &str| auth.and_then(|a| a.get(k)).and_then(Value::as_str).map(str::to_string);
    let (Some(user), Some(password)) = (field("username"), field("password")) else {
        return Err(Error::bad_request("authentication.username and authentication.password are required"));
    };
    let tenant = svc.ctx.authenticate(Some(&Presented::Basic { user, password })).await?;
    let token = Secret::random::<48>();
    let call = LedgerCall::OpenLogin { tenant: tenant.0, idle_ms: LOGIN_IDLE_SECS * 1000 };
    svc.objects.ledger(&login_object(token.expose()), call).await?;
    Ok(Reply::json(
        200,
        json!({
            "api_version": 6,
            "service_name": "IMiS/ARChive Storage Server",
            "service_version": 700,
            "token": token.expose(),
        }),
    ))
}

/// A plausible `type/subtype`, without control characters.
fn valid_content_type(ct: &str) -> bool {
    let ct = ct.trim();
    ct.len() <= 255
        && ct.split_once('/').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && ct.bytes().all(|b| (0x21..0x7f).contains(&b) || b == b' ')
}

/// `POST archives/{aid}/entities/H:{h}/create_sessions.json`.
async fn create<P: Platform>(
    svc: &Service<'_, P>,
    tenant: &Tenant,
    aid: &str,
    handle: &str,
    body: ByteStream,
) -> Result<Reply> {
    let fields = form::small_json(body).await?;
    let ct = fields.get("content_type").and_then(Value::as_str).map(str::trim).filter(|ct| valid_content_type(ct));
    let ct = ct.ok_or_else(|| Error::bad_request("content_type is missing or invalid"))?;
    let sid = new_uuid();
    // IMiS ids are opaque base64url: 24 random bytes, 32 characters
    let object_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<24>());
    let new = NewUpload {
        access: Some(Access::Private),
        file_id: Some(object_id.clone()),
        extra: Extras { archive_id: Some(aid.to_string()), entity: Some(handle.to_string()), ..Extras::default() },
        ..NewUpload::new(
            &upload_id(aid, handle, &sid),
            &tenant.0,
            Vendor::Imis,
            &format!("{object_id}{}", extension(ct)),
            ct,
        )
    };
    svc.objects.create(new).await?;
    Ok(Reply::json(200, json!({"session": {"id": sid}})))
}

/// `GET archives/{aid}/objects/{id}`: a saved object of this archive, to its tenant.
async fn read<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &Tenant, aid: &str) -> Result<Reply> {
    let id = req.params.get(PathParam::Id);
    if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::not_found(OBJECT_NOT_FOUND));
    }
    let opened = svc.ctx.open(id, Via::Owner, Some(tenant), MISSING, fetch_whole(req.head, req.method)).await?;
    if opened.record.vendor != Vendor::Imis || opened.record.extra.archive_id.as_deref() != Some(aid) {
        return Err(Error::not_found(OBJECT_NOT_FOUND));
    }
    Ok(download_reply(opened, req.head, req.method, CachePolicy::Private))
}

/// The extension IMiS shows for a content type, with its dot.
pub fn extension(content_type: &str) -> &'static str {
    match crate::http::media_type(content_type).as_str() {
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => ".wav",
        "audio/mpeg" => ".mp3",
        "audio/ogg" => ".ogg",
        "video/mp4" => ".mp4",
        "video/webm" => ".webm",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/tiff" => ".tif",
        "application/pdf" => ".pdf",
        "application/zip" => ".zip",
        "application/json" => ".json",
        "application/xml" | "text/xml" => ".xml",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/csv" => ".csv",
        "application/msword" => ".doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => ".docx",
        _ => ".bin",
    }
}

/// The `object` of `save.json`, as the seed lists its fields.
pub fn object_json(file: &FileRecord, description: &str, container_id: &str, handle: &str) -> Value {
    let at = iso8601_ms(file.created_at);
    json!({
        "container_id": container_id,
        "id": file.id,
        "description": description,
        "size": file.size,
        "created": at,
        "accessed": at,
        "modified": at,
        "content_type": file.content_type,
        "extension": extension(&file.content_type),
        "effective_rights": {"create_access": true, "delete_access": true, "read_access": true, "write_access": true},
        "child_count": 0,
        "signed": false,
        "indexed": false,
        "parent_id": handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Method;
    use crate::testkit::World;
    use sha2::{Digest, Sha256};

    const BASE: &str = "/archives/A1/entities/H:ent-7";

    fn login(w: &World, user: &str, password: &str) -> Reply {
        let body = json!({"authentication": {"username": user, "password": password}, "api_version": 6,
                          "computer_name": "pc", "application_name": "app", "impersonate": ""});
        w.send(Method::Post, "/archives/A1/session/open.json", &[], body.to_string().into_bytes())
    }

    fn token(w: &World) -> String {
        let r = login(w, "foo", "bar");
        assert_eq!(r.status(), 200, "{r:?}");
        World::json(&r)["token"].as_str().unwrap().to_string()
    }

    fn call(w: &World, m: Method, path: &str, auth: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let bearer = format!("Bearer {auth}");
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        w.send(m, path, &all, body.to_vec())
    }

    fn create(w: &World, t: &str, ct: &str) -> String {
        let r = call(
            w,
            Method::Post,
            &format!("{BASE}/create_sessions.json"),
            t,
            &[],
            json!({"content_type": ct}).to_string().as_bytes(),
        );
        assert_eq!(r.status(), 200, "{r:?}");
        World::json(&r)["session"]["id"].as_str().unwrap().to_string()
    }

    fn put(w: &World, t: &str, sid: &str, range: &str, part: &[u8]) -> Reply {
        let len = part.len().to_string();
        let h = [("content-range", range), ("content-length", len.as_str())];
        call(w, Method::Put, &format!("{BASE}/create_sessions/{sid}"), t, &h, part)
    }

    #[test]
    fn the_seed_flow_in_every_content_range_form() {
        let w = World::new();
        let r = login(&w, "foo", "bar");
        let v = World::json(&r);
        assert_eq!(
            (v["api_version"].as_u64(), v["service_name"].as_str()),
            (Some(6), Some("IMiS/ARChive Storage Server"))
        );
        let t = v["token"].as_str().unwrap().to_string();
        assert_eq!(t.len(), 64);
        let data: Vec<u8> = (0..40u32).flat_map(|i| i.to_le_bytes()).collect(); // 160 bytes
        for forms in [
            ["0-49", "50-99", "100-159"],
            ["bytes 0-49/160", "bytes 50-99/*", "bytes=100-159"],
            ["0-50", "50-100", "100-160"],
        ] {
            let sid = create(&w, &t, "audio/wav");
            let parts = [&data[..50], &data[50..100], &data[100..]];
            for (range, part) in forms.iter().zip(parts) {
                let r = put(&w, &t, &sid, range, part);
                assert_eq!((r.status(), World::json(&r)), (200, json!({"session": {"id": sid}})), "{range}");
            }
            // the last part sent again: acknowledged, not applied twice
            assert_eq!(put(&w, &t, &sid, forms[2], parts[2]).status(), 200);
            let saved = call(
                &w,
                Method::Post,
                &format!("{BASE}/create_sessions/{sid}/save.json"),
                &t,
                &[],
                br#"{"description": "d", "container_id": "c1"}"#,
            );
            assert_eq!(saved.status(), 200, "{saved:?}");
            let o = World::json(&saved)["object"].clone();
            assert_eq!(
                (o["size"].as_u64(), o["content_type"].as_str(), o["extension"].as_str()),
                (Some(160), Some("audio/wav"), Some(".wav"))
            );
            assert_eq!(
                (o["description"].as_str(), o["container_id"].as_str(), o["parent_id"].as_str()),
                (Some("d"), Some("c1"), Some("ent-7"))
            );
            assert_eq!(o["created"], "2024-05-02T10:00:00.000Z");
            assert_eq!(o["effective_rights"]["read_access"], true);
            let id = o["id"].as_str().unwrap();
            assert_eq!(id.len(), 32, "opaque base64url");
            let got = call(&w, Method::Get, &format!("/archives/A1/objects/{id}"), &t, &[], b"");
            assert_eq!(w.body(&got), data);
            assert_eq!(got.header("ETag"), Some(format!("\"{}\"", hex::encode(Sha256::digest(&data))).as_str()));
            let ranged =
                call(&w, Method::Get, &format!("/archives/A1/objects/{id}"), &t, &[("Range", "bytes=0-3")], b"");
            assert_eq!((ranged.status(), w.body(&ranged)), (206, data[..4].to_vec()));
            // only under its own archive
            assert_eq!(call(&w, Method::Get, &format!("/archives/A2/objects/{id}"), &t, &[], b"").status(), 404);
            assert_eq!(put(&w, &t, &sid, "160-160", b"x").status(), 404, "the session ended with its save");
        }
        // the paths without .json work too
        let sid = create(&w, &t, "text/plain");
        assert_eq!(put(&w, &t, &sid, "0-2", b"abc").status(), 200);
        let saved = call(&w, Method::Post, &format!("{BASE}/create_sessions/{sid}/save"), &t, &[], b"");
        assert_eq!(World::json(&saved)["object"]["extension"], ".txt");
    }

    #[test]
    fn parts_in_sequence_only_and_cancel() {
        let w = World::new();
        let t = token(&w);
        let sid = create(&w, &t, "application/pdf");
        assert_eq!(put(&w, &t, &sid, "0-9", &[1; 10]).status(), 200);
        let gap = put(&w, &t, &sid, "20-29", &[1; 10]);
        assert_eq!(gap.status(), 409);
        assert_eq!(World::json(&gap)["error"]["code"], 409);
        assert_eq!(put(&w, &t, &sid, "5-14", &[1; 10]).status(), 409, "an overlap");
        assert_eq!(put(&w, &t, &sid, "10-19", &[1; 8]).status(), 400, "range and length disagree");
        assert_eq!(put(&w, &t, &sid, "ten-19", &[1; 10]).status(), 400);
        // a range of u64::MAX + 1 bytes with an empty body: malformed, not an empty part
        let huge = put(&w, &t, &sid, "bytes 0-18446744073709551615/*", b"");
        assert_eq!((huge.status(), World::json(&huge)["error"]["code"].as_u64()), (400, Some(400)), "{huge:?}");
        let past_u64 = put(&w, &t, &sid, "18446744073709551615-18446744073709551615", &[1]);
        assert_eq!(past_u64.status(), 400, "{past_u64:?}");
        assert_eq!(put(&w, &t, &sid, "10-19", &[1; 10]).status(), 200, "the session is as it was");
        let no_range =
            call(&w, Method::Put, &format!("{BASE}/create_sessions/{sid}"), &t, &[("content-length", "1")], b"x");
        assert_eq!(no_range.status(), 400);
        // a session is found under its own entity only
        let other = format!("/archives/A1/entities/H:other/create_sessions/{sid}");
        assert_eq!(
            call(&w, Method::Put, &other, &t, &[("content-range", "10-10"), ("content-length", "1")], b"x").status(),
            404
        );
        // cancel: 200, empty; the session is gone
        let r = call(&w, Method::Delete, &format!("{BASE}/create_sessions/{sid}.json"), &t, &[], b"");
        assert!(matches!(r, Reply::Empty { status: 200, .. }), "{r:?}");
        assert_eq!(put(&w, &t, &sid, "10-19", &[1; 10]).status(), 404);
        assert_eq!(call(&w, Method::Delete, &format!("{BASE}/create_sessions/{sid}.json"), &t, &[], b"").status(), 404);
        // zero bytes may be saved
        let sid = create(&w, &t, "audio/wav");
        let saved = call(&w, Method::Post, &format!("{BASE}/create_sessions/{sid}/save.json"), &t, &[], b"{}");
        assert_eq!(World::json(&saved)["object"]["size"], 0);
        // bad creations
        for body in [&b"{}"[..], br#"{"content_type": "wav"}"#, br#"{"content_type": 5}"#, b"nope"] {
            let r = call(&w, Method::Post, &format!("{BASE}/create_sessions.json"), &t, &[], body);
            assert_eq!(r.status(), 400, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(
            call(&w, Method::Post, "/archives/A1/entities/ent-7/create_sessions.json", &t, &[], b"{}").status(),
            404,
            "H: handles only"
        );
        // an archive id or an entity handle of absurd size: 404, no object named by it
        let long = "A".repeat(5000);
        let ct = br#"{"content_type": "audio/wav"}"#;
        assert_eq!(
            call(&w, Method::Post, &format!("/archives/{long}/entities/H:e/create_sessions.json"), &t, &[], ct)
                .status(),
            404
        );
        assert_eq!(
            call(&w, Method::Post, &format!("/archives/A1/entities/H:{long}/create_sessions.json"), &t, &[], ct)
                .status(),
            404
        );
    }

    #[test]
    fn logins_and_other_tenants() {
        let w = World::new();
        assert_eq!(login(&w, "foo", "wrong").status(), 401);
        assert_eq!(World::json(&login(&w, "foo", "wrong"))["error"]["code"], 401);
        assert_eq!(w.send(Method::Post, "/archives/A1/session/open.json", &[], b"{}".to_vec()).status(), 400);
        let t = token(&w);
        let sid = create(&w, &t, "audio/wav");
        assert_eq!(put(&w, &t, &sid, "0-2", b"abc").status(), 200);
        // no token, a made-up one, a tenant credential: 401
        for bad in ["", "x", &"A".repeat(64), "tok"] {
            assert_eq!(put(&w, bad, &sid, "3-5", b"def").status(), 401, "{bad}");
        }
        // bobco's login on every route: 404, nothing changes
        let bob = World::json(&login(&w, "bob", "pw"))["token"].as_str().unwrap().to_string();
        assert_eq!(put(&w, &bob, &sid, "3-5", b"def").status(), 404);
        assert_eq!(
            call(&w, Method::Post, &format!("{BASE}/create_sessions/{sid}/save.json"), &bob, &[], b"").status(),
            404
        );
        assert_eq!(
            call(&w, Method::Delete, &format!("{BASE}/create_sessions/{sid}.json"), &bob, &[], b"").status(),
            404
        );
        let saved = call(&w, Method::Post, &format!("{BASE}/create_sessions/{sid}/save.json"), &t, &[], b"");
        let id = World::json(&saved)["object"]["id"].as_str().unwrap().to_string();
        assert_eq!(World::json(&saved)["object"]["size"], 3);
        assert_eq!(call(&w, Method::Get, &format!("/archives/A1/objects/{id}"), &bob, &[], b"").status(), 404);
        // a login ends after an hour without use
        w.advance(LOGIN_IDLE_SECS * 1000);
        assert_eq!(call(&w, Method::Get, &format!("/archives/A1/objects/{id}"), &t, &[], b"").status(), 401);
    }

    /// A Basic key minted by the operator logs in; a suspended tenant's logins, open or new,
    /// are refused.
    #[test]
    fn minted_keys_log_in_and_suspension_ends_logins() {
        let w = World::new();
        let admin = [("Authorization", crate::testkit::ADMIN_BEARER), ("Content-Type", "application/json")];
        let r =
            w.send(Method::Post, "/v1/admin/tenants/acme/keys", &admin, br#"{"kind":"basic","user":"rec"}"#.to_vec());
        let password = World::json(&r)["secret"].as_str().unwrap().to_string();
        let minted = World::json(&login(&w, "rec", &password))["token"].as_str().unwrap().to_string();
        let t = token(&w);
        assert_eq!(put(&w, &t, &create(&w, &minted, "audio/wav"), "0-2", b"abc").status(), 200, "one tenant");
        assert_eq!(w.send(Method::Post, "/v1/admin/tenants/acme/suspend", &admin, Vec::new()).status(), 200);
        assert_eq!(login(&w, "foo", "bar").status(), 403);
        assert_eq!(login(&w, "rec", &password).status(), 403);
        let (path, body) = (format!("{BASE}/create_sessions.json"), json!({"content_type": "audio/wav"}).to_string());
        for open in [&t, &minted] {
            assert_eq!(call(&w, Method::Post, &path, open, &[], body.as_bytes()).status(), 403, "an open login");
        }
        assert_eq!(w.send(Method::Post, "/v1/admin/tenants/acme/resume", &admin, Vec::new()).status(), 200);
        assert_eq!(put(&w, &t, &create(&w, &t, "audio/wav"), "0-2", b"abc").status(), 200);
    }
}
