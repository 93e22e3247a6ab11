//! Query feeds over a real sled store of 100,000 entries (made of the 50
//! real papers of the captured trending page, varied; tagged and placed in
//! topics by the shipped `feeds/`).
//!
//! - `query_uncached`: what a cache miss costs, from the store to the
//!   compressed bytes (select, render, gzip and brotli), for topic queries
//!   (selective, and ones that match nothing, so the walk goes on until
//!   `render::MAX_READ` entries were read) and `/search` queries; next to
//!   the plain topic feed rendered the same way, measured in the same run.
//! - `query_cached`: the per-request work once cached (parsing the path and
//!   query, then the cache lookup), for a query feed next to the topic feed.
//!
//! Run: `cargo bench --bench query` (`FEEDLOOM_BENCH_ENTRIES=N` sizes the
//! store, `FEEDLOOM_BENCH_CACHE=BYTES` its page cache). Figures are in
//! the README.

use feedloom_testkit as common;

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use chrono::{Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use feedloom::identity::entry_id;
use feedloom::model::RawEntry;
use feedloom::normalize::normalize;
use feedloom::render::{render_doc, FeedCache, HubLink, Site};
use feedloom::server::parse_document;
use feedloom::store::Store;
use url::Url;

/// The queries measured: (label, path, query).
const QUERIES: &[(&str, &str, &str)] = &[
    ("topic_feed", "/papers.atom", ""),
    (
        "topic_tag_min_upvotes",
        "/papers.atom",
        "tag=moe&min_upvotes=50",
    ),
    ("topic_q_no_match", "/papers.atom", "q=zebrafish+xylophone"),
    ("topic_since_7d_tag", "/papers.atom", "since=7d&tag=agents"),
    ("search_org", "/search.atom", "org=NVIDIA"),
    ("search_q_no_match", "/search.atom", "q=zebrafish+xylophone"),
    ("search_tag_q", "/search.atom", "tag=llm&q=reasoning"),
];

fn bench(c: &mut Criterion) {
    let defs = feedloom::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds"))
        .expect("the shipped feeds/ load");
    let count: usize = common::bench_store_size();
    let dir = tempfile::tempdir().unwrap();
    // `FEEDLOOM_BENCH_CACHE=BYTES`: sled's page cache (the store's
    // default otherwise), to see how much of a walk is reads from disk.
    let store = match std::env::var("FEEDLOOM_BENCH_CACHE") {
        Ok(bytes) => Store::open_with(dir.path(), bytes.parse().unwrap()).unwrap(),
        Err(_) => Store::open(dir.path()).unwrap(),
    };
    let started = Instant::now();
    fill(&store, &defs, count);
    println!(
        "query: store of {count} entries built in {:.1} s; topic papers holds {}",
        started.elapsed().as_secs_f64(),
        store.topic_len("papers")
    );
    let base = Url::parse("http://127.0.0.1:8080/").unwrap();
    let site = Site::Served {
        hub: HubLink::None,
        reload: None,
    };

    let mut g = c.benchmark_group("query_uncached");
    g.sample_size(10);
    for (label, path, query) in QUERIES {
        let doc = parse_document(&defs, path, Some(query)).unwrap().doc;
        let r = render_doc(&store, &defs, &base, &doc, site)
            .unwrap()
            .unwrap();
        println!("query: {label}: {} bytes", r.body.len());
        g.bench_function(*label, |b| {
            b.iter(|| black_box(render_doc(&store, &defs, &base, &doc, site).unwrap()))
        });
    }
    g.finish();

    let cache = FeedCache::new(base.clone(), 32 << 20);
    cache
        .refresh(
            &store,
            &defs,
            defs.rules.topics.iter().map(|t| t.id.as_str()),
        )
        .unwrap();
    let mut g = c.benchmark_group("query_cached");
    for (label, path, query) in QUERIES {
        let doc = parse_document(&defs, path, Some(query)).unwrap().doc;
        cache.get(&store, &defs, None, &doc).unwrap().unwrap();
        g.bench_function(*label, |b| {
            b.iter(|| {
                let asked = parse_document(&defs, black_box(path), Some(black_box(query))).unwrap();
                black_box(cache.lookup(None, &asked.doc).expect("cached"))
            })
        });
    }
    g.finish();
}

/// `count` entries from the real papers, one a minute back from now (so
/// `since=7d` takes about 10,000), with upvotes spread over 0 to 599,
/// each routed by the shipped rules.
fn fill(store: &Store, defs: &feedloom::config::Definitions, count: usize) {
    let base = Url::parse("https://huggingface.co/").unwrap();
    let now = Utc::now();
    let papers = common::hf_entries();
    let ids: Vec<_> = (0..count)
        .map(|i| entry_id(&common::bench_key(i)))
        .collect();
    for (n, chunk) in ids.chunks(1000).enumerate() {
        store
            .update_many(chunk, |id, _| {
                let i = n * 1000 + chunk.iter().position(|x| x == id).unwrap();
                let item = &papers[i % papers.len()];
                let p = &item["paper"];
                let org = item["organization"]
                    .get("fullname")
                    .or_else(|| p["organization"].get("fullname"))
                    .and_then(|o| o.as_str())
                    .map(str::to_string);
                let raw = RawEntry {
                    title: Some(format!("{} ({i})", p["title"].as_str().unwrap())),
                    link: Some(format!("https://example.org/bench/{i}")),
                    summary: p["summary"].as_str().map(|s| format!("<p>{s}</p>")),
                    authors: vec!["A. Author".into()],
                    published: Some(now - Duration::minutes(i as i64)),
                    metrics: [("upvotes".to_string(), ((i * 37) % 600) as f64)].into(),
                    organization: org,
                    ..Default::default()
                };
                let mut e = normalize(raw, "hf-trending", &base, now).unwrap();
                e.id = *id;
                defs.rules.route(&mut e, true, now);
                Some(e)
            })
            .unwrap();
    }
    store.flush().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
