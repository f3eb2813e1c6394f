//! The "jombot" dialect: `POST {base}/v1/chat/message`, snake_case throughout.
//!
//! Request: `{"message","bot_id","conversation_id"?,"user_id"?,"context"?}`.
//! Success: `{"response","conversation_id","bot_id","timestamp","confidence",
//! "suggested_actions":[{"type":"quick_reply","text","payload"}]}`.
//!
//! **Our choice** (the vendor document shows no error body): errors are
//! `{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"...","retry_after":60}}` with the HTTP
//! status of the code (401, 402, 403, 404, 400, 429, 500), `retry_after` only with 429, and
//! `BOT_NOT_FOUND` as the spelling of an unknown bot. A failure whose body is not JSON is
//! named from its status ([`super::error_from_status`]).

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{is_success, nested_or_flat_error, parse_json, shaped, to_json, Dialect};
use crate::model::{ApiError, ErrorCode, OutgoingMessage, Reply, ResponseMeta, SuggestedAction};

/// The chat endpoint's path below the API base URL.
pub const CHAT_PATH: &str = "/v1/chat/message";

/// The request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The visitor's message.
    pub message: String,
    /// The bot to talk to.
    pub bot_id: String,
    /// The conversation to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Who the visitor is, for personalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Free-form context for the conversation (customer tier, last order, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// Encodes what the visitor sends as this dialect's JSON body.
///
/// `context` is sent as `context`; when it is `None`, the message's own `metadata` (what the
/// site owner attached) is sent there instead. The message's `stream` has no equivalent here
/// and is not sent.
pub fn encode_request(
    message: &OutgoingMessage,
    bot_id: &str,
    user_id: Option<&str>,
    context: Option<&Value>,
) -> String {
    to_json(&ChatRequest {
        message: message.message.clone(),
        bot_id: bot_id.to_owned(),
        conversation_id: message.conversation_id.clone(),
        user_id: user_id.map(str::to_owned),
        context: context.or(message.metadata.as_ref()).cloned(),
    })
}

/// A success body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    /// The reply text (Markdown).
    pub response: String,
    /// The conversation, new or continued.
    pub conversation_id: String,
    /// The bot that answered.
    #[serde(default)]
    pub bot_id: String,
    /// When the reply was made, ISO 8601 (`2025-01-15T10:30:00Z`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<String>,
    /// How sure the bot is, 0..=1.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub confidence: Option<f64>,
    /// Quick replies (the server always sends the list, possibly empty).
    #[serde(default, deserialize_with = "super::lenient_actions")]
    pub suggested_actions: Vec<SuggestedAction>,
}

/// The inside of an error body (our shape, see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A machine code such as `RATE_LIMIT_EXCEEDED`.
    pub code: String,
    /// Human-readable text.
    pub message: String,
    /// Seconds to wait, with `RATE_LIMIT_EXCEEDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// An error body: `{"error": {"code", "message", "retry_after"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// The body a server sends for an error (`code` in this dialect's spelling, see
    /// [`wire_code`]).
    pub fn new(code: &str, message: impl Into<String>, retry_after: Option<u64>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.into(),
                retry_after,
            },
        }
    }
}

/// This dialect's spelling of a code: `BOT_NOT_FOUND` for an unknown bot, the model's
/// spelling otherwise.
pub fn wire_code(code: &ErrorCode) -> &str {
    match code {
        ErrorCode::BotNotFound => "BOT_NOT_FOUND",
        other => other.as_str(),
    }
}

/// Decodes a JSON response (success or error) into the model. Never panics; anything that is
/// not the documented shape becomes an [`ApiError`].
pub fn decode_response(meta: &ResponseMeta, body: &[u8]) -> Result<Reply, ApiError> {
    let value = parse_json(meta, body)?;
    if is_success(meta) && value.get("error").is_none() {
        let reply: ChatReply = shaped(meta, Dialect::Jombot, &value)?;
        return Ok(Reply {
            text: reply.response,
            conversation_id: reply.conversation_id,
            message_id: None,
            timestamp: reply.timestamp,
            suggested_actions: reply.suggested_actions,
            confidence: reply
                .confidence
                .filter(|c| c.is_finite())
                .map(|c| c.clamp(0.0, 1.0)),
        });
    }
    Err(decode_error_value(meta, &value))
}

/// Reads an error body into the model: our `{"error":{...}}`, or a flat
/// `{"error":"text","code":"..."}` as other servers send.
pub fn decode_error_value(meta: &ResponseMeta, value: &Value) -> ApiError {
    nested_or_flat_error(meta, value, &["retry_after", "retryAfter"])
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{meta, sent};
    use super::*;
    use crate::model::ActionKind;
    use serde_json::json;

    #[test]
    fn encodes_the_seed_request_example() {
        let message = OutgoingMessage {
            message: "Hello, I need help with my order".into(),
            conversation_id: Some("conv_12345".into()),
            ..Default::default()
        };
        let context = json!({"customer_tier": "premium", "last_order": "ORD-2025-001"});
        let body = encode_request(
            &message,
            "bot_customer_support_001",
            Some("user_67890"),
            Some(&context),
        );
        assert_eq!(
            sent(&body),
            json!({
                "message": "Hello, I need help with my order",
                "bot_id": "bot_customer_support_001",
                "conversation_id": "conv_12345",
                "user_id": "user_67890",
                "context": {"customer_tier": "premium", "last_order": "ORD-2025-001"}
            })
        );
    }

    #[test]
    fn encodes_the_seed_curl_example_and_a_first_message() {
        let message = OutgoingMessage {
            message: "Hello, I need help with my order".into(),
            conversation_id: Some("conv_12345".into()),
            stream: Some(true),
            ..Default::default()
        };
        assert_eq!(
            sent(&encode_request(
                &message,
                "bot_customer_support_001",
                None,
                None
            )),
            json!({"message": "Hello, I need help with my order", "bot_id": "bot_customer_support_001", "conversation_id": "conv_12345"})
        );
        let first = OutgoingMessage {
            message: "Hi".into(),
            ..Default::default()
        };
        assert_eq!(
            encode_request(&first, "b", None, None),
            r#"{"message":"Hi","bot_id":"b"}"#
        );
    }

    #[test]
    fn the_site_owners_metadata_is_the_context_unless_one_is_given() {
        let message = OutgoingMessage {
            message: "Hi".into(),
            metadata: Some(json!({"source": "website"})),
            ..Default::default()
        };
        assert_eq!(
            sent(&encode_request(&message, "b", None, None))["context"],
            json!({"source": "website"})
        );
        let explicit = json!({"tier": "gold"});
        assert_eq!(
            sent(&encode_request(
                &message,
                "b",
                None,
                Some(&explicit.clone())
            ))["context"],
            explicit
        );
    }

    #[test]
    fn decodes_the_seed_response_example() {
        let body = br#"{
            "response": "Hello! I'd be happy to help you with your order. Could you please provide your order number?",
            "conversation_id": "conv_12345",
            "bot_id": "bot_customer_support_001",
            "timestamp": "2025-01-15T10:30:00Z",
            "confidence": 0.95,
            "suggested_actions": [
                {"type": "quick_reply", "text": "Check order status", "payload": "check_order"}
            ]
        }"#;
        let reply = decode_response(&meta(200), body).unwrap();
        assert_eq!(
            reply,
            Reply {
                text: "Hello! I'd be happy to help you with your order. Could you please provide your order number?".into(),
                conversation_id: "conv_12345".into(),
                message_id: None,
                timestamp: Some("2025-01-15T10:30:00Z".into()),
                suggested_actions: vec![SuggestedAction {
                    kind: ActionKind::QuickReply,
                    text: "Check order status".into(),
                    payload: Some("check_order".into()),
                }],
                confidence: Some(0.95),
            }
        );
    }

    #[test]
    fn extra_fields_unknown_actions_and_odd_optional_values_do_not_sink_a_reply() {
        let body = br#"{"response":"Hi","conversation_id":"c","new_field":{"x":1},
            "timestamp": 1736937000, "confidence": 95,
            "suggested_actions":[{"type":"carousel","text":"?"},{"type":"url","text":"Docs","payload":"https://x.test"},{"text":"Plain"}]}"#;
        let reply = decode_response(&meta(200), body).unwrap();
        assert_eq!(reply.timestamp, None, "a number is not an ISO 8601 string");
        assert_eq!(reply.confidence, Some(1.0), "clamped to 0..=1");
        let kinds: Vec<ActionKind> = reply.suggested_actions.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [ActionKind::Url, ActionKind::QuickReply]);

        let minimal =
            decode_response(&meta(201), br#"{"response":"Hi","conversation_id":"c"}"#).unwrap();
        assert_eq!(
            (
                minimal.text.as_str(),
                minimal.confidence,
                minimal.suggested_actions.len()
            ),
            ("Hi", None, 0)
        );
    }

    #[test]
    fn decodes_our_error_bodies() {
        let cases: [(u16, &[u8], ErrorCode, Option<u64>); 6] = [
            (401, br#"{"error":{"code":"INVALID_API_KEY","message":"Invalid or inactive API key"}}"#, ErrorCode::InvalidApiKey, None),
            (404, br#"{"error":{"code":"BOT_NOT_FOUND","message":"Bot not found"}}"#, ErrorCode::BotNotFound, None),
            (429, br#"{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Slow down","retry_after":60}}"#, ErrorCode::RateLimitExceeded, Some(60)),
            (402, br#"{"error":{"code":"INSUFFICIENT_CREDITS","message":"No credits"}}"#, ErrorCode::InsufficientCredits, None),
            (403, br#"{"error":{"code":"QUOTA_EXCEEDED","message":"Monthly quota"}}"#, ErrorCode::QuotaExceeded, None),
            (400, br#"{"error":{"code":"INVALID_REQUEST","message":"bot_id is required","extra":true}}"#, ErrorCode::InvalidRequest, None),
        ];
        for (status, body, code, retry) in cases {
            let err = decode_response(&meta(status), body).unwrap_err();
            assert_eq!(
                (err.code, err.http_status, err.retry_after_s),
                (code, Some(status), retry)
            );
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn other_error_spellings_and_headers_are_understood() {
        let flat = decode_response(
            &meta(404),
            br#"{"error":"Chatbot not found","code":"CHATBOT_NOT_FOUND"}"#,
        )
        .unwrap_err();
        assert_eq!(
            (flat.code, flat.message.as_str()),
            (ErrorCode::BotNotFound, "Chatbot not found")
        );

        let mut limited = meta(429);
        limited.retry_after = Some("12".into());
        let err = decode_response(
            &limited,
            br#"{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"wait"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.retry_after_s, Some(12));

        let no_code =
            decode_response(&meta(403), br#"{"error":{"message":"Forbidden"}}"#).unwrap_err();
        assert_eq!(
            no_code.code,
            ErrorCode::QuotaExceeded,
            "named from the status"
        );

        let error_with_200 = decode_response(
            &meta(200),
            br#"{"error":{"code":"INVALID_REQUEST","message":"x"}}"#,
        )
        .unwrap_err();
        assert_eq!(error_with_200.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn malformed_bodies_become_errors_not_panics() {
        let cases: [(u16, &[u8], ErrorCode); 7] = [
            (
                200,
                b"<html><body>Bad gateway</body></html>",
                ErrorCode::MalformedResponse,
            ),
            (200, br#"{"response":"Hel"#, ErrorCode::MalformedResponse),
            (
                200,
                br#"{"conversation_id":"c"}"#,
                ErrorCode::MalformedResponse,
            ),
            (
                200,
                br#"{"response":42,"conversation_id":"c"}"#,
                ErrorCode::MalformedResponse,
            ),
            (200, br#"[1,2,3]"#, ErrorCode::MalformedResponse),
            (502, b"<html>Bad gateway</html>", ErrorCode::Server),
            (429, b"", ErrorCode::RateLimitExceeded),
        ];
        for (status, body, code) in cases {
            let err = decode_response(&meta(status), body).unwrap_err();
            assert_eq!(err.code, code, "for {}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn server_bodies_round_trip_through_the_decoder() {
        let sent = ChatReply {
            response: "**Hi**".into(),
            conversation_id: "c1".into(),
            bot_id: "demo".into(),
            timestamp: Some("2025-01-15T10:30:00Z".into()),
            confidence: Some(0.5),
            suggested_actions: vec![SuggestedAction {
                kind: ActionKind::QuickReply,
                text: "More".into(),
                payload: None,
            }],
        };
        let reply =
            decode_response(&meta(200), serde_json::to_string(&sent).unwrap().as_bytes()).unwrap();
        assert_eq!(
            (
                reply.text.as_str(),
                reply.confidence,
                reply.suggested_actions.len()
            ),
            ("**Hi**", Some(0.5), 1)
        );

        let error = ErrorBody::new(wire_code(&ErrorCode::BotNotFound), "Bot not found", None);
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"error": {"code": "BOT_NOT_FOUND", "message": "Bot not found"}})
        );
        let err = decode_response(
            &meta(404),
            serde_json::to_string(&error).unwrap().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::BotNotFound);

        // The server's request decodes with the same type.
        let request: ChatRequest = serde_json::from_str(&encode_request(
            &OutgoingMessage {
                message: "Hi".into(),
                ..Default::default()
            },
            "demo",
            Some("u1"),
            None,
        ))
        .unwrap();
        assert_eq!(
            (request.bot_id.as_str(), request.user_id.as_deref()),
            ("demo", Some("u1"))
        );
    }
}
