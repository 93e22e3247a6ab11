//! Comparing secrets (the admin token, private topics' tokens) without
//! leaking them by timing.

use sha2::{Digest, Sha256};

/// Whether `presented` equals `expected`, in time that depends on neither
/// (compared as digests, so neither the content nor the length of the
/// right answer leaks by how long a wrong guess takes).
pub fn equal(presented: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected);
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)))
        == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_exactly() {
        let t = b"correct horse battery staple";
        assert!(super::equal(t, t));
        assert!(!super::equal(b"correct horse battery stapl", t));
        assert!(!super::equal(b"", t));
        assert!(!super::equal(b"Correct horse battery staple", t));
    }
}
