//! The HTML an item shows a reader: the stored summary, plus for paper-like
//! entries a TL;DR, authors, organization, counts and related links.
//!
//! Built at render time from stored fields, not stored itself: upvotes
//! change every poll, and baking them into the stored summary would make
//! every poll look like a content change.

use crate::model::Entry;
use crate::sanitize::escape_text as esc;

/// Authors listed before "et al.".
pub const MAX_AUTHORS: usize = 5;

/// Metrics shown, in order, with their labels.
const SHOWN_METRICS: &[(&str, &str, &str)] = &[
    ("upvotes", "upvote", "upvotes"),
    ("comments", "comment", "comments"),
    ("stars", "GitHub star", "GitHub stars"),
];

/// The item description: sanitized summary plus details (all text escaped,
/// all links already validated as http(s) at ingest).
pub fn description(e: &Entry) -> String {
    let mut out = String::with_capacity(e.summary.len() + 512);
    if let Some(tldr) = &e.ai_summary {
        out.push_str(&format!("<p><strong>TL;DR:</strong> {}</p>", esc(tldr)));
    }
    out.push_str(&e.summary);
    if e.related.is_empty() && e.metrics.is_empty() && e.organization.is_none() {
        return out;
    }
    let mut people = String::new();
    if !e.authors.is_empty() {
        let shown: Vec<String> = e.authors.iter().take(MAX_AUTHORS).map(|a| esc(a)).collect();
        people.push_str(&shown.join(", "));
        if e.authors.len() > MAX_AUTHORS {
            people.push_str(" et al.");
        }
    }
    if let Some(org) = &e.organization {
        if !people.is_empty() {
            people.push_str(" · ");
        }
        people.push_str(&format!("<em>{}</em>", esc(org)));
    }
    if !people.is_empty() {
        out.push_str(&format!("<p>{people}</p>"));
    }
    let counts: Vec<String> = SHOWN_METRICS
        .iter()
        .filter_map(|(key, one, many)| {
            let v = *e.metrics.get(*key)?;
            Some(format!(
                "{} {}",
                v.round() as i64,
                if v == 1.0 { one } else { many }
            ))
        })
        .collect();
    let mut line = counts.join(" · ");
    if let Some(s) = &e.submitter {
        if !line.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(&format!("submitted by {}", esc(s)));
    }
    if !line.is_empty() {
        out.push_str(&format!("<p>{line}</p>"));
    }
    if !e.related.is_empty() {
        let links: Vec<String> = e
            .related
            .iter()
            .map(|l| format!("<a href=\"{}\">{}</a>", esc(&l.href), esc(&l.label)))
            .collect();
        out.push_str(&format!("<p>{}</p>", links.join(" · ")));
    }
    out
}
