//! Routing and re-evaluation.
//!
//! - `route_10k`: 100 tags and 30 topics applied to 10,000 entries made of
//!   real paper titles and abstracts (the 50 of the captured trending page,
//!   varied), per entry; against the same rules evaluated condition by
//!   condition without the combined prefilter, measured in the same run.
//! - `reevaluate_100k`: after a rule change, re-evaluating a real sled store
//!   of 100,000 entries (tags recomputed for all, memberships rewritten where
//!   they change): every tag changed (the worst case, nearly every entry
//!   rewritten), then one tag edited (the usual case).
//!
//! Run: `cargo bench --bench rules` (`FEEDLOOM_BENCH_ROUTE_ONLY=1` skips
//! the re-evaluation; `FEEDLOOM_BENCH_ENTRIES=N` sizes its store). Figures are in the README.

use feedloom_testkit as common;

use std::hint::black_box;
use std::time::Instant;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use feedloom::defs::{TagDef, TopicDef};
use feedloom::identity::entry_id;
use feedloom::model::{Entry, RawEntry};
use feedloom::normalize::normalize;
use feedloom::rules::{RuleSet, Subject, Tag, Topic};
use url::Url;

/// 100 tags: each takes 4 to 6 phrases from the papers' own keywords (some
/// restricted to titles, some regexes, a few numeric), so many match.
fn make_tags(keywords: &[String], salt: usize) -> Vec<Tag> {
    (0..100)
        .map(|i| {
            let pick =
                |k: usize| keywords[(i * 7 + k * 13 + salt) % keywords.len()].replace('"', "");
            let words: Vec<String> = (0..4 + i % 3).map(|k| format!("\"{}\"", pick(k))).collect();
            let mut any = vec![format!("{{ words = [{}] }}", words.join(", "))];
            if i % 5 == 0 {
                any.push(format!(
                    "{{ words = [\"{}\"], fields = [\"title\"] }}",
                    pick(9)
                ));
            }
            if i % 7 == 0 {
                any.push(format!(
                    "{{ regex = \"(?i)\\\\b{}s?\\\\b\" }}",
                    regex::escape(&pick(11).to_lowercase()).replace('\\', "\\\\")
                ));
            }
            if i % 10 == 0 {
                any.push(format!("{{ metric = \"upvotes\", gte = {} }}", 50 + i));
            }
            let toml_def = format!("id = \"t{i}\"\nany = [{}]\n", any.join(", "));
            let def: TagDef =
                toml::from_str(&toml_def).unwrap_or_else(|e| panic!("{toml_def}: {e}"));
            Tag::compile(&def).unwrap()
        })
        .collect()
}

fn topics(tags: &[Tag]) -> Vec<Topic> {
    let ids: Vec<&str> = tags.iter().map(|t| t.id.as_str()).collect();
    (0..30)
        .map(|i| {
            let any: Vec<String> = (0..3)
                .map(|k| format!("\"t{}\"", (i * 3 + k) % 100))
                .collect();
            let none = if i % 4 == 0 {
                format!(", none = [\"t{}\"]", (i + 50) % 100)
            } else {
                String::new()
            };
            let def: TopicDef = toml::from_str(&format!(
                "id = \"p{i}\"\ntags = {{ any = [{}]{none} }}\n",
                any.join(", ")
            ))
            .unwrap();
            Topic::compile(&def, &ids, &[]).unwrap()
        })
        .collect()
}

/// `n` entries from the 50 real papers, each with its own id and a varied
/// title.
fn entries(n: usize) -> Vec<Entry> {
    let base = Url::parse("https://huggingface.co/").unwrap();
    let now = Utc::now();
    let papers = common::hf_entries();
    (0..n)
        .map(|i| {
            let p = &papers[i % papers.len()]["paper"];
            let raw = RawEntry {
                title: Some(format!("{} ({i})", p["title"].as_str().unwrap())),
                link: Some(format!("https://example.org/paper/{i}")),
                summary: p["summary"].as_str().map(|s| format!("<p>{s}</p>")),
                authors: vec!["A. Author".into()],
                metrics: [("upvotes".to_string(), p["upvotes"].as_f64().unwrap_or(0.0))].into(),
                ..Default::default()
            };
            normalize(raw, "bench", &base, now).unwrap()
        })
        .collect()
}

fn keywords() -> Vec<String> {
    let mut out: Vec<String> = common::hf_entries()
        .iter()
        .flat_map(|e| {
            e["paper"]["ai_keywords"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|k| k.as_str().map(str::to_string))
        .filter(|k| k.len() > 3 && !k.contains('\\'))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn bench(c: &mut Criterion) {
    let kw = keywords();
    let tags = make_tags(&kw, 0);
    let rules = RuleSet::new(tags.clone(), topics(&tags));
    let corpus = entries(10_000);
    let now = Utc::now();
    let matched: usize = corpus.iter().map(|e| rules.tag(e, now).len()).sum();
    println!(
        "{} keywords; {matched} tag matches over {} entries",
        kw.len(),
        corpus.len()
    );

    let mut g = c.benchmark_group("route_10k");
    g.sample_size(10);
    g.bench_function("feedloom_route", |b| {
        b.iter(|| {
            for e in &corpus {
                let mut e = e.clone();
                rules.route(&mut e, true, now);
                black_box(&e);
            }
        })
    });
    g.bench_function("baseline_condition_by_condition", |b| {
        b.iter(|| {
            for e in &corpus {
                let s = Subject::new(e, now);
                let n = rules
                    .tags
                    .iter()
                    .filter(|t| t.evaluate(&s).is_some())
                    .count();
                black_box(n);
            }
        })
    });
    g.finish();

    // The re-evaluation takes minutes; skip it while tuning routing.
    if std::env::var_os("FEEDLOOM_BENCH_ROUTE_ONLY").is_none() {
        g_reevaluate(&rules, &kw);
    }
}

/// Re-evaluation of a real store of 100,000 entries after a rule change.
/// One run takes seconds, too long for criterion's ten samples to be worth
/// the wait: three timed runs, alternating two rule sets so each is a real
/// change, next to the time to just read every entry (the floor).
fn g_reevaluate(rules: &RuleSet, kw: &[String]) {
    let now = Utc::now();
    let dir = tempfile::tempdir().unwrap();
    let store = feedloom::store::Store::open(dir.path()).unwrap();
    let template = entries(1000);
    let started = Instant::now();
    let count: usize = common::bench_store_size();
    let ids: Vec<_> = (0..count)
        .map(|i| entry_id(&common::bench_key(i)))
        .collect();
    for (n, chunk) in ids.chunks(1000).enumerate() {
        store
            .update_many(chunk, |id, _| {
                let i = n * 1000 + chunk.iter().position(|x| x == id).unwrap();
                let mut e = template[i % template.len()].clone();
                e.key = common::bench_key(i);
                e.id = *id;
                rules.route(&mut e, true, now);
                Some(e)
            })
            .unwrap();
    }
    feedloom::reevaluate::apply(&store, rules).unwrap();
    store.flush().unwrap();
    println!(
        "reevaluate_100k: store of {count} entries built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let changed_tags = make_tags(kw, 1);
    let rules_b = RuleSet::new(changed_tags.clone(), topics(&changed_tags));
    let mut runs = timed_runs(&store, count, "every tag changed", [&rules_b, rules]);
    // The baseline, three times too: times on this machine drift by tens
    // of percent within minutes.
    let mut floors = Vec::new();
    let mut n = 0;
    for _ in 0..3 {
        let started = Instant::now();
        n = store.all_entries().filter(|e| e.is_ok()).count();
        floors.push(started.elapsed().as_secs_f64());
    }
    // A typical edit: one tag's phrases changed (the store is under
    // `rules_b` now), so only the entries it tags or untags are rewritten.
    let mut one_tag = changed_tags.clone();
    one_tag[0] = make_tags(kw, 0).swap_remove(0);
    let rules_one = RuleSet::new(one_tag.clone(), topics(&one_tag));
    let mut edits = timed_runs(&store, count, "one tag edited", [&rules_one, &rules_b]);
    runs.sort_by(f64::total_cmp);
    edits.sort_by(f64::total_cmp);
    floors.sort_by(f64::total_cmp);
    println!(
        "reevaluate_100k: every tag changed: median {:.2} s; one tag edited: median {:.2} s; baseline reading all {n} entries {:.2} s (median of 3); ratios {:.2} and {:.2}",
        runs[1],
        edits[1],
        floors[1],
        runs[1] / floors[1],
        edits[1] / floors[1]
    );
}

/// Three timed re-evaluations of `store` (of `count` entries), under
/// `rules[0]`, `rules[1]`, `rules[0]`: each run a real change.
fn timed_runs(
    store: &feedloom::store::Store,
    count: usize,
    label: &str,
    rules: [&RuleSet; 2],
) -> Vec<f64> {
    (0..3)
        .map(|run| {
            let started = Instant::now();
            let r = feedloom::reevaluate::apply(store, rules[run % 2]).unwrap();
            assert_eq!(r.entries, count);
            let took = started.elapsed().as_secs_f64();
            println!(
                "reevaluate_100k: {label}, run {run}: {took:.2} s, {} entries changed",
                r.changed
            );
            took
        })
        .collect()
}

criterion_group!(benches, bench);
criterion_main!(benches);
