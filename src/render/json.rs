//! JSON Feed 1.1 (<https://www.jsonfeed.org/version/1.1/>).

use serde_json::{json, Value};

use super::{describe, FeedContext, Format};
use crate::model::Entry;

pub fn render(ctx: &FeedContext, entries: &[Entry]) -> Vec<u8> {
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": ctx.topic.title,
        "home_page_url": ctx.preview_url(),
        "feed_url": ctx.feed_url(Format::Json),
        "description": ctx.topic.description,
        "authors": [{ "name": "feedloom" }],
        "items": entries.iter().map(item).collect::<Vec<_>>(),
    });
    if let Some(hub) = &ctx.hub {
        feed["hubs"] = json!([{ "type": "WebSub", "url": hub }]);
    }
    let mut out = serde_json::to_vec_pretty(&feed).expect("JSON values always serialize");
    out.push(b'\n');
    out
}

fn item(e: &Entry) -> Value {
    let mut item = json!({
        "id": e.id.urn(),
        "title": e.title,
        "content_html": e.full_content().cloned().unwrap_or_else(|| describe::description(e)),
        "date_published": e.published.to_rfc3339(),
        "date_modified": e.updated.to_rfc3339(),
    });
    let obj = item.as_object_mut().expect("an object");
    if !e.link.is_empty() {
        obj.insert("url".into(), e.link.clone().into());
    }
    if let Some(d) = &e.discussion {
        // JSON Feed has no comments field; an extension object (the spec's
        // `_` prefix) carries it.
        obj.insert("_feedloom".into(), json!({ "discussion_url": d }));
    }
    if e.full_content().is_some() {
        obj.insert(
            "summary".into(),
            crate::text::html_to_text(&e.summary).into(),
        );
    }
    if !e.authors.is_empty() {
        let authors: Vec<Value> = e.authors.iter().map(|a| json!({ "name": a })).collect();
        obj.insert("authors".into(), authors.into());
    }
    let tags = e.all_categories();
    if !tags.is_empty() {
        obj.insert("tags".into(), tags.into());
    }
    if let Some(m) = &e.media {
        if m.mime.starts_with("image/") {
            obj.insert("image".into(), m.url.clone().into());
        }
        obj.insert(
            "attachments".into(),
            json!([{ "url": m.url, "mime_type": m.mime }]),
        );
    }
    item
}
