//! The platform layer (wasm only): the worker's bindings turned into the engine's stores,
//! request bodies, workerd's native SHA-256, and the client of the Durable Objects.
//! Both entries, the worker (`edge`) and the object (`durable`), build on it; neither
//! imports the other.

pub mod body;
pub mod digest;
pub mod objects;
pub mod zip;

use futures_util::future::LocalBoxFuture;
use worker::Env;

use crate::config::Config;
use crate::engine::catalog::tally::Tally;
use crate::engine::events::Fetch;
use crate::engine::tenant::cache::Cache;
use crate::engine::throttle::Throttle;
use crate::engine::upload::sha256::{NativeSha256, Sha2Native};
use crate::engine::{Ctx, Later};
use crate::error::{Error, Result};
use crate::platform::digest::NativeDigest;
use crate::store::kv::KvMeta;
use crate::store::r2::R2Blobs;
use crate::store::Platform;
use objects::DurableObjects;

pub const BUCKET: &str = "FILES";
pub const KV: &str = "RECORDS";
pub const UPLOADS: &str = "UPLOADS";
pub const LEDGERS: &str = "LEDGERS";
/// The rate-limiting binding of share-link password attempts per client address.
pub const PASSWORD_LIMIT: &str = "SHARE_PASSWORDS";

/// The worker's platform: R2, KV and the Durable Objects.
pub struct Worker;

impl Platform for Worker {
    type Blobs = R2Blobs;
    type Meta = KvMeta;
    type Objects = DurableObjects;
}

/// The settings and the stores, from the worker's (or an object's) bindings.
pub struct Bindings {
    pub config: Config,
    pub blobs: R2Blobs,
    pub meta: KvMeta,
    /// The Durable Objects: the uploads' and the ledgers'.
    pub objects: DurableObjects,
    /// The rate-limiting binding for share-link passwords, where it is configured.
    pub passwords: Option<RateLimit>,
}

/// The Workers rate-limiting binding behind [`Throttle`].
pub struct RateLimit(worker::RateLimiter);

impl Throttle for RateLimit {
    fn allow<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let outcome =
                self.0.limit(key.to_string()).await.map_err(|e| Error::Storage(format!("rate limit: {e}")))?;
            Ok(outcome.success)
        })
    }
}

impl Bindings {
    pub fn new(env: &Env) -> Result<Bindings> {
        let binding = |e: worker::Error| Error::Internal(format!("binding: {e}"));
        Ok(Bindings {
            config: config(env)?,
            blobs: R2Blobs { bucket: env.bucket(BUCKET).map_err(binding)? },
            meta: KvMeta { kv: env.kv(KV).map_err(binding)? },
            objects: DurableObjects {
                ns: env.durable_object(UPLOADS).map_err(binding)?,
                ledgers: env.durable_object(LEDGERS).map_err(binding)?,
            },
            passwords: env.rate_limiter(PASSWORD_LIMIT).ok().map(RateLimit),
        })
    }

    /// The engine's context over these stores, on the platform's clock and native SHA-256;
    /// what it leaves for after the answer goes into `later`.
    pub fn ctx<'a>(&'a self, later: &'a Later) -> Ctx<'a, Worker> {
        Ctx {
            config: &self.config,
            blobs: &self.blobs,
            meta: &self.meta,
            now: &now,
            native: Some(&native),
            later,
            throttle: self.passwords.as_ref().map(|t| t as &dyn Throttle),
            client: crate::engine::throttle::client_key(None),
            tenants: registry_cache(),
            objects: &self.objects,
            fetch: Some(&WorkerFetch),
        }
    }
}

/// The runtime's `fetch` behind [`Fetch`]: a `POST`, given up after its timeout.
pub struct WorkerFetch;

impl Fetch for WorkerFetch {
    fn post<'a>(
        &'a self,
        url: &'a str,
        headers: &'a [(String, String)],
        body: &'a str,
        timeout_ms: u64,
    ) -> LocalBoxFuture<'a, std::result::Result<(u16, String), String>> {
        Box::pin(async move {
            let sent = async {
                let h = worker::Headers::new();
                for (k, v) in headers {
                    h.set(k, v).map_err(|e| e.to_string())?;
                }
                let mut init = worker::RequestInit::new();
                init.with_method(worker::Method::Post)
                    .with_headers(h)
                    .with_body(Some(wasm_bindgen::JsValue::from_str(body)));
                let req = worker::Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
                let mut resp = worker::Fetch::Request(req).send().await.map_err(|e| e.to_string())?;
                let status = resp.status_code();
                // the start of the answer is enough (a pre-create hook's verdict)
                let text = resp.text().await.unwrap_or_default();
                Ok((status, text.chars().take(4096).collect()))
            };
            let timeout = worker::Delay::from(std::time::Duration::from_millis(timeout_ms));
            futures_util::pin_mut!(sent);
            match futures_util::future::select(sent, timeout).await {
                futures_util::future::Either::Left((result, _)) => result,
                futures_util::future::Either::Right(_) => Err(format!("no answer within {timeout_ms} ms")),
            }
        })
    }
}

thread_local! {
    /// The isolate's cache of the tenant registry: one per isolate, for as long as it lives
    /// (an isolate runs one thread).
    static REGISTRY: &'static Cache = Box::leak(Box::default());
    /// The isolate's per-tenant request counts not yet added to the accounts.
    static TALLY: &'static Tally = Box::leak(Box::default());
}

/// This isolate's request counts.
pub fn tally() -> &'static Tally {
    TALLY.with(|t| *t)
}

/// This isolate's cache of the tenant registry.
pub fn registry_cache() -> &'static Cache {
    REGISTRY.with(|c| *c)
}

/// workerd's native SHA-256, or the portable one where it has none.
fn native() -> Box<dyn NativeSha256> {
    NativeDigest::boxed().unwrap_or_else(|| Box::<Sha2Native>::default())
}

fn config(env: &Env) -> Result<Config> {
    Config::from_lookup(|name| setting(env, name))
}

/// One setting: a secret, else a var.
pub fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|s| s.to_string()).or_else(|| env.var(name).ok().map(|v| v.to_string()))
}

/// The path of the storage self-test, to the worker and from it to each object.
pub const SELF_TEST_PATH: &str = "/__self-test/storage";

/// Is a request to `path` the storage self-test, and are self-tests on
/// (`EDGESHARE_SELF_TEST=1`, end-to-end tests only)?
pub fn self_test(env: &Env, path: &str) -> bool {
    path == SELF_TEST_PATH && setting(env, "EDGESHARE_SELF_TEST").as_deref() == Some("1")
}

/// The clock, in milliseconds since the epoch.
pub fn now() -> u64 {
    worker::Date::now().as_millis()
}
