//! The `Upload` Durable Object: one per upload id. It owns the upload's state in its SQLite
//! storage (the state as JSON; the tail bytes as rows keyed by their offset in the tail, each
//! save adding only the bytes its request brought), takes the calls of
//! [`crate::engine::upload::calls`] (writes one at a time, reads at once, a stalled writer taken
//! over), and keeps an alarm: at the idle deadline of an open upload (abort it; of a finished
//! one: forget it), and soon while a completion is unfinished (finish it). A finished file's
//! expiry is the sweep's, not the object's. Storage is created only when an upload is, and all
//! of it is deleted once nothing is left. The logic is the engine's; this module is storage
//! and transport only.

pub mod ledger;

use std::cell::Cell;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::engine::upload::calls::{serve, Object, UploadCall};
use crate::engine::upload::run::{next_alarm, Saved};
use crate::engine::upload::state::UploadState;
use crate::engine::upload::turns::Turns;
use crate::engine::Later;
use crate::error::{Error, Result};
use crate::platform::body::{Body, EARLY_ANSWER_MS, REFUSAL_MS};
use crate::platform::objects::{answer, call_of};
use crate::platform::{now, Bindings};
use crate::store::object::UploadStore;

/// The tail's rows: each holds the tail's bytes from `pos` on.
const TAIL_TABLE: &str = "CREATE TABLE IF NOT EXISTS tail_bytes (pos INTEGER PRIMARY KEY, data BLOB NOT NULL)";

/// Most bytes in a row of the tail.
const TAIL_ROW: usize = 1 << 20;

/// A save of fewer bytes than this goes into the last row if that stays this short
/// (rewriting at most this many bytes), so that tiny requests leave a few rows, not one
/// each, for the cut of the next part to read back.
const SMALL_ROW: usize = 64 << 10;

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
/// `save` (the state and the tail's new bytes together) is one implicit transaction. Tables
/// are made by the first save: reading an object that holds nothing writes nothing.
struct SqlStore {
    sql: worker::SqlStorage,
    written: Cell<bool>,
}

fn int(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A tail row's column.
fn column(row: &JsValue, name: &str) -> Result<JsValue> {
    js_sys::Reflect::get(row, &JsValue::from_str(name)).map_err(|_| internal("tail row"))
}

impl SqlStore {
    fn new(state: &State) -> SqlStore {
        SqlStore { sql: state.storage().sql(), written: Cell::new(false) }
    }

    /// Which of the upload's tables exist.
    fn tables(&self) -> Result<Vec<String>> {
        let query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('upload', 'tail_bytes')";
        let rows: Vec<serde_json::Value> =
            self.sql.exec(query, None).map_err(internal)?.to_array().map_err(internal)?;
        Ok(rows.iter().filter_map(|r| r.get("name")?.as_str().map(String::from)).collect())
    }

    /// The last row, if it ends at `end` and is short enough to take `adding` more bytes.
    fn short_last_row(&self, end: u64, adding: usize) -> Result<Option<(u64, Vec<u8>)>> {
        let query = "SELECT pos, data FROM tail_bytes WHERE pos < ? AND pos + length(data) = ? \
                     AND length(data) + ? <= ? ORDER BY pos DESC LIMIT 1";
        let args = vec![int(end), int(end), int(adding as u64), int(SMALL_ROW as u64)];
        let mut rows = self.sql.exec_raw(query, args).map_err(internal)?;
        let Some(row) = Iterator::next(&mut rows) else { return Ok(None) };
        let row = row.map_err(internal)?;
        let pos = column(&row, "pos")?.as_f64().ok_or_else(|| internal("tail row position"))? as u64;
        Ok(Some((pos, Uint8Array::new(&column(&row, "data")?).to_vec())))
    }

    fn insert_row(&self, pos: u64, bytes: &[u8]) -> Result<()> {
        let mut args = Vec::with_capacity(2);
        args.push(int(pos));
        // SAFETY: `exec` copies its arguments into SQLite during this synchronous call;
        // nothing allocates in wasm memory while the view exists (`args` has its room).
        args.push(unsafe { Uint8Array::view(bytes) }.into());
        self.sql.exec_raw("INSERT OR REPLACE INTO tail_bytes (pos, data) VALUES (?, ?)", args).map_err(internal)?;
        Ok(())
    }
}

impl UploadStore for SqlStore {
    fn load(&self) -> Result<Option<String>> {
        if !self.tables()?.iter().any(|t| t == "upload") {
            return Ok(None);
        }
        let rows: Vec<serde_json::Value> = self
            .sql
            .exec("SELECT state FROM upload WHERE k = 1", None)
            .map_err(internal)?
            .to_array()
            .map_err(internal)?;
        Ok(rows.first().and_then(|r| r.get("state")).and_then(|s| s.as_str()).map(String::from))
    }

    fn tail(&self, len: u64) -> Result<Vec<u8>> {
        if len == 0 {
            // (an object that never saved a tail has no table to read)
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(len as usize);
        let rows = self
            .sql
            .exec_raw("SELECT pos, data FROM tail_bytes WHERE pos < ? ORDER BY pos", vec![int(len)])
            .map_err(internal)?;
        for row in rows {
            let row = row.map_err(internal)?;
            let pos = column(&row, "pos")?.as_f64().ok_or_else(|| internal("tail row position"))? as usize;
            if pos > out.len() {
                break;
            }
            // a later row holds what follows its start, whatever an earlier one held there
            out.truncate(pos);
            let data = Uint8Array::new(&column(&row, "data")?);
            out.resize(pos + data.length() as usize, 0);
            data.copy_to(&mut out[pos..]);
        }
        if (out.len() as u64) < len {
            return Err(internal(format!("a stored tail of {} bytes, not {len}", out.len())));
        }
        out.truncate(len as usize);
        Ok(out)
    }

    fn save(&self, state: &str, tail_len: u64, new_tail: &[u8]) -> Result<()> {
        let at = tail_len
            .checked_sub(new_tail.len() as u64)
            .ok_or_else(|| internal("more new tail bytes than the tail holds"))?;
        self.written.set(true);
        let sql = &self.sql;
        sql.exec("CREATE TABLE IF NOT EXISTS upload (k INTEGER PRIMARY KEY CHECK (k = 1), state TEXT NOT NULL)", None)
            .map_err(internal)?;
        sql.exec(TAIL_TABLE, None).map_err(internal)?;
        sql.exec("INSERT OR REPLACE INTO upload (k, state) VALUES (1, ?)", vec![state.into()]).map_err(internal)?;
        // the rows before `at` stay; from there on the new bytes replace what was stored
        sql.exec_raw("DELETE FROM tail_bytes WHERE pos >= ?", vec![int(at)]).map_err(internal)?;
        if new_tail.is_empty() {
            return Ok(());
        }
        if new_tail.len() < SMALL_ROW {
            if let Some((pos, mut row)) = self.short_last_row(at, new_tail.len())? {
                row.extend_from_slice(new_tail);
                return self.insert_row(pos, &row);
            }
        }
        let mut pos = at;
        for row in new_tail.chunks(TAIL_ROW) {
            self.insert_row(pos, row)?;
            pos += row.len() as u64;
        }
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        self.written.set(true);
        if !self.tables()?.is_empty() {
            self.sql.exec("DROP TABLE IF EXISTS upload", None).map_err(internal)?;
            self.sql.exec("DROP TABLE IF EXISTS tail_bytes", None).map_err(internal)?;
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
        if crate::platform::self_test(&self.env, &req.path()) {
            let store = SqlStore::new(&self.state);
            let found = crate::store::contract::upload_store(&store).await;
            self.state.storage().delete_all().await?;
            return Response::ok(found.err().unwrap_or_else(|| "ok".into()));
        }
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
        match store.state()? {
            Some(st) => storage.set_alarm(at_time(next_alarm(&st, now()))).await.map_err(internal),
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
        self.schedule(store, true).await
    }
}
