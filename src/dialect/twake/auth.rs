//! Who calls, and for which company: the caller from its `Authorization: Bearer <JWT>` (a
//! Twake access token signed with its tenant's `twake` key, [`KeyKind::Twake`]), the company
//! id from the path, and whether the caller's tenant owns that company
//! ([`crate::config::Config::owns_company`]; else `403`).

use serde_json::Value;

use crate::auth::{KeyKind, Tenant};
use crate::config::Config;
use crate::dialect::Request;
use crate::engine::jwt;
use crate::engine::ledger::twake::FILE_NOT_FOUND;
use crate::error::{Error, Result};
use crate::route::PathParam;

/// The longest life of an access token, `iat` to `exp`: Twake issues them for an hour
/// (`auth.jwt.expiration`, 3600 s) back-dated ten minutes; an operator may lengthen that, but
/// no access token outlives Twake's own refresh tokens (30 days).
const MAX_TOKEN_LIFE: u64 = 30 * 86400;
/// A company the caller's tenant does not own.
const NOT_YOURS: &str = "this company is not the tenant's";

/// The caller: its tenant, its user id (`sub`), and whether it may overwrite metadata (an
/// application or a server request).
pub struct Caller {
    pub tenant: Tenant,
    pub user: String,
    pub privileged: bool,
}

/// The caller of an authenticated route, at `now_ms`: `401` unless it presents a Twake access
/// token of some tenant, in its time.
pub fn caller(req: &Request<'_>, svc_config: &Config, now_ms: u64) -> Result<Caller> {
    let token = match req.head.authorization() {
        Some(crate::http::auth_header::Presented::Bearer(t)) if jwt::looks_like_jwt(&t) && t.len() <= 8192 => t,
        _ => return Err(Error::Unauthorized),
    };
    let now = now_ms / 1000;
    let keys = svc_config.jwt_secrets.keys(KeyKind::Twake);
    let (tenant, claims) =
        jwt::verify_any(keys, &token, jwt::Expect { issuer: None, exp: true }, now).ok_or(Error::Unauthorized)?;
    // Twake's access tokens only: not its refresh tokens, nor another dialect's (OpenTera's
    // carry no `type`), nor one claiming a life no Twake issues
    if claims.get("type").and_then(Value::as_str) != Some("access") {
        return Err(Error::Unauthorized);
    }
    jwt::life_within(&claims, MAX_TOKEN_LIFE, now).map_err(|_| Error::Unauthorized)?;
    let user = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 128);
    let user = user.ok_or(Error::Unauthorized)?;
    let privileged = claims.get("server_request").and_then(Value::as_bool).unwrap_or(false)
        || claims.get("application_id").is_some_and(|a| !a.is_null());
    Ok(Caller { tenant: tenant.clone(), user: user.to_string(), privileged })
}

/// `403` unless the caller's tenant owns company `cid`.
pub fn check_company(config: &Config, who: &Caller, cid: &str) -> Result<()> {
    if !config.owns_company(&who.tenant.0, cid) {
        return Err(Error::Forbidden(NOT_YOURS.into()));
    }
    Ok(())
}

/// A company id as a path segment may hold one.
pub fn company(req: &Request<'_>) -> Result<String> {
    let cid = req.params.get(PathParam::Cid);
    let ok = (1..=64).contains(&cid.len()) && cid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| cid.to_string()).ok_or_else(|| Error::not_found(FILE_NOT_FOUND))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::twake::tests::{delete, get, jwt, multipart, png, post, res};
    use crate::engine::file::keys;
    use crate::route::Method;
    use crate::testkit::{World, ACME_JWT_SECRET, BOBCO_JWT_SECRET};
    use serde_json::json;

    /// Twake's access tokens as Twake mints them, and nothing else: not OpenTera's (both are
    /// signed with the tenant's one secret), not Twake's refresh tokens, not before `nbf`, not
    /// with a life no Twake gives.
    #[test]
    fn only_twake_access_tokens_in_their_time() {
        let w = World::new();
        let now = w.now() / 1000;
        let bearer = |c: Value| format!("Bearer {}", jwt::sign(c.as_object().unwrap(), ACME_JWT_SECRET.as_bytes()));
        let twake = json!({"type": "access", "sub": "u", "email": "u@example.com", "iat": now - 600,
                           "nbf": now - 600, "exp": now + 3600, "track": false, "provider_id": ""});
        assert_eq!(post(&w, "/companies/c1/files", &bearer(twake.clone()), Vec::new()).status(), 200);
        let participant = "6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21";
        let opentera_access =
            crate::dialect::opentera::access_token(ACME_JWT_SECRET.as_bytes(), &[participant], participant, w.now());
        let refused = [
            // an OpenTera identity token, even one carrying `sub`
            json!({"iss": "TeraServer", "iat": now, "exp": now + 3600, "user_uuid": participant, "sub": "u"}),
            // Twake's refresh token, a token of no type, one before its nbf, lives too long
            json!({"type": "refresh", "sub": "u", "iat": now - 600, "nbf": now - 600, "exp": now + 2_592_000}),
            json!({"sub": "u", "exp": now + 3600}),
            json!({"type": "access", "sub": "u", "nbf": now + 60, "exp": now + 3600}),
            json!({"type": "access", "sub": "u", "iat": now - 600, "exp": now + 10 * 365 * 86400}),
            json!({"type": "access", "sub": "u", "exp": now + 31 * 86400}),
        ];
        let unauthorized = json!({"statusCode": 401, "error": "Unauthorized", "message": "Bad credentials"});
        for c in refused {
            assert_eq!(
                World::json(&post(&w, "/companies/c1/files", &bearer(c.clone()), Vec::new())),
                unauthorized,
                "{c}"
            );
        }
        let r = post(&w, "/companies/c1/files", &format!("Bearer {opentera_access}"), Vec::new());
        assert_eq!(r.status(), 401, "OpenTera's access token as it is");
        // a token not yet valid becomes valid at its nbf
        let soon = bearer(json!({"type": "access", "sub": "u", "nbf": now + 60, "exp": now + 3600}));
        assert_eq!(post(&w, "/companies/c1/files", &soon, Vec::new()).status(), 401);
        w.advance(60_000);
        assert_eq!(post(&w, "/companies/c1/files", &soon, Vec::new()).status(), 200);
    }

    /// `demo:*;other:other-co` (here `acme:*;bobco:other-co`): acme cannot upload into
    /// other-co, its file put there before the claim is served there no more, and bobco has
    /// other-co's files to itself.
    #[test]
    fn a_company_belongs_to_one_tenant() {
        let mut w = World::new();
        let acme = jwt(ACME_JWT_SECRET, "a", &w);
        let bob = jwt(BOBCO_JWT_SECRET, "b", &w);
        let picture = png(64, 48);
        let early = res(&post(
            &w,
            "/companies/other-co/files?thumbnail_sync=1",
            &acme,
            multipart("p.png", "image/png", &picture),
        ));
        let early = early["id"].as_str().unwrap().to_string();
        let unfinished =
            res(&post(&w, "/companies/other-co/files", &acme, Vec::new()))["id"].as_str().unwrap().to_string();
        let q = "chunk_number=1&total_chunks=2&total_size=6&filename=u.bin";
        let r = post(&w, &format!("/companies/other-co/files/{unfinished}?{q}"), &acme, multipart("u", "x/y", b"abc"));
        assert_eq!(r.status(), 200);
        w.config.twake_companies = vec![("acme".into(), vec!["*".into()]), ("bobco".into(), vec!["other-co".into()])];
        // acme: 403 in fastify's shape, whatever the company id's case
        for cid in ["other-co", "OTHER-CO"] {
            let r = post(&w, &format!("/companies/{cid}/files"), &acme, multipart("x.bin", "x/y", b"x"));
            let forbidden =
                json!({"statusCode": 403, "error": "Forbidden", "message": "this company is not the tenant's"});
            assert_eq!(World::json(&r), forbidden, "{cid}");
            assert_eq!(get(&w, &format!("/companies/{cid}/files/{early}"), Some(&acme)).status(), 403);
            assert_eq!(delete(&w, &format!("/companies/{cid}/files/{early}"), &acme).status(), 403);
        }
        // nothing of acme's is served at other-co's open URLs
        assert_eq!(get(&w, &format!("/companies/other-co/files/{early}/download"), None).status(), 404);
        assert_eq!(get(&w, &format!("/companies/other-co/files/{early}/thumbnails/0"), None).status(), 404);
        assert_eq!(get(&w, &format!("/companies/other-co/files/{unfinished}/download"), None).status(), 404);
        // bobco: uploads, sees, downloads and deletes its own there, not acme's
        let mine = res(&post(&w, "/companies/other-co/files", &bob, multipart("b.bin", "x/y", b"bobs")));
        let mine = mine["id"].as_str().unwrap().to_string();
        assert_eq!(res(&get(&w, &format!("/companies/other-co/files/{mine}"), Some(&bob)))["id"], mine.as_str());
        assert_eq!(w.body(&get(&w, &format!("/companies/other-co/files/{mine}/download"), None)), b"bobs");
        for id in [&early, &unfinished] {
            assert_eq!(get(&w, &format!("/companies/other-co/files/{id}"), Some(&bob)).status(), 404);
            assert_eq!(delete(&w, &format!("/companies/other-co/files/{id}"), &bob).status(), 404);
        }
        assert_eq!(
            World::json(&delete(&w, &format!("/companies/other-co/files/{mine}"), &bob)),
            json!({"status": "success"})
        );
        assert_eq!(get(&w, &format!("/companies/other-co/files/{mine}/download"), None).status(), 404);
        // any other company is acme's (`*`), none is bobco's
        assert_eq!(post(&w, "/companies/acme-co/files", &acme, Vec::new()).status(), 200);
        assert_eq!(post(&w, "/companies/acme-co/files", &bob, Vec::new()).status(), 403);
        // acme's file left under other-co is still its own to delete, through the native API
        let native =
            w.send(Method::Delete, &format!("/v1/files/{early}"), &[("Authorization", "Bearer tok")], Vec::new());
        assert_eq!(native.status(), 204);
        assert!(
            w.blobs.object(&keys::object(&early)).is_none() && w.blobs.object(&keys::thumbnail(&early, 0)).is_none()
        );
    }

    /// No configuration: acme and bobco both use company `c1`, and neither reaches the
    /// other's files through any route.
    #[test]
    fn two_tenants_using_one_company_id_share_nothing() {
        let w = World::new();
        let tenants = [jwt(ACME_JWT_SECRET, "a", &w), jwt(BOBCO_JWT_SECRET, "b", &w)];
        let mut files = Vec::new();
        for (i, me) in tenants.iter().enumerate() {
            let picture = png(40 + i as u32, 30);
            let done =
                res(&post(&w, "/companies/c1/files?thumbnail_sync=1", me, multipart("p.png", "image/png", &picture)));
            let open = res(&post(&w, "/companies/c1/files", me, Vec::new()))["id"].as_str().unwrap().to_string();
            let q = "chunk_number=1&total_chunks=2&total_size=6&filename=u.bin";
            assert_eq!(
                post(&w, &format!("/companies/c1/files/{open}?{q}"), me, multipart("u", "x/y", b"abc")).status(),
                200
            );
            files.push((done["id"].as_str().unwrap().to_string(), open, picture));
        }
        assert!(files[0].0 != files[1].0 && files[0].1 != files[1].1, "one URL, one file");
        for (me, other) in [(0, 1), (1, 0)] {
            let (auth, (done, open, _)) = (&tenants[me], &files[other]);
            for id in [done, open] {
                assert_eq!(get(&w, &format!("/companies/c1/files/{id}"), Some(auth)).status(), 404);
                assert_eq!(get(&w, &format!("/c1/files/{id}"), Some(auth)).status(), 404);
                assert_eq!(delete(&w, &format!("/companies/c1/files/{id}"), auth).status(), 404);
                let q = "chunk_number=2&total_chunks=2&total_size=6&filename=u.bin";
                let r = post(&w, &format!("/companies/c1/files/{id}?{q}"), auth, multipart("u", "x/y", b"def"));
                assert_eq!(r.status(), 404);
            }
            assert!(w.blobs.object(&keys::staged_chunk(open, 2)).is_none(), "nothing staged for the other's file");
        }
        // each file is whole and its own, at its own URLs and to its owner
        for (me, (done, open, picture)) in files.iter().enumerate() {
            assert_eq!(w.body(&get(&w, &format!("/companies/c1/files/{done}/download"), None)), *picture);
            assert_eq!(get(&w, &format!("/companies/c1/files/{done}/thumbnails/0"), None).status(), 200);
            assert_eq!(
                get(&w, &format!("/companies/c1/files/{open}/download"), None).status(),
                409,
                "still unfinished"
            );
            assert_eq!(
                res(&get(&w, &format!("/companies/c1/files/{open}"), Some(&tenants[me])))["upload_data"]["chunks"],
                2
            );
            assert!(w.blobs.object(&keys::staged_chunk(open, 1)).is_some());
        }
    }
}
