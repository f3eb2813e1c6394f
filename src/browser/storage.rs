//! Remembering the conversation across reloads, in `localStorage`, and carrying on in memory
//! when storage is blocked (privacy modes, sandboxed iframes), full, or holds garbage.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

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
        remove(&self.key);
    }

    /// Whether storage holds another conversation than the one this page has (another chat
    /// of this page changed it).
    pub fn is_news(&self) -> bool {
        let stored = local_storage().and_then(|storage| storage.get_item(&self.key).ok().flatten());
        stored != *self.memory.borrow()
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
        remove(&self.key);
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

/// What to call when a bot's kept value changes elsewhere: `(name, removed, this_page)`.
type OnChange = Rc<dyn Fn(&str, bool, bool)>;

thread_local! {
    /// The chats of this page that follow their bot's storage ([`watch_other_tabs`]), with
    /// their key prefix: the `storage` event reaches only the other pages of the site.
    static FOLLOWERS: RefCell<Vec<(u64, String, OnChange)>> = const { RefCell::new(Vec::new()) };
    static FOLLOWER_IDS: Cell<u64> = const { Cell::new(0) };
}

/// Calls `on_change(name, removed, this_page)` when another tab of the same site changes what
/// is kept for `bot_id` (the `storage` event: `this_page` false), or another chat of this page
/// for the same bot does (after the task that wrote it: `this_page` true; the writer hears its
/// own writes too, and tells them apart by what it last saw), until the current Leptos owner
/// is cleaned up. `name` is the key's last part (`transcript`, `conversation`, …); `removed`
/// says whether it was removed.
pub fn watch_other_tabs(bot_id: &str, on_change: impl Fn(&str, bool, bool) + 'static) {
    if web_sys::window().is_none() {
        return;
    }
    let prefix = format!("chat-widget:{bot_id}:");
    let on_change: OnChange = Rc::new(on_change);
    let id = FOLLOWER_IDS.with(|ids| {
        ids.set(ids.get() + 1);
        ids.get()
    });
    FOLLOWERS.with(|followers| {
        followers
            .borrow_mut()
            .push((id, prefix.clone(), on_change.clone()))
    });
    let listener = leptos::prelude::window_event_listener_untyped("storage", move |event| {
        let event: web_sys::StorageEvent = event.unchecked_into();
        if let Some(name) = event
            .key()
            .as_deref()
            .and_then(|key| key.strip_prefix(&prefix))
        {
            on_change(name, event.new_value().is_none(), false);
        }
    });
    leptos::prelude::on_cleanup(move || {
        listener.remove();
        let _ = FOLLOWERS.try_with(|followers| followers.borrow_mut().retain(|f| f.0 != id));
    });
}

/// Tells the chats of this page that follow `key`'s bot that it changed, after the current
/// task (as the `storage` event comes to other pages).
fn tell_this_page(key: &str, removed: bool) {
    let told: Vec<(usize, OnChange)> = FOLLOWERS.with(|followers| {
        followers
            .borrow()
            .iter()
            .filter(|(_, prefix, _)| key.starts_with(prefix.as_str()))
            .map(|(_, prefix, on_change)| (prefix.len(), on_change.clone()))
            .collect()
    });
    if told.is_empty() {
        return;
    }
    let key = key.to_owned();
    super::dom::after_ms(0, move || {
        for (prefix, on_change) in told {
            on_change(&key[prefix..], removed, true);
        }
    });
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
        remove(&key);
    }
}

/// Removes `key`, telling this page's other chats when there was something to remove.
fn remove(key: &str) {
    let Some(storage) = local_storage() else {
        return;
    };
    if storage.get_item(key).ok().flatten().is_some() {
        let _ = storage.remove_item(key);
        tell_this_page(key, true);
    }
}

/// Writes `value` under `key`; where that fails (storage full), removes what was there.
/// Returns whether it was written.
/// This page's other chats are told when it changed.
fn write(key: &str, value: &str) -> bool {
    let Some(storage) = local_storage() else {
        return false;
    };
    if storage.get_item(key).ok().flatten().as_deref() == Some(value) {
        return true;
    }
    let written = storage.set_item(key, value).is_ok();
    if written {
        tell_this_page(key, false);
    } else {
        remove(key);
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
