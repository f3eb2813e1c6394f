//! The openai dialect's endpoint, `POST /v1/chat/completions`: the bot is the `model`, and it
//! answers the last `user` message of the history the client sends (the demo brain has no use
//! for the rest). `stream: true` answers `chat.completion.chunk` events ending with
//! `data: [DONE]` ([`crate::sse`]); otherwise (the default, as with OpenAI; the bot's own
//! streaming default is not used here) one `chat.completion` JSON object whose `usage` counts
//! words. Errors are OpenAI's `{"error":{"message","type","param","code"}}`.
//!
//! The dialect has no conversation id, so each completion is stored as a new conversation of
//! two messages: the last user message and the reply. The completion's id is
//! `chatcmpl-<reply message id>`.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::openai::{
    Choice, Completion, CompletionMessage, CompletionRequest, Role, Usage,
};
use chat_widget_protocol::dialect::Dialect;

use crate::access::{self, admit, check_message, respond, Admitted, BotChoice, Counting};
use crate::error::AppError;
use crate::sse::{self, StreamFormat};
use crate::AppState;

/// The handler.
pub async fn completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
    body: Result<Json<CompletionRequest>, JsonRejection>,
) -> Response {
    let model = access::bot_named_in(&body, |request| &request.model);
    let choice = BotChoice::from_body(model.as_deref());
    let (rate_limit, admitted) =
        admit(&state, &headers, &caller, choice, Counting::Count, None).await;
    let result = async {
        let Admitted {
            bot, has_upstream, ..
        } = admitted?;
        let Json(request) = body?;
        let Some(model) = model else {
            return Err(AppError::InvalidRequest(
                "The \"model\" field must name a bot".to_owned(),
            ));
        };
        let Some(question) = request
            .messages
            .iter()
            .rev()
            .find(|turn| turn.role == Role::User)
        else {
            return Err(AppError::InvalidRequest(
                "The \"messages\" field must contain a message with the role \"user\"".to_owned(),
            ));
        };
        check_message(&question.content, "messages[].content")?;
        let settings = match has_upstream {
            true => crate::upstream::settings(&state.store, &bot.id).await?,
            false => None,
        };
        if let Some(settings) = settings {
            let created = state.now_unix();
            let turns = Some(crate::upstream::client_turns(&request.messages));
            if request.stream {
                let started =
                    crate::upstream::begin(&state, &bot, &settings, None, &question.content, turns)
                        .await?;
                let format = StreamFormat::Openai {
                    completion_id: completion_id(&started.exchange.reply_message_id),
                    model,
                    created,
                };
                return Ok(sse::respond_upstream(&state, started, format));
            }
            let collected = crate::upstream::answer_collected(
                &state,
                &bot,
                &settings,
                None,
                &question.content,
                turns,
            )
            .await?;
            // The upstream's own count when it gave one (its prompt included the system
            // message and passages), else words.
            let completion_tokens = words(&collected.text);
            let prompt_tokens = match collected.usage {
                Some(total) => total.saturating_sub(completion_tokens),
                None => request
                    .messages
                    .iter()
                    .map(|turn| words(&turn.content))
                    .sum(),
            };
            let usage = Usage {
                prompt_tokens,
                completion_tokens,
                total_tokens: prompt_tokens + completion_tokens,
            };
            return Ok(Json(completion(
                &collected.exchange.reply_message_id,
                created,
                model,
                collected.text,
                usage,
            ))
            .into_response());
        }
        let answer =
            crate::faq::answer(&state.store, &bot.id, &bot.name, &question.content).await?;
        let created = state.now_unix();
        if request.stream {
            let exchange = access::outcome(
                state
                    .store
                    .begin_streamed_exchange(&bot.id, None, &question.content)
                    .await?,
            )?;
            let format = StreamFormat::Openai {
                completion_id: completion_id(&exchange.reply_message_id),
                model,
                created,
            };
            return Ok(sse::respond_as(&state, &bot.id, exchange, answer, format));
        }
        let recorded =
            access::record_exchange(&state, &bot, None, &question.content, &answer.text).await?;
        let prompt_tokens = request
            .messages
            .iter()
            .map(|turn| words(&turn.content))
            .sum();
        let completion_tokens = words(&answer.text);
        let usage = Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        };
        let completion = completion(
            &recorded.reply_message_id,
            created,
            model,
            answer.text,
            usage,
        );
        Ok(Json(completion).into_response())
    }
    .await;
    respond(Dialect::Openai, rate_limit, result)
}

/// A `chat.completion` object with one choice.
fn completion(
    reply_message_id: &str,
    created: u64,
    model: String,
    text: String,
    usage: Usage,
) -> Completion {
    Completion {
        id: completion_id(reply_message_id),
        object: "chat.completion".to_owned(),
        created: Some(created),
        model: Some(model),
        choices: vec![Choice {
            index: 0,
            message: CompletionMessage {
                role: Role::Assistant,
                content: Some(text),
            },
            finish_reason: Some("stop".to_owned()),
        }],
        usage: Some(usage),
    }
}

fn completion_id(reply_message_id: &str) -> String {
    format!("chatcmpl-{reply_message_id}")
}

/// Words, standing in for tokens.
fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}
