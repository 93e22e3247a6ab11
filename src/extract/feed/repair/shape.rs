//! Stage 2 of the repair path: a well-formed document made what the
//! format parsers read, each change recorded.
//!
//! The parsers match element names as written (`title`, `rdf:RDF`,
//! `content:encoded`) and read Atom 1.0 only, so this pass, over the
//! document's events with namespaces resolved:
//! - reads Atom 0.3 as Atom 1.0 (`issued` → `published`, `modified` →
//!   `updated`, `tagline` → `subtitle`, `mode="escaped"`/`"base64"`);
//! - maps the `type` of Atom text constructs written as a MIME type or in
//!   another case (`text/html`, `HTML`, `""`) to `text`/`html`/`xhtml`;
//! - writes Atom dates in any form [`crate::dates`] reads as RFC 3339 (an
//!   unreadable one is left out, not the feed);
//! - strips the prefix of elements in the format's own namespace
//!   (`<rss:item>`, `<atom:entry>`), declares well-known prefixes used
//!   without a declaration (`dc:`, `media:`);
//! - gives RSS items outside any `<channel>` one, and sets aside the items
//!   of the other format (RSS `<item>`s in an Atom feed) to be read by
//!   their own parser.
//!
//! Events left alone are copied byte for byte.

use std::collections::HashMap;
use std::rc::Rc;

use chrono::{DateTime, SecondsFormat};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::xml::OffsetMap;
use crate::extract::feed::Format;
use crate::repairs::{Location, Repairs};

pub const ATOM: &str = "http://www.w3.org/2005/Atom";
const ATOM_03: &str = "http://purl.org/atom/ns#";
const RSS_10: &str = "http://purl.org/rss/1.0/";
const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// Prefixes feeds use without declaring them, and what they mean.
const KNOWN_PREFIXES: [(&str, &str); 10] = [
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("content", "http://purl.org/rss/1.0/modules/content/"),
    ("atom", ATOM),
    ("media", "http://search.yahoo.com/mrss/"),
    ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
    ("slash", "http://purl.org/rss/1.0/modules/slash/"),
    ("wfw", "http://wellformedweb.org/CommentAPI/"),
    ("sy", "http://purl.org/rss/1.0/modules/syndication/"),
    ("georss", "http://www.georss.org/georss"),
    ("rdf", RDF),
];

/// Longest `xml:base` followed (real ones are a URL).
const MAX_BASE: usize = 2048;

/// Longest date text read (real ones are under 40 bytes).
const MAX_DATE: usize = 200;

/// The shaped document.
pub(in crate::extract::feed) struct Shaped {
    pub doc: Vec<u8>,
    /// Shaped offsets back to the input's.
    pub map: OffsetMap,
    /// Items of the other format, as a document of their own.
    pub foreign: Option<(Format, Vec<u8>)>,
}

/// Repairs that recur (the same `type` on every entry) are said once
/// with their count; the order is of first occurrence.
/// Distinct repairs past [`crate::repairs::KEPT`] are only counted.
#[derive(Default)]
struct Tally {
    seen: HashMap<String, usize>,
    said: Vec<(usize, String, usize)>,
    more: usize,
}

impl Tally {
    fn add(&mut self, at: usize, what: String) {
        match self.seen.get(&what) {
            Some(&i) => self.said[i].2 += 1,
            None if self.said.len() >= crate::repairs::KEPT => self.more += 1,
            None => {
                self.seen.insert(what.clone(), self.said.len());
                self.said.push((at, what, 1));
            }
        }
    }
}

/// What the end tag of an open element becomes.
enum EndAs {
    Keep,
    Rename(Vec<u8>),
    /// Markup inside an RSS text element: written as its text.
    Escape,
}

/// What the text of the current element is collected for.
enum Collect {
    /// An Atom date: rewritten at its end tag.
    Date {
        at: usize,
        name: Vec<u8>,
        text: Vec<u8>,
    },
    /// Atom 0.3 base64 content: decoded at its end tag.
    Base64 { text: Vec<u8> },
}

struct Shaper<'a> {
    doc: &'a [u8],
    format: Format,
    out: Vec<u8>,
    map: OffsetMap,
    tally: Tally,
    /// Individually said (dates); past [`crate::repairs::KEPT`], counted.
    notes: Vec<(usize, String)>,
    notes_more: usize,
    ends: Vec<EndAs>,
    collect: Option<Collect>,
    /// The depth of the element [`Shaper::collect`] reads.
    collect_depth: usize,
    /// Skipping a subtree: the depth it started at.
    skip: Option<usize>,
    /// Setting aside a foreign item: its depth and start.
    foreign_item: Option<(usize, usize)>,
    foreign: Vec<u8>,
    foreign_count: usize,
    atom03: bool,
    /// The root start tag's output range; prefixes to declare on it.
    root_tag: Option<std::ops::Range<usize>>,
    root_decls: Vec<u8>,
    undeclared: Vec<&'static str>,
    saw_channel: bool,
    /// Where the first item outside a channel is.
    root_items: Option<usize>,
    /// Inside an RSS `<title>`/`<description>` opened at this depth.
    /// (its depth, where its text starts in the output, whether markup
    /// was found in it: then its text is escaped once more, so that
    /// `&lt;b&gt;` written as text stays text in the HTML it becomes).
    text_field: Option<(usize, usize, bool)>,
    /// `xml:base` in scope: the depth each was set at, and its value.
    bases: Vec<(usize, Option<Rc<url::Url>>)>,
}

/// Shapes `doc` (well-formed) for the `format` parser. `locate` names
/// places of `doc`. An error means the pass could not read the document
/// (a namespace it cannot resolve): the caller reads it unshaped.
pub(in crate::extract::feed) fn shape(
    doc: &[u8],
    format: Format,
    locate: &dyn Fn(usize) -> Location,
    repairs: &mut Repairs,
) -> Result<Shaped, String> {
    let mut s = Shaper {
        doc,
        format,
        out: Vec::with_capacity(doc.len() + 64),
        map: OffsetMap::default(),
        tally: Tally::default(),
        notes: Vec::new(),
        notes_more: 0,
        ends: Vec::new(),
        collect: None,
        collect_depth: 0,
        skip: None,
        foreign_item: None,
        foreign: Vec::new(),
        foreign_count: 0,
        atom03: false,
        root_tag: None,
        root_decls: Vec::new(),
        undeclared: Vec::new(),
        saw_channel: false,
        root_items: None,
        text_field: None,
        bases: Vec::new(),
    };
    s.run()?;
    for (at, what, n) in std::mem::take(&mut s.tally.said) {
        let what = if n > 1 {
            format!("{what} ({n} times)")
        } else {
            what
        };
        repairs.push_times(n, || Some(locate(at)), || what);
    }
    for (at, what) in std::mem::take(&mut s.notes) {
        repairs.push_lazy(|| Some(locate(at)), || what);
    }
    repairs.count += s.tally.more + s.notes_more;
    let foreign = (s.foreign_count > 0).then(|| s.foreign_document());
    let foreign = foreign.map(|f| (f, std::mem::take(&mut s.foreign)));
    s.declare_prefixes();
    Ok(Shaped {
        doc: s.out,
        map: s.map,
        foreign,
    })
}

fn position(reader: &NsReader<&[u8]>, len: usize) -> usize {
    usize::try_from(reader.buffer_position()).map_or(len, |p| p.min(len))
}

impl Shaper<'_> {
    fn copy(&mut self, from: usize, to: usize) {
        self.map.mark(self.out.len(), from);
        self.out.extend_from_slice(&self.doc[from..to]);
    }

    fn run(&mut self) -> Result<(), String> {
        let doc = self.doc;
        let mut reader = NsReader::from_reader(doc);
        let mut buf = Vec::new();
        loop {
            let before = position(&reader, doc.len());
            let (ns, event) = reader
                .read_resolved_event_into(&mut buf)
                .map_err(|e| e.to_string())?;
            let ns = match ns {
                ResolveResult::Bound(n) => Some(String::from_utf8_lossy(n.as_ref()).into_owned()),
                ResolveResult::Unknown(p) => {
                    self.unknown_prefix(&p, before);
                    None
                }
                ResolveResult::Unbound => None,
            };
            let after = position(&reader, doc.len());
            match event {
                Event::Eof => break,
                Event::Start(e) => self.start(&e, ns.as_deref(), before, after, false),
                Event::Empty(e) => self.start(&e, ns.as_deref(), before, after, true),
                Event::End(_) => self.end(before, after),
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)
                    if self.skip.is_none() && self.foreign_item.is_none() =>
                {
                    match &mut self.collect {
                        Some(Collect::Date { text, .. } | Collect::Base64 { text }) => {
                            if text.len() < MAX_DATE * 1000 {
                                text.extend_from_slice(&doc[before..after]);
                            }
                        }
                        None if self.text_field.is_some_and(|(.., markup)| markup)
                            && !matches!(event, Event::CData(_)) =>
                        {
                            self.escape(before, after)
                        }
                        None => self.copy(before, after),
                    }
                }
                _ if self.skip.is_some() || self.foreign_item.is_some() => {}
                _ => self.copy(before, after),
            }
            buf.clear();
        }
        Ok(())
    }

    fn unknown_prefix(&mut self, prefix: &[u8], at: usize) {
        let p = String::from_utf8_lossy(prefix).into_owned();
        if let Some((known, uri)) = KNOWN_PREFIXES.iter().find(|(k, _)| *k == p) {
            if !self.undeclared.contains(known) {
                self.undeclared.push(known);
            }
            self.tally.add(
                at,
                format!("prefix '{known}:' used without a declaration; read as {uri}"),
            );
        }
    }

    /// Whether `ns` is the format's own namespace.
    fn own(&self, ns: Option<&str>) -> bool {
        match self.format {
            Format::Atom => matches!(ns, Some(ATOM | ATOM_03)),
            _ => matches!(ns, Some(RSS_10 | RSS_090)),
        }
    }

    fn start(
        &mut self,
        e: &BytesStart<'_>,
        ns: Option<&str>,
        before: usize,
        after: usize,
        empty: bool,
    ) {
        let depth = self.ends.len();
        // Skipped, set aside, or markup inside a date or base64 text
        // (`<updated><span>…</span></updated>`): only its text counts.
        if self.skip.is_some() || self.foreign_item.is_some() || self.collect.is_some() {
            if !empty {
                self.ends.push(EndAs::Keep);
            }
            return;
        }
        let qname = e.name();
        let qname = qname.as_ref();
        let local = qname
            .rsplit(|b| *b == b':')
            .next()
            .unwrap_or(qname)
            .to_vec();
        let prefixed = local.len() < qname.len();
        if depth == 0 {
            return self.root(e, ns, before, after, empty);
        }
        // The other format's items, set aside whole.
        let foreign = match self.format {
            Format::Atom => depth == 1 && local == b"item",
            _ => depth <= 2 && local == b"entry",
        };
        if foreign {
            self.tally.add(
                before,
                match self.format {
                    Format::Atom => "RSS <item> inside an Atom feed read as an entry".into(),
                    _ => "Atom <entry> inside an RSS feed read as an item".into(),
                },
            );
            if self.foreign_count == 0 {
                self.foreign_head();
            }
            self.foreign_count += 1;
            if empty {
                self.foreign.extend_from_slice(&self.doc[before..after]);
            } else {
                self.foreign_item = Some((depth, before));
                self.ends.push(EndAs::Keep);
            }
            return;
        }
        if depth == 1 && local == b"channel" {
            self.saw_channel = true;
        }
        if depth == 1 && local == b"item" && self.format == Format::Rss {
            self.root_items.get_or_insert(before);
        }
        if let Some((_, from, markup)) = &mut self.text_field {
            // Markup where the rss parser reads text (and drops what
            // elements hold): the HTML it means.
            if !*markup {
                *markup = true;
                let from = *from;
                let text = self.out.split_off(from);
                for b in text {
                    match b {
                        b'&' => self.out.extend_from_slice(b"&amp;"),
                        b => self.out.push(b),
                    }
                }
            }
            self.tally.add(
                before,
                "markup inside an RSS text element read as its HTML".into(),
            );
            self.escape(before, after);
            if !empty {
                self.ends.push(EndAs::Escape);
            }
            return;
        }
        let opens_text_field = self.format == Format::Rss
            && !prefixed
            && matches!(&local[..], b"title" | b"description")
            && !empty;
        let own = self.own(ns);
        let mut name = qname.to_vec();
        if own && prefixed {
            let prefix =
                String::from_utf8_lossy(&qname[..qname.len() - local.len() - 1]).into_owned();
            self.tally.add(
                before,
                format!(
                    "elements prefixed '{prefix}:' read as unprefixed {}",
                    self.format.name()
                ),
            );
            name = local.clone();
        }
        // Atom 0.3's names.
        let atom03 = ns == Some(ATOM_03);
        if atom03 {
            let renamed: Option<&[u8]> = match &local[..] {
                b"issued" => Some(b"published"),
                b"modified" => Some(b"updated"),
                b"tagline" => Some(b"subtitle"),
                b"copyright" => Some(b"rights"),
                b"url" => Some(b"uri"),
                _ => None,
            };
            if let Some(r) = renamed {
                name = r.to_vec();
            }
            if matches!(&local[..], b"created" | b"info") {
                if !empty {
                    self.skip = Some(depth);
                    self.ends.push(EndAs::Keep);
                }
                return;
            }
        }
        let atom = matches!(ns, Some(ATOM | ATOM_03)) && self.format == Format::Atom;
        let mut attrs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut attrs_changed = false;
        let mut base64 = false;
        let mut mode: Option<Vec<u8>> = None;
        for a in e.attributes().with_checks(false).flatten() {
            attrs.push((a.key.as_ref().to_vec(), a.value.to_vec()));
        }
        attrs_changed |= self.resolve_bases(depth, &mut attrs, empty);
        if atom {
            if atom03 {
                if let Some(i) = attrs.iter().position(|(k, _)| k == b"mode") {
                    mode = Some(attrs.remove(i).1);
                    attrs_changed = true;
                }
            }
            let text_construct =
                matches!(&name[..], b"title" | b"subtitle" | b"summary" | b"rights");
            let content = name == b"content";
            if text_construct || (content && atom03) {
                let written = attrs.iter().position(|(k, _)| k == b"type");
                let value = written.map(|i| String::from_utf8_lossy(&attrs[i].1).into_owned());
                let mut wanted = text_type(value.as_deref(), mode.as_deref());
                if mode.as_deref() == Some(b"base64") {
                    base64 = true;
                    wanted = Some(if value.as_deref().is_some_and(|v| v.contains("html")) {
                        "html"
                    } else {
                        "text"
                    });
                }
                if let Some(wanted) = wanted {
                    let shown = value.clone().unwrap_or_default();
                    if !atom03 {
                        self.tally.add(
                            before,
                            format!(
                                "type=\"{}\" read as type=\"{wanted}\"",
                                crate::text::one_line(&shown, 40)
                            ),
                        );
                    }
                    match written {
                        Some(i) => attrs[i].1 = wanted.as_bytes().to_vec(),
                        None => attrs.push((b"type".to_vec(), wanted.as_bytes().to_vec())),
                    }
                    attrs_changed = true;
                }
            }
            if matches!(&name[..], b"updated" | b"published") && !empty {
                // Written whole at its end, or left out.
                self.collect = Some(Collect::Date {
                    at: before,
                    name,
                    text: Vec::new(),
                });
                self.collect_depth = depth;
                self.ends.push(EndAs::Keep);
                return;
            }
        }
        if base64 && !empty {
            self.collect = Some(Collect::Base64 { text: Vec::new() });
            self.collect_depth = depth;
        }
        if base64 && empty {
            self.collect = None;
        }
        if name == qname && !attrs_changed {
            self.copy(before, after);
        } else {
            self.write_start(before, &name, &attrs, empty);
        }
        if !empty {
            self.ends.push(if name == qname {
                EndAs::Keep
            } else {
                EndAs::Rename(name)
            });
        }
        if opens_text_field {
            self.text_field = Some((depth, self.out.len(), false));
        }
    }

    fn note(&mut self, said: (usize, String)) {
        if self.notes.len() < crate::repairs::KEPT {
            self.notes.push(said);
        } else {
            self.notes_more += 1;
        }
    }

    /// Writes the markup at `from..to` as text.
    fn escape(&mut self, from: usize, to: usize) {
        self.map.mark(self.out.len(), from);
        for b in &self.doc[from..to] {
            match b {
                b'<' => self.out.extend_from_slice(b"&lt;"),
                b'>' => self.out.extend_from_slice(b"&gt;"),
                b'&' => self.out.extend_from_slice(b"&amp;"),
                b => self.out.push(*b),
            }
        }
    }

    /// `xml:base` (valid Atom, ignored by the parsers; no repair said):
    /// an element's relative `href`/`src` resolved against the base in
    /// scope. Whether an attribute changed.
    fn resolve_bases(
        &mut self,
        depth: usize,
        attrs: &mut [(Vec<u8>, Vec<u8>)],
        empty: bool,
    ) -> bool {
        // Shared, not copied per element: a base may be long, and a
        // document may hold 100,000 elements under it.
        let parent = self.bases.last().and_then(|(_, b)| b.clone());
        let base = match attrs.iter().find(|(k, _)| k == b"xml:base") {
            Some((_, v)) if v.len() <= MAX_BASE => {
                let v = String::from_utf8_lossy(v).into_owned();
                let v = quick_xml::escape::unescape(&v)
                    .map(|v| v.into_owned())
                    .unwrap_or(v);
                let joined = match &parent {
                    Some(b) => b.join(&v).ok(),
                    None => url::Url::parse(&v).ok(),
                };
                let base = joined.map(Rc::new).or(parent);
                if !empty {
                    self.bases.push((depth, base.clone()));
                }
                base
            }
            _ => parent,
        };
        let Some(base) = base else { return false };
        let mut changed = false;
        for (_, v) in attrs
            .iter_mut()
            .filter(|(k, _)| k == b"href" || k == b"src")
        {
            let written = String::from_utf8_lossy(v).into_owned();
            let written = quick_xml::escape::unescape(&written)
                .map(|w| w.into_owned())
                .unwrap_or(written);
            if url::Url::parse(&written).is_err() {
                if let Ok(joined) = base.join(&written) {
                    *v = quick_xml::escape::escape(joined.as_str())
                        .as_bytes()
                        .to_vec();
                    changed = true;
                }
            }
        }
        changed
    }

    fn write_start(&mut self, at: usize, name: &[u8], attrs: &[(Vec<u8>, Vec<u8>)], empty: bool) {
        self.map.mark(self.out.len(), at);
        self.out.push(b'<');
        self.out.extend_from_slice(name);
        for (k, v) in attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(k);
            self.out.extend_from_slice(b"=\"");
            // Values come from a well-formed document: `"` only as a
            // reference, unless the value was single-quoted.
            for b in v {
                match b {
                    b'"' => self.out.extend_from_slice(b"&quot;"),
                    b'<' => self.out.extend_from_slice(b"&lt;"),
                    b => self.out.push(*b),
                }
            }
            self.out.push(b'"');
        }
        self.out.extend_from_slice(if empty { b"/>" } else { b">" });
    }

    fn root(
        &mut self,
        e: &BytesStart<'_>,
        ns: Option<&str>,
        before: usize,
        after: usize,
        empty: bool,
    ) {
        let qname = e.name();
        let qname = qname.as_ref();
        let local = qname.rsplit(|b| *b == b':').next().unwrap_or(qname);
        let mut attrs: Vec<(Vec<u8>, Vec<u8>)> = e
            .attributes()
            .with_checks(false)
            .flatten()
            .map(|a| (a.key.as_ref().to_vec(), a.value.to_vec()))
            .collect();
        // Declarations the foreign items may need.
        for (k, v) in attrs.iter().filter(|(k, _)| k.starts_with(b"xmlns:")) {
            if self.root_decls.len() < 16 * 1024 {
                self.root_decls.push(b' ');
                self.root_decls.extend_from_slice(k);
                self.root_decls.extend_from_slice(b"=\"");
                self.root_decls.extend_from_slice(v);
                self.root_decls.push(b'"');
            }
        }
        let mut name = qname.to_vec();
        let mut changed = self.resolve_bases(0, &mut attrs, empty);
        if ns == Some(ATOM_03) {
            self.atom03 = true;
            self.tally.add(before, "Atom 0.3 read as Atom 1.0".into());
            for (_, v) in attrs
                .iter_mut()
                .filter(|(k, v)| k.starts_with(b"xmlns") && v == ATOM_03.as_bytes())
            {
                *v = ATOM.as_bytes().to_vec();
            }
            attrs.retain(|(k, _)| k != b"version");
            changed = true;
        }
        if local == b"RDF" && qname != b"rdf:RDF" && ns == Some(RDF) {
            name = b"rdf:RDF".to_vec();
            self.tally
                .add(before, "RDF root element read as <rdf:RDF>".into());
            if !attrs.iter().any(|(k, _)| k == b"xmlns:rdf") {
                attrs.push((b"xmlns:rdf".to_vec(), RDF.as_bytes().to_vec()));
            }
            changed = true;
        } else if local != b"RDF" && local.len() < qname.len() && self.own(ns) {
            let prefix =
                String::from_utf8_lossy(&qname[..qname.len() - local.len() - 1]).into_owned();
            self.tally.add(
                before,
                format!(
                    "elements prefixed '{prefix}:' read as unprefixed {}",
                    self.format.name()
                ),
            );
            name = local.to_vec();
            changed = true;
        }
        if changed {
            self.write_start(before, &name, &attrs, empty);
        } else {
            self.copy(before, after);
        }
        self.root_tag = Some(self.root_tag_range(empty));
        if !empty {
            self.ends.push(if name == qname {
                EndAs::Keep
            } else {
                EndAs::Rename(name)
            });
        }
    }

    /// The root start tag just written: where it ends, before `>`/`/>`.
    fn root_tag_range(&self, empty: bool) -> std::ops::Range<usize> {
        let end = self.out.len() - if empty { 2 } else { 1 };
        let start = self.out[..end]
            .iter()
            .rposition(|b| *b == b'<')
            .unwrap_or(0);
        start..end
    }

    fn end(&mut self, before: usize, after: usize) {
        let depth = self.ends.len().saturating_sub(1);
        let end_as = self.ends.pop().unwrap_or(EndAs::Keep);
        while self.bases.last().is_some_and(|(d, _)| *d >= depth) {
            self.bases.pop();
        }
        if self.text_field.is_some_and(|(d, ..)| d == depth) {
            self.text_field = None;
        }
        if let Some((d, start)) = self.foreign_item {
            if d == depth {
                self.foreign.extend_from_slice(&self.doc[start..after]);
                self.foreign_item = None;
            }
            return;
        }
        if let Some(d) = self.skip {
            if d == depth {
                self.skip = None;
            }
            return;
        }
        if self.collect.is_some() && depth > self.collect_depth {
            // The end of markup inside a date or base64 text: its text
            // was collected, its tags are not written.
            return;
        }
        match self.collect.take() {
            Some(Collect::Date { at, name, text }) => return self.date(at, &name, &text),
            Some(Collect::Base64 { text }) => self.base64(&text, before),
            None => {}
        }
        if let (0, Format::Rss, false, Some(first)) =
            (depth, self.format, self.saw_channel, self.root_items)
        {
            // The rss parser reads items beside a channel into it.
            self.note((
                first,
                "<item>s outside a <channel> read as the channel's".into(),
            ));
            self.map.mark(self.out.len(), before);
            self.out.extend_from_slice(b"<channel></channel>");
        }
        match end_as {
            EndAs::Keep => self.copy(before, after),
            EndAs::Escape => self.escape(before, after),
            EndAs::Rename(name) => {
                self.map.mark(self.out.len(), before);
                self.out.extend_from_slice(b"</");
                self.out.extend_from_slice(&name);
                self.out.push(b'>');
            }
        }
    }

    /// An Atom date element, its text raw (escaped XML): kept when RFC
    /// 3339, else rewritten; an unreadable one is left out.
    fn date(&mut self, at: usize, name: &[u8], raw: &[u8]) {
        let text = quick_xml::escape::unescape(&String::from_utf8_lossy(raw))
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        let shown = crate::text::one_line(&text, 60);
        let value = if DateTime::parse_from_rfc3339(&text).is_ok() {
            text
        } else {
            let mut note = None;
            let parsed = (text.len() <= MAX_DATE)
                .then(|| crate::dates::parse_date_noting(&text, None, &mut note))
                .flatten();
            let Some(d) = parsed else {
                self.note((at, format!("unreadable date '{shown}' left out")));
                return;
            };
            let iso = d.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            let mut what = format!("date '{shown}' is not RFC 3339; read as {iso}");
            if let Some(n) = note {
                what.push_str(&format!(" ({n})"));
            }
            self.note((at, what));
            iso
        };
        self.map.mark(self.out.len(), at);
        self.out.push(b'<');
        self.out.extend_from_slice(name);
        self.out.push(b'>');
        self.out
            .extend_from_slice(quick_xml::escape::escape(value.as_str()).as_bytes());
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name);
        self.out.push(b'>');
    }

    fn base64(&mut self, raw: &[u8], _end_at: usize) {
        use base64::Engine as _;
        let compact: Vec<u8> = raw
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded {
            Some(text) => {
                let escaped = quick_xml::escape::escape(text.as_str()).into_owned();
                self.out.extend_from_slice(escaped.as_bytes());
            }
            None => self
                .notes
                .push((_end_at, "base64 content that is not text left out".into())),
        }
    }

    /// Declares the well-known prefixes used without a declaration on the
    /// root element.
    fn declare_prefixes(&mut self) {
        let Some(root) = self.root_tag.clone() else {
            return;
        };
        let mut decls = Vec::new();
        for p in std::mem::take(&mut self.undeclared) {
            let uri = KNOWN_PREFIXES
                .iter()
                .find(|(k, _)| *k == p)
                .map(|(_, u)| *u)
                .unwrap_or_default();
            decls.extend_from_slice(format!(" xmlns:{p}=\"{uri}\"").as_bytes());
        }
        if !decls.is_empty() {
            let n = decls.len();
            self.out.splice(root.end..root.end, decls);
            self.map.shift_after(root.end, n);
        }
    }

    /// Starts the other format's document, its root declaring what the
    /// feed's root declared (items are appended as they are found).
    fn foreign_head(&mut self) {
        let decls = String::from_utf8_lossy(&self.root_decls).into_owned();
        let head = match self.format {
            Format::Atom => format!("<rss version=\"2.0\"{decls}><channel>"),
            _ => format!("<feed xmlns=\"{ATOM}\"{decls}>"),
        };
        self.foreign.extend_from_slice(head.as_bytes());
    }

    /// Closes the other format's document: its format.
    fn foreign_document(&mut self) -> Format {
        match self.format {
            Format::Atom => {
                self.foreign.extend_from_slice(b"</channel></rss>");
                Format::Rss
            }
            _ => {
                self.foreign.extend_from_slice(b"</feed>");
                Format::Atom
            }
        }
    }
}

/// The Atom text-construct `type` to write for what was written (and an
/// Atom 0.3 `mode`), or `None` when it is right as it is.
fn text_type(written: Option<&str>, mode: Option<&[u8]>) -> Option<&'static str> {
    let w = written.map(|w| w.trim().to_ascii_lowercase());
    let wanted = match (w.as_deref(), mode) {
        (_, Some(b"xml")) => "xhtml",
        (Some("html" | "text/html"), _) => "html",
        (Some("xhtml" | "application/xhtml+xml"), _) => "xhtml",
        (Some(t), Some(b"escaped")) if t.contains("html") => "html",
        (None, None) => return None,
        _ => "text",
    };
    (written != Some(wanted)).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(doc: &str, format: Format) -> (String, Repairs, Option<String>) {
        let mut repairs = Repairs::default();
        let s = shape(
            doc.as_bytes(),
            format,
            &|_| Location { line: 1, column: 1 },
            &mut repairs,
        )
        .unwrap();
        (
            String::from_utf8(s.doc).unwrap(),
            repairs,
            s.foreign.map(|(_, d)| String::from_utf8(d).unwrap()),
        )
    }

    #[test]
    fn atom_types_and_dates() {
        let (out, r, _) = shaped(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text/html\">a</title><entry><title type=\"HTML\">b</title><updated>Sat, 01 Jan 2026 19:48:21 GMT</updated><published>never</published></entry></feed>",
            Format::Atom,
        );
        assert_eq!(
            out,
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"html\">a</title><entry><title type=\"html\">b</title><updated>2026-01-01T19:48:21Z</updated></entry></feed>"
        );
        let said: Vec<_> = r.first.iter().map(|r| r.what.clone()).collect();
        assert_eq!(said.len(), 4, "{said:?}");
        assert!(said[0].contains("type=\"text/html\" read as type=\"html\""));
    }
}
