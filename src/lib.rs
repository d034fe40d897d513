//! # edgeshare
//!
//! A file transfer service for Cloudflare Workers: one store (R2 bytes and records, an
//! account per tenant and one Durable Object per upload in progress, KV for tombstones and
//! the tenant registry) behind many vendor dialects.
//!
//! # Layout
//! Dependencies point down: `route` → [`dialect`] → [`engine`] → [`store`], [`http`];
//! `platform`, `durable` and `edge` (wasm only) sit on top and wire the real stores in; nothing
//! below imports them. Each folder's `mod.rs` says what it owns and what it may import.
//! - [`route`]: the pure router over the dialects' endpoint tables.
//! - [`dialect`]: adapters, one per vendor API (a folder for a vendor with more than one
//!   concern: `ngcp/{simple,sessions}`, `opentera/`, `twake/`), each with its endpoint table;
//!   they parse, call the engine and render [`error::Error`] in the vendor's own shape. Also
//!   the service's own API (`native`, and `webhooks`), the operator's (`admin`: tenants,
//!   keys and quotas at run time), the share page and the OpenAPI document.
//! - [`engine`]: what all dialects share, one concern per folder: the context every dialect
//!   calls ([`engine::Ctx`], in `engine/mod.rs`); [`engine::file`] (records, who may read
//!   them, keys, expiry, limits, ids); [`engine::catalog`] (a tenant's account: listing,
//!   digest index, usage, quota, reservations, expiry; its alarm; the legacy sweep);
//!   [`engine::events`] (webhooks: endpoints, the outbox, signed deliveries, the pre-create
//!   hook); [`engine::upload`] (the state machine, part plan, streaming
//!   writer, sha256, the run of a call, the Upload object's calls, turns);
//!   [`engine::ledger`] (the small strongly consistent objects: the call envelope, sessions
//!   and tenants, logins, share links, Twake files); [`engine::chunked`] (chunks in any
//!   order: staging, assembly, thumbnails); [`engine::tenant`] (the registry of tenants and
//!   keys an operator writes at run time, and who a presented credential is); beside them
//!   [`engine::jwt`] and [`engine::throttle`].
//! - [`http`]: pure parsers and writers: `Range`, `Content-Disposition`, ETags,
//!   `Authorization`, tus headers, digests, the download plan, HTML escaping, purge calls,
//!   Standard Webhooks signatures.
//! - [`store`]: every storage seam ([`store::BlobStore`], [`store::MetaStore`], and in
//!   [`store::object`] the Durable Objects' transport and own storage), the one
//!   [`store::Platform`] type naming a platform's, R2's and KV's rules ([`store::limits`]),
//!   in-memory implementations for host tests, the contract every implementation keeps
//!   ([`store::contract`]), and (wasm only) R2 and KV.
//! - [`auth`], [`config`], [`error`], [`secret`]: the configured credentials (the bootstrap
//!   tenants', the operator's) → tenants, typed settings, the one error type, secrets that
//!   never print.
//! - `platform` (wasm only): the worker's [`store::Platform`] (bindings → stores), request
//!   bodies, the native digest, the Durable Objects' client, the isolate's registry cache.
//! - `durable` (wasm only): the `Upload` and `Ledger` Durable Objects (storage and transport;
//!   the logic is [`engine::upload`]'s and [`engine::ledger`]'s).
//! - `edge` (wasm only): the `#[event(fetch)]` and `#[event(scheduled)]` entries, and the
//!   storage self-test.
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
