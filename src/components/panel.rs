//! The chat panel: header, message list, failure notice and composer. A non-modal dialog:
//! Escape closes it, focus goes to the input when it opens.

use leptos::ev::KeyboardEvent;
use leptos::html::Textarea;
use leptos::prelude::*;

use super::icon::{self, Icon};
use super::messages::MessageList;
use crate::browser::dom;
use crate::chat::Chat;
use crate::config::WidgetConfig;

/// The panel. It stays in the DOM while closed (hidden), so a half-typed message and the
/// scroll position survive closing and reopening.
#[component]
pub fn Panel(
    /// The conversation.
    chat: Chat,
    /// Settings (bot name, greeting).
    config: WidgetConfig,
    /// Whether the panel is shown.
    open: RwSignal<bool>,
    /// Closes the panel and gives focus back to the launcher.
    on_close: Callback<()>,
) -> impl IntoView {
    let t = chat.strings();
    let draft = RwSignal::new(String::new());
    let input = NodeRef::<Textarea>::new();
    let confirming = RwSignal::new(false);
    let panel = NodeRef::<leptos::html::Section>::new();
    let confirm_yes = NodeRef::<leptos::html::Button>::new();
    let focus_input = move || {
        dom::next_frame(move || {
            if let Some(input) = input.try_get_untracked().flatten() {
                dom::focus(&input);
            }
        })
    };

    // Each time the panel opens: on a phone it covers the screen, is modal and the page behind
    // it stops scrolling; focus goes to the input, except on touch screens, where that would
    // pop the keyboard up uninvited (the dialog itself gets focus instead).
    let modal = RwSignal::new(false);
    let configured_modal = config.modal;
    let scroll_lock = StoredValue::new_local(None::<dom::PageScrollLock>);
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open != Some(true) {
            // (Also when the widget starts open: the loader opens it right after mounting when
            // the visitor clicked before it was ready, before this effect first runs.)
            let small = dom::is_small_screen();
            let is_modal = configured_modal.unwrap_or(small);
            modal.set(is_modal);
            if is_modal {
                scroll_lock.set_value(dom::PageScrollLock::engage());
            }
            let touch = dom::is_coarse_pointer();
            dom::next_frame(move || {
                if touch {
                    if let Some(panel) = panel.try_get_untracked().flatten() {
                        dom::focus(&panel);
                    }
                } else if let Some(input) = input.try_get_untracked().flatten() {
                    dom::focus(&input);
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
    // A chosen quick reply disappears with its buttons: keyboard focus continues in the input.
    Effect::new(move |previous: Option<u32>| {
        let requested = chat.focus_composer.get();
        if previous.is_some_and(|p| p != requested) && !dom::is_coarse_pointer() {
            focus_input();
        }
        requested
    });
    on_cleanup(move || {
        if let Some(lock) = scroll_lock.try_update_value(Option::take).flatten() {
            lock.release();
        }
    });
    // The on-screen keyboard shrinks the visual viewport: the full-screen panel follows it,
    // so the input stays visible above the keyboard.
    dom::watch_visual_viewport(move |height, top| {
        if !(height.is_finite() && height > 0.0 && top.is_finite()) {
            return; // a browser (or a page) reporting nonsense: keep the last good size
        }
        if let Some(panel) = panel.try_get_untracked().flatten() {
            dom::set_css_variable(&panel, "--cw-viewport-height", &format!("{}px", height.floor() as i32));
            dom::set_css_variable(&panel, "--cw-viewport-top", &format!("{}px", top.round() as i32));
        }
    });

    // The draft is cleared only once the chat took the message: while a reply is on its
    // way, Enter keeps the text in the input.
    let submit = move || {
        if chat.send(&draft.get_untracked()) {
            draft.set(String::new());
        }
    };
    let on_input_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    let on_panel_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Tab" && modal.get_untracked() {
            if let Some(panel) = panel.get_untracked() {
                if dom::trap_tab(&panel, ev.shift_key()) {
                    ev.prevent_default();
                }
            }
        }
        if ev.key() == "Escape" {
            ev.stop_propagation();
            if confirming.get_untracked() {
                confirming.set(false);
                focus_input();
            } else {
                on_close.run(());
            }
        }
    };
    let label = t.chat_with(&config.bot_name);
    let bot_name = config.bot_name.clone();
    let avatar = match config.avatar_url.clone() {
        Some(url) => view! { <img class="cw-avatar cw-avatar--image" src=url alt="" width="34" height="34"/> }.into_any(),
        None => view! { <span class="cw-avatar" aria-hidden="true">{initial(&bot_name)}</span> }.into_any(),
    };

    view! {
        <section
            id="cw-panel"
            class="cw-panel"
            role="dialog"
            aria-modal=move || modal.get().to_string()
            tabindex="-1"
            node_ref=panel
            aria-label=label
            hidden=move || !open.get()
            on:keydown=on_panel_keydown
        >
            <header class="cw-header">
                {avatar}
                <h2 class="cw-title">{bot_name.clone()}</h2>
                <button type="button" class="cw-icon-button cw-new-conversation" aria-label=t.new_conversation title=t.new_conversation
                    disabled=move || chat.messages.with(Vec::is_empty)
                    on:click=move |_| {
                        confirming.set(true);
                        dom::next_frame(move || { if let Some(button) = confirm_yes.try_get_untracked().flatten() { dom::focus(&button); } });
                    }>
                    <Icon d=icon::NEW_CONVERSATION size=20/>
                </button>
                <button type="button" class="cw-icon-button" aria-label=t.close_chat on:click=move |_| on_close.run(())>
                    <Icon d=icon::CLOSE size=22/>
                </button>
            </header>
            <Show when=move || confirming.get()>
                <div class="cw-confirm" role="alertdialog" aria-label=t.new_conversation aria-describedby="cw-confirm-text">
                    <p id="cw-confirm-text">{t.confirm_new_conversation}</p>
                    <div class="cw-confirm-actions">
                        <button type="button" class="cw-confirm-no" on:click=move |_| { confirming.set(false); focus_input(); }>{t.cancel}</button>
                        <button type="button" class="cw-confirm-yes" node_ref=confirm_yes on:click=move |_| { chat.reset(); confirming.set(false); focus_input(); }>{t.start_over}</button>
                    </div>
                </div>
            </Show>
            <MessageList chat/>
            <Show when=move || !chat.online.get()>
                <p class="cw-banner" role="status">{t.offline}</p>
            </Show>
            <Show when=move || chat.latest_error().is_some()>
                // Polite: it waits for the screen reader to finish what it is saying.
                <p class="cw-alert" role="status" aria-live="polite">{move || chat.latest_error()}</p>
            </Show>
            <Show when=move || chat.cooldown_left_s().is_some()>
                <p class="cw-cooldown" role="timer" aria-live="off">
                    {move || t.cooldown(chat.cooldown_left_s().unwrap_or(0))}
                </p>
            </Show>
            <form class="cw-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <textarea
                    class="cw-input"
                    node_ref=input
                    rows="1"
                    aria-label=t.input_label
                    placeholder=t.input_placeholder
                    enterkeyhint="send"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=on_input_keydown
                ></textarea>
                <Show
                    when=move || chat.busy.get()
                    fallback=move || view! {
                        <button type="submit" class="cw-send" aria-label=t.send disabled=move || !chat.can_send() || draft.with(|d| d.trim().is_empty())>
                            <Icon d=icon::SEND size=20/>
                        </button>
                    }
                >
                    <button type="button" class="cw-send cw-stop" aria-label=t.stop on:click=move |_| chat.stop()>
                        <Icon d=icon::STOP size=16/>
                    </button>
                </Show>
            </form>
        </section>
    }
}

/// The first letter of the bot's name, for the header avatar. The stylesheet shows it in
/// capitals (`text-transform`), which covers every script without Rust's case tables.
fn initial(name: &str) -> String {
    name.chars().next().map(String::from).unwrap_or_default()
}
