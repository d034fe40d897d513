//! A Twake file for the open routes (download, thumbnails), which carry no tenant: found by
//! its id, and served only if its record is Twake's, its company is the path's, and
//! its tenant owns that company ([`crate::config::Config::owns_company`]). A file with no
//! object yet is assembled first when its assembly is due, else `409` while chunks are
//! missing.

use super::{assembly, call, thumb_id, MISSING};
use crate::engine::file::keys;
use crate::engine::file::record::Vendor;
use crate::engine::file::visibility::Via;
use crate::engine::ledger::twake::{Phase, TwakeCall, FILE_NOT_FOUND, UPLOAD_INCOMPLETE};
use crate::engine::{Ctx, Opened, Read};
use crate::error::{Error, Result};
use crate::store::Platform;

/// The Twake file of this company at `key`: served only if its tenant owns that
/// company.
async fn open_here<P: Platform>(ctx: &Ctx<'_, P>, id: &str, key: &str, cid: &str, read: Read) -> Result<Opened> {
    let opened = ctx.open_at(id, key, Via::Open { vendor: Vendor::Twake }, None, MISSING, read).await?;
    let here = opened.record.extra.company_id.as_deref() == Some(cid);
    if !here || !ctx.config.owns_company(&opened.record.tenant, cid) {
        return Err(Error::not_found(FILE_NOT_FOUND));
    }
    Ok(opened)
}

/// File `id` of company `cid` for its download (reading as `read` says); `409` while chunks
/// are missing.
pub async fn file<P: Platform>(
    ctx: &Ctx<'_, P>,
    uploads: &P::Objects,
    cid: &str,
    id: &str,
    read: Read,
) -> Result<Opened> {
    match open_here(ctx, id, &keys::object(id), cid, read).await {
        Ok(o) => Ok(o),
        Err(Error::NotFound(_)) => {
            // no object yet: an unfinished file (of a tenant owning the company) is 409, a
            // stale completion is taken over, anything else is 404
            let a = call(uploads, cid, id, TwakeCall::Peek).await?;
            if !ctx.config.owns_company(&a.file.tenant, cid) {
                return Err(Error::not_found(FILE_NOT_FOUND));
            }
            let a = match a.file.phase {
                Phase::Finishing { .. } => call(uploads, cid, id, TwakeCall::Get).await?,
                _ => a,
            };
            match (a.assemble, &a.file.phase) {
                (true, _) => {
                    assembly::assemble(ctx, uploads, a.file).await?;
                    open_here(ctx, id, &keys::object(id), cid, read).await
                }
                (false, Phase::Done { .. }) => Err(Error::not_found(FILE_NOT_FOUND)),
                (false, _) => Err(Error::Conflict(UPLOAD_INCOMPLETE.into())),
            }
        }
        Err(e) => Err(e),
    }
}

/// Thumbnail `index` of file `id` of company `cid` (reading as `read` says).
pub async fn thumbnail<P: Platform>(ctx: &Ctx<'_, P>, cid: &str, id: &str, index: u32, read: Read) -> Result<Opened> {
    open_here(ctx, &thumb_id(id, index), &keys::thumbnail(id, index), cid, read).await
}
