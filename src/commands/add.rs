//! `add URL`: from a site's address to a checked source in the definitions
//! folder, the way Miniflux and FreshRSS subscribe from an address.
//!
//! What is tried, in order (each answer is kept only if it is read as a
//! feed, by the same fetcher and extractor as the poller):
//! 1. a known site's real feed ([`known_sites`]): the answer is known, so
//!    it costs one request instead of several guesses;
//! 2. the address itself, when it is a feed;
//! 3. the feeds the page advertises (`<link rel="alternate">`), the first
//!    or the one `--pick` names;
//! 4. the usual paths (`/feed`, `/rss`, `/atom.xml`…), at most
//!    [`MAX_GUESSES`], one at a time under the host's politeness rules;
//! 5. the page's repeated item blocks ([`suggest`]), as an `html` source,
//!    when they give entries.
//!
//! The source (and a topic publishing it) is written as a new file through
//! [`definitions::write_new`]: checked with the folder, then renamed into
//! place. What it found is polled once and shown; nothing is stored.

use std::fmt::Write as _;

use chrono::Utc;
use url::Url;

use super::args::AddArgs;
use super::definitions::{self, select_table, toml_string, Existing, Space};
use super::inspect::{entry_table, fetch, first_url};
use super::{Error, Settings};
use crate::defs::SelectDef;
use crate::extract::known_sites::{self, Known};
use crate::extract::{discover, suggest, ExtractError, Extracted};
use crate::fetch::{names_inside, FetchError, FetchRequest, Fetcher};

/// Most usual paths tried on a site that advertises no feed.
pub const MAX_GUESSES: usize = 6;
/// Entries shown from the poll.
const SHOWN: usize = 10;

/// Where feeds usually are, most common first.
const USUAL_PATHS: &[&str] = &[
    "feed",
    "rss",
    "atom.xml",
    "index.xml",
    "feed.xml",
    "rss.xml",
    "feed.json",
    "index.rss",
];

/// What was found behind the address.
enum Found {
    Feed {
        url: Url,
        how: String,
        got: Box<Extracted>,
    },
    HuggingFace {
        listing: &'static str,
        query: Option<String>,
    },
    Html {
        url: Url,
        select: Box<SelectDef>,
        title: Option<String>,
        entries: Vec<crate::model::RawEntry>,
    },
}

/// Runs `add` and returns its report.
pub async fn add(settings: &Settings, args: &AddArgs) -> Result<String, Error> {
    let mut out = String::new();
    let url = address(&args.url, &mut out)?;
    let mut existing = Existing::read(&settings.feeds)?;
    if names_inside(&url) {
        let _ = writeln!(
            out,
            "note: {} is an address inside this network: fetched because you named it",
            url.host_str().unwrap_or_default()
        );
    }
    let fetcher = Fetcher::new(Default::default())?;
    let finder = Finder {
        fetcher: &fetcher,
        internal: args.internal,
    };
    let found = finder.find(&url, args.pick, &mut out).await?;
    let title = args.title.clone().or_else(|| match &found {
        Found::Feed { got, .. } => got.title.clone(),
        Found::Html { title, .. } => title.clone(),
        Found::HuggingFace { .. } => None,
    });
    let host = url.host_str().unwrap_or("feed").to_string();
    let id = match &args.id {
        Some(id) => {
            crate::config::check_id(id).map_err(|m| Error::Usage(format!("--id `{id}`: {m}")))?;
            if existing.has(Space::Source, id) {
                return Err(Error::Usage(format!(
                    "--id `{id}`: a source `{id}` exists already"
                )));
            }
            id.clone()
        }
        None => existing.fresh_id(Space::Source, title.as_deref().unwrap_or(&host), &host),
    };
    let topic = (!args.no_topic).then(|| {
        let wanted = args.topic.clone().unwrap_or_else(|| id.clone());
        existing.fresh_id(Space::Topic, &wanted, &id)
    });
    let text = block(
        &args.url,
        &id,
        title.as_deref(),
        &found,
        topic.as_deref(),
        args.internal,
    );
    let file = existing.fresh_file(&id);
    // The folder with the new file must load; its source must be new.
    let defs = crate::config::load_with(&settings.feeds, Some((&file, &text)))?;
    let source = defs
        .sources
        .iter()
        .find(|s| s.id == id)
        .expect("the new file defines the source");
    if let Some(other) = existing.defined(source) {
        return Err(Error::Usage(format!(
            "{} is already defined as source `{other}`; nothing was written",
            source.url
        )));
    }
    // Polled once, nothing stored.
    let now = Utc::now();
    let (entries, page) = match found {
        Found::Feed { got, url, .. } => (got.entries, url),
        Found::Html { entries, url, .. } => (entries, url),
        Found::HuggingFace { .. } => {
            let first = first_url(source, now);
            let req = FetchRequest {
                timeout: source.timeout,
                max_body: source.max_body,
                ..FetchRequest::new(&first)
            };
            let body = fetch(&fetcher, &req).await?;
            let got = crate::extract::extract(
                &source.kind,
                &body.bytes,
                body.content_type.as_deref(),
                now,
            )?;
            (got.entries, body.page)
        }
    };
    let _ = writeln!(
        out,
        "polled once (nothing stored): {}",
        crate::text::counted(entries.len(), "entry", "entries")
    );
    out.push_str(&entry_table(entries, &id, &page, now, SHOWN));
    if args.print {
        let _ = writeln!(out, "\n# {}", settings.feeds.join(&file).display());
        out.push_str(&text);
        return Ok(out);
    }
    let (path, _) = definitions::write_new(&settings.feeds, &file, &text)?;
    let _ = writeln!(out, "\nwrote {}: source `{id}`", path.display());
    if let Some(topic) = topic {
        let _ = writeln!(
            out,
            "  and topic `{topic}`: `feedloom serve` publishes it at /{topic}.atom (and .rss, .json)"
        );
    }
    Ok(out)
}

/// The address as typed: `example.org/blog` is read as https.
fn address(typed: &str, out: &mut String) -> Result<Url, Error> {
    let typed = typed.trim();
    let url = match Url::parse(typed) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let url = Url::parse(&format!("https://{typed}"))
                .map_err(|e| Error::Usage(format!("`{typed}` is not an address: {e}")))?;
            let _ = writeln!(out, "reading `{typed}` as {url}");
            url
        }
        Err(e) => return Err(Error::Usage(format!("`{typed}` is not an address: {e}"))),
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Usage(format!(
            "`{typed}`: only http(s) addresses can be added"
        )));
    }
    Ok(url)
}

/// Finds the feed behind an address.
struct Finder<'a> {
    fetcher: &'a Fetcher,
    internal: bool,
}

impl Finder<'_> {
    async fn find(&self, url: &Url, pick: Option<usize>, out: &mut String) -> Result<Found, Error> {
        match known_sites::known(url) {
            Some(Known::HuggingFace { listing, query }) => {
                let _ = writeln!(
                    out,
                    "found: a Hugging Face papers listing ({listing}), read by a `huggingface_papers` source"
                );
                return Ok(Found::HuggingFace { listing, query });
            }
            Some(Known::Feed { url: feed, site }) => match self.feed(&feed).await {
                Ok((feed, got)) => {
                    let how = format!("the {site}'s feed");
                    return Ok(said(
                        Found::Feed {
                            how,
                            url: feed,
                            got,
                        },
                        out,
                    ));
                }
                Err(why) => {
                    let _ = writeln!(
                        out,
                        "the {site}'s usual feed {feed} is not one ({why}); looking further"
                    );
                }
            },
            None => {}
        }
        let body = fetch(self.fetcher, &self.request(url))
            .await
            .map_err(|e| match e {
                Error::Fetch(FetchError::Internal(why)) => Error::Usage(format!(
                    "{why}; if the site is in your own network, add it with --internal"
                )),
                e => e,
            })?;
        let page_url = body.page.clone();
        match crate::extract::feed::extract(&body.bytes, body.content_type.as_deref()) {
            Ok(got) => {
                let found = Found::Feed {
                    url: page_url,
                    how: "the address is a feed".into(),
                    got: Box::new(got),
                };
                return Ok(said(found, out));
            }
            Err(ExtractError::NotAFeed(_)) => {}
            // A feed, but one that cannot be read even with repairs.
            Err(e) => return Err(e.into()),
        }
        let page = crate::decode::html(&body.bytes, body.content_type.as_deref());
        let advertised = discover::advertised(&page, &page_url);
        if !advertised.is_empty() {
            return self.advertised(&advertised, pick, out).await;
        }
        if pick.is_some() {
            return Err(Error::Usage(format!(
                "--pick: {page_url} advertises no feed"
            )));
        }
        let mut tried = Vec::new();
        for guess in guesses(&page_url) {
            match self.feed(&guess).await {
                Ok((url, got)) => {
                    let how = format!("the usual path {}", guess.path());
                    return Ok(said(Found::Feed { url, how, got }, out));
                }
                Err(why) => tried.push(format!("{} ({why})", guess.path())),
            }
        }
        if let Some(found) = suggested(&page, &page_url) {
            let _ = writeln!(
                out,
                "found no feed: {page_url} advertises none, and {}; read as an html source instead, with the selectors `inspect --suggest` proposes:",
                tried.join(", ")
            );
            if let Found::Html { select, .. } = &found {
                out.push_str(&select_table(select));
            }
            return Ok(found);
        }
        Err(Error::NotFound(format!(
            "no feed found at {page_url}: the page advertises none; tried {}; and it has no repeated blocks of items with titles (they may be drawn by JavaScript: see `feedloom inspect URL --suggest`)",
            tried.join(", ")
        )))
    }

    /// One of the page's advertised feeds: `pick` (1-based), or the first
    /// that reads as a feed.
    async fn advertised(
        &self,
        found: &[discover::Advertised],
        pick: Option<usize>,
        out: &mut String,
    ) -> Result<Found, Error> {
        let _ = writeln!(
            out,
            "the page advertises {} feed{}:",
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        );
        for (i, a) in found.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {}. {} {}{}",
                i + 1,
                a.format,
                a.url,
                a.title
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            );
        }
        let order: Vec<usize> = match pick {
            Some(n) if (1..=found.len()).contains(&n) => vec![n - 1],
            Some(n) => {
                return Err(Error::Usage(format!(
                    "--pick {n}: the page advertises {} feed{} (1 to {})",
                    found.len(),
                    if found.len() == 1 { "" } else { "s" },
                    found.len()
                )))
            }
            None => (0..found.len()).collect(),
        };
        let mut failed = Vec::new();
        for i in order {
            match self.feed(&found[i].url).await {
                Ok((url, got)) => {
                    if found.len() > 1 && pick.is_none() {
                        let _ = writeln!(out, "took {} (`--pick N` takes another)", i + 1);
                    }
                    let how = format!("the feed the page advertises ({})", found[i].format);
                    return Ok(said(Found::Feed { url, how, got }, out));
                }
                Err(why) => failed.push(format!("{}. {why}", i + 1)),
            }
        }
        Err(Error::NotFound(format!(
            "the page advertises feeds, but none could be read: {}",
            failed.join("; ")
        )))
    }

    fn request<'u>(&self, url: &'u Url) -> FetchRequest<'u> {
        FetchRequest {
            internal: self.internal,
            ..FetchRequest::new(url)
        }
    }

    /// `url` read as a feed, or why it is not one (one line).
    async fn feed(&self, url: &Url) -> Result<(Url, Box<Extracted>), String> {
        let body = fetch(self.fetcher, &self.request(url))
            .await
            .map_err(|e| match e {
                Error::Fetch(FetchError::Status { status, .. }) => format!("HTTP {status}"),
                e => e.to_string(),
            })?;
        let got = crate::extract::feed::extract(&body.bytes, body.content_type.as_deref())
            .map_err(|e| match e {
                ExtractError::NotAFeed(_) => "not a feed".to_string(),
                e => e.to_string(),
            })?;
        Ok((body.page, Box::new(got)))
    }
}

fn said(found: Found, out: &mut String) -> Found {
    if let Found::Feed { url, how, got } = &found {
        let _ = writeln!(
            out,
            "found: {how}: {url}{}",
            got.title
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        );
    }
    found
}

/// The usual paths to try for `page`: in its folder first when it is not
/// the site's root, then at the root; at most [`MAX_GUESSES`].
fn guesses(page: &Url) -> Vec<Url> {
    let mut out: Vec<Url> = Vec::new();
    let dir = page.path().rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let folders: Vec<String> = if dir.is_empty() {
        vec!["/".into()]
    } else {
        vec![format!("{dir}/"), "/".into()]
    };
    for (round, folder) in folders.iter().enumerate() {
        // In a sub-folder, only the two most common.
        let paths = if round == 0 && folders.len() > 1 {
            &USUAL_PATHS[..2]
        } else {
            USUAL_PATHS
        };
        for p in paths {
            let mut url = page.clone();
            url.set_path(&format!("{folder}{p}"));
            url.set_query(None);
            url.set_fragment(None);
            if !out.contains(&url) && out.len() < MAX_GUESSES {
                out.push(url);
            }
        }
    }
    out
}

/// The page read with the best suggested selectors, when they give
/// entries.
fn suggested(page: &str, page_url: &Url) -> Option<Found> {
    let best = suggest::suggest(page, 1).ok()?.into_iter().next()?;
    let spec = crate::extract::html::HtmlSpec::compile(&best.select, None).ok()?;
    let entries = crate::extract::html::extract(&spec, page).ok()?;
    if entries.is_empty() {
        return None;
    }
    let title = page_title(page);
    Some(Found::Html {
        url: page_url.clone(),
        select: Box::new(best.select),
        title,
        entries,
    })
}

/// The page's `<title>`, one bounded line.
fn page_title(page: &str) -> Option<String> {
    let doc = crate::depth::parse_html(page, "HTML").ok()?;
    let sel = scraper::Selector::parse("title").expect("static selector");
    let text: String = doc.select(&sel).next()?.text().collect();
    let text = crate::text::one_line(text.trim(), 200);
    (!text.is_empty()).then_some(text)
}

/// The new file: the source, and a topic publishing it.
fn block(
    typed: &str,
    id: &str,
    title: Option<&str>,
    found: &Found,
    topic: Option<&str>,
    internal: bool,
) -> String {
    let mut out = String::new();
    let how = match found {
        Found::Feed { how, .. } => how.clone(),
        Found::HuggingFace { .. } => "a Hugging Face papers listing".into(),
        Found::Html { .. } => "no feed: the page's items, by CSS selectors".into(),
    };
    let _ = writeln!(
        out,
        "# Added by `feedloom add {}` on {}: {how}.",
        crate::text::one_line(typed, 200),
        Utc::now().format("%Y-%m-%d")
    );
    out.push_str("[[source]]\n");
    let _ = writeln!(out, "id = {}", toml_string(id));
    match found {
        Found::Feed { url, .. } => {
            out.push_str("kind = \"feed\"\n");
            let _ = writeln!(out, "url = {}", toml_string(url.as_str()));
        }
        Found::Html { url, .. } => {
            out.push_str("kind = \"html\"\n");
            let _ = writeln!(out, "url = {}", toml_string(url.as_str()));
        }
        Found::HuggingFace { listing, query } => {
            out.push_str("kind = \"huggingface_papers\"\n");
            let _ = writeln!(out, "listing = {}", toml_string(listing));
            if let Some(q) = query {
                let _ = writeln!(out, "query = {}", toml_string(q));
            }
        }
    }
    if let Some(t) = title {
        let _ = writeln!(out, "title = {}", toml_string(t));
    }
    if internal {
        out.push_str("internal = true\n");
    }
    if let Found::Html { select, .. } = found {
        out.push('\n');
        out.push_str(&select_table(select));
    }
    if let Some(topic) = topic {
        out.push_str("\n[[topic]]\n");
        let _ = writeln!(out, "id = {}", toml_string(topic));
        if let Some(t) = title {
            let _ = writeln!(out, "title = {}", toml_string(t));
        }
        let _ = writeln!(out, "sources = [{}]", toml_string(id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_find_writes_a_folder_that_loads() {
        let url = Url::parse("https://example.org/news/").unwrap();
        let select = SelectDef {
            item: Some("article".into()),
            title: crate::defs::Selectors::One("h2".into()),
            ..Default::default()
        };
        let finds = [
            Found::Feed {
                url: url.clone(),
                how: "test".into(),
                got: Box::default(),
            },
            Found::Html {
                url: url.clone(),
                select: Box::new(select),
                title: None,
                entries: Vec::new(),
            },
            Found::HuggingFace {
                listing: "search",
                query: Some("mixture of experts".into()),
            },
        ];
        for (i, found) in finds.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            // A title that would break TOML if it were not escaped.
            let title = "A \"quoted\" \\ title\n[[source]]";
            let text = block("example.org", "s", Some(title), found, Some("t"), i == 0);
            let defs = crate::config::load_with(dir.path(), Some(("s.toml", &text)))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(defs.sources.len(), 1, "{text}");
            assert_eq!(defs.sources[0].title, title);
            assert_eq!(defs.sources[0].internal, i == 0);
            assert_eq!(defs.rules.topics.len(), 1);
        }
    }

    #[test]
    fn usual_paths_are_few_and_stay_on_the_site() {
        let g = |page: &str| -> Vec<String> {
            guesses(&Url::parse(page).unwrap())
                .iter()
                .map(|u| u.to_string())
                .collect()
        };
        let root = g("https://example.org/?x=1#top");
        assert_eq!(root.len(), MAX_GUESSES);
        assert_eq!(root[0], "https://example.org/feed");
        assert_eq!(root[2], "https://example.org/atom.xml");
        let sub = g("https://example.org/blog/post.html");
        assert_eq!(
            &sub[..3],
            [
                "https://example.org/blog/feed",
                "https://example.org/blog/rss",
                "https://example.org/feed"
            ]
        );
        assert!(sub.len() <= MAX_GUESSES);
        assert!(sub.iter().all(|u| u.starts_with("https://example.org/")));
    }
}
