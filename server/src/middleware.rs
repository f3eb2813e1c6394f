//! What every request goes through, around the routes of [`crate::app`], from the outside in:
//!
//! * **Request id.** Each request gets a new id (a UUID; one the client sent is replaced, so a
//!   log never carries text a client chose there), echoed in the response's `X-Request-Id`.
//! * **One log line per request** ([`trace_layer`]), written when the response's head goes out:
//!   the id, method, path (never the query), status and latency. Nothing from headers or
//!   bodies, so no key, token or message text reaches the log.
//! * **JSON errors** ([`json_errors`]): an error that the framework or a layer answered with an
//!   empty body (no route: 404, wrong method: 405, request timeout: 408...) gets a JSON body in
//!   the shape of the dialect that the path names ([`dialect_of_path`]), the chatbots shape
//!   otherwise, keeping its status and headers (`Allow` on a 405).
//! * **Size limits on the head** ([`head_limits`]): a URI over [`MAX_URI_BYTES`] is answered
//!   414 and headers over [`MAX_HEADER_BYTES`] 431, as JSON. (Heads far beyond these, over
//!   hyper's own buffer, are refused by hyper before any of this runs, with an empty body.)
//! * **Request timeout**: the body must have arrived and the answer begun within the server's
//!   request timeout ([`crate::AppState::request_timeout`]), else 408 (tower-http's
//!   `TimeoutLayer`, made JSON by [`json_errors`]). Streams are not cut: the timeout ends when
//!   the response's head is ready.
//!
//! Logging itself (text or JSON lines on stderr) is set up by [`init_logging`].

use axum::extract::Request;
use axum::http::{header, HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chat_widget_protocol::dialect::{self, Dialect};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

use crate::cli::LogFormat;
use crate::error::AppError;

/// The header that carries a request's id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request target (path and query) answered; longer ones get 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most header bytes (names and values) a request may carry; more get 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The dialect whose error shape a path's errors take: the one whose endpoints live under it,
/// the chatbots dialect for every other path.
pub fn dialect_of_path(path: &str) -> Dialect {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under("/api/v1/chatbots") {
        Dialect::Chatbots
    } else if under(dialect::chataibot::START_PATH) || under("/api/v1/conversation") {
        Dialect::Chataibot
    } else if under(dialect::openai::CHAT_COMPLETIONS_PATH) {
        Dialect::Openai
    } else if under(dialect::jombot::CHAT_PATH) {
        Dialect::Jombot
    } else if under("/v1/chat") || under(dialect::jelytech::BOTS_PATH) {
        Dialect::Jelytech
    } else {
        Dialect::Chatbots
    }
}

/// Gives a bodiless error response a JSON body in the path's dialect (see the module docs).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let dialect = dialect_of_path(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (mut parts, _empty) = response.into_parts();
    let (json_parts, body) = AppError::Http(status)
        .into_dialect_response(dialect)
        .into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, body)
}

/// Refuses a request whose URI or headers are too large (see the module docs).
pub async fn head_limits(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    let status = if target > MAX_URI_BYTES {
        Some(StatusCode::URI_TOO_LONG)
    } else if request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum::<usize>()
        > MAX_HEADER_BYTES
    {
        Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    } else {
        None
    };
    match status {
        Some(status) => {
            AppError::Http(status).into_dialect_response(dialect_of_path(request.uri().path()))
        }
        None => next.run(request).await,
    }
}

/// Replaces whatever `X-Request-Id` the client sent: the server makes its own.
pub fn forget_client_request_id(mut request: Request) -> Request {
    request.headers_mut().remove(REQUEST_ID);
    request
}

/// The [`TraceLayer`] of [`trace_layer`].
pub type RequestTraceLayer = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request) -> tracing::Span,
    (),
    DefaultOnResponse,
    (),
    (),
    (),
>;

/// The per-request log line: a span with the request's id, method and path, and one event at
/// INFO when the response's head is ready, with its status and latency in milliseconds.
pub fn trace_layer() -> RequestTraceLayer {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request) -> tracing::Span)
        .on_request(())
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        )
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// Sends log lines to stderr (stdout carries the lines scripts read: address, bot, key), at
/// the level `RUST_LOG` asks for, INFO by default, as text or as JSON lines. Safe to call
/// twice (the second call changes nothing).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_the_dialect_of_its_errors() {
        for (path, dialect) in [
            ("/api/v1/chatbots/demo/chat", Dialect::Chatbots),
            ("/api/v1/chatbots/demo/nope", Dialect::Chatbots),
            ("/api/v1/conversations", Dialect::Chataibot),
            ("/api/v1/conversation/c1/messages", Dialect::Chataibot),
            ("/v1/chat/completions", Dialect::Openai),
            ("/v1/chat/message", Dialect::Jombot),
            ("/v1/chat/send", Dialect::Jelytech),
            ("/v1/chat/history/c1", Dialect::Jelytech),
            ("/v1/bots/demo/analytics", Dialect::Jelytech),
            ("/v1/chat/messages", Dialect::Jelytech),
            ("/v1/botsx", Dialect::Chatbots),
            ("/nothing", Dialect::Chatbots),
            ("/", Dialect::Chatbots),
        ] {
            assert_eq!(dialect_of_path(path), dialect, "{path}");
        }
    }
}
