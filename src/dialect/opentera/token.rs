//! OpenTera's tokens: who is calling ([`identify`]: an identity token, looked for in the
//! vendor's order of places, a tenant's static token or an HS256 JWT verified with the
//! tenant's key of its kind, [`KeyKind`]), and the asset access tokens the service issues
//! ([`access_token`]) and checks, with the tenant's `access` key. A refused credential is
//! `403 "Forbidden"` (or the denial the route words).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::{KeyKind, Tenant};
use crate::config::Config;
use crate::dialect::Head;
use crate::engine::file::ids::{parse_uuid, uuid_v4};
use crate::engine::{jwt, Ctx};
use crate::error::{Error, Result};
use crate::store::Platform;

const ISSUER: &str = "TeraServer";
/// Lifetime of the asset access tokens the service issues.
pub const ACCESS_TOKEN_SECS: u64 = 1800;
/// What every refused credential hears.
pub(super) const FORBIDDEN: &str = "Forbidden";

/// Who is calling: the tenant, the caller's uuid (the `requester_uuid` of its access tokens),
/// and the claims of a dynamic token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub tenant: Tenant,
    pub uuid: String,
    pub kind: Kind,
    pub claims: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A tenant's static token of this service (`opentera` credential): uploads only.
    Static,
    User,
    /// A participant's dynamic token (with `exp`).
    Participant,
    /// A participant's static token (OpenTera's `create_token`: no `exp`), signed with its
    /// own key: uploads only, as OpenTera takes static tokens.
    StaticParticipant,
    Device,
    Service,
}

impl Kind {
    /// The kind of an OpenTera identity token, and the claim naming the caller: from the
    /// first of `user_uuid`, `participant_uuid`, `device_uuid`, `service_uuid` it carries (a
    /// participant's token without `exp` is its static one). None for anything else (an
    /// access token, a Twake token).
    fn of(claims: &Map<String, Value>) -> Option<(Kind, &'static str)> {
        let kinds = [
            ("user_uuid", Kind::User),
            ("participant_uuid", Kind::Participant),
            ("device_uuid", Kind::Device),
            ("service_uuid", Kind::Service),
        ];
        let (claim, kind) = kinds.into_iter().find(|(claim, _)| claims.contains_key(*claim))?;
        let kind =
            if kind == Kind::Participant && !claims.contains_key("exp") { Kind::StaticParticipant } else { kind };
        Some((kind, claim))
    }

    /// The key a token of this kind is verified with, and what it must carry, as OpenTera's
    /// server issues each kind: users' (`TeraUser.get_token`) and dynamic participants'
    /// (`dynamic_token`) always carry `iss` and `exp`, so one without `exp` is refused; devices'
    /// and static participants' (`create_token`) carry `iss` and no `exp`; a service's own
    /// (`service_generate_token`) only `iat` and `service_uuid`, neither `iss` nor `exp`. An
    /// `exp` a token carries is checked whatever its kind (and `nbf` too). None for this
    /// service's static tokens, which are no JWTs.
    fn key(self) -> Option<(KeyKind, jwt::Expect<'static>)> {
        let tera = |exp| jwt::Expect { issuer: Some(ISSUER), exp };
        Some(match self {
            Kind::Static => return None,
            Kind::User => (KeyKind::User, tera(true)),
            Kind::Participant => (KeyKind::Participant, tera(true)),
            Kind::StaticParticipant => (KeyKind::ParticipantStatic, tera(false)),
            Kind::Device => (KeyKind::Device, tera(false)),
            Kind::Service => (KeyKind::Service, jwt::Expect { issuer: None, exp: false }),
        })
    }
}

/// The uuid of a static token's identity: derived from the token (domain-separated, so it
/// says nothing of the stored hash), stable, in UUID v4 form.
pub fn static_uuid(token: &str) -> String {
    let h = Sha256::digest(format!("edgeshare:opentera:{token}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid_v4(b)
}

/// Where the identity token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Header,
    Query,
    Cookie,
}

/// The identity token, in the vendor's order: the `Authorization: OpenTera` header (scheme
/// case-sensitive, split on the first whitespace), `?token=`, the `OpenTera` cookie. As the
/// vendor's `ServiceAccessManager` does, a header of another scheme (`Bearer x`) is passed
/// over for the query and the cookie, and a header that does not split in two is refused.
fn presented(head: &Head) -> Result<(String, From)> {
    if let Some(h) = head.header("authorization") {
        let (scheme, token) = h.trim().split_once(char::is_whitespace).ok_or_else(forbidden)?;
        let token = token.trim();
        if scheme == "OpenTera" {
            if token.is_empty() {
                return Err(forbidden());
            }
            return Ok((token.to_string(), From::Header));
        }
    }
    if let Some(t) = head.query_param("token").filter(|t| !t.is_empty()) {
        return Ok((t, From::Query));
    }
    let cookie = head.header("cookie").and_then(|c| {
        c.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == "OpenTera" && !v.is_empty()).then(|| v.trim_matches('"').to_string())
        })
    });
    cookie.map(|t| (t, From::Cookie)).ok_or_else(forbidden)
}

fn forbidden() -> Error {
    Error::Forbidden(FORBIDDEN.into())
}

/// Authenticates the caller; `dynamic_only` refuses static tokens (downloads, deletes, infos).
/// A static token is the bootstrap's or a registry key's; a suspended tenant's token, static
/// or not, is refused.
pub async fn identify<P: Platform>(ctx: &Ctx<'_, P>, head: &Head, dynamic_only: bool) -> Result<Identity> {
    // a storage failure is not the caller's: it answers 503, not 403
    let refused = |e: Error| if matches!(e, Error::Storage(_)) { e } else { forbidden() };
    let (token, from) = presented(head)?;
    if token.len() > 8192 {
        return Err(forbidden());
    }
    if !jwt::looks_like_jwt(&token) {
        if dynamic_only {
            return Err(forbidden());
        }
        let tenant = ctx.authenticate_opentera(&token).await.map_err(refused)?;
        return Ok(Identity { tenant, uuid: static_uuid(&token), kind: Kind::Static, claims: Map::new() });
    }
    let who = verify(ctx.config, &token, from, ctx.now(), dynamic_only)?;
    ctx.check_active(&who.tenant).await.map_err(refused)?;
    Ok(who)
}

/// An OpenTera JWT identity token, verified with its tenant's key of its kind.
fn verify(config: &Config, token: &str, from: From, now_ms: u64, dynamic_only: bool) -> Result<Identity> {
    // the kind, from the claims as sent, chooses the key; the claims verified must say the same
    let (kind, claim) = jwt::peek(token).as_ref().and_then(Kind::of).ok_or_else(forbidden)?;
    if dynamic_only && kind == Kind::StaticParticipant {
        return Err(forbidden());
    }
    let (key, expect) = kind.key().ok_or_else(forbidden)?;
    let found = jwt::verify_any(config.jwt_secrets.keys(key), token, expect, now_ms / 1000);
    let (tenant, claims) = found.ok_or_else(forbidden)?;
    let tenant = tenant.clone();
    if Kind::of(&claims) != Some((kind, claim)) {
        return Err(forbidden());
    }
    let uuid = claims.get(claim).and_then(Value::as_str).and_then(parse_uuid).ok_or_else(forbidden)?;
    if kind == Kind::Service && from != From::Header {
        return Err(forbidden());
    }
    Ok(Identity { tenant, uuid, kind, claims })
}

/// The tenant's key of asset access tokens, without which none can be issued or checked.
pub(super) fn secret<'c>(config: &'c Config, tenant: &Tenant) -> Result<&'c [u8]> {
    config.jwt_secrets.key(tenant, KeyKind::Access).ok_or_else(forbidden)
}

/// An asset access token: HS256, `iat`, `exp` (+1800 s), `iss`, `asset_uuids`, `requester_uuid`.
pub fn access_token(secret: &[u8], asset_uuids: &[&str], requester: &str, now_ms: u64) -> String {
    let now = now_ms / 1000;
    let claims = json!({
        "iat": now,
        "exp": now + ACCESS_TOKEN_SECS,
        "iss": ISSUER,
        "asset_uuids": asset_uuids,
        "requester_uuid": requester,
    });
    jwt::sign(claims.as_object().expect("an object"), secret)
}

/// Does the access token let `who` reach `asset`?
pub(super) fn check_access(
    config: &Config,
    who: &Identity,
    token: &str,
    asset: &str,
    now_ms: u64,
    denied: &'static str,
) -> Result<()> {
    let denied = || Error::Forbidden(denied.into());
    let claims = jwt::verify(token, secret(config, &who.tenant)?, Some(ISSUER), now_ms / 1000).map_err(|_| denied())?;
    let requester = claims.get("requester_uuid").and_then(Value::as_str).and_then(parse_uuid);
    if requester.as_deref() != Some(who.uuid.as_str()) || !grants(&claims, asset) {
        return Err(denied());
    }
    Ok(())
}

/// Does an access token's `asset_uuids` name `asset`? OpenTera's server mints it as one uuid
/// string (`get_access_token(asset_uuids=asset.asset_uuid, ...)`), this service as a list;
/// the vendor's `uuid in access['asset_uuids']` is a substring test on a string, where only
/// the whole string is taken here.
fn grants(claims: &Map<String, Value>, asset: &str) -> bool {
    match claims.get("asset_uuids") {
        Some(Value::String(one)) => one == asset,
        Some(Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(asset)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::opentera::tests::{form, get, identity, upload, PARTICIPANT};
    use crate::route::Method;
    use crate::testkit::{World, ACME_JWT_SECRET, BOBCO_JWT_SECRET};

    /// A Twake access token (signed with the same tenant secret) is no OpenTera identity, and
    /// an OpenTera token is refused before its `nbf`.
    #[test]
    fn tokens_of_another_dialect_or_not_yet_valid_are_refused() {
        let w = World::new();
        let now = w.now() / 1000;
        let sign = |c: Value| jwt::sign(c.as_object().unwrap(), ACME_JWT_SECRET.as_bytes());
        let asset = r#"{"id_session": 3, "asset_name": "A"}"#;
        let send = |token: &str| upload(&w, &format!("OpenTera {token}"), form(Some(asset), Some(("a.txt", b"abc"))));
        let twake = sign(json!({"type": "access", "sub": PARTICIPANT, "email": "u@example.com", "iat": now - 600,
                                "nbf": now - 600, "exp": now + 3600}));
        let r = send(&twake);
        assert_eq!((r.status(), World::json(&r)), (403, json!("Forbidden")));
        let soon = sign(
            json!({"iss": "TeraServer", "iat": now, "nbf": now + 60, "exp": now + 3600, "user_uuid": PARTICIPANT}),
        );
        assert_eq!(send(&soon).status(), 403, "not before its nbf");
        w.advance(60_000);
        assert_eq!(send(&soon).status(), 200, "from its nbf on");
    }

    const DEVICE: &str = "2d7a3c1e-8f4b-4a6d-9e2c-7b1f0a5d3c8e";
    const SERVICE: &str = "0f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b";

    /// Tokens as OpenTera's server mints them (no `exp` for devices, static participants and a
    /// service's own), signed with `key`.
    fn vendor_token(key: &str, claims: Value) -> String {
        jwt::sign(claims.as_object().unwrap(), key.as_bytes())
    }

    /// A device's token carries no `exp`: it uploads, downloads and hears 400 for a query
    /// without arguments, as from OpenTera; a static participant's uploads only; a service's
    /// own (`iat` and `service_uuid` only) passes in the header; a user's without `exp` does not.
    #[test]
    fn tokens_without_exp_where_opentera_issues_them() {
        let w = World::new();
        let now = w.now() / 1000;
        let device = |extra: Value| {
            let mut c = json!({"iss": "TeraServer", "jti": "8c2d1f0e-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                               "device_uuid": DEVICE, "id_device": 4});
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            format!("OpenTera {}", vendor_token(ACME_JWT_SECRET, c))
        };
        let auth = device(json!({}));
        let r = get(&w, Method::Get, "/file/api/assets", &auth);
        assert_eq!((r.status(), World::json(&r)["message"].as_str()), (400, Some("Input payload validation failed")));
        let up = upload(&w, &auth, form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))));
        assert_eq!(up.status(), 200, "{up:?}");
        let a = World::json(&up);
        assert_eq!(a["id_device"], 4);
        let dl = format!(
            "/file/api/assets?asset_uuid={}&access_token={}",
            a["asset_uuid"].as_str().unwrap(),
            a["access_token"].as_str().unwrap()
        );
        assert_eq!(w.body(&get(&w, Method::Get, &dl, &auth)), b"abc");
        // an exp given is checked, and an nbf
        assert_eq!(get(&w, Method::Get, &dl, &device(json!({"exp": now + 60}))).status(), 200);
        assert_eq!(get(&w, Method::Get, &dl, &device(json!({"exp": now}))).status(), 403);
        assert_eq!(get(&w, Method::Get, &dl, &device(json!({"nbf": now + 60}))).status(), 403);

        // a static participant: uploads; its downloads need its dynamic token
        let static_p = format!(
            "OpenTera {}",
            vendor_token(
                ACME_JWT_SECRET,
                json!({"iss": "TeraServer", "jti": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                       "participant_uuid": PARTICIPANT, "id_participant": 7})
            )
        );
        let up = upload(&w, &static_p, form(Some(r#"{"id_session": 3, "asset_name": "B"}"#), Some(("b.txt", b"b"))));
        assert_eq!(up.status(), 200, "{up:?}");
        let b = World::json(&up);
        assert_eq!(b["id_participant"], 7);
        let dl = format!(
            "/file/api/assets?asset_uuid={}&access_token={}",
            b["asset_uuid"].as_str().unwrap(),
            b["access_token"].as_str().unwrap()
        );
        assert_eq!((get(&w, Method::Get, &dl, &static_p).status()), 403, "static tokens upload only");
        let dynamic = identity(ACME_JWT_SECRET, "participant_uuid", PARTICIPANT, 3600, &w);
        assert_eq!(get(&w, Method::Get, &dl, &format!("OpenTera {dynamic}")).status(), 200);

        // a service's own token: in the header only
        let service = vendor_token(ACME_JWT_SECRET, json!({"iat": now, "service_uuid": SERVICE}));
        let asset = r#"{"id_session": 3, "asset_name": "C", "id_participant": 7}"#;
        let r = upload(&w, &format!("OpenTera {service}"), form(Some(asset), Some(("c.txt", b"c"))));
        assert_eq!((r.status(), World::json(&r)["id_participant"].as_u64()), (200, Some(7)), "{r:?}");
        let r = w.send(Method::Get, &format!("{dl}&token={service}"), &[], Vec::new());
        assert_eq!(r.status(), 403, "service tokens only in the header");

        // users' tokens always carry exp: one without is refused
        let user = vendor_token(ACME_JWT_SECRET, json!({"iss": "TeraServer", "iat": now, "user_uuid": PARTICIPANT}));
        assert_eq!(get(&w, Method::Get, &dl, &format!("OpenTera {user}")).status(), 403);
    }

    /// Each kind of token verified with its own key (`tenant:kind:secret`): OpenTera's five
    /// (user, dynamic and static participant, device, service; access tokens with the service
    /// key unless `access` is given) and Twake's; a token signed with another kind's key is
    /// refused.
    #[test]
    fn a_key_per_kind_of_token() {
        let mut w = World::new();
        let (user, part, part_static, device, service, twake) = (
            "user-key-0123456789abcdef",
            "participant-key-0123456789",
            "participant-static-key-0123456789",
            "device-key-0123456789abcdef",
            "service-key-0123456789abcdef",
            "twake-key-0123456789abcdef",
        );
        let spec = format!(
            "acme:user:{user};acme:participant:{part};acme:participant_static:{part_static};\
             acme:device:{device};acme:service:{service};acme:twake:{twake};bobco:{BOBCO_JWT_SECRET}"
        );
        w.config.jwt_secrets = crate::auth::JwtSecrets::parse(&spec).unwrap();
        let now = w.now() / 1000;
        let tokens = [
            (user, json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, "user_uuid": PARTICIPANT})),
            (part, json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, "participant_uuid": PARTICIPANT})),
            (part_static, json!({"iss": "TeraServer", "participant_uuid": PARTICIPANT})),
            (device, json!({"iss": "TeraServer", "device_uuid": PARTICIPANT, "id_device": 2})),
            (service, json!({"iat": now, "service_uuid": PARTICIPANT})),
        ];
        let asset = r#"{"id_session": 3, "asset_name": "A", "id_device": 2}"#;
        for (key, claims) in &tokens {
            let auth = format!("OpenTera {}", vendor_token(key, claims.clone()));
            let r = upload(&w, &auth, form(Some(asset), Some(("a.txt", b"abc"))));
            assert_eq!(r.status(), 200, "{claims} with its key: {r:?}");
            // its access token is signed with the service key, as OpenTera's are
            let at = World::json(&r)["access_token"].as_str().unwrap().to_string();
            assert!(jwt::verify(&at, service.as_bytes(), Some("TeraServer"), now).is_ok());
            for (other, _) in tokens.iter().filter(|(k, _)| k != key) {
                let auth = format!("OpenTera {}", vendor_token(other, claims.clone()));
                let r = upload(&w, &auth, form(Some(asset), Some(("a.txt", b"abc"))));
                assert_eq!(r.status(), 403, "{claims} with another kind's key");
            }
        }
        // an access token OpenTera's server minted with its service key, for an asset held here
        let me = format!("OpenTera {}", vendor_token(user, tokens[0].1.clone()));
        let a = World::json(&upload(&w, &me, form(Some(asset), Some(("a.txt", b"abc")))));
        let uuid = a["asset_uuid"].as_str().unwrap();
        let minted = |key: &str| {
            vendor_token(
                key,
                json!({"iat": now, "exp": now + 1800, "iss": "TeraServer", "asset_uuids": uuid, "requester_uuid": PARTICIPANT}),
            )
        };
        let dl = |w: &World, t: &str| {
            get(w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={t}"), &me)
        };
        assert_eq!(dl(&w, &minted(service)).status(), 200);
        assert_eq!(dl(&w, &minted(user)).status(), 403, "access tokens: the service key");
        // an access key of its own, when given
        let spec = format!("{spec};acme:access:access-key-0123456789abcdef");
        w.config.jwt_secrets = crate::auth::JwtSecrets::parse(&spec).unwrap();
        assert_eq!(dl(&w, &minted("access-key-0123456789abcdef")).status(), 200);
        assert_eq!(dl(&w, &minted(service)).status(), 403);
        // Twake: its own key
        let twake_token = |key: &str| {
            let c = json!({"type": "access", "sub": PARTICIPANT, "iat": now, "nbf": now - 600, "exp": now + 3600});
            format!("Bearer {}", vendor_token(key, c))
        };
        let file = format!("{}/companies/c1/files/{PARTICIPANT}", crate::dialect::twake::PREFIX);
        let r = w.send(Method::Get, &file, &[("Authorization", twake_token(twake).as_str())], Vec::new());
        assert_eq!(r.status(), 404, "authenticated, no such file");
        let r = w.send(Method::Get, &file, &[("Authorization", twake_token(user).as_str())], Vec::new());
        assert_eq!(r.status(), 401);
        let r = w.send(Method::Get, &file, &[("Authorization", twake_token(BOBCO_JWT_SECRET).as_str())], Vec::new());
        assert_eq!(r.status(), 404, "bobco's one secret still serves every kind");
    }

    /// An access token as OpenTera's server mints it for `/api/*/assets?with_urls=true`:
    /// `asset_uuids` is one uuid string, not a list.
    fn vendor_access_token(asset_uuids: Value, requester: &str, w: &World) -> String {
        let now = w.now() / 1000;
        let c = json!({"iat": now, "exp": now + 1800, "iss": "TeraServer", "asset_uuids": asset_uuids,
                       "requester_uuid": requester});
        jwt::sign(c.as_object().unwrap(), ACME_JWT_SECRET.as_bytes())
    }

    /// Info, download, rename and delete with an access token whose `asset_uuids` is the
    /// asset's uuid as a string; a string that only contains it is no grant.
    #[test]
    fn access_tokens_as_opentera_mints_them() {
        let w = World::new();
        let auth = format!("OpenTera {}", identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w));
        let up = |name: &str| {
            let a = World::json(&upload(
                &w,
                &auth,
                form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some((name, b"abc"))),
            ));
            a["asset_uuid"].as_str().unwrap().to_string()
        };
        let (uuid, other) = (up("a.txt"), up("b.txt"));
        let token = vendor_access_token(json!(uuid), PARTICIPANT, &w);
        let infos =
            get(&w, Method::Get, &format!("/file/api/assets/infos?asset_uuid={uuid}&access_token={token}"), &auth);
        assert_eq!((infos.status(), World::json(&infos)["asset_uuid"].as_str()), (200, Some(uuid.as_str())));
        let dl = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={token}"), &auth);
        assert_eq!((dl.status(), w.body(&dl)), (200, b"abc".to_vec()));
        let rename =
            json!({"file_asset": {"asset_uuid": uuid, "access_token": token, "asset_original_filename": "c.txt"}});
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let r = w.send(Method::Post, "/file/api/assets/infos", &headers, rename.to_string().into_bytes());
        assert_eq!((r.status(), World::json(&r)["asset_original_filename"].as_str()), (200, Some("c.txt")));
        let many = json!({"assets": [{"asset_uuid": uuid, "access_token": token}]});
        let r = w.send(Method::Post, "/file/api/assets/infos", &headers, many.to_string().into_bytes());
        assert_eq!((r.status(), World::json(&r)[0]["asset_uuid"].as_str()), (200, Some(uuid.as_str())));
        // a string is equal to the uuid or grants nothing (Python's `in` on it is a substring test)
        for loose in
            [json!(format!("{uuid},{other}")), json!(format!("{other} {uuid}")), json!(&uuid[..8]), json!(null)]
        {
            let t = vendor_access_token(loose.clone(), PARTICIPANT, &w);
            let r = get(&w, Method::Get, &format!("/file/api/assets?asset_uuid={uuid}&access_token={t}"), &auth);
            assert_eq!((r.status(), World::json(&r)), (403, json!("Access denied to asset")), "{loose}");
        }
        let del = get(&w, Method::Delete, &format!("/file/api/assets?uuid={uuid}&access_token={token}"), &auth);
        assert_eq!((del.status(), World::json(&del)), (200, json!("")));
    }

    /// An `Authorization` header of another scheme is passed over for `?token=` and the
    /// cookie, as OpenTera's `ServiceAccessManager` does; an `OpenTera` one is used whatever
    /// follows, and one that does not split in two is refused.
    #[test]
    fn another_authorization_scheme_does_not_shadow_the_query_token() {
        let w = World::new();
        let me = identity(ACME_JWT_SECRET, "user_uuid", PARTICIPANT, 3600, &w);
        let a = World::json(&upload(
            &w,
            &format!("OpenTera {me}"),
            form(Some(r#"{"id_session": 3, "asset_name": "A"}"#), Some(("a.txt", b"abc"))),
        ));
        let dl = format!(
            "/file/api/assets?asset_uuid={}&access_token={}",
            a["asset_uuid"].as_str().unwrap(),
            a["access_token"].as_str().unwrap()
        );
        let with_query = format!("{dl}&token={me}");
        let cookie = format!("OpenTera={me}");
        for (path, headers, want) in [
            (&with_query, vec![("Authorization", "Bearer x")], 200),
            (&with_query, vec![("Authorization", "Basic Zm9vOmJhcg==")], 200),
            (&dl, vec![("Authorization", "Bearer x"), ("Cookie", cookie.as_str())], 200),
            (&dl, vec![("Authorization", "Bearer x")], 403),
            (&with_query, vec![("Authorization", "Bearer")], 403),
            (&with_query, vec![("Authorization", "OpenTera")], 403),
            (&with_query, vec![("Authorization", "OpenTera not-a-token")], 403),
        ] {
            let r = w.send(Method::Get, path, &headers, Vec::new());
            assert_eq!(r.status(), want, "{headers:?} {path}");
        }
    }
}
