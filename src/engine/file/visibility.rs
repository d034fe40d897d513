//! Who may read a file, by which route: one rule over the file record, used by every
//! download of every dialect. Anyone refused gets the same `404` as for a file that does
//! not exist, so ids and digests cannot be probed.

use super::record::{Access, FileRecord};
use crate::auth::Tenant;

/// The route a read comes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// NGCP's `GET /uploads/{id}`: the id is the credential.
    ShareLink,
    /// `GET /api/blobs/{digest or opaque id}`: credentials optional.
    Digest,
    /// Any route that names a file by its id and requires credentials (tus `GET /files/{id}`).
    Owner,
    /// A route open to anyone for the files of one dialect (Twake's downloads and thumbnails,
    /// which also check the company in the path).
    Open { dialect: &'static str },
}

/// May `caller` (authenticated, or `None`) read `file` by `via`?
pub fn may_read(file: &FileRecord, via: Via, caller: Option<&Tenant>) -> bool {
    let owner = caller.is_some_and(|t| t.0 == file.tenant);
    match via {
        Via::ShareLink => file.access() == Access::ShareLink,
        Via::Digest => owner || file.access() == Access::PublicDigest,
        Via::Owner => owner,
        Via::Open { dialect } => file.dialect == dialect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_visibility_table() {
        let file = |dialect: &str, access: Access| FileRecord::new("f", "acme", dialect, "k").with_access(access);
        let acme = Tenant("acme".into());
        let other = Tenant("bobco".into());
        use Access::*;
        // (file's dialect and access, route, caller, may read)
        let rows: Vec<(&str, Access, Via, Option<&Tenant>, bool)> = vec![
            // NGCP share links serve NGCP simple uploads to anyone, and nothing else to anyone
            ("ngcp", ShareLink, Via::ShareLink, None, true),
            ("ngcp", ShareLink, Via::ShareLink, Some(&other), true),
            ("tus", Private, Via::ShareLink, None, false),
            ("tus", Private, Via::ShareLink, Some(&acme), false),
            ("portsip", PublicDigest, Via::ShareLink, None, false),
            // digest URLs: PortSIP blobs to anyone, other files to their tenant only
            ("portsip", PublicDigest, Via::Digest, None, true),
            ("portsip", PublicDigest, Via::Digest, Some(&other), true),
            ("tus", Private, Via::Digest, None, false),
            ("tus", Private, Via::Digest, Some(&other), false),
            ("tus", Private, Via::Digest, Some(&acme), true),
            ("ngcp", ShareLink, Via::Digest, None, false),
            ("ngcp", ShareLink, Via::Digest, Some(&acme), true),
            // routes that need credentials: the owner only, whatever the file's access
            ("tus", Private, Via::Owner, Some(&acme), true),
            ("tus", Private, Via::Owner, Some(&other), false),
            ("tus", Private, Via::Owner, None, false),
            ("portsip", PublicDigest, Via::Owner, Some(&other), false),
            ("ngcp", ShareLink, Via::Owner, Some(&other), false),
        ];
        for (dialect, access, via, caller, want) in rows {
            assert_eq!(may_read(&file(dialect, access), via, caller), want, "{dialect} {access:?} {via:?} {caller:?}");
        }
    }

    #[test]
    fn older_records_take_their_dialects_access() {
        assert_eq!(FileRecord::new("f", "t", "ngcp", "k").access(), Access::ShareLink);
        assert_eq!(FileRecord::new("f", "t", "portsip", "k").access(), Access::PublicDigest);
        assert_eq!(FileRecord::new("f", "t", "tus", "k").access(), Access::Private);
    }
}
