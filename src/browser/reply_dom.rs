//! A streamed reply in the DOM: the bubble is brought up to date by applying the steps
//! ([`StreamOp`]) and the live HTML that `protocol`'s `MarkdownStream` hands out, so each frame
//! costs what changed, not the size of the reply.
//!
//! The bubble's nodes are the finished blocks (each written once), then the *tail*: the shell
//! of the block being written. The tail's *slot* (the deepest last element of the shell, or the
//! bubble itself when there is no shell) holds the committed parts (items, rows, lines, words:
//! never touched again) followed by the live part, the only thing replaced on each frame. No
//! element is added around them: the final DOM is exactly the whole render's.
//!
//! The bubble's direction is what `dir="auto"` would give (its text's first strong character,
//! `ltr` while there is none), but set as an explicit `dir`: under a
//! `dir="auto"` ancestor Chromium walks the ancestor's whole subtree for every node inserted,
//! so a reply of 15,000 list items took seconds to draw. Text is only ever added after the
//! first strong character, so once found the direction stays.

use chat_widget_protocol::markdown::StreamOp;

use super::dom::insert_html;

/// What a reply's bubble shows, and how to bring it up to date ([`ReplyDom::show`]).
pub struct ReplyDom {
    bubble: web_sys::Element,
    /// The attempt drawn (Retry starts another one, drawn from scratch).
    attempt: u32,
    /// How many of the attempt's steps are in the DOM.
    applied: usize,
    /// The whole HTML is drawn (not steps).
    whole: bool,
    /// How many of the bubble's child nodes are finished blocks; the tail's follow them.
    blocks: u32,
    /// Where committed parts and the live part go.
    slot: web_sys::Element,
    /// How many of the slot's child nodes are committed; the live part's nodes follow them.
    committed: u32,
    /// The live HTML drawn.
    live: String,
    /// The bubble's `dir` is final: a committed part has a strong character.
    direction_found: bool,
    /// The page refused the HTML (its Trusted Types policy): the bubble is left to its owner,
    /// which shows the reply as text ([`ReplyDom::refused`]).
    refused: bool,
}

impl ReplyDom {
    /// Draws into `bubble`, from now on its content's only writer.
    pub fn new(bubble: &web_sys::Element) -> Self {
        bubble.set_text_content(None);
        let mut drawn = Self {
            bubble: bubble.clone(),
            attempt: 0,
            applied: 0,
            whole: false,
            blocks: 0,
            slot: bubble.clone(),
            committed: 0,
            live: String::new(),
            direction_found: false,
            refused: false,
        };
        drawn.find_direction();
        drawn
    }

    /// Brings the bubble in line with attempt `attempt` of a reply: `whole` when the reply's
    /// exact HTML replaces its steps; otherwise the steps so far (only those not yet applied
    /// are) and the live HTML at the end of the open block. Nothing is touched when nothing
    /// changed.
    pub fn show(&mut self, attempt: u32, ops: &[StreamOp], live: &str, whole: Option<&str>) {
        if self.refused {
            return;
        }
        if let Some(html) = whole {
            if !self.whole || self.attempt != attempt {
                self.start_over(attempt);
                self.bubble.set_text_content(None);
                self.insert(&self.bubble.clone(), "beforeend", html);
                self.whole = true;
                self.find_direction();
            }
            return;
        }
        if self.whole || self.attempt != attempt || ops.len() < self.applied {
            self.start_over(attempt);
            self.bubble.set_text_content(None);
            self.find_direction();
        }
        if self.applied == ops.len() && self.live == live {
            return;
        }
        self.drop_live();
        for op in &ops[self.applied..] {
            self.apply(op);
        }
        self.applied = ops.len();
        if !live.is_empty() {
            self.insert(&self.slot.clone(), "beforeend", live);
        }
        live.clone_into(&mut self.live);
        self.find_direction();
    }

    /// Whether the page refused the reply's HTML (a Trusted Types policy that does not allow
    /// the widget's): its owner then shows the reply as text.
    pub fn refused(&self) -> bool {
        self.refused
    }

    /// Inserts HTML into `element` ([`insert_html`]), noting a refusal.
    fn insert(&mut self, element: &web_sys::Element, position: &str, html: &str) {
        self.refused |= !insert_html(element, position, html);
    }

    /// Sets the bubble's `dir` from its text's first strong character, for good once it is in
    /// a committed part (the live part may still change: `&hel` becomes `…`). Until then it
    /// follows the text shown; with no strong character it is `ltr`, as `dir="auto"` gives.
    fn find_direction(&mut self) {
        if self.direction_found {
            return;
        }
        let text = self.bubble.text_content().unwrap_or_default();
        let live = if self.whole { 0 } else { self.live_text_len() };
        let committed = text.get(..text.len().saturating_sub(live)).unwrap_or("");
        let (direction, found) = match unicode_bidi::get_base_direction_full(committed) {
            unicode_bidi::Direction::Mixed => {
                (unicode_bidi::get_base_direction_full(text.as_str()), false)
            }
            direction => (direction, true),
        };
        let dir = match direction {
            unicode_bidi::Direction::Rtl => "rtl",
            _ => "ltr",
        };
        let _ = self.bubble.set_attribute("dir", dir);
        self.direction_found = found;
    }

    /// The length of the live part's text: the end of the bubble's text.
    fn live_text_len(&self) -> usize {
        let nodes = self.slot.child_nodes();
        (self.committed..nodes.length())
            .filter_map(|i| nodes.item(i)?.text_content())
            .map(|text| text.len())
            .sum()
    }

    fn start_over(&mut self, attempt: u32) {
        self.attempt = attempt;
        self.applied = 0;
        self.whole = false;
        self.blocks = 0;
        self.slot = self.bubble.clone();
        self.committed = 0;
        self.live.clear();
        self.direction_found = false;
    }

    /// Removes the live part: the slot's nodes after the committed ones.
    fn drop_live(&self) {
        remove_after(&self.slot, self.committed);
    }

    fn apply(&mut self, op: &StreamOp) {
        let count = |node: &web_sys::Element| node.child_nodes().length();
        match op {
            StreamOp::Blocks(html) => match self.bubble.child_nodes().item(self.blocks) {
                // Before the shell of the block being written (its first node is its element).
                Some(tail) => {
                    let before = count(&self.bubble);
                    if let Some(tail) = wasm_bindgen::JsCast::dyn_ref::<web_sys::Element>(&tail) {
                        self.insert(tail, "beforebegin", html);
                    }
                    self.blocks += count(&self.bubble) - before;
                }
                None => {
                    self.insert(&self.bubble.clone(), "beforeend", html);
                    self.blocks = count(&self.bubble);
                    self.committed = self.blocks;
                }
            },
            StreamOp::Shell { open, close } => {
                remove_after(&self.bubble, self.blocks);
                self.insert(
                    &self.bubble.clone(),
                    "beforeend",
                    &[open.as_str(), close].concat(),
                );
                // The slot is where `open` and `close` meet: the deepest last element.
                let mut slot = self.bubble.clone();
                if count(&self.bubble) > self.blocks {
                    while let Some(last) = slot.last_element_child() {
                        slot = last;
                    }
                }
                self.slot = slot;
                self.committed = count(&self.slot);
            }
            StreamOp::Append(html) => {
                self.insert(&self.slot.clone(), "beforeend", html);
                self.committed = count(&self.slot);
            }
            StreamOp::Seal => {
                self.blocks = count(&self.bubble);
                self.slot = self.bubble.clone();
                self.committed = self.blocks;
            }
        }
    }
}

/// Removes `parent`'s child nodes after the first `keep`.
fn remove_after(parent: &web_sys::Element, keep: u32) {
    let nodes = parent.child_nodes();
    while nodes.length() > keep {
        match parent.last_child() {
            Some(last) => {
                let _ = parent.remove_child(&last);
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new element, not in the page.
    fn div() -> web_sys::Element {
        let document = web_sys::window().unwrap().document().unwrap();
        document.create_element("div").unwrap()
    }
    use chat_widget_protocol::markdown::{render_markdown, AppliedHtml, MarkdownStream};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// HTML as the browser reads it back (`<br />` becomes `<br>`, ...): how an HTML string is
    /// compared with a DOM.
    fn parsed(html: &str) -> String {
        let element = div();
        element.set_inner_html(html);
        element.inner_html()
    }

    /// What the bubble shows.
    fn shown(bubble: &web_sys::Element) -> String {
        bubble.inner_html()
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
        let bubble = div();
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
        let bubble = div();
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
        let bubble = div();
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

    /// The computed `direction` of an element in the page.
    fn direction(element: &web_sys::Element) -> String {
        web_sys::window()
            .unwrap()
            .get_computed_style(element)
            .unwrap()
            .unwrap()
            .get_property_value("direction")
            .unwrap()
    }

    #[wasm_bindgen_test]
    fn a_reply_reads_in_the_direction_dir_auto_would_give_it() {
        let document = web_sys::window().unwrap().document().unwrap();
        let body = document.body().unwrap();
        for parent_dir in ["ltr", "rtl"] {
            for text in [
                "Order **ACM-123** ships today.",
                "שלום, **world**",
                "123, 456: مرحبا بك",
                "&amp; &hellip; שלום and English",
                "`x = 1` שלום",
                "1. one\n2. שתיים\n",
                "| # | שם |\n|---|---|\n| 1 | a |\n",
                "42 + 7 = 49",
                "",
            ] {
                let parent = div();
                parent.set_attribute("dir", parent_dir).unwrap();
                body.append_child(&parent).unwrap();
                // What the browser's own `dir="auto"` gives the whole render...
                let expected = div();
                expected.set_attribute("dir", "auto").unwrap();
                expected.set_inner_html(&render_markdown(text));
                parent.append_child(&expected).unwrap();
                // ... and the streamed bubble, frame by frame (a few bytes each).
                let bubble = div();
                parent.append_child(&bubble).unwrap();
                let mut drawn = ReplyDom::new(&bubble);
                let mut stream = MarkdownStream::new();
                let mut ops = Vec::new();
                let mut at = 0;
                while at < text.len() {
                    let mut end = (at + 3).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    stream.push(&text[at..end]);
                    at = end;
                    let update = stream.update();
                    ops.extend(update.ops);
                    drawn.show(1, &ops, &update.live, None);
                }
                if let Some(last) = stream.finish() {
                    ops.extend(last.ops);
                    drawn.show(1, &ops, &last.live, None);
                }
                assert_eq!(bubble.text_content(), expected.text_content());
                assert_eq!(
                    direction(&bubble),
                    direction(&expected),
                    "{text:?} in a {parent_dir} widget"
                );
                assert_ne!(
                    bubble.get_attribute("dir").as_deref(),
                    Some("auto"),
                    "an explicit direction, never `dir=auto` over a growing subtree"
                );
                // Drawn whole (a restored reply), it reads the same way.
                let mut whole = ReplyDom::new(&bubble);
                whole.show(1, &[], "", Some(&render_markdown(text)));
                assert_eq!(direction(&bubble), direction(&expected), "{text:?} whole");
                parent.remove();
            }
        }
    }

    #[wasm_bindgen_test]
    fn another_attempt_finds_its_direction_again() {
        let bubble = div();
        let mut drawn = ReplyDom::new(&bubble);
        let mut stream = MarkdownStream::new();
        stream.push("English first");
        let update = stream.update();
        drawn.show(1, &update.ops, &update.live, None);
        assert_eq!(bubble.get_attribute("dir").as_deref(), Some("ltr"));
        let mut again = MarkdownStream::new();
        again.push("123 ");
        let update = again.update();
        drawn.show(2, &update.ops, &update.live, None);
        assert_eq!(
            bubble.get_attribute("dir").as_deref(),
            Some("ltr"),
            "no strong character yet: left to right, as dir=auto gives"
        );
        again.push("שלום");
        let update = again.update();
        drawn.show(2, &update.ops, &update.live, None);
        assert_eq!(bubble.get_attribute("dir").as_deref(), Some("rtl"));
    }
}
