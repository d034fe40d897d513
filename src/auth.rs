//! Credentials and tenants.
//!
//! The `EDGESHARE_CREDENTIALS` secret lists, separated by `;`, `,` or new lines, entries
//! `tenant:basic:<sha256 hex of "user:password">`, `tenant:bearer:<sha256 hex of token>` and
//! `tenant:opentera:<sha256 hex of token>` (an OpenTera static token): the bootstrap tenants.
//! `EDGESHARE_ADMIN_CREDENTIALS` lists the sha256 hex of the operator's tokens
//! ([`AdminCredentials`]). Only hashes are stored; a presented credential is hashed once
//! ([`Hashed`]) and compared in constant time against every entry, so neither timing nor logs
//! reveal anything. The tenants and keys an operator adds at run time are
//! [`crate::engine::tenant`]'s.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::http::auth_header::Presented;

/// Whose files these are. Every credential maps to exactly one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub String);

/// How a credential is presented: each scheme's hashes are their own, so a secret valid
/// under one is refused under another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// `Authorization: Basic`, hashed as `user:password`.
    Basic,
    /// `Authorization: Bearer`.
    Bearer,
    /// An OpenTera static (participant or device) token.
    #[serde(rename = "opentera")]
    OpenTera,
}

impl Scheme {
    pub const ALL: [Scheme; 3] = [Scheme::Basic, Scheme::Bearer, Scheme::OpenTera];

    /// Its name in `EDGESHARE_CREDENTIALS`, in the registry's keys and in the admin API.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Basic => "basic",
            Scheme::Bearer => "bearer",
            Scheme::OpenTera => "opentera",
        }
    }

    /// The scheme of that name (ASCII case aside).
    pub fn parse(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// A presented credential, hashed as the secrets store it: its scheme and the sha256. `Debug`
/// shows the scheme only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    pub scheme: Scheme,
    pub hash: [u8; 32],
}

impl std::fmt::Debug for Hashed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hashed({}, <redacted>)", self.scheme.name())
    }
}

impl Hashed {
    /// A credential from an `Authorization` header.
    pub fn of(p: &Presented) -> Hashed {
        let scheme = match p {
            Presented::Basic { .. } => Scheme::Basic,
            Presented::Bearer(_) => Scheme::Bearer,
        };
        Hashed { scheme, hash: credential_hash(p) }
    }

    /// An OpenTera static token.
    pub fn opentera(token: &str) -> Hashed {
        Hashed { scheme: Scheme::OpenTera, hash: Sha256::digest(token.as_bytes()).into() }
    }

    /// The hash in lowercase hex, as the secrets and the registry's keys write it.
    pub fn hex(&self) -> String {
        hex::encode(self.hash)
    }
}

#[derive(Clone)]
struct Entry {
    tenant: Tenant,
    scheme: Scheme,
    hash: [u8; 32],
}

/// The configured credentials, hashed. `Debug` shows only how many there are.
#[derive(Clone, Default)]
pub struct Credentials {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} entries)", self.entries.len())
    }
}

/// sha256 of a presented credential, as stored in the secret.
pub fn credential_hash(p: &Presented) -> [u8; 32] {
    let mut h = Sha256::new();
    match p {
        Presented::Basic { user, password } => {
            h.update(user.as_bytes());
            h.update(b":");
            h.update(password.as_bytes());
        }
        Presented::Bearer(token) => h.update(token.as_bytes()),
    }
    h.finalize().into()
}

/// A tenant's name as `EDGESHARE_CREDENTIALS` may write it: ASCII letters, digits, `-`, `_`.
pub fn is_tenant_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Credentials {
    /// Parses the secret. An invalid entry is an error naming its position, never its value.
    pub fn parse(spec: &str) -> Result<Credentials> {
        let mut entries = Vec::new();
        for (i, item) in spec.split([';', ',', '\n']).map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            let bad = || Error::Internal(format!("EDGESHARE_CREDENTIALS entry {} is malformed", i + 1));
            let mut it = item.splitn(3, ':');
            let (tenant, scheme, hex_hash) =
                (it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?);
            let scheme = Scheme::parse(scheme).ok_or_else(bad)?;
            let mut hash = [0u8; 32];
            hex::decode_to_slice(hex_hash.trim(), &mut hash).map_err(|_| bad())?;
            if !is_tenant_name(tenant) {
                return Err(bad());
            }
            entries.push(Entry { tenant: Tenant(tenant.into()), scheme, hash });
        }
        Ok(Credentials { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tenants the secret names, each once, in its order.
    pub fn tenants(&self) -> Vec<&Tenant> {
        let mut out: Vec<&Tenant> = Vec::new();
        for e in &self.entries {
            if !out.contains(&&e.tenant) {
                out.push(&e.tenant);
            }
        }
        out
    }

    /// Does the secret name this tenant?
    pub fn has_tenant(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.tenant.0 == name)
    }

    /// The tenant of a presented credential, or `Unauthorized`. Every entry is compared, in
    /// constant time, whatever matches first.
    pub fn authenticate(&self, presented: Option<&Presented>) -> Result<Tenant> {
        self.find(&Hashed::of(presented.ok_or(Error::Unauthorized)?))
    }

    /// The tenant of an OpenTera static token (configured as `tenant:opentera:<sha256 hex>`).
    pub fn authenticate_opentera(&self, token: &str) -> Result<Tenant> {
        self.find(&Hashed::opentera(token))
    }

    /// The tenant of a hashed credential, or `Unauthorized`; every entry compared.
    pub fn find(&self, presented: &Hashed) -> Result<Tenant> {
        let mut found: Option<&Tenant> = None;
        for e in &self.entries {
            let same = e.hash.ct_eq(&presented.hash).unwrap_u8() == 1;
            if same && e.scheme == presented.scheme && found.is_none() {
                found = Some(&e.tenant);
            }
        }
        found.cloned().ok_or(Error::Unauthorized)
    }
}

/// The operator's tokens (`EDGESHARE_ADMIN_CREDENTIALS`, a secret: the sha256 hex of each,
/// separated by `;`, `,` or new lines), presented as `Authorization: Bearer <token>` to
/// `/v1/admin/`. None configured: nobody is an operator, and the run-time registry is never
/// read. `Debug` shows only how many there are.
#[derive(Clone, Default)]
pub struct AdminCredentials {
    hashes: Vec<[u8; 32]>,
}

impl std::fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminCredentials({} entries)", self.hashes.len())
    }
}

impl AdminCredentials {
    /// Parses the secret; an invalid entry is an error naming its position, never its value.
    pub fn parse(spec: &str) -> Result<AdminCredentials> {
        let mut hashes = Vec::new();
        for (i, item) in spec.split([';', ',', '\n']).map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            let mut hash = [0u8; 32];
            hex::decode_to_slice(item, &mut hash).map_err(|_| {
                Error::Internal(format!("EDGESHARE_ADMIN_CREDENTIALS entry {} is not a sha256 in hex", i + 1))
            })?;
            hashes.push(hash);
        }
        Ok(AdminCredentials { hashes })
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Is this an operator's token (a Bearer one)? Every entry is compared in constant time.
    pub fn is_admin(&self, presented: &Hashed) -> bool {
        let mut found = false;
        for h in &self.hashes {
            found |= h.ct_eq(&presented.hash).unwrap_u8() == 1;
        }
        found && presented.scheme == Scheme::Bearer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::auth_header::parse_authorization;

    fn hex_of(p: &Presented) -> String {
        hex::encode(credential_hash(p))
    }

    #[test]
    fn credentials_map_to_their_tenant() {
        let alice = Presented::Basic { user: "alice".into(), password: "pw".into() };
        let bob_token = Presented::Bearer("tok-bob".into());
        let spec = format!("acme:basic:{}; bobco:bearer:{}", hex_of(&alice), hex_of(&bob_token));
        let creds = Credentials::parse(&spec).unwrap();
        assert_eq!(creds.len(), 2);
        assert_eq!(creds.authenticate(Some(&alice)).unwrap(), Tenant("acme".into()));
        assert_eq!(creds.authenticate(Some(&bob_token)).unwrap(), Tenant("bobco".into()));
        let wrong = Presented::Basic { user: "alice".into(), password: "PW".into() };
        assert_eq!(creds.authenticate(Some(&wrong)), Err(Error::Unauthorized));
        assert_eq!(creds.authenticate(None), Err(Error::Unauthorized));
        // the same secret presented under the other scheme is not accepted: a Bearer token
        // "alice:pw" hashes exactly as Basic alice/pw does, and must still be refused
        let same_hash_as_bearer = Presented::Bearer("alice:pw".into());
        assert_eq!(credential_hash(&same_hash_as_bearer), credential_hash(&alice));
        assert_eq!(creds.authenticate(Some(&same_hash_as_bearer)), Err(Error::Unauthorized));
        let colon_token = Presented::Bearer("tok:bob".into());
        let creds = Credentials::parse(&format!("bobco:bearer:{}", hex_of(&colon_token))).unwrap();
        assert!(creds.authenticate(Some(&colon_token)).is_ok());
        let as_basic = parse_authorization("Basic dG9rOmJvYg==").unwrap(); // "tok:bob"
        assert_eq!(credential_hash(&as_basic), credential_hash(&colon_token));
        assert_eq!(creds.authenticate(Some(&as_basic)), Err(Error::Unauthorized));
    }

    #[test]
    fn opentera_static_tokens_are_their_own_scheme() {
        let token = Presented::Bearer("static-tok".into());
        let creds = Credentials::parse(&format!("acme:opentera:{}", hex_of(&token))).unwrap();
        assert_eq!(creds.authenticate_opentera("static-tok").unwrap(), Tenant("acme".into()));
        assert_eq!(creds.authenticate(Some(&token)), Err(Error::Unauthorized), "not a Bearer token");
        assert_eq!(creds.authenticate_opentera("other"), Err(Error::Unauthorized));
    }

    #[test]
    fn operators_are_bearer_tokens_apart_from_tenants() {
        let admin = Presented::Bearer("root:token".into());
        let creds = AdminCredentials::parse(&format!(" {} ;\n{}", hex_of(&admin), "ab".repeat(32))).unwrap();
        assert!(creds.is_admin(&Hashed::of(&admin)));
        assert!(!creds.is_admin(&Hashed::of(&Presented::Bearer("root:token ".into()))));
        assert!(!creds.is_admin(&Hashed::opentera("root:token")), "an OpenTera token is no operator's");
        let basic = Presented::Basic { user: "root".into(), password: "token".into() };
        assert_eq!(Hashed::of(&basic).hash, Hashed::of(&admin).hash);
        assert!(!creds.is_admin(&Hashed::of(&basic)), "the same hash as Basic: never an operator");
        assert!(!AdminCredentials::default().is_admin(&Hashed::of(&admin)), "none configured: nobody");
        assert!(AdminCredentials::parse("").unwrap().is_empty());
        let err = AdminCredentials::parse("acme:bearer:00").unwrap_err().to_string();
        assert!(err.contains("entry 1") && !err.contains("acme"), "{err}");
        assert_eq!(format!("{creds:?}"), "AdminCredentials(2 entries)");
        assert!(!format!("{:?}", Hashed::of(&admin)).contains(&hex_of(&admin)[..8]));
        // the tenants the secret names, each once
        let spec = format!("acme:basic:{0};acme:bearer:{0};bob-co:opentera:{0}", hex_of(&admin));
        let creds = Credentials::parse(&spec).unwrap();
        assert_eq!(creds.tenants(), [&Tenant("acme".into()), &Tenant("bob-co".into())]);
        assert!(creds.has_tenant("bob-co") && !creds.has_tenant("bob"));
        assert_eq!(Scheme::parse("OpenTera"), Some(Scheme::OpenTera));
        assert_eq!(serde_json::to_string(&Scheme::OpenTera).unwrap(), "\"opentera\"");
    }

    #[test]
    fn malformed_secrets_are_refused_without_echoing_them() {
        for spec in ["acme:basic:zz", "acme:digest:00", "acme", "bad tenant:basic:".to_string().as_str()] {
            let err = Credentials::parse(spec).unwrap_err();
            assert!(!err.to_string().contains("zz"), "{err}");
        }
        assert!(Credentials::parse("").unwrap().is_empty());
        assert!(!format!("{:?}", Credentials::parse("").unwrap()).contains(':'));
    }
}

/// Which of a tenant's JWT keys: one per kind of token, as OpenTera signs each kind with a key
/// of its own (and Twake its tokens with another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// OpenTera user tokens (its redis `UserTokenAPIKey`).
    User,
    /// OpenTera dynamic participant tokens, those with `exp` (redis `ParticipantTokenAPIKey`).
    Participant,
    /// OpenTera static participant tokens, those without `exp` (redis
    /// `ParticipantStaticTokenAPIKey`, the server setting `ParticipantTokenEncryptionKey`).
    ParticipantStatic,
    /// OpenTera device tokens (redis `DeviceTokenAPIKey`, the server setting `TokenEncryptionKey`).
    Device,
    /// OpenTera service tokens (redis `ServiceTokenAPIKey`).
    Service,
    /// OpenTera asset access tokens, those OpenTera's server mints and those this service
    /// issues (OpenTera signs them with its service key).
    Access,
    /// Twake's access tokens.
    Twake,
}

impl KeyKind {
    pub const ALL: [KeyKind; 7] = [
        KeyKind::User,
        KeyKind::Participant,
        KeyKind::ParticipantStatic,
        KeyKind::Device,
        KeyKind::Service,
        KeyKind::Access,
        KeyKind::Twake,
    ];

    /// Its name in `EDGESHARE_JWT_SECRETS`.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::User => "user",
            KeyKind::Participant => "participant",
            KeyKind::ParticipantStatic => "participant_static",
            KeyKind::Device => "device",
            KeyKind::Service => "service",
            KeyKind::Access => "access",
            KeyKind::Twake => "twake",
        }
    }

    /// The kind whose key stands in when a tenant configures none for this one, before its
    /// all-kinds secret: OpenTera signs access tokens with its service key, and a tenant that
    /// gives one participant key means it for both kinds of participant token.
    fn stand_in(self) -> Option<KeyKind> {
        match self {
            KeyKind::Access => Some(KeyKind::Service),
            KeyKind::ParticipantStatic => Some(KeyKind::Participant),
            _ => None,
        }
    }
}

/// Secrets that sign and verify a tenant's JWTs (OpenTera identity and asset tokens, Twake
/// tokens): HMAC keys, so kept as they are (`EDGESHARE_JWT_SECRETS`, a secret: entries
/// separated by `;`, `,` or new lines, each `tenant:secret`, the tenant's key for every kind,
/// or `tenant:kind:secret`, its key for one [`KeyKind`]). A kind the tenant gives no key of
/// its own uses its stand-in's (`KeyKind::stand_in`), else the all-kinds secret, else the
/// tenant has none for it. `Debug` shows only the tenants and kinds.
#[derive(Clone, Default)]
pub struct JwtSecrets {
    entries: Vec<(Tenant, Option<KeyKind>, Vec<u8>)>,
}

impl std::fmt::Debug for JwtSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self
            .entries
            .iter()
            .map(|(t, k, _)| match k {
                Some(k) => format!("{}:{}", t.0, k.name()),
                None => t.0.clone(),
            })
            .collect();
        write!(f, "JwtSecrets({keys:?})")
    }
}

impl JwtSecrets {
    pub fn parse(spec: &str) -> Result<JwtSecrets> {
        let mut entries: Vec<(Tenant, Option<KeyKind>, Vec<u8>)> = Vec::new();
        for (i, item) in spec.split([';', ',', '\n']).map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            let bad = |why: &str| Error::Internal(format!("EDGESHARE_JWT_SECRETS entry {}: {why}", i + 1));
            let (tenant, rest) = item.split_once(':').ok_or_else(|| bad("not tenant:secret"))?;
            if tenant.is_empty() || !tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(bad("malformed tenant"));
            }
            // `kind:secret` when it starts with a kind's name, else the whole is the secret
            let (kind, secret) = match rest.split_once(':') {
                Some((k, secret)) => match KeyKind::ALL.into_iter().find(|kind| kind.name() == k) {
                    Some(kind) => (Some(kind), secret),
                    None => (None, rest),
                },
                None => (None, rest),
            };
            if secret.len() < 16 {
                return Err(bad("a secret needs at least 16 bytes"));
            }
            let tenant = Tenant(tenant.into());
            if entries.iter().any(|(t, k, _)| *t == tenant && *k == kind) {
                return Err(bad("a second key of the same tenant and kind"));
            }
            entries.push((tenant, kind, secret.as_bytes().to_vec()));
        }
        Ok(JwtSecrets { entries })
    }

    /// The tenant's key for tokens of `kind`.
    pub fn key(&self, tenant: &Tenant, kind: KeyKind) -> Option<&[u8]> {
        let given = |k: Option<KeyKind>| {
            self.entries.iter().find(|(t, e, _)| t == tenant && *e == k).map(|(_, _, s)| s.as_slice())
        };
        given(Some(kind)).or_else(|| kind.stand_in().and_then(|k| given(Some(k)))).or_else(|| given(None))
    }

    /// These secrets and `more` (an operator's, set at run time): a tenant and kind given
    /// here keeps its key.
    pub fn merged(&self, more: &JwtSecrets) -> JwtSecrets {
        let mut entries = self.entries.clone();
        for (t, k, secret) in &more.entries {
            if !entries.iter().any(|(t2, k2, _)| t2 == t && k2 == k) {
                entries.push((t.clone(), *k, secret.clone()));
            }
        }
        JwtSecrets { entries }
    }

    /// The tenants and kinds (`None`: every kind) this holds keys of.
    pub fn kinds_of(&self, tenant: &Tenant) -> Vec<Option<KeyKind>> {
        self.entries.iter().filter(|(t, _, _)| t == tenant).map(|(_, k, _)| *k).collect()
    }

    /// Every tenant that has a key for tokens of `kind`, and that key: to find whose a token is.
    pub fn keys(&self, kind: KeyKind) -> impl Iterator<Item = (&Tenant, &[u8])> {
        let mut tenants: Vec<&Tenant> = Vec::new();
        for (t, _, _) in &self.entries {
            if !tenants.contains(&t) {
                tenants.push(t);
            }
        }
        tenants.into_iter().filter_map(move |t| self.key(t, kind).map(|k| (t, k)))
    }
}

#[cfg(test)]
mod jwt_secret_tests {
    use super::*;

    #[test]
    fn secrets_parse_and_hide() {
        let s = JwtSecrets::parse("acme:0123456789abcdef:with-colon; bobco:fedcba9876543210").unwrap();
        let acme = Tenant("acme".into());
        for kind in KeyKind::ALL {
            assert_eq!(s.key(&acme, kind), Some(&b"0123456789abcdef:with-colon"[..]), "one secret, every kind");
        }
        assert_eq!(s.keys(KeyKind::Twake).count(), 2);
        assert!(!format!("{s:?}").contains("0123"));
        assert!(JwtSecrets::parse("acme:short").is_err(), "at least 16 bytes");
        let err = JwtSecrets::parse("bad tenant:0123456789abcdef").unwrap_err();
        assert!(!err.to_string().contains("0123"));
    }

    /// `tenant:kind:secret` gives one kind its own key; the others keep the all-kinds secret;
    /// access stands in with service, a static participant with participant.
    #[test]
    fn a_key_per_kind() {
        let spec = "acme:user:user-key-0123456789;acme:device:device-key-0123456789;\
                    acme:service:service-key-0123456789;acme:default-key-0123456789;\
                    bobco:twake:twake-key-0123456789;bobco:participant:participant-key-0123";
        let s = JwtSecrets::parse(spec).unwrap();
        let (acme, bobco) = (Tenant("acme".into()), Tenant("bobco".into()));
        let key = |t: &Tenant, k| s.key(t, k).map(|k| String::from_utf8(k.to_vec()).unwrap());
        assert_eq!(key(&acme, KeyKind::User).as_deref(), Some("user-key-0123456789"));
        assert_eq!(key(&acme, KeyKind::Device).as_deref(), Some("device-key-0123456789"));
        assert_eq!(key(&acme, KeyKind::Access).as_deref(), Some("service-key-0123456789"), "OpenTera's way");
        assert_eq!(key(&acme, KeyKind::Participant).as_deref(), Some("default-key-0123456789"));
        assert_eq!(key(&acme, KeyKind::ParticipantStatic).as_deref(), Some("default-key-0123456789"));
        assert_eq!(key(&acme, KeyKind::Twake).as_deref(), Some("default-key-0123456789"));
        assert_eq!(key(&bobco, KeyKind::Twake).as_deref(), Some("twake-key-0123456789"));
        assert_eq!(key(&bobco, KeyKind::ParticipantStatic).as_deref(), Some("participant-key-0123"));
        assert_eq!(key(&bobco, KeyKind::User), None, "no key of that kind, no all-kinds secret");
        assert_eq!(s.keys(KeyKind::User).map(|(t, _)| t.0.as_str()).collect::<Vec<_>>(), ["acme"]);
        assert_eq!(s.keys(KeyKind::Twake).count(), 2);
        let shown = format!("{s:?}");
        assert!(shown.contains("acme:user") && !shown.contains("key-0123"), "{shown}");
        let s = JwtSecrets::parse("acme:access:access-key-0123456789;acme:service:service-key-0123456789").unwrap();
        assert_eq!(s.key(&acme, KeyKind::Access), Some(&b"access-key-0123456789"[..]), "its own first");
        // not a kind: the whole is the secret, as before kinds existed
        let s = JwtSecrets::parse("acme:users:0123456789abcdef").unwrap();
        assert_eq!(s.key(&acme, KeyKind::User), Some(&b"users:0123456789abcdef"[..]));
        for bad in [
            "acme:user:short",
            "acme:user:0123456789abcdef;acme:user:fedcba9876543210",
            "acme:0123456789abcdef;acme:fedcba9876543210",
        ] {
            let err = JwtSecrets::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("0123") && !err.contains("short"), "{err}");
        }
    }
}
