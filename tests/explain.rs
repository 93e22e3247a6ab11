//! `explain`, `preview`, `inspect` and `check`'s warnings: the tools an
//! admin uses to get rules and selectors right.

mod common;

use common::*;

fn run_ok(ws: &Workspace, args: &[&str]) -> String {
    let out = ws.run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn explain_a_matched_and_an_unmatched_entry() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    // Matched: an arXiv paper with "LLM" in its title and "agents".
    let text = run_ok(&ws, &["explain", "https://arxiv.org/abs/2412.20138v2"]);
    assert!(text.starts_with("entry urn:uuid:"), "{text}");
    assert!(text.contains("key         arxiv:2412.20138"), "{text}");
    assert!(text.contains("sources     arxiv"), "{text}");
    assert!(
        text.contains("llm: any[0] words matched \"LLM\" in title"),
        "{text}"
    );
    assert!(text.contains("llm: in it since 2026-10-07"), "{text}");
    assert!(
        text.contains("agents-not-llm: not in it: has tag `llm`, which the topic excludes"),
        "{text}"
    );
    // Unmatched: the speech post, explained by its link.
    let text = run_ok(
        &ws,
        &["explain", "https://group.example.net/blog/tts-voices"],
    );
    assert!(text.contains("speech: any[0] words matched"), "{text}");
    assert!(
        text.contains("llm: not in it: has none of the tags llm; tag `llm`: no `any` condition matched: words \"LLM\""),
        "{text}"
    );
    // The same entry by its id.
    let id = text
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("entry ")
        .to_string();
    assert_eq!(run_ok(&ws, &["explain", &id]), text);
    let missing = ws.run(&["explain", "https://nowhere.example/x"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no stored entry matches"));
}

#[test]
fn explain_names_the_failing_metric() {
    let up = Upstream::start();
    let mut entries = hf_entries();
    entries.truncate(3);
    up.set(
        "/api/daily_papers?limit=100&p=0",
        Reply::ok("application/json", serde_json::to_vec(&entries).unwrap()),
    );
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        &format!(
            "{LOCAL_HOST_RULES}[[source]]\nid = \"hf\"\nkind = \"huggingface_papers\"\nlisting = \"daily\"\nbase_url = \"{}\"\n[[tag]]\nid = \"popular\"\nany = [{{ metric = \"upvotes\", gte = 100 }}]\n[[topic]]\nid = \"popular\"\ntags = {{ any = [\"popular\"] }}\n",
            up.url("/")
        ),
    );
    ws.poll_ok();
    let text = run_ok(&ws, &["explain", "2609.18063"]);
    assert!(
        text.contains("metrics     comments=4 stars=3293 upvotes=25"),
        "{text}"
    );
    assert!(text.contains("popular: not in it: has none of the tags popular; tag `popular`: no `any` condition matched: upvotes ≥ 100 (upvotes = 25)"), "{text}");
}

#[test]
fn preview_shows_what_would_enter_and_leave() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    // An edited copy of the definitions, not yet live: "speech" narrowed to
    // TTS, and a new "voice" topic.
    let draft = ws.dir.path().join("draft");
    std::fs::create_dir(&draft).unwrap();
    std::fs::copy(ws.feeds.join("sources.toml"), draft.join("sources.toml")).unwrap();
    let rules = FIXTURE_RULES.replace(
        "any = [{ words = [\"speech\", \"TTS\", \"ASR\"] }]",
        "any = [{ words = [\"TTS\", \"text-to-speech\", \"music\"] }]",
    );
    std::fs::write(draft.join("rules.toml"), rules).unwrap();
    let out = ws
        .command()
        .args(["preview", "--topic", "speech", "--feeds"])
        .arg(&draft)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let section = |name: &str| -> Vec<String> {
        let start = text
            .find(name)
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        text[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(str::to_string)
            .collect()
    };
    let leaving = section("would leave");
    assert!(
        leaving
            .iter()
            .any(|l| l.contains("Streaming speech recognition")),
        "{text}"
    );
    assert!(
        !leaving.iter().any(|l| l.contains("Text-to-speech voices")),
        "{text}"
    );
    assert!(text.contains("topic speech (Speech) under"), "{text}");
    // Nothing changed in the store: the live topic is as it was.
    let server = ws.serve();
    let live = parse_feed(&server.get("/speech.atom").body);
    assert!(live.entries.iter().any(|e| e
        .title
        .as_ref()
        .unwrap()
        .content
        .starts_with("Streaming speech")));
}

#[test]
fn inspect_a_page_with_selectors_and_a_defined_source() {
    let (ws, up) = fixture_workspace();
    let text = run_ok(
        &ws,
        &[
            "inspect",
            &up.url("/blog/"),
            "--kind",
            "html",
            "--select",
            "item=article.post",
            "--select",
            "title=h2.post-title",
            "--select",
            "date=time@datetime",
            "--select",
            "author=.author",
        ],
    );
    assert!(
        text.contains("selector matches: item: 4, title: 3, link: 3, date: 1, author: 2"),
        "{text}"
    );
    assert!(text.contains("3 items extracted from"), "{text}");
    assert!(text.contains("Agents that plan before they act"), "{text}");
    // A defined source, by id.
    let text = run_ok(&ws, &["inspect", "robots"]);
    assert!(text.contains("2 items extracted"), "{text}");
    assert!(
        text.contains("Humanoid robot learns to fold laundry"),
        "{text}"
    );
    // A file.
    let file = common::fixture_path("group-blog.synthetic.rdf");
    let text = run_ok(&ws, &["inspect", file.to_str().unwrap()]);
    assert!(text.contains("Streaming speech recognition"), "{text}");
    // Nothing was stored.
    assert!(
        !ws.data.exists() || std::fs::read_dir(&ws.data).map(|d| d.count()).unwrap_or(0) == 0,
        "inspect wrote a store"
    );
    let bad = ws.run(&[
        "inspect",
        &up.url("/blog/"),
        "--kind",
        "html",
        "--select",
        "item=article",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("needs at least --select item=… and --select title=…"));
}

#[test]
fn check_warns_about_rules_that_cannot_match_and_unused_tags() {
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        "[[tag]]\nid = \"a\"\nany = [{ words = [\"a\"] }]\n[[tag]]\nid = \"lonely\"\nany = [{ metric = \"upvotes\", gte = 10, lte = 5 }]\n[[topic]]\nid = \"never\"\ntags = { all = [\"a\"], none = [\"a\"] }\n",
    );
    let text = run_ok(&ws, &["check"]);
    assert!(text.contains("warning: topic `never` can never match: tag `a` is both required (all) and excluded (none)"), "{text}");
    assert!(
        text.contains("warning: tag `lonely` is used by no topic"),
        "{text}"
    );
    assert!(
        text.contains(
            "warning: tag `lonely` can never match: metric `upvotes` must be ≥ 10 and ≤ 5"
        ),
        "{text}"
    );
}
