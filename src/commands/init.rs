//! `init [DIR]`: a commented starter definitions folder, the first step of
//! the README's quick start. It defines one feed source, one tag and one
//! topic, so it polls and serves as it is; `add` and `import` grow it.

use std::path::PathBuf;

use super::args::InitArgs;
use super::definitions;
use super::{Error, Settings};
use crate::text::counted;

/// The file `init` writes.
pub const STARTER_FILE: &str = "feeds.toml";

/// The starter definitions (checked by a test, and again before writing).
pub const STARTER: &str = r#"# feedloom's definitions: every *.toml file in this folder is read, and
# ids are unique across files. Written by `feedloom init`; change anything,
# then run `feedloom check`, which names the file and line of a mistake.
#
# Grow it from the command line:
#   feedloom add https://some.blog/             a site's feed, with a topic
#   feedloom import subscriptions.opml          another reader's subscriptions
# The README's "Definitions" section documents every key.

# A source: where entries come from. `kind = "feed"` reads RSS, Atom and
# JSON Feed (`html` reads a page with CSS selectors, `json` an API,
# `huggingface_papers` Hugging Face Daily Papers). `interval` is how often
# it is polled; hosts are never asked more than once a second.
[[source]]
id = "arxiv-cs-cl"
kind = "feed"
title = "arXiv cs.CL (Computation and Language)"
url = "https://rss.arxiv.org/rss/cs.CL"
interval = "1h"

# A tag: a label rules put on entries. `words` match whole words or
# phrases in any case, in the title and summary unless `fields` says
# otherwise; `any` needs one condition, `all` every one, `none` none.
[[tag]]
id = "llm"
title = "Large language models"
any = [
  { words = ["LLM", "LLMs", "large language model", "large language models", "language model", "language models"] },
]

# A topic: one published feed, at /llm.rss, /llm.atom, /llm.json and
# /llm.html. It takes the entries with any of `tags.any` (a topic may
# also name `sources`, or leave both out to take every entry).
[[topic]]
id = "llm"
title = "Large language models"
description = "arXiv papers about large language models."
tags = { any = ["llm"] }
"#;

/// Writes the starter folder; refuses one that holds definitions already.
pub fn init(settings: &Settings, args: &InitArgs) -> Result<String, Error> {
    let dir: PathBuf = args.dir.clone().unwrap_or_else(|| settings.feeds.clone());
    let holds_definitions = std::fs::read_dir(&dir).is_ok_and(|listing| {
        listing
            .filter_map(|e| e.ok())
            .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
    });
    if holds_definitions {
        return Err(Error::Usage(format!(
            "{} holds definitions already; nothing was written (grow it with `feedloom add URL` or `feedloom import FILE`)",
            dir.display()
        )));
    }
    let (path, defs) = definitions::write_new(&dir, STARTER_FILE, STARTER)?;
    let feeds_flag = if dir == settings.feeds {
        String::new()
    } else {
        format!(" --feeds {}", shell_word(&dir.display().to_string()))
    };
    Ok(format!(
        "wrote {}: {}, {}, {}\n\
         next:\n  feedloom{feeds_flag} add https://some.blog/\n  feedloom{feeds_flag} import subscriptions.opml\n  feedloom{feeds_flag} check\n  feedloom{feeds_flag} serve\n",
        path.display(),
        counted(defs.sources.len(), "source", "sources"),
        counted(defs.rules.tags.len(), "tag", "tags"),
        counted(defs.rules.topics.len(), "topic", "topics")
    ))
}

/// `word` as one shell word, to paste: quoted when it needs to be.
fn shell_word(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c));
    if plain && !word.is_empty() {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_printed_as_one_shell_word() {
        assert_eq!(shell_word("./my-feeds"), "./my-feeds");
        assert_eq!(shell_word("my dir"), "'my dir'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_starter_loads_with_one_of_each() {
        let dir = tempfile::tempdir().unwrap();
        let (_, defs) = definitions::write_new(dir.path(), STARTER_FILE, STARTER).unwrap();
        assert_eq!(defs.sources.len(), 1);
        assert_eq!(defs.rules.tags.len(), 1);
        assert_eq!(defs.rules.topics.len(), 1);
        assert!(
            defs.rules.warnings().is_empty(),
            "{:?}",
            defs.rules.warnings()
        );
    }
}
