//! One module per vendor wire format. Only these modules know a wire shape; everything else
//! sees [`crate::model`]. Each module has the request body the widget sends, the reply and
//! error bodies the server answers with, and `decode_*` functions from bytes to the model.
//! The reference server encodes with the same types, so a round-trip test catches drift.

pub mod chatbots;

use crate::model::{ApiError, ErrorCode, ResponseMeta};

/// The error for a response whose status says failure but whose body says nothing usable
/// (an HTML page from a proxy, an empty body): named from the status alone.
pub fn error_from_status(meta: &ResponseMeta, detail: &str) -> ApiError {
    let code = match meta.status {
        401 => ErrorCode::InvalidApiKey,
        402 => ErrorCode::InsufficientCredits,
        403 => ErrorCode::QuotaExceeded,
        404 => ErrorCode::BotNotFound,
        400 | 422 => ErrorCode::InvalidRequest,
        429 => ErrorCode::RateLimitExceeded,
        500..=599 => ErrorCode::Server,
        _ => ErrorCode::MalformedResponse,
    };
    ApiError {
        code,
        message: format!("HTTP {} {detail}", meta.status),
        http_status: Some(meta.status),
        retry_after_s: meta.header_retry_after_s().filter(|_| meta.status == 429 || meta.status == 503),
    }
}
