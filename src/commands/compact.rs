//! `compact DEST`: the store copied into a new folder, written afresh.
//! sled reclaims the space of removed and rewritten values lazily, so a
//! store under churn grows on disk (benches/churn.sh); the copy holds only
//! what is live. Stop `serve` (it holds the store), compact, then put the
//! copy in place of the data folder.

use super::args::CompactArgs;
use super::{Error, Settings};

/// Compacts the store into `args.dest`; reports the sizes on disk.
pub fn compact(settings: &Settings, args: &CompactArgs) -> Result<String, Error> {
    let store = settings.open_store()?;
    let (before, after) = store.compact_into(&args.dest)?;
    let mb = |b: u64| b as f64 / 1e6;
    Ok(format!(
        "compacted {} into {}: {:.1} MB -> {:.1} MB on disk\n\
         with serve stopped, replace {} with {} and start it again\n",
        settings.data.display(),
        args.dest.display(),
        mb(before),
        mb(after),
        settings.data.display(),
        args.dest.display(),
    ))
}
