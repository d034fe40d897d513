//! `Authorization` header parsing: `Basic` (RFC 7617) and `Bearer` (RFC 6750).

use base64::Engine;

/// A credential as presented by a client, before it is checked.
#[derive(Clone, PartialEq, Eq)]
pub enum Presented {
    Basic { user: String, password: String },
    Bearer(String),
}

// Never print what a client presented: it is a secret.
impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::Basic { .. } => f.write_str("Basic(<redacted>)"),
            Presented::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Parses an `Authorization` value. The scheme is case-insensitive; `None` for anything
/// malformed (the caller answers 401 as for a missing header).
pub fn parse_authorization(value: &str) -> Option<Presented> {
    let (scheme, rest) = value.trim().split_once(char::is_whitespace)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, password) = text.split_once(':')?;
        Some(Presented::Basic { user: user.into(), password: password.into() })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Presented::Bearer(rest.into()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> Option<Presented> {
        Some(Presented::Basic { user: u.into(), password: p.into() })
    }

    #[test]
    fn authorization_table() {
        let rows: Vec<(&str, Option<Presented>)> = vec![
            ("Basic Zm9vOmJhcg==", basic("foo", "bar")),
            ("basic   Zm9vOmJhcg==  ", basic("foo", "bar")),
            // myuser@example.com:mypass, as in the NGCP seed
            ("Basic bXl1c2VyQGV4YW1wbGUuY29tOm15cGFzcw==", basic("myuser@example.com", "mypass")),
            // a password may hold colons: only the first one splits
            ("Basic YTpiOmM=", basic("a", "b:c")),
            ("Basic Zm9v", None),
            ("Basic !!!", None),
            ("Basic", None),
            ("Bearer abc.def", Some(Presented::Bearer("abc.def".into()))),
            ("bearer abc", Some(Presented::Bearer("abc".into()))),
            ("Bearer ", None),
            ("Digest x", None),
            ("", None),
        ];
        for (input, want) in rows {
            assert_eq!(parse_authorization(input), want, "{input:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = parse_authorization("Basic Zm9vOmJhcg==").unwrap();
        assert!(!format!("{p:?}").contains("bar"));
        let p = Presented::Bearer("s3cret".into());
        assert!(!format!("{p:?}").contains("s3cret"));
    }
}
