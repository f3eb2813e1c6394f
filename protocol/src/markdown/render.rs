//! Writes pulldown-cmark's events as HTML (or plain text), applying the safety rules of the
//! module docs on the way. The HTML has the shape of pulldown-cmark's own `html::push_html`
//! (newlines between blocks, `<br />`, `<hr />`, tables with `<thead>` and `<tbody>`), which
//! the stylesheet and the tests expect; it differs only where a rule says so.
//!
//! The writer also notes where, in its output, each top-level block and each direct child of
//! the first one (a list's items, a table's body rows) start and end: the streaming renderer
//! (`stream.rs`) uses those marks to hand out the finished parts of a block still being written.

use std::borrow::Cow;
use std::ops::Range;

use linkify::{LinkFinder, LinkKind};
use pulldown_cmark::utils::TextMergeWithOffset;
use pulldown_cmark::{Alignment, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};
use pulldown_cmark_escape::{escape_href, escape_html, escape_html_body_text};

use super::{allowed_url, IMAGE_SCHEMES, LINK_SCHEMES};

/// Quotes and lists nest at most this deep; deeper ones lose their tags (their content stays).
pub(super) const MAX_DEPTH: usize = 32;

/// The Markdown dialect: CommonMark plus GitHub's tables and strikethrough.
pub(super) fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// What a top-level block is, as far as streaming cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BlockKind {
    /// A list: `ordered`, and whether it is loose (its items' paragraphs have `<p>`).
    List {
        ordered: bool,
        loose: bool,
    },
    Table,
    /// A fenced code block.
    Fenced,
    Paragraph,
    Other,
}

/// One top-level block as written: its source range, and in the output its whole extent
/// (`html`) and the part between its outer start and end tags (`inner`).
#[derive(Debug, Clone)]
pub(super) struct BlockMark {
    pub kind: BlockKind,
    pub source: Range<usize>,
    pub html: Range<usize>,
    pub inner: Range<usize>,
    /// For the first top-level block only: its items or body rows, as (source, html) ranges.
    pub parts: Vec<(Range<usize>, Range<usize>)>,
}

/// Renders Markdown as HTML, or as plain text with a space wherever a block or inline element
/// ends.
pub(super) fn render(markdown: &str, plain: bool) -> String {
    let mut writer = Writer::new(plain, markdown.len());
    writer.run(&limit_nesting(markdown), false);
    writer.out
}

/// Renders Markdown as HTML and returns the marks of its top-level blocks. When the text had
/// to be changed first ([`limit_nesting`]), the one mark covers it all and says nothing about
/// its shape.
pub(super) fn render_marked(markdown: &str) -> (String, Vec<BlockMark>) {
    let mut writer = Writer::new(false, markdown.len());
    let limited = limit_nesting(markdown);
    writer.run(&limited, matches!(limited, Cow::Borrowed(_)));
    if let Cow::Owned(_) = limited {
        let all = 0..writer.out.len();
        let mark = BlockMark {
            kind: BlockKind::Other,
            source: 0..markdown.len(),
            html: all.clone(),
            inner: all,
            parts: Vec::new(),
        };
        writer.marks = vec![mark];
    }
    (writer.out, writer.marks)
}

/// At most this many quote and list markers start a line; more are dropped before parsing.
/// Nothing past [`MAX_DEPTH`] is shown as nesting anyway, and pulldown-cmark's time grows
/// with the square of the nesting (50,000 `>` took half a second).
const MAX_MARKERS: usize = 2 * MAX_DEPTH;

/// The text with every line's quote and list markers past [`MAX_MARKERS`] removed.
fn limit_nesting(markdown: &str) -> Cow<'_, str> {
    let mut limited = String::new();
    let mut copied = 0;
    let mut line_start = 0;
    for line in markdown.split_inclusive('\n') {
        if let Some(cut) = excess_markers(line) {
            limited.push_str(&markdown[copied..line_start + cut.start]);
            copied = line_start + cut.end;
        }
        line_start += line.len();
    }
    if copied == 0 {
        return Cow::Borrowed(markdown);
    }
    limited.push_str(&markdown[copied..]);
    Cow::Owned(limited)
}

/// The range of a line's markers past [`MAX_MARKERS`], if it has that many.
fn excess_markers(line: &str) -> Option<Range<usize>> {
    let bytes = line.as_bytes();
    let (mut i, mut count, mut cut) = (0, 0, 0);
    loop {
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let width = match bytes.get(i) {
            Some(b'>') => 1,
            Some(b'-' | b'*' | b'+') => 1,
            Some(b'0'..=b'9') => {
                let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 9 || !matches!(bytes.get(i + digits), Some(b'.' | b')')) {
                    break;
                }
                digits + 1
            }
            _ => break,
        };
        if bytes[i] != b'>' && !matches!(bytes.get(i + width), Some(b' ' | b'\t')) {
            break;
        }
        i += width;
        count += 1;
        if count == MAX_MARKERS {
            cut = i;
        }
    }
    (count > MAX_MARKERS).then_some(cut..i)
}

struct Writer {
    out: String,
    plain: bool,
    /// Whether the output ends with a newline (pulldown-cmark starts blocks on a new line).
    end_newline: bool,
    /// For each open link: whether its anchor was written.
    anchors: Vec<bool>,
    /// Inside a code block (its text is never linked).
    in_code: bool,
    /// For each open quote, list or item: whether it is an item, and whether its tags are
    /// written (see [`MAX_DEPTH`]).
    containers: Vec<(bool, bool)>,
    alignments: Vec<Alignment>,
    cell: usize,
    in_head: bool,
    /// Nesting of all blocks, to find the top-level ones.
    depth: usize,
    marks: Vec<BlockMark>,
    part_start: Option<(usize, usize)>,
}

impl Writer {
    fn new(plain: bool, len: usize) -> Self {
        Self {
            out: String::with_capacity(len + len / 2),
            plain,
            end_newline: true,
            anchors: Vec::new(),
            in_code: false,
            containers: Vec::new(),
            alignments: Vec::new(),
            cell: 0,
            in_head: false,
            depth: 0,
            marks: Vec::new(),
            part_start: None,
        }
    }

    fn write(&mut self, s: &str) {
        if !self.plain && !s.is_empty() {
            self.out.push_str(s);
            self.end_newline = s.ends_with('\n');
        }
    }

    /// A block's start tag, on a new line.
    fn block(&mut self, tag: &str) {
        if !self.end_newline {
            self.write("\n");
        }
        self.write(tag);
    }

    /// An end tag; in plain text, a space.
    fn end(&mut self, tag: &str) {
        if !self.plain {
            self.write(tag);
        } else if !self.out.is_empty() && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
    }

    fn text(&mut self, text: &str) {
        let text = clean(text);
        let text = text.as_ref();
        if self.plain {
            self.out.push_str(text);
        } else if !text.is_empty() {
            let _ = escape_html_body_text(&mut self.out, text);
            self.end_newline = text.ends_with('\n');
        }
    }

    /// Text of a paragraph, heading or cell: the web addresses and email addresses in it
    /// become links, as GitHub's Markdown does (bots write bare URLs), under the same rules as
    /// written links (http, https and mailto only, target and rel). Not inside a link or code.
    fn prose(&mut self, text: &str) {
        if self.plain || self.in_code || !self.anchors.is_empty() {
            return self.text(text);
        }
        let mut finder = LinkFinder::new();
        finder.url_must_have_scheme(true);
        for span in finder.spans(text) {
            let href = match span.kind() {
                Some(LinkKind::Url) => allowed_url(span.as_str(), &LINK_SCHEMES),
                Some(LinkKind::Email) => Some(span.as_str().trim()),
                _ => None,
            };
            let Some(href) = href else {
                self.text(span.as_str());
                continue;
            };
            self.open_anchor(span.kind() == Some(&LinkKind::Email), href, "");
            self.text(span.as_str());
            self.write("</a>");
        }
    }

    /// `<a href=…>` for an allowed link (`mailto:` put in front of an email address), with its
    /// title if any, opening in a new tab without the opener.
    fn open_anchor(&mut self, email: bool, href: &str, title: &str) {
        self.write(if email {
            "<a href=\"mailto:"
        } else {
            "<a href=\""
        });
        let _ = escape_href(&mut self.out, href);
        self.write("\"");
        if !title.is_empty() {
            self.attribute(" title=\"", title);
        }
        self.write(" target=\"_blank\" rel=\"noopener noreferrer\">");
    }

    fn attribute(&mut self, name: &str, value: &str) {
        self.write(name);
        if !self.plain {
            let _ = escape_html(&mut self.out, &clean(value));
        }
        self.write("\"");
    }

    /// How many quotes and lists are open.
    fn levels(&self) -> usize {
        self.containers.iter().filter(|(item, _)| !item).count()
    }

    fn run(&mut self, markdown: &str, marked: bool) {
        // Raw HTML, block or inline, is shown as text (an HTML block is a paragraph). Text comes
        // in one piece, so that an address is found whole (the parser splits text at
        // characters such as `_` and `&`).
        let parsed = Parser::new_ext(markdown, options()).into_offset_iter().map(
            |(event, range)| match event {
                Event::Html(html) | Event::InlineHtml(html) => (Event::Text(html), range),
                event => (event, range),
            },
        );
        let mut events = TextMergeWithOffset::new(parsed);
        while let Some((event, range)) = events.next() {
            let top = marked && self.depth == 0 && matches!(event, Event::Start(_) | Event::Rule);
            if top {
                let kind = match &event {
                    Event::Start(Tag::List(start)) => BlockKind::List {
                        ordered: start.is_some(),
                        loose: false,
                    },
                    Event::Start(Tag::Table(_)) => BlockKind::Table,
                    Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => BlockKind::Fenced,
                    Event::Start(Tag::Paragraph) => BlockKind::Paragraph,
                    _ => BlockKind::Other,
                };
                let at = self.out.len() + usize::from(!self.end_newline);
                self.marks.push(BlockMark {
                    kind,
                    source: range.clone(),
                    html: at..at,
                    inner: at..at,
                    parts: Vec::new(),
                });
            }
            let first = marked && self.marks.len() == 1;
            match event {
                Event::Start(tag) => {
                    let leaf = matches!(tag, Tag::Image { .. });
                    if !leaf {
                        self.depth += 1;
                    }
                    if first && self.depth == 2 && matches!(tag, Tag::Item | Tag::TableRow) {
                        self.part_start =
                            Some((range.start, self.out.len() + usize::from(!self.end_newline)));
                    }
                    if first && self.depth == 3 && tag == Tag::Paragraph {
                        if let Some(BlockKind::List { loose, .. }) =
                            self.marks.first_mut().map(|m| &mut m.kind)
                        {
                            *loose = true;
                        }
                    }
                    self.start(tag, &mut events);
                    if top {
                        let at = self.out.len();
                        if let Some(mark) = self.marks.last_mut() {
                            mark.inner = at..at;
                        }
                    }
                }
                Event::End(tag) => {
                    let inner_end = self.out.len();
                    self.end_tag(tag);
                    if marked && self.depth == 2 && tag == TagEnd::TableHead {
                        // A table's parts go in its body.
                        if let Some(mark) = self.marks.last_mut() {
                            mark.inner.start = self.out.len();
                        }
                    }
                    if first && self.depth == 2 && matches!(tag, TagEnd::Item | TagEnd::TableRow) {
                        if let Some((source, html)) = self.part_start.take() {
                            let part = (source..range.end, html..self.out.len());
                            self.marks[0].parts.push(part);
                        }
                    }
                    self.depth -= 1;
                    if marked && self.depth == 0 {
                        if let Some(mark) = self.marks.last_mut() {
                            mark.inner.end = inner_end;
                            mark.html.end = self.out.len();
                        }
                    }
                }
                Event::Text(text) => self.prose(&text),
                Event::Code(code) => {
                    self.write("<code>");
                    self.text(&code);
                    self.write("</code>");
                }
                Event::SoftBreak => {
                    self.end("\n");
                }
                Event::HardBreak => self.end("<br />\n"),
                Event::Rule => {
                    self.block("<hr />\n");
                    if top {
                        let end = self.out.len();
                        let mark = self.marks.last_mut().expect("just pushed");
                        (mark.inner, mark.html.end) = (end..end, end);
                    }
                }
                // Not enabled: footnotes, math, task lists.
                _ => {}
            }
        }
    }

    fn start<'a>(
        &mut self,
        tag: Tag<'a>,
        events: &mut impl Iterator<Item = (Event<'a>, Range<usize>)>,
    ) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => self.block("<p>"),
            Tag::Heading { level, .. } => {
                self.block("<");
                self.write(heading(level as usize));
                self.write(">");
            }
            Tag::BlockQuote(_) => {
                let shown = self.levels() < MAX_DEPTH;
                self.containers.push((false, shown));
                if shown {
                    self.block("<blockquote>\n");
                }
            }
            Tag::CodeBlock(kind) => {
                self.in_code = true;
                self.block("<pre><code");
                if let CodeBlockKind::Fenced(info) = kind {
                    let language = info.split(' ').next().unwrap_or("");
                    if !language.is_empty() {
                        self.attribute(" class=\"language-", language);
                    }
                }
                self.write(">");
            }
            Tag::List(start) => {
                let shown = self.levels() < MAX_DEPTH;
                self.containers.push((false, shown));
                if shown {
                    match start {
                        None => self.block("<ul>\n"),
                        Some(1) => self.block("<ol>\n"),
                        Some(start) => {
                            self.block("<ol start=\"");
                            self.write(&start.to_string());
                            self.write("\">\n");
                        }
                    }
                }
            }
            Tag::Item => {
                let shown = self.containers.last().is_none_or(|c| c.1);
                self.containers.push((true, shown));
                if shown {
                    self.block("<li>");
                }
            }
            Tag::Table(alignments) => {
                self.alignments = alignments;
                self.write("<table>");
            }
            Tag::TableHead => {
                self.in_head = true;
                self.cell = 0;
                self.write("<thead><tr>");
            }
            Tag::TableRow => {
                self.cell = 0;
                self.write("<tr>");
            }
            Tag::TableCell => {
                self.write(if self.in_head { "<th" } else { "<td" });
                // Classes, not a `style` attribute: a strict CSP blocks inline styles.
                self.write(match self.alignments.get(self.cell) {
                    Some(Alignment::Left) => " class=\"cw-align-left\">",
                    Some(Alignment::Center) => " class=\"cw-align-center\">",
                    Some(Alignment::Right) => " class=\"cw-align-right\">",
                    _ => ">",
                });
            }
            Tag::Emphasis => self.write("<em>"),
            Tag::Strong => self.write("<strong>"),
            Tag::Strikethrough => self.write("<del>"),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                let email = link_type == LinkType::Email;
                let shown =
                    !self.plain && (email || allowed_url(&dest_url, &LINK_SCHEMES).is_some());
                if shown {
                    self.open_anchor(email, dest_url.trim(), &title);
                }
                self.anchors.push(shown);
            }
            Tag::Image {
                dest_url, title, ..
            } => {
                // Written whole, alt text from its content, or not at all.
                let shown = allowed_url(&dest_url, &IMAGE_SCHEMES).is_some();
                if shown && !self.plain {
                    self.write("<img src=\"");
                    let _ = escape_href(&mut self.out, dest_url.trim());
                    self.write("\" alt=\"");
                }
                let mut nesting = 0usize;
                for (event, _) in events.by_ref() {
                    match event {
                        Event::Start(_) => nesting += 1,
                        Event::End(_) if nesting == 0 => break,
                        Event::End(_) => nesting -= 1,
                        Event::Text(text)
                        | Event::Code(text)
                        | Event::Html(text)
                        | Event::InlineHtml(text)
                            if shown =>
                        {
                            if self.plain {
                                self.out.push_str(&clean(&text));
                            } else {
                                let _ = escape_html(&mut self.out, &clean(&text));
                            }
                        }
                        Event::SoftBreak | Event::HardBreak if shown => self.out.push(' '),
                        _ => {}
                    }
                }
                if shown && !self.plain {
                    if !title.is_empty() {
                        self.attribute("\" title=\"", &title);
                        self.write(" />");
                    } else {
                        self.write("\" />");
                    }
                } else if shown {
                    self.end("");
                }
            }
            _ => {}
        }
    }

    fn end_tag(&mut self, tag: TagEnd) {
        // Whether a quote's, list's, item's or link's end tag is written (its start tag was).
        let shown = match tag {
            TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item => {
                self.containers.pop().is_none_or(|c| c.1)
            }
            TagEnd::Link => self.anchors.pop().unwrap_or(false) || self.plain,
            _ => true,
        };
        match tag {
            TagEnd::Paragraph => self.end("</p>\n"),
            TagEnd::HtmlBlock => {
                // An HTML block's last line ends with a newline; the paragraph does not.
                if !self.plain && self.out.ends_with('\n') {
                    self.out.pop();
                }
                self.end("</p>\n");
            }
            TagEnd::Heading(level) => {
                self.end("</");
                self.write(heading(level as usize));
                self.write(">\n");
            }
            TagEnd::BlockQuote(_) if shown => self.end("</blockquote>\n"),
            TagEnd::CodeBlock => {
                self.in_code = false;
                self.end("</code></pre>\n");
            }
            TagEnd::List(ordered) if shown => self.end(if ordered { "</ol>\n" } else { "</ul>\n" }),
            TagEnd::Item if shown => self.end("</li>\n"),
            TagEnd::Table => self.end("</tbody></table>\n"),
            TagEnd::TableHead => {
                self.in_head = false;
                self.end("</tr></thead><tbody>\n");
            }
            TagEnd::TableRow => self.end("</tr>\n"),
            TagEnd::TableCell => {
                self.end(if self.in_head { "</th>" } else { "</td>" });
                self.cell += 1;
            }
            TagEnd::Emphasis => self.end("</em>"),
            TagEnd::Strong => self.end("</strong>"),
            TagEnd::Strikethrough => self.end("</del>"),
            TagEnd::Link if shown => self.end("</a>"),
            _ => {}
        }
    }
}

/// NUL characters become U+FFFD, as CommonMark asks (pulldown-cmark leaves them to the writer).
fn clean(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn heading(level: usize) -> &'static str {
    ["h1", "h2", "h3", "h4", "h5", "h6"][level.clamp(1, 6) - 1]
}
