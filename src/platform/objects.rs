//! The worker's side of the Durable Objects ([`Objects`]). The Upload object: each
//! [`UploadCall`] goes to the object named by the upload id as JSON in a header, with the
//! request body streamed through untouched; the answer comes back as JSON
//! `Result<Option<UploadState>, Error>`. The Ledger object: a ledger call
//! (`crate::engine::ledger::LedgerCall`) as the JSON body, a JSON `Result<LedgerAnswer, Error>`
//! back.

use base64::Engine;
use wasm_bindgen::JsValue;
use worker::{Request, Response};

use super::body::{Body, SendStream};
use crate::engine::upload::calls::UploadCall;
use crate::engine::upload::state::UploadState;
use crate::error::{Error, Result};
use crate::store::object::{ByteStream, Objects};

/// The header carrying a call (base64url JSON, since file names are not Latin-1).
pub const CALL_HEADER: &str = "x-edgeshare-call";

/// Reads the call off a request to the object.
pub fn call_of(req: &Request) -> Result<UploadCall> {
    let raw = req
        .headers()
        .get(CALL_HEADER)
        .ok()
        .flatten()
        .ok_or_else(|| Error::Internal("upload object: no call".into()))?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|e| Error::Internal(format!("upload object: call: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| Error::Internal(format!("upload object: call: {e}")))
}

/// The object's answer to a call.
pub fn answer(result: Result<Option<UploadState>>) -> worker::Result<Response> {
    Response::from_json(&result)
}

/// The Durable Objects, as the worker reaches them: the uploads' and the ledgers'.
pub struct DurableObjects {
    pub ns: worker::ObjectNamespace,
    pub ledgers: worker::ObjectNamespace,
}

impl Objects for DurableObjects {
    type Body = Body;

    fn read(body: Body) -> ByteStream {
        Box::pin(SendStream(body))
    }

    async fn upload_call(&self, id: &str, call: String, body: Option<Body>) -> Result<String> {
        let fail = |e: worker::Error| Error::Storage(format!("upload object: {e}"));
        let stub = self.ns.get_by_name(id).map_err(fail)?;
        let headers = worker::Headers::new();
        headers.set(CALL_HEADER, &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(call)).map_err(fail)?;
        let mut init = worker::RequestInit::new();
        let raw = body.and_then(|b| b.forward());
        init.with_method(worker::Method::Post).with_headers(headers).with_body(raw.map(JsValue::from));
        let req = Request::new_with_init("https://upload/", &init).map_err(fail)?;
        let mut resp = stub.fetch_with_request(req).await.map_err(fail)?;
        resp.text().await.map_err(fail)
    }

    async fn ledger_call(&self, name: &str, call: String) -> Result<String> {
        let fail = |e: worker::Error| Error::Storage(format!("ledger object: {e}"));
        let stub = self.ledgers.get_by_name(name).map_err(fail)?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post).with_body(Some(JsValue::from_str(&call)));
        let req = Request::new_with_init("https://ledger/", &init).map_err(fail)?;
        let mut resp = stub.fetch_with_request(req).await.map_err(fail)?;
        resp.text().await.map_err(fail)
    }
}
