//! Talking to the bot in the configured dialect. Every answer reaches the caller as
//! [`StreamEvent`]s, whether the server streamed it (SSE), answered with one JSON body, or (for
//! chataibot) delivered it separately to be listened for or polled. The parser is chosen by
//! the response's `Content-Type`, never by what was asked for. The UI never sees a wire format.

use std::future::Future;
use std::pin::Pin;

use chat_widget_protocol::dialect::{
    chataibot, chatbots, jelytech, jombot, openai, usable_id, Dialect,
};
use chat_widget_protocol::sse::{SseEvent, SseParser};
use chat_widget_protocol::stream::{ReplyStream, StreamEvent};
use chat_widget_protocol::{ApiError, ErrorCode, OutgoingMessage, Reply, ResponseMeta};

use crate::browser::dom;
use crate::browser::http::{self, Abort, HttpResponse};
use crate::config::{speaks, WidgetConfig};

/// What a dialect needs besides the message, kept by the chat between messages.
pub struct Session<'a> {
    /// The settings (dialect, bot, key, user id).
    pub config: &'a WidgetConfig,
    /// openai: the conversation so far, oldest first (the widget keeps it and sends it).
    pub history: Vec<openai::ChatTurn>,
    /// chataibot: the visitor's stable id.
    pub visitor_id: String,
    /// chataibot: whether the panel is open (polling slows down while it is closed).
    pub visible: &'a dyn Fn() -> bool,
}

/// Sends one visitor message and reports the reply's events as they arrive.
///
/// `Ok` means the reply arrived complete; it carries the seconds to wait before the next
/// message when the server said this one used up the rate-limit window. `Err` means it did
/// not arrive: before any event (nothing was shown) or part-way (what `on_event` already
/// received stays valid).
pub async fn send(
    session: &Session<'_>,
    message: &OutgoingMessage,
    abort: &Abort,
    on_event: impl FnMut(StreamEvent),
) -> Result<Option<u64>, ApiError> {
    let config = session.config;
    // Each arm is guarded by `speaks`, a constant: a build without a dialect has none of its code.
    let (path, body) = match config.dialect {
        Dialect::Chatbots if speaks(Dialect::Chatbots) => (
            chatbots::chat_path(usable_id("bot id", &config.bot_id)?),
            chatbots::encode_request(message),
        ),
        Dialect::Jombot if speaks(Dialect::Jombot) => (
            jombot::CHAT_PATH.to_owned(),
            jombot::encode_request(message, &config.bot_id, config.user_id.as_deref(), None),
        ),
        Dialect::Jelytech if speaks(Dialect::Jelytech) => (
            jelytech::SEND_PATH.to_owned(),
            jelytech::encode_send(message, &config.bot_id, config.user_id.as_deref()),
        ),
        Dialect::Openai if speaks(Dialect::Openai) => {
            let mut turns = session.history.clone();
            turns.push(openai::ChatTurn::new(
                openai::Role::User,
                message.message.clone(),
            ));
            let body =
                openai::encode_request(&turns, &config.bot_id, message.stream.unwrap_or(true));
            (openai::CHAT_COMPLETIONS_PATH.to_owned(), body)
        }
        Dialect::Chataibot if speaks(Dialect::Chataibot) => {
            // Boxed: a future awaited in place keeps its code in this function's state machine
            // even where the guard is false; behind a box it goes with the guarded call.
            let reply: Pin<Box<dyn Future<Output = _> + '_>> =
                Box::pin(send_chataibot(session, message, abort, on_event));
            return reply.await;
        }
        other => return Err(not_in_this_build(other)),
    };
    // Boxed too: only the four dialects that answer the request itself reach it, so a
    // chataibot build leaves the stream and body reading out.
    let direct: Pin<Box<dyn Future<Output = _> + '_>> =
        Box::pin(send_direct(config, path, body, abort, on_event));
    direct.await
}

/// Posts `body` to `path` and reads the answer, streamed or whole (every dialect but chataibot).
async fn send_direct(
    config: &WidgetConfig,
    path: String,
    body: String,
    abort: &Abort,
    mut on_event: impl FnMut(StreamEvent),
) -> Result<Option<u64>, ApiError> {
    let key = config.api_key.as_deref();
    let response = http::post_json(&format!("{}{path}", config.api_url), &body, key, abort).await?;
    let meta = response.meta.clone();
    if (200..300).contains(&meta.status) && meta.is_event_stream() {
        let mut stream = ReplyStream::new();
        let mut outcome = StreamOutcome::default();
        let read = response
            .stream(|chunk| {
                outcome.absorb(stream.feed(chunk), &mut on_event);
                true
            })
            .await;
        // A stream that broke leaves its half-received event unfinished: it is dropped.
        if read.is_ok() {
            outcome.absorb(stream.finish(), &mut on_event);
        }
        outcome.started |= stream.is_structured();
        return outcome.result(read).map(|()| meta.exhausted_wait_s());
    }
    let bytes = response.bytes().await?;
    let reply = match config.dialect {
        Dialect::Jombot if speaks(Dialect::Jombot) => jombot::decode_response(&meta, &bytes),
        Dialect::Jelytech if speaks(Dialect::Jelytech) => jelytech::decode_response(&meta, &bytes),
        Dialect::Openai if speaks(Dialect::Openai) => openai::decode_response(&meta, &bytes),
        Dialect::Chatbots if speaks(Dialect::Chatbots) => chatbots::decode_response(&meta, &bytes),
        other => Err(not_in_this_build(other)),
    }?;
    emit_whole(reply, &mut on_event);
    Ok(meta.exhausted_wait_s())
}

/// The error for a dialect this build leaves out (`mount_config` refuses such a config, so
/// only a caller bypassing it could see this).
pub fn not_in_this_build(dialect: Dialect) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRequest,
        format!("this build of the widget does not speak the {dialect} dialect"),
    )
}

/// A whole reply, told as the events a stream would have given.
fn emit_whole(reply: Reply, on_event: &mut impl FnMut(StreamEvent)) {
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

/// chataibot: start the conversation (or post to it), then wait for the bot's message, which
/// the server delivers separately: listened for over SSE, or polled with back-off.
async fn send_chataibot(
    session: &Session<'_>,
    message: &OutgoingMessage,
    abort: &Abort,
    mut on_event: impl FnMut(StreamEvent),
) -> Result<Option<u64>, ApiError> {
    let config = session.config;
    let key = config.api_key.as_deref();
    let base = &config.api_url;
    let (conversation_id, after, meta) = match &message.conversation_id {
        None => {
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
            let response = http::post_json(
                &format!("{base}{}", chataibot::START_PATH),
                &body,
                key,
                abort,
            )
            .await?;
            let meta = response.meta.clone();
            let started = chataibot::decode_start(&meta, &response.bytes().await?)?;
            usable_id("conversation id", &started.conversation_id)?;
            (started.conversation_id, started.message_id, meta)
        }
        Some(id) => {
            let body = chataibot::encode_send(&message.message);
            let path = chataibot::messages_path(usable_id("conversation id", id)?);
            let response = http::post_json(&format!("{base}{path}"), &body, key, abort).await?;
            let meta = response.meta.clone();
            let message_id = chataibot::decode_send(&meta, &response.bytes().await?)?;
            (id.clone(), Some(message_id), meta)
        }
    };
    let reply = await_bot_message(session, &conversation_id, after.as_deref(), abort).await?;
    emit_whole(
        Reply {
            conversation_id,
            ..reply
        },
        &mut on_event,
    );
    Ok(meta.exhausted_wait_s())
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
    let url = format!(
        "{}{}",
        config.api_url,
        chataibot::messages_path(usable_id("conversation id", conversation)?)
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

/// What a stream has shown so far, to judge how it ended.
#[derive(Default)]
struct StreamOutcome {
    started: bool,
    text: bool,
    done: bool,
    failure: Option<ApiError>,
}

impl StreamOutcome {
    fn absorb(&mut self, events: Vec<StreamEvent>, on_event: &mut impl FnMut(StreamEvent)) {
        for event in events {
            if self.done || self.failure.is_some() {
                return; // nothing after the end counts
            }
            match event {
                StreamEvent::Error(error) => {
                    self.failure = Some(error);
                    return;
                }
                StreamEvent::Start { .. } => self.started = true,
                StreamEvent::Delta(_) => self.text = true,
                StreamEvent::Done { ref full_text, .. } => {
                    self.done = true;
                    self.text |= full_text.is_some();
                }
                StreamEvent::Actions(_) => {}
            }
            on_event(event);
        }
    }

    fn result(self, read: Result<(), ApiError>) -> Result<(), ApiError> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        if self.done {
            return Ok(());
        }
        read?;
        // The server closed the stream without saying it was done. Servers that never send an
        // end marker (plain-text streams) are complete when they close; ours always end with
        // `done` and OpenAI's with `[DONE]`, so a stream that began with `start` or spoke JSON
        // and just stopped was cut off.
        match (self.started, self.text) {
            (_, false) => Err(ApiError::new(
                ErrorCode::MalformedResponse,
                "the stream ended without a reply",
            )),
            (true, true) => Err(ApiError::network(
                "the stream ended before the reply was complete",
            )),
            (false, true) => Ok(()),
        }
    }
}

/// A message of an earlier visit, to show again after a reload.
pub struct Earlier {
    /// Whether the visitor wrote it (else the bot).
    pub from_visitor: bool,
    /// What was shown (Markdown for the bot).
    pub text: String,
    /// What a quick reply sent instead of `text`.
    pub payload: Option<String>,
    /// When it was written, in ms since the epoch, where known.
    pub at: Option<f64>,
    /// The quick replies under it (given for the last message only).
    pub actions: Vec<chat_widget_protocol::SuggestedAction>,
}

/// jelytech: the stored conversation's messages (`GET /v1/chat/history/{id}`).
pub async fn load_jelytech_history(
    config: &WidgetConfig,
    conversation_id: &str,
) -> Result<Vec<Earlier>, ApiError> {
    let path = jelytech::history_path(usable_id("conversation id", conversation_id)?);
    let response = http::get(
        &format!("{}{path}", config.api_url),
        &[],
        config.api_key.as_deref(),
        "application/json",
        &Abort::new(),
    )
    .await?;
    let meta: ResponseMeta = response.meta.clone();
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

/// chataibot: the stored conversation's messages, both senders (`GET
/// /api/v1/conversation/{id}/messages` without `after`), with the quick replies of the last
/// one when the bot wrote it.
pub async fn load_chataibot_history(
    config: &WidgetConfig,
    conversation_id: &str,
) -> Result<Vec<Earlier>, ApiError> {
    let path = chataibot::messages_path(usable_id("conversation id", conversation_id)?);
    let response = http::get(
        &format!("{}{path}", config.api_url),
        &[],
        config.api_key.as_deref(),
        "application/json",
        &Abort::new(),
    )
    .await?;
    let meta = response.meta.clone();
    let messages = chataibot::decode_messages(&meta, &response.bytes().await?)?;
    let last = messages.len();
    Ok(messages
        .into_iter()
        .enumerate()
        .map(|(index, message)| Earlier {
            from_visitor: message.from == chataibot::Sender::Visitor,
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

/// jelytech: the bot's configuration (greeting, colour, position).
pub async fn load_bot_configuration(
    config: &WidgetConfig,
) -> Result<jelytech::BotConfiguration, ApiError> {
    let url = format!(
        "{}{}",
        config.api_url,
        jelytech::bot_path(usable_id("bot id", &config.bot_id)?)
    );
    let response = http::get(
        &url,
        &[],
        config.api_key.as_deref(),
        "application/json",
        &Abort::new(),
    )
    .await?;
    let meta = response.meta.clone();
    jelytech::decode_bot(&meta, &response.bytes().await?)
}
