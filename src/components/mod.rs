//! The widget's view, drawn with the DOM API. It reads [`crate::chat::Chat`] signals (see
//! [`crate::reactive`]) and calls its actions; it never builds requests or touches storage.

mod icon;
mod launcher;
#[cfg(feature = "leptos")]
mod leptos_component;
mod messages;
mod panel;
mod widget;

#[cfg(feature = "leptos")]
pub use leptos_component::ChatWidget;
pub use widget::{widget_view, Controls};
