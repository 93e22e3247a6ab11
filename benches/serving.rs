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

criterion_group!(benches, bench);
criterion_main!(benches);
