//! An embeddable chat widget compiled to WebAssembly.
//!
//! Two ways in:
//! * **Script tag**: `assets/chat-widget.js` reads the tag's `data-*` settings, loads this
//!   module and calls [`mount_widget`] with a fresh host element.
//! * **Leptos** (feature `leptos`, on by default): put `ChatWidget` with a [`WidgetConfig`] in
//!   your view.
//!
//! Code map: [`config`] (settings), [`chat`] (conversation state and actions), `api` (the
//! dialect in use), `components` (the view: Leptos components written with `view!`; the panel
//! draws the public `<MessageList>` and `<Composer>`), `browser` (the only `web_sys` user),
//! [`theme`] and [`text`] (colours and visitor-facing strings).
#![deny(missing_docs)]

mod api;
mod browser;
pub mod chat;
mod components;
pub mod config;
mod dialects;
pub mod events;
pub mod text;
pub mod theme;
mod use_chat;

/// A quick reply a bot offers ([`QuickReplies`]), and what kind it is.
pub use chat_widget_protocol::{ActionKind, SuggestedAction};
/// The typed errors `use_chat` and `on_error` give (what failed, with its code).
pub use chat_widget_protocol::{ApiError, ErrorCode};
pub use components::Controls;
#[cfg(feature = "leptos")]
pub use components::{ChatMessage, ChatPanel, ChatWidget};
/// The parts of the widget on their own.
pub use components::{Composer, ComposerProps, Launcher, LauncherProps};
pub use components::{MessageList, MessageListProps, QuickReplies, QuickRepliesProps};
pub use config::{
    ConfigError, ConfigWarning, Dialect, ExplicitLook, LauncherIcon, Position, Theme, WidgetConfig,
};
pub use theme::Color;
pub use use_chat::{use_chat, ChatStatus, Identity, SendError, UseChatOptions, UseChatReturn};

use leptos::prelude::*;
use serde_json::Value;
use wasm_bindgen::prelude::*;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// A widget mounted by [`mount_widget`]: the per-instance JavaScript API. The loader puts it
/// behind `window.ChatWidget` and the host element's own methods, queueing calls made before
/// it exists. Every method is a no-op once the widget is unmounted.
#[wasm_bindgen]
pub struct MountedWidget {
    mount: Option<Mount>,
    host: HostElement,
    controls: Controls,
}

#[wasm_bindgen]
impl MountedWidget {
    /// Opens the panel.
    pub fn open(&self) {
        self.controls.set_open(true);
    }

    /// Closes the panel.
    pub fn close(&self) {
        self.controls.set_open(false);
    }

    /// Opens the panel if closed, closes it if open.
    pub fn toggle(&self) {
        if let Some(open) = self.controls.open.try_get_untracked() {
            self.controls.set_open(!open);
        }
    }

    /// Whether the panel is open.
    #[wasm_bindgen(js_name = isOpen)]
    pub fn is_open(&self) -> bool {
        self.controls.open.try_get_untracked().unwrap_or(false)
    }

    /// Whether a message is on its way or its reply is arriving (the loader waits for it to
    /// settle before it restarts the widget with changed settings).
    #[wasm_bindgen(js_name = isBusy)]
    pub fn is_busy(&self) -> bool {
        self.controls.chat.busy.try_get_untracked().unwrap_or(false)
    }

    /// Sends `text` as the visitor (and opens the panel so they see it). While a reply is
    /// arriving, a countdown runs or the browser is offline, it waits its turn: messages go out
    /// in order. Returns a Promise of `{ delivered: true }` once the server took it, or
    /// `{ delivered: false, error: { code, message } }` when it is given up (blank text or not
    /// a string, failed with no automatic retry left, reset, logout, unmount). It never
    /// rejects. (From Rust: [`MountedWidget::send`].)
    #[wasm_bindgen(js_name = send)]
    pub fn send_value(&self, text: &JsValue) -> js_sys::Promise {
        match text.as_string() {
            Some(text) => self.send(&text),
            None => self.settle_send(Err("send() takes the message's text, a string")),
        }
    }

    /// Starts a new conversation: clears the messages and forgets the stored conversation.
    pub fn reset(&self) {
        if !self.controls.chat.messages.is_disposed() {
            self.controls.chat.reset();
        }
    }

    /// Attaches who the visitor is: `{ userId, name, email }` (all optional; a number is
    /// taken as its text), sent as metadata. `null` forgets who they are.
    pub fn identify(&self, identity: &JsValue) -> Result<(), JsValue> {
        if !(identity.is_object() || identity.is_null() || identity.is_undefined()) {
            return Err(JsValue::from_str(
                "chat-widget: identify takes an object, { userId, name, email }",
            ));
        }
        let field = |name: &str| {
            let value = js_sys::Reflect::get(identity, &name.into()).ok()?;
            value.as_string().or_else(|| {
                value.as_f64().filter(|n| n.is_finite())?;
                let text = js_sys::Number::from(value).to_string_with_radix(10);
                text.ok().map(String::from)
            })
        };
        if !self.controls.chat.messages.is_disposed() {
            self.controls
                .chat
                .identify(field("userId"), field("name"), field("email"));
        }
        Ok(())
    }

    /// Forgets the conversation, the visitor's identity and everything stored for this bot.
    pub fn logout(&self) {
        if !self.controls.chat.messages.is_disposed() {
            self.controls.chat.logout();
        }
    }

    /// Attaches the page's context (a plain object), sent as metadata with each message.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(&self, context: &JsValue) -> Result<(), JsValue> {
        let json = js_sys::JSON::stringify(context)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        match serde_json::from_str(&json) {
            Ok(Value::Object(fields)) if !self.controls.chat.messages.is_disposed() => {
                self.controls.chat.set_context(fields);
                Ok(())
            }
            Ok(Value::Object(_)) => Ok(()),
            _ => Err(JsValue::from_str(
                "chat-widget: setContext takes a plain object",
            )),
        }
    }

    /// Removes the widget from the page.
    pub fn unmount(mut self) {
        // (A component's widget may have been cleaned up with the component's owner already.)
        if !self.controls.chat.messages.is_disposed() {
            self.controls
                .chat
                .settle_all("the widget was removed before it went out");
        }
        self.mount.take();
        browser::mount::clear_shadow(&self.host);
    }
}

impl MountedWidget {
    /// Sends `text` as the visitor, as the page's `send()` does: see [`MountedWidget::send_value`].
    pub fn send(&self, text: &str) -> js_sys::Promise {
        let chat = self.controls.chat;
        if chat.messages.is_disposed() {
            return self.settle_send(Err("the widget is gone"));
        }
        self.open();
        let id = chat.send_queued(text);
        self.settle_send(id.ok_or("nothing to send: the text is blank"))
    }

    /// The Promise of a `send()`: settled when message `id` is, or at once with why it was
    /// not sent (also said in the console, for the site owner).
    fn settle_send(&self, id: Result<u64, &'static str>) -> js_sys::Promise {
        let chat = self.controls.chat;
        if let Err(why) = id {
            browser::dom::console_error(&format!("chat-widget: {why}"));
        }
        js_sys::Promise::new(&mut |resolve, _reject| {
            let outcome = move |error: Option<chat_widget_protocol::ApiError>| {
                let _ = resolve.call1(&JsValue::NULL, &send_outcome(error.as_ref()));
            };
            match id {
                Ok(id) => chat.when_settled(id, outcome),
                Err(why) => outcome(Some(chat_widget_protocol::ApiError::new(
                    chat_widget_protocol::ErrorCode::InvalidRequest,
                    why,
                ))),
            }
        })
    }
}

/// What a `send()` Promise resolves to: `{ delivered: true }`, or `{ delivered: false,
/// error: { code, message } }`.
fn send_outcome(error: Option<&chat_widget_protocol::ApiError>) -> JsValue {
    let outcome = match error {
        None => serde_json::json!({ "delivered": true }),
        Some(error) => serde_json::json!({
            "delivered": false,
            "error": { "code": error.code.as_str(), "message": error.message },
        }),
    };
    js_sys::JSON::parse(&outcome.to_string()).unwrap_or(JsValue::NULL)
}

/// Mounts the widget into a shadow root attached to `host`.
///
/// `settings` is an object of `data-*` settings (a script tag's `dataset`, or a plain object
/// with the same keys); `fallback_api_url` is used when it has no `apiUrl` (the loader passes
/// the script's own origin). Unusable values are reported in the console and replaced by
/// defaults; a missing bot id is an error.
#[wasm_bindgen(js_name = mountWidget)]
pub fn mount_widget(
    host: HostElement,
    settings: &JsValue,
    fallback_api_url: &str,
) -> Result<MountedWidget, JsValue> {
    let pairs: Vec<(String, String)> = if settings.is_object() {
        js_sys::Object::entries(settings.unchecked_ref())
            .iter()
            .filter_map(|entry| {
                let entry: js_sys::Array = entry.dyn_into().ok()?;
                Some((entry.get(0).as_string()?, entry.get(1).as_string()?))
            })
            .collect()
    } else {
        Vec::new()
    };
    let (config, warnings) =
        WidgetConfig::from_settings(pairs, fallback_api_url).map_err(|err| {
            let message = format!("chat-widget: {err}");
            browser::dom::console_error(&message);
            JsValue::from_str(&message)
        })?;
    for warning in warnings {
        browser::dom::console_warn(&format!("chat-widget: {warning}"));
    }
    mount_config(host, config)
}

/// An element the widget can be mounted into (its shadow root's host), and where
/// `ChatWidget` adds its element (`mount`): the browser's element types.
pub use browser::mount::{HostElement, MountTarget};

/// Hears the widget's events besides the host element's DOM events (the components' callbacks).
pub(crate) type ExtraListener = std::rc::Rc<dyn Fn(&events::WidgetEvent)>;

/// Mounts the widget for an already-built config into a shadow root attached to `host`.
pub fn mount_config(host: HostElement, config: WidgetConfig) -> Result<MountedWidget, JsValue> {
    mount_with(host, config, false, None, None)
}

/// [`mount_config`], floating or `inline` (the panel alone, in the page's flow), with the
/// app's own `open` signal if it binds one, and a listener for the components' callbacks.
pub(crate) fn mount_with(
    host: HostElement,
    config: WidgetConfig,
    inline: bool,
    open: Option<RwSignal<bool>>,
    extra: Option<ExtraListener>,
) -> Result<MountedWidget, JsValue> {
    if !api::in_this_build(config.dialect) {
        return Err(JsValue::from_str(&format!(
            "chat-widget: {}; load it with chat-widget.js, which fetches the build for data-dialect",
            api::not_in_this_build(config.dialect).message
        )));
    }
    // The loader may have drawn the launcher already (a `[data-cw-placeholder]` root with the
    // stylesheet adopted): the widget renders beside it and then takes its place.
    let shadow = browser::mount::Shadow::attach(&host)?;
    let owner = Owner::new();
    let controls = owner.with(|| {
        let controls = Controls::new(&config, open);
        components::widget_view(&shadow, &config, controls, inline);
        controls
    });
    let mount = Mount { owner };
    shadow.replace_placeholder();
    // Events go to the host element from the start, so calls queued before mounting are heard.
    let target = host.clone();
    controls.chat.set_listener(move |event| {
        browser::dom::dispatch_widget_event(&target, event.name(), &event.detail());
        if let Some(extra) = &extra {
            extra(&event);
        }
    });
    controls.chat.emit(events::WidgetEvent::Ready);
    Ok(MountedWidget {
        mount: Some(mount),
        host,
        controls,
    })
}

/// A drawn widget: dropping it stops everything the widget runs (effects, listeners, the
/// request on its way) and removes what it drew (its views are mounted under its owner).
struct Mount {
    owner: Owner,
}

impl Drop for Mount {
    fn drop(&mut self) {
        self.owner.cleanup();
    }
}
