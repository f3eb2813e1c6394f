//! One module per vendor wire format. Only these modules know a wire shape; everything else
//! sees [`crate::model`]. Each module has the request body the widget sends, the reply and
//! error bodies the server answers with, and `decode_*` functions from bytes to the model.
//! The reference server encodes with the same types, so a round-trip test catches drift.
//!
//! [`Dialect`] names them; it is what the widget's `data-dialect` attribute selects.

pub mod chataibot;
pub mod chatbots;
pub mod jelytech;
pub mod jombot;
pub mod openai;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{ApiError, ErrorCode, ResponseMeta, SuggestedAction};

/// The error for a response whose status says failure but whose body says nothing usable
/// (an HTML page from a proxy, an empty body): named from the status alone.
pub fn error_from_status(meta: &ResponseMeta, detail: &str) -> ApiError {
    let code = match meta.status {
        401 => ErrorCode::InvalidApiKey,
        402 => ErrorCode::InsufficientCredits,
        403 => ErrorCode::QuotaExceeded,
        404 => ErrorCode::BotNotFound,
        400 | 422 => ErrorCode::InvalidRequest,
        429 => ErrorCode::RateLimitExceeded,
        500..=599 => ErrorCode::Server,
        _ => ErrorCode::MalformedResponse,
    };
    ApiError {
        code,
        message: format!("HTTP {} {detail}", meta.status),
        http_status: Some(meta.status),
        retry_after_s: meta
            .header_retry_after_s()
            .filter(|_| meta.status == 429 || meta.status == 503),
    }
}

/// The wire format a widget speaks: what `data-dialect` selects.
///
/// ```
/// use chat_widget_protocol::dialect::Dialect;
/// assert_eq!(Dialect::parse("OpenAI"), Some(Dialect::Openai));
/// assert_eq!(Dialect::parse(" open-ai "), Some(Dialect::Openai));
/// assert_eq!(Dialect::default().as_str(), "chatbots");
/// assert_eq!(Dialect::parse("smoke-signals"), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PollyBot's `POST /api/v1/chatbots/{id}/chat` ([`chatbots`]); the default.
    #[default]
    Chatbots,
    /// JomBot's `POST /v1/chat/message` ([`jombot`]).
    Jombot,
    /// JelyTech's `/v1/chat/send`, `/v1/chat/history/:id`, `/v1/bots` ([`jelytech`]).
    Jelytech,
    /// ChatAIBot's "API as a channel", `/api/v1/conversations` ([`chataibot`]).
    Chataibot,
    /// An OpenAI-compatible `POST /v1/chat/completions` ([`openai`]).
    Openai,
}

impl Dialect {
    /// Every dialect, the default first.
    pub const ALL: [Dialect; 5] = [
        Self::Chatbots,
        Self::Jombot,
        Self::Jelytech,
        Self::Chataibot,
        Self::Openai,
    ];

    /// Reads a `data-dialect` value: the [`Dialect::as_str`] spelling, case-insensitive and
    /// trimmed; `open-ai` and `open_ai` are accepted for [`Dialect::Openai`].
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "chatbots" => Some(Self::Chatbots),
            "jombot" => Some(Self::Jombot),
            "jelytech" => Some(Self::Jelytech),
            "chataibot" => Some(Self::Chataibot),
            "openai" | "open-ai" | "open_ai" => Some(Self::Openai),
            _ => None,
        }
    }

    /// The canonical spelling: `chatbots`, `jombot`, `jelytech`, `chataibot`, `openai`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chatbots => "chatbots",
            Self::Jombot => "jombot",
            Self::Jelytech => "jelytech",
            Self::Chataibot => "chataibot",
            Self::Openai => "openai",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Dialect {
    type Err = ApiError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("unknown dialect \"{value}\""),
            )
        })
    }
}

/// Whether the status is a 2xx.
fn is_success(meta: &ResponseMeta) -> bool {
    (200..300).contains(&meta.status)
}

/// A body as JSON. A body that is not JSON is named from a failure status (a proxy's HTML
/// page) or, with a success status, is a malformed reply; a web page then most likely means
/// the API address is the site's own (a site owner's usual slip), and the error says so.
fn parse_json(meta: &ResponseMeta, body: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(_) if !is_success(meta) => Err(error_from_status(meta, "with a body that is not JSON")),
        Err(_) if body.trim_ascii_start().starts_with(b"<") => Err(ApiError::malformed(
            meta.status,
            "reply is a web page, not JSON: is the API address (data-api-url) the chat API's?"
                .to_owned(),
        )),
        Err(err) => Err(ApiError::malformed(
            meta.status,
            format!("reply is not JSON: {err}"),
        )),
    }
}

/// Reads a JSON value as a wire type by its serde derive, or why it does not have the shape,
/// naming the field at fault (`data.response: invalid type: integer `42`, expected a string`).
pub(crate) fn read<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// [`read`] for a dialect's success shape: a malformed-reply error naming the dialect and
/// what was wrong.
fn shaped<T: DeserializeOwned>(
    meta: &ResponseMeta,
    dialect: Dialect,
    value: &Value,
) -> Result<T, ApiError> {
    read(value).map_err(|err| {
        ApiError::malformed(
            meta.status,
            format!("reply does not have the {dialect} shape: {err}"),
        )
    })
}

/// A wire type as JSON text (the request bodies).
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // Only a map with keys that are not strings fails, and no wire type has one.
    serde_json::to_string(value).unwrap_or_default()
}

/// The status to report in an [`ApiError`]: none for the zero of a stream's meta.
fn reported_status(meta: &ResponseMeta) -> Option<u16> {
    (meta.status != 0).then_some(meta.status)
}

/// The model's error from the parts of a dialect's error body. Without a code, the status
/// names it; a 429 without a retry hint in the body takes the headers' one.
fn api_error(
    meta: &ResponseMeta,
    code: Option<&str>,
    message: Option<&str>,
    retry_after_s: Option<u64>,
) -> ApiError {
    let Some(code) = code.filter(|code| !code.trim().is_empty()) else {
        return error_from_status(meta, message.unwrap_or("without an error code"));
    };
    ApiError {
        code: ErrorCode::from_wire(code),
        message: message.filter(|m| !m.is_empty()).unwrap_or(code).to_owned(),
        http_status: reported_status(meta),
        retry_after_s: retry_after_s
            .or_else(|| meta.header_retry_after_s().filter(|_| meta.status == 429)),
    }
}

/// Reads an error body that is either `{"error": {"code", "message", <retry>}}` or flat,
/// `{"error": "text", "code", <retry>}` (or `"message"` for the text), as jombot, jelytech
/// and chataibot servers send. `retry_after` names the spellings of the wait, in seconds.
/// Error bodies are read field by field, not by a derive: any of their parts may be missing
/// or of another type, and what is there still names the error.
fn nested_or_flat_error(meta: &ResponseMeta, value: &Value, retry_after: &[&str]) -> ApiError {
    let (detail, flat) = match value.get("error") {
        Some(inner @ Value::Object(_)) => (inner, false),
        _ => (value, true),
    };
    let text = |name: &str| detail.get(name).and_then(Value::as_str);
    let message = if flat {
        text("error").or_else(|| text("message"))
    } else {
        text("message")
    };
    let retry_after_s = retry_after
        .iter()
        .find_map(|name| detail.get(name))
        .and_then(Value::as_u64);
    api_error(meta, text("code"), message, retry_after_s)
}

/// For the derived `Deserialize` of optional reply fields that must not sink a whole reply:
/// a value of the wrong type reads as absent.
pub(crate) fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(&value).ok())
}

/// For the derived `Deserialize` of suggested actions: skips any this widget does not know
/// (an unknown `type`, no `text`); a value that is not a list reads as none.
pub(crate) fn lenient_actions<'de, D>(deserializer: D) -> Result<Vec<SuggestedAction>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(deserializer)?;
    Ok(match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| SuggestedAction::deserialize(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// For the derived `Deserialize` of a required list whose items may be skipped: the field
/// must be a list, and the items this widget cannot read (another role, a missing id) are
/// left out.
fn lenient_items<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let items = Vec::<Value>::deserialize(deserializer)?;
    Ok(items
        .iter()
        .filter_map(|item| T::deserialize(item).ok())
        .collect())
}

/// The longest id, in bytes, the widget puts in a URL or keeps in storage.
pub const MAX_ID_BYTES: usize = 256;

/// Whether `id` (a conversation, message or bot id, from a server, the page or storage) can
/// be one URL path segment once encoded: not empty, at most [`MAX_ID_BYTES`] bytes, no
/// control characters or white space (no server's id has them: that is text, or garbage in
/// storage), and not `.` or `..`, which a URL resolves as "this folder" and "one up",
/// escaped (`%2E`) or not. `/`, `?`, `#`, `%` and the rest are fine: they are escaped.
///
/// ```
/// use chat_widget_protocol::dialect::is_usable_id;
/// assert!(is_usable_id("conv_1") && is_usable_id("a/b?c#d%e"));
/// assert!(!is_usable_id("..") && !is_usable_id("") && !is_usable_id("a\nb"));
/// ```
pub fn is_usable_id(id: &str) -> bool {
    let odd = |c: char| c.is_control() || c.is_whitespace();
    !id.is_empty() && id.len() <= MAX_ID_BYTES && id != "." && id != ".." && !id.chars().any(odd)
}

/// `id` itself when [`is_usable_id`], else the error that names what was wrong (a server
/// that sent such an id is misbehaving: [`ErrorCode::MalformedResponse`]). Every path the
/// widget builds from an id goes through this first.
pub fn usable_id<'a>(what: &str, id: &'a str) -> Result<&'a str, ApiError> {
    if is_usable_id(id) {
        Ok(id)
    } else {
        let shown: String = id
            .chars()
            .take(40)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        Err(ApiError::new(
            ErrorCode::MalformedResponse,
            format!("the {what} \"{shown}\" cannot be used in a URL"),
        ))
    }
}

/// Encodes a path segment so an id can never change the path. Callers pass a usable id
/// ([`usable_id`]): `.` and `..` stay what they are.
fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    out
}

/// Helpers the dialects' tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::ResponseMeta;

    /// The reply head of a JSON response with this status.
    pub fn meta(status: u16) -> ResponseMeta {
        ResponseMeta {
            status,
            content_type: Some("application/json".into()),
            ..Default::default()
        }
    }

    /// A request body the encoder wrote, parsed back by serde_json.
    pub fn sent(body: &str) -> serde_json::Value {
        serde_json::from_str(body).expect("the encoder writes JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_parses_from_its_own_name() {
        for dialect in Dialect::ALL {
            assert_eq!(Dialect::parse(dialect.as_str()), Some(dialect));
            assert_eq!(
                Dialect::parse(&dialect.as_str().to_uppercase()),
                Some(dialect)
            );
            assert_eq!(dialect.to_string().parse::<Dialect>().ok(), Some(dialect));
        }
        assert_eq!(Dialect::parse("Open-AI"), Some(Dialect::Openai));
        assert_eq!(Dialect::parse(""), None);
        assert!("pollybot".parse::<Dialect>().is_err());
    }

    #[test]
    fn a_web_page_for_a_reply_points_at_the_api_address() {
        let meta = test_support::meta(200);
        for page in [
            &b"<!doctype html><html><body>Our shop</body></html>"[..],
            b"\n  <html>",
        ] {
            let err = parse_json(&meta, page).unwrap_err();
            assert_eq!(err.code, ErrorCode::MalformedResponse);
            assert!(err.message.contains("data-api-url"), "{}", err.message);
        }
        let err = parse_json(&meta, b"{\"response\": ").unwrap_err();
        assert!(
            err.message.starts_with("reply is not JSON: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("conv_1-a.b~"), "conv_1-a.b~");
        assert_eq!(path_segment("../x?y=1#z"), "..%2Fx%3Fy%3D1%23z");
        assert_eq!(path_segment("é"), "%C3%A9");
    }

    #[test]
    fn hostile_ids_are_one_segment_or_refused() {
        for hostile in [
            "a/b",
            "../admin",
            "x?y=1",
            "x#y",
            "100%",
            "%2E%2E",
            "<b>{\"x\":1}</b>",
            "é/€",
            "...",
            ".a",
        ] {
            assert!(is_usable_id(hostile), "{hostile:?}");
            let segment = path_segment(usable_id("conversation id", hostile).unwrap());
            assert!(
                !segment.contains(['/', '?', '#']),
                "{hostile:?} stays one segment: {segment}"
            );
            assert!(segment != "." && segment != "..");
        }
        assert_eq!(
            path_segment("%2E%2E"),
            "%252E%252E",
            "an escaped dot is escaped again, not decoded"
        );
        let long = "x".repeat(MAX_ID_BYTES + 1);
        for refused in [
            "",
            ".",
            "..",
            "a\nb",
            "a\u{0}b",
            "\u{7f}",
            "tab\there",
            "\u{85}",
            " ",
            "a b",
            "a\u{a0}b",
            long.as_str(),
        ] {
            assert!(!is_usable_id(refused), "{refused:?}");
            let error = usable_id("conversation id", refused).unwrap_err();
            assert_eq!(error.code, ErrorCode::MalformedResponse);
            assert!(
                error.message.contains("conversation id") && error.message.len() < 120,
                "{}",
                error.message
            );
        }
        assert!(is_usable_id(&"x".repeat(MAX_ID_BYTES)));
    }
}
