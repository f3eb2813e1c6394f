//! Remembering the conversation across reloads, in `localStorage`, and carrying on in memory
//! when storage is blocked (privacy modes, sandboxed iframes), full, or holds garbage.

use std::cell::RefCell;

use wasm_bindgen::JsCast;

/// The conversation id of one bot, in `localStorage` under `chat-widget:<bot id>:conversation`.
///
/// Every storage failure is swallowed: the visitor never sees it, the widget keeps the id in
/// memory for this page, and the next page load simply starts a new conversation.
pub struct ConversationStore {
    key: String,
    memory: RefCell<Option<String>>,
}

impl ConversationStore {
    /// The store for one bot.
    pub fn new(bot_id: &str) -> Self {
        Self {
            key: format!("chat-widget:{bot_id}:conversation"),
            memory: RefCell::new(None),
        }
    }

    /// The remembered conversation id: memory first, then storage. Garbage is removed.
    pub fn get(&self) -> Option<String> {
        if let Some(id) = self.memory.borrow().clone() {
            return Some(id);
        }
        let storage = local_storage()?;
        let stored = storage.get_item(&self.key).ok().flatten()?;
        if is_plausible_id(&stored) {
            *self.memory.borrow_mut() = Some(stored.clone());
            Some(stored)
        } else {
            let _ = storage.remove_item(&self.key);
            None
        }
    }

    /// Forgets the conversation (the next message starts a new one).
    pub fn clear(&self) {
        *self.memory.borrow_mut() = None;
        if let Some(storage) = local_storage() {
            let _ = storage.remove_item(&self.key);
        }
    }

    /// Forgets what this page holds, so the next [`ConversationStore::get`] reads storage
    /// (which another tab changed).
    pub fn forget_memory(&self) {
        self.memory.replace(None);
    }

    /// Remembers a conversation id; one that cannot be a URL path segment (`..`, empty,
    /// control characters, too long) is refused: the next message starts a new conversation.
    pub fn set(&self, id: &str) {
        if !is_plausible_id(id) {
            let shown: String = id
                .chars()
                .take(40)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            super::dom::console_warn(&format!("chat-widget: the server's conversation id \"{shown}\" cannot be used in a URL; not kept"));
            return;
        }
        *self.memory.borrow_mut() = Some(id.to_owned());
        write(&self.key, id);
    }
}

/// A yes/no the widget remembers for one bot, e.g. that the greeting bubble was dismissed.
/// Lives in `localStorage` under `chat-widget:<bot id>:<name>`; blocked storage means the
/// answer is remembered for this page only.
pub struct Flag {
    key: String,
    memory: std::sync::atomic::AtomicBool,
}

impl Flag {
    /// The flag `name` of one bot.
    pub fn new(bot_id: &str, name: &str) -> Self {
        Self {
            key: format!("chat-widget:{bot_id}:{name}"),
            memory: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether it is set.
    pub fn is_set(&self) -> bool {
        self.memory.load(std::sync::atomic::Ordering::Relaxed)
            || local_storage()
                .and_then(|s| s.get_item(&self.key).ok().flatten())
                .is_some_and(|v| v == "1")
    }

    /// Sets it.
    pub fn set(&self) {
        self.memory
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(&self.key, "1");
        }
    }
}

/// A value the widget keeps for one bot under `chat-widget:<bot id>:<name>` (a visitor id, a
/// transcript). Reading garbage or failing to write is silent: memory carries on.
///
/// It also knows what storage held when this page last read or wrote it, so that what
/// another tab of the same site wrote since is merged, not overwritten ([`Slot::elsewhere`]).
pub struct Slot {
    key: String,
    memory: RefCell<Option<String>>,
    seen: RefCell<Option<String>>,
}

impl Slot {
    /// The slot `name` of one bot.
    pub fn new(bot_id: &str, name: &str) -> Self {
        Self {
            key: format!("chat-widget:{bot_id}:{name}"),
            memory: RefCell::new(None),
            seen: RefCell::new(None),
        }
    }

    /// The stored text, if any.
    pub fn get(&self) -> Option<String> {
        if let Some(value) = self.memory.borrow().clone() {
            return Some(value);
        }
        let value = local_storage()?.get_item(&self.key).ok().flatten();
        self.memory.replace(value.clone());
        self.seen.replace(value.clone());
        value
    }

    /// Stores `value`. Where storage refuses it (full), the older value there is removed, so
    /// the next page never shows something out of date; memory has the new one.
    pub fn set(&self, value: &str) {
        self.memory.replace(Some(value.to_owned()));
        self.seen
            .replace(write(&self.key, value).then(|| value.to_owned()));
    }

    /// Forgets it.
    pub fn clear(&self) {
        self.forget_memory();
        if let Some(storage) = local_storage() {
            let _ = storage.remove_item(&self.key);
        }
    }

    /// Forgets what this page holds, so the next [`Slot::get`] reads storage (which another
    /// tab changed).
    pub fn forget_memory(&self) {
        self.memory.replace(None);
        self.seen.replace(None);
    }

    /// Takes `view` as what this page last saw in storage (after writing a merge of another
    /// tab's list and this page's, which this page does not show yet).
    pub fn remember_as(&self, view: Option<String>) {
        self.seen.replace(view);
    }

    /// Where another tab wrote or removed the value since this page last read or wrote it:
    /// what this page saw then and what storage holds now.
    pub fn elsewhere(&self) -> Option<(Option<String>, Option<String>)> {
        let now = local_storage()?.get_item(&self.key).ok()?;
        let seen = self.seen.borrow().clone();
        (now != seen).then_some((seen, now))
    }
}

/// Calls `on_change(name, removed)` when another tab of the same site changes what is kept
/// for one bot (`chat-widget:<bot id>:<name>` in `localStorage`), until the current Leptos
/// owner is cleaned up (the widget unmounts).
pub fn watch_other_tabs(bot_id: &str, on_change: impl Fn(&str, bool) + 'static) {
    if web_sys::window().is_none() {
        return;
    }
    let prefix = format!("chat-widget:{bot_id}:");
    let listener = leptos::prelude::window_event_listener_untyped("storage", move |event| {
        let event: web_sys::StorageEvent = event.unchecked_into();
        if let Some(name) = event
            .key()
            .as_deref()
            .and_then(|key| key.strip_prefix(&prefix))
        {
            on_change(name, event.new_value().is_none());
        }
    });
    leptos::prelude::on_cleanup(move || listener.remove());
}

/// The visitor's stable id for one bot (chataibot's `user_external_id`): made once, kept.
pub fn visitor_id(slot: &Slot) -> String {
    if let Some(id) = slot.get().filter(|id| is_plausible_id(id)) {
        return id;
    }
    let id: String = (0..3)
        .map(|_| format!("{:08x}", (js_sys::Math::random() * 4_294_967_295.0) as u32))
        .collect();
    let id = format!("v_{id}");
    slot.set(&id);
    id
}

/// Forgets everything stored for one bot (conversation, visitor id, flags): what `logout()`
/// does so the next person on a shared computer starts clean.
pub fn forget_bot(bot_id: &str) {
    let Some(storage) = local_storage() else {
        return;
    };
    let prefix = format!("chat-widget:{bot_id}:");
    let keys: Vec<String> = (0..storage.length().unwrap_or(0))
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|key| key.starts_with(&prefix))
        .collect();
    for key in keys {
        let _ = storage.remove_item(&key);
    }
}

/// Writes `value` under `key`; where that fails (storage full), removes what was there.
/// Returns whether it was written.
fn write(key: &str, value: &str) -> bool {
    let Some(storage) = local_storage() else {
        return false;
    };
    let written = storage.set_item(key, value).is_ok();
    if !written {
        let _ = storage.remove_item(key);
    }
    written
}

/// `localStorage`, or `None` where reading it throws (blocked) or there is none.
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Ids that can be one URL path segment (not `.` or `..`, no control characters, not too
/// long); anything else in storage was not written by us, and a server's is not kept.
fn is_plausible_id(id: &str) -> bool {
    chat_widget_protocol::dialect::is_usable_id(id)
}
