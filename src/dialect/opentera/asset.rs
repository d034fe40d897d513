//! OpenTera's assets: the upload form (`file_asset` and `file`, checked in the vendor's order),
//! the asset JSON and its file data, and `POST .../infos` (several assets' file data, or a
//! rename). An asset is a file like any other, private to its tenant, written through the
//! engine; its record (asset fields included) is kept in its R2 sidecar, so that a rename is
//! one strongly consistent write.

use serde_json::{json, Map, Value};

use super::token::{access_token, check_access, secret, static_uuid, Identity, Kind};
use crate::dialect::{form, Reply, Request, Service};
use crate::engine::file::ids::{iso8601_micros, new_uuid, parse_uuid};
use crate::engine::file::record::{content_type_or_guess, guess_content_type, Access, FileRecord, Vendor};
use crate::engine::file::visibility::Via;
use crate::engine::ledger::session::tenant_object;
use crate::engine::ledger::{LedgerAnswer, LedgerCall, LedgerCalls};
use crate::engine::upload::calls::ByteStream;
use crate::engine::{file::limits, Expiry, Held, Missing, NewFile, Read};
use crate::error::{Error, Result};
use crate::store::Platform;

/// The answer for an asset that is not there (or not the caller's, or no asset).
pub(super) const NO_ASSET: &str = "No asset found";
pub(super) const MISSING: Missing = Missing { not_found: NO_ASSET, expired: NO_ASSET };
/// Most distinct assets one `POST .../infos` may ask for: each costs a lookup (two R2 reads),
/// and a Worker's request has 1,000 subrequests.
pub const MAX_INFOS: usize = 100;
/// Most entries in its list (each one's token is checked, repeats included).
const MAX_INFOS_ENTRIES: usize = 1000;

/// Werkzeug's `secure_filename`: ASCII only, whitespace runs to `_`, nothing but
/// `[A-Za-z0-9_.-]`, no leading or trailing `.` or `_`.
pub fn secure_filename(name: &str) -> String {
    let ascii: String =
        name.chars().filter(char::is_ascii).map(|c| if c == '/' || c == '\\' { ' ' } else { c }).collect();
    let joined = ascii.split_whitespace().collect::<Vec<_>>().join("_");
    let kept: String = joined.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')).collect();
    kept.trim_matches(|c| c == '.' || c == '_').to_string()
}

/// AssetFileData.
pub(super) fn file_data(r: &FileRecord) -> Value {
    let id: Value = r.extra.id_asset.as_deref().and_then(|n| n.parse::<u64>().ok()).into();
    json!({
        "id_asset_file_data": id,
        "asset_uuid": r.id,
        "asset_original_filename": r.name,
        "asset_file_size": r.size,
    })
}

/// The asset JSON of compat-spec §2: TeraAsset ∪ AssetFileData.
fn asset_json(r: &FileRecord) -> Value {
    let mut v =
        r.extra.asset.as_deref().and_then(|a| serde_json::from_str::<Value>(a).ok()).unwrap_or_else(|| json!({}));
    if let (Value::Object(asset), Value::Object(data)) = (&mut v, file_data(r)) {
        asset.extend(data);
    }
    v
}

/// The URL an answer names: `https://` and the external host and port the proxy says, else
/// the request's own origin; never a query string.
fn url(req: &Request<'_>, path: &str) -> String {
    let h =
        |a: &str, b: &str| req.head.header(a).or_else(|| req.head.header(b)).map(str::trim).filter(|v| !v.is_empty());
    match (h("x-externalserver", "x_externalserver"), h("x-externalport", "x_externalport")) {
        (Some(host), Some(port)) => format!("https://{host}:{port}/file{path}"),
        (Some(host), None) => format!("https://{host}/file{path}"),
        _ => format!("{}/file{path}", req.origin),
    }
}

/// What the form carried, as it arrived.
#[derive(Default)]
struct Form {
    asset: Option<String>,
    file: Option<Held>,
    filename_missing: bool,
}

async fn read_form<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    who: &Identity,
    body: ByteStream,
) -> Result<Form> {
    let ctx = svc.ctx;
    let max = ctx.config.max_file_size;
    let head = req.head;
    let boundary = head
        .header("content-type")
        .filter(|ct| ct.trim().to_ascii_lowercase().starts_with("multipart/form-data"))
        .and_then(|_| form::boundary(head))
        .ok_or_else(|| Error::bad_request("Wrong content type"))?;
    form::check_length(head, max)?;
    let mut parts = form::open(body, boundary, "file", max, ctx.config.max_request_body);
    let mut got = Form::default();
    let read = async {
        while let Some(mut field) = parts.next_field().await.map_err(|e| form::form_error(e, max))? {
            match field.name() {
                Some("file_asset") if got.asset.is_none() => got.asset = Some(form::read_text(&mut field, max).await?),
                Some("file") if got.file.is_none() => {
                    let Some(original) = field.file_name().map(str::to_string).filter(|n| !n.is_empty()) else {
                        got.filename_missing = true;
                        form::skip(&mut field, max).await?;
                        continue;
                    };
                    let name = secure_filename(&original);
                    let name = if name.is_empty() { "file".to_string() } else { name };
                    limits::check_name(&name)?;
                    let declared = field.content_type().map(|m| m.essence_str().to_string());
                    let new = NewFile {
                        tenant: who.tenant.clone(),
                        id: new_uuid(),
                        content_type: content_type_or_guess(declared.as_deref(), &name),
                        name,
                        vendor: Vendor::OpenTera,
                        access: Access::Private,
                        extra: Default::default(),
                        length_hint: head.content_length(),
                        expiring: false,
                        mutable: true,
                    };
                    got.file = Some(ctx.write_file(&new, form::stream(&mut field, max)).await?);
                }
                _ => form::skip(&mut field, max).await?,
            }
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(e) = read {
        if let Some(held) = &got.file {
            ctx.drop_held(held).await;
        }
        return Err(e);
    }
    Ok(got)
}

/// `file_asset`'s fields, checked in the vendor's order.
fn asset_fields(raw: &str) -> Result<Map<String, Value>> {
    let mut v: Value = serde_json::from_str(raw).map_err(|_| Error::bad_request("Invalid file_asset format"))?;
    // the doc's example wraps it in {"file_asset": {...}}; clients send it bare
    if let Some(inner) = v.get_mut("file_asset").map(Value::take) {
        v = inner;
    }
    let Value::Object(fields) = v else { return Err(Error::bad_request("Invalid file_asset format")) };
    let present = |k: &str| fields.get(k).is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
    if !present("id_session") || !present("asset_name") {
        return Err(Error::bad_request("Missing required field(s) in asset descriptor"));
    }
    Ok(fields)
}

/// A number given as a number or a numeric string; anything else as it was sent.
fn lenient_int(v: &Value) -> Value {
    match v {
        Value::String(s) => s.trim().parse::<i64>().map(Value::from).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// `POST /file/api/assets`.
pub(super) async fn upload<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    who: &Identity,
    body: ByteStream,
) -> Result<Reply> {
    let ctx = svc.ctx;
    let secret = secret(ctx.config, &who.tenant)?;
    let got = read_form(svc, req, who, body).await?;
    let checked = (|| {
        let raw = got.asset.as_deref().ok_or_else(|| Error::bad_request("Missing file asset information"))?;
        if got.file.is_none() {
            return Err(Error::bad_request(if got.filename_missing {
                "Missing filename"
            } else {
                "Missing uploaded file"
            }));
        }
        let fields = asset_fields(raw)?;
        let creators = ["id_user", "id_participant", "id_device", "id_service"];
        if who.kind == Kind::Service && !creators.iter().any(|c| fields.get(*c).is_some_and(|v| !v.is_null())) {
            return Err(Error::bad_request("Missing at least one ID creator"));
        }
        Ok(fields)
    })();
    let fields = match checked {
        Ok(f) => f,
        Err(e) => {
            if let Some(held) = &got.file {
                ctx.drop_held(held).await;
            }
            return Err(e);
        }
    };
    let mut held = got.file.expect("checked above");
    let id_asset = match svc
        .objects
        .ledger(&tenant_object(&who.tenant.0), LedgerCall::NextNumber { counter: "opentera_asset".into() })
        .await
    {
        Ok(LedgerAnswer::Number { n }) => n,
        other => {
            ctx.drop_held(&held).await;
            return Err(other.err().unwrap_or_else(|| Error::Internal("no number".into())));
        }
    };
    let now = ctx.now();
    let text = |k: &str, max: usize| {
        fields.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty() && s.len() <= max)
    };
    let asset_type = text("asset_type", 255).filter(|t| t.contains('/')).map(str::to_string);
    let asset_type = asset_type.unwrap_or_else(|| guess_content_type(&held.template.name).to_string());
    let datetime = text("asset_datetime", 64).map(str::to_string).unwrap_or_else(|| iso8601_micros(now));
    // creators: a service names them; anyone else is the creator
    let claim_id = |k: &str| who.claims.get(k).filter(|v| v.is_number()).cloned().unwrap_or(Value::Null);
    let (id_user, id_participant, id_device, id_service) = match who.kind {
        Kind::Service => {
            let f = |k: &str| fields.get(k).map(lenient_int).unwrap_or(Value::Null);
            (f("id_user"), f("id_participant"), f("id_device"), f("id_service"))
        }
        _ => (claim_id("id_user"), claim_id("id_participant"), claim_id("id_device"), Value::Null),
    };
    let mut asset = json!({
        "id_asset": id_asset,
        "id_session": lenient_int(&fields["id_session"]),
        "id_user": id_user,
        "id_participant": id_participant,
        "id_device": id_device,
        "id_service": id_service,
        "asset_name": fields["asset_name"],
        "asset_uuid": held.template.id,
        "asset_service_uuid": static_uuid(&format!("service:{}", who.tenant.0)),
        "asset_type": asset_type,
        "asset_datetime": datetime,
        "asset_expiration_datetime": Value::Null,
        "asset_service_owner_name": "File Transfer Service",
        "asset_session_name": Value::Null,
    });
    let names = [
        ("id_user", "asset_user", "user_fullname"),
        ("id_participant", "asset_participant", "participant_name"),
        ("id_device", "asset_device", "device_name"),
        ("id_service", "asset_service", "service_name"),
    ];
    for (id, shown, claim) in names {
        if !asset[id].is_null() {
            let name = who.claims.get(claim).cloned().unwrap_or_else(|| asset[id].to_string().into());
            asset[shown] = name;
        }
    }
    let extra = serde_json::to_string(&asset).map_err(|e| Error::Internal(e.to_string()))?;
    if extra.len() > 16 * 1024 {
        ctx.drop_held(&held).await;
        return Err(Error::bad_request("file_asset too large"));
    }
    held.template.extra.asset = Some(extra);
    held.template.extra.id_asset = Some(id_asset.to_string());
    held.template.content_type = asset_type;
    let record = ctx.keep_file(held, Expiry::Never).await?;
    let mut answer = asset_json(&record);
    answer["asset_infos_url"] = url(req, "/api/assets/infos").into();
    answer["asset_url"] = url(req, "/api/assets").into();
    answer["access_token"] = access_token(secret, &[&record.id], &who.uuid, now).into();
    Ok(Reply::json(200, answer))
}

/// `POST /file/api/assets/infos`: the file data of several assets, or a rename.
pub(super) async fn infos_post<P: Platform>(svc: &Service<'_, P>, who: &Identity, body: ByteStream) -> Result<Reply> {
    let ctx = svc.ctx;
    let bad = || Error::bad_request("Badly formatted request");
    let raw = form::read_small(body, 256 * 1024).await.map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let now = ctx.now();
    // an entry's uuid, once its access token lets the caller reach it (no I/O); `None` for
    // one that is no uuid (no asset has it)
    let check = |asset: &Value| {
        let uuid = asset.get("asset_uuid").and_then(Value::as_str).unwrap_or("");
        let token = asset.get("access_token").and_then(Value::as_str).unwrap_or("");
        if uuid.is_empty() || token.is_empty() {
            return Err(bad());
        }
        check_access(ctx.config, who, token, uuid, now, "Access denied for that asset")?;
        Ok(parse_uuid(uuid))
    };
    let open = |id: String| async move {
        let opened = ctx.open(&id, Via::Owner, Some(&who.tenant), MISSING, Read::Head).await?;
        if opened.record.vendor != Vendor::OpenTera {
            return Err(Error::not_found(NO_ASSET));
        }
        Ok(opened.record)
    };
    if let Some(assets) = v.get("assets").and_then(Value::as_array) {
        // every entry's token is checked; each distinct asset is read once, answered once (as
        // OpenTera's query of the listed uuids answers), in the order first listed
        let too_many = || {
            Error::bad_request(format!(
                "Too many assets: at most {MAX_INFOS} distinct ones in at most {MAX_INFOS_ENTRIES} entries"
            ))
        };
        if assets.len() > MAX_INFOS_ENTRIES {
            return Err(too_many());
        }
        let mut distinct: Vec<String> = Vec::new();
        for a in assets {
            let Some(id) = check(a)? else { continue };
            if !distinct.contains(&id) {
                if distinct.len() == MAX_INFOS {
                    return Err(too_many());
                }
                distinct.push(id);
            }
        }
        // the assets found (OpenTera's query answers those it finds), whichever are not here
        let mut out = Vec::with_capacity(distinct.len());
        for id in distinct {
            match open(id).await {
                Ok(record) => out.push(file_data(&record)),
                Err(Error::NotFound(_) | Error::Expired(_)) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(Reply::json(200, Value::Array(out)));
    }
    // a rename, in the vendor's order: the access token, then the name, then the asset
    let Some(asset) = v.get("file_asset").filter(|a| a.is_object()) else { return Err(bad()) };
    let id = check(asset)?.ok_or_else(|| Error::not_found(NO_ASSET))?;
    let name = match asset.get("asset_original_filename") {
        None => return Err(Error::bad_request("Only original filename can be changed from here")),
        Some(name) => name.as_str().map(secure_filename).filter(|n| !n.is_empty()).ok_or_else(bad)?,
    };
    limits::check_name(&name)?;
    let mut record = open(id).await?;
    record.name = name;
    ctx.rename_file(&record).await?;
    Ok(Reply::json(200, file_data(&record)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::opentera::tests::{form, get, identity, upload, PARTICIPANT};
    use crate::route::Method;
    use crate::testkit::{World, ACME_JWT_SECRET};

    /// A participant's identity (as an `Authorization` value) and one asset it uploaded, as
    /// `infos` lists it (`asset_uuid`, `access_token`).
    fn one_asset(w: &World) -> (String, Value) {
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, w));
        let form = form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc")));
        let a = World::json(&upload(w, &auth, form));
        (auth, json!({"asset_uuid": a["asset_uuid"], "access_token": a["access_token"]}))
    }

    /// `POST .../infos` with one asset listed 650 times reads it once and answers it once; more
    /// than `MAX_INFOS` distinct assets are refused before anything is read.
    #[test]
    fn infos_read_each_asset_once_and_are_capped() {
        let w = World::new();
        let (auth, entry) = one_asset(&w);
        let post = |assets: Vec<Value>| {
            let body = json!({"assets": assets}).to_string().into_bytes();
            assert!(body.len() < 256 * 1024, "within the body limit: {}", body.len());
            let reads = w.blobs.reads.get();
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            let r = w.send(Method::Post, "/file/api/assets/infos", &headers, body);
            (r, w.blobs.reads.get() - reads)
        };
        let (one, once) = post(vec![entry.clone()]);
        assert_eq!(one.status(), 200);
        let (many, reads) = post(vec![entry.clone(); 650]);
        assert_eq!(World::json(&many), World::json(&one), "answered once");
        assert_eq!(reads, once, "read once");
        // over the cap: 400 in OpenTera's shape (a JSON string), nothing read
        let other = |i: usize| {
            let uuid = format!("6b2f8f0e-5d43-4c0a-9f55-{i:012}");
            let token = access_token(ACME_JWT_SECRET.as_bytes(), &[&uuid], PARTICIPANT, w.now());
            json!({"asset_uuid": uuid, "access_token": token})
        };
        let (r, reads) = post((0..=MAX_INFOS).map(other).collect());
        assert_eq!((r.status(), reads), (400, 0));
        assert!(World::json(&r).as_str().unwrap().contains("at most 100 distinct"), "{r:?}");
        let (r, _) = post(vec![json!({"asset_uuid": PARTICIPANT, "access_token": "x"}); 1001]);
        assert_eq!(r.status(), 400, "too many entries");
        // at the cap, the list is not refused for its length (the one asset held is answered)
        let (r, _) = post((1..MAX_INFOS).map(other).chain([entry]).collect());
        assert_eq!((r.status(), World::json(&r)), (200, World::json(&one)));
    }

    /// `POST .../infos` answers the listed assets it holds and leaves out the others, as
    /// OpenTera's query of the listed uuids does; a refused token still refuses the whole.
    #[test]
    fn infos_answer_the_assets_found() {
        let w = World::new();
        let (auth, held) = one_asset(&w);
        let absent = "0b9d8f7e-1c2d-4e3f-8a4b-5c6d7e8f9a0b";
        let token = access_token(ACME_JWT_SECRET.as_bytes(), &[absent, "not-a-uuid"], PARTICIPANT, w.now());
        let post = |assets: Vec<Value>| {
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            w.send(Method::Post, "/file/api/assets/infos", &headers, json!({"assets": assets}).to_string().into_bytes())
        };
        let r = post(vec![
            json!({"asset_uuid": absent, "access_token": token}),
            held.clone(),
            json!({"asset_uuid": "not-a-uuid", "access_token": token}),
        ]);
        assert_eq!(r.status(), 200, "{r:?}");
        let got = World::json(&r);
        assert_eq!(got.as_array().map(Vec::len), Some(1), "{got}");
        assert_eq!(got[0]["asset_uuid"], held["asset_uuid"]);
        let r = post(vec![json!({"asset_uuid": absent, "access_token": token})]);
        assert_eq!((r.status(), World::json(&r)), (200, json!([])), "none found: an empty list");
        let r = post(vec![held, json!({"asset_uuid": absent, "access_token": "x.y.z"})]);
        assert_eq!((r.status(), World::json(&r)), (403, json!("Access denied for that asset")));
    }

    /// A `file_asset` without `asset_original_filename` is 400 in the vendor's words, after its
    /// access token is checked and before the asset is looked up.
    #[test]
    fn a_rename_needs_the_original_filename() {
        let w = World::new();
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        let a = World::json(&upload(
            &w,
            &auth,
            form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))),
        ));
        let post = |file_asset: Value| {
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            let r = w.send(
                Method::Post,
                "/file/api/assets/infos",
                &headers,
                json!({"file_asset": file_asset}).to_string().into_bytes(),
            );
            (r.status(), World::json(&r))
        };
        let only = json!("Only original filename can be changed from here");
        assert_eq!(
            post(json!({"asset_uuid": a["asset_uuid"], "access_token": a["access_token"]})),
            (400, only.clone())
        );
        let absent = "0b9d8f7e-1c2d-4e3f-8a4b-5c6d7e8f9a0b";
        let token = access_token(ACME_JWT_SECRET.as_bytes(), &[absent], PARTICIPANT, w.now());
        assert_eq!(post(json!({"asset_uuid": absent, "access_token": token})), (400, only));
        assert_eq!(
            post(json!({"asset_uuid": absent, "access_token": token, "asset_original_filename": "b.txt"})),
            (404, json!("No asset found"))
        );
        assert_eq!(
            post(json!({"asset_uuid": a["asset_uuid"], "access_token": "x.y.z"})),
            (403, json!("Access denied for that asset")),
            "the token first"
        );
        let r = post(
            json!({"asset_uuid": a["asset_uuid"], "access_token": a["access_token"], "asset_original_filename": 5}),
        );
        assert_eq!(r, (400, json!("Badly formatted request")));
        let infos = get(
            &w,
            Method::Get,
            &format!(
                "/file/api/assets/infos?asset_uuid={}&access_token={}",
                a["asset_uuid"].as_str().unwrap(),
                a["access_token"].as_str().unwrap()
            ),
            &auth,
        );
        assert_eq!(World::json(&infos)["asset_original_filename"], "a.txt", "unchanged");
    }

    #[test]
    fn secure_filenames() {
        for (raw, want) in [
            ("My cool movie.mov", "My_cool_movie.mov"),
            ("../../../etc/passwd", "etc_passwd"),
            ("i contain cool \u{fc}ml\u{e4}uts.txt", "i_contain_cool_mluts.txt"),
            ("__.hidden", "hidden"),
            ("résumé.pdf", "rsum.pdf"),
            ("日本.txt", "txt"),
        ] {
            assert_eq!(secure_filename(raw), want, "{raw}");
        }
    }
}
