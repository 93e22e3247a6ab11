//! The `feedloom` binary: parses arguments, sets up logging, makes one
//! library call per command, prints its report and picks the exit code.
//! Everything else lives in the library ([`feedloom::commands`]).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use feedloom::commands::args::Command;
use feedloom::commands::{self, Settings};
use feedloom::Error;

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
