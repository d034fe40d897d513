//! Chunks straight into R2 parts: a file whose chunk size is a multiple of a part size R2
//! accepts ([`Direct::plan`]) is one multipart upload, opened by its first chunk
//! ([`layout`]), each chunk written into its own numbered parts as it arrives ([`write()`]),
//! in any order and in parallel, and completed by the request that lands the last one
//! ([`complete`]): no staging object, no read-back of the bytes into wasm. The file's sha256,
//! which no chunk can compute alone (Twake does not need it to answer), is read once from the
//! completed object by the platform's native digest after the answer
//! ([`Ctx::publish_before_digest`]).

use bytes::Bytes;

use super::{call, new_file, whole_file, FileRef};
use crate::engine::ledger::twake::{ChunkInfo, Direct, Layout, TwakeCall, TwakeFile};
use crate::engine::upload::writer;
use crate::engine::{Ctx, Expiry, Held, HeldBody};
use crate::error::{Error, Result};
use crate::store::{BlobStore, MultipartRef, Platform, UploadedPart};

/// The layout of `file`, fixed by its first chunk: when this chunk (`info`) is the first and
/// says a chunk size that allows it, a multipart upload is opened and proposed; of chunks
/// racing to be first, one upload wins and the others' are aborted.
pub async fn layout<P: Platform>(ctx: &Ctx<'_, P>, file: &FileRef<'_>, info: &ChunkInfo) -> Result<Layout> {
    let (cid, id) = (file.company, file.id);
    if let Some(fixed) = call(ctx.objects, cid, id, TwakeCall::Layout { propose: None }).await?.file.layout {
        return Ok(fixed);
    }
    let plan = info
        .chunk_size
        .and_then(|c| Direct::plan(info.total_size, info.total_chunks, c, ctx.config.min_part_size))
        .filter(|_| info.total_size <= ctx.config.max_file_size);
    let Some((chunk, part)) = plan else {
        let propose = Some(Layout::Staged);
        return fixed(call(ctx.objects, cid, id, TwakeCall::Layout { propose }).await?.file.layout);
    };
    let template = new_file(file, &info.name, &info.mime, Some(info.total_size)).template();
    let mp = ctx.blobs.create_multipart(&template.r2_key, &template.blob_meta_with_sidecar()).await?;
    let mine =
        Direct { upload_id: mp.upload_id.clone(), total: info.total_size, chunks: info.total_chunks, chunk, part };
    let propose = Some(Layout::Direct(mine.clone()));
    let won = call(ctx.objects, cid, id, TwakeCall::Layout { propose }).await.map(|a| a.file.layout);
    if !matches!(&won, Ok(Some(Layout::Direct(d))) if *d == mine) {
        let _ = ctx.blobs.abort(&mp).await; // another chunk was first (or the file went)
    }
    fixed(won?)
}

fn fixed(layout: Option<Layout>) -> Result<Layout> {
    layout.ok_or_else(|| Error::Internal("twake file answered no layout".into()))
}

/// The multipart upload of a file laid out `d`.
fn upload_of(id: &str, d: &Direct) -> MultipartRef {
    MultipartRef { key: crate::engine::file::keys::object(id), upload_id: d.upload_id.clone() }
}

/// Writes chunk `info.number` of `file` into its parts: exactly the bytes the layout gives
/// it, else `400`. A chunk whose file was deleted meanwhile (its upload aborted) is `404`; one
/// re-sent once its upload was completed lands as it landed before.
pub async fn write<P: Platform, S>(
    ctx: &Ctx<'_, P>,
    file: &FileRef<'_>,
    d: &Direct,
    info: &ChunkInfo,
    body: S,
) -> Result<(u64, Vec<UploadedPart>)>
where
    S: futures_util::Stream<Item = Result<Bytes>> + Unpin,
{
    d.check(info)?;
    let (k, len) = (info.number, d.chunk_len(info.number));
    let wrong = Error::bad_request(format!("chunk {k} of this file is {len} bytes"));
    let mp = upload_of(file.id, d);
    match writer::write_parts(ctx.blobs, &mp, d.first_part(k), d.part, len, wrong, body).await {
        Ok(parts) => Ok((len, parts)),
        // the upload is gone: the file was deleted, or completed (a retried chunk whose
        // completion failed after R2 took it: its parts as they landed complete it)
        Err(e @ Error::Storage(_)) => match call(ctx.objects, file.company, file.id, TwakeCall::Peek).await {
            Err(gone @ Error::NotFound(_)) => Err(gone),
            Ok(a) if a.file.missing().is_empty() => {
                let landed = a.file.parts.iter().find(|(n, _)| *n == k).map(|(_, p)| p.clone());
                landed.map(|parts| (len, parts)).ok_or(e)
            }
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Completes `file`, all of whose chunks have landed in their parts: one R2 `complete` (or,
/// when an earlier completion took and its answer was lost, the object found whole), its
/// record (sidecar) and its publication, its digest left for after the answer; then the file
/// is finished in its ledger object. Any step may be repeated by the next request.
pub async fn complete<P: Platform>(ctx: &Ctx<'_, P>, file: TwakeFile, d: &Direct) -> Result<TwakeFile> {
    let mp = upload_of(&file.id, d);
    let info = match ctx.blobs.complete(&mp, file.all_parts()?).await {
        Ok(info) => info,
        Err(e) => match ctx.blobs.head(&mp.key).await? {
            Some(info) if info.size == d.total => info,
            _ => return Err(e),
        },
    };
    let template = whole_file(&file, info.size).template();
    let held = Held { template, mutable: false, size: info.size, sha256: String::new(), body: HeldBody::Sealed(info) };
    // Not `keep_file`: a failure here must not delete the object, whose parts are gone.
    let record = ctx.store_file(held, Expiry::Never).await?;
    ctx.publish_before_digest(&record).await?;
    let finished = TwakeCall::Finished { size: record.size, sha256: record.sha256 };
    Ok(call(ctx.objects, &file.company_id, &file.id, finished).await?.file)
}
