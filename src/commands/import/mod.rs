//! `feedloom import FILE`: another reader's subscriptions (an OPML export,
//! read by [`opml`]) as one new definitions file, checked with the folder
//! it joins and written atomically ([`super::definitions::write_new`]).
//!
//! What it writes:
//! - a `[[source]]` (`kind = "feed"`) per http(s) `xmlUrl` not defined
//!   yet, its id made from its title (else its host), unique;
//! - a `[[tag]]` per category, whose condition is the list of the new
//!   sources in it (`any = [{ source = [...] }]`). Nested folders give a
//!   tag per level: a feed in `Tech` / `Rust` is in tag `tech` (every feed
//!   under Tech) and in tag `tech-rust`, as a reader shows a folder with
//!   its subfolders' feeds. Categories are compared ignoring case;
//! - with `--topics`, a `[[topic]]` per category tag (`tags = { any =
//!   [...] }`), and one, `uncategorized`, for the new feeds in no category
//!   (`sources = [...]`).
//!
//! Duplicates are not fatal: a feed already defined (the same canonical
//! URL, [`super::definitions::canonical`]) is left out and named, and one
//! listed twice in the file is one source, in the categories of both
//! places. So importing the same file again writes nothing ("nothing new
//! to import"), and a file that adds to one imported before writes only
//! the new feeds: their category tags are new tags, with fresh ids
//! (`tech-2` where `tech` exists), named in the report. Outlines that are
//! not feeds, or whose `xmlUrl` is not an http(s) URL, are skipped and
//! named.
//!
//! Bounds: at most [`MAX_FEEDS`] new sources per import (the rest are
//! counted, and the next import of the same file takes the next ones) and
//! [`MAX_TAGS`] category tags; the report lists at most [`MAX_LISTED`]
//! lines per kind of problem. The file itself is bounded by [`opml`].

pub mod opml;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use url::Url;

use super::args::ImportArgs;
use super::definitions::{self, canonical, slug, toml_string, Existing, Space};
use super::Error;
use crate::text::one_line;
use opml::{Opml, OpmlError, Outline, MAX_OPML_BYTES};

/// Most new sources one import writes; past it, feeds are counted and
/// left for the next import of the file.
pub const MAX_FEEDS: usize = 10_000;
/// Most category tags (and topics) one import writes; a feed's categories
/// past it are left untagged, and counted.
pub const MAX_TAGS: usize = 1_000;
/// Most lines the report lists per kind of problem, then "and N more".
pub const MAX_LISTED: usize = 20;
/// Longest line the TOML keeps a list of ids on; a longer list is
/// written one id a line.
const LINE: usize = 100;
/// FreshRSS's web-scraping sources: their `xmlUrl` is a page to scrape
/// with the XPath or JSON rules in its `frss:` attributes, not a feed.
const SCRAPED_KINDS: [&str; 4] = [
    "html+xpath",
    "xml+xpath",
    "json+dotnotation",
    "html+xpath+json+dotnotation",
];

/// Reads `args.file` and writes its new feeds as one new file in `feeds`
/// (or, with `--print`, prints it); returns the report.
pub fn import(feeds: &Path, args: &ImportArgs) -> Result<String, Error> {
    let bytes = read_limited(&args.file)?;
    let failed = |e: OpmlError| Error::Io {
        action: "import",
        path: args.file.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    };
    let mut plan = Plan::new(Existing::read(feeds)?, args.topics);
    plan.internal = args.internal;
    let mut reader = Opml::new(&bytes).map_err(failed)?;
    while let Some(outline) = reader.next_outline().map_err(failed)? {
        plan.take(outline);
    }
    let list_title = reader.title();
    let source_name = args
        .file
        .file_name()
        .map(|n| one_line(&n.to_string_lossy(), 80))
        .unwrap_or_default();
    if plan.sources.is_empty() {
        return nothing_new(&plan, &source_name);
    }
    let name = match &args.name {
        Some(name) => file_name(feeds, name)?,
        None => plan
            .existing
            .fresh_file(list_title.as_deref().unwrap_or("imported")),
    };
    let from = match &list_title {
        Some(t) => format!("{source_name} (\"{t}\")"),
        None => source_name,
    };
    let text = plan.toml(&from);
    let report = plan.report();
    if args.print {
        // Checked as it would be written, so what is printed loads.
        crate::config::load_with(feeds, Some((&name, &text)))?;
        let path = feeds.join(&name);
        let mut out = format!(
            "# would write {} from {from}: {}",
            path.display(),
            plan.counts()
        );
        for line in report.lines() {
            let _ = writeln!(out, "# {line}");
        }
        out.push('\n');
        out.push_str(&text);
        return Ok(out);
    }
    let (path, _) = definitions::write_new(feeds, &name, &text)?;
    let check = if feeds == Path::new(super::DEFAULT_FEEDS_DIR) {
        "feedloom check".to_string()
    } else {
        format!("feedloom --feeds {} check", feeds.display())
    };
    Ok(format!(
        "wrote {} from {from}: {}{report}check it: {check}\n",
        path.display(),
        plan.counts()
    ))
}

/// The file's bytes, refused past [`MAX_OPML_BYTES`] without reading
/// further.
fn read_limited(path: &Path) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        action: "import",
        path: path.to_path_buf(),
        source,
    };
    let too_large = || {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            OpmlError::TooLarge,
        ))
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // The size a file says first; the read is bounded too (a pipe, a
    // file still growing).
    if file.metadata().map_err(io)?.len() > MAX_OPML_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_OPML_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_OPML_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// `--name NAME`: the new file, `NAME.toml`, in the definitions folder
/// `feeds`; it must not exist (files are added, never replaced).
fn file_name(feeds: &Path, name: &str) -> Result<String, Error> {
    let stem = name.strip_suffix(".toml").unwrap_or(name);
    if crate::config::check_id(stem).is_err() {
        return Err(Error::Usage(format!(
            "--name {}: a file name is 1-64 lower-case letters, digits, `-` and `_` (`.toml` is added)",
            one_line(name, 80)
        )));
    }
    let file = format!("{stem}.toml");
    if feeds.join(&file).exists() {
        return Err(Error::Usage(format!(
            "{} exists already; nothing was written",
            feeds.join(&file).display()
        )));
    }
    Ok(file)
}

/// The report when there is nothing to write: success when every feed is
/// defined already (importing a file again), else why nothing was read.
fn nothing_new(plan: &Plan, source_name: &str) -> Result<String, Error> {
    if plan.already.count == 0 {
        let mut why =
            format!("{source_name}: no feed to import: no outline with an http(s) xmlUrl");
        if plan.skipped.count > 0 {
            let first = plan.skipped.lines.first().map(String::as_str).unwrap_or("");
            let _ = write!(why, " ({} skipped; the first: {first})", plan.skipped.count);
        }
        return Err(Error::Usage(why));
    }
    let mut out = format!(
        "nothing new to import: {} feeds in {source_name} are defined already; nothing was written\n",
        plan.already.count
    );
    plan.skipped.write(&mut out, "skipped");
    Ok(out)
}

/// What one import writes, built outline by outline.
struct Plan {
    /// `--internal`: feeds inside this network are imported too.
    internal: bool,
    existing: Existing,
    topics: bool,
    sources: Vec<NewSource>,
    /// Canonical URL → index in `sources`, for a feed listed twice.
    new_urls: HashMap<String, usize>,
    tags: Vec<NewTag>,
    /// Category path (lower-case names) → index in `tags`.
    tag_of: HashMap<Vec<String>, usize>,
    /// Defined already, or listed twice in the file.
    already: Listed,
    skipped: Listed,
    /// Tags whose plain id was taken by an existing tag.
    renamed: Listed,
    /// New feeds past [`MAX_FEEDS`] (canonical URLs, to count each once).
    left_out: HashSet<String>,
    /// Feeds left out of a category's tag for lack of room
    /// ([`MAX_TAGS`]).
    untagged: usize,
    /// Tag and topic ids this import made.
    made: HashSet<(Space, String)>,
}

struct NewSource {
    id: String,
    url: Url,
    title: Option<String>,
    line: usize,
    /// In no category.
    uncategorized: bool,
}

struct NewTag {
    id: String,
    /// The category path, names joined with ` / `.
    title: String,
    /// Indexes in [`Plan::sources`]: in file order, each once.
    sources: BTreeSet<usize>,
}

/// Report lines of one kind: the first [`MAX_LISTED`], and how many.
#[derive(Default)]
struct Listed {
    lines: Vec<String>,
    count: usize,
}

impl Listed {
    fn push(&mut self, line: impl FnOnce() -> String) {
        self.count += 1;
        if self.lines.len() < MAX_LISTED {
            self.lines.push(line());
        }
    }

    fn write(&self, out: &mut String, heading: &str) {
        if self.count == 0 {
            return;
        }
        let _ = writeln!(out, "{heading} ({}):", self.count);
        for line in &self.lines {
            let _ = writeln!(out, "  {line}");
        }
        if self.count > self.lines.len() {
            let _ = writeln!(out, "  and {} more", self.count - self.lines.len());
        }
    }
}

impl Plan {
    fn new(existing: Existing, topics: bool) -> Plan {
        Plan {
            existing,
            topics,
            internal: false,
            sources: Vec::new(),
            new_urls: HashMap::new(),
            tags: Vec::new(),
            tag_of: HashMap::new(),
            already: Listed::default(),
            skipped: Listed::default(),
            renamed: Listed::default(),
            left_out: HashSet::new(),
            untagged: 0,
            made: HashSet::new(),
        }
    }

    /// One outline: a new source, a duplicate, or a skip.
    fn take(&mut self, o: Outline) {
        let named = || match &o.title {
            Some(t) => format!("line {} \"{t}\"", o.line),
            None => format!("line {}", o.line),
        };
        let kind = o.kind.as_deref().unwrap_or("").to_ascii_lowercase();
        let Some(raw) = o.xml_url.as_deref() else {
            let why = match kind.as_str() {
                "include" => "an OPML inclusion (type=\"include\"), not followed",
                "link" => "a link (type=\"link\"), not a feed",
                _ => "no xmlUrl (a folder with no feeds, or a note)",
            };
            self.skipped.push(|| format!("{}: {why}", named()));
            return;
        };
        if SCRAPED_KINDS.contains(&kind.as_str()) {
            self.skipped.push(|| {
                format!(
                    "{}: a FreshRSS web-scraping source (type=\"{}\"): its xmlUrl is a page, not a feed",
                    named(),
                    o.kind.as_deref().unwrap_or_default()
                )
            });
            return;
        }
        if o.url_too_long {
            self.skipped
                .push(|| format!("{}: xmlUrl longer than {} bytes", named(), opml::MAX_URL));
            return;
        }
        let url = match crate::urls::parse_http_url(raw) {
            Ok(url) => url,
            Err(e) => {
                self.skipped.push(|| {
                    format!(
                        "{}: xmlUrl is not an http(s) URL: {}",
                        named(),
                        one_line(&e.to_string(), 120)
                    )
                });
                return;
            }
        };
        // SECURITY: the file may be a stranger's; a source naming an
        // internal address may reach it (fetch::may_reach_inside), so only
        // the operator's `--internal` lets one in.
        if !self.internal && crate::fetch::names_inside(&url) {
            self.skipped.push(|| {
                format!(
                    "{}: {} is an address inside this network (import with --internal if it is yours)",
                    named(),
                    crate::urls::public_url(&url)
                )
            });
            return;
        }
        let key = canonical(&url);
        if let Some(&first) = self.new_urls.get(&key) {
            let first_line = self.sources[first].line;
            self.already.push(|| {
                format!("{}: {url}: twice in the file (first at line {first_line}): one source, in the categories of both", named())
            });
            self.categorize(first, &o.categories);
            return;
        }
        if let Some(id) = self.existing.source_for(&url) {
            self.already
                .push(|| format!("{}: {url}: defined already, as source `{id}`", named()));
            return;
        }
        if self.sources.len() == MAX_FEEDS {
            self.left_out.insert(key);
            return;
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let id = self
            .existing
            .fresh_id(Space::Source, o.title.as_deref().unwrap_or(""), &host);
        self.existing.add_source(&id, &url);
        let index = self.sources.len();
        self.new_urls.insert(key, index);
        self.sources.push(NewSource {
            id,
            url,
            title: o.title.clone(),
            line: o.line,
            uncategorized: true,
        });
        self.categorize(index, &o.categories);
    }

    /// Puts source `index` in the tag of every level of every category
    /// path.
    fn categorize(&mut self, index: usize, categories: &[Vec<String>]) {
        let mut lost = false;
        for path in categories {
            for depth in 1..=path.len() {
                let key: Vec<String> = path[..depth].iter().map(|n| n.to_lowercase()).collect();
                let tag = match self.tag_of.get(&key) {
                    Some(&t) => t,
                    None if self.tags.len() == MAX_TAGS => {
                        lost = true;
                        continue;
                    }
                    None => self.new_tag(key, &path[..depth]),
                };
                self.tags[tag].sources.insert(index);
                self.sources[index].uncategorized = false;
            }
        }
        self.untagged += usize::from(lost);
    }

    fn new_tag(&mut self, key: Vec<String>, path: &[String]) -> usize {
        let wanted = path.join(" ");
        let title = path.join(" / ");
        let (id, taken) = self.fresh(Space::Tag, &wanted);
        if let Some(why) = taken {
            self.renamed.push(|| {
                format!("category \"{title}\": tag {why}, so its new feeds are tagged `{id}`")
            });
        }
        let index = self.tags.len();
        self.tag_of.insert(key, index);
        self.tags.push(NewTag {
            id,
            title,
            sources: BTreeSet::new(),
        });
        index
    }

    /// "N sources, M tags, K topics".
    fn counts(&self) -> String {
        let topics = if self.topics {
            self.tags.len() + usize::from(self.sources.iter().any(|s| s.uncategorized))
        } else {
            0
        };
        use crate::text::counted;
        format!(
            "{}, {}, {}\n",
            counted(self.sources.len(), "source", "sources"),
            counted(self.tags.len(), "tag", "tags"),
            counted(topics, "topic", "topics")
        )
    }

    /// What the import did not write, and why.
    fn report(&mut self) -> String {
        let mut out = String::new();
        self.already.write(&mut out, "not imported again");
        self.skipped.write(&mut out, "skipped");
        self.renamed.write(&mut out, "ids taken");
        if !self.left_out.is_empty() {
            let _ = writeln!(
                out,
                "left out: {} more new feeds past the first {MAX_FEEDS}; import the file again for the next ones",
                self.left_out.len()
            );
        }
        if self.untagged > 0 {
            let _ = writeln!(
                out,
                "untagged: {} feeds not tagged with every category (more than {MAX_TAGS} categories)",
                self.untagged
            );
        }
        if !self.topics && !self.tags.is_empty() {
            let _ = writeln!(
                out,
                "no topic uses the category tags yet: import with --topics for a topic per category, or name them in a [[topic]]"
            );
        }
        out
    }

    /// The new file's text; `from` names the list it comes from.
    fn toml(&mut self, from: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Imported by `feedloom import` from {}:",
            one_line(from, 160)
        );
        let _ = writeln!(
            out,
            "# a source per feed, a tag per category (README: Importing subscriptions)."
        );
        for s in &self.sources {
            let _ = write!(
                out,
                "\n[[source]]\nid = {}\nkind = \"feed\"\nurl = {}\n",
                toml_string(&s.id),
                toml_string(s.url.as_str())
            );
            if let Some(t) = &s.title {
                let _ = writeln!(out, "title = {}", toml_string(t));
            }
        }
        for t in &self.tags {
            let ids: Vec<&str> = t
                .sources
                .iter()
                .map(|&i| self.sources[i].id.as_str())
                .collect();
            let _ = write!(
                out,
                "\n[[tag]]\nid = {}\ntitle = {}\n",
                toml_string(&t.id),
                toml_string(&t.title)
            );
            let inline = format!("any = [{{ source = {} }}]", definitions::toml_strings(&ids));
            if inline.len() <= LINE {
                let _ = writeln!(out, "{inline}");
            } else {
                let _ = write!(out, "[[tag.any]]\nsource = {}", long_list(&ids));
            }
        }
        if self.topics {
            for i in 0..self.tags.len() {
                let (tag, title) = (self.tags[i].id.clone(), self.tags[i].title.clone());
                let id = self.topic_id(&title, &format!("category \"{title}\""));
                let _ = write!(
                    out,
                    "\n[[topic]]\nid = {}\ntitle = {}\ntags = {{ any = [{}] }}\n",
                    toml_string(&id),
                    toml_string(&title),
                    toml_string(&tag)
                );
            }
            let loose: Vec<String> = self
                .sources
                .iter()
                .filter(|s| s.uncategorized)
                .map(|s| s.id.clone())
                .collect();
            if !loose.is_empty() {
                let id = self.topic_id("uncategorized", "the feeds in no category");
                let _ = write!(
                    out,
                    "\n[[topic]]\nid = {}\ntitle = \"Uncategorized\"\nsources = {}",
                    toml_string(&id),
                    long_list(&loose)
                );
            }
        }
        out
    }

    /// A fresh topic id for a category, named in the report when its plain
    /// id is taken.
    fn topic_id(&mut self, wanted: &str, what: &str) -> String {
        let (id, taken) = self.fresh(Space::Topic, wanted);
        if let Some(why) = taken {
            self.renamed
                .push(|| format!("{what}: topic {why}, so its topic is `{id}`"));
        }
        id
    }

    /// A fresh id for a category's tag or topic, and why the plain id was
    /// not it when a definition outside this import holds it, or the
    /// server answers at it: what the report says.
    fn fresh(&mut self, space: Space, wanted: &str) -> (String, Option<String>) {
        let plain = slug(wanted);
        let defined = self.existing.has(space, &plain);
        let id = self.existing.fresh_id(space, wanted, "category");
        let ours = self.made.contains(&(space, plain.clone()));
        self.made.insert((space, id.clone()));
        let why = match () {
            _ if plain == id || ours => None,
            _ if defined => Some(format!("`{plain}` exists already")),
            _ => Some(format!("`{plain}` is a path the server answers itself")),
        };
        (id, why)
    }
}

/// A TOML array of ids: on one line when short, else one a line.
fn long_list<S: AsRef<str>>(ids: &[S]) -> String {
    let one = definitions::toml_strings(ids);
    if one.len() <= LINE {
        return format!("{one}\n");
    }
    let mut out = String::from("[\n");
    for id in ids {
        let _ = writeln!(out, "  {},", toml_string(id.as_ref()));
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defs::FileDef;

    fn feed(line: usize, title: &str, url: &str, categories: &[&[&str]]) -> Outline {
        Outline {
            line,
            title: Some(title.to_string()).filter(|t| !t.is_empty()),
            xml_url: Some(url.to_string()),
            categories: categories
                .iter()
                .map(|p| p.iter().map(|n| n.to_string()).collect())
                .collect(),
            ..Outline::default()
        }
    }

    /// The plan's file, checked with the folder `dir` as `import.toml`,
    /// and parsed.
    fn written(plan: &mut Plan, dir: &Path) -> FileDef {
        let text = plan.toml("test.opml (\"Test\")");
        crate::config::load_with(dir, Some(("import.toml", &text)))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        toml::from_str(&text).unwrap()
    }

    /// (tag id, title, the sources its condition names).
    fn tags(file: &FileDef) -> Vec<(String, String, Vec<String>)> {
        file.tag
            .iter()
            .map(|t| {
                let title = t.title.clone().unwrap_or_default();
                let named = t
                    .any
                    .iter()
                    .flat_map(|c| c.source.clone().unwrap_or_default());
                (t.id.clone(), title, named.collect())
            })
            .collect()
    }

    fn assert_contains(text: &str, expected: &[&str]) {
        for e in expected {
            assert!(text.contains(e), "expected `{e}` in:\n{text}");
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_tag_per_category_level_and_a_feed_listed_twice_is_one_source_in_both() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = Plan::new(Existing::default(), true);
        plan.take(feed(
            3,
            "Rust Blog",
            "https://blog.rust-lang.org/feed.xml",
            &[&["Tech", "Rust"]],
        ));
        plan.take(feed(
            4,
            "Go Blog",
            "https://go.dev/blog/feed.atom",
            &[&["Tech", "Go"]],
        ));
        plan.take(feed(5, "Loose", "https://loose.example/feed", &[]));
        // The same feed (another spelling of its URL) in another folder.
        plan.take(feed(
            9,
            "Rust",
            "http://www.blog.rust-lang.org/feed.xml/",
            &[&["tech"], &["Reading"]],
        ));
        let file = written(&mut plan, dir.path());
        let ids: Vec<_> = file.source.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["rust-blog", "go-blog", "loose"]);
        assert_eq!(
            tags(&file),
            [
                (
                    "tech".into(),
                    "Tech".into(),
                    strings(&["rust-blog", "go-blog"])
                ),
                (
                    "tech-rust".into(),
                    "Tech / Rust".into(),
                    strings(&["rust-blog"])
                ),
                ("tech-go".into(), "Tech / Go".into(), strings(&["go-blog"])),
                ("reading".into(), "Reading".into(), strings(&["rust-blog"])),
            ]
        );
        let topics: Vec<_> = file
            .topic
            .iter()
            .map(|t| (t.id.as_str(), t.tags.any.clone(), t.sources.clone()))
            .collect();
        assert_eq!(topics.len(), 5);
        assert_eq!(topics[1], ("tech-rust", strings(&["tech-rust"]), None));
        assert_eq!(
            topics[4],
            ("uncategorized", vec![], Some(strings(&["loose"])))
        );
        let report = plan.report();
        assert!(
            report.contains("line 9 \"Rust\": http://www.blog.rust-lang.org/feed.xml/: twice in the file (first at line 3)"),
            "{report}"
        );
    }

    #[test]
    fn defined_feeds_are_left_out_and_taken_ids_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "[[source]]\nid = \"rust-blog\"\nkind = \"feed\"\nurl = \"https://blog.rust-lang.org/feed.xml\"\n\
             [[tag]]\nid = \"tech\"\nany = [{ source = [\"rust-blog\"] }]\n\
             [[topic]]\nid = \"tech\"\ntags = { any = [\"tech\"] }\n",
        )
        .unwrap();
        let mut plan = Plan::new(Existing::read(dir.path()).unwrap(), true);
        plan.take(feed(
            3,
            "Rust Blog",
            "https://blog.rust-lang.org/feed.xml/",
            &[&["Tech"]],
        ));
        plan.take(feed(
            4,
            "Go Blog",
            "https://go.dev/blog/feed.atom",
            &[&["Tech"]],
        ));
        // Topic ids the server answers at itself are not taken either.
        plan.take(feed(
            5,
            "Status",
            "https://status.example/feed",
            &[&["Status"]],
        ));
        let file = written(&mut plan, dir.path());
        assert_eq!(file.source.len(), 2);
        assert_eq!(
            tags(&file),
            [
                ("tech-2".into(), "Tech".into(), strings(&["go-blog"])),
                ("status".into(), "Status".into(), strings(&["status"])),
            ]
        );
        let topics: Vec<_> = file.topic.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(topics, ["tech-2", "status-2"]);
        let report = plan.report();
        assert_contains(
            &report,
            &[
            "line 3 \"Rust Blog\": https://blog.rust-lang.org/feed.xml/: defined already, as source `rust-blog`",
            "category \"Tech\": tag `tech` exists already, so its new feeds are tagged `tech-2`",
            "category \"Tech\": topic `tech` exists already, so its topic is `tech-2`",
            "category \"Status\": topic `status` is a path the server answers itself, so its topic is `status-2`",
        ],
        );
    }

    #[test]
    fn feeds_past_the_cap_are_counted_once_and_left_for_the_next_import() {
        let mut plan = Plan::new(Existing::default(), false);
        for i in 0..MAX_FEEDS + 50 {
            plan.take(feed(i + 1, "Feed", &format!("https://e.example/{i}"), &[]));
        }
        // Listed twice past the cap: counted once.
        plan.take(feed(1, "Feed", "https://e.example/10001", &[]));
        assert_eq!(plan.sources.len(), MAX_FEEDS);
        assert_eq!(plan.left_out.len(), 50);
        assert_eq!(plan.sources[MAX_FEEDS - 1].id, format!("feed-{MAX_FEEDS}"));
        let report = plan.report();
        assert!(
            report.contains("left out: 50 more new feeds past the first 10000"),
            "{report}"
        );
    }

    #[test]
    fn what_is_skipped_says_why_and_the_list_is_bounded() {
        let mut plan = Plan::new(Existing::default(), false);
        let mut folder = feed(1, "Later", "", &[]);
        folder.xml_url = None;
        plan.take(folder);
        let mut xpath = feed(2, "Notices", "https://council.example/notices", &[]);
        xpath.kind = Some("HTML+XPath".into());
        plan.take(xpath);
        for i in 0..30 {
            plan.take(feed(3 + i, "", "exec:~/bin/feed.sh", &[]));
        }
        let report = plan.report();
        assert_contains(
            &report,
            &[
                "skipped (32):",
                "line 1 \"Later\": no xmlUrl",
                "a FreshRSS web-scraping source (type=\"HTML+XPath\")",
                "line 3: xmlUrl is not an http(s) URL",
                "  and 12 more\n",
            ],
        );
        assert_eq!(report.lines().count(), 1 + MAX_LISTED + 1, "{report}");
    }

    #[test]
    fn long_id_lists_are_one_a_line_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = Plan::new(Existing::default(), true);
        for i in 0..40 {
            plan.take(feed(
                i,
                &format!("Blog number {i}"),
                &format!("https://b.example/{i}"),
                &[&["Blogs"]],
            ));
        }
        let text = plan.toml("t.opml");
        assert!(
            text.contains("[[tag.any]]\nsource = [\n  \"blog-number-0\",\n"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.len() <= LINE), "{text}");
        let mut again = Plan::new(Existing::default(), true);
        for i in 0..40 {
            again.take(feed(
                i,
                &format!("Blog number {i}"),
                &format!("https://b.example/{i}"),
                &[&["Blogs"]],
            ));
        }
        assert_eq!(tags(&written(&mut again, dir.path()))[0].2.len(), 40);
    }

    #[test]
    fn a_file_made_meanwhile_with_the_same_ids_leaves_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = Plan::new(Existing::read(dir.path()).unwrap(), false);
        plan.take(feed(1, "Blog", "https://blog.example/feed", &[]));
        let text = plan.toml("t.opml");
        // Another command (`add`) writes the same id before this one does.
        std::fs::write(
            dir.path().join("added.toml"),
            "[[source]]\nid = \"blog\"\nkind = \"feed\"\nurl = \"https://other.example/feed\"\n",
        )
        .unwrap();
        let err = definitions::write_new(dir.path(), "import.toml", &text).unwrap_err();
        assert!(err.to_string().contains("import.toml"), "{err}");
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["added.toml"]);
    }

    #[test]
    fn a_chosen_file_name_is_an_id_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(file_name(dir.path(), "feedly").unwrap(), "feedly.toml");
        assert_eq!(file_name(dir.path(), "feedly.toml").unwrap(), "feedly.toml");
        for bad in ["../x", "a/b", "", "Big Name"] {
            assert!(file_name(dir.path(), bad).is_err(), "{bad}");
        }
        std::fs::write(dir.path().join("feedly.toml"), "").unwrap();
        let taken = file_name(dir.path(), "feedly").unwrap_err().to_string();
        assert!(
            taken.ends_with("feedly.toml exists already; nothing was written"),
            "{taken}"
        );
    }
}
