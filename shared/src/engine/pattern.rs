//! A `matches` operand: the compiled regex, and what every match must start with.
//!
//! Rules often anchor their patterns (`^qa\+.*@acme\.com$`, `^beta-`, `@corp\.io$`),
//! and most contexts fail them on their first or last few bytes. The regex crate cannot
//! use its literal search for an anchored pattern, so each test still pays a whole
//! search's set-up: in an all-flags answer with dozens of such rules, more than the
//! tests themselves. When every match must begin at the start of the text with one of a
//! few literals (or end at its end with one), the literals are kept, and a text that
//! starts (or ends) with none of them is turned away at once.

use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, Look};

use super::operand::compile_regex;

/// The most literals a text's start or end is checked against; past that, the regex
/// is as quick.
const MAX_LITERALS: usize = 16;

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    regex: Regex,
    /// When set, every match starts at the text's start with one of these.
    starts: Option<Literals>,
    /// When set, every match ends at the text's end with one of these.
    ends: Option<Literals>,
}

type Literals = Box<[Box<[u8]>]>;

impl Pattern {
    /// Compiles `pattern`; errors are one line, fit for a form field.
    pub(crate) fn compile(pattern: &str, case_insensitive: bool) -> Result<Pattern, String> {
        let regex = compile_regex(pattern, case_insensitive)?;
        // The same syntax the regex crate parses, with the same flags.
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(case_insensitive)
            .build()
            .parse(pattern)
            .ok();
        Ok(Pattern {
            regex,
            starts: hir
                .as_ref()
                .and_then(|hir| anchored(hir, ExtractKind::Prefix)),
            ends: hir
                .as_ref()
                .and_then(|hir| anchored(hir, ExtractKind::Suffix)),
        })
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        if let Some(starts) = &self.starts
            && !starts.iter().any(|start| bytes.starts_with(start))
        {
            return false;
        }
        if let Some(ends) = &self.ends
            && !ends.iter().any(|end| bytes.ends_with(end))
        {
            return false;
        }
        self.regex.is_match(text)
    }
}

/// The literals every match of `hir` starts with (`Prefix`) or ends with (`Suffix`),
/// if it is anchored at that end of the text and they are few and none is empty.
fn anchored(hir: &Hir, kind: ExtractKind) -> Option<Literals> {
    // `^` and `$` without multi-line mode: no match can begin (end) anywhere else.
    let (looks, anchor) = match kind {
        ExtractKind::Prefix => (hir.properties().look_set_prefix(), Look::Start),
        _ => (hir.properties().look_set_suffix(), Look::End),
    };
    if !looks.contains(anchor) {
        return None;
    }
    // Look-arounds count as empty here, so the anchor adds nothing to the literals; a
    // finite set, exact or not, holds a prefix (suffix) of every match.
    let mut extractor = Extractor::new();
    extractor.kind(kind);
    let literals = extractor.extract(hir);
    let literals = literals.literals()?;
    if literals.is_empty()
        || literals.len() > MAX_LITERALS
        || literals.iter().any(|l| l.as_bytes().is_empty())
    {
        return None;
    }
    Some(literals.iter().map(|l| l.as_bytes().into()).collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn starts_of(pattern: &str, ci: bool) -> Option<Vec<String>> {
        sorted(Pattern::compile(pattern, ci).unwrap().starts)
    }

    fn ends_of(pattern: &str, ci: bool) -> Option<Vec<String>> {
        sorted(Pattern::compile(pattern, ci).unwrap().ends)
    }

    fn sorted(literals: Option<Literals>) -> Option<Vec<String>> {
        literals.map(|s| {
            let mut s: Vec<String> = s
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            s.sort();
            s
        })
    }

    #[test]
    fn anchored_literals_become_starts() {
        assert_eq!(starts_of(r"^qa\+12@", false), Some(vec!["qa+12@".into()]));
        assert_eq!(
            starts_of(r"^(beta|alpha)-\d+$", false),
            Some(vec!["alpha-".into(), "beta-".into()])
        );
        assert_eq!(
            starts_of(r"^ab", true),
            Some(vec!["AB".into(), "Ab".into(), "aB".into(), "ab".into()])
        );
    }

    #[test]
    fn literals_anchored_at_the_end_become_ends() {
        assert_eq!(
            ends_of(r"@acme\.com$", false),
            Some(vec!["@acme.com".into()])
        );
        assert_eq!(
            ends_of(r"^qa\+.*@(corp\.io|test\.dev)$", false),
            Some(vec!["@corp.io".into(), "@test.dev".into()])
        );
        assert_eq!(
            starts_of(r"^qa\+.*@corp\.io$", false),
            Some(vec!["qa+".into()])
        );
        for pattern in [r"@acme\.com", r"(?m)com$", r"com$|^x", r"\w+$", r"^qa"] {
            assert_eq!(ends_of(pattern, false), None, "{pattern}");
        }
    }

    #[test]
    fn patterns_that_can_match_anywhere_have_none() {
        // Unanchored, anchored only at the end, multi-line, optional anchor, no literal.
        for pattern in [
            r"qa\+",
            r"@acme\.com$",
            r"(?m)^beta",
            r"^beta|gamma",
            r"^.*@acme",
            r"^",
            r"^\w+",
        ] {
            assert_eq!(starts_of(pattern, false), None, "{pattern}");
        }
    }

    #[test]
    fn texts_without_a_start_are_turned_away() {
        let pattern = Pattern::compile(r"^qa\+\d+@acme\.com$", false).unwrap();
        assert!(pattern.is_match("qa+12@acme.com"));
        assert!(!pattern.is_match("jo@acme.com"));
        assert!(!pattern.is_match("xqa+12@acme.com"));
        assert!(!pattern.is_match("qa+x@acme.com"));
        let pattern = Pattern::compile(r"^é", true).unwrap();
        assert!(pattern.is_match("É!"));
        let pattern = Pattern::compile(r"@acme\.com$", true).unwrap();
        assert!(pattern.is_match("Jo@ACME.com"));
        assert!(!pattern.is_match("jo@acme.com.evil"));
    }

    proptest! {
        /// The check in front never changes what the regex decides.
        #[test]
        fn same_answer_as_the_regex_alone(
            pattern in prop::sample::select(vec![
                r"^qa\+\d@", r"^(ab|AC|é)x?", r"^a", r"^(?i)straße", r"^[ab]c",
                r"^a+b", r"^k", r"^(?:a|b|)c", r"^\u{212A}", r"^abc$", r"\Aab",
                r"ab$", r"(?i)é[ck]$", r"qa\+\d@\z", r"^a.*b$", r"(b|ß)+$",
            ]),
            ci in any::<bool>(),
            text in "(qa\\+[0-9]@|[aAbBcCkKé\u{212A}ßSsx]){0,6}",
        ) {
            let pattern = Pattern::compile(pattern, ci).unwrap();
            prop_assert_eq!(pattern.is_match(&text), pattern.regex.is_match(&text));
        }
    }
}
