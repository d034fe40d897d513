//! Pure HTTP parsers and writers (and the HTML escaper): no I/O, no `worker::` types.

pub mod auth_header;
pub mod checksum;
pub mod content_range;
pub mod digest;
pub mod disposition;
pub mod download;
pub mod etag;
pub mod html;
pub mod purge;
pub mod range;
pub mod status;
pub mod tus;
pub mod webhook;
pub mod zip;

/// A media type's essence: `type/subtype`, lowercase, without parameters
/// (`Application/JSON; charset=utf-8` is `application/json`).
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn media_types_lose_their_parameters_and_case() {
        for (given, want) in [
            ("application/json", "application/json"),
            ("Application/JSON; charset=utf-8", "application/json"),
            (" image/png ;x=1", "image/png"),
            ("", ""),
        ] {
            assert_eq!(super::media_type(given), want, "{given:?}");
        }
    }
}
