//! The round floating button that opens and closes the panel, its unread badge, and the
//! proactive greeting bubble next to it.

use super::icon;
use crate::config::LauncherIcon;
use crate::text::Strings;
use leptos::prelude::*;

/// The round button that opens and closes a chat panel, with an unread badge. Its accessible
/// name says what pressing it will do, and how many replies arrived while the panel was
/// closed; screen readers hear a new unread count once, without moving focus. It controls the
/// element with `id="cw-panel"` (`aria-controls`).
///
/// It only draws: `on_toggle` says it was pressed, and the app opens or closes its panel.
///
/// ```no_run
/// use chat_widget::{Launcher, LauncherIcon};
/// use leptos::prelude::*;
///
/// #[component]
/// fn HelpButton() -> impl IntoView {
///     let open = RwSignal::new(false);
///     let unread = RwSignal::new(2u32);
///     view! {
///         <Launcher
///             open
///             unread
///             icon=LauncherIcon::Help
///             class="my-launcher"
///             on_toggle=move |()| {
///                 open.update(|open| *open = !*open);
///                 unread.set(0);
///             }
///         />
///     }
/// }
/// ```
#[component]
pub fn Launcher(
    /// Whether the panel it controls is open (it then shows a × and offers to close).
    #[prop(into)]
    open: Signal<bool>,
    /// Replies that arrived while the panel was closed (a badge shows them; 0: none).
    #[prop(into, default = Signal::stored(0))]
    unread: Signal<u32>,
    /// Its picture (default: a speech bubble).
    #[prop(optional)]
    icon: LauncherIcon,
    /// Called when it is pressed.
    #[prop(optional, into)]
    on_toggle: Option<Callback<()>>,
    /// The visitor-facing words (default: English; see [`crate::text`]).
    #[prop(default = &crate::text::EN)]
    strings: &'static Strings,
    /// Classes added to the button's own.
    #[prop(optional, into)]
    class: MaybeProp<String>,
    /// The button (to give focus back to it when the panel closes).
    #[prop(optional)]
    node_ref: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let t = strings;
    let label = move || match (open.get(), unread.get()) {
        (true, _) => t.close_chat.to_owned(),
        (false, 0) => t.open_chat.to_owned(),
        (false, n) => format!("{} ({})", t.open_chat, t.unread_count(n)),
    };
    let counted = move || unread.get() > 0 && !open.get();
    let classes = move || {
        let mut classes = String::from("cw-launcher");
        if open.get() {
            classes.push_str(" cw-launcher--open");
        }
        if let Some(extra) = class.get().filter(|c| !c.is_empty()) {
            classes.push(' ');
            classes.push_str(&extra);
        }
        classes
    };
    view! {
        <button
            type="button"
            class=classes
            aria-controls="cw-panel"
            aria-label=label
            aria-expanded=move || if open.get() { "true" } else { "false" }
            node_ref=node_ref
            on:click=move |_| {
                if let Some(on_toggle) = on_toggle {
                    on_toggle.run(());
                }
            }
        >
            {glyph(icon)}
            {icon::svg(icon::CLOSE, 26, "cw-icon cw-icon--close")}
            <Show when=counted>
                <span class="cw-badge" aria-hidden="true">
                    {move || unread.get().min(99).to_string()}
                </span>
            </Show>
        </button>
        <span class="cw-sr-only cw-unread-status" role="status">
            {move || if counted() { t.unread_count(unread.get()) } else { String::new() }}
        </span>
    }
}

/// The chat bubble icon.
const CHAT: &str = "M12 3C6.5 3 2 6.9 2 11.7c0 2.3 1 4.4 2.8 6L4 21.5a.5.5 0 0 0 .7.6l4.4-2.1c.9.2 1.9.4 2.9.4 5.5 0 10-3.9 10-8.7S17.5 3 12 3Zm-4.5 10a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Z";

/// The launcher's picture. An image comes with the chat icon after it, which the stylesheet
/// hides until the image fails to load and is taken out (`dom::drop_broken_pictures`).
fn glyph(icon: LauncherIcon) -> impl IntoView {
    let (image, path) = match icon {
        LauncherIcon::Image(url) => (Some(url), CHAT),
        LauncherIcon::Chat => (None, CHAT),
        LauncherIcon::Help => (None, "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm1 17h-2v-2h2v2Zm2.1-7.7-.9.9c-.7.7-1.2 1.3-1.2 2.8h-2v-.5c0-1.1.5-2.1 1.2-2.8l1.2-1.3c.4-.3.6-.8.6-1.4a2 2 0 0 0-4 0H8a4 4 0 0 1 8 0c0 .9-.4 1.7-.9 2.3Z"),
        LauncherIcon::Message => (None, "M20 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2Zm0 4-8 5-8-5V6l8 5 8-5v2Z"),
    };
    view! {
        {image.map(|url| view! {
            <img class="cw-icon cw-icon--chat cw-icon--image" src=url alt="" width="34" height="34"/>
        })}
        {icon::svg(path, 28, "cw-icon cw-icon--chat")}
    }
}

/// The greeting bubble next to the closed launcher: clicking it opens the chat; its × button
/// dismisses it for good (remembered by the caller).
#[component]
pub(crate) fn GreetingBubble(
    /// The greeting.
    text: String,
    /// The bot's name, shown above it.
    bot_name: String,
    /// The visitor-facing words.
    strings: &'static Strings,
    /// Called when the bubble's text is pressed.
    on_open: Callback<()>,
    /// Called when its × is pressed.
    on_dismiss: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="cw-greeting" role="status">
            <button type="button" class="cw-greeting-text" on:click=move |_| on_open.run(())>
                <span class="cw-greeting-name">{bot_name}</span>
                {text}
            </button>
            <button
                type="button"
                class="cw-greeting-dismiss"
                aria-label=strings.dismiss_greeting
                on:click=move |_| on_dismiss.run(())
            >
                {icon::svg(icon::CLOSE, 14, "")}
            </button>
        </div>
    }
}
