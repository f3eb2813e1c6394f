//! Our JSON against serde_json's: any value serde_json writes parses to the same value, our
//! writer writes exactly what serde_json writes, and texts near JSON (a value's text with a
//! piece cut out, put in or changed) are accepted or refused by both alike. Only with the
//! `serde` feature, which brings serde_json.
#![cfg(feature = "serde")]

use chat_widget_protocol::json::MAX_DEPTH;
use chat_widget_protocol::Json;
use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value serde_json can hold: every kind of number, strings with any characters
/// (control characters, quotes, surrogate-pair characters), nested arrays and objects.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// What each parser makes of a text: the value, or `None` for an error.
fn both(text: &str) -> (Option<Value>, Option<Value>) {
    (
        Json::parse(text).ok().map(Value::from),
        serde_json::from_str::<Value>(text).ok(),
    )
}

/// Pieces that matter to JSON's grammar, for the near-JSON texts.
const PIECES: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\uD83D", "\\uDE00", "\\n", "\\x", "0", "1",
    "-", "+", ".", "e", "E", "true", "fals", "null", " ", "\n", "\t", "\u{1}", "\u{7f}", "é", "😀",
    "/",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    // Compared with what serde_json reads back, not with `value` itself: serde_json's own
    // float parsing does not always give back the float it wrote (the last digit may differ).

    #[test]
    fn what_serde_json_writes_parses_to_the_same_value(value in value()) {
        for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
            let parsed = Json::parse(&text).map_err(|err| TestCaseError::fail(format!("{err} in {text}")))?;
            prop_assert_eq!(Value::from(parsed), serde_json::from_str::<Value>(&text).unwrap());
        }
    }

    #[test]
    fn what_we_write_is_what_serde_json_writes(value in value()) {
        let theirs = serde_json::to_string(&value).unwrap();
        let ours = Json::from(value).to_string();
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(serde_json::from_str::<Value>(&ours).unwrap(), serde_json::from_str::<Value>(&theirs).unwrap());
    }

    #[test]
    fn near_json_is_judged_alike(
        value in value(),
        at in any::<prop::sample::Index>(),
        cut in 0..4_usize,
        put in prop::sample::select(PIECES),
    ) {
        let text = serde_json::to_string(&value).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let start = at.index(chars.len() + 1);
        let end = (start + cut).min(chars.len());
        let near: String = chars[..start].iter().chain(put.chars().collect::<Vec<_>>().iter()).chain(&chars[end..]).collect();
        let serde_says = serde_json::from_str::<Value>(&near);
        // serde_json refuses a number too large for f64; we keep its text (see `json`'s docs).
        prop_assume!(!serde_says.as_ref().is_err_and(|err| err.to_string().contains("out of range")));
        let (ours, theirs) = both(&near);
        prop_assert_eq!(ours, theirs, "{}", near);
    }
}

#[test]
fn the_nesting_limit_is_serde_jsons() {
    for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        for text in [arrays, objects] {
            let (ours, theirs) = both(&text);
            assert_eq!(ours.is_some(), theirs.is_some(), "depth {depth}");
        }
    }
}

#[test]
fn escapes_serde_json_never_writes_parse_alike() {
    for text in [
        r#""\/\b\f\u00e9\uD83D\uDE00\u0000""#,
        r#""\uD83D""#,
        r#""\uDE00""#,
        r#""\uD83Dx""#,
        r#""\uD83D\u0041""#,
        r#""\u00G0""#,
        "[1e400]",
        "[-0, 0.0e0, 1E+2, -1.5e-3]",
        "\u{feff}[]",
    ] {
        let (ours, theirs) = both(text);
        if text == "[1e400]" {
            assert_eq!(
                (ours.is_some(), theirs),
                (true, None),
                "we keep the text; serde_json refuses it"
            );
        } else {
            assert_eq!(ours, theirs, "{text}");
        }
    }
}
