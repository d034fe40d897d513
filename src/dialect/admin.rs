//! The operator's API, under `/v1/admin/` (`Authorization: Bearer <admin token>`, a token of
//! `EDGESHARE_ADMIN_CREDENTIALS`): tenants and their keys at run time. It is part of
//! edgeshare's own API: its errors are the native `{"error": {"code", "message"}}`. Quotas and
//! usage are each tenant's account's ([`crate::engine::catalog::account`]). The
//! registry's records and calls are [`crate::engine::tenant`]'s; this module parses the
//! requests and renders the answers. A minted secret is in the one answer that mints it, and
//! in no other answer nor log.

use serde_json::{json, Value};

use super::native::{cursor_param, listed_page, usage_json};
use super::webhooks::Op as Hook;
use super::Op::Admin;
use super::{form, Dialect, Reply, Request, Service};
use crate::auth::KeyKind;
use crate::engine::catalog::account::Quota;
use crate::engine::file::ids::iso8601_ms;
use crate::engine::tenant::admin::{Summary, TenantView};
use crate::engine::tenant::registry::{KeyAsk, KeyEntry, Status};
use crate::engine::tenant::runtime::settings_of;
use crate::error::{Error, Result};
use crate::route::{opt, row, Kind, Media, PathParam, Spec, Table, JSON};
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CreateTenant,
    ListTenants,
    GetTenant,
    DeleteTenant,
    Suspend,
    Resume,
    MintKey,
    ListKeys,
    RevokeKey,
    SetQuota,
    Usage,
    SetJwtSecrets,
    SetTwakeCompanies,
    /// A tenant's webhooks, as the tenant itself has them.
    Webhooks(super::webhooks::Op),
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Native,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row!(Post "/v1/admin/tenants", Admin(Op::CreateTenant), Admin, Read,
            "Creates a tenant: JSON `{\"id\"}` (1 to 32 of `a-z`, `0-9`, `-`, `_`): 201 with the tenant; 409 if it \
            exists (created here, or in `EDGESHARE_CREDENTIALS`).")
        .with(Spec::ok(&[(201, Media::Json)]).takes(JSON).errors(&[409])),
        row!(Get "/v1/admin/tenants", Admin(Op::ListTenants), Admin, None,
            "The tenants: `{\"tenants\": [{\"id\", \"status\", \"created_at\", \"bootstrap\"}], \"cursor\"}`, those of \
            `EDGESHARE_CREDENTIALS` first (`bootstrap`); pass `?cursor=` for the next page.")
        .with(Spec::DEFAULT.query(&[opt("cursor", Kind::Str, "The `cursor` of the previous page.")])),
        row!(Get "/v1/admin/tenants/{tenant}", Admin(Op::GetTenant), Admin, None,
            "A tenant: `{\"id\", \"status\", \"created_at\", \"bootstrap\", \"keys\"}` (`keys`: how many)."),
        row!(Delete "/v1/admin/tenants/{tenant}", Admin(Op::DeleteTenant), Admin, None,
            "Deletes a tenant and its keys: 204. 409 while it has files (delete them first), and for a tenant of \
            `EDGESHARE_CREDENTIALS` (remove it there).")
        .with(Spec::ok(&[(204, Media::Empty)]).errors(&[409])),
        row!(Post "/v1/admin/tenants/{tenant}/suspend", Admin(Op::Suspend), Admin, None,
            "Suspends a tenant: every credential of it is refused (403), its keys, its `EDGESHARE_CREDENTIALS` \
            entries and its JWTs alike; its files are kept. 200 with the tenant."),
        row!(Post "/v1/admin/tenants/{tenant}/resume", Admin(Op::Resume), Admin, None,
            "Resumes a suspended tenant: 200 with the tenant."),
        row!(Post "/v1/admin/tenants/{tenant}/keys", Admin(Op::MintKey), Admin, Read,
            "Mints a key: JSON `{\"kind\": \"bearer\"}`, `{\"kind\": \"basic\", \"user\"}` or `{\"kind\": \
            \"opentera\"}` (a static token): 201 `{\"id\", \"kind\", \"user\", \"created_at\", \"secret\"}`. The \
            secret (256 random bits, base64url) is shown once; only its sha256 is kept.")
        .with(Spec::ok(&[(201, Media::Json)]).takes(JSON).errors(&[409])),
        row!(Get "/v1/admin/tenants/{tenant}/keys", Admin(Op::ListKeys), Admin, None,
            "A tenant's keys, without their secrets: `{\"keys\": [{\"id\", \"kind\", \"user\", \"created_at\"}]}`."),
        row!(Delete "/v1/admin/tenants/{tenant}/keys/{key}", Admin(Op::RevokeKey), Admin, None,
            "Revokes a key: 204; it is refused (401) from then on.")
        .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Put "/v1/admin/tenants/{tenant}/quota", Admin(Op::SetQuota), Admin, Read,
            "Sets a tenant's quota: JSON `{\"max_bytes\", \"max_files\", \"max_file_size\",             \"max_uploads_in_progress\"}`, each a number or `null` (no limit; absent: no limit): 200 with its usage.             Checked when an upload starts, exactly under concurrency; what is stored already stays.")
        .with(Spec::DEFAULT.takes(JSON)),
        row!(Get "/v1/admin/tenants/{tenant}/usage", Admin(Op::Usage), Admin, None,
            "A tenant's usage, as `GET /v1/usage` shows it to the tenant."),
        row!(Put "/v1/admin/tenants/{tenant}/jwt-secrets", Admin(Op::SetJwtSecrets), Admin, Read,
            "Sets the tenant's JWT secrets (OpenTera and Twake tokens): JSON `{\"secrets\": {\"<kind>\": \"...\"}}`, \
            a kind being `user`, `participant`, `participant_static`, `device`, `service`, `access`, `twake`, or `*` \
            for every kind; `{}` removes them. 200 `{\"jwt_kinds\", \"twake_companies\"}`, never a secret. What \
            `EDGESHARE_JWT_SECRETS` gives the tenant wins.")
        .with(Spec::DEFAULT.takes(JSON)),
        row!(Put "/v1/admin/tenants/{tenant}/twake-companies", Admin(Op::SetTwakeCompanies), Admin, Read,
            "Sets the Twake companies the tenant owns: JSON `{\"companies\": [\"<cid>\", ...]}` (`*`: every \
            company no tenant names): 200 `{\"jwt_kinds\", \"twake_companies\"}`; 409 for a company another \
            tenant names, or a tenant whose companies `EDGESHARE_TWAKE_COMPANIES` sets.")
        .with(Spec::DEFAULT.takes(JSON).errors(&[409])),
        row!(Post "/v1/admin/tenants/{tenant}/webhooks", Admin(Op::Webhooks(Hook::Create)), Admin, Read,
            "Registers a webhook endpoint for the tenant, as `POST /v1/webhooks` does for itself: 201 with its secret.")
        .with(Spec::ok(&[(201, Media::Json)]).takes(JSON).errors(&[409])),
        row!(Get "/v1/admin/tenants/{tenant}/webhooks", Admin(Op::Webhooks(Hook::List)), Admin, None,
            "The tenant's webhook endpoints, without their secrets."),
        row!(Delete "/v1/admin/tenants/{tenant}/webhooks/{id}", Admin(Op::Webhooks(Hook::Delete)), Admin, None,
            "Removes one of the tenant's endpoints: 204.")
        .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Get "/v1/admin/tenants/{tenant}/webhooks/{id}/deliveries", Admin(Op::Webhooks(Hook::Deliveries)), Admin, None,
            "An endpoint's deliveries, newest first."),
        row!(Post "/v1/admin/tenants/{tenant}/webhooks/{id}/replay", Admin(Op::Webhooks(Hook::Replay)), Admin, None,
            "Sends again what was given up: `{\"replayed\": n}`."),
    ],
};

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    let ctx = svc.ctx;
    let tenant = || req.params.get(PathParam::Tenant);
    match op {
        Op::CreateTenant => {
            let fields = form::small_json(P::read(body)).await?;
            let id = fields.get("id").and_then(Value::as_str).ok_or_else(|| Error::bad_request("id is required"))?;
            Ok(Reply::json(201, tenant_json(&ctx.create_tenant(id).await?)))
        }
        Op::ListTenants => {
            let cursor = cursor_param(req.head)?;
            let page = listed_page(ctx.list_tenants(cursor.as_deref()).await, cursor.as_deref())?;
            let tenants: Vec<Value> = page.tenants.iter().map(summary_json).collect();
            Ok(Reply::json(200, json!({"tenants": tenants, "cursor": page.cursor})))
        }
        Op::GetTenant => {
            let mut answer = tenant_json(&ctx.tenant_view(tenant()).await?);
            answer["usage"] = usage_json(&ctx.usage(tenant()).await?);
            Ok(Reply::json(200, answer))
        }
        Op::DeleteTenant => {
            ctx.delete_tenant(tenant()).await?;
            Ok(Reply::Empty { status: 204, headers: Vec::new() })
        }
        Op::Suspend | Op::Resume => {
            let status = if op == Op::Suspend { Status::Suspended } else { Status::Active };
            Ok(Reply::json(200, tenant_json(&ctx.set_tenant_status(tenant(), status).await?)))
        }
        Op::MintKey => {
            let fields = form::small_json(P::read(body)).await?;
            let text = |name: &str| match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Error::bad_request(format!("{name} must be a string"))),
            };
            let ask = KeyAsk::parse(text("kind")?, text("user")?)?;
            let (entry, secret) = ctx.mint_key(tenant(), &ask).await?;
            let mut answer = key_json(&entry);
            answer["secret"] = json!(secret.expose());
            Ok(Reply::json(201, answer))
        }
        Op::ListKeys => {
            let keys: Vec<Value> = ctx.tenant_keys(tenant()).await?.iter().map(key_json).collect();
            Ok(Reply::json(200, json!({"keys": keys})))
        }
        Op::RevokeKey => {
            ctx.revoke_key(tenant(), req.params.get(PathParam::Key)).await?;
            Ok(Reply::Empty { status: 204, headers: Vec::new() })
        }
        Op::SetQuota => {
            ctx.tenant_view(tenant()).await?;
            let fields = form::small_json(P::read(body)).await?;
            ctx.set_quota(tenant(), quota_of(&fields)?).await?;
            Ok(Reply::json(200, usage_json(&ctx.usage(tenant()).await?)))
        }
        Op::Usage => {
            ctx.tenant_view(tenant()).await?;
            Ok(Reply::json(200, usage_json(&ctx.usage(tenant()).await?)))
        }
        Op::Webhooks(hook) => {
            ctx.tenant_view(tenant()).await?;
            super::webhooks::serve(svc, hook, tenant(), req, body).await
        }
        Op::SetJwtSecrets => {
            let fields = form::small_json(P::read(body)).await?;
            let secrets = match fields.get("secrets") {
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(kind, secret)| {
                        let kind = match kind.as_str() {
                            "*" => None,
                            k => Some(
                                KeyKind::ALL
                                    .into_iter()
                                    .find(|x| x.name() == k)
                                    .ok_or_else(|| Error::bad_request(format!("unknown kind {k}")))?,
                            ),
                        };
                        let secret = secret.as_str().ok_or_else(|| Error::bad_request("a secret is a string"))?;
                        Ok((kind, secret.to_string()))
                    })
                    .collect::<Result<Vec<_>>>()?,
                _ => return Err(Error::bad_request("secrets is required: an object of kind to secret")),
            };
            ctx.set_jwt_secrets(tenant(), secrets).await?;
            settings_reply(svc, tenant()).await
        }
        Op::SetTwakeCompanies => {
            let fields = form::small_json(P::read(body)).await?;
            let companies = match fields.get("companies") {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|c| c.as_str().map(String::from).ok_or_else(|| Error::bad_request("a company is a string")))
                    .collect::<Result<Vec<_>>>()?,
                _ => return Err(Error::bad_request("companies is required: a list")),
            };
            ctx.set_twake_companies(tenant(), companies).await?;
            settings_reply(svc, tenant()).await
        }
    }
}

/// What a tenant has now, configured or set at run time: the kinds of JWT it has a secret
/// of, and its Twake companies (read again: the call that set them forgot the cached ones).
async fn settings_reply<P: Platform>(svc: &Service<'_, P>, tenant: &str) -> Result<Reply> {
    let runtime = svc.ctx.runtime_config().await?;
    let (kinds, companies) = settings_of(runtime.as_ref().unwrap_or(svc.ctx.config), tenant);
    Ok(Reply::json(200, json!({"jwt_kinds": kinds, "twake_companies": companies})))
}

/// A quota from its JSON: each limit a whole number, or `null` or absent for none.
fn quota_of(fields: &serde_json::Map<String, Value>) -> Result<Quota> {
    const NAMES: [&str; 4] = ["max_bytes", "max_files", "max_file_size", "max_uploads_in_progress"];
    if let Some(other) = fields.keys().find(|k| !NAMES.contains(&k.as_str())) {
        return Err(Error::bad_request(format!("unknown quota field {other}")));
    }
    let limit = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| Error::bad_request(format!("{name} must be a whole number"))),
    };
    Ok(Quota {
        max_bytes: limit(NAMES[0])?,
        max_files: limit(NAMES[1])?,
        max_file_size: limit(NAMES[2])?,
        max_uploads_in_progress: limit(NAMES[3])?,
    })
}

/// A tenant as the list shows it.
fn summary_json(s: &Summary) -> Value {
    json!({
        "id": s.id,
        "status": s.status.name(),
        "created_at": s.created_at.map(iso8601_ms),
        "bootstrap": s.bootstrap,
    })
}

/// A tenant: as listed, and how many keys it has.
fn tenant_json(view: &TenantView) -> Value {
    let mut v = summary_json(&view.summary());
    v["keys"] = json!(view.keys().len());
    v
}

/// A key, never its secret nor its hash.
fn key_json(k: &KeyEntry) -> Value {
    json!({"id": k.id, "kind": k.kind.name(), "user": k.user, "created_at": iso8601_ms(k.created_at)})
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::auth::JwtSecrets;
    use crate::dialect::Reply;
    use crate::engine::file::keys;
    use crate::engine::tenant::cache::Cache;
    use crate::engine::tenant::cache::CACHE_MS;
    use crate::route::Method::{self, *};
    use crate::testkit::{World, ACME_BASIC, ACME_BEARER, ACME_OPENTERA_STATIC, ADMIN_BEARER, BOBCO_BEARER};

    const ADMIN: (&str, &str) = ("Authorization", ADMIN_BEARER);
    const JSON: (&str, &str) = ("Content-Type", "application/json");

    fn admin(w: &World, m: Method, path: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let r = w.send(m, path, &[ADMIN, JSON], body);
        let json = match &r {
            Reply::Empty { .. } => Value::Null,
            r => World::json(r),
        };
        (r.status(), json)
    }

    /// Credentials the registry does not know cost a KV read each: past the rate limit (10 a
    /// window per client address here) a client is refused `429` and reads nothing more for a
    /// while; another client, and the bootstrap's credentials, are not held up.
    #[test]
    fn unknown_credentials_are_rate_limited_per_client_before_they_read() {
        let w = World::new();
        let from = |ip: &'static str, auth: String| {
            let headers = [("Authorization", auth.as_str()), ("CF-Connecting-IP", ip)];
            w.send(Get, "/v1/files", &headers, Vec::new())
        };
        for n in 0..10 {
            assert_eq!(from("203.0.113.7", format!("Bearer made-up-{n}")).status(), 401, "miss {n}");
        }
        let reads = w.meta.gets.get();
        let over = from("203.0.113.7", "Bearer made-up-10".into());
        assert_eq!((over.status(), over.header("Retry-After")), (429, Some("60")));
        for n in 11..30 {
            assert_eq!(from("203.0.113.7", format!("Bearer made-up-{n}")).status(), 429);
        }
        assert_eq!(w.meta.gets.get() - reads, 1, "one read (the 11th), none after it");
        assert_eq!(from("198.51.100.1", "Bearer made-up-x".into()).status(), 401, "another client");
        assert_eq!(from("203.0.113.7", ACME_BEARER.into()).status(), 200, "the bootstrap's: no read");
        // a while later this isolate asks the binding again (which, in the worker, has moved on)
        w.advance(CACHE_MS);
        w.throttle.counts.borrow_mut().clear();
        assert_eq!(from("203.0.113.7", "Bearer made-up-31".into()).status(), 401);
    }

    /// A key minted for `tenant`: its answer.
    fn mint(w: &World, tenant: &str, ask: Value) -> Value {
        let (status, key) = admin(w, Post, &format!("/v1/admin/tenants/{tenant}/keys"), ask);
        assert_eq!(status, 201, "{key}");
        key
    }

    fn basic(user: &str, password: &str) -> String {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    }

    /// A tus upload in one request with these credentials: its status.
    fn tus(w: &World, auth: &str, bytes: &[u8]) -> u16 {
        let len = bytes.len().to_string();
        let headers = [
            ("Authorization", auth),
            ("Tus-Resumable", "1.0.0"),
            ("Upload-Length", &len),
            ("Content-Length", &len),
            ("Content-Type", "application/offset+octet-stream"),
        ];
        w.send(Post, "/files/", &headers, bytes.to_vec()).status()
    }

    /// An NGCP simple upload: its status and answer.
    fn ngcp(w: &World, auth: &str, bytes: &[u8]) -> (u16, Value) {
        let mut body = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.txt\"\r\n\r\n".to_vec();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--XX--\r\n");
        let r = w.send(
            Post,
            "/uploads",
            &[("Authorization", auth), ("Content-Type", "multipart/form-data; boundary=XX")],
            body,
        );
        (r.status(), World::json(&r))
    }

    /// An OpenTera upload with a static token: its status.
    fn opentera(w: &World, token: &str, bytes: &[u8]) -> u16 {
        let mut body =
            b"--XB\r\nContent-Disposition: form-data; name=\"file_asset\"\r\n\r\n{\"id_session\": 1, \"asset_name\": \"A\"}\r\n".to_vec();
        body.extend_from_slice(b"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--XB--\r\n");
        let auth = format!("OpenTera {token}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "multipart/form-data; boundary=XB")];
        w.send(Post, "/file/api/assets", &headers, body).status()
    }

    fn files(w: &World, auth: &str) -> Vec<Value> {
        let r = w.send(Get, "/v1/files", &[("Authorization", auth)], Vec::new());
        assert_eq!(r.status(), 200, "{r:?}");
        World::json(&r)["files"].as_array().unwrap().clone()
    }

    #[test]
    fn a_tenant_made_at_run_time_uploads_through_every_kind_of_key() {
        let mut w = World::new();
        let (status, t) = admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        assert_eq!(status, 201, "{t}");
        assert_eq!(
            t,
            json!({"id": "zeta", "status": "active", "created_at": "2024-05-02T10:00:00.000Z", "bootstrap": false, "keys": 0})
        );
        let bearer = mint(&w, "zeta", json!({"kind": "bearer"}));
        let secret = bearer["secret"].as_str().unwrap().to_string();
        assert!(
            secret.len() >= 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{secret}"
        );
        assert_eq!((bearer["kind"].as_str(), bearer["user"].as_str()), (Some("bearer"), None));
        let basic_key = mint(&w, "zeta", json!({"kind": "basic", "user": "alice"}));
        assert_eq!(basic_key["user"], "alice");
        // an OpenTera upload answers with an access token signed with the tenant's JWT secret
        let (status, e) = admin(&w, Post, "/v1/admin/tenants/zeta/keys", json!({"kind": "opentera"}));
        assert_eq!(status, 409);
        assert!(e["error"]["message"].as_str().unwrap().contains("EDGESHARE_JWT_SECRETS"), "{e}");
        w.config.jwt_secrets = JwtSecrets::parse("zeta:zeta-jwt-secret-0123456789").unwrap();
        let tera = mint(&w, "zeta", json!({"kind": "opentera"}));
        // each through a dialect
        assert_eq!(tus(&w, &format!("Bearer {secret}"), b"by tus"), 201);
        let (status, _) = ngcp(&w, &basic("alice", basic_key["secret"].as_str().unwrap()), b"by ngcp");
        assert_eq!(status, 200);
        assert_eq!(opentera(&w, tera["secret"].as_str().unwrap(), b"by opentera"), 200);
        let mut dialects: Vec<String> =
            files(&w, &format!("Bearer {secret}")).iter().map(|f| f["dialect"].as_str().unwrap().into()).collect();
        dialects.sort();
        assert_eq!(dialects, ["ngcp", "opentera", "tus"], "all zeta's");
        assert!(files(&w, ACME_BEARER).is_empty(), "none acme's");
        // a key works under its own scheme only
        assert_eq!(tus(&w, &format!("Bearer {}", tera["secret"].as_str().unwrap()), b"x"), 401);
        assert_eq!(opentera(&w, &secret, b"x"), 403);
        // listed without secrets, and the secrets are nowhere but in the answers that minted them
        let (status, listed) = admin(&w, Get, "/v1/admin/tenants/zeta/keys", Value::Null);
        assert_eq!(status, 200);
        let listed = listed["keys"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 3);
        for (k, minted) in listed.iter().zip([&bearer, &basic_key, &tera]) {
            assert_eq!(k["id"], minted["id"]);
            assert_eq!(k.as_object().unwrap().keys().collect::<Vec<_>>(), ["created_at", "id", "kind", "user"]);
        }
        let stored: String = w.meta.entries.borrow().iter().map(|(k, (v, _, m))| format!("{k}{v}{m:?}")).collect();
        for minted in [&bearer, &basic_key, &tera] {
            assert!(!stored.contains(minted["secret"].as_str().unwrap()), "only hashes are kept");
        }
        assert_eq!(admin(&w, Get, "/v1/admin/tenants/zeta", Value::Null).1["keys"], 3);
    }

    #[test]
    fn revoked_keys_and_suspended_tenants_are_refused() {
        let w = World::new();
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        let key = mint(&w, "zeta", json!({"kind": "bearer"}));
        let other = mint(&w, "zeta", json!({"kind": "bearer"}));
        let auth = format!("Bearer {}", key["secret"].as_str().unwrap());
        let other_auth = format!("Bearer {}", other["secret"].as_str().unwrap());
        assert_eq!(tus(&w, &auth, b"one"), 201);
        // suspended: every key, at once here
        let (status, t) = admin(&w, Post, "/v1/admin/tenants/zeta/suspend", Value::Null);
        assert_eq!((status, t["status"].as_str()), (200, Some("suspended")));
        let r = w.send(Get, "/v1/files", &[("Authorization", &auth)], Vec::new());
        assert_eq!(r.status(), 403);
        assert_eq!(World::json(&r)["error"]["message"], "this tenant is suspended");
        assert_eq!(tus(&w, &other_auth, b"x"), 403);
        // a key minted meanwhile is suspended with its tenant
        let late = mint(&w, "zeta", json!({"kind": "bearer"}));
        assert_eq!(tus(&w, &format!("Bearer {}", late["secret"].as_str().unwrap()), b"x"), 403);
        let (status, t) = admin(&w, Post, "/v1/admin/tenants/zeta/resume", Value::Null);
        assert_eq!((status, t["status"].as_str()), (200, Some("active")));
        assert_eq!(tus(&w, &auth, b"two"), 201);
        assert_eq!(tus(&w, &format!("Bearer {}", late["secret"].as_str().unwrap()), b"x"), 201);
        // revoked: refused as unknown, the others go on
        let path = format!("/v1/admin/tenants/zeta/keys/{}", key["id"].as_str().unwrap());
        assert_eq!(admin(&w, Delete, &path, Value::Null).0, 204);
        assert_eq!(tus(&w, &auth, b"x"), 401);
        assert_eq!(tus(&w, &other_auth, b"x"), 201);
        assert_eq!(admin(&w, Delete, &path, Value::Null).0, 404, "gone");
        let (_, listed) = admin(&w, Get, "/v1/admin/tenants/zeta/keys", Value::Null);
        assert_eq!(listed["keys"].as_array().unwrap().len(), 2);
        assert!(w.meta.keys("reg:cred:").len() == 2, "its credential went with it");
    }

    /// A tenant of `EDGESHARE_CREDENTIALS` is in the registry implicitly: suspending it writes
    /// its record, and its configured credentials and JWTs are refused with its keys.
    #[test]
    fn bootstrap_tenants_can_be_suspended_and_given_keys() {
        let w = World::new();
        let (_, mut t) = admin(&w, Get, "/v1/admin/tenants/acme", Value::Null);
        assert_eq!(t["usage"]["files"], 0);
        t.as_object_mut().unwrap().remove("usage");
        assert_eq!(t, json!({"id": "acme", "status": "active", "created_at": null, "bootstrap": true, "keys": 0}));
        let key = mint(&w, "acme", json!({"kind": "bearer"}));
        let minted = format!("Bearer {}", key["secret"].as_str().unwrap());
        assert_eq!(tus(&w, &minted, b"minted"), 201);
        assert_eq!(files(&w, ACME_BASIC).len(), 1, "the same tenant");
        assert_eq!(admin(&w, Post, "/v1/admin/tenants/acme/suspend", Value::Null).1["bootstrap"], true);
        assert_eq!(tus(&w, ACME_BEARER, b"x"), 403, "its configured token");
        assert_eq!(tus(&w, &minted, b"x"), 403, "its minted one");
        assert_eq!(ngcp(&w, ACME_BASIC, b"x").0, 403);
        assert_eq!(opentera(&w, ACME_OPENTERA_STATIC, b"x"), 403);
        // its JWTs: OpenTera's and Twake's
        let now = (w.now() / 1000) as i64;
        let c = json!({"iss": "TeraServer", "iat": now, "exp": now + 60, "participant_uuid": "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21"});
        let token = crate::engine::jwt::sign(c.as_object().unwrap(), crate::testkit::ACME_JWT_SECRET.as_bytes());
        assert_eq!(opentera(&w, &token, b"x"), 403);
        let c = json!({"type": "access", "iat": now, "exp": now + 60, "sub": "u1"});
        let twake = crate::engine::jwt::sign(c.as_object().unwrap(), crate::testkit::ACME_JWT_SECRET.as_bytes());
        let path = format!("{}/companies/c1/files", crate::dialect::twake::PREFIX);
        let r = w.send(Post, &path, &[("Authorization", &format!("Bearer {twake}"))], Vec::new());
        assert_eq!(r.status(), 403, "{r:?}");
        assert_eq!(tus(&w, BOBCO_BEARER, b"bob"), 201, "other tenants go on");
        admin(&w, Post, "/v1/admin/tenants/acme/resume", Value::Null);
        assert_eq!(tus(&w, ACME_BEARER, b"back"), 201);
        assert_eq!(opentera(&w, &token, b"back"), 200);
        // a configured tenant stays configured
        let (status, e) = admin(&w, Delete, "/v1/admin/tenants/acme", Value::Null);
        assert_eq!(status, 409);
        assert!(e["error"]["message"].as_str().unwrap().contains("EDGESHARE_CREDENTIALS"), "{e}");
        assert_eq!(admin(&w, Post, "/v1/admin/tenants", json!({"id": "acme"})).0, 409, "it exists");
    }

    #[test]
    fn tenants_with_files_are_not_deleted() {
        let w = World::new();
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        let key = mint(&w, "zeta", json!({"kind": "bearer"}));
        let auth = format!("Bearer {}", key["secret"].as_str().unwrap());
        assert_eq!(ngcp(&w, &auth, b"kept").0, 200);
        let (status, e) = admin(&w, Delete, "/v1/admin/tenants/zeta", Value::Null);
        assert_eq!((status, e["error"]["code"].as_str()), (409, Some("conflict")), "{e}");
        assert_eq!(tus(&w, &auth, b"x"), 201, "nothing changed");
        for f in files(&w, &auth) {
            let path = format!("/v1/files/{}", f["id"].as_str().unwrap());
            assert_eq!(w.send(Delete, &path, &[("Authorization", &auth)], Vec::new()).status(), 204);
        }
        assert_eq!(admin(&w, Delete, "/v1/admin/tenants/zeta", Value::Null).0, 204);
        assert_eq!(tus(&w, &auth, b"x"), 401, "its keys went with it");
        assert_eq!(admin(&w, Get, "/v1/admin/tenants/zeta", Value::Null).0, 404);
        assert!(w.meta.keys("reg:").is_empty(), "nothing of it is left: {:?}", w.meta.keys("reg:"));
        assert_eq!(admin(&w, Delete, "/v1/admin/tenants/zeta", Value::Null).0, 404);
        // and it can be made again, anew
        assert_eq!(admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"})).1["keys"], 0);
    }

    #[test]
    fn only_the_operator_reaches_the_admin_api() {
        let w = World::new();
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        let key = mint(&w, "zeta", json!({"kind": "bearer"}));
        let minted = format!("Bearer {}", key["secret"].as_str().unwrap());
        let revoke = format!("/v1/admin/tenants/zeta/keys/{}", key["id"].as_str().unwrap());
        let routes: Vec<(Method, String)> = super::TABLE
            .endpoints
            .iter()
            .map(|e| (e.method, e.path.replace("{tenant}", "zeta").replace("{key}", key["id"].as_str().unwrap())))
            .collect();
        assert!(routes.iter().any(|(_, p)| *p == revoke));
        for (m, path) in &routes {
            for (auth, want) in [
                (ACME_BEARER.to_string(), 403),
                (ACME_BASIC.to_string(), 403),
                (minted.clone(), 403),
                ("Bearer nobody".into(), 401),
                (basic("admin", "admin-token-0123456789"), 401),
            ] {
                let r =
                    w.send(*m, path, &[("Authorization", &auth), JSON], b"{\"id\":\"x\",\"kind\":\"bearer\"}".to_vec());
                assert_eq!(r.status(), want, "{m:?} {path} with {auth}");
                assert!(World::json(&r)["error"]["message"].is_string());
            }
            assert_eq!(w.send(*m, path, &[JSON], Vec::new()).status(), 401, "{m:?} {path} without");
        }
        // nothing changed
        assert_eq!(tus(&w, &minted, b"x"), 201);
        assert_eq!(admin(&w, Get, "/v1/admin/tenants/zeta/keys", Value::Null).1["keys"].as_array().unwrap().len(), 1);
        // the operator is no tenant
        let r = w.send(Get, "/v1/files", &[ADMIN], Vec::new());
        assert_eq!((r.status(), World::json(&r)["error"]["code"].as_str()), (403, Some("forbidden")));
        assert_eq!(tus(&w, ADMIN_BEARER, b"x"), 403);
        assert_eq!(ngcp(&w, ADMIN_BEARER, b"x").0, 403);
        assert_eq!(opentera(&w, "admin-token-0123456789", b"x"), 403);
    }

    /// There is no tenant-side key API: one tenant's keys are reached by the operator alone,
    /// and each tenant's path names its own keys only.
    #[test]
    fn tenants_keys_are_their_own() {
        let w = World::new();
        for id in ["zeta", "eta"] {
            admin(&w, Post, "/v1/admin/tenants", json!({"id": id}));
        }
        let zeta = mint(&w, "zeta", json!({"kind": "bearer"}));
        let eta = mint(&w, "eta", json!({"kind": "bearer"}));
        let eta_auth = format!("Bearer {}", eta["secret"].as_str().unwrap());
        let zeta_key = zeta["id"].as_str().unwrap();
        // eta's key cannot list, mint or revoke zeta's
        assert_eq!(
            w.send(Get, "/v1/admin/tenants/zeta/keys", &[("Authorization", &eta_auth)], Vec::new()).status(),
            403
        );
        let revoke = format!("/v1/admin/tenants/zeta/keys/{zeta_key}");
        assert_eq!(w.send(Delete, &revoke, &[("Authorization", &eta_auth)], Vec::new()).status(), 403);
        // zeta's key named under eta is not eta's
        assert_eq!(admin(&w, Delete, &format!("/v1/admin/tenants/eta/keys/{zeta_key}"), Value::Null).0, 404);
        let (_, listed) = admin(&w, Get, "/v1/admin/tenants/eta/keys", Value::Null);
        assert_eq!(
            listed["keys"].as_array().unwrap().iter().map(|k| k["id"].clone()).collect::<Vec<_>>(),
            [eta["id"].clone()]
        );
        assert_eq!(tus(&w, &format!("Bearer {}", zeta["secret"].as_str().unwrap()), b"z"), 201, "still works");
        // files stay apart
        assert_eq!(files(&w, &eta_auth).len(), 0);
    }

    /// Invented tenants and keys are `404`, each after at most a lookup, and write nothing;
    /// a revocation sent twice is `404` the second time and changes nothing more.
    #[test]
    fn invented_tenants_and_keys_are_404_and_write_nothing() {
        let w = World::new();
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        let key = mint(&w, "zeta", json!({"kind": "bearer"}));
        let revoke = format!("/v1/admin/tenants/zeta/keys/{}", key["id"].as_str().unwrap());
        assert_eq!(admin(&w, Delete, &revoke, Value::Null).0, 204);
        let before = w.meta.entries.borrow().clone();
        let calls: &[(Method, &str, Value)] = &[
            (Get, "/v1/admin/tenants/nobody", Value::Null),
            (Post, "/v1/admin/tenants/nobody/suspend", Value::Null),
            (Post, "/v1/admin/tenants/nobody/resume", Value::Null),
            (Delete, "/v1/admin/tenants/nobody", Value::Null),
            (Get, "/v1/admin/tenants/nobody/keys", Value::Null),
            (Post, "/v1/admin/tenants/nobody/keys", json!({"kind": "bearer"})),
            (Delete, "/v1/admin/tenants/nobody/keys/0123456789abcdef", Value::Null),
            (Delete, "/v1/admin/tenants/zeta/keys/0123456789abcdef", Value::Null),
            (Delete, &revoke, Value::Null),
        ];
        for (method, path, body) in calls {
            let reads = w.meta.gets.get();
            assert_eq!(admin(&w, *method, path, body.clone()).0, 404, "{method:?} {path}");
            assert!(w.meta.gets.get() - reads <= 1, "{method:?} {path}: one lookup at most");
        }
        assert_eq!(*w.meta.entries.borrow(), before, "nothing written");
    }

    #[test]
    fn bad_requests_are_400_in_json() {
        let w = World::new();
        for body in [
            json!({}),
            json!({"id": 5}),
            json!({"id": "Acme"}),
            json!({"id": "a b"}),
            json!({"id": "x".repeat(33)}),
            json!({"id": "-a"}),
        ] {
            let (status, e) = admin(&w, Post, "/v1/admin/tenants", body.clone());
            assert_eq!((status, e["error"]["code"].as_str()), (400, Some("bad_request")), "{body}");
        }
        let r = w.send(Post, "/v1/admin/tenants", &[ADMIN, JSON], b"[1]".to_vec());
        assert_eq!(r.status(), 400);
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        assert_eq!(admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"})).0, 409);
        for body in [
            json!({}),
            json!({"kind": "digest"}),
            json!({"kind": 1}),
            json!({"kind": "basic"}),
            json!({"kind": "basic", "user": "a:b"}),
            json!({"kind": "bearer", "user": "alice"}),
        ] {
            let (status, e) = admin(&w, Post, "/v1/admin/tenants/zeta/keys", body.clone());
            assert_eq!((status, e["error"]["code"].as_str()), (400, Some("bad_request")), "{body}: {e}");
        }
        assert!(w.meta.keys("reg:cred:").is_empty(), "nothing minted");
        // unknown tenants and keys, whatever their spelling
        for path in ["/v1/admin/tenants/nobody", "/v1/admin/tenants/a:b", "/v1/admin/tenants/nobody/keys"] {
            let (status, e) = admin(&w, Get, path, Value::Null);
            assert_eq!((status, e["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
        }
        assert_eq!(admin(&w, Post, "/v1/admin/tenants/nobody/keys", json!({"kind": "bearer"})).0, 404);
        assert_eq!(admin(&w, Post, "/v1/admin/tenants/nobody/suspend", Value::Null).0, 404);
        assert_eq!(admin(&w, Delete, "/v1/admin/tenants/zeta/keys/not-a-key", Value::Null).0, 404);
        assert_eq!(admin(&w, Get, "/v1/admin/tenants?cursor=%01", Value::Null).0, 400);
        assert_eq!(admin(&w, Put, "/v1/admin/tenants", Value::Null).0, 405);
    }

    #[test]
    fn the_registry_lists_bootstrap_tenants_first() {
        let w = World::new();
        for id in ["zeta", "eta"] {
            admin(&w, Post, "/v1/admin/tenants", json!({"id": id}));
        }
        admin(&w, Post, "/v1/admin/tenants/eta/suspend", Value::Null);
        admin(&w, Post, "/v1/admin/tenants/bobco/suspend", Value::Null);
        let (status, page) = admin(&w, Get, "/v1/admin/tenants", Value::Null);
        assert_eq!(status, 200);
        let seen: Vec<(String, String, bool)> = page["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_str().unwrap().into(), t["status"].as_str().unwrap().into(), t["bootstrap"] == true))
            .collect();
        let want = [
            ("acme", "active", true),
            ("bobco", "suspended", true),
            ("eta", "suspended", false),
            ("zeta", "active", false),
        ];
        assert_eq!(seen, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c)), "bobco once, though it has a record");
        assert_eq!(page["cursor"], Value::Null);
    }

    /// What another isolate wrote is seen here within the cache's few seconds; what this one
    /// wrote, at once.
    #[test]
    fn changes_made_elsewhere_are_seen_within_the_cache_bound() {
        let mut w = World::new();
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        let key = mint(&w, "zeta", json!({"kind": "bearer"}));
        let auth = format!("Bearer {}", key["secret"].as_str().unwrap());
        // the KV reads of two uploads, with the cache warm and cold: one registry read each
        let reads = |w: &World| {
            let before = w.meta.gets.get();
            assert_eq!(tus(w, &auth, b"x"), 201);
            assert_eq!(tus(w, ACME_BEARER, b"x"), 201);
            w.meta.gets.get() - before
        };
        reads(&w);
        let warm = reads(&w);
        w.tenants = Cache::default();
        assert_eq!(reads(&w), warm + 2, "the key's credential, acme's status");
        // another location revokes the key and suspends acme, behind this isolate's back
        let creds: Vec<String> = w.meta.keys("reg:cred:");
        w.meta.entries.borrow_mut().remove(&creds[0]);
        let suspended = json!({"id": "acme", "status": "suspended", "created_at": 0, "updated_at": 0});
        w.meta.entries.borrow_mut().insert(keys::tenant_record("acme"), (suspended.to_string(), None, None));
        w.advance(CACHE_MS - 1);
        assert_eq!(tus(&w, &auth, b"x"), 201, "still cached");
        assert_eq!(tus(&w, ACME_BEARER, b"x"), 201, "still cached");
        w.advance(1);
        assert_eq!(tus(&w, &auth, b"x"), 401);
        assert_eq!(tus(&w, ACME_BEARER, b"x"), 403);
    }

    /// Without `EDGESHARE_ADMIN_CREDENTIALS` nobody can write the registry, and it is never
    /// read: a bootstrap credential costs no KV read, as before the registry existed.
    #[test]
    fn without_an_operator_the_registry_is_never_read() {
        let mut w = World::new();
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        let key = mint(&w, "zeta", json!({"kind": "bearer"}));
        w.config.admin = Default::default();
        w.tenants = Default::default();
        let reads = w.meta.gets.get();
        let r = w.send(Get, "/v1/files", &[("Authorization", ACME_BEARER)], Vec::new());
        assert_eq!(r.status(), 200);
        assert_eq!(w.meta.gets.get(), reads, "no KV read to authenticate");
        assert_eq!(tus(&w, &format!("Bearer {}", key["secret"].as_str().unwrap()), b"x"), 401, "no registry");
        assert_eq!(w.send(Get, "/v1/admin/tenants", &[ADMIN], Vec::new()).status(), 401, "no operator");
        // a configured tenant's credentials as before
        assert_eq!(tus(&w, ACME_BASIC, b"x"), 201);
    }

    fn usage(w: &World, auth: &str) -> Value {
        World::json(&w.send(Get, "/v1/usage", &[("Authorization", auth)], Vec::new()))
    }

    /// A quota refuses a declared size before the first byte, stops a stream of no declared
    /// size where its room ends (keeping nothing of it), counts files, and frees room when
    /// a file goes; other tenants are not touched.
    #[test]
    fn quotas_refuse_before_the_first_byte_and_stop_a_stream_at_the_limit() {
        let w = World::new();
        let (status, u) = admin(&w, Put, "/v1/admin/tenants/acme/quota", json!({"max_bytes": 100, "max_files": 3}));
        assert_eq!(status, 200, "{u}");
        assert_eq!((u["quota"]["max_bytes"].as_u64(), u["quota"]["max_file_size"].clone()), (Some(100), Value::Null));
        assert_eq!(tus(&w, ACME_BEARER, &[1; 101]), 413, "declared: refused at once");
        assert!(w.blobs.objects.borrow().is_empty(), "not a byte stored");
        assert_eq!(tus(&w, ACME_BEARER, &[1; 60]), 201);
        let (status, err) = ngcp(&w, ACME_BASIC, &[2; 41]);
        assert_eq!(status, 413, "no size announced: stopped at the room left; {err}");
        assert!(err["message"].as_str().unwrap().contains("quota"), "{err}");
        assert_eq!(w.blobs.objects.borrow().len(), 1, "nothing of it kept");
        assert_eq!(ngcp(&w, ACME_BASIC, &[2; 40]).0, 200, "exactly the room left");
        assert_eq!(opentera(&w, ACME_OPENTERA_STATIC, b"x"), 413, "full");
        let u = usage(&w, ACME_BEARER);
        assert_eq!(
            (u["bytes"].as_u64(), u["files"].as_u64(), u["uploads_in_progress"].as_u64()),
            (Some(100), Some(2), Some(0))
        );
        assert_eq!(tus(&w, BOBCO_BEARER, &[3; 500]), 201, "another tenant has its own account");
        // a file deleted frees its room; the file count holds
        let first =
            files(&w, ACME_BEARER).iter().find(|f| f["size"] == 60).unwrap()["id"].as_str().unwrap().to_string();
        assert_eq!(
            w.send(Delete, &format!("/v1/files/{first}"), &[("Authorization", ACME_BEARER)], Vec::new()).status(),
            204
        );
        assert_eq!(usage(&w, ACME_BEARER)["bytes"], 40);
        assert_eq!(tus(&w, ACME_BEARER, &[4; 30]), 201);
        assert_eq!(tus(&w, ACME_BEARER, &[5; 1]), 201, "a third file");
        assert_eq!(tus(&w, ACME_BEARER, &[6; 1]), 413, "no fourth");
        let (_, u) = admin(&w, Get, "/v1/admin/tenants/acme/usage", Value::Null);
        assert_eq!((u["files"].as_u64(), u["bytes"].as_u64()), (Some(3), Some(71)));
        // the largest file, and lifting a limit
        admin(&w, Put, "/v1/admin/tenants/acme/quota", json!({"max_file_size": 10}));
        assert_eq!(tus(&w, ACME_BEARER, &[7; 11]), 413);
        assert_eq!(tus(&w, ACME_BEARER, &[7; 10]), 201, "no byte or file limit any more");
        // only the operator sets quotas, with whole numbers, for tenants that exist
        let r = w.send(Put, "/v1/admin/tenants/acme/quota", &[("Authorization", ACME_BEARER), JSON], b"{}".to_vec());
        assert_eq!(r.status(), 403, "a tenant is no operator");
        for bad in [json!({"max_bytes": -1}), json!({"max_bytes": "1"}), json!({"max_disk": 1})] {
            assert_eq!(admin(&w, Put, "/v1/admin/tenants/acme/quota", bad.clone()).0, 400, "{bad}");
        }
        assert_eq!(admin(&w, Put, "/v1/admin/tenants/nobody/quota", json!({})).0, 404);
        assert_eq!(admin(&w, Get, "/v1/admin/tenants/nobody/usage", Value::Null).0, 404);
    }

    /// Requests are counted per tenant (errors, bytes, downloads) and uploads by the account
    /// itself; both tenants' own figures, in `/v1/usage` and the operator's view.
    #[test]
    fn counters_tell_what_each_tenants_requests_did() {
        let w = World::new();
        assert_eq!(tus(&w, ACME_BEARER, &[1; 10]), 201);
        let file = files(&w, ACME_BEARER)[0]["id"].as_str().unwrap().to_string();
        let download = w.send(
            Get,
            &format!("/files/{file}"),
            &[("Authorization", ACME_BEARER), ("Tus-Resumable", "1.0.0")],
            Vec::new(),
        );
        assert_eq!(download.status(), 200);
        assert_eq!(
            w.send(Get, "/files/nope", &[("Authorization", ACME_BEARER), ("Tus-Resumable", "1.0.0")], Vec::new())
                .status(),
            404
        );
        assert_eq!(tus(&w, BOBCO_BEARER, &[2; 3]), 201);
        w.flush_counters();
        let c = usage(&w, ACME_BEARER)["counters"].clone();
        assert_eq!(
            (c["uploads"].as_u64(), c["downloads"].as_u64(), c["errors"].as_u64()),
            (Some(1), Some(1), Some(1)),
            "{c}"
        );
        assert_eq!((c["requests"].as_u64(), c["bytes_in"].as_u64()), (Some(4), Some(10)), "{c}");
        assert!(c["bytes_out"].as_u64().unwrap() >= 10, "the download's bytes at least: {c}");
        let (_, u) = admin(&w, Get, "/v1/admin/tenants/bobco/usage", Value::Null);
        assert_eq!((u["counters"]["uploads"].as_u64(), u["counters"]["requests"].as_u64()), (Some(1), Some(1)), "{u}");
    }

    /// A tenant made at run time is given JWT secrets and Twake companies by the operator:
    /// its OpenTera and Twake tokens work, another tenant's companies stay theirs, what the
    /// configuration gives wins, and nothing shows a secret.
    #[test]
    fn jwt_secrets_and_twake_companies_at_run_time() {
        let w = World::new();
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "zeta"}));
        let secret = "zeta-runtime-secret-0123456789";
        let now = (w.now() / 1000) as i64;
        let c = json!({"iss": "TeraServer", "iat": now, "exp": now + 60, "participant_uuid": "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21"});
        let token = crate::engine::jwt::sign(c.as_object().unwrap(), secret.as_bytes());
        assert_eq!(opentera(&w, &token, b"x"), 403, "no secret yet");
        let (status, set) = admin(&w, Put, "/v1/admin/tenants/zeta/jwt-secrets", json!({"secrets": {"*": secret}}));
        assert_eq!(status, 200, "{set}");
        assert_eq!(set["jwt_kinds"], json!(["*"]));
        assert!(!set.to_string().contains(secret), "never shown");
        assert_eq!(opentera(&w, &token, b"runtime"), 200, "its OpenTera token works");
        let key = mint(&w, "zeta", json!({"kind": "opentera"}));
        assert_eq!(opentera(&w, key["secret"].as_str().unwrap(), b"static"), 200, "and an OpenTera key can be minted");
        // Twake: its companies
        let c = json!({"type": "access", "iat": now, "exp": now + 60, "sub": "u1"});
        let twake = format!("Bearer {}", crate::engine::jwt::sign(c.as_object().unwrap(), secret.as_bytes()));
        let post = |cid: &str| {
            let path = format!("{}/companies/{cid}/files", crate::dialect::twake::PREFIX);
            w.send(Post, &path, &[("Authorization", twake.as_str())], Vec::new()).status()
        };
        let (status, set) = admin(&w, Put, "/v1/admin/tenants/zeta/twake-companies", json!({"companies": ["z1"]}));
        assert_eq!((status, set["twake_companies"].clone()), (200, json!(["z1"])), "{set}");
        assert_eq!(post("z1"), 200, "its company");
        assert_eq!(post("z2"), 403, "a tenant listed owns only what it names");
        admin(&w, Post, "/v1/admin/tenants", json!({"id": "yota"}));
        let (status, e) = admin(&w, Put, "/v1/admin/tenants/yota/twake-companies", json!({"companies": ["Z1"]}));
        assert_eq!(status, 409, "z1 is zeta's: {e}");
        // removed: refused again; bad asks are 400
        assert_eq!(admin(&w, Put, "/v1/admin/tenants/zeta/jwt-secrets", json!({"secrets": {}})).0, 200);
        assert_eq!(opentera(&w, &token, b"x"), 403);
        for bad in [
            json!({"secrets": {"*": "short"}}),
            json!({"secrets": {"root": secret}}),
            json!({"secrets": {"*": "a;b-0123456789abcdef"}}),
        ] {
            assert_eq!(admin(&w, Put, "/v1/admin/tenants/zeta/jwt-secrets", bad.clone()).0, 400, "{bad}");
        }
        assert_eq!(admin(&w, Put, "/v1/admin/tenants/nobody/jwt-secrets", json!({"secrets": {}})).0, 404);
        // the configuration wins: acme's configured secret stays its key
        let (_, set) = admin(
            &w,
            Put,
            "/v1/admin/tenants/acme/jwt-secrets",
            json!({"secrets": {"*": "acme-other-secret-0123456789"}}),
        );
        assert_eq!(set["jwt_kinds"], json!(["*"]), "one all-kinds key: the configured one");
        let c = json!({"iss": "TeraServer", "iat": now, "exp": now + 60, "participant_uuid": "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21"});
        let acme = crate::engine::jwt::sign(c.as_object().unwrap(), crate::testkit::ACME_JWT_SECRET.as_bytes());
        assert_eq!(opentera(&w, &acme, b"configured"), 200);
    }

    /// The operator registers a tenant's webhook; the tenant's uploads reach it, and the tenant
    /// sees it as its own.
    #[test]
    fn the_operator_manages_a_tenants_webhooks() {
        let w = World::new();
        let ask = json!({"url": "https://hooks.example/ops", "events": ["file.created"]});
        let (status, hook) = admin(&w, Post, "/v1/admin/tenants/acme/webhooks", ask.clone());
        assert_eq!(status, 201, "{hook}");
        assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"));
        assert_eq!(admin(&w, Post, "/v1/admin/tenants/nobody/webhooks", ask).0, 404);
        assert_eq!(tus(&w, ACME_BEARER, b"hello"), 201);
        w.sweep();
        assert_eq!(w.fetch.sent.borrow().len(), 1, "delivered");
        let mine = World::json(&w.send(Get, "/v1/webhooks", &[("Authorization", ACME_BEARER)], Vec::new()));
        assert_eq!(mine["webhooks"][0]["id"], hook["id"]);
        let id = hook["id"].as_str().unwrap();
        let (_, d) = admin(&w, Get, &format!("/v1/admin/tenants/acme/webhooks/{id}/deliveries"), Value::Null);
        assert_eq!(d["deliveries"][0]["state"], "delivered");
        assert_eq!(admin(&w, Get, &format!("/v1/admin/tenants/bobco/webhooks/{id}/deliveries"), Value::Null).0, 404);
        assert_eq!(admin(&w, Delete, &format!("/v1/admin/tenants/acme/webhooks/{id}"), Value::Null).0, 204);
    }
}
