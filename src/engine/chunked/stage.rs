//! A chunk as it arrives: written as it is read ([`write()`]: a one-chunk file straight to its
//! object, held until its form has been read to its end; any other chunk, once the tenant's
//! account has room for the whole file, into its own parts of the file's multipart upload
//! when the file's layout is direct ([`super::direct`]), else to its staging object
//! `c/{id}/{k}`, streamed, a large one as a multipart object), dropped when its form
//! fails after it ([`discard`]), then landed ([`land`]): the file's ledger object records it
//! and says whether this request completes the file, which is then assembled or, a one-chunk
//! file, finished with its thumbnail.

use bytes::Bytes;

use super::{assembly, call, direct, new_file, thumbnails, FileRef};
use crate::engine::file::keys;
use crate::engine::ledger::twake::{ChunkInfo, Layout, TwakeCall, TwakeFile};
use crate::engine::upload::{plan::PartPlan, writer};
use crate::engine::{Ctx, Expiry, Held};
use crate::error::{Error, Result};
use crate::store::{BlobMeta, BlobStore, Platform, UploadedPart};

/// A chunk as it arrived: the whole file (held, stored once the form has been read to its
/// end), or its length in its staging object.
#[derive(Debug)]
pub enum Written {
    Whole(Box<Held>),
    Staged(u64),
    /// Its length and R2 parts (a direct layout).
    Parts(u64, Vec<UploadedPart>),
}

/// Writes chunk `info.number` of `file` from `body` as it arrives (`hint`: the request's
/// length): the whole file when it is the only chunk, else the chunk's staging object.
pub async fn write<P: Platform, S>(
    ctx: &Ctx<'_, P>,
    file: &FileRef<'_>,
    info: &ChunkInfo,
    hint: Option<u64>,
    body: S,
) -> Result<Written>
where
    S: futures_util::Stream<Item = Result<Bytes>> + Unpin,
{
    Ok(if info.total_chunks == 1 {
        // the whole file: straight to its object
        let new = new_file(file, &info.name, &info.mime, hint);
        Written::Whole(Box::new(ctx.write_file(&new, body).await?))
    } else {
        // room for the whole file (its declared total, or what is left) before any chunk of
        // it is staged: every chunk asks, the first reserves, the assembly settles it
        let template = new_file(file, &info.name, &info.mime, None).template();
        let total = Some(info.total_size).filter(|t| *t > 0);
        let until = ctx.now() + crate::engine::REQUEST_RESERVATION_MS;
        // (the journal: a file completed whose publication or digest was lost is finished by
        // the account's alarm)
        let room = ctx.reserve(&template, file.id, total, until, true).await?;
        let max = room.map_or(ctx.config.max_file_size, |r| r.min(ctx.config.max_file_size));
        match direct::layout(ctx, file, info).await? {
            Layout::Direct(d) => {
                let (len, parts) = direct::write(ctx, file, &d, info, body).await?;
                Written::Parts(len, parts)
            }
            Layout::Staged => Written::Staged(stage(ctx, file.id, info.number, hint, max, body).await?),
        }
    })
}

/// Writes chunk `k` to its staging object (streamed; a large chunk as a multipart object), at
/// most `max` bytes (the room its file has).
async fn stage<P: Platform, S>(ctx: &Ctx<'_, P>, id: &str, k: u32, hint: Option<u64>, max: u64, body: S) -> Result<u64>
where
    S: futures_util::Stream<Item = Result<Bytes>> + Unpin,
{
    let key = keys::staged_chunk(id, k);
    let meta = BlobMeta::default();
    let plan = PartPlan::new(hint.map(|h| h.min(max)), max, ctx.config.min_part_size)?;
    let fed = writer::write_held(ctx.blobs, &key, &meta, plan, max, ctx.whole_file_hash(), body).await?;
    if fed.sealed.is_none() {
        ctx.blobs.put(&key, fed.tail, &meta).await?;
    }
    Ok(fed.size)
}

/// Drops what chunk `k` of file `id` wrote, when its form failed after it: nothing of the
/// file is kept.
pub async fn discard<P: Platform>(ctx: &Ctx<'_, P>, id: &str, k: u32, written: &Written) {
    match written {
        Written::Whole(held) => ctx.drop_held(held).await,
        Written::Staged(_) => ctx.discard(&keys::staged_chunk(id, k)).await,
        // its parts are replaced by its retry, or go with the upload
        Written::Parts(..) => {}
    }
}

/// Lands a chunk written in full: a whole file is stored, the file's ledger object records
/// the chunk, and the request whose chunk completed the set finishes the file (a one-chunk
/// file with its thumbnail, any other by assembling it). A chunk whose file was deleted while
/// it arrived keeps nothing and answers `404`.
pub async fn land<P: Platform>(
    ctx: &Ctx<'_, P>,
    uploads: &P::Objects,
    file: &FileRef<'_>,
    info: ChunkInfo,
    written: Written,
) -> Result<TwakeFile> {
    let (cid, id) = (file.company, file.id);
    let (len, record) = match written {
        Written::Whole(held) => {
            let record = ctx.keep_file(*held, Expiry::Never).await?;
            (record.size, Some(record))
        }
        Written::Staged(len) => (len, None),
        Written::Parts(len, parts) => return land_parts(ctx, uploads, file, info, len, parts).await,
    };
    let k = info.number;
    let a = match call(uploads, cid, id, TwakeCall::Landed { info, len, parts: Vec::new() }).await {
        Ok(a) => a,
        Err(e @ Error::NotFound(_)) => {
            // the file was deleted while this chunk arrived: nothing will ever read it
            match &record {
                Some(record) => drop(ctx.delete_file(record).await),
                None => ctx.discard(&keys::staged_chunk(id, k)).await,
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    Ok(match (a.assemble, record) {
        (false, _) => a.file,
        (true, Some(record)) => {
            let done = call(uploads, cid, id, TwakeCall::Finished { size: record.size, sha256: record.sha256.clone() })
                .await?;
            thumbnails::make(ctx, uploads, done.file, &record).await?
        }
        (true, None) => assembly::assemble(ctx, uploads, a.file).await?,
    })
}

/// Lands a chunk written into its parts; the request whose chunk completed the set completes
/// the file's upload.
async fn land_parts<P: Platform>(
    ctx: &Ctx<'_, P>,
    uploads: &P::Objects,
    file: &FileRef<'_>,
    info: ChunkInfo,
    len: u64,
    parts: Vec<UploadedPart>,
) -> Result<TwakeFile> {
    let a = call(uploads, file.company, file.id, TwakeCall::Landed { info, len, parts }).await?;
    if a.assemble {
        assembly::assemble(ctx, uploads, a.file).await
    } else {
        Ok(a.file)
    }
}
