//! The "chatbots" dialect (PollyBot): `POST {base}/api/v1/chatbots/{chatbotId}/chat`.
//!
//! Success: `{"success":true,"data":{"response","conversationId","messageId"}}`.
//! Error: `{"success":false,"error":"<text>","code":"<CODE>","retryAfter"?}`.
//! The streamed form (SSE) is decoded elsewhere; this module is the JSON form.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{error_from_status, is_success, parse_json, reported_status, shaped, to_json, Dialect};
use crate::model::{ApiError, ErrorCode, OutgoingMessage, Reply, ResponseMeta, SuggestedAction};

/// The path of the chat endpoint for a bot, below the API base URL.
pub fn chat_path(chatbot_id: &str) -> String {
    format!("/api/v1/chatbots/{}/chat", super::path_segment(chatbot_id))
}

/// The request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRequest {
    /// The visitor's message.
    pub message: String,
    /// The conversation to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Ask for SSE (`true`) or JSON (`false`); absent lets the bot's default decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl From<&OutgoingMessage> for ChatRequest {
    fn from(m: &OutgoingMessage) -> Self {
        Self {
            message: m.message.clone(),
            conversation_id: m.conversation_id.clone(),
            stream: m.stream,
            metadata: m.metadata.clone(),
        }
    }
}

/// The `data` of a success body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatData {
    /// The reply text (Markdown).
    pub response: String,
    /// The conversation, new or continued.
    pub conversation_id: String,
    /// The reply's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Quick replies. Not in the vendor document; our server adds them (snake_case, as in the
    /// jombot document and our SSE `actions` event) and the widget reads either spelling.
    #[serde(
        default,
        rename = "suggested_actions",
        alias = "suggestedActions",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub suggested_actions: Vec<SuggestedAction>,
}

/// A success body: `{"success": true, "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSuccess {
    /// Always `true`.
    pub success: bool,
    /// The reply.
    pub data: ChatData,
}

impl ChatSuccess {
    /// Wraps a reply's data.
    pub fn new(data: ChatData) -> Self {
        Self {
            success: true,
            data,
        }
    }
}

/// An error body: `{"success": false, "error": "...", "code": "...", "retryAfter"?: n}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// Human-readable text.
    pub error: String,
    /// A machine code such as `RATE_LIMIT_EXCEEDED`.
    pub code: String,
    /// Seconds to wait, with `RATE_LIMIT_EXCEEDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ErrorBody {
    /// The body a server sends for an error.
    pub fn new(code: &ErrorCode, error: impl Into<String>, retry_after: Option<u64>) -> Self {
        Self {
            success: false,
            error: error.into(),
            code: code.as_str().to_owned(),
            retry_after,
        }
    }
}

/// Encodes what the visitor sends as this dialect's JSON body (a [`ChatRequest`]).
pub fn encode_request(message: &OutgoingMessage) -> String {
    to_json(&ChatRequest::from(message))
}

/// Decodes a JSON response (success or error) into the model.
///
/// Anything that is not the documented shape becomes an [`ApiError`] with a code the UI can
/// explain: never a panic, never a partially filled [`Reply`].
pub fn decode_response(meta: &ResponseMeta, body: &[u8]) -> Result<Reply, ApiError> {
    let value = parse_json(meta, body)?;
    let success = value.get("success").and_then(Value::as_bool);
    if is_success(meta) && success != Some(false) {
        let ChatSuccess { data, .. } = shaped(meta, Dialect::Chatbots, &value)?;
        return Ok(Reply {
            text: data.response,
            conversation_id: data.conversation_id,
            message_id: data.message_id,
            suggested_actions: data.suggested_actions,
            ..Reply::default()
        });
    }
    Err(decode_error_value(meta, &value))
}

/// Reads an error body (from a JSON response or an SSE `error` event) into the model.
pub fn decode_error_value(meta: &ResponseMeta, value: &Value) -> ApiError {
    let code = value.get("code").and_then(Value::as_str);
    let text = value.get("error").and_then(Value::as_str);
    let Some(code) = code else {
        return error_from_status(meta, text.unwrap_or("without an error code"));
    };
    let retry_after_s = value
        .get("retryAfter")
        .and_then(Value::as_u64)
        .or_else(|| meta.header_retry_after_s().filter(|_| meta.status == 429));
    ApiError {
        code: ErrorCode::from_wire(code),
        message: text.unwrap_or(code).to_owned(),
        http_status: reported_status(meta),
        retry_after_s,
    }
}

/// The streamed form's event payloads (our format; the vendor document defines none).
/// The server emits exactly these; the widget also reads the tolerant forms in
/// [`crate::stream`].
pub mod events {
    use serde::{Deserialize, Serialize};

    use crate::model::SuggestedAction;

    /// `event: start`: the reply has begun.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Start {
        /// The conversation, new or continued.
        pub conversation_id: String,
        /// The id the finished reply will have.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub message_id: Option<String>,
    }

    /// `event: delta`: the next piece of the reply's Markdown.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct Delta {
        /// Text to append.
        pub content: String,
    }

    /// `event: actions`: quick replies for this reply.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct Actions {
        /// The buttons.
        pub suggested_actions: Vec<SuggestedAction>,
    }

    /// `event: done`: the reply is complete; `response` is the whole text.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Done {
        /// The conversation.
        pub conversation_id: String,
        /// The reply's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub message_id: Option<String>,
        /// The complete reply text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub response: Option<String>,
    }

    /// Formats one SSE event: `event: <name>` and one `data:` line of JSON, then a blank line.
    /// JSON never contains a raw newline, so one `data:` line always suffices. (Server side.)
    pub fn sse_frame<T: Serialize>(name: &str, payload: &T) -> String {
        let data = serde_json::to_string(payload).unwrap_or_else(|_| "{}".to_owned());
        format!("event: {name}\ndata: {data}\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::meta;
    use super::*;
    use crate::model::ActionKind;

    #[test]
    fn encodes_the_seed_request_example() {
        let message = OutgoingMessage {
            message: "Hello, how can you help me?".into(),
            conversation_id: Some("cm5abc123xyz456".into()),
            stream: Some(true),
            metadata: Some(serde_json::json!({"source": "mobile_app", "userId": "user_123"})),
        };
        let body: serde_json::Value = serde_json::from_str(&encode_request(&message)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "message": "Hello, how can you help me?",
                "conversationId": "cm5abc123xyz456",
                "stream": true,
                "metadata": {"source": "mobile_app", "userId": "user_123"}
            })
        );
    }

    #[test]
    fn a_first_message_sends_only_the_text() {
        let message = OutgoingMessage {
            message: "Hello!".into(),
            ..Default::default()
        };
        assert_eq!(encode_request(&message), r#"{"message":"Hello!"}"#);
    }

    #[test]
    fn decodes_the_seed_success_example() {
        let body = br#"{"success": true, "data": {"response": "Hello! I'm here to help you. What would you like to know?", "conversationId": "cm5abc123xyz456", "messageId": "cm5msg789def012"}}"#;
        let reply = decode_response(&meta(200), body).unwrap();
        assert_eq!(
            reply.text,
            "Hello! I'm here to help you. What would you like to know?"
        );
        assert_eq!(reply.conversation_id, "cm5abc123xyz456");
        assert_eq!(reply.message_id.as_deref(), Some("cm5msg789def012"));
    }

    #[test]
    fn reads_quick_replies_and_ignores_unknown_fields() {
        let body = br#"{"success":true,"extra":1,"data":{"response":"Hi","conversationId":"c","new":"x",
            "suggested_actions":[{"type":"quick_reply","text":"Check order status","payload":"check_order"}]}}"#;
        let reply = decode_response(&meta(200), body).unwrap();
        assert_eq!(
            reply.suggested_actions,
            vec![SuggestedAction {
                kind: ActionKind::QuickReply,
                text: "Check order status".into(),
                payload: Some("check_order".into())
            }]
        );
    }

    #[test]
    fn decodes_each_seed_error_example() {
        let cases: [(u16, &[u8], ErrorCode, Option<u64>); 4] = [
            (401, br#"{"success": false, "error": "Invalid or inactive API key", "code": "INVALID_API_KEY"}"#, ErrorCode::InvalidApiKey, None),
            (404, br#"{"success": false, "error": "Chatbot not found or access denied", "code": "CHATBOT_NOT_FOUND"}"#, ErrorCode::BotNotFound, None),
            (429, br#"{"success": false, "error": "Rate limit exceeded. Please wait before sending another message.", "code": "RATE_LIMIT_EXCEEDED", "retryAfter": 60}"#, ErrorCode::RateLimitExceeded, Some(60)),
            (402, br#"{"success": false, "error": "Insufficient credits to generate AI response. Please upgrade your plan.", "code": "INSUFFICIENT_CREDITS"}"#, ErrorCode::InsufficientCredits, None),
        ];
        for (status, body, code, retry) in cases {
            let err = decode_response(&meta(status), body).unwrap_err();
            assert_eq!(err.code, code);
            assert_eq!(err.http_status, Some(status));
            assert_eq!(err.retry_after_s, retry);
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn a_429_without_retry_after_in_the_body_uses_the_headers() {
        let mut m = meta(429);
        m.retry_after = Some("17".into());
        let err = decode_response(
            &m,
            br#"{"success":false,"error":"slow down","code":"RATE_LIMIT_EXCEEDED"}"#,
        )
        .unwrap_err();
        assert_eq!(err.retry_after_s, Some(17));

        let mut m = meta(429);
        m.now_unix = 1_000;
        m.rate_limit.reset_unix = Some(1_030);
        let err = decode_response(&m, b"<html>Too Many Requests</html>").unwrap_err();
        assert_eq!(
            (err.code, err.retry_after_s),
            (ErrorCode::RateLimitExceeded, Some(30))
        );
    }

    #[test]
    fn malformed_bodies_become_errors_not_panics() {
        let cases: [(u16, &[u8], ErrorCode); 7] = [
            (
                200,
                b"<html><body>Bad gateway</body></html>",
                ErrorCode::MalformedResponse,
            ),
            (
                200,
                br#"{"success":true,"data":{"response":"Hel"#,
                ErrorCode::MalformedResponse,
            ),
            (200, br#"{"success":true}"#, ErrorCode::MalformedResponse),
            (
                200,
                br#"{"success":true,"data":{"response":42,"conversationId":"c"}}"#,
                ErrorCode::MalformedResponse,
            ),
            (200, b"", ErrorCode::MalformedResponse),
            (502, b"<html>Bad gateway</html>", ErrorCode::Server),
            (500, br#"{"success":false}"#, ErrorCode::Server),
        ];
        for (status, body, code) in cases {
            let err = decode_response(&meta(status), body).unwrap_err();
            assert_eq!(err.code, code, "for {}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn an_unknown_code_is_kept_verbatim() {
        let err = decode_response(
            &meta(418),
            br#"{"success":false,"error":"teapot","code":"I_AM_A_TEAPOT"}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::Other("I_AM_A_TEAPOT".into()));
        assert_eq!(err.message, "teapot");
    }

    #[test]
    fn server_bodies_round_trip_through_the_decoder() {
        let sent = ChatSuccess::new(ChatData {
            response: "**Hi**".into(),
            conversation_id: "c1".into(),
            message_id: Some("m1".into()),
            suggested_actions: vec![],
        });
        let reply =
            decode_response(&meta(200), serde_json::to_string(&sent).unwrap().as_bytes()).unwrap();
        assert_eq!(
            (reply.text.as_str(), reply.conversation_id.as_str()),
            ("**Hi**", "c1")
        );

        let error = ErrorBody::new(&ErrorCode::RateLimitExceeded, "wait", Some(5));
        let err = decode_response(
            &meta(429),
            serde_json::to_string(&error).unwrap().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(
            (err.code, err.retry_after_s),
            (ErrorCode::RateLimitExceeded, Some(5))
        );
    }

    #[test]
    fn bot_ids_cannot_escape_the_path() {
        assert_eq!(chat_path("demo"), "/api/v1/chatbots/demo/chat");
        assert_eq!(
            chat_path("../admin?x=1"),
            "/api/v1/chatbots/..%2Fadmin%3Fx%3D1/chat"
        );
    }
}
