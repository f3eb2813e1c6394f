//! Talking to the bot in the configured dialect. Each dialect is one unit on the widget side:
//! a type in `src/dialects/<name>.rs` that implements [`ChatDialect`] (send a message, restore
//! an earlier conversation, what to keep after a reply), compiled only with its crate feature.
//! The functions here pick the unit for the config's dialect with `by_dialect!` (in
//! `src/dialects/mod.rs`, next to the modules' list), whose arms exist only for the dialects
//! this build has: a per-dialect build has one arm, so it carries one dialect's code, and no
//! future needs boxing (an arm that is not compiled is not in the state machine). Nothing
//! here or in the chat names a dialect: what differs between them is the unit's (its
//! constants and methods), in the dialect-neutral types of this module.
//!
//! Every answer reaches the caller as [`StreamEvent`]s, whether the server streamed it (SSE),
//! answered with one JSON body, or (where the server answers separately) delivered it to be listened for
//! or polled. The parser is chosen by the response's `Content-Type`, never by what was asked
//! for. The UI never sees a wire format.

use chat_widget_protocol::dialect::Dialect;
use chat_widget_protocol::stream::StreamEvent;
use chat_widget_protocol::{ApiError, ErrorCode, OutgoingMessage, SuggestedAction};
use leptos::prelude::StoredValue;

use crate::browser::http::Abort;
use crate::config::{Position, WidgetConfig};
use crate::dialects::by_dialect;
use crate::theme::Color;

/// What a dialect needs besides the message, kept by the chat between messages.
pub struct Session<'a> {
    /// The settings (dialect, bot, key, user id).
    pub config: &'a WidgetConfig,
    /// The conversation so far, oldest first, for a dialect whose messages carry it (empty
    /// for the others; see [`ChatDialect::SENDS_HISTORY`]).
    #[allow(dead_code)] // read only by such a dialect
    pub history: Vec<Turn>,
    /// The visitor's stable id, for a dialect whose server needs one (empty for the others;
    /// see [`ChatDialect::HAS_VISITOR_ID`]).
    #[allow(dead_code)] // read only by such a dialect
    pub visitor_id: String,
    /// Whether the panel is open (a dialect that polls for the reply slows down while it is
    /// closed).
    #[allow(dead_code)] // read only by such a dialect
    pub visible: &'a dyn Fn() -> bool,
    /// The message's id on the server, for a dialect that stores the visitor's message apart
    /// from the reply (chataibot): it records the id once the message is stored, and an
    /// attempt that finds one (Retry, or an automatic retry after the wait for the reply
    /// failed) only waits for the reply instead of posting the message again. Empty until then.
    #[allow(dead_code)] // read only by such a dialect
    pub accepted: StoredValue<String>,
}

/// One message of the conversation so far, as a dialect that sends the history gets it:
/// delivered visitor messages (what they sent) and finished bot replies (their Markdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Whether the visitor wrote it (else the bot).
    pub from_visitor: bool,
    /// What was sent (a quick reply's payload) or answered.
    pub text: String,
}

/// The bot's own look, where the dialect's server has one, read into the widget's terms.
/// `None` is what the server left unset or gave in a form the widget cannot use; the page's
/// own settings win over all of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BotLook {
    /// Shown as the bot's first message and in the greeting bubble (never blank).
    pub greeting: Option<String>,
    /// The brand colour.
    pub primary: Option<Color>,
    /// The launcher's corner.
    pub position: Option<Position>,
}

/// A message of an earlier visit, to show again after a reload.
pub struct Earlier {
    /// Whether the visitor wrote it (else the bot).
    pub from_visitor: bool,
    /// What was shown (Markdown for the bot).
    pub text: String,
    /// What a quick reply sent instead of `text`.
    pub payload: Option<String>,
    /// When it was written, in ms since the epoch, where known.
    pub at: Option<f64>,
    /// The quick replies under it (given for the last message only).
    pub actions: Vec<SuggestedAction>,
    /// The server's id of the visitor's last message when its answer has not come yet, in a
    /// dialect whose answers arrive apart (chataibot): the widget waits for it.
    pub awaiting: Option<String>,
}

/// One dialect, as the widget speaks it. Implemented by one type per dialect in
/// `src/dialects/<name>.rs`.
pub(crate) trait ChatDialect {
    /// After a reply (and on a reload): whether the widget keeps the conversation itself, in
    /// `localStorage`, because the server gives none back. The chat saves its transcript after
    /// each reply and restores from it; otherwise it restores with
    /// [`ChatDialect::restore_history`].
    const KEEPS_TRANSCRIPT: bool = false;
    /// Whether each message carries the conversation so far ([`Session::history`]).
    const SENDS_HISTORY: bool = false;
    /// Whether the server needs a stable visitor id ([`Session::visitor_id`]).
    const HAS_VISITOR_ID: bool = false;

    /// Sends one visitor message and reports the reply's events as they arrive.
    ///
    /// `Ok` means the reply arrived complete; it carries the seconds to wait before the next
    /// message when the server said this one used up the rate-limit window. `Err` means it did
    /// not arrive: before any event (nothing was shown) or part-way (what `on_event` already
    /// received stays valid).
    async fn send(
        session: &Session<'_>,
        message: &OutgoingMessage,
        abort: &Abort,
        on_event: impl FnMut(StreamEvent),
    ) -> Result<Option<u64>, ApiError>;

    /// The messages of the stored conversation `conversation_id`, from the server (for the
    /// dialects whose server keeps it).
    async fn restore_history(
        _config: &WidgetConfig,
        _conversation_id: &str,
    ) -> Result<Vec<Earlier>, ApiError> {
        Ok(Vec::new())
    }

    /// The bot's own look (greeting, colour, position), where the server has one.
    async fn bot_look(_config: &WidgetConfig) -> Result<Option<BotLook>, ApiError> {
        Ok(None)
    }
}

/// Whether this build speaks `dialect` (the loader fetches the build for the page's
/// `data-dialect`; `mount_config` refuses a dialect the build lacks).
pub fn in_this_build(dialect: Dialect) -> bool {
    by_dialect!(dialect, |D| true, false)
}

/// The error for a dialect this build leaves out (`mount_config` refuses such a config, so
/// only a caller bypassing it could see this).
pub fn not_in_this_build(dialect: Dialect) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRequest,
        format!("this build of the widget does not speak the {dialect} dialect"),
    )
}

/// See [`ChatDialect::KEEPS_TRANSCRIPT`].
pub fn keeps_transcript(dialect: Dialect) -> bool {
    by_dialect!(dialect, |D| D::KEEPS_TRANSCRIPT, false)
}

/// See [`ChatDialect::SENDS_HISTORY`].
pub fn sends_history(dialect: Dialect) -> bool {
    by_dialect!(dialect, |D| D::SENDS_HISTORY, false)
}

/// See [`ChatDialect::HAS_VISITOR_ID`].
pub fn has_visitor_id(dialect: Dialect) -> bool {
    by_dialect!(dialect, |D| D::HAS_VISITOR_ID, false)
}

/// Sends one visitor message in the session's dialect ([`ChatDialect::send`]).
pub async fn send(
    session: &Session<'_>,
    message: &OutgoingMessage,
    abort: &Abort,
    on_event: impl FnMut(StreamEvent),
) -> Result<Option<u64>, ApiError> {
    let dialect = session.config.dialect;
    by_dialect!(
        dialect,
        |D| D::send(session, message, abort, on_event).await,
        Err(not_in_this_build(dialect))
    )
}

/// The stored conversation's messages from the server ([`ChatDialect::restore_history`]).
pub async fn restore_history(
    config: &WidgetConfig,
    conversation_id: &str,
) -> Result<Vec<Earlier>, ApiError> {
    by_dialect!(
        config.dialect,
        |D| D::restore_history(config, conversation_id).await,
        Ok(Vec::new())
    )
}

/// The bot's own look, where the dialect's server has one ([`ChatDialect::bot_look`]).
pub async fn bot_look(config: &WidgetConfig) -> Result<Option<BotLook>, ApiError> {
    by_dialect!(config.dialect, |D| D::bot_look(config).await, Ok(None))
}
