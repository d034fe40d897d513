//! Credentials and tenants.
//!
//! The `EDGESHARE_CREDENTIALS` secret lists, separated by `;`, `,` or new lines, entries
//! `tenant:basic:<sha256 hex of "user:password">`, `tenant:bearer:<sha256 hex of token>` and
//! `tenant:opentera:<sha256 hex of token>` (an OpenTera static token).
//! Only hashes are stored; a presented credential is hashed and compared in constant time
//! against every entry, so neither timing nor logs reveal anything.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::http::auth_header::Presented;

/// Whose files these are. Every credential maps to exactly one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Basic,
    Bearer,
    /// An OpenTera static (participant or device) token.
    OpenTera,
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

impl Credentials {
    /// Parses the secret. An invalid entry is an error naming its position, never its value.
    pub fn parse(spec: &str) -> Result<Credentials> {
        let mut entries = Vec::new();
        for (i, item) in spec.split([';', ',', '\n']).map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            let bad = || Error::Internal(format!("EDGESHARE_CREDENTIALS entry {} is malformed", i + 1));
            let mut it = item.splitn(3, ':');
            let (tenant, scheme, hex_hash) =
                (it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?);
            let scheme = match scheme.to_ascii_lowercase().as_str() {
                "basic" => Scheme::Basic,
                "bearer" => Scheme::Bearer,
                "opentera" => Scheme::OpenTera,
                _ => return Err(bad()),
            };
            let mut hash = [0u8; 32];
            hex::decode_to_slice(hex_hash.trim(), &mut hash).map_err(|_| bad())?;
            if tenant.is_empty() || !tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
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

    /// The tenant of a presented credential, or `Unauthorized`. Every entry is compared, in
    /// constant time, whatever matches first.
    pub fn authenticate(&self, presented: Option<&Presented>) -> Result<Tenant> {
        let presented = presented.ok_or(Error::Unauthorized)?;
        let scheme = match presented {
            Presented::Basic { .. } => Scheme::Basic,
            Presented::Bearer(_) => Scheme::Bearer,
        };
        self.find(scheme, &credential_hash(presented))
    }

    /// The tenant of an OpenTera static token (configured as `tenant:opentera:<sha256 hex>`).
    pub fn authenticate_opentera(&self, token: &str) -> Result<Tenant> {
        self.find(Scheme::OpenTera, &credential_hash(&Presented::Bearer(token.into())))
    }

    fn find(&self, scheme: Scheme, hash: &[u8; 32]) -> Result<Tenant> {
        let mut found: Option<&Tenant> = None;
        for e in &self.entries {
            let same = e.hash.ct_eq(hash).unwrap_u8() == 1;
            if same && e.scheme == scheme && found.is_none() {
                found = Some(&e.tenant);
            }
        }
        found.cloned().ok_or(Error::Unauthorized)
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
    fn malformed_secrets_are_refused_without_echoing_them() {
        for spec in ["acme:basic:zz", "acme:digest:00", "acme", "bad tenant:basic:".to_string().as_str()] {
            let err = Credentials::parse(spec).unwrap_err();
            assert!(!err.to_string().contains("zz"), "{err}");
        }
        assert!(Credentials::parse("").unwrap().is_empty());
        assert!(!format!("{:?}", Credentials::parse("").unwrap()).contains(':'));
    }
}

/// Secrets that sign and verify a tenant's JWTs (OpenTera identity and asset tokens, Twake
/// tokens): HMAC keys, so kept as they are (`EDGESHARE_JWT_SECRETS`, a secret: entries
/// `tenant:secret`, separated by `;`, `,` or new lines). `Debug` shows only the tenants.
#[derive(Clone, Default)]
pub struct JwtSecrets {
    entries: Vec<(Tenant, Vec<u8>)>,
}

impl std::fmt::Debug for JwtSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenants: Vec<&str> = self.entries.iter().map(|(t, _)| t.0.as_str()).collect();
        write!(f, "JwtSecrets({tenants:?})")
    }
}

impl JwtSecrets {
    pub fn parse(spec: &str) -> Result<JwtSecrets> {
        let mut entries = Vec::new();
        for (i, item) in spec.split([';', ',', '\n']).map(str::trim).filter(|s| !s.is_empty()).enumerate() {
            let bad = || Error::Internal(format!("EDGESHARE_JWT_SECRETS entry {} is malformed", i + 1));
            let (tenant, secret) = item.split_once(':').ok_or_else(bad)?;
            if tenant.is_empty()
                || secret.len() < 16
                || !tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad());
            }
            entries.push((Tenant(tenant.into()), secret.as_bytes().to_vec()));
        }
        Ok(JwtSecrets { entries })
    }

    /// The tenant's secret.
    pub fn of(&self, tenant: &Tenant) -> Option<&[u8]> {
        self.entries.iter().find(|(t, _)| t == tenant).map(|(_, s)| s.as_slice())
    }

    /// Every tenant and its secret, to find whose a token is.
    pub fn all(&self) -> impl Iterator<Item = (&Tenant, &[u8])> {
        self.entries.iter().map(|(t, s)| (t, s.as_slice()))
    }
}

#[cfg(test)]
mod jwt_secret_tests {
    use super::*;

    #[test]
    fn secrets_parse_and_hide() {
        let s = JwtSecrets::parse("acme:0123456789abcdef:with-colon; bobco:fedcba9876543210").unwrap();
        assert_eq!(s.of(&Tenant("acme".into())), Some(&b"0123456789abcdef:with-colon"[..]));
        assert_eq!(s.all().count(), 2);
        assert!(!format!("{s:?}").contains("0123"));
        assert!(JwtSecrets::parse("acme:short").is_err(), "at least 16 bytes");
        let err = JwtSecrets::parse("bad tenant:0123456789abcdef").unwrap_err();
        assert!(!err.to_string().contains("0123"));
    }
}
