//! edgeshare's own API, under `/v1/` (a tenant's Basic or Bearer credentials): its files
//! whatever dialect uploaded them, and share links to them; and the links themselves at
//! `/s/{token}`: a small page for browsers, the bytes for everyone else. Errors are
//! `{"error": {"code", "message"}}` with the error's stable code.
//!
//! A file is named by the id its own dialect gave it (NGCP upload id, tus upload id, PortSIP
//! blob id, OpenTera asset uuid, Twake file id, IMiS object id, NGCP session file id).

use serde_json::{json, Value};

use super::share::{link_call, link_event, tokens, Shared};
use super::Op::Native;
use super::{form, Dialect, Head, Reply, Request, Service};
use crate::auth::Tenant;
use crate::engine::catalog::listing::Listed;
use crate::engine::file::ids::iso8601_ms;
use crate::engine::file::record::{Extras, FileRecord, Vendor};
use crate::engine::ledger::link::{
    self, Change, Kdf, Link, LinkCall, LinkChange, LinkState, LINK_NOT_FOUND, LINK_REVOKED,
};
use crate::error::{Error, Result};
use crate::route::{
    opt, row, Kind, Media, Param, PathParam, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD, JSON, RANGE_HEADERS,
};
use crate::secret::{random_bytes, Secret};
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Usage,
    ListFiles,
    DeleteFile,
    CreateLink,
    ListLinks,
    UpdateLink,
    RevokeLink,
    CreateLinkOf,
    AddLinkFiles,
    Share,
    ShareFile,
    ShareZip,
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Native,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row!(Get "/v1/usage", Native(Op::Usage), Tenant, None,
            "The tenant's usage and quota: `{\"bytes\", \"files\", \"uploads_in_progress\", \"reserved_bytes\",             \"quota\": {\"max_bytes\", \"max_files\", \"max_file_size\", \"max_uploads_in_progress\"}}` (`null`:             no limit). Exact: a file counts from the moment its upload answers."),
        row!(Get "/v1/files", Native(Op::ListFiles), Tenant, None,
            "The tenant's live files, whatever dialect uploaded them: `{\"files\": [...], \"cursor\"}`; pass \
            `?cursor=` for the next page.")
        .with(Spec::DEFAULT.query(&[opt("cursor", Kind::Str, "The `cursor` of the previous page.")])),
        row!(Delete "/v1/files/{id}", Native(Op::DeleteFile), Tenant, None,
            "Deletes a file (by the id its dialect gave it) and revokes its share links: 204.")
        .with(Spec::ok(&[(204, Media::Empty)]).errors(&[410])),
        row!(Post "/v1/files/{id}/links", Native(Op::CreateLink), Tenant, Read,
            "Creates a share link: JSON `{\"expires_in\", \"max_downloads\", \"password\"}`, all optional: 201.")
        .with(Spec::ok(&[(201, Media::Json)]).takes(JSON).errors(&[409, 410])),
        row!(Get "/v1/files/{id}/links", Native(Op::ListLinks), Tenant, None,
            "A file's share links: `{\"links\": [...]}`, each with its download count and its `state`: `active`, \
            `used_up` (its `max_downloads` made: `410`) or `expired` (`410`; listed until `EDGESHARE_GRACE` after its \
            expiry). Revoked links are not listed.")
        .with(Spec::DEFAULT.errors(&[410])),
        row!(Post "/v1/links", Native(Op::CreateLinkOf), Tenant, Read,
            "Creates a share link to several files at once: JSON `{\"file_ids\": [...], \"expires_in\",             \"max_downloads\", \"password\"}` (ids as `/v1/files` gives them, at most 200): 201 with the link and             its `file_ids`. `/s/{token}` then lists them, serves each at `/s/{token}/files/{index}` and all of them             as one zip at `/s/{token}/zip`.")
        .with(Spec::ok(&[(201, Media::Json)]).takes(JSON).errors(&[404, 409, 410])),
        row!(Post "/v1/links/{token}/files", Native(Op::AddLinkFiles), Tenant, Read,
            "Adds files to a share link: JSON `{\"file_ids\": [...]}`: 200 with the link. A revoked link stays             revoked (`410`).")
        .with(Spec::DEFAULT.takes(JSON).errors(&[404, 409, 410])),
        row!(Patch "/v1/links/{token}", Native(Op::UpdateLink), Tenant, Read,
            "Changes a share link: JSON `{\"expires_in\", \"max_downloads\", \"password\"}`, any of them, checked as \
            at creation (`expires_in` counts from now; `null` removes the limit or the password); its downloads are \
            kept: 200 with the link. A revoked link stays revoked (`410`).")
        .with(Spec::DEFAULT.takes(JSON).errors(&[410])),
        row!(Delete "/v1/links/{token}", Native(Op::RevokeLink), Tenant, None,
            "Revokes a share link: 204; it answers 410 from then on.")
        .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Get "/s/{token}", Native(Op::Share), RevocableCapability, None,
            "A share link: a page for browsers (`Accept: text/html`), its files as JSON for \
            `Accept: application/json` (`{\"files\": [{\"index\", \"name\", \"size\", \"content_type\", \"e2ee\", \
            \"url\"}], \"zip_url\", \"zip_size\", ...}`, not counted), else the bytes (counted; Range, ETag): its \
            one file's, or the zip of its files. `?download=1` always serves the bytes; a password as \
            `?password=` or `X-Share-Password`.")
        .with(Spec::ok(DOWNLOAD).query(SHARE_QUERY).headers(SHARE_HEADERS).errors(SHARE_ERRORS)),
        row!(Head "/s/{token}", Native(Op::Share), RevocableCapability, None, "A share link's headers (not counted).")
            .with(Spec::ok(DOWNLOAD_HEAD).query(SHARE_QUERY).headers(SHARE_HEADERS).errors(SHARE_ERRORS)),
        row!(Post "/s/{token}", Native(Op::Share), RevocableCapability, Read,
            "A share link's password as a form field (`password`, urlencoded, as the page posts it): the bytes of \
            its one file, or the page of its many.")
        .with(Spec::ok(&[(200, Media::Bytes), (206, Media::Bytes)]).takes(FORM).errors(SHARE_ERRORS)),
        row!(Get "/s/{token}/files/{index}", Native(Op::ShareFile), RevocableCapability, None,
            "One file of a share link, by its place in the link's list from 0 (counted; Range, ETag).")
        .with(Spec::ok(DOWNLOAD).query(SHARE_QUERY).headers(SHARE_HEADERS).errors(SHARE_ERRORS)),
        row!(Head "/s/{token}/files/{index}", Native(Op::ShareFile), RevocableCapability, None,
            "One file's headers (not counted).")
        .with(Spec::ok(DOWNLOAD_HEAD).query(SHARE_QUERY).headers(SHARE_HEADERS).errors(SHARE_ERRORS)),
        row!(Post "/s/{token}/files/{index}", Native(Op::ShareFile), RevocableCapability, Read,
            "One file, the password as a form field (the page's buttons).")
        .with(Spec::ok(&[(200, Media::Bytes), (206, Media::Bytes)]).takes(FORM).errors(SHARE_ERRORS)),
        row!(Get "/s/{token}/zip", Native(Op::ShareZip), RevocableCapability, None,
            "Every file of a share link still there, as one zip of stored entries, streamed (counted once; \
            `Content-Length` known in advance, Range, ETag; ZIP64 past 4 GiB; names made safe and unique).")
        .with(Spec::ok(DOWNLOAD).query(SHARE_QUERY).headers(SHARE_HEADERS).errors(SHARE_ERRORS)),
        row!(Head "/s/{token}/zip", Native(Op::ShareZip), RevocableCapability, None, "The zip's headers (not counted).")
            .with(Spec::ok(DOWNLOAD_HEAD).query(SHARE_QUERY).headers(SHARE_HEADERS).errors(SHARE_ERRORS)),
        row!(Post "/s/{token}/zip", Native(Op::ShareZip), RevocableCapability, Read,
            "The zip, the password as a form field (the page's button).")
        .with(Spec::ok(&[(200, Media::Bytes), (206, Media::Bytes)]).takes(FORM).errors(SHARE_ERRORS)),
    ],
};

const FORM: &[&str] = &["application/x-www-form-urlencoded"];
const SHARE_QUERY: &[Param] = &[
    opt("download", Kind::Str, "Any value: the bytes, even for a browser."),
    opt("password", Kind::Str, "The link's password."),
];
const SHARE_HEADERS: &[Param] =
    &[opt("X-Share-Password", Kind::Str, "The link's password."), RANGE_HEADERS[0], RANGE_HEADERS[1], RANGE_HEADERS[2]];
/// A share link refuses: no password (401), a wrong one or no such link when one is sent (403),
/// expired, revoked or used up (410), too many wrong passwords (429).
const SHARE_ERRORS: &[u16] = &[401, 403, 410, 416, 429];

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    match op {
        Op::Share => return super::share::serve(svc, req, body, Shared::Link).await,
        Op::ShareFile => return super::share::serve(svc, req, body, Shared::File).await,
        Op::ShareZip => return super::share::serve(svc, req, body, Shared::Zip).await,
        _ => {}
    }
    let tenant = req.tenant()?;
    match op {
        Op::Usage => Ok(Reply::json(200, usage_json(&svc.ctx.usage(&tenant.0).await?))),
        Op::ListFiles => list_files(svc, req, tenant).await,
        Op::DeleteFile => delete_file(svc, req, tenant).await,
        Op::CreateLink => create_link(svc, req, tenant, P::read(body), true).await,
        Op::ListLinks => list_links(svc, req, tenant).await,
        Op::UpdateLink => update_link(svc, req, tenant, P::read(body)).await,
        Op::RevokeLink => revoke_link(svc, req, tenant).await,
        Op::CreateLinkOf => create_link(svc, req, tenant, P::read(body), false).await,
        Op::AddLinkFiles => add_link_files(svc, req, tenant, P::read(body)).await,
        Op::Share | Op::ShareFile | Op::ShareZip => unreachable!("answered above"),
    }
}

/// `{"error": {"code", "message"}}` with the error's status. The challenge is `Bearer`, so
/// that a browser page that checks credentials never makes its browser pop up a login box.
pub fn error_reply(e: &Error) -> Reply {
    let mut headers = Vec::new();
    if matches!(e, Error::Unauthorized) {
        headers.push(("WWW-Authenticate", "Bearer realm=\"edgeshare\"".to_string()));
    }
    Reply::Json { status: e.status(), headers, body: json!({"error": {"code": e.code(), "message": e.message()}}) }
}

/// A file as the native API shows it.
pub fn file_json(l: &Listed) -> Value {
    json!({
        "id": l.list_id,
        "name": crate::http::disposition::visible_name(&l.name),
        "dialect": l.vendor,
        "size": l.size,
        "sha256": l.sha256,
        "content_type": l.content_type,
        "created_at": iso8601_ms(l.created_at),
        "expires_at": l.expires_at.map(iso8601_ms),
        "e2ee": l.e2ee,
        "label": l.label,
    })
}

/// A link as the native API shows it at `now`.
pub fn link_json(token: &str, link: &Link, origin: &str, now: u64) -> Value {
    json!({
        "token": token,
        "state": link.state(now).as_str(),
        "url": format!("{origin}/s/{token}"),
        "file_id": link.list_id,
        "file_ids": link.files().iter().map(|f| f.list_id.clone()).collect::<Vec<_>>(),
        "created_at": iso8601_ms(link.created_at),
        "expires_at": iso8601_ms(link.expires_at),
        "max_downloads": link.max_downloads,
        "downloads": link.downloads,
        "has_password": link.has_password,
    })
}

/// The `?cursor=` of a KV listing's next page: `400` for one no listing could have made.
pub(super) fn cursor_param(head: &Head) -> Result<Option<String>> {
    let cursor = head.query_param("cursor").filter(|c| !c.is_empty());
    if cursor.as_ref().is_some_and(|c| c.len() > 1024 || !c.bytes().all(|b| b.is_ascii_graphic())) {
        return Err(Error::bad_request("invalid cursor"));
    }
    Ok(cursor)
}

/// A KV listing's page: KV refuses a cursor it did not make, the caller's fault (`400`).
pub(super) fn listed_page<T>(page: Result<T>, cursor: Option<&str>) -> Result<T> {
    match page {
        Err(Error::Storage(_)) if cursor.is_some() => Err(Error::bad_request("invalid cursor")),
        other => other,
    }
}

async fn list_files<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &Tenant) -> Result<Reply> {
    let cursor = cursor_param(req.head)?;
    let page = listed_page(svc.ctx.list_files(&tenant.0, cursor.as_deref()).await, cursor.as_deref())?;
    let files: Vec<Value> = page.files.iter().map(file_json).collect();
    Ok(Reply::json(200, json!({"files": files, "cursor": page.cursor})))
}

/// The caller's file named in the path, and the name of its list of links.
async fn file_of<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
) -> Result<(FileRecord, String)> {
    let record = svc.ctx.find_owned(&tenant.0, req.params.get(PathParam::Id)).await?;
    let list = link::file_links_object(&tenant.0, &record.id);
    Ok((record, list))
}

async fn delete_file<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &Tenant) -> Result<Reply> {
    let (record, list) = file_of(svc, req, tenant).await?;
    // no new download starts once the answer is sent: its links first, then its bytes
    for token in tokens(svc, &list, LinkCall::Drop { tenant: tenant.0.clone() }).await? {
        let drop = LinkCall::DropFile { tenant: tenant.0.clone(), file_id: record.id.clone() };
        match link_call(svc, &token, drop).await {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if !deleted_by_dialect(svc, tenant, &record).await? {
        svc.ctx.delete_any(&record).await?;
    }
    Ok(Reply::Empty { status: 204, headers: Vec::new() })
}

/// Deletes a file through its own dialect where that dialect keeps state of its own beside
/// the file (an NGCP session's file entry and its tokens, a Twake file's object, chunks and
/// thumbnails), as its own `DELETE` does: `false` where it keeps none, or has forgotten the
/// file already (the engine then deletes what is left).
async fn deleted_by_dialect<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, record: &FileRecord) -> Result<bool> {
    let deleted = match (record.vendor, &record.extra) {
        (Vendor::NgcpSession, Extras { session_id: Some(sid), entry_id: Some(fid), .. }) => {
            super::ngcp::sessions::delete_entry(svc, tenant, sid, fid).await
        }
        (Vendor::Twake, Extras { company_id: Some(cid), .. }) => {
            super::twake::delete_file(svc, &tenant.0, cid, &record.id).await
        }
        _ => return Ok(false),
    };
    match deleted {
        Ok(()) => Ok(true),
        // the session (or the Twake file's object) is gone already
        Err(Error::NotFound(_) | Error::Expired(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What a client asks of a new link, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAsk {
    pub expires_in: u64,
    pub max_downloads: Option<u64>,
    pub password: Option<String>,
}

/// A password's stored form (a link's, a file request's), at the configured cost.
pub(super) fn hash(config: &crate::config::Config, password: &str) -> Result<String> {
    let kdf = Kdf { memory_kib: config.link_kdf_kib, passes: link::KDF.passes };
    link::hash_password(password, random_bytes(), kdf)
}

impl LinkAsk {
    /// When a link asked for at `now` ends: after its `expires_in`, and never after its file.
    pub fn expires_at(&self, now: u64, file: &FileRecord) -> u64 {
        now.saturating_add(self.expires_in.saturating_mul(1000)).min(file.expires_at.unwrap_or(u64::MAX))
    }

    /// Reads `{"expires_in", "max_downloads", "password"}` (each optional; `null` as absent).
    /// `expires_in` is capped at `max_ttl`.
    pub fn parse(fields: &serde_json::Map<String, Value>, default_ttl: u64, max_ttl: u64) -> Result<LinkAsk> {
        let positive = |name: &str, max: u64| -> Result<Option<u64>> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .filter(|n| (1..=max).contains(n))
                    .map(Some)
                    .ok_or_else(|| Error::bad_request(format!("{name} must be an integer from 1 to {max}"))),
            }
        };
        let expires_in = positive("expires_in", u64::MAX / 2000)?.unwrap_or(default_ttl).min(max_ttl);
        let max_downloads = positive("max_downloads", 1_000_000_000)?;
        let password = match fields.get("password") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if !p.is_empty() && p.len() <= link::MAX_PASSWORD => Some(p.clone()),
            Some(_) => {
                return Err(Error::bad_request(format!(
                    "password must be a string of 1 to {} bytes",
                    link::MAX_PASSWORD
                )))
            }
        };
        Ok(LinkAsk { expires_in, max_downloads, password })
    }
}

/// `POST /v1/files/{id}/links` (the file in the path) and `POST /v1/links` (the files
/// `file_ids` names).
async fn create_link<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    body: crate::engine::upload::calls::ByteStream,
    of_path: bool,
) -> Result<Reply> {
    let fields = form::small_json(body).await?;
    let ask = LinkAsk::parse(&fields, svc.ctx.config.link_ttl, svc.ctx.config.link_max_ttl)?;
    let records =
        if of_path { vec![file_of(svc, req, tenant).await?.0] } else { files_named(svc, tenant, &fields).await? };
    make_link(svc, req, tenant, ask, records).await
}

/// The caller's files `file_ids` names, each once, in order: `400` for no list or one too
/// long, `404` for a file that is not theirs.
async fn files_named<P: Platform>(
    svc: &Service<'_, P>,
    tenant: &Tenant,
    fields: &serde_json::Map<String, Value>,
) -> Result<Vec<FileRecord>> {
    let max = link::MAX_FILES_PER_LINK;
    let ids: Vec<&str> = match fields.get("file_ids") {
        Some(Value::Array(ids)) if !ids.is_empty() && ids.len() <= max => {
            ids.iter().map(|v| v.as_str().filter(|s| !s.is_empty() && s.len() <= 256)).collect::<Option<_>>()
        }
        _ => None,
    }
    .ok_or_else(|| Error::bad_request(format!("file_ids must be a list of 1 to {max} file ids")))?;
    let mut records: Vec<FileRecord> = Vec::with_capacity(ids.len());
    for id in ids {
        let record = svc.ctx.find_owned(&tenant.0, id).await?;
        if !records.iter().any(|r| r.id == record.id) {
            records.push(record);
        }
    }
    Ok(records)
}

/// A new link to `records` (one or more): listed with each file, so that deleting a file
/// drops it from the link (and revokes the link with its last file).
async fn make_link<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    ask: LinkAsk,
    records: Vec<FileRecord>,
) -> Result<Reply> {
    let ctx = svc.ctx;
    let now = ctx.now();
    let first = records.first().ok_or_else(|| Error::bad_request("a link needs a file"))?;
    // a link never outlives its files (the longest-lived of them)
    let expires_at = records.iter().map(|r| ask.expires_at(now, r)).max().unwrap_or(now);
    let password = ask.password.as_deref().map(|p| hash(ctx.config, p)).transpose()?;
    let token = Secret::random::<24>();
    let mut link = Link {
        tenant: tenant.0.clone(),
        file_id: first.id.clone(),
        list_id: first.list_id().to_string(),
        r2_key: first.r2_key.clone(),
        created_at: now,
        expires_at,
        max_downloads: ask.max_downloads,
        downloads: 0,
        password,
        has_password: false,
        revoked: false,
        notify: false,
        more: Vec::new(),
    };
    link.add_files(records[1..].iter().map(link::LinkedFile::of).collect())?;
    // its tenant's webhooks hear of it; its downloads only if some endpoint listens now
    let data = link_event(&link, token.expose(), first);
    let heard = ctx.emit(&tenant.0, "link.created", data).await?;
    let link = Link { notify: heard.iter().any(|k| k == "link.downloaded" || k == "link.used_up"), ..link };
    let lists: Vec<String> = records.iter().map(|r| link::file_links_object(&tenant.0, &r.id)).collect();
    list_token(svc, tenant, &lists, token.expose(), expires_at).await?;
    let link = match link_call(svc, token.expose(), LinkCall::Create { link }).await {
        Ok(link) => link,
        Err(e) => {
            for list in &lists {
                let _ = tokens(svc, list, LinkCall::Remove { token: token.expose().to_string() }).await;
            }
            return Err(e);
        }
    };
    let mut answer = link_json(token.expose(), &link, req.origin, now);
    // revoking the link, or using it up, does not stop a file its dialect serves to anyone
    answer["file_public_url"] = json!(public_url(first).map(|path| format!("{}{path}", req.origin)));
    Ok(Reply::json(201, answer))
}

/// Lists `token` with each file's links (a few at a time).
async fn list_token<P: Platform>(
    svc: &Service<'_, P>,
    tenant: &Tenant,
    lists: &[String],
    token: &str,
    expires_at: u64,
) -> Result<()> {
    use futures_util::stream::StreamExt;
    let add = |list: &String| {
        let call = LinkCall::Add { tenant: tenant.0.clone(), token: token.to_string(), expires_at };
        let list = list.clone();
        async move { tokens(svc, &list, call).await.map(drop) }
    };
    let done: Vec<Result<()>> = futures_util::stream::iter(lists.iter()).map(add).buffered(6).collect().await;
    done.into_iter().collect()
}

/// `POST /v1/links/{token}/files`: more files for a link.
async fn add_link_files<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    body: crate::engine::upload::calls::ByteStream,
) -> Result<Reply> {
    let token = req.params.get(PathParam::Token);
    if !link::is_token(token) {
        return Err(Error::not_found(LINK_NOT_FOUND));
    }
    let fields = form::small_json(body).await?;
    let records = files_named(svc, tenant, &fields).await?;
    let current = link_call(svc, token, LinkCall::Peek { tenant: tenant.0.clone() }).await?;
    if current.revoked {
        return Err(Error::Expired(LINK_REVOKED.into()));
    }
    let lists: Vec<String> = records.iter().map(|r| link::file_links_object(&tenant.0, &r.id)).collect();
    list_token(svc, tenant, &lists, token, current.expires_at).await?;
    let files = records.iter().map(link::LinkedFile::of).collect();
    let link = link_call(svc, token, LinkCall::AddFiles { tenant: tenant.0.clone(), files }).await?;
    Ok(Reply::json(200, link_json(token, &link, req.origin, svc.ctx.now())))
}

/// Where a file is served to anyone anyway, by its own dialect's design: an NGCP upload at
/// its id, a PortSIP blob at its digest, a Twake file at its company's open download.
pub fn public_url(record: &FileRecord) -> Option<String> {
    use crate::engine::file::record::Access;
    match (record.access(), record.vendor, record.extra.company_id.as_deref()) {
        (Access::ShareLink, _, _) => Some(format!("/uploads/{}", record.id)),
        (Access::PublicDigest, _, _) => Some(format!("/api/blobs/{}", record.sha256)),
        (Access::Private, Vendor::Twake, Some(cid)) => {
            Some(format!("{}/companies/{cid}/files/{}/download", super::twake::PREFIX, record.id))
        }
        (Access::Private, _, _) => None,
    }
}

async fn list_links<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &Tenant) -> Result<Reply> {
    let (_, list) = file_of(svc, req, tenant).await?;
    let now = svc.ctx.now();
    // an expired link answers `410` until its object forgets it, the grace after its expiry
    let grace_ms = svc.ctx.config.grace.saturating_mul(1000);
    let mut out = Vec::new();
    for token in tokens(svc, &list, LinkCall::List { tenant: tenant.0.clone() }).await? {
        let shown = match link_call(svc, &token, LinkCall::Peek { tenant: tenant.0.clone() }).await {
            Ok(link) => match link.state(now) {
                LinkState::Revoked => None,
                LinkState::Expired if now >= link.expires_at.saturating_add(grace_ms) => None,
                _ => Some(link_json(&token, &link, req.origin, now)),
            },
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        match shown {
            Some(json) => out.push(json),
            // revoked, or expired and forgotten: no longer listed
            None => {
                tokens(svc, &list, LinkCall::Remove { token }).await?;
            }
        }
    }
    Ok(Reply::json(200, json!({"links": out})))
}

/// `PATCH /v1/links/{token}`: what the body names, checked as at creation ([`LinkAsk`]); a
/// new expiry counts from now and, as at creation, never outlives the file.
async fn update_link<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    body: crate::engine::upload::calls::ByteStream,
) -> Result<Reply> {
    let ctx = svc.ctx;
    let token = req.params.get(PathParam::Token);
    if !link::is_token(token) {
        return Err(Error::not_found(LINK_NOT_FOUND));
    }
    let fields = form::small_json(body).await?;
    let ask = LinkAsk::parse(&fields, ctx.config.link_ttl, ctx.config.link_max_ttl)?;
    let link = link_call(svc, token, LinkCall::Peek { tenant: tenant.0.clone() }).await?;
    if link.revoked {
        return Err(Error::Expired(LINK_REVOKED.into()));
    }
    let given = |name: &str| fields.get(name).map(Value::is_null);
    let now = ctx.now();
    let mut change = LinkChange::default();
    if given("expires_in") == Some(false) {
        let record = ctx.find_owned(&tenant.0, &link.list_id).await?;
        let expires_at = ask.expires_at(now, &record);
        // the file's list lives as long as its longest link
        let add = LinkCall::Add { tenant: tenant.0.clone(), token: token.to_string(), expires_at };
        tokens(svc, &link::file_links_object(&tenant.0, &record.id), add).await?;
        change.expires_at = Some(expires_at);
    }
    change.max_downloads = match (given("max_downloads"), ask.max_downloads) {
        (Some(true), _) => Change::Remove,
        (Some(false), Some(max)) => Change::Set(max),
        _ => Change::Keep,
    };
    change.password = match (given("password"), ask.password) {
        (Some(true), _) => Change::Remove,
        (Some(false), Some(p)) => Change::Set(hash(ctx.config, &p)?),
        _ => Change::Keep,
    };
    let link = link_call(svc, token, LinkCall::Update { tenant: tenant.0.clone(), change }).await?;
    Ok(Reply::json(200, link_json(token, &link, req.origin, now)))
}

async fn revoke_link<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>, tenant: &Tenant) -> Result<Reply> {
    let token = req.params.get(PathParam::Token);
    if !link::is_token(token) {
        return Err(Error::not_found(LINK_NOT_FOUND));
    }
    let link = link_call(svc, token, LinkCall::Revoke { tenant: tenant.0.clone() }).await?;
    for file in link.files() {
        let list = link::file_links_object(&tenant.0, &file.file_id);
        tokens(svc, &list, LinkCall::Remove { token: token.to_string() }).await?;
    }
    Ok(Reply::Empty { status: 204, headers: Vec::new() })
}

/// A tenant's usage and quota (`null`: no limit).
pub(super) fn usage_json(r: &crate::engine::catalog::account::Report) -> Value {
    let q = &r.quota;
    json!({
        "bytes": r.bytes,
        "files": r.files,
        "uploads_in_progress": r.uploads_in_progress,
        "reserved_bytes": r.reserved_bytes,
        "quota": {
            "max_bytes": q.max_bytes,
            "max_files": q.max_files,
            "max_file_size": q.max_file_size,
            "max_uploads_in_progress": q.max_uploads_in_progress,
        },
        "counters": r.counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Method::*;
    use crate::testkit::World;

    const ACME: (&str, &str) = ("Authorization", "Bearer tok");
    const BOB: (&str, &str) = ("Authorization", "Bearer tok-bob");

    /// A tus upload of `bytes` in one request; its id.
    fn upload(w: &World, bytes: &[u8], auth: (&str, &str)) -> String {
        let len = bytes.len().to_string();
        let headers = [
            auth,
            ("Tus-Resumable", "1.0.0"),
            ("Upload-Length", &len),
            ("Content-Length", &len),
            ("Content-Type", "application/offset+octet-stream"),
        ];
        let r = w.send(Post, "/files/", &headers, bytes.to_vec());
        assert_eq!(r.status(), 201, "{r:?}");
        r.header("Location").unwrap().rsplit('/').next().unwrap().to_string()
    }

    fn link(w: &World, id: &str, ask: Value) -> (u16, Value) {
        let r = w.send(Post, &format!("/v1/files/{id}/links"), &[ACME], ask.to_string().into_bytes());
        (r.status(), World::json(&r))
    }

    fn get(w: &World, path: &str, headers: &[(&str, &str)]) -> Reply {
        w.send(Get, path, headers, Vec::new())
    }

    #[test]
    fn link_asks_are_checked() {
        let parse = |v: Value| LinkAsk::parse(v.as_object().unwrap(), 86400, 1000);
        assert_eq!(parse(json!({})), Ok(LinkAsk { expires_in: 1000, max_downloads: None, password: None }));
        let ask = parse(json!({"expires_in": 60, "max_downloads": 2, "password": "pw"})).unwrap();
        assert_eq!((ask.expires_in, ask.max_downloads, ask.password.as_deref()), (60, Some(2), Some("pw")));
        assert_eq!(parse(json!({"expires_in": 99999})).unwrap().expires_in, 1000, "capped");
        assert_eq!(parse(json!({"max_downloads": null, "password": null})).unwrap().password, None);
        for bad in [
            json!({"expires_in": 0}),
            json!({"expires_in": -5}),
            json!({"expires_in": 1.5}),
            json!({"expires_in": "60"}),
            json!({"max_downloads": 0}),
            json!({"password": ""}),
            json!({"password": 5}),
            json!({"password": "x".repeat(257)}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_serve_any_dialects_file_counted_to_their_limit() {
        let w = World::new();
        let id = upload(&w, b"hello links", ACME);
        let (status, l) = link(&w, &id, json!({"max_downloads": 2, "expires_in": 60}));
        assert_eq!(status, 201, "{l}");
        let token = l["token"].as_str().unwrap().to_string();
        assert_eq!(l["url"], format!("https://edge.example/s/{token}"));
        assert_eq!((l["downloads"].as_u64(), l["max_downloads"].as_u64()), (Some(0), Some(2)));
        assert_eq!(l["expires_at"], iso8601_ms(w.now() + 60_000));
        let path = format!("/s/{token}");
        // a browser sees a page, which is not a download; HEAD is not either
        let page = get(&w, &path, &[("Accept", "text/html,*/*")]);
        assert_eq!(page.status(), 200);
        let Reply::Text { body, .. } = &page else { panic!("{page:?}") };
        assert!(body.contains("hello") || body.contains("11 bytes"), "{body}");
        assert!(page.header("Content-Security-Policy").unwrap().contains("default-src 'none'"));
        assert_eq!(w.send(Head, &path, &[], Vec::new()).status(), 200);
        for _ in 0..2 {
            let r = get(&w, &path, &[("Accept", "*/*")]);
            assert_eq!((r.status(), w.body(&r)), (200, b"hello links".to_vec()));
            assert_eq!(r.header("Cache-Control"), Some("private, no-cache"));
        }
        let r = get(&w, &path, &[]);
        assert_eq!(r.status(), 410, "the third download");
        assert_eq!(World::json(&r)["error"]["message"], link::LINK_EXHAUSTED);
        // listed with its count, and as used up
        let r = get(&w, &format!("/v1/files/{id}/links"), &[ACME]);
        let listed = &World::json(&r)["links"];
        assert_eq!((listed[0]["token"].as_str(), listed[0]["downloads"].as_u64()), (Some(token.as_str()), Some(2)));
        assert_eq!(listed[0]["state"], "used_up");
        // expiry
        let (_, l2) = link(&w, &id, json!({"expires_in": 5}));
        let path2 = format!("/s/{}", l2["token"].as_str().unwrap());
        assert_eq!(get(&w, &path2, &[]).status(), 200);
        w.advance(5_000);
        assert_eq!(get(&w, &path2, &[]).status(), 410);
        let r = get(&w, &format!("/v1/files/{id}/links"), &[ACME]);
        let mut states: Vec<String> =
            World::json(&r)["links"].as_array().unwrap().iter().map(|l| l["state"].to_string()).collect();
        states.sort();
        assert_eq!(states, ["\"expired\"", "\"used_up\""], "the expired link is listed as such");
    }

    /// `PATCH /v1/links/{token}`: its owner changes the limit, the password and the expiry
    /// (from now), each alone, with creation's checks; the downloads made are kept; another
    /// tenant, an unknown token and a revoked link are refused; `/openapi.json` has the row.
    #[test]
    fn a_link_is_changed_by_patch() {
        let w = World::new();
        let id = upload(&w, b"patched", ACME);
        let (_, l) = link(&w, &id, json!({"max_downloads": 1}));
        let token = l["token"].as_str().unwrap().to_string();
        let path = format!("/s/{token}");
        let patch = |auth: (&str, &str), body: Value| {
            let r = w.send(
                Patch,
                &format!("/v1/links/{token}"),
                &[auth, ("Content-Type", "application/json")],
                body.to_string().into_bytes(),
            );
            (r.status(), World::json(&r))
        };
        assert_eq!(get(&w, &path, &[]).status(), 200);
        assert_eq!(get(&w, &path, &[]).status(), 410, "used up");
        // another tenant's link, an unknown one, a link that is not: 404; bad values: 400
        assert_eq!(patch(BOB, json!({"max_downloads": 5})).0, 404);
        let r = w.send(Patch, &format!("/v1/links/{}", "A".repeat(32)), &[ACME], b"{}".to_vec());
        assert_eq!(r.status(), 404);
        assert_eq!(w.send(Patch, "/v1/links/short", &[ACME], b"{}".to_vec()).status(), 404);
        for bad in
            [json!({"max_downloads": 0}), json!({"expires_in": -1}), json!({"password": ""}), json!({"password": 7})]
        {
            assert_eq!(patch(ACME, bad.clone()).0, 400, "{bad}");
        }
        assert_eq!(w.send(Patch, &format!("/v1/links/{token}"), &[], b"{}".to_vec()).status(), 401);
        // a higher limit: it serves again, its one download kept
        let (status, l) = patch(ACME, json!({"max_downloads": 3}));
        assert_eq!(
            (status, l["state"].as_str(), l["downloads"].as_u64(), l["max_downloads"].as_u64()),
            (200, Some("active"), Some(1), Some(3))
        );
        assert_eq!(l["token"], token.as_str());
        assert_eq!(get(&w, &path, &[]).status(), 200);
        // a password, then none
        let (status, l) = patch(ACME, json!({"password": "open sesame"}));
        assert_eq!(
            (status, l["has_password"].as_bool(), l["max_downloads"].as_u64()),
            (200, Some(true), Some(3)),
            "the limit kept"
        );
        assert_eq!(get(&w, &path, &[]).status(), 401);
        assert_eq!(get(&w, &format!("{path}?password=open%20sesame"), &[]).status(), 200);
        let (_, l) = patch(ACME, json!({"password": null, "max_downloads": null}));
        assert_eq!((l["has_password"].as_bool(), l["max_downloads"].as_u64()), (Some(false), None));
        assert_eq!(get(&w, &path, &[]).status(), 200, "no password, no limit");
        // an expiry from now; an expired link still held can be given more time
        let (_, l) = patch(ACME, json!({"expires_in": 5}));
        assert_eq!(
            (l["expires_at"].as_str(), l["downloads"].as_u64()),
            (Some(iso8601_ms(w.now() + 5_000).as_str()), Some(4))
        );
        w.advance(5_000);
        assert_eq!(get(&w, &path, &[]).status(), 410);
        let (_, l) = patch(ACME, json!({"expires_in": 60}));
        assert_eq!(
            (l["state"].as_str(), l["expires_at"].as_str()),
            (Some("active"), Some(iso8601_ms(w.now() + 60_000).as_str()))
        );
        let (status, same) = patch(ACME, json!({}));
        assert_eq!((status, &same), (200, &l), "nothing asked, nothing changed");
        let r = get(&w, &format!("/v1/files/{id}/links"), &[ACME]);
        assert_eq!(World::json(&r)["links"][0]["expires_at"], l["expires_at"], "the listing shows the change");
        // revoked: stays so
        assert_eq!(w.send(Delete, &format!("/v1/links/{token}"), &[ACME], Vec::new()).status(), 204);
        assert_eq!(patch(ACME, json!({"expires_in": 60})).0, 410);
        assert_eq!(get(&w, &path, &[]).status(), 410);
        let doc = World::json(&get(&w, "/openapi.json", &[]));
        assert!(doc["paths"]["/v1/links/{token}"]["patch"].is_object(), "{}", doc["paths"]["/v1/links/{token}"]);
    }

    /// A link that no longer serves is listed with what became of it, not as if alive:
    /// used up, expired (until its object forgets it, the grace after its expiry); a revoked
    /// one is no longer listed.
    #[test]
    fn listed_links_say_their_state() {
        let w = World::new();
        let id = upload(&w, b"stateful", ACME);
        // longer than the grace an expired link is listed for
        let long = w.config.link_max_ttl;
        assert!(long > w.config.grace + 5);
        let (status, fresh) = link(&w, &id, json!({"expires_in": long}));
        assert_eq!((status, fresh["state"].as_str()), (201, Some("active")));
        let (_, once) = link(&w, &id, json!({"max_downloads": 1, "expires_in": long}));
        let (_, brief) = link(&w, &id, json!({"expires_in": 5}));
        let (_, revoked) = link(&w, &id, json!({}));
        let token = |l: &Value| l["token"].as_str().unwrap().to_string();
        let listed = || -> Vec<(String, String)> {
            let r = get(&w, &format!("/v1/files/{id}/links"), &[ACME]);
            assert_eq!(r.status(), 200);
            let links = World::json(&r)["links"].as_array().unwrap().clone();
            let mut seen: Vec<_> = links.iter().map(|l| (token(l), l["state"].as_str().unwrap().to_string())).collect();
            seen.sort();
            seen
        };
        let mut all_active: Vec<(String, String)> =
            [&fresh, &once, &brief, &revoked].iter().map(|l| (token(l), "active".to_string())).collect();
        all_active.sort();
        assert_eq!(listed(), all_active);

        assert_eq!(get(&w, &format!("/s/{}", token(&once)), &[]).status(), 200);
        assert_eq!(w.send(Delete, &format!("/v1/links/{}", token(&revoked)), &[ACME], Vec::new()).status(), 204);
        w.advance(5_000);
        let want = |brief_state: Option<&str>| -> Vec<(String, String)> {
            let mut v = vec![(token(&fresh), "active".to_string()), (token(&once), "used_up".to_string())];
            v.extend(brief_state.map(|s| (token(&brief), s.to_string())));
            v.sort();
            v
        };
        assert_eq!(listed(), want(Some("expired")), "used up and expired, each said; revoked, gone");
        // an expired link is listed while it answers 410, until its object forgets it
        w.advance(w.config.grace * 1000 - 1);
        assert_eq!(listed(), want(Some("expired")));
        w.advance(1);
        assert_eq!(listed(), want(None), "long expired: no longer listed");
    }

    /// A browser opening a link that no longer serves is told plainly what became of it; a
    /// used-up link with a password says so without asking for the password in vain.
    #[test]
    fn a_links_page_says_it_is_used_up_expired_or_revoked() {
        let w = World::new();
        let id = upload(&w, b"page", ACME);
        let html = [("Accept", "text/html")];
        let page = |l: &Value| {
            let r = get(&w, &format!("/s/{}", l["token"].as_str().unwrap()), &html);
            let Reply::Text { status, body, .. } = r else { panic!("{r:?}") };
            (status, body)
        };
        let (_, once) = link(&w, &id, json!({"max_downloads": 1, "password": "pw"}));
        assert_eq!(page(&once).0, 401, "live: the password form");
        let got = get(&w, &format!("/s/{}", once["token"].as_str().unwrap()), &[("X-Share-Password", "pw")]);
        assert_eq!(got.status(), 200);
        let (status, body) = page(&once);
        assert_eq!(status, 410);
        assert!(body.contains("<h1>This link has been used up</h1>") && !body.contains("<form"), "{body}");
        assert!(body.contains("<title>This link has been used up · edgeshare</title>"), "{body}");

        let (_, revoked) = link(&w, &id, json!({}));
        let path = format!("/v1/links/{}", revoked["token"].as_str().unwrap());
        assert_eq!(w.send(Delete, &path, &[ACME], Vec::new()).status(), 204);
        let (status, body) = page(&revoked);
        assert!(status == 410 && body.contains("<h1>This link has been revoked</h1>"), "{body}");

        let (_, brief) = link(&w, &id, json!({"expires_in": 5}));
        w.advance(5_000);
        let (status, body) = page(&brief);
        assert!(status == 410 && body.contains("<h1>This link has expired</h1>"), "{body}");
    }

    #[test]
    fn passwords_revocation_and_other_tenants() {
        let w = World::new();
        let id = upload(&w, b"secret bytes", ACME);
        // another tenant sees nothing of it
        assert_eq!(w.send(Post, &format!("/v1/files/{id}/links"), &[BOB], b"{}".to_vec()).status(), 404);
        assert_eq!(get(&w, &format!("/v1/files/{id}/links"), &[BOB]).status(), 404);
        assert_eq!(w.send(Delete, &format!("/v1/files/{id}"), &[BOB], Vec::new()).status(), 404);
        assert_eq!(w.send(Post, &format!("/v1/files/{id}/links"), &[], b"{}".to_vec()).status(), 401);
        // absurd sizes: an id, a token, a body, a password header
        let long = "a".repeat(9000);
        assert_eq!(w.send(Post, &format!("/v1/files/{long}/links"), &[ACME], b"{}".to_vec()).status(), 404);
        assert_eq!(w.send(Delete, &format!("/v1/links/{long}"), &[ACME], Vec::new()).status(), 404);
        assert_eq!(get(&w, &format!("/s/{long}"), &[]).status(), 404);
        let huge = format!("{{\"password\": \"{}\"}}", "p".repeat(20_000)).into_bytes();
        assert_eq!(w.send(Post, &format!("/v1/files/{id}/links"), &[ACME], huge).status(), 400);
        assert_eq!(w.send(Post, &format!("/s/{}", "A".repeat(32)), &[], vec![b'x'; 5000]).status(), 400);
        let (_, l) = link(&w, &id, json!({"password": "open sesame"}));
        assert_eq!(l["has_password"], true);
        let token = l["token"].as_str().unwrap().to_string();
        let path = format!("/s/{token}");
        assert_eq!(get(&w, &path, &[]).status(), 401, "password required");
        let wrong = get(&w, &format!("{path}?password=nope"), &[]);
        assert_eq!(wrong.status(), 403);
        assert_eq!(World::json(&wrong)["error"]["message"], link::WRONG_PASSWORD);
        let ok = get(&w, &path, &[("X-Share-Password", "open sesame")]);
        assert_eq!((ok.status(), w.body(&ok)), (200, b"secret bytes".to_vec()));
        // the page's form
        let form = w.send(
            Post,
            &path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"password=open+sesame".to_vec(),
        );
        assert_eq!((form.status(), w.body(&form)), (200, b"secret bytes".to_vec()));
        let form = w.send(Post, &path, &[], b"password=no".to_vec());
        assert_eq!(form.status(), 403);
        assert!(matches!(&form, Reply::Text { body, .. } if body.contains("<form")), "the page again: {form:?}");
        // revocation, by its tenant only
        assert_eq!(w.send(Delete, &format!("/v1/links/{token}"), &[BOB], Vec::new()).status(), 404);
        assert_eq!(w.send(Delete, &format!("/v1/links/{token}"), &[ACME], Vec::new()).status(), 204);
        assert_eq!(get(&w, &format!("{path}?password=open%20sesame"), &[]).status(), 410);
        assert_eq!(w.send(Delete, &format!("/v1/links/{token}"), &[ACME], Vec::new()).status(), 204, "again");
    }

    /// An NGCP upload (public at its id) of `bytes`; its id.
    fn ngcp_upload(w: &World, bytes: &[u8]) -> String {
        let mut body = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.txt\"\r\n\r\n".to_vec();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--XX--\r\n");
        let headers = [("Authorization", "Basic Zm9vOmJhcg=="), ("Content-Type", "multipart/form-data; boundary=XX")];
        let r = w.send(Post, "/uploads", &headers, body);
        World::json(&r)["id"].as_str().unwrap().to_string()
    }

    #[test]
    fn an_unknown_token_costs_a_lookup_and_writes_nothing() {
        let w = World::new();
        let token = "B".repeat(32);
        for _ in 0..6 {
            let r = get(&w, &format!("/s/{token}?password=x"), &[]);
            assert_eq!(r.status(), 404, "never a 403 after hashing, nor a 429");
            assert_eq!(World::json(&r)["error"]["message"], LINK_NOT_FOUND);
        }
        let object = w.ledger(&link::link_object(&token));
        assert!(futures_executor::block_on(crate::store::object::LedgerStore::list(&*object, "")).unwrap().is_empty());
    }

    #[test]
    fn password_guesses_are_limited_per_address_and_backed_off_per_link_and_client() {
        let w = World::new();
        let id = upload(&w, b"guarded", ACME);
        let (_, l) = link(&w, &id, json!({"password": "right"}));
        let path = format!("/s/{}", l["token"].as_str().unwrap());
        let from = |ip: &'static str, pw: &str| {
            let r = get(&w, &format!("{path}?password={pw}"), &[("CF-Connecting-IP", ip)]);
            (r.status(), r.header("Retry-After").map(str::to_string))
        };
        // someone guesses: after three wrong ones, they wait; the recipient does not
        for _ in 0..link::FREE_FAILURES {
            assert_eq!(from("203.0.113.66", "guess").0, 403);
        }
        assert_eq!(from("203.0.113.66", "right"), (429, Some("1".into())));
        assert_eq!(from("198.51.100.7", "right").0, 200, "the link's recipient is not locked out");
        // every address has its budget of hashes per window, whatever links it tries
        w.throttle.limit.set(4);
        let (_, l2) = link(&w, &id, json!({"password": "other"}));
        let path2 = format!("/s/{}", l2["token"].as_str().unwrap());
        let r = get(&w, &format!("{path2}?password=guess"), &[("CF-Connecting-IP", "203.0.113.66")]);
        assert_eq!((r.status(), r.header("Retry-After")), (429, Some("60")), "the address's budget is spent");
        let r = get(&w, &format!("{path2}?password=other"), &[("CF-Connecting-IP", "2001:db8::1")]);
        assert_eq!(r.status(), 200, "another address has its own");
        let counted: Vec<String> = w.throttle.counts.borrow().keys().cloned().collect();
        assert_eq!(counted, vec!["pw:198.51.100.7", "pw:2001:db8:0:0::/64", "pw:203.0.113.66"]);
        // without a password, nothing is counted
        assert_eq!(get(&w, &format!("/s/{}", "C".repeat(32)), &[("CF-Connecting-IP", "192.0.2.1")]).status(), 404);
        assert!(!w.throttle.counts.borrow().contains_key("pw:192.0.2.1"));
    }

    #[test]
    fn a_links_validator_names_neither_the_file_nor_its_public_url() {
        let w = World::new();
        let id = ngcp_upload(&w, b"public anyway");
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"public anyway"));
        let (status, l) = link(&w, &id, json!({}));
        assert_eq!(status, 201);
        assert_eq!(l["file_public_url"], format!("https://edge.example/uploads/{id}"), "the creator is told");
        let path = format!("/s/{}", l["token"].as_str().unwrap());
        let head = w.send(Head, &path, &[], Vec::new());
        let etag = head.header("ETag").unwrap().to_string();
        let own = get(&w, &format!("/uploads/{id}"), &[]).header("ETag").unwrap().to_string();
        assert!(!etag.contains(&sha) && etag != own, "{etag} vs {own}");
        let again = get(&w, &path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status(), 304, "the link's own validator works");
        let r = get(&w, &path, &[("If-None-Match", &own)]);
        assert_eq!(r.status(), 200, "the file's does not");
        // a private file's link says it is the only way in
        let tus = upload(&w, b"private", ACME);
        let (_, l) = link(&w, &tus, json!({}));
        assert_eq!(l["file_public_url"], Value::Null);
    }

    #[test]
    fn files_are_listed_and_deleted_whatever_their_dialect() {
        let w = World::new();
        let tus = upload(&w, b"via tus", ACME);
        let other = upload(&w, b"bob's", BOB);
        let ngcp = w.send(
            Post,
            "/uploads",
            &[("Authorization", "Basic Zm9vOmJhcg=="), ("Content-Type", "multipart/form-data; boundary=XX")],
            b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.txt\"\r\n\r\nvia ngcp\r\n--XX--\r\n"
                .to_vec(),
        );
        let ngcp = World::json(&ngcp)["id"].as_str().unwrap().to_string();
        let r = get(&w, "/v1/files", &[ACME]);
        assert_eq!(r.status(), 200);
        let files = World::json(&r)["files"].as_array().unwrap().clone();
        let mut seen: Vec<(String, String, u64)> = files
            .iter()
            .map(|f| {
                (f["id"].as_str().unwrap().into(), f["dialect"].as_str().unwrap().into(), f["size"].as_u64().unwrap())
            })
            .collect();
        seen.sort();
        let mut want = vec![(tus.clone(), "tus".to_string(), 7), (ngcp.clone(), "ngcp".to_string(), 8)];
        want.sort();
        assert_eq!(seen, want, "acme's files only");
        assert!(files.iter().all(|f| f["sha256"].as_str().unwrap().len() == 64));
        assert!(files.iter().any(|f| f["expires_at"].is_string()), "the NGCP file expires");
        assert_eq!(get(&w, "/v1/files?cursor=%01", &[ACME]).status(), 400);
        // deleting the NGCP file: its bytes, its public share link, its cached copies
        let (_, l) = link(&w, &ngcp, json!({}));
        assert_eq!(w.send(Delete, &format!("/v1/files/{ngcp}"), &[ACME], Vec::new()).status(), 204);
        assert_eq!(get(&w, &format!("/uploads/{ngcp}"), &[]).status(), 404);
        assert_eq!(get(&w, &format!("/s/{}", l["token"].as_str().unwrap()), &[]).status(), 410);
        assert_eq!(w.later.take_purges(), vec![format!("/uploads/{ngcp}")], "its one cache key");
        let r = get(&w, "/v1/files", &[ACME]);
        assert_eq!(World::json(&r)["files"].as_array().unwrap().len(), 1);
        assert_eq!(w.send(Delete, &format!("/v1/files/{ngcp}"), &[ACME], Vec::new()).status(), 404);
        assert_eq!(w.send(Delete, &format!("/v1/files/{other}"), &[BOB], Vec::new()).status(), 204);
        assert_eq!(get(&w, &format!("/files/{tus}"), &[ACME, ("Tus-Resumable", "1.0.0")]).status(), 200);
    }

    #[test]
    fn deleting_a_session_file_ends_its_entry_and_tokens() {
        let w = World::new();
        let basic = ("Authorization", "Basic Zm9vOmJhcg==");
        let session = World::json(&w.send(Post, "/sessions", &[basic], Vec::new()));
        let sid = session["id"].as_str().unwrap();
        let entry = World::json(&w.send(Post, &format!("/sessions/{sid}/files"), &[basic], Vec::new()));
        let fid = entry["id"].as_str().unwrap();
        let put = w.send(
            Put,
            &format!("/sessions/{sid}/files/{fid}"),
            &[basic, ("Content-Type", "text/plain")],
            b"entry".to_vec(),
        );
        assert_eq!(put.status(), 200, "{put:?}");
        let token = World::json(&w.send(Post, &format!("/sessions/{sid}/files/{fid}/tokens"), &[basic], Vec::new()));
        let by_token = format!("/sessions/{sid}/files/{fid}/tokens/{}", token["id"].as_str().unwrap());
        assert_eq!(get(&w, &by_token, &[]).status(), 200);
        // the native API names it by its entry id
        let files = World::json(&get(&w, "/v1/files", &[ACME]))["files"].clone();
        assert_eq!((files[0]["id"].as_str(), files[0]["dialect"].as_str()), (Some(fid), Some("ngcp_session")));
        let (status, _) = link(&w, fid, json!({}));
        assert_eq!(status, 201);
        assert_eq!(w.send(Delete, &format!("/v1/files/{fid}"), &[ACME], Vec::new()).status(), 204);
        assert_eq!(get(&w, &by_token, &[]).status(), 404, "its token ends with it");
        let left = World::json(&get(&w, &format!("/sessions/{sid}/files"), &[basic]));
        assert_eq!(left, json!([]), "its session no longer lists it");
        assert_eq!(get(&w, &format!("/sessions/{sid}"), &[basic]).status(), 200, "the session stays");
    }

    /// Stores a file's bytes under its record as an upload does, with no publication after
    /// (the worker stopped between the two).
    fn stored_unpublished(w: &World, bytes: &[u8]) -> String {
        use crate::engine::{Expiry, NewFile};
        let new = NewFile {
            tenant: crate::auth::Tenant("acme".into()),
            id: crate::engine::file::ids::new_uuid(),
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            vendor: crate::engine::file::record::Vendor::Tus,
            access: crate::engine::file::record::Access::Private,
            extra: Default::default(),
            length_hint: Some(bytes.len() as u64),
            expiring: false,
            mutable: false,
        };
        let body = futures_util::stream::iter([Ok(bytes::Bytes::copy_from_slice(bytes))]);
        let ctx = w.ctx();
        let held = futures_executor::block_on(ctx.write_file(&new, body)).unwrap();
        futures_executor::block_on(ctx.store_file(held, Expiry::Never)).unwrap().id
    }

    #[test]
    fn a_lost_publication_is_done_by_the_account_when_its_reservation_lapses() {
        let w = World::new();
        let id = stored_unpublished(&w, b"journaled");
        assert_eq!(World::json(&get(&w, "/v1/files", &[ACME]))["files"].as_array().unwrap().len(), 0);
        assert_eq!(World::json(&get(&w, "/v1/usage", &[ACME]))["uploads_in_progress"], 1);
        w.advance(crate::engine::REQUEST_RESERVATION_MS);
        assert_eq!(w.sweep().repaired, 1);
        let files = World::json(&get(&w, "/v1/files", &[ACME]))["files"].clone();
        assert_eq!(files[0]["id"], id.as_str());
        assert_eq!((files[0]["size"].as_u64(), files[0]["dialect"].as_str()), (Some(9), Some("tus")), "from R2");
        let usage = World::json(&get(&w, "/v1/usage", &[ACME]));
        assert_eq!((usage["files"].as_u64(), usage["uploads_in_progress"].as_u64()), (Some(1), Some(0)));
    }

    #[test]
    fn a_file_deleted_before_its_reservation_lapses_is_not_brought_back() {
        let w = World::new();
        let id = stored_unpublished(&w, b"short-lived");
        futures_executor::block_on(crate::store::BlobStore::delete(&w.blobs, &crate::engine::file::keys::object(&id)))
            .unwrap();
        w.advance(crate::engine::REQUEST_RESERVATION_MS);
        assert_eq!(w.sweep().repaired, 0, "nothing to publish for a file whose bytes are gone");
        assert_eq!(World::json(&get(&w, "/v1/files", &[ACME]))["files"], json!([]));
        assert_eq!(World::json(&get(&w, "/v1/usage", &[ACME]))["uploads_in_progress"], 0, "and its room is freed");
    }

    /// Files KV listed before accounts existed are imported into the tenant's account by its
    /// first call, once: listed, counted, and expired on time by the account.
    #[test]
    fn files_listed_before_accounts_are_imported_once() {
        use crate::engine::file::record::Access;
        use crate::store::MetaStore;
        let w = World::new();
        let old = upload(&w, b"kept", ACME); // a file of today, to have a record in R2
        let mut legacy = crate::engine::catalog::listed::Listed::of(&crate::engine::file::record::FileRecord {
            size: 9,
            sha256: "ab".repeat(32),
            expires_at: Some(w.now() + 60_000),
            ..crate::engine::file::record::FileRecord::new("legacy1", "acme", Vendor::Tus, "f/legacy1")
                .with_access(Access::Private)
        });
        legacy.access = None; // as KV kept it
        let other = w.ledger("account:bobco");
        assert!(other.is_empty(), "bobco has made no call yet");
        let key = crate::engine::file::keys::listing("bobco", "legacy1");
        futures_executor::block_on(w.meta.put_listed(&key, &legacy.to_json(), None)).unwrap();
        let files = World::json(&get(&w, "/v1/files", &[BOB]))["files"].clone();
        assert_eq!((files[0]["id"].as_str(), files[0]["size"].as_u64()), (Some("legacy1"), Some(9)), "{files}");
        assert_eq!(World::json(&get(&w, "/v1/usage", &[BOB]))["files"], 1, "counted");
        assert_eq!(w.indexed("bobco", &"ab".repeat(32)).as_deref(), Some("legacy1"), "indexed by its digest");
        let lists = w.counts().kv_lists;
        get(&w, "/v1/files", &[BOB]);
        assert_eq!(w.counts().kv_lists, lists, "once per tenant");
        w.advance(60_000);
        assert_eq!(w.fire_account_alarms().expired, 1, "expired by the account");
        assert_eq!(World::json(&get(&w, "/v1/files", &[BOB]))["files"], json!([]));
        assert_eq!(World::json(&get(&w, "/v1/files", &[ACME]))["files"][0]["id"], old.as_str());
    }

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(
            super::super::share::form_field(b"a=1&password=open+ses%41me", "password").as_deref(),
            Some("open sesAme")
        );
        assert_eq!(super::super::share::form_field(b"password=", "password").as_deref(), Some(""));
        assert_eq!(super::super::share::form_field(b"x=1", "password"), None);
        assert_eq!(super::super::share::form_field(&[0xff, 0xfe], "password"), None);
    }

    /// The listing names a file as it reads: `photo<U+202E>gnp.exe` is `photognp.exe`, not
    /// something that shows as `photoexe.png`.
    #[test]
    fn listed_names_show_no_invisible_formatting() {
        let record =
            FileRecord { name: "photo\u{202E}gnp.exe".into(), ..FileRecord::new("f", "acme", Vendor::Tus, "k") };
        assert_eq!(file_json(&Listed::of(&record))["name"], "photognp.exe");
    }
}
