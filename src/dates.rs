//! Date parsing for upstream text: the formats feeds and pages really use.
//!
//! Order: a per-source `strftime` format when configured, then RFC 3339 /
//! ISO 8601 (Atom, JSON Feed, `<time datetime>`), then RFC 2822 (RSS
//! `pubDate`, including the obsolete zone names RFC 2822 §4.3 allows), then
//! a few lenient forms seen in the wild (no zone → UTC, date only → midnight
//! UTC). Anything else is `None`: the caller falls back to first-seen time
//! rather than inventing "now" on every poll.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Parses `text` as a date, trying `format` first when given.
pub fn parse_date(text: &str, format: Option<&str>) -> Option<DateTime<Utc>> {
    parse_date_noting(text, format, &mut None)
}

/// [`parse_date`], saying in `note` what was read other than as written
/// (a weekday that does not match the date is ignored, as feedparser and
/// readers do, and said).
pub fn parse_date_noting(
    text: &str,
    format: Option<&str>,
    note: &mut Option<String>,
) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(d) = parse_one(text, format) {
        return Some(d);
    }
    if let Some(d) = without_weekday(text) {
        *note = Some(format!(
            "{} is a {}; the weekday is ignored",
            d.format("%Y-%m-%d"),
            d.format("%A")
        ));
        return Some(d);
    }
    // A date followed by its epoch seconds (Hacker News' `span.age` title:
    // `2026-11-30T14:03:11 1796047391`): the date, if the two agree. Once,
    // not recursively (a text of many words must not recurse per word).
    let (date, epoch) = text.rsplit_once(' ')?;
    let secs: i64 = epoch.parse().ok()?;
    parse_one(date.trim_end(), None).filter(|d| d.timestamp() == secs)
}

/// An RFC 2822 date whose weekday is wrong (`Mon, 01 Dec 2026`, a
/// Tuesday): RFC 2822 makes the weekday optional, so the date without it.
fn without_weekday(text: &str) -> Option<DateTime<Utc>> {
    let (day, rest) = text.split_once(',')?;
    if !(3..=9).contains(&day.len()) || !day.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let rest = rest.trim_start();
    parse_one(rest, None).filter(|_| rest.bytes().next().is_some_and(|b| b.is_ascii_digit()))
}

/// [`parse_date`] without the trailing-epoch form.
fn parse_one(text: &str, format: Option<&str>) -> Option<DateTime<Utc>> {
    if text.is_empty() {
        return None;
    }
    if let Some(fmt) = format {
        if let Some(d) = parse_with_format(text, fmt) {
            return Some(d);
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d.with_timezone(&Utc));
    }
    // RSS in the wild: "Tue, 5 Mar 2024 10:00:00 UTC" (UTC is not RFC 2822).
    if let Some(rest) = text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix(" Z"))
    {
        if let Ok(d) = DateTime::parse_from_rfc2822(&format!("{rest} +0000")) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ] {
        if let Ok(d) = DateTime::<FixedOffset>::parse_from_str(text, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    for fmt in [
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%B %d, %Y",
        "%b %d, %Y",
        "%d %B %Y",
        "%d %b %Y",
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(text, fmt) {
            return d.and_hms_opt(0, 0, 0).map(|d| Utc.from_utc_datetime(&d));
        }
    }
    None
}

/// A configured `strftime` format: with a zone (`%z`), as a date-time, or as
/// a date alone; zone-less values are taken as UTC.
fn parse_with_format(text: &str, fmt: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::<FixedOffset>::parse_from_str(text, fmt) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(text, fmt) {
        return Some(Utc.from_utc_datetime(&d));
    }
    NaiveDate::parse_from_str(text, fmt)
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d))
}

/// An HTTP-date (RFC 9110 §5.6.7) in any of the three forms a recipient
/// must accept: IMF-fixdate, RFC 850 and asctime (via `httpdate`).
pub fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    httpdate::parse_http_date(text.trim())
        .ok()
        .map(DateTime::<Utc>::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn common_formats() {
        let cases = [
            ("2024-03-05T10:00:00Z", "2024-03-05T10:00:00Z"),
            ("2024-03-05T12:00:00+02:00", "2024-03-05T10:00:00Z"),
            ("2024-03-05T10:00:00.123Z", "2024-03-05T10:00:00.123Z"),
            ("Tue, 05 Mar 2024 10:00:00 GMT", "2024-03-05T10:00:00Z"),
            ("Tue, 5 Mar 2024 05:00:00 EST", "2024-03-05T10:00:00Z"),
            ("Tue, 05 Mar 2024 10:00:00 +0000", "2024-03-05T10:00:00Z"),
            ("Tue, 05 Mar 2024 10:00:00 UTC", "2024-03-05T10:00:00Z"),
            ("2024-03-05 10:00:00", "2024-03-05T10:00:00Z"),
            ("2024-03-05", "2024-03-05T00:00:00Z"),
            ("March 5, 2024", "2024-03-05T00:00:00Z"),
            ("  5 Mar 2024 ", "2024-03-05T00:00:00Z"),
            // Hacker News: the date and its epoch seconds.
            ("2026-11-30T14:03:11 1796047391", "2026-11-30T14:03:11Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_date(input, None), Some(utc(want)), "{input}");
        }
        assert_eq!(parse_date("yesterday", None), None);
        // A wrong weekday (2026-12-01 is a Tuesday) is ignored, and said.
        let mut note = None;
        assert_eq!(
            parse_date_noting("Mon, 01 Dec 2026 10:00:00 GMT", None, &mut note),
            Some(utc("2026-12-01T10:00:00Z"))
        );
        assert_eq!(
            note.as_deref(),
            Some("2026-12-01 is a Tuesday; the weekday is ignored")
        );
        assert_eq!(parse_date("Xyz, garbage", None), None);
        // ... which must agree.
        assert_eq!(parse_date("2026-11-30T14:03:11 1", None), None);
        // Many words: one try of the form, no recursion per word (a
        // fuzzer's find: a stack overflow, and quadratic time before it).
        let words = "a ".repeat(200_000);
        assert_eq!(parse_date(&words, None), None);
        assert_eq!(parse_date("", None), None);
    }

    #[test]
    fn configured_format_wins() {
        // Ambiguous day/month: the source's format decides.
        assert_eq!(
            parse_date("05/03/2024", Some("%d/%m/%Y")),
            Some(utc("2024-03-05T00:00:00Z"))
        );
        assert_eq!(
            parse_date("05.03.2024 14:30 +0100", Some("%d.%m.%Y %H:%M %z")),
            Some(utc("2024-03-05T13:30:00Z"))
        );
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        let want: DateTime<Utc> = "1994-11-06T08:49:37Z".parse().unwrap();
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(text), Some(want), "{text}");
        }
        assert_eq!(parse_http_date("06 Nov 1994"), None);
    }
}
