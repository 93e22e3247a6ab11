//! `poll --once`: every source polled once, with progress as it goes (a bar
//! with an ETA and the sources in flight at a terminal, one line per source
//! otherwise, for logs and pipes) and a table at the end.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{open, table, Error, Settings};
use crate::poll::{Outcome, Progress, SourceReport};
use crate::store::Store;

/// What `poll --once` did: one report per source, in definition order.
pub struct Polled {
    pub reports: Vec<SourceReport>,
}

impl Polled {
    /// Sources whose poll failed (the exit code says whether any did).
    pub fn failed(&self) -> usize {
        self.reports.iter().filter(|r| r.failed()).count()
    }
}

/// Polls every source once, printing progress, then the failures (at a
/// terminal, where the bar hid them) and the [`report`] table.
pub async fn poll_once(settings: &Settings) -> Result<Polled, Error> {
    let (defs, poller) = open(settings)?;
    let tty = std::io::stderr().is_terminal();
    let shown = Arc::new(Shown::new(tty, defs.sources.len()));
    let reports = poller.poll_all(&defs, shown.clone()).await?;
    shown.bar.finish_and_clear();
    // The full articles these polls owe (and any owed before, now due).
    let owed = poller.store.articles_owed();
    if owed > 0 {
        let articles = Arc::new(crate::fulltext::Articles::default());
        articles
            .run_until_idle(&poller.store, &poller.fetcher, &defs)
            .await?;
        let c = articles.counters.outcomes();
        let said: Vec<String> = c
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
            .collect();
        println!("articles: {} owed: {}", owed, said.join(", "));
        poller.store.flush()?;
    }
    compact_if_grown(poller.store)?;
    if tty {
        for r in reports.iter().filter(|r| r.failed()) {
            println!("{}", r.line());
        }
    }
    println!();
    print!("{}", report(&reports, Utc::now()));
    let polled = Polled { reports };
    if polled.failed() > 0 {
        eprintln!(
            "feedloom: {} of {} sources failed",
            polled.failed(),
            polled.reports.len()
        );
    }
    Ok(polled)
}

/// Compacts the store in place when it has grown well past its live data
/// ([`Store::needs_compaction`]). A `serve` process gives sled the time to
/// reclaim space as it goes; a run of `poll --once` exits first, so under
/// churn its store would grow without bound.
fn compact_if_grown(store: Store) -> Result<(), Error> {
    let Some((size, expected)) = store.needs_compaction()? else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let (before, after) = store.compact_in_place()?;
    tracing::info!(
        "store: compacted in place in {:?}, {:.1} MB -> {:.1} MB (over {}x the {:.1} MB expected of its entries: {:.1} MB)",
        started.elapsed(),
        before as f64 / 1e6,
        after as f64 / 1e6,
        crate::store::COMPACT_GROWTH,
        expected as f64 / 1e6,
        size as f64 / 1e6,
    );
    Ok(())
}

/// Progress as `poll --once` shows it.
struct Shown {
    tty: bool,
    bar: ProgressBar,
    in_flight: Mutex<BTreeSet<String>>,
}

impl Shown {
    fn new(tty: bool, total: usize) -> Shown {
        let bar = if tty {
            ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} eta {eta} {wide_msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Shown {
            tty,
            bar,
            in_flight: Mutex::new(BTreeSet::new()),
        }
    }

    /// The bar's message: the sources being polled now.
    fn show_in_flight(&self, in_flight: &BTreeSet<String>) {
        let mut names = in_flight.iter().take(3).cloned().collect::<Vec<_>>();
        if in_flight.len() > 3 {
            names.push(format!("+{}", in_flight.len() - 3));
        }
        self.bar.set_message(names.join(", "));
    }
}

impl Progress for Shown {
    fn started(&self, source: &str) {
        let mut in_flight = self.in_flight.lock().expect("not poisoned");
        in_flight.insert(source.to_string());
        self.show_in_flight(&in_flight);
    }

    fn finished(&self, report: &SourceReport, done: usize, _total: usize) {
        if !self.tty {
            println!("{}", report.line());
            return;
        }
        let mut in_flight = self.in_flight.lock().expect("not poisoned");
        in_flight.remove(&report.source);
        self.show_in_flight(&in_flight);
        self.bar.set_position(done as u64);
    }
}

/// The table `poll --once` ends with: per source its status, HTTP code,
/// new / updated / unchanged, duration and next poll.
pub fn report(reports: &[SourceReport], now: DateTime<Utc>) -> String {
    let rows = reports.iter().map(|r| {
        let c = &r.counts;
        let status = match &r.outcome {
            Outcome::Fetched => "ok".to_string(),
            Outcome::NotModified => "not modified".to_string(),
            Outcome::Failed(e) => format!("error ({})", e.kind),
        };
        let wait = (r.next_poll - now).num_seconds().max(0) as u64;
        vec![
            r.source.clone(),
            status,
            r.http_status.map_or_else(|| "-".into(), |s| s.to_string()),
            c.new.to_string(),
            c.updated.to_string(),
            c.unchanged.to_string(),
            format!("{} ms", r.duration.as_millis()),
            format!("in {}", crate::units::human(Duration::from_secs(wait))),
        ]
    });
    let header = [
        "source",
        "status",
        "http",
        "new",
        "updated",
        "unchanged",
        "took",
        "next poll",
    ];
    table::render(&header, rows, &[2, 3, 4, 5, 6])
}
