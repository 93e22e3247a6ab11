//! The per-request work of serving a cached document, without sockets:
//! choosing the coding from `Accept-Encoding`, answering a conditional
//! request (`If-None-Match`, `If-Modified-Since`) and building the
//! response head; and writing `/metrics`.
//!
//! These decide between hand-written code and well-kept crates (`headers`
//! for conditional requests, `prometheus-client` for the exposition):
//! the README's Benchmarks section has the figures.
//!
//! Run: `cargo bench --bench serving`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use feedloom::render::Rendered;
use feedloom::server::respond;
use hyper::header::{HeaderMap, HeaderValue};

fn request(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).expect("valid header"));
    }
    h
}

fn bench(c: &mut Criterion) {
    let doc = Rendered::new(
        "<rss><channel><item><title>A paper</title></item></channel></rss>\n"
            .repeat(400)
            .into_bytes(),
        "application/rss+xml; charset=utf-8",
        chrono::Utc::now() - chrono::Duration::hours(1),
        Duration::from_secs(300),
    );
    let etag = doc.headers.etag_gzip.to_str().unwrap().to_string();
    let since = doc.headers.last_modified.to_str().unwrap().to_string();
    let cases = [
        (
            "get_gzip",
            request(&[("accept-encoding", "gzip, deflate, br;q=0.9")]),
        ),
        (
            "revalidate_etag_exact_304",
            request(&[("accept-encoding", "gzip"), ("if-none-match", &etag)]),
        ),
        (
            "revalidate_etag_list_304",
            request(&[
                ("accept-encoding", "gzip"),
                ("if-none-match", &format!("\"other\", W/{etag}")),
            ]),
        ),
        (
            "revalidate_date_304",
            request(&[("accept-encoding", "br"), ("if-modified-since", &since)]),
        ),
    ];
    let mut group = c.benchmark_group("respond");
    for (name, headers) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(respond::cached(black_box(headers), &doc)))
        });
    }
    group.finish();
}

/// The numbers of a large installation: 200 sources, 30 topics, 50 hosts
/// and 50 budgets.
const SOURCES: usize = 200;
const TOPICS: usize = 30;
const HOSTS: usize = 50;

/// `/metrics` as written today, against `prometheus-client` encoding the
/// same series (counters kept in its families, the gauges sampled at
/// scrape time set into its families first, as a scrape would have to).
fn bench_metrics(c: &mut Criterion) {
    use feedloom::fetch::{BudgetStatus, HostStatus};
    use feedloom::metrics::{Bounds, Metrics, PollOutcome, Route, Snapshot};

    let sources: Vec<String> = (0..SOURCES).map(|i| format!("source-{i}")).collect();
    let topics: Vec<String> = (0..TOPICS).map(|i| format!("topic-{i}")).collect();
    let hosts: Vec<HostStatus> = (0..HOSTS)
        .map(|i| HostStatus {
            host: format!("host{i}.example.org"),
            listed: true,
            requests: 1000 + i as u64,
            blocked_until: None,
        })
        .collect();
    let budgets: Vec<BudgetStatus> = (0..HOSTS)
        .map(|i| BudgetStatus {
            key: format!("host{i}.example.org"),
            used: 3,
            max_requests: 150,
            window_seconds: 300,
        })
        .collect();
    let m = Metrics::default();
    for (route, status) in [(Route::Feed, 200), (Route::Feed, 304), (Route::Index, 200)] {
        m.record_request(route, status, 1000);
    }
    for s in &sources {
        m.record_poll(s, PollOutcome::Fetched, 0.2);
        m.record_poll(s, PollOutcome::Error, 0.1);
    }
    let snapshot = || Snapshot {
        ready: true,
        store_entries: 100_000,
        topic_entries: topics.iter().map(|t| (t.as_str(), 500)).collect(),
        source_failures: sources.iter().map(|s| (s.as_str(), 1)).collect(),
        source_repairs: sources.iter().map(|s| (s.as_str(), 0)).collect(),
        renders: 10,
        render_seconds: 0.5,
        hosts: hosts.clone(),
        budgets: budgets.clone(),
        hosts_tracked: HOSTS,
        max_hosts: feedloom::fetch::MAX_HOSTS,
        forgotten_requests: 0,
        bounds: Bounds::default(),
        websub: None,
        articles: Default::default(),
    };
    let mut group = c.benchmark_group("metrics");
    group.bench_function("hand_written", |b| {
        b.iter(|| black_box(m.render(&snapshot())))
    });

    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Registry;
    type Labels = Vec<(&'static str, String)>;
    let mut registry = Registry::with_prefix("feedloom");
    let requests = Family::<Labels, Counter>::default();
    let polls = Family::<Labels, Counter>::default();
    let poll_seconds = Family::<Labels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
    let topic_entries = Family::<Labels, Gauge>::default();
    let failures = Family::<Labels, Gauge>::default();
    let repairs = Family::<Labels, Gauge>::default();
    let host_requests = Family::<Labels, Gauge>::default();
    let budget_used = Family::<Labels, Gauge>::default();
    let budget_limit = Family::<Labels, Gauge>::default();
    let store_entries = Gauge::<i64>::default();
    registry.register(
        "http_requests",
        "HTTP requests by route and status.",
        requests.clone(),
    );
    registry.register("polls", "Polls by source and outcome.", polls.clone());
    registry.register("poll_seconds", "Time spent polling.", poll_seconds.clone());
    registry.register("topic_entries", "Entries per topic.", topic_entries.clone());
    registry.register(
        "source_consecutive_failures",
        "Failures in a row.",
        failures.clone(),
    );
    registry.register("source_repairs", "Repairs.", repairs.clone());
    registry.register("host_requests", "Requests per host.", host_requests.clone());
    registry.register("budget_used", "Budget used.", budget_used.clone());
    registry.register("budget_limit", "Budget limit.", budget_limit.clone());
    registry.register(
        "store_entries",
        "Entries in the store.",
        store_entries.clone(),
    );
    for (route, status) in [("feed", "200"), ("feed", "304"), ("index", "200")] {
        requests
            .get_or_create(&vec![("route", route.into()), ("status", status.into())])
            .inc();
    }
    for s in &sources {
        for outcome in ["fetched", "error"] {
            polls
                .get_or_create(&vec![("source", s.clone()), ("outcome", outcome.into())])
                .inc();
        }
        poll_seconds
            .get_or_create(&vec![("source", s.clone())])
            .inc_by(0.3);
    }
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    eprintln!("hand-written: {} series", series(&m.render(&snapshot())));
    group.bench_function("prometheus_client", |b| {
        b.iter(|| {
            let snap = snapshot();
            store_entries.set(snap.store_entries as i64);
            for (t, n) in &snap.topic_entries {
                topic_entries
                    .get_or_create(&vec![("topic", t.to_string())])
                    .set(*n as i64);
            }
            for (s, n) in &snap.source_failures {
                failures
                    .get_or_create(&vec![("source", s.to_string())])
                    .set(i64::from(*n));
            }
            for (s, n) in &snap.source_repairs {
                repairs
                    .get_or_create(&vec![("source", s.to_string())])
                    .set(*n as i64);
            }
            for h in &snap.hosts {
                host_requests
                    .get_or_create(&vec![("host", h.host.clone())])
                    .set(h.requests as i64);
            }
            for b in &snap.budgets {
                budget_used
                    .get_or_create(&vec![("budget", b.key.clone())])
                    .set(i64::from(b.used));
                budget_limit
                    .get_or_create(&vec![("budget", b.key.clone())])
                    .set(i64::from(b.max_requests));
            }
            let mut out = String::new();
            encode(&mut out, &registry).unwrap();
            black_box(out)
        })
    });
    let mut out = String::new();
    encode(&mut out, &registry).unwrap();
    eprintln!("prometheus-client: {} series", series(&out));
    group.finish();
}

criterion_group!(benches, bench, bench_metrics);
criterion_main!(benches);
