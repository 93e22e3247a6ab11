//! Reading one JSON value as what a field needs: text, HTML, a date, a
//! number, a list of names. Upstream APIs disagree on types (ids as numbers
//! or strings, dates as epoch seconds, milliseconds or ISO text, authors as
//! strings or objects), so each reader accepts the shapes seen in the wild
//! and yields nothing for the rest: a value of a wrong type is a missing
//! field, never an error.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::dates::parse_date;
use crate::sanitize::escape_text;

/// Epoch numbers at or above this are milliseconds: 10^11 seconds is the
/// year 5138, 10^11 milliseconds is March 1973.
const MILLIS_FROM: f64 = 1e11;

/// A string or number as text; empty and other types are nothing.
pub fn text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// A string as HTML for a summary or content: kept as it is when it holds
/// markup (it is sanitized later); unescaped once when it is markup escaped
/// once more, as some APIs send it (Reddit's `selftext_html`); otherwise
/// escaped with its paragraphs and line breaks kept, so plain text (a
/// release note, a comment) reads as written.
pub fn html(v: &Value) -> Option<String> {
    let s = text(v)?;
    if looks_like_html(&s) {
        return Some(s);
    }
    if s.contains("&lt;") {
        let once = unescape(&s);
        if looks_like_html(&once) {
            return Some(once);
        }
    }
    let paragraphs: Vec<String> = s
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", escape_text(p).replace('\n', "<br>")))
        .collect();
    Some(paragraphs.concat())
}

/// Whether text holds a tag (`<p>`, `</a>`, `<br/>`) or an entity, rather
/// than only prose that happens to use `<`.
fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// Undoes one round of the escaping [`escape_text`] does (`&amp;` last,
/// so `&amp;lt;` stays text).
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// A date: epoch seconds or milliseconds (as a number or digits), or text
/// in the formats [`parse_date`] knows (`format` first).
pub fn date(v: &Value, format: Option<&str>) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => epoch(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                return epoch(s.parse().ok()?);
            }
            parse_date(s, format)
        }
        _ => None,
    }
}

fn epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let millis = if n >= MILLIS_FROM { n } else { n * 1000.0 };
    // Beyond chrono's range (and any sane date) is nothing, not a panic.
    if millis > 1e16 {
        return None;
    }
    Utc.timestamp_millis_opt(millis as i64).single()
}

/// A number, or a string holding one (`"42"`, `"1,234"`).
pub fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().replace([',', '_'], "").parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Names: an array of strings (or of objects naming someone with `name`,
/// `login`, `username`, `title` or `label`), or one string.
pub fn names(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(name).collect(),
        other => name(other).into_iter().collect(),
    }
}

fn name(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => ["name", "login", "username", "title", "label"]
            .iter()
            .find_map(|k| map.get(*k).and_then(text)),
        other => text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_in_every_shape() {
        let want: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        for v in [
            json!(1_796_040_000),
            json!(1_796_040_000_000u64),
            json!("1796040000"),
            json!("2026-11-30T12:00:00Z"),
            json!("Mon, 30 Nov 2026 12:00:00 +0000"),
        ] {
            assert_eq!(date(&v, None), Some(want), "{v}");
        }
        for v in [
            json!(-1),
            json!(1e300),
            json!(null),
            json!([1]),
            json!("soon"),
        ] {
            assert_eq!(date(&v, None), None, "{v}");
        }
    }

    #[test]
    fn plain_text_keeps_its_paragraphs_and_markup_stays_markup() {
        assert_eq!(
            html(&json!("Fixed 1 < 2 & more\nline two\n\nsecond")).unwrap(),
            "<p>Fixed 1 &lt; 2 &amp; more<br>line two</p><p>second</p>"
        );
        assert_eq!(html(&json!("<p>Hi</p>")).unwrap(), "<p>Hi</p>");
        assert_eq!(html(&json!("a < b")).unwrap(), "<p>a &lt; b</p>");
        // Markup escaped once more is markup (it is sanitized later).
        assert_eq!(
            html(&json!(
                "&lt;div class=\"md\"&gt;&lt;p&gt;x &amp;amp;lt; y&lt;/p&gt;&lt;/div&gt;"
            ))
            .unwrap(),
            "<div class=\"md\"><p>x &amp;lt; y</p></div>"
        );
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(
            names(&json!([{"login": "octo"}, "ann", 3, {"x": 1}, null])),
            ["octo", "ann", "3"]
        );
        assert_eq!(names(&json!("solo")), ["solo"]);
        assert_eq!(number(&json!("1,234")), Some(1234.0));
        assert_eq!(number(&json!(true)), None);
        assert_eq!(text(&json!("  ")), None);
    }
}
