//! The bounds a feed document is held to before a format parser builds
//! it (see [`check_well_formed`]), read in one streaming pass.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::extract::cap::MAX_ITEMS;
use crate::extract::ExtractError;

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

/// Why [`check_well_formed`] did not pass a document.
#[derive(Debug)]
pub(super) enum Unread {
    /// A bound refused it: no repair reads it either.
    Refused(ExtractError),
    /// It is not well-formed at byte `at` (of the decoded document): the
    /// repair path may read it.
    IllFormed { at: usize, cause: String },
}

/// What [`check_well_formed`] found to repair.
#[derive(Debug, Default)]
pub(super) struct Checked {
    /// The document to parse instead, when it had to be cut or items
    /// left out of it.
    pub doc: Option<Vec<u8>>,
    /// More than [`MAX_ITEMS`] items: the first ones kept.
    pub capped: bool,
    /// Items whose elements past [`MAX_ITEM_ELEMENTS`] were left out.
    pub trimmed: usize,
    /// Items (RSS `<item>`, Atom `<entry>`) the document holds at the
    /// depth a feed puts them, up to the cut: a parser that reads fewer
    /// lost some (items after `</channel>`, RSS items in Atom).
    pub items: usize,
    /// Well-formed, but read by the format parser other than as meant,
    /// first at this offset: an Atom 0.3 feed (read as 1.0, its dates
    /// lost), an HTML entity (left as text), markup inside an RSS
    /// `<title>`/`<description>` (its text dropped), a well-known prefix
    /// never declared (`dc:creator` lost), content after the root.
    pub flaw: Option<(usize, &'static str)>,
    /// The document uses `xml:base`, which the parsers ignore.
    pub bases: bool,
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
pub(super) fn check_well_formed(body: &[u8], format: &'static str) -> Result<Checked, Unread> {
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
    // Items read whole before a cut at the node budget.
    let mut whole = None;
    // The first place the format parser would read other than as meant
    // (see [`Checked::flaw`]); prefixes declared; `xml:base` seen.
    let mut flaw: Option<(usize, &'static str)> = None;
    let mut declared: Vec<Vec<u8>> = Vec::new();
    let mut bases = false;
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
            .map_err(|e| Unread::IllFormed {
                at: position(&reader),
                cause: e.to_string(),
            })?;
        let mut kept_item = false;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name();
                if flaw.is_none() {
                    flaw = flaw_at(name.as_ref(), &open, saw_root, format, &declared)
                        .map(|f| (before, f));
                }
                saw_root = true;
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
                        let key = a.key.as_ref();
                        if key.starts_with(b"xmlns") {
                            namespaces += 1;
                            if let Some(p) = key.strip_prefix(b"xmlns:") {
                                declared.push(p.to_vec());
                            }
                            if open.is_empty() && &a.value[..] == ATOM_03.as_bytes() {
                                flaw = flaw.or(Some((before, "an Atom 0.3 feed")));
                            }
                        }
                        bases |= key == b"xml:base";
                    }
                }
                if namespaces > MAX_NAMESPACES {
                    return Err(Unread::Refused(ExtractError::Malformed {
                        format,
                        message: format!(
                            "more than {MAX_NAMESPACES} namespace declarations; refused"
                        ),
                    }));
                }
                if nodes > MAX_DOCUMENT_NODES {
                    over_budget = true;
                    break;
                }
                if others > MAX_OTHER_ELEMENTS {
                    return Err(Unread::Refused(ExtractError::Malformed {
                        format,
                        message: format!(
                            "more than {MAX_OTHER_ELEMENTS} elements outside its items; refused"
                        ),
                    }));
                }
                if !empty {
                    open.push(name.as_ref().to_vec());
                    if open.len() > crate::depth::MAX_NESTING {
                        return Err(Unread::Refused(
                            crate::depth::TooDeep::nesting(format).into(),
                        ));
                    }
                }
            }
            // SECURITY: feeds never need a DTD with entity declarations;
            // refusing them outright rules out entity-expansion bombs
            // ("billion laughs") and external entities, whatever a parser
            // would do with them.
            Event::DocType(d) if d.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY")) => {
                return Err(Unread::Refused(ExtractError::Malformed {
                    format,
                    message: "the document declares entities in a DTD, which feeds never need; refused (possible entity-expansion attack)".into(),
                }));
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
            Event::GeneralRef(r)
                if flaw.is_none()
                    && !r.is_char_ref()
                    && !matches!(&r[..], b"amp" | b"lt" | b"gt" | b"quot" | b"apos") =>
            {
                flaw = Some((before, "an entity XML does not define"));
            }
            // `&#1;` parses, and a served feed holding U+0001 is not XML.
            Event::GeneralRef(r)
                if flaw.is_none()
                    && r.is_char_ref()
                    && !matches!(r.resolve_char_ref(), Ok(Some(c)) if super::repair::is_xml_char(u32::from(c))) =>
            {
                flaw = Some((before, "a character reference to a character XML forbids"));
            }
            Event::Text(t)
                if flaw.is_none() && open.is_empty() && !t.iter().all(u8::is_ascii_whitespace) =>
            {
                flaw = Some((
                    before,
                    if saw_root {
                        "content after the root element"
                    } else {
                        "content before the root element"
                    },
                ));
            }
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
            return Err(Unread::Refused(ExtractError::Malformed {
                format,
                message: format!(
                    "more than {MAX_DOCUMENT_NODES} elements and attributes before its first item ends; refused"
                ),
            }));
        }
        whole = Some(items);
        items = items.max(MAX_ITEMS + 1);
    } else if let Some(name) = open.last() {
        return Err(Unread::IllFormed {
            at: body.len(),
            cause: format!(
                "the document ends inside <{}> (cut short?)",
                crate::text::one_line(&String::from_utf8_lossy(name), 64)
            ),
        });
    } else if !saw_root {
        return Err(Unread::IllFormed {
            at: body.len(),
            cause: "no root element".into(),
        });
    }
    let handed = whole.unwrap_or(items).min(MAX_ITEMS);
    let cut = cut.filter(|_| items > MAX_ITEMS);
    let end = cut.as_ref().map_or(body.len(), |(at, _)| *at);
    let left_out: Vec<_> = left_out.into_iter().filter(|r| r.start < end).collect();
    if cut.is_none() && left_out.is_empty() {
        return Ok(Checked {
            items: handed,
            flaw,
            bases,
            ..Checked::default()
        });
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
        items: handed,
        flaw,
        bases,
    })
}

const ATOM_03: &str = "http://purl.org/atom/ns#";

/// Prefixes whose namespace the rss parser needs to see declared.
const KNOWN_PREFIXES: [&[u8]; 9] = [
    b"dc", b"content", b"atom", b"media", b"itunes", b"slash", b"wfw", b"sy", b"georss",
];

/// The flaw an element `name` opening inside `open` shows, if any (see
/// [`Checked::flaw`]).
fn flaw_at(
    name: &[u8],
    open: &[Vec<u8>],
    saw_root: bool,
    format: &str,
    declared: &[Vec<u8>],
) -> Option<&'static str> {
    if open.is_empty() {
        return saw_root.then_some("content after the root element");
    }
    if format == "RSS"
        && matches!(
            open.last().map(Vec::as_slice),
            Some(b"title" | b"description")
        )
    {
        return Some("markup inside an RSS text element");
    }
    let (prefix, _) = name.split_at(name.iter().position(|b| *b == b':')?);
    (KNOWN_PREFIXES.contains(&prefix) && !declared.iter().any(|d| d == prefix))
        .then_some("a namespace prefix never declared")
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
