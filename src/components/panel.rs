//! The chat panel: header, message list, failure notice and composer. A non-modal dialog:
//! Escape closes it, focus goes to the input when it opens.

use wasm_bindgen::JsCast;

use super::composer::Composer;
use super::icon;
use super::messages::message_list;
use crate::browser::{dom, mount};
use crate::chat::Chat;
use crate::config::WidgetConfig;
use leptos::prelude::*;

/// Draws the panel at the end of `root`. It stays in the DOM while closed (hidden), so a
/// half-typed message and the scroll position survive closing and reopening. `on_close`
/// closes it and gives focus back to the launcher.
pub fn panel(
    root: &web_sys::Element,
    chat: Chat,
    config: &WidgetConfig,
    open: RwSignal<bool>,
    on_close: impl Fn() + Clone + 'static,
    inline: bool,
) {
    let t = chat.strings();
    let label = t.chat_with(&config.bot_name);
    // Inline, in the page's own layout, it is a landmark region, not a dialog.
    let panel = dom::html(
        "section",
        "cw-panel",
        &[
            ("id", "cw-panel"),
            ("role", if inline { "region" } else { "dialog" }),
            ("tabindex", "-1"),
            ("aria-label", &label),
        ],
    );
    let _ = root.append_child(&panel);

    // Header: avatar, name, New conversation, Close.
    let header = dom::element("header", "cw-header");
    let _ = panel.append_child(&header);
    match &config.avatar_url {
        Some(url) => {
            let _ = header.append_child(&dom::html(
                "img",
                "cw-avatar cw-avatar--image",
                &[("src", url), ("alt", ""), ("width", "34"), ("height", "34")],
            ));
        }
        None => {
            let _ = dom::append(&header, "span", "cw-avatar", &initial(&config.bot_name))
                .set_attribute("aria-hidden", "true");
        }
    }
    dom::append(&header, "h2", "cw-title", &config.bot_name);
    let new_conversation = dom::html(
        "button",
        "cw-icon-button cw-new-conversation",
        &[
            ("type", "button"),
            ("aria-label", t.new_conversation),
            ("title", t.new_conversation),
        ],
    );
    let _ = new_conversation.append_child(&dom::icon(icon::NEW_CONVERSATION, 20, ""));
    let close = dom::html(
        "button",
        "cw-icon-button",
        &[("type", "button"), ("aria-label", t.close_chat)],
    );
    let _ = close.append_child(&dom::icon(icon::CLOSE, 22, ""));
    let _ = header.append_child(&new_conversation);
    let _ = header.append_child(&close);

    // "Start over?" asked in place.
    let confirm = dom::html(
        "div",
        "cw-confirm",
        &[
            ("role", "alertdialog"),
            ("aria-label", t.new_conversation),
            ("aria-describedby", "cw-confirm-text"),
        ],
    );
    let _ = dom::append(&confirm, "p", "", t.confirm_new_conversation)
        .set_attribute("id", "cw-confirm-text");
    let choices = dom::append(&confirm, "div", "cw-confirm-actions", "");
    let no = dom::append_button(&choices, "cw-confirm-no", t.cancel, "");
    let yes = dom::append_button(&choices, "cw-confirm-yes", t.start_over, "");
    let confirm = dom::Optional::new(&panel, confirm.into());

    message_list(&panel, chat, open);

    // Notices: offline, the latest failure, the rate-limit countdown.
    let banner = dom::Optional::new(
        &panel,
        dom::html("p", "cw-banner", &[("role", "status")]).into(),
    );
    banner.node.set_text_content(Some(t.offline));
    // Polite: it waits for the screen reader to finish what it is saying.
    let alert = dom::Optional::new(
        &panel,
        dom::html(
            "p",
            "cw-alert",
            &[("role", "status"), ("aria-live", "polite")],
        )
        .into(),
    );
    let cooldown = dom::Optional::new(
        &panel,
        dom::html(
            "p",
            "cw-cooldown",
            &[("role", "timer"), ("aria-live", "off")],
        )
        .into(),
    );

    let draft = RwSignal::new(String::new());
    let confirming = RwSignal::new(false);
    let modal = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Textarea>::new();
    let focus_input = move || {
        dom::next_frame(move || {
            if let Some(input) = input.try_get_untracked().flatten() {
                dom::focus(&input);
            }
        });
    };

    // Each time the panel opens: on a phone it covers the screen, is modal and the page behind
    // it stops scrolling; focus goes to the input, except on touch screens, where that would
    // pop the keyboard up uninvited (the dialog itself gets focus instead).
    let configured_modal = config.modal;
    let scroll_lock = StoredValue::new(None::<dom::PageScrollLock>);
    {
        let panel = panel.clone();
        super::effect(move |was_open: Option<bool>| {
            let is_open = open.get();
            dom::set_flag(&panel, "hidden", !is_open);
            if is_open && was_open != Some(true) {
                let small = dom::is_small_screen();
                let is_modal = configured_modal.unwrap_or(small);
                modal.set(is_modal);
                if is_modal {
                    scroll_lock.set_value(dom::PageScrollLock::engage());
                }
                let touch = dom::is_coarse_pointer();
                let panel = panel.clone();
                // An inline panel shown with the page keeps its hands off the page's focus.
                let on_page_load = inline && was_open.is_none();
                dom::next_frame(move || {
                    if on_page_load {
                        return;
                    }
                    if !panel.is_connected() {
                        return; // unmounted meanwhile
                    }
                    match input.try_get_untracked().flatten() {
                        Some(input) if !touch => dom::focus(&input),
                        _ => dom::focus(&panel),
                    }
                });
            }
            if !is_open && was_open == Some(true) {
                if let Some(lock) = scroll_lock.try_update_value(Option::take).flatten() {
                    lock.release();
                }
            }
            is_open
        });
    }
    on_cleanup(move || {
        if let Some(lock) = scroll_lock.try_update_value(Option::take).flatten() {
            lock.release();
        }
    });
    // A chosen quick reply disappears with its buttons: keyboard focus continues in the input.
    {
        super::effect(move |previous: Option<u32>| {
            let requested = chat.focus_composer.get();
            if previous.is_some_and(|p| p != requested) && !dom::is_coarse_pointer() {
                focus_input();
            }
            requested
        });
    }
    // The on-screen keyboard shrinks the visual viewport: the full-screen panel follows it,
    // so the input stays visible above the keyboard.
    {
        let panel = panel.clone();
        dom::watch_visual_viewport(move |height, top| {
            if !(height.is_finite() && height > 0.0 && top.is_finite()) {
                return; // a browser (or a page) reporting nonsense: keep the last good size
            }
            dom::set_css_variable(
                &panel,
                "--cw-viewport-height",
                &format!("{}px", height.floor() as i32),
            );
            dom::set_css_variable(
                &panel,
                "--cw-viewport-top",
                &format!("{}px", top.round() as i32),
            );
        });
    }

    // What is shown follows the conversation (each part touched only when it changes).
    {
        let dialog = panel.clone();
        super::effect(move |_| {
            let _ = dialog.set_attribute("aria-modal", if modal.get() { "true" } else { "false" });
        });
    }
    {
        let new_conversation = new_conversation.clone();
        super::effect(move |_| {
            dom::set_flag(
                &new_conversation,
                "disabled",
                chat.messages.with(Vec::is_empty),
            )
        });
    }
    super::effect(move |_| confirm.show(confirming.get()));
    super::effect(move |_| banner.show(!chat.online.get()));
    super::effect(move |shown: Option<Option<String>>| {
        let error = chat.latest_error();
        if shown.as_ref() != Some(&error) {
            alert.show(error.is_some());
            alert.node.set_text_content(error.as_deref());
        }
        error
    });
    super::effect(move |_| {
        let left = chat.cooldown_left_s();
        cooldown.show(left.is_some());
        // During a used-up window a message is taken and waits: the countdown says when it goes.
        cooldown.node.set_text_content(
            left.map(|s| t.cooldown(s, !chat.cooldown_refuses()))
                .as_deref(),
        );
    });
    // After a logout the next visitor does not find the previous one's draft.
    super::effect(move |seen: Option<u32>| {
        let forgotten = chat.forgotten.get();
        if seen.is_some_and(|seen| seen != forgotten) {
            draft.set(String::new());
        }
        forgotten
    });

    // The composer. The draft is cleared only once the chat took the message: while a reply
    // is on its way, Enter keeps the text in the input.
    mount::append_view(
        &panel,
        view! {
            <Composer
                draft
                busy=chat.busy
                can_send=Signal::derive(move || chat.can_send())
                on_send=move |text: String| chat.send(&text)
                on_stop=move |()| chat.stop()
                strings=t
                node_ref=input
            />
        },
    );
    {
        let on_close = on_close.clone();
        dom::on(&close, "click", move |_: web_sys::Event| on_close());
    }
    {
        let yes = yes.clone();
        dom::on(&new_conversation, "click", move |_: web_sys::Event| {
            confirming.set(true);
            let yes = yes.clone();
            dom::next_frame(move || dom::focus(yes.unchecked_ref()));
        });
    }
    {
        dom::on(&no, "click", move |_: web_sys::Event| {
            confirming.set(false);
            focus_input();
        });
    }
    {
        dom::on(&yes, "click", move |_: web_sys::Event| {
            chat.reset();
            confirming.set(false);
            focus_input();
        });
    }
    let dialog = panel.clone();
    dom::on(&panel, "keydown", move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Tab" && modal.get_untracked() && dom::trap_tab(&dialog, ev.shift_key()) {
            ev.prevent_default();
        }
        if ev.key() == "Escape" {
            ev.stop_propagation();
            if confirming.get_untracked() {
                confirming.set(false);
                focus_input();
            } else {
                on_close();
            }
        }
    });
}

/// The first letter of the bot's name, for the header avatar. The stylesheet shows it in
/// capitals (`text-transform`), which covers every script without Rust's case tables.
fn initial(name: &str) -> String {
    name.chars().next().map(String::from).unwrap_or_default()
}
