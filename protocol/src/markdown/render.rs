//! HTML output: walks the block tree and each block's inline nodes, escaping every piece of
//! text and applying the link and image rules of the module docs. The same walk, with tags
//! left out, gives the plain text for screen readers.
//!
//! The HTML has the shape pulldown-cmark gives (newlines between blocks, `<br />`,
//! `<hr />`, tables with `<thead>` and `<tbody>`), which the stylesheet and tests expect.

use super::block::{self, Align, Document, Kind};
use super::inline::{self, Node, DEL, EM, STRONG};
use super::{allowed_url, IMAGE_SCHEMES, LINK_SCHEMES};

/// Renders Markdown as HTML, or as plain text with a space wherever a block or inline
/// element ends.
pub(super) fn render(markdown: &str, plain: bool) -> String {
    let document = if markdown.contains('\0') {
        block::parse(&markdown.replace('\0', "\u{fffd}"))
    } else {
        block::parse(markdown)
    };
    let mut writer = Writer { out: String::with_capacity(markdown.len() + markdown.len() / 2), plain, document: &document };
    writer.children(0, false);
    writer.out
}

struct Writer<'a> {
    out: String,
    plain: bool,
    document: &'a Document,
}

impl Writer<'_> {
    fn tag(&mut self, tag: &str) {
        if !self.plain {
            self.out.push_str(tag);
        }
    }

    /// A block's start tag, on a new line.
    fn block_tag(&mut self, tag: &str) {
        if !self.plain && !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.tag(tag);
    }

    /// An end tag; in plain text, a space.
    fn end_tag(&mut self, tag: &str) {
        if !self.plain {
            self.out.push_str(tag);
        } else if !self.out.is_empty() && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
    }

    fn text(&mut self, text: &str) {
        if self.plain {
            self.out.push_str(text);
        } else {
            escape(text, false, &mut self.out);
        }
    }

    fn children(&mut self, index: usize, tight: bool) {
        for &child in &self.document.blocks[index].children {
            self.block(child, tight);
        }
    }

    /// Writes one block. `tight`: a paragraph directly in an item of a tight list, written
    /// without `<p>`.
    fn block(&mut self, index: usize, tight: bool) {
        let block = &self.document.blocks[index];
        match &block.kind {
            Kind::Document => self.children(index, false),
            Kind::Quote => {
                self.block_tag("<blockquote>\n");
                self.children(index, false);
                self.end_tag("</blockquote>\n");
            }
            Kind::List { ordered: false, tight, .. } => {
                self.block_tag("<ul>\n");
                self.children(index, *tight);
                self.end_tag("</ul>\n");
            }
            Kind::List { start, tight, .. } => {
                if *start == 1 {
                    self.block_tag("<ol>\n");
                } else {
                    self.block_tag("<ol start=\"");
                    self.tag(&start.to_string());
                    self.tag("\">\n");
                }
                self.children(index, *tight);
                self.end_tag("</ol>\n");
            }
            Kind::Item { .. } => {
                self.block_tag("<li>");
                self.children(index, tight);
                self.end_tag("</li>\n");
            }
            // Link reference definitions only: nothing to show.
            Kind::Paragraph if block.text.is_empty() => {}
            Kind::Paragraph if tight => self.inline(&block.text),
            Kind::Paragraph => {
                self.block_tag("<p>");
                self.inline(&block.text);
                self.end_tag("</p>\n");
            }
            Kind::Heading(level) => {
                let digit = char::from(b'0' + level);
                self.block_tag("<h");
                self.tag(digit.encode_utf8(&mut [0; 4]));
                self.tag(">");
                self.inline(&block.text);
                self.end_tag("</h");
                self.tag(digit.encode_utf8(&mut [0; 4]));
                self.tag(">\n");
            }
            Kind::Rule => self.block_tag("<hr />\n"),
            Kind::Code { info, .. } => {
                self.block_tag("<pre><code");
                let language = info.split(' ').next().unwrap_or("");
                if !language.is_empty() && !self.plain {
                    self.out.push_str(" class=\"language-");
                    escape(language, true, &mut self.out);
                    self.out.push('"');
                }
                self.tag(">");
                self.text(&block.text);
                self.end_tag("</code></pre>\n");
            }
            Kind::Table { align, rows } => {
                self.tag("<table><thead>");
                for (number, row) in rows.iter().enumerate() {
                    let cell = if number == 0 { "<th" } else { "<td" };
                    self.tag("<tr>");
                    for (text, align) in row.iter().zip(align) {
                        self.tag(cell);
                        self.tag(match align {
                            Align::None => ">",
                            Align::Left => " style=\"text-align: left\">",
                            Align::Center => " style=\"text-align: center\">",
                            Align::Right => " style=\"text-align: right\">",
                        });
                        self.inline(text);
                        self.end_tag(if number == 0 { "</th>" } else { "</td>" });
                    }
                    self.end_tag(if number == 0 { "</tr></thead><tbody>\n" } else { "</tr>\n" });
                }
                self.end_tag("</tbody></table>\n");
            }
        }
    }

    /// Writes inline content: text escaped, links and images only with allowed URLs.
    fn inline(&mut self, text: &str) {
        let nodes = inline::parse(text, &self.document.refs);
        // For each open link, whether it got an anchor.
        let mut anchors = Vec::new();
        let mut i = 0;
        while let Some(node) = nodes.get(i) {
            i += 1;
            match node {
                Node::Text(text) | Node::Html(text) => self.text(text),
                Node::Code(code) => {
                    self.tag("<code>");
                    self.text(code);
                    self.tag("</code>");
                }
                Node::SoftBreak => self.end_tag("\n"),
                Node::HardBreak => self.end_tag("<br />\n"),
                Node::Delim { ch, count, closes, opens } => {
                    for &tag in closes {
                        self.end_tag(emphasis_tag(tag, true));
                    }
                    for _ in 0..*count {
                        self.out.push(char::from(*ch));
                    }
                    for &tag in opens {
                        self.tag(emphasis_tag(tag, false));
                    }
                }
                Node::Bracket { image } => self.text(if *image { "![" } else { "[" }),
                Node::LinkStart { dest, title, image: false, .. } => {
                    let url = allowed_url(dest, &LINK_SCHEMES).filter(|_| !self.plain);
                    if let Some(url) = url {
                        self.out.push_str("<a href=\"");
                        escape(url, true, &mut self.out);
                        self.out.push('"');
                        self.title(title);
                        self.out.push_str(" target=\"_blank\" rel=\"noopener noreferrer\">");
                    }
                    anchors.push(url.is_some());
                }
                Node::LinkEnd => {
                    if anchors.pop().unwrap_or(false) || self.plain {
                        self.end_tag("</a>");
                    }
                }
                Node::LinkStart { .. } if self.plain => anchors.push(false),
                Node::LinkStart { dest, title, end, .. } => {
                    // An image is written whole, alt text from its content, or not at all.
                    if let Some(url) = allowed_url(dest, &IMAGE_SCHEMES) {
                        self.out.push_str("<img src=\"");
                        escape_href(url, &mut self.out);
                        self.out.push_str("\" alt=\"");
                        self.alt_text(&nodes[i..*end]);
                        self.out.push('"');
                        self.title(title);
                        self.out.push_str(" />");
                    }
                    i = end + 1;
                }
            }
        }
    }

    /// ` title="…"`, if there is a title.
    fn title(&mut self, title: &str) {
        if !title.is_empty() {
            self.out.push_str(" title=\"");
            escape(title, true, &mut self.out);
            self.out.push('"');
        }
    }

    /// The text of an image's content, for its `alt` attribute.
    fn alt_text(&mut self, nodes: &[Node]) {
        for node in nodes {
            match node {
                Node::Text(text) | Node::Code(text) | Node::Html(text) => escape(text, true, &mut self.out),
                Node::SoftBreak | Node::HardBreak => self.out.push(' '),
                Node::Delim { ch, count, .. } => {
                    for _ in 0..*count {
                        self.out.push(char::from(*ch));
                    }
                }
                Node::Bracket { image } => self.out.push_str(if *image { "![" } else { "[" }),
                Node::LinkStart { .. } | Node::LinkEnd => {}
            }
        }
    }
}

fn emphasis_tag(tag: u8, close: bool) -> &'static str {
    match (tag, close) {
        (EM, false) => "<em>",
        (EM, true) => "</em>",
        (STRONG, false) => "<strong>",
        (STRONG, true) => "</strong>",
        (DEL, false) => "<del>",
        _ => "</del>",
    }
}

/// Escapes `&`, `<` and `>` (and in an attribute value, `"` and `'` too).
pub(super) fn escape(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Writes an image URL the way pulldown-cmark does: characters that do not belong in a URL
/// percent-encoded, `&` and `'` as entities.
fn escape_href(url: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in url.as_bytes() {
        match b {
            b'&' => out.push_str("&amp;"),
            b'\'' => out.push_str("&#x27;"),
            b' ' | b'"' | b'<' | b'>' | b'[' | b'\\' | b']' | b'`' | b'{' | b'|' | b'}' | 0..=0x1f | 0x7f.. => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
            b => out.push(char::from(b)),
        }
    }
}
