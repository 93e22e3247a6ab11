//! The JSON shapes of Hugging Face's API and page props. Every field except
//! a paper's `id` and `title` is optional: keys come and go between papers
//! (`ai_summary`, `githubRepo`, …) and between endpoints. Unknown keys are
//! ignored.

use serde::Deserialize;

use crate::extract::cap::Capped;

/// One element of a listing: a daily-papers entry, or (from search) possibly
/// a bare paper.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Element {
    Entry(WireEntry),
    Paper(WirePaper),
}

impl Element {
    pub fn into_entry(self) -> WireEntry {
        match self {
            Element::Entry(e) => e,
            Element::Paper(paper) => WireEntry {
                paper,
                num_comments: None,
                thumbnail: None,
                media_urls: None,
                submitted_by: None,
                organization: None,
            },
        }
    }
}

/// An entry of `/api/daily_papers` and of the page props' `dailyPapers`.
/// Its own `publishedAt` is US-Eastern wall time labelled UTC and is
/// deliberately not read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEntry {
    pub paper: WirePaper,
    pub num_comments: Option<f64>,
    pub thumbnail: Option<String>,
    pub media_urls: Option<Vec<String>>,
    pub submitted_by: Option<User>,
    pub organization: Option<Org>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePaper {
    /// The arXiv id, without version.
    pub id: String,
    pub title: String,
    pub summary: Option<String>,
    pub authors: Option<Vec<Author>>,
    /// The arXiv publication date, UTC.
    pub published_at: Option<String>,
    /// When the paper made Daily Papers.
    pub submitted_on_daily_at: Option<String>,
    pub submitted_on_daily_by: Option<User>,
    pub upvotes: Option<f64>,
    pub num_comments: Option<f64>,
    pub github_repo: Option<String>,
    pub github_stars: Option<f64>,
    pub project_page: Option<String>,
    pub media_urls: Option<Vec<String>>,
    #[serde(rename = "ai_summary")]
    pub ai_summary: Option<String>,
    #[serde(rename = "ai_keywords")]
    pub ai_keywords: Option<Vec<String>>,
    pub organization: Option<Org>,
}

#[derive(Debug, Deserialize)]
pub struct Author {
    pub name: String,
    #[serde(default)]
    pub hidden: bool,
}

#[derive(Debug, Deserialize)]
pub struct Org {
    pub name: Option<String>,
    pub fullname: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub fullname: Option<String>,
    pub name: Option<String>,
    pub user: Option<String>,
}

/// The `data-props` of `div[data-target="DailyPapers"]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Props {
    #[serde(default)]
    pub daily_papers: Capped<WireEntry>,
    /// Reported on search pages.
    pub search_results: Option<Capped<WireEntry>>,
}
