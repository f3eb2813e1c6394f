//! A small JSON value with its own parser and writer: what the widget reads and writes on the
//! wire, so that its WebAssembly needs no serde.
//!
//! * [`Json::parse`] is strict RFC 8259: no comments, no trailing commas, nothing after the
//!   value but white space. A `\u` escape of a lone surrogate is an error (as in serde_json),
//!   and so is nesting deeper than [`MAX_DEPTH`], so hostile input cannot exhaust the stack.
//! * A number keeps the text it was written with (validated against the JSON grammar), so
//!   writing a parsed value back never formats a float, and integers made in Rust are written
//!   with integer formatting only. The `as_*` accessors read the text when asked.
//! * An object keeps its fields in order, duplicates included; [`Json::get`] finds the last
//!   one with a name (serde_json's behaviour, where the last duplicate wins).
//! * `Display` writes compact JSON, escaped as serde_json escapes (`"`, `\`, and control
//!   characters; U+2028 and U+2029 stay as they are).

use std::fmt::{self, Write};

/// The deepest nesting of arrays and objects [`Json::parse`] accepts (serde_json's).
pub const MAX_DEPTH: usize = 127;

/// A JSON value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as the text it was written with (valid JSON number syntax).
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: its fields in order, duplicates included.
    Object(Vec<(String, Json)>),
}

/// Why a text is not JSON: what was wrong, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    /// What was wrong, e.g. `expected a value`.
    pub message: &'static str,
    /// The byte offset in the input where it was noticed.
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for JsonError {}

impl Json {
    /// Parses a whole text as one JSON value.
    ///
    /// ```
    /// use chat_widget_protocol::Json;
    /// let json = Json::parse(r#"{"a": [1, "two", null], "a": true}"#).unwrap();
    /// assert_eq!(json.get("a"), Some(&Json::Bool(true)), "the last duplicate wins");
    /// assert_eq!(json.to_string(), r#"{"a":[1,"two",null],"a":true}"#);
    /// assert!(Json::parse("[1,]").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut parser = Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        };
        let value = parser.value(0)?;
        parser.skip_space();
        if parser.pos < parser.bytes.len() {
            return Err(parser.error("trailing characters"));
        }
        Ok(value)
    }

    /// Parses bytes (a response body) as one JSON value; bytes that are not UTF-8 are an error.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Json, JsonError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::parse(text),
            Err(err) => Err(JsonError {
                message: "invalid UTF-8",
                offset: err.valid_up_to(),
            }),
        }
    }

    /// An empty object, to add fields to with [`Json::with`].
    pub fn object() -> Json {
        Json::Object(Vec::new())
    }

    /// This object with one more field. (On anything but an object, the value is unchanged.)
    ///
    /// ```
    /// use chat_widget_protocol::Json;
    /// let body = Json::object().with("message", "Hi").with("stream", true).with_some("id", None::<&str>);
    /// assert_eq!(body.to_string(), r#"{"message":"Hi","stream":true}"#);
    /// ```
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Json {
        if let Json::Object(fields) = &mut self {
            fields.push((key.to_owned(), value.into()));
        }
        self
    }

    /// This object with one more field if `value` is `Some`.
    pub fn with_some<T: Into<Json>>(self, key: &str, value: Option<T>) -> Json {
        match value {
            Some(value) => self.with(key, value),
            None => self,
        }
    }

    /// Sets a field of an object: replaces the field with that name (every duplicate of it), or
    /// adds it at the end.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(fields) = self {
            // The first field with the name takes the value; the others go.
            let mut value = Some(value);
            fields.retain_mut(|(name, slot)| {
                name != key || value.take().map(|value| *slot = value).is_some()
            });
            if let Some(value) = value {
                fields.push((key.to_owned(), value));
            }
        }
    }

    /// Removes a field (every duplicate of it) from an object.
    pub fn remove(&mut self, key: &str) {
        if let Json::Object(fields) = self {
            fields.retain(|(name, _)| name != key);
        }
    }

    /// The field `key` of an object (the last, if there are duplicates).
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// A boolean's value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// A number written as an integer that fits `u64` (`60`, not `60.0`, `6e1` or `-1`).
    pub fn as_u64(&self) -> Option<u64> {
        self.number()?.parse().ok()
    }

    /// A number written as an integer that fits `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.number()?.parse().ok()
    }

    /// Any number, as an `f64` (too large a one is infinite, too small a one zero).
    ///
    /// Correctly rounded for up to 15 significant digits with a decimal exponent within ±22
    /// (`0.95`, `4.5`, `1250`, `1.5e-3`: what chat APIs send); beyond that within a few units in
    /// the last place, as serde_json's own parsing is (so the last few below `f64::MAX` may read
    /// as infinite). `str::parse::<f64>` is always exact, but its tables cost the widget 14 KB
    /// of brotli.
    pub fn as_f64(&self) -> Option<f64> {
        // Exact powers of ten: an f64 holds each of these without rounding.
        const POW10: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        let text = self.number()?;
        let (negative, text) = text
            .strip_prefix('-')
            .map_or((false, text), |rest| (true, rest));
        let (digits, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
        // The grammar was checked when parsing, so only an exponent too large for i64 fails.
        let mut exponent: i64 = exponent.parse().unwrap_or(if exponent.starts_with('-') {
            -1_000_000
        } else {
            1_000_000
        });
        exponent = exponent.clamp(-1_000_000, 1_000_000);
        // Up to 18 significant digits, exactly, in a u64; the rest only move the exponent.
        let point = digits.find('.').unwrap_or(digits.len());
        let mut mantissa: u64 = 0;
        for (index, byte) in digits
            .bytes()
            .enumerate()
            .filter(|(_, byte)| byte.is_ascii_digit())
        {
            let fraction = index > point;
            if mantissa < 100_000_000_000_000_000 {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                exponent -= i64::from(fraction);
            } else {
                exponent += i64::from(!fraction);
            }
        }
        // One rounding when the mantissa fits 53 bits and the exponent ±22; a few more otherwise.
        while mantissa != 0 && mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exponent += 1;
        }
        let mut value = mantissa as f64;
        while exponent > 22 && value != 0.0 && value.is_finite() {
            value *= POW10[22];
            exponent -= 22;
        }
        while exponent < -22 && value != 0.0 {
            value /= POW10[22];
            exponent += 22;
        }
        let power = POW10[exponent.unsigned_abs().min(22) as usize];
        value = if exponent >= 0 {
            value * power
        } else {
            value / power
        };
        Some(if negative { -value } else { value })
    }

    /// The items of an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The fields of an object, in order.
    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(fields) => Some(fields),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    fn number(&self) -> Option<&str> {
        match self {
            Json::Number(text) => Some(text),
            _ => None,
        }
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Self {
        Json::String(text.to_owned())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Self {
        Json::String(text)
    }
}

impl From<bool> for Json {
    fn from(value: bool) -> Self {
        Json::Bool(value)
    }
}

impl From<u64> for Json {
    fn from(value: u64) -> Self {
        Json::Number(value.to_string())
    }
}

impl From<i64> for Json {
    fn from(value: i64) -> Self {
        Json::Number(value.to_string())
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::Array(items)
    }
}

impl fmt::Display for Json {
    /// Compact JSON: no white space, fields in order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(value) => f.write_str(if *value { "true" } else { "false" }),
            Json::Number(text) => f.write_str(text),
            Json::String(text) => write_string(f, text),
            Json::Array(items) => {
                f.write_char('[')?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_char(',')?;
                    }
                    item.fmt(f)?;
                }
                f.write_char(']')
            }
            Json::Object(fields) => {
                f.write_char('{')?;
                for (index, (key, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        f.write_char(',')?;
                    }
                    write_string(f, key)?;
                    f.write_char(':')?;
                    value.fmt(f)?;
                }
                f.write_char('}')
            }
        }
    }
}

/// Writes a JSON string: quoted, with `"`, `\` and the control characters escaped.
fn write_string(out: &mut impl Write, text: &str) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.write_char('"')?;
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.write_str(&text[start..index])?;
        if escape.is_empty() {
            out.write_str("\\u00")?;
            out.write_char(HEX[usize::from(byte >> 4)] as char)?;
            out.write_char(HEX[usize::from(byte & 0xf)] as char)?;
        } else {
            out.write_str(escape)?;
        }
        start = index + 1;
    }
    out.write_str(&text[start..])?;
    out.write_char('"')
}

/// A recursive-descent parser over one text; recursion is bounded by [`MAX_DEPTH`].
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &'static str) -> JsonError {
        JsonError {
            message,
            offset: self.pos,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` (after white space), or fails with `message`.
    fn expect(&mut self, byte: u8, message: &'static str) -> Result<(), JsonError> {
        self.skip_space();
        if self.peek() != Some(byte) {
            return Err(self.error(message));
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes `byte` (after white space) if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    /// One value, inside `depth` arrays and objects.
    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.skip_space();
        match self.peek() {
            Some(b'{') | Some(b'[') if depth >= MAX_DEPTH => Err(self.error("nested too deeply")),
            Some(b'{') => {
                self.pos += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_space();
                        if self.peek() != Some(b'"') {
                            return Err(self.error("expected a string key"));
                        }
                        let key = self.string()?;
                        self.expect(b':', "expected `:`")?;
                        fields.push((key, self.value(depth + 1)?));
                        if !self.eat(b',') {
                            self.expect(b'}', "expected `,` or `}`")?;
                            break;
                        }
                    }
                }
                Ok(Json::Object(fields))
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if !self.eat(b',') {
                            self.expect(b']', "expected `,` or `]`")?;
                            break;
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                for (word, value) in [
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("null", Json::Null),
                ] {
                    if self.bytes[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(value);
                    }
                }
                Err(self.error("expected a value"))
            }
        }
    }

    /// Consumes ASCII digits; whether there was at least one.
    fn digits(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// A number: `-`? (`0` | [1-9][0-9]*) (`.` [0-9]+)? ([eE] [+-]? [0-9]+)?, kept as text.
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        self.pos += usize::from(self.peek() == Some(b'-'));
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.digits() {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.digits() {
                return Err(self.error("invalid number"));
            }
        }
        Ok(Json::Number(self.text[start..self.pos].to_owned()))
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(byte) if byte != b'"' && byte != b'\\' && byte >= 0x20)
            {
                self.pos += 1;
            }
            // The run ends at an ASCII byte or the end, so both ends are character boundaries.
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            out.push(self.unicode_escape()?);
                            continue;
                        }
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.pos += 1;
                    out.push(escaped);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// The character of a `\uXXXX` escape (at its `u`), or of a surrogate pair of two.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        let code = match high {
            0xd800..=0xdbff => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(self.error("lone surrogate in a \\u escape"));
                }
                self.pos += 1;
                let low = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err(self.error("lone surrogate in a \\u escape"));
                }
                0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(self.error("lone surrogate in a \\u escape")),
            other => other,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    /// The four hex digits after a `u`.
    fn hex4(&mut self) -> Result<u32, JsonError> {
        self.pos += 1;
        let mut code = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|byte| (byte as char).to_digit(16));
            let Some(digit) = digit else {
                return Err(self.error("invalid \\u escape"));
            };
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }
}

#[cfg(feature = "serde")]
mod with_serde {
    //! Conversions to and from serde_json, and serde support, for the reference server.

    use super::Json;

    impl From<serde_json::Value> for Json {
        fn from(value: serde_json::Value) -> Self {
            match value {
                serde_json::Value::Null => Json::Null,
                serde_json::Value::Bool(value) => Json::Bool(value),
                serde_json::Value::Number(number) => Json::Number(number.to_string()),
                serde_json::Value::String(text) => Json::String(text),
                serde_json::Value::Array(items) => {
                    Json::Array(items.into_iter().map(Json::from).collect())
                }
                serde_json::Value::Object(fields) => Json::Object(
                    fields
                        .into_iter()
                        .map(|(key, value)| (key, value.into()))
                        .collect(),
                ),
            }
        }
    }

    impl From<Json> for serde_json::Value {
        /// A number outside `f64`'s range (which serde_json cannot hold) becomes `null`.
        fn from(value: Json) -> Self {
            match value {
                Json::Null => serde_json::Value::Null,
                Json::Bool(value) => serde_json::Value::Bool(value),
                Json::Number(text) => text
                    .parse()
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                Json::String(text) => serde_json::Value::String(text),
                Json::Array(items) => {
                    serde_json::Value::Array(items.into_iter().map(Into::into).collect())
                }
                Json::Object(fields) => serde_json::Value::Object(
                    fields
                        .into_iter()
                        .map(|(key, value)| (key, value.into()))
                        .collect(),
                ),
            }
        }
    }

    impl serde::Serialize for Json {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serde_json::Value::from(self.clone()).serialize(serializer)
        }
    }

    impl<'de> serde::Deserialize<'de> for Json {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            serde_json::Value::deserialize(deserializer).map(Json::from)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Json {
        Json::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    #[test]
    fn parses_every_kind_of_value() {
        let json =
            parsed(" {\"a\" : [ 1 , -2.5e+3, true, false, null, \"x\" ], \"b\": {}, \"c\": []}\n");
        assert_eq!(
            json,
            Json::Object(vec![
                (
                    "a".into(),
                    Json::Array(vec![
                        Json::Number("1".into()),
                        Json::Number("-2.5e+3".into()),
                        Json::Bool(true),
                        Json::Bool(false),
                        Json::Null,
                        Json::String("x".into()),
                    ])
                ),
                ("b".into(), Json::object()),
                ("c".into(), Json::Array(vec![])),
            ])
        );
        assert_eq!(
            json.to_string(),
            r#"{"a":[1,-2.5e+3,true,false,null,"x"],"b":{},"c":[]}"#
        );
    }

    #[test]
    fn reads_every_escape() {
        let json = parsed(r#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \uD83D\uDE00 \u2028""#);
        assert_eq!(
            json.as_str(),
            Some("q\" b\\ s/ \u{8}\u{c}\n\r\t é 😀 \u{2028}")
        );
        assert_eq!(parsed("\"raw é 😀\"").as_str(), Some("raw é 😀"));
    }

    #[test]
    fn writes_strings_as_serde_json_does() {
        let text = "q\" b\\ s/ \u{8}\u{c}\n\r\t \u{0}\u{1f}\u{7f} é 😀 \u{2028}";
        assert_eq!(
            Json::from(text).to_string(),
            "\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0000\\u001f\u{7f} é 😀 \u{2028}\""
        );
        assert_eq!(parsed(&Json::from(text).to_string()).as_str(), Some(text));
    }

    #[test]
    fn rejects_what_is_not_json() {
        let cases = [
            ("", "expected a value", 0),
            ("  ", "expected a value", 2),
            ("[1,]", "expected a value", 3),
            ("{\"a\":1,}", "expected a string key", 7),
            ("{'a':1}", "expected a string key", 1),
            ("{\"a\" 1}", "expected `:`", 5),
            ("[1 2]", "expected `,` or `]`", 3),
            ("{\"a\":1 \"b\":2}", "expected `,` or `}`", 7),
            ("{} x", "trailing characters", 3),
            ("01", "trailing characters", 1),
            ("-", "invalid number", 1),
            ("1.", "invalid number", 2),
            (".5", "expected a value", 0),
            ("1e", "invalid number", 2),
            ("+1", "expected a value", 0),
            ("tru", "expected a value", 0),
            ("NaN", "expected a value", 0),
            ("\"abc", "unterminated string", 4),
            ("\"a\nb\"", "control character in a string", 2),
            ("\"\\x\"", "invalid escape", 2),
            ("\"\\u12G4\"", "invalid \\u escape", 5),
            ("\"\\uD83D\"", "lone surrogate in a \\u escape", 7),
            ("\"\\uD83D\\u0041\"", "lone surrogate in a \\u escape", 13),
            ("\"\\uDE00\"", "lone surrogate in a \\u escape", 7),
            ("\u{feff}{}", "expected a value", 0),
            ("[1] // comment", "trailing characters", 4),
        ];
        for (text, message, offset) in cases {
            assert_eq!(
                Json::parse(text),
                Err(JsonError { message, offset }),
                "{text:?}"
            );
        }
        assert_eq!(
            Json::parse_bytes(b"\"\xff\""),
            Err(JsonError {
                message: "invalid UTF-8",
                offset: 1
            })
        );
        assert_eq!(
            JsonError {
                message: "invalid number",
                offset: 7
            }
            .to_string(),
            "invalid number at byte 7"
        );
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(Json::parse(&deep(MAX_DEPTH)).is_ok());
        let too_deep = Json::parse(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(
            (too_deep.message, too_deep.offset),
            ("nested too deeply", MAX_DEPTH)
        );
        // Far deeper than the stack would take: refused at once.
        assert!(Json::parse(&"{\"a\":".repeat(1_000_000)).is_err());
    }

    #[test]
    fn numbers_keep_their_text_and_read_as_asked() {
        let n = |text: &str| parsed(text);
        assert_eq!(n("60").as_u64(), Some(60));
        assert_eq!(n("60.0").as_u64(), None, "not written as an integer");
        assert_eq!(n("6e1").as_u64(), None);
        assert_eq!(n("-1").as_u64(), None);
        assert_eq!(n("-1").as_i64(), Some(-1));
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("18446744073709551616").as_u64(), None);
        assert_eq!(n("0.95").as_f64(), Some(0.95));
        assert_eq!(n("95").as_f64(), Some(95.0));
        assert_eq!(n("1e400").as_f64(), Some(f64::INFINITY));
        assert_eq!(n("-1e-400").as_f64(), Some(-0.0));
        assert_eq!(n("1e99999999999999999999").as_f64(), Some(f64::INFINITY));
        assert_eq!(n("0.000e-99999999999999999999").as_f64(), Some(0.0));
        assert_eq!(n("-0").as_f64().map(f64::is_sign_negative), Some(true));
        assert_eq!(
            n("12345678901234567890123.5e-2").to_string(),
            "12345678901234567890123.5e-2"
        );
        assert_eq!(Json::from("60").as_u64(), None, "a string is not a number");
        assert_eq!(Json::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Json::from(-7_i64).to_string(), "-7");
    }

    /// `as_f64` against the standard library's exact parsing: the same bits where the docs
    /// promise it (15 significant digits, exponent ±22), else a few units in the last place.
    fn check_f64(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let ours = parsed(text).as_f64().unwrap();
        let exact: f64 = text.parse().unwrap();
        if ours.to_bits() == exact.to_bits() {
            return Ok(());
        }
        let (digits, exponent) = text
            .trim_start_matches('-')
            .split_once(['e', 'E'])
            .unwrap_or((text.trim_start_matches('-'), "0"));
        let (int, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let significant = format!("{int}{fraction}");
        let significant = significant.trim_start_matches('0');
        let trailing = significant.len() - significant.trim_end_matches('0').len();
        let e10 = exponent.parse::<i64>().unwrap() - fraction.len() as i64 + trailing as i64;
        let promised = significant.len() - trailing <= 15 && e10.abs() <= 22;
        proptest::prop_assert!(!promised, "{} read as {} not {}", text, ours, exact);
        let close = if ours.is_infinite() {
            exact.abs() > f64::MAX * (1.0 - 1e-14) // the last few units below the largest f64
        } else if exact.is_normal() {
            ((ours - exact) / exact).abs() < 1e-14
        } else {
            (ours - exact).abs() <= f64::MIN_POSITIVE
        };
        proptest::prop_assert!(close, "{} read as {} not {}", text, ours, exact);
        Ok(())
    }

    #[test]
    fn floats_at_the_edges_read_nearly() {
        for text in [
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "2.2250738585072014e-308",
            "4.9e-324",
            "2e-324",
            "9007199254740993",
            "123456789012345678901234567890",
            "0.1",
            "0.30000000000000004",
            "1e22",
            "1e23",
            "3.14159265358979323846264338327950288",
            "-0.0000000000000000000000000000001",
        ] {
            check_f64(text).unwrap();
        }
    }

    proptest::proptest! {
        #[test]
        fn floats_read_exactly_or_within_a_few_ulps(
            sign in "-?", int in "(0|[1-9][0-9]{0,24})", fraction in "(\\.[0-9]{1,24})?", exponent in "([eE][+-]?[0-9]{1,3})?",
        ) {
            check_f64(&format!("{sign}{int}{fraction}{exponent}"))?;
        }

        #[test]
        fn any_float_written_by_rust_reads_back_nearly(value in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            check_f64(&format!("{value:e}"))?;
            check_f64(&value.to_string())?;
        }
    }

    #[test]
    fn objects_keep_their_order_and_the_last_duplicate_wins() {
        let json = parsed(r#"{"b":1,"a":2,"b":3}"#);
        assert_eq!(json.get("b").and_then(Json::as_u64), Some(3));
        assert_eq!(json.get("c"), None);
        assert_eq!(json.to_string(), r#"{"b":1,"a":2,"b":3}"#);
        assert_eq!(Json::Array(vec![]).get("a"), None);

        let mut json = json;
        json.set("a", Json::from("x"));
        json.set("b", Json::Null);
        json.set("c", Json::from(true));
        assert_eq!(json.to_string(), r#"{"b":null,"a":"x","c":true}"#);
        json.remove("a");
        assert_eq!(json.to_string(), r#"{"b":null,"c":true}"#);
    }

    #[test]
    fn accessors_answer_only_for_their_own_kind() {
        let json = parsed(r#"{"s":"t","b":false,"a":[1],"o":{"k":null}}"#);
        assert_eq!(json.get("s").and_then(Json::as_str), Some("t"));
        assert_eq!(json.get("b").and_then(Json::as_bool), Some(false));
        assert_eq!(
            json.get("a").and_then(Json::as_array).map(<[Json]>::len),
            Some(1)
        );
        assert!(json.get("o").is_some_and(Json::is_object));
        assert!(json
            .get("o")
            .and_then(|o| o.get("k"))
            .is_some_and(Json::is_null));
        assert_eq!(json.get("s").and_then(Json::as_bool), None);
        assert_eq!(json.get("b").and_then(Json::as_str), None);
        assert_eq!(json.get("a").and_then(Json::as_object), None);
        assert_eq!(json.get("o").and_then(Json::as_array), None);
    }
}
