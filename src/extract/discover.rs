//! Feeds a page advertises: `<link rel="alternate" type="application/rss+xml"
//! href="…">` and its Atom, RDF and JSON Feed kin in the page's markup, the
//! way Miniflux, FreshRSS and browsers find the feed behind a site's address
//! (issue 28). `inspect` names them when an HTML page is served where a feed
//! was expected, and `inspect --suggest` before proposing selectors.
//!
//! SECURITY: the page is a stranger's. Only http(s) addresses are kept
//! (`javascript:`, `data:` and `file:` hrefs are dropped), relative ones are
//! resolved against the page (or its `<base href>`, when that is http(s)),
//! titles are one bounded line, and at most [`MAX_ADVERTISED`] are kept.

use url::Url;

/// Most advertised feeds kept from one page (real pages list one to five).
pub const MAX_ADVERTISED: usize = 20;

/// One feed a page advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertised {
    pub url: Url,
    /// `RSS`, `Atom` or `JSON Feed`, from the link's `type`.
    pub format: &'static str,
    pub title: Option<String>,
}

/// The format a `<link type>` names, if it names a feed.
fn feed_format(mime: &str) -> Option<&'static str> {
    let mime = mime.split(';').next().unwrap_or_default().trim();
    match mime.to_ascii_lowercase().as_str() {
        "application/rss+xml" | "application/rdf+xml" => Some("RSS"),
        "application/atom+xml" => Some("Atom"),
        "application/feed+json" | "application/json+feed" => Some("JSON Feed"),
        _ => None,
    }
}

/// The feeds `html` (the page fetched from `page`) advertises, in page
/// order, without repeats. A page too deep to parse advertises nothing.
pub fn advertised(html: &str, page: &Url) -> Vec<Advertised> {
    let Ok(doc) = crate::depth::parse_html(html, "HTML") else {
        return Vec::new();
    };
    let select = |s: &str| scraper::Selector::parse(s).expect("static selector");
    let base = doc
        .select(&select("base[href]"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page.clone());
    let mut found: Vec<Advertised> = Vec::new();
    for link in doc.select(&select("link[href][type]")) {
        let el = link.value();
        let alternate = el.attr("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"))
        });
        let Some(format) = el.attr("type").and_then(feed_format) else {
            continue;
        };
        let Some(url) = el
            .attr("href")
            .and_then(|href| base.join(href.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            continue;
        };
        if !alternate || found.iter().any(|f| f.url == url) {
            continue;
        }
        let title = el
            .attr("title")
            .map(|t| crate::text::one_line(t.trim(), 100))
            .filter(|t| !t.is_empty());
        found.push(Advertised { url, format, title });
        if found.len() == MAX_ADVERTISED {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_feeds_are_found_resolved_and_screened() {
        let page = Url::parse("https://blog.example.org/posts/").unwrap();
        let html = r#"<!DOCTYPE html><html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="Posts (RSS)" href="/feed.xml">
            <link rel="alternate" type="application/atom+xml; charset=utf-8" href="atom.xml">
            <link rel="Alternate home" type="application/feed+json" href="https://blog.example.org/feed.json">
            <link rel="alternate" type="application/rss+xml" href="/feed.xml">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
            <link rel="canonical" type="application/rss+xml" href="/not-alternate.xml">
            </head><body></body></html>"#;
        let got = advertised(html, &page);
        let urls: Vec<(&str, &str)> = got.iter().map(|a| (a.format, a.url.as_str())).collect();
        assert_eq!(
            urls,
            [
                ("RSS", "https://blog.example.org/feed.xml"),
                ("Atom", "https://blog.example.org/posts/atom.xml"),
                ("JSON Feed", "https://blog.example.org/feed.json"),
            ]
        );
        assert_eq!(got[0].title.as_deref(), Some("Posts (RSS)"));
        // A <base href> moves relative ones; a javascript: base does not.
        let html = r#"<head><base href="https://cdn.example.org/b/"><link rel="alternate" type="application/atom+xml" href="a.atom"></head>"#;
        assert_eq!(
            advertised(html, &page)[0].url.as_str(),
            "https://cdn.example.org/b/a.atom"
        );
        let html = r#"<head><base href="javascript:x"><link rel="alternate" type="application/atom+xml" href="a.atom"></head>"#;
        assert_eq!(
            advertised(html, &page)[0].url.as_str(),
            "https://blog.example.org/posts/a.atom"
        );
        // Bounded.
        let many: String = (0..100)
            .map(|i| format!("<link rel=alternate type=application/rss+xml href=/f{i}>"))
            .collect();
        assert_eq!(advertised(&many, &page).len(), MAX_ADVERTISED);
    }
}
