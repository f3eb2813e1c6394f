//! [`use_chat`]: the chat engine as a headless Leptos hook. The widget's components and the
//! script-tag build run on it too; a Leptos app can draw its own chat on it.

use chat_widget_protocol::ApiError;
use leptos::prelude::*;
use serde_json::{Map, Value};

use crate::chat::{Chat, Delivery, Message, ReplyState, Role};
use crate::config::{Dialect, WidgetConfig};

/// What [`use_chat`] talks to: the bot, its server, the API dialect and the public key. Every
/// other setting of [`WidgetConfig`] can be given through [`UseChatOptions::from`].
#[derive(Debug, Clone)]
pub struct UseChatOptions {
    config: WidgetConfig,
}

impl UseChatOptions {
    /// Bot `bot_id` on the server at `api_url`, in the default dialect (`chatbots`).
    pub fn new(bot_id: impl Into<String>, api_url: impl Into<String>) -> Self {
        Self {
            config: WidgetConfig::new(bot_id, api_url),
        }
    }

    /// The API dialect the server speaks (this build must include its feature).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.config.dialect = dialect;
        self
    }

    /// The bot's public API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config = self.config.api_key(key);
        self
    }

    /// The whole configuration these options stand for.
    pub fn config(&self) -> &WidgetConfig {
        &self.config
    }
}

impl From<WidgetConfig> for UseChatOptions {
    fn from(config: WidgetConfig) -> Self {
        Self { config }
    }
}

/// Where the conversation is, for a status line or to disable a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatStatus {
    /// Nothing on its way: the visitor can send.
    Idle,
    /// A message went out and its reply has shown no text yet.
    Waiting,
    /// A reply is streaming in.
    Streaming,
    /// The server asked to slow down: a countdown runs (see [`Chat::cooldown_left_s`]).
    CoolingDown,
    /// The browser is offline: messages wait for the connection.
    Offline,
}

/// Why [`UseChatReturn::send`] did not take a message.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// The text is blank.
    Blank,
    /// A reply is on its way, or a rate limit's countdown runs: try again when
    /// [`UseChatReturn::status`] is [`ChatStatus::Idle`] (the text was not taken).
    Busy,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Blank => "nothing to send: the text is blank",
            Self::Busy => "not sent: a reply is on its way or a countdown runs",
        })
    }
}

impl std::error::Error for SendError {}

/// Who the visitor is, sent as metadata with each message ([`UseChatReturn::identify`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The site's id for the visitor.
    pub user_id: Option<String>,
    /// Their name.
    pub name: Option<String>,
    /// Their e-mail address.
    pub email: Option<String>,
}

/// What [`use_chat`] gives: the conversation as signals, and the actions on it as callbacks
/// (`Copy`, so they go into closures and props freely; call them with `.run(..)`).
#[derive(Clone, Copy)]
pub struct UseChatReturn {
    /// The messages, oldest first (each with its own signals: delivery, streamed HTML, ...).
    pub messages: Signal<Vec<Message>>,
    /// Where the conversation is.
    pub status: Signal<ChatStatus>,
    /// The newest problem still on screen (a message not sent, a reply cut short), as a
    /// typed error with its [`chat_widget_protocol::ErrorCode`].
    pub error: Signal<Option<ApiError>>,
    /// Sends the visitor's text. Offline or during a used-up rate-limit window it is taken
    /// and waits its turn. Gives the message's id, or why it was not taken.
    pub send: Callback<String, Result<u64, SendError>>,
    /// Stops the reply on its way; what arrived stays.
    pub stop: Callback<()>,
    /// Tries message `id` again: a visitor message that was not sent, or a reply cut short.
    pub retry: Callback<u64>,
    /// Starts a new conversation: clears the messages (their signals are freed) and forgets
    /// the stored conversation.
    pub reset: Callback<()>,
    /// Attaches who the visitor is.
    pub identify: Callback<Identity>,
    /// Attaches the page's context (an object's fields), sent as metadata with each message.
    pub set_context: Callback<Map<String, Value>>,
    /// The engine itself, for the widget's components.
    pub chat: Chat,
}

/// The chat engine, headless: call it in a component; everything it made is freed with the
/// component's owner (the request on its way is aborted).
///
/// ```no_run
/// use chat_widget::{use_chat, ChatStatus, UseChatOptions};
/// use leptos::prelude::*;
///
/// #[component]
/// fn MyChat() -> impl IntoView {
///     let chat = use_chat(UseChatOptions::new("demo", "https://bots.example.com").api_key("pk_live_..."));
///     let draft = RwSignal::new(String::new());
///     view! {
///         <ul>
///             <For each=move || chat.messages.get() key=|m| m.id let:message>
///                 <li>{message.text.clone()}</li>
///             </For>
///         </ul>
///         <input bind:value=draft />
///         <button
///             disabled=move || chat.status.get() != ChatStatus::Idle
///             on:click=move |_| {
///                 if chat.send.run(draft.get()).is_ok() {
///                     draft.set(String::new());
///                 }
///             }
///         >"Send"</button>
///         <button on:click=move |_| chat.reset.run(())>"New conversation"</button>
///     }
/// }
/// ```
pub fn use_chat(options: impl Into<UseChatOptions>) -> UseChatReturn {
    let UseChatOptions { config } = options.into();
    // Leptos's executor runs effects and tasks (a Leptos app has started it already).
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let chat = Chat::new(config);
    chat.watch_connection();
    chat.restore();
    chat.follow_other_tabs();
    UseChatReturn {
        messages: Signal::derive(move || chat.messages.try_get().unwrap_or_default()),
        status: Signal::derive(move || status(chat)),
        error: Signal::derive(move || latest_error(chat)),
        send: Callback::new(move |text: String| {
            if text.trim().is_empty() {
                Err(SendError::Blank)
            } else if chat.send(&text) {
                Ok(chat
                    .messages
                    .with_untracked(|m| {
                        m.iter()
                            .rev()
                            .find(|m| m.role == Role::Visitor)
                            .map(|m| m.id)
                    })
                    .unwrap_or_default())
            } else {
                Err(SendError::Busy)
            }
        }),
        stop: Callback::new(move |()| chat.stop()),
        retry: Callback::new(move |id: u64| {
            if let Some(message) = chat.find(id) {
                match message.reply {
                    Some(reply) => chat.retry_reply(reply),
                    None => chat.retry(id),
                }
            }
        }),
        reset: Callback::new(move |()| chat.reset()),
        identify: Callback::new(move |who: Identity| {
            chat.identify(who.user_id, who.name, who.email)
        }),
        set_context: Callback::new(move |fields| chat.set_context(fields)),
        chat,
    }
}

fn status(chat: Chat) -> ChatStatus {
    if chat.messages.is_disposed() {
        return ChatStatus::Idle;
    }
    if !chat.online.get() {
        ChatStatus::Offline
    } else if chat.cooldown_left_s().is_some() {
        ChatStatus::CoolingDown
    } else if chat.is_waiting() {
        ChatStatus::Waiting
    } else if chat.busy.get() {
        ChatStatus::Streaming
    } else {
        ChatStatus::Idle
    }
}

fn latest_error(chat: Chat) -> Option<ApiError> {
    chat.messages.try_with(|messages| {
        messages.iter().rev().find_map(|m| {
            match (m.delivery.get(), m.reply.map(|r| r.state.get())) {
                (Delivery::Failed(err), _) => Some(err),
                (_, Some(ReplyState::Interrupted(err))) => Some(err),
                _ => None,
            }
        })
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn send_says_why_it_did_not_take_a_message_and_status_follows() {
        let owner = Owner::new();
        let chat = owner.with(|| use_chat(UseChatOptions::new("hook", "http://127.0.0.1:9")));
        assert_eq!(chat.status.get_untracked(), ChatStatus::Idle);
        assert_eq!(chat.send.run("   ".into()), Err(SendError::Blank));
        assert!(
            chat.messages.get_untracked().is_empty(),
            "nothing was added"
        );
        let id = chat.send.run("hello".into()).expect("taken");
        assert_eq!(
            chat.messages
                .get_untracked()
                .last()
                .map(|m| (m.id, m.text.clone())),
            Some((id, "hello".to_owned()))
        );
        assert_eq!(chat.status.get_untracked(), ChatStatus::Waiting);
        assert_eq!(chat.send.run("again".into()), Err(SendError::Busy));
        chat.reset.run(());
        assert!(chat.messages.get_untracked().is_empty());
        assert_eq!(chat.status.get_untracked(), ChatStatus::Idle);
        owner.cleanup();
        assert!(
            chat.chat.messages.is_disposed(),
            "the component's owner frees the chat"
        );
    }
}
