//! Deterministic bucketing for percentage rollouts and weighted splits. The formula is
//! part of the public contract (SDKs in other languages reproduce it; see
//! `shared/testdata/bucketing.json`), so it never changes.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::condition::Found;

/// Buckets per 100 %: a percentage with up to three decimals is a whole number of them.
pub const BUCKETS: u32 = 100_000;

/// `u64::from_be_bytes(SHA-256(salt + "/" + value)[0..8]) % 100_000`.
pub fn bucket(salt: &str, value: &str) -> u32 {
    one_block(salt.as_bytes(), value.as_bytes()).unwrap_or_else(|| {
        let mut hasher = salt_hasher(salt);
        hasher.update(value.as_bytes());
        finish(hasher)
    })
}

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const INITIAL_STATE: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The bucket of a message short enough to fit one padded block (up to 55 bytes, as
/// salts and user ids usually are), hashed with one call of the compression function:
/// most of what a whole `Sha256` costs per call is its buffering and padding.
fn one_block(salt: &[u8], value: &[u8]) -> Option<u32> {
    let len = salt.len() + 1 + value.len();
    if len > 55 {
        return None;
    }
    let mut block = [0u8; 64];
    block[..salt.len()].copy_from_slice(salt);
    block[salt.len()] = b'/';
    block[salt.len() + 1..len].copy_from_slice(value);
    block[len] = 0x80;
    block[56..].copy_from_slice(&(len as u64 * 8).to_be_bytes());
    let mut state = INITIAL_STATE;
    // Hashed where it was written, not copied into another array first.
    let block = sha2::digest::generic_array::GenericArray::from_slice(&block);
    sha2::compress256(&mut state, std::slice::from_ref(block));
    // The digest's first eight bytes are the first two state words, big-endian.
    let head = (u64::from(state[0]) << 32) | u64::from(state[1]);
    Some((head % u64::from(BUCKETS)) as u32)
}

/// The bucket of an attribute value: a string as is, a number as its JSON text (`42`,
/// `1.5`); anything else has no bucket.
pub(crate) fn bucket_of(salt: &str, found: Found<'_>) -> Option<u32> {
    match found {
        Found::Str(s) => Some(bucket(salt, s)),
        Found::Json(Value::Number(n)) => {
            let mut hasher = HashWriter(salt_hasher(salt));
            // serde_json prints a number exactly as it serializes it, without allocating.
            write!(hasher, "{n}").expect("hashing cannot fail");
            Some(finish(hasher.0))
        }
        Found::Absent | Found::Json(_) => None,
    }
}

fn salt_hasher(salt: &str) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(b"/");
    hasher
}

fn finish(hasher: Sha256) -> u32 {
    let digest = hasher.finalize();
    let head = u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"));
    (head % u64::from(BUCKETS)) as u32
}

struct HashWriter(Sha256);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// A percentage (0–100, at most three decimals) as a whole number of buckets.
pub(crate) fn percentage_to_buckets(percent: f64) -> Result<u32, String> {
    if !(0.0..=100.0).contains(&percent) {
        return Err(format!("must be between 0 and 100, got {percent}"));
    }
    let scaled = percent * 1000.0;
    let rounded = scaled.round();
    // Decimal fractions are inexact in binary (33.333 * 1000 = 33332.999…); anything
    // closer than a millionth of a bucket to a whole number was written with 3 decimals.
    if (scaled - rounded).abs() > 1e-6 {
        return Err(format!("must have at most 3 decimals, got {percent}"));
    }
    Ok(rounded as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_hashing_agrees_with_sha256_at_every_length() {
        for salt_len in [0, 1, 20, 54, 55] {
            for value_len in 0..70 {
                let salt = "s".repeat(salt_len);
                let value = "v".repeat(value_len);
                let mut hasher = salt_hasher(&salt);
                hasher.update(value.as_bytes());
                assert_eq!(
                    bucket(&salt, &value),
                    finish(hasher),
                    "salt of {salt_len} bytes, value of {value_len}"
                );
            }
        }
    }

    #[test]
    fn bucket_follows_the_documented_formula() {
        // Computed independently: python3 -c 'import hashlib; d=hashlib.sha256(b"flag/user-1").digest(); print(int.from_bytes(d[:8],"big") % 100000)'
        let digest = Sha256::digest(b"flag/user-1");
        let expected = u64::from_be_bytes(digest[..8].try_into().unwrap()) % 100_000;
        assert_eq!(u64::from(bucket("flag", "user-1")), expected);
    }

    #[test]
    fn numbers_bucket_as_their_json_text() {
        let n: Value = serde_json::from_str("42").unwrap();
        assert_eq!(bucket_of("s", Found::Json(&n)), Some(bucket("s", "42")));
        let f: Value = serde_json::from_str("1.5").unwrap();
        assert_eq!(bucket_of("s", Found::Json(&f)), Some(bucket("s", "1.5")));
        assert_eq!(bucket_of("s", Found::Json(&Value::Bool(true))), None);
        assert_eq!(bucket_of("s", Found::Absent), None);
    }

    #[test]
    fn percentages_become_whole_buckets() {
        assert_eq!(percentage_to_buckets(0.0), Ok(0));
        assert_eq!(percentage_to_buckets(100.0), Ok(100_000));
        assert_eq!(percentage_to_buckets(33.333), Ok(33_333));
        assert_eq!(percentage_to_buckets(0.001), Ok(1));
        assert!(percentage_to_buckets(0.0001).is_err());
        assert!(percentage_to_buckets(-1.0).is_err());
        assert!(percentage_to_buckets(100.001).is_err());
    }
}
