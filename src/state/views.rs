//! The operator's views of the state: `/status` (JSON, per source) and
//! `/metrics` (Prometheus text).

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::App;
use crate::metrics::Snapshot;

impl App {
    /// `/status`: every source's health, as JSON.
    pub fn status_json(&self) -> String {
        let defs = self.defs();
        let next = self.next_polls.lock().expect("next polls lock").clone();
        let private = defs.rules.private_sources();
        let sources: Vec<serde_json::Value> = defs
            .sources
            .iter()
            .filter(|s| !private.contains(s.id.as_str()))
            .map(|s| {
                let state = self.store.source_state(&s.id).unwrap_or_default();
                serde_json::json!({
                    "id": s.id,
                    "title": s.title,
                    "kind": s.kind.name(),
                    "url": crate::urls::public_url(&s.url),
                    "interval_seconds": s.interval.as_secs(),
                    "ok": state.last_error.is_none() && state.last_success.is_some(),
                    // Read, but only in part (the upstream changed).
                    "degraded": state.degraded.is_some() && state.last_error.is_none(),
                    "degraded_detail": state.degraded.as_ref().filter(|_| state.last_error.is_none()),
                    // Read only with repairs (the upstream is not
                    // well-formed): the last successful poll's.
                    "recovered": state.repairs.any() && state.last_error.is_none(),
                    "repairs": state.repairs.count,
                    "repairs_detail": state.repairs.first,
                    "health_since": state.health_since,
                    "last_attempt": state.last_attempt,
                    "last_success": state.last_success,
                    "last_error": state.last_error,
                    "consecutive_failures": state.consecutive_failures,
                    "entries_added": state.entries_added,
                    "last_counts": state.last_counts,
                    "last_status": state.last_status,
                    "unchanged_upstream": state.last_status == Some(304),
                    // The scheduler's plan, or the stored one until the
                    // scheduler has started.
                    "next_poll": next.get(&s.id).copied().or(state.next_poll),
                })
            })
            .collect();
        let (hosts, budgets) = self.live().poller.fetcher.politeness();
        // Nor the hosts only those sources use (with their budgets): the
        // host alone would say what a private topic follows.
        let shown: HashSet<&str> = defs
            .sources
            .iter()
            .filter(|s| !private.contains(s.id.as_str()))
            .filter_map(|s| s.url.host_str())
            .collect();
        let hidden: HashSet<&str> = defs
            .sources
            .iter()
            .filter(|s| private.contains(s.id.as_str()))
            .filter_map(|s| s.url.host_str())
            .filter(|h| !shown.contains(h))
            .collect();
        let (hosts, private_hosts): (Vec<_>, Vec<_>) = hosts
            .into_iter()
            .partition(|h| !hidden.contains(h.host.as_str()));
        let budgets: Vec<_> = budgets
            .into_iter()
            .filter(|b| !b.key.split(' ').any(|w| hidden.contains(w)))
            .collect();
        let status = serde_json::json!({
            "ready": self.is_ready(),
            // The last reload refused while serving, until one succeeds.
            "reload": self.feeds.rejected_reload().map(|r| serde_json::json!({
                "rejected_at": r.at,
                "error": r.error,
            })),
            "entries": self.store.entry_count(),
            "sources": sources,
            // Sources of private topics only: counted, not named.
            "private_sources": private.len(),
            "hosts": hosts,
            "private_hosts": private_hosts.len(),
            "budgets": budgets,
            "websub": self.hub.as_ref().map(|h| {
                let w = h.stats();
                serde_json::json!({
                    "subscriptions": w.subscriptions.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                    "verifying": w.verifying,
                    "requests": w.outcomes.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                    "deliveries": w.deliveries.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                    "deliveries_owed": w.owed,
                    "delivering": w.delivering,
                })
            }),
        });
        let mut out = serde_json::to_string_pretty(&status).expect("JSON values always serialize");
        out.push('\n');
        out
    }

    /// `/metrics`, in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        let defs = self.defs();
        let store = &self.store;
        let stats = self.feeds.stats();
        let (hosts, budgets) = self.live().poller.fetcher.politeness();
        let (hosts_tracked, forgotten_requests) = self.live().poller.fetcher.hosts_tracked();
        // Every source, private topics' too: `/metrics` labels polls by
        // source id (keep it for monitoring, see the README).
        let states: Vec<(&str, crate::store::SourceState)> = defs
            .sources
            .iter()
            .map(|s| (s.id.as_str(), store.source_state(&s.id).unwrap_or_default()))
            .collect();
        let snap = Snapshot {
            ready: self.is_ready(),
            store_entries: store.entry_count(),
            // Private topics are not named to the public.
            topic_entries: defs
                .rules
                .public_topics()
                .map(|t| (t.id.as_str(), store.topic_len(&t.id)))
                .collect(),
            source_failures: states
                .iter()
                .map(|(id, st)| (*id, st.consecutive_failures))
                .collect(),
            source_repairs: states
                .iter()
                .map(|(id, st)| (*id, st.repairs.count))
                .collect(),
            renders: stats.renders,
            render_seconds: stats.seconds,
            hosts,
            budgets,
            hosts_tracked,
            max_hosts: crate::fetch::MAX_HOSTS,
            forgotten_requests,
            bounds: crate::metrics::Bounds {
                max_connections: self.options.max_connections,
                cache: self.feeds.cache_stats(),
                cache_budget: self.feeds.budget(),
                renders_in_flight: self.feeds.renders_in_flight(),
                max_renders: crate::render::MAX_RENDERS_IN_FLIGHT,
                renders_queued: self.feeds.render_queue().0,
                renders_refused: self.feeds.render_queue().1,
                admin_auth: self.admin_guard.stats(),
            },
            websub: self.hub.as_ref().map(|h| h.stats()),
            articles: crate::metrics::ArticleStats {
                owed: store.articles_owed(),
                max_owed: crate::fulltext::MAX_OWED,
                outcomes: self.articles.counters.outcomes(),
                in_flight: self.articles.in_flight(),
                max_in_flight: crate::fulltext::MAX_CONCURRENT_ARTICLES,
                robots_origins: self.articles.robots_origins(),
                max_robots_origins: crate::fulltext::robots::MAX_ORIGINS,
                robots_bytes: self.articles.robots_bytes(),
                max_robots_bytes: crate::fulltext::robots::MAX_CACHE_BYTES,
            },
        };
        let mut out = self.metrics.render(&snap);
        out.push_str(&format!(
            "# HELP feedloom_reloads_total Definition reloads while serving, by result.\n# TYPE feedloom_reloads_total counter\n\
             feedloom_reloads_total{{result=\"ok\"}} {}\nfeedloom_reloads_total{{result=\"rejected\"}} {}\n",
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed)
        ));
        if let Some(p) = &self.publisher {
            let c = &p.counts;
            out.push_str(&format!(
                "# HELP feedloom_websub_published_total Notifications of changed feeds to the hub named by --websub-hub, by result.\n# TYPE feedloom_websub_published_total counter\n\
                 feedloom_websub_published_total{{result=\"sent\"}} {}\nfeedloom_websub_published_total{{result=\"failed\"}} {}\nfeedloom_websub_published_total{{result=\"dropped\"}} {}\n",
                c.sent.load(Ordering::Relaxed),
                c.failed.load(Ordering::Relaxed),
                c.dropped.load(Ordering::Relaxed),
            ));
        }
        out
    }
}
