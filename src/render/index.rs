//! The `/` page: every topic with its title, description, entry count, last
//! update and links in every format, plus `<link rel="alternate">`
//! autodiscovery, so pasting the server's address into a reader finds the
//! feeds.

use url::Url;

use super::{Format, Rendered, TopicSummary, MIN_MAX_AGE};
use crate::config::Definitions;
use crate::sanitize::escape_text as esc;

/// Shared page chrome, kept small and readable without any asset.
pub const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}\
a{color:#0645ad}li{margin:.9rem 0}small,.meta{color:#666}h1{font-size:1.6rem}article{margin:1.6rem 0;border-top:1px solid #ddd;padding-top:1rem}";

pub fn render(base: &Url, defs: &Definitions, summary: &[TopicSummary]) -> Rendered {
    let mut head = String::new();
    let mut rows = String::new();
    for (t, s) in defs.rules.topics.iter().zip(summary) {
        let url = |f: Format| format!("{base}{}.{}", t.id, f.extension());
        for f in [Format::Atom, Format::Rss, Format::Json] {
            head.push_str(&format!(
                "  <link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
                f.mime(),
                esc(&t.title),
                esc(&url(f))
            ));
        }
        let updated = s
            .updated
            .map(|u| {
                format!(
                    ", updated <time datetime=\"{}\">{}</time>",
                    u.to_rfc3339(),
                    u.format("%Y-%m-%d %H:%M UTC")
                )
            })
            .unwrap_or_default();
        rows.push_str(&format!(
            "  <li><a href=\"{preview}\"><strong>{title}</strong></a> — {desc}<br>\n    <small>{n} entries{updated}</small><br>\n    <a href=\"{rss}\">RSS</a> · <a href=\"{atom}\">Atom</a> · <a href=\"{json}\">JSON Feed</a></li>\n",
            preview = esc(&format!("{base}{}.html", t.id)),
            title = esc(&t.title),
            desc = esc(&t.description),
            n = s.entries,
            rss = esc(&url(Format::Rss)),
            atom = esc(&url(Format::Atom)),
            json = esc(&url(Format::Json)),
        ));
    }
    if rows.is_empty() {
        rows.push_str("  <li>No topics are defined yet: add a <code>[[topic]]</code> to <code>feeds/</code>.</li>\n");
    }
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>feedloom</title>\n  <style>{STYLE}</style>\n{head}  <link rel=\"outline\" type=\"text/x-opml\" title=\"All topics\" href=\"{opml}\">\n</head>\n<body>\n<h1>feedloom</h1>\n<p>Subscribe to a topic in your feed reader, or import <a href=\"{opml}\">all topics as OPML</a>.</p>\n<ul>\n{rows}</ul>\n</body>\n</html>\n",
        opml = esc(&format!("{base}opml.xml")),
    );
    let updated = summary
        .iter()
        .filter_map(|s| s.updated)
        .max()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH);
    Rendered::new(
        body.into_bytes(),
        "text/html; charset=utf-8",
        updated,
        MIN_MAX_AGE,
    )
}
