//! The `/` page: first what is wrong, in words (a reload of the definitions
//! refused, sources failing: see [`super::failures`]); then every topic with
//! its title, description, entry count, last update and links in every
//! format, plus `<link rel="alternate">` autodiscovery, so pasting the
//! server's address into a reader finds the feeds; then every source's
//! health, so an admin sees at a glance what is failing and since when
//! (details on `/status`).
//!
//! The page changes only on a change of state (a topic changed, a source
//! turned healthy, failing, degraded or recovered, new entries arrived, a
//! reload was refused or succeeded), never per poll, so its ETag stays put
//! while nothing happens; its Last-Modified is the latest of those changes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use url::Url;

use super::failures::{self, RejectedReload};
use super::{Format, Rendered, Site, TopicSummary, MIN_MAX_AGE};
use crate::config::{Definitions, Source};
use crate::repairs::Location;
use crate::sanitize::escape_text as esc;
use crate::store::SourceState;

fn time(t: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        t.format("%Y-%m-%d %H:%M UTC")
    )
}

/// One source's row: what it is, whether it works, since when.
fn source_row(source: &crate::config::Source, state: &SourceState) -> String {
    let health = match (&state.last_error, state.last_success) {
        (Some(e), _) => {
            // A store from before `health_since` existed: the last error.
            let since = time(state.health_since.unwrap_or(e.at));
            // SECURITY: words made of the kind, status and place only.
            // Messages carry URLs (with tokens in their query) and
            // upstream bytes; `/status` and the logs have them.
            format!(
                "<strong class=\"failing\">failing</strong> since {since}: {}",
                esc(&failures::words(e)),
            )
        }
        (None, Some(last)) if state.degraded.is_some() => {
            let since = time(state.health_since.unwrap_or(last));
            format!(
                "<strong class=\"failing\">degraded</strong>: {} (polled ok since {since})",
                esc(state.degraded.as_deref().unwrap_or_default())
            )
        }
        (None, Some(last)) if state.repairs.any() => {
            let since = time(state.health_since.unwrap_or(last));
            // The count and where the first repair is; not what it says,
            // which may quote upstream bytes (as error messages may:
            // `/status` has those, `inspect` all).
            let r = &state.repairs;
            let first = r
                .first
                .first()
                .and_then(|f| Location::leading(f))
                .map(|at| format!(", the first at {at}"))
                .unwrap_or_default();
            format!(
                "<strong class=\"failing\">recovered</strong>: {n} {repairs}{first} (polled ok since {since}, {added} entries added)",
                n = r.count,
                repairs = if r.count == 1 { "repair" } else { "repairs" },
                added = state.entries_added,
            )
        }
        (None, Some(last)) => {
            let since = time(state.health_since.unwrap_or(last));
            format!("ok since {since}, {} entries added", state.entries_added)
        }
        (None, None) => "not polled yet".to_string(),
    };
    // The id is worth showing only when the title does not repeat it.
    let id = if source.title == source.id {
        String::new()
    } else {
        format!("{} · ", esc(&source.id))
    };
    // The host only: a source URL may carry a private token in its query,
    // and this page is public.
    format!(
        "  <li><strong>{title}</strong> <small>{id}{kind} · {host}</small><br>\n    <small>{health}</small></li>\n",
        title = esc(&source.title),
        kind = source.kind.name(),
        host = esc(source.url.host_str().unwrap_or_default()),
    )
}

/// Shared page chrome, kept small and readable without any asset.
pub const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}\
a{color:#0645ad}li{margin:.9rem 0}small,.meta{color:#666}h1{font-size:1.6rem}article{margin:1.6rem 0;border-top:1px solid #ddd;padding-top:1rem}h2{font-size:1.2rem;margin-top:2rem}.failing{color:#b00}\
form.filter{display:flex;flex-wrap:wrap;align-items:end;gap:.5rem 1rem;margin:1rem 0;padding:.8rem;background:#f4f4f4}form.filter label{display:flex;flex-direction:column;font-size:.9rem}form.filter small{flex-basis:100%}";

/// What is wrong, at the top of the page: a refused reload, then failing
/// sources (the public ones: `sources`), bounded.
fn problems(reload: Option<&RejectedReload>, sources: &[(&Source, &SourceState)]) -> String {
    let mut out = String::new();
    if let Some(r) = reload {
        out.push_str(&format!(
            "<p class=\"failing\"><strong>The definitions were not reloaded.</strong> At {at}, the files in {folder}/ changed but could not be loaded: {reason}; the previous definitions stay in force.</p>\n",
            at = time(r.at),
            folder = esc(&r.folder),
            reason = esc(&r.reason),
        ));
    }
    if let Some(s) = failures::summary(sources) {
        out.push_str(&format!(
            "<p class=\"failing\"><strong>{}</strong>",
            esc(&s.headline)
        ));
        for line in &s.lines {
            out.push_str(&format!("<br>\n  {}", esc(line)));
        }
        if s.more > 0 {
            out.push_str(&format!("<br>\n  and {} more (see Sources below)", s.more));
        }
        out.push_str("</p>\n");
    }
    out
}

/// A topic's count and date: a topic that never received an entry claims
/// no update time, and one whose every source fails says so.
fn topic_state(s: &TopicSummary, failing: bool) -> String {
    let count = match s.entries {
        0 => "no entries yet".to_string(),
        1 => "1 entry".to_string(),
        n => format!("{n} entries"),
    };
    let updated = match (s.entries, s.updated) {
        (1.., Some(u)) => format!(", updated {}", time(u)),
        _ => String::new(),
    };
    let failing = if failing {
        " — <span class=\"failing\">none of its sources can be read at the moment</span>"
    } else {
        ""
    };
    format!("{count}{updated}{failing}")
}

pub fn render(
    base: &Url,
    defs: &Definitions,
    summary: &[TopicSummary],
    sources: &[SourceState],
    site: Site<'_>,
) -> Rendered {
    let private = defs.rules.private_sources();
    let public: Vec<(&Source, &SourceState)> = defs
        .sources
        .iter()
        .zip(sources)
        .filter(|(s, _)| !private.contains(s.id.as_str()))
        .collect();
    let states: HashMap<&str, &SourceState> = defs
        .sources
        .iter()
        .map(|s| s.id.as_str())
        .zip(sources)
        .collect();
    let reload = match site {
        Site::Served { reload, .. } => reload,
        Site::Exported => None,
    };
    let mut head = String::new();
    let mut rows = String::new();
    for (t, s) in defs.rules.public_topics().zip(summary) {
        let url = |f: Format| format!("{base}{}.{}", t.id, f.extension());
        for f in [Format::Atom, Format::Rss, Format::Json] {
            head.push_str(&format!(
                "  <link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
                f.mime(),
                esc(&t.title),
                esc(&url(f))
            ));
        }
        let taken: Vec<(&Source, &SourceState)> = failures::topic_sources(defs, t)
            .into_iter()
            .filter_map(|src| states.get(src.id.as_str()).map(|st| (src, *st)))
            .collect();
        let failing = failures::all_failing(&taken).is_some();
        rows.push_str(&format!(
            "  <li><a href=\"{preview}\"><strong>{title}</strong></a> — {desc}<br>\n    <small>{state}</small><br>\n    <a href=\"{rss}\">RSS</a> · <a href=\"{atom}\">Atom</a> · <a href=\"{json}\">JSON Feed</a>{digest}</li>\n",
            preview = esc(&format!("{base}{}.html", t.id)),
            title = esc(&t.title),
            desc = esc(&t.description),
            state = topic_state(s, failing),
            rss = esc(&url(Format::Rss)),
            atom = esc(&url(Format::Atom)),
            json = esc(&url(Format::Json)),
            digest = match &t.digest {
                Some(d) => format!(
                    " · {} digest: <a href=\"{}\">Atom</a>",
                    d.period.name(),
                    esc(&format!("{base}{}.digest.atom", t.id))
                ),
                None => String::new(),
            },
        ));
    }
    if rows.is_empty() {
        rows.push_str("  <li>No topics are defined yet: add a <code>[[topic]]</code> to <code>feeds/</code>.</li>\n");
    }
    let mut health = String::new();
    for (source, state) in &public {
        health.push_str(&source_row(source, state));
    }
    match private.len() {
        0 => {}
        1 => health.push_str("  <li>1 source of private topics is not listed.</li>\n"),
        n => health.push_str(&format!(
            "  <li>{n} sources of private topics are not listed.</li>\n"
        )),
    }
    if health.is_empty() {
        health.push_str("  <li>No sources are defined yet.</li>\n");
    }
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>feedloom</title>\n  <style>{STYLE}</style>\n{head}  <link rel=\"outline\" type=\"text/x-opml\" title=\"All topics\" href=\"{opml}\">\n</head>\n<body>\n<h1>feedloom</h1>\n{problems}<p>Subscribe to a topic in your feed reader, or import <a href=\"{opml}\">all topics as OPML</a>.</p>\n<ul>\n{rows}</ul>\n<h2>Sources</h2>\n<p><small>{details}</small></p>\n<ul>\n{health}</ul>\n</body>\n</html>\n",
        opml = esc(&format!("{base}opml.xml")),
        problems = problems(reload, &public),
        details = match site {
            Site::Served { .. } => format!(
                "Details: <a href=\"{}\">status</a> (JSON).",
                esc(&format!("{base}status"))
            ),
            Site::Exported => format!(
                "As of the export, {}.",
                chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
            ),
        },
    );
    let updated = summary
        .iter()
        .filter_map(|s| s.updated)
        .chain(sources.iter().filter_map(|s| s.health_since))
        .chain(reload.map(|r| r.at))
        .max()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH);
    Rendered::new(
        body.into_bytes(),
        "text/html; charset=utf-8",
        updated,
        MIN_MAX_AGE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SourceRepairs;

    fn source() -> crate::config::Source {
        super::failures::tests::source_at("blog", "https://blog.example/feed?token=SECRET")
    }

    #[test]
    fn a_recovered_source_says_how_and_where_escaped() {
        let at = "2026-10-01T10:00:00Z".parse().unwrap();
        let mut state = SourceState {
            last_success: Some(at),
            health_since: Some(at),
            entries_added: 3,
            ..Default::default()
        };
        let ok = source_row(&source(), &state);
        assert!(ok.contains("ok since"), "{ok}");
        assert!(!ok.contains("recovered"), "{ok}");
        state.repairs = SourceRepairs {
            count: 12,
            first: vec!["line 3, col 18: unescaped '&' read as '&amp;'".into()],
        };
        let row = source_row(&source(), &state);
        assert!(
            row.contains("<strong class=\"failing\">recovered</strong>: 12 repairs, the first at line 3, col 18 (polled ok since"),
            "{row}"
        );
        assert!(!row.contains("SECRET"), "{row}");
        state.repairs.count = 1;
        let row = source_row(&source(), &state);
        assert!(row.contains(": 1 repair, the first at line 3"), "{row}");
        // What a repair says may quote upstream bytes: not on this page.
        assert!(!row.contains("unescaped"), "{row}");
        // Failing wins: the repairs are the last good poll's.
        state.last_error = Some(crate::store::SourceError {
            kind: "timeout".into(),
            status: None,
            message: String::new(),
            at,
            place: None,
        });
        let row = source_row(&source(), &state);
        assert!(!row.contains("recovered"), "{row}");
        assert!(
            row.contains("failing</strong> since <time datetime=\"2026-10-01T10:00:00Z\">2026-10-01 10:00 UTC</time>: timed out"),
            "{row}"
        );
    }

    #[test]
    fn what_is_wrong_comes_first_in_words() {
        let at = "2026-10-01T10:00:00Z".parse().unwrap();
        let failing = SourceState {
            health_since: Some(at),
            last_error: Some(crate::store::SourceError {
                kind: "malformed".into(),
                status: Some(200),
                message: "line 3, col 18: <script>MARKER</script>".into(),
                at,
                place: Some(Location {
                    line: 3,
                    column: 18,
                }),
            }),
            ..Default::default()
        };
        let s = source();
        let reload = RejectedReload {
            at,
            folder: "feeds".into(),
            reason: "more.toml: not valid TOML (line 3, column 39)".into(),
            error: "never on this page".into(),
        };
        let top = problems(Some(&reload), &[(&s, &failing)]);
        assert_eq!(
            top,
            "<p class=\"failing\"><strong>The definitions were not reloaded.</strong> At <time datetime=\"2026-10-01T10:00:00Z\">2026-10-01 10:00 UTC</time>, the files in feeds/ changed but could not be loaded: more.toml: not valid TOML (line 3, column 39); the previous definitions stay in force.</p>\n\
             <p class=\"failing\"><strong>Every source is failing:</strong><br>\n  blog.example: the feed is not well-formed (line 3, col 18)</p>\n"
        );
        assert_eq!(problems(None, &[(&s, &SourceState::default())]), "");
    }

    #[test]
    fn an_empty_topic_claims_no_update() {
        let at = Some("2026-10-01T10:00:00Z".parse().unwrap());
        let summary = |entries| TopicSummary {
            entries,
            updated: at,
        };
        assert_eq!(topic_state(&summary(0), false), "no entries yet");
        assert!(topic_state(&summary(0), true)
            .starts_with("no entries yet — <span class=\"failing\">none of its sources"));
        assert!(topic_state(&summary(1), false).starts_with("1 entry, updated <time"));
        assert!(topic_state(&summary(30), false).starts_with("30 entries, updated <time"));
    }
}
