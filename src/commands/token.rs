//! `token TOPIC [--rotate]`: a private topic's URLs. The token is made
//! the first time (random, [`crate::store::TOKEN_BYTES`] bytes, kept in the
//! store) and replaced with `--rotate`, after which the old URLs answer
//! 404. The server's `/admin/token` view shares [`private_urls`], so a
//! running server (which holds the store) can do the same.

use url::Url;

use super::{Error, Settings};
use crate::config::{self, Definitions};
use crate::render::Format;
use crate::store::Store;
use crate::urls::with_trailing_slash;

/// `token TOPIC [--rotate]`, with links under `base_url`.
pub fn token(
    settings: &Settings,
    topic: &str,
    rotate: bool,
    base_url: &Url,
) -> Result<String, Error> {
    let defs = config::load(&settings.feeds)?;
    let store = settings.open_store()?;
    private_urls(&store, &defs, topic, rotate, base_url)
}

/// The private URLs of `topic` under `base`, its token made (or with
/// `rotate`, replaced) first. SECURITY: the text holds the token; it goes
/// to whoever asked, never to a log.
pub fn private_urls(
    store: &Store,
    defs: &Definitions,
    topic: &str,
    rotate: bool,
    base: &Url,
) -> Result<String, Error> {
    match defs.rules.topic(topic) {
        None => return Err(Error::NotFound(format!("no topic `{topic}` is defined"))),
        Some(t) if !t.private => {
            return Err(Error::Usage(format!(
                "topic `{topic}` is public: set `private = true` in its [[topic]] to serve it only by token"
            )))
        }
        Some(_) => {}
    }
    let token = store.make_topic_token(topic, rotate)?;
    let base = with_trailing_slash(base.clone());
    let mut out = format!(
        "{} URLs of private topic `{topic}` (anyone with one can read it; \
         `feedloom token {topic} --rotate` replaces them):\n",
        if rotate { "new" } else { "the" }
    );
    let exts = Format::ALL.iter().map(|f| f.extension()).chain(["html"]);
    for ext in exts {
        out.push_str(&format!("  {base}p/{token}/{topic}.{ext}\n"));
    }
    Ok(out)
}
