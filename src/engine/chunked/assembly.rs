//! A file whose chunks have all landed, assembled into its one R2 object: the staged chunks,
//! read back in order a piece at a time, go through the streaming writer (equal R2 parts, the
//! whole-file sha256 as they pass) into the file's object; then the file is finished in its
//! ledger object and its staging objects deleted; a file laid out directly in parts is
//! completed instead ([`super::direct::complete`]). Should that fail, the file is released,
//! so that the client's retry (or any next request) assembles it.

use bytes::Bytes;

use super::{call, whole_file};
use crate::engine::file::keys;
use crate::engine::ledger::twake::{Layout, TwakeCall, TwakeFile};
use crate::engine::{Ctx, Expiry};
use crate::error::{Error, Result};
use crate::store::{BlobStore, Platform};

/// Staged chunks are read back this much at a time when the file is assembled.
const ASSEMBLY_PIECE: u64 = 4 << 20;

/// Assembles `file`, whose ledger object gave this request its assembly; released for the
/// next request if it fails.
pub async fn assemble<P: Platform>(ctx: &Ctx<'_, P>, uploads: &P::Objects, file: TwakeFile) -> Result<TwakeFile> {
    let (cid, id) = (file.company_id.clone(), file.id.clone());
    let assembled = match file.layout.clone() {
        Some(Layout::Direct(d)) => super::direct::complete(ctx, file, &d).await,
        _ => assemble_once(ctx, uploads, file).await,
    };
    if assembled.is_err() {
        let _ = call(uploads, &cid, &id, TwakeCall::Released).await;
    }
    assembled
}

async fn assemble_once<P: Platform>(ctx: &Ctx<'_, P>, uploads: &P::Objects, file: TwakeFile) -> Result<TwakeFile> {
    let lengths = file.chunk_lengths()?;
    let total: u64 = lengths.iter().map(|(_, l)| l).sum();
    let new = whole_file(&file, total);
    let blobs = ctx.blobs;
    let id = file.id.clone();
    let pieces = futures_util::stream::try_unfold((0usize, 0u64), move |(i, off)| {
        let (lengths, id) = (lengths.clone(), id.clone());
        async move {
            let (mut i, mut off) = (i, off);
            while i < lengths.len() && off >= lengths[i].1 {
                (i, off) = (i + 1, 0);
            }
            let Some(&(k, len)) = lengths.get(i) else { return Ok(None) };
            let want = ASSEMBLY_PIECE.min(len - off);
            let bytes = blobs.get_range(&keys::staged_chunk(&id, k), off, want).await?;
            let bytes = bytes
                .filter(|b| b.len() as u64 == want)
                .ok_or_else(|| Error::Storage(format!("staged chunk {k} is short")))?;
            Ok(Some((Bytes::from(bytes), (i, off + want))))
        }
    });
    let held = ctx.write_file(&new, Box::pin(pieces)).await?;
    let record = ctx.keep_file(held, Expiry::Never).await?;
    let done =
        call(uploads, &file.company_id, &file.id, TwakeCall::Finished { size: record.size, sha256: record.sha256 })
            .await?;
    for (k, _) in file.chunk_lengths()? {
        let _ = ctx.blobs.delete(&keys::staged_chunk(&file.id, k)).await;
    }
    Ok(done.file)
}
