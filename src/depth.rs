//! Nesting limits checked before any recursive parser sees a body.
//!
//! SECURITY: the `rss` and `atom_syndication` crates parse extension
//! elements recursively, and a stack overflow aborts the whole process
//! (`spawn_blocking` cannot catch it): an RSS item holding an element
//! nested 200,000 deep took the server down. So every upstream document is
//! measured first, by a linear scan that keeps no stack, and refused when
//! it nests deeper than [`MAX_NESTING`]. XML is measured by the
//! well-formedness pass in [`crate::extract::feed`]; JSON and HTML here.
//! HTML fragments (summaries) are measured by [`crate::sanitize`] too:
//! html5ever does not overflow, but its scope checks walk the stack of
//! open elements, so deep nesting is quadratic (200,000 `<div>`s: minutes).
//!
//! [`check_html`] is a scan that approximates the parser's tokenizer; a
//! place where the two disagree (a fuzzer found one in attribute quoting)
//! lets a deep page through, and selecting from 9,000 nested items took
//! 13 s. So pages are parsed with [`parse_html`], which checks the parsed
//! tree too, exactly.
//!
//! Real documents stay far below the limit: feeds nest a dozen levels,
//! Hugging Face pages about forty, API responses six.

use crate::text::{find_ignore_case, tag_end};

/// The deepest nesting accepted in an upstream document (elements for XML
/// and HTML, arrays and objects for JSON).
pub const MAX_NESTING: usize = 256;

/// Most elements (start tags and comments) an HTML page may hold before
/// it is parsed: real pages hold tens of thousands (the Hugging Face
/// trending page 10,000), and a parsed node costs about 150 bytes, where
/// `<br>` is written in 4 (2.6 million of them took 368 MB).
pub const MAX_HTML_ELEMENTS: usize = 200_000;

/// A document nested deeper than [`MAX_NESTING`], or an HTML page of more
/// than [`MAX_HTML_ELEMENTS`] elements; `format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{format} {}; refused", if *.too_many { format!("holds more than {MAX_HTML_ELEMENTS} elements") } else { format!("nested deeper than {MAX_NESTING} levels") })]
pub struct TooDeep {
    pub format: &'static str,
    /// Refused for its number of elements, not its depth.
    pub too_many: bool,
}

impl TooDeep {
    /// Refused for nesting too deep.
    pub fn nesting(format: &'static str) -> TooDeep {
        TooDeep {
            format,
            too_many: false,
        }
    }
}

/// Refuses JSON nested deeper than [`MAX_NESTING`] (arrays and objects;
/// brackets inside strings do not count).
pub fn check_json(body: &[u8], format: &'static str) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        i += 1;
        match b {
            // A string: skipped to its closing quote with `memchr` (most
            // of a document's bytes are in strings), stepping over escapes.
            b'"' => loop {
                // An escape as the last byte leaves `i` past the end.
                let rest = body.get(i..).unwrap_or_default();
                match memchr::memchr2(b'"', b'\\', rest) {
                    Some(off) if body[i + off] == b'\\' => i += off + 2,
                    Some(off) => {
                        i += off + 1;
                        break;
                    }
                    None => return Ok(()),
                }
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(TooDeep::nesting(format));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Elements that never hold children: no depth.
const VOID: &[&[u8]] = &[
    b"area",
    b"base",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
    b"keygen",
    b"frame",
    b"basefont",
    b"bgsound",
    b"image",
];

/// Elements whose end tag is optional and which an HTML parser closes
/// itself when a sibling opens (`<p>`, `<li>`, table cells...): counting
/// them would measure a long list of unclosed paragraphs as deep nesting.
const SELF_CLOSING_SIBLINGS: &[&[u8]] = &[
    b"p",
    b"li",
    b"dt",
    b"dd",
    b"option",
    b"optgroup",
    b"tr",
    b"td",
    b"th",
    b"thead",
    b"tbody",
    b"tfoot",
    b"colgroup",
    b"caption",
    b"rb",
    b"rt",
    b"rtc",
    b"rp",
    b"html",
    b"head",
    b"body",
];

/// Elements whose contents are text, not markup, up to their end tag.
const RAW_TEXT: &[&[u8]] = &[
    b"script",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"plaintext",
];

/// Refuses HTML whose open elements nest deeper than [`MAX_NESTING`], as an
/// HTML parser would nest them (void elements, self-closed tags and
/// elements closed by their siblings do not count; comments and the
/// contents of `<script>`, `<style>` and the like are skipped). An end tag
/// closes the innermost open element of its name and those inside it, and
/// is ignored when none is open, as a parser ignores a stray `</span>` (so
/// `<time></span>` repeated nests, however many end tags follow). Linear
/// in the input (the stack searched is at most [`MAX_NESTING`] deep).
pub fn check_html(body: &[u8], format: &'static str) -> Result<(), TooDeep> {
    // Where each open element's name stands in `body`: no copy per tag.
    let mut open: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    // Start tags and comments: each a node of the parsed tree.
    let mut elements = 0usize;
    while let Some(off) = memchr::memchr(b'<', &body[i..]) {
        let at = i + off;
        let rest = &body[at..];
        if rest
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'!')
        {
            elements += 1;
            if elements > MAX_HTML_ELEMENTS {
                return Err(TooDeep {
                    format,
                    too_many: true,
                });
            }
        }
        if rest.starts_with(b"<!--") {
            i = memchr::memmem::find(&body[at + 4..], b"-->")
                .map_or(body.len(), |e| at + 4 + e + 3);
            continue;
        }
        let closing = rest.get(1) == Some(&b'/');
        let name_start = at + 1 + usize::from(closing);
        let name_len = body[name_start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'_'))
            .count();
        let starts_tag = body
            .get(name_start)
            .is_some_and(|c| c.is_ascii_alphabetic());
        if !starts_tag {
            // `<!doctype>`, `<?xml?>`, `</>` or a bare `<` in text.
            i = at + 1;
            continue;
        }
        let raw = &body[name_start..name_start + name_len];
        let end = tag_end(body, name_start + name_len);
        i = end;
        if closing {
            if let Some(at) = open
                .iter()
                .rposition(|o| body[o.clone()].eq_ignore_ascii_case(raw))
            {
                open.truncate(at);
            }
            continue;
        }
        // Lower-cased on the stack: no listed name is longer than the
        // buffer, so a longer one is an ordinary element.
        let mut buf = [0u8; 12];
        let name: &[u8] = match buf.get_mut(..raw.len()) {
            Some(lower) => {
                lower.copy_from_slice(raw);
                lower.make_ascii_lowercase();
                lower
            }
            None => b"",
        };
        if RAW_TEXT.contains(&name) {
            let mut close = b"</".to_vec();
            close.extend_from_slice(name);
            i = find_ignore_case(body, end, &close).unwrap_or(body.len());
            continue;
        }
        let self_closed = end >= 2 && body[end - 2] == b'/';
        if self_closed || VOID.contains(&name) || SELF_CLOSING_SIBLINGS.contains(&name) {
            continue;
        }
        open.push(name_start..name_start + name_len);
        if open.len() > MAX_NESTING {
            return Err(TooDeep::nesting(format));
        }
    }
    Ok(())
}

/// Parses an HTML page: refused before parsing when [`check_html`] finds
/// it too deep (parsing deep nesting is quadratic), and after parsing when
/// the tree still nests elements deeper than [`MAX_NESTING`] (the scan
/// under-counts some markup, lists in list items or tables in cells, and
/// may disagree with the tokenizer elsewhere): selecting from a tree is
/// quadratic in its depth, and serializing it recursive. The tree check is
/// one pass, no recursion.
pub fn parse_html(page: &str, format: &'static str) -> Result<scraper::Html, TooDeep> {
    check_html(page.as_bytes(), format)?;
    let doc = scraper::Html::parse_document(page);
    check_tree(&doc, format)?;
    Ok(doc)
}

/// Refuses a parsed page whose elements nest deeper than [`MAX_NESTING`].
pub fn check_tree(doc: &scraper::Html, format: &'static str) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(n) if n.value().is_element() => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(TooDeep::nesting(format));
                }
            }
            ego_tree::iter::Edge::Close(n) if n.value().is_element() => depth -= 1,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, n: usize) -> Vec<u8> {
        let mut s = open.repeat(n);
        s.push_str(&close.repeat(n));
        s.into_bytes()
    }

    #[test]
    fn json_depth() {
        assert!(check_json(&nested("[", "]", MAX_NESTING), "JSON").is_ok());
        assert!(check_json(&nested("[", "]", MAX_NESTING + 1), "JSON").is_err());
        assert!(check_json(&nested("{\"a\":", "}", MAX_NESTING + 1), "JSON").is_err());
        // Brackets inside strings, escaped quotes included, are text.
        let s = format!("[\"\\\"{}\"]", "[".repeat(10_000));
        assert!(check_json(s.as_bytes(), "JSON").is_ok());
        // Truncated inside a string, or right after an escape.
        assert!(check_json(b"[\"abc", "JSON").is_ok());
        assert!(check_json(b"[\"abc\\", "JSON").is_ok());
        assert!(check_json(b"[\"a\\\\\"[[[", "JSON").is_ok());
        let after = format!("[\"a\\\\\"{}", "[".repeat(300));
        assert!(check_json(after.as_bytes(), "JSON").is_err());
    }

    #[test]
    fn parsed_tree_depth() {
        let ok = nested("<div>", "</div>", MAX_NESTING - 2);
        assert!(parse_html(std::str::from_utf8(&ok).unwrap(), "HTML").is_ok());
        // `<html><body>` count: 255 `<div>`s are 257 elements deep.
        let deep = nested("<div>", "</div>", MAX_NESTING - 1);
        assert!(parse_html(std::str::from_utf8(&deep).unwrap(), "HTML").is_err());
        // What the scan under-counts, the tree check refuses: the scan
        // does not count `<li>` (siblings close it), but a list inside an
        // item nests both, twice as deep as the scan measures.
        let lists = "<li><ul>".repeat(200);
        assert!(check_html(lists.as_bytes(), "HTML").is_ok());
        assert!(parse_html(&lists, "HTML").is_err());
        // Foreign content: in `<svg>`, `<td>` is an element like any other
        // and nests; the scan does not count it at all.
        let foreign = format!("<svg>{}", "<td>".repeat(100_000));
        assert!(check_html(foreign.as_bytes(), "HTML").is_ok());
        assert!(parse_html(&foreign, "HTML").is_err());
        let flat = "<div>x</div>".repeat(10_000);
        assert!(parse_html(&flat, "HTML").is_ok());
    }

    #[test]
    fn html_pages_of_too_many_elements_are_refused() {
        let page = format!(
            "<html><body>{}</body></html>",
            "<br>".repeat(MAX_HTML_ELEMENTS)
        );
        let err = check_html(page.as_bytes(), "HTML").unwrap_err();
        assert!(
            err.too_many && err.to_string().contains("more than 200000 elements"),
            "{err}"
        );
        let page = format!(
            "<html><body>{}</body></html>",
            "<!---->".repeat(MAX_HTML_ELEMENTS)
        );
        assert!(check_html(page.as_bytes(), "HTML").is_err());
        let page = format!(
            "<html><body>{}</body></html>",
            "<br>a < b".repeat(MAX_HTML_ELEMENTS / 2)
        );
        assert!(check_html(page.as_bytes(), "HTML").is_ok());
    }

    #[test]
    fn html_depth() {
        assert!(check_html(&nested("<div>", "</div>", MAX_NESTING), "HTML").is_ok());
        assert!(check_html(&nested("<div>", "</div>", MAX_NESTING + 1), "HTML").is_err());
        assert!(check_html(&nested("<b class='x>'>", "", 100_000), "HTML").is_err());
        // Stray end tags close nothing (a fuzzer's find: 1,000 nested
        // `<time>`s each followed by a `</span>` overflowed a stack).
        assert!(check_html(&nested("<time x>a</span>", "", 1000), "HTML").is_err());
        // A quote opens a value only after `=`, as a parser reads it: a
        // quote inside an attribute name does not hide the tags after it
        // (a fuzzer's find: 9,000 nested `<article>`s behind `<p #a="b">`
        // took 13 s to select from).
        let hidden = format!(
            "<a href=\"x</a> <p #lass=\"byline\">{}",
            "<article class=\"post\">".repeat(1000)
        );
        assert!(check_html(hidden.as_bytes(), "HTML").is_err());
        let named = format!("<p a\"b>{}", "<div>".repeat(1000));
        assert!(check_html(named.as_bytes(), "HTML").is_err());
        let unquoted = format!("<p a=b\"c>{}", "<div>".repeat(1000));
        assert!(check_html(unquoted.as_bytes(), "HTML").is_err());
        // Quoted values, spaces around `=` included, still hide their `>`;
        // an `=` opening an attribute is part of its name.
        let spaced = format!("<p a = 'x>' b=\"y>\">{}", "<div>".repeat(1000));
        assert!(check_html(spaced.as_bytes(), "HTML").is_err());
        let eq_first = format!("<p =\">{}", "<div>".repeat(1000));
        assert!(check_html(eq_first.as_bytes(), "HTML").is_err());
        // An end tag closes what is inside its element too.
        let closes = format!("{}</section>", "<section><div><div>").repeat(1000);
        assert!(check_html(closes.as_bytes(), "HTML").is_ok());
        // Siblings that close each other, void elements, self-closed tags,
        // comments and script bodies are not nesting.
        for flat in [
            "<p>one".repeat(10_000),
            "<li>x<br><img src=a>".repeat(10_000),
            "<span/>".repeat(10_000),
            format!("<!-- {} -->", "<div>".repeat(10_000)),
            format!("<script>{}</SCRIPT>", "<div>".repeat(10_000)),
            "<div>x</div>".repeat(10_000),
            "a < b <3 </> <!doctype html>".repeat(1000),
        ] {
            assert!(
                check_html(flat.as_bytes(), "HTML").is_ok(),
                "{}",
                &flat[..40]
            );
        }
    }
}
