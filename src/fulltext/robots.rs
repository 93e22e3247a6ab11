//! `robots.txt` for article fetches: fetched once per origin per
//! [`ROBOTS_TTL`] through the same [`Fetcher`] (so the host's spacing and
//! budget apply), parsed here ([`Rules`]), and asked for our user agent's
//! token.
//!
//! A `Crawl-delay` is obeyed (up to [`crate::fetch::MAX_CRAWL_DELAY`]): the
//! fetcher spaces every request to that host by it, polls included.
//!
//! As crawlers read it (RFC 9309): a `robots.txt` that is missing or
//! answers 4xx allows everything; one that cannot be fetched (5xx, network)
//! allows nothing for now, so the article is tried again later; a redirect
//! we may not follow (into the operator's network, `https` → `http`) makes
//! it unavailable, like a 4xx (§2.3.1.2); lines that are not rules are
//! skipped. When the origin itself is refused (the link points into the
//! operator's network), that error is returned: the article is refused too.
//!
//! SECURITY: the file is a stranger's (any feed of a `fulltext` source can
//! link any site). It is parsed in one linear pass into plain data, and only
//! the group that applies to us is kept, at most [`MAX_RULES`] rules and
//! [`MAX_RULE_BYTES`] per origin (the rest are ignored, and logged); a
//! regex-based parser kept 230–310 MB per hostile 512 KiB file (issue #26).
//! Matching is substring search, linear in the path and the pattern per
//! rule, never a regex. The cache holds at most [`MAX_ORIGINS`] origins and
//! [`MAX_CACHE_BYTES`] in all (it is cleared when full: an origin's file is
//! then fetched again, which is only a little wasteful).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use url::Url;

use crate::config::Source;
use crate::fetch::{FetchError, FetchRequest, Fetched, Fetcher};

/// How long a fetched `robots.txt` is trusted.
pub const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// Origins whose `robots.txt` is kept in memory.
pub const MAX_ORIGINS: usize = 1024;
/// The largest `robots.txt` read (Google reads 500 KiB).
pub const MAX_ROBOTS_BODY: usize = 512 * 1024;
/// Rules kept of one origin's file (of the group that applies to us);
/// more are ignored. Large real files hold a few hundred.
pub const MAX_RULES: usize = 2_000;
/// Bytes one origin's kept rules take at most: their patterns and their
/// records ([`Rules::bytes`]); rules past it are ignored.
pub const MAX_RULE_BYTES: usize = 64 * 1024;
/// Bytes the whole cache holds at most (entries' [`Rules::bytes`], their
/// origin names and bookkeeping).
pub const MAX_CACHE_BYTES: usize = 8 * 1024 * 1024;
/// The token matched against `User-agent:` lines.
pub const AGENT: &str = "feedloom";

/// Bookkeeping counted per cached origin besides its name and rules (the
/// map's slot, the time, the `Arc`).
const ENTRY_OVERHEAD: usize = 96;

/// One allow or disallow rule: its pattern is `patterns[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    start: u32,
    end: u32,
    allow: bool,
}

/// The rules of the group of one `robots.txt` that applies to an agent
/// (RFC 9309 §2.2.1): every group naming its token (case-insensitively),
/// combined; if none does, every group for `*`; if there is none, no rules
/// (everything allowed).
///
/// A path is allowed unless the longest matching rule (in bytes of its
/// pattern) is a `Disallow`; an `Allow` as long wins (§2.2.2). Patterns
/// match from the start of the path and query; `*` matches any run of
/// characters, a final `$` the end (§2.2.3). Patterns and paths are
/// compared percent-normalized: unreserved characters decoded, other
/// escapes in upper case, bytes outside printable ASCII encoded (UTF-8),
/// so `/%62az`, `/baz` and `/b%61z` are one path, as are `/ツ` and
/// `/%e3%83%84`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Every kept pattern, normalized (printable ASCII), one after another.
    patterns: String,
    /// Longest pattern first, `Allow` first among equals: the first rule
    /// that matches decides.
    rules: Vec<Rule>,
    crawl_delay: Option<Duration>,
    /// Rules past [`MAX_RULES`] or [`MAX_RULE_BYTES`], ignored.
    ignored: usize,
}

/// Rules of the groups for one kind of agent, as they are read.
#[derive(Default)]
struct Group {
    rules: Rules,
    /// A `User-agent` line named it (even a group without rules counts).
    named: bool,
}

impl Group {
    fn push(&mut self, allow: bool, value: &[u8]) {
        let r = &mut self.rules;
        // A pattern longer than the bound could never be kept; skip it
        // before normalizing (which may grow it threefold).
        if r.rules.len() >= MAX_RULES || value.len() > MAX_RULE_BYTES {
            r.ignored += 1;
            return;
        }
        let start = r.patterns.len();
        // RFC 9309 patterns start with `/`; `*` is common, and a bare
        // `page.html` means the path.
        if !matches!(value.first(), Some(b'/' | b'*')) {
            r.patterns.push('/');
        }
        normalize(value, &mut r.patterns);
        let records = (r.rules.len() + 1) * std::mem::size_of::<Rule>();
        if r.patterns.len() + records > MAX_RULE_BYTES {
            r.patterns.truncate(start);
            r.ignored += 1;
            return;
        }
        r.rules.push(Rule {
            start: start as u32,
            end: r.patterns.len() as u32,
            allow,
        });
    }
}

impl Rules {
    /// The rules `body` sets for `agent` (a product token, such as
    /// [`AGENT`]). Never fails: lines that are not records are skipped.
    pub fn parse(body: &[u8], agent: &str) -> Rules {
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let (mut ours, mut any) = (Group::default(), Group::default());
        // Which agents the group being read is for; `in_agents` while its
        // `User-agent` lines run (a rule ends them; the next starts a new
        // group).
        let (mut for_us, mut for_any, mut in_agents) = (false, false, false);
        for line in body.split(|b| matches!(b, b'\n' | b'\r')) {
            let line = match line.iter().position(|&b| b == b'#') {
                Some(i) => &line[..i],
                None => line,
            };
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let key = line[..colon].trim_ascii();
            let value = line[colon + 1..].trim_ascii();
            let is = |name: &str| key.eq_ignore_ascii_case(name.as_bytes());
            if is("user-agent") || is("useragent") || is("user agent") {
                if !in_agents {
                    (for_us, for_any, in_agents) = (false, false, true);
                }
                // The product token: `FeedLoom/1.0 (+https://…)` names
                // `feedloom` (§2.2.1: letters, `_` and `-`).
                let token_end = value
                    .iter()
                    .position(|&b| !(b.is_ascii_alphabetic() || b == b'_' || b == b'-'))
                    .unwrap_or(value.len());
                if token_end > 0 && value[..token_end].eq_ignore_ascii_case(agent.as_bytes()) {
                    for_us = true;
                    ours.named = true;
                }
                if value.split(u8::is_ascii_whitespace).next() == Some(b"*") {
                    for_any = true;
                    any.named = true;
                }
                continue;
            }
            let rule = if is("allow") {
                Some(true)
            } else if is("disallow") {
                Some(false)
            } else if is("crawl-delay") {
                None
            } else {
                // Sitemap and unknown records neither end a group nor
                // belong to one (§2.2.4).
                continue;
            };
            in_agents = false;
            for (applies, group) in [(for_us, &mut ours), (for_any, &mut any)] {
                if !applies {
                    continue;
                }
                match rule {
                    // An empty `Disallow:` allows everything: no rule.
                    Some(_) if value.is_empty() => {}
                    Some(allow) => group.push(allow, value),
                    None => {
                        if group.rules.crawl_delay.is_none() {
                            group.rules.crawl_delay = parse_delay(value);
                        }
                    }
                }
            }
        }
        let mut rules = if ours.named {
            ours.rules
        } else if any.named {
            any.rules
        } else {
            Rules::default()
        };
        rules
            .rules
            .sort_by_key(|r| (std::cmp::Reverse(r.end - r.start), !r.allow));
        rules.patterns.shrink_to_fit();
        rules.rules.shrink_to_fit();
        rules
    }

    /// Whether `url` (its path and query) may be fetched.
    pub fn allows(&self, url: &Url) -> bool {
        self.allows_path(&url[url::Position::BeforePath..url::Position::AfterQuery])
    }

    /// Whether a path (with its query, if any) may be fetched.
    pub fn allows_path(&self, path: &str) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        let mut normalized = String::with_capacity(path.len());
        normalize(path.as_bytes(), &mut normalized);
        self.rules
            .iter()
            .find(|r| {
                matches(
                    &self.patterns[r.start as usize..r.end as usize],
                    &normalized,
                )
            })
            .is_none_or(|r| r.allow)
    }

    /// The `Crawl-delay` of the group, if it set one.
    pub fn crawl_delay(&self) -> Option<Duration> {
        self.crawl_delay
    }

    /// Rules kept.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rules of the group ignored past [`MAX_RULES`] or
    /// [`MAX_RULE_BYTES`].
    pub fn ignored(&self) -> usize {
        self.ignored
    }

    /// Bytes the kept rules take (their patterns and records; at most
    /// [`MAX_RULE_BYTES`]), besides this struct itself.
    pub fn bytes(&self) -> usize {
        self.patterns.capacity() + self.rules.capacity() * std::mem::size_of::<Rule>()
    }
}

/// A `Crawl-delay` value in seconds (fractions allowed); nonsense is none.
fn parse_delay(value: &[u8]) -> Option<Duration> {
    let seconds: f64 = std::str::from_utf8(value).ok()?.parse().ok()?;
    // Capped at a day here (the fetcher caps it far lower) so that no
    // value overflows a Duration; `NaN`, `inf` and negatives are none.
    if !seconds.is_finite() {
        return None;
    }
    Duration::try_from_secs_f64(seconds.min(86_400.0)).ok()
}

/// Appends `raw` percent-normalized (RFC 9309 §2.2.2, RFC 3986 §6.2.2):
/// `%XX` of an unreserved character decoded, other `%XX` in upper case, a
/// `%` that starts no escape and every byte outside printable ASCII
/// encoded. The result is printable ASCII.
fn normalize(raw: &[u8], out: &mut String) {
    fn push_escaped(out: &mut String, b: u8) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.push('%');
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) {
                let v = (h * 16 + l) as u8;
                if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                    out.push(v as char);
                } else {
                    push_escaped(out, v);
                }
                i += 3;
                continue;
            }
            push_escaped(out, b);
        } else if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            push_escaped(out, b);
        }
        i += 1;
    }
}

/// Whether `pattern` (normalized) matches `path` (normalized) from its
/// start. Each `*`-separated piece is found at its leftmost place after
/// the one before (which leaves the most room to those after, so it is
/// exact for `*`-only globs): substring searches (Two-Way, linear), so one
/// rule costs O(path + pattern), never more.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let Some((head, last)) = pattern.rsplit_once('*') else {
        return if anchored {
            path == pattern
        } else {
            path.starts_with(pattern)
        };
    };
    let mut pieces = head.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    for piece in pieces.filter(|p| !p.is_empty()) {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    if anchored {
        rest.ends_with(last)
    } else {
        rest.contains(last)
    }
}

/// One origin's rules: `None` allows everything.
type Cached = Option<Arc<Rules>>;

#[derive(Default)]
struct Cache {
    entries: HashMap<String, (Cached, Instant)>,
    /// [`cost`] of every entry.
    bytes: usize,
}

/// What one cached origin counts against [`MAX_CACHE_BYTES`].
fn cost(origin: &str, rules: &Cached) -> usize {
    origin.len()
        + ENTRY_OVERHEAD
        + rules
            .as_ref()
            .map_or(0, |r| std::mem::size_of::<Rules>() + r.bytes())
}

pub struct Robots {
    cache: Mutex<Cache>,
    /// Origins kept at most: [`MAX_ORIGINS`] (smaller in tests).
    capacity: usize,
    /// Bytes kept at most: [`MAX_CACHE_BYTES`] (smaller in tests).
    byte_capacity: usize,
    /// One lock per origin being fetched, so articles of one site asked
    /// at once fetch its `robots.txt` once.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Default for Robots {
    fn default() -> Self {
        Robots::with_limits(MAX_ORIGINS, MAX_CACHE_BYTES)
    }
}

impl Robots {
    /// A cache of at most `capacity` origins (and [`MAX_CACHE_BYTES`]).
    pub fn with_capacity(capacity: usize) -> Self {
        Robots::with_limits(capacity, MAX_CACHE_BYTES)
    }

    /// A cache of at most `capacity` origins and `bytes` bytes.
    pub fn with_limits(capacity: usize, bytes: usize) -> Self {
        Robots {
            cache: Mutex::default(),
            capacity: capacity.max(1),
            byte_capacity: bytes,
            fetching: Mutex::default(),
        }
    }

    /// Whether `url` may be fetched for `source`; an error when the
    /// origin's `robots.txt` could not be read (try again later), or the
    /// origin itself is refused ([`FetchError::Internal`],
    /// [`FetchError::RedirectRefused`] of the file's own URL).
    pub async fn allowed(
        &self,
        fetcher: &Fetcher,
        source: &Source,
        url: &Url,
    ) -> Result<bool, FetchError> {
        let origin = url.origin().ascii_serialization();
        if let Some(rules) = self.cached(&origin) {
            return Ok(verdict(fetcher, url, rules.as_deref()));
        }
        let lock = self
            .fetching
            .lock()
            .expect("robots lock")
            .entry(origin.clone())
            .or_default()
            .clone();
        let rules = {
            let _one = lock.lock().await;
            // Fetched by the task that held the lock before.
            match self.cached(&origin) {
                Some(rules) => rules,
                None => {
                    let fetched = fetch_rules(fetcher, source, url, &origin).await;
                    if let Ok(rules) = &fetched {
                        self.remember(origin.clone(), rules.clone());
                    }
                    self.fetching.lock().expect("robots lock").remove(&origin);
                    fetched?
                }
            }
        };
        Ok(verdict(fetcher, url, rules.as_deref()))
    }

    /// Origins cached now, expired ones included (at most [`MAX_ORIGINS`]).
    pub fn origins(&self) -> usize {
        self.cache.lock().expect("robots cache lock").entries.len()
    }

    /// Bytes the cache holds now (at most [`MAX_CACHE_BYTES`]).
    pub fn bytes(&self) -> usize {
        self.cache.lock().expect("robots cache lock").bytes
    }

    fn cached(&self, origin: &str) -> Option<Cached> {
        let cache = self.cache.lock().expect("robots cache lock");
        cache
            .entries
            .get(origin)
            .filter(|(_, at)| at.elapsed() < ROBOTS_TTL)
            .map(|(rules, _)| rules.clone())
    }

    /// Caches `rules` for `origin`, first emptying the cache if it would
    /// pass either bound.
    fn remember(&self, origin: String, rules: Cached) {
        let mut cache = self.cache.lock().expect("robots cache lock");
        if let Some(old) = cache.entries.remove(&origin) {
            cache.bytes -= cost(&origin, &old.0);
        }
        let cost = cost(&origin, &rules);
        if cache.entries.len() >= self.capacity || cache.bytes + cost > self.byte_capacity {
            cache.entries.clear();
            cache.bytes = 0;
        }
        // One origin's rules are far below the bound, but a test's bound
        // may not be: never keep more than the bound.
        if cost <= self.byte_capacity {
            cache.bytes += cost;
            cache.entries.insert(origin, (rules, Instant::now()));
        }
    }
}

/// Whether `rules` allow `url`; a `Crawl-delay` they set is handed to the
/// fetcher, which then spaces every request to the host by it.
fn verdict(fetcher: &Fetcher, url: &Url, rules: Option<&Rules>) -> bool {
    let Some(rules) = rules else {
        return true;
    };
    if let Some(delay) = rules.crawl_delay() {
        fetcher.set_crawl_delay(url.host_str().unwrap_or_default(), delay);
    }
    rules.allows(url)
}

async fn fetch_rules(
    fetcher: &Fetcher,
    source: &Source,
    url: &Url,
    origin: &str,
) -> Result<Cached, FetchError> {
    let mut robots_url = url.clone();
    robots_url.set_path("/robots.txt");
    robots_url.set_query(None);
    robots_url.set_fragment(None);
    let req = FetchRequest {
        timeout: source.timeout,
        max_body: MAX_ROBOTS_BODY,
        allow_http_redirect: source.allow_http_redirect,
        internal: source.internal,
        linked_from: Some(&source.url),
        ..FetchRequest::new(&robots_url)
    };
    match fetcher.fetch(&req).await {
        Ok(Fetched::Body { bytes, .. }) => {
            let rules = Rules::parse(&bytes, AGENT);
            if rules.ignored() > 0 {
                tracing::warn!(
                    "{origin}/robots.txt: {} rules for us past the first {} ({MAX_RULES} rules, {MAX_RULE_BYTES} bytes at most) are ignored",
                    rules.ignored(),
                    rules.len()
                );
            }
            Ok(Some(Arc::new(rules)).filter(|r| !r.is_empty() || r.crawl_delay().is_some()))
        }
        Ok(Fetched::NotModified(_)) => Ok(None),
        Err(FetchError::Status { status, .. }) if (400..500).contains(&status) && status != 429 => {
            Ok(None)
        }
        // Larger than any real robots.txt: read as allowing everything.
        Err(FetchError::TooLarge { .. }) => Ok(None),
        // A redirect we may not follow, away from the file: unavailable,
        // like a 4xx (RFC 9309 §2.3.1.2). The article's own fetch is
        // guarded on its own.
        Err(FetchError::RedirectRefused(to, _)) if to != robots_url => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(body: &str) -> Rules {
        Rules::parse(body.as_bytes(), "foobot")
    }

    /// RFC 9309 §5.1's example file, read by each agent it names.
    const RFC_EXAMPLE: &str = "User-Agent: *\n\
        Disallow: *.gif$\n\
        Disallow: /example/\n\
        Allow: /publications/\n\
        \n\
        User-Agent: foobot\n\
        Disallow:/\n\
        Allow:/example/page.html\n\
        Allow:/example/allowed.gif\n\
        \n\
        User-Agent: barbot\n\
        User-Agent: bazbot\n\
        Disallow: /example/page.html\n\
        \n\
        User-Agent: quxbot\n";

    #[test]
    fn agents_read_their_own_group_else_the_star_group() {
        let parse = |agent: &str| Rules::parse(RFC_EXAMPLE.as_bytes(), agent);
        let foo = parse("foobot");
        assert!(foo.allows_path("/example/page.html"));
        assert!(foo.allows_path("/example/allowed.gif"));
        assert!(!foo.allows_path("/publications/"));
        assert!(!foo.allows_path("/"));
        // Two agents share one group.
        for agent in ["barbot", "bazbot"] {
            let r = parse(agent);
            assert!(!r.allows_path("/example/page.html"), "{agent}");
            assert!(r.allows_path("/example/other.gif"), "{agent}");
        }
        // A group without rules allows everything.
        assert!(parse("quxbot").allows_path("/example/x.gif"));
        // Unnamed: the `*` group.
        let other = parse("feedloom");
        assert!(!other.allows_path("/a/b.gif"));
        assert!(!other.allows_path("/example/x"));
        assert!(other.allows_path("/publications/x"));
        assert!(other.allows_path("/a/b.gifs"));
    }

    #[test]
    fn the_agent_is_matched_by_its_token_case_insensitively() {
        let body = "User-agent: FeedLoom/1.0 (+https://example.org)\nDisallow: /x\n\n\
                    User-agent: *\nDisallow: /\n";
        let r = Rules::parse(body.as_bytes(), AGENT);
        assert!(!r.allows_path("/x"));
        assert!(r.allows_path("/y"));
        // Not a prefix match: `feedloomer` is another agent.
        let body = "User-agent: feedloomer\nDisallow: /\n";
        assert!(Rules::parse(body.as_bytes(), AGENT).allows_path("/y"));
        // Groups naming us are combined.
        let body = "User-agent: feedloom\nDisallow: /a\n\nUser-agent: x\nDisallow: /b\n\n\
                    User-agent: FEEDLOOM\nDisallow: /c\n";
        let r = Rules::parse(body.as_bytes(), AGENT);
        assert!(!r.allows_path("/a") && !r.allows_path("/c") && r.allows_path("/b"));
        // Rules before any user-agent line belong to no group.
        assert!(rules("Disallow: /\n").allows_path("/a"));
        // A sitemap line does not end the group's agent lines.
        let r = rules("User-agent: x\nSitemap: /s.xml\nUser-agent: foobot\nDisallow: /a\n");
        assert!(!r.allows_path("/a"));
    }

    #[test]
    fn the_longest_match_wins_and_allow_wins_ties() {
        // RFC 9309 §2.2.2's example.
        let r = rules(
            "User-agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n",
        );
        assert!(r.allows_path("/example/page/"));
        assert!(r.allows_path("/example/page/allowed.gif"));
        assert!(!r.allows_path("/example/page/disallowed.gif"));
        // Equally long: allowed, whichever comes first.
        for body in [
            "User-agent: foobot\nDisallow: /page\nAllow: /page\n",
            "User-agent: foobot\nAllow: /page\nDisallow: /page\n",
            "User-agent: foobot\nAllow: /p*ge\nDisallow: /pa*e\n",
        ] {
            assert!(rules(body).allows_path("/page"), "{body}");
        }
        // No rule matches: allowed.
        assert!(rules("User-agent: foobot\nDisallow: /a\n").allows_path("/b"));
        // An empty Disallow allows everything.
        assert!(rules("User-agent: foobot\nDisallow:\n").allows_path("/b"));
    }

    #[test]
    fn star_and_dollar() {
        let r = rules(
            "User-agent: foobot\nDisallow: /*.php$\nDisallow: /fish*.x\nDisallow: /exact$\n\
             Disallow: /a*b*c$\n",
        );
        assert!(!r.allows_path("/index.php"));
        assert!(!r.allows_path("/dir/index.php"));
        assert!(r.allows_path("/index.php?x=1"));
        assert!(r.allows_path("/index.php5"));
        assert!(!r.allows_path("/fish.x"));
        assert!(!r.allows_path("/fishheads/y.xz"));
        assert!(r.allows_path("/Fish.x"), "paths are case-sensitive");
        assert!(!r.allows_path("/exact"));
        assert!(r.allows_path("/exactly"));
        assert!(!r.allows_path("/aXbYc"));
        assert!(!r.allows_path("/abcbc"));
        assert!(r.allows_path("/abcb"));
        // `*` matches nothing too; `$` inside a pattern is a character.
        let r = rules("User-agent: foobot\nDisallow: /a*\nDisallow: /x$y\n");
        assert!(!r.allows_path("/a"));
        assert!(!r.allows_path("/x$y/z"));
        assert!(r.allows_path("/x"));
        // The query is part of what is matched.
        let r = rules("User-agent: foobot\nDisallow: /*?session=\n");
        assert!(!r.allows(&Url::parse("https://e.org/p?session=1").unwrap()));
        assert!(r.allows(&Url::parse("https://e.org/p?x=1").unwrap()));
    }

    #[test]
    fn percent_encoding_is_normalized_as_rfc_9309_says() {
        // §2.2.2's table: the same path however it is written.
        let r = rules("User-agent: foobot\nDisallow: /foo/bar/ツ\nDisallow: /foo/bar/%62%61%7A\n");
        assert!(!r.allows_path("/foo/bar/%E3%83%84"));
        assert!(!r.allows_path("/foo/bar/%e3%83%84"));
        assert!(!r.allows(&Url::parse("https://e.org/foo/bar/ツ").unwrap()));
        assert!(!r.allows_path("/foo/bar/baz"));
        assert!(!r.allows_path("/foo/bar/b%61z"));
        // A reserved character stays encoded: `%2F` is not `/`.
        let r = rules("User-agent: foobot\nDisallow: /a/b\n");
        assert!(r.allows_path("/a%2Fb"));
        let r = rules("User-agent: foobot\nDisallow: /q?u=https%3a%2F%2Fe.org\n");
        assert!(!r.allows_path("/q?u=https%3A%2F%2Fe.org"));
        assert!(r.allows_path("/q?u=https://e.org"));
    }

    #[test]
    fn crawl_delay_comments_and_odd_lines() {
        let r = rules(
            "\u{feff}# hello\nuser-AGENT: foobot # us\nCRAWL-DELAY: 2.5\ndisallow: /a # not /b\n\
             no colon here\nNonsense: /x\r\nDisallow: /c\r\n",
        );
        assert_eq!(r.crawl_delay(), Some(Duration::from_millis(2500)));
        assert!(!r.allows_path("/a"));
        assert!(r.allows_path("/b"));
        assert!(!r.allows_path("/c"));
        for bad in ["-1", "NaN", "soon", "1e400"] {
            let r = rules(&format!("User-agent: foobot\nCrawl-delay: {bad}\n"));
            assert_eq!(r.crawl_delay(), None, "{bad}");
        }
        // Bytes that are not UTF-8 parse, and are matched encoded.
        let r = Rules::parse(b"User-agent: foobot\nDisallow: /\xff\n", "foobot");
        assert!(!r.allows_path("/%FF"));
    }

    #[test]
    fn rules_past_the_bounds_are_ignored() {
        // The hostile file of issue #26: 512 KiB of `$` rules.
        let mut body = String::from("User-agent: *\n");
        while body.len() < MAX_ROBOTS_BODY - 32 {
            body.push_str("Disallow: /*a*b*c$\n");
        }
        let r = Rules::parse(body.as_bytes(), AGENT);
        assert_eq!(r.len(), MAX_RULES);
        assert!(r.ignored() > 20_000, "{}", r.ignored());
        assert!(r.bytes() <= MAX_RULE_BYTES, "{}", r.bytes());
        assert!(!r.allows_path("/xaybzc"));
        assert!(r.allows_path(&"/ab".repeat(4000)));
        // Long patterns: the byte bound comes first.
        let long = "x".repeat(1000);
        let body = format!(
            "User-agent: *\n{}",
            format!("Disallow: /{long}\n").repeat(200)
        );
        let r = Rules::parse(body.as_bytes(), AGENT);
        assert!(r.len() < 66 && r.len() > 60, "{}", r.len());
        assert!(r.bytes() <= MAX_RULE_BYTES, "{}", r.bytes());
        // A rule longer than the bound is ignored, not kept.
        let body = format!("User-agent: *\nDisallow: /{}\n", "y".repeat(100_000));
        assert!(Rules::parse(body.as_bytes(), AGENT).is_empty());
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let robots = Robots::with_limits(100, 4 * 1024);
        let body = "User-agent: *\nDisallow: /private/area/of/the/site\n".repeat(40);
        let one = Arc::new(Rules::parse(body.as_bytes(), AGENT));
        let each = cost("https://site-00.example", &Some(one.clone()));
        assert!(each > 1024, "{each}");
        for i in 0..10 {
            robots.remember(format!("https://site-{i:02}.example"), Some(one.clone()));
            assert!(robots.bytes() <= 4 * 1024, "{}", robots.bytes());
            assert!(robots.origins() >= 1);
        }
        // Cleared when full: the last one is kept.
        assert!(robots.cached("https://site-09.example").is_some());
        assert_eq!(robots.origins() * each, robots.bytes());
        // Replacing an origin's entry does not count it twice.
        let before = robots.bytes();
        robots.remember("https://site-09.example".into(), Some(one));
        assert_eq!(robots.bytes(), before);
    }
}
