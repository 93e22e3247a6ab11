//! When a store has grown enough on disk to be worth compacting.
//!
//! sled leaves the space of removed and rewritten values to be reclaimed
//! later, by a process that runs long enough. What the live data takes is
//! learned when a compacted copy is written (its size, for its number of
//! entries); a store is compacted once it takes [`COMPACT_GROWTH`] times
//! that, scaled to the entries it holds now.

/// A store is compacted when it takes this many times what its live data
/// took on disk: what sled has not reclaimed may grow to as much as the data
/// itself, and no more.
pub const COMPACT_GROWTH: u64 = 2;
/// Below this size on disk a store is never compacted: not worth a copy.
pub const MIN_COMPACT_BYTES: u64 = 32 << 20;
/// A store holding fewer entries is too small to learn its size per entry
/// from (sled's own overhead would dominate).
pub const MIN_BASELINE_ENTRIES: u64 = 1000;

/// What the live data took on disk, and for how many entries: measured
/// when a compacted copy is written (or, for a store never compacted, when
/// first large enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Baseline {
    pub bytes: u64,
    pub entries: u64,
}

impl Baseline {
    /// The stored form: two big-endian u64.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.bytes.to_be_bytes());
        out[8..].copy_from_slice(&self.entries.to_be_bytes());
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<Baseline> {
        let b: [u8; 16] = b.try_into().ok()?;
        let (bytes, entries) = b.split_at(8);
        Some(Baseline {
            bytes: u64::from_be_bytes(bytes.try_into().ok()?),
            entries: u64::from_be_bytes(entries.try_into().ok()?),
        })
    }

    /// The size expected of `entries` entries, when a store of `size`
    /// bytes holding them has outgrown it.
    pub fn outgrown(self, size: u64, entries: u64) -> Option<u64> {
        let per = |n: u64| {
            u128::from(self.bytes) * u128::from(n.max(1)) / u128::from(self.entries.max(1))
        };
        let expected = u64::try_from(per(entries)).unwrap_or(u64::MAX);
        (size > MIN_COMPACT_BYTES && size / COMPACT_GROWTH > expected).then_some(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    #[test]
    fn compacts_past_twice_the_live_size_scaled_to_the_entries() {
        let base = Baseline {
            bytes: 60 * MB,
            entries: 40_000,
        };
        assert_eq!(Baseline::from_bytes(&base.to_bytes()), Some(base));
        assert_eq!(base.outgrown(119 * MB, 40_000), None);
        assert_eq!(base.outgrown(121 * MB, 40_000), Some(60 * MB));
        // Twice the entries may take twice the room.
        assert_eq!(base.outgrown(200 * MB, 80_000), None);
        assert_eq!(base.outgrown(241 * MB, 80_000), Some(120 * MB));
        // Small stores are left alone, however grown.
        let tiny = Baseline {
            bytes: MB,
            entries: 1000,
        };
        assert_eq!(tiny.outgrown(30 * MB, 1000), None);
        assert_eq!(tiny.outgrown(40 * MB, 1000), Some(MB));
        assert_eq!(Baseline::from_bytes(b"short"), None);
    }
}
