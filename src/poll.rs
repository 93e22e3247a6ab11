//! The poller: the one place the pipeline stages are chained.
//!
//! fetch → extract → normalize → (store: merge + rules) → which topics
//! changed. A failing source is recorded in its state and logged; it never
//! stops other sources and never touches stored entries.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use crate::config::{Definitions, Source, SourceKind};
use crate::extract::huggingface::{HfSpec, API_PAGE_SIZE};
use crate::extract::{self, ExtractError};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::model::RawEntry;
use crate::normalize::{merge, normalize};
use crate::rules::RuleSet;
use crate::store::{PollCounts, SourceError, SourceState, Store, StoreError};

/// Sources fetched at once in one cycle.
pub const MAX_CONCURRENT_POLLS: usize = 8;

/// How one poll of one source went.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A body was fetched and extracted.
    Fetched,
    /// 304 Not Modified: nothing to do.
    NotModified,
    Failed(SourceError),
}

/// The result of polling one source.
#[derive(Debug, Clone)]
pub struct SourceReport {
    pub source: String,
    pub url: String,
    pub outcome: Outcome,
    pub counts: PollCounts,
    /// Topics whose feeds must be re-rendered.
    pub changed_topics: BTreeSet<String>,
    pub duration: Duration,
}

impl SourceReport {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// One line for `poll --once`.
    pub fn line(&self) -> String {
        let c = &self.counts;
        match &self.outcome {
            Outcome::Fetched => format!(
                "{}: fetched {} items: {} new, {} updated, {} unchanged ({} ms)",
                self.source,
                c.fetched,
                c.new,
                c.updated,
                c.unchanged,
                self.duration.as_millis()
            ),
            Outcome::NotModified => format!(
                "{}: unchanged upstream (304 Not Modified) ({} ms)",
                self.source,
                self.duration.as_millis()
            ),
            Outcome::Failed(e) => format!("{}: error: {} ({})", self.source, e.message, e.kind),
        }
    }
}

/// A failure of one poll, before it is recorded.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error("fetch: {0}")]
    Fetch(#[from] FetchError),
    #[error("extract: {0}")]
    Extract(#[from] ExtractError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("extraction task failed: {0}")]
    Task(String),
}

impl PollError {
    fn kind(&self) -> &'static str {
        match self {
            PollError::Fetch(e) => e.kind(),
            PollError::Extract(ExtractError::NotAFeed(_)) => "not_a_feed",
            PollError::Extract(ExtractError::Malformed { .. }) => "malformed",
            PollError::Store(_) => "store",
            PollError::Task(_) => "internal",
        }
    }
}

/// Everything a poll needs, shared by the scheduler and `poll --once`.
#[derive(Clone)]
pub struct Poller {
    pub store: Store,
    pub fetcher: Fetcher,
}

impl Poller {
    /// Polls every source once, a few at a time, then flushes the store.
    pub async fn poll_all(&self, defs: &Arc<Definitions>) -> Result<Vec<SourceReport>, StoreError> {
        let limit = Arc::new(Semaphore::new(MAX_CONCURRENT_POLLS));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, _) in defs.sources.iter().enumerate() {
            let (poller, defs, limit) = (self.clone(), defs.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire().await.expect("semaphore never closed");
                (i, poller.poll_source(&defs.sources[i], &defs.rules).await)
            });
        }
        let mut reports: Vec<(usize, SourceReport)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            reports.push(joined.expect("a poll task panicked"));
        }
        reports.sort_by_key(|(i, _)| *i);
        self.store.flush()?;
        Ok(reports.into_iter().map(|(_, r)| r).collect())
    }

    /// Polls one source and records the outcome in its state.
    pub async fn poll_source(&self, source: &Source, rules: &RuleSet) -> SourceReport {
        let started = Instant::now();
        let now = Utc::now();
        let mut state = match self.store.source_state(&source.id) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(source = %source.id, "cannot read source state: {e}");
                SourceState::default()
            }
        };
        state.last_attempt = Some(now);
        let result = self.fetch_and_ingest(source, rules, &mut state, now).await;
        let mut report = SourceReport {
            source: source.id.clone(),
            url: source.url.to_string(),
            outcome: Outcome::Fetched,
            counts: PollCounts::default(),
            changed_topics: BTreeSet::new(),
            duration: started.elapsed(),
        };
        match result {
            Ok(Some((counts, topics))) => {
                report.counts = counts;
                report.changed_topics = topics;
                state.last_counts = counts;
                state.entries_added += counts.new;
                self.record_success(source, &mut state, now);
            }
            Ok(None) => {
                report.outcome = Outcome::NotModified;
                state.last_counts = PollCounts::default();
                self.record_success(source, &mut state, now);
            }
            Err(e) => {
                let err = SourceError {
                    kind: e.kind().into(),
                    status: match &e {
                        PollError::Fetch(f) => f.status(),
                        _ => None,
                    },
                    message: e.to_string(),
                    at: now,
                };
                // Log once per change of state, not once per poll: a source
                // that stays down for a day must not flood the log.
                let same = state
                    .last_error
                    .as_ref()
                    .is_some_and(|p| p.kind == err.kind && p.message == err.message);
                if same {
                    tracing::debug!(source = %source.id, url = %source.url, "still failing: {}", err.message);
                } else {
                    tracing::warn!(source = %source.id, url = %source.url, kind = %err.kind, "poll failed: {}", err.message);
                }
                state.consecutive_failures += 1;
                state.last_error = Some(err.clone());
                report.outcome = Outcome::Failed(err);
            }
        }
        if let Err(e) = self.store.put_source_state(&source.id, &state) {
            tracing::error!(source = %source.id, "cannot record source state: {e}");
        }
        report.duration = started.elapsed();
        report
    }

    fn record_success(&self, source: &Source, state: &mut SourceState, now: DateTime<Utc>) {
        if state.last_error.is_some() {
            tracing::info!(source = %source.id, "recovered after {} failed polls", state.consecutive_failures);
        }
        state.last_success = Some(now);
        state.last_error = None;
        state.consecutive_failures = 0;
    }

    /// `Ok(None)` when the upstream answered 304.
    async fn fetch_and_ingest(
        &self,
        source: &Source,
        rules: &RuleSet,
        state: &mut SourceState,
        now: DateTime<Utc>,
    ) -> Result<Option<(PollCounts, BTreeSet<String>)>, PollError> {
        let (raw, page_url) = match &source.kind {
            SourceKind::HuggingFace(spec) => (
                self.fetch_hf_pages(source, spec, now).await?,
                spec.base.clone(),
            ),
            _ => {
                // Validators stored under an older definition are not sent:
                // new selectors must see a full body.
                let validators =
                    (state.validators_for == source.fingerprint).then_some(&state.validators);
                let (bytes, final_url, new_validators) =
                    match self.fetcher.fetch(&source.url, validators, None).await? {
                        Fetched::NotModified => return Ok(None),
                        Fetched::Body {
                            bytes,
                            final_url,
                            validators,
                            ..
                        } => (bytes, final_url, validators),
                    };
                let kind = source.kind.clone();
                let raw = blocking(move || Ok(extract::extract(&kind, &bytes, now)?)).await?;
                state.validators = new_validators;
                state.validators_for = source.fingerprint.clone();
                (raw, final_url)
            }
        };
        let (store, source_c, rules_c) = (self.store.clone(), source.clone(), rules.clone());
        let result =
            blocking(move || ingest(&store, &source_c, &rules_c, raw, &page_url, now)).await?;
        Ok(Some(result))
    }

    /// A Hugging Face listing, page by page (API mode) until a page is
    /// empty, short, or repeats the previous ones, or `max_pages` is reached.
    /// Every request counts against the host's budget.
    async fn fetch_hf_pages(
        &self,
        source: &Source,
        spec: &HfSpec,
        now: DateTime<Utc>,
    ) -> Result<Vec<RawEntry>, PollError> {
        let budget = spec.budget();
        let pages = if spec.paged() { spec.max_pages } else { 1 };
        let mut all: Vec<RawEntry> = Vec::new();
        let mut seen = HashSet::new();
        for page in 0..pages {
            let url = spec.request(page, now);
            let bytes = match self.fetcher.fetch(&url, None, Some(&budget)).await? {
                Fetched::Body { bytes, .. } => bytes,
                Fetched::NotModified => break,
            };
            let kind = source.kind.clone();
            let items = blocking(move || Ok(extract::extract(&kind, &bytes, now)?)).await?;
            let listed = items.len();
            let before = all.len();
            for item in items {
                if seen.insert(item.link.clone()) {
                    all.push(item);
                }
            }
            if all.len() == before || listed < API_PAGE_SIZE as usize {
                break;
            }
        }
        Ok(all)
    }
}

/// Runs CPU and disk work (parsing, the store) off the async workers that
/// serve requests.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PollError> + Send + 'static,
) -> Result<T, PollError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PollError::Task(e.to_string()))?
}

/// Normalizes, merges, tags and stores a batch of extracted items.
fn ingest(
    store: &Store,
    source: &Source,
    rules: &RuleSet,
    raw: Vec<RawEntry>,
    page_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<(PollCounts, BTreeSet<String>), PollError> {
    let mut counts = PollCounts {
        fetched: raw.len() as u64,
        ..Default::default()
    };
    let mut changed_topics = BTreeSet::new();
    let mut seen = HashSet::new();
    for item in raw {
        let fresh = match normalize(item, &source.id, page_url, now) {
            Ok(e) => e,
            Err(_) => {
                counts.skipped += 1;
                continue;
            }
        };
        // The same item listed twice in one response counts once.
        if !seen.insert(fresh.id) {
            counts.unchanged += 1;
            continue;
        }
        let id = fresh.id;
        let up = store.upsert(&id, |old| {
            let mut e = match &old {
                Some(o) => merge(o, fresh.clone(), &source.id, now),
                None => fresh.clone(),
            };
            rules.route(&mut e, old.is_none(), now);
            e
        })?;
        match &up.old {
            None => counts.new += 1,
            Some(o) if *o != up.new => counts.updated += 1,
            Some(_) => counts.unchanged += 1,
        }
        if up.old.as_ref() != Some(&up.new) {
            changed_topics.extend(up.new.topics.keys().cloned());
        }
    }
    Ok((counts, changed_topics))
}
