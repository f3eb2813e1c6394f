//! Times the renderer on inputs that explode a naive Markdown parser (deep nesting, long
//! runs of one character), 50,000 characters each: `cargo run --release -p chat-widget-protocol
//! --example markdown_pathological`. A benchmark that prints figures, not a test.
use chat_widget_protocol::markdown::render_markdown;
fn main() {
    let n = 50_000;
    let inputs = [
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
    ];
    for (i, text) in inputs.iter().enumerate() {
        let t = std::time::Instant::now();
        let html = render_markdown(text);
        println!("{i}: {:?} {} bytes out", t.elapsed(), html.len());
    }
}
