//! A shop page written in Leptos that embeds the chat widget as a component: the floating
//! `<ChatWidget>` on the front page, and `<ChatPanel>` inline on the help page (`?page=help`).
//!
//! Build and serve it with Trunk from this folder (`trunk serve`), with the reference server
//! running (`scripts/demo.sh`). The API address and key come from the page's query string
//! (`?api=http://127.0.0.1:8787&key=pk_live_...`), so the same build works against any server;
//! in your app they would simply be constants or configuration.

use chat_widget::chat::Role;
use chat_widget::{ChatMessage, ChatPanel, ChatWidget, Color, Position, WidgetConfig};
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

/// The shop's front page: the floating widget, launcher bottom-left.
#[component]
fn ShopPage(config: WidgetConfig) -> impl IntoView {
    view! {
        <main>
            <h1>"Acme Store"</h1>
            <p>"The chat launcher is in the bottom-left corner."</p>
        </main>
        <ChatWidget config/>
    }
}

/// A help page with the chat inline, in a column: `open` is the page's own signal (its
/// button and the panel's close button both move it), and `on_message` counts the messages.
#[component]
fn HelpPage(config: WidgetConfig) -> impl IntoView {
    let open = RwSignal::new(true);
    let sent = RwSignal::new(0u32);
    let received = RwSignal::new(0u32);
    let last_reply = RwSignal::new(String::new());
    let on_message = move |message: ChatMessage| match message.from {
        Role::Visitor => sent.update(|n| *n += 1),
        Role::Bot => {
            received.update(|n| *n += 1);
            last_reply.set(message.text);
        }
    };
    view! {
        <div class="help-layout">
            <main>
                <h1>"Help centre"</h1>
                <p>"Ask the assistant on the right about orders, shipping or returns."</p>
                <p id="chat-state">{move || if open.get() { "The chat is open." } else { "The chat is closed." }}</p>
                <button id="toggle-chat" on:click=move |_| open.update(|o| *o = !*o)>
                    {move || if open.get() { "Hide the chat" } else { "Show the chat" }}
                </button>
                <p id="message-count">
                    {move || format!("{} sent, {} received", sent.get(), received.get())}
                </p>
                <Show when=move || !last_reply.get().is_empty()>
                    <p id="last-reply">"Last answer: " {move || last_reply.get()}</p>
                </Show>
            </main>
            <ChatPanel config open on_message class="help-chat"/>
        </div>
    }
}

#[component]
fn App() -> impl IntoView {
    let config = WidgetConfig::new("demo", query("api", "http://127.0.0.1:8787"))
        .api_key(query("key", ""))
        .bot_name("Acme Assistant")
        .greeting("Hi! Ask me about orders, shipping or returns.")
        .position(Position::BottomLeft)
        .primary_color(Color::parse_hex("#7c3aed").unwrap_or(Color::DEFAULT_PRIMARY));
    if query("page", "") == "help" {
        view! { <HelpPage config/> }.into_any()
    } else {
        view! { <ShopPage config/> }.into_any()
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
