//! How an entry's value is stored.
//!
//! Schema 4 splits a value in two:
//!
//! ```text
//! 0x02 | head length (u32, big-endian) | head: postcard | body: deflated JSON
//! ```
//!
//! The *head* holds what re-evaluating the rules and pruning change or
//! need, in [postcard](https://postcard.jamesmunns.com)'s stable binary
//! form: `first_seen` (microseconds since the epoch), the memberships
//! (topic, microseconds), then the tags with the hits explaining them. The
//! *body* is the rest of the entry, its JSON deflated. Re-evaluation
//! rewrites the head and copies the body's bytes as they are (no deflating
//! of text that did not change), and pruning reads the head's first two
//! fields alone (no inflating). Binary rather than JSON because the tag
//! explanations are most of a head: in JSON their field names made the
//! head larger than the deflated body, and parsing it cost as much as
//! inflating the body.
//!
//! Older forms still read, so a store part-way through a migration reads
//! correctly and finishing it is rewriting the rest: schema 3 stored the
//! whole JSON deflated behind a `0x01`, schemas 1 and 2 the bare JSON
//! (which starts with `{`).
//!
//! Deflate at its fastest level: about 2× on entry JSON for tens of
//! microseconds per entry. Each thread keeps one compressor and one
//! decompressor and resets them between values: a fresh compressor
//! allocates and zeroes some hundreds of kilobytes of tables, which costs
//! more than compressing a 1 KB entry.

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::{Deserialize, Serialize};

use super::{corrupt, keys, Memberships, StoreError};
use crate::model::{Entry, RuleHit};

/// The tag of a schema 3 value: all of it deflated.
const DEFLATED: u8 = 0x01;
/// The tag of a schema 4 value: plain head, deflated body.
const SPLIT: u8 = 0x02;
/// Bytes before a schema 4 value's head: the tag and the head's length.
const PREAMBLE: usize = 5;
/// Largest value inflated: far above any entry (their fields are capped),
/// so a corrupt value cannot take the memory.
const MAX_INFLATED: u64 = 16 << 20;

/// The head as written (borrowed from the entry).
#[derive(Serialize)]
struct HeadOut<'a> {
    first_seen: i64,
    topics: Vec<(&'a str, i64)>,
    tags: &'a BTreeMap<String, Vec<RuleHit>>,
}

/// The head as read.
#[derive(Deserialize)]
struct HeadIn {
    first_seen: i64,
    topics: Vec<(String, i64)>,
    tags: BTreeMap<String, Vec<RuleHit>>,
}

/// The head's first two fields, read without the tags.
#[derive(Deserialize)]
struct SkeletonIn {
    first_seen: i64,
    topics: Vec<(String, i64)>,
}

/// What pruning needs of an entry.
#[derive(Deserialize)]
pub struct Skeleton {
    pub first_seen: DateTime<Utc>,
    #[serde(default)]
    pub topics: Memberships,
}

fn time(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(keys::TREE_ENTRIES, "time out of range"))
}

fn memberships(topics: Vec<(String, i64)>) -> Result<Memberships, StoreError> {
    topics
        .into_iter()
        .map(|(t, at)| Ok((t, time(at)?)))
        .collect()
}

/// Whether `value` is in the current (schema 4) form.
pub fn is_current(value: &[u8]) -> bool {
    value.first() == Some(&SPLIT)
}

/// The stored form of `entry`. Its tags and memberships are taken out for
/// the moment the body is written (so the body does not hold them twice)
/// and put back.
pub fn encode(entry: &mut Entry) -> Result<Vec<u8>, StoreError> {
    let tags = std::mem::take(&mut entry.tags);
    let topics = std::mem::take(&mut entry.topics);
    let body = serde_json::to_vec(&*entry);
    entry.tags = tags;
    entry.topics = topics;
    let body = body.map_err(|e| corrupt(keys::TREE_ENTRIES, e))?;
    let mut out = head_of(entry)?;
    deflate_into(&body, &mut out);
    Ok(out)
}

/// A stored value with `entry`'s head and the body of `stored` as it is:
/// for a change of tags or memberships alone. `None` when `stored` is in
/// an older form (its body must be written afresh with [`encode`]).
pub fn with_head(stored: &[u8], entry: &Entry) -> Result<Option<Vec<u8>>, StoreError> {
    let Some((_, body)) = split(stored)? else {
        return Ok(None);
    };
    let mut out = head_of(entry)?;
    out.extend_from_slice(body);
    Ok(Some(out))
}

/// The preamble and head of `entry`'s value, with room for a body.
fn head_of(entry: &Entry) -> Result<Vec<u8>, StoreError> {
    let head = HeadOut {
        first_seen: entry.first_seen.timestamp_micros(),
        topics: entry
            .topics
            .iter()
            .map(|(t, at)| (t.as_str(), at.timestamp_micros()))
            .collect(),
        tags: &entry.tags,
    };
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(&[SPLIT, 0, 0, 0, 0]);
    let mut out = postcard::to_extend(&head, out).map_err(|e| corrupt(keys::TREE_ENTRIES, e))?;
    let len = u32::try_from(out.len() - PREAMBLE)
        .map_err(|_| corrupt(keys::TREE_ENTRIES, "head too long"))?;
    out[1..PREAMBLE].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// A schema 4 value's head and body.
type Parts<'a> = (&'a [u8], &'a [u8]);

/// A schema 4 value's head and body; `None` for an older form.
fn split(stored: &[u8]) -> Result<Option<Parts<'_>>, StoreError> {
    if !is_current(stored) {
        return Ok(None);
    }
    let bad = || corrupt(keys::TREE_ENTRIES, "head length past the value");
    let len = stored
        .get(1..PREAMBLE)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(bad)? as usize;
    let rest = &stored[PREAMBLE..];
    if len > rest.len() {
        return Err(bad());
    }
    Ok(Some(rest.split_at(len)))
}

/// Reads a stored entry in any form.
pub fn decode(stored: &[u8]) -> Result<Entry, StoreError> {
    let bad = |e: &dyn std::fmt::Display| corrupt(keys::TREE_ENTRIES, e);
    if let Some((head, body)) = split(stored)? {
        let json = inflate(body).map_err(|e| bad(&e))?;
        let mut entry: Entry = serde_json::from_slice(&json).map_err(|e| bad(&e))?;
        let head: HeadIn = postcard::from_bytes(head).map_err(|e| bad(&e))?;
        // The same time is in the body; the head's is the one pruning goes by.
        entry.first_seen = time(head.first_seen)?;
        entry.tags = head.tags;
        entry.topics = memberships(head.topics)?;
        return Ok(entry);
    }
    whole(stored).and_then(|json| serde_json::from_slice(&json).map_err(|e| bad(&e)))
}

/// What pruning needs of a stored entry in any form (schema 4: its head,
/// without inflating the body).
pub fn skeleton(stored: &[u8]) -> Result<Skeleton, StoreError> {
    let bad = |e: &dyn std::fmt::Display| corrupt(keys::TREE_ENTRIES, e);
    match split(stored)? {
        Some((head, _)) => {
            let (sk, _): (SkeletonIn, _) = postcard::take_from_bytes(head).map_err(|e| bad(&e))?;
            Ok(Skeleton {
                first_seen: time(sk.first_seen)?,
                topics: memberships(sk.topics)?,
            })
        }
        None => whole(stored).and_then(|json| serde_json::from_slice(&json).map_err(|e| bad(&e))),
    }
}

/// When a stored entry was first seen: the head's first field alone
/// (older forms decode in full).
pub fn first_seen(stored: &[u8]) -> Result<DateTime<Utc>, StoreError> {
    match split(stored)? {
        Some((head, _)) => {
            let (micros, _): (i64, _) =
                postcard::take_from_bytes(head).map_err(|e| corrupt(keys::TREE_ENTRIES, e))?;
            time(micros)
        }
        None => skeleton(stored).map(|s| s.first_seen),
    }
}

/// A rule hit read in place: rule, field, text.
type HitRef<'a> = (&'a str, &'a str, &'a str);

/// The head's fields, borrowed from the value: what a query tests before
/// it inflates a body.
#[derive(Deserialize)]
struct PeekIn<'a> {
    first_seen: i64,
    /// Read past, not used.
    #[serde(borrow)]
    _topics: Vec<(&'a str, i64)>,
    /// Tag → its hits (rule, field, text): postcard writes a map and a
    /// sequence of pairs alike, so the hits are read without allocating.
    #[serde(borrow)]
    tags: Vec<(&'a str, Vec<HitRef<'a>>)>,
}

/// An entry's tags and first-seen time, read from the head alone (older
/// forms decode in full).
pub fn peek<R>(
    stored: &[u8],
    f: impl FnOnce(&[&str], DateTime<Utc>) -> R,
) -> Result<R, StoreError> {
    let bad = |e: &dyn std::fmt::Display| corrupt(keys::TREE_ENTRIES, e);
    match split(stored)? {
        Some((head, _)) => {
            let p: PeekIn = postcard::from_bytes(head).map_err(|e| bad(&e))?;
            let tags: Vec<&str> = p.tags.iter().map(|(t, _)| *t).collect();
            Ok(f(&tags, time(p.first_seen)?))
        }
        None => {
            let e = decode(stored)?;
            let tags: Vec<&str> = e.tags.keys().map(String::as_str).collect();
            Ok(f(&tags, e.first_seen))
        }
    }
}

/// The whole JSON of an older (schema 1 to 3) value.
fn whole(stored: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, StoreError> {
    match stored.split_first() {
        Some((&DEFLATED, rest)) => inflate(rest)
            .map(Into::into)
            .map_err(|e| corrupt(keys::TREE_ENTRIES, e)),
        _ => Ok(stored.into()),
    }
}

thread_local! {
    static DEFLATER: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
    static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// Appends `json`, deflated, to `out`.
fn deflate_into(json: &[u8], out: &mut Vec<u8>) {
    DEFLATER.with_borrow_mut(|c| {
        c.reset();
        out.reserve(json.len() / 2 + 64);
        loop {
            let read = c.total_in() as usize;
            let status = c
                .compress_vec(&json[read..], out, FlushCompress::Finish)
                .expect("deflating to memory");
            if status == Status::StreamEnd {
                return;
            }
            out.reserve(out.capacity().max(64));
        }
    })
}

/// Inflates a deflated body, refusing one that would grow past
/// [`MAX_INFLATED`] or is cut short.
fn inflate(body: &[u8]) -> Result<Vec<u8>, String> {
    INFLATER.with_borrow_mut(|d| {
        d.reset(false);
        let mut out = Vec::with_capacity(body.len() * 3 + 64);
        loop {
            let (read, written) = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(&body[read as usize..], &mut out, FlushDecompress::None)
                .map_err(|e| format!("cannot inflate: {e}"))?;
            if status == Status::StreamEnd {
                return Ok(out);
            }
            if out.len() as u64 >= MAX_INFLATED {
                return Err(format!("inflates past {MAX_INFLATED} bytes"));
            }
            // No progress with room to write: the stream was cut short.
            if out.len() < out.capacity() && (read, written) == (d.total_in(), d.total_out()) {
                return Err("cannot inflate: truncated".into());
            }
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EntryId;

    fn entry() -> Entry {
        let at = "2026-03-01T10:00:00Z".parse().unwrap();
        let mut e: Entry = serde_json::from_value(serde_json::json!({
            "id": EntryId([7; 16]), "key": "link:https://example.org/a", "title": "A title",
            "link": "https://example.org/a", "summary": "words ".repeat(200),
            "published": at, "updated": at, "first_seen": at, "sources": ["s"],
        }))
        .unwrap();
        e.tags.insert(
            "ml".into(),
            vec![RuleHit {
                rule: "any[0] words".into(),
                field: "title".into(),
                text: "title".into(),
            }],
        );
        e.topics.insert("ai".into(), at);
        e
    }

    #[test]
    fn every_form_reads_and_the_current_one_is_smaller() {
        let mut e = entry();
        let plain = serde_json::to_vec(&e).unwrap();
        let stored = encode(&mut e).unwrap();
        assert_eq!(e, entry(), "the entry is given back whole");
        assert!(is_current(&stored) && !is_current(&plain));
        assert!(
            stored.len() * 3 < plain.len(),
            "{} vs {}",
            stored.len(),
            plain.len()
        );
        assert_eq!(decode(&stored).unwrap(), e);
        assert_eq!(decode(&plain).unwrap(), e);
        let mut v3 = vec![DEFLATED];
        deflate_into(&plain, &mut v3);
        assert_eq!(decode(&v3).unwrap(), e);
        for form in [&stored, &plain, &v3] {
            let sk = skeleton(form).unwrap();
            assert_eq!((sk.first_seen, &sk.topics), (e.first_seen, &e.topics));
            assert_eq!(first_seen(form).unwrap(), e.first_seen);
        }
        // A new head over the stored body: the body's bytes are reused.
        let mut moved = e.clone();
        moved.tags.clear();
        moved.topics.insert("cv".into(), e.first_seen);
        let rewritten = with_head(&stored, &moved).unwrap().unwrap();
        assert_eq!(decode(&rewritten).unwrap(), moved);
        assert!(rewritten.ends_with(split(&stored).unwrap().unwrap().1));
        assert!(with_head(&plain, &moved).unwrap().is_none());
    }

    #[test]
    fn damaged_values_are_refused_and_the_next_still_reads() {
        let mut e = entry();
        let stored = encode(&mut e).unwrap();
        for bad in [
            &stored[..stored.len() / 2],
            &stored[..3],
            &[DEFLATED, 0xff, 0x00][..],
            &[SPLIT, 0xff, 0, 0, 0, b'{'][..],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        let mut huge = vec![DEFLATED];
        deflate_into(&vec![b' '; MAX_INFLATED as usize + 10], &mut huge);
        let err = decode(&huge).unwrap_err().to_string();
        assert!(err.contains("inflates past"), "{err}");
        // The shared decompressor was reset.
        assert_eq!(decode(&stored).unwrap(), e);
    }
}
