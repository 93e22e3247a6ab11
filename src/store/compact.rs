//! Compaction: a copy of the store written afresh, leaving behind the
//! space sled has not reclaimed of removed and rewritten values, into a
//! new folder or in place; and whether the store has grown enough to be
//! worth it. Where the copy goes and how it becomes the live database is
//! `store/layout.rs`; how much growth is enough is `store/growth.rs`.

use std::path::Path;

use super::growth::{Baseline, MIN_BASELINE_ENTRIES};
use super::{keys, layout, Store, StoreError};

impl Store {
    /// Copies every tree into a new store at `dest` (which must not exist),
    /// written afresh: what sled has not yet reclaimed of removed and
    /// rewritten values stays behind. Returns the bytes on disk of this
    /// store and of the copy.
    ///
    /// SECURITY: the folder is made here, in one step that fails if
    /// anything is at `dest` already (a symlink included, dangling or
    /// not), so nothing planted there between a check and the write can
    /// send the copy elsewhere; it is readable by its owner only.
    pub fn compact_into(&self, dest: &Path) -> Result<(u64, u64), StoreError> {
        // The operator's own path up to it may be made as needed.
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let mut folder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        folder.create(dest).map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => StoreError::Exists {
                path: dest.display().to_string(),
            },
            _ => StoreError::Io {
                path: dest.display().to_string(),
                source,
            },
        })?;
        self.db.flush()?;
        let copy = sled::Config::new().path(dest).create_new(true).open()?;
        for name in self.db.tree_names() {
            let (from, to) = (self.db.open_tree(&name)?, copy.open_tree(&name)?);
            let mut batch = sled::Batch::default();
            let mut pending = 0;
            for kv in from.iter() {
                let (k, v) = kv?;
                batch.insert(k, v);
                pending += 1;
                if pending == 1024 {
                    to.apply_batch(std::mem::take(&mut batch))?;
                    pending = 0;
                }
            }
            to.apply_batch(batch)?;
        }
        copy.flush()?;
        // What the live data takes on disk, for `needs_compaction`.
        let size = copy.size_on_disk()?;
        let baseline = Baseline {
            bytes: size,
            entries: self.entry_count() as u64,
        };
        copy.open_tree(keys::TREE_META)?
            .insert(keys::COMPACTED, &baseline.to_bytes())?;
        copy.flush()?;
        Ok((self.db.size_on_disk()?, size))
    }

    /// Replaces the store's database with a copy written afresh
    /// ([`Store::compact_into`] a new folder in the data folder, then made
    /// the live one; see `store/layout.rs` for why a crash at any moment
    /// loses nothing). Takes the handle: the caller must hold no other
    /// (anything written through one afterwards would go to the old
    /// database, which is removed). Returns the sizes before and after.
    pub fn compact_in_place(self) -> Result<(u64, u64), StoreError> {
        let copy = layout::next(&self.data, &self.live);
        if copy.exists() {
            // A copy a crash cut short (this handle holds the live lock,
            // so nobody else is writing it).
            std::fs::remove_dir_all(&copy).map_err(|source| StoreError::Io {
                path: copy.display().to_string(),
                source,
            })?;
        }
        let sizes = self.compact_into(&copy)?;
        layout::commit(&self.data, &copy)?;
        let (data, old) = (self.data.clone(), self.live.clone());
        drop(self);
        layout::remove_replaced(&data, &old)?;
        Ok(sizes)
    }

    /// Whether the store takes more than [`COMPACT_GROWTH`] times what its
    /// live data took when last compacted (scaled to the entries it holds
    /// now), and more than [`MIN_COMPACT_BYTES`]: the size on disk and that
    /// expected size when it does. A store never compacted learns its
    /// baseline here, once it holds [`MIN_BASELINE_ENTRIES`].
    ///
    /// [`COMPACT_GROWTH`]: super::COMPACT_GROWTH
    /// [`MIN_COMPACT_BYTES`]: super::MIN_COMPACT_BYTES
    pub fn needs_compaction(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let size = self.db.size_on_disk()?;
        let entries = self.entry_count() as u64;
        let baseline = self
            .meta
            .get(keys::COMPACTED)?
            .and_then(|v| Baseline::from_bytes(&v))
            .filter(|b| b.entries >= MIN_BASELINE_ENTRIES);
        let Some(base) = baseline else {
            if entries >= MIN_BASELINE_ENTRIES {
                let now = Baseline {
                    bytes: size,
                    entries,
                };
                self.meta.insert(keys::COMPACTED, &now.to_bytes())?;
            }
            return Ok(None);
        };
        Ok(base
            .outgrown(size, entries)
            .map(|expected| (size, expected)))
    }
}
