//! `add URL`: from a site's address to a checked source in the definitions
//! folder, the way Miniflux and FreshRSS subscribe from an address.
//!
//! What is tried, in order (each answer is kept only if it is read as a
//! feed, by the same fetcher and extractor as the poller):
//! 1. the address itself, when it is a feed;
//! 2. a known site's real feed ([`known_sites`]): a GitHub repository's
//!    page advertises no feed, but its releases have one;
//! 3. the feeds the page advertises (`<link rel="alternate">`), the first
//!    that reads, or the one `--pick` names;
//! 4. the usual paths (`/feed`, `/rss`, `/atom.xml`…), at most
//!    [`MAX_GUESSES`], one at a time under the host's politeness rules;
//! 5. the page's repeated item blocks ([`suggest`]), as an `html` source,
//!    when they give entries.
//!
//! SECURITY: the page is a stranger's. Every address found through it is
//! fetched as a link of the typed address (`linked_from`), so it reaches
//! inside this network only where the typed address itself does, exactly
//! as the poller would fetch it; the candidates fetched are bounded in
//! number ([`MAX_ATTEMPTS`]) and in time ([`DEADLINE`]).
//!
//! The source (and a topic publishing it) is written as a new file through
//! [`definitions::write_new`]: checked with the folder, then put in place.
//! What it found is polled once and shown; nothing is stored.

use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use url::Url;

use super::args::AddArgs;
use super::definitions::{self, select_table, toml_string, Existing, Space};
use super::inspect::{entry_table, fetch, first_url};
use super::{Error, Settings};
use crate::defs::SelectDef;
use crate::extract::known_sites::{self, Known};
use crate::extract::{discover, suggest, ExtractError, Extracted};
use crate::fetch::{names_inside, FetchError, FetchRequest, Fetcher, DEFAULT_TIMEOUT};
use crate::urls::public_url;

/// Most usual paths tried on a site that advertises no feed: the six
/// most common places cover the blog engines seen in the wild (WordPress
/// `/feed`, Hugo `/index.xml`, Jekyll `/feed.xml`…) without hammering a
/// site that has none.
pub const MAX_GUESSES: usize = 6;
/// Most candidate feeds fetched in all (known site, advertised, guessed):
/// "a few at most" to a site that is not ours.
pub const MAX_ATTEMPTS: usize = 8;
/// Most advertised feeds tried when none is picked: the rest of
/// [`MAX_ATTEMPTS`] is left to the usual paths.
const MAX_ADVERTISED_TRIED: usize = 4;
/// The longest `add` spends looking, every request included.
pub const DEADLINE: Duration = Duration::from_secs(60);
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
        /// What the source fetches: the address asked for, or where it
        /// moved for good (a temporary redirect's target may be signed).
        url: Url,
        /// Where the body came from, for its relative links.
        page: Url,
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
    // What the flags name is checked before any request is sent.
    if let Some(id) = &args.id {
        wanted_id(&existing, Space::Source, "--id", id)?;
    }
    if let Some(topic) = &args.topic {
        wanted_id(&existing, Space::Topic, "--topic", topic)?;
    }
    if names_inside(&url) {
        let _ = writeln!(
            out,
            "note: {} is an address inside this network: fetched because you named it",
            url.host_str().unwrap_or_default()
        );
    }
    let fetcher = Fetcher::new(existing.host_policies())?;
    let finder = Finder {
        fetcher: &fetcher,
        internal: args.internal,
        typed: &url,
        attempts: Cell::new(0),
        until: Instant::now() + DEADLINE,
    };
    let found = finder.find(args.pick, &mut out).await?;
    let title = args.title.clone().or_else(|| match &found {
        Found::Feed { got, .. } => got.title.clone(),
        Found::Html { title, .. } => title.clone(),
        Found::HuggingFace { .. } => None,
    });
    let host = url.host_str().unwrap_or("feed").to_string();
    let id = match &args.id {
        Some(id) => existing.take(Space::Source, id),
        None => existing.fresh_id(Space::Source, title.as_deref().unwrap_or(&host), &host),
    };
    let topic = match (&args.topic, args.no_topic) {
        (_, true) => None,
        (Some(topic), _) => Some(existing.take(Space::Topic, topic)),
        (None, _) => Some(existing.fresh_id(Space::Topic, &id, &id)),
    };
    let text = block(
        &url,
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
            public_url(&source.url)
        )));
    }
    // Polled once, nothing stored.
    let now = Utc::now();
    let (entries, page) = match found {
        Found::Feed { got, page, .. } => (got.entries, page),
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

/// An id a flag names: valid, and new (an existing topic is not edited:
/// files are only ever added).
fn wanted_id(existing: &Existing, space: Space, flag: &str, id: &str) -> Result<(), Error> {
    crate::config::check_id(id).map_err(|m| Error::Usage(format!("{flag} `{id}`: {m}")))?;
    if existing.has(space, id) {
        return Err(Error::Usage(format!(
            "{flag} `{id}`: it is defined already (add the new source's id to its `sources` by hand, or name a new one)"
        )));
    }
    Ok(())
}

/// The address as typed: `example.org/blog` and `example.org:8080/blog`
/// are read as https.
fn address(typed: &str, out: &mut String) -> Result<Url, Error> {
    let typed = typed.trim();
    // `host:port/…` parses as a URL whose scheme is the host.
    let bare = match Url::parse(typed) {
        Err(url::ParseError::RelativeUrlWithoutBase) => true,
        Ok(u) => {
            !matches!(u.scheme(), "http" | "https")
                && typed
                    .split_once(':')
                    .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit()))
        }
        Err(_) => false,
    };
    let url = if bare {
        let url = Url::parse(&format!("https://{typed}"))
            .map_err(|e| Error::Usage(format!("`{typed}` is not an address: {e}")))?;
        let _ = writeln!(out, "reading `{typed}` as {}", public_url(&url));
        url
    } else {
        Url::parse(typed).map_err(|e| Error::Usage(format!("`{typed}` is not an address: {e}")))?
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Usage(format!(
            "`{}`: only http(s) addresses can be added",
            crate::text::one_line(typed, 200)
        )));
    }
    Ok(url)
}

/// Finds the feed behind an address.
struct Finder<'a> {
    fetcher: &'a Fetcher,
    internal: bool,
    /// The address the operator typed: every other one is its link.
    typed: &'a Url,
    /// Candidate feeds fetched so far ([`MAX_ATTEMPTS`]).
    attempts: Cell<usize>,
    until: Instant,
}

impl Finder<'_> {
    async fn find(&self, pick: Option<usize>, out: &mut String) -> Result<Found, Error> {
        let url = self.typed;
        let known = known_sites::known(url);
        if let Some(Known::HuggingFace { listing, query }) = known {
            let _ = writeln!(
                out,
                "found: a Hugging Face papers listing ({listing}), read by a `huggingface_papers` source"
            );
            return Ok(Found::HuggingFace { listing, query });
        }
        // The address itself, as the operator named it.
        let first = fetch(self.fetcher, &self.request(url, None, DEFAULT_TIMEOUT)).await;
        let body = match first {
            Ok(body) => {
                match crate::extract::feed::extract(&body.bytes, body.content_type.as_deref()) {
                    Ok(got) => {
                        let found = Found::Feed {
                            url: body.moved_to.clone().unwrap_or_else(|| url.clone()),
                            page: body.page,
                            how: "the address is a feed".into(),
                            got: Box::new(got),
                        };
                        return Ok(said(found, out));
                    }
                    Err(ExtractError::NotAFeed(_)) => Some(body),
                    // A feed, but one that cannot be read even with repairs.
                    Err(e) => {
                        return Err(Error::Usage(format!("{}: {e}", public_url(url))));
                    }
                }
            }
            Err(e) => {
                if known.is_none() {
                    return Err(self.failed(url, e));
                }
                let _ = writeln!(out, "{}: {}", public_url(url), e);
                None
            }
        };
        if let Some(Known::Feed { url: feed, site }) = &known {
            match self.feed(feed, format!("the {site}'s feed"), out).await {
                Ok(found) => return Ok(found),
                Err(why) => {
                    let _ = writeln!(
                        out,
                        "the {site}'s usual feed {} is not one ({why}); looking further",
                        public_url(feed)
                    );
                }
            }
        }
        let Some(body) = body else {
            return Err(Error::NotFound(format!(
                "no feed found for {}: it could not be fetched, nor its site's usual feed",
                public_url(url)
            )));
        };
        let page_url = body.page.clone();
        let page = crate::decode::html(&body.bytes, body.content_type.as_deref());
        let advertised = discover::advertised(&page, &page_url);
        let mut tried = Vec::new();
        if !advertised.is_empty() {
            match self.advertised(&advertised, pick, out).await {
                Ok(found) => return Ok(found),
                Err(why) if pick.is_none() => tried.push(why),
                Err(why) => return Err(Error::NotFound(why)),
            }
        } else if pick.is_some() {
            return Err(Error::Usage(format!(
                "--pick: {} advertises no feed",
                public_url(&page_url)
            )));
        }
        for guess in guesses(&page_url) {
            let how = format!("the usual path {}", guess.path());
            match self.feed(&guess, how, out).await {
                Ok(found) => return Ok(found),
                Err(why) => tried.push(format!("{} ({why})", guess.path())),
            }
        }
        let tried = if tried.is_empty() {
            String::new()
        } else {
            format!("; tried {}", tried.join(", "))
        };
        match suggested(&page, &page_url) {
            Ok(found) => {
                let _ = writeln!(
                    out,
                    "found no feed{tried}; read {} as an html source instead, with the selectors `inspect --suggest` proposes:",
                    public_url(&page_url)
                );
                if let Found::Html { select, .. } = &found {
                    out.push_str(&select_table(select));
                }
                Ok(found)
            }
            Err(why) => Err(Error::NotFound(format!(
                "no feed found at {}: the page advertises none{tried}; and {why}",
                public_url(&page_url)
            ))),
        }
    }

    /// One of the page's advertised feeds: `pick` (1-based), or the first
    /// that reads as a feed; else why none did (one line).
    async fn advertised(
        &self,
        found: &[discover::Advertised],
        pick: Option<usize>,
        out: &mut String,
    ) -> Result<Found, String> {
        let _ = writeln!(
            out,
            "the page advertises {}:",
            crate::text::counted(found.len(), "feed", "feeds")
        );
        for (i, a) in found.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {}. {} {}{}",
                i + 1,
                a.format,
                public_url(&a.url),
                a.title
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            );
        }
        let order: Vec<usize> = match pick {
            Some(n) if (1..=found.len()).contains(&n) => vec![n - 1],
            Some(n) => {
                return Err(format!(
                    "--pick {n}: the page advertises {} (1 to {})",
                    crate::text::counted(found.len(), "feed", "feeds"),
                    found.len()
                ))
            }
            None => (0..found.len().min(MAX_ADVERTISED_TRIED)).collect(),
        };
        let mut failed = Vec::new();
        for i in order {
            let how = format!("the feed the page advertises ({})", found[i].format);
            match self.feed(&found[i].url, how, out).await {
                Ok(took) => {
                    if found.len() > 1 && pick.is_none() {
                        let _ = writeln!(out, "took {} (`--pick N` takes another)", i + 1);
                    }
                    return Ok(took);
                }
                Err(why) => failed.push(format!("{} ({why})", public_url(&found[i].url))),
            }
        }
        Err(format!("the feeds it advertises: {}", failed.join(", ")))
    }

    fn request<'u>(
        &self,
        url: &'u Url,
        linked_from: Option<&'u Url>,
        timeout: Duration,
    ) -> FetchRequest<'u> {
        FetchRequest {
            internal: self.internal,
            linked_from,
            timeout,
            ..FetchRequest::new(url)
        }
    }

    /// A fetch error of `url` as one line that names it.
    fn failed(&self, url: &Url, e: Error) -> Error {
        match e {
            Error::Fetch(FetchError::Internal(why)) => Error::Usage(format!(
                "{}: {why}; if the site is in your own network, add it with --internal",
                public_url(url)
            )),
            e => Error::Usage(format!("{}: {e}", public_url(url))),
        }
    }

    /// `url`, found through the typed address (`how`), read as a feed and
    /// said; or why it is not one (one line).
    async fn feed(&self, url: &Url, how: String, out: &mut String) -> Result<Found, String> {
        let left = self.until.saturating_duration_since(Instant::now());
        if self.attempts.get() >= MAX_ATTEMPTS || left.is_zero() {
            return Err(format!(
                "not tried: `add` fetches at most {MAX_ATTEMPTS} candidates in {}s",
                DEADLINE.as_secs()
            ));
        }
        self.attempts.set(self.attempts.get() + 1);
        let req = self.request(url, Some(self.typed), left.min(DEFAULT_TIMEOUT));
        let body = fetch(self.fetcher, &req).await.map_err(|e| match e {
            Error::Fetch(FetchError::Status { status, .. }) => format!("HTTP {status}"),
            Error::Fetch(e) => e.to_string(),
            e => e.to_string(),
        })?;
        let got = crate::extract::feed::extract(&body.bytes, body.content_type.as_deref())
            .map_err(|e| match e {
                ExtractError::NotAFeed(_) => "not a feed".to_string(),
                e => e.to_string(),
            })?;
        let found = Found::Feed {
            url: body.moved_to.clone().unwrap_or_else(|| url.clone()),
            page: body.page,
            how,
            got: Box::new(got),
        };
        Ok(said(found, out))
    }
}

fn said(found: Found, out: &mut String) -> Found {
    if let Found::Feed { url, how, got, .. } = &found {
        let _ = writeln!(
            out,
            "found: {how}: {}{}",
            public_url(url),
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
/// entries; else why not (to end a sentence).
fn suggested(page: &str, page_url: &Url) -> Result<Found, String> {
    let none = "it has no repeated blocks of items with titles (they may be drawn by JavaScript: see `feedloom inspect URL --suggest`)";
    let best = suggest::suggest(page, 1)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or(none)?;
    let entries = crate::extract::html::HtmlSpec::compile(&best.select, None)
        .ok()
        .and_then(|spec| crate::extract::html::extract(&spec, page).ok())
        .filter(|e| !e.is_empty())
        .ok_or(none)?;
    Ok(Found::Html {
        url: page_url.clone(),
        select: Box::new(best.select),
        title: page_title(page),
        entries,
    })
}

/// The page's `<title>`, one bounded line.
fn page_title(page: &str) -> Option<String> {
    let doc = crate::depth::parse_html(page, "HTML").ok()?;
    let sel = scraper::Selector::parse("title").expect("static selector");
    let text: String = doc.select(&sel).next()?.text().collect();
    let text = crate::text::clean_title(&text, 200);
    (!text.is_empty()).then_some(text)
}

/// The new file: the source, and a topic publishing it.
fn block(
    typed: &Url,
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
        public_url(typed),
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
                page: url.clone(),
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
            let text = block(&url, "s", Some(title), found, Some("t"), i == 0);
            let defs = crate::config::load_with(dir.path(), Some(("s.toml", &text)))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(defs.sources.len(), 1, "{text}");
            assert_eq!(defs.sources[0].title, title);
            assert_eq!(defs.sources[0].internal, i == 0);
            assert_eq!(defs.rules.topics.len(), 1);
        }
    }

    #[test]
    fn a_bare_address_is_read_as_https() {
        let mut out = String::new();
        for (typed, url) in [
            ("example.org/blog", "https://example.org/blog"),
            ("example.org:8080/blog", "https://example.org:8080/blog"),
            ("http://example.org/", "http://example.org/"),
        ] {
            assert_eq!(address(typed, &mut out).unwrap().as_str(), url);
        }
        for bad in ["ftp://example.org/", "javascript:alert(1)", "mailto:a@b"] {
            let e = address(bad, &mut out).unwrap_err().to_string();
            assert!(e.contains("only http(s) addresses"), "{e}");
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
