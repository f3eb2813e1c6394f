//! A bot's AI model: any OpenAI-compatible chat-completions server (a hosted API over
//! https, with rustls and the webpki roots; Ollama, vLLM, llama.cpp's server) set per bot ([`Settings`], table
//! `bot_upstreams`). Without settings the bot answers from its training documents
//! ([`crate::faq`]), so the demo and the tests need no network.
//!
//! A reply is asked for with `stream: true` (and `stream_options.include_usage`), and its
//! deltas are read as they arrive ([`Deltas`]) with reqwest and the protocol crate's SSE
//! parser. The request carries the bot's system prompt, the best passages of its training
//! documents with their titles (the model may cite them), and the conversation so far, newest
//! turns kept within [`CONTEXT_BUDGET_CHARS`].
//!
//! The secret key is read from the environment variable the settings name, at each request; it
//! is never stored, logged or answered. Failures become [`AppError`]s: a 429 passes its
//! `Retry-After` on, a timeout is 504, any other failure 502.
//!
//! The dialects plug in at two seams: the SSE stream reads [`Deltas`] in place of the
//! documents brain's word pieces ([`crate::sse`]), and the JSON dialects collect them
//! ([`answer_collected`]). Either way the visitor's message is stored first (so a failure
//! loses nothing and Retry works), and the reply is stored by `crate::sse::ReplyWriter`:
//! complete, or, when the visitor stops or leaves (which drops the upstream request, closing
//! its connection), as the part received, marked incomplete.

use std::collections::VecDeque;
use std::time::Duration;

use chat_widget_protocol::sse::SseParser;
use serde_json::{json, Value};
use sqlx::Row;

use crate::access;
use crate::documents;
use crate::error::AppError;
use crate::sse::ReplyWriter;
use crate::store::{Bot, RecordedExchange, Role, Store, StoreError};
use crate::AppState;

/// How long the upstream may stay silent (before its answer starts, and between two chunks)
/// unless [`AppState::with_upstream_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// How much of the conversation is sent, in characters (about 3,000 tokens): the newest turns
/// that fit, always the visitor's new message.
pub const CONTEXT_BUDGET_CHARS: usize = 12_000;

/// How many passages of the bot's documents go into the context.
pub const PASSAGES: u32 = 3;

/// The longest system prompt accepted, in characters.
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 8_000;

/// The most tokens one reply is counted for, whatever the upstream reports. Far more than any
/// request of ours (a context of a few thousand tokens) and a long answer need, and far from
/// the 64-bit counters' limit: a broken or hostile upstream that reports `u64::MAX` tokens costs
/// its bot this many. Taken as reported, such a number overflowed the month's counter in SQL:
/// SQLite made it a float that no longer read as a count (every later quota read failed) and
/// zeroed the credits, and PostgreSQL refused the update, so nothing was counted.
pub const MAX_REPORTED_TOKENS: u64 = 1_000_000;

/// The longest reply text taken from an upstream, in bytes: the widget's own limit. A model
/// caught in a loop, or an upstream that never ends its answer, is cut there: the text up to
/// the limit is sent and stored, marked incomplete, and the upstream's connection is closed.
pub use chat_widget_protocol::MAX_REPLY_BYTES;

/// The most bytes read from an upstream for one reply, its stream's framing included (a
/// token's chunk is about 150 bytes of JSON). Bounds what an upstream that sends no line end
/// or no end of its JSON can make the server hold.
pub const MAX_UPSTREAM_BYTES: usize = 16 * 1024 * 1024;

/// Where the month's usage counter stops ([`charge_usage`]): half the 64-bit range, so adding a
/// reply to it, or the pending answers in the quota check, never overflows either.
const USAGE_CEILING: i64 = i64::MAX / 2;

/// A bot's upstream.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// The chat-completions URL (`http://host:port/v1/chat/completions`), or its base
    /// (`http://host:port/v1`), to which `/chat/completions` is added.
    pub url: String,
    /// The model asked for.
    pub model: String,
    /// Said first, before the passages and the conversation.
    pub system_prompt: String,
    /// Sampling temperature, 0 to 2; the upstream's default when absent.
    pub temperature: Option<f64>,
    /// The longest reply, in tokens; the upstream's default when absent.
    pub max_tokens: Option<u32>,
    /// The environment variable that holds the secret key (none: no `Authorization`).
    pub key_env: Option<String>,
    /// Asked at public addresses only ([`crate::webhooks::is_public`]): settings whose URL a
    /// bot's secret key chose.
    pub public_only: bool,
}

// `check` refuses a temperature that is not a number, so equality is an equivalence.
impl Eq for Settings {}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("key_env", &self.key_env)
            .field("public_only", &self.public_only)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Settings for `url` and `model`, with no system prompt, key or sampling settings.
    pub fn new(url: &str, model: &str) -> Self {
        Self {
            url: url.to_owned(),
            model: model.to_owned(),
            system_prompt: String::new(),
            temperature: None,
            max_tokens: None,
            key_env: None,
            public_only: false,
        }
    }

    /// What is wrong with the settings, if anything (the text names the setting).
    pub fn check(&self) -> Result<(), String> {
        let rest = self
            .url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"))
            .ok_or("the upstream URL must start with https:// or http://")?;
        if rest.is_empty() || rest.starts_with('/') || self.url.chars().any(char::is_whitespace) {
            return Err(format!("the upstream URL {:?} names no host", self.url));
        }
        if self.model.trim().is_empty() {
            return Err("the upstream needs a model".to_owned());
        }
        if self.system_prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
            return Err(format!(
                "the system prompt is longer than {MAX_SYSTEM_PROMPT_CHARS} characters"
            ));
        }
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) {
                return Err("the temperature must be between 0 and 2".to_owned());
            }
        }
        if self.max_tokens == Some(0) {
            return Err("the maximum tokens must be at least 1".to_owned());
        }
        if let Some(name) = &self.key_env {
            let mut chars = name.chars();
            let valid = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "{name:?} is not an environment variable name (letters, digits, _)"
                ));
            }
        }
        Ok(())
    }

    /// The URL posted to.
    pub fn endpoint(&self) -> String {
        let url = self.url.trim_end_matches('/');
        if url.ends_with("/chat/completions") {
            url.to_owned()
        } else {
            format!("{url}/chat/completions")
        }
    }
}

/// Settings from their JSON form (`configuration.upstream` of `POST /v1/bots`, the body of
/// `PUT /v1/bots/{botId}/upstream`): `{"url","model","systemPrompt"?,"temperature"?,
/// "maxTokens"?,"apiKeyEnv"?}`. A key itself (`apiKey`) is refused: the server reads it from
/// the environment variable `apiKeyEnv` names.
pub fn from_json(value: &Value) -> Result<Settings, String> {
    let Some(fields) = value.as_object() else {
        return Err("must be an object with \"url\" and \"model\"".to_owned());
    };
    if fields.contains_key("apiKey") || fields.contains_key("key") {
        return Err(
            "a key is never sent or stored: set it in an environment variable of the server \
             and name that variable in \"apiKeyEnv\""
                .to_owned(),
        );
    }
    let text = |name: &str| -> Result<Option<String>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(format!("\"{name}\" must be a string")),
        }
    };
    let mut settings = Settings::new(
        &text("url")?.unwrap_or_default(),
        &text("model")?.unwrap_or_default(),
    );
    settings.system_prompt = text("systemPrompt")?.unwrap_or_default();
    settings.key_env = text("apiKeyEnv")?.filter(|n| !n.is_empty());
    settings.temperature = match fields.get("temperature") {
        None | Some(Value::Null) => None,
        Some(t) => Some(t.as_f64().ok_or("\"temperature\" must be a number")?),
    };
    settings.max_tokens = match fields.get("maxTokens") {
        None | Some(Value::Null) => None,
        Some(n) => Some(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("\"maxTokens\" must be a whole number")?,
        ),
    };
    settings.check()?;
    Ok(settings)
}

/// The JSON form of settings (the key's variable by name only).
pub fn to_json(settings: &Settings) -> Value {
    json!({
        "url": settings.url,
        "model": settings.model,
        "systemPrompt": settings.system_prompt,
        "temperature": settings.temperature,
        "maxTokens": settings.max_tokens,
        "apiKeyEnv": settings.key_env,
    })
}

// ---------------------------------------------------------------------------------------------
// The settings endpoint: `GET|PUT|DELETE /v1/bots/{botId}/upstream`, with the bot's secret key
// or the admin token (a publishable key is refused, as on the training and webhook
// endpoints: a page's key must not change what the bot says), errors in the jelytech shape.

/// `GET`, `PUT` (the settings' JSON form) or `DELETE`: answers
/// `{"success":true,"upstream":{...}|null}` with the bot's settings after the change.
pub async fn endpoint(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: axum::http::Method,
    bot_id: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    headers: axum::http::HeaderMap,
    caller: crate::caller::Caller,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bot_id = bot_id.map(|axum::extract::Path(id)| id).unwrap_or_default();
    let (rate_limit, allowed) =
        crate::training::authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        if method == axum::http::Method::PUT {
            let value: Value = serde_json::from_slice(&body).map_err(|err| {
                AppError::InvalidRequest(format!(
                    "The request body must be a JSON object like {{\"url\": \"http://127.0.0.1:11434/v1\", \"model\": \"llama3.1\"}} ({err})"
                ))
            })?;
            let mut settings = from_json(&value).map_err(AppError::InvalidRequest)?;
            if !access::is_admin(&state, &headers) {
                let current = self::settings(&state.store, &bot_id).await?;
                secret_key_may_set(current.as_ref(), &settings)?;
                // The operator's network is not a bot owner's to reach: a URL a secret key
                // chooses is asked at public addresses only (the operator's own URL, kept as
                // it is, keeps its reach).
                settings.public_only = current.is_none_or(|current| {
                    current.public_only || current.url != settings.url
                });
            }
            set_settings(&state.store, &bot_id, Some(&settings)).await?;
        } else if method == axum::http::Method::DELETE {
            set_settings(&state.store, &bot_id, None).await?;
        }
        let current = settings(&state.store, &bot_id).await?;
        let upstream = current.as_ref().map_or(Value::Null, to_json);
        Ok(axum::Json(json!({ "success": true, "upstream": upstream })).into_response())
    }
    .await;
    access::respond(
        chat_widget_protocol::dialect::Dialect::Jelytech,
        rate_limit,
        result,
    )
}

/// Whether a bot's secret key may replace `current` with `new`. `apiKeyEnv` names a variable
/// of the serving process's environment, whose value is sent as the bearer key to the URL:
/// only the server's admin token may choose which variable goes to which URL (else a bot owner
/// could have any variable of the server, another bot's upstream key or a database password,
/// sent to a server of theirs). A secret key may set a URL without a key variable, and change
/// the model, prompt and sampling of settings whose URL and key variable it keeps.
fn secret_key_may_set(current: Option<&Settings>, new: &Settings) -> Result<(), AppError> {
    let Some(name) = &new.key_env else {
        return Ok(());
    };
    let kept = current.is_some_and(|current| {
        current.key_env.as_deref() == Some(name.as_str()) && current.url == new.url
    });
    if kept {
        return Ok(());
    }
    Err(AppError::AdminTokenOnly(
        "Only the server's admin token may set \"apiKeyEnv\" or change the URL its key is sent \
         to; with a secret key, leave \"apiKeyEnv\" out or keep both as they are"
            .to_owned(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Storage.

/// The bot's upstream, if it has one.
pub async fn settings(store: &Store, bot_id: &str) -> Result<Option<Settings>, StoreError> {
    let row = sqlx::query(
        "SELECT url, model, system_prompt, temperature, max_tokens, key_env, public_only
         FROM bot_upstreams WHERE bot_id = $1",
    )
    .bind(bot_id)
    .fetch_optional(store.reader())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let max_tokens: Option<i64> = row.try_get("max_tokens")?;
    Ok(Some(Settings {
        url: row.try_get("url")?,
        model: row.try_get("model")?,
        system_prompt: row.try_get("system_prompt")?,
        temperature: row.try_get("temperature")?,
        max_tokens: max_tokens.and_then(|n| u32::try_from(n).ok()),
        key_env: row.try_get("key_env")?,
        public_only: row.try_get::<i64, _>("public_only")? != 0,
    }))
}

/// Sets the bot's upstream, or removes it (`None`: the bot answers from its documents again).
pub async fn set_settings(
    store: &Store,
    bot_id: &str,
    settings: Option<&Settings>,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM bot_upstreams WHERE bot_id = $1")
        .bind(bot_id)
        .execute(&mut *tx)
        .await?;
    if let Some(s) = settings {
        sqlx::query(
            "INSERT INTO bot_upstreams
                 (bot_id, url, model, system_prompt, temperature, max_tokens, key_env,
                  public_only)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(bot_id)
        .bind(&s.url)
        .bind(&s.model)
        .bind(&s.system_prompt)
        .bind(s.temperature)
        .bind(s.max_tokens.map(i64::from))
        .bind(s.key_env.as_deref())
        .bind(i64::from(s.public_only))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Counts a reply's real usage: the credit and quota unit already spent for it plus
/// `tokens - 1` more (credits stop at 0; the reply is already given). `tokens` counts as at
/// most [`MAX_REPORTED_TOKENS`], and the month's counter stops at a ceiling far below the
/// 64-bit limit, so no report, however large or repeated, overflows a sum here or in SQL.
pub async fn charge_usage(store: &Store, bot_id: &str, tokens: u64) -> Result<(), StoreError> {
    // At most MAX_REPORTED_TOKENS - 1: the conversion cannot fail.
    let extra = i64::try_from(tokens.clamp(1, MAX_REPORTED_TOKENS) - 1).unwrap_or(0);
    if extra == 0 {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    sqlx::query(
        "UPDATE bots SET credits = CASE WHEN credits > $2 THEN credits - $2 ELSE 0 END
         WHERE id = $1 AND credits IS NOT NULL",
    )
    .bind(bot_id)
    .bind(extra)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE monthly_usage
         SET replies = CASE WHEN replies > $4 - $3 THEN $4 ELSE replies + $3 END
         WHERE bot_id = $1 AND month = $2",
    )
    .bind(bot_id)
    .bind(crate::dates::month_start_ms(crate::store::now_ms()))
    .bind(extra)
    .bind(USAGE_CEILING)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The context.

/// One turn sent to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// What was said.
    pub content: String,
}

impl Turn {
    fn new(role: &'static str, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// The newest turns whose text fits in `budget` characters, oldest first; the last turn is
/// always kept.
pub fn within_budget(turns: Vec<Turn>, budget: usize) -> Vec<Turn> {
    let mut kept = Vec::new();
    let mut used = 0;
    for turn in turns.into_iter().rev() {
        let chars = turn.content.chars().count();
        if !kept.is_empty() && used + chars > budget {
            break;
        }
        used += chars;
        kept.push(turn);
    }
    kept.reverse();
    kept
}

/// The system message: the bot's prompt, then the passages of its documents that match the
/// question, each under its title.
pub async fn system_message(
    store: &Store,
    bot: &Bot,
    settings: &Settings,
    question: &str,
) -> Result<String, StoreError> {
    let mut system = if settings.system_prompt.trim().is_empty() {
        format!("You are {}, a helpful assistant on a website.", bot.name)
    } else {
        settings.system_prompt.trim().to_owned()
    };
    let terms = crate::faq::query_terms(question);
    let hits = documents::search(store, &bot.id, &terms, PASSAGES).await?;
    if !hits.is_empty() {
        system.push_str(
            "\n\nPassages from the site's documents. Answer from them when they help, and cite \
             a passage by its title in square brackets, like [Title].",
        );
        for hit in hits {
            system.push_str(&format!("\n\n[{}]\n{}", hit.title.trim(), hit.body.trim()));
        }
    }
    Ok(system)
}

/// The conversation as stored, oldest first, without replies that have nothing yet (the one
/// about to be written among them).
pub async fn stored_turns(store: &Store, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
    Ok(store
        .messages(conversation_id)
        .await?
        .into_iter()
        .filter(|m| !m.content.trim().is_empty())
        .map(|m| match m.role {
            Role::User => Turn::new("user", m.content),
            Role::Assistant => Turn::new("assistant", m.content),
        })
        .collect())
}

/// The messages of a request: the system message, then the conversation within the budget.
pub fn messages(system: String, conversation: Vec<Turn>) -> Vec<Turn> {
    let mut all = vec![Turn::new("system", system)];
    all.extend(within_budget(conversation, CONTEXT_BUDGET_CHARS));
    all
}

// ---------------------------------------------------------------------------------------------
// The request and its stream.

/// Why the upstream gave no (complete) answer. The texts never contain the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    /// It said 429; wait this many seconds if it said.
    Busy(Option<u64>),
    /// It was silent longer than the timeout.
    Timeout,
    /// Anything else: unreachable, a 5xx or other refusal, a malformed or cut stream.
    Failed(String),
}

impl From<UpstreamError> for AppError {
    fn from(err: UpstreamError) -> Self {
        match err {
            UpstreamError::Busy(retry_after_s) => AppError::UpstreamBusy { retry_after_s },
            UpstreamError::Timeout => AppError::UpstreamTimeout,
            UpstreamError::Failed(detail) => AppError::UpstreamFailed(detail),
        }
    }
}

/// The body posted: the settings' model and sampling, the messages, streamed with usage.
pub fn request_body(settings: &Settings, messages: &[Turn]) -> Value {
    let mut body = json!({
        "model": settings.model,
        "messages": messages
            .iter()
            .map(|t| json!({"role": t.role, "content": t.content}))
            .collect::<Vec<_>>(),
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if let Some(t) = settings.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(n) = settings.max_tokens {
        body["max_tokens"] = json!(n);
    }
    body
}

/// Posts the request and waits for the answer to start (its status and headers).
pub async fn open(
    client: &reqwest::Client,
    settings: &Settings,
    messages: &[Turn],
    timeout: Duration,
) -> Result<Deltas, UpstreamError> {
    // An address in the URL never reaches the public-only client's resolver.
    if settings.public_only && crate::webhooks::url_names_a_private_address(&settings.url) {
        return Err(UpstreamError::Failed(
            "the upstream's address is not public".to_owned(),
        ));
    }
    let mut request = client
        .post(settings.endpoint())
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(request_body(settings, messages).to_string());
    if let Some(name) = &settings.key_env {
        let key = std::env::var(name).map_err(|_| {
            UpstreamError::Failed(format!(
                "the environment variable {name} that should hold the upstream key is not set"
            ))
        })?;
        request = request.bearer_auth(key);
    }
    let response = match tokio::time::timeout(timeout, request.send()).await {
        Err(_) => return Err(UpstreamError::Timeout),
        Ok(Err(err)) if err.is_timeout() => return Err(UpstreamError::Timeout),
        Ok(Err(err)) => {
            return Err(UpstreamError::Failed(format!(
                "cannot reach the upstream: {}",
                err.without_url()
            )))
        }
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        return Err(UpstreamError::Busy(retry_after));
    }
    if !status.is_success() {
        return Err(UpstreamError::Failed(format!(
            "the upstream answered {status}"
        )));
    }
    let json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    Ok(Deltas {
        response,
        parser: SseParser::new(),
        pending: VecDeque::new(),
        usage: None,
        finished: false,
        finish_reason: false,
        json,
        timeout,
        received: 0,
        text_bytes: 0,
        too_long: false,
    })
}

/// A reply's text on its way from the upstream, delta by delta. Dropping it closes the
/// upstream connection, which aborts the model's work.
pub struct Deltas {
    response: reqwest::Response,
    parser: SseParser,
    pending: VecDeque<String>,
    usage: Option<u64>,
    finished: bool,
    finish_reason: bool,
    /// The upstream ignored `stream` and answered one `chat.completion` JSON object.
    json: bool,
    timeout: Duration,
    /// Bytes read from the upstream so far (at most [`MAX_UPSTREAM_BYTES`]).
    received: usize,
    /// Bytes of reply text taken so far (at most [`MAX_REPLY_BYTES`]).
    text_bytes: usize,
    /// The text reached [`MAX_REPLY_BYTES`]: once what was taken is handed over, the reply
    /// fails as cut.
    too_long: bool,
}

impl std::fmt::Debug for Deltas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deltas")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Deltas {
    /// The next piece of text, `None` at the end of a complete reply, or why the reply broke.
    pub async fn next(&mut self) -> Result<Option<String>, UpstreamError> {
        loop {
            if let Some(piece) = self.pending.pop_front() {
                return Ok(Some(piece));
            }
            if self.too_long {
                return Err(UpstreamError::Failed(format!(
                    "the upstream's reply passed {} KiB and was cut there",
                    MAX_REPLY_BYTES / 1024
                )));
            }
            if self.finished {
                return Ok(None);
            }
            if self.json {
                return self.whole_json().await;
            }
            let chunk = match tokio::time::timeout(self.timeout, self.response.chunk()).await {
                Err(_) => return Err(UpstreamError::Timeout),
                Ok(Err(err)) => {
                    return Err(UpstreamError::Failed(format!(
                        "the upstream's stream broke: {}",
                        err.without_url()
                    )))
                }
                Ok(Ok(chunk)) => chunk,
            };
            match chunk {
                Some(bytes) => {
                    self.count_received(bytes.len())?;
                    for event in self.parser.feed(&bytes) {
                        self.event(&event.data)?;
                    }
                }
                None => {
                    for event in self.parser.finish() {
                        self.event(&event.data)?;
                    }
                    if !self.finished && !self.finish_reason {
                        return Err(UpstreamError::Failed(
                            "the upstream's stream ended before the reply did".to_owned(),
                        ));
                    }
                    self.finished = true;
                }
            }
        }
    }

    /// The tokens the upstream reported for the request and reply, if it did, at most
    /// [`MAX_REPORTED_TOKENS`] (what is charged, and what the openai dialect answers).
    pub fn usage(&self) -> Option<u64> {
        self.usage
    }

    /// One `data:` payload: a chunk, `[DONE]`, or an error object.
    fn event(&mut self, data: &str) -> Result<(), UpstreamError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == chat_widget_protocol::dialect::openai::DONE {
            self.finished = true;
            return Ok(());
        }
        let value: Value = serde_json::from_str(data).map_err(|_| {
            UpstreamError::Failed("the upstream sent a chunk that is not JSON".to_owned())
        })?;
        self.value(&value, "delta")
    }

    /// A chunk (`delta`) or a whole completion (`message`).
    fn value(&mut self, value: &Value, field: &str) -> Result<(), UpstreamError> {
        if let Some(error) = value.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(UpstreamError::Failed(format!(
                "the upstream reported an error: {}",
                message.chars().take(200).collect::<String>()
            )));
        }
        let Some(choices) = value.get("choices").and_then(Value::as_array) else {
            if value.get("usage").is_some() {
                self.read_usage(value);
                return Ok(());
            }
            return Err(UpstreamError::Failed(
                "the upstream sent a chunk without choices".to_owned(),
            ));
        };
        if let Some(choice) = choices.first() {
            if let Some(text) = choice
                .get(field)
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                self.take_text(text);
            }
            if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
                self.finish_reason = true;
            }
        }
        self.read_usage(value);
        Ok(())
    }

    /// Takes a piece of reply text, as much of it as [`MAX_REPLY_BYTES`] leaves room for.
    fn take_text(&mut self, text: &str) {
        if self.too_long {
            return;
        }
        let room = MAX_REPLY_BYTES - self.text_bytes;
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len() {
            self.too_long = true;
        }
        if end > 0 {
            self.text_bytes += end;
            self.pending.push_back(text[..end].to_owned());
        }
    }

    /// Counts bytes read from the upstream; past [`MAX_UPSTREAM_BYTES`] the reply fails.
    fn count_received(&mut self, len: usize) -> Result<(), UpstreamError> {
        self.received += len;
        if self.received > MAX_UPSTREAM_BYTES {
            return Err(UpstreamError::Failed(format!(
                "the upstream sent more than {} MiB for one reply",
                MAX_UPSTREAM_BYTES / (1024 * 1024)
            )));
        }
        Ok(())
    }

    fn read_usage(&mut self, value: &Value) {
        if let Some(total) = value
            .get("usage")
            .and_then(|u| u.get("total_tokens"))
            .and_then(Value::as_u64)
        {
            self.usage = Some(total.min(MAX_REPORTED_TOKENS));
        }
    }

    /// The body of an upstream that answered JSON, as one piece.
    async fn whole_json(&mut self) -> Result<Option<String>, UpstreamError> {
        let mut body = Vec::new();
        loop {
            match tokio::time::timeout(self.timeout, self.response.chunk()).await {
                Err(_) => return Err(UpstreamError::Timeout),
                Ok(Err(err)) => {
                    return Err(UpstreamError::Failed(format!(
                        "the upstream's answer broke: {}",
                        err.without_url()
                    )))
                }
                Ok(Ok(Some(bytes))) => {
                    self.count_received(bytes.len())?;
                    body.extend_from_slice(&bytes);
                }
                Ok(Ok(None)) => break,
            }
        }
        let value: Value = serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Failed("the upstream's answer is not JSON".to_owned()))?;
        self.value(&value, "message")?;
        self.finished = true;
        Ok(self.pending.pop_front())
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON dialects' seam.

/// An upstream reply under way: the exchange as stored (the visitor's message, the credit
/// spent), the writer that stores the reply, and the upstream's stream.
pub(crate) struct Started {
    pub(crate) exchange: RecordedExchange,
    pub(crate) writer: ReplyWriter,
    pub(crate) deltas: Deltas,
}

/// Stores the visitor's message (spending the credit) with an empty reply, and opens the
/// upstream's stream for it. `conversation` replaces the stored conversation as the context
/// (the openai dialect sends its own history). If the upstream fails now, or the visitor
/// leaves, the writer is dropped with nothing sent: the reply is withdrawn and the credit
/// given back, and the visitor's message stays stored, so a retry loses nothing.
pub(crate) async fn begin(
    state: &AppState,
    bot: &Bot,
    settings: &Settings,
    conversation_id: Option<&str>,
    question: &str,
    conversation: Option<Vec<Turn>>,
) -> Result<Started, AppError> {
    let exchange = access::outcome(
        state
            .store
            .begin_streamed_exchange(&bot.id, conversation_id, question)
            .await?,
    )?;
    // Its webhook events were queued in the transaction that stored it.
    let writer = ReplyWriter::new(state, &bot.id, &exchange);
    let deltas = start(state, bot, settings, &exchange, question, conversation).await?;
    Ok(Started {
        exchange,
        writer,
        deltas,
    })
}

/// What the JSON dialects answer with an upstream: the exchange as stored and the reply.
#[derive(Debug)]
pub struct Collected {
    /// The stored exchange.
    pub exchange: RecordedExchange,
    /// The whole reply.
    pub text: String,
    /// The tokens the upstream reported, if it did.
    pub usage: Option<u64>,
}

/// `begin`, then the reply collected as it arrives and stored complete. If the upstream
/// breaks mid-way, or the visitor leaves (which drops the request and so the upstream's
/// connection), the part received is stored, marked incomplete.
pub async fn answer_collected(
    state: &AppState,
    bot: &Bot,
    settings: &Settings,
    conversation_id: Option<&str>,
    question: &str,
    conversation: Option<Vec<Turn>>,
) -> Result<Collected, AppError> {
    let Started {
        exchange,
        mut writer,
        mut deltas,
    } = begin(
        state,
        bot,
        settings,
        conversation_id,
        question,
        conversation,
    )
    .await?;
    while let Some(piece) = deltas.next().await? {
        writer.sent.push_str(&piece);
    }
    writer.usage = deltas.usage();
    writer.finish().await?;
    Ok(Collected {
        exchange,
        text: std::mem::take(&mut writer.sent),
        usage: deltas.usage(),
    })
}

/// A reply for the JSON dialects without a stream of their own (jombot, jelytech).
#[derive(Debug)]
pub struct JsonAnswer {
    /// The reply.
    pub text: String,
    /// Quick replies (the documents brain's only).
    pub suggested_actions: Vec<chat_widget_protocol::SuggestedAction>,
    /// The documents brain's confidence (none for a model's reply).
    pub confidence: Option<f64>,
}

/// The bot's reply, stored with the visitor's message: from its upstream if it has one
/// ([`answer_collected`]), else from its documents.
pub async fn answer_or_faq(
    state: &AppState,
    bot: &Bot,
    conversation_id: Option<&str>,
    question: &str,
) -> Result<(JsonAnswer, RecordedExchange), AppError> {
    if let Some(settings) = settings(&state.store, &bot.id).await? {
        let collected =
            answer_collected(state, bot, &settings, conversation_id, question, None).await?;
        let answer = JsonAnswer {
            text: collected.text,
            suggested_actions: Vec::new(),
            confidence: None,
        };
        return Ok((answer, collected.exchange));
    }
    let answer = crate::faq::answer(&state.store, &bot.id, &bot.name, question).await?;
    let recorded =
        access::record_exchange(state, bot, conversation_id, question, &answer.text).await?;
    let answer = JsonAnswer {
        text: answer.text,
        suggested_actions: answer.suggested_actions,
        confidence: Some(answer.confidence),
    };
    Ok((answer, recorded))
}

/// What the send body of a JSON dialect without a stream (jombot, jelytech) says.
pub struct SendFields<'a> {
    /// The bot it names (blank or missing: none).
    pub bot_id: &'a str,
    /// The visitor's own id, if the site gives one.
    pub user_id: Option<&'a str>,
    /// The conversation to go on with (blank: a new one).
    pub conversation_id: Option<&'a str>,
    /// The visitor's message.
    pub message: &'a str,
}

/// A send of [`answer_send`], answered and stored.
pub struct Sent<R> {
    /// The body as it came.
    pub request: R,
    /// The bot that answered.
    pub bot: Bot,
    /// Its reply.
    pub answer: JsonAnswer,
    /// The exchange as stored.
    pub recorded: RecordedExchange,
}

/// A send of a JSON dialect without a stream (jombot, jelytech), up to the reply's shape: the
/// bot the body names is admitted and counted (the visitor is the body's user, else its
/// conversation), the body and its message are checked (a body too broken to name a bot is
/// refused with 400, after the key's checks; `bot_field` is the name it has there), and the
/// bot answers ([`answer_or_faq`]).
pub async fn answer_send<R>(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    caller: &crate::caller::Caller,
    body: Result<axum::Json<R>, axum::extract::rejection::JsonRejection>,
    bot_field: &str,
    fields: impl Fn(&R) -> SendFields<'_>,
) -> (
    crate::rate_limit::RateLimitStatus,
    Result<Sent<R>, AppError>,
) {
    let bot_id = access::bot_named_in(&body, |request| fields(request).bot_id);
    let visitor = body.as_ref().ok().and_then(|axum::Json(request)| {
        let fields = fields(request);
        fields.user_id.or(fields.conversation_id).map(str::to_owned)
    });
    let (rate_limit, admitted) = access::admit(
        state,
        headers,
        caller,
        access::BotChoice::from_body(bot_id.as_deref()),
        access::Counting::Count,
        visitor.as_deref(),
    )
    .await;
    let result = async {
        let bot = admitted?.bot;
        let axum::Json(request) = body?;
        if bot_id.is_none() {
            return Err(AppError::InvalidRequest(format!(
                "The \"{bot_field}\" field must name a bot"
            )));
        }
        let SendFields {
            conversation_id,
            message,
            ..
        } = fields(&request);
        access::check_message(message, "message")?;
        let conversation_id = access::conversation_id(conversation_id.map(str::to_owned));
        let (answer, recorded) =
            answer_or_faq(state, &bot, conversation_id.as_deref(), message).await?;
        Ok(Sent {
            request,
            bot,
            answer,
            recorded,
        })
    }
    .await;
    (rate_limit, result)
}

/// The upstream's whole reply to a stored conversation whose last message is `question` (the
/// chataibot dialect, whose answers are delivered apart), and the tokens it reported.
pub async fn reply_to_stored(
    state: &AppState,
    bot: &Bot,
    settings: &Settings,
    conversation_id: &str,
    question: &str,
) -> Result<(String, Option<u64>), AppError> {
    let system = system_message(&state.store, bot, settings, question).await?;
    let conversation = stored_turns(&state.store, conversation_id).await?;
    let messages = messages(system, conversation);
    let client = state.upstream_client_for(settings);
    let mut deltas = open(client, settings, &messages, state.upstream_timeout()).await?;
    let mut text = String::new();
    while let Some(piece) = deltas.next().await? {
        text.push_str(&piece);
    }
    Ok((text, deltas.usage()))
}

/// Builds the context of a stored exchange's reply and opens the upstream's stream.
async fn start(
    state: &AppState,
    bot: &Bot,
    settings: &Settings,
    exchange: &RecordedExchange,
    question: &str,
    conversation: Option<Vec<Turn>>,
) -> Result<Deltas, AppError> {
    let system = system_message(&state.store, bot, settings, question).await?;
    let conversation = match conversation {
        Some(turns) => turns,
        None => stored_turns(&state.store, &exchange.conversation_id).await?,
    };
    let messages = messages(system, conversation);
    open(
        state.upstream_client_for(settings),
        settings,
        &messages,
        state.upstream_timeout(),
    )
    .await
    .map_err(AppError::from)
}

/// The client upstream requests go through (no proxy from the environment; https with
/// rustls and the webpki roots).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The client for settings a bot's secret key chose the URL of: as [`client`], public
/// addresses only ([`crate::webhooks::public_only`]).
pub fn public_client() -> reqwest::Client {
    crate::webhooks::public_only(
        reqwest::Client::builder().connect_timeout(Duration::from_secs(10)),
    )
    .build()
    .unwrap_or_else(|_| reqwest::Client::new())
}

/// The conversation a client sent (the openai dialect), as turns: its system turns are left
/// out, as the bot's own system message comes first.
pub fn client_turns(turns: &[chat_widget_protocol::dialect::openai::ChatTurn]) -> Vec<Turn> {
    use chat_widget_protocol::dialect::openai::Role as R;
    turns
        .iter()
        .filter_map(|t| match t.role {
            R::User => Some(Turn::new("user", t.content.clone())),
            R::Assistant => Some(Turn::new("assistant", t.content.clone())),
            R::System => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let ok = Settings::new("http://127.0.0.1:11434/v1", "llama3");
        assert_eq!(ok.check(), Ok(()));
        assert_eq!(ok.endpoint(), "http://127.0.0.1:11434/v1/chat/completions");
        let full = Settings::new("http://h/v1/chat/completions/", "m");
        assert_eq!(full.endpoint(), "http://h/v1/chat/completions");
        assert_eq!(
            Settings::new("https://api.openai.com/v1", "gpt-4o-mini").check(),
            Ok(())
        );
        for bad in [
            Settings::new("ftp://api.example/v1", "m"),
            Settings::new("https://", "m"),
            Settings::new("http://", "m"),
            Settings::new("http://h/v1", " "),
            Settings {
                temperature: Some(2.5),
                ..ok.clone()
            },
            Settings {
                max_tokens: Some(0),
                ..ok.clone()
            },
            Settings {
                key_env: Some("MY-KEY".into()),
                ..ok.clone()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        let with_key = Settings {
            key_env: Some("OPENAI_API_KEY".into()),
            ..ok
        };
        assert_eq!(with_key.check(), Ok(()));
    }

    #[test]
    fn the_newest_turns_within_the_budget_are_kept() {
        let turns = vec![
            Turn::new("user", "a".repeat(10)),
            Turn::new("assistant", "b".repeat(10)),
            Turn::new("user", "c".repeat(10)),
        ];
        let kept = within_budget(turns.clone(), 25);
        assert_eq!(kept, turns[1..].to_vec());
        assert_eq!(within_budget(turns.clone(), 30), turns);
        // The last turn is kept even when it alone is over the budget.
        assert_eq!(within_budget(turns.clone(), 5), turns[2..].to_vec());
    }

    #[test]
    fn the_request_asks_for_a_stream_with_usage_and_the_sampling_settings() {
        let settings = Settings {
            temperature: Some(0.2),
            max_tokens: Some(300),
            ..Settings::new("http://h/v1", "m")
        };
        let body = request_body(&settings, &[Turn::new("user", "hi")]);
        assert_eq!(body["model"], "m");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["temperature"], 0.2);
        assert_eq!(body["max_tokens"], 300);
        assert_eq!(body["messages"][0]["content"], "hi");
        let plain = request_body(&Settings::new("http://h/v1", "m"), &[]);
        assert!(plain.get("temperature").is_none() && plain.get("max_tokens").is_none());
    }
}
