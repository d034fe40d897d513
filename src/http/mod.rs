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
