//! The widget's Leptos components. They read [`crate::chat::Chat`] signals and call its
//! actions; they never build requests or touch storage themselves.

mod icon;
mod launcher;
mod messages;
mod panel;
mod widget;

pub use widget::{ChatWidget, Controls, WidgetView};
