//! Extracting Hugging Face listings: the real 50-paper trending page
//! (about 1.5 MB of HTML) and a 100-paper API response.
//!
//! Baselines measured in the same run, so figures can be read as ratios on
//! any machine: `serde_json` parsing the API body into an untyped value, and
//! `scraper` building the page's DOM (what a naive extractor pays before
//! reading a single field).
//!
//! Run: `cargo bench --bench huggingface`. Figures are in the README.

use feedloom_testkit as common;

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use feedloom::extract::huggingface::{cards, HfSpec, Listing, Mode};
use url::Url;

fn spec(listing: Listing, mode: Mode) -> HfSpec {
    HfSpec {
        max_pages: 1,
        listing,
        mode,
        base: Url::parse("https://huggingface.co/").unwrap(),
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc::now();
    let page = common::fixture("hf-trending-2026-10-07.html");
    let api = common::hf_api_page(0, 100);
    let base = Url::parse("https://huggingface.co/").unwrap();

    let page_spec = spec(Listing::Trending, Mode::Page);
    assert_eq!(page_spec.extract(&page, now).unwrap().len(), 50);
    let api_spec = spec(Listing::Daily(None), Mode::Api);
    assert_eq!(api_spec.extract(&api, now).unwrap().len(), 100);

    let mut g = c.benchmark_group("hf_page_50_papers");
    g.bench_function("feedloom_extract", |b| {
        b.iter(|| page_spec.extract(black_box(&page), now).unwrap())
    });
    g.bench_function("feedloom_cards_fallback", |b| {
        b.iter(|| cards::extract(black_box(&page), &base, now).unwrap())
    });
    g.bench_function("baseline_scraper_dom_parse", |b| {
        b.iter(|| scraper::Html::parse_document(black_box(std::str::from_utf8(&page).unwrap())))
    });
    g.finish();

    let mut g = c.benchmark_group("hf_api_100_papers");
    g.bench_function("feedloom_extract", |b| {
        b.iter(|| api_spec.extract(black_box(&api), now).unwrap())
    });
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&api)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
