//! A chunk's request as Twake's client sends it: resumable.js's parameters, from the query
//! only ([`chunk_info`]), and a multipart form whose `file` part is the chunk ([`chunk`]),
//! streamed to [`crate::engine::chunked::stage`] as it is read.

use super::auth::Caller;
use crate::dialect::{form, Request, Service};
use crate::engine::chunked::stage::{self, Written};
use crate::engine::chunked::FileRef;
use crate::engine::file::limits;
use crate::engine::file::record::content_type_or_guess;
use crate::engine::ledger::twake::{ChunkInfo, TwakeFile};
use crate::engine::upload::calls::ByteStream;
use crate::error::{Error, Result};
use crate::http::disposition::last_path_segment;
use crate::store::Platform;

/// The first of several query names present (resumable.js's, the snake_case ones, the seed's).
fn query(req: &Request<'_>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| req.head.query_param(n)).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn number(req: &Request<'_>, names: &[&str], default: u64) -> Result<u64> {
    match query(req, names) {
        None => Ok(default),
        Some(v) if v == "undefined" || v == "null" => Ok(default),
        Some(v) => {
            crate::http::range::digits(&v).ok_or_else(|| Error::bad_request(format!("{} must be a number", names[0])))
        }
    }
}

/// The chunk's parameters, from the query only (resumable.js sends them in the form too).
pub fn chunk_info(
    req: &Request<'_>,
    part_name: Option<&str>,
    part_type: Option<&str>,
    privileged: bool,
) -> Result<ChunkInfo> {
    let small = |v: u64| u32::try_from(v).map_err(|_| Error::bad_request("chunk numbers must be below 2^32"));
    let name = query(req, &["resumableFilename", "filename"]).or_else(|| part_name.map(str::to_string));
    let name = last_path_segment(name.as_deref().unwrap_or("file")).to_string();
    let name = if name.is_empty() { "file".to_string() } else { name };
    limits::check_name(&name)?;
    let declared = query(req, &["resumableType", "type"]).or_else(|| part_type.map(str::to_string));
    Ok(ChunkInfo {
        number: small(number(req, &["resumableChunkNumber", "chunk_number", "chunkNumber"], 1)?)?,
        total_chunks: small(number(req, &["resumableTotalChunks", "total_chunks", "totalChunks"], 1)?)?,
        total_size: number(req, &["resumableTotalSize", "total_size", "total_Size", "totalSize"], 0)?,
        mime: content_type_or_guess(declared.as_deref(), &name),
        name,
        privileged,
        chunk_size: Some(number(req, &["resumableChunkSize", "chunk_size", "chunkSize"], 0)?).filter(|c| *c > 0),
    })
}

/// Reads a chunk (the form's `file` field) and lands it; the engine assembles the file if this
/// chunk completed it. `Ok(None)`: the form had no file (an empty init, when `init_ok`).
pub async fn chunk<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    who: &Caller,
    cid: &str,
    id: &str,
    body: ByteStream,
    init_ok: bool,
) -> Result<Option<TwakeFile>> {
    let ctx = svc.ctx;
    let max = ctx.config.max_file_size;
    let head = req.head;
    let Some(boundary) = form::boundary(head) else {
        // an empty init, under whatever content type
        return if init_ok {
            Ok(None)
        } else {
            Err(Error::bad_request("a chunk is a multipart form with a `file` part"))
        };
    };
    form::check_length(head, max)?;
    let mut parts = form::open(body, boundary, "file", max, ctx.config.max_request_body);
    let file = FileRef { id, company: cid, tenant: &who.tenant, user: &who.user };
    // the chunk as it arrived: the whole file, held, or its length in its staging object
    let mut landed: Option<(ChunkInfo, Written)> = None;
    let read = async {
        loop {
            let next = parts.next_field().await;
            // an empty body under a multipart type is an init too
            let field = match next {
                Ok(f) => f,
                Err(_) if init_ok && landed.is_none() && head.content_length().unwrap_or(0) == 0 => None,
                Err(e) => return Err(form::form_error(e, max)),
            };
            let Some(mut field) = field else { return Ok(()) };
            if field.name() != Some("file") || landed.is_some() {
                form::skip(&mut field, max).await?;
                continue;
            }
            let part_name = field.file_name().map(str::to_string);
            let part_type = field.content_type().map(|m| m.essence_str().to_string());
            let info = chunk_info(req, part_name.as_deref(), part_type.as_deref(), who.privileged)?;
            info.check(max)?;
            let stream = form::stream(&mut field, max);
            let written = stage::write(ctx, &file, &info, head.content_length(), stream).await?;
            landed = Some((info, written));
        }
    }
    .await;
    if let Err(e) = read {
        // a form that failed after its file: nothing of the file is kept
        if let Some((info, written)) = &landed {
            stage::discard(ctx, id, info.number, written).await;
        }
        return Err(e);
    }
    let Some((info, written)) = landed else {
        return if init_ok { Ok(None) } else { Err(Error::bad_request("file missing")) };
    };
    stage::land(ctx, svc.objects, &file, info, written).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Tenant;
    use crate::config::MIB;
    use crate::dialect::twake::tests::{get, jwt, multipart, post, res, CID};
    use crate::dialect::twake::{delete_file, PREFIX};
    use crate::engine::file::keys;
    use crate::route::Method;
    use crate::testkit::{World, ACME_JWT_SECRET};
    use serde_json::{json, Value};
    use sha2::{Digest, Sha256};

    /// 13 chunks of unequal sizes (the last the largest, as resumable.js cuts), sent shuffled,
    /// one twice: one R2 object of equal parts and the right sha256.
    #[test]
    fn chunks_in_any_order_make_one_object_of_equal_parts() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let c = 1_290_555usize; // 13 chunks of ~1.2 MiB: staged, then assembled
        let size = 12 * c + c + 777;
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let init = res(&post(
            &w,
            &format!("/companies/{CID}/files?filename=big.bin&type=application/octet-stream&total_size={size}"),
            &me,
            Vec::new(),
        ));
        assert_eq!(
            (init["metadata"].clone(), init["upload_data"].clone(), init["thumbnails"].clone()),
            (Value::Null, Value::Null, json!([]))
        );
        let id = init["id"].as_str().unwrap().to_string();
        let chunk_of = |k: usize| if k == 13 { &data[12 * c..] } else { &data[(k - 1) * c..k * c] };
        let send = |k: usize| {
            let q = format!(
                "resumableChunkNumber={k}&resumableTotalChunks=13&resumableTotalSize={size}&resumableFilename=big.bin"
            );
            post(
                &w,
                &format!("/companies/{CID}/files/{id}?{q}"),
                &me,
                multipart("blob", "application/octet-stream", chunk_of(k)),
            )
        };
        for k in [7, 2, 13, 1, 9, 4, 4, 11, 3, 6, 12, 10, 5] {
            assert_eq!(res(&send(k))["id"], id.as_str());
            assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 409, "incomplete");
        }
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 409, "chunk 8 is missing");
        let r = World::json(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None));
        assert_eq!(r, json!({"statusCode": 409, "error": "Conflict", "message": "Upload incomplete"}));
        let last = res(&send(8));
        assert_eq!(last["upload_data"], json!({"size": size, "chunks": 13}));
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        assert_eq!(hex::encode(Sha256::digest(w.body(&dl))), hex::encode(Sha256::digest(&data)));
        let parts = w.blobs.part_sizes.borrow()[&keys::object(&id)].clone();
        assert!(
            parts.len() >= 3 && parts[..parts.len() - 1].iter().all(|p| *p == parts[0] && *p as u64 >= 5 * MIB),
            "{parts:?}"
        );
        assert!((1..=13).all(|k| w.blobs.object(&keys::staged_chunk(&id, k)).is_none()), "staging objects deleted");
        assert_eq!(last["metadata"]["thumbnails_status"], "done");
        assert_eq!(last["thumbnails"], json!([]), "chunked files get no thumbnails");
    }

    /// Chunks of a size that is a multiple of a part size (as Twake's web client cuts, here
    /// 10 MiB = 2 × 5 MiB), the client saying it (`resumableChunkSize`): each goes straight
    /// into its own parts of one multipart upload, in any order, the last completes it; no
    /// staging object, no read-back; the sha256 is the file's. A chunk of the wrong length is
    /// `400`; a completion whose answer was lost (its digest failing after R2 took it) is
    /// finished by the retry; a file deleted while uploading aborts its upload.
    #[test]
    fn chunks_of_a_part_multiple_go_straight_into_parts() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let c = 10 * MIB as usize;
        let size = 2 * c + 7 * MIB as usize + 5;
        let data: Vec<u8> = (0..size).map(|i| (i * 13 % 251) as u8).collect();
        let new_id = || {
            let r = post(&w, &format!("/companies/{CID}/files?filename=d.bin&total_size={size}"), &me, Vec::new());
            res(&r)["id"].as_str().unwrap().to_string()
        };
        let chunk_of = |k: usize| if k == 3 { &data[2 * c..] } else { &data[(k - 1) * c..k * c] };
        let send = |id: &str, k: usize, bytes: &[u8]| {
            let q = format!(
                "resumableChunkNumber={k}&resumableChunkSize={c}&resumableTotalChunks=3&resumableTotalSize={size}&resumableFilename=d.bin"
            );
            post(&w, &format!("/companies/{CID}/files/{id}?{q}"), &me, multipart("d.bin", "x/y", bytes))
        };
        let hook = json!({"url": "https://hooks.example/in", "events": ["file.created"]}).to_string();
        let auth = [("Authorization", crate::testkit::ACME_BEARER), ("Content-Type", "application/json")];
        assert_eq!(w.send(Method::Post, "/v1/webhooks", &auth, hook.into_bytes()).status(), 201);
        let id = new_id();
        assert_eq!(send(&id, 3, chunk_of(3)).status(), 200);
        assert_eq!(send(&id, 2, &chunk_of(2)[1..]).status(), 400, "a chunk one byte short");
        assert_eq!(send(&id, 1, chunk_of(1)).status(), 200);
        assert_eq!(send(&id, 1, chunk_of(1)).status(), 200, "re-sent");
        assert!(w.blobs.object(&keys::object(&id)).is_none(), "not complete yet");
        w.blobs.faults.fail("put", 1); // R2 completed the upload; the record's put fails
        assert_eq!(send(&id, 2, chunk_of(2)).status(), 503);
        // the retry finds the object whole; the digest read after its answer fails
        w.blobs.faults.fail("sha256", 1);
        let last = res(&send(&id, 2, chunk_of(2)));
        assert_eq!(last["upload_data"], json!({"size": size, "chunks": 3}));
        let sha_of = || {
            let listed = futures_executor::block_on(w.ctx().list_files("acme", None)).unwrap();
            listed.files.iter().find(|f| f.id == id).expect("listed at once").sha256.clone()
        };
        assert_eq!(sha_of(), "", "listed before its digest is known");
        assert_eq!(
            futures_executor::block_on(w.ctx().usage("acme")).unwrap().files,
            1,
            "counted once, its reservation kept as the journal"
        );
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        assert_eq!(w.body(&dl), data);
        let parts = w.blobs.part_sizes.borrow()[&keys::object(&id)].clone();
        assert_eq!(
            parts,
            vec![
                5 * MIB as usize,
                5 * MIB as usize,
                5 * MIB as usize,
                5 * MIB as usize,
                5 * MIB as usize,
                2 * MIB as usize + 5
            ]
        );
        assert!((1..=3).all(|k| w.blobs.object(&keys::staged_chunk(&id, k)).is_none()), "nothing staged");
        assert_eq!(w.blobs.multiparts.get(), 1, "one multipart upload: no assembly");
        // deleted while uploading: its upload is aborted, a late chunk is 404
        let gone = new_id();
        assert_eq!(send(&gone, 1, chunk_of(1)).status(), 200);
        let aborts = w.blobs.aborts.get();
        futures_executor::block_on(delete_file(&Service { ctx: &w.ctx(), objects: w.uploads() }, "acme", CID, &gone))
            .unwrap();
        assert_eq!(w.blobs.aborts.get(), aborts + 1);
        assert_eq!(send(&gone, 2, chunk_of(2)).status(), 404);
        assert!(w.blobs.objects.borrow().keys().all(|k| !k.contains(&gone)), "nothing of it left");
        // the account's alarm reads it once the reservation lapses
        w.advance(crate::engine::REQUEST_RESERVATION_MS + 1);
        w.fire_account_alarms();
        let sha = hex::encode(Sha256::digest(&data));
        assert_eq!(sha_of(), sha);
        // its webhooks hear of it once, with its digest
        let created: Vec<Value> =
            w.fetch.sent.borrow().iter().map(|(_, _, b)| serde_json::from_str(b).unwrap()).collect();
        let created: Vec<&Value> = created.iter().filter(|e| e["type"] == "file.created").collect();
        assert_eq!(created.len(), 1, "{created:?}");
        assert_eq!(created[0]["data"]["sha256"], sha.as_str());
    }

    /// Chunks of any sizes (the last short, one smaller than the rest), one re-sent with the
    /// same bytes, one missing until the end: the parts are still equal.
    #[test]
    fn chunks_of_unequal_sizes_and_a_short_last_one() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let sizes = [3 * MIB as usize, MIB as usize, 6 * MIB as usize + 17, 4 * MIB as usize, 1000];
        let total: usize = sizes.iter().sum();
        let data: Vec<u8> = (0..total).map(|i| (i * 7 % 253) as u8).collect();
        let id =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let starts: Vec<usize> = sizes
            .iter()
            .scan(0, |acc, s| {
                let st = *acc;
                *acc += s;
                Some(st)
            })
            .collect();
        let send = |k: usize| {
            let q = format!("chunk_number={k}&total_chunks=5&total_size={total}&filename=u.bin");
            let bytes = &data[starts[k - 1]..starts[k - 1] + sizes[k - 1]];
            post(
                &w,
                &format!("/companies/{CID}/files/{id}?{q}"),
                &me,
                multipart("u.bin", "application/octet-stream", bytes),
            )
        };
        for k in [5, 1, 3, 1, 2] {
            assert_eq!(send(k).status(), 200);
        }
        assert_eq!(get(&w, &format!("/companies/{CID}/files/{id}/download"), None).status(), 409, "chunk 4 is missing");
        assert!(w.blobs.object(&keys::object(&id)).is_none(), "nothing assembled yet");
        assert_eq!(res(&send(4))["upload_data"], json!({"size": total, "chunks": 5}));
        let dl = get(&w, &format!("/companies/{CID}/files/{id}/download"), None);
        assert_eq!(w.body(&dl), data);
        let parts = w.blobs.part_sizes.borrow()[&keys::object(&id)].clone();
        assert_eq!(parts.iter().sum::<usize>(), total);
        assert!(parts[..parts.len() - 1].iter().all(|p| *p == parts[0]), "{parts:?}");
        assert!(*parts.last().unwrap() <= parts[0]);
    }

    /// A form that fails after its file (a text field past its limit): 400, and nothing of the
    /// file is kept, neither a whole file's object nor a chunk's staging object.
    #[test]
    fn a_form_failing_after_its_file_keeps_nothing() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let data = vec![7u8; 6 * MIB as usize]; // past one part: written as it arrives
        let mut body = multipart("a.bin", "x/y", &data);
        body.truncate(body.len() - b"--TB--\r\n".len());
        body.extend_from_slice(b"--TB\r\nContent-Disposition: form-data; name=\"extra\"\r\n\r\n");
        body.extend_from_slice(&[b'x'; 9000]);
        body.extend_from_slice(b"\r\n--TB--\r\n");
        for q in ["", "?chunk_number=1&total_chunks=2"] {
            let id =
                res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
            let r = post(&w, &format!("/companies/{CID}/files/{id}{q}"), &me, body.clone());
            assert_eq!(r.status(), 400, "{q}: {r:?}");
            assert!(w.blobs.objects.borrow().is_empty(), "{q}: nothing kept");
            assert_eq!(res(&get(&w, &format!("/companies/{CID}/files/{id}"), Some(&me)))["upload_data"], Value::Null);
        }
    }

    /// R2 fails the assembly's completion: the chunk that completed the set hears 503, the
    /// client's retry of it assembles the file.
    #[test]
    fn a_failed_assembly_is_done_by_the_retry() {
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        let c = 3 * MIB as usize;
        let data: Vec<u8> = (0..4 * c).map(|i| (i % 249) as u8).collect();
        let id =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let send = |k: usize| {
            let q = format!("chunk_number={k}&total_chunks=4&total_size={}&filename=r.bin", data.len());
            post(
                &w,
                &format!("/companies/{CID}/files/{id}?{q}"),
                &me,
                multipart("r.bin", "x/y", &data[(k - 1) * c..k * c]),
            )
        };
        for k in 1..=3 {
            assert_eq!(send(k).status(), 200);
        }
        w.blobs.faults.fail("complete", 1);
        assert_eq!(send(4).status(), 503);
        assert!(w.blobs.object(&keys::object(&id)).is_none());
        assert_eq!(send(4).status(), 200, "the retry assembles it");
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None)), data);
        // and a retry whose answer was lost after that: the same file, nothing overwritten
        let again = res(&send(4));
        assert_eq!(again["upload_data"], json!({"size": data.len(), "chunks": 4}));
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id}/download"), None)), data);
        // a failure then a download: the download assembles it
        let id2 =
            res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let q = "chunk_number=1&total_chunks=2&total_size=6&filename=s.bin";
        assert_eq!(
            post(&w, &format!("/companies/{CID}/files/{id2}?{q}"), &me, multipart("s", "x/y", b"abc")).status(),
            200
        );
        w.blobs.faults.fail("get", 1); // the assembly reading the staged chunks back
        let q = "chunk_number=2&total_chunks=2&total_size=6&filename=s.bin";
        assert_eq!(
            post(&w, &format!("/companies/{CID}/files/{id2}?{q}"), &me, multipart("s", "x/y", b"def")).status(),
            503
        );
        assert_eq!(w.body(&get(&w, &format!("/companies/{CID}/files/{id2}/download"), None)), b"abcdef");
    }

    /// A chunked file reserves room for its declared total before its first chunk is staged:
    /// refused whole (`413`, nothing staged) past the quota, settled when it is assembled.
    #[test]
    fn chunked_files_reserve_their_total_before_staging() {
        let w = World::new();
        futures_executor::block_on(
            w.ctx()
                .set_quota("acme", crate::engine::catalog::account::Quota { max_bytes: Some(8), ..Default::default() }),
        )
        .unwrap();
        let me = jwt(ACME_JWT_SECRET, "u1", &w);
        let new_id =
            || res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
        let big = new_id();
        let q = "chunk_number=1&total_chunks=2&total_size=12&filename=b.bin";
        let r = post(&w, &format!("/companies/{CID}/files/{big}?{q}"), &me, multipart("b", "x/y", b"abcdef"));
        assert_eq!(r.status(), 413, "12 bytes where 8 are allowed");
        assert!(w.blobs.objects.borrow().is_empty(), "nothing staged");
        let id = new_id();
        for (k, part) in [(1, &b"abc"[..]), (2, &b"def"[..])] {
            let q = format!("chunk_number={k}&total_chunks=2&total_size=6&filename=s.bin");
            assert_eq!(
                post(&w, &format!("/companies/{CID}/files/{id}?{q}"), &me, multipart("s", "x/y", part)).status(),
                200
            );
        }
        let usage = futures_executor::block_on(w.ctx().usage("acme")).unwrap();
        assert_eq!((usage.bytes, usage.files, usage.uploads_in_progress), (6, 1, 0), "settled at assembly");
    }

    /// A chunk whose file is deleted while it arrives (after its request found the file,
    /// before the chunk landed) keeps nothing: neither a staging object nor a whole file.
    #[test]
    fn a_chunk_landing_after_its_file_is_gone_keeps_nothing() {
        use crate::dialect::Head;
        use crate::route::Params;
        use crate::store::Platform;
        use crate::testkit::Memory;
        let w = World::new();
        let me = jwt(ACME_JWT_SECRET, "u", &w);
        for total in [3, 1] {
            let id =
                res(&post(&w, &format!("/companies/{CID}/files"), &me, Vec::new()))["id"].as_str().unwrap().to_string();
            let body = multipart("m", "x/y", b"0123456789");
            let headers = vec![
                ("Content-Type".to_string(), "multipart/form-data; boundary=TB".to_string()),
                ("Content-Length".to_string(), body.len().to_string()),
            ];
            let query = format!("chunk_number=1&total_chunks={total}&total_size=10&filename=m.bin");
            let head = Head::new(Method::Post, &format!("{PREFIX}/companies/{CID}/files/{id}"), &query, headers);
            let params = Params(vec![("cid", CID.to_string()), ("id", id.clone())]);
            let req = Request {
                head: &head,
                method: Method::Post,
                params: &params,
                caller: None,
                origin: "https://e",
                acting: Default::default(),
            };
            let who = Caller { tenant: Tenant("acme".into()), user: "u".into(), privileged: false };
            let (ctx, uploads) = (w.ctx(), w.uploads());
            let svc = Service { ctx: &ctx, objects: uploads };
            let landed = futures_executor::block_on(async {
                delete_file(&svc, "acme", CID, &id).await.unwrap();
                chunk(&svc, &req, &who, CID, &id, Memory::read(body.into()), false).await
            });
            assert_eq!(landed.unwrap_err().status(), 404, "{total} chunks");
            assert!(w.blobs.objects.borrow().is_empty(), "{total} chunks: nothing left behind");
            let listed = futures_executor::block_on(w.ctx().list_files("acme", None)).unwrap();
            assert!(listed.files.iter().all(|f| f.id != id), "{total} chunks: not listed");
        }
    }
}
