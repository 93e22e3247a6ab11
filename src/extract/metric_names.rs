//! The metrics an `html` or `json` source defines (`[source.metrics]`):
//! names that rules and queries write (`points`, `comments`), and how many
//! one source may have. Both kinds check them here, the same way.

use std::collections::BTreeMap;

use crate::defs::Invalid;

/// Most metrics one source defines: each is read from every item, and
/// each is a column of every entry's facets.
pub const MAX_METRICS: usize = 32;

/// Checks a source's `[source.metrics]` table: at most [`MAX_METRICS`],
/// each named as rules and queries can write it.
pub fn check(metrics: Option<&BTreeMap<String, String>>) -> Result<(), Invalid> {
    let Some(metrics) = metrics else {
        return Ok(());
    };
    if metrics.len() > MAX_METRICS {
        return Err(format!("metrics: at most {MAX_METRICS} metrics").into());
    }
    metrics.keys().try_for_each(|name| check_name(name))
}

/// Metric names are what rules and queries write: `points`, `comments`.
fn check_name(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(
            format!("metrics.{name}: metric names use 1 to 32 lower-case letters, digits and `_`")
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_count_are_bounded() {
        let table = |names: &[&str]| -> BTreeMap<String, String> {
            names.iter().map(|n| (n.to_string(), "x".into())).collect()
        };
        assert!(check(Some(&table(&["points", "stars_2"]))).is_ok());
        assert!(check(None).is_ok());
        for bad in ["", "Upper", "has space", &"x".repeat(33)] {
            assert!(check(Some(&table(&[bad]))).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_METRICS).map(|i| format!("m{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = check(Some(&table(&many))).unwrap_err().0;
        assert!(err.contains("at most 32"), "{err}");
    }
}
