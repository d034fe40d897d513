//! What a tenant's account keeps of each live file ([`Listed`]): what the listing shows, and
//! enough to expire, tombstone and publish it again. Its JSON (short field names) is also
//! what KV's listing kept as metadata, for files stored before accounts.

use serde::{Deserialize, Serialize};

use crate::engine::file::record::{Access, FileRecord, Vendor};
use crate::store::limits::KV_METADATA_BYTES;

/// What the listing keeps of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The record's id (its R2 object's name) and its R2 key.
    pub id: String,
    #[serde(rename = "k")]
    pub r2_key: String,
    /// The id its dialect gave it.
    #[serde(rename = "l")]
    pub list_id: String,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "t")]
    pub content_type: String,
    #[serde(rename = "d")]
    pub vendor: Vendor,
    #[serde(rename = "z")]
    pub size: u64,
    #[serde(rename = "s")]
    pub sha256: String,
    #[serde(rename = "c")]
    pub created_at: u64,
    #[serde(rename = "e", default)]
    pub expires_at: Option<u64>,
    /// Who may read it besides its tenant (not kept in KV's listing).
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// Is it end-to-end encrypted (its description opaque, in its record)?
    #[serde(rename = "x", default, skip_serializing_if = "std::ops::Not::not")]
    pub e2ee: bool,
    /// The file request it came through, by its label.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Listed {
    /// The listing's entry for a file; a name too long for KV's metadata is shortened there
    /// (the file keeps its name).
    pub fn of(r: &FileRecord) -> Listed {
        let mut listed = Listed {
            id: r.id.clone(),
            r2_key: r.r2_key.clone(),
            list_id: r.list_id().to_string(),
            name: r.name.clone(),
            content_type: r.content_type.chars().take(128).collect(),
            vendor: r.vendor,
            size: r.size,
            sha256: r.sha256.clone(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            access: Some(r.access()),
            e2ee: r.extra.e2ee.is_some(),
            label: r.extra.label.clone(),
        };
        while listed.to_json().len() > KV_METADATA_BYTES && !listed.name.is_empty() {
            let keep = listed.name.chars().count() * 3 / 4;
            listed.name = listed.name.chars().take(keep).collect();
        }
        listed
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Enough of `tenant`'s file's record to expire it, tombstone it, and publish it again.
    pub fn record(&self, tenant: &str) -> FileRecord {
        let mut record = FileRecord {
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
            sha256: self.sha256.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            ..FileRecord::new(&self.id, tenant, self.vendor, &self.r2_key)
        };
        if let Some(access) = self.access {
            record = record.with_access(access);
        }
        if self.list_id != self.id {
            record.extra.entry_id = Some(self.list_id.clone());
        }
        record
    }
}
