//! Digests: one feed item per closed day or week of a topic, listing the
//! entries that entered the topic in that period, best first. For readers
//! who want one item a day instead of fifty (`digest = "daily"` on a topic;
//! served at `/{topic}.digest.{rss,atom,json}`).
//!
//! A period is a local calendar day (or ISO week, Monday to Monday) in the
//! topic's `digest_timezone`, so "Tuesday's papers" means Tuesday where the
//! reader lives. Its item is dated when the period closes and its id comes
//! from the topic and the period alone, so it never changes; an entry the
//! sources deliver late into a closed period (an upstream dated yesterday,
//! polled today) moves the item's `updated`, not its id.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::identity::entry_id;
use crate::model::Entry;
use crate::sanitize::escape_text as esc;
use crate::text::{html_to_text, truncate_words};

/// Entries an item lists unless `digest_size` says.
pub const DEFAULT_SIZE: usize = 20;
/// Most entries an item may list (`digest_size`).
pub const MAX_SIZE: usize = 100;
/// Characters of the one line shown under each entry.
const LINE_CHARS: usize = 280;

pub use crate::defs::Period;

impl Period {
    /// Closed periods a digest feed holds: a month of days, a quarter of
    /// weeks.
    pub fn shown(self) -> usize {
        match self {
            Period::Daily => 30,
            Period::Weekly => 13,
        }
    }

    fn days(self) -> i64 {
        match self {
            Period::Daily => 1,
            Period::Weekly => 7,
        }
    }

    /// As `digest = "…"` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
        }
    }

    /// One period, in a sentence: "one item per day".
    pub fn unit(self) -> &'static str {
        match self {
            Period::Daily => "day",
            Period::Weekly => "week",
        }
    }
}

/// A topic's digest settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub period: Period,
    pub tz: Tz,
    /// Most entries one item lists.
    pub size: usize,
}

/// One closed period: `[start, end)`, and the local date it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first_day: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Digest {
    /// From a topic definition's `digest`, `digest_timezone` and
    /// `digest_size`; an error names the field.
    pub fn compile(
        period: Option<Period>,
        timezone: Option<&str>,
        size: Option<usize>,
    ) -> Result<Option<Digest>, String> {
        let Some(period) = period else {
            if timezone.is_some() || size.is_some() {
                return Err(
                    "`digest_timezone` and `digest_size` need `digest = \"daily\"` or `\"weekly\"`"
                        .into(),
                );
            }
            return Ok(None);
        };
        let tz = match timezone {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name).map_err(|_| {
                format!("`digest_timezone` = `{name}` is not an IANA time zone name (like `Europe/Berlin`)")
            })?,
        };
        let size = match size {
            None => DEFAULT_SIZE,
            Some(n) if (1..=MAX_SIZE).contains(&n) => n,
            Some(n) => return Err(format!("`digest_size` = {n} is outside 1 to {MAX_SIZE}")),
        };
        Ok(Some(Digest { period, tz, size }))
    }

    /// When the period holding `now` began: the end of the newest closed
    /// period.
    pub fn current_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        local_midnight(
            self.tz,
            self.first_day(now.with_timezone(&self.tz).date_naive()),
        )
    }

    /// The first local day of the period holding `day`.
    fn first_day(&self, day: NaiveDate) -> NaiveDate {
        match self.period {
            Period::Daily => day,
            Period::Weekly => day - Duration::days(day.weekday().num_days_from_monday().into()),
        }
    }

    /// The closed periods ending at or before `closed` (a period start, as
    /// [`Digest::current_start`] gives), newest first.
    pub fn spans(&self, closed: DateTime<Utc>) -> Vec<Span> {
        let mut end_day = self.first_day(closed.with_timezone(&self.tz).date_naive());
        let mut out = Vec::with_capacity(self.period.shown());
        for _ in 0..self.period.shown() {
            let first_day = end_day - Duration::days(self.period.days());
            out.push(Span {
                first_day,
                start: local_midnight(self.tz, first_day),
                end: local_midnight(self.tz, end_day),
            });
            end_day = first_day;
        }
        out
    }

    /// The period as an item title names it: `Thursday 3 December 2026`,
    /// `week 49 of 2026 (30 November to 6 December)`.
    fn label(&self, span: &Span) -> String {
        match self.period {
            Period::Daily => span.first_day.format("%A %-d %B %Y").to_string(),
            Period::Weekly => {
                let last = span.first_day + Duration::days(6);
                let week = span.first_day.iso_week();
                format!(
                    "week {} of {} ({} to {})",
                    week.week(),
                    week.year(),
                    span.first_day.format("%-d %B"),
                    last.format("%-d %B")
                )
            }
        }
    }

    /// The feed item for one period of topic `topic` (title `title`),
    /// given what entered the topic in it; `None` for an empty period.
    /// `more` links to where the rest can be read (the topic's page).
    pub fn item(
        &self,
        topic: &str,
        title: &str,
        span: &Span,
        tally: &Tally,
        more: &str,
    ) -> Option<Entry> {
        if tally.total == 0 {
            return None;
        }
        let total = tally.total;
        let mut html = String::from("<ol>");
        for line in tally.best.iter().take(self.size) {
            html.push_str(&line.html);
        }
        html.push_str("</ol>");
        if total > self.size {
            html.push_str(&format!(
                "<p>And {} more in <a href=\"{}\">{}</a>.</p>",
                total - self.size,
                esc(more),
                esc(title)
            ));
        }
        let key = format!("digest:{topic}:{}:{}", self.period.name(), span.first_day);
        // Closed when the period ends; a late arrival updates it.
        let updated = tally.latest_seen.map_or(span.end, |t| t.max(span.end));
        Some(Entry {
            id: entry_id(&key),
            key,
            title: format!(
                "{title}, {} digest: {} ({total} {})",
                self.period.name(),
                self.label(span),
                if total == 1 { "entry" } else { "entries" }
            ),
            link: more.to_string(),
            summary: html,
            content: None,
            authors: Vec::new(),
            categories: Vec::new(),
            published: span.end,
            updated,
            first_seen: span.end,
            sources: Vec::new(),
            metrics: Default::default(),
            related: Vec::new(),
            media: None,
            organization: None,
            submitter: None,
            ai_summary: None,
            listed: None,
            article: None,
            discussion: None,
            tags: Default::default(),
            topics: [(topic.to_string(), span.end)].into(),
        })
    }
}

/// An entry's upvotes as a digest ranks them: none counts as fewest.
pub fn upvotes(metric: Option<f64>) -> f64 {
    metric.unwrap_or(f64::NEG_INFINITY)
}

/// One entry as a digest item lists it: what it is ranked by, and its
/// line.
#[derive(Debug, Clone)]
pub struct Line {
    upvotes: f64,
    published: DateTime<Utc>,
    id: [u8; 16],
    html: String,
}

impl Line {
    pub fn of(e: &Entry) -> Line {
        Line {
            upvotes: upvotes(e.metrics.get("upvotes").copied()),
            published: e.published,
            id: e.id.0,
            html: entry_line(e),
        }
    }

    /// Best first: most upvotes, then newest, then by id (a stable order).
    fn rank(&self, other: &Line) -> std::cmp::Ordering {
        other
            .upvotes
            .total_cmp(&self.upvotes)
            .then(other.published.cmp(&self.published))
            .then(self.id.cmp(&other.id))
    }
}

/// What entered a topic in one period, gathered one entry at a time: how
/// many, when the latest was first seen, and the best lines.
///
/// SECURITY: a period may hold thousands of entries; only the best
/// `size` lines are kept, and an entry whose card shows too few upvotes to
/// be among them is never decoded (a digest once held its whole window
/// decoded: 15,000 entries took the server from 34 MB to 447 MB).
#[derive(Debug, Default)]
pub struct Tally {
    pub total: usize,
    pub latest_seen: Option<DateTime<Utc>>,
    best: Vec<Line>,
}

impl Tally {
    /// Counts one entry first seen at `first_seen`.
    pub fn count(&mut self, first_seen: DateTime<Utc>) {
        self.total += 1;
        self.latest_seen = self.latest_seen.max(Some(first_seen));
    }

    /// Whether an entry with these upvotes may rank among the best `size`
    /// (it must then be decoded to be sure).
    pub fn wants(&self, upvotes: f64, size: usize) -> bool {
        self.best.len() < size || self.best.last().is_some_and(|l| upvotes >= l.upvotes)
    }

    /// Keeps `line` if it ranks among the best `size`.
    pub fn offer(&mut self, line: Line, size: usize) {
        let at = self
            .best
            .partition_point(|l| l.rank(&line) == std::cmp::Ordering::Less);
        if at < size {
            self.best.insert(at, line);
            self.best.truncate(size);
        }
    }
}

/// One entry of a digest item: its title linked, its counts, and its
/// TL;DR or the first sentence of its summary. All text escaped.
fn entry_line(e: &Entry) -> String {
    let title = if e.link.is_empty() {
        esc(&e.title)
    } else {
        format!("<a href=\"{}\">{}</a>", esc(&e.link), esc(&e.title))
    };
    let counts: Vec<String> = [("upvotes", "upvote"), ("comments", "comment")]
        .iter()
        .filter_map(|(key, one)| {
            let n = e.metrics.get(*key)?.round() as i64;
            Some(if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {key}")
            })
        })
        .collect();
    let line = e
        .ai_summary
        .clone()
        .unwrap_or_else(|| first_sentence(&html_to_text(&e.summary)));
    let mut out = format!("<li>{title}");
    if !counts.is_empty() {
        out.push_str(&format!(" · {}", counts.join(" · ")));
    }
    if !line.is_empty() {
        out.push_str(&format!("<br>{}", esc(&truncate_words(&line, LINE_CHARS))));
    }
    out.push_str("</li>");
    out
}

/// Text up to and including the first `.`, `!` or `?` followed by a space
/// (so `e.g.` mid-word and `3.5` do not end it), else all of it.
fn first_sentence(text: &str) -> String {
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?') && bytes.get(i + 1) == Some(&b' ') {
            // "e.g. " / "et al. ": a short lowercase word is no sentence end.
            let word = text[..i].rsplit(' ').next().unwrap_or("");
            if matches!(word, "e.g" | "i.e" | "al" | "vs" | "cf" | "Fig" | "Eq") {
                continue;
            }
            return text[..=i].to_string();
        }
    }
    text.to_string()
}

/// The first instant of local day `day` in `tz`: midnight, or (where a
/// DST change skips midnight) the first hour that exists.
fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn days_close_at_local_midnight() {
        let d = Digest::compile(Some(Period::Daily), Some("Europe/Berlin"), None)
            .unwrap()
            .unwrap();
        // 00:30 in Berlin on 4 December is 23:30 UTC on the 3rd.
        let now = at("2026-12-03T23:30:00Z");
        assert_eq!(d.current_start(now), at("2026-12-03T23:00:00Z"));
        let spans = d.spans(d.current_start(now));
        assert_eq!(spans.len(), 30);
        assert_eq!(spans[0].first_day.to_string(), "2026-12-03");
        assert_eq!(spans[0].start, at("2026-12-02T23:00:00Z"));
        assert_eq!(spans[0].end, at("2026-12-03T23:00:00Z"));
        assert_eq!(spans[1].end, spans[0].start);
        // Across the end of summer time (25 October 2026): a 25-hour day.
        let oct = d.spans(at("2026-10-26T23:00:00Z"));
        assert_eq!(oct[0].first_day.to_string(), "2026-10-26");
        assert_eq!(oct[1].first_day.to_string(), "2026-10-25");
        assert_eq!(oct[1].end - oct[1].start, Duration::hours(25));
    }

    #[test]
    fn weeks_run_monday_to_monday() {
        let d = Digest::compile(Some(Period::Weekly), None, Some(5))
            .unwrap()
            .unwrap();
        // Friday 4 December 2026: the week began Monday 30 November.
        let now = at("2026-12-04T12:00:00Z");
        let closed = d.current_start(now);
        assert_eq!(closed, at("2026-11-30T00:00:00Z"));
        let spans = d.spans(closed);
        assert_eq!(spans.len(), 13);
        assert_eq!(spans[0].start, at("2026-11-23T00:00:00Z"));
        assert_eq!(
            d.label(&spans[0]),
            "week 48 of 2026 (23 November to 29 November)"
        );
    }

    #[test]
    fn bad_settings_name_the_field() {
        let err = |p, tz, n| Digest::compile(p, tz, n).unwrap_err();
        assert!(err(Some(Period::Daily), Some("Mars/Olympus"), None).contains("digest_timezone"));
        assert!(err(Some(Period::Daily), None, Some(0)).contains("digest_size"));
        assert!(err(Some(Period::Daily), None, Some(101)).contains("digest_size"));
        assert!(err(None, Some("UTC"), None).contains("need `digest"));
        assert_eq!(Digest::compile(None, None, None), Ok(None));
    }

    #[test]
    fn first_sentences() {
        assert_eq!(
            first_sentence("We study MoE, e.g. routing. Then more."),
            "We study MoE, e.g. routing."
        );
        assert_eq!(first_sentence("GPT-3.5 is old. Yes."), "GPT-3.5 is old.");
        assert_eq!(first_sentence("No end"), "No end");
    }
}
