//! Time-to-live and expiry. `now` is always a parameter (milliseconds since the epoch).

use crate::error::{Error, Result};
use crate::store::limits::KV_MIN_TTL_SECS;

/// Where a file stands against its expiry at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Live,
    Expired,
}

/// `expires_at` is the truth: KV's own expiration is only garbage collection.
pub fn liveness(expires_at_ms: Option<u64>, now_ms: u64) -> Liveness {
    match expires_at_ms {
        Some(t) if now_ms >= t => Liveness::Expired,
        _ => Liveness::Live,
    }
}

/// Parses a client's TTL in seconds: a positive integer, capped at `max`. A missing or
/// empty value takes `default`.
pub fn parse_ttl(value: Option<&str>, default: u64, max: u64) -> Result<u64> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default.min(max));
    };
    let ttl = crate::http::range::digits(v)
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::bad_request("ttl must be a positive integer number of seconds"))?;
    Ok(ttl.min(max))
}

/// The KV expiration TTL (seconds from now) for a record whose file expires at
/// `expires_at_ms`: the tombstone outlives the file by `grace`, and KV refuses less than 60 s.
pub fn kv_ttl_secs(expires_at_ms: u64, now_ms: u64, grace: u64) -> u64 {
    let until_expiry = expires_at_ms.saturating_sub(now_ms).div_ceil(1000);
    (until_expiry + grace).max(KV_MIN_TTL_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_table() {
        let rows: &[(Option<&str>, Result<u64>)] = &[
            (None, Ok(3600)),
            (Some(""), Ok(3600)),
            (Some("2"), Ok(2)),
            (Some(" 60 "), Ok(60)),
            (Some("604800"), Ok(604800)),
            (Some("999999999"), Ok(604800)),
            (Some("99999999999999999999999"), Err(Error::bad_request("x"))),
            (Some("0"), Err(Error::bad_request("x"))),
            (Some("-5"), Err(Error::bad_request("x"))),
            (Some("1.5"), Err(Error::bad_request("x"))),
            (Some("abc"), Err(Error::bad_request("x"))),
        ];
        for (input, want) in rows {
            let got = parse_ttl(*input, 3600, 604800);
            match want {
                Ok(v) => assert_eq!(got, Ok(*v), "{input:?}"),
                Err(_) => assert_eq!(got.unwrap_err().status(), 400, "{input:?}"),
            }
        }
    }

    #[test]
    fn liveness_is_decided_by_expires_at() {
        let t = 1_000_000;
        assert_eq!(liveness(Some(t), t - 1), Liveness::Live);
        assert_eq!(liveness(Some(t), t), Liveness::Expired);
        assert_eq!(liveness(Some(t), t + 1), Liveness::Expired);
        assert_eq!(liveness(None, u64::MAX), Liveness::Live);
    }

    #[test]
    fn kv_record_outlives_the_file_and_respects_the_floor() {
        // a 2 s TTL must not be shortened or broken by KV's 60 s minimum
        assert_eq!(kv_ttl_secs(2_000, 0, 0), 60);
        assert_eq!(kv_ttl_secs(2_000, 0, 604800), 604802);
        assert_eq!(kv_ttl_secs(3_600_000, 1_000, 10), 3599 + 10);
        assert_eq!(kv_ttl_secs(0, 5_000, 10), 60); // already expired
    }
}
