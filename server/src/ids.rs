//! Random identifiers: conversation and message ids, publishable and secret API keys. Only the
//! operating system's random source is used; nothing here touches storage.

use std::fmt;

/// The operating system could not give us random bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomError(getrandom::Error);

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no random bytes from the operating system: {}", self.0)
    }
}

impl std::error::Error for RandomError {}

/// `chars` random lower-case hex characters (`chars` is rounded up to an even number).
pub fn random_hex(chars: usize) -> Result<String, RandomError> {
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new conversation id: `conv_` and 24 hex characters.
pub fn conversation_id() -> Result<String, RandomError> {
    Ok(format!("conv_{}", random_hex(24)?))
}

/// A new message id: `msg_` and 24 hex characters.
pub fn message_id() -> Result<String, RandomError> {
    Ok(format!("msg_{}", random_hex(24)?))
}

/// A new publishable key: `pk_live_` and 24 hex characters. Publishable keys are meant to be
/// seen in a public page; they only work for their bot and from the origins it allows.
pub fn publishable_key() -> Result<String, RandomError> {
    Ok(format!("pk_live_{}", random_hex(24)?))
}

/// The prefix of every secret key.
pub const SECRET_KEY_PREFIX: &str = "sk_live_";

/// A new secret key: `sk_live_` and 48 hex characters (192 bits). Secret keys belong on the
/// bot owner's servers, never in a page; only their SHA-256 ([`secret_key_hash`]) is stored.
pub fn secret_key() -> Result<String, RandomError> {
    Ok(format!("{SECRET_KEY_PREFIX}{}", random_hex(48)?))
}

/// How a secret key is stored and looked up: the hex SHA-256 of the whole key. (The key is
/// 192 random bits, so a fast hash is enough: there is nothing to guess from it.)
pub fn secret_key_hash(key: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_prefix_and_length_and_differ() -> Result<(), RandomError> {
        let key = publishable_key()?;
        assert!(
            key.starts_with("pk_live_") && key.len() == "pk_live_".len() + 24,
            "{key}"
        );
        assert!(key["pk_live_".len()..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(conversation_id()?, conversation_id()?);
        assert!(message_id()?.starts_with("msg_"));
        let secret = secret_key()?;
        assert!(
            secret.starts_with("sk_live_") && secret.len() == 56,
            "{secret}"
        );
        assert_ne!(secret, secret_key()?);
        let hash = secret_key_hash(&secret);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&secret[8..]));
        assert_eq!(hash, secret_key_hash(&secret));
        Ok(())
    }
}
