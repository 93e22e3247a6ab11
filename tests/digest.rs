//! Digests, served: the 50 real papers of the captured trending listing,
//! their listing days moved into the last few days (the capture is older
//! than a digest's window), one item per closed day or week.

use feedloom_testkit as common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use common::*;

/// Closed days the papers are spread over: 1, 8 and 15 days ago (UTC), so
/// three weeks hold some, at least two of them closed; every tenth paper is listed today, in the
/// open period.
const DAYS: i64 = 3;

/// Paper `i`'s listing day: `None` for today.
fn day_of(i: usize, today: NaiveDate) -> Option<NaiveDate> {
    match i % 10 {
        9 => None,
        _ => Some(today - Duration::days(1 + 7 * (i as i64 % DAYS))),
    }
}

/// The API response: the real papers, listed on their moved days (at
/// 06:00 UTC; today's at midnight, so never in the future).
fn moved_papers(today: NaiveDate) -> Vec<serde_json::Value> {
    hf_entries()
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            let at = match day_of(i, today) {
                Some(d) => format!("{d}T06:00:00.000Z"),
                None => format!("{today}T00:00:00.000Z"),
            };
            e["paper"]["submittedOnDailyAt"] = at.into();
            e
        })
        .collect()
}

fn served(today: NaiveDate) -> (Workspace, Upstream, Server) {
    let up = Upstream::start();
    up.set(
        "/api/daily_papers?limit=100&p=0",
        Reply::ok(
            "application/json",
            serde_json::to_vec(&moved_papers(today)).unwrap(),
        ),
    );
    let ws = Workspace::new();
    ws.write(
        "feeds.toml",
        &format!(
            "{LOCAL_HOST_RULES}
[[source]]
id = \"hf\"
kind = \"huggingface_papers\"
base_url = \"{}\"
listing = \"daily\"

[[topic]]
id = \"papers\"
title = \"Papers\"
digest = \"daily\"
digest_size = 5

[[topic]]
id = \"weekly\"
digest = \"weekly\"
digest_timezone = \"Pacific/Kiritimati\"

[[topic]]
id = \"plain\"
",
            up.url("/")
        ),
    );
    ws.poll_ok();
    let server = ws.serve();
    (ws, up, server)
}

/// The paper ids an item's HTML links, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter_map(|href| href.split("/papers/").nth(1))
        .map(str::to_string)
        .collect()
}

fn item_html(e: &feed_rs::model::Entry) -> String {
    e.summary
        .as_ref()
        .map(|s| s.content.clone())
        .or_else(|| e.content.as_ref().and_then(|c| c.body.clone()))
        .unwrap_or_default()
}

#[test]
fn a_daily_digest_lists_each_closed_day_best_first() {
    let today = Utc::now().date_naive();
    let (ws, _up, server) = served(today);
    let ups: BTreeMap<String, f64> = hf_upvotes().into_iter().collect();
    let papers: Vec<(String, Option<NaiveDate>)> = hf_entries()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                e["paper"]["id"].as_str().unwrap().to_string(),
                day_of(i, today),
            )
        })
        .collect();

    let r = server.get("/papers.digest.atom");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/atom+xml"));
    jing_atom(ws.dir.path(), "digest.atom", &r.body).unwrap();
    let feed = parse_feed(&r.body);
    assert!(feed.title.unwrap().content.contains("daily digest"));
    // One item per closed day with papers; today's are in none.
    assert_eq!(feed.entries.len(), DAYS as usize);
    for (k, item) in feed.entries.iter().enumerate() {
        let day = today - Duration::days(1 + 7 * k as i64);
        let title = item.title.as_ref().unwrap().content.clone();
        assert!(
            title.contains(&day.format("%-d %B %Y").to_string()),
            "item {k} names its day: {title}"
        );
        // Published when the day closed (midnight UTC after it).
        let closed =
            Utc.from_utc_datetime(&(day + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap());
        assert_eq!(item.published, Some(closed), "{title}");
        let of_day: Vec<&String> = papers
            .iter()
            .filter(|(_, d)| *d == Some(day))
            .map(|(id, _)| id)
            .collect();
        assert!(
            title.contains(&format!("({} entries)", of_day.len())),
            "{title}"
        );
        // The five most upvoted of that day, most first; the rest counted.
        let html = item_html(item);
        let shown = listed(&html);
        assert_eq!(shown.len(), 5, "{html}");
        assert!(shown.iter().all(|id| of_day.contains(&id)), "{html}");
        let mut best: Vec<f64> = of_day.iter().map(|id| ups[*id]).collect();
        best.sort_by(|a, b| b.total_cmp(a));
        let shown_ups: Vec<f64> = shown.iter().map(|id| ups[id]).collect();
        assert_eq!(shown_ups, best[..5], "{title}");
        assert!(
            html.contains(&format!("And {} more", of_day.len() - 5)),
            "{html}"
        );
        // Counts and the TL;DR line are there, escaped.
        assert!(
            html.contains(&format!("{} upvotes", shown_ups[0])),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }
    let atom_ids: Vec<String> = feed.entries.iter().map(|e| e.id.clone()).collect();

    // The same items, with the same ids, in RSS and JSON Feed.
    for ext in ["rss", "json"] {
        let r = server.get(&format!("/papers.digest.{ext}"));
        assert_eq!(r.status, 200);
        let f = parse_feed(&r.body);
        let ids: Vec<String> = f.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, atom_ids, "{ext}");
    }

    // Ids and bytes are stable: after a restart and another poll (upvotes
    // moved) the items keep their ids.
    let etag = r.header("etag").unwrap().to_string();
    assert_eq!(
        server.get("/papers.digest.atom").header("etag"),
        Some(etag.as_str())
    );
    drop(server);
    ws.poll_ok();
    let server = ws.serve();
    let again = parse_feed(&server.get("/papers.digest.atom").body);
    let ids: Vec<String> = again.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, atom_ids);
    let distinct: BTreeSet<&String> = atom_ids.iter().collect();
    assert_eq!(distinct.len(), atom_ids.len());
}

#[test]
fn weekly_digests_follow_their_time_zone_and_bad_requests_are_named() {
    let today = Utc::now().date_naive();
    let (_ws, _up, server) = served(today);
    // Weeks begin on Monday in Kiritimati (UTC+14): a paper listed at
    // 06:00 UTC on day D is listed at 20:00 on day D there.
    let tz: chrono_tz::Tz = "Pacific/Kiritimati".parse().unwrap();
    let local_today = Utc::now().with_timezone(&tz).date_naive();
    let this_monday =
        local_today - Duration::days(local_today.weekday().num_days_from_monday().into());
    let week_start = tz
        .from_local_datetime(&this_monday.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let mut closed: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for i in 0..hf_entries().len() {
        let Some(d) = day_of(i, today) else { continue };
        let at: DateTime<Utc> = Utc.from_utc_datetime(&d.and_hms_opt(6, 0, 0).unwrap());
        if at < week_start {
            let local = at.with_timezone(&tz).date_naive();
            let monday = local - Duration::days(local.weekday().num_days_from_monday().into());
            *closed.entry(monday).or_default() += 1;
        }
    }
    assert!(
        closed.len() >= 2,
        "the papers span closed weeks: {closed:?}"
    );
    let r = server.get("/weekly.digest.json");
    assert_eq!(r.status, 200, "{}", r.text());
    let feed = parse_feed(&r.body);
    assert_eq!(feed.entries.len(), closed.len(), "{closed:?}");
    for (item, (monday, n)) in feed.entries.iter().zip(closed.iter().rev()) {
        let title = item.title.as_ref().unwrap().content.clone();
        assert!(
            title.contains(&format!("week {} of", monday.iso_week().week())),
            "{title}"
        );
        assert!(title.contains(&format!("({n} entr")), "{title}");
        // Up to the default 20 listed.
        assert_eq!(listed(&item_html(item)).len(), (*n).min(20), "{title}");
    }

    // The index links each digest.
    let index = server.get("/").text();
    assert!(index.contains("/papers.digest.atom") && index.contains("/weekly.digest.atom"));
    assert!(!index.contains("/plain.digest.atom"));

    // A topic without a digest, an unknown topic, a parameter: named.
    let r = server.get("/plain.digest.atom");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("has no digest"), "{}", r.text());
    assert_eq!(server.get("/nothing.digest.atom").status, 404);
    let r = server.get("/papers.digest.atom?limit=5");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("`limit`"), "{}", r.text());
    assert_eq!(server.get("/papers.digest.html").status, 404);
}

#[test]
fn bad_digest_settings_name_the_file_and_field() {
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/\"\n\n[[topic]]\nid = \"t\"\ndigest = \"daily\"\ndigest_timezone = \"Europe/Atlantis\"\n",
    );
    let out = ws.run(&["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("d.toml")
            && err.contains("digest_timezone")
            && err.contains("Europe/Atlantis"),
        "{err}"
    );
    ws.write(
        "d.toml",
        "[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/\"\n\n[[topic]]\nid = \"t\"\ndigest = \"hourly\"\n",
    );
    let out = ws.run(&["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("d.toml") && err.contains("hourly"), "{err}");
}
