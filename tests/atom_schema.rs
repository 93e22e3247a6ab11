//! Every served Atom feed validates against RFC 4287's RELAX NG schema with
//! `jing` (Debian package `jing`; `.ci/run` installs it). Readers are
//! stricter than parsers: a feed-rs parse alone is not enough.

use feedloom_testkit as common;

use common::*;

#[test]
fn served_atom_is_valid_rfc_4287() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    for topic in ["all", "llm", "speech", "agents-not-llm"] {
        let body = server.get(&format!("/{topic}.atom?limit=100")).body;
        if let Err(report) = jing_atom(ws.dir.path(), &format!("{topic}.atom"), &body) {
            panic!("/{topic}.atom is not valid Atom:\n{report}");
        }
    }
}

/// The check can fail: an Atom document missing required elements is
/// rejected, so a pass above means something.
#[test]
fn jing_rejects_invalid_atom() {
    let dir = tempfile::tempdir().unwrap();
    let bad = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>x</title></entry></feed>"#;
    assert!(jing_atom(dir.path(), "bad.atom", bad).is_err());
}
