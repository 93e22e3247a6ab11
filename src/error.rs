//! The library's top-level error, which the commands and `serve` return:
//! each stage's own error, wrapped as it is. It sits above the stages it
//! names and below everything that runs them.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::fetch::FetchError;
use crate::store::StoreError;

/// The library's top-level error: which part failed, with its own message
/// (each message carries its cause, as the logs need it whole).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A locked store says so itself ([`StoreError::Locked`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A file or folder a command reads or writes.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A flag or argument that does not mean anything; the message says
    /// which and how to write it.
    #[error("{0}")]
    Usage(String),
    /// What a command was asked to show does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Extraction failed on what `inspect` fetched.
    #[error("extract: {0}")]
    Extract(#[from] crate::extract::ExtractError),
}
