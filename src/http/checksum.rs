//! tus `Upload-Checksum: <algorithm> <base64 digest>` of one request body.

use base64::Engine;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The algorithms offered in `Tus-Checksum-Algorithm`.
pub const ALGORITHMS: &str = "sha1,sha256";

#[derive(Clone)]
pub enum Hasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

/// A running checksum of a body and the digest it must end with.
#[derive(Clone)]
pub struct Checksum {
    hasher: Hasher,
    expected: Vec<u8>,
}

impl std::fmt::Debug for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.hasher {
            Hasher::Sha1(_) => "Checksum(sha1)",
            Hasher::Sha256(_) => "Checksum(sha256)",
        })
    }
}

impl Checksum {
    /// Parses the header value. An unknown algorithm or a malformed digest is a 400.
    pub fn parse(value: &str) -> Result<Checksum> {
        let (alg, digest) =
            value.trim().split_once(' ').ok_or_else(|| Error::bad_request("malformed Upload-Checksum"))?;
        let expected = base64::engine::general_purpose::STANDARD
            .decode(digest.trim())
            .map_err(|_| Error::bad_request("Upload-Checksum digest is not base64"))?;
        let (hasher, len) = match alg.to_ascii_lowercase().as_str() {
            "sha1" => (Hasher::Sha1(Sha1::new()), 20),
            "sha256" => (Hasher::Sha256(Sha256::new()), 32),
            _ => return Err(Error::bad_request("unsupported checksum algorithm")),
        };
        if expected.len() != len {
            return Err(Error::bad_request("Upload-Checksum digest has the wrong length"));
        }
        Ok(Checksum { hasher, expected })
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.hasher {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    pub fn matches(self) -> bool {
        let got: Vec<u8> = match self.hasher {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        };
        got == self.expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_table() {
        // sha1("hello") and sha256("hello"), base64
        let rows: &[(&str, bool)] = &[
            ("sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=", true),
            ("SHA1 qvTGHdzF6KLavt4PO0gs2a6pQ00=", true),
            ("sha256 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", true),
            ("sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=", false),
        ];
        for (h, ok) in rows {
            let mut c = Checksum::parse(h).unwrap();
            c.update(b"hel");
            c.update(b"lo");
            assert_eq!(c.matches(), *ok, "{h}");
        }
        for bad in ["md5 XUFAKrxLKna5cZ2REBfFkg==", "sha1", "sha1 !!!", "sha256 qvTGHdzF6KLavt4PO0gs2a6pQ00=", ""] {
            assert_eq!(Checksum::parse(bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
