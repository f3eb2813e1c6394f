//! Reading the dialects' wire shapes from [`Json`], by the rules the wire types' serde derives
//! apply on the server: a required field that is missing, or any field of the wrong type,
//! fails the whole shape with a message that names it; `null` is an absent optional; unknown
//! fields are ignored. [`Fields::lenient`] and [`Fields::actions`] are the exceptions, for
//! optional fields that must not sink a reply.

use crate::json::Json;
use crate::model::{ActionKind, SuggestedAction};

/// A value read from JSON, or why it does not have the shape (naming the field).
pub(crate) type Shape<T> = Result<T, String>;

/// A type read from JSON by the rules above.
pub(crate) trait FromJson: Sized {
    /// Reads the value, or says what is wrong with it.
    fn from_json(json: &Json) -> Shape<Self>;
}

fn expected<T>(what: &str) -> Shape<T> {
    Err(format!("expected {what}"))
}

impl FromJson for String {
    fn from_json(json: &Json) -> Shape<Self> {
        json.as_str()
            .map_or_else(|| expected("a string"), |text| Ok(text.to_owned()))
    }
}

impl FromJson for bool {
    fn from_json(json: &Json) -> Shape<Self> {
        json.as_bool().map_or_else(|| expected("true or false"), Ok)
    }
}

impl FromJson for u64 {
    fn from_json(json: &Json) -> Shape<Self> {
        json.as_u64().map_or_else(|| expected("a whole number"), Ok)
    }
}

impl FromJson for u32 {
    fn from_json(json: &Json) -> Shape<Self> {
        json.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map_or_else(|| expected("a small whole number"), Ok)
    }
}

impl FromJson for f64 {
    fn from_json(json: &Json) -> Shape<Self> {
        json.as_f64().map_or_else(|| expected("a number"), Ok)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(json: &Json) -> Shape<Self> {
        let Some(items) = json.as_array() else {
            return expected("a list");
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| T::from_json(item).map_err(|err| format!("item {index}: {err}")))
            .collect()
    }
}

/// One of a few strings, each the wire spelling of a value (an enum's variants).
pub(crate) fn one_of<T: Copy>(json: &Json, spellings: &[(&str, T)]) -> Shape<T> {
    let Some(text) = json.as_str() else {
        return expected("a string");
    };
    match spellings.iter().find(|(spelling, _)| *spelling == text) {
        Some((_, value)) => Ok(*value),
        None => Err(format!("unknown value `{text}`")),
    }
}

/// The fields of a JSON object, read as a wire shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a>(&'a Json);

impl<'a> Fields<'a> {
    /// The fields of `json`; anything but an object does not have the shape.
    pub fn of(json: &'a Json) -> Shape<Self> {
        if json.is_object() {
            Ok(Self(json))
        } else {
            expected("an object")
        }
    }

    /// A required field, present even when it is wrong (so the error can say what it is).
    fn present(self, name: &str) -> Shape<&'a Json> {
        self.0
            .get(name)
            .ok_or_else(|| format!("missing field `{name}`"))
    }

    /// A required field.
    pub fn field<T: FromJson>(self, name: &str) -> Shape<T> {
        T::from_json(self.present(name)?).map_err(|err| format!("`{name}`: {err}"))
    }

    /// An optional field: absent or `null` is `None`; any other wrong type fails.
    pub fn optional<T: FromJson>(self, name: &str) -> Shape<Option<T>> {
        match self.0.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(_) => self.field(name).map(Some),
        }
    }

    /// A field that has a default when absent (`null` is a wrong type, as with serde's
    /// `#[serde(default)]`).
    pub fn or_default<T: FromJson + Default>(self, name: &str) -> Shape<T> {
        match self.0.get(name) {
            None => Ok(T::default()),
            Some(_) => self.field(name),
        }
    }

    /// An optional field that reads as absent when it is missing, `null` or of the wrong type.
    pub fn lenient<T: FromJson>(self, name: &str) -> Option<T> {
        self.0.get(name).and_then(|value| T::from_json(value).ok())
    }

    /// A required object.
    pub fn object(self, name: &str) -> Shape<Fields<'a>> {
        Fields::of(self.present(name)?).map_err(|err| format!("`{name}`: {err}"))
    }

    /// A required list, its items left to the caller.
    pub fn list(self, name: &str) -> Shape<&'a [Json]> {
        self.present(name)?
            .as_array()
            .map_or_else(|| Err(format!("`{name}`: expected a list")), Ok)
    }

    /// Suggested actions, leniently: the ones this widget knows, skipping any others (an
    /// unknown `type`, no `text`); none when the field is absent or not a list.
    pub fn actions(self, name: &str) -> Vec<SuggestedAction> {
        let items = self
            .0
            .get(name)
            .and_then(Json::as_array)
            .unwrap_or_default();
        items
            .iter()
            .filter_map(|item| SuggestedAction::from_json(item).ok())
            .collect()
    }

    /// The first of a field's spellings that is present, else the first.
    pub fn spelling(self, spellings: &[&'static str]) -> &'static str {
        spellings
            .iter()
            .copied()
            .find(|name| self.0.get(name).is_some())
            .unwrap_or(spellings[0])
    }
}

/// Implements [`FromJson`] for a struct read from a JSON object, naming for each field the
/// [`Fields`] method that reads it and its wire name: `field`, `optional` and `or_default`
/// fail the shape when the field is wrong, `lenient` and `actions` never do.
///
/// `from_fields!(Theme { primary_color: lenient("primaryColor"), position: lenient("position") });`
macro_rules! from_fields {
    ($type:ident { $($field:ident: $read:ident($name:literal)),* $(,)? }) => {
        impl $crate::dialect::shape::FromJson for $type {
            fn from_json(json: &$crate::json::Json) -> $crate::dialect::shape::Shape<Self> {
                let fields = $crate::dialect::shape::Fields::of(json)?;
                Ok(Self { $($field: $crate::dialect::shape::from_fields!(@read fields $read $name)),* })
            }
        }
    };
    (@read $fields:ident lenient $name:literal) => { $fields.lenient($name) };
    (@read $fields:ident actions $name:literal) => { $fields.actions($name) };
    (@read $fields:ident $read:ident $name:literal) => { $fields.$read($name)? };
}
pub(crate) use from_fields;

/// The spellings of the suggested actions' field: `suggested_actions` (ours, jombot's) or
/// `suggestedActions`.
pub(crate) const ACTIONS: [&str; 2] = ["suggested_actions", "suggestedActions"];

impl FromJson for ActionKind {
    fn from_json(json: &Json) -> Shape<Self> {
        one_of(
            json,
            &[
                ("quick_reply", Self::QuickReply),
                ("url", Self::Url),
                ("postback", Self::Postback),
            ],
        )
    }
}

// `{"type"?: "quick_reply" | "url" | "postback", "text", "payload"?}`.
from_fields!(SuggestedAction {
    kind: or_default("type"),
    text: field("text"),
    payload: optional("payload")
});

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        Json::parse(text).unwrap()
    }

    #[test]
    fn fields_follow_the_derives_rules_and_name_what_is_wrong() {
        let value = json(r#"{"s":"t","n":null,"i":7,"f":0.5,"o":{"x":1},"l":[1,2],"bad":[1,"2"]}"#);
        let fields = Fields::of(&value).unwrap();
        assert_eq!(fields.field::<String>("s"), Ok("t".into()));
        assert_eq!(
            fields.field::<String>("absent"),
            Err("missing field `absent`".into())
        );
        assert_eq!(
            fields.field::<String>("i"),
            Err("`i`: expected a string".into())
        );
        assert_eq!(
            fields.field::<String>("n"),
            Err("`n`: expected a string".into())
        );
        assert_eq!(fields.optional::<String>("n"), Ok(None));
        assert_eq!(fields.optional::<String>("absent"), Ok(None));
        assert_eq!(
            fields.optional::<String>("i"),
            Err("`i`: expected a string".into())
        );
        assert_eq!(fields.or_default::<String>("absent"), Ok(String::new()));
        assert_eq!(
            fields.or_default::<String>("n"),
            Err("`n`: expected a string".into())
        );
        assert_eq!(fields.lenient::<String>("i"), None);
        assert_eq!(fields.lenient::<f64>("i"), Some(7.0));
        assert_eq!(fields.lenient::<u64>("f"), None);
        assert_eq!(fields.field::<u32>("i"), Ok(7));
        assert_eq!(fields.field::<Vec<u64>>("l"), Ok(vec![1, 2]));
        assert_eq!(
            fields.field::<Vec<u64>>("bad"),
            Err("`bad`: item 1: expected a whole number".into())
        );
        assert_eq!(
            fields.object("o").and_then(|o| o.field::<String>("x")),
            Err("`x`: expected a string".into())
        );
        assert_eq!(
            fields.object("s").err(),
            Some("`s`: expected an object".into())
        );
        assert_eq!(fields.list("l").map(<[Json]>::len), Ok(2));
        assert_eq!(fields.list("o"), Err("`o`: expected a list".into()));
        assert_eq!(
            Fields::of(&json("[]")).err(),
            Some("expected an object".into())
        );
    }

    #[test]
    fn actions_are_strict_alone_and_lenient_in_a_reply() {
        let action = |text: &str| SuggestedAction::from_json(&json(text));
        assert_eq!(
            action(r#"{"text":"Docs","type":"url","payload":"https://x.test","extra":1}"#),
            Ok(SuggestedAction {
                kind: ActionKind::Url,
                text: "Docs".into(),
                payload: Some("https://x.test".into())
            })
        );
        assert_eq!(
            action(r#"{"text":"Plain","payload":null}"#).map(|a| (a.kind, a.payload)),
            Ok((ActionKind::QuickReply, None))
        );
        assert_eq!(
            action(r#"{"type":"carousel","text":"?"}"#),
            Err("`type`: unknown value `carousel`".into())
        );
        assert_eq!(
            action(r#"{"type":null,"text":"?"}"#),
            Err("`type`: expected a string".into())
        );
        assert_eq!(
            action(r#"{"type":"url"}"#),
            Err("missing field `text`".into())
        );

        let reply =
            json(r#"{"a":[{"type":"carousel","text":"?"},{"text":"Yes"},7],"b":{"text":"No"}}"#);
        let fields = Fields::of(&reply).unwrap();
        assert_eq!(fields.actions("a").len(), 1);
        assert!(fields.actions("b").is_empty());
        assert!(fields.actions("absent").is_empty());
        assert_eq!(fields.spelling(&["x", "a"]), "a");
        assert_eq!(fields.spelling(&["x", "y"]), "x");
    }
}
