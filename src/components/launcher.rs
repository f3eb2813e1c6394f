//! The round floating button that opens and closes the panel, its unread badge, and the
//! proactive greeting bubble next to it.

use leptos::html::Button;
use leptos::prelude::*;

use super::icon::{self, Icon};
use crate::config::LauncherIcon;
use crate::text::Strings;

/// The launcher. Its accessible name says what pressing it will do, and how many replies
/// arrived while the panel was closed.
#[component]
pub fn Launcher(
    /// Whether the panel is open.
    open: RwSignal<bool>,
    /// Replies that arrived while closed.
    unread: RwSignal<u32>,
    /// What it shows.
    icon: LauncherIcon,
    /// The strings in the widget's language.
    t: &'static Strings,
    /// Called on click.
    on_toggle: Callback<()>,
    /// So the panel can give focus back on close.
    node_ref: NodeRef<Button>,
) -> impl IntoView {
    let label = move || match (open.get(), unread.get()) {
        (true, _) => t.close_chat.to_owned(),
        (false, 0) => t.open_chat.to_owned(),
        (false, n) => format!("{} ({})", t.open_chat, t.unread_count(n)),
    };
    view! {
        <button
            type="button"
            class="cw-launcher"
            class:cw-launcher--open=move || open.get()
            node_ref=node_ref
            aria-label=label
            aria-expanded=move || open.get().to_string()
            aria-controls="cw-panel"
            on:click=move |_| on_toggle.run(())
        >
            <LauncherGlyph icon/>
            <Icon class="cw-icon cw-icon--close" d=icon::CLOSE size=26/>
            <Show when=move || { unread.get() > 0 && !open.get() }>
                <span class="cw-badge" aria-hidden="true">{move || unread.get().min(99)}</span>
            </Show>
        </button>
        // Screen readers hear a new unread count once, without moving focus.
        <span class="cw-sr-only cw-unread-status" role="status">
            {move || (unread.get() > 0 && !open.get()).then(|| t.unread_count(unread.get()))}
        </span>
    }
}

/// The launcher's picture.
#[component]
fn LauncherGlyph(icon: LauncherIcon) -> impl IntoView {
    let path = match icon {
        LauncherIcon::Image(url) => {
            return view! { <img class="cw-icon cw-icon--chat cw-icon--image" src=url alt="" width="34" height="34"/> }.into_any()
        }
        LauncherIcon::Chat => "M12 3C6.5 3 2 6.9 2 11.7c0 2.3 1 4.4 2.8 6L4 21.5a.5.5 0 0 0 .7.6l4.4-2.1c.9.2 1.9.4 2.9.4 5.5 0 10-3.9 10-8.7S17.5 3 12 3Zm-4.5 10a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Z",
        LauncherIcon::Help => "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm1 17h-2v-2h2v2Zm2.1-7.7-.9.9c-.7.7-1.2 1.3-1.2 2.8h-2v-.5c0-1.1.5-2.1 1.2-2.8l1.2-1.3c.4-.3.6-.8.6-1.4a2 2 0 0 0-4 0H8a4 4 0 0 1 8 0c0 .9-.4 1.7-.9 2.3Z",
        LauncherIcon::Message => "M20 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2Zm0 4-8 5-8-5V6l8 5 8-5v2Z",
    };
    view! { <Icon class="cw-icon cw-icon--chat" d=path size=28/> }.into_any()
}

/// The greeting bubble next to the closed launcher: clicking it opens the chat; its × button
/// dismisses it for good (remembered by the caller).
#[component]
pub fn GreetingBubble(
    /// The greeting.
    text: String,
    /// The bot's name, said before the greeting.
    bot_name: String,
    /// Opens the panel.
    on_open: Callback<()>,
    /// Hides the bubble and remembers that.
    on_dismiss: Callback<()>,
    /// The strings in the widget's language.
    t: &'static Strings,
) -> impl IntoView {
    view! {
        <div class="cw-greeting" role="status">
            <button type="button" class="cw-greeting-text" on:click=move |_| on_open.run(())>
                <span class="cw-greeting-name">{bot_name}</span>
                {text}
            </button>
            <button type="button" class="cw-greeting-dismiss" aria-label=t.dismiss_greeting on:click=move |_| on_dismiss.run(())>
                <Icon d=icon::CLOSE size=14/>
            </button>
        </div>
    }
}
