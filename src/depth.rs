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
//! Real documents stay far below the limit: feeds nest a dozen levels,
//! Hugging Face pages about forty, API responses six.

use crate::text::find_ignore_case;

/// The deepest nesting accepted in an upstream document (elements for XML
/// and HTML, arrays and objects for JSON).
pub const MAX_NESTING: usize = 256;

/// A document nested deeper than [`MAX_NESTING`]; `format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{format} nested deeper than {MAX_NESTING} levels; refused before parsing")]
pub struct TooDeep {
    pub format: &'static str,
}

/// Refuses JSON nested deeper than [`MAX_NESTING`] (arrays and objects;
/// brackets inside strings do not count).
pub fn check_json(body: &[u8], format: &'static str) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(TooDeep { format });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Elements that never hold children: no depth.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound", "image",
];

/// Elements whose end tag is optional and which an HTML parser closes
/// itself when a sibling opens (`<p>`, `<li>`, table cells...): counting
/// them would measure a long list of unclosed paragraphs as deep nesting.
const SELF_CLOSING_SIBLINGS: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rb", "rt", "rtc", "rp", "html", "head", "body",
];

/// Elements whose contents are text, not markup, up to their end tag.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
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
    while let Some(off) = memchr(b'<', &body[i..]) {
        let at = i + off;
        let rest = &body[at..];
        if rest.starts_with(b"<!--") {
            i = find(body, at + 4, b"-->").map_or(body.len(), |e| e + 3);
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
        let lower = body[name_start..name_start + name_len].to_ascii_lowercase();
        let name = std::str::from_utf8(&lower).unwrap_or("");
        let end = tag_end(body, name_start + name_len);
        i = end;
        if closing {
            if let Some(at) = open
                .iter()
                .rposition(|o| body[o.clone()].eq_ignore_ascii_case(&lower))
            {
                open.truncate(at);
            }
            continue;
        }
        if RAW_TEXT.contains(&name) {
            let close = format!("</{name}");
            i = find_ignore_case(body, end, close.as_bytes()).unwrap_or(body.len());
            continue;
        }
        let self_closed = end >= 2 && body[end - 2] == b'/';
        if self_closed || VOID.contains(&name) || SELF_CLOSING_SIBLINGS.contains(&name) {
            continue;
        }
        open.push(name_start..name_start + name_len);
        if open.len() > MAX_NESTING {
            return Err(TooDeep { format });
        }
    }
    Ok(())
}

/// Just past the `>` ending the tag whose name ends at `from`, skipping
/// quoted attribute values; the end of the body if it never closes.
fn tag_end(body: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (k, &b) in body.iter().enumerate().skip(from) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return k + 1,
            _ => {}
        }
    }
    body.len()
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
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
    }

    #[test]
    fn html_depth() {
        assert!(check_html(&nested("<div>", "</div>", MAX_NESTING), "HTML").is_ok());
        assert!(check_html(&nested("<div>", "</div>", MAX_NESTING + 1), "HTML").is_err());
        assert!(check_html(&nested("<b class='x>'>", "", 100_000), "HTML").is_err());
        // Stray end tags close nothing (a fuzzer's find: 1,000 nested
        // `<time>`s each followed by a `</span>` overflowed a stack).
        assert!(check_html(&nested("<time x>a</span>", "", 1000), "HTML").is_err());
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
