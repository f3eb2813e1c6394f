//! The internal model: what every dialect's replies and errors are turned into, and what the
//! widget asks to send. Nothing here knows a wire format (see [`crate::dialect`]).

use serde::{Deserialize, Serialize};

use serde_json::Value;

/// What the visitor sends, before any dialect shapes it for the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The text the visitor typed (or a quick reply's payload).
    pub message: String,
    /// The conversation to continue, if one was started before.
    pub conversation_id: Option<String>,
    /// Ask for a streamed reply. `None` lets the bot's own default decide.
    pub stream: Option<bool>,
    /// Free-form metadata the site owner attaches (source page, user id, ...).
    pub metadata: Option<Value>,
}

/// The longest reply text the widget takes from a stream and the reference server takes from a
/// model, in bytes (about 64,000 tokens: far more than a chat answer). Beyond it a reply is
/// cut off and ends as broken, the text up to the cut kept: an API or a model that never ends
/// its answer would otherwise grow one bubble, and the work of drawing it, for as long as it
/// writes.
pub const MAX_REPLY_BYTES: usize = 256 * 1024;

/// A complete bot reply, whatever dialect it came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The reply text, as Markdown.
    pub text: String,
    /// The conversation this reply belongs to; keep it for the next message.
    pub conversation_id: String,
    /// The server's id for this message, when it gives one.
    pub message_id: Option<String>,
    /// When the server says the reply was made (ISO 8601), when it gives one.
    pub timestamp: Option<String>,
    /// Buttons offered under the reply.
    pub suggested_actions: Vec<SuggestedAction>,
    /// How sure the bot is, 0..=1, when it says.
    pub confidence: Option<f64>,
}

/// What a suggested action does when clicked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Sends `payload` (or `text`) as the visitor's next message.
    #[default]
    QuickReply,
    /// Opens `payload` as a link.
    Url,
    /// Sends `payload` without showing it as typed text.
    Postback,
}

/// A button the bot offers under its reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuggestedAction {
    /// What the button does.
    #[serde(rename = "type", default)]
    pub kind: ActionKind,
    /// The label the visitor sees (and sees as their message after clicking).
    pub text: String,
    /// What is sent instead of `text`, if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// The error codes the vendor documents use, plus the transport failures the widget names itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// 401: the key is wrong, inactive, or missing.
    InvalidApiKey,
    /// 403: the key is not allowed from this page's origin.
    OriginNotAllowed,
    /// 402: the bot owner's plan has no credits left.
    InsufficientCredits,
    /// 403: the monthly quota is used up.
    QuotaExceeded,
    /// 404: no bot with that id (CHATBOT_NOT_FOUND or BOT_NOT_FOUND on the wire).
    BotNotFound,
    /// 400: the request was malformed.
    InvalidRequest,
    /// 429: too many requests; see `retry_after_s`.
    RateLimitExceeded,
    /// The request never reached a server (offline, DNS, CORS refusal, connection reset).
    Network,
    /// A 5xx from the server or a proxy.
    Server,
    /// A reply that could not be understood (HTML error page, truncated JSON, wrong type).
    MalformedResponse,
    /// Any other code a server sent, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// Reads a wire code such as `"RATE_LIMIT_EXCEEDED"`.
    pub fn from_wire(code: &str) -> Self {
        match code {
            "INVALID_API_KEY" => Self::InvalidApiKey,
            "ORIGIN_NOT_ALLOWED" => Self::OriginNotAllowed,
            "INSUFFICIENT_CREDITS" => Self::InsufficientCredits,
            "QUOTA_EXCEEDED" => Self::QuotaExceeded,
            "CHATBOT_NOT_FOUND" | "BOT_NOT_FOUND" => Self::BotNotFound,
            "INVALID_REQUEST" => Self::InvalidRequest,
            "RATE_LIMIT_EXCEEDED" => Self::RateLimitExceeded,
            "SERVER_ERROR" | "INTERNAL_ERROR" => Self::Server,
            "NETWORK_ERROR" => Self::Network,
            "MALFORMED_RESPONSE" => Self::MalformedResponse,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire spelling (the chatbots dialect's, for [`ErrorCode::BotNotFound`]).
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidApiKey => "INVALID_API_KEY",
            Self::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
            Self::InsufficientCredits => "INSUFFICIENT_CREDITS",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::BotNotFound => "CHATBOT_NOT_FOUND",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            Self::Network => "NETWORK_ERROR",
            Self::Server => "SERVER_ERROR",
            Self::MalformedResponse => "MALFORMED_RESPONSE",
            Self::Other(code) => code,
        }
    }

    /// The HTTP status a server answers this code with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidApiKey => 401,
            Self::InsufficientCredits => 402,
            Self::OriginNotAllowed | Self::QuotaExceeded => 403,
            Self::BotNotFound => 404,
            Self::InvalidRequest => 400,
            Self::RateLimitExceeded => 429,
            Self::Network | Self::Server | Self::MalformedResponse | Self::Other(_) => 500,
        }
    }

    /// Whether sending the same message again later can succeed without anyone changing settings.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimitExceeded | Self::Network | Self::Server | Self::MalformedResponse
        )
    }
}

/// A failure, from the server or from the way to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, as a code the UI can choose a message for.
    pub code: ErrorCode,
    /// The server's own words, or the widget's description of a transport failure.
    /// Meant for the console and the site owner, not necessarily for the visitor.
    pub message: String,
    /// The HTTP status, when there was a response.
    pub http_status: Option<u16>,
    /// Seconds to wait before trying again, when the server said.
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    /// An error with a code and a message, no status and no retry hint.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            http_status: None,
            retry_after_s: None,
        }
    }

    /// A request that never got a response.
    pub fn network(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Network, detail)
    }

    /// A response that could not be understood.
    pub fn malformed(status: u16, detail: impl Into<String>) -> Self {
        Self {
            http_status: Some(status),
            ..Self::new(ErrorCode::MalformedResponse, detail)
        }
    }

    /// A reply that went silent: nothing arrived for as long as the widget waits (its code is
    /// [`ApiError::REPLY_TIMEOUT`]).
    pub fn timeout(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Other(Self::REPLY_TIMEOUT.to_owned()), detail)
    }

    /// The code of [`ApiError::timeout`], as the page's `chat-widget:error` event reports it.
    pub const REPLY_TIMEOUT: &'static str = "REPLY_TIMEOUT";

    /// Whether the reply went silent (see [`ApiError::timeout`]).
    pub fn is_timeout(&self) -> bool {
        matches!(&self.code, ErrorCode::Other(code) if code == Self::REPLY_TIMEOUT)
    }

    /// Whether the request reached no chat API: a 404 that is not about a bot or a
    /// conversation the API knows of (`NOT_FOUND`, a web server's page), a 405 or a 501. That
    /// is a wrong `data-api-url` (a path too many, another site) or `data-dialect`, which no
    /// retry mends.
    pub fn is_misdirected(&self) -> bool {
        let named = match &self.code {
            ErrorCode::BotNotFound => true,
            ErrorCode::Other(code) => code.ends_with("_NOT_FOUND"),
            _ => false,
        };
        matches!(self.http_status, Some(404 | 405 | 501)) && !named
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.http_status {
            Some(status) => write!(f, "{} ({status}): {}", self.code.as_str(), self.message),
            None => write!(f, "{}: {}", self.code.as_str(), self.message),
        }
    }
}

impl std::error::Error for ApiError {}

/// Rate-limit information from `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// `X-RateLimit-Limit`: requests allowed per window.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`: requests left in this window.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`: unix time (seconds) when the window resets.
    pub reset_unix: Option<u64>,
}

/// What a dialect decoder needs to know about an HTTP response besides its body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseMeta {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Retry-After` header, if any (seconds; an HTTP date is ignored).
    pub retry_after: Option<String>,
    /// The `X-RateLimit-*` headers.
    pub rate_limit: RateLimit,
    /// The time the response arrived, unix seconds, to turn `X-RateLimit-Reset` into a wait.
    pub now_unix: u64,
}

impl ResponseMeta {
    /// Builds the meta from a header lookup (`name` is lower-case; return `None` when absent).
    pub fn from_headers(
        status: u16,
        now_unix: u64,
        header: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let number = |name: &str| header(name).and_then(|v| v.trim().parse::<u64>().ok());
        Self {
            status,
            content_type: header("content-type"),
            retry_after: header("retry-after"),
            rate_limit: RateLimit {
                limit: number("x-ratelimit-limit"),
                remaining: number("x-ratelimit-remaining"),
                reset_unix: number("x-ratelimit-reset"),
            },
            now_unix,
        }
    }

    /// Whether the body is JSON by its content type (`application/json`, `...+json`).
    pub fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
    }

    /// Whether the body is a Server-Sent Events stream.
    pub fn is_event_stream(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("text/event-stream")
        })
    }

    /// On a success that used up the window (`X-RateLimit-Remaining: 0`), the seconds until
    /// `X-RateLimit-Reset`: waiting that long avoids provoking a 429 with the next message.
    pub fn exhausted_wait_s(&self) -> Option<u64> {
        match (self.rate_limit.remaining, self.rate_limit.reset_unix) {
            (Some(0), Some(reset)) => Some(reset.saturating_sub(self.now_unix).max(1)),
            _ => None,
        }
    }

    /// Seconds to wait from the headers alone: `Retry-After`, else `X-RateLimit-Reset` - now.
    pub fn header_retry_after_s(&self) -> Option<u64> {
        self.retry_after
            .as_deref()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .or_else(|| {
                self.rate_limit
                    .reset_unix
                    .map(|reset| reset.saturating_sub(self.now_unix))
            })
    }
}
