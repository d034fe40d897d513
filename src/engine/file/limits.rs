//! The engine's own limits on a file, checked when a file or upload is created so that the
//! client hears a clear `400` at once rather than a failure at completion: its name, and its
//! record against what R2 will take as metadata. R2's and KV's rules themselves are in
//! [`crate::store::limits`].

use crate::error::{Error, Result};
use crate::store::limits::R2_METADATA_BYTES;
use crate::store::BlobMeta;

/// Longest file name, in bytes of UTF-8 (as most file systems allow).
pub const MAX_NAME_BYTES: usize = 255;
/// Longest tus `Upload-Metadata` kept and echoed back on `HEAD`.
pub const MAX_UPLOAD_METADATA: usize = 4096;

pub fn check_name(name: &str) -> Result<()> {
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::bad_request(format!("file name longer than {MAX_NAME_BYTES} bytes")));
    }
    Ok(())
}

/// Will R2 take the metadata of this file, however its record ends (created, digest known,
/// expiring)? Checked on the record as it is known before the bytes arrive.
pub fn check_record_meta(template: &super::record::FileRecord) -> Result<()> {
    let worst = super::record::FileRecord { created_at: 1, sha256: "0".repeat(64), ..template.clone() };
    check_blob_meta(&worst.expire_in(u32::MAX.into()).blob_meta())
}

pub fn check_blob_meta(meta: &BlobMeta) -> Result<()> {
    if meta.size() > R2_METADATA_BYTES {
        return Err(Error::bad_request(format!("file metadata larger than R2's {R2_METADATA_BYTES} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::record::{FileRecord, Vendor};

    fn blob_meta(tenant: &str, id: &str, name: &str, vendor: Vendor, content_type: &str) -> crate::store::BlobMeta {
        let r = FileRecord {
            name: name.into(),
            content_type: content_type.into(),
            ..FileRecord::new(id, tenant, vendor, "f/x")
        };
        r.expire_in(3600).blob_meta()
    }

    #[test]
    fn names_up_to_255_bytes() {
        assert!(check_name(&"a".repeat(255)).is_ok());
        assert_eq!(check_name(&"a".repeat(256)).unwrap_err().status(), 400);
        // bytes, not characters: 128 two-byte characters are 256 bytes
        assert!(check_name(&"é".repeat(127)).is_ok());
        assert_eq!(check_name(&"é".repeat(128)).unwrap_err().status(), 400);
    }

    #[test]
    fn metadata_within_r2s_limit() {
        let meta =
            blob_meta("acme", "88e5905d-5d96-4750-ab3d-77a1ed26f569", &"n".repeat(255), Vendor::Tus, "text/plain");
        assert!(check_blob_meta(&meta).is_ok());
        assert!(meta.size() < 400);
        let huge = blob_meta("acme", "id", &"n".repeat(9000), Vendor::Tus, "text/plain");
        assert_eq!(check_blob_meta(&huge).unwrap_err().status(), 400);
    }
}
