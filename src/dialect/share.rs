//! A share link's own routes, `/s/{token}` (its page for browsers, its files as JSON, the
//! bytes of its one file or the zip of its many), `/s/{token}/files/{index}` (one of its
//! files) and `/s/{token}/zip` (all of them as one streamed zip). The token is the
//! credential; a password, where the link has one, comes as `X-Share-Password`,
//! `?password=` or the page's form field. A download counts once toward the link's limit,
//! whether it is one file or the zip of all; a page, the JSON list and `HEAD` do not count.

use futures_util::stream::StreamExt;
use serde_json::{json, Value};

use super::{download_reply, fetch_whole, form, Head, Reply, Request, Service};
use crate::auth::Tenant;
use crate::engine::file::ids::iso8601_ms;
use crate::engine::file::record::FileRecord;
use crate::engine::file::visibility::Via;
use crate::engine::ledger::link::LinkAnswer;
use crate::engine::ledger::link::{self, Link, LinkCall, LinkedFile, LINK_NOT_FOUND};
use crate::engine::ledger::{LedgerAnswer, LedgerCall, LedgerCalls};
use crate::engine::{throttle, Missing, Opened, Read};
use crate::error::{Error, Result};
use crate::http::disposition::DispositionKind;
use crate::http::download::{plan_download, BodyPlan, CachePolicy, DownloadAsk, Served};
use crate::http::range::Span;
use crate::route::{Method, PathParam};
use crate::store::{Body, Platform};

pub(super) const FILE_GONE: Missing = Missing { not_found: "file no longer available", expired: "file expired" };
/// Longest password form accepted.
const MAX_FORM: u64 = 4 * 1024;
/// Files opened at once for a list or a zip.
const OPEN_AT_ONCE: usize = 6;

/// Which of a link's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// `/s/{token}`: the page, the JSON list, or the bytes (one file's, or the zip of many).
    Link,
    /// `/s/{token}/files/{index}`.
    File,
    /// `/s/{token}/zip`.
    Zip,
}

/// What the client wants of `/s/{token}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Page,
    List,
    Bytes,
}

fn want(head: &Head, method: Method) -> Want {
    let accept = head.header("accept").unwrap_or("");
    if method != Method::Get || head.query_param("download").is_some() {
        Want::Bytes
    } else if accept.contains("text/html") {
        Want::Page
    } else if accept.contains("application/json") {
        Want::List
    } else {
        Want::Bytes
    }
}

/// `GET|HEAD|POST` of a link's routes.
pub async fn serve<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, body: Body<P>, what: Shared) -> Result<Reply> {
    let head = req.head;
    let token = req.params.get(PathParam::Token);
    let client = throttle::client_key(head.header("cf-connecting-ip"));
    let want = if what == Shared::Link { want(head, req.method) } else { Want::Bytes };
    let posted = req.method == Method::Post;
    let password = match req.method {
        Method::Post => {
            let raw = form::read_small(P::read(body), MAX_FORM).await?;
            Some(form_field(&raw, "password").unwrap_or_default())
        }
        _ => head.header("x-share-password").map(str::to_string).or_else(|| head.query_param("password")),
    };
    let result = answer(svc, req, token, password.clone(), &client, want, what).await;
    match result {
        // a browser that posted the password of a link of many files sees their page
        Err(e) if want == Want::Page || posted => Ok(super::share_page::error_page(&e, token)),
        other => other,
    }
}

async fn answer<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    token: &str,
    password: Option<String>,
    client: &str,
    want: Want,
    what: Shared,
) -> Result<Reply> {
    if !link::is_token(token) {
        return Err(Error::not_found(LINK_NOT_FOUND));
    }
    // every password tried costs a hash: at most so many per client address and minute
    if password.is_some() {
        throttle::password_attempt(svc.ctx.throttle, client).await?;
    }
    let index = match what {
        Shared::File => Some(parse_index(req.params.get(PathParam::Index))?),
        _ => None,
    };
    // the page's password form, for a link of many files: their page (not a download), each
    // download on it a form that posts the same password
    let posted = req.method == Method::Post && what == Shared::Link;
    // a page, the list and the headers alone are not downloads
    let count = want == Want::Bytes && req.method != Method::Head;
    let claim = LinkCall::Claim {
        password: password.clone(),
        count,
        client: Some(link::client_tag(client)),
        file: index,
        one_only: posted,
    };
    let link = link_call(svc, token, claim).await?;
    let files = link.files();
    let (want, count) = if posted && files.len() > 1 { (Want::Page, false) } else { (want, count) };
    let page_password = if posted { password } else { None };
    let owner = Tenant(link.tenant.clone());
    // its tenant hears of a download (of the file served, or the zip's first), from the
    // record the download opens
    let notify = count && link.notify;
    let through = Through { link: &link, token, notify };
    let method = if req.method == Method::Post { Method::Get } else { req.method };
    let single = files.len() == 1;
    match (want, what, index) {
        (_, Shared::File, Some(i)) => one_file(svc, req, &through, &files[i], &owner, method).await,
        (Want::Bytes, Shared::Link, _) if single => one_file(svc, req, &through, &files[0], &owner, method).await,
        (Want::Bytes, _, _) => {
            let opened = open_all(svc, files.iter().map(|f| (f.file_id.as_str(), f.r2_key.as_str())), &owner).await?;
            zip(svc, req, &through, opened, method).await
        }
        (Want::List, _, _) => {
            let opened = open_all(svc, files.iter().map(|f| (f.file_id.as_str(), f.r2_key.as_str())), &owner).await?;
            Ok(Reply::json(200, list_json(token, &link, &opened, req.origin, svc.ctx.now())))
        }
        (Want::Page, _, _) => {
            let opened = open_all(svc, files.iter().map(|f| (f.file_id.as_str(), f.r2_key.as_str())), &owner).await?;
            let records: Vec<(usize, FileRecord)> = opened.into_iter().map(|(i, o)| (i, o.record)).collect();
            let now = svc.ctx.now();
            Ok(super::share_page::page(&records, &link, req.origin, token, now, page_password.as_deref()))
        }
    }
}

/// The link a download is served through.
struct Through<'a> {
    link: &'a Link,
    token: &'a str,
    /// Does its tenant hear of this download?
    notify: bool,
}

/// A link's webhook events for a download of `record`, queued for after the answer.
fn note_download<P: Platform>(svc: &Service<'_, P>, through: &Through<'_>, record: &FileRecord) {
    if !through.notify {
        return;
    }
    let link = through.link;
    let data = link_event(link, through.token, record);
    let mut events = svc.ctx.later.1.borrow_mut();
    events.push((link.tenant.clone(), "link.downloaded".into(), data.clone()));
    if link.max_downloads == Some(link.downloads) {
        events.push((link.tenant.clone(), "link.used_up".into(), data));
    }
}

/// `{index}`: a file's place in its link, from 0.
fn parse_index(raw: &str) -> Result<usize> {
    let ok = !raw.is_empty() && raw.len() <= 4 && raw.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| raw.parse().ok()).flatten().ok_or_else(|| Error::not_found("no such file in this link"))
}

/// One file of a link, its bytes (the link's own validator: the file's, its digest, would
/// name its public URL).
async fn one_file<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    through: &Through<'_>,
    file: &LinkedFile,
    owner: &Tenant,
    method: Method,
) -> Result<Reply> {
    let read = fetch_whole(req.head, method);
    let mut opened =
        svc.ctx.open_at(&file.file_id, &file.r2_key, Via::Owner, Some(owner), FILE_GONE, read).await.map_err(gone)?;
    note_download(svc, through, &opened.record);
    opened.etag = link::link_etag(through.token, &opened.etag);
    let reply = download_reply(opened, req.head, method, CachePolicy::Private);
    Ok(reply.with_headers(&[("X-Robots-Tag", "noindex".into())]))
}

/// A file of a link that is not there any more: the link's, so `410`.
fn gone(e: Error) -> Error {
    match e {
        Error::NotFound(m) => Error::Expired(m),
        other => other,
    }
}

/// `owner`'s files (ids and objects) that are still there, with their place among them, a
/// few at a time; `410` if none is.
pub(super) async fn open_all<'f, P: Platform>(
    svc: &Service<'_, P>,
    files: impl IntoIterator<Item = (&'f str, &'f str)>,
    owner: &Tenant,
) -> Result<Vec<(usize, Opened)>> {
    let ctx = svc.ctx;
    let opened: Vec<(usize, Result<Opened>)> =
        futures_util::stream::iter(files.into_iter().enumerate())
            .map(|(i, (id, key))| async move {
                (i, ctx.open_at(id, key, Via::Owner, Some(owner), FILE_GONE, Read::Head).await)
            })
            .buffered(OPEN_AT_ONCE)
            .collect()
            .await;
    let mut live = Vec::with_capacity(opened.len());
    for (i, o) in opened {
        match o {
            Ok(o) => live.push((i, o)),
            Err(Error::NotFound(_) | Error::Expired(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if live.is_empty() {
        return Err(Error::Expired(FILE_GONE.not_found.into()));
    }
    Ok(live)
}

/// A link's files as JSON (`GET /s/{token}` with `Accept: application/json`).
fn list_json(token: &str, link: &Link, opened: &[(usize, Opened)], origin: &str, now: u64) -> Value {
    let files: Vec<Value> = opened
        .iter()
        .map(|(i, o)| {
            let r = &o.record;
            json!({
                "index": i,
                "id": r.list_id(),
                "name": crate::http::disposition::visible_name(&r.name),
                "size": r.size,
                "content_type": r.content_type,
                "e2ee": r.extra.e2ee,
                "url": format!("/s/{token}/files/{i}"),
            })
        })
        .collect();
    let zip_size = crate::engine::bundle::archive_of(opened.iter().map(|(_, o)| &o.record)).len();
    json!({
        "token": token,
        "url": format!("{origin}/s/{token}"),
        "state": link.state(now).as_str(),
        "expires_at": iso8601_ms(link.expires_at),
        "max_downloads": link.max_downloads,
        "downloads": link.downloads,
        "has_password": link.has_password,
        "files": files,
        "zip_url": format!("/s/{token}/zip"),
        "zip_size": zip_size,
    })
}

/// The zip of a link's files that are still there.
async fn zip<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    through: &Through<'_>,
    opened: Vec<(usize, Opened)>,
    method: Method,
) -> Result<Reply> {
    let files: Vec<(FileRecord, String)> = opened.into_iter().map(|(_, o)| (o.record, o.etag)).collect();
    if let Some((first, _)) = files.first() {
        note_download(svc, through, first);
    }
    let mut bundle = svc.ctx.bundle(&files).await?;
    // the link's own validator, keyed by its token as a single file's is
    bundle.etag = link::link_etag(through.token, &bundle.etag);
    let name = zip_name(&files);
    zip_reply(svc, req.head, method, bundle, &name).await
}

/// A bundle's download: status and headers as any download's, its bytes streamed.
pub(crate) async fn zip_reply<P: Platform>(
    svc: &Service<'_, P>,
    head: &Head,
    method: Method,
    mut bundle: crate::engine::bundle::Bundle,
    name: &str,
) -> Result<Reply> {
    let served = Served {
        name,
        content_type: "application/zip",
        size: bundle.archive.len(),
        etag: &bundle.etag.clone(),
        disposition: DispositionKind::Attachment,
        cache: CachePolicy::Private,
    };
    let ask = DownloadAsk {
        head: method == Method::Head,
        range: head.header("range"),
        if_none_match: head.header("if-none-match"),
        if_range: head.header("if-range"),
    };
    let mut plan = plan_download(&served, &ask);
    let span = match plan.body {
        BodyPlan::None => None,
        BodyPlan::Whole => Some(Span { start: 0, len: bundle.archive.len() }),
        BodyPlan::Part(span) => Some(span),
    };
    if let Some(span) = span {
        svc.ctx.crcs_for(&mut bundle, span).await?;
    }
    plan.headers.push(("X-Robots-Tag", "noindex".into()));
    Ok(Reply::Zip { plan, span, bundle: Box::new(bundle) })
}

/// `{first file's name} and N more.zip`, or the name of the one file's stem.
fn zip_name(files: &[(FileRecord, String)]) -> String {
    let first = files.first().map(|(r, _)| crate::http::disposition::visible_name(&r.name).to_string());
    let stem = first.as_deref().map(|n| n.rsplit_once('.').map_or(n, |(s, _)| s)).unwrap_or("files");
    match files.len() {
        0 | 1 => format!("{stem}.zip"),
        n => format!("{stem} and {} more.zip", n - 1),
    }
}

/// A field of an `application/x-www-form-urlencoded` body.
pub(super) fn form_field(raw: &[u8], name: &str) -> Option<String> {
    super::urlencoded_value(std::str::from_utf8(raw).ok()?, name)
}

/// A call to a link's object.
pub(super) async fn link_call<P: Platform>(svc: &Service<'_, P>, token: &str, call: LinkCall) -> Result<Link> {
    match svc.objects.ledger(&link::link_object(token), LedgerCall::Link(call)).await? {
        LedgerAnswer::Link(LinkAnswer::Link { link }) => Ok(link),
        other => Err(Error::Internal(format!("link object answered {other:?}"))),
    }
}

/// A call to a file's list of links.
pub(super) async fn tokens<P: Platform>(svc: &Service<'_, P>, list: &str, call: LinkCall) -> Result<Vec<String>> {
    match svc.objects.ledger(list, LedgerCall::Link(call)).await? {
        LedgerAnswer::Link(LinkAnswer::Tokens { tokens }) => Ok(tokens),
        LedgerAnswer::Link(LinkAnswer::Done) => Ok(Vec::new()),
        other => Err(Error::Internal(format!("links object answered {other:?}"))),
    }
}

/// A share link as its webhooks describe it: never its whole token (a capability), only
/// its first characters.
pub(super) fn link_event(link: &Link, token: &str, record: &FileRecord) -> Value {
    json!({
        "link": {
            "token_prefix": token.chars().take(6).collect::<String>(),
            "downloads": link.downloads,
            "max_downloads": link.max_downloads,
            "expires_at": iso8601_ms(link.expires_at),
        },
        "file": {"id": record.list_id(), "name": record.name, "size": record.size, "sha256": record.sha256},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::keys;
    use crate::route::Method::*;
    use crate::testkit::{World, ACME_BEARER, BOBCO_BEARER};
    use base64::Engine;

    const ACME: (&str, &str) = ("Authorization", ACME_BEARER);
    const JSON: (&str, &str) = ("Accept", "application/json");

    fn upload(w: &World, name: &str, bytes: &[u8], auth: &str) -> String {
        let len = bytes.len().to_string();
        let meta = format!("filename {}", base64::engine::general_purpose::STANDARD.encode(name));
        let headers = [
            ("Authorization", auth),
            ("Tus-Resumable", "1.0.0"),
            ("Upload-Length", &len),
            ("Upload-Metadata", &meta),
            ("Content-Length", &len),
            ("Content-Type", "application/offset+octet-stream"),
        ];
        let r = w.send(Post, "/files/", &headers, bytes.to_vec());
        assert_eq!(r.status(), 201, "{r:?}");
        r.header("Location").unwrap().rsplit('/').next().unwrap().to_string()
    }

    fn downloads(w: &World, token: &str) -> u64 {
        let r = w.send(Get, &format!("/s/{token}"), &[JSON], Vec::new());
        assert_eq!(r.status(), 200, "{r:?}");
        World::json(&r)["downloads"].as_u64().unwrap()
    }

    #[test]
    fn a_link_of_many_files_lists_them_serves_each_and_all_as_one_zip() {
        let w = World::new();
        let a = b"first file\n".to_vec();
        let b: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let c = b"same name, other bytes".to_vec();
        let ids = [
            upload(&w, "a.txt", &a, ACME_BEARER),
            upload(&w, "b.bin", &b, ACME_BEARER),
            upload(&w, "a.txt", &c, ACME_BEARER),
        ];
        let theirs = upload(&w, "x", b"bobco's", BOBCO_BEARER);
        // another tenant's file cannot be named
        let ask = serde_json::json!({"file_ids": [ids[0], theirs]}).to_string();
        assert_eq!(w.send(Post, "/v1/links", &[ACME], ask.into_bytes()).status(), 404);
        for bad in [serde_json::json!({}), serde_json::json!({"file_ids": []}), serde_json::json!({"file_ids": [1]})] {
            assert_eq!(w.send(Post, "/v1/links", &[ACME], bad.to_string().into_bytes()).status(), 400, "{bad}");
        }
        let ask = serde_json::json!({"file_ids": ids, "max_downloads": 4}).to_string();
        let r = w.send(Post, "/v1/links", &[ACME], ask.into_bytes());
        assert_eq!(r.status(), 201, "{r:?}");
        let made = World::json(&r);
        let token = made["token"].as_str().unwrap().to_string();
        assert_eq!(made["file_ids"], serde_json::json!(ids));

        // the list: not a download
        let list = World::json(&w.send(Get, &format!("/s/{token}"), &[JSON], Vec::new()));
        let names: Vec<&str> = list["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a.txt", "b.bin", "a.txt"]);
        assert_eq!(list["files"][1]["url"], format!("/s/{token}/files/1"));
        assert_eq!(list["downloads"], 0);

        // one file: counted
        let one = w.send(Get, &format!("/s/{token}/files/1"), &[], Vec::new());
        assert_eq!((one.status(), w.body(&one)), (200, b.clone()));
        assert_eq!(w.send(Get, &format!("/s/{token}/files/3"), &[], Vec::new()).status(), 404);
        assert_eq!(downloads(&w, &token), 1, "a missing index is not counted");

        // the zip's headers: not counted; its bytes: counted once, its length as announced
        let head = w.send(Head, &format!("/s/{token}/zip"), &[], Vec::new());
        assert_eq!(head.status(), 200);
        let len: u64 = head.header("Content-Length").unwrap().parse().unwrap();
        assert_eq!(len, list["zip_size"].as_u64().unwrap());
        assert_eq!(downloads(&w, &token), 1);
        let zip = w.send(Get, &format!("/s/{token}/zip"), &[], Vec::new());
        assert_eq!(zip.status(), 200);
        assert_eq!(zip.header("Content-Type"), Some("application/zip"));
        assert!(zip.header("Content-Disposition").unwrap().contains("a and 2 more.zip"), "{zip:?}");
        let bytes = w.body(&zip);
        assert_eq!(bytes.len() as u64, len);
        crate::http::zip::check_with_tools(
            &bytes,
            &[("a.txt", a.clone()), ("b.bin", b.clone()), ("a (1).txt", c.clone())],
            "link",
        );
        assert_eq!(downloads(&w, &token), 2);
        // the CRC-32s it computed are kept
        for id in &ids {
            assert!(w.blobs.object(&keys::crc(id)).is_some(), "{id}");
        }

        // a range resumes it, the same bytes; a range needing a CRC not kept reads the file first
        w.blobs.objects.borrow_mut().remove(&keys::crc(&ids[1]));
        let tail = w.send(Get, &format!("/s/{token}/zip"), &[("Range", "bytes=-200")], Vec::new());
        assert_eq!(tail.status(), 206);
        assert_eq!(w.body(&tail), bytes[bytes.len() - 200..]);
        assert!(w.blobs.object(&keys::crc(&ids[1])).is_some());
        let middle = w.send(Get, &format!("/s/{token}/zip"), &[("Range", "bytes=100-200099")], Vec::new());
        assert_eq!(w.body(&middle), bytes[100..200_100]);
        // each range a download: the fourth used the link up
        let listed = w.send(Get, &format!("/s/{token}"), &[JSON], Vec::new());
        assert_eq!(World::json(&listed)["error"]["message"], "download limit reached");
        assert_eq!(w.send(Get, &format!("/s/{token}/zip"), &[], Vec::new()).status(), 410, "used up");
    }

    /// Invented tokens and places: `404`, nothing counted, nothing written to the links' objects.
    #[test]
    fn invented_tokens_and_indexes_find_nothing() {
        let w = World::new();
        let ids = [upload(&w, "a.txt", b"aaa", ACME_BEARER), upload(&w, "b.txt", b"bbb", ACME_BEARER)];
        let ask = serde_json::json!({"file_ids": ids}).to_string();
        let token =
            World::json(&w.send(Post, "/v1/links", &[ACME], ask.into_bytes()))["token"].as_str().unwrap().to_string();
        let invented = "A".repeat(32);
        for path in [
            format!("/s/{invented}/zip"),
            format!("/s/{invented}/files/0"),
            format!("/s/{token}/files/2"),
            format!("/s/{token}/files/99999"),
            format!("/s/{token}/files/-1"),
            format!("/s/{}/zip", "x".repeat(5000)),
        ] {
            assert_eq!(w.send(Get, &path, &[], Vec::new()).status(), 404, "{path}");
        }
        assert!(w.ledger(&link::link_object(&invented)).entries.borrow().is_empty(), "no object state for a guess");
        assert_eq!(downloads(&w, &token), 0, "nothing counted");
        // another tenant's credentials change nothing of it
        let bob = [("Authorization", BOBCO_BEARER)];
        let more = serde_json::json!({"file_ids": [ids[0]]}).to_string();
        assert_eq!(
            w.send(Post, &format!("/v1/links/{invented}/files"), &[ACME], more.clone().into_bytes()).status(),
            404
        );
        assert_eq!(w.send(Post, "/v1/links", &bob, more.into_bytes()).status(), 404, "another tenant's file");
    }

    #[test]
    fn deleting_a_file_drops_it_from_its_links_and_the_last_revokes_them() {
        let w = World::new();
        let ids = [upload(&w, "a.txt", b"aaa", ACME_BEARER), upload(&w, "b.txt", b"bbb", ACME_BEARER)];
        let ask = serde_json::json!({"file_ids": [ids[0]]}).to_string();
        let token =
            World::json(&w.send(Post, "/v1/links", &[ACME], ask.into_bytes()))["token"].as_str().unwrap().to_string();
        // files added later, another tenant cannot add to it
        let more = serde_json::json!({"file_ids": [ids[1]]}).to_string();
        let bob = [("Authorization", BOBCO_BEARER)];
        assert_eq!(w.send(Post, &format!("/v1/links/{token}/files"), &bob, more.clone().into_bytes()).status(), 404);
        let r = w.send(Post, &format!("/v1/links/{token}/files"), &[ACME], more.into_bytes());
        assert_eq!(r.status(), 200, "{r:?}");
        assert_eq!(World::json(&r)["file_ids"], serde_json::json!(ids));
        // a link of one file serves its bytes at /s/{token}; of two, their zip
        let zip = w.send(Get, &format!("/s/{token}"), &[], Vec::new());
        assert_eq!(zip.header("Content-Type"), Some("application/zip"));

        assert_eq!(w.send(Delete, &format!("/v1/files/{}", ids[0]), &[ACME], Vec::new()).status(), 204);
        let list = World::json(&w.send(Get, &format!("/s/{token}"), &[JSON], Vec::new()));
        assert_eq!(list["files"].as_array().unwrap().len(), 1);
        assert_eq!(list["files"][0]["name"], "b.txt");
        let one = w.send(Get, &format!("/s/{token}"), &[], Vec::new());
        assert_eq!(w.body(&one), b"bbb");
        assert_eq!(w.send(Delete, &format!("/v1/files/{}", ids[1]), &[ACME], Vec::new()).status(), 204);
        assert_eq!(
            w.send(Get, &format!("/s/{token}"), &[JSON], Vec::new()).status(),
            410,
            "revoked with its last file"
        );
    }

    #[test]
    fn a_passworded_link_of_many_files_shows_its_page_to_the_posted_password() {
        let w = World::new();
        let ids = [upload(&w, "a.txt", b"aaa", ACME_BEARER), upload(&w, "b.txt", b"bbb", ACME_BEARER)];
        let ask = serde_json::json!({"file_ids": ids, "password": "pw"}).to_string();
        let token =
            World::json(&w.send(Post, "/v1/links", &[ACME], ask.into_bytes()))["token"].as_str().unwrap().to_string();
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let page = w.send(Post, &format!("/s/{token}"), &form, b"password=pw".to_vec());
        let Reply::Text { body, status, .. } = &page else { panic!("{page:?}") };
        assert_eq!(*status, 200);
        assert!(
            body.contains(&format!("action=\"/s/{token}/zip\"")) && body.contains("name=\"password\" value=\"pw\""),
            "{body}"
        );
        let got = w.send(Post, &format!("/s/{token}/files/1"), &form, b"password=pw".to_vec());
        assert_eq!(w.body(&got), b"bbb");
        let wrong = w.send(Post, &format!("/s/{token}/zip"), &form, b"password=no".to_vec());
        assert_eq!(wrong.status(), 403);
        let pw = [JSON, ("X-Share-Password", "pw")];
        assert_eq!(
            World::json(&w.send(Get, &format!("/s/{token}"), &pw, Vec::new()))["downloads"],
            1,
            "the page is not a download"
        );
    }

    #[test]
    fn indexes_are_small_decimal_numbers() {
        assert_eq!(parse_index("0").unwrap(), 0);
        assert_eq!(parse_index("17").unwrap(), 17);
        for bad in ["", "-1", "1e3", "99999", "x", " 1"] {
            assert!(matches!(parse_index(bad), Err(Error::NotFound(_))), "{bad}");
        }
    }
}
