//! The platform's storage rules, in one place: what R2 and KV refuse (or do) whatever the
//! service asks. The in-memory stores ([`super::memory`]) enforce them so that host tests
//! fail where the real bindings would; the engine plans and checks against them (part sizes in
//! [`crate::engine::upload::plan`], a file's metadata in [`crate::engine::file::limits`], the listing
//! in [`crate::engine::catalog::listing`]). The service's own limits are in [`crate::config`] and
//! [`crate::engine::file::limits`].

/// R2: the smallest part of a multipart upload, but the last (every part but the last has
/// the same size).
pub const R2_MIN_PART: u64 = 5 * 1024 * 1024;

/// R2: the most parts of one multipart upload (part numbers 1 to this).
pub const R2_MAX_PARTS: u64 = 10_000;

/// R2: an object's metadata (custom keys and values, and the HTTP metadata), in bytes.
pub const R2_METADATA_BYTES: usize = 8192;

/// KV: a listed key's metadata (its JSON), in bytes.
pub const KV_METADATA_BYTES: usize = 1024;

/// KV: the shortest expiration TTL KV takes, in seconds from now.
pub const KV_MIN_TTL_SECS: u64 = 60;

/// KV's refusal of an expiration under [`KV_MIN_TTL_SECS`] (real KV answers `400`; its local
/// emulation takes any, so both stores of this crate check it themselves).
pub fn check_kv_ttl(ttl_secs: Option<u64>) -> crate::error::Result<()> {
    match ttl_secs {
        Some(t) if t < KV_MIN_TTL_SECS => {
            Err(crate::error::Error::Storage(format!("KV refuses an expiration under {KV_MIN_TTL_SECS} s")))
        }
        _ => Ok(()),
    }
}

/// KV: the most keys one list call returns.
pub const KV_LIST_PAGE: usize = 1000;
