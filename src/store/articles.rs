//! Article fetches owed (see `crate::fulltext`): which entries' links are
//! still to be fetched for their full text, and when to try next. Kept in
//! the store so a restart or crash neither loses a fetch nor repeats a
//! finished one; the fulltext module owns what they mean.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{corrupt, keys, Store, StoreError};
use crate::model::EntryId;

/// One article to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleJob {
    /// The source whose entry it is (its politeness settings apply).
    pub source: String,
    /// The page to fetch.
    pub link: String,
    /// When to try (next).
    pub due: DateTime<Utc>,
    /// Failed tries so far.
    pub attempts: u32,
}

impl Store {
    /// Owes `job` for entry `id`, unless one is owed already or `max` are;
    /// returns whether it was queued.
    pub fn owe_article(
        &self,
        id: &EntryId,
        job: &ArticleJob,
        max: usize,
    ) -> Result<bool, StoreError> {
        if self.articles.len() >= max || self.articles.contains_key(id.0)? {
            return Ok(false);
        }
        let bytes = serde_json::to_vec(job).map_err(|e| corrupt(keys::TREE_ARTICLES, e))?;
        self.articles.insert(id.0, bytes)?;
        Ok(true)
    }

    /// Up to `max` jobs due at `now`, the longest due first.
    pub fn due_articles(
        &self,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<(EntryId, ArticleJob)>, StoreError> {
        let mut due = Vec::new();
        for kv in self.articles.iter() {
            let (k, v) = kv?;
            let id: [u8; 16] = k
                .as_ref()
                .try_into()
                .map_err(|_| corrupt(keys::TREE_ARTICLES, "bad key length"))?;
            let job: ArticleJob =
                serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_ARTICLES, e))?;
            if job.due <= now {
                due.push((EntryId(id), job));
            }
        }
        due.sort_by_key(|(_, j)| j.due);
        due.truncate(max);
        Ok(due)
    }

    /// When the next job is due, if any is owed.
    pub fn next_article_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for v in self.articles.iter().values() {
            let job: ArticleJob =
                serde_json::from_slice(&v?).map_err(|e| corrupt(keys::TREE_ARTICLES, e))?;
            next = Some(next.map_or(job.due, |n| n.min(job.due)));
        }
        Ok(next)
    }

    /// Article fetches owed now.
    pub fn articles_owed(&self) -> usize {
        self.articles.len()
    }

    /// Puts a job back with a later try.
    pub fn retry_article(&self, id: &EntryId, job: &ArticleJob) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(job).map_err(|e| corrupt(keys::TREE_ARTICLES, e))?;
        self.articles.insert(id.0, bytes)?;
        Ok(())
    }

    /// The job for `id` is done (or given up): it is never tried again.
    pub fn drop_article(&self, id: &EntryId) -> Result<(), StoreError> {
        self.articles.remove(id.0)?;
        Ok(())
    }

    /// Gives entry `id` its article, then lets `route` tag it again (rules
    /// on `content` read the article); returns the topics it is in (whose
    /// feeds changed), or `None` when the entry is gone (pruned meanwhile).
    /// Its id and dates stay as they are.
    pub fn set_article(
        &self,
        id: &EntryId,
        html: &str,
        route: impl Fn(&mut crate::model::Entry),
    ) -> Result<Option<Vec<String>>, StoreError> {
        let written = self.update_many(std::slice::from_ref(id), |_, old| {
            let mut e = old?;
            e.article = Some(html.to_string());
            route(&mut e);
            Some(e)
        })?;
        if written == 0 {
            return Ok(None);
        }
        Ok(self.get(id)?.map(|e| e.topics.into_keys().collect()))
    }
}
