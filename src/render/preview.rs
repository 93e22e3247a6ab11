//! `/{topic}.html`: what a topic holds, readable in a browser, with subscribe
//! links and autodiscovery.

use super::{describe, FeedContext, Format, Rendered};
use crate::model::Entry;
use crate::sanitize::escape_text as esc;

pub fn render(ctx: &FeedContext, entries: &[Entry], total: usize) -> Rendered {
    let t = ctx.topic;
    let mut head = String::new();
    let mut links = Vec::new();
    for f in [Format::Atom, Format::Rss, Format::Json] {
        head.push_str(&format!(
            "  <link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
            f.mime(),
            esc(&t.title),
            esc(&ctx.feed_url(f))
        ));
        links.push(format!(
            "<a href=\"{}\">{}</a>",
            esc(&ctx.feed_url(f)),
            f.label()
        ));
    }
    let mut items = String::new();
    for e in entries {
        let title = if e.link.is_empty() {
            esc(&e.title)
        } else {
            format!("<a href=\"{}\">{}</a>", esc(&e.link), esc(&e.title))
        };
        items.push_str(&format!(
            "<article>\n  <h2>{title}</h2>\n  <p class=\"meta\"><time datetime=\"{}\">{}</time>{}</p>\n  {}\n</article>\n",
            e.published.to_rfc3339(),
            e.published.format("%Y-%m-%d"),
            if e.all_categories().is_empty() {
                String::new()
            } else {
                format!(" · {}", esc(&e.all_categories().join(", ")))
            },
            describe::description(e),
        ));
    }
    if items.is_empty() {
        items.push_str(
            "<p>Nothing here yet: entries appear after the next poll of the topic's sources.</p>\n",
        );
    }
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>{title}</title>\n  <style>{style}</style>\n{head}</head>\n<body>\n{home}<h1>{title}</h1>\n<p>{desc}</p>\n<p>Subscribe: {links} · {n} entries, newest {shown} below</p>\n{items}</body>\n</html>\n",
        title = esc(&t.title),
        style = super::index::STYLE,
        // A private topic's base (`/p/{token}/`) has no index to go back to.
        home = if t.private {
            String::new()
        } else {
            format!("<p><a href=\"{}\">All topics</a></p>\n", esc(ctx.base_url.as_str()))
        },
        desc = esc(&t.description),
        links = links.join(" · "),
        n = total,
        shown = entries.len(),
    );
    Rendered::new(
        body.into_bytes(),
        "text/html; charset=utf-8",
        ctx.updated,
        ctx.max_age,
    )
}
