//! One module per dialect, each the widget side of one wire format ([`crate::api::ChatDialect`]),
//! each compiled only with its crate feature, and what they share. This file is the list of
//! the dialects: a sixth one adds its `mod` line and its arm in [`by_dialect!`] here.

#[cfg(not(any(
    feature = "chatbots",
    feature = "jombot",
    feature = "jelytech",
    feature = "chataibot",
    feature = "openai"
)))]
compile_error!("chat-widget speaks no dialect: turn on at least one of the features chatbots, jombot, jelytech, chataibot, openai");

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

/// Runs `$body` with `$unit` naming the [`crate::api::ChatDialect`] type of `$dialect`, or
/// gives `$otherwise` for a dialect this build leaves out. A sixth dialect adds its arm here.
macro_rules! by_dialect {
    ($dialect:expr, |$unit:ident| $body:expr, $otherwise:expr) => {
        match $dialect {
            #[cfg(feature = "chatbots")]
            chat_widget_protocol::dialect::Dialect::Chatbots => {
                #[allow(dead_code)]
                type $unit = $crate::dialects::chatbots::Chatbots;
                $body
            }
            #[cfg(feature = "jombot")]
            chat_widget_protocol::dialect::Dialect::Jombot => {
                #[allow(dead_code)]
                type $unit = $crate::dialects::jombot::Jombot;
                $body
            }
            #[cfg(feature = "jelytech")]
            chat_widget_protocol::dialect::Dialect::Jelytech => {
                #[allow(dead_code)]
                type $unit = $crate::dialects::jelytech::Jelytech;
                $body
            }
            #[cfg(feature = "chataibot")]
            chat_widget_protocol::dialect::Dialect::Chataibot => {
                #[allow(dead_code)]
                type $unit = $crate::dialects::chataibot::Chataibot;
                $body
            }
            #[cfg(feature = "openai")]
            chat_widget_protocol::dialect::Dialect::Openai => {
                #[allow(dead_code)]
                type $unit = $crate::dialects::openai::Openai;
                $body
            }
            #[allow(unreachable_patterns)]
            _ => $otherwise,
        }
    };
}
pub(crate) use by_dialect;

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
