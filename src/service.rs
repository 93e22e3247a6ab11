//! `serve`: the poller and the HTTP server in one process, and what they
//! share: the store, the rendered documents, the definitions in force.
//!
//! The definitions can change while serving: on SIGHUP, or when a file in
//! the definitions folder changes. A reload that fails to load or validate
//! is logged and rejected, and the old definitions stay in force: the server
//! never goes down for a typo. A reload that succeeds re-evaluates the store
//! ([`crate::reevaluate`]), swaps the definitions, re-renders every topic
//! and restarts the per-source schedulers; the fetcher keeps its politeness
//! state (spacing, spent budgets, back-offs) and connection pool.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use url::Url;

use crate::commands::{rules_in_force, Settings};
use crate::config;
use crate::error::Error;
use crate::poll::{Admission, Poller};
use crate::render::failures::RejectedReload;
use crate::render::FeedCache;
pub use crate::state::{App, Live, ServeOptions};

/// How often `serve` applies the retention policy in full (the age limit
/// walks every entry's head).
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// A poll that leaves the store over `max_entries` (a counter: O(1) to
/// check) brings retention forward, so a burst of new entries does not
/// sit above the limit, and on disk, until the next hourly run. Each run
/// walks every entry's head, so such runs keep a pause of this many times
/// the last run's length (retention takes at most a tenth of the time)...
pub const RETENTION_PAUSE_FACTOR: u32 = 10;
/// ...and at least this long.
pub const RETENTION_MIN_PAUSE: Duration = Duration::from_secs(1);
/// How often the definitions folder is checked for changes.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Loads the definitions folder again and, if it is valid, puts it in
/// force (see the module doc). Returns whether it was.
pub async fn reload(app: &Arc<App>) -> bool {
    let _gate = app.rules_gate.lock().await;
    let dir = app.feeds_dir.clone();
    let store = app.store.clone();
    let loaded = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let defs = config::load(&dir)?;
        let r = crate::reevaluate::apply(&store, &defs.rules)?;
        Ok((defs, r))
    })
    .await;
    let (defs, r) = match loaded {
        Ok(Ok(ok)) => ok,
        Ok(Err(e)) => {
            app.reloads_failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!("reload rejected, the previous definitions stay in force: {e}");
            app.feeds
                .set_rejected_reload(Some(rejected(&app.feeds_dir, &e)));
            return false;
        }
        Err(e) => {
            app.reloads_failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!("reload failed: {e}");
            return false;
        }
    };
    // Same gate: spacing, spent budgets and back-offs carry over.
    let fetcher = app
        .live()
        .poller
        .fetcher
        .with_policies(defs.host_policies());
    let defs = Arc::new(defs);
    *app.live.write().expect("live lock") = Arc::new(Live {
        defs: defs.clone(),
        poller: Poller {
            store: app.store.clone(),
            fetcher,
        },
    });
    app.feeds.set_rejected_reload(None);
    app.rerender_all(&defs, "a reload");
    let fresh = spawn_schedulers(app.clone());
    let old = std::mem::replace(&mut *app.schedulers.lock().expect("schedulers lock"), fresh);
    drop(old); // dropping a JoinSet aborts its tasks
    app.reloads_ok.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        "definitions reloaded: {} sources, {} tags, {} topics; {} entries re-evaluated, {} changed",
        defs.sources.len(),
        defs.rules.tags.len(),
        defs.rules.topics.len(),
        r.entries,
        r.changed
    );
    true
}

/// Longest error of a refused reload kept for `/status`.
const MAX_RELOAD_ERROR_CHARS: usize = 500;

/// What the index and `/status` say of a refused reload (see
/// [`RejectedReload`]): `/status` the error as `check` prints it, on one
/// line, its URLs cut to their public part as a source's errors are; the
/// index only the file and the kind of problem.
fn rejected(dir: &std::path::Path, e: &Error) -> RejectedReload {
    let reason = match e {
        Error::Config(c) => c.public_reason(dir),
        _ => "the stored entries could not be brought in step with them (see the log)".into(),
    };
    let error = crate::text::collapse_ws(&crate::urls::redact_urls(&e.to_string()));
    RejectedReload {
        at: Utc::now(),
        folder: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "feeds".into()),
        reason,
        error: crate::text::one_line(&error, MAX_RELOAD_ERROR_CHARS),
    }
}

/// `serve`: until SIGTERM or SIGINT. Prints `feedloom listening on
/// http://ADDR/` with the bound address (the port may have been 0) before
/// the first request is accepted; scripts and tests wait for that line.
pub async fn serve(settings: &Settings, options: ServeOptions) -> Result<(), Error> {
    // Definitions first: a mistake in them stops the start before anything
    // listens.
    let defs = Arc::new(config::load(&settings.feeds)?);
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
    // The server answers `/healthz` while the store opens (a large one
    // takes seconds: sled replays its log), and holds other requests
    // until the app exists.
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let (publish, app_rx) = tokio::sync::watch::channel(None);
    let opening = crate::server::Opening {
        max_connections: options.max_connections,
        idle_timeout: options.idle_timeout,
        metrics: metrics.clone(),
    };
    let mut server = tokio::spawn(crate::server::run(
        listener,
        opening,
        app_rx,
        shutdown_signal(),
    ));
    println!("feedloom listening on http://{local}/ (public base {base_url})");
    let open = {
        let (settings, defs) = (settings.clone(), defs.clone());
        tokio::task::spawn_blocking(move || crate::commands::open_poller(&settings, &defs))
    };
    let poller = tokio::select! {
        opened = open => opened.expect("opening the store panicked")?,
        _ = &mut server => return Ok(()),
    };
    // Retention runs in the background, first right after start
    // ([`retention_task`]): with an age limit it walks every entry, and a
    // large store must not keep `/readyz` waiting for that.
    let hub = match (&options.websub, &options.websub_hub) {
        (_, Some(other)) => Some(Some(other.clone())),
        (Some(_), None) => Some(None),
        (None, None) => None,
    };
    let feeds = FeedCache::new(base_url.clone(), options.cache_bytes).with_hub(hub);
    let app = Arc::new(App::new(
        Live { defs, poller },
        feeds,
        options,
        settings.feeds.clone(),
        metrics,
    ));
    let defs = app.defs();
    tracing::info!(
        "listening on {local}, public base {base_url}{} ({} sources, {} topics)",
        if app.options.trust_proxy {
            ", trusting proxy headers"
        } else {
            ""
        },
        defs.sources.len(),
        defs.rules.topics.len()
    );
    publish.send_replace(Some(app.clone()));
    // Every topic rendered from what the store already holds, in the
    // background: `/healthz` answers meanwhile, and a feed asked for before
    // its turn is rendered on demand from the same store, so a restart never
    // answers with empty feeds while the first poll runs.
    let warm = app.clone();
    tokio::task::spawn_blocking(move || {
        let defs = warm.defs();
        // New topics dated before their first rendering, so the dates in
        // their feeds do not move when the rules settle (a move would be a
        // change to WebSub subscribers).
        if let Err(e) = crate::reevaluate::date_new_topics(&warm.store, &defs.rules) {
            tracing::error!("cannot date new topics: {e}");
        }
        let topics = defs.rules.topics.iter().map(|t| t.id.as_str());
        if let Err(e) = warm.feeds.refresh(&warm.store, &defs, topics) {
            tracing::error!("cannot render the topics at start: {e}");
        }
        warm.warmed.store(true, Ordering::SeqCst);
    });
    *app.schedulers.lock().expect("schedulers lock") = spawn_schedulers(app.clone());
    let mut background = tokio::task::JoinSet::new();
    background.spawn(settle_rules(app.clone()));
    background.spawn(retention_task(app.clone()));
    background.spawn(watch_definitions(app.clone()));
    background.spawn(articles_task(app.clone()));
    if let Some(hub) = app.hub.clone() {
        background.spawn(expire_leases(hub.clone()));
        background.spawn(hub.deliver_forever(app.clone()));
    }
    if let Err(e) = server.await {
        tracing::error!("the server task failed: {e}");
    }
    background.abort_all();
    app.schedulers.lock().expect("schedulers lock").abort_all();
    app.store.flush()?;
    tracing::info!("store flushed, bye");
    Ok(())
}

/// One task per source of the definitions in force. A source whose stored
/// schedule is still ahead (back-off, `Retry-After`, a recent poll before a
/// restart) waits for it; the others are polled now, spread over a few
/// seconds. Then each follows the schedule its polls compute
/// ([`crate::poll::next_poll`]). Polls start as [`Admission`] lets them,
/// as in `poll --once`.
fn spawn_schedulers(app: Arc<App>) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    let live = app.live();
    let total = live.defs.sources.len();
    let first_done = Arc::new(AtomicUsize::new(0));
    let admission = Arc::new(Admission::new(&live.defs.sources));
    let mark_done = {
        let app = app.clone();
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
        let (app, live, admission, mark_done) = (
            app.clone(),
            live.clone(),
            admission.clone(),
            mark_done.clone(),
        );
        set.spawn(async move {
            let source = &live.defs.sources[index];
            let stored = app
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
                    let _admitted = admission.enter(source, &live.poller.fetcher).await;
                    live.poller.poll_source(source, &live.defs).await
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
                if report.counts.new > 0 && source.fulltext.is_some() {
                    app.articles_owed.notify_one();
                }
                if app.store.entry_count() > live.defs.retention.max_entries {
                    app.over_limit.notify_one();
                }
                if let Err(e) = app.store.flush() {
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

/// Longest pause between checks for article fetches due (a retry's time
/// coming, say); a poll that owes fetches wakes the task at once.
const ARTICLES_CHECK: Duration = Duration::from_secs(60);

/// Fetches the full articles owed ([`crate::fulltext`]), as they fall due,
/// and re-renders the topics of the entries that gained one.
async fn articles_task(app: Arc<App>) {
    loop {
        let live = app.live();
        match app
            .articles
            .run_due(&app.store, &live.poller.fetcher, &live.defs)
            .await
        {
            Ok(changed) if !changed.is_empty() => {
                let app = app.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    app.refresh_topics(&changed, "fetching articles")
                })
                .await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!("article fetches: {e}");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        let next = app.store.next_article_due().ok().flatten();
        let wait = match next {
            Some(at) => (at - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(ARTICLES_CHECK),
            None => ARTICLES_CHECK,
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = app.articles_owed.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Brings the store in step with the rules in force after start (see
/// [`crate::reevaluate`]): until then the feeds show the entries as they
/// were tagged, `/healthz` answers, and `/readyz` says what is running.
async fn settle_rules(app: Arc<App>) {
    let _gate = app.rules_gate.lock().await;
    // The definitions in force now: a reload may have come first.
    let live = app.live();
    let (store, defs) = (app.store.clone(), live.defs.clone());
    let settled = tokio::task::spawn_blocking(move || rules_in_force(&store, &defs)).await;
    match settled {
        Ok(Ok(r)) => {
            if r.entries > 0 {
                app.rerender_all(&app.defs(), "re-evaluation");
            }
            app.rules_settled.store(true, Ordering::SeqCst);
        }
        Ok(Err(e)) => tracing::error!(
            "cannot bring the store in step with the rules, feeds keep their old tags: {e}"
        ),
        Err(e) => tracing::error!("re-evaluation task failed: {e}"),
    }
}

/// How often ended WebSub leases are dropped.
const LEASE_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Drops WebSub subscriptions whose lease ended, each minute.
async fn expire_leases(hub: Arc<crate::websub::Hub>) {
    loop {
        let h = hub.clone();
        let _ = tokio::task::spawn_blocking(move || h.expire()).await;
        tokio::time::sleep(LEASE_CHECK_EVERY).await;
    }
}

/// Applies retention at start, then every [`RETENTION_EVERY`] and when a
/// poll leaves the store over `max_entries` (after a pause, see
/// [`RETENTION_PAUSE_FACTOR`]), and re-renders the topics that shrank.
async fn retention_task(app: Arc<App>) {
    let mut last_run = None::<(std::time::Instant, Duration)>;
    loop {
        if let Some((ended, took)) = last_run {
            tokio::select! {
                _ = tokio::time::sleep(RETENTION_EVERY.saturating_sub(ended.elapsed())) => {}
                _ = app.over_limit.notified() => {
                    let pause = (took * RETENTION_PAUSE_FACTOR).max(RETENTION_MIN_PAUSE);
                    tokio::time::sleep(pause.saturating_sub(ended.elapsed())).await;
                }
            }
        }
        let started = std::time::Instant::now();
        let live = app.live();
        let l = live.clone();
        let pruned = tokio::task::spawn_blocking(move || l.poller.prune(&l.defs)).await;
        match pruned {
            Ok(Ok(topics)) if !topics.is_empty() => {
                let topics = topics.iter().map(String::as_str);
                match app.feeds.refresh(&app.store, &live.defs, topics) {
                    Ok(changed) => app.publish(&changed),
                    Err(e) => tracing::error!("cannot render topics after retention: {e}"),
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("retention failed: {e}"),
            Err(e) => tracing::error!("retention task failed: {e}"),
        }
        last_run = Some((std::time::Instant::now(), started.elapsed()));
    }
}

/// Reloads the definitions on SIGHUP, and when a `*.toml` file in the
/// folder is added, removed or modified (checked every [`WATCH_EVERY`]).
async fn watch_definitions(app: Arc<App>) {
    let signature = |dir: &PathBuf| -> Vec<(PathBuf, Option<SystemTime>, u64)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
            .map(|e| {
                let meta = e.metadata().ok();
                (
                    e.path(),
                    meta.as_ref().and_then(|m| m.modified().ok()),
                    meta.map_or(0, |m| m.len()),
                )
            })
            .collect();
        files.sort();
        files
    };
    let mut seen = signature(&app.feeds_dir);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<()>();
        let by_signal = tokio::select! {
            _ = hangup => true,
            _ = tokio::time::sleep(WATCH_EVERY) => false,
        };
        let now = signature(&app.feeds_dir);
        if by_signal || now != seen {
            seen = now;
            tracing::info!(
                "{}: reloading definitions from {}",
                if by_signal {
                    "SIGHUP"
                } else {
                    "definitions changed"
                },
                app.feeds_dir.display()
            );
            reload(&app).await;
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
