//! The widget's view: Leptos components (`view!`); the panel is drawn with the same public
//! parts (`MessageList`, `Composer`) a Leptos app gets. It reads [`crate::chat::Chat`]'s
//! Leptos signals and calls its actions; it never builds requests or touches storage.

mod composer;
mod icon;
mod launcher;
#[cfg(feature = "leptos")]
mod leptos_component;
mod messages;
mod panel;
mod widget;

pub use composer::{Composer, ComposerProps};
pub use launcher::{Launcher, LauncherProps};
#[cfg(feature = "leptos")]
pub use leptos_component::{ChatMessage, ChatPanel, ChatWidget};
pub use messages::{MessageList, MessageListProps, QuickReplies, QuickRepliesProps};
pub use widget::{widget_view, Controls};

use leptos::prelude::{LocalStorage, RenderEffect, StoredValue};

/// Runs `f` now and again whenever a signal it read changes (once per batch of writes, in a
/// microtask), until the current owner is cleaned up: a Leptos render effect kept by the owner.
pub(crate) fn effect<T: 'static>(f: impl FnMut(Option<T>) -> T + 'static) {
    StoredValue::<_, LocalStorage>::new_local(RenderEffect::new(f));
}
