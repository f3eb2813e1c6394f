//! A stream cut at any byte never puts wire text in the reply: for an OpenAI-compatible stream
//! and ours (chatbots), at every byte offset, whether the server closed the connection there or
//! it broke, the text the visitor sees is a prefix of the real reply and holds no protocol.

use chat_widget_protocol::stream::{ReplyBuilder, ReplyStream};

const REPLY: &str = "Hello there, your order ACM-1 ships today. Anything else I can do?";

/// The reply in pieces of a few words, as a model streams it.
fn pieces() -> Vec<&'static str> {
    vec![
        "Hello there, ",
        "your order ",
        "ACM-1 ships",
        " today. ",
        "Anything else ",
        "I can do?",
    ]
}

fn openai_stream() -> String {
    let mut stream = String::new();
    for (i, piece) in pieces().into_iter().enumerate() {
        let delta = if i == 0 {
            format!(r#"{{"role":"assistant","content":"{piece}"}}"#)
        } else {
            format!(r#"{{"content":"{piece}"}}"#)
        };
        stream.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-9xA7\",\"object\":\"chat.completion.chunk\",\"created\":1733300000,\"model\":\"demo\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    stream.push_str("data: {\"id\":\"chatcmpl-9xA7\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    stream.push_str("data: [DONE]\n\n");
    stream
}

fn chatbots_stream() -> String {
    let mut stream = String::from(": keep-alive\n\nevent: start\ndata: {\"conversationId\":\"conv_7\",\"messageId\":\"msg_9\"}\n\n");
    for piece in pieces() {
        stream.push_str(&format!(
            "event: delta\ndata: {{\"content\":\"{piece}\"}}\n\n"
        ));
    }
    stream.push_str("event: actions\ndata: {\"suggested_actions\":[{\"type\":\"quick_reply\",\"text\":\"Track it\",\"payload\":\"track\"}]}\n\n");
    stream.push_str(&format!("event: done\ndata: {{\"conversationId\":\"conv_7\",\"messageId\":\"msg_9\",\"response\":\"{REPLY}\"}}\n\n"));
    stream
}

/// What the visitor would see of `bytes`, fed in two chunks split at `split`; `closed`: the
/// server ended the stream there (else it broke and is not finished).
fn seen(bytes: &[u8], split: usize, closed: bool) -> String {
    let mut stream = ReplyStream::new();
    let mut builder = ReplyBuilder::new();
    let mut events = stream.feed(&bytes[..split]);
    events.extend(stream.feed(&bytes[split..]));
    if closed {
        events.extend(stream.finish());
    }
    for event in events {
        let _ = builder.apply(event);
    }
    builder.into_reply().text
}

fn check_every_cut(name: &str, full: &str) {
    let bytes = full.as_bytes();
    assert_eq!(
        seen(bytes, bytes.len() / 2, true),
        REPLY,
        "{name}: the whole stream gives the whole reply"
    );
    for cut in 0..=bytes.len() {
        for closed in [true, false] {
            let text = seen(&bytes[..cut], cut / 2, closed);
            assert!(
                REPLY.starts_with(&text),
                "{name}, cut at {cut} (closed: {closed}): {text:?} is not part of the reply"
            );
            for wire in [
                "{", "}", "\"", "data", "chatcmpl", "[DONE", "event", "delta", "content",
            ] {
                assert!(
                    !text.contains(wire),
                    "{name}, cut at {cut} (closed: {closed}): wire text {wire:?} in {text:?}"
                );
            }
        }
    }
}

#[test]
fn an_openai_stream_cut_at_any_byte_shows_only_reply_text() {
    check_every_cut("openai", &openai_stream());
}

#[test]
fn a_chatbots_stream_cut_at_any_byte_shows_only_reply_text() {
    check_every_cut("chatbots", &chatbots_stream());
}

#[test]
fn plain_text_streams_still_stream_text() {
    let mut stream = ReplyStream::new();
    let mut events =
        stream.feed(b"data: Hello\n\ndata:  world\n\ndata: [see](https://example.com)");
    events.extend(stream.finish());
    let mut builder = ReplyBuilder::new();
    for event in events {
        let _ = builder.apply(event);
    }
    assert_eq!(
        builder.into_reply().text,
        "Hello world[see](https://example.com)"
    );
}
