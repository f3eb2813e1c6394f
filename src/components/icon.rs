//! The widget's icons: each one 24×24 path in the current text colour, drawn by [`svg`].

/// The × of Close and Dismiss.
pub const CLOSE: &str =
    "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6Z";
/// New conversation: a circular arrow.
pub const NEW_CONVERSATION: &str = "M12 5V2L7 6l5 4V7a6 6 0 1 1-6 6H4a8 8 0 1 0 8-8Z";
/// Send: a paper plane.
pub const SEND: &str = "M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z";
/// Stop: a rounded square.
pub const STOP: &str = "M7.5 5h9A2.5 2.5 0 0 1 19 7.5v9a2.5 2.5 0 0 1-2.5 2.5h-9A2.5 2.5 0 0 1 5 16.5v-9A2.5 2.5 0 0 1 7.5 5Z";
/// The "New messages" pill's arrow down.
pub const DOWN: &str = "M12 16.6 5.4 10 6.8 8.6 12 13.8l5.2-5.2 1.4 1.4z";

/// A decorative 24×24 icon (hidden from screen readers), `size` px square, in the current
/// text colour: `d` is its path.
pub fn svg(d: &'static str, size: u32, class: &'static str) -> impl leptos::IntoView {
    use leptos::prelude::*;
    view! {
        <svg
            class=(!class.is_empty()).then_some(class)
            viewBox="0 0 24 24"
            width=size
            height=size
            aria-hidden="true"
            focusable="false"
        >
            <path fill="currentColor" d=d></path>
        </svg>
    }
}
