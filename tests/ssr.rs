//! The components render on the server: `<ChatPanel>` to an HTML string, natively, with no
//! browser (any call into `window` would panic off wasm).
//! `cargo test -p chat-widget --no-default-features --features ssr,leptos,chatbots --test ssr`
#![cfg(all(feature = "ssr", not(target_arch = "wasm32")))]

use chat_widget::{ChatPanel, Composer, Launcher, WidgetConfig};
use leptos::prelude::*;

#[test]
fn chat_panel_renders_to_a_string_on_the_server() {
    let owner = Owner::new();
    owner.set();
    let config = WidgetConfig::new("demo", "https://bots.example.com").api_key("pk_live_x");
    let open = RwSignal::new(true);
    let html = view! { <ChatPanel config open class="help-chat"/> }.to_html();
    assert!(html.starts_with("<div"), "{html}");
    assert!(
        html.contains(r#"class="help-chat""#),
        "the class prop: {html}"
    );
    assert!(html.contains("data-cw-panel-host"), "{html}");
    assert!(
        html.contains(r#"class="cw-host--inline""#),
        "the shadow root's host: {html}"
    );
    // The widget itself comes alive in the browser (its effect): the server sends the host.
    assert!(!html.contains("cw-panel\""), "{html}");
    assert!(open.get_untracked(), "the bound signal is untouched");
    owner.cleanup();
}

#[test]
fn the_parts_render_on_the_server_with_their_names_and_states() {
    let owner = Owner::new();
    owner.set();
    let unread = RwSignal::new(3u32);
    let html = view! { <Launcher open=false unread class="mine"/> }.to_html();
    assert!(html.contains(r#"class="cw-launcher mine""#), "{html}");
    assert!(html.contains(r#"aria-expanded="false""#), "{html}");
    assert!(
        html.contains(r#"aria-label="Open chat (3 unread messages)""#),
        "{html}"
    );
    assert!(
        html.contains(r#"class="cw-badge""#),
        "the badge shows: {html}"
    );
    let html = view! { <Launcher open=true unread/> }.to_html();
    assert!(html.contains("cw-launcher--open"), "{html}");
    assert!(!html.contains("cw-badge"), "no badge while open: {html}");

    let html = view! { <Composer on_send=|_: String| true class="mine"/> }.to_html();
    assert!(html.contains(r#"class="cw-composer mine""#), "{html}");
    assert!(html.contains("<textarea"), "{html}");
    assert!(
        html.contains(r#"class="cw-send""#),
        "Send, not Stop: {html}"
    );
    assert!(
        html.contains("disabled"),
        "Send is disabled while the draft is blank: {html}"
    );
    let draft = RwSignal::new(String::from("Hello"));
    let html = view! { <Composer draft on_send=|_: String| true busy=true/> }.to_html();
    assert!(
        html.contains("cw-stop"),
        "Stop while a reply is on its way: {html}"
    );
    owner.cleanup();
}
