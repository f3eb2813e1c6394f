//! Talking to the bot: shapes a message with the configured dialect, sends it, and hands the
//! answer to the caller as [`StreamEvent`]s, whether the server streamed it (SSE) or answered
//! with one JSON body. The parser is chosen by the response's `Content-Type`, never by what
//! was asked for. The UI calls [`send`] and never sees a wire format.

use chat_widget_protocol::dialect::chatbots;
use chat_widget_protocol::sse::SseParser;
use chat_widget_protocol::stream::{decode_event, StreamEvent};
use chat_widget_protocol::{ApiError, ErrorCode, OutgoingMessage};

use crate::browser::http::{self, Abort};
use crate::config::WidgetConfig;

/// Sends one visitor message and reports the reply's events as they arrive.
///
/// `Ok` means the reply arrived complete; it carries the seconds to wait before the next
/// message when the server said this one used up the rate-limit window. `Err` means it did
/// not arrive: before any event (nothing was shown) or part-way (what `on_event` already
/// received stays valid).
pub async fn send(
    config: &WidgetConfig,
    message: &OutgoingMessage,
    abort: &Abort,
    mut on_event: impl FnMut(StreamEvent),
) -> Result<Option<u64>, ApiError> {
    let url = format!("{}{}", config.api_url, chatbots::chat_path(&config.bot_id));
    let body = chatbots::encode_request(message);
    let response = http::post_json(&url, &body, config.api_key.as_deref(), abort).await?;
    let meta = response.meta.clone();
    let success = (200..300).contains(&meta.status);

    if success && meta.is_event_stream() {
        let mut parser = SseParser::new();
        let mut outcome = StreamOutcome::default();
        let read = response.stream(|chunk| outcome.absorb(parser.feed(chunk), &mut on_event)).await;
        outcome.absorb(parser.finish(), &mut on_event);
        return outcome.result(read).map(|()| meta.exhausted_wait_s());
    }

    let bytes = response.bytes().await?;
    let reply = chatbots::decode_response(&meta, &bytes)?;
    on_event(StreamEvent::Start { conversation_id: Some(reply.conversation_id.clone()), message_id: reply.message_id.clone() });
    on_event(StreamEvent::Delta(reply.text));
    if !reply.suggested_actions.is_empty() {
        on_event(StreamEvent::Actions(reply.suggested_actions));
    }
    on_event(StreamEvent::Done { conversation_id: Some(reply.conversation_id), message_id: reply.message_id, full_text: None });
    Ok(meta.exhausted_wait_s())
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
    fn absorb(&mut self, events: Vec<chat_widget_protocol::sse::SseEvent>, on_event: &mut impl FnMut(StreamEvent)) {
        for event in events.iter().filter_map(decode_event) {
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
        // `done`, so a stream that began with `start` and just stopped was cut off.
        match (self.started, self.text) {
            (_, false) => Err(ApiError::new(ErrorCode::MalformedResponse, "the stream ended without a reply")),
            (true, true) => Err(ApiError::network("the stream ended before the reply was complete")),
            (false, true) => Ok(()),
        }
    }
}
