//! A shop page written in Leptos that embeds the chat widget as a component.
//!
//! Build and serve it with Trunk from this folder (`trunk serve`), with the reference server
//! running (`scripts/demo.sh`); set the key the server printed in `DEMO_KEY` below.

use chat_widget::{ChatWidget, Color, Position, WidgetConfig};
use leptos::prelude::*;

/// The key the reference server printed on its first start.
const DEMO_KEY: &str = "pk_live_replace_me";

#[component]
fn App() -> impl IntoView {
    let config = WidgetConfig::new("demo", "http://127.0.0.1:8787")
        .api_key(DEMO_KEY)
        .bot_name("Acme Assistant")
        .greeting("Hi! Ask me about orders, shipping or returns.")
        .position(Position::BottomLeft)
        .primary_color(Color::parse_hex("#7c3aed").unwrap_or(Color::DEFAULT_PRIMARY));
    view! {
        <main>
            <h1>"Acme Store"</h1>
            <p>"The chat launcher is in the bottom-left corner."</p>
        </main>
        <ChatWidget config/>
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
