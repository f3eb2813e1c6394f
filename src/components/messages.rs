//! The message list: the greeting, every message with its state, quick replies, the typing
//! dots. A `role="log"` region that follows new text as it streams in, unless the visitor has
//! scrolled up to read; then a "New messages" pill offers the way back down.

use chat_widget_protocol::markdown::{allowed_url, plain_text};
use chat_widget_protocol::{ActionKind, ErrorCode, SuggestedAction};
use leptos::either::Either;
use leptos::html::Div;
use leptos::prelude::*;

use super::icon;
use crate::browser::dom;
use crate::browser::reply_dom::ReplyDom;
use crate::chat::{BotReply, Chat, Delivery, Message, ReplyState};
use crate::text::EN;
use crate::use_chat::UseChatReturn;

/// How close to the bottom (in px) still counts as "at the bottom".
const STICKY_SLACK_PX: i32 = 48;

/// A restored conversation shows its latest this many messages at first; the older ones
/// come in this many at a time, when the visitor scrolls near the top or presses the button.
/// A thousand restored messages cost the time of fifty.
const WINDOW: usize = 50;

impl From<UseChatReturn> for Chat {
    fn from(chat: UseChatReturn) -> Self {
        chat.chat
    }
}

/// `base` and the app's own classes, if any.
fn classes(base: &str, extra: Option<String>) -> String {
    match extra {
        Some(extra) if !extra.trim().is_empty() => format!("{base} {extra}"),
        _ => base.to_owned(),
    }
}

/// The conversation's messages, as the widget's panel shows them: the greeting, each message
/// with its state (sending, not sent with Retry, waiting, stopped, cut short with Retry), each
/// reply's Markdown as it streams in, the quick replies under the last reply, the typing dots.
///
/// It is a `role="log"` that screen readers do not read chunk by chunk: each finished reply is
/// announced once, through a polite status region. It follows new text to the bottom unless
/// the visitor scrolled up to read (then a "New messages" pill leads back down). A long
/// restored conversation shows its latest 50 messages, and the older ones on scrolling up or
/// with the "Earlier messages" button.
///
/// Its styles are the widget's (`.cw-messages-wrap` and inside); a Leptos app that draws it
/// outside [`ChatWidget`](crate::ChatWidget) / [`ChatPanel`](crate::ChatPanel) gives it its own
/// stylesheet or sizes it with `class`.
///
/// ```no_run
/// use chat_widget::{use_chat, MessageList, UseChatOptions};
/// use leptos::prelude::*;
///
/// #[component]
/// fn HelpColumn() -> impl IntoView {
///     let chat = use_chat(UseChatOptions::new("demo", "https://bots.example.com"));
///     let shown = RwSignal::new(true);
///     view! {
///         <MessageList chat=chat visible=shown class="help-messages" />
///         <button on:click=move |_| { let _ = chat.send.run("Where is my order?".into()); }>
///             "Ask"
///         </button>
///     }
/// }
/// ```
#[component]
pub fn MessageList(
    /// The conversation: [`use_chat`](crate::use_chat)'s return (or the engine in it).
    #[prop(into)]
    chat: Chat,
    /// Whether the list is on screen (a hidden list cannot scroll): when it comes into view, a
    /// visitor who was at the bottom sees the newest messages. On screen unless given.
    #[prop(into, default = Signal::stored(true))]
    visible: Signal<bool>,
    /// Classes added to the list's outer element.
    #[prop(into, optional)]
    class: MaybeProp<String>,
) -> impl IntoView {
    let t = chat.strings();
    let list = NodeRef::<Div>::new();
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(false);
    let scroll_down = move || {
        if let Some(list) = list.get_untracked() {
            dom::next_frame(move || dom::scroll_to_bottom(&list));
        }
    };
    // Whenever something visible changes: follow it if the visitor is at the bottom,
    // otherwise let them read and show the pill.
    Effect::new(move |_| {
        chat.revision.track();
        chat.is_waiting();
        if at_bottom.get_untracked() {
            scroll_down();
        } else {
            unseen.set(true);
        }
    });
    // A hidden list cannot scroll: on showing it, a visitor who was at the bottom (or has not
    // seen it yet, with a conversation restored meanwhile) sees the newest messages.
    Effect::new(move |_| {
        if visible.get() && at_bottom.get_untracked() {
            scroll_down();
        }
    });
    // Messages held back at the start of a long restored conversation.
    let hidden = RwSignal::new(0usize);
    let seen_len = StoredValue::new(0usize);
    let show_earlier = move || {
        if hidden.get_untracked() > 0 {
            hidden.update(|h| *h = h.saturating_sub(WINDOW));
        }
    };
    let on_scroll = move |_| {
        let Some(element) = list.get_untracked() else {
            return;
        };
        let (top, below) = dom::scroll_position(&element);
        if top < 200 {
            show_earlier();
        }
        let bottom = below <= STICKY_SLACK_PX;
        at_bottom.set(bottom);
        if bottom {
            unseen.set(false);
        }
    };
    let on_pill = move |_| {
        at_bottom.set(true);
        unseen.set(false);
        if let Some(list) = list.get_untracked() {
            dom::scroll_to_bottom(&list);
        }
    };
    let on_earlier = move |_| {
        show_earlier();
        if hidden.get_untracked() == 0 {
            if let Some(list) = list.get_untracked() {
                dom::focus(&list);
            }
        }
    };
    // The messages shown. A jump of more than a window at once is a restore: hold back all but
    // the latest window. A shrink is a new conversation.
    let shown = move || {
        chat.messages.with(|messages| {
            let (before, now) = (seen_len.get_value(), messages.len());
            seen_len.set_value(now);
            if now < before && hidden.get_untracked() != 0 {
                hidden.set(0);
            } else if now > before + WINDOW && before == 0 {
                hidden.set(now - WINDOW);
            }
            messages[hidden.get().min(now)..].to_vec()
        })
    };
    let greeting = move || chat.look.with(|look| look.greeting.clone());
    view! {
        <div class=move || classes("cw-messages-wrap", class.get())>
            // A log, but not a live one: streamed text would be read out chunk by chunk.
            // Finished replies are announced once, through the status region below.
            <div
                class="cw-messages"
                role="log"
                aria-live="off"
                aria-label=t.messages
                tabindex="-1"
                node_ref=list
                on:scroll=on_scroll
            >
                <Show when=move || greeting().is_some()>
                    <div class="cw-msg cw-msg--bot cw-msg--greeting">
                        <span class="cw-sr-only">{format!("{} ", t.bot_said)}</span>
                        <p class="cw-bubble" dir="auto">{greeting}</p>
                    </div>
                </Show>
                <Show when=move || { hidden.get() > 0 }>
                    <button type="button" class="cw-earlier" on:click=on_earlier>
                        {t.earlier_messages}
                    </button>
                </Show>
                <div class="cw-rows">
                    <For
                        each=shown
                        key=|message: &Message| message.id
                        children=move |message: Message| row(chat, message)
                    />
                </div>
                <Show when=move || chat.is_waiting()>
                    <div class="cw-typing" role="status" aria-label=t.typing>
                        <span></span>
                        <span></span>
                        <span></span>
                    </div>
                </Show>
            </div>
            <div class="cw-sr-only" role="status" aria-live="polite" aria-atomic="true">
                {move || chat.announcement.get()}
            </div>
            <Show when=move || unseen.get()>
                <button type="button" class="cw-pill" on:click=on_pill>
                    {t.new_messages}
                    {icon::svg(icon::DOWN, 16, "")}
                </button>
            </Show>
        </div>
    }
}

/// One message. The row holds the message, whose signals are freed once it left the
/// conversation and its row is gone.
fn row(chat: Chat, message: Message) -> impl IntoView {
    let view = match message.reply {
        Some(reply) => Either::Left(bot_row(chat, message.id, message.at, reply)),
        None => Either::Right(visitor_row(chat, &message)),
    };
    StoredValue::new(message);
    view
}

/// When a message was written, in the widget's language (the browser's `Intl`).
fn time(chat: Chat, at: f64) -> impl IntoView {
    let (text, iso) = dom::format_time(at, chat.locale.tag());
    view! { <time class="cw-time" datetime=iso>{text}</time> }
}

/// A visitor's message: its text, time, and while it is not through, why and a Retry.
fn visitor_row(chat: Chat, message: &Message) -> impl IntoView {
    let t = chat.strings();
    let (id, delivery, auto_retry) = (message.id, message.delivery, message.auto_retry);
    let failed = move || delivery.with(|d| matches!(d, Delivery::Failed(_)));
    let refused = move || {
        delivery.with(|d| matches!(d, Delivery::Failed(e) if e.code == ErrorCode::InvalidRequest))
    };
    // Offline, it waits for the connection; online, for its turn (a reply on its way, a
    // used-up rate-limit window).
    let waiting = move || {
        if chat.online.get() {
            t.waiting_to_send
        } else {
            t.waiting_for_connection
        }
    };
    let retrying_in = move || {
        auto_retry
            .get()
            .map(|at| t.retrying_in(((at - chat.now.get()) / 1000.0).ceil().max(1.0) as u64))
    };
    view! {
        <div
            class="cw-msg cw-msg--visitor"
            class=("cw-msg--failed", failed)
            class=(
                "cw-msg--sending",
                move || delivery.with(|d| matches!(d, Delivery::Sending | Delivery::InAnotherTab)),
            )
            data-cw-id=id
        >
            <span class="cw-sr-only">{format!("{} ", t.you_said)}</span>
            <p class="cw-bubble" dir="auto">{message.text.clone()}</p>
            {time(chat, message.at)}
            // Shown, hidden and updated in place, so a focused Retry keeps focus.
            <Show when=failed>
                <p class="cw-status">
                    <span>{t.not_sent}</span>
                    <span>{retrying_in}</span>
                    // Refused as invalid, it would be refused again: Edit takes it back
                    // into the input instead.
                    <button
                        type="button"
                        class="cw-retry"
                        data-cw="retry"
                        disabled=move || !refused() && !chat.can_send()
                        on:click=move |_| match refused() {
                            true => chat.edit(id),
                            false => chat.retry(id),
                        }
                    >
                        {move || if refused() { t.edit } else { t.retry }}
                    </button>
                </p>
            </Show>
            <Show when=move || delivery.with(|d| *d == Delivery::Waiting)>
                <p class="cw-status cw-status--muted">{waiting}</p>
            </Show>
            <Show when=move || delivery.with(|d| *d == Delivery::InAnotherTab)>
                <p class="cw-status cw-status--muted">{t.sending_in_another_tab}</p>
            </Show>
        </div>
    }
}

/// How a reply ended, for its footer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Streaming,
    Complete,
    Stopped,
    Interrupted,
}

/// A bot reply: its HTML brought up to date with what changed in each frame (or its whole
/// HTML); under it its time, its state and the quick replies.
fn bot_row(chat: Chat, id: u64, at: f64, reply: BotReply) -> impl IntoView {
    let t = chat.strings();
    let bubble = NodeRef::<Div>::new();
    let ending = Memo::new(move |_| {
        reply.state.with(|state| match state {
            ReplyState::Streaming => Ending::Streaming,
            ReplyState::Complete => Ending::Complete,
            ReplyState::Stopped => Ending::Stopped,
            ReplyState::Interrupted(_) => Ending::Interrupted,
        })
    });
    let streaming = move || ending.get() == Ending::Streaming;
    let silent = Memo::new(move |_| streaming() && !reply.has_text());
    // The quick replies go under the last message only.
    let with_actions = Memo::new(move |_| {
        ending.get() == Ending::Complete
            && chat.messages.with(|messages| messages.last().map(|m| m.id)) == Some(id)
            && reply.actions.with(|actions| !actions.is_empty())
    });
    // The reply's HTML: the steps not yet drawn are applied once per frame while it streams.
    let mut drawn: Option<ReplyDom> = None;
    Effect::new(move |_| {
        let Some(element) = bubble.get() else {
            return;
        };
        let drawn = drawn.get_or_insert_with(|| ReplyDom::new(&element));
        reply.html.with(|html| {
            drawn.show(html.attempt, &html.ops, &html.live, html.whole.as_deref());
        });
        if drawn.refused() {
            // A page whose Trusted Types policy refuses the widget's HTML: the words, at least.
            element.set_text_content(Some(&plain_text(&reply.source())));
        }
    });
    view! {
        <div
            class="cw-msg cw-msg--bot"
            class=("cw-msg--streaming", streaming)
            class=("cw-msg--hidden", move || silent.get())
            data-cw-id=id
        >
            <span class="cw-sr-only">{t.bot_said}</span>
            // Its `dir` is set by `ReplyDom` (the direction of its text). Busy until its final
            // HTML is drawn.
            <div
                class="cw-bubble cw-markdown"
                aria-busy=move || reply.html.with(|html| (!html.settled).then_some("true"))
                node_ref=bubble
            ></div>
            <Show when=move || !streaming()>{time(chat, at)}</Show>
            <Show when=move || ending.get() == Ending::Stopped>
                <p class="cw-status cw-status--muted">{t.stopped}</p>
            </Show>
            <Show when=move || ending.get() == Ending::Interrupted>
                <p class="cw-status">
                    <span>{t.interrupted}</span>
                    <button
                        type="button"
                        class="cw-retry"
                        data-cw="again"
                        disabled=move || chat.busy.get()
                        on:click=move |_| chat.retry_reply(reply)
                    >
                        {t.retry}
                    </button>
                </p>
            </Show>
            <Show when=move || with_actions.get()>
                <QuickReplies
                    actions=reply.actions
                    label=t.suggestions
                    disabled=chat.busy
                    on_choose=move |action: SuggestedAction| chat.choose_action(reply, &action)
                />
            </Show>
        </div>
    }
}

/// A reply's quick replies: a button for each, and a link for each that opens a page (only an
/// http(s) address; any other is left out). The widget shows them under the last reply.
///
/// ```no_run
/// use chat_widget::{use_chat, QuickReplies, SuggestedAction, UseChatOptions};
/// use leptos::prelude::*;
///
/// #[component]
/// fn Suggestions() -> impl IntoView {
///     let chat = use_chat(UseChatOptions::new("demo", "https://bots.example.com"));
///     // The quick replies of the latest reply.
///     let actions = Signal::derive(move || {
///         chat.messages
///             .get()
///             .iter()
///             .rev()
///             .find_map(|m| m.reply)
///             .map(|reply| reply.actions.get())
///             .unwrap_or_default()
///     });
///     view! {
///         <QuickReplies
///             actions=actions
///             on_choose=move |action: SuggestedAction| {
///                 let _ = chat.send.run(action.payload.unwrap_or(action.text));
///             }
///             class="my-suggestions"
///         />
///     }
/// }
/// ```
#[component]
pub fn QuickReplies(
    /// The quick replies offered.
    #[prop(into)]
    actions: Signal<Vec<SuggestedAction>>,
    /// Called with the one the visitor chose (a link opens its page instead).
    #[prop(into)]
    on_choose: Callback<SuggestedAction>,
    /// While true the buttons are disabled (a reply is on its way).
    #[prop(into, optional)]
    disabled: Signal<bool>,
    /// The group's accessible name; "Suggested replies" unless given.
    #[prop(into, optional)]
    label: MaybeProp<String>,
    /// Classes added to the group's element.
    #[prop(into, optional)]
    class: MaybeProp<String>,
) -> impl IntoView {
    let chips = move || {
        actions
            .get()
            .into_iter()
            .enumerate()
            .map(|(index, action)| match action.kind {
                ActionKind::Url => Either::Left(
                    action
                        .payload
                        .as_deref()
                        .and_then(|url| allowed_url(url, &["http:", "https:"]))
                        .map(|href| {
                            view! {
                                <a
                                    class="cw-action"
                                    dir="auto"
                                    href=href.to_owned()
                                    target="_blank"
                                    rel="noopener noreferrer"
                                >
                                    {action.text.clone()}
                                </a>
                            }
                        }),
                ),
                _ => Either::Right(view! {
                    <button
                        type="button"
                        class="cw-action"
                        dir="auto"
                        data-cw=index.to_string()
                        disabled=disabled
                        on:click={
                            let action = action.clone();
                            move |_| on_choose.run(action.clone())
                        }
                    >
                        {action.text.clone()}
                    </button>
                }),
            })
            .collect_view()
    };
    view! {
        <div
            class=move || classes("cw-actions", class.get())
            role="group"
            aria-label=move || label.get().unwrap_or_else(|| EN.suggestions.to_owned())
        >
            {chips}
        </div>
    }
}
