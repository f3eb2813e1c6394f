//! The link syntax that inline links and link reference definitions share: labels,
//! destinations and titles, the table of definitions, and the decoding of backslash escapes
//! and entity references (a short list of names, and every number).

use std::collections::HashMap;

/// Link reference definitions: normalised label to (destination, title), both decoded.
pub(super) type Refs = HashMap<String, (String, String)>;

/// Positions from which a closing character was already searched for and not found, so
/// repeated unclosed openers cost linear time, not quadratic.
pub(super) struct Misses {
    /// Code span backtick run lengths that have no closing run further on.
    pub(super) backticks: Vec<usize>,
    /// For `"`, `'`, `-->`, `?>`, `]]>` and `>`: the first position known to have none after it.
    after: [usize; 6],
}

impl Misses {
    pub(super) fn new() -> Self {
        Self { backticks: Vec::new(), after: [usize::MAX; 6] }
    }

    /// Finds `needle` at or after `from`, remembering a miss under `slot`.
    pub(super) fn find(&mut self, text: &str, from: usize, needle: &str, slot: usize) -> Option<usize> {
        if from >= self.after[slot] {
            return None;
        }
        let found = text.get(from..)?.find(needle).map(|at| from + at);
        if found.is_none() {
            self.after[slot] = from;
        }
        found
    }
}

/// Skips spaces, tabs and line breaks.
pub(super) fn skip_whitespace(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Whether the byte at `at` has an odd number of backslashes before it.
fn is_escaped(bytes: &[u8], at: usize) -> bool {
    bytes[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// A link label `[…]` at `start`: at most 999 characters, no unescaped brackets inside.
/// Returns the text inside and the end after the `]`.
pub(super) fn scan_label(text: &str, start: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'[') {
        return None;
    }
    let mut i = start + 1;
    while i < bytes.len() && i - start <= 1000 {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => return None,
            b']' => return Some((&text[start + 1..i], i + 1)),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A link destination at `start`: `<…>` on one line, or a run without spaces or control
/// characters whose parentheses balance (at most 32 deep). Returns its end.
pub(super) fn scan_destination(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start;
    if bytes.get(i) == Some(&b'<') {
        i += 1;
        loop {
            match *bytes.get(i)? {
                b'>' => return Some(i + 1),
                b'\n' | b'<' => return None,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
    }
    let mut depth = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if bytes.get(i + 1).is_some_and(u8::is_ascii_punctuation) => i += 1,
            b'(' if depth == 32 => return None,
            b'(' => depth += 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            b if b <= b' ' || b == 0x7f => break,
            _ => {}
        }
        i += 1;
    }
    (i > start && depth == 0).then_some(i)
}

/// A link title in `"…"`, `'…'` or `(…)` starting at `start`; returns the end after the
/// closing character.
pub(super) fn scan_title(text: &str, start: usize, misses: &mut Misses) -> Option<usize> {
    let close = match text.as_bytes().get(start)? {
        b'"' => b'"',
        b'\'' => b'\'',
        b'(' => b')',
        _ => return None,
    };
    let mut i = start + 1;
    loop {
        let at = match close {
            b')' => i + text[i..].find([')', '('])?,
            b'"' => misses.find(text, i, "\"", 0)?,
            _ => misses.find(text, i, "'", 1)?,
        };
        if !is_escaped(text.as_bytes(), at) {
            return (text.as_bytes()[at] == close).then_some(at + 1);
        }
        i = at + 1;
    }
}

/// A reference label compared case-insensitively, with runs of whitespace as one space.
pub(super) fn normalize_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for word in label.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().map(fold_case));
    }
    out
}

/// Lower case for label matching: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
/// capitals. Other scripts compare as written. (`char::to_lowercase` would be complete, but
/// its tables are about 25 KB of the widget's wasm.)
fn fold_case(c: char) -> char {
    let code = c as u32;
    let lower = match code {
        0x41..=0x5A | 0xC0..=0xD6 | 0xD8..=0xDE | 0x391..=0x3A1 | 0x3A3..=0x3AB | 0x410..=0x42F => code + 32,
        0x400..=0x40F => code + 80,
        // Latin Extended-A pairs a capital with the small letter after it: even capitals up
        // to U+0137 and from U+014A, odd ones in between and from U+0179.
        0x100..=0x137 | 0x14A..=0x177 if code.is_multiple_of(2) => code + 1,
        0x139..=0x148 | 0x179..=0x17E if !code.is_multiple_of(2) => code + 1,
        0x178 => 0xFF,
        _ => code,
    };
    char::from_u32(lower).unwrap_or(c)
}

/// Resolves backslash escapes and entity references (for destinations, titles and code
/// block info strings).
pub(super) fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        let next = s.as_bytes().get(i + 1);
        if c == '\\' && next.is_some_and(u8::is_ascii_punctuation) {
            out.push(char::from(s.as_bytes()[i + 1]));
            i += 2;
        } else if let Some((decoded, len)) = (c == '&').then(|| entity(&s[i..])).flatten() {
            out.push(decoded);
            i += len;
        } else {
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The named entities we decode; any other name stays text.
const ENTITIES: [(&str, char); 29] = [
    ("amp", '&'), ("lt", '<'), ("gt", '>'), ("quot", '"'), ("apos", '\''), ("nbsp", '\u{a0}'),
    ("copy", '©'), ("reg", '®'), ("trade", '™'), ("hellip", '…'), ("mdash", '—'), ("ndash", '–'),
    ("laquo", '«'), ("raquo", '»'), ("lsquo", '‘'), ("rsquo", '’'), ("ldquo", '“'), ("rdquo", '”'),
    ("bull", '•'), ("middot", '·'), ("times", '×'), ("divide", '÷'), ("deg", '°'), ("euro", '€'),
    ("pound", '£'), ("yen", '¥'), ("cent", '¢'), ("sect", '§'), ("para", '¶'),
];

/// An entity reference at the start of `s` (which starts with `&`): the character and the
/// length of the reference. Numeric references that name no character give U+FFFD.
pub(super) fn entity(s: &str) -> Option<(char, usize)> {
    // No reference we know is longer than `&#1114111;`.
    let end = s.bytes().take(10).position(|b| b == b';')?;
    let body = &s[1..end];
    let (digits, radix, most) = match body.strip_prefix('#') {
        Some(hex) if hex.starts_with(['x', 'X']) => (&hex[1..], 16, 6),
        Some(decimal) => (decimal, 10, 7),
        None => {
            let (_, c) = ENTITIES.iter().find(|(name, _)| *name == body)?;
            return Some((*c, end + 1));
        }
    };
    if digits.is_empty() || digits.len() > most || !digits.bytes().all(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit())) {
        return None;
    }
    let code = u32::from_str_radix(digits, radix).ok()?;
    Some((char::from_u32(code).filter(|&c| c != '\0').unwrap_or('\u{fffd}'), end + 1))
}
