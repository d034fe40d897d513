//! # edgeshare
//!
//! A file transfer service for Cloudflare Workers: one store (R2 bytes, KV records, one
//! Durable Object per upload) behind many vendor dialects.
//!
//! # Layout
//! - [`route`]: pure router, `(method, path)` → [`route::Route`], for every dialect's URLs.
//! - [`dialect`]: adapters, one module per vendor API; they render [`error::Error`] in the
//!   vendor's own shape.
//! - [`engine`]: what all dialects share: files and records, the streaming writer that cuts
//!   bytes into R2 parts, part planning, expiry, ids. Generic over the storage seams.
//! - [`http`]: pure parsers and writers: `Range`, `Content-Disposition`, ETags,
//!   `Authorization`, the download plan.
//! - [`store`]: storage traits, in-memory implementations for host tests, and (wasm only) R2,
//!   KV and the Durable Object janitor.
//! - [`auth`], [`config`], [`error`]: credentials → tenants, typed settings, the one error type.
//! - `edge` (wasm only): the `#[event(fetch)]` entry and the request/response glue.
//! - `durable` (wasm only): the `Upload` Durable Object.
//!
//! Nothing outside `edge`, `durable` and `store::{r2, kv}` touches `worker::` types, so
//! `cargo test` runs everything else on the host.

pub mod auth;
pub mod config;
pub mod dialect;
pub mod engine;
pub mod error;
pub mod http;
pub mod route;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod durable;
#[cfg(target_arch = "wasm32")]
mod edge;
