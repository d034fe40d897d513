//! # edgeshare
//!
//! A file transfer service for Cloudflare Workers: one store (R2 bytes, KV records, one
//! Durable Object per upload in progress) behind many vendor dialects.
//!
//! # Layout
//! Dependencies point down: `dialect` → `engine` → `store`, `http`; `platform`, `durable`
//! and `edge` (wasm only) sit on top and wire the real stores in; nothing below imports them.
//! - [`route`]: the pure router over the dialects' endpoint tables.
//! - [`dialect`]: adapters, one module per vendor API, each with its endpoint table; they
//!   render [`error::Error`] in the vendor's own shape.
//! - [`engine`]: what all dialects share, one concern per folder: the context every dialect
//!   calls ([`engine::Ctx`], in `engine/mod.rs`); [`engine::file`] (records, who may read
//!   them, keys, expiry, limits, ids); [`engine::catalog`] (listing, digest index, expiry
//!   index, journal and sweep); [`engine::upload`] (the state machine, part plan, streaming
//!   writer, sha256, the run of a call, the Upload object's calls, turns);
//!   [`engine::ledger`] (the small strongly consistent objects: the call envelope, sessions
//!   and tenants, logins, share links, Twake files); [`engine::chunked`] (chunks in any
//!   order: thumbnails); beside them [`engine::jwt`] and [`engine::throttle`].
//! - [`http`]: pure parsers and writers: `Range`, `Content-Disposition`, ETags,
//!   `Authorization`, tus headers, digests, the download plan, HTML escaping.
//! - [`store`]: storage contracts, R2's and KV's rules ([`store::limits`]), in-memory
//!   implementations for host tests, and (wasm only) R2 and KV.
//! - [`auth`], [`config`], [`error`], [`secret`]: credentials → tenants, typed settings, the
//!   one error type, secrets that never print.
//! - `platform` (wasm only): bindings → stores, request bodies, the native digest, the
//!   Upload object's client.
//! - `durable` (wasm only): the `Upload` and `Session` Durable Objects (the latter serves
//!   [`engine::ledger`]).
//! - `edge` (wasm only): the `#[event(fetch)]` entry.
//!
//! Nothing outside `platform`, `durable`, `edge` and `store::{r2, kv}` touches `worker::`
//! types, so `cargo test` runs everything else on the host.

pub mod auth;
pub mod config;
pub mod dialect;
pub mod engine;
pub mod error;
pub mod http;
pub mod route;
pub mod secret;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod durable;
#[cfg(target_arch = "wasm32")]
mod edge;
#[cfg(target_arch = "wasm32")]
mod platform;

#[cfg(test)]
pub mod testkit;
