//! The widget's root: the launcher, the greeting bubble, the panel, open/close state, the
//! unread count, theme and placement, and focus moves between launcher and panel.

use leptos::html::{Button, Div};
use leptos::portal::Portal;
use leptos::prelude::*;

use super::launcher::{GreetingBubble, Launcher};
use super::panel::Panel;
use crate::browser::{dom, storage::Flag, styles};
use crate::chat::Chat;
use crate::config::WidgetConfig;
use crate::events::WidgetEvent;

/// The handles that drive one widget: its conversation and whether its panel is open.
/// The JavaScript API (`open()`, `send()`, ...) goes through these.
#[derive(Clone, Copy)]
pub struct Controls {
    /// The conversation.
    pub chat: Chat,
    /// Whether the panel is open.
    pub open: RwSignal<bool>,
    /// Replies that arrived while the panel was closed.
    pub unread: RwSignal<u32>,
}

impl Controls {
    /// New handles for a widget with this config (create them under the widget's owner).
    pub fn new(config: &WidgetConfig) -> Self {
        Self { chat: Chat::new(config.clone()), open: RwSignal::new(false), unread: RwSignal::new(0) }
    }

    /// Opens or closes the panel, telling the page at once (so `open(); send()` reports
    /// `open` before `message-sent`). Opening clears the unread count.
    pub fn set_open(&self, open: bool) {
        if self.open.try_get_untracked() == Some(!open) {
            self.open.set(open);
            self.chat.visible.set_value(open);
            if open {
                self.unread.set(0);
            }
            self.chat.emit(if open { WidgetEvent::Opened } else { WidgetEvent::Closed });
        }
    }
}

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
            {
                let controls = Controls::new(&config);
                view! { <WidgetView config=config.clone() controls/> }
            }
        </Portal>
    }
}

/// The widget itself, without isolation. [`ChatWidget`] and the script-tag entry both render
/// this inside a shadow root; its CSS is installed into whatever root it lands in.
#[component]
pub fn WidgetView(
    /// What bot to talk to and how the widget looks.
    config: WidgetConfig,
    /// Its handles (see [`Controls`]).
    controls: Controls,
) -> impl IntoView {
    let Controls { chat, open, unread } = controls;
    chat.watch_connection();
    chat.restore();
    let root = NodeRef::<Div>::new();
    let launcher = NodeRef::<Button>::new();
    let (offset_x, offset_y, z_index) = (config.offset_x, config.offset_y, config.z_index);

    // Styles, theme colours and placement go in through the CSSOM (allowed by a strict CSP).
    // The colour can change once, when a bot configuration arrives from the server.
    Effect::new(move |_| {
        let (surface, on_surface) = chat.look.with(|look| look.primary.accessible_surface());
        let ink = surface.readable_on(crate::theme::Color::WHITE);
        if let Some(root) = root.get() {
            styles::install_for(&root);
            dom::set_css_variable(&root, "--cw-primary-ink", &ink.to_hex());
            dom::set_css_variable(&root, "--cw-primary", &surface.to_hex());
            dom::set_css_variable(&root, "--cw-on-primary", &on_surface.to_hex());
            dom::set_css_variable(&root, "--cw-offset-x", &format!("{offset_x}px"));
            dom::set_css_variable(&root, "--cw-offset-y", &format!("{offset_y}px"));
            if let Some(z) = z_index {
                dom::set_css_variable(&root, "--cw-z-index", &z.to_string());
            }
        }
    });

    // The page hears about the widget through DOM events on the host element. (The script
    // entry sets the listener before the first render; the Leptos component gets it here.)
    Effect::new(move |_| {
        if let Some(root) = root.get() {
            if !chat.has_listener() {
                let node: web_sys::Node = root.into();
                chat.set_listener(move |event: WidgetEvent| {
                    dom::dispatch_widget_event(&node, event.name(), &event.detail());
                });
                chat.emit(WidgetEvent::Ready);
            }
        }
    });
    // A reply finished while the panel was closed: count it for the launcher's badge.
    Effect::new(move |seen: Option<usize>| {
        let replies = chat.completed_replies();
        if let Some(seen) = seen {
            if replies > seen && !open.get_untracked() {
                unread.update(|n| *n += (replies - seen) as u32);
            }
        }
        replies
    });

    let greeting_dismissed = std::sync::Arc::new(Flag::new(&config.bot_id, "greeting-dismissed"));
    let show_bubble = RwSignal::new(false);
    if let Some(delay) = config.greeting_delay_s {
        if !greeting_dismissed.is_set() {
            dom::after_ms(delay.saturating_mul(1000), move || {
                let has_greeting = chat.look.try_with_untracked(|look| look.greeting.is_some()).unwrap_or(false);
                if has_greeting && !open.try_get_untracked().unwrap_or(true) && chat.messages.with_untracked(Vec::is_empty) {
                    let _ = show_bubble.try_set(true);
                }
            });
        }
    }
    let dismiss_bubble = {
        let flag = greeting_dismissed.clone();
        Callback::new(move |()| {
            show_bubble.set(false);
            flag.set();
        })
    };

    let toggle = Callback::new(move |()| {
        controls.set_open(!open.get_untracked());
        dismiss_bubble.run(());
    });
    let close = Callback::new(move |()| {
        controls.set_open(false);
        dom::next_frame(move || {
            if let Some(launcher) = launcher.try_get_untracked().flatten() {
                dom::focus(&launcher);
            }
        });
    });
    let open_from_bubble = Callback::new(move |()| {
        controls.set_open(true);
        dismiss_bubble.run(());
    });

    let theme = config.theme;
    let root_class = move || {
        format!("cw-root cw-root--{} cw-root--{}", chat.look.with(|look| look.position.as_str()), theme.as_str())
    };
    let greeting = move || chat.look.with(|look| look.greeting.clone().unwrap_or_default());
    let bot_name = config.bot_name.clone();
    let icon = config.launcher_icon.clone();
    view! {
        <div class=root_class node_ref=root dir=if chat.locale.is_rtl() { "rtl" } else { "ltr" } lang=chat.locale.tag()>
            <Panel chat config open on_close=close/>
            <Show when=move || show_bubble.get() && !open.get()>
                <GreetingBubble text=greeting() bot_name=bot_name.clone() on_open=open_from_bubble on_dismiss=dismiss_bubble t=chat.strings()/>
            </Show>
            <Launcher open unread icon=icon.clone() on_toggle=toggle node_ref=launcher t=chat.strings()/>
        </div>
    }
}
