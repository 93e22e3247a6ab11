//! Feeds: RSS 0.9x / 1.0 (RDF) / 2.0 through `rss`, Atom 1.0 through
//! `atom_syndication`, JSON Feed through [`super::jsonfeed`]; the format is
//! detected from the bytes, never from the Content-Type (servers lie).
//!
//! The XML parsers get the raw bytes: the XML prolog decides the encoding,
//! so the body is never decoded to text first.

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::Duration;

use quick_xml::events::Event;
use quick_xml::Reader;
use regex::Regex;

use super::cap::MAX_ITEMS;
use super::{jsonfeed, ExtractError, Extracted};
use crate::dates::parse_date;
use crate::decode;
use crate::model::{Media, RawEntry};
use crate::sanitize::escape_text;

/// Which format a body is in, by its first significant bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
    JsonFeed,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Detects the format, or says what the body looks like instead.
pub fn detect(body: &[u8]) -> Result<Format, ExtractError> {
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(ExtractError::NotAFeed("the response body is empty".into()));
    };
    let body = &body[start..];
    if body[0] == b'{' {
        return Ok(Format::JsonFeed);
    }
    if body[0] != b'<' {
        // SECURITY: no upstream bytes in the message (it is shown on
        // `/status`; an error page can hold anything).
        return Err(ExtractError::NotAFeed(
            "the body is neither XML nor JSON".into(),
        ));
    }
    let root = root_element(body).ok_or_else(|| ExtractError::Malformed {
        format: "XML",
        message: "no root element found".into(),
    })?;
    let local = root.rsplit(':').next().unwrap_or(&root);
    match local {
        "rss" | "RDF" => Ok(Format::Rss),
        "feed" => Ok(Format::Atom),
        "html" | "HTML" => Err(ExtractError::NotAFeed(
            "an HTML page was served where a feed was expected".into(),
        )),
        _ => Err(ExtractError::NotAFeed(format!(
            "unknown root element <{}>",
            crate::text::one_line(&root, 64)
        ))),
    }
}

/// The name of the first element, skipping the prolog, comments and doctype.
fn root_element(body: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < body.len() {
        let rest = &body[i..];
        if rest.starts_with(b"<?") {
            i += find(rest, b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            i += find(rest, b"-->")? + 3;
        } else if rest.starts_with(b"<!") {
            i += find(rest, b">")? + 1;
        } else if rest.starts_with(b"<") {
            // A name is short; an upstream's 8 MiB one is not copied.
            let name: Vec<u8> = rest[1..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && **b != b'>' && **b != b'/')
                .take(256)
                .copied()
                .collect();
            return (!name.is_empty()).then(|| String::from_utf8_lossy(&name).into_owned());
        } else {
            i += 1;
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Extracts the items of a feed of any supported format.
pub fn extract(body: &[u8], content_type: Option<&str>) -> Result<Extracted, ExtractError> {
    // UTF-16 (and -32) documents must be decoded before their first bytes
    // can even be read as `<` or `{`.
    let wide;
    let body = if body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF") {
        wide = decode::xml(body, content_type);
        &wide[..]
    } else {
        body
    };
    match detect(body)? {
        Format::JsonFeed => {
            let (entries, capped) = jsonfeed::extract(body)?;
            Ok(Extracted {
                entries,
                capped,
                ..Default::default()
            })
        }
        Format::Rss => {
            let body = decode::xml(body, content_type);
            let checked = check_well_formed(&body, "RSS")?;
            let (capped, trimmed) = (checked.capped, checked.trimmed);
            let body = checked.doc.map_or(body, Cow::Owned);
            let channel =
                rss::Channel::read_from(&body[..]).map_err(|e| ExtractError::Malformed {
                    format: "RSS",
                    message: e.to_string(),
                })?;
            Ok(Extracted {
                entries: channel.items.iter().map(from_rss).collect(),
                ttl: channel
                    .ttl
                    .as_deref()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .map(|minutes| Duration::from_secs(minutes.saturating_mul(60))),
                capped,
                trimmed,
                ..Default::default()
            })
        }
        Format::Atom => {
            let body = decode::xml(body, content_type);
            let checked = check_well_formed(&body, "Atom")?;
            let (capped, trimmed) = (checked.capped, checked.trimmed);
            let body = checked.doc.map_or(body, Cow::Owned);
            let feed = atom_syndication::Feed::read_from(&body[..]).map_err(|e| {
                ExtractError::Malformed {
                    format: "Atom",
                    message: e.to_string(),
                }
            })?;
            Ok(Extracted {
                entries: feed.entries.iter().map(from_atom).collect(),
                capped,
                trimmed,
                ..Default::default()
            })
        }
    }
}

/// Most elements inside one item (an entry's own fields and extensions);
/// the ones past it are left out of the item. Real items hold tens.
pub const MAX_ITEM_ELEMENTS: usize = 1_000;
/// Most elements outside the items (the channel's own fields, an RDF
/// feed's item list); a document with more is refused.
pub const MAX_OTHER_ELEMENTS: usize = 50_000;
/// Most elements and attributes of a document the parser is handed (those
/// left out of an item do not count): past it, the document is cut after
/// the last item read whole. A parsed element
/// costs 130 to 590 bytes (a one-entry map per extension), so items just
/// under their own bound, 1,700 of them, once took 724 MB.
pub const MAX_DOCUMENT_NODES: usize = 100_000;
/// Most namespace declarations a document may make: the rss crate copies
/// its namespace table at every element that declares one (300,000
/// declarations made one poll a matter of hours). Real feeds make a few.
pub const MAX_NAMESPACES: usize = 1_000;

/// What [`check_well_formed`] found to repair.
#[derive(Debug, Default)]
struct Checked {
    /// The document to parse instead, when it had to be cut or items
    /// left out of it.
    doc: Option<Vec<u8>>,
    /// More than [`MAX_ITEMS`] items: the first ones kept.
    capped: bool,
    /// Items whose elements past [`MAX_ITEM_ELEMENTS`] were left out.
    trimmed: usize,
}

/// Reads the whole document once: the format parsers stop at the end of
/// the data they want and accept a document cut off after it, but a
/// truncated response must fail the poll, not half-succeed.
///
/// SECURITY: the format parsers build every element they read (an RSS
/// extension element costs about 130 bytes built, 6 written), so what
/// they are handed is bounded here first: a document of more than
/// [`MAX_ITEMS`] items (RSS `<item>`, Atom `<entry>`, at the depth a feed
/// puts them) is cut after the last one kept, its open elements closed
/// (1.5 million empty items took the poller past 2 GB); an item's
/// elements past [`MAX_ITEM_ELEMENTS`] are left out of it (1.7 million
/// empty extension elements in one item took 250 MB); more than
/// [`MAX_OTHER_ELEMENTS`] outside the items refuse the document.
fn check_well_formed(body: &[u8], format: &'static str) -> Result<Checked, ExtractError> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut saw_root = false;
    // Names of the open elements; the item being read; items read;
    // elements outside items; where to cut; the stretches left out.
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut item: Option<ItemRead> = None;
    let (mut items, mut others, mut trimmed) = (0usize, 0usize, 0usize);
    let mut cut: Option<(usize, Vec<Vec<u8>>)> = None;
    let mut left_out: Vec<std::ops::Range<usize>> = Vec::new();
    // Elements and attributes read, namespaces declared, and where the
    // last item read whole ends (for a cut at the node budget).
    let (mut nodes, mut namespaces) = (0usize, 0usize);
    let mut last_item_end: Option<(usize, Vec<Vec<u8>>)> = None;
    let mut over_budget = false;
    let is_item = |name: &[u8], depth: usize| {
        depth <= 2 && matches!(name.rsplit(|b| *b == b':').next(), Some(b"item" | b"entry"))
    };
    let position = |reader: &Reader<&[u8]>| {
        usize::try_from(reader.buffer_position()).map_or(body.len(), |p| p.min(body.len()))
    };
    loop {
        let before = position(&reader);
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| ExtractError::Malformed {
                format,
                message: format!("at byte {}: {e}", reader.buffer_position()),
            })?;
        let mut kept_item = false;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                saw_root = true;
                let name = e.name();
                let empty = matches!(event, Event::Empty(_));
                // Whether the parser will see this element: not when it
                // is inside, or starts, a stretch left out.
                let mut built = true;
                match &mut item {
                    // Already past the bound: inside a stretch left out.
                    Some(it) if it.leaving_out.is_some() => built = false,
                    Some(it) => {
                        it.elements += 1;
                        if it.elements > MAX_ITEM_ELEMENTS {
                            // From here to the end of its parent.
                            it.leaving_out = Some((before, open.len()));
                            it.trimmed = true;
                            built = false;
                        }
                    }
                    None if is_item(name.as_ref(), open.len()) => {
                        if empty {
                            kept_item = true;
                        } else {
                            item = Some(ItemRead {
                                depth: open.len(),
                                elements: 0,
                                leaving_out: None,
                                trimmed: false,
                            });
                        }
                    }
                    None => others += 1,
                }
                if built {
                    nodes += 1;
                    for a in e.attributes().with_checks(false).flatten() {
                        nodes += 1;
                        namespaces += usize::from(a.key.as_ref().starts_with(b"xmlns"));
                    }
                }
                if namespaces > MAX_NAMESPACES {
                    return Err(ExtractError::Malformed {
                        format,
                        message: format!(
                            "more than {MAX_NAMESPACES} namespace declarations; refused"
                        ),
                    });
                }
                if nodes > MAX_DOCUMENT_NODES {
                    over_budget = true;
                    break;
                }
                if others > MAX_OTHER_ELEMENTS {
                    return Err(ExtractError::Malformed {
                        format,
                        message: format!(
                            "more than {MAX_OTHER_ELEMENTS} elements outside its items; refused"
                        ),
                    });
                }
                if !empty {
                    open.push(name.as_ref().to_vec());
                    if open.len() > crate::depth::MAX_NESTING {
                        return Err(crate::depth::TooDeep::nesting(format).into());
                    }
                }
            }
            // SECURITY: feeds never need a DTD with entity declarations;
            // refusing them outright rules out entity-expansion bombs
            // ("billion laughs") and external entities, whatever a parser
            // would do with them.
            Event::DocType(d) if d.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY")) => {
                return Err(ExtractError::Malformed {
                    format,
                    message: "the document declares entities in a DTD, which feeds never need; refused (possible entity-expansion attack)".into(),
                });
            }
            Event::End(_) => {
                open.pop();
                if let Some(it) = &mut item {
                    if let Some((start, depth)) = it.leaving_out {
                        // The parent of the stretch closes here.
                        if open.len() < depth {
                            left_out.push(start..before);
                            it.leaving_out = None;
                        }
                    }
                    if it.depth == open.len() {
                        trimmed += usize::from(it.trimmed);
                        item = None;
                        kept_item = true;
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if kept_item {
            items += 1;
            if items == MAX_ITEMS {
                cut = Some((position(&reader), open.clone()));
            }
            if cut.is_none() {
                last_item_end = Some((position(&reader), open.clone()));
            }
        }
        buf.clear();
    }
    if over_budget {
        // Read no further: the document ends after the last item read
        // whole (or is refused, when none was).
        cut = cut.or(last_item_end);
        if cut.is_none() {
            return Err(ExtractError::Malformed {
                format,
                message: format!(
                    "more than {MAX_DOCUMENT_NODES} elements and attributes before its first item ends; refused"
                ),
            });
        }
        items = items.max(MAX_ITEMS + 1);
    } else if !open.is_empty() || !saw_root {
        return Err(ExtractError::Malformed {
            format,
            message: "the document ends before its root element is closed (truncated?)".into(),
        });
    }
    let cut = cut.filter(|_| items > MAX_ITEMS);
    let end = cut.as_ref().map_or(body.len(), |(at, _)| *at);
    let left_out: Vec<_> = left_out.into_iter().filter(|r| r.start < end).collect();
    if cut.is_none() && left_out.is_empty() {
        return Ok(Checked::default());
    }
    let mut doc = Vec::with_capacity(end);
    let mut at = 0;
    for r in &left_out {
        doc.extend_from_slice(&body[at..r.start]);
        at = r.end;
    }
    doc.extend_from_slice(&body[at..end]);
    for name in cut.iter().flat_map(|(_, open)| open.iter().rev()) {
        doc.extend_from_slice(b"</");
        doc.extend_from_slice(name);
        doc.push(b'>');
    }
    Ok(Checked {
        doc: Some(doc),
        capped: cut.is_some(),
        trimmed,
    })
}

/// An item being read by [`check_well_formed`].
struct ItemRead {
    /// Open elements outside it.
    depth: usize,
    elements: usize,
    /// Past the bound: where the stretch left out starts, and the depth
    /// of its parent (the stretch ends where that closes).
    leaving_out: Option<(usize, usize)>,
    trimmed: bool,
}

fn from_rss(item: &rss::Item) -> RawEntry {
    let dc = item.dublin_core_ext.as_ref();
    let guid = item
        .guid
        .as_ref()
        .map(|g| g.value.trim().to_string())
        .filter(|g| !g.is_empty());
    let link = item.link.clone().or_else(|| {
        item.guid
            .as_ref()
            .filter(|g| g.permalink && g.value.starts_with("http"))
            .map(|g| g.value.clone())
    });
    let mut authors: Vec<String> = item.author.iter().map(|a| rss_author_name(a)).collect();
    if let Some(dc) = dc {
        authors.extend(
            dc.creators
                .iter()
                .flat_map(|c| c.split(','))
                .map(|c| c.trim().to_string()),
        );
    }
    let mut categories: Vec<String> = item.categories.iter().map(|c| c.name.clone()).collect();
    if let Some(dc) = dc {
        categories.extend(dc.subjects.iter().cloned());
    }
    let published = item
        .pub_date
        .as_deref()
        .and_then(|d| parse_date(d, None))
        .or_else(|| {
            dc.and_then(|dc| dc.dates.first())
                .and_then(|d| parse_date(d, None))
        });
    let other_links = item
        .atom_ext
        .iter()
        .flat_map(|a| a.links.iter().map(|l| l.href.clone()))
        .collect();
    RawEntry {
        guid,
        title: item.title.clone(),
        link,
        other_links,
        summary: item.description.as_deref().map(strip_arxiv_preamble),
        content: item.content.clone(),
        authors,
        categories,
        published,
        media: item.enclosure.as_ref().map(|e| Media {
            url: e.url.clone(),
            mime: e.mime_type.clone(),
        }),
        ..Default::default()
    }
}

/// arXiv's RSS prefixes every abstract with `arXiv:ID Announce Type: new
/// Abstract:`; readers want the abstract.
static ARXIV_PREAMBLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*").expect("static regex")
});

fn strip_arxiv_preamble(description: &str) -> String {
    ARXIV_PREAMBLE.replace(description, "").into_owned()
}

/// RSS 2.0 `<author>` is an email, conventionally `jo@example.org (Jo Doe)`:
/// readers want the name.
fn rss_author_name(raw: &str) -> String {
    let raw = raw.trim();
    if let (Some(open), true) = (raw.find('('), raw.ends_with(')')) {
        let name = raw[open + 1..raw.len() - 1].trim();
        if !name.is_empty() {
            return name.to_string();
        }
    }
    raw.to_string()
}

fn atom_text(t: &atom_syndication::Text) -> String {
    match t.r#type {
        atom_syndication::TextType::Text => escape_text(&t.value),
        _ => t.value.clone(),
    }
}

fn from_atom(entry: &atom_syndication::Entry) -> RawEntry {
    let alternate = entry
        .links
        .iter()
        .find(|l| l.rel == "alternate" || l.rel.is_empty())
        .or_else(|| entry.links.first())
        .map(|l| l.href.clone());
    let content = entry.content.as_ref().and_then(|c| {
        let value = c.value.as_ref()?;
        Some(match c.content_type.as_deref() {
            Some("text") | None => escape_text(value),
            _ => value.clone(),
        })
    });
    let updated = entry.updated.with_timezone(&chrono::Utc);
    RawEntry {
        guid: Some(entry.id.trim().to_string()).filter(|g| !g.is_empty()),
        title: Some(atom_text(&entry.title)),
        link: alternate,
        other_links: entry.links.iter().map(|l| l.href.clone()).collect(),
        summary: entry.summary.as_ref().map(atom_text),
        content,
        authors: entry.authors.iter().map(|p| p.name.clone()).collect(),
        categories: entry
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .collect(),
        published: entry.published.map(|d| d.with_timezone(&chrono::Utc)),
        // atom_syndication fills a missing <updated> with the epoch.
        updated: (updated.timestamp() > 0).then_some(updated),
        media: entry
            .links
            .iter()
            .find(|l| l.rel == "enclosure")
            .map(|l| Media {
                url: l.href.clone(),
                mime: l
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
            }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_and_impostors() {
        let cases: [(&[u8], Format); 4] = [
            (
                b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<rss version=\"2.0\">",
                Format::Rss,
            ),
            (b"<!-- c --><rdf:RDF xmlns:rdf=\"x\">", Format::Rss),
            (
                b"  <feed xmlns=\"http://www.w3.org/2005/Atom\">",
                Format::Atom,
            ),
            (
                b"{\"version\": \"https://jsonfeed.org/version/1.1\"}",
                Format::JsonFeed,
            ),
        ];
        for (body, format) in cases {
            assert_eq!(
                detect(body).unwrap(),
                format,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let html = detect(b"<!DOCTYPE html><html><body>502</body></html>").unwrap_err();
        assert!(html.to_string().contains("HTML page"), "{html}");
        assert!(detect(b"").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn truncated_feeds_fail() {
        let body = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><item><title>a</title></item>";
        let err = extract(body, None).unwrap_err();
        assert!(matches!(err, ExtractError::Malformed { .. }), "{err}");
    }

    #[test]
    fn items_past_the_cap_are_never_built() {
        for (head, item, tail) in [
            ("<rss version=\"2.0\"><channel><title>t</title>", "<item><title>a</title></item>", "<x:y/></channel></rss>"),
            ("<rss version=\"2.0\"><channel>", "<item/>", "</channel></rss>"),
            ("<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>urn:f</id><updated>2026-01-01T00:00:00Z</updated>",
             "<entry><title>e</title><id>urn:e</id><updated>2026-01-01T00:00:00Z</updated></entry>", "</feed>"),
        ] {
            let body = format!("{head}{}{tail}", item.repeat(MAX_ITEMS + 3));
            let got = extract(body.as_bytes(), None).unwrap();
            assert_eq!(got.entries.len(), MAX_ITEMS, "{head}");
            assert!(got.capped);
            let body = format!("{head}{}{tail}", item.repeat(3));
            let got = extract(body.as_bytes(), None).unwrap();
            assert_eq!((got.entries.len(), got.capped), (3, false));
        }
    }

    #[test]
    fn elements_past_an_items_bound_are_left_out_of_it() {
        let item = |i: usize, extra: usize| {
            format!(
                "<item><title>t{i}</title><link>http://e.org/{i}</link><x:wrap>{}</x:wrap>{}<category>c{i}</category></item>",
                "<x:b/>".repeat(extra),
                "<x:b/>".repeat(extra)
            )
        };
        let body = format!(
            "<rss version=\"2.0\" xmlns:x=\"urn:x\"><channel><title>t</title>{}{}{}</channel></rss>",
            item(1, 10),
            item(2, MAX_ITEM_ELEMENTS),
            item(3, 0)
        );
        let got = extract(body.as_bytes(), None).unwrap();
        let titles: Vec<_> = got.entries.iter().filter_map(|e| e.title.clone()).collect();
        assert_eq!(titles, ["t1", "t2", "t3"]);
        // What came before the bound is kept, what came after is not.
        assert_eq!(got.entries[1].link.as_deref(), Some("http://e.org/2"));
        assert!(got.entries[1].categories.is_empty());
        assert_eq!(got.entries[0].categories, ["c1"]);
        assert_eq!((got.trimmed, got.capped), (1, false));
        // Outside the items, a bound refuses the document.
        let body = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:a=\"urn:a\"><title>t</title>{}</feed>",
            "<a:b/>".repeat(MAX_OTHER_ELEMENTS + 1)
        );
        let err = extract(body.as_bytes(), None).unwrap_err();
        assert!(err.to_string().contains("outside its items"), "{err}");
    }

    #[test]
    fn arxiv_preamble_is_dropped() {
        assert_eq!(
            strip_arxiv_preamble(
                "arXiv:2510.22200v1 Announce Type: replace-cross \nAbstract: Video generation is"
            ),
            "Video generation is"
        );
        assert_eq!(strip_arxiv_preamble("Plain abstract."), "Plain abstract.");
    }

    #[test]
    fn rss_author_names() {
        assert_eq!(rss_author_name("jo@example.org (Jo Doe)"), "Jo Doe");
        assert_eq!(rss_author_name("jo@example.org"), "jo@example.org");
    }
}
