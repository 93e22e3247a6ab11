//! Plain-text helpers shared by the extractors, the rules and the renderers.

/// Collapses every run of whitespace (including arXiv's hard line breaks) to
/// one space and trims.
///
/// Whitespace is what [`char::is_whitespace`] says (as `split_whitespace`),
/// but ASCII is classified byte by byte and words are copied whole: rules
/// run this over every summary, and decoding each char was a tenth of the
/// routing time.
pub fn collapse_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    // The whitespace char at `i`, if there is one, and its length.
    let space_at = |i: usize| -> Option<usize> {
        match bytes[i] {
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' => Some(1),
            0..=0x7f => None,
            _ => {
                let c = text[i..].chars().next().expect("a char starts here");
                c.is_whitespace().then(|| c.len_utf8())
            }
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        // Skip a run of whitespace.
        if let Some(len) = space_at(i) {
            i += len;
            continue;
        }
        // Copy a word whole; plain ASCII letters take the tight loop.
        let start = i;
        while i < bytes.len() {
            if bytes[i] > b' ' && bytes[i] < 0x80 {
                i += 1;
            } else if space_at(i).is_some() {
                break;
            } else {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&text[start..i]);
    }
    out
}

/// The visible text of an HTML fragment (entities decoded, tags dropped,
/// whitespace collapsed). Plain text without markup passes through, with
/// entities decoded.
///
/// A small scanner rather than a full HTML parse: rules run this over every
/// summary of every entry on each re-evaluation, and a DOM per summary would
/// dominate that. It follows the HTML tokenizer where it matters for text:
/// `<` starts a tag only before a letter, `/`, `!` or `?`; quoted attribute
/// values may hold `>`; comments and `<script>` / `<style>` contents are not
/// text; every tag separates words.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return collapse_ws(html);
    }
    let mut out = String::with_capacity(html.len());
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' if bytes
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?')) =>
            {
                push_text(&mut out, &html[text_start..i]);
                out.push(' ');
                let end = if html[i..].starts_with("<!--") {
                    html[i + 4..]
                        .find("-->")
                        .map_or(bytes.len(), |e| i + 4 + e + 3)
                } else {
                    tag_end(bytes, i + 1)
                };
                let tag = &html[i..end];
                let name: String = tag[1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                i = end;
                if name == "script" || name == "style" {
                    // Searched in place: lower-casing the rest of the text
                    // at every `<script` was quadratic (10 MB: minutes).
                    let close = format!("</{name}");
                    i = find_ignore_case(bytes, i, close.as_bytes())
                        .map_or(bytes.len(), |e| tag_end(bytes, e + 1));
                }
                text_start = i;
            }
            _ => i += 1,
        }
    }
    push_text(&mut out, &html[text_start..]);
    collapse_ws(&out)
}

/// The first case-insensitive occurrence of the lower-case ASCII `needle`
/// in `hay` at or after `from`: linear for the short needles it is used
/// with (end tags), and allocation-free. Candidates are found by `memchr`
/// on the needle's first byte (both cases), so long script bodies are
/// skipped at memory speed.
pub fn find_ignore_case(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let tail = hay.get(from..)?;
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    memchr::memchr2_iter(lo, up, tail)
        .find(|&p| {
            tail.get(p..p + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        })
        .map(|p| from + p)
}

/// Just past the `>` ending the tag whose name starts at or before `from`
/// (`from` may be the `<`'s next byte); the end of `bytes` if it never
/// closes. Follows the HTML tokenizer's tag states, because a quote opens
/// a value only right after `=`: a quote in a tag or attribute name, or
/// inside an unquoted value, is a character like any other. Reading it
/// as a quote would put this scan out of step with the parser: it would
/// hide every tag up to the next quote (from the nesting check in
/// [`crate::depth`], or show markup as text here). Quoted values are
/// skipped with `memchr` (a Hugging Face page holds a megabyte of JSON in
/// one attribute).
pub(crate) fn tag_end(bytes: &[u8], from: usize) -> usize {
    /// The tokenizer's states inside a tag.
    #[derive(Clone, Copy)]
    enum At {
        TagName,
        BeforeName,
        Name,
        AfterName,
        BeforeValue,
        Unquoted,
    }
    let mut at = At::TagName;
    let mut k = from;
    while let Some(&b) = bytes.get(k) {
        let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
        at = match (at, b) {
            (_, b'>') => return k + 1,
            (At::BeforeValue, b'"' | b'\'') => {
                match memchr::memchr(b, &bytes[k + 1..]) {
                    Some(off) => k += off + 2,
                    None => return bytes.len(),
                }
                at = At::BeforeName;
                continue;
            }
            (At::BeforeValue, _) if space => At::BeforeValue,
            (At::BeforeValue, _) => At::Unquoted,
            (At::Unquoted, _) if space => At::BeforeName,
            (At::Unquoted, _) => At::Unquoted,
            (At::Name | At::AfterName, b'=') => At::BeforeValue,
            (At::Name | At::AfterName, _) if space => At::AfterName,
            (_, b'/') => At::BeforeName,
            (At::TagName | At::BeforeName, _) if space => At::BeforeName,
            (At::TagName, _) => At::TagName,
            // Anything else, `=` at the start of an attribute included,
            // is part of an attribute name.
            (At::BeforeName | At::Name | At::AfterName, _) => At::Name,
        };
        k += 1;
    }
    bytes.len()
}

/// Appends text with character references decoded.
fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Only the next few bytes can end a reference: searching the whole
        // rest at every `&` was quadratic.
        let window = &rest.as_bytes()[..rest.len().min(13)];
        let decoded = window
            .iter()
            .position(|&b| b == b';')
            .and_then(|e| decode_entity(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// The character a reference names: numeric ones, and the named ones that
/// sanitized summaries and feed titles actually use.
fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "times" => '×',
        "middot" => '·',
        "eacute" => 'é',
        "egrave" => 'è',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "szlig" => 'ß',
        _ => return None,
    })
}

/// A title taken from a stranger's document as stored text: whitespace
/// runs (newlines and tabs included) made one space, control, bidi and
/// invisible format characters dropped, at most `max` characters (cut with
/// `…`). Unlike [`one_line`], which makes such characters visible for a
/// terminal, this is what a definition and a feed title should hold.
pub fn clean_title(raw: &str, max: usize) -> String {
    let kept: String = raw
        .chars()
        .filter(|c| (!c.is_control() || c.is_whitespace()) && !invisible(*c))
        .collect();
    let text = collapse_ws(kept.trim());
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// Bidirectional overrides and zero-width characters: they change how the
/// text around them reads without being seen.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `n` and the noun in the right number: `1 source`, `2 sources`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The first `max` characters of `text` on a word boundary, with an
/// ellipsis when cut.
/// `text` as one short printable line for a message shown or logged:
/// control characters (terminal escapes, line breaks), the Unicode line
/// and paragraph separators and the bidirectional and invisible format
/// characters written as `\u{1b}`; at most `max` characters written in
/// all, escapes counted, cut with `…`.
///
/// SECURITY: error messages can quote upstream bytes (an 8 MiB element
/// name once made every `/status` 8.4 MB, escapes included).
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut written = 0;
    for c in text.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
        let width = if hidden {
            c.escape_unicode().count()
        } else {
            1
        };
        if written + width > max {
            out.push('…');
            break;
        }
        written += width;
        if hidden {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut[..],
    };
    format!("{}…", cut.trim_end())
}

/// Bytes as lowercase hex (hashes, signatures, random tokens).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_from_strangers_are_plain_lines() {
        assert_eq!(
            clean_title("\n\t\tLab Notes\n\t\t— weekly ", 200),
            "Lab Notes — weekly"
        );
        assert_eq!(clean_title("a\u{0}b\u{202E}c\u{200B}d", 200), "abcd");
        assert_eq!(clean_title("one two three", 8), "one two…");
        assert_eq!(clean_title(" \u{1} ", 8), "");
    }

    #[test]
    fn one_line_messages() {
        assert_eq!(one_line("a\x1b[31mb\nc", 100), "a\\u{1b}[31mb\\u{a}c");
        assert_eq!(one_line(&"x".repeat(10), 4), "xxxx…");
        assert_eq!(one_line("short", 4), "shor…");
        assert_eq!(one_line("ok", 4), "ok");
        // Bidirectional overrides and line separators are escaped too, and
        // escapes count against the length.
        assert_eq!(one_line("a\u{202E}b\u{2028}", 100), "a\\u{202e}b\\u{2028}");
        assert_eq!(one_line(&"\x1b".repeat(100), 20), "\\u{1b}\\u{1b}\\u{1b}…");
    }

    #[test]
    fn text_of_html() {
        assert_eq!(
            html_to_text("<p>Fish &amp;\n  <b>chips</b></p>"),
            "Fish & chips"
        );
        assert_eq!(html_to_text("plain\n text"), "plain text");
        assert_eq!(html_to_text("R&amp;D"), "R&D");
        assert_eq!(
            html_to_text("a < b &lt; c & d"),
            "a < b < c & d",
            "a bare < is text"
        );
        assert_eq!(
            html_to_text(r#"<a title="x>y" href="/">link</a> &#233;t&#xE9;"#),
            "link été"
        );
        assert_eq!(
            html_to_text("<p>x</p><!-- <b>hidden</b> --><script>var a = '<p>';</script>y"),
            "x y"
        );
        assert_eq!(html_to_text("A&ndash;B &unknown; C"), "A–B &unknown; C");
    }

    /// Tags end where the HTML tokenizer ends them: a quote opens a value
    /// only right after `=` (spaces allowed), so a quote in a name or an
    /// unquoted value hides no text.
    #[test]
    fn tags_end_where_a_parser_ends_them() {
        for (html, text) in [
            (r#"<p a"b>shown</p>"#, "shown"),
            (r#"<p a=b"c>shown</p>"#, "shown"),
            (r#"<p a = 'x>y' b="z>">shown</p>"#, "shown"),
            (r#"<p ="x>shown"#, "shown"),
            (r#"<a href="x</a> <p c="d">gone"#, "gone"),
            (r#"<p a="never closed>hidden"#, ""),
        ] {
            assert_eq!(html_to_text(html), text, "{html}");
        }
    }

    #[test]
    fn whitespace_collapses_as_split_whitespace_does() {
        for text in [
            "",
            "   ",
            "one",
            "  one  two\n\tthree  ",
            "arXiv\nhard\r\nline breaks",
            "vertical\x0btab\x0cfeed",
            "no\u{a0}break\u{3000}ideographic\u{85}next\u{2028}line",
            "übér  naïve\u{200b}zero-width is not space",
            "trailing é ",
        ] {
            let want = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(collapse_ws(text), want, "{text:?}");
        }
    }

    #[test]
    fn long_runs_of_markup_are_linear() {
        // Each of these took seconds or minutes when a scan restarted at
        // every `<script` or `&`.
        let scripts = "<script>x".repeat(200_000);
        assert_eq!(html_to_text(&scripts), "");
        let amps = "&".repeat(1_000_000);
        assert_eq!(html_to_text(&amps).len(), 1_000_000);
    }

    #[test]
    fn truncation_on_words() {
        assert_eq!(truncate_words("one two three", 100), "one two three");
        assert_eq!(truncate_words("one two three four", 10), "one two…");
    }
}
