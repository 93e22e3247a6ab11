//! Golden files: every output format rendered from one fixed store (the
//! fixture sources, extracted, normalized and routed at a fixed time),
//! pinned with `insta` in `tests/snapshots/` (XML with a line break between
//! tags, so a diff points at the element). Any change to what readers
//! receive shows up as a diff to review; accept an intended one with
//! `INSTA_UPDATE=always cargo test --test snapshots` (or `cargo insta
//! review`) and commit the `.snap` files.

use feedloom_testkit as common;

use chrono::{DateTime, Utc};
use feedloom::config::{self, Definitions};
use feedloom::render::{render_doc, Doc, Format, Site};
use feedloom::rules::FeedOf;
use feedloom::store::Store;
use url::Url;

/// When every fixture was polled.
fn polled_at() -> DateTime<Utc> {
    "2026-10-08T06:00:00Z".parse().unwrap()
}

/// The fixture sources and rules, and a store holding what they list.
fn fixed_store(dir: &std::path::Path) -> (Definitions, Store) {
    let feeds = dir.join("feeds");
    std::fs::create_dir(&feeds).unwrap();
    let base = "https://upstream.example.org";
    std::fs::write(feeds.join("sources.toml"), common::fixture_sources_at(base)).unwrap();
    std::fs::write(feeds.join("rules.toml"), common::FIXTURE_RULES).unwrap();
    let defs = config::load(&feeds).unwrap();
    let store = Store::open(&dir.join("data")).unwrap();
    let now = polled_at();
    for (path, content_type, file) in common::FIXTURE_FILES {
        let url = format!("{base}{path}");
        let source = defs.sources.iter().find(|s| s.url.as_str() == url).unwrap();
        let raw = feedloom::extract::extract(
            &source.kind,
            &common::fixture(file),
            Some(content_type),
            now,
        )
        .unwrap();
        for item in raw.entries {
            let Ok(entry) = feedloom::normalize::normalize(item, &source.id, &source.url, now)
            else {
                continue;
            };
            store
                .upsert(&entry.id.clone(), |old| {
                    let mut e = entry.clone();
                    defs.rules.route(&mut e, old.is_none(), now);
                    e
                })
                .unwrap();
        }
    }
    (defs, store)
}

#[test]
fn every_format_of_a_fixed_store() {
    let dir = tempfile::tempdir().unwrap();
    let (defs, store) = fixed_store(dir.path());
    assert_eq!(store.entry_count(), common::FIXTURE_ENTRIES);
    let base = Url::parse("https://feeds.example.org/loom/").unwrap();
    let mut docs = vec![Doc::Index, Doc::Opml];
    for format in Format::ALL {
        docs.push(Doc::Feed {
            of: FeedOf::Topic("llm".into()),
            format,
            limit: 50,
            filter: None,
        });
    }
    docs.push(Doc::Preview {
        of: FeedOf::Topic("llm".into()),
        filter: None,
    });
    for doc in docs {
        let rendered = render_doc(
            &store,
            &defs,
            &base,
            &doc,
            Site::Served {
                hub: feedloom::render::HubLink::None,
                reload: None,
            },
        )
        .unwrap()
        .unwrap();
        let name = doc.path().replace(['/', '.'], "_");
        let mut text = String::from_utf8(rendered.body.to_vec()).unwrap();
        if rendered.content_type.contains("xml") {
            // One line per tag, so a diff points at the element that
            // changed; the line breaks are the only edit.
            text = text.replace("><", ">\n<");
        }
        insta::assert_snapshot!(name, text);
    }
}
