//! The "jelytech" dialect, below `{base}/v1` (the paths here include the `/v1`):
//!
//! * `POST /v1/chat/send` `{"botId","message","conversationId"?,"userId"?,"metadata"?}` →
//!   `{"success":true,"response","conversationId","messageId","timestamp"}`
//!   ([`encode_send`], [`decode_response`]);
//! * `GET /v1/chat/history/:conversationId` → `{"success":true,"conversationId",
//!   "messages":[{"id","role":"user"|"assistant","content","timestamp"}]}` ([`decode_history`]):
//!   how a reloaded page restores its conversation;
//! * `POST /v1/bots` `{"name","description","configuration":{"greeting","theme":{"primaryColor",
//!   "position"}}}` → `{"success":true,"bot":{"id","name","status","createdAt"}}`
//!   ([`encode_create_bot`], [`decode_created_bot`]);
//! * `GET /v1/bots/:botId` ([`decode_bot`]): **ours** (the document has no read endpoint): the
//!   created shape, with `description` and `configuration` added inside `bot`. It is where the
//!   launcher's greeting, primary colour and position come from when the page does not set them.
//! * `GET /v1/bots/:botId/analytics?startDate&endDate&metrics` ([`analytics_path`],
//!   [`decode_analytics`]) → `{"success":true,"analytics":{"totalMessages","uniqueUsers",
//!   "averageSatisfaction","responseTime","topQuestions"}}`.
//!
//! Errors: `{"success":false,"error":{"code","message","statusCode"}}` with `INVALID_API_KEY`
//! 401, `RATE_LIMIT_EXCEEDED` 429, `BOT_NOT_FOUND` 404, `QUOTA_EXCEEDED` 403,
//! `INVALID_REQUEST` 400. The wait after a 429 comes from the `Retry-After` /
//! `X-RateLimit-Reset` headers (a `retryAfter` inside `error` is read too).
//!
//! **Our additions**, all optional on the wire: `suggested_actions` in a send reply (as in the
//! chatbots dialect), `partial: true` on a history message whose streamed reply was cut off,
//! `publishableKey` beside `bot` when a bot is created, and the codes `INSUFFICIENT_CREDITS`
//! 402, `ORIGIN_NOT_ALLOWED` 403 and `CONVERSATION_NOT_FOUND` 404.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::Dialect;
use super::{is_success, nested_or_flat_error, parse_json, path_segment, read, shaped, to_json};
use crate::model::{ApiError, ErrorCode, OutgoingMessage, Reply, ResponseMeta, SuggestedAction};

/// The send endpoint's path below the API base URL.
pub const SEND_PATH: &str = "/v1/chat/send";

/// The bot-creation endpoint's path below the API base URL.
pub const BOTS_PATH: &str = "/v1/bots";

/// The history endpoint's path for a conversation.
pub fn history_path(conversation_id: &str) -> String {
    format!("/v1/chat/history/{}", path_segment(conversation_id))
}

/// The bot read endpoint's path (ours, see the module doc).
pub fn bot_path(bot_id: &str) -> String {
    format!("/v1/bots/{}", path_segment(bot_id))
}

// ---------------------------------------------------------------------------------------------
// Sending a message.

/// The send request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    /// The bot to talk to.
    pub bot_id: String,
    /// The visitor's message.
    pub message: String,
    /// The conversation to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Who the visitor is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Free-form metadata (source, user agent, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// Encodes what the visitor sends as this dialect's send body. The message's `stream` has no
/// equivalent here and is not sent.
pub fn encode_send(message: &OutgoingMessage, bot_id: &str, user_id: Option<&str>) -> String {
    to_json(&SendRequest {
        bot_id: bot_id.to_owned(),
        message: message.message.clone(),
        conversation_id: message.conversation_id.clone(),
        user_id: user_id.map(str::to_owned),
        metadata: message.metadata.clone(),
    })
}

/// A send success body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendReply {
    /// Always `true`.
    pub success: bool,
    /// The reply text (Markdown).
    pub response: String,
    /// The conversation, new or continued.
    pub conversation_id: String,
    /// The reply's id.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_id: Option<String>,
    /// When the reply was made, ISO 8601.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<String>,
    /// Quick replies (ours, see the module doc; omitted when there are none).
    #[serde(
        default,
        rename = "suggested_actions",
        alias = "suggestedActions",
        deserialize_with = "super::lenient_actions",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub suggested_actions: Vec<SuggestedAction>,
}

/// Decodes a send response (success or error) into the model.
pub fn decode_response(meta: &ResponseMeta, body: &[u8]) -> Result<Reply, ApiError> {
    let value = success_value(meta, body)?;
    let reply: SendReply = shaped(meta, Dialect::Jelytech, &value)?;
    Ok(Reply {
        text: reply.response,
        conversation_id: reply.conversation_id,
        message_id: reply.message_id,
        timestamp: reply.timestamp,
        suggested_actions: reply.suggested_actions,
        confidence: None,
    })
}

// ---------------------------------------------------------------------------------------------
// History.

/// Who wrote a history message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The visitor.
    User,
    /// The bot.
    Assistant,
}

/// One message of a conversation's history (also the wire shape of one item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryMessage {
    /// The message id.
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// The text (Markdown for the bot).
    pub content: String,
    /// When it was written, ISO 8601.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<String>,
    /// Ours: a bot reply that was cut off while it was streamed; `content` is what was sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

/// A history success body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReply {
    /// Always `true`.
    pub success: bool,
    /// The conversation.
    pub conversation_id: String,
    /// Its messages, oldest first (a list; the items this widget cannot read are skipped).
    #[serde(deserialize_with = "super::lenient_items")]
    pub messages: Vec<HistoryMessage>,
}

/// A conversation's history, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The conversation.
    pub conversation_id: String,
    /// Its messages, oldest first.
    pub messages: Vec<HistoryMessage>,
    /// Ours (the reference server's pages): there are older messages than these, read with
    /// `before` the first one's id (`hasMore`; absent, as from a server without pages: no).
    pub has_more: bool,
}

/// Decodes a history response. Messages this widget cannot show (another role such as
/// `system`, a missing id or text) are skipped; a body without a `messages` list is malformed.
pub fn decode_history(meta: &ResponseMeta, body: &[u8]) -> Result<History, ApiError> {
    let value = success_value(meta, body)?;
    let history: HistoryReply = shaped(meta, Dialect::Jelytech, &value)?;
    Ok(History {
        conversation_id: history.conversation_id,
        messages: history.messages,
        has_more: value.get("hasMore").and_then(Value::as_bool) == Some(true),
    })
}

// ---------------------------------------------------------------------------------------------
// Bots.

/// The launcher settings a bot carries: the source of the greeting, primary colour and
/// position when the page does not set them (the page wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotConfiguration {
    /// The bot's name.
    pub name: Option<String>,
    /// The greeting shown when the panel opens.
    pub greeting: Option<String>,
    /// The primary colour, as CSS (`#007bff`).
    pub primary_color: Option<String>,
    /// The launcher's corner (`bottom-right`, `bottom-left`).
    pub position: Option<String>,
}

/// `configuration.theme` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Theme {
    /// The primary colour.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_color: Option<String>,
    /// The launcher's corner.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub position: Option<String>,
}

/// `configuration` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    /// The greeting.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub greeting: Option<String>,
    /// Colours and placement.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub theme: Option<Theme>,
}

/// The bot-creation body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateBotRequest {
    /// The bot's name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Its launcher settings.
    #[serde(default)]
    pub configuration: Configuration,
}

/// Encodes a bot-creation body: the name from `bot.name` (empty if absent, which a server
/// refuses), the rest from `bot`'s greeting and theme.
pub fn encode_create_bot(bot: &BotConfiguration, description: &str) -> String {
    let theme = (bot.primary_color.is_some() || bot.position.is_some()).then(|| Theme {
        primary_color: bot.primary_color.clone(),
        position: bot.position.clone(),
    });
    to_json(&CreateBotRequest {
        name: bot.name.clone().unwrap_or_default(),
        description: description.to_owned(),
        configuration: Configuration {
            greeting: bot.greeting.clone(),
            theme,
        },
    })
}

/// `bot` in a creation or read reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotInfo {
    /// The bot's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: String,
    /// When it was created, ISO 8601.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<String>,
    /// What it is for (read endpoint only).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Its launcher settings (read endpoint only).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub configuration: Option<Configuration>,
}

/// A creation (or read) success body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotReply {
    /// Always `true`.
    pub success: bool,
    /// The bot.
    pub bot: BotInfo,
    /// Ours: the new bot's publishable key, in a creation reply.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub publishable_key: Option<String>,
}

/// A bot that was just created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreatedBot {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `active` or `inactive`.
    pub status: String,
    /// When it was created, ISO 8601.
    pub created_at: Option<String>,
    /// Its publishable key, when the server gives one (ours).
    pub publishable_key: Option<String>,
}

/// Decodes a bot-creation response.
pub fn decode_created_bot(meta: &ResponseMeta, body: &[u8]) -> Result<CreatedBot, ApiError> {
    let value = success_value(meta, body)?;
    let reply: BotReply = shaped(meta, Dialect::Jelytech, &value)?;
    Ok(CreatedBot {
        id: reply.bot.id,
        name: reply.bot.name,
        status: reply.bot.status,
        created_at: reply.bot.created_at,
        publishable_key: reply.publishable_key,
    })
}

/// Decodes a bot read response into the launcher settings it carries. Empty strings read as
/// absent (the page's or the widget's defaults apply).
pub fn decode_bot(meta: &ResponseMeta, body: &[u8]) -> Result<BotConfiguration, ApiError> {
    let value = success_value(meta, body)?;
    // Tolerated: `configuration` beside `bot` rather than inside it.
    let outer = value
        .get("configuration")
        .and_then(|c| read::<Configuration>(c).ok());
    let reply: BotReply = shaped(meta, Dialect::Jelytech, &value)?;
    let configuration = reply.bot.configuration.or(outer).unwrap_or_default();
    let theme = configuration.theme.unwrap_or_default();
    let present = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
    Ok(BotConfiguration {
        name: present(Some(reply.bot.name)),
        greeting: present(configuration.greeting),
        primary_color: present(theme.primary_color),
        position: present(theme.position),
    })
}

// ---------------------------------------------------------------------------------------------
// Analytics.

/// The metrics `GET /v1/bots/:botId/analytics` knows, for its `metrics` parameter.
pub const METRICS: [&str; 3] = ["messages", "users", "satisfaction"];

/// The analytics path with its query: `startDate` and `endDate` (ISO 8601 dates or times) and
/// `metrics` (a comma-separated list of [`METRICS`]), each left out when not given.
pub fn analytics_path(
    bot_id: &str,
    start_date: Option<&str>,
    end_date: Option<&str>,
    metrics: &[&str],
) -> String {
    let mut query = Vec::new();
    if let Some(start) = start_date {
        query.push(format!("startDate={}", path_segment(start)));
    }
    if let Some(end) = end_date {
        query.push(format!("endDate={}", path_segment(end)));
    }
    if !metrics.is_empty() {
        let list: Vec<String> = metrics.iter().map(|m| path_segment(m)).collect();
        query.push(format!("metrics={}", list.join(",")));
    }
    let path = format!("{}/analytics", bot_path(bot_id));
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `analytics` in an analytics reply; each figure is absent when it was not asked for (or, on
/// the reference server, for `averageSatisfaction`, which it never has: it collects no ratings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analytics {
    /// Messages in the period, both sides (metric `messages`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_messages: Option<u64>,
    /// Distinct visitors (metric `users`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_users: Option<u64>,
    /// Average rating (metric `satisfaction`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub average_satisfaction: Option<f64>,
    /// Average time to answer, e.g. `1.2s` (metric `messages`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_time: Option<String>,
    /// The questions asked most often, most frequent first (metric `messages`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub top_questions: Option<Vec<String>>,
}

/// An analytics success body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsReply {
    /// Always `true`.
    pub success: bool,
    /// The figures.
    pub analytics: Analytics,
}

/// Decodes an analytics response.
pub fn decode_analytics(meta: &ResponseMeta, body: &[u8]) -> Result<Analytics, ApiError> {
    let value = success_value(meta, body)?;
    let reply: AnalyticsReply = shaped(meta, Dialect::Jelytech, &value)?;
    Ok(reply.analytics)
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// The inside of an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// A machine code such as `BOT_NOT_FOUND`.
    pub code: String,
    /// Human-readable text.
    pub message: String,
    /// The HTTP status, repeated.
    pub status_code: u16,
}

/// An error body: `{"success":false,"error":{"code","message","statusCode"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// What went wrong.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// The body a server sends (`code` in this dialect's spelling, see [`wire_code`]).
    pub fn new(code: &str, message: impl Into<String>, status_code: u16) -> Self {
        Self {
            success: false,
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.into(),
                status_code,
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

/// Reads an error body into the model: ours, or a flat `{"success":false,"error":"text",
/// "code":"..."}`.
pub fn decode_error_value(meta: &ResponseMeta, value: &Value) -> ApiError {
    nested_or_flat_error(meta, value, &["retryAfter"])
}

/// The JSON of a success body, or the error the response is.
fn success_value(meta: &ResponseMeta, body: &[u8]) -> Result<Value, ApiError> {
    let value = parse_json(meta, body)?;
    let success = value.get("success").and_then(Value::as_bool);
    if is_success(meta)
        && success != Some(false)
        && !value.get("error").is_some_and(Value::is_object)
    {
        Ok(value)
    } else {
        Err(decode_error_value(meta, &value))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{meta, sent};
    use super::*;
    use crate::model::ActionKind;
    use serde_json::json;

    #[test]
    fn encodes_the_seed_send_examples() {
        let message = OutgoingMessage {
            message: "What are your business hours?".into(),
            conversation_id: Some("optional-conversation-id".into()),
            stream: None,
            metadata: Some(json!({"source": "website", "userAgent": "Mozilla/5.0..."})),
        };
        assert_eq!(
            sent(&encode_send(
                &message,
                "your-bot-id",
                Some("optional-user-id")
            )),
            json!({
                "botId": "your-bot-id",
                "message": "What are your business hours?",
                "conversationId": "optional-conversation-id",
                "userId": "optional-user-id",
                "metadata": {"source": "website", "userAgent": "Mozilla/5.0..."}
            })
        );
        // The cURL example: only the bot and the message.
        let first = OutgoingMessage {
            message: "What are your business hours?".into(),
            stream: Some(true),
            ..Default::default()
        };
        assert_eq!(
            sent(&encode_send(&first, "bot_abc123", None)),
            json!({"botId": "bot_abc123", "message": "What are your business hours?"})
        );
    }

    #[test]
    fn decodes_the_seed_send_reply() {
        let body = br#"{
            "success": true,
            "response": "We're open Monday through Friday, 9 AM to 5 PM EST.",
            "conversationId": "conv_123456",
            "messageId": "msg_789012",
            "timestamp": "2025-01-10T14:30:00Z"
        }"#;
        let reply = decode_response(&meta(200), body).unwrap();
        assert_eq!(
            reply,
            Reply {
                text: "We're open Monday through Friday, 9 AM to 5 PM EST.".into(),
                conversation_id: "conv_123456".into(),
                message_id: Some("msg_789012".into()),
                timestamp: Some("2025-01-10T14:30:00Z".into()),
                ..Reply::default()
            }
        );
    }

    #[test]
    fn a_send_reply_may_carry_our_quick_replies_and_unknown_fields() {
        let body = br#"{"success":true,"response":"Hi","conversationId":"c","messageId":"m","timestamp":"t","usage":{"tokens":3},
            "suggested_actions":[{"type":"quick_reply","text":"Track","payload":"track"}]}"#;
        let reply = decode_response(&meta(200), body).unwrap();
        assert_eq!(reply.suggested_actions[0].kind, ActionKind::QuickReply);
        assert_eq!(reply.suggested_actions[0].payload.as_deref(), Some("track"));
    }

    #[test]
    fn decodes_the_seed_history() {
        let body = br#"{
            "success": true,
            "conversationId": "conv_123456",
            "messages": [
                {"id": "msg_001", "role": "user", "content": "What are your business hours?", "timestamp": "2025-01-10T14:30:00Z"},
                {"id": "msg_002", "role": "assistant", "content": "We're open Monday through Friday...", "timestamp": "2025-01-10T14:30:05Z"}
            ]
        }"#;
        let history = decode_history(&meta(200), body).unwrap();
        assert_eq!(
            history,
            History {
                conversation_id: "conv_123456".into(),
                messages: vec![
                    HistoryMessage {
                        id: "msg_001".into(),
                        role: Role::User,
                        content: "What are your business hours?".into(),
                        timestamp: Some("2025-01-10T14:30:00Z".into()),
                        partial: false,
                    },
                    HistoryMessage {
                        id: "msg_002".into(),
                        role: Role::Assistant,
                        content: "We're open Monday through Friday...".into(),
                        timestamp: Some("2025-01-10T14:30:05Z".into()),
                        partial: false,
                    },
                ],
                has_more: false,
            }
        );
    }

    #[test]
    fn a_history_page_says_whether_older_messages_exist() {
        let page = |more: &str| {
            let body = format!(
                r#"{{"success":true,"conversationId":"c","messages":[{{"id":"m9","role":"user","content":"hi"}}]{more}}}"#
            );
            decode_history(&meta(200), body.as_bytes()).unwrap()
        };
        assert!(
            page(r#","hasMore":true"#).has_more,
            "the reference server's pages"
        );
        assert!(
            !page("").has_more,
            "a server without pages answers everything"
        );
        assert!(
            !page(r#","hasMore":"yes""#).has_more,
            "only a true boolean says more"
        );
        assert_eq!(page(r#","hasMore":true"#).messages.len(), 1);
    }

    #[test]
    fn history_skips_what_cannot_be_shown_and_keeps_partial_replies() {
        let body = br#"{"success":true,"conversationId":"c","messages":[
            {"id":"1","role":"system","content":"You are a bot"},
            {"id":"2","role":"user","content":"Hi"},
            {"id":"3","role":"assistant","content":42},
            {"id":"4","role":"assistant","content":"Half a rep","partial":true,"timestamp":null}]}"#;
        let history = decode_history(&meta(200), body).unwrap();
        let ids: Vec<&str> = history.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["2", "4"]);
        assert!(history.messages[1].partial);
        assert_eq!(history.messages[1].timestamp, None);

        for broken in [
            &br#"{"success":true,"conversationId":"c"}"#[..],
            br#"{"success":true,"conversationId":"c","messages":{}}"#,
        ] {
            assert_eq!(
                decode_history(&meta(200), broken).unwrap_err().code,
                ErrorCode::MalformedResponse
            );
        }
    }

    #[test]
    fn encodes_the_seed_bot_creation_and_decodes_its_reply() {
        let bot = BotConfiguration {
            name: Some("Customer Support Bot".into()),
            greeting: Some("Hello! How can I help you today?".into()),
            primary_color: Some("#007bff".into()),
            position: Some("bottom-right".into()),
        };
        assert_eq!(
            sent(&encode_create_bot(&bot, "Handles customer inquiries")),
            json!({
                "name": "Customer Support Bot",
                "description": "Handles customer inquiries",
                "configuration": {
                    "greeting": "Hello! How can I help you today?",
                    "theme": {"primaryColor": "#007bff", "position": "bottom-right"}
                }
            })
        );
        let body = br#"{"success": true, "bot": {"id": "bot_xyz789", "name": "Customer Support Bot", "status": "active", "createdAt": "2025-01-10T14:30:00Z"}}"#;
        assert_eq!(
            decode_created_bot(&meta(200), body).unwrap(),
            CreatedBot {
                id: "bot_xyz789".into(),
                name: "Customer Support Bot".into(),
                status: "active".into(),
                created_at: Some("2025-01-10T14:30:00Z".into()),
                publishable_key: None,
            }
        );
        let with_key = br#"{"success":true,"bot":{"id":"b","name":"n","status":"active","createdAt":"t"},"publishableKey":"pk_live_1"}"#;
        assert_eq!(
            decode_created_bot(&meta(201), with_key)
                .unwrap()
                .publishable_key
                .as_deref(),
            Some("pk_live_1")
        );
    }

    #[test]
    fn a_bot_read_gives_the_launcher_settings() {
        let body = br##"{"success":true,"bot":{"id":"bot_xyz789","name":"Customer Support Bot","status":"active","createdAt":"2025-01-10T14:30:00Z",
            "description":"Handles customer inquiries",
            "configuration":{"greeting":"Hello! How can I help you today?","theme":{"primaryColor":"#007bff","position":"bottom-left"}}}}"##;
        assert_eq!(
            decode_bot(&meta(200), body).unwrap(),
            BotConfiguration {
                name: Some("Customer Support Bot".into()),
                greeting: Some("Hello! How can I help you today?".into()),
                primary_color: Some("#007bff".into()),
                position: Some("bottom-left".into()),
            }
        );
        // Without a configuration (the creation shape), or with odd values, nothing is set.
        let bare = br#"{"success":true,"bot":{"id":"b","name":"","status":"active","createdAt":"t","configuration":{"greeting":"","theme":{"primaryColor":7}}}}"#;
        assert_eq!(
            decode_bot(&meta(200), bare).unwrap(),
            BotConfiguration::default()
        );
        let beside =
            br#"{"success":true,"bot":{"id":"b","name":"B"},"configuration":{"greeting":"Yo"}}"#;
        assert_eq!(
            decode_bot(&meta(200), beside).unwrap().greeting.as_deref(),
            Some("Yo")
        );
    }

    #[test]
    fn decodes_the_seed_error_example_and_every_documented_code() {
        let body = br#"{"success": false, "error": {"code": "INVALID_API_KEY", "message": "The provided API key is invalid or expired", "statusCode": 401}}"#;
        let err = decode_response(&meta(401), body).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidApiKey);
        assert_eq!(err.message, "The provided API key is invalid or expired");
        assert_eq!(err.http_status, Some(401));

        let cases = [
            ("RATE_LIMIT_EXCEEDED", 429, ErrorCode::RateLimitExceeded),
            ("BOT_NOT_FOUND", 404, ErrorCode::BotNotFound),
            ("QUOTA_EXCEEDED", 403, ErrorCode::QuotaExceeded),
            ("INVALID_REQUEST", 400, ErrorCode::InvalidRequest),
            ("INSUFFICIENT_CREDITS", 402, ErrorCode::InsufficientCredits),
            ("ORIGIN_NOT_ALLOWED", 403, ErrorCode::OriginNotAllowed),
            (
                "CONVERSATION_NOT_FOUND",
                404,
                ErrorCode::Other("CONVERSATION_NOT_FOUND".into()),
            ),
        ];
        for (code, status, expected) in cases {
            let body = serde_json::to_vec(&ErrorBody::new(code, "text", status)).unwrap();
            let err = decode_response(&meta(status), &body).unwrap_err();
            assert_eq!(
                (err.code.clone(), err.http_status),
                (expected.clone(), Some(status))
            );
            assert_eq!(
                decode_history(&meta(status), &body).unwrap_err().code,
                expected
            );
            assert_eq!(decode_bot(&meta(status), &body).unwrap_err().code, expected);
            assert_eq!(
                decode_created_bot(&meta(status), &body).unwrap_err().code,
                expected
            );
        }
    }

    #[test]
    fn a_429_takes_its_wait_from_the_headers() {
        let mut m = meta(429);
        m.now_unix = 1_641_820_770;
        m.rate_limit.reset_unix = Some(1_641_820_800);
        let body = br#"{"success":false,"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Too many requests in a short period","statusCode":429}}"#;
        assert_eq!(
            decode_response(&m, body).unwrap_err().retry_after_s,
            Some(30)
        );
        m.retry_after = Some("7".into());
        assert_eq!(
            decode_response(&m, body).unwrap_err().retry_after_s,
            Some(7)
        );
    }

    #[test]
    fn decodes_the_seed_analytics_and_builds_its_query() {
        let body = br#"{
            "success": true,
            "analytics": {
                "totalMessages": 1250,
                "uniqueUsers": 423,
                "averageSatisfaction": 4.5,
                "responseTime": "1.2s",
                "topQuestions": ["What are your business hours?", "How do I reset my password?"]
            }
        }"#;
        assert_eq!(
            decode_analytics(&meta(200), body).unwrap(),
            Analytics {
                total_messages: Some(1250),
                unique_users: Some(423),
                average_satisfaction: Some(4.5),
                response_time: Some("1.2s".into()),
                top_questions: Some(vec![
                    "What are your business hours?".into(),
                    "How do I reset my password?".into()
                ]),
            }
        );
        let some = decode_analytics(
            &meta(200),
            br#"{"success":true,"analytics":{"uniqueUsers":3,"extra":[]}}"#,
        )
        .unwrap();
        assert_eq!((some.unique_users, some.total_messages), (Some(3), None));
        assert_eq!(
            decode_analytics(&meta(200), br#"{"success":true}"#)
                .unwrap_err()
                .code,
            ErrorCode::MalformedResponse
        );
        assert_eq!(
            analytics_path("bot_abc123", Some("2025-01-01"), Some("2025-01-31T23:59:59Z"), &["messages", "users"]),
            "/v1/bots/bot_abc123/analytics?startDate=2025-01-01&endDate=2025-01-31T23%3A59%3A59Z&metrics=messages,users"
        );
        assert_eq!(analytics_path("b", None, None, &[]), "/v1/bots/b/analytics");
    }

    #[test]
    fn malformed_bodies_become_errors_not_panics() {
        let cases: [(u16, &[u8], ErrorCode); 8] = [
            (
                200,
                b"<html><body>Bad gateway</body></html>",
                ErrorCode::MalformedResponse,
            ),
            (
                200,
                br#"{"success":true,"response":"We're op"#,
                ErrorCode::MalformedResponse,
            ),
            (200, br#"{"success":true}"#, ErrorCode::MalformedResponse),
            (
                200,
                br#"{"success":true,"response":["a"],"conversationId":"c"}"#,
                ErrorCode::MalformedResponse,
            ),
            (200, br#"{"success":false}"#, ErrorCode::MalformedResponse),
            (503, b"Service Unavailable", ErrorCode::Server),
            (404, b"<h1>Not Found</h1>", ErrorCode::BotNotFound),
            (
                500,
                br#"{"success":false,"error":{"message":"boom"}}"#,
                ErrorCode::Server,
            ),
        ];
        for (status, body, code) in cases {
            let err = decode_response(&meta(status), body).unwrap_err();
            assert_eq!(err.code, code, "for {}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn server_bodies_round_trip_through_the_decoders() {
        let reply = SendReply {
            success: true,
            response: "Hi".into(),
            conversation_id: "c".into(),
            message_id: Some("m".into()),
            timestamp: Some("2025-01-10T14:30:00Z".into()),
            suggested_actions: vec![],
        };
        let encoded = serde_json::to_value(&reply).unwrap();
        assert_eq!(
            encoded,
            json!({"success": true, "response": "Hi", "conversationId": "c", "messageId": "m", "timestamp": "2025-01-10T14:30:00Z"})
        );
        assert_eq!(
            decode_response(&meta(200), encoded.to_string().as_bytes())
                .unwrap()
                .message_id
                .as_deref(),
            Some("m")
        );

        let history = HistoryReply {
            success: true,
            conversation_id: "c".into(),
            messages: vec![HistoryMessage {
                id: "m".into(),
                role: Role::Assistant,
                content: "Hi".into(),
                timestamp: None,
                partial: true,
            }],
        };
        let decoded = decode_history(
            &meta(200),
            serde_json::to_string(&history).unwrap().as_bytes(),
        )
        .unwrap();
        assert_eq!(decoded.messages, history.messages);

        let request: CreateBotRequest = serde_json::from_str(&encode_create_bot(
            &BotConfiguration {
                name: Some("B".into()),
                ..Default::default()
            },
            "",
        ))
        .unwrap();
        assert_eq!(
            (request.name.as_str(), request.configuration.theme),
            ("B", None)
        );
        assert_eq!(bot_path("a/b"), "/v1/bots/a%2Fb");
        assert_eq!(history_path("conv_1"), "/v1/chat/history/conv_1");
    }
}
