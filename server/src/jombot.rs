//! The jombot dialect's endpoint, `POST /v1/chat/message`: the bot named by the body's
//! `bot_id` answers `{"response","conversation_id","bot_id","timestamp","confidence",
//! "suggested_actions"}`, with the demo brain's quick replies and its match score squashed to
//! 0..1 as the confidence ([`crate::faq::confidence`]). Errors are our jombot shape
//! `{"error":{"code","message","retry_after"?}}` (see the protocol crate's
//! [`chat_widget_protocol::dialect::jombot`]); `user_id` and `context` are accepted and not
//! used.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::jombot::{ChatReply, ChatRequest};
use chat_widget_protocol::dialect::Dialect;

use crate::access::respond;
use crate::upstream::{self, SendFields, Sent};
use crate::{dates, AppState};

/// The handler. A body too broken to name a bot is refused with 400 after the key's checks.
pub async fn message(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Response {
    let (rate_limit, sent) =
        upstream::answer_send(&state, &headers, &caller, body, "bot_id", |request| {
            SendFields {
                bot_id: &request.bot_id,
                user_id: request.user_id.as_deref(),
                conversation_id: request.conversation_id.as_deref(),
                message: &request.message,
            }
        })
        .await;
    let result = async {
        let Sent {
            request,
            bot,
            answer,
            recorded,
        } = sent?;
        if let Some(user_id) = request.user_id.as_deref() {
            crate::webhooks::visitor_seen(
                &state.store,
                &bot.id,
                user_id,
                &recorded.conversation_id,
            )
            .await;
        }
        let reply = ChatReply {
            response: answer.text,
            conversation_id: recorded.conversation_id,
            bot_id: bot.id,
            timestamp: Some(dates::iso8601(recorded.created_at)),
            confidence: answer.confidence,
            suggested_actions: answer.suggested_actions,
        };
        Ok(Json(reply).into_response())
    }
    .await;
    respond(Dialect::Jombot, rate_limit, result)
}
