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
///
/// Stored with a failing source (see [`crate::store::SourceError`]): the
/// index names the place of a feed that could not be read, never its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, col {}", self.line, self.column)
    }
}

impl Location {
    /// The place a message starts with, as [`Location`]'s `Display` writes
    /// it (`line 3, col 18: …`), and nothing else of the message: what
    /// follows may quote upstream bytes, and the place is all a public page
    /// may show of it.
    pub fn leading(message: &str) -> Option<Location> {
        let rest = message.strip_prefix("line ")?;
        let (line, rest) = rest.split_once(", col ")?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !matches!(rest.as_bytes().get(digits), None | Some(b':')) {
            return None;
        }
        Some(Location {
            line: line.parse().ok()?,
            column: rest[..digits].parse().ok()?,
        })
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
    /// Repairs the kept ones stand for (one kept may say "(4 times)").
    pub said: usize,
    /// The document ended before it was complete: what it held whole was
    /// read, but a later fetch must read it whole again (no validators
    /// kept for a 304).
    pub cut_short: bool,
}

impl Repairs {
    /// Records a repair made at `at`.
    pub fn push(&mut self, at: Option<Location>, what: impl Into<String>) {
        self.push_times(1, || at, || what.into());
    }

    /// Records a repair whose place and text are only worked out when it
    /// is kept (past [`KEPT`], a repair costs a count).
    pub fn push_lazy(
        &mut self,
        at: impl FnOnce() -> Option<Location>,
        what: impl FnOnce() -> String,
    ) {
        self.push_times(1, at, what);
    }

    /// Records a repair whose text is only built when it is kept.
    pub fn push_with(&mut self, at: Option<Location>, what: impl FnOnce() -> String) {
        self.push_times(1, || at, what);
    }

    /// Records a repair made `n` times, said once (its text says how
    /// many times).
    pub fn push_times(
        &mut self,
        n: usize,
        at: impl FnOnce() -> Option<Location>,
        what: impl FnOnce() -> String,
    ) {
        self.count += n;
        if self.first.len() < KEPT {
            self.first.push(Repair {
                at: at(),
                what: what(),
            });
            self.said += n;
        }
    }

    /// Repairs counted but not among those kept (nor stood for by them).
    pub fn unsaid(&self) -> usize {
        self.count.saturating_sub(self.said)
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends `other`'s repairs after these.
    pub fn extend(&mut self, other: Repairs) {
        self.count += other.count;
        self.cut_short |= other.cut_short;
        let room = KEPT.saturating_sub(self.first.len());
        // Those that do not fit are counted, not said.
        self.said += if other.first.len() <= room {
            other.said
        } else {
            room
        };
        self.first.extend(other.first.into_iter().take(room));
    }
}

/// Line and column of byte offsets in one document, for repairs.
///
/// Used only on the repair path, and only for the repairs kept: no index
/// is built (a document of 10 MiB of newlines would make one of 80 MiB).
/// A cursor remembers the last place found, so places asked in document
/// order cost one pass in all; an earlier place starts again from the top.
pub struct Lines<'a> {
    doc: &'a [u8],
    /// Offset, its line, its line's start, its column.
    cursor: std::cell::Cell<(usize, usize, usize, usize)>,
}

impl<'a> Lines<'a> {
    pub fn new(doc: &'a [u8]) -> Self {
        Lines {
            doc,
            cursor: std::cell::Cell::new((0, 1, 0, 1)),
        }
    }

    /// Where byte `offset` is (clamped to the document).
    pub fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.doc.len());
        let (mut at, mut line, mut start, mut column) = self.cursor.get();
        if offset < at {
            (at, line, start, column) = (0, 1, 0, 1);
        }
        let stretch = &self.doc[at..offset];
        if let Some(last) = memchr::memrchr(b'\n', stretch) {
            line += memchr::memchr_iter(b'\n', stretch).count();
            start = at + last + 1;
            at = start;
            column = 1;
        }
        // Characters, not bytes: a column an editor shows. UTF-8 lead
        // bytes are counted (the document is UTF-8 by now).
        column += self.doc[at..offset]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count();
        self.cursor.set((offset, line, start, column));
        Location {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
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
        // Back to an earlier place: found again from the top.
        assert_eq!(lines.locate(amp), Location { line: 2, column: 6 });
        assert_eq!(lines.locate(1), Location { line: 1, column: 2 });
    }

    #[test]
    fn counted_past_what_is_kept() {
        let mut r = Repairs::default();
        for i in 0..KEPT + 5 {
            r.push(None, format!("r{i}"));
        }
        assert_eq!((r.count, r.first.len()), (KEPT + 5, KEPT));
        let r = Repair {
            at: Some(Location {
                line: 3,
                column: 18,
            }),
            what: "a".into(),
        };
        assert_eq!(r.to_string(), "line 3, col 18: a");
    }

    #[test]
    fn a_place_is_read_back_from_where_a_message_starts() {
        let at = Location {
            line: 3,
            column: 18,
        };
        assert_eq!(
            Location::leading(&format!("{at}: tag not closed")),
            Some(at)
        );
        assert_eq!(Location::leading(&at.to_string()), Some(at));
        for not in [
            "tag not closed at line 3, col 18",
            "line x, col 18: a",
            "line 3, col : a",
            "line 3, col 18x: a",
            "line 99999999999, col 1: a",
            "",
        ] {
            assert_eq!(Location::leading(not), None, "{not}");
        }
    }
}
