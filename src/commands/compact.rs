//! `compact [DEST]`: the store copied, written afresh. sled reclaims the
//! space of removed and rewritten values lazily, so a store under churn
//! grows on disk (benches/churn.sh); the copy holds only what is live.
//! In place (no DEST) the copy takes over the data folder (see
//! `store/layout.rs`); into DEST it is left for the operator to move. Either
//! way `serve` must be stopped: it holds the store.

use super::args::CompactArgs;
use super::{Error, Settings};

/// Compacts the store in place or into `args.dest`; reports the sizes on
/// disk.
pub fn compact(settings: &Settings, args: &CompactArgs) -> Result<String, Error> {
    let store = settings.open_store()?;
    let mb = |b: u64| b as f64 / 1e6;
    let data = settings.data.display();
    Ok(match &args.dest {
        None => {
            let (before, after) = store.compact_in_place()?;
            format!(
                "compacted {data} in place: {:.1} MB -> {:.1} MB on disk\n",
                mb(before),
                mb(after)
            )
        }
        Some(dest) => {
            let (before, after) = store.compact_into(dest)?;
            format!(
                "compacted {data} into {}: {:.1} MB -> {:.1} MB on disk\n\
                 with serve stopped, replace {data} with {} and start it again\n",
                dest.display(),
                mb(before),
                mb(after),
                dest.display(),
            )
        }
    })
}
