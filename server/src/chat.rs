//! The chatbots dialect's chat endpoint, `POST /api/v1/chatbots/{chatbotId}/chat`: checks the
//! key, the bot, the origin, the rate limit ([`crate::access`]), the body and the credits and
//! monthly quota (in that order), asks the
//! demo bot's brain, stores the exchange and answers, as JSON or, when the request's `stream`
//! (or else the bot's default) asks for it, as Server-Sent Events ([`crate::sse`]). Every
//! failure is decided before a stream starts, so it is always a JSON error with its status.
//! Every response, success or error, streamed or not, carries the `X-RateLimit-*` headers.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::chatbots::{ChatData, ChatRequest, ChatSuccess};

use crate::access::{self, admit, check_message, Admitted, BotChoice, Counting};
use crate::error::AppError;
use crate::faq::{self, Answer};
use crate::rate_limit::RateLimitStatus;
use crate::store::Bot;
use crate::{sse, upstream, AppState};

/// The handler. Extraction cannot fail here: path and body rejections are turned into
/// [`AppError`]s inside, after the key check, so they too get our error shape and headers.
pub async fn chat(
    State(state): State<AppState>,
    bot_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Response {
    // A bot id that is not valid UTF-8 names no bot; the empty id is never a bot either.
    let bot_id = bot_id.map(|Path(id)| id).unwrap_or_default();
    let (rate_limit, result) = handle(&state, &bot_id, &headers, &caller, body).await;
    (rate_limit, result).into_response()
}

async fn handle(
    state: &AppState,
    bot_id: &str,
    headers: &HeaderMap,
    caller: &crate::caller::Caller,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> (RateLimitStatus, Result<Response, AppError>) {
    let visitor = body
        .as_ref()
        .ok()
        .and_then(|Json(request)| request.conversation_id.clone());
    let (rate_limit, admitted) = admit(
        state,
        headers,
        caller,
        BotChoice::Named(bot_id),
        Counting::Count,
        visitor.as_deref(),
    )
    .await;
    let result = async {
        let Admitted {
            bot, has_upstream, ..
        } = admitted?;
        let request = validate(body?)?;
        reply(state, &bot, has_upstream, request).await
    }
    .await;
    (rate_limit, result)
}

/// A chat request the bot can answer: a message with something in it, not too long.
fn validate(Json(mut request): Json<ChatRequest>) -> Result<ChatRequest, AppError> {
    check_message(&request.message, "message")?;
    request.conversation_id = access::conversation_id(request.conversation_id);
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

/// `has_upstream`: whether the bot has an AI upstream (read with the bot: a bot without one
/// costs no extra read).
async fn reply(
    state: &AppState,
    bot: &Bot,
    has_upstream: bool,
    request: ChatRequest,
) -> Result<Response, AppError> {
    if bot.credits == Some(0) {
        return Err(AppError::InsufficientCredits);
    }
    let format = ReplyFormat::choose(request.stream, bot.stream_default);
    let settings = match has_upstream {
        true => upstream::settings(&state.store, &bot.id).await?,
        false => None,
    };
    if let Some(settings) = settings {
        return upstream_reply(state, bot, &request, &settings, format).await;
    }
    let answer = faq::answer(&state.store, &bot.id, &bot.name, &request.message).await?;
    match format {
        ReplyFormat::Json => json_reply(state, bot, &request, answer).await,
        ReplyFormat::EventStream => stream_reply(state, bot, &request, answer).await,
    }
}

/// The reply of a bot with an AI upstream: its deltas as they arrive (SSE), or collected (JSON).
async fn upstream_reply(
    state: &AppState,
    bot: &Bot,
    request: &ChatRequest,
    settings: &upstream::Settings,
    format: ReplyFormat,
) -> Result<Response, AppError> {
    let conversation_id = request.conversation_id.as_deref();
    match format {
        ReplyFormat::Json => {
            let collected = upstream::answer_collected(
                state,
                bot,
                settings,
                conversation_id,
                &request.message,
                None,
            )
            .await?;
            let data = ChatData {
                response: collected.text,
                conversation_id: collected.exchange.conversation_id,
                message_id: Some(collected.exchange.reply_message_id),
                suggested_actions: Vec::new(),
            };
            Ok(Json(ChatSuccess::new(data)).into_response())
        }
        ReplyFormat::EventStream => {
            let started = upstream::begin(
                state,
                bot,
                settings,
                conversation_id,
                &request.message,
                None,
            )
            .await?;
            Ok(sse::respond_upstream(
                state,
                started,
                sse::StreamFormat::Chatbots,
            ))
        }
    }
}

/// `200 {"success":true,"data":{...}}`, encoded with the protocol crate's types, after storing
/// the exchange.
async fn json_reply(
    state: &AppState,
    bot: &Bot,
    request: &ChatRequest,
    answer: Answer,
) -> Result<Response, AppError> {
    // Another request may have spent the last credit since we looked.
    let recorded = access::record_exchange(
        state,
        bot,
        request.conversation_id.as_deref(),
        &request.message,
        &answer.text,
    )
    .await?;
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
async fn stream_reply(
    state: &AppState,
    bot: &Bot,
    request: &ChatRequest,
    answer: Answer,
) -> Result<Response, AppError> {
    let exchange = access::outcome(
        state
            .store
            .begin_streamed_exchange(
                &bot.id,
                request.conversation_id.as_deref(),
                &request.message,
            )
            .await?,
    )?;
    Ok(sse::respond(state, &bot.id, exchange, answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MAX_MESSAGE_CHARS;

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
