//! The widget's settings: what a site owner writes as `data-*` attributes on the script tag,
//! or what a Rust developer passes to [`crate::ChatWidget`]. Parsing is pure Rust; every
//! unusable value is reported as a [`ConfigWarning`] and replaced by its default.

pub use chat_widget_protocol::dialect::Dialect;

use crate::text::Locale;
use crate::theme::Color;

/// Which bottom corner the launcher sits in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Position {
    /// Bottom right (the default).
    #[default]
    BottomRight,
    /// Bottom left.
    BottomLeft,
}

impl Position {
    /// The setting's spelling, also the BEM modifier in class names (`cw-launcher--bottom-left`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BottomRight => "bottom-right",
            Self::BottomLeft => "bottom-left",
        }
    }

    /// Reads `bottom-right` or `bottom-left` (case-insensitive, `left`/`right` accepted).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "bottom-right" | "right" => Some(Self::BottomRight),
            "bottom-left" | "left" => Some(Self::BottomLeft),
            _ => None,
        }
    }
}

/// Light, dark, or following the visitor's system (`prefers-color-scheme`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Theme {
    /// Light surfaces (the default).
    #[default]
    Light,
    /// Dark surfaces.
    Dark,
    /// Whatever the visitor's system prefers.
    Auto,
}

impl Theme {
    /// The setting's spelling, also the BEM modifier (`cw-root--dark`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
            Self::Auto => "auto",
        }
    }

    /// Reads `light`, `dark` or `auto`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            "auto" | "system" => Some(Self::Auto),
            _ => None,
        }
    }
}

/// What the launcher shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LauncherIcon {
    /// A speech bubble (the default).
    #[default]
    Chat,
    /// A question mark.
    Help,
    /// An envelope.
    Message,
    /// An image (http or https URL; under a strict CSP its origin must be in `img-src`).
    Image(String),
}

impl LauncherIcon {
    /// Reads `chat`, `help`, `message`, or an http(s) image URL.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        match value.to_ascii_lowercase().as_str() {
            "chat" => Some(Self::Chat),
            "help" | "question" => Some(Self::Help),
            "message" | "mail" | "envelope" => Some(Self::Message),
            _ => chat_widget_protocol::markdown::allowed_url(value, &["http:", "https:"])
                .map(|url| Self::Image(url.to_owned())),
        }
    }
}

/// Everything the widget needs to know. Build it with [`WidgetConfig::new`] and the setters,
/// or from script-tag attributes with [`WidgetConfig::from_settings`].
///
/// ```
/// use chat_widget::{Position, WidgetConfig};
/// let config = WidgetConfig::new("demo", "https://chat.example.com")
///     .api_key("pk_live_123")
///     .position(Position::BottomLeft)
///     .greeting("Hi! How can I help?");
/// assert_eq!(config.bot_id, "demo");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WidgetConfig {
    /// The bot to talk to (`data-bot-id`). Required.
    pub bot_id: String,
    /// The API's base URL, without a trailing slash (`data-api-url`).
    pub api_url: String,
    /// A publishable key sent as `Authorization: Bearer` (`data-api-key`); `None` when the
    /// site's own proxy adds the secret.
    pub api_key: Option<String>,
    /// The launcher's corner (`data-position`).
    pub position: Position,
    /// The launcher, header and visitor-bubble colour (`data-primary-color`).
    pub primary_color: Color,
    /// Shown as the bot's first message when the panel opens (`data-greeting`).
    pub greeting: Option<String>,
    /// The name in the panel's header (`data-bot-name`).
    pub bot_name: String,
    /// Ask for streamed replies (`data-stream`, default `true`). A server that answers JSON
    /// anyway still works: the parser follows the response's `Content-Type`.
    pub stream: bool,
    /// Light, dark or auto (`data-theme`).
    pub theme: Theme,
    /// The bot's picture in the header (`data-avatar-url`, http or https).
    pub avatar_url: Option<String>,
    /// The launcher's icon (`data-launcher-icon`).
    pub launcher_icon: LauncherIcon,
    /// Distance from the side of the window, px (`data-offset-x`).
    pub offset_x: u32,
    /// Distance from the bottom of the window, px (`data-offset-y`).
    pub offset_y: u32,
    /// The stacking order (`data-z-index`); `None` keeps the widget above everything.
    pub z_index: Option<i32>,
    /// Seconds after page load before the greeting bubble appears next to the closed
    /// launcher (`data-greeting-delay`, default 5; `off` for never). Needs a greeting.
    pub greeting_delay_s: Option<u32>,
    /// How long a reply may stay silent before the widget gives up on it, ms
    /// (`data-reply-timeout`, in seconds, default 45). Every byte counts, keep-alive comments
    /// too; a reply that goes silent is aborted and keeps its text with a Retry.
    pub reply_timeout_ms: u32,
    /// Which API the bot speaks (`data-dialect`, default `chatbots`).
    pub dialect: Dialect,
    /// The site's id for the visitor (`data-user-id`): jombot `user_id`, jelytech `userId`.
    pub user_id: Option<String>,
    /// Whether the open panel is a modal dialog (`data-modal`): focus stays inside it and the
    /// page behind does not scroll. `None`: modal on phones (full screen), not on desktops.
    pub modal: Option<bool>,
    /// The widget's language (`data-locale`); `None` follows the browser's languages.
    pub locale: Option<Locale>,
    /// Which of greeting, colour and position the page set itself: a bot configuration read
    /// from the server (jelytech) fills in only the others. The page wins.
    pub explicit: ExplicitLook,
}

/// The look settings the page set explicitly (see [`WidgetConfig::explicit`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExplicitLook {
    /// `data-greeting` was given.
    pub greeting: bool,
    /// `data-primary-color` was given (and valid).
    pub primary_color: bool,
    /// `data-position` was given (and valid).
    pub position: bool,
}

impl Default for WidgetConfig {
    fn default() -> Self {
        Self {
            bot_id: String::new(),
            api_url: String::new(),
            api_key: None,
            position: Position::default(),
            primary_color: Color::DEFAULT_PRIMARY,
            greeting: None,
            bot_name: "Chat".to_owned(),
            stream: true,
            theme: Theme::default(),
            avatar_url: None,
            launcher_icon: LauncherIcon::default(),
            offset_x: 20,
            offset_y: 20,
            z_index: None,
            greeting_delay_s: Some(5),
            reply_timeout_ms: 45_000,
            dialect: Dialect::default(),
            user_id: None,
            locale: None,
            modal: None,
            explicit: ExplicitLook::default(),
        }
    }
}

/// A setting that was present but unusable; the widget uses the default instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The attribute as the site owner wrote it, e.g. `data-primary-color`.
    pub attribute: String,
    /// What was wrong and what is used instead.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.attribute, self.message)
    }
}

/// The settings could not make a working widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `data-bot-id` is missing or empty.
    MissingBotId,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingBotId => f.write_str(
                "data-bot-id is missing: add data-bot-id=\"<your bot id>\" to the chat-widget script tag",
            ),
        }
    }
}

impl WidgetConfig {
    /// A config for a bot on an API, everything else default.
    pub fn new(bot_id: impl Into<String>, api_url: impl Into<String>) -> Self {
        Self {
            bot_id: bot_id.into(),
            ..Self::default()
        }
        .api_url(api_url)
    }

    /// Sets the API's base URL (a trailing `/` is removed).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into().trim().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the publishable key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into()).filter(|k| !k.trim().is_empty());
        self
    }

    /// Sets the launcher's corner.
    pub fn position(mut self, position: Position) -> Self {
        self.position = position;
        self.explicit.position = true;
        self
    }

    /// Sets the primary colour.
    pub fn primary_color(mut self, color: Color) -> Self {
        self.primary_color = color;
        self.explicit.primary_color = true;
        self
    }

    /// Sets the greeting (an empty one shows none).
    pub fn greeting(mut self, greeting: impl Into<String>) -> Self {
        self.greeting = Some(greeting.into()).filter(|g| !g.trim().is_empty());
        self.explicit.greeting = true;
        self
    }

    /// Sets the bot's name in the header.
    pub fn bot_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if !name.trim().is_empty() {
            self.bot_name = name.trim().to_owned();
        }
        self
    }

    /// Asks for streamed replies (`true`) or single JSON replies (`false`).
    pub fn stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// Sets the theme.
    pub fn theme(mut self, theme: Theme) -> Self {
        self.theme = theme;
        self
    }

    /// Sets the bot's picture (ignored unless http or https).
    pub fn avatar_url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.avatar_url = chat_widget_protocol::markdown::allowed_url(&url, &["http:", "https:"])
            .map(str::to_owned);
        self
    }

    /// Sets the launcher's icon.
    pub fn launcher_icon(mut self, icon: LauncherIcon) -> Self {
        self.launcher_icon = icon;
        self
    }

    /// Sets the distance from the window's side and bottom, in px.
    pub fn offsets(mut self, x: u32, y: u32) -> Self {
        (self.offset_x, self.offset_y) = (x, y);
        self
    }

    /// Sets the z-index.
    pub fn z_index(mut self, z_index: i32) -> Self {
        self.z_index = Some(z_index);
        self
    }

    /// Sets when the greeting bubble appears (`None`: never).
    pub fn greeting_delay(mut self, seconds: Option<u32>) -> Self {
        self.greeting_delay_s = seconds;
        self
    }

    /// Sets how long a reply may stay silent before it is given up, in milliseconds (see
    /// [`WidgetConfig::reply_timeout_ms`]).
    pub fn reply_timeout_ms(mut self, ms: u32) -> Self {
        self.reply_timeout_ms = ms.max(1);
        self
    }

    /// Sets the API dialect.
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Sets the language (otherwise the browser's).
    pub fn locale(mut self, locale: Locale) -> Self {
        self.locale = Some(locale);
        self
    }

    /// Sets the site's id for the visitor.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into()).filter(|id| !id.trim().is_empty());
        self
    }

    /// Reads script-tag settings: `(name, value)` pairs where the name is a `data-*` attribute
    /// in either spelling (`data-bot-id`, `bot-id`, or the `dataset` key `botId`).
    /// `fallback_api_url` is used when `data-api-url` is absent (the script's own origin).
    pub fn from_settings<K, V>(
        settings: impl IntoIterator<Item = (K, V)>,
        fallback_api_url: &str,
    ) -> Result<(Self, Vec<ConfigWarning>), ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = Self::default().api_url(fallback_api_url);
        let mut warnings = Vec::new();
        // A new setting also goes in the loader's SETTINGS (assets/chat-widget.js), which
        // restarts a widget when one changes.
        for (name, value) in settings {
            let (name, value) = (normalize_setting_name(name.as_ref()), value.as_ref());
            match name.as_str() {
                "bot-id" => config.bot_id = value.trim().to_owned(),
                "api-url" => {
                    let url = value.trim();
                    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
                    match scheme.as_deref() {
                        Some("http" | "https") => config = config.api_url(url),
                        // A path on the page's own site (a proxy), or `//host`.
                        None if url.is_empty() || url.starts_with('/') => {
                            config = config.api_url(url)
                        }
                        // `chat.example.com`: a browser would take it as a path on the page's
                        // own site.
                        None => {
                            let full = format!("https://{url}");
                            warnings.push(warning("data-api-url", value, "a full URL", &full));
                            config = config.api_url(full);
                        }
                        Some(_) => warnings.push(warning(
                            "data-api-url",
                            value,
                            "an http(s) URL",
                            "the script's own site",
                        )),
                    }
                }
                "api-key" => config = config.api_key(value.trim()),
                "greeting" => config = config.greeting(value),
                "bot-name" => config = config.bot_name(value),
                "theme" => match Theme::parse(value) {
                    Some(theme) => config.theme = theme,
                    None => {
                        warnings.push(warning("data-theme", value, "light, dark or auto", "light"))
                    }
                },
                "avatar-url" => {
                    config = config.avatar_url(value);
                    if config.avatar_url.is_none() {
                        warnings.push(warning(
                            "data-avatar-url",
                            value,
                            "an http(s) URL",
                            "the bot's initial",
                        ));
                    }
                }
                "launcher-icon" => match LauncherIcon::parse(value) {
                    Some(icon) => config.launcher_icon = icon,
                    None => warnings.push(warning(
                        "data-launcher-icon",
                        value,
                        "chat, help, message or an http(s) URL",
                        "chat",
                    )),
                },
                "offset-x" | "offset-y" => match value.trim().trim_end_matches("px").parse::<u32>()
                {
                    Ok(px) if px <= 400 => {
                        if name == "offset-x" {
                            config.offset_x = px
                        } else {
                            config.offset_y = px
                        }
                    }
                    _ => warnings.push(warning(
                        &format!("data-{name}"),
                        value,
                        "a number of pixels from 0 to 400",
                        "20",
                    )),
                },
                "z-index" => match value.trim().parse::<i32>() {
                    Ok(z) => config.z_index = Some(z),
                    Err(_) => warnings.push(warning(
                        "data-z-index",
                        value,
                        "a whole number",
                        "the top of the page",
                    )),
                },
                "greeting-delay" => match value.trim().to_ascii_lowercase().as_str() {
                    "off" | "none" | "never" | "false" => config.greeting_delay_s = None,
                    other => match other.trim_end_matches('s').parse::<u32>() {
                        Ok(seconds) => config.greeting_delay_s = Some(seconds),
                        Err(_) => warnings.push(warning(
                            "data-greeting-delay",
                            value,
                            "seconds or off",
                            "5",
                        )),
                    },
                },
                "reply-timeout" => match value.trim().trim_end_matches('s').trim().parse::<u32>() {
                    Ok(seconds @ 1..=3600) => config.reply_timeout_ms = seconds * 1000,
                    _ => warnings.push(warning(
                        "data-reply-timeout",
                        value,
                        "whole seconds from 1 to 3600",
                        "45",
                    )),
                },
                "stream" => match value.trim().to_ascii_lowercase().as_str() {
                    "true" | "on" | "yes" | "" => config.stream = true,
                    "false" | "off" | "no" => config.stream = false,
                    _ => warnings.push(ConfigWarning {
                        attribute: "data-stream".into(),
                        message: format!("\"{value}\" is not true or false; streaming stays on"),
                    }),
                },
                "dialect" => match Dialect::parse(value) {
                    Some(dialect) => config.dialect = dialect,
                    None => warnings.push(warning(
                        "data-dialect",
                        value,
                        &dialect_names(),
                        Dialect::default().as_str(),
                    )),
                },
                "user-id" => config = config.user_id(value.trim()),
                "modal" => match value.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" | "" => config.modal = Some(true),
                    "false" | "no" | "off" => config.modal = Some(false),
                    _ => warnings.push(warning(
                        "data-modal",
                        value,
                        "true or false",
                        "modal on phones only",
                    )),
                },
                "locale" | "lang" | "language" if value.trim().is_empty() => {}
                "locale" | "lang" | "language" => match Locale::parse(value) {
                    Some(locale) => config.locale = Some(locale),
                    None => warnings.push(warning(
                        "data-locale",
                        value,
                        "en, es, de, fr, ar or he",
                        "the browser's language",
                    )),
                },
                "position" => match Position::parse(value) {
                    Some(position) => config = config.position(position),
                    None => warnings.push(ConfigWarning {
                        attribute: "data-position".into(),
                        message: format!(
                            "\"{value}\" is not bottom-right or bottom-left; using bottom-right"
                        ),
                    }),
                },
                "primary-color" => match Color::parse_hex(value) {
                    Some(color) => config = config.primary_color(color),
                    None => warnings.push(ConfigWarning {
                        attribute: "data-primary-color".into(),
                        message: format!(
                            "\"{value}\" is not a #rgb or #rrggbb colour; using the default"
                        ),
                    }),
                },
                _ => {}
            }
        }
        if config.bot_id.is_empty() {
            return Err(ConfigError::MissingBotId);
        }
        Ok((config, warnings))
    }
}

/// Every dialect's `data-dialect` spelling: "chatbots, jombot, ... or openai".
fn dialect_names() -> String {
    let mut names = String::new();
    for (index, dialect) in Dialect::ALL.iter().enumerate() {
        if index > 0 {
            names.push_str(if index + 1 == Dialect::ALL.len() {
                " or "
            } else {
                ", "
            });
        }
        names.push_str(dialect.as_str());
    }
    names
}

fn warning(attribute: &str, value: &str, expected: &str, fallback: &str) -> ConfigWarning {
    ConfigWarning {
        attribute: attribute.to_owned(),
        message: format!("\"{value}\" is not {expected}; using {fallback}"),
    }
}

/// `data-bot-id`, `bot-id` and `botId` all become `bot-id`.
fn normalize_setting_name(name: &str) -> String {
    let name = name.trim().strip_prefix("data-").unwrap_or(name.trim());
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The loader restarts a widget when one of its `SETTINGS` attributes changes: each name
    /// there is a setting this reads (`preload` is the loader's own), and a name that is not
    /// one does nothing.
    #[test]
    fn the_loader_watches_the_settings_this_reads() {
        let loader = include_str!("../assets/chat-widget.js");
        let list = loader
            .split("var SETTINGS = (")
            .nth(1)
            .and_then(|rest| rest.split(").split(").next())
            .expect("the loader's SETTINGS list");
        let names: Vec<&str> = list
            .split('\'')
            .skip(1)
            .step_by(2)
            .flat_map(str::split_whitespace)
            .collect();
        assert!(names.len() > 20, "{names:?}");
        let read = |name: &str| {
            WidgetConfig::from_settings([("bot-id", "b"), (name, "9x")], "https://x.test").unwrap()
        };
        let unchanged = read("bot-id-typo");
        assert!(unchanged.1.is_empty());
        for name in names.into_iter().filter(|name| *name != "preload") {
            let (config, warnings) = read(name);
            assert!(config != unchanged.0 || !warnings.is_empty(), "{name}");
        }
    }

    /// A site owner who writes the API's host without `https://` would send every request to
    /// a path on their own site; another scheme cannot be fetched. Both are said in the console.
    #[test]
    fn an_api_url_without_its_scheme_is_completed_and_another_scheme_refused() {
        let read = |url: &str| {
            let (config, warnings) = WidgetConfig::from_settings(
                [("bot-id", "b"), ("api-url", url)],
                "https://cdn.test",
            )
            .unwrap();
            (config.api_url, warnings.len())
        };
        assert_eq!(
            read("chat.example.com/"),
            ("https://chat.example.com".into(), 1)
        );
        assert_eq!(
            read("ftp://chat.example.com"),
            ("https://cdn.test".into(), 1)
        );
        for kept in [
            "HTTPS://chat.example.com",
            "http://localhost:8080",
            "/chat-api",
            "//chat.example.com",
        ] {
            assert_eq!(read(kept), (kept.to_owned(), 0), "{kept}");
        }
    }

    #[test]
    fn reads_every_script_tag_setting_in_any_spelling() {
        let (config, warnings) = WidgetConfig::from_settings(
            [
                ("botId", "demo"),
                ("data-api-url", "https://api.example.com/"),
                ("apiKey", "pk_1"),
                ("position", "bottom-left"),
                ("primary-color", "#0A7CFF"),
                ("greeting", "Hi! How can I help?"),
                ("botName", "Acme"),
                ("stream", "false"),
            ],
            "https://cdn.example.com",
        )
        .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(config.bot_id, "demo");
        assert_eq!(config.api_url, "https://api.example.com");
        assert_eq!(config.api_key.as_deref(), Some("pk_1"));
        assert_eq!(config.position, Position::BottomLeft);
        assert_eq!(config.primary_color, Color::parse_hex("#0a7cff").unwrap());
        assert_eq!(config.greeting.as_deref(), Some("Hi! How can I help?"));
        assert_eq!(config.bot_name, "Acme");
        assert!(!config.stream);
        assert_eq!(
            config.explicit,
            ExplicitLook {
                greeting: true,
                primary_color: true,
                position: true
            }
        );
        let (config, _) = WidgetConfig::from_settings(
            [("bot-id", "b"), ("dialect", "Jelytech"), ("userId", "u7")],
            "https://x.test",
        )
        .unwrap();
        assert_eq!(
            (config.dialect, config.user_id.as_deref()),
            (Dialect::Jelytech, Some("u7"))
        );
        assert_eq!(config.explicit, ExplicitLook::default());
    }

    #[test]
    fn reads_the_reply_timeout_in_seconds() {
        let read = |value: &str| {
            WidgetConfig::from_settings(
                [("bot-id", "b"), ("reply-timeout", value)],
                "https://x.test",
            )
            .unwrap()
        };
        assert_eq!(
            WidgetConfig::default().reply_timeout_ms,
            45_000,
            "45 s unless the page says"
        );
        assert_eq!(read("20").0.reply_timeout_ms, 20_000);
        assert_eq!(read("90s").0.reply_timeout_ms, 90_000);
        for unusable in ["0", "-3", "1.5", "soon", "7200"] {
            let (config, warnings) = read(unusable);
            assert_eq!(config.reply_timeout_ms, 45_000, "{unusable}");
            assert_eq!(warnings[0].attribute, "data-reply-timeout", "{unusable}");
        }
    }

    #[test]
    fn reads_the_look_and_placement_settings() {
        let (config, warnings) = WidgetConfig::from_settings(
            [
                ("bot-id", "b"),
                ("theme", "dark"),
                ("avatarUrl", "https://cdn.example.com/bot.png"),
                ("launcherIcon", "help"),
                ("offsetX", "32px"),
                ("offset-y", "48"),
                ("zIndex", "1000"),
                ("greetingDelay", "off"),
            ],
            "https://x.test",
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.theme, Theme::Dark);
        assert_eq!(
            config.avatar_url.as_deref(),
            Some("https://cdn.example.com/bot.png")
        );
        assert_eq!(config.launcher_icon, LauncherIcon::Help);
        assert_eq!(
            (config.offset_x, config.offset_y, config.z_index),
            (32, 48, Some(1000))
        );
        assert_eq!(config.greeting_delay_s, None);
        let (config, warnings) = WidgetConfig::from_settings(
            [
                ("bot-id", "b"),
                ("avatar-url", "javascript:alert(1)"),
                ("launcher-icon", "data:image/png;base64,AA"),
                ("greeting-delay", "3"),
            ],
            "https://x.test",
        )
        .unwrap();
        assert_eq!(
            (
                config.avatar_url,
                config.launcher_icon,
                config.greeting_delay_s
            ),
            (None, LauncherIcon::Chat, Some(3))
        );
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn bad_values_fall_back_with_a_warning_and_a_missing_bot_is_an_error() {
        let (config, warnings) = WidgetConfig::from_settings(
            [
                ("bot-id", "b"),
                ("position", "top"),
                ("primary-color", "blue"),
            ],
            "https://x.test",
        )
        .unwrap();
        assert_eq!(config.position, Position::BottomRight);
        assert_eq!(config.api_url, "https://x.test");
        assert_eq!(warnings.len(), 2);
        assert_eq!(
            WidgetConfig::from_settings([("greeting", "hi")], "https://x.test"),
            Err(ConfigError::MissingBotId)
        );
    }
}
