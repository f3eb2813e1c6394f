//! What the dialects that answer the request itself share (every one but chataibot): post,
//! then read the answer, streamed (SSE) or whole (JSON).

use chat_widget_protocol::stream::{ReplyStream, StreamEvent};
use chat_widget_protocol::{ApiError, ErrorCode, Reply, ResponseMeta, MAX_REPLY_BYTES};

use crate::browser::http::{self, Abort};
use crate::config::WidgetConfig;

/// Posts `body` to `path` and reads the answer: SSE when the response says
/// `text/event-stream`, else one JSON body read by `decode`.
pub(crate) async fn send_direct(
    config: &WidgetConfig,
    path: &str,
    body: &str,
    decode: fn(&ResponseMeta, &[u8]) -> Result<Reply, ApiError>,
    abort: &Abort,
    mut on_event: impl FnMut(StreamEvent),
) -> Result<Option<u64>, ApiError> {
    let key = config.api_key.as_deref();
    let response = http::post_json(&super::url(config, path), body, key, abort).await?;
    let meta = response.meta.clone();
    if (200..300).contains(&meta.status) && meta.is_event_stream() {
        let mut stream = ReplyStream::new();
        let mut outcome = StreamOutcome::default();
        // Read until the stream ends, or it has failed (nothing after counts).
        let read = response
            .stream(|chunk| {
                outcome.absorb(stream.feed(chunk), &mut on_event);
                outcome.failure.is_none()
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
    super::emit_whole(decode(&meta, &bytes)?, &mut on_event);
    Ok(meta.exhausted_wait_s())
}

/// What a stream has shown so far, to judge how it ended.
#[derive(Default)]
struct StreamOutcome {
    started: bool,
    text: bool,
    /// Bytes of reply text passed on (at most [`MAX_REPLY_BYTES`]).
    text_bytes: usize,
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
                StreamEvent::Delta(ref text) => {
                    self.text = true;
                    let room = MAX_REPLY_BYTES - self.text_bytes;
                    if text.len() > room {
                        // Cut at the limit: the text up to it is shown, the reply ends broken.
                        let mut end = room;
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        on_event(StreamEvent::Delta(text[..end].to_owned()));
                        const _: () = assert!(MAX_REPLY_BYTES == 256 << 10, "said below");
                        self.failure = Some(ApiError::new(
                            ErrorCode::MalformedResponse,
                            "the reply passed 256 KiB and was cut there",
                        ));
                        return;
                    }
                    self.text_bytes += text.len();
                }
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
