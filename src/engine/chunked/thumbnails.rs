//! The thumbnail of a stored file: read back, made ([`super::thumbs`], pure), stored at
//! `t/{id}/0` under a record of its own (so that the open thumbnail route serves it as any
//! file), and its status recorded in the file's ledger object.

use super::thumbs::{self, NoThumb};
use super::{call, thumb_id};
use crate::engine::file::keys;
use crate::engine::file::record::{Extras, FileRecord, Vendor};
use crate::engine::ledger::twake::{Thumbnail, TwakeCall, TwakeFile};
use crate::engine::Ctx;
use crate::error::Result;
use crate::store::{BlobStore, Platform};

/// Makes the thumbnail of a one-chunk image under 50,000,000 bytes (`record`: the file as
/// stored); the status goes `waiting`, then `done` or `error`. Other files keep `done` and
/// no thumbnails.
pub async fn make<P: Platform>(
    ctx: &Ctx<'_, P>,
    uploads: &P::Objects,
    file: TwakeFile,
    record: &FileRecord,
) -> Result<TwakeFile> {
    let mime = file.metadata.as_ref().map(|m| m.mime.clone()).unwrap_or_default();
    if !thumbs::is_image(&mime) || record.size >= thumbs::MAX_SOURCE_BYTES {
        return Ok(file);
    }
    let set = |status: &str, list: Vec<Thumbnail>| TwakeCall::Thumbnails { status: status.into(), thumbnails: list };
    call(uploads, &file.company_id, &file.id, set("waiting", Vec::new())).await?;
    let bytes = ctx.blobs.get_bytes(&record.r2_key).await?.unwrap_or_default();
    let made = thumbs::thumbnail(&bytes, &mime);
    drop(bytes);
    let (status, list) = match made {
        Ok(t) => {
            let thumb = FileRecord {
                name: format!("{}.png", file.id),
                content_type: "image/png".into(),
                size: t.png.len() as u64,
                created_at: ctx.now(),
                extra: Extras { company_id: Some(file.company_id.clone()), ..Extras::default() },
                ..FileRecord::new(&thumb_id(&file.id, 0), &file.tenant, Vendor::Twake, &keys::thumbnail(&file.id, 0))
            };
            ctx.blobs.put(&thumb.r2_key, t.png, &thumb.blob_meta()).await?;
            let list = vec![Thumbnail {
                index: 0,
                id: thumb.name.clone(),
                kind: "image/png".into(),
                size: thumb.size,
                width: t.width,
                height: t.height,
            }];
            ("done", list)
        }
        Err(NoThumb::NotAnImage) => ("done", Vec::new()),
        Err(NoThumb::Failed(why)) => {
            let _ = why; // not logged per file: a user's picture is not an operator's error
            ("error", Vec::new())
        }
    };
    Ok(call(uploads, &file.company_id, &file.id, set(status, list)).await?.file)
}
