//! `inspect`: fetch a source once (or read a file), run its extraction and
//! print what came out, with how many items each selector matched. Nothing
//! is stored: this is for writing selectors and checking a source.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;
use url::Url;

use crate::app::Error;
use crate::config;
use crate::defs::{SelectDef, Selectors};
use crate::extract::html::HtmlSpec;
use crate::extract::SourceKind;
use crate::fetch::{FetchRequest, Fetched, Fetcher};
use crate::normalize::normalize;
use crate::text::truncate_words;

/// What to inspect, from the command line.
pub struct Target<'a> {
    /// A source id of the definitions, a URL, or a file path.
    pub what: &'a str,
    /// `feed` or `html` for a URL or file (default `feed`).
    pub kind: Option<&'a str>,
    /// `field=selector` pairs for `html`: item, title, link, summary, date,
    /// date_format, author, category.
    pub select: &'a [String],
}

/// Runs the inspection and returns the report.
pub async fn inspect(feeds: &Path, target: &Target<'_>) -> Result<String, Error> {
    let now = Utc::now();
    // A source id of the definitions, when they load and name it.
    let defined = config::load(feeds)
        .ok()
        .and_then(|d| d.sources.iter().find(|s| s.id == target.what).cloned());
    let (kind, url, source_id) = match &defined {
        Some(s) => {
            let url = match &s.kind {
                SourceKind::HuggingFace(spec) => spec.request(0, now),
                _ => s.url.clone(),
            };
            (s.kind.clone(), Some(url), s.id.clone())
        }
        None => (
            adhoc_kind(target)?,
            Url::parse(target.what).ok(),
            "inspect".to_string(),
        ),
    };
    let (bytes, content_type, page_url) =
        match url.filter(|u| matches!(u.scheme(), "http" | "https")) {
            Some(url) => {
                let fetcher = Fetcher::new(Default::default())?;
                match fetcher.fetch(&FetchRequest::new(&url)).await? {
                    Fetched::Body { bytes, meta } => {
                        let page = meta.final_url.clone().unwrap_or(url);
                        (bytes, meta.content_type, page)
                    }
                    Fetched::NotModified(_) => {
                        return Err(Error::Other(
                            "the server answered 304 to an unconditional request".into(),
                        ))
                    }
                }
            }
            None => {
                let path = Path::new(target.what);
                let bytes = std::fs::read(path).map_err(|e| {
                    Error::Other(format!(
                        "`{}` is not a source id, a URL or a readable file: {e}",
                        target.what
                    ))
                })?;
                let abs = std::fs::canonicalize(path).unwrap_or(path.to_path_buf());
                let url = Url::from_file_path(&abs)
                    .map_err(|_| Error::Other(format!("cannot make a URL of {}", abs.display())))?;
                (bytes, None, url)
            }
        };
    let mut out = String::new();
    if let SourceKind::Html(spec) = &kind {
        let page = crate::decode::html(&bytes, content_type.as_deref());
        let counts: Vec<String> = spec
            .diagnose(&page)
            .iter()
            .map(|(f, n)| format!("{f}: {n}"))
            .collect();
        let _ = writeln!(out, "selector matches: {}", counts.join(", "));
    }
    let extracted = crate::extract::extract(&kind, &bytes, content_type.as_deref(), now)
        .map_err(|e| Error::Other(format!("extract: {e}")))?;
    let _ = writeln!(
        out,
        "{} items extracted from {page_url}",
        extracted.entries.len()
    );
    let mut rows = vec![[
        "#".to_string(),
        "id".into(),
        "date".into(),
        "title".into(),
        "link".into(),
        "fields".into(),
    ]];
    for (i, raw) in extracted.entries.into_iter().enumerate() {
        let had_date = raw.published.is_some() || raw.updated.is_some();
        match normalize(raw, &source_id, &page_url, now) {
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
                rows.push([
                    (i + 1).to_string(),
                    e.id.to_string()[..8].to_string(),
                    if had_date {
                        e.published.format("%Y-%m-%d").to_string()
                    } else {
                        "(none)".into()
                    },
                    truncate_words(&e.title, 60),
                    e.link.clone(),
                    fields.join(" "),
                ]);
            }
            Err(_) => rows.push([
                (i + 1).to_string(),
                "-".into(),
                "-".into(),
                "(skipped: no title, link or text)".into(),
                String::new(),
                String::new(),
            ]),
        }
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, v)| format!("{v:<w$}", w = widths[c]))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    Ok(out)
}

/// The source kind for a URL or file, from `--kind` and `--select`.
fn adhoc_kind(target: &Target) -> Result<SourceKind, Error> {
    match target.kind.unwrap_or(if target.select.is_empty() {
        "feed"
    } else {
        "html"
    }) {
        "feed" => Ok(SourceKind::Feed),
        "html" => {
            let mut def = SelectDef {
                item: String::new(),
                title: Selectors::One(String::new()),
                link: None,
                summary: None,
                date: None,
                date_format: None,
                author: None,
                category: None,
            };
            for pair in target.select {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    Error::Other(format!("--select `{pair}`: expected field=selector"))
                })?;
                let one = Some(Selectors::One(v.to_string()));
                match k {
                    "item" => def.item = v.to_string(),
                    "title" => def.title = Selectors::One(v.to_string()),
                    "link" => def.link = one,
                    "summary" => def.summary = one,
                    "date" => def.date = one,
                    "date_format" => def.date_format = Some(v.to_string()),
                    "author" => def.author = one,
                    "category" => def.category = one,
                    other => {
                        return Err(Error::Other(format!("--select: unknown field `{other}`")))
                    }
                }
            }
            if def.item.is_empty() || matches!(&def.title, Selectors::One(t) if t.is_empty()) {
                return Err(Error::Other(
                    "--kind html needs at least --select item=… and --select title=…".into(),
                ));
            }
            Ok(SourceKind::Html(Box::new(
                HtmlSpec::compile(&def).map_err(Error::Other)?,
            )))
        }
        other => Err(Error::Other(format!(
            "--kind `{other}`: use feed or html (or name a defined source)"
        ))),
    }
}
