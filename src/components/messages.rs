//! The message list: the greeting, every message with its state, quick replies, the typing
//! dots. A `role="log"` region that follows new text as it streams in, unless the visitor has
//! scrolled up to read; then a "New messages" pill offers the way back down.

use chat_widget_protocol::markdown::allowed_url;
use chat_widget_protocol::{ActionKind, SuggestedAction};
use leptos::html::Div;
use leptos::prelude::*;

use crate::browser::dom;
use crate::chat::{BotReply, Chat, Delivery, Message, ReplyState};

/// How close to the bottom (in px) still counts as "at the bottom".
const STICKY_SLACK_PX: i32 = 48;

/// A restored conversation shows its latest this many messages at first; the older ones
/// come in this many at a time, when the visitor scrolls near the top or presses the button.
/// A thousand restored messages cost the time of fifty.
const WINDOW: usize = 50;

/// The list of messages.
#[component]
pub fn MessageList(
    /// The conversation (its look carries the greeting, shown first as the bot's).
    chat: Chat,
) -> impl IntoView {
    let t = chat.strings();
    let list = NodeRef::<Div>::new();
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(false);

    // Whenever something visible changes: follow it if the visitor is at the bottom,
    // otherwise let them read and show the pill.
    Effect::new(move |_| {
        chat.revision.track();
        chat.is_waiting();
        if at_bottom.get_untracked() {
            dom::next_frame(move || {
                if let Some(list) = list.try_get_untracked().flatten() {
                    dom::scroll_to_bottom(&list);
                }
            });
        } else {
            unseen.set(true);
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
        if let Some(list) = list.get_untracked() {
            if list.scroll_top() < 200 {
                show_earlier();
            }
            let bottom = list.scroll_height() - list.scroll_top() - list.client_height() <= STICKY_SLACK_PX;
            at_bottom.set(bottom);
            if bottom {
                unseen.set(false);
            }
        }
    };
    let jump_down = move |_| {
        at_bottom.set(true);
        unseen.set(false);
        if let Some(list) = list.get_untracked() {
            dom::scroll_to_bottom(&list);
        }
    };
    let last_id = move || chat.messages.with(|messages| messages.last().map(|m| m.id));

    view! {
        <div class="cw-messages-wrap">
            // A log, but not a live one: streamed text would be read out chunk by chunk.
            // Finished replies are announced once, through the status region below.
            <div class="cw-messages" role="log" aria-live="off" aria-label=t.messages tabindex="-1" node_ref=list on:scroll=on_scroll>
                {move || chat.look.with(|look| look.greeting.clone()).map(|text| view! {
                    <div class="cw-msg cw-msg--bot cw-msg--greeting">
                        <span class="cw-sr-only">{t.bot_said}" "</span>
                        <p class="cw-bubble" dir="auto">{text}</p>
                    </div>
                })}
                <Show when=move || { hidden.get() > 0 }>
                    <button type="button" class="cw-earlier" on:click=move |_| {
                        show_earlier();
                        if hidden.get_untracked() == 0 {
                            if let Some(list) = list.get_untracked() {
                                dom::focus(&list);
                            }
                        }
                    }>{t.earlier_messages}</button>
                </Show>
                <For
                    each=move || {
                        chat.messages.with(|messages| {
                            // A jump of more than a window at once is a restore: hold back
                            // all but the latest window. A shrink is a new conversation.
                            let (before, now) = (seen_len.get_value(), messages.len());
                            seen_len.set_value(now);
                            if now < before {
                                hidden.set(0);
                            } else if now > before + WINDOW && before == 0 {
                                hidden.set(now - WINDOW);
                            }
                            messages[hidden.get().min(now)..].to_vec()
                        })
                    }
                    key=|message| message.id
                    let:message
                >
                    {
                        let id = message.id;
                        let is_last = Signal::derive(move || last_id() == Some(id));
                        view! { <MessageBubble chat message is_last/> }
                    }
                </For>
                <Show when=move || chat.is_waiting()>
                    <div class="cw-typing" role="status" aria-label=t.typing>
                        <span></span><span></span><span></span>
                    </div>
                </Show>
            </div>
            <div class="cw-sr-only" role="status" aria-live="polite" aria-atomic="true">{move || chat.announcement.get()}</div>
            <Show when=move || unseen.get()>
                <button type="button" class="cw-pill" on:click=jump_down>
                    {t.new_messages}
                    <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
                        <path fill="currentColor" d="M12 16.6 5.4 10 6.8 8.6 12 13.8l5.2-5.2 1.4 1.4z"/>
                    </svg>
                </button>
            </Show>
        </div>
    }
}

/// One message.
#[component]
fn MessageBubble(chat: Chat, message: Message, is_last: Signal<bool>) -> impl IntoView {
    let t = chat.strings();
    match message.reply {
        Some(reply) => view! { <BotBubble chat reply is_last at=message.at/> }.into_any(),
        None => {
            let Message { id, text, delivery, auto_retry, at, .. } = message;
            let failed = move || matches!(delivery.get(), Delivery::Failed(_));
            let retry_note = move || {
                let at = auto_retry.get()?;
                let left = ((at - chat.now.get()) / 1000.0).ceil().max(1.0) as u64;
                Some(t.retrying_in(left))
            };
            view! {
                <div class="cw-msg cw-msg--visitor" class:cw-msg--failed=failed class:cw-msg--sending=move || delivery.get() == Delivery::Sending>
                    <span class="cw-sr-only">{t.you_said}" "</span>
                    <p class="cw-bubble" dir="auto">{text}</p>
                    <MessageTime chat at/>
                    <Show when=failed>
                        <p class="cw-status">
                            <span>{t.not_sent}</span>
                            <span>{retry_note}</span>
                            <button type="button" class="cw-retry" disabled=move || !chat.can_send() on:click=move |_| chat.retry(id)>{t.retry}</button>
                        </p>
                    </Show>
                    <Show when=move || delivery.get() == Delivery::Waiting>
                        <p class="cw-status cw-status--muted">{t.waiting_for_connection}</p>
                    </Show>
                </div>
            }
            .into_any()
        }
    }
}

/// A bot reply: the final blocks rendered once, the block being written re-rendered per frame,
/// then the exact final HTML; its state and quick replies under it.
#[component]
fn BotBubble(chat: Chat, reply: BotReply, is_last: Signal<bool>, at: f64) -> impl IntoView {
    let t = chat.strings();
    let state = reply.state;
    let streaming = move || state.get() == ReplyState::Streaming;
    let show_actions = move || state.get() == ReplyState::Complete && is_last.get() && reply.actions.with(|a| !a.is_empty());
    view! {
        <div class="cw-msg cw-msg--bot" class:cw-msg--streaming=streaming class:cw-msg--hidden=move || streaming() && !reply.has_text()>
            <span class="cw-sr-only">{t.bot_said}</span>
            {move || match reply.final_html.get() {
                Some(html) => view! { <div class="cw-bubble cw-markdown" dir="auto" inner_html=html></div> }.into_any(),
                None => view! {
                    <div class="cw-bubble cw-markdown" dir="auto">
                        <For each=move || reply.blocks.get().into_iter().enumerate() key=|(index, _)| *index let:block>
                            <div class="cw-block" inner_html=block.1></div>
                        </For>
                        <div class="cw-block" inner_html=move || reply.tail.get()></div>
                    </div>
                }.into_any(),
            }}
            <Show when=move || !streaming()>
                <MessageTime chat at/>
            </Show>
            {move || match state.get() {
                ReplyState::Stopped => Some(view! { <p class="cw-status cw-status--muted">{t.stopped}</p> }.into_any()),
                ReplyState::Interrupted(_) => Some(view! {
                    <p class="cw-status">
                        <span>{t.interrupted}</span>
                        <button type="button" class="cw-retry" disabled=move || chat.busy.get() on:click=move |_| chat.retry_reply(reply)>{t.retry}</button>
                    </p>
                }.into_any()),
                _ => None,
            }}
            <Show when=show_actions>
                <div class="cw-actions" role="group" aria-label=t.suggestions>
                    {move || reply.actions.get().into_iter().map(|action| view! { <ActionButton chat reply action/> }).collect_view()}
                </div>
            </Show>
        </div>
    }
}

/// When a message was written, in the widget's language (the browser's `Intl`).
#[component]
fn MessageTime(chat: Chat, at: f64) -> impl IntoView {
    let (text, iso) = dom::format_time(at, chat.locale.tag());
    view! { <time class="cw-time" datetime=iso>{text}</time> }
}

/// One quick reply: a button that sends it, or for a `url` action a link that opens it.
#[component]
fn ActionButton(chat: Chat, reply: BotReply, action: SuggestedAction) -> impl IntoView {
    let label = action.text.clone();
    if action.kind == ActionKind::Url {
        let href = action.payload.as_deref().and_then(|url| allowed_url(url, &["http:", "https:"])).map(str::to_owned);
        return match href {
            Some(href) => view! { <a class="cw-action" dir="auto" href=href target="_blank" rel="noopener noreferrer">{label}</a> }.into_any(),
            None => ().into_any(),
        };
    }
    view! {
        <button type="button" class="cw-action" dir="auto" disabled=move || chat.busy.get() on:click=move |_| chat.choose_action(reply, &action)>
            {label}
        </button>
    }
    .into_any()
}
