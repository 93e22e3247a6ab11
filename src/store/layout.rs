//! Where in the data folder the live sled database sits, and how a
//! compacted copy takes its place.
//!
//! sled reclaims the space of removed and rewritten values only in a
//! process that runs long enough: a store under churn polled by short
//! `poll --once` runs grows without bound (`benches/churn.sh`). The cure is
//! a copy written afresh ([`super::Store::compact_in_place`]); this module
//! makes putting it in place safe against a crash at any moment and against
//! another feedloom process opening the store meanwhile:
//!
//! - `DATA/CURRENT` names the live database's folder, `store-N`. Without
//!   it the database is `DATA` itself, as every store was before
//!   compaction in place existed (and stays until first compacted).
//! - A compaction copies the live database into `store-(N+1)` while it
//!   holds the live database's lock, then replaces `CURRENT` (written to a
//!   temporary file, synced, renamed over it, the folder synced): that
//!   rename is the moment the copy becomes the store. A crash before it
//!   leaves the old database live next to a partial copy; after it, the
//!   copy live next to the old database.
//! - An opener takes the lock of the database `CURRENT` names, then reads
//!   `CURRENT` again (a compaction may have finished while it waited) and
//!   only then, holding the live lock, removes what is not live: copies a
//!   crash left and databases `CURRENT` no longer names. No process can be
//!   writing to those: a copy is written only under the live lock.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::StoreError;

/// The file naming the live database's folder.
const CURRENT: &str = "CURRENT";
/// Where `CURRENT` is written before it is renamed into place.
const CURRENT_TMP: &str = "CURRENT.tmp";
/// Folders holding databases: `store-` and a generation number.
const PREFIX: &str = "store-";
/// What sled 0.34 writes into its folder (and `snap.*` files), removed
/// from `DATA` once a copy in `store-N` is live.
const SLED_FILES: [&str; 3] = ["conf", "db", "blobs"];

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The live database's folder: the one `CURRENT` names, or `data` itself.
pub(super) fn live(data: &Path) -> Result<PathBuf, StoreError> {
    let current = data.join(CURRENT);
    let name = match fs::read_to_string(&current) {
        Ok(name) => name,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(data.to_path_buf()),
        Err(e) => return Err(io(&current, e)),
    };
    let name = name.trim();
    if generation(name).is_none() {
        return Err(StoreError::Layout {
            path: current.display().to_string(),
            message: format!("names {name:?}, not a store-N folder"),
        });
    }
    let live = data.join(name);
    if !live.is_dir() {
        // Opening it would create an empty store in its place.
        return Err(StoreError::Layout {
            path: current.display().to_string(),
            message: format!("names {name}, which is missing"),
        });
    }
    Ok(live)
}

/// `store-N`'s N.
fn generation(name: &str) -> Option<u64> {
    let n = name.strip_prefix(PREFIX)?;
    n.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
    n.parse().ok()
}

/// The folder the next compacted copy goes to.
pub(super) fn next(data: &Path, live: &Path) -> PathBuf {
    let n = live
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(generation)
        .filter(|_| live != data)
        .unwrap_or(0);
    data.join(format!("{PREFIX}{}", n + 1))
}

/// Makes `copy` (a folder in `data`) the live database.
pub(super) fn commit(data: &Path, copy: &Path) -> Result<(), StoreError> {
    let name = copy
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| generation(n).is_some())
        .ok_or_else(|| StoreError::Layout {
            path: copy.display().to_string(),
            message: "not a store-N folder".into(),
        })?;
    let tmp = data.join(CURRENT_TMP);
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(format!("{name}\n").as_bytes())?;
        f.sync_all()
    };
    write().map_err(|e| io(&tmp, e))?;
    fs::rename(&tmp, data.join(CURRENT)).map_err(|e| io(&tmp, e))?;
    sync_dir(data)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

/// Removes every database in `data` but `live`, and a `CURRENT` left half
/// written. Call only while holding `live`'s lock.
pub(super) fn remove_stale(data: &Path, live: &Path) -> Result<(), StoreError> {
    let entries = fs::read_dir(data).map_err(|e| io(data, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(data, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == CURRENT_TMP {
            fs::remove_file(&path).map_err(|e| io(&path, e))?;
        } else if generation(&name).is_some() && path != live {
            tracing::info!("store: removing {}, not the live store", path.display());
            fs::remove_dir_all(&path).map_err(|e| io(&path, e))?;
        }
    }
    if live != data {
        remove_legacy(data)?;
    }
    Ok(())
}

/// Removes a database kept in `data` itself, once a copy in `store-N` is
/// live.
fn remove_legacy(data: &Path) -> Result<(), StoreError> {
    let entries = fs::read_dir(data).map_err(|e| io(data, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(data, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(SLED_FILES.contains(&name.as_ref()) || name.starts_with("snap.")) {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// Removes the database in `old` after a compaction replaced it.
pub(super) fn remove_replaced(data: &Path, old: &Path) -> Result<(), StoreError> {
    if old == data {
        remove_legacy(data)
    } else {
        fs::remove_dir_all(old).map_err(|e| io(old, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_store_n_only() {
        assert_eq!(generation("store-12"), Some(12));
        for bad in [
            "store-",
            "store-1a",
            "store--1",
            "../store-1",
            "db",
            "store-+1",
        ] {
            assert_eq!(generation(bad), None, "{bad}");
        }
        let data = Path::new("/d");
        assert_eq!(next(data, data), Path::new("/d/store-1"));
        assert_eq!(next(data, Path::new("/d/store-7")), Path::new("/d/store-8"));
    }

    #[test]
    fn current_must_name_an_existing_store_folder() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        assert_eq!(live(data).unwrap(), data);
        fs::write(data.join(CURRENT), "../elsewhere\n").unwrap();
        let e = live(data).unwrap_err().to_string();
        assert!(e.contains("CURRENT") && e.contains("elsewhere"), "{e}");
        fs::write(data.join(CURRENT), "store-3\n").unwrap();
        let e = live(data).unwrap_err().to_string();
        assert!(e.contains("store-3, which is missing"), "{e}");
        fs::create_dir(data.join("store-3")).unwrap();
        assert_eq!(live(data).unwrap(), data.join("store-3"));
    }
}
