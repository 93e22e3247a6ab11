//! What an upstream document said other than as written, and how it was
//! read: the record a recovered source carries to `inspect`, `/status`, the
//! index and `/metrics`, so an operator can tell the upstream what to fix.
//!
//! Lenient in, strict out: a feed with a bare `&` or a date in the wrong
//! form is read (see [`crate::extract::feed`]), but never silently. Each
//! repair names where it was made (line and column of the document as
//! decoded, columns counted in characters) and what was read instead.

use std::fmt;

/// Repairs kept with their text; past it they are only counted (a feed
/// with 100,000 bare `&` is one problem, not 100,000 lines of report).
pub const KEPT: usize = 100;

/// A place in a document: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, col {}", self.line, self.column)
    }
}

/// One thing read other than as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Where, when the repair is about one place of the document (an
    /// entry's date is named by the entry instead).
    pub at: Option<Location>,
    pub what: String,
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(f, "{at}: {}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

/// The repairs of one document: all counted, the first [`KEPT`] kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs {
    pub count: usize,
    pub first: Vec<Repair>,
    /// The document ended before it was complete: what it held whole was
    /// read, but a later fetch must read it whole again (no validators
    /// kept for a 304).
    pub cut_short: bool,
}

impl Repairs {
    /// Records a repair made at `at`.
    pub fn push(&mut self, at: Option<Location>, what: impl Into<String>) {
        self.count += 1;
        if self.first.len() < KEPT {
            self.first.push(Repair {
                at,
                what: what.into(),
            });
        }
    }

    /// Records a repair made `n` times, said once.
    pub fn push_times(&mut self, at: Option<Location>, what: impl Into<String>, n: usize) {
        self.count += n.max(1) - 1;
        self.push(at, what);
    }

    /// Records a repair whose place and text are only worked out when it
    /// is kept (past [`KEPT`], a repair costs a count).
    pub fn push_lazy(
        &mut self,
        at: impl FnOnce() -> Option<Location>,
        what: impl FnOnce() -> String,
    ) {
        self.count += 1;
        if self.first.len() < KEPT {
            self.first.push(Repair {
                at: at(),
                what: what(),
            });
        }
    }

    /// Whether a repair pushed now would be kept.
    pub fn keeps_more(&self) -> bool {
        self.first.len() < KEPT
    }

    /// Records a repair whose text is only built when it is kept.
    pub fn push_with(&mut self, at: Option<Location>, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < KEPT {
            self.first.push(Repair { at, what: what() });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends `other`'s repairs after these.
    pub fn extend(&mut self, other: Repairs) {
        self.count += other.count;
        self.cut_short |= other.cut_short;
        let room = KEPT.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }

    /// The gist for `/status` and the index: the count and the first few.
    pub fn summary(&self, shown: usize) -> String {
        let first: Vec<String> = self
            .first
            .iter()
            .take(shown)
            .map(|r| r.to_string())
            .collect();
        let more = self.count.saturating_sub(first.len());
        let mut out = first.join("; ");
        if more > 0 {
            out.push_str(&format!(" (and {more} more)"));
        }
        out
    }
}

/// Line and column of byte offsets in one document, for repairs.
///
/// Built only on the repair path (the well-formed path never counts
/// lines): one pass over the newlines, then a binary search per lookup.
pub struct Lines<'a> {
    doc: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(doc: &'a [u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', doc).map(|i| i + 1));
        Lines { doc, starts }
    }

    /// Where byte `offset` is (clamped to the document).
    pub fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.doc.len());
        let line = self.starts.partition_point(|s| *s <= offset) - 1;
        let start = self.starts[line];
        // Characters, not bytes: a column an editor shows. UTF-8 lead
        // bytes are counted (the document is UTF-8 by now).
        let column = self.doc[start..offset]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count();
        Location {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let doc = "ab\ncafé & x\n\nz".as_bytes();
        let lines = Lines::new(doc);
        assert_eq!(lines.locate(0), Location { line: 1, column: 1 });
        let amp = doc.iter().position(|b| *b == b'&').unwrap();
        assert_eq!(lines.locate(amp), Location { line: 2, column: 6 });
        assert_eq!(lines.locate(doc.len()), Location { line: 4, column: 2 });
        assert_eq!(lines.locate(usize::MAX).line, 4);
    }

    #[test]
    fn counted_past_what_is_kept() {
        let mut r = Repairs::default();
        for i in 0..KEPT + 5 {
            r.push(None, format!("r{i}"));
        }
        assert_eq!((r.count, r.first.len()), (KEPT + 5, KEPT));
        assert_eq!(
            Repairs {
                count: 3,
                first: vec![
                    Repair {
                        at: Some(Location {
                            line: 3,
                            column: 18
                        }),
                        what: "a".into()
                    },
                    Repair {
                        at: None,
                        what: "b".into()
                    }
                ],
                cut_short: false
            }
            .summary(1),
            "line 3, col 18: a (and 2 more)"
        );
    }
}
