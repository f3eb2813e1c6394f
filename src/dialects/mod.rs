//! One module per dialect, each the widget side of one wire format ([`crate::api::ChatDialect`]),
//! each compiled only with its crate feature, and what they share.

#[cfg(feature = "chataibot")]
pub mod chataibot;
#[cfg(feature = "chatbots")]
pub mod chatbots;
#[cfg(any(
    feature = "chatbots",
    feature = "jombot",
    feature = "jelytech",
    feature = "openai"
))]
mod direct;
#[cfg(feature = "jelytech")]
pub mod jelytech;
#[cfg(feature = "jombot")]
pub mod jombot;
#[cfg(feature = "openai")]
pub mod openai;

#[cfg(any(
    feature = "chatbots",
    feature = "jombot",
    feature = "jelytech",
    feature = "openai"
))]
use direct::send_direct;

use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::Reply;

use crate::config::WidgetConfig;

/// The API base URL followed by `path`.
pub(crate) fn url(config: &WidgetConfig, path: &str) -> String {
    let mut url = String::with_capacity(config.api_url.len() + path.len());
    url.push_str(&config.api_url);
    url.push_str(path);
    url
}

/// A JSON document read with `GET` from `path` under the API base URL, with the page's key:
/// the response's facts and its body, for the dialect's decoder.
#[cfg(any(feature = "chataibot", feature = "jelytech"))]
pub(crate) async fn get_json(
    config: &WidgetConfig,
    path: &str,
) -> Result<(chat_widget_protocol::ResponseMeta, Vec<u8>), chat_widget_protocol::ApiError> {
    use crate::browser::http::{self, Abort};
    let response = http::get(
        &url(config, path),
        &[],
        config.api_key.as_deref(),
        "application/json",
        &Abort::new(),
    )
    .await?;
    let meta = response.meta.clone();
    Ok((meta, response.bytes().await?))
}

/// A whole reply, told as the events a stream would have given.
pub(crate) fn emit_whole(reply: Reply, on_event: &mut impl FnMut(StreamEvent)) {
    let conversation_id =
        (!reply.conversation_id.is_empty()).then(|| reply.conversation_id.clone());
    on_event(StreamEvent::Start {
        conversation_id: conversation_id.clone(),
        message_id: reply.message_id.clone(),
    });
    on_event(StreamEvent::Delta(reply.text));
    if !reply.suggested_actions.is_empty() {
        on_event(StreamEvent::Actions(reply.suggested_actions));
    }
    on_event(StreamEvent::Done {
        conversation_id,
        message_id: reply.message_id,
        full_text: None,
    });
}
