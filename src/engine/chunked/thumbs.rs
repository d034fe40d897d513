//! Thumbnails of images (PNG, JPEG, GIF, WebP), made in the worker with the `image` crate:
//! the largest side at most 320 px, encoded as PNG. An image whose pixels would not fit the
//! memory budget is refused from its header alone, before anything is decoded, so that a
//! small file of a huge picture (20,000 × 20,000) is an `error` status, never a crash.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// Largest side of a thumbnail.
pub const MAX_SIDE: u32 = 320;
/// Memory the decoded pixels may take (RGBA, 4 bytes a pixel), well under the 128 MB an
/// isolate has, with the file itself beside it.
pub const DECODE_BUDGET: u64 = 48 << 20;
/// Only files smaller than this get thumbnails (Twake's rule).
pub const MAX_SOURCE_BYTES: u64 = 50_000_000;

/// A thumbnail: PNG bytes and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Why no thumbnail was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoThumb {
    /// Not an image type we make thumbnails of: no thumbnail, and that is fine.
    NotAnImage,
    /// An image that could not be read, or too large to decode.
    Failed(String),
}

/// Is this a content type we make thumbnails of?
pub fn is_image(mime: &str) -> bool {
    format_of(mime).is_some()
}

fn format_of(mime: &str) -> Option<ImageFormat> {
    match crate::http::media_type(mime).as_str() {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" | "image/jpg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// The thumbnail of an image file.
pub fn thumbnail(bytes: &[u8], mime: &str) -> Result<Thumb, NoThumb> {
    let declared = format_of(mime).ok_or(NoThumb::NotAnImage)?;
    let fail = |e: &dyn std::fmt::Display| NoThumb::Failed(e.to_string());
    let reader = || {
        let mut r = ImageReader::new(Cursor::new(bytes));
        // trust the bytes over the declared type, but only among the formats we decode
        let format =
            image::guess_format(bytes).ok().filter(|f| format_of(f.to_mime_type()).is_some()).unwrap_or(declared);
        r.set_format(format);
        let mut limits = Limits::default();
        limits.max_alloc = Some(DECODE_BUDGET);
        r.limits(limits);
        r
    };
    let (w, h) = reader().into_dimensions().map_err(|e| fail(&e))?;
    if u64::from(w) * u64::from(h) * 4 > DECODE_BUDGET {
        return Err(NoThumb::Failed(format!("{w} x {h} pixels do not fit the decoding budget")));
    }
    let image = reader().decode().map_err(|e| fail(&e))?;
    let small = if w > MAX_SIDE || h > MAX_SIDE { image.thumbnail(MAX_SIDE, MAX_SIDE) } else { image };
    let mut png = Vec::new();
    small.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).map_err(|e| fail(&e))?;
    Ok(Thumb { png, width: small.width(), height: small.height() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn encoded(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
        let img = ImageBuffer::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128u8]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn images_get_a_thumbnail_at_most_320_px() {
        for (format, mime) in [
            (ImageFormat::Png, "image/png"),
            (ImageFormat::Jpeg, "image/jpeg"),
            (ImageFormat::Gif, "image/gif"),
            (ImageFormat::WebP, "image/webp"),
        ] {
            let t = thumbnail(&encoded(800, 400, format), mime).unwrap();
            assert_eq!((t.width, t.height), (320, 160), "{mime}");
            let back = image::load_from_memory(&t.png).unwrap();
            assert_eq!((back.width(), back.height()), (320, 160), "{mime}: a PNG that decodes");
        }
        let small = thumbnail(&encoded(100, 50, ImageFormat::Png), "image/png").unwrap();
        assert_eq!((small.width, small.height), (100, 50), "never enlarged");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for b in bytes {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn huge_or_broken_images_fail_and_others_are_not_images() {
        // a 20,000 x 20,000 PNG header: refused from the header, nothing decoded
        let mut huge = encoded(1, 1, ImageFormat::Png);
        huge[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&huge[12..29]); // the IHDR chunk's type and data
        huge[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(thumbnail(&huge, "image/png"), Err(NoThumb::Failed(m)) if m.contains("20000 x 20000")));
        assert!(matches!(thumbnail(b"not a png", "image/png"), Err(NoThumb::Failed(_))));
        assert_eq!(thumbnail(b"%PDF", "application/pdf"), Err(NoThumb::NotAnImage));
        assert!(is_image("image/PNG") && !is_image("image/svg+xml"));
    }
}
