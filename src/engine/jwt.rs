//! HS256 JSON Web Tokens, as OpenTera's server issues them (identity tokens), as the service
//! issues OpenTera asset access tokens, and as Twake issues its access tokens, with the
//! `jsonwebtoken` crate over an HMAC-only crypto provider (no RSA or elliptic curves in the
//! bundle). Time is a parameter: `exp` and `nbf` are checked against the `now` passed in,
//! never the system clock, with no leeway (a token is valid from `nbf` included until `exp`
//! excluded; Twake back-dates its `nbf` by ten minutes for clock skew).
//!
//! A tenant may have one key for every kind of token or one per kind
//! ([`crate::auth::KeyKind`]); with one key, each dialect still requires the claims only its
//! vendor's tokens carry, and a token minted for one is refused by the other: OpenTera's have
//! the caller's `user_uuid`, `participant_uuid`, `device_uuid` or `service_uuid` (an access
//! token: `asset_uuids` and `requester_uuid`), and but for a service's own, `iss:
//! "TeraServer"`; Twake's have `type: "access"` (its refresh tokens say `"refresh"`) and `sub`.
//! Whether `exp` is required is the caller's to say ([`Expect`]): OpenTera's devices, static
//! participants and services mint tokens without one. Twake always sets `iat` and `exp`, so a
//! Twake token claiming a life longer than [`life_within`] allows is refused.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use sha2::Sha256;
use signature::{Signer, Verifier};

/// Why a token was refused (never shown to clients, who hear their dialect's refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a JWT, a bad signature, another algorithm.
    Invalid,
    /// Its `iss` is not the one expected.
    Issuer,
    /// No `exp` where one is required, or `exp` has passed.
    Expired,
    /// Its `nbf` has not come yet.
    NotYet,
    /// It claims a life longer than its dialect allows.
    TooLong,
}

struct Hs256(Hmac<Sha256>);

impl Hs256 {
    fn new(secret: &[u8]) -> jsonwebtoken::errors::Result<Hs256> {
        Hmac::new_from_slice(secret).map(Hs256).map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    fn mac(&self, msg: &[u8]) -> Hmac<Sha256> {
        let mut m = self.0.clone();
        m.update(msg);
        m
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.mac(msg).finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        // constant time
        self.mac(msg).verify_slice(sig).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |alg, key| match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    },
    verifier_factory: |alg, key| match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    },
    jwk_utils: JwkUtils::new_unimplemented(),
};

fn provider() {
    // the first call installs it; later ones find it there
    let _ = PROVIDER.install_default();
}

/// Signs `claims` with HS256.
pub fn sign(claims: &Map<String, Value>, secret: &[u8]) -> String {
    provider();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
        .expect("HS256 signs any JSON object with any key")
}

/// What a token must carry besides an HS256 signature by the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect<'a> {
    /// Its `iss`, when one is required.
    pub issuer: Option<&'a str>,
    /// Must it carry an `exp`? (One it carries is checked either way.)
    pub exp: bool,
}

/// The claims of an HS256 token signed with `secret`, issued by `issuer` (when one is
/// required), whose `exp` (seconds) is after `now_secs` and whose `nbf`, if any, is not.
pub fn verify(token: &str, secret: &[u8], issuer: Option<&str>, now_secs: u64) -> Result<Map<String, Value>, Refused> {
    check(token, secret, Expect { issuer, exp: true }, now_secs)
}

/// The claims of an HS256 token signed with `secret` that carries what `expect` says, whose
/// `exp`, if any (required if `expect` says so), is after `now_secs`, and whose `nbf`, if
/// any, is not.
pub fn check(token: &str, secret: &[u8], expect: Expect<'_>, now_secs: u64) -> Result<Map<String, Value>, Refused> {
    provider();
    let issuer = expect.issuer;
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &DecodingKey::from_secret(secret), &v)
        .map_err(|_| Refused::Invalid)?;
    let claims = data.claims;
    if issuer.is_some_and(|i| claims.get("iss").and_then(Value::as_str) != Some(i)) {
        return Err(Refused::Issuer);
    }
    match claims.get("nbf").map(Value::as_f64) {
        None => {}
        Some(Some(nbf)) if nbf <= now_secs as f64 => {}
        Some(Some(_)) => return Err(Refused::NotYet),
        Some(None) => return Err(Refused::Invalid),
    }
    match claims.get("exp").map(Value::as_f64) {
        None if expect.exp => Err(Refused::Expired),
        None => Ok(claims),
        Some(Some(exp)) if exp > now_secs as f64 => Ok(claims),
        Some(Some(_)) => Err(Refused::Expired),
        Some(None) => Err(Refused::Invalid),
    }
}

/// A token's claims, unverified: only to choose the key to verify it with ([`check`]).
pub fn peek(token: &str) -> Option<Map<String, Value>> {
    provider();
    jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token).ok().map(|d| d.claims)
}

/// Is the life `claims` give their token, from `iat` (or `now_secs`, whichever is earlier:
/// an `iat` in the future buys nothing) to `exp`, at most `max_secs`? For the dialects whose
/// vendor always sets both `iat` and `exp`; call it on claims [`verify`] accepted.
pub fn life_within(claims: &Map<String, Value>, max_secs: u64, now_secs: u64) -> Result<(), Refused> {
    let exp = claims.get("exp").and_then(Value::as_f64).ok_or(Refused::Expired)?;
    let iat = match claims.get("iat") {
        None => now_secs as f64,
        Some(v) => v.as_f64().ok_or(Refused::Invalid)?.min(now_secs as f64),
    };
    if exp - iat > max_secs as f64 {
        return Err(Refused::TooLong);
    }
    Ok(())
}

/// Whose key among `keys` verifies `token` ([`check`]), and its claims. Every key is tried,
/// whichever verifies first, so the time taken says nothing of whose it is.
pub fn verify_any<'k, T>(
    keys: impl IntoIterator<Item = (T, &'k [u8])>,
    token: &str,
    expect: Expect<'_>,
    now_secs: u64,
) -> Option<(T, Map<String, Value>)> {
    let mut found = None;
    for (owner, key) in keys {
        if let Ok(claims) = check(token, key, expect, now_secs) {
            found.get_or_insert((owner, claims));
        }
    }
    found
}

/// Does `token` look like a JWT (three base64url parts)? Static tokens do not.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn signs_and_verifies_with_now_passed_in() {
        let c = claims(json!({"iss": Some("TeraServer"), "exp": 1_000, "user_uuid": "u1"}));
        let t = sign(&c, b"secret");
        assert!(looks_like_jwt(&t));
        assert_eq!(verify(&t, b"secret", Some("TeraServer"), 999).unwrap()["user_uuid"], "u1");
        assert_eq!(verify(&t, b"secret", Some("TeraServer"), 1_000), Err(Refused::Expired), "exp is exclusive");
        assert_eq!(verify(&t, b"other", Some("TeraServer"), 0), Err(Refused::Invalid), "another secret");
        assert_eq!(verify(&t, b"secret", Some("Elsewhere"), 0), Err(Refused::Issuer));
        let no_exp = sign(&claims(json!({"iss": "TeraServer"})), b"secret");
        assert_eq!(verify(&no_exp, b"secret", Some("TeraServer"), 0), Err(Refused::Expired), "exp is required");
        // tampered payload, signature kept
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let forged = sign(&claims(json!({"iss": Some("TeraServer"), "exp": 1_000, "user_uuid": "admin"})), b"x");
        parts[1] = forged.split('.').nth(1).unwrap().into();
        assert_eq!(verify(&parts.join("."), b"secret", Some("TeraServer"), 0), Err(Refused::Invalid));
        // "none" and other algorithms are refused
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!("{}.{}.", b64(&json!({"alg": "none"})), parts[1]);
        assert_eq!(verify(&none, b"secret", Some("TeraServer"), 0), Err(Refused::Invalid));
        let hs512 = format!("{}.{}.{}", b64(&json!({"alg": "HS512", "typ": "JWT"})), parts[1], parts[2]);
        assert_eq!(verify(&hs512, b"secret", Some("TeraServer"), 0), Err(Refused::Invalid));
        for junk in ["", "a.b", "a.b.c", "static-token", &"A".repeat(10_000)] {
            assert_eq!(verify(junk, b"secret", Some("TeraServer"), 0), Err(Refused::Invalid), "{junk}");
        }
        assert!(!looks_like_jwt("static-token_123"));
        let keys = [("a", &b"other"[..]), ("b", &b"secret"[..]), ("c", &b"secret"[..])];
        let tera = Expect { issuer: Some("TeraServer"), exp: true };
        assert_eq!(verify_any(keys, &t, tera, 999).map(|(who, _)| who), Some("b"));
        assert_eq!(verify_any(keys, &t, tera, 1_000), None);
        // no issuer required (Twake's tokens carry none)
        let twake = sign(&claims(json!({"sub": "u", "exp": 10})), b"secret");
        assert_eq!(verify(&twake, b"secret", None, 9).unwrap()["sub"], "u");
        assert_eq!(verify(&twake, b"secret", Some("TeraServer"), 9), Err(Refused::Issuer));
    }

    /// `exp` may be left out where the caller says so (OpenTera's devices, static participants
    /// and services carry none); one given is checked all the same.
    #[test]
    fn exp_where_required() {
        let optional = Expect { issuer: Some("TeraServer"), exp: false };
        let device = sign(&claims(json!({"iss": "TeraServer", "jti": "j", "device_uuid": "d", "id_device": 3})), b"k");
        assert_eq!(check(&device, b"k", optional, 5_000_000_000).unwrap()["id_device"], 3);
        assert_eq!(verify(&device, b"k", Some("TeraServer"), 0), Err(Refused::Expired), "verify requires it");
        assert_eq!(check(&device, b"other", optional, 0), Err(Refused::Invalid));
        let past = sign(&claims(json!({"iss": "TeraServer", "device_uuid": "d", "exp": 100})), b"k");
        assert_eq!(check(&past, b"k", optional, 100), Err(Refused::Expired));
        assert!(check(&past, b"k", optional, 99).is_ok());
        let soon = sign(&claims(json!({"iss": "TeraServer", "device_uuid": "d", "nbf": 100})), b"k");
        assert_eq!(check(&soon, b"k", optional, 99), Err(Refused::NotYet));
        for exp in [json!("never"), json!(null), json!({})] {
            let t = sign(&claims(json!({"iss": "TeraServer", "device_uuid": "d", "exp": exp})), b"k");
            assert_eq!(check(&t, b"k", optional, 0), Err(Refused::Invalid), "{exp}");
        }
        let service = sign(&claims(json!({"iat": 1, "service_uuid": "s"})), b"k");
        assert!(check(&service, b"k", Expect { issuer: None, exp: false }, 9).is_ok());
        assert_eq!(check(&service, b"k", optional, 9), Err(Refused::Issuer));
        assert_eq!(peek(&service).unwrap()["service_uuid"], "s", "peek reads without the key");
        assert_eq!(peek("a.b.c"), None);
    }

    #[test]
    fn nbf_is_honoured_and_lives_are_bounded() {
        let at = |v: Value| sign(&claims(v), b"secret");
        // valid from nbf (included), as exp is valid until exp (excluded): no leeway either way
        let t = at(json!({"sub": "u", "nbf": 100, "exp": 200}));
        assert_eq!(verify(&t, b"secret", None, 99), Err(Refused::NotYet));
        assert_eq!(verify(&t, b"secret", None, 100).unwrap()["sub"], "u");
        assert_eq!(verify(&t, b"secret", None, 200), Err(Refused::Expired));
        let t = at(json!({"sub": "u", "nbf": 99.5, "exp": 200}));
        assert!(verify(&t, b"secret", None, 100).is_ok(), "NumericDate may have a fraction");
        for nbf in [json!("0"), json!(null), json!([1])] {
            let t = at(json!({"sub": "u", "nbf": nbf, "exp": 200}));
            assert_eq!(verify(&t, b"secret", None, 100), Err(Refused::Invalid), "{nbf}");
        }
        // an OpenTera token with nbf too
        let t = at(json!({"iss": "TeraServer", "user_uuid": "u1", "nbf": 1_000, "exp": 2_000}));
        assert_eq!(verify(&t, b"secret", Some("TeraServer"), 999), Err(Refused::NotYet));
        // lives: from iat (or now, when earlier or absent) to exp
        let life = |v: Value, now| life_within(&claims(v), 3_600, now);
        assert_eq!(life(json!({"iat": 1_000, "exp": 4_600}), 1_000), Ok(()));
        assert_eq!(life(json!({"iat": 1_000, "exp": 4_601}), 1_000), Err(Refused::TooLong));
        assert_eq!(life(json!({"iat": 1_000, "exp": 4_601}), 3_000), Err(Refused::TooLong), "from iat");
        assert_eq!(life(json!({"iat": 9_000, "exp": 10_000}), 1_000), Err(Refused::TooLong), "an iat ahead");
        assert_eq!(life(json!({"exp": 4_600}), 1_000), Ok(()), "no iat: from now");
        assert_eq!(life(json!({"exp": 4_601}), 1_000), Err(Refused::TooLong));
        assert_eq!(life(json!({"iat": "1000", "exp": 2_000}), 1_000), Err(Refused::Invalid));
        assert_eq!(life(json!({"iat": 1_000}), 1_000), Err(Refused::Expired));
    }
}
