//! A subscriber's request to the hub (`POST {base}websub`, a form), read
//! and checked as W3C WebSub §5.1 asks: what is malformed is answered with
//! `400` and a reason naming the parameter; what is well-formed but for a
//! topic that is not served is denied later, to the callback (§5.2).

use std::time::Duration;

use url::Url;

use crate::render::Format;

/// The most a request body may hold.
pub const MAX_FORM_BYTES: usize = 8 * 1024;
/// The longest callback URL accepted.
pub const MAX_CALLBACK_LEN: usize = 2048;
/// `hub.secret` must be shorter than this (§5.1: "less than 200 bytes").
pub const SECRET_LIMIT: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subscribe,
    Unsubscribe,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A topic URL of this server: a topic's feed in one format, under the
/// public base the request came in through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicUrl {
    /// The URL as the subscriber gave it (what the hub echoes back).
    pub url: String,
    pub topic: String,
    pub format: Format,
}

/// A checked hub request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRequest {
    pub mode: Mode,
    pub topic: TopicUrl,
    pub callback: Url,
    /// `hub.lease_seconds` as asked (the hub clamps it to its bounds).
    pub lease: Option<Duration>,
    pub secret: Option<String>,
}

/// Why a request is refused with `400`: one line naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

fn bad(msg: impl Into<String>) -> BadRequest {
    BadRequest(msg.into())
}

/// Reads a form body. `base` is this server's public base for the request
/// (ending in `/`): a topic URL must be under it. Other `hub.*` parameters
/// and parameters outside `hub.` are ignored, as the Recommendation allows
/// extensions; each known one may appear once.
pub fn parse(body: &[u8], base: &Url) -> Result<HubRequest, BadRequest> {
    if body.len() > MAX_FORM_BYTES {
        return Err(bad(format!("request body over {MAX_FORM_BYTES} bytes")));
    }
    let mut fields: [Option<String>; 5] = Default::default();
    const NAMES: [&str; 5] = [
        "hub.mode",
        "hub.topic",
        "hub.callback",
        "hub.lease_seconds",
        "hub.secret",
    ];
    for (k, v) in url::form_urlencoded::parse(body) {
        if let Some(i) = NAMES.iter().position(|n| *n == k) {
            if fields[i].replace(v.into_owned()).is_some() {
                return Err(bad(format!("{} given more than once", NAMES[i])));
            }
        }
    }
    let [mode, topic, callback, lease, secret] = fields;
    let mode = match mode.as_deref() {
        Some("subscribe") => Mode::Subscribe,
        Some("unsubscribe") => Mode::Unsubscribe,
        Some(_) => return Err(bad("hub.mode must be subscribe or unsubscribe")),
        None => return Err(bad("hub.mode is missing")),
    };
    let topic = topic_url(&topic.ok_or_else(|| bad("hub.topic is missing"))?, base)?;
    let callback = callback_url(&callback.ok_or_else(|| bad("hub.callback is missing"))?)?;
    let lease = match lease.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n > 0 => Some(Duration::from_secs(n)),
            _ => return Err(bad("hub.lease_seconds must be a positive whole number")),
        },
    };
    let secret = match secret {
        None => None,
        Some(s) if s.is_empty() => return Err(bad("hub.secret is empty")),
        Some(s) if s.len() >= SECRET_LIMIT => {
            return Err(bad(format!(
                "hub.secret must be shorter than {SECRET_LIMIT} bytes"
            )))
        }
        Some(s) => Some(s),
    };
    Ok(HubRequest {
        mode,
        topic,
        callback,
        lease,
        secret: secret.filter(|_| mode == Mode::Subscribe),
    })
}

/// `{base}{topic}.{rss,atom,json}`, nothing after it.
fn topic_url(raw: &str, base: &Url) -> Result<TopicUrl, BadRequest> {
    let not_ours = || {
        bad(format!(
            "hub.topic must be a feed of this server: {base}TOPIC.rss, .atom or .json"
        ))
    };
    let url = Url::parse(raw).map_err(|_| bad("hub.topic is not a URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("hub.topic must have no query or fragment"));
    }
    let rest = url
        .as_str()
        .strip_prefix(base.as_str())
        .ok_or_else(not_ours)?;
    let (topic, ext) = rest.rsplit_once('.').ok_or_else(not_ours)?;
    let format = Format::from_extension(ext).ok_or_else(not_ours)?;
    if topic.is_empty() || topic.contains('/') {
        return Err(not_ours());
    }
    Ok(TopicUrl {
        url: url.to_string(),
        topic: topic.to_string(),
        format,
    })
}

/// An `http` or `https` URL without credentials, of bounded length. Where it
/// points is checked when it is resolved (see `websub::callback`).
fn callback_url(raw: &str) -> Result<Url, BadRequest> {
    if raw.len() > MAX_CALLBACK_LEN {
        return Err(bad(format!(
            "hub.callback is longer than {MAX_CALLBACK_LEN} bytes"
        )));
    }
    let mut url = Url::parse(raw).map_err(|_| bad("hub.callback is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("hub.callback must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("hub.callback must not carry credentials"));
    }
    url.set_fragment(None);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/feeds/").unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    }

    fn subscribe(extra: &[(&str, &str)]) -> Result<HubRequest, BadRequest> {
        let mut pairs = vec![
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://example.org/feeds/papers.atom"),
            ("hub.callback", "https://sub.example.net/cb?id=7#frag"),
        ];
        pairs.extend_from_slice(extra);
        parse(&form(&pairs), &base())
    }

    #[test]
    fn a_subscription_is_read() {
        let r = subscribe(&[("hub.lease_seconds", "3600"), ("hub.secret", "s3cret")]).unwrap();
        assert_eq!(r.mode, Mode::Subscribe);
        assert_eq!(r.topic.topic, "papers");
        assert_eq!(r.topic.format, Format::Atom);
        assert_eq!(r.topic.url, "https://example.org/feeds/papers.atom");
        assert_eq!(r.callback.as_str(), "https://sub.example.net/cb?id=7");
        assert_eq!(r.lease, Some(Duration::from_secs(3600)));
        assert_eq!(r.secret.as_deref(), Some("s3cret"));
        // Extensions are ignored.
        assert!(subscribe(&[("hub.extra", "1"), ("other", "2")]).is_ok());
    }

    #[test]
    fn each_malformed_field_is_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("hub.mode", "publish")], "hub.mode"),
            (&[("hub.lease_seconds", "-5")], "hub.lease_seconds"),
            (&[("hub.lease_seconds", "0")], "hub.lease_seconds"),
            (&[("hub.secret", "")], "hub.secret"),
            (&[("hub.secret", &"x".repeat(200))], "shorter than 200"),
        ];
        for (extra, named) in cases {
            let e = subscribe(extra).unwrap_err().0;
            assert!(e.contains(named), "{extra:?}: {e}");
        }
        assert!(subscribe(&[("hub.secret", &"x".repeat(199))]).is_ok());
        let missing = parse(&form(&[("hub.mode", "subscribe")]), &base()).unwrap_err();
        assert_eq!(missing.0, "hub.topic is missing");
        let twice = form(&[("hub.mode", "subscribe"), ("hub.mode", "unsubscribe")]);
        assert!(parse(&twice, &base())
            .unwrap_err()
            .0
            .contains("more than once"));
        let huge = vec![b'a'; MAX_FORM_BYTES + 1];
        assert!(parse(&huge, &base()).unwrap_err().0.contains("over"));
    }

    #[test]
    fn topics_are_this_servers_feeds_only() {
        for topic in [
            "https://elsewhere.org/feeds/papers.atom",
            "https://example.org/papers.atom",
            "https://example.org/feeds/papers.html",
            "https://example.org/feeds/a/papers.rss",
            "https://example.org/feeds/.rss",
            "https://example.org/feeds/papers.rss?limit=5",
            "not a url",
        ] {
            let body = form(&[
                ("hub.mode", "subscribe"),
                ("hub.topic", topic),
                ("hub.callback", "https://sub.example.net/cb"),
            ]);
            let e = parse(&body, &base()).unwrap_err().0;
            assert!(e.starts_with("hub.topic"), "{topic}: {e}");
        }
    }

    #[test]
    fn callbacks_are_plain_http_urls() {
        for cb in [
            "ftp://sub.example.net/cb",
            "https://user:pw@sub.example.net/cb",
            "/relative",
            "file:///etc/passwd",
        ] {
            let body = form(&[
                ("hub.mode", "subscribe"),
                ("hub.topic", "https://example.org/feeds/papers.rss"),
                ("hub.callback", cb),
            ]);
            let e = parse(&body, &base()).unwrap_err().0;
            assert!(e.starts_with("hub.callback"), "{cb}: {e}");
        }
        let long = format!("https://sub.example.net/{}", "a".repeat(MAX_CALLBACK_LEN));
        let body = form(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://example.org/feeds/papers.rss"),
            ("hub.callback", &long),
        ]);
        assert!(parse(&body, &base()).unwrap_err().0.contains("longer"));
    }
}
