//! The commands: `serve`, `poll --once`, `check`. Each loads what it needs,
//! runs, and returns plain results; `main` prints them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::config::{self, ConfigError, Definitions};
use crate::fetch::{FetchError, Fetcher, DEFAULT_MAX_BODY};
use crate::poll::{Poller, SourceReport};
use crate::render::FeedCache;
use crate::store::{Store, StoreError};

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

/// Everything a running server shares between the poller and requests.
pub struct App {
    pub defs: Arc<Definitions>,
    pub poller: Poller,
    pub feeds: FeedCache,
    /// Set once every source has been polled once since start.
    pub ready: AtomicBool,
}

impl App {
    /// Re-renders the topics a poll changed.
    pub fn apply(&self, report: &SourceReport) {
        if report.changed_topics.is_empty() {
            return;
        }
        let topics = report.changed_topics.iter().map(String::as_str);
        if let Err(e) = self
            .feeds
            .refresh(&self.poller.store, &self.defs.rules, topics)
        {
            tracing::error!("cannot render topics after polling {}: {e}", report.source);
        }
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
    let fetcher = Fetcher::new(DEFAULT_MAX_BODY)?;
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
pub async fn poll_once(settings: &Settings) -> Result<Vec<SourceReport>, Error> {
    let (defs, poller) = open(settings)?;
    Ok(poller.poll_all(&defs).await?)
}

/// `serve`: the poller and the HTTP server in one process, until SIGTERM or
/// SIGINT. `on_listening` is told the bound address (the port may have been
/// 0) before the first request is accepted.
pub async fn serve(
    settings: &Settings,
    bind: SocketAddr,
    base_url: Option<Url>,
    on_listening: impl FnOnce(SocketAddr, &Url),
) -> Result<(), Error> {
    let (defs, poller) = open(settings)?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| Error::Bind { addr: bind, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr: bind, source })?;
    let base_url = match base_url {
        Some(u) => u,
        None => Url::parse(&format!("http://{local}/")).expect("socket address makes a URL"),
    };
    let feeds = FeedCache::new(base_url.clone());
    // Serve what the store already holds right away: a restart never
    // answers with empty feeds while the first poll runs.
    feeds.refresh(
        &poller.store,
        &defs.rules,
        defs.rules.topics.iter().map(|t| t.id.as_str()),
    )?;
    let app = Arc::new(App {
        defs,
        poller,
        feeds,
        ready: AtomicBool::new(false),
    });
    on_listening(local, &base_url);
    tracing::info!(
        "listening on {local}, public base {base_url} ({} sources, {} topics)",
        app.defs.sources.len(),
        app.defs.rules.topics.len()
    );
    let mut schedulers = spawn_schedulers(app.clone());
    crate::server::run(listener, app.clone(), shutdown_signal()).await;
    schedulers.abort_all();
    app.poller.store.flush()?;
    tracing::info!("store flushed, bye");
    Ok(())
}

/// One task per source: poll now (spread over a few seconds), then every
/// interval with ±10% jitter so sources never synchronise.
fn spawn_schedulers(app: Arc<App>) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    let total = app.defs.sources.len();
    let first_done = Arc::new(AtomicUsize::new(0));
    if total == 0 {
        app.ready.store(true, Ordering::SeqCst);
    }
    for index in 0..total {
        let (app, first_done) = (app.clone(), first_done.clone());
        set.spawn(async move {
            let source = &app.defs.sources[index];
            let spread = Duration::from_millis(200 * index as u64 % 5000);
            tokio::time::sleep(spread).await;
            loop {
                let report = app.poller.poll_source(source, &app.defs.rules).await;
                // Failures are logged by the poller, once per change of state.
                if !report.failed() {
                    tracing::info!("{}", report.line());
                }
                app.apply(&report);
                if let Err(e) = app.poller.store.flush() {
                    tracing::error!("store flush failed: {e}");
                }
                if first_done.fetch_add(1, Ordering::SeqCst) + 1 == total {
                    app.ready.store(true, Ordering::SeqCst);
                }
                tokio::time::sleep(jittered(source.interval, &source.id)).await;
            }
        });
    }
    set
}

/// `interval` ± 10%, from a cheap varying seed (no need for a RNG crate:
/// this only has to differ between sources and polls).
fn jittered(interval: Duration, salt: &str) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let seed = salt
        .bytes()
        .fold(nanos, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let span = interval.as_millis() as u64 / 5; // 20% wide
    let offset = if span == 0 { 0 } else { seed % span };
    interval - Duration::from_millis(span / 2) + Duration::from_millis(offset)
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
