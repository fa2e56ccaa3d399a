use std::borrow::Cow;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who is asking: the input of every evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvaluationContext {
    /// Read by the attribute name `user_id`, and the default bucketing key. An empty
    /// string counts as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Map<String, Value>,
}

impl EvaluationContext {
    pub fn new(user_id: impl Into<String>) -> EvaluationContext {
        EvaluationContext {
            user_id: Some(user_id.into()),
            attributes: Map::new(),
        }
    }

    /// Builder-style attribute setter, handy in tests and SDK glue.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> EvaluationContext {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }

    /// The user id, treating `""` as absent.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref().filter(|id| !id.is_empty())
    }
}

/// What evaluation reads from a context, whoever holds it: an [`EvaluationContext`], or
/// a [`BorrowedContext`] parsed from a request body without copying its strings.
pub trait Context {
    /// The user id, treating `""` as absent.
    fn user_id(&self) -> Option<&str>;

    /// The attribute `name`; `null` counts as absent.
    fn attribute(&self, name: &str) -> Option<AttributeValue<'_>>;
}

/// An attribute's value as evaluation reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttributeValue<'a> {
    Str(&'a str),
    /// Anything but a string or `null`.
    Json(&'a Value),
}

impl Context for EvaluationContext {
    fn user_id(&self) -> Option<&str> {
        EvaluationContext::user_id(self)
    }

    fn attribute(&self, name: &str) -> Option<AttributeValue<'_>> {
        match self.attributes.get(name)? {
            Value::Null => None,
            Value::String(s) => Some(AttributeValue::Str(s)),
            value => Some(AttributeValue::Json(value)),
        }
    }
}

/// The same JSON as [`EvaluationContext`], parsed strictly alike, but borrowing every
/// string without escapes from the text it was parsed from: evaluating a request's
/// context then builds no strings and no map (building them was most of what parsing a
/// typical context cost).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BorrowedContext<'a> {
    #[serde(default, borrow)]
    user_id: Option<Text<'a>>,
    #[serde(default, borrow)]
    attributes: Attributes<'a>,
}

impl Context for BorrowedContext<'_> {
    fn user_id(&self) -> Option<&str> {
        self.user_id
            .as_ref()
            .map(|id| &*id.0)
            .filter(|id| !id.is_empty())
    }

    fn attribute(&self, name: &str) -> Option<AttributeValue<'_>> {
        let entries = &self.attributes.0;
        let at = entries
            .binary_search_by(|(key, _)| (**key).cmp(name))
            .ok()?;
        match &entries[at].1 {
            Borrowed::Str(s) => Some(AttributeValue::Str(s)),
            Borrowed::Json(Value::Null) => None,
            Borrowed::Json(value) => Some(AttributeValue::Json(value)),
        }
    }
}

/// A string, borrowed from the JSON text unless it holds escapes.
#[derive(Debug)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

/// Attributes sorted by name, one per name: the last given, as in a JSON object parsed
/// into a map.
#[derive(Debug, Default)]
struct Attributes<'a>(Vec<(Cow<'a, str>, Borrowed<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Attributes<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AttributesVisitor;

        impl<'de> Visitor<'de> for AttributesVisitor {
            type Value = Attributes<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attributes<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(16));
                while let Some(Text(name)) = map.next_key()? {
                    entries.push((name, map.next_value()?));
                }
                // Latest first, so that the stable sort keeps it first among its
                // namesakes and `dedup` keeps it alone.
                entries.reverse();
                entries.sort_by(|a: &(Cow<str>, _), b| a.0.cmp(&b.0));
                entries.dedup_by(|later, kept| later.0 == kept.0);
                Ok(Attributes(entries))
            }
        }

        deserializer.deserialize_map(AttributesVisitor)
    }
}

/// An attribute's value: strings borrowed where they can be, anything else as
/// [`Value`] (numbers and booleans build nothing).
#[derive(Debug)]
enum Borrowed<'a> {
    Str(Cow<'a, str>),
    Json(Value),
}

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BorrowedVisitor;

        // What serde_json's own `Value` makes of each, strings aside.
        impl<'de> Visitor<'de> for BorrowedVisitor {
            type Value = Borrowed<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Str(Cow::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Str(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Str(Cow::Owned(s)))
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Json(Value::Bool(b)))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Json(Value::from(n)))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Json(Value::from(n)))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Json(
                    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                ))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Json(Value::Null))
            }

            fn visit_none<E: de::Error>(self) -> Result<Borrowed<'de>, E> {
                Ok(Borrowed::Json(Value::Null))
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Borrowed<'de>, D::Error> {
                Borrowed::deserialize(d)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Borrowed<'de>, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(Borrowed::Json)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Borrowed<'de>, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(Borrowed::Json)
            }
        }

        deserializer.deserialize_any(BorrowedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every attribute name the generated contexts use, and one they never do.
    const NAMES: [&str; 6] = ["plan", "ab", "email", "tags", "user_id", "missing"];

    /// JSON texts of contexts, written out by hand so that they can hold what a map
    /// cannot: repeated names, escapes (`"a\u0062"` is `"ab"`), `null`s, nested values,
    /// and now and then a mistake.
    fn context_text() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![
            r#""plan""#,
            r#""ab""#,
            r#""a\u0062""#,
            r#""email""#,
            r#""tags""#,
            r#""user_id""#,
        ]);
        let value = prop::sample::select(vec![
            r#""pro""#,
            r#""jo@acme.com""#,
            r#""line\nbreak \"quoted\"""#,
            r#""""#,
            "42",
            "-1.5e3",
            "18446744073709551615",
            "true",
            "null",
            r#"["a", 1, null]"#,
            r#"{"nested": {"x": 1}}"#,
        ]);
        let user_id = prop::sample::select(vec![
            "",
            r#""user_id": "u-1","#,
            r#""user_id": "","#,
            r#""user_id": "\u00e9l\u00e8ve","#,
            r#""user_id": null,"#,
            r#""user_id": 7,"#,
            r#""user_id": "a", "user_id": "b","#,
            r#""extra": 1,"#,
        ]);
        let attributes = prop::collection::vec((name, value), 0..8).prop_map(|pairs| {
            let pairs: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}: {v}")).collect();
            format!(r#""attributes": {{{}}}"#, pairs.join(", "))
        });
        let attributes = prop_oneof![
            8 => attributes,
            1 => Just(r#""attributes": null"#.to_owned()),
            1 => Just(r#""attributes": [1]"#.to_owned()),
        ];
        (user_id, attributes)
            .prop_map(|(user_id, attributes)| format!("{{{user_id} {attributes}}}"))
    }

    proptest! {
        #[test]
        fn a_borrowed_context_reads_as_the_owned_one(text in context_text()) {
            let owned = crate::validate::parse_json::<EvaluationContext>(text.as_bytes());
            let borrowed = crate::validate::parse_json::<BorrowedContext>(text.as_bytes());
            match (owned, borrowed) {
                (Ok(owned), Ok(borrowed)) => {
                    prop_assert_eq!(Context::user_id(&owned), Context::user_id(&borrowed));
                    for name in NAMES {
                        prop_assert_eq!(owned.attribute(name), borrowed.attribute(name), "{}", name);
                    }
                }
                (Err(owned), Err(borrowed)) => {
                    prop_assert_eq!(owned.field, borrowed.field);
                    prop_assert_eq!(owned.message, borrowed.message);
                }
                (owned, borrowed) => prop_assert!(false, "{owned:?} against {borrowed:?}"),
            }
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_text() {
        let text = br#"{"user_id": "u-1", "attributes": {"plan": "pro", "b\u0061nd": "x\ty"}}"#;
        let context: BorrowedContext = serde_json::from_slice(text).unwrap();
        assert!(matches!(context.user_id, Some(Text(Cow::Borrowed("u-1")))));
        let [(band, tab), (plan, pro)] = &context.attributes.0[..] else {
            panic!("two attributes, sorted: {:?}", context.attributes);
        };
        assert!(matches!(
            (plan, pro),
            (Cow::Borrowed("plan"), Borrowed::Str(Cow::Borrowed("pro")))
        ));
        assert!(
            matches!((band, tab), (Cow::Owned(b), Borrowed::Str(Cow::Owned(t))) if b == "band" && t == "x\ty")
        );
    }

    #[test]
    fn a_deeply_nested_attribute_is_refused_not_a_crash() {
        let depth = 100_000;
        let text = format!(
            r#"{{"attributes": {{"a": {}{}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        // As the edge parses it: on failure, again, to name where it went wrong.
        let error = crate::validate::parse_json::<BorrowedContext>(text.as_bytes()).unwrap_err();
        assert!(error.message.contains("recursion limit"), "{error:?}");
    }

    #[test]
    fn the_last_of_repeated_attributes_counts_as_in_a_map() {
        let context: BorrowedContext =
            serde_json::from_str(r#"{"attributes": {"plan": "free", "a": 1, "plan": "pro"}}"#)
                .unwrap();
        assert_eq!(context.attribute("plan"), Some(AttributeValue::Str("pro")));
        assert_eq!(
            context.attribute("a"),
            Some(AttributeValue::Json(&Value::from(1)))
        );
        assert_eq!(context.attribute("b"), None);
    }
}
