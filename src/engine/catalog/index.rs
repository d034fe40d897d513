//! Digest indexes: a tenant's `sha256 → file` in KV, and the public pointer of PortSIP's
//! digest URLs in R2 (`d/{sha256}`).
//! Several files may hold the same bytes; an index entry names the one that lives longest,
//! so that a file reachable by its digest never becomes less reachable because someone
//! uploaded the same bytes again with a shorter life (or another name).

use serde::{Deserialize, Serialize};

/// What an index entry holds: the file, and when it expires (so that a new upload of the
/// same bytes can be weighed against it without reading the file's record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub id: String,
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// Whose file it is (unknown in entries written before it was kept).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Its R2 object, when not at the key its id gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl IndexEntry {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses an entry; `None` if it is not one.
    pub fn parse(raw: &str) -> Option<IndexEntry> {
        serde_json::from_str(raw).ok()
    }
}

/// Should `new` replace `old` in an index at `now`? If `old` is gone or expired, or `new`
/// outlives it (no expiry outlives every expiry), or lives as long and is the same tenant's.
/// Another tenant's copy never takes over a live entry that lives as long.
pub fn replaces(old: Option<&IndexEntry>, new: &IndexEntry, now: u64) -> bool {
    let Some(old) = old else { return true };
    if old.id == new.id {
        return old.expires_at != new.expires_at;
    }
    let same_tenant = old.tenant.is_some() && old.tenant == new.tenant;
    match (old.expires_at, new.expires_at) {
        (Some(t), _) if t <= now => true,
        (None, None) => same_tenant,
        (None, Some(_)) => false,
        (Some(_), None) => true,
        (Some(a), Some(b)) => b > a || (b == a && same_tenant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, expires_at: Option<u64>) -> IndexEntry {
        IndexEntry { id: id.into(), expires_at, tenant: Some("acme".into()), key: None }
    }

    fn other(id: &str, expires_at: Option<u64>) -> IndexEntry {
        IndexEntry { tenant: Some("bobco".into()), ..e(id, expires_at) }
    }

    #[test]
    fn the_longest_life_wins() {
        let now = 100;
        let rows: &[(Option<IndexEntry>, IndexEntry, bool)] = &[
            (None, e("b", Some(200)), true),
            // a permanent file is never displaced by an expiring copy
            (Some(e("a", None)), e("b", Some(200)), false),
            (Some(e("a", None)), other("b", Some(200)), false),
            // between equal lives, the same tenant's newer copy takes over, another tenant's never
            (Some(e("a", None)), e("b", None), true),
            (Some(e("a", None)), other("b", None), false),
            (Some(e("a", Some(150))), e("b", Some(150)), true),
            (Some(e("a", Some(150))), other("b", Some(150)), false),
            (Some(IndexEntry { tenant: None, ..e("a", None) }), e("b", None), false),
            // an expiring one gives way to a longer or permanent one, whoever's
            (Some(e("a", Some(150))), other("b", None), true),
            (Some(e("a", Some(150))), other("b", Some(200)), true),
            (Some(e("a", Some(150))), e("b", Some(120)), false),
            // an expired one gives way to anything
            (Some(e("a", Some(100))), e("b", Some(101)), true),
            (Some(e("a", Some(50))), e("b", Some(60)), true),
            // the same file again: only a changed expiry is written
            (Some(e("a", Some(150))), e("a", Some(150)), false),
            (Some(e("a", None)), e("a", Some(150)), true),
        ];
        for (old, new, want) in rows {
            assert_eq!(replaces(old.as_ref(), new, now), *want, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn entries_round_trip() {
        let entry = e("f1", Some(7));
        assert_eq!(IndexEntry::parse(&entry.to_json()), Some(entry));
    }
}
