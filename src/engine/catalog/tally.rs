//! Per-tenant counters of what the service did (requests, errors, bytes in and out,
//! downloads, uploads), for the operator and the tenant. Requests are counted where they are
//! answered, in the isolate ([`Tally`]), and added to the tenant's account at most once per
//! flush interval, so that counting costs no storage call per request; uploads are counted
//! exactly, by the account, when a file is published.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a tenant's requests did, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    #[serde(default)]
    pub requests: u64,
    /// Answers of status 400 and above.
    #[serde(default)]
    pub errors: u64,
    /// Request bodies' declared lengths.
    #[serde(default)]
    pub bytes_in: u64,
    /// Answer bodies' lengths, where known before they were sent.
    #[serde(default)]
    pub bytes_out: u64,
    /// Files served (a `2xx` download).
    #[serde(default)]
    pub downloads: u64,
    /// Files published (counted by the account itself).
    #[serde(default)]
    pub uploads: u64,
}

impl Counters {
    /// One answered request.
    pub fn request(status: u16, bytes_in: Option<u64>, bytes_out: Option<u64>, download: bool) -> Counters {
        Counters {
            requests: 1,
            errors: u64::from(status >= 400),
            bytes_in: bytes_in.unwrap_or(0),
            bytes_out: bytes_out.unwrap_or(0),
            downloads: u64::from(download && (200..300).contains(&status)),
            uploads: 0,
        }
    }

    pub fn add(&mut self, other: &Counters) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.downloads += other.downloads;
        self.uploads += other.uploads;
    }
}

/// An isolate's counts not yet added to the accounts, by tenant.
#[derive(Debug, Default)]
pub struct Tally {
    by: RefCell<BTreeMap<String, Counters>>,
    flushed_at: Cell<u64>,
}

/// Most tenants an isolate keeps counts of between flushes (a flush is due past it).
const MAX_TENANTS: usize = 1000;

impl Tally {
    pub fn add(&self, tenant: &str, counters: &Counters) {
        self.by.borrow_mut().entry(tenant.to_string()).or_default().add(counters);
    }

    /// The counts to add to the accounts, if a flush is due at `now` (`every_ms` after the
    /// last, or too many tenants held); they are taken, and the clock restarts.
    pub fn take_due(&self, now: u64, every_ms: u64) -> Vec<(String, Counters)> {
        let due = now.saturating_sub(self.flushed_at.get()) >= every_ms || self.by.borrow().len() >= MAX_TENANTS;
        if !due || self.by.borrow().is_empty() {
            return Vec::new();
        }
        self.flushed_at.set(now);
        std::mem::take(&mut *self.by.borrow_mut()).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_summed_per_tenant_and_taken_once_due() {
        let t = Tally::default();
        t.add("acme", &Counters::request(200, Some(10), Some(5), true));
        t.add("acme", &Counters::request(404, None, Some(20), true));
        t.add("bob", &Counters::request(201, Some(3), None, false));
        let taken = t.take_due(30_000, 30_000);
        let acme = taken.iter().find(|(n, _)| n == "acme").unwrap().1;
        assert_eq!(
            acme,
            Counters { requests: 2, errors: 1, bytes_in: 10, bytes_out: 25, downloads: 1, uploads: 0 },
            "a 404 is an error, not a download"
        );
        t.add("acme", &Counters::request(200, None, None, false));
        assert!(t.take_due(40_000, 30_000).is_empty(), "not due yet");
        assert_eq!(t.take_due(60_000, 30_000).len(), 1);
    }
}
