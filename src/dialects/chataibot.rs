//! The "chataibot" dialect on the widget side: the visitor's message starts the conversation
//! (or is posted to it), then the bot's message, which the server delivers separately, is
//! listened for (SSE) or polled; the conversation is restored from the server's messages.

use chat_widget_protocol::dialect::{chataibot, usable_id};
use chat_widget_protocol::sse::{SseEvent, SseParser};
use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::{ApiError, OutgoingMessage, Reply};

use super::url;
use crate::api::{ChatDialect, Earlier, Session};
use crate::browser::dom;
use crate::browser::http::{self, Abort, HttpResponse};
use crate::config::WidgetConfig;
use leptos::prelude::{GetValue, SetValue};

/// The chataibot dialect.
pub struct Chataibot;

impl ChatDialect for Chataibot {
    const HAS_VISITOR_ID: bool = true;

    async fn send(
        session: &Session<'_>,
        message: &OutgoingMessage,
        abort: &Abort,
        mut on_event: impl FnMut(StreamEvent),
    ) -> Result<Option<u64>, ApiError> {
        let config = session.config;
        let key = config.api_key.as_deref();
        let accepted = session.accepted.get_value();
        let (conversation_id, after, wait) = match (&message.conversation_id, accepted.is_empty()) {
            // An earlier attempt stored the message: only its reply is awaited.
            (Some(id), false) => (id.clone(), Some(accepted), None),
            (None, _) => {
                let (timezone, referrer_url, browser_language) = dom::system_variables();
                let params = chataibot::StartParams {
                    visitor_id: session.visitor_id.clone(),
                    bot_key: config.bot_id.clone(),
                    system: Some(chataibot::SystemVariables {
                        timezone,
                        referrer_url,
                        browser_language,
                    }),
                    contact: None,
                    conversation: message.metadata.clone(),
                };
                let body = chataibot::encode_start(&message.message, &params);
                let response =
                    http::post_json(&url(config, chataibot::START_PATH), &body, key, abort).await?;
                let meta = response.meta.clone();
                let started = chataibot::decode_start(&meta, &response.bytes().await?)?;
                usable_id("conversation id", &started.conversation_id)?;
                (
                    started.conversation_id,
                    started.message_id,
                    meta.exhausted_wait_s(),
                )
            }
            (Some(id), true) => {
                let body = chataibot::encode_send(&message.message);
                let path = chataibot::messages_path(usable_id("conversation id", id)?);
                let response = http::post_json(&url(config, &path), &body, key, abort).await?;
                let meta = response.meta.clone();
                let message_id = chataibot::decode_send(&meta, &response.bytes().await?)?;
                (id.clone(), Some(message_id), meta.exhausted_wait_s())
            }
        };
        // Stored: the conversation is kept even if the wait for the reply fails, and a retry
        // waits for the reply again without posting the message twice (accepted first: the
        // start's handler no longer keeps the message as unsent).
        session
            .accepted
            .set_value(after.clone().unwrap_or_default());
        on_event(StreamEvent::Start {
            conversation_id: Some(conversation_id.clone()),
            message_id: None,
        });
        let reply = await_bot_message(session, &conversation_id, after.as_deref(), abort).await?;
        super::emit_whole(
            Reply {
                conversation_id,
                ..reply
            },
            &mut on_event,
        );
        Ok(wait)
    }

    /// The stored conversation's messages, both senders (`GET /api/v1/conversation/{id}/messages`
    /// without `after`, then older pages with `before` where the server pages them), with the
    /// quick replies of the last one when the bot wrote it.
    async fn restore_history(
        config: &WidgetConfig,
        conversation_id: &str,
    ) -> Result<Vec<Earlier>, ApiError> {
        let path = chataibot::messages_path(usable_id("conversation id", conversation_id)?);
        let messages = super::read_pages(
            config,
            &path,
            |meta, body| {
                let page = chataibot::decode_messages_page(meta, body)?;
                Ok((page.messages, page.has_more))
            },
            |message: &chataibot::ChatMessage| message.id.as_str(),
        )
        .await?;
        let last = messages.len();
        Ok(messages
            .into_iter()
            .enumerate()
            .map(|(index, message)| Earlier {
                from_visitor: message.from == chataibot::Sender::Visitor,
                // Sent before a reload, and its answer still to come: the widget waits for it.
                awaiting: (index + 1 == last && message.from == chataibot::Sender::Visitor)
                    .then_some(message.id),
                text: message.body,
                payload: None,
                at: message
                    .created_at
                    .as_deref()
                    .map(chataibot::created_at_iso)
                    .as_deref()
                    .and_then(dom::parse_date_ms),
                actions: if index + 1 == last {
                    message.suggested_actions
                } else {
                    Vec::new()
                },
            })
            .collect())
    }
}

/// Waits for the bot's next message after `after`: first by listening (SSE), then, if the
/// server cannot stream, by polling every 0.5 s, doubling up to 4 s (15 s while the panel is
/// closed). Listening is under the reply's deadline on silence like any stream; polling, whose
/// answers arrive but say nothing yet, gives up after the same time without the message.
async fn await_bot_message(
    session: &Session<'_>,
    conversation: &str,
    after: Option<&str>,
    abort: &Abort,
) -> Result<Reply, ApiError> {
    let config = session.config;
    let after = after
        .map(|after| usable_id("message id", after))
        .transpose()?;
    let url = url(
        config,
        &chataibot::messages_path(usable_id("conversation id", conversation)?),
    );
    let query: &[(&str, &str)] = match &after {
        Some(after) => &[("after", after)],
        None => &[],
    };
    let key = config.api_key.as_deref();
    if let Ok(response) = http::get(&url, query, key, chataibot::EVENT_STREAM, abort).await {
        if (200..300).contains(&response.meta.status) && response.meta.is_event_stream() {
            if let Some(found) = listen(response, conversation, abort).await? {
                return found;
            }
        } else if !(200..300).contains(&response.meta.status) {
            let meta = response.meta.clone();
            let bytes = response.bytes().await.unwrap_or_default();
            return Err(chataibot::decode_bot_replies(&meta, &bytes, conversation)
                .err()
                .unwrap_or_else(|| ApiError::malformed(meta.status, "no bot message")));
        }
    }
    let started = dom::now_ms();
    let limit = f64::from(config.reply_timeout_ms);
    let mut delay: f64 = 500.0;
    while dom::now_ms() - started < limit {
        let response = http::get(&url, query, key, "application/json", abort).await?;
        let meta = response.meta.clone();
        let bytes = response.bytes().await?;
        if let Some(reply) = chataibot::decode_bot_replies(&meta, &bytes, conversation)?
            .into_iter()
            .next()
        {
            return Ok(reply);
        }
        dom::sleep_ms(delay as u32).await;
        let cap = if (session.visible)() {
            4_000.0
        } else {
            15_000.0
        };
        delay = (delay * 2.0).min(cap);
    }
    Err(ApiError::timeout("the bot did not answer in time"))
}

/// Reads a listening stream until the first bot message. `Ok(None)`: the stream ended
/// without one (the caller falls back to polling).
async fn listen(
    response: HttpResponse,
    conversation: &str,
    abort: &Abort,
) -> Result<Option<Result<Reply, ApiError>>, ApiError> {
    let mut parser = SseParser::new();
    let mut found = None;
    let take = |events: Vec<SseEvent>, found: &mut Option<Result<Reply, ApiError>>| {
        for event in events {
            if found.is_none() {
                *found = chataibot::decode_stream_event(&event, conversation);
            }
        }
    };
    let read = response
        .stream(|chunk| {
            take(parser.feed(chunk), &mut found);
            found.is_none()
        })
        .await;
    if found.is_none() {
        take(parser.finish(), &mut found);
    }
    match (found, read) {
        (Some(found), _) => Ok(Some(found)),
        (None, Err(error)) if abort.is_aborted() => Err(error), // stopped, or silent too long
        (None, _) => Ok(None),
    }
}
