//! The "chataibot" dialect ("API as a channel"): the visitor's messages go in, the bot's
//! answers come back separately.
//!
//! * `POST {base}/api/v1/conversations` starts a conversation with the visitor's first message
//!   ([`encode_start`], [`decode_start`]): `{"channel":"API","message":{"data":{"body"},
//!   "type":"text"},"variables":{"system":{...},"contact":{...},"conversation":{...}},
//!   "bot_key","from":{"user_external_id","type":"VISITOR"}}` →
//!   `{"ok":true,"conversation":{"id","created_at","assignee"},"contact":{...,"visitor_key"}}`.
//! * `POST {base}/api/v1/conversation/<id>/messages` sends the next visitor message
//!   ([`encode_send`], [`decode_send`]): `{"message":{"data":{"body"},"type":"text"},
//!   "user":{"type":"VISITOR"}}` → `{"ok":true,"message_id"}`.
//!
//! The vendor delivers the bot's answers to the integrator's own system. **Ours**: the
//! reference server offers them to the widget in two ways:
//!
//! * polling, `GET {base}/api/v1/conversation/<id>/messages?after=<message_id>` ([`poll_path`],
//!   [`decode_messages`], [`decode_bot_replies`]) → `{"ok":true,"messages":[{"id","from":
//!   "BOT"|"VISITOR","body","created_at","suggested_actions"?}]}`: the messages stored after
//!   `after` (all of them without it), oldest first. Use the last id seen as the next `after`.
//! * listening: the same URL with `Accept: text/event-stream` answers Server-Sent Events, one
//!   [`MESSAGE_EVENT`] per new message (`id:` the message id, `data:` one poll item as JSON,
//!   see [`sse_frame`], [`decode_stream_event`]), `: keep-alive` comments while idle, and the
//!   end of the stream after a long idle time (reconnect with the last id as `after`; a
//!   `Last-Event-ID` header is read as `after` too).
//!
//! Also ours: `message_id` (the visitor message's id) in the start reply, so the first poll
//! can say `after`; and errors, which the document does not show:
//! `{"ok":false,"error":{"code","message","retry_after"?}}` with the HTTP status of the code,
//! `BOT_NOT_FOUND` for an unknown bot and `CONVERSATION_NOT_FOUND` (404) for an unknown
//! conversation.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{is_success, nested_or_flat_error, parse_json, path_segment, shaped, to_json, Dialect};
use crate::model::{ApiError, ErrorCode, Reply, ResponseMeta, SuggestedAction};
use crate::sse::SseEvent;

/// The start endpoint's path below the API base URL.
pub const START_PATH: &str = "/api/v1/conversations";

/// The SSE event name of one message in the listening form.
pub const MESSAGE_EVENT: &str = "message";

/// The `Accept` value that asks the poll URL for the listening form.
pub const EVENT_STREAM: &str = "text/event-stream";

/// The path that takes a conversation's visitor messages (POST) and gives its messages (GET).
pub fn messages_path(conversation_id: &str) -> String {
    format!(
        "/api/v1/conversation/{}/messages",
        path_segment(conversation_id)
    )
}

/// The poll (or listen) URL path: [`messages_path`] with `?after=<message_id>` when given.
pub fn poll_path(conversation_id: &str, after: Option<&str>) -> String {
    match after {
        Some(after) => format!(
            "{}?after={}",
            messages_path(conversation_id),
            path_segment(after)
        ),
        None => messages_path(conversation_id),
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// `variables.system`: what the browser says about the visitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemVariables {
    /// IANA time zone, e.g. `Asia/Calcutta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The page the visitor is on (or came from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_url: Option<String>,
    /// The browser's language, e.g. `en-GB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_language: Option<String>,
}

/// `variables.contact`: who the visitor is, when the site knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Their e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Their phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `variables` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Variables {
    /// From the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemVariables>,
    /// About the visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Free-form conversation variables for the bot's flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Value>,
}

/// `message.data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageData {
    /// The text.
    pub body: String,
}

/// `message`: `{"data":{"body"},"type":"text"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    /// The text, wrapped.
    pub data: MessageData,
    /// Always `text` from the widget.
    #[serde(rename = "type", default = "text_type")]
    pub kind: String,
}

impl MessageContent {
    /// A text message.
    pub fn text(body: impl Into<String>) -> Self {
        Self {
            data: MessageData { body: body.into() },
            kind: text_type(),
        }
    }
}

fn text_type() -> String {
    "text".to_owned()
}

fn visitor_type() -> String {
    "VISITOR".to_owned()
}

/// `from` in a start body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct From {
    /// The visitor's stable id (the widget keeps one in local storage).
    pub user_external_id: String,
    /// Always `VISITOR`.
    #[serde(rename = "type", default = "visitor_type")]
    pub kind: String,
}

/// The start body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// Always `API`.
    #[serde(default)]
    pub channel: String,
    /// The visitor's first message.
    pub message: MessageContent,
    /// Optional variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Variables>,
    /// The bot (on the reference server: the bot's id).
    pub bot_key: String,
    /// The visitor.
    pub from: From,
}

/// What the widget knows when it starts a conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartParams {
    /// The visitor's stable id, `from.user_external_id`.
    pub visitor_id: String,
    /// The bot, `bot_key`.
    pub bot_key: String,
    /// `variables.system`, filled from the browser.
    pub system: Option<SystemVariables>,
    /// `variables.contact`.
    pub contact: Option<Contact>,
    /// `variables.conversation`.
    pub conversation: Option<Value>,
}

/// Encodes a start body for the visitor's first message. `variables` is left out when none of
/// its parts is given.
pub fn encode_start(message: &str, params: &StartParams) -> String {
    let variables =
        (params.system.is_some() || params.contact.is_some() || params.conversation.is_some())
            .then(|| Variables {
                system: params.system.clone(),
                contact: params.contact.clone(),
                conversation: params.conversation.clone(),
            });
    to_json(&StartRequest {
        channel: "API".to_owned(),
        message: MessageContent::text(message),
        variables,
        bot_key: params.bot_key.clone(),
        from: From {
            user_external_id: params.visitor_id.clone(),
            kind: visitor_type(),
        },
    })
}

/// `user` in a send body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Always `VISITOR`.
    #[serde(rename = "type", default = "visitor_type")]
    pub kind: String,
}

/// The send body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRequest {
    /// The visitor's message.
    pub message: MessageContent,
    /// Who sends it.
    #[serde(default = "visitor_user")]
    pub user: User,
}

fn visitor_user() -> User {
    User {
        kind: visitor_type(),
    }
}

/// Encodes a send body for the visitor's next message (a [`SendRequest`]).
pub fn encode_send(message: &str) -> String {
    to_json(&SendRequest {
        message: MessageContent::text(message),
        user: visitor_user(),
    })
}

// ---------------------------------------------------------------------------------------------
// Replies.

/// `conversation.assignee` in a start reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// The bot user's id.
    #[serde(default)]
    pub id: String,
    /// The bot user's e-mail address.
    #[serde(default)]
    pub to: String,
}

/// `conversation` in a start reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationInfo {
    /// The conversation's id.
    pub id: String,
    /// When it started (`2025-02-10 20:21:03.913000`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<String>,
    /// Who answers.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub assignee: Option<Assignee>,
}

/// `contact` in a start reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInfo {
    /// The visitor's name, as sent.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    /// Their e-mail, as sent.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<String>,
    /// Their phone, as sent.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone: Option<String>,
    /// `<visitor_id>_<account_id>`.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub visitor_key: Option<String>,
}

/// A start success body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartReply {
    /// Always `true`.
    pub ok: bool,
    /// The new conversation.
    pub conversation: ConversationInfo,
    /// The visitor as the bot knows them.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub contact: Option<ContactInfo>,
    /// Ours: the id of the visitor's first message, the first poll's `after`.
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_id: Option<String>,
}

/// A conversation that was just started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartedConversation {
    /// Its id: the path of every later call.
    pub conversation_id: String,
    /// When it started, as the server wrote it.
    pub created_at: Option<String>,
    /// The visitor's key, when the server gives it.
    pub visitor_key: Option<String>,
    /// The visitor message's id (ours), to poll `after`.
    pub message_id: Option<String>,
}

/// Decodes a start response.
pub fn decode_start(meta: &ResponseMeta, body: &[u8]) -> Result<StartedConversation, ApiError> {
    let value = success_value(meta, body)?;
    // Its `assignee` and `contact` are lenient: never wrong.
    let reply: StartReply = shaped(meta, Dialect::Chataibot, &value)?;
    Ok(StartedConversation {
        conversation_id: reply.conversation.id,
        created_at: reply.conversation.created_at,
        visitor_key: reply.contact.and_then(|contact| contact.visitor_key),
        message_id: reply.message_id,
    })
}

/// A send success body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReply {
    /// Always `true`.
    pub ok: bool,
    /// The visitor message's id.
    pub message_id: String,
}

/// Decodes a send response into the visitor message's id.
pub fn decode_send(meta: &ResponseMeta, body: &[u8]) -> Result<String, ApiError> {
    let value = success_value(meta, body)?;
    let reply: SendReply = shaped(meta, Dialect::Chataibot, &value)?;
    Ok(reply.message_id)
}

/// Who wrote a delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Sender {
    /// The bot's answer.
    Bot,
    /// The visitor's message.
    Visitor,
}

/// One message of a poll reply, and the data of one [`MESSAGE_EVENT`] (ours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The message id (the next `after`).
    pub id: String,
    /// Who wrote it.
    pub from: Sender,
    /// The text (Markdown for the bot).
    pub body: String,
    /// When it was stored (`2025-02-10 20:21:03.913000`).
    #[serde(
        default,
        deserialize_with = "super::lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<String>,
    /// Quick replies under a bot message.
    #[serde(
        default,
        deserialize_with = "super::lenient_actions",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub suggested_actions: Vec<SuggestedAction>,
}

impl ChatMessage {
    /// The message as a reply in `conversation_id`, if the bot wrote it.
    pub fn into_reply(self, conversation_id: &str) -> Option<Reply> {
        (self.from == Sender::Bot).then(|| Reply {
            text: self.body,
            conversation_id: conversation_id.to_owned(),
            message_id: Some(self.id),
            timestamp: self.created_at,
            suggested_actions: self.suggested_actions,
            confidence: None,
        })
    }
}

/// A message's `created_at` as ISO 8601 in UTC (`2025-02-10T20:21:03.913Z`), which browsers
/// parse the same everywhere. The document's spelling (`2025-02-10 20:21:03.913000`) has no
/// zone: it is UTC, and a browser would read it as local time. Other spellings are kept.
pub fn created_at_iso(created_at: &str) -> String {
    let bytes = created_at.as_bytes();
    let documented = bytes.len() >= 19
        && bytes[10] == b' '
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            19 => *b == b'.',
            _ => b.is_ascii_digit(),
        });
    if !documented {
        return created_at.to_owned();
    }
    let fraction: String = created_at
        .get(20..)
        .unwrap_or("")
        .chars()
        .chain("000".chars())
        .take(3)
        .collect();
    format!("{}T{}.{fraction}Z", &created_at[..10], &created_at[11..19])
}

/// A poll success body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesReply {
    /// Always `true`.
    pub ok: bool,
    /// The messages after `after`, oldest first (a list; the items this widget cannot read
    /// are skipped).
    #[serde(deserialize_with = "super::lenient_items")]
    pub messages: Vec<ChatMessage>,
}

/// Decodes a poll response into its messages, both senders, oldest first (the last one's id
/// is the next `after`). Items this widget cannot read are skipped.
pub fn decode_messages(meta: &ResponseMeta, body: &[u8]) -> Result<Vec<ChatMessage>, ApiError> {
    decode_messages_page(meta, body).map(|page| page.messages)
}

/// A page of a conversation's messages, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessagesPage {
    /// The messages, both senders, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Ours (the reference server's pages): there are more in the page's direction (older for
    /// a read without a cursor or with `before`), read with `before` the first one's id
    /// (`has_more`; absent, as from a server without pages: no).
    pub has_more: bool,
}

/// Decodes a messages response as a page: [`decode_messages`] and whether there are more.
pub fn decode_messages_page(meta: &ResponseMeta, body: &[u8]) -> Result<MessagesPage, ApiError> {
    let value = success_value(meta, body)?;
    let reply: MessagesReply = shaped(meta, Dialect::Chataibot, &value)?;
    Ok(MessagesPage {
        messages: reply.messages,
        has_more: value.get("has_more").and_then(Value::as_bool) == Some(true),
    })
}

/// Decodes a poll response into the bot's replies in it, oldest first.
pub fn decode_bot_replies(
    meta: &ResponseMeta,
    body: &[u8],
    conversation_id: &str,
) -> Result<Vec<Reply>, ApiError> {
    Ok(decode_messages(meta, body)?
        .into_iter()
        .filter_map(|m| m.into_reply(conversation_id))
        .collect())
}

/// One message as an SSE event: `id: <id>`, `event: message`, `data: <poll item JSON>`.
/// (Server side.)
pub fn sse_frame(message: &ChatMessage) -> String {
    let data = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    let id: String = message
        .id
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n' | '\0'))
        .collect();
    format!("id: {id}\nevent: {MESSAGE_EVENT}\ndata: {data}\n\n")
}

/// What one event of the listening form means: a bot reply (`Some(Ok)`), an error the
/// server reported in the stream (`Some(Err)`, an `error` event with an error body), or
/// nothing for the widget (`None`: a visitor message, an unknown event, a bad payload).
pub fn decode_stream_event(
    event: &SseEvent,
    conversation_id: &str,
) -> Option<Result<Reply, ApiError>> {
    match event.event.as_str() {
        MESSAGE_EVENT => serde_json::from_str::<ChatMessage>(&event.data)
            .ok()
            .and_then(|m| m.into_reply(conversation_id))
            .map(Ok),
        "error" => {
            let value: Value = serde_json::from_str(&event.data).ok()?;
            let mut error = decode_error_value(&ResponseMeta::default(), &value);
            if error.code == ErrorCode::MalformedResponse {
                error.code = ErrorCode::Server;
            }
            Some(Err(error))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// The inside of an error body (ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A machine code such as `CONVERSATION_NOT_FOUND`.
    pub code: String,
    /// Human-readable text.
    pub message: String,
    /// Seconds to wait, with `RATE_LIMIT_EXCEEDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// An error body: `{"ok":false,"error":{"code","message","retry_after"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `false`.
    pub ok: bool,
    /// What went wrong.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// The body a server sends (`code` in this dialect's spelling, see [`wire_code`]).
    pub fn new(code: &str, message: impl Into<String>, retry_after: Option<u64>) -> Self {
        Self {
            ok: false,
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

/// Reads an error body into the model: ours, `{"ok":false,"error":"text","code"?}`, or
/// `{"ok":false,"message":"text"}`.
pub fn decode_error_value(meta: &ResponseMeta, value: &Value) -> ApiError {
    nested_or_flat_error(meta, value, &["retry_after", "retryAfter"])
}

/// The JSON of a success body, or the error the response is.
fn success_value(meta: &ResponseMeta, body: &[u8]) -> Result<Value, ApiError> {
    let value = parse_json(meta, body)?;
    let ok = value.get("ok").and_then(Value::as_bool);
    if is_success(meta) && ok != Some(false) && value.get("error").is_none() {
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
    use crate::sse::SseParser;
    use serde_json::json;

    #[test]
    fn encodes_the_seed_start_body() {
        let params = StartParams {
            visitor_id: "<visitor_id>".into(),
            bot_key: "<bot_key>".into(),
            system: Some(SystemVariables {
                timezone: Some("Asia/Calcutta".into()),
                referrer_url: Some("https://chataibot.io".into()),
                browser_language: Some("en-GB".into()),
            }),
            contact: Some(Contact {
                name: Some("User Name".into()),
                email: Some("example@domain.com".into()),
                phone: Some("1234567890".into()),
            }),
            conversation: Some(json!({"variable": "value"})),
        };
        // The seed's body, without its `//` comments.
        assert_eq!(
            sent(&encode_start("Hello", &params)),
            json!({
                "channel": "API",
                "message": {"data": {"body": "Hello"}, "type": "text"},
                "variables": {
                    "system": {"timezone": "Asia/Calcutta", "referrerUrl": "https://chataibot.io", "browserLanguage": "en-GB"},
                    "contact": {"name": "User Name", "email": "example@domain.com", "phone": "1234567890"},
                    "conversation": {"variable": "value"}
                },
                "bot_key": "<bot_key>",
                "from": {"user_external_id": "<visitor_id>", "type": "VISITOR"}
            })
        );
    }

    #[test]
    fn variables_are_optional() {
        let params = StartParams {
            visitor_id: "v1".into(),
            bot_key: "demo".into(),
            ..Default::default()
        };
        assert_eq!(
            sent(&encode_start("Hi", &params)),
            json!({"channel": "API", "message": {"data": {"body": "Hi"}, "type": "text"}, "bot_key": "demo",
                   "from": {"user_external_id": "v1", "type": "VISITOR"}})
        );
        let only_system = StartParams {
            system: Some(SystemVariables {
                timezone: Some("Europe/Paris".into()),
                ..Default::default()
            }),
            ..params
        };
        assert_eq!(
            sent(&encode_start("Hi", &only_system))["variables"],
            json!({"system": {"timezone": "Europe/Paris"}})
        );
    }

    #[test]
    fn encodes_the_seed_send_body() {
        assert_eq!(
            sent(&encode_send("Hello")),
            json!({"message": {"data": {"body": "Hello"}, "type": "text"}, "user": {"type": "VISITOR"}})
        );
    }

    #[test]
    fn decodes_the_seed_start_and_send_replies() {
        let start = br#"{
            "ok": true,
            "conversation": {"id": "<conversation_id>", "created_at": "2025-02-10 20:21:03.913000",
                             "assignee": {"id": "<bot_user_id>", "to": "<bot_user_email>"}},
            "contact": {"name": "User Name", "email": "example@domain.com", "phone": "9999999999", "visitor_key": "<visitor_id>_<account_id>"}
        }"#;
        assert_eq!(
            decode_start(&meta(200), start).unwrap(),
            StartedConversation {
                conversation_id: "<conversation_id>".into(),
                created_at: Some("2025-02-10 20:21:03.913000".into()),
                visitor_key: Some("<visitor_id>_<account_id>".into()),
                message_id: None,
            }
        );
        let send = br#"{"ok": true, "message_id": "6HRBshHEcV8P103039226478taGDJQxC"}"#;
        assert_eq!(
            decode_send(&meta(200), send).unwrap(),
            "6HRBshHEcV8P103039226478taGDJQxC"
        );
    }

    #[test]
    fn a_start_reply_may_carry_our_message_id_and_unknown_fields() {
        let body = br#"{"ok":true,"conversation":{"id":"c1","assignee":null,"tags":[]},"message_id":"m1","extra":1}"#;
        let started = decode_start(&meta(201), body).unwrap();
        assert_eq!(
            (
                started.conversation_id.as_str(),
                started.message_id.as_deref()
            ),
            ("c1", Some("m1"))
        );
    }

    #[test]
    fn a_messages_page_says_whether_there_are_more() {
        let page = |more: &str| {
            let body = format!(
                r#"{{"ok":true,"messages":[{{"id":"m7","from":"VISITOR","body":"hi"}}]{more}}}"#
            );
            decode_messages_page(&meta(200), body.as_bytes()).unwrap()
        };
        assert!(
            page(r#","has_more":true"#).has_more,
            "the reference server's pages"
        );
        assert!(
            !page("").has_more,
            "a server without pages answers everything"
        );
        assert!(
            !page(r#","has_more":1"#).has_more,
            "only a true boolean says more"
        );
        assert_eq!(page(r#","has_more":true"#).messages[0].id, "m7");
    }

    #[test]
    fn a_poll_gives_the_bot_replies_and_a_cursor() {
        let body = br#"{"ok":true,"messages":[
            {"id":"m1","from":"VISITOR","body":"Where is my order?","created_at":"2025-02-10 20:21:03.913000"},
            {"id":"m2","from":"BOT","body":"Track it under **Orders**.","created_at":"2025-02-10 20:21:04.213000",
             "suggested_actions":[{"type":"quick_reply","text":"Talk to a human","payload":"Talk to a human"}]},
            {"id":"m3","from":"AGENT","body":"Hi, I'm Sam"},
            {"id":"m4","from":"BOT"}
        ]}"#;
        let messages = decode_messages(&meta(200), body).unwrap();
        assert_eq!(
            messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["m1", "m2"]
        );
        let replies = decode_bot_replies(&meta(200), body, "c1").unwrap();
        assert_eq!(
            replies,
            vec![Reply {
                text: "Track it under **Orders**.".into(),
                conversation_id: "c1".into(),
                message_id: Some("m2".into()),
                timestamp: Some("2025-02-10 20:21:04.213000".into()),
                suggested_actions: vec![SuggestedAction {
                    kind: ActionKind::QuickReply,
                    text: "Talk to a human".into(),
                    payload: Some("Talk to a human".into()),
                }],
                confidence: None,
            }]
        );
        assert_eq!(
            decode_bot_replies(&meta(200), br#"{"ok":true,"messages":[]}"#, "c1").unwrap(),
            vec![]
        );
        assert_eq!(
            poll_path("conv_1", Some("msg_2")),
            "/api/v1/conversation/conv_1/messages?after=msg_2"
        );
        assert_eq!(
            poll_path("a/b", Some("x&y")),
            "/api/v1/conversation/a%2Fb/messages?after=x%26y"
        );
        assert_eq!(poll_path("c", None), messages_path("c"));
    }

    #[test]
    fn the_documented_time_reads_as_utc() {
        assert_eq!(
            created_at_iso("2025-02-10 20:21:03.913000"),
            "2025-02-10T20:21:03.913Z"
        );
        assert_eq!(
            created_at_iso("2025-02-10 20:21:03"),
            "2025-02-10T20:21:03.000Z"
        );
        assert_eq!(
            created_at_iso("2025-02-10 20:21:03.9"),
            "2025-02-10T20:21:03.900Z"
        );
        assert_eq!(
            created_at_iso("2025-02-10T20:21:03+01:00"),
            "2025-02-10T20:21:03+01:00",
            "a zone is kept"
        );
        assert_eq!(created_at_iso("yesterday"), "yesterday");
        assert_eq!(
            created_at_iso("2025-02-10 20:21:03.9x"),
            "2025-02-10 20:21:03.9x"
        );
    }

    #[test]
    fn the_listening_form_delivers_bot_messages_one_event_each() {
        let visitor = ChatMessage {
            id: "m1".into(),
            from: Sender::Visitor,
            body: "Hi".into(),
            created_at: None,
            suggested_actions: vec![],
        };
        let bot = ChatMessage {
            id: "m2".into(),
            from: Sender::Bot,
            body: "Hello!\n\nHow can I help?".into(),
            created_at: Some("t".into()),
            suggested_actions: vec![],
        };
        let stream = format!(
            ": keep-alive\n\n{}{}event: ping\ndata: {{}}\n\nevent: error\ndata: {}\n\n",
            sse_frame(&visitor),
            sse_frame(&bot),
            serde_json::to_string(&ErrorBody::new("SERVER_ERROR", "Bot crashed", None)).unwrap()
        );
        let mut parser = SseParser::new();
        let events = parser.feed(stream.as_bytes());
        let decoded: Vec<_> = events
            .iter()
            .filter_map(|e| decode_stream_event(e, "c1"))
            .collect();
        assert_eq!(decoded.len(), 2);
        let reply = decoded[0].clone().unwrap();
        assert_eq!(
            (reply.text.as_str(), reply.message_id.as_deref()),
            ("Hello!\n\nHow can I help?", Some("m2"))
        );
        assert_eq!(
            events[1].id.as_deref(),
            Some("m2"),
            "the SSE id is the message id"
        );
        let error = decoded[1].clone().unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (ErrorCode::Server, "Bot crashed")
        );
    }

    #[test]
    fn decodes_our_error_bodies() {
        let cases: [(u16, &str, ErrorCode); 7] = [
            (401, "INVALID_API_KEY", ErrorCode::InvalidApiKey),
            (402, "INSUFFICIENT_CREDITS", ErrorCode::InsufficientCredits),
            (403, "QUOTA_EXCEEDED", ErrorCode::QuotaExceeded),
            (403, "ORIGIN_NOT_ALLOWED", ErrorCode::OriginNotAllowed),
            (404, "BOT_NOT_FOUND", ErrorCode::BotNotFound),
            (
                404,
                "CONVERSATION_NOT_FOUND",
                ErrorCode::Other("CONVERSATION_NOT_FOUND".into()),
            ),
            (400, "INVALID_REQUEST", ErrorCode::InvalidRequest),
        ];
        for (status, code, expected) in cases {
            let body = serde_json::to_vec(&ErrorBody::new(code, "text", None)).unwrap();
            assert_eq!(
                decode_start(&meta(status), &body).unwrap_err().code,
                expected
            );
            assert_eq!(
                decode_send(&meta(status), &body).unwrap_err().code,
                expected
            );
            let err = decode_messages(&meta(status), &body).unwrap_err();
            assert_eq!(
                (err.code, err.http_status, err.message.as_str()),
                (expected, Some(status), "text")
            );
        }
        let limited = serde_json::to_vec(&ErrorBody::new(
            "RATE_LIMIT_EXCEEDED",
            "Slow down",
            Some(42),
        ))
        .unwrap();
        let err = decode_send(&meta(429), &limited).unwrap_err();
        assert_eq!(
            (err.code, err.retry_after_s),
            (ErrorCode::RateLimitExceeded, Some(42))
        );
        assert_eq!(wire_code(&ErrorCode::BotNotFound), "BOT_NOT_FOUND");
        let flat = decode_send(&meta(400), br#"{"ok":false,"error":"Bad body"}"#).unwrap_err();
        assert_eq!(
            (flat.code, flat.message.as_str()),
            (ErrorCode::InvalidRequest, "HTTP 400 Bad body")
        );
    }

    #[test]
    fn malformed_bodies_become_errors_not_panics() {
        let cases: [(u16, &[u8], ErrorCode); 7] = [
            (
                200,
                b"<!doctype html><title>Login</title>",
                ErrorCode::MalformedResponse,
            ),
            (
                200,
                br#"{"ok":true,"conversation":{"id":"c"#,
                ErrorCode::MalformedResponse,
            ),
            (200, br#"{"ok":true}"#, ErrorCode::MalformedResponse),
            (
                200,
                br#"{"ok":true,"conversation":{"id":7}}"#,
                ErrorCode::MalformedResponse,
            ),
            (200, br#"{"ok":false}"#, ErrorCode::MalformedResponse),
            (502, b"<html>Bad gateway</html>", ErrorCode::Server),
            (401, b"", ErrorCode::InvalidApiKey),
        ];
        for (status, body, code) in cases {
            let err = decode_start(&meta(status), body).unwrap_err();
            assert_eq!(err.code, code, "for {}", String::from_utf8_lossy(body));
        }
        assert_eq!(
            decode_send(&meta(200), br#"{"ok":true,"message_id":null}"#)
                .unwrap_err()
                .code,
            ErrorCode::MalformedResponse
        );
        assert_eq!(
            decode_messages(&meta(200), br#"{"ok":true,"messages":"none"}"#)
                .unwrap_err()
                .code,
            ErrorCode::MalformedResponse
        );
    }

    #[test]
    fn server_bodies_round_trip() {
        let start: StartRequest = serde_json::from_str(&encode_start(
            "Hi",
            &StartParams {
                visitor_id: "v".into(),
                bot_key: "demo".into(),
                ..Default::default()
            },
        ))
        .unwrap();
        assert_eq!(
            (
                start.channel.as_str(),
                start.message.kind.as_str(),
                start.from.kind.as_str()
            ),
            ("API", "text", "VISITOR")
        );
        let send: SendRequest = serde_json::from_str(&encode_send("Next")).unwrap();
        assert_eq!(send.message.data.body, "Next");
        // A minimal send body (no type, no user) is read with the defaults.
        let minimal: SendRequest =
            serde_json::from_str(r#"{"message":{"data":{"body":"x"}}}"#).unwrap();
        assert_eq!(
            (minimal.message.kind.as_str(), minimal.user.kind.as_str()),
            ("text", "VISITOR")
        );

        let reply = MessagesReply {
            ok: true,
            messages: vec![ChatMessage {
                id: "m".into(),
                from: Sender::Bot,
                body: "Hi".into(),
                created_at: None,
                suggested_actions: vec![],
            }],
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({"ok": true, "messages": [{"id": "m", "from": "BOT", "body": "Hi"}]})
        );
        assert_eq!(
            decode_bot_replies(&meta(200), &serde_json::to_vec(&reply).unwrap(), "c")
                .unwrap()
                .len(),
            1
        );
    }
}
