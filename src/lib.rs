//! An embeddable chat widget compiled to WebAssembly.
//!
//! Two ways in:
//! * **Script tag**: `assets/chat-widget.js` reads the tag's `data-*` settings, loads this
//!   module and calls [`mount_widget`] with a fresh host element.
//! * **Leptos**: put [`ChatWidget`] with a [`WidgetConfig`] in your view.
//!
//! Code map: [`config`] (settings), [`chat`] (conversation state and actions), `api` (the
//! dialect in use), `components` (the view), `browser` (the only `web_sys` user), [`theme`]
//! and [`text`] (colours and visitor-facing strings).
#![deny(missing_docs)]

mod api;
mod browser;
pub mod chat;
mod components;
pub mod config;
pub mod text;
pub mod theme;

pub use components::{ChatWidget, WidgetView};
pub use config::{ConfigError, ConfigWarning, Position, WidgetConfig};
pub use theme::Color;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// A widget mounted by [`mount_widget`]. Dropping it from JavaScript (`.free()`) or calling
/// [`MountedWidget::unmount`] removes the widget and its reactive state.
#[wasm_bindgen]
pub struct MountedWidget {
    handle: Option<Box<dyn std::any::Any>>,
    host: web_sys::HtmlElement,
}

#[wasm_bindgen]
impl MountedWidget {
    /// Removes the widget from the page.
    pub fn unmount(mut self) {
        self.handle.take();
        if let Some(shadow) = self.host.shadow_root() {
            shadow.set_inner_html("");
        }
    }
}

/// Mounts the widget into a shadow root attached to `host`.
///
/// `settings` is an object of `data-*` settings (a script tag's `dataset`, or a plain object
/// with the same keys); `fallback_api_url` is used when it has no `apiUrl` (the loader passes
/// the script's own origin). Unusable values are reported in the console and replaced by
/// defaults; a missing bot id is an error.
#[wasm_bindgen(js_name = mountWidget)]
pub fn mount_widget(
    host: web_sys::HtmlElement,
    settings: &JsValue,
    fallback_api_url: &str,
) -> Result<MountedWidget, JsValue> {
    let pairs: Vec<(String, String)> = if settings.is_object() {
        js_sys::Object::entries(settings.unchecked_ref())
            .iter()
            .filter_map(|entry| {
                let entry: js_sys::Array = entry.dyn_into().ok()?;
                Some((entry.get(0).as_string()?, entry.get(1).as_string()?))
            })
            .collect()
    } else {
        Vec::new()
    };
    let (config, warnings) = WidgetConfig::from_settings(pairs, fallback_api_url).map_err(|err| {
        let message = format!("chat-widget: {err}");
        browser::dom::console_error(&message);
        JsValue::from_str(&message)
    })?;
    for warning in warnings {
        browser::dom::console_warn(&format!("chat-widget: {warning}"));
    }
    mount_config(host, config)
}

/// Mounts the widget for an already-built config into a shadow root attached to `host`.
pub fn mount_config(host: web_sys::HtmlElement, config: WidgetConfig) -> Result<MountedWidget, JsValue> {
    if host.shadow_root().is_some() {
        return Err(JsValue::from_str("chat-widget: this element already holds a widget"));
    }
    let shadow = host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?;
    let handle = leptos::mount::mount_to(shadow.unchecked_into(), move || view! { <WidgetView config/> });
    Ok(MountedWidget { handle: Some(Box::new(handle)), host })
}
