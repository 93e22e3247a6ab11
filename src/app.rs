//! The commands: `serve`, `poll --once`, `check`. Each loads what it needs,
//! runs, and returns plain results; `main` prints them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{self, ConfigError, Definitions};
use crate::fetch::{FetchError, Fetcher};
use crate::metrics::{Metrics, PollOutcome, Snapshot};
use crate::poll::{Outcome, Poller, SourceReport, MAX_CONCURRENT_POLLS};
use crate::render::{Doc, FeedCache, Format};
use crate::store::{Store, StoreError};
use tokio::sync::Semaphore;

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_FEEDS_DIR: &str = "./feeds";

/// The library's top-level error: which part failed, with its own message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0} (is another feedloom process using the data folder?)")]
    Store(#[from] StoreError),
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Settings shared by the commands, from flags and environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data: PathBuf,
    pub feeds: PathBuf,
}

/// How `serve` listens and builds public links.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// The public base URL; default `http://BIND/`.
    pub base_url: Option<Url>,
    /// Honour `Forwarded` / `X-Forwarded-*` from a reverse proxy.
    pub trust_proxy: bool,
    pub max_connections: usize,
}

impl ServeOptions {
    pub fn new(bind: SocketAddr) -> ServeOptions {
        ServeOptions {
            bind,
            base_url: None,
            trust_proxy: false,
            max_connections: crate::server::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Everything a running server shares between the poller and requests.
pub struct App {
    pub defs: Arc<Definitions>,
    pub poller: Poller,
    pub feeds: FeedCache,
    pub options: ServeOptions,
    pub metrics: Metrics,
    /// Set once every source has been polled once since start.
    pub ready: AtomicBool,
    /// When each source is polled next.
    pub next_polls: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl App {
    /// Records a poll and re-renders the topics it changed.
    pub fn apply(&self, report: &SourceReport) {
        let outcome = match report.outcome {
            Outcome::Fetched => PollOutcome::Fetched,
            Outcome::NotModified => PollOutcome::NotModified,
            Outcome::Failed(_) => PollOutcome::Error,
        };
        self.metrics
            .record_poll(&report.source, outcome, report.duration.as_secs_f64());
        if report.changed_topics.is_empty() {
            return;
        }
        let topics = report.changed_topics.iter().map(String::as_str);
        if let Err(e) = self.feeds.refresh(&self.poller.store, &self.defs, topics) {
            tracing::error!("cannot render topics after polling {}: {e}", report.source);
        }
    }

    /// `/status`: every source's health, as JSON.
    pub fn status_json(&self) -> String {
        let next = self.next_polls.lock().expect("next polls lock").clone();
        let sources: Vec<serde_json::Value> = self
            .defs
            .sources
            .iter()
            .map(|s| {
                let state = self.poller.store.source_state(&s.id).unwrap_or_default();
                serde_json::json!({
                    "id": s.id,
                    "title": s.title,
                    "kind": s.kind.name(),
                    "url": s.url.as_str(),
                    "interval_seconds": s.interval.as_secs(),
                    "ok": state.last_error.is_none() && state.last_success.is_some(),
                    "last_attempt": state.last_attempt,
                    "last_success": state.last_success,
                    "last_error": state.last_error,
                    "consecutive_failures": state.consecutive_failures,
                    "entries_added": state.entries_added,
                    "last_counts": state.last_counts,
                    "next_poll": next.get(&s.id),
                })
            })
            .collect();
        let status = serde_json::json!({
            "ready": self.ready.load(Ordering::SeqCst),
            "entries": self.poller.store.entry_count(),
            "sources": sources,
        });
        let mut out = serde_json::to_string_pretty(&status).expect("JSON values always serialize");
        out.push('\n');
        out
    }

    /// `/metrics`, in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        let store = &self.poller.store;
        let stats = self.feeds.stats();
        let snap = Snapshot {
            ready: self.ready.load(Ordering::SeqCst),
            store_entries: store.entry_count(),
            topic_entries: self
                .defs
                .rules
                .topics
                .iter()
                .map(|t| (t.id.as_str(), store.topic_len(&t.id)))
                .collect(),
            source_failures: self
                .defs
                .sources
                .iter()
                .map(|s| {
                    (
                        s.id.as_str(),
                        store
                            .source_state(&s.id)
                            .map(|st| st.consecutive_failures)
                            .unwrap_or(0),
                    )
                })
                .collect(),
            renders: stats.renders,
            render_seconds: stats.seconds,
        };
        self.metrics.render(&snap)
    }
}

fn open(settings: &Settings) -> Result<(Arc<Definitions>, Poller), Error> {
    let defs = Arc::new(config::load(&settings.feeds)?);
    std::fs::create_dir_all(&settings.data).map_err(|e| {
        Error::Other(format!(
            "cannot create data folder {}: {e}",
            settings.data.display()
        ))
    })?;
    let store = Store::open(&settings.data)?;
    let fetcher = Fetcher::new(defs.hosts.clone())?;
    for (host, until) in store.host_blocks(Utc::now())? {
        fetcher.block_until(&host, until);
    }
    Ok((defs, Poller { store, fetcher }))
}

/// `check`: loads and validates the definitions.
pub fn check(feeds: &Path) -> Result<Definitions, Error> {
    Ok(config::load(feeds)?)
}

/// A readable summary of loaded definitions, for `check`.
pub fn describe(defs: &Definitions) -> String {
    let mut out = format!(
        "{}: {} files, {} sources, {} tags, {} topics\n",
        defs.dir.display(),
        defs.files.len(),
        defs.sources.len(),
        defs.rules.tags.len(),
        defs.rules.topics.len()
    );
    for s in &defs.sources {
        out.push_str(&format!(
            "source {} ({}, every {}): {}\n",
            s.id,
            s.kind.name(),
            humanize(s.interval),
            s.url
        ));
    }
    for t in &defs.rules.tags {
        out.push_str(&format!("tag {}: {}\n", t.id, t.title));
    }
    for t in &defs.rules.topics {
        out.push_str(&format!("topic {}: {}\n", t.id, t.title));
    }
    out
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `poll --once`: polls every source once and returns the reports.
pub async fn poll_once(
    settings: &Settings,
    progress: impl Fn(&SourceReport, usize, usize),
) -> Result<Vec<SourceReport>, Error> {
    let (defs, poller) = open(settings)?;
    Ok(poller.poll_all(&defs, progress).await?)
}

/// `serve`: the poller and the HTTP server in one process, until SIGTERM or
/// SIGINT. `on_listening` is told the bound address (the port may have been
/// 0) before the first request is accepted.
pub async fn serve(
    settings: &Settings,
    options: ServeOptions,
    on_listening: impl FnOnce(SocketAddr, &Url),
) -> Result<(), Error> {
    let (defs, poller) = open(settings)?;
    let bind = options.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| Error::Bind { addr: bind, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr: bind, source })?;
    let base_url = match &options.base_url {
        Some(u) => u.clone(),
        None => Url::parse(&format!("http://{local}/")).expect("socket address makes a URL"),
    };
    // Retention first, so the first render already reflects it.
    poller.prune(&defs)?;
    let feeds = FeedCache::new(base_url.clone());
    // Serve what the store already holds right away: a restart never
    // answers with empty feeds while the first poll runs.
    feeds.refresh(
        &poller.store,
        &defs,
        defs.rules.topics.iter().map(|t| t.id.as_str()),
    )?;
    let app = Arc::new(App {
        defs,
        poller,
        feeds,
        options,
        metrics: Metrics::default(),
        ready: AtomicBool::new(false),
        next_polls: Mutex::default(),
    });
    on_listening(local, &base_url);
    tracing::info!(
        "listening on {local}, public base {base_url}{} ({} sources, {} topics)",
        if app.options.trust_proxy {
            ", trusting proxy headers"
        } else {
            ""
        },
        app.defs.sources.len(),
        app.defs.rules.topics.len()
    );
    let mut schedulers = spawn_schedulers(app.clone());
    schedulers.spawn(retention_task(app.clone()));
    crate::server::run(listener, app.clone(), shutdown_signal()).await;
    schedulers.abort_all();
    app.poller.store.flush()?;
    tracing::info!("store flushed, bye");
    Ok(())
}

/// `export`: writes every document the server serves (each topic in every
/// format, its preview page, the index, the OPML) into `dir`, at the paths
/// the server uses, with `.gz` and `.br` copies for static servers that
/// serve precompressed files. Links use `base_url`. Returns the files
/// written.
pub fn export(settings: &Settings, dir: &Path, base_url: &Url) -> Result<Vec<PathBuf>, Error> {
    let defs = config::load(&settings.feeds)?;
    let store = Store::open(&settings.data)?;
    let io =
        |p: &Path, e: std::io::Error| Error::Other(format!("cannot write {}: {e}", p.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut docs = vec![Doc::Index, Doc::Opml];
    for t in &defs.rules.topics {
        for format in Format::ALL {
            docs.push(Doc::Feed {
                topic: t.id.clone(),
                format,
                limit: t.default_limit(),
            });
        }
        docs.push(Doc::Preview {
            topic: t.id.clone(),
        });
    }
    let mut written = Vec::new();
    for doc in docs {
        let Some(r) = crate::render::render_doc(&store, &defs, base_url, &doc)? else {
            continue;
        };
        let path = dir.join(doc.path());
        let mut files = vec![(path.clone(), r.body.to_vec())];
        if let Some(g) = &r.gzip {
            files.push((PathBuf::from(format!("{}.gz", path.display())), g.to_vec()));
        }
        if let Some(b) = &r.br {
            files.push((PathBuf::from(format!("{}.br", path.display())), b.to_vec()));
        }
        for (p, bytes) in files {
            // Write then rename, so a static server never sees half a file.
            let tmp = p.with_extension("tmp-export");
            std::fs::write(&tmp, &bytes).map_err(|e| io(&tmp, e))?;
            std::fs::rename(&tmp, &p).map_err(|e| io(&p, e))?;
            written.push(p);
        }
    }
    Ok(written)
}

/// One task per source. A source whose stored schedule is still ahead
/// (back-off, `Retry-After`, a recent poll before a restart) waits for it;
/// the others are polled now, spread over a few seconds. Then each follows
/// the schedule its polls compute ([`crate::poll::next_poll`]). At most
/// [`MAX_CONCURRENT_POLLS`] polls run at once.
fn spawn_schedulers(app: Arc<App>) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    let total = app.defs.sources.len();
    let first_done = Arc::new(AtomicUsize::new(0));
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT_POLLS));
    let mark_done = {
        let app = app.clone();
        let first_done = first_done.clone();
        move || {
            if first_done.fetch_add(1, Ordering::SeqCst) + 1 >= total {
                app.ready.store(true, Ordering::SeqCst);
            }
        }
    };
    if total == 0 {
        app.ready.store(true, Ordering::SeqCst);
    }
    for index in 0..total {
        let (app, slots, mark_done) = (app.clone(), slots.clone(), mark_done.clone());
        set.spawn(async move {
            let source = &app.defs.sources[index];
            let stored = app
                .poller
                .store
                .source_state(&source.id)
                .ok()
                .and_then(|s| s.next_poll.filter(|_| s.last_attempt.is_some()));
            let mut first = true;
            match stored {
                Some(at) if at > Utc::now() => {
                    // Polled recently: it counts as polled for readiness.
                    app.next_polls
                        .lock()
                        .expect("next polls lock")
                        .insert(source.id.clone(), at);
                    mark_done();
                    first = false;
                    tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default()).await;
                }
                _ => tokio::time::sleep(Duration::from_millis(200 * index as u64 % 5000)).await,
            }
            loop {
                let report = {
                    let _slot = slots.acquire().await.expect("semaphore never closed");
                    app.poller.poll_source(source, &app.defs.rules).await
                };
                app.next_polls
                    .lock()
                    .expect("next polls lock")
                    .insert(source.id.clone(), report.next_poll);
                // Failures are logged by the poller, once per change of state.
                if !report.failed() {
                    tracing::info!("{}", report.line());
                }
                app.apply(&report);
                if let Err(e) = app.poller.store.flush() {
                    tracing::error!("store flush failed: {e}");
                }
                if first {
                    mark_done();
                    first = false;
                }
                tokio::time::sleep((report.next_poll - Utc::now()).to_std().unwrap_or_default())
                    .await;
            }
        });
    }
    set
}

/// How often `serve` applies the retention policy.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Applies retention periodically and re-renders the topics that shrank.
async fn retention_task(app: Arc<App>) {
    loop {
        tokio::time::sleep(RETENTION_EVERY).await;
        let a = app.clone();
        let pruned = tokio::task::spawn_blocking(move || a.poller.prune(&a.defs)).await;
        match pruned {
            Ok(Ok(topics)) if !topics.is_empty() => {
                if let Err(e) = app.feeds.refresh(
                    &app.poller.store,
                    &app.defs,
                    topics.iter().map(String::as_str),
                ) {
                    tracing::error!("cannot render topics after retention: {e}");
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("retention failed: {e}"),
            Err(e) => tracing::error!("retention task failed: {e}"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutdown requested");
}
