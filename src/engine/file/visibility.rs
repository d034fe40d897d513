//! Who may read a file, by which route: one rule over the file record, used by every
//! download of every dialect. Anyone refused gets the same `404` as for a file that does
//! not exist, so ids and digests cannot be probed.

use super::record::{Access, FileRecord, Vendor};
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
    /// A route open to anyone for the files of one vendor (Twake's downloads and thumbnails,
    /// which also check the company in the path).
    Open { vendor: Vendor },
}

/// May `caller` (authenticated, or `None`) read `file` by `via`?
pub fn may_read(file: &FileRecord, via: Via, caller: Option<&Tenant>) -> bool {
    let owner = caller.is_some_and(|t| t.0 == file.tenant);
    match via {
        Via::ShareLink => file.access() == Access::ShareLink,
        Via::Digest => owner || file.access() == Access::PublicDigest,
        Via::Owner => owner,
        Via::Open { vendor } => file.vendor == vendor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_visibility_table() {
        let file = |vendor: Vendor, access: Access| FileRecord::new("f", "acme", vendor, "k").with_access(access);
        let acme = Tenant("acme".into());
        let other = Tenant("bobco".into());
        use Access::*;
        // (file's vendor and access, route, caller, may read)
        let rows: Vec<(Vendor, Access, Via, Option<&Tenant>, bool)> = vec![
            // NGCP share links serve NGCP simple uploads to anyone, and nothing else to anyone
            (Vendor::Ngcp, ShareLink, Via::ShareLink, None, true),
            (Vendor::Ngcp, ShareLink, Via::ShareLink, Some(&other), true),
            (Vendor::Tus, Private, Via::ShareLink, None, false),
            (Vendor::Tus, Private, Via::ShareLink, Some(&acme), false),
            (Vendor::Portsip, PublicDigest, Via::ShareLink, None, false),
            // digest URLs: PortSIP blobs to anyone, other files to their tenant only
            (Vendor::Portsip, PublicDigest, Via::Digest, None, true),
            (Vendor::Portsip, PublicDigest, Via::Digest, Some(&other), true),
            (Vendor::Tus, Private, Via::Digest, None, false),
            (Vendor::Tus, Private, Via::Digest, Some(&other), false),
            (Vendor::Tus, Private, Via::Digest, Some(&acme), true),
            (Vendor::Ngcp, ShareLink, Via::Digest, None, false),
            (Vendor::Ngcp, ShareLink, Via::Digest, Some(&acme), true),
            // routes that need credentials: the owner only, whatever the file's access
            (Vendor::Tus, Private, Via::Owner, Some(&acme), true),
            (Vendor::Tus, Private, Via::Owner, Some(&other), false),
            (Vendor::Tus, Private, Via::Owner, None, false),
            (Vendor::Portsip, PublicDigest, Via::Owner, Some(&other), false),
            (Vendor::Ngcp, ShareLink, Via::Owner, Some(&other), false),
        ];
        for (vendor, access, via, caller, want) in rows {
            assert_eq!(may_read(&file(vendor, access), via, caller), want, "{vendor:?} {access:?} {via:?} {caller:?}");
        }
    }

    #[test]
    fn older_records_take_their_dialects_access() {
        assert_eq!(FileRecord::new("f", "t", Vendor::Ngcp, "k").access(), Access::ShareLink);
        assert_eq!(FileRecord::new("f", "t", Vendor::Portsip, "k").access(), Access::PublicDigest);
        assert_eq!(FileRecord::new("f", "t", Vendor::Tus, "k").access(), Access::Private);
    }
}
