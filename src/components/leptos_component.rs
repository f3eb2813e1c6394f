//! The widget as a Leptos component, for Leptos apps (feature `leptos`).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::dom;
use crate::config::WidgetConfig;
use crate::MountedWidget;

/// The chat widget for Leptos apps: renders into its own shadow root (attached to a new element
/// at the end of `<body>`), so the page's CSS cannot reach it and its CSS cannot leak out.
/// It is removed when the component is.
///
/// ```no_run
/// use chat_widget::{ChatWidget, WidgetConfig};
/// use leptos::prelude::*;
///
/// #[component]
/// fn App() -> impl IntoView {
///     let config = WidgetConfig::new("demo", "http://127.0.0.1:8787").api_key("pk_live_...");
///     view! { <h1>"My shop"</h1> <ChatWidget config/> }
/// }
/// ```
#[component]
pub fn ChatWidget(
    /// What bot to talk to and how the widget looks.
    config: WidgetConfig,
) -> impl IntoView {
    let document = dom::document();
    let host: web_sys::HtmlElement = dom::element("div", "").unchecked_into();
    if let Some(body) = document.body() {
        let _ = body.append_child(&host);
    }
    let mounted = match crate::mount_config(host.clone(), config) {
        Ok(mounted) => Some(mounted),
        Err(error) => {
            dom::console_error(&error.as_string().unwrap_or_default());
            None
        }
    };
    // Dropped when the component's owner is cleaned up.
    StoredValue::new_local(Mounted {
        widget: mounted,
        host,
    });
}

struct Mounted {
    widget: Option<MountedWidget>,
    host: web_sys::HtmlElement,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.widget.take();
        self.host.remove();
    }
}
