//! Every string the visitor can see or hear, in one table, so wording stays consistent and a
//! later translation touches one file. Console messages for the site owner live with the code
//! that detects the problem, not here.

use chat_widget_protocol::{ApiError, ErrorCode};

/// The visitor-facing strings.
pub struct Strings {
    /// Launcher's accessible name while the panel is closed.
    pub open_chat: &'static str,
    /// Launcher's and close button's accessible name while the panel is open.
    pub close_chat: &'static str,
    /// The textarea's accessible name and placeholder.
    pub input_label: &'static str,
    /// Placeholder text in the textarea.
    pub input_placeholder: &'static str,
    /// The send button's accessible name.
    pub send: &'static str,
    /// Said while the bot is typing.
    pub typing: &'static str,
    /// Under a message that failed.
    pub not_sent: &'static str,
    /// The button that sends a failed message again.
    pub retry: &'static str,
    /// Prefix of the panel's accessible name, followed by the bot's name.
    pub chat_with: &'static str,
    /// Screen-reader prefix of a visitor's message.
    pub you_said: &'static str,
    /// Screen-reader prefix of a bot's message.
    pub bot_said: &'static str,
    /// The Stop button's accessible name.
    pub stop: &'static str,
    /// Under a reply the visitor stopped.
    pub stopped: &'static str,
    /// Under a reply that broke off.
    pub interrupted: &'static str,
    /// The pill that scrolls down to messages that arrived while scrolled up.
    pub new_messages: &'static str,
    /// The accessible name of the group of quick replies.
    pub suggestions: &'static str,
    /// The message list's accessible name.
    pub messages: &'static str,
    /// The greeting bubble's close button.
    pub dismiss_greeting: &'static str,
    /// The banner while the browser is offline.
    pub offline: &'static str,
    /// Under a message written while offline.
    pub waiting_for_connection: &'static str,
    /// The header button that starts over.
    pub new_conversation: &'static str,
    /// The question before starting over.
    pub confirm_new_conversation: &'static str,
    /// Confirms starting over.
    pub start_over: &'static str,
    /// Keeps the conversation.
    pub cancel: &'static str,
}

/// English, the only language so far.
pub const EN: Strings = Strings {
    open_chat: "Open chat",
    close_chat: "Close chat",
    input_label: "Message",
    input_placeholder: "Type a message…",
    send: "Send message",
    typing: "Typing…",
    not_sent: "Not sent.",
    retry: "Retry",
    chat_with: "Chat with",
    you_said: "You:",
    bot_said: "Bot:",
    stop: "Stop generating",
    stopped: "Stopped.",
    interrupted: "Reply interrupted.",
    new_messages: "New messages",
    suggestions: "Suggested replies",
    messages: "Messages",
    dismiss_greeting: "Dismiss greeting",
    offline: "You're offline. Messages will be sent when the connection is back.",
    waiting_for_connection: "Waiting for the connection…",
    new_conversation: "Start a new conversation",
    confirm_new_conversation: "Start a new conversation? The messages here will be cleared.",
    start_over: "Start over",
    cancel: "Cancel",
};

/// The countdown while sending is paused by a rate limit.
pub fn cooldown(seconds: u64) -> String {
    format!("You can send again in {seconds} s.")
}

/// Next to a failed message that will be tried again by itself.
pub fn retrying_in(seconds: u64) -> String {
    format!("Retrying in {seconds} s…")
}

/// "1 unread message", "3 unread messages".
pub fn unread_count(count: u32) -> String {
    match count {
        1 => "1 unread message".to_owned(),
        n => format!("{n} unread messages"),
    }
}

/// What the visitor is told when sending failed. Calm, specific where it helps the visitor,
/// and silent about configuration details (those go to the console for the site owner).
pub fn visitor_error(error: &ApiError) -> String {
    match &error.code {
        ErrorCode::InvalidApiKey | ErrorCode::OriginNotAllowed | ErrorCode::BotNotFound => {
            "Chat is unavailable right now. Please try again later.".to_owned()
        }
        ErrorCode::InsufficientCredits | ErrorCode::QuotaExceeded => {
            "This chat has reached its usage limit for now. Please try again later, or contact us another way.".to_owned()
        }
        ErrorCode::RateLimitExceeded => match error.retry_after_s {
            Some(seconds) if seconds > 0 => format!(
                "You're sending messages too quickly. Please wait {seconds} second{} and retry.",
                if seconds == 1 { "" } else { "s" }
            ),
            _ => "You're sending messages too quickly. Please wait a moment and retry.".to_owned(),
        },
        ErrorCode::Network => {
            "Can't reach the chat service. Check your connection, then retry.".to_owned()
        }
        ErrorCode::Server => "The chat service had a problem. Please retry in a moment.".to_owned(),
        ErrorCode::MalformedResponse => {
            "Something went wrong receiving the reply. Please retry.".to_owned()
        }
        ErrorCode::InvalidRequest => "That message couldn't be sent. Try rephrasing it.".to_owned(),
        ErrorCode::Other(_) => "Your message couldn't be sent. Please retry.".to_owned(),
    }
}

/// What the visitor is told when a reply broke off part-way (the text so far stays).
pub fn interrupted_reply(error: &ApiError) -> String {
    match &error.code {
        ErrorCode::Network => "The connection dropped before the reply was finished. Retry to get the whole answer.".to_owned(),
        ErrorCode::RateLimitExceeded | ErrorCode::InsufficientCredits | ErrorCode::QuotaExceeded => visitor_error(error),
        _ => "The chat service stopped before the reply was finished. Please retry.".to_owned(),
    }
}

/// What the site owner is told in the console, or `None` when it is not their problem.
pub fn owner_diagnostic(error: &ApiError, bot_id: &str, api_url: &str) -> Option<String> {
    let hint = match &error.code {
        ErrorCode::InvalidApiKey => format!(
            "the API rejected the key (INVALID_API_KEY). Check data-api-key: it must be an active publishable key for bot \"{bot_id}\""
        ),
        ErrorCode::OriginNotAllowed => format!(
            "the key is not allowed on this page's origin (ORIGIN_NOT_ALLOWED). Add this origin to the key's allowed origins on {api_url}"
        ),
        ErrorCode::BotNotFound => format!(
            "no bot \"{bot_id}\" at {api_url} (CHATBOT_NOT_FOUND). Check data-bot-id and data-api-url"
        ),
        ErrorCode::InsufficientCredits | ErrorCode::QuotaExceeded => format!(
            "the bot's plan is out of credits or quota ({}). Visitors see a polite message until it is topped up",
            error.code.as_str()
        ),
        ErrorCode::InvalidRequest => format!("the API refused the request as invalid: {}", error.message),
        _ => return None,
    };
    Some(format!("chat-widget: {hint}. Server said: {}", error.message))
}
