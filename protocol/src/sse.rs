//! A byte-fed Server-Sent Events parser, as the HTML standard describes it, plus one
//! deliberate difference: [`SseParser::finish`] also dispatches a last event that has no blank
//! line after it (servers that close right after their final `data:` line are common).
//!
//! Bytes arrive in arbitrary network chunks, so the parser keeps an incomplete line as bytes
//! and only decodes a line once it is whole: a chunk boundary inside a UTF-8 character, or
//! between the CR and LF of a CRLF, changes nothing.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, `"message"` when absent.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream so far, if any.
    pub id: Option<String>,
    /// A `retry:` value given with this event, in milliseconds.
    pub retry: Option<u64>,
}

/// Incremental parser. Feed it bytes as they arrive; it returns the events completed so far.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, incomplete line.
    line: Vec<u8>,
    /// The previous chunk ended with CR: a LF at the start of the next one belongs to it.
    after_cr: bool,
    /// Whether the stream's first bytes were checked for a byte-order mark.
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    retry: Option<u64>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes the next chunk of bytes and returns every event it completed.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if !self.started && !bytes.is_empty() {
            // A UTF-8 BOM may start the stream, possibly split across chunks.
            let bom = [0xEF_u8, 0xBB, 0xBF];
            let seen = self.line.len();
            let take = (bom.len() - seen).min(bytes.len());
            if self
                .line
                .iter()
                .chain(&bytes[..take])
                .eq(bom[..seen + take].iter())
            {
                if seen + take < bom.len() {
                    self.line.extend_from_slice(&bytes[..take]);
                    return events;
                }
                self.line.clear();
                bytes = &bytes[take..];
            }
            self.started = true;
        }
        // A line at a time: up to its CR, LF or CRLF (a LF right after a CR ends nothing).
        while let Some((&first, rest)) = bytes.split_first() {
            if std::mem::take(&mut self.after_cr) && first == b'\n' {
                bytes = rest;
                continue;
            }
            let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.line.extend_from_slice(bytes);
                break;
            };
            self.after_cr = bytes[end] == b'\r';
            if self.line.is_empty() {
                self.process_line(&bytes[..end], &mut events);
            } else {
                self.line.extend_from_slice(&bytes[..end]);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, &mut events);
            }
            bytes = &bytes[end + 1..];
        }
        events
    }

    /// Ends the stream: a pending line is processed and a pending event is dispatched.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, &mut events);
        }
        self.dispatch(&mut events);
        self.after_cr = false;
        events
    }

    fn process_line(&mut self, line: &[u8], events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return; // a comment, e.g. a keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = self.event.take();
        let retry = self.retry.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        events.push(SseEvent {
            event: event
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "message".to_owned()),
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events = parser.feed(input);
        events.extend(parser.finish());
        events
    }

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: name.into(),
            data: data.into(),
            id: None,
            retry: None,
        }
    }

    #[test]
    fn named_events_in_our_format() {
        let stream = b"event: start\ndata: {\"conversationId\":\"c1\"}\n\nevent: delta\ndata: {\"content\":\"Hel\"}\n\n";
        assert_eq!(
            parse_all(stream),
            vec![
                event("start", "{\"conversationId\":\"c1\"}"),
                event("delta", "{\"content\":\"Hel\"}")
            ]
        );
    }

    #[test]
    fn crlf_lf_and_cr_line_ends_all_work() {
        for stream in [
            &b"data: a\r\n\r\ndata: b\r\n\r\n"[..],
            b"data: a\n\ndata: b\n\n",
            b"data: a\r\rdata: b\r\r",
        ] {
            assert_eq!(
                parse_all(stream),
                vec![event("message", "a"), event("message", "b")],
                "{stream:?}"
            );
        }
    }

    #[test]
    fn comments_ids_retry_and_multi_line_data() {
        let stream = b": keep-alive\nid: 7\nretry: 3000\ndata: line one\ndata:line two\ndata\n\n: another\ndata: next\n\n";
        let events = parse_all(stream);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data, "line one\nline two\n");
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].retry, Some(3000));
        assert_eq!(
            events[1].id.as_deref(),
            Some("7"),
            "the last id carries over"
        );
        assert_eq!(events[1].retry, None);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        assert_eq!(
            parse_all(b"event: ping\n\n: only a comment\n\nid: 3\n\n"),
            vec![]
        );
    }

    #[test]
    fn a_last_event_without_a_blank_line_is_dispatched_at_the_end() {
        assert_eq!(
            parse_all(b"data: first\n\ndata: last"),
            vec![event("message", "first"), event("message", "last")]
        );
        assert_eq!(
            parse_all(b"event: done\ndata: {}\n"),
            vec![event("done", "{}")]
        );
    }

    #[test]
    fn a_crlf_split_between_chunks_is_one_line_end() {
        let mut parser = SseParser::new();
        assert_eq!(parser.feed(b"data: a\r"), vec![]);
        assert_eq!(parser.feed(b"\n\r"), vec![event("message", "a")]);
        assert_eq!(parser.feed(b"\ndata: b\n\n"), vec![event("message", "b")]);
    }

    #[test]
    fn a_utf8_character_split_between_chunks_survives() {
        let text = "data: h\u{e9}llo \u{1F600}\n\n".as_bytes();
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for byte in text {
            events.extend(parser.feed(std::slice::from_ref(byte)));
        }
        assert_eq!(events, vec![event("message", "h\u{e9}llo \u{1F600}")]);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_even_when_split() {
        let mut parser = SseParser::new();
        assert!(parser.feed(&[0xEF, 0xBB]).is_empty());
        assert_eq!(
            parser.feed(&[0xBF, b'd', b'a', b't', b'a', b':', b'x', b'\n', b'\n']),
            vec![event("message", "x")]
        );
    }
}
