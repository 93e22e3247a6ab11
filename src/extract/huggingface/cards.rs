//! The last resort: a listing page's `<article>` cards, when the embedded
//! JSON is absent. Cards hold a subset of the data, formatted for people:
//! year-less dates, abbreviated counts, and every card twice (a desktop and
//! a mobile block inside one `<article>`).
//!
//! Class names churn, so selectors lean on structure and link targets:
//! `h3 a[href^="/papers/"]` for id and title, the `/login?next=` upvote
//! link, `#community` comment links, GitHub and arXiv buttons.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use scraper::{ElementRef, Selector};
use url::Url;

use super::{abstract_html, arxiv_links, paper_url};
use crate::extract::ExtractError;
use crate::model::{Link, Media, RawEntry};
use crate::sanitize::escape_text;
use crate::text::collapse_ws;

struct Selectors {
    article: Selector,
    title: Selector,
    summary: Selector,
    upvotes: Selector,
    comments: Selector,
    github: Selector,
    arxiv: Selector,
    org: Selector,
    submitter: Selector,
    thumbnail: Selector,
    video: Selector,
    span: Selector,
}

static SEL: LazyLock<Selectors> = LazyLock::new(|| {
    let s = |css: &str| Selector::parse(css).expect("static selector");
    Selectors {
        article: s("article"),
        title: s(r#"h3 a[href^="/papers/"]"#),
        summary: s("p"),
        upvotes: s(r#"a[href^="/login?next="]"#),
        comments: s(r##"a[href$="#community"]"##),
        github: s(r#"a[href^="https://github.com/"]"#),
        arxiv: s(r#"a[href^="https://arxiv.org/abs/"]"#),
        org: s("a.rounded-full span"),
        submitter: s("div.shadow-xs"),
        thumbnail: s(r#"img[src*="thumbnails"]"#),
        video: s("video[src]"),
        span: s("span"),
    }
});

/// The papers of a listing page's cards, each once.
pub fn extract(body: &[u8], base: &Url, now: DateTime<Utc>) -> Result<Vec<RawEntry>, ExtractError> {
    let text = String::from_utf8_lossy(body);
    let doc = crate::depth::parse_html(&text, "Hugging Face page")?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut articles = 0;
    for article in doc.select(&SEL.article) {
        articles += 1;
        let Some(title_link) = article.select(&SEL.title).next() else {
            continue;
        };
        let Some(id) = title_link
            .value()
            .attr("href")
            .and_then(|h| h.strip_prefix("/papers/"))
            .map(|h| h.split(['?', '#', '/']).next().unwrap_or(h).to_string())
        else {
            continue;
        };
        if id.is_empty() || !seen.insert(id.clone()) {
            continue;
        }
        out.push(card(article, &id, &text_of(title_link), base, now));
    }
    if articles == 0 {
        return Err(ExtractError::NotAFeed(
            "no Daily Papers data and no paper cards on the page".into(),
        ));
    }
    Ok(out)
}

fn text_of(el: ElementRef) -> String {
    collapse_ws(&el.text().collect::<String>())
}

fn card(article: ElementRef, id: &str, title: &str, base: &Url, now: DateTime<Utc>) -> RawEntry {
    let mut metrics = BTreeMap::new();
    if let Some(up) = article.select(&SEL.upvotes).next() {
        // "Upvote 323" (trending) or "323" / "-" (compact cards).
        if let Some(n) = text_of(up).split_whitespace().last().and_then(parse_count) {
            metrics.insert("upvotes".to_string(), n);
        }
    }
    if let Some(c) = article
        .select(&SEL.comments)
        .next()
        .and_then(|c| parse_count(&text_of(c)))
    {
        metrics.insert("comments".to_string(), c);
    }
    let arxiv = format!("https://arxiv.org/abs/{id}");
    let mut related = arxiv_links(id);
    if let Some(gh) = article.select(&SEL.github).next() {
        if let Some(href) = gh.value().attr("href") {
            related.push(Link {
                label: "GitHub".into(),
                href: href.to_string(),
            });
        }
        if let Some(stars) = gh
            .select(&SEL.span)
            .last()
            .and_then(|s| parse_count(&text_of(s)))
        {
            metrics.insert("stars".to_string(), stars);
        }
    }
    let other_links = article
        .select(&SEL.arxiv)
        .filter_map(|a| a.value().attr("href").map(str::to_string))
        .chain([arxiv])
        .collect();
    let published = article
        .select(&SEL.span)
        .map(text_of)
        .find_map(|t| resolve_card_date(&t, now));
    let submitter = article
        .select(&SEL.submitter)
        .map(text_of)
        .find_map(|t| t.strip_prefix("Submitted by").map(|s| s.trim().to_string()));
    let media = article
        .select(&SEL.video)
        .chain(article.select(&SEL.thumbnail))
        .find_map(|el| el.value().attr("src"))
        .map(|src| Media {
            url: src.to_string(),
            mime: crate::extract::media_mime(src).to_string(),
        });
    RawEntry {
        guid: None,
        title: Some(escape_text(title)),
        link: Some(paper_url(base, id)),
        discussion: Some(super::discussion_url(base, id)),
        other_links,
        summary: article
            .select(&SEL.summary)
            .next()
            .map(|p| abstract_html(&p.text().collect::<String>())),
        metrics,
        related,
        media,
        organization: article
            .select(&SEL.org)
            .next()
            .map(text_of)
            .filter(|o| !o.is_empty()),
        submitter: submitter.filter(|s| !s.is_empty()),
        published,
        ..Default::default()
    }
}

/// Parses the counts cards show: `323`, `1.54k`, `86.1k`, `110k`, `2.3M`,
/// `1,234`; `-` means 0.
pub fn parse_count(text: &str) -> Option<f64> {
    let t = text.trim().replace(',', "");
    if t == "-" {
        return Some(0.0);
    }
    let (num, mult) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1_000.0),
        'm' | 'M' => (&t[..t.len() - 1], 1_000_000.0),
        _ => (&t[..], 1.0),
    };
    let n: f64 = num.parse().ok()?;
    // Rounded so 1.54k is exactly 1540, not 1539.9999.
    (n.is_finite() && n >= 0.0).then(|| (n * mult).round())
}

/// Resolves a card date: `Published on Sep 27, 2026`, `Sep 27, 2026`, or a
/// year-less `Mar 28`. The site drops the year only when it is the current
/// year at render time, so a year-less date takes the fetch year, unless that
/// lands more than two days after the fetch (a January fetch of a "Dec 30"
/// card), then the year before.
pub fn resolve_card_date(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let t = text.trim();
    let t = t.strip_prefix("Published on").map(str::trim).unwrap_or(t);
    if !t.chars().next()?.is_ascii_uppercase() || t.len() > 14 {
        return None;
    }
    let date = NaiveDate::parse_from_str(t, "%b %d, %Y").ok().or_else(|| {
        let this_year =
            NaiveDate::parse_from_str(&format!("{t} {}", now.year()), "%b %d %Y").ok()?;
        if this_year > now.date_naive() + Duration::days(2) {
            NaiveDate::parse_from_str(&format!("{t} {}", now.year() - 1), "%b %d %Y").ok()
        } else {
            Some(this_year)
        }
    })?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(parse_count("323"), Some(323.0));
        assert_eq!(parse_count("1.54k"), Some(1540.0));
        assert_eq!(parse_count("86.1k"), Some(86_100.0));
        assert_eq!(parse_count("110k"), Some(110_000.0));
        assert_eq!(parse_count("2.3M"), Some(2_300_000.0));
        assert_eq!(parse_count("1,234"), Some(1234.0));
        assert_eq!(parse_count(" - "), Some(0.0));
        assert_eq!(parse_count("Upvote"), None);
        assert_eq!(parse_count(""), None);
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn year_less_dates_around_new_year() {
        let day = |s: &str| Some(at(&format!("{s}T00:00:00Z")));
        // Early January: December dates are last year's.
        let jan2 = at("2027-01-02T08:00:00Z");
        assert_eq!(resolve_card_date("Dec 30", jan2), day("2026-12-30"));
        assert_eq!(resolve_card_date("Jan 1", jan2), day("2027-01-01"));
        // Timezone slack: a date a day ahead of UTC is still this year.
        assert_eq!(resolve_card_date("Jan 3", jan2), day("2027-01-03"));
        // Late December: a January date is this year's (long past).
        let dec31 = at("2026-12-31T23:00:00Z");
        assert_eq!(resolve_card_date("Jan 5", dec31), day("2026-01-05"));
        assert_eq!(resolve_card_date("Dec 31", dec31), day("2026-12-31"));
        // Explicit years win; prefixes are dropped.
        assert_eq!(
            resolve_card_date("Published on Sep 27, 2026", jan2),
            day("2026-09-27")
        );
        assert_eq!(resolve_card_date("Feb 27, 2025", jan2), day("2025-02-27"));
        assert_eq!(resolve_card_date("9 authors", jan2), None);
        assert_eq!(resolve_card_date("GitHub", jan2), None);
    }
}
