//! Rate limits per client address, for what a caller could otherwise make us do without
//! end (a share link's password is hashed with Argon2id; a credential the tenant registry
//! does not know costs a KV read). The count itself is the platform's
//! (the Workers rate-limiting binding: [`Throttle`]); what is counted, and under which key,
//! is decided here.

use futures_util::future::LocalBoxFuture;

use crate::error::{Error, Result};

/// A counter per key over a fixed window: `allow` counts one attempt and says whether it is
/// within the limit.
pub trait Throttle {
    fn allow<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<bool>>;
}

/// How long a client refused by the limit is told to wait, seconds (the binding's window).
pub const RETRY_AFTER_SECS: u64 = 60;

/// The client a request comes from, as rate limits and a link's wrong-password counts key
/// it: its address (`CF-Connecting-IP`, which Cloudflare sets and clients cannot), IPv6
/// addresses by their /64 (one subscriber's whole network). Anything unparsable is one
/// shared "unknown" client.
pub fn client_key(connecting_ip: Option<&str>) -> String {
    use std::net::IpAddr;
    match connecting_ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".into(),
    }
}

/// The key of a client's credentials that the tenant registry does not know (each cost a KV
/// read).
pub fn miss_key(client: &str) -> String {
    format!("auth:{client}")
}

/// The key of a client's password attempts (share links' and file requests').
pub fn password_key(client: &str) -> String {
    format!("pw:{client}")
}

/// Counts one password attempt of `client` (a share link's, a file request's: each costs an
/// Argon2id hash): `429` past the limit, where the platform has one.
pub async fn password_attempt(limit: Option<&dyn Throttle>, client: &str) -> Result<()> {
    match limit {
        Some(limit) if !limit.allow(&password_key(client)).await? => {
            Err(Error::TooManyRequests { retry_after: RETRY_AFTER_SECS })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_keyed_by_address_and_ipv6_by_network() {
        let rows: &[(Option<&str>, &str)] = &[
            (Some("203.0.113.7"), "203.0.113.7"),
            (Some(" 203.0.113.7 "), "203.0.113.7"),
            (Some("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64"),
            (Some("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64"),
            (Some("::ffff:198.51.100.1"), "198.51.100.1"),
            (Some("not an address"), "unknown"),
            (Some(""), "unknown"),
            (None, "unknown"),
        ];
        for (ip, want) in rows {
            assert_eq!(client_key(*ip), *want, "{ip:?}");
        }
        assert_eq!(password_key("203.0.113.7"), "pw:203.0.113.7");
        assert_eq!(miss_key("203.0.113.7"), "auth:203.0.113.7");
    }
}
