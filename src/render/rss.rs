//! RSS 2.0 (<https://www.rssboard.org/rss-specification>) with
//! `atom:link rel="self"` (as the RSS Advisory Board recommends) and
//! `rel="hub"` when the server is a WebSub hub,
//! `content:encoded` for full content and `dc:creator` for authors (RSS's own
//! `<author>` must be an email address, which we do not have).

use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::{describe, FeedContext, Format};
use crate::model::Entry;

pub const GENERATOR: &str = concat!("feedloom ", env!("CARGO_PKG_VERSION"));

pub fn render(ctx: &FeedContext, entries: &[Entry]) -> Vec<u8> {
    let self_link = atom_syndication::Link {
        href: ctx.feed_url(Format::Rss),
        rel: "self".into(),
        mime_type: Some(Format::Rss.mime().into()),
        ..Default::default()
    };
    let channel = Channel {
        title: ctx.topic.title.clone(),
        link: ctx.preview_url(),
        description: ctx.topic.description.clone(),
        last_build_date: Some(ctx.updated.to_rfc2822()),
        generator: Some(GENERATOR.into()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        // Minutes, matching the Cache-Control max-age the server sends.
        ttl: Some(ctx.max_age.as_secs().div_ceil(60).to_string()),
        atom_ext: Some(rss::extension::atom::AtomExtension {
            links: std::iter::once(self_link).chain(hub_link(ctx)).collect(),
        }),
        items: entries.iter().map(item).collect(),
        ..Default::default()
    };
    let mut out = channel
        .write_to(Vec::new())
        .expect("writing to a Vec cannot fail");
    out.push(b'\n');
    out
}

/// `atom:link rel="hub"`, when the server is a WebSub hub.
fn hub_link(ctx: &FeedContext) -> Option<atom_syndication::Link> {
    ctx.hub.as_ref().map(|hub| atom_syndication::Link {
        href: hub.clone(),
        rel: "hub".into(),
        ..Default::default()
    })
}

fn item(e: &Entry) -> Item {
    let categories = e
        .all_categories()
        .into_iter()
        .map(|c| Category {
            name: c.to_string(),
            domain: None,
        })
        .collect();
    Item {
        title: Some(e.title.clone()),
        link: Some(e.link.clone()).filter(|l| !l.is_empty()),
        description: Some(describe::description(e)),
        enclosure: e.media.as_ref().map(|m| Enclosure {
            url: m.url.clone(),
            // RSS requires a length; 0 is the convention when it is unknown.
            length: "0".into(),
            mime_type: m.mime.clone(),
        }),
        content: e.full_content().cloned(),
        // RSS 2.0 `<comments>`: the page of comments about the item.
        comments: e.discussion.clone(),
        guid: Some(Guid {
            value: e.id.urn(),
            permalink: false,
        }),
        pub_date: Some(e.published.to_rfc2822()),
        categories,
        dublin_core_ext: (!e.authors.is_empty()).then(|| DublinCoreExtension {
            creators: e.authors.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}
