//! The `Upload` Durable Object: one per upload id. It owns the upload's state in its SQLite
//! storage (the state as JSON, the tail bytes as rows of at most 1 MiB), takes the calls of
//! [`crate::engine::uploads`] (writes one at a time, reads at once, a stalled writer taken
//! over), and keeps an alarm: at the idle deadline of an open upload (abort it; of a finished
//! one: forget it), and soon while a completion is unfinished (finish it). A finished file's
//! expiry is the sweep's, not the object's. Storage is created only when an upload is, and all
//! of it is deleted once nothing is left. The logic is the engine's; this module is storage
//! and transport only.

pub mod session;

use std::cell::Cell;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::engine::resumable::{next_alarm, UploadStore};
use crate::engine::turns::Turns;
use crate::engine::upload::UploadState;
use crate::engine::uploads::{serve, Object, UploadCall};
use crate::engine::Later;
use crate::error::{Error, Result};
use crate::platform::body::{Body, EARLY_ANSWER_MS, REFUSAL_MS};
use crate::platform::uploads::{answer, call_of};
use crate::platform::{now, Bindings};

const TAIL_ROW: usize = 1 << 20;

/// Where the earlier layout kept a finished file's expiry: in the object named by the file's
/// id. Objects that still hold one delete its bytes when it is due, as they used to.
const LEGACY_EXPIRY_KEY: &str = "expiry";

#[derive(Debug, Clone, serde::Deserialize)]
struct LegacyExpiry {
    r2_key: String,
    at: u64,
}

/// An alarm time from milliseconds since the epoch. (`set_alarm` takes a plain integer as
/// an offset from now, not as a time.)
fn at_time(ms: u64) -> worker::ScheduledTime {
    worker::ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(ms as f64)))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

fn sleep(ms: u64) -> LocalBoxFuture<'static, ()> {
    Box::pin(worker::Delay::from(Duration::from_millis(ms)))
}

/// The object's SQLite storage behind [`UploadStore`]. Every method is synchronous, so a
/// `save` (state and tail together) is one implicit transaction. Tables are made by the
/// first save: reading an object that holds nothing writes nothing.
struct SqlStore {
    sql: worker::SqlStorage,
    written: Cell<bool>,
}

impl SqlStore {
    fn new(state: &State) -> SqlStore {
        SqlStore { sql: state.storage().sql(), written: Cell::new(false) }
    }

    fn has_tables(&self) -> Result<bool> {
        let rows: Vec<serde_json::Value> = self
            .sql
            .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'upload'", None)
            .map_err(internal)?
            .to_array()
            .map_err(internal)?;
        Ok(!rows.is_empty())
    }
}

impl UploadStore for SqlStore {
    fn load(&self) -> Result<Option<UploadState>> {
        if !self.has_tables()? {
            return Ok(None);
        }
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
        self.written.set(true);
        let sql = &self.sql;
        sql.exec("CREATE TABLE IF NOT EXISTS upload (k INTEGER PRIMARY KEY CHECK (k = 1), state TEXT NOT NULL)", None)
            .map_err(internal)?;
        sql.exec("CREATE TABLE IF NOT EXISTS tail (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)", None)
            .map_err(internal)?;
        let json = serde_json::to_string(state).map_err(internal)?;
        sql.exec("INSERT OR REPLACE INTO upload (k, state) VALUES (1, ?)", vec![json.into()]).map_err(internal)?;
        if let Some(tail) = tail {
            sql.exec("DELETE FROM tail", None).map_err(internal)?;
            for (i, row) in tail.chunks(TAIL_ROW).enumerate() {
                // SAFETY: `exec` copies its arguments into SQLite during this synchronous
                // call; nothing allocates in wasm memory while the view exists.
                let view: JsValue = unsafe { Uint8Array::view(row) }.into();
                sql.exec_raw("INSERT INTO tail (seq, data) VALUES (?, ?)", vec![JsValue::from(i as u32), view])
                    .map_err(internal)?;
            }
        }
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        self.written.set(true);
        if self.has_tables()? {
            self.sql.exec("DROP TABLE upload", None).map_err(internal)?;
            self.sql.exec("DROP TABLE tail", None).map_err(internal)?;
        }
        Ok(())
    }
}

#[durable_object]
pub struct Upload {
    state: State,
    env: Env,
    turns: Turns,
}

impl DurableObject for Upload {
    fn new(state: State, env: Env) -> Self {
        Upload { state, env, turns: Turns::default() }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let call = match call_of(&req) {
            Ok(call) => call,
            Err(e) => return answer(Err(e)),
        };
        let body = Body::new(req.inner().body());
        let store = SqlStore::new(&self.state);
        let result = self.serve(&store, call, body.clone()).await;
        match &result {
            // a stalled client would never finish sending
            Err(Error::Interrupted) => {}
            // answer once the client has finished sending, so that it reads the error; soon
            // when the caller is refused
            Err(e) => body.discard(if e.refuses_caller() { REFUSAL_MS } else { EARLY_ANSWER_MS }).await,
            // an answer that did not need the body (a re-sent part acknowledged, a retried
            // completion) also waits for it: cancelling a body still being sent resets the
            // connection (a read body is already at its end: nothing to wait for)
            Ok(_) => body.discard(EARLY_ANSWER_MS).await,
        }
        let result = match self.schedule(&store, store.written.get()).await {
            Ok(()) => result,
            Err(e) => result.and(Err(e)),
        };
        answer(result)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let store = SqlStore::new(&self.state);
        if let Err(e) = self.wake(&store).await {
            worker::console_error!("upload alarm: {e}");
            // try again later rather than lose the cleanup
            self.state.storage().set_alarm(at_time(now() + 60_000)).await?;
        }
        Response::empty()
    }
}

impl Upload {
    async fn serve(&self, store: &SqlStore, call: UploadCall, body: Body) -> Result<Option<UploadState>> {
        let b = Bindings::new(&self.env)?;
        // an object publishes what it finishes itself: nothing is left for after its answer
        let later = Later::default();
        let ctx = b.ctx(&later);
        let obj = Object { store, turns: &self.turns, sleep: &sleep };
        serve(&ctx, &obj, call, Some(body)).await
    }

    /// Sets the alarm to the upload's next deadline; with no upload left, deletes the alarm
    /// and every byte of storage. Only after a call that wrote something.
    async fn schedule(&self, store: &SqlStore, wrote: bool) -> Result<()> {
        if !wrote {
            return Ok(());
        }
        let storage = self.state.storage();
        // an old file's expiry is only ever in an object that holds no upload
        let at = match store.load()? {
            Some(st) => Some(next_alarm(&st, now())),
            None => storage.get::<LegacyExpiry>(LEGACY_EXPIRY_KEY).await.map_err(internal)?.map(|e| e.at),
        };
        match at {
            Some(at) => storage.set_alarm(at_time(at)).await.map_err(internal),
            None => {
                storage.delete_alarm().await.map_err(internal)?;
                storage.delete_all().await.map_err(internal)
            }
        }
    }

    async fn wake(&self, store: &SqlStore) -> Result<()> {
        let b = Bindings::new(&self.env)?;
        let later = Later::default();
        let ctx = b.ctx(&later);
        {
            let _turn = self.turns.take(&now, &sleep, ctx.config.stall_timeout * 1000).await;
            ctx.upload_alarm(store).await?;
        }
        let storage = self.state.storage();
        if let Some(e) = storage.get::<LegacyExpiry>(LEGACY_EXPIRY_KEY).await.map_err(internal)? {
            if now() >= e.at {
                crate::store::BlobStore::delete(&b.blobs, &e.r2_key).await?;
                storage.delete(LEGACY_EXPIRY_KEY).await.map_err(internal)?;
            }
        }
        self.schedule(store, true).await
    }
}
