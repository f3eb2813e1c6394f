//! Who may call, the same for every dialect: the address's budget of wrong keys, the
//! `Authorization: Bearer` key (an active publishable key, or a secret key), the bot it
//! belongs to, the page's `Origin` (one a publishable key allows), and the rate limits of
//! the visitor, of its address and of the bot, checked in that order by [`admit`];
//! [`admit_owner`] for the endpoints only a secret key or the admin token may use. Also what
//! every chat endpoint does after that: check the visitor's text ([`check_message`]) and
//! store an exchange while spending a credit and counting the monthly quota
//! ([`record_exchange`]), and the answer with its `X-RateLimit-*` headers in the dialect's
//! own shape ([`respond`]).
//!
//! Counting: requests that may make the bot answer (every POST) use up the rate limit; reads
//! (history, polls, a bot's settings) are not counted and never refused for the limit, but
//! carry the headers of the current window too. The bot-creation endpoint is checked against
//! the server's admin token instead of a key ([`is_admin`]).

use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use chat_widget_protocol::dialect::Dialect;

use crate::caller::{address_scope, ip_scope, visitor_scope, Caller};
use crate::error::{AppError, MAX_MESSAGE_CHARS};
use crate::rate_limit::{self, Decision, RateLimitStatus};
use crate::store::{Admission, Bot, ExchangeOutcome, RecordedExchange, DEFAULT_RATE_LIMIT};
use crate::AppState;

/// Which bot a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotChoice<'a> {
    /// The bot named in the path or the body; the key must belong to it (404 otherwise).
    Named(&'a str),
    /// The key's own bot (conversation URLs, and bodies too broken to name a bot).
    KeysBot,
}

impl<'a> BotChoice<'a> {
    /// The bot a request body names, or the key's own bot when it names none (the body is
    /// too broken to read, or the field is blank: the 400 comes after the key's checks).
    pub fn from_body(name: Option<&'a str>) -> Self {
        name.map_or(BotChoice::KeysBot, BotChoice::Named)
    }
}

/// The bot a JSON body names in `field` (`bot_id`, `botId`, `bot_key`, `model`): trimmed,
/// `None` when the body could not be read or the field is blank.
pub fn bot_named_in<T>(
    body: &Result<axum::Json<T>, axum::extract::rejection::JsonRejection>,
    field: impl Fn(&T) -> &str,
) -> Option<String> {
    body.as_ref()
        .ok()
        .map(|axum::Json(request)| field(request).trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// Whether a request uses up the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Counted, and refused with 429 when the window is used up.
    Count,
    /// Not counted (reads).
    Peek,
}

/// The kind of key a request was admitted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `pk_live_…`: in every page; chats and reads conversations and the bot's public look.
    Publishable,
    /// `sk_live_…`: the bot owner's; also reads analytics.
    Secret,
}

/// A request that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The bot it is for.
    pub bot: Bot,
    /// The kind of key it came with.
    pub kind: KeyKind,
    /// Whether the bot answers through an AI upstream (its settings:
    /// [`crate::upstream::settings`]).
    pub has_upstream: bool,
}

/// Wrong keys an address may try per rate-limit window; after that every key from it is
/// refused with 429 until the window ends.
pub const KEY_FAILURES_PER_WINDOW: u32 = 20;

/// A key that [`admit`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The bot it belongs to.
    pub bot_id: String,
    /// Its kind.
    pub kind: KeyKind,
    /// The origins a publishable key works from (secret keys: any, they are for servers).
    pub allowed_origins: Option<crate::store::AllowedOrigins>,
    /// The key as sent, for the visitor's scope.
    pub token: String,
}

/// Checks the address's wrong-key budget, the key, the bot, the origin and (when counting)
/// the rate limits of the visitor, of its address (with this key:
/// [`rate_limit::address_limit`]) and of the bot ([`rate_limit::RateLimiter::check_windows`];
/// a peek reports the tightest of the three too). Returns the `X-RateLimit-*` status to send
/// whatever the outcome: a refusal before the request is counted reports the window without
/// using it up. `visitor_id` is the conversation or visitor id the request carries, if any.
pub async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    choice: BotChoice<'_>,
    counting: Counting,
    visitor_id: Option<&str>,
) -> (RateLimitStatus, Result<Admitted, AppError>) {
    let named = match choice {
        BotChoice::Named(id) => Some(id),
        BotChoice::KeysBot => None,
    };
    // The status to send with a refusal (nothing counted).
    let peek = |scope: String, limit: u32| async move { peek_status(state, &scope, limit).await };
    let bucket = rate_limit::bot_scope(named.unwrap_or(""));
    let failures = ip_scope(caller);
    let now = state.now_unix();
    // The wrong-key window, the bot, the key and the bot's upstream, in one read.
    let token = bearer(headers);
    let secret = token.filter(|token| token.starts_with(crate::ids::SECRET_KEY_PREFIX));
    let found = match state
        .store
        .admission(
            named,
            token.filter(|_| secret.is_none()).unwrap_or(""),
            &secret.map(crate::ids::secret_key_hash).unwrap_or_default(),
            &failures,
            now,
        )
        .await
    {
        Ok(found) => found,
        Err(err) => return (peek(bucket, DEFAULT_RATE_LIMIT).await, Err(err.into())),
    };
    // An address that guessed too many keys gets no answer about keys until its window ends.
    let tried = state
        .limiter
        .window_status(KEY_FAILURES_PER_WINDOW, found.failures, now);
    if tried.remaining == 0 {
        let retry_after_s = tried.reset_unix.saturating_sub(now).max(1);
        return (tried, Err(AppError::RateLimited { retry_after_s }));
    }
    // A bot named by the request: its limit is in the headers of a refusal.
    let limit = match (named, &found.bot) {
        (Some(_), Some(bot)) => bot.rate_limit_per_minute,
        _ => DEFAULT_RATE_LIMIT,
    };
    let Some(credential) = credential(token, &found) else {
        if let Ok(Decision::Limited {
            status,
            retry_after_s,
        }) = check_rate(state, &failures, KEY_FAILURES_PER_WINDOW).await
        {
            return (status, Err(AppError::RateLimited { retry_after_s }));
        }
        return (peek(bucket, limit).await, Err(AppError::InvalidApiKey));
    };
    let has_upstream = found.has_upstream;
    let Some(bot) = found.bot.filter(|bot| bot.id == credential.bot_id) else {
        return (peek(bucket, limit).await, Err(AppError::BotNotFound));
    };
    let scope = rate_limit::bot_scope(&bot.id);
    let visitor = visitor_scope(&credential.token, visitor_id, caller);
    if let (Some(origin), Some(allowed)) =
        (headers.get(header::ORIGIN), &credential.allowed_origins)
    {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if !allowed.allows(&origin) {
            let refused = AppError::OriginNotAllowed {
                origin: origin.into_owned(),
            };
            return (peek(scope, bot.rate_limit_per_minute).await, Err(refused));
        }
    }
    let address = address_scope(&credential.token, caller);
    let address_limit =
        rate_limit::address_limit(bot.visitor_rate_limit, bot.rate_limit_per_minute);
    // The narrowest first: rate_limit::RateLimiter::check_windows counts them in this order.
    let windows = [
        (visitor.as_str(), bot.visitor_rate_limit),
        (address.as_str(), address_limit),
        (scope.as_str(), bot.rate_limit_per_minute),
    ];
    let status = match counting {
        Counting::Peek => {
            let now = state.now_unix();
            match state
                .limiter
                .peek_windows(&state.store, &windows, now)
                .await
            {
                Ok(status) => status,
                Err(_) => RateLimitStatus {
                    limit: bot.visitor_rate_limit,
                    remaining: bot.visitor_rate_limit,
                    reset_unix: now + state.limiter.window_secs(),
                },
            }
        }
        Counting::Count => {
            let now = state.now_unix();
            match state
                .limiter
                .check_windows(&state.store, &windows, now)
                .await
            {
                Ok(Decision::Allowed(status)) => status,
                Ok(Decision::Limited {
                    status,
                    retry_after_s,
                }) => return (status, Err(AppError::RateLimited { retry_after_s })),
                Err(err) => {
                    let status = peek(scope.clone(), bot.rate_limit_per_minute).await;
                    return (status, Err(err.into()));
                }
            }
        }
    };
    (
        status,
        Ok(Admitted {
            bot,
            kind: credential.kind,
            has_upstream,
        }),
    )
}

/// Like [`admit`] without counting, for the endpoints that need the bot's secret key or the
/// admin token (analytics): the admin token may read any bot, a secret key its own, and a
/// publishable key is refused with 403 [`AppError::SecretKeyRequired`].
pub async fn admit_owner(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    bot_id: &str,
) -> (RateLimitStatus, Result<Bot, AppError>) {
    if admin_admitted(state, headers, caller).await {
        let scope = rate_limit::bot_scope(bot_id);
        return match state.store.bot(bot_id).await {
            Ok(Some(bot)) => (
                peek_status(state, &scope, bot.rate_limit_per_minute).await,
                Ok(bot),
            ),
            Ok(None) => (
                peek_status(state, &scope, DEFAULT_RATE_LIMIT).await,
                Err(AppError::BotNotFound),
            ),
            Err(err) => (
                peek_status(state, &scope, DEFAULT_RATE_LIMIT).await,
                Err(err.into()),
            ),
        };
    }
    let (status, admitted) = admit(
        state,
        headers,
        caller,
        BotChoice::Named(bot_id),
        Counting::Peek,
        None,
    )
    .await;
    let result = admitted.and_then(|admitted| match admitted.kind {
        KeyKind::Secret => Ok(admitted.bot),
        KeyKind::Publishable => Err(AppError::SecretKeyRequired),
    });
    (status, result)
}

/// The `X-RateLimit-*` status of `scope` without counting a request; when the database
/// cannot say, a fresh window (the request's own outcome, an error or not, goes ahead).
pub async fn peek_status(state: &AppState, scope: &str, limit: u32) -> RateLimitStatus {
    let now = state.now_unix();
    state
        .limiter
        .peek(&state.store, scope, limit, now)
        .await
        .unwrap_or(RateLimitStatus {
            limit,
            remaining: limit,
            reset_unix: now + state.limiter.window_secs(),
        })
}

/// Counts a request against `scope`'s window, if `limit` allows it.
pub async fn check_rate(state: &AppState, scope: &str, limit: u32) -> Result<Decision, AppError> {
    let now = state.now_unix();
    Ok(state.limiter.check(&state.store, scope, limit, now).await?)
}

/// The bearer token of the request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The request's key, if [`Store::admission`](crate::store::Store::admission) found it to be
/// an active publishable key or a secret key.
fn credential(token: Option<&str>, found: &Admission) -> Option<Credential> {
    let token = token?;
    if token.starts_with(crate::ids::SECRET_KEY_PREFIX) {
        return found.secret_key_bot.as_ref().map(|bot_id| Credential {
            bot_id: bot_id.clone(),
            kind: KeyKind::Secret,
            allowed_origins: None,
            token: token.to_owned(),
        });
    }
    match &found.key {
        Some(key) if key.active && key.key == token => Some(Credential {
            bot_id: key.bot_id.clone(),
            kind: KeyKind::Publishable,
            allowed_origins: Some(key.allowed_origins.clone()),
            token: key.key.clone(),
        }),
        _ => None,
    }
}

/// Whether the request carries the server's admin token and comes from an address that has
/// not used up its budget of wrong keys ([`KEY_FAILURES_PER_WINDOW`]). From an address over
/// it even the right token is not taken (the request goes on as a key, which [`admit`]
/// refuses with 429): otherwise a guesser past the budget would still learn which guess was
/// right, from a 200 among the 429s.
pub async fn admin_admitted(state: &AppState, headers: &HeaderMap, caller: &Caller) -> bool {
    if !is_admin(state, headers) {
        return false;
    }
    let tried = peek_status(state, &ip_scope(caller), KEY_FAILURES_PER_WINDOW).await;
    tried.remaining > 0
}

/// Whether the request carries the server's admin token (never, when the server has none).
/// Use [`admin_admitted`] where the answer reaches the client.
///
/// The SHA-256 of the request's token is compared with the one kept of the admin token
/// ([`TokenDigest`], whose `==` is constant-time): the time taken depends on neither how much
/// of a guess is right nor the admin token's length. (Comparing the texts answered a guess of
/// another length at once, which told a guesser the token's length.) Secret keys need no such
/// care: the database is asked for a key's SHA-256 ([`crate::ids::secret_key_hash`]), which a
/// guesser cannot steer towards a stored one; publishable keys are public.
pub fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    match (state.admin_token_digest(), bearer(headers)) {
        (Some(expected), Some(given)) => *expected == token_digest(given),
        _ => false,
    }
}

/// A token's SHA-256 that compares in constant time: the digest crate's `CtOutput`, whose `==`
/// is the `subtle` crate's constant-time equality (both already under `sha2` and `hmac`).
pub type TokenDigest = hmac::digest::CtOutput<sha2::Sha256>;

/// The [`TokenDigest`] of `token`.
pub fn token_digest(token: &str) -> TokenDigest {
    use sha2::Digest;
    TokenDigest::new(sha2::Sha256::digest(token.as_bytes()))
}

/// A visitor's text the bot can answer: something in it, not too long. `field` names it in
/// the error, as the dialect spells it.
pub fn check_message(text: &str, field: &str) -> Result<(), AppError> {
    if text.trim().is_empty() {
        return Err(AppError::InvalidRequest(format!(
            "The \"{field}\" field must not be empty"
        )));
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(AppError::InvalidRequest(format!(
            "The \"{field}\" field is too long: {chars} characters, at most {MAX_MESSAGE_CHARS} are allowed"
        )));
    }
    Ok(())
}

/// A conversation id worth looking up: blank ones count as absent.
pub fn conversation_id(requested: Option<String>) -> Option<String> {
    requested.filter(|id| !id.trim().is_empty())
}

/// Stores a visitor message and the bot's reply (see
/// [`crate::store::Store::record_exchange`]), or says why not: 402 without credits, 403 when
/// the monthly quota is used up.
pub async fn record_exchange(
    state: &AppState,
    bot: &Bot,
    conversation_id: Option<&str>,
    message: &str,
    reply: &str,
) -> Result<RecordedExchange, AppError> {
    // Its webhook events are queued in the transaction that stores it.
    outcome(
        state
            .store
            .record_exchange(&bot.id, conversation_id, message, reply)
            .await?,
    )
}

/// An exchange's outcome as a result.
pub fn outcome(outcome: ExchangeOutcome) -> Result<RecordedExchange, AppError> {
    match outcome {
        ExchangeOutcome::Recorded(recorded) => Ok(recorded),
        ExchangeOutcome::NoCredits => Err(AppError::InsufficientCredits),
        ExchangeOutcome::QuotaExceeded => Err(AppError::QuotaExceeded),
    }
}

/// The response with the `X-RateLimit-*` headers; an error in `dialect`'s shape.
pub fn respond(
    dialect: Dialect,
    rate_limit: RateLimitStatus,
    result: Result<Response, AppError>,
) -> Response {
    let response = result.unwrap_or_else(|err| err.into_dialect_response(dialect));
    (rate_limit, response).into_response()
}

/// A query parameter's value, percent-decoded (`+` is a space).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_bearer_token_needs_the_scheme_and_a_value() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            bearer(&headers).map(str::to_owned)
        };
        assert_eq!(with("Bearer pk_1").as_deref(), Some("pk_1"));
        assert_eq!(with("bearer   pk_1 ").as_deref(), Some("pk_1"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(with("pk_1"), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn messages_must_have_content_and_fit() {
        assert!(check_message("hi", "message").is_ok());
        let err = check_message(" \n", "message.data.body");
        assert!(
            matches!(&err, Err(AppError::InvalidRequest(text)) if text.contains("message.data.body")),
            "{err:?}"
        );
        assert!(check_message(&"é".repeat(MAX_MESSAGE_CHARS), "m").is_ok());
        assert!(check_message(&"a".repeat(MAX_MESSAGE_CHARS + 1), "m").is_err());
        assert_eq!(conversation_id(Some("  ".into())), None);
        assert_eq!(conversation_id(Some("c".into())).as_deref(), Some("c"));
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            query_param("after=msg_1&x=2", "after").as_deref(),
            Some("msg_1")
        );
        assert_eq!(
            query_param("x=1&after=a%2Fb+c", "after").as_deref(),
            Some("a/b c")
        );
        assert_eq!(query_param("afterx=1", "after"), None);
        assert_eq!(query_param("", "after"), None);
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%+1"), "% 1", "not a sign of a number");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
