//! The `Ledger` Durable Object: the small strongly consistent objects of
//! [`crate::engine::ledger`], one per name it gives: an NGCP session (its record, file entries
//! and tokens), a tenant (its session list and counters), an IMiS login, a share link, a Twake
//! file while its chunks land. Storage and transport only: the logic is the engine's.
//! A session's (or login's) object sets an alarm for when it may forget it (a session's expiry
//! plus the grace during which it answers `410`; a login's idle end), and then deletes
//! everything. A tenant's account ([`crate::engine::catalog::account`]) keeps what it holds:
//! its alarm wakes at its soonest expiry or lapsed reservation and runs
//! [`crate::engine::Ctx::account_alarm`] over R2 and KV from the object.

use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::{at_time, internal};
use crate::engine::catalog::account;
use crate::engine::ledger::{forget_at, schedules, serve, LedgerAnswer, LedgerCall};
use crate::engine::Later;
use crate::error::{Error, Result};
use crate::platform::{now, Bindings};
use crate::store::object::LedgerStore;

/// The object's storage (the key-value API of its SQLite storage) behind [`LedgerStore`].
struct Storage(worker::Storage);

impl LedgerStore for Storage {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        self.0.get::<String>(key).await.map_err(internal)
    }

    async fn put(&self, key: &str, value: &str) -> Result<()> {
        self.0.put(key, value).await.map_err(internal)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.0.delete(key).await.map(drop).map_err(internal)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let map = self.0.list_with_options(worker::ListOptions::new().prefix(prefix)).await.map_err(internal)?;
        pairs(&map)
    }

    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<(String, String)>> {
        // `start` is inclusive: one more, and the key itself dropped
        let mut options = worker::ListOptions::new().prefix(prefix).limit(limit + 1);
        if let Some(after) = after {
            options = options.start(after);
        }
        let map = self.0.list_with_options(options).await.map_err(internal)?;
        let mut out = pairs(&map)?;
        out.retain(|(k, _)| Some(k.as_str()) != after);
        out.truncate(limit);
        Ok(out)
    }

    async fn list_tail(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>> {
        let options = worker::ListOptions::new().prefix(prefix).limit(limit).reverse(true);
        let map = self.0.list_with_options(options).await.map_err(internal)?;
        // `pairs` sorts them back into key order
        pairs(&map)
    }

    async fn write(&self, puts: &[(String, String)], deletes: &[String]) -> Result<()> {
        let values = js_sys::Object::new();
        for (k, v) in puts {
            js_sys::Reflect::set(&values, &k.into(), &v.into()).map_err(|_| internal("ledger write"))?;
        }
        // both calls made before either is awaited: the object's storage coalesces them
        // into one atomic write
        let put = async {
            match puts.is_empty() {
                true => Ok(()),
                false => self.0.put_multiple_raw(values).await,
            }
        };
        let delete = async {
            match deletes.is_empty() {
                true => Ok(0),
                false => self.0.delete_multiple(deletes.to_vec()).await,
            }
        };
        let (put, delete) = futures_util::join!(put, delete);
        put.map_err(internal)?;
        delete.map(drop).map_err(internal)
    }

    async fn clear(&self) -> Result<()> {
        self.0.delete_alarm().await.map_err(internal)?;
        self.0.delete_all().await.map_err(internal)
    }
}

/// A listed map's keys and string values, in key order.
fn pairs(map: &js_sys::Map) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in map.entries() {
        let pair: js_sys::Array = pair.map_err(|_| internal("list entry"))?.into();
        let (k, v) = (pair.get(0), pair.get(1));
        if let (Some(k), Some(v)) = (k.as_string(), v.as_string()) {
            out.push((k, v));
        }
    }
    out.sort();
    Ok(out)
}

#[durable_object]
pub struct Ledger {
    state: State,
    env: Env,
    /// An account object that has imported what KV listed before accounts (so that it does
    /// not ask its storage again while it lives).
    imported: std::cell::Cell<bool>,
}

impl DurableObject for Ledger {
    fn new(state: State, env: Env) -> Self {
        Ledger { state, env, imported: std::cell::Cell::new(false) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        if crate::platform::self_test(&self.env, &req.path()) {
            let store = Storage(self.state.storage());
            let found = crate::store::contract::ledger_store(&store).await;
            return Response::ok(found.err().unwrap_or_else(|| "ok".into()));
        }
        let result = async {
            let call: LedgerCall = req.json().await.map_err(|e| Error::Internal(format!("ledger object: {e}")))?;
            let creates = schedules(&call);
            let store = Storage(self.state.storage());
            let (account, fresh) = match &call {
                LedgerCall::Account { tenant, .. } if !self.imported.get() => {
                    let b = Bindings::new(&self.env)?;
                    let later = Later::default();
                    b.ctx(&later).import_legacy(&store, tenant).await?;
                    self.imported.set(true);
                    (true, true)
                }
                LedgerCall::Account { .. } => (true, false),
                _ => (false, false),
            };
            let answer = serve(&store, now(), call).await?;
            // an account that may just have imported files to expire wakes for them too
            match (creates || fresh, account) {
                (true, true) => self.schedule_account(&store).await?,
                (true, false) => self.schedule(&store).await?,
                _ => {}
            }
            Ok::<LedgerAnswer, Error>(answer)
        }
        .await;
        Response::from_json(&result)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let store = Storage(self.state.storage());
        // a tenant's account keeps what it holds: its alarm expires files
        if let Ok(Some(_)) = account::tenant_of(&store).await {
            let next = async {
                let b = Bindings::new(&self.env)?;
                let later = Later::default();
                let (swept, next) = b.ctx(&later).account_alarm(&store).await?;
                if swept.expired + swept.repaired > 0 {
                    worker::console_log!("account: {} expired, {} repaired", swept.expired, swept.repaired);
                }
                Ok::<_, Error>(next)
            }
            .await;
            let next = next.unwrap_or_else(|e| {
                worker::console_error!("account alarm: {e}");
                Some(now() + 60_000)
            });
            if let Some(at) = next {
                self.state.storage().set_alarm(at_time(at.max(now() + 1_000))).await?;
            }
            return Response::empty();
        }
        match forget_at(&store, self.grace()).await {
            Ok(Some(at)) if at > now() => self.state.storage().set_alarm(at_time(at)).await?,
            Ok(_) => {
                if let Err(e) = store.clear().await {
                    worker::console_error!("ledger alarm: {e}");
                    self.state.storage().set_alarm(at_time(now() + 60_000)).await?;
                }
            }
            Err(e) => worker::console_error!("ledger alarm: {e}"),
        }
        Response::empty()
    }
}

impl Ledger {
    fn grace(&self) -> u64 {
        Bindings::new(&self.env).map(|b| b.config.grace).unwrap_or(crate::config::Config::default().grace)
    }

    /// Wakes the account at its soonest expiry or lapse, unless its alarm is set sooner.
    async fn schedule_account(&self, store: &Storage) -> Result<()> {
        let Some(at) = account::next_alarm(store).await? else { return Ok(()) };
        let storage = self.state.storage();
        let current = storage.get_alarm().await.map_err(internal)?;
        if current.is_none_or(|c| c as u64 > at) {
            storage.set_alarm(at_time(at)).await.map_err(internal)?;
        }
        Ok(())
    }

    async fn schedule(&self, store: &Storage) -> Result<()> {
        if let Some(at) = forget_at(store, self.grace()).await? {
            self.state.storage().set_alarm(at_time(at)).await.map_err(internal)?;
        }
        Ok(())
    }
}
