//! Uploads that come in pieces by offset (tus, PortSIP, IMiS, NGCP `PUT`): the pure state
//! machine ([`state`]), the part plan ([`plan`]: R2's equal parts), the streaming writer
//! ([`writer`], also the one for one-request files), SHA-256 native or resumable
//! ([`sha256`]), the run of a call (load, transition, I/O, save, finish: [`run`]), the calls
//! to an upload's object and how the object serves them ([`calls`]), and one writer at a time
//! per upload ([`turns`]).
//!
//! May import: [`crate::engine::file`], the context ([`crate::engine::Ctx`], whose methods
//! [`run`] adds), the ledger call envelope (the `Uploads` trait also reaches the ledger
//! objects, until that trait is split), `crate::{error, store, http, config, secret}`. Not
//! catalog or chunked.

pub mod calls;
pub mod plan;
pub mod run;
pub mod sha256;
pub mod state;
pub mod turns;
pub mod writer;
