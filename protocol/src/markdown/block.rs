//! Block structure: reads the text line by line into a tree of [`Block`]s (quotes, lists,
//! code, headings, rules, tables, paragraphs) and collects link reference definitions on
//! the way. Inline content stays text here; `inline.rs` reads it when rendering.
//!
//! Quotes and list items nest at most [`MAX_DEPTH`] deep; deeper markers are text.

use super::link::{self, Refs};

/// How deep quotes and list items may nest.
const MAX_DEPTH: usize = 32;

/// Table column alignment.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Align {
    None,
    Left,
    Center,
    Right,
}

#[derive(Debug)]
pub(super) enum Kind {
    Document,
    Quote,
    /// `marker` is the bullet (`-`, `*`, `+`) or the delimiter after the number (`.`, `)`).
    List { ordered: bool, marker: u8, start: u32, tight: bool },
    /// The column where the item's content starts, relative to the marker's container.
    Item { content_indent: usize },
    Paragraph,
    Heading(u8),
    Rule,
    /// A fence is (character, length, indentation).
    Code { fence: Option<(u8, usize, usize)>, info: String },
    /// The first row is the header.
    Table { align: Vec<Align>, rows: Vec<Vec<String>> },
}

#[derive(Debug)]
pub(super) struct Block {
    pub kind: Kind,
    /// The lines of a paragraph, heading or code block.
    pub text: String,
    pub children: Vec<usize>,
    /// First and last source line, to tell tight lists from loose ones.
    start: usize,
    end: usize,
}

/// A parsed document: `blocks[0]` is the root.
pub(super) struct Document {
    pub blocks: Vec<Block>,
    pub refs: Refs,
}

/// Parses a whole document.
pub(super) fn parse(markdown: &str) -> Document {
    // A last line of a few spaces is no line at all (pulldown-cmark keeps code's indentation).
    let last_line = markdown.rfind('\n').map_or(0, |at| at + 1);
    let markdown = if columns(&markdown[last_line..]).is_some_and(|c| c < 4) { &markdown[..last_line] } else { markdown };
    let body = markdown.strip_suffix('\n');
    let mut parser = Parser { blocks: vec![new_block(Kind::Document, 0)], open: vec![0], refs: Refs::new(), unterminated: usize::MAX };
    let lines = body.unwrap_or(markdown).split('\n');
    if body.is_none() {
        parser.unterminated = lines.clone().count() - 1;
    }
    let mut number = 0;
    for (n, line) in lines.enumerate() {
        number = n;
        parser.line(line.strip_suffix('\r').unwrap_or(line), n);
    }
    while parser.open.len() > 1 {
        parser.close_tip(number);
    }
    Document { blocks: parser.blocks, refs: parser.refs }
}

fn new_block(kind: Kind, line: usize) -> Block {
    Block { kind, text: String::new(), children: Vec::new(), start: line, end: line }
}

/// One line and how far the block markers on it have been read.
struct Line<'a> {
    text: &'a str,
    /// Byte offset and column (tabs stop every 4 columns) read so far.
    offset: usize,
    column: usize,
    /// A tab only partly used as indentation: the rest of its columns are content.
    partial_tab: bool,
    /// The first non-space byte from `offset`, its column, and the indentation before it.
    next: usize,
    next_column: usize,
    indent: usize,
    blank: bool,
}

impl<'a> Line<'a> {
    fn find_next_nonspace(&mut self) {
        let (mut i, mut column) = (self.offset, self.column);
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(i) {
            match b {
                b' ' => column += 1,
                b'\t' => column += 4 - column % 4,
                _ => break,
            }
            i += 1;
        }
        self.next = i;
        self.next_column = column;
        self.indent = column - self.column;
        self.blank = i == bytes.len();
    }

    fn advance_to_next(&mut self) {
        self.offset = self.next;
        self.column = self.next_column;
        self.partial_tab = false;
    }

    /// Moves on `count` columns (`columns`) or characters; a tab may be used in part.
    fn advance(&mut self, mut count: usize, columns: bool) {
        let bytes = self.text.as_bytes();
        while count > 0 && self.offset < bytes.len() {
            if bytes[self.offset] == b'\t' {
                let to_stop = 4 - self.column % 4;
                if columns {
                    self.partial_tab = to_stop > count;
                    let step = to_stop.min(count);
                    self.column += step;
                    self.offset += usize::from(!self.partial_tab);
                    count -= step;
                } else {
                    self.partial_tab = false;
                    self.column += to_stop;
                    self.offset += 1;
                    count -= 1;
                }
            } else {
                self.partial_tab = false;
                self.offset += 1;
                self.column += 1;
                count -= 1;
            }
        }
    }

    /// The rest of the line from the first non-space byte.
    fn rest(&self) -> &'a str {
        &self.text[self.next..]
    }

    /// Skips `>` and one space after it (which may be part of a tab).
    fn skip_quote_marker(&mut self) {
        self.advance_to_next();
        self.advance(1, false);
        if matches!(self.text.as_bytes().get(self.offset), Some(b' ' | b'\t')) {
            self.advance(1, true);
        }
    }
}

struct Parser {
    blocks: Vec<Block>,
    /// The open blocks from the root down to the deepest one (the tip).
    open: Vec<usize>,
    refs: Refs,
    /// The number of the last line if it has no line break (code keeps that).
    unterminated: usize,
}

impl Parser {
    fn tip(&self) -> usize {
        *self.open.last().unwrap_or(&0)
    }

    fn line(&mut self, text: &str, number: usize) {
        let mut line = Line { text, offset: 0, column: 0, partial_tab: false, next: 0, next_column: 0, indent: 0, blank: false };
        // 1. Which open blocks does this line continue?
        let mut matched = 1;
        while matched < self.open.len() {
            let block = self.open[matched];
            line.find_next_nonspace();
            let continues = match self.blocks[block].kind {
                Kind::Quote => {
                    let quoted = line.indent <= 3 && line.rest().starts_with('>');
                    if quoted {
                        line.skip_quote_marker();
                    }
                    quoted
                }
                Kind::Item { content_indent } => {
                    if line.blank {
                        line.advance_to_next();
                        !self.blocks[block].children.is_empty()
                    } else if line.indent >= content_indent {
                        line.advance(content_indent, true);
                        true
                    } else {
                        false
                    }
                }
                Kind::List { .. } => true,
                Kind::Code { fence: Some((ch, len, indent)), .. } => {
                    let rest = line.rest().as_bytes();
                    let run = rest.iter().take_while(|&&b| b == ch).count();
                    if line.indent <= 3 && run >= len && rest[run..].iter().all(|&b| b == b' ' || b == b'\t') {
                        // The closing fence: the line is used up.
                        self.blocks[block].end = number;
                        self.close_tip(number);
                        return;
                    }
                    line.advance(line.indent.min(indent), true);
                    true
                }
                Kind::Code { fence: None, .. } => {
                    if line.indent >= 4 {
                        line.advance(4, true);
                    } else if line.blank {
                        line.advance_to_next();
                    }
                    line.indent >= 4 || line.blank
                }
                Kind::Paragraph | Kind::Table { .. } => !line.blank,
                _ => false,
            };
            if !continues {
                break;
            }
            matched += 1;
        }
        let unmatched_tip = self.tip();
        let mut all_closed = matched == self.open.len();
        let mut container = self.open[matched - 1];

        // 2. New blocks that start on this line.
        loop {
            if matches!(self.blocks[container].kind, Kind::Code { .. }) {
                break;
            }
            line.find_next_nonspace();
            let depth = self.open.iter().filter(|&&b| matches!(self.blocks[b].kind, Kind::Quote | Kind::Item { .. })).count();
            let rest = line.rest();
            let first = rest.bytes().next().unwrap_or(0);
            let in_paragraph = matches!(self.blocks[container].kind, Kind::Paragraph);
            if line.indent >= 4 {
                let tip = &self.blocks[self.tip()].kind;
                // Table rows end where any block would start, however indented.
                let ends_table = matches!(tip, Kind::Table { .. }) && (starts_block(rest) || split_row(rest).is_empty());
                if line.blank || matches!(tip, Kind::Paragraph) || matches!(tip, Kind::Table { .. }) && !ends_table {
                    break;
                }
                line.advance(4, true);
                self.close_unmatched(&mut all_closed, matched, number);
                self.add_child(Kind::Code { fence: None, info: String::new() }, number);
                break;
            }
            if first == b'>' && depth < MAX_DEPTH {
                line.skip_quote_marker();
                self.close_unmatched(&mut all_closed, matched, number);
                container = self.add_child(Kind::Quote, number);
                continue;
            }
            if let Some((level, content)) = atx_heading(rest) {
                self.close_unmatched(&mut all_closed, matched, number);
                let heading = self.add_child(Kind::Heading(level), number);
                self.blocks[heading].text = content.to_owned();
                self.close_tip(number);
                return;
            }
            if let Some((ch, len, info)) = opening_fence(rest) {
                let fence = Some((ch, len, line.indent));
                self.close_unmatched(&mut all_closed, matched, number);
                self.add_child(Kind::Code { fence, info: link::decode(info.trim()) }, number);
                return;
            }
            if in_paragraph {
                if let Some(level) = setext_underline(rest) {
                    self.close_unmatched(&mut all_closed, matched, number);
                    self.take_definitions(container);
                    if !self.blocks[container].text.is_empty() {
                        trim_end(&mut self.blocks[container].text);
                        self.blocks[container].kind = Kind::Heading(level);
                        self.blocks[container].end = number;
                        self.close_tip(number);
                        return;
                    }
                }
                if self.table_header(container, rest, number) {
                    return;
                }
            }
            if is_thematic_break(rest) {
                self.close_unmatched(&mut all_closed, matched, number);
                self.add_child(Kind::Rule, number);
                self.close_tip(number);
                return;
            }
            if depth < MAX_DEPTH {
                if let Some(item) = list_marker(rest, in_paragraph) {
                    self.close_unmatched(&mut all_closed, matched, number);
                    container = self.start_item(&mut line, item, number);
                    continue;
                }
            }
            break;
        }

        // 3. The rest of the line: a lazy paragraph line, or content for the container.
        if !all_closed && !line.blank && matches!(self.blocks[unmatched_tip].kind, Kind::Paragraph) {
            add_text(&mut self.blocks[unmatched_tip], &line, number, self.unterminated);
            return;
        }
        self.close_unmatched(&mut all_closed, matched, number);
        let tip = self.tip();
        match &mut self.blocks[tip].kind {
            Kind::Code { .. } | Kind::Paragraph => add_text(&mut self.blocks[tip], &line, number, self.unterminated),
            Kind::Table { .. } if split_row(&line.text[line.offset..]).is_empty() => {
                // A row without cells ends the table and starts a paragraph.
                self.close_tip(number.saturating_sub(1));
                let paragraph = self.add_child(Kind::Paragraph, number);
                line.find_next_nonspace();
                line.advance_to_next();
                add_text(&mut self.blocks[paragraph], &line, number, self.unterminated);
            }
            Kind::Table { align, rows } => {
                let mut cells = split_row(&line.text[line.offset..]);
                cells.resize(align.len(), String::new());
                rows.push(cells);
                self.blocks[tip].end = number;
            }
            _ if line.blank => {}
            _ => {
                line.find_next_nonspace();
                line.advance_to_next();
                let paragraph = self.add_child(Kind::Paragraph, number);
                add_text(&mut self.blocks[paragraph], &line, number, self.unterminated);
            }
        }
    }

    /// Starts a list item (and its list, unless it continues the open one).
    fn start_item(&mut self, line: &mut Line, (ordered, marker, start, width): (bool, u8, u32, usize), number: usize) -> usize {
        let marker_indent = line.indent;
        line.advance_to_next();
        line.advance(width, true);
        let (offset, column, partial) = (line.offset, line.column, line.partial_tab);
        // The marker is followed by a space, a tab or nothing.
        loop {
            line.advance(1, true);
            if line.column - column >= 5 || !matches!(line.text.as_bytes().get(line.offset), Some(b' ' | b'\t')) {
                break;
            }
        }
        let spaces = line.column - column;
        let blank = line.offset == line.text.len();
        let padding = if spaces >= 5 || spaces == 0 || blank {
            // Content indented 5 or more is code that starts one space after the marker.
            (line.offset, line.column, line.partial_tab) = (offset, column, partial);
            if matches!(line.text.as_bytes().get(line.offset), Some(b' ' | b'\t')) {
                line.advance(1, true);
            }
            width + 1
        } else {
            width + spaces
        };
        let tip = self.tip();
        let same_list = matches!(self.blocks[tip].kind, Kind::List { ordered: o, marker: m, .. } if o == ordered && m == marker);
        if !same_list {
            self.add_child(Kind::List { ordered, marker, start, tight: true }, number);
        }
        self.add_child(Kind::Item { content_indent: marker_indent + padding }, number)
    }

    /// Closes the open blocks this line did not continue (once).
    fn close_unmatched(&mut self, all_closed: &mut bool, matched: usize, number: usize) {
        if !*all_closed {
            while self.open.len() > matched {
                self.close_tip(number.saturating_sub(1));
            }
            *all_closed = true;
        }
    }

    /// Adds a block under the tip, closing blocks that cannot hold it.
    fn add_child(&mut self, kind: Kind, number: usize) -> usize {
        loop {
            let holds = match self.blocks[self.tip()].kind {
                Kind::Document | Kind::Quote | Kind::Item { .. } => !matches!(kind, Kind::Item { .. }),
                Kind::List { .. } => matches!(kind, Kind::Item { .. }),
                _ => false,
            };
            if holds {
                break;
            }
            self.close_tip(number.saturating_sub(1));
        }
        let index = self.blocks.len();
        self.blocks.push(new_block(kind, number));
        let tip = self.tip();
        self.blocks[tip].children.push(index);
        self.open.push(index);
        index
    }

    /// Closes the deepest open block, finishing what it needs: definitions out of a
    /// paragraph, trailing blank lines off indented code, tightness of a list.
    fn close_tip(&mut self, number: usize) {
        let Some(index) = self.open.pop() else { return };
        let children = &self.blocks[index].children;
        let last_child_end = children.last().map(|&c| self.blocks[c].end);
        // A list is loose if a blank line separates two of its items, or two blocks in one.
        let apart = |pair: &[usize]| self.blocks[pair[1]].start > self.blocks[pair[0]].end + 1;
        let loose = matches!(self.blocks[index].kind, Kind::List { .. })
            && (children.windows(2).any(apart) || children.iter().any(|&item| self.blocks[item].children.windows(2).any(apart)));
        let block = &mut self.blocks[index];
        match &mut block.kind {
            Kind::Paragraph => {
                // A paragraph of only definitions stays, empty: it is not written, but its
                // lines still count for whether a list is loose.
                self.take_definitions(index);
                trim_end(&mut self.blocks[index].text);
            }
            Kind::Code { fence: None, .. } => {
                let kept = block.text.trim_end_matches(['\n', ' ', '\t']).len();
                let line_end = block.text[kept..].find('\n').map_or(block.text.len(), |at| kept + at + 1);
                block.text.truncate(line_end);
            }
            Kind::Quote => block.end = number.max(block.start),
            Kind::Item { .. } => block.end = last_child_end.unwrap_or(block.start),
            Kind::List { tight, .. } => {
                *tight = !loose;
                block.end = last_child_end.unwrap_or(block.start);
            }
            _ => {}
        }
    }

    /// Moves the link reference definitions at the start of a paragraph into `refs`.
    fn take_definitions(&mut self, paragraph: usize) {
        let text = &self.blocks[paragraph].text;
        if !text.starts_with('[') {
            return;
        }
        let mut misses = link::Misses::new();
        let mut used = 0;
        loop {
            // Lines after the first keep their indentation (up to 3 spaces before a definition).
            used = text.len() - text[used..].trim_start_matches([' ', '\t']).len();
            let Some((label, dest, title, end)) = definition(text, used, &mut misses) else { break };
            self.refs.entry(link::normalize_label(label)).or_insert((dest, title));
            used = end;
        }
        self.blocks[paragraph].text.drain(..used);
    }

    /// Turns the last line of a paragraph into a table header if this line is a matching
    /// delimiter row. Returns whether it did.
    fn table_header(&mut self, paragraph: usize, row: &str, number: usize) -> bool {
        let Some(align) = delimiter_row(row) else { return false };
        self.take_definitions(paragraph);
        let text = &self.blocks[paragraph].text;
        let last_line = text.trim_end_matches('\n').rfind('\n').map_or(0, |at| at + 1);
        let header = &text[last_line..];
        // The header is a paragraph's first line with a pipe, or a line starting with one
        // (indented less than code).
        let has_pipe = header.bytes().enumerate().any(|(at, b)| b == b'|' && !header[..at].ends_with('\\'));
        let trimmed = header.trim_start_matches([' ', '\t']);
        let indented = columns(&header[..header.len() - trimmed.len()]).unwrap_or(0) >= 4;
        if !(trimmed.starts_with('|') && !indented || last_line == 0 && has_pipe) {
            return false;
        }
        let header = split_row(header);
        if header.len() != align.len() {
            return false;
        }
        self.blocks[paragraph].text.truncate(last_line);
        self.close_tip(number.saturating_sub(1));
        let table = self.add_child(Kind::Table { align, rows: vec![header] }, number);
        self.blocks[table].end = number;
        true
    }
}

/// The width of a line of only spaces and tabs; `None` if it has anything else.
fn columns(line: &str) -> Option<usize> {
    line.bytes().try_fold(0, |column, b| match b {
        b' ' => Some(column + 1),
        b'\t' => Some(column + 4 - column % 4),
        _ => None,
    })
}

fn trim_end(text: &mut String) {
    text.truncate(text.trim_end().len());
}

/// Appends the rest of the line to a paragraph or code block.
fn add_text(block: &mut Block, line: &Line, number: usize, unterminated: usize) {
    let is_code = matches!(block.kind, Kind::Code { .. });
    if is_code {
        if line.partial_tab {
            let spaces = 4 - line.column % 4;
            block.text.extend(std::iter::repeat_n(' ', spaces));
            block.text.push_str(&line.text[line.offset + 1..]);
        } else {
            block.text.push_str(&line.text[line.offset..]);
        }
    } else if block.text.is_empty() {
        block.text.push_str(line.text[line.offset..].trim_start_matches([' ', '\t']));
    } else {
        // Later lines keep their indentation (code spans show it), less a partly used tab.
        block.text.push_str(&line.text[line.offset + usize::from(line.partial_tab)..]);
    }
    if number != unterminated {
        block.text.push('\n');
    }
    if !is_code || !line.text[line.offset..].trim().is_empty() || matches!(block.kind, Kind::Code { fence: Some(_), .. }) {
        block.end = number;
    }
}

/// Whether a line (without its indentation) starts a block that ends a table.
fn starts_block(rest: &str) -> bool {
    rest.starts_with('>') || atx_heading(rest).is_some() || opening_fence(rest).is_some() || is_thematic_break(rest) || list_marker(rest, false).is_some()
}

/// `# Heading` (1 to 6 `#`): the level and the content without a closing `#` sequence.
fn atx_heading(rest: &str) -> Option<(u8, &str)> {
    let level = rest.bytes().take_while(|&b| b == b'#').count();
    let after = &rest[level..];
    if !(1..=6).contains(&level) || !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    // Like pulldown-cmark, only spaces end the content (a trailing tab stays).
    let content = after.trim_start_matches([' ', '\t']).trim_end_matches(' ');
    let without_closing = content.trim_end_matches('#');
    let content = if without_closing.is_empty() {
        ""
    } else if without_closing.ends_with(' ') {
        without_closing.trim_end_matches(' ')
    } else {
        content
    };
    Some((level as u8, content))
}

/// An opening code fence: its character, length and info string.
fn opening_fence(rest: &str) -> Option<(u8, usize, &str)> {
    let ch = *rest.as_bytes().first().filter(|&&b| b == b'`' || b == b'~')?;
    let len = rest.bytes().take_while(|&b| b == ch).count();
    let info = &rest[len..];
    (len >= 3 && !(ch == b'`' && info.contains('`'))).then_some((ch, len, info))
}

/// `===` (level 1) or `---` (level 2) under a paragraph.
fn setext_underline(rest: &str) -> Option<u8> {
    let ch = *rest.as_bytes().first().filter(|&&b| b == b'=' || b == b'-')?;
    let run = rest.bytes().take_while(|&b| b == ch).count();
    rest[run..].bytes().all(|b| b == b' ' || b == b'\t').then_some(if ch == b'=' { 1 } else { 2 })
}

/// Three or more `*`, `-` or `_`, with only spaces or tabs between.
fn is_thematic_break(rest: &str) -> bool {
    let Some(&ch) = rest.as_bytes().first() else { return false };
    let mut count = 0;
    for b in rest.bytes() {
        match b {
            b' ' | b'\t' => {}
            b if b == ch => count += 1,
            _ => return false,
        }
    }
    matches!(ch, b'*' | b'-' | b'_') && count >= 3
}

/// A list marker: (ordered, bullet or delimiter, start number, width). In a paragraph, only
/// a non-empty item that is a bullet or starts at 1 may interrupt it.
fn list_marker(rest: &str, in_paragraph: bool) -> Option<(bool, u8, u32, usize)> {
    let bytes = rest.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let (ordered, marker, start, width) = match *bytes.first()? {
        b @ (b'-' | b'*' | b'+') => (false, b, 1, 1),
        _ if (1..=9).contains(&digits) && matches!(bytes.get(digits), Some(b'.' | b')')) => {
            (true, bytes[digits], rest[..digits].parse().ok()?, digits + 1)
        }
        _ => return None,
    };
    let after = &rest[width..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    if in_paragraph && (after.trim().is_empty() || (ordered && start != 1)) {
        return None;
    }
    Some((ordered, marker, start, width))
}

/// A table delimiter row (`| --- | :-: |`): the alignment of each column.
fn delimiter_row(row: &str) -> Option<Vec<Align>> {
    let row = row.trim_end_matches(' ');
    if !row.contains('|') || !row.bytes().all(|b| b"|:- ".contains(&b)) {
        return None;
    }
    let cells = split_row(row);
    if !row.contains('-') {
        return None;
    }
    let mut align = Vec::with_capacity(cells.len());
    for (n, cell) in cells.iter().enumerate() {
        let cell = cell.replace(' ', "");
        let left = cell.starts_with(':');
        let right = cell.ends_with(':') && cell.len() > 1;
        let dashes = &cell[usize::from(left)..cell.len() - usize::from(right)];
        // Like pulldown-cmark, a last column with no pipe after it may be a lone `:`.
        let open_end = n + 1 == cells.len() && !row.ends_with('|');
        if dashes.is_empty() && !open_end || !dashes.bytes().all(|b| b == b'-') {
            return None;
        }
        align.push(match (left, right) {
            (true, true) => Align::Center,
            (true, false) => Align::Left,
            (false, true) => Align::Right,
            (false, false) => Align::None,
        });
    }
    Some(align)
}

/// The cells of a table row, trimmed, split at pipes that are not escaped (`\|` is a pipe).
pub(super) fn split_row(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = row.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.as_str().starts_with('|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            c => cell.push(c),
        }
    }
    if !cell.trim().is_empty() {
        cells.push(cell.trim().to_owned());
    }
    cells
}

/// A link reference definition at `start` (`[label]: destination "title"`): the label,
/// the decoded destination and title, and the end of its last line.
fn definition<'t>(text: &'t str, start: usize, misses: &mut link::Misses) -> Option<(&'t str, String, String, usize)> {
    let bytes = text.as_bytes();
    let (label, after) = link::scan_label(text, start)?;
    if label.trim().is_empty() || bytes.get(after) != Some(&b':') {
        return None;
    }
    let dest_start = skip_one_line_break(bytes, after + 1);
    let dest_end = link::scan_destination(text, dest_start)?;
    let dest = &text[dest_start..dest_end];
    let dest = dest.strip_prefix('<').and_then(|d| d.strip_suffix('>')).unwrap_or(dest);
    let line_end = |at: usize| {
        let spaces = bytes[at..].iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        match bytes.get(at + spaces) {
            None => Some(at + spaces),
            Some(b'\n') => Some(at + spaces + 1),
            _ => None,
        }
    };
    let title_start = skip_one_line_break(bytes, dest_end);
    if title_start > dest_end {
        if let Some(title_end) = link::scan_title(text, title_start, misses) {
            if let Some(end) = line_end(title_end) {
                return Some((label, link::decode(dest), link::decode(&text[title_start + 1..title_end - 1]), end));
            }
        }
    }
    let end = line_end(dest_end)?;
    Some((label, link::decode(dest), String::new(), end))
}

/// Skips spaces and tabs with at most one line break among them.
fn skip_one_line_break(bytes: &[u8], mut i: usize) -> usize {
    let mut breaks = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' => {}
            b'\n' if breaks == 0 => breaks += 1,
            _ => break,
        }
        i += 1;
    }
    i
}
