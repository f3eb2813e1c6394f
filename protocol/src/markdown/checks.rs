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
