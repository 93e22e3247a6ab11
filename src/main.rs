//! The `feedloom` binary: parses arguments, sets up logging, calls the
//! library, prints the outcome and returns an exit code. All logic lives in
//! the library.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use feedloom::app::{self, Settings, DEFAULT_BIND, DEFAULT_DATA_DIR, DEFAULT_FEEDS_DIR};
use feedloom::service::{self, ServeOptions};
use url::Url;

#[derive(Parser)]
#[command(
    name = "feedloom",
    version,
    about = "Per-topic RSS and Atom feeds from pages and feeds"
)]
struct Cli {
    /// Data folder (the sled store).
    #[arg(long, global = true, env = "FEEDLOOM_DATA", default_value = DEFAULT_DATA_DIR)]
    data: PathBuf,
    /// Definitions folder: sources, tags and topics as *.toml.
    #[arg(long, global = true, env = "FEEDLOOM_FEEDS", default_value = DEFAULT_FEEDS_DIR)]
    feeds: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Poll sources on their schedules and serve topic feeds over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "FEEDLOOM_BIND", default_value = DEFAULT_BIND)]
        bind: SocketAddr,
        /// Public base URL for links in feeds (e.g. https://example.org/feeds/);
        /// default: http://BIND/.
        #[arg(long, env = "FEEDLOOM_BASE_URL")]
        base_url: Option<Url>,
        /// Trust a reverse proxy's Forwarded / X-Forwarded-Proto / -Host /
        /// -Prefix headers for public links (only behind a proxy that sets
        /// them).
        #[arg(long, env = "FEEDLOOM_TRUST_PROXY", value_parser = clap::builder::BoolishValueParser::new(), default_value = "false", num_args = 0..=1, default_missing_value = "true")]
        trust_proxy: bool,
        /// Connections served at once.
        #[arg(long, env = "FEEDLOOM_MAX_CONNECTIONS", default_value_t = feedloom::server::DEFAULT_MAX_CONNECTIONS)]
        max_connections: usize,
        /// Enables /admin/explain for requests with `Authorization: Bearer
        /// TOKEN` (at least 16 characters). Prefer the environment variable:
        /// command lines are visible to every user.
        #[arg(long, env = "FEEDLOOM_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// With --trust-proxy: a public host (`example.org` or
        /// `example.org:8443`) the proxy may name; repeat or separate with
        /// commas. The --base-url host is always allowed; any other
        /// forwarded host falls back to the base URL.
        #[arg(
            long = "public-host",
            env = "FEEDLOOM_PUBLIC_HOSTS",
            value_delimiter = ','
        )]
        public_hosts: Vec<String>,
        /// Bytes the cache may spend on documents clients choose (`?limit=`
        /// variants, other public bases), e.g. 32MiB; least recently used
        /// out first.
        #[arg(long, env = "FEEDLOOM_CACHE_BYTES", default_value = "32MiB", value_parser = feedloom::units::parse_size)]
        cache_bytes: usize,
        /// Close a connection that has had no request for this long
        /// (keep-alive and HTTP/2 alike), e.g. 60s.
        #[arg(long, env = "FEEDLOOM_IDLE_TIMEOUT", default_value = "60s", value_parser = feedloom::units::parse_duration)]
        idle_timeout: std::time::Duration,
    },
    /// Write every topic in every format, the index and the OPML to DIR,
    /// at the paths the server uses, for a static host or CDN.
    Export {
        /// Output folder (created if missing).
        dir: PathBuf,
        /// Public base URL the files will be served from.
        #[arg(
            long,
            env = "FEEDLOOM_BASE_URL",
            default_value = "http://127.0.0.1:8080/"
        )]
        base_url: Url,
    },
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
    Inspect {
        /// A source id from the definitions, a URL, or a file path.
        target: String,
        /// For a URL or file: `feed` (default) or `html`.
        #[arg(long)]
        kind: Option<String>,
        /// For `--kind html`: `field=selector`, repeated (item, title, link,
        /// summary, date, date_format, author, category).
        #[arg(long)]
        select: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FEEDLOOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let settings = Settings {
        data: cli.data,
        feeds: cli.feeds,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match cli.command {
        Command::Check => match app::check(&settings.feeds) {
            Ok(defs) => {
                print!("{}", app::describe(&defs));
                for w in defs.rules.warnings() {
                    println!("warning: {w}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Command::Poll { .. } => {
            // A progress bar for a person at a terminal; plain lines for
            // logs and pipes.
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let progress = |r: &feedloom::poll::SourceReport, done: usize, total: usize| {
                if tty {
                    let width = 30;
                    let filled = width * done / total.max(1);
                    eprint!(
                        "\r\x1b[K[{}{}] {done}/{total} {}",
                        "=".repeat(filled),
                        " ".repeat(width - filled),
                        r.source
                    );
                } else {
                    println!("{}", r.line());
                }
            };
            match runtime.block_on(app::poll_once(&settings, progress)) {
                Ok(reports) => {
                    if tty {
                        eprintln!();
                        for r in reports.iter().filter(|r| r.failed()) {
                            println!("{}", r.line());
                        }
                    }
                    println!();
                    print!("{}", feedloom::poll::table(&reports, chrono::Utc::now()));
                    let failed = reports.iter().filter(|r| r.failed()).count();
                    if failed > 0 {
                        eprintln!("feedloom: {failed} of {} sources failed", reports.len());
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Serve {
            bind,
            base_url,
            trust_proxy,
            max_connections,
            admin_token,
            public_hosts,
            cache_bytes,
            idle_timeout,
        } => {
            // Empty (e.g. `FEEDLOOM_ADMIN_TOKEN=` in a unit file) means off.
            let admin_token = admin_token
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            if let Some(t) = &admin_token {
                if t.chars().count() < feedloom::server::admin::MIN_TOKEN_LEN {
                    return fail(&format!(
                        "--admin-token / FEEDLOOM_ADMIN_TOKEN: too short ({} characters; at least {})",
                        t.chars().count(),
                        feedloom::server::admin::MIN_TOKEN_LEN
                    ));
                }
            }
            let options = ServeOptions {
                base_url: base_url.map(with_trailing_slash),
                trust_proxy,
                max_connections,
                admin_token,
                public_hosts: public_hosts
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
                cache_bytes,
                idle_timeout: idle_timeout.max(std::time::Duration::from_secs(1)),
                ..ServeOptions::new(bind)
            };
            let result = runtime.block_on(service::serve(&settings, options, |addr, base| {
                println!("feedloom listening on http://{addr}/ (public base {base})");
            }));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Explain { reference } => match feedloom::explain::explain(&settings, &reference) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Command::Preview { topic } => {
            match feedloom::explain::preview(&settings, &topic, &settings.feeds) {
                Ok(p) => {
                    print!("{}", p.text);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Inspect {
            target,
            kind,
            select,
        } => {
            let t = feedloom::inspect::Target {
                what: &target,
                kind: kind.as_deref(),
                select: &select,
            };
            match runtime.block_on(feedloom::inspect::inspect(&settings.feeds, &t)) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Export { dir, base_url } => {
            match app::export(&settings, &dir, &with_trailing_slash(base_url)) {
                Ok(files) => {
                    println!("wrote {} files to {}", files.len(), dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
    }
}

/// Relative joins need the base to end in `/`: `https://x/feeds` would
/// otherwise lose `feeds`.
fn with_trailing_slash(mut u: Url) -> Url {
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

fn fail(message: &str) -> ExitCode {
    eprintln!("feedloom: error: {message}");
    ExitCode::FAILURE
}
