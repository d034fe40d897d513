//! Every storage key the service writes, built here and nowhere else: R2 objects (whose keys
//! follow from the id a client holds) and KV records, indexes and time-bucketed entries.

/// Milliseconds in one bucket of the time-bucketed keys.
pub const MINUTE_MS: u64 = 60_000;

/// The minute a time falls in, zero-padded so that keys sort by time.
pub fn minute(ms: u64) -> String {
    format!("{:010}", ms / MINUTE_MS)
}

/// R2: the object holding a file's bytes, named by the file's id alone.
pub fn object(id: &str) -> String {
    format!("f/{id}")
}

/// R2: the object of a file that always expires (NGCP's), under its own prefix so that an R2
/// lifecycle rule can delete what the sweep might miss without touching files kept for good.
pub fn expiring_object(id: &str) -> String {
    format!("{EXPIRING_PREFIX}{id}")
}
pub const EXPIRING_PREFIX: &str = "e/";

/// R2: a file's record, when it could not be in its object's metadata.
pub fn sidecar(id: &str) -> String {
    format!("m/{id}")
}

/// R2: a file's CRC-32, kept once a zip of it computed it (`{crc:08x} {size}`).
pub fn crc(id: &str) -> String {
    format!("z/{id}")
}

/// R2: chunk `k` of a Twake file, staged until the file is assembled.
pub fn staged_chunk(id: &str, k: u32) -> String {
    format!("c/{id}/{k}")
}

/// R2: thumbnail `index` of a file.
pub fn thumbnail(id: &str, index: u32) -> String {
    format!("t/{id}/{index}")
}

/// R2: the public pointer from a sha256 to the PortSIP blob it serves (strongly consistent,
/// so the digest URL works everywhere once `complete` answers).
pub fn public_digest(sha256: &str) -> String {
    format!("d/{sha256}")
}

/// A Durable Object: a tenant's account (its listing, usage, quota, expiry schedule and
/// digest index).
pub fn account(tenant: &str) -> String {
    format!("account:{tenant}")
}

/// KV: the tombstone of an expired file (its record, answering `410` for the grace period).
pub fn file(id: &str) -> String {
    format!("file:{id}")
}

/// KV: a tenant's `sha256 → file` index.
pub fn digest(tenant: &str, sha256: &str) -> String {
    format!("sha256:{tenant}:{sha256}")
}

/// KV (files stored before accounts; no longer written, deleted when such a file expires): a
/// tenant's listing of its files, one listed key per live file, by the id its dialect gave it.
pub fn listing(tenant: &str, list_id: &str) -> String {
    format!("{}{list_id}", listing_prefix(tenant))
}

/// The listing keys of one tenant (tenant names have no `:`).
pub fn listing_prefix(tenant: &str) -> String {
    format!("ls:{tenant}:")
}

/// KV (files stored before accounts; no longer written): the expiry index, one listed key per
/// expiring file in the minute it expires, which the hourly sweep goes through.
pub fn expiry(expires_at: u64, id: &str) -> String {
    format!("{}{}:{id}", EXPIRY_PREFIX, minute(expires_at))
}
pub const EXPIRY_PREFIX: &str = "exp:";

/// KV: the JWT secrets an operator set at run time, every tenant's, in the form of
/// `EDGESHARE_JWT_SECRETS` (one key: a JWT names no tenant, so every key is tried).
pub const RUNTIME_JWT_SECRETS: &str = "reg:jwt";
/// KV: the Twake companies an operator set at run time, in the form of
/// `EDGESHARE_TWAKE_COMPANIES`.
pub const RUNTIME_TWAKE_COMPANIES: &str = "reg:twake";

/// KV: a tenant's record in the run-time registry (its status, its keys without their
/// secrets), by its id (tenant names have no `:`).
pub fn tenant_record(tenant: &str) -> String {
    format!("reg:tenant:{tenant}")
}

/// KV: the listed key of a registry tenant (its status and creation time in its metadata), so
/// that the registry is listed with one KV list.
pub fn tenant_listed(tenant: &str) -> String {
    format!("{TENANT_LIST_PREFIX}{tenant}")
}
pub const TENANT_LIST_PREFIX: &str = "reg:list:";

/// KV: a registry key by what it hashes to (`scheme` its credential scheme's name, `sha256_hex`
/// the sha256 of the secret as presented): which tenant and key it is, for one read per
/// presented credential.
pub fn credential(scheme: &str, sha256_hex: &str) -> String {
    format!("reg:cred:{scheme}:{sha256_hex}")
}

/// The minute a time-bucketed key names.
pub fn minute_of(key: &str) -> Option<u64> {
    key.split(':').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_from_ids_and_sort_by_time() {
        let id = "88e5905d-5d96-4750-ab3d-77a1ed26f569";
        assert_eq!(object(id), format!("f/{id}"), "a download needs nothing but the id");
        assert_eq!(expiring_object(id), format!("e/{id}"), "files that always expire, for a lifecycle rule");
        assert_eq!(sidecar(id), format!("m/{id}"));
        assert_eq!(public_digest("ab"), "d/ab");
        assert_eq!((staged_chunk("i", 3), thumbnail("i", 0)), ("c/i/3".to_string(), "t/i/0".to_string()));
        assert_eq!(file("a"), "file:a");
        assert_eq!(digest("acme", "ab"), "sha256:acme:ab");
        assert_eq!(listing("acme", "x"), "ls:acme:x");
        assert!(listing("acme", "x").starts_with(&listing_prefix("acme")));
        assert!(!listing("acme2", "x").starts_with(&listing_prefix("acme")));
        let (early, late) = (expiry(59_999, "z"), expiry(60_000, "a"));
        assert_eq!(early, "exp:0000000000:z");
        assert!(early < late, "the index lists in time order");
        assert!(expiry(9_999_999_999_999, "a") > expiry(1_714_644_000_000, "a"));
        assert_eq!(minute_of(&late), Some(1));
        assert_eq!(tenant_record("acme"), "reg:tenant:acme");
        assert_eq!(tenant_listed("acme"), "reg:list:acme");
        assert!(tenant_listed("acme").starts_with(TENANT_LIST_PREFIX));
        assert_eq!(credential("bearer", "ab"), "reg:cred:bearer:ab");
    }
}
