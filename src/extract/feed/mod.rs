//! Feeds: RSS 0.9x / 1.0 (RDF) / 2.0 through `rss`, Atom 1.0 through
//! `atom_syndication`, JSON Feed through [`super::jsonfeed`]; the format is
//! detected from the bytes, never from the Content-Type (servers lie).
//!
//! The XML parsers get the raw bytes: the XML prolog decides the encoding,
//! so the body is never decoded to text first.

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use super::{jsonfeed, ExtractError, Extracted};
use crate::dates::parse_date;
use crate::decode;
use crate::model::{Media, RawEntry};
use crate::repairs::Repairs;
use crate::sanitize::escape_text;
use bounds::{check_well_formed, Checked};
pub use bounds::{MAX_DOCUMENT_NODES, MAX_ITEM_ELEMENTS, MAX_NAMESPACES, MAX_OTHER_ELEMENTS};

mod bounds;
mod repair;
use repair::Problem;
pub use repair::MAX_REPAIRS;

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
        // A PHP warning (or other text) in front of the feed: the repair
        // path drops it.
        return feed_root_after_junk(body).ok_or_else(|| {
            // SECURITY: no upstream bytes in the message (it is shown on
            // `/status`; an error page can hold anything).
            ExtractError::NotAFeed("the body is neither XML nor JSON".into())
        });
    }
    let root = root_element(body).ok_or_else(|| ExtractError::Malformed {
        format: "XML",
        message: "no root element found".into(),
    })?;
    let local = root.rsplit(':').next().unwrap_or(&root);
    match local {
        "rss" | "RDF" => Ok(Format::Rss),
        "feed" => Ok(Format::Atom),
        "html" | "HTML" => Err(ExtractError::NotAFeed(HTML_PAGE.into())),
        _ => feed_root_after_junk(body).ok_or_else(|| {
            ExtractError::NotAFeed(format!(
                "unknown root element <{}>",
                crate::text::one_line(&root, 64)
            ))
        }),
    }
}

/// Why an HTML page is not a feed (see [`ExtractError::is_html_page`]).
pub const HTML_PAGE: &str = "an HTML page was served where a feed was expected";

/// How far into a body a feed's root is looked for behind junk.
const JUNK_SNIFF: usize = 64 * 1024;

/// The format of a feed whose root comes after something else (`<br />
/// <b>Warning</b>: …` from PHP, a `Deprecated:` line): the first `<rss`,
/// `<rdf:RDF` or `<feed` in the first [`JUNK_SNIFF`] bytes.
fn feed_root_after_junk(body: &[u8]) -> Option<Format> {
    let head = &body[..body.len().min(JUNK_SNIFF)];
    [
        (&b"<rss"[..], Format::Rss),
        (b"<rdf:RDF", Format::Rss),
        (b"<feed", Format::Atom),
    ]
    .into_iter()
    .filter_map(|(tag, format)| {
        memchr::memmem::find_iter(head, tag)
            .find(|at| {
                head.get(at + tag.len())
                    .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>')
            })
            .map(|at| (at, format))
    })
    .min_by_key(|(at, _)| *at)
    .map(|(_, format)| format)
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
///
/// Strict first: a well-formed document is read exactly as written, by
/// the format parsers alone. Only when that fails (or reads fewer items
/// than the document holds) is the document repaired and read again
/// ([`repair`]); every repair is recorded in [`Extracted::repairs`].
pub fn extract(body: &[u8], content_type: Option<&str>) -> Result<Extracted, ExtractError> {
    let mut repairs = Repairs::default();
    // UTF-16 (and -32) documents must be decoded before their first bytes
    // can even be read as `<` or `{`.
    let wide;
    let body = if decode::is_wide(body) {
        wide = decode::xml_noting(body, content_type, &mut repairs);
        &wide[..]
    } else {
        body
    };
    let mut got = match detect(body)? {
        Format::JsonFeed => jsonfeed::extract(body)?,
        format => {
            let body = decode::xml_noting(body, content_type, &mut repairs);
            read_xml(&body, format)?
        }
    };
    let mut all = repairs;
    all.extend(std::mem::take(&mut got.repairs));
    got.repairs = all;
    Ok(got)
}

impl Format {
    /// The name errors and repairs use.
    pub fn name(self) -> &'static str {
        match self {
            Format::Rss => "RSS",
            Format::Atom => "Atom",
            Format::JsonFeed => "JSON Feed",
        }
    }
}

/// Reads an XML feed (already UTF-8): strictly, else repaired.
fn read_xml(body: &[u8], format: Format) -> Result<Extracted, ExtractError> {
    let problem = match read_strict(body, format) {
        Ok(got) => return Ok(got),
        Err(Unread::Refused(e)) => return Err(e),
        Err(Unread::Repairable(problem)) => problem,
    };
    repair::read(body, format, problem)
}

/// Why the strict read did not do: a bound refused the document, or it
/// is a problem the repair path reads past.
enum Unread {
    Refused(ExtractError),
    Repairable(Problem),
}

impl From<Problem> for Unread {
    fn from(p: Problem) -> Self {
        Unread::Repairable(p)
    }
}

impl From<bounds::Unread> for Unread {
    fn from(u: bounds::Unread) -> Self {
        match u {
            bounds::Unread::Refused(e) => Unread::Refused(e),
            bounds::Unread::IllFormed { at, cause } => Problem::IllFormed { at, cause }.into(),
        }
    }
}

/// The well-formed path: bounds, then the format parser, as written.
fn read_strict(body: &[u8], format: Format) -> Result<Extracted, Unread> {
    let checked = check_well_formed(body, format.name())?;
    if let Some((at, what)) = checked.flaw {
        return Err(Problem::IllFormed {
            at,
            cause: format!("{what} (read with repairs)"),
        }
        .into());
    }
    if checked.bases && format == Format::Atom {
        return Err(Problem::Bases.into());
    }
    let present = checked.items;
    let lines = crate::repairs::Lines::new(body);
    let got = parse_checked(body, format, checked, &|at| Some(lines.locate(at)))
        .map_err(|m| Unread::from(Problem::Parser(m)))?;
    if got.entries.len() < present {
        return Err(Problem::Fewer { got: Box::new(got) }.into());
    }
    Ok(got)
}

/// Runs the format parser on a checked document (cut and trimmed as
/// [`check_well_formed`] said); the parser's message on failure.
/// `locate` names a place of `body` in the document as fetched (`None`
/// where no place can be named).
fn parse_checked(
    body: &[u8],
    format: Format,
    checked: Checked,
    locate: &dyn Fn(usize) -> Option<crate::repairs::Location>,
) -> Result<Extracted, String> {
    let (capped, trimmed) = (checked.capped, checked.trimmed);
    let body = checked.doc.map_or(Cow::Borrowed(body), Cow::Owned);
    let mut repairs = Repairs::default();
    // Dates read other than as written: (text, what), placed below.
    let mut dates: Vec<(String, String)> = Vec::new();
    let mut got = match format {
        Format::Rss => {
            let channel = rss::Channel::read_from(&body[..]).map_err(|e| e.to_string())?;
            Extracted {
                entries: channel
                    .items
                    .iter()
                    .map(|item| from_rss(item, &mut dates))
                    .collect(),
                ttl: channel
                    .ttl
                    .as_deref()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .map(|minutes| Duration::from_secs(minutes.saturating_mul(60))),
                title: feed_title(&channel.title),
                ..Default::default()
            }
        }
        _ => {
            let feed = atom_syndication::Feed::read_from(&body[..]).map_err(|e| e.to_string())?;
            Extracted {
                entries: feed.entries.iter().map(from_atom).collect(),
                title: feed_title(&feed.title.value),
                ..Default::default()
            }
        }
    };
    if !dates.is_empty() {
        // Each date's place: searched in document order, from the last
        // one found (one pass over the document in all).
        let mut from = 0;
        for (text, what) in dates {
            let at = memchr::memmem::find(&body[from..], text.as_bytes()).map(|p| from + p);
            if let Some(at) = at {
                from = at + text.len();
            }
            repairs.push(at.and_then(locate), what);
        }
    }
    (got.capped, got.trimmed, got.repairs) = (capped, trimmed, repairs);
    Ok(got)
}

/// The feed's own title as one bounded line of text, if it has one.
fn feed_title(raw: &str) -> Option<String> {
    let text = crate::text::clean_title(raw, jsonfeed::FEED_TITLE_MAX);
    (!text.is_empty()).then_some(text)
}

fn from_rss(item: &rss::Item, dates: &mut Vec<(String, String)>) -> RawEntry {
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
        .and_then(|d| {
            let mut note = None;
            let date = crate::dates::parse_date_noting(d, None, &mut note);
            if let Some(note) = note.filter(|_| dates.len() < crate::repairs::KEPT) {
                let title = item.title.as_deref().unwrap_or_default();
                dates.push((
                    d.trim().to_string(),
                    format!(
                        "item '{}': pubDate '{}': {note}",
                        crate::text::one_line(title, 60),
                        crate::text::one_line(d.trim(), 60)
                    ),
                ));
            }
            date
        })
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

/// Atom `<content>` as HTML, by its `type` (RFC 4287 §4.1.3): `text` and
/// other `text/*` escaped, `html`/`xhtml` and XML types as markup (the
/// sanitizer has the last word), any other MIME type base64 — read when
/// it decodes to text, left out when it is binary. Types are compared
/// without case (`HTML`, `Text/Plain` are seen in the wild).
fn atom_content(content_type: Option<&str>, value: &str) -> Option<String> {
    let t = content_type.map(|t| t.trim().to_ascii_lowercase());
    match t.as_deref() {
        None | Some("" | "text") => Some(escape_text(value)),
        Some("html" | "xhtml") => Some(value.to_string()),
        Some(t) if t.ends_with("+xml") || t.ends_with("/xml") || t == "text/html" => {
            Some(value.to_string())
        }
        Some(t) if t.starts_with("text/") => Some(escape_text(value)),
        Some(_) => {
            use base64::Engine as _;
            let compact: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()?;
            // Text, or nothing: binary that happens to be UTF-8 (a log
            // with NULs) is not shown.
            let text = String::from_utf8(bytes).ok()?;
            let binary = text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
            (!binary).then(|| escape_text(&text))
        }
    }
}

fn from_atom(entry: &atom_syndication::Entry) -> RawEntry {
    let alternate = entry
        .links
        .iter()
        .find(|l| l.rel == "alternate" || l.rel.is_empty())
        .or_else(|| entry.links.first())
        .map(|l| l.href.clone());
    let content = entry
        .content
        .as_ref()
        .and_then(|c| atom_content(c.content_type.as_deref(), c.value.as_ref()?));
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
    use crate::extract::cap::MAX_ITEMS;

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
    fn truncated_feeds_keep_their_whole_items() {
        let body = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><item><title>a</title></item>";
        let got = extract(body, None).unwrap();
        assert_eq!(got.entries.len(), 1);
        assert!(got.repairs.cut_short);
        assert!(got.repairs.first[0].what.contains("ends inside <channel>"));
        let body = b"<rss version=\"2.0\"><channel><title>t</title><item><title>a</title></item>\n<item><title>b</ti";
        let got = extract(body, None).unwrap();
        let titles: Vec<_> = got.entries.iter().filter_map(|e| e.title.clone()).collect();
        assert_eq!(titles, ["a"], "the item cut short is left out");
        assert!(got.repairs.cut_short);
    }

    #[test]
    fn well_formed_feeds_report_no_repairs() {
        let body = b"<rss version=\"2.0\"><channel><title>t &amp; u</title><item><title>a</title><pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate></item></channel></rss>";
        let got = extract(body, None).unwrap();
        assert_eq!((got.entries.len(), got.repairs.count), (1, 0));
    }

    #[test]
    fn messy_feeds_are_read_and_said() {
        let said = |got: &Extracted| -> String {
            got.repairs
                .first
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        };
        // A bare `&`, an HTML entity, a wrong weekday.
        let body = "<rss version=\"2.0\"><channel><title>t</title>\n<item><title>Tom & Jerry &eacute;</title><link>http://e.org/?a=1&b=2</link><pubDate>Mon, 01 Dec 2026 10:00:00 GMT</pubDate></item></channel></rss>";
        let got = extract(body.as_bytes(), None).unwrap();
        let e = &got.entries[0];
        assert_eq!(e.title.as_deref(), Some("Tom & Jerry é"));
        assert_eq!(e.link.as_deref(), Some("http://e.org/?a=1&b=2"));
        assert_eq!(e.published, Some("2026-12-01T10:00:00Z".parse().unwrap()));
        let told = said(&got);
        assert!(told.contains("line 2, col 18: unescaped '&'"), "{told}");
        assert!(told.contains("is a Tuesday"), "{told}");
        // Atom: type variants, an RFC 822 date; both entries kept.
        let body = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"TEXT\">f</title><id>f</id><updated>2026-01-01T00:00:00Z</updated>\n<entry><title type=\"text/html\">a &lt;b&gt;x&lt;/b&gt;</title><id>urn:a</id><updated>Sat, 01 Jan 2026 19:48:21 GMT</updated></entry><entry><title type=\"\">b</title><id>urn:b</id><updated>2026-01-02T00:00:00Z</updated></entry></feed>";
        let got = extract(body.as_bytes(), None).unwrap();
        assert_eq!(got.entries.len(), 2, "{}", said(&got));
        assert_eq!(
            got.entries[0].updated,
            Some("2026-01-01T19:48:21Z".parse().unwrap())
        );
        let told = said(&got);
        assert!(
            told.contains("line 2, col 8: type=\"text/html\" read as type=\"html\""),
            "{told}"
        );
        assert!(told.contains("not RFC 3339"), "{told}");
        // RSS items in an Atom feed, items without a channel.
        let body = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>f</title><id>f</id><updated>2026-01-01T00:00:00Z</updated><entry><title>a</title><id>urn:a</id><updated>2026-01-01T00:00:00Z</updated></entry><item><title>b</title><link>http://e.org/b</link></item></feed>";
        let got = extract(body.as_bytes(), None).unwrap();
        let titles: Vec<_> = got.entries.iter().filter_map(|e| e.title.clone()).collect();
        assert_eq!(titles, ["a", "b"], "{}", said(&got));
        let got = extract(b"<rss version=\"2.0\"><item><title>a</title></item><item><title>b</title></item></rss>", None).unwrap();
        assert_eq!(got.entries.len(), 2, "{}", said(&got));
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
    fn markup_in_an_rss_description_is_its_html_and_text_stays_text() {
        let body = "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title><description>Lead &amp; more <p>Use &lt;b&gt; for bold &amp; &lt;script&gt; never.</p></description></item></channel></rss>";
        let got = extract(body.as_bytes(), None).unwrap();
        assert_eq!(
            got.entries[0].summary.as_deref(),
            Some("Lead &amp; more <p>Use &lt;b&gt; for bold &amp; &lt;script&gt; never.</p>")
        );
    }

    #[test]
    fn junk_before_the_root_and_dates_with_markup() {
        let body = "<br />\n<b>Warning</b>: headers sent in <b>/var/www/feed.php</b><br />\n<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>t</title><item><title>a</title></item></channel></rss>";
        let got = extract(body.as_bytes(), None).unwrap();
        assert_eq!(got.entries.len(), 1);
        assert!(got.repairs.first[0]
            .what
            .contains("content before the root"));
        let body = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>f</id><updated>2026-01-01T00:00:00Z</updated><entry><title>b</title><id>b</id><updated><span>2026-12-01T11:00:00Z</span></updated></entry></feed>";
        let got = extract(body.as_bytes(), None).unwrap();
        assert_eq!(
            got.entries[0].updated,
            Some("2026-12-01T11:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn references_to_characters_xml_forbids_are_removed() {
        let body = "<rss version=\"2.0\"><channel><title>t</title><item><title>a&#1;b&#xFFFE;c&#233;</title></item></channel></rss>";
        let got = extract(body.as_bytes(), None).unwrap();
        assert_eq!(got.entries[0].title.as_deref(), Some("abcé"));
        assert_eq!(got.repairs.count, 2, "{:?}", got.repairs);
    }

    #[test]
    fn items_of_both_formats_are_capped_together() {
        let entry =
            "<entry><title>e</title><id>urn:e</id><updated>2026-01-01T00:00:00Z</updated></entry>";
        let body = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title>{}{}</feed>",
            entry.repeat(MAX_ITEMS),
            "<item><title>i</title></item>".repeat(MAX_ITEMS)
        );
        let got = extract(body.as_bytes(), None).unwrap();
        assert_eq!((got.entries.len(), got.capped), (MAX_ITEMS, true));
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
    fn atom_content_by_type() {
        assert_eq!(
            atom_content(Some("TEXT/PLAIN"), "a<b").as_deref(),
            Some("a&lt;b")
        );
        assert_eq!(
            atom_content(Some("HTML"), "<b>x</b>").as_deref(),
            Some("<b>x</b>")
        );
        assert_eq!(
            atom_content(Some("text/html"), "<b>x</b>").as_deref(),
            Some("<b>x</b>")
        );
        assert_eq!(
            atom_content(Some("application/octet-stream"), "aGVsbG8g\n PHdvcmxkPg==").as_deref(),
            Some("hello &lt;world&gt;")
        );
        assert_eq!(
            atom_content(Some("image/png"), "iVBORw0KGgoAAAANSUhEUg=="),
            None
        );
        // UTF-8, but binary: "BUILD-LOG\0\x01\x02 farm-2 ok".
        assert_eq!(
            atom_content(
                Some("application/octet-stream"),
                "QlVJTEQtTE9HAAECIGZhcm0tMiBvawo="
            ),
            None
        );
        // Atom 0.3, escaped and base64.
        let body = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>o</title><modified>2005-01-01T00:00:00Z</modified><entry><title mode=\"escaped\" type=\"text/html\">a &amp;amp; b</title><id>urn:1</id><issued>2005-01-01T00:00:00Z</issued><modified>2005-01-02T00:00:00Z</modified><content type=\"text/html\" mode=\"escaped\">&lt;p&gt;hi&lt;/p&gt;</content></entry><entry><title>b</title><id>urn:2</id><modified>2005-01-03T00:00:00Z</modified><content type=\"text/plain\" mode=\"base64\">aGVsbG8=</content></entry></feed>";
        let got = extract(body.as_bytes(), None).unwrap();
        assert_eq!(got.entries.len(), 2);
        let (a, b) = (&got.entries[0], &got.entries[1]);
        assert_eq!(a.content.as_deref(), Some("<p>hi</p>"));
        assert_eq!(a.published, Some("2005-01-01T00:00:00Z".parse().unwrap()));
        assert_eq!(a.updated, Some("2005-01-02T00:00:00Z".parse().unwrap()));
        assert_eq!(a.title.as_deref(), Some("a &amp; b"));
        assert_eq!(b.content.as_deref(), Some("hello"));
        assert!(got.repairs.first[0]
            .what
            .contains("Atom 0.3 read as Atom 1.0"));
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
