//! The `feedloom` binary: parses arguments, sets up logging, makes one
//! library call per command, prints its report and picks the exit code.
//! Everything else lives in the library ([`feedloom::commands`]).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use feedloom::commands::args::{
    AddArgs, CompactArgs, ExportArgs, InitArgs, InspectArgs, ServeArgs, TokenArgs,
};
use feedloom::commands::{self, Error, Settings};

#[derive(Parser)]
#[command(
    name = "feedloom",
    version,
    about = "Per-topic RSS and Atom feeds from pages and feeds"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    Import(commands::args::ImportArgs),
    /// Copy the store into a new folder without the space sled has not yet
    /// reclaimed (stop `serve` first, then swap the folders).
    Compact(CompactArgs),
    /// Print a private topic's URLs, making its token if it has none
    /// (stop `serve` first, or use its /admin/token view).
    Token(TokenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::init_logging();
    run(cli).unwrap_or_else(|e| {
        eprintln!("feedloom: error: {e}");
        ExitCode::FAILURE
    })
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    let settings = cli.settings;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let text = match cli.command {
        Command::Check => commands::check::check(&settings.feeds)?,
        Command::Poll { .. } => {
            let polled = runtime.block_on(commands::poll::poll_once(&settings))?;
            return Ok(ExitCode::from(u8::from(polled.failed() > 0)));
        }
        Command::Serve(args) => {
            runtime.block_on(feedloom::service::serve(&settings, args.options()?))?;
            String::new()
        }
        Command::Explain { reference } => commands::explain::explain(&settings, &reference)?,
        Command::Preview { topic } => {
            commands::explain::preview(&settings, &topic, &settings.feeds)?.text
        }
        Command::Inspect(args) => {
            runtime.block_on(commands::inspect::inspect(&settings.feeds, &args))?
        }
        Command::Add(args) => runtime.block_on(commands::add::add(&settings, &args))?,
        Command::Init(args) => commands::init::init(&settings, &args)?,
        Command::Import(args) => commands::import::import(&settings.feeds, &args)?,
        Command::Export(args) => commands::export::run(&settings, &args)?,
        Command::Compact(args) => commands::compact::compact(&settings, &args)?,
        Command::Token(args) => {
            commands::token::token(&settings, &args.topic, args.rotate, &args.base_url)?
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
