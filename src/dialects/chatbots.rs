//! The "chatbots" dialect (PollyBot) on the widget side: one POST, the answer streamed (SSE)
//! or whole (JSON); the conversation is kept in the browser (the server gives none back).

use chat_widget_protocol::dialect::{chatbots, usable_id};
use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::{ApiError, OutgoingMessage};

use crate::api::{ChatDialect, Session};
use crate::browser::http::Abort;

/// The chatbots dialect.
pub struct Chatbots;

impl ChatDialect for Chatbots {
    const KEEPS_TRANSCRIPT: bool = true;

    async fn send(
        session: &Session<'_>,
        message: &OutgoingMessage,
        abort: &Abort,
        on_event: impl FnMut(StreamEvent),
    ) -> Result<Option<u64>, ApiError> {
        let config = session.config;
        let path = chatbots::chat_path(usable_id("bot id", &config.bot_id)?);
        let body = chatbots::encode_request(message);
        super::send_direct(
            config,
            &path,
            &body,
            chatbots::decode_response,
            abort,
            on_event,
        )
        .await
    }
}
