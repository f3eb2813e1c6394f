//! The jelytech dialect's endpoints, below `/v1`. Errors are
//! `{"success":false,"error":{"code","message","statusCode"}}` with the document's texts.
//!
//! * `POST /v1/chat/send`: the bot named by `botId` answers `{"success":true,"response",
//!   "conversationId","messageId","timestamp"}` (plus our `suggested_actions` when the answer
//!   has quick replies).
//! * `GET /v1/chat/history/{conversationId}`: the conversation's messages, oldest first, for
//!   the key's own bot only (another bot's conversation or an unknown one is 404
//!   `CONVERSATION_NOT_FOUND`). A streamed reply that has not sent a word yet is left out; one
//!   cut off mid-way is included with what was sent and `"partial": true`.
//! * `POST /v1/bots` (needs the server's admin token as the bearer, `--admin-token`; any
//!   publishable key is refused, as a page's key must not create bots): creates a bot and its
//!   publishable key and answers 201 with the document's shape plus our `publishableKey`. The
//!   `name` is required; `greeting`, `primaryColor` (`#rgb` or `#rrggbb`) and `position`
//!   (`bottom-right` or `bottom-left`) are optional and default like the admin command's.
//! * `GET /v1/bots/{botId}` (ours; the bot's own key or the admin token): the created shape
//!   with `description` and `configuration: {greeting, theme: {primaryColor, position}}`
//!   inside `bot`.
//! * `GET /v1/bots/{botId}/analytics?startDate&endDate&metrics` (the bot's own key or the
//!   admin token): figures computed from the stored messages ([`analytics`]).
//!
//! Training documents (`/v1/bots/{botId}/train`, `/v1/bots/{botId}/documents`) are in
//! [`crate::training`].
//!
//! Reads are not counted against the rate limit; bot creation is counted in a window of its
//! own ([`ADMIN_BUCKET`]).

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::jelytech::{
    Analytics, AnalyticsReply, BotInfo, BotReply, Configuration, CreateBotRequest, HistoryMessage,
    HistoryReply, Role, SendReply, SendRequest, Theme, METRICS,
};
use chat_widget_protocol::dialect::Dialect;

use crate::access::{self, admit, query_param, respond, BotChoice, Counting};
use crate::error::AppError;
use crate::paging::{self, PageRequest};
use crate::rate_limit::{self, Decision, RateLimitStatus};
use crate::store::{self, Bot, NewBot, StoredMessage, DEFAULT_RATE_LIMIT};
use crate::upstream::{self, SendFields};
use crate::{dates, ids, AppState};

/// The rate-limit window that bot creation is counted in (no bot id can contain a space).
pub const ADMIN_BUCKET: &str = " admin";

/// The longest bot name, greeting and description accepted, in characters.
const MAX_TEXT_CHARS: usize = 500;

/// `POST /v1/chat/send`.
pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Response {
    let (rate_limit, sent) =
        upstream::answer_send(&state, &headers, &caller, body, "botId", |request| {
            SendFields {
                bot_id: &request.bot_id,
                user_id: request.user_id.as_deref(),
                conversation_id: request.conversation_id.as_deref(),
                message: &request.message,
            }
        })
        .await;
    let result = sent.map(|sent| {
        Json(SendReply {
            success: true,
            response: sent.answer.text,
            conversation_id: sent.recorded.conversation_id,
            message_id: Some(sent.recorded.reply_message_id),
            timestamp: Some(dates::iso8601(sent.recorded.created_at)),
            suggested_actions: sent.answer.suggested_actions,
        })
        .into_response()
    });
    respond(Dialect::Jelytech, rate_limit, result)
}

/// `GET /v1/chat/history/{conversationId}?limit&before&after`: a page of the conversation's
/// messages, oldest first; the latest page without a cursor ([`paging`]), with `hasMore` and a
/// `Link` header when there is more.
pub async fn history(
    State(state): State<AppState>,
    conversation_id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    caller: crate::caller::Caller,
) -> Response {
    let conversation_id = conversation_id.map(|Path(id)| id).unwrap_or_default();
    let (rate_limit, admitted) = admit(
        &state,
        &headers,
        &caller,
        BotChoice::KeysBot,
        Counting::Peek,
        Some(&conversation_id),
    )
    .await;
    let result = async {
        let admitted = admitted?;
        let owner = state.store.conversation_bot(&conversation_id).await?;
        if owner.as_deref() != Some(admitted.bot.id.as_str()) {
            return Err(AppError::ConversationNotFound);
        }
        let request = PageRequest::from_query(uri.query().unwrap_or(""), None)?;
        let page = state
            .store
            .messages_page(&conversation_id, &request.cursor, request.limit)
            .await?
            .ok_or_else(paging::unknown_before)?;
        let stored = page.messages.len();
        let visible: Vec<StoredMessage> = page
            .messages
            .into_iter()
            .filter(StoredMessage::is_visible)
            .collect();
        // A reply still being written (nothing sent yet) is left out: newer messages exist.
        let newer = page.newer || visible.len() < stored;
        let (link, has_more) = request.describe(
            visible.first().map(|m| m.id.as_str()),
            page.older,
            visible.last().map(|m| m.id.as_str()),
            newer,
        );
        let reply = PagedHistory {
            reply: HistoryReply {
                success: true,
                conversation_id,
                messages: visible.into_iter().map(history_message).collect(),
            },
            has_more,
        };
        let mut response = Json(reply).into_response();
        if let Some(link) = link {
            response.headers_mut().insert(header::LINK, link);
        }
        Ok(response)
    }
    .await;
    respond(Dialect::Jelytech, rate_limit, result)
}

/// The history reply with whether there is more in the page's direction ([`paging`]).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PagedHistory {
    #[serde(flatten)]
    reply: HistoryReply,
    /// Only when true: otherwise the body is exactly the vendor's shape.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    has_more: bool,
}

fn history_message(message: StoredMessage) -> HistoryMessage {
    HistoryMessage {
        id: message.id,
        role: match message.role {
            store::Role::User => Role::User,
            store::Role::Assistant => Role::Assistant,
        },
        content: message.content,
        timestamp: Some(dates::iso8601(message.created_at)),
        partial: !message.complete,
    }
}

/// `POST /v1/bots`.
pub async fn create_bot(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    if !access::admin_admitted(&state, &headers, &caller).await {
        // A wrong (or missing) token counts against the address like a wrong key, so the
        // admin token cannot be guessed here at the network's speed.
        let failures = crate::caller::ip_scope(&caller);
        if let Ok(Decision::Limited {
            status,
            retry_after_s,
        }) = access::check_rate(&state, &failures, access::KEY_FAILURES_PER_WINDOW).await
        {
            return respond(
                Dialect::Jelytech,
                status,
                Err(AppError::RateLimited { retry_after_s }),
            );
        }
        let rate_limit = access::peek_status(&state, ADMIN_BUCKET, DEFAULT_RATE_LIMIT).await;
        return respond(
            Dialect::Jelytech,
            rate_limit,
            Err(AppError::AdminTokenRequired),
        );
    }
    let rate_limit = match access::check_rate(&state, ADMIN_BUCKET, DEFAULT_RATE_LIMIT).await {
        Err(err) => {
            let status = access::peek_status(&state, ADMIN_BUCKET, DEFAULT_RATE_LIMIT).await;
            return respond(Dialect::Jelytech, status, Err(err));
        }
        Ok(Decision::Allowed(status)) => status,
        Ok(Decision::Limited {
            status,
            retry_after_s,
        }) => {
            return respond(
                Dialect::Jelytech,
                status,
                Err(AppError::RateLimited { retry_after_s }),
            )
        }
    };
    let result = async {
        let Json(value) = body?;
        let upstream = upstream_configuration(&value)?;
        let request: CreateBotRequest = serde_json::from_value(value).map_err(|err| {
            AppError::InvalidRequest(format!(
                "The request body must be an object like {{\"name\": \"Support\"}} ({err})"
            ))
        })?;
        let new = new_bot(request)?;
        {
            let (bot, key) = state.store.create_bot_with(&new).await?;
            if let Some(upstream) = &upstream {
                crate::upstream::set_settings(&state.store, &bot.id, Some(upstream)).await?;
            }
            let reply = BotReply {
                success: true,
                bot: BotInfo {
                    id: bot.id.clone(),
                    name: bot.name,
                    status: "active".to_owned(),
                    created_at: Some(dates::iso8601(bot.created_at)),
                    description: None,
                    configuration: None,
                },
                publishable_key: Some(key.key),
            };
            Ok((StatusCode::CREATED, Json(reply)).into_response())
        }
    }
    .await;
    respond(Dialect::Jelytech, rate_limit, result)
}

/// `configuration.upstream` of a creation request (ours): the bot's AI model, in the shape of
/// [`crate::upstream::from_json`].
fn upstream_configuration(
    body: &serde_json::Value,
) -> Result<Option<crate::upstream::Settings>, AppError> {
    match body
        .get("configuration")
        .and_then(|c| c.get("upstream"))
        .filter(|u| !u.is_null())
    {
        None => Ok(None),
        Some(upstream) => crate::upstream::from_json(upstream)
            .map(Some)
            .map_err(|text| AppError::InvalidRequest(format!("configuration.upstream: {text}"))),
    }
}

/// A creation request as a bot to store, or what is wrong with it.
fn new_bot(request: CreateBotRequest) -> Result<NewBot, AppError> {
    let invalid = |text: String| Err(AppError::InvalidRequest(text));
    let name = request.name.trim();
    if name.is_empty() {
        return invalid("The \"name\" field must not be empty".to_owned());
    }
    let configuration = request.configuration;
    let theme = configuration.theme.unwrap_or_default();
    for (field, text) in [
        ("name", name),
        ("description", request.description.as_str()),
        (
            "configuration.greeting",
            configuration.greeting.as_deref().unwrap_or(""),
        ),
    ] {
        if text.chars().count() > MAX_TEXT_CHARS {
            return invalid(format!(
                "The \"{field}\" field is too long: at most {MAX_TEXT_CHARS} characters are allowed"
            ));
        }
    }
    let id = format!(
        "bot_{}",
        ids::random_hex(16).map_err(store::StoreError::from)?
    );
    let mut new = NewBot::new(&id, name);
    new.description = request.description.trim().to_owned();
    if let Some(greeting) = configuration.greeting.filter(|g| !g.trim().is_empty()) {
        new.greeting = greeting.trim().to_owned();
    }
    if let Some(color) = theme.primary_color {
        match hex_color(&color) {
            Some(color) => new.primary_color = color,
            None => {
                return invalid(format!(
                    "The \"configuration.theme.primaryColor\" field must be a colour like #007bff, not {color:?}"
                ))
            }
        }
    }
    if let Some(position) = theme.position {
        match position.trim().to_ascii_lowercase().as_str() {
            "bottom-right" | "right" => new.position = "bottom-right".to_owned(),
            "bottom-left" | "left" => new.position = "bottom-left".to_owned(),
            _ => {
                return invalid(format!(
                    "The \"configuration.theme.position\" field must be \"bottom-right\" or \"bottom-left\", not {position:?}"
                ))
            }
        }
    }
    Ok(new)
}

/// `#rgb` or `#rrggbb` (the `#` optional), lower-cased with its `#`.
fn hex_color(text: &str) -> Option<String> {
    let hex = text.trim().trim_start_matches('#');
    ((hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("#{}", hex.to_ascii_lowercase()))
}

/// `GET /v1/bots/{botId}`.
pub async fn read_bot(
    State(state): State<AppState>,
    bot_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
) -> Response {
    let bot_id = bot_id.map(|Path(id)| id).unwrap_or_default();
    let (rate_limit, bot) = bot_for_read(&state, &headers, &caller, &bot_id).await;
    let result = async {
        let bot = bot?;
        let active = state
            .store
            .first_key(&bot.id)
            .await?
            .is_some_and(|key| key.active);
        Ok(Json(bot_reply(bot, active)).into_response())
    }
    .await;
    respond(Dialect::Jelytech, rate_limit, result)
}

/// The bot a read is about: with the admin token any bot, else the key's own (as [`admit`]
/// checks it, not counted).
async fn bot_for_read(
    state: &AppState,
    headers: &HeaderMap,
    caller: &crate::caller::Caller,
    bot_id: &str,
) -> (RateLimitStatus, Result<Bot, AppError>) {
    if access::admin_admitted(state, headers, caller).await {
        return admin_read(state, bot_id).await;
    }
    let (rate_limit, admitted) = admit(
        state,
        headers,
        caller,
        BotChoice::Named(bot_id),
        Counting::Peek,
        None,
    )
    .await;
    (rate_limit, admitted.map(|admitted| admitted.bot))
}

async fn admin_read(state: &AppState, bot_id: &str) -> (RateLimitStatus, Result<Bot, AppError>) {
    let scope = rate_limit::bot_scope(bot_id);
    match state.store.bot(bot_id).await {
        Ok(Some(bot)) => (
            access::peek_status(state, &scope, bot.rate_limit_per_minute).await,
            Ok(bot),
        ),
        Ok(None) => (
            access::peek_status(state, &scope, DEFAULT_RATE_LIMIT).await,
            Err(AppError::BotNotFound),
        ),
        Err(err) => (
            access::peek_status(state, &scope, DEFAULT_RATE_LIMIT).await,
            Err(err.into()),
        ),
    }
}

/// A bot as the read endpoint shows it.
fn bot_reply(bot: Bot, active: bool) -> BotReply {
    BotReply {
        success: true,
        bot: BotInfo {
            id: bot.id,
            name: bot.name,
            status: if active { "active" } else { "inactive" }.to_owned(),
            created_at: Some(dates::iso8601(bot.created_at)),
            description: Some(bot.description),
            configuration: Some(Configuration {
                greeting: Some(bot.greeting),
                theme: Some(Theme {
                    primary_color: Some(bot.primary_color),
                    position: Some(bot.position),
                }),
            }),
        },
        publishable_key: None,
    }
}

/// `GET /v1/bots/{botId}/analytics?startDate&endDate&metrics`: the bot's figures for the
/// messages stored in the period (both dates inclusive; a date alone means the whole UTC day;
/// no dates, all time). `metrics` picks `messages` (`totalMessages`, `responseTime`,
/// `topQuestions`), `users` (`uniqueUsers`: conversations, as no user ids are stored) and
/// `satisfaction` (never reported: no ratings are collected); all of them by default.
pub async fn analytics(
    State(state): State<AppState>,
    bot_id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    caller: crate::caller::Caller,
) -> Response {
    let bot_id = bot_id.map(|Path(id)| id).unwrap_or_default();
    // Visitors' own words: the bot's secret key or the admin token only.
    let (rate_limit, bot) = access::admit_owner(&state, &headers, &caller, &bot_id).await;
    let result = async {
        let bot = bot?;
        let query = uri.query().unwrap_or("");
        let start = date_param(query, "startDate")?.map_or(i64::MIN, dates::Instant::start_ms);
        let end = date_param(query, "endDate")?.map_or(i64::MAX, dates::Instant::end_ms);
        if start >= end {
            return Err(AppError::InvalidRequest(
                "\"startDate\" must be before \"endDate\"".to_owned(),
            ));
        }
        let metrics = metrics_param(query)?;
        let figures = state.store.analytics(&bot.id, start, end).await?;
        let messages = metrics.contains(&"messages");
        let analytics = Analytics {
            total_messages: messages.then_some(figures.total_messages),
            unique_users: metrics.contains(&"users").then_some(figures.conversations),
            average_satisfaction: None,
            response_time: figures
                .average_response_ms
                .filter(|_| messages)
                .map(|ms| format!("{:.1}s", ms as f64 / 1000.0)),
            top_questions: messages.then_some(figures.top_questions),
        };
        Ok(Json(AnalyticsReply {
            success: true,
            analytics,
        })
        .into_response())
    }
    .await;
    respond(Dialect::Jelytech, rate_limit, result)
}

/// An ISO 8601 date or time parameter, if given.
fn date_param(query: &str, name: &str) -> Result<Option<dates::Instant>, AppError> {
    match query_param(query, name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(text) => dates::parse_iso8601(&text).map(Some).ok_or_else(|| {
            AppError::InvalidRequest(format!(
                "\"{name}\" must be an ISO 8601 date like 2025-01-10 or 2025-01-10T14:30:00Z, not {text:?}"
            ))
        }),
    }
}

/// The `metrics` asked for, each one of [`METRICS`]; all of them when absent or empty.
fn metrics_param(query: &str) -> Result<Vec<&'static str>, AppError> {
    let Some(list) = query_param(query, "metrics").filter(|v| !v.trim().is_empty()) else {
        return Ok(METRICS.to_vec());
    };
    list.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            METRICS
                .iter()
                .find(|known| known.eq_ignore_ascii_case(m))
                .copied()
                .ok_or_else(|| {
                    AppError::InvalidRequest(format!(
                        "Unknown metric {m:?}: use {}",
                        METRICS.join(", ")
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_and_positions_are_corners() {
        assert_eq!(hex_color("#007BFF").as_deref(), Some("#007bff"));
        assert_eq!(hex_color("abc").as_deref(), Some("#abc"));
        for bad in ["red", "#12345", "#gggggg", "", "url(x)"] {
            assert_eq!(hex_color(bad), None, "{bad}");
        }
        let request = |position: &str| CreateBotRequest {
            name: "B".into(),
            description: String::new(),
            configuration: Configuration {
                greeting: None,
                theme: Some(Theme {
                    primary_color: None,
                    position: Some(position.into()),
                }),
            },
        };
        assert_eq!(
            new_bot(request("Left")).map(|b| b.position).ok().as_deref(),
            Some("bottom-left")
        );
        assert!(new_bot(request("top-left")).is_err());
        let unnamed = CreateBotRequest {
            name: "  ".into(),
            ..request("left")
        };
        assert!(matches!(new_bot(unnamed), Err(AppError::InvalidRequest(_))));
    }
}
