//! Writing definitions: what `add`, `import` and `init` share.
//!
//! A new file is checked together with the folder it joins before it
//! exists ([`config::load_with`], so an error names the file where it
//! will be), then written under a temporary name, synced, and renamed into
//! place: a refusal, a crash or a full disk never leaves a half-written
//! file, or a folder `check` rejects, behind. Files are only ever added,
//! never edited: an operator's comments and layout stay theirs.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use url::Url;

use super::Error;
use crate::config::{self, Definitions};

/// Longest id made from a title (ids may be 64; room is left for `-2`…).
const MAX_SLUG: usize = 40;

/// The ids and source URLs a definitions folder already holds, to keep
/// new ones unique and to refuse a source defined twice.
#[derive(Debug, Default)]
pub struct Existing {
    ids: HashSet<(Space, String)>,
    /// Canonical URL ([`canonical`]) → the source that fetches it.
    urls: HashMap<String, String>,
    /// File names taken in the folder.
    files: HashSet<String>,
    /// The next suffix [`Existing::fresh_id`] tries for a base id: ten
    /// thousand imported feeds titled alike would otherwise try
    /// `feed-2`, `feed-3`... from the start each time (quadratic).
    next_suffix: HashMap<(Space, String), usize>,
    /// The fetcher's per-host rules the folder defines.
    hosts: HashMap<String, crate::fetch::HostPolicy>,
}

/// Ids are unique per kind of definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Space {
    Source,
    Tag,
    Topic,
}

impl Existing {
    /// What `dir` defines. A folder that does not exist or holds no
    /// `*.toml` file defines nothing; one that does not load is an error
    /// (adding to it would hide the mistake behind a new one).
    pub fn read(dir: &Path) -> Result<Existing, Error> {
        let mut out = Existing::default();
        let Ok(listing) = std::fs::read_dir(dir) else {
            return Ok(out);
        };
        out.files = listing
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if !out.files.iter().any(|f| f.ends_with(".toml")) {
            return Ok(out);
        }
        let defs = config::load(dir)?;
        out.take_all(&defs);
        Ok(out)
    }

    /// The per-host politeness rules of the folder, for a fetcher that
    /// asks what the poller would.
    pub fn host_policies(&self) -> HashMap<String, crate::fetch::HostPolicy> {
        self.hosts.clone()
    }

    /// Takes `id` in `space` as it is (the caller checked it is free).
    pub fn take(&mut self, space: Space, id: &str) -> String {
        self.ids.insert((space, id.to_string()));
        id.to_string()
    }

    fn take_all(&mut self, defs: &Definitions) {
        self.hosts = defs.host_policies();
        for s in &defs.sources {
            self.ids.insert((Space::Source, s.id.clone()));
            self.urls.insert(source_key(s), s.id.clone());
        }
        for t in &defs.rules.tags {
            self.ids.insert((Space::Tag, t.id.clone()));
        }
        for t in &defs.rules.topics {
            self.ids.insert((Space::Topic, t.id.clone()));
        }
    }

    /// The source that already fetches `url` (compared by [`canonical`]).
    pub fn source_for(&self, url: &Url) -> Option<&str> {
        self.urls.get(&canonical(url)).map(String::as_str)
    }

    /// The source already defined that fetches what `source` would.
    pub fn defined(&self, source: &config::Source) -> Option<&str> {
        self.urls.get(&source_key(source)).map(String::as_str)
    }

    /// Records a source about to be written, so a second one with the same
    /// URL is seen as a duplicate.
    pub fn add_source(&mut self, id: &str, url: &Url) {
        self.ids.insert((Space::Source, id.to_string()));
        self.urls.insert(canonical(url), id.to_string());
    }

    /// Whether `id` is taken in `space`.
    pub fn has(&self, space: Space, id: &str) -> bool {
        self.ids.contains(&(space, id.to_string()))
    }

    /// An id for `space` made from `wanted` (a title or a host), unique,
    /// and taken from now on: `my-blog`, then `my-blog-2`...
    pub fn fresh_id(&mut self, space: Space, wanted: &str, fallback: &str) -> String {
        let mut base = slug(wanted);
        if base.is_empty() {
            base = slug(fallback);
        }
        if base.is_empty() {
            base = "feed".to_string();
        }
        let mut id = base.clone();
        let key = (space, base);
        let mut n = self.next_suffix.get(&key).copied().unwrap_or(2);
        while self.has(space, &id) || (space == Space::Topic && reserved(&id)) {
            id = format!("{}-{n}", key.1);
            n += 1;
        }
        self.next_suffix.insert(key, n);
        self.ids.insert((space, id.clone()));
        id
    }

    /// A file name in the folder that is not taken: `stem.toml`, then
    /// `stem-2.toml`...
    pub fn fresh_file(&mut self, stem: &str) -> String {
        let stem = match slug(stem) {
            s if s.is_empty() => "feeds".to_string(),
            s => s,
        };
        let mut name = format!("{stem}.toml");
        let mut n = 2;
        while self.files.contains(&name) {
            name = format!("{stem}-{n}.toml");
            n += 1;
        }
        self.files.insert(name.clone());
        name
    }
}

/// Topic ids the server answers itself (`search` is refused by the rules,
/// the others by the definitions).
fn reserved(id: &str) -> bool {
    crate::rules::RESERVED_TOPIC_IDS.contains(&id)
}

/// `text` as an id: lower-case ASCII letters and digits, words joined by
/// `-`, at most [`MAX_SLUG`] characters; empty when nothing is left
/// (`"Ünïcödé Blog!"` → `"unicode-blog"`, `"日本語"` → `""`).
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            let sep = dash && !out.is_empty();
            if out.len() + usize::from(sep) + 1 > MAX_SLUG {
                break;
            }
            if sep {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

/// The plain letter of the common accented Latin ones (enough for ids made
/// from titles; anything else becomes a separator).
fn fold_accent(c: char) -> Option<char> {
    const FROM: &str = "àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżśšłđ";
    const TO: &str = "aaaaaaacccdeeeeeeeiiiiinnooooooouuuuuyyzzzsslld";
    let lower = c.to_lowercase().next().unwrap_or(c);
    Some(match FROM.chars().position(|f| f == lower) {
        Some(i) => TO.chars().nth(i).unwrap_or(c),
        None => c,
    })
}

/// The form two source URLs are compared in: scheme (`http` and `https`
/// alike), host lower-case without `www.`, default port, path without a
/// trailing slash, query kept, fragment dropped.
pub fn canonical(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    // `Url` already leaves out a scheme's default port.
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    match url.query() {
        Some(q) => format!("{host}{port}{path}?{q}"),
        None => format!("{host}{port}{path}"),
    }
}

/// What makes two sources the same: their URL ([`canonical`]), and for
/// Hugging Face sources (which share a base URL) the listing too.
fn source_key(source: &config::Source) -> String {
    match &source.kind {
        crate::extract::SourceKind::HuggingFace(spec) => {
            format!("{} {:?}", canonical(&source.url), spec.listing)
        }
        _ => canonical(&source.url),
    }
}

/// A TOML basic string, quoted and escaped.
pub fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML array of basic strings.
pub fn toml_strings<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| toml_string(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// A `[source.select]` table as TOML.
pub fn select_table(select: &crate::defs::SelectDef) -> String {
    let mut out = String::from("[source.select]\n");
    let one =
        |s: &Option<crate::defs::Selectors>| s.as_ref().and_then(|s| s.as_slice().first().cloned());
    for (key, value) in [
        ("item", select.item.clone()),
        ("title", select.title.as_slice().first().cloned()),
        ("link", one(&select.link)),
        ("date", one(&select.date)),
        ("summary", one(&select.summary)),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "{key} = {}", toml_string(&v));
        }
        if key == "item" {
            if let Some(n) = select.item_rows {
                let _ = writeln!(out, "item_rows = {n}");
            }
        }
    }
    out
}

/// Writes `text` as the new file `name` in `dir` (made if missing), only
/// if the folder with it loads; returns the definitions it gives. The file
/// must not exist: files are added, never replaced.
///
/// Two writers at once (two `add`s) could each pass the check alone and
/// fail it together (one topic id in both files): the folder is loaded
/// again once the file is in place, and a file that breaks it is taken
/// back out.
pub fn write_new(dir: &Path, name: &str, text: &str) -> Result<(PathBuf, Definitions), Error> {
    let path = dir.join(name);
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} exists already; nothing was written",
            path.display()
        )));
    }
    config::load_with(dir, Some((name, text)))?;
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create definitions folder",
        path: dir.to_path_buf(),
        source,
    })?;
    put_in_place(dir, &path, name, text).map_err(|source| Error::Io {
        action: "write",
        path: path.clone(),
        source,
    })?;
    // The new name survives a crash only once the folder is synced; the
    // file is there either way, so a failure is said, not fatal.
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(
            "{}: written, but the folder could not be synced: {e}",
            path.display()
        );
    }
    match config::load(dir) {
        Ok(defs) => Ok((path, defs)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(Error::Usage(format!(
                "the folder changed while {name} was written, and with it does not load ({e}); nothing was written"
            )))
        }
    }
}

/// Writes `text` at `path`, whole or not at all, never over a file made
/// meanwhile: written and synced under a hidden temporary name (not
/// `*.toml`, so a server reloading meanwhile never reads it half-done),
/// then hard-linked to its name (which, unlike `rename`, fails if the name
/// exists). Where hard links are not supported (FAT, some network and
/// FUSE mounts), renamed instead, after checking the name is still free.
fn put_in_place(dir: &Path, path: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => std::fs::remove_file(&tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            Err(_) if !path.exists() => std::fs::rename(&tmp, path),
            Err(e) => Err(e),
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_ids() {
        assert_eq!(slug("Ünïcödé Blog!"), "unicode-blog");
        assert_eq!(slug("  The  Rust   Blog "), "the-rust-blog");
        assert_eq!(slug("日本語"), "");
        assert_eq!(slug("blog.rust-lang.org"), "blog-rust-lang-org");
        let long = slug(&"word ".repeat(50));
        assert!(long.len() <= MAX_SLUG, "{long}");
        assert!(!long.ends_with('-'));
        for s in ["Ünïcödé Blog!", "a/b", "x".repeat(200).as_str()] {
            config::check_id(&slug(s)).unwrap();
        }
    }

    #[test]
    fn fresh_ids_and_files_never_collide() {
        let mut e = Existing::default();
        assert_eq!(e.fresh_id(Space::Source, "My Blog", "x"), "my-blog");
        assert_eq!(e.fresh_id(Space::Source, "my blog", "x"), "my-blog-2");
        // Another space may reuse the name.
        assert_eq!(e.fresh_id(Space::Topic, "My Blog", "x"), "my-blog");
        assert_eq!(
            e.fresh_id(Space::Topic, "日本", "example.org"),
            "example-org"
        );
        assert_eq!(e.fresh_id(Space::Topic, "search", "x"), "search-2");
        // Suffixes resume where they stopped, and skip ids taken meanwhile.
        assert_eq!(e.fresh_id(Space::Source, "my blog", "x"), "my-blog-3");
        e.add_source("my-blog-4", &Url::parse("https://example.org/4").unwrap());
        assert_eq!(e.fresh_id(Space::Source, "My Blog!", "x"), "my-blog-5");
        e.files.insert("blog.toml".into());
        assert_eq!(e.fresh_file("blog"), "blog-2.toml");
    }

    #[test]
    fn canonical_urls_ignore_what_does_not_name_another_feed() {
        let c = |s: &str| canonical(&Url::parse(s).unwrap());
        assert_eq!(
            c("https://WWW.Example.org:443/feed/#top"),
            c("http://example.org/feed")
        );
        assert_ne!(
            c("https://example.org/feed?tag=a"),
            c("https://example.org/feed")
        );
        assert_ne!(
            c("https://example.org:8443/feed"),
            c("https://example.org/feed")
        );
    }

    #[test]
    fn a_file_is_written_only_when_the_folder_with_it_loads() {
        let dir = tempfile::tempdir().unwrap();
        let feeds = dir.path().join("feeds");
        let bad = "[[source]]\nid = \"a\"\nkind = \"feed\"\n";
        let err = write_new(&feeds, "new.toml", bad).unwrap_err().to_string();
        assert!(err.contains("new.toml"), "{err}");
        assert!(!feeds.join("new.toml").exists());
        let good = "[[source]]\nid = \"a\"\nkind = \"feed\"\nurl = \"https://example.org/feed\"\n";
        let (path, defs) = write_new(&feeds, "new.toml", good).unwrap();
        assert_eq!(defs.sources.len(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
        // Never replaced; no temporary file left.
        assert!(write_new(&feeds, "new.toml", good).is_err());
        let names: Vec<_> = std::fs::read_dir(&feeds)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("new.toml")]);
        // A second file defining the same id is refused, naming it.
        let err = write_new(&feeds, "more.toml", good)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("more.toml") && err.contains("defined twice"),
            "{err}"
        );
        let existing = Existing::read(&feeds).unwrap();
        assert_eq!(
            existing.source_for(&Url::parse("http://www.example.org/feed/").unwrap()),
            Some("a")
        );
    }
}
