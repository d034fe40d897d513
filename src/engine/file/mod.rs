//! A file: its record (the one model under every dialect, with who may read it besides its
//! tenant), every storage key, the rule for who may read it by which route, its life (TTL and
//! expiry, `now` always a parameter), the engine's own checks at creation, and ids.
//!
//! May import: `crate::{error, store, http, auth, config, secret}` and its own modules. Nothing
//! else of the engine: every other room builds on it.

pub mod expiry;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod record;
pub mod visibility;
