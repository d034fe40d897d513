//! The `Ledger` Durable Object: the small strongly consistent objects of
//! [`crate::engine::ledger`], one per name it gives: an NGCP session (its record, file entries
//! and tokens), a tenant (its session list and counters), an IMiS login, a share link, a Twake
//! file while its chunks land. Storage and transport only: the logic is the engine's.
//! A session's (or login's) object sets an alarm for when it may forget it (a session's expiry
//! plus the grace during which it answers `410`; a login's idle end), and then deletes
//! everything.

use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::{at_time, internal};
use crate::engine::ledger::{forget_at, schedules, serve, LedgerAnswer, LedgerCall};
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

    async fn clear(&self) -> Result<()> {
        self.0.delete_alarm().await.map_err(internal)?;
        self.0.delete_all().await.map_err(internal)
    }
}

#[durable_object]
pub struct Ledger {
    state: State,
    env: Env,
}

impl DurableObject for Ledger {
    fn new(state: State, env: Env) -> Self {
        Ledger { state, env }
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
            let answer = serve(&store, now(), call).await?;
            if creates {
                self.schedule(&store).await?;
            }
            Ok::<LedgerAnswer, Error>(answer)
        }
        .await;
        Response::from_json(&result)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let store = Storage(self.state.storage());
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

    async fn schedule(&self, store: &Storage) -> Result<()> {
        if let Some(at) = forget_at(store, self.grace()).await? {
            self.state.storage().set_alarm(at_time(at)).await.map_err(internal)?;
        }
        Ok(())
    }
}
