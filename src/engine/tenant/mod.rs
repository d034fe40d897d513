//! Tenants and keys at run time: the registry an operator writes through `/v1/admin/`, and who
//! a presented credential is. [`registry`] holds the records and their checks (pure),
//! [`cache`] what this isolate learnt of the registry lately (pure, bounded), [`admin`] the
//! operator's calls; this module the checks every authenticated request makes.
//!
//! The registry lives in KV: `reg:tenant:{id}` (a tenant's record: status, keys without their
//! secrets), `reg:list:{id}` (listed, for `GET /v1/admin/tenants`) and
//! `reg:cred:{scheme}:{sha256 hex}` (a key by what its secret hashes to: its tenant, its id,
//! its tenant's status). It is read only where an operator can write it, with
//! `EDGESHARE_ADMIN_CREDENTIALS` configured; without, credentials are the bootstrap's alone, as
//! before the registry existed.
//!
//! A credential ([`Ctx::tenant_of`]): the bootstrap's (`EDGESHARE_CREDENTIALS`, compared in
//! constant time, no I/O) first, then its tenant's status (`reg:tenant:{id}`: no record is
//! active); else an operator's token is refused as a tenant's (no I/O); else the registry's
//! credential key (one read). Each read is kept in [`cache::Cache`] for at most
//! [`cache::CACHE_MS`].
//!
//! May import: [`crate::engine::file`] (every storage key), the context ([`Ctx`], whose methods
//! it adds), `crate::{auth, error, http, secret, store}`. Not the catalog, upload, ledger or
//! chunked rooms.

pub mod admin;
pub mod cache;
pub mod registry;
pub mod runtime;

use crate::auth::{Hashed, Tenant};
use crate::engine::file::keys;
use crate::engine::{throttle, Ctx};
use crate::error::{Error, Result};
use crate::http::auth_header::Presented;
use crate::store::{MetaStore, Platform};
use cache::Known;
use registry::{from_json, CredRecord, Status, TenantRecord, SUSPENDED};

/// What an operator's token hears where a tenant's credentials are asked for.
pub const NOT_A_TENANT: &str = "an operator's token is not a tenant's credential";
/// What a tenant's credential hears on `/v1/admin/`.
pub const NOT_AN_OPERATOR: &str = "a tenant's credential is not an operator's token";

impl<P: Platform> Ctx<'_, P> {
    /// Is the registry read (an operator can write it: `EDGESHARE_ADMIN_CREDENTIALS` is set)?
    pub fn registry_on(&self) -> bool {
        !self.config.admin.is_empty()
    }

    /// The tenant of an `Authorization` header's credentials: `401` without or unknown, `403`
    /// for a suspended tenant's or an operator's token.
    pub async fn authenticate(&self, presented: Option<&Presented>) -> Result<Tenant> {
        self.tenant_of(&Hashed::of(presented.ok_or(Error::Unauthorized)?)).await
    }

    /// The tenant of an OpenTera static token, configured or minted.
    pub async fn authenticate_opentera(&self, token: &str) -> Result<Tenant> {
        self.tenant_of(&Hashed::opentera(token)).await
    }

    /// The tenant of a hashed credential: the bootstrap's, else the registry's.
    pub async fn tenant_of(&self, presented: &Hashed) -> Result<Tenant> {
        if let Ok(tenant) = self.config.credentials.find(presented) {
            self.check_active(&tenant).await?;
            return Ok(tenant);
        }
        if self.config.admin.is_admin(presented) {
            return Err(Error::Forbidden(NOT_A_TENANT.into()));
        }
        if !self.registry_on() {
            return Err(Error::Unauthorized);
        }
        match self.credential(presented).await? {
            Some(CredRecord { tenant, status: Status::Active, .. }) => Ok(Tenant(tenant)),
            Some(_) => Err(Error::Forbidden(SUSPENDED.into())),
            None => Err(Error::Unauthorized),
        }
    }

    /// A client over its limit of unknown credentials reads nothing more of the registry
    /// for a while: `429`. (A credential this isolate read lately is answered from memory.)
    fn check_throttled(&self, key: &str) -> Result<()> {
        let over = matches!(self.tenants.get(&throttle::miss_key(&self.client), self.now()), Some(Known::Throttled));
        if over && self.tenants.get(key, self.now()).is_none() {
            return Err(Error::TooManyRequests { retry_after: throttle::RETRY_AFTER_SECS });
        }
        Ok(())
    }

    /// Counts a read that found no credential against the client's limit (the platform's
    /// rate-limiting binding); over it, the client is refused (`429`) and this isolate reads
    /// nothing more for it for [`cache::CACHE_MS`], then asks the binding again.
    async fn count_miss(&self) -> Result<()> {
        let Some(limit) = self.throttle else { return Ok(()) };
        let key = throttle::miss_key(&self.client);
        if limit.allow(&key).await? {
            return Ok(());
        }
        self.tenants.put(key, Known::Throttled, self.now());
        Err(Error::TooManyRequests { retry_after: throttle::RETRY_AFTER_SECS })
    }

    /// `403` if the tenant is suspended: for a tenant known by other means than a registry key
    /// (a bootstrap credential, a JWT signed with its secret, an IMiS login). One read of its
    /// record (cached), none with the registry off.
    pub async fn check_active(&self, tenant: &Tenant) -> Result<()> {
        if !self.registry_on() {
            return Ok(());
        }
        match self.status(&tenant.0).await? {
            Some(Status::Suspended) => Err(Error::Forbidden(SUSPENDED.into())),
            _ => Ok(()),
        }
    }

    /// The operator's token, or `401` (none, unknown, or no operator configured); `403` for a
    /// tenant's credentials.
    pub async fn authenticate_admin(&self, presented: Option<&Presented>) -> Result<()> {
        let presented = Hashed::of(presented.ok_or(Error::Unauthorized)?);
        if self.config.admin.is_admin(&presented) {
            return Ok(());
        }
        match self.tenant_of(&presented).await {
            Ok(_) | Err(Error::Forbidden(_)) => Err(Error::Forbidden(NOT_AN_OPERATOR.into())),
            Err(_) => Err(Error::Unauthorized),
        }
    }

    /// A registry key's record, by what its secret hashes to (cached).
    async fn credential(&self, presented: &Hashed) -> Result<Option<CredRecord>> {
        let key = keys::credential(presented.scheme.name(), &presented.hex());
        if let Some(Known::Credential(known)) = self.tenants.get(&key, self.now()) {
            return Ok(known);
        }
        self.check_throttled(&key)?;
        let found = match self.meta.get(&key).await? {
            Some(raw) => Some(from_json::<CredRecord>(&raw)?),
            None => None,
        };
        self.tenants.put(key, Known::Credential(found.clone()), self.now());
        if found.is_none() {
            self.count_miss().await?;
        }
        Ok(found)
    }

    /// A tenant's status in the registry, `None` without a record (cached).
    async fn status(&self, tenant: &str) -> Result<Option<Status>> {
        let key = keys::tenant_record(tenant);
        if let Some(Known::Status(known)) = self.tenants.get(&key, self.now()) {
            return Ok(known);
        }
        let status = self.tenant_record(tenant).await?.map(|r| r.status);
        self.tenants.put(key, Known::Status(status), self.now());
        Ok(status)
    }

    /// The settings with the JWT secrets and Twake companies an operator set at run time,
    /// when there are any (`None`: the configured ones alone). One cached KV read of each.
    pub async fn runtime_config(&self) -> Result<Option<crate::config::Config>> {
        if !self.registry_on() {
            return Ok(None);
        }
        let jwt = self.spec(keys::RUNTIME_JWT_SECRETS).await?;
        let twake = self.spec(keys::RUNTIME_TWAKE_COMPANIES).await?;
        if jwt.is_none() && twake.is_none() {
            return Ok(None);
        }
        self.config.with_runtime(jwt.as_deref(), twake.as_deref()).map(Some)
    }

    /// A run-time setting of the registry (cached).
    pub(crate) async fn spec(&self, key: &str) -> Result<Option<String>> {
        if let Some(Known::Spec(known)) = self.tenants.get(key, self.now()) {
            return Ok(known);
        }
        let found = self.meta.get(key).await?.filter(|s| !s.is_empty());
        self.tenants.put(key.to_string(), Known::Spec(found.clone()), self.now());
        Ok(found)
    }

    /// A tenant's record, read now (not cached).
    pub async fn tenant_record(&self, tenant: &str) -> Result<Option<TenantRecord>> {
        match self.meta.get(&keys::tenant_record(tenant)).await? {
            Some(raw) => Ok(Some(from_json(&raw)?)),
            None => Ok(None),
        }
    }
}
