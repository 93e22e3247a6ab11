//! Plain-text helpers shared by the extractors, the rules and the renderers.

use scraper::Html;

/// Collapses every run of whitespace (including arXiv's hard line breaks) to
/// one space and trims.
pub fn collapse_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The visible text of an HTML fragment (entities decoded, tags dropped,
/// whitespace collapsed). Plain text without markup passes through, with
/// entities decoded.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return collapse_ws(html);
    }
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    for piece in fragment.root_element().text() {
        out.push_str(piece);
        out.push(' ');
    }
    collapse_ws(&out)
}

/// The first `max` characters of `text` on a word boundary, with an
/// ellipsis when cut.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_of_html() {
        assert_eq!(
            html_to_text("<p>Fish &amp;\n  <b>chips</b></p>"),
            "Fish & chips"
        );
        assert_eq!(html_to_text("plain\n text"), "plain text");
        assert_eq!(html_to_text("R&amp;D"), "R&D");
    }

    #[test]
    fn truncation_on_words() {
        assert_eq!(truncate_words("one two three", 100), "one two three");
        assert_eq!(truncate_words("one two three four", 10), "one two…");
    }
}
