//! The round floating button that opens and closes the panel.

use leptos::html::Button;
use leptos::prelude::*;

use crate::text::EN;

/// The launcher. Its accessible name says what pressing it will do.
#[component]
pub fn Launcher(
    /// Whether the panel is open.
    open: RwSignal<bool>,
    /// Called on click.
    on_toggle: Callback<()>,
    /// So the panel can give focus back on close.
    node_ref: NodeRef<Button>,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="cw-launcher"
            class:cw-launcher--open=move || open.get()
            node_ref=node_ref
            aria-label=move || if open.get() { EN.close_chat } else { EN.open_chat }
            aria-expanded=move || open.get().to_string()
            aria-controls="cw-panel"
            on:click=move |_| on_toggle.run(())
        >
            <svg class="cw-icon cw-icon--chat" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">
                <path fill="currentColor" d="M12 3C6.5 3 2 6.9 2 11.7c0 2.3 1 4.4 2.8 6L4 21.5a.5.5 0 0 0 .7.6l4.4-2.1c.9.2 1.9.4 2.9.4 5.5 0 10-3.9 10-8.7S17.5 3 12 3Zm-4.5 10a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Z"/>
            </svg>
            <svg class="cw-icon cw-icon--close" viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" focusable="false">
                <path fill="currentColor" d="M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6Z"/>
            </svg>
        </button>
    }
}
