use super::ValidationError;

/// What a key names; used in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Project,
    Environment,
    Flag,
    Variant,
    Segment,
}

impl KeyKind {
    fn noun(self) -> &'static str {
        match self {
            KeyKind::Project => "project",
            KeyKind::Environment => "environment",
            KeyKind::Flag => "flag",
            KeyKind::Variant => "variant",
            KeyKind::Segment => "segment",
        }
    }
}

/// Longest key allowed: `^[a-z0-9][a-z0-9_.-]{0,63}$`.
pub const MAX_KEY_LEN: usize = 64;

/// Whether `key` matches `^[a-z0-9][a-z0-9_.-]{0,63}$`, the shape of every key
/// (project, environment, flag, variant, segment). Keys appear in URLs and SDK code,
/// so they stay short, lowercase and free of characters that need escaping.
pub fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    match bytes.first() {
        Some(first) if first.is_ascii_lowercase() || first.is_ascii_digit() => {}
        _ => return false,
    }
    bytes.len() <= MAX_KEY_LEN
        && bytes[1..].iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

/// [`is_valid_key`] with a message fit for the user, located at `field`.
pub fn validate_key(kind: KeyKind, field: &str, key: &str) -> Result<(), ValidationError> {
    if is_valid_key(key) {
        return Ok(());
    }
    let noun = kind.noun();
    let message = if key.is_empty() {
        format!("{noun} key must not be empty")
    } else if key.len() > MAX_KEY_LEN {
        format!("{noun} key must be at most {MAX_KEY_LEN} characters")
    } else {
        format!(
            "invalid {noun} key {key:?}: use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit"
        )
    };
    Err(ValidationError::new(field, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_pattern() {
        for good in ["a", "0", "new-checkout", "beta_2.1", &"a".repeat(64)] {
            assert!(is_valid_key(good), "{good:?} should be valid");
        }
        for bad in [
            "",
            "-a",
            "_a",
            ".a",
            "A",
            "new checkout",
            "ü",
            "a/b",
            "a\n",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_key(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn key_errors_name_the_field_and_the_rule() {
        let error = validate_key(KeyKind::Flag, "key", "New Checkout").unwrap_err();
        assert_eq!(error.field, "key");
        assert!(error.message.contains("invalid flag key \"New Checkout\""));
        let error = validate_key(KeyKind::Variant, "variants[0].key", "").unwrap_err();
        assert_eq!(
            error.to_string(),
            "variants[0].key: variant key must not be empty"
        );
    }
}
