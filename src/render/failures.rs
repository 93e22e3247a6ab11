//! Failures in words a person understands, for the pages anyone reads:
//! `huggingface.co: DNS lookup failed (the name does not resolve from
//! here)`, `example.org: the feed is not well-formed (line 3, col 18)`.
//!
//! Its own module because the index used to show a bare kind (`connect`)
//! at its bottom, and a topic page said "Nothing here yet" while every
//! source failed: whoever reads those pages is rarely the operator reading
//! `/status`, and needs the cause said, not coded. A reload of the
//! definitions refused while serving ([`RejectedReload`]) is said here too:
//! before, only the log had it.
//!
//! SECURITY: the words are made only of a source's host, the error's kind,
//! its HTTP status and the place in the document, never of the error's
//! message (it may quote upstream bytes) nor of the URL (its path, query
//! or userinfo may hold a token). And the same state always gives the same
//! words, none of them a time that moves per poll: a page made of them
//! changes only when a source's health does, so its ETag holds still.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::config::{Definitions, Source};
use crate::rules::Topic;
use crate::store::{SourceError, SourceState};

/// Failing sources the top of the index names one by one; past it, it
/// says how many more (each has its row under Sources).
pub const MAX_LINES: usize = 10;

/// What went wrong, as a person would tell it apart: the kinds
/// [`crate::fetch::FetchError::kind`] and the poller record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Dns,
    Connect,
    Timeout,
    HttpStatus,
    TooLarge,
    Body,
    Redirect,
    InternalAddress,
    RateLimited,
    Budget,
    HtmlPage,
    NotAFeed,
    Malformed,
    TooDeep,
    EmptyListing,
    Store,
    Internal,
    /// `fetch`, and any kind this version does not know (a store written
    /// by a later one).
    Other,
}

impl Failure {
    /// The failure a stored kind ([`SourceError::kind`]) names.
    pub fn of(kind: &str) -> Failure {
        match kind {
            "dns" => Failure::Dns,
            "connect" => Failure::Connect,
            "timeout" => Failure::Timeout,
            "http_status" => Failure::HttpStatus,
            "too_large" => Failure::TooLarge,
            "body" => Failure::Body,
            "redirect" => Failure::Redirect,
            "internal_address" => Failure::InternalAddress,
            "rate_limited" => Failure::RateLimited,
            "budget" => Failure::Budget,
            "html_page" => Failure::HtmlPage,
            "not_a_feed" => Failure::NotAFeed,
            "malformed" => Failure::Malformed,
            "too_deep" => Failure::TooDeep,
            "empty_listing" => Failure::EmptyListing,
            "store" => Failure::Store,
            "internal" => Failure::Internal,
            _ => Failure::Other,
        }
    }

    /// No answer came at all: when every source fails so, the machine is
    /// more likely offline than every upstream down.
    fn no_answer(self) -> bool {
        matches!(self, Failure::Dns | Failure::Connect | Failure::Timeout)
    }
}

/// The failure in words, without the host.
pub fn words(e: &SourceError) -> String {
    let said = match Failure::of(&e.kind) {
        Failure::Dns => "DNS lookup failed (the name does not resolve from here)",
        Failure::Connect => "could not connect (refused, or nothing answered)",
        Failure::Timeout => "timed out before the answer was complete",
        Failure::HttpStatus => return status_words(e.status),
        Failure::TooLarge => "the answer is larger than the source's size limit (max_body)",
        Failure::Body => "the connection broke while the answer arrived",
        Failure::Redirect => {
            "its redirects lead nowhere usable (a loop, too many, or a refused target)"
        }
        Failure::InternalAddress => {
            "its name points into a private network, which a public source may not reach"
        }
        Failure::RateLimited => "paused: the site asked us to wait before asking again",
        Failure::Budget => "paused: the request budget for its host is spent",
        Failure::HtmlPage => "an HTML page was served where a feed was expected",
        Failure::NotAFeed => "what it served is not a feed",
        Failure::Malformed => {
            return match e.place {
                Some(at) => format!("the feed is not well-formed ({at})"),
                None => "the feed could not be read (refused, or broken beyond repair)".into(),
            }
        }
        Failure::TooDeep => "the document nests too deeply to be read safely",
        Failure::EmptyListing => {
            "no items where there used to be some (the page's layout probably changed)"
        }
        Failure::Store => "storing what it served failed (a problem on this server)",
        Failure::Internal => "an internal error of this server",
        Failure::Other => "the request failed",
    };
    said.to_string()
}

/// An HTTP status in words: what it usually means for a feed.
fn status_words(status: Option<u16>) -> String {
    let Some(s) = status else {
        return "the site answered with an error".into();
    };
    let meaning = match s {
        401 | 403 => "access denied (the site refuses us, or wants a login)",
        404 => "not found (the feed moved or was removed?)",
        410 => "gone (the site removed the feed for good)",
        429 => "too many requests (the site asks us to slow down)",
        503 => "the site is unavailable for now",
        500..=599 => "the site failed to answer (an error on its side)",
        400..=499 => "the site refused the request",
        _ => "an answer that is not the feed",
    };
    format!("HTTP {s}: {meaning}")
}

/// `host: words`, the line a page shows for one failing source. The host
/// only (see the module doc).
pub fn line(source: &Source, e: &SourceError) -> String {
    format!(
        "{}: {}",
        source.url.host_str().unwrap_or_default(),
        words(e)
    )
}

/// What the top of the index says when sources fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `No source could be fetched: DNS lookups fail — is this machine
    /// online?`, `Every source is failing:`, `2 of 5 sources are failing:`.
    pub headline: String,
    /// One per host and failure (`… (3 sources)` when several share
    /// one), in the definitions' order, at most [`MAX_LINES`].
    pub lines: Vec<String>,
    /// Lines left out past [`MAX_LINES`].
    pub more: usize,
}

/// The summary of `sources` (those the page may name, with their state),
/// when any is failing.
pub fn summary(sources: &[(&Source, &SourceState)]) -> Option<Summary> {
    let failing: Vec<(&Source, &SourceError)> = sources
        .iter()
        .filter_map(|(s, st)| st.last_error.as_ref().map(|e| (*s, e)))
        .collect();
    if failing.is_empty() {
        return None;
    }
    let headline = if failing.len() < sources.len() {
        format!(
            "{} of {} sources are failing:",
            failing.len(),
            sources.len()
        )
    } else {
        let kinds: Vec<Failure> = failing.iter().map(|(_, e)| Failure::of(&e.kind)).collect();
        if kinds.iter().all(|k| *k == Failure::Dns) {
            "No source could be fetched: DNS lookups fail — is this machine online?".into()
        } else if kinds.iter().all(|k| k.no_answer()) {
            "No source could be fetched: nothing answers — is this machine online?".into()
        } else {
            "Every source is failing:".into()
        }
    };
    let mut lines: Vec<(String, usize)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (s, e) in failing {
        let l = line(s, e);
        match seen.get(&l) {
            Some(&i) => lines[i].1 += 1,
            None => {
                seen.insert(l.clone(), lines.len());
                lines.push((l, 1));
            }
        }
    }
    let more = lines.len().saturating_sub(MAX_LINES);
    lines.truncate(MAX_LINES);
    Some(Summary {
        headline,
        lines: lines
            .into_iter()
            .map(|(l, n)| match n {
                1 => l,
                n => format!("{l} ({n} sources)"),
            })
            .collect(),
        more,
    })
}

/// The sources whose health a topic's pages speak for: those it takes
/// (its `sources`, else every source), less those only private topics
/// take unless it is private itself (a public page must not name what a
/// private topic follows). For every entry, `topic` is
/// [`Topic::everything`]: every source, less the private ones.
pub fn topic_sources<'a>(defs: &'a Definitions, topic: &Topic) -> Vec<&'a Source> {
    let private = defs.rules.private_sources();
    let shows_private = topic.private;
    let named = topic.source_filter();
    defs.sources
        .iter()
        .filter(|s| named.is_none_or(|ids| ids.contains(&s.id)))
        .filter(|s| shows_private || !private.contains(s.id.as_str()))
        .collect()
}

/// When every one of `sources` is failing (and there is one): the line of
/// the one whose failure began last. `None` while one works or has not
/// been polled yet.
pub fn all_failing(sources: &[(&Source, &SourceState)]) -> Option<String> {
    let mut last: Option<(&Source, &SourceError, Option<DateTime<Utc>>)> = None;
    for (s, st) in sources {
        let e = st.last_error.as_ref()?;
        // Since when it fails this way: it moves only on a change of
        // state, unlike the time of the last failed poll.
        if last.is_none_or(|(_, _, since)| st.health_since > since) {
            last = Some((s, e, st.health_since));
        }
    }
    last.map(|(s, e, _)| line(s, e))
}

/// A reload of the definitions the server refused (a typo saved while
/// serving): the previous definitions stay in force, and the index and
/// `/status` say so until a reload succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedReload {
    pub at: DateTime<Utc>,
    /// The definitions folder's own name (`feeds`), not its path.
    pub folder: String,
    /// What the index says of why: the file and the kind of problem
    /// ([`crate::config::ConfigError::public_reason`]), never the file's
    /// text (a URL in it may carry a token; a private topic's definition
    /// is no one else's business).
    pub reason: String,
    /// The error as `feedloom check` prints it, on one line with URLs cut
    /// to their public part, for `/status`.
    pub error: String,
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A feed source `id` at `url`, as the definitions would compile it.
    pub(in crate::render) fn source_at(id: &str, url: &str) -> Source {
        Source {
            id: id.into(),
            title: id.into(),
            url: url.parse().unwrap(),
            interval: std::time::Duration::from_secs(3600),
            kind: crate::extract::SourceKind::Feed,
            timeout: std::time::Duration::from_secs(20),
            max_body: 1 << 20,
            priority: 0,
            allow_http_redirect: false,
            internal: false,
            fingerprint: String::new(),
            file: format!("feeds/{id}.toml").into(),
            fulltext: None,
        }
    }

    fn source(url: &str) -> Source {
        source_at("s", url)
    }

    fn error(kind: &str, status: Option<u16>, message: &str) -> SourceError {
        SourceError {
            kind: kind.into(),
            status,
            message: message.into(),
            at: "2026-10-01T10:00:00Z".parse().unwrap(),
            place: None,
        }
    }

    fn failing(e: SourceError, since: &str) -> SourceState {
        SourceState {
            health_since: Some(since.parse().unwrap()),
            last_error: Some(e),
            ..Default::default()
        }
    }

    #[test]
    fn each_failure_in_words_with_the_host_only() {
        let s = source("https://u:pw@huggingface.co/api/papers?token=SECRET");
        let marker = "MARKER <b>upstream bytes</b> https://x.example/?token=SECRET";
        let cases = [
            ("dns", None, "huggingface.co: DNS lookup failed"),
            ("connect", None, "huggingface.co: could not connect"),
            ("timeout", None, "huggingface.co: timed out"),
            (
                "http_status",
                Some(404),
                "huggingface.co: HTTP 404: not found",
            ),
            ("http_status", Some(403), "HTTP 403: access denied"),
            ("http_status", Some(429), "HTTP 429: too many requests"),
            (
                "http_status",
                Some(500),
                "HTTP 500: the site failed to answer",
            ),
            (
                "http_status",
                Some(503),
                "HTTP 503: the site is unavailable",
            ),
            ("http_status", Some(418), "HTTP 418: the site refused"),
            ("too_large", None, "larger than the source's size limit"),
            (
                "html_page",
                Some(200),
                "an HTML page was served where a feed",
            ),
            ("not_a_feed", Some(200), "what it served is not a feed"),
            ("malformed", Some(200), "the feed could not be read"),
            ("internal_address", None, "private network"),
            ("redirect", None, "redirects lead nowhere usable"),
            (
                "a kind from the future",
                None,
                "huggingface.co: the request failed",
            ),
        ];
        for (kind, status, expect) in cases {
            let said = line(&s, &error(kind, status, marker));
            assert!(said.contains(expect), "{kind}: {said}");
            for secret in ["MARKER", "SECRET", "upstream", "pw", "/api", "<"] {
                assert!(!said.contains(secret), "{kind}: {said}");
            }
        }
        let mut e = error("malformed", Some(200), marker);
        e.place = Some(crate::repairs::Location {
            line: 3,
            column: 18,
        });
        assert_eq!(
            line(&source("http://example.org/feed"), &e),
            "example.org: the feed is not well-formed (line 3, col 18)"
        );
    }

    #[test]
    fn every_kind_the_fetcher_records_has_its_words() {
        use crate::fetch::FetchError;
        let url: url::Url = "http://x.example/".parse().unwrap();
        let d = std::time::Duration::from_secs(1);
        for e in [
            FetchError::Timeout(d),
            FetchError::Dns(String::new()),
            FetchError::Connect(String::new()),
            FetchError::Redirects,
            FetchError::RedirectLoop(url.clone()),
            FetchError::RedirectRefused(url, "x"),
            FetchError::Internal(String::new()),
            FetchError::Status {
                status: 500,
                retry_after: None,
            },
            FetchError::TooLarge { limit: 1 },
            FetchError::Body(String::new()),
            FetchError::RateLimited { until: Utc::now() },
            FetchError::Budget {
                key: String::new(),
                max: 1,
                window: d,
                retry_in: d,
            },
        ] {
            assert_ne!(Failure::of(e.kind()), Failure::Other, "{e:?}");
        }
        assert_eq!(
            Failure::of(FetchError::Other(String::new()).kind()),
            Failure::Other
        );
    }

    #[test]
    fn the_summary_says_offline_and_names_each_host_once() {
        let (a, b, c) = (
            source("https://a.example/feed"),
            source("https://b.example/feed"),
            source("https://b.example/other"),
        );
        let dns = failing(error("dns", None, ""), "2026-10-01T10:00:00Z");
        let sources = [(&a, &dns), (&b, &dns), (&c, &dns)];
        let s = summary(&sources).unwrap();
        assert_eq!(
            s.headline,
            "No source could be fetched: DNS lookups fail — is this machine online?"
        );
        assert_eq!(s.lines.len(), 2, "{s:?}");
        assert!(s.lines[1].starts_with("b.example: DNS lookup failed"));
        assert!(s.lines[1].ends_with("(2 sources)"), "{s:?}");
        let refused = failing(error("connect", None, ""), "2026-10-01T10:00:00Z");
        let s = summary(&[(&a, &dns), (&b, &refused)]).unwrap();
        assert!(s
            .headline
            .starts_with("No source could be fetched: nothing answers"));
        let ok = SourceState {
            last_success: Some(Utc::now()),
            ..Default::default()
        };
        let s = summary(&[(&a, &dns), (&b, &ok)]).unwrap();
        assert_eq!(s.headline, "1 of 2 sources are failing:");
        assert_eq!(summary(&[(&a, &ok)]), None);
        // Bounded: ten lines, and how many more.
        let many: Vec<Source> = (0..25)
            .map(|i| source(&format!("https://h{i}.example/")))
            .collect();
        let sources: Vec<_> = many.iter().map(|s| (s, &dns)).collect();
        let s = summary(&sources).unwrap();
        assert_eq!((s.lines.len(), s.more), (MAX_LINES, 15));
    }

    #[test]
    fn a_topic_fails_only_when_every_source_does() {
        let (a, b) = (
            source("https://a.example/feed"),
            source("https://b.example/feed"),
        );
        let older = failing(error("dns", None, ""), "2026-10-01T10:00:00Z");
        let newer = failing(error("http_status", Some(404), ""), "2026-10-02T10:00:00Z");
        let said = all_failing(&[(&a, &older), (&b, &newer)]).unwrap();
        assert_eq!(
            said,
            "b.example: HTTP 404: not found (the feed moved or was removed?)"
        );
        let unpolled = SourceState::default();
        assert_eq!(all_failing(&[(&a, &older), (&b, &unpolled)]), None);
        assert_eq!(all_failing(&[]), None);
    }
}
