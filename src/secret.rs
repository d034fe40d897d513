//! Secrets as a type: upload tokens and other capabilities. Drawn from the platform's
//! random source, compared in constant time, never shown by `Debug` or `Display`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Fresh random bytes from the platform's cryptographic source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the platform random source is available");
    b
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A fresh secret of `N` random bytes (at least 16: 128 bits), base64url without padding.
    pub fn random<const N: usize>() -> Secret {
        const { assert!(N >= 16, "a secret has at least 128 bits") };
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<N>()))
    }

    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that hands it to its owner (a response header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with what a client presented.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).unwrap_u8() == 1
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_and_compare_exactly() {
        let s = Secret::random::<18>();
        assert_eq!(s.expose().len(), 24);
        assert!(!format!("{s:?}").contains(s.expose()));
        assert!(s.matches(s.expose()));
        assert!(!s.matches(&s.expose()[1..]));
        assert!(!s.matches(""));
        assert_ne!(Secret::random::<16>(), Secret::random::<16>());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Secret>(&json).unwrap(), s, "saved with the upload as a plain string");
    }
}
