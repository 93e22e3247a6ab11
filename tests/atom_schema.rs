//! Every served Atom feed validates against RFC 4287's RELAX NG schema with
//! `jing` (Debian package `jing`; `.ci/run` installs it). Readers are
//! stricter than parsers: a feed-rs parse alone is not enough.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn jing(schema: &Path, doc: &Path) -> (bool, String) {
    let out = Command::new("jing")
        .arg("-c")
        .arg(schema)
        .arg(doc)
        .output()
        .expect("`jing` must be installed (apt-get install jing); .ci/run installs it");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn served_atom_is_valid_rfc_4287() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/atom.rnc");
    for topic in ["all", "llm", "speech", "agents-not-llm"] {
        let body = server.get(&format!("/{topic}.atom?limit=100")).body;
        let file = ws.dir.path().join(format!("{topic}.atom"));
        std::fs::write(&file, &body).unwrap();
        let (ok, report) = jing(&schema, &file);
        assert!(ok, "/{topic}.atom is not valid Atom:\n{report}");
    }
}

/// The check can fail: an Atom document missing required elements is
/// rejected, so a pass above means something.
#[test]
fn jing_rejects_invalid_atom() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.atom");
    std::fs::write(
        &file,
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>x</title></entry></feed>"#,
    )
    .unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/atom.rnc");
    let (ok, _) = jing(&schema, &file);
    assert!(!ok);
}
