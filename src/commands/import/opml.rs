//! OPML subscription lists as feed readers export them (OPML 1.0, 1.1 and
//! 2.0), read in one streaming pass into [`Outline`]s: the importer's wire
//! type, which never leaves `import`.
//!
//! What is read:
//! - an `<outline>` with an `xmlUrl` is a feed (the attribute's name in
//!   any case: hand-edited files write `xmlurl` and `XMLURL`); its name is
//!   its `title`, else its `text` (Feedly and Inoreader write both,
//!   newsboat only `title`, OPML 2.0 requires only `text`);
//! - an `<outline>` without one that holds outlines is a folder: its
//!   `title` (else `text`) names a category of every feed inside it, and
//!   folders inside folders make a path (`Tech` / `Rust`);
//! - a feed's `category` attribute (OPML 2.0: comma-separated,
//!   slash-delimited paths, `/Tech/Rust,News`) adds categories; a path in
//!   the Google Reader API's stream-id form (`user/ID/category/NAME`,
//!   `user/ID/label/NAME`) is read as NAME, and its built-in streams
//!   (`global.all`, `global.uncategorized`) as no category;
//! - an outline with neither an `xmlUrl` nor outlines inside (an empty
//!   folder, a `type="link"` or `type="include"` outline) is yielded too,
//!   without a URL, so the importer can say why it skipped it;
//! - `<head><title>`, the list's name.
//!
//! Everything else (`htmlUrl`, `description`, FreshRSS's `frss:`
//! attributes, Miniflux's rules) is ignored.
//!
//! SECURITY: a subscription list is a stranger's file, and every resource
//! it drives is bounded: the file's size ([`MAX_OPML_BYTES`]), nesting
//! ([`crate::depth::MAX_NESTING`], checked as elements open, with no
//! recursion), the length of every name and URL kept and the categories
//! per feed, so the work per outline is constant and the pass linear. A
//! DTD declaring entities is refused (OPML never needs one; it is how a
//! "billion laughs" file is built), and entities are never expanded: an
//! undeclared `&lol9;` in an attribute is kept as its literal text.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::depth::MAX_NESTING;
use crate::text::one_line;

/// The largest subscription list read (16 MiB): readers' exports of
/// thousands of feeds are a few hundred KiB.
pub const MAX_OPML_BYTES: u64 = 16 << 20;
/// Folder levels kept of a category path; deeper folders are read as their
/// ancestor at this depth. Readers nest one level, a few outliners more.
pub const MAX_CATEGORY_DEPTH: usize = 4;
/// Category paths kept per feed (its folder and its `category` paths).
pub const MAX_CATEGORIES: usize = 8;
/// Longest category name kept (characters); longer ones are cut.
pub const MAX_NAME: usize = 100;
/// Longest feed title or list title kept (characters); longer ones are cut.
pub const MAX_TITLE: usize = 200;
/// Longest `xmlUrl` read (bytes); a longer one is yielded cut, and
/// [`Outline::url_too_long`] says so.
pub const MAX_URL: usize = 8 * 1024;

/// Why a document is not read as a subscription list. Messages name the
/// place (line and column, from 1) where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    #[error("larger than {} MiB; refused", MAX_OPML_BYTES >> 20)]
    TooLarge,
    #[error("not well-formed XML (line {line}, column {column}): {cause}")]
    NotXml {
        line: usize,
        column: usize,
        cause: String,
    },
    #[error("declares entities in a DTD (line {line}), which OPML never needs; refused (possible entity-expansion attack)")]
    Entities { line: usize },
    #[error("not OPML: the root element is <{0}>")]
    NotOpml(String),
    #[error("nested deeper than {MAX_NESTING} levels (line {line}); refused")]
    TooDeep { line: usize },
}

/// One `<outline>` that is not a folder: a feed, or something without an
/// `xmlUrl` the importer reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    /// Line of its start tag (from 1).
    pub line: usize,
    /// `title`, else `text`: trimmed, one line, at most [`MAX_TITLE`]
    /// characters (then cut with `…`); `None` when both are missing or
    /// blank.
    pub title: Option<String>,
    /// `xmlUrl` as written (entities resolved, trimmed), at most
    /// [`MAX_URL`] bytes.
    pub xml_url: Option<String>,
    /// The `xmlUrl` was longer than [`MAX_URL`] bytes.
    pub url_too_long: bool,
    /// `type` (`rss`, `atom`, `link`, `include`, FreshRSS's
    /// `HTML+XPath`...), as written.
    pub kind: Option<String>,
    /// Category paths, outermost name first: the folders it is in, then
    /// its `category` paths; without duplicates (compared ignoring case),
    /// at most [`MAX_CATEGORIES`] of at most [`MAX_CATEGORY_DEPTH`] names.
    pub categories: Vec<Vec<String>>,
}

/// A subscription list being read: call [`Opml::next_outline`] until it
/// gives `None`; [`Opml::title`] is known once it has.
pub struct Opml<'a> {
    reader: Reader<&'a [u8]>,
    doc: &'a [u8],
    /// The open elements, innermost last.
    open: Vec<Open>,
    /// The names of the folders the reader is in (those with a name, at
    /// most [`MAX_CATEGORY_DEPTH`]), outermost first.
    folders: Vec<String>,
    title: Option<String>,
    lines: Lines,
    seen_root: bool,
    done: bool,
}

/// An open element: what it means for what is inside it.
enum Open {
    Head,
    /// `<title>` in `<head>`: its text is the list's title.
    HeadTitle,
    /// An outline without an `xmlUrl`: a folder once an outline opens
    /// inside it; until then, `leaf` is what to yield if none does.
    Folder {
        named: bool,
        leaf: Option<Outline>,
    },
    /// Anything else (a feed's outline, `<body>`, foreign elements);
    /// the name is for the message when the document ends inside it.
    Other(String),
}

impl<'a> Opml<'a> {
    /// A reader of `doc`, the bytes of the file (at most
    /// [`MAX_OPML_BYTES`]; the caller reads with that limit). The encoding
    /// is the one a byte-order mark or the XML declaration names, else
    /// UTF-8.
    pub fn new(doc: &'a [u8]) -> Result<Opml<'a>, OpmlError> {
        if doc.len() as u64 > MAX_OPML_BYTES {
            return Err(OpmlError::TooLarge);
        }
        Ok(Opml {
            reader: Reader::from_reader(doc),
            doc,
            open: Vec::new(),
            folders: Vec::new(),
            title: None,
            lines: Lines::default(),
            seen_root: false,
            done: false,
        })
    }

    /// The list's `<head><title>`, once read: one line, at most
    /// [`MAX_TITLE`] characters; `None` when missing or blank.
    pub fn title(&self) -> Option<String> {
        self.title
            .as_deref()
            .map(|t| clean(t, MAX_TITLE))
            .filter(|t| !t.is_empty())
    }

    /// The next outline that is not a folder, `None` at the end of a
    /// well-formed document, or why the document is not one.
    pub fn next_outline(&mut self) -> Result<Option<Outline>, OpmlError> {
        while !self.done {
            let at = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
                    return Err(not_xml(self.doc, at, e.to_string()));
                }
            };
            let in_title = matches!(self.open.last(), Some(Open::HeadTitle));
            match event {
                Event::Start(e) => {
                    let (open, outline) = self.start(&e, at, false)?;
                    self.open.push(open);
                    if self.open.len() > MAX_NESTING {
                        let line = self.lines.line_at(self.doc, at);
                        return Err(OpmlError::TooDeep { line });
                    }
                    if outline.is_some() {
                        return Ok(outline);
                    }
                }
                Event::Empty(e) => {
                    let (_, outline) = self.start(&e, at, true)?;
                    if outline.is_some() {
                        return Ok(outline);
                    }
                }
                Event::End(_) => {
                    if let Some(Open::Folder { named, leaf }) = self.open.pop() {
                        if named {
                            self.folders.pop();
                        }
                        if leaf.is_some() {
                            return Ok(leaf);
                        }
                    }
                }
                Event::Text(t) if in_title => self.push_title(&t.decode().unwrap_or_default()),
                Event::CData(t) if in_title => self.push_title(&t.decode().unwrap_or_default()),
                Event::GeneralRef(r) if in_title => {
                    let name = r.decode().unwrap_or_default();
                    self.push_title(&unescape(&format!("&{name};")));
                }
                // SECURITY: no DTD with entities (see the module's doc).
                Event::DocType(d) if d.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY")) => {
                    let line = self.lines.line_at(self.doc, at);
                    return Err(OpmlError::Entities { line });
                }
                Event::Eof => {
                    self.done = true;
                    if let Some(open) = self.open.last() {
                        let name = match open {
                            Open::Head => "head",
                            Open::HeadTitle => "title",
                            Open::Folder { .. } => "outline",
                            Open::Other(name) => name.as_str(),
                        };
                        let cause = format!("the document ends inside <{name}> (cut short?)");
                        return Err(not_xml(self.doc, self.doc.len(), cause));
                    }
                    if !self.seen_root {
                        return Err(not_xml(self.doc, self.doc.len(), "no root element".into()));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// An element starts at byte `at` (`empty`: and ends there): what it
    /// opens, and the outline to yield, if any (a feed, or an outline
    /// that is neither a feed nor a folder).
    fn start(
        &mut self,
        e: &BytesStart<'_>,
        at: usize,
        empty: bool,
    ) -> Result<(Open, Option<Outline>), OpmlError> {
        let name = e.local_name();
        let name = name.as_ref();
        if !self.seen_root {
            self.seen_root = true;
            if !name.eq_ignore_ascii_case(b"opml") {
                return Err(OpmlError::NotOpml(clean(
                    &String::from_utf8_lossy(name),
                    64,
                )));
            }
        }
        if !name.eq_ignore_ascii_case(b"outline") {
            let open = match self.open.last() {
                Some(_) if self.open.len() == 1 && name.eq_ignore_ascii_case(b"head") => Open::Head,
                Some(Open::Head) if name.eq_ignore_ascii_case(b"title") => Open::HeadTitle,
                _ => Open::Other(clean(&String::from_utf8_lossy(name), 64)),
            };
            return Ok((open, None));
        }
        // An outline inside a folder makes it one (not a leaf to report).
        if let Some(Open::Folder { leaf, .. }) = self.open.last_mut() {
            *leaf = None;
        }
        let line = self.lines.line_at(self.doc, at);
        let attrs = self.attributes(e, line)?;
        let title = attrs
            .title
            .iter()
            .chain(&attrs.text)
            .map(|t| clean(t, MAX_TITLE))
            .find(|t| !t.is_empty());
        let mut outline = Outline {
            line,
            title,
            kind: attrs.kind.map(|k| clean(&k, 64)),
            categories: self.categories(attrs.category.as_deref()),
            ..Outline::default()
        };
        if let Some(url) = attrs.xml_url {
            let url = url.trim();
            outline.url_too_long = url.len() > MAX_URL;
            outline.xml_url = Some(cut_bytes(url, MAX_URL).to_string());
            return Ok((Open::Other("outline".into()), Some(outline)));
        }
        if empty {
            return Ok((Open::Other("outline".into()), Some(outline)));
        }
        // A folder until shown otherwise; its name is a category of what
        // is inside it.
        let folder = outline
            .title
            .as_deref()
            .map(|t| clean(t, MAX_NAME))
            .filter(|_| self.folders.len() < MAX_CATEGORY_DEPTH);
        let named = folder.is_some();
        if let Some(folder) = folder {
            self.folders.push(folder);
        }
        let leaf = Some(outline);
        Ok((Open::Folder { named, leaf }, None))
    }

    /// The attributes an outline is read by (the first of each, names
    /// compared ignoring ASCII case; prefixed ones such as `frss:` are
    /// other attributes).
    fn attributes(&self, e: &BytesStart<'_>, line: usize) -> Result<Attrs, OpmlError> {
        let mut out = Attrs::default();
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|err| OpmlError::NotXml {
                line,
                column: 1,
                cause: format!("in an <outline>: {err}"),
            })?;
            let key = a.key.as_ref();
            let slot = match () {
                _ if key.eq_ignore_ascii_case(b"xmlurl") => &mut out.xml_url,
                _ if key.eq_ignore_ascii_case(b"title") => &mut out.title,
                _ if key.eq_ignore_ascii_case(b"text") => &mut out.text,
                _ if key.eq_ignore_ascii_case(b"type") => &mut out.kind,
                _ if key.eq_ignore_ascii_case(b"category") => &mut out.category,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(self.value(&a));
            }
        }
        Ok(out)
    }

    /// An attribute's value: decoded, with character references and the
    /// five predefined entities resolved. Any other entity is kept as
    /// written (see the module's doc), as are bytes that do not decode.
    fn value(&self, a: &quick_xml::events::attributes::Attribute<'_>) -> String {
        let text = match self.reader.decoder().decode(&a.value) {
            Ok(v) => v,
            Err(_) => String::from_utf8_lossy(&a.value),
        };
        unescape(&text)
    }

    /// An outline's categories: the folders it is in, then its `category`
    /// paths, bounded (see [`Outline::categories`]).
    fn categories(&self, attribute: Option<&str>) -> Vec<Vec<String>> {
        let folders = Some(self.folders.clone()).filter(|f| !f.is_empty());
        let listed = attribute.into_iter().flat_map(category_paths);
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut keys: Vec<Vec<String>> = Vec::new();
        for path in folders.into_iter().chain(listed) {
            if out.len() == MAX_CATEGORIES {
                break;
            }
            let key: Vec<String> = path.iter().map(|n| n.to_lowercase()).collect();
            if !keys.contains(&key) {
                keys.push(key);
                out.push(path);
            }
        }
        out
    }

    fn push_title(&mut self, text: &str) {
        let title = self.title.get_or_insert_with(String::new);
        // Room for the cut with `…` and for whitespace to collapse.
        if title.len() < MAX_TITLE * 8 {
            title.push_str(cut_bytes(text, MAX_TITLE * 8));
        }
    }
}

/// The attributes an outline is read by.
#[derive(Default)]
struct Attrs {
    xml_url: Option<String>,
    title: Option<String>,
    text: Option<String>,
    kind: Option<String>,
    category: Option<String>,
}

/// The category paths of a `category` attribute (OPML 2.0: comma-separated,
/// slash-delimited, `/Tech/Rust,News`): names trimmed and cut, at most
/// [`MAX_CATEGORY_DEPTH`] levels, at most [`MAX_CATEGORIES`] paths. A
/// Google Reader API stream id (`user/ID/category/NAME`,
/// `user/-/label/NAME`) is its NAME; its states and built-in streams
/// (`user/-/state/com.google/reading-list`, `.../category/global.all`)
/// are no category.
pub fn category_paths(attribute: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    attribute
        .split(',')
        .filter_map(|path| {
            let names: Vec<&str> = path
                .split('/')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .take(MAX_CATEGORY_DEPTH + 3)
                .collect();
            let names = match names.as_slice() {
                // A stream id: a label is a category; a state
                // (`reading-list`, `starred`) or built-in stream is none.
                ["user", _, kind, rest @ ..] => match *kind {
                    "category" | "label" if !rest.is_empty() && !rest[0].starts_with("global.") => {
                        rest
                    }
                    _ => return None,
                },
                other => other,
            };
            let path: Vec<String> = names
                .iter()
                .take(MAX_CATEGORY_DEPTH)
                .map(|n| clean(n, MAX_NAME))
                .filter(|n| !n.is_empty())
                .collect();
            Some(path).filter(|p| !p.is_empty())
        })
        .take(MAX_CATEGORIES)
}

/// `text` with its references resolved: `&#39;`, `&#x263A;` and the five
/// entities XML predefines. Anything else (`&lol9;`, `&nbsp;`, a bare
/// `&`) is kept as written: lenient, and never an expansion.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Names are short; a `;` far away is not this reference's.
        let name = rest[1..]
            .char_indices()
            .take(32)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| &rest[1..1 + i]);
        let resolved = name.and_then(|name| match name.strip_prefix('#') {
            Some(num) => match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            }
            .and_then(char::from_u32)
            .filter(|c| *c != '\0')
            .map(String::from),
            None => resolve_predefined_entity(name).map(str::to_string),
        });
        match (name, resolved) {
            (Some(name), Some(r)) => {
                out.push_str(&r);
                rest = &rest[name.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Counts lines as the reader moves forward (each byte is counted once).
#[derive(Default)]
struct Lines {
    /// Bytes counted so far, and the newlines among them.
    at: usize,
    newlines: usize,
}

impl Lines {
    /// The line (from 1) of byte `at`, which is not before any byte
    /// asked about before.
    fn line_at(&mut self, doc: &[u8], at: usize) -> usize {
        let at = at.min(doc.len());
        if at > self.at {
            self.newlines += memchr::memchr_iter(b'\n', &doc[self.at..at]).count();
            self.at = at;
        }
        self.newlines + 1
    }
}

/// [`OpmlError::NotXml`] at byte `at`: its line and column (characters,
/// from 1).
fn not_xml(doc: &[u8], at: usize, cause: String) -> OpmlError {
    let at = at.min(doc.len());
    let before = &doc[..at];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    OpmlError::NotXml {
        line,
        column,
        cause: one_line(&cause, 200),
    }
}

/// `text` trimmed, on one line with runs of whitespace as one space, at
/// most `max` characters (cut with `…`).
fn clean(text: &str, max: usize) -> String {
    // Cut first: the work per name stays bounded however long it is.
    let text = cut_bytes(text, max * 8);
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line(&joined, max)
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every outline of `doc`, and its title.
    fn read(doc: &[u8]) -> Result<(Vec<Outline>, Option<String>), OpmlError> {
        let mut opml = Opml::new(doc)?;
        let mut out = Vec::new();
        while let Some(o) = opml.next_outline()? {
            out.push(o);
        }
        Ok((out, opml.title()))
    }

    fn outlines(body: &str) -> Vec<Outline> {
        let doc = format!(
            "<opml version=\"2.0\"><head><title>t</title></head><body>{body}</body></opml>"
        );
        read(doc.as_bytes()).unwrap().0
    }

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn feeds_folders_and_the_attribute_spellings_readers_write() {
        let o = outlines(
            r#"<outline text="Tech" title="Tech">
                 <outline type="rss" text="A text" title=" A  title " xmlUrl=" https://a.example/feed " htmlUrl="https://a.example/"/>
                 <outline text="Rust">
                   <outline title="B" xmlurl="https://b.example/feed"></outline>
                 </outline>
               </outline>
               <outline text="C only text" XMLURL="https://c.example/feed" type="atom"/>
               <outline title="" text="" xmlUrl="https://d.example/feed"/>"#,
        );
        assert_eq!(o.len(), 4, "{o:#?}");
        assert_eq!(o[0].title.as_deref(), Some("A title"));
        assert_eq!(o[0].xml_url.as_deref(), Some("https://a.example/feed"));
        assert_eq!(o[0].kind.as_deref(), Some("rss"));
        assert_eq!(o[0].categories, vec![path(&["Tech"])]);
        assert_eq!(o[0].line, 2);
        // Go's encoder writes an end tag for every outline (Miniflux).
        assert_eq!(o[1].xml_url.as_deref(), Some("https://b.example/feed"));
        assert_eq!(o[1].categories, vec![path(&["Tech", "Rust"])]);
        assert_eq!(o[2].title.as_deref(), Some("C only text"));
        assert!(o[2].categories.is_empty());
        assert_eq!(o[3].title, None);
    }

    #[test]
    fn outlines_that_are_neither_feeds_nor_folders_are_yielded_without_a_url() {
        let o = outlines(
            r#"<outline text="Later" title="Later"/>
               <outline text="Empty"></outline>
               <outline text="Spec" type="link" url="http://opml.org/spec2.opml"/>
               <outline text="Full"><outline text="f" xmlUrl="https://f.example/"/></outline>"#,
        );
        let names: Vec<_> = o
            .iter()
            .map(|o| (o.title.as_deref(), o.xml_url.is_some()))
            .collect();
        assert_eq!(
            names,
            [
                (Some("Later"), false),
                (Some("Empty"), false),
                (Some("Spec"), false),
                (Some("f"), true)
            ]
        );
        assert_eq!(o[2].kind.as_deref(), Some("link"));
    }

    #[test]
    fn category_attributes_add_paths_and_stream_ids_name_their_label() {
        let o = outlines(
            r#"<outline text="Blogs"><outline text="a" xmlUrl="https://a.example/"
                 category="/Tech/Rust, News ,/blogs,user/123/label/Go,user/-/state/com.google/starred,user/9/category/global.all,user/9/category/Later,//"/></outline>"#,
        );
        assert_eq!(
            o[0].categories,
            vec![
                path(&["Blogs"]),
                path(&["Tech", "Rust"]),
                path(&["News"]),
                // `/blogs` is the folder again, compared ignoring case.
                path(&["Go"]),
                path(&["Later"]),
            ]
        );
    }

    #[test]
    fn categories_are_bounded_in_depth_count_and_length() {
        let deep = (0..10)
            .map(|i| format!("<outline text=\"L{i}\">"))
            .collect::<String>();
        let close = "</outline>".repeat(10);
        let many: Vec<String> = (0..20).map(|i| format!("/c{i}")).collect();
        let long = "x".repeat(5_000);
        let o = outlines(&format!(
            r#"{deep}<outline text="{long}" xmlUrl="https://a.example/" category="{}"/>{close}"#,
            many.join(",")
        ));
        let c = &o[0].categories;
        assert_eq!(c.len(), MAX_CATEGORIES);
        assert_eq!(c[0], path(&["L0", "L1", "L2", "L3"]));
        assert!(c.iter().all(|p| p.len() <= MAX_CATEGORY_DEPTH));
        let title = o[0].title.as_ref().unwrap();
        assert!(title.ends_with('…') && title.chars().count() == MAX_TITLE + 1);
        let paths = category_paths(&format!("/{}", "y".repeat(500))).collect::<Vec<_>>();
        assert_eq!(paths[0][0].chars().count(), MAX_NAME + 1);
    }

    #[test]
    fn entities_are_resolved_only_when_xml_defines_them() {
        let o = outlines(
            r#"<outline text="Tom &amp; Jerry&#39;s &#x263A; &lol9; &#0; &#xZZ; & &;" xmlUrl="https://a.example/?a=1&amp;b=2"/>"#,
        );
        assert_eq!(
            o[0].title.as_deref(),
            Some("Tom & Jerry's \u{263A} &lol9; &#0; &#xZZ; & &;")
        );
        assert_eq!(o[0].xml_url.as_deref(), Some("https://a.example/?a=1&b=2"));
        let (_, title) =
            read(b"<opml><head><title>A &amp; B &#169; &nope;</title></head><body/></opml>")
                .unwrap();
        assert_eq!(title.as_deref(), Some("A & B \u{a9} &nope;"));
    }

    #[test]
    fn a_dtd_declaring_entities_is_refused() {
        let doc = b"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;\">\n]>\n<opml><body><outline text=\"&lol2;\" xmlUrl=\"https://a.example/\"/></body></opml>";
        assert_eq!(read(doc).unwrap_err(), OpmlError::Entities { line: 2 });
        // A DTD without entities is only ignored.
        let plain =
            b"<!DOCTYPE opml>\n<opml><body><outline xmlUrl=\"https://a.example/\"/></body></opml>";
        assert_eq!(read(plain).unwrap().0.len(), 1);
    }

    #[test]
    fn what_is_not_opml_says_where() {
        let err = |doc: &[u8]| read(doc).unwrap_err().to_string();
        assert_eq!(
            err(b"<opml>\n<body>\n  <outline text=\"a\" xmlUrl=\"https://a.example/\">\n</body></opml>"),
            "not well-formed XML (line 4, column 1): ill-formed document: expected `</outline>`, but `</body>` was found"
        );
        assert_eq!(
            err(b"<opml><body>\n<outline text=\"a\">"),
            "not well-formed XML (line 2, column 19): the document ends inside <outline> (cut short?)"
        );
        assert_eq!(
            err(b"{\"feeds\": []}\n"),
            "not well-formed XML (line 2, column 1): no root element"
        );
        assert_eq!(
            err(b"\x89PNG\r\n\x1a\n\0\0\0"),
            "not well-formed XML (line 3, column 4): no root element"
        );
        assert_eq!(
            err(b"<rss version=\"2.0\"><channel/></rss>"),
            "not OPML: the root element is <rss>"
        );
        assert_eq!(
            err(b"<!DOCTYPE html><html><body>"),
            "not OPML: the root element is <html>"
        );
        let deep = format!("<opml><body>{}", "<outline text=\"x\">".repeat(300));
        assert_eq!(
            err(deep.as_bytes()),
            format!("nested deeper than {MAX_NESTING} levels (line 1); refused")
        );
    }

    #[test]
    fn the_declared_encoding_is_read() {
        let mut doc =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><opml><head><title>Caf".to_vec();
        doc.extend_from_slice(b"\xe9</title></head><body><outline text=\"Caf\xe9\" xmlUrl=\"https://a.example/\"/></body></opml>");
        let (o, title) = read(&doc).unwrap();
        assert_eq!(title.as_deref(), Some("Café"));
        assert_eq!(o[0].title.as_deref(), Some("Café"));
    }

    #[test]
    fn an_overlong_url_is_flagged_not_kept_whole() {
        let url = format!("https://a.example/{}", "p".repeat(MAX_URL));
        let o = outlines(&format!(r#"<outline xmlUrl="{url}"/>"#));
        assert!(o[0].url_too_long);
        assert_eq!(o[0].xml_url.as_ref().unwrap().len(), MAX_URL);
    }
}
