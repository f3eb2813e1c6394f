//! However the network chops a stream into chunks, the parser sees the same events: checked
//! exhaustively for every split point of a realistic stream, and by property for random
//! streams (any text, any mix of LF, CR and CRLF, comments, ids) split at random places.

use chat_widget_protocol::sse::{SseEvent, SseParser};
use proptest::prelude::*;

fn parse_in_chunks(bytes: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, bytes.len());
        events.extend(parser.feed(&bytes[start..cut]));
        start = cut;
    }
    events.extend(parser.feed(&bytes[start..]));
    events.extend(parser.finish());
    events
}

const REALISTIC: &str = concat!(
    "\u{feff}: hello\r\n",
    "event: start\r\ndata: {\"conversationId\":\"c1\",\"messageId\":\"m1\"}\r\n\r\n",
    "event: delta\ndata: {\"content\":\"Caf\u{e9} \u{1F600} \u{65e5}\u{672c}\"}\n\n",
    "id: 42\rretry: 1500\revent: delta\rdata: {\"content\":\"line\\n\\n```\"}\r\r",
    "data: plain\ndata: two lines\n\n",
    "event: done\ndata: {\"response\":\"all\"}",
);

#[test]
fn every_single_split_point_gives_the_same_events() {
    let bytes = REALISTIC.as_bytes();
    let whole = parse_in_chunks(bytes, &[]);
    assert_eq!(whole.len(), 5, "{whole:#?}");
    for cut in 0..=bytes.len() {
        assert_eq!(parse_in_chunks(bytes, &[cut]), whole, "split at byte {cut}");
    }
}

#[test]
fn byte_by_byte_gives_the_same_events() {
    let bytes = REALISTIC.as_bytes();
    let cuts: Vec<usize> = (0..bytes.len()).collect();
    assert_eq!(parse_in_chunks(bytes, &cuts), parse_in_chunks(bytes, &[]));
}

/// One line of a stream, before a line ending is chosen for it.
fn line() -> impl Strategy<Value = String> {
    let text = "[^\r\n]{0,12}";
    prop_oneof![
        text.prop_map(|t| format!("data: {t}")),
        text.prop_map(|t| format!("data:{t}")),
        "[a-z]{1,6}".prop_map(|t| format!("event: {t}")),
        "[0-9a-z]{0,4}".prop_map(|t| format!("id: {t}")),
        "[0-9]{1,4}".prop_map(|t| format!("retry: {t}")),
        text.prop_map(|t| format!(": {t}")),
        Just(String::new()),
        Just(String::new()),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        (line(), prop_oneof![Just("\n"), Just("\r"), Just("\r\n")]),
        0..24,
    )
    .prop_map(|lines| {
        lines
            .into_iter()
            .flat_map(|(line, end)| format!("{line}{end}").into_bytes())
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_split_anywhere_give_the_same_events(
        bytes in stream(),
        mut cuts in proptest::collection::vec(0usize..400, 0..12),
    ) {
        cuts.sort_unstable();
        prop_assert_eq!(parse_in_chunks(&bytes, &cuts), parse_in_chunks(&bytes, &[]));
    }
}
