//! One page's main article: Readability's algorithm (the `dom_smoothie`
//! port, chosen by measurement: README "Full article text"), then the
//! same sanitizing and size cap as any upstream content, with links and
//! images made absolute against the page's own URL.

use url::Url;

use super::MAX_ARTICLE_ELEMENTS;
use crate::normalize::caps::MAX_CONTENT_BYTES;

/// Less visible text than this is not an article (a login wall, a consent
/// page, a video with a caption).
pub const MIN_ARTICLE_CHARS: usize = 200;

/// Why a page gave no article; the entry keeps its own text.
#[derive(Debug, thiserror::Error)]
pub enum NoArticle {
    #[error("the page is `{0}`, not HTML")]
    NotHtml(String),
    #[error(transparent)]
    TooDeep(#[from] crate::depth::TooDeep),
    #[error("no article found: {0}")]
    Failed(String),
    #[error("the article found has only {0} characters of text")]
    TooShort(usize),
}

/// The sanitized main article of `body`, fetched from `page`.
pub fn extract(body: &[u8], content_type: Option<&str>, page: &Url) -> Result<String, NoArticle> {
    if let Some(ct) = content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !(mime.is_empty() || mime == "text/html" || mime == "application/xhtml+xml") {
            return Err(NoArticle::NotHtml(mime));
        }
    }
    let text = crate::decode::html(body, content_type);
    // SECURITY: dom_smoothie walks the tree recursively; markup the depth
    // scan under-counts (`<svg>` then 40,000 `<td>`s nest in foreign
    // content) overflowed the stack and aborted the process. So the page
    // is parsed here and its tree measured before dom_smoothie sees it.
    crate::depth::check_html(text.as_bytes(), "HTML")?;
    let document = dom_query::Document::from(text.as_ref());
    check_tree_depth(&document)?;
    let config = dom_smoothie::Config {
        max_elements_to_parse: MAX_ARTICLE_ELEMENTS,
        ..Default::default()
    };
    let mut reader =
        dom_smoothie::Readability::with_document(document, Some(page.as_str()), Some(config))
            .map_err(|e| NoArticle::Failed(e.to_string()))?;
    let article = reader
        .parse()
        .map_err(|e| NoArticle::Failed(e.to_string()))?;
    let html = crate::normalize::sanitize_capped(&article.content, MAX_CONTENT_BYTES, page);
    let chars = crate::text::html_to_text(&html).chars().count();
    if chars < MIN_ARTICLE_CHARS {
        return Err(NoArticle::TooShort(chars));
    }
    Ok(html)
}

/// Refuses a parsed page whose elements nest deeper than
/// [`crate::depth::MAX_NESTING`]: one walk over the tree, no recursion.
fn check_tree_depth(doc: &dom_query::Document) -> Result<(), crate::depth::TooDeep> {
    let too_deep = crate::depth::TooDeep::nesting("HTML");
    let mut node = doc.root();
    // Elements from the root down to `node`, itself included.
    let mut depth = 0usize;
    loop {
        if let Some(child) = node.first_child() {
            depth += usize::from(child.is_element());
            if depth > crate::depth::MAX_NESTING {
                return Err(too_deep);
            }
            node = child;
            continue;
        }
        // No children: on to the next sibling of the nearest ancestor that
        // has one.
        loop {
            depth -= usize::from(node.is_element());
            if let Some(next) = node.next_sibling() {
                depth += usize::from(next.is_element());
                node = next;
                break;
            }
            match node.parent() {
                Some(parent) => node = parent,
                None => return Ok(()),
            }
        }
    }
}
