//! Bot replies arrive as Markdown; this renders them to HTML that is safe to assign to
//! `innerHTML` in any page.
//!
//! Parsing is pulldown-cmark's (CommonMark plus GitHub's tables and strikethrough); its events
//! are written out by our own writer (`render.rs`), which applies these rules:
//! * Raw HTML in a reply (block or inline) is shown as text, never parsed. An HTML block is a
//!   paragraph of text.
//! * Links survive only with an `http:`, `https:` or `mailto:` URL, and open in a new tab with
//!   `rel="noopener noreferrer"`; any other link keeps its text and loses its anchor.
//! * Images survive only with an `http:` or `https:` URL; others are dropped, alt text and all.
//! * A bare web address (`http:` or `https:`) or email address in text becomes a link, found
//!   by the `linkify` crate, as GitHub's Markdown does; not in code, nor in a link's text or
//!   an image's alt text. (Bots write bare URLs; a visitor expects to follow them.)
//! * The scheme is checked after entity references and backslash escapes are decoded (by
//!   pulldown-cmark), so `&#106;avascript:` is seen as `javascript:`.
//! * Table columns are aligned with classes (`cw-align-left`, `-center`, `-right`), never a
//!   `style` attribute, which a strict Content Security Policy blocks.
//! * Quotes and lists nest at most 32 deep; deeper ones lose their tags, not their text.
//! * All text is escaped; the only tags are the ones the writer writes itself.
//!
//! Apart from those rules the HTML is exactly pulldown-cmark's own `html::push_html` output
//! (the differential test in `tests/markdown_differential.rs` checks it). `stream.rs` renders a
//! reply that is still arriving, incrementally.

#[doc(hidden)]
pub mod checks;
mod render;
mod stream;

pub use stream::{AppliedHtml, MarkdownStream, StreamOp, StreamUpdate};

/// The URL schemes a link may have.
pub const LINK_SCHEMES: [&str; 3] = ["http:", "https:", "mailto:"];
/// The URL schemes an image may have.
pub const IMAGE_SCHEMES: [&str; 2] = ["http:", "https:"];

/// Renders Markdown to safe HTML. See the module docs for what is kept.
pub fn render_markdown(markdown: &str) -> String {
    render::render(markdown, false)
}

/// Returns the URL, trimmed, if its scheme is one of `schemes`; `None` otherwise.
///
/// Browsers ignore leading spaces and control characters and ASCII tabs and newlines
/// anywhere in a URL, so any control character at all disqualifies it.
pub fn allowed_url<'u>(url: &'u str, schemes: &[&str]) -> Option<&'u str> {
    let url = url.trim();
    if url.chars().any(char::is_control) {
        return None;
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    schemes
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        .then_some(url)
}

/// The reply as plain text, for a screen reader's announcement: the words without the
/// Markdown, links as their text, code as is, blocks separated by a space.
pub fn plain_text(markdown: &str) -> String {
    render::render(markdown, true)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Closes the inline markers an unfinished text has left open (`**`, `~~`, a code span), and
/// drops trailing spaces and a trailing lone `*`, `_` or `[` that is about to become something
/// else. Text inside a fenced code block is left alone (an open fence already renders as code).
pub fn heal_unfinished_inline(text: &str) -> std::borrow::Cow<'_, str> {
    let mut in_fence = false;
    let mut paragraph_start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        offset += line.len();
        if line.trim().is_empty() || (!in_fence && trimmed.starts_with("```")) {
            paragraph_start = offset;
        }
    }
    // Inside a fence nothing needs closing; after a finished line nothing is being typed.
    if in_fence || text.ends_with('\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    // Spaces at the end of a paragraph render as nothing, but a closer after one does not
    // close: "**30 " is healed as "**30**", not "**30 **".
    let text = text.trim_end_matches([' ', '\t']);
    // "word **" or "- *": a marker has just started; render without it for now.
    let stripped = text.trim_end_matches(['*', '_', '[']);
    let body = if stripped.len() < text.len() && stripped.ends_with(char::is_whitespace) {
        stripped.trim_end()
    } else {
        text
    };
    let paragraph = &body[paragraph_start.min(body.len())..];
    let bytes = paragraph.as_bytes();
    let (mut code_open, mut strong, mut strike) = (false, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'`' => code_open = !code_open,
            b'*' if !code_open && bytes.get(i + 1) == Some(&b'*') => {
                strong += 1;
                i += 1;
            }
            b'~' if !code_open && bytes.get(i + 1) == Some(&b'~') => {
                strike += 1;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    let mut closers = String::new();
    if code_open {
        closers.push('`');
    }
    if strike % 2 == 1 {
        closers.push_str("~~");
    }
    if strong % 2 == 1 {
        closers.push_str("**");
    }
    if closers.is_empty() && body.len() == text.len() {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(format!("{body}{closers}"))
}

#[cfg(test)]
mod tests {
    use super::checks::assert_inert;
    use super::*;

    #[test]
    #[should_panic(expected = "tag <script>")]
    fn the_inertness_check_itself_catches_a_live_tag() {
        assert_inert("<p>hi</p><script>alert(1)</script>");
    }

    #[test]
    fn renders_ordinary_markdown() {
        let html = render_markdown(
            "**Bold** and _em_\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n\n`x < y`",
        );
        assert!(html.contains("<strong>Bold</strong>"));
        assert!(html.contains("<em>em</em>"));
        assert!(html.contains("<li>one</li>"));
        assert!(html.contains("<pre><code class=\"language-rust\">fn main() {}\n</code></pre>"));
        assert!(html.contains("<code>x &lt; y</code>"));
    }

    #[test]
    fn script_and_iframe_tags_are_shown_as_text() {
        let html = render_markdown(
            "<script>alert(1)</script>\n\nhi <iframe src=\"https://evil.example\"></iframe>",
        );
        assert_inert(&html);
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;iframe"), "{html}");
    }

    #[test]
    fn event_handler_attributes_are_shown_as_text() {
        let html =
            render_markdown("<img src=x onerror=alert(1)>\n\ntext <b onclick=\"steal()\">bold</b>");
        assert_inert(&html);
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
    }

    #[test]
    fn dangerous_inline_links_lose_their_anchor_but_keep_their_text() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            " javascript:alert(1)",
        ] {
            let html = render_markdown(&format!("[click me]({url})"));
            assert_inert(&html);
            assert!(!html.contains("<a"), "{url} kept an anchor: {html}");
            assert!(html.contains("click me"), "{url} lost its text: {html}");
        }
    }

    #[test]
    fn dangerous_reference_links_are_dropped() {
        let html = render_markdown("[click][evil] and [more][data]\n\n[evil]: javascript:alert(1)\n[data]: data:text/html,<script>x</script>");
        assert_inert(&html);
        assert!(!html.contains("<a"), "{html}");
        assert!(html.contains("click") && html.contains("more"));
    }

    #[test]
    fn dangerous_autolinks_are_dropped() {
        let html =
            render_markdown("<javascript:alert(1)> and <vbscript:x> and <data:text/html,hi>");
        assert_inert(&html);
        assert!(!html.contains("<a"), "{html}");
    }

    #[test]
    fn entity_encoded_schemes_are_caught_after_decoding() {
        for url in [
            "&#106;avascript:alert(1)",
            "&#x6A;avascript:alert(1)",
            "javascript&colon;alert(1)",
            "jav&#x09;ascript:alert(1)",
            "java%0ascript:alert(1)",
        ] {
            let html = render_markdown(&format!("[x]({url})"));
            assert_inert(&html);
            assert!(!html.contains("<a"), "{url} kept an anchor: {html}");
        }
    }

    #[test]
    fn safe_links_open_in_a_new_tab_without_opener() {
        let html = render_markdown("[docs](https://example.com/a?b=1&c=\"2\" \"Title\") <http://x.test> <help@example.com> [mail](mailto:a@b.c)");
        assert!(html.contains("<a href=\"https://example.com/a?b=1&amp;c=%222%22\" title=\"Title\" target=\"_blank\" rel=\"noopener noreferrer\">docs</a>"), "{html}");
        assert!(html.contains("<a href=\"http://x.test\" target=\"_blank\" rel=\"noopener noreferrer\">http://x.test</a>"), "{html}");
        assert!(
            html.contains("<a href=\"mailto:help@example.com\""),
            "{html}"
        );
        assert!(html.contains("<a href=\"mailto:a@b.c\""), "{html}");
    }

    #[test]
    fn relative_and_protocol_relative_links_are_not_kept() {
        let html = render_markdown("[a](/admin) [b](//evil.example/x) [c](#top)");
        assert!(!html.contains("<a"), "{html}");
    }

    #[test]
    fn images_are_kept_only_for_http_and_https() {
        let html = render_markdown("![cat](https://example.com/cat.png \"a cat\")");
        assert!(
            html.contains(
                "<img src=\"https://example.com/cat.png\" alt=\"cat\" title=\"a cat\" />"
            ),
            "{html}"
        );
        for url in [
            "javascript:alert(1)",
            "data:image/svg+xml;base64,PHN2Zz4=",
            "/local.png",
            "file:///etc/passwd",
        ] {
            let html = render_markdown(&format!("before ![secret alt]({url}) after"));
            assert_inert(&html);
            assert!(!html.contains("<img"), "{url}: {html}");
            assert!(!html.contains("secret alt"), "{url}: {html}");
            assert!(html.contains("before") && html.contains("after"));
        }
    }

    #[test]
    fn an_image_inside_a_link_and_a_link_inside_a_dropped_image() {
        let html = render_markdown("[![ok](https://x.test/i.png)](javascript:alert(1))");
        assert!(html.contains("<img src=\"https://x.test/i.png\""), "{html}");
        assert!(!html.contains("<a"), "{html}");
        let html = render_markdown("![alt [inner](https://x.test)](data:x)");
        assert!(!html.contains("<img") && !html.contains("<a"), "{html}");
    }

    #[test]
    fn unbalanced_and_nested_html_cannot_break_out() {
        let html = render_markdown("</div></p><p onmouseover=x>\n\n`</code><script>` text </a>");
        assert_inert(&html);
        assert!(!html.contains("</div>") && !html.contains("</a>"), "{html}");
    }

    fn stream_in_pieces(text: &str, piece: usize) -> (String, MarkdownStream) {
        let mut stream = MarkdownStream::new();
        let mut html = String::new();
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(piece) {
            stream.push(&chunk.iter().collect::<String>());
            if let Some(committed) = stream.take_committed_html() {
                html.push_str(&committed);
            }
        }
        (html, stream)
    }

    #[test]
    fn streamed_paragraphs_and_code_render_like_the_whole_text() {
        let text = "# Title\n\nFirst paragraph with **bold**.\n\n```rust\nfn main() {\n\n    println!(\"hi\");\n}\n```\n\nA [link](https://example.com).\n\nLast one";
        for piece in [1, 3, 7, 50] {
            let (committed, stream) = stream_in_pieces(text, piece);
            assert!(!stream.needs_full_render());
            assert_eq!(
                committed + &stream.final_tail_html(),
                render_markdown(text),
                "pieces of {piece}"
            );
            assert_eq!(
                stream.tail_len(),
                "Last one".len(),
                "only the last block stays open"
            );
        }
    }

    #[test]
    fn late_reference_definitions_ask_for_a_full_render() {
        let text = "See [the docs][d].\n\nMore text.\n\n[d]: https://example.com/docs\n";
        let (committed, stream) = stream_in_pieces(text, 4);
        assert!(stream.needs_full_render());
        assert_ne!(
            committed + &stream.final_tail_html(),
            render_markdown(text),
            "the split render misses the link"
        );
        assert!(render_markdown(text).contains("href=\"https://example.com/docs\""));
    }

    #[test]
    fn a_blank_line_inside_a_code_fence_is_not_a_boundary() {
        let mut stream = MarkdownStream::new();
        stream.push("```\nline one\n\nline two\n");
        assert_eq!(stream.take_committed_html(), None);
        assert!(stream.tail_html().contains("line one\n\nline two"));
        stream.push("```\n\nafter\n");
        assert!(stream
            .take_committed_html()
            .unwrap()
            .contains("<pre><code>line one\n\nline two\n</code></pre>"));
    }

    #[test]
    fn an_empty_list_item_after_a_blank_line_stays_in_its_list() {
        for text in [
            "- one\n\n-\n- two\n\nAfter.\n",
            "* one\n\n*\n\nAfter.",
            "1. one\n\n2.\n\nAfter.",
        ] {
            for piece in [1, 4] {
                let (committed, stream) = stream_in_pieces(text, piece);
                let whole = render_markdown(text);
                assert_eq!(
                    committed + &stream.final_tail_html(),
                    whole,
                    "{text:?} in pieces of {piece}"
                );
                assert_eq!(
                    whole.matches("<ul>").count() + whole.matches("<ol>").count(),
                    1,
                    "{whole}"
                );
            }
        }
    }

    #[test]
    fn lists_and_quotes_stay_open_across_blank_lines() {
        let mut stream = MarkdownStream::new();
        stream.push("1. one\n\n2. two\n\n   more of two\n\n> quote\n\n> still quote\n\n");
        assert_eq!(
            stream.take_committed_html(),
            None,
            "nothing is final while the list or quote may go on"
        );
        stream.push("Plain paragraph.\n");
        let committed = stream.take_committed_html().unwrap();
        assert!(
            committed.contains("<ol>") && committed.contains("<blockquote>"),
            "{committed}"
        );
        assert_eq!(
            committed.matches("<ol").count(),
            1,
            "one list, not two: {committed}"
        );
    }

    #[test]
    fn the_work_per_frame_stays_bounded_for_a_long_reply() {
        let paragraph = "Some words in a paragraph that goes on for a while. ";
        let mut stream = MarkdownStream::new();
        let mut longest_tail = 0;
        for i in 0..2_000 {
            stream.push(paragraph);
            if i % 5 == 4 {
                stream.push("\n\n");
            }
            stream.take_committed_html();
            longest_tail = longest_tail.max(stream.tail_len());
        }
        assert!(stream.source().len() > 100_000);
        assert!(
            longest_tail < 6 * paragraph.len(),
            "tail grew to {longest_tail}"
        );
    }

    #[test]
    fn unfinished_inline_markers_render_as_if_closed() {
        assert_eq!(heal_unfinished_inline("You have **30"), "You have **30**");
        assert_eq!(heal_unfinished_inline("Run `cargo te"), "Run `cargo te`");
        assert_eq!(heal_unfinished_inline("an ~~old"), "an ~~old~~");
        assert_eq!(
            heal_unfinished_inline("**done** and **more"),
            "**done** and **more**"
        );
        assert_eq!(heal_unfinished_inline("**done** fine"), "**done** fine");
        assert_eq!(
            heal_unfinished_inline("a star * in `co*de` **x"),
            "a star * in `co*de` **x**"
        );
        assert_eq!(
            heal_unfinished_inline("about to be bold **"),
            "about to be bold"
        );
        // A chunk that ends between two words inside the marker.
        assert_eq!(heal_unfinished_inline("You have **30 "), "You have **30**");
        assert_eq!(heal_unfinished_inline("an ~~old \t"), "an ~~old~~");
        assert_eq!(
            heal_unfinished_inline("about to be bold ** "),
            "about to be bold"
        );
        assert_eq!(heal_unfinished_inline("Run `cargo "), "Run `cargo`");
        assert_eq!(
            heal_unfinished_inline("```\nlet a = **b"),
            "```\nlet a = **b",
            "code is left alone"
        );
        assert_eq!(
            heal_unfinished_inline("**closed**\n\nnew **para"),
            "**closed**\n\nnew **para**"
        );
        let mut stream = MarkdownStream::new();
        stream.push("You have **30");
        assert!(
            stream.tail_html().contains("<strong>30</strong>"),
            "{}",
            stream.tail_html()
        );
        assert!(!stream.tail_html().contains("**"));
        stream.push(" ");
        assert!(
            stream.tail_html().contains("<strong>30</strong>")
                && !stream.tail_html().contains("**"),
            "{}",
            stream.tail_html()
        );
        // Stopped there, the reply shows what it would have become.
        assert!(stream.partial_html().contains("<strong>30</strong>"));
    }

    #[test]
    fn plain_text_is_what_a_screen_reader_should_say() {
        let text = plain_text(
            "**Sure!** Here:\n\n1. Open [Orders](https://x.test)\n2. Click `Track`\n\n<b>raw</b>",
        );
        assert_eq!(text, "Sure! Here: Open Orders Click Track <b>raw</b>");
    }

    #[test]
    fn allowed_url_rules() {
        assert_eq!(
            allowed_url(" https://a.b ", &LINK_SCHEMES),
            Some("https://a.b")
        );
        assert_eq!(
            allowed_url("HTTPS://A.B", &LINK_SCHEMES),
            Some("HTTPS://A.B")
        );
        assert_eq!(allowed_url("https://a\n.b", &LINK_SCHEMES), None);
        assert_eq!(allowed_url("mailto:a@b", &IMAGE_SCHEMES), None);
        assert_eq!(allowed_url("httpx://a", &LINK_SCHEMES), None);
    }
}
