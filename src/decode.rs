//! Character decoding of response bodies, before the format parsers.
//!
//! The parsers behind `rss`, `atom_syndication` and `scraper` read UTF-8
//! only. Feeds in the wild are also ISO-8859-1, windows-1252, UTF-16…, and
//! some declare one charset and send another. The encoding is chosen as the
//! formats prescribe, and the body re-encoded as UTF-8 only when it is not
//! already:
//! - XML (RFC 7303 §3): a byte order mark, else the XML declaration's
//!   `encoding`, else the Content-Type `charset`, else UTF-8;
//! - HTML (WHATWG "determine the character encoding", simplified): a BOM,
//!   else the Content-Type `charset`, else a `<meta charset>` /
//!   `<meta http-equiv="Content-Type">` in the first 1024 bytes, else UTF-8.
//!
//! For XML, labels are believed only as far as the bytes allow, as the
//! WHATWG encoding standard and Python's feedparser do, and every place the
//! document is read other than as labelled is recorded ([`xml_noting`]):
//! - a label a byte order mark contradicts is reported; the mark wins;
//! - UTF-16 and UTF-32 without a byte order mark are recognised by their
//!   first bytes (XML 1.0 Appendix F: `3C 00 3F 00`, `00 00 00 3C`, …,
//!   also after leading whitespace, and a JSON Feed's `{`);
//! - a label naming UTF-16 or UTF-32 on bytes that read as ASCII (the
//!   declaration saying so could be read at all) is ignored, as WHATWG
//!   ignores it, and the next label in the order above decides;
//! - an unknown label is passed over the same way, and so is one WHATWG
//!   maps to its "replacement" decoder (ISO-2022-KR, …), which would turn
//!   the whole document into one U+FFFD;
//! - a single-byte label (ISO-8859-x, windows-125x, us-ascii) on a body
//!   that is valid UTF-8 with multi-byte sequences is read as UTF-8: the
//!   chance of Latin-1 text being valid UTF-8 by accident is negligible,
//!   and believing the label turns every `é` into `Ã©`;
//! - a body read as UTF-8 with bytes that are not UTF-8 is nearly always
//!   UTF-8 with some windows-1252 / ISO-8859-1 pasted in: valid sequences
//!   are read as UTF-8 and each invalid byte as windows-1252 (which maps
//!   every byte), so the text comes out right instead of failing the source
//!   or filling titles with U+FFFD;
//! - characters XML 1.0 forbids (C0 controls other than tab, CR and LF;
//!   U+FFFE, U+FFFF) are removed, since a single one makes the XML parser
//!   reject the document.
//!
//! A declaration naming anything but UTF-8 is rewritten to `utf-8` in the
//! output: `quick-xml` honours the declared encoding, and must not decode
//! the UTF-8 output a second time.

use std::borrow::Cow;
use std::ops::Range;

use encoding_rs::{DecoderResult, Encoding, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8};

use crate::repairs::{Lines, Repairs};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes the XML declaration is looked for in (it is short; a document
/// whose first 256 bytes hold no `?>` has none worth reading).
const DECLARATION_MAX: usize = 256;

/// Bytes of a UTF-16/32 document without a BOM looked through (leading
/// whitespace) for its first `<` or `{`.
const WIDE_SNIFF_MAX: usize = 1024;

/// Bytes looked through for a NUL before a Content-Type label naming
/// UTF-16/32 is believed: ASCII-compatible XML holds none, UTF-16 XML
/// holds one in its first four bytes.
const NUL_SNIFF_MAX: usize = 1024;

/// The longest encoding label quoted in a repair (IANA names are under 40).
const LABEL_SHOWN_MAX: usize = 40;

/// The body of an XML document, as UTF-8 the parsers accept.
pub fn xml<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    match xml_noting(body, content_type, &mut Repairs::default()) {
        // One pass needs no mark that the document is decoded already.
        Cow::Owned(mut text) if is_wide(body) => {
            text.drain(..UTF8_BOM.len());
            Cow::Owned(text)
        }
        text => text,
    }
}

/// [`xml`], recording in `repairs` what was read other than as labelled
/// (see the module doc), each placed (line and column in the output) where
/// it is about: a declared label where it is written, a count of bytes or
/// characters at the first of them, what the first bytes or the byte order
/// mark say at line 1, column 1, a Content-Type label on UTF-8 bytes at
/// the first multi-byte sequence; an unknown Content-Type label nowhere.
///
/// A UTF-16/32 document ([`is_wide`]) comes back as UTF-8 starting with a
/// UTF-8 byte order mark, its declaration's encoding rewritten to `utf-8`:
/// the mark tells a second pass over the output (the feed extractor's, once
/// the format is detected) that its bytes are UTF-8 now, whatever the
/// Content-Type said of the bytes as sent, so that pass reads it as is and
/// reports nothing again. Locations are those of the output without the
/// mark, which that pass removes. Any other output is for the parser: a
/// second pass over it would weigh its Content-Type charset again.
///
/// Common case — valid UTF-8, no label trouble, no forbidden character —
/// borrows `body`, allocates nothing and counts no lines.
pub fn xml_noting<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
    repairs: &mut Repairs,
) -> Cow<'a, [u8]> {
    match wide(body) {
        Some((charset, bom)) => wide_xml(body, charset, bom, content_type, repairs),
        None => narrow_xml(body, content_type, repairs),
    }
}

/// Whether `body` is in a wide encoding (UTF-16, UTF-32) that must be
/// decoded before its markup can be read at all: by its byte order mark,
/// else by its first bytes (XML 1.0 Appendix F, leading whitespace allowed).
pub fn is_wide(body: &[u8]) -> bool {
    wide(body).is_some()
}

/// The body of an HTML page, as a UTF-8 string.
pub fn html<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let encoding = Encoding::for_bom(body)
        .map(|(e, _)| e)
        .or_else(|| charset_param(content_type).and_then(|l| Encoding::for_label(l.as_bytes())))
        .or_else(|| html_meta_charset(body).and_then(|l| Encoding::for_label(l.as_bytes())))
        .unwrap_or(UTF_8);
    // HTML parsers tolerate control characters; only the charset matters.
    let (text, _, _) = encoding.decode(body);
    text
}

/// An encoding a document is read in: every WHATWG one through
/// `encoding_rs`, and UTF-32 (which WHATWG drops, XML 1.0 Appendix F and
/// feedparser keep) by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Whatwg(&'static Encoding),
    Utf32Le,
    Utf32Be,
}

impl Charset {
    fn name(self) -> &'static str {
        match self {
            Charset::Whatwg(e) => e.name(),
            Charset::Utf32Le => "UTF-32LE",
            Charset::Utf32Be => "UTF-32BE",
        }
    }

    /// "UTF-16" / "UTF-32" for the wide encodings.
    fn wide_family(self) -> Option<&'static str> {
        match self {
            Charset::Whatwg(e) if e == UTF_16LE || e == UTF_16BE => Some("UTF-16"),
            Charset::Whatwg(_) => None,
            Charset::Utf32Le | Charset::Utf32Be => Some("UTF-32"),
        }
    }

    fn is_single_byte(self) -> bool {
        matches!(self, Charset::Whatwg(e) if e.is_single_byte())
    }
}

/// Why a label names no encoding read here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unresolved {
    Unknown,
    /// WHATWG's "replacement" labels (ISO-2022-KR, HZ-GB-2312, …), which
    /// `encoding_rs` would decode to a single U+FFFD.
    Unsupported,
}

/// The encoding a label names (WHATWG labels, plus UTF-32's).
fn resolve(label: &str) -> Result<Charset, Unresolved> {
    let label = label.trim();
    let is = |names: &[&str]| names.iter().any(|n| label.eq_ignore_ascii_case(n));
    if is(&["utf-32be", "ucs-4be"]) {
        return Ok(Charset::Utf32Be);
    }
    // Unmarked UTF-32 as little-endian, as WHATWG reads unmarked UTF-16.
    if is(&[
        "utf-32",
        "utf32",
        "utf-32le",
        "ucs-4",
        "ucs-4le",
        "iso-10646-ucs-4",
    ]) {
        return Ok(Charset::Utf32Le);
    }
    match Encoding::for_label(label.as_bytes()) {
        Some(e) if e == REPLACEMENT => Err(Unresolved::Unsupported),
        Some(e) => Ok(Charset::Whatwg(e)),
        None => Err(Unresolved::Unknown),
    }
}

fn names_utf8(label: &str) -> bool {
    resolve(label) == Ok(Charset::Whatwg(UTF_8))
}

/// Where a label was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Declaration,
    ContentType,
}

/// A label, as a repair quotes it.
///
/// SECURITY: labels are upstream bytes and repairs are shown on `/status`;
/// only a label that looks like one is quoted.
fn shown(label: &str) -> String {
    let label = label.trim();
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_.:+()".contains(&b);
    if !label.is_empty() && label.len() <= LABEL_SHOWN_MAX && label.bytes().all(plain) {
        label.to_string()
    } else {
        format!("(label of {} bytes, not shown)", label.len())
    }
}

/// What a label said that the bytes did not bear out: recorded as the
/// labels are weighed, reported once the encoding read is known.
#[derive(Debug)]
enum Note {
    Unknown {
        source: Source,
        label: String,
        why: Unresolved,
    },
    /// A UTF-16/32 label on bytes that read as ASCII.
    NotWide {
        source: Source,
        label: String,
        family: &'static str,
    },
    /// A single-byte label on bytes that are UTF-8.
    Utf8 { source: Source, label: String },
    /// A label other than what the byte order mark or the first bytes say.
    Overruled {
        source: Source,
        label: String,
        by_bom: bool,
    },
    /// UTF-16/32 recognised by its first bytes, the label (if any) agreeing.
    NoBom,
}

impl Note {
    /// Where in the document it is about: the declaration's label, else
    /// where the bytes say otherwise.
    fn place(&self) -> Place {
        match self {
            Note::Unknown { source, .. }
            | Note::NotWide { source, .. }
            | Note::Utf8 { source, .. }
            | Note::Overruled { source, .. }
                if *source == Source::Declaration =>
            {
                Place::Declaration
            }
            // A Content-Type label the bytes do not bear out at all.
            Note::Unknown { .. } => Place::Nowhere,
            // The first multi-byte sequence.
            Note::Utf8 { .. } => Place::FirstNonAscii,
            // The byte order mark, or the first bytes.
            Note::NotWide { .. } | Note::Overruled { .. } | Note::NoBom => Place::Start,
        }
    }

    fn text(&self, read: Charset) -> String {
        let says = |source: &Source, label: &str| match source {
            Source::Declaration => format!("declared {label}"),
            Source::ContentType => format!("Content-Type charset {label}"),
        };
        let read = read.name();
        match self {
            Note::Unknown { source, label, why } => format!(
                "{} encoding label '{label}' in the {}; read as {read}",
                match why {
                    Unresolved::Unknown => "unknown",
                    Unresolved::Unsupported => "unsupported",
                },
                match source {
                    Source::Declaration => "XML declaration",
                    Source::ContentType => "Content-Type",
                }
            ),
            Note::NotWide {
                source,
                label,
                family,
            } => format!(
                "{}, but the bytes are ASCII-compatible, not {family}; read as {read}",
                says(source, label)
            ),
            Note::Utf8 { source, label } => {
                format!(
                    "{}, but the bytes are UTF-8; read as UTF-8",
                    says(source, label)
                )
            }
            Note::Overruled {
                source,
                label,
                by_bom: true,
            } => format!(
                "{}, but the document starts with a {read} byte-order mark; read as {read}",
                says(source, label)
            ),
            Note::Overruled {
                source,
                label,
                by_bom: false,
            } => format!(
                "{}, but the bytes are {read} without a byte-order mark \
                 (recognised by its first bytes); read as {read}",
                says(source, label)
            ),
            Note::NoBom => {
                format!("{read} without a byte-order mark, recognised by its first bytes")
            }
        }
    }
}

/// Where a [`Note`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Declaration,
    Start,
    FirstNonAscii,
    Nowhere,
}

/// Bytes not valid in the encoding read, and what became of them.
#[derive(Debug, Clone, Copy)]
struct Bad {
    count: usize,
    /// Offset in the decoded text of the first.
    first: usize,
    /// Read as windows-1252 (a body read as UTF-8), else replaced with
    /// U+FFFD (sequences of the charset named).
    kind: BadKind,
}

#[derive(Debug, Clone, Copy)]
enum BadKind {
    Windows1252,
    Replaced(Charset),
}

impl Bad {
    fn new(first: usize, kind: BadKind) -> Self {
        Bad {
            count: 0,
            first,
            kind,
        }
    }

    fn text(&self) -> String {
        match (self.kind, self.count) {
            (BadKind::Windows1252, 1) => "a byte not valid UTF-8 read as windows-1252".into(),
            (BadKind::Windows1252, n) => {
                format!("{n} bytes not valid UTF-8 read as windows-1252, the first here")
            }
            (BadKind::Replaced(c), 1) => format!(
                "a byte sequence not valid {} replaced with U+FFFD",
                c.name()
            ),
            (BadKind::Replaced(c), n) => format!(
                "{n} byte sequences not valid {} replaced with U+FFFD, the first here",
                c.name()
            ),
        }
    }
}

/// A UTF-16 or UTF-32 document: its encoding and the length of its byte
/// order mark (0 when recognised by its first bytes).
fn wide(body: &[u8]) -> Option<(Charset, usize)> {
    // UTF-32LE's mark starts with UTF-16LE's: test it first (a UTF-16
    // document cannot go on with U+0000, which XML forbids).
    let marks: [(&[u8], Charset); 4] = [
        (b"\xFF\xFE\x00\x00", Charset::Utf32Le),
        (b"\x00\x00\xFE\xFF", Charset::Utf32Be),
        (b"\xFF\xFE", Charset::Whatwg(UTF_16LE)),
        (b"\xFE\xFF", Charset::Whatwg(UTF_16BE)),
    ];
    if let Some((mark, charset)) = marks.iter().find(|(m, _)| body.starts_with(m)) {
        return Some((*charset, mark.len()));
    }
    sniff_wide(body).map(|c| (c, 0))
}

/// UTF-16/32 without a byte order mark, by XML 1.0 Appendix F: in exactly
/// one of the four layouts, the first character other than whitespace is
/// `<` (or `{`, a JSON Feed) and the next one is ASCII (`<?`, `<r`, `{"`).
/// Appendix F names `<?` only; a feed without a declaration starts `<rss`.
fn sniff_wide(body: &[u8]) -> Option<Charset> {
    // Cheap refusal of every ASCII-compatible body: a wide one starting
    // with an ASCII character has a NUL in its first four bytes.
    if !body.iter().take(4).any(|&b| b == 0) {
        return None;
    }
    let head = &body[..body.len().min(WIDE_SNIFF_MAX)];
    let layouts = [
        (Charset::Utf32Be, 4),
        (Charset::Utf32Le, 4),
        (Charset::Whatwg(UTF_16BE), 2),
        (Charset::Whatwg(UTF_16LE), 2),
    ];
    layouts
        .into_iter()
        .find(|&(charset, width)| {
            let mut units = head
                .chunks_exact(width)
                .map(|u| match charset {
                    Charset::Utf32Be => u32::from_be_bytes([u[0], u[1], u[2], u[3]]),
                    Charset::Utf32Le => u32::from_le_bytes([u[0], u[1], u[2], u[3]]),
                    Charset::Whatwg(e) if e == UTF_16BE => {
                        u32::from(u16::from_be_bytes([u[0], u[1]]))
                    }
                    Charset::Whatwg(_) => u32::from(u16::from_le_bytes([u[0], u[1]])),
                })
                .skip_while(|c| matches!(c, 0x20 | 0x09 | 0x0A | 0x0D));
            matches!(
                (units.next(), units.next()),
                (Some(0x3C | 0x7B), Some(0x01..=0x7F))
            )
        })
        .map(|(charset, _)| charset)
}

/// Whether a NUL is among the first bytes (then the body may be UTF-16/32
/// as a label says, though its first bytes were not recognised).
fn has_nul(body: &[u8]) -> bool {
    memchr::memchr(0, &body[..body.len().min(NUL_SNIFF_MAX)]).is_some()
}

/// A UTF-16/32 document: decoded, its labels weighed against what its
/// BOM or first bytes say.
fn wide_xml<'a>(
    body: &'a [u8],
    charset: Charset,
    bom: usize,
    content_type: Option<&str>,
    repairs: &mut Repairs,
) -> Cow<'a, [u8]> {
    let (text, bad) = decode_with(charset, &body[bom..]);
    let label = declaration(&text)
        .map(|d| (Source::Declaration, d.label.to_string()))
        .or_else(|| charset_param(content_type).map(|l| (Source::ContentType, l.to_string())));
    // "UTF-16" names no byte order: either agrees with it.
    let agrees =
        |label: &str| resolve(label).is_ok_and(|c| c.wide_family() == charset.wide_family());
    let note = match label {
        Some((source, label)) if !agrees(&label) => Some(Note::Overruled {
            source,
            label: shown(&label),
            by_bom: bom > 0,
        }),
        _ if bom == 0 => Some(Note::NoBom),
        _ => None,
    };
    let text = finish(
        Cow::Owned(text),
        charset,
        false,
        note.into_iter().collect(),
        bad,
        repairs,
    );
    let mut marked = Vec::with_capacity(UTF8_BOM.len() + text.len());
    marked.extend_from_slice(UTF8_BOM);
    marked.extend_from_slice(&text);
    Cow::Owned(marked)
}

/// A document in an ASCII-compatible encoding (or so its labels say).
fn narrow_xml<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
    repairs: &mut Repairs,
) -> Cow<'a, [u8]> {
    if let Some(unmarked) = body.strip_prefix(UTF8_BOM) {
        // The mark wins over every label. A Content-Type charset is not
        // weighed against it: the mark is also how a wide document decoded
        // by a first pass comes back (see `xml_noting`), while the
        // Content-Type still describes the bytes as sent.
        let note = declaration(unmarked)
            .filter(|d| !names_utf8(d.label))
            .map(|d| Note::Overruled {
                source: Source::Declaration,
                label: shown(d.label),
                by_bom: true,
            });
        let (text, bad) = utf8_mixed(unmarked);
        return finish(
            text,
            Charset::Whatwg(UTF_8),
            false,
            note.into_iter().collect(),
            bad,
            repairs,
        );
    }
    let declared = declaration(body).map(|d| d.label);
    let labels = declared
        .map(|l| (Source::Declaration, l))
        .into_iter()
        .chain(charset_param(content_type).map(|l| (Source::ContentType, l)));
    let mut notes = Vec::new();
    let mut chosen = None;
    for (source, label) in labels {
        match resolve(label) {
            Err(why) => notes.push(Note::Unknown {
                source,
                label: shown(label),
                why,
            }),
            Ok(c) => match c.wide_family() {
                // A declaration read as ASCII is no UTF-16 (WHATWG "get an
                // XML encoding" reads it as UTF-8); a Content-Type is
                // believed only on bytes that could be UTF-16/32.
                Some(family) if source == Source::Declaration || !has_nul(body) => {
                    notes.push(Note::NotWide {
                        source,
                        label: shown(label),
                        family,
                    })
                }
                _ => {
                    chosen = Some((c, source, label));
                    break;
                }
            },
        }
    }
    let charset = chosen.map_or(Charset::Whatwg(UTF_8), |(c, ..)| c);
    let (text, bad, read, ascii) = match charset {
        Charset::Whatwg(e) if e == UTF_8 => {
            let (text, bad) = utf8_mixed(body);
            (text, bad, charset, false)
        }
        // Every single-byte encoding is ASCII-compatible: an ASCII body
        // reads the same in all of them, and its label is true.
        c if c.is_single_byte() && body.is_ascii() => (Cow::Borrowed(body), None, c, true),
        c if c.is_single_byte() && std::str::from_utf8(body).is_ok() => {
            if let Some((_, source, label)) = chosen {
                notes.push(Note::Utf8 {
                    source,
                    label: shown(label),
                });
            }
            (Cow::Borrowed(body), None, Charset::Whatwg(UTF_8), false)
        }
        c => {
            let (text, bad) = decode_with(c, body);
            (Cow::Owned(text), bad, c, false)
        }
    };
    finish(text, read, ascii, notes, bad, repairs)
}

/// The decoded `text` (read as `read`) made what the XML parser reads —
/// its declaration naming UTF-8, characters XML forbids removed — and
/// what was read other than as labelled recorded, with places in the
/// result. `ascii`: the text is ASCII only, so a single-byte label on it
/// is true and is left.
fn finish<'a>(
    mut text: Cow<'a, [u8]>,
    read: Charset,
    ascii: bool,
    notes: Vec<Note>,
    mut bad: Option<Bad>,
    repairs: &mut Repairs,
) -> Cow<'a, [u8]> {
    let mut removed = None;
    if let Some((stripped, what)) = strip_forbidden(&text) {
        if let Some(bad) = &mut bad {
            bad.first -= forbidden_before(&text, bad.first);
        }
        removed = Some(what);
        text = Cow::Owned(stripped);
    }
    // After the removal: a declaration can appear by it (`<?xml\u{1} …`),
    // and the parser reads the declaration that is left.
    let mut declared_at = None;
    let declared = declaration(&text).map(|d| {
        let true_label =
            names_utf8(d.label) || (ascii && resolve(d.label).is_ok_and(Charset::is_single_byte));
        (d.value, true_label)
    });
    if let Some((value, true_label)) = declared {
        declared_at = Some(value.start);
        if !true_label {
            const UTF8_LABEL: &[u8] = b"utf-8";
            text.to_mut()
                .splice(value.clone(), UTF8_LABEL.iter().copied());
            let moved = |at: &mut usize| *at = spliced(*at, &value, UTF8_LABEL.len());
            if let Some(bad) = &mut bad {
                moved(&mut bad.first);
            }
            if let Some(removed) = &mut removed {
                moved(&mut removed.first_at);
            }
        }
    }
    if notes.is_empty() && bad.is_none() && removed.is_none() {
        return text;
    }
    // The repair path only: one pass over the newlines.
    let lines = Lines::new(&text);
    for note in &notes {
        let at = match note.place() {
            Place::Declaration => declared_at,
            Place::Start => Some(0),
            Place::FirstNonAscii => text.iter().position(|b| !b.is_ascii()),
            Place::Nowhere => None,
        };
        repairs.push_with(at.map(|at| lines.locate(at)), || note.text(read));
    }
    // Counted repairs are placed at the first of them.
    if let Some(bad) = bad {
        repairs.push_with(Some(lines.locate(bad.first)), || bad.text());
    }
    if let Some(removed) = removed {
        repairs.push_with(Some(lines.locate(removed.first_at)), || removed.text());
    }
    text
}

/// Where offset `at` goes when `value` is replaced by `len` bytes.
fn spliced(at: usize, value: &Range<usize>, len: usize) -> usize {
    if at >= value.end {
        at - value.len() + len
    } else {
        at.min(value.start)
    }
}

/// Decodes `src` (no byte order mark) to UTF-8, counting what is not
/// valid in `charset`.
fn decode_with(charset: Charset, src: &[u8]) -> (Vec<u8>, Option<Bad>) {
    match charset {
        Charset::Whatwg(e) => decode_whatwg(e, src),
        Charset::Utf32Le => decode_utf32(src, charset, u32::from_le_bytes),
        Charset::Utf32Be => decode_utf32(src, charset, u32::from_be_bytes),
    }
}

fn decode_whatwg(encoding: &'static Encoding, src: &[u8]) -> (Vec<u8>, Option<Bad>) {
    let kind = BadKind::Replaced(Charset::Whatwg(encoding));
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = Vec::with_capacity(src.len());
    let mut buf = [0u8; 8 * 1024];
    let mut bad: Option<Bad> = None;
    let mut from = 0;
    loop {
        let (result, read, written) =
            decoder.decode_to_utf8_without_replacement(&src[from..], &mut buf, true);
        from += read;
        out.extend_from_slice(&buf[..written]);
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(..) => {
                bad.get_or_insert_with(|| Bad::new(out.len(), kind)).count += 1;
                out.extend_from_slice("\u{FFFD}".as_bytes());
            }
        }
    }
    (out, bad)
}

fn decode_utf32(src: &[u8], charset: Charset, unit: fn([u8; 4]) -> u32) -> (Vec<u8>, Option<Bad>) {
    let mut out = Vec::with_capacity(src.len() / 4 + 4);
    let mut bad: Option<Bad> = None;
    let units = src.chunks_exact(4);
    let trailing = !units.remainder().is_empty();
    let mut buf = [0u8; 4];
    for u in units {
        match char::from_u32(unit([u[0], u[1], u[2], u[3]])) {
            Some(c) => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
            None => {
                bad.get_or_insert_with(|| Bad::new(out.len(), BadKind::Replaced(charset)))
                    .count += 1;
                out.extend_from_slice("\u{FFFD}".as_bytes());
            }
        }
    }
    if trailing {
        bad.get_or_insert_with(|| Bad::new(out.len(), BadKind::Replaced(charset)))
            .count += 1;
        out.extend_from_slice("\u{FFFD}".as_bytes());
    }
    (out, bad)
}

/// `body` read as UTF-8: borrowed when valid; else its valid sequences as
/// UTF-8 and each byte of the invalid ones as windows-1252 (see the
/// module doc).
fn utf8_mixed(body: &[u8]) -> (Cow<'_, [u8]>, Option<Bad>) {
    let Err(e) = std::str::from_utf8(body) else {
        return (Cow::Borrowed(body), None);
    };
    let valid = e.valid_up_to();
    // Each invalid byte becomes two or three: room for a few.
    let mut out = Vec::with_capacity(body.len() + body.len() / 8 + 8);
    out.extend_from_slice(&body[..valid]);
    let mut bad = Bad::new(valid, BadKind::Windows1252);
    let mut buf = [0u8; 4];
    for chunk in body[valid..].utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for &b in chunk.invalid() {
            if bad.count == 0 {
                bad.first = out.len();
            }
            bad.count += 1;
            out.extend_from_slice(windows_1252(b).encode_utf8(&mut buf).as_bytes());
        }
    }
    (Cow::Owned(out), Some(bad))
}

/// windows-1252's 0x80–0x9F (the WHATWG index; its five unassigned bytes
/// as the C1 controls of the same value, as `encoding_rs` decodes them).
const WINDOWS_1252_80: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

/// One byte as windows-1252 (a table lookup: a hostile body can have
/// millions of them, one `encoding_rs` call each would be slow).
fn windows_1252(b: u8) -> char {
    match b {
        0x80..=0x9F => WINDOWS_1252_80[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The `encoding` of an XML declaration at the start of a document.
struct Declared<'d> {
    /// The label, trimmed.
    label: &'d str,
    /// Between the quotes, in the document.
    value: Range<usize>,
}

/// The XML declaration's `encoding`, if the document starts with one that
/// has it.
fn declaration(doc: &[u8]) -> Option<Declared<'_>> {
    let head = &doc[..doc.len().min(DECLARATION_MAX)];
    // `<?xml-stylesheet …?>` is no declaration.
    if !head.starts_with(b"<?xml") || !head.get(5).is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let end = memchr::memmem::find(head, b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let start = decl.len() - rest.len() + 1;
    let len = decl[start..].find(quote)?;
    Some(Declared {
        label: decl[start..start + len].trim(),
        value: start..start + len,
    })
}

/// `charset` of a Content-Type header value.
fn charset_param(content_type: Option<&str>) -> Option<&str> {
    content_type?
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// `<meta charset="…">` or `<meta http-equiv="Content-Type" content="…;
/// charset=…">` in the first 1024 bytes.
fn html_meta_charset(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = head[from..].find("<meta") {
        let start = from + i;
        let end = start + head[start..].find('>')?;
        let tag = &head[start..end];
        if let Some(c) = tag.find("charset=") {
            let v = tag[c + "charset=".len()..].trim_start_matches(['"', '\'']);
            let v: String = v
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
                .collect();
            if !v.is_empty() {
                return Some(v);
            }
        }
        from = end;
    }
    None
}

/// Characters XML forbids removed from a document: how many, and the first.
#[derive(Debug, Clone, Copy)]
struct Removed {
    count: usize,
    /// Where the first was, in the text without them.
    first_at: usize,
    first: char,
    controls_only: bool,
}

impl Removed {
    fn text(&self) -> String {
        let what = if self.controls_only {
            "control character"
        } else {
            "character"
        };
        match self.count {
            1 => format!(
                "a {what} XML forbids (U+{:04X}) removed",
                u32::from(self.first)
            ),
            n => format!(
                "{n} {what}s XML forbids removed, the first (U+{:04X}) here",
                u32::from(self.first)
            ),
        }
    }
}

/// A C0 control XML 1.0 forbids (all but tab, LF and CR).
fn forbidden_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')
}

/// Length of the character XML 1.0 forbids at `i` of UTF-8 `s`, or 0.
fn forbidden_len(s: &[u8], i: usize) -> usize {
    match s[i] {
        b if forbidden_control(b) => 1,
        // U+FFFE, U+FFFF (0xEF is always a lead byte in valid UTF-8).
        0xEF if s.get(i + 1) == Some(&0xBF) && matches!(s.get(i + 2), Some(0xBE | 0xBF)) => 3,
        _ => 0,
    }
}

/// The first character XML forbids: a control scan, then a `memchr` for
/// U+FFFE/U+FFFF's lead byte before it.
fn first_forbidden(s: &[u8]) -> Option<usize> {
    let control = s.iter().position(|&b| forbidden_control(b));
    let before = &s[..control.unwrap_or(s.len())];
    memchr::memchr_iter(0xEF, before)
        .find(|&i| forbidden_len(s, i) == 3)
        .or(control)
}

/// Bytes of forbidden characters before offset `at` (a character boundary).
fn forbidden_before(s: &[u8], at: usize) -> usize {
    let at = at.min(s.len());
    let Some(mut i) = first_forbidden(&s[..at]) else {
        return 0;
    };
    let mut n = 0;
    while i < at {
        match forbidden_len(s, i) {
            0 => i += 1,
            len => {
                n += len;
                i += len;
            }
        }
    }
    n.min(at)
}

/// The text without characters XML 1.0 forbids; `None` when there are none
/// (the common case, checked without allocating).
fn strip_forbidden(utf8: &[u8]) -> Option<(Vec<u8>, Removed)> {
    let start = first_forbidden(utf8)?;
    let mut removed = Removed {
        count: 0,
        first_at: start,
        first: match forbidden_len(utf8, start) {
            1 => char::from(utf8[start]),
            _ if utf8[start + 2] == 0xBE => '\u{FFFE}',
            _ => '\u{FFFF}',
        },
        controls_only: true,
    };
    let mut text = Vec::with_capacity(utf8.len());
    text.extend_from_slice(&utf8[..start]);
    let (mut i, mut kept_from) = (start, start);
    while i < utf8.len() {
        match forbidden_len(utf8, i) {
            0 => i += 1,
            len => {
                text.extend_from_slice(&utf8[kept_from..i]);
                removed.count += 1;
                removed.controls_only &= len == 1;
                i += len;
                kept_from = i;
            }
        }
    }
    text.extend_from_slice(&utf8[kept_from..]);
    Some((text, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(c: Cow<[u8]>) -> String {
        String::from_utf8(c.into_owned()).unwrap()
    }

    #[test]
    fn utf8_passes_through_untouched() {
        let body = "<?xml version=\"1.0\"?><rss><t>Zürich</t></rss>".as_bytes();
        assert!(matches!(xml(body, None), Cow::Borrowed(_)));
    }

    #[test]
    fn the_xml_declaration_decides() {
        let body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><t>Z\xFCrich</t></rss>";
        let out = s(xml(body, Some("text/xml; charset=utf-8")));
        assert!(out.contains("<t>Zürich</t>"), "{out}");
        assert!(
            out.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "{out}"
        );
    }

    #[test]
    fn the_header_charset_applies_without_a_declaration() {
        let out = s(xml(
            b"<rss><t>caf\xE9</t></rss>",
            Some("application/rss+xml; charset=windows-1252"),
        ));
        assert_eq!(out, "<rss><t>café</t></rss>");
    }

    #[test]
    fn utf16_with_a_bom() {
        let mut body = vec![0xFF, 0xFE];
        for u in "<rss>é</rss>".encode_utf16() {
            body.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(s(xml(&body, None)), "<rss>é</rss>");
        let (out, repairs) = noting(&body, None);
        assert_eq!(out, "\u{FEFF}<rss>é</rss>");
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn mislabelled_latin1_and_forbidden_controls() {
        let out = s(xml(
            b"<rss><t>Z\xFCrich\x01 \x0Bcaf\xE9</t></rss>",
            Some("text/xml; charset=utf-8"),
        ));
        assert_eq!(out, "<rss><t>Zürich café</t></rss>");
    }

    fn noting(body: &[u8], content_type: Option<&str>) -> (String, Repairs) {
        let mut repairs = Repairs::default();
        let out = xml_noting(body, content_type, &mut repairs);
        (String::from_utf8(out.into_owned()).unwrap(), repairs)
    }

    /// The one repair made, as shown (`line L, col C: what`).
    fn only(repairs: &Repairs) -> String {
        assert_eq!(repairs.count, 1, "{repairs:?}");
        repairs.first[0].to_string()
    }

    fn shown_all(repairs: &Repairs) -> Vec<String> {
        repairs.first.iter().map(|r| r.to_string()).collect()
    }

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn utf16be(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    fn utf32le(text: &str) -> Vec<u8> {
        text.chars()
            .flat_map(|c| u32::from(c).to_le_bytes())
            .collect()
    }

    fn utf32be(text: &str) -> Vec<u8> {
        text.chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect()
    }

    /// The first pass the feed extractor makes over a wide body, then the
    /// second over what it gave.
    fn two_passes(body: &[u8], content_type: Option<&str>) -> (String, Repairs) {
        let mut repairs = Repairs::default();
        let first = if is_wide(body) {
            xml_noting(body, content_type, &mut repairs)
        } else {
            Cow::Borrowed(body)
        };
        let out = xml_noting(&first, content_type, &mut repairs).into_owned();
        (String::from_utf8(out).unwrap(), repairs)
    }

    /// Where `needle` is in `text`, as `line L, col C`.
    fn place(text: &str, needle: &str) -> String {
        let at = text.find(needle).unwrap();
        Lines::new(text.as_bytes()).locate(at).to_string()
    }

    const DECL_AT: &str = "line 1, col 31";

    #[test]
    fn the_common_case_borrows_and_reports_nothing() {
        for (body, content_type) in [
            (
                &b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>Z\xC3\xBCrich</rss>"[..],
                None,
            ),
            (b"<rss>Z\xC3\xBCrich</rss>", Some("text/xml; charset=utf-8")),
            // A single-byte label on ASCII is true: nothing to rewrite.
            (
                b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>&#233;</rss>",
                None,
            ),
            (b"<rss>plain</rss>", Some("text/xml; charset=us-ascii")),
        ] {
            let mut repairs = Repairs::default();
            let out = xml_noting(body, content_type, &mut repairs);
            assert!(matches!(out, Cow::Borrowed(b) if b == body));
            assert!(repairs.is_empty(), "{repairs:?}");
        }
    }

    #[test]
    fn wide_without_a_bom_is_recognised_by_its_first_bytes() {
        let doc = "<?xml version=\"1.0\"?>\n<rss>Zürich</rss>";
        for (body, first, name) in [
            (utf16le(doc), &b"\x3C\x00\x3F\x00"[..], "UTF-16LE"),
            (utf16be(doc), b"\x00\x3C\x00\x3F", "UTF-16BE"),
            (utf32le(doc), b"\x3C\x00\x00\x00", "UTF-32LE"),
            (utf32be(doc), b"\x00\x00\x00\x3C", "UTF-32BE"),
        ] {
            assert!(body.starts_with(first), "{name}");
            assert!(is_wide(&body), "{name}");
            let (out, repairs) = noting(&body, None);
            assert_eq!(out, format!("\u{FEFF}{doc}"), "{name}");
            assert_eq!(
                only(&repairs),
                format!("line 1, col 1: {name} without a byte-order mark, recognised by its first bytes")
            );
        }
        // Leading whitespace, then `<` (XML forbids it before a
        // declaration, but a feed is no less one for it).
        let body = utf16le("  \n<rss>é</rss>");
        assert!(body.starts_with(b"\x20\x00\x20\x00\x0A\x00\x3C\x00"));
        assert!(is_wide(&body));
        assert_eq!(s(xml(&body, None)), "  \n<rss>é</rss>");
        assert!(is_wide(&utf32be(" <feed/>")));
        // A JSON Feed too.
        assert!(is_wide(&utf16be("{\"version\": \"\"}")));
        // ASCII-compatible bodies, and noise, are not wide.
        for body in [
            &b"<rss/>"[..],
            b"",
            b"\x00",
            b"\x00\x00",
            b" <rss/>",
            b"\xEF\xBB\xBF<rss/>",
        ] {
            assert!(!is_wide(body), "{body:?}");
        }
        assert!(!is_wide(&utf16le("x<rss/>")));
        // A stray NUL before UTF-8 markup is no UTF-16BE `<` (its next
        // "character" would be U+7273).
        assert!(!is_wide(b"\x00<rss/>"));
        let (out, repairs) = noting(b"\x00<rss/>", None);
        assert_eq!(out, "<rss/>");
        assert_eq!(
            only(&repairs),
            "line 1, col 1: a control character XML forbids (U+0000) removed"
        );
    }

    #[test]
    fn wide_with_a_contradicting_label() {
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>é</rss>";
        let (out, repairs) = noting(&utf16le(doc), None);
        assert_eq!(
            out,
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>é</rss>"
        );
        assert_eq!(
            only(&repairs),
            format!(
                "{DECL_AT}: declared ISO-8859-1, but the bytes are UTF-16LE without a \
                 byte-order mark (recognised by its first bytes); read as UTF-16LE"
            )
        );
        let mut body = b"\xFE\xFF".to_vec();
        body.extend(utf16be("<rss>é</rss>"));
        let (out, repairs) = noting(&body, Some("text/xml; charset=utf-8"));
        assert_eq!(out, "\u{FEFF}<rss>é</rss>");
        assert_eq!(
            only(&repairs),
            "line 1, col 1: Content-Type charset utf-8, but the document starts with a \
             UTF-16BE byte-order mark; read as UTF-16BE"
        );
        // UTF-16 names the family: either byte order agrees with it.
        let (_, repairs) = noting(&body, Some("text/xml; charset=UTF-16"));
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn the_two_passes_over_a_wide_body_report_once() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<rss>\n<t>a\u{1}b</t>\n</rss>";
        let want = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss>\n<t>ab</t>\n</rss>";
        let mut bommed = b"\xFF\xFE".to_vec();
        bommed.extend(utf16le(doc));
        for content_type in [
            None,
            Some("application/xml; charset=utf-16"),
            Some("application/xml; charset=iso-8859-1"),
        ] {
            let (out, repairs) = two_passes(&bommed, content_type);
            assert_eq!(out, want, "{content_type:?}");
            assert_eq!(
                only(&repairs),
                "line 3, col 5: a control character XML forbids (U+0001) removed"
            );
        }
        // No declaration, no BOM: the Content-Type is weighed in the first
        // pass only (the second sees the UTF-8 mark).
        let body = utf16le("<rss>é</rss>");
        let (out, repairs) = two_passes(&body, Some("application/xml; charset=utf-16"));
        assert_eq!(out, "<rss>é</rss>");
        assert_eq!(
            only(&repairs),
            "line 1, col 1: UTF-16LE without a byte-order mark, recognised by its first bytes"
        );
        let (out, repairs) = two_passes(&body, Some("application/xml; charset=windows-1252"));
        assert_eq!(out, "<rss>é</rss>");
        assert_eq!(
            only(&repairs),
            "line 1, col 1: Content-Type charset windows-1252, but the bytes are UTF-16LE \
             without a byte-order mark (recognised by its first bytes); read as UTF-16LE"
        );
    }

    #[test]
    fn malformed_wide_sequences_are_replaced_and_counted() {
        // A lone surrogate.
        let mut body = b"\xFF\xFE".to_vec();
        body.extend(utf16le("<rss>\n<t>a"));
        body.extend([0x00, 0xD8]);
        body.extend(utf16le("b</t></rss>"));
        let (out, repairs) = noting(&body, None);
        assert_eq!(out, "\u{FEFF}<rss>\n<t>a\u{FFFD}b</t></rss>");
        assert_eq!(
            only(&repairs),
            "line 2, col 5: a byte sequence not valid UTF-16LE replaced with U+FFFD"
        );
        // Code points past U+10FFFY and a cut-off unit.
        let mut body = utf32be("<r>");
        body.extend([0x00, 0x11, 0x00, 0x00]);
        body.extend(utf32be("</r>"));
        body.extend([0x00, 0x00]);
        let (out, repairs) = noting(&body, None);
        assert_eq!(out, "\u{FEFF}<r>\u{FFFD}</r>\u{FFFD}");
        assert_eq!(
            shown_all(&repairs),
            [
                "line 1, col 1: UTF-32BE without a byte-order mark, recognised by its first bytes",
                "line 1, col 4: 2 byte sequences not valid UTF-32BE replaced with U+FFFD, the \
                 first here"
            ]
        );
    }

    #[test]
    fn a_wide_label_on_ascii_bytes_is_a_lie() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<rss><t>Zürich</t></rss>";
        let (out, repairs) = noting(body.as_bytes(), None);
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss><t>Zürich</t></rss>"
        );
        assert_eq!(
            only(&repairs),
            format!(
                "{DECL_AT}: declared UTF-16, but the bytes are ASCII-compatible, not UTF-16; \
                 read as UTF-8"
            )
        );
        // The label passed over, the next one decides.
        let body = b"<?xml version=\"1.0\" encoding=\"utf-32\"?><rss><t>Z\xFCrich</t></rss>";
        let (out, repairs) = noting(body, Some("text/xml; charset=windows-1252"));
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss><t>Zürich</t></rss>"
        );
        assert_eq!(
            only(&repairs),
            format!(
                "{DECL_AT}: declared utf-32, but the bytes are ASCII-compatible, not UTF-32; \
                 read as windows-1252"
            )
        );
        // The Content-Type's.
        let body = "<rss><t>café</t></rss>".as_bytes();
        let mut repairs = Repairs::default();
        let out = xml_noting(
            body,
            Some("application/rss+xml; charset=UTF-16"),
            &mut repairs,
        );
        assert!(matches!(out, Cow::Borrowed(b) if b == body));
        assert_eq!(
            only(&repairs),
            "line 1, col 1: Content-Type charset UTF-16, but the bytes are ASCII-compatible, \
             not UTF-16; read as UTF-8"
        );
        // A declaration outranks the Content-Type: nothing was misread.
        let body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>caf\xE9</rss>";
        let (out, repairs) = noting(body, Some("text/xml; charset=utf-16"));
        assert!(out.ends_with("<rss>café</rss>"), "{out}");
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn a_single_byte_label_on_utf8_bytes_reads_utf8() {
        let body = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss><t>Zürich</t></rss>";
        let (out, repairs) = noting(body.as_bytes(), Some("text/xml"));
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss><t>Zürich</t></rss>"
        );
        assert_eq!(
            only(&repairs),
            format!("{DECL_AT}: declared ISO-8859-1, but the bytes are UTF-8; read as UTF-8")
        );
        let body = "<rss><t>“Zürich”</t></rss>".as_bytes();
        let mut repairs = Repairs::default();
        let out = xml_noting(body, Some("text/xml; charset=windows-1252"), &mut repairs);
        assert!(matches!(out, Cow::Borrowed(b) if b == body));
        assert_eq!(
            only(&repairs),
            "line 1, col 9: Content-Type charset windows-1252, but the bytes are UTF-8; \
             read as UTF-8"
        );
        // Latin-1 that is not valid UTF-8 is read as labelled, silently.
        let (out, repairs) = noting(b"<rss>Z\xFCrich</rss>", Some("text/xml; charset=latin1"));
        assert_eq!(out, "<rss>Zürich</rss>");
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn invalid_utf8_is_read_byte_by_byte_as_windows_1252() {
        // UTF-8 with one pasted Latin-1 line keeps its UTF-8.
        let body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss>\n<t>Z\xC3\xBCrich \xE2\x80\x94 ok</t>\n<d>caf\xE9 and na\xEFve \x93q\x94</d>\n</rss>";
        let (out, repairs) = noting(body, None);
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss>\n<t>Zürich — ok</t>\n<d>café and naïve “q”</d>\n</rss>"
        );
        assert_eq!(
            only(&repairs),
            "line 4, col 7: 4 bytes not valid UTF-8 read as windows-1252, the first here"
        );
        // One byte: its place is the repair's.
        let (out, repairs) = noting(b"<rss>\n<t>x</t><t>\xA0y</t></rss>", None);
        assert_eq!(out, "<rss>\n<t>x</t><t>\u{A0}y</t></rss>");
        assert_eq!(
            only(&repairs),
            "line 2, col 12: a byte not valid UTF-8 read as windows-1252"
        );
        // A cut-off sequence: each of its bytes.
        let (out, repairs) = noting(b"<r>\xE2\x80</r>", Some("text/xml; charset=utf-8"));
        assert_eq!(out, "<r>â\u{20AC}</r>");
        assert_eq!(
            only(&repairs),
            "line 1, col 4: 2 bytes not valid UTF-8 read as windows-1252, the first here"
        );
    }

    #[test]
    fn forbidden_characters_are_removed_and_counted() {
        let body = "<rss>\n\n\n\n\n\n\n\n<t>\u{1}a\u{B}b\u{1F}</t>\n</rss>";
        let (out, repairs) = noting(body.as_bytes(), None);
        assert_eq!(out, "<rss>\n\n\n\n\n\n\n\n<t>ab</t>\n</rss>");
        assert_eq!(
            only(&repairs),
            "line 9, col 4: 3 control characters XML forbids removed, the first (U+0001) here"
        );
        let (out, repairs) = noting("<r>\n<t>x\u{FFFE}y\u{FFFF}\u{1}</t></r>".as_bytes(), None);
        assert_eq!(out, "<r>\n<t>xy</t></r>");
        assert_eq!(
            only(&repairs),
            "line 2, col 5: 3 characters XML forbids removed, the first (U+FFFE) here"
        );
        let (_, repairs) = noting("<r>\u{FFFF}</r>".as_bytes(), None);
        assert_eq!(
            only(&repairs),
            "line 1, col 4: a character XML forbids (U+FFFF) removed"
        );
    }

    #[test]
    fn places_are_in_the_text_as_returned() {
        // Controls removed before an invalid byte on its line, and a
        // declaration rewritten before both.
        let body = b"<?xml version=\"1.0\" encoding=\"foo\"?><t>\x01\x02caf\xE9</t>";
        let (out, repairs) = noting(body, None);
        assert_eq!(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?><t>café</t>");
        assert_eq!(
            shown_all(&repairs),
            [
                format!(
                    "{DECL_AT}: unknown encoding label 'foo' in the XML declaration; read as UTF-8"
                ),
                format!(
                    "{}: a byte not valid UTF-8 read as windows-1252",
                    place(&out, "é")
                ),
                format!(
                    "{}: 2 control characters XML forbids removed, the first (U+0001) here",
                    place(&out, "caf")
                ),
            ]
        );
        assert_eq!(place(&out, "é"), "line 1, col 45");
    }

    #[test]
    fn unknown_labels_are_passed_over() {
        let (out, repairs) = noting(
            b"<?xml version=\"1.0\" encoding=\"foo\"?><rss>caf\xE9</rss>",
            Some("text/xml; charset=windows-1252"),
        );
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>café</rss>"
        );
        assert_eq!(
            only(&repairs),
            format!(
                "{DECL_AT}: unknown encoding label 'foo' in the XML declaration; \
                 read as windows-1252"
            )
        );
        let body = "<rss>café</rss>".as_bytes();
        let mut repairs = Repairs::default();
        let out = xml_noting(body, Some("text/xml; charset=\"x-nope\""), &mut repairs);
        assert!(matches!(out, Cow::Borrowed(_)));
        assert_eq!(
            only(&repairs),
            "unknown encoding label 'x-nope' in the Content-Type; read as UTF-8"
        );
        // WHATWG decodes these to one U+FFFD; the feed is worth more.
        let (out, repairs) = noting(
            b"<?xml version=\"1.0\" encoding=\"ISO-2022-KR\"?><rss>ok</rss>",
            None,
        );
        assert!(out.ends_with("<rss>ok</rss>"), "{out}");
        assert_eq!(
            only(&repairs),
            format!(
                "{DECL_AT}: unsupported encoding label 'ISO-2022-KR' in the XML \
                 declaration; read as UTF-8"
            )
        );
        // SECURITY: upstream markup is not quoted.
        let (_, repairs) = noting(b"<rss/>", Some("text/xml; charset=<b>x</b>"));
        assert_eq!(
            only(&repairs),
            "unknown encoding label '(label of 8 bytes, not shown)' in the Content-Type; \
             read as UTF-8"
        );
    }

    #[test]
    fn a_utf8_bom_outranks_the_labels() {
        let body = "\u{FEFF}<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>é</rss>";
        let (out, repairs) = noting(body.as_bytes(), Some("text/xml; charset=ISO-8859-1"));
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>é</rss>"
        );
        assert_eq!(
            only(&repairs),
            format!(
                "{DECL_AT}: declared ISO-8859-1, but the document starts with a UTF-8 \
                 byte-order mark; read as UTF-8"
            )
        );
        let body = "\u{FEFF}<rss>é</rss>".as_bytes();
        let mut repairs = Repairs::default();
        let out = xml_noting(body, Some("text/xml; charset=ISO-8859-1"), &mut repairs);
        assert!(matches!(out, Cow::Borrowed(b) if b == &body[3..]));
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn hostile_bodies_take_linear_time() {
        // A mebibyte of bytes that are neither UTF-8 nor allowed: one
        // repair each kind, counted.
        let body: Vec<u8> = (0..1 << 20)
            .map(|i| if i % 2 == 0 { 0xFF } else { 0x01 })
            .collect();
        let (out, repairs) = noting(&body, None);
        assert_eq!(out, "ÿ".repeat(1 << 19));
        assert_eq!(
            shown_all(&repairs),
            [
                "line 1, col 1: 524288 bytes not valid UTF-8 read as windows-1252, the first here",
                "line 1, col 2: 524288 control characters XML forbids removed, the first \
                 (U+0001) here",
            ]
        );
        let mut wide = b"\xFF\xFE".to_vec();
        wide.extend(std::iter::repeat_n([0x00, 0xDC], 1 << 19).flatten());
        let (_, repairs) = noting(&wide, None);
        assert_eq!(repairs.first[0].what.split(' ').next(), Some("524288"));
    }

    /// Random documents from the pieces labels and encodings go wrong
    /// with: the output is always UTF-8 XML accepts, and a wide body read
    /// twice (as the feed extractor does) is reported as once.
    #[test]
    fn any_body_comes_out_readable_and_wide_ones_report_once() {
        const PIECES: &[&str] = &[
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
            "<?xml version=\"1.0\" encoding=\"foo\"?>",
            "<?xml version='1.0' encoding='utf-8'?>",
            "<rss>",
            "</rss>",
            "\n",
            " ",
            "Zürich",
            "\u{1}",
            "\u{FFFE}",
            "\u{FEFF}",
            "“q”",
            "&amp;",
        ];
        const TYPES: &[Option<&str>] = &[
            None,
            Some("text/xml; charset=utf-16"),
            Some("text/xml; charset=windows-1252"),
            Some("text/xml; charset=utf-32"),
            Some("text/xml; charset=nope"),
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3000 {
            let text: String = (0..next(8)).map(|_| PIECES[next(PIECES.len())]).collect();
            let content_type = TYPES[next(TYPES.len())];
            let mut body = match next(6) {
                0 => utf16le(&text),
                1 => utf16be(&text),
                2 => utf32le(&text),
                3 => utf32be(&text),
                _ => text.clone().into_bytes(),
            };
            match next(4) {
                0 => body.insert(next(body.len() + 1), [0xE9, 0x00, 0xD8, 0x01][next(4)]),
                1 => body.splice(0..0, [0xFF, 0xFE]).for_each(drop),
                _ => {}
            }
            let (once, repairs) = noting(&body, content_type);
            assert!(
                !once
                    .chars()
                    .any(|c| matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}'
                    | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')),
                "{body:?} → {once:?}"
            );
            let lines = once.split('\n').count() as u32;
            assert!(
                repairs
                    .first
                    .iter()
                    .all(|r| r.at.is_none_or(|at| at.line <= lines)),
                "{body:?}: {repairs:?}"
            );
            if is_wide(&body) {
                let (twice, repairs_twice) = two_passes(&body, content_type);
                assert_eq!(
                    Some(twice.as_str()),
                    once.strip_prefix('\u{FEFF}'),
                    "{body:?}"
                );
                assert_eq!(repairs_twice, repairs, "{body:?}");
            }
        }
    }

    #[test]
    fn windows_1252_table_is_encoding_rs() {
        for b in 0..=255u8 {
            let byte = [b];
            let (want, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
            assert_eq!(windows_1252(b).to_string(), want, "{b:#04X}");
        }
    }

    #[test]
    fn html_meta_charset_is_read() {
        let page = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"></head><body>\xE9t\xE9</body></html>";
        assert!(html(page, None).contains("été"));
        assert!(html(b"<meta charset='windows-1252'><p>\x93q\x94</p>", None)
            .contains("\u{201C}q\u{201D}"));
        // The header wins over the page.
        assert!(html(
            "<meta charset=iso-8859-1><p>été</p>".as_bytes(),
            Some("text/html; charset=UTF-8")
        )
        .contains("été"));
    }
}
