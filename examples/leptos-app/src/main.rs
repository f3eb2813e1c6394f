//! A shop page written in Leptos that embeds the chat widget as a component.
//!
//! Build and serve it with Trunk from this folder (`trunk serve`), with the reference server
//! running (`scripts/demo.sh`). The API address and key come from the page's query string
//! (`?api=http://127.0.0.1:8787&key=pk_live_...`), so the same build works against any server;
//! in your app they would simply be constants or configuration.

use chat_widget::{ChatWidget, Color, Position, WidgetConfig};
use leptos::prelude::*;

/// A query-string parameter of the current page, or `default`.
fn query(name: &str, default: &str) -> String {
    let search = window().location().search().unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| {
            js_sys::decode_uri_component(value)
                .ok()
                .map(String::from)
                .unwrap_or_default()
        })
        .unwrap_or_else(|| default.to_owned())
}

#[component]
fn App() -> impl IntoView {
    let config = WidgetConfig::new("demo", query("api", "http://127.0.0.1:8787"))
        .api_key(query("key", ""))
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
