//! `[source.paging]` of a `json` source: how the next page is asked for.
//!
//! SECURITY: a next-page URL comes from the upstream's body, so it is
//! followed only to the source's own host and scheme; a response cannot
//! send the poller to fetch anything else (an internal address, another
//! site). Paging is bounded by `max_pages` and stops on repeats (see
//! [`crate::poll`]).

use url::Url;

use super::pointer;
use crate::defs::{Invalid, PagingDef};

/// Default pages per poll when a source pages and sets no `max_pages`.
pub const DEFAULT_MAX_PAGES: u32 = 5;
/// The most pages a source may ask for per poll.
pub const MAX_PAGES: u32 = 50;
/// The longest cursor sent back (a longer one ends the paging).
const MAX_CURSOR_BYTES: usize = 2048;

/// The compiled paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// The body names the next page's URL at this pointer.
    NextUrl(String),
    /// The body holds a cursor at `pointer`, sent back as `param`.
    Cursor { pointer: String, param: String },
    /// Pages are numbered: `param` = `start`, `start + 1`, ...
    Number { param: String, start: u32 },
}

impl Paging {
    pub fn compile(def: &PagingDef) -> Result<Paging, Invalid> {
        let param = def
            .param
            .as_deref()
            .map(|p| {
                if p.is_empty() || p.len() > 64 || p.contains(['&', '=', '#']) {
                    Err(Invalid::from(format!(
                        "paging.param `{p}`: a query parameter name such as `page`"
                    )))
                } else {
                    Ok(p.to_string())
                }
            })
            .transpose()?;
        match (&def.next_url, &def.cursor, param) {
            (Some(next), None, None) if def.start.is_none() => {
                Ok(Paging::NextUrl(pointer::check("paging.next_url", next)?))
            }
            (None, Some(cursor), Some(param)) if def.start.is_none() => Ok(Paging::Cursor {
                pointer: pointer::check("paging.cursor", cursor)?,
                param,
            }),
            (None, Some(_), None) => {
                Err("paging.cursor needs `param`, the query parameter that sends it back".into())
            }
            (None, None, Some(param)) => Ok(Paging::Number {
                param,
                start: def.start.unwrap_or(1),
            }),
            _ => Err("paging: give one of `next_url`, `cursor` + `param`, or `param` (+ `start`) for numbered pages".into()),
        }
    }

    /// The pointer whose value the extractor reports as the next page's
    /// token ([`super::JsonPage::next`]), if this paging reads one.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Paging::NextUrl(p) | Paging::Cursor { pointer: p, .. } => Some(p),
            Paging::Number { .. } => None,
        }
    }

    /// The URL of the page after page `page` (0-based) fetched from
    /// `current`, where the source's own URL is `source`; `token` is what
    /// that page held at [`Paging::pointer`]. `None` ends the paging.
    pub fn next(&self, source: &Url, current: &Url, page: u32, token: Option<&str>) -> Option<Url> {
        match self {
            Paging::NextUrl(_) => {
                let next = current.join(token?.trim()).ok()?;
                let same_origin = next.scheme() == source.scheme()
                    && next.host_str() == source.host_str()
                    && next.port_or_known_default() == source.port_or_known_default();
                if !same_origin {
                    tracing::debug!(%source, "paging stops: next page {next} is on another origin");
                }
                same_origin.then_some(next)
            }
            Paging::Cursor { param, .. } => {
                let token = token?;
                (token.len() <= MAX_CURSOR_BYTES).then(|| with_param(source, param, token))
            }
            Paging::Number { param, start } => {
                let n = start.checked_add(page.checked_add(1)?)?;
                Some(with_param(source, param, &n.to_string()))
            }
        }
    }

    /// The first page's URL: the source's URL, with the start number when
    /// pages are numbered.
    pub fn first(&self, source: &Url) -> Url {
        match self {
            Paging::Number { param, start } => with_param(source, param, &start.to_string()),
            _ => source.clone(),
        }
    }
}

/// `url` with query parameter `name` set to `value` (replacing any).
fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(name, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(next: Option<&str>, cursor: Option<&str>, param: Option<&str>) -> PagingDef {
        PagingDef {
            next_url: next.map(Into::into),
            cursor: cursor.map(Into::into),
            param: param.map(Into::into),
            start: None,
        }
    }

    #[test]
    fn next_pages() {
        let src = Url::parse("https://api.example.org/v1/items?sort=new").unwrap();
        let p = Paging::compile(&def(None, None, Some("page"))).unwrap();
        assert_eq!(
            p.first(&src).as_str(),
            "https://api.example.org/v1/items?sort=new&page=1"
        );
        assert_eq!(
            p.next(&src, &src, 0, None).unwrap().as_str(),
            "https://api.example.org/v1/items?sort=new&page=2"
        );
        let c = Paging::compile(&def(None, Some("/after"), Some("after"))).unwrap();
        assert_eq!(
            c.next(&src, &src, 0, Some("t3 x&y")).unwrap().as_str(),
            "https://api.example.org/v1/items?sort=new&after=t3+x%26y"
        );
        assert_eq!(c.next(&src, &src, 0, None), None);
        let n = Paging::compile(&def(Some("/next"), None, None)).unwrap();
        assert_eq!(
            n.next(&src, &src, 0, Some("items?cursor=2"))
                .unwrap()
                .as_str(),
            "https://api.example.org/v1/items?cursor=2"
        );
        // Another origin is never followed.
        assert_eq!(n.next(&src, &src, 0, Some("https://evil.example/")), None);
        assert_eq!(
            n.next(&src, &src, 0, Some("http://api.example.org/v1/items")),
            None
        );
    }

    #[test]
    fn one_way_only() {
        assert!(Paging::compile(&def(Some("/n"), Some("/c"), Some("p"))).is_err());
        assert!(Paging::compile(&def(None, Some("/c"), None))
            .unwrap_err()
            .0
            .contains("param"));
        assert!(Paging::compile(&def(None, None, None)).is_err());
        assert!(Paging::compile(&def(Some("next"), None, None))
            .unwrap_err()
            .0
            .contains("paging.next_url"));
    }
}
