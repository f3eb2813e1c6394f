//! What a streamed reply's events mean: SSE events (ours and the tolerant forms other servers
//! send) mapped onto [`StreamEvent`], and [`ReplyBuilder`], which folds them into a [`Reply`].
//!
//! Accepted forms, besides our named `start`/`delta`/`actions`/`done`/`error` events:
//! * unnamed events whose JSON has `"type": "start" | "delta" | "actions" | "done" | "error"`;
//! * a chunk in `content`, `delta`, `text` or `token` (or `token.text`);
//! * OpenAI's `choices[0].delta.content`, ending with `data: [DONE]`;
//! * plain text in `data:` (appended as it is).

use crate::dialect::chatbots::decode_error_value;
use serde_json::Value;

use serde::Deserialize;

use crate::model::{ApiError, ErrorCode, Reply, ResponseMeta, SuggestedAction};
use crate::sse::{SseEvent, SseParser};

/// One step of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The reply has begun (ids may be known now).
    Start {
        /// The conversation, if the server said.
        conversation_id: Option<String>,
        /// The reply's id, if the server said.
        message_id: Option<String>,
    },
    /// Text to append.
    Delta(String),
    /// Quick replies.
    Actions(Vec<SuggestedAction>),
    /// The reply is complete.
    Done {
        /// The conversation, if the server said.
        conversation_id: Option<String>,
        /// The reply's id, if the server said.
        message_id: Option<String>,
        /// The complete text, if the server sent it.
        full_text: Option<String>,
    },
    /// The server reported a failure mid-stream.
    Error(ApiError),
}

/// Maps one SSE event onto the model; `None` for events that carry nothing for the reply
/// (pings, unknown names, empty chunks).
pub fn decode_event(event: &SseEvent) -> Option<StreamEvent> {
    let data = event.data.as_str();
    if data.trim() == "[DONE]" {
        return Some(StreamEvent::Done {
            conversation_id: None,
            message_id: None,
            full_text: None,
        });
    }
    let json = serde_json::from_str::<Value>(data)
        .ok()
        .filter(Value::is_object);
    let kind = match event.event.as_str() {
        "message" => json
            .as_ref()
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("message")
            .to_owned(),
        name => name.to_owned(),
    };
    let kind = kind.as_str();
    let Some(json) = json else {
        // Not a JSON object: plain text is the chunk itself, in any event that carries text.
        return match kind {
            "message" | "delta" | "token" | "text" => {
                (!data.is_empty()).then(|| StreamEvent::Delta(data.to_owned()))
            }
            "error" => Some(StreamEvent::Error(ApiError::new(ErrorCode::Server, data))),
            _ => None,
        };
    };
    match kind {
        "start" => Some(StreamEvent::Start {
            conversation_id: string_field(&json, &["conversationId", "conversation_id"]),
            message_id: string_field(&json, &["messageId", "message_id"]),
        }),
        "actions" => {
            let actions = ["suggested_actions", "suggestedActions"]
                .iter()
                .find_map(|name| json.get(name))?;
            Vec::<SuggestedAction>::deserialize(actions)
                .ok()
                .map(StreamEvent::Actions)
        }
        "done" | "end" | "complete" => Some(StreamEvent::Done {
            conversation_id: string_field(&json, &["conversationId", "conversation_id"]),
            message_id: string_field(&json, &["messageId", "message_id"]),
            full_text: string_field(&json, &["response", "content", "text"]),
        }),
        "error" => Some(StreamEvent::Error(stream_error(&json))),
        _ if json.get("success").and_then(Value::as_bool) == Some(false)
            || json.get("error").is_some_and(Value::is_object) =>
        {
            Some(StreamEvent::Error(stream_error(&json)))
        }
        _ => chunk(&json)
            .filter(|c| !c.is_empty())
            .map(StreamEvent::Delta),
    }
}

/// The text chunk of a delta-like JSON object, in any of the accepted spellings.
fn chunk(json: &Value) -> Option<String> {
    let openai = json
        .get("choices")
        .and_then(|c| c.as_array()?.first())
        .and_then(|c| c.get("delta")?.get("content"));
    if let Some(content) = openai {
        return content.as_str().map(str::to_owned);
    }
    for field in ["content", "delta", "text", "token"] {
        match json.get(field) {
            Some(Value::String(text)) => return Some(text.clone()),
            Some(inner @ Value::Object(_)) => {
                if let Some(Value::String(text)) =
                    inner.get("text").or_else(|| inner.get("content"))
                {
                    return Some(text.clone());
                }
            }
            _ => {}
        }
    }
    None
}

fn string_field(json: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| json.get(name)?.as_str().map(str::to_owned))
}

/// An error carried inside the stream (our error body, or `{"error": {"message": ...}}`).
fn stream_error(json: &Value) -> ApiError {
    if let Some(inner @ Value::Object(_)) = json.get("error") {
        let code = inner
            .get("code")
            .and_then(Value::as_str)
            .map(ErrorCode::from_wire)
            .unwrap_or(ErrorCode::Server);
        let message = inner
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the stream reported an error");
        return ApiError::new(code, message);
    }
    let mut error = decode_error_value(&ResponseMeta::default(), json);
    if matches!(error.code, ErrorCode::MalformedResponse) {
        error.code = ErrorCode::Server;
    }
    error.http_status = None;
    error
}

/// Reads one reply's SSE stream: bytes in, [`StreamEvent`]s out, and wire text never out as
/// reply text. Data that is not JSON becomes text only in a plain-text stream: once a stream
/// has sent a JSON event it never turns into text, and data that starts like a JSON object
/// (`{"`) but does not parse is dropped either way. So a half-received event (a stream cut in
/// the middle of `{"id":"chatcmpl-…`) is never shown.
#[derive(Debug, Default)]
pub struct ReplyStream {
    parser: SseParser,
    /// The stream has sent JSON: non-JSON data in it is a broken event, not text.
    structured: bool,
}

impl ReplyStream {
    /// A stream at its start.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes the next chunk of bytes; returns the events it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<StreamEvent> {
        let events = self.parser.feed(bytes);
        events
            .iter()
            .filter_map(|event| self.admit(event, false))
            .collect()
    }

    /// The server closed the stream: a last event without its blank line still counts, unless
    /// it is cut short (see [`ReplyStream`]). A stream that broke instead (the connection
    /// dropped, a deadline) is simply not finished: its half-received event is dropped.
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        let events = self.parser.finish();
        events
            .iter()
            .filter_map(|event| self.admit(event, true))
            .collect()
    }

    /// Whether the stream has sent JSON events (ours, OpenAI's): such a stream ends with an
    /// end marker, so closing without one means it was cut off.
    pub fn is_structured(&self) -> bool {
        self.structured
    }

    fn admit(&mut self, event: &SseEvent, at_end: bool) -> Option<StreamEvent> {
        let decoded = decode_event(event)?;
        // Plain-text data is the delta itself; a JSON chunk's text is one of its fields.
        let plain = matches!(&decoded, StreamEvent::Delta(text) if *text == event.data);
        let data = event.data.trim();
        if !plain {
            self.structured |= data.starts_with('{');
            return Some(decoded);
        }
        // At the end, a cut can leave just the first byte of a JSON object or of `[DONE]`.
        let wire = data.starts_with("{\"")
            || (at_end && (data.starts_with('{') || "[DONE]".starts_with(data)));
        (!self.structured && !wire).then_some(decoded)
    }
}

/// Folds stream events into a reply. The text so far is always available, so a stream that
/// breaks off or is stopped still leaves everything that arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyBuilder {
    reply: Reply,
    done: bool,
}

impl ReplyBuilder {
    /// An empty reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event. Returns the text appended by it, if any.
    pub fn apply(&mut self, event: StreamEvent) -> Result<Option<String>, ApiError> {
        match event {
            StreamEvent::Start {
                conversation_id,
                message_id,
            } => {
                self.set_ids(conversation_id, message_id);
                Ok(None)
            }
            StreamEvent::Delta(text) => {
                self.reply.text.push_str(&text);
                Ok(Some(text))
            }
            StreamEvent::Actions(actions) => {
                self.reply.suggested_actions = actions;
                Ok(None)
            }
            StreamEvent::Done {
                conversation_id,
                message_id,
                full_text,
            } => {
                self.set_ids(conversation_id, message_id);
                self.done = true;
                // The server's full text wins when it extends what arrived (a lost chunk);
                // if it disagrees otherwise, what the visitor has watched appear stays.
                match full_text {
                    Some(full)
                        if full.len() > self.reply.text.len()
                            && full.starts_with(&self.reply.text) =>
                    {
                        let rest = full[self.reply.text.len()..].to_owned();
                        self.reply.text = full;
                        Ok(Some(rest))
                    }
                    Some(full) if self.reply.text.is_empty() => {
                        self.reply.text = full.clone();
                        Ok(Some(full))
                    }
                    _ => Ok(None),
                }
            }
            StreamEvent::Error(error) => Err(error),
        }
    }

    fn set_ids(&mut self, conversation_id: Option<String>, message_id: Option<String>) {
        if let Some(id) = conversation_id {
            self.reply.conversation_id = id;
        }
        if message_id.is_some() {
            self.reply.message_id = message_id;
        }
    }

    /// Whether a `done` (or `[DONE]`) arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The reply as it stands.
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    /// The reply, consumed.
    pub fn into_reply(self) -> Reply {
        self.reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::chatbots::events::{self, sse_frame};
    use crate::model::ActionKind;
    use crate::sse::SseParser;

    fn decode_stream(bytes: &[u8]) -> Vec<StreamEvent> {
        let mut parser = SseParser::new();
        let mut events = parser.feed(bytes);
        events.extend(parser.finish());
        events.iter().filter_map(decode_event).collect()
    }

    fn build(bytes: &[u8]) -> (Reply, bool) {
        let mut builder = ReplyBuilder::new();
        for event in decode_stream(bytes) {
            builder.apply(event).unwrap();
        }
        let done = builder.is_done();
        (builder.into_reply(), done)
    }

    #[test]
    fn our_format_builds_the_reply_with_ids_and_quick_replies() {
        let stream = concat!(
            "event: start\ndata: {\"conversationId\":\"c1\",\"messageId\":\"m1\"}\n\n",
            ": keep-alive\n\n",
            "event: delta\ndata: {\"content\":\"Hel\"}\n\n",
            "event: delta\ndata: {\"content\":\"lo!\"}\n\n",
            "event: actions\ndata: {\"suggested_actions\":[{\"type\":\"quick_reply\",\"text\":\"Check order status\",\"payload\":\"check_order\"}]}\n\n",
            "event: done\ndata: {\"conversationId\":\"c1\",\"messageId\":\"m1\",\"response\":\"Hello!\"}\n\n",
        );
        let (reply, done) = build(stream.as_bytes());
        assert!(done);
        assert_eq!(reply.text, "Hello!");
        assert_eq!(reply.conversation_id, "c1");
        assert_eq!(reply.message_id.as_deref(), Some("m1"));
        assert_eq!(reply.suggested_actions[0].kind, ActionKind::QuickReply);
        assert_eq!(
            reply.suggested_actions[0].payload.as_deref(),
            Some("check_order")
        );
    }

    #[test]
    fn the_server_encoders_round_trip() {
        let mut stream = sse_frame(
            "start",
            &events::Start {
                conversation_id: "c9".into(),
                message_id: None,
            },
        );
        stream += &sse_frame(
            "delta",
            &events::Delta {
                content: "line\n\n```\ncode\n```".into(),
            },
        );
        stream += &sse_frame(
            "done",
            &events::Done {
                conversation_id: "c9".into(),
                message_id: Some("m".into()),
                response: Some("line\n\n```\ncode\n```".into()),
            },
        );
        let (reply, done) = build(stream.as_bytes());
        assert!(done);
        assert_eq!(
            (reply.text.as_str(), reply.conversation_id.as_str()),
            ("line\n\n```\ncode\n```", "c9")
        );
    }

    #[test]
    fn a_type_field_names_unnamed_events() {
        let stream = "data: {\"type\":\"start\",\"conversation_id\":\"c2\"}\n\ndata: {\"type\":\"delta\",\"delta\":\"Hi\"}\n\ndata: {\"type\":\"done\"}\n\n";
        let (reply, done) = build(stream.as_bytes());
        assert!(done);
        assert_eq!(
            (reply.text.as_str(), reply.conversation_id.as_str()),
            ("Hi", "c2")
        );
    }

    #[test]
    fn every_chunk_field_spelling_is_read() {
        let stream = "data: {\"content\":\"a\"}\n\ndata: {\"delta\":\"b\"}\n\ndata: {\"text\":\"c\"}\n\ndata: {\"token\":\"d\"}\n\ndata: {\"token\":{\"text\":\"e\"}}\n\n";
        assert_eq!(build(stream.as_bytes()).0.text, "abcde");
    }

    #[test]
    fn openai_chunks_end_with_done() {
        let stream = concat!(
            "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
            "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
            "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        let (reply, done) = build(stream.as_bytes());
        assert_eq!((reply.text.as_str(), done), ("Hello", true));
    }

    #[test]
    fn plain_text_data_is_the_chunk() {
        let (reply, done) = build(b"data: Hello\n\ndata:  world\n\n");
        assert_eq!((reply.text.as_str(), done), ("Hello world", false));
    }

    #[test]
    fn errors_in_the_stream_keep_the_text_so_far() {
        let stream = "event: delta\ndata: {\"content\":\"Partial\"}\n\nevent: error\ndata: {\"success\":false,\"error\":\"Model overloaded\",\"code\":\"SERVER_ERROR\"}\n\n";
        let mut builder = ReplyBuilder::new();
        let mut failure = None;
        for event in decode_stream(stream.as_bytes()) {
            if let Err(err) = builder.apply(event) {
                failure = Some(err);
            }
        }
        assert_eq!(builder.reply().text, "Partial");
        let failure = failure.expect("the error event is reported");
        assert_eq!(failure.code, ErrorCode::Server);
        assert_eq!(failure.message, "Model overloaded");

        let openai_error = decode_stream(b"data: {\"error\":{\"message\":\"context too long\",\"code\":\"INVALID_REQUEST\"}}\n\n");
        assert!(
            matches!(&openai_error[0], StreamEvent::Error(e) if e.code == ErrorCode::InvalidRequest && e.message == "context too long")
        );
        let typed = decode_stream(b"data: {\"type\":\"error\",\"error\":\"Rate limit exceeded\",\"code\":\"RATE_LIMIT_EXCEEDED\",\"retryAfter\":5}\n\n");
        assert!(
            matches!(&typed[0], StreamEvent::Error(e) if e.code == ErrorCode::RateLimitExceeded && e.retry_after_s == Some(5))
        );
    }

    #[test]
    fn done_fills_in_a_lost_tail_but_never_rewrites_what_was_shown() {
        let (reply, _) = build(b"event: delta\ndata: {\"content\":\"Hel\"}\n\nevent: done\ndata: {\"response\":\"Hello!\"}\n\n");
        assert_eq!(reply.text, "Hello!");
        let (reply, _) = build(b"event: delta\ndata: {\"content\":\"Bonjour\"}\n\nevent: done\ndata: {\"response\":\"Hello!\"}\n\n");
        assert_eq!(reply.text, "Bonjour");
        let (reply, _) = build(
            b"event: done\ndata: {\"conversationId\":\"c\",\"response\":\"Only at the end\"}\n\n",
        );
        assert_eq!(reply.text, "Only at the end");
    }

    #[test]
    fn pings_unknown_events_and_empty_chunks_are_ignored() {
        let events = decode_stream(b"event: ping\ndata: {}\n\ndata: {\"content\":\"\"}\n\nevent: delta\ndata: {\"content\":\"x\"}\n\n");
        assert_eq!(events, vec![StreamEvent::Delta("x".into())]);
    }
}
