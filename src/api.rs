//! Talking to the bot: shapes a message with the configured dialect, sends it, and turns the
//! answer into the internal model. The UI calls [`send`] and never sees a wire format.

use chat_widget_protocol::dialect::chatbots;
use chat_widget_protocol::{ApiError, OutgoingMessage, Reply};

use crate::browser::http;
use crate::config::WidgetConfig;

/// Sends one visitor message and waits for the whole reply.
pub async fn send(config: &WidgetConfig, message: &OutgoingMessage) -> Result<Reply, ApiError> {
    let url = format!("{}{}", config.api_url, chatbots::chat_path(&config.bot_id));
    let response = http::post_json(&url, &chatbots::encode_request(message), config.api_key.as_deref()).await?;
    chatbots::decode_response(&response.meta, &response.body)
}
