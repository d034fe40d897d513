//! tus 1.0 headers: versions, offsets and lengths, `Upload-Metadata`, HTTP dates.

use base64::Engine;

use crate::error::{Error, Result};

pub const VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum";
/// What a browser may send (`Access-Control-Allow-Headers`): tusd's default list (so a
/// client that works against tusd works here: Uppy's `X-Request-ID`, the IETF draft's
/// `Upload-Complete` and `Upload-Draft-Interop-Version`, ...), and `Upload-Checksum`.
pub const REQUEST_HEADERS: &str = "Authorization, Origin, X-Requested-With, X-Request-ID, X-HTTP-Method-Override, \
Content-Type, Upload-Length, Upload-Offset, Tus-Resumable, Upload-Metadata, Upload-Defer-Length, Upload-Concat, \
Upload-Incomplete, Upload-Complete, Upload-Draft-Interop-Version, Upload-Checksum";
/// What a browser may read (`Access-Control-Expose-Headers`): tusd's default list, ours
/// (`Tus-Checksum-Algorithm`, `Upload-Expires`), and a download's `Content-Disposition` (the
/// file's name) and `ETag`.
pub const EXPOSED_HEADERS: &str = "Upload-Offset, Location, Upload-Length, Tus-Version, Tus-Resumable, Tus-Max-Size, \
Tus-Extension, Upload-Metadata, Upload-Defer-Length, Upload-Concat, Upload-Incomplete, Upload-Complete, \
Upload-Draft-Interop-Version, Tus-Checksum-Algorithm, Upload-Expires, Content-Disposition, ETag";

/// `Tus-Resumable` must name the version we speak (412 otherwise).
pub fn check_version(value: Option<&str>) -> Result<()> {
    match value.map(str::trim) {
        Some(VERSION) => Ok(()),
        _ => Err(Error::UnsupportedVersion),
    }
}

/// A non-negative integer header (`Upload-Offset`, `Upload-Length`); `name` is for the error.
pub fn parse_u64(value: &str, name: &str) -> Result<u64> {
    crate::http::range::digits(value.trim()).ok_or_else(|| Error::bad_request(format!("invalid {name}")))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (value optional). Returns the
/// decoded pairs; keys must be non-empty ASCII without spaces or commas and unique.
pub fn parse_metadata(value: &str) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut it = pair.split(' ').filter(|s| !s.is_empty());
        let key = it.next().ok_or_else(|| Error::bad_request("invalid Upload-Metadata"))?;
        if !key.bytes().all(|b| b.is_ascii_graphic()) || out.iter().any(|(k, _)| k == key) {
            return Err(Error::bad_request("invalid Upload-Metadata key"));
        }
        let val = match it.next() {
            None => String::new(),
            Some(v) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|_| Error::bad_request("Upload-Metadata value is not base64"))?;
                String::from_utf8_lossy(&raw).into_owned()
            }
        };
        if it.next().is_some() {
            return Err(Error::bad_request("invalid Upload-Metadata"));
        }
        out.push((key.to_string(), val));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_table() {
        let ok: &[(&str, &[(&str, &str)])] = &[
            (
                "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential",
                &[("filename", "world_domination_plan.pdf"), ("is_confidential", "")],
            ),
            (
                "filename dGVzdC50eHQ=, filetype dGV4dC9wbGFpbg==",
                &[("filename", "test.txt"), ("filetype", "text/plain")],
            ),
            ("", &[]),
            ("name w6lsw6ll", &[("name", "élée")]),
        ];
        for (input, want) in ok {
            let got = parse_metadata(input).unwrap();
            let want: Vec<(String, String)> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            assert_eq!(got, want, "{input}");
        }
        for bad in ["filename !!!", "a YQ== YQ==", "a YQ==,a YQ==", "\u{e9} YQ=="] {
            assert_eq!(parse_metadata(bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn numbers_and_versions() {
        assert_eq!(parse_u64("42", "Upload-Offset").unwrap(), 42);
        assert_eq!(parse_u64(" 0 ", "Upload-Offset").unwrap(), 0);
        for bad in ["-1", "", "1e3", "0x10", "99999999999999999999"] {
            assert_eq!(parse_u64(bad, "Upload-Offset").unwrap_err().status(), 400, "{bad}");
        }
        assert!(check_version(Some("1.0.0")).is_ok());
        assert_eq!(check_version(Some("0.2.2")).unwrap_err().status(), 412);
        assert_eq!(check_version(None).unwrap_err().status(), 412);
    }
}
