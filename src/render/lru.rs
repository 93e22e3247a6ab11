//! What the document cache holds, and what it lets go.
//!
//! Two parts with two rules, because two kinds of documents are asked
//! for. The *pinned* documents (each topic's feeds and page at the
//! configured base, the index, the OPML) are as many as the definitions
//! say, so they are never evicted. The *variants* are what a client
//! chooses (`?limit=`, a query, another public base from a trusted
//! proxy): unbounded in number, so they share one byte budget and the
//! least recently used go first. Both parts keep their byte counts here,
//! next to the maps, so `/metrics` reads what is held, not an estimate.
//! Locking, rendering and when to drop are [`super::FeedCache`]'s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::cache::RenderStats;
use super::{Doc, Rendered};

/// What the byte-bounded part of the cache holds, for `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CacheStats {
    /// Bytes of every cached document (bodies and compressed copies).
    pub bytes: usize,
    pub entries: usize,
    /// Of those, the client-chosen variants and their bytes.
    pub variant_bytes: usize,
    pub variant_entries: usize,
    /// Variants dropped to stay within the budget, since start.
    pub evictions: u64,
}

/// A client-chosen document and when it was last served (a tick of the
/// cache's clock, which moves once per insert).
pub(super) struct Variant {
    pub(super) doc: Arc<Rendered>,
    pub(super) last_used: AtomicU64,
    /// When it goes stale though no topic changed: a query relative to the
    /// request's time (`since=7d`) keeps entries that later fall out of it.
    pub(super) expires: Option<Instant>,
}

#[derive(Default)]
pub(super) struct Inner {
    /// The documents of the configured base at their default size: each
    /// topic's feeds (rendered ahead) and preview, the index, the OPML.
    /// Their number is fixed by the definitions, so they are never evicted.
    pinned: HashMap<Doc, Arc<Rendered>>,
    pinned_bytes: usize,
    /// Public base → document → bytes, for everything a client chooses:
    /// `?limit=` variants, and any document for another public base (from
    /// trusted proxy headers). Least recently used first out, within the
    /// cache's budget.
    variants: HashMap<Arc<str>, HashMap<Doc, Variant>>,
    variant_bytes: usize,
    variant_entries: usize,
    evictions: u64,
    /// Bumped on every refresh, so a lazily rendered document that raced
    /// with a refresh is not cached stale.
    pub(super) generation: u64,
    pub(super) stats: RenderStats,
}

impl Inner {
    /// A pinned document.
    pub(super) fn pinned(&self, doc: &Doc) -> Option<&Arc<Rendered>> {
        self.pinned.get(doc)
    }

    /// A variant of `doc` for public base `base`.
    pub(super) fn variant(&self, base: &str, doc: &Doc) -> Option<&Variant> {
        self.variants.get(base)?.get(doc)
    }

    /// Pins `r` as `doc`, in place of what was pinned as `doc` before.
    pub(super) fn pin(&mut self, doc: Doc, r: Arc<Rendered>) {
        self.pinned_bytes += r.size();
        if let Some(old) = self.pinned.insert(doc, r) {
            self.pinned_bytes -= old.size();
        }
    }

    /// Keeps `v` as `doc` for public base `base`, then evicts down to
    /// `budget` (see [`Inner::evict_to`]).
    pub(super) fn insert_variant(&mut self, base: &str, doc: Doc, v: Variant, budget: usize) {
        let size = v.doc.size();
        if !self.variants.contains_key(base) {
            self.variants.insert(Arc::from(base), HashMap::new());
        }
        let replaced = self
            .variants
            .get_mut(base)
            .expect("inserted above")
            .insert(doc, v)
            .map(|v| v.doc.size());
        self.variant_bytes += size;
        match replaced {
            Some(old) => self.variant_bytes -= old,
            None => self.variant_entries += 1,
        }
        self.evict_to(budget);
    }

    /// What is held now.
    pub(super) fn held(&self) -> CacheStats {
        CacheStats {
            bytes: self.pinned_bytes + self.variant_bytes,
            entries: self.pinned.len() + self.variant_entries,
            variant_bytes: self.variant_bytes,
            variant_entries: self.variant_entries,
            evictions: self.evictions,
        }
    }

    /// Drops the documents `keep` refuses, from both parts.
    pub(super) fn retain(&mut self, keep: impl Fn(&Doc) -> bool) {
        let mut freed = 0;
        self.pinned.retain(|doc, r| {
            let k = keep(doc);
            if !k {
                freed += r.size();
            }
            k
        });
        self.pinned_bytes -= freed;
        let (mut freed, mut dropped) = (0, 0);
        for per_base in self.variants.values_mut() {
            per_base.retain(|doc, v| {
                let k = keep(doc);
                if !k {
                    freed += v.doc.size();
                    dropped += 1;
                }
                k
            });
        }
        self.variants.retain(|_, per_base| !per_base.is_empty());
        self.variant_bytes -= freed;
        self.variant_entries -= dropped;
    }

    /// Over `budget`, evicts least recently used variants until they take
    /// at most seven eighths of it: each pass sorts every variant, so it
    /// frees room for several inserts at once.
    fn evict_to(&mut self, budget: usize) {
        if self.variant_bytes <= budget {
            return;
        }
        let budget = budget - budget / 8;
        let mut by_age: Vec<(u64, Arc<str>, Doc)> = self
            .variants
            .iter()
            .flat_map(|(base, docs)| {
                docs.iter().map(|(doc, v)| {
                    (
                        v.last_used.load(Ordering::Relaxed),
                        base.clone(),
                        doc.clone(),
                    )
                })
            })
            .collect();
        by_age.sort_by_key(|(t, _, _)| *t);
        for (_, base, doc) in by_age {
            if self.variant_bytes <= budget {
                break;
            }
            if let Some(per_base) = self.variants.get_mut(&base) {
                if let Some(v) = per_base.remove(&doc) {
                    self.variant_bytes -= v.doc.size();
                    self.variant_entries -= 1;
                    self.evictions += 1;
                }
                if per_base.is_empty() {
                    self.variants.remove(&base);
                }
            }
        }
    }
}
