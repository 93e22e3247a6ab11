//! The JSON a listing page embeds for hydration:
//! `<div data-target="DailyPapers" data-props="{…}">`.
//!
//! A listing page is about 1.5 MB, most of it card markup that the JSON
//! already holds. Building a DOM for it costs tens of milliseconds, so the
//! start tag is found and tokenized directly from the bytes, and only when
//! that fails (an entity we do not decode, a changed layout) is the page
//! parsed with `scraper` as browsers would.

use scraper::Selector;

use super::wire::{Props, WireEntry};
use crate::extract::ExtractError;

const TARGET: &[u8] = b"data-target=\"DailyPapers\"";

/// The entries the page embeds: `Ok(None)` when the page has no
/// `DailyPapers` data (the caller falls back to the cards).
pub fn page_entries(body: &[u8]) -> Result<Option<Vec<WireEntry>>, ExtractError> {
    crate::depth::check_html(body, "Hugging Face page")?;
    let raw = match fast_props(body) {
        Some(raw) => raw,
        None => match dom_props(body) {
            Some(raw) => raw,
            None => return Ok(None),
        },
    };
    crate::depth::check_json(raw.as_bytes(), "Hugging Face page props")?;
    let props: Props = serde_json::from_str(&raw).map_err(|e| ExtractError::Malformed {
        format: "Hugging Face page props",
        message: e.to_string(),
    })?;
    Ok(Some(match props.search_results {
        Some(results) if !results.items.is_empty() => results.items,
        _ => props.daily_papers.items,
    }))
}

/// The decoded `data-props` of the `DailyPapers` start tag, straight from the
/// bytes.
fn fast_props(body: &[u8]) -> Option<String> {
    let at = memchr::memmem::find(body, TARGET)?;
    let start = memchr::memrchr(b'<', &body[..at])?;
    let value = attribute(&body[start..], b"data-props")?;
    decode_entities(std::str::from_utf8(value).ok()?)
}

/// Tokenizes one start tag (`<div a="…" b='…' c>`) and returns the raw value
/// of attribute `name`. Quoted values may hold `>`.
fn attribute<'a>(tag: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut i = 1;
    // Tag name.
    while i < tag.len() && !tag[i].is_ascii_whitespace() && tag[i] != b'>' {
        i += 1;
    }
    loop {
        while i < tag.len() && (tag[i].is_ascii_whitespace() || tag[i] == b'/') {
            i += 1;
        }
        if i >= tag.len() || tag[i] == b'>' {
            return None;
        }
        let name_start = i;
        while i < tag.len() && !tag[i].is_ascii_whitespace() && !matches!(tag[i], b'=' | b'>') {
            i += 1;
        }
        let attr = &tag[name_start..i];
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value: &[u8] = &[];
        if i < tag.len() && tag[i] == b'=' {
            i += 1;
            while i < tag.len() && tag[i].is_ascii_whitespace() {
                i += 1;
            }
            match tag.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = i + 1 + memchr::memchr(q, &tag[i + 1..])?;
                    value = &tag[i + 1..end];
                    i = end + 1;
                }
                _ => {
                    let s = i;
                    while i < tag.len() && !tag[i].is_ascii_whitespace() && tag[i] != b'>' {
                        i += 1;
                    }
                    value = &tag[s..i];
                }
            }
        }
        if attr.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
}

/// Decodes the character references an SSR framework writes into attribute
/// values. Any other named reference returns `None`, and the caller uses the
/// full HTML parser instead of guessing.
fn decode_entities(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    // Byte search: a page's props hold tens of thousands of `&quot;`.
    for amp in memchr::memchr_iter(b'&', bytes) {
        if amp < copied {
            continue;
        }
        out.push_str(&s[copied..amp]);
        let semi = amp + memchr::memchr(b';', &bytes[amp..bytes.len().min(amp + 11)])?;
        let name = &s[amp + 1..semi];
        let c = match name {
            "quot" => '"',
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "apos" => '\'',
            n if n.starts_with("#x") || n.starts_with("#X") => {
                char::from_u32(u32::from_str_radix(&n[2..], 16).ok()?)?
            }
            n if n.starts_with('#') => char::from_u32(n[1..].parse().ok()?)?,
            _ => return None,
        };
        out.push(c);
        copied = semi + 1;
    }
    out.push_str(&s[copied..]);
    Some(out)
}

/// The same attribute through a full HTML parse.
fn dom_props(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let doc = crate::depth::parse_html(&text, "Hugging Face page").ok()?;
    let selector = Selector::parse(r#"div[data-target="DailyPapers"]"#).expect("static selector");
    let div = doc.select(&selector).next()?;
    div.value().attr("data-props").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_tags_are_tokenized() {
        let tag = br#"<div class="a>b" data-target="DailyPapers" hidden data-props='{"x":1}'>"#;
        assert_eq!(attribute(tag, b"data-props"), Some(&br#"{"x":1}"#[..]));
        assert_eq!(attribute(tag, b"class"), Some(&b"a>b"[..]));
        assert_eq!(attribute(tag, b"missing"), None);
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("{&quot;a&quot;:&quot;x &amp; y &#39;&#x41;&quot;}").as_deref(),
            Some(r#"{"a":"x & y 'A"}"#)
        );
        assert_eq!(
            decode_entities("&nbsp;"),
            None,
            "unknown entities defer to the HTML parser"
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_dom() {
        let page = br#"<html><body><main><div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{&quot;dailyPapers&quot;:[],&quot;q&quot;:&quot;a&lt;b&quot;}"><p>x</p></div></main></body></html>"#;
        assert_eq!(fast_props(page), dom_props(page));
        assert!(fast_props(page).unwrap().contains("a<b"));
    }
}
