//! The operator's calls on the registry: create, show, list, suspend, resume and delete a
//! tenant; mint, list and revoke its keys. A tenant of `EDGESHARE_CREDENTIALS` is in the
//! registry implicitly (active, no keys) until a call gives it a record: suspending it, or
//! minting it a key. Every write goes in the order that leaves nothing usable behind a failure:
//! a key is listed in its tenant's record before its credential exists, and its credential
//! goes before it leaves the record; a retried call finishes what a failed one began.
//!
//! KV takes one write a second per key: calls on one tenant closer than that may answer `503`
//! on Cloudflare (retry them). Concurrent calls on one tenant are not serialised: the last
//! write of its record wins.

use crate::auth::{KeyKind, Scheme, Tenant};
use crate::engine::file::keys;
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::secret::{random_bytes, Secret};
use crate::store::{MetaStore, Platform};

use super::registry::{
    check_new_id, is_key_id, is_tenant_ref, CredRecord, KeyAsk, KeyEntry, Listed, Status, TenantRecord,
};

pub const NO_TENANT: &str = "no such tenant";
pub const NO_KEY: &str = "no such key";

/// A tenant as the admin API shows it: its record if it has one, and whether
/// `EDGESHARE_CREDENTIALS` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantView {
    pub id: String,
    pub record: Option<TenantRecord>,
    pub bootstrap: bool,
}

impl TenantView {
    pub fn summary(&self) -> Summary {
        Summary {
            id: self.id.clone(),
            status: self.record.as_ref().map_or(Status::Active, |r| r.status),
            created_at: self.record.as_ref().map(|r| r.created_at),
            bootstrap: self.bootstrap,
        }
    }

    pub fn keys(&self) -> &[KeyEntry] {
        self.record.as_ref().map_or(&[], |r| r.keys.as_slice())
    }
}

/// A tenant as the registry's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: String,
    pub status: Status,
    /// When its record was made; `None` for a bootstrap tenant without one.
    pub created_at: Option<u64>,
    pub bootstrap: bool,
}

/// A page of tenants: the bootstrap tenants come first, on the first page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub tenants: Vec<Summary>,
    pub cursor: Option<String>,
}

impl<P: Platform> Ctx<'_, P> {
    /// A tenant, `404` unless it has a record or is a bootstrap tenant.
    pub async fn tenant_view(&self, id: &str) -> Result<TenantView> {
        if !is_tenant_ref(id) {
            return Err(Error::not_found(NO_TENANT));
        }
        let record = self.tenant_record(id).await?;
        let bootstrap = self.config.credentials.has_tenant(id);
        if record.is_none() && !bootstrap {
            return Err(Error::not_found(NO_TENANT));
        }
        Ok(TenantView { id: id.into(), record, bootstrap })
    }

    /// A tenant's record, a new one for a bootstrap tenant that has none.
    async fn record_or_implicit(&self, id: &str) -> Result<(TenantRecord, bool)> {
        let view = self.tenant_view(id).await?;
        match view.record {
            Some(r) => Ok((r, false)),
            None => Ok((TenantRecord::new(id, self.now()), true)),
        }
    }

    /// Creates a tenant; `409` if it exists (in the registry, or configured).
    pub async fn create_tenant(&self, id: &str) -> Result<TenantView> {
        check_new_id(id)?;
        if self.config.credentials.has_tenant(id) || self.tenant_record(id).await?.is_some() {
            return Err(Error::Conflict(format!("tenant {id} exists")));
        }
        let record = TenantRecord::new(id, self.now());
        self.save(&record, true).await?;
        Ok(TenantView { id: id.into(), record: Some(record), bootstrap: false })
    }

    /// Writes a tenant's record (and its listed key, when that changes too), and forgets what
    /// this isolate knew of it.
    async fn save(&self, record: &TenantRecord, listed: bool) -> Result<()> {
        self.meta.put(&keys::tenant_record(&record.id), record.to_json(), None).await?;
        if listed {
            self.meta.put_listed(&keys::tenant_listed(&record.id), &record.listed().to_json(), None).await?;
        }
        self.tenants.forget_tenant(&record.id, &keys::tenant_record(&record.id));
        Ok(())
    }

    /// The registry's tenants: on the first page every bootstrap tenant, then a page of those
    /// created here (`cursor` for the next).
    pub async fn list_tenants(&self, cursor: Option<&str>) -> Result<Page> {
        let mut tenants = Vec::new();
        if cursor.is_none() {
            for Tenant(id) in self.config.credentials.tenants() {
                let record = self.tenant_record(id).await?;
                tenants.push(TenantView { id: id.clone(), record, bootstrap: true }.summary());
            }
        }
        let page = self.meta.list(keys::TENANT_LIST_PREFIX, cursor).await?;
        for (key, meta) in page.keys {
            let id = key.strip_prefix(keys::TENANT_LIST_PREFIX).unwrap_or(&key);
            if self.config.credentials.has_tenant(id) {
                continue; // listed above
            }
            let listed: Option<Listed> = meta.and_then(|m| serde_json::from_str(&m).ok());
            tenants.push(Summary {
                id: id.into(),
                status: listed.map_or(Status::Active, |l| l.status),
                created_at: listed.map(|l| l.created_at),
                bootstrap: false,
            });
        }
        Ok(Page { tenants, cursor: page.cursor })
    }

    /// Suspends or resumes a tenant: its record first (its bootstrap credentials and JWTs
    /// follow it), then each key's credential.
    pub async fn set_tenant_status(&self, id: &str, status: Status) -> Result<TenantView> {
        let (mut record, _) = self.record_or_implicit(id).await?;
        record.set_status(status, self.now());
        self.save(&record, true).await?;
        for key in &record.keys {
            self.put_credential(key, &record.credential(key)).await?;
        }
        let bootstrap = self.config.credentials.has_tenant(id);
        Ok(TenantView { id: id.into(), record: Some(record), bootstrap })
    }

    async fn put_credential(&self, key: &KeyEntry, cred: &CredRecord) -> Result<()> {
        let kv_key = keys::credential(key.kind.name(), &key.hash);
        self.meta.put(&kv_key, cred.to_json(), None).await?;
        self.tenants.forget(&kv_key);
        Ok(())
    }

    async fn delete_credential(&self, key: &KeyEntry) -> Result<()> {
        let kv_key = keys::credential(key.kind.name(), &key.hash);
        self.meta.delete(&kv_key).await?;
        self.tenants.forget(&kv_key);
        Ok(())
    }

    /// Deletes a tenant created here and its keys: `409` while it has files (its listing is
    /// not empty), or if `EDGESHARE_CREDENTIALS` names it (it would be back at once).
    pub async fn delete_tenant(&self, id: &str) -> Result<()> {
        let view = self.tenant_view(id).await?;
        if view.bootstrap {
            return Err(Error::Conflict(format!(
                "tenant {id} is configured in EDGESHARE_CREDENTIALS: remove it there (suspend it meanwhile)"
            )));
        }
        if self.usage(id).await?.files > 0 {
            return Err(Error::Conflict(format!("tenant {id} has files: delete them first")));
        }
        let Some(record) = view.record else { return Err(Error::not_found(NO_TENANT)) };
        for key in &record.keys {
            self.delete_credential(key).await?;
        }
        self.meta.delete(&keys::tenant_listed(id)).await?;
        self.meta.delete(&keys::tenant_record(id)).await?;
        self.tenants.forget_tenant(id, &keys::tenant_record(id));
        Ok(())
    }

    /// Mints a key: its entry, and its secret (256 random bits, base64url), which is never
    /// stored nor shown again. A suspended tenant's new key is suspended with it.
    /// `409` for an OpenTera key of a tenant without an `access` JWT secret, which its uploads
    /// need (their answers carry an access token).
    pub async fn mint_key(&self, id: &str, ask: &KeyAsk) -> Result<(KeyEntry, Secret)> {
        let (mut record, new) = self.record_or_implicit(id).await?;
        if ask.kind == Scheme::OpenTera && self.config.jwt_secrets.key(&Tenant(id.into()), KeyKind::Access).is_none() {
            return Err(Error::Conflict(format!(
                "an OpenTera key needs the tenant's secret in EDGESHARE_JWT_SECRETS (none for {id})"
            )));
        }
        let key_id = loop {
            let candidate = hex::encode(random_bytes::<8>());
            if !record.keys.iter().any(|k| k.id == candidate) {
                break candidate;
            }
        };
        let secret = Secret::random::<32>();
        let entry = ask.entry(&key_id, secret.expose(), self.now());
        record.add_key(entry.clone(), self.now())?;
        self.save(&record, new).await?;
        self.put_credential(&entry, &record.credential(&entry)).await?;
        Ok((entry, secret))
    }

    /// A tenant's keys (`404` for no such tenant).
    pub async fn tenant_keys(&self, id: &str) -> Result<Vec<KeyEntry>> {
        Ok(self.tenant_view(id).await?.keys().to_vec())
    }

    /// Revokes a key: its credential first, then its entry.
    pub async fn revoke_key(&self, id: &str, key_id: &str) -> Result<()> {
        let view = self.tenant_view(id).await?;
        let key = view.keys().iter().find(|k| is_key_id(key_id) && k.id == key_id).cloned();
        let (Some(key), Some(mut record)) = (key, view.record) else { return Err(Error::not_found(NO_KEY)) };
        self.delete_credential(&key).await?;
        record.remove_key(key_id, self.now());
        self.save(&record, false).await
    }
}
