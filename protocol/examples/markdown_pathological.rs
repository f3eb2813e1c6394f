//! Times the renderer on inputs that explode a naive Markdown parser (deep nesting, long
//! runs of one character), 50,000 characters each: `cargo run --release -p chat-widget-protocol
//! --example markdown_pathological`. A benchmark that prints figures, not a test.
use chat_widget_protocol::markdown::checks::pathological_inputs;
use chat_widget_protocol::markdown::render_markdown;
fn main() {
    let inputs = pathological_inputs(50_000);
    for (i, text) in inputs.iter().enumerate() {
        let t = std::time::Instant::now();
        let html = render_markdown(text);
        println!("{i}: {:?} {} bytes out", t.elapsed(), html.len());
    }
}
