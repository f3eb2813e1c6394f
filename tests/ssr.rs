//! The components render on the server: `<ChatPanel>` to an HTML string, natively, with no
//! browser (any call into `window` would panic off wasm).
//! `cargo test -p chat-widget --no-default-features --features ssr,leptos,chatbots --test ssr`
#![cfg(all(feature = "ssr", not(target_arch = "wasm32")))]

use chat_widget::{ChatPanel, WidgetConfig};
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
