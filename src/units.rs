//! Durations and sizes as people write them in definitions and flags
//! (`30m`, `1h30m`, `500ms`, `10MiB`), and one way of printing a duration.
//!
//! A leaf module: every stage that reads or prints a duration uses these,
//! so `check`, `explain` and the poll report agree on how `1h30m` looks.
//! Hand-written rather than `humantime`/`bytesize`: the accepted syntax is
//! small and documented in the README, and those crates accept more
//! (months, years, decimal fractions) than a definitions file should mean.

use crate::defs::Invalid;
use std::time::Duration;

/// Parses `90s`, `30m`, `1h30m`, `2d`: whole seconds and up, no zero-only
/// spelling, for schedules and ages.
pub fn parse_interval(text: &str) -> Result<Duration, Invalid> {
    let bad = || {
        Invalid(format!(
            "`{text}` is not a duration like `30m`, `1h30m` or `2d`"
        ))
    };
    let mut total = 0u64;
    let mut digits = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        digits.clear();
        any = true;
    }
    if !digits.is_empty() || !any {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Parses a duration that may be zero or in milliseconds: `0`, `0s`,
/// `500ms`, `2s`, `1m30s`; for timeouts and spacings.
pub fn parse_duration(text: &str) -> Result<Duration, Invalid> {
    let t = text.trim();
    if let Some(ms) = t.strip_suffix("ms") {
        return ms.parse::<u64>().map(Duration::from_millis).map_err(|_| {
            Invalid(format!(
                "`{text}` is not a duration like `500ms`, `2s` or `1m`"
            ))
        });
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    parse_interval(t)
}

/// Parses a size above zero: `10MiB`, `512KiB`, `1GiB`, `2MB`, `1000000`
/// (bytes).
pub fn parse_size(text: &str) -> Result<usize, Invalid> {
    let t = text.trim();
    let bad = || Invalid(format!("`{text}` is not a size like `10MiB` or `512KiB`"));
    let (num, mult) = [
        ("GiB", 1usize << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1_000),
        ("B", 1),
    ]
    .iter()
    .find_map(|(suffix, m)| t.strip_suffix(suffix).map(|n| (n.trim(), *m)))
    .unwrap_or((t, 1));
    let n: usize = num.parse().map_err(|_| bad())?;
    let size = n.checked_mul(mult).ok_or_else(bad)?;
    if size == 0 {
        return Err(bad());
    }
    Ok(size)
}

/// A duration the way the definitions spell it, exactly: `42s`, `15m`,
/// `2h5m`, `1d12h`, `500ms`; what it prints parses back to the same value
/// (to the millisecond below a second, to the second above).
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        let ms = d.as_millis();
        return if ms == 0 {
            "0s".into()
        } else {
            format!("{ms}ms")
        };
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling the README documents, and what it means.
    #[test]
    fn accepted_syntax() {
        let s = Duration::from_secs;
        for (text, want) in [
            ("90s", s(90)),
            ("30m", s(1800)),
            ("1h30m", s(5400)),
            ("2d", s(172_800)),
            (" 1d12h ", s(129_600)),
        ] {
            assert_eq!(parse_interval(text), Ok(want), "{text}");
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for text in [
            "30",
            "m",
            "1x",
            "5 minutes",
            "fast",
            "",
            "1.5h",
            "-1m",
            "99999999999999999999d",
        ] {
            assert!(parse_interval(text).is_err(), "{text}");
        }
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_interval("500ms").is_err());
        assert!(parse_duration("1.5s").is_err());
        for (text, want) in [
            ("10MiB", 10 << 20),
            ("512KiB", 512 << 10),
            ("1GiB", 1 << 30),
            ("2MB", 2_000_000),
            ("3KB", 3000),
            ("1GB", 1_000_000_000),
            ("7B", 7),
            ("1000000", 1_000_000),
            ("4 MiB", 4 << 20),
        ] {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
        for text in [
            "0",
            "0MiB",
            "ten",
            "1.5MiB",
            "-1",
            "99999999999999999999GiB",
        ] {
            assert!(parse_size(text).is_err(), "{text}");
        }
    }

    #[test]
    fn human_round_trips() {
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(human(Duration::from_secs(900)), "15m");
        assert_eq!(human(Duration::from_secs(7500)), "2h5m");
        assert_eq!(human(Duration::from_secs(129_600)), "1d12h");
        assert_eq!(human(Duration::from_millis(500)), "500ms");
        assert_eq!(human(Duration::ZERO), "0s");
        for secs in [
            1, 59, 60, 61, 3599, 3600, 3661, 86_399, 86_400, 90_061, 10_000_000,
        ] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse_duration(&human(d)), Ok(d), "{secs}");
        }
    }
}
