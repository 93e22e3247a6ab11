//! Full article text (`fulltext = true` on a source): for each new entry
//! whose own text is shorter than the source's `fulltext_min_chars`, the
//! page it links to is fetched once and its main article extracted
//! ([`article`]), sanitized, and kept as the entry's [`Entry::article`],
//! which feeds publish as the full content.
//!
//! Never in the way of a poll: a poll only notes the fetches owed (in the
//! store, so a restart loses none); the entry is published at once and
//! gains its text when fetched, with the same id and dates. Fetches go
//! through the poller's [`Fetcher`], so the host's spacing, budgets and
//! back-off apply as to polls; at most [`MAX_CONCURRENT_ARTICLES`] run at
//! once; the site's `robots.txt` is obeyed unless the source says `robots =
//! false` ([`robots`]). A failed fetch is retried with back-off up to
//! [`MAX_ATTEMPTS`] times; a page with no article in it, a page that is
//! not HTML, or one `robots.txt` disallows leaves the entry as it was. A
//! link (or redirect) into the operator's network, which a public source
//! may not reach, is given up at once: it would be refused again. A task
//! that panics is logged, counted and its job given up; the others go on.
//!
//! Bounds (each a stranger can drive: feeds choose links, pages choose
//! their size): [`MAX_OWED`] fetches owed at a time, [`MAX_OWED_PER_POLL`]
//! from one poll, [`MAX_ARTICLE_BODY`] per page (or the source's smaller
//! `max_body`), the page's nesting ([`crate::depth`]), at most
//! [`MAX_ARTICLE_ELEMENTS`] elements scored, the stored article capped like
//! any content ([`crate::normalize::caps::MAX_CONTENT_BYTES`]).

pub mod article;
pub mod robots;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::{Definitions, Source};
use crate::fetch::{FetchError, FetchRequest, Fetched, Fetcher};
use crate::model::{Entry, EntryId};
use crate::store::{ArticleJob, Store, StoreError};

pub use crate::config::{
    FulltextPolicy as Policy, DEFAULT_FULLTEXT_MIN_CHARS as DEFAULT_MIN_CHARS,
};
/// Article fetches owed at once, across sources; beyond it new entries
/// keep their own text.
pub const MAX_OWED: usize = 10_000;
/// Article fetches one poll may add (a feed listing thousands of new links
/// at once does not fill the queue alone).
pub const MAX_OWED_PER_POLL: usize = 200;
/// Article fetches under way at once (each host's spacing applies too).
pub const MAX_CONCURRENT_ARTICLES: usize = 4;
/// The largest article page read.
pub const MAX_ARTICLE_BODY: usize = 5 * 1024 * 1024;
/// Elements of a page the extractor scores at most.
pub const MAX_ARTICLE_ELEMENTS: usize = 50_000;
/// Tries of one article before it is given up.
pub const MAX_ATTEMPTS: u32 = 5;
/// The wait after the first failed try; each further failure waits four
/// times longer (10 min, 40 min, 2 h 40, 10 h 40).
pub const RETRY_BASE: Duration = Duration::from_secs(600);
/// Jobs taken from the store per round.
const ROUND: usize = 64;

/// Whether `entry` (of a source with `policy`) should get its article.
pub fn wants_article(entry: &Entry, policy: &Policy) -> bool {
    if entry.article.is_some() || !entry.link.starts_with("http") {
        return false;
    }
    let own = entry.content.as_deref().unwrap_or(&entry.summary);
    crate::text::html_to_text(own).chars().count() < policy.min_chars
}

/// Notes the article fetches a poll of `source` owes for the entries it
/// stored new, or for all it listed on the first full listing after
/// `fulltext` was switched on (one batch of them; `owed` counts the poll's
/// so far, against [`MAX_OWED_PER_POLL`]). An entry that has its article,
/// or enough text of its own, owes nothing.
pub fn owe(
    store: &Store,
    source: &Source,
    new: &[&Entry],
    owed: &mut usize,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(policy) = &source.fulltext else {
        return Ok(());
    };
    for e in new.iter().filter(|e| wants_article(e, policy)) {
        if *owed >= MAX_OWED_PER_POLL {
            if *owed == MAX_OWED_PER_POLL {
                tracing::warn!(source = %source.id, "more than {MAX_OWED_PER_POLL} new entries want their article; the rest keep their own text");
                *owed += 1;
            }
            break;
        }
        let job = ArticleJob {
            source: source.id.clone(),
            link: e.link.clone(),
            due: now,
            attempts: 0,
        };
        if store.owe_article(&e.id, &job, MAX_OWED)? {
            *owed += 1;
        }
    }
    Ok(())
}

/// How article fetches ended, since start (for `/metrics`).
#[derive(Debug, Default)]
pub struct Counters {
    /// Fetched, extracted and stored.
    pub stored: AtomicU64,
    /// A try failed (network, HTTP status); retried later.
    pub failed: AtomicU64,
    /// Given up after [`MAX_ATTEMPTS`].
    pub gave_up: AtomicU64,
    /// `robots.txt` disallows the page.
    pub robots_denied: AtomicU64,
    /// The page is no HTML, or holds no article.
    pub no_article: AtomicU64,
    /// The link, or a redirect, was refused (into the operator's network
    /// from a public source, `https` → `http`): given up at once.
    pub refused: AtomicU64,
    /// The task fetching it panicked: given up.
    pub panicked: AtomicU64,
}

impl Counters {
    /// `(outcome, count)` pairs, as `/metrics` labels them.
    pub fn outcomes(&self) -> Vec<(&'static str, u64)> {
        [
            ("stored", &self.stored),
            ("failed", &self.failed),
            ("gave_up", &self.gave_up),
            ("robots_denied", &self.robots_denied),
            ("no_article", &self.no_article),
            ("refused", &self.refused),
            ("panicked", &self.panicked),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.load(Ordering::Relaxed)))
        .collect()
    }
}

/// The article fetcher: its counters and `robots.txt` cache live as long
/// as the process.
#[derive(Default)]
pub struct Articles {
    pub counters: Counters,
    robots: robots::Robots,
    /// Fetches holding one of the [`MAX_CONCURRENT_ARTICLES`] slots now
    /// (robots.txt, page and extraction).
    in_flight: AtomicUsize,
}

/// Counts one fetch in flight for as long as it lives (also when its task
/// is cancelled at shutdown).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether the fetcher refused the link itself, or a redirect: into the
/// operator's network from a public source, or `https` → `http`. Another
/// try would be refused the same way (issue #26: such links were retried
/// for 14 h).
fn refused(e: &FetchError) -> bool {
    matches!(e, FetchError::Internal(_) | FetchError::RedirectRefused(..))
}

/// What became of one job.
enum Done {
    /// Stored: these topics' feeds changed.
    Stored(Vec<String>),
    /// Finished without an article (denied, not HTML, no article, gone).
    Dropped,
    /// Try again at this time.
    Retry(DateTime<Utc>),
}

impl Articles {
    /// Article fetches under way now (at most [`MAX_CONCURRENT_ARTICLES`]).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Origins whose `robots.txt` is cached (at most
    /// [`robots::MAX_ORIGINS`]).
    pub fn robots_origins(&self) -> usize {
        self.robots.origins()
    }

    /// Bytes the `robots.txt` cache holds (at most
    /// [`robots::MAX_CACHE_BYTES`]).
    pub fn robots_bytes(&self) -> usize {
        self.robots.bytes()
    }

    /// Fetches the articles due now, [`MAX_CONCURRENT_ARTICLES`] at a time,
    /// a round of at most 64; returns the topics whose feeds changed.
    pub async fn run_due(
        self: &Arc<Self>,
        store: &Store,
        fetcher: &Fetcher,
        defs: &Arc<Definitions>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let due = store.due_articles(Utc::now(), ROUND)?;
        let slots = Arc::new(Semaphore::new(MAX_CONCURRENT_ARTICLES));
        let mut tasks = tokio::task::JoinSet::new();
        let mut jobs = HashMap::new();
        for (id, job) in due {
            let (me, store, fetcher, defs, slots) = (
                self.clone(),
                store.clone(),
                fetcher.clone(),
                defs.clone(),
                slots.clone(),
            );
            let (task_id, task_job) = (id, job.clone());
            let task = tasks.spawn(async move {
                let _slot = slots.acquire().await.expect("semaphore never closed");
                let _counted = InFlight::enter(&me.in_flight);
                me.one(&store, &fetcher, &defs, &task_id, &task_job).await
            });
            jobs.insert(task.id(), (id, job));
        }
        self.settle(store, tasks, jobs).await
    }

    /// Waits for a round's `tasks` (each fetching the job `jobs` names by
    /// its task id) and records how each ended. A task that panicked is
    /// logged, counted and its job given up (a page that makes the
    /// extractor panic would do it again), and the others are awaited as
    /// usual: one bad page never stops article fetching.
    async fn settle(
        &self,
        store: &Store,
        mut tasks: tokio::task::JoinSet<Result<Done, StoreError>>,
        mut jobs: HashMap<tokio::task::Id, (EntryId, ArticleJob)>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut changed = BTreeSet::new();
        while let Some(joined) = tasks.join_next_with_id().await {
            let (task, done) = match joined {
                Ok(ended) => ended,
                Err(e) => {
                    // Cancelled (the runtime shutting down): still owed.
                    if let (true, Some((id, job))) = (e.is_panic(), jobs.remove(&e.id())) {
                        self.counters.panicked.fetch_add(1, Ordering::Relaxed);
                        let payload = e.into_panic();
                        let why = payload
                            .downcast_ref::<&str>()
                            .copied()
                            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                            .unwrap_or("(no message)");
                        tracing::error!(source = %job.source, link = %crate::urls::redact_urls(&job.link), "article fetch panicked, given up: {why}");
                        store.drop_article(&id)?;
                    }
                    continue;
                }
            };
            let Some((id, mut job)) = jobs.remove(&task) else {
                continue;
            };
            match done? {
                Done::Stored(topics) => {
                    store.drop_article(&id)?;
                    changed.extend(topics);
                }
                Done::Dropped => store.drop_article(&id)?,
                Done::Retry(at) => {
                    job.attempts += 1;
                    if job.attempts >= MAX_ATTEMPTS {
                        self.counters.gave_up.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(source = %job.source, link = %crate::urls::redact_urls(&job.link), "article given up after {MAX_ATTEMPTS} tries; the entry keeps its own text");
                        store.drop_article(&id)?;
                    } else {
                        job.due = at;
                        store.retry_article(&id, &job)?;
                    }
                }
            }
        }
        Ok(changed)
    }

    /// Runs rounds until nothing is due now (`poll --once`); returns the
    /// topics whose feeds changed.
    pub async fn run_until_idle(
        self: &Arc<Self>,
        store: &Store,
        fetcher: &Fetcher,
        defs: &Arc<Definitions>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut changed = BTreeSet::new();
        while !store.due_articles(Utc::now(), 1)?.is_empty() {
            changed.extend(self.run_due(store, fetcher, defs).await?);
        }
        Ok(changed)
    }

    /// Gives up a job whose link (or a redirect) the fetcher refused.
    fn refuse(&self, source: &Source, job: &ArticleJob, e: &FetchError) -> Done {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        tracing::info!(source = %source.id, link = %crate::urls::redact_urls(&job.link), "article refused, given up: {e}");
        Done::Dropped
    }

    async fn one(
        &self,
        store: &Store,
        fetcher: &Fetcher,
        defs: &Definitions,
        id: &EntryId,
        job: &ArticleJob,
    ) -> Result<Done, StoreError> {
        // A source since removed, or no longer asking: nothing to do.
        let Some(source) = defs.sources.iter().find(|s| s.id == job.source) else {
            return Ok(Done::Dropped);
        };
        let Some(policy) = &source.fulltext else {
            return Ok(Done::Dropped);
        };
        let Ok(url) = Url::parse(&job.link) else {
            return Ok(Done::Dropped);
        };
        // After a failure: when the host said it would be back (a 429 or
        // 503 with Retry-After blocks it in the fetcher), else with
        // back-off.
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let retry = || match fetcher.blocked_until(&host) {
            Some(until) => Done::Retry(until.max(Utc::now())),
            None => {
                let wait = RETRY_BASE.saturating_mul(4u32.saturating_pow(job.attempts));
                Done::Retry(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default())
            }
        };
        let log = |what: &str, e: &dyn std::fmt::Display| {
            tracing::debug!(source = %source.id, link = %crate::urls::redact_urls(&job.link), "article {what}: {e}");
        };
        if policy.robots {
            match self.robots.allowed(fetcher, source, &url).await {
                Ok(true) => {}
                Ok(false) => {
                    self.counters.robots_denied.fetch_add(1, Ordering::Relaxed);
                    log("not fetched", &"robots.txt disallows it");
                    return Ok(Done::Dropped);
                }
                Err(e) if refused(&e) => return Ok(self.refuse(source, job, &e)),
                Err(e) => {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    log("robots.txt unavailable", &e);
                    return Ok(retry());
                }
            }
        }
        let req = FetchRequest {
            timeout: source.timeout,
            max_body: source.max_body.min(MAX_ARTICLE_BODY),
            allow_http_redirect: source.allow_http_redirect,
            internal: source.internal,
            linked_from: Some(&source.url),
            ..FetchRequest::new(&url)
        };
        let (bytes, meta) = match fetcher.fetch(&req).await {
            Ok(Fetched::Body { bytes, meta }) => (bytes, meta),
            Ok(Fetched::NotModified(_)) => return Ok(retry()),
            // Refused outright (an internal address, a page too large):
            // another try would be refused the same way.
            Err(e) if refused(&e) => return Ok(self.refuse(source, job, &e)),
            Err(e @ FetchError::TooLarge { .. }) => {
                self.counters.no_article.fetch_add(1, Ordering::Relaxed);
                log("refused", &e);
                return Ok(Done::Dropped);
            }
            Err(e) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                log("fetch failed", &e);
                return Ok(retry());
            }
        };
        let page_url = meta.final_url.clone().unwrap_or(url);
        let content_type = meta.content_type.clone();
        let extracted = tokio::task::spawn_blocking(move || {
            article::extract(&bytes, content_type.as_deref(), &page_url)
        })
        .await
        .unwrap_or_else(|e| Err(article::NoArticle::Failed(e.to_string())));
        match extracted {
            Ok(html) => {
                match store.set_article(id, &html, |e| defs.rules.route(e, false, Utc::now()))? {
                    Some(topics) => {
                        self.counters.stored.fetch_add(1, Ordering::Relaxed);
                        Ok(Done::Stored(topics))
                    }
                    None => Ok(Done::Dropped),
                }
            }
            Err(why) => {
                self.counters.no_article.fetch_add(1, Ordering::Relaxed);
                log("not extracted", &why);
                Ok(Done::Dropped)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(link: &str) -> ArticleJob {
        ArticleJob {
            source: "s".into(),
            link: link.into(),
            due: Utc::now(),
            attempts: 0,
        }
    }

    /// Issue #26: a panic in one article task ended article fetching until
    /// restart (an `expect` on the join took the round, and the task
    /// running rounds, down with it).
    #[tokio::test]
    async fn a_panicking_task_is_counted_and_given_up_and_the_round_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let articles = Articles::default();
        let mut tasks = tokio::task::JoinSet::new();
        let mut jobs = HashMap::new();
        for (n, outcome) in ["panics", "dropped", "retried"].into_iter().enumerate() {
            let (id, job) = (EntryId([n as u8; 16]), job(&format!("https://e.org/{n}")));
            assert!(store.owe_article(&id, &job, MAX_OWED).unwrap());
            let task = tasks.spawn(async move {
                match outcome {
                    "panics" => panic!("an extractor bug"),
                    "dropped" => Ok(Done::Dropped),
                    _ => Ok(Done::Retry(Utc::now() + chrono::Duration::hours(1))),
                }
            });
            jobs.insert(task.id(), (id, job));
        }
        let changed = articles.settle(&store, tasks, jobs).await.unwrap();
        assert!(changed.is_empty());
        assert_eq!(articles.counters.panicked.load(Ordering::Relaxed), 1);
        // The panicking one and the finished one are no longer owed; the
        // other waits for its retry, its try counted.
        let owed = store
            .due_articles(Utc::now() + chrono::Duration::hours(2), 10)
            .unwrap();
        assert_eq!(owed.len(), 1);
        assert_eq!(owed[0].0, EntryId([2; 16]));
        assert_eq!(owed[0].1.attempts, 1);
        assert!(articles.counters.outcomes().contains(&("panicked", 1)));
    }
}
