//! The round floating button that opens and closes the panel, its unread badge, and the
//! proactive greeting bubble next to it.

use super::icon;
use crate::browser::dom;
use crate::config::LauncherIcon;
use crate::text::Strings;
use leptos::prelude::*;

/// Draws the launcher at the end of `root`. Its accessible name says what pressing it will do,
/// and how many replies arrived while the panel was closed. Returns the button (the panel
/// gives focus back to it on close).
pub fn launcher(
    root: &web_sys::Element,
    open: RwSignal<bool>,
    unread: RwSignal<u32>,
    icon: &LauncherIcon,
    t: &'static Strings,
    on_toggle: impl Fn() + 'static,
) -> web_sys::HtmlElement {
    let button = dom::html(
        "button",
        "cw-launcher",
        &[("type", "button"), ("aria-controls", "cw-panel")],
    );
    let _ = button.append_child(&glyph(icon));
    let _ = button.append_child(&dom::icon(icon::CLOSE, 26, "cw-icon cw-icon--close"));
    let badge = dom::Optional::new(
        &button,
        dom::html("span", "cw-badge", &[("aria-hidden", "true")]).into(),
    );
    let _ = root.append_child(&button);
    // Screen readers hear a new unread count once, without moving focus.
    let status = dom::html("span", "cw-sr-only cw-unread-status", &[("role", "status")]);
    let _ = root.append_child(&status);
    dom::on(&button, "click", move |_: web_sys::Event| on_toggle());
    let element = button.clone();
    super::effect(move |_| {
        let (open, unread) = (open.get(), unread.get());
        let label = match (open, unread) {
            (true, _) => t.close_chat.to_owned(),
            (false, 0) => t.open_chat.to_owned(),
            (false, n) => format!("{} ({})", t.open_chat, t.unread_count(n)),
        };
        dom::set_class(&element, "cw-launcher--open", open);
        let _ = element.set_attribute("aria-label", &label);
        let _ = element.set_attribute("aria-expanded", if open { "true" } else { "false" });
        let counted = unread > 0 && !open;
        badge.show(counted);
        badge
            .node
            .set_text_content(Some(&unread.min(99).to_string()));
        status.set_text_content(counted.then(|| t.unread_count(unread)).as_deref());
    });
    button
}

/// The launcher's picture.
fn glyph(icon: &LauncherIcon) -> web_sys::Element {
    let path = match icon {
        LauncherIcon::Image(url) => {
            let image = dom::html("img", "cw-icon cw-icon--chat cw-icon--image", &[("src", url), ("alt", ""), ("width", "34"), ("height", "34")]);
            return image.into();
        }
        LauncherIcon::Chat => "M12 3C6.5 3 2 6.9 2 11.7c0 2.3 1 4.4 2.8 6L4 21.5a.5.5 0 0 0 .7.6l4.4-2.1c.9.2 1.9.4 2.9.4 5.5 0 10-3.9 10-8.7S17.5 3 12 3Zm-4.5 10a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Z",
        LauncherIcon::Help => "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm1 17h-2v-2h2v2Zm2.1-7.7-.9.9c-.7.7-1.2 1.3-1.2 2.8h-2v-.5c0-1.1.5-2.1 1.2-2.8l1.2-1.3c.4-.3.6-.8.6-1.4a2 2 0 0 0-4 0H8a4 4 0 0 1 8 0c0 .9-.4 1.7-.9 2.3Z",
        LauncherIcon::Message => "M20 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2Zm0 4-8 5-8-5V6l8 5 8-5v2Z",
    };
    dom::icon(path, 28, "cw-icon cw-icon--chat")
}

/// Builds the greeting bubble (next to the closed launcher): clicking it opens
/// the chat; its × button dismisses it for good (remembered by the caller).
pub fn greeting_bubble(
    text: &str,
    bot_name: &str,
    t: &'static Strings,
    on_open: impl Fn() + 'static,
    on_dismiss: impl Fn() + 'static,
) -> web_sys::Element {
    let bubble = dom::element("div", "cw-greeting");
    let _ = bubble.set_attribute("role", "status");
    let open = dom::html("button", "cw-greeting-text", &[("type", "button")]);
    dom::append(&open, "span", "cw-greeting-name", bot_name);
    let _ = open.append_with_str_1(text);
    let dismiss = dom::html(
        "button",
        "cw-greeting-dismiss",
        &[("type", "button"), ("aria-label", t.dismiss_greeting)],
    );
    let _ = dismiss.append_child(&dom::icon(icon::CLOSE, 14, ""));
    let _ = bubble.append_child(&open);
    let _ = bubble.append_child(&dismiss);
    dom::on(&open, "click", move |_: web_sys::Event| on_open());
    dom::on(&dismiss, "click", move |_: web_sys::Event| on_dismiss());
    bubble
}
