//! Fetching a listing that may span pages: a Hugging Face API listing
//! (`p` = 0, 1, ...), a `json` source with `[source.paging]`, or any other
//! source's single page.
//!
//! Paging stops at `max_pages`, at a page without items, at a page that
//! adds no new item (an API that ignores the page parameter would
//! otherwise be walked to the cap), at a URL already fetched, and when the
//! page says there is no next one. Every request counts against the host's
//! spacing and budget, and the source kind's own budget when it has one.
//! The first page is asked with the validators of its last 200: a 304
//! there means the listing is unchanged, and no other page is fetched. A
//! later page that fails (fetch or extraction) cuts the listing there: the
//! pages before it are ingested, and no validators are kept, so the next
//! poll reads the whole listing again; so does a listing whose document
//! was cut short and read with repairs (the next poll must not take a 304
//! for a document it never saw whole). A listing holds at most
//! [`MAX_ITEMS_PER_FETCH`] items, all pages together: paging stops there.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use url::Url;

use super::{extract_blocking, PollError, Poller, MAX_ITEMS_PER_FETCH};
use crate::config::Source;
use crate::extract::huggingface::API_PAGE_SIZE;
use crate::extract::{Extracted, SourceKind};
use crate::fetch::{Budget, FetchRequest, Fetched, Meta, Validators};
use crate::model::RawEntry;
use crate::repairs::Repairs;

/// The URL after page `page` (0-based), fetched from the given URL, given
/// what it held; `None` ends the listing.
type NextPage<'a> = Box<dyn Fn(u32, &Url, &Extracted) -> Option<Url> + Send + Sync + 'a>;

/// How one source's listing is fetched.
pub(super) struct Pages<'a> {
    pub first: Url,
    pub max_pages: u32,
    /// A source kind's own budget, on top of the host's.
    pub budget: Option<Budget>,
    /// What the stored validators must have been stored for to be sent.
    pub key: String,
    /// Relative links resolve against this, when not the first page's URL.
    pub base: Option<Url>,
    pub next: NextPage<'a>,
}

/// The pages of `source` at `now`.
pub(super) fn of(source: &Source, now: DateTime<Utc>) -> Pages<'_> {
    let single = |first: Url| Pages {
        first,
        max_pages: 1,
        budget: None,
        key: source.fingerprint.clone(),
        base: None,
        next: Box::new(|_, _, _| None),
    };
    match &source.kind {
        SourceKind::HuggingFace(spec) => {
            // Validators belong to the first page's URL, which moves with
            // the date for the daily, weekly and monthly listings.
            let first = spec.request(0, now);
            Pages {
                key: format!("{} {first}", source.fingerprint),
                first,
                max_pages: if spec.paged() { spec.max_pages } else { 1 },
                budget: Some(spec.budget()),
                base: Some(spec.base.clone()),
                // A short page is the last one.
                next: Box::new(move |page, _, got| {
                    (spec.paged() && got.entries.len() >= API_PAGE_SIZE as usize)
                        .then(|| spec.request(page + 1, now))
                }),
            }
        }
        SourceKind::Json(spec) => match &spec.paging {
            Some(paging) => Pages {
                max_pages: spec.max_pages,
                next: Box::new(move |page, url, got| {
                    paging.next(&source.url, url, page, got.next.as_deref())
                }),
                ..single(paging.first(&source.url))
            },
            None => single(source.url.clone()),
        },
        SourceKind::Feed | SourceKind::Html(_) => single(source.url.clone()),
    }
}

/// What a listing fetch found (boxed: the two differ in size by
/// hundreds of bytes, and a listing is returned once a poll).
pub(super) enum Listing {
    /// The first page answered 304: the listing is as it was.
    Unchanged(Box<Meta>),
    Fetched(Box<FetchedPages>),
}

/// A listing fetched and extracted.
pub(super) struct FetchedPages {
    pub entries: Vec<RawEntry>,
    /// Of the last page fetched.
    pub meta: Meta,
    /// The first page's validators, for the next poll.
    pub first_page: Validators,
    /// What relative links resolve against.
    pub page_url: Url,
    /// The first page's own refresh interval (RSS `<ttl>`).
    pub ttl: Option<std::time::Duration>,
    /// What the first page's extraction could not read.
    pub degraded: Option<String>,
    /// What the first page's extraction repaired, with the later pages'
    /// repairs counted (their places are in other documents).
    pub repairs: Repairs,
}

impl Poller {
    /// Fetches and extracts the pages of a listing (see the module doc).
    pub(super) async fn fetch_pages(
        &self,
        source: &Source,
        pages: Pages<'_>,
        validators: Option<&Validators>,
        now: DateTime<Utc>,
    ) -> Result<Listing, PollError> {
        let mut all: Vec<RawEntry> = Vec::new();
        let mut seen = HashSet::new();
        let mut fetched_urls = HashSet::new();
        let mut last_meta = Meta::default();
        let mut first_page = Validators::default();
        let mut page_url = pages.base.clone();
        let mut ttl = None;
        let mut degraded = None;
        let mut repairs = Repairs::default();
        let mut url = pages.first.clone();
        let mut cut = false;
        for page in 0..pages.max_pages {
            fetched_urls.insert(url.clone());
            let req = FetchRequest {
                budget: pages.budget.as_ref(),
                timeout: source.timeout,
                max_body: source.max_body,
                allow_http_redirect: source.allow_http_redirect,
                internal: source.internal,
                validators: validators.filter(|_| page == 0),
                ..FetchRequest::new(&url)
            };
            let fetched = match self.fetcher.fetch(&req).await {
                Ok(f) => f,
                Err(e) if page == 0 => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(source = %source.id, %url, "page {} not fetched, listing cut there: {e}", page + 1);
                    cut = true;
                    break;
                }
            };
            let (bytes, meta) = match fetched {
                Fetched::Body { bytes, meta } => (bytes, meta),
                Fetched::NotModified(meta) if page == 0 => {
                    return Ok(Listing::Unchanged(Box::new(meta)))
                }
                // Never asked conditionally; a server that answers 304
                // anyway ends the listing.
                Fetched::NotModified(meta) => {
                    last_meta = meta;
                    break;
                }
            };
            if page == 0 {
                first_page = meta.validators.clone();
                page_url.get_or_insert_with(|| meta.final_url.clone().unwrap_or(url.clone()));
            }
            let mut got = match extract_blocking(source, bytes, &meta, now).await {
                Ok(got) => got,
                Err(e) if page == 0 => return Err(e),
                // A later page that cannot be read ends the listing; the
                // pages before it are good.
                Err(e) => {
                    tracing::warn!(source = %source.id, %url, "page {} unreadable, listing cut there: {e}", page + 1);
                    last_meta = meta;
                    cut = true;
                    break;
                }
            };
            last_meta = meta;
            if page == 0 {
                ttl = got.ttl;
                degraded = got.degraded.clone();
                repairs = std::mem::take(&mut got.repairs);
            } else {
                repairs.count += got.repairs.count;
                repairs.cut_short |= got.repairs.cut_short;
            }
            let next = (pages.next)(page, &url, &got);
            let before = all.len();
            let mut capped = got.capped;
            if got.trimmed > 0 {
                tracing::warn!(source = %source.id, %url, "{} items held more than {} elements: the rest of each was left out", got.trimmed, crate::extract::feed::MAX_ITEM_ELEMENTS);
            }
            for item in got.entries {
                if all.len() == MAX_ITEMS_PER_FETCH {
                    capped = true;
                    break;
                }
                // Items without an id or link are told apart by title.
                let key = (item.guid.clone(), item.link.clone(), item.title.clone());
                if seen.insert(key) || page == 0 {
                    all.push(item);
                }
            }
            if capped {
                tracing::warn!(source = %source.id, %url, "listing cut at its bounds ({MAX_ITEMS_PER_FETCH} items; {} elements and attributes of a feed, {} values of a JSON document): the items before the cut are read", crate::extract::feed::MAX_DOCUMENT_NODES, crate::extract::json::prune::MAX_VALUES);
                break;
            }
            if page > 0 && all.len() == before {
                break;
            }
            match next {
                Some(n) if !fetched_urls.contains(&n) && all.len() > before => url = n,
                _ => break,
            }
        }
        // A cut listing keeps no validators: the next poll must not take a
        // 304 on the first page for "nothing new" and skip the pages missed.
        // Nor does a document cut short: what it lost past the cut would
        // never be read if the upstream's next answer were a 304.
        if cut || repairs.cut_short {
            first_page = Validators::default();
        }
        Ok(Listing::Fetched(Box::new(FetchedPages {
            entries: all,
            meta: last_meta,
            first_page,
            page_url: page_url.unwrap_or(pages.first),
            ttl,
            degraded,
            repairs,
        })))
    }
}
