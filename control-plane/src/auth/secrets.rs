//! Random secrets and the only form in which they are stored: their SHA-256.

use sha2::{Digest, Sha256};

/// A fresh secret: `prefix` followed by `bytes` random bytes in lowercase hex.
pub fn generate(prefix: &str, bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).expect("the operating system provides randomness");
    format!("{prefix}{}", hex::encode(random))
}

/// The SHA-256 of a secret, as stored and looked up.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// What lists show of a secret so people can tell them apart: the prefix and four more
/// characters, never enough to guess the rest.
pub fn display_prefix(secret: &str, prefix: &str) -> String {
    secret.chars().take(prefix.len() + 4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_prefixed_hex() {
        let a = generate("sdk_", 16);
        let b = generate("sdk_", 16);
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 32);
        assert!(
            a[4..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(display_prefix(&a, "sdk_"), &a[..8]);
        assert_eq!(hash(&a).len(), 32);
    }
}
