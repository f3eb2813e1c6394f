//! Inline content: turns the text of one paragraph, heading or table cell into a flat list of
//! [`Node`]s (text, code spans, emphasis, links, breaks). Nesting is kept as start and end
//! nodes in one list, never as recursion, so hostile input cannot overflow the stack.
//!
//! The pieces of link syntax it shares with link reference definitions are in `link.rs`.

use super::link::{decode, entity, normalize_label, scan_destination, scan_label, scan_title, skip_whitespace, Misses, Refs};

/// Emphasis tags a delimiter run opens or closes, innermost first.
pub(super) const EM: u8 = 0;
pub(super) const STRONG: u8 = 1;
pub(super) const DEL: u8 = 2;

/// One piece of inline content. Links and images are a `LinkStart`, their content, and the
/// `LinkEnd` at index `end`.
#[derive(Debug)]
pub(super) enum Node {
    /// Literal text, not yet escaped.
    Text(String),
    /// A code span's content.
    Code(String),
    /// Raw HTML from the source, shown as text.
    Html(String),
    SoftBreak,
    HardBreak,
    /// A run of `*`, `_` or `~`: the tags it closes, then `count` literal characters, then the
    /// tags it opens.
    Delim { ch: u8, count: usize, closes: Vec<u8>, opens: Vec<u8> },
    /// A `[` or `![` that did not become a link.
    Bracket { image: bool },
    LinkStart { dest: String, title: String, image: bool, end: usize },
    LinkEnd,
}

/// A delimiter run that may still open or close emphasis.
#[derive(Clone, Copy)]
struct Run {
    node: usize,
    ch: u8,
    len: usize,
    can_open: bool,
    can_close: bool,
}

/// An open `[` or `![`.
struct Opener {
    node: usize,
    image: bool,
    /// How many delimiter runs came before it: the ones after it belong to its text.
    runs: usize,
    /// Where its text starts in the source, for shortcut and collapsed references.
    text_start: usize,
}

/// Parses inline content. `refs` resolves reference links.
pub(super) fn parse(text: &str, refs: &Refs) -> Vec<Node> {
    Inline { text, refs, nodes: Vec::new(), runs: Vec::new(), openers: Vec::new(), inactive_below: 0, misses: Misses::new() }.run()
}

struct Inline<'a> {
    text: &'a str,
    refs: &'a Refs,
    nodes: Vec<Node>,
    runs: Vec<Run>,
    openers: Vec<Opener>,
    /// `[` openers below this index are inside a link already made, so cannot make another.
    inactive_below: usize,
    misses: Misses,
}

impl Inline<'_> {
    fn run(mut self) -> Vec<Node> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            i = match bytes[i] {
                b'\n' => {
                    let mut hard = false;
                    if let Some(Node::Text(last)) = self.nodes.last_mut() {
                        let kept = last.trim_end_matches([' ', '\t']).len();
                        hard = last.len() - kept >= 2;
                        last.truncate(kept);
                    }
                    self.nodes.push(if hard { Node::HardBreak } else { Node::SoftBreak });
                    skip_spaces(bytes, i + 1)
                }
                b'\\' => match bytes.get(i + 1) {
                    Some(b'\n') => {
                        self.nodes.push(Node::HardBreak);
                        skip_spaces(bytes, i + 2)
                    }
                    Some(c) if c.is_ascii_punctuation() => {
                        self.push_text(&text[i + 1..i + 2]);
                        i + 2
                    }
                    _ => {
                        self.push_text("\\");
                        i + 1
                    }
                },
                b'`' => self.code_span(i),
                b'&' => match entity(&text[i..]) {
                    Some((c, len)) => {
                        self.push_text(c.encode_utf8(&mut [0; 4]));
                        i + len
                    }
                    None => {
                        self.push_text("&");
                        i + 1
                    }
                },
                b'<' => self.angle(i),
                b'*' | b'_' | b'~' => self.delimiter_run(i),
                b'[' => self.open_bracket(i, false),
                b'!' if bytes.get(i + 1) == Some(&b'[') => self.open_bracket(i, true),
                b']' => self.close_bracket(i),
                _ => {
                    let end = bytes[i + 1..]
                        .iter()
                        .position(|b| b"\n\\`&<*_~[]!".contains(b))
                        .map_or(bytes.len(), |at| i + 1 + at);
                    self.push_text(&text[i..end]);
                    end
                }
            };
        }
        self.process_emphasis(0);
        self.nodes
    }

    /// Appends literal text, joining it to the text before when it can.
    fn push_text(&mut self, s: &str) {
        match self.nodes.last_mut() {
            Some(Node::Text(last)) => last.push_str(s),
            _ => self.nodes.push(Node::Text(s.to_owned())),
        }
    }

    /// A code span, or the backticks as text when no run of the same length closes it.
    fn code_span(&mut self, start: usize) -> usize {
        let bytes = self.text.as_bytes();
        let len = run_length(bytes, start);
        let after = start + len;
        if !self.misses.backticks.contains(&len) {
            let mut i = after;
            while let Some(at) = bytes[i..].iter().position(|&b| b == b'`') {
                let close = i + at;
                let close_len = run_length(bytes, close);
                if close_len == len {
                    let content = self.text[after..close].replace('\n', " ");
                    let strip = content.len() >= 2 && content.starts_with(' ') && content.ends_with(' ') && content.bytes().any(|b| b != b' ');
                    let content = if strip { content[1..content.len() - 1].to_owned() } else { content };
                    self.nodes.push(Node::Code(content));
                    return close + len;
                }
                i = close + close_len;
            }
            self.misses.backticks.push(len);
        }
        self.push_text(&self.text[start..after]);
        after
    }

    /// `<`: an autolink, raw HTML (kept as text), or a literal `<`.
    fn angle(&mut self, start: usize) -> usize {
        let text = self.text;
        if let Some(end) = autolink_end(text, start) {
            let address = &text[start + 1..end - 1];
            let dest = if address.contains(':') { address.to_owned() } else { ["mailto:", address].concat() };
            let link_end = self.nodes.len() + 2;
            self.nodes.push(Node::LinkStart { dest, title: String::new(), image: false, end: link_end });
            self.nodes.push(Node::Text(address.to_owned()));
            self.nodes.push(Node::LinkEnd);
            return end;
        }
        if let Some(end) = self.html_end(start) {
            self.nodes.push(Node::Html(text[start..end].to_owned()));
            return end;
        }
        self.push_text("<");
        start + 1
    }

    /// The end of a raw HTML tag, comment, processing instruction, declaration or CDATA
    /// section starting at `start`.
    fn html_end(&mut self, start: usize) -> Option<usize> {
        let text = self.text;
        let rest = &text[start..];
        let bytes = rest.as_bytes();
        let found = |at: Option<usize>, len: usize| at.map(|at| at + len);
        if let Some(body) = rest.strip_prefix("<!--") {
            if body.starts_with('>') || body.starts_with("->") {
                return Some(start + 4 + body.find('>')? + 1);
            }
            return found(self.misses.find(text, start + 4, "-->", 2), 3);
        }
        if rest.starts_with("<?") {
            return found(self.misses.find(text, start + 2, "?>", 3), 2);
        }
        if rest.starts_with("<![CDATA[") {
            return found(self.misses.find(text, start + 9, "]]>", 4), 3);
        }
        if rest.starts_with("<!") && bytes.get(2).is_some_and(u8::is_ascii_alphabetic) {
            return found(self.misses.find(text, start + 2, ">", 5), 1);
        }
        let closing = bytes.get(1) == Some(&b'/');
        let mut i = 1 + usize::from(closing);
        if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        while bytes.get(i).is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'-') {
            i += 1;
        }
        if closing {
            i = skip_whitespace(bytes, i);
            return (bytes.get(i) == Some(&b'>')).then_some(start + i + 1);
        }
        loop {
            let spaced = skip_whitespace(bytes, i);
            match bytes.get(spaced)? {
                b'>' => return Some(start + spaced + 1),
                b'/' => return (bytes.get(spaced + 1) == Some(&b'>')).then_some(start + spaced + 2),
                &b if spaced > i && (b.is_ascii_alphabetic() || b == b'_' || b == b':') => {
                    i = spaced + 1;
                    while bytes.get(i).is_some_and(|&b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b)) {
                        i += 1;
                    }
                    let eq = skip_whitespace(bytes, i);
                    if bytes.get(eq) != Some(&b'=') {
                        continue;
                    }
                    i = skip_whitespace(bytes, eq + 1);
                    match *bytes.get(i)? {
                        quote @ (b'"' | b'\'') => {
                            let slot = usize::from(quote == b'\'');
                            let close = self.misses.find(text, start + i + 1, if slot == 0 { "\"" } else { "'" }, slot)?;
                            i = close - start + 1;
                        }
                        _ => {
                            let value = bytes[i..].iter().take_while(|&&b| !b.is_ascii_whitespace() && !b"\"'=<>`".contains(&b)).count();
                            if value == 0 {
                                return None;
                            }
                            i += value;
                        }
                    }
                }
                _ => return None,
            }
        }
    }

    /// A run of `*`, `_` or `~`, with whether it may open or close emphasis.
    fn delimiter_run(&mut self, start: usize) -> usize {
        let text = self.text;
        let ch = text.as_bytes()[start];
        let len = run_length(text.as_bytes(), start);
        let end = start + len;
        if ch == b'~' && len > 2 {
            self.push_text(&text[start..end]);
            return end;
        }
        let prev = text[..start].chars().next_back();
        let next = text[end..].chars().next();
        let space_before = prev.is_none_or(char::is_whitespace);
        let space_after = next.is_none_or(char::is_whitespace);
        let punct_before = prev.is_some_and(is_punctuation);
        let punct_after = next.is_some_and(is_punctuation);
        let left = !space_after && (!punct_after || space_before || punct_before);
        let right = !space_before && (!punct_before || space_after || punct_after);
        // Tildes follow pulldown-cmark: `~~` works inside words, and a run after an escaped
        // `~` may close.
        let after_tilde = ch == b'~' && prev == Some('~');
        let (can_open, can_close) = match (ch, len) {
            (b'*', _) => (left, right),
            (b'~', 2) => (!space_after, right || after_tilde),
            // `_` and a single `~` do not work inside a word.
            _ => (
                !space_after && (space_before || punct_before || after_tilde && !punct_after),
                !space_before && (space_after || punct_after || after_tilde),
            ),
        };
        let node = self.nodes.len();
        self.nodes.push(Node::Delim { ch, count: len, closes: Vec::new(), opens: Vec::new() });
        if can_open || can_close {
            self.runs.push(Run { node, ch, len, can_open, can_close });
        }
        end
    }

    fn open_bracket(&mut self, start: usize, image: bool) -> usize {
        let node = self.nodes.len();
        self.nodes.push(Node::Bracket { image });
        let text_start = start + 1 + usize::from(image);
        self.openers.push(Opener { node, image, runs: self.runs.len(), text_start });
        text_start
    }

    /// `]`: makes a link or image of the nearest open bracket if what follows (or the
    /// bracket's text, as a reference) says where it goes.
    fn close_bracket(&mut self, at: usize) -> usize {
        let Some(opener) = self.openers.pop() else {
            self.push_text("]");
            return at + 1;
        };
        let active = opener.image || self.openers.len() >= self.inactive_below;
        self.inactive_below = self.inactive_below.min(self.openers.len());
        let target = if active { self.link_target(&opener, at) } else { None };
        let Some((dest, title, end)) = target else {
            self.push_text("]");
            return at + 1;
        };
        self.process_emphasis(opener.runs);
        let link_end = self.nodes.len();
        self.nodes[opener.node] = Node::LinkStart { dest, title, image: opener.image, end: link_end };
        self.nodes.push(Node::LinkEnd);
        if !opener.image {
            // Links may not contain links: the brackets around this one are text now.
            self.inactive_below = self.openers.len();
        }
        end
    }

    /// The destination, title and end of the link whose text ends at `at`: inline
    /// `(dest "title")`, or a full, collapsed or shortcut reference.
    fn link_target(&mut self, opener: &Opener, at: usize) -> Option<(String, String, usize)> {
        let text = self.text;
        if text.as_bytes().get(at + 1) == Some(&b'(') {
            if let Some(link) = self.inline_link(at + 2) {
                return Some(link);
            }
        }
        let (label, end) = match scan_label(text, at + 1) {
            Some((label, end)) if !label.trim().is_empty() => (label, end),
            Some((_, end)) if text[at + 1..end] == *"[]" => (&text[opener.text_start..at], end),
            _ => (&text[opener.text_start..at], at + 1),
        };
        if self.refs.is_empty() || label.len() > 999 {
            return None;
        }
        let (dest, title) = self.refs.get(&normalize_label(label))?;
        Some((dest.clone(), title.clone(), end))
    }

    /// `(dest "title")` after the link text; `start` is just after the `(`.
    fn inline_link(&mut self, start: usize) -> Option<(String, String, usize)> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut i = skip_whitespace(bytes, start);
        let mut dest = String::new();
        let mut title = String::new();
        if bytes.get(i) != Some(&b')') {
            let end = scan_destination(text, i)?;
            dest = decode(text[i..end].strip_prefix('<').and_then(|d| d.strip_suffix('>')).unwrap_or(&text[i..end]));
            let before_title = end;
            i = skip_whitespace(bytes, end);
            if i > before_title {
                if let Some(end) = scan_title(text, i, &mut self.misses) {
                    title = decode(&text[i + 1..end - 1]);
                    i = skip_whitespace(bytes, end);
                }
            }
        }
        (bytes.get(i) == Some(&b')')).then(|| (dest, title, i + 1))
    }

    /// Matches emphasis openers and closers among the delimiter runs from `bottom` on, then
    /// forgets those runs.
    fn process_emphasis(&mut self, bottom: usize) {
        let runs = self.runs.split_off(bottom);
        let mut openers: Vec<Run> = Vec::new();
        // For each kind of closer, the number of openers below which none can match it.
        let mut floors = [0usize; 13];
        for mut closer in runs {
            // Like pulldown-cmark, `~` and `~~` closers share one floor.
            let key = match closer.ch {
                b'~' => 12,
                ch => usize::from(ch == b'_') * 6 + usize::from(closer.can_open) * 3 + closer.len % 3,
            };
            while closer.can_close {
                let both = closer.can_open;
                let found = openers[floors[key].min(openers.len())..].iter().rposition(|o| {
                    o.ch == closer.ch
                        && (o.ch != b'~' || o.len == closer.len)
                        && (!(both || o.can_open && o.can_close) || (o.len + closer.len) % 3 != 0 || closer.len % 3 == 0)
                });
                let Some(found) = found.map(|at| at + floors[key].min(openers.len())) else {
                    floors[key] = openers.len();
                    break;
                };
                let (opened, closed) = self.match_runs(openers[found].node, closer.node);
                // Runs between the two are text now, and so is a used-up opener.
                openers.truncate(found + usize::from(opened > 0));
                for floor in &mut floors {
                    *floor = (*floor).min(openers.len());
                }
                if closed == 0 {
                    closer.can_open = false;
                    break;
                }
            }
            if closer.can_open {
                openers.push(closer);
            }
        }
    }

    /// Turns as many characters of an opener and a closer as they share into tags (strong
    /// for pairs, emphasis for one left over, strikethrough for tildes). Returns what each has
    /// left.
    fn match_runs(&mut self, opener: usize, closer: usize) -> (usize, usize) {
        let (Node::Delim { ch, count: a, .. }, Node::Delim { count: b, .. }) = (&self.nodes[opener], &self.nodes[closer]) else {
            return (0, 0);
        };
        let used = (*a).min(*b);
        // Innermost first.
        let tags: Vec<u8> = match ch {
            b'~' => vec![DEL],
            _ => (0..used.div_ceil(2)).map(|k| if k == used / 2 { EM } else { STRONG }).collect(),
        };
        let mut left = [0; 2];
        for (side, node) in [opener, closer].into_iter().enumerate() {
            if let Node::Delim { count, opens, closes, .. } = &mut self.nodes[node] {
                *count -= used;
                left[side] = *count;
                if side == 0 {
                    // The opener's earlier tags are inner ones: these open before them.
                    opens.splice(0..0, tags.iter().rev().copied());
                } else {
                    closes.extend_from_slice(&tags);
                }
            }
        }
        (left[0], left[1])
    }
}

/// Whether `c` counts as punctuation for emphasis: ASCII punctuation, and any other
/// character that is neither a letter, a digit nor a space (Unicode punctuation and symbols).
fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_punctuation()
    } else {
        !c.is_alphanumeric() && !c.is_whitespace()
    }
}

/// How many times the byte at `start` repeats from there.
fn run_length(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().take_while(|&&b| b == bytes[start]).count()
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// The end of an autolink (`<scheme:…>` or `<user@host>`) starting at `start`.
fn autolink_end(text: &str, start: usize) -> Option<usize> {
    let bytes = &text.as_bytes()[start + 1..];
    let scheme = bytes.iter().take_while(|&&b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)).count();
    if (2..=32).contains(&scheme) && bytes[0].is_ascii_alphabetic() && bytes.get(scheme) == Some(&b':') {
        let len = bytes.iter().position(|&b| b <= b' ' || b == b'<' || b == b'>')?;
        return (bytes[len] == b'>').then_some(start + len + 2);
    }
    let user = bytes.iter().take_while(|&&b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b)).count();
    if user == 0 || bytes.get(user) != Some(&b'@') {
        return None;
    }
    let mut i = user + 1;
    loop {
        let label = bytes[i..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'-').count();
        if label == 0 || label > 63 || bytes[i] == b'-' || bytes[i + label - 1] == b'-' {
            return None;
        }
        i += label;
        match bytes.get(i) {
            Some(b'.') => i += 1,
            Some(b'>') => return Some(start + i + 2),
            _ => return None,
        }
    }
}

