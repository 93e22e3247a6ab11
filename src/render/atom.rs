//! Atom 1.0 (RFC 4287). Every feed carries a feed-level author (required
//! when any entry lacks one, §4.1.1), and an entry without a link carries its
//! summary as content (an entry needs an alternate link or content, §4.1.1.1).

use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, FixedDateTime, Generator, Link, Person, Text,
};

use super::{describe, FeedContext, Format};
use crate::identity::entry_id;
use crate::model::Entry;

pub fn render(ctx: &FeedContext, entries: &[Entry]) -> Vec<u8> {
    let feed = Feed {
        title: Text::plain(ctx.topic.title.clone()),
        // Derived from the topic id, not the public URL, so moving the
        // server does not make every reader see a new feed.
        id: entry_id(&ctx.id_key()).urn(),
        updated: fixed(ctx.updated),
        authors: vec![Person {
            name: "feedloom".into(),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "feedloom".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        links: vec![
            Link {
                href: ctx.feed_url(Format::Atom),
                rel: "self".into(),
                mime_type: Some(Format::Atom.mime().into()),
                ..Default::default()
            },
            Link {
                href: ctx.preview_url(),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ]
        .into_iter()
        .chain(ctx.hub.as_ref().map(|hub| Link {
            href: hub.clone(),
            rel: "hub".into(),
            ..Default::default()
        }))
        .collect(),
        subtitle: Some(Text::plain(ctx.topic.description.clone())),
        entries: entries.iter().map(entry).collect(),
        ..Default::default()
    };
    let mut out = feed
        .write_to(Vec::new())
        .expect("writing to a Vec cannot fail");
    out.push(b'\n');
    out
}

fn fixed(t: chrono::DateTime<chrono::Utc>) -> FixedDateTime {
    t.fixed_offset()
}

fn entry(e: &Entry) -> AtomEntry {
    let summary = describe::description(e);
    let content = match (e.full_content(), e.link.is_empty()) {
        (Some(c), _) => Some(c.clone()),
        (None, true) => Some(summary.clone()),
        (None, false) => None,
    };
    let mut links: Vec<Link> = Vec::new();
    if !e.link.is_empty() {
        links.push(Link {
            href: e.link.clone(),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Default::default()
        });
    }
    if let Some(d) = &e.discussion {
        // RFC 4685 (Atom threading): where the replies are.
        links.push(Link {
            href: d.clone(),
            rel: "replies".into(),
            mime_type: Some("text/html".into()),
            ..Default::default()
        });
    }
    if let Some(m) = &e.media {
        links.push(Link {
            href: m.url.clone(),
            rel: "enclosure".into(),
            mime_type: Some(m.mime.clone()),
            ..Default::default()
        });
    }
    AtomEntry {
        title: Text::plain(e.title.clone()),
        id: e.id.urn(),
        updated: fixed(e.updated),
        published: Some(fixed(e.published)),
        authors: e
            .authors
            .iter()
            .map(|a| Person {
                name: a.clone(),
                ..Default::default()
            })
            .collect(),
        categories: e
            .all_categories()
            .into_iter()
            .map(|c| Category {
                term: c.to_string(),
                ..Default::default()
            })
            .collect(),
        links,
        summary: (!summary.is_empty()).then(|| Text::html(summary)),
        content: content.map(|c| Content {
            value: Some(c),
            content_type: Some("html".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}
