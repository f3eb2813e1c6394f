//! The "openai" dialect on the widget side: the whole conversation goes with each message
//! (the widget keeps it in the browser), and the answer streams (SSE) or comes whole (JSON).

use chat_widget_protocol::dialect::openai;
use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::{ApiError, OutgoingMessage};

use crate::api::{ChatDialect, Session};
use crate::browser::http::Abort;

/// The openai dialect.
pub struct Openai;

impl ChatDialect for Openai {
    const KEEPS_TRANSCRIPT: bool = true;
    const SENDS_HISTORY: bool = true;

    async fn send(
        session: &Session<'_>,
        message: &OutgoingMessage,
        abort: &Abort,
        on_event: impl FnMut(StreamEvent),
    ) -> Result<Option<u64>, ApiError> {
        let config = session.config;
        let role = |from_visitor| {
            if from_visitor {
                openai::Role::User
            } else {
                openai::Role::Assistant
            }
        };
        let mut turns: Vec<openai::ChatTurn> = session
            .history
            .iter()
            .map(|turn| openai::ChatTurn::new(role(turn.from_visitor), turn.text.clone()))
            .collect();
        turns.push(openai::ChatTurn::new(
            openai::Role::User,
            message.message.clone(),
        ));
        let body = openai::encode_request(&turns, &config.bot_id, message.stream.unwrap_or(true));
        super::send_direct(
            config,
            openai::CHAT_COMPLETIONS_PATH,
            &body,
            openai::decode_response,
            abort,
            on_event,
        )
        .await
    }
}
