//! The `Upload` Durable Object, one per file id. For now it owns the file's expiry: it
//! keeps an alarm at `expires_at` and deletes the R2 object when it fires.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

use crate::error::Error;
use crate::store::Janitor;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Expiry {
    r2_key: String,
    at: u64,
}

const EXPIRY_KEY: &str = "expiry";

#[durable_object]
pub struct Upload {
    state: State,
    env: Env,
}

impl DurableObject for Upload {
    fn new(state: State, env: Env) -> Self {
        Upload { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/expire") => {
                let e: Expiry = req.json().await?;
                let storage = self.state.storage();
                storage.put(EXPIRY_KEY, &e).await?;
                storage.set_alarm(e.at as i64).await?;
                Response::empty().map(|r| r.with_status(204))
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        if let Some(e) = storage.get::<Expiry>(EXPIRY_KEY).await? {
            let now = worker::Date::now().as_millis();
            if now < e.at {
                storage.set_alarm(e.at as i64).await?;
            } else {
                self.env.bucket(crate::edge::BUCKET)?.delete(&e.r2_key).await?;
                storage.delete_all().await?;
            }
        }
        Response::empty()
    }
}

/// Asks the file's `Upload` object to delete its bytes at expiry.
pub struct DoJanitor {
    pub ns: worker::ObjectNamespace,
}

impl Janitor for DoJanitor {
    async fn delete_at(&self, file_id: &str, r2_key: &str, at_ms: u64) -> crate::error::Result<()> {
        let fail = |e: worker::Error| Error::Storage(format!("durable object: {e}"));
        let stub = self.ns.get_by_name(file_id).map_err(fail)?;
        let body = serde_json::to_string(&Expiry { r2_key: r2_key.into(), at: at_ms })
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mut init = worker::RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let req = Request::new_with_init("https://upload/expire", &init).map_err(fail)?;
        let resp = stub.fetch_with_request(req).await.map_err(fail)?;
        if resp.status_code() != 204 {
            return Err(Error::Storage(format!("durable object answered {}", resp.status_code())));
        }
        Ok(())
    }
}
