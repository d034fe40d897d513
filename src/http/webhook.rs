//! Standard Webhooks (<https://www.standardwebhooks.com/>): a message is signed with its
//! endpoint's secret (`whsec_` and the key in base64) as HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, sent as `webhook-signature: v1,<base64>`, so
//! that receivers check it with the convention's verifier libraries. Pure: no I/O.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a secret in the convention's form.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new endpoint secret: 32 random bytes, in the convention's form.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(crate::secret::random_bytes::<32>()))
}

/// The `webhook-signature` value of a message (`None` for a secret not in the convention's
/// form).
pub fn signature(secret: &str, id: &str, timestamp_secs: u64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp_secs}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The headers of a signed message.
pub fn headers(secret: &str, id: &str, timestamp_secs: u64, body: &str) -> Vec<(String, String)> {
    let mut out = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("webhook-id".to_string(), id.to_string()),
        ("webhook-timestamp".to_string(), timestamp_secs.to_string()),
    ];
    if let Some(sig) = signature(secret, id, timestamp_secs, body) {
        out.push(("webhook-signature".to_string(), sig));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convention's own example (standard-webhooks, libraries' shared test vector).
    #[test]
    fn signs_as_the_convention_s_test_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, id, 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(signature("not-a-secret", id, 1, body), None);
        assert!(new_secret().starts_with(SECRET_PREFIX) && new_secret() != new_secret());
    }
}
