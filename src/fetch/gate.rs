//! The politeness gate: whether a request to a host may go now, must wait,
//! or must not be sent at all, and the host table that decision reads.
//!
//! Per host (all sources on it together): at least its spacing (`[[host]]`
//! `min_spacing`, or a longer `Crawl-delay`) between the end of one request
//! and the start of the next; a request budget per window, besides any
//! budget a source kind adds (Hugging Face's API and page buckets); and no
//! request at all while the host has asked us to wait (429/503 with
//! `Retry-After` or `RateLimit`).
//!
//! The gate is a pure decision: no I/O, no clock, no waiting. Every call
//! is given `now`, so the rules are unit-tested without sleeping, and the
//! one place that waits (`Fetcher::admit`) only sleeps until the instant
//! the gate names and asks again. It is kept under one lock that is never
//! held across an `.await`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::policy::{
    Budget, BudgetStatus, HostPolicy, HostStatus, Policies, DEFAULT_MIN_SPACING, MAX_BACKOFF,
    MAX_BUDGET_WAIT, MAX_CRAWL_DELAY, MAX_HOSTS,
};
use super::FetchError;

/// What the gate says to a request.
#[derive(Debug)]
pub(super) enum Decision {
    /// Send it: it is counted against its host and its budgets.
    Admit,
    /// Ask again then: the host's spacing is not over, or a budget's
    /// window frees up within [`MAX_BUDGET_WAIT`].
    WaitUntil(Instant),
    /// Do not send it: the host asked us to wait
    /// ([`FetchError::RateLimited`]), or a budget is spent for longer than
    /// is worth waiting ([`FetchError::Budget`]).
    Refuse(FetchError),
}

/// Per-host state.
#[derive(Default)]
struct HostState {
    /// Held for the duration of a request: one in flight per host.
    in_flight: Arc<tokio::sync::Mutex<()>>,
    last_done: Option<Instant>,
    /// The `Crawl-delay` its `robots.txt` asks for (article fetches read
    /// it): spacing at least this long, for every request to the host.
    crawl_delay: Option<Duration>,
    /// Until when (and that instant on the wall clock, for `/status`) the
    /// host asked us to wait.
    blocked: Option<(Instant, DateTime<Utc>)>,
    /// Requests sent to the host since start.
    requests: u64,
}

impl HostState {
    fn busy(&self) -> bool {
        Arc::strong_count(&self.in_flight) > 1
    }

    fn spacing(&self, policy: Option<&HostPolicy>) -> Duration {
        policy
            .map_or(DEFAULT_MIN_SPACING, |p| p.min_spacing)
            .max(self.crawl_delay.unwrap_or_default())
    }

    /// When the host's spacing since its last request is over.
    fn turn_at(&self, policy: Option<&HostPolicy>) -> Option<Instant> {
        Some(self.last_done? + self.spacing(policy))
    }
}

/// One budget's current window.
struct Window {
    start: Instant,
    used: u32,
    /// The budget's limits as last applied, for [`Gate::status`].
    max_requests: u32,
    length: Duration,
}

impl Window {
    fn over(&self, now: Instant) -> bool {
        now.duration_since(self.start) >= self.length
    }
}

/// Every host's and budget's politeness state, at most [`MAX_HOSTS`] of
/// each besides the operator's own.
#[derive(Default)]
pub(super) struct Gate {
    hosts: HashMap<String, HostState>,
    /// Budget key → its current window.
    windows: HashMap<String, Window>,
    /// Requests sent to unlisted hosts since forgotten (so the `other`
    /// count on `/metrics` never goes down).
    forgotten_requests: u64,
}

impl Gate {
    /// Whether a request to `host`, counted against its own budget and
    /// `budget` if any, may be sent at `now`; an admitted one is counted.
    pub(super) fn decide(
        &mut self,
        host: &str,
        budget: Option<&Budget>,
        now: Instant,
        policies: &Policies,
    ) -> Decision {
        let policy = policies.get(host);
        let state = self.host(host, now, policies);
        if let Some((until, wall)) = state.blocked {
            if until > now {
                return Decision::Refuse(FetchError::RateLimited { until: wall });
            }
            state.blocked = None;
        }
        let mut ready = state.turn_at(policy).map_or(now, |t| t.max(now));
        let own = policy.cloned().unwrap_or_default();
        let own = Budget {
            key: format!("host {host}"),
            max_requests: own.max_requests,
            window: own.window,
        };
        let budgets = [Some(&own), budget];
        for b in budgets.iter().flatten() {
            let w = self.window(b, now, policies);
            if w.used >= b.max_requests {
                let retry_in = b.window.saturating_sub(now.duration_since(w.start));
                if retry_in > MAX_BUDGET_WAIT {
                    return Decision::Refuse(FetchError::Budget {
                        key: b.key.clone(),
                        max: b.max_requests,
                        window: b.window,
                        retry_in,
                    });
                }
                ready = ready.max(now + retry_in);
            }
        }
        if ready > now {
            return Decision::WaitUntil(ready);
        }
        for b in budgets.iter().flatten() {
            if let Some(w) = self.windows.get_mut(&b.key) {
                w.used += 1;
            }
        }
        if let Some(h) = self.hosts.get_mut(host) {
            h.requests += 1;
        }
        Decision::Admit
    }

    /// The lock that keeps one request in flight per `host`.
    pub(super) fn in_flight(
        &mut self,
        host: &str,
        now: Instant,
        policies: &Policies,
    ) -> Arc<tokio::sync::Mutex<()>> {
        self.host(host, now, policies).in_flight.clone()
    }

    /// A request to `host` ended at `now`: its spacing starts.
    pub(super) fn done(&mut self, host: &str, now: Instant, policies: &Policies) {
        self.host(host, now, policies).last_done = Some(now);
    }

    /// When `host`'s spacing since its last request is over (`None`: it
    /// may be asked at once).
    pub(super) fn turn_at(&self, host: &str, policies: &Policies) -> Option<Instant> {
        self.hosts.get(host)?.turn_at(policies.get(host))
    }

    /// Obeys `host`'s `Crawl-delay` (capped at [`MAX_CRAWL_DELAY`]) from
    /// now on.
    pub(super) fn set_crawl_delay(
        &mut self,
        host: &str,
        delay: Duration,
        now: Instant,
        policies: &Policies,
    ) {
        self.host(host, now, policies).crawl_delay = Some(delay.min(MAX_CRAWL_DELAY));
    }

    /// `host` asked us (429/503) to wait `delay` (at least a second, at
    /// most [`MAX_BACKOFF`]) from `now` (`wall` on the wall clock).
    pub(super) fn pause(
        &mut self,
        host: &str,
        delay: Duration,
        (now, wall): (Instant, DateTime<Utc>),
        policies: &Policies,
    ) {
        let delay = delay.clamp(Duration::from_secs(1), MAX_BACKOFF);
        let until = wall + chrono::Duration::from_std(delay).unwrap_or_default();
        self.host(host, now, policies).blocked = Some((now + delay, until));
    }

    /// Restores a pause `host` asked for in an earlier run, until `until`
    /// on the wall clock (nothing if that is past).
    pub(super) fn pause_until(
        &mut self,
        host: &str,
        until: DateTime<Utc>,
        (now, wall): (Instant, DateTime<Utc>),
        policies: &Policies,
    ) {
        if let Ok(left) = (until - wall).to_std() {
            self.host(host, now, policies).blocked = Some((now + left, until));
        }
    }

    /// When `host` asked not to be contacted before, if it did and that
    /// is still ahead of `now`.
    pub(super) fn blocked_until(&self, host: &str, now: Instant) -> Option<DateTime<Utc>> {
        self.hosts
            .get(host)?
            .blocked
            .filter(|(until, _)| *until > now)
            .map(|(_, wall)| wall)
    }

    /// Every host kept and every budget in use, sorted by name.
    pub(super) fn status(
        &self,
        now: Instant,
        policies: &Policies,
    ) -> (Vec<HostStatus>, Vec<BudgetStatus>) {
        let mut hosts: Vec<HostStatus> = self
            .hosts
            .iter()
            .map(|(host, h)| HostStatus {
                host: host.clone(),
                listed: policies.contains_key(host),
                requests: h.requests,
                blocked_until: self.blocked_until(host, now),
            })
            .collect();
        hosts.sort_by(|a, b| a.host.cmp(&b.host));
        let mut budgets: Vec<BudgetStatus> = self
            .windows
            .iter()
            .map(|(key, w)| BudgetStatus {
                key: key.clone(),
                used: if w.over(now) { 0 } else { w.used },
                max_requests: w.max_requests,
                window_seconds: w.length.as_secs(),
            })
            .collect();
        budgets.sort_by(|a, b| a.key.cmp(&b.key));
        (hosts, budgets)
    }

    /// Hosts kept now, and the requests sent to unlisted hosts since
    /// forgotten.
    pub(super) fn tracked(&self) -> (usize, u64) {
        (self.hosts.len(), self.forgotten_requests)
    }

    /// `host`'s state, made (room first) when it has none.
    fn host(&mut self, host: &str, now: Instant, policies: &Policies) -> &mut HostState {
        if !self.hosts.contains_key(host) {
            self.make_room_for_host(now, policies);
        }
        self.hosts.entry(host.to_string()).or_default()
    }

    /// `budget`'s window at `now`: made (room first) when there is none,
    /// started afresh when the last one is over, under the budget's
    /// limits as given now.
    fn window(&mut self, budget: &Budget, now: Instant, policies: &Policies) -> &mut Window {
        if !self.windows.contains_key(&budget.key) {
            self.make_room_for_window(now, policies);
        }
        let w = self.windows.entry(budget.key.clone()).or_insert(Window {
            start: now,
            used: 0,
            max_requests: budget.max_requests,
            length: budget.window,
        });
        w.max_requests = budget.max_requests;
        w.length = budget.window;
        if w.over(now) {
            w.start = now;
            w.used = 0;
        }
        w
    }

    /// Room for one more host under [`MAX_HOSTS`]: listed hosts (the
    /// operator's) are kept; of the others, idle ones are forgotten first,
    /// then (down to three quarters full) the least recently used with
    /// nothing in flight.
    fn make_room_for_host(&mut self, now: Instant, policies: &Policies) {
        if self.hosts.len() < MAX_HOSTS {
            return;
        }
        let mut forgotten = 0;
        self.hosts.retain(|host, h| {
            let blocked = h.blocked.is_some_and(|(until, _)| until > now);
            let spacing_left = h.turn_at(policies.get(host)).is_some_and(|t| t > now);
            let keep = policies.contains_key(host) || h.busy() || blocked || spacing_left;
            if !keep {
                forgotten += h.requests;
            }
            keep
        });
        if self.hosts.len() >= MAX_HOSTS {
            let mut idle: Vec<(Option<Instant>, String)> = self
                .hosts
                .iter()
                .filter(|(host, h)| !policies.contains_key(*host) && !h.busy())
                .map(|(host, h)| (h.last_done, host.clone()))
                .collect();
            idle.sort();
            let excess = self.hosts.len() + 1 - MAX_HOSTS * 3 / 4;
            for (_, host) in idle.into_iter().take(excess) {
                if let Some(h) = self.hosts.remove(&host) {
                    forgotten += h.requests;
                }
            }
        }
        self.forgotten_requests += forgotten;
    }

    /// Room for one more budget window under [`MAX_HOSTS`]: ended windows
    /// forgotten first (they start afresh anyway), then the oldest of
    /// unlisted hosts (the sources' hosts and the source kinds' budgets
    /// keep theirs).
    fn make_room_for_window(&mut self, now: Instant, policies: &Policies) {
        if self.windows.len() < MAX_HOSTS {
            return;
        }
        self.windows.retain(|_, w| !w.over(now));
        if self.windows.len() < MAX_HOSTS {
            return;
        }
        let mut oldest: Vec<(Instant, String)> = self
            .windows
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix("host ")
                    .is_some_and(|host| !policies.contains_key(host))
            })
            .map(|(key, w)| (w.start, key.clone()))
            .collect();
        oldest.sort();
        let excess = self.windows.len() + 1 - MAX_HOSTS * 3 / 4;
        for (_, key) in oldest.into_iter().take(excess) {
            self.windows.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn wall() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn rules(host: &str, min_spacing: Duration, max_requests: u32, window: Duration) -> Policies {
        HashMap::from([(
            host.to_string(),
            HostPolicy {
                min_spacing,
                max_requests,
                window,
            },
        )])
    }

    /// Asks for a request to `host` at `now`; an admitted one ends at once.
    fn ask(gate: &mut Gate, host: &str, now: Instant, policies: &Policies) -> Decision {
        let decision = gate.decide(host, None, now, policies);
        if matches!(decision, Decision::Admit) {
            gate.done(host, now, policies);
        }
        decision
    }

    fn admitted(d: &Decision) -> bool {
        matches!(d, Decision::Admit)
    }

    #[test]
    fn spacing_between_requests() {
        let t0 = Instant::now();
        let p = rules("a.example", 2 * SECOND, 100, 300 * SECOND);
        let mut gate = Gate::default();
        assert!(admitted(&ask(&mut gate, "a.example", t0, &p)));
        let at = t0 + SECOND / 2;
        assert!(matches!(
            ask(&mut gate, "a.example", at, &p),
            Decision::WaitUntil(t) if t == t0 + 2 * SECOND
        ));
        // Another host has its own spacing; an unlisted one the default.
        assert!(admitted(&ask(&mut gate, "b.example", at, &p)));
        assert!(matches!(
            ask(&mut gate, "b.example", at + SECOND / 2, &p),
            Decision::WaitUntil(t) if t == at + DEFAULT_MIN_SPACING
        ));
        assert_eq!(gate.turn_at("a.example", &p), Some(t0 + 2 * SECOND));
        assert_eq!(gate.turn_at("never.example", &p), None);
        assert!(admitted(&ask(&mut gate, "a.example", t0 + 2 * SECOND, &p)));
        // A longer `Crawl-delay` wins, capped.
        gate.set_crawl_delay("a.example", 3600 * SECOND, t0, &p);
        assert_eq!(
            gate.turn_at("a.example", &p),
            Some(t0 + 2 * SECOND + MAX_CRAWL_DELAY)
        );
        let (hosts, _) = gate.status(t0, &p);
        let requests: Vec<_> = hosts.iter().map(|h| (h.listed, h.requests)).collect();
        assert_eq!(requests, [(true, 2), (false, 1)]);
    }

    #[test]
    fn a_pause_refuses_until_it_is_over() {
        let t0 = Instant::now();
        let p = rules("a.example", Duration::ZERO, 100, 300 * SECOND);
        let mut gate = Gate::default();
        gate.pause("a.example", 120 * SECOND, (t0, wall()), &p);
        let until = wall() + chrono::Duration::seconds(120);
        assert_eq!(gate.blocked_until("a.example", t0), Some(until));
        match ask(&mut gate, "a.example", t0 + 119 * SECOND, &p) {
            Decision::Refuse(FetchError::RateLimited { until: u }) => assert_eq!(u, until),
            other => panic!("{other:?}"),
        }
        assert!(admitted(&ask(
            &mut gate,
            "a.example",
            t0 + 120 * SECOND,
            &p
        )));
        assert_eq!(gate.blocked_until("a.example", t0), None, "cleared");
        // At least a second, at most MAX_BACKOFF.
        gate.pause("b.example", Duration::ZERO, (t0, wall()), &p);
        assert!(!admitted(&ask(&mut gate, "b.example", t0, &p)));
        gate.pause("c.example", 86_400 * SECOND, (t0, wall()), &p);
        assert!(admitted(&ask(&mut gate, "c.example", t0 + MAX_BACKOFF, &p)));
        // A pause restored from an earlier run, and one already over.
        let later = wall() + chrono::Duration::seconds(30);
        gate.pause_until("d.example", later, (t0, wall()), &p);
        assert_eq!(gate.blocked_until("d.example", t0), Some(later));
        assert!(!admitted(&ask(
            &mut gate,
            "d.example",
            t0 + 29 * SECOND,
            &p
        )));
        gate.pause_until(
            "e.example",
            wall(),
            (t0, wall() + chrono::Duration::seconds(1)),
            &p,
        );
        assert_eq!(gate.blocked_until("e.example", t0), None);
    }

    #[test]
    fn budgets_run_out_and_roll_over() {
        let t0 = Instant::now();
        let p = rules("a.example", Duration::ZERO, 2, 60 * SECOND);
        let mut gate = Gate::default();
        assert!(admitted(&ask(&mut gate, "a.example", t0, &p)));
        assert!(admitted(&ask(&mut gate, "a.example", t0, &p)));
        // Spent for longer than is worth waiting: refused, nothing counted.
        match ask(&mut gate, "a.example", t0 + SECOND, &p) {
            Decision::Refuse(FetchError::Budget {
                key, max, retry_in, ..
            }) => {
                assert_eq!((key.as_str(), max), ("host a.example", 2));
                assert_eq!(retry_in, 59 * SECOND);
            }
            other => panic!("{other:?}"),
        }
        // Free again within MAX_BUDGET_WAIT: wait for the window's end.
        assert!(matches!(
            ask(&mut gate, "a.example", t0 + 55 * SECOND, &p),
            Decision::WaitUntil(t) if t == t0 + 60 * SECOND
        ));
        let (_, budgets) = gate.status(t0 + 55 * SECOND, &p);
        assert_eq!((budgets[0].used, budgets[0].max_requests), (2, 2));
        // A new window: counting starts afresh.
        assert!(admitted(&ask(&mut gate, "a.example", t0 + 60 * SECOND, &p)));
        let (_, budgets) = gate.status(t0 + 60 * SECOND, &p);
        assert_eq!(budgets[0].used, 1);
        // Shown as unused once its window is over.
        let (hosts, budgets) = gate.status(t0 + 120 * SECOND, &p);
        assert_eq!((hosts[0].requests, budgets[0].used), (3, 0));
    }

    #[test]
    fn a_source_kinds_budget_counts_too() {
        let t0 = Instant::now();
        let p = rules("hf.example", Duration::ZERO, 100, 300 * SECOND);
        let api = Budget {
            key: "hf.example api".to_string(),
            max_requests: 1,
            window: 5 * SECOND,
        };
        let mut gate = Gate::default();
        assert!(admitted(&gate.decide("hf.example", Some(&api), t0, &p)));
        assert!(matches!(
            gate.decide("hf.example", Some(&api), t0, &p),
            Decision::WaitUntil(t) if t == t0 + 5 * SECOND
        ));
        // Requests outside that budget still go.
        assert!(admitted(&gate.decide("hf.example", None, t0, &p)));
        let (_, budgets) = gate.status(t0, &p);
        let used: Vec<_> = budgets.iter().map(|b| (b.key.as_str(), b.used)).collect();
        assert_eq!(used, [("hf.example api", 1), ("host hf.example", 2)]);
    }

    #[test]
    fn at_most_max_hosts_are_kept() {
        let t0 = Instant::now();
        let p = rules("own.example", Duration::ZERO, 100, 300 * SECOND);
        let mut gate = Gate::default();
        // The operator's host paused, and a stranger's with a request in
        // flight: both outlive any number of others.
        gate.pause("own.example", 3600 * SECOND, (t0, wall()), &p);
        let busy = gate.in_flight("busy.example", t0, &p);
        let _held = busy.try_lock().unwrap();
        let mut most = 0;
        for i in 0..MAX_HOSTS + 300 {
            let now = t0 + Duration::from_millis(i as u64);
            assert!(admitted(&ask(&mut gate, &format!("h{i}.example"), now, &p)));
            most = most.max(gate.tracked().0);
        }
        assert!(most <= MAX_HOSTS, "{most}");
        let (tracked, forgotten) = gate.tracked();
        assert!(forgotten > 0, "{tracked} {forgotten}");
        let (hosts, budgets) = gate.status(t0, &p);
        assert!(budgets.len() <= MAX_HOSTS);
        assert!(hosts.iter().any(|h| h.host == "busy.example"));
        assert!(gate.blocked_until("own.example", t0).is_some());
        // The least recently used went first; the newest are kept.
        let last = format!("h{}.example", MAX_HOSTS + 299);
        assert!(hosts.iter().any(|h| h.host == last));
        assert!(!hosts.iter().any(|h| h.host == "h0.example"));
        // Once their spacing is over, idle hosts are forgotten first, all
        // of them, and their requests still counted.
        let later = t0 + 3600 * SECOND;
        let before = tracked as u64 - 2 + forgotten;
        for i in 0..=MAX_HOSTS - tracked {
            drop(gate.in_flight(&format!("new{i}.example"), later, &p));
        }
        let (tracked, forgotten) = gate.tracked();
        assert_eq!(tracked, 3, "the operator's, the busy one, the newest");
        assert_eq!(forgotten, before);
    }
}
