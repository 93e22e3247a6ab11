//! The repair path: a feed the strict read could not read whole is
//! repaired and read again, every repair recorded with its place.
//!
//! Stages, each bounded where it produces:
//! 1. [`xml`]: the bytes made well-formed (a bare `&` escaped, HTML named
//!    entities made characters, what a cut-short document left open
//!    closed, mismatched end tags matched), with a map from the repaired
//!    document's offsets back to the original's;
//! 2. [`shape`]: the well-formed document made what the format parsers
//!    read (Atom 0.3 as Atom 1.0, `type` variants, dates in other forms,
//!    RSS items with no `<channel>`, prefixed RSS/RDF, the other format's
//!    items set aside for their own parser);
//! 3. the bounds of the strict path, then the format parser over the
//!    whole document; when it still refuses, item by item, keeping those
//!    it reads and reporting the others (partial beats nothing).

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::bounds::{check_well_formed, Checked, Unread};
use super::{parse_checked, ExtractError, Extracted, Format};
use crate::extract::cap::MAX_ITEMS;
use crate::repairs::{Lines, Location, Repairs};

mod shape;

mod xml;

pub(super) use xml::is_xml_char;
pub use xml::MAX_REPAIRS;

/// What the strict read stumbled on (a refusal never reaches here).
pub(super) enum Problem {
    IllFormed {
        at: usize,
        cause: String,
    },
    Parser(String),
    Fewer {
        got: Box<Extracted>,
    },
    /// Well-formed, using `xml:base`.
    Bases,
}

/// Repairs `body` (UTF-8) and reads it again.
pub(super) fn read(
    body: &[u8],
    format: Format,
    problem: Problem,
) -> Result<Extracted, ExtractError> {
    let lines = Lines::new(body);
    let mut repairs = Repairs::default();
    let xml::Fixed {
        doc: fixed,
        map: fixed_map,
        capped,
    } = xml::repair(body, format.name(), &lines, &mut repairs)?;
    let in_fixed = |at: usize| lines.locate(fixed_map.original(at));
    let shaped = shape::shape(&fixed, format, &in_fixed, &mut repairs);
    // One repaired copy at a time: the lexer's is dropped once shaped.
    let (doc, shaped_map, foreign) = match shaped {
        Ok(s) => {
            drop(fixed);
            (s.doc, Some(s.map), s.foreign)
        }
        // Namespaces it cannot resolve: read as repaired.
        Err(_) => (fixed, None, None),
    };
    let locate = |at: usize| {
        let at = shaped_map.as_ref().map_or(at, |m| m.original(at));
        in_fixed(at)
    };
    let read = read_repaired(&doc, format, &locate, &mut repairs);
    let mut got = match (read, foreign) {
        (Ok(got), None) => got,
        (first, Some((other, doc))) => {
            // The other format's items, shaped and read as a document of
            // their own. No place of theirs is named (their document is
            // assembled); what was repaired in them is said without one.
            let whole = |_: usize| Location { line: 0, column: 0 };
            let mut theirs = Repairs::default();
            let doc = match shape::shape(&doc, other, &whole, &mut theirs) {
                Ok(s) => s.doc,
                Err(_) => doc,
            };
            let more = read_repaired(&doc, other, &whole, &mut theirs);
            let unplaced = |mut r: Repairs| {
                r.first.iter_mut().for_each(|r| r.at = None);
                r
            };
            match (first, more) {
                (Ok(mut got), Ok(mut more)) => {
                    got.entries.append(&mut more.entries);
                    repairs.extend(unplaced(theirs));
                    repairs.extend(unplaced(more.repairs));
                    got
                }
                (Ok(got), Err(e)) => {
                    repairs.push(
                        None,
                        format!(
                            "the {} items inside the {} feed could not be read ({}); left out",
                            other.name(),
                            format.name(),
                            crate::text::one_line(&e, 120)
                        ),
                    );
                    got
                }
                (Err(_), Ok(mut more)) => {
                    repairs.extend(unplaced(theirs));
                    repairs.extend(unplaced(std::mem::take(&mut more.repairs)));
                    more
                }
                (Err(e), Err(_)) => return Err(failed(format, &lines, problem, e)),
            }
        }
        (Err(e), None) => return Err(failed(format, &lines, problem, e)),
    };
    if let Problem::Fewer { got: strict, .. } = problem {
        if strict.entries.len() >= got.entries.len() {
            return Ok(*strict);
        }
    }
    got.capped |= capped;
    // The feed's items and the other format's together, bounded as one.
    if got.entries.len() > MAX_ITEMS {
        got.entries.truncate(MAX_ITEMS);
        got.capped = true;
    }
    repairs.extend(std::mem::take(&mut got.repairs));
    got.repairs = repairs;
    Ok(got)
}

/// The error when nothing could be read: the strict read's problem, in
/// words and with its place.
fn failed(format: Format, lines: &Lines<'_>, problem: Problem, after: String) -> ExtractError {
    let message = match problem {
        Problem::IllFormed { at, cause } => {
            format!(
                "{}: {cause} (and read with repairs: {after})",
                lines.locate(at)
            )
        }
        Problem::Parser(message) => format!("{message} (and read with repairs: {after})"),
        Problem::Fewer { .. } | Problem::Bases => after,
    };
    ExtractError::Malformed {
        format: format.name(),
        message,
    }
}

/// Bounds, then the parser; item by item when the whole fails.
fn read_repaired(
    doc: &[u8],
    format: Format,
    locate: &dyn Fn(usize) -> Location,
    repairs: &mut Repairs,
) -> Result<Extracted, String> {
    let checked = match check_well_formed(doc, format.name()) {
        Ok(c) => c,
        Err(Unread::Refused(e)) => return Err(e.to_string()),
        Err(Unread::IllFormed { at, cause }) => return Err(format!("{}: {cause}", locate(at))),
    };
    // The document as bounded (cut after its last item kept, items'
    // elements past their bound left out): what the parser and the
    // item-by-item reading both see.
    let (capped, trimmed) = (checked.capped, checked.trimmed);
    let doc = checked.doc.map_or(Cow::Borrowed(doc), Cow::Owned);
    let bounded = || Checked {
        capped,
        trimmed,
        ..Checked::default()
    };
    match parse_checked(&doc, format, bounded(), &|at| Some(locate(at))) {
        Ok(got) => Ok(got),
        Err(message) => {
            let mut got = item_by_item(&doc, format, &message, locate, repairs)?;
            (got.capped, got.trimmed) = (capped, trimmed);
            Ok(got)
        }
    }
}

/// Largest root start tag copied into each item's document (its
/// namespace declarations); past it, a bare root is used. Each item's
/// document is parsed whole, so this is paid once per item.
const MAX_ROOT_TAG: usize = 2 * 1024;

/// Reads each item of `doc` in a document of its own: those the parser
/// reads are kept, the others reported.
fn item_by_item(
    doc: &[u8],
    format: Format,
    message: &str,
    locate: &dyn Fn(usize) -> Location,
    repairs: &mut Repairs,
) -> Result<Extracted, String> {
    let mut reader = Reader::from_reader(doc);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut root: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut item_start: Option<(usize, usize)> = None;
    let mut got = Extracted::default();
    let (mut read, mut lost) = (0usize, 0usize);
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(doc.len());
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?;
        let after = usize::try_from(reader.buffer_position()).unwrap_or(doc.len());
        match event {
            Event::Start(e) => {
                if depth == 0 {
                    let tag = &doc[before..after];
                    let tag = if tag.len() <= MAX_ROOT_TAG {
                        tag.to_vec()
                    } else {
                        [b"<", e.name().as_ref(), b">"].concat()
                    };
                    root = Some((tag, e.name().as_ref().to_vec()));
                } else if depth <= 2 && item_start.is_none() && is_item(e.name().as_ref()) {
                    item_start = Some((depth, before));
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let (Some((d, start)), Some((tag, name))) = (item_start, &root) {
                    if d == depth {
                        item_start = None;
                        let item = &doc[start..after];
                        let mut one = tag.clone();
                        if format == Format::Rss {
                            one.extend_from_slice(b"<channel></channel>");
                        }
                        one.extend_from_slice(item);
                        one.extend_from_slice(&[b"</", &name[..], b">"].concat());
                        match parse_checked(&one, format, Default::default(), &|_| None) {
                            Ok(mut single) => {
                                read += 1;
                                got.entries.append(&mut single.entries);
                                got.repairs.extend(single.repairs);
                            }
                            Err(why) => {
                                lost += 1;
                                repairs.push(
                                    Some(locate(start)),
                                    format!(
                                        "an item the {} parser could not read ({}); left out",
                                        format.name(),
                                        crate::text::one_line(&why, 120)
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if read == 0 {
        return Err(if lost == 0 {
            message.to_string()
        } else {
            format!("{message}; none of its {lost} items could be read")
        });
    }
    Ok(got)
}

fn is_item(name: &[u8]) -> bool {
    matches!(name.rsplit(|b| *b == b':').next(), Some(b"item" | b"entry"))
}
