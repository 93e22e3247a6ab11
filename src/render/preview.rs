//! `/{topic}.html`: what a topic holds, readable in a browser, with subscribe
//! links, autodiscovery, and a filter form that builds query feeds.

use super::{describe, FeedContext, Format, Rendered};
use crate::config::Definitions;
use crate::model::Entry;
use crate::query;
use crate::sanitize::escape_text as esc;

/// The query parameters the form has fields for; any other parameter of
/// the current query rides along as a hidden field.
const FORM_FIELDS: [&str; 4] = ["tag", "q", "min_upvotes", "org"];

/// `failing`: the line of the last failure when every source of an empty
/// topic fails ([`super::failures::all_failing`]), said instead of a
/// promise that the next poll brings entries.
pub fn render(
    ctx: &FeedContext,
    defs: &Definitions,
    entries: &[Entry],
    total: usize,
    failing: Option<&str>,
) -> Rendered {
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
    /// The entry's counts (`311 points · 187 comments`) and its discussion.
    fn counts(e: &crate::model::Entry) -> String {
        let mut out = String::new();
        for (name, v) in &e.metrics {
            let n = if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", *v as i64)
            } else {
                format!("{v:.1}")
            };
            // `comments` → `1 comment`.
            let label = if *v == 1.0 {
                name.strip_suffix('s').unwrap_or(name)
            } else {
                name.as_str()
            };
            out.push_str(&format!(" · {n} {}", esc(label)));
        }
        if let Some(d) = &e.discussion {
            out.push_str(&format!(" · <a href=\"{}\">discussion</a>", esc(d)));
        }
        out
    }
    let mut items = String::new();
    for e in entries {
        let title = if e.link.is_empty() {
            esc(&e.title)
        } else {
            format!("<a href=\"{}\">{}</a>", esc(&e.link), esc(&e.title))
        };
        items.push_str(&format!(
            "<article>\n  <h2>{title}</h2>\n  <p class=\"meta\"><time datetime=\"{}\">{}</time>{}{}</p>\n  {}\n</article>\n",
            e.published.to_rfc3339(),
            e.published.format("%Y-%m-%d"),
            counts(e),
            if e.all_categories().is_empty() {
                String::new()
            } else {
                format!(" · {}", esc(&e.all_categories().join(", ")))
            },
            describe::description(e),
        ));
    }
    match (items.is_empty(), failing) {
        (false, _) => {}
        (true, Some(line)) => items.push_str(&format!(
            "<p class=\"failing\">Nothing yet: none of this topic's sources can be read at the moment. The last error: {}.</p>\n",
            esc(line)
        )),
        (true, None) => items.push_str(
            "<p>Nothing here yet: entries appear after the next poll of the topic's sources.</p>\n",
        ),
    }
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>{title}</title>\n  <style>{style}</style>\n{head}</head>\n<body>\n{home}<h1>{title}</h1>\n<p>{desc}</p>\n<p>Subscribe: {links} · {n}</p>\n{form}{items}</body>\n</html>\n",
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
        form = filter_form(ctx, defs),
        n = match (total, entries.len()) {
            (0, _) => "no entries yet".to_string(),
            (n, shown) if shown == n => crate::text::counted(n, "entry", "entries") + ", all below",
            (n, shown) => format!(
                "{}, the newest {shown} below",
                crate::text::counted(n, "entry", "entries")
            ),
        },
    );
    Rendered::new(
        body.into_bytes(),
        "text/html; charset=utf-8",
        ctx.updated,
        ctx.max_age,
    )
}

/// A plain GET form (no script) back to this page: submitting it shows the
/// filtered entries, and the page's subscribe links then carry the query in
/// canonical order. Fields start from the current query.
fn filter_form(ctx: &FeedContext, defs: &Definitions) -> String {
    let current: Vec<(String, String)> = ctx
        .query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let value = |k: &str| {
        current
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| esc(v))
            .unwrap_or_default()
    };
    let hidden: String = current
        .iter()
        .filter(|(k, _)| !FORM_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| {
            format!(
                "  <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let tags: Vec<&str> = defs.rules.tags.iter().map(|t| t.id.as_str()).collect();
    // `min_upvotes` is a 400 where no rule or source knows the metric.
    let upvotes = if query::known_metrics(defs).iter().any(|m| m == "upvotes") {
        format!(
            "  <label>Minimum upvotes <input type=\"number\" name=\"min_upvotes\" min=\"0\" value=\"{}\"></label>\n",
            value("min_upvotes")
        )
    } else {
        String::new()
    };
    format!(
        "<form class=\"filter\" method=\"get\" action=\"{action}\">\n{hidden}  <label>Tags (all of, comma-separated) <input type=\"text\" name=\"tag\" value=\"{tag}\"></label>\n  <small>Tags: {tags}</small>\n  <label>Words <input type=\"search\" name=\"q\" value=\"{q}\"></label>\n{upvotes}  <label>Organization <input type=\"text\" name=\"org\" value=\"{org}\"></label>\n  <button type=\"submit\">Filter</button>\n</form>\n",
        action = esc(&format!("{}{}.html", ctx.base_url, ctx.of.name())),
        tag = value("tag"),
        tags = esc(&tags.join(", ")),
        q = value("q"),
        org = value("org"),
    )
}
