//! `export`: every document the server serves, written to a folder for a
//! static host or CDN.

use std::path::{Path, PathBuf};

use url::Url;

use super::{rules_in_force, Error, Settings};
use crate::config;
use crate::render::{Doc, Format, Site};
use crate::rules::FeedOf;
use crate::urls::with_trailing_slash;

/// `export DIR`: [`export`], and a line saying what it wrote.
pub fn run(settings: &Settings, args: &super::args::ExportArgs) -> Result<String, Error> {
    let files = export(settings, &args.dir, &args.base_url)?;
    Ok(format!(
        "wrote {} files to {}\n",
        files.len(),
        args.dir.display()
    ))
}

/// `export`: writes every document the server serves (each topic in every
/// format, its preview page, the index, the OPML) into `dir`, at the paths
/// the server uses, with `.gz` and `.br` copies for static servers that
/// serve precompressed files. Links use `base_url`. Returns the files
/// written.
pub fn export(settings: &Settings, dir: &Path, base_url: &Url) -> Result<Vec<PathBuf>, Error> {
    let base_url = &with_trailing_slash(base_url.clone());
    let defs = config::load(&settings.feeds)?;
    let store = settings.open_store()?;
    rules_in_force(&store, &defs)?;
    let io = |p: &Path, source| Error::Io {
        action: "write",
        path: p.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut docs = vec![Doc::Index, Doc::Opml];
    for t in defs.rules.public_topics() {
        for format in Format::ALL {
            docs.push(Doc::Feed {
                of: FeedOf::Topic(t.id.clone()),
                format,
                limit: t.default_limit(),
                filter: None,
            });
        }
        docs.push(Doc::Preview {
            of: FeedOf::Topic(t.id.clone()),
            filter: None,
        });
        if let Some(d) = &t.digest {
            for format in Format::ALL {
                docs.push(Doc::Digest {
                    topic: t.id.clone(),
                    format,
                    closed: d.current_start(chrono::Utc::now()),
                });
            }
        }
    }
    let mut written = Vec::new();
    for doc in docs {
        let Some(r) = crate::render::render_doc(&store, &defs, base_url, &doc, Site::Exported)?
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
