//! The bound on items per response, held where items are produced.
//!
//! SECURITY: a 10 MiB body can list 1.5 million empty items; built first
//! and cut afterwards, they took the poller past 2 GB. Each extractor
//! therefore stops building at [`MAX_ITEMS`] (JSON arrays through
//! [`Capped`], XML by cutting the document after the last item read, HTML
//! by taking that many matches), and a listing of several pages stops at
//! the same total (see `crate::poll`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

/// Most items read from one response, and from one listing of pages.
pub const MAX_ITEMS: usize = 5_000;

/// Most values one list of an item (tags, authors) keeps as it is read;
/// normalizing keeps fewer still.
pub const MAX_LIST: usize = 128;

/// A JSON array of which at most `N` elements are built; the rest are read
/// past without being built.
#[derive(Debug)]
pub struct CappedTo<T, const N: usize> {
    pub items: Vec<T>,
    /// Whether elements were skipped.
    pub more: bool,
}

/// The items of a response: at most [`MAX_ITEMS`] built.
pub type Capped<T> = CappedTo<T, MAX_ITEMS>;

/// One list of an item: at most [`MAX_LIST`] built.
pub type CappedList<T> = CappedTo<T, MAX_LIST>;

impl<T, const N: usize> Default for CappedTo<T, N> {
    fn default() -> Self {
        CappedTo {
            items: Vec::new(),
            more: false,
        }
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for CappedTo<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Seq<T, N> {
            type Value = CappedTo<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CappedTo<T, N>, A::Error> {
                let mut items = Vec::new();
                while items.len() < N {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => return Ok(CappedTo { items, more: false }),
                    }
                }
                let mut more = false;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    more = true;
                }
                Ok(CappedTo { items, more })
            }
        }
        d.deserialize_seq(Seq::<T, N>(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_built_up_to_the_cap_and_read_to_the_end() {
        let body = format!("[{}1]", "1,".repeat(MAX_ITEMS + 10));
        let c: Capped<u8> = serde_json::from_str(&body).unwrap();
        assert_eq!(c.items.len(), MAX_ITEMS);
        assert!(c.more);
        let c: Capped<u8> = serde_json::from_str("[1,2]").unwrap();
        assert_eq!((c.items, c.more), (vec![1, 2], false));
        // What follows the array is still checked.
        assert!(
            serde_json::from_str::<Capped<u8>>(&format!("[{}1", "1,".repeat(MAX_ITEMS))).is_err()
        );
    }
}
