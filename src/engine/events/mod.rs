//! Signed events for a tenant's webhook endpoints: the endpoints and the outbox in its account
//! ([`outbox`]), their delivery from the account's alarm ([`Ctx::deliver_events`]), signed as
//! Standard Webhooks do ([`crate::http::webhook`]), and the blocking pre-create hook asked
//! before an upload starts ([`Ctx::ask_pre_create`]). Outgoing requests go through the
//! platform's [`Fetch`].
//!
//! Why the account's alarm and not Cloudflare Queues: the event must be recorded in the same
//! strongly consistent write that records the file, and that write is the account's; its
//! alarm is already what wakes it (expiry), survives restarts, and needs no other binding or
//! plan (Queues are a paid feature). Delivery order per endpoint is the account's to keep.
//!
//! May import: the context, `crate::{error, store, http, config}`. No other room: the account
//! (`catalog`) queues events through [`outbox`].

pub mod outbox;

use futures_util::future::LocalBoxFuture;
use serde_json::json;

use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::http::webhook;
use crate::store::object::LedgerStore;
use crate::store::Platform;
use outbox::Endpoint;

/// Most deliveries one alarm makes (the Free plan allows 50 requests to the Internet per
/// invocation; the rest wait for the next alarm, a second later).
pub const DELIVERIES_PER_RUN: usize = 40;
/// How long a pre-create endpoint has to answer.
pub const PRE_CREATE_TIMEOUT_MS: u64 = 5_000;
/// How long a delivery has to answer.
pub const DELIVERY_TIMEOUT_MS: u64 = 10_000;

/// An outgoing `POST` (the platform's `fetch`): the receiver's status and the start of its
/// body, or why there was none (no answer within `timeout_ms`, a refused connection).
pub trait Fetch {
    fn post<'a>(
        &'a self,
        url: &'a str,
        headers: &'a [(String, String)],
        body: &'a str,
        timeout_ms: u64,
    ) -> LocalBoxFuture<'a, Result<(u16, String), String>>;
}

/// What a pre-create endpoint is told of an upload about to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starting<'a> {
    pub tenant: &'a str,
    pub id: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub dialect: &'a str,
    pub size: Option<u64>,
}

impl<P: Platform> Ctx<'_, P> {
    /// Delivers what is due in an account's outbox (inside its object, from its alarm);
    /// answers how many deliveries were made.
    pub async fn deliver_events<L: LedgerStore>(&self, store: &L) -> Result<usize> {
        let Some(fetch) = self.fetch else { return Ok(0) };
        let attempts = outbox::due(store, self.now(), DELIVERIES_PER_RUN).await?;
        if attempts.is_empty() {
            return Ok(0);
        }
        let mut failed = std::collections::BTreeSet::new();
        let mut results = Vec::new();
        for a in attempts {
            // an endpoint that failed in this run gets nothing newer until its retry
            if failed.contains(&a.endpoint.id) {
                continue;
            }
            let body = outbox::body(&a.event);
            let headers = webhook::headers(&a.endpoint.secret, &a.event.id, self.now() / 1000, &body);
            let outcome = fetch.post(&a.endpoint.url, &headers, &body, DELIVERY_TIMEOUT_MS).await.map(|(s, _)| s);
            if !outcome.as_ref().is_ok_and(|s| (200..300).contains(s)) {
                failed.insert(a.endpoint.id.clone());
            }
            results.push((a.key, a.endpoint.id, outcome));
        }
        let made = results.len();
        let retry_for = self.config.webhook_retry_for * 1000;
        outbox::record(store, self.now(), results, &self.config.webhook_backoff, retry_for).await?;
        Ok(made)
    }

    /// Asks the tenant's pre-create endpoint whether an upload may start: allowed by a `2xx`
    /// whose JSON body does not say `"allow": false`; anything else (a refusal, no answer
    /// within [`PRE_CREATE_TIMEOUT_MS`], an error) is `403`.
    pub async fn ask_pre_create(&self, hook: &Endpoint, upload: &Starting<'_>) -> Result<()> {
        let refused =
            |why: &str| Err(Error::Forbidden(format!("upload refused by the tenant's pre-create hook{why}").into()));
        let Some(fetch) = self.fetch else { return refused(": no way to ask it") };
        let id = format!("msg_{}", crate::engine::file::ids::new_uuid().replace('-', ""));
        let data = json!({
            "tenant": upload.tenant, "id": upload.id, "name": upload.name, "content_type": upload.content_type,
            "dialect": upload.dialect, "size": upload.size,
        });
        let event = outbox::Event { id: id.clone(), kind: "upload.pre_create".into(), at: self.now(), data };
        let body = outbox::body(&event);
        let headers = webhook::headers(&hook.secret, &id, self.now() / 1000, &body);
        match fetch.post(&hook.url, &headers, &body, PRE_CREATE_TIMEOUT_MS).await {
            Ok((status, answer)) if (200..300).contains(&status) => {
                let verdict: Option<serde_json::Value> = serde_json::from_str(&answer).ok();
                match verdict.as_ref().and_then(|v| v.get("allow")).and_then(|a| a.as_bool()) {
                    Some(false) => {
                        let reason = verdict.as_ref().and_then(|v| v.get("reason")).and_then(|r| r.as_str());
                        refused(
                            &reason
                                .map(|r| format!(": {}", r.chars().take(200).collect::<String>()))
                                .unwrap_or_default(),
                        )
                    }
                    _ => Ok(()),
                }
            }
            Ok((status, _)) => refused(&format!(" (it answered {status})")),
            Err(_) => refused(" (it did not answer)"),
        }
    }
}
