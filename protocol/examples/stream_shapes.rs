//! Streams the four one-block shapes of `bench/stream.mjs` (one long list, paragraph, code
//! block, table) through `MarkdownStream` in word-sized chunks, one update per chunk, and prints
//! the total and the slowest update: `cargo run --release -p chat-widget-protocol --example
//! stream_shapes [bytes]`. A benchmark that prints figures, not a test.
use chat_widget_protocol::markdown::{MarkdownStream, StreamOp};
use std::time::{Duration, Instant};

fn shape(shape: &str, bytes: usize) -> String {
    let words: Vec<&str> =
        "the widget streams every reply token by token so visitors can read along"
            .split(' ')
            .collect();
    let mut out = String::new();
    if shape == "table" {
        out.push_str("| # | item | price | note |\n|---:|:---|---:|:-:|\n");
    }
    if shape == "code" {
        out.push_str("```rust\n");
    }
    let mut i = 0;
    while out.len() < bytes {
        let word = words[i % words.len()];
        let other = words[(i + 3) % words.len()];
        match shape {
            "list" => out.push_str(&format!("- item {i} {word} **{other}** and `code`\n")),
            "paragraph" => out.push_str(&format!(
                "{} {}",
                if i % 7 == 3 {
                    format!("*{word}*")
                } else {
                    word.to_owned()
                },
                if i % 11 == 5 {
                    format!("[link](https://example.com/{i}) ")
                } else {
                    String::new()
                }
            )),
            "code" => out.push_str(&format!(
                "let value_{i} = compute({i}, \"{word}\"); // <{word}> & more\n"
            )),
            _ => out.push_str(&format!(
                "| {i} | {word} **{other}** | {}.00 | ok |\n",
                i * 3
            )),
        }
        i += 1;
    }
    if shape == "code" {
        out.push_str("```\n");
    }
    out
}

fn main() {
    let bytes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    for name in ["list", "paragraph", "code", "table"] {
        let text = shape(name, bytes);
        let mut stream = MarkdownStream::new();
        let (mut total, mut slowest) = (Duration::ZERO, Duration::ZERO);
        let (mut shells, mut html_bytes) = (0, 0);
        // Word-sized chunks, keeping the spaces (as the benchmark's tokens).
        let mut rest = text.as_str();
        let chunk: usize = std::env::args()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        while !rest.is_empty() {
            let word = rest
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len());
            let end = rest[word..]
                .find(char::is_whitespace)
                .map_or(rest.len(), |at| word + at);
            let end = end
                + rest[end..]
                    .find(|c: char| !c.is_whitespace())
                    .unwrap_or(rest.len() - end);
            // Or `chunk` bytes at a time (as many words as arrive in one frame).
            let end = if chunk > 0 {
                (0..=chunk.min(rest.len()))
                    .rev()
                    .find(|&at| rest.is_char_boundary(at))
                    .unwrap_or(end)
            } else {
                end
            };
            stream.push(&rest[..end]);
            rest = &rest[end..];
            let start = Instant::now();
            let update = stream.update();
            let took = start.elapsed();
            for op in &update.ops {
                match op {
                    StreamOp::Shell { .. } => shells += 1,
                    StreamOp::Append(html) | StreamOp::Blocks(html) => html_bytes += html.len(),
                    StreamOp::Seal => {}
                }
            }
            html_bytes += update.live.len();
            total += took;
            slowest = slowest.max(took);
        }
        let start = Instant::now();
        let finished = stream.finish().is_some();
        println!("{name:>9} {bytes} B: updates {total:?} in all, slowest {slowest:?}; finish {:?} (exact: {finished}), live part at the end {} B; {shells} shells, {html_bytes} B of HTML handed out", start.elapsed(), stream.tail_len());
    }
}
