//! URL helpers every stage shares: what a source URL may be, how a base
//! URL is made joinable, and how a URL is shown where strangers can read it.

use crate::defs::Invalid;
use url::Url;

/// Parses a source or base URL: absolute, `http` or `https` (the only
/// schemes the fetcher speaks).
pub fn parse_http_url(raw: &str) -> Result<Url, Invalid> {
    let url = Url::parse(raw).map_err(|e| format!("{e}: `{raw}`"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("only http and https are supported, not `{}`", url.scheme()).into());
    }
    Ok(url)
}

/// Relative joins need a base that ends in `/`: `https://x/feeds` would
/// otherwise lose `feeds`.
pub fn with_trailing_slash(mut u: Url) -> Url {
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

/// A URL fit to show outside the admin view: no userinfo, no query, no
/// fragment (a source URL may carry a token in any of them).
pub fn public_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// `text` with every http(s) URL in it reduced to [`public_url`]: error
/// messages name redirect targets and the like, and `/status` shows them.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        match Url::parse(candidate) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => out.push_str(&public_url(&u)),
            _ => out.push_str(candidate),
        }
        // `end` is at least 4: the candidate starts with `http`.
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_secrets() {
        assert_eq!(
            redact_urls("redirect loop back to http://u:pw@h.example:81/loop?token=SECRET123#f."),
            "redirect loop back to http://h.example:81/loop"
        );
        assert_eq!(
            redact_urls("see `https://a.example/x?k=1` and httpfoo http"),
            "see `https://a.example/x` and httpfoo http"
        );
    }

    #[test]
    fn bases_and_schemes() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            with_trailing_slash(u("https://x/feeds")).as_str(),
            "https://x/feeds/"
        );
        assert_eq!(
            with_trailing_slash(u("https://x/feeds/")).as_str(),
            "https://x/feeds/"
        );
        assert!(parse_http_url("ftp://x/").unwrap_err().0.contains("`ftp`"));
        assert!(parse_http_url("/relative").is_err());
        assert!(parse_http_url("https://x/").is_ok());
    }
}
