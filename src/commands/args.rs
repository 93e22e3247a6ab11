//! The subcommands ([`Command`]) and the flags of those that take many
//! (`serve`, `inspect`, `export`, `add`, `import`),
//! and their checks: an admin token long enough to resist guessing, public
//! hosts compared lowercase, a base URL links can be joined to. `main`
//! embeds these in its command line; the library owns what they mean.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::{Error, DEFAULT_BIND};
use crate::state::{ServeOptions, DEFAULT_MAX_CONNECTIONS, MIN_TOKEN_LEN};
use crate::urls::with_trailing_slash;
use crate::websub::HubOptions;

/// The subcommands, as `main` parses them.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Poll sources on their schedules and serve topic feeds over HTTP.
    Serve(ServeArgs),
    /// Write every topic in every format, the index and the OPML to DIR,
    /// at the paths the server uses, for a static host or CDN.
    Export(ExportArgs),
    /// Fetch every source once, store what is new, and exit (non-zero if any
    /// source failed).
    Poll {
        /// Poll once and exit (the only mode; the scheduler runs in `serve`).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Load and validate the definitions, print what they define and any
    /// warnings (topics that can never match, unused tags), and exit.
    Check,
    /// Show a stored entry: its fields, sources, tags and the rules behind
    /// them, the topics it is in and why it is not in the others.
    Explain {
        /// An entry id (urn:uuid:…), a link, or an arXiv id.
        reference: String,
    },
    /// Show what a topic would hold under (possibly edited) definitions,
    /// against the current store, and what would enter and leave it.
    Preview {
        #[arg(long)]
        topic: String,
    },
    /// Fetch a source once (or read a file) and print what extraction finds;
    /// nothing is stored.
    Inspect(InspectArgs),
    /// Find the feed behind a site's address, poll it once, and write it
    /// (with a topic) as a new checked file in the definitions folder.
    Add(AddArgs),
    /// Write a commented starter definitions folder (one source, one tag,
    /// one topic) that polls and serves as it is.
    Init(InitArgs),
    /// Write another reader's subscriptions (OPML) as one new definitions file.
    Import(ImportArgs),
    /// Copy the store into a new folder without the space sled has not yet
    /// reclaimed (stop `serve` first, then swap the folders).
    Compact(CompactArgs),
    /// Print a private topic's URLs, making its token if it has none
    /// (stop `serve` first, or use its /admin/token view).
    Token(TokenArgs),
}

/// `serve`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FEEDLOOM_BIND", default_value = DEFAULT_BIND)]
    pub bind: SocketAddr,
    /// Public base URL for links in feeds (e.g. `https://example.org/feeds/`);
    /// default: `http://BIND/`.
    #[arg(long, env = "FEEDLOOM_BASE_URL")]
    pub base_url: Option<Url>,
    /// Trust a reverse proxy's Forwarded / X-Forwarded-Proto / -Host /
    /// -Prefix headers for public links (only behind a proxy that sets
    /// them).
    #[arg(long, env = "FEEDLOOM_TRUST_PROXY", value_parser = clap::builder::BoolishValueParser::new(), default_value = "false", num_args = 0..=1, default_missing_value = "true")]
    pub trust_proxy: bool,
    /// Connections served at once.
    #[arg(long, env = "FEEDLOOM_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Enables /admin/explain for requests with `Authorization: Bearer
    /// TOKEN` (at least 16 characters). Prefer the environment variable:
    /// command lines are visible to every user.
    #[arg(long, env = "FEEDLOOM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// With --trust-proxy: a public host (`example.org` or
    /// `example.org:8443`) the proxy may name; repeat or separate with
    /// commas. The --base-url host is always allowed; any other
    /// forwarded host falls back to the base URL.
    #[arg(
        long = "public-host",
        env = "FEEDLOOM_PUBLIC_HOSTS",
        value_delimiter = ','
    )]
    pub public_hosts: Vec<String>,
    /// Bytes the cache may spend on documents clients choose (`?limit=`
    /// variants, other public bases), e.g. 32MiB; least recently used
    /// out first.
    #[arg(long, env = "FEEDLOOM_CACHE_BYTES", default_value = "32MiB", value_parser = crate::units::parse_size)]
    pub cache_bytes: usize,
    /// Close a connection that has had no request for this long
    /// (keep-alive and HTTP/2 alike), e.g. 60s.
    #[arg(long, env = "FEEDLOOM_IDLE_TIMEOUT", default_value = "60s", value_parser = crate::units::parse_duration)]
    pub idle_timeout: Duration,
    /// The built-in WebSub hub at `{base}websub`: `on` or `off`.
    #[arg(long, env = "FEEDLOOM_WEBSUB", default_value = "on", value_parser = ["on", "off"])]
    pub websub: String,
    /// Another WebSub hub (e.g. a hosted one) to name in feeds and to
    /// notify (`hub.mode=publish`) when a feed changes, instead of the
    /// built-in one.
    #[arg(long, env = "FEEDLOOM_WEBSUB_HUB")]
    pub websub_hub: Option<String>,
    /// Let WebSub callbacks be loopback, private, link-local or
    /// unique-local addresses (an intranet); refused by default.
    #[arg(long, env = "FEEDLOOM_WEBSUB_ALLOW_PRIVATE", value_parser = clap::builder::BoolishValueParser::new(), default_value = "false", num_args = 0..=1, default_missing_value = "true")]
    pub websub_allow_private: bool,
    /// The shortest WebSub lease granted, e.g. 1h (shorter requests get
    /// this).
    #[arg(long, env = "FEEDLOOM_WEBSUB_LEASE_MIN", default_value = "1h", value_parser = crate::units::parse_duration)]
    pub websub_lease_min: Duration,
    /// The longest WebSub lease granted, e.g. 30d; a subscriber asking for
    /// none gets 10 days, within these bounds.
    #[arg(long, env = "FEEDLOOM_WEBSUB_LEASE_MAX", default_value = "30d", value_parser = crate::units::parse_duration)]
    pub websub_lease_max: Duration,
}

impl ServeArgs {
    /// The options `serve` runs with, or why the flags cannot work.
    pub fn options(self) -> Result<ServeOptions, Error> {
        let websub = self.hub_options()?;
        // Empty (e.g. `FEEDLOOM_ADMIN_TOKEN=` in a unit file) means off.
        let admin_token = self
            .admin_token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if let Some(t) = &admin_token {
            let len = t.chars().count();
            if len < MIN_TOKEN_LEN {
                return Err(Error::Usage(format!(
                    "--admin-token / FEEDLOOM_ADMIN_TOKEN: too short ({len} characters; at least {MIN_TOKEN_LEN})"
                )));
            }
        }
        Ok(ServeOptions {
            base_url: self.base_url.map(with_trailing_slash),
            trust_proxy: self.trust_proxy,
            max_connections: self.max_connections,
            admin_token,
            public_hosts: self
                .public_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            cache_bytes: self.cache_bytes,
            // The connection watchdog works in whole seconds.
            idle_timeout: self.idle_timeout.max(Duration::from_secs(1)),
            websub,
            // Empty (e.g. `FEEDLOOM_WEBSUB_HUB=` in a unit file) means none.
            websub_hub: match self
                .websub_hub
                .filter(|h| !h.trim().is_empty() && self.websub != "off")
            {
                None => None,
                Some(raw) => Some(crate::urls::parse_http_url(&raw).map_err(|e| {
                    Error::Usage(format!("--websub-hub / FEEDLOOM_WEBSUB_HUB: {raw}: {e}"))
                })?),
            },
            ..ServeOptions::new(self.bind)
        })
    }
}

impl ServeArgs {
    /// The hub's settings, or `None` with `--websub off`.
    fn hub_options(&self) -> Result<Option<HubOptions>, Error> {
        let other_hub = self
            .websub_hub
            .as_deref()
            .is_some_and(|h| !h.trim().is_empty());
        if self.websub == "off" || other_hub {
            return Ok(None);
        }
        let (min, max) = (self.websub_lease_min, self.websub_lease_max);
        if min.is_zero() || min > max {
            return Err(Error::Usage(format!(
                "--websub-lease-min ({}s) must be above zero and at most --websub-lease-max ({}s)",
                min.as_secs(),
                max.as_secs()
            )));
        }
        let defaults = HubOptions::default();
        Ok(Some(HubOptions {
            allow_private: self.websub_allow_private,
            lease_default: defaults.lease_default.clamp(min, max),
            lease_min: min,
            lease_max: max,
        }))
    }
}

/// `inspect`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// A source id from the definitions, a URL, or a file path.
    pub target: String,
    /// For a URL or file: `feed` (default), `html` or `json`.
    #[arg(long)]
    pub kind: Option<String>,
    /// For `--kind html` or `json`: `field=selector`, repeated, the keys of
    /// `[source.select]` (html: item, title, link, summary, date, author,
    /// category...; json: items, title, link, id, date, authors...).
    #[arg(long)]
    pub select: Vec<String>,
    /// Find the page's repeated item blocks and propose `[source.select]`
    /// tables for an `html` source, ranked, each with the entries it gives.
    #[arg(long, conflicts_with_all = ["kind", "select"])]
    pub suggest: bool,
}

/// `add`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct AddArgs {
    /// A site's address, or its feed's.
    pub url: String,
    /// Of the feeds the page advertises, take the Nth (1 is the first).
    #[arg(long)]
    pub pick: Option<usize>,
    /// The source's id (default: from the feed's title, else its host).
    #[arg(long)]
    pub id: Option<String>,
    /// The source's title (default: the feed's own).
    #[arg(long)]
    pub title: Option<String>,
    /// The id of the topic that publishes it (default: the source's id).
    #[arg(long, conflicts_with = "no_topic")]
    pub topic: Option<String>,
    /// Write the source only, no topic (tag rules may take its entries).
    #[arg(long)]
    pub no_topic: bool,
    /// Print the definitions instead of writing them.
    #[arg(long)]
    pub print: bool,
    /// The site is in this machine's network (`internal = true`): let it
    /// and its links reach internal addresses.
    #[arg(long)]
    pub internal: bool,
}

/// `init`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// The folder to create (default: the definitions folder, `--feeds`).
    pub dir: Option<PathBuf>,
}

/// `compact`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CompactArgs {
    /// The folder to write the compacted store to; it must not exist.
    /// Without it, the store is compacted in place (the copy is written
    /// inside the data folder and takes over; a crash loses nothing).
    pub dest: Option<PathBuf>,
}

/// `token`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// A topic with `private = true`.
    pub topic: String,
    /// Replace the token: the old URLs then answer 404.
    #[arg(long)]
    pub rotate: bool,
    /// Public base URL the server is reached at.
    #[arg(
        long,
        env = "FEEDLOOM_BASE_URL",
        default_value = "http://127.0.0.1:8080/"
    )]
    pub base_url: Url,
}

/// `export`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Output folder (created if missing).
    pub dir: PathBuf,
    /// Public base URL the files will be served from.
    #[arg(
        long,
        env = "FEEDLOOM_BASE_URL",
        default_value = "http://127.0.0.1:8080/"
    )]
    pub base_url: Url,
}

/// `import`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The OPML file: another reader's subscriptions export.
    pub file: PathBuf,
    /// Also write a topic per category (and one for the feeds in none).
    #[arg(long)]
    pub topics: bool,
    /// Print the definitions (checked) instead of writing them.
    #[arg(long)]
    pub print: bool,
    /// The new file's name in the definitions folder, NAME.toml (default:
    /// from the OPML's title, else `imported`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Also import feeds at addresses inside this network (loopback,
    /// private, link-local, `localhost`): skipped otherwise, since an
    /// OPML file may be a stranger's.
    #[arg(long)]
    pub internal: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn options(argv: &[&str]) -> Result<ServeOptions, Error> {
        let mut all = vec!["serve"];
        all.extend_from_slice(argv);
        Serve::try_parse_from(all)
            .expect("flags parse")
            .args
            .options()
    }

    #[test]
    fn flags_become_checked_options() {
        let o = options(&[
            "--base-url",
            "https://example.org/feeds",
            "--public-host",
            " Example.ORG:8443 ,",
            "--idle-timeout",
            "0",
            "--admin-token",
            "  0123456789abcdef  ",
        ])
        .expect("valid");
        assert_eq!(o.base_url.unwrap().as_str(), "https://example.org/feeds/");
        assert_eq!(o.public_hosts, vec!["example.org:8443".to_string()]);
        assert_eq!(o.idle_timeout, Duration::from_secs(1));
        assert_eq!(o.admin_token.as_deref(), Some("0123456789abcdef"));
        // An empty token is no token; a short one is refused, not weakened.
        assert_eq!(options(&["--admin-token", " "]).unwrap().admin_token, None);
        let short = options(&["--admin-token", "short"])
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("too short (5 characters; at least 16)"),
            "{short}"
        );
    }
}
