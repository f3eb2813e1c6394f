//! The message list: the greeting, every message with its delivery state, the typing dots.
//! A `role="log"` region, scrolled to the newest message as messages arrive.

use leptos::html::Div;
use leptos::prelude::*;

use crate::browser::dom;
use crate::chat::{Chat, Delivery, Message, Role};
use crate::text::EN;

/// The list of messages.
#[component]
pub fn MessageList(
    /// The conversation.
    chat: Chat,
    /// Shown first, as the bot's, when set.
    greeting: Option<String>,
) -> impl IntoView {
    let list = NodeRef::<Div>::new();
    Effect::new(move |_| {
        // Re-run when a message is added or the typing dots appear or go.
        chat.messages.with(Vec::len);
        chat.is_waiting();
        dom::next_frame(move || {
            if let Some(list) = list.get_untracked() {
                dom::scroll_to_bottom(&list);
            }
        });
    });

    view! {
        <div class="cw-messages" role="log" aria-label="Messages" node_ref=list>
            {greeting.map(|text| view! {
                <div class="cw-msg cw-msg--bot cw-msg--greeting">
                    <p class="cw-bubble"><span class="cw-sr-only">{EN.bot_said}" "</span>{text}</p>
                </div>
            })}
            <For each=move || chat.messages.get() key=|message| message.id let:message>
                <MessageBubble chat message/>
            </For>
            <Show when=move || chat.is_waiting()>
                <div class="cw-typing" role="status" aria-label=EN.typing>
                    <span></span><span></span><span></span>
                </div>
            </Show>
        </div>
    }
}

/// One message.
#[component]
fn MessageBubble(chat: Chat, message: Message) -> impl IntoView {
    let Message { id, role, text, html, delivery } = message;
    let failed = move || matches!(delivery.get(), Delivery::Failed(_));
    match role {
        Role::Bot => view! {
            <div class="cw-msg cw-msg--bot">
                <span class="cw-sr-only">{EN.bot_said}</span>
                <div class="cw-bubble cw-markdown" inner_html=html.unwrap_or_default()></div>
            </div>
        }
        .into_any(),
        Role::Visitor => view! {
            <div class="cw-msg cw-msg--visitor" class:cw-msg--failed=failed class:cw-msg--sending=move || delivery.get() == Delivery::Sending>
                <p class="cw-bubble"><span class="cw-sr-only">{EN.you_said}" "</span>{text}</p>
                <Show when=failed>
                    <p class="cw-status">
                        <span>{EN.not_sent}</span>
                        <button type="button" class="cw-retry" on:click=move |_| chat.retry(id)>{EN.retry}</button>
                    </p>
                </Show>
            </div>
        }
        .into_any(),
    }
}
