//! Redirects, followed by us hop by hop rather than by reqwest, so that
//! each hop obeys its own host's politeness and the address guard.
//!
//! At most [`MAX_REDIRECTS`] are followed; coming back to a URL already
//! asked is a loop and an error; `https` → `http` is refused unless the
//! source allows it (a network attacker could then read and rewrite the
//! feed), and so is any scheme but http(s). A chain of permanent redirects
//! (301, 308) from the configured URL is reported as where the source
//! moved, so the admin can update it; one temporary hop on the way means
//! it did not move.

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;
use url::Url;

use super::headers::header;
use super::FetchError;

pub const MAX_REDIRECTS: usize = 5;

/// Where an answer to `url` redirects, if it does: a 3xx other than 304
/// with a `Location`, resolved against `url`.
pub(super) fn target(
    url: &Url,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Option<Url>, FetchError> {
    if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
        return Ok(None);
    }
    let Some(location) = header(headers, LOCATION) else {
        return Ok(None);
    };
    url.join(&location)
        .map(Some)
        .map_err(|e| FetchError::Other(format!("bad redirect Location `{location}`: {e}")))
}

/// The redirects one fetch has followed.
pub(super) struct Chain {
    /// Every URL asked, the first one included.
    seen: Vec<Url>,
    /// Where the configured URL moved for good, while every hop so far was
    /// permanent.
    moved_to: Option<Url>,
}

impl Chain {
    pub(super) fn new(start: &Url) -> Chain {
        Chain {
            seen: vec![start.clone()],
            moved_to: None,
        }
    }

    /// Redirects followed so far.
    pub(super) fn followed(&self) -> usize {
        self.seen.len() - 1
    }

    /// Checks a redirect from `from` (answered with `status`) to `to` and
    /// records it: `to` is the URL to ask next. Refuses a loop, a
    /// downgrade (unless `allow_http`), a scheme other than http(s), and
    /// more than [`MAX_REDIRECTS`] hops.
    pub(super) fn follow(
        &mut self,
        from: &Url,
        status: u16,
        to: Url,
        allow_http: bool,
    ) -> Result<Url, FetchError> {
        if self.seen.contains(&to) {
            return Err(FetchError::RedirectLoop(to));
        }
        if downgrade(from, &to, allow_http) {
            return Err(FetchError::RedirectRefused(
                to,
                "a downgrade from https to http (set `allow_http_redirect = true` on the source to follow it)",
            ));
        }
        if !matches!(to.scheme(), "http" | "https") {
            return Err(FetchError::RedirectRefused(to, "not http(s)"));
        }
        // Only a chain of permanent redirects moves the source.
        let permanent = matches!(status, 301 | 308);
        self.moved_to =
            (permanent && (self.followed() == 0 || self.moved_to.is_some())).then(|| to.clone());
        self.seen.push(to.clone());
        if self.followed() > MAX_REDIRECTS {
            return Err(FetchError::Redirects);
        }
        Ok(to)
    }

    /// Where the source moved for good, if every hop was permanent.
    pub(super) fn moved_to(self) -> Option<Url> {
        self.moved_to
    }
}

/// Whether a redirect from `from` to `to` is a refused `https` → `http`
/// downgrade.
fn downgrade(from: &Url, to: &Url, allowed: bool) -> bool {
    from.scheme() == "https" && to.scheme() == "http" && !allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn downgrades_are_refused_unless_allowed() {
        let from = url("https://example.org/feed");
        let to = url("http://example.org/feed");
        assert!(downgrade(&from, &to, false));
        assert!(!downgrade(&from, &to, true));
        assert!(!downgrade(&to, &from, false));
        let mut chain = Chain::new(&from);
        let err = chain.follow(&from, 302, to.clone(), false).unwrap_err();
        assert!(matches!(err, FetchError::RedirectRefused(..)), "{err}");
        assert_eq!(
            Chain::new(&from).follow(&from, 302, to.clone(), true).ok(),
            Some(to)
        );
    }

    #[test]
    fn loops_schemes_and_the_hop_limit() {
        let start = url("http://example.org/a");
        let mut chain = Chain::new(&start);
        let b = chain
            .follow(&start, 302, url("http://example.org/b"), false)
            .unwrap();
        let err = chain.follow(&b, 302, start.clone(), false).unwrap_err();
        assert!(matches!(err, FetchError::RedirectLoop(_)), "{err}");
        let err = Chain::new(&start)
            .follow(&start, 302, url("ftp://example.org/a"), false)
            .unwrap_err();
        assert!(matches!(err, FetchError::RedirectRefused(..)), "{err}");
        let mut chain = Chain::new(&start);
        let mut at = start;
        for n in 0..MAX_REDIRECTS {
            at = chain
                .follow(&at, 302, url(&format!("http://example.org/{n}")), false)
                .unwrap();
        }
        let err = chain
            .follow(&at, 302, url("http://example.org/more"), false)
            .unwrap_err();
        assert!(matches!(err, FetchError::Redirects), "{err}");
    }

    #[test]
    fn only_a_chain_of_permanent_redirects_moves_the_source() {
        let start = url("http://example.org/a");
        let (b, c) = (url("http://example.org/b"), url("http://example.org/c"));
        let mut chain = Chain::new(&start);
        chain.follow(&start, 301, b.clone(), false).unwrap();
        chain.follow(&b, 308, c.clone(), false).unwrap();
        assert_eq!(chain.moved_to(), Some(c.clone()));
        let mut chain = Chain::new(&start);
        chain.follow(&start, 302, b.clone(), false).unwrap();
        chain.follow(&b, 301, c.clone(), false).unwrap();
        assert_eq!(chain.moved_to(), None, "a temporary hop first");
        let mut chain = Chain::new(&start);
        chain.follow(&start, 301, b.clone(), false).unwrap();
        chain.follow(&b, 307, c, false).unwrap();
        assert_eq!(chain.moved_to(), None, "a temporary hop last");
    }

    #[test]
    fn redirect_targets() {
        let from = url("http://example.org/dir/feed");
        let mut h = HeaderMap::new();
        h.insert(LOCATION, "../moved".parse().unwrap());
        let t =
            |status: u16, h: &HeaderMap| target(&from, StatusCode::from_u16(status).unwrap(), h);
        assert_eq!(t(301, &h).unwrap(), Some(url("http://example.org/moved")));
        assert_eq!(t(304, &h).unwrap(), None);
        assert_eq!(t(200, &h).unwrap(), None);
        assert_eq!(t(302, &HeaderMap::new()).unwrap(), None);
    }
}
