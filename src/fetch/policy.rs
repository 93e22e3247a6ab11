//! The rules of politeness as data: what the operator's `[[host]]` rules
//! and a source kind's budgets say, the defaults and bounds that apply
//! where they say nothing, and what the gate reports of its state on
//! `/status` and `/metrics`. The gate (`gate.rs`) enforces them.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How long a host is left alone after a 429 that named no delay.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// The longest pause an upstream's `Retry-After` can impose.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Waiting for a request budget to free up is fine for this long; beyond
/// it the poll fails and the next one tries again.
pub const MAX_BUDGET_WAIT: Duration = Duration::from_secs(10);
/// Host rules unless `[[host]]` says otherwise.
pub const DEFAULT_MIN_SPACING: Duration = Duration::from_secs(1);
pub const DEFAULT_HOST_BUDGET: u32 = 120;
pub const DEFAULT_HOST_WINDOW: Duration = Duration::from_secs(300);
/// Hosts (and budget windows) whose politeness state is kept.
///
/// SECURITY: the hosts fetched are not all the operator's: article links
/// (`fulltext`) and redirects name any host a stranger likes, and each one
/// contacted used to stay in memory, on `/status` and as a `/metrics`
/// label for good. Past this many, idle hosts are forgotten (nothing in
/// flight, no Retry-After block, their spacing over: forgetting them
/// changes no behaviour); if that is not enough, the least recently used
/// that have nothing in flight, their blocks and budget windows with them.
pub const MAX_HOSTS: usize = 1024;
/// The longest `Crawl-delay` a site's `robots.txt` is obeyed with; a longer
/// one is read as this (a day-long delay would stop its feed too).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// A request budget: at most `max_requests` per `window` for requests that
/// share `key` (e.g. `huggingface.co api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub key: String,
    pub max_requests: u32,
    pub window: Duration,
}

/// The rules for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    pub min_spacing: Duration,
    pub max_requests: u32,
    pub window: Duration,
}

impl Default for HostPolicy {
    fn default() -> Self {
        HostPolicy {
            min_spacing: DEFAULT_MIN_SPACING,
            max_requests: DEFAULT_HOST_BUDGET,
            window: DEFAULT_HOST_WINDOW,
        }
    }
}

/// What the politeness gate knows of one host, for `/status` and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostStatus {
    pub host: String,
    /// A source's host or one with `[[host]]` rules: the operator's, not
    /// one a link or redirect led to.
    pub listed: bool,
    /// Requests sent since start.
    pub requests: u64,
    /// Set while the host asked us (429/503) to wait.
    pub blocked_until: Option<DateTime<Utc>>,
}

/// One request budget's current window, for `/status` and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetStatus {
    /// `host example.org`, or a source kind's own budget such as
    /// `huggingface.co api`.
    pub key: String,
    pub used: u32,
    pub max_requests: u32,
    pub window_seconds: u64,
}

/// The per-host rules in force (hosts not listed get
/// [`HostPolicy::default`]); listed hosts are the operator's.
pub(super) type Policies = HashMap<String, HostPolicy>;
