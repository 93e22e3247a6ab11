//! Private topics' tokens: the secret part of `/p/{token}/{topic}.{ext}`.
//!
//! Kept in the store, never in `feeds/` (which people keep in git), so a
//! token survives restarts and compaction and is replaced only by
//! `feedloom token TOPIC --rotate`. SECURITY: a token is never logged;
//! requests compare it in constant time ([`crate::secret::equal`]).

use super::{Store, StoreError};
use crate::text::hex;

/// Random bytes in a token (128 bits: not guessable by any number of
/// requests a server could answer).
pub const TOKEN_BYTES: usize = 16;

impl Store {
    /// The token of private topic `topic`, if one was made.
    pub fn topic_token(&self, topic: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .tokens
            .get(topic.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The token of `topic`, made now if it has none or `rotate` asks for
    /// a new one (the old one then opens nothing). Written to disk before
    /// it is returned: a printed URL always works after a crash.
    pub fn make_topic_token(&self, topic: &str, rotate: bool) -> Result<String, StoreError> {
        if !rotate {
            if let Some(t) = self.topic_token(topic)? {
                return Ok(t);
            }
        }
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|e| StoreError::Io {
            path: self.live.display().to_string(),
            source: std::io::Error::other(format!("no randomness for a token: {e}")),
        })?;
        let token = hex(&bytes);
        self.tokens.insert(topic.as_bytes(), token.as_bytes())?;
        self.tokens.flush()?;
        Ok(token)
    }

    /// Whether `given` is `topic`'s token. The comparison takes the same
    /// time wherever the first wrong byte is, so timing tells a stranger
    /// nothing about how much of a guess was right.
    pub fn token_opens(&self, topic: &str, given: &str) -> Result<bool, StoreError> {
        Ok(match self.tokens.get(topic.as_bytes())? {
            Some(token) => crate::secret::equal(given.as_bytes(), &token),
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_rotated_and_compared_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.topic_token("mine").unwrap(), None);
        assert!(!store.token_opens("mine", "").unwrap());
        let t = store.make_topic_token("mine", false).unwrap();
        assert_eq!(t.len(), TOKEN_BYTES * 2);
        assert_eq!(store.make_topic_token("mine", false).unwrap(), t);
        assert!(store.token_opens("mine", &t).unwrap());
        assert!(!store.token_opens("other", &t).unwrap());
        let mut wrong = t.clone().into_bytes();
        wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
        assert!(!store
            .token_opens("mine", std::str::from_utf8(&wrong).unwrap())
            .unwrap());
        assert!(!store.token_opens("mine", &t[..31]).unwrap());
        let rotated = store.make_topic_token("mine", true).unwrap();
        assert_ne!(rotated, t);
        assert!(!store.token_opens("mine", &t).unwrap());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.token_opens("mine", &rotated).unwrap());
    }
}
