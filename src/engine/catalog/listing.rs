//! A tenant's files, whatever dialect uploaded them: the listing (`GET /v1/files`) and the
//! lookup of one file by the id its dialect gave it (for share links and deletion).
//!
//! The listing is the tenant's account ([`super::account`]): one entry per live file, written
//! when a file is published and dropped when it is deleted or expires, strongly consistent (a
//! file is listed the moment its upload answers). A lookup by id asks R2 first: the id names
//! the object, but for an NGCP session's file entry, which only the listing knows.

use super::account::{AccountAnswer, AccountCall, Quota, Report};
use crate::engine::file::keys;
use crate::engine::file::record::FileRecord;
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::store::object::LedgerStore;
use crate::store::{BlobStore, MetaStore, Platform};

pub const FILE_NOT_FOUND: &str = "file not found";
pub const FILE_EXPIRED: &str = "file expired";

pub use super::listed::Listed;

/// Could this be a file id of some dialect (uuids, opaque base64url ids)? Anything else is
/// not looked up at all.
pub fn is_file_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=.".contains(&b))
}

/// One page of a tenant's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub files: Vec<Listed>,
    pub cursor: Option<String>,
}

impl<P: Platform> Ctx<'_, P> {
    /// Imports, once, what KV listed of `tenant`'s files before accounts existed into its
    /// account (inside its object, over its storage, before its first call is served): one
    /// KV list per 1,000 files, once per tenant; a tenant that never had any costs one list.
    pub async fn import_legacy<L: LedgerStore>(&self, store: &L, tenant: &str) -> Result<()> {
        if super::account::imported(store).await? {
            return Ok(());
        }
        let mut cursor = None;
        loop {
            let page = self.meta.list(&keys::listing_prefix(tenant), cursor.as_deref()).await?;
            let files = page.keys.iter().filter_map(|(_, m)| m.as_deref().and_then(|m| serde_json::from_str(m).ok()));
            super::account::import(store, self.now(), tenant, files.collect()).await?;
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        super::account::import_done(store, self.now()).await
    }

    /// The account's entry for `list_id` of `tenant`, if any.
    pub async fn listed(&self, tenant: &str, list_id: &str) -> Result<Option<Listed>> {
        match self.account(tenant, AccountCall::Get { list_id: list_id.to_string() }).await? {
            AccountAnswer::File { file } => Ok(file),
            other => Err(Error::Internal(format!("account answered {other:?}"))),
        }
    }

    /// `tenant`'s usage and quota, from its account.
    pub async fn usage(&self, tenant: &str) -> Result<Report> {
        match self.account(tenant, AccountCall::Usage).await? {
            AccountAnswer::Usage(report) => Ok(report),
            other => Err(Error::Internal(format!("account answered {other:?}"))),
        }
    }

    /// Adds an isolate's counts of `tenant`'s requests to its account.
    pub async fn add_counters(&self, tenant: &str, counters: super::tally::Counters) -> Result<()> {
        self.account(tenant, AccountCall::AddCounters { counters }).await.map(drop)
    }

    /// Sets `tenant`'s quota in its account (checked by every upload that starts after).
    pub async fn set_quota(&self, tenant: &str, quota: Quota) -> Result<()> {
        self.account(tenant, AccountCall::SetQuota { tenant: tenant.to_string(), quota }).await.map(drop)
    }

    /// One page of `tenant`'s live files (up to 1,000, newest first within the page), from
    /// `cursor` (a page's own cursor; `None`: the first). Strongly consistent: a file is
    /// listed once its upload has answered.
    pub async fn list_files(&self, tenant: &str, cursor: Option<&str>) -> Result<Page> {
        let after = cursor.map(String::from);
        let AccountAnswer::Page { files, cursor } = self.account(tenant, AccountCall::List { after }).await? else {
            return Err(Error::Internal("account answered no page".into()));
        };
        let now = self.now();
        let mut files: Vec<Listed> = files.into_iter().filter(|l| l.expires_at.is_none_or(|at| at > now)).collect();
        files.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.list_id.cmp(&b.list_id)));
        Ok(Page { files, cursor })
    }

    /// The record an R2 object describes, if it is one of our files.
    pub async fn stored_record(&self, key: &str) -> Result<Option<FileRecord>> {
        match self.blobs.head(key).await? {
            Some(info) => self.record_of(key, &info).await,
            None => Ok(None),
        }
    }

    /// `tenant`'s file named `id` by its dialect, if it lives: `404` for anyone else's (or
    /// none), `410` once expired.
    pub async fn find_owned(&self, tenant: &str, id: &str) -> Result<FileRecord> {
        if !is_file_id(id) {
            return Err(Error::not_found(FILE_NOT_FOUND));
        }
        let mine = |r: &FileRecord| r.tenant == tenant;
        for key in [keys::object(id), keys::expiring_object(id)] {
            if let Some(r) = self.stored_record(&key).await?.filter(|r| mine(r) && r.id == id) {
                return r.live(self.now(), FILE_EXPIRED);
            }
        }
        if let Some(l) = self.listed(tenant, id).await? {
            if let Some(r) = self.stored_record(&l.r2_key).await?.filter(|r| mine(r) && r.id == l.id) {
                return r.live(self.now(), FILE_EXPIRED);
            }
        }
        // no object: `410` if its tombstone says it expired, else `404`
        if let Some(r) = self.tombstone(id).await?.filter(mine) {
            r.live(self.now(), FILE_EXPIRED)?;
        }
        Err(Error::not_found(FILE_NOT_FOUND))
    }

    /// Renames a file whose record is kept in its sidecar (an OpenTera asset): the record,
    /// seen by every read at once, and the listing.
    pub async fn rename_file(&self, record: &FileRecord) -> Result<()> {
        self.put_sidecar(record).await?;
        self.publish(record, None).await
    }

    /// Deletes a file of any dialect (its bytes, sidecar, indexes, listing) and queues the
    /// paths under which a shared cache may hold it for purging.
    pub async fn delete_any(&self, record: &FileRecord) -> Result<()> {
        self.delete_file(record).await?;
        self.later.0.borrow_mut().extend(public_paths(record));
        Ok(())
    }
}

/// The keys (paths) under which a shared cache may hold a file's bytes: its public
/// downloads, each under the one canonical path the worker uses for every spelling of its URL.
pub fn public_paths(record: &FileRecord) -> Vec<String> {
    use crate::engine::file::record::Access;
    let id = &record.id;
    match record.access() {
        Access::ShareLink => vec![format!("/uploads/{}", id.to_ascii_lowercase())],
        Access::PublicDigest => {
            let sha = record.sha256.to_ascii_lowercase();
            vec![format!("/api/blobs/{id}"), format!("/api/blobs/{sha}")]
        }
        Access::Private => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::record::{Access, Vendor};
    use crate::store::limits::KV_METADATA_BYTES;

    #[test]
    fn listing_entries_fit_kv_metadata() {
        let mut r = FileRecord {
            name: "\u{1}".repeat(255),
            size: 9,
            sha256: "ab".repeat(32),
            created_at: 5,
            ..FileRecord::new("f1", "acme", Vendor::Tus, "f/f1")
        };
        r.extra.entry_id = Some("e1".into());
        let l = Listed::of(&r);
        assert!(l.to_json().len() <= KV_METADATA_BYTES, "{}", l.to_json().len());
        assert!(!l.name.is_empty());
        assert_eq!((l.list_id.as_str(), l.id.as_str()), ("e1", "f1"));
        let plain = Listed::of(&FileRecord { name: "a.txt".into(), ..r.clone() });
        assert_eq!(plain.name, "a.txt");
        assert_eq!(serde_json::from_str::<Listed>(&plain.to_json()).unwrap(), plain);
    }

    #[test]
    fn listing_entries_are_read_as_before() {
        let l = Listed::of(&FileRecord::new("f1", "acme", Vendor::Twake, "f/f1"));
        let json = r#"{"id":"f1","k":"f/f1","l":"f1","n":"","t":"application/octet-stream","d":"twake","z":0,"s":"","c":0,"e":null}"#;
        assert_eq!(l.to_json(), json.replace("}", r#","a":"private"}"#), "as before, with who may read it");
        assert_eq!(serde_json::from_str::<Listed>(json).unwrap(), Listed { access: None, ..l });
    }

    #[test]
    fn ids_and_public_paths() {
        assert!(is_file_id("88e5905d-5d96-4750-ab3d-77a1ed26f569") && is_file_id("NzAw=="));
        assert!(!is_file_id("") && !is_file_id("a/b") && !is_file_id(&"a".repeat(129)) && !is_file_id("a:b"));
        let ngcp = FileRecord::new("u1", "acme", Vendor::Ngcp, "e/u1").with_access(Access::ShareLink);
        assert_eq!(public_paths(&ngcp), vec!["/uploads/u1"]);
        let blob = FileRecord { sha256: "ab".into(), ..FileRecord::new("b1", "acme", Vendor::Portsip, "f/b1") };
        assert_eq!(public_paths(&blob), vec!["/api/blobs/b1", "/api/blobs/ab"]);
        assert!(public_paths(&FileRecord::new("t1", "acme", Vendor::Tus, "f/t1")).is_empty());
    }
}
