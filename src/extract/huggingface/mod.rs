//! Hugging Face Daily Papers: listings (daily, weekly, monthly, trending,
//! search) read from the public JSON API or from a listing page's embedded
//! JSON, with the `<article>` cards as the last resort.
//!
//! Structure notes and captures: `tests/fixtures/` (and the research notes
//! in the shared fixtures' `HF-NOTES.md`). The pitfalls this module handles:
//! - the entry-level `publishedAt` is US-Eastern wall time labelled UTC:
//!   never used; the paper's `paper.publishedAt` (arXiv date) is the
//!   published date and `submittedOnDailyAt` the listing date;
//! - abstracts carry arXiv's hard line breaks: normalized to paragraphs;
//! - every card is rendered twice (desktop and mobile): counted once;
//! - cards show year-less dates ("Mar 28") and abbreviated counts
//!   ("1.54k"): see [`cards`].

pub mod cards;
mod compile;
pub mod props;
pub mod wire;

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use url::Url;

use super::cap::Capped;
use super::ExtractError;
use crate::fetch::Budget;
use crate::model::{Link, Media, RawEntry};
use crate::sanitize::escape_text;
use wire::{Element, WireEntry, WirePaper};

/// Where papers come from unless a source says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co";
/// The API's largest page (`limit` is 1–100).
pub const API_PAGE_SIZE: u32 = 100;
/// Requests per five minutes feedloom allows itself per Hugging Face host.
/// Hugging Face allows anonymous clients 500 API and 100 page requests per
/// five-minute window; we stay well under both, since other tools on the
/// same address share those limits.
pub const API_BUDGET: u32 = 150;
pub const PAGE_BUDGET: u32 = 30;
pub const BUDGET_WINDOW: Duration = Duration::from_secs(300);

/// Which listing a source follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// One day, or the latest day with papers.
    Daily(Option<NaiveDate>),
    /// An ISO week (`2026-W41`), or the current one.
    Weekly(Option<String>),
    /// A month (`2026-10`), or the current one.
    Monthly(Option<String>),
    Trending,
    Search(String),
}

/// How a source reads its listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The public JSON API (the default: higher rate limit, exact data).
    Api,
    /// A listing page's embedded JSON, then its cards.
    Page,
}

/// A compiled `huggingface_papers` source.
#[derive(Debug, Clone)]
pub struct HfSpec {
    pub listing: Listing,
    pub mode: Mode,
    /// Base URL, ending in `/`.
    pub base: Url,
    /// Most API pages fetched per poll.
    pub max_pages: u32,
}

impl HfSpec {
    /// Default page cap per listing: a "latest" or trending listing is one
    /// page (the API would otherwise walk the whole archive); a period is a
    /// few.
    pub fn default_max_pages(listing: &Listing) -> u32 {
        match listing {
            Listing::Daily(None) | Listing::Trending | Listing::Search(_) => 1,
            Listing::Daily(Some(_)) | Listing::Weekly(_) => 5,
            Listing::Monthly(_) => 10,
        }
    }

    /// Whether the listing is read page by page (`p` = 0, 1, …).
    pub fn paged(&self) -> bool {
        self.mode == Mode::Api && !matches!(self.listing, Listing::Search(_))
    }

    /// The URL of page `page` (0-based) at time `now` (which decides the
    /// current week, month or day when none is configured).
    pub fn request(&self, page: u32, now: DateTime<Utc>) -> Url {
        let mut url = self.base.clone();
        match self.mode {
            Mode::Api => {
                let (path, params): (&str, Vec<(&str, String)>) = match &self.listing {
                    Listing::Daily(Some(d)) => ("api/daily_papers", vec![("date", d.to_string())]),
                    Listing::Daily(None) => ("api/daily_papers", vec![]),
                    Listing::Weekly(w) => (
                        "api/daily_papers",
                        vec![("week", w.clone().unwrap_or_else(|| current_week(now)))],
                    ),
                    Listing::Monthly(m) => (
                        "api/daily_papers",
                        vec![("month", m.clone().unwrap_or_else(|| current_month(now)))],
                    ),
                    Listing::Trending => ("api/daily_papers", vec![("sort", "trending".into())]),
                    Listing::Search(q) => ("api/papers/search", vec![("q", q.clone())]),
                };
                url.set_path(&format!("{}{path}", url.path()));
                let mut pairs = url.query_pairs_mut();
                for (k, v) in params {
                    pairs.append_pair(k, &v);
                }
                pairs.append_pair("limit", &API_PAGE_SIZE.to_string());
                if self.paged() {
                    pairs.append_pair("p", &page.to_string());
                }
            }
            Mode::Page => {
                let path = match &self.listing {
                    // A date with no papers yet clamps to the latest day.
                    Listing::Daily(d) => {
                        format!("papers/date/{}", d.unwrap_or_else(|| now.date_naive()))
                    }
                    Listing::Weekly(w) => format!(
                        "papers/week/{}",
                        w.clone().unwrap_or_else(|| current_week(now))
                    ),
                    Listing::Monthly(m) => format!(
                        "papers/month/{}",
                        m.clone().unwrap_or_else(|| current_month(now))
                    ),
                    Listing::Trending => "papers/trending".into(),
                    Listing::Search(_) => "papers".into(),
                };
                url.set_path(&format!("{}{path}", url.path()));
                if let Listing::Search(q) = &self.listing {
                    url.query_pairs_mut().append_pair("q", q);
                }
            }
        }
        url
    }

    /// The request budget this source's requests count against.
    pub fn budget(&self) -> Budget {
        let host = self.base.host_str().unwrap_or_default();
        let (bucket, max) = match self.mode {
            Mode::Api => ("api", API_BUDGET),
            Mode::Page => ("pages", PAGE_BUDGET),
        };
        Budget {
            key: format!("{host} {bucket}"),
            max_requests: max,
            window: BUDGET_WINDOW,
        }
    }

    /// Extracts the papers of one response.
    pub fn extract(&self, body: &[u8], now: DateTime<Utc>) -> Result<Vec<RawEntry>, ExtractError> {
        Ok(self.extract_reporting(body, now)?.0)
    }

    /// [`HfSpec::extract`], and what is degraded: page mode falls back to
    /// the `<article>` cards whenever the embedded JSON is gone or holds no
    /// papers while the page still shows some (an upstream redesign), and
    /// says so, naming what the cards lack, so `/status` can tell the
    /// operator.
    pub fn extract_reporting(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(Vec<RawEntry>, Option<String>), ExtractError> {
        let mut degraded = None;
        let mut raws: Vec<RawEntry> = match self.mode {
            Mode::Api => parse_api(body)?
                .into_iter()
                .map(|e| to_raw(e.into_entry(), &self.base))
                .collect(),
            Mode::Page => {
                let (entries, why) = match props::page_entries(body)? {
                    Some(entries) if !entries.is_empty() => (entries, None),
                    Some(_) => (Vec::new(), Some("the embedded JSON holds no papers")),
                    None => (Vec::new(), Some("the embedded JSON is gone")),
                };
                match why {
                    None => entries.into_iter().map(|e| to_raw(e, &self.base)).collect(),
                    Some(why) => {
                        let cards = cards::extract(body, &self.base, now)?;
                        if !cards.is_empty() {
                            degraded = Some(format!(
                                "read from the page's cards ({why}): {CARDS_LACK} are missing"
                            ));
                        }
                        cards
                    }
                }
            }
        };
        let count = raws.len() as i64;
        for (rank, raw) in raws.iter_mut().enumerate() {
            let rank = rank as i64;
            // Many papers share a listing time (midnight of their day): a
            // microsecond per rank keeps the listing's own order in topics.
            raw.listed = if self.listing == Listing::Trending {
                // A trending listing is news when it is seen, not when the
                // paper first made Daily Papers (possibly years ago); before
                // now, never after it.
                Some(now - chrono::Duration::microseconds(rank))
            } else {
                // After the listing time, so a paper listed at midnight
                // stays in its own day (a daily digest's period).
                raw.listed
                    .map(|t| t + chrono::Duration::microseconds(count - 1 - rank))
            };
        }
        Ok((raws, degraded))
    }
}

/// What a paper read from its card lacks, compared with the JSON.
pub const CARDS_LACK: &str =
    "authors, the AI summary and keywords, the project page and the listing time";

fn current_week(now: DateTime<Utc>) -> String {
    let w = now.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn current_month(now: DateTime<Utc>) -> String {
    format!("{}-{:02}", now.year(), now.month())
}

/// An API response: a JSON array of entries (or, from search, of entries or
/// bare papers).
fn parse_api(body: &[u8]) -> Result<Vec<Element>, ExtractError> {
    crate::depth::check_json(body, "Hugging Face API JSON")?;
    // The usual shape, typed in one pass (unknown keys skipped, not built;
    // items past the cap read past).
    let e = match serde_json::from_slice::<Capped<WireEntry>>(body) {
        Ok(entries) => return Ok(entries.items.into_iter().map(Element::Entry).collect()),
        Err(e) => e,
    };
    // Otherwise as bare papers (search), typed as well: never through
    // values, nor an untagged enum, which buffers each item whole (one
    // item of a million objects took 250 MB); or name the error.
    match serde_json::from_slice::<Capped<WirePaper>>(body) {
        Ok(papers) => Ok(papers.items.into_iter().map(Element::Paper).collect()),
        Err(_) => {
            /// An error object, its other keys read past.
            #[derive(serde::Deserialize)]
            struct Refusal {
                error: Option<String>,
            }
            Err(match serde_json::from_slice::<Refusal>(body) {
                Ok(refusal) => ExtractError::NotAFeed(format!(
                    "the API answered with an object, not a list of papers{}",
                    refusal.error.map(|e| format!(": {e}")).unwrap_or_default()
                )),
                Err(_) => ExtractError::Malformed {
                    format: "Hugging Face API JSON",
                    message: e.to_string(),
                },
            })
        }
    }
}

/// The arXiv abstract and PDF links of a paper.
pub fn arxiv_links(id: &str) -> Vec<Link> {
    vec![
        Link {
            label: "arXiv".into(),
            href: format!("https://arxiv.org/abs/{id}"),
        },
        Link {
            label: "PDF".into(),
            href: format!("https://arxiv.org/pdf/{id}"),
        },
    ]
}

/// The URL of a paper's Hugging Face page.
pub fn paper_url(base: &Url, id: &str) -> String {
    format!("{base}papers/{id}")
}

/// Where a paper is discussed: its page's community tab.
pub fn discussion_url(base: &Url, id: &str) -> String {
    format!("{base}papers/{id}#community")
}

/// Abstract text to HTML: arXiv's hard line breaks joined, blank lines kept
/// as paragraph breaks, everything escaped.
pub fn abstract_html(text: &str) -> String {
    let mut out = String::new();
    let normalized = text.replace("\r\n", "\n");
    for para in normalized
        .split("\n\n")
        .map(crate::text::collapse_ws)
        .filter(|p| !p.is_empty())
    {
        out.push_str("<p>");
        out.push_str(&escape_text(&para));
        out.push_str("</p>");
    }
    out
}

fn date(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// One API / props entry as a [`RawEntry`].
fn to_raw(entry: WireEntry, base: &Url) -> RawEntry {
    let p = entry.paper;
    let id = p.id.trim().to_string();
    let mut metrics = std::collections::BTreeMap::new();
    if let Some(u) = p.upvotes {
        metrics.insert("upvotes".to_string(), u);
    }
    if let Some(c) = entry.num_comments.or(p.num_comments) {
        metrics.insert("comments".to_string(), c);
    }
    if let Some(s) = p.github_stars {
        metrics.insert("stars".to_string(), s);
    }
    let arxiv = format!("https://arxiv.org/abs/{id}");
    let mut related = arxiv_links(&id);
    if let Some(repo) = p.github_repo.as_deref().filter(|r| !r.trim().is_empty()) {
        related.push(Link {
            label: "GitHub".into(),
            href: repo.trim().to_string(),
        });
    }
    if let Some(page) = p.project_page.as_deref().filter(|r| !r.trim().is_empty()) {
        related.push(Link {
            label: "Project page".into(),
            href: page.trim().to_string(),
        });
    }
    let media_urls = entry.media_urls.or(p.media_urls).unwrap_or_default();
    let video = media_urls
        .iter()
        .find(|u| crate::extract::media_mime(u).starts_with("video/"));
    let media = video
        .or(entry.thumbnail.as_ref())
        .or(media_urls.first())
        .map(|u| Media {
            url: u.clone(),
            mime: crate::extract::media_mime(u).to_string(),
        });
    let org = entry
        .organization
        .or(p.organization)
        .and_then(|o| o.fullname.or(o.name));
    let submitter = entry
        .submitted_by
        .or(p.submitted_on_daily_by)
        .and_then(|u| u.fullname.or(u.name).or(u.user));
    RawEntry {
        guid: None,
        title: Some(escape_text(&p.title)),
        link: Some(paper_url(base, &id)),
        discussion: Some(discussion_url(base, &id)),
        other_links: vec![arxiv],
        summary: p.summary.as_deref().map(abstract_html),
        content: None,
        authors: p
            .authors
            .unwrap_or_default()
            .into_iter()
            .filter(|a| !a.hidden)
            .map(|a| a.name)
            .collect(),
        categories: p.ai_keywords.unwrap_or_default(),
        published: date(p.published_at.as_deref()),
        updated: None,
        metrics,
        related,
        media,
        organization: org,
        submitter,
        ai_summary: p.ai_summary,
        listed: date(p.submitted_on_daily_at.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(listing: Listing, mode: Mode) -> HfSpec {
        HfSpec {
            max_pages: HfSpec::default_max_pages(&listing),
            listing,
            mode,
            base: Url::parse("https://huggingface.co/").unwrap(),
        }
    }

    #[test]
    fn request_urls() {
        let now: DateTime<Utc> = "2026-10-07T12:00:00Z".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 10, 6);
        let cases = [
            (
                Listing::Daily(date),
                Mode::Api,
                "https://huggingface.co/api/daily_papers?date=2026-10-06&limit=100&p=2",
            ),
            (
                Listing::Daily(None),
                Mode::Api,
                "https://huggingface.co/api/daily_papers?limit=100&p=2",
            ),
            (
                Listing::Weekly(None),
                Mode::Api,
                "https://huggingface.co/api/daily_papers?week=2026-W41&limit=100&p=2",
            ),
            (
                Listing::Monthly(None),
                Mode::Api,
                "https://huggingface.co/api/daily_papers?month=2026-10&limit=100&p=2",
            ),
            (
                Listing::Trending,
                Mode::Api,
                "https://huggingface.co/api/daily_papers?sort=trending&limit=100&p=2",
            ),
            (
                Listing::Search("mixture of experts".into()),
                Mode::Api,
                "https://huggingface.co/api/papers/search?q=mixture+of+experts&limit=100",
            ),
            (
                Listing::Daily(None),
                Mode::Page,
                "https://huggingface.co/papers/date/2026-10-07",
            ),
            (
                Listing::Weekly(Some("2026-W40".into())),
                Mode::Page,
                "https://huggingface.co/papers/week/2026-W40",
            ),
            (
                Listing::Trending,
                Mode::Page,
                "https://huggingface.co/papers/trending",
            ),
            (
                Listing::Search("rag".into()),
                Mode::Page,
                "https://huggingface.co/papers?q=rag",
            ),
        ];
        for (listing, mode, want) in cases {
            assert_eq!(spec(listing, mode).request(2, now).as_str(), want);
        }
    }

    #[test]
    fn abstracts_lose_hard_line_breaks_but_keep_paragraphs() {
        assert_eq!(
            abstract_html("Efficient\n  serving of <LLMs>.\n\nSecond para."),
            "<p>Efficient serving of &lt;LLMs&gt;.</p><p>Second para.</p>"
        );
    }
}
