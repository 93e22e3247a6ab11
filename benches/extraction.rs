//! Full-article extraction quality and speed (`fulltext = true`), measured
//! on Mozilla Readability's test pages: word-level precision, recall and
//! F1 of the article text against each page's reference extraction, and
//! the time per page, for feedloom's extraction (`fulltext::article`:
//! Readability via `dom_smoothie`, then sanitizing) next to a whole-page
//! baseline (every visible word of the page, sanitized) measured in the
//! same run.
//!
//! Run: `bash benches/extraction-data.sh` (fetches the pages from the
//! crates.io registry into target/extraction-pages/), then
//! `cargo bench --bench extraction`. The README reports the figures.
//!
//! Caveat, printed with the figures: the references are Readability.js's
//! own output, so a Readability port is measured on its home ground.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use url::Url;

/// Real-world pages of the suite by kind (the rest are unit cases: a
/// base URL, a `<br>` cleanup, ...).
const NEWS: &[&str] = &[
    "aclu",
    "aktualne",
    "ars-1",
    "bbc-1",
    "breitbart",
    "buzzfeed-1",
    "citylab-1",
    "cnet",
    "cnn",
    "engadget",
    "folha",
    "guardian-1",
    "heise",
    "herald-sun-1",
    "la-nacion",
    "lemonde-1",
    "liberation-1",
    "lwn-1",
    "nytimes-1",
    "nytimes-2",
    "quanta-1",
    "salon-1",
    "seattletimes-1",
    "telegraph",
    "theverge",
    "wapo-1",
    "wapo-2",
    "yahoo-1",
    "yahoo-2",
];
const BLOGS: &[&str] = &[
    "blogger",
    "daringfireball-1",
    "dropbox-blog",
    "ebb-org",
    "firefox-nightly-blog",
    "gitlab-blog",
    "medium-1",
    "medium-2",
    "tumblr",
    "v8-blog",
    "wordpress",
];
const DOCS: &[&str] = &[
    "google-sre-book-1",
    "ietf-1",
    "mercurial",
    "mozilla-1",
    "mozilla-2",
    "wikipedia",
    "wikipedia-2",
    "webmd-1",
];

fn words(text: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *m.entry(w.to_lowercase()).or_default() += 1;
    }
    m
}

/// Word-level (multiset) precision, recall and F1.
fn prf(got: &HashMap<String, usize>, want: &HashMap<String, usize>) -> [f64; 3] {
    let common: usize = got
        .iter()
        .map(|(w, n)| (*n).min(*want.get(w).unwrap_or(&0)))
        .sum();
    let p = common as f64 / got.values().sum::<usize>().max(1) as f64;
    let r = common as f64 / want.values().sum::<usize>().max(1) as f64;
    let f = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    [p, r, f]
}

#[derive(Default)]
struct Tally {
    sums: [f64; 3],
    seconds: f64,
    pages: usize,
    failed: usize,
}

impl Tally {
    fn add(&mut self, s: [f64; 3], seconds: f64, failed: bool) {
        for (acc, v) in self.sums.iter_mut().zip(s) {
            *acc += v;
        }
        self.seconds += seconds;
        self.pages += 1;
        self.failed += failed as usize;
    }

    fn mean(&self, i: usize) -> f64 {
        self.sums[i] / self.pages.max(1) as f64
    }

    fn ms(&self) -> f64 {
        1000.0 * self.seconds / self.pages.max(1) as f64
    }
}

fn main() {
    let dir = std::env::var_os("FEEDLOOM_EXTRACTION_PAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/extraction-pages"));
    if !dir.is_dir() {
        eprintln!(
            "no pages in {}: run `bash benches/extraction-data.sh` first",
            dir.display()
        );
        std::process::exit(1);
    }
    let mut all: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("expected.html").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    all.sort();
    let page_url = Url::parse("http://fakehost/test/page.html").unwrap();
    let sets: [(&str, Vec<&str>); 5] = [
        ("news", NEWS.to_vec()),
        ("blogs", BLOGS.to_vec()),
        ("documentation", DOCS.to_vec()),
        ("real-world (all three)", [NEWS, BLOGS, DOCS].concat()),
        ("whole suite", all.iter().map(String::as_str).collect()),
    ];
    println!(
        "{:<24} {:>5}  {:<12} {:>9} {:>6} {:>6} {:>8} {:>7}",
        "pages", "n", "extractor", "precision", "recall", "F1", "ms/page", "failed"
    );
    for (name, pages) in sets {
        let (mut ours, mut base) = (Tally::default(), Tally::default());
        for page in pages {
            let folder = dir.join(page);
            let (Ok(source), Ok(expected)) = (
                std::fs::read(folder.join("source.html")),
                std::fs::read_to_string(folder.join("expected.html")),
            ) else {
                continue;
            };
            let want = words(&feedloom::text::html_to_text(&expected));

            let t = Instant::now();
            let got = feedloom::fulltext::article::extract(&source, Some("text/html"), &page_url);
            let elapsed = t.elapsed().as_secs_f64();
            let failed = got.is_err();
            let text = got
                .map(|h| feedloom::text::html_to_text(&h))
                .unwrap_or_default();
            ours.add(prf(&words(&text), &want), elapsed, failed);

            let t = Instant::now();
            let page = feedloom::decode::html(&source, Some("text/html"));
            let whole = feedloom::sanitize::sanitize_html(&page, Some(&page_url));
            let text = feedloom::text::html_to_text(&whole);
            let elapsed = t.elapsed().as_secs_f64();
            base.add(prf(&words(&text), &want), elapsed, false);
        }
        for (label, t) in [("feedloom", &ours), ("whole page", &base)] {
            println!(
                "{:<24} {:>5}  {:<12} {:>9.3} {:>6.3} {:>6.3} {:>8.1} {:>7}",
                name,
                t.pages,
                label,
                t.mean(0),
                t.mean(1),
                t.mean(2),
                t.ms(),
                t.failed
            );
        }
    }
    println!("\nmeans over pages; references are Readability.js's own extractions (a Readability port is on home ground)");
}
