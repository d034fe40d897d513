#![allow(async_fn_in_trait)]

//! The uploads as the dialects see them: each upload is an object (a Durable Object in the
//! worker, an in-memory one in host tests) that takes [`UploadCall`]s. [`serve`] is what
//! an object does with a call, on every platform: reads answer from the saved state at once;
//! writes take the upload's turn ([`super::turns`]).

use bytes::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

use super::state::{Append, NewUpload, Phase, UploadState};
use super::turns::{Sleep, Turns};
use crate::engine::Ctx;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::object::{from_json, to_json, Objects, UploadStore};
use crate::store::Platform;

/// One request to an upload's object. It crosses to the Durable Object as JSON; the answer
/// comes back as a JSON `Result<Option<UploadState>, Error>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UploadCall {
    /// Open the upload, and take its first body when there is one (tus creation-with-upload:
    /// one request to the object, not two).
    Create {
        new: Box<NewUpload>,
        #[serde(default)]
        append: Option<Append>,
    },
    /// Where it stands (finishing it first if its completion was interrupted).
    State { tenant: String, token: Option<Secret> },
    /// Take a body.
    Append { tenant: String, token: Option<Secret>, append: Append },
    /// Drop it (and, as `finished` says, a finished upload's file).
    Cancel {
        tenant: String,
        token: Option<Secret>,
        #[serde(rename = "delete_finished")]
        finished: Cancel,
    },
}

/// What cancelling an upload does when it has finished. It crosses to the object as the
/// boolean `delete_finished`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "bool", into = "bool")]
pub enum Cancel {
    /// The file stays; the upload answers "not found" (it is no more an upload).
    KeepFinished,
    /// The file is deleted too (tus termination).
    DeleteFinished,
}

impl From<bool> for Cancel {
    fn from(delete_finished: bool) -> Cancel {
        if delete_finished {
            Cancel::DeleteFinished
        } else {
            Cancel::KeepFinished
        }
    }
}

impl From<Cancel> for bool {
    fn from(c: Cancel) -> bool {
        c == Cancel::DeleteFinished
    }
}

impl UploadCall {
    /// Does it change the upload (and so wait for its turn)?
    pub fn writes(&self) -> bool {
        !matches!(self, UploadCall::State { .. })
    }
}

pub use crate::store::object::ByteStream;

/// The uploads' objects, typed: their calls over any platform's [`Objects`] (which carries
/// them as JSON).
pub trait Uploads: Objects {
    async fn call(&self, id: &str, call: UploadCall, body: Option<Self::Body>) -> Result<Option<UploadState>> {
        let answer = self.upload_call(id, to_json(&call)?, body).await?;
        from_json::<Result<Option<UploadState>>>(&answer)?
    }

    async fn create(&self, new: NewUpload) -> Result<UploadState> {
        let id = new.id.clone();
        state(self.call(&id, UploadCall::Create { new: Box::new(new), append: None }, None).await?)
    }

    /// Opens an upload and appends its first body, in one call.
    async fn create_with(&self, new: NewUpload, append: Append, body: Self::Body) -> Result<UploadState> {
        let id = new.id.clone();
        state(self.call(&id, UploadCall::Create { new: Box::new(new), append: Some(append) }, Some(body)).await?)
    }

    async fn state(&self, id: &str, tenant: &str, token: Option<Secret>) -> Result<UploadState> {
        state(self.call(id, UploadCall::State { tenant: tenant.into(), token }, None).await?)
    }

    async fn append(
        &self,
        id: &str,
        tenant: &str,
        token: Option<Secret>,
        append: Append,
        body: Self::Body,
    ) -> Result<UploadState> {
        let call = UploadCall::Append { tenant: tenant.into(), token, append };
        state(self.call(id, call, Some(body)).await?)
    }

    async fn cancel(&self, id: &str, tenant: &str, token: Option<Secret>, finished: Cancel) -> Result<()> {
        self.call(id, UploadCall::Cancel { tenant: tenant.into(), token, finished }, None).await.map(|_| ())
    }
}

impl<O: Objects> Uploads for O {}

fn state(answer: Option<UploadState>) -> Result<UploadState> {
    answer.ok_or_else(|| Error::Internal("upload object sent no state".into()))
}

/// What an object needs besides the engine's context: its storage, its turns, a timer.
pub struct Object<'a, U> {
    pub store: &'a U,
    pub turns: &'a Turns,
    pub sleep: Sleep<'a>,
}

/// Serves one call against an upload's object.
pub async fn serve<P: Platform, U, S>(
    ctx: &Ctx<'_, P>,
    obj: &Object<'_, U>,
    call: UploadCall,
    body: Option<S>,
) -> Result<Option<UploadState>>
where
    U: UploadStore,
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    let stall_ms = ctx.config.stall_timeout * 1000;
    match call {
        UploadCall::Create { new, append: None } => ctx.open_upload(obj.store, *new).await.map(Some),
        UploadCall::Create { new, append: Some(append) } => {
            let tenant = new.tenant.clone();
            let turn = obj.turns.take(ctx.now, obj.sleep, stall_ms).await;
            ctx.open_upload(obj.store, *new).await?;
            let body = turn.body(Body(body), ctx.now);
            ctx.append(obj.store, &tenant, None, append, body).await.map(Some)
        }
        UploadCall::State { tenant, token } => {
            // a write whose body has ended is saving what it received: answer with that
            obj.turns.settled(ctx.now, obj.sleep).await;
            let st = ctx.load_upload(obj.store, &tenant, token.as_ref().map(Secret::expose))?;
            if st.phase != Phase::Finishing {
                return Ok(Some(st));
            }
            // A completion that failed half way is finished by the next request.
            let _turn = obj.turns.take(ctx.now, obj.sleep, stall_ms).await;
            let st = ctx.load_upload(obj.store, &tenant, token.as_ref().map(Secret::expose))?;
            ctx.finish(obj.store, st).await.map(Some)
        }
        UploadCall::Append { tenant, token, append } => {
            let turn = obj.turns.take(ctx.now, obj.sleep, stall_ms).await;
            let body = turn.body(Body(body), ctx.now);
            ctx.append(obj.store, &tenant, token.as_ref().map(Secret::expose), append, body).await.map(Some)
        }
        UploadCall::Cancel { tenant, token, finished } => {
            let _turn = obj.turns.take(ctx.now, obj.sleep, stall_ms).await;
            ctx.cancel_upload(obj.store, &tenant, token.as_ref().map(Secret::expose), finished).await?;
            Ok(None)
        }
    }
}

/// An optional body as a stream (none: empty).
struct Body<S>(Option<S>);

impl<S: Stream<Item = Result<Bytes>> + Unpin> Stream for Body<S> {
    type Item = Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match &mut self.0 {
            None => std::task::Poll::Ready(None),
            Some(s) => std::pin::Pin::new(s).poll_next(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::record::Vendor;
    use crate::engine::upload::state::{At, Resend, Then};

    #[test]
    fn calls_are_tagged_and_survive_json() {
        let append = Append {
            at: At::Offset(5),
            body_len: Some(3),
            set_length: None,
            checksum: None,
            resend: Resend::Refuse,
            then: Then::Complete { expected_sha256: Some("ab".into()) },
        };
        let calls = vec![
            UploadCall::Create { new: Box::new(NewUpload::new("u", "t", Vendor::Tus, "n", "x/y")), append: None },
            UploadCall::State { tenant: "t".into(), token: None },
            UploadCall::Append { tenant: "t".into(), token: Some(Secret::new("s")), append },
            UploadCall::Cancel { tenant: "t".into(), token: None, finished: Cancel::DeleteFinished },
        ];
        for call in calls {
            let json = serde_json::to_string(&call).unwrap();
            assert!(json.starts_with("{\"op\":"), "{json}");
            assert_eq!(serde_json::from_str::<UploadCall>(&json).unwrap(), call);
        }
        // the JSON the objects take, as it was when these were strings and booleans
        let mut new = NewUpload::new("u", "t", Vendor::Imis, "n", "x/y");
        new.extra.archive_id = Some("a".into());
        let json = r#"{"id":"u","tenant":"t","dialect":"imis","name":"n","content_type":"x/y","metadata":null,"length":null,"ttl":null,"token":null,"access":null,"extra":{"archive_id":"a"},"file_id":null}"#;
        assert_eq!(serde_json::to_string(&new).unwrap(), json);
        assert_eq!(serde_json::from_str::<NewUpload>(json).unwrap(), new);
        for (finished, json) in [
            (Cancel::DeleteFinished, r#"{"op":"cancel","tenant":"t","token":null,"delete_finished":true}"#),
            (Cancel::KeepFinished, r#"{"op":"cancel","tenant":"t","token":null,"delete_finished":false}"#),
        ] {
            let call = UploadCall::Cancel { tenant: "t".into(), token: None, finished };
            assert_eq!(serde_json::to_string(&call).unwrap(), json);
            assert_eq!(serde_json::from_str::<UploadCall>(json).unwrap(), call);
        }
        let answer: Result<Option<UploadState>, Error> = Err(Error::OffsetMismatch { offset: 3 });
        let json = serde_json::to_string(&answer).unwrap();
        assert_eq!(serde_json::from_str::<Result<Option<UploadState>, Error>>(&json).unwrap(), answer);
    }
}
