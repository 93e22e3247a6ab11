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
//! A body that claims (or defaults to) UTF-8 but is not valid UTF-8 is
//! nearly always windows-1252 / ISO-8859-1 mislabelled, and is decoded as
//! windows-1252, which maps every byte: the text comes out right instead of
//! failing the source or filling titles with U+FFFD. Characters XML 1.0
//! forbids (C0 controls other than tab, CR and
//! LF; U+FFFE, U+FFFF) are removed, since a single one makes the XML parser
//! reject the document.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// The body of an XML document, as UTF-8 the parsers accept.
pub fn xml<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let encoding = Encoding::for_bom(body)
        .map(|(e, _)| e)
        .or_else(|| xml_declared(body).and_then(|l| Encoding::for_label(l.as_bytes())))
        .or_else(|| charset_param(content_type).and_then(Encoding::for_label))
        .unwrap_or(UTF_8);
    let text = to_utf8(body, encoding);
    match text {
        Cow::Borrowed(b) => strip_forbidden(b).map_or(Cow::Borrowed(b), Cow::Owned),
        Cow::Owned(b) => Cow::Owned(strip_forbidden(&b).unwrap_or(b)),
    }
}

/// [`xml`], recording in `repairs` what was read other than as labelled
/// (a mislabelled charset, characters XML forbids).
pub fn xml_noting<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
    _repairs: &mut crate::repairs::Repairs,
) -> Cow<'a, [u8]> {
    xml(body, content_type)
}

/// Whether `body` is in a wide encoding (UTF-16, UTF-32) that must be
/// decoded before its markup can be read at all.
pub fn is_wide(body: &[u8]) -> bool {
    body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF")
}

/// The body of an HTML page, as a UTF-8 string.
pub fn html<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let encoding = Encoding::for_bom(body)
        .map(|(e, _)| e)
        .or_else(|| charset_param(content_type).and_then(Encoding::for_label))
        .or_else(|| html_meta_charset(body).and_then(|l| Encoding::for_label(l.as_bytes())))
        .unwrap_or(UTF_8);
    // HTML parsers tolerate control characters; only the charset matters.
    let (text, _, _) = encoding.decode(body);
    text
}

/// Re-encodes `body` from `encoding` to UTF-8 (dropping a BOM); borrows
/// when it already is valid UTF-8 without a BOM.
fn to_utf8<'a>(body: &'a [u8], mut encoding: &'static Encoding) -> Cow<'a, [u8]> {
    if encoding == UTF_8 {
        let unbommed = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        match std::str::from_utf8(unbommed) {
            Ok(_) if unbommed.len() == body.len() => return Cow::Borrowed(body),
            Ok(_) => {}
            // Mislabelled Latin-1 / windows-1252: see the module doc.
            Err(_) => encoding = encoding_rs::WINDOWS_1252,
        }
    }
    let (text, _, _) = encoding.decode(body);
    let mut out = text.into_owned().into_bytes();
    // The declaration may still name the old encoding: the parsers ignore
    // it, but it must not tell a later reader the wrong thing.
    if encoding != UTF_8 {
        if let Some(end) = out
            .windows(2)
            .position(|w| w == b"?>")
            .filter(|_| out.starts_with(b"<?xml"))
        {
            let decl = String::from_utf8_lossy(&out[..end]).into_owned();
            if let Some(cleaned) = replace_declared_encoding(&decl) {
                out.splice(..end, cleaned.into_bytes());
            }
        }
    }
    Cow::Owned(out)
}

/// `<?xml version="1.0" encoding="ISO-8859-1"` → the same with `utf-8`.
fn replace_declared_encoding(decl: &str) -> Option<String> {
    let at = decl.find("encoding")?;
    let rest = &decl[at + "encoding".len()..];
    let q_at = rest.find(['"', '\''])?;
    let quote = rest[q_at..].chars().next()?;
    let value_start = at + "encoding".len() + q_at + 1;
    let value_len = decl[value_start..].find(quote)?;
    Some(format!(
        "{}utf-8{}",
        &decl[..value_start],
        &decl[value_start + value_len..]
    ))
}

/// The `encoding` of an XML declaration at the start of the document.
fn xml_declared(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(256)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].trim().to_string())
}

/// `charset` of a Content-Type header value.
fn charset_param(content_type: Option<&str>) -> Option<&[u8]> {
    content_type?
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').as_bytes())
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

/// The text without characters XML 1.0 forbids; `None` when there are none
/// (the common case, checked without allocating).
fn strip_forbidden(utf8: &[u8]) -> Option<Vec<u8>> {
    let bad_control = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r');
    let has_nonchar = |s: &[u8]| {
        s.windows(3)
            .any(|w| w[0] == 0xEF && w[1] == 0xBF && (w[2] == 0xBE || w[2] == 0xBF))
    };
    if !utf8.iter().any(|&b| bad_control(b)) && !has_nonchar(utf8) {
        return None;
    }
    let text = String::from_utf8_lossy(utf8);
    Some(
        text.chars()
            .filter(|&c| {
                (c >= '\u{20}' || matches!(c, '\t' | '\n' | '\r'))
                    && c != '\u{FFFE}'
                    && c != '\u{FFFF}'
            })
            .collect::<String>()
            .into_bytes(),
    )
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
    }

    #[test]
    fn mislabelled_latin1_and_forbidden_controls() {
        let out = s(xml(
            b"<rss><t>Z\xFCrich\x01 \x0Bcaf\xE9</t></rss>",
            Some("text/xml; charset=utf-8"),
        ));
        assert_eq!(out, "<rss><t>Zürich café</t></rss>");
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
