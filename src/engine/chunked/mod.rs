//! Files whose chunks arrive in any order (Twake): today the thumbnails of an assembled
//! image ([`thumbs`], pure: it imports nothing of the engine). The staging of chunks and their
//! assembly still live in `crate::dialect::twake` and move here in a later step of issue 18;
//! the state of a Twake file while its chunks land is its ledger object's
//! ([`crate::engine::ledger::twake`]).
//!
//! May import: [`crate::engine::file`], the streaming writer ([`crate::engine::upload::writer`]),
//! the context ([`crate::engine::Ctx`]), `crate::{error, store}`. Not catalog, and of the
//! ledger only the Twake call.

pub mod thumbs;
