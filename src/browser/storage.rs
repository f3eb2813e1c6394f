//! Remembering the conversation across reloads, in `localStorage`, and carrying on in memory
//! when storage is blocked (privacy modes, sandboxed iframes), full, or holds garbage.

use std::cell::RefCell;

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
pub struct Slot {
    key: String,
    memory: RefCell<Option<String>>,
}

impl Slot {
    /// The slot `name` of one bot.
    pub fn new(bot_id: &str, name: &str) -> Self {
        Self {
            key: format!("chat-widget:{bot_id}:{name}"),
            memory: RefCell::new(None),
        }
    }

    /// The stored text, if any.
    pub fn get(&self) -> Option<String> {
        if let Some(value) = self.memory.borrow().clone() {
            return Some(value);
        }
        local_storage()?.get_item(&self.key).ok().flatten()
    }

    /// Stores `value`. Where storage refuses it (full), the older value there is removed, so
    /// the next page never shows something out of date; memory has the new one.
    pub fn set(&self, value: &str) {
        *self.memory.borrow_mut() = Some(value.to_owned());
        write(&self.key, value);
    }

    /// Forgets it.
    pub fn clear(&self) {
        *self.memory.borrow_mut() = None;
        if let Some(storage) = local_storage() {
            let _ = storage.remove_item(&self.key);
        }
    }
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
fn write(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        if storage.set_item(key, value).is_err() {
            let _ = storage.remove_item(key);
        }
    }
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
