//! [`AppError`]: every way a request can fail, answered in the chatbots dialect's error shape
//! `{"success":false,"error":"<text>","code":"<CODE>","retryAfter"?}` with the vendor
//! document's texts. The body is encoded with the protocol crate's [`ErrorBody`], and the HTTP
//! status comes from its [`ErrorCode`], so the server and the widget's decoder cannot drift.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::chatbots::ErrorBody;
use chat_widget_protocol::ErrorCode;

use crate::store::StoreError;

/// The longest message a visitor may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// 401: no bearer key, an unknown one, or an inactive one.
    InvalidApiKey,
    /// 404: no such bot, or the key belongs to another bot (indistinguishable on purpose).
    BotNotFound,
    /// 403: the key does not allow the page's origin.
    OriginNotAllowed {
        /// The request's `Origin` header.
        origin: String,
    },
    /// 402: the bot has no credits left.
    InsufficientCredits,
    /// 429: the bot's rate limit is used up for this window.
    RateLimited {
        /// Seconds until the window ends (also sent as `Retry-After`).
        retry_after_s: u64,
    },
    /// 400: the body is not a valid chat request; the text says what is wrong.
    InvalidRequest(String),
    /// 500: something broke on our side; the detail goes to the log, not to the client.
    Internal(String),
}

impl AppError {
    /// The wire code, from the protocol crate.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidApiKey => ErrorCode::InvalidApiKey,
            Self::BotNotFound => ErrorCode::BotNotFound,
            Self::OriginNotAllowed { .. } => ErrorCode::OriginNotAllowed,
            Self::InsufficientCredits => ErrorCode::InsufficientCredits,
            Self::RateLimited { .. } => ErrorCode::RateLimitExceeded,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::Internal(_) => ErrorCode::Server,
        }
    }

    /// The HTTP status the protocol crate assigns to the code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The human-readable text (the vendor document's wording where it has one).
    pub fn message(&self) -> String {
        match self {
            Self::InvalidApiKey => "Invalid or inactive API key".to_owned(),
            Self::BotNotFound => "Chatbot not found or access denied".to_owned(),
            Self::OriginNotAllowed { origin } => {
                format!("Origin {origin} is not allowed to use this API key")
            }
            Self::InsufficientCredits => {
                "Insufficient credits to generate AI response. Please upgrade your plan.".to_owned()
            }
            Self::RateLimited { .. } => {
                "Rate limit exceeded. Please wait before sending another message.".to_owned()
            }
            Self::InvalidRequest(text) => text.clone(),
            Self::Internal(_) => "Internal server error. Please try again later.".to_owned(),
        }
    }

    /// The body, as the protocol crate encodes it.
    pub fn body(&self) -> ErrorBody {
        let retry_after = match self {
            Self::RateLimited { retry_after_s } => Some(*retry_after_s),
            _ => None,
        };
        ErrorBody::new(&self.code(), self.message(), retry_after)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Internal(detail) => write!(f, "{}: {detail}", self.code().as_str()),
            _ => write!(f, "{}: {}", self.code().as_str(), self.message()),
        }
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            eprintln!("chat-widget-server: internal error: {detail}");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Self::RateLimited { retry_after_s } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        response
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
        assert!(!AppError::Internal("disk full".into())
            .message()
            .contains("disk"));
    }
}
