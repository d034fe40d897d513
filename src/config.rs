//! Typed configuration from the worker's vars and secrets, with defaults and validation.
//! Built from a lookup function so that host tests need no `worker::Env`.

use crate::auth::{AdminCredentials, Credentials, JwtSecrets};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::limits::R2_MIN_PART;

pub const MIB: u64 = 1024 * 1024;

/// Every setting of the service. See the README's "Configuration" table.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest file accepted, in bytes (`EDGESHARE_MAX_FILE_SIZE`, default 5 GiB).
    pub max_file_size: u64,
    /// Smallest R2 part, in bytes (`EDGESHARE_MIN_PART_SIZE`, default and floor R2's 5 MiB,
    /// [`R2_MIN_PART`]).
    pub min_part_size: u64,
    /// NGCP upload TTL when the client sends none (`EDGESHARE_UPLOAD_TTL`, default 3600 s).
    pub upload_ttl: u64,
    /// NGCP session TTL when the client sends none (`EDGESHARE_SESSION_TTL`, default 7 d).
    pub session_ttl: u64,
    /// Largest TTL a client may ask for; larger ones are capped (`EDGESHARE_MAX_TTL`, 7 d).
    pub max_ttl: u64,
    /// How long an expired file's record stays to answer 410 (`EDGESHARE_GRACE`, 7 d).
    pub grace: u64,
    /// Idle time after which an unfinished upload is aborted (`EDGESHARE_IDLE_TIMEOUT`, 24 h).
    pub idle_timeout: u64,
    /// Largest request body, in bytes (`EDGESHARE_MAX_REQUEST_BODY`; unset: no limit, as on
    /// workerd). On Cloudflare the plan refuses larger bodies before the worker sees them:
    /// set it to the plan's limit so that clients hear the same `413` locally.
    pub max_request_body: Option<u64>,
    /// Seconds without a byte after which a write is stalled: the next request for its upload
    /// makes it stop (`EDGESHARE_STALL_TIMEOUT`, 5 s).
    pub stall_timeout: u64,
    /// Hashed credentials (`EDGESHARE_CREDENTIALS`, a secret): the bootstrap tenants.
    pub credentials: Credentials,
    /// The operator's hashed tokens (`EDGESHARE_ADMIN_CREDENTIALS`, a secret). None: no
    /// `/v1/admin/`, and the run-time registry of tenants and keys is never read.
    pub admin: AdminCredentials,
    /// The tenants' JWT secrets (`EDGESHARE_JWT_SECRETS`, a secret).
    pub jwt_secrets: JwtSecrets,
    /// A share link's life when its creator asks for none (`EDGESHARE_LINK_TTL`, 24 h).
    pub link_ttl: u64,
    /// The longest life a share link may have; longer asks are capped
    /// (`EDGESHARE_LINK_MAX_TTL`, 30 d).
    pub link_max_ttl: u64,
    /// Argon2id memory for share link passwords, KiB (`EDGESHARE_LINK_KDF_KIB`, 19456: OWASP's
    /// 19 MiB with 2 passes).
    pub link_kdf_kib: u32,
    /// The Twake companies each tenant owns (`EDGESHARE_TWAKE_COMPANIES`: `tenant:cid cid;...`,
    /// `*` for every company no tenant lists by name). A company belongs to at most one tenant:
    /// see [`Config::owns_company`].
    pub twake_companies: Vec<(String, Vec<String>)>,
    /// The service's one public origin (`EDGESHARE_PUBLIC_URL`, `https://files.example.com`):
    /// in `Location`, share URLs, the API document's `servers` and the cache keys. Unset: the
    /// request's own origin in answers, and [`CACHE_ORIGIN`] in cache keys.
    pub public_url: Option<String>,
    /// Longest `max-age` of a public download of a file that can be deleted, in seconds
    /// (`EDGESHARE_CACHE_MAX_AGE`, 300): how long a copy held anywhere (another location's
    /// cache, a browser, a proxy) may outlive the file's deletion.
    pub cache_max_age: u64,
    /// Cloudflare's purge API, when the operator configures it: a deleted file's public URLs
    /// are purged from every location at once.
    pub purge: Option<PurgeApi>,
    /// Other origins whose pages may send state-changing requests with Basic credentials
    /// (`EDGESHARE_ALLOWED_ORIGINS`, space or comma separated).
    pub allowed_origins: Vec<String>,
    /// Seconds between a webhook delivery's attempts (`EDGESHARE_WEBHOOK_BACKOFF`, comma
    /// separated; the last step repeats).
    pub webhook_backoff: Vec<u64>,
    /// How long a delivery is retried before it is given up, seconds
    /// (`EDGESHARE_WEBHOOK_RETRY_FOR`, 86400).
    pub webhook_retry_for: u64,
    /// How often an isolate adds its per-tenant request counts to the accounts, seconds
    /// (`EDGESHARE_COUNTER_FLUSH_SECS`, 30).
    pub counter_flush: u64,
}

/// Seconds after attempts 1, 2, ... of a webhook delivery (exponential, then every 8 hours).
pub const WEBHOOK_BACKOFF: [u64; 9] = [5, 30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800];

/// Where and how to purge the zone's cache (`EDGESHARE_PURGE_ZONE_ID`,
/// `EDGESHARE_PURGE_API_TOKEN`, and `EDGESHARE_PURGE_API_URL` for a stand-in in tests).
#[derive(Debug, Clone)]
pub struct PurgeApi {
    /// `https://api.cloudflare.com/client/v4`.
    pub api: String,
    pub zone_id: String,
    /// An API token with the zone's `Cache Purge: Purge` permission.
    pub token: Secret,
}

/// Cloudflare's API.
pub const CLOUDFLARE_API: &str = "https://api.cloudflare.com/client/v4";

/// The origin of cache keys when no public URL is configured: one fixed origin, so that the
/// request's `Host` never makes a second copy of a file in the cache.
pub const CACHE_ORIGIN: &str = "https://edgeshare.cache";

impl Default for Config {
    fn default() -> Self {
        Config {
            max_file_size: 5 * 1024 * MIB,
            min_part_size: R2_MIN_PART,
            upload_ttl: 3600,
            session_ttl: 86400 * 7,
            max_ttl: 86400 * 7,
            grace: 86400 * 7,
            idle_timeout: 86400,
            max_request_body: None,
            stall_timeout: 5,
            credentials: Credentials::default(),
            admin: AdminCredentials::default(),
            jwt_secrets: JwtSecrets::default(),
            twake_companies: Vec::new(),
            link_ttl: 86400,
            link_max_ttl: 86400 * 30,
            link_kdf_kib: 19 * 1024,
            public_url: None,
            cache_max_age: 300,
            purge: None,
            allowed_origins: Vec::new(),
            webhook_backoff: WEBHOOK_BACKOFF.to_vec(),
            webhook_retry_for: 86_400,
            counter_flush: 30,
        }
    }
}

impl Config {
    /// Reads every setting through `get` (a var or secret by name).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let d = Config::default();
        let num = |name: &str, default: u64| -> Result<u64> {
            match get(name) {
                None => Ok(default),
                Some(v) if v.trim().is_empty() => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::Internal(format!("{name} must be a positive integer"))),
            }
        };
        let cfg = Config {
            max_file_size: num("EDGESHARE_MAX_FILE_SIZE", d.max_file_size)?,
            min_part_size: num("EDGESHARE_MIN_PART_SIZE", d.min_part_size)?.max(R2_MIN_PART),
            upload_ttl: num("EDGESHARE_UPLOAD_TTL", d.upload_ttl)?,
            session_ttl: num("EDGESHARE_SESSION_TTL", d.session_ttl)?,
            max_ttl: num("EDGESHARE_MAX_TTL", d.max_ttl)?,
            grace: num("EDGESHARE_GRACE", d.grace)?,
            idle_timeout: num("EDGESHARE_IDLE_TIMEOUT", d.idle_timeout)?,
            max_request_body: match get("EDGESHARE_MAX_REQUEST_BODY").filter(|v| !v.trim().is_empty()) {
                None => None,
                Some(_) => Some(num("EDGESHARE_MAX_REQUEST_BODY", 0)?),
            },
            stall_timeout: num("EDGESHARE_STALL_TIMEOUT", d.stall_timeout)?,
            credentials: Credentials::parse(&get("EDGESHARE_CREDENTIALS").unwrap_or_default())?,
            admin: AdminCredentials::parse(&get("EDGESHARE_ADMIN_CREDENTIALS").unwrap_or_default())?,
            jwt_secrets: JwtSecrets::parse(&get("EDGESHARE_JWT_SECRETS").unwrap_or_default())?,
            twake_companies: parse_companies(&get("EDGESHARE_TWAKE_COMPANIES").unwrap_or_default())?,
            link_ttl: num("EDGESHARE_LINK_TTL", d.link_ttl)?,
            link_max_ttl: num("EDGESHARE_LINK_MAX_TTL", d.link_max_ttl)?,
            link_kdf_kib: u32::try_from(num("EDGESHARE_LINK_KDF_KIB", u64::from(d.link_kdf_kib))?.clamp(64, 1 << 20))
                .unwrap_or(d.link_kdf_kib),
            public_url: public_url(&get)?,
            cache_max_age: num("EDGESHARE_CACHE_MAX_AGE", d.cache_max_age)?,
            purge: None,
            allowed_origins: get("EDGESHARE_ALLOWED_ORIGINS")
                .unwrap_or_default()
                .split([' ', ',', ';', '\n'])
                .filter(|s| !s.trim().is_empty())
                .map(|o| parse_origin("EDGESHARE_ALLOWED_ORIGINS", o))
                .collect::<Result<_>>()?,
            webhook_backoff: match get("EDGESHARE_WEBHOOK_BACKOFF").filter(|v| !v.trim().is_empty()) {
                None => d.webhook_backoff.clone(),
                Some(v) => v
                    .split(',')
                    .map(|n| n.trim().parse::<u64>().ok().filter(|n| *n > 0))
                    .collect::<Option<Vec<u64>>>()
                    .ok_or_else(|| {
                        Error::Internal("EDGESHARE_WEBHOOK_BACKOFF must be positive seconds, comma separated".into())
                    })?,
            },
            webhook_retry_for: num("EDGESHARE_WEBHOOK_RETRY_FOR", d.webhook_retry_for)?,
            counter_flush: num("EDGESHARE_COUNTER_FLUSH_SECS", d.counter_flush)?,
        };
        let text = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let purge = match (text("EDGESHARE_PURGE_ZONE_ID"), text("EDGESHARE_PURGE_API_TOKEN")) {
            (None, None) => None,
            (Some(zone_id), Some(token)) => {
                if cfg.public_url.is_none() {
                    return Err(Error::Internal(
                        "EDGESHARE_PURGE_ZONE_ID needs EDGESHARE_PUBLIC_URL (the zone's hostname to purge)".into(),
                    ));
                }
                if !zone_id.bytes().all(|b| b.is_ascii_alphanumeric()) || zone_id.len() > 64 {
                    return Err(Error::Internal("EDGESHARE_PURGE_ZONE_ID must be a zone id".into()));
                }
                let api = text("EDGESHARE_PURGE_API_URL").unwrap_or_else(|| CLOUDFLARE_API.into());
                Some(PurgeApi { api: api.trim_end_matches('/').to_string(), zone_id, token: Secret::new(token) })
            }
            _ => {
                return Err(Error::Internal("EDGESHARE_PURGE_ZONE_ID and EDGESHARE_PURGE_API_TOKEN go together".into()))
            }
        };
        Ok(Config { purge, ..cfg })
    }

    /// The origin of URLs in answers: the configured public one, else the request's.
    pub fn origin<'a>(&'a self, request_origin: &'a str) -> &'a str {
        self.public_url.as_deref().unwrap_or(request_origin)
    }

    /// The origin of cache keys: the configured public one, else [`CACHE_ORIGIN`].
    pub fn cache_origin(&self) -> &str {
        cache_origin(self.public_url.as_deref())
    }
}

/// `EDGESHARE_PUBLIC_URL`, checked, alone: what a cached download needs before the rest of
/// the settings are read.
pub fn public_url(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    get("EDGESHARE_PUBLIC_URL")
        .filter(|v| !v.trim().is_empty())
        .map(|v| parse_origin("EDGESHARE_PUBLIC_URL", &v))
        .transpose()
}

/// The origin of cache keys for a configured public URL (or none).
pub fn cache_origin(public_url: Option<&str>) -> &str {
    public_url.unwrap_or(CACHE_ORIGIN)
}

/// `scheme://host[:port]`, lowercased, without a path or a trailing slash.
fn parse_origin(name: &str, value: &str) -> Result<String> {
    let v = value.trim().trim_end_matches('/').to_ascii_lowercase();
    let bad = || Error::Internal(format!("{name}: {value:?} is not an origin like https://files.example.com"));
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://")).ok_or_else(bad)?;
    let host_ok = !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        && !rest.starts_with([':', '.']);
    if !host_ok {
        return Err(bad());
    }
    Ok(v)
}

pub fn parse_companies(spec: &str) -> Result<Vec<(String, Vec<String>)>> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let bad = |why: String| Error::Internal(format!("EDGESHARE_TWAKE_COMPANIES: {why}"));
    for (i, item) in spec.split([';', '\n']).map(str::trim).filter(|s| !s.is_empty()).enumerate() {
        let (tenant, ids) = item.split_once(':').ok_or_else(|| bad(format!("entry {} is malformed", i + 1)))?;
        let tenant = tenant.trim().to_string();
        let ids: Vec<String> = ids.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_string).collect();
        if out.iter().any(|(t, _)| *t == tenant) {
            return Err(bad(format!("tenant {tenant} is listed twice")));
        }
        // a company named by two tenants would belong to neither for sure
        for id in ids.iter().filter(|c| *c != "*") {
            if let Some((other, _)) = out.iter().find(|(_, named)| named.iter().any(|c| c.eq_ignore_ascii_case(id))) {
                return Err(bad(format!("company {id} is claimed by both {other} and {tenant}")));
            }
        }
        out.push((tenant, ids));
    }
    Ok(out)
}

impl Config {
    /// These settings with what an operator set at run time (`jwt`: JWT secrets as
    /// `EDGESHARE_JWT_SECRETS` writes them; `twake`: Twake companies as
    /// `EDGESHARE_TWAKE_COMPANIES` does). What the deployment configures wins: a tenant and
    /// kind configured keeps its key, a tenant configured keeps its companies, and a company
    /// configured for one tenant is no other's.
    pub fn with_runtime(&self, jwt: Option<&str>, twake: Option<&str>) -> Result<Config> {
        let mut config = self.clone();
        if let Some(spec) = jwt {
            config.jwt_secrets = self.jwt_secrets.merged(&JwtSecrets::parse(spec)?);
        }
        if let Some(spec) = twake {
            for (tenant, ids) in parse_companies(spec)? {
                if config.twake_companies.iter().any(|(t, _)| *t == tenant) {
                    continue;
                }
                let free = |c: &String| {
                    c == "*"
                        || !self
                            .twake_companies
                            .iter()
                            .any(|(_, named)| named.iter().any(|n| n.eq_ignore_ascii_case(c)))
                };
                let ids: Vec<String> = ids.into_iter().filter(free).collect();
                config.twake_companies.push((tenant, ids));
            }
        }
        Ok(config)
    }

    /// May `tenant` use Twake company `company`? A company belongs to at most one tenant:
    /// - one that a tenant lists by name (ASCII case aside) is that tenant's alone;
    /// - a tenant listed with `*` also owns every company no tenant lists by name;
    /// - a tenant not listed owns every company no tenant lists by name as well: with no
    ///   configuration every company id is free, and each tenant's files under it are its own
    ///   (the Twake dialect keeps them apart by their owner, never by the company id alone).
    pub fn owns_company(&self, tenant: &str, company: &str) -> bool {
        let named = |ids: &[String]| ids.iter().any(|c| c != "*" && c.eq_ignore_ascii_case(company));
        if let Some((owner, _)) = self.twake_companies.iter().find(|(_, ids)| named(ids)) {
            return owner == tenant;
        }
        match self.twake_companies.iter().find(|(t, _)| t == tenant) {
            None => true,
            Some((_, ids)) => ids.iter().any(|c| c == "*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_apply_when_unset() {
        let c = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(c.upload_ttl, 3600);
        assert_eq!(c.session_ttl, 604800);
        assert_eq!(c.min_part_size, 5 * MIB);
        assert_eq!(c.max_request_body, None, "no limit unless set");
        assert_eq!(c.stall_timeout, 5);
        assert!(c.credentials.is_empty());
        assert!(c.admin.is_empty(), "no operator unless configured");
        let hash = "ab".repeat(32);
        let c = Config::from_lookup(lookup(&[("EDGESHARE_ADMIN_CREDENTIALS", &hash)])).unwrap();
        assert!(!c.admin.is_empty());
        assert!(Config::from_lookup(lookup(&[("EDGESHARE_ADMIN_CREDENTIALS", "not-hex")])).is_err());
    }

    #[test]
    fn twake_companies() {
        let c = Config::from_lookup(lookup(&[("EDGESHARE_TWAKE_COMPANIES", "acme: c1 c2; bobco:*")])).unwrap();
        assert!(c.owns_company("acme", "c2") && !c.owns_company("acme", "c3"));
        assert!(c.owns_company("bobco", "anything") && c.owns_company("other", "c3"), "unclaimed: anyone's");
        // exclusive: `*` and the unlisted never reach a company another tenant names
        assert!(!c.owns_company("bobco", "c1") && !c.owns_company("other", "c2"), "claimed by acme");
        assert!(!c.owns_company("bobco", "C1"), "whatever its case");
        let c = Config::from_lookup(lookup(&[("EDGESHARE_TWAKE_COMPANIES", "demo:*;other:other-co")])).unwrap();
        assert!(!c.owns_company("demo", "other-co") && c.owns_company("other", "other-co"));
        assert!(c.owns_company("demo", "demo-co") && !c.owns_company("other", "demo-co"));
        let none = Config::from_lookup(lookup(&[])).unwrap();
        assert!(none.owns_company("acme", "c1") && none.owns_company("bobco", "c1"), "each in its own namespace");
        for bad in ["nocolon", "acme:c1;bobco:c1", "acme:c1;bobco:C1", "acme:c1;acme:c2"] {
            assert!(Config::from_lookup(lookup(&[("EDGESHARE_TWAKE_COMPANIES", bad)])).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_cache_and_purge() {
        let c = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!((c.public_url.as_deref(), c.cache_max_age, c.purge.is_none()), (None, 300, true));
        assert_eq!(c.origin("http://127.0.0.1:8787"), "http://127.0.0.1:8787");
        assert_eq!(c.cache_origin(), CACHE_ORIGIN);
        let c = Config::from_lookup(lookup(&[
            ("EDGESHARE_PUBLIC_URL", "https://Files.Example.com/"),
            ("EDGESHARE_CACHE_MAX_AGE", "60"),
            ("EDGESHARE_PURGE_ZONE_ID", "023e105f4ecef8ad9ca31a8372d0c353"),
            ("EDGESHARE_PURGE_API_TOKEN", "tok"),
            ("EDGESHARE_ALLOWED_ORIGINS", "https://app.example.com, http://localhost:3000"),
        ]))
        .unwrap();
        assert_eq!(c.origin("http://evil.example"), "https://files.example.com", "never the request's Host");
        assert_eq!(c.cache_origin(), "https://files.example.com");
        assert_eq!(c.cache_max_age, 60);
        let p = c.purge.unwrap();
        assert_eq!(
            (p.api.as_str(), p.zone_id.as_str(), p.token.expose()),
            (CLOUDFLARE_API, "023e105f4ecef8ad9ca31a8372d0c353", "tok")
        );
        assert!(!format!("{p:?}").contains("tok\""), "the token never prints");
        assert_eq!(c.allowed_origins, vec!["https://app.example.com", "http://localhost:3000"]);
        for bad in [
            vec![("EDGESHARE_PUBLIC_URL", "files.example.com")],
            vec![("EDGESHARE_PUBLIC_URL", "ftp://x")],
            vec![("EDGESHARE_PUBLIC_URL", "https://x/y")],
            vec![("EDGESHARE_PURGE_ZONE_ID", "z")],
            vec![("EDGESHARE_PURGE_ZONE_ID", "z"), ("EDGESHARE_PURGE_API_TOKEN", "t")],
            vec![("EDGESHARE_ALLOWED_ORIGINS", "*")],
        ] {
            assert!(Config::from_lookup(lookup(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_read_and_checked() {
        let c =
            Config::from_lookup(lookup(&[("EDGESHARE_UPLOAD_TTL", "60"), ("EDGESHARE_MIN_PART_SIZE", "1")])).unwrap();
        assert_eq!(c.upload_ttl, 60);
        assert_eq!(c.min_part_size, R2_MIN_PART, "never below R2's floor");
        let c = Config::from_lookup(lookup(&[("EDGESHARE_MAX_REQUEST_BODY", "104857600")])).unwrap();
        assert_eq!(c.max_request_body, Some(100 * MIB));
        assert!(Config::from_lookup(lookup(&[("EDGESHARE_MAX_REQUEST_BODY", "lots")])).is_err());
        for bad in ["0", "-1", "ten", "1.5"] {
            assert!(Config::from_lookup(lookup(&[("EDGESHARE_MAX_TTL", bad)])).is_err(), "{bad}");
        }
    }
}
