//! `explain`, `preview`, `inspect` and `check`'s warnings: the tools an
//! admin uses to get rules and selectors right.

use feedloom_testkit as common;

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
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("--select: missing field `title`"),
        "{stderr}"
    );
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

/// The admin-only view: the same explanation over HTTP, only with the
/// configured bearer token, and no trace of it without one.
#[test]
fn the_admin_view_explains_behind_a_token() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let cli = run_ok(&ws, &["explain", "2412.20138"]);

    let plain_server = ws.serve();
    let r = plain_server.get("/admin/explain?q=2412.20138");
    assert_eq!(r.status, 404, "no token configured: no admin views");
    drop(plain_server);
    // An empty token (a variable set to nothing) is no token, not an error.
    let empty = ws.serve_with(&["--admin-token", ""]);
    assert_eq!(empty.get("/admin/explain?q=2412.20138").status, 404);
    drop(empty);

    let too_short = ws.run(&["serve", "--bind", "127.0.0.1:0", "--admin-token", "secret"]);
    assert!(!too_short.status.success());
    assert!(
        String::from_utf8_lossy(&too_short.stderr)
            .contains("--admin-token / FEEDLOOM_ADMIN_TOKEN: too short"),
        "{}",
        String::from_utf8_lossy(&too_short.stderr)
    );

    let token = "a-long-enough-admin-token";
    let server = ws.serve_with(&["--admin-token", token]);
    let path = "/admin/explain?q=2412.20138";
    let anonymous = server.get(path);
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"feedloom admin\"")
    );
    assert!(!anonymous.text().contains("entry urn:uuid:"));
    let wrong = http(
        server.addr,
        "GET",
        path,
        &[("Authorization", "Bearer a-long-enough-admin-tokem")],
    );
    assert_eq!(wrong.status, 401);

    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let r = http(server.addr, "GET", path, &auth);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // The same report as the command (bar the wording of "now"-relative
    // date windows, which these rules do not use).
    assert_eq!(r.text(), cli);

    let by_link = http(
        server.addr,
        "GET",
        "/admin/explain?q=https%3A%2F%2Fgroup.example.net%2Fblog%2Ftts-voices",
        &auth,
    );
    assert_eq!(by_link.status, 200);
    assert!(
        by_link.text().contains("speech: any[0] words matched"),
        "{}",
        by_link.text()
    );
    let missing = http(server.addr, "GET", "/admin/explain?q=2999.00001", &auth);
    assert_eq!(missing.status, 404);
    assert!(missing
        .text()
        .contains("no stored entry matches `2999.00001`"));
    assert_eq!(
        http(server.addr, "GET", "/admin/explain", &auth).status,
        400
    );
    assert_eq!(http(server.addr, "GET", "/admin/other", &auth).status, 404);
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("feedloom_http_requests_total{route=\"admin\",status=\"401\"} 2\n"),
        "{metrics}"
    );
}
