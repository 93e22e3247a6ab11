//! Counters for `/metrics` (Prometheus text format 0.0.4).
//!
//! Request counters are a fixed table of atomics indexed by route and
//! status, so counting costs no lock and no allocation on the hot path;
//! per-source poll counters take a lock, but polls are rare.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::fetch::{BudgetStatus, HostStatus};

/// What a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Index,
    Feed,
    Preview,
    Digest,
    Opml,
    Healthz,
    Readyz,
    Status,
    Metrics,
    Admin,
    WebSub,
    NotFound,
}

const ROUTES: [(Route, &str); 12] = [
    (Route::Index, "index"),
    (Route::Feed, "feed"),
    (Route::Preview, "preview"),
    (Route::Digest, "digest"),
    (Route::Opml, "opml"),
    (Route::Healthz, "healthz"),
    (Route::Readyz, "readyz"),
    (Route::Status, "status"),
    (Route::Metrics, "metrics"),
    (Route::Admin, "admin"),
    (Route::WebSub, "websub"),
    (Route::NotFound, "not_found"),
];

/// Statuses counted by name; anything else counts as `other`.
const STATUSES: [u16; 11] = [200, 304, 400, 401, 404, 405, 406, 429, 500, 503, 0];

fn status_slot(status: u16) -> usize {
    STATUSES
        .iter()
        .position(|s| *s == status)
        .unwrap_or(STATUSES.len() - 1)
}

/// How one poll of a source ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Fetched,
    NotModified,
    Error,
}

#[derive(Debug, Default, Clone, Copy)]
struct SourceCounters {
    fetched: u64,
    not_modified: u64,
    errors: u64,
    seconds: f64,
}

/// Why the server closed a connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// No complete request within the first-request deadline.
    FirstRequest,
    /// No request in flight and none started for the idle timeout.
    Idle,
}

/// Process-wide counters.
pub struct Metrics {
    requests: [[AtomicU64; STATUSES.len()]; ROUTES.len()],
    bytes_out: AtomicU64,
    polls: Mutex<BTreeMap<String, SourceCounters>>,
    /// Connections open now, and accepted since start.
    pub connections_open: AtomicU64,
    pub connections_total: AtomicU64,
    /// Connections closed before their first request to make room for a
    /// new one when every slot was taken.
    pub connections_shed: AtomicU64,
    /// Connections the server closed: [first request, idle].
    timeouts: [AtomicU64; 2],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            bytes_out: AtomicU64::new(0),
            polls: Mutex::default(),
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            connections_shed: AtomicU64::new(0),
            timeouts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// The bounds on what clients can drive, and how full each is: sampled at
/// scrape time.
#[derive(Debug, Default, Clone, Copy)]
pub struct Bounds {
    pub max_connections: usize,
    pub cache: crate::render::CacheStats,
    pub cache_budget: usize,
    pub renders_in_flight: usize,
    pub max_renders: usize,
    /// Requests waiting for or holding a render slot, and refused.
    pub renders_queued: usize,
    pub renders_refused: u64,
    pub admin_auth: AdminAuthStats,
}

/// The admin token's failed attempts ([`crate::state::admin_guard::Guard`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct AdminAuthStats {
    /// Requests without the right token that were answered `401`.
    pub refused: u64,
    /// Requests answered `429` without the token being looked at.
    pub throttled: u64,
    /// Clients whose failures are remembered now, and at most.
    pub clients: usize,
    pub max_clients: usize,
}

/// Gauges sampled at scrape time by the caller.
pub struct Snapshot<'a> {
    pub ready: bool,
    pub store_entries: usize,
    pub topic_entries: Vec<(&'a str, usize)>,
    /// Source id → consecutive failures.
    pub source_failures: Vec<(&'a str, u32)>,
    /// Source id → repairs its last successful poll made to read it (see
    /// [`crate::repairs`]); 0 for a well-formed source.
    pub source_repairs: Vec<(&'a str, u64)>,
    pub renders: u64,
    pub render_seconds: f64,
    /// The fetcher's politeness gate: hosts contacted, budgets in use.
    /// Unlisted hosts (reached by a link or redirect) are not labelled:
    /// strangers choose them. Their requests are counted as `other`.
    pub hosts: Vec<HostStatus>,
    pub budgets: Vec<BudgetStatus>,
    /// Hosts whose politeness state is kept, and at most
    /// (`fetch::MAX_HOSTS`).
    pub hosts_tracked: usize,
    pub max_hosts: usize,
    /// Requests sent to unlisted hosts since forgotten.
    pub forgotten_requests: u64,
    pub bounds: Bounds,
    /// The WebSub hub's figures, when it runs.
    pub websub: Option<WebSubStats>,
    /// Full article fetches (`crate::fulltext`).
    pub articles: ArticleStats,
}

/// Full article fetches' figures (see `crate::fulltext`).
#[derive(Debug, Clone, Default)]
pub struct ArticleStats {
    /// Fetches owed now (due, or waiting to be retried).
    pub owed: usize,
    pub max_owed: usize,
    /// Fetches by how they ended: `stored`, `failed` (each failed try),
    /// `gave_up`, `robots_denied`, `no_article`, `refused`, `panicked`.
    pub outcomes: Vec<(&'static str, u64)>,
    /// Fetches under way now, and at most.
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// Origins whose `robots.txt` is cached, and at most.
    pub robots_origins: usize,
    pub max_robots_origins: usize,
    /// Bytes the `robots.txt` cache holds, and at most.
    pub robots_bytes: usize,
    pub max_robots_bytes: usize,
}

/// The WebSub hub's figures (see `crate::websub`).
#[derive(Debug, Clone, Default)]
pub struct WebSubStats {
    /// Active subscriptions per topic.
    pub subscriptions: Vec<(String, usize)>,
    pub max_subscriptions: usize,
    pub verifying: usize,
    pub max_verifying: usize,
    /// Subscription requests by what became of them: `accepted`,
    /// `refused` (400/429/503), then of the accepted ones `verified` (and on disk),
    /// `unverified`, `denied`; and leases `expired`.
    pub outcomes: Vec<(&'static str, u64)>,
    /// Deliveries `delivered`, `failed` (each try), `gave_up`.
    pub deliveries: Vec<(&'static str, u64)>,
    /// Deliveries owed now (due or waiting to be retried).
    pub owed: usize,
    pub delivering: usize,
    pub max_delivering: usize,
    /// Callback addresses and clients with verifications or deliveries
    /// under way (the entries of the hub's per-address tables), and at
    /// most.
    pub addresses: usize,
    pub max_addresses: usize,
}

/// A metric family's type, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// Writes the Prometheus text format 0.0.4: each family's `# HELP` and
/// `# TYPE` once, before its samples; label values escaped. Hand-written
/// rather than `prometheus-client`: as fast per series (benches/serving.rs),
/// and that crate writes only OpenMetrics, which not every scraper asks for.
struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family. Counter names end in `_total`, as the format's
    /// naming rules ask.
    fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        debug_assert_eq!(kind == Kind::Counter, name.ends_with("_total"), "{name}");
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample of the family just started.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        for (i, (k, v)) in labels.iter().enumerate() {
            self.out.push(if i == 0 { '{' } else { ',' });
            let _ = write!(self.out, "{k}=\"");
            escape_label(&mut self.out, v);
            self.out.push('"');
        }
        if !labels.is_empty() {
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help).sample(name, &[], value);
    }

    /// A family with one label: a sample per (label value, value).
    fn by<V: std::fmt::Display>(
        &mut self,
        (name, kind, help): (&str, Kind, &str),
        label: &str,
        samples: impl IntoIterator<Item = (impl AsRef<str>, V)>,
    ) {
        self.family(name, kind, help);
        for (value_of_label, v) in samples {
            self.sample(name, &[(label, value_of_label.as_ref())], v);
        }
    }
}

fn render_websub(x: &mut Exposition, w: &WebSubStats) {
    use Kind::{Counter, Gauge};
    x.by(
        (
            "feedloom_websub_subscriptions",
            Gauge,
            "Active WebSub subscriptions by topic.",
        ),
        "topic",
        w.subscriptions.iter().map(|(t, n)| (t.as_str(), *n)),
    );
    x.single(
        "feedloom_websub_subscriptions_limit",
        Gauge,
        "WebSub subscriptions the hub keeps at most (websub::MAX_SUBSCRIPTIONS).",
        w.max_subscriptions,
    );
    x.single(
        "feedloom_websub_verifications_in_flight",
        Gauge,
        "WebSub verifications of intent under way.",
        w.verifying,
    );
    x.single(
        "feedloom_websub_verifications_limit",
        Gauge,
        "WebSub verifications under way at most (websub::MAX_VERIFICATIONS_IN_FLIGHT).",
        w.max_verifying,
    );
    x.by(
        (
            "feedloom_websub_requests_total",
            Counter,
            "WebSub subscription requests and leases, by what became of them.",
        ),
        "outcome",
        w.outcomes.iter().copied(),
    );
    x.by(
        (
            "feedloom_websub_deliveries_total",
            Counter,
            "WebSub content deliveries by result (failed: each failed try).",
        ),
        "result",
        w.deliveries.iter().copied(),
    );
    x.single(
        "feedloom_websub_deliveries_owed",
        Gauge,
        "WebSub deliveries owed now: due, or waiting to be retried.",
        w.owed,
    );
    x.single(
        "feedloom_websub_deliveries_in_flight",
        Gauge,
        "WebSub deliveries under way.",
        w.delivering,
    );
    x.single(
        "feedloom_websub_deliveries_limit",
        Gauge,
        "WebSub deliveries under way at most (websub::MAX_DELIVERIES_IN_FLIGHT).",
        w.max_delivering,
    );
    x.single(
        "feedloom_websub_addresses_tracked",
        Gauge,
        "Callback addresses and clients the WebSub hub counts work under way for.",
        w.addresses,
    );
    x.single(
        "feedloom_websub_addresses_tracked_limit",
        Gauge,
        "Entries the WebSub hub's per-address tables hold at most (websub::MAX_ADDRESSES_TRACKED).",
        w.max_addresses,
    );
}

fn render_articles(x: &mut Exposition, a: &ArticleStats) {
    use Kind::{Counter, Gauge};
    x.single(
        "feedloom_articles_owed",
        Gauge,
        "Full article fetches owed: due, or waiting to be retried.",
        a.owed,
    );
    x.single(
        "feedloom_articles_owed_limit",
        Gauge,
        "Full article fetches owed at most (fulltext::MAX_OWED).",
        a.max_owed,
    );
    x.single(
        "feedloom_articles_in_flight",
        Gauge,
        "Full article fetches under way (robots.txt, page, extraction).",
        a.in_flight,
    );
    x.single(
        "feedloom_articles_in_flight_limit",
        Gauge,
        "Full article fetches under way at most (fulltext::MAX_CONCURRENT_ARTICLES).",
        a.max_in_flight,
    );
    x.single(
        "feedloom_robots_origins",
        Gauge,
        "Origins whose robots.txt is cached for article fetches.",
        a.robots_origins,
    );
    x.single(
        "feedloom_robots_origins_limit",
        Gauge,
        "Origins whose robots.txt is cached at most (fulltext::robots::MAX_ORIGINS).",
        a.max_robots_origins,
    );
    x.single(
        "feedloom_robots_bytes",
        Gauge,
        "Bytes of robots.txt rules (and bookkeeping) cached for article fetches.",
        a.robots_bytes,
    );
    x.single(
        "feedloom_robots_bytes_limit",
        Gauge,
        "Bytes of robots.txt rules cached at most (fulltext::robots::MAX_CACHE_BYTES).",
        a.max_robots_bytes,
    );
    x.by(
        (
            "feedloom_articles_total",
            Counter,
            "Full article fetches by how they ended (failed: each failed try).",
        ),
        "outcome",
        a.outcomes.iter().copied(),
    );
}

/// A label value escaped for the text format (`\\`, `"` and newlines).
fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

impl Metrics {
    pub fn record_request(&self, route: Route, status: u16, body_bytes: usize) {
        let r = ROUTES
            .iter()
            .position(|(x, _)| *x == route)
            .expect("every route is listed");
        self.requests[r][status_slot(status)].fetch_add(1, Ordering::Relaxed);
        self.bytes_out
            .fetch_add(body_bytes as u64, Ordering::Relaxed);
    }

    pub fn record_timeout(&self, why: Timeout) {
        self.timeouts[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_poll(&self, source: &str, outcome: PollOutcome, seconds: f64) {
        let mut polls = self.polls.lock().expect("metrics lock");
        let c = polls.entry(source.to_string()).or_default();
        match outcome {
            PollOutcome::Fetched => c.fetched += 1,
            PollOutcome::NotModified => c.not_modified += 1,
            PollOutcome::Error => c.errors += 1,
        }
        c.seconds += seconds;
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, snap: &Snapshot) -> String {
        use Kind::{Counter, Gauge};
        let mut x = Exposition {
            out: String::with_capacity(4096),
        };
        let (mut total, mut not_modified) = (0u64, 0u64);
        let name = "feedloom_http_requests_total";
        x.family(name, Counter, "HTTP requests by route and status.");
        for (r, (_, route)) in ROUTES.iter().enumerate() {
            for (s, status) in STATUSES.iter().enumerate() {
                let n = self.requests[r][s].load(Ordering::Relaxed);
                total += n;
                if *status == 304 {
                    not_modified += n;
                }
                if n > 0 {
                    let status = match status {
                        0 => "other".to_string(),
                        s => s.to_string(),
                    };
                    x.sample(name, &[("route", route), ("status", &status)], n);
                }
            }
        }
        let share = if total == 0 {
            0.0
        } else {
            not_modified as f64 / total as f64
        };
        x.single(
            "feedloom_http_not_modified_ratio",
            Gauge,
            "Share of requests answered 304 Not Modified.",
            share,
        );
        x.single(
            "feedloom_http_response_body_bytes_total",
            Counter,
            "Response body bytes sent.",
            self.bytes_out.load(Ordering::Relaxed),
        );
        let polls = self.polls.lock().expect("metrics lock").clone();
        let name = "feedloom_polls_total";
        x.family(name, Counter, "Polls by source and outcome.");
        for (source, c) in &polls {
            for (outcome, n) in [
                ("fetched", c.fetched),
                ("not_modified", c.not_modified),
                ("error", c.errors),
            ] {
                x.sample(name, &[("source", source), ("outcome", outcome)], n);
            }
        }
        x.by(
            (
                "feedloom_poll_errors_total",
                Counter,
                "Failed polls by source.",
            ),
            "source",
            polls.iter().map(|(s, c)| (s.as_str(), c.errors)),
        );
        x.by(
            (
                "feedloom_poll_seconds_total",
                Counter,
                "Time spent polling, by source.",
            ),
            "source",
            polls.iter().map(|(s, c)| (s.as_str(), c.seconds)),
        );
        x.by(
            (
                "feedloom_source_consecutive_failures",
                Gauge,
                "Failed polls in a row, by source.",
            ),
            "source",
            snap.source_failures.iter().copied(),
        );
        x.by(
            (
                "feedloom_source_repairs",
                Gauge,
                "Repairs the last successful poll of a source needed to read it (a bare `&`, a date in the wrong form, a document cut short...), by source; above 0 the source is recovered.",
            ),
            "source",
            snap.source_repairs.iter().copied(),
        );
        // SECURITY: a label per host a stranger's link names would let
        // a feed grow this page (and a Prometheus server) without bound.
        let listed: Vec<&HostStatus> = snap.hosts.iter().filter(|h| h.listed).collect();
        let other = snap.forgotten_requests
            + snap
                .hosts
                .iter()
                .filter(|h| !h.listed)
                .map(|h| h.requests)
                .sum::<u64>();
        x.by(
            (
                "feedloom_host_requests_total",
                Counter,
                "Requests sent to each source's host; `other`: to hosts only links and redirects led to.",
            ),
            "host",
            listed
                .iter()
                .map(|h| (h.host.as_str(), h.requests))
                .chain([("other", other)]),
        );
        x.by(
            (
                "feedloom_host_blocked_until_seconds",
                Gauge,
                "Unix time until which a source's host asked us (429/503 Retry-After) to wait; 0 when it did not.",
            ),
            "host",
            listed
                .iter()
                .map(|h| (h.host.as_str(), h.blocked_until.map_or(0, |t| t.timestamp()))),
        );
        x.single(
            "feedloom_fetch_hosts",
            Gauge,
            "Hosts whose politeness state (spacing, Retry-After, budget) is kept.",
            snap.hosts_tracked,
        );
        x.single(
            "feedloom_fetch_hosts_limit",
            Gauge,
            "Hosts kept at most besides the sources' own (fetch::MAX_HOSTS).",
            snap.max_hosts,
        );
        // Budgets of the sources' hosts and of source kinds, not of
        // hosts a link led to.
        let shown = |b: &&BudgetStatus| match b.key.strip_prefix("host ") {
            Some(host) => listed.iter().any(|h| h.host == host),
            None => true,
        };
        x.by(
            (
                "feedloom_budget_used",
                Gauge,
                "Requests spent in the current window of each request budget.",
            ),
            "budget",
            snap.budgets
                .iter()
                .filter(shown)
                .map(|b| (b.key.as_str(), b.used)),
        );
        x.by(
            (
                "feedloom_budget_limit",
                Gauge,
                "Requests allowed per window of each request budget.",
            ),
            "budget",
            snap.budgets
                .iter()
                .filter(shown)
                .map(|b| (b.key.as_str(), b.max_requests)),
        );
        x.by(
            ("feedloom_topic_entries", Gauge, "Entries in each topic."),
            "topic",
            snap.topic_entries.iter().copied(),
        );
        x.single(
            "feedloom_store_entries",
            Gauge,
            "Entries in the store.",
            snap.store_entries,
        );
        x.single(
            "feedloom_renders_total",
            Counter,
            "Documents rendered (feeds, pages), all formats.",
            snap.renders,
        );
        x.single(
            "feedloom_render_seconds_total",
            Counter,
            "Time spent rendering and compressing documents.",
            snap.render_seconds,
        );
        x.single(
            "feedloom_ready",
            Gauge,
            "Whether every source has been polled once since start.",
            u8::from(snap.ready),
        );
        self.render_bounds(&mut x, &snap.bounds);
        render_articles(&mut x, &snap.articles);
        if let Some(w) = &snap.websub {
            render_websub(&mut x, w);
        }
        x.out
    }

    /// Every stranger-driven bound, with its use.
    fn render_bounds(&self, x: &mut Exposition, b: &Bounds) {
        use Kind::{Counter, Gauge};
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed) as usize;
        let singles: [(&str, Kind, &str, usize); 21] = [
            (
                "feedloom_connections_open",
                Gauge,
                "Client connections open now.",
                load(&self.connections_open),
            ),
            (
                "feedloom_connections_limit",
                Gauge,
                "Connections served at once (--max-connections).",
                b.max_connections,
            ),
            (
                "feedloom_cache_bytes",
                Gauge,
                "Bytes of cached documents (bodies and compressed copies).",
                b.cache.bytes,
            ),
            (
                "feedloom_cache_entries",
                Gauge,
                "Cached documents.",
                b.cache.entries,
            ),
            (
                "feedloom_cache_variant_bytes",
                Gauge,
                "Bytes of client-chosen cached documents (?limit= variants, other public bases).",
                b.cache.variant_bytes,
            ),
            (
                "feedloom_cache_variant_entries",
                Gauge,
                "Client-chosen cached documents.",
                b.cache.variant_entries,
            ),
            (
                "feedloom_cache_variant_budget_bytes",
                Gauge,
                "Bytes client-chosen documents may take (--cache-bytes).",
                b.cache_budget,
            ),
            (
                "feedloom_renders_in_flight",
                Gauge,
                "Documents being rendered on a cache miss now.",
                b.renders_in_flight,
            ),
            (
                "feedloom_renders_limit",
                Gauge,
                "Renders on a cache miss allowed at once.",
                b.max_renders,
            ),
            (
                "feedloom_renders_queued",
                Gauge,
                "Requests waiting for a render slot or holding one.",
                b.renders_queued,
            ),
            (
                "feedloom_renders_queued_limit",
                Gauge,
                "Requests that may wait for a render slot at once (more get 503).",
                crate::render::MAX_RENDERS_QUEUED,
            ),
            (
                "feedloom_renders_refused_total",
                Counter,
                "Requests refused with 503 because the render queue was full.",
                b.renders_refused as usize,
            ),
            (
                "feedloom_query_decode_limit",
                Gauge,
                "Most entries one query feed decodes to test on their text.",
                crate::render::MAX_DECODE,
            ),
            (
                "feedloom_nesting_limit",
                Gauge,
                "Deepest nesting accepted in an upstream document.",
                crate::depth::MAX_NESTING,
            ),
            (
                "feedloom_query_read_limit",
                Gauge,
                "Most entries one query feed decodes to test.",
                crate::render::MAX_READ,
            ),
            (
                "feedloom_queries_cut_total",
                Counter,
                "Query feeds that stopped at the decode limit before finding enough entries.",
                crate::render::queries_cut() as usize,
            ),
            (
                "feedloom_connections_total",
                Counter,
                "Client connections accepted since start.",
                load(&self.connections_total),
            ),
            (
                "feedloom_connections_shed_total",
                Counter,
                "Connections closed before their first request to make room for a new one, every slot being taken.",
                load(&self.connections_shed),
            ),
            (
                "feedloom_admin_auth_clients",
                Gauge,
                "Clients whose failed admin-token attempts are remembered.",
                b.admin_auth.clients,
            ),
            (
                "feedloom_admin_auth_clients_limit",
                Gauge,
                "Clients remembered at most; past it newcomers share one allowance.",
                b.admin_auth.max_clients,
            ),
            (
                "feedloom_cache_evictions_total",
                Counter,
                "Client-chosen documents evicted to stay within the budget.",
                b.cache.evictions as usize,
            ),
        ];
        for (name, kind, help, v) in singles {
            x.single(name, kind, help, v);
        }
        x.by(
            (
                "feedloom_connection_timeouts_total",
                Counter,
                "Connections closed by the server: no complete request in time (first_request) or idle too long (idle).",
            ),
            "reason",
            [
                ("first_request", self.timeouts[0].load(Ordering::Relaxed)),
                ("idle", self.timeouts[1].load(Ordering::Relaxed)),
            ],
        );
        x.by(
            (
                "feedloom_admin_auth_failures_total",
                Counter,
                "Admin requests without the right token: answered 401 (refused), or 429 without the token being looked at (throttled).",
            ),
            "outcome",
            [
                ("refused", b.admin_auth.refused),
                ("throttled", b.admin_auth.throttled),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.record_request(Route::Feed, 200, 100);
        m.record_request(Route::Feed, 304, 0);
        m.record_request(Route::Feed, 304, 0);
        m.record_request(Route::NotFound, 418, 5);
        m.record_poll("hf", PollOutcome::Error, 0.5);
        // Every label value is escaped, whatever it holds.
        m.record_poll("odd\\ \"id\"\nx", PollOutcome::Fetched, 0.1);
        let text = m.render(&Snapshot {
            ready: true,
            store_entries: 7,
            topic_entries: vec![("llm", 3)],
            source_failures: vec![("hf", 1)],
            source_repairs: vec![("hf", 0), ("blog", 12)],
            renders: 2,
            render_seconds: 0.25,
            hosts: vec![
                HostStatus {
                    host: "huggingface.co".into(),
                    listed: true,
                    requests: 12,
                    blocked_until: Some("2026-11-27T12:00:00Z".parse().unwrap()),
                },
                HostStatus {
                    host: "linked.example".into(),
                    listed: false,
                    requests: 3,
                    blocked_until: None,
                },
            ],
            forgotten_requests: 4,
            hosts_tracked: 2,
            max_hosts: 1024,
            budgets: vec![BudgetStatus {
                key: "huggingface.co \"api\"".into(),
                used: 3,
                max_requests: 150,
                window_seconds: 300,
            }],
            bounds: Bounds {
                max_connections: 4,
                cache_budget: 1000,
                ..Default::default()
            },
            websub: Some(WebSubStats {
                subscriptions: vec![("papers".into(), 3)],
                max_subscriptions: 10,
                outcomes: vec![("verified", 5)],
                ..Default::default()
            }),
            articles: ArticleStats {
                owed: 2,
                max_owed: 10,
                outcomes: vec![("stored", 4)],
                in_flight: 3,
                max_in_flight: 4,
                ..Default::default()
            },
        });
        assert!(text.contains("feedloom_articles_owed 2\n"));
        assert!(text.contains("feedloom_articles_in_flight 3\n"));
        assert!(text.contains("feedloom_articles_in_flight_limit 4\n"));
        assert!(text.contains("feedloom_articles_total{outcome=\"stored\"} 4\n"));
        assert!(text.contains("feedloom_websub_subscriptions{topic=\"papers\"} 3\n"));
        assert!(text.contains("feedloom_websub_requests_total{outcome=\"verified\"} 5\n"));
        assert!(text.contains("feedloom_connections_limit 4\n"), "{text}");
        assert!(text.contains("feedloom_cache_variant_budget_bytes 1000\n"));
        assert!(text.contains("feedloom_connection_timeouts_total{reason=\"idle\"} 0\n"));
        assert!(text.contains("feedloom_connections_shed_total 0\n"));
        assert!(text.contains("feedloom_admin_auth_failures_total{outcome=\"throttled\"} 0\n"));
        assert!(
            text.contains("feedloom_http_requests_total{route=\"feed\",status=\"304\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("feedloom_http_requests_total{route=\"not_found\",status=\"other\"} 1\n")
        );
        assert!(text.contains("feedloom_http_not_modified_ratio 0.5\n"));
        assert!(text.contains("feedloom_http_response_body_bytes_total 105\n"));
        assert!(text.contains("feedloom_poll_errors_total{source=\"hf\"} 1\n"));
        assert!(text.contains("feedloom_source_repairs{source=\"blog\"} 12\n"));
        assert!(text.contains("feedloom_source_repairs{source=\"hf\"} 0\n"));
        assert!(text.contains("feedloom_topic_entries{topic=\"llm\"} 3\n"));
        assert!(text.contains("feedloom_ready 1\n"));
        assert!(text.contains("feedloom_host_requests_total{host=\"huggingface.co\"} 12\n"));
        // A host only a link led to is not a label: counted as `other`,
        // with the requests of those already forgotten.
        assert!(!text.contains("linked.example"), "{text}");
        assert!(text.contains("feedloom_host_requests_total{host=\"other\"} 7\n"));
        assert!(text.contains("feedloom_fetch_hosts 2\n"));
        assert!(text.contains("feedloom_fetch_hosts_limit 1024\n"));
        assert!(text
            .contains("feedloom_host_blocked_until_seconds{host=\"huggingface.co\"} 1795780800\n"));
        assert!(
            text.contains("feedloom_budget_used{budget=\"huggingface.co \\\"api\\\"\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("feedloom_budget_limit{budget=\"huggingface.co \\\"api\\\"\"} 150\n"));
        assert!(
            text.contains(
                "feedloom_polls_total{source=\"odd\\\\ \\\"id\\\"\\nx\",outcome=\"fetched\"} 1\n"
            ),
            "{text}"
        );
        well_formed(&text);
    }

    /// Checks the text format 0.0.4 line by line: names, one HELP and TYPE
    /// per family before its samples, counters named `_total`, label values
    /// quoted with only `\\`, `\"` and `\n` escapes, values numbers, no
    /// series twice.
    fn well_formed(text: &str) {
        let name_ok = |n: &str| {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        let (mut typed, mut helped, mut series) = (HashMap::new(), HashSet::new(), HashSet::new());
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(name_ok(name) && helped.insert(name.to_string()), "{line}");
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(helped.contains(name), "TYPE before HELP: {line}");
                assert!(matches!(kind, "counter" | "gauge"), "{line}");
                assert_eq!(kind == "counter", name.ends_with("_total"), "{line}");
                assert!(
                    typed.insert(name.to_string(), kind).is_none(),
                    "twice: {line}"
                );
                current = Some(name.to_string());
            } else {
                let (name, rest) = line.split_at(line.find(['{', ' ']).unwrap());
                assert_eq!(
                    Some(name),
                    current.as_deref(),
                    "sample outside its family: {line}"
                );
                let mut chars = rest.chars().peekable();
                let mut labels = String::new();
                if chars.peek() == Some(&'{') {
                    chars.next();
                    loop {
                        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                        assert!(name_ok(&key), "label name in {line}");
                        assert_eq!(chars.next(), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            match chars.next().expect("unterminated label value") {
                                '\\' => match chars.next() {
                                    Some(c @ ('\\' | '"' | 'n')) => value.push(c),
                                    other => panic!("bad escape {other:?} in {line}"),
                                },
                                '"' => break,
                                '\n' => panic!("raw newline in {line}"),
                                c => value.push(c),
                            }
                        }
                        labels.push_str(&format!("{key}={value};"));
                        match chars.next() {
                            Some(',') => continue,
                            Some('}') => break,
                            other => panic!("{other:?} after a label in {line}"),
                        }
                    }
                }
                assert_eq!(chars.next(), Some(' '), "{line}");
                let value: String = chars.collect();
                assert!(value.parse::<f64>().is_ok(), "value `{value}` in {line}");
                assert!(
                    series.insert(format!("{name}|{labels}")),
                    "series twice: {line}"
                );
            }
        }
        assert!(!typed.is_empty());
    }
}
