//! Streaming: the updates a `MarkdownStream` hands out, applied in order, give exactly the
//! render of the whole text, however the text was cut into chunks; and a reply that is one
//! long list, paragraph, code block or table is not rendered again whole on every frame.

use chat_widget_protocol::markdown::checks::{assert_balanced, assert_inert};
use chat_widget_protocol::markdown::{render_markdown, AppliedHtml, MarkdownStream, StreamOp};
use proptest::prelude::*;

/// Streams `text` in the given chunk sizes (in characters, cycling), checking each frame's
/// HTML is inert and balanced. Returns the final HTML, the longest live part (in source bytes)
/// and the stream.
fn stream(text: &str, sizes: &[usize]) -> (String, usize, MarkdownStream) {
    let mut stream = MarkdownStream::new();
    let mut html = AppliedHtml::default();
    let chars: Vec<char> = text.chars().collect();
    let (mut at, mut i, mut longest) = (0, 0, 0);
    while at < chars.len() {
        let size = sizes[i % sizes.len()].max(1);
        i += 1;
        let chunk: String = chars[at..(at + size).min(chars.len())].iter().collect();
        at += size;
        stream.push(&chunk);
        let update = stream.update();
        // Each piece on its own is inert and balanced (checking the whole HTML every frame
        // would make this test quadratic).
        for op in &update.ops {
            let piece = match op {
                StreamOp::Blocks(html) | StreamOp::Append(html) => html.clone(),
                StreamOp::Shell { open, close } => format!("{open}{close}"),
                StreamOp::Seal => String::new(),
            };
            assert_inert(&piece);
            assert_balanced(&piece);
        }
        assert_inert(&update.live);
        assert_balanced(&update.live);
        update.apply_to(&mut html);
        longest = longest.max(stream.tail_len());
    }
    assert_inert(&html.html());
    assert_balanced(&html.html());
    let whole = match stream.finish() {
        Some(update) => {
            update.apply_to(&mut html);
            html.html()
        }
        None => render_markdown(stream.source()),
    };
    (whole, longest, stream)
}

fn assert_streams_exactly(text: &str, sizes: &[usize]) {
    let (html, _, _) = stream(text, sizes);
    assert_eq!(
        html,
        render_markdown(text),
        "{text:?} in chunks of {sizes:?}"
    );
}

#[test]
fn lines_that_only_look_like_a_table_for_a_moment_stay_in_the_paragraph() {
    // After `- |-` the last two lines are a table (header `|---|:-:|`, delimiter `- |-`);
    // after `- |->` they are the paragraph's again, so the paragraph must not be sealed
    // before the delimiter row is finished.
    assert_streams_exactly("===| a | b |\n|---|:-:|\n- |-->", &[9, 1, 7]);
    assert_streams_exactly("Intro | x\n| a | b |\n- |-- no table\n", &[1]);
}

#[test]
fn a_fence_followed_by_a_tab_does_not_close_the_code_block() {
    // pulldown-cmark closes a fence only with spaces after it, so the blank line and the
    // table after "```\t" are still code (found by the property test below).
    assert_streams_exactly("```- \n```\t\n\n| a | b |\n|---|:-:|\n", &[1]);
    assert_streams_exactly("```\ncode\n```\t\n\n- item\n", &[8]);
    assert_streams_exactly("```\ncode\n```  \n\n- item\n", &[3]);
    assert_streams_exactly(
        "```\n  ===<b>-->a\t<!--|*\n |=== \n```\t\n\nwords <b>  2) (===~~ |\\word| a | b |\n|---|:-:|\n\n\n- ",
        &[8],
    );
}

#[test]
fn a_blank_line_between_items_that_show_no_paragraph_yet_still_makes_the_list_loose() {
    // Until an item has a paragraph, a loose list renders like a tight one: the items after
    // the blank line must not be drawn as a tight list's (found by the property test below).
    assert_streams_exactly("===words | a | b |\n|---|:-:|\n* 1. - - \n\n*\n  **", &[1]);
    assert_streams_exactly("- - a\n\n-\n  b\n- c\n", &[1]);
    assert_streams_exactly("- # one\n\n- # two\n- three\n", &[2]);
}

#[test]
fn hand_picked_replies_stream_exactly() {
    let replies = [
        "# Title\n\nFirst paragraph with **bold**.\n\n```rust\nfn main() {\n\n    println!(\"hi\");\n}\n```\n\nA [link](https://example.com).\n\nLast one",
        "- one\n- two\n- three\n  - nested\n- four\n\nAfter the list.\n",
        "- loose one\n\n- loose two\n\n- three\n\n  more of three\n- four\n",
        "- tight\n- tight\n- then\n\n- loose\n",
        "1. one\n2. two\n3) other list\n4) x\n",
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n| 3 | 4 |\n| 5 |\n\nAfter.",
        "| a | b |\n|---|---|\n| 1 | 2 |\n# Heading\n| x |",
        "```\nline one\n\nline two\n```\nafter the fence\n",
        "~~~python\nprint(1)\n~~~~\n\n```\nunclosed\n",
        "A long paragraph with **bold words** and *emphasis* and [a link](https://x.test/a b) and `code` that goes on and on\nover lines and lines, with more words.",
        "Some words *that open\nand close* later, and a lone * star, and a [bracket\nthat closes] late.",
        "Paragraph text\nthat becomes\n===\n\nA setext heading.",
        "Paragraph line\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        "words words words\n- a list interrupts\n- it\n\ntext",
        "> quote\n> more\n\n> still\n\nend",
        "- item with `code\n- next` item\n- and *em\n- em*\n",
        "See [the docs][d].\n\nMore text.\n\n[d]: https://example.com/docs\n",
        "- a\n-\n- b\n\n* c\n",
        "   - indented\n   - list\n   - items\n",
        "-    wide\n-    items\n\n     continued\n-    again\n",
        "text with a | pipe and more words after it\n",
        "<div>\nhtml block\n\nstill\n</div>\n\nafter",
    ];
    for text in replies {
        for sizes in [&[1][..], &[2, 5], &[7], &[3, 1, 11], &[64]] {
            assert_streams_exactly(text, sizes);
        }
    }
}

#[test]
fn a_list_item_is_committed_once_the_next_one_starts() {
    let mut stream = MarkdownStream::new();
    stream.push("- one\n- two\n- thr");
    let update = stream.update();
    assert!(
        update.ops.contains(&StreamOp::Shell {
            open: "<ul>\n".into(),
            close: "</ul>\n".into()
        }),
        "{update:?}"
    );
    assert!(
        update
            .ops
            .contains(&StreamOp::Append("<li>one</li>\n".into())),
        "{update:?}"
    );
    assert_eq!(
        update.live, "<li>two</li>\n<li>thr</li>\n",
        "two is not final until three's line is"
    );
    stream.push("ee\n");
    let update = stream.update();
    assert_eq!(update.ops, vec![StreamOp::Append("<li>two</li>\n".into())]);
    assert_eq!(update.live, "<li>three</li>\n");
}

#[test]
fn a_table_row_is_committed_once_its_line_ends() {
    let mut stream = MarkdownStream::new();
    stream.push("| a |\n|:-:|\n| 1 |\n| 2");
    let mut html = AppliedHtml::default();
    let update = stream.update();
    update.apply_to(&mut html);
    assert!(
        update.ops.contains(&StreamOp::Append(
            "<tr><td class=\"cw-align-center\">1</td></tr>\n".into()
        )),
        "{update:?}"
    );
    assert_eq!(
        update.live,
        "<tr><td class=\"cw-align-center\">2</td></tr>\n"
    );
    assert_eq!(html.html(), render_markdown(stream.source()));
}

#[test]
fn a_code_line_is_committed_once_it_ends() {
    let mut stream = MarkdownStream::new();
    stream.push("```js\nlet a = 1;\nlet b");
    let update = stream.update();
    assert!(
        update
            .ops
            .contains(&StreamOp::Append("let a = 1;\n".into())),
        "{update:?}"
    );
    assert_eq!(update.live, "let b");
}

#[test]
fn a_paragraph_commits_the_words_nothing_later_can_change() {
    let mut stream = MarkdownStream::new();
    stream.push("Plain **bold** words and *an open");
    let update = stream.update();
    assert!(
        update.ops.contains(&StreamOp::Append(
            "Plain <strong>bold</strong> words and ".into()
        )),
        "{update:?}"
    );
    assert_eq!(
        update.live, "*an open",
        "the open emphasis is not committed"
    );
}

/// Long replies of one block each; the live part must stay small however long they get.
fn long_shapes() -> [(&'static str, String); 4] {
    let n = 3_000;
    [
        (
            "list",
            (0..n)
                .map(|i| format!("- item {i} with **bold** and `code`\n"))
                .collect(),
        ),
        (
            "paragraph",
            (0..n)
                .map(|i| format!("word{i} *em{i}* and [link](https://x.test/{i}) "))
                .collect(),
        ),
        (
            "code",
            format!(
                "```rust\n{}```\n",
                (0..n)
                    .map(|i| format!("let x{i} = {i}; // <tag> & more\n"))
                    .collect::<String>()
            ),
        ),
        (
            "table",
            format!(
                "| n | name | value |\n|---|:-:|--:|\n{}",
                (0..n)
                    .map(|i| format!("| {i} | name {i} | **{i}** |\n"))
                    .collect::<String>()
            ),
        ),
    ]
}

#[test]
fn one_long_block_is_not_rendered_whole_on_every_frame() {
    for (shape, text) in long_shapes() {
        let (html, longest, _) = stream(&text, &[37, 101, 13]);
        assert_eq!(html, render_markdown(&text), "{shape}");
        assert!(
            longest < 400,
            "{shape}: the live part grew to {longest} bytes of {}",
            text.len()
        );
    }
}

/// Pieces of Markdown, weighted towards the constructs whose parts are committed.
const PIECES: &[&str] = &[
    "- ",
    "* ",
    "1. ",
    "2) ",
    "  ",
    "    ",
    "\n",
    "\n",
    "\n",
    "\n\n",
    "| a | b |\n|---|:-:|\n",
    "| ",
    " |",
    "|",
    "```",
    "```\n",
    "~~~\n",
    "> ",
    "# ",
    "===",
    "---",
    "*",
    "**",
    "_",
    "~~",
    "`",
    "[",
    "]",
    "](https://x.test)",
    "(",
    ")",
    "<",
    "<b>",
    "<!--",
    "-->",
    "&amp;",
    "\\",
    "word",
    "words ",
    "a",
    "b",
    " ",
    " ",
    "é",
    "🙂",
    "[id]: https://x.test\n",
    "\t",
    "\r\n",
    // Bare addresses, which become links.
    "https://a.test/x_y",
    "a@b.test",
    ".",
];

fn markdown() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..80).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn any_reply_in_any_chunks_streams_exactly(text in markdown(), sizes in prop::collection::vec(1usize..12, 1..6)) {
        assert_streams_exactly(&text, &sizes);
    }
}
