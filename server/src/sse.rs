//! The streamed form of a chatbots reply: Server-Sent Events `start`, `delta`..., `actions`
//! (when there are quick replies) and `done`, or `error` if something breaks after the stream
//! began. Every payload is one of the protocol crate's [`events`] types, written as
//! `event: <name>` and one `data:` line of JSON, byte for byte what
//! [`events::sse_frame`] makes, so the server and the widget's parser cannot drift.
//!
//! The answer is cut into word-sized pieces ([`word_pieces`]) sent [`AppState::stream_delay`]
//! apart, like a model typing; a `: keep-alive` comment goes out after
//! [`KEEP_ALIVE_INTERVAL`] of silence. The reply is stored as it goes (`ReplyWriter`): in
//! full when the stream completes, and, when the visitor leaves mid-way (the connection drops
//! the stream), as the part that was already sent, marked incomplete.
//!
//! Credits: the credit is spent when the request is accepted (so the 402 is decided before the
//! stream starts and two streams cannot share the last credit). A reply abandoned after at
//! least one delta was sent keeps it spent; a reply abandoned before any delta is removed and
//! the credit given back.
//!
//! The openai dialect's stream ([`StreamFormat::Openai`]) is the same reply, storage and pace
//! in OpenAI's form: unnamed `data:` events of `chat.completion.chunk` JSON (the first with
//! the role, then one per piece, then an empty delta with `finish_reason: "stop"`), ending
//! with `data: [DONE]`; a failure mid-way is `data: {"error":{...}}`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chat_widget_protocol::dialect::chatbots::events;
use chat_widget_protocol::dialect::openai::{self, ChunkDelta, CompletionChunk};
use chat_widget_protocol::SuggestedAction;
use serde::Serialize;

use crate::error::AppError;
use crate::faq::Answer;
use crate::store::{RecordedExchange, Store};
use crate::{upstream, AppState};

/// The pause between two deltas unless [`AppState::with_stream_delay`] says otherwise.
pub const DEFAULT_STREAM_DELAY: Duration = Duration::from_millis(25);

/// How long a stream may stay silent before a `: keep-alive` comment is sent.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// The keep-alive comment's text (the line on the wire is `: keep-alive`).
pub const KEEP_ALIVE_TEXT: &str = "keep-alive";

/// Splits a reply into word-sized pieces: each is a word with the whitespace after it (the
/// first also keeps any whitespace before it), so the pieces joined are exactly the text,
/// newlines and code blocks included. Pieces end only at character boundaries.
pub fn word_pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut after_space, mut has_word) = (0, false, false);
    for (at, c) in text.char_indices() {
        let space = c.is_whitespace();
        if !space && after_space && has_word {
            pieces.push(&text[start..at]);
            start = at;
        }
        has_word |= !space;
        after_space = space;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// The event format of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFormat {
    /// Our chatbots events: `start`, `delta`..., `actions`, `done`.
    Chatbots,
    /// OpenAI's `chat.completion.chunk` events ending with `[DONE]`.
    Openai {
        /// The completion's id, in every chunk.
        completion_id: String,
        /// The model asked for (the bot's id).
        model: String,
        /// Unix seconds, in every chunk.
        created: u64,
    },
}

/// The `200 text/event-stream` response for an accepted exchange whose reply is `answer`.
/// The exchange was stored by [`Store::begin_streamed_exchange`]; from here on the stream
/// owns the reply.
pub fn respond(
    state: &AppState,
    bot_id: &str,
    exchange: RecordedExchange,
    answer: Answer,
) -> Response {
    respond_as(state, bot_id, exchange, answer, StreamFormat::Chatbots)
}

/// [`respond`] in another event format.
pub fn respond_as(
    state: &AppState,
    bot_id: &str,
    exchange: RecordedExchange,
    answer: Answer,
    format: StreamFormat,
) -> Response {
    let pieces = word_pieces(&answer.text)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let source = Source::Pieces(pieces, answer.suggested_actions);
    let writer = ReplyWriter::new(state, bot_id, &exchange);
    stream_response(state, exchange, writer, source, format)
}

/// The stream of a reply whose text comes from the bot's AI upstream as it arrives (no pace of
/// ours, no quick replies). A failure of the upstream mid-way ends the stream with the
/// format's error event; the part already sent is stored, marked incomplete.
pub(crate) fn respond_upstream(
    state: &AppState,
    started: upstream::Started,
    format: StreamFormat,
) -> Response {
    let upstream::Started {
        exchange,
        writer,
        deltas,
    } = started;
    let source = Source::Upstream(Box::new(deltas));
    stream_response(state, exchange, writer, source, format)
}

/// Where a stream's text comes from.
enum Source {
    /// The documents brain's answer, cut into word pieces, and its quick replies.
    Pieces(VecDeque<String>, Vec<SuggestedAction>),
    /// The bot's AI upstream.
    Upstream(Box<upstream::Deltas>),
}

fn stream_response(
    state: &AppState,
    exchange: RecordedExchange,
    writer: ReplyWriter,
    source: Source,
    format: StreamFormat,
) -> Response {
    let reply = StreamedReply {
        format,
        writer,
        conversation_id: exchange.conversation_id,
        source,
        delay: state.stream_delay(),
        step: Step::Start,
    };
    let events = futures_util::stream::unfold(reply, |mut reply| async move {
        let event = reply.next_event().await?;
        Some((Ok::<_, Infallible>(event), reply))
    });
    Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(KEEP_ALIVE_INTERVAL)
                .text(KEEP_ALIVE_TEXT),
        )
        .into_response()
}

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Deltas,
    Actions,
    Done,
    /// OpenAI's `data: [DONE]`.
    Terminator,
    Ended,
}

/// One reply on its way out, event by event.
struct StreamedReply {
    format: StreamFormat,
    writer: ReplyWriter,
    conversation_id: String,
    source: Source,
    delay: Duration,
    step: Step,
}

impl StreamedReply {
    /// The next event, or `None` when the stream is over. Dropped while waiting between two
    /// deltas, the piece it was about to send counts as not sent.
    async fn next_event(&mut self) -> Option<Event> {
        let result = loop {
            match self.step {
                Step::Start => {
                    self.step = Step::Deltas;
                    break self.start_event();
                }
                Step::Deltas => {
                    let piece = match &mut self.source {
                        Source::Pieces(pieces, _) => {
                            let Some(piece) = pieces.pop_front() else {
                                self.step = Step::Actions;
                                continue;
                            };
                            if !self.writer.sent.is_empty() && !self.delay.is_zero() {
                                tokio::time::sleep(self.delay).await;
                            }
                            piece
                        }
                        Source::Upstream(deltas) => match deltas.next().await {
                            Ok(Some(piece)) => piece,
                            Ok(None) => {
                                self.writer.usage = deltas.usage();
                                self.step = Step::Actions;
                                continue;
                            }
                            Err(err) => break Err(err.into()),
                        },
                    };
                    let event = self.delta_event(&piece);
                    if event.is_ok() {
                        self.writer.sent.push_str(&piece);
                    }
                    break event;
                }
                Step::Actions => {
                    self.step = Step::Done;
                    // OpenAI's chunks have no place for quick replies.
                    if let Source::Pieces(_, actions) = &mut self.source {
                        if !actions.is_empty() && self.format == StreamFormat::Chatbots {
                            break frame(
                                "actions",
                                &events::Actions {
                                    suggested_actions: std::mem::take(actions),
                                },
                            );
                        }
                    }
                }
                Step::Done => {
                    self.step = match self.format {
                        StreamFormat::Chatbots => Step::Ended,
                        StreamFormat::Openai { .. } => Step::Terminator,
                    };
                    // Stored before `done` goes out: a client that saw `done` can reload the
                    // conversation and find the reply complete.
                    let event = match self.done_event() {
                        Ok(event) => self.writer.finish().await.map(|()| event),
                        Err(err) => Err(err),
                    };
                    break event;
                }
                Step::Terminator => {
                    self.step = Step::Ended;
                    break Ok(Event::default().data(openai::DONE));
                }
                Step::Ended => return None,
            }
        };
        Some(result.unwrap_or_else(|err| {
            self.step = Step::Ended;
            self.error_event(&err)
        }))
    }

    fn start_event(&self) -> Result<Event, AppError> {
        match &self.format {
            StreamFormat::Chatbots => frame(
                "start",
                &events::Start {
                    conversation_id: self.conversation_id.clone(),
                    message_id: Some(self.writer.message_id.clone()),
                },
            ),
            StreamFormat::Openai { .. } => self.chunk(
                ChunkDelta {
                    role: Some(openai::Role::Assistant),
                    content: None,
                },
                None,
            ),
        }
    }

    fn delta_event(&self, piece: &str) -> Result<Event, AppError> {
        match &self.format {
            StreamFormat::Chatbots => frame(
                "delta",
                &events::Delta {
                    content: piece.to_owned(),
                },
            ),
            StreamFormat::Openai { .. } => self.chunk(
                ChunkDelta {
                    role: None,
                    content: Some(piece.to_owned()),
                },
                None,
            ),
        }
    }

    fn done_event(&self) -> Result<Event, AppError> {
        match &self.format {
            StreamFormat::Chatbots => frame(
                "done",
                &events::Done {
                    conversation_id: self.conversation_id.clone(),
                    message_id: Some(self.writer.message_id.clone()),
                    response: Some(self.writer.sent.clone()),
                },
            ),
            StreamFormat::Openai { .. } => self.chunk(ChunkDelta::default(), Some("stop")),
        }
    }

    /// An unnamed `data:` event with one OpenAI chunk.
    fn chunk(&self, delta: ChunkDelta, finish_reason: Option<&str>) -> Result<Event, AppError> {
        let StreamFormat::Openai {
            completion_id,
            model,
            created,
        } = &self.format
        else {
            return Err(AppError::Internal(
                "an OpenAI chunk in another format".to_owned(),
            ));
        };
        let chunk = CompletionChunk::new(completion_id, *created, model, delta, finish_reason);
        let json = serde_json::to_string(&chunk)
            .map_err(|err| AppError::Internal(format!("cannot encode a chunk: {err}")))?;
        Ok(Event::default().data(json))
    }

    /// The stream's last event when something broke.
    fn error_event(&self, err: &AppError) -> Event {
        match self.format {
            StreamFormat::Chatbots => error_event(err),
            StreamFormat::Openai { .. } => {
                log_failure(err);
                let body = openai::error_body(&err.code(), err.message());
                let json = serde_json::to_string(&body).unwrap_or_else(|_| {
                    r#"{"error":{"message":"Internal server error","type":"server_error","param":null,"code":"server_error"}}"#.to_owned()
                });
                Event::default().data(json)
            }
        }
    }
}

/// One event with a JSON payload: `event: <name>` and `data: <json>`.
fn frame<T: Serialize>(name: &'static str, payload: &T) -> Result<Event, AppError> {
    let json = serde_json::to_string(payload)
        .map_err(|err| AppError::Internal(format!("cannot encode the {name} event: {err}")))?;
    Ok(Event::default().event(name).data(json))
}

/// `event: error` with the chatbots error body; the stream ends after it.
fn error_event(err: &AppError) -> Event {
    log_failure(err);
    let json = serde_json::to_string(&err.body()).unwrap_or_else(|_| {
        r#"{"success":false,"error":"Internal server error. Please try again later.","code":"SERVER_ERROR"}"#
            .to_owned()
    });
    Event::default().event("error").data(json)
}

/// Logs what broke a stream (an internal error, or the upstream's failure).
fn log_failure(err: &AppError) {
    match err {
        AppError::Internal(detail) => log(&format!("internal error in a streamed reply: {detail}")),
        AppError::UpstreamFailed(detail) => {
            tracing::warn!(detail = %detail, "the upstream failed mid-stream")
        }
        AppError::UpstreamTimeout => tracing::warn!("the upstream went silent mid-stream"),
        _ => {}
    }
}

/// A line on stderr that can never panic (it runs in `Drop`).
fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "chat-widget-server: {line}");
}

/// A streamed reply as stored: what has been handed to the connection so far, and whether it
/// was stored complete. Dropped before that (the visitor closed the page, the connection
/// broke, the server is stopping), it stores what was sent, marked incomplete, or, if nothing
/// was sent, withdraws the reply and gives the credit back. `Drop` cannot wait, so it hands
/// that write to a task of the runtime, and never panics: failures go to stderr. If the
/// process dies first, the reply stays unfinished under this instance's id, and a live
/// instance marks it interrupted ([`Store::sweep_interrupted`]).
pub(crate) struct ReplyWriter {
    store: Store,
    bot_id: String,
    conversation_id: String,
    message_id: String,
    /// What was sent (or received, for a reply collected before it is answered).
    pub(crate) sent: String,
    /// The tokens the upstream reported, counted when the reply is stored complete.
    pub(crate) usage: Option<u64>,
    finished: bool,
}

impl ReplyWriter {
    /// The writer of the reply of an exchange stored by [`Store::begin_streamed_exchange`].
    pub(crate) fn new(state: &AppState, bot_id: &str, exchange: &RecordedExchange) -> Self {
        Self {
            store: state.store.clone(),
            bot_id: bot_id.to_owned(),
            conversation_id: exchange.conversation_id.clone(),
            message_id: exchange.reply_message_id.clone(),
            sent: String::new(),
            usage: None,
            finished: false,
        }
    }

    /// Stores the whole reply as complete (and counts the upstream's reported usage).
    pub(crate) async fn finish(&mut self) -> Result<(), AppError> {
        // Its webhook events are queued in the transaction that stores it.
        crate::webhooks::finish_reply_queued(
            &self.store,
            &self.bot_id,
            &self.conversation_id,
            &self.message_id,
            &self.sent,
        )
        .await?;
        self.finished = true;
        if let Some(tokens) = self.usage {
            if let Err(err) = upstream::charge_usage(&self.store, &self.bot_id, tokens).await {
                tracing::error!(error = %err, "cannot count a reply's tokens");
            }
        }
        Ok(())
    }
}

impl Drop for ReplyWriter {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            log(&format!(
                "cannot store the unfinished reply {}: no runtime",
                self.message_id
            ));
            return;
        };
        let store = self.store.clone();
        let bot_id = std::mem::take(&mut self.bot_id);
        let message_id = std::mem::take(&mut self.message_id);
        let sent = std::mem::take(&mut self.sent);
        runtime.spawn(async move {
            let stored = if sent.is_empty() {
                store.withdraw_reply(&bot_id, &message_id).await
            } else {
                store
                    .finish_reply(&message_id, &sent, false)
                    .await
                    .map(|_| true)
            };
            if let Err(err) = stored {
                log(&format!(
                    "cannot store the unfinished reply {message_id}: {err}"
                ));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_words_with_their_whitespace_and_join_to_the_text() {
        assert_eq!(
            word_pieces("Hello, world!\n\nBye"),
            ["Hello, ", "world!\n\n", "Bye"]
        );
        assert_eq!(word_pieces("  lead  trail  "), ["  lead  ", "trail  "]);
        assert_eq!(word_pieces("   "), ["   "]);
        assert!(word_pieces("").is_empty());
        for text in [
            "Où est ma commande ? 3–5 jours → **Account → Orders** 🚚📦",
            "```html\n<script src=\"x\"\n        async></script>\n```\n\nDone.",
            "| a | b |\n| --- | --- |\n|\u{a0}x\u{3000}| 漢字テキスト |",
            "\n\nstarts with newlines",
        ] {
            let pieces = word_pieces(text);
            assert_eq!(pieces.concat(), text);
            assert!(pieces.iter().all(|p| !p.is_empty()));
            // Each piece has at most one word (a run of non-whitespace).
            for piece in &pieces {
                assert!(piece.split_whitespace().count() <= 1, "{piece:?}");
            }
        }
    }
}
