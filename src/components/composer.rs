//! The composer: the input and its Send button (Stop while a reply is on its way).

use super::icon;
use crate::browser::mount;
use crate::text::Strings;
use leptos::prelude::*;

/// Where the visitor writes: a growing text area and a Send button, which becomes Stop while a
/// reply is on its way. Enter sends, Shift+Enter starts a new line (and Enter while an input
/// method composes a word does neither). Send is disabled while the text is blank or
/// `can_send` is false.
///
/// `on_send` gets the text and says whether it was taken: only then is the draft cleared, so
/// a message refused (a reply still on its way, a countdown) stays in the input. The draft
/// lives in `draft`: bind a signal of your own to keep it across the composer's lifetimes, to
/// prefill it or to clear it.
///
/// ```no_run
/// use chat_widget::{use_chat, ChatStatus, Composer, UseChatOptions};
/// use leptos::prelude::*;
///
/// #[component]
/// fn Input() -> impl IntoView {
///     let chat = use_chat(UseChatOptions::new("demo", "https://bots.example.com"));
///     let draft = RwSignal::new(String::from("Hello"));
///     let status = chat.status;
///     view! {
///         <Composer
///             draft
///             busy=Signal::derive(move || {
///                 matches!(status.get(), ChatStatus::Waiting | ChatStatus::Streaming)
///             })
///             can_send=Signal::derive(move || status.get() == ChatStatus::Idle)
///             on_send=move |text: String| chat.send.run(text).is_ok()
///             on_stop=chat.stop
///             class="my-composer"
///         />
///     }
/// }
/// ```
#[component]
pub fn Composer(
    /// Called with the text when the visitor sends it; returns whether it was taken (the
    /// draft is then cleared).
    #[prop(into)]
    on_send: Callback<String, bool>,
    /// Called when the visitor presses Stop.
    #[prop(optional, into)]
    on_stop: Option<Callback<()>>,
    /// The text being written (default: a signal of its own).
    #[prop(optional, into)]
    draft: Option<RwSignal<String>>,
    /// Whether a reply is on its way: the Send button becomes Stop.
    #[prop(into, default = Signal::stored(false))]
    busy: Signal<bool>,
    /// Whether a message can go now (false disables Send).
    #[prop(into, default = Signal::stored(true))]
    can_send: Signal<bool>,
    /// The visitor-facing words (default: English; see [`crate::text`]).
    #[prop(default = &crate::text::EN)]
    strings: &'static Strings,
    /// Classes added to the form's own.
    #[prop(optional, into)]
    class: MaybeProp<String>,
    /// The text area (to move focus to it).
    #[prop(optional)]
    node_ref: NodeRef<leptos::html::Textarea>,
) -> impl IntoView {
    let t = strings;
    let draft = draft.unwrap_or_else(|| RwSignal::new(String::new()));
    // The value is written only when it differs (writing moves the caret).
    Effect::new(move |_| {
        if let Some(input) = node_ref.get() {
            draft.with(|draft| mount::set_value_if_changed(&input, draft));
        }
    });
    let submit = move || {
        if on_send.run(draft.get_untracked()) {
            draft.set(String::new());
        }
    };
    let classes = move || match class.get().filter(|c| !c.is_empty()) {
        Some(extra) => format!("cw-composer {extra}"),
        None => "cw-composer".to_owned(),
    };
    let stop = move || {
        view! {
            <button
                type="button"
                class="cw-send cw-stop"
                aria-label=t.stop
                on:click=move |_| {
                    if let Some(on_stop) = on_stop {
                        on_stop.run(());
                    }
                }
            >
                {icon::svg(icon::STOP, 16, "")}
            </button>
        }
    };
    view! {
        <form
            class=classes
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <textarea
                class="cw-input"
                rows="1"
                aria-label=t.input_label
                placeholder=t.input_placeholder
                enterkeyhint="send"
                node_ref=node_ref
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <Show when=move || !busy.get() fallback=stop>
                <button
                    type="submit"
                    class="cw-send"
                    aria-label=t.send
                    disabled=move || !can_send.get() || draft.with(|d| d.trim().is_empty())
                >
                    {icon::svg(icon::SEND, 20, "")}
                </button>
            </Show>
        </form>
    }
}
