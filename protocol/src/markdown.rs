//! Bot replies arrive as Markdown; this renders them to HTML that is safe to assign to
//! `innerHTML` in any page.
//!
//! The rules, in one place:
//! * Raw HTML in a reply (block or inline) is shown as text, never parsed.
//! * Links survive only with an `http:`, `https:` or `mailto:` URL, and open in a new tab with
//!   `rel="noopener noreferrer"`; any other link keeps its text and loses its anchor.
//! * Images survive only with an `http:` or `https:` URL; others are dropped, alt text and all.
//! * The scheme is checked after pulldown-cmark has decoded entities and escapes, so
//!   `&#106;avascript:` is seen as `javascript:`.

use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// The URL schemes a link may have.
const LINK_SCHEMES: [&str; 3] = ["http:", "https:", "mailto:"];
/// The URL schemes an image may have.
const IMAGE_SCHEMES: [&str; 2] = ["http:", "https:"];

/// Renders Markdown to safe HTML. See the module docs for what is kept.
pub fn render_markdown(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    html::push_html(&mut out, SafeEvents::new(Parser::new_ext(markdown, options)));
    out
}

/// Returns the URL, trimmed, if its scheme is one of `schemes`; `None` otherwise.
///
/// Browsers ignore leading spaces and control characters and ASCII tabs and newlines
/// anywhere in a URL, so any control character at all disqualifies it.
pub fn allowed_url<'u>(url: &'u str, schemes: &[&str]) -> Option<&'u str> {
    let url = url.trim();
    if url.chars().any(char::is_control) {
        return None;
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    schemes.iter().any(|scheme| lower.starts_with(scheme)).then_some(url)
}

/// Escapes text for an HTML attribute value in double quotes.
fn escape_attribute(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// An event filter over the parser that applies the module's rules.
struct SafeEvents<'a, I> {
    inner: I,
    /// For each open link, whether we emitted an anchor for it (so its end emits `</a>`).
    open_links: Vec<bool>,
    /// Nesting depth inside a dropped image: everything in it is skipped.
    skipping_image: usize,
    _marker: std::marker::PhantomData<&'a ()>,
}

impl<'a, I: Iterator<Item = Event<'a>>> SafeEvents<'a, I> {
    fn new(inner: I) -> Self {
        Self { inner, open_links: Vec::new(), skipping_image: 0, _marker: std::marker::PhantomData }
    }

    fn anchor(link_type: LinkType, dest: &str, title: &str) -> Option<Event<'a>> {
        let dest = if link_type == LinkType::Email { format!("mailto:{dest}") } else { dest.to_owned() };
        let url = allowed_url(&dest, &LINK_SCHEMES)?;
        let mut tag = String::from("<a href=\"");
        escape_attribute(url, &mut tag);
        tag.push('"');
        if !title.is_empty() {
            tag.push_str(" title=\"");
            escape_attribute(title, &mut tag);
            tag.push('"');
        }
        tag.push_str(" target=\"_blank\" rel=\"noopener noreferrer\">");
        Some(Event::InlineHtml(CowStr::from(tag)))
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for SafeEvents<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let event = self.inner.next()?;
            if self.skipping_image > 0 {
                match event {
                    Event::Start(Tag::Image { .. }) => self.skipping_image += 1,
                    Event::End(TagEnd::Image) => self.skipping_image -= 1,
                    _ => {}
                }
                continue;
            }
            return Some(match event {
                // Raw HTML from the reply is text. Only this filter emits HTML events.
                Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
                Event::Start(Tag::Link { link_type, dest_url, title, .. }) => {
                    match Self::anchor(link_type, &dest_url, &title) {
                        Some(anchor) => {
                            self.open_links.push(true);
                            anchor
                        }
                        None => {
                            self.open_links.push(false);
                            continue;
                        }
                    }
                }
                Event::End(TagEnd::Link) => {
                    if self.open_links.pop().unwrap_or(false) {
                        Event::InlineHtml(CowStr::Borrowed("</a>"))
                    } else {
                        continue;
                    }
                }
                Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                    match allowed_url(&dest_url, &IMAGE_SCHEMES) {
                        Some(url) => {
                            let dest_url = CowStr::from(url.to_owned());
                            Event::Start(Tag::Image { link_type, dest_url, title, id })
                        }
                        None => {
                            self.skipping_image = 1;
                            continue;
                        }
                    }
                }
                other => other,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that every tag in the output is one Markdown makes, with only harmless
    /// attributes and only allowed URLs. Text is escaped, so every literal `<` opens a real tag.
    fn assert_inert(html: &str) {
        const TAGS: [&str; 26] = [
            "p", "em", "strong", "del", "code", "pre", "ul", "ol", "li", "blockquote", "a", "img",
            "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "table", "thead", "tbody", "tr", "th", "td",
        ];
        const ATTRIBUTES: [&str; 9] = ["href", "title", "target", "rel", "src", "alt", "class", "start", "style"];
        for tag in html.split('<').skip(1) {
            let tag = &tag[..tag.find('>').unwrap_or_else(|| panic!("unclosed tag in {html}"))];
            let tag = tag.trim_start_matches('/').trim_end_matches('/').trim();
            let name = tag.split_whitespace().next().unwrap_or("");
            assert!(TAGS.contains(&name), "tag <{name}> in {html}");
            // Attribute values are quoted and escaped, so splitting on `" ` finds each name.
            for attribute in tag[name.len()..].split("\" ").map(str::trim).filter(|a| !a.is_empty()) {
                let (key, value) = attribute.split_once("=\"").unwrap_or((attribute, ""));
                assert!(ATTRIBUTES.contains(&key), "attribute {key} in {html}");
                assert!(key != "style" || value.starts_with("text-align:"), "style {value} in {html}");
                if key == "href" || key == "src" {
                    assert!(allowed_url(value, &LINK_SCHEMES).is_some(), "URL {value} in {html}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "tag <script>")]
    fn the_inertness_check_itself_catches_a_live_tag() {
        assert_inert("<p>hi</p><script>alert(1)</script>");
    }

    #[test]
    fn renders_ordinary_markdown() {
        let html = render_markdown("**Bold** and _em_\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n\n`x < y`");
        assert!(html.contains("<strong>Bold</strong>"));
        assert!(html.contains("<em>em</em>"));
        assert!(html.contains("<li>one</li>"));
        assert!(html.contains("<pre><code class=\"language-rust\">fn main() {}\n</code></pre>"));
        assert!(html.contains("<code>x &lt; y</code>"));
    }

    #[test]
    fn script_and_iframe_tags_are_shown_as_text() {
        let html = render_markdown("<script>alert(1)</script>\n\nhi <iframe src=\"https://evil.example\"></iframe>");
        assert_inert(&html);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("&lt;iframe"), "{html}");
    }

    #[test]
    fn event_handler_attributes_are_shown_as_text() {
        let html = render_markdown("<img src=x onerror=alert(1)>\n\ntext <b onclick=\"steal()\">bold</b>");
        assert_inert(&html);
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");
    }

    #[test]
    fn dangerous_inline_links_lose_their_anchor_but_keep_their_text() {
        for url in ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:msgbox(1)", "data:text/html;base64,PHNjcmlwdD4=", " javascript:alert(1)"] {
            let html = render_markdown(&format!("[click me]({url})"));
            assert_inert(&html);
            assert!(!html.contains("<a"), "{url} kept an anchor: {html}");
            assert!(html.contains("click me"), "{url} lost its text: {html}");
        }
    }

    #[test]
    fn dangerous_reference_links_are_dropped() {
        let html = render_markdown("[click][evil] and [more][data]\n\n[evil]: javascript:alert(1)\n[data]: data:text/html,<script>x</script>");
        assert_inert(&html);
        assert!(!html.contains("<a"), "{html}");
        assert!(html.contains("click") && html.contains("more"));
    }

    #[test]
    fn dangerous_autolinks_are_dropped() {
        let html = render_markdown("<javascript:alert(1)> and <vbscript:x> and <data:text/html,hi>");
        assert_inert(&html);
        assert!(!html.contains("<a"), "{html}");
    }

    #[test]
    fn entity_encoded_schemes_are_caught_after_decoding() {
        for url in ["&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "javascript&colon;alert(1)", "jav&#x09;ascript:alert(1)", "java%0ascript:alert(1)"] {
            let html = render_markdown(&format!("[x]({url})"));
            assert_inert(&html);
            assert!(!html.contains("<a"), "{url} kept an anchor: {html}");
        }
    }

    #[test]
    fn safe_links_open_in_a_new_tab_without_opener() {
        let html = render_markdown("[docs](https://example.com/a?b=1&c=\"2\" \"Title\") <http://x.test> <help@example.com> [mail](mailto:a@b.c)");
        assert!(html.contains("<a href=\"https://example.com/a?b=1&amp;c=&quot;2&quot;\" title=\"Title\" target=\"_blank\" rel=\"noopener noreferrer\">docs</a>"), "{html}");
        assert!(html.contains("<a href=\"http://x.test\" target=\"_blank\" rel=\"noopener noreferrer\">http://x.test</a>"), "{html}");
        assert!(html.contains("<a href=\"mailto:help@example.com\""), "{html}");
        assert!(html.contains("<a href=\"mailto:a@b.c\""), "{html}");
    }

    #[test]
    fn relative_and_protocol_relative_links_are_not_kept() {
        let html = render_markdown("[a](/admin) [b](//evil.example/x) [c](#top)");
        assert!(!html.contains("<a"), "{html}");
    }

    #[test]
    fn images_are_kept_only_for_http_and_https() {
        let html = render_markdown("![cat](https://example.com/cat.png \"a cat\")");
        assert!(html.contains("<img src=\"https://example.com/cat.png\" alt=\"cat\" title=\"a cat\" />"), "{html}");
        for url in ["javascript:alert(1)", "data:image/svg+xml;base64,PHN2Zz4=", "/local.png", "file:///etc/passwd"] {
            let html = render_markdown(&format!("before ![secret alt]({url}) after"));
            assert_inert(&html);
            assert!(!html.contains("<img"), "{url}: {html}");
            assert!(!html.contains("secret alt"), "{url}: {html}");
            assert!(html.contains("before") && html.contains("after"));
        }
    }

    #[test]
    fn an_image_inside_a_link_and_a_link_inside_a_dropped_image() {
        let html = render_markdown("[![ok](https://x.test/i.png)](javascript:alert(1))");
        assert!(html.contains("<img src=\"https://x.test/i.png\""), "{html}");
        assert!(!html.contains("<a"), "{html}");
        let html = render_markdown("![alt [inner](https://x.test)](data:x)");
        assert!(!html.contains("<img") && !html.contains("<a"), "{html}");
    }

    #[test]
    fn unbalanced_and_nested_html_cannot_break_out() {
        let html = render_markdown("</div></p><p onmouseover=x>\n\n`</code><script>` text </a>");
        assert_inert(&html);
        assert!(!html.contains("</div>") && !html.contains("</a>"), "{html}");
    }

    #[test]
    fn allowed_url_rules() {
        assert_eq!(allowed_url(" https://a.b ", &LINK_SCHEMES), Some("https://a.b"));
        assert_eq!(allowed_url("HTTPS://A.B", &LINK_SCHEMES), Some("HTTPS://A.B"));
        assert_eq!(allowed_url("https://a\n.b", &LINK_SCHEMES), None);
        assert_eq!(allowed_url("mailto:a@b", &IMAGE_SCHEMES), None);
        assert_eq!(allowed_url("httpx://a", &LINK_SCHEMES), None);
    }
}
