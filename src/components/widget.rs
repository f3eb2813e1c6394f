//! The widget's root: the launcher, the greeting bubble, the panel, open/close state, the
//! unread count, theme and placement, and focus moves between launcher and panel.

use super::launcher::{GreetingBubble, Launcher};
use super::panel::panel;
use crate::browser::{dom, mount::Shadow, storage::Flag, styles};
use crate::chat::Chat;
use crate::config::WidgetConfig;
use crate::events::WidgetEvent;
use leptos::either::Either;
use leptos::prelude::*;

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
    /// New handles for a widget with this config (create them under the widget's owner): the
    /// engine is [`crate::use_chat`]'s. `open` is the app's own signal, if it binds one.
    pub fn new(config: &WidgetConfig, open: Option<RwSignal<bool>>) -> Self {
        Self {
            chat: crate::use_chat(config.clone()).chat,
            open: open.unwrap_or_else(|| RwSignal::new(false)),
            unread: RwSignal::new(0),
        }
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
            self.chat.emit(if open {
                WidgetEvent::Opened
            } else {
                WidgetEvent::Closed
            });
        }
    }
}

/// Draws the widget at the end of `shadow`: the launcher, the greeting bubble, the panel, with
/// theme and placement. Its CSS is installed into the shadow root. `inline`: the panel alone,
/// in the page's flow (no launcher, no greeting bubble, never modal). Call under the widget's
/// Leptos [`Owner`]: cleaning that owner up takes it out of the page.
pub fn widget_view(shadow: &Shadow, config: &WidgetConfig, controls: Controls, inline: bool) {
    let Controls { chat, open, unread } = controls;

    // The app may open or close through its own bound signal: the chat and the page hear of
    // it as of a click (`set_open` did it already when it went through the widget).
    super::effect(move |_| {
        let is_open = open.get();
        if chat.visible.try_get_value() == Some(!is_open) {
            chat.visible.set_value(is_open);
            if is_open {
                unread.set(0);
            }
            chat.emit(if is_open {
                WidgetEvent::Opened
            } else {
                WidgetEvent::Closed
            });
        }
    });
    // After a logout the badge does not tell the next visitor about the previous one's replies.
    super::effect(move |seen: Option<u32>| {
        let forgotten = chat.forgotten.get();
        if seen.is_some_and(|seen| seen != forgotten) {
            unread.set(0);
        }
        forgotten
    });
    // A reply finished while the panel was closed: count it for the launcher's badge.
    super::effect(move |seen: Option<usize>| {
        let replies = chat.completed_replies();
        if let Some(seen) = seen {
            if replies > seen && !open.get_untracked() {
                unread.update(|n| *n += (replies - seen) as u32);
            }
        }
        replies
    });

    let body = if inline {
        // No launcher to go back to: closing hides the panel, and the app decides what then.
        let mut config = config.clone();
        config.modal = Some(false);
        let on_close = Callback::new(move |()| controls.set_open(false));
        Either::Left(panel(chat, &config, open, on_close, true))
    } else {
        Either::Right(floating(config, controls))
    };

    // The widget's container in the shadow root: language, direction, corner and theme.
    let container = NodeRef::<leptos::html::Div>::new();
    let classes = move || {
        let (position, theme) = chat.look.with(|look| (look.position, look.theme));
        format!(
            "cw-root cw-root--{} cw-root--{}{}",
            position.as_str(),
            theme.as_str(),
            if inline { " cw-root--inline" } else { "" }
        )
    };
    shadow.append_view(view! {
        <div
            class=classes
            dir=if chat.locale.is_rtl() { "rtl" } else { "ltr" }
            lang=chat.locale.tag()
            node_ref=container
        >
            {body}
        </div>
    });
    let root = container
        .get_untracked()
        .unwrap_or_else(|| wasm_bindgen::throw_str("chat-widget: no root"));
    styles::install_for(&root);
    dom::drop_broken_pictures(&root);
    dom::keep_events_inside(&root);
    let (offset_x, offset_y, z_index) = (config.offset_x, config.offset_y, config.z_index);
    // Theme colours and placement go in through the CSSOM (allowed by a strict CSP, unlike a
    // `style` attribute). The colour can change once, when a bot configuration arrives.
    super::effect(move |_| {
        let primary = chat.look.with(|look| look.primary);
        let (surface, on_surface) = primary.accessible_surface();
        let ink = surface.readable_on(crate::theme::Color::WHITE);
        dom::set_css_variable(&root, "--cw-primary-ink", &ink.to_hex());
        dom::set_css_variable(&root, "--cw-primary", &surface.to_hex());
        dom::set_css_variable(&root, "--cw-on-primary", &on_surface.to_hex());
        dom::set_css_variable(&root, "--cw-offset-x", &format!("{offset_x}px"));
        dom::set_css_variable(&root, "--cw-offset-y", &format!("{offset_y}px"));
        if let Some(z) = z_index {
            dom::set_css_variable(&root, "--cw-z-index", &z.to_string());
        }
    });
}

/// The floating widget's parts in its container: the panel, then the greeting bubble and the
/// launcher (drawn after the panel, so the stacking and tab order are panel first).
fn floating(config: &WidgetConfig, controls: Controls) -> impl IntoView {
    let Controls { chat, open, unread } = controls;
    // Closing gives focus back to the launcher.
    let launcher_button = NodeRef::<leptos::html::Button>::new();
    let close = Callback::new(move |()| {
        controls.set_open(false);
        dom::next_frame(move || {
            if let Some(launcher) = launcher_button.try_get_untracked().flatten() {
                dom::focus(&launcher);
            }
        });
    });
    let panel = panel(chat, config, open, close, false);

    let greeting_dismissed =
        StoredValue::new_local(Flag::new(&config.bot_id, "greeting-dismissed"));
    let show_bubble = RwSignal::new(false);
    if let Some(delay) = config.greeting_delay_s {
        if !greeting_dismissed.with_value(Flag::is_set) {
            dom::after_ms(delay.saturating_mul(1000), move || {
                let has_greeting = chat
                    .look
                    .try_with_untracked(|look| look.greeting.is_some())
                    .unwrap_or(false);
                if has_greeting
                    && !open.try_get_untracked().unwrap_or(true)
                    && chat.messages.with_untracked(Vec::is_empty)
                {
                    let _ = show_bubble.try_set(true);
                }
            });
        }
    }
    let dismiss_bubble = Callback::new(move |()| {
        show_bubble.set(false);
        greeting_dismissed.with_value(Flag::set);
    });
    let open_from_bubble = Callback::new(move |()| {
        controls.set_open(true);
        dismiss_bubble.run(());
    });
    let toggle = Callback::new(move |()| {
        controls.set_open(!open.get_untracked());
        dismiss_bubble.run(());
    });
    let bot_name = config.bot_name.clone();
    let icon = config.launcher_icon.clone();
    let strings = chat.strings();
    // The bubble, between the panel and the launcher, drawn afresh each time it shows.
    let bubble = move || {
        let text = chat
            .look
            .with_untracked(|look| look.greeting.clone().unwrap_or_default());
        view! {
            <GreetingBubble
                text
                bot_name=bot_name.clone()
                strings
                on_open=open_from_bubble
                on_dismiss=dismiss_bubble
            />
        }
    };
    view! {
        {panel}
        <Show when=move || show_bubble.get() && !open.get()>{bubble.clone()}</Show>
        <Launcher open unread icon strings on_toggle=toggle node_ref=launcher_button/>
    }
}
