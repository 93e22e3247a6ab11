//! `feedloom check`: the shipped definitions load, and every kind of mistake
//! gives a message naming the file and the field, with a non-zero exit.

use feedloom_testkit as common;

use std::path::Path;

use common::Workspace;

#[test]
fn the_shipped_definitions_are_valid() {
    let feeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(["check", "--feeds"])
        .arg(&feeds)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |first: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(first))
    };
    // The sources table: id, kind, interval, URL.
    let arxiv = row("arxiv-cs-cl").unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        arxiv.contains(" feed ") && arxiv.contains("https://"),
        "{arxiv}"
    );
    // The topics table follows: `llm` is a topic as well as a tag.
    let topics = stdout
        .split("\ntopic ")
        .nth(1)
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(topics.lines().any(|l| l.starts_with("llm ")), "{stdout}");
}

/// Runs `check` on one definitions file; returns (success, stdout+stderr).
fn check(file: &str, text: &str) -> (bool, String) {
    let ws = Workspace::new();
    ws.write(file, text);
    let out = ws.run(&["check"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), all)
}

fn assert_rejected(file: &str, text: &str, expected: &[&str]) {
    let (ok, out) = check(file, text);
    assert!(!ok, "accepted invalid definitions:\n{text}\n{out}");
    assert!(
        out.contains(file),
        "the message must name the file `{file}`: {out}"
    );
    for e in expected {
        assert!(out.contains(e), "expected `{e}` in: {out}");
    }
}

const SOURCE: &str =
    "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"https://example.org/feed\"\n";

#[test]
fn a_minimal_valid_set_passes() {
    let (ok, out) = check(
        "all.toml",
        &format!("{SOURCE}\n[[tag]]\nid = \"t\"\nany = [{{ words = [\"x\"] }}]\n\n[[topic]]\nid = \"p\"\ntags = {{ any = [\"t\"] }}\n"),
    );
    assert!(ok, "{out}");
    assert!(out.contains("1 source, 1 tag, 1 topic"), "{out}");
}

#[test]
fn unknown_fields_are_errors() {
    assert_rejected(
        "sources.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurll = \"https://example.org/\"\n",
        &["unknown field `urll`", "line 4"],
    );
}

#[test]
fn unknown_tag_in_a_topic() {
    assert_rejected(
        "topics.toml",
        "[[topic]]\nid = \"llm\"\ntags = { any = [\"lmm\"] }\n",
        &["topic `llm`: unknown tag `lmm`"],
    );
}

#[test]
fn unknown_source_in_a_topic() {
    assert_rejected(
        "topics.toml",
        &format!("{SOURCE}[[topic]]\nid = \"p\"\nsources = [\"nope\"]\n"),
        &["topic `p`: unknown source `nope`"],
    );
}

#[test]
fn bad_urls_kinds_and_intervals() {
    assert_rejected(
        "s.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"not a url\"\n",
        &["source `s`: field `url`"],
    );
    assert_rejected(
        "s.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"ftp://example.org/x\"\n",
        &["only http and https"],
    );
    assert_rejected(
        "s.toml",
        "[[source]]\nid = \"s\"\nkind = \"rss\"\nurl = \"https://example.org/\"\n",
        &["unknown variant `rss`"],
    );
    assert_rejected(
        "s.toml",
        &format!("{SOURCE}interval = \"10s\"\n"),
        &["source `s`: field `interval`", "minimum"],
    );
    assert_rejected(
        "s.toml",
        &format!("{SOURCE}interval = \"soon\"\n"),
        &["not a duration"],
    );
}

#[test]
fn html_sources_need_valid_selectors() {
    assert_rejected(
        "s.toml",
        "[[source]]\nid = \"h\"\nkind = \"html\"\nurl = \"https://example.org/\"\n",
        &["source `h`", "needs a `[source.select]` table"],
    );
    assert_rejected(
        "s.toml",
        "[[source]]\nid = \"h\"\nkind = \"html\"\nurl = \"https://example.org/\"\n[source.select]\nitem = \"article\"\ntitle = \"h2[\"\n",
        &["source `h`: select.title: bad CSS selector `h2[`"],
    );
    assert_rejected(
        "s.toml",
        &format!("{SOURCE}[source.select]\nitem = \"a\"\ntitle = \"b\"\n"),
        &["`select` only applies to kind = \"html\""],
    );
}

#[test]
fn bad_rules() {
    assert_rejected(
        "tags.toml",
        "[[tag]]\nid = \"t\"\nany = [{ regex = \"(unclosed\" }]\n",
        &["tag `t`: any[0]: bad regex `(unclosed`"],
    );
    assert_rejected(
        "tags.toml",
        "[[tag]]\nid = \"t\"\nany = [{ words = [\"a\"], regex = \"b\" }]\n",
        &["tag `t`: any[0]: a condition needs exactly one of"],
    );
    assert_rejected(
        "tags.toml",
        "[[tag]]\nid = \"t\"\nnone = [{ words = [\"a\"] }]\n",
        &["tag `t`: needs at least one `all` or `any` condition"],
    );
    assert_rejected(
        "tags.toml",
        "[[tag]]\nid = \"t\"\nany = [{ words = [\"a\"], fields = [\"titel\"] }]\n",
        &["unknown field `titel`"],
    );
    assert_rejected(
        "tags.toml",
        "[[tag]]\nid = \"t\"\nany = [{ source = [\"ghost\"] }]\n",
        &["tag `t`: unknown source `ghost`"],
    );
}

#[test]
fn ids_must_be_unique_and_safe() {
    let ws = Workspace::new();
    ws.write("a.toml", SOURCE);
    ws.write("b.toml", SOURCE);
    let out = ws.run(&["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.toml: source `s` is defined twice (also in"),
        "{err}"
    );
    assert!(err.contains("a.toml"), "{err}");

    assert_rejected(
        "t.toml",
        "[[topic]]\nid = \"Bad Name\"\n",
        &["topic `Bad Name`", "lower-case"],
    );
}

#[test]
fn malformed_toml_and_an_empty_folder() {
    assert_rejected("broken.toml", "[[source]\nid = ", &["broken.toml"]);
    let ws = Workspace::new();
    let out = ws.run(&["check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no *.toml definition files found"));
}

#[test]
fn settings_come_from_flags_then_environment() {
    let good = Workspace::new();
    good.write("s.toml", SOURCE);
    let bad = Workspace::new();
    bad.write("s.toml", "[[source]]\nid = \"x\"\n");
    let bin = env!("CARGO_BIN_EXE_feedloom");

    let from_env = std::process::Command::new(bin)
        .arg("check")
        .env("FEEDLOOM_FEEDS", &good.feeds)
        .output()
        .unwrap();
    assert!(from_env.status.success(), "FEEDLOOM_FEEDS is read");

    let flag_wins = std::process::Command::new(bin)
        .arg("check")
        .arg("--feeds")
        .arg(&bad.feeds)
        .env("FEEDLOOM_FEEDS", &good.feeds)
        .output()
        .unwrap();
    assert!(
        !flag_wins.status.success(),
        "--feeds wins over FEEDLOOM_FEEDS"
    );
    assert!(String::from_utf8_lossy(&flag_wins.stderr).contains(&bad.feeds.display().to_string()));
}

#[test]
fn hugging_face_sources_are_checked() {
    let hf = "[[source]]\nid = \"hf\"\nkind = \"huggingface_papers\"\n";
    let (ok, out) = check(
        "hf.toml",
        &format!("{hf}listing = \"weekly\"\nweek = \"2026-W41\"\nmode = \"page\"\n"),
    );
    assert!(ok, "{out}");
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("hf "))
        .unwrap_or_else(|| panic!("{out}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["hf", "huggingface_papers", "30m", "https://huggingface.co/"]
    );
    assert_rejected("hf.toml", hf, &["source `hf`", "needs `listing`"]);
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"hourly\"\n"),
        &["unknown variant `hourly`"],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"daily\"\ndate = \"07/10/2026\"\n"),
        &["field `date`", "YYYY-MM-DD"],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"weekly\"\nweek = \"2026-41\"\n"),
        &["field `week`", "YYYY-Www"],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"monthly\"\nmonth = \"2026-13\"\n"),
        &["field `month`"],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"search\"\n"),
        &["needs a `query`"],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"daily\"\nquery = \"x\"\n"),
        &["field `query` does not apply to listing = \"daily\""],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"daily\"\nurl = \"https://huggingface.co/papers\"\n"),
        &["use `base_url`"],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"daily\"\nbase_url = \"file:///tmp\"\n"),
        &["field `base_url`"],
    );
    assert_rejected(
        "hf.toml",
        &format!("{hf}listing = \"trending\"\nmax_pages = 0\n"),
        &["max_pages"],
    );
    assert_rejected(
        "s.toml",
        &format!("{SOURCE}listing = \"daily\"\n"),
        &["field `listing` only applies to kind = \"huggingface_papers\""],
    );
    assert_rejected(
        "s.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\n",
        &["missing field `url`"],
    );
}
