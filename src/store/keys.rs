//! Every byte layout the store writes. No other module builds keys.
//!
//! - `id_entry`: key = the 16-byte entry id.
//! - `topictime_id`: key = topic id bytes, `0xFF`, 8-byte big-endian time
//!   (microseconds since the epoch, sign bit flipped so earlier dates sort
//!   first even before 1970), the 16-byte entry id; value = the entry's
//!   first-seen time as 8 bytes, where its card is in `seentime_id` (schema
//!   5; empty before). Topic ids are ASCII, so `0xFF` cannot occur inside
//!   one: a prefix scan over `topic 0xFF` sees that topic alone, in time
//!   order, and a reverse scan lists newest first in O(limit).
//! - `seentime_id`: key = the 8-byte time an entry was first seen (as in
//!   `topictime_id`) and its 16-byte id; value = the entry's query card
//!   (`store/facets.rs`): every entry in the order `/search` lists them
//!   (schema 5).
//! - `source_state`: key = source id bytes.
//! - `counts`: [`COUNT_ENTRIES`] and [`topic_count_key`] → 8-byte
//!   big-endian counts, written in the same transaction as the entries and
//!   index keys they count.
//! - `meta`: key = a name such as [`SCHEMA_VERSION`]; values are documented
//!   where they are written.

use chrono::{DateTime, TimeZone, Utc};

use crate::model::EntryId;

pub const TREE_ENTRIES: &str = "id_entry";
pub const TREE_TOPIC_INDEX: &str = "topictime_id";
pub const TREE_SEEN_INDEX: &str = "seentime_id";
pub const TREE_SOURCE_STATE: &str = "source_state";
pub const TREE_META: &str = "meta";
/// Entry id → when it was pruned (8-byte big-endian microseconds): a pruned
/// entry is not ingested again.
pub const TREE_TOMBSTONES: &str = "id_prunedat";
/// Host → the wall time (8-byte big-endian microseconds) before which the
/// host asked not to be contacted (`Retry-After`), so a restart or the next
/// `poll --once` honours it too.
pub const TREE_HOST_BLOCK: &str = "host_blockeduntil";

/// WebSub subscriptions: topic id, `0xFF`, format extension, `0xFF`,
/// callback URL → the subscription (JSON, `store/subscriptions.rs`). A new
/// tree, not a layout change: an older build leaves it alone.
pub const TREE_SUBSCRIPTIONS: &str = "websub_topic_format_callback";

/// Deliveries owed to WebSub subscribers: the subscription's key → what is
/// owed (JSON, `store/subscriptions.rs`).
pub const TREE_PENDING: &str = "websub_owed";

/// Private topics' tokens: topic id → token (`store/tokens.rs`). A new
/// tree, not a layout change.
pub const TREE_TOKENS: &str = "topic_token";

/// Article fetches owed ([`crate::fulltext`]): entry id → the job (JSON,
/// `store/articles.rs`). A new tree, not a layout change.
pub const TREE_ARTICLES: &str = "article_owed";

/// The key of a subscription.
pub fn subscription_key(topic: &str, format: &str, callback: &str) -> Vec<u8> {
    let mut k = subscription_prefix(topic);
    k.extend_from_slice(format.as_bytes());
    k.push(SEPARATOR);
    k.extend_from_slice(callback.as_bytes());
    k
}

/// The prefix of a topic's subscriptions.
pub fn subscription_prefix(topic: &str) -> Vec<u8> {
    let mut k = topic.as_bytes().to_vec();
    k.push(SEPARATOR);
    k
}

/// Entry and per-topic counts (schema 2).
pub const TREE_COUNTS: &str = "counts";
/// `counts` key of the number of entries.
pub const COUNT_ENTRIES: &[u8] = b"#entries";

/// `counts` key of a topic's number of entries: `t/` and the topic id.
pub fn topic_count_key(topic: &str) -> Vec<u8> {
    let mut k = b"t/".to_vec();
    k.extend_from_slice(topic.as_bytes());
    k
}

/// The topic of an index key (the bytes before the separator).
pub fn topic_of_index_key(key: &[u8]) -> Option<&str> {
    let end = key.iter().position(|b| *b == SEPARATOR)?;
    std::str::from_utf8(&key[..end]).ok()
}

/// A count as stored.
pub fn count_from_bytes(b: &[u8]) -> u64 {
    b.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// `meta` key of the schema version, a big-endian u32.
pub const SCHEMA_VERSION: &[u8] = b"schema_version";
/// `meta` key of the rule fingerprints (JSON), see `crate::reevaluate`.
pub const RULE_FINGERPRINTS: &[u8] = b"rule_fingerprints";
/// `meta` key of when each topic last changed other than by gaining an
/// entry (JSON: topic id → RFC 3339 time): created, its rules changed, or
/// entries pruned. An empty topic's feed is dated by it.
pub const TOPIC_CHANGES: &[u8] = b"topic_changes";
/// `meta` key of what the live data took on disk when last measured
/// (`Store::needs_compaction`): bytes and entries, two big-endian u64.
pub const COMPACTED: &[u8] = b"compacted";

const SEPARATOR: u8 = 0xFF;

pub fn entry_key(id: &EntryId) -> [u8; 16] {
    id.0
}

pub fn entry_id_from_key(key: &[u8]) -> Option<EntryId> {
    key.try_into().ok().map(EntryId)
}

pub fn time_bytes(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_micros() as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn time_from_bytes(b: [u8; 8]) -> Option<DateTime<Utc>> {
    let micros = (u64::from_be_bytes(b) ^ (1 << 63)) as i64;
    Utc.timestamp_micros(micros).single()
}

/// The prefix of every index key of `topic`.
pub fn topic_prefix(topic: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(topic.len() + 1);
    k.extend_from_slice(topic.as_bytes());
    k.push(SEPARATOR);
    k
}

/// The index key placing entry `id` in `topic` at time `at`.
pub fn topic_key(topic: &str, at: DateTime<Utc>, id: &EntryId) -> Vec<u8> {
    let mut k = topic_prefix(topic);
    k.extend_from_slice(&time_bytes(at));
    k.extend_from_slice(&id.0);
    k
}

/// The key placing entry `id` in the first-seen index.
pub fn seen_key(first_seen: DateTime<Utc>, id: &EntryId) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    k.extend_from_slice(&time_bytes(first_seen));
    k.extend_from_slice(&id.0);
    k
}

/// Splits an index key of a known topic prefix into time and id.
pub fn parse_topic_key(prefix_len: usize, key: &[u8]) -> Option<(DateTime<Utc>, EntryId)> {
    let rest = key.get(prefix_len..)?;
    if rest.len() != 24 {
        return None;
    }
    let time = time_from_bytes(rest[..8].try_into().ok()?)?;
    Some((time, entry_id_from_key(&rest[8..])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_keys_sort_by_time_and_round_trip() {
        let id = EntryId([7; 16]);
        let old: DateTime<Utc> = "1969-12-31T23:00:00Z".parse().unwrap();
        let new: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let (a, b) = (topic_key("llm", old, &id), topic_key("llm", new, &id));
        assert!(a < b);
        assert_eq!(parse_topic_key(4, &b), Some((new, id)));
        // A topic whose id extends another's never shares its prefix.
        assert!(!topic_key("llm-x", new, &id).starts_with(&topic_prefix("llm")));
    }
}
