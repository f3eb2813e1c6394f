//! Differential test: our HTML is pulldown-cmark's own `html::push_html` output, except where a
//! safety rule changes it on purpose. The expected side here applies those rules itself, to
//! pulldown-cmark's events before `push_html` and to its output after, and names each rule
//! that fired, so a failure says which rule (if any) was involved.

use chat_widget_protocol::markdown::checks::{assert_balanced, assert_inert, PIECES};
use chat_widget_protocol::markdown::{allowed_url, render_markdown, IMAGE_SCHEMES, LINK_SCHEMES};
use linkify::{LinkFinder, LinkKind};
use proptest::prelude::*;
use pulldown_cmark::utils::TextMergeStream;
use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// `events` with the addresses in their text made links (not inside a link, an image's alt
/// text or a code block), as GitHub's Markdown does; `linked` says whether one was.
fn linkified<'a>(events: impl Iterator<Item = Event<'a>>, linked: &mut bool) -> Vec<Event<'a>> {
    let mut finder = LinkFinder::new();
    finder.url_must_have_scheme(true);
    let (mut links, mut images, mut code) = (0usize, 0usize, false);
    let mut out = Vec::new();
    for event in events {
        match &event {
            Event::Start(Tag::Link { .. }) => links += 1,
            Event::End(TagEnd::Link) => links -= 1,
            Event::Start(Tag::Image { .. }) => images += 1,
            Event::End(TagEnd::Image) => images -= 1,
            Event::Start(Tag::CodeBlock(_)) => code = true,
            Event::End(TagEnd::CodeBlock) => code = false,
            Event::Text(text) if links == 0 && images == 0 && !code => {
                for span in finder.spans(text) {
                    let link_type = match span.kind() {
                        Some(LinkKind::Url)
                            if allowed_url(span.as_str(), &LINK_SCHEMES).is_some() =>
                        {
                            LinkType::Autolink
                        }
                        Some(LinkKind::Email) => LinkType::Email,
                        _ => {
                            out.push(Event::Text(CowStr::from(span.as_str().to_owned())));
                            continue;
                        }
                    };
                    *linked = true;
                    out.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url: CowStr::from(span.as_str().to_owned()),
                        title: CowStr::from(""),
                        id: CowStr::from(""),
                    }));
                    out.push(Event::Text(CowStr::from(span.as_str().to_owned())));
                    out.push(Event::End(TagEnd::Link));
                }
                continue;
            }
            _ => {}
        }
        out.push(event);
    }
    out
}

/// pulldown-cmark's HTML for `markdown` with the safety rules applied, and the rules that fired.
fn expected(markdown: &str) -> (String, Vec<&'static str>) {
    let mut rules = Vec::new();
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Raw HTML is shown as text, in one piece with the text around it.
    let mut raw = false;
    let parsed = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => {
            raw = true;
            Event::Text(text)
        }
        event => event,
    });
    let mut linked = false;
    let events = linkified(TextMergeStream::new(parsed), &mut linked);
    if raw {
        rules.push("raw HTML is text");
    }
    if linked {
        rules.push("a web or email address in text is a link");
    }
    let mut kept: Vec<Event> = Vec::with_capacity(events.len());
    // For each open link: whether it is kept. For each open quote, list or item: whether its
    // tags are kept.
    let mut links = Vec::new();
    let mut containers: Vec<(bool, bool)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let event = events[i].clone();
        i += 1;
        match event {
            Event::Start(Tag::HtmlBlock) => {
                rules.push("an HTML block is a paragraph of text");
                kept.push(Event::Start(Tag::Paragraph));
            }
            Event::End(TagEnd::HtmlBlock) => {
                if let Some(Event::Text(last)) = kept.last_mut() {
                    if let Some(trimmed) = last.strip_suffix('\n') {
                        *last = CowStr::from(trimmed.to_owned());
                    }
                }
                kept.push(Event::End(TagEnd::Paragraph));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let allowed =
                    link_type == LinkType::Email || allowed_url(&dest_url, &LINK_SCHEMES).is_some();
                links.push(allowed);
                if allowed {
                    if dest_url.trim() != &*dest_url {
                        rules.push("a URL is trimmed");
                    }
                    let dest_url = CowStr::from(dest_url.trim().to_owned());
                    kept.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                } else {
                    rules.push("a link without an allowed scheme loses its anchor");
                }
            }
            Event::End(TagEnd::Link) => {
                if links.pop().unwrap_or(true) {
                    kept.push(Event::End(TagEnd::Link));
                }
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                if allowed_url(&dest_url, &IMAGE_SCHEMES).is_some() {
                    let dest_url = CowStr::from(dest_url.trim().to_owned());
                    kept.push(Event::Start(Tag::Image {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                    // Its content is only its alt text (push_html escapes all of it).
                    let mut nesting = 0;
                    while let Some(event) = events.get(i) {
                        i += 1;
                        kept.push(event.clone());
                        match event {
                            Event::Start(_) => nesting += 1,
                            Event::End(_) if nesting == 0 => break,
                            Event::End(_) => nesting -= 1,
                            _ => {}
                        }
                    }
                } else {
                    rules.push("an image without an allowed scheme is dropped, alt text and all");
                    let mut nesting = 0;
                    while let Some(event) = events.get(i) {
                        i += 1;
                        match event {
                            Event::Start(_) => nesting += 1,
                            Event::End(_) if nesting == 0 => break,
                            Event::End(_) => nesting -= 1,
                            _ => {}
                        }
                    }
                }
            }
            Event::Start(tag @ (Tag::BlockQuote(_) | Tag::List(_))) => {
                let shown = containers.iter().filter(|c| !c.0).count() < 32;
                containers.push((false, shown));
                if shown {
                    kept.push(Event::Start(tag));
                } else {
                    rules.push("quotes and lists nest at most 32 deep");
                }
            }
            Event::Start(Tag::Item) => {
                let shown = containers.last().is_none_or(|c| c.1);
                containers.push((true, shown));
                if shown {
                    kept.push(Event::Start(Tag::Item));
                }
            }
            Event::End(tag @ (TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item)) => {
                if containers.pop().is_none_or(|c| c.1) {
                    kept.push(Event::End(tag));
                }
            }
            event => kept.push(event),
        }
    }
    let mut out = String::new();
    html::push_html(&mut out, kept.into_iter());
    if out.contains('\0') {
        rules.push("NUL becomes U+FFFD");
        out = out.replace('\0', "\u{fffd}");
    }
    // Links open in a new tab without an opener: attributes after the last one pulldown-cmark
    // writes (escaped values hold no `>`).
    if out.contains("<a href=\"") {
        rules.push("links get target and rel");
        let mut with = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find("<a href=\"") {
            let end = at + rest[at..].find('>').expect("tag end");
            with.push_str(&rest[..end]);
            with.push_str(" target=\"_blank\" rel=\"noopener noreferrer\">");
            rest = &rest[end + 1..];
        }
        with.push_str(rest);
        out = with;
    }
    for (style, class) in [
        ("left", "cw-align-left"),
        ("center", "cw-align-center"),
        ("right", "cw-align-right"),
    ] {
        let style = format!(" style=\"text-align: {style}\"");
        if out.contains(&style) {
            rules.push("table alignment is a class, not a style");
            out = out.replace(&style, &format!(" class=\"{class}\""));
        }
    }
    rules.dedup();
    (out, rules)
}

fn assert_same(markdown: &str) {
    let ours = render_markdown(markdown);
    let (theirs, rules) = expected(markdown);
    assert_eq!(
        ours, theirs,
        "for {markdown:?}; rules that fired: {rules:?}"
    );
    assert_inert(&ours);
    assert_balanced(&ours);
}

#[test]
fn hand_picked_markdown_matches_pulldown_cmark() {
    for markdown in [
        "# Title\n\nSome *emphasis*, **strong**, ~~struck~~ and `code`.\n",
        "- one\n- two\n  - nested\n\n1. first\n2. second\n",
        "- loose\n\n- list\n",
        "> quote\n> > nested\nlazy\n",
        "```rust\nfn main() {}\n```\n\n    indented\n",
        "| Left | Center | Right | None |\n|:-----|:------:|------:|------|\n| a | **b** | `c` | d |\n",
        "[link](https://example.com \"Title\") <https://x.test> <a@b.c> [mail](mailto:a@b.c)",
        "[bad](javascript:alert(1)) ![img](javascript:x) ![ok](https://x.test/a.png \"t\")",
        "[ref][r] and [r]\n\n[r]: https://example.com/r 'T'\n",
        "<div>\n*raw*\n</div>\n\ntext <b onclick=x>inline</b> <!-- c -->",
        "&hellip; &nbsp; &AElig; &copy; &#169; &#x263A; &bogus; &#0;",
        "Hard  \nbreak\\\nand soft\nbreak",
        "Setext\n===\n\nAnd\n---\n\n***\n",
        "[![img](https://x.test/i.png)](javascript:x) ![alt [inner](https://x.test)](data:x)",
        "[x](&#106;avascript:alert(1)) [y](< https://x.test/a b>)",
        "a\0b\r\nc",
        "Bare https://x.test/a_b?c=1&d=2. and (https://x.test/(x)) a@b.test <b>https://x.test</b> `https://c.test`",
        "[see https://x.test](https://y.test) ![https://x.test](https://i.test/p.png) ftp://f.test",
        &format!("{} deep", ">".repeat(40)),
        &format!("{}item", "- ".repeat(40)),
        "1. a\n\n   b\n2. c\n",
        "* a\n\n  ```\n  code\n\n  more\n  ```\n* b",
        "| a |\n|---|\n| <script>x</script> |\n| [l](https://x.test) |",
    ] {
        assert_same(markdown);
    }
}

#[test]
fn the_rules_that_fire_are_named() {
    let (_, rules) = expected("[a](javascript:x) <b>x</b>\n\n| a |\n|:-|\n| 1 |");
    assert!(
        rules.contains(&"a link without an allowed scheme loses its anchor"),
        "{rules:?}"
    );
    assert!(rules.contains(&"raw HTML is text"), "{rules:?}");
    assert!(
        rules.contains(&"table alignment is a class, not a style"),
        "{rules:?}"
    );
}

fn markdown() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn random_markdown_matches_pulldown_cmark(text in markdown()) {
        assert_same(&text);
    }

    #[test]
    fn any_string_matches_pulldown_cmark(text in any::<String>()) {
        assert_same(&text);
    }
}
