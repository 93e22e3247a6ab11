//! Stage 1 of the repair path: the bytes of a feed made well-formed XML,
//! the way a person reads what was meant, each change recorded.
//!
//! One linear pass, no backtracking: text is copied up to the next `<` or
//! `&`; markup is read leniently and written strictly. What it repairs:
//! - a bare `&` (`Tom & Jerry`, `?a=1&b=2`) → `&amp;`; an HTML named entity
//!   (`&eacute;`, `&nbsp;`) → its character; an unknown one → text;
//! - a `<` that starts no tag (`a < b`) → `&lt;`;
//! - attributes unquoted, without a value, repeated, or holding `<`;
//! - end tags: one that closes an ancestor closes what is open inside it,
//!   a case-insensitive match is taken, one matching nothing is dropped;
//!   `<br>` and the other HTML void elements are closed where they open;
//! - text before the root element or after it (a PHP warning) is dropped;
//! - a document cut short: an open comment, CDATA section or tag is
//!   closed, an item the document ends inside is left out (its text is
//!   cut), and the elements still open are closed.
//!
//! SECURITY: what it keeps is bounded as the strict path's is: a DTD that
//! declares entities is refused, nesting past [`MAX_NESTING`] and
//! namespace declarations past [`MAX_NAMESPACES`] are refused, reading
//! stops after the [`MAX_ITEMS`]th item, and a document needing more than
//! [`MAX_REPAIRS`] repairs before that is not read as a feed. The output
//! grows by at most 20 bytes per repair (an HTML entity written as two
//! character references), plus end tags no longer than those opened.
//! Every scan is linear: attribute names are checked in a set, a quote is
//! looked for up to the next `<` only, `]]>` is never looked for twice
//! past where it was not found, and places are worked out only for the
//! repairs kept.

use crate::depth::{TooDeep, MAX_NESTING};
use crate::extract::cap::MAX_ITEMS;
use crate::extract::feed::MAX_NAMESPACES;
use crate::extract::ExtractError;
use crate::repairs::{Lines, Repairs};

/// Most repairs one document may need: past it, it is not a feed that
/// slipped, and reading on would only grow the output.
pub const MAX_REPAIRS: usize = 100_000;

/// Longest element or attribute name read as one (real ones are short).
const MAX_NAME: usize = 256;

/// The well-formed document, and where its bytes came from.
#[derive(Debug)]
pub(in crate::extract::feed) struct Fixed {
    pub doc: Vec<u8>,
    pub map: OffsetMap,
    /// Read up to its [`MAX_ITEMS`]th item only.
    pub capped: bool,
}

/// Maps offsets of a rewritten document back to the document it was
/// rewritten from, for repairs found later to name the original place.
#[derive(Debug, Default)]
pub(in crate::extract::feed) struct OffsetMap {
    /// `(output offset, input offset)` where each stretch starts.
    marks: Vec<(usize, usize)>,
}

impl OffsetMap {
    /// Records that output offset `out` comes from input offset `input`.
    pub fn mark(&mut self, out: usize, input: usize) {
        if let Some(&(o, i)) = self.marks.last() {
            // Same shift as the stretch before: nothing new to say.
            if out.wrapping_sub(o) == input.wrapping_sub(i) {
                return;
            }
            if o == out {
                self.marks.pop();
            }
        }
        self.marks.push((out, input));
    }

    /// The output was cut back to `len` bytes: marks past it go.
    pub fn truncate(&mut self, len: usize) {
        while self.marks.last().is_some_and(|(o, _)| *o > len) {
            self.marks.pop();
        }
    }

    /// Output offsets from `at` on moved `n` bytes later (an insertion).
    pub fn shift_after(&mut self, at: usize, n: usize) {
        for (o, _) in self.marks.iter_mut().filter(|(o, _)| *o >= at) {
            *o += n;
        }
    }

    /// The input offset output offset `out` came from.
    pub fn original(&self, out: usize) -> usize {
        let i = self.marks.partition_point(|(o, _)| *o <= out);
        match i.checked_sub(1).map(|i| self.marks[i]) {
            Some((o, input)) => input + (out - o),
            None => out,
        }
    }
}

/// One open element: where its name is in the input, where it started in
/// the output (an item cut short is taken out from there), and whether it
/// is an item.
struct Open {
    name: std::ops::Range<usize>,
    at_in: usize,
    at_out: usize,
    item: bool,
}

/// HTML elements that never have content: written `<br>`, they are
/// closed where they open. (`link` and `meta` are not among them here:
/// RSS `<link>` holds text.)
const VOID: [&[u8]; 10] = [
    b"br", b"hr", b"img", b"input", b"area", b"col", b"embed", b"source", b"track", b"wbr",
];

struct Lexer<'a> {
    body: &'a [u8],
    i: usize,
    out: Vec<u8>,
    map: OffsetMap,
    open: Vec<Open>,
    lines: &'a Lines<'a>,
    repairs: &'a mut Repairs,
    /// The root element has opened / closed.
    rooted: bool,
    closed: bool,
    /// Content before the root was reported.
    said_before: bool,
    /// Namespace declarations read (see [`MAX_NAMESPACES`]).
    namespaces: usize,
    /// Items read whole, and whether the rest was left unread at
    /// [`MAX_ITEMS`].
    items: usize,
    capped: bool,
    /// `]]>` was looked for from here and not found.
    unclosed_from: usize,

    format: &'static str,
}

/// Makes `body` well-formed (see the module doc).
pub(in crate::extract::feed) fn repair(
    body: &[u8],
    format: &'static str,
    lines: &Lines<'_>,
    repairs: &mut Repairs,
) -> Result<Fixed, ExtractError> {
    let mut lx = Lexer {
        body,
        i: 0,
        out: Vec::with_capacity(body.len() + body.len() / 16),
        map: OffsetMap::default(),
        open: Vec::new(),
        lines,
        repairs,
        rooted: false,
        closed: false,
        said_before: false,
        namespaces: 0,
        unclosed_from: usize::MAX,
        items: 0,
        capped: false,
        format,
    };
    let start = lx.repairs.count;
    lx.run()?;
    lx.finish();
    if lx.repairs.count - start > MAX_REPAIRS {
        return Err(too_broken(format));
    }
    Ok(Fixed {
        doc: lx.out,
        map: lx.map,
        capped: lx.capped,
    })
}

fn too_broken(format: &'static str) -> ExtractError {
    ExtractError::Malformed {
        format,
        message: format!(
            "more than {MAX_REPAIRS} places needed repair; not read as a feed (is it one?)"
        ),
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

fn is_name_char(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// Whether `c` may appear in an XML 1.0 document.
pub(in crate::extract::feed) fn is_xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// How an `&` reads: up to `end`, copied (`with: None`) or replaced, and
/// the repair said.
struct RefRead {
    end: usize,
    with: Option<Vec<u8>>,
    what: Option<String>,
}

/// A character as a repair shows it: itself when visible, else its code
/// (a no-break space is invisible in a report).
fn shown_char(c: char) -> String {
    if c.is_whitespace()
        || c.is_control()
        || matches!(u32::from(c), 0x200B..=0x200F | 0x2060..=0x206F | 0xFE00..=0xFE0F)
    {
        format!("U+{:04X}", u32::from(c))
    } else {
        c.to_string()
    }
}

fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

impl Lexer<'_> {
    fn note(&mut self, at: usize, what: impl FnOnce() -> String) {
        // Located only when kept: a line can be the whole document.
        let lines = self.lines;
        self.repairs.push_lazy(|| Some(lines.locate(at)), what);
    }

    /// Copies input `range` to the output.
    fn copy(&mut self, from: usize, to: usize) {
        if from < to {
            self.map.mark(self.out.len(), from);
            self.out.extend_from_slice(&self.body[from..to]);
        }
    }

    /// Writes `bytes` that stand for input at `at`.
    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.map.mark(self.out.len(), at);
        self.out.extend_from_slice(bytes);
    }

    fn find(&self, from: usize, needle: &[u8]) -> Option<usize> {
        memchr::memmem::find(&self.body[from.min(self.body.len())..], needle).map(|p| p + from)
    }

    fn run(&mut self) -> Result<(), ExtractError> {
        let body = self.body;
        while self.i < body.len() {
            if self.closed {
                self.after_root();
                break;
            }
            if self.items >= MAX_ITEMS {
                // The rest is left unread; what is open is closed.
                self.capped = true;
                while !self.open.is_empty() {
                    self.close_last(self.i);
                }
                break;
            }
            if self.repairs.count > MAX_REPAIRS {
                return Err(too_broken(self.format));
            }
            let Some(next) = memchr::memchr2(b'<', b'&', &body[self.i..]).map(|p| p + self.i)
            else {
                self.text(self.i, body.len());
                self.i = body.len();
                break;
            };
            self.text(self.i, next);
            self.i = next;
            if body[next] == b'&' {
                self.reference();
            } else {
                self.markup()?;
            }
        }
        Ok(())
    }

    /// Plain text (no `<` or `&`): copied inside the root, dropped before
    /// it unless blank.
    fn text(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        if self.inside() || self.body[from..to].iter().all(u8::is_ascii_whitespace) {
            self.copy(from, to);
        } else {
            self.stray(from);
        }
    }

    fn inside(&self) -> bool {
        !self.open.is_empty()
    }

    /// Something before the root element: dropped, said once.
    fn stray(&mut self, at: usize) {
        if !self.said_before {
            self.said_before = true;
            self.note(at, || "content before the root element removed".into());
        }
    }

    /// After the root element closed: blanks are kept, anything else (a
    /// PHP warning, a second document) ends the document.
    fn after_root(&mut self) {
        let rest = &self.body[self.i..];
        match rest.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(p) => self.note(self.i + p, || {
                "content after the root element removed".into()
            }),
            None => self.copy(self.i, self.body.len()),
        }
        self.i = self.body.len();
    }

    /// An `&` at `self.i` in text.
    fn reference(&mut self) {
        let at = self.i;
        let read = self.read_reference(at);
        self.i = read.end;
        if !self.inside() {
            return self.stray(at);
        }
        match read.with {
            None => self.copy(at, read.end),
            Some(with) => self.put(at, &with),
        }
        if let Some(what) = read.what {
            self.note(at, || what);
        }
    }

    /// How the `&` at `at` reads (see the module doc).
    fn read_reference(&self, at: usize) -> RefRead {
        let rest = &self.body[at + 1..];
        let bare = || RefRead {
            end: at + 1,
            with: Some(b"&amp;".to_vec()),
            what: Some("unescaped '&' read as '&amp;'".into()),
        };
        // The longest HTML entity name is 31 bytes; character references
        // are shorter still.
        let Some(semi) = rest.iter().take(40).position(|b| *b == b';') else {
            return bare();
        };
        let name = &rest[..semi];
        let end = at + 1 + semi + 1;
        let keep = RefRead {
            end,
            with: None,
            what: None,
        };
        if let Some(num) = name.strip_prefix(b"#") {
            let value = match num.strip_prefix(b"x").or_else(|| num.strip_prefix(b"X")) {
                Some(hex) if !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit) => {
                    std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                }
                None if !num.is_empty() && num.iter().all(u8::is_ascii_digit) => {
                    std::str::from_utf8(num).ok().and_then(|d| d.parse().ok())
                }
                _ => return bare(),
            };
            return match value {
                Some(c) if is_xml_char(c) => keep,
                _ => RefRead {
                    end,
                    with: Some(Vec::new()),
                    what: Some(format!(
                        "character reference '&{};' to a character XML forbids removed",
                        String::from_utf8_lossy(name)
                    )),
                },
            };
        }
        if name.is_empty() || !name.iter().all(u8::is_ascii_alphanumeric) {
            return bare();
        }
        if matches!(name, b"amp" | b"lt" | b"gt" | b"quot" | b"apos") {
            return keep;
        }
        let key = format!("{};", String::from_utf8_lossy(name));
        match markup5ever::data::NAMED_ENTITIES.get(key.as_str()) {
            Some(&(a, b)) => {
                let chars: Vec<char> = [a, b]
                    .into_iter()
                    .filter(|c| *c != 0)
                    .filter_map(char::from_u32)
                    .collect();
                let with: String = chars
                    .iter()
                    .map(|c| format!("&#x{:X};", u32::from(*c)))
                    .collect();
                let shown: String = chars.iter().map(|c| shown_char(*c)).collect();
                RefRead {
                    end,
                    with: Some(with.into_bytes()),
                    what: Some(format!("HTML entity '&{key}' read as '{shown}'")),
                }
            }
            None => RefRead {
                end: at + 1,
                with: Some(b"&amp;".to_vec()),
                what: Some(format!(
                    "unknown entity '&{}' read as text",
                    crate::text::one_line(&key, 40)
                )),
            },
        }
    }

    /// A `<` at `self.i`.
    fn markup(&mut self) -> Result<(), ExtractError> {
        let body = self.body;
        let at = self.i;
        let rest = &body[at..];
        if rest.starts_with(b"<?") {
            self.instruction(at);
        } else if rest.starts_with(b"<!--") {
            self.delimited(at, b"-->", "comment");
        } else if rest.starts_with(b"<![CDATA[") {
            if self.inside() {
                self.delimited(at, b"]]>", "CDATA section");
            } else {
                self.stray(at);
                self.i = self.find(at, b"]]>").map_or(body.len(), |e| e + 3);
            }
        } else if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"<!DOCTYPE") {
            self.doctype(at)?;
        } else if rest.starts_with(b"</") {
            self.end_tag(at);
        } else if rest.len() > 1 && is_name_start(rest[1]) {
            self.start_tag(at)?;
        } else {
            self.less_than(at);
        }
        Ok(())
    }

    /// A `<` that starts no tag: text.
    fn less_than(&mut self, at: usize) {
        if self.inside() {
            self.put(at, b"&lt;");
            self.note(at, || "'<' that starts no tag read as '&lt;'".into());
        } else {
            self.stray(at);
        }
        self.i = at + 1;
    }

    /// `<?…?>`: the XML declaration belongs at the very start.
    fn instruction(&mut self, at: usize) {
        let end = self.find(at + 2, b"?>").map(|e| e + 2);
        let Some(end) = end else {
            self.note(at, || "processing instruction never closed; removed".into());
            self.i = self.body.len();
            return;
        };
        let is_decl = self.body[at..end].starts_with(b"<?xml")
            && self
                .body
                .get(at + 5)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'?');
        if is_decl {
            if self.rooted {
                self.note(at, || "XML declaration inside the document removed".into());
            } else {
                if !self.out.is_empty() && !self.said_before {
                    self.note(0, || {
                        "blank space before the XML declaration removed".into()
                    });
                }
                // Whatever came before held nothing (only blanks are
                // copied before the root).
                self.out.clear();
                self.map = OffsetMap::default();
                self.copy(at, end);
            }
        } else {
            self.copy(at, end);
        }
        self.i = end;
    }

    /// A comment or CDATA section: copied; closed at the end when the
    /// document ends inside it.
    fn delimited(&mut self, at: usize, close: &[u8], what: &'static str) {
        // Once `]]>` was looked for in vain, it is nowhere after (an
        // unclosed comment takes the rest of the document anyway).
        let cdata = close == b"]]>";
        let found = if cdata && at >= self.unclosed_from {
            None
        } else {
            self.find(at + 4, close)
        };
        match found {
            Some(e) => {
                self.copy(at, e + close.len());
                self.i = e + close.len();
            }
            None => {
                if cdata {
                    self.unclosed_from = self.unclosed_from.min(at);
                }
                if cdata && self.close_cdata_at_parent(at) {
                    return;
                }
                let lines = self.lines;
                self.copy(at, self.body.len());
                self.put(self.body.len(), close);
                self.repairs.cut_short = true;
                self.note(self.body.len(), || {
                    let line = lines.locate(at).line;
                    format!("the document ends inside a {what} opened at line {line}; closed")
                });
                self.i = self.body.len();
            }
        }
    }

    /// A CDATA section never closed, in an element that is: closed just
    /// before that element's end tag (one bad description must not take
    /// the rest of the feed with it). Whether it was.
    fn close_cdata_at_parent(&mut self, at: usize) -> bool {
        let Some(parent) = self.open.last() else {
            return false;
        };
        let end_tag = [b"</", &self.body[parent.name.clone()], b">"].concat();
        let Some(e) = memchr::memmem::find(&self.body[at..], &end_tag).map(|p| at + p) else {
            return false;
        };
        let (lines, shown) = (
            self.lines,
            String::from_utf8_lossy(&self.body[parent.name.clone()]).into_owned(),
        );
        self.copy(at, e);
        self.put(e, b"]]>");
        self.note(at, || {
            let line = lines.locate(at).line;
            format!("CDATA section opened at line {line} never closed; closed before </{shown}>")
        });
        self.i = e;
        true
    }

    /// `<!DOCTYPE …>`: kept before the root unless it declares entities
    /// (refused, as on the strict path).
    fn doctype(&mut self, at: usize) -> Result<(), ExtractError> {
        let body = self.body;
        // An internal subset `[…]` may hold `>`.
        let mut j = at + 9;
        let mut in_subset = false;
        while j < body.len() {
            match body[j] {
                b'[' => in_subset = true,
                b']' => in_subset = false,
                b'>' if !in_subset => break,
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(body.len());
        let decl = &body[at..end];
        if decl.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY")) {
            return Err(ExtractError::Malformed {
                format: self.format,
                message: "the document declares entities in a DTD, which feeds never need; refused (possible entity-expansion attack)".into(),
            });
        }
        if !self.rooted && j < body.len() {
            self.copy(at, end);
        } else {
            self.note(at, || "misplaced or unclosed DOCTYPE removed".into());
        }
        self.i = end;
        Ok(())
    }

    /// Reads a name at `j`: its end.
    fn name_end(&self, j: usize) -> usize {
        let body = self.body;
        let mut k = j;
        while k < body.len() && k - j < MAX_NAME && is_name_char(body[k]) {
            k += 1;
        }
        k
    }

    /// `</name …>`.
    fn end_tag(&mut self, at: usize) {
        let body = self.body;
        let name_end = self.name_end(at + 2);
        let name_len = name_end - (at + 2);
        if name_len == 0 || name_len >= MAX_NAME {
            return self.less_than(at);
        }
        let name = &body[at + 2..name_end];
        // The tag ends at the next `>` if nothing else starts first.
        let (end, unclosed) = match memchr::memchr2(b'>', b'<', &body[name_end..]) {
            Some(p) if body[name_end + p] == b'>' => (name_end + p + 1, false),
            Some(p) => (name_end + p, true),
            None => (body.len(), true),
        };
        if unclosed {
            let shown = String::from_utf8_lossy(name).into_owned();
            if end == body.len() {
                self.repairs.cut_short = true;
                self.note(name_end, || {
                    format!("the document ends inside '</{shown}'; read as closed")
                });
            } else {
                self.note(name_end, || {
                    format!("'</{shown}' has no '>'; read as closed")
                });
            }
        }
        self.i = end;
        let found = self
            .open
            .iter()
            .rposition(|o| &body[o.name.clone()] == name)
            .map(|p| (p, false))
            .or_else(|| {
                self.open
                    .iter()
                    .rposition(|o| body[o.name.clone()].eq_ignore_ascii_case(name))
                    .map(|p| (p, true))
            });
        let Some((pos, by_case)) = found else {
            if self.inside() {
                let shown = String::from_utf8_lossy(name).into_owned();
                self.note(at, || {
                    format!("stray </{}> removed", crate::text::one_line(&shown, 64))
                });
            } else {
                self.stray(at);
            }
            return;
        };
        if by_case {
            let (written, open) = (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(&body[self.open[pos].name.clone()]).into_owned(),
            );
            self.note(at, || format!("</{written}> read as </{open}>"));
        }
        if pos + 1 < self.open.len() {
            let inner = &self.open[pos + 1];
            let (what, lines, opened) = (
                String::from_utf8_lossy(&body[inner.name.clone()]).into_owned(),
                self.lines,
                inner.at_in,
            );
            let shown = String::from_utf8_lossy(name).into_owned();
            self.note(at, || {
                let line = lines.locate(opened).line;
                format!(
                    "</{shown}> closes <{what}> opened at line {line} (and what it holds) as well"
                )
            });
        }
        while self.open.len() > pos {
            self.close_last(at);
        }
        if self.open.is_empty() {
            self.closed = true;
        }
    }

    /// `<name attr="v" …>` or `<name …/>`.
    fn start_tag(&mut self, at: usize) -> Result<(), ExtractError> {
        let body = self.body;
        let name_end = self.name_end(at + 1);
        let name_len = name_end - (at + 1);
        if name_len >= MAX_NAME {
            self.less_than(at);
            return Ok(());
        }
        let name = at + 1..name_end;
        if !self.rooted && !matches!(local(&body[name.clone()]), b"rss" | b"RDF" | b"feed") {
            // Markup before the feed's root (a PHP warning's `<br />`,
            // `<b>Warning</b>`): dropped with the text around it.
            self.stray(at);
            self.i =
                memchr::memchr(b'>', &body[name_end..]).map_or(body.len(), |p| name_end + p + 1);
            return Ok(());
        }
        let mut tag = Vec::with_capacity(name_end - at + 16);
        tag.push(b'<');
        tag.extend_from_slice(&body[name.clone()]);
        // Names seen in this tag: a set, since a tag may hold 100,000.
        let mut seen: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        let mut j = name_end;
        let mut empty = false;
        let mut cut = false;
        loop {
            while j < body.len() && body[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= body.len() {
                cut = true;
                break;
            }
            match body[j] {
                b'>' => {
                    j += 1;
                    break;
                }
                b'/' if body.get(j + 1) == Some(&b'>') => {
                    empty = true;
                    j += 2;
                    break;
                }
                b'<' => {
                    let shown = String::from_utf8_lossy(&body[name.clone()]).into_owned();
                    self.note(j, || {
                        format!("tag <{shown}> has no '>'; closed before the next '<'")
                    });
                    break;
                }
                b if is_name_start(b) => {
                    let k = self.name_end(j);
                    let attr = &body[j..k];
                    let (value, next) = self.attribute_value(k, attr);
                    j = next;
                    let Some((value, quote)) = value else {
                        continue;
                    };
                    if attr.starts_with(b"xmlns") {
                        // SECURITY: the strict path's bound, held here
                        // before the shaping pass resolves namespaces.
                        self.namespaces += 1;
                        if self.namespaces > MAX_NAMESPACES {
                            return Err(ExtractError::Malformed {
                                format: self.format,
                                message: format!(
                                    "more than {MAX_NAMESPACES} namespace declarations; refused"
                                ),
                            });
                        }
                    }
                    if seen.contains(&attr) {
                        let shown = String::from_utf8_lossy(attr).into_owned();
                        self.note(k, || format!("repeated attribute '{shown}' removed"));
                        continue;
                    }
                    seen.insert(attr);
                    tag.push(b' ');
                    tag.extend_from_slice(attr);
                    tag.push(b'=');
                    tag.push(quote);
                    tag.extend_from_slice(&value);
                    tag.push(quote);
                }
                other => {
                    self.note(j, || {
                        format!(
                            "stray '{}' in a tag removed",
                            char::from(other).escape_default()
                        )
                    });
                    j += 1;
                }
            }
        }
        self.i = j;
        if cut {
            self.repairs.cut_short = true;
            let shown = String::from_utf8_lossy(&body[name.clone()]).into_owned();
            self.note(at, || {
                format!("the document ends inside the tag <{shown}>; removed")
            });
            return Ok(());
        }
        let void = VOID
            .iter()
            .any(|v| body[name.clone()].eq_ignore_ascii_case(v));
        // `<br></br>` closes itself; a bare `<br>` is closed here.
        let mut closed_after = None;
        if void && !empty {
            empty = true;
            if self.next_closes(j, &body[name.clone()]) {
                closed_after = Some(j + 3 + name.len());
            } else {
                let shown = String::from_utf8_lossy(&body[name.clone()]).into_owned();
                self.note(at, || {
                    format!("<{shown}> closed where it opens (an HTML void element)")
                });
            }
        }
        let is_item = matches!(local(&body[name.clone()]), b"item" | b"entry");
        if let Some(p) = self.open.iter().position(|o| o.item).filter(|_| is_item) {
            // Items do not nest: the one left open ends where the next
            // begins.
            let open = &self.open[p];
            let (shown, lines, opened) = (
                String::from_utf8_lossy(&body[open.name.clone()]).into_owned(),
                self.lines,
                open.at_in,
            );
            self.note(at, || {
                let line = lines.locate(opened).line;
                format!(
                    "<{shown}> opened at line {line} never closed; closed where the next begins"
                )
            });
            while self.open.len() > p {
                self.close_last(at);
            }
        }
        self.rooted = true;
        tag.extend_from_slice(if empty { b"/>" } else { b">" });
        self.put(at, &tag);
        if let Some(after) = closed_after {
            self.i = after;
        }
        if empty {
            if self.open.is_empty() {
                self.closed = true;
            }
            return Ok(());
        }
        let item = self.open.len() <= 2 && is_item;
        self.open.push(Open {
            name,
            at_in: at,
            at_out: self.out.len() - tag.len(),
            item,
        });
        if self.open.len() > MAX_NESTING {
            return Err(TooDeep::nesting(self.format).into());
        }
        Ok(())
    }

    /// Writes the end tag of the innermost open element, for input at
    /// `at`; an item closed counts towards [`MAX_ITEMS`], past which the
    /// document is not read on (the bounds would cut it there anyway, and
    /// what lies past it must not cost repairs or refuse the feed).
    fn close_last(&mut self, at: usize) {
        let o = self.open.pop().expect("open element");
        self.put(at, b"</");
        self.copy(o.name.start, o.name.end);
        self.put(at, b">");
        if o.item {
            self.items += 1;
        }
    }

    /// Whether the input at `j` is `</name>` (a void element closed).
    fn next_closes(&self, j: usize, name: &[u8]) -> bool {
        let rest = &self.body[j.min(self.body.len())..];
        rest.starts_with(b"</")
            && rest[2..].len() > name.len()
            && rest[2..2 + name.len()].eq_ignore_ascii_case(name)
            && rest[2 + name.len()] == b'>'
    }

    /// An attribute's value after its name (ending at `k`), escaped for
    /// the quote it is written with (its own, or `"` when unquoted), and
    /// where reading goes on. `None` drops the attribute.
    fn attribute_value(&mut self, k: usize, attr: &[u8]) -> (Option<(Vec<u8>, u8)>, usize) {
        let body = self.body;
        let mut j = k;
        while j < body.len() && body[j].is_ascii_whitespace() {
            j += 1;
        }
        let shown = || String::from_utf8_lossy(attr).into_owned();
        if body.get(j) != Some(&b'=') {
            let name = shown();
            self.note(k, || format!("attribute '{name}' without a value removed"));
            return (None, j.max(k));
        }
        j += 1;
        while j < body.len() && body[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut quote = b'"';
        let (raw, next) = match body.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                quote = q;
                // To the closing quote; a quote never closed ends at the
                // tag's `>`. Neither is looked for past the next `<` (a
                // value never holds one), and the quote is found with the
                // `<` in one scan: linear however many attributes a tag has.
                match memchr::memchr2(q, b'<', &body[j + 1..]).map(|p| j + 1 + p) {
                    Some(e) if body[e] == q => (j + 1..e, e + 1),
                    found => {
                        let stop = found.unwrap_or(body.len());
                        let end =
                            memchr::memchr(b'>', &body[j + 1..stop]).map_or(stop, |p| j + 1 + p);
                        let name = shown();
                        self.note(j, || format!("attribute '{name}' has no closing quote"));
                        (j + 1..end, end)
                    }
                }
            }
            _ => {
                let end = body[j..]
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b'>')
                    .map_or(body.len(), |p| j + p);
                let end = if end > j && body[end - 1] == b'/' && body.get(end) == Some(&b'>') {
                    end - 1
                } else {
                    end
                };
                let name = shown();
                self.note(j, || format!("attribute '{name}' value not quoted"));
                (j..end, end)
            }
        };
        let mut value = Vec::with_capacity(raw.len());
        let mut p = raw.start;
        while p < raw.end {
            match body[p] {
                b'<' => {
                    value.extend_from_slice(b"&lt;");
                    self.note(p, || "'<' in an attribute value read as '&lt;'".into());
                    p += 1;
                }
                // Only in an unquoted value (a quoted one ends at its
                // quote): a repair each, so the growth is bounded.
                q if q == quote => {
                    value.extend_from_slice(b"&quot;");
                    self.note(p, || {
                        "'\"' in an unquoted attribute value read as '&quot;'".into()
                    });
                    p += 1;
                }
                b'&' => {
                    let read = self.read_reference(p);
                    match read.with {
                        None => value.extend_from_slice(&body[p..read.end]),
                        Some(with) => value.extend_from_slice(&with),
                    }
                    if let Some(what) = read.what {
                        self.note(p, || what);
                    }
                    p = read.end.min(raw.end).max(p + 1);
                }
                b => {
                    value.push(b);
                    p += 1;
                }
            }
        }
        (Some((value, quote)), next)
    }

    /// End of input: what is still open is closed; an item the document
    /// ends inside of (its text cut) is left out.
    fn finish(&mut self) {
        if self.open.is_empty() {
            return;
        }
        self.repairs.cut_short = true;
        let end = self.body.len();
        // Any item without its end tag is left out, even one whose
        // elements all ended: it may lack its link or id, and read again
        // whole later it would be stored twice (a title-keyed half and the
        // whole).
        let cut_item = self.open.iter().position(|o| o.item);
        if let Some(p) = cut_item {
            let item = &self.open[p];
            let (name, lines, opened) = (
                String::from_utf8_lossy(&self.body[item.name.clone()]).into_owned(),
                self.lines,
                item.at_in,
            );
            self.out.truncate(item.at_out);
            self.map.truncate(item.at_out);
            self.open.truncate(p);
            self.note(end, || {
                let line = lines.locate(opened).line;
                format!("the document ends inside <{name}> opened at line {line}: that item is left out (its text is cut)")
            });
        } else {
            let inner = self.open.last().expect("open element");
            let (name, lines, opened) = (
                String::from_utf8_lossy(&self.body[inner.name.clone()]).into_owned(),
                self.lines,
                inner.at_in,
            );
            self.note(end, || {
                let line = lines.locate(opened).line;
                format!("the document ends inside <{name}> opened at line {line}; closed")
            });
        }
        while let Some(o) = self.open.pop() {
            self.put(end, b"</");
            self.copy(o.name.start, o.name.end);
            self.put(end, b">");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(doc: &str) -> (String, Repairs) {
        let lines = Lines::new(doc.as_bytes());
        let mut repairs = Repairs::default();
        let fixed = repair(doc.as_bytes(), "RSS", &lines, &mut repairs).unwrap();
        (String::from_utf8(fixed.doc).unwrap(), repairs)
    }

    fn said(r: &Repairs) -> Vec<String> {
        r.first.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn well_formed_documents_pass_unchanged() {
        let doc = "<?xml version=\"1.0\"?>\n<!-- c --><rss a=\"1\" b='x&amp;y'><channel><![CDATA[<a>]]>&lt;x&#233;</channel></rss>";
        let (out, r) = fix(doc);
        assert_eq!(r.count, 0, "{:?}", said(&r));
        assert_eq!(out, doc);
    }

    #[test]
    fn ampersands_entities_and_less_thans() {
        let (out, r) = fix("<rss>\n<t>Tom & Jerry &eacute;&nbsp;&bogus; a < b &#1;</t></rss>");
        assert_eq!(
            out,
            "<rss>\n<t>Tom &amp; Jerry &#xE9;&#xA0;&amp;bogus; a &lt; b </t></rss>"
        );
        let said = said(&r);
        assert_eq!(said[0], "line 2, col 8: unescaped '&' read as '&amp;'");
        assert!(
            said[1].contains("HTML entity '&eacute;' read as 'é'"),
            "{said:?}"
        );
        assert!(said[3].contains("unknown entity '&bogus;'"), "{said:?}");
        assert!(said[4].contains("'<' that starts no tag"), "{said:?}");
        assert!(said[5].contains("forbids"), "{said:?}");
    }

    #[test]
    fn attributes_are_written_strictly() {
        let (out, r) = fix("<rss><a href=x?a=1&b=2 checked title=\"a>b\" href='y'/></rss>");
        assert_eq!(out, "<rss><a href=\"x?a=1&amp;b=2\" title=\"a>b\"/></rss>");
        assert_eq!(r.count, 4, "{:?}", said(&r));
        // A quote is looked for up to the next `<` only (linear): past
        // it, the value ends at the tag's `>`.
        let (out, _) = fix("<rss><a title=\"a>b<c/></rss>");
        assert_eq!(out, "<rss><a title=\"a\">b<c/></a></rss>");
    }

    #[test]
    fn end_tags_are_matched() {
        let (out, r) = fix("<rss><d>a <b>bold</d><x></X></p><br>z</rss>");
        assert_eq!(out, "<rss><d>a <b>bold</b></d><x></x><br/>z</rss>");
        let said = said(&r);
        assert!(said[0].contains("closes <b>"), "{said:?}");
        assert!(said[1].contains("read as </x>"), "{said:?}");
        assert!(said[2].contains("stray </p>"), "{said:?}");
    }

    #[test]
    fn documents_cut_short_keep_their_whole_items() {
        let (out, r) = fix("<rss><channel><item><t>a</t></item>\n<item><t>b<![CDATA[cut");
        assert_eq!(out, "<rss><channel><item><t>a</t></item>\n</channel></rss>");
        assert!(r.cut_short);
        let told = said(&r);
        assert!(told.iter().any(|s| s.contains("CDATA")), "{told:?}");
        assert!(
            told.iter()
                .any(|s| s.contains("ends inside <item> opened at line 2: that item is left out")),
            "{told:?}"
        );
        let (out, r) = fix("<rss><channel><item>a</item></channel></rss");
        assert_eq!(out, "<rss><channel><item>a</item></channel></rss>");
        assert!(
            said(&r)[0].contains("ends inside '</rss'"),
            "{:?}",
            said(&r)
        );
    }

    #[test]
    fn items_do_not_nest() {
        let (out, r) = fix("<rss><channel><item><t>a</t>\n<item><t>b</t></item></channel></rss>");
        assert_eq!(
            out,
            "<rss><channel><item><t>a</t>\n</item><item><t>b</t></item></channel></rss>"
        );
        assert!(said(&r)[0].starts_with("line 2, col 1: <item> opened at line 1 never closed"));
    }

    #[test]
    fn outside_the_root() {
        let (out, r) = fix("\n\n<?xml version=\"1.0\"?><rss>x</rss>\n<b>Warning</b>: PHP");
        assert_eq!(out, "<?xml version=\"1.0\"?><rss>x</rss>");
        assert_eq!(r.count, 2, "{:?}", said(&r));
    }

    #[test]
    fn refusals_hold() {
        let lines = Lines::new(b"");
        let mut r = Repairs::default();
        let dtd = b"<!DOCTYPE r [<!ENTITY a \"b\">]><rss>&a;</rss>";
        assert!(repair(dtd, "RSS", &lines, &mut r).is_err());
        let deep = format!("<rss>{}", "<a>".repeat(MAX_NESTING + 1));
        assert!(repair(deep.as_bytes(), "RSS", &lines, &mut r).is_err());
        let amps = format!("<rss>{}</rss>", "&".repeat(MAX_REPAIRS + 1));
        let err = repair(amps.as_bytes(), "RSS", &lines, &mut Repairs::default()).unwrap_err();
        assert!(err.to_string().contains("places needed repair"), "{err}");
    }

    #[test]
    fn offsets_map_back() {
        let doc = "<rss>a & b &eacute; c</rss>";
        let lines = Lines::new(doc.as_bytes());
        let fixed = repair(doc.as_bytes(), "RSS", &lines, &mut Repairs::default()).unwrap();
        let out = String::from_utf8(fixed.doc.clone()).unwrap();
        let c_out = out.find(" c").unwrap();
        assert_eq!(fixed.map.original(c_out), doc.find(" c").unwrap());
        assert_eq!(fixed.map.original(0), 0);
    }
}
