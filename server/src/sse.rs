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

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chat_widget_protocol::dialect::chatbots::events;
use chat_widget_protocol::SuggestedAction;
use serde::Serialize;

use crate::error::AppError;
use crate::faq::Answer;
use crate::store::{RecordedExchange, Store, StoreError};
use crate::AppState;

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

/// The `200 text/event-stream` response for an accepted exchange whose reply is `answer`.
/// The exchange was stored by [`Store::begin_streamed_exchange`]; from here on the stream
/// owns the reply.
pub fn respond(
    state: &AppState,
    bot_id: &str,
    exchange: RecordedExchange,
    answer: Answer,
) -> Response {
    let reply = StreamedReply {
        writer: ReplyWriter {
            store: state.store.clone(),
            bot_id: bot_id.to_owned(),
            message_id: exchange.reply_message_id,
            sent: String::with_capacity(answer.text.len()),
            finished: false,
        },
        conversation_id: exchange.conversation_id,
        pieces: word_pieces(&answer.text)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        actions: answer.suggested_actions,
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
    Ended,
}

/// One reply on its way out, event by event.
struct StreamedReply {
    writer: ReplyWriter,
    conversation_id: String,
    pieces: VecDeque<String>,
    actions: Vec<SuggestedAction>,
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
                    break frame(
                        "start",
                        &events::Start {
                            conversation_id: self.conversation_id.clone(),
                            message_id: Some(self.writer.message_id.clone()),
                        },
                    );
                }
                Step::Deltas => {
                    let Some(piece) = self.pieces.pop_front() else {
                        self.step = Step::Actions;
                        continue;
                    };
                    if !self.writer.sent.is_empty() && !self.delay.is_zero() {
                        tokio::time::sleep(self.delay).await;
                    }
                    let delta = events::Delta { content: piece };
                    let event = frame("delta", &delta);
                    if event.is_ok() {
                        self.writer.sent.push_str(&delta.content);
                    }
                    break event;
                }
                Step::Actions => {
                    self.step = Step::Done;
                    if !self.actions.is_empty() {
                        break frame(
                            "actions",
                            &events::Actions {
                                suggested_actions: std::mem::take(&mut self.actions),
                            },
                        );
                    }
                }
                Step::Done => {
                    self.step = Step::Ended;
                    let done = events::Done {
                        conversation_id: self.conversation_id.clone(),
                        message_id: Some(self.writer.message_id.clone()),
                        response: Some(self.writer.sent.clone()),
                    };
                    // Stored before `done` goes out: a client that saw `done` can reload the
                    // conversation and find the reply complete.
                    break frame("done", &done).and_then(|event| {
                        self.writer.finish()?;
                        Ok(event)
                    });
                }
                Step::Ended => return None,
            }
        };
        Some(result.unwrap_or_else(|err| {
            self.step = Step::Ended;
            error_event(&err)
        }))
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
    if let AppError::Internal(detail) = err {
        log(&format!("internal error in a streamed reply: {detail}"));
    }
    let json = serde_json::to_string(&err.body()).unwrap_or_else(|_| {
        r#"{"success":false,"error":"Internal server error. Please try again later.","code":"SERVER_ERROR"}"#
            .to_owned()
    });
    Event::default().event("error").data(json)
}

/// A line on stderr that can never panic (it runs in `Drop`).
fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "chat-widget-server: {line}");
}

/// A streamed reply as stored: what has been handed to the connection so far, and whether it
/// was stored complete. Dropped before that (the visitor closed the page, the connection
/// broke, the server is stopping), it stores what was sent, marked incomplete, or, if nothing
/// was sent, withdraws the reply and gives the credit back. It writes to SQLite synchronously
/// in `Drop` (a short local write) and never panics there: failures go to stderr.
struct ReplyWriter {
    store: Store,
    bot_id: String,
    message_id: String,
    sent: String,
    finished: bool,
}

impl ReplyWriter {
    /// Stores the whole reply as complete.
    fn finish(&mut self) -> Result<(), StoreError> {
        self.store
            .finish_reply(&self.message_id, &self.sent, true)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for ReplyWriter {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let stored = if self.sent.is_empty() {
            self.store.withdraw_reply(&self.bot_id, &self.message_id)
        } else {
            self.store.finish_reply(&self.message_id, &self.sent, false)
        };
        if let Err(err) = stored {
            log(&format!(
                "cannot store the unfinished reply {}: {err}",
                self.message_id
            ));
        }
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
