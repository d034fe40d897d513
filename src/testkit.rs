//! The one in-memory world of the host tests: config with two tenants and an operator's token
//! ([`ADMIN_TOKEN`]), in-memory R2, KV and
//! expiries, one in-memory Upload object per upload id (its storage goes through JSON on
//! every load, as across requests and restarts in the worker), a clock the test advances,
//! and [`World::fire_alarms`]. Requests go through [`crate::dialect::serve`], routing and
//! authentication included, as the worker sends them.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::task::Poll;

use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use futures_util::{stream, Stream, StreamExt};

use crate::auth::{credential_hash, AdminCredentials, Credentials, JwtSecrets};
use crate::config::Config;
use crate::dialect::{self, Head, Outcome, Reply, Service};
use crate::engine::catalog::sweep::Swept;
use crate::engine::catalog::tally::Counters;
use crate::engine::ledger::{self, LedgerCall};
use crate::engine::tenant::cache::Cache;
use crate::engine::upload::calls::{serve, Object, UploadCall};
use crate::engine::upload::run::{next_alarm, Saved};
use crate::engine::upload::sha256::{NativeSha256, Sha2Native};
use crate::engine::upload::turns::Turns;
use crate::engine::Ctx;
use crate::engine::Later;
use crate::error::{Error, Result};
use crate::http::auth_header::Presented;
use crate::route::Method;
use crate::store::memory::{MemoryBlobs, MemoryMeta};
pub use crate::store::memory::{MemoryLedger, MemoryUploadStore};
use crate::store::object::{ByteStream, Objects};
use crate::store::Platform;

/// Tenant `acme`: Basic `foo:bar`, Bearer `tok`.
pub const ACME_BASIC: &str = "Basic Zm9vOmJhcg==";
pub const ACME_BEARER: &str = "Bearer tok";
/// Tenant `bobco`: Basic `bob:pw`, Bearer `tok-bob`.
pub const BOBCO_BASIC: &str = "Basic Ym9iOnB3";
pub const BOBCO_BEARER: &str = "Bearer tok-bob";

/// Tenant `acme`'s OpenTera static token, and each tenant's JWT secret.
pub const ACME_OPENTERA_STATIC: &str = "acme-static-token";
pub const ACME_JWT_SECRET: &str = "acme-jwt-secret-0123456789";
pub const BOBCO_JWT_SECRET: &str = "bobco-jwt-secret-0123456789";

/// The operator's token (`EDGESHARE_ADMIN_CREDENTIALS`), and its `Authorization` header.
pub const ADMIN_TOKEN: &str = "admin-token-0123456789";
pub const ADMIN_BEARER: &str = "Bearer admin-token-0123456789";

/// 2024-05-02T10:00:00.000Z
pub const T0: u64 = 1_714_644_000_000;

/// A request body: its bytes, then (if `stall`) silence forever, as from a client that
/// stopped sending without closing, or (if `cut`) the error of a client that went away
/// before the body's declared end.
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub stall: bool,
    pub cut: bool,
    /// Wait once after the first 64 KiB (letting a request run beside it meanwhile).
    pub pause: bool,
}

impl From<&[u8]> for Body {
    fn from(b: &[u8]) -> Body {
        Body { bytes: b.to_vec(), ..Body::default() }
    }
}

impl<const N: usize> From<&[u8; N]> for Body {
    fn from(b: &[u8; N]) -> Body {
        Body { bytes: b.to_vec(), ..Body::default() }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body { bytes, ..Body::default() }
    }
}

impl Body {
    fn stream(self) -> impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static {
        let mut chunks: Vec<Result<Bytes>> =
            self.bytes.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let rest = if self.pause && chunks.len() > 1 { chunks.split_off(1) } else { Vec::new() };
        let pause = if self.pause { pause_once().boxed() } else { stream::empty().boxed() };
        let tail = if self.stall {
            stream::pending().boxed()
        } else if self.cut {
            stream::iter([Err(Error::IncompleteBody("connection reset".into()))]).boxed()
        } else {
            stream::empty().boxed()
        };
        stream::iter(chunks).chain(pause).chain(stream::iter(rest)).chain(tail)
    }
}

/// A stream that is pending once (waking itself), then ends.
fn pause_once() -> impl Stream<Item = Result<Bytes>> + Send + Unpin {
    let mut paused = false;
    stream::poll_fn(move |cx| {
        if paused {
            return Poll::Ready(None);
        }
        paused = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// One upload's object: its storage, its turns, its alarm.
#[derive(Default)]
pub struct MemoryObject {
    pub store: MemoryUploadStore,
    pub turns: Turns,
    pub alarm: Cell<Option<u64>>,
}

/// The rate-limiting binding: at most `limit` attempts per key (one window: tests move no
/// window on).
pub struct MemoryThrottle {
    pub limit: Cell<u32>,
    pub counts: RefCell<BTreeMap<String, u32>>,
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        MemoryThrottle { limit: Cell::new(10), counts: RefCell::default() }
    }
}

impl crate::engine::throttle::Throttle for MemoryThrottle {
    fn allow<'a>(&'a self, key: &'a str) -> futures_util::future::LocalBoxFuture<'a, Result<bool>> {
        let mut counts = self.counts.borrow_mut();
        let n = counts.entry(key.to_string()).or_default();
        *n += 1;
        let allowed = *n <= self.limit.get();
        Box::pin(async move { Ok(allowed) })
    }
}

pub struct World {
    pub config: Config,
    pub throttle: MemoryThrottle,
    pub blobs: MemoryBlobs,
    pub meta: MemoryMeta,
    pub clock: Rc<Cell<u64>>,
    /// What handlers left for after their answer, until [`World::send`] runs it.
    pub later: Later,
    /// The receivers of outgoing requests (webhooks).
    pub fetch: MemoryFetch,
    /// The requests counted and not yet added to the accounts.
    pub tally: crate::engine::catalog::tally::Tally,
    /// Requests to the objects (uploads' and ledgers'), and account alarms fired.
    pub object_requests: Cell<u32>,
    pub object_alarms: Cell<u32>,
    /// Drop what handlers leave for after their answer, as a worker dying just then would.
    pub objects: RefCell<BTreeMap<String, Rc<MemoryObject>>>,
    /// The sessions' and tenants' objects, by name.
    pub ledgers: RefCell<BTreeMap<String, Rc<MemoryLedger>>>,
    /// What the world's one isolate read of the tenant registry lately.
    pub tenants: Cache,
    now: Box<dyn Fn() -> u64>,
    native: fn() -> Box<dyn NativeSha256>,
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

fn native() -> Box<dyn NativeSha256> {
    Box::<Sha2Native>::default()
}

impl World {
    pub fn new() -> World {
        let basic =
            |u: &str, p: &str| hex::encode(credential_hash(&Presented::Basic { user: u.into(), password: p.into() }));
        let bearer = |t: &str| hex::encode(credential_hash(&Presented::Bearer(t.into())));
        let spec = format!(
            "acme:basic:{};acme:bearer:{};bobco:basic:{};bobco:bearer:{};acme:opentera:{}",
            basic("foo", "bar"),
            bearer("tok"),
            basic("bob", "pw"),
            bearer("tok-bob"),
            bearer(ACME_OPENTERA_STATIC),
        );
        let config = Config {
            credentials: Credentials::parse(&spec).unwrap(),
            admin: AdminCredentials::parse(&bearer(ADMIN_TOKEN)).unwrap(),
            jwt_secrets: JwtSecrets::parse(&format!("acme:{ACME_JWT_SECRET};bobco:{BOBCO_JWT_SECRET}")).unwrap(),
            // share link passwords: the real algorithm at a cost that keeps tests quick
            link_kdf_kib: 64,
            ..Config::default()
        };
        let clock = Rc::new(Cell::new(T0));
        let c = clock.clone();
        World {
            config,
            throttle: MemoryThrottle::default(),
            blobs: MemoryBlobs::with_clock(clock.clone()),
            meta: MemoryMeta::default(),
            later: Later::default(),
            fetch: MemoryFetch::default(),
            tally: Default::default(),
            object_requests: Cell::new(0),
            object_alarms: Cell::new(0),
            clock,
            objects: RefCell::default(),
            ledgers: RefCell::default(),
            tenants: Cache::default(),
            now: Box::new(move || c.get()),
            native,
        }
    }

    pub fn now(&self) -> u64 {
        self.clock.get()
    }

    pub fn advance(&self, ms: u64) {
        self.clock.set(self.clock.get() + ms);
    }

    pub fn ctx(&self) -> Ctx<'_, Memory> {
        Ctx {
            config: &self.config,
            blobs: &self.blobs,
            meta: &self.meta,
            now: &*self.now,
            native: Some(&self.native),
            later: &self.later,
            throttle: Some(&self.throttle),
            client: crate::engine::throttle::client_key(None),
            tenants: &self.tenants,
            objects: self,
            fetch: Some(&self.fetch),
        }
    }

    /// The objects (uploads' and ledgers'), as the dialects reach them.
    pub fn uploads(&self) -> &World {
        self
    }

    /// The object named `id`; a new one is empty, as a Durable Object never used is.
    pub fn object(&self, id: &str) -> Rc<MemoryObject> {
        self.objects.borrow_mut().entry(id.to_string()).or_default().clone()
    }

    /// The session's or tenant's object named `name`.
    pub fn ledger(&self, name: &str) -> Rc<MemoryLedger> {
        self.ledgers.borrow_mut().entry(name.to_string()).or_default().clone()
    }

    /// A request as the worker hands it over, served by the dialects.
    pub async fn request(&self, method: Method, path_and_query: &str, headers: &[(&str, &str)], body: Body) -> Outcome {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let head = Head::new(method, path, query, headers);
        let mut ctx = self.ctx();
        ctx.client = crate::engine::throttle::client_key(head.header("cf-connecting-ip"));
        let svc = Service { ctx: &ctx, objects: self };
        dialect::serve(&svc, &head, "https://edge.example", body).await
    }

    /// [`World::request`], run to its end, and then what it left for after its answer
    /// (unless that is to be lost).
    pub fn send(&self, method: Method, path_and_query: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Reply {
        let outcome = futures_executor::block_on(self.request(method, path_and_query, headers, body.into()));
        let reply = outcome.reply;
        // counted for its tenant, as the worker's isolate does ([`World::flush_counters`] adds
        // the counts to the accounts)
        if let Some(tenant) = &outcome.tenant {
            let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
            let bytes_in = header("content-length").and_then(|l| l.parse().ok());
            let bytes_out = reply.header("content-length").and_then(|l| l.parse().ok());
            let download = matches!(reply, Reply::Download { .. } | Reply::Zip { .. });
            self.tally.add(&tenant.0, &Counters::request(reply.status(), bytes_in, bytes_out, download));
        }
        // what the worker queues after its answer (`ctx.waitUntil`)
        for (tenant, kind, data) in self.later.take_events() {
            futures_executor::block_on(self.ctx().emit(&tenant, &kind, data)).unwrap();
        }
        for record in self.later.take_digests() {
            // a failure is logged by the worker, and left to the account's alarm
            let _ = futures_executor::block_on(self.ctx().settle_digest(record));
        }
        reply
    }

    /// Adds the requests counted so far to their tenants' accounts, as an isolate does once
    /// its flush is due.
    pub fn flush_counters(&self) {
        for (tenant, counters) in self.tally.take_due(u64::MAX, 0) {
            futures_executor::block_on(self.ctx().add_counters(&tenant, counters)).unwrap();
        }
    }

    /// The file `tenant`'s account indexes under `sha256`, if any.
    pub fn indexed(&self, tenant: &str, sha256: &str) -> Option<String> {
        let entries = self.ledger(&format!("account:{tenant}")).entries.borrow().clone();
        let raw = entries.get(&format!("d:{sha256}"))?;
        crate::engine::catalog::index::IndexEntry::parse(raw).map(|e| e.id)
    }

    /// The files `tenant`'s account has scheduled to expire: `(expires_at, list id)`, soonest first.
    pub fn scheduled(&self, tenant: &str) -> Vec<(u64, String)> {
        let entries = self.ledger(&format!("account:{tenant}")).entries.borrow().clone();
        entries
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("x:")?.split(':').next()?.parse().ok()?, v.clone())))
            .collect()
    }

    /// Expires what is due: the Cron Trigger's sweep of KV's expiry index, and the alarm of
    /// every account whose alarm is due (as the objects' alarms do), summed.
    pub fn sweep(&self) -> Swept {
        let legacy = futures_executor::block_on(self.ctx().sweep()).unwrap();
        let swept = self.fire_account_alarms();
        Swept {
            expired: legacy.expired + swept.expired,
            repaired: legacy.repaired + swept.repaired,
            delivered: swept.delivered,
        }
    }

    /// Fires the alarm of every account whose alarm is due.
    pub fn fire_account_alarms(&self) -> Swept {
        let mut swept = Swept::default();
        let accounts: Vec<Rc<MemoryLedger>> =
            self.ledgers.borrow().iter().filter(|(n, _)| n.starts_with("account:")).map(|(_, l)| l.clone()).collect();
        for account in accounts {
            let due = futures_executor::block_on(crate::engine::catalog::account::next_alarm(&*account)).unwrap();
            if due.is_some_and(|at| at <= self.now()) {
                self.object_alarms.set(self.object_alarms.get() + 1);
                let (s, _) = futures_executor::block_on(self.ctx().account_alarm(&*account)).unwrap();
                swept.expired += s.expired;
                swept.repaired += s.repaired;
                swept.delivered += s.delivered;
            }
        }
        swept
    }

    /// Fires every upload object's alarm that is due.
    pub fn fire_alarms(&self) {
        let now = self.now();
        let objects: Vec<Rc<MemoryObject>> = self.objects.borrow().values().cloned().collect();
        for obj in objects {
            if obj.alarm.get().is_some_and(|at| at <= now) {
                let next =
                    futures_executor::block_on(self.ctx().upload_alarm(&obj.store)).unwrap_or(Some(now + 60_000));
                obj.alarm.set(next);
            }
        }
    }

    /// The parsed JSON body of a reply.
    pub fn json(reply: &Reply) -> serde_json::Value {
        match reply {
            Reply::Json { body, .. } => body.clone(),
            Reply::Text { body, .. } => serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.clone())),
            other => panic!("not JSON: {other:?}"),
        }
    }

    /// The bytes a download reply serves (whole or partial), read from the in-memory R2.
    pub fn body(&self, reply: &Reply) -> Vec<u8> {
        use crate::http::download::BodyPlan;
        match reply {
            Reply::Download { r2_key, plan, body } => {
                // what the engine read (the whole, or the range), as the worker streams it; a
                // reply made by a handler alone (not through `serve`) has none yet
                if let Some(bytes) = body.as_ref().and_then(|p| p.take::<Vec<u8>>()) {
                    return bytes;
                }
                let bytes = self.blobs.object(r2_key).unwrap_or_else(|| panic!("no object {r2_key}"));
                match plan.body {
                    BodyPlan::None => Vec::new(),
                    BodyPlan::Whole => bytes,
                    BodyPlan::Part(span) => bytes[span.start as usize..(span.start + span.len) as usize].to_vec(),
                }
            }
            Reply::Zip { span: None, .. } => Vec::new(),
            Reply::Zip { span: Some(span), bundle, .. } => {
                let mut out = Vec::new();
                for piece in crate::engine::bundle::pieces(bundle, *span).expect("the zip's pieces") {
                    match piece {
                        crate::engine::bundle::Piece::Bytes(b) => out.extend_from_slice(&b),
                        crate::engine::bundle::Piece::File { key, offset, len } => {
                            let bytes = self.blobs.object(&key).unwrap_or_default();
                            out.extend_from_slice(&bytes[offset as usize..(offset + len) as usize]);
                        }
                    }
                }
                out
            }
            other => panic!("not a download: {other:?}"),
        }
    }
}

/// A timer for tests: it moves `clock` on by `ms` and yields once, as a real one would.
pub fn sleep_on(clock: &Cell<u64>, ms: u64) -> LocalBoxFuture<'static, ()> {
    clock.set(clock.get() + ms);
    let mut yielded = false;
    Box::pin(futures_util::future::poll_fn(move |cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }))
}

/// The host tests' platform: in-memory R2 and KV, and the [`World`]'s objects.
pub struct Memory;

impl Platform for Memory {
    type Blobs = MemoryBlobs;
    type Meta = MemoryMeta;
    type Objects = World;
}

/// The objects in memory: each call is served by the engine, as the Durable Object serves it,
/// against the object named by the upload id (or the ledger's name).
/// An outgoing request: its URL, headers and body.
pub type Sent = (String, Vec<(String, String)>, String);

/// Outgoing requests, recorded; each answered by the next scripted answer (`200` when none
/// is left): a status and a body, or an error (no answer).
#[derive(Default)]
pub struct MemoryFetch {
    pub sent: RefCell<Vec<Sent>>,
    pub answers: RefCell<std::collections::VecDeque<std::result::Result<(u16, String), String>>>,
}

impl crate::engine::events::Fetch for MemoryFetch {
    fn post<'a>(
        &'a self,
        url: &'a str,
        headers: &'a [(String, String)],
        body: &'a str,
        _timeout_ms: u64,
    ) -> LocalBoxFuture<'a, std::result::Result<(u16, String), String>> {
        self.sent.borrow_mut().push((url.to_string(), headers.to_vec(), body.to_string()));
        let answer = self.answers.borrow_mut().pop_front().unwrap_or(Ok((200, String::new())));
        Box::pin(async move { answer })
    }
}

/// What the platform was asked so far, as Cloudflare bills it (R2 deletes are free).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub kv_reads: u32,
    pub kv_writes: u32,
    pub kv_lists: u32,
    pub r2_class_a: u32,
    pub r2_class_b: u32,
    pub r2_deletes: u32,
    pub object_requests: u32,
    pub object_alarms: u32,
}

impl Counts {
    /// Every call to a binding (a subrequest of the Workers runtime), alarms aside.
    pub fn subrequests(&self) -> u32 {
        self.kv_reads
            + self.kv_writes
            + self.kv_lists
            + self.r2_class_a
            + self.r2_class_b
            + self.r2_deletes
            + self.object_requests
    }

    pub fn since(&self, before: &Counts) -> Counts {
        Counts {
            kv_reads: self.kv_reads - before.kv_reads,
            kv_writes: self.kv_writes - before.kv_writes,
            kv_lists: self.kv_lists - before.kv_lists,
            r2_class_a: self.r2_class_a - before.r2_class_a,
            r2_class_b: self.r2_class_b - before.r2_class_b,
            r2_deletes: self.r2_deletes - before.r2_deletes,
            object_requests: self.object_requests - before.object_requests,
            object_alarms: self.object_alarms - before.object_alarms,
        }
    }
}

impl World {
    /// What the platform was asked so far.
    pub fn counts(&self) -> Counts {
        Counts {
            kv_reads: self.meta.gets.get(),
            kv_writes: self.meta.writes.get(),
            kv_lists: self.meta.lists.get(),
            r2_class_a: self.blobs.class_a(),
            r2_class_b: self.blobs.reads.get(),
            r2_deletes: self.blobs.deletes.get(),
            object_requests: self.object_requests.get(),
            object_alarms: self.object_alarms.get(),
        }
    }
}

impl Objects for World {
    type Body = Body;

    fn read(body: Body) -> ByteStream {
        body.stream().boxed()
    }

    /// Through JSON both ways, as to and from a Durable Object.
    async fn upload_call(&self, id: &str, call: String, body: Option<Body>) -> Result<String> {
        let call: UploadCall = serde_json::from_str(&call).unwrap_or_else(|e| panic!("call {call}: {e}"));
        let w = self;
        w.object_requests.set(w.object_requests.get() + 1);
        let obj = w.object(id);
        let clock = w.clock.clone();
        let sleep = move |ms: u64| sleep_on(&clock, ms);
        let ctx = w.ctx();
        let object = Object { store: &obj.store, turns: &obj.turns, sleep: &sleep };
        let answer = serve(&ctx, &object, call, body.map(Body::stream)).await;
        let next = obj.store.state()?.map(|st| next_alarm(&st, w.now()));
        obj.alarm.set(next);
        Ok(serde_json::to_string(&answer).unwrap())
    }

    async fn ledger_call(&self, name: &str, call: String) -> Result<String> {
        let call: LedgerCall = serde_json::from_str(&call).unwrap_or_else(|e| panic!("call {call}: {e}"));
        let w = self;
        w.object_requests.set(w.object_requests.get() + 1);
        let ledger = w.ledger(name);
        if let LedgerCall::Account { tenant, .. } = &call {
            // as the object does before an account's calls
            w.ctx().import_legacy(&*ledger, tenant).await?;
        }
        let answer = ledger::serve(&*ledger, w.now(), call).await;
        Ok(serde_json::to_string(&answer).unwrap())
    }
}
