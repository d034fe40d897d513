//! Expiry without a Durable Object per file: the expiry index and its sweep, and the journal
//! that makes the writes after an answer safe to lose.
//!
//! Every expiring file has a listed KV key in the minute it expires (`exp:{minute}:{id}`,
//! written before a resumable upload is reported complete, and after the answer for a file
//! written in one request). A Cron Trigger runs [`Ctx::sweep`] every minute: it lists the index
//! in order up to the current minute and, for each file whose `expires_at` has passed, deletes
//! its bytes, writes its tombstone (so it answers `410` for the grace period), drops its index
//! entries, and last deletes its expiry key. A sweep that stops half way leaves the key, so the
//! next one does the rest; nothing is deleted before its `expires_at`.
//!
//! A file written in one request makes one KV write before its answer: its journal entry
//! (`new:{minute}:{id}`), which carries what its expiry key and digest index must be. Those are
//! written after the answer; the sweep goes through each journal minute once, two minutes
//! later (past KV's propagation), and writes whichever of them is missing. So no file ends up
//! with bytes and no scheduled deletion, whatever fails half way (and an R2 lifecycle rule is
//! the last safety net).

use serde::{Deserialize, Serialize};

use super::index::IndexEntry;
use crate::engine::file::keys;
use crate::engine::file::record::{Access, FileRecord, Vendor};
use crate::engine::Ctx;
use crate::error::Result;
use crate::store::limits::KV_MIN_TTL_SECS;
use crate::store::{BlobStore, MetaStore, Platform};

/// How long a journal entry is kept (it is needed for two minutes; this is slack for a sweep
/// that does not run for a while).
pub const JOURNAL_TTL_SECS: u64 = 86_400;
/// Journal minutes younger than this are left to the writes after the answer.
const JOURNAL_LAG_MINUTES: u64 = 2;
/// How far back a first sweep looks into the journal.
const JOURNAL_FIRST_LOOK_MINUTES: u64 = 60;

/// What the expiry index and the journal keep of a file, as the listed key's metadata (KV
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
}

impl<P: Platform> Ctx<'_, P> {
    /// One run of the sweep: the journal's due minutes, then the expiry index up to now.
    pub async fn sweep(&self) -> Result<Swept> {
        let mut swept = Swept { repaired: self.sweep_journal().await?, ..Swept::default() };
        swept.expired = self.sweep_expiries().await?;
        Ok(swept)
    }

    /// Writes what the journal's entries say should exist and does not (their expiry key, their
    /// digest indexes), minute by minute, then remembers the last minute done.
    async fn sweep_journal(&self) -> Result<usize> {
        let now_minute = self.now() / keys::MINUTE_MS;
        let Some(last) = now_minute.checked_sub(JOURNAL_LAG_MINUTES) else { return Ok(0) };
        let done: Option<u64> = self.meta.get(keys::SWEEP_CURSOR).await?.and_then(|v| v.parse().ok());
        // entries live a day: a sweep that did not run for longer has nothing older to find
        let oldest = last.saturating_sub(JOURNAL_TTL_SECS / 60);
        let first = done.map_or(last.saturating_sub(JOURNAL_FIRST_LOOK_MINUTES), |d| d + 1).max(oldest);
        let mut repaired = 0;
        for minute in first..=last {
            let mut cursor = None;
            loop {
                let page = self.meta.list(&keys::journal_minute(minute), cursor.as_deref()).await?;
                for (_, meta) in &page.keys {
                    if let Some(entry) = Entry::parse(meta.as_deref()) {
                        repaired += usize::from(self.repair(&entry).await?);
                    }
                }
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        if first <= last {
            self.meta.put(keys::SWEEP_CURSOR, last.to_string(), None).await?;
        }
        Ok(repaired)
    }

    /// Publishes a journaled file again if its expiry key, its digest index or its listing is
    /// missing (the write after its answer was lost) and its bytes are still there; `publish`
    /// is idempotent and weighs the index itself. A file that has expired since is only handed to the expiry pass, if it has not been
    /// swept already (it has a tombstone then).
    async fn repair(&self, entry: &Entry) -> Result<bool> {
        if let Some(at) = entry.expires_at.filter(|at| *at <= self.now()) {
            let key = keys::expiry(at, &entry.id);
            if self.meta.get(&key).await?.is_some() || self.meta.get(&keys::file(&entry.id)).await?.is_some() {
                return Ok(false);
            }
            self.meta.put_listed(&key, &entry.to_json(), Some(KV_MIN_TTL_SECS)).await?;
            return Ok(true);
        }
        let expiry_missing = match entry.expires_at {
            Some(at) => self.meta.get(&keys::expiry(at, &entry.id)).await?.is_none(),
            None => false,
        };
        let index_missing = self.meta.get(&keys::digest(&entry.tenant, &entry.sha256)).await?.is_none();
        let listing_missing =
            self.listed(&entry.tenant, entry.list_id.as_deref().unwrap_or(&entry.id)).await?.is_none();
        if !(expiry_missing || index_missing || listing_missing) {
            return Ok(false);
        }
        // a file deleted since it was written has nothing to publish (its index and listing
        // would name bytes that are gone)
        let Some(info) = self.blobs.head(&entry.r2_key).await? else { return Ok(false) };
        // the listing shows what the object's metadata says (name, size), which the entry lacks
        let record = match self.record_of(&entry.r2_key, &info).await? {
            Some(r) if r.id == entry.id => r,
            _ => entry.record(),
        };
        self.publish(&record).await?;
        Ok(true)
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

    /// An expired file's bytes go; its tombstone stays for the grace period.
    async fn expire(&self, entry: &Entry) -> Result<()> {
        let record = entry.record();
        self.blobs.delete(&entry.r2_key).await?;
        self.blobs.delete(&keys::sidecar(&entry.id)).await?;
        let json = serde_json::to_string(&record).map_err(|e| crate::error::Error::Internal(e.to_string()))?;
        self.meta.put(&keys::file(&entry.id), json, Some(self.config.grace.max(KV_MIN_TTL_SECS))).await?;
        self.unindex(&record).await
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
