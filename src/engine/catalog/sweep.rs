//! Expiry: a tenant's account wakes when its soonest file is due ([`Ctx::account_alarm`]):
//! it deletes each expired file's bytes, writes its tombstone (so it answers `410` for the
//! grace period) and forgets it in one write; a reservation that lapsed has its file published
//! if its bytes were stored and its answer lost (the account's journal), else is freed. An
//! alarm that stops half way leaves the rest for the next one; nothing is deleted before its
//! `expires_at`. Then it delivers the webhook events that are due ([`Ctx::deliver_events`]).
//!
//! Files stored before accounts existed have an expiry key in KV (`exp:{minute}:{id}`); the
//! Cron Trigger's [`Ctx::sweep`] still expires them, and writes none.

use serde::{Deserialize, Serialize};

use super::account::{self, AccountCall};
use super::index::IndexEntry;
use super::listing::Listed;
use crate::engine::file::keys;
use crate::engine::file::record::{Access, FileRecord, Vendor};
use crate::engine::Ctx;
use crate::error::Result;
use crate::store::object::LedgerStore;
use crate::store::{BlobStore, MetaStore, Platform};

/// How many due files an alarm expires per account write.
const EXPIRY_BATCH: usize = 50;

/// What the KV expiry index kept of a file stored before accounts, as the listed key's metadata (KV
/// allows [`KV_METADATA_BYTES`](crate::store::limits::KV_METADATA_BYTES)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    #[serde(rename = "k")]
    pub r2_key: String,
    #[serde(rename = "t")]
    pub tenant: String,
    #[serde(rename = "d")]
    pub vendor: Vendor,
    #[serde(rename = "a")]
    pub access: Access,
    #[serde(rename = "s")]
    pub sha256: String,
    #[serde(rename = "e", default)]
    pub expires_at: Option<u64>,
    /// The id its dialect gave it, where it is not its id (an NGCP session's file entry).
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
}

impl Entry {
    pub fn of(r: &FileRecord) -> Entry {
        Entry {
            id: r.id.clone(),
            r2_key: r.r2_key.clone(),
            tenant: r.tenant.clone(),
            vendor: r.vendor,
            access: r.access(),
            sha256: r.sha256.clone(),
            expires_at: r.expires_at,
            list_id: Some(r.list_id().to_string()).filter(|l| *l != r.id),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(json: Option<&str>) -> Option<Entry> {
        json.and_then(|j| serde_json::from_str(j).ok())
    }

    /// Its entry in a digest index.
    pub fn index(&self) -> IndexEntry {
        let key = Some(self.r2_key.clone()).filter(|k| *k != keys::object(&self.id));
        IndexEntry { id: self.id.clone(), expires_at: self.expires_at, tenant: Some(self.tenant.clone()), key }
    }

    /// Enough of a record for publishing and for a tombstone (who may see it, when it went).
    pub fn record(&self) -> FileRecord {
        let mut record = FileRecord {
            sha256: self.sha256.clone(),
            expires_at: self.expires_at,
            ..FileRecord::new(&self.id, &self.tenant, self.vendor, &self.r2_key).with_access(self.access)
        };
        record.extra.entry_id.clone_from(&self.list_id);
        record
    }
}

/// What one sweep did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub expired: usize,
    pub repaired: usize,
    /// Webhook deliveries made.
    pub delivered: usize,
}

impl<P: Platform> Ctx<'_, P> {
    /// One run of the Cron Trigger's sweep: the KV expiry index of files stored before
    /// accounts, up to now.
    pub async fn sweep(&self) -> Result<Swept> {
        Ok(Swept { expired: self.sweep_expiries().await?, ..Swept::default() })
    }

    /// An account's alarm, inside its object over its storage: expires what is due, settles
    /// what lapsed; answers when to wake next.
    pub async fn account_alarm<L: LedgerStore>(&self, store: &L) -> Result<(Swept, Option<u64>)> {
        let mut swept = Swept::default();
        let Some(tenant) = account::tenant_of(store).await? else { return Ok((swept, None)) };
        let now = self.now();
        loop {
            let due = account::due(store, now, EXPIRY_BATCH).await?;
            for file in &due {
                self.expire_file(&file.record(&tenant)).await?;
            }
            let ids: Vec<(String, String)> = due.iter().map(|f| (f.list_id.clone(), f.id.clone())).collect();
            swept.expired += account::remove(store, now, &ids, true).await?.len();
            if due.len() < EXPIRY_BATCH {
                break;
            }
        }
        for (id, lapsed) in account::lapsed(store, now).await? {
            let stored = match &lapsed.file {
                Some(f) => self.stored_record(&f.r2_key).await?.filter(|r| r.id == f.id && r.tenant == tenant),
                None => None,
            };
            let call = match stored {
                // stored, and its answer lost before its publication: publish it now
                Some(record) => {
                    swept.repaired += 1;
                    // published before its digest, whose reading was lost: read it now
                    let record = self.fill_digest(record).await?;
                    self.point(&record).await?;
                    AccountCall::Publish { tenant: tenant.clone(), file: Listed::of(&record), reservation: Some(id) }
                }
                None => AccountCall::Release { id, aborted: false },
            };
            account::serve(store, now, call).await?;
        }
        swept.delivered = self.deliver_events(store).await?;
        Ok((swept, account::next_alarm(store).await?))
    }

    /// Deletes every file of the expiry index whose `expires_at` has passed.
    async fn sweep_expiries(&self) -> Result<usize> {
        let now = self.now();
        let now_minute = now / keys::MINUTE_MS;
        let mut expired = 0;
        let mut cursor = None;
        'pages: loop {
            let page = self.meta.list(keys::EXPIRY_PREFIX, cursor.as_deref()).await?;
            for (key, meta) in &page.keys {
                if keys::minute_of(key).is_some_and(|m| m > now_minute) {
                    break 'pages;
                }
                let Some(entry) = Entry::parse(meta.as_deref()) else {
                    self.meta.delete(key).await?;
                    continue;
                };
                if entry.expires_at.is_some_and(|at| at > now) {
                    continue;
                }
                self.expire(&entry).await?;
                self.meta.delete(key).await?;
                expired += 1;
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(expired)
    }

    /// A file stored before accounts expires: its bytes and tombstone as any file's
    /// ([`Ctx::expire_file`]), and its KV digest index entry and listing key. A file deleted
    /// since (its bytes gone) only loses those.
    async fn expire(&self, entry: &Entry) -> Result<()> {
        let record = entry.record();
        if self.blobs.head(&entry.r2_key).await?.is_some() {
            self.expire_file(&record).await?;
        }
        let key = keys::digest(&record.tenant, &record.sha256);
        let indexed = self.meta.get(&key).await?.and_then(|raw| IndexEntry::parse(&raw));
        if indexed.is_some_and(|e| e.id == record.id) {
            self.meta.delete(&key).await?;
        }
        self.meta.delete(&keys::listing(&record.tenant, record.list_id())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_stored_as_before() {
        let e = Entry {
            list_id: Some("n1".into()),
            ..Entry::of(&FileRecord::new("f1", "acme", Vendor::NgcpSession, "f/f1"))
        };
        let json = r#"{"id":"f1","k":"f/f1","t":"acme","d":"ngcp_session","a":"private","s":"","e":null,"l":"n1"}"#;
        assert_eq!(e.to_json(), json);
        assert_eq!(Entry::parse(Some(json)), Some(e.clone()));
        assert_eq!(e.record().list_id(), "n1", "the entry's list id comes back as its extra");
    }
}
