//! The chatbots dialect's chat endpoint, `POST /api/v1/chatbots/{chatbotId}/chat`: checks the
//! key, the bot, the origin, the rate limit, the body and the credits (in that order), asks the
//! demo bot's brain, stores the exchange and answers, as JSON or, when the request's `stream`
//! (or else the bot's default) asks for it, as Server-Sent Events ([`crate::sse`]). Every
//! failure is decided before a stream starts, so it is always a JSON error with its status.
//! Every response, success or error, streamed or not, carries the `X-RateLimit-*` headers.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::chatbots::{ChatData, ChatRequest, ChatSuccess};

use crate::error::{AppError, MAX_MESSAGE_CHARS};
use crate::faq::Answer;
use crate::rate_limit::{Decision, RateLimitStatus};
use crate::store::{ApiKey, Bot, ExchangeOutcome, DEFAULT_RATE_LIMIT};
use crate::{sse, AppState};

/// The handler. Extraction cannot fail here: path and body rejections are turned into
/// [`AppError`]s inside, after the key check, so they too get our error shape and headers.
pub async fn chat(
    State(state): State<AppState>,
    bot_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Response {
    // A bot id that is not valid UTF-8 names no bot; the empty id is never a bot either.
    let bot_id = bot_id.map(|Path(id)| id).unwrap_or_default();
    let (rate_limit, result) = handle(&state, &bot_id, &headers, body);
    (rate_limit, result).into_response()
}

fn handle(
    state: &AppState,
    bot_id: &str,
    headers: &HeaderMap,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> (RateLimitStatus, Result<Response, AppError>) {
    let now = state.now_unix();
    let bot = match state.store.bot(bot_id) {
        Ok(bot) => bot,
        Err(err) => {
            return (
                state.limiter.peek(bot_id, DEFAULT_RATE_LIMIT, now),
                Err(err.into()),
            )
        }
    };
    let limit = bot
        .as_ref()
        .map_or(DEFAULT_RATE_LIMIT, |bot| bot.rate_limit_per_minute);
    // Refused before counting: report the window without using it up.
    let refuse = |err: AppError| (state.limiter.peek(bot_id, limit, now), Err(err));

    let key = match authenticate(state, headers) {
        Ok(key) => key,
        Err(err) => return refuse(err),
    };
    let Some(bot) = bot.filter(|bot| bot.id == key.bot_id) else {
        return refuse(AppError::BotNotFound);
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if !key.allowed_origins.allows(&origin) {
            return refuse(AppError::OriginNotAllowed {
                origin: origin.into_owned(),
            });
        }
    }
    let rate_limit = match state.limiter.check(&bot.id, limit, now) {
        Decision::Allowed(status) => status,
        Decision::Limited {
            status,
            retry_after_s,
        } => return (status, Err(AppError::RateLimited { retry_after_s })),
    };
    let result = body
        .map_err(AppError::from)
        .and_then(validate)
        .and_then(|request| reply(state, &bot, request));
    (rate_limit, result)
}

/// The `Authorization: Bearer <key>` key, if it exists and is active.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<ApiKey, AppError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme, key) = value.trim().split_once(' ').unwrap_or(("", ""));
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
        return Err(AppError::InvalidApiKey);
    }
    match state.store.key(key)? {
        Some(key) if key.active => Ok(key),
        _ => Err(AppError::InvalidApiKey),
    }
}

/// A chat request the bot can answer: a message with something in it, not too long.
fn validate(Json(mut request): Json<ChatRequest>) -> Result<ChatRequest, AppError> {
    if request.message.trim().is_empty() {
        return Err(AppError::InvalidRequest(
            "The \"message\" field must not be empty".to_owned(),
        ));
    }
    let chars = request.message.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(AppError::InvalidRequest(format!(
            "The \"message\" field is too long: {chars} characters, at most {MAX_MESSAGE_CHARS} are allowed"
        )));
    }
    if request
        .conversation_id
        .as_deref()
        .is_some_and(|id| id.trim().is_empty())
    {
        request.conversation_id = None;
    }
    Ok(request)
}

/// How the reply travels, chosen from the request's `stream` or else the bot's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyFormat {
    Json,
    EventStream,
}

impl ReplyFormat {
    fn choose(requested: Option<bool>, bot_default: bool) -> Self {
        if requested.unwrap_or(bot_default) {
            Self::EventStream
        } else {
            Self::Json
        }
    }
}

fn reply(state: &AppState, bot: &Bot, request: ChatRequest) -> Result<Response, AppError> {
    if bot.credits == Some(0) {
        return Err(AppError::InsufficientCredits);
    }
    let answer = state.faq.answer(&request.message, &bot.name);
    match ReplyFormat::choose(request.stream, bot.stream_default) {
        ReplyFormat::Json => json_reply(state, bot, &request, answer),
        ReplyFormat::EventStream => stream_reply(state, bot, &request, answer),
    }
}

/// `200 {"success":true,"data":{...}}`, encoded with the protocol crate's types, after storing
/// the exchange.
fn json_reply(
    state: &AppState,
    bot: &Bot,
    request: &ChatRequest,
    answer: Answer,
) -> Result<Response, AppError> {
    let recorded = match state.store.record_exchange(
        &bot.id,
        request.conversation_id.as_deref(),
        &request.message,
        &answer.text,
    )? {
        ExchangeOutcome::Recorded(recorded) => recorded,
        // Another request spent the last credit since we looked.
        ExchangeOutcome::NoCredits => return Err(AppError::InsufficientCredits),
    };
    let data = ChatData {
        response: answer.text,
        conversation_id: recorded.conversation_id,
        message_id: Some(recorded.reply_message_id),
        suggested_actions: answer.suggested_actions,
    };
    Ok(Json(ChatSuccess::new(data)).into_response())
}

/// `200 text/event-stream`: the visitor's message is stored and the credit spent now; the
/// stream stores the reply as it goes ([`crate::sse`]).
fn stream_reply(
    state: &AppState,
    bot: &Bot,
    request: &ChatRequest,
    answer: Answer,
) -> Result<Response, AppError> {
    let exchange = match state.store.begin_streamed_exchange(
        &bot.id,
        request.conversation_id.as_deref(),
        &request.message,
    )? {
        ExchangeOutcome::Recorded(exchange) => exchange,
        ExchangeOutcome::NoCredits => return Err(AppError::InsufficientCredits),
    };
    Ok(sse::respond(state, &bot.id, exchange, answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_chooses_the_format_and_the_bot_default_fills_in() {
        assert_eq!(
            ReplyFormat::choose(Some(true), false),
            ReplyFormat::EventStream
        );
        assert_eq!(ReplyFormat::choose(Some(false), true), ReplyFormat::Json);
        assert_eq!(ReplyFormat::choose(None, true), ReplyFormat::EventStream);
        assert_eq!(ReplyFormat::choose(None, false), ReplyFormat::Json);
    }

    #[test]
    fn messages_must_have_content_and_fit() {
        let request = |message: &str| {
            Json(ChatRequest {
                message: message.into(),
                ..Default::default()
            })
        };
        assert!(validate(request("hi")).is_ok());
        for bad in ["", "   \n\t "] {
            assert!(
                matches!(validate(request(bad)), Err(AppError::InvalidRequest(_))),
                "{bad:?}"
            );
        }
        assert!(validate(request(&"é".repeat(MAX_MESSAGE_CHARS))).is_ok());
        assert!(validate(request(&"a".repeat(MAX_MESSAGE_CHARS + 1))).is_err());
        let blank_id = Json(ChatRequest {
            message: "hi".into(),
            conversation_id: Some(" ".into()),
            ..Default::default()
        });
        assert_eq!(validate(blank_id).map(|r| r.conversation_id), Ok(None));
    }
}
