//! Parsing of typed operands — numbers, semantic versions, timestamps, regexes — shared by
//! write-time validation and evaluation, so both sides agree on what is valid.

use std::borrow::Cow;
use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};
use semver::Version;
use serde_json::Number;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A number given as a JSON number or as a string in JSON number syntax (`"12"`,
/// `"-1.5e3"`); no surrounding white space, no `NaN`, no `+1`.
pub(crate) fn number_from_str(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let is_json_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    if bytes.first().is_none_or(is_json_space) || bytes.last().is_some_and(is_json_space) {
        return None;
    }
    serde_json::from_str::<f64>(text).ok()
}

/// Equality of JSON numbers by value: `1` equals `1.0`; integers compare exactly.
pub(crate) fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    a.as_f64() == b.as_f64()
}

/// A SemVer 2.0.0 version with all three components and an optional leading `v` or `V`.
pub(crate) fn semver_from_str(text: &str) -> Option<Version> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    Version::parse(text).ok()
}

/// SemVer precedence: pre-releases order below their release and build metadata is
/// ignored (`1.0.0+b` equals `1.0.0`), unlike `Version`'s own `Ord`.
pub(crate) fn semver_precedence(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

/// A strict RFC 3339 timestamp as nanoseconds since the Unix epoch: `T` or `t` between
/// date and time, `Z`, `z` or a numeric offset, no leap second.
pub(crate) fn timestamp_from_str(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    // The parser below also takes a space separator and a leap second; RFC 3339's
    // internet profile as we document it does not.
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't') || &bytes[17..19] == b"60" {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp_nanos)
}

/// Longest `matches` pattern accepted.
pub const MAX_REGEX_PATTERN_BYTES: usize = 1_000;
/// Most memory one compiled pattern may take, and its lazy DFA's cache may grow to.
/// Everyday patterns (an email domain, a version prefix) take well under a kilobyte;
/// each Unicode `\w` about 50 KiB, so `^\w+@\w+\.\w+$` fits and `\w{150}` (7 MiB,
/// on every edge) does not.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Compiles a `matches` pattern. Errors are one line, fit for a form field.
pub(crate) fn compile_regex(pattern: &str, case_insensitive: bool) -> Result<Regex, String> {
    if pattern.len() > MAX_REGEX_PATTERN_BYTES {
        return Err(format!(
            "pattern is longer than {MAX_REGEX_PATTERN_BYTES} bytes"
        ));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|error| regex_error_message(pattern, &error))
}

fn regex_error_message(pattern: &str, error: &regex::Error) -> String {
    // regex's own message spans several lines with a caret diagram; the syntax parser
    // names the problem in a few words.
    match regex_syntax::Parser::new().parse(pattern) {
        Err(regex_syntax::Error::Parse(e)) => e.kind().to_string(),
        Err(regex_syntax::Error::Translate(e)) => e.kind().to_string(),
        _ => match error {
            regex::Error::CompiledTooBig(limit) => format!(
                "pattern compiles to more than {limit} bytes; Unicode classes such as \\w \
                 are large, so for ASCII write [a-zA-Z0-9_] or (?-u:\\w)"
            ),
            other => other
                .to_string()
                .lines()
                .last()
                .unwrap_or("invalid pattern")
                .trim_start_matches("error: ")
                .to_owned(),
        },
    }
}

/// `text` lower-cased with `str::to_lowercase`, borrowed when it has no upper case.
pub(crate) fn lowercase(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_strings_follow_json_syntax() {
        assert_eq!(number_from_str("12"), Some(12.0));
        assert_eq!(number_from_str("-1.5e3"), Some(-1500.0));
        assert_eq!(number_from_str("0.5"), Some(0.5));
        for bad in [
            "", " 12", "12 ", "\n12", "NaN", "inf", "+1", "01", ".5", "1.", "0x10", "1_000",
            "1e999", "\"1\"",
        ] {
            assert_eq!(number_from_str(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numbers_compare_by_value() {
        let n = |s: &str| serde_json::from_str::<Number>(s).unwrap();
        assert!(numbers_equal(&n("1"), &n("1.0")));
        assert!(numbers_equal(&n("-3"), &n("-3.0")));
        assert!(numbers_equal(
            &n("18446744073709551615"),
            &n("18446744073709551615")
        ));
        assert!(!numbers_equal(
            &n("9007199254740993"),
            &n("9007199254740992")
        ));
        assert!(!numbers_equal(&n("1"), &n("1.5")));
    }

    #[test]
    fn semver_needs_three_components_and_allows_a_v() {
        assert!(semver_from_str("1.2.3").is_some());
        assert!(semver_from_str("v1.2.3-beta.1+build.5").is_some());
        assert!(semver_from_str("V1.2.3").is_some());
        for bad in [
            "2.0", "2", "", "vv1.0.0", "1.0.0 ", " 1.0.0", "01.0.0", "1.0.0-", "x",
        ] {
            assert!(semver_from_str(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn semver_precedence_ignores_build_metadata() {
        let v = |s| semver_from_str(s).unwrap();
        assert_eq!(
            semver_precedence(&v("1.0.0+b"), &v("1.0.0")),
            Ordering::Equal
        );
        assert_eq!(
            semver_precedence(&v("1.0.0-alpha"), &v("1.0.0")),
            Ordering::Less
        );
        assert_eq!(
            semver_precedence(&v("1.0.0-alpha.2"), &v("1.0.0-alpha.10")),
            Ordering::Less
        );
        assert_eq!(
            semver_precedence(&v("1.0.0-beta"), &v("1.0.0-alpha.10")),
            Ordering::Greater
        );
        assert_eq!(
            semver_precedence(&v("1.10.0"), &v("1.9.9")),
            Ordering::Greater
        );
    }

    #[test]
    fn timestamps_are_strict_rfc3339() {
        let t = |s| timestamp_from_str(s);
        assert_eq!(t("2024-01-01T00:00:00Z"), Some(1_704_067_200_000_000_000));
        assert_eq!(t("2024-01-01t00:00:00z"), t("2024-01-01T00:00:00Z"));
        assert_eq!(t("2024-01-01T01:00:00+01:00"), t("2024-01-01T00:00:00Z"));
        assert_eq!(
            t("2024-01-01T00:00:00.5-00:30"),
            Some(1_704_069_000_500_000_000)
        );
        for bad in [
            "2024-01-01 00:00:00Z",
            "2016-12-31T23:59:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01",
            "2024-02-30T00:00:00Z",
            "2024-01-01T00:00Z",
            "1704067200",
            "",
        ] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn regex_errors_are_one_short_line() {
        assert_eq!(compile_regex("(ab", false).unwrap_err(), "unclosed group");
        let lookahead = compile_regex("a(?=b)", false).unwrap_err();
        assert!(lookahead.contains("look-around"), "{lookahead}");
        let backref = compile_regex(r"(a)\1", false).unwrap_err();
        assert!(backref.contains("backreferences"), "{backref}");
        assert!(compile_regex("^[a-z]+@acme\\.com$", true).is_ok());
    }

    #[test]
    fn everyday_patterns_fit_the_size_limit_and_blowups_do_not() {
        for pattern in [
            r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$",
            r"@(gmail|yahoo|outlook)\.com$",
            r"^\w+@\w+\.\w+$",
            r"^(ios|android)-1[0-9]\.\d+(\.\d+)?$",
            r"^\p{Greek}+$",
            r"(?-u:\w){20}",
        ] {
            for ci in [false, true] {
                assert!(compile_regex(pattern, ci).is_ok(), "{pattern} ({ci})");
            }
        }
        for blowup in [r"\w{150}", r"\w{20}"] {
            let error = compile_regex(blowup, false).unwrap_err();
            assert!(error.contains("more than 262144 bytes"), "{error}");
        }
        let long = compile_regex(&"a".repeat(1_001), false).unwrap_err();
        assert!(long.contains("longer than 1000 bytes"), "{long}");
    }

    #[test]
    fn lowercase_borrows_when_nothing_changes() {
        assert!(matches!(lowercase("abc-1"), Cow::Borrowed(_)));
        assert_eq!(lowercase("ÄBC"), "äbc");
        assert_eq!(lowercase("İ"), "i\u{307}");
    }
}
