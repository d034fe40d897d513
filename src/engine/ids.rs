//! Identifiers and timestamps in the formats the vendors' clients expect.

/// A UUID v4 from 16 random bytes (the caller draws them from the OS random source).
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Is this a UUID in canonical lower- or upper-case form?
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Fresh random bytes from the platform's cryptographic source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the platform random source is available");
    b
}

/// `2024-05-02T10:00:00.000Z` from milliseconds since the epoch.
pub fn iso8601_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(is_uuid(&u));
        assert!(is_uuid("88e5905d-5d96-4750-ab3d-77a1ed26f569"));
        assert!(!is_uuid("88e5905d-5d96-4750-ab3d-77a1ed26f56"));
        assert!(!is_uuid("88e5905d_5d96-4750-ab3d-77a1ed26f569"));
        assert!(!is_uuid("../../../../../../../../../../../.."));
        assert_ne!(uuid_v4(random_bytes()), uuid_v4(random_bytes()));
    }

    #[test]
    fn iso8601_table() {
        let rows: &[(u64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (1_714_644_000_000, "2024-05-02T10:00:00.000Z"),
            (951_782_400_123, "2000-02-29T00:00:00.123Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        ];
        for (ms, want) in rows {
            assert_eq!(iso8601_ms(*ms), *want);
        }
    }
}
