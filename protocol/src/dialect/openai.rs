//! The "openai" dialect: an OpenAI-compatible `POST {base}/v1/chat/completions` (llama.cpp,
//! vLLM, Ollama, or a proxy in front of a hosted model). Beyond the seeds.
//!
//! The widget keeps the history itself and sends all of it: `{"model","messages":[{"role":
//! "system"|"user"|"assistant","content"}],"stream"}` ([`encode_request`]). The JSON reply is
//! `{"id","object":"chat.completion","created","model","choices":[{"index","message":{"role",
//! "content"},"finish_reason"}],"usage"?}` ([`decode_response`]); the streamed reply is
//! `data: {chunk}` events ending with `data: [DONE]`, which [`crate::stream::decode_event`]
//! reads (the server side writes them with [`CompletionChunk`]). There is no conversation id:
//! a decoded [`Reply`] has an empty `conversation_id` and the completion's `id` as its
//! `message_id`.
//!
//! Errors are OpenAI's `{"error":{"message","type","param","code"}}`; [`decode_error_value`]
//! reads the code first, then the type, then the status. The reference server's codes
//! ([`error_body`]): `invalid_api_key` 401, `insufficient_credits` 402, `insufficient_quota` 403
//! (OpenAI itself sends it with 429; both read as [`ErrorCode::QuotaExceeded`]),
//! `origin_not_allowed` 403, `model_not_found` 404 (the model names the bot),
//! `invalid_request` 400, `rate_limit_exceeded` 429, `server_error` 500.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{error_from_status, is_success, parse_json, reported_status, shaped, to_json, Dialect};
use crate::model::{ApiError, ErrorCode, Reply, ResponseMeta};

/// The endpoint's path below the API base URL.
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/chat/completions";

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions from the site owner.
    System,
    /// The visitor.
    User,
    /// The bot.
    Assistant,
}

impl Role {
    /// The wire spelling: `system`, `user` or `assistant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One turn of the history the widget sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTurn {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

impl ChatTurn {
    /// A turn.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// The model (on the reference server: the bot's id).
    pub model: String,
    /// The whole history, oldest first, ending with the visitor's new message.
    pub messages: Vec<ChatTurn>,
    /// Ask for `data:` chunks ending with `[DONE]`.
    #[serde(default)]
    pub stream: bool,
}

/// Encodes the history (ending with the visitor's new message) as the request body.
pub fn encode_request(history: &[ChatTurn], model: &str, stream: bool) -> String {
    to_json(&CompletionRequest {
        model: model.to_owned(),
        messages: history.to_vec(),
        stream,
    })
}

/// `choices[].message` of a JSON reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionMessage {
    /// `assistant`.
    pub role: Role,
    /// The reply text; `null` (a tool call) reads as empty.
    #[serde(default, deserialize_with = "super::lenient")]
    pub content: Option<String>,
}

/// One of `choices` in a JSON reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Its position.
    #[serde(default)]
    pub index: u32,
    /// The message.
    pub message: CompletionMessage,
    /// `stop`, `length`, ...
    #[serde(default, deserialize_with = "super::lenient")]
    pub finish_reason: Option<String>,
}

/// Token counts (the reference server counts words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// In the request.
    pub prompt_tokens: u64,
    /// In the reply.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

/// A JSON reply: `{"id","object":"chat.completion",...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The completion's id.
    #[serde(default)]
    pub id: String,
    /// `chat.completion`.
    #[serde(default)]
    pub object: String,
    /// Unix seconds.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<u64>,
    /// The model that answered.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<String>,
    /// The replies; the first is the one shown.
    pub choices: Vec<Choice>,
    /// Token counts.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub usage: Option<Usage>,
}

/// Decodes a JSON response (success or error) into the model.
pub fn decode_response(meta: &ResponseMeta, body: &[u8]) -> Result<Reply, ApiError> {
    let value = parse_json(meta, body)?;
    if !is_success(meta) || value.get("error").is_some_and(|e| !e.is_null()) {
        return Err(decode_error_value(meta, &value));
    }
    // Its `created`, `model` and `usage` are lenient: never wrong.
    let Completion { id, choices, .. } = shaped(meta, Dialect::Openai, &value)?;
    let Some(choice) = choices.into_iter().min_by_key(|c| c.index) else {
        return Err(ApiError::malformed(
            meta.status,
            "the completion has no choices",
        ));
    };
    Ok(Reply {
        text: choice.message.content.unwrap_or_default(),
        conversation_id: String::new(),
        message_id: (!id.is_empty()).then_some(id),
        timestamp: None,
        suggested_actions: Vec::new(),
        confidence: None,
    })
}

/// `delta` of a streamed chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkDelta {
    /// `assistant`, in the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// One of `choices` in a streamed chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Its position.
    pub index: u32,
    /// What it adds.
    pub delta: ChunkDelta,
    /// `null` until the last chunk, then `stop`.
    pub finish_reason: Option<String>,
}

/// One streamed chunk, the data of one `data:` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionChunk {
    /// The completion's id, the same in every chunk.
    pub id: String,
    /// `chat.completion.chunk`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model.
    pub model: String,
    /// The additions.
    pub choices: Vec<ChunkChoice>,
}

impl CompletionChunk {
    /// A chunk of completion `id` with one choice.
    pub fn new(
        id: &str,
        created: u64,
        model: &str,
        delta: ChunkDelta,
        finish_reason: Option<&str>,
    ) -> Self {
        Self {
            id: id.to_owned(),
            object: "chat.completion.chunk".to_owned(),
            created,
            model: model.to_owned(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish_reason.map(str::to_owned),
            }],
        }
    }
}

/// The `data:` of the event that ends a stream.
pub const DONE: &str = "[DONE]";

/// The inside of an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Human-readable text.
    pub message: String,
    /// The kind: `invalid_request_error`, `rate_limit_error`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The request field at fault, if any (always sent, `null` when none).
    #[serde(default)]
    pub param: Option<String>,
    /// A machine code: `invalid_api_key`, `rate_limit_exceeded`, ... (may be `null`).
    #[serde(default)]
    pub code: Option<String>,
}

/// An error body: `{"error":{"message","type","param","code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The body the reference server sends for a model error code (see the module doc for the
/// table). [`ErrorCode::Other`] codes are sent lower-cased with the type `invalid_request_error`.
pub fn error_body(code: &ErrorCode, message: impl Into<String>) -> ErrorBody {
    let (kind, wire) = match code {
        ErrorCode::InvalidApiKey => ("invalid_request_error", "invalid_api_key".to_owned()),
        ErrorCode::OriginNotAllowed => ("permission_error", "origin_not_allowed".to_owned()),
        ErrorCode::InsufficientCredits => ("billing_error", "insufficient_credits".to_owned()),
        ErrorCode::QuotaExceeded => ("insufficient_quota", "insufficient_quota".to_owned()),
        ErrorCode::BotNotFound => ("invalid_request_error", "model_not_found".to_owned()),
        ErrorCode::InvalidRequest => ("invalid_request_error", "invalid_request".to_owned()),
        ErrorCode::RateLimitExceeded => ("rate_limit_error", "rate_limit_exceeded".to_owned()),
        ErrorCode::Network | ErrorCode::Server | ErrorCode::MalformedResponse => {
            ("server_error", "server_error".to_owned())
        }
        ErrorCode::Other(other) => ("invalid_request_error", other.to_ascii_lowercase()),
    };
    ErrorBody {
        error: ErrorDetail {
            message: message.into(),
            kind: kind.to_owned(),
            param: None,
            code: Some(wire),
        },
    }
}

/// Reads an OpenAI-style error body into the model: the code, else the type, else the
/// status names it. The wait before trying again is the body's `retryAfter` (or
/// `retry_after`, in `error` or beside it) when there is one, as in the other dialects, else
/// the `Retry-After` / `X-RateLimit-Reset` headers.
pub fn decode_error_value(meta: &ResponseMeta, value: &Value) -> ApiError {
    let detail = value
        .get("error")
        .filter(|e| e.is_object())
        .unwrap_or(value);
    let text = |name: &str| {
        detail
            .get(name)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let message = text("message").or_else(|| value.get("error").and_then(Value::as_str));
    let in_body = [detail, value]
        .into_iter()
        .flat_map(|object| ["retryAfter", "retry_after"].map(|name| object.get(name)))
        .find_map(|found| found.and_then(Value::as_u64));
    let code = text("code").and_then(from_code);
    let kind = text("type").and_then(|kind| from_type(kind, meta.status));
    let Some(code) = code.or(kind) else {
        let mut error = error_from_status(meta, message.unwrap_or("without an error code"));
        if let (Some(code), ErrorCode::MalformedResponse) = (text("code"), &error.code) {
            error.code = ErrorCode::Other(code.to_owned());
        }
        error.retry_after_s = in_body
            .filter(|_| meta.status == 429)
            .or(error.retry_after_s);
        return error;
    };
    let limited = meta.status == 429 || code == ErrorCode::RateLimitExceeded;
    ApiError {
        message: message.unwrap_or(code.as_str()).to_owned(),
        http_status: reported_status(meta),
        retry_after_s: in_body
            .or_else(|| meta.header_retry_after_s())
            .filter(|_| limited),
        code,
    }
}

/// A model code from an OpenAI `code` (or one of our upper-case wire codes).
fn from_code(code: &str) -> Option<ErrorCode> {
    Some(match code.to_ascii_lowercase().as_str() {
        "invalid_api_key" | "invalid_authentication" | "unauthorized" => ErrorCode::InvalidApiKey,
        "origin_not_allowed" => ErrorCode::OriginNotAllowed,
        "insufficient_credits" => ErrorCode::InsufficientCredits,
        "insufficient_quota" | "quota_exceeded" => ErrorCode::QuotaExceeded,
        "model_not_found" | "bot_not_found" | "chatbot_not_found" => ErrorCode::BotNotFound,
        "invalid_request"
        | "invalid_request_error"
        | "context_length_exceeded"
        | "invalid_value" => ErrorCode::InvalidRequest,
        "rate_limit_exceeded" => ErrorCode::RateLimitExceeded,
        "server_error" | "internal_error" => ErrorCode::Server,
        _ => match ErrorCode::from_wire(&code.to_ascii_uppercase()) {
            ErrorCode::Other(_) => return None,
            known => known,
        },
    })
}

/// A model code from an OpenAI `type`, with the status to tell apart the kinds OpenAI files
/// under `invalid_request_error`.
fn from_type(kind: &str, status: u16) -> Option<ErrorCode> {
    Some(match kind {
        "authentication_error" => ErrorCode::InvalidApiKey,
        "permission_error" => ErrorCode::OriginNotAllowed,
        "insufficient_quota" => ErrorCode::QuotaExceeded,
        "rate_limit_error" | "requests" | "tokens" => ErrorCode::RateLimitExceeded,
        "server_error" | "api_error" => ErrorCode::Server,
        "not_found_error" => ErrorCode::BotNotFound,
        "invalid_request_error" => match status {
            401 => ErrorCode::InvalidApiKey,
            404 => ErrorCode::BotNotFound,
            429 => ErrorCode::RateLimitExceeded,
            _ => ErrorCode::InvalidRequest,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::meta;
    use super::*;
    use crate::sse::SseParser;
    use crate::stream::{decode_event, ReplyBuilder, StreamEvent};
    use serde_json::{json, Value};

    #[test]
    fn encodes_the_history_the_widget_keeps() {
        let history = [
            ChatTurn::new(Role::System, "You are Acme's assistant."),
            ChatTurn::new(Role::User, "Hi"),
            ChatTurn::new(Role::Assistant, "Hello! How can I help?"),
            ChatTurn::new(Role::User, "Where is my order?"),
        ];
        let body: Value = serde_json::from_str(&encode_request(&history, "demo", true)).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "demo",
                "messages": [
                    {"role": "system", "content": "You are Acme's assistant."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello! How can I help?"},
                    {"role": "user", "content": "Where is my order?"}
                ],
                "stream": true
            })
        );
        assert_eq!(
            encode_request(&history[1..2], "m", false),
            r#"{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":false}"#
        );
    }

    #[test]
    fn decodes_a_completion() {
        let body = br#"{
            "id": "chatcmpl-123", "object": "chat.completion", "created": 1677652288, "model": "gpt-4o-mini",
            "system_fingerprint": "fp_44709d6fcb",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there, how may I assist you today?", "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21, "completion_tokens_details": {"reasoning_tokens": 0}}
        }"#;
        let reply = decode_response(&meta(200), body).unwrap();
        assert_eq!(
            reply,
            Reply {
                text: "Hello there, how may I assist you today?".into(),
                message_id: Some("chatcmpl-123".into()),
                ..Reply::default()
            }
        );
        // llama.cpp and Ollama leave out most fields.
        let bare = decode_response(
            &meta(200),
            br#"{"choices":[{"message":{"role":"assistant","content":"Hi"}}]}"#,
        )
        .unwrap();
        assert_eq!((bare.text.as_str(), bare.message_id), ("Hi", None));
        let tool_call = decode_response(&meta(200), br#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[]},"finish_reason":"tool_calls"}]}"#).unwrap();
        assert_eq!(tool_call.text, "");
    }

    #[test]
    fn decodes_openai_errors() {
        let cases: [(u16, &[u8], ErrorCode); 8] = [
            (401, br#"{"error":{"message":"Incorrect API key provided: sk-abc. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#, ErrorCode::InvalidApiKey),
            (429, br#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#, ErrorCode::RateLimitExceeded),
            (429, br#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#, ErrorCode::QuotaExceeded),
            (404, br#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#, ErrorCode::BotNotFound),
            (400, br#"{"error":{"message":"'messages' is a required property","type":"invalid_request_error","param":null,"code":null}}"#, ErrorCode::InvalidRequest),
            (500, br#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#, ErrorCode::Server),
            (401, br#"{"error":{"message":"Unauthorized","type":"authentication_error"}}"#, ErrorCode::InvalidApiKey),
            (404, br#"{"error":"model 'llama9' not found"}"#, ErrorCode::BotNotFound),
        ];
        for (status, body, code) in cases {
            let err = decode_response(&meta(status), body).unwrap_err();
            assert_eq!(
                (err.code, err.http_status),
                (code, Some(status)),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(!err.message.is_empty());
        }
        let mut limited = meta(429);
        limited.retry_after = Some("20".into());
        let body = br#"{"error":{"message":"slow","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#;
        assert_eq!(
            decode_response(&limited, body).unwrap_err().retry_after_s,
            Some(20)
        );
    }

    #[test]
    fn a_429_waits_as_long_as_its_body_says() {
        let bodies: [&[u8]; 4] = [
            br#"{"error":{"message":"slow","type":"rate_limit_error","code":"rate_limit_exceeded","retryAfter":42}}"#,
            br#"{"error":{"message":"slow","code":"rate_limit_exceeded","retry_after":42}}"#,
            br#"{"error":{"message":"slow","type":"requests"},"retryAfter":42}"#,
            br#"{"error":"slow down","retryAfter":42}"#,
        ];
        for body in bodies {
            let err = decode_response(&meta(429), body).unwrap_err();
            assert_eq!(
                (err.code, err.retry_after_s),
                (ErrorCode::RateLimitExceeded, Some(42)),
                "{}",
                String::from_utf8_lossy(body)
            );
            // The body wins over the headers, as in the other dialects.
            let mut with_header = meta(429);
            with_header.retry_after = Some("5".into());
            assert_eq!(
                decode_response(&with_header, body)
                    .unwrap_err()
                    .retry_after_s,
                Some(42)
            );
        }
        let without = br#"{"error":{"message":"slow","code":"rate_limit_exceeded"}}"#;
        assert_eq!(
            decode_response(&meta(429), without)
                .unwrap_err()
                .retry_after_s,
            None,
            "the widget's own default applies"
        );
        let not_limited =
            br#"{"error":{"message":"bad key","code":"invalid_api_key","retryAfter":42}}"#;
        assert_eq!(
            decode_response(&meta(401), not_limited)
                .unwrap_err()
                .retry_after_s,
            None
        );
    }

    #[test]
    fn every_server_error_body_decodes_to_its_code() {
        for code in [
            ErrorCode::InvalidApiKey,
            ErrorCode::OriginNotAllowed,
            ErrorCode::InsufficientCredits,
            ErrorCode::QuotaExceeded,
            ErrorCode::BotNotFound,
            ErrorCode::InvalidRequest,
            ErrorCode::RateLimitExceeded,
            ErrorCode::Server,
        ] {
            let body = serde_json::to_vec(&error_body(&code, "text")).unwrap();
            let err = decode_response(&meta(code.http_status()), &body).unwrap_err();
            assert_eq!(err.code, code);
            assert_eq!(err.message, "text");
        }
        assert_eq!(
            serde_json::to_value(error_body(&ErrorCode::BotNotFound, "No model demo2")).unwrap(),
            json!({"error": {"message": "No model demo2", "type": "invalid_request_error", "param": null, "code": "model_not_found"}})
        );
        let other = serde_json::to_vec(&error_body(
            &ErrorCode::Other("CONVERSATION_NOT_FOUND".into()),
            "x",
        ))
        .unwrap();
        assert_eq!(
            decode_response(&meta(404), &other).unwrap_err().code,
            ErrorCode::BotNotFound,
            "a 404 invalid_request_error"
        );
        let unknown = decode_response(
            &meta(418),
            br#"{"error":{"message":"teapot","code":"teapot"}}"#,
        )
        .unwrap_err();
        assert_eq!(unknown.code, ErrorCode::Other("teapot".into()));
    }

    #[test]
    fn malformed_bodies_become_errors_not_panics() {
        let cases: [(u16, &[u8], ErrorCode); 7] = [
            (
                200,
                b"<html>Bad gateway</html>",
                ErrorCode::MalformedResponse,
            ),
            (
                200,
                br#"{"id":"x","choices":[{"message":{"role":"assistant","content":"Hel"#,
                ErrorCode::MalformedResponse,
            ),
            (
                200,
                br#"{"id":"x","choices":[]}"#,
                ErrorCode::MalformedResponse,
            ),
            (200, br#"{"id":"x"}"#, ErrorCode::MalformedResponse),
            (
                200,
                br#"{"choices":[{"message":{"role":"robot","content":"x"}}]}"#,
                ErrorCode::MalformedResponse,
            ),
            (502, b"upstream connect error", ErrorCode::Server),
            (
                200,
                br#"{"error":{"message":"overloaded","type":"server_error"}}"#,
                ErrorCode::Server,
            ),
        ];
        for (status, body, code) in cases {
            let err = decode_response(&meta(status), body).unwrap_err();
            assert_eq!(err.code, code, "for {}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn server_chunks_stream_through_the_tolerant_decoder() {
        let chunk = |delta: ChunkDelta, finish: Option<&str>| {
            format!(
                "data: {}\n\n",
                serde_json::to_string(&CompletionChunk::new(
                    "chatcmpl-1",
                    1,
                    "demo",
                    delta,
                    finish
                ))
                .unwrap()
            )
        };
        let stream = [
            chunk(
                ChunkDelta {
                    role: Some(Role::Assistant),
                    content: None,
                },
                None,
            ),
            chunk(
                ChunkDelta {
                    role: None,
                    content: Some("Hel".into()),
                },
                None,
            ),
            chunk(
                ChunkDelta {
                    role: None,
                    content: Some("lo!".into()),
                },
                None,
            ),
            chunk(ChunkDelta::default(), Some("stop")),
            format!("data: {DONE}\n\n"),
        ]
        .concat();
        let mut parser = SseParser::new();
        let mut builder = ReplyBuilder::new();
        for event in parser
            .feed(stream.as_bytes())
            .iter()
            .filter_map(decode_event)
        {
            builder.apply(event).unwrap();
        }
        assert!(builder.is_done());
        assert_eq!(builder.reply().text, "Hello!");

        let error = format!(
            "data: {}\n\n",
            serde_json::to_string(&error_body(&ErrorCode::Server, "boom")).unwrap()
        );
        let events: Vec<StreamEvent> = SseParser::new()
            .feed(error.as_bytes())
            .iter()
            .filter_map(decode_event)
            .collect();
        assert!(matches!(&events[..], [StreamEvent::Error(e)] if e.message == "boom"));
    }
}
