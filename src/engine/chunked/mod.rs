//! Files whose chunks arrive in any order and in parallel (Twake): all the I/O of their bytes.
//! A chunk as it arrives, written to its staging object or (a one-chunk file) straight to the
//! file's object, then recorded ([`stage`]); the file assembled from its staged chunks once
//! they are all in ([`assembly`]); the thumbnail of a one-chunk image, made, stored and
//! recorded ([`thumbnails`], over the pure image work of [`thumbs`]); a file found for the
//! open routes, assembled first when its assembly is due ([`open`]); chunks written straight
//! into the parts of one multipart upload when their size allows ([`direct`]); a file's bytes, staged
//! chunks and thumbnails deleted ([`delete`]). This module holds what they share: the name of
//! a file's ledger object and the one way to call it ([`call`]), the record a Twake file is
//! stored under, and [`FileRef`]. The state of a file while its chunks land is its ledger
//! object's ([`crate::engine::ledger::twake`]); the Twake dialect only reads the vendor's
//! requests, calls these, and renders its answers.
//!
//! May import: [`crate::engine::file`], the streaming writer and its part plan
//! ([`crate::engine::upload::writer`], [`crate::engine::upload::plan`]), the `Uploads` trait
//! through which the ledger objects are reached ([`crate::engine::upload::calls`]), the
//! context ([`crate::engine::Ctx`]), of the ledger only the call envelope and the Twake call,
//! `crate::{auth, error, http, store}`. Not catalog.

pub mod assembly;
pub mod delete;
pub mod direct;
pub mod open;
pub mod stage;
pub mod thumbnails;
pub mod thumbs;

use crate::auth::Tenant;
use crate::engine::file::record::{Access, Extras, Vendor};
use crate::engine::ledger::twake::{TwakeAnswer, TwakeCall, TwakeFile, FILE_NOT_FOUND};
use crate::engine::ledger::{LedgerAnswer, LedgerCall, LedgerCalls};
use crate::engine::upload::calls::Uploads;
use crate::engine::{Missing, NewFile};
use crate::error::{Error, Result};

/// What a Twake file that cannot be served answers, expired or not.
const MISSING: Missing = Missing { not_found: FILE_NOT_FOUND, expired: FILE_NOT_FOUND };

/// A Twake file as a request names it: its id and company, and the tenant and user sending
/// to it.
#[derive(Debug, Clone, Copy)]
pub struct FileRef<'a> {
    pub id: &'a str,
    pub company: &'a str,
    pub tenant: &'a Tenant,
    pub user: &'a str,
}

/// The ledger object of file `id` of company `cid`: named by both, so a file is found only
/// under its own company's path. (Ids are random and made here, so no two tenants' files
/// share one; each route checks the tenant the object records.)
fn object(cid: &str, id: &str) -> String {
    format!("twake:{cid}:{id}")
}

/// Sends `c` to the ledger object of file `id` of company `cid`.
pub async fn call<U: Uploads>(uploads: &U, cid: &str, id: &str, c: TwakeCall) -> Result<TwakeAnswer> {
    match uploads.ledger(&object(cid, id), LedgerCall::Twake(c)).await? {
        LedgerAnswer::Twake(a) => Ok(a),
        other => Err(Error::Internal(format!("twake object answered {other:?}"))),
    }
}

/// The id of thumbnail `index` of file `id`: its record's.
fn thumb_id(id: &str, index: u32) -> String {
    format!("{id}-t{index}")
}

/// The file a Twake file's object describes once all its `size` bytes are in: its
/// metadata's name and type (one that never had any: `file`, `application/octet-stream`).
fn whole_file(file: &TwakeFile, size: u64) -> NewFile {
    let (name, mime) =
        file.metadata.as_ref().map_or(("file", "application/octet-stream"), |m| (m.name.as_str(), m.mime.as_str()));
    let tenant = Tenant(file.tenant.clone());
    let owner = FileRef { id: &file.id, company: &file.company_id, tenant: &tenant, user: &file.user_id };
    new_file(&owner, name, mime, Some(size))
}

/// The record a Twake file is stored under: private, its company and user beside it.
fn new_file(file: &FileRef<'_>, name: &str, mime: &str, hint: Option<u64>) -> NewFile {
    NewFile {
        tenant: file.tenant.clone(),
        id: file.id.to_string(),
        name: name.to_string(),
        content_type: mime.to_string(),
        vendor: Vendor::Twake,
        access: Access::Private,
        extra: Extras {
            company_id: Some(file.company.to_string()),
            user_id: Some(file.user.to_string()),
            ..Extras::default()
        },
        length_hint: hint,
        expiring: false,
        mutable: false,
    }
}
