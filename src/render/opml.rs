//! OPML 2.0 (<http://opml.org/spec2.opml>) of every topic, so a reader can
//! subscribe to all of them in one import.

use url::Url;

use super::{Format, Rendered, TopicSummary, MAX_MAX_AGE};
use crate::config::Definitions;
use crate::sanitize::escape_text as esc;

pub fn render(base: &Url, defs: &Definitions, summary: &[TopicSummary]) -> Rendered {
    let updated = summary
        .iter()
        .filter_map(|s| s.updated)
        .max()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n  <head>\n",
    );
    out.push_str("    <title>feedloom topics</title>\n");
    out.push_str(&format!(
        "    <dateModified>{}</dateModified>\n",
        updated.to_rfc2822()
    ));
    out.push_str(&format!("    <ownerId>{}</ownerId>\n", esc(base.as_str())));
    out.push_str("  </head>\n  <body>\n");
    for t in defs.rules.public_topics() {
        out.push_str(&format!(
            "    <outline type=\"rss\" text=\"{title}\" title=\"{title}\" description=\"{desc}\" xmlUrl=\"{xml}\" htmlUrl=\"{html}\"/>\n",
            title = esc(&t.title),
            desc = esc(&t.description),
            xml = esc(&format!("{base}{}.{}", t.id, Format::Rss.extension())),
            html = esc(&format!("{base}{}.html", t.id)),
        ));
    }
    out.push_str("  </body>\n</opml>\n");
    Rendered::new(
        out.into_bytes(),
        "text/x-opml; charset=utf-8",
        updated,
        super::MIN_MAX_AGE.max(MAX_MAX_AGE / 12),
    )
}
