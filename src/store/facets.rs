//! What a query feed tests of an entry (see [`crate::query::Filter`]),
//! prepared when the entry is written: its *card*, the facets below and
//! its tags, kept as the value of the first-seen index (`seentime_id`,
//! [`super::keys`]). A query walks cards, not entries: a card is about 300
//! plain bytes read in place where an entry is kilobytes to inflate and
//! parse, so the cards of a large store stay in the store's page cache
//! where entries looked up by id are scattered reads from disk. Only
//! entries whose card passes are read, and tested again in full. That is
//! what lets a query that matches little walk 10,000 entries in a few
//! tens of milliseconds (benches/query.rs).
//!
//! Words and authors are kept as a Bloom filter of their trigrams: exact
//! for "not there" (the common case of a word query), and a "may be
//! there" is checked on the entry. Organization, sources and metrics are
//! kept as they are and tested exactly.

use serde::{Deserialize, Serialize};

use crate::model::Entry;
use crate::text::html_to_text;

/// Bits of a card's trigram filter: 2,048 (256 bytes). A paper's title
/// and abstract (about 1,000 distinct trigrams) set about 40 % of them,
/// so a query word of 9 letters (7 trigrams) passes a card that lacks it
/// about once in 600, one of 5 letters about once in 15.
pub const GRAM_BITS: usize = 2048;

/// An entry's facets, as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facets {
    /// A Bloom filter (one bit per trigram, [`gram_bit`]) of the
    /// lowercased words of the title and summary text and of the
    /// lowercased authors' names.
    pub grams: Vec<u8>,
    /// Lowercased organization.
    pub org: Option<String>,
    pub sources: Vec<String>,
    pub metrics: Vec<(String, f64)>,
}

/// An entry's facets, borrowed from a stored card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FacetView<'a> {
    #[serde(borrow)]
    pub grams: &'a [u8],
    #[serde(borrow)]
    pub org: Option<&'a str>,
    #[serde(borrow)]
    pub sources: Vec<&'a str>,
    #[serde(borrow)]
    pub metrics: Vec<(&'a str, f64)>,
}

/// The filter bit of a trigram. Stored: changing it is a schema change.
fn gram_bit(g: &[u8]) -> usize {
    let x = u64::from(g[0]) | u64::from(g[1]) << 8 | u64::from(g[2]) << 16;
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize % GRAM_BITS
}

fn set_grams(grams: &mut [u8], text: &str) {
    for g in text.as_bytes().windows(3) {
        let bit = gram_bit(g);
        grams[bit / 8] |= 1 << (bit % 8);
    }
}

impl Facets {
    pub fn of(e: &Entry) -> Facets {
        let mut grams = vec![0u8; GRAM_BITS / 8];
        let text = format!("{} {}", e.title, html_to_text(&e.summary)).to_lowercase();
        // Word by word: a query word holds no whitespace, so it is found in
        // the text only inside one word, and its trigrams are that word's.
        for word in text.split_whitespace() {
            set_grams(&mut grams, word);
        }
        for a in &e.authors {
            set_grams(&mut grams, &a.to_lowercase());
        }
        Facets {
            grams,
            org: e.organization.as_ref().map(|o| o.to_lowercase()),
            sources: e.sources.clone(),
            metrics: e.metrics.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }
}

impl FacetView<'_> {
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    /// Whether lowercased text that contains `part` (as a title or summary
    /// word, or an author's name, does) may have made this card: `false`
    /// is certain, `true` must be checked on the entry. Parts shorter than
    /// a trigram always may.
    pub fn may_contain(&self, part: &str) -> bool {
        part.as_bytes().windows(3).all(|g| {
            let bit = gram_bit(g);
            self.grams
                .get(bit / 8)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }
}

/// A card read in place: what a query tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Card<'a> {
    pub facets: FacetView<'a>,
    pub tags: Vec<&'a str>,
}

/// An entry's card: its facets, then its tag ids, both postcard. The
/// facets come first so a change of tags alone keeps their bytes
/// ([`retag`]).
pub fn card(e: &Entry) -> Vec<u8> {
    let out = postcard::to_allocvec(&Facets::of(e)).expect("serializing to a Vec cannot fail");
    with_tags(out, e.tags.keys().map(String::as_str))
}

/// The card `old` with the tags `tags` instead of its own.
pub fn retag<'t>(
    old: &[u8],
    tags: impl IntoIterator<Item = &'t str>,
) -> Result<Vec<u8>, postcard::Error> {
    let (_, rest): (FacetView, _) = postcard::take_from_bytes(old)?;
    Ok(with_tags(old[..old.len() - rest.len()].to_vec(), tags))
}

fn with_tags<'t>(facets: Vec<u8>, tags: impl IntoIterator<Item = &'t str>) -> Vec<u8> {
    let tags: Vec<&str> = tags.into_iter().collect();
    postcard::to_extend(&tags, facets).expect("serializing to a Vec cannot fail")
}

/// Reads a card in place.
pub fn read(bytes: &[u8]) -> Result<Card<'_>, postcard::Error> {
    let (facets, rest) = postcard::take_from_bytes(bytes)?;
    Ok(Card {
        facets,
        tags: postcard::from_bytes(rest)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        let mut e: Entry = serde_json::from_value(serde_json::json!({
            "id": crate::model::EntryId([1; 16]), "key": "k", "title": "MoE Routing, again",
            "link": "", "summary": "<p>Sparse <b>Mixture</b>-of-experts &amp; more</p>",
            "published": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
            "first_seen": "2026-01-01T00:00:00Z", "sources": ["hf"], "authors": ["Yu Lin"],
        }))
        .unwrap();
        e.organization = Some("NVIDIA".into());
        e.metrics.insert("upvotes".into(), 7.0);
        e
    }

    #[test]
    fn every_part_of_the_text_may_be_there_and_most_others_are_not() {
        let e = entry();
        let f = Facets::of(&e);
        let bytes = postcard::to_allocvec(&f).unwrap();
        let v: FacetView = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(v.org, Some("nvidia"));
        assert_eq!(v.metric("upvotes"), Some(7.0));
        assert_eq!(v.metric("comments"), None);
        // No false negatives: every substring of every word, and of the
        // author's name.
        // (`html_to_text` ends a word at every tag.)
        let text = "moe routing, again sparse mixture -of-experts & more";
        for word in text.split_whitespace().chain(["yu lin"]) {
            for i in 0..word.len() {
                for j in i + 1..=word.len() {
                    assert!(v.may_contain(&word[i..j]), "{:?}", &word[i..j]);
                }
            }
        }
        // Words that are not there are mostly told apart.
        let absent = [
            "zebrafish",
            "xylophone",
            "quantization",
            "diffusion",
            "tokenizer",
        ];
        assert!(absent.iter().filter(|w| v.may_contain(w)).count() <= 1);
        // A trigram across two words is not there.
        assert!(!v.may_contain("ain spa") || !v.may_contain("n s"));
    }

    #[test]
    fn a_card_holds_facets_and_tags_and_retagging_keeps_the_facets() {
        let mut e = entry();
        e.tags.insert("moe".into(), Vec::new());
        let c = card(&e);
        let read_back = read(&c).unwrap();
        assert_eq!(read_back.tags, vec!["moe"]);
        let again = retag(&c, ["a", "b"]).unwrap();
        let retagged = read(&again).unwrap();
        assert_eq!(retagged.tags, vec!["a", "b"]);
        assert_eq!(retagged.facets, read_back.facets);
        assert!(read(&c[..c.len() / 2]).is_err());
    }
}
