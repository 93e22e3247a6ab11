//! Sites whose feeds are known but not advertised where people look for
//! them: a GitHub repository's releases, a subreddit, a YouTube channel
//! by id, an arXiv listing, a Mastodon or Medium profile, and Hugging Face
//! papers (read by feedloom's own `huggingface_papers` source). `add`
//! (issue 28) tries these before guessing paths: the answer is known, so
//! asking the site for it costs one request instead of several.
//!
//! Only the address is read here; `add` still fetches what a mapping names
//! and keeps it only if it is a feed, so a look-alike path on another site
//! (`/@name` on a site that is not Mastodon) costs one request, no more.

use url::Url;

/// What an address is known to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// The site's feed for this page.
    Feed { url: Url, site: &'static str },
    /// A Hugging Face papers listing: a `huggingface_papers` source.
    HuggingFace {
        listing: &'static str,
        query: Option<String>,
    },
}

/// The known feed behind `page`, if its site is one of the known ones.
pub fn known(page: &Url) -> Option<Known> {
    let host = page.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let host = host.strip_prefix("m.").unwrap_or(host);
    let segments: Vec<&str> = page
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let feed = |url: String, site: &'static str| {
        Url::parse(&url).ok().map(|url| Known::Feed { url, site })
    };
    match (host, segments.as_slice()) {
        ("youtube.com", ["channel", id, ..]) if safe(id) => feed(
            format!("https://www.youtube.com/feeds/videos.xml?channel_id={id}"),
            "YouTube channel",
        ),
        ("youtube.com", ["user", name, ..]) if safe(name) => feed(
            format!("https://www.youtube.com/feeds/videos.xml?user={name}"),
            "YouTube user",
        ),
        ("youtube.com", ["playlist"]) => {
            let list = query_value(page, "list").filter(|l| safe(l))?;
            feed(
                format!("https://www.youtube.com/feeds/videos.xml?playlist_id={list}"),
                "YouTube playlist",
            )
        }
        ("github.com", [owner, repo, ..]) if safe(owner) && safe(repo) => feed(
            format!(
                "https://github.com/{owner}/{}/releases.atom",
                repo.trim_end_matches(".git")
            ),
            "GitHub releases",
        ),
        ("github.com", [owner]) if safe(owner) => feed(
            format!("https://github.com/{owner}.atom"),
            "GitHub activity",
        ),
        ("reddit.com" | "old.reddit.com", [kind @ ("r" | "user" | "u"), name, ..])
            if safe(name) =>
        {
            let kind = if *kind == "r" { "r" } else { "user" };
            feed(
                format!("https://www.reddit.com/{kind}/{name}/.rss"),
                "Reddit",
            )
        }
        ("arxiv.org", ["list", category, ..]) if safe(category) => feed(
            format!("https://rss.arxiv.org/rss/{category}"),
            "arXiv listing",
        ),
        ("arxiv.org", ["archive", category]) if safe(category) => feed(
            format!("https://rss.arxiv.org/rss/{category}"),
            "arXiv archive",
        ),
        ("medium.com", [user]) if user.starts_with('@') && safe(&user[1..]) => {
            feed(format!("https://medium.com/feed/{user}"), "Medium profile")
        }
        ("huggingface.co", ["papers", rest @ ..]) => hugging_face(page, rest),
        // Their other pages are read for what they advertise (a YouTube
        // handle's page names its channel feed), never taken for Mastodon.
        ("youtube.com" | "github.com" | "reddit.com" | "medium.com" | "huggingface.co", _) => None,
        // Mastodon (and the other ActivityPub servers that copy its paths)
        // on any host: `/@name` and `/users/name` have `/@name.rss`.
        (_, [user]) if user.starts_with('@') && safe(&user[1..]) && !user.ends_with(".rss") => {
            let mut url = page.clone();
            url.set_path(&format!("/{user}.rss"));
            url.set_query(None);
            url.set_fragment(None);
            Some(Known::Feed {
                url,
                site: "Mastodon profile",
            })
        }
        (_, ["users", name]) if safe(name) => {
            let mut url = page.clone();
            url.set_path(&format!("/@{name}.rss"));
            url.set_query(None);
            url.set_fragment(None);
            Some(Known::Feed {
                url,
                site: "Mastodon profile",
            })
        }
        _ => None,
    }
}

/// `huggingface.co/papers…`: the listing the page shows.
fn hugging_face(page: &Url, rest: &[&str]) -> Option<Known> {
    let listing = match rest {
        [] => match query_value(page, "q").filter(|q| !q.trim().is_empty()) {
            Some(q) => {
                return Some(Known::HuggingFace {
                    listing: "search",
                    query: Some(crate::text::one_line(q.trim(), 250)),
                })
            }
            None => "daily",
        },
        ["trending", ..] => "trending",
        ["date", ..] => "daily",
        ["week", ..] => "weekly",
        ["month", ..] => "monthly",
        // One paper's page, not a listing.
        _ => return None,
    };
    Some(Known::HuggingFace {
        listing,
        query: None,
    })
}

fn query_value(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A path segment that can be put into another URL as it is: the names
/// these sites allow (letters, digits, `-`, `_`, `.`), never `..`.
fn safe(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_of(page: &str) -> Option<String> {
        match known(&Url::parse(page).unwrap())? {
            Known::Feed { url, .. } => Some(url.to_string()),
            Known::HuggingFace { .. } => None,
        }
    }

    #[test]
    fn known_sites_map_to_their_real_feeds() {
        for (page, feed) in [
            (
                "https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw",
                "https://www.youtube.com/feeds/videos.xml?channel_id=UC_x5XG1OV2P6uZZ5FSM9Ttw",
            ),
            (
                "https://m.youtube.com/playlist?list=PLxyz-1",
                "https://www.youtube.com/feeds/videos.xml?playlist_id=PLxyz-1",
            ),
            (
                "https://github.com/rust-lang/rust/tree/master/src",
                "https://github.com/rust-lang/rust/releases.atom",
            ),
            (
                "https://github.com/rust-lang/cargo.git",
                "https://github.com/rust-lang/cargo/releases.atom",
            ),
            (
                "https://old.reddit.com/r/rust/top/?t=week",
                "https://www.reddit.com/r/rust/.rss",
            ),
            (
                "https://arxiv.org/list/cs.CL/recent",
                "https://rss.arxiv.org/rss/cs.CL",
            ),
            (
                "https://mastodon.social/@Gargron",
                "https://mastodon.social/@Gargron.rss",
            ),
            (
                "https://fosstodon.org/users/someone",
                "https://fosstodon.org/@someone.rss",
            ),
            (
                "https://medium.com/@someone",
                "https://medium.com/feed/@someone",
            ),
        ] {
            assert_eq!(feed_of(page).as_deref(), Some(feed), "{page}");
        }
        // A YouTube handle page is read for the feed it advertises.
        assert_eq!(feed_of("https://www.youtube.com/@handle"), None);
        assert_eq!(feed_of("https://example.org/blog/"), None);
        // Nothing of the page's path is put into another URL unchecked.
        assert_eq!(feed_of("https://github.com/a%2F..%2Fb/c"), None);
        assert_eq!(feed_of("https://www.reddit.com/r/a%3Fb/"), None);
    }

    #[test]
    fn hugging_face_papers_become_a_papers_source() {
        let hf = |page: &str| known(&Url::parse(page).unwrap());
        assert_eq!(
            hf("https://huggingface.co/papers"),
            Some(Known::HuggingFace {
                listing: "daily",
                query: None
            })
        );
        assert_eq!(
            hf("https://huggingface.co/papers/trending"),
            Some(Known::HuggingFace {
                listing: "trending",
                query: None
            })
        );
        assert_eq!(
            hf("https://huggingface.co/papers?q=mixture+of+experts"),
            Some(Known::HuggingFace {
                listing: "search",
                query: Some("mixture of experts".into())
            })
        );
        assert_eq!(hf("https://huggingface.co/papers/2501.00001"), None);
    }
}
