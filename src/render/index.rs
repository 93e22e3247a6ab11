//! The `/` page: every topic with its subscribe links, plus `<link
//! rel="alternate">` autodiscovery so pasting the server's address into a
//! reader finds the feeds.

use url::Url;

use super::{Format, Rendered};
use crate::rules::RuleSet;
use crate::sanitize::escape_text as esc;
use crate::store::Store;

pub fn render(base: &Url, rules: &RuleSet, store: &Store) -> Rendered {
    let mut head = String::new();
    let mut rows = String::new();
    for t in &rules.topics {
        let rss = format!("{base}{}.{}", t.id, Format::Rss.extension());
        let atom = format!("{base}{}.{}", t.id, Format::Atom.extension());
        for (href, format) in [(&rss, Format::Rss), (&atom, Format::Atom)] {
            head.push_str(&format!(
                "  <link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
                format.mime(),
                esc(&t.title),
                esc(href)
            ));
        }
        rows.push_str(&format!(
            "  <li><strong>{}</strong> — {} <small>({} entries)</small><br>\n    <a href=\"{}\">RSS</a> · <a href=\"{}\">Atom</a></li>\n",
            esc(&t.title),
            esc(&t.description),
            store.topic_len(&t.id),
            esc(&rss),
            esc(&atom),
        ));
    }
    if rows.is_empty() {
        rows.push_str("  <li>No topics are defined yet: add a <code>[[topic]]</code> to <code>feeds/</code>.</li>\n");
    }
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>feedloom</title>\n{head}</head>\n<body>\n<h1>feedloom</h1>\n<p>Subscribe to a topic in your feed reader.</p>\n<ul>\n{rows}</ul>\n</body>\n</html>\n"
    );
    Rendered::new(
        body.into_bytes(),
        "text/html; charset=utf-8",
        chrono::Utc::now(),
    )
}
