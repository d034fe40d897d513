//! A tenant's files whatever their dialect, as KV lists and finds them: the listing (and the
//! lookup by a dialect's id, deletion), the digest index (the longest-lived file wins), and
//! the expiry index, the journal of one-request writes and the sweep that redoes and expires
//! from them. What the tenant ledger takes over once it exists.
//!
//! May import: [`crate::engine::file`], the context ([`crate::engine::Ctx`], whose methods it
//! adds), `crate::{error, store, http, auth, config}`. Not the upload, ledger or chunked rooms.

pub mod index;
pub mod listing;
pub mod sweep;
