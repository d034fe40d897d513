//! Identifiers and timestamps in the formats the vendors' clients expect.

use time::macros::format_description;
use time::OffsetDateTime;

/// A UUID v4 from 16 random bytes (the caller draws them from the OS random source).
pub fn uuid_v4(bytes: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string()
}

/// A fresh UUID v4.
pub fn new_uuid() -> String {
    uuid_v4(random_bytes())
}

/// Is this a UUID in canonical hyphenated form (any case)? Returns it in lowercase.
pub fn parse_uuid(s: &str) -> Option<String> {
    (s.len() == 36).then(|| uuid::Uuid::try_parse(s).ok()).flatten().map(|u| u.hyphenated().to_string())
}

pub use crate::secret::random_bytes;

/// Could this be an opaque blob id (PortSIP's base64 of a decimal number)? Only such ids are
/// looked up as file ids from a digest URL.
pub fn is_opaque_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'=')
}

fn utc(ms: u64) -> OffsetDateTime {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2024-05-02T10:00:00.000Z` from milliseconds since the epoch.
pub fn iso8601_ms(ms: u64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    utc(ms).format(&format).unwrap_or_default()
}

/// `2025-01-21T10:54:07.123000+00:00` (Python's `isoformat()` of an aware datetime, as
/// OpenTera shows times).
pub fn iso8601_micros(ms: u64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00");
    utc(ms).format(&format).unwrap_or_default()
}

/// `3 Dec 2026, 06:17 UTC`, for people.
pub fn human_utc(ms: u64) -> String {
    let format = format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC");
    utc(ms).format(&format).unwrap_or_default()
}

/// IMF-fixdate (RFC 9110 §5.6.7), as tus `Upload-Expires` wants: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(ms: u64) -> String {
    let format =
        format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    utc(ms).format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(parse_uuid(&u).as_deref(), Some(u.as_str()));
        assert_eq!(
            parse_uuid("88E5905D-5D96-4750-AB3D-77A1ED26F569").as_deref(),
            Some("88e5905d-5d96-4750-ab3d-77a1ed26f569")
        );
        for bad in [
            "88e5905d-5d96-4750-ab3d-77a1ed26f56",
            "88e5905d_5d96-4750-ab3d-77a1ed26f569",
            "88e5905d5d964750ab3d77a1ed26f569",
            "{88e5905d-5d96-4750-ab3d-77a1ed26f569}",
            "../../../../../../../../../../../..",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
        assert_ne!(new_uuid(), new_uuid());
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

    #[test]
    fn python_isoformat() {
        assert_eq!(iso8601_micros(1_714_644_000_123), "2024-05-02T10:00:00.123000+00:00");
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_714_644_000_999), "Thu, 02 May 2024 10:00:00 GMT");
    }
}
