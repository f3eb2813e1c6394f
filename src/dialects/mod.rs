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

/// A JSON document read with `GET` from `path` under the API base URL (with the query
/// parameters `query`), with the page's key: the response's facts and its body, for the
/// dialect's decoder.
#[cfg(any(feature = "chataibot", feature = "jelytech"))]
pub(crate) async fn get_json(
    config: &WidgetConfig,
    path: &str,
    query: &[(&str, &str)],
) -> Result<(chat_widget_protocol::ResponseMeta, Vec<u8>), chat_widget_protocol::ApiError> {
    use crate::browser::http::{self, Abort};
    let response = http::get(
        &url(config, path),
        query,
        config.api_key.as_deref(),
        "application/json",
        &Abort::new(),
    )
    .await?;
    let meta = response.meta.clone();
    Ok((meta, response.bytes().await?))
}

/// The most messages a restored conversation brings back from a server that keeps it.
#[cfg(any(feature = "chataibot", feature = "jelytech"))]
const RESTORED_MAX: usize = 1000;

/// The messages of a stored conversation, oldest first, read with `GET` from `path` under the
/// API base URL, from a server that may answer in pages (the reference server: the latest page
/// without a cursor, then older ones with `?before=` the oldest message's id `&limit=`, while
/// the page says there are more; a server without pages answers everything at once).
/// `decode_page` is the dialect's part: a page's messages, oldest first, and whether there are
/// older ones; `id` is a message's id. Up to [`RESTORED_MAX`] messages (the newest); an older
/// page that fails leaves the newer ones shown (the first one's failure is the caller's).
#[cfg(any(feature = "chataibot", feature = "jelytech"))]
pub(crate) async fn read_pages<T>(
    config: &WidgetConfig,
    path: &str,
    decode_page: impl Fn(
        &chat_widget_protocol::ResponseMeta,
        &[u8],
    ) -> Result<(Vec<T>, bool), chat_widget_protocol::ApiError>,
    id: impl Fn(&T) -> &str,
) -> Result<Vec<T>, chat_widget_protocol::ApiError> {
    let read_page = |before: Option<String>, limit: usize| {
        let decode_page = &decode_page;
        async move {
            let limit = limit.to_string();
            let query = match &before {
                Some(before) => vec![("before", before.as_str()), ("limit", limit.as_str())],
                None => Vec::new(),
            };
            let (meta, body) = get_json(config, path, &query).await?;
            decode_page(&meta, &body)
        }
    };
    /// The most the reference server gives in one page.
    const PAGE: usize = 200;
    let (mut messages, mut more) = read_page(None, PAGE).await?;
    messages.truncate(RESTORED_MAX);
    while more && messages.len() < RESTORED_MAX {
        let Some(before) = messages.first().map(|first| id(first).to_owned()) else {
            break;
        };
        let (mut older, older_more) = match read_page(
            Some(before.clone()),
            PAGE.min(RESTORED_MAX - messages.len()),
        )
        .await
        {
            Ok(page) => page,
            Err(error) => {
                crate::browser::dom::console_warn(&format!(
                    "chat-widget: could not read the conversation's older messages: {error}"
                ));
                break;
            }
        };
        // Nothing older, or a server that ignored the cursor (it gave the same messages again).
        if older.is_empty() || older.iter().any(|message| id(message) == before) {
            break;
        }
        let room = RESTORED_MAX - messages.len();
        if older.len() > room {
            older.drain(..older.len() - room);
        }
        older.append(&mut messages);
        messages = older;
        more = older_more;
    }
    Ok(messages)
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
