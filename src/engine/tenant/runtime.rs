//! What an operator sets for a tenant at run time besides its keys: its JWT secrets (per kind
//! of token, or one for every kind) and its Twake companies. Each is one KV value for every
//! tenant, in the form of its configuration variable (`EDGESHARE_JWT_SECRETS`,
//! `EDGESHARE_TWAKE_COMPANIES`): a JWT names no tenant, so a token is tried against every
//! tenant's key of its kind, and a company belongs to one tenant; the isolate keeps what it
//! read for the registry cache's 5 s, and what the deployment configures wins
//! ([`crate::config::Config::with_runtime`]).

use crate::auth::{JwtSecrets, KeyKind};
use crate::config::{parse_companies, Config};
use crate::engine::file::keys;
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::store::{MetaStore, Platform};

/// Most run-time secrets a tenant has, and their length bounds.
const MAX_SECRETS: usize = 8;
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=512;
/// Most companies a tenant names.
const MAX_COMPANIES: usize = 100;

/// A secret as the stored form can hold it: printable ASCII, no separator.
fn check_secret(secret: &str) -> Result<()> {
    let ok =
        SECRET_BYTES.contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic() && !b";,:".contains(&b));
    ok.then_some(())
        .ok_or_else(|| Error::bad_request("a secret is 16 to 512 printable ASCII characters, without ';', ',' or ':'"))
}

/// A company id as Twake's paths take it.
fn check_company(cid: &str) -> Result<()> {
    let ok = cid == "*"
        || ((1..=64).contains(&cid.len()) && cid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    ok.then_some(()).ok_or_else(|| Error::bad_request(format!("bad company id {cid}")))
}

/// `spec`'s entries of other tenants than `tenant`, then `entries` for it.
fn replace_entries(spec: &str, tenant: &str, entries: Vec<String>) -> String {
    let others = spec.split(';').filter(|e| !e.is_empty() && e.split(':').next() != Some(tenant)).map(String::from);
    others.chain(entries).collect::<Vec<_>>().join(";")
}

impl<P: Platform> Ctx<'_, P> {
    /// Replaces `tenant`'s run-time JWT secrets (`None`: for every kind); an empty list
    /// removes them. Answers the kinds it now has a secret of.
    pub async fn set_jwt_secrets(&self, tenant: &str, secrets: Vec<(Option<KeyKind>, String)>) -> Result<()> {
        self.tenant_view(tenant).await?;
        if secrets.len() > MAX_SECRETS {
            return Err(Error::bad_request(format!("at most {MAX_SECRETS} secrets")));
        }
        let mut entries = Vec::new();
        for (kind, secret) in &secrets {
            check_secret(secret)?;
            if secrets.iter().filter(|(k, _)| k == kind).count() > 1 {
                return Err(Error::bad_request("one secret a kind"));
            }
            entries.push(match kind {
                Some(k) => format!("{tenant}:{}:{secret}", k.name()),
                None => format!("{tenant}:{secret}"),
            });
        }
        let key = keys::RUNTIME_JWT_SECRETS;
        let spec = replace_entries(&self.meta.get(key).await?.unwrap_or_default(), tenant, entries);
        JwtSecrets::parse(&spec).map_err(|_| Error::bad_request("these secrets cannot be kept"))?;
        self.meta.put(key, spec, None).await?;
        self.tenants.forget(key);
        Ok(())
    }

    /// Replaces the Twake companies `tenant` owns (`*`: every company no tenant names); `409`
    /// for a company another tenant names, here or in the configuration.
    pub async fn set_twake_companies(&self, tenant: &str, companies: Vec<String>) -> Result<()> {
        self.tenant_view(tenant).await?;
        if companies.len() > MAX_COMPANIES {
            return Err(Error::bad_request(format!("at most {MAX_COMPANIES} companies")));
        }
        companies.iter().try_for_each(|c| check_company(c))?;
        if self.config.twake_companies.iter().any(|(t, _)| t == tenant) {
            return Err(Error::Conflict(format!(
                "{tenant}'s companies are configured in EDGESHARE_TWAKE_COMPANIES: change them there"
            )));
        }
        let key = keys::RUNTIME_TWAKE_COMPANIES;
        let stored = self.meta.get(key).await?.unwrap_or_default();
        let mut all: Vec<(String, Vec<String>)> = self.config.twake_companies.clone();
        all.extend(parse_companies(&stored)?.into_iter().filter(|(t, _)| t != tenant));
        for c in companies.iter().filter(|c| *c != "*") {
            if let Some((other, _)) = all.iter().find(|(_, ids)| ids.iter().any(|i| i.eq_ignore_ascii_case(c))) {
                return Err(Error::Conflict(format!("company {c} is {other}'s")));
            }
        }
        let entries = match companies.is_empty() {
            true => Vec::new(),
            false => vec![format!("{tenant}:{}", companies.join(" "))],
        };
        let spec = replace_entries(&stored, tenant, entries);
        parse_companies(&spec)?;
        self.meta.put(key, spec, None).await?;
        self.tenants.forget(key);
        Ok(())
    }
}

/// What `tenant` has in `config` (with what was set at run time): the kinds it has a JWT
/// secret of (`*`: every kind), and the companies it names.
pub fn settings_of(config: &Config, tenant: &str) -> (Vec<String>, Vec<String>) {
    let kinds = config
        .jwt_secrets
        .kinds_of(&crate::auth::Tenant(tenant.to_string()))
        .into_iter()
        .map(|k| k.map_or("*".to_string(), |k| k.name().to_string()))
        .collect();
    let companies =
        config.twake_companies.iter().find(|(t, _)| t == tenant).map(|(_, ids)| ids.clone()).unwrap_or_default();
    (kinds, companies)
}
