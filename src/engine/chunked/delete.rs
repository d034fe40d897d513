//! A Twake file deleted: its ledger object first, then its bytes, its staged chunks and its
//! thumbnails, only those that exist (never by the chunk count a client declared).

use super::{call, MISSING};
use crate::auth::Tenant;
use crate::engine::file::keys;
use crate::engine::file::visibility::Via;
use crate::engine::ledger::twake::{Layout, Phase, TwakeCall, TwakeFile};
use crate::engine::{Ctx, Read};
use crate::error::Result;
use crate::store::{BlobStore, MultipartRef, Platform};

/// Deletes file `id` of company `cid`, of `tenant` (its owner checked by the caller): its
/// object, then its bytes, staged chunks and thumbnails.
pub async fn delete_file<P: Platform>(
    ctx: &Ctx<'_, P>,
    uploads: &P::Objects,
    tenant: &str,
    cid: &str,
    id: &str,
) -> Result<()> {
    let file = call(uploads, cid, id, TwakeCall::Delete).await?.file;
    delete_bytes(ctx, tenant, &file).await;
    Ok(())
}

/// Deletes a file's object, its staged chunks and its thumbnails: only what exists, never by
/// the chunk count a client declared (the chunks recorded as landed; a chunk landing after
/// the file is gone removes its own staging object).
async fn delete_bytes<P: Platform>(ctx: &Ctx<'_, P>, tenant: &str, file: &TwakeFile) {
    let owner = Tenant(tenant.to_string());
    if let Ok(opened) = ctx.open(&file.id, Via::Owner, Some(&owner), MISSING, Read::Head).await {
        let _ = ctx.delete_file(&opened.record).await;
    }
    // an assembled file's staging objects went with its assembly; one still staging frees
    // the room its chunks reserved
    let staged = !matches!(file.phase, Phase::Done { .. });
    if staged {
        ctx.release(tenant, &file.id).await;
        if let Some(Layout::Direct(d)) = &file.layout {
            let mp = MultipartRef { key: keys::object(&file.id), upload_id: d.upload_id.clone() };
            let _ = ctx.blobs.abort(&mp).await;
            // completed but not yet recorded: the object has no record to be deleted by
            ctx.discard(&mp.key).await;
        }
    }
    for (k, _) in file.chunks.iter().filter(|_| staged) {
        let _ = ctx.blobs.delete(&keys::staged_chunk(&file.id, *k)).await;
    }
    for t in &file.thumbnails {
        let _ = ctx.blobs.delete(&keys::thumbnail(&file.id, t.index)).await;
    }
}
