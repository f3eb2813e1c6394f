//! The chat widget's reference server as a library: [`AppState`] and [`app`], the router that
//! the binary serves and that tests drive with `app(state).oneshot(request)`.
//!
//! * `POST /api/v1/chatbots/{chatbotId}/chat`: the "chatbots" dialect ([`chat`]), answered as
//!   JSON or as Server-Sent Events ([`sse`]).
//! * `POST /v1/chat/message`: the "jombot" dialect ([`jombot`]).
//! * `POST /v1/chat/send`, `GET /v1/chat/history/{conversationId}`, `POST /v1/bots`,
//!   `GET /v1/bots/{botId}`, `GET /v1/bots/{botId}/analytics`: the "jelytech" dialect
//!   ([`jelytech`]).
//! * `POST /api/v1/conversations`, `POST|GET /api/v1/conversation/{id}/messages`: the
//!   "chataibot" dialect ([`chataibot`]), whose answers arrive later, by polling or SSE.
//! * `POST /v1/chat/completions`: the "openai" dialect ([`openai`]), JSON or `[DONE]`-ended SSE.
//! * `POST /v1/bots/{botId}/train`, `GET /v1/bots/{botId}/documents`,
//!   `DELETE /v1/bots/{botId}/documents/{id}`: training documents ([`training`]).
//! * `GET|PUT|DELETE /v1/bots/{botId}/upstream`: the bot's AI model ([`upstream`]).
//! * `POST|GET /v1/bots/{botId}/webhooks`, `DELETE /v1/bots/{botId}/webhooks/{id}`,
//!   `GET /v1/bots/{botId}/webhooks/{id}/deliveries`: webhook endpoints ([`webhooks`]).
//!
//! All of them share the data (bots, keys, conversations, messages), the checks of the key,
//! the origin and the rate limit ([`access`]), credits and the monthly quota; each answers
//! errors in its own shape ([`AppError::into_dialect_response`]).
//! * `GET /`, `GET /demo.css`: the demo host page ([`demo`]).
//! * `GET /widget/*`: the built widget from the dist directory ([`assets`]): precompressed
//!   `.br`/`.gz` siblings when the browser accepts them, content-hashed files cached for a year
//!   as immutable, the loader `chat-widget.js` and other stable names for 5 minutes.
//! * `GET /healthz`: `ok`.
//!
//! Around every route: a request id and a log line per request, JSON errors for what the
//! framework answers (404, 405, 408, 413, 414, 431) and a request timeout ([`middleware`]).
//! The binary serves it with a cap on connections and a header timeout ([`serve`]).
//!
//! Storage is SQLite in a data directory or PostgreSQL shared by several instances
//! ([`store`], over sqlx); [`maintain`] is the background work of a serving process. A bot
//! answers with its AI model when it has one ([`upstream`]), else from its training documents
//! ([`faq`], [`documents`]): the demo bot's first one is the built-in Markdown FAQ.
#![deny(missing_docs)]

pub mod access;
pub mod assets;
pub mod caller;
pub mod chat;
pub mod chataibot;
pub mod cli;
pub mod dates;
pub mod demo;
pub mod documents;
pub mod error;
pub mod faq;
pub mod ids;
pub mod jelytech;
pub mod jombot;
pub mod middleware;
pub mod openai;
pub mod paging;
pub mod rate_limit;
pub mod retention;
pub mod serve;
pub mod sse;
pub mod store;
pub mod training;
pub mod upstream;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, Method};
use axum::routing::{delete, get, post};
use axum::Router;
use chat_widget_protocol::dialect;
use tower::util::MapRequestLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

pub use error::AppError;
pub use faq::Faq;
pub use rate_limit::RateLimiter;
pub use store::{Store, StoreError};

/// The largest chat request body accepted (a 4000-character message plus metadata fits).
const MAX_CHAT_BODY_BYTES: usize = 64 * 1024;

/// Room for a training upload's form around its file (boundaries, headers, metadata).
const UPLOAD_FORM_BYTES: usize = 64 * 1024;

/// The request timeout unless the server says otherwise ([`AppState::with_request_timeout`]).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Unix seconds, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Requests per scope per window, counted in the database
    /// ([`AppState::with_rate_window_secs`] sets its length).
    pub limiter: RateLimiter,
    /// Where `/widget/*` files come from.
    pub dist_dir: PathBuf,
    /// The listen address, for the demo page when a request has no `Host` header.
    pub listen_addr: String,
    clock: Clock,
    stream_delay: Duration,
    reply_delay: Duration,
    listen_idle_timeout: Duration,
    request_timeout: Duration,
    trust_forwarded_for: bool,
    admin_token: Option<access::TokenDigest>,
    max_upload_bytes: usize,
    webhook_retry_ms: i64,
    conversation_idle: Duration,
    retention: Option<(u32, Duration)>,
    webhook_clients: webhooks::Clients,
    upstream_client: reqwest::Client,
    public_upstream_client: reqwest::Client,
    upstream_timeout: Duration,
    deliveries: Arc<chataibot::Deliveries>,
    extractions: Arc<tokio::sync::Semaphore>,
    extraction_wait: Duration,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("dist_dir", &self.dist_dir)
            .field("listen_addr", &self.listen_addr)
            .field("stream_delay", &self.stream_delay)
            .field("reply_delay", &self.reply_delay)
            .field("listen_idle_timeout", &self.listen_idle_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state over an open store, with the built-in FAQ, the system clock, 60-second
    /// rate-limit windows, streamed replies paced [`sse::DEFAULT_STREAM_DELAY`] apart,
    /// chataibot answers delivered [`chataibot::DEFAULT_REPLY_DELAY`] after the visitor's
    /// message, and no admin token.
    pub fn new(store: Store, dist_dir: impl Into<PathBuf>, listen_addr: impl Into<String>) -> Self {
        Self {
            store,
            limiter: RateLimiter::default(),
            dist_dir: dist_dir.into(),
            listen_addr: listen_addr.into(),
            clock: Arc::new(system_now_unix),
            stream_delay: sse::DEFAULT_STREAM_DELAY,
            reply_delay: chataibot::DEFAULT_REPLY_DELAY,
            listen_idle_timeout: chataibot::DEFAULT_LISTEN_IDLE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            trust_forwarded_for: false,
            admin_token: None,
            max_upload_bytes: documents::DEFAULT_MAX_UPLOAD_BYTES,
            webhook_retry_ms: webhooks::FIRST_RETRY_DELAY_MS,
            conversation_idle: webhooks::DEFAULT_CONVERSATION_IDLE,
            retention: None,
            webhook_clients: webhooks::Clients::default(),
            upstream_client: upstream::client(),
            public_upstream_client: upstream::public_client(),
            upstream_timeout: upstream::DEFAULT_TIMEOUT,
            deliveries: Arc::new(chataibot::Deliveries::default()),
            extractions: Arc::new(tokio::sync::Semaphore::new(
                documents::default_max_extractions().clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
            )),
            extraction_wait: documents::EXTRACTION_WAIT,
        }
    }

    /// Opens the data directory (see [`Store::open`]) and builds a state over it.
    pub async fn open(
        data_dir: &Path,
        dist_dir: impl Into<PathBuf>,
        listen_addr: impl Into<String>,
    ) -> Result<Self, StoreError> {
        Ok(Self::new(
            Store::open(data_dir).await?,
            dist_dir,
            listen_addr,
        ))
    }

    /// The same state with another clock (tests move time forward with it).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same state with rate-limit windows of `secs` seconds (at least 1) instead of
    /// [`rate_limit::DEFAULT_WINDOW_SECS`]; a bot's limit then counts requests per such
    /// window (a window already open keeps the length it started with).
    pub fn with_rate_window_secs(mut self, secs: u64) -> Self {
        self.limiter = RateLimiter::new(secs);
        self
    }

    /// How long a rate-limit window lasts, in seconds.
    pub fn rate_window_secs(&self) -> u64 {
        self.limiter.window_secs()
    }

    /// The same state with another pause between two deltas of a streamed reply (zero sends
    /// them as fast as the connection takes them).
    pub fn with_stream_delay(mut self, delay: Duration) -> Self {
        self.stream_delay = delay;
        self
    }

    /// The same state with another limit on an AI upstream's silence (before its answer
    /// starts and between two chunks); past it the reply fails with 504.
    pub fn with_upstream_timeout(mut self, timeout: Duration) -> Self {
        self.upstream_timeout = timeout;
        self
    }

    /// How long an AI upstream may stay silent.
    pub fn upstream_timeout(&self) -> Duration {
        self.upstream_timeout
    }

    /// The HTTP client of AI upstream requests.
    pub fn upstream_client(&self) -> &reqwest::Client {
        &self.upstream_client
    }

    /// The HTTP client for an upstream's settings: public addresses only when a bot's secret
    /// key chose its URL ([`upstream::Settings::public_only`]).
    pub fn upstream_client_for(&self, settings: &upstream::Settings) -> &reqwest::Client {
        if settings.public_only {
            &self.public_upstream_client
        } else {
            &self.upstream_client
        }
    }

    /// The pause between two deltas of a streamed reply.
    pub fn stream_delay(&self) -> Duration {
        self.stream_delay
    }

    /// The same state with another delay before a chataibot answer is delivered.
    pub fn with_reply_delay(mut self, delay: Duration) -> Self {
        self.reply_delay = delay;
        self
    }

    /// How long after the visitor's message a chataibot answer is delivered.
    pub fn reply_delay(&self) -> Duration {
        self.reply_delay
    }

    /// The same state with another idle time after which a chataibot listening stream ends.
    pub fn with_listen_idle_timeout(mut self, timeout: Duration) -> Self {
        self.listen_idle_timeout = timeout;
        self
    }

    /// How long a chataibot listening stream stays open without a new message.
    pub fn listen_idle_timeout(&self) -> Duration {
        self.listen_idle_timeout
    }

    /// The same state with another request timeout: the time from a request's head to its
    /// response's head, reading the body included (408 after it).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a request may take to arrive in full and be answered (its response's head).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The same state taking the client's address from `X-Forwarded-For` (behind a reverse
    /// proxy that sets it) instead of the connection's peer; see [`caller::Caller`].
    pub fn with_trust_forwarded_for(mut self, trust: bool) -> Self {
        self.trust_forwarded_for = trust;
        self
    }

    /// Whether the client's address comes from `X-Forwarded-For`.
    pub fn trusts_forwarded_for(&self) -> bool {
        self.trust_forwarded_for
    }

    /// The same state with an admin token, which `POST /v1/bots` requires (without one, bots
    /// are created with the `bot` admin command only). An empty token counts as none. Only its
    /// SHA-256 is kept, which requests' tokens are compared with ([`access::is_admin`]).
    pub fn with_admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token
            .filter(|t| !t.is_empty())
            .map(|t| access::token_digest(&t));
        self
    }

    /// The SHA-256 of the admin token, if the server has one.
    pub(crate) fn admin_token_digest(&self) -> Option<&access::TokenDigest> {
        self.admin_token.as_ref()
    }

    /// The same state with another size limit for training documents (bytes of the file).
    pub fn with_max_upload_bytes(mut self, bytes: usize) -> Self {
        self.max_upload_bytes = bytes;
        self
    }

    /// The largest training document accepted, in bytes.
    pub fn max_upload_bytes(&self) -> usize {
        self.max_upload_bytes
    }

    /// The same state extracting the text of at most `slots` HTML or PDF uploads at once (at
    /// least 1; `--max-extractions`, by default [`documents::default_max_extractions`]). Each
    /// extraction is CPU-bound and, in the binary, a child process that may run up to
    /// [`documents::EXTRACTION_TIMEOUT`]: without a limit, clients with secret keys could start
    /// hundreds of them at once. The slots are this process's (they guard this machine's
    /// cores, nothing instances must agree on), shared by the state's clones; an extraction
    /// holds its slot until it has ended, even when its client has gone.
    pub fn with_max_extractions(mut self, slots: usize) -> Self {
        let slots = slots.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self.extractions = Arc::new(tokio::sync::Semaphore::new(slots));
        self
    }

    /// The same state with another longest wait for an extraction slot (by default
    /// [`documents::EXTRACTION_WAIT`]); an upload that gets none in time is refused with 503
    /// and `Retry-After`.
    pub fn with_extraction_wait(mut self, wait: Duration) -> Self {
        self.extraction_wait = wait;
        self
    }

    /// The extraction slots ([`AppState::with_max_extractions`]); a test takes them to stand
    /// for extractions under way.
    pub fn extraction_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.extractions
    }

    /// How long an upload waits for an extraction slot: the wait set, at most half the
    /// request timeout, so that the client hears the 503 rather than the timeout's 408.
    pub fn extraction_wait(&self) -> Duration {
        self.extraction_wait.min(self.request_timeout / 2)
    }

    /// The same state with another first webhook retry delay (tests shorten it; each next
    /// retry doubles it).
    pub fn with_webhook_retry(mut self, first: Duration) -> Self {
        self.webhook_retry_ms = i64::try_from(first.as_millis()).unwrap_or(i64::MAX).max(1);
        self
    }

    /// The same state with another time without a message after which a conversation has
    /// ended (the `conversation.ended` webhook).
    pub fn with_conversation_idle(mut self, idle: Duration) -> Self {
        self.conversation_idle = idle;
        self
    }

    /// The same state deleting conversations with no message for `days` days, looking every
    /// `every` ([`retention`]; `None` keeps everything, the default).
    pub fn with_retention(mut self, days: Option<u32>, every: Duration) -> Self {
        self.retention = days.map(|days| (days, every.max(Duration::from_secs(1))));
        self
    }

    /// Queues `conversation.ended` for the conversations idle too long, then posts the
    /// webhook deliveries that are due (what [`maintain`] does every second).
    pub async fn deliver_webhooks(&self) -> Result<usize, StoreError> {
        webhooks::end_idle_conversations(&self.store, self.conversation_idle, 100).await?;
        webhooks::deliver_due(
            &self.store,
            &self.webhook_clients,
            32,
            self.webhook_retry_ms,
        )
        .await
    }

    /// The signal that a chataibot answer was stored.
    pub fn deliveries(&self) -> &Arc<chataibot::Deliveries> {
        &self.deliveries
    }

    /// Unix seconds now, by this state's clock.
    pub fn now_unix(&self) -> u64 {
        (self.clock)()
    }
}

/// How often [`maintain`] runs.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(1);
/// Ended rate-limit windows deleted per statement by [`maintain`].
const PRUNE_BATCH: u32 = 1000;
/// At most this many batches per tick (100,000 windows a second).
const PRUNE_BATCHES: u32 = 100;
/// An instance whose heartbeat is older than this is dead: its unfinished streamed replies
/// are marked interrupted.
pub const INSTANCE_STALE_AFTER: Duration = Duration::from_secs(10);

/// The background work of a serving process, every [`MAINTENANCE_INTERVAL`] until the server
/// stops ([`chataibot::Deliveries::close`]): its heartbeat; marking the replies that dead
/// instances were streaming as interrupted; claiming and answering (in a task of their own)
/// the chataibot jobs that are due and that nobody holds (a crashed instance's, or a missed
/// timer's); posting due webhooks (in a task of their own too); and deleting
/// ended rate-limit windows, in bounded batches; with `--retain-days`, deleting old
/// conversations ([`retention`]). Errors are logged and retried.
pub async fn maintain(state: AppState) {
    let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_retention = tokio::time::Instant::now();
    let mut answering: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tick.tick().await;
        if state.deliveries().is_closing() {
            return;
        }
        if let Some((days, every)) = state.retention {
            if tokio::time::Instant::now() >= next_retention {
                next_retention = tokio::time::Instant::now() + every;
                // In a task of its own: a first run over a big database holds up nothing else.
                let store = state.store.clone();
                tokio::spawn(async move {
                    match retention::purge(&store, days).await {
                        Ok(purged) if purged.conversations > 0 => tracing::info!(
                            conversations = purged.conversations,
                            messages = purged.messages,
                            days,
                            "deleted old conversations"
                        ),
                        Ok(_) => {}
                        Err(err) => {
                            tracing::error!(error = %err, "cannot delete old conversations");
                        }
                    }
                });
            }
        }
        if let Err(err) = state.store.heartbeat().await {
            tracing::error!(error = %err, "cannot record the heartbeat");
        }
        if let Err(err) = state.store.sweep_interrupted(INSTANCE_STALE_AFTER).await {
            tracing::error!(error = %err, "cannot mark interrupted replies");
        }
        // Answered in a task of their own, one such task at a time: a model can write for a
        // minute, and the heartbeat must not wait for it, or the other instances would take
        // this one for dead and mark the replies it is streaming as interrupted.
        if answering.as_ref().is_none_or(|task| task.is_finished()) {
            answering = Some(tokio::spawn(answer_due_jobs(state.clone())));
        }
        // Posted in a task of their own: a slow receiver never holds up the rest.
        let webhooks = state.clone();
        tokio::spawn(async move {
            if let Err(err) = webhooks.deliver_webhooks().await {
                tracing::error!(error = %err, "cannot deliver webhooks");
            }
        });
        // Every ended window, in batches (bounded work per batch): windows live one window
        // and a tick at most, so their number follows the request rate, not invented ids.
        for _ in 0..PRUNE_BATCHES {
            match state
                .limiter
                .prune(&state.store, state.now_unix(), PRUNE_BATCH)
                .await
            {
                Ok(pruned) if pruned < u64::from(PRUNE_BATCH) => break,
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(error = %err, "cannot prune rate-limit windows");
                    break;
                }
            }
        }
    }
}

/// Claims the chataibot answers that are due and that nobody holds, and answers them, a batch
/// at a time, the batch's concurrently (each renews its claim while its model writes).
async fn answer_due_jobs(state: AppState) {
    loop {
        match state.store.claim_due_jobs(16).await {
            Ok(jobs) if jobs.is_empty() => break,
            Ok(jobs) => {
                let answers = jobs.into_iter().map(|job| chataibot::deliver(&state, job));
                futures_util::future::join_all(answers).await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot claim due answers");
                break;
            }
        }
    }
}

/// Unix seconds by the system clock (0 before 1970).
pub fn system_now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The whole HTTP application: the routes listed in the crate documentation, all behind one
/// CORS layer that lets pages on any origin call them and load the widget.
///
/// `/widget/*` serves `state.dist_dir` ([`assets::service`]): a file's `.br` sibling when the
/// request's `Accept-Encoding` allows brotli, else its `.gz` sibling when it allows gzip, else
/// the file itself, always with the original file's `Content-Type`, `Last-Modified` (`304` on
/// `If-Modified-Since`) and `Vary: Accept-Encoding`. Files with a content hash in their name
/// (`core/chat-widget.3f9a1c0b2d7e.wasm`) get `Cache-Control:` [`assets::IMMUTABLE`]; the
/// loader `chat-widget.js` and every other file [`assets::REVALIDATE`]; responses that are not
/// a file (`404`...) [`assets::NOT_A_FILE`].
///
/// The layers of [`middleware`] wrap everything: request id, log line, JSON errors, head
/// limits, request timeout.
pub fn app(state: AppState) -> Router {
    let widget_files = assets::service(&state.dist_dir);
    let request_timeout = state.request_timeout;
    let max_upload = state.max_upload_bytes;
    Router::new()
        .route(
            "/api/v1/chatbots/{chatbot_id}/chat",
            post(chat::chat).layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route(
            dialect::jombot::CHAT_PATH,
            post(jombot::message).layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route(
            dialect::jelytech::SEND_PATH,
            post(jelytech::send).layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route("/v1/chat/history/{conversation_id}", get(jelytech::history))
        .route(
            dialect::jelytech::BOTS_PATH,
            post(jelytech::create_bot).layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route("/v1/bots/{bot_id}", get(jelytech::read_bot))
        .route("/v1/bots/{bot_id}/analytics", get(jelytech::analytics))
        .route(
            "/v1/bots/{bot_id}/train",
            // The file plus the form's own bytes; a file over the limit is refused as it
            // arrives (413).
            post(training::train).layer(DefaultBodyLimit::max(
                max_upload.saturating_add(UPLOAD_FORM_BYTES),
            )),
        )
        .route("/v1/bots/{bot_id}/documents", get(training::list))
        .route(
            "/v1/bots/{bot_id}/upstream",
            get(upstream::endpoint)
                .put(upstream::endpoint)
                .delete(upstream::endpoint)
                .layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route(
            "/v1/bots/{bot_id}/webhooks",
            get(webhooks::index)
                .post(webhooks::create)
                .layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route(
            "/v1/bots/{bot_id}/webhooks/{webhook_id}",
            delete(webhooks::remove),
        )
        .route(
            "/v1/bots/{bot_id}/webhooks/{webhook_id}/deliveries",
            get(webhooks::delivery_log),
        )
        .route(
            "/v1/bots/{bot_id}/documents/{document_id}",
            delete(training::delete),
        )
        .route(
            dialect::chataibot::START_PATH,
            post(chataibot::start).layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route(
            "/api/v1/conversation/{conversation_id}/messages",
            get(chataibot::messages)
                .post(chataibot::send)
                .layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route(
            dialect::openai::CHAT_COMPLETIONS_PATH,
            // The whole history comes with every request.
            post(openai::completions).layer(DefaultBodyLimit::max(4 * MAX_CHAT_BODY_BYTES)),
        )
        .route("/", get(demo::index))
        .route("/demo.css", get(demo::stylesheet))
        .route("/favicon.ico", get(demo::favicon))
        .route("/favicon.svg", get(demo::favicon))
        .route("/healthz", get(|| async { "ok" }))
        .nest_service("/widget", widget_files)
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(middleware::head_limits))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(cors())
        .layer(PropagateRequestIdLayer::new(middleware::REQUEST_ID))
        .layer(middleware::trace_layer())
        .layer(SetRequestIdLayer::new(
            middleware::REQUEST_ID,
            MakeRequestUuid,
        ))
        .layer(MapRequestLayer::new(middleware::forget_client_request_id))
        .with_state(state)
}

/// Any page may call the API (the key's allowed origins decide, in [`access`]), and may load
/// the widget's files, which a page on another origin fetches with CORS (the loader's
/// `import()` of the core script, the `.wasm`); the headers go on every response, `304`s
/// included. The chataibot listening form is a GET with `Authorization` and
/// `Accept: text/event-stream` (and `Last-Event-ID` when it resumes).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            header::RETRY_AFTER,
            middleware::REQUEST_ID,
        ])
        .max_age(Duration::from_secs(600))
}
