//! The exact HTML for each Markdown construct a bot may use. The shape is pulldown-cmark's
//! `push_html` (apart from the safety rules): the stylesheet and the browser tests rely on it.

use chat_widget_protocol::markdown::checks::{assert_balanced, assert_inert};
use chat_widget_protocol::markdown::{plain_text, render_markdown};

/// Renders, and checks the output is inert and balanced on the way.
fn render(markdown: &str) -> String {
    let html = render_markdown(markdown);
    assert_inert(&html);
    assert_balanced(&html);
    html
}

const LINK: &str = "target=\"_blank\" rel=\"noopener noreferrer\"";

#[test]
fn paragraphs_keep_soft_breaks_as_newlines() {
    assert_eq!(
        render("One line\nand the next.\n\nSecond paragraph.\n"),
        "<p>One line\nand the next.</p>\n<p>Second paragraph.</p>\n"
    );
}

#[test]
fn two_trailing_spaces_or_a_backslash_break_the_line() {
    assert_eq!(
        render("Two spaces  \nthen a backslash\\\nand the end.  "),
        "<p>Two spaces<br />\nthen a backslash<br />\nand the end.</p>\n"
    );
}

#[test]
fn atx_headings_from_one_to_six_hashes() {
    assert_eq!(
        render("# One\n## Two ##\n### Three\n#### Four\n##### Five\n###### Six\n####### Seven\n#hashtag"),
        "<h1>One</h1>\n<h2>Two</h2>\n<h3>Three</h3>\n<h4>Four</h4>\n<h5>Five</h5>\n<h6>Six</h6>\n<p>####### Seven\n#hashtag</p>\n"
    );
}

#[test]
fn setext_headings_underline_a_paragraph() {
    assert_eq!(
        render("Big\n===\n\nSmall\n---\n"),
        "<h1>Big</h1>\n<h2>Small</h2>\n"
    );
}

#[test]
fn thematic_breaks() {
    assert_eq!(
        render("***\n---\n___\n* * *\n"),
        "<hr />\n<hr />\n<hr />\n<hr />\n"
    );
    assert_eq!(
        render("Text\n\n---\nMore"),
        "<p>Text</p>\n<hr />\n<p>More</p>\n"
    );
}

#[test]
fn fenced_code_names_its_language_and_escapes_its_content() {
    assert_eq!(
        render("```rust\nfn main() { println!(\"<hi> & bye\"); }\n```\n"),
        "<pre><code class=\"language-rust\">fn main() { println!(\"&lt;hi&gt; &amp; bye\"); }\n</code></pre>\n"
    );
    assert_eq!(
        render("~~~\ntilde fence\n~~~\n"),
        "<pre><code>tilde fence\n</code></pre>\n"
    );
    assert_eq!(
        render("```js title=\"x\"\n**not bold**\n```"),
        "<pre><code class=\"language-js\">**not bold**\n</code></pre>\n"
    );
}

#[test]
fn an_unclosed_fence_runs_to_the_end() {
    assert_eq!(
        render("```python\nnever closed\n"),
        "<pre><code class=\"language-python\">never closed\n</code></pre>\n"
    );
    assert_eq!(
        render("```\nstill typing"),
        "<pre><code>still typing</code></pre>\n"
    );
}

#[test]
fn four_spaces_make_indented_code() {
    assert_eq!(
        render("Text\n\n    indented code\n      keeps <indentation>\n\nAfter\n"),
        "<p>Text</p>\n<pre><code>indented code\n  keeps &lt;indentation&gt;\n</code></pre>\n<p>After</p>\n"
    );
}

#[test]
fn block_quotes_nest_and_continue_lazily() {
    assert_eq!(
        render("> quoted\n> > nested\nlazy line\n"),
        "<blockquote>\n<p>quoted</p>\n<blockquote>\n<p>nested\nlazy line</p>\n</blockquote>\n</blockquote>\n"
    );
    assert_eq!(
        render("> # Title\n> - item"),
        "<blockquote>\n<h1>Title</h1>\n<ul>\n<li>item</li>\n</ul>\n</blockquote>\n"
    );
}

#[test]
fn each_bullet_character_starts_its_own_list() {
    assert_eq!(
        render("- dash\n- items\n\n* star\n\n+ plus\n"),
        "<ul>\n<li>dash</li>\n<li>items</li>\n</ul>\n<ul>\n<li>star</li>\n</ul>\n<ul>\n<li>plus</li>\n</ul>\n"
    );
}

#[test]
fn ordered_lists_say_where_they_start() {
    assert_eq!(
        render("1. one\n2. two\n\n3) three\n4) four\n"),
        "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n<ol start=\"3\">\n<li>three</li>\n<li>four</li>\n</ol>\n"
    );
    assert_eq!(
        render("007. seven\n8. eight"),
        "<ol start=\"7\">\n<li>seven</li>\n<li>eight</li>\n</ol>\n"
    );
}

#[test]
fn a_list_only_interrupts_a_paragraph_when_it_clearly_is_one() {
    assert_eq!(
        render("The year\n2024. was good"),
        "<p>The year\n2024. was good</p>\n"
    );
    assert_eq!(
        render("Steps:\n1. open\n- or this"),
        "<p>Steps:</p>\n<ol>\n<li>open</li>\n</ol>\n<ul>\n<li>or this</li>\n</ul>\n"
    );
}

#[test]
fn lists_nest_by_indentation() {
    assert_eq!(
        render("- outer\n  - inner\n    - innermost\n- back out\n"),
        "<ul>\n<li>outer\n<ul>\n<li>inner\n<ul>\n<li>innermost</li>\n</ul>\n</li>\n</ul>\n</li>\n<li>back out</li>\n</ul>\n"
    );
    assert_eq!(
        render("1. step\n   ```\n   code\n   ```"),
        "<ol>\n<li>step\n<pre><code>code\n</code></pre>\n</li>\n</ol>\n"
    );
}

#[test]
fn a_blank_line_between_items_makes_a_loose_list_with_paragraphs() {
    assert_eq!(
        render("- loose one\n\n- loose two\n"),
        "<ul>\n<li>\n<p>loose one</p>\n</li>\n<li>\n<p>loose two</p>\n</li>\n</ul>\n"
    );
    assert_eq!(
        render("1. First\n\n   More of first.\n2. Second\n"),
        "<ol>\n<li>\n<p>First</p>\n<p>More of first.</p>\n</li>\n<li>\n<p>Second</p>\n</li>\n</ol>\n"
    );
    assert_eq!(
        render("- a\n- b\n\n  [ref]: /url\n- d\n"),
        "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n<li>\n<p>d</p>\n</li>\n</ul>\n"
    );
}

#[test]
fn tables_have_a_head_a_body_and_columns_aligned_by_class() {
    assert_eq!(
        render("| Left | Center | Right | None |\n|:-----|:------:|------:|------|\n| a | **b** | `c` | d |\n| only one |\n"),
        "<table><thead><tr><th class=\"cw-align-left\">Left</th><th class=\"cw-align-center\">Center</th>\
         <th class=\"cw-align-right\">Right</th><th>None</th></tr></thead><tbody>\n\
         <tr><td class=\"cw-align-left\">a</td><td class=\"cw-align-center\"><strong>b</strong></td>\
         <td class=\"cw-align-right\"><code>c</code></td><td>d</td></tr>\n\
         <tr><td class=\"cw-align-left\">only one</td><td class=\"cw-align-center\"></td>\
         <td class=\"cw-align-right\"></td><td></td></tr>\n</tbody></table>\n"
    );
}

#[test]
fn a_table_may_follow_a_paragraph_line_and_escape_its_pipes() {
    assert_eq!(
        render("Intro line\n| a \\| b | c |\n| --- | --- |\n| 1 | 2 | 3 |\n\nAfter"),
        "<p>Intro line</p>\n<table><thead><tr><th>a | b</th><th>c</th></tr></thead><tbody>\n<tr><td>1</td><td>2</td></tr>\n</tbody></table>\n<p>After</p>\n"
    );
    assert_eq!(
        render("a | b\n--|--"),
        "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>\n</tbody></table>\n"
    );
    assert_eq!(
        render("| a | b |\n|---|\n"),
        "<p>| a | b |\n|---|</p>\n",
        "the columns must match"
    );
}

#[test]
fn code_spans_take_backtick_runs_of_equal_length() {
    assert_eq!(
        render("Use `code`, ``a ` tick``, `` `spaced` `` and `unclosed."),
        "<p>Use <code>code</code>, <code>a ` tick</code>, <code>`spaced`</code> and `unclosed.</p>\n"
    );
    assert_eq!(
        render("`<b>*not*</b>`"),
        "<p><code>&lt;b&gt;*not*&lt;/b&gt;</code></p>\n"
    );
}

#[test]
fn emphasis_strong_and_strikethrough() {
    assert_eq!(
        render("*em* _em_ **strong** __strong__ ***both*** snake_case_word 2*3*4 ~~gone~~ ~one~"),
        "<p><em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong> <em><strong>both</strong></em> \
         snake_case_word 2<em>3</em>4 <del>gone</del> <del>one</del></p>\n"
    );
    assert_eq!(
        render("**bold *and em* inside**"),
        "<p><strong>bold <em>and em</em> inside</strong></p>\n"
    );
    assert_eq!(
        render("a * not em * b, ~~~not struck~~~"),
        "<p>a * not em * b, ~~~not struck~~~</p>\n"
    );
}

#[test]
fn backslash_escapes_make_punctuation_literal() {
    assert_eq!(
        render("\\*not em\\* \\# \\[x\\] \\\\ \\` \\a"),
        "<p>*not em* # [x] \\ ` \\a</p>\n"
    );
}

#[test]
fn entity_references_decode_every_name_and_number() {
    assert_eq!(
        render("&amp; &lt; &copy; &mdash; &hellip; &euro; &#169; &#x263A; &#0; &#xD800; &#1114112; &bogus; &AElig; &#12345678;"),
        "<p>&amp; &lt; © — … € © ☺ \u{fffd} \u{fffd} \u{fffd} &amp;bogus; Æ &amp;#12345678;</p>\n"
    );
    assert_eq!(
        render("&ThickSpace;&nbsp;&hellip;&frac12;&rarr;&check;"),
        "<p>\u{205f}\u{200a}\u{a0}…½→✓</p>\n"
    );
    let names = "amp lt gt quot apos nbsp copy reg trade hellip mdash ndash laquo raquo lsquo rsquo ldquo rdquo \
                 bull middot times divide deg euro pound yen cent sect para";
    let all: String = names.split(' ').map(|name| format!("&{name};")).collect();
    assert_eq!(
        render(&all),
        "<p>&amp;&lt;&gt;\"'\u{a0}©®™…—–«»‘’“”•·×÷°€£¥¢§¶</p>\n"
    );
}

#[test]
fn inline_links_with_titles_angle_destinations_and_parentheses() {
    assert_eq!(
        render("[link](https://example.com/a_(b)_c \"The title\") and [angle](<https://example.com/x y>) and [empty]()"),
        format!(
            "<p><a href=\"https://example.com/a_(b)_c\" title=\"The title\" {LINK}>link</a> and \
             <a href=\"https://example.com/x%20y\" {LINK}>angle</a> and empty</p>\n"
        )
    );
    assert_eq!(
        render("[**bold** link](http://x.test)"),
        format!("<p><a href=\"http://x.test\" {LINK}><strong>bold</strong> link</a></p>\n")
    );
}

#[test]
fn reference_links_full_collapsed_and_shortcut_defined_anywhere() {
    assert_eq!(
        render(
            "[Full][ID] and [collapsed][] and [shortcut] and [Missing][nope].\n\n\
             [id]:   https://example.com/full   'Full title'\n[Collapsed]: https://example.com/c\n[SHORTCUT]: <https://example.com/s>\n"
        ),
        format!(
            "<p><a href=\"https://example.com/full\" title=\"Full title\" {LINK}>Full</a> and \
             <a href=\"https://example.com/c\" {LINK}>collapsed</a> and <a href=\"https://example.com/s\" {LINK}>shortcut</a> \
             and [Missing][nope].</p>\n"
        )
    );
}

#[test]
fn reference_labels_ignore_case_and_runs_of_whitespace() {
    assert_eq!(
        render("[the  docs][Docs Page] and [ÄÖ]\n\n[docs\npage]: https://example.com/docs\n[äö]: https://example.com/umlaut"),
        format!("<p><a href=\"https://example.com/docs\" {LINK}>the  docs</a> and <a href=\"https://example.com/umlaut\" {LINK}>ÄÖ</a></p>\n")
    );
    assert_eq!(
        render("[first]\n\n[first]: https://a.test\n[FIRST]: https://b.test"),
        format!("<p><a href=\"https://a.test\" {LINK}>first</a></p>\n")
    );
    // Greek, Cyrillic and Latin Extended-A capitals (both pairings) match their small letters.
    for (upper, lower) in [
        ("ΑΘΗΝΑ", "αθηνα"),
        ("ЁЖИК", "ёжик"),
        ("ŁÓDŹ", "łódź"),
        ("ĀĽŊŸ", "āľŋÿ"),
    ] {
        assert_eq!(
            render(&format!("[{upper}]\n\n[{lower}]: https://example.com/x")),
            format!("<p><a href=\"https://example.com/x\" {LINK}>{upper}</a></p>\n"),
            "{upper}"
        );
    }
}

#[test]
fn links_do_not_nest() {
    assert_eq!(
        render("[a [b](https://b.test) c](https://a.test)"),
        format!(
            "<p>[a <a href=\"https://b.test\" {LINK}>b</a> c](<a href=\"https://a.test\" {LINK}>https://a.test</a>)</p>\n"
        ),
        "the outer link is text, where its address is a link of its own"
    );
}

#[test]
fn bare_web_and_email_addresses_are_links() {
    assert_eq!(
        render("Track it at https://acme.test/track?id=4_2&x=1, or write to help@acme.test."),
        format!(
            "<p>Track it at <a href=\"https://acme.test/track?id=4_2&amp;x=1\" {LINK}>https://acme.test/track?id=4_2&amp;x=1</a>, \
             or write to <a href=\"mailto:help@acme.test\" {LINK}>help@acme.test</a>.</p>\n"
        ),
        "found whole across the parser's pieces (`_`, `&`), without the sentence's punctuation"
    );
    assert_eq!(
        render("(see https://x.test/a_(b)) `https://x.test/code` [text](https://y.test) ftp://z.test javascript://x.test"),
        format!(
            "<p>(see <a href=\"https://x.test/a_(b)\" {LINK}>https://x.test/a_(b)</a>) <code>https://x.test/code</code> \
             <a href=\"https://y.test\" {LINK}>text</a> ftp://z.test javascript://x.test</p>\n"
        ),
        "balanced parentheses kept; not in code or a link's text; other schemes stay text"
    );
    assert_eq!(
        render("```\nhttps://x.test\n```\n\n| site |\n|---|\n| https://x.test |\n\n# https://h.test"),
        format!(
            "<pre><code>https://x.test\n</code></pre>\n<table><thead><tr><th>site</th></tr></thead><tbody>\n\
             <tr><td><a href=\"https://x.test\" {LINK}>https://x.test</a></td></tr>\n</tbody></table>\n\
             <h1><a href=\"https://h.test\" {LINK}>https://h.test</a></h1>\n"
        ),
        "in cells and headings, not in code blocks"
    );
}

#[test]
fn autolinks_for_urls_and_email_addresses() {
    assert_eq!(
        render("<https://example.com/path?q=1&r=2> and <someone@example.com> and <not a link>"),
        format!(
            "<p><a href=\"https://example.com/path?q=1&amp;r=2\" {LINK}>https://example.com/path?q=1&amp;r=2</a> and \
             <a href=\"mailto:someone@example.com\" {LINK}>someone@example.com</a> and &lt;not a link&gt;</p>\n"
        )
    );
}

#[test]
fn images_have_plain_alt_text_and_a_title() {
    assert_eq!(
        render("![A *cute* `cat`](https://example.com/cat.png \"Cat's photo\") ![](http://x.test/e.png)"),
        "<p><img src=\"https://example.com/cat.png\" alt=\"A cute cat\" title=\"Cat&#39;s photo\" /> <img src=\"http://x.test/e.png\" alt=\"\" /></p>\n"
    );
    assert_eq!(
        render("![x](https://x.test/a b.png) ![y](<https://x.test/é [1].png>)"),
        format!("<p>![x](<a href=\"https://x.test/a\" {LINK}>https://x.test/a</a> b.png) <img src=\"https://x.test/%C3%A9%20%5B1%5D.png\" alt=\"y\" /></p>\n"),
        "a space ends a destination; unusual characters are percent-encoded"
    );
}

#[test]
fn raw_html_is_text_whether_inline_or_a_block() {
    assert_eq!(
        render("Inline <span class=\"*x*\">html</span> and <!-- *comment* --> stay text.\n\n<div>\na block\n</div>"),
        "<p>Inline &lt;span class=\"*x*\"&gt;html&lt;/span&gt; and &lt;!-- *comment* --&gt; stay text.</p>\n\
         <p>&lt;div&gt;\na block\n&lt;/div&gt;</p>\n"
    );
}

#[test]
fn text_is_escaped_and_quotes_stay_as_they_are() {
    assert_eq!(
        render("Quotes \"double\" and 'single' & <angle> 1 < 2 > 0"),
        "<p>Quotes \"double\" and 'single' &amp; &lt;angle&gt; 1 &lt; 2 &gt; 0</p>\n"
    );
}

#[test]
fn windows_line_endings_and_nul_characters() {
    assert_eq!(
        render("# Title\r\n\r\n- a\r\n- b\r\n"),
        "<h1>Title</h1>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"
    );
    assert_eq!(render("a\0b"), "<p>a\u{fffd}b</p>\n");
}

#[test]
fn quotes_and_lists_nest_at_most_32_deep() {
    let html = render(&format!("{} deep", ">".repeat(40)));
    assert_eq!(html.matches("<blockquote>").count(), 32);
    assert!(
        html.contains("<p>deep</p>"),
        "deeper quotes lose their tags, not their text: {html}"
    );
    let html = render(&format!("{}item", "- ".repeat(40)));
    assert_eq!(html.matches("<li>").count(), 32);
}

#[test]
fn plain_text_reads_tables_code_and_images_as_words() {
    assert_eq!(
        plain_text("| Plan | Price |\n|---|---|\n| Pro | **$9** |\n\n```\nlet x = 1;\n```\n\n![a chart](https://x.test/c.png) ~~old~~"),
        "Plan Price Pro $9 let x = 1; a chart old"
    );
}
