//! `feedloom import FILE`: other readers' OPML exports (written in the
//! shapes Miniflux, FreshRSS, Feedly, Inoreader, NetNewsWire and newsboat
//! export, and OPML 2.0's `category` attribute; `tests/fixtures/opml/`)
//! become one checked definitions file whose sources are polled and
//! published; importing again writes nothing; bad files are a one-line
//! error, bombs and huge lists a bounded result, and nothing is ever half
//! written. The written files and reports are golden files
//! (`tests/snapshots/import__*.snap`; accept an intended change with
//! `INSTA_UPDATE=always cargo test --test import`).

use feedloom_testkit as common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{parse_feed, Reply, Upstream, Workspace, LOCAL_HOST_RULES};

/// Every fixture: (name, sources, tags, topics with `--topics`).
const SHAPES: [(&str, usize, usize, usize); 7] = [
    ("miniflux", 5, 2, 2),
    ("freshrss", 3, 2, 2),
    ("feedly", 4, 2, 2),
    ("inoreader", 4, 2, 2),
    ("netnewswire", 5, 2, 3),
    ("newsboat", 4, 0, 1),
    ("opml2-categories", 4, 4, 4),
];

fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn fixture(name: &str) -> PathBuf {
    common::fixture_path(&format!("opml/{name}.synthetic.opml"))
}

fn import(ws: &Workspace, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    ws.run(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file in the definitions folder, with its text, in name order.
fn folder(ws: &Workspace) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(&ws.feeds)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let text = std::fs::read_to_string(e.path()).unwrap();
            (e.file_name().into_string().unwrap(), text)
        })
        .collect();
    files.sort();
    files
}

/// `text` holds every one of `expected`.
fn assert_contains(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "expected `{e}` in:\n{text}");
    }
}

fn assert_checks(ws: &Workspace) -> String {
    let out = ws.run(&["check"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

/// `out` failed with one line on stderr that names `file` and holds each
/// of `expected`; nothing was printed on stdout.
fn assert_one_line_error(out: &Output, file: &Path, expected: &[&str]) {
    let err = stderr(out);
    assert!(!out.status.success(), "accepted: {}", stdout(out));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    for e in expected {
        assert!(err.contains(e), "expected `{e}` in: {err}");
    }
    assert!(stdout(out).is_empty());
}

/// `name`'s fixture with every http(s) URL moved under `base`
/// (`http://127.0.0.1:PORT`): `https://blog.rust-lang.org/feed.xml`
/// becomes `BASE/blog.rust-lang.org/feed.xml`, so one local upstream
/// serves every feed. Bytes are replaced, not text: one fixture is
/// ISO-8859-1.
fn templated(ws: &Workspace, name: &str, base: &str) -> PathBuf {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    for scheme in ["\"https://", "\"http://"] {
        bytes = replace(&bytes, scheme.as_bytes(), format!("\"{base}/").as_bytes());
    }
    let path = ws.dir.path().join(format!("{name}.opml"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn every_readers_export_imports_into_a_folder_check_passes() {
    for (name, sources, tags, topics) in SHAPES {
        let ws = Workspace::new();
        let out = import(&ws, &fixture(name), &["--topics"]);
        let report = stdout(&out);
        assert!(out.status.success(), "{name}: {report}{}", stderr(&out));
        let files = folder(&ws);
        assert_eq!(files.len(), 1, "{name}: {files:?}");
        let counts = format!(
            "{}, {}, {}\n",
            counted(sources, "source", "sources"),
            counted(tags, "tag", "tags"),
            counted(topics, "topic", "topics")
        );
        assert!(
            report.starts_with("wrote ") && report.contains(&counts),
            "{name}: {report}"
        );
        let check = assert_checks(&ws);
        assert!(
            check.contains(&format!("1 file, {counts}")),
            "{name}: {check}"
        );
        let report = report.replace(&ws.feeds.display().to_string(), "FEEDS");
        let (file, text) = &files[0];
        insta::assert_snapshot!(name, format!("{report}--- {file}\n{text}"));
    }
}

#[test]
fn importing_the_same_file_again_writes_nothing() {
    let ws = Workspace::new();
    for name in ["miniflux", "feedly"] {
        assert!(import(&ws, &fixture(name), &["--topics"]).status.success());
    }
    let before = folder(&ws);
    for name in ["miniflux", "feedly"] {
        for flags in [&["--topics"][..], &[]] {
            let out = import(&ws, &fixture(name), flags);
            assert!(out.status.success(), "{}", stderr(&out));
            let report = stdout(&out);
            assert!(report.starts_with("nothing new to import: "), "{report}");
            assert!(
                report.contains("are defined already; nothing was written"),
                "{report}"
            );
        }
    }
    assert_eq!(folder(&ws), before);
    assert_checks(&ws);
}

#[test]
fn a_longer_export_adds_only_its_new_feeds_under_fresh_tag_ids() {
    let ws = Workspace::new();
    assert!(import(&ws, &fixture("feedly"), &["--topics"])
        .status
        .success());
    // The same reader's export, a month later: one more feed in Tech, and
    // a new folder.
    let later = std::fs::read_to_string(fixture("feedly"))
        .unwrap()
        .replace(
            "        </outline>\n        <outline text=\"Reading\"",
            "            <outline type=\"rss\" text=\"LWN.net\" title=\"LWN.net\" xmlUrl=\"https://lwn.net/headlines/rss\" htmlUrl=\"https://lwn.net\"/>\n        </outline>\n        <outline text=\"Podcasts\" title=\"Podcasts\">\n            <outline type=\"rss\" text=\"Oxide and Friends\" title=\"Oxide and Friends\" xmlUrl=\"https://feeds.transistor.fm/oxide-and-friends\" htmlUrl=\"https://oxide.computer/podcasts\"/>\n        </outline>\n        <outline text=\"Reading\"",
        );
    let path = ws.dir.path().join("feedly-later.opml");
    std::fs::write(&path, later).unwrap();
    let out = import(&ws, &path, &["--topics"]);
    let report = stdout(&out);
    assert!(out.status.success(), "{report}{}", stderr(&out));
    assert_contains(
        &report,
        &[
            "2 sources, 2 tags, 2 topics",
            "not imported again (5):",
            "category \"Tech\": tag `tech` exists already, so its new feeds are tagged `tech-2`",
            "category \"Tech\": topic `tech` exists already, so its topic is `tech-2`",
        ],
    );
    let files = folder(&ws);
    assert_eq!(files.len(), 2, "{files:?}");
    let (name, new) = files.iter().find(|(n, _)| n.ends_with("-2.toml")).unwrap();
    assert_eq!(name, "jane-subscriptions-in-feedly-cloud-2.toml");
    assert!(
        new.contains("id = \"tech-2\"\ntitle = \"Tech\"\nany = [{ source = [\"lwn-net\"] }]"),
        "{new}"
    );
    assert!(new.contains("id = \"podcasts\""), "{new}");
    assert!(!new.contains("ars-technica"), "{new}");
    assert_checks(&ws);
}

#[test]
fn imported_feeds_are_polled_and_published_per_category() {
    // From an empty folder: the import is its first file.
    let ws = Workspace::new();
    let up = Upstream::start();
    let opml = templated(&ws, "miniflux", &up.url(""));
    // The upstream is on 127.0.0.1: inside this network, which a
    // stranger's file may not name unless the operator says so.
    let out = import(&ws, &opml, &["--topics"]);
    let said = stderr(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("is an address inside this network (import with --internal"),
        "{said}"
    );
    assert!(folder(&ws).is_empty(), "{said}");
    let out = import(&ws, &opml, &["--topics", "--internal"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // Each imported URL serves a feed of one item naming its source.
    let defs = feedloom::config::load(&ws.feeds).unwrap();
    assert_eq!(defs.sources.len(), 5);
    for s in &defs.sources {
        let path = match s.url.query() {
            Some(q) => format!("{}?{q}", s.url.path()),
            None => s.url.path().to_string(),
        };
        let rss = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{id}</title><link>https://example.org/</link><description>d</description>\
             <item><title>News from {id}</title><link>https://example.org/{id}/1</link><guid>https://example.org/{id}/1</guid><pubDate>Tue, 06 Oct 2026 08:00:00 GMT</pubDate></item></channel></rss>",
            id = s.id
        );
        up.set(&path, Reply::ok("application/rss+xml", rss));
    }
    // Only the tests' own politeness rules are added.
    ws.write("local.toml", LOCAL_HOST_RULES);
    assert_checks(&ws);
    let server = ws.serve();
    server.wait_ready();
    let titles = |topic: &str| {
        let res = server.get(&format!("/{topic}.atom"));
        assert_eq!(res.status, 200, "{topic}");
        let mut titles: Vec<String> = parse_feed(&res.body)
            .entries
            .iter()
            .map(|e| e.title.as_ref().unwrap().content.clone())
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(
        titles("rust"),
        [
            "News from fasterthanli-me-cool-bear",
            "News from rust-blog",
            "News from this-week-in-rust",
        ]
    );
    assert_eq!(
        titles("all"),
        ["News from julia-evans", "News from the-old-new-thing"]
    );
    assert_eq!(
        up.requests.lock().unwrap().len(),
        5,
        "each feed fetched once"
    );
    assert!(server.terminate());
}

#[test]
fn print_shows_the_checked_file_and_writes_nothing() {
    let ws = Workspace::new();
    let out = import(&ws, &fixture("inoreader"), &["--print", "--topics"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(folder(&ws).is_empty());
    assert!(text.starts_with("# would write "), "{text}");
    assert_contains(
        &text,
        &[" from inoreader.synthetic.opml (\"Subscriptions of Jane Doe from Inoreader [https://www.inoreader.com]\"): 4 sources, 2 tags, 2 topics\n# not imported again (1):\n"],
    );
    // What is printed is the file: saved as is, it passes.
    ws.write("inoreader.toml", &text);
    assert!(assert_checks(&ws).contains("4 sources, 2 tags, 2 topics"));
    // A chosen name: there, once.
    let ws = Workspace::new();
    assert!(import(&ws, &fixture("inoreader"), &["--name", "reader"])
        .status
        .success());
    assert_eq!(folder(&ws)[0].0, "reader.toml");
}

#[test]
fn what_is_not_a_subscription_list_is_a_one_line_error_and_writes_nothing() {
    let ws = Workspace::new();
    let cases: [(&str, &[u8], &[&str]); 7] = [
        ("photo.opml", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", &["not well-formed XML (line 3, column", "no root element"]),
        ("feeds.json", b"{\"subscriptions\": [{\"url\": \"https://a.example/feed\"}]}", &["line 1, column", "no root element"]),
        ("page.opml", b"<!DOCTYPE html>\n<html><head><title>Export</title></head><body></body></html>", &["not OPML: the root element is <html>"]),
        ("feed.xml", b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel/></rss>", &["not OPML: the root element is <rss>"]),
        ("cut.opml", b"<?xml version=\"1.0\"?>\n<opml version=\"1.0\">\n<body>\n<outline text=\"Tech\">\n<outline xmlUrl=\"https://a.example/feed\"/>", &["(line 5, column", "ends inside <outline> (cut short?)"]),
        ("mismatch.opml", b"<opml>\n<body>\n<outline text=\"a\">\n</body>\n</opml>", &["(line 4, column 1)", "expected `</outline>`"]),
        ("empty.opml", b"", &["no root element"]),
    ];
    for (name, bytes, expected) in cases {
        let path = ws.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = import(&ws, &path, &[]);
        assert_one_line_error(&out, &path, expected);
    }
    let missing = ws.dir.path().join("missing.opml");
    assert_one_line_error(&import(&ws, &missing, &[]), &missing, &["No such file"]);
    // Nothing, not even a temporary file, was left in the folder.
    assert!(folder(&ws).is_empty());
}

/// The classic entity bomb: `&lol9;` would expand to 10^9 `lol`s (3 GB).
const LOL_DTD: &str = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n]>\n";

#[test]
fn a_billion_laughs_is_refused_at_once() {
    let ws = Workspace::new();
    let path = ws.dir.path().join("lol.opml");
    let body = "<opml version=\"2.0\"><head><title>&lol9;</title></head><body>\n<outline text=\"&lol9;\" xmlUrl=\"https://a.example/&lol9;\" category=\"/&lol9;\"/>\n</body></opml>\n";
    std::fs::write(&path, format!("{LOL_DTD}{body}")).unwrap();
    let start = Instant::now();
    let out = import(&ws, &path, &[]);
    // Refused at the DTD, before any reference is read: too quick for a
    // memory sample (the next test measures the references themselves).
    let took = start.elapsed();
    assert_one_line_error(
        &out,
        &path,
        &["declares entities in a DTD (line 2)", "refused"],
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(folder(&ws).is_empty());
}

#[test]
fn undeclared_entities_stay_text_in_linear_time_and_bounded_memory() {
    let ws = Workspace::new();
    // The bomb's references without its DTD, 10 a name, in 50,000 outlines.
    let refs = "&lol9;".repeat(10);
    let mut opml = String::from("<opml version=\"2.0\"><head><title>&lol9;</title></head><body>\n");
    for i in 0..50_000 {
        opml.push_str(&format!(
            "<outline text=\"{refs}\" xmlUrl=\"https://a.example/{i}/&lol9;\" category=\"/&lol9;/{refs}\"/>\n"
        ));
    }
    opml.push_str("</body></opml>\n");
    let path = ws.dir.path().join("lol.opml");
    std::fs::write(&path, &opml).unwrap();
    let start = Instant::now();
    let (out, peak_kib) = ws.run_measured(&["import", path.to_str().unwrap()]);
    let took = start.elapsed();
    let report = stdout(&out);
    assert!(out.status.success(), "{report}{}", stderr(&out));
    println!(
        "50,000 outlines of `&lol9;` ({} KiB): {took:?}, peak {peak_kib} KiB",
        opml.len() / 1024
    );
    assert_contains(
        &report,
        &["10000 sources, 2 tags, 0 topics", "left out: 40000 more"],
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(peak_kib < 128 * 1024, "peak {peak_kib} KiB");
    let files = folder(&ws);
    assert_eq!(files[0].0, "lol9.toml");
    assert_contains(
        &files[0].1,
        &[
            &format!("title = \"{refs}\""),
            "url = \"https://a.example/0/&lol9;\"",
            "id = \"lol9\"\ntitle = \"&lol9;\"\n",
        ],
    );
    assert!(files[0].1.len() < 4 << 20, "{} bytes", files[0].1.len());
    assert_checks(&ws);
}

#[test]
fn a_hundred_thousand_outlines_give_a_bounded_result() {
    let ws = Workspace::new();
    let mut opml = String::from("<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><head><title>Everything</title></head><body>\n");
    for g in 0..100 {
        opml.push_str(&format!("<outline text=\"Group {g}\">\n"));
        for i in 0..1_000 {
            let n = g * 1_000 + i;
            opml.push_str(&format!(
                "<outline type=\"rss\" text=\"Feed {n}\" xmlUrl=\"https://host{}.example.org/feeds/{n}.xml\" category=\"/Kind {}\"/>\n",
                n % 97,
                n % 5
            ));
        }
        opml.push_str("</outline>\n");
    }
    opml.push_str("</body></opml>\n");
    let path = ws.dir.path().join("everything.opml");
    std::fs::write(&path, &opml).unwrap();
    let start = Instant::now();
    let (out, peak_kib) = ws.run_measured(&["import", path.to_str().unwrap(), "--topics"]);
    let took = start.elapsed();
    let report = stdout(&out);
    assert!(out.status.success(), "{report}{}", stderr(&out));
    assert_contains(
        &report,
        &[
            "10000 sources, 15 tags, 15 topics",
            "left out: 90000 more new feeds past the first 10000; import the file again for the next ones",
        ],
    );
    println!(
        "100,000 outlines ({} KiB): {took:?}, peak {peak_kib} KiB",
        opml.len() / 1024
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(peak_kib < 256 * 1024, "peak {peak_kib} KiB");
    assert_checks(&ws);
    // Importing again takes the next ones, and names the first as defined.
    let out = import(&ws, &path, &[]);
    let report = stdout(&out);
    assert!(out.status.success(), "{report}{}", stderr(&out));
    assert_contains(
        &report,
        &[
            "10000 sources, 15 tags, 0 topics",
            "not imported again (10000):",
            "  and 9980 more\n",
            "left out: 80000 more new feeds",
            "category \"Kind 0\": tag `kind-0` exists already, so its new feeds are tagged `kind-0-2`",
        ],
    );
    assert!(report.lines().count() < 60, "{report}");
    assert_eq!(folder(&ws).len(), 2);
}

#[test]
fn too_deep_or_too_large_files_are_refused_before_any_write() {
    let ws = Workspace::new();
    let deep = ws.dir.path().join("deep.opml");
    let nested = format!(
        "<opml><body>{}<outline xmlUrl=\"https://a.example/\"/></body></opml>",
        "<outline text=\"x\">".repeat(100_000)
    );
    std::fs::write(&deep, nested).unwrap();
    let start = Instant::now();
    assert_one_line_error(
        &import(&ws, &deep, &[]),
        &deep,
        &["nested deeper than 256 levels"],
    );
    let large = ws.dir.path().join("large.opml");
    let mut big = b"<opml><body>".to_vec();
    big.resize(17 << 20, b' ');
    std::fs::write(&large, big).unwrap();
    assert_one_line_error(
        &import(&ws, &large, &[]),
        &large,
        &["larger than 16 MiB; refused"],
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(folder(&ws).is_empty());
}

#[test]
fn a_folder_that_does_not_load_gets_nothing_added() {
    let ws = Workspace::new();
    ws.write(
        "broken.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurll = \"https://example.org/\"\n",
    );
    let out = import(&ws, &fixture("miniflux"), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("broken.toml") && err.contains("unknown field `urll`"),
        "{err}"
    );
    assert_eq!(folder(&ws).len(), 1);
}

#[test]
fn init_import_and_add_grow_one_folder_that_checks() {
    let up = Upstream::start();
    let page = "<!DOCTYPE html><html><head><title>Lab notes</title>\n<link rel=\"alternate\" type=\"application/atom+xml\" href=\"/lab/feed.atom\"></head><body></body></html>";
    up.set("/lab/", Reply::ok("text/html; charset=utf-8", page));
    up.set(
        "/lab/feed.atom",
        Reply::ok(
            "application/atom+xml",
            common::fixture("lab-news.synthetic.atom"),
        ),
    );
    let ws = Workspace::new();
    assert!(ws.run(&["init"]).status.success());
    // `add` first: the import then finds that feed defined.
    let added = ws.run(&["add", &up.url("/lab/"), "--no-topic"]);
    assert!(
        added.status.success(),
        "{}{}",
        stdout(&added),
        stderr(&added)
    );
    let opml = format!(
        "<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><head><title>Mine</title></head><body>\n\
         <outline text=\"LLM\">\n\
           <outline text=\"Lab news\" type=\"rss\" xmlUrl=\"{}\"/>\n\
           <outline text=\"Model notes\" type=\"rss\" xmlUrl=\"{}\"/>\n\
         </outline>\n\
         <outline text=\"arXiv cs.CL\" type=\"rss\" xmlUrl=\"http://rss.arxiv.org/rss/cs.CL/\"/>\n\
         </body></opml>\n",
        up.url("/lab/feed.atom"),
        up.url("/notes.xml"),
    );
    let path = ws.dir.path().join("subscriptions.opml");
    std::fs::write(&path, opml).unwrap();
    let out = import(&ws, &path, &["--topics", "--internal"]);
    let report = stdout(&out);
    assert!(out.status.success(), "{report}{}", stderr(&out));
    assert_contains(
        &report,
        &[
            "1 source, 1 tag, 1 topic",
            "not imported again (2):",
            "defined already, as source `arxiv-cs-cl`",
            // The starter's tag and topic are `llm`.
            "category \"LLM\": tag `llm` exists already, so its new feeds are tagged `llm-2`",
            "category \"LLM\": topic `llm` exists already, so its topic is `llm-2`",
        ],
    );
    let check = assert_checks(&ws);
    assert!(
        check.contains("3 files, 3 sources, 2 tags, 2 topics"),
        "{check}"
    );
}
