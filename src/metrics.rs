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
    Opml,
    Healthz,
    Readyz,
    Status,
    Metrics,
    Admin,
    NotFound,
}

const ROUTES: [(Route, &str); 10] = [
    (Route::Index, "index"),
    (Route::Feed, "feed"),
    (Route::Preview, "preview"),
    (Route::Opml, "opml"),
    (Route::Healthz, "healthz"),
    (Route::Readyz, "readyz"),
    (Route::Status, "status"),
    (Route::Metrics, "metrics"),
    (Route::Admin, "admin"),
    (Route::NotFound, "not_found"),
];

/// Statuses counted by name; anything else counts as `other`.
const STATUSES: [u16; 10] = [200, 304, 400, 401, 404, 405, 406, 500, 503, 0];

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
}

/// Gauges sampled at scrape time by the caller.
pub struct Snapshot<'a> {
    pub ready: bool,
    pub store_entries: usize,
    pub topic_entries: Vec<(&'a str, usize)>,
    /// Source id → consecutive failures.
    pub source_failures: Vec<(&'a str, u32)>,
    pub renders: u64,
    pub render_seconds: f64,
    /// The fetcher's politeness gate: hosts contacted, budgets in use.
    pub hosts: Vec<HostStatus>,
    pub budgets: Vec<BudgetStatus>,
    pub bounds: Bounds,
}

/// One metric family with a single label: its HELP and TYPE lines, then a
/// sample per (label value, value). `meta` is (name, type, help).
fn family<V: std::fmt::Display>(
    out: &mut String,
    (name, kind, help): (&str, &str, &str),
    label_name: &str,
    samples: impl IntoIterator<Item = (impl AsRef<str>, V)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (value_of_label, v) in samples {
        let _ = writeln!(
            out,
            "{name}{{{label_name}=\"{}\"}} {v}",
            label(value_of_label.as_ref())
        );
    }
}

/// A label value escaped for the text format (`\`, `"` and newlines).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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

    /// The Prometheus text exposition.
    pub fn render(&self, snap: &Snapshot) -> String {
        let mut out = String::with_capacity(4096);
        let mut total = 0u64;
        let mut not_modified = 0u64;
        out.push_str("# HELP feedloom_http_requests_total HTTP requests by route and status.\n# TYPE feedloom_http_requests_total counter\n");
        for (r, (_, route)) in ROUTES.iter().enumerate() {
            for (s, status) in STATUSES.iter().enumerate() {
                let n = self.requests[r][s].load(Ordering::Relaxed);
                total += n;
                if *status == 304 {
                    not_modified += n;
                }
                if n > 0 {
                    let status = if *status == 0 {
                        "other".to_string()
                    } else {
                        status.to_string()
                    };
                    let _ = writeln!(
                        out,
                        "feedloom_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }
        let share = if total == 0 {
            0.0
        } else {
            not_modified as f64 / total as f64
        };
        let _ = write!(
            out,
            "# HELP feedloom_http_not_modified_ratio Share of requests answered 304 Not Modified.\n# TYPE feedloom_http_not_modified_ratio gauge\nfeedloom_http_not_modified_ratio {share}\n\
             # HELP feedloom_http_response_body_bytes_total Response body bytes sent.\n# TYPE feedloom_http_response_body_bytes_total counter\nfeedloom_http_response_body_bytes_total {}\n",
            self.bytes_out.load(Ordering::Relaxed)
        );
        let polls = self.polls.lock().expect("metrics lock").clone();
        out.push_str("# HELP feedloom_polls_total Polls by source and outcome.\n# TYPE feedloom_polls_total counter\n");
        for (source, c) in &polls {
            for (outcome, n) in [
                ("fetched", c.fetched),
                ("not_modified", c.not_modified),
                ("error", c.errors),
            ] {
                let _ = writeln!(
                    out,
                    "feedloom_polls_total{{source=\"{source}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        family(
            &mut out,
            (
                "feedloom_poll_errors_total",
                "counter",
                "Failed polls by source.",
            ),
            "source",
            polls.iter().map(|(s, c)| (s.as_str(), c.errors)),
        );
        family(
            &mut out,
            (
                "feedloom_poll_seconds_total",
                "counter",
                "Time spent polling, by source.",
            ),
            "source",
            polls.iter().map(|(s, c)| (s.as_str(), c.seconds)),
        );
        family(
            &mut out,
            (
                "feedloom_source_consecutive_failures",
                "gauge",
                "Failed polls in a row, by source.",
            ),
            "source",
            snap.source_failures.iter().copied(),
        );
        family(
            &mut out,
            (
                "feedloom_host_requests_total",
                "counter",
                "Requests sent to each upstream host.",
            ),
            "host",
            snap.hosts.iter().map(|h| (h.host.as_str(), h.requests)),
        );
        family(
            &mut out,
            (
                "feedloom_host_blocked_until_seconds",
                "gauge",
                "Unix time until which a host asked us (429/503 Retry-After) to wait; 0 when it did not.",
            ),
            "host",
            snap.hosts
                .iter()
                .map(|h| (h.host.as_str(), h.blocked_until.map_or(0, |t| t.timestamp()))),
        );
        family(
            &mut out,
            (
                "feedloom_budget_used",
                "gauge",
                "Requests spent in the current window of each request budget.",
            ),
            "budget",
            snap.budgets.iter().map(|b| (b.key.as_str(), b.used)),
        );
        family(
            &mut out,
            (
                "feedloom_budget_limit",
                "gauge",
                "Requests allowed per window of each request budget.",
            ),
            "budget",
            snap.budgets
                .iter()
                .map(|b| (b.key.as_str(), b.max_requests)),
        );
        family(
            &mut out,
            ("feedloom_topic_entries", "gauge", "Entries in each topic."),
            "topic",
            snap.topic_entries.iter().copied(),
        );
        let _ = write!(
            out,
            "# HELP feedloom_store_entries Entries in the store.\n# TYPE feedloom_store_entries gauge\nfeedloom_store_entries {}\n\
             # HELP feedloom_renders_total Documents rendered (feeds, pages), all formats.\n# TYPE feedloom_renders_total counter\nfeedloom_renders_total {}\n\
             # HELP feedloom_render_seconds_total Time spent rendering and compressing documents.\n# TYPE feedloom_render_seconds_total counter\nfeedloom_render_seconds_total {}\n\
             # HELP feedloom_ready Whether every source has been polled once since start.\n# TYPE feedloom_ready gauge\nfeedloom_ready {}\n",
            snap.store_entries,
            snap.renders,
            snap.render_seconds,
            u8::from(snap.ready)
        );
        self.render_bounds(&mut out, &snap.bounds);
        out
    }

    /// Every stranger-driven bound, with its use.
    fn render_bounds(&self, out: &mut String, b: &Bounds) {
        let gauges: [(&str, &str, String); 11] = [
            (
                "feedloom_connections_open",
                "Client connections open now.",
                self.connections_open.load(Ordering::Relaxed).to_string(),
            ),
            (
                "feedloom_connections_limit",
                "Connections served at once (--max-connections).",
                b.max_connections.to_string(),
            ),
            (
                "feedloom_cache_bytes",
                "Bytes of cached documents (bodies and compressed copies).",
                b.cache.bytes.to_string(),
            ),
            (
                "feedloom_cache_entries",
                "Cached documents.",
                b.cache.entries.to_string(),
            ),
            (
                "feedloom_cache_variant_bytes",
                "Bytes of client-chosen cached documents (?limit= variants, other public bases).",
                b.cache.variant_bytes.to_string(),
            ),
            (
                "feedloom_cache_variant_entries",
                "Client-chosen cached documents.",
                b.cache.variant_entries.to_string(),
            ),
            (
                "feedloom_cache_variant_budget_bytes",
                "Bytes client-chosen documents may take (--cache-bytes).",
                b.cache_budget.to_string(),
            ),
            (
                "feedloom_renders_in_flight",
                "Documents being rendered on a cache miss now.",
                b.renders_in_flight.to_string(),
            ),
            (
                "feedloom_renders_limit",
                "Renders on a cache miss allowed at once.",
                b.max_renders.to_string(),
            ),
            (
                "feedloom_nesting_limit",
                "Deepest nesting accepted in an upstream document.",
                crate::depth::MAX_NESTING.to_string(),
            ),
            (
                "feedloom_connections_total",
                "Client connections accepted since start.",
                self.connections_total.load(Ordering::Relaxed).to_string(),
            ),
        ];
        for (name, help, v) in gauges {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP feedloom_cache_evictions_total Client-chosen documents evicted to stay within the budget.\n# TYPE feedloom_cache_evictions_total counter\nfeedloom_cache_evictions_total {}",
            b.cache.evictions
        );
        family(
            out,
            (
                "feedloom_connection_timeouts_total",
                "counter",
                "Connections closed by the server: no complete request in time (first_request) or idle too long (idle).",
            ),
            "reason",
            [
                ("first_request", self.timeouts[0].load(Ordering::Relaxed)),
                ("idle", self.timeouts[1].load(Ordering::Relaxed)),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.record_request(Route::Feed, 200, 100);
        m.record_request(Route::Feed, 304, 0);
        m.record_request(Route::Feed, 304, 0);
        m.record_request(Route::NotFound, 418, 5);
        m.record_poll("hf", PollOutcome::Error, 0.5);
        let text = m.render(&Snapshot {
            ready: true,
            store_entries: 7,
            topic_entries: vec![("llm", 3)],
            source_failures: vec![("hf", 1)],
            renders: 2,
            render_seconds: 0.25,
            hosts: vec![HostStatus {
                host: "huggingface.co".into(),
                requests: 12,
                blocked_until: Some("2026-11-27T12:00:00Z".parse().unwrap()),
            }],
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
        });
        assert!(text.contains("feedloom_connections_limit 4\n"), "{text}");
        assert!(text.contains("feedloom_cache_variant_budget_bytes 1000\n"));
        assert!(text.contains("feedloom_connection_timeouts_total{reason=\"idle\"} 0\n"));
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
        assert!(text.contains("feedloom_topic_entries{topic=\"llm\"} 3\n"));
        assert!(text.contains("feedloom_ready 1\n"));
        assert!(text.contains("feedloom_host_requests_total{host=\"huggingface.co\"} 12\n"));
        assert!(text
            .contains("feedloom_host_blocked_until_seconds{host=\"huggingface.co\"} 1795780800\n"));
        assert!(
            text.contains("feedloom_budget_used{budget=\"huggingface.co \\\"api\\\"\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("feedloom_budget_limit{budget=\"huggingface.co \\\"api\\\"\"} 150\n"));
    }
}
