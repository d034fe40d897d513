//! A tenant's webhook endpoints and its outbox, kept in its account's storage (pure logic over
//! [`LedgerStore`]). An event is queued in the same atomic write that records what it tells
//! (a file published, deleted, expired), so no restart or crash between the two loses it;
//! the account's alarm then delivers it to each subscribed endpoint, one endpoint's events in
//! the order they were queued (an endpoint whose delivery fails gets nothing newer until it
//! succeeds or is given up), retried on a backoff for a bounded time.
//!
//! Keys: `w:{id}` ([`Endpoint`]), `o:{seq}` ([`Queued`]: an event with a delivery still
//! pending, and its deliveries), `h:{seq}` (an event whose deliveries are all done, delivered
//! or given up: kept [`RETAIN_MS`] for the deliveries' listing and replays), `oseq` (the next
//! sequence number), `onext` (when the outbox next needs its alarm). Done events leave `o:`,
//! so however many are kept, the pending ones are the first read.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::object::LedgerStore;

/// The events a tenant may subscribe to.
pub const KINDS: [&str; 7] = [
    "file.created",
    "file.deleted",
    "file.expired",
    "upload.aborted",
    "link.created",
    "link.downloaded",
    "link.used_up",
];
/// Most endpoints a tenant may register.
pub const MAX_ENDPOINTS: usize = 10;
/// How long a delivered or given-up event is kept for the deliveries' listing.
pub const RETAIN_MS: u64 = 7 * 86_400_000;
/// How many queued events one look at the outbox reads (pending ones: an endpoint down for
/// long holds back, for up to the retry period, the endpoints whose events come after its
/// first thousand).
const SCAN: usize = 1000;
/// How many done events a replay looks through, newest first.
pub const REPLAY_SCAN: usize = 1000;
/// How many done events past their retention one alarm drops.
const PRUNE: usize = 100;

const SEQ: &str = "oseq";
const NEXT: &str = "onext";

/// Where a tenant's events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// The Standard Webhooks secret (`whsec_…`) its messages are signed with.
    pub secret: String,
    pub created_at: u64,
    /// Is it asked before each upload starts (allow or deny)?
    #[serde(default)]
    pub pre_create: bool,
}

/// One event: its id is the message's `webhook-id`, the same at every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened, ms.
    pub at: u64,
    pub data: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Delivered,
    /// Given up after the retry period (a replay sends it again).
    Failed,
}

/// An event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub state: State,
    pub attempts: u32,
    pub first_at: u64,
    pub next_at: u64,
    #[serde(default)]
    pub last_at: Option<u64>,
    #[serde(default)]
    pub last_status: Option<u16>,
    #[serde(default)]
    pub last_error: Option<String>,
}

impl Delivery {
    fn new(now: u64) -> Delivery {
        Delivery {
            state: State::Pending,
            attempts: 0,
            first_at: now,
            next_at: now,
            last_at: None,
            last_status: None,
            last_error: None,
        }
    }
}

/// A queued event and its delivery to each endpoint subscribed when it was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub event: Event,
    pub to: BTreeMap<String, Delivery>,
}

/// One delivery to make now.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub key: String,
    pub event: Event,
    pub endpoint: Endpoint,
}

/// What an attempt got: the receiver's status, or why there was none.
pub type Outcome = Result<u16, String>;

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn endpoint_key(id: &str) -> String {
    format!("w:{id}")
}

fn parse<T: serde::de::DeserializeOwned>(raw: &str) -> Option<T> {
    serde_json::from_str(raw).ok()
}

/// The tenant's endpoints.
pub async fn endpoints<L: LedgerStore>(store: &L) -> Result<Vec<Endpoint>> {
    Ok(store.list("w:").await?.iter().filter_map(|(_, raw)| parse(raw)).collect())
}

/// The endpoint asked before each upload starts, if one is registered.
pub async fn pre_create<L: LedgerStore>(store: &L) -> Result<Option<Endpoint>> {
    Ok(endpoints(store).await?.into_iter().find(|e| e.pre_create))
}

/// Checks an endpoint's URL and events.
pub fn check(url: &str, events: &[String]) -> Result<()> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::bad_request("url must be an http(s) URL of at most 2048 characters"));
    }
    if let Some(bad) = events.iter().find(|e| !KINDS.contains(&e.as_str())) {
        return Err(Error::bad_request(format!("unknown event {bad}: one of {}", KINDS.join(", "))));
    }
    Ok(())
}

/// Registers an endpoint (checked with [`check`]); `409` past [`MAX_ENDPOINTS`] or for a
/// second pre-create endpoint.
pub async fn add<L: LedgerStore>(store: &L, endpoint: Endpoint) -> Result<Endpoint> {
    check(&endpoint.url, &endpoint.events)?;
    let all = endpoints(store).await?;
    if all.len() >= MAX_ENDPOINTS {
        return Err(Error::Conflict(format!("at most {MAX_ENDPOINTS} webhook endpoints")));
    }
    if endpoint.pre_create && all.iter().any(|e| e.pre_create) {
        return Err(Error::Conflict("a pre-create endpoint is registered already".into()));
    }
    store.put(&endpoint_key(&endpoint.id), &json(&endpoint)).await?;
    Ok(endpoint)
}

/// Removes an endpoint; its deliveries still pending are dropped when next looked at.
pub async fn remove<L: LedgerStore>(store: &L, id: &str) -> Result<()> {
    if store.get(&endpoint_key(id)).await?.is_none() {
        return Err(Error::not_found(WEBHOOK_NOT_FOUND));
    }
    store.delete(&endpoint_key(id)).await
}

pub const WEBHOOK_NOT_FOUND: &str = "webhook not found";

/// Queues `events` for the endpoints subscribed to each, as puts of the caller's one write.
pub async fn enqueue<L: LedgerStore>(
    store: &L,
    now: u64,
    events: Vec<(&str, Value)>,
    puts: &mut Vec<(String, String)>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let all = endpoints(store).await?;
    let mut seq: u64 = store.get(SEQ).await?.and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut queued = false;
    for (kind, data) in events {
        let to: BTreeMap<String, Delivery> = all
            .iter()
            .filter(|e| e.events.iter().any(|k| k == kind))
            .map(|e| (e.id.clone(), Delivery::new(now)))
            .collect();
        if to.is_empty() {
            continue;
        }
        let id = format!("msg_{}", crate::engine::file::ids::new_uuid().replace('-', ""));
        let event = Event { id, kind: kind.to_string(), at: now, data };
        puts.push((format!("o:{seq:020}"), json(&Queued { event, to })));
        seq += 1;
        queued = true;
    }
    if queued {
        puts.push((SEQ.to_string(), seq.to_string()));
        puts.push((NEXT.to_string(), now.to_string()));
    }
    Ok(())
}

/// When the outbox next needs its alarm, if ever.
pub async fn next_at<L: LedgerStore>(store: &L) -> Result<Option<u64>> {
    Ok(store.get(NEXT).await?.and_then(|s| s.parse().ok()))
}

/// The queued events, oldest first (up to [`SCAN`]).
async fn queued<L: LedgerStore>(store: &L) -> Result<Vec<(String, Queued)>> {
    let page = store.list_page("o:", None, SCAN).await?;
    Ok(page.into_iter().filter_map(|(k, raw)| parse(&raw).map(|q| (k, q))).collect())
}

/// The deliveries due at `now`, each endpoint's in queue order from its oldest pending one
/// (an endpoint whose oldest is not due yet gets none), at most `limit`.
pub async fn due<L: LedgerStore>(store: &L, now: u64, limit: usize) -> Result<Vec<Attempt>> {
    let all: BTreeMap<String, Endpoint> = endpoints(store).await?.into_iter().map(|e| (e.id.clone(), e)).collect();
    let mut blocked = BTreeSet::new();
    let mut out = Vec::new();
    for (key, q) in queued(store).await? {
        for (endpoint, d) in &q.to {
            if d.state != State::Pending || blocked.contains(endpoint) {
                continue;
            }
            match all.get(endpoint) {
                Some(e) if d.next_at <= now && out.len() < limit => {
                    out.push(Attempt { key: key.clone(), event: q.event.clone(), endpoint: e.clone() })
                }
                // not due (or over the limit): nothing newer for it this time
                Some(_) => {
                    blocked.insert(endpoint.clone());
                }
                // an endpoint removed since: dropped by `record`
                None => {}
            }
        }
    }
    Ok(out)
}

/// The time of attempt `attempts + 1` after a failure, or `None` to give up: `backoff[i]`
/// seconds after attempt `i + 1` (the last step repeated), until `retry_for_ms` after the first.
pub fn retry_at(d: &Delivery, now: u64, backoff: &[u64], retry_for_ms: u64) -> Option<u64> {
    let step = backoff.get((d.attempts as usize).saturating_sub(1)).or(backoff.last()).copied().unwrap_or(60);
    let at = now + step * 1000;
    (at <= d.first_at + retry_for_ms).then_some(at)
}

/// Records what attempts got, drops deliveries to removed endpoints and events kept past
/// [`RETAIN_MS`] that are done, and sets when the outbox next needs its alarm.
pub async fn record<L: LedgerStore>(
    store: &L,
    now: u64,
    results: Vec<(String, String, Outcome)>,
    backoff: &[u64],
    retry_for_ms: u64,
) -> Result<()> {
    let live: BTreeSet<String> = endpoints(store).await?.into_iter().map(|e| e.id).collect();
    let (mut puts, mut deletes) = (Vec::new(), Vec::new());
    let mut next: Option<u64> = None;
    let mut heads = BTreeSet::new();
    for (key, mut q) in queued(store).await? {
        let before = q.clone();
        for (k, endpoint, outcome) in &results {
            let Some(d) = q.to.get_mut(endpoint).filter(|_| *k == key) else { continue };
            d.attempts += 1;
            d.last_at = Some(now);
            let (status, error) = match outcome {
                Ok(s) => (Some(*s), None),
                Err(e) => (None, Some(e.chars().take(200).collect::<String>())),
            };
            (d.last_status, d.last_error) = (status, error);
            if status.is_some_and(|s| (200..300).contains(&s)) {
                d.state = State::Delivered;
            } else {
                match retry_at(d, now, backoff, retry_for_ms) {
                    Some(at) => d.next_at = at,
                    None => d.state = State::Failed,
                }
            }
        }
        q.to.retain(|endpoint, d| live.contains(endpoint) || d.state != State::Pending);
        for (endpoint, d) in &q.to {
            // each endpoint's oldest pending delivery says when it is next due
            if d.state == State::Pending && heads.insert(endpoint.clone()) {
                next = Some(next.map_or(d.next_at, |n| n.min(d.next_at)));
            }
        }
        let done = q.to.values().all(|d| d.state != State::Pending);
        if done {
            // out of the way of what is pending; kept for the listing unless nobody is left
            if !q.to.is_empty() {
                puts.push((format!("h:{}", &key["o:".len()..]), json(&q)));
            }
            deletes.push(key);
        } else if q != before {
            puts.push((key, json(&q)));
        }
    }
    for (key, raw) in store.list_page("h:", None, PRUNE).await? {
        match parse::<Queued>(&raw) {
            Some(q) if q.event.at + RETAIN_MS > now => break,
            _ => deletes.push(key),
        }
    }
    match next {
        Some(at) => puts.push((NEXT.to_string(), at.to_string())),
        None => deletes.push(NEXT.to_string()),
    }
    store.write(&puts, &deletes).await
}

/// The deliveries to endpoint `id`, newest first, at most `limit`.
pub async fn deliveries<L: LedgerStore>(store: &L, id: &str, limit: usize) -> Result<Vec<(Event, Delivery)>> {
    if store.get(&endpoint_key(id)).await?.is_none() {
        return Err(Error::not_found(WEBHOOK_NOT_FOUND));
    }
    // the newest of both, by sequence number (the keys' suffix)
    let mut all = store.list_tail("o:", limit).await?;
    all.extend(store.list_tail("h:", limit).await?);
    all.sort_by(|(a, _), (b, _)| b[2..].cmp(&a[2..]));
    let mut out: Vec<(Event, Delivery)> = all
        .iter()
        .filter_map(|(_, raw)| parse::<Queued>(raw))
        .filter_map(|q| q.to.get(id).cloned().map(|d| (q.event, d)))
        .collect();
    out.truncate(limit);
    Ok(out)
}

/// Sends again every delivery to endpoint `id` that was given up (among the last
/// [`REPLAY_SCAN`] done events); answers how many.
pub async fn replay<L: LedgerStore>(store: &L, now: u64, id: &str) -> Result<u64> {
    if store.get(&endpoint_key(id)).await?.is_none() {
        return Err(Error::not_found(WEBHOOK_NOT_FOUND));
    }
    let (mut puts, mut deletes) = (Vec::new(), Vec::new());
    for (key, raw) in store.list_tail("h:", REPLAY_SCAN).await? {
        let Some(mut q) = parse::<Queued>(&raw) else { continue };
        if let Some(d) = q.to.get_mut(id).filter(|d| d.state == State::Failed) {
            *d = Delivery::new(now);
            // pending again: back where it was in the queue
            puts.push((format!("o:{}", &key["h:".len()..]), json(&q)));
            deletes.push(key);
        }
    }
    let n = puts.len() as u64;
    if n > 0 {
        puts.push((NEXT.to_string(), now.to_string()));
        store.write(&puts, &deletes).await?;
    }
    Ok(n)
}

/// The body of an event's message, as the convention shapes it.
pub fn body(event: &Event) -> String {
    let timestamp = crate::engine::file::ids::iso8601_ms(event.at);
    json(&serde_json::json!({"type": event.kind, "timestamp": timestamp, "data": event.data}))
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use serde_json::json;

    use super::*;
    use crate::store::memory::MemoryLedger;

    fn endpoint(id: &str, events: &[&str]) -> Endpoint {
        Endpoint {
            id: id.into(),
            url: format!("https://hooks.example/{id}"),
            events: events.iter().map(|e| e.to_string()).collect(),
            secret: "whsec_AAAA".into(),
            created_at: 0,
            pre_create: false,
        }
    }

    fn queue(s: &MemoryLedger, now: u64, kind: &str, n: u64) {
        let mut puts = Vec::new();
        block_on(enqueue(s, now, vec![(kind, json!({"n": n}))], &mut puts)).unwrap();
        block_on(s.write(&puts, &[])).unwrap();
    }

    #[test]
    fn events_go_to_subscribers_in_order_and_a_failure_holds_back_what_is_newer() {
        let s = MemoryLedger::default();
        block_on(add(&s, endpoint("a", &["file.created"]))).unwrap();
        block_on(add(&s, endpoint("b", &["file.created", "file.deleted"]))).unwrap();
        queue(&s, 0, "file.created", 1);
        queue(&s, 0, "file.deleted", 2);
        queue(&s, 0, "link.created", 3);
        assert_eq!(block_on(next_at(&s)).unwrap(), Some(0));
        let first = block_on(due(&s, 0, 10)).unwrap();
        let got: Vec<(&str, &str)> = first.iter().map(|a| (a.endpoint.id.as_str(), a.event.kind.as_str())).collect();
        assert_eq!(
            got,
            [("a", "file.created"), ("b", "file.created"), ("b", "file.deleted")],
            "no subscriber: not queued"
        );
        // b fails its first: its second is not tried
        let results =
            vec![(first[0].key.clone(), "a".to_string(), Ok(204)), (first[1].key.clone(), "b".to_string(), Ok(500))];
        block_on(record(&s, 0, results, &[5, 30], 86_400_000)).unwrap();
        assert_eq!(block_on(next_at(&s)).unwrap(), Some(5_000), "b's first, retried in 5 s");
        assert!(block_on(due(&s, 4_999, 10)).unwrap().is_empty(), "b's second waits behind its first");
        let again = block_on(due(&s, 5_000, 10)).unwrap();
        assert_eq!(again.len(), 2, "then both, in order");
        assert_eq!(again[0].event.id, first[1].event.id, "the same webhook-id");
        let history = block_on(deliveries(&s, "b", 10)).unwrap();
        assert_eq!((history[1].1.attempts, history[1].1.last_status), (1, Some(500)), "newest first");
    }

    #[test]
    fn deliveries_are_given_up_after_the_retry_period_and_replayed() {
        let s = MemoryLedger::default();
        block_on(add(&s, endpoint("a", &["file.expired"]))).unwrap();
        queue(&s, 0, "file.expired", 1);
        let mut now = 0;
        for _ in 0..3 {
            let attempts = block_on(due(&s, now, 10)).unwrap();
            let results = vec![(attempts[0].key.clone(), "a".to_string(), Err("connection refused".to_string()))];
            block_on(record(&s, now, results, &[10], 25_000)).unwrap();
            now += 10_000;
        }
        let d = &block_on(deliveries(&s, "a", 10)).unwrap()[0].1;
        assert_eq!((d.state, d.attempts, d.last_error.as_deref()), (State::Failed, 3, Some("connection refused")));
        assert_eq!(block_on(next_at(&s)).unwrap(), None, "nothing pending: no alarm");
        assert_eq!(block_on(replay(&s, now, "a")).unwrap(), 1);
        assert_eq!(block_on(due(&s, now, 10)).unwrap().len(), 1);
        assert!(matches!(block_on(replay(&s, now, "zz")), Err(Error::NotFound(_))));
    }

    #[test]
    fn done_events_leave_the_queue_so_that_many_kept_never_hide_a_pending_one() {
        let s = MemoryLedger::default();
        block_on(add(&s, endpoint("a", &["file.created"]))).unwrap();
        for n in 0..(SCAN as u64 + 5) {
            queue(&s, n, "file.created", n);
            let attempts = block_on(due(&s, n, 10)).unwrap();
            let results = attempts.iter().map(|a| (a.key.clone(), "a".to_string(), Ok(200))).collect();
            block_on(record(&s, n, results, &[5], 86_400_000)).unwrap();
        }
        queue(&s, 5_000, "file.created", 99_999);
        let due = block_on(due(&s, 5_000, 10)).unwrap();
        assert_eq!(due.len(), 1, "the new event, behind {} delivered ones", SCAN + 5);
        assert_eq!(due[0].event.data["n"], 99_999);
        let listed = block_on(deliveries(&s, "a", 3)).unwrap();
        assert_eq!(listed[0].0.data["n"], 99_999, "newest first, pending or done");
        assert_eq!((listed[1].0.data["n"].as_u64(), listed[1].1.state), (Some(SCAN as u64 + 4), State::Delivered));
        // kept for their retention, then dropped a hundred at a time
        block_on(record(&s, RETAIN_MS + 2_000, Vec::new(), &[5], 1)).unwrap();
        assert_eq!(block_on(s.list("h:")).unwrap().len(), SCAN + 5 - PRUNE);
    }

    #[test]
    fn endpoints_are_checked_and_bounded() {
        let s = MemoryLedger::default();
        assert!(block_on(add(&s, Endpoint { url: "ftp://x".into(), ..endpoint("a", &[]) })).is_err());
        assert!(block_on(add(&s, endpoint("a", &["file.renamed"]))).is_err());
        for i in 0..MAX_ENDPOINTS {
            block_on(add(&s, endpoint(&format!("e{i}"), &["file.created"]))).unwrap();
        }
        assert!(matches!(block_on(add(&s, endpoint("x", &[]))), Err(Error::Conflict(_))));
        block_on(remove(&s, "e0")).unwrap();
        let hook = Endpoint { pre_create: true, ..endpoint("p", &[]) };
        block_on(add(&s, hook.clone())).unwrap();
        assert_eq!(block_on(pre_create(&s)).unwrap(), Some(hook));
        block_on(remove(&s, "e1")).unwrap();
        assert!(matches!(
            block_on(add(&s, Endpoint { pre_create: true, ..endpoint("q", &[]) })),
            Err(Error::Conflict(_))
        ));
    }
}
