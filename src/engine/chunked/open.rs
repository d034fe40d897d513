//! A Twake file for the open routes (download, thumbnails), which carry no tenant: found by
//! its id, and served only if its record is of this dialect, its company is the path's, and
//! its tenant owns that company ([`crate::config::Config::owns_company`]). A file with no
//! object yet is assembled first when its assembly is due, else `409` while chunks are
//! missing.

use super::{assembly, call, thumb_id, DIALECT, MISSING};
use crate::engine::file::keys;
use crate::engine::file::visibility::Via;
use crate::engine::ledger::twake::{Phase, TwakeCall, FILE_NOT_FOUND, UPLOAD_INCOMPLETE};
use crate::engine::{Ctx, Opened};
use crate::error::{Error, Result};
use crate::store::Platform;

/// The file of this dialect and company at `key`: served only if its tenant owns that
/// company.
async fn open_here<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    key: &str,
    cid: &str,
    fetch: bool,
) -> Result<Opened> {
    let opened = ctx.open_at(id, key, Via::Open { dialect: DIALECT }, None, MISSING, fetch).await?;
    let here = opened.record.extra.get("company_id").map(String::as_str) == Some(cid);
    if !here || !ctx.config.owns_company(&opened.record.tenant, cid) {
        return Err(Error::not_found(FILE_NOT_FOUND));
    }
    Ok(opened)
}

/// File `id` of company `cid` for its download (`fetch`: its body too); `409` while chunks
/// are missing.
pub async fn file<P: Platform>(ctx: &Ctx<'_, P>, uploads: &P::Objects, cid: &str, id: &str, fetch: bool) -> Result<Opened> {
    match open_here(ctx, id, &keys::object(id), cid, fetch).await {
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
                    open_here(ctx, id, &keys::object(id), cid, fetch).await
                }
                (false, Phase::Done { .. }) => Err(Error::not_found(FILE_NOT_FOUND)),
                (false, _) => Err(Error::Conflict(UPLOAD_INCOMPLETE.into())),
            }
        }
        Err(e) => Err(e),
    }
}

/// Thumbnail `index` of file `id` of company `cid` (`fetch`: its body too).
pub async fn thumbnail<P: Platform>(
    ctx: &Ctx<'_, P>,
    cid: &str,
    id: &str,
    index: u32,
    fetch: bool,
) -> Result<Opened> {
    open_here(ctx, &thumb_id(id, index), &keys::thumbnail(id, index), cid, fetch).await
}
