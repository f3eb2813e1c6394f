//! Hostile Markdown: random text built from the characters Markdown cares about never makes
//! the renderer panic, and what it writes stays inert and balanced. Pathological nesting
//! renders without deep recursion.

use chat_widget_protocol::markdown::checks::{
    assert_balanced, assert_inert, pathological_inputs, PIECES,
};
use chat_widget_protocol::markdown::{plain_text, render_markdown, MarkdownStream};
use proptest::prelude::*;

fn markdown() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_markdown_renders_inert_and_balanced(text in markdown()) {
        let html = render_markdown(&text);
        assert_inert(&html);
        assert_balanced(&html);
        plain_text(&text);
    }

    #[test]
    fn any_string_at_all_renders_inert(text in any::<String>()) {
        let html = render_markdown(&text);
        assert_inert(&html);
        assert_balanced(&html);
    }

    #[test]
    fn a_reply_streamed_in_pieces_renders_inert_at_every_step(text in markdown(), piece in 1usize..8) {
        let mut stream = MarkdownStream::new();
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(piece) {
            stream.push(&chunk.iter().collect::<String>());
            if let Some(committed) = stream.take_committed_html() {
                assert_inert(&committed);
                assert_balanced(&committed);
            }
            let tail = stream.tail_html();
            assert_inert(&tail);
            assert_balanced(&tail);
        }
    }
}

/// Renders on a thread with a small stack, so recursion on the input's nesting would overflow.
fn render_on_a_small_stack(text: String) -> String {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            plain_text(&text);
            render_markdown(&text)
        })
        .expect("thread")
        .join()
        .expect("rendering overflowed or panicked")
}

#[test]
fn pathological_input_renders_without_deep_recursion() {
    let inputs = pathological_inputs(50_000);
    for text in inputs {
        let start = text.chars().take(12).collect::<String>();
        let html = render_on_a_small_stack(text);
        assert_inert(&html);
        assert!(!html.is_empty(), "{start}…");
    }
}
