//! What the widget tells the page: events dispatched as bubbling DOM `CustomEvent`s named
//! `chat-widget:<name>` on the widget's host element, and passed to `ChatWidget.on(...)`
//! listeners by the loader. The names mirror the vendors' webhook vocabulary.

use serde_json::{json, Value};

/// Something the page may want to know about.
#[derive(Debug, Clone, PartialEq)]
pub enum WidgetEvent {
    /// The widget is mounted and its API works.
    Ready,
    /// The panel opened.
    Opened,
    /// The panel closed.
    Closed,
    /// The visitor sent a message (`text` is what they saw, `payload` what was sent).
    MessageSent {
        /// The visitor's text.
        text: String,
    },
    /// A complete bot reply arrived.
    MessageReceived {
        /// The reply, as Markdown.
        text: String,
        /// Its conversation.
        conversation_id: String,
    },
    /// The first reply of a new conversation arrived.
    ConversationStarted {
        /// The new conversation's id.
        conversation_id: String,
    },
    /// Something failed; the visitor was told.
    Error {
        /// The error code, e.g. `RATE_LIMIT_EXCEEDED`.
        code: String,
        /// Details for the site owner.
        message: String,
    },
}

impl WidgetEvent {
    /// The event's name: the DOM event is `chat-widget:<name>`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Opened => "open",
            Self::Closed => "close",
            Self::MessageSent { .. } => "message-sent",
            Self::MessageReceived { .. } => "message-received",
            Self::ConversationStarted { .. } => "conversation-started",
            Self::Error { .. } => "error",
        }
    }

    /// The event's `detail`, as JSON (fields in alphabetical order, as they always were).
    pub fn detail(&self) -> Value {
        match self {
            Self::Ready | Self::Opened | Self::Closed => json!({}),
            Self::MessageSent { text } => json!({ "text": text }),
            Self::MessageReceived {
                text,
                conversation_id,
            } => json!({ "conversationId": conversation_id, "text": text }),
            Self::ConversationStarted { conversation_id } => {
                json!({ "conversationId": conversation_id })
            }
            Self::Error { code, message } => json!({ "code": code, "message": message }),
        }
    }
}
