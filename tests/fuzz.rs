//! Fuzzing on the stable toolchain: a seeded mutation loop per target, with
//! the properties every untrusted input must keep:
//! - the target returns (entries or an error) and never panics; an abort
//!   (stack overflow) kills this process, leaving the input that caused it
//!   in `target/fuzz-findings/TARGET.current`;
//! - it returns in time linear in the input: at most
//!   [`BASE_BUDGET`] plus [`BUDGET_PER_BYTE`] per byte (a quadratic scan
//!   overruns that on the large inputs the `repeat` mutation builds).
//!
//! Seeds come from `tests/fixtures/` (and the shipped `feeds/` for the
//! definitions loader). Every finding is written to `target/fuzz-findings/`;
//! copied into `tests/fixtures/fuzz/TARGET/`, it becomes a regression test
//! that [`regressions`] replays on every run.
//!
//! `cargo test --test fuzz` runs each target for `FEEDLOOM_FUZZ_SECONDS`
//! (default 3) seconds; `bash benches/fuzz.sh` runs them longer, in release.

use feedloom_testkit as common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::fixture;
use feedloom::config::Definitions;
use feedloom::extract::SourceKind;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

/// Time any input may take, plus [`BUDGET_PER_BYTE`] per byte. Generous
/// (debug builds, a shared 2-core machine): the point is to catch
/// blow-ups, not to benchmark.
const BASE_BUDGET: Duration = Duration::from_secs(2);
const BUDGET_PER_BYTE: Duration = Duration::from_micros(40);
/// The largest input a mutation may build.
const MAX_INPUT: usize = 512 * 1024;

/// Tokens worth splicing into markup, JSON and TOML.
const DICTIONARY: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x [",
    b"<!ENTITY",
    b"&amp;",
    b"&#x",
    b"&#",
    b";",
    b"&",
    b"<script>",
    b"</script>",
    b"<style>",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"<x:a>",
    b"<div>",
    b"<b>",
    b"<p>",
    b"\"",
    b"'",
    b"=",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\\u00",
    b"\\\"",
    b"null",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xC3",
    b"\x00",
    b"@",
    b"[[source]]",
    b"[[topic]]",
    b"[[tag]]",
    b"id = \"",
    b"http://",
    b"https://",
    b"?",
    b"#",
    b"%",
    b"data-props=\"",
    b"data-target=\"DailyPapers\"",
    b"encoding=\"",
    b"utf-16",
    b"windows-1252",
    // The feed repair path (issue 27).
    b"&nbsp;",
    b"&eacute;",
    b"&bogus;",
    b"&#0;",
    b"</channel>",
    b"<channel>",
    b"</entry>",
    b"<rss:item>",
    b"<atom:entry>",
    b"xml:base=\"",
    b"type=\"text/html\"",
    b"mode=\"base64\"",
    b"xmlns=\"http://purl.org/atom/ns#\"",
    b"<updated>",
    b"<br>",
    b"<dc:creator>",
];

/// xorshift64*: reproducible from the seed printed at the start.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One to four random edits of `input` (splices take from `corpus`).
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            2 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())];
                out.splice(at..at, token.iter().copied());
            }
            3 if !out.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 if !out.is_empty() => {
                // Repeat a slice many times: deep nesting, long runs, and
                // the inputs that expose quadratic scans.
                let start = rng.below(out.len());
                let len = 1 + rng.below(32.min(out.len() - start));
                let times = 1 + rng.below(20_000);
                let piece = out[start..start + len].to_vec();
                let room = MAX_INPUT.saturating_sub(out.len()) / len;
                let rep: Vec<u8> = piece
                    .iter()
                    .copied()
                    .cycle()
                    .take(len * times.min(room))
                    .collect();
                out.splice(start..start, rep);
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let to = (from + rng.below(4096)).min(other.len());
                    out.splice(at..at, other[from..to].iter().copied());
                }
            }
            6 if !out.is_empty() => out.truncate(at),
            _ => {
                let b = rng.next() as u8;
                out.insert(at, b);
            }
        }
    }
    out.truncate(MAX_INPUT);
    out
}

fn findings_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-findings");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `target` on one input; `Err` says what went wrong.
fn check(target: &dyn Fn(&[u8]), input: &[u8]) -> Result<(), String> {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| target(input)));
    let took = started.elapsed();
    if let Err(panic) = outcome {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        return Err(format!("panicked: {msg}"));
    }
    let budget = BASE_BUDGET + BUDGET_PER_BYTE * input.len() as u32;
    if took > budget {
        return Err(format!(
            "took {took:?} for {} bytes (budget {budget:?})",
            input.len()
        ));
    }
    Ok(())
}

/// Replays the stored findings, then mutates the seeds for the configured
/// time; fails with every finding saved.
fn fuzz(name: &str, seeds: Vec<Vec<u8>>, target: &dyn Fn(&[u8])) {
    let mut failures = Vec::new();
    for (path, input) in regressions(name) {
        if let Err(e) = check(target, &input) {
            failures.push(format!("regression {}: {e}", path.display()));
        }
    }
    let seconds: u64 = std::env::var("FEEDLOOM_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let seed = std::env::var("FEEDLOOM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64 | 1);
    eprintln!("fuzz {name}: seed {seed}, {seconds} s");
    let mut rng = Rng(seed);
    let mut corpus = seeds;
    let current = findings_dir().join(format!("{name}.current"));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runs = 0u64;
    while Instant::now() < deadline && failures.len() < 5 {
        let parent = corpus[rng.below(corpus.len())].clone();
        let input = mutate(&mut rng, &parent, &corpus);
        // Left behind if the process aborts (a stack overflow cannot be
        // caught).
        std::fs::write(&current, &input).unwrap();
        if let Err(e) = check(target, &input) {
            let path = findings_dir().join(format!("{name}-{seed}-{runs}.bin"));
            std::fs::write(&path, &input).unwrap();
            failures.push(format!("{e}; input saved to {}", path.display()));
        }
        // No coverage feedback on stable: keep a few mutants so edits
        // accumulate, bounded so the seeds stay in play.
        if rng.below(16) == 0 && corpus.len() < 256 {
            corpus.push(input);
        }
        runs += 1;
    }
    let _ = std::fs::remove_file(&current);
    eprintln!("fuzz {name}: {runs} inputs");
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
}

/// The saved findings of `target` in `tests/fixtures/fuzz/TARGET/`.
fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = entries
        .flatten()
        .map(|e| e.path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

/// Definitions with a source of every kind the extractors need: the
/// fixture sources (the HTML one has selectors) and Hugging Face in API and
/// page mode. Nothing is fetched.
fn definitions() -> Definitions {
    let up = common::Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let hf = format!(
        r#"
[[source]]
id = "hf-api"
kind = "huggingface_papers"
listing = "daily"
base_url = "{base}"

[[source]]
id = "hf-page"
kind = "huggingface_papers"
listing = "trending"
mode = "page"
base_url = "{base}"

[[source]]
id = "json-api"
kind = "json"
url = "{base}/r.json"
link_template = "https://x.example/{{id}}"
[source.select]
items = "/data/children"
title = "/data/title"
link = "/data/permalink"
id = "/data/name"
summary = "/data/selftext_html"
date = "/data/created_utc"
authors = "/data/author"
categories = "/data/link_flair_text"
image = "/data/thumbnail"
[source.metrics]
points = "/data/score"
[source.paging]
cursor = "/data/after"
param = "after"

[[source]]
id = "json-embedded"
kind = "json"
url = "{base}/blog"
[source.select]
embedded = "script#__NEXT_DATA__"
items = "/props/pageProps/posts"
title = "/title"
link = "/slug"
summary = "/excerpt"
date = "/date"
authors = "/author"
categories = "/tags"
"#,
        base = up.url("")
    );
    std::fs::write(
        dir.path().join("s.toml"),
        common::fixture_sources(&up) + &hf + common::FIXTURE_RULES,
    )
    .unwrap();
    feedloom::config::load(dir.path()).unwrap()
}

fn kind(defs: &Definitions, id: &str) -> SourceKind {
    defs.sources
        .iter()
        .find(|s| s.id == id)
        .unwrap()
        .kind
        .clone()
}

/// Runs an extractor, and normalizes what it found as the poller would
/// (sanitizing, text, identity): both see the same untrusted bytes.
fn extract_and_normalize(kind: &SourceKind, input: &[u8], content_type: Option<&str>) {
    let now = Utc::now();
    if let Ok(found) = feedloom::extract::extract(kind, input, content_type, now) {
        let base = Url::parse("https://example.org/").unwrap();
        for raw in found.entries {
            let _ = feedloom::normalize::normalize(raw, "fuzz", &base, now);
        }
    }
}

#[test]
fn feed() {
    let seeds = [
        "arxiv-cs.synthetic.rss",
        "lab-news.synthetic.atom",
        "group-blog.synthetic.rdf",
        "robotics-digest.synthetic.json",
    ]
    .map(fixture)
    .to_vec();
    fuzz("feed", seeds, &|b| {
        extract_and_normalize(&SourceKind::Feed, b, Some("application/xml"))
    });
}

/// The repair path: seeded with the messy-web fixtures (each needs a
/// repair), so mutations land on broken documents, where the lexer, the
/// shaping pass and the item-by-item fallback run.
#[test]
fn feed_repair() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messy");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("md" | "py")))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    seeds.sort();
    assert!(seeds.len() > 20, "the messy fixtures are the seeds");
    fuzz("feed_repair", seeds, &|b| {
        if let Ok(got) = feedloom::extract::extract(&SourceKind::Feed, b, None, Utc::now()) {
            // Bounded where produced: the record never grows past its
            // cap, whatever the count.
            assert!(got.repairs.first.len() <= feedloom::repairs::KEPT);
            assert!(got.entries.len() <= feedloom::extract::cap::MAX_ITEMS);
        }
        extract_and_normalize(&SourceKind::Feed, b, Some("text/xml"))
    });
}

#[test]
fn json_feed() {
    fuzz(
        "json_feed",
        vec![fixture("robotics-digest.synthetic.json")],
        &|b| extract_and_normalize(&SourceKind::Feed, b, None),
    );
}

#[test]
fn html_with_selectors() {
    let blog = kind(&definitions(), "blog");
    fuzz(
        "html",
        vec![fixture("research-blog.synthetic.html")],
        &|b| extract_and_normalize(&blog, b, Some("text/html; charset=utf-8")),
    );
}

#[test]
fn huggingface_api() {
    let api = kind(&definitions(), "hf-api");
    let item = fixture("hf-api-daily_papers-item-2602.23229.json");
    let mut list = b"[".to_vec();
    list.extend_from_slice(&item);
    list.push(b']');
    fuzz("hf_api", vec![list], &|b| {
        extract_and_normalize(&api, b, Some("application/json"))
    });
}

#[test]
fn huggingface_page() {
    let page = kind(&definitions(), "hf-page");
    fuzz(
        "hf_page",
        vec![fixture("hf-trending-2026-10-07.excerpt.html")],
        &|b| extract_and_normalize(&page, b, Some("text/html")),
    );
}

#[test]
fn huggingface_cards() {
    let page = kind(&definitions(), "hf-page");
    // Without the embedded JSON the cards are read.
    let cards = String::from_utf8(fixture("hf-trending-2026-10-07.excerpt.html"))
        .unwrap()
        .replace("data-target=\"DailyPapers\"", "data-target=\"Gone\"");
    fuzz("hf_cards", vec![cards.into_bytes()], &|b| {
        extract_and_normalize(&page, b, Some("text/html"))
    });
}

#[test]
fn json_api() {
    let api = kind(&definitions(), "json-api");
    let seeds = ["json/reddit-new-page1.json", "json/reddit-new-page2.json"]
        .map(fixture)
        .to_vec();
    fuzz("json_api", seeds, &|b| {
        extract_and_normalize(&api, b, Some("application/json"))
    });
}

#[test]
fn json_embedded_in_html() {
    let page = kind(&definitions(), "json-embedded");
    fuzz(
        "json_embedded",
        vec![fixture("json/nextjs-blog.html")],
        &|b| extract_and_normalize(&page, b, Some("text/html")),
    );
}

#[test]
fn suggested_selectors() {
    let seeds = [
        "hacker-news-front.synthetic.html",
        "card-grid.synthetic.html",
        "research-blog.synthetic.html",
    ]
    .map(fixture)
    .to_vec();
    fuzz("suggest", seeds, &|b| {
        // As `inspect --suggest` runs it: nesting checked first.
        if feedloom::depth::check_html(b, "HTML").is_ok() {
            let page = feedloom::decode::html(b, None);
            for s in feedloom::extract::suggest::suggest(&page, 3).unwrap_or_default() {
                let spec = feedloom::extract::html::HtmlSpec::compile(&s.select, None)
                    .expect("a suggestion always compiles");
                let _ = feedloom::extract::html::extract(&spec, &page);
            }
        }
    });
}

#[test]
fn article_extraction() {
    let seeds = [
        "articles/ars-1.source.html",
        "articles/daringfireball-1.source.html",
    ]
    .map(fixture)
    .to_vec();
    let page = Url::parse("https://example.org/2026/story").unwrap();
    fuzz("article", seeds, &|b| {
        if let Ok(html) = feedloom::fulltext::article::extract(b, Some("text/html"), &page) {
            assert!(!html.contains("<script"), "an article kept a script");
        }
    });
}

#[test]
fn definitions_loader() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&shipped)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    seeds.push(common::FIXTURE_RULES.as_bytes().to_vec());
    fuzz("definitions", seeds, &|b| {
        std::fs::write(dir.path().join("defs.toml"), b).unwrap();
        let _ = feedloom::config::load(dir.path());
    });
}

/// Splits an input into request fields at `\n`: path, query,
/// Accept-Encoding, If-None-Match, If-Modified-Since, Forwarded,
/// X-Forwarded-Host, X-Forwarded-Prefix.
#[test]
fn request_fields() {
    let defs = definitions();
    let base = Url::parse("https://feeds.example.org/f/").unwrap();
    let allowed = vec!["mirror.example.org".to_string()];
    let doc = feedloom::render::Rendered::new(
        vec![b'x'; 4096],
        "application/atom+xml",
        Utc::now(),
        Duration::from_secs(60),
    );
    let seeds = vec![
        b"/all.atom\nlimit=10\ngzip;q=0.5, br;q=1, *;q=0\n\"abc\", W/\"def\"\nSat, 01 Jan 2026 00:00:00 GMT\nfor=1.2.3.4;proto=https;host=mirror.example.org\nmirror.example.org\n/feeds".to_vec(),
        b"/\n\nidentity\n*\n\n\n\n".to_vec(),
        b"/all.html\nlimit=abc&limit=1\nbr\n\"x\"\n\nproto=http\nevil.example:99\n/a/../b".to_vec(),
    ];
    let names = [
        "accept-encoding",
        "if-none-match",
        "if-modified-since",
        "forwarded",
        "x-forwarded-host",
        "x-forwarded-prefix",
    ];
    fuzz("request", seeds, &|b| {
        let fields: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or_default();
        let path = String::from_utf8_lossy(field(0));
        let query = String::from_utf8_lossy(field(1));
        let _ = feedloom::server::parse_document(&defs, &path, Some(&query));
        let mut headers = HeaderMap::new();
        for (i, name) in names.iter().enumerate() {
            if let Ok(v) = HeaderValue::from_bytes(field(i + 2)) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        let _ = feedloom::server::respond::negotiate(headers.get("accept-encoding"), &doc);
        let _ = feedloom::server::respond::not_modified(&headers, &doc);
        let _ = feedloom::server::respond::cached(&headers, &doc);
        if let Some(u) = feedloom::server::proxy::forwarded_base(&headers, &base, &allowed) {
            let host = u.host_str().unwrap_or_default().to_string();
            assert!(
                host == "feeds.example.org" || host == "mirror.example.org",
                "forwarded base outside the allowlist: {u}"
            );
            assert!(u.query().is_none() && u.username().is_empty(), "{u}");
        }
    });
}

/// A robots.txt, then after a NUL the paths asked, one a line.
#[test]
fn robots_txt() {
    use feedloom::fulltext::robots::{Rules, AGENT, MAX_RULES, MAX_RULE_BYTES};
    let seeds = vec![
        b"User-agent: *\nDisallow: /private\nAllow: /private/ok$\nCrawl-delay: 2\n\0/private/a\n/private/ok\n/x?y=%2F".to_vec(),
        b"User-agent: feedloom\nUser-agent: other\nDisallow: /*a*b*c$\nAllow: /%E3%83%84\n# c\nSitemap: x\n\0/aXbYc\n/\xE3\x83\x84".to_vec(),
        format!("User-agent: *\n{}\0/abc", "Disallow: /*a*b*c$\n".repeat(300)).into_bytes(),
    ];
    fuzz("robots", seeds, &|b| {
        let (body, paths) = match b.iter().position(|&c| c == 0) {
            Some(at) => (&b[..at], &b[at + 1..]),
            None => (b, &b""[..]),
        };
        let rules = Rules::parse(body, AGENT);
        assert!(rules.len() <= MAX_RULES, "{} rules kept", rules.len());
        assert!(
            rules.bytes() <= MAX_RULE_BYTES + 4096,
            "{} bytes kept",
            rules.bytes()
        );
        for path in paths.split(|&c| c == b'\n') {
            let _ = rules.allows_path(&String::from_utf8_lossy(path));
        }
        let _ = rules.crawl_delay();
    });
}

/// A JSON API page whose paging token is chosen by the page: the next URL
/// never leaves the source's origin, whatever the token says.
#[test]
fn json_paging() {
    use feedloom::extract::json::paging::Paging;
    let source = Url::parse("https://api.example.org/v1/items?sort=new").unwrap();
    let pagings = [
        Paging::NextUrl("/next".into()),
        Paging::Cursor {
            pointer: "/after".into(),
            param: "after".into(),
        },
        Paging::Number {
            param: "page".into(),
            start: 0,
        },
    ];
    let seeds = vec![
        b"/v1/items?page=2".to_vec(),
        b"https://api.example.org:443/v1/items?c=1".to_vec(),
        b"//evil.example/x".to_vec(),
        b"http://api.example.org/v1/items".to_vec(),
        b"t3_abc&x=1#frag".to_vec(),
    ];
    fuzz("paging", seeds, &|b| {
        let token = String::from_utf8_lossy(b);
        for paging in &pagings {
            let current = paging.first(&source);
            for page in [0, 1, 49] {
                if let Some(next) = paging.next(&source, &current, page, Some(&token)) {
                    assert_eq!(
                        next.origin(),
                        source.origin(),
                        "{paging:?} left the origin for {token:?}: {next}"
                    );
                }
            }
        }
    });
}

/// A WebSub hub request body: whatever it says, an accepted request names
/// a topic under the hub's own base and an http(s) callback.
#[test]
fn hub_request() {
    let base = Url::parse("https://feeds.example.org/f/").unwrap();
    let seeds = vec![
        b"hub.mode=subscribe&hub.topic=https%3A%2F%2Ffeeds.example.org%2Ff%2Fall.atom&hub.callback=https%3A%2F%2Fsub.example%2Fcb&hub.lease_seconds=86400&hub.secret=s3cr3t".to_vec(),
        b"hub.mode=unsubscribe&hub.topic=https://feeds.example.org/f/p/abc/mine.rss&hub.callback=http://127.0.0.1/cb".to_vec(),
        b"hub.mode=subscribe&hub.mode=subscribe&hub.topic=https://evil.example/all.atom&hub.callback=javascript:alert(1)&x=%ZZ".to_vec(),
    ];
    fuzz("hub", seeds, &|b| {
        if let Ok(req) = feedloom::websub::request::parse(b, &base) {
            assert!(
                matches!(req.callback.scheme(), "http" | "https"),
                "callback {}",
                req.callback
            );
        }
    });
}

/// A query string on a topic or `/search`: parsed or refused by name, and
/// an accepted one describes itself in characters XML can hold.
#[test]
fn query_strings() {
    let defs = definitions();
    let seeds = vec![
        b"q=mixture%20of%20experts&tag=llm&min_upvotes=50&limit=10".to_vec(),
        b"any_tag=llm,speech&not=llm&source=arxiv,lab&org=NVIDIA&author=Jo&since=7d".to_vec(),
        b"q=%00%01&limit=0&limit=1&min_points=1e400&max_upvotes=-inf".to_vec(),
        b"q=z1&q=a&author=%E2%80%AE&org=%EF%BF%BF&since=999999999d".to_vec(),
    ];
    fuzz("query", seeds, &|b| {
        let q = String::from_utf8_lossy(b);
        if let Ok(asked) = feedloom::query::parse(Some(&q), &defs, 200) {
            assert!(asked.limit.is_none_or(|l| (1..=200).contains(&l)));
            if let Some(f) = asked.filter {
                let text = format!("{}{}", f.describe(), f.canonical());
                assert!(
                    !text
                        .chars()
                        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
                    "{text:?}"
                );
                // The canonical form reads back as the same filter.
                let again = feedloom::query::parse(Some(f.canonical()), &defs, 200).unwrap();
                assert_eq!(again.filter.as_ref(), Some(&f), "{q:?}");
            }
        }
    });
}
