//! The "jelytech" dialect on the widget side: one POST per message (the answer whole, or SSE
//! when a server streams), the conversation restored from the server's history, and the
//! bot's own look (greeting, colour, position) read from the server.

use chat_widget_protocol::dialect::{jelytech, usable_id};
use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::{ApiError, OutgoingMessage};

use crate::api::{ChatDialect, Earlier, Session};
use crate::browser::dom;
use crate::browser::http::{self, Abort};
use crate::config::WidgetConfig;

/// The jelytech dialect.
pub struct Jelytech;

impl ChatDialect for Jelytech {
    async fn send(
        session: &Session<'_>,
        message: &OutgoingMessage,
        abort: &Abort,
        on_event: impl FnMut(StreamEvent),
    ) -> Result<Option<u64>, ApiError> {
        let config = session.config;
        let body = jelytech::encode_send(message, &config.bot_id, config.user_id.as_deref());
        super::send_direct(
            config,
            jelytech::SEND_PATH,
            &body,
            jelytech::decode_response,
            abort,
            on_event,
        )
        .await
    }

    /// `GET /v1/chat/history/{id}`.
    async fn restore_history(
        config: &WidgetConfig,
        conversation_id: &str,
    ) -> Result<Vec<Earlier>, ApiError> {
        let path = jelytech::history_path(usable_id("conversation id", conversation_id)?);
        let response = http::get(
            &url(config, &path),
            &[],
            config.api_key.as_deref(),
            "application/json",
            &Abort::new(),
        )
        .await?;
        let meta = response.meta.clone();
        let history = jelytech::decode_history(&meta, &response.bytes().await?)?;
        Ok(history
            .messages
            .into_iter()
            .map(|message| Earlier {
                from_visitor: message.role == jelytech::Role::User,
                text: message.content,
                payload: None,
                at: message.timestamp.as_deref().and_then(dom::parse_date_ms),
                actions: Vec::new(),
            })
            .collect())
    }

    /// `GET /v1/bots/{id}` (ours: the document has no read endpoint).
    async fn bot_look(
        config: &WidgetConfig,
    ) -> Result<Option<jelytech::BotConfiguration>, ApiError> {
        let path = jelytech::bot_path(usable_id("bot id", &config.bot_id)?);
        let response = http::get(
            &url(config, &path),
            &[],
            config.api_key.as_deref(),
            "application/json",
            &Abort::new(),
        )
        .await?;
        let meta = response.meta.clone();
        jelytech::decode_bot(&meta, &response.bytes().await?).map(Some)
    }
}

/// The API base URL followed by `path`.
fn url(config: &WidgetConfig, path: &str) -> String {
    let mut url = String::with_capacity(config.api_url.len() + path.len());
    url.push_str(&config.api_url);
    url.push_str(path);
    url
}
