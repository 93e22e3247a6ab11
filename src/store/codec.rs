//! How an entry's value is stored (schema 3): its JSON, deflated, behind a
//! one-byte tag. Schema 1 and 2 stored the bare JSON, which starts with
//! `{`; both forms are read, so a store part-way through the migration to
//! schema 3 reads correctly, and finishing it is just rewriting the rest.
//!
//! Deflate at its fastest level: about 2× on entry JSON (titles, abstracts,
//! authors, tag explanations) for tens of microseconds per entry. Written
//! here rather than left to sled, which stores values as given.

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{corrupt, keys, StoreError};

/// The tag of a deflated value.
const DEFLATED: u8 = 0x01;
/// Largest value inflated: far above any entry (their fields are capped),
/// so a corrupt value cannot take the memory.
const MAX_INFLATED: u64 = 16 << 20;

/// Whether `value` is in the schema 3 form.
pub fn is_current(value: &[u8]) -> bool {
    value.first() == Some(&DEFLATED)
}

/// The stored form of `value`.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| corrupt(keys::TREE_ENTRIES, e))?;
    Ok(deflate(&json))
}

/// The stored form of a value stored as bare JSON by schema 1 or 2.
pub fn reencode(json: &[u8]) -> Vec<u8> {
    deflate(json)
}

fn deflate(json: &[u8]) -> Vec<u8> {
    let mut out = vec![DEFLATED];
    let mut enc = flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::fast());
    enc.write_all(json).expect("writing to memory");
    enc.finish().expect("writing to memory");
    out
}

/// Reads a stored value in either form.
pub fn decode<T: DeserializeOwned>(stored: &[u8]) -> Result<T, StoreError> {
    let bad = |e: &dyn std::fmt::Display| corrupt(keys::TREE_ENTRIES, e);
    match stored.split_first() {
        Some((&DEFLATED, rest)) => {
            let mut json = Vec::with_capacity(rest.len() * 3);
            flate2::read::DeflateDecoder::new(rest)
                .take(MAX_INFLATED)
                .read_to_end(&mut json)
                .map_err(|e| bad(&format!("cannot inflate: {e}")))?;
            serde_json::from_slice(&json).map_err(|e| bad(&e))
        }
        _ => serde_json::from_slice(stored).map_err(|e| bad(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_read_and_the_new_one_is_smaller() {
        let value = serde_json::json!({"summary": "words ".repeat(200), "n": 7});
        let plain = serde_json::to_vec(&value).unwrap();
        let stored = encode(&value).unwrap();
        assert!(is_current(&stored) && !is_current(&plain));
        assert!(
            stored.len() * 4 < plain.len(),
            "{} vs {}",
            stored.len(),
            plain.len()
        );
        assert_eq!(decode::<serde_json::Value>(&stored).unwrap(), value);
        assert_eq!(decode::<serde_json::Value>(&plain).unwrap(), value);
        assert_eq!(
            decode::<serde_json::Value>(&reencode(&plain)).unwrap(),
            value
        );
        assert!(decode::<serde_json::Value>(&[DEFLATED, 0xff, 0x00]).is_err());
    }
}
