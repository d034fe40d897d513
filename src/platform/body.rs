//! The request body as a stream of large chunks.
//!
//! workerd hands request bodies to JavaScript in 4 KiB chunks; crossing into wasm that often
//! costs more than hashing and cutting the bytes. A BYOB reader with workerd's
//! `readAtLeast(min, view)` fills a 1 MiB buffer per crossing instead. A stream that ends
//! with an error (a client that went away) is [`Error::IncompleteBody`], never a short file.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};

/// Bytes per crossing into wasm: at least `MIN`, at most `CAP`.
const CAP: u32 = 1 << 20;
const MIN: u32 = 256 << 10;

pub struct BodyStream {
    reader: JsValue,
    read: Function,
    /// `readAtLeast` (workerd) rather than the standard BYOB `read`.
    at_least: bool,
    pending: Option<JsFuture>,
    /// The buffer of the last read, handed back by the reader and reused for the next.
    spare: Option<js_sys::ArrayBuffer>,
    done: bool,
}

fn js_text(what: &str, e: JsValue) -> String {
    let text = e.as_string().or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())));
    format!("{what}: {}", text.unwrap_or_else(|| "stream error".into()))
}

fn js_err(what: &str, e: JsValue) -> Error {
    Error::bad_request(js_text(what, e))
}

/// A read of the body that failed: the client went away (or its connection broke) before
/// the body's end. What arrived before is the client's progress, not a malformed request.
fn cut_short(e: JsValue) -> Error {
    Error::IncompleteBody(js_text("reading request body", e))
}

fn get(obj: &JsValue, key: &str) -> Result<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key)).map_err(|e| js_err(key, e))
}

impl BodyStream {
    pub fn new(body: &web_sys::ReadableStream) -> Result<BodyStream> {
        let opts = Object::new();
        Reflect::set(&opts, &"mode".into(), &"byob".into()).map_err(|e| js_err("reader options", e))?;
        let get_reader: Function = get(body, "getReader")?.unchecked_into();
        let reader = get_reader.call1(body, &opts).map_err(|e| js_err("byob reader", e))?;
        let at_least = get(&reader, "readAtLeast")?;
        let (read, at_least) = match at_least.dyn_into::<Function>() {
            Ok(f) => (f, true),
            Err(_) => (get(&reader, "read")?.unchecked_into(), false),
        };
        Ok(BodyStream { reader, read, at_least, pending: None, spare: None, done: false })
    }

    fn start_read(&mut self) -> Result<JsFuture> {
        let view = match self.spare.take() {
            Some(buf) => Uint8Array::new_with_byte_offset_and_length(&buf, 0, CAP),
            None => Uint8Array::new_with_length(CAP),
        };
        let promise = if self.at_least {
            self.read.call2(&self.reader, &JsValue::from(MIN), &view)
        } else {
            self.read.call1(&self.reader, &view)
        }
        .map_err(|e| js_err("reading request body", e))?;
        Ok(JsFuture::from(promise.unchecked_into::<Promise>()))
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            if self.pending.is_none() {
                match self.start_read() {
                    Ok(f) => self.pending = Some(f),
                    Err(e) => {
                        self.done = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
            let fut = self.pending.as_mut().expect("set above");
            let result = match Pin::new(fut).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r,
            };
            self.pending = None;
            let chunk = match result {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(cut_short(e))));
                }
            };
            let done = get(&chunk, "done").map(|d| d.is_truthy()).unwrap_or(true);
            let value = get(&chunk, "value").ok().filter(|v| !v.is_undefined());
            if done {
                self.done = true;
            }
            if let Some(view) = value.and_then(|v| v.dyn_into::<Uint8Array>().ok()) {
                let bytes = view.to_vec();
                let buffer = view.buffer();
                if buffer.byte_length() == CAP {
                    self.spare = Some(buffer);
                }
                if !bytes.is_empty() {
                    return Poll::Ready(Some(Ok(Bytes::from(bytes))));
                }
            }
        }
    }
}

/// A request body as the worker holds it: untouched (so that it can be forwarded whole to
/// an Upload object), or being read here. Clones share it, so that whatever a handler left
/// unread can be drained before an early error answer (a client still sending when the
/// server answers and closes sees a reset, not the error).
#[derive(Clone)]
pub struct Body(Rc<RefCell<State>>);

enum State {
    Raw(Option<web_sys::ReadableStream>),
    Reading(BodyStream),
    Forwarded,
    Failed,
}

/// Past this much, an unread body is not worth reading just to answer cleanly.
const DRAIN_LIMIT: u64 = 64 << 20;
/// How long a refused caller's body may hold up its answer.
pub const REFUSAL_MS: u64 = 2_000;
/// How long any other early answer waits for the rest of its body.
pub const EARLY_ANSWER_MS: u64 = 30_000;

impl Body {
    pub fn new(raw: Option<web_sys::ReadableStream>) -> Body {
        Body(Rc::new(RefCell::new(State::Raw(raw))))
    }

    /// The body untouched, to hand to an Upload object (once; after that it is gone).
    pub fn forward(&self) -> Option<web_sys::ReadableStream> {
        let mut state = self.0.borrow_mut();
        match std::mem::replace(&mut *state, State::Forwarded) {
            State::Raw(raw) => raw,
            other => {
                *state = other;
                None
            }
        }
    }

    /// Reads and drops what is left of the body, for at most `within_ms`, then cancels what
    /// is still to come. The answer waits for the body (the runtime sends it once the request
    /// is read, and a client still sending when the server answers and closes sees a reset,
    /// not the answer); the deadline keeps a client that stalls, or a large body, from
    /// holding it up. An untouched body is drained natively (piped into a digest stream), so
    /// not a byte enters wasm; one being read here goes on being read, up to a limit.
    pub async fn discard(&self, within_ms: u64) {
        let raw = match &*self.0.borrow() {
            State::Raw(Some(raw)) if !raw.locked() => Some(raw.clone()),
            State::Reading(_) => None,
            _ => return,
        };
        let deadline = worker::Delay::from(std::time::Duration::from_millis(within_ms));
        match raw {
            Some(raw) => {
                let sink = worker::crypto::DigestStream::new(worker::crypto::DigestStreamAlgorithm::Sha1);
                let writable: &web_sys::WritableStream = sink.raw().unchecked_ref();
                let Ok(abort) = web_sys::AbortController::new() else { return };
                let options = web_sys::StreamPipeOptions::new();
                options.set_signal(&abort.signal());
                let pipe = JsFuture::from(raw.pipe_to_with_options(writable, &options));
                if let futures_util::future::Either::Right(_) = futures_util::future::select(pipe, deadline).await {
                    // past the deadline: stop the pipe, which cancels the body
                    abort.abort();
                }
            }
            None => {
                let drained = self.drain();
                futures_util::pin_mut!(drained);
                if let futures_util::future::Either::Right(_) = futures_util::future::select(drained, deadline).await {
                    self.cancel();
                }
            }
        }
    }

    /// Gives up on the body: the runtime then sends the answer at once.
    fn cancel(&self) {
        let target = match &*self.0.borrow() {
            State::Reading(s) => s.reader.clone(),
            _ => return,
        };
        if let Ok(cancel) =
            get(&target, "cancel").and_then(|f| f.dyn_into::<Function>().map_err(|e| js_err("cancel", e)))
        {
            let _ = cancel.call0(&target);
        }
    }

    /// Reads and drops what is left of the body, up to a limit.
    async fn drain(&self) {
        let mut seen = 0u64;
        let mut me = self.clone();
        while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut me).await {
            seen += chunk.len() as u64;
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
}

impl Stream for Body {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.0.borrow_mut();
        if let State::Raw(raw) = &mut *state {
            *state = match raw.take() {
                None => State::Forwarded,
                Some(r) if r.locked() => State::Forwarded,
                Some(r) => match BodyStream::new(&r) {
                    Ok(s) => State::Reading(s),
                    Err(e) => {
                        *state = State::Failed;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
            };
        }
        match &mut *state {
            State::Reading(s) => Pin::new(s).poll_next(cx),
            _ => Poll::Ready(None),
        }
    }
}

/// Workers are single-threaded: a JS-backed stream may be handed to libraries that ask for
/// `Send` (multer) without ever crossing a thread.
pub struct SendStream<S>(pub S);
// SAFETY: a worker isolate runs one thread; nothing here is ever sent to another.
unsafe impl<S> Send for SendStream<S> {}

impl<S: Stream + Unpin> Stream for SendStream<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}
