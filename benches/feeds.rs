//! Feed extraction: the well-formed path, and what the repair path costs.
//!
//! - `well_formed/*`: RSS 2.0 and Atom 1.0 documents of about 1 MB (1,000
//!   items with the fields real feeds carry: title, link, guid, dates,
//!   authors, categories, an HTML description), and the three fixture
//!   feeds, read by `extract` — the strict path, which issue 27 promised
//!   to keep as fast. `benches/feeds.sh` runs this bench on a base commit
//!   and on the work tree in one go (criterion baselines), which is the
//!   before/after comparison.
//! - `repair/*`: the same 1 MB documents with one flaw each kind of feed
//!   shows in the wild (a bare `&` in every item, Atom `type="text/html"`
//!   and RFC 822 dates, a document cut short), read through the repair
//!   path; compared with `well_formed/*` of the same run.
//!
//! Run: `cargo bench --bench feeds` (`FEEDLOOM_BENCH_WELL_FORMED_ONLY=1`
//! skips the repair group). Figures are in the README.

use feedloom_testkit as common;

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use feedloom::extract::{extract, SourceKind};

const ITEMS: usize = 1_000;

fn rss(flaw: bool) -> Vec<u8> {
    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n<channel><title>Bench</title><link>https://bench.example.org/</link><description>d</description>\n");
    for i in 0..ITEMS {
        let amp = if flaw { "&" } else { "&amp;" };
        doc.push_str(&format!(
            "<item><title>Item {i}: notes {amp} queries on caching</title><link>https://bench.example.org/posts/{i}?a=1{amp}b=2</link><guid isPermaLink=\"false\">urn:bench:{i}</guid><pubDate>Tue, 01 Dec 2026 10:{:02}:00 GMT</pubDate><dc:creator>Author {}</dc:creator><category>rust</category><category>feeds</category><description>&lt;p&gt;{}&lt;/p&gt;</description></item>\n",
            i % 60,
            i % 17,
            "A paragraph of text about feeds, parsers and the web as it is. ".repeat(12)
        ));
    }
    doc.push_str("</channel></rss>\n");
    doc.into_bytes()
}

fn atom(flaw: bool) -> Vec<u8> {
    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Bench</title><id>urn:bench</id><updated>2026-12-01T10:00:00Z</updated>\n");
    for i in 0..ITEMS {
        let (ty, date) = if flaw {
            (
                "text/html",
                format!("Tue, 01 Dec 2026 10:{:02}:00 GMT", i % 60),
            )
        } else {
            ("html", format!("2026-12-01T10:{:02}:00Z", i % 60))
        };
        doc.push_str(&format!(
            "<entry><title type=\"{ty}\">Item {i}: notes &amp;amp; queries</title><id>urn:bench:{i}</id><link rel=\"alternate\" href=\"https://bench.example.org/posts/{i}\"/><updated>{date}</updated><author><name>Author {}</name></author><category term=\"rust\"/><summary type=\"{ty}\">&lt;p&gt;{}&lt;/p&gt;</summary></entry>\n",
            i % 17,
            "A paragraph of text about feeds, parsers and the web as it is. ".repeat(12)
        ));
    }
    doc.push_str("</feed>\n");
    doc.into_bytes()
}

fn read(body: &[u8]) -> usize {
    let got = extract(&SourceKind::Feed, body, Some("application/xml"), Utc::now())
        .expect("the bench documents are read");
    got.entries.len()
}

fn feeds(c: &mut Criterion) {
    let (rss_ok, atom_ok) = (rss(false), atom(false));
    let (rss_amp, atom_flaws) = (rss(true), atom(true));
    let mut rss_cut = rss_ok.clone();
    rss_cut.truncate(rss_cut.len() - 300);
    // `benches/feeds.sh` runs the well-formed group on a base commit too,
    // which has no repair path.
    let repairs = std::env::var_os("FEEDLOOM_BENCH_WELL_FORMED_ONLY").is_none();
    assert_eq!(read(&rss_ok), ITEMS);
    assert_eq!(read(&atom_ok), ITEMS);
    if repairs {
        assert_eq!(read(&rss_amp), ITEMS);
        assert_eq!(read(&atom_flaws), ITEMS);
        assert_eq!(read(&rss_cut), ITEMS - 1);
    }
    eprintln!(
        "documents: rss {} bytes, atom {} bytes",
        rss_ok.len(),
        atom_ok.len()
    );

    let mut g = c.benchmark_group("well_formed");
    g.sample_size(30);
    g.bench_function("rss_1mb", |b| b.iter(|| read(black_box(&rss_ok))));
    g.bench_function("atom_1mb", |b| b.iter(|| read(black_box(&atom_ok))));
    for name in [
        "arxiv-cs.synthetic.rss",
        "lab-news.synthetic.atom",
        "group-blog.synthetic.rdf",
    ] {
        let body = common::fixture(name);
        g.bench_function(name, |b| b.iter(|| read(black_box(&body))));
    }
    g.finish();
    if !repairs {
        return;
    }

    let mut g = c.benchmark_group("repair");
    g.sample_size(20);
    g.bench_function("rss_1mb_bare_amps", |b| {
        b.iter(|| read(black_box(&rss_amp)))
    });
    g.bench_function("atom_1mb_types_and_dates", |b| {
        b.iter(|| read(black_box(&atom_flaws)))
    });
    g.bench_function("rss_1mb_cut_short", |b| {
        b.iter(|| read(black_box(&rss_cut)))
    });
    g.finish();
}

criterion_group!(benches, feeds);
criterion_main!(benches);
