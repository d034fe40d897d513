//! The `Upload` Durable Object: one per upload id. It owns the upload's state in its SQLite
//! storage (the state as JSON, the tail bytes as rows of at most 1 MiB), serialises the
//! requests for its upload, and keeps an alarm: at the idle deadline of an open upload (abort
//! it), at the `expires_at` of a finished file (delete its bytes). The logic is
//! [`crate::engine::resumable`]; this module is storage and transport only.

use base64::Engine;
use futures_util::lock::Mutex;
use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::edge::{body::SharedBody, stores};
use crate::engine::resumable::{next_alarm, AppendAsk, UploadStore};
use crate::engine::upload::{NewUpload, UploadState};
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::store::{Janitor, Uploads};

/// The header carrying a [`Call`] (base64url JSON, since file names are not Latin-1).
const CALL_HEADER: &str = "x-edgeshare-call";
const EXPIRY_KEY: &str = "expiry";
const TAIL_ROW: usize = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Expiry {
    r2_key: String,
    at: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Op {
    Create,
    Append,
    State,
    Cancel,
    Expire,
}

/// One request from the worker to an Upload object.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Call {
    op: Op,
    tenant: String,
    #[serde(default)]
    new: Option<NewUpload>,
    #[serde(default)]
    ask: AppendAsk,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    delete_finished: bool,
    #[serde(default)]
    expire: Option<Expiry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireError {
    code: String,
    message: String,
    #[serde(default)]
    size: Option<u64>,
}

/// An alarm time from milliseconds since the epoch. (`set_alarm` takes a plain integer as
/// an offset from now, not as a time.)
fn at_time(ms: u64) -> worker::ScheduledTime {
    worker::ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(ms as f64)))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// The object's SQLite storage behind [`UploadStore`]. Every method is synchronous, so a
/// `save` (state and tail together) is one implicit transaction.
struct SqlStore {
    sql: worker::SqlStorage,
}

impl SqlStore {
    fn new(state: &State) -> Result<SqlStore> {
        let sql = state.storage().sql();
        sql.exec("CREATE TABLE IF NOT EXISTS upload (k INTEGER PRIMARY KEY CHECK (k = 1), state TEXT NOT NULL)", None)
            .map_err(internal)?;
        sql.exec("CREATE TABLE IF NOT EXISTS tail (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)", None)
            .map_err(internal)?;
        Ok(SqlStore { sql })
    }
}

impl UploadStore for SqlStore {
    fn load(&self) -> Result<Option<UploadState>> {
        let rows: Vec<serde_json::Value> = self
            .sql
            .exec("SELECT state FROM upload WHERE k = 1", None)
            .map_err(internal)?
            .to_array()
            .map_err(internal)?;
        match rows.first().and_then(|r| r.get("state")).and_then(|s| s.as_str()) {
            None => Ok(None),
            Some(json) => serde_json::from_str(json).map(Some).map_err(internal),
        }
    }

    fn tail(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for row in self.sql.exec("SELECT data FROM tail ORDER BY seq", None).map_err(internal)? {
            let row = row.map_err(internal)?;
            let data = js_sys::Reflect::get(&row, &JsValue::from_str("data")).map_err(|_| internal("tail row"))?;
            out.extend_from_slice(&Uint8Array::new(&data).to_vec());
        }
        Ok(out)
    }

    fn save(&self, state: &UploadState, tail: Option<&[u8]>) -> Result<()> {
        let json = serde_json::to_string(state).map_err(internal)?;
        self.sql.exec("INSERT OR REPLACE INTO upload (k, state) VALUES (1, ?)", vec![json.into()]).map_err(internal)?;
        if let Some(tail) = tail {
            self.sql.exec("DELETE FROM tail", None).map_err(internal)?;
            for (i, row) in tail.chunks(TAIL_ROW).enumerate() {
                // SAFETY: `exec` copies its arguments into SQLite during this synchronous
                // call; nothing allocates in wasm memory while the view exists.
                let view: JsValue = unsafe { Uint8Array::view(row) }.into();
                self.sql
                    .exec_raw("INSERT INTO tail (seq, data) VALUES (?, ?)", vec![JsValue::from(i as u32), view])
                    .map_err(internal)?;
            }
        }
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        self.sql.exec("DELETE FROM upload", None).map_err(internal)?;
        self.sql.exec("DELETE FROM tail", None).map_err(internal)?;
        Ok(())
    }
}

/// The janitor inside an Upload object: a finished file's expiry goes to the object's own
/// storage (the object sets its alarm after each call), so the bytes are deleted then even
/// after the finished upload's state is forgotten.
struct SelfJanitor<'a>(&'a State);

impl Janitor for SelfJanitor<'_> {
    async fn delete_at(&self, _: &str, r2_key: &str, at_ms: u64) -> Result<()> {
        let expiry = Expiry { r2_key: r2_key.into(), at: at_ms };
        self.0.storage().put(EXPIRY_KEY, &expiry).await.map_err(internal)
    }
}

#[durable_object]
pub struct Upload {
    state: State,
    env: Env,
    /// Requests for one upload run one at a time, whatever they await.
    lock: Mutex<()>,
}

impl DurableObject for Upload {
    fn new(state: State, env: Env) -> Self {
        Upload { state, env, lock: Mutex::new(()) }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let _turn = self.lock.lock().await;
        let result = self.serve(req).await;
        match result {
            Ok(Some(st)) => Response::from_json(&st),
            Ok(None) => Ok(Response::empty()?.with_status(204)),
            Err(e) => {
                let wire = WireError { code: e.code().into(), message: e.wire_message(), size: e.wire_size() };
                Ok(Response::from_json(&wire)?.with_status(e.status()))
            }
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let _turn = self.lock.lock().await;
        if let Err(e) = self.wake().await {
            worker::console_error!("upload alarm: {e}");
            // try again later rather than lose the cleanup
            let retry = worker::Date::now().as_millis() + 60_000;
            self.state.storage().set_alarm(at_time(retry)).await?;
        }
        Response::empty()
    }
}

impl Upload {
    async fn serve(&self, req: Request) -> Result<Option<UploadState>> {
        let call = req
            .headers()
            .get(CALL_HEADER)
            .ok()
            .flatten()
            .and_then(|h| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|raw| serde_json::from_slice::<Call>(&raw).ok())
            .ok_or_else(|| Error::Internal("upload object: missing or bad call".into()))?;
        let store = SqlStore::new(&self.state)?;
        let (config, blobs, meta) = stores(&self.env)?;
        let now = || worker::Date::now().as_millis();
        let ctx = Ctx { config: &config, blobs: &blobs, meta: &meta, janitor: &SelfJanitor(&self.state), now: &now };
        let answer = match call.op {
            Op::Create => {
                let new = call.new.ok_or_else(|| Error::Internal("create without upload".into()))?;
                Some(ctx.create_upload(&store, new)?)
            }
            Op::Append => {
                let body = SharedBody::new(req.inner().body())?;
                match ctx.append(&store, &call.tenant, call.ask, body.clone()).await {
                    Ok(st) => Some(st),
                    Err(e) => {
                        // answer only once the client has finished sending, so it reads the error
                        body.drain().await;
                        self.schedule(&store).await?;
                        return Err(e);
                    }
                }
            }
            Op::State => Some(ctx.load_upload(&store, &call.tenant, call.token.as_deref())?),
            Op::Cancel => {
                ctx.cancel_upload(&store, &call.tenant, call.token.as_deref(), call.delete_finished).await?;
                None
            }
            Op::Expire => {
                let e = call.expire.ok_or_else(|| Error::Internal("expire without expiry".into()))?;
                self.state.storage().put(EXPIRY_KEY, &e).await.map_err(internal)?;
                None
            }
        };
        self.schedule(&store).await?;
        Ok(answer)
    }

    /// Sets the alarm to the earliest thing due: the upload's idle deadline or its file's
    /// expiry, or a file's expiry registered by the janitor.
    async fn schedule(&self, store: &SqlStore) -> Result<()> {
        let storage = self.state.storage();
        let upload_at = store.load()?.as_ref().map(next_alarm);
        let expiry_at = storage.get::<Expiry>(EXPIRY_KEY).await.map_err(internal)?.map(|e| e.at);
        match upload_at.into_iter().chain(expiry_at).min() {
            Some(at) => storage.set_alarm(at_time(at)).await.map_err(internal),
            None => storage.delete_alarm().await.map_err(internal),
        }
    }

    async fn wake(&self) -> Result<()> {
        let store = SqlStore::new(&self.state)?;
        let (config, blobs, meta) = stores(&self.env)?;
        let now = || worker::Date::now().as_millis();
        let ctx = Ctx { config: &config, blobs: &blobs, meta: &meta, janitor: &SelfJanitor(&self.state), now: &now };
        ctx.upload_alarm(&store).await?;
        let storage = self.state.storage();
        if let Some(e) = storage.get::<Expiry>(EXPIRY_KEY).await.map_err(internal)? {
            if now() >= e.at {
                use crate::store::BlobStore;
                blobs.delete(&e.r2_key).await?;
                storage.delete(EXPIRY_KEY).await.map_err(internal)?;
            }
        }
        self.schedule(&store).await
    }
}

/// The worker's side: each call goes to the upload's object, bodies streamed through.
pub struct DoUploads {
    pub ns: worker::ObjectNamespace,
}

impl DoUploads {
    async fn call(&self, id: &str, call: &Call, body: Option<web_sys::ReadableStream>) -> Result<Option<UploadState>> {
        let fail = |e: worker::Error| Error::Storage(format!("upload object: {e}"));
        let stub = self.ns.get_by_name(id).map_err(fail)?;
        let json = serde_json::to_vec(call).map_err(internal)?;
        let headers = worker::Headers::new();
        headers.set(CALL_HEADER, &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)).map_err(fail)?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post).with_headers(headers).with_body(body.map(JsValue::from));
        let req = Request::new_with_init("https://upload/", &init).map_err(fail)?;
        let mut resp = stub.fetch_with_request(req).await.map_err(fail)?;
        match resp.status_code() {
            200 => resp.json::<UploadState>().await.map(Some).map_err(fail),
            204 => Ok(None),
            status => {
                let wire: WireError = resp.json().await.unwrap_or(WireError {
                    code: "internal".into(),
                    message: format!("upload object answered {status}"),
                    size: None,
                });
                Err(Error::from_wire(&wire.code, wire.message, wire.size))
            }
        }
    }

    fn plain(op: Op, tenant: &str) -> Call {
        Call {
            op,
            tenant: tenant.into(),
            new: None,
            ask: AppendAsk::default(),
            token: None,
            delete_finished: false,
            expire: None,
        }
    }

    fn state_of(answer: Option<UploadState>) -> Result<UploadState> {
        answer.ok_or_else(|| Error::Internal("upload object sent no state".into()))
    }
}

impl Uploads for DoUploads {
    type Body = Option<web_sys::ReadableStream>;

    async fn create(&self, new: &NewUpload) -> Result<UploadState> {
        let call = Call { new: Some(new.clone()), ..Self::plain(Op::Create, &new.tenant) };
        Self::state_of(self.call(&new.id, &call, None).await?)
    }

    async fn append(&self, id: &str, tenant: &str, ask: &AppendAsk, body: Self::Body) -> Result<UploadState> {
        let call = Call { ask: ask.clone(), ..Self::plain(Op::Append, tenant) };
        Self::state_of(self.call(id, &call, body).await?)
    }

    async fn state(&self, id: &str, tenant: &str, token: Option<&str>) -> Result<UploadState> {
        let call = Call { token: token.map(Into::into), ..Self::plain(Op::State, tenant) };
        Self::state_of(self.call(id, &call, None).await?)
    }

    async fn cancel(&self, id: &str, tenant: &str, token: Option<&str>, delete_finished: bool) -> Result<()> {
        let call = Call { token: token.map(Into::into), delete_finished, ..Self::plain(Op::Cancel, tenant) };
        self.call(id, &call, None).await.map(|_| ())
    }
}

/// Asks a file's `Upload` object to delete its bytes at expiry (files written in one request).
pub struct DoJanitor {
    pub ns: worker::ObjectNamespace,
}

impl Janitor for DoJanitor {
    async fn delete_at(&self, file_id: &str, r2_key: &str, at_ms: u64) -> Result<()> {
        let call =
            Call { expire: Some(Expiry { r2_key: r2_key.into(), at: at_ms }), ..DoUploads::plain(Op::Expire, "") };
        DoUploads { ns: self.ns.clone() }.call(file_id, &call, None).await.map(|_| ())
    }
}
