//! [`AppError`]: every way a request can fail, answered in the shape of the dialect that was
//! asked ([`AppError::into_dialect_response`]); `IntoResponse` is the chatbots dialect's
//! `{"success":false,"error":"<text>","code":"<CODE>","retryAfter"?}` with the vendor
//! document's texts. Every body is encoded with the protocol crate's own error types, and the
//! HTTP status comes from its [`ErrorCode`] (a 429, or the 503 of busy text extractors, also
//! carries `Retry-After`), so the server and the widget's decoders cannot drift.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::chatbots::ErrorBody;
use chat_widget_protocol::dialect::{chataibot, jelytech, jombot, openai, Dialect};
use chat_widget_protocol::ErrorCode;

use crate::store::StoreError;

/// The longest message a visitor may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// 401: no bearer key, an unknown one, or an inactive one.
    InvalidApiKey,
    /// 401: an admin endpoint (bot creation) without the server's admin token.
    AdminTokenRequired,
    /// 404: no such bot, or the key belongs to another bot (indistinguishable on purpose).
    BotNotFound,
    /// 403: the key does not allow the page's origin.
    OriginNotAllowed {
        /// The request's `Origin` header.
        origin: String,
    },
    /// 402: the bot has no credits left.
    InsufficientCredits,
    /// 403: the bot's monthly quota of replies is used up.
    QuotaExceeded,
    /// 404: no such conversation, or another bot's (chataibot, jelytech history).
    ConversationNotFound,
    /// 429: the bot's rate limit is used up for this window.
    RateLimited {
        /// Seconds until the window ends (also sent as `Retry-After`).
        retry_after_s: u64,
    },
    /// 400: the body is not a valid chat request; the text says what is wrong.
    InvalidRequest(String),
    /// 500: something broke on our side; the detail goes to the log, not to the client.
    Internal(String),
    /// 403: a publishable key on an endpoint that needs the bot's secret key or the admin token
    /// (analytics, training documents, webhooks).
    SecretKeyRequired,
    /// 403 `ADMIN_TOKEN_REQUIRED`: a secret key asked for something only the server's admin
    /// token may do (the text says what).
    AdminTokenOnly(String),
    /// 413: the body is over the endpoint's limit.
    PayloadTooLarge,
    /// 413 `INVALID_REQUEST`: an uploaded training document is over the size limit; the text
    /// says the limit.
    UploadTooLarge(String),
    /// 404: no such training document for this bot.
    DocumentNotFound,
    /// 404: no such webhook endpoint for this bot.
    WebhookNotFound,
    /// A refusal at the HTTP level, made by the framework or a limit rather than by an
    /// endpoint: 404 (no such route), 405 (a method the route does not take), 408 (the request
    /// did not arrive in time), 414, 431. Its code is the status's name (`NOT_FOUND`,
    /// `METHOD_NOT_ALLOWED`, `URI_TOO_LONG`...).
    Http(StatusCode),
    /// The bot's AI upstream answered 429 (its `Retry-After`, if it gave one, is passed on).
    UpstreamBusy {
        /// Seconds to wait, as the upstream said.
        retry_after_s: Option<u64>,
    },
    /// 503 with `Retry-After`: every text extraction slot stayed taken for as long as a
    /// training upload may wait for one ([`crate::AppState::with_max_extractions`]).
    ExtractorsBusy {
        /// Seconds to wait before sending the upload again (also sent as `Retry-After`).
        retry_after_s: u64,
    },
    /// The bot's AI upstream stayed silent too long (504).
    UpstreamTimeout,
    /// The bot's AI upstream failed: unreachable, a 5xx or other refusal, a malformed or cut
    /// stream (502). The detail is logged, never answered.
    UpstreamFailed(String),
}

impl AppError {
    /// The wire code, from the protocol crate.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidApiKey | Self::AdminTokenRequired => ErrorCode::InvalidApiKey,
            Self::BotNotFound => ErrorCode::BotNotFound,
            Self::OriginNotAllowed { .. } => ErrorCode::OriginNotAllowed,
            Self::InsufficientCredits => ErrorCode::InsufficientCredits,
            Self::QuotaExceeded => ErrorCode::QuotaExceeded,
            Self::ConversationNotFound => ErrorCode::Other(CONVERSATION_NOT_FOUND.to_owned()),
            Self::RateLimited { .. } => ErrorCode::RateLimitExceeded,
            Self::InvalidRequest(_) | Self::UploadTooLarge(_) => ErrorCode::InvalidRequest,
            Self::DocumentNotFound => ErrorCode::Other(DOCUMENT_NOT_FOUND.to_owned()),
            Self::WebhookNotFound => ErrorCode::Other("WEBHOOK_NOT_FOUND".to_owned()),
            Self::Internal(_)
            | Self::UpstreamTimeout
            | Self::UpstreamFailed(_)
            | Self::ExtractorsBusy { .. } => ErrorCode::Server,
            Self::UpstreamBusy { .. } => ErrorCode::RateLimitExceeded,
            Self::PayloadTooLarge => ErrorCode::Other(PAYLOAD_TOO_LARGE.to_owned()),
            Self::SecretKeyRequired => ErrorCode::Other(SECRET_KEY_REQUIRED.to_owned()),
            Self::AdminTokenOnly(_) => ErrorCode::Other(ADMIN_TOKEN_REQUIRED.to_owned()),
            Self::Http(status) if status.is_server_error() => ErrorCode::Server,
            Self::Http(status) => ErrorCode::Other(http_code(*status)),
        }
    }

    /// The HTTP status the protocol crate assigns to the code (404 for our
    /// `CONVERSATION_NOT_FOUND`, which the protocol crate does not name).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ConversationNotFound => return StatusCode::NOT_FOUND,
            Self::PayloadTooLarge | Self::UploadTooLarge(_) => {
                return StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::DocumentNotFound | Self::WebhookNotFound => return StatusCode::NOT_FOUND,
            Self::SecretKeyRequired | Self::AdminTokenOnly(_) => return StatusCode::FORBIDDEN,
            Self::Http(status) => return *status,
            Self::UpstreamTimeout => return StatusCode::GATEWAY_TIMEOUT,
            Self::UpstreamFailed(_) => return StatusCode::BAD_GATEWAY,
            Self::ExtractorsBusy { .. } => return StatusCode::SERVICE_UNAVAILABLE,
            _ => {}
        }
        StatusCode::from_u16(self.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The human-readable text (the vendor document's wording where it has one).
    pub fn message(&self) -> String {
        match self {
            Self::InvalidApiKey => "Invalid or inactive API key".to_owned(),
            Self::AdminTokenRequired => {
                "Creating bots needs the server's admin token (--admin-token) as the bearer key"
                    .to_owned()
            }
            Self::BotNotFound => "Chatbot not found or access denied".to_owned(),
            Self::OriginNotAllowed { origin } => {
                format!("Origin {origin} is not allowed to use this API key")
            }
            Self::InsufficientCredits => {
                "Insufficient credits to generate AI response. Please upgrade your plan.".to_owned()
            }
            Self::QuotaExceeded => "Monthly message quota exceeded".to_owned(),
            Self::ConversationNotFound => "Conversation not found or access denied".to_owned(),
            Self::RateLimited { .. } => {
                "Rate limit exceeded. Please wait before sending another message.".to_owned()
            }
            Self::InvalidRequest(text)
            | Self::UploadTooLarge(text)
            | Self::AdminTokenOnly(text) => text.clone(),
            Self::DocumentNotFound => "Document not found".to_owned(),
            Self::WebhookNotFound => "Webhook not found".to_owned(),
            Self::Internal(_) => "Internal server error. Please try again later.".to_owned(),
            Self::PayloadTooLarge => "The request body is too large".to_owned(),
            Self::SecretKeyRequired => "This endpoint needs the bot's secret key (sk_...) or the \
                 server's admin token; a publishable key (pk_...) can only chat"
                .to_owned(),
            Self::Http(status) => http_message(*status),
            Self::UpstreamBusy { .. } => {
                "The AI model is busy. Please try again in a moment.".to_owned()
            }
            Self::UpstreamTimeout => {
                "The AI model did not answer in time. Please try again.".to_owned()
            }
            Self::UpstreamFailed(_) => {
                "The AI model could not answer. Please try again.".to_owned()
            }
            Self::ExtractorsBusy { retry_after_s } => format!(
                "Too many documents are being read right now; send this one again in \
                 {retry_after_s} seconds"
            ),
        }
    }

    /// The body, as the protocol crate encodes it.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(&self.code(), self.message(), self.retry_after())
    }

    /// Seconds to wait, for a 429 or a 503.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_s } | Self::ExtractorsBusy { retry_after_s } => {
                Some(*retry_after_s)
            }
            Self::UpstreamBusy { retry_after_s } => *retry_after_s,
            _ => None,
        }
    }

    /// The text in a dialect: the jelytech document's descriptions for its codes, the model
    /// named for openai, [`AppError::message`] otherwise.
    pub fn message_in(&self, dialect: Dialect) -> String {
        match (dialect, self) {
            (Dialect::Chatbots, _) => self.message(),
            (Dialect::Jelytech, Self::InvalidApiKey) => {
                "The provided API key is invalid or expired".to_owned()
            }
            (Dialect::Jelytech, Self::RateLimited { .. }) => {
                "Too many requests in a short period".to_owned()
            }
            (Dialect::Jelytech, Self::BotNotFound) => {
                "The specified bot ID does not exist".to_owned()
            }
            (Dialect::Openai, Self::BotNotFound) => {
                "The model does not exist or you do not have access to it".to_owned()
            }
            (_, Self::BotNotFound) => "Bot not found or access denied".to_owned(),
            _ => self.message(),
        }
    }

    /// The error answered in `dialect`'s own shape, with its status (and `Retry-After` on a
    /// 429 or 503). The chatbots dialect's is exactly `IntoResponse`'s.
    pub fn into_dialect_response(self, dialect: Dialect) -> Response {
        match &self {
            Self::Internal(detail) => tracing::error!(detail = %detail, "internal error"),
            Self::UpstreamFailed(detail) => tracing::warn!(detail = %detail, "upstream failed"),
            _ => {}
        }
        let (code, status, message) = (self.code(), self.status(), self.message_in(dialect));
        let retry_after = self.retry_after();
        let mut response = match dialect {
            Dialect::Chatbots => (status, Json(self.body())).into_response(),
            Dialect::Jombot => {
                let body = jombot::ErrorBody::new(jombot::wire_code(&code), message, retry_after);
                (status, Json(body)).into_response()
            }
            Dialect::Jelytech => {
                let body =
                    jelytech::ErrorBody::new(jelytech::wire_code(&code), message, status.as_u16());
                (status, Json(body)).into_response()
            }
            Dialect::Chataibot => {
                let body =
                    chataibot::ErrorBody::new(chataibot::wire_code(&code), message, retry_after);
                (status, Json(body)).into_response()
            }
            Dialect::Openai => (status, Json(openai::error_body(&code, message))).into_response(),
        };
        if let Some(retry_after_s) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        response
    }
}

/// Our code for an unknown conversation (404), in every dialect that has conversation URLs.
pub const CONVERSATION_NOT_FOUND: &str = "CONVERSATION_NOT_FOUND";

/// Our code for an unknown training document (404).
pub const DOCUMENT_NOT_FOUND: &str = "DOCUMENT_NOT_FOUND";

/// Our code for a publishable key where a secret key is needed (403).
pub const SECRET_KEY_REQUIRED: &str = "SECRET_KEY_REQUIRED";

/// Our code for a secret key asking for what only the admin token may do (403).
pub const ADMIN_TOKEN_REQUIRED: &str = "ADMIN_TOKEN_REQUIRED";

/// Our code for a body over the limit (413).
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";

/// The code of an HTTP-level refusal: the status's reason, upper-case with underscores
/// (`NOT_FOUND`, `METHOD_NOT_ALLOWED`, `REQUEST_TIMEOUT`, `URI_TOO_LONG`), with
/// `HEADERS_TOO_LARGE` for 431.
fn http_code(status: StatusCode) -> String {
    match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "HEADERS_TOO_LARGE".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => PAYLOAD_TOO_LARGE.to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("HTTP_ERROR")
            .to_ascii_uppercase()
            .replace([' ', '-'], "_"),
    }
}

/// The text of an HTTP-level refusal, saying what to change.
fn http_message(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "No endpoint at this path".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "This endpoint does not take this method (see the Allow header)".to_owned()
        }
        StatusCode::REQUEST_TIMEOUT => {
            "The request did not arrive in time; send it again".to_owned()
        }
        StatusCode::URI_TOO_LONG => "The request's URL is too long".to_owned(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "The request's headers are too large".to_owned()
        }
        _ => status
            .canonical_reason()
            .unwrap_or("The request was refused")
            .to_owned(),
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Internal(detail) | Self::UpstreamFailed(detail) => {
                write!(f, "{}: {detail}", self.code().as_str())
            }
            _ => write!(f, "{}: {}", self.code().as_str(), self.message()),
        }
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.into_dialect_response(Dialect::Chatbots)
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        Self::Internal(err.to_string())
    }
}

/// The JSON extractor's rejections, in our error shape with a text that says how to fix it.
impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        let text = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "Expected a JSON body with the header Content-Type: application/json".to_owned()
            }
            JsonRejection::JsonSyntaxError(_) => {
                format!(
                    "The request body is not valid JSON ({})",
                    rejection.body_text()
                )
            }
            JsonRejection::JsonDataError(_) => format!(
                "The request body must be an object like {{\"message\": \"Hello\"}} ({})",
                rejection.body_text()
            ),
            JsonRejection::BytesRejection(_) => {
                format!(
                    "The request body could not be read ({})",
                    rejection.body_text()
                )
            }
            _ => rejection.body_text(),
        };
        Self::InvalidRequest(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_from_the_protocol_codes() {
        let cases = [
            (AppError::InvalidApiKey, 401, "INVALID_API_KEY"),
            (AppError::BotNotFound, 404, "CHATBOT_NOT_FOUND"),
            (
                AppError::OriginNotAllowed {
                    origin: "https://x.test".into(),
                },
                403,
                "ORIGIN_NOT_ALLOWED",
            ),
            (AppError::InsufficientCredits, 402, "INSUFFICIENT_CREDITS"),
            (
                AppError::RateLimited { retry_after_s: 3 },
                429,
                "RATE_LIMIT_EXCEEDED",
            ),
            (AppError::InvalidRequest("x".into()), 400, "INVALID_REQUEST"),
            (AppError::Internal("disk full".into()), 500, "SERVER_ERROR"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status);
            assert_eq!(error.body().code, code);
            assert!(!error.body().success);
        }
        for (status, code) in [
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            (StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT"),
            (StatusCode::URI_TOO_LONG, "URI_TOO_LONG"),
            (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "HEADERS_TOO_LARGE",
            ),
            (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            (StatusCode::SERVICE_UNAVAILABLE, "SERVER_ERROR"),
        ] {
            let error = AppError::Http(status);
            assert_eq!(error.status(), status);
            assert_eq!(error.body().code, code);
        }
        assert_eq!(AppError::PayloadTooLarge.status().as_u16(), 413);
        let busy = AppError::ExtractorsBusy { retry_after_s: 10 };
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.body().code, "SERVER_ERROR");
        let response = busy.into_dialect_response(Dialect::Jelytech);
        assert_eq!(response.headers()[header::RETRY_AFTER], "10");
        assert!(!AppError::Internal("disk full".into())
            .message()
            .contains("disk"));
    }
}
