//! The widget's root: the launcher, the panel, open/close state and focus moves between them.

use leptos::html::{Button, Div};
use leptos::portal::Portal;
use leptos::prelude::*;

use super::launcher::Launcher;
use super::panel::Panel;
use crate::browser::{dom, styles};
use crate::chat::Chat;
use crate::config::WidgetConfig;

/// The chat widget for Leptos apps: renders into its own shadow root (attached to a new element
/// at the end of `<body>`), so the page's CSS cannot reach it and its CSS cannot leak out.
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
    view! {
        <Portal use_shadow=true>
            <WidgetView config=config.clone()/>
        </Portal>
    }
}

/// The widget itself, without isolation: the launcher and the panel. [`ChatWidget`] and the
/// script-tag entry both render this inside a shadow root; its CSS is installed into whatever
/// root it lands in.
#[component]
pub fn WidgetView(
    /// What bot to talk to and how the widget looks.
    config: WidgetConfig,
) -> impl IntoView {
    let chat = Chat::new(config.clone());
    let open = RwSignal::new(false);
    let root = NodeRef::<Div>::new();
    let launcher = NodeRef::<Button>::new();
    let (surface, on_surface) = config.primary_color.accessible_surface();

    Effect::new(move |_| {
        if let Some(root) = root.get() {
            styles::install_for(&root);
            dom::set_css_variable(&root, "--cw-primary", &surface.to_hex());
            dom::set_css_variable(&root, "--cw-on-primary", &on_surface.to_hex());
        }
    });

    let toggle = Callback::new(move |()| open.update(|open| *open = !*open));
    let close = Callback::new(move |()| {
        open.set(false);
        dom::next_frame(move || {
            if let Some(launcher) = launcher.get_untracked() {
                dom::focus(&launcher);
            }
        });
    });

    let root_class = format!("cw-root cw-root--{}", config.position.as_str());
    view! {
        <div class=root_class node_ref=root>
            <Panel chat config open on_close=close/>
            <Launcher open on_toggle=toggle node_ref=launcher/>
        </div>
    }
}
