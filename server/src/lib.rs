//! The chat widget's reference server as a library: [`AppState`] and [`app`], the router that
//! the binary serves and that tests drive with `app(state).oneshot(request)`.
//!
//! * `POST /api/v1/chatbots/{chatbotId}/chat`: the "chatbots" dialect ([`chat`]), answered as
//!   JSON or as Server-Sent Events ([`sse`]).
//! * `GET /`, `GET /demo.css`: the demo host page ([`demo`]).
//! * `GET /widget/*`: the built widget from the dist directory.
//! * `GET /healthz`: `ok`.
//!
//! Storage is SQLite ([`store`]); the demo bot answers from a Markdown FAQ ([`faq`]).
#![deny(missing_docs)]

pub mod chat;
pub mod cli;
pub mod demo;
pub mod error;
pub mod faq;
pub mod ids;
pub mod rate_limit;
pub mod sse;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, Method};
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

pub use error::AppError;
pub use faq::Faq;
pub use rate_limit::RateLimiter;
pub use store::{Store, StoreError};

/// The largest chat request body accepted (a 4000-character message plus metadata fits).
const MAX_CHAT_BODY_BYTES: usize = 64 * 1024;

/// Unix seconds, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The demo bot's brain.
    pub faq: Arc<Faq>,
    /// Requests per bot per window.
    pub limiter: Arc<RateLimiter>,
    /// Where `/widget/*` files come from.
    pub dist_dir: PathBuf,
    /// The listen address, for the demo page when a request has no `Host` header.
    pub listen_addr: String,
    clock: Clock,
    stream_delay: Duration,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("dist_dir", &self.dist_dir)
            .field("listen_addr", &self.listen_addr)
            .field("stream_delay", &self.stream_delay)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state over an open store, with the built-in FAQ, the system clock and streamed
    /// replies paced [`sse::DEFAULT_STREAM_DELAY`] apart.
    pub fn new(store: Store, dist_dir: impl Into<PathBuf>, listen_addr: impl Into<String>) -> Self {
        Self {
            store,
            faq: Arc::new(Faq::builtin()),
            limiter: Arc::new(RateLimiter::default()),
            dist_dir: dist_dir.into(),
            listen_addr: listen_addr.into(),
            clock: Arc::new(system_now_unix),
            stream_delay: sse::DEFAULT_STREAM_DELAY,
        }
    }

    /// Opens the data directory (see [`Store::open`]) and builds a state over it.
    pub fn open(
        data_dir: &Path,
        dist_dir: impl Into<PathBuf>,
        listen_addr: impl Into<String>,
    ) -> Result<Self, StoreError> {
        Ok(Self::new(Store::open(data_dir)?, dist_dir, listen_addr))
    }

    /// The same state with another clock (tests move time forward with it).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same state with another pause between two deltas of a streamed reply (zero sends
    /// them as fast as the connection takes them).
    pub fn with_stream_delay(mut self, delay: Duration) -> Self {
        self.stream_delay = delay;
        self
    }

    /// The pause between two deltas of a streamed reply.
    pub fn stream_delay(&self) -> Duration {
        self.stream_delay
    }

    /// Unix seconds now, by this state's clock.
    pub fn now_unix(&self) -> u64 {
        (self.clock)()
    }
}

/// Unix seconds by the system clock (0 before 1970).
pub fn system_now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let widget_files = ServeDir::new(&state.dist_dir);
    Router::new()
        .route(
            "/api/v1/chatbots/{chatbot_id}/chat",
            post(chat::chat).layer(DefaultBodyLimit::max(MAX_CHAT_BODY_BYTES)),
        )
        .route("/", get(demo::index))
        .route("/demo.css", get(demo::stylesheet))
        .route("/favicon.ico", get(demo::favicon))
        .route("/favicon.svg", get(demo::favicon))
        .route("/healthz", get(|| async { "ok" }))
        .nest_service("/widget", widget_files)
        .layer(cors())
        .with_state(state)
}

/// Any page may call the API (the key's allowed origins decide, in [`chat`]), and may load the
/// widget's files, which a page on another origin fetches with CORS (the `.wasm`).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}
