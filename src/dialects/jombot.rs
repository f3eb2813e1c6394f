//! The "jombot" dialect on the widget side: one POST, the answer whole (JSON, or SSE when a
//! server streams); the conversation is kept in the browser (the server gives none back).

use chat_widget_protocol::dialect::jombot;
use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::{ApiError, OutgoingMessage};

use crate::api::{ChatDialect, Session};
use crate::browser::http::Abort;

/// The jombot dialect.
pub struct Jombot;

impl ChatDialect for Jombot {
    const KEEPS_TRANSCRIPT: bool = true;

    async fn send(
        session: &Session<'_>,
        message: &OutgoingMessage,
        abort: &Abort,
        on_event: impl FnMut(StreamEvent),
    ) -> Result<Option<u64>, ApiError> {
        let config = session.config;
        let body = jombot::encode_request(message, &config.bot_id, config.user_id.as_deref(), None);
        super::send_direct(
            config,
            jombot::CHAT_PATH,
            &body,
            jombot::decode_response,
            abort,
            on_event,
        )
        .await
    }
}
