//! The allowlist every piece of upstream HTML passes before it is stored or
//! served.
//!
//! SECURITY: feed readers render item HTML, often inside their own origin.
//! ammonia's allowlist (no `<script>`, `<style>`, `<iframe>`, `<form>`, no
//! `on*` handlers, no `style` attributes that could hide content, only
//! http/https/mailto URLs, so no `javascript:`) is applied to everything from
//! upstream; relative URLs are resolved against the page they came from so
//! they keep working inside a reader, and links get `rel="noopener
//! noreferrer"`.

use ammonia::{Builder, UrlRelative};
use url::Url;

/// Sanitizes untrusted HTML, resolving relative URLs against `base` (and
/// dropping them when there is no base).
///
/// SECURITY: markup nested deeper than [`crate::depth::MAX_NESTING`] is not
/// parsed at all (html5ever's cost grows with the square of the depth): its
/// visible text is kept, escaped.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    if crate::depth::check_html(html.as_bytes(), "HTML").is_err() {
        return escape_text(&crate::text::html_to_text(html));
    }
    let mut builder = Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .add_clean_content_tags(["noscript", "template"])
        .link_rel(Some("noopener noreferrer"))
        .url_relative(match base {
            Some(b) => UrlRelative::RewriteWithBase(b.clone()),
            None => UrlRelative::Deny,
        });
    builder.clean(html).to_string().trim().to_string()
}

/// Escapes plain text for use inside HTML.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_defused() {
        let base = Url::parse("https://example.org/blog/post").unwrap();
        let dirty = r#"<p onclick="steal()" style="display:none">Hi <script>alert(1)</script>
            <a href="javascript:alert(1)">x</a> <a href="/about">about</a>
            <iframe src="https://evil.example/"></iframe><img src="pic.png" onerror="x()"></p>"#;
        let clean = sanitize_html(dirty, Some(&base));
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "iframe",
            "display:none",
            "style=",
        ] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        assert!(
            clean.contains(r#"href="https://example.org/about""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"src="https://example.org/blog/pic.png""#),
            "{clean}"
        );
        assert!(clean.contains("noopener"), "{clean}");
    }

    #[test]
    fn deep_markup_keeps_its_text_only() {
        let deep = format!("{}text &amp; more", "<div><b>".repeat(100_000));
        assert_eq!(sanitize_html(&deep, None), "text &amp; more");
    }

    #[test]
    fn relative_urls_without_a_base_are_dropped() {
        let clean = sanitize_html(r#"<a href="/x">x</a>"#, None);
        assert!(!clean.contains("href"), "{clean}");
    }
}
