//! Entry identity: the canonical key of an upstream item, and the stable id
//! derived from it.
//!
//! The key is the first of, in order:
//! 1. a known **global id** in the item's links or guid: an arXiv id
//!    (`arxiv.org/abs|pdf|html/ID[vN]`, `huggingface.co/papers/ID`,
//!    `oai:arXiv.org:ID`) → `arxiv:ID` (version dropped), so the same paper
//!    from any source is one entry;
//! 2. the source's **guid**: when it is an absolute http(s) URL it is treated
//!    as a link (step 3), since many feeds put the permalink there; otherwise
//!    `guid:{source id}:{guid}`, scoped by source because RSS guids are only
//!    unique within one feed;
//! 3. the **canonical link** (lower-case scheme and host, no default port, no
//!    fragment, no `utm_*` and similar tracking parameters) → `link:URL`;
//! 4. a **hash of title and summary** → `hash:HEX`.
//!
//! The id is the first 16 bytes of SHA-256 over a fixed prefix and the key,
//! with the UUID version 8 / variant bits set (RFC 9562 §5.8). Never a
//! `DefaultHasher`: ids must be the same across builds, platforms and
//! restarts. `tests` pins known values.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};
use url::Url;

use crate::model::EntryId;

/// Domain separation for the id hash; changing it changes every id ever
/// published, so it never changes.
const ID_HASH_PREFIX: &[u8] = b"feedloom/entry-id/v1\n";

/// Query parameters that only track clicks and never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "_hsenc",
    "_hsmi", "mkt_tok", "ref_src", "spm",
];

static ARXIV_IN_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|oai:arxiv\.org:|^arxiv:)((?:\d{4}\.\d{4,5})|(?:[a-z][a-z.\-]*/\d{7}))(?:v\d+)?(?:\.pdf)?(?:[/?#]|$)",
    )
    .expect("static regex")
});

/// The arXiv id (without version) named by a URL or guid, if any.
pub fn arxiv_id(text: &str) -> Option<String> {
    ARXIV_IN_URL
        .captures(text.trim())
        .map(|c| c[1].to_ascii_lowercase())
}

/// The canonical key of an item, by the chain in the module doc.
pub fn canonical_key(
    source_id: &str,
    guid: Option<&str>,
    link: Option<&str>,
    other_links: &[String],
    title: &str,
    summary: &str,
) -> String {
    let candidates = link
        .into_iter()
        .chain(guid)
        .chain(other_links.iter().map(String::as_str));
    for candidate in candidates {
        if let Some(id) = arxiv_id(candidate) {
            return format!("arxiv:{id}");
        }
    }
    if let Some(guid) = guid.map(str::trim).filter(|g| !g.is_empty()) {
        if let Some(url) = canonical_link(guid) {
            return format!("link:{url}");
        }
        return format!("guid:{source_id}:{guid}");
    }
    if let Some(url) = link.and_then(canonical_link) {
        return format!("link:{url}");
    }
    let digest = short_hash(
        &[title.trim().as_bytes(), b"\n", summary.trim().as_bytes()],
        16,
    );
    format!("hash:{digest}")
}

/// The stable id for a canonical key.
pub fn entry_id(key: &str) -> EntryId {
    let mut h = Sha256::new();
    h.update(ID_HASH_PREFIX);
    h.update(key.as_bytes());
    let digest = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id[6] = (id[6] & 0x0f) | 0x80; // version 8
    id[8] = (id[8] & 0x3f) | 0x80; // RFC 9562 variant
    EntryId(id)
}

/// The id an entry would have if it had this link (or arXiv id) alone: what
/// an admin can type to find an entry.
pub fn id_for_reference(reference: &str) -> Option<EntryId> {
    if let Some(id) = EntryId::parse(reference) {
        return Some(id);
    }
    if let Some(a) = arxiv_id(reference).or_else(|| {
        let bare = reference.trim();
        ARXIV_BARE.is_match(bare).then(|| bare.to_ascii_lowercase())
    }) {
        return Some(entry_id(&format!("arxiv:{a}")));
    }
    canonical_link(reference).map(|l| entry_id(&format!("link:{l}")))
}

static ARXIV_BARE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{4}\.\d{4,5}$").expect("static regex"));

/// The canonical form of an absolute http(s) URL, or `None` when `raw` is
/// not one.
pub fn canonical_link(raw: &str) -> Option<String> {
    let mut url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    // `Url` already lower-cases scheme and host and drops default ports.
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url.into())
}

/// The first `bytes` bytes (at most 32) of the SHA-256 of `parts` joined,
/// in hex: the one short digest behind content keys, ETags and rule
/// fingerprints.
pub fn short_hash(parts: &[&[u8]], bytes: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    crate::text::hex(&h.finalize()[..bytes.min(32)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arxiv_ids_from_every_known_form() {
        for s in [
            "https://arxiv.org/abs/2602.23229",
            "https://arxiv.org/abs/2602.23229v3",
            "http://arxiv.org/pdf/2602.23229v1.pdf",
            "https://arxiv.org/pdf/2602.23229",
            "https://huggingface.co/papers/2602.23229",
            "oai:arXiv.org:2602.23229v1",
            "arxiv:2602.23229",
        ] {
            assert_eq!(arxiv_id(s).as_deref(), Some("2602.23229"), "{s}");
        }
        assert_eq!(
            arxiv_id("https://arxiv.org/abs/hep-th/9901001v2").as_deref(),
            Some("hep-th/9901001")
        );
        assert_eq!(arxiv_id("https://example.org/abs/2602.23229"), None);
        assert_eq!(arxiv_id("https://arxiv.org/abs/2602.232290000"), None);
    }

    #[test]
    fn the_chain_prefers_global_ids_then_guid_then_link_then_hash() {
        let k = canonical_key(
            "s",
            Some("42"),
            Some("https://huggingface.co/papers/2602.23229"),
            &[],
            "t",
            "",
        );
        assert_eq!(k, "arxiv:2602.23229");
        let k = canonical_key("s", Some("42"), Some("https://example.org/a"), &[], "t", "");
        assert_eq!(k, "guid:s:42");
        let k = canonical_key(
            "s",
            Some("HTTPS://Example.org:443/a?utm_source=x#frag"),
            None,
            &[],
            "t",
            "",
        );
        assert_eq!(k, "link:https://example.org/a");
        let k = canonical_key(
            "s",
            None,
            Some("https://example.org/a?id=3&utm_medium=y"),
            &[],
            "t",
            "",
        );
        assert_eq!(k, "link:https://example.org/a?id=3");
        let k = canonical_key("s", None, None, &[], "Title", "Summary");
        assert!(k.starts_with("hash:") && k.len() == 5 + 32, "{k}");
        assert_eq!(
            k,
            canonical_key("other", None, None, &[], " Title ", "Summary")
        );
        assert_ne!(k, canonical_key("s", None, None, &[], "Title", "Other"));
    }

    /// Published ids must never change: these values are pinned forever.
    /// If this test fails, the change breaks every subscriber's history.
    #[test]
    fn ids_are_pinned() {
        let pinned = [
            (
                "arxiv:2602.23229",
                "urn:uuid:d1e6c5b5-e6a3-8301-b668-a2e27cdd250c",
            ),
            (
                "link:https://example.org/a",
                "urn:uuid:9e4053ea-e65a-838f-87ab-095023667c2f",
            ),
            ("guid:s:42", "urn:uuid:859e3b42-6aff-8c5e-b513-e8d093f645b7"),
        ];
        for (key, urn) in pinned {
            assert_eq!(entry_id(key).urn(), urn, "{key}");
            assert_eq!(EntryId::parse(urn), Some(entry_id(key)));
        }
        // A reference an admin types finds the same entry.
        assert_eq!(
            id_for_reference("2602.23229"),
            Some(entry_id("arxiv:2602.23229"))
        );
        assert_eq!(
            id_for_reference("https://arxiv.org/abs/2602.23229v2"),
            Some(entry_id("arxiv:2602.23229"))
        );
    }
}
