//! The chat panel: header, message list, failure notice and composer. A non-modal dialog:
//! Escape closes it, focus goes to the input when it opens.

use super::composer::Composer;
use super::icon;
use super::messages::MessageList;
use crate::browser::dom;
use crate::chat::Chat;
use crate::config::WidgetConfig;
use leptos::prelude::*;

/// The panel. It stays in the DOM while closed (hidden), so a half-typed message and the
/// scroll position survive closing and reopening. `on_close` closes it and gives focus back to
/// the launcher.
pub fn panel(
    chat: Chat,
    config: &WidgetConfig,
    open: RwSignal<bool>,
    on_close: Callback<()>,
    inline: bool,
) -> impl IntoView {
    let t = chat.strings();
    let draft = RwSignal::new(String::new());
    let confirming = RwSignal::new(false);
    let modal = RwSignal::new(false);
    let section = NodeRef::<leptos::html::Section>::new();
    let input = NodeRef::<leptos::html::Textarea>::new();
    let yes = NodeRef::<leptos::html::Button>::new();
    let focus_input = move || {
        dom::next_frame(move || {
            if let Some(input) = input.try_get_untracked().flatten() {
                dom::focus(&input);
            }
        });
    };
    // A picture comes with the name's initial after it, which the stylesheet hides until the
    // picture fails to load and is taken out (`dom::drop_broken_pictures`).
    let avatar = view! {
        {config.avatar_url.clone().map(|url| view! {
            <img class="cw-avatar cw-avatar--image" src=url alt="" width="34" height="34"/>
        })}
        <span class="cw-avatar" aria-hidden="true">{initial(&config.bot_name)}</span>
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        if key == "Tab" && modal.get_untracked() {
            if let Some(dialog) = section.get_untracked() {
                if dom::trap_tab(&dialog, ev.shift_key()) {
                    ev.prevent_default();
                }
            }
        }
        if key == "Escape" {
            ev.stop_propagation();
            if confirming.get_untracked() {
                confirming.set(false);
                focus_input();
            } else {
                on_close.run(());
            }
        }
    };
    // After the header and the "Start over?" question: the message list, then the notices:
    // offline, the latest failure (polite: it waits for the screen reader to finish
    // what it is saying), the rate-limit countdown. Then the composer: the draft is cleared
    // only once the chat took the message (while a reply is on its way, Enter keeps the text).
    let error = Memo::new(move |_| chat.latest_error());
    let cooldown = Memo::new(move |_| {
        // During a used-up window a message is taken and waits: the countdown says when it goes.
        chat.cooldown_left_s()
            .map(|s| t.cooldown(s, !chat.cooldown_refuses()))
    });
    let view = view! {
        // Inline, in the page's own layout, it is a landmark region, not a dialog.
        <section
            id="cw-panel"
            class="cw-panel"
            role=if inline { "region" } else { "dialog" }
            tabindex="-1"
            aria-label=t.chat_with(&config.bot_name)
            aria-modal=move || if modal.get() { "true" } else { "false" }
            hidden=move || !open.get()
            node_ref=section
            on:keydown=on_keydown
        >
            <header class="cw-header">
                {avatar}
                <h2 class="cw-title">{config.bot_name.clone()}</h2>
                <button
                    type="button"
                    class="cw-icon-button cw-new-conversation"
                    aria-label=t.new_conversation
                    title=t.new_conversation
                    disabled=move || chat.messages.with(Vec::is_empty)
                    on:click=move |_| {
                        confirming.set(true);
                        dom::next_frame(move || {
                            if let Some(yes) = yes.try_get_untracked().flatten() {
                                dom::focus(&yes);
                            }
                        });
                    }
                >
                    {icon::svg(icon::NEW_CONVERSATION, 20, "")}
                </button>
                <button
                    type="button"
                    class="cw-icon-button"
                    aria-label=t.close_chat
                    on:click=move |_| on_close.run(())
                >
                    {icon::svg(icon::CLOSE, 22, "")}
                </button>
            </header>
            // "Start over?" asked in place.
            <Show when=move || confirming.get()>
                <div
                    class="cw-confirm"
                    role="alertdialog"
                    aria-label=t.new_conversation
                    aria-describedby="cw-confirm-text"
                >
                    <p id="cw-confirm-text">{t.confirm_new_conversation}</p>
                    <div class="cw-confirm-actions">
                        <button
                            type="button"
                            class="cw-confirm-no"
                            on:click=move |_| {
                                confirming.set(false);
                                focus_input();
                            }
                        >
                            {t.cancel}
                        </button>
                        <button
                            type="button"
                            class="cw-confirm-yes"
                            node_ref=yes
                            on:click=move |_| {
                                chat.reset();
                                confirming.set(false);
                                focus_input();
                            }
                        >
                            {t.start_over}
                        </button>
                    </div>
                </div>
            </Show>
            <MessageList chat visible=open/>
            <Show when=move || !chat.online.get()>
                <p class="cw-banner" role="status">{t.offline}</p>
            </Show>
            <Show when=move || error.with(Option::is_some)>
                <p class="cw-alert" role="status" aria-live="polite">
                    {move || error.get().unwrap_or_default()}
                </p>
            </Show>
            <Show when=move || cooldown.with(Option::is_some)>
                <p class="cw-cooldown" role="timer" aria-live="off">
                    {move || cooldown.get().unwrap_or_default()}
                </p>
            </Show>
            <Composer
                draft
                busy=chat.busy
                can_send=Signal::derive(move || chat.can_send())
                on_send=move |text: String| chat.send(&text)
                on_stop=move |()| chat.stop()
                strings=t
                node_ref=input
            />
        </section>
    };

    // Each time the panel opens: on a phone it covers the screen, is modal and the page behind
    // it stops scrolling; focus goes to the input, except on touch screens, where that would
    // pop the keyboard up uninvited (the dialog itself gets focus instead).
    let configured_modal = config.modal;
    let scroll_lock = StoredValue::new(None::<dom::PageScrollLock>);
    super::effect(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open != Some(true) {
            let small = dom::is_small_screen();
            let is_modal = configured_modal.unwrap_or(small);
            modal.set(is_modal);
            if is_modal {
                scroll_lock.set_value(dom::PageScrollLock::engage());
            }
            let touch = dom::is_coarse_pointer();
            // An inline panel shown with the page keeps its hands off the page's focus.
            let on_page_load = inline && was_open.is_none();
            dom::next_frame(move || {
                if on_page_load {
                    return;
                }
                // (`dom::focus` leaves an element that left the document alone.)
                let Some(panel) = section.try_get_untracked().flatten() else {
                    return; // unmounted meanwhile
                };
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
    on_cleanup(move || {
        if let Some(lock) = scroll_lock.try_update_value(Option::take).flatten() {
            lock.release();
        }
    });
    // A chosen quick reply disappears with its buttons: keyboard focus continues in the input.
    super::effect(move |previous: Option<u32>| {
        let requested = chat.focus_composer.get();
        if previous.is_some_and(|p| p != requested) && !dom::is_coarse_pointer() {
            focus_input();
        }
        requested
    });
    // The on-screen keyboard shrinks the visual viewport: the full-screen panel follows it,
    // so the input stays visible above the keyboard. (Watched from when the panel's element
    // exists, once.)
    super::effect(move |watching: Option<bool>| {
        if watching == Some(true) {
            return true;
        }
        let Some(panel) = section.get() else {
            return false;
        };
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
        true
    });
    // A refused message taken back to be changed goes into the input, before what is there.
    super::effect(move |_: Option<()>| {
        if let Some(text) = chat.edited.get() {
            chat.edited.set(None);
            draft.update(|draft| match draft.trim().is_empty() {
                true => *draft = text,
                false => *draft = format!("{text}\n{draft}"),
            });
            focus_input();
        }
    });
    // The draft outlives the page: the composer of the next page (or reload) starts with it.
    // After a logout the next visitor does not find the previous one's.
    super::effect(move |seen: Option<u32>| {
        let forgotten = chat.forgotten.get();
        match seen {
            None => {
                if let Some(saved) = chat.saved_draft() {
                    draft.set(saved);
                }
            }
            Some(seen) if seen != forgotten => draft.set(String::new()),
            Some(_) => {}
        }
        draft.with(|text| chat.keep_draft(text));
        forgotten
    });
    view
}

/// The first letter of the bot's name, for the header avatar. The stylesheet shows it in
/// capitals (`text-transform`), which covers every script without Rust's case tables.
fn initial(name: &str) -> String {
    name.chars().next().map(String::from).unwrap_or_default()
}
