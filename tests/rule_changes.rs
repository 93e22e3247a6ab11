//! When tag rules or topics change, the store follows: on restart, on
//! SIGHUP and on a file change while serving. A bad reload keeps the old
//! rules in force.

use feedloom_testkit as common;

use std::collections::BTreeMap;

use common::*;

/// id → (title, published) of a topic's entries.
fn topic(server: &Server, id: &str) -> BTreeMap<String, (String, String)> {
    let feed = parse_feed(&server.get(&format!("/{id}.atom?limit=500")).body);
    feed.entries
        .into_iter()
        .map(|e| {
            (
                e.id,
                (e.title.unwrap().content, e.published.unwrap().to_rfc3339()),
            )
        })
        .collect()
}

const SPEECH_TOPIC: &str = "\n[[topic]]\nid = \"voice\"\ntags = { any = [\"speech\"] }\n";

#[test]
fn restart_applies_new_and_changed_topics_without_changing_entries() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let before = {
        let s = ws.serve();
        (topic(&s, "all"), topic(&s, "llm"))
    };

    // A new topic, and the llm tag narrowed to titles only.
    ws.write("more.toml", SPEECH_TOPIC);
    let rules = FIXTURE_RULES.replace(
        "any = [{ words = [\"LLM\", \"LLMs\", \"language model\", \"language models\", \"large language model\"] }]",
        "any = [{ words = [\"LLM\", \"LLMs\"], fields = [\"title\"] }]",
    );
    assert_ne!(rules, FIXTURE_RULES);
    ws.write("rules.toml", &rules);
    let server = ws.serve();
    // The server answers at once and re-evaluates the store in the
    // background; it is ready when that (and the first poll) is done.
    assert_eq!(server.get("/healthz").status, 200);
    server.wait_ready();
    let voice = topic(&server, "voice");
    assert_eq!(
        voice,
        topic(&server, "speech"),
        "the new topic holds the stored speech entries"
    );
    assert!(voice.len() >= 2, "{voice:?}");
    let all = topic(&server, "all");
    assert_eq!(all, before.0, "ids, titles and dates never change");
    for (id, v) in &voice {
        assert_eq!(all.get(id), Some(v));
    }
    let llm = topic(&server, "llm");
    assert!(
        llm.len() < before.1.len(),
        "narrowed tag: {} → {}",
        before.1.len(),
        llm.len()
    );
    assert!(llm.values().all(|(t, _)| t.contains("LLM")), "{llm:?}");
    // Entries that newly match sit at their own dates, not on top as news.
    let feed = parse_feed(&server.get("/voice.atom").body);
    let newest = feed.entries[0].published.unwrap();
    assert!(
        newest < chrono::Utc::now() - chrono::Duration::days(30),
        "old entries entered as new: {newest}"
    );
}

#[test]
fn a_removed_topic_added_back_gets_its_entries_back() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let speech = topic(&ws.serve(), "speech");
    assert!(!speech.is_empty());
    ws.write(
        "rules.toml",
        &FIXTURE_RULES.replace(
            "[[topic]]\nid = \"speech\"\ntitle = \"Speech\"\ntags = { any = [\"speech\"] }\n",
            "",
        ),
    );
    assert_eq!(ws.serve().get("/speech.atom").status, 404);
    ws.write("rules.toml", FIXTURE_RULES);
    let server = ws.serve();
    server.wait_ready();
    assert_eq!(topic(&server, "speech"), speech);
}

#[test]
fn reload_on_sighup_and_on_file_change_and_bad_reloads_keep_the_old_rules() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    server.wait_ready();
    assert_eq!(server.get("/voice.atom").status, 404);

    // A file change is picked up by itself.
    ws.write("more.toml", SPEECH_TOPIC);
    eventually("the new topic", || server.get("/voice.atom").status == 200);
    let speech = topic(&server, "speech");
    assert_eq!(topic(&server, "voice"), speech);
    assert!(
        server.get("/").text().contains("voice.atom"),
        "the index is re-rendered"
    );

    // A typo is rejected; the server keeps serving the old definitions.
    ws.write(
        "more.toml",
        "[[topic]]\nid = \"voice\"\ntags = { any = [\"speach\"] }\n",
    );
    eventually("the rejected reload", || {
        server
            .get("/metrics")
            .text()
            .contains("feedloom_reloads_total{result=\"rejected\"} 1")
    });
    assert_eq!(topic(&server, "voice"), speech, "old rules still in force");
    assert_eq!(server.get("/healthz").status, 200);

    // SIGHUP reloads too (here after fixing the file without a visible
    // mtime change being needed).
    let rules = FIXTURE_RULES.replace(
        "id = \"speech\"\nany = [{ words = [\"speech\", \"TTS\", \"ASR\"] }]",
        "id = \"speech\"\nany = [{ words = [\"TTS\"] }]",
    );
    assert_ne!(rules, FIXTURE_RULES);
    ws.write("rules.toml", &rules);
    ws.write("more.toml", SPEECH_TOPIC);
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    eventually("the narrowed speech topic", || {
        topic(&server, "voice").len() == 1
    });
    assert_eq!(topic(&server, "speech").len(), 1);
    assert!(server
        .get("/metrics")
        .text()
        .contains("feedloom_reloads_total{result=\"ok\"}"));
}
