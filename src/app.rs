//! The commands `poll --once`, `check` and `export` (`serve` lives in
//! [`crate::service`]). Each loads what it needs, runs, and returns plain
//! results; `main` prints them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use url::Url;

use crate::config::{self, ConfigError, Definitions};
use crate::fetch::{FetchError, Fetcher};
use crate::poll::{Poller, SourceReport};
use crate::render::{Doc, Format, Site};
use crate::store::{Store, StoreError};

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_FEEDS_DIR: &str = "./feeds";

/// The library's top-level error: which part failed, with its own message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A locked store says so itself ([`StoreError::Locked`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Settings shared by the commands, from flags and environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data: PathBuf,
    pub feeds: PathBuf,
}

/// Loads the definitions and opens the store, with the stored tags and
/// memberships brought in step with the rules.
pub(crate) fn open(settings: &Settings) -> Result<(Arc<Definitions>, Poller), Error> {
    let (defs, poller) = open_unsettled(settings)?;
    rules_in_force(&poller.store, &defs)?;
    Ok((defs, poller))
}

/// [`open`] without re-evaluating the store: `serve` does that after it
/// starts listening, so a restart with changed rules never leaves the
/// server unreachable while every entry is re-tagged.
pub(crate) fn open_unsettled(settings: &Settings) -> Result<(Arc<Definitions>, Poller), Error> {
    let defs = Arc::new(config::load(&settings.feeds)?);
    std::fs::create_dir_all(&settings.data).map_err(|e| {
        Error::Other(format!(
            "cannot create data folder {}: {e}",
            settings.data.display()
        ))
    })?;
    let store = Store::open(&settings.data)?;
    let fetcher = Fetcher::new(defs.hosts.clone())?;
    for (host, until) in store.host_blocks(Utc::now())? {
        fetcher.block_until(&host, until);
    }
    Ok((defs, Poller { store, fetcher }))
}

/// Brings the store in step with the definitions' rules (see
/// [`crate::reevaluate`]); logs what changed.
pub(crate) fn rules_in_force(
    store: &Store,
    defs: &Definitions,
) -> Result<crate::reevaluate::Reevaluated, Error> {
    let r = crate::reevaluate::apply(store, &defs.rules)?;
    if r.entries > 0 {
        tracing::info!(
            "rules changed: re-evaluated {} entries in {:?}, {} changed; topics affected: {}",
            r.entries,
            r.took,
            r.changed,
            r.topics.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(r)
}

/// `check`: loads and validates the definitions.
pub fn check(feeds: &Path) -> Result<Definitions, Error> {
    Ok(config::load(feeds)?)
}

/// A readable summary of loaded definitions, for `check`.
pub fn describe(defs: &Definitions) -> String {
    let mut out = format!(
        "{}: {} files, {} sources, {} tags, {} topics\n",
        defs.dir.display(),
        defs.files.len(),
        defs.sources.len(),
        defs.rules.tags.len(),
        defs.rules.topics.len()
    );
    for s in &defs.sources {
        out.push_str(&format!(
            "source {} ({}, every {}): {}\n",
            s.id,
            s.kind.name(),
            crate::units::human(s.interval),
            s.url
        ));
    }
    for t in &defs.rules.tags {
        out.push_str(&format!("tag {}: {}\n", t.id, t.title));
    }
    for t in &defs.rules.topics {
        out.push_str(&format!("topic {}: {}\n", t.id, t.title));
    }
    out
}

/// `poll --once`: polls every source once and returns the reports.
pub async fn poll_once(
    settings: &Settings,
    progress: impl Fn(&SourceReport, usize, usize),
) -> Result<Vec<SourceReport>, Error> {
    let (defs, poller) = open(settings)?;
    Ok(poller.poll_all(&defs, progress).await?)
}

/// `export`: writes every document the server serves (each topic in every
/// format, its preview page, the index, the OPML) into `dir`, at the paths
/// the server uses, with `.gz` and `.br` copies for static servers that
/// serve precompressed files. Links use `base_url`. Returns the files
/// written.
pub fn export(settings: &Settings, dir: &Path, base_url: &Url) -> Result<Vec<PathBuf>, Error> {
    let defs = config::load(&settings.feeds)?;
    let store = Store::open(&settings.data)?;
    rules_in_force(&store, &defs)?;
    let io =
        |p: &Path, e: std::io::Error| Error::Other(format!("cannot write {}: {e}", p.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut docs = vec![Doc::Index, Doc::Opml];
    for t in &defs.rules.topics {
        for format in Format::ALL {
            docs.push(Doc::Feed {
                topic: t.id.clone(),
                format,
                limit: t.default_limit(),
            });
        }
        docs.push(Doc::Preview {
            topic: t.id.clone(),
        });
    }
    let mut written = Vec::new();
    for doc in docs {
        let Some(r) =
            crate::render::render_doc(&store, &defs, base_url, &doc, Site::Exported, &|t| {
                store.topic_len(t)
            })?
        else {
            continue;
        };
        let path = dir.join(doc.path());
        let mut files = vec![(path.clone(), r.body.to_vec())];
        if let Some(g) = &r.gzip {
            files.push((PathBuf::from(format!("{}.gz", path.display())), g.to_vec()));
        }
        if let Some(b) = &r.br {
            files.push((PathBuf::from(format!("{}.br", path.display())), b.to_vec()));
        }
        for (p, bytes) in files {
            write_new_then_rename(&p, &bytes).map_err(|e| io(&p, e))?;
            written.push(p);
        }
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a temporary file beside it, then
/// renames it into place, so a static server never sees half a file.
///
/// SECURITY: the temporary file is created with `create_new` under a name
/// nobody can predict, so a planted file or symlink (say, to a system file)
/// is never opened or followed; the rename replaces a symlink at `path`
/// itself rather than writing through it.
fn write_new_then_rename(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0u32..16 {
        let tmp = dir.join(format!(
            ".{name}.{}.{nonce:08x}{attempt}.tmp",
            std::process::id()
        ));
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = file.write_all(bytes);
        drop(file);
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}
