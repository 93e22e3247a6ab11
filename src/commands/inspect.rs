//! `inspect`: fetch a source once (or read a file), run its extraction and
//! print what came out, with how many items each selector matched. Nothing
//! is stored: this is for writing selectors and checking a source.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;
use url::Url;

use super::args::InspectArgs;
use super::definitions::{select_table, toml_string};
use super::{table, Error};
use crate::config;
use serde::Deserialize;

use crate::defs::SourceDef;
use crate::extract::discover;
use crate::extract::html::HtmlSpec;
use crate::extract::json::JsonSpec;
use crate::extract::suggest;
use crate::extract::SourceKind;
use crate::fetch::{FetchRequest, Fetched, Fetcher};
use crate::normalize::normalize;
use crate::text::truncate_words;

/// Runs the inspection and returns the report.
pub async fn inspect(feeds: &Path, target: &InspectArgs) -> Result<String, Error> {
    let now = Utc::now();
    // A source id of the definitions, when they load and name it.
    let defined = config::load(feeds)
        .ok()
        .and_then(|d| d.sources.iter().find(|s| s.id == target.target).cloned());
    let (kind, url, source_id) = match &defined {
        Some(s) => (s.kind.clone(), Some(first_url(s, now)), s.id.clone()),
        None => (
            adhoc_kind(target)?,
            Url::parse(&target.target).ok(),
            "inspect".to_string(),
        ),
    };
    let (bytes, content_type, page_url) =
        match url.filter(|u| matches!(u.scheme(), "http" | "https")) {
            Some(url) => {
                let fetcher = Fetcher::new(Default::default())?;
                let got = fetch(&fetcher, &FetchRequest::new(&url)).await?;
                (got.bytes, got.content_type, got.page)
            }
            None => {
                let path = Path::new(&target.target);
                let bytes = std::fs::read(path).map_err(|e| {
                    Error::Usage(format!(
                        "`{}` is not a source id, a URL or a readable file: {e}",
                        target.target
                    ))
                })?;
                let abs = std::fs::canonicalize(path).unwrap_or(path.to_path_buf());
                let url = Url::from_file_path(&abs)
                    .map_err(|_| Error::Usage(format!("cannot make a URL of {}", abs.display())))?;
                (bytes, None, url)
            }
        };
    if target.suggest {
        return Ok(suggest_report(
            &bytes,
            content_type.as_deref(),
            &page_url,
            now,
        ));
    }
    let mut out = String::new();
    if let SourceKind::Html(spec) = &kind {
        let page = crate::decode::html(&bytes, content_type.as_deref());
        let counts: Vec<String> = spec
            .diagnose(&page)
            .map_err(crate::extract::ExtractError::from)?
            .iter()
            .map(|(f, n)| format!("{f}: {n}"))
            .collect();
        let _ = writeln!(out, "selector matches: {}", counts.join(", "));
    }
    let extracted = match crate::extract::extract(&kind, &bytes, content_type.as_deref(), now) {
        Ok(extracted) => extracted,
        // A site's address, not its feed: name the feeds it advertises.
        Err(crate::extract::ExtractError::NotAFeed(why)) if matches!(kind, SourceKind::Feed) => {
            let page = crate::decode::html(&bytes, content_type.as_deref());
            let found = discover::advertised(&page, &page_url);
            if found.is_empty() {
                return Err(crate::extract::ExtractError::NotAFeed(why).into());
            }
            return Ok(advertised_report(&found));
        }
        Err(e) => return Err(e.into()),
    };
    let _ = writeln!(
        out,
        "{} items extracted from {page_url}",
        extracted.entries.len()
    );
    out.push_str(&repairs_report(&extracted.repairs));
    out.push_str(&entry_table(
        extracted.entries,
        &source_id,
        &page_url,
        now,
        usize::MAX,
    ));
    Ok(out)
}

/// The first URL a poll of `source` fetches.
pub(super) fn first_url(source: &config::Source, now: chrono::DateTime<Utc>) -> Url {
    match &source.kind {
        SourceKind::HuggingFace(spec) => spec.request(0, now),
        SourceKind::Json(spec) => match &spec.paging {
            Some(p) => p.first(&source.url),
            None => source.url.clone(),
        },
        _ => source.url.clone(),
    }
}

/// A body fetched, and where it came from after redirects.
pub(super) struct Body {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub page: Url,
    /// Where the address moved for good (a 301 / 308 on the way).
    pub moved_to: Option<Url>,
}

/// Fetches `req` as the poller would (without validators).
pub(super) async fn fetch(fetcher: &Fetcher, req: &FetchRequest<'_>) -> Result<Body, Error> {
    match fetcher.fetch(req).await? {
        Fetched::Body { bytes, meta } => Ok(Body {
            bytes,
            content_type: meta.content_type,
            page: meta.final_url.unwrap_or_else(|| req.url.clone()),
            moved_to: meta.moved_to,
        }),
        // Never right for a request without validators.
        Fetched::NotModified(_) => Err(Error::Fetch(crate::fetch::FetchError::Status {
            status: 304,
            retry_after: None,
        })),
    }
}

/// The feeds a page advertises, and how to read one.
fn advertised_report(found: &[discover::Advertised]) -> String {
    let mut out = format!(
        "this is a web page, not a feed; it advertises {} feed{}:\n",
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    );
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|a| {
            vec![
                a.format.to_string(),
                a.url.to_string(),
                a.title.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table::render(&["format", "url", "title"], rows, &[]));
    let _ = writeln!(out, "read one with: feedloom inspect {}", found[0].url);
    out
}

/// What was repaired to read the document, one repair a line with its
/// place, for the operator to tell the upstream; nothing when it was read
/// as written.
fn repairs_report(repairs: &crate::repairs::Repairs) -> String {
    let mut out = String::new();
    if repairs.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "recovered: {} {}",
        repairs.count,
        if repairs.count == 1 {
            "repair"
        } else {
            "repairs"
        }
    );
    for r in &repairs.first {
        // SECURITY: a repair may quote upstream bytes; a terminal must
        // not take them as escapes.
        let _ = writeln!(
            out,
            "  {}",
            crate::text::one_line(&r.to_string(), INSPECT_REPAIR_CHARS)
        );
    }
    let more = repairs.unsaid();
    if more > 0 {
        let _ = writeln!(out, "  … and {more} more");
    }
    out
}

/// Longest repair line `inspect` prints.
const INSPECT_REPAIR_CHARS: usize = 300;

/// The entries as `inspect` shows them: id, date, title, link, fields;
/// at most `max` rows.
pub(super) fn entry_table(
    entries: Vec<crate::model::RawEntry>,
    source_id: &str,
    page_url: &Url,
    now: chrono::DateTime<Utc>,
    max: usize,
) -> String {
    let mut rows = Vec::new();
    for (i, raw) in entries.into_iter().take(max).enumerate() {
        let had_date = raw.published.is_some() || raw.updated.is_some();
        // A file's relative links resolve to nothing served over http:
        // show them as the page has them.
        let raw_link = raw.link.clone().unwrap_or_default();
        match normalize(raw, source_id, page_url, now) {
            Ok(e) => {
                let mut fields = Vec::new();
                if !e.authors.is_empty() {
                    fields.push(format!("authors={}", e.authors.len()));
                }
                if !e.categories.is_empty() {
                    fields.push(format!(
                        "categories={}",
                        truncate_words(&e.categories.join("|"), 40)
                    ));
                }
                for (k, v) in &e.metrics {
                    fields.push(format!("{k}={v}"));
                }
                if e.media.is_some() {
                    fields.push("media".into());
                }
                rows.push(vec![
                    (i + 1).to_string(),
                    e.id.to_string()[..8].to_string(),
                    if had_date {
                        e.published.format("%Y-%m-%d").to_string()
                    } else {
                        "(none)".into()
                    },
                    truncate_words(&e.title, 60),
                    if e.link.is_empty() {
                        raw_link
                    } else {
                        e.link.clone()
                    },
                    fields.join(" "),
                ]);
            }
            Err(_) => rows.push(vec![
                (i + 1).to_string(),
                "-".into(),
                "-".into(),
                "(skipped: no title, link or text)".into(),
                String::new(),
                String::new(),
            ]),
        }
    }
    let header = ["#", "id", "date", "title", "link", "fields"];
    table::render(&header, rows, &[0])
}

/// Suggestions shown in full, and entries shown per suggestion.
const SUGGESTIONS: usize = 3;
const SUGGESTION_ROWS: usize = 5;

/// `inspect --suggest`: the ranked `[source.select]` proposals for a page,
/// each run through the real extractor, and the best as a ready source.
fn suggest_report(
    bytes: &[u8],
    content_type: Option<&str>,
    page_url: &Url,
    now: chrono::DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let page = crate::decode::html(bytes, content_type);
    let advertised = discover::advertised(&page, page_url);
    if !advertised.is_empty() {
        // A feed the site publishes beats any selector.
        out.push_str(&advertised_report(&advertised));
        out.push('\n');
    }
    let found = match suggest::suggest(&page, SUGGESTIONS) {
        Ok(found) => found,
        Err(e) => {
            let _ = writeln!(out, "{e}");
            return out;
        }
    };
    if found.is_empty() {
        let _ = writeln!(
            out,
            "no repeated item blocks with titles found in {page_url}; the items may be drawn by JavaScript (look for JSON in the page: kind = \"json\" with select.embedded)"
        );
        return out;
    }
    for (rank, s) in found.iter().enumerate() {
        let _ = writeln!(
            out,
            "suggestion {} (score {:.0}): `{}` matches {} elements",
            rank + 1,
            s.score,
            s.select.item.as_deref().unwrap_or_default(),
            s.items
        );
        out.push_str(&select_table(&s.select));
        let entries = HtmlSpec::compile(&s.select, None)
            .ok()
            .and_then(|spec| crate::extract::html::extract(&spec, &page).ok())
            .unwrap_or_default();
        let _ = writeln!(out, "  gives {} entries:", entries.len());
        out.push_str(&entry_table(
            entries,
            "inspect",
            page_url,
            now,
            SUGGESTION_ROWS,
        ));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "the best as a source (check it with `feedloom check`):\n"
    );
    let _ = writeln!(out, "[[source]]");
    let _ = writeln!(out, "id = \"CHANGE-ME\"");
    let _ = writeln!(out, "kind = \"html\"");
    let _ = writeln!(out, "url = {}", toml_string(page_url.as_str()));
    out.push('\n');
    out.push_str(&select_table(&found[0].select));
    out
}

/// The source kind for a URL or file, from `--kind` and `--select`: the
/// pairs are read as a `[source.select]` table, so they take the same keys
/// and give the same errors as a definition.
fn adhoc_kind(target: &InspectArgs) -> Result<SourceKind, Error> {
    let kind = target
        .kind
        .as_deref()
        .unwrap_or(if target.select.is_empty() {
            "feed"
        } else {
            "html"
        });
    let mut select = toml::Table::new();
    for pair in &target.select {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--select `{pair}`: expected field=selector")))?;
        select.insert(k.to_string(), toml::Value::String(v.to_string()));
    }
    let usage = |e: String| Error::Usage(format!("--select: {e}"));
    let def = |select: toml::Table| -> Result<SourceDef, Error> {
        let mut source = toml::Table::new();
        source.insert("id".into(), "inspect".into());
        source.insert("kind".into(), kind.into());
        source.insert("select".into(), toml::Value::Table(select));
        SourceDef::deserialize(source).map_err(|e| usage(e.to_string()))
    };
    match kind {
        "feed" => Ok(SourceKind::Feed),
        "html" => {
            let def = def(select)?;
            let select = def.select.as_ref().expect("just set");
            Ok(SourceKind::Html(Box::new(
                HtmlSpec::compile(select, def.metrics.as_ref()).map_err(|e| usage(e.0))?,
            )))
        }
        "json" => Ok(SourceKind::Json(Box::new(
            JsonSpec::compile(&def(select)?).map_err(|e| usage(e.0))?,
        ))),
        other => Err(Error::Usage(format!(
            "--kind `{other}`: use feed, html or json (or name a defined source)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repairs::{Location, Repairs};

    #[test]
    fn repairs_listed_with_their_places_then_counted() {
        assert_eq!(repairs_report(&Repairs::default()), "");
        let mut r = Repairs::default();
        r.push(
            Some(Location {
                line: 3,
                column: 18,
            }),
            "unescaped '&' read as '&amp;'",
        );
        assert_eq!(
            repairs_report(&r),
            "recovered: 1 repair\n  line 3, col 18: unescaped '&' read as '&amp;'\n"
        );
        r.push(None, "a date\u{1b}[31m read as RFC 822");
        r.count += 100;
        let out = repairs_report(&r);
        assert_eq!(
            out,
            "recovered: 102 repairs\n  line 3, col 18: unescaped '&' read as '&amp;'\n  a date\\u{1b}[31m read as RFC 822\n  … and 100 more\n"
        );
    }
}
