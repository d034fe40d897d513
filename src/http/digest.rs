//! Content digests as PortSIP clients send them: `<hex>` or `sha256:<hex>`, any case.

use crate::error::{Error, Result};

/// Lowercase sha256 hex from a PortSIP `digest`.
pub fn parse_sha256(value: &str) -> Result<String> {
    let v = value.trim();
    let hex_part = match v.split_once(':') {
        Some((alg, rest)) if alg.eq_ignore_ascii_case("sha256") => rest,
        Some(_) => return Err(Error::bad_request("only sha256 digests are accepted")),
        None => v,
    };
    if hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::bad_request("digest must be 64 hex digits of sha256"));
    }
    Ok(hex_part.to_ascii_lowercase())
}

/// Is this path segment a sha256 digest (as opposed to an opaque blob id)?
pub fn looks_like_sha256(s: &str) -> bool {
    parse_sha256(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_table() {
        let hex = "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882";
        let ok =
            [hex.to_string(), format!("sha256:{hex}"), format!("SHA256:{}", hex.to_uppercase()), format!(" {hex} ")];
        for v in ok {
            assert_eq!(parse_sha256(&v).unwrap(), hex, "{v}");
        }
        for bad in [
            "",
            "sha256:",
            "md5:84d8",
            &hex[..63],
            &format!("{hex}0"),
            &format!("sha512:{hex}"),
            &format!("{}g", &hex[..63]),
        ] {
            assert_eq!(parse_sha256(bad).unwrap_err().status(), 400, "{bad}");
        }
        assert!(!looks_like_sha256("NzAwNTUxOTA5NzczMTQ4MTYw"));
    }
}
