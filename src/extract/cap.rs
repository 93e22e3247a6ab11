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

/// A JSON array of which at most [`MAX_ITEMS`] elements are built; the
/// rest are read past without being built.
#[derive(Debug)]
pub struct Capped<T> {
    pub items: Vec<T>,
    /// Whether elements were skipped.
    pub more: bool,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped {
            items: Vec::new(),
            more: false,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Capped<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Seq<T> {
            type Value = Capped<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T>, A::Error> {
                let mut items = Vec::new();
                while items.len() < MAX_ITEMS {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => return Ok(Capped { items, more: false }),
                    }
                }
                let mut more = false;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    more = true;
                }
                Ok(Capped { items, more })
            }
        }
        d.deserialize_seq(Seq(PhantomData))
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
