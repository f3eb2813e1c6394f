//! Streaming: renders a reply that is still arriving so that each frame costs the size of what
//! changed, not the size of the reply.
//!
//! Two levels of "finished":
//! * **Blocks.** The source is split at block boundaries that can no longer change: a blank
//!   line outside a fenced code block, followed by a line that does not continue a list, a
//!   quote or indented code. Everything before the last such boundary is rendered once.
//! * **Parts of the block being written** (the *open* block). A list's items, a table's body
//!   rows, a fenced code block's lines and a paragraph's words are committed once they can no
//!   longer change, into the open block's element (its *shell*); only the unfinished rest (the
//!   *live* part) is rendered again on the next frame. Each is rendered on its own with a
//!   little context in front (the table's header, the code block's fence, a list item, a word)
//!   that is dropped from the output.
//!
//! The result is handed out as a [`StreamUpdate`]: a few DOM steps ([`StreamOp`]) and the live
//! HTML. Applying them in order gives exactly the HTML of [`render_markdown`] of the text so
//! far (see [`StreamUpdate::apply_to`]), except while a reference-style definition or a raw
//! HTML line may still reach back ([`MarkdownStream::needs_full_render`]).

use std::borrow::Cow;

use super::render::{render_marked, BlockKind, BlockMark};
use super::{heal_unfinished_inline, render_markdown};

/// One step of bringing a reply's DOM up to date. The reply's DOM is a list of finished block
/// elements followed by one *tail* element; inside the tail, the *slot* is where committed
/// parts and the live HTML go: the deepest last element of the shell (the tail itself when the
/// shell is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamOp {
    /// Finished blocks: a new block element with this HTML, before the tail element.
    Blocks(String),
    /// Replaces the tail element's content with `open` + `close` (an empty element such as
    /// `<ul>\n` + `</ul>\n`); the slot is where they meet.
    Shell {
        /// The shell's HTML up to the slot's content.
        open: String,
        /// The shell's HTML after the slot's content.
        close: String,
    },
    /// Finished parts (items, rows, lines, words): appended in the slot, before the live part.
    Append(String),
    /// The tail element is finished as it stands (its live part is empty): it becomes a block
    /// element, and a new, empty tail element follows it.
    Seal,
}

/// What changed since the last update: apply `ops` in order, then replace the live part of the
/// slot (everything after the committed parts) with `live`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamUpdate {
    /// The steps, in order.
    pub ops: Vec<StreamOp>,
    /// The HTML of the unfinished rest, at the end of the slot.
    pub live: String,
}

/// A reply's HTML built by applying updates to strings, the way the widget applies them to the
/// DOM: for tests and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct AppliedHtml {
    blocks: String,
    open: String,
    appended: String,
    live: String,
    close: String,
}

impl AppliedHtml {
    /// The whole HTML so far.
    pub fn html(&self) -> String {
        [
            self.blocks.as_str(),
            &self.open,
            &self.appended,
            &self.live,
            &self.close,
        ]
        .concat()
    }
}

impl StreamUpdate {
    /// Applies this update to `html` (see [`AppliedHtml`]).
    pub fn apply_to(&self, html: &mut AppliedHtml) {
        for op in &self.ops {
            match op {
                StreamOp::Blocks(blocks) => html.blocks.push_str(blocks),
                StreamOp::Shell { open, close } => {
                    (html.open, html.close) = (open.clone(), close.clone());
                    html.appended.clear();
                }
                StreamOp::Append(part) => html.appended.push_str(part),
                StreamOp::Seal => {
                    let sealed = [html.open.as_str(), &html.appended, &html.close].concat();
                    html.blocks.push_str(&sealed);
                    html.open.clear();
                    html.appended.clear();
                    html.close.clear();
                }
            }
        }
        html.live.clone_from(&self.live);
    }
}

/// The block being written, when its finished parts are committed one by one.
#[derive(Debug, Clone)]
struct Open {
    kind: OpenKind,
    /// Source before this offset is in the shell; the rest is the live part.
    inner: usize,
    /// Source put in front of the live part when rendering it, dropped from the output.
    context: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    List {
        ordered: bool,
        loose: bool,
    },
    Table,
    /// A fenced code block: its fence character and length.
    Fenced(u8, usize),
    Paragraph,
}

/// Renders a reply that is still arriving, without re-rendering all of it on every frame.
///
/// [`MarkdownStream::update`] (each frame) and [`MarkdownStream::finish`] (at the end) hand out
/// [`StreamUpdate`]s; see the docs of `markdown/stream.rs`. The older block-level API
/// ([`MarkdownStream::take_committed_html`] and [`MarkdownStream::tail_html`]) still works;
/// use one or the other for a stream, not both.
#[derive(Debug, Clone, Default)]
pub struct MarkdownStream {
    source: String,
    committed: usize,
    scanner: Scanner,
    open: Option<Open>,
    /// Whether the tail element has a shell (so going back to none needs an empty one).
    shelled: bool,
    /// Whether any part was committed into an open block.
    appended_any: bool,
}

impl MarkdownStream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends text as it arrives.
    pub fn push(&mut self, text: &str) {
        self.source.push_str(text);
    }

    /// All the text so far.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// HTML for the blocks that became final since the last call, if any.
    pub fn take_committed_html(&mut self) -> Option<String> {
        let boundary = self.scanner.scan(&self.source, self.committed)?;
        let html = render_markdown(&self.source[self.committed..boundary]);
        self.committed = boundary;
        Some(html)
    }

    /// HTML for the block still being written. Inline markers the text has opened but not
    /// yet closed are closed for this render only (see [`heal_unfinished_inline`]), so `**bo`
    /// shows as bold text rather than flashing raw asterisks until `ld**` arrives.
    pub fn tail_html(&self) -> String {
        render_markdown(&heal_unfinished_inline(&self.source[self.committed..]))
    }

    /// HTML of everything so far, healed like the tail: for a reply that ended early
    /// (stopped or broken off).
    pub fn partial_html(&self) -> String {
        render_markdown(&heal_unfinished_inline(&self.source))
    }

    /// Whether rendering the committed parts and the rest separately can differ from rendering
    /// the whole text at once: reference-style definitions (`[id]: url`) reach back across
    /// blocks, and a raw-HTML start may open a block that spans blank lines. When this is
    /// false, the updates add up to exactly the full render.
    pub fn needs_full_render(&self) -> bool {
        (self.committed > 0 || self.appended_any)
            && self.source.lines().any(|line| {
                // Also inside quotes and list items.
                let line = line.trim_start_matches([
                    ' ', '\t', '>', '-', '*', '+', '.', ')', '0', '1', '2', '3', '4', '5', '6',
                    '7', '8', '9',
                ]);
                line.starts_with('<') || line.contains("]:")
            })
    }

    /// The tail rendered exactly as it stands (no healing), for a reply that is complete.
    pub fn final_tail_html(&self) -> String {
        render_markdown(&self.source[self.committed..])
    }

    /// How many bytes of the source are still re-rendered each frame.
    pub fn tail_len(&self) -> usize {
        self.source.len() - self.open.as_ref().map_or(self.committed, |open| open.inner)
    }

    /// What changed since the last update, for a reply still arriving: unfinished inline
    /// markers in the live part are closed for this render only.
    pub fn update(&mut self) -> StreamUpdate {
        self.step(true)
    }

    /// The last update of a complete reply: its live part is rendered exactly as it stands.
    /// `None` when the updates cannot add up to the full render
    /// ([`MarkdownStream::needs_full_render`]): use [`render_markdown`] of the whole source.
    pub fn finish(&mut self) -> Option<StreamUpdate> {
        let update = self.step(false);
        (!self.needs_full_render()).then_some(update)
    }

    fn step(&mut self, heal: bool) -> StreamUpdate {
        let mut ops = Vec::new();
        if let Some(boundary) = self.scanner.scan(&self.source, self.committed) {
            match self.open.take() {
                Some(open) => self.close(open, boundary, &mut ops),
                None => {
                    ops.push(StreamOp::Blocks(render_markdown(
                        &self.source[self.committed..boundary],
                    )));
                    self.committed = boundary;
                }
            }
        }
        // Each round either returns, closes a block (the tail gets shorter) or gives up on
        // opening one for this update.
        let mut may_open = true;
        loop {
            let live = match self.open.clone() {
                Some(open) => self.continue_open(open, heal, &mut ops),
                None => self.establish(heal, may_open, &mut ops),
            };
            match live {
                Ok(live) => return StreamUpdate { ops, live },
                Err(Retry::Reopen) => may_open = false,
                Err(Retry::Closed) => {}
            }
        }
    }

    /// The tail has no open block: renders it whole, and opens its block if it has one whose
    /// parts can be committed.
    fn establish(
        &mut self,
        heal: bool,
        may_open: bool,
        ops: &mut Vec<StreamOp>,
    ) -> Result<String, Retry> {
        let tail = &self.source[self.committed..];
        let (html, marks) = render_marked(tail);
        if let ([mark], true) = (marks.as_slice(), may_open) {
            if let Some((open, parts)) = open_block(tail, &html, mark, self.committed) {
                ops.push(StreamOp::Shell {
                    open: html[mark.html.start..mark.inner.start].to_owned(),
                    close: html[mark.inner.end..mark.html.end].to_owned(),
                });
                self.shelled = true;
                if !parts.is_empty() {
                    ops.push(StreamOp::Append(parts));
                    self.appended_any = true;
                }
                self.open = Some(open.clone());
                return self.continue_open(open, heal, ops);
            }
        }
        if self.shelled {
            ops.push(StreamOp::Shell {
                open: String::new(),
                close: String::new(),
            });
            self.shelled = false;
        }
        Ok(if heal {
            render_markdown(&heal_unfinished_inline(tail))
        } else {
            html
        })
    }

    /// Renders the open block's live part; commits the parts that became final. `Err` when the
    /// block ended (closed: go on with the next one) or changed kind (reopened from scratch).
    fn continue_open(
        &mut self,
        open: Open,
        heal: bool,
        ops: &mut Vec<StreamOp>,
    ) -> Result<String, Retry> {
        let live_source = &self.source[open.inner..];
        let healed = match open.kind {
            OpenKind::Fenced(..) => Cow::Borrowed(live_source),
            _ if heal => heal_unfinished_inline(live_source),
            _ => Cow::Borrowed(live_source),
        };
        let text = [open.context.as_str(), &healed].concat();
        let (html, marks) = render_marked(&text);
        let Some(first) = marks.first().filter(|mark| continues(&open, &text, mark)) else {
            // It changed kind or shape: render the tail from scratch.
            self.open = None;
            return Err(Retry::Reopen);
        };
        // Another block after it, on a finished line: the open block is over. A table is one
        // only once its delimiter row (its second line) is finished too: until then the next
        // character may make both lines the open paragraph's (`- |-` is a delimiter row,
        // `- |->` is not).
        if let Some(second) = marks.get(1) {
            let lines = if second.kind == BlockKind::Table {
                2
            } else {
                1
            };
            if !heal || text[second.source.start..].matches('\n').count() >= lines {
                // Blocks start at a line's start (a range may leave out the indentation).
                let line_start = text[..second.source.start]
                    .rfind('\n')
                    .map_or(0, |at| at + 1);
                let end = open.inner + line_start.max(open.context.len()) - open.context.len();
                self.open = None;
                self.close(open, end, ops);
                return Err(Retry::Closed);
            }
        }
        let skip = usize::from(matches!(open.kind, OpenKind::List { loose: true, .. }));
        let (inner_html, commit) = match open.kind {
            OpenKind::List { .. } | OpenKind::Table => {
                let parts = &first.parts[skip.min(first.parts.len())..];
                let start = parts.first().map_or(first.inner.start, |part| part.1.start);
                // A part is final once the part after it starts on a finished line; a table
                // row once its line is finished.
                let finished = parts
                    .iter()
                    .enumerate()
                    .take_while(|(i, part)| match open.kind {
                        OpenKind::Table => text[part.0.start..].contains('\n'),
                        _ => parts.get(i + 1).is_some_and(|next| {
                            text[next.0.start..].contains('\n')
                                && !tightness_unknown(open.kind, &text[part.0.start..next.0.start])
                        }),
                    })
                    .count();
                let finished = if heal { finished } else { 0 };
                match finished.checked_sub(1).map(|i| &parts[i]) {
                    Some(last) => {
                        let source_end = match open.kind {
                            OpenKind::Table => line_end(&text, last.0.start),
                            _ => parts[finished].0.start,
                        };
                        (start..first.inner.end, Some((last.1.end, source_end)))
                    }
                    None => (start..first.inner.end, None),
                }
            }
            OpenKind::Fenced(..) => {
                let start = first.inner.start;
                // Every finished line of code is final (a closing fence would have ended it).
                let code = &html[start..first.inner.end];
                let lines = if heal {
                    text[open.context.len()..].matches('\n').count()
                } else {
                    0
                };
                let split = code
                    .match_indices('\n')
                    .nth(lines.wrapping_sub(1))
                    .map(|(at, _)| start + at + 1);
                let source_end = text.rfind('\n').map(|at| at + 1);
                match (lines, split, source_end) {
                    (1.., Some(split), Some(source_end)) => {
                        (start..first.inner.end, Some((split, source_end)))
                    }
                    _ => (start..first.inner.end, None),
                }
            }
            OpenKind::Paragraph => {
                // (An empty live part leaves only the context's word, without its space.)
                let start = (first.inner.start + open.context.len()).min(first.inner.end);
                // Split the text as it arrived, not as healed (closers are not words).
                let raw = [open.context.as_str(), &self.source[open.inner..]].concat();
                let commit = if heal {
                    paragraph_split(&raw, open.context.len())
                } else {
                    None
                };
                match commit {
                    Some(split) => {
                        // Render the finished words on their own, with the separator after them.
                        let words = &raw[..split];
                        let (words_html, words_marks) = render_marked(words);
                        match words_marks.as_slice() {
                            [mark] if mark.kind == BlockKind::Paragraph => {
                                let mut part = words_html
                                    [mark.inner.start + open.context.len()..mark.inner.end]
                                    .to_owned();
                                part.push_str(&raw[split..split + 1]);
                                ops.push(StreamOp::Append(part));
                                self.appended_any = true;
                                let inner = open.inner + split + 1 - open.context.len();
                                self.open = Some(Open {
                                    inner,
                                    context: PARAGRAPH_CONTEXT.to_owned(),
                                    ..open
                                });
                                return self.continue_open(
                                    self.open.clone().expect("set"),
                                    heal,
                                    ops,
                                );
                            }
                            _ => (start..first.inner.end, None),
                        }
                    }
                    None => (start..first.inner.end, None),
                }
            }
        };
        let html_range = inner_html;
        match commit {
            Some((html_end, source_end)) if html_end > html_range.start => {
                ops.push(StreamOp::Append(
                    html[html_range.start..html_end].to_owned(),
                ));
                self.appended_any = true;
                let consumed = source_end - open.context.len();
                let mut next = Open {
                    inner: open.inner + consumed,
                    ..open
                };
                if let OpenKind::List { .. } = next.kind {
                    next.context =
                        list_context(&self.source[open.inner..open.inner + consumed], next.kind);
                }
                let live = html[html_end..html_range.end].to_owned();
                self.open = Some(next);
                Ok(live)
            }
            _ => {
                self.open = Some(open);
                Ok(html[html_range].to_owned())
            }
        }
    }

    /// Ends the open block at `end` (a source offset): its rest is committed into the shell,
    /// the tail element is sealed, and any whole blocks up to `end` follow it.
    fn close(&mut self, open: Open, end: usize, ops: &mut Vec<StreamOp>) {
        let rest = &self.source[open.inner..end];
        let text = [open.context.as_str(), rest].concat();
        let (html, marks) = render_marked(&text);
        match marks.first().filter(|mark| continues(&open, &text, mark)) {
            Some(first) => {
                let skip = usize::from(matches!(open.kind, OpenKind::List { loose: true, .. }));
                let start = match open.kind {
                    OpenKind::List { .. } | OpenKind::Table => first
                        .parts
                        .get(skip)
                        .map_or(first.inner.end, |part| part.1.start),
                    OpenKind::Paragraph => {
                        (first.inner.start + open.context.len()).min(first.inner.end)
                    }
                    OpenKind::Fenced(..) => first.inner.start,
                };
                if start < first.inner.end {
                    ops.push(StreamOp::Append(html[start..first.inner.end].to_owned()));
                    self.appended_any = true;
                }
                ops.push(StreamOp::Seal);
                self.shelled = false;
                if first.html.end < html.len() {
                    ops.push(StreamOp::Blocks(html[first.html.end..].to_owned()));
                }
            }
            None => {
                // Cannot happen for a block that was checked when opened; render it whole.
                ops.push(StreamOp::Shell {
                    open: render_markdown(&self.source[self.committed..end]),
                    close: String::new(),
                });
                ops.push(StreamOp::Seal);
                self.shelled = false;
            }
        }
        self.committed = end;
        self.scanner = Scanner {
            pos: end,
            ..Scanner::default()
        };
    }
}

/// Why an update goes another round.
enum Retry {
    /// The open block ended; the tail now starts after it.
    Closed,
    /// The open block changed kind or shape; the tail is rendered from scratch.
    Reopen,
}

/// Whether a render of an open block's context and live part is still that block.
fn continues(open: &Open, text: &str, mark: &BlockMark) -> bool {
    match (open.kind, mark.kind) {
        (
            OpenKind::List {
                ordered,
                loose: false,
            },
            BlockKind::List {
                ordered: o,
                loose: false,
            },
        ) => {
            ordered == o
                && mark.source.start == 0
                && mark.parts.first().is_some_and(|part| part.0.start == 0)
        }
        (
            OpenKind::List {
                ordered,
                loose: true,
            },
            BlockKind::List { ordered: o, .. },
        ) => {
            ordered == o
                && mark
                    .parts
                    .get(1)
                    .is_some_and(|part| part.0.start == open.context.len())
        }
        (OpenKind::Table, BlockKind::Table) => mark.source.start == 0,
        (OpenKind::Fenced(..), BlockKind::Fenced) => mark.source.start == 0,
        (OpenKind::Paragraph, BlockKind::Paragraph) => {
            mark.source.start == 0 && text.len() >= open.context.len()
        }
        _ => false,
    }
}

/// Opens the tail's only block, if it is one whose parts can be committed: the open state and
/// the HTML of the parts already final.
fn open_block(
    tail: &str,
    html: &str,
    mark: &BlockMark,
    committed: usize,
) -> Option<(Open, String)> {
    let start = tail.len() - tail.trim_start_matches([' ', '\t']).len();
    if mark.source.start != start {
        return None;
    }
    match mark.kind {
        BlockKind::List { ordered, loose } => {
            let kind = OpenKind::List { ordered, loose };
            let finished = mark
                .parts
                .windows(2)
                .take_while(|pair| {
                    tail[pair[1].0.start..].contains('\n')
                        && !tightness_unknown(kind, &tail[pair[0].0.start..pair[1].0.start])
                })
                .count();
            if finished == 0 {
                return None;
            }
            let end = mark.parts[finished].0.start;
            let html = html[mark.inner.start..mark.parts[finished - 1].1.end].to_owned();
            let context = list_context(&tail[..end], kind);
            Some((
                Open {
                    kind,
                    inner: committed + end,
                    context,
                },
                html,
            ))
        }
        BlockKind::Table => {
            // The header and delimiter rows are the context of every later row.
            let header = line_end(tail, 0);
            let delimiter = line_end(tail, header);
            if delimiter <= header || !tail[..delimiter].ends_with('\n') {
                return None;
            }
            let open = Open {
                kind: OpenKind::Table,
                inner: committed + delimiter,
                context: tail[..delimiter].to_owned(),
            };
            Some((open, String::new()))
        }
        BlockKind::Fenced => {
            let fence = line_end(tail, 0);
            if !tail[..fence].ends_with('\n') {
                return None;
            }
            let line = tail[..fence].trim_start_matches(' ');
            let char = *line.as_bytes().first()?;
            let len = line.bytes().take_while(|&b| b == char).count();
            let open = Open {
                kind: OpenKind::Fenced(char, len),
                inner: committed + fence,
                context: tail[..fence].to_owned(),
            };
            Some((open, String::new()))
        }
        BlockKind::Paragraph => {
            // Its first line must already show it is a paragraph: more characters could still
            // make `_ _` a rule or `<b x` an HTML block, which the live part alone (after a word
            // of context) would not see.
            let first_line = &tail[start..line_end(tail, start)];
            let words = first_line.split_whitespace().nth(1).is_some();
            let not_a_rule = first_line
                .trim()
                .bytes()
                .any(|b| !matches!(b, b'-' | b'_' | b'*' | b' ' | b'\t'));
            if !words || !not_a_rule || first_line.starts_with('<') {
                return None;
            }
            // No context until words are committed: the first line must be seen as it is (it may
            // still become a table's header).
            let open = Open {
                kind: OpenKind::Paragraph,
                inner: committed + start,
                context: String::new(),
            };
            Some((open, String::new()))
        }
        BlockKind::Other => None,
    }
}

/// Whether an item of a list that renders tight, followed by a blank line, may not be final:
/// the blank line makes the list loose (CommonMark), which shows only once some item has a
/// paragraph, so the next items rendered without it would come out tight.
fn tightness_unknown(kind: OpenKind, item: &str) -> bool {
    let OpenKind::List { loose: false, .. } = kind else {
        return false;
    };
    let body = item.strip_suffix('\n').unwrap_or(item);
    let last_line = body.rsplit('\n').next().unwrap_or(body);
    body.contains('\n') && last_line.trim().is_empty()
}

/// Put before a paragraph's live part: a word, so its first line cannot start a block, and a
/// space, so its first character has a space before it as it does in the whole text.
const PARAGRAPH_CONTEXT: &str = "x ";

/// The context for a list's live items: for a loose list, an item like the last finished one
/// (its marker and indentation) and a blank line, so the live items render loose too.
fn list_context(finished: &str, kind: OpenKind) -> String {
    let OpenKind::List { loose: true, .. } = kind else {
        return String::new();
    };
    // The last finished item starts at the last line that starts at the list's indentation
    // with a marker; the live part only ever follows whole items, so scan back for one.
    let marker_line = finished
        .split_inclusive('\n')
        .rfind(|line| {
            let trimmed = line.trim_start_matches(' ');
            line.len() - trimmed.len() < 4 && list_marker_width(trimmed).is_some()
        })
        .unwrap_or("- ");
    let indent = marker_line.len() - marker_line.trim_start_matches(' ').len();
    let trimmed = &marker_line[indent..];
    let width = list_marker_width(trimmed).unwrap_or(1);
    let spaces = trimmed[width..].len() - trimmed[width..].trim_start_matches(' ').len();
    let spaces = if trimmed[width..].trim().is_empty() {
        1
    } else {
        spaces.clamp(1, 4)
    };
    format!(
        "{}{}{}x\n\n",
        &marker_line[..indent],
        &trimmed[..width],
        " ".repeat(spaces)
    )
}

/// The width of a list marker at the start of `line` (`-`, `*`, `+`, `1.`, `1)`).
fn list_marker_width(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let width = match bytes.first()? {
        b'-' | b'*' | b'+' => 1,
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            (digits <= 9 && matches!(bytes.get(digits), Some(b'.' | b')'))).then_some(digits + 1)?
        }
        _ => return None,
    };
    matches!(bytes.get(width), None | Some(b' ' | b'\t' | b'\n' | b'\r')).then_some(width)
}

/// The offset after the line that contains `at` (or the end of the text).
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// Where a paragraph's live text can be split: the offset of a space or line break after which
/// nothing before can change, or `None`. `text` is the context and the live text; the split
/// is after `from`.
///
/// The words before the split are final when no construct they open can close later: no code
/// span, link bracket, raw HTML or autolink start left open, no emphasis run that may still
/// open, and no `|` (the line could still become a table's header).
fn paragraph_split(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut brackets = 0usize;
    let mut parens = 0usize;
    let mut candidates = Vec::new();
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => i += 1,
            b'`' | b'|' => break,
            b'<' if bytes
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?')) =>
            {
                break
            }
            b'[' => brackets += 1,
            b']' if brackets > 0 => {
                brackets -= 1;
                if bytes.get(i + 1) == Some(&b'(') {
                    parens += 1;
                    i += 1;
                }
            }
            b'(' if parens > 0 => parens += 1,
            b')' if parens > 0 => parens -= 1,
            // Not at a line break: the next line would then follow the context's word, and a
            // line that becomes a table's header must be seen whole.
            b' ' if brackets == 0 && parens == 0 => {
                let before = bytes[i - 1];
                let after = bytes.get(i + 1);
                // Not right after a line's first word either: it may be a block marker (`*`,
                // `1.`, `#`) whose block only starts once content follows.
                let line_start = text[..i].rfind('\n').map_or(0, |at| at + 1);
                let second_word = text[line_start..i].trim_start().contains([' ', '\t']);
                if !matches!(before, b' ' | b'\n' | b'\\' | b'\t')
                    && after.is_some_and(|c| !c.is_ascii_whitespace())
                    && i + 2 < bytes.len()
                    && second_word
                {
                    candidates.push(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    // Emphasis is checked on the candidates by pulldown-cmark's own parse, latest first; a
    // run that may still open rules out every split after it.
    let mut limit = usize::MAX;
    while let Some(&split) = candidates.iter().rev().find(|&&at| at < limit) {
        match open_emphasis(&text[..split]) {
            None => return Some(split),
            Some(at) => limit = at,
        }
    }
    None
}

/// The offset of the first emphasis or strikethrough run in a paragraph's text that was left
/// as text but could still open (a later closer could match it), if any.
fn open_emphasis(text: &str) -> Option<usize> {
    use pulldown_cmark::{Event, Parser};
    let bytes = text.as_bytes();
    for (event, range) in Parser::new_ext(text, super::render::options()).into_offset_iter() {
        if let Event::Text(_) = event {
            let mut i = range.start;
            while i < range.end {
                let b = bytes[i];
                if matches!(b, b'*' | b'_' | b'~') && (i == 0 || bytes[i - 1] != b'\\') {
                    let run = bytes[i..].iter().take_while(|&&c| c == b).count();
                    let after = text[i + run..].chars().next();
                    let before = text[..i].chars().next_back();
                    // A run can open only if the character after it is not white space.
                    if after.is_some_and(|c| !c.is_whitespace())
                        && !(b == b'_' && before.is_some_and(char::is_alphanumeric))
                    {
                        return Some(i);
                    }
                    i += run;
                } else {
                    i += 1;
                }
            }
        }
    }
    None
}

/// Finds block boundaries incrementally: each finished line is read once.
#[derive(Debug, Clone, Default)]
struct Scanner {
    /// Where the next line to read starts.
    pos: usize,
    fence: Option<(char, usize)>,
    pending_blank: bool,
    boundary: Option<usize>,
}

impl Scanner {
    /// The offset of the line after the last blank line that ends a block for good, if it is
    /// after `committed`. The text from `committed` always starts at a block boundary outside
    /// any fence.
    fn scan(&mut self, source: &str, committed: usize) -> Option<usize> {
        self.pos = self.pos.max(committed);
        while let Some(len) = source[self.pos..].find('\n') {
            let start = self.pos;
            let line = &source[start..start + len + 1];
            self.pos = start + len + 1;
            let content = line.trim_end_matches(['\n', '\r']);
            let trimmed = content.trim_start_matches(' ');
            let indent = content.len() - trimmed.len();
            if let Some((fence_char, fence_len)) = self.fence {
                let run = trimmed.chars().take_while(|&c| c == fence_char).count();
                // pulldown-cmark allows only spaces after a closing fence (not a tab).
                if indent < 4 && run >= fence_len && trimmed[run..].bytes().all(|b| b == b' ') {
                    self.fence = None;
                }
                continue;
            }
            if content.trim().is_empty() {
                self.pending_blank = true;
                continue;
            }
            if std::mem::take(&mut self.pending_blank) && !continues_previous_block(content) {
                self.boundary = Some(start);
            }
            if indent < 4 {
                for fence_char in ['`', '~'] {
                    let run = trimmed.chars().take_while(|&c| c == fence_char).count();
                    // A backtick fence's info string has no backtick (else it is a code span).
                    if run >= 3 && !(fence_char == '`' && trimmed[run..].contains('`')) {
                        self.fence = Some((fence_char, run));
                    }
                }
            }
        }
        // An unfinished line decides only when its start already shows a new block.
        let line = &source[self.pos..];
        let mut boundary = self.boundary;
        if self.fence.is_none() && self.pending_blank {
            let first = line.trim_start().chars().next();
            let may_become_list =
                first.is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '*' | '+'));
            if first.is_some() && !may_become_list && !continues_previous_block(line) {
                boundary = Some(self.pos);
            }
        }
        boundary.filter(|&b| b > committed)
    }
}

/// Whether a line after a blank line may still belong to the block before it.
fn continues_previous_block(line: &str) -> bool {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    if indent >= 2 || line.starts_with('\t') || trimmed.starts_with('>') {
        return true;
    }
    // A list marker is followed by white space or ends the line (an empty item: `-`).
    let mut chars = trimmed.chars();
    let bullet = matches!(chars.next(), Some('-' | '*' | '+'))
        && chars.next().is_none_or(char::is_whitespace);
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    let ordered = digits > 0 && matches!(trimmed[digits..].chars().next(), Some('.' | ')'));
    bullet || ordered
}
