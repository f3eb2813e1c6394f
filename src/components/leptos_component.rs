//! The widget as Leptos components: [`ChatWidget`] (launcher + panel, floating) and
//! [`ChatPanel`] (the conversation inline, in the app's own layout). Both draw the same widget
//! as the script tag, into a shadow root (the app's CSS cannot reach it, its CSS cannot leak
//! out), on the same engine ([`crate::use_chat`]). The browser work starts in an effect, so
//! they render on the server (an empty host element) and come alive in the browser.

use chat_widget_protocol::{ApiError, ErrorCode};
use leptos::prelude::*;

use crate::chat::{Chat, Role};
use crate::config::{Position, Theme, WidgetConfig};
use crate::events::WidgetEvent;
use crate::theme::Color;
use crate::{HostElement, MountTarget, MountedWidget};

/// A message that went into the conversation, for `on_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Who wrote it.
    pub from: Role,
    /// What the visitor typed, or the bot's complete reply (Markdown).
    pub text: String,
    /// The conversation it belongs to (bot replies).
    pub conversation_id: Option<String>,
}

/// What the components pass on to the app's callbacks.
#[derive(Clone, Copy, Default)]
struct Callbacks {
    on_message: Option<Callback<ChatMessage>>,
    on_error: Option<Callback<ApiError>>,
}

impl Callbacks {
    fn hear(&self, event: &WidgetEvent) {
        match event {
            WidgetEvent::MessageSent { text } => {
                if let Some(on_message) = self.on_message {
                    on_message.run(ChatMessage {
                        from: Role::Visitor,
                        text: text.clone(),
                        conversation_id: None,
                    });
                }
            }
            WidgetEvent::MessageReceived {
                text,
                conversation_id,
            } => {
                if let Some(on_message) = self.on_message {
                    on_message.run(ChatMessage {
                        from: Role::Bot,
                        text: text.clone(),
                        conversation_id: Some(conversation_id.clone()),
                    });
                }
            }
            WidgetEvent::Error { code, message } => {
                if let Some(on_error) = self.on_error {
                    on_error.run(ApiError::new(ErrorCode::from_wire(code), message.clone()));
                }
            }
            _ => {}
        }
    }
}

/// Mounts the widget in an effect (never on the server) and keeps the look in step with the
/// reactive props. Everything goes with the calling component's owner.
#[allow(clippy::too_many_arguments)]
fn mount_in_effect(
    config: WidgetConfig,
    inline: bool,
    open: Option<RwSignal<bool>>,
    callbacks: Callbacks,
    theme: MaybeProp<Theme>,
    primary_color: MaybeProp<Color>,
    position: MaybeProp<Position>,
    class: MaybeProp<String>,
    host: impl Fn() -> Option<HostElement> + 'static,
) {
    // The widget's owner is a child of the component's (not of the effect's, which would
    // clean it up if it ran again), so it goes with the component.
    // Held weakly: a strong one in the effect would keep the component's owner (and so the
    // widget) alive after the app let go of it.
    let parent = Owner::current().unwrap_or_default().downgrade();
    let mounted: StoredValue<Option<MountedWidget>, LocalStorage> = StoredValue::new_local(None);
    let chat: RwSignal<Option<Chat>> = RwSignal::new(None);
    let config = StoredValue::new(config);
    Effect::new(move |_| {
        if mounted.with_value(Option::is_some) {
            return;
        }
        // (For `ChatPanel`, `host()` reads the tracked node reference: the effect runs again
        // once the element exists.)
        let Some(target) = host() else { return };
        let Some(parent) = parent.upgrade() else {
            return;
        };
        let listener: crate::ExtraListener = std::rc::Rc::new(move |event| callbacks.hear(event));
        let made = parent
            .with(|| crate::mount_with(target, config.get_value(), inline, open, Some(listener)));
        match made {
            Ok(widget) => {
                chat.set(Some(widget.controls.chat));
                mounted.set_value(Some(widget));
            }
            Err(error) => {
                crate::browser::dom::console_error(&error.as_string().unwrap_or_default())
            }
        }
    });
    // The look follows the props (a prop left unset keeps the config's, or the bot's).
    Effect::new(move |_| {
        let (theme, primary, position) = (theme.get(), primary_color.get(), position.get());
        if let Some(chat) = chat.get() {
            chat.look.update(|look| {
                look.theme = theme.unwrap_or(look.theme);
                look.primary = primary.unwrap_or(look.primary);
                look.position = position.unwrap_or(look.position);
            });
        }
    });
    Effect::new(move |_| {
        let class = class.get();
        let host = mounted.with_value(|m| m.as_ref().map(|m| m.host.clone()));
        if let (Some(host), false) = (host, inline) {
            crate::browser::dom::set_class_name(&host, class.as_deref().unwrap_or_default());
        }
    });
    on_cleanup(move || {
        if let Some(widget) = mounted.try_update_value(Option::take).flatten() {
            let host = widget.host.clone();
            widget.unmount();
            if !inline {
                crate::browser::dom::remove(&host); // the element it added
            }
        }
    });
}

/// The chat widget: a launcher in a corner of the page and the panel it opens, as the script
/// tag draws it. It lives in its own element, added to `<body>` (or to `mount`), and goes when
/// the component does.
///
/// ```no_run
/// use chat_widget::{ChatMessage, ChatWidget, Color, WidgetConfig};
/// use leptos::prelude::*;
///
/// #[component]
/// fn App() -> impl IntoView {
///     let config = WidgetConfig::new("demo", "https://bots.example.com").api_key("pk_live_...");
///     let open = RwSignal::new(false);
///     let brand = RwSignal::new(Color::parse_hex("#7c3aed"));
///     view! {
///         <button on:click=move |_| open.set(true)>"Questions? Ask us"</button>
///         <ChatWidget
///             config
///             open
///             primary_color=brand
///             on_message=move |m: ChatMessage| leptos::logging::log!("{:?}: {}", m.from, m.text)
///         />
///     }
/// }
/// ```
#[component]
pub fn ChatWidget(
    /// What bot to talk to and how the widget looks.
    config: WidgetConfig,
    /// Whether the panel is open: bind the app's own signal to open or close it, and to see
    /// the visitor do so.
    #[prop(optional)]
    open: Option<RwSignal<bool>>,
    /// Called with each message that goes into the conversation (the visitor's when sent, the
    /// bot's once complete).
    #[prop(optional, into)]
    on_message: Option<Callback<ChatMessage>>,
    /// Called when something fails (the visitor is told too).
    #[prop(optional, into)]
    on_error: Option<Callback<ApiError>>,
    /// Light, dark or auto (overrides the config's).
    #[prop(optional, into)]
    theme: MaybeProp<Theme>,
    /// The brand colour (overrides the config's).
    #[prop(optional, into)]
    primary_color: MaybeProp<Color>,
    /// The corner (overrides the config's).
    #[prop(optional, into)]
    position: MaybeProp<Position>,
    /// Where the widget's element goes (default: `<body>`).
    #[prop(optional)]
    mount: Option<MountTarget>,
    /// Classes for the widget's host element.
    #[prop(optional, into)]
    class: MaybeProp<String>,
) -> impl IntoView {
    mount_in_effect(
        config,
        false,
        open,
        Callbacks {
            on_message,
            on_error,
        },
        theme,
        primary_color,
        position,
        class,
        move || Some(crate::browser::dom::new_host(mount.as_ref())),
    );
}

/// The conversation inline, with no launcher: a help page with the chat in a column, or a
/// full-page chat. It takes the size of its element (give it one with `class`). Closing it
/// (the header's button, Escape) hides it and sets `open` to false.
///
/// ```no_run
/// use chat_widget::{ChatMessage, ChatPanel, WidgetConfig};
/// use leptos::prelude::*;
///
/// #[component]
/// fn HelpPage() -> impl IntoView {
///     let config = WidgetConfig::new("demo", "https://bots.example.com").api_key("pk_live_...");
///     let open = RwSignal::new(true);
///     let last = RwSignal::new(String::new());
///     view! {
///         <aside>
///             <Show when=move || !open.get()>
///                 <button on:click=move |_| open.set(true)>"Chat with us"</button>
///             </Show>
///             <ChatPanel config open class="help-chat" on_message=move |m: ChatMessage| last.set(m.text)/>
///         </aside>
///     }
/// }
/// ```
#[component]
pub fn ChatPanel(
    /// What bot to talk to and how it looks.
    config: WidgetConfig,
    /// Whether the panel shows (default: a signal of its own, open).
    #[prop(optional)]
    open: Option<RwSignal<bool>>,
    /// Called with each message that goes into the conversation.
    #[prop(optional, into)]
    on_message: Option<Callback<ChatMessage>>,
    /// Called when something fails (the visitor is told too).
    #[prop(optional, into)]
    on_error: Option<Callback<ApiError>>,
    /// Light, dark or auto (overrides the config's).
    #[prop(optional, into)]
    theme: MaybeProp<Theme>,
    /// The brand colour (overrides the config's).
    #[prop(optional, into)]
    primary_color: MaybeProp<Color>,
    /// Classes for the panel's element (size it with them).
    #[prop(optional, into)]
    class: MaybeProp<String>,
) -> impl IntoView {
    let open = open.unwrap_or_else(|| RwSignal::new(true));
    let host = NodeRef::<leptos::html::Div>::new();
    mount_in_effect(
        config,
        true,
        Some(open),
        Callbacks {
            on_message,
            on_error,
        },
        theme,
        primary_color,
        MaybeProp::default(),
        MaybeProp::default(),
        move || host.get().map(Into::into),
    );
    // The app sizes the outer element; the inner one holds the shadow root (whose stylesheet
    // resets its host against hostile pages, and then makes an inline host fill its parent).
    view! {
        <div class=move || class.get() data-cw-panel-host="">
            <div class="cw-host--inline" node_ref=host></div>
        </div>
    }
}
