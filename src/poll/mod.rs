//! The poller: the one place the pipeline stages are chained.
//!
//! fetch → extract → normalize → (store: merge + rules) → which topics
//! changed. A failing source is recorded in its state and logged once per
//! change of state; it never stops other sources, never touches stored
//! entries and never publishes anything. A source read only with repairs
//! (see [`crate::repairs`]) is *recovered*: the repairs are kept in its
//! state ([`MAX_REPAIRS_KEPT`] of them with their text) and logged once per
//! change, as a degraded one's.
//!
//! Scheduling (see [`next_poll`]): after a success the next poll is one
//! interval away (±10% jitter), or later when the upstream says its answer
//! stays fresh longer (`Cache-Control: max-age`, `Expires`, RSS `<ttl>`, up
//! to a day); after a failure it backs off exponentially from the interval
//! to [`MAX_FAILURE_BACKOFF`], and never before a host's `Retry-After`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use url::Url;

mod admission;
mod pages;

use crate::config::{Definitions, Source};
use crate::extract::{self, ExtractError, Extracted};
use crate::fetch::{FetchError, Fetcher, Meta};
use crate::model::RawEntry;
use crate::normalize::{merge, normalize};
use crate::repairs::Repairs;
use crate::store::{PollCounts, SourceError, SourceRepairs, SourceState, Store, StoreError};
pub use admission::{Admission, Admitted, MAX_CONCURRENT_POLLS, POLLS_PER_HOST};
use pages::Listing;

/// The longest pause after repeated failures: a source is never given up.
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// The longest an upstream's freshness claim can delay a poll.
pub const MAX_FRESHNESS_FLOOR: Duration = Duration::from_secs(24 * 3600);
/// A listing that drops from at least this many items to none is flagged
/// as a probable extraction breakage rather than taken as news.
pub const BREAKAGE_MIN_ITEMS: u64 = 5;
/// Longest error message kept for a source (stored, on `/status`, logged).
pub const MAX_ERROR_CHARS: usize = 500;
/// Repairs a source keeps between polls, for `/status` and the index:
/// the first few tell the operator what to ask the upstream to fix, the
/// count how much there is (`inspect` lists them all).
pub const MAX_REPAIRS_KEPT: usize = 5;
/// Longest text of one kept repair (it may quote upstream bytes).
pub const MAX_REPAIR_CHARS: usize = 200;
/// Items ingested from one listing, all its pages together: the first this
/// many are kept (a Hugging Face month is 1,000 papers over ten pages).
/// Held where items are built: each extractor stops there, and so does
/// the paging (see [`crate::extract::cap`]).
pub const MAX_ITEMS_PER_FETCH: usize = crate::extract::cap::MAX_ITEMS;

/// Items normalized and stored per store transaction while ingesting: one
/// commit per batch instead of per item, and only a batch held at a time.
pub const INGEST_BATCH: usize = 64;

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
    /// The HTTP status of the (last) response, when there was one.
    pub http_status: Option<u16>,
    pub counts: PollCounts,
    /// Topics whose feeds must be re-rendered.
    pub changed_topics: BTreeSet<String>,
    /// The source turned healthy or failing, or fails differently now: the
    /// index, which shows source health, must be re-rendered.
    pub health_changed: bool,
    pub duration: Duration,
    pub next_poll: DateTime<Utc>,
}

impl SourceReport {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// One line for logs and for `poll --once` without a terminal.
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

/// What [`Poller::poll_all`] tells its caller as it goes (`poll --once`
/// shows it as a progress bar or as lines).
pub trait Progress: Send + Sync {
    /// A source's poll begins (it holds one of the concurrent slots).
    fn started(&self, _source: &str) {}
    /// A source's poll ended; `done` of `total` have.
    fn finished(&self, report: &SourceReport, done: usize, total: usize);
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
    #[error(
        "extract: found no items where the last good poll listed {0}; the page or feed layout probably changed (check the selectors); nothing was deleted"
    )]
    EmptyListing(u64),
}

impl PollError {
    fn kind(&self) -> &'static str {
        match self {
            PollError::Fetch(e) => e.kind(),
            PollError::Extract(e) if e.is_html_page() => "html_page",
            PollError::Extract(ExtractError::NotAFeed(_)) => "not_a_feed",
            PollError::Extract(ExtractError::Malformed { .. }) => "malformed",
            PollError::Extract(ExtractError::TooDeep(_)) => "too_deep",
            PollError::Store(_) => "store",
            PollError::Task(_) => "internal",
            PollError::EmptyListing(_) => "empty_listing",
        }
    }

    /// Where in the document reading failed, when the error says.
    fn location(&self) -> Option<crate::repairs::Location> {
        match self {
            PollError::Extract(e) => e.location(),
            _ => None,
        }
    }
}

/// A failed poll: what went wrong, and the HTTP status of the response it
/// went wrong with (say, a 200 whose body was no feed), when there was one.
#[derive(Debug)]
struct PollFailure {
    error: PollError,
    status: Option<u16>,
}

impl From<PollError> for PollFailure {
    fn from(error: PollError) -> PollFailure {
        let status = match &error {
            PollError::Fetch(f) => f.status(),
            _ => None,
        };
        PollFailure { error, status }
    }
}

impl From<FetchError> for PollFailure {
    fn from(e: FetchError) -> PollFailure {
        PollError::from(e).into()
    }
}

impl PollError {
    /// This error, found in a response with `status`.
    fn with_status(self, status: u16) -> PollFailure {
        PollFailure {
            error: self,
            status: Some(status),
        }
    }
}

/// What a successful poll saw.
enum Polled {
    Ingested(Ingested),
    /// 304, with the upstream's freshness claim.
    NotModified {
        floor: Option<Duration>,
    },
}

/// What a successful fetch-and-ingest saw.
struct Ingested {
    counts: PollCounts,
    topics: BTreeSet<String>,
    status: u16,
    /// Upstream freshness (headers or `<ttl>`): a floor on the next poll.
    floor: Option<Duration>,
    /// What the index shows of the source changed: it turned degraded or
    /// back, or its repairs changed (it turned recovered or back, or the
    /// count or first repair it shows).
    shown_changed: bool,
}

/// The host a source is polled from, as the fetcher's per-host rules name
/// it.
pub fn host_of(source: &Source) -> String {
    source
        .url
        .host_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Everything a poll needs, shared by the scheduler and `poll --once`.
#[derive(Clone)]
pub struct Poller {
    pub store: Store,
    pub fetcher: Fetcher,
}

impl Poller {
    /// Polls every source once, a few at a time (hosts' own rules apply on
    /// top), then flushes the store. `progress` is told of each finished
    /// source.
    pub async fn poll_all(
        &self,
        defs: &Arc<Definitions>,
        progress: Arc<dyn Progress>,
    ) -> Result<Vec<SourceReport>, StoreError> {
        // One task per upstream host, asking for its sources' polls in
        // turn (see `Admission`, which `serve` uses too).
        let admission = Arc::new(Admission::new(&defs.sources));
        let mut by_host: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, source) in defs.sources.iter().enumerate() {
            by_host.entry(host_of(source)).or_default().push(i);
        }
        let total = defs.sources.len();
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = tokio::task::JoinSet::new();
        for sources in by_host.into_values() {
            let (poller, defs, admission) = (self.clone(), defs.clone(), admission.clone());
            let (progress, done) = (progress.clone(), done.clone());
            tasks.spawn(async move {
                let mut polls = tokio::task::JoinSet::new();
                for i in sources {
                    let admitted = admission.enter(&defs.sources[i], &poller.fetcher).await;
                    let (poller, defs, progress, done) =
                        (poller.clone(), defs.clone(), progress.clone(), done.clone());
                    polls.spawn(async move {
                        progress.started(&defs.sources[i].id);
                        let report = poller.poll_source(&defs.sources[i], &defs).await;
                        drop(admitted);
                        // The receiver lives until every report is in.
                        let _ = done.send((i, report));
                    });
                }
                while let Some(joined) = polls.join_next().await {
                    joined.expect("a poll task panicked");
                }
            });
        }
        drop(done);
        let mut reports: Vec<(usize, SourceReport)> = Vec::with_capacity(total);
        while let Some((i, report)) = finished.recv().await {
            reports.push((i, report));
            progress.finished(
                &reports.last().expect("just pushed").1,
                reports.len(),
                total,
            );
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("a poll task panicked");
        }
        reports.sort_by_key(|(i, _)| *i);
        self.prune(defs)?;
        self.store.flush()?;
        Ok(reports.into_iter().map(|(_, r)| r).collect())
    }

    /// Applies the retention policy; returns the topics that lost entries.
    pub fn prune(&self, defs: &Definitions) -> Result<BTreeSet<String>, StoreError> {
        let r = &defs.retention;
        let pruned = self.store.prune(r.max_age, r.max_entries, Utc::now())?;
        if pruned.removed > 0 {
            tracing::info!(
                "retention: pruned {} entries, dropped the {} oldest tombstones",
                pruned.removed,
                pruned.tombstones_dropped
            );
        }
        Ok(pruned.topics)
    }

    /// Polls one source and records the outcome in its state.
    pub async fn poll_source(&self, source: &Source, defs: &Arc<Definitions>) -> SourceReport {
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
        let result = self.fetch_and_ingest(source, defs, &mut state, now).await;
        let mut report = SourceReport {
            source: source.id.clone(),
            url: source.url.to_string(),
            outcome: Outcome::Fetched,
            http_status: None,
            counts: PollCounts::default(),
            changed_topics: BTreeSet::new(),
            health_changed: false,
            duration: Duration::ZERO,
            next_poll: now,
        };
        let mut floor = None;
        match result {
            Ok(Polled::Ingested(done)) => {
                report.counts = done.counts;
                report.changed_topics = done.topics;
                report.http_status = Some(done.status);
                floor = done.floor;
                state.last_counts = done.counts;
                state.entries_added += done.counts.new;
                if done.counts.fetched > 0 {
                    state.last_listed = done.counts.fetched;
                }
                report.health_changed =
                    record_success(source, &mut state, now) || done.shown_changed;
            }
            Ok(Polled::NotModified { floor: f }) => {
                floor = f;
                report.outcome = Outcome::NotModified;
                report.http_status = Some(304);
                state.last_counts = PollCounts::default();
                report.health_changed = record_success(source, &mut state, now);
            }
            Err(PollFailure { error: e, status }) => {
                report.http_status = status;
                // Upstream bytes can be quoted: one printable line, bounded.
                let detail = crate::text::one_line(&e.to_string(), MAX_ERROR_CHARS);
                // SECURITY: the stored message is shown on `/status`; the
                // URLs in it lose their query and userinfo (the log below
                // keeps the detail).
                let err = SourceError {
                    kind: e.kind().into(),
                    status: report.http_status,
                    message: crate::urls::redact_urls(&detail),
                    at: now,
                    place: e.location(),
                };
                // Log once per change of state, not once per poll: a source
                // that stays down for a day must not flood the log.
                let same = state
                    .last_error
                    .as_ref()
                    .is_some_and(|p| p.kind == err.kind && p.message == err.message);
                if same {
                    tracing::debug!(source = %source.id, url = %source.url, "still failing: {detail}");
                } else {
                    tracing::warn!(source = %source.id, url = %source.url, kind = %err.kind, status = ?err.status, "poll failed: {detail}");
                }
                if !same || state.health_since.is_none() {
                    state.health_since = Some(now);
                    report.health_changed = true;
                }
                state.consecutive_failures += 1;
                state.last_error = Some(err.clone());
                report.outcome = Outcome::Failed(err);
            }
        }
        state.last_status = report.http_status;
        let host = source
            .url
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let blocked = self.fetcher.blocked_until(&host);
        if let Some(until) = blocked {
            // Kept across restarts and `poll --once` runs.
            if let Err(e) = self.store.put_host_block(&host, until) {
                tracing::error!(%host, "cannot record the host's back-off: {e}");
            }
        }
        let next = next_poll(
            source.interval,
            state.consecutive_failures,
            floor,
            blocked,
            now,
            &source.id,
        );
        state.next_poll = Some(next);
        report.next_poll = next;
        if let Err(e) = self.store.put_source_state(&source.id, &state) {
            tracing::error!(source = %source.id, "cannot record source state: {e}");
        }
        report.duration = started.elapsed();
        report
    }

    /// A failure carries the HTTP status of a response that was received
    /// but unusable.
    async fn fetch_and_ingest(
        &self,
        source: &Source,
        defs: &Arc<Definitions>,
        state: &mut SourceState,
        now: DateTime<Utc>,
    ) -> Result<Polled, PollFailure> {
        let pages = pages::of(source, now);
        // `fulltext` just switched on: the entries already stored are owed
        // their articles too, so the listing is fetched whole once.
        let backfill = source.fulltext.is_some() && !state.articles_backfilled;
        // Validators stored under another key (an older definition, another
        // day's listing) are not sent: new selectors must see a full body.
        let validators =
            (state.validators_for == pages.key && !backfill).then_some(&state.validators);
        let key = pages.key.clone();
        let (raw, page_url, meta, ttl, keep, degraded, repairs) =
            match self.fetch_pages(source, pages, validators, now).await? {
                Listing::Unchanged(meta) => {
                    note_move(source, state, &meta);
                    state.articles_backfilled &= source.fulltext.is_some();
                    return Ok(Polled::NotModified {
                        floor: meta.fresh_for,
                    });
                }
                Listing::Fetched(got) => {
                    let pages::FetchedPages {
                        entries,
                        meta,
                        first_page,
                        page_url,
                        ttl,
                        degraded,
                        repairs,
                    } = *got;
                    (
                        entries,
                        page_url,
                        meta,
                        ttl,
                        (first_page, key),
                        degraded,
                        repairs,
                    )
                }
            };
        note_move(source, state, &meta);
        if raw.is_empty() && state.last_listed >= BREAKAGE_MIN_ITEMS {
            return Err(PollError::EmptyListing(state.last_listed).with_status(meta.status));
        }
        let (store, source_c, defs_c) = (self.store.clone(), source.clone(), defs.clone());
        let (counts, topics) =
            blocking(move || ingest(&store, &source_c, &defs_c, raw, &page_url, backfill, now))
                .await
                .map_err(|e| e.with_status(meta.status))?;
        state.articles_backfilled = source.fulltext.is_some();
        // Kept only once the body is stored: a poll that failed to ingest
        // must fetch the whole body again.
        (state.validators, state.validators_for) = keep;
        let degraded_changed = state.degraded != degraded;
        if degraded_changed {
            match &degraded {
                Some(what) => {
                    tracing::warn!(source = %source.id, url = %source.url, "degraded: {what}; the upstream page probably changed")
                }
                None => tracing::info!(source = %source.id, "no longer degraded"),
            }
            state.degraded = degraded;
        }
        let repairs = kept_repairs(&repairs);
        // The index shows the count and the first repair.
        let repairs_changed = state.repairs.count != repairs.count
            || state.repairs.first.first() != repairs.first.first();
        match (state.repairs.any(), repairs.any()) {
            (false, true) => {
                tracing::warn!(source = %source.id, url = %source.url, "recovered: read with {} repair(s), the first {}; the upstream feed needed repairs to be read (inspect lists them)", repairs.count, repairs.first.first().map_or("not kept", String::as_str))
            }
            (true, false) => {
                tracing::info!(source = %source.id, "no longer needs repairs")
            }
            _ => {}
        }
        state.repairs = repairs;
        Ok(Polled::Ingested(Ingested {
            counts,
            topics,
            status: meta.status,
            floor: meta.fresh_for.max(ttl),
            shown_changed: degraded_changed || repairs_changed,
        }))
    }
}

/// What a source keeps of a poll's repairs (see [`MAX_REPAIRS_KEPT`]).
///
/// SECURITY: a repair may quote upstream bytes, and `/status` and the index
/// show it: one printable line, bounded, its URLs without query or
/// userinfo, as an error message is kept.
fn kept_repairs(repairs: &Repairs) -> SourceRepairs {
    SourceRepairs {
        count: repairs.count as u64,
        first: repairs
            .first
            .iter()
            .take(MAX_REPAIRS_KEPT)
            // Redacted before cut: a URL cut short, or run into the next
            // word by an escaped line break, would take the text after it
            // along as its query.
            .map(|r| {
                crate::text::one_line(&crate::urls::redact_urls(&r.to_string()), MAX_REPAIR_CHARS)
            })
            .collect(),
    }
}

/// Records a successful poll; returns whether the source's health changed
/// (it was failing, or had never been polled).
fn record_success(source: &Source, state: &mut SourceState, now: DateTime<Utc>) -> bool {
    if state.last_error.is_some() {
        tracing::info!(source = %source.id, "recovered after {} failed polls", state.consecutive_failures);
    }
    let changed = state.last_error.is_some() || state.health_since.is_none();
    if changed {
        state.health_since = Some(now);
    }
    state.last_success = Some(now);
    state.last_error = None;
    state.consecutive_failures = 0;
    changed
}

/// Logs a permanent redirect once per change, so the admin can update the
/// source URL.
fn note_move(source: &Source, state: &mut SourceState, meta: &Meta) {
    let moved = meta.moved_to.as_ref().map(Url::to_string);
    if moved != state.moved_to {
        if let Some(to) = &moved {
            tracing::warn!(source = %source.id, url = %source.url, "permanently redirected to {to}; update the source's `url` in {}", source.file.display());
        }
        state.moved_to = moved;
    }
}

/// When a source is due next: see the module doc. `salt` varies the jitter
/// between sources so they never synchronise.
pub fn next_poll(
    interval: Duration,
    failures: u32,
    floor: Option<Duration>,
    blocked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    salt: &str,
) -> DateTime<Utc> {
    let base = if failures == 0 {
        interval.max(floor.unwrap_or_default().min(MAX_FRESHNESS_FLOOR))
    } else {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        interval.saturating_mul(factor).min(MAX_FAILURE_BACKOFF)
    };
    let at = now + chrono::Duration::from_std(jittered(base, salt)).unwrap_or_default();
    match blocked_until {
        Some(b) if b > at => b,
        _ => at,
    }
}

/// `d` ± 10%, from a cheap varying seed (no need for a RNG crate: this only
/// has to differ between sources and polls).
pub fn jittered(d: Duration, salt: &str) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let seed = salt
        .bytes()
        .fold(nanos, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let span = d.as_millis() as u64 / 5; // 20% wide
    let offset = if span == 0 { 0 } else { seed % span };
    d.saturating_sub(Duration::from_millis(span / 2)) + Duration::from_millis(offset)
}

/// Bodies extracted at once, across every source polled at once.
///
/// SECURITY: what one body may cost while parsed is bounded (items,
/// elements, values), but 16 sources are polled at once, and one upstream
/// behind many sources multiplied that bound by 16 (four near-bound
/// bodies took 2.8 GB). Parsing is CPU work on two cores: two at a time
/// lose nothing.
pub const MAX_EXTRACTIONS: usize = 2;
static EXTRACTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_EXTRACTIONS);

/// Extracts a fetched body on a blocking thread (parsing is CPU work), at
/// most [`MAX_EXTRACTIONS`] at once.
async fn extract_blocking(
    source: &Source,
    bytes: Vec<u8>,
    meta: &Meta,
    now: DateTime<Utc>,
) -> Result<Extracted, PollError> {
    let (kind, content_type) = (source.kind.clone(), meta.content_type.clone());
    let turn = EXTRACTING.acquire().await.expect("never closed");
    blocking(move || {
        // Held by the parse itself, however the poll ends.
        let _turn = turn;
        Ok(extract::extract(
            &kind,
            &bytes,
            content_type.as_deref(),
            now,
        )?)
    })
    .await
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

/// Normalizes, merges, tags and stores a batch of extracted items. With
/// `backfill`, every listed entry that wants its article is owed it, not
/// only the new ones (`fulltext` was just switched on).
fn ingest(
    store: &Store,
    source: &Source,
    defs: &Definitions,
    mut raw: Vec<RawEntry>,
    page_url: &Url,
    backfill: bool,
    now: DateTime<Utc>,
) -> Result<(PollCounts, BTreeSet<String>), PollError> {
    // Held by the extractors and the paging already; kept as the last word.
    raw.truncate(MAX_ITEMS_PER_FETCH);
    let mut counts = PollCounts {
        fetched: raw.len() as u64,
        ..Default::default()
    };
    let mut changed_topics = BTreeSet::new();
    let mut seen = HashSet::new();
    // Article fetches this poll owes, across its batches.
    let mut articles_owed = 0;
    let mut items = raw.into_iter();
    loop {
        // A batch at a time: normalized, then stored in one transaction.
        let mut batch = Vec::with_capacity(INGEST_BATCH);
        for item in items.by_ref() {
            let fresh = match normalize(item, &source.id, page_url, now) {
                Ok(e) => e,
                Err(_) => {
                    counts.skipped += 1;
                    continue;
                }
            };
            // Pruned by retention: never comes back.
            if store.is_tombstoned(&fresh.id)? {
                counts.skipped += 1;
                continue;
            }
            // The same item listed twice in one response counts once.
            if !seen.insert(fresh.id) {
                counts.unchanged += 1;
                continue;
            }
            batch.push(fresh);
            if batch.len() == INGEST_BATCH {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        let stored = store.upsert_many(&batch, |fresh, old| {
            let mut e = match &old {
                Some(o) => merge(o, fresh.clone(), &source.id, &|s| defs.priority(s), now),
                None => fresh.clone(),
            };
            defs.rules.route(&mut e, old.is_none(), now);
            e
        })?;
        let owing: Vec<&crate::model::Entry> = stored
            .iter()
            .filter(|up| backfill || up.old.is_none())
            .map(|up| &up.new)
            .collect();
        crate::fulltext::owe(store, source, &owing, &mut articles_owed, now)?;
        for up in stored {
            match &up.old {
                None => counts.new += 1,
                Some(o) if *o != up.new => counts.updated += 1,
                Some(_) => counts.unchanged += 1,
            }
            if up.old.as_ref() != Some(&up.new) {
                changed_topics.extend(up.new.topics.keys().cloned());
            }
        }
    }
    Ok((counts, changed_topics))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        (to - from).num_minutes()
    }

    #[test]
    fn repairs_kept_few_bounded_and_redacted() {
        let mut r = Repairs::default();
        for i in 0..8 {
            r.push(
                Some(crate::repairs::Location {
                    line: i + 1,
                    column: 2,
                }),
                format!(
                    "unescaped '&' read as '&amp;' in http://u:pw@h.example/p?token=SECRET{i}\n{}",
                    "x".repeat(500)
                ),
            );
        }
        let kept = kept_repairs(&r);
        assert_eq!(kept.count, 8);
        assert_eq!(kept.first.len(), MAX_REPAIRS_KEPT);
        for line in &kept.first {
            assert!(line.chars().count() <= MAX_REPAIR_CHARS + 1, "{line}");
            assert!(!line.contains("SECRET") && !line.contains('\n'), "{line}");
        }
        assert!(
            kept.first[0].starts_with(
                "line 1, col 2: unescaped '&' read as '&amp;' in http://h.example/p\\u{a}xx"
            ),
            "{}",
            kept.first[0]
        );
        assert!(!kept_repairs(&Repairs::default()).any());
        // A state stored before repairs were kept still loads.
        let old: SourceState =
            serde_json::from_str(r#"{"consecutive_failures":2,"degraded":null}"#).unwrap();
        assert_eq!(old.consecutive_failures, 2);
        assert_eq!(old.repairs, SourceRepairs::default());
    }

    #[test]
    fn scheduling() {
        let now = at("2026-11-27T12:00:00Z");
        let hour = Duration::from_secs(3600);
        // Success: the interval, ±10%.
        let m = minutes(now, next_poll(hour, 0, None, None, now, "a"));
        assert!((54..=66).contains(&m), "{m}");
        // The upstream says fresh for 3 h: not before that.
        let m = minutes(now, next_poll(hour, 0, Some(3 * hour), None, now, "a"));
        assert!((162..=198).contains(&m), "{m}");
        // ... but a claim of a year is capped at a day.
        let m = minutes(
            now,
            next_poll(hour, 0, Some(365 * 24 * hour), None, now, "a"),
        );
        assert!(m <= 24 * 66, "{m}");
        // Failures back off exponentially, capped at 6 h.
        let m3 = minutes(now, next_poll(hour, 3, None, None, now, "a"));
        assert!((216..=264).contains(&m3), "{m3}");
        let m20 = minutes(now, next_poll(hour, 20, None, None, now, "a"));
        assert!((324..=396).contains(&m20), "{m20}");
        // Retry-After wins when later.
        let until = at("2026-11-28T00:00:00Z");
        assert_eq!(next_poll(hour, 1, None, Some(until), now, "a"), until);
    }
}
