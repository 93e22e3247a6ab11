//! The test harness of feedloom's integration tests (`tests/*.rs`), by
//! concern: [`upstream`] (a real local HTTP server serving canned replies),
//! [`client`] (a tiny HTTP/1.1 client), [`harness`] (the real `feedloom`
//! binary in a temp workspace), [`fixtures`] (the fixture files and the
//! definitions that serve them), [`subscriber`] (a WebSub subscriber's
//! callback) and [`checks`] (independent validators: feed-rs, jing).
//! Everything runs on 127.0.0.1; nothing touches the internet.
//!
//! A crate of its own rather than a `mod common;` in every test: each test
//! uses part of it, and only a library's public items are not dead code.
//! The tests name it `common` (`use feedloom_testkit as common;`).

pub mod checks;
pub mod client;
pub mod fixtures;
pub mod harness;
pub mod subscriber;
pub mod upstream;

pub use checks::{entry_text, entry_titled, jing_atom, link_rel, parse_feed};
pub use client::{connect_from, get, http, http_from, http_with_body, HttpResponse};
pub use fixtures::*;
pub use harness::{binary, eventually, peak_rss_kib, Server, Workspace};
pub use subscriber::{Answer, Call, Subscriber};
pub use upstream::{Busy, Misbehave, Reply, Upstream};
