//! The conversation as the visitor sees it: the list of messages, their delivery state, and
//! the actions that change it (send, retry). Components read these signals; only this module
//! writes them.

use chat_widget_protocol::markdown::render_markdown;
use chat_widget_protocol::{ApiError, OutgoingMessage, Reply};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::rc::Rc;

use crate::browser::{dom, storage::ConversationStore};
use crate::config::WidgetConfig;
use crate::text;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The visitor.
    Visitor,
    /// The bot.
    Bot,
}

/// Where a visitor's message is on its way to the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Sent, waiting for the reply.
    Sending,
    /// The server answered.
    Delivered,
    /// It did not get through; the visitor is told why and can retry.
    Failed(ApiError),
}

/// One bubble in the list.
#[derive(Debug, Clone)]
pub struct Message {
    /// Stable key for the list.
    pub id: u64,
    /// Who wrote it.
    pub role: Role,
    /// What the visitor typed, or the bot's Markdown.
    pub text: String,
    /// For bot messages: the rendered, safe HTML.
    pub html: Option<String>,
    /// For visitor messages: delivery state.
    pub delivery: RwSignal<Delivery>,
}

/// The conversation and the actions on it. Cheap to copy; provided as context to the panel.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The messages, oldest first.
    pub messages: RwSignal<Vec<Message>>,
    config: StoredValue<WidgetConfig, LocalStorage>,
    store: StoredValue<Rc<ConversationStore>, LocalStorage>,
    next_id: StoredValue<u64>,
}

impl Chat {
    /// A chat for this config; the conversation id is looked up lazily in storage.
    pub fn new(config: WidgetConfig) -> Self {
        let store = Rc::new(ConversationStore::new(&config.bot_id));
        Self {
            messages: RwSignal::new(Vec::new()),
            config: StoredValue::new_local(config),
            store: StoredValue::new_local(store),
            next_id: StoredValue::new(1),
        }
    }

    /// Whether a reply is awaited (the typing indicator shows).
    pub fn is_waiting(&self) -> bool {
        self.messages.with(|messages| {
            messages.iter().any(|m| m.role == Role::Visitor && m.delivery.get() == Delivery::Sending)
        })
    }

    /// The visitor-facing explanation of the newest failure still on screen, if any.
    pub fn latest_error(&self) -> Option<String> {
        self.messages.with(|messages| {
            messages.iter().rev().find_map(|m| match m.delivery.get() {
                Delivery::Failed(err) => Some(text::visitor_error(&err)),
                _ => None,
            })
        })
    }

    /// Sends what the visitor typed. Blank text is ignored. The message is in the list before
    /// the request starts, so nothing the visitor typed is ever lost.
    pub fn send(&self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let id = self.push(Role::Visitor, text.to_owned(), None, Delivery::Sending);
        self.deliver(id);
    }

    /// Sends a failed message again.
    pub fn retry(&self, id: u64) {
        let Some(message) = self.find(id) else { return };
        if matches!(message.delivery.get_untracked(), Delivery::Failed(_)) {
            message.delivery.set(Delivery::Sending);
            self.deliver(id);
        }
    }

    fn find(&self, id: u64) -> Option<Message> {
        self.messages.with_untracked(|messages| messages.iter().find(|m| m.id == id).cloned())
    }

    fn push(&self, role: Role, text: String, html: Option<String>, delivery: Delivery) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        let message = Message { id, role, text, html, delivery: RwSignal::new(delivery) };
        self.messages.update(|messages| messages.push(message));
        id
    }

    fn deliver(&self, id: u64) {
        let Some(message) = self.find(id) else { return };
        let this = *self;
        let config = self.config.get_value();
        let outgoing = OutgoingMessage {
            message: message.text.clone(),
            conversation_id: self.store.with_value(|store| store.get()),
            stream: Some(false),
            metadata: None,
        };
        spawn_local(async move {
            let result = crate::api::send(&config, &outgoing).await;
            this.settle(message, &config, result);
        });
    }

    fn settle(&self, message: Message, config: &WidgetConfig, result: Result<Reply, ApiError>) {
        match result {
            Ok(reply) => {
                self.store.with_value(|store| store.set(&reply.conversation_id));
                message.delivery.set(Delivery::Delivered);
                let html = render_markdown(&reply.text);
                self.push(Role::Bot, reply.text, Some(html), Delivery::Delivered);
            }
            Err(error) => {
                match text::owner_diagnostic(&error, &config.bot_id, &config.api_url) {
                    Some(diagnostic) => dom::console_error(&diagnostic),
                    None => dom::console_warn(&format!("chat-widget: message not sent: {error}")),
                }
                message.delivery.set(Delivery::Failed(error));
            }
        }
    }
}
