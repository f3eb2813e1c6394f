//! A streamed reply in the DOM: the bubble is brought up to date by applying the steps
//! ([`StreamOp`]) and the live HTML that `protocol`'s `MarkdownStream` hands out, so each frame
//! costs what changed, not the size of the reply.
//!
//! The bubble holds finished block elements (`div.cw-block`, each written once) and, last, one
//! *tail* element (a `div.cw-block` too). The tail's content is the shell of the block being
//! written; its *slot* (the deepest last element of the shell, or the tail itself) holds the
//! committed parts (items, rows, lines, words: never touched again) followed by the live part,
//! which is the only thing replaced on each frame.

use chat_widget_protocol::markdown::StreamOp;

use super::dom;

/// What a reply's bubble shows, and how to bring it up to date ([`ReplyDom::show`]).
pub struct ReplyDom {
    bubble: web_sys::Element,
    /// The attempt drawn (Retry starts another one, drawn from scratch).
    attempt: u32,
    /// How many of the attempt's steps are in the DOM.
    applied: usize,
    /// The whole HTML is drawn (not steps).
    whole: bool,
    tail: Option<Tail>,
    /// The live HTML drawn.
    live: String,
}

/// The element being written and where its parts go.
struct Tail {
    element: web_sys::Element,
    slot: web_sys::Element,
    /// How many of the slot's child nodes are committed; the live part's nodes follow them.
    committed: u32,
}

impl ReplyDom {
    /// Draws into `bubble` (its content belongs to this from now on).
    pub fn new(bubble: &web_sys::Element) -> Self {
        Self {
            bubble: bubble.clone(),
            attempt: 0,
            applied: 0,
            whole: false,
            tail: None,
            live: String::new(),
        }
    }

    /// Brings the bubble in line with attempt `attempt` of a reply: `whole` when the reply's
    /// exact HTML replaces its steps; otherwise the steps so far (only those not yet applied
    /// are) and the live HTML at the end of the open block. Nothing is touched when nothing
    /// changed.
    pub fn show(&mut self, attempt: u32, ops: &[StreamOp], live: &str, whole: Option<&str>) {
        if let Some(html) = whole {
            if !self.whole || self.attempt != attempt {
                self.bubble.set_inner_html(html);
                self.start_over(attempt);
                self.whole = true;
            }
            return;
        }
        if self.whole || self.attempt != attempt || ops.len() < self.applied {
            self.bubble.set_inner_html("");
            self.start_over(attempt);
        }
        if self.applied == ops.len() && self.live == live {
            return;
        }
        let bubble = &self.bubble;
        let tail = self.tail.get_or_insert_with(|| Tail::new(bubble));
        tail.drop_live();
        for op in &ops[self.applied..] {
            tail.apply(bubble, op);
        }
        self.applied = ops.len();
        if !live.is_empty() {
            let _ = tail.slot.insert_adjacent_html("beforeend", live);
        }
        live.clone_into(&mut self.live);
    }

    fn start_over(&mut self, attempt: u32) {
        self.attempt = attempt;
        self.applied = 0;
        self.whole = false;
        self.tail = None;
        self.live.clear();
    }
}

impl Tail {
    /// A new, empty tail element at the end of the bubble.
    fn new(bubble: &web_sys::Element) -> Self {
        let element = dom::element("div", "cw-block");
        let _ = bubble.append_child(&element);
        Self {
            slot: element.clone(),
            element,
            committed: 0,
        }
    }

    /// Removes the live part: the slot's nodes after the committed ones.
    fn drop_live(&self) {
        let nodes = self.slot.child_nodes();
        while nodes.length() > self.committed {
            match self.slot.last_child() {
                Some(last) => {
                    let _ = self.slot.remove_child(&last);
                }
                None => break,
            }
        }
    }

    fn apply(&mut self, bubble: &web_sys::Element, op: &StreamOp) {
        match op {
            StreamOp::Blocks(html) => {
                let block = dom::element("div", "cw-block");
                block.set_inner_html(html);
                let _ = bubble.insert_before(&block, Some(&self.element));
            }
            StreamOp::Shell { open, close } => {
                self.element
                    .set_inner_html(&[open.as_str(), close].concat());
                // The slot is where `open` and `close` meet: the deepest last element.
                let mut slot = self.element.clone();
                while let Some(last) = slot.last_element_child() {
                    slot = last;
                }
                self.slot = slot;
                self.committed = self.slot.child_nodes().length();
            }
            StreamOp::Append(html) => {
                let _ = self.slot.insert_adjacent_html("beforeend", html);
                self.committed = self.slot.child_nodes().length();
            }
            StreamOp::Seal => *self = Self::new(bubble),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_widget_protocol::markdown::{render_markdown, AppliedHtml, MarkdownStream};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// HTML as the browser reads it back (`<br />` becomes `<br>`, ...): how an HTML string is
    /// compared with a DOM.
    fn parsed(html: &str) -> String {
        let element = dom::element("div", "");
        element.set_inner_html(html);
        element.inner_html()
    }

    /// What the bubble shows: its blocks' HTML in order, without the block elements around it.
    fn shown(bubble: &web_sys::Element) -> String {
        let mut html = String::new();
        let mut blocks = 0;
        let mut child = bubble.first_element_child();
        while let Some(block) = child {
            assert_eq!(block.class_name(), "cw-block", "only blocks in the bubble");
            html.push_str(&block.inner_html());
            blocks += 1;
            child = block.next_element_sibling();
        }
        assert_eq!(
            bubble.child_nodes().length(),
            blocks,
            "no text between blocks"
        );
        html
    }

    /// A small deterministic random number generator (xorshift), so a failure can be replayed.
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// A reply that is one block of `shape` all along, of about `bytes` bytes, with inline
    /// Markdown, entities, raw HTML and multi-byte characters in it.
    fn reply(shape: &str, bytes: usize) -> String {
        let words = [
            "reply",
            "café",
            "<b>bold?</b>",
            "a & b",
            "naïve",
            "x<y",
            "日本",
        ];
        let mut text = String::new();
        match shape {
            "table" => text.push_str("| # | item | price |\n|---:|:---|:-:|\n"),
            "code" => text.push_str("```rust\n"),
            _ => {}
        }
        let mut i = 0;
        while text.len() < bytes {
            let word = words[i % words.len()];
            let other = words[(i + 3) % words.len()];
            text.push_str(&match shape {
                "list" => format!("- item {i} {word} **{other}** and `code`\n"),
                "paragraph" => format!("{word} *{other}* [link {i}](https://example.com/{i}) "),
                "code" => format!("let value_{i} = f({i}, \"{word}\"); // <{other}> &amp;\n"),
                "table" => format!("| {i} | {word} **{other}** | {i}.00 |\n"),
                _ => format!(
                    "## Part {i}\n\nSee {word} *{other}*.\n\n1. one {word}\n2. two {other}\n\n"
                ),
            });
            i += 1;
        }
        if shape == "code" {
            text.push_str("```\n");
        }
        text
    }

    /// Streams `text` in random pieces, a frame (an update) after some of them, into a bubble
    /// and into strings the way `StreamUpdate::apply_to` does: after every frame the DOM shows
    /// what the strings say, and at the end exactly the whole render.
    fn stream_in_pieces(text: &str, seed: u64) {
        let mut random = Random(seed);
        let bubble = dom::element("div", "cw-bubble");
        let mut drawn = ReplyDom::new(&bubble);
        let mut stream = MarkdownStream::new();
        let mut strings = AppliedHtml::default();
        let mut ops = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let mut end = (at + 1 + random.below(12)).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            stream.push(&text[at..end]);
            at = end;
            if random.below(3) == 0 {
                let update = stream.update();
                update.apply_to(&mut strings);
                ops.extend(update.ops);
                drawn.show(1, &ops, &update.live, None);
                assert_eq!(
                    shown(&bubble),
                    parsed(&strings.html()),
                    "after {at} bytes of {text:?}"
                );
            }
        }
        let last = stream
            .finish()
            .unwrap_or_else(|| panic!("the updates add up to the whole render of {text:?}"));
        ops.extend(last.ops);
        drawn.show(1, &ops, &last.live, None);
        assert_eq!(shown(&bubble), parsed(&render_markdown(text)), "{text:?}");
        assert!(ops.len() > 3, "it was streamed in steps: {ops:?}");
    }

    #[wasm_bindgen_test]
    fn each_shape_streamed_in_random_pieces_ends_as_the_whole_render() {
        for shape in ["list", "paragraph", "code", "table", "mixed"] {
            for (seed, bytes) in [(1, 300), (7, 900), (42, 2_000)] {
                stream_in_pieces(&reply(shape, bytes), seed);
            }
        }
    }

    #[wasm_bindgen_test]
    fn a_frame_touches_only_what_changed() {
        let bubble = dom::element("div", "");
        let mut drawn = ReplyDom::new(&bubble);
        let mut stream = MarkdownStream::new();
        let mut ops = Vec::new();
        for item in 0..50 {
            stream.push(&format!("- item {item}\n"));
            let update = stream.update();
            ops.extend(update.ops);
            drawn.show(1, &ops, &update.live, None);
        }
        let list = bubble.query_selector("ul").unwrap().expect("one list");
        let first = list.first_element_child().expect("its first item");
        stream.push("- item 50\n- item 51");
        let update = stream.update();
        ops.extend(update.ops);
        drawn.show(1, &ops, &update.live, None);
        assert!(
            first.parent_element().as_ref() == Some(&list),
            "the finished items stay as they are"
        );
        assert_eq!(list.child_element_count(), 52);
        // Nothing changed: nothing is touched.
        let before = list.last_element_child();
        drawn.show(1, &ops, &update.live, None);
        assert_eq!(list.last_element_child(), before);
    }

    #[wasm_bindgen_test]
    fn whole_html_replaces_the_steps_and_another_attempt_starts_over() {
        let bubble = dom::element("div", "");
        let mut drawn = ReplyDom::new(&bubble);
        let mut stream = MarkdownStream::new();
        stream.push("First try, *partial");
        let update = stream.update();
        drawn.show(1, &update.ops, &update.live, None);
        assert!(bubble
            .text_content()
            .unwrap_or_default()
            .contains("First try"));
        drawn.show(1, &update.ops, &update.live, Some("<p>cut short</p>"));
        assert_eq!(bubble.inner_html(), "<p>cut short</p>");
        let mut again = MarkdownStream::new();
        again.push("Second try\n\nand more");
        let update = again.update();
        drawn.show(2, &update.ops, &update.live, None);
        let text = bubble.text_content().unwrap_or_default();
        assert!(text.contains("Second try") && !text.contains("First") && !text.contains("cut"));
    }
}
