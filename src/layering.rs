//! The house's one-way arrows, checked: every `crate::…` path in a
//! top-level module's source is an arrow to another top-level module;
//! there must be no cycle, and no arrow from a lower layer to a higher
//! one ([`LAYERS`]). Two loops crept in unnoticed once (`config` ↔
//! `fulltext`, `rules` → `query` → `config` → `rules`); this test is what
//! keeps the README's stage map true.
//!
//! It reads the files as text (no parser dependency): comment lines and a
//! file's `#[cfg(test)] mod tests` are left out, since tests may reach
//! anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer may use its own and the layers before it. A new top-level
/// module must be placed in one.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves: data and helpers every stage uses",
        &[
            "model", "defs", "text", "units", "urls", "dates", "repairs", "tally", "secret",
            "depth", "identity", "sanitize", "decode",
        ],
    ),
    (
        "stages: fetch → extract → normalize → store → rules → render, and what feeds them",
        &[
            "fetch",
            "extract",
            "normalize",
            "store",
            "rules",
            "digest",
            "query",
            "config",
            "render",
            "fulltext",
            "poll",
            "reevaluate",
            "websub",
            "metrics",
        ],
    ),
    (
        "running: the commands, the server and the service that wire the stages",
        &["error", "commands", "state", "server", "service"],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules `lib.rs` declares.
fn modules() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("read lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').trim().to_string())
        .collect()
}

/// The `.rs` files of module `m`: `src/m.rs` and everything under `src/m/`.
fn files_of(m: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src().join(format!("{m}.rs"));
    if file.is_file() {
        out.push(file);
    }
    let mut dirs = vec![src().join(m)];
    while let Some(dir) = dirs.pop() {
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in listing.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// The top-level modules a source text names through `crate::`, with the
/// line of the first mention of each.
fn uses(text: &str, known: &BTreeSet<&str>) -> BTreeMap<String, usize> {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = BTreeMap::new();
    for (n, line) in code.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                // `crate::{a, b::c}`: the group's top-level names (on
                // this line; a group spanning lines is rustfmt's and
                // names each module on its own line, read below).
                Some(group) => group
                    .split(['}', ';'])
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| s.trim())
                    .collect(),
                None => vec![rest],
            };
            for name in names {
                let head: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if known.contains(head.as_str()) {
                    out.entry(head).or_insert(n + 1);
                }
            }
        }
        // A line of a multi-line `use crate::{` group.
        let t = line.trim();
        if t.ends_with(',') || t.ends_with("::{") {
            let head: String = t
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if known.contains(head.as_str()) && in_crate_group(code, n) {
                out.entry(head).or_insert(n + 1);
            }
        }
    }
    out
}

/// Whether line `n` of `code` is inside a `use crate::{ … }` group.
fn in_crate_group(code: &str, n: usize) -> bool {
    let lines: Vec<&str> = code.lines().collect();
    for l in lines[..n].iter().rev() {
        let t = l.trim();
        if t.starts_with("use crate::{") || t.starts_with("pub use crate::{") {
            return !t.contains('}');
        }
        if t.ends_with(';') || t.starts_with("use ") || t.starts_with("pub use ") {
            return false;
        }
    }
    false
}

/// Every arrow: (from, to) → where it is first drawn.
fn arrows() -> BTreeMap<(String, String), String> {
    let mods = modules();
    let known: BTreeSet<&str> = mods.iter().map(String::as_str).collect();
    let mut out = BTreeMap::new();
    for m in &mods {
        for file in files_of(m) {
            let text = std::fs::read_to_string(&file).expect("read source");
            for (to, line) in uses(&text, &known) {
                if &to != m {
                    let at = format!(
                        "{}:{line}",
                        file.strip_prefix(src()).unwrap_or(&file).display()
                    );
                    out.entry((m.clone(), to)).or_insert(at);
                }
            }
        }
    }
    out
}

/// A cycle through `start`, if there is one: the modules in order.
fn cycle_from(start: &str, next: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    let mut path = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    fn walk(
        at: &str,
        start: &str,
        next: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for to in next.get(at).into_iter().flatten() {
            if to == start {
                return true;
            }
            if seen.insert(to.clone()) {
                path.push(to.clone());
                if walk(to, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(start, start, next, &mut path, &mut seen).then_some(path)
}

#[test]
fn arrows_between_top_level_modules_point_one_way() {
    let arrows = arrows();
    let layer_of = |m: &str| LAYERS.iter().position(|(_, ms)| ms.contains(&m));
    let mut wrong = Vec::new();
    for m in modules() {
        if layer_of(&m).is_none() {
            wrong.push(format!("`{m}` is in no layer: place it in src/layering.rs"));
        }
    }
    for ((from, to), at) in &arrows {
        if let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) {
            if b > a {
                wrong.push(format!(
                    "{from} → {to} ({at}): `{from}` ({}) may not use `{to}` ({})",
                    LAYERS[a].0, LAYERS[b].0
                ));
            }
        }
    }
    let mut next: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (from, to) in arrows.keys() {
        next.entry(from.clone()).or_default().push(to.clone());
    }
    let mut reported = BTreeSet::new();
    for m in modules() {
        if let Some(cycle) = cycle_from(&m, &next) {
            let key: BTreeSet<String> = cycle.iter().cloned().collect();
            if reported.insert(key) {
                let mut steps = Vec::new();
                for (i, from) in cycle.iter().enumerate() {
                    let to = &cycle[(i + 1) % cycle.len()];
                    steps.push(format!(
                        "{from} → {to} ({})",
                        arrows[&(from.clone(), to.clone())]
                    ));
                }
                wrong.push(format!("a cycle: {}", steps.join(", ")));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_every_form_of_path() {
    let known: BTreeSet<&str> = ["a", "b", "c", "d", "e"].into();
    let text = "use crate::a::X;\n// crate::e in a comment\nfn f() { crate::b::g(); }\nuse crate::{\n    c::Y,\n    d,\n};\n#[cfg(test)]\nmod tests {\n    use crate::e;\n}\n";
    let got: Vec<String> = uses(text, &known).into_keys().collect();
    assert_eq!(got, ["a", "b", "c", "d"]);
    let one_line = "use crate::{a::X, b, c::{Y, Z}};";
    let got: Vec<String> = uses(one_line, &known).into_keys().collect();
    assert_eq!(got, ["a", "b", "c"]);
    // A cycle is found and named in order.
    let next: BTreeMap<String, Vec<String>> = [
        ("a".to_string(), vec!["b".to_string()]),
        ("b".to_string(), vec!["c".to_string()]),
        ("c".to_string(), vec!["a".to_string()]),
    ]
    .into();
    assert_eq!(cycle_from("a", &next).unwrap(), ["a", "b", "c"]);
    assert_eq!(cycle_from("d", &next), None);
}
