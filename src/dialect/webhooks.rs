//! A tenant's webhooks under `/v1/webhooks` (edgeshare's own API, its errors the native
//! `{"error": {"code", "message"}}`): register an endpoint (its secret shown once), list and
//! remove them, list an endpoint's deliveries, replay the ones given up. The endpoints, the
//! outbox and the deliveries are the tenant's account's ([`crate::engine::events`]); this
//! module parses the requests and renders the answers.

use serde_json::{json, Value};

use super::Op::Webhooks;
use super::{form, Dialect, Reply, Request, Service};
use crate::engine::catalog::account::{AccountAnswer, AccountCall};
use crate::engine::events::outbox::{self, Delivery, Endpoint, Event, State};
use crate::engine::file::ids::{iso8601_ms, new_uuid};
use crate::error::{Error, Result};
use crate::http::webhook;
use crate::route::{row, Media, PathParam, Spec, Table, JSON};
use crate::store::{Body, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    List,
    Delete,
    Deliveries,
    Replay,
}

pub const TABLE: Table<Dialect, super::Op> = Table {
    dialect: Dialect::Native,
    prefixes: &[""],
    method_override: false,
    endpoints: &[
        row!(Post "/v1/webhooks", Webhooks(Op::Create), Tenant, Read,
            "Registers a webhook endpoint: JSON `{\"url\", \"events\": [...], \"pre_create\": false}`: 201 `{\"id\", \
            \"url\", \"events\", \"pre_create\", \"created_at\", \"secret\"}`. Events: `file.created`, `file.deleted`, \
            `file.expired`, `upload.aborted`, `link.created`, `link.downloaded`, `link.used_up`. Messages are signed as \
            Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,…`) with the secret \
            (`whsec_…`), shown in this answer only. With `pre_create`, the endpoint is asked before each upload starts \
            (at most one such endpoint).")
        .with(Spec::ok(&[(201, Media::Json)]).takes(JSON).errors(&[409])),
        row!(Get "/v1/webhooks", Webhooks(Op::List), Tenant, None,
            "The tenant's webhook endpoints, without their secrets: `{\"webhooks\": [...]}`."),
        row!(Delete "/v1/webhooks/{id}", Webhooks(Op::Delete), Tenant, None,
            "Removes an endpoint: 204; what was queued for it is dropped.")
        .with(Spec::ok(&[(204, Media::Empty)])),
        row!(Get "/v1/webhooks/{id}/deliveries", Webhooks(Op::Deliveries), Tenant, None,
            "An endpoint's deliveries, newest first (up to 100): `{\"deliveries\": [{\"event_id\", \"type\", \
            \"created_at\", \"state\", \"attempts\", \"last_status\", \"last_error\", \"last_attempt_at\", \
            \"next_attempt_at\"}]}`; `state` is `pending`, `delivered` or `failed` (given up)."),
        row!(Post "/v1/webhooks/{id}/replay", Webhooks(Op::Replay), Tenant, None,
            "Sends again, in order, every delivery to the endpoint that was given up: `{\"replayed\": n}`."),
    ],
};

pub async fn handle<P: Platform>(svc: &Service<'_, P>, op: Op, req: &Request<'_>, body: Body<P>) -> Result<Reply> {
    serve(svc, op, &req.tenant()?.0, req, body).await
}

/// Serves `tenant`'s webhooks: for the tenant itself, or for the operator
/// (`/v1/admin/tenants/{tenant}/webhooks`).
pub async fn serve<P: Platform>(
    svc: &Service<'_, P>,
    op: Op,
    tenant: &str,
    req: &Request<'_>,
    body: Body<P>,
) -> Result<Reply> {
    let tenant = crate::auth::Tenant(tenant.to_string());
    let tenant = &tenant;
    let ctx = svc.ctx;
    let id = || req.params.get(PathParam::Id).to_string();
    let call = |c: AccountCall| ctx.account(&tenant.0, c);
    match op {
        Op::Create => {
            let fields = form::small_json(P::read(body)).await?;
            let endpoint = endpoint_of(&fields, ctx.now())?;
            let AccountAnswer::Webhook { endpoint } =
                call(AccountCall::AddWebhook { tenant: tenant.0.clone(), endpoint }).await?
            else {
                return Err(unexpected());
            };
            let mut answer = endpoint_json(&endpoint);
            answer["secret"] = json!(endpoint.secret);
            Ok(Reply::json(201, answer))
        }
        Op::List => {
            let AccountAnswer::Webhooks { endpoints } = call(AccountCall::ListWebhooks).await? else {
                return Err(unexpected());
            };
            Ok(Reply::json(200, json!({"webhooks": endpoints.iter().map(endpoint_json).collect::<Vec<_>>()})))
        }
        Op::Delete => {
            call(AccountCall::DeleteWebhook { id: id() }).await?;
            Ok(Reply::Empty { status: 204, headers: Vec::new() })
        }
        Op::Deliveries => {
            let AccountAnswer::Deliveries { deliveries } = call(AccountCall::Deliveries { id: id() }).await? else {
                return Err(unexpected());
            };
            let list: Vec<Value> = deliveries.iter().map(|(e, d)| delivery_json(e, d)).collect();
            Ok(Reply::json(200, json!({"deliveries": list})))
        }
        Op::Replay => {
            let AccountAnswer::Replayed { n } = call(AccountCall::Replay { id: id() }).await? else {
                return Err(unexpected());
            };
            Ok(Reply::json(200, json!({"replayed": n})))
        }
    }
}

fn unexpected() -> Error {
    Error::Internal("account answered otherwise".into())
}

/// A new endpoint from its JSON, with a fresh id and secret.
fn endpoint_of(fields: &serde_json::Map<String, Value>, now: u64) -> Result<Endpoint> {
    let url = fields.get("url").and_then(Value::as_str).ok_or_else(|| Error::bad_request("url is required"))?;
    let events = match fields.get("events") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|e| e.as_str().map(String::from).ok_or_else(|| Error::bad_request("events must be strings")))
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(Error::bad_request("events must be a list")),
    };
    let pre_create = match fields.get("pre_create") {
        None | Some(Value::Null) => false,
        Some(v) => v.as_bool().ok_or_else(|| Error::bad_request("pre_create must be true or false"))?,
    };
    if events.is_empty() && !pre_create {
        return Err(Error::bad_request("events is required (or pre_create)"));
    }
    outbox::check(url, &events)?;
    let id = new_uuid().replace('-', "")[..16].to_string();
    Ok(Endpoint { id, url: url.to_string(), events, secret: webhook::new_secret(), created_at: now, pre_create })
}

/// An endpoint, never its secret.
fn endpoint_json(e: &Endpoint) -> Value {
    json!({"id": e.id, "url": e.url, "events": e.events, "pre_create": e.pre_create, "created_at": iso8601_ms(e.created_at)})
}

fn delivery_json(e: &Event, d: &Delivery) -> Value {
    let state = match d.state {
        State::Pending => "pending",
        State::Delivered => "delivered",
        State::Failed => "failed",
    };
    json!({
        "event_id": e.id,
        "type": e.kind,
        "created_at": iso8601_ms(e.at),
        "state": state,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "last_attempt_at": d.last_at.map(iso8601_ms),
        "next_attempt_at": (d.state == State::Pending).then(|| iso8601_ms(d.next_at)),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::http::webhook;
    use crate::route::Method::{self, *};
    use crate::testkit::{World, ACME_BEARER, BOBCO_BEARER};

    fn call(w: &World, m: Method, path: &str, auth: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let r = w.send(m, path, &[("Authorization", auth), ("Content-Type", "application/json")], body);
        let json = match r.status() {
            204 => Value::Null,
            _ => World::json(&r),
        };
        (r.status(), json)
    }

    fn tus(w: &World, bytes: &[u8]) -> (u16, String) {
        let len = bytes.len().to_string();
        let headers = [
            ("Authorization", ACME_BEARER),
            ("Tus-Resumable", "1.0.0"),
            ("Upload-Length", len.as_str()),
            ("Content-Type", "application/offset+octet-stream"),
        ];
        let r = w.send(Post, "/files/", &headers, bytes.to_vec());
        let id = r.header("Location").map(|l| l.rsplit('/').next().unwrap().to_string()).unwrap_or_default();
        (r.status(), id)
    }

    /// Each message sent so far: its headers' webhook-id, and its body, checked against the
    /// secret as a receiver would.
    fn received(w: &World, secret: &str) -> Vec<(String, Value)> {
        w.fetch
            .sent
            .borrow()
            .iter()
            .map(|(_, headers, body)| {
                let h = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
                let (id, ts) = (h("webhook-id"), h("webhook-timestamp").parse::<u64>().unwrap());
                assert_eq!(Some(h("webhook-signature")), webhook::signature(secret, &id, ts, body), "signed");
                (id, serde_json::from_str(body).unwrap())
            })
            .collect()
    }

    #[test]
    fn events_are_signed_retried_in_order_and_listed() {
        let w = World::new();
        let ask =
            json!({"url": "https://hooks.example/in", "events": ["file.created", "file.deleted", "file.expired"]});
        let (status, hook) = call(&w, Post, "/v1/webhooks", ACME_BEARER, ask);
        assert_eq!(status, 201, "{hook}");
        let secret = hook["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"));
        let id = hook["id"].as_str().unwrap().to_string();
        let (_, list) = call(&w, Get, "/v1/webhooks", ACME_BEARER, Value::Null);
        assert!(!list.to_string().contains(&secret), "no secret listed: {list}");
        assert_eq!(call(&w, Get, "/v1/webhooks", BOBCO_BEARER, Value::Null).1["webhooks"], json!([]));
        assert_eq!(call(&w, Delete, &format!("/v1/webhooks/{id}"), BOBCO_BEARER, Value::Null).0, 404);

        // the receiver fails three times (500, no answer, 503), then takes it
        w.fetch.answers.borrow_mut().extend([
            Ok((500, String::new())),
            Err("refused".into()),
            Ok((503, String::new())),
        ]);
        let (status, file) = tus(&w, b"hello events");
        assert_eq!(status, 201);
        for _ in 0..4 {
            w.sweep();
            w.advance(600_000);
        }
        let got = received(&w, &secret);
        assert_eq!(got.len(), 4, "four attempts");
        assert!(got.iter().all(|(i, _)| *i == got[0].0), "one webhook-id for every attempt");
        let body = &got[3].1;
        assert_eq!((body["type"].as_str(), body["data"]["id"].as_str()), (Some("file.created"), Some(file.as_str())));
        assert_eq!((body["data"]["size"].as_u64(), body["data"]["dialect"].as_str()), (Some(12), Some("tus")));
        let (_, d) = call(&w, Get, &format!("/v1/webhooks/{id}/deliveries"), ACME_BEARER, Value::Null);
        let d = &d["deliveries"][0];
        assert_eq!(
            (d["state"].as_str(), d["attempts"].as_u64(), d["last_status"].as_u64()),
            (Some("delivered"), Some(4), Some(200))
        );
        w.sweep();
        assert_eq!(w.fetch.sent.borrow().len(), 4, "delivered once");

        // deleted, then another file expires: in order, each once
        assert_eq!(call(&w, Delete, &format!("/v1/files/{file}"), ACME_BEARER, Value::Null).0, 204);
        let r = w.send(
            Post,
            "/uploads?ttl=60",
            &[("Authorization", crate::testkit::ACME_BASIC), ("Content-Type", "multipart/form-data; boundary=X")],
            b"--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.txt\"\r\n\r\nbye\r\n--X--\r\n"
                .to_vec(),
        );
        assert_eq!(r.status(), 200);
        w.sweep();
        w.advance(61_000);
        w.sweep();
        let kinds: Vec<String> =
            received(&w, &secret)[4..].iter().map(|(_, b)| b["type"].as_str().unwrap().to_string()).collect();
        assert_eq!(kinds, ["file.deleted", "file.created", "file.expired"]);
    }

    #[test]
    fn a_pre_create_endpoint_allows_or_refuses_uploads_and_failed_deliveries_are_replayed() {
        let mut w = World::new();
        w.config.webhook_retry_for = 1;
        let ask = json!({"url": "https://hooks.example/gate", "pre_create": true, "events": ["upload.aborted"]});
        let (status, hook) = call(&w, Post, "/v1/webhooks", ACME_BEARER, ask);
        assert_eq!(status, 201, "{hook}");
        let id = hook["id"].as_str().unwrap().to_string();
        w.fetch.answers.borrow_mut().push_back(Ok((200, r#"{"allow": false, "reason": "no videos"}"#.into())));
        assert_eq!(tus(&w, b"refused").0, 403);
        let (_, asked) = received(&w, hook["secret"].as_str().unwrap()).pop().unwrap();
        assert_eq!((asked["type"].as_str(), asked["data"]["size"].as_u64()), (Some("upload.pre_create"), Some(7)));
        assert_eq!(
            World::json(&w.send(Get, "/v1/usage", &[("Authorization", ACME_BEARER)], Vec::new()))
                ["uploads_in_progress"],
            0
        );
        w.fetch.answers.borrow_mut().push_back(Err("no answer".into()));
        assert_eq!(tus(&w, b"unasked").0, 403, "no answer: refused");
        assert_eq!(tus(&w, b"allowed").0, 201, "a 2xx allows");

        // an upload given up is told of; its delivery fails past the retry period, then is replayed
        let headers = [("Authorization", ACME_BEARER), ("Tus-Resumable", "1.0.0"), ("Upload-Length", "100")];
        let r = w.send(Post, "/files/", &headers, Vec::new());
        let url = r.header("Location").unwrap().to_string();
        let path = &url[url.find("/files/").unwrap()..];
        assert_eq!(w.send(Delete, path, &[headers[0], headers[1]], Vec::new()).status(), 204);
        w.fetch.answers.borrow_mut().push_back(Ok((500, String::new())));
        w.sweep();
        let (_, d) = call(&w, Get, &format!("/v1/webhooks/{id}/deliveries"), ACME_BEARER, Value::Null);
        assert_eq!(
            (d["deliveries"][0]["type"].as_str(), d["deliveries"][0]["state"].as_str()),
            (Some("upload.aborted"), Some("failed"))
        );
        assert_eq!(call(&w, Post, &format!("/v1/webhooks/{id}/replay"), ACME_BEARER, Value::Null).1["replayed"], 1);
        w.sweep();
        let (_, d) = call(&w, Get, &format!("/v1/webhooks/{id}/deliveries"), ACME_BEARER, Value::Null);
        assert_eq!(d["deliveries"][0]["state"], "delivered");
        assert_eq!(call(&w, Delete, &format!("/v1/webhooks/{id}"), ACME_BEARER, Value::Null).0, 204);
        assert_eq!(tus(&w, b"no gate").0, 201);
    }

    #[test]
    fn share_links_tell_of_their_creation_downloads_and_last_download() {
        let w = World::new();
        let ask = json!({"url": "https://hooks.example/links", "events": ["link.created", "link.downloaded", "link.used_up"]});
        let secret = call(&w, Post, "/v1/webhooks", ACME_BEARER, ask).1["secret"].as_str().unwrap().to_string();
        let (_, file) = tus(&w, b"shared");
        let (status, link) =
            call(&w, Post, &format!("/v1/files/{file}/links"), ACME_BEARER, json!({"max_downloads": 1}));
        assert_eq!(status, 201, "{link}");
        let token = link["token"].as_str().unwrap();
        assert_eq!(w.send(Get, &format!("/s/{token}"), &[], Vec::new()).status(), 200);
        w.sweep();
        let got = received(&w, &secret);
        let kinds: Vec<&str> = got.iter().map(|(_, b)| b["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["link.created", "link.downloaded", "link.used_up"]);
        assert_eq!(got[1].1["data"]["link"]["downloads"], 1);
        assert!(!got.iter().any(|(_, b)| b.to_string().contains(token)), "never the whole token");
    }

    /// An invented endpoint id costs one look in the account and writes nothing, whatever the
    /// route; no credentials are `401`.
    #[test]
    fn invented_ids_write_nothing() {
        let w = World::new();
        assert_eq!(call(&w, Get, "/v1/webhooks", ACME_BEARER, Value::Null).0, 200);
        let account = w.ledger("account:acme");
        let before = account.entries.borrow().clone();
        for (m, path) in [
            (Delete, "/v1/webhooks/0123456789abcdef"),
            (Get, "/v1/webhooks/0123456789abcdef/deliveries"),
            (Post, "/v1/webhooks/0123456789abcdef/replay"),
        ] {
            assert_eq!(call(&w, m, path, ACME_BEARER, Value::Null).0, 404, "{path}");
        }
        assert_eq!(*account.entries.borrow(), before, "nothing written");
        assert_eq!(w.send(Get, "/v1/webhooks", &[], Vec::new()).status(), 401);
        assert_eq!(w.send(Get, "/v1/usage", &[], Vec::new()).status(), 401);
    }

    #[test]
    fn bad_endpoints_are_400() {
        let w = World::new();
        for bad in [
            json!({"events": ["file.created"]}),
            json!({"url": "ftp://x", "events": ["file.created"]}),
            json!({"url": "https://x", "events": ["file.renamed"]}),
            json!({"url": "https://x"}),
            json!({"url": "https://x", "events": "file.created"}),
        ] {
            assert_eq!(call(&w, Post, "/v1/webhooks", ACME_BEARER, bad.clone()).0, 400, "{bad}");
        }
    }
}
