//! Checks on rendered HTML, for this crate's tests and its integration tests (not part of the
//! API): the output is inert (only Markdown's own tags, only harmless attributes, only allowed
//! URLs) and its tags are balanced. Nothing in the widget or the server calls them, so they
//! are not linked into either.

use super::{allowed_url, LINK_SCHEMES};

/// Asserts that every tag in the output is one Markdown makes, with only harmless
/// attributes (no `style`: a strict CSP blocks it) and only allowed URLs. Text is escaped, so every literal `<` opens a real tag.
pub fn assert_inert(html: &str) {
    const TAGS: [&str; 26] = [
        "p",
        "em",
        "strong",
        "del",
        "code",
        "pre",
        "ul",
        "ol",
        "li",
        "blockquote",
        "a",
        "img",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "br",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ];
    const ATTRIBUTES: [&str; 8] = [
        "href", "title", "target", "rel", "src", "alt", "class", "start",
    ];
    for tag in html.split('<').skip(1) {
        let tag = &tag[..tag
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag in {html}"))];
        let tag = tag.trim_start_matches('/').trim_end_matches('/').trim();
        let name = tag.split_whitespace().next().unwrap_or("");
        assert!(TAGS.contains(&name), "tag <{name}> in {html}");
        // Attribute values are quoted and escaped (no `"` inside).
        let mut rest = tag[name.len()..].trim_start();
        while !rest.is_empty() {
            let (key, after) = rest
                .split_once("=\"")
                .unwrap_or_else(|| panic!("attribute without a quoted value in {html}"));
            let (value, after) = after
                .split_once('"')
                .unwrap_or_else(|| panic!("unclosed attribute in {html}"));
            assert!(ATTRIBUTES.contains(&key), "attribute {key} in {html}");
            assert!(
                key != "class" || value.starts_with("language-") || value.starts_with("cw-align-"),
                "class {value} in {html}"
            );
            if key == "href" || key == "src" {
                assert!(
                    allowed_url(value, &LINK_SCHEMES).is_some(),
                    "URL {value} in {html}"
                );
            }
            rest = after.trim_start();
        }
    }
}

/// Asserts that every start tag is closed in order (`<br />`, `<hr />` and `<img />` close
/// themselves).
pub fn assert_balanced(html: &str) {
    let mut open: Vec<&str> = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = &tag[..tag
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag in {html}"))];
        if tag.ends_with('/') {
            continue;
        }
        match tag.strip_prefix('/') {
            Some(name) => assert_eq!(
                open.pop(),
                Some(name),
                "</{name}> closes the wrong tag in {html}"
            ),
            None => open.push(tag.split_whitespace().next().unwrap_or("")),
        }
    }
    assert!(open.is_empty(), "unclosed {open:?} in {html}");
}

/// Pieces that mean something to Markdown (or to a browser), plus plain and multibyte text:
/// the alphabet of the property tests' random Markdown.
pub const PIECES: &[&str] = &[
    "*",
    "**",
    "_",
    "__",
    "`",
    "```",
    "~",
    "~~",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "> ",
    "!",
    "![",
    "#",
    "# ",
    "-",
    "- ",
    "1. ",
    "2) ",
    "|",
    "| a | b |\n|---|:-:|\n",
    "|---|",
    "&",
    "&amp;",
    "&#106;",
    "&hellip;",
    "&nbsp;",
    "&#x0;",
    "&copy;",
    "\\",
    "\"",
    "'",
    ":",
    "javascript:",
    "https://x.test",
    "mailto:a@b.c",
    "data:",
    "<a href=\"",
    "<script>",
    "<div>",
    "<!--",
    "-->",
    "<https://x.test>",
    "<a@b.c>",
    "[id]: ",
    "](https://x.test)",
    "](javascript:x)",
    "\n",
    "\n",
    "\n\n",
    " ",
    "  ",
    "    ",
    "\t",
    "a",
    "b",
    "word",
    "é",
    "日本",
    "🙂",
    "\u{a0}",
    "\r\n",
    "\0",
    "===",
    "---",
];

/// Inputs that explode a naive Markdown parser (deep nesting, long runs of one character),
/// about `n` characters each: for the test that they render without deep recursion, and for
/// the example that times them.
pub fn pathological_inputs(n: usize) -> Vec<String> {
    vec![
        "[".repeat(n),
        "]".repeat(n),
        "*".repeat(n),
        "a".to_owned() + &"*".repeat(n),
        "*a ".repeat(n / 3),
        "**a* ".repeat(n / 5),
        "_a_ ".repeat(n / 4),
        "`".repeat(n),
        "a` ``".repeat(n / 5),
        ">".repeat(n),
        "> ".repeat(n),
        "- ".repeat(n / 2) + "item",
        (0..n / 10).map(|i| " ".repeat(i % 200) + "- a\n").collect(),
        (0..n / 10).map(|i| ">".repeat(i % 100) + " a\n").collect(),
        "![".repeat(n / 2),
        "[a](".repeat(n / 4),
        "[a](x \"".repeat(n / 6),
        "[".repeat(n / 2) + &"[a](https://x.test)".repeat(n / 40),
        "[a](".to_owned() + &"(".repeat(n),
        "<!--".repeat(n / 4),
        "<a b=\"".repeat(n / 6),
        "&".repeat(n),
        "~a ".repeat(n / 3),
        "|".repeat(n) + "\n" + &"|-".repeat(n / 2),
        "\\".repeat(n),
    ]
}
