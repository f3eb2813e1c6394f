//! The "jelytech" dialect on the widget side: one POST per message (the answer whole, or SSE
//! when a server streams), the conversation restored from the server's history, and the
//! bot's own look (greeting, colour, position) read from the server.

use chat_widget_protocol::dialect::{jelytech, usable_id};
use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::{ApiError, OutgoingMessage};

use crate::api::{BotLook, ChatDialect, Earlier, Session};
use crate::browser::dom;
use crate::browser::http::Abort;
use crate::config::{Position, WidgetConfig};
use crate::theme::Color;

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

    /// `GET /v1/chat/history/{id}`, then older pages (`?before=&limit=`) where the server
    /// pages it.
    async fn restore_history(
        config: &WidgetConfig,
        conversation_id: &str,
    ) -> Result<Vec<Earlier>, ApiError> {
        let path = jelytech::history_path(usable_id("conversation id", conversation_id)?);
        let messages = super::read_pages(
            config,
            &path,
            |meta, body| {
                let history = jelytech::decode_history(meta, body)?;
                Ok((history.messages, history.has_more))
            },
            |message: &jelytech::HistoryMessage| message.id.as_str(),
        )
        .await?;
        Ok(messages
            .into_iter()
            .map(|message| Earlier {
                from_visitor: message.role == jelytech::Role::User,
                text: message.content,
                payload: None,
                at: message.timestamp.as_deref().and_then(dom::parse_date_ms),
                actions: Vec::new(),
                awaiting: None,
            })
            .collect())
    }

    /// `GET /v1/bots/{id}` (ours: the document has no read endpoint): its greeting (unless
    /// blank), `#rrggbb` colour and corner.
    async fn bot_look(config: &WidgetConfig) -> Result<Option<BotLook>, ApiError> {
        let path = jelytech::bot_path(usable_id("bot id", &config.bot_id)?);
        let (meta, body) = super::get_json(config, &path, &[]).await?;
        let bot = jelytech::decode_bot(&meta, &body)?;
        Ok(Some(BotLook {
            greeting: bot.greeting.filter(|greeting| !greeting.trim().is_empty()),
            primary: bot.primary_color.as_deref().and_then(Color::parse_hex),
            position: bot.position.as_deref().and_then(Position::parse),
        }))
    }
}
