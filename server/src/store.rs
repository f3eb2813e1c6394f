//! Storage over `sqlx`: bots, publishable API keys, conversations and messages, and what the
//! hot paths need to stay O(1) in the data size (a monthly usage counter per bot, daily
//! analytics rollups, rate-limit windows, pending chataibot answers). The schema lives in
//! `server/migrations/<backend>/` and only there.
//!
//! Two backends, one code path (sqlx's `Any` driver, the same SQL for both except where
//! noted):
//! * **SQLite** in a data directory (the default, nothing to install): WAL with
//!   `synchronous = FULL` (a commit is on disk before a request hears it is stored, as with
//!   the rusqlite server; the group commit commits its batches without waiting and answers
//!   them after flushing the log itself, while the next batch commits: `store/flush.rs`), one writer connection
//!   (write transactions begin `IMMEDIATE`, so they queue in the pool instead of failing on a
//!   busy database) and a pool of read-only readers. `temp_store = MEMORY`: an upsert's
//!   `RETURNING` rows go through a temporary table, which would otherwise be a file created
//!   and deleted per statement.
//! * **PostgreSQL** ([`Store::connect`] with `postgres://…`): one pool; several server
//!   processes may share the database. Everything they must agree on is in it: rate-limit
//!   windows, the usage counters, pending answers (claimed with `FOR UPDATE SKIP LOCKED`).
//!
//! Every read comes straight from the database, so a change made by the `bot` admin command
//! (another process) takes effect on the running server's next request.
//!
//! A JSON reply is stored with its question in one transaction ([`Store::record_exchange`]).
//! A streamed reply is stored in steps: [`Store::begin_streamed_exchange`] stores the question
//! and an empty reply marked incomplete (spending the credit), then [`Store::finish_reply`]
//! writes the text that was sent, or [`Store::withdraw_reply`] removes a reply of which
//! nothing was sent and gives the credit back. A reply whose server died mid-stream (its
//! instance stopped sending heartbeats) is marked interrupted by [`Store::sweep_interrupted`],
//! and its credit and quota are given back.
//!
//! A visitor message whose answer is delivered later (the chataibot dialect) is stored with a
//! job for its answer ([`Store::record_visitor_message`]); whichever instance claims the job
//! ([`Store::claim_job`], [`Store::claim_due_jobs`]) stores the answer and deletes the job in
//! one transaction ([`Store::deliver_job`]). A job claimed by an instance that died is claimed
//! again when its lease ends, so an acknowledged message always gets its answer.
//!
//! Limits: `credits` (replies left, 402 when none) and `monthly_quota` (assistant replies per
//! UTC calendar month, stored or promised, 403 when used up) are checked and spent in the
//! same transaction as the message they pay for, against the `monthly_usage` counter.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_widget_protocol::SuggestedAction;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};

use crate::dates;
use crate::ids::{self, RandomError};
use crate::paging::Cursor;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "chat.sqlite3";

/// The demo bot created on first start (streaming by default: the widget shows a reply as it
/// is typed).
pub const DEMO_BOT_ID: &str = "demo";
const DEMO_BOT_NAME: &str = "Acme Assistant";
const DEMO_BOT_GREETING: &str =
    "Hi! I'm the Acme assistant. Ask me about orders, shipping, returns or this widget.";
/// The primary colour of new bots (and of the demo bot).
pub const DEFAULT_PRIMARY_COLOR: &str = "#0a7cff";
/// Where the launcher of new bots sits.
pub const DEFAULT_POSITION: &str = "bottom-right";
/// The requests per window of new bots (and of the demo bot), all visitors together.
pub const DEFAULT_RATE_LIMIT: u32 = 600;
/// The requests per window of each visitor of a new bot (the column's default).
pub const DEFAULT_VISITOR_RATE_LIMIT: u32 = 30;

/// How many read-only connections the SQLite backend opens (besides its one writer).
const SQLITE_READERS: u32 = 4;
/// Connections for analytics reads (both backends), apart from the chat requests' readers.
const ANALYTICS_CONNECTIONS: u32 = 2;

/// How long a query waits for a free connection, and the server's start for a database that
/// does not answer yet.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

/// The PostgreSQL pool's size, unless [`StoreOptions::max_connections`] says otherwise.
pub const DEFAULT_PG_CONNECTIONS: u32 = 16;
/// How long a claimed chataibot job is its instance's before another may claim it.
pub const JOB_LEASE_MS: i64 = 10_000;
/// Questions longer than this (in bytes, after trimming and lower-casing) are compared by
/// their beginning only in `topQuestions` (an index entry must stay small).
const QUESTION_KEY_BYTES: usize = 512;
const MS_PER_DAY: i64 = 86_400_000;

mod flush;
mod group;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Why a storage operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// The data directory could not be created.
    Io(PathBuf, std::io::Error),
    /// The database said no (or could not be reached).
    Database(sqlx::Error),
    /// The schema could not be brought up to date.
    Migrate(sqlx::migrate::MigrateError),
    /// A `--database-url` this server cannot use.
    UnsupportedUrl(String),
    /// No random bytes for a new id or key.
    Random(RandomError),
    /// No bot with this id.
    UnknownBot(String),
    /// A bot with this id exists already.
    BotExists(String),
    /// The PostgreSQL server at this (redacted) URL did not answer in time.
    Unreachable(String),
    /// A bot id that could not be part of a URL path.
    InvalidBotId(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(path, err) => {
                write!(f, "cannot use the data directory {}: {err}", path.display())
            }
            Self::Database(err) => write!(f, "database error: {err}"),
            Self::Unreachable(url) => write!(
                f,
                "PostgreSQL at {url} did not answer within {} s",
                ACQUIRE_TIMEOUT.as_secs()
            ),
            Self::Migrate(err) => write!(f, "cannot migrate the database: {err}"),
            Self::UnsupportedUrl(url) => write!(
                f,
                "unsupported database URL {url:?}: use postgres://user@host:port/database"
            ),
            Self::Random(err) => err.fmt(f),
            Self::UnknownBot(id) => write!(f, "no bot with id {id:?}"),
            Self::BotExists(id) => write!(f, "a bot with id {id:?} exists already"),
            Self::InvalidBotId(id) => {
                write!(
                    f,
                    "invalid bot id {id:?}: use 1 to 64 letters, digits, '-' or '_'"
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Migrate(err)
    }
}

impl From<RandomError> for StoreError {
    fn from(err: RandomError) -> Self {
        Self::Random(err)
    }
}

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file in the data directory.
    Sqlite,
    /// A PostgreSQL server, possibly shared by several instances.
    Postgres,
}

/// A chatbot and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    /// The id in `/api/v1/chatbots/{id}/chat`.
    pub id: String,
    /// The name the bot introduces itself with.
    pub name: String,
    /// The launcher's greeting.
    pub greeting: String,
    /// The widget's primary colour, as CSS.
    pub primary_color: String,
    /// Where the launcher sits (`bottom-right`, `bottom-left`).
    pub position: String,
    /// Whether a request without `stream` gets a streamed reply.
    pub stream_default: bool,
    /// Replies left; `None` is unlimited.
    pub credits: Option<u64>,
    /// Requests allowed per rate-limit window, all visitors together.
    pub rate_limit_per_minute: u32,
    /// Requests allowed per rate-limit window to each visitor.
    pub visitor_rate_limit: u32,
    /// Assistant replies allowed per UTC calendar month; `None` is unlimited.
    pub monthly_quota: Option<u64>,
    /// What the bot is for (set when created through the jelytech dialect).
    pub description: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

const BOT_COLUMNS: &str = "id, name, greeting, primary_color, position, stream_default, credits,
    rate_limit_per_minute, visitor_rate_limit, monthly_quota, description, created_at";

impl Bot {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            greeting: row.try_get("greeting")?,
            primary_color: row.try_get("primary_color")?,
            position: row.try_get("position")?,
            stream_default: row.try_get::<i64, _>("stream_default")? != 0,
            credits: row
                .try_get::<Option<i64>, _>("credits")?
                .map(|c| u64::try_from(c).unwrap_or(0)),
            rate_limit_per_minute: u32::try_from(
                row.try_get::<i64, _>("rate_limit_per_minute")?.max(0),
            )
            .unwrap_or(u32::MAX),
            visitor_rate_limit: u32::try_from(row.try_get::<i64, _>("visitor_rate_limit")?.max(0))
                .unwrap_or(u32::MAX),
            monthly_quota: row
                .try_get::<Option<i64>, _>("monthly_quota")?
                .map(|q| u64::try_from(q).unwrap_or(0)),
            description: row.try_get("description")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// Which page origins may use a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (stored as `*`).
    Any,
    /// Only these origins, e.g. `https://shop.example` (stored comma-separated).
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Reads `*` or a comma-separated list. An empty list allows no origin.
    pub fn parse(text: &str) -> Self {
        if text.trim() == "*" {
            return Self::Any;
        }
        Self::List(
            text.split(',')
                .map(normalise_origin)
                .filter(|origin| !origin.is_empty())
                .collect(),
        )
    }

    /// Whether a request from this `Origin` header value may use the key.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => {
                let origin = normalise_origin(origin);
                list.contains(&origin)
            }
        }
    }
}

impl fmt::Display for AllowedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::List(list) => f.write_str(&list.join(",")),
        }
    }
}

/// Origins compare without case and without a trailing slash.
fn normalise_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// A publishable API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `pk_live_...`
    pub key: String,
    /// The only bot it works for.
    pub bot_id: String,
    /// The page origins it works from.
    pub allowed_origins: AllowedOrigins,
    /// An inactive key is refused like an unknown one.
    pub active: bool,
}

impl ApiKey {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            key: row.try_get("key")?,
            bot_id: row.try_get("bot_id")?,
            allowed_origins: AllowedOrigins::parse(&row.try_get::<String, _>("allowed_origins")?),
            active: row.try_get::<i64, _>("active")? != 0,
        })
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The visitor.
    User,
    /// The bot.
    Assistant,
}

impl Role {
    /// `user` or `assistant`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// `msg_...`
    pub id: String,
    /// `conv_...`
    pub conversation_id: String,
    /// Who wrote it.
    pub role: Role,
    /// The text (Markdown for the bot).
    pub content: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// False while a streamed reply is being written, and for good if the visitor left before
    /// it finished or the server died while sending it: `content` is then what had been sent.
    pub complete: bool,
    /// True for a streamed reply that its server's crash cut off (it costs no credit and
    /// does not count towards the quota).
    pub interrupted: bool,
    /// Quick replies stored with a bot message (only those delivered later, see
    /// [`Store::deliver_job`]; empty otherwise).
    pub suggested_actions: Vec<SuggestedAction>,
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, role, content, created_at, complete, interrupted, actions";

impl StoredMessage {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let actions: Option<String> = row.try_get("actions")?;
        Ok(Self {
            id: row.try_get("id")?,
            conversation_id: row.try_get("conversation_id")?,
            role: if row.try_get::<String, _>("role")? == "user" {
                Role::User
            } else {
                Role::Assistant
            },
            content: row.try_get("content")?,
            created_at: row.try_get("created_at")?,
            complete: row.try_get::<i64, _>("complete")? != 0,
            interrupted: row.try_get::<i64, _>("interrupted")? != 0,
            // Written by this server only; anything unreadable is shown without buttons.
            suggested_actions: actions
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default(),
        })
    }

    /// Whether a client may see it: anything but a streamed reply that has not sent a word
    /// yet (and is still being written).
    pub fn is_visible(&self) -> bool {
        self.complete || !self.content.is_empty() || self.interrupted
    }
}

/// A page of a conversation's messages ([`Store::messages_page`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessagePage {
    /// Oldest first.
    pub messages: Vec<StoredMessage>,
    /// Whether the conversation has messages older than the page's first.
    pub older: bool,
    /// Whether it has messages newer than the page's last.
    pub newer: bool,
}

/// Settings the `bot` admin command changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotUpdate {
    /// `Some(None)` makes credits unlimited.
    pub credits: Option<Option<u64>>,
    /// Requests per window, all visitors together.
    pub rate_limit_per_minute: Option<u32>,
    /// Requests per window for each visitor.
    pub visitor_rate_limit: Option<u32>,
    /// Origins allowed for all of the bot's keys.
    pub allowed_origins: Option<AllowedOrigins>,
    /// Streamed replies by default.
    pub stream_default: Option<bool>,
    /// Activates or deactivates all of the bot's keys.
    pub keys_active: Option<bool>,
    /// `Some(None)` makes the monthly quota unlimited.
    pub monthly_quota: Option<Option<u64>>,
}

/// A bot to create: [`Store::create_bot_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBot {
    /// Its id (1 to 64 letters, digits, `-` or `_`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The launcher's greeting.
    pub greeting: String,
    /// The primary colour, as CSS.
    pub primary_color: String,
    /// `bottom-right` or `bottom-left`.
    pub position: String,
}

impl NewBot {
    /// A bot with this id and name and the default settings.
    pub fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            greeting: format!("Hi! I'm {name}. How can I help?"),
            primary_color: DEFAULT_PRIMARY_COLOR.to_owned(),
            position: DEFAULT_POSITION.to_owned(),
        }
    }
}

/// One visitor message and the bot's reply, stored together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedExchange {
    /// The conversation they were stored in (new if the request's was absent or unknown).
    pub conversation_id: String,
    /// Whether that conversation was started by this exchange.
    pub new_conversation: bool,
    /// The visitor message's id.
    pub user_message_id: String,
    /// The reply's id.
    pub reply_message_id: String,
    /// When both were stored, unix milliseconds.
    pub created_at: i64,
}

/// A visitor message stored alone, its answer to follow ([`Store::record_visitor_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedMessage {
    /// The conversation it was stored in.
    pub conversation_id: String,
    /// Whether that conversation was started by it.
    pub new_conversation: bool,
    /// The message's id.
    pub message_id: String,
    /// When it was stored, unix milliseconds.
    pub created_at: i64,
}

/// What happened to something that costs a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Stored, and one credit spent if the bot's credits are limited.
    Recorded(T),
    /// The bot has no credits left; nothing was stored.
    NoCredits,
    /// The bot's monthly quota of replies is used up; nothing was stored.
    QuotaExceeded,
}

/// What happened to an exchange.
pub type ExchangeOutcome = Outcome<RecordedExchange>;

/// A visitor message stored alone, and the job that will store its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromisedReply {
    /// The visitor's message.
    pub message: RecordedMessage,
    /// The job's id, for [`Store::claim_job`].
    pub job_id: String,
}

/// A chataibot answer that is due, claimed by this instance ([`Store::claim_job`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyJob {
    /// The job's id.
    pub id: String,
    /// The bot that answers.
    pub bot_id: String,
    /// The conversation the answer goes to.
    pub conversation_id: String,
    /// The visitor message it answers (its text).
    pub question: String,
    /// How many times it was claimed, this claim included.
    pub attempts: u32,
    month: i64,
}

/// A bot's figures over a period ([`Store::analytics`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotAnalytics {
    /// Messages stored in the period, both sides.
    pub total_messages: u64,
    /// Conversations with a message in the period (no user ids are stored, so each
    /// conversation stands for a visitor).
    pub conversations: u64,
    /// The average time from a visitor's message to the bot's reply, when there was a reply.
    pub average_response_ms: Option<i64>,
    /// The most frequent visitor messages (compared without case and surrounding spaces), most
    /// frequent first, ties in the order they were first asked; at most [`TOP_QUESTIONS`].
    pub top_questions: Vec<String>,
}

/// How many questions [`BotAnalytics::top_questions`] lists.
pub const TOP_QUESTIONS: usize = 5;

/// What [`Store::admission`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The bot asked for (or the key's).
    pub bot: Option<Bot>,
    /// The publishable key, active or not.
    pub key: Option<ApiKey>,
    /// The bot of the secret key.
    pub secret_key_bot: Option<String>,
    /// Whether the bot answers through an AI upstream ([`crate::upstream::settings`]).
    pub has_upstream: bool,
    /// The open window of wrong keys from the caller's address (start, count).
    pub failures: Option<(u64, u32)>,
}

/// The outcome of [`Store::hit_rate_windows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateHits {
    /// A guard window is used up: nothing was counted. `guard` is its index among the guards
    /// (of those used up, the one that ends last, so waiting for it is enough; the first of
    /// them on a tie), `window` its start and count.
    Full {
        /// The index of the used-up guard.
        guard: usize,
        /// Its window: start and count.
        window: (u64, u32),
    },
    /// The windows counted, in order (start, count after the hit): all of them, or up to and
    /// including the first whose count went over its limit (the request is refused).
    Counted(Vec<(u64, u32)>),
}

/// How to open a store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// The size of the PostgreSQL pool ([`DEFAULT_PG_CONNECTIONS`] when `None`).
    pub max_connections: Option<u32>,
}

/// The database, shared by all requests. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// Writes (and reads that must see them). SQLite: one connection.
    writer: AnyPool,
    /// Reads. SQLite: read-only connections; PostgreSQL: the writer pool.
    reader: AnyPool,
    /// Analytics reads, on connections of their own: however many analytics calls run, the
    /// chat requests' reads never wait for a connection behind them.
    analytics: AnyPool,
    /// Writes that may be lost in a database crash (rate-limit windows, heartbeats). SQLite:
    /// the writer; PostgreSQL: a few connections with `synchronous_commit = off`, so a chat
    /// request's rate-limit hit does not wait for a WAL flush (its message still does).
    counters: AnyPool,
    /// Where the data is, for messages (never a password).
    location: String,
    /// The SQLite file, if that is the backend.
    path: Option<PathBuf>,
    /// This process's id in the `instances` table.
    instance: String,
    /// Exchanges (and SQLite's rate-limit hits) waiting for the next group commit.
    queue: group::Queue<group::Job>,
    /// SQLite: exchanges committed, waiting for the log's flush to be answered.
    flush: flush::Flush,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("location", &self.inner.location)
            .finish_non_exhaustive()
    }
}

pub(crate) type Tx = Transaction<'static, Any>;

impl Store {
    /// Opens (creating if needed) the data directory and its SQLite database, brings the
    /// schema up to date (moving a data directory of the rusqlite releases into it), and makes
    /// sure the demo bot with a publishable key exists.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        std::fs::create_dir_all(data_dir)
            .map_err(|err| StoreError::Io(data_dir.to_owned(), err))?;
        let path = data_dir.join(DATABASE_FILE);
        let url = sqlite_url(&path);
        let writer_options: AnyConnectOptions = format!("{url}?mode=rwc").parse()?;
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local file: no ping round trip before each use.
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;
                         PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                         PRAGMA temp_store = MEMORY;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(writer_options)
            .await?;
        legacy::prepare(&writer).await?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        legacy::finish(&writer).await?;
        let readers = |size: u32| {
            AnyPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;")
                            .await?;
                        Ok(())
                    })
                })
        };
        let reader_options: AnyConnectOptions = format!("{url}?mode=ro").parse()?;
        let reader = readers(SQLITE_READERS)
            .connect_with(reader_options.clone())
            .await?;
        let analytics = readers(ANALYTICS_CONNECTIONS)
            .min_connections(0)
            .connect_lazy_with(reader_options);
        let store = Self::with_pools(
            Backend::Sqlite,
            writer.clone(),
            writer,
            [reader, analytics],
            path.display().to_string(),
            Some(path),
        )?;
        store.ensure_demo_bot().await?;
        crate::documents::ensure_demo_documents(&store).await?;
        store.heartbeat().await?;
        Ok(store)
    }

    /// Connects to the database at `url` (`postgres://…`; `sqlite://…` opens that file, a
    /// data directory is [`Store::open`]'s), migrates it, and makes sure the demo bot exists.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        }
        let connect: AnyConnectOptions = url.parse()?;
        // A database that is not up yet (started after the server, or restarting) is waited
        // for, up to the pool's acquire timeout; the operator reads at once what is wrong
        // instead of a minute of silence. Errors no wait mends (a refused password) end here.
        match <sqlx::AnyConnection as sqlx::Connection>::connect_with(&connect).await {
            Ok(connection) => drop(connection),
            Err(sqlx::Error::Io(error)) => tracing::warn!(
                "PostgreSQL at {} does not answer ({error}); waiting up to {} s for it",
                redact(url),
                ACQUIRE_TIMEOUT.as_secs()
            ),
            Err(error) => return Err(error.into()),
        }
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(DEFAULT_PG_CONNECTIONS))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // No ping round trip before each use: a connection the server dropped fails one
            // query and is replaced.
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .map_err(|error| match error {
                sqlx::Error::PoolTimedOut => StoreError::Unreachable(redact(url)),
                error => error.into(),
            })?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        let counters = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET synchronous_commit = off").await?;
                    Ok(())
                })
            })
            .connect_with(url.parse()?)
            .await?;
        let analytics = AnyPoolOptions::new()
            .max_connections(ANALYTICS_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_lazy_with(url.parse()?);
        let store = Self::with_pools(
            Backend::Postgres,
            counters,
            pool.clone(),
            [pool, analytics],
            redact(url),
            None,
        )?;
        store.ensure_demo_bot().await?;
        crate::documents::ensure_demo_documents(&store).await?;
        store.heartbeat().await?;
        Ok(store)
    }

    /// [`Store::connect`] when `database_url` is given, else [`Store::open`] on `data_dir`.
    pub async fn open_or_connect(
        data_dir: &Path,
        database_url: Option<&str>,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        match database_url.filter(|url| !url.trim().is_empty()) {
            Some(url) => Self::connect(url.trim(), options).await,
            None => Self::open(data_dir).await,
        }
    }

    fn with_pools(
        backend: Backend,
        counters: AnyPool,
        writer: AnyPool,
        [reader, analytics]: [AnyPool; 2],
        location: String,
        path: Option<PathBuf>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                counters,
                writer,
                reader,
                analytics,
                location,
                path,
                instance: format!("inst_{}", ids::random_hex(16)?),
                queue: group::Queue::default(),
                flush: flush::Flush::default(),
            }),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Where the data is: the SQLite file, or the PostgreSQL URL without its password.
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// The SQLite database file (`None` on PostgreSQL).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// This process's id among the instances sharing the database.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance
    }

    /// Runs SQL statements as they are (the benchmark's seeding, tests that break the database
    /// on purpose). Not for request handling.
    pub async fn execute_script(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql).execute(&self.inner.writer).await?;
        Ok(())
    }

    /// Closes the pools (waiting for connections in use to come back).
    pub async fn close(&self) {
        self.inner.counters.close().await;
        self.inner.writer.close().await;
        self.inner.reader.close().await;
        self.inner.analytics.close().await;
    }

    /// The pool for writes outside a transaction (the webhook outbox, [`crate::webhooks`]).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.inner.writer
    }

    /// The pool for reads (the training documents' queries live in [`crate::documents`]).
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.inner.reader
    }

    /// A write transaction. SQLite: `BEGIN IMMEDIATE`, so it holds the write lock from the
    /// start and never fails half-way on a busy database.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.inner.backend {
            Backend::Sqlite => self.inner.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.inner.writer.begin().await?,
        })
    }

    async fn ensure_demo_bot(&self) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // An existing demo bot keeps its settings, `stream_default` included.
        sqlx::query(
            "INSERT INTO bots (id, name, greeting, primary_color, stream_default,
                 credits, rate_limit_per_minute, created_at)
             VALUES ($1, $2, $3, $4, 1, NULL, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(DEMO_BOT_ID)
        .bind(DEMO_BOT_NAME)
        .bind(DEMO_BOT_GREETING)
        .bind(DEFAULT_PRIMARY_COLOR)
        .bind(i64::from(DEFAULT_RATE_LIMIT))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if first_key(&mut tx, DEMO_BOT_ID).await?.is_none() {
            insert_key(&mut tx, DEMO_BOT_ID).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The bot with this id.
    pub async fn bot(&self, id: &str) -> Result<Option<Bot>, StoreError> {
        let row = sqlx::query(&format!("SELECT {BOT_COLUMNS} FROM bots WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.inner.reader)
            .await?;
        Ok(row.as_ref().map(Bot::from_row).transpose()?)
    }

    /// The key with this text (active or not).
    pub async fn key(&self, key: &str) -> Result<Option<ApiKey>, StoreError> {
        let row =
            sqlx::query("SELECT key, bot_id, allowed_origins, active FROM api_keys WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.inner.reader)
                .await?;
        Ok(row.as_ref().map(ApiKey::from_row).transpose()?)
    }

    /// What a request's admission needs, read in one statement: the bot (`bot_id`, or else
    /// the bot of the key), the publishable key `key` (active or not), the bot of the secret
    /// key whose hash is `secret_hash`, whether the bot has an AI upstream, and the window of
    /// `failure_scope` (wrong keys from the caller's address) open at unix second `now`.
    pub async fn admission(
        &self,
        bot_id: Option<&str>,
        key: &str,
        secret_hash: &str,
        failure_scope: &str,
        now: u64,
    ) -> Result<Admission, StoreError> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            let bot_columns = BOT_COLUMNS
                .split(',')
                .map(|column| format!("b.{}", column.trim()))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "SELECT {bot_columns},
                        k.key AS key_key, k.bot_id AS key_bot_id,
                        k.allowed_origins AS key_allowed_origins, k.active AS key_active,
                        s.bot_id AS secret_bot_id,
                        CAST(CASE WHEN u.bot_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS upstream,
                        f.window_start AS failures_start, f.hits AS failures_hits
                 FROM (SELECT 1 AS one) AS request
                 LEFT JOIN api_keys k ON k.key = $1
                 LEFT JOIN secret_keys s ON s.hash = $2
                 LEFT JOIN bots b ON b.id = COALESCE(CAST($3 AS TEXT), k.bot_id, s.bot_id)
                 LEFT JOIN bot_upstreams u ON u.bot_id = b.id
                 LEFT JOIN rate_windows f
                     ON f.scope = $4 AND f.window_start + f.window_secs > $5"
            )
        });
        let row = sqlx::query(sql)
            .bind(key)
            .bind(secret_hash)
            .bind(bot_id)
            .bind(failure_scope)
            .bind(i64::try_from(now).unwrap_or(i64::MAX / 2))
            .fetch_one(&self.inner.reader)
            .await?;
        let bot = match row.try_get::<Option<String>, _>("id")? {
            Some(_) => Some(Bot::from_row(&row)?),
            None => None,
        };
        let key = match row.try_get::<Option<String>, _>("key_key")? {
            Some(key) => Some(ApiKey {
                key,
                bot_id: row.try_get("key_bot_id")?,
                allowed_origins: AllowedOrigins::parse(
                    &row.try_get::<String, _>("key_allowed_origins")?,
                ),
                active: row.try_get::<i64, _>("key_active")? != 0,
            }),
            None => None,
        };
        let failures = match (
            row.try_get::<Option<i64>, _>("failures_start")?,
            row.try_get::<Option<i64>, _>("failures_hits")?,
        ) {
            (Some(start), Some(hits)) => Some((
                u64::try_from(start).unwrap_or(0),
                u32::try_from(hits.max(0)).unwrap_or(u32::MAX),
            )),
            _ => None,
        };
        Ok(Admission {
            has_upstream: bot.is_some() && row.try_get::<i64, _>("upstream")? != 0,
            bot,
            key,
            secret_key_bot: row.try_get("secret_bot_id")?,
            failures,
        })
    }

    /// Makes a new secret key for the bot, stores its hash ([`crate::ids::secret_key_hash`])
    /// and returns the key itself: the only time it exists in full.
    pub async fn create_secret_key(&self, bot_id: &str) -> Result<String, StoreError> {
        if self.bot(bot_id).await?.is_none() {
            return Err(StoreError::UnknownBot(bot_id.to_owned()));
        }
        let key = crate::ids::secret_key()?;
        sqlx::query("INSERT INTO secret_keys (hash, bot_id, created_at) VALUES ($1, $2, $3)")
            .bind(crate::ids::secret_key_hash(&key))
            .bind(bot_id)
            .bind(now_ms())
            .execute(&self.inner.writer)
            .await?;
        Ok(key)
    }

    /// The bot a secret key belongs to, if it is one.
    pub async fn secret_key_bot(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT bot_id FROM secret_keys WHERE hash = $1")
                .bind(crate::ids::secret_key_hash(key))
                .fetch_optional(&self.inner.reader)
                .await?,
        )
    }

    /// The bot's first key (the one printed at start and put in the demo page).
    pub async fn first_key(&self, bot_id: &str) -> Result<Option<ApiKey>, StoreError> {
        let mut conn = self.inner.reader.acquire().await?;
        first_key(&mut conn, bot_id).await
    }

    /// Creates a bot with default settings and a publishable key for it.
    pub async fn create_bot(&self, id: &str, name: &str) -> Result<(Bot, ApiKey), StoreError> {
        self.create_bot_with(&NewBot::new(id, name)).await
    }

    /// Creates a bot with these settings (the rest default) and a publishable key for it.
    pub async fn create_bot_with(&self, new: &NewBot) -> Result<(Bot, ApiKey), StoreError> {
        let id = new.id.as_str();
        let valid = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(StoreError::InvalidBotId(id.to_owned()));
        }
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO bots (id, name, description, greeting, primary_color, position,
                 credits, rate_limit_per_minute, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(&new.name)
        .bind(&new.description)
        .bind(&new.greeting)
        .bind(&new.primary_color)
        .bind(&new.position)
        .bind(i64::from(DEFAULT_RATE_LIMIT))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::BotExists(id.to_owned()));
        }
        let key = insert_key(&mut tx, id).await?;
        let bot = bot_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::UnknownBot(id.to_owned()))?;
        tx.commit().await?;
        Ok((bot, key))
    }

    /// Changes a bot's settings (and those of all its keys); returns the bot as it is now.
    pub async fn update_bot(&self, id: &str, update: &BotUpdate) -> Result<Bot, StoreError> {
        let mut tx = self.begin().await?;
        if bot_in(&mut tx, id).await?.is_none() {
            return Err(StoreError::UnknownBot(id.to_owned()));
        }
        // The numbers (an absent limit is NULL: unlimited), each set only when it is given.
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let numbers = [
            ("bots", "credits", update.credits.map(|c| c.map(count))),
            (
                "bots",
                "monthly_quota",
                update.monthly_quota.map(|q| q.map(count)),
            ),
            (
                "bots",
                "rate_limit_per_minute",
                update.rate_limit_per_minute.map(|l| Some(l.into())),
            ),
            (
                "bots",
                "visitor_rate_limit",
                update.visitor_rate_limit.map(|l| Some(l.into())),
            ),
            (
                "bots",
                "stream_default",
                update.stream_default.map(|s| Some(s.into())),
            ),
            (
                "api_keys",
                "active",
                update.keys_active.map(|a| Some(a.into())),
            ),
        ];
        for (table, column, value) in numbers {
            let Some(value) = value else { continue };
            let owner = if table == "bots" { "id" } else { "bot_id" };
            sqlx::query(&format!(
                "UPDATE {table} SET {column} = $2 WHERE {owner} = $1"
            ))
            .bind(id)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(origins) = &update.allowed_origins {
            sqlx::query("UPDATE api_keys SET allowed_origins = $2 WHERE bot_id = $1")
                .bind(id)
                .bind(origins.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let bot = bot_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::UnknownBot(id.to_owned()))?;
        tx.commit().await?;
        Ok(bot)
    }

    /// Stores a visitor message and the bot's reply in one transaction, spending a credit if
    /// the bot's credits are limited. `conversation_id` continues a conversation if it is one
    /// of this bot's; otherwise (absent, unknown, another bot's) a new one is started, so a
    /// stale id kept in a visitor's browser never breaks the chat.
    pub async fn record_exchange(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        user_text: &str,
        reply_text: &str,
    ) -> Result<ExchangeOutcome, StoreError> {
        self.insert_exchange(bot_id, conversation_id, user_text, reply_text, true)
            .await
    }

    /// Like [`Store::record_exchange`] for a reply about to be streamed: the visitor message
    /// is stored and the credit spent now, the reply as an empty message marked incomplete
    /// (written by this instance), whose id the stream announces. [`Store::finish_reply`] or
    /// [`Store::withdraw_reply`] settles it.
    pub async fn begin_streamed_exchange(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        user_text: &str,
    ) -> Result<ExchangeOutcome, StoreError> {
        self.insert_exchange(bot_id, conversation_id, user_text, "", false)
            .await
    }

    async fn insert_exchange(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        user_text: &str,
        reply_text: &str,
        reply_complete: bool,
    ) -> Result<ExchangeOutcome, StoreError> {
        // Stored by the group commit (`group.rs`), with its webhook events.
        let (done, answer) = tokio::sync::oneshot::channel();
        group::push(
            self,
            group::Job::Exchange(group::ExchangeJob {
                bot_id: bot_id.to_owned(),
                requested: conversation_id.map(str::to_owned),
                user_text: user_text.to_owned(),
                reply_text: reply_text.to_owned(),
                reply_complete,
                done,
            }),
        );
        answer.await.or_else(group::gone)?
    }

    /// Stores a visitor message and a job for its answer, due `delay` from now, spending the
    /// credit for that answer now; until the answer is stored, the monthly quota counts it as
    /// pending. `conversation_id` as in [`Store::record_exchange`].
    pub async fn record_visitor_message(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        text: &str,
        delay: Duration,
    ) -> Result<Outcome<PromisedReply>, StoreError> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        let (conversation_id, new_conversation) =
            conversation_for(&mut tx, bot_id, conversation_id, now).await?;
        let question = NewMessage {
            bot_id,
            conversation_id: &conversation_id,
            role: Role::User,
            content: text,
            now,
            complete: true,
            actions: None,
            writer: None,
            response_ms: None,
        };
        let (message_id, _) = insert_message(&mut tx, &question).await?;
        let job_id = format!("job_{}", ids::random_hex(24)?);
        let due = now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        sqlx::query(
            "INSERT INTO reply_jobs (id, bot_id, conversation_id, question_message_id, month, due_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&job_id)
        .bind(bot_id)
        .bind(&conversation_id)
        .bind(&message_id)
        .bind(dates::month_start_ms(now))
        .bind(due)
        .execute(&mut *tx)
        .await?;
        if let Some(refused) = charge(&mut tx, bot_id, now, Charge::Pending).await? {
            return Ok(refused);
        }
        // Its webhook events are queued in the transaction that stores it.
        let message = (message_id.as_str(), text);
        let events = crate::webhooks::exchange_events(
            bot_id,
            &conversation_id,
            new_conversation,
            message,
            None,
        );
        for (event, data) in events {
            crate::webhooks::queue_on(&mut tx, bot_id, event, data, now).await?;
        }
        tx.commit().await?;
        Ok(Outcome::Recorded(PromisedReply {
            message: RecordedMessage {
                conversation_id,
                new_conversation,
                message_id,
                created_at: now,
            },
            job_id,
        }))
    }

    /// The answers promised by [`Store::record_visitor_message`] this month for a bot and
    /// not stored yet.
    pub async fn pending_replies(&self, bot_id: &str) -> Result<u64, StoreError> {
        let pending: Option<i64> = sqlx::query_scalar(
            "SELECT pending FROM monthly_usage WHERE bot_id = $1 AND month = $2",
        )
        .bind(bot_id)
        .bind(dates::month_start_ms(now_ms()))
        .fetch_optional(&self.inner.writer)
        .await?;
        Ok(u64::try_from(pending.unwrap_or(0)).unwrap_or(0))
    }

    /// Claims the job `job_id` for this instance if nobody holds it (it is due whenever its
    /// claimer says so: the in-process timer of the instance that accepted the message).
    pub async fn claim_job(&self, job_id: &str) -> Result<Option<ReplyJob>, StoreError> {
        let now = now_ms();
        let claimed = sqlx::query(
            "UPDATE reply_jobs SET claimed_by = $2, claimed_until = $3, attempts = attempts + 1
             WHERE id = $1 AND (claimed_until IS NULL OR claimed_until < $4)
             RETURNING id",
        )
        .bind(job_id)
        .bind(&self.inner.instance)
        .bind(now + JOB_LEASE_MS)
        .bind(now)
        .fetch_optional(&self.inner.writer)
        .await?;
        if claimed.is_none() {
            return Ok(None);
        }
        Ok(self.jobs_by_ids(&[job_id.to_owned()]).await?.pop())
    }

    /// Extends this instance's claim on a job by another lease (while an AI model is still
    /// writing its answer, so no instance claims it again). False if the claim was lost.
    pub async fn extend_job_lease(&self, job_id: &str) -> Result<bool, StoreError> {
        let extended = sqlx::query(
            "UPDATE reply_jobs SET claimed_until = $3 WHERE id = $1 AND claimed_by = $2",
        )
        .bind(job_id)
        .bind(&self.inner.instance)
        .bind(now_ms() + JOB_LEASE_MS)
        .execute(&self.inner.writer)
        .await?
        .rows_affected();
        Ok(extended > 0)
    }

    /// Gives up this instance's claim on a job until `after` from now, when any instance may
    /// claim it again (an attempt failed). False if the claim was lost already.
    pub async fn retry_job_later(&self, job_id: &str, after: Duration) -> Result<bool, StoreError> {
        let until = now_ms() + i64::try_from(after.as_millis()).unwrap_or(JOB_LEASE_MS);
        let released = sqlx::query(
            "UPDATE reply_jobs SET claimed_until = $3 WHERE id = $1 AND claimed_by = $2",
        )
        .bind(job_id)
        .bind(&self.inner.instance)
        .bind(until)
        .execute(&self.inner.writer)
        .await?
        .rows_affected();
        Ok(released > 0)
    }

    /// Claims up to `limit` jobs that are due and that nobody holds (never claimed, or whose
    /// claimer's lease ended: it died). PostgreSQL skips the rows other instances are claiming
    /// at the same moment (`FOR UPDATE SKIP LOCKED`), so each job goes to one instance.
    pub async fn claim_due_jobs(&self, limit: u32) -> Result<Vec<ReplyJob>, StoreError> {
        let now = now_ms();
        let lock = match self.inner.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE reply_jobs SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM reply_jobs
                          WHERE due_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)
                          ORDER BY due_at LIMIT $4 {lock})
             RETURNING id"
        ))
        .bind(&self.inner.instance)
        .bind(now + JOB_LEASE_MS)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.writer)
        .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.jobs_by_ids(&ids).await
    }

    async fn jobs_by_ids(&self, ids: &[String]) -> Result<Vec<ReplyJob>, StoreError> {
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(
                "SELECT j.id, j.bot_id, j.conversation_id, j.month, j.attempts, m.content
                 FROM reply_jobs j JOIN messages m ON m.id = j.question_message_id
                 WHERE j.id = $1",
            )
            .bind(id)
            .fetch_optional(&self.inner.writer)
            .await?;
            if let Some(row) = row {
                jobs.push(ReplyJob {
                    id: row.try_get("id")?,
                    bot_id: row.try_get("bot_id")?,
                    conversation_id: row.try_get("conversation_id")?,
                    question: row.try_get("content")?,
                    month: row.try_get("month")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?.max(0))
                        .unwrap_or(u32::MAX),
                });
            }
        }
        Ok(jobs)
    }

    /// Stores a claimed job's answer, complete, with its quick replies, and deletes the job, in
    /// one transaction (the credit was spent when the question was accepted; the quota's
    /// pending answer becomes a stored one). `None` if the job is no longer this instance's
    /// (its lease ended and another instance took it).
    pub async fn deliver_job(
        &self,
        job: &ReplyJob,
        text: &str,
        actions: &[SuggestedAction],
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.store_job_answer(job, text, actions, true).await
    }

    /// Like [`Store::deliver_job`] for an answer that could not be made (the AI model kept
    /// failing): `text` says so, and it costs nothing: the credit is given back and the
    /// quota's pending answer is dropped, not counted as a reply.
    pub async fn deliver_failed_job(
        &self,
        job: &ReplyJob,
        text: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.store_job_answer(job, text, &[], false).await
    }

    async fn store_job_answer(
        &self,
        job: &ReplyJob,
        text: &str,
        actions: &[SuggestedAction],
        charged: bool,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM reply_jobs WHERE id = $1 AND claimed_by = $2")
            .bind(&job.id)
            .bind(&self.inner.instance)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(None);
        }
        let now = now_ms();
        let previous = sqlx::query(
            "SELECT role, created_at FROM messages WHERE conversation_id = $1
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(&job.conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let response_ms = match previous {
            // An apology is no answer: it has no response time in the analytics.
            _ if !charged => None,
            Some(row) if row.try_get::<String, _>("role")? == "user" => {
                Some((now - row.try_get::<i64, _>("created_at")?).max(0))
            }
            _ => None,
        };
        let json = (!actions.is_empty())
            .then(|| serde_json::to_string(actions).unwrap_or_else(|_| "[]".to_owned()));
        let answer = NewMessage {
            bot_id: &job.bot_id,
            conversation_id: &job.conversation_id,
            role: Role::Assistant,
            content: text,
            now,
            complete: true,
            actions: json.as_deref(),
            writer: None,
            response_ms,
        };
        let (id, _) = insert_message(&mut tx, &answer).await?;
        sqlx::query(
            "UPDATE monthly_usage SET pending = pending - 1
             WHERE bot_id = $1 AND month = $2 AND pending > 0",
        )
        .bind(&job.bot_id)
        .bind(job.month)
        .execute(&mut *tx)
        .await?;
        if charged {
            add_usage(&mut tx, &job.bot_id, dates::month_start_ms(now), 1).await?;
        } else {
            sqlx::query(
                "UPDATE bots SET credits = credits + 1 WHERE id = $1 AND credits IS NOT NULL",
            )
            .bind(&job.bot_id)
            .execute(&mut *tx)
            .await?;
        }
        let message = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"
        ))
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        let message = StoredMessage::from_row(&message)?;
        // Its webhook events are queued in the transaction that stores it.
        let reply = (message.id.as_str(), message.content.as_str());
        crate::webhooks::queue_reply_on(
            &mut tx,
            &job.bot_id,
            &job.conversation_id,
            reply,
            charged,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(message))
    }

    /// The assistant replies stored for a bot since the start of this UTC calendar month
    /// (what the monthly quota counts, with the pending ones).
    pub async fn replies_this_month(&self, bot_id: &str) -> Result<u64, StoreError> {
        let replies: Option<i64> = sqlx::query_scalar(
            "SELECT replies FROM monthly_usage WHERE bot_id = $1 AND month = $2",
        )
        .bind(bot_id)
        .bind(dates::month_start_ms(now_ms()))
        .fetch_optional(&self.inner.writer)
        .await?;
        Ok(u64::try_from(replies.unwrap_or(0)).unwrap_or(0))
    }

    /// Writes a streamed reply's text: all of it with `complete`, or the part that was sent
    /// before the visitor left without. Returns false if there is no such reply.
    pub async fn finish_reply(
        &self,
        message_id: &str,
        content: &str,
        complete: bool,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE messages SET content = $2, complete = $3, writer = NULL
             WHERE id = $1 AND role = 'assistant'",
        )
        .bind(message_id)
        .bind(content)
        .bind(i64::from(complete))
        .execute(&self.inner.writer)
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    /// Removes a streamed reply of which nothing was sent and gives its bot the credit back
    /// (if its credits are limited) and the quota its reply. The visitor's message stays.
    /// Returns false if there was no such reply (nothing is refunded then).
    pub async fn withdraw_reply(&self, bot_id: &str, message_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "DELETE FROM messages WHERE id = $1 AND bot_id = $2 AND role = 'assistant'
                 AND complete = 0 AND interrupted = 0
             RETURNING created_at, conversation_id",
        )
        .bind(message_id)
        .bind(bot_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let created_at: i64 = row.try_get("created_at")?;
        refund(&mut tx, bot_id, created_at).await?;
        sqlx::query(
            "UPDATE daily_stats SET messages = messages - 1, replies = replies - 1
             WHERE bot_id = $1 AND day = $2",
        )
        .bind(bot_id)
        .bind(created_at.div_euclid(MS_PER_DAY))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The bot a conversation belongs to, if the conversation exists.
    pub async fn conversation_bot(
        &self,
        conversation_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT bot_id FROM conversations WHERE id = $1")
                .bind(conversation_id)
                .fetch_optional(&self.inner.reader)
                .await?,
        )
    }

    /// A bot's figures for the messages stored from `from_ms` (inclusive) to `until_ms`
    /// (exclusive): the whole UTC days inside the period from the daily rollups, the partial
    /// days at its ends from the messages themselves (by the `(bot_id, created_at)` index).
    /// Runs on connections of its own, so it never holds up a chat request's read.
    pub async fn analytics(
        &self,
        bot_id: &str,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<BotAnalytics, StoreError> {
        // No message is older than 1970 or newer than tomorrow (a clock a little ahead on
        // another instance included): an open end becomes a day boundary, so "all time" is
        // whole days, read from the rollups only.
        let tomorrow_end = (now_ms().div_euclid(MS_PER_DAY) + 2) * MS_PER_DAY;
        let from = from_ms.max(0);
        let until = until_ms.min(tomorrow_end);
        if from >= until {
            return Ok(BotAnalytics::default());
        }
        let first_day = from.div_euclid(MS_PER_DAY) + i64::from(from.rem_euclid(MS_PER_DAY) != 0);
        let end_day = until.div_euclid(MS_PER_DAY);
        // Full days [first_day, end_day); edges [from, first_day) and [end_day, until).
        let (first_day, end_day, head, tail) = if first_day < end_day {
            (
                first_day,
                end_day,
                (from, first_day * MS_PER_DAY),
                (end_day * MS_PER_DAY, until),
            )
        } else {
            (0, 0, (from, until), (0, 0))
        };
        let mut conn = self.inner.analytics.acquire().await?;
        let days = sqlx::query(
            "SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT) AS messages,
                    CAST(COALESCE(SUM(replies), 0) AS BIGINT) AS replies,
                    CAST(COALESCE(SUM(response_ms), 0) AS BIGINT) AS response_ms
             FROM daily_stats WHERE bot_id = $1 AND day >= $2 AND day < $3",
        )
        .bind(bot_id)
        .bind(first_day)
        .bind(end_day)
        .fetch_one(&mut *conn)
        .await?;
        let edges = sqlx::query(
            "SELECT COUNT(*) AS messages, COUNT(response_ms) AS replies,
                    CAST(COALESCE(SUM(response_ms), 0) AS BIGINT) AS response_ms
             FROM messages WHERE bot_id = $1
               AND ((created_at >= $2 AND created_at < $3) OR (created_at >= $4 AND created_at < $5))",
        )
        .bind(bot_id)
        .bind(head.0)
        .bind(head.1)
        .bind(tail.0)
        .bind(tail.1)
        .fetch_one(&mut *conn)
        .await?;
        let total = |name: &str| -> Result<i64, sqlx::Error> {
            Ok(days.try_get::<i64, _>(name)? + edges.try_get::<i64, _>(name)?)
        };
        let messages = total("messages")?;
        let replies = total("replies")?;
        let response_ms = total("response_ms")?;
        // Distinct conversations of the whole days (each counted on its first active day in
        // the period: `daily_conversation_days`, one row per day and previous active day),
        // plus those of the partial days that no whole day has.
        let whole_days: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(conversations), 0) AS BIGINT) FROM daily_conversation_days
             WHERE bot_id = $1 AND day >= $2 AND day < $3 AND prev_day < $2",
        )
        .bind(bot_id)
        .bind(first_day)
        .bind(end_day)
        .fetch_one(&mut *conn)
        .await?;
        let edges_only: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT conversation_id) FROM messages m WHERE bot_id = $1
               AND ((created_at >= $4 AND created_at < $5) OR (created_at >= $6 AND created_at < $7))
               AND NOT EXISTS (SELECT 1 FROM daily_conversations d
                               WHERE d.bot_id = $1 AND d.conversation_id = m.conversation_id
                                 AND d.day >= $2 AND d.day < $3)",
        )
        .bind(bot_id)
        .bind(first_day)
        .bind(end_day)
        .bind(head.0)
        .bind(head.1)
        .bind(tail.0)
        .bind(tail.1)
        .fetch_one(&mut *conn)
        .await?;
        let conversations = whole_days + edges_only;
        let top = if head.0 >= head.1 && tail.0 >= tail.1 {
            // Whole days only: one pass over a covering index in question order.
            sqlx::query(
                "SELECT question_key, CAST(SUM(asked) AS BIGINT) AS asked,
                        MIN(first_seq) AS first_seq
                 FROM daily_questions WHERE bot_id = $1 AND day >= $2 AND day < $3
                 GROUP BY question_key ORDER BY asked DESC, first_seq LIMIT $4",
            )
            .bind(bot_id)
            .bind(first_day)
            .bind(end_day)
            .bind(TOP_QUESTIONS as i64)
            .fetch_all(&mut *conn)
            .await?
        } else {
            sqlx::query(
                "SELECT question_key, CAST(SUM(asked) AS BIGINT) AS asked,
                        MIN(first_seq) AS first_seq
                 FROM (
                     SELECT question_key, asked, first_seq FROM daily_questions
                     WHERE bot_id = $1 AND day >= $2 AND day < $3
                     UNION ALL
                     SELECT question_key, 1 AS asked, seq AS first_seq FROM messages
                     WHERE bot_id = $1 AND role = 'user'
                       AND ((created_at >= $4 AND created_at < $5)
                            OR (created_at >= $6 AND created_at < $7))
                 ) q
                 GROUP BY question_key ORDER BY asked DESC, first_seq LIMIT $8",
            )
            .bind(bot_id)
            .bind(first_day)
            .bind(end_day)
            .bind(head.0)
            .bind(head.1)
            .bind(tail.0)
            .bind(tail.1)
            .bind(TOP_QUESTIONS as i64)
            .fetch_all(&mut *conn)
            .await?
        };
        // Each question as first worded, all in one read (a fixed-length `IN` list).
        let mut firsts: Vec<i64> = Vec::with_capacity(top.len());
        for row in &top {
            firsts.push(row.try_get("first_seq")?);
        }
        let mut wordings: std::collections::HashMap<i64, String> = Default::default();
        if let Some(last) = firsts.last().copied() {
            let sql = format!(
                "SELECT seq, content FROM messages WHERE seq IN ({})",
                (1..=TOP_QUESTIONS)
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let rows = (0..TOP_QUESTIONS)
                .map(|i| firsts.get(i).copied().unwrap_or(last))
                .fold(sqlx::query(&sql), |query, seq| query.bind(seq))
                .fetch_all(&mut *conn)
                .await?;
            for row in &rows {
                wordings.insert(row.try_get("seq")?, row.try_get("content")?);
            }
        }
        let mut top_questions = Vec::with_capacity(top.len());
        for (row, first_seq) in top.iter().zip(&firsts) {
            let key: String = row.try_get("question_key")?;
            top_questions.push(
                wordings
                    .get(first_seq)
                    .map_or(key, |text| text.trim().to_owned()),
            );
        }
        Ok(BotAnalytics {
            total_messages: u64::try_from(messages).unwrap_or(0),
            conversations: u64::try_from(conversations).unwrap_or(0),
            average_response_ms: (replies > 0).then(|| response_ms / replies),
            top_questions,
        })
    }

    /// The conversation a message belongs to, if the message exists.
    pub async fn conversation_of_message(
        &self,
        message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
                .bind(message_id)
                .fetch_optional(&self.inner.reader)
                .await?,
        )
    }

    /// A conversation's messages, oldest first.
    pub async fn messages(&self, conversation_id: &str) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 ORDER BY seq"
        ))
        .bind(conversation_id)
        .fetch_all(&self.inner.reader)
        .await?;
        Ok(rows
            .iter()
            .map(StoredMessage::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// A conversation's messages stored after the message `after`, in the order they were
    /// stored; all of them without `after`, or when `after` is not a message of this
    /// conversation (a stale cursor gets everything again rather than nothing).
    pub async fn messages_after(
        &self,
        conversation_id: &str,
        after: Option<&str>,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        // The writer pool: a listener woken by a delivery must see it.
        let mut conn = self.inner.writer.acquire().await?;
        let cursor: i64 = match after {
            Some(after) => sqlx::query_scalar(
                "SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2",
            )
            .bind(after)
            .bind(conversation_id)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(0),
            None => 0,
        };
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2
             ORDER BY seq"
        ))
        .bind(conversation_id)
        .bind(cursor)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows
            .iter()
            .map(StoredMessage::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// A page of a conversation's messages ([`crate::paging`]): at most `limit` (at least 1),
    /// oldest first, the latest ones, those just before `before`, or those just after `after`.
    /// `None` when `before` is not a message of this conversation; an `after` that is not one
    /// counts from the start (a stale poll cursor gets the first page rather than nothing).
    pub async fn messages_page(
        &self,
        conversation_id: &str,
        cursor: &Cursor,
        limit: u32,
    ) -> Result<Option<MessagePage>, StoreError> {
        let limit = i64::from(limit.max(1));
        // The writer pool: a poll woken by a delivery must see it.
        let mut conn = self.inner.writer.acquire().await?;
        let seq_of = |id: String| {
            sqlx::query_scalar::<_, i64>(
                "SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2",
            )
            .bind(id)
            .bind(conversation_id.to_owned())
        };
        let (sql, bound, newest_first) = match cursor {
            Cursor::Latest => (
                "SELECT {C} FROM messages WHERE conversation_id = $1 AND seq < $2
                 ORDER BY seq DESC LIMIT $3",
                i64::MAX,
                true,
            ),
            Cursor::Before(id) => match seq_of(id.clone()).fetch_optional(&mut *conn).await? {
                Some(seq) => (
                    "SELECT {C} FROM messages WHERE conversation_id = $1 AND seq < $2
                     ORDER BY seq DESC LIMIT $3",
                    seq,
                    true,
                ),
                None => return Ok(None),
            },
            Cursor::After(id) => (
                "SELECT {C} FROM messages WHERE conversation_id = $1 AND seq > $2
                 ORDER BY seq LIMIT $3",
                seq_of(id.clone())
                    .fetch_optional(&mut *conn)
                    .await?
                    .unwrap_or(0),
                false,
            ),
        };
        let rows = sqlx::query(&sql.replace("{C}", MESSAGE_COLUMNS))
            .bind(conversation_id)
            .bind(bound)
            .bind(limit + 1)
            .fetch_all(&mut *conn)
            .await?;
        let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
        let mut messages = rows
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(StoredMessage::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(if newest_first {
            messages.reverse();
            MessagePage {
                messages,
                older: more,
                newer: bound != i64::MAX,
            }
        } else {
            MessagePage {
                messages,
                older: bound > 0,
                newer: more,
            }
        }))
    }

    // -----------------------------------------------------------------------------------------
    // Rate-limit windows.

    /// Counts a request against `scope`'s window (`window_secs` long, starting with the first
    /// request after the previous window ended) if fewer than `limit` were counted in it, at
    /// unix second `now`. Returns the window's start and its count after this request; a count
    /// above `limit` means refused (then nothing more was counted). One atomic statement, so
    /// instances sharing the database share the window.
    pub async fn hit_rate_window(
        &self,
        scope: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> Result<(u64, u32), StoreError> {
        match self
            .hit_rate_windows(&[], &[(scope, limit)], window_secs, now)
            .await?
        {
            RateHits::Counted(counted) => counted.first().copied().ok_or_else(no_window),
            RateHits::Full { window, .. } => Ok(window),
        }
    }

    /// Counts a request against each of `hits`' windows in order, as
    /// [`Store::hit_rate_window`] does, stopping after the first that refuses it; but nothing
    /// at all when one of the `guards`' windows is used up already (a guard may be one of the
    /// hits too: it is read before anything is counted). One store call: on PostgreSQL one
    /// statement, on SQLite one job of the next group commit (one query to the writer).
    pub async fn hit_rate_windows(
        &self,
        guards: &[(&str, u32)],
        hits: &[(&str, u32)],
        window_secs: u64,
        now: u64,
    ) -> Result<RateHits, StoreError> {
        if hits.is_empty() {
            return Ok(RateHits::Counted(Vec::new()));
        }
        let now = i64::try_from(now).unwrap_or(i64::MAX / 2);
        let window_secs = i64::try_from(window_secs).unwrap_or(i64::MAX / 4);
        let owned = |windows: &[(&str, u32)]| -> Vec<(String, i64)> {
            windows
                .iter()
                .map(|(scope, limit)| ((*scope).to_owned(), i64::from(*limit)))
                .collect()
        };
        let job = group::HitJob {
            guards: owned(guards),
            hits: owned(hits),
            window_secs,
            now,
        };
        let raw = match self.inner.backend {
            // SQLite: one writer; the hits join the next group commit.
            Backend::Sqlite => {
                let (done, answer) = tokio::sync::oneshot::channel();
                group::push(self, group::Job::Hit(job, done));
                answer.await.or_else(group::gone)??
            }
            // PostgreSQL: on the counters pool (no WAL flush waited for).
            Backend::Postgres => {
                let mut conn = self.inner.counters.acquire().await?;
                job.run_on(&mut conn, Backend::Postgres).await?
            }
        };
        let convert = |(start, hits): (i64, i64)| {
            (
                u64::try_from(start).unwrap_or(0),
                u32::try_from(hits.max(0)).unwrap_or(u32::MAX),
            )
        };
        Ok(match raw {
            RawHits::Full(guard, window) => RateHits::Full {
                guard,
                window: convert(window),
            },
            RawHits::Counted(counted) => {
                RateHits::Counted(counted.into_iter().map(convert).collect())
            }
        })
    }

    /// `scope`'s current window (start, count) at unix second `now`, without counting; `None`
    /// when no window is open.
    pub async fn peek_rate_window(
        &self,
        scope: &str,
        now: u64,
    ) -> Result<Option<(u64, u32)>, StoreError> {
        Ok(self.peek_rate_windows(&[scope], now).await?.remove(0))
    }

    /// [`Store::peek_rate_window`] for a few scopes in one statement (in their order).
    pub async fn peek_rate_windows(
        &self,
        scopes: &[&str],
        now: u64,
    ) -> Result<Vec<Option<(u64, u32)>>, StoreError> {
        if scopes.is_empty() {
            return Ok(Vec::new());
        }
        let now = i64::try_from(now).unwrap_or(i64::MAX / 2);
        let list: Vec<String> = (2..scopes.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT scope, window_start, hits FROM rate_windows
             WHERE scope IN ({}) AND window_start + window_secs > $1",
            list.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now);
        for scope in scopes {
            query = query.bind(*scope);
        }
        // A reader sees every committed hit (SQLite's writer may be busy with a group commit).
        let rows = query.fetch_all(&self.inner.reader).await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            found.push((
                row.try_get::<String, _>("scope")?,
                u64::try_from(row.try_get::<i64, _>("window_start")?).unwrap_or(0),
                u32::try_from(row.try_get::<i64, _>("hits")?.max(0)).unwrap_or(u32::MAX),
            ));
        }
        Ok(scopes
            .iter()
            .map(|scope| {
                found
                    .iter()
                    .find(|(s, _, _)| s == scope)
                    .map(|(_, start, hits)| (*start, *hits))
            })
            .collect())
    }

    /// Deletes up to `batch` windows that ended before unix second `now` (bounded work per
    /// call, whatever scopes clients made up). Returns how many were deleted.
    pub async fn prune_rate_windows(&self, now: u64, batch: u32) -> Result<u64, StoreError> {
        let now = i64::try_from(now).unwrap_or(i64::MAX / 2);
        // PostgreSQL: windows a hit holds are skipped (they are not ended for long), so a
        // prune never waits for a hit that waits for it.
        let sql = match self.inner.backend {
            Backend::Sqlite => {
                "DELETE FROM rate_windows WHERE scope IN (
                     SELECT scope FROM rate_windows WHERE window_start + window_secs <= $1
                     ORDER BY window_start LIMIT $2)"
            }
            Backend::Postgres => {
                "DELETE FROM rate_windows WHERE scope IN (
                     SELECT scope FROM rate_windows WHERE window_start + window_secs <= $1
                     ORDER BY window_start LIMIT $2 FOR UPDATE SKIP LOCKED)"
            }
        };
        Ok(sqlx::query(sql)
            .bind(now)
            .bind(i64::from(batch))
            .execute(&self.inner.counters)
            .await?
            .rows_affected())
    }

    // -----------------------------------------------------------------------------------------
    // Instances and interrupted replies.

    /// Records that this instance is alive (now).
    pub async fn heartbeat(&self) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = $2",
        )
        .bind(&self.inner.instance)
        .bind(now)
        .execute(&self.inner.counters)
        .await?;
        Ok(())
    }

    /// Marks as interrupted the unfinished streamed replies of instances not seen for
    /// `stale` (they died mid-stream: the text they had written so far stays), giving back
    /// their credits and quota, and forgets those instances. Returns how many replies.
    pub async fn sweep_interrupted(&self, stale: Duration) -> Result<u64, StoreError> {
        let cutoff = now_ms() - i64::try_from(stale.as_millis()).unwrap_or(i64::MAX / 2);
        let dead: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM instances WHERE heartbeat_at < $1 AND id <> $2 LIMIT 100",
        )
        .bind(cutoff)
        .bind(&self.inner.instance)
        .fetch_all(&self.inner.writer)
        .await?;
        let mut swept = 0;
        for instance in dead {
            let mut tx = self.begin().await?;
            let rows = sqlx::query(
                "UPDATE messages SET interrupted = 1, writer = NULL
                 WHERE writer = $1 AND complete = 0 AND interrupted = 0
                 RETURNING bot_id, created_at",
            )
            .bind(&instance)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let bot_id: String = row.try_get("bot_id")?;
                refund(&mut tx, &bot_id, row.try_get("created_at")?).await?;
            }
            swept += rows.len() as u64;
            sqlx::query("DELETE FROM instances WHERE id = $1")
                .bind(&instance)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(swept)
    }
}

/// The SQL of [`Store::hit_rate_windows`] for `guards` guard windows and `hits` hits (at
/// least one), as `backend` runs it. Its parameters ([`group::HitJob::run_on`] binds them):
/// `$1` now, `$2` the window's length, then each guard's scope and limit, then each hit's.
/// It returns a row per used-up guard (`part` -1 for the first guard, -2 for the second, …)
/// and a row per window counted (`part` 0 for the first hit, …): the window's start and its
/// count after the hit.
///
/// Each hit is an upsert ([`hit_upsert`]). The first runs only if no guard's window is used
/// up, as read before anything is counted; each later one only if the one before it ran and
/// did not go over its limit. So every request takes its windows' locks in the same order
/// (its hits'), and two requests cannot deadlock on them.
/// * PostgreSQL: one statement, each hit a data-modifying CTE that reads the row of the one
///   before it.
/// * SQLite: one query of several statements (one round trip to the writer's thread), run in
///   order in the group commit's transaction: the used-up guards, then the hits. A hit knows
///   the one before it ran from `changes()`, the rows written by the last INSERT to finish
///   (one for an upsert that ran, none for one that was skipped).
pub(crate) fn rate_hits_sql(backend: Backend, guards: usize, hits: usize) -> String {
    let params = |n: usize| (format!("${}", 3 + 2 * n), format!("${}", 4 + 2 * n));
    let hit = |k: usize| params(guards + k);
    let used_up = (0..guards)
        .map(|i| {
            let (scope, limit) = params(i);
            format!(
                "SELECT CAST({part} AS BIGINT) AS part, window_start, hits FROM rate_windows
                 WHERE scope = {scope} AND window_start + window_secs > $1 AND hits >= {limit}",
                part = guard_part(i),
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let insert = |k: usize, condition: &str| {
        let (scope, limit) = hit(k);
        format!(
            "INSERT INTO rate_windows AS w (scope, window_start, window_secs, hits)
             SELECT {scope}, $1, $2, 1 {condition}
             {upsert}",
            upsert = hit_upsert(&limit, k),
        )
    };
    let first_condition = |guard_rows: &str| {
        if guards == 0 {
            "WHERE true".to_owned()
        } else {
            format!("WHERE NOT EXISTS ({guard_rows})")
        }
    };
    match backend {
        Backend::Postgres => {
            let mut ctes = Vec::with_capacity(hits + 1);
            let mut rows = Vec::with_capacity(hits + 1);
            if guards > 0 {
                ctes.push(format!("guard AS ({used_up})"));
                rows.push("SELECT part, window_start, hits FROM guard".to_owned());
            }
            for k in 0..hits {
                let condition = match k.checked_sub(1) {
                    None => first_condition("SELECT 1 FROM guard"),
                    Some(before) => {
                        let (_, limit) = hit(before);
                        format!("FROM hit_{before} WHERE hit_{before}.hits <= {limit}")
                    }
                };
                ctes.push(format!("hit_{k} AS ({})", insert(k, &condition)));
                rows.push(format!("SELECT part, window_start, hits FROM hit_{k}"));
            }
            format!("WITH {} {}", ctes.join(", "), rows.join(" UNION ALL "))
        }
        Backend::Sqlite => {
            let mut statements = Vec::with_capacity(hits + 1);
            if guards > 0 {
                statements.push(used_up.clone());
            }
            for k in 0..hits {
                let condition = match k.checked_sub(1) {
                    None => first_condition(&used_up),
                    Some(before) => {
                        let (scope, limit) = hit(before);
                        format!(
                            "WHERE changes() = 1 AND
                               (SELECT f.hits FROM rate_windows f WHERE f.scope = {scope}) <= {limit}"
                        )
                    }
                };
                statements.push(insert(k, &condition));
            }
            statements.join(";\n")
        }
    }
}

/// The `part` of guard `i`'s row in [`rate_hits_sql`]'s answer (hits have theirs from 0 on).
fn guard_part(i: usize) -> i64 {
    -1 - i64::try_from(i).unwrap_or(i64::MAX / 2)
}

/// The upsert of a rate-limit hit, `part` of [`rate_hits_sql`]'s answer: insert the window,
/// or count in it (a new window when it ended at `$1`, now; no more counting once it is over
/// `limit`). `w` is the stored window, `$2` the window's length.
fn hit_upsert(limit: &str, part: usize) -> String {
    format!(
        "ON CONFLICT (scope) DO UPDATE SET
             hits = CASE
                 WHEN w.window_start + w.window_secs <= $1 THEN 1
                 WHEN w.hits > {limit} THEN w.hits
                 ELSE w.hits + 1 END,
             window_start = CASE
                 WHEN w.window_start + w.window_secs <= $1 THEN $1
                 ELSE w.window_start END,
             window_secs = $2
         RETURNING CAST({part} AS BIGINT) AS part, window_start, hits"
    )
}

/// What [`rate_hits_sql`]'s rows (each tagged with its `part`) say, for `hits` hits.
pub(crate) fn hits_outcome(rows: &[AnyRow], hits: usize) -> Result<RawHits, StoreError> {
    let mut full: Option<(usize, (i64, i64))> = None;
    let mut counted: Vec<Option<(i64, i64)>> = vec![None; hits];
    for row in rows {
        let part: i64 = row.try_get("part")?;
        let window: (i64, i64) = (row.try_get("window_start")?, row.try_get("hits")?);
        if part < 0 {
            let guard = usize::try_from(-1 - part).unwrap_or(usize::MAX);
            // The used-up guard that ends last (all windows have the same length); the first
            // of them on a tie.
            let later = match full {
                None => true,
                Some((other, (start, _))) => {
                    window.0 > start || (window.0 == start && guard < other)
                }
            };
            if later {
                full = Some((guard, window));
            }
        } else if let Some(slot) = usize::try_from(part).ok().and_then(|k| counted.get_mut(k)) {
            *slot = Some(window);
        }
    }
    if let Some((guard, window)) = full {
        return Ok(RawHits::Full(guard, window));
    }
    let counted: Vec<(i64, i64)> = counted.into_iter().map_while(|window| window).collect();
    if counted.is_empty() {
        return Err(no_window());
    }
    Ok(RawHits::Counted(counted))
}

fn no_window() -> StoreError {
    StoreError::Database(sqlx::Error::RowNotFound)
}

/// [`Store::hit_rate_windows`]'s outcome as stored (unix seconds and counts as the database
/// has them): a used-up guard (its index and window), or the windows counted.
pub(crate) enum RawHits {
    Full(usize, (i64, i64)),
    Counted(Vec<(i64, i64)>),
}

/// A message about to be inserted.
struct NewMessage<'a> {
    bot_id: &'a str,
    conversation_id: &'a str,
    role: Role,
    content: &'a str,
    now: i64,
    complete: bool,
    actions: Option<&'a str>,
    writer: Option<&'a str>,
    response_ms: Option<i64>,
}

/// What a message costs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Charge {
    /// A reply promised (a chataibot job).
    Pending,
}

/// Spends one credit and counts the reply (or the promise) in the month's usage, if the
/// monthly quota allows. `Some` refusal leaves the transaction to be dropped, which undoes
/// everything.
async fn charge<T>(
    tx: &mut Tx,
    bot_id: &str,
    now: i64,
    charge: Charge,
) -> Result<Option<Outcome<T>>, StoreError> {
    let limits = sqlx::query("SELECT credits, monthly_quota FROM bots WHERE id = $1")
        .bind(bot_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(limits) = limits else {
        return Ok(Some(Outcome::NoCredits));
    };
    let credits: Option<i64> = limits.try_get("credits")?;
    let quota: Option<i64> = limits.try_get("monthly_quota")?;
    if credits.is_some() {
        let spent =
            sqlx::query("UPDATE bots SET credits = credits - 1 WHERE id = $1 AND credits > 0")
                .bind(bot_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        if spent == 0 {
            return Ok(Some(Outcome::NoCredits));
        }
    }
    if quota.is_some_and(|q| q <= 0) {
        return Ok(Some(Outcome::QuotaExceeded));
    }
    let (replies, pending) = match charge {
        Charge::Pending => (0, 1),
    };
    // One atomic statement: the usage row is updated only while under the quota.
    let counted = sqlx::query(
        "INSERT INTO monthly_usage (bot_id, month, replies, pending) VALUES ($1, $2, $3, $4)
         ON CONFLICT (bot_id, month) DO UPDATE SET
             replies = monthly_usage.replies + $3, pending = monthly_usage.pending + $4
         WHERE $5 < 0 OR monthly_usage.replies + monthly_usage.pending < $5
         RETURNING replies",
    )
    .bind(bot_id)
    .bind(dates::month_start_ms(now))
    .bind(replies)
    .bind(pending)
    .bind(quota.unwrap_or(-1))
    .fetch_optional(&mut **tx)
    .await?;
    if counted.is_none() {
        return Ok(Some(Outcome::QuotaExceeded));
    }
    Ok(None)
}

/// Adds `replies` to a bot's usage of the month starting at `month`.
async fn add_usage(
    conn: &mut AnyConnection,
    bot_id: &str,
    month: i64,
    replies: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO monthly_usage (bot_id, month, replies, pending) VALUES ($1, $2, $3, 0)
         ON CONFLICT (bot_id, month) DO UPDATE SET replies = monthly_usage.replies + $3",
    )
    .bind(bot_id)
    .bind(month)
    .bind(replies)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives back what a reply stored at `created_at` cost: its credit, its place in the quota.
async fn refund(tx: &mut Tx, bot_id: &str, created_at: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE bots SET credits = credits + 1 WHERE id = $1 AND credits IS NOT NULL")
        .bind(bot_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE monthly_usage SET replies = replies - 1
         WHERE bot_id = $1 AND month = $2 AND replies > 0",
    )
    .bind(bot_id)
    .bind(dates::month_start_ms(created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The text `topQuestions` compares: trimmed, lower-cased, at most `QUESTION_KEY_BYTES`.
pub fn question_key(text: &str) -> String {
    let mut key = text.trim().to_lowercase();
    if key.len() > QUESTION_KEY_BYTES {
        let mut end = QUESTION_KEY_BYTES;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

async fn bot_in(conn: &mut AnyConnection, id: &str) -> Result<Option<Bot>, StoreError> {
    let row = sqlx::query(&format!("SELECT {BOT_COLUMNS} FROM bots WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(Bot::from_row).transpose()?)
}

/// The conversation to store in: `requested` if it is one of the bot's, else a new one.
/// Returns its id and whether it is new.
async fn conversation_for(
    tx: &mut Tx,
    bot_id: &str,
    requested: Option<&str>,
    now: i64,
) -> Result<(String, bool), StoreError> {
    let existing: Option<String> = match requested {
        Some(id) => {
            sqlx::query_scalar("SELECT id FROM conversations WHERE id = $1 AND bot_id = $2")
                .bind(id)
                .bind(bot_id)
                .fetch_optional(&mut **tx)
                .await?
        }
        None => None,
    };
    match existing {
        Some(id) => Ok((id, false)),
        None => {
            let id = ids::conversation_id()?;
            sqlx::query("INSERT INTO conversations (id, bot_id, created_at) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(bot_id)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            Ok((id, true))
        }
    }
}

async fn first_key(conn: &mut AnyConnection, bot_id: &str) -> Result<Option<ApiKey>, StoreError> {
    let row = sqlx::query(
        "SELECT key, bot_id, allowed_origins, active FROM api_keys WHERE bot_id = $1
         ORDER BY seq LIMIT 1",
    )
    .bind(bot_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(ApiKey::from_row).transpose()?)
}

async fn insert_key(tx: &mut Tx, bot_id: &str) -> Result<ApiKey, StoreError> {
    let key = ApiKey {
        key: ids::publishable_key()?,
        bot_id: bot_id.to_owned(),
        allowed_origins: AllowedOrigins::Any,
        active: true,
    };
    sqlx::query(
        "INSERT INTO api_keys (key, bot_id, allowed_origins, active) VALUES ($1, $2, $3, 1)",
    )
    .bind(&key.key)
    .bind(&key.bot_id)
    .bind(key.allowed_origins.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(key)
}

/// Inserts a message (the `messages_rollup` trigger of the migrations adds it to the daily
/// analytics rollups). Returns its id and seq.
async fn insert_message(
    tx: &mut Tx,
    message: &NewMessage<'_>,
) -> Result<(String, i64), StoreError> {
    let id = ids::message_id()?;
    let key = (message.role == Role::User).then(|| question_key(message.content));
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO messages (id, bot_id, conversation_id, role, content, created_at, complete,
             actions, writer, question_key, response_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING seq",
    )
    .bind(&id)
    .bind(message.bot_id)
    .bind(message.conversation_id)
    .bind(message.role.as_str())
    .bind(message.content)
    .bind(message.now)
    .bind(i64::from(message.complete))
    .bind(message.actions)
    .bind(message.writer)
    .bind(key)
    .bind(message.response_ms)
    .fetch_one(&mut **tx)
    .await?;
    Ok((id, seq))
}

/// Rebuilds the analytics rollups and this month's usage from the messages (after moving a
/// legacy database in, or after seeding messages with SQL). Slow on big data: not for
/// request handling.
pub async fn rebuild_rollups(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let postgres = store.backend() == Backend::Postgres;
    if postgres {
        // Counted in bulk below; row by row, the trigger would also take one lock per
        // conversation until the commit (more than PostgreSQL's lock table holds).
        sqlx::query("ALTER TABLE daily_conversations DISABLE TRIGGER daily_conversations_days")
            .execute(&mut *tx)
            .await?;
    }
    for sql in [
        "DELETE FROM daily_stats",
        "DELETE FROM daily_conversations",
        "DELETE FROM daily_questions",
        "INSERT INTO daily_stats (bot_id, day, messages, replies, response_ms)
         SELECT bot_id, created_at / 86400000, COUNT(*), COUNT(response_ms),
                CAST(COALESCE(SUM(response_ms), 0) AS BIGINT)
         FROM messages GROUP BY bot_id, created_at / 86400000",
        "INSERT INTO daily_conversations (bot_id, day, conversation_id)
         SELECT DISTINCT bot_id, created_at / 86400000, conversation_id FROM messages",
        // (Counted afresh: the trigger counts rows inserted one by one, not in bulk.)
        "DELETE FROM daily_conversation_days",
        "INSERT INTO daily_conversation_days (bot_id, day, prev_day, conversations)
         SELECT bot_id, day, prev_day, COUNT(*) FROM (
             SELECT bot_id, day, COALESCE(LAG(day) OVER (PARTITION BY bot_id, conversation_id
                                                          ORDER BY day), -1) AS prev_day
             FROM daily_conversations) d
         GROUP BY bot_id, day, prev_day",
        "INSERT INTO daily_questions (bot_id, day, question_key, first_seq, asked)
         SELECT bot_id, created_at / 86400000, question_key, MIN(seq), COUNT(*) FROM messages
         WHERE role = 'user' AND question_key IS NOT NULL
         GROUP BY bot_id, created_at / 86400000, question_key",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    if postgres {
        sqlx::query("ALTER TABLE daily_conversations ENABLE TRIGGER daily_conversations_days")
            .execute(&mut *tx)
            .await?;
    }
    let month = dates::month_start_ms(now_ms());
    sqlx::query("DELETE FROM monthly_usage WHERE month = $1")
        .bind(month)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO monthly_usage (bot_id, month, replies, pending)
         SELECT bot_id, $1, COUNT(*), 0 FROM messages
         WHERE role = 'assistant' AND created_at >= $1 AND interrupted = 0 GROUP BY bot_id",
    )
    .bind(month)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE monthly_usage SET pending = (SELECT COUNT(*) FROM reply_jobs j
             WHERE j.bot_id = monthly_usage.bot_id AND j.month = monthly_usage.month)
         WHERE month = $1",
    )
    .bind(month)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `sqlite://` and the path, with the characters a URL would misread escaped.
fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for c in path.display().to_string().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            ' ' => url.push_str("%20"),
            c => url.push(c),
        }
    }
    url
}

/// A database URL without its password (`postgres://user:***@host/db`).
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            let password = if user_info.contains(':') { ":***" } else { "" };
            format!(
                "{scheme}://{user}{password}@{host}{}",
                &rest[authority_end..]
            )
        }
        None => url.to_owned(),
    }
}

/// Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Data directories of the rusqlite releases (`PRAGMA user_version` 1 or 2, no sqlx
/// migrations table): their tables are renamed `legacy_*` before the migrations run, and
/// copied into the new tables after (a crash in between finishes the copy on the next open).
mod legacy {
    use super::*;

    const TABLES: [&str; 4] = ["bots", "api_keys", "conversations", "messages"];

    async fn exists(pool: &AnyPool, name: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?;
        Ok(n > 0)
    }

    pub(super) async fn prepare(pool: &AnyPool) -> Result<(), StoreError> {
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(pool)
            .await?;
        if version < 1 || exists(pool, "_sqlx_migrations").await? || !exists(pool, "bots").await? {
            return Ok(());
        }
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        // Version 2's columns, where a version 1 database lacks them.
        for (table, column, definition) in [
            ("bots", "monthly_quota", "INTEGER"),
            ("bots", "description", "TEXT NOT NULL DEFAULT ''"),
            ("messages", "actions", "TEXT"),
        ] {
            let has: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = $1"
            ))
            .bind(column)
            .fetch_one(&mut *tx)
            .await?;
            if has == 0 {
                sqlx::raw_sql(&format!(
                    "ALTER TABLE {table} ADD COLUMN {column} {definition}"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::raw_sql(
            "DROP INDEX IF EXISTS api_keys_by_bot; DROP INDEX IF EXISTS messages_by_conversation;",
        )
        .execute(&mut *tx)
        .await?;
        for table in TABLES {
            sqlx::raw_sql(&format!("ALTER TABLE {table} RENAME TO legacy_{table}"))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn finish(pool: &AnyPool) -> Result<(), StoreError> {
        if !exists(pool, "legacy_messages").await? {
            return Ok(());
        }
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::raw_sql(
            "INSERT INTO bots (id, name, greeting, primary_color, position, stream_default, credits,
                 rate_limit_per_minute, monthly_quota, description, created_at)
             SELECT id, name, greeting, primary_color, position, stream_default, credits,
                 rate_limit_per_minute, monthly_quota, description, created_at FROM legacy_bots;
             INSERT INTO api_keys (key, bot_id, allowed_origins, active)
             SELECT key, bot_id, allowed_origins, active FROM legacy_api_keys ORDER BY rowid;
             INSERT INTO conversations (id, bot_id, created_at)
             SELECT id, bot_id, created_at FROM legacy_conversations;
             INSERT INTO messages (id, bot_id, conversation_id, role, content, created_at, complete,
                 actions, interrupted)
             SELECT m.id, c.bot_id, m.conversation_id, m.role, m.content, m.created_at, m.complete,
                 m.actions, 0
             FROM legacy_messages m JOIN legacy_conversations c ON c.id = m.conversation_id
             ORDER BY m.rowid;
             UPDATE messages SET response_ms = created_at - (SELECT p.created_at FROM messages p
                 WHERE p.conversation_id = messages.conversation_id AND p.seq < messages.seq
                 ORDER BY p.seq DESC LIMIT 1)
             WHERE role = 'assistant' AND (SELECT p.role FROM messages p
                 WHERE p.conversation_id = messages.conversation_id AND p.seq < messages.seq
                 ORDER BY p.seq DESC LIMIT 1) = 'user';",
        )
        .execute(&mut *tx)
        .await?;
        let questions: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, content FROM messages WHERE role = 'user'")
                .fetch_all(&mut *tx)
                .await?;
        for (seq, content) in questions {
            sqlx::query("UPDATE messages SET question_key = $2 WHERE seq = $1")
                .bind(seq)
                .bind(question_key(&content))
                .execute(&mut *tx)
                .await?;
        }
        for table in TABLES.iter().rev() {
            sqlx::raw_sql(&format!("DROP TABLE legacy_{table}"))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        // The rollups, by the same code as after seeding.
        let store = Store::with_pools(
            Backend::Sqlite,
            pool.clone(),
            pool.clone(),
            [pool.clone(), pool.clone()],
            String::new(),
            None,
        )?;
        rebuild_rollups(&store).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    /// A data directory under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "chat-widget-store-{name}-{}-{}",
                std::process::id(),
                now_ms()
            ));
            std::fs::create_dir_all(&path).expect("temp dir");
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The data of a test: SQLite in `dir`, or with `CHAT_TEST_DATABASE_URL` (see
    /// `tests/support`) a fresh PostgreSQL database, the same one for the same `dir`.
    async fn test_store(dir: &Path) -> Store {
        let Some(server) = std::env::var("CHAT_TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
        else {
            return Store::open(dir).await.expect("open");
        };
        let marker = dir.join("database-url");
        let url = match std::fs::read_to_string(&marker) {
            Ok(url) => url,
            Err(_) => {
                sqlx::any::install_default_drivers();
                let name = format!("u_{}", ids::random_hex(16).expect("random"));
                let mut admin = AnyConnection::connect(&server).await.expect("connect");
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create database");
                let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                std::fs::write(&marker, &url).expect("remember the database");
                url
            }
        };
        Store::connect(&url, &StoreOptions::default())
            .await
            .expect("connect")
    }

    /// Schema version 1 as the first (rusqlite) release created it.
    const SCHEMA_V1: &str = "
    CREATE TABLE bots (id TEXT PRIMARY KEY, name TEXT NOT NULL, greeting TEXT NOT NULL DEFAULT '',
        primary_color TEXT NOT NULL DEFAULT '#0a7cff', position TEXT NOT NULL DEFAULT 'bottom-right',
        stream_default INTEGER NOT NULL DEFAULT 0, credits INTEGER,
        rate_limit_per_minute INTEGER NOT NULL DEFAULT 30, created_at INTEGER NOT NULL);
    CREATE TABLE api_keys (key TEXT PRIMARY KEY, bot_id TEXT NOT NULL REFERENCES bots(id),
        allowed_origins TEXT NOT NULL DEFAULT '*', active INTEGER NOT NULL DEFAULT 1);
    CREATE INDEX api_keys_by_bot ON api_keys(bot_id);
    CREATE TABLE conversations (id TEXT PRIMARY KEY, bot_id TEXT NOT NULL REFERENCES bots(id),
        created_at INTEGER NOT NULL);
    CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL,
        created_at INTEGER NOT NULL, complete INTEGER NOT NULL DEFAULT 1);
    CREATE INDEX messages_by_conversation ON messages(conversation_id);";

    #[tokio::test]
    async fn a_version_1_data_directory_is_upgraded_and_keeps_its_data() {
        let dir = TempDir::new("v1");
        {
            // The database as the first release left it.
            sqlx::any::install_default_drivers();
            let url = format!("{}?mode=rwc", sqlite_url(&dir.0.join(DATABASE_FILE)));
            let mut conn = AnyConnection::connect(&url).await.expect("open");
            sqlx::raw_sql(SCHEMA_V1)
                .execute(&mut conn)
                .await
                .expect("v1 schema");
            sqlx::raw_sql(
                "PRAGMA user_version = 1;
                 INSERT INTO bots (id, name, credits, created_at) VALUES ('shop', 'Shop', 7, 1);
                 INSERT INTO api_keys (key, bot_id) VALUES ('pk_live_old', 'shop');
                 INSERT INTO conversations (id, bot_id, created_at) VALUES ('conv_old', 'shop', 1);
                 INSERT INTO messages (id, conversation_id, role, content, created_at)
                     VALUES ('msg_old', 'conv_old', 'user', 'Hello', 1);
                 INSERT INTO messages (id, conversation_id, role, content, created_at)
                     VALUES ('msg_old2', 'conv_old', 'assistant', 'Hi there', 4);",
            )
            .execute(&mut conn)
            .await
            .expect("v1 data");
            conn.close().await.expect("close");
        }
        let store = Store::open(&dir.0).await.expect("upgrade");
        let bot = store.bot("shop").await.expect("read").expect("kept");
        assert_eq!(
            (bot.credits, bot.monthly_quota, bot.description.as_str()),
            (Some(7), None, "")
        );
        assert_eq!(
            store
                .key("pk_live_old")
                .await
                .expect("read")
                .map(|k| k.bot_id)
                .as_deref(),
            Some("shop")
        );
        let messages = store.messages("conv_old").await.expect("read");
        assert_eq!(
            (
                messages[0].content.as_str(),
                messages[0].suggested_actions.len(),
                messages.len()
            ),
            ("Hello", 0, 2)
        );
        // The rollups were rebuilt from the old messages.
        let figures = store
            .analytics("shop", i64::MIN, i64::MAX)
            .await
            .expect("analytics");
        assert_eq!(
            (
                figures.total_messages,
                figures.conversations,
                figures.average_response_ms
            ),
            (2, 1, Some(3))
        );
        assert_eq!(figures.top_questions, ["Hello"]);
        store.close().await;
        drop(store);
        // Opening again changes nothing.
        let store = Store::open(&dir.0).await.expect("reopen");
        assert!(store.bot(DEMO_BOT_ID).await.expect("read").is_some());
        assert_eq!(store.messages("conv_old").await.expect("read").len(), 2);
    }

    #[tokio::test]
    async fn the_monthly_quota_counts_replies_and_refuses_the_one_too_many() {
        let dir = TempDir::new("quota");
        let store = test_store(&dir.0).await;
        let update = BotUpdate {
            monthly_quota: Some(Some(2)),
            credits: Some(Some(10)),
            ..Default::default()
        };
        store
            .update_bot(DEMO_BOT_ID, &update)
            .await
            .expect("update");
        assert!(matches!(
            store.record_exchange(DEMO_BOT_ID, None, "a", "b").await,
            Ok(Outcome::Recorded(_))
        ));
        // A promised answer counts as well, until it is stored.
        let Ok(Outcome::Recorded(promised)) = store
            .record_visitor_message(DEMO_BOT_ID, None, "c", Duration::ZERO)
            .await
        else {
            panic!("recorded");
        };
        assert_eq!(store.pending_replies(DEMO_BOT_ID).await.expect("read"), 1);
        assert!(matches!(
            store
                .record_visitor_message(DEMO_BOT_ID, None, "c", Duration::ZERO)
                .await,
            Ok(Outcome::QuotaExceeded)
        ));
        assert_eq!(
            store
                .record_exchange(DEMO_BOT_ID, None, "d", "e")
                .await
                .expect("store"),
            Outcome::QuotaExceeded
        );
        let job = store
            .claim_job(&promised.job_id)
            .await
            .expect("claim")
            .expect("unclaimed");
        assert_eq!(job.question, "c");
        assert!(
            store
                .claim_job(&promised.job_id)
                .await
                .expect("claim")
                .is_none(),
            "held"
        );
        store
            .deliver_job(&job, "answer", &[])
            .await
            .expect("deliver")
            .expect("ours");
        assert_eq!(store.pending_replies(DEMO_BOT_ID).await.expect("read"), 0);
        assert_eq!(
            store.replies_this_month(DEMO_BOT_ID).await.expect("count"),
            2
        );
        assert_eq!(
            store
                .record_exchange(DEMO_BOT_ID, None, "d", "e")
                .await
                .expect("store"),
            Outcome::QuotaExceeded
        );
        let bot = store.bot(DEMO_BOT_ID).await.expect("read").expect("bot");
        assert_eq!(bot.credits, Some(8), "a refused exchange spends no credit");
        store
            .update_bot(
                DEMO_BOT_ID,
                &BotUpdate {
                    monthly_quota: Some(None),
                    ..Default::default()
                },
            )
            .await
            .expect("update");
        assert!(matches!(
            store.record_exchange(DEMO_BOT_ID, None, "d", "e").await,
            Ok(Outcome::Recorded(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_exchanges_share_one_commit_and_spend_exactly_the_limits() {
        let dir = TempDir::new("group");
        let store = test_store(&dir.0).await;
        store
            .update_bot(
                DEMO_BOT_ID,
                &BotUpdate {
                    credits: Some(Some(30)),
                    monthly_quota: Some(Some(25)),
                    ..Default::default()
                },
            )
            .await
            .expect("update");
        let Outcome::Recorded(first) = store
            .record_exchange(DEMO_BOT_ID, None, "first", "reply")
            .await
            .expect("store")
        else {
            panic!("recorded");
        };
        // 40 at once, half of them continuing the first conversation: they are stored in
        // batches, and each gets its own outcome.
        let tasks: Vec<_> = (0..40)
            .map(|n| {
                let store = store.clone();
                let conversation = (n % 2 == 0).then(|| first.conversation_id.clone());
                tokio::spawn(async move {
                    store
                        .record_exchange(
                            DEMO_BOT_ID,
                            conversation.as_deref(),
                            &format!("question {n}"),
                            &format!("answer {n}"),
                        )
                        .await
                        .expect("store")
                })
            })
            .collect();
        let mut recorded = Vec::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.expect("task") {
                Outcome::Recorded(exchange) => recorded.push(exchange),
                Outcome::QuotaExceeded => refused += 1,
                Outcome::NoCredits => panic!("credits are not the limit here"),
            }
        }
        assert_eq!(recorded.len(), 24, "the quota of 25 less the first reply");
        assert_eq!(refused, 16);
        assert_eq!(
            store.replies_this_month(DEMO_BOT_ID).await.expect("count"),
            25
        );
        let bot = store.bot(DEMO_BOT_ID).await.expect("read").expect("bot");
        assert_eq!(bot.credits, Some(5), "one credit per stored reply");
        for exchange in &recorded {
            let messages = store
                .messages(&exchange.conversation_id)
                .await
                .expect("messages");
            let question = messages
                .iter()
                .position(|m| m.id == exchange.user_message_id)
                .expect("question stored");
            assert_eq!(
                messages[question + 1].id,
                exchange.reply_message_id,
                "the reply follows its question"
            );
            assert_eq!(
                exchange.new_conversation,
                exchange.conversation_id != first.conversation_id
            );
        }
        let continued = store
            .messages(&first.conversation_id)
            .await
            .expect("messages")
            .len();
        let joined = recorded
            .iter()
            .filter(|e| e.conversation_id == first.conversation_id)
            .count();
        assert_eq!(continued, 2 + 2 * joined);
    }

    #[tokio::test]
    async fn messages_after_a_cursor_come_in_the_order_they_were_stored() {
        let dir = TempDir::new("after");
        let store = test_store(&dir.0).await;
        let Outcome::Recorded(PromisedReply {
            message: first,
            job_id,
        }) = store
            .record_visitor_message(DEMO_BOT_ID, None, "Hi", Duration::ZERO)
            .await
            .expect("store")
        else {
            panic!("recorded");
        };
        let conversation = first.conversation_id.as_str();
        let action = SuggestedAction {
            text: "More".into(),
            payload: Some("more".into()),
            ..Default::default()
        };
        let job = store
            .claim_due_jobs(10)
            .await
            .expect("claim")
            .pop()
            .expect("due");
        assert_eq!(job.id, job_id);
        let answer = store
            .deliver_job(&job, "Hello!", std::slice::from_ref(&action))
            .await
            .expect("add")
            .expect("ours");
        assert_eq!((answer.role, answer.complete), (Role::Assistant, true));
        let ids = |after: Option<String>| {
            let store = store.clone();
            let conversation = conversation.to_owned();
            async move {
                store
                    .messages_after(&conversation, after.as_deref())
                    .await
                    .expect("read")
                    .into_iter()
                    .map(|m| m.id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            ids(None).await,
            [first.message_id.clone(), answer.id.clone()]
        );
        assert_eq!(
            ids(Some(first.message_id.clone())).await,
            std::slice::from_ref(&answer.id)
        );
        assert!(ids(Some(answer.id.clone())).await.is_empty());
        assert_eq!(
            ids(Some("msg_unknown".into())).await.len(),
            2,
            "a stale cursor gets everything again"
        );
        let stored = store
            .messages_after(conversation, Some(&first.message_id))
            .await
            .expect("read");
        assert_eq!(stored[0].suggested_actions, vec![action]);
        assert!(
            store.claim_due_jobs(10).await.expect("claim").is_empty(),
            "delivered once"
        );
    }

    #[tokio::test]
    async fn a_reply_cut_off_by_a_dead_instance_is_interrupted_and_refunded() {
        let dir = TempDir::new("interrupted");
        let dead = test_store(&dir.0).await;
        dead.update_bot(
            DEMO_BOT_ID,
            &BotUpdate {
                credits: Some(Some(5)),
                ..Default::default()
            },
        )
        .await
        .expect("update");
        let Outcome::Recorded(exchange) = dead
            .begin_streamed_exchange(DEMO_BOT_ID, None, "Tell me")
            .await
            .expect("store")
        else {
            panic!("recorded");
        };
        assert_eq!(dead.replies_this_month(DEMO_BOT_ID).await.expect("n"), 1);
        // Another instance (a restart) sees the first one go quiet.
        let alive = test_store(&dir.0).await;
        assert_eq!(
            alive
                .sweep_interrupted(Duration::from_secs(60))
                .await
                .expect("sweep"),
            0
        );
        assert_eq!(
            alive
                .sweep_interrupted(Duration::ZERO)
                .await
                .expect("sweep"),
            1
        );
        let messages = alive
            .messages(&exchange.conversation_id)
            .await
            .expect("read");
        assert!(messages[1].interrupted && !messages[1].complete && messages[1].is_visible());
        let bot = alive.bot(DEMO_BOT_ID).await.expect("read").expect("bot");
        assert_eq!(bot.credits, Some(5), "the credit is given back");
        assert_eq!(alive.replies_this_month(DEMO_BOT_ID).await.expect("n"), 0);
        assert_eq!(
            alive
                .sweep_interrupted(Duration::ZERO)
                .await
                .expect("sweep"),
            0,
            "once"
        );
    }

    #[tokio::test]
    async fn a_rate_window_counts_to_its_limit_and_old_windows_are_pruned() {
        let dir = TempDir::new("rate");
        let store = test_store(&dir.0).await;
        assert_eq!(
            store
                .hit_rate_window("bot:a", 2, 60, 100)
                .await
                .expect("hit"),
            (100, 1)
        );
        assert_eq!(
            store
                .hit_rate_window("bot:a", 2, 60, 110)
                .await
                .expect("hit"),
            (100, 2)
        );
        assert_eq!(
            store
                .hit_rate_window("bot:a", 2, 60, 120)
                .await
                .expect("hit"),
            (100, 3)
        );
        assert_eq!(
            store
                .hit_rate_window("bot:a", 2, 60, 130)
                .await
                .expect("hit"),
            (100, 3)
        );
        assert_eq!(
            store.peek_rate_window("bot:a", 159).await.expect("peek"),
            Some((100, 3))
        );
        assert_eq!(
            store.peek_rate_window("bot:a", 160).await.expect("peek"),
            None
        );
        assert_eq!(
            store
                .hit_rate_window("bot:a", 2, 60, 160)
                .await
                .expect("hit"),
            (160, 1)
        );
        for i in 0..5 {
            store
                .hit_rate_window(&format!("ip:{i}"), 2, 1, 100)
                .await
                .expect("hit");
        }
        assert_eq!(
            store.prune_rate_windows(150, 3).await.expect("prune"),
            3,
            "bounded"
        );
        assert_eq!(store.prune_rate_windows(150, 3).await.expect("prune"), 2);
        assert_eq!(
            store.peek_rate_window("bot:a", 161).await.expect("peek"),
            Some((160, 1))
        );
    }

    #[tokio::test]
    async fn a_visitor_and_its_bot_are_counted_in_one_call_and_a_full_bot_counts_nothing() {
        let dir = TempDir::new("rate-pair");
        let store = test_store(&dir.0).await;
        let pair = |visitor: &'static str, now: u64| {
            let store = store.clone();
            async move {
                store
                    .hit_rate_windows(&[("bot:b", 3)], &[(visitor, 2), ("bot:b", 3)], 60, now)
                    .await
                    .expect("hits")
            }
        };
        assert_eq!(
            pair("visitor:1", 100).await,
            RateHits::Counted(vec![(100, 1), (100, 1)])
        );
        assert_eq!(
            pair("visitor:1", 101).await,
            RateHits::Counted(vec![(100, 2), (100, 2)])
        );
        // The visitor's window refuses: the bot's is not counted.
        assert_eq!(
            pair("visitor:1", 102).await,
            RateHits::Counted(vec![(100, 3)])
        );
        assert_eq!(
            store
                .peek_rate_windows(&["bot:b", "visitor:1"], 103)
                .await
                .expect("peek"),
            vec![Some((100, 2)), Some((100, 3))]
        );
        // Another visitor takes the bot's last request; then the bot's window is full and a
        // third visitor gets no window at all.
        assert_eq!(
            pair("visitor:2", 104).await,
            RateHits::Counted(vec![(104, 1), (100, 3)])
        );
        assert_eq!(
            pair("visitor:3", 105).await,
            RateHits::Full {
                guard: 0,
                window: (100, 3)
            }
        );
        assert_eq!(
            store
                .peek_rate_window("visitor:3", 105)
                .await
                .expect("peek"),
            None
        );
        // A new window of the bot's counts again.
        assert_eq!(
            pair("visitor:3", 160).await,
            RateHits::Counted(vec![(160, 1), (160, 1)])
        );
        if store.backend() == Backend::Sqlite {
            // Hits commit without a flush; the writer is back to durable commits for messages.
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(store.writer())
                .await
                .expect("pragma");
            assert_eq!(synchronous, 2, "FULL");
        }
    }

    #[tokio::test]
    async fn three_windows_count_in_one_call_and_a_used_up_guard_counts_nothing() {
        let dir = TempDir::new("rate-three");
        let store = test_store(&dir.0).await;
        // A visitor (2), its address (3) and the bot (5); the address and the bot guard.
        let hit = |visitor: &'static str, address: &'static str, now: u64| {
            let store = store.clone();
            async move {
                store
                    .hit_rate_windows(
                        &[(address, 3), ("bot:b", 5)],
                        &[(visitor, 2), (address, 3), ("bot:b", 5)],
                        60,
                        now,
                    )
                    .await
                    .expect("hits")
            }
        };
        let peek = |now: u64| {
            let store = store.clone();
            async move {
                store
                    .peek_rate_windows(&["visitor:1", "visitor:2", "address:a", "bot:b"], now)
                    .await
                    .expect("peek")
            }
        };
        assert_eq!(
            hit("visitor:1", "address:a", 100).await,
            RateHits::Counted(vec![(100, 1), (100, 1), (100, 1)])
        );
        assert_eq!(
            hit("visitor:1", "address:a", 101).await,
            RateHits::Counted(vec![(100, 2), (100, 2), (100, 2)])
        );
        // The visitor's window refuses: neither its address's nor the bot's is counted.
        assert_eq!(
            hit("visitor:1", "address:a", 102).await,
            RateHits::Counted(vec![(100, 3)])
        );
        assert_eq!(
            peek(102).await,
            vec![Some((100, 3)), None, Some((100, 2)), Some((100, 2))]
        );
        // Another id at the same address takes the address's last request.
        assert_eq!(
            hit("visitor:2", "address:a", 103).await,
            RateHits::Counted(vec![(103, 1), (100, 3), (100, 3)])
        );
        // The address is used up: nothing is counted, not even a window for a new id, and not
        // the next hits of a visitor that still has room (the statements after a skipped one
        // are skipped too).
        let address_full = RateHits::Full {
            guard: 0,
            window: (100, 3),
        };
        assert_eq!(hit("visitor:3", "address:a", 104).await, address_full);
        assert_eq!(hit("visitor:2", "address:a", 105).await, address_full);
        assert_eq!(
            peek(105).await,
            vec![
                Some((100, 3)),
                Some((103, 1)),
                Some((100, 3)),
                Some((100, 3))
            ]
        );
        assert_eq!(
            store
                .peek_rate_window("visitor:3", 105)
                .await
                .expect("peek"),
            None
        );
        // Elsewhere the bot still has room, until it is used up too.
        for (n, (visitor, address)) in [("visitor:4", "address:b"), ("visitor:5", "address:c")]
            .into_iter()
            .enumerate()
        {
            assert_eq!(
                hit(visitor, address, 106).await,
                RateHits::Counted(vec![(106, 1), (106, 1), (100, 4 + n as u32)])
            );
        }
        assert_eq!(
            hit("visitor:6", "address:d", 107).await,
            RateHits::Full {
                guard: 1,
                window: (100, 5)
            }
        );
        assert_eq!(
            store
                .peek_rate_window("address:d", 107)
                .await
                .expect("peek"),
            None
        );
        // Both used up: the one that ends last is reported; the first of them on a tie.
        for (scope, now) in [("bot:z", 200), ("address:x", 200), ("address:y", 230)] {
            store.hit_rate_window(scope, 1, 60, now).await.expect("hit");
        }
        let used_up = |guards: [(&'static str, u32); 2]| {
            let store = store.clone();
            async move {
                store
                    .hit_rate_windows(&guards, &[("visitor:9", 1), guards[0], guards[1]], 60, 231)
                    .await
                    .expect("hits")
            }
        };
        for (guards, expected) in [
            ([("address:y", 1), ("bot:z", 1)], (0, (230, 1))),
            ([("bot:z", 1), ("address:y", 1)], (1, (230, 1))),
            ([("address:x", 1), ("bot:z", 1)], (0, (200, 1))),
            ([("bot:z", 1), ("address:x", 1)], (0, (200, 1))),
        ] {
            let (guard, window) = expected;
            assert_eq!(
                used_up(guards).await,
                RateHits::Full { guard, window },
                "{guards:?}"
            );
        }
        assert_eq!(
            store
                .peek_rate_window("visitor:9", 231)
                .await
                .expect("peek"),
            None
        );
    }

    /// SQLite commits a batch of exchanges without waiting for the disk and answers it after
    /// flushing the log itself (`store/flush.rs`): a log that cannot be flushed fails the
    /// request instead of telling it the message is stored.
    #[cfg(unix)]
    #[tokio::test]
    async fn sqlite_tells_an_exchange_it_is_stored_only_once_the_log_is_flushed() {
        let dir = TempDir::new("flush");
        let store = Store::open(&dir.0).await.expect("open");
        let say = |text: &'static str| store.record_exchange(DEMO_BOT_ID, None, text, "a");
        assert!(matches!(say("first").await, Ok(Outcome::Recorded(_))));
        // The log's name now leads nowhere (SQLite goes on writing the file it has open).
        let log = dir.0.join(format!("{DATABASE_FILE}-wal"));
        let moved = dir.0.join("moved-wal");
        std::fs::rename(&log, &moved).expect("move the log");
        std::os::unix::fs::symlink(&log, &log).expect("a link to itself");
        let refused = say("second").await;
        assert!(
            matches!(&refused, Err(StoreError::Io(path, _)) if *path == log),
            "{refused:?}"
        );
        std::fs::remove_file(&log).expect("unlink");
        std::fs::rename(&moved, &log).expect("put the log back");
        assert!(matches!(say("third").await, Ok(Outcome::Recorded(_))));
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(store.writer())
            .await
            .expect("pragma");
        assert_eq!(synchronous, 2, "FULL for every other write");
    }

    #[tokio::test]
    async fn analytics_agree_whether_read_from_rollups_or_from_the_messages() {
        let dir = TempDir::new("analytics");
        let store = test_store(&dir.0).await;
        let mut conversation = None;
        for (question, answer) in [
            ("Where is my order?", "a"),
            ("  where IS my order?", "b"),
            ("Hi", "c"),
        ] {
            let Outcome::Recorded(exchange) = store
                .record_exchange(DEMO_BOT_ID, conversation.as_deref(), question, answer)
                .await
                .expect("store")
            else {
                panic!("recorded");
            };
            conversation = Some(exchange.conversation_id);
        }
        store
            .record_exchange(DEMO_BOT_ID, None, "Hi", "d")
            .await
            .expect("store");
        let now = now_ms();
        let today = now.div_euclid(MS_PER_DAY) * MS_PER_DAY;
        let expected = BotAnalytics {
            total_messages: 8,
            conversations: 2,
            average_response_ms: Some(0),
            top_questions: vec!["Where is my order?".into(), "Hi".into()],
        };
        // All time: whole days from the rollups (today is one of them); today alone, as a
        // whole day; and a window of minutes around now, read from the messages only.
        for (from, until) in [
            (i64::MIN, i64::MAX),
            (today, today + MS_PER_DAY),
            (now - 60_000, now + 60_000),
            (today - 3 * MS_PER_DAY + 5, now + 1),
        ] {
            assert_eq!(
                store
                    .analytics(DEMO_BOT_ID, from, until)
                    .await
                    .expect("read"),
                expected,
                "{from}..{until}"
            );
        }
        let later = store
            .analytics(DEMO_BOT_ID, now + 60_000, i64::MAX)
            .await
            .expect("read");
        assert_eq!(later, BotAnalytics::default());
    }

    #[tokio::test]
    async fn conversations_of_a_period_are_counted_once_whatever_days_they_span() {
        let dir = TempDir::new("analytics-days");
        let store = test_store(&dir.0).await;
        // Messages on days 10..14 (1970), stored out of order: a conversation's day may come
        // in after a later day of it.
        let mut sql = String::new();
        for conversation in ["a", "b", "c"] {
            sql.push_str(&format!(
                "INSERT INTO conversations (id, bot_id, created_at) VALUES ('conv_{conversation}', 'demo', 0);"
            ));
        }
        for (n, (conversation, day)) in [
            ("a", 12),
            ("b", 11),
            ("a", 10),
            ("c", 12),
            ("a", 11),
            ("b", 13),
            ("a", 12),
            ("c", 10),
            ("b", 11),
        ]
        .into_iter()
        .enumerate()
        {
            sql.push_str(&format!(
                "INSERT INTO messages (id, bot_id, conversation_id, role, content, created_at, complete)
                 VALUES ('msg_{n}', 'demo', 'conv_{conversation}', 'user', 'q', {}, 1);",
                day * MS_PER_DAY + 1000 * n as i64
            ));
        }
        store.execute_script(&sql).await.expect("insert");
        let counted = |store: Store| async move {
            let mut found = Vec::new();
            for first in 9..15 {
                for end in first + 1..16 {
                    let (from, until) = (first * MS_PER_DAY, end * MS_PER_DAY);
                    let read = store
                        .analytics(DEMO_BOT_ID, from, until)
                        .await
                        .expect("read");
                    let truth: i64 = sqlx::query_scalar(
                        "SELECT COUNT(DISTINCT conversation_id) FROM messages
                         WHERE bot_id = 'demo' AND created_at >= $1 AND created_at < $2",
                    )
                    .bind(from)
                    .bind(until)
                    .fetch_one(store.reader())
                    .await
                    .expect("count");
                    assert_eq!(read.conversations, truth as u64, "days {first}..{end}");
                    found.push(read.conversations);
                }
            }
            found
        };
        let by_trigger = counted(store.clone()).await;
        assert!(by_trigger.contains(&3), "{by_trigger:?}");
        rebuild_rollups(&store).await.expect("rebuild");
        assert_eq!(counted(store.clone()).await, by_trigger, "rebuilt in bulk");
    }

    #[test]
    fn origins_compare_without_case_or_trailing_slash() {
        let list = AllowedOrigins::parse(" https://A.test/ , https://b.test,");
        assert_eq!(
            list,
            AllowedOrigins::List(vec!["https://a.test".into(), "https://b.test".into()])
        );
        assert!(list.allows("https://a.test") && list.allows("HTTPS://B.TEST"));
        assert!(!list.allows("https://c.test") && !list.allows("null") && !list.allows(""));
        assert!(AllowedOrigins::parse("*").allows("https://anything.test"));
        assert!(!AllowedOrigins::parse("").allows("https://a.test"));
        assert_eq!(list.to_string(), "https://a.test,https://b.test");
    }

    #[tokio::test]
    async fn pages_of_messages_go_back_and_forth_and_retention_deletes_old_conversations() {
        let dir = TempDir::new("pages");
        let store = test_store(&dir.0).await;
        let mut conversation: Option<String> = None;
        let mut ids = Vec::new();
        for i in 0..4 {
            let Ok(Outcome::Recorded(exchange)) = store
                .record_exchange(DEMO_BOT_ID, conversation.as_deref(), &format!("q{i}"), "a")
                .await
            else {
                panic!("recorded");
            };
            ids.push(exchange.user_message_id);
            ids.push(exchange.reply_message_id);
            conversation = Some(exchange.conversation_id);
        }
        let conversation = conversation.expect("a conversation");
        let page = |cursor: Cursor, limit: u32| {
            let store = store.clone();
            let conversation = conversation.clone();
            async move {
                let page = store
                    .messages_page(&conversation, &cursor, limit)
                    .await
                    .expect("read")
                    .expect("a page");
                let ids: Vec<String> = page.messages.into_iter().map(|m| m.id).collect();
                (ids, page.older, page.newer)
            }
        };
        assert_eq!(page(Cursor::Latest, 50).await, (ids.clone(), false, false));
        assert_eq!(
            page(Cursor::Latest, 3).await,
            (ids[5..].to_vec(), true, false)
        );
        assert_eq!(
            page(Cursor::Before(ids[5].clone()), 3).await,
            (ids[2..5].to_vec(), true, true)
        );
        assert_eq!(
            page(Cursor::Before(ids[2].clone()), 3).await,
            (ids[..2].to_vec(), false, true)
        );
        assert_eq!(
            page(Cursor::After(ids[1].clone()), 3).await,
            (ids[2..5].to_vec(), true, true)
        );
        assert_eq!(
            page(Cursor::After(ids[4].clone()), 3).await,
            (ids[5..].to_vec(), true, false)
        );
        assert!(store
            .messages_page(&conversation, &Cursor::Before("msg_nope".into()), 3)
            .await
            .expect("read")
            .is_none());

        // Retention: a conversation whose last message is 40 days old goes, with its
        // messages; a recent one stays; the day's totals stay.
        let Ok(Outcome::Recorded(recent)) = store
            .record_exchange(DEMO_BOT_ID, None, "recent", "a")
            .await
        else {
            panic!("recorded");
        };
        let before = store
            .analytics(DEMO_BOT_ID, i64::MIN, i64::MAX)
            .await
            .expect("read")
            .total_messages;
        let forty_days = 40 * 86_400_000_i64;
        for sql in [
            "UPDATE messages SET created_at = created_at - $1 WHERE conversation_id = $2",
            "UPDATE conversations SET created_at = created_at - $1 WHERE id = $2",
        ] {
            sqlx::query(sql)
                .bind(forty_days)
                .bind(&conversation)
                .execute(store.writer())
                .await
                .expect("age");
        }
        let purged = crate::retention::purge(&store, 30).await.expect("purge");
        assert_eq!(
            purged,
            crate::retention::Purged {
                conversations: 1,
                messages: 8
            }
        );
        assert_eq!(
            store.conversation_bot(&conversation).await.expect("read"),
            None
        );
        assert!(store
            .messages(&conversation)
            .await
            .expect("read")
            .is_empty());
        assert_eq!(
            store
                .messages(&recent.conversation_id)
                .await
                .expect("read")
                .len(),
            2
        );
        let after = store
            .analytics(DEMO_BOT_ID, i64::MIN, i64::MAX)
            .await
            .expect("read")
            .total_messages;
        assert_eq!(after, before, "the daily totals are kept");
        assert_eq!(
            crate::retention::purge(&store, 30).await.expect("purge"),
            crate::retention::Purged::default()
        );
    }
}
