//! A tenant's files whatever their dialect: its account ([`account`]: the listing, digest
//! index, usage, quota, reservations and expiry schedule in one strongly consistent object),
//! the lookup of a file by its dialect's id and deletion ([`listing`]), the digest index's
//! precedence ([`index`]: the longest-lived file wins), and expiry ([`sweep`]: the account's
//! alarm, and the Cron Trigger's sweep of files stored before accounts).
//!
//! May import: [`crate::engine::file`], the outbox of [`crate::engine::events`] (the account
//! queues events in the writes that record what they tell), the context
//! ([`crate::engine::Ctx`], whose methods it adds), `crate::{error, store, http, auth,
//! config}`. Not the upload, ledger or chunked rooms.

pub mod account;
pub mod index;
pub mod listed;
pub mod listing;
pub mod sweep;
pub mod tally;
