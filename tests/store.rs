//! The sled store with the real rules: topic order, limits, sticky
//! membership and threshold crossing, persistence across reopen, schema
//! guard. A real sled database in a temp folder.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use feedloom::config;
use feedloom::model::{Entry, RawEntry};
use feedloom::normalize::{merge, normalize};
use feedloom::rules::RuleSet;
use feedloom::store::{Store, StoreError};
use url::Url;

const DEFS: &str = r#"
[[source]]
id = "hf"
kind = "feed"
url = "https://example.org/feed"

[[tag]]
id = "popular"
any = [{ metric = "upvotes", gte = 50 }]

[[tag]]
id = "agents"
any = [{ words = ["agent", "agents"] }]

[[topic]]
id = "popular"
tags = { any = ["popular"] }

[[topic]]
id = "agents"
tags = { any = ["agents"] }

[[topic]]
id = "everything"
"#;

fn rules() -> RuleSet {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("defs.toml"), DEFS).unwrap();
    config::load(dir.path()).unwrap().rules
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn paper(n: u32, title: &str, upvotes: f64, published: &str) -> Entry {
    let raw = RawEntry {
        title: Some(title.into()),
        link: Some(format!("https://arxiv.org/abs/2601.{n:05}")),
        published: Some(t(published)),
        metrics: [("upvotes".to_string(), upvotes)].into(),
        ..Default::default()
    };
    normalize(
        raw,
        "hf",
        &Url::parse("https://example.org/").unwrap(),
        t("2026-02-01T00:00:00Z"),
    )
    .unwrap()
}

/// What the poller does for one item: merge, route, store atomically.
fn ingest(store: &Store, rules: &RuleSet, fresh: Entry, now: DateTime<Utc>) -> Entry {
    store
        .upsert(&fresh.id.clone(), |old| {
            let mut e = match &old {
                Some(o) => merge(o, fresh.clone(), "hf", &|_| 0, now),
                None => fresh.clone(),
            };
            rules.route(&mut e, old.is_none(), now);
            e
        })
        .unwrap()
        .new
}

fn titles(store: &Store, topic: &str, limit: usize) -> Vec<String> {
    store
        .topic_entries(topic, limit)
        .unwrap()
        .into_iter()
        .map(|e| e.title)
        .collect()
}

#[test]
fn topics_list_newest_first_with_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rules = rules();
    let now = t("2026-02-01T00:00:00Z");
    for (n, day) in [(1, "10"), (2, "12"), (3, "11"), (4, "13")] {
        ingest(
            &store,
            &rules,
            paper(
                n,
                &format!("Agents {n}"),
                0.0,
                &format!("2026-01-{day}T00:00:00Z"),
            ),
            now,
        );
    }
    assert_eq!(
        titles(&store, "agents", 10),
        ["Agents 4", "Agents 2", "Agents 3", "Agents 1"]
    );
    assert_eq!(titles(&store, "agents", 2), ["Agents 4", "Agents 2"]);
    assert_eq!(store.topic_len("agents"), 4);
    assert_eq!(store.topic_len("popular"), 0);
    assert!(store.topic_entries("no-such-topic", 10).unwrap().is_empty());
}

#[test]
fn crossing_a_threshold_enters_at_that_moment_and_never_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rules = rules();
    let day1 = t("2026-02-01T00:00:00Z");
    ingest(
        &store,
        &rules,
        paper(1, "Old paper", 10.0, "2026-01-01T00:00:00Z"),
        day1,
    );
    ingest(
        &store,
        &rules,
        paper(2, "Popular from the start", 80.0, "2026-01-20T00:00:00Z"),
        day1,
    );
    assert_eq!(titles(&store, "popular", 10), ["Popular from the start"]);

    // A week later the old paper crosses 50 upvotes: it enters the topic now,
    // on top, although it was published long before the other one.
    let day8 = day1 + Duration::days(7);
    let crossed = ingest(
        &store,
        &rules,
        paper(1, "Old paper", 55.0, "2026-01-01T00:00:00Z"),
        day8,
    );
    assert_eq!(crossed.topics.get("popular"), Some(&day8));
    assert_eq!(
        crossed.published,
        t("2026-01-01T00:00:00Z"),
        "published never moves"
    );
    assert_eq!(
        titles(&store, "popular", 10),
        ["Old paper", "Popular from the start"]
    );

    // Its count drops again: it stays.
    let day9 = day8 + Duration::days(1);
    let dropped = ingest(
        &store,
        &rules,
        paper(1, "Old paper", 20.0, "2026-01-01T00:00:00Z"),
        day9,
    );
    assert_eq!(
        dropped.metrics.get("upvotes"),
        Some(&20.0),
        "metrics take the latest value"
    );
    assert!(
        !dropped.tags.contains_key("popular"),
        "the tag follows the data"
    );
    assert_eq!(
        dropped.topics.get("popular"),
        Some(&day8),
        "membership is sticky"
    );
    assert_eq!(
        titles(&store, "popular", 10),
        ["Old paper", "Popular from the start"]
    );
    assert_eq!(store.topic_len("popular"), 2, "no second index key");
}

#[test]
fn tags_record_why() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let e = ingest(
        &store,
        &rules(),
        paper(
            7,
            "Tool-using agents at scale",
            60.0,
            "2026-01-05T00:00:00Z",
        ),
        Utc::now(),
    );
    let hits = &e.tags["agents"];
    assert_eq!(hits[0].rule, "any[0] words");
    assert_eq!(
        (hits[0].field.as_str(), hits[0].text.as_str()),
        ("title", "agents")
    );
    assert_eq!(e.tags["popular"][0].rule, "any[0] metric");
    assert_eq!(e.topics.len(), 3);
}

#[test]
fn everything_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules();
    let stored = {
        let store = Store::open(dir.path()).unwrap();
        let e = ingest(
            &store,
            &rules,
            paper(3, "Agents again", 99.0, "2026-01-03T00:00:00Z"),
            Utc::now(),
        );
        store.flush().unwrap();
        e
    };
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get(&stored.id).unwrap().as_ref(), Some(&stored));
    assert_eq!(titles(&store, "popular", 10), ["Agents again"]);
    assert_eq!(store.entry_count(), 1);
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    match Store::open(dir.path()) {
        Err(StoreError::TooNew { found: 99, .. }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a store from the future"),
    }
}

#[test]
fn a_store_held_by_someone_else_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Store::open(dir.path()).unwrap();
    match Store::open(dir.path()) {
        Err(e @ StoreError::Locked { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&dir.path().display().to_string()), "{text}");
            assert!(text.contains("in use"), "{text}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("two handles on one store"),
    }
}

#[test]
fn a_store_released_while_waiting_opens() {
    let dir = tempfile::tempdir().unwrap();
    let held = Store::open(dir.path()).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
    });
    let store = Store::open(dir.path()).expect("the lock was released within the wait");
    releaser.join().unwrap();
    assert_eq!(store.entry_count(), 0);
}

/// A store that has seen churn: 300 papers (a third about agents, some
/// popular), upvotes that cross a threshold, a rule change re-evaluated,
/// retention pruning the oldest, source state and a host block.
fn busy_store(dir: &std::path::Path) -> (Store, Vec<feedloom::model::EntryId>) {
    let store = Store::open(dir).unwrap();
    let rules = rules();
    let now = t("2026-02-01T00:00:00Z");
    let mut ids = Vec::new();
    for n in 0..300u32 {
        let title = if n % 3 == 0 {
            format!("Agents {n}")
        } else {
            format!("Paper {n}")
        };
        let e = paper(
            n,
            &title,
            f64::from(n % 80),
            &format!("2026-01-{:02}T00:00:00Z", n % 28 + 1),
        );
        ids.push(ingest(&store, &rules, e, now).id);
    }
    for n in 0..40u32 {
        ingest(
            &store,
            &rules,
            paper(n, &format!("Paper {n}"), 99.0, "2026-01-01T00:00:00Z"),
            now,
        );
    }
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(
        dir2.path().join("defs.toml"),
        DEFS.replace("gte = 50", "gte = 20"),
    )
    .unwrap();
    let changed = config::load(dir2.path()).unwrap().rules;
    feedloom::reevaluate::apply(&store, &changed).unwrap();
    let pruned = store.prune(None, 250, now).unwrap();
    assert_eq!(pruned.removed, 50);
    let state = feedloom::store::SourceState {
        consecutive_failures: 2,
        entries_added: 300,
        ..Default::default()
    };
    store.put_source_state("hf", &state).unwrap();
    store
        .put_host_block("example.org", t("2030-01-01T00:00:00Z"))
        .unwrap();
    store.flush().unwrap();
    (store, ids)
}

#[test]
fn counts_are_kept_with_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = busy_store(dir.path());
    let kept = store.counts().unwrap();
    assert_eq!(kept, store.count_by_scan().unwrap());
    assert_eq!(kept.entries, 250);
    assert!(
        kept.topics["everything"] == 250 && kept.topics["agents"] > 0,
        "{kept:?}"
    );
    for (topic, n) in &kept.topics {
        assert_eq!(store.topic_len(topic), *n, "{topic}");
    }
    assert_eq!(store.topic_len("no-such-topic"), 0);
}

/// Everything a store holds that a reader or the poller relies on.
fn everything(store: &Store, ids: &[feedloom::model::EntryId]) -> String {
    let mut out = String::new();
    for e in store.all_entries() {
        out.push_str(&format!("{:?}\n", e.unwrap()));
    }
    for topic in ["popular", "agents", "everything"] {
        let listed: Vec<String> = store
            .topic_entries(topic, 1000)
            .unwrap()
            .iter()
            .map(|e| e.id.to_string())
            .collect();
        out.push_str(&format!("{topic}: {listed:?}\n"));
    }
    let tombstoned = ids
        .iter()
        .filter(|id| store.is_tombstoned(id).unwrap())
        .count();
    out.push_str(&format!(
        "tombstones {tombstoned}\nstate {:?}\nblocks {:?}\nrules {:?}\nchanges {:?}\n",
        store.source_state("hf").unwrap(),
        store.host_blocks(t("2026-02-01T00:00:00Z")).unwrap(),
        store.rule_fingerprints().unwrap(),
        store.topic_changes().unwrap(),
    ));
    out
}

/// Builds the busy store, lets `make_old` turn it into what an older
/// release (or a migration cut short) left, opens it with this build and
/// checks that nothing was lost and that every value is in the current
/// form at the current version.
fn migrated(make_old: impl FnOnce(&sled::Db)) {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = busy_store(dir.path());
    let before = everything(&store, &ids);
    assert!(before.contains("tombstones 50"), "{before}");
    drop(store);
    {
        let db = sled::open(dir.path()).unwrap();
        // Writes and prunes kept the first-seen index in step.
        check_seen_index(&db);
        make_old(&db);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(everything(&store, &ids), before);
    assert_eq!(store.counts().unwrap(), store.count_by_scan().unwrap());
    assert_eq!(store.entry_count(), 250);
    drop(store);
    let db = sled::open(dir.path()).unwrap();
    let version = db
        .open_tree("meta")
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap();
    assert_eq!(version.as_ref(), 5u32.to_be_bytes());
    assert_eq!(
        to_old_form(&db, 0, OldForm::Bare),
        250,
        "every value current"
    );
    check_seen_index(&db);
}

/// The first-seen index (schema 5) against the entries, read here from the
/// entries' heads (the first field is first seen, in microseconds; then
/// the memberships; then the tags): one key per entry, time then id, its
/// value a card naming the entry's tags; and each topic index key's value
/// its entry's first-seen time.
fn check_seen_index(db: &sled::Db) {
    type Hit = (String, String, String);
    type Head = (i64, Vec<(String, i64)>, BTreeMap<String, Vec<Hit>>);
    let mut want = BTreeMap::new();
    let mut seen_at = BTreeMap::new();
    for kv in db.open_tree("id_entry").unwrap().iter() {
        let (k, v) = kv.unwrap();
        assert_eq!(v[0], 0x02);
        let len = u32::from_be_bytes(v[1..5].try_into().unwrap()) as usize;
        let (micros, _, tags): Head = postcard::from_bytes(&v[5..5 + len]).unwrap();
        let time = ((micros as u64) ^ (1 << 63)).to_be_bytes();
        let mut key = time.to_vec();
        key.extend_from_slice(&k);
        want.insert(key, tags.into_keys().collect::<Vec<_>>());
        seen_at.insert(k.to_vec(), time.to_vec());
    }
    let mut got = BTreeMap::new();
    for kv in db.open_tree("seentime_id").unwrap().iter() {
        let (k, v) = kv.unwrap();
        let card = feedloom::store::facets::read(&v).unwrap();
        let tags: Vec<String> = card.tags.iter().map(|t| t.to_string()).collect();
        got.insert(k.to_vec(), tags);
    }
    assert_eq!(got, want);
    let mut topics = BTreeSet::new();
    for kv in db.open_tree("topictime_id").unwrap().iter() {
        let (k, v) = kv.unwrap();
        let id = &k[k.len() - 16..];
        assert_eq!(Some(&v.to_vec()), seen_at.get(id), "{k:?}");
        topics.insert(id.to_vec());
    }
    assert!(!topics.is_empty());
}

#[test]
fn a_schema_1_store_is_migrated_with_nothing_lost() {
    // Schema 1: entries as bare JSON, no `counts`, version 1.
    migrated(|db| {
        assert_eq!(to_old_form(db, usize::MAX, OldForm::Bare), 250);
        assert!(db.drop_tree("counts").unwrap());
        set_version(db, 1);
    });
}

/// An older release's form of an entry value.
#[derive(Clone, Copy)]
enum OldForm {
    /// Schemas 1 and 2: the bare JSON.
    Bare,
    /// Schema 3: `0x01` and the whole JSON deflated.
    Deflated,
}

/// Rewrites up to `n` current (schema 4) entry values in an older form,
/// as an older feedloom or an interrupted migration leaves them; returns
/// how many were current (all of them counted when `n` is 0).
///
/// Schema 4 is `0x02`, the head's length (u32, big-endian), the head in
/// postcard (first seen and memberships in microseconds, then the tags and
/// their hits), then the rest of the entry's JSON deflated: decoded here
/// independently of the store's own code.
fn to_old_form(db: &sled::Db, n: usize, form: OldForm) -> usize {
    use std::io::{Read, Write};
    let entries = db.open_tree("id_entry").unwrap();
    let mut current = 0;
    for kv in entries.iter() {
        let (k, v) = kv.unwrap();
        if v[0] != 0x02 {
            continue;
        }
        current += 1;
        if current > n {
            continue;
        }
        let len = u32::from_be_bytes(v[1..5].try_into().unwrap()) as usize;
        type Hit = (String, String, String);
        type Head = (i64, Vec<(String, i64)>, BTreeMap<String, Vec<Hit>>);
        let (first_seen, topics, tags): Head = postcard::from_bytes(&v[5..5 + len]).unwrap();
        let mut body = Vec::new();
        flate2::read::DeflateDecoder::new(&v[5 + len..])
            .read_to_end(&mut body)
            .unwrap();
        let mut whole: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let time = |m: i64| DateTime::from_timestamp_micros(m).unwrap();
        assert_eq!(whole["first_seen"], serde_json::json!(time(first_seen)));
        whole["topics"] = topics
            .into_iter()
            .map(|(t, at)| (t, serde_json::json!(time(at))))
            .collect();
        whole["tags"] = serde_json::json!(tags
            .into_iter()
            .map(|(tag, hits)| {
                let hits: Vec<_> = hits
                    .into_iter()
                    .map(|(rule, field, text)| serde_json::json!({"rule": rule, "field": field, "text": text}))
                    .collect();
                (tag, hits)
            })
            .collect::<BTreeMap<_, _>>());
        let json = serde_json::to_vec(&whole).unwrap();
        let value = match form {
            OldForm::Bare => json,
            OldForm::Deflated => {
                let mut out = vec![0x01];
                let mut enc = flate2::write::DeflateEncoder::new(&mut out, Default::default());
                enc.write_all(&json).unwrap();
                enc.finish().unwrap();
                out
            }
        };
        entries.insert(k, value).unwrap();
    }
    db.flush().unwrap();
    current
}

fn set_version(db: &sled::Db, version: u32) {
    db.open_tree("meta")
        .unwrap()
        .insert("schema_version", &version.to_be_bytes())
        .unwrap();
    db.flush().unwrap();
}

#[test]
fn a_schema_3_store_is_migrated_with_nothing_lost() {
    migrated(|db| {
        assert_eq!(to_old_form(db, usize::MAX, OldForm::Deflated), 250);
        set_version(db, 3);
    });
}

#[test]
fn a_schema_4_store_gains_its_first_seen_index_with_nothing_lost() {
    // Schema 4: no first-seen index, empty topic index values.
    migrated(|db| {
        assert!(db.drop_tree("seentime_id").unwrap());
        let index = db.open_tree("topictime_id").unwrap();
        for key in index.iter().keys() {
            index.insert(key.unwrap(), &[]).unwrap();
        }
        set_version(db, 4);
    });
}

#[test]
fn a_migration_killed_midway_is_finished_by_the_next_open() {
    // What a kill midway through a migration leaves: some values
    // rewritten, the rest not (here in both older forms), the version
    // still the old one.
    migrated(|db| {
        assert_eq!(to_old_form(db, 60, OldForm::Bare), 250);
        assert_eq!(to_old_form(db, 60, OldForm::Deflated), 190);
        // Half an index built, from an earlier try.
        let seen = db.open_tree("seentime_id").unwrap();
        for key in seen.iter().keys().step_by(2) {
            seen.remove(key.unwrap()).unwrap();
        }
        set_version(db, 2);
    });
}

#[test]
fn compaction_never_writes_through_a_planted_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _ids) = busy_store(&dir.path().join("data"));
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    // A symlink to a folder, and a dangling one to where a folder would
    // be made: both refused as existing, nothing written where they point.
    for (name, target) in [
        ("to-dir", elsewhere.clone()),
        ("dangling", elsewhere.join("new")),
    ] {
        let dest = dir.path().join(name);
        std::os::unix::fs::symlink(&target, &dest).unwrap();
        match store.compact_into(&dest) {
            Err(e @ StoreError::Exists { .. }) => assert!(e.to_string().contains(name)),
            other => panic!("{name}: {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    // A fresh folder, with its parents, is made for its owner alone.
    let dest = dir.path().join("backups/new");
    store.compact_into(&dest).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
}

#[test]
fn a_compacted_copy_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = busy_store(&dir.path().join("data"));
    let before = everything(&store, &ids);
    let dest = dir.path().join("compacted");
    let (_, copied) = store.compact_into(&dest).unwrap();
    assert!(copied > 0);
    // Never over an existing folder.
    match store.compact_into(&dest) {
        Err(e @ StoreError::Exists { .. }) => assert!(e.to_string().contains("compacted")),
        other => panic!("{:?}", other.map(|_| ())),
    }
    drop(store);
    let copy = Store::open(&dest).unwrap();
    assert_eq!(everything(&copy, &ids), before);
    assert_eq!(copy.counts().unwrap(), copy.count_by_scan().unwrap());
}

/// The busy store in `data`, grown by `n` entries of about 4 KB each so a
/// copy takes a while; what it holds, and the ids for `everything`.
fn big_store(data: &std::path::Path, n: u32) -> (Store, Vec<feedloom::model::EntryId>, String) {
    let (store, ids) = busy_store(data);
    // Words from a xorshift: text that deflate cannot shrink much.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut text = move || -> String {
        (0..400)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{:x} ", x % 0xFFFF_FFFF)
            })
            .collect()
    };
    let bulk: Vec<Entry> = (0..n)
        .map(|i| {
            let mut e = paper(
                10_000 + i,
                &format!("Bulk {i}"),
                1.0,
                "2026-01-02T00:00:00Z",
            );
            e.summary = text();
            e
        })
        .collect();
    for chunk in bulk.chunks(500) {
        store.upsert_many(chunk, |e, _| e.clone()).unwrap();
    }
    store.flush().unwrap();
    let before = everything(&store, &ids);
    (store, ids, before)
}

fn current(data: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(data.join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_string())
}

#[test]
fn a_store_compacted_in_place_holds_everything_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (store, ids, before) = big_store(&data, 500);
    assert_eq!(
        current(&data),
        None,
        "a new store lives in the data folder itself"
    );
    let (from, to) = store.compact_in_place().unwrap();
    assert!(from > 0 && to > 0, "{from} {to}");
    assert_eq!(current(&data).as_deref(), Some("store-1"));
    for legacy in ["db", "conf", "blobs"] {
        assert!(!data.join(legacy).exists(), "{legacy} left behind");
    }
    let store = Store::open(&data).unwrap();
    assert_eq!(everything(&store, &ids), before);
    assert_eq!(store.counts().unwrap(), store.count_by_scan().unwrap());
    // Again: the next generation takes over and the last one goes.
    store.compact_in_place().unwrap();
    assert_eq!(current(&data).as_deref(), Some("store-2"));
    assert!(!data.join("store-1").exists());
    let store = Store::open(&data).unwrap();
    assert_eq!(everything(&store, &ids), before);
}

#[test]
fn what_a_crash_during_compaction_leaves_is_cleared_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (store, ids) = busy_store(&data);
    let before = everything(&store, &ids);
    drop(store);
    // Killed while copying: a partial copy and a half-written CURRENT; the
    // old database is still the live one.
    std::fs::create_dir(data.join("store-1")).unwrap();
    std::fs::write(data.join("store-1").join("db"), b"partial").unwrap();
    std::fs::write(data.join("CURRENT.tmp"), b"sto").unwrap();
    let store = Store::open(&data).unwrap();
    assert_eq!(everything(&store, &ids), before);
    assert!(!data.join("store-1").exists() && !data.join("CURRENT.tmp").exists());
    // Killed after CURRENT named the copy, before the old database went.
    store.compact_into(&data.join("store-1")).unwrap();
    drop(store);
    std::fs::write(data.join("CURRENT"), "store-1\n").unwrap();
    let store = Store::open(&data).unwrap();
    assert_eq!(everything(&store, &ids), before);
    assert!(
        !data.join("db").exists(),
        "the replaced database is removed"
    );
    // A CURRENT naming a folder that is gone is an error, never a new
    // empty store.
    drop(store);
    std::fs::write(data.join("CURRENT"), "store-9\n").unwrap();
    let e = Store::open(&data).err().expect("refused").to_string();
    assert!(e.contains("store-9, which is missing"), "{e}");
}

#[test]
fn compaction_killed_at_any_moment_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (store, ids, before) = big_store(&data, 3000);
    drop(store);
    let mut seen = BTreeMap::new();
    for delay_ms in (0..16).map(|k| k * 15).chain([3000]) {
        let mut child = std::process::Command::new(feedloom_testkit::binary())
            .arg("--data")
            .arg(&data)
            .args(["compact"])
            .env("FEEDLOOM_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let copies = std::fs::read_dir(&data)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("store-")
            })
            .count();
        *seen.entry((current(&data), copies)).or_insert(0) += 1;
        let store = Store::open(&data).unwrap();
        assert_eq!(
            everything(&store, &ids),
            before,
            "killed after {delay_ms} ms"
        );
        assert_eq!(store.counts().unwrap(), store.count_by_scan().unwrap());
    }
    // Which states the kills left (CURRENT, store folders): for the log.
    println!("states after each kill: {seen:?}");
    assert!(
        current(&data).is_some(),
        "the last run, given time, compacted"
    );
}

#[test]
fn a_reroute_over_an_entry_changed_meanwhile_starts_again_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rules = rules();
    let seen = |mut e: Entry, at: &str| {
        e.first_seen = t(at);
        e
    };
    let now = t("2026-01-06T00:00:00Z");
    let oldest = paper(3, "Paper 3", 1.0, "2026-01-03T00:00:00Z");
    let oldest = ingest(&store, &rules, seen(oldest, "2026-01-04T00:00:00Z"), now);
    let a = paper(1, "Agents 1", 1.0, "2026-01-01T00:00:00Z");
    let a = ingest(&store, &rules, seen(a, "2026-01-05T00:00:00Z"), now);
    let b = paper(2, "Paper 2", 1.0, "2026-01-02T00:00:00Z");
    let b = ingest(&store, &rules, seen(b, "2026-01-05T00:00:00Z"), now);
    // Re-evaluation's steps: read the stored values, prepare the rewrites
    // (on other threads), write them.
    let read = store.entries_after(None, 10).unwrap();
    assert_eq!(read.len(), 3);
    let mark = |e: &mut Entry| {
        e.tags.insert("checked".into(), Vec::new());
        e.topics.insert("checked".into(), e.first_seen);
        true
    };
    let rewrites: Vec<_> = read
        .iter()
        .filter_map(|s| s.reroute(mark).unwrap())
        .collect();
    // Meanwhile a poll revises one entry and retention removes another.
    store
        .upsert(&a.id, |old| {
            let mut e = old.unwrap();
            e.title = "Agents 1, revised".into();
            e
        })
        .unwrap();
    assert_eq!(store.prune(None, 2, now).unwrap().removed, 1);
    assert_eq!(store.reroute_many(&rewrites, mark).unwrap(), 2);
    let revised = store.get(&a.id).unwrap().unwrap();
    assert_eq!(
        revised.title, "Agents 1, revised",
        "the poll's change is kept"
    );
    assert!(revised.tags.contains_key("checked") && revised.topics.contains_key("checked"));
    let other = store.get(&b.id).unwrap().unwrap();
    assert!(other.tags.contains_key("checked") && other.title == "Paper 2");
    assert!(
        store.get(&oldest.id).unwrap().is_none(),
        "a pruned entry stays gone"
    );
    assert_eq!(store.topic_len("checked"), 2);
    assert_eq!(store.counts().unwrap(), store.count_by_scan().unwrap());
}

/// Tombstones do not grow with every entry ever pruned: beyond
/// `max_entries` (at least `MIN_TOMBSTONES`) the oldest are dropped, and
/// the newest always stay.
#[test]
fn tombstones_are_bounded_and_the_newest_kept() {
    use feedloom::store::MIN_TOMBSTONES;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let template = paper(1, "Paper", 1.0, "2026-01-01T00:00:00Z");
    let add = |from: usize, n: usize, seen: DateTime<Utc>| -> Vec<feedloom::model::EntryId> {
        let ids: Vec<_> = (from..from + n)
            .map(|i| feedloom::identity::entry_id(&format!("link:https://example.org/{i}")))
            .collect();
        for chunk in ids.chunks(1000) {
            store
                .update_many(chunk, |id, _| {
                    let mut e = template.clone();
                    e.id = *id;
                    e.first_seen = seen;
                    Some(e)
                })
                .unwrap();
        }
        ids
    };
    let first = add(0, MIN_TOMBSTONES + 500, t("2026-01-01T00:00:00Z"));
    let pruned = store.prune(None, 100, t("2026-02-01T00:00:00Z")).unwrap();
    assert_eq!(pruned.removed, MIN_TOMBSTONES + 400);
    assert_eq!(pruned.tombstones_dropped, 400);
    let second = add(MIN_TOMBSTONES + 500, 500, t("2026-01-02T00:00:00Z"));
    let pruned = store.prune(None, 100, t("2026-03-01T00:00:00Z")).unwrap();
    assert_eq!(pruned.removed, 500);
    assert_eq!(pruned.tombstones_dropped, 500);
    let tombstoned = |ids: &[feedloom::model::EntryId]| {
        ids.iter()
            .filter(|id| store.is_tombstoned(id).unwrap())
            .count()
    };
    // The second run pruned the 100 left of the first batch and 400 of
    // the second (the longest-known first); the 500 tombstones dropped are
    // the oldest, all from the first run.
    assert_eq!(tombstoned(&second), 400, "the newest stay");
    assert_eq!(tombstoned(&first), MIN_TOMBSTONES - 500 + 100);
    assert_eq!(store.entry_count(), 100);
}
