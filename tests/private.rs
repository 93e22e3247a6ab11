//! Private topics: served only at `/p/{token}/…`, found nowhere else, the
//! token made and replaced by `feedloom token` (and `/admin/token` while
//! serving), never logged or counted by path.

use feedloom_testkit as common;

use common::*;

const ADMIN: &str = "0123456789abcdef0123456789abcdef";

/// The fixture upstream; topic `public` takes arXiv, private topic `mine`
/// takes the lab's Atom feed (3 entries that are in no public topic).
fn workspace() -> (Workspace, Upstream) {
    let up = Upstream::start();
    serve_fixtures(&up);
    let ws = Workspace::new();
    ws.write("sources.toml", &fixture_sources(&up));
    ws.write(
        "topics.toml",
        "[[topic]]\nid = \"public\"\nsources = [\"arxiv\"]\n\n\
         [[topic]]\nid = \"mine\"\ntitle = \"My lab\"\nsources = [\"lab\"]\nprivate = true\ndigest = \"daily\"\n",
    );
    (ws, up)
}

/// The token in `feedloom token`'s (or `/admin/token`'s) answer.
fn token_in(text: &str) -> String {
    let start = text.find("/p/").expect("a private URL") + 3;
    let token = &text[start..start + 32];
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    assert!(text.contains(&format!("/p/{token}/mine.atom")), "{text}");
    token.to_string()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn private_topics_are_found_only_with_their_token() {
    let (ws, _up) = workspace();
    // Only a private topic has a token.
    let public = ws.run(&["token", "public"]);
    assert!(!public.status.success());
    assert!(String::from_utf8_lossy(&public.stderr).contains("topic `public` is public"));
    let unknown = ws.run(&["token", "nope"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no topic `nope`"));

    ws.poll_ok();
    let printed = stdout(&ws.run(&["token", "mine", "--base-url", "https://feeds.example/"]));
    let token = token_in(&printed);
    for ext in ["rss", "atom", "json", "html"] {
        assert!(printed.contains(&format!("https://feeds.example/p/{token}/mine.{ext}\n")));
    }
    // Asked again: the same token.
    assert_eq!(token_in(&stdout(&ws.run(&["token", "mine"]))), token);

    let log = ws.dir.path().join("serve.log");
    let server = ws.serve_logging_to(&log, &["--admin-token", ADMIN]);

    // Its public URLs answer exactly as a topic that does not exist.
    for ext in ["rss", "atom", "json", "html"] {
        let hidden = server.get(&format!("/mine.{ext}"));
        let absent = server.get(&format!("/nothere.{ext}"));
        assert_eq!(hidden.status, 404);
        assert_eq!(
            hidden.text().replace("mine", "X"),
            absent.text().replace("nothere", "X")
        );
        assert_eq!(hidden.header("content-type"), absent.header("content-type"));
    }
    // Its digest too.
    let hidden = server.get("/mine.digest.atom");
    let absent = server.get("/nothere.digest.atom");
    assert_eq!(hidden.status, 404);
    assert_eq!(
        hidden.text().replace("mine", "X"),
        absent.text().replace("nothere", "X")
    );
    // Not on the index, the OPML or /search; the public topic still is.
    let index = server.get("/").text();
    assert!(index.contains("public.atom") && !index.contains("mine") && !index.contains("My lab"));
    // Nor is the source only the private topic takes (it would say what
    // the topic follows); the others are, with their health.
    assert!(!index.contains("<strong>lab</strong>"), "{index}");
    assert!(index.contains("<strong>arxiv</strong>") && index.contains("<strong>group</strong>"));
    assert!(index.contains("1 source of private topics is not listed."));
    let status = server.get("/status").text();
    assert!(
        !status.contains("\"lab\"") && !status.contains("lab.atom"),
        "{status}"
    );
    assert!(status.contains("\"id\": \"arxiv\""), "{status}");
    assert!(status.contains("\"private_sources\": 1"), "{status}");
    let opml = server.get("/opml.xml").text();
    assert!(opml.contains("public.rss") && !opml.contains("mine"));
    let lab_titles: Vec<String> = parse_feed(&fixture("lab-news.synthetic.atom"))
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(lab_titles.len(), 3);
    let search = server.get("/search.atom?limit=500");
    assert_eq!(search.status, 200);
    // Entries in no topic are searchable; the private topic's are not.
    assert!(parse_feed(&search.body).entries.len() >= 20);
    for t in &lab_titles {
        assert!(!search.text().contains(t.as_str()), "/search shows {t}");
    }
    // Nor is its source known there.
    let lab = server.get("/search.atom?source=lab");
    assert_eq!(lab.status, 400);
    assert_eq!(lab.text(), "`source`: unknown source `lab`\n");

    // With the token: the topic, in every format, queries included.
    let atom = server.get(&format!("/p/{token}/mine.atom"));
    assert_eq!(atom.status, 200);
    let feed = parse_feed(&atom.body);
    assert_eq!(feed.entries.len(), 3);
    let self_link = format!("http://{}/p/{token}/mine.atom", server.addr);
    assert!(atom.text().contains(&self_link), "{}", atom.text());
    assert!(
        !atom.text().contains("rel=\"hub\""),
        "a private feed names no hub"
    );
    assert!(atom.header("link").is_none());
    assert!(
        atom.header("cache-control").unwrap().starts_with("private"),
        "{:?}",
        atom.header("cache-control")
    );
    assert_eq!(atom.header("x-robots-tag"), Some("noindex"));
    jing_atom(ws.dir.path(), "mine.atom", &atom.body).unwrap();
    // The digest, under the token, with the same headers.
    let digest = server.get(&format!("/p/{token}/mine.digest.atom"));
    assert_eq!(digest.status, 200, "{}", digest.text());
    let digest_self = format!("http://{}/p/{token}/mine.digest.atom", server.addr);
    assert!(digest.text().contains(&digest_self), "{}", digest.text());
    assert!(digest
        .header("cache-control")
        .unwrap()
        .starts_with("private"));
    assert_eq!(digest.header("x-robots-tag"), Some("noindex"));
    jing_atom(ws.dir.path(), "mine.digest.atom", &digest.body).unwrap();
    for ext in ["rss", "json", "html"] {
        let r = server.get(&format!("/p/{token}/mine.{ext}"));
        assert_eq!(r.status, 200, "{ext}");
        assert_eq!(r.header("x-robots-tag"), Some("noindex"));
    }
    assert!(!server
        .get(&format!("/p/{token}/mine.html"))
        .text()
        .contains("All topics"));
    let one = server.get(&format!("/p/{token}/mine.atom?limit=1"));
    assert_eq!(parse_feed(&one.body).entries.len(), 1);
    let first_word = lab_titles[0].split_whitespace().next().unwrap();
    let asked = server.get(&format!("/p/{token}/mine.atom?q={first_word}"));
    assert_eq!(asked.status, 200);
    assert!(!parse_feed(&asked.body).entries.is_empty());
    assert!(asked.text().contains(&format!(
        "/p/{token}/mine.atom?q={}",
        first_word.to_lowercase()
    )));

    // A wrong token, another topic under the token, /search or the index
    // under it: a plain 404 that says nothing about which part was wrong.
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).unwrap();
    for path in [
        format!("/p/{wrong}/mine.atom"),
        format!("/p/{}/mine.atom", &token[..31]),
        format!("/p/{token}/public.atom"),
        format!("/p/{token}/search.atom"),
        format!("/p/{token}/nothere.atom"),
        format!("/p/{token}/"),
    ] {
        let r = server.get(&path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.text(), "not found\n", "{path}");
    }

    // Rotating while serving: the old URLs answer 404, the new ones work.
    let bearer = format!("Bearer {ADMIN}");
    let rotated = http(
        server.addr,
        "POST",
        "/admin/token?topic=mine",
        &[("authorization", &bearer)],
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new_token = token_in(&rotated.text());
    assert_ne!(new_token, token);
    assert_eq!(server.get(&format!("/p/{token}/mine.atom")).status, 404);
    assert_eq!(server.get(&format!("/p/{new_token}/mine.atom")).status, 200);
    let unauthorized = http(server.addr, "POST", "/admin/token?topic=mine", &[]);
    assert_eq!(unauthorized.status, 401);

    // Neither token is counted by path or logged.
    let metrics = server.get("/metrics").text();
    // Nor is the private topic named to anyone without the admin token.
    let status = server.get("/status").text();
    assert!(
        !metrics.contains("\"mine\"") && !status.contains("mine"),
        "{metrics}\n{status}"
    );
    assert!(server.terminate());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.is_empty(), "the server logged at debug level");
    for t in [&token, &new_token] {
        assert!(!metrics.contains(t.as_str()));
        assert!(!logged.contains(t.as_str()), "a token in the log");
    }

    // The CLI sees the rotated token; `export` leaves the topic out.
    assert_eq!(token_in(&stdout(&ws.run(&["token", "mine"]))), new_token);
    let out = ws.dir.path().join("out");
    stdout(&ws.run(&["export", out.to_str().unwrap()]));
    assert!(out.join("public.atom").exists());
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("mine")), "{names:?}");
    // `--rotate` from the CLI replaces it too.
    let again = token_in(&stdout(&ws.run(&["token", "mine", "--rotate"])));
    assert_ne!(again, new_token);
}

/// A source counts as private only when no public topic can take its
/// entries: a public topic without a `sources` list takes every source.
#[test]
fn a_source_is_private_only_when_no_public_topic_takes_it() {
    let ws = Workspace::new();
    let sources = "[[source]]\nid = \"a\"\nkind = \"feed\"\nurl = \"https://a.example/f\"\n\n[[source]]\nid = \"b\"\nkind = \"feed\"\nurl = \"https://b.example/f\"\n";
    let private = |topics: &str| {
        ws.write("d.toml", &format!("{sources}\n{topics}"));
        let defs = feedloom::config::load(&ws.feeds).unwrap();
        let mut p: Vec<String> = defs
            .rules
            .private_sources()
            .into_iter()
            .map(String::from)
            .collect();
        p.sort();
        p
    };
    let mine = "[[topic]]\nid = \"mine\"\nsources = [\"a\"]\nprivate = true\n";
    assert_eq!(
        private(&format!(
            "{mine}[[topic]]\nid = \"pub\"\nsources = [\"b\"]\n"
        )),
        ["a"]
    );
    assert!(private(&format!(
        "{mine}[[topic]]\nid = \"pub\"\nsources = [\"a\", \"b\"]\n"
    ))
    .is_empty());
    assert!(private(&format!("{mine}[[topic]]\nid = \"all\"\n")).is_empty());
}

/// A source only a private topic takes, on a host of its own (127.0.0.2),
/// with one entry the topic takes (`widget`) and one it does not
/// (`gadget`, in no topic at all).
fn hidden_source_workspace() -> (Workspace, Upstream, Upstream) {
    let up = Upstream::start();
    serve_fixtures(&up);
    let hidden = Upstream::start_on("127.0.0.2");
    hidden.set(
        "/notes.atom",
        Reply::ok(
            "application/atom+xml",
            r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Notes</title><id>urn:notes</id><updated>2026-01-02T00:00:00Z</updated>
<entry><title>Quarterly widget plans</title><id>urn:notes:1</id><link href="http://127.0.0.2/1"/><updated>2026-01-02T00:00:00Z</updated><summary>Internal widget roadmap.</summary></entry>
<entry><title>Gadget budget draft</title><id>urn:notes:2</id><link href="http://127.0.0.2/2"/><updated>2026-01-01T00:00:00Z</updated><summary>Internal gadget numbers.</summary></entry>
</feed>"#,
        ),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            "{}\n[[source]]\nid = \"hidden\"\nkind = \"feed\"\nurl = \"{}\"\n",
            fixture_sources(&up),
            hidden.url("/notes.atom")
        ),
    );
    ws.write(
        "topics.toml",
        "[[tag]]\nid = \"widget\"\nany = [{ words = [\"widget\"] }]\n\n\
         [[topic]]\nid = \"public\"\nsources = [\"arxiv\"]\n\n\
         [[topic]]\nid = \"mine\"\nsources = [\"hidden\"]\ntags = { any = [\"widget\"] }\nprivate = true\ndigest = \"daily\"\n",
    );
    (ws, up, hidden)
}

/// Status, body and headers (all but `Date`), for comparing two answers.
fn answer(r: &HttpResponse) -> (u16, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    headers.sort();
    (r.status, r.text(), headers)
}

/// Whatever the query, a private topic's URLs (public, or under a wrong
/// token) answer byte for byte like those of a topic that does not exist;
/// a source only private topics take is, to the public, a source that
/// does not exist: `source=` refuses it like an unknown one, `/search`
/// never shows its entries (not even those in no topic), and `/status`
/// names neither it nor its host.
#[test]
fn private_topics_and_their_sources_answer_like_absent_ones() {
    let (ws, _up, _hidden) = hidden_source_workspace();
    let token = token_in(&stdout(&ws.run(&["token", "mine"])));
    // The server polls every source (and so contacts every host) itself.
    let server = ws.serve();
    server.wait_ready();
    let wrong = "0".repeat(32);
    // Names of the same length as the hidden ones, so that lengths match.
    assert_ne!(wrong, token);

    let queries = [
        "",
        "?limit=0",
        "?limit=x",
        "?limit=1",
        "?tag=nope",
        "?bogus=1",
        "?q=widget",
        "?source=hidden",
        "?limit=1&limit=1",
    ];
    for suffix in ["rss", "atom", "json", "html", "digest.atom", "digest.json"] {
        for q in queries {
            let public = |topic: &str| {
                let r = server.get(&format!("/{topic}.{suffix}{q}"));
                let (status, body, headers) = answer(&r);
                (status, body.replace(topic, "X"), headers)
            };
            assert_eq!(public("mine"), public("zzzz"), "/mine.{suffix}{q}");
            let under =
                |topic: &str| answer(&server.get(&format!("/p/{wrong}/{topic}.{suffix}{q}")));
            let (hidden, absent) = (under("mine"), under("zzzz"));
            assert_eq!(hidden, absent, "/p/…/mine.{suffix}{q}");
            assert_eq!(hidden.0, 404);
        }
    }

    // `source=` of a private-only source: refused like an unknown one,
    // wherever it is asked and whatever follows it.
    for (path, rest) in [
        ("/search.atom", ""),
        ("/search.html", ""),
        ("/public.atom", ""),
        ("/search.atom", "&tag=nope"),
        ("/public.json", "&limit=0"),
    ] {
        let asked = |source: &str| {
            let (status, body, headers) =
                answer(&server.get(&format!("{path}?source={source}{rest}")));
            (status, body.replace(source, "X"), headers)
        };
        let (hidden, absent) = (asked("hidden"), asked("absent"));
        assert_eq!(hidden, absent, "{path}?source=hidden{rest}");
        assert_eq!(hidden.0, 400, "{}", hidden.1);
    }
    // Its entries are nowhere public: neither the one in the private
    // topic nor the one in no topic.
    for path in [
        "/search.atom?limit=500",
        "/search.atom?q=gadget",
        "/search.atom?q=widget",
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}");
        for e in parse_feed(&r.body).entries {
            let title = e.title.map(|t| t.content).unwrap_or_default();
            assert!(!title.contains("widget"), "{path} shows {title}");
            assert!(!title.contains("Gadget"), "{path} shows {title}");
        }
        assert!(!r.text().contains("127.0.0.2"), "{path}");
    }
    // /status counts the source, and names neither it nor its host.
    let status = server.get("/status").text();
    assert!(status.contains("\"private_sources\": 1"), "{status}");
    assert!(status.contains("\"id\": \"arxiv\""), "{status}");
    for word in ["hidden", "127.0.0.2", "notes"] {
        assert!(!status.contains(word), "/status names {word}:\n{status}");
    }

    // The token's holder still has it all, `source=` included.
    let mine = server.get(&format!("/p/{token}/mine.atom?source=hidden"));
    assert_eq!(mine.status, 200, "{}", mine.text());
    let titles: Vec<String> = parse_feed(&mine.body)
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(titles, ["Quarterly widget plans"]);
    assert_eq!(
        server.get(&format!("/p/{token}/mine.atom?limit=0")).status,
        400
    );
}
