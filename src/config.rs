//! Loading `feeds/`: every `*.toml` file in the folder, parsed strictly,
//! validated, and compiled once (CSS selectors, regexes, rules).
//!
//! Every error names the file and the definition (`feeds/topics.toml: topic
//! `llm`: unknown tag `lmm``), so an admin can fix it without guessing.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::defs::Invalid;
use crate::defs::{FileDef, HostDef, SourceDef, SourceKindDef};
use crate::extract::html::HtmlSpec;
use crate::extract::huggingface::HfSpec;
use crate::extract::json::JsonSpec;
use crate::extract::SourceKind;
use crate::fetch::{HostPolicy, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT};
use crate::rules::{RuleSet, Tag, Topic};
use crate::units::{parse_duration, parse_interval, parse_size};
use crate::urls::parse_http_url;

/// Poll interval of a `feed` source without an `interval`.
pub const DEFAULT_FEED_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Poll interval of an `html` source without an `interval`: pages are
/// heavier than feeds, so they are polled less often.
pub const DEFAULT_HTML_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// Poll interval of a `huggingface_papers` source without an `interval`.
pub const DEFAULT_HF_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// The shortest interval a source may ask for: anything faster is impolite
/// to the upstream and pointless for a reader.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// A definitions error, naming the file (or folder) it is about.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl ConfigError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// What a public page may say of this error (`more.toml: not valid
    /// TOML (line 3, column 39)`): the file's name and the kind of
    /// problem, never the message. The message quotes the file (a TOML
    /// error shows the line, a URL with its token in it) and names
    /// definitions (a private topic's among them); `check`, the log and
    /// `/status` have it.
    pub fn public_reason(&self, dir: &Path) -> String {
        if self.path == dir {
            return "the folder cannot be read, or holds no *.toml file".into();
        }
        let file = self
            .path
            .file_name()
            .map(|n| crate::text::one_line(&n.to_string_lossy(), 100))
            .unwrap_or_default();
        let problem = if let Some((line, column)) = toml_place(&self.message) {
            format!("not valid TOML (line {line}, column {column})")
        } else if self.message.starts_with("cannot read") {
            "the file cannot be read".into()
        } else {
            "a definition in it is invalid (`feedloom check` names it)".into()
        };
        format!("{file}: {problem}")
    }
}

/// The place a TOML parse error starts with (`TOML parse error at line 3,
/// column 39`, as the `toml` crate writes it), and nothing of what it
/// quotes after.
fn toml_place(message: &str) -> Option<(u32, u32)> {
    let rest = message.strip_prefix("TOML parse error at line ")?;
    let (line, rest) = rest.split_once(", column ")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some((line.parse().ok()?, rest[..digits].parse().ok()?))
}

/// A source ready to poll.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub title: String,
    pub url: Url,
    pub interval: Duration,
    pub kind: SourceKind,
    /// Longest time a fetch may take.
    pub timeout: Duration,
    /// Largest body read.
    pub max_body: usize,
    /// Ownership of shared entries (see [`crate::normalize::merge`]).
    pub priority: i32,
    /// Whether an `https` → `http` redirect is followed.
    pub allow_http_redirect: bool,
    /// `internal = true`: may reach internal addresses anywhere (see
    /// [`crate::fetch::FetchRequest::internal`]).
    pub internal: bool,
    /// A digest of the definition: when it changes, stored validators
    /// (ETag / Last-Modified) are not sent, so new selectors see a full body.
    pub fingerprint: String,
    /// The file it was defined in.
    pub file: PathBuf,
    /// Full article text for its entries, when set (`fulltext = true`).
    pub fulltext: Option<FulltextPolicy>,
}

/// Entries with at least this many characters of text need no article
/// (`fulltext_min_chars` when left out).
pub const DEFAULT_FULLTEXT_MIN_CHARS: usize = 500;

/// A source's `fulltext` settings, as [`crate::fulltext`] applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulltextPolicy {
    /// Entries with this much text (characters) or more are complete.
    pub min_chars: usize,
    /// Obey `robots.txt`.
    pub robots: bool,
}

/// Entries kept unless `[retention]` says otherwise.
pub const DEFAULT_MAX_ENTRIES: usize = 200_000;

/// The compiled `[retention]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Option<Duration>,
    pub max_entries: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: None,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// Everything `feeds/` defines, compiled.
#[derive(Debug, Clone)]
pub struct Definitions {
    pub dir: PathBuf,
    pub sources: Vec<Source>,
    pub rules: RuleSet,
    /// Per-host politeness rules (`[[host]]`).
    pub hosts: HashMap<String, HostPolicy>,
    /// When stored entries are pruned (`[retention]`).
    pub retention: Retention,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// Sources with a priority other than 0 (most have none).
    priorities: HashMap<String, i32>,
}

impl Definitions {
    /// The fetcher's per-host rules: the `[[host]]` ones, and the default
    /// rules for every other source's host, so the fetcher knows which
    /// hosts are the operator's (kept, and named on `/metrics`) and which
    /// only a link or redirect led to ([`crate::fetch::MAX_HOSTS`]).
    pub fn host_policies(&self) -> HashMap<String, HostPolicy> {
        let mut out = self.hosts.clone();
        for s in &self.sources {
            if let Some(host) = s.url.host_str() {
                out.entry(host.to_ascii_lowercase()).or_default();
            }
        }
        out
    }

    /// A source's `priority` (0 when unset or unknown): who owns an entry
    /// several sources carry.
    pub fn priority(&self, source: &str) -> i32 {
        self.priorities.get(source).copied().unwrap_or(0)
    }
}

/// Loads and compiles every `*.toml` file in `dir` (sorted by name).
pub fn load(dir: &Path) -> Result<Definitions, ConfigError> {
    load_with(dir, None)
}

/// [`load`] as if the file `name` in `dir` held `text` (added, or in place
/// of what it holds): how `add`, `import` and `init` check a file before
/// it is written, with errors naming the file where it will be.
pub fn load_with(dir: &Path, with: Option<(&str, &str)>) -> Result<Definitions, ConfigError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(listing) => listing
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect(),
        // A folder about to be made holds nothing yet.
        Err(e) if with.is_some() && e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(ConfigError::new(
                dir,
                format!("cannot read definitions folder: {e}"),
            ))
        }
    };
    let extra = with.map(|(name, text)| (dir.join(name), text));
    if let Some((path, _)) = &extra {
        if !files.contains(path) {
            files.push(path.clone());
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(ConfigError::new(dir, "no *.toml definition files found"));
    }
    let mut parsed = Vec::with_capacity(files.len());
    for path in &files {
        let text = match &extra {
            Some((p, text)) if p == path => text.to_string(),
            _ => std::fs::read_to_string(path)
                .map_err(|e| ConfigError::new(path, format!("cannot read: {e}")))?,
        };
        let def: FileDef = toml::from_str(&text)
            .map_err(|e| ConfigError::new(path, e.to_string().trim_end().to_string()))?;
        parsed.push((path.clone(), def));
    }
    compile(dir, parsed)
}

fn compile(dir: &Path, parsed: Vec<(PathBuf, FileDef)>) -> Result<Definitions, ConfigError> {
    let mut seen: HashMap<(&'static str, String), PathBuf> = HashMap::new();
    let mut check_unique = |what: &'static str, id: &str, path: &Path| {
        check_id(id).map_err(|m| ConfigError::new(path, format!("{what} `{id}`: {m}")))?;
        if what == "topic" && crate::rules::RESERVED_TOPIC_IDS.contains(&id) {
            return Err(ConfigError::new(
                path,
                format!(
                    "topic `{id}`: the name is reserved for a path the server serves itself ({})",
                    crate::rules::RESERVED_TOPIC_IDS.join(", ")
                ),
            ));
        }
        if let Some(first) = seen.insert((what, id.to_string()), path.to_path_buf()) {
            return Err(ConfigError::new(
                path,
                format!(
                    "{what} `{id}` is defined twice (also in {})",
                    first.display()
                ),
            ));
        }
        Ok(())
    };

    let mut sources = Vec::new();
    let mut tags = Vec::new();
    for (path, file) in &parsed {
        for def in &file.source {
            check_unique("source", &def.id, path)?;
            sources.push(compile_source(def, path)?);
        }
        for def in &file.tag {
            check_unique("tag", &def.id, path)?;
            let tag = Tag::compile(def)
                .map_err(|m| ConfigError::new(path, format!("tag `{}`: {m}", def.id)))?;
            tags.push(tag);
        }
    }
    let source_ids: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    let tag_ids: Vec<&str> = tags.iter().map(|t| t.id.as_str()).collect();
    let mut topics = Vec::new();
    for (path, file) in &parsed {
        for def in &file.topic {
            check_unique("topic", &def.id, path)?;
            let topic = Topic::compile(def, &tag_ids, &source_ids)
                .map_err(|m| ConfigError::new(path, format!("topic `{}`: {m}", def.id)))?;
            topics.push(topic);
        }
        // Source filters inside tag rules name sources too.
        for def in &file.tag {
            for s in crate::rules::sources_named(def) {
                if !source_ids.contains(&s.as_str()) {
                    return Err(ConfigError::new(
                        path,
                        format!("tag `{}`: unknown source `{s}`", def.id),
                    ));
                }
            }
        }
    }
    let mut hosts = HashMap::new();
    for (path, file) in &parsed {
        for def in &file.host {
            let (name, policy) = compile_host(def)
                .map_err(|m| ConfigError::new(path, format!("host `{}`: {m}", def.name)))?;
            if hosts.insert(name.clone(), policy).is_some() {
                return Err(ConfigError::new(
                    path,
                    format!("host `{name}` is defined twice"),
                ));
            }
        }
    }
    let mut retention = Retention::default();
    let mut retention_file: Option<&Path> = None;
    for (path, file) in &parsed {
        let Some(def) = &file.retention else { continue };
        if let Some(first) = retention_file {
            return Err(ConfigError::new(
                path,
                format!(
                    "`[retention]` is defined twice (also in {})",
                    first.display()
                ),
            ));
        }
        retention_file = Some(path);
        if let Some(age) = &def.max_age {
            let d = parse_interval(age)
                .map_err(|m| ConfigError::new(path, format!("retention: field `max_age`: {m}")))?;
            if d.is_zero() {
                return Err(ConfigError::new(
                    path,
                    "retention: field `max_age`: must be more than 0",
                ));
            }
            retention.max_age = Some(d);
        }
        if let Some(n) = def.max_entries {
            if n == 0 {
                return Err(ConfigError::new(
                    path,
                    "retention: field `max_entries`: must be at least 1",
                ));
            }
            retention.max_entries = n;
        }
    }
    let priorities = sources
        .iter()
        .filter(|s| s.priority != 0)
        .map(|s| (s.id.clone(), s.priority))
        .collect();
    Ok(Definitions {
        dir: dir.to_path_buf(),
        priorities,
        sources,
        rules: RuleSet::new(tags, topics),
        hosts,
        retention,
        files: parsed.into_iter().map(|(p, _)| p).collect(),
    })
}

fn compile_source(def: &SourceDef, path: &Path) -> Result<Source, ConfigError> {
    let err = |m: String| ConfigError::new(path, format!("source `{}`: {m}", def.id));
    let http_url = |field: &str, raw: &str| -> Result<Url, ConfigError> {
        parse_http_url(raw).map_err(|m| err(format!("field `{field}`: {m}")))
    };
    let kind_name = def.kind.name();
    let only_for = |field: &str, set: bool, kinds: &str| -> Result<(), ConfigError> {
        if set {
            Err(err(format!(
                "field `{field}` only applies to kind = {kinds}, not \"{kind_name}\""
            )))
        } else {
            Ok(())
        }
    };
    let is_hf = def.kind == SourceKindDef::HuggingfacePapers;
    if !matches!(def.kind, SourceKindDef::Html | SourceKindDef::Json) {
        only_for("select", def.select.is_some(), "\"html\" or \"json\"")?;
        only_for("metrics", def.metrics.is_some(), "\"html\" or \"json\"")?;
    }
    if def.kind != SourceKindDef::Json {
        for (field, set) in [
            ("link_template", def.link_template.is_some()),
            ("comments_template", def.comments_template.is_some()),
            ("paging", def.paging.is_some()),
        ] {
            only_for(field, set, "\"json\"")?;
        }
    }
    if !is_hf {
        for (field, set) in [
            ("listing", def.listing.is_some()),
            ("mode", def.mode.is_some()),
            ("base_url", def.base_url.is_some()),
            ("date", def.date.is_some()),
            ("week", def.week.is_some()),
            ("month", def.month.is_some()),
            ("query", def.query.is_some()),
        ] {
            only_for(field, set, "\"huggingface_papers\"")?;
        }
    }
    if !is_hf && def.kind != SourceKindDef::Json {
        only_for(
            "max_pages",
            def.max_pages.is_some(),
            "\"huggingface_papers\" or \"json\"",
        )?;
    }
    let (url, kind) = match def.kind {
        SourceKindDef::Feed | SourceKindDef::Html | SourceKindDef::Json => {
            let raw = def
                .url
                .as_deref()
                .ok_or_else(|| err("missing field `url`".into()))?;
            let url = http_url("url", raw)?;
            let kind = match def.kind {
                SourceKindDef::Feed => SourceKind::Feed,
                SourceKindDef::Json => {
                    SourceKind::Json(Box::new(JsonSpec::compile(def).map_err(|m| err(m.0))?))
                }
                _ => {
                    let select = def.select.as_ref().ok_or_else(|| {
                        err("kind = \"html\" needs a `[source.select]` table".into())
                    })?;
                    SourceKind::Html(Box::new(
                        HtmlSpec::compile(select, def.metrics.as_ref()).map_err(|m| err(m.0))?,
                    ))
                }
            };
            (url, kind)
        }
        SourceKindDef::HuggingfacePapers => {
            if def.url.is_some() {
                return Err(err(
                    "field `url` does not apply to kind = \"huggingface_papers\": use `base_url` and `listing`".into(),
                ));
            }
            let spec = HfSpec::compile(def).map_err(|m| err(m.0))?;
            (spec.base.clone(), SourceKind::HuggingFace(Box::new(spec)))
        }
    };
    let interval = match &def.interval {
        Some(text) => {
            let d = parse_interval(text).map_err(|m| err(format!("field `interval`: {m}")))?;
            if d < MIN_INTERVAL {
                return Err(err(format!(
                    "field `interval`: `{text}` is shorter than the minimum of 1m"
                )));
            }
            d
        }
        None => match kind {
            SourceKind::Feed | SourceKind::Json(_) => DEFAULT_FEED_INTERVAL,
            SourceKind::Html(_) => DEFAULT_HTML_INTERVAL,
            SourceKind::HuggingFace(_) => DEFAULT_HF_INTERVAL,
        },
    };
    let timeout = match &def.timeout {
        Some(t) => {
            let d = parse_duration(t).map_err(|m| err(format!("field `timeout`: {m}")))?;
            if d.is_zero() {
                return Err(err("field `timeout`: must be more than 0s".into()));
            }
            d
        }
        None => DEFAULT_TIMEOUT,
    };
    let max_body = match &def.max_body {
        Some(b) => parse_size(b).map_err(|m| err(format!("field `max_body`: {m}")))?,
        None => DEFAULT_MAX_BODY,
    };
    let fulltext = match def.fulltext {
        Some(true) => Some(FulltextPolicy {
            min_chars: def.fulltext_min_chars.unwrap_or(DEFAULT_FULLTEXT_MIN_CHARS),
            robots: def.robots.unwrap_or(true),
        }),
        _ => {
            for (field, set) in [
                ("fulltext_min_chars", def.fulltext_min_chars.is_some()),
                ("robots", def.robots.is_some()),
            ] {
                if set {
                    return Err(err(format!("field `{field}` needs `fulltext = true`")));
                }
            }
            None
        }
    };
    if fulltext.as_ref().is_some_and(|p| !p.robots) {
        tracing::warn!(source = %def.id, "robots = false: article pages are fetched even where robots.txt disallows it");
    }
    Ok(Source {
        fulltext,
        id: def.id.clone(),
        title: def.title.clone().unwrap_or_else(|| def.id.clone()),
        url,
        interval,
        kind,
        timeout,
        max_body,
        priority: def.priority.unwrap_or(0),
        allow_http_redirect: def.allow_http_redirect.unwrap_or(false),
        internal: def.internal.unwrap_or(false),
        fingerprint: format!("{def:?}"),
        file: path.to_path_buf(),
    })
}

fn compile_host(def: &HostDef) -> Result<(String, HostPolicy), Invalid> {
    let name = def.name.trim().to_ascii_lowercase();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err("`name` must be a host name such as `rss.arxiv.org`".into());
    }
    let mut p = HostPolicy::default();
    if let Some(s) = &def.min_spacing {
        p.min_spacing = parse_duration(s).map_err(|m| format!("field `min_spacing`: {m}"))?;
    }
    if let Some(n) = def.max_requests {
        if n == 0 {
            return Err("field `max_requests`: must be at least 1".into());
        }
        p.max_requests = n;
    }
    if let Some(w) = &def.window {
        p.window = parse_duration(w).map_err(|m| format!("field `window`: {m}"))?;
        if p.window.is_zero() {
            return Err("field `window`: must be more than 0s".into());
        }
    }
    Ok((name, p))
}

/// Whether `id` may name a source, tag or topic (it becomes a path and a
/// part of entry ids, so only a safe, stable alphabet).
pub fn check_id(id: &str) -> Result<(), Invalid> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !id.starts_with(['-', '_']);
    if ok {
        Ok(())
    } else {
        Err("ids use 1 to 64 lower-case letters, digits, `-` and `_`, starting with a letter or digit".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(check_id("arxiv-cs_cl2").is_ok());
        for bad in ["", "Upper", "has space", "-lead", "dot.ted", "slash/"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rejected_file_is_named_publicly_without_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let reason = |text: &str| {
            std::fs::write(dir.path().join("more.toml"), text).unwrap();
            load(dir.path()).unwrap_err().public_reason(dir.path())
        };
        let unterminated = "[[topic]]\nid = \"voice\"\nurl = \"https://x.example/?token=SECRET\n";
        assert_eq!(
            reason(unterminated),
            "more.toml: not valid TOML (line 3, column 39)"
        );
        let invalid = "[[topic]]\nid = \"secret-topic\"\ntags = { any = [\"speach\"] }\n";
        assert_eq!(
            reason(invalid),
            "more.toml: a definition in it is invalid (`feedloom check` names it)"
        );
        std::fs::remove_file(dir.path().join("more.toml")).unwrap();
        let empty = load(dir.path()).unwrap_err();
        assert_eq!(
            empty.public_reason(dir.path()),
            "the folder cannot be read, or holds no *.toml file"
        );
    }
}
