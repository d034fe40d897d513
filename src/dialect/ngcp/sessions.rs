//! NGCP's sessions (compat-spec §1), at `/` and `/rtc/fileshare`: a session groups
//! file entries under one TTL; each entry takes its content once (a multipart `file` field
//! or a raw body), and download tokens serve it to anyone holding one. Sessions, entries and
//! tokens live in the session's object (strongly consistent: "create, then list" shows what
//! was created); the bytes are a file like any other, expiring with the session.
//! Errors are `{"message": ...}`, as the rest of NGCP ([`super::error_reply`]).

use serde_json::{json, Value};

use super::{FILE_MISSING, PREFIXES, TTL};
use crate::auth::Tenant;
use crate::dialect::Op::NgcpSessions;
use crate::dialect::{download_reply, fetch_whole, form, Dialect, Reply, Request, Service};
use crate::engine::file::ids::{iso8601_ms, new_uuid};
use crate::engine::file::record::content_type_or_guess;
use crate::engine::file::record::{Access, Extras, Vendor};
use crate::engine::file::visibility::Via;
use crate::engine::ledger::session::{
    session_object, tenant_object, FileEntry, FileState, Session, SessionFile, Stored, Token, FILE_NOT_FOUND,
    SESSION_EXPIRED, SESSION_NOT_FOUND, TOKEN_NOT_FOUND,
};
use crate::engine::ledger::{LedgerAnswer, LedgerCall, LedgerCalls};
use crate::engine::upload::calls::ByteStream;
use crate::engine::{file::expiry, file::limits, Ctx, Expiry, Missing, NewFile, Read};
use crate::error::{Error, Result};
use crate::http::disposition::last_path_segment;
use crate::http::download::CachePolicy;
use crate::route::{row, Media, PathParam, Spec, Table, DOWNLOAD, DOWNLOAD_HEAD, JSON, RANGE_HEADERS};
use crate::secret::Secret;
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    List,
    Get,
    Delete,
    AddFile,
    ListFiles,
    Zip,
    PutFile,
    DeleteFile,
    CreateToken,
    Download,
}

pub const TABLE: Table<Dialect, crate::dialect::Op> = Table {
    dialect: Dialect::Ngcp,
    prefixes: PREFIXES,
    method_override: false,
    endpoints: &[
        row!(Post "/sessions", NgcpSessions(Op::Create), Tenant, Read,
            "Create a session: JSON `{\"ttl\": seconds}` (optional; default 7 days).")
        .with(Spec::DEFAULT.takes(JSON).query(TTL)),
        row!(Get "/sessions", NgcpSessions(Op::List), Tenant, None, "The tenant's live sessions."),
        row!(Get "/sessions/{sid}", NgcpSessions(Op::Get), Tenant, None, "One session.")
            .with(Spec::DEFAULT.errors(&[410])),
        row!(Delete "/sessions/{sid}", NgcpSessions(Op::Delete), Tenant, None,
            "Delete a session, its files and its tokens.")
        .with(Spec::ok(&[(204, Media::Empty)]).errors(&[410])),
        row!(Post "/sessions/{sid}/files", NgcpSessions(Op::AddFile), Tenant, Read,
            "Create a file entry: JSON `{\"name\", \"mime_type\", \"size\"}` (all optional).")
        .with(Spec::DEFAULT.takes(JSON).errors(&[409, 410])),
        row!(Get "/sessions/{sid}/files", NgcpSessions(Op::ListFiles), Tenant, None, "Every file entry of a session.")
            .with(Spec::DEFAULT.errors(&[410])),
        row!(Get "/sessions/{sid}/files.zip", NgcpSessions(Op::Zip), Tenant, None,
            "edgeshare's extension: every stored file of a session as one zip, streamed (stored entries, \
            `Content-Length` known in advance, Range, ETag; ZIP64 past 4 GiB; names made safe and unique). A \
            download token is one file's, so its holder has no zip of the session.")
        .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[410, 416])),
        row!(Put "/sessions/{sid}/files/{fid}", NgcpSessions(Op::PutFile), Tenant, Read,
            "Store a file entry's content: a multipart `file` field or a raw body; once.")
        .with(Spec::DEFAULT.takes(&["multipart/form-data", "application/octet-stream"]).errors(&[409, 410])),
        row!(Delete "/sessions/{sid}/files/{fid}", NgcpSessions(Op::DeleteFile), Tenant, None,
            "Delete a file entry, its content and its tokens.")
        .with(Spec::ok(&[(204, Media::Empty)]).errors(&[410])),
        row!(Post "/sessions/{sid}/files/{fid}/tokens", NgcpSessions(Op::CreateToken), Tenant, None,
            "Create a download token for a stored file.")
        .with(Spec::DEFAULT.errors(&[409, 410])),
        row!(Get "/sessions/{sid}/files/{fid}/tokens/{tid}", NgcpSessions(Op::Download), RevocableCapability, None,
            "Download a file with a token: the token is the credential.")
        .with(Spec::ok(DOWNLOAD).headers(RANGE_HEADERS).errors(&[410, 416])),
        row!(Head "/sessions/{sid}/files/{fid}/tokens/{tid}", NgcpSessions(Op::Download), RevocableCapability, None,
            "Download by token, headers only.")
        .with(Spec::ok(DOWNLOAD_HEAD).headers(RANGE_HEADERS).errors(&[410, 416])),
    ],
};

const MISSING: Missing = Missing { not_found: FILE_NOT_FOUND, expired: SESSION_EXPIRED };
const TOKEN_MISSING: Missing = Missing { not_found: TOKEN_NOT_FOUND, expired: SESSION_EXPIRED };

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    if op == Op::Download {
        return download(svc, req).await;
    }
    let tenant = req.tenant()?;
    match op {
        Op::Create => create(svc, req, tenant, P::read(body)).await,
        Op::List => match svc.objects.ledger(&tenant_object(&tenant.0), LedgerCall::ListSessions).await? {
            LedgerAnswer::Sessions { sessions } => Ok(Reply::json(200, sessions.iter().map(session_json).collect())),
            other => unexpected(other),
        },
        _ => {
            let sid = req.path_uuid(PathParam::Sid, SESSION_NOT_FOUND)?;
            let on = OnSession { svc, tenant, sid: &sid };
            match op {
                Op::Get => on.get().await,
                Op::Delete => on.delete().await,
                Op::AddFile => on.add_file(P::read(body)).await,
                Op::ListFiles => on.list_files().await,
                Op::Zip => on.zip(req).await,
                _ => {
                    let fid = req.path_uuid(PathParam::Fid, FILE_NOT_FOUND)?;
                    match op {
                        Op::PutFile => on.put_file(req, &fid, P::read(body)).await,
                        Op::DeleteFile => on.delete_file(&fid).await,
                        _ => on.create_token(req, &fid).await,
                    }
                }
            }
        }
    }
}

fn unexpected(answer: LedgerAnswer) -> Result<Reply> {
    Err(Error::Internal(format!("session object answered {answer:?}")))
}

/// The session JSON of compat-spec §1 (and its expiry).
pub fn session_json(s: &Session) -> Value {
    json!({
        "id": s.id,
        "ttl": s.ttl,
        "created_at": iso8601_ms(s.created_at),
        "updated_at": iso8601_ms(s.updated_at),
        "expires_at": iso8601_ms(s.expires_at()),
    })
}

/// The file JSON of compat-spec §1: the upload JSON's fields, in its session.
pub fn file_json(s: &Session, f: &FileEntry) -> Value {
    json!({
        "id": f.id,
        "session_id": s.id,
        "name": f.name,
        "mime_type": f.mime_type,
        "size": f.size,
        "sha256": f.sha256,
        "ttl": s.ttl,
        "state": match f.state { FileState::Created => "created", FileState::Uploaded => "uploaded" },
        "created_at": iso8601_ms(f.created_at),
        "updated_at": iso8601_ms(f.updated_at),
        "expires_at": iso8601_ms(s.expires_at()),
    })
}

/// The token JSON of compat-spec §1, with the URL that downloads by it.
pub fn token_json(s: &Session, t: &Token, url: &str) -> Value {
    json!({
        "id": t.id,
        "state": t.state,
        "uploaded_id": t.file_id,
        "session_id": s.id,
        "created_at": iso8601_ms(t.created_at),
        "updated_at": iso8601_ms(t.updated_at),
        "expires_at": iso8601_ms(s.expires_at()),
        "url": url,
    })
}

/// A JSON field as text, for the parsers that take text (a number or a string).
fn text_field(map: &serde_json::Map<String, Value>, name: &str) -> Result<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(Error::bad_request(format!("{name} must be a string or a number"))),
    }
}

/// `POST /sessions`: in the session's own object first, then in the tenant's list (a session
/// not listed is deleted again).
async fn create<P: Platform>(
    svc: &Service<'_, P>,
    req: &Request<'_>,
    tenant: &Tenant,
    body: ByteStream,
) -> Result<Reply> {
    let config = svc.ctx.config;
    let fields = form::small_json(body).await?;
    let asked = text_field(&fields, "ttl")?.or_else(|| req.head.query_param("ttl"));
    let ttl = expiry::parse_ttl(asked.as_deref(), config.session_ttl, config.max_ttl)?;
    let now = svc.ctx.now();
    let session = Session { id: new_uuid(), tenant: tenant.0.clone(), ttl, created_at: now, updated_at: now };
    let own = session_object(&session.id);
    svc.objects.ledger(&own, LedgerCall::CreateSession { session: session.clone() }).await?;
    let listed =
        svc.objects.ledger(&tenant_object(&tenant.0), LedgerCall::AddSession { session: session.clone() }).await;
    if let Err(e) = listed {
        let _ = svc.objects.ledger(&own, LedgerCall::DeleteSession { tenant: tenant.0.clone() }).await;
        return Err(e);
    }
    Ok(Reply::json(200, session_json(&session)))
}

/// The calls on one session of the caller's.
struct OnSession<'s, 'a, P: Platform> {
    svc: &'s Service<'a, P>,
    tenant: &'s Tenant,
    sid: &'s str,
}

impl<P: Platform> OnSession<'_, '_, P> {
    async fn call(&self, call: LedgerCall) -> Result<LedgerAnswer> {
        self.svc.objects.ledger(&session_object(self.sid), call).await
    }

    fn tenant(&self) -> String {
        self.tenant.0.clone()
    }

    async fn get(&self) -> Result<Reply> {
        match self.call(LedgerCall::GetSession { tenant: self.tenant() }).await? {
            LedgerAnswer::Session { session } => Ok(Reply::json(200, session_json(&session))),
            other => unexpected(other),
        }
    }

    async fn delete(&self) -> Result<Reply> {
        let LedgerAnswer::Removed { files, .. } =
            self.call(LedgerCall::DeleteSession { tenant: self.tenant() }).await?
        else {
            return Err(Error::Internal("session object: no removal".into()));
        };
        delete_bytes(self.svc.ctx, self.tenant, &files).await;
        let listed = LedgerCall::RemoveSession { id: self.sid.to_string() };
        self.svc.objects.ledger(&tenant_object(&self.tenant.0), listed).await?;
        Ok(Reply::Empty { status: 204, headers: Vec::new() })
    }

    async fn add_file(&self, body: ByteStream) -> Result<Reply> {
        let fields = form::small_json(body).await?;
        let name = text_field(&fields, "name")?.map(|n| last_path_segment(&n).to_string()).filter(|n| !n.is_empty());
        if let Some(n) = &name {
            limits::check_name(n)?;
        }
        let mime_type =
            text_field(&fields, "mime_type")?.map(|m| content_type_or_guess(Some(&m), name.as_deref().unwrap_or("")));
        let size = match text_field(&fields, "size")? {
            None => None,
            Some(s) => Some(
                crate::http::range::digits(s.trim())
                    .ok_or_else(|| Error::bad_request("size must be a non-negative integer"))?,
            ),
        };
        if size.is_some_and(|s| s > self.svc.ctx.config.max_file_size) {
            return Err(Error::TooLarge { max: self.svc.ctx.config.max_file_size });
        }
        let now = self.svc.ctx.now();
        let entry = FileEntry {
            id: new_uuid(),
            name,
            mime_type,
            size,
            state: FileState::Created,
            created_at: now,
            updated_at: now,
            sha256: None,
            r2_key: None,
            file_id: None,
        };
        match self.call(LedgerCall::AddFile { tenant: self.tenant(), entry }).await? {
            LedgerAnswer::File(SessionFile { session, file }) => Ok(Reply::json(200, file_json(&session, &file))),
            other => unexpected(other),
        }
    }

    async fn list_files(&self) -> Result<Reply> {
        match self.call(LedgerCall::ListFiles { tenant: self.tenant() }).await? {
            LedgerAnswer::Files { session, files } => {
                Ok(Reply::json(200, files.iter().map(|f| file_json(&session, f)).collect()))
            }
            other => unexpected(other),
        }
    }

    /// `GET /sessions/{sid}/files.zip`: the session's stored files as one zip (those whose
    /// bytes are gone left out; `410` when none is left).
    async fn zip(&self, req: &Request<'_>) -> Result<Reply> {
        let LedgerAnswer::Files { files, .. } = self.call(LedgerCall::ListFiles { tenant: self.tenant() }).await?
        else {
            return Err(Error::Internal("session object: no files".into()));
        };
        let ctx = self.svc.ctx;
        // in the order the entries were made
        let mut entries: Vec<&FileEntry> = files.iter().filter(|f| f.state == FileState::Uploaded).collect();
        entries.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let stored = entries.iter().filter_map(|e| Some((e.file_id.as_deref()?, e.r2_key.as_deref()?)));
        let opened = match crate::dialect::share::open_all(self.svc, stored, self.tenant).await {
            Err(Error::Expired(_)) => return Err(Error::Expired("no stored file in this session".into())),
            other => other?,
        };
        let opened: Vec<_> = opened.into_iter().map(|(_, o)| (o.record, o.etag)).collect();
        let bundle = ctx.bundle(&opened).await?;
        let name = format!("session-{}.zip", &self.sid[..8.min(self.sid.len())]);
        crate::dialect::share::zip_reply(self.svc, req.head, req.method, bundle, &name).await
    }

    /// `PUT /sessions/{sid}/files/{fid}`: the bytes go through the engine like any file's
    /// (streamed; one R2 put, or a multipart upload when large), expiring with the session;
    /// then the entry records them. Two requests storing the same entry: the first to record
    /// wins, the other's bytes are deleted and it hears `409`.
    async fn put_file(&self, req: &Request<'_>, fid: &str, body: ByteStream) -> Result<Reply> {
        let ctx = self.svc.ctx;
        let max = ctx.config.max_file_size;
        let head = req.head;
        let LedgerAnswer::File(SessionFile { session, file: entry }) =
            self.call(LedgerCall::CheckPut { tenant: self.tenant(), file_id: fid.to_string() }).await?
        else {
            return Err(Error::Internal("session object: no entry".into()));
        };
        // a file of its own for this attempt: two PUTs at once never write the same object,
        // and the one that loses deletes only its own
        let file_id = new_uuid();
        let new = |part_name: Option<&str>, part_type: Option<&str>| {
            let name = entry.name.clone().or_else(|| part_name.map(str::to_string)).unwrap_or_else(|| "upload".into());
            let declared = entry.mime_type.as_deref().or(part_type);
            NewFile {
                tenant: self.tenant.clone(),
                id: file_id.clone(),
                content_type: content_type_or_guess(declared, &name),
                name,
                vendor: Vendor::NgcpSession,
                access: Access::Private,
                extra: Extras {
                    session_id: Some(self.sid.to_string()),
                    entry_id: Some(fid.to_string()),
                    ..Extras::default()
                },
                length_hint: head.content_length(),
                expiring: true,
                mutable: false,
            }
        };
        let held = match form::boundary(head) {
            Some(boundary) => {
                form::check_length(head, max)?;
                let mut form = form::open(body, boundary, "file", max, ctx.config.max_request_body);
                let mut held = None;
                let read = async {
                    while let Some(mut field) = form.next_field().await.map_err(|e| form::form_error(e, max))? {
                        if field.name() == Some("file") && held.is_none() {
                            let name =
                                field.file_name().map(last_path_segment).filter(|n| !n.is_empty()).map(str::to_string);
                            let ct = field.content_type().map(|m| m.essence_str().to_string());
                            let new = new(name.as_deref(), ct.as_deref());
                            held = Some(ctx.write_file(&new, form::stream(&mut field, max)).await?);
                        } else {
                            form::skip(&mut field, max).await?;
                        }
                    }
                    Ok::<(), Error>(())
                }
                .await;
                if let Err(e) = read {
                    // a form that failed after its file: nothing of the file is kept
                    if let Some(held) = &held {
                        ctx.drop_held(held).await;
                    }
                    return Err(e);
                }
                held.ok_or_else(|| Error::bad_request(FILE_MISSING))?
            }
            None => {
                if head.content_length().is_some_and(|len| len > max) {
                    return Err(Error::TooLarge { max });
                }
                ctx.write_file(&new(None, head.header("content-type")), body).await?
            }
        };
        if ctx.now() >= session.expires_at() {
            ctx.drop_held(&held).await;
            return Err(Error::Expired(SESSION_EXPIRED.into()));
        }
        let record = ctx.store_held(held, Expiry::At(session.expires_at())).await?;
        let stored = Stored {
            file_id: record.id.clone(),
            name: record.name.clone(),
            mime_type: record.content_type.clone(),
            size: record.size,
            sha256: record.sha256.clone(),
            r2_key: record.r2_key.clone(),
        };
        let commit = LedgerCall::CommitPut { tenant: self.tenant(), file_id: fid.to_string(), stored, now: ctx.now() };
        match self.call(commit).await {
            Ok(LedgerAnswer::File(SessionFile { session, file })) => {
                // listed once the session has it (a publication lost here is done by the
                // account when the reservation lapses)
                let _ = ctx.publish(&record, Some(&record.id)).await;
                Ok(Reply::json(200, file_json(&session, &file)))
            }
            Ok(other) => unexpected(other),
            Err(e) => {
                // another request stored it first, or the session went meanwhile: ours goes
                let _ = ctx.delete_file(&record).await;
                ctx.release(&record.tenant, &record.id).await;
                Err(e)
            }
        }
    }

    async fn delete_file(&self, fid: &str) -> Result<Reply> {
        delete_entry(self.svc, self.tenant, self.sid, fid).await?;
        Ok(Reply::Empty { status: 204, headers: Vec::new() })
    }

    async fn create_token(&self, req: &Request<'_>, fid: &str) -> Result<Reply> {
        let now = self.svc.ctx.now();
        let token = Token {
            id: Secret::random::<24>().expose().to_string(),
            file_id: fid.to_string(),
            state: "created".into(),
            created_at: now,
            updated_at: now,
        };
        match self.call(LedgerCall::CreateToken { tenant: self.tenant(), file_id: fid.to_string(), token }).await? {
            LedgerAnswer::Token { session, token } => {
                let prefix = if req.head.path.starts_with("/rtc/fileshare/") { "/rtc/fileshare" } else { "" };
                let url = format!("{}{prefix}/sessions/{}/files/{fid}/tokens/{}", req.origin, session.id, token.id);
                Ok(Reply::json(200, token_json(&session, &token, &url)))
            }
            other => unexpected(other),
        }
    }
}

/// Deletes file entry `fid` of session `sid`: the entry and its tokens in the session's
/// object, then its stored content (`DELETE /v1/files/{id}` too).
pub async fn delete_entry<P: Platform>(svc: &Service<'_, P>, tenant: &Tenant, sid: &str, fid: &str) -> Result<()> {
    let call = LedgerCall::DeleteFile { tenant: tenant.0.clone(), file_id: fid.to_string() };
    match svc.objects.ledger(&session_object(sid), call).await? {
        LedgerAnswer::Removed { files, .. } => {
            delete_bytes(svc.ctx, tenant, &files).await;
            Ok(())
        }
        other => unexpected(other).map(drop),
    }
}

/// Deletes the stored bytes of removed entries. A failure here leaves them to the sweep,
/// for they expire with their session.
async fn delete_bytes<P: Platform>(ctx: &Ctx<'_, P>, tenant: &Tenant, files: &[FileEntry]) {
    for f in files {
        let Some(key) = &f.r2_key else { continue };
        let id = f.file_id.as_deref().unwrap_or(&f.id);
        if let Ok(opened) = ctx.open_at(id, key, Via::Owner, Some(tenant), MISSING, Read::Head).await {
            let _ = ctx.delete_file(&opened.record).await;
        }
    }
}

/// `GET|HEAD /sessions/{sid}/files/{fid}/tokens/{tid}`: the token is the only credential;
/// private (never in a shared cache), as every download by a capability that can be revoked.
async fn download<P: Platform>(svc: &Service<'_, P>, req: &Request<'_>) -> Result<Reply> {
    let missing = || Error::not_found(TOKEN_NOT_FOUND);
    let sid = req.path_uuid(PathParam::Sid, TOKEN_NOT_FOUND)?;
    let fid = req.path_uuid(PathParam::Fid, TOKEN_NOT_FOUND)?;
    let tid = req.params.get(PathParam::Tid);
    if tid.len() > 128 {
        return Err(missing());
    }
    let call = LedgerCall::ResolveToken { file_id: fid.clone(), token_id: tid.to_string() };
    let LedgerAnswer::File(SessionFile { session, file }) = svc.objects.ledger(&session_object(&sid), call).await?
    else {
        return Err(Error::Internal("session object: no file".into()));
    };
    let key = file.r2_key.ok_or_else(missing)?;
    let id = file.file_id.as_deref().unwrap_or(&fid);
    let owner = Tenant(session.tenant);
    let opened =
        svc.ctx.open_at(id, &key, Via::Owner, Some(&owner), TOKEN_MISSING, fetch_whole(req.head, req.method)).await?;
    Ok(download_reply(opened, req.head, req.method, CachePolicy::Private))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::ids::parse_uuid;
    use crate::engine::file::keys;
    use crate::route::Method;
    use crate::testkit::{Body, World, ACME_BASIC, BOBCO_BASIC, T0};
    use sha2::{Digest, Sha256};

    fn send(w: &World, m: Method, path: &str, auth: Option<&str>, ct: Option<&str>, body: &[u8]) -> Reply {
        let len = body.len().to_string();
        let mut headers = vec![("Content-Length", len.as_str())];
        headers.extend(auth.map(|a| ("Authorization", a)));
        headers.extend(ct.map(|c| ("Content-Type", c)));
        w.send(m, path, &headers, body.to_vec())
    }

    const JSON: Option<&str> = Some("application/json");

    fn ok(r: &Reply) -> Value {
        assert_eq!(r.status(), 200, "{r:?}");
        World::json(r)
    }

    fn id(v: &Value) -> String {
        v["id"].as_str().unwrap().to_string()
    }

    /// Where the content of entry `fid` is stored, as its session's object says.
    fn stored_key(w: &World, sid: &str, fid: &str) -> String {
        let raw = w.ledger(&session_object(sid)).entries.borrow()[&format!("f:{fid}")].clone();
        serde_json::from_str::<FileEntry>(&raw).unwrap().r2_key.expect("content stored")
    }

    fn expiring_objects(w: &World) -> usize {
        w.blobs.objects.borrow().keys().filter(|k| k.starts_with(keys::EXPIRING_PREFIX)).count()
    }

    /// Our extension: a session's stored files as one zip, to its tenant only.
    #[test]
    fn a_sessions_files_as_one_zip() {
        let w = World::new();
        let a = Some(ACME_BASIC);
        let sid = id(&ok(&send(&w, Method::Post, "/sessions", a, JSON, br#"{"ttl": 600}"#)));
        let zip = format!("/sessions/{sid}/files.zip");
        assert_eq!(send(&w, Method::Get, &zip, a, None, b"").status(), 410, "nothing stored yet");
        let mut files = Vec::new();
        for (name, body) in [("a.txt", b"first".to_vec()), ("a.txt", b"second".to_vec()), ("never stored", Vec::new())]
        {
            let entry = format!(r#"{{"name": "{name}"}}"#);
            let fid = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, JSON, entry.as_bytes())));
            w.advance(1);
            if !body.is_empty() {
                ok(&send(&w, Method::Put, &format!("/sessions/{sid}/files/{fid}"), a, Some("text/plain"), &body));
                files.push(body);
            }
        }
        assert_eq!(send(&w, Method::Get, &zip, Some(BOBCO_BASIC), None, b"").status(), 404, "another tenant's");
        let got = send(&w, Method::Get, &zip, a, None, b"");
        assert_eq!(got.status(), 200);
        assert!(got.header("Content-Disposition").unwrap().contains(&format!("session-{}.zip", &sid[..8])));
        crate::http::zip::check_with_tools(
            &w.body(&got),
            &[("a.txt", files[0].clone()), ("a (1).txt", files[1].clone())],
            "session",
        );
    }

    /// The spec's order: session, file entry, content, token, download by token.
    #[test]
    fn the_session_flow() {
        let w = World::new();
        let a = Some(ACME_BASIC);
        let s = ok(&send(&w, Method::Post, "/rtc/fileshare/sessions", a, Some("application/json"), br#"{"ttl": 60}"#));
        assert_eq!(s["ttl"], 60);
        assert_eq!(s["created_at"], "2024-05-02T10:00:00.000Z");
        assert_eq!(s["expires_at"], "2024-05-02T10:01:00.000Z");
        let sid = id(&s);
        assert!(parse_uuid(&sid).is_some());
        let listed = ok(&send(&w, Method::Get, "/sessions", a, None, b""));
        assert_eq!(listed.as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![sid.as_str()]);
        assert_eq!(ok(&send(&w, Method::Get, &format!("/sessions/{sid}"), a, None, b"")), s);

        let f = ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, JSON, br#"{"name": "report.txt"}"#));
        assert_eq!(
            (f["state"].as_str(), f["name"].as_str(), f["ttl"].as_u64()),
            (Some("created"), Some("report.txt"), Some(60))
        );
        let fid = id(&f);
        // listed at once
        let files = ok(&send(&w, Method::Get, &format!("/sessions/{sid}/files"), a, None, b""));
        assert_eq!(files.as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![fid.as_str()]);
        // no token before content
        let tokens = format!("/sessions/{sid}/files/{fid}/tokens");
        assert_eq!(send(&w, Method::Post, &tokens, a, None, b"").status(), 409);
        // content: a raw body with its type
        let content = b"hello session";
        let put =
            |body: &[u8]| send(&w, Method::Put, &format!("/sessions/{sid}/files/{fid}"), a, Some("text/plain"), body);
        let stored = ok(&put(content));
        assert_eq!(stored["state"], "uploaded");
        assert_eq!(stored["size"], content.len());
        assert_eq!(stored["mime_type"], "text/plain");
        assert_eq!(stored["sha256"], hex::encode(Sha256::digest(content)));
        assert_eq!(stored["expires_at"], "2024-05-02T10:01:00.000Z", "expires with its session");
        let again = put(b"other");
        assert_eq!((again.status(), World::json(&again)), (409, json!({"message": "content already stored"})));
        // its bytes: a file like any other, expiring with the session
        let key = stored_key(&w, &sid, &fid);
        assert_eq!(w.blobs.object(&key).unwrap(), content);
        let file_id = key.strip_prefix(keys::EXPIRING_PREFIX).unwrap();
        assert_eq!(w.scheduled("acme"), vec![(w.now() + 60_000, fid.to_string())], "listed by its entry id");
        assert_eq!(futures_executor::block_on(w.ctx().listed("acme", &fid)).unwrap().unwrap().id, file_id);

        let t = ok(&send(&w, Method::Post, &tokens, a, None, b""));
        let tid = id(&t);
        assert!(tid.len() >= 32, "at least 128 random bits");
        assert_eq!((t["state"].as_str(), t["uploaded_id"].as_str()), (Some("created"), Some(fid.as_str())));
        assert_eq!(t["url"], format!("https://edge.example/sessions/{sid}/files/{fid}/tokens/{tid}"));
        // the token is the only credential
        let dl = send(&w, Method::Get, &format!("{tokens}/{tid}"), None, None, b"");
        assert_eq!(dl.status(), 200);
        assert_eq!(w.body(&dl), content);
        assert_eq!(dl.header("Cache-Control"), Some("private, no-cache"));
        assert!(dl.header("Content-Disposition").unwrap().contains("report.txt"));
        let ranged = w.send(Method::Get, &format!("{tokens}/{tid}"), &[("Range", "bytes=0-4")], Vec::new());
        assert_eq!((ranged.status(), w.body(&ranged)), (206, b"hello".to_vec()));
        // by digest, its tenant finds it; anyone else does not
        let sha = stored["sha256"].as_str().unwrap();
        assert_eq!(send(&w, Method::Get, &format!("/api/blobs/{sha}"), a, None, b"").status(), 200);
        assert_eq!(send(&w, Method::Get, &format!("/api/blobs/{sha}"), None, None, b"").status(), 404);

        // expiry: everything answers 410 "session expired", and the sweep deletes the bytes
        w.advance(60_000);
        let gone = json!({"message": "session expired"});
        for (m, path) in [
            (Method::Get, format!("{tokens}/{tid}")),
            (Method::Get, format!("/sessions/{sid}")),
            (Method::Get, format!("/sessions/{sid}/files")),
            (Method::Post, tokens.clone()),
        ] {
            let r = send(&w, m, &path, a, None, b"");
            assert_eq!((r.status(), World::json(&r)), (410, gone.clone()), "{m:?} {path}");
        }
        assert_eq!(w.sweep().expired, 1);
        assert!(w.blobs.object(&key).is_none());
        assert!(ok(&send(&w, Method::Get, "/sessions", a, None, b"")).as_array().unwrap().is_empty());
    }

    /// Every field of compat-spec §1's examples is there, with the example's type and format.
    #[test]
    fn shapes_are_the_specs() {
        let s = Session { id: "s".into(), tenant: "t".into(), ttl: 604800, created_at: T0, updated_at: T0 };
        let f = FileEntry {
            id: "f".into(),
            name: Some("test.txt".into()),
            mime_type: Some("text/plain".into()),
            size: Some(12),
            state: FileState::Uploaded,
            created_at: T0,
            updated_at: T0,
            sha256: None,
            r2_key: None,
            file_id: None,
        };
        let t = Token { id: "k".into(), file_id: "f".into(), state: "created".into(), created_at: T0, updated_at: T0 };
        let spec_file: Value = serde_json::from_str(
            r#"{"id":"88e5905d-5d96-4750-ab3d-77a1ed26f569","name":"test.txt","mime_type":"text/plain","size":12,
            "ttl":3600,"state":"uploaded","created_at":"2024-05-02T10:00:00.000Z","updated_at":"2024-05-02T10:00:00.000Z",
            "expires_at":"2024-05-02T11:00:00.000Z"}"#,
        )
        .unwrap();
        let spec_session =
            json!({"id": "x", "ttl": 604800, "created_at": "2024-05-02T10:00:00.000Z", "updated_at": "x"});
        let spec_token =
            json!({"id": "x", "state": "created", "uploaded_id": "f", "created_at": "x", "updated_at": "x"});
        for (ours, spec) in
            [(file_json(&s, &f), spec_file), (session_json(&s), spec_session), (token_json(&s, &t, "u"), spec_token)]
        {
            for (k, v) in spec.as_object().unwrap() {
                let got = &ours[k];
                assert_eq!(std::mem::discriminant(got), std::mem::discriminant(v), "{k} in {ours}");
                if k.ends_with("_at") {
                    assert_eq!(got.as_str().unwrap().len(), 24, "{k}: ISO 8601 with milliseconds");
                }
            }
        }
        assert_eq!(file_json(&s, &f)["created_at"], "2024-05-02T10:00:00.000Z");
    }

    #[test]
    fn multipart_content_and_deletes() {
        let w = World::new();
        let a = Some(ACME_BASIC);
        let sid = id(&ok(&send(&w, Method::Post, "/sessions", a, None, b"")));
        assert_eq!(ok(&send(&w, Method::Get, &format!("/sessions/{sid}"), a, None, b""))["ttl"], 604800, "7 days");
        let fid = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, None, b"")));
        let body = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x/pic.png\"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n--B--\r\n";
        let r = ok(&send(
            &w,
            Method::Put,
            &format!("/sessions/{sid}/files/{fid}"),
            a,
            Some("multipart/form-data; boundary=B"),
            body,
        ));
        assert_eq!(
            (r["name"].as_str(), r["mime_type"].as_str(), r["size"].as_u64()),
            (Some("pic.png"), Some("image/png"), Some(7))
        );
        let tid = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files/{fid}/tokens"), a, None, b"")));
        let by_token = format!("/sessions/{sid}/files/{fid}/tokens/{tid}");
        assert_eq!(send(&w, Method::Get, &by_token, None, None, b"").status(), 200);
        // deleting the file ends its token and its bytes
        let key = stored_key(&w, &sid, &fid);
        assert_eq!(send(&w, Method::Delete, &format!("/sessions/{sid}/files/{fid}"), a, None, b"").status(), 204);
        assert_eq!(send(&w, Method::Get, &by_token, None, None, b"").status(), 404);
        assert!(w.blobs.object(&key).is_none());
        // deleting the session ends everything in it
        let fid2 = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, None, b"")));
        ok(&send(&w, Method::Put, &format!("/sessions/{sid}/files/{fid2}"), a, None, b"two"));
        let tid2 = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files/{fid2}/tokens"), a, None, b"")));
        let key2 = stored_key(&w, &sid, &fid2);
        assert_eq!(send(&w, Method::Delete, &format!("/sessions/{sid}"), a, None, b"").status(), 204);
        let r = send(&w, Method::Get, &format!("/sessions/{sid}/files/{fid2}/tokens/{tid2}"), None, None, b"");
        assert_eq!(r.status(), 404);
        assert!(w.blobs.object(&key2).is_none());
        assert_eq!(send(&w, Method::Get, &format!("/sessions/{sid}"), a, None, b"").status(), 404);
        assert!(ok(&send(&w, Method::Get, "/sessions", a, None, b"")).as_array().unwrap().is_empty());
        assert!(w.ledger(&session_object(&sid)).is_empty(), "nothing left of it");
    }

    #[test]
    fn bad_input_is_400_and_other_tenants_get_404() {
        let w = World::new();
        let a = Some(ACME_BASIC);
        for bad in [&br#"{"ttl": 0}"#[..], br#"{"ttl": "x"}"#, br#"{"ttl": [1]}"#, b"[1]", b"{nope"] {
            let r = send(&w, Method::Post, "/sessions", a, JSON, bad);
            assert_eq!(r.status(), 400, "{}", String::from_utf8_lossy(bad));
            assert!(World::json(&r)["message"].is_string());
        }
        assert_eq!(
            ok(&send(&w, Method::Post, "/sessions", a, JSON, br#"{"ttl": "99999999"}"#))["ttl"],
            604800,
            "capped"
        );
        assert_eq!(send(&w, Method::Post, "/sessions", None, None, b"").status(), 401);
        let sid = id(&ok(&send(&w, Method::Post, "/sessions", a, JSON, br#"{"ttl": 600}"#)));
        let long = format!(r#"{{"name": "{}"}}"#, "n".repeat(300));
        assert_eq!(send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, JSON, long.as_bytes()).status(), 400);
        let huge = vec![b' '; 20_000];
        assert_eq!(send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, JSON, &huge).status(), 400);
        let fid = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, JSON, br#"{"size": 3}"#)));
        ok(&send(&w, Method::Put, &format!("/sessions/{sid}/files/{fid}"), a, None, b"abc"));
        let tid = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files/{fid}/tokens"), a, None, b"")));

        // the second tenant, on every route: 404, and nothing changes
        let b = Some(BOBCO_BASIC);
        for (m, path) in [
            (Method::Get, format!("/sessions/{sid}")),
            (Method::Delete, format!("/sessions/{sid}")),
            (Method::Post, format!("/sessions/{sid}/files")),
            (Method::Get, format!("/sessions/{sid}/files")),
            (Method::Put, format!("/sessions/{sid}/files/{fid}")),
            (Method::Delete, format!("/sessions/{sid}/files/{fid}")),
            (Method::Post, format!("/sessions/{sid}/files/{fid}/tokens")),
        ] {
            let r = send(&w, m, &path, b, JSON, b"{}");
            assert_eq!(r.status(), 404, "{m:?} {path}");
        }
        assert!(ok(&send(&w, Method::Get, "/sessions", b, None, b"")).as_array().unwrap().is_empty());
        // a token works for its own file and session only; a made-up one nowhere
        let fid2 = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, None, b"")));
        let sid2 = id(&ok(&send(&w, Method::Post, "/sessions", a, None, b"")));
        for path in [
            format!("/sessions/{sid}/files/{fid2}/tokens/{tid}"),
            format!("/sessions/{sid2}/files/{fid}/tokens/{tid}"),
            format!("/sessions/{sid}/files/{fid}/tokens/{}", "A".repeat(32)),
            format!("/sessions/{sid}/files/{fid}/tokens/{}", "A".repeat(5000)),
            format!("/sessions/not-a-uuid/files/{fid}/tokens/{tid}"),
        ] {
            let r = send(&w, Method::Get, &path, None, None, b"");
            assert_eq!((r.status(), World::json(&r)), (404, json!({"message": "token not found"})), "{path}");
        }
        assert_eq!(
            send(&w, Method::Get, &format!("/sessions/{sid}/files/{fid}/tokens/{tid}"), None, None, b"").status(),
            200
        );
    }

    /// A form that fails after its file (a text field past its limit): 400, nothing kept, and
    /// the entry can still take its content.
    #[test]
    fn a_form_failing_after_its_file_keeps_nothing() {
        let w = World::new();
        let a = Some(ACME_BASIC);
        let sid = id(&ok(&send(&w, Method::Post, "/sessions", a, None, b"")));
        let fid = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, None, b"")));
        let mut body = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\n".to_vec();
        body.extend_from_slice(&vec![7u8; 6 << 20]); // past one part: written as it arrives
        body.extend_from_slice(b"\r\n--B\r\nContent-Disposition: form-data; name=\"extra\"\r\n\r\n");
        body.extend_from_slice(&[b'x'; 9000]);
        body.extend_from_slice(b"\r\n--B--\r\n");
        let path = format!("/sessions/{sid}/files/{fid}");
        let r = send(&w, Method::Put, &path, a, Some("multipart/form-data; boundary=B"), &body);
        assert_eq!(r.status(), 400, "{r:?}");
        assert_eq!(expiring_objects(&w), 0, "nothing kept");
        assert_eq!(ok(&send(&w, Method::Put, &path, a, None, b"then this"))["size"], 9);
    }

    #[test]
    fn concurrent_puts_store_once_and_a_failed_record_leaves_nothing() {
        let w = World::new();
        let a = Some(ACME_BASIC);
        let sid = id(&ok(&send(&w, Method::Post, "/sessions", a, None, b"")));
        let fid = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, None, b"")));
        let path = format!("/sessions/{sid}/files/{fid}");
        // both pass the check before either records: the first one pauses half way through its
        // body, the second stores and records meanwhile; the first then loses, and deletes its
        // own bytes only
        let (first, second) = (vec![1u8; 100_000], vec![2u8; 100_000]);
        let run = |body: Body| w.request(Method::Put, &path, &[("Authorization", ACME_BASIC)], body);
        let paused = Body { bytes: first, pause: true, ..Body::default() };
        let (r1, r2) = futures_executor::block_on(futures_util::future::join(run(paused), run(second.clone().into())));
        assert_eq!((r1.reply.status(), r2.reply.status()), (409, 200));
        assert_eq!(World::json(&r1.reply), json!({"message": "content already stored"}));
        assert_eq!(w.blobs.object(&stored_key(&w, &sid, &fid)).unwrap(), second);
        assert_eq!(expiring_objects(&w), 1, "the loser's object is gone, the winner's stays");
        assert_eq!(w.scheduled("acme").len(), 1, "and the loser is not published");
        let files = ok(&send(&w, Method::Get, &format!("/sessions/{sid}/files"), a, None, b""));
        assert_eq!(files[0]["size"], second.len());
        let tid = id(&ok(&send(&w, Method::Post, &format!("{path}/tokens"), a, None, b"")));
        assert_eq!(w.body(&send(&w, Method::Get, &format!("{path}/tokens/{tid}"), None, None, b"")), second);

        // the session object fails to record the content: 503, and the bytes are gone
        let fid2 = id(&ok(&send(&w, Method::Post, &format!("/sessions/{sid}/files"), a, None, b"")));
        let ledger = w.ledger(&session_object(&sid));
        ledger.fail.borrow_mut().push("put");
        let r = send(&w, Method::Put, &format!("/sessions/{sid}/files/{fid2}"), a, None, b"lost");
        assert_eq!(r.status(), 503);
        assert_eq!(expiring_objects(&w), 1, "the bytes are gone");
        // and a retry succeeds
        ok(&send(&w, Method::Put, &format!("/sessions/{sid}/files/{fid2}"), a, None, b"kept"));
    }
}
