//! SQLite storage: bots, publishable API keys, conversations and messages. The schema lives
//! here and only here. Every read comes straight from the database, so a change made by the
//! `bot` admin command (another process) takes effect on the running server's next request.
//!
//! A JSON reply is stored with its question in one go ([`Store::record_exchange`]). A streamed
//! reply is stored in steps: [`Store::begin_streamed_exchange`] stores the question and an
//! empty reply marked incomplete (spending the credit), then [`Store::finish_reply`] writes
//! the text that was sent, or [`Store::withdraw_reply`] removes a reply of which nothing was
//! sent and gives the credit back.
//!
//! A visitor message whose answer is delivered later (the chataibot dialect) is stored alone
//! ([`Store::record_visitor_message`], spending the credit), and the answer is added when it
//! is ready ([`Store::add_bot_message`]).
//!
//! Limits: `credits` (replies left, 402 when none) and `monthly_quota` (assistant replies per
//! UTC calendar month, counted from the stored messages, 403 when used up) are checked and
//! spent in the same transaction as the message they pay for.
//!
//! Schema versions: 1 is the first; 2 adds `bots.monthly_quota`, `bots.description` and
//! `messages.actions`. [`Store::open`] upgrades an older data directory in place, keeping
//! its data.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_widget_protocol::SuggestedAction;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::dates;
use crate::ids::{self, RandomError};

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
/// The requests per minute of new bots (and of the demo bot).
pub const DEFAULT_RATE_LIMIT: u32 = 30;

/// Schema version 1 (the tables as first created; [`V2_COLUMNS`] are added to them).
/// `created_at` columns are unix milliseconds.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS bots (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    greeting              TEXT NOT NULL DEFAULT '',
    primary_color         TEXT NOT NULL DEFAULT '#0a7cff',
    position              TEXT NOT NULL DEFAULT 'bottom-right',
    stream_default        INTEGER NOT NULL DEFAULT 0,
    credits               INTEGER,            -- NULL: unlimited
    rate_limit_per_minute INTEGER NOT NULL DEFAULT 30,
    created_at            INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key             TEXT PRIMARY KEY,
    bot_id          TEXT NOT NULL REFERENCES bots(id),
    allowed_origins TEXT NOT NULL DEFAULT '*', -- '*' or comma-separated origins
    active          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS api_keys_by_bot ON api_keys(bot_id);
CREATE TABLE IF NOT EXISTS conversations (
    id         TEXT PRIMARY KEY,
    bot_id     TEXT NOT NULL REFERENCES bots(id),
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    complete        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id);
";

/// The schema version [`Store::open`] leaves a database at.
pub const SCHEMA_VERSION: i64 = 2;

/// Version 2's new columns: (table, column, definition). Added only where missing, so an
/// interrupted upgrade can run again.
const V2_COLUMNS: [(&str, &str, &str); 3] = [
    ("bots", "monthly_quota", "INTEGER"), // NULL: unlimited; assistant replies per UTC month
    ("bots", "description", "TEXT NOT NULL DEFAULT ''"),
    ("messages", "actions", "TEXT"), // JSON list of suggested actions, NULL when none
];

/// Why a storage operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// The data directory could not be created.
    Io(PathBuf, std::io::Error),
    /// SQLite said no.
    Sqlite(rusqlite::Error),
    /// No random bytes for a new id or key.
    Random(RandomError),
    /// No bot with this id.
    UnknownBot(String),
    /// A bot with this id exists already.
    BotExists(String),
    /// A bot id that could not be part of a URL path.
    InvalidBotId(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(path, err) => {
                write!(f, "cannot use the data directory {}: {err}", path.display())
            }
            Self::Sqlite(err) => write!(f, "database error: {err}"),
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

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sqlite(err)
    }
}

impl From<RandomError> for StoreError {
    fn from(err: RandomError) -> Self {
        Self::Random(err)
    }
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
    /// Requests allowed per 60-second window.
    pub rate_limit_per_minute: u32,
    /// Assistant replies allowed per UTC calendar month; `None` is unlimited.
    pub monthly_quota: Option<u64>,
    /// What the bot is for (set when created through the jelytech dialect).
    pub description: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Bot {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            name: row.get("name")?,
            greeting: row.get("greeting")?,
            primary_color: row.get("primary_color")?,
            position: row.get("position")?,
            stream_default: row.get::<_, i64>("stream_default")? != 0,
            credits: row
                .get::<_, Option<i64>>("credits")?
                .map(|c| u64::try_from(c).unwrap_or(0)),
            rate_limit_per_minute: u32::try_from(
                row.get::<_, i64>("rate_limit_per_minute")?.max(0),
            )
            .unwrap_or(u32::MAX),
            monthly_quota: row
                .get::<_, Option<i64>>("monthly_quota")?
                .map(|q| u64::try_from(q).unwrap_or(0)),
            description: row.get("description")?,
            created_at: row.get("created_at")?,
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
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key: row.get("key")?,
            bot_id: row.get("bot_id")?,
            allowed_origins: AllowedOrigins::parse(&row.get::<_, String>("allowed_origins")?),
            active: row.get::<_, i64>("active")? != 0,
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
    /// it finished: `content` is then what had been sent.
    pub complete: bool,
    /// Quick replies stored with a bot message (only those delivered later, see
    /// [`Store::add_bot_message`]; empty otherwise).
    pub suggested_actions: Vec<SuggestedAction>,
}

impl StoredMessage {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let actions: Option<String> = row.get("actions")?;
        Ok(Self {
            id: row.get("id")?,
            conversation_id: row.get("conversation_id")?,
            role: if row.get::<_, String>("role")? == "user" {
                Role::User
            } else {
                Role::Assistant
            },
            content: row.get("content")?,
            created_at: row.get("created_at")?,
            complete: row.get::<_, i64>("complete")? != 0,
            // Written by this server only; anything unreadable is shown without buttons.
            suggested_actions: actions
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default(),
        })
    }

    /// Whether a client may see it: anything but a streamed reply that has not sent a word yet.
    pub fn is_visible(&self) -> bool {
        self.complete || !self.content.is_empty()
    }
}

/// Settings the `bot` admin command changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotUpdate {
    /// `Some(None)` makes credits unlimited.
    pub credits: Option<Option<u64>>,
    /// Requests per minute.
    pub rate_limit_per_minute: Option<u32>,
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

/// The answers promised by [`Store::record_visitor_message`] and not stored yet, per bot.
type PendingMap = Arc<Mutex<HashMap<String, u64>>>;

/// A visitor message stored alone, and the answer it was promised.
#[derive(Debug)]
pub struct PromisedReply {
    /// The visitor's message.
    pub message: RecordedMessage,
    /// The promise: counted by the monthly quota until it is dropped, which should happen
    /// right after the answer is stored ([`Store::add_bot_message`]) or given up.
    pub pending: PendingReply,
}

/// One answer on its way; dropping it takes it off its bot's count.
#[derive(Debug)]
pub struct PendingReply {
    pending: PendingMap,
    bot_id: String,
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = pending.get_mut(&self.bot_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                pending.remove(&self.bot_id);
            }
        }
    }
}

/// A bot's figures over a period ([`Store::analytics`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotAnalytics {
    /// Messages stored in the period, both sides (replies not begun yet left out).
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

/// The database, shared by all requests.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Lock order: `conn` before `pending`, never the other way round.
    pending: PendingMap,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the data directory and its database, makes sure the schema
    /// and the demo bot with a publishable key exist, and switches to WAL mode so the admin
    /// command can write while the server reads.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|err| StoreError::Io(data_dir.to_owned(), err))?;
        let path = data_dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        })?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        migrate(&mut conn)?;
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
            pending: PendingMap::default(),
        };
        store.ensure_demo_bot()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection. A panic elsewhere while holding it rolled back any open transaction
    /// (the `Transaction` was dropped), so a poisoned lock is safe to keep using.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ensure_demo_bot(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // An existing demo bot keeps its settings, `stream_default` included.
        tx.execute(
            "INSERT OR IGNORE INTO bots (id, name, greeting, primary_color, stream_default,
                 credits, rate_limit_per_minute, created_at)
             VALUES (?1, ?2, ?3, ?4, 1, NULL, ?5, ?6)",
            params![
                DEMO_BOT_ID,
                DEMO_BOT_NAME,
                DEMO_BOT_GREETING,
                DEFAULT_PRIMARY_COLOR,
                DEFAULT_RATE_LIMIT,
                now_ms()
            ],
        )?;
        if first_key(&tx, DEMO_BOT_ID)?.is_none() {
            insert_key(&tx, DEMO_BOT_ID)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The bot with this id.
    pub fn bot(&self, id: &str) -> Result<Option<Bot>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT * FROM bots WHERE id = ?1", [id], Bot::from_row)
            .optional()?)
    }

    /// The key with this text (active or not).
    pub fn key(&self, key: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT * FROM api_keys WHERE key = ?1",
                [key],
                ApiKey::from_row,
            )
            .optional()?)
    }

    /// The bot's first key (the one printed at start and put in the demo page).
    pub fn first_key(&self, bot_id: &str) -> Result<Option<ApiKey>, StoreError> {
        first_key(&self.conn(), bot_id)
    }

    /// Creates a bot with default settings and a publishable key for it.
    pub fn create_bot(&self, id: &str, name: &str) -> Result<(Bot, ApiKey), StoreError> {
        self.create_bot_with(&NewBot::new(id, name))
    }

    /// Creates a bot with these settings (the rest default) and a publishable key for it.
    pub fn create_bot_with(&self, new: &NewBot) -> Result<(Bot, ApiKey), StoreError> {
        let id = new.id.as_str();
        let valid = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(StoreError::InvalidBotId(id.to_owned()));
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO bots (id, name, description, greeting, primary_color, position,
                 credits, rate_limit_per_minute, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8)",
            params![
                id,
                new.name,
                new.description,
                new.greeting,
                new.primary_color,
                new.position,
                DEFAULT_RATE_LIMIT,
                now_ms()
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::BotExists(id.to_owned()));
        }
        let key = insert_key(&tx, id)?;
        let bot = tx.query_row("SELECT * FROM bots WHERE id = ?1", [id], Bot::from_row)?;
        tx.commit()?;
        Ok((bot, key))
    }

    /// Changes a bot's settings (and those of all its keys); returns the bot as it is now.
    pub fn update_bot(&self, id: &str, update: &BotUpdate) -> Result<Bot, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let exists = tx
            .query_row("SELECT 1 FROM bots WHERE id = ?1", [id], |_| Ok(()))
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::UnknownBot(id.to_owned()));
        }
        if let Some(credits) = update.credits {
            let credits = credits.map(|c| i64::try_from(c).unwrap_or(i64::MAX));
            tx.execute(
                "UPDATE bots SET credits = ?2 WHERE id = ?1",
                params![id, credits],
            )?;
        }
        if let Some(limit) = update.rate_limit_per_minute {
            tx.execute(
                "UPDATE bots SET rate_limit_per_minute = ?2 WHERE id = ?1",
                params![id, limit],
            )?;
        }
        if let Some(stream) = update.stream_default {
            tx.execute(
                "UPDATE bots SET stream_default = ?2 WHERE id = ?1",
                params![id, stream],
            )?;
        }
        if let Some(origins) = &update.allowed_origins {
            tx.execute(
                "UPDATE api_keys SET allowed_origins = ?2 WHERE bot_id = ?1",
                params![id, origins.to_string()],
            )?;
        }
        if let Some(quota) = update.monthly_quota {
            let quota = quota.map(|q| i64::try_from(q).unwrap_or(i64::MAX));
            tx.execute(
                "UPDATE bots SET monthly_quota = ?2 WHERE id = ?1",
                params![id, quota],
            )?;
        }
        if let Some(active) = update.keys_active {
            tx.execute(
                "UPDATE api_keys SET active = ?2 WHERE bot_id = ?1",
                params![id, active],
            )?;
        }
        let bot = tx.query_row("SELECT * FROM bots WHERE id = ?1", [id], Bot::from_row)?;
        tx.commit()?;
        Ok(bot)
    }

    /// Stores a visitor message and the bot's reply in one transaction, spending a credit if
    /// the bot's credits are limited. `conversation_id` continues a conversation if it is one
    /// of this bot's; otherwise (absent, unknown, another bot's) a new one is started, so a
    /// stale id kept in a visitor's browser never breaks the chat.
    pub fn record_exchange(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        user_text: &str,
        reply_text: &str,
    ) -> Result<ExchangeOutcome, StoreError> {
        self.insert_exchange(bot_id, conversation_id, user_text, reply_text, true)
    }

    /// Like [`Store::record_exchange`] for a reply about to be streamed: the visitor message
    /// is stored and the credit spent now, the reply as an empty message marked incomplete,
    /// whose id the stream announces. [`Store::finish_reply`] or [`Store::withdraw_reply`]
    /// settles it.
    pub fn begin_streamed_exchange(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        user_text: &str,
    ) -> Result<ExchangeOutcome, StoreError> {
        self.insert_exchange(bot_id, conversation_id, user_text, "", false)
    }

    fn insert_exchange(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        user_text: &str,
        reply_text: &str,
        reply_complete: bool,
    ) -> Result<ExchangeOutcome, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        let pending = self.pending_replies(bot_id);
        if let Some(refused) = charge(&tx, bot_id, now, pending)? {
            return Ok(refused);
        }
        let (conversation_id, new_conversation) =
            conversation_for(&tx, bot_id, conversation_id, now)?;
        let user_message_id =
            insert_message(&tx, &conversation_id, Role::User, user_text, now, true)?;
        let reply_message_id = insert_message(
            &tx,
            &conversation_id,
            Role::Assistant,
            reply_text,
            now,
            reply_complete,
        )?;
        tx.commit()?;
        Ok(ExchangeOutcome::Recorded(RecordedExchange {
            conversation_id,
            new_conversation,
            user_message_id,
            reply_message_id,
            created_at: now,
        }))
    }

    /// Stores a visitor message whose answer will be added later by
    /// [`Store::add_bot_message`], spending the credit for that answer now. Until the
    /// returned promise is dropped, the monthly quota counts the answer as if it were stored.
    /// `conversation_id` as in [`Store::record_exchange`].
    pub fn record_visitor_message(
        &self,
        bot_id: &str,
        conversation_id: Option<&str>,
        text: &str,
    ) -> Result<Outcome<PromisedReply>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        let pending = self.pending_replies(bot_id);
        if let Some(refused) = charge(&tx, bot_id, now, pending)? {
            return Ok(refused);
        }
        let (conversation_id, new_conversation) =
            conversation_for(&tx, bot_id, conversation_id, now)?;
        let message_id = insert_message(&tx, &conversation_id, Role::User, text, now, true)?;
        tx.commit()?;
        // Counted before the connection is released, so the next charge sees it.
        *self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(bot_id.to_owned())
            .or_insert(0) += 1;
        Ok(Outcome::Recorded(PromisedReply {
            message: RecordedMessage {
                conversation_id,
                new_conversation,
                message_id,
                created_at: now,
            },
            pending: PendingReply {
                pending: Arc::clone(&self.pending),
                bot_id: bot_id.to_owned(),
            },
        }))
    }

    /// The answers promised by [`Store::record_visitor_message`] for a bot and not given up
    /// or stored yet.
    pub fn pending_replies(&self, bot_id: &str) -> u64 {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.get(bot_id).copied().unwrap_or(0)
    }

    /// Adds a bot message, complete, with its quick replies, to a conversation (the answer
    /// promised by [`Store::record_visitor_message`]; no credit is spent here).
    pub fn add_bot_message(
        &self,
        conversation_id: &str,
        text: &str,
        actions: &[SuggestedAction],
    ) -> Result<StoredMessage, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        let id = insert_message(&tx, conversation_id, Role::Assistant, text, now, true)?;
        if !actions.is_empty() {
            let json = serde_json::to_string(actions).unwrap_or_else(|_| "[]".to_owned());
            tx.execute(
                "UPDATE messages SET actions = ?2 WHERE id = ?1",
                params![id, json],
            )?;
        }
        let message = tx.query_row(
            "SELECT * FROM messages WHERE id = ?1",
            [&id],
            StoredMessage::from_row,
        )?;
        tx.commit()?;
        Ok(message)
    }

    /// The assistant replies stored for a bot since the start of this UTC calendar month
    /// (what the monthly quota counts).
    pub fn replies_this_month(&self, bot_id: &str) -> Result<u64, StoreError> {
        replies_since(&self.conn(), bot_id, dates::month_start_ms(now_ms()))
    }

    /// Writes a streamed reply's text: all of it with `complete`, or the part that was sent
    /// before the visitor left without. Returns false if there is no such reply.
    pub fn finish_reply(
        &self,
        message_id: &str,
        content: &str,
        complete: bool,
    ) -> Result<bool, StoreError> {
        let updated = self.conn().execute(
            "UPDATE messages SET content = ?2, complete = ?3 WHERE id = ?1 AND role = 'assistant'",
            params![message_id, content, complete],
        )?;
        Ok(updated > 0)
    }

    /// Removes a streamed reply of which nothing was sent and gives its bot the credit back
    /// (if its credits are limited). The visitor's message stays. Returns false if there was
    /// no such reply (nothing is refunded then).
    pub fn withdraw_reply(&self, bot_id: &str, message_id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let deleted = tx.execute(
            "DELETE FROM messages WHERE id = ?1 AND role = 'assistant' AND complete = 0
                 AND conversation_id IN (SELECT id FROM conversations WHERE bot_id = ?2)",
            [message_id, bot_id],
        )?;
        if deleted > 0 {
            tx.execute(
                "UPDATE bots SET credits = credits + 1 WHERE id = ?1 AND credits IS NOT NULL",
                [bot_id],
            )?;
        }
        tx.commit()?;
        Ok(deleted > 0)
    }

    /// The bot a conversation belongs to, if the conversation exists.
    pub fn conversation_bot(&self, conversation_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT bot_id FROM conversations WHERE id = ?1",
                [conversation_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// A bot's figures for the messages stored from `from_ms` (inclusive) to `until_ms`
    /// (exclusive).
    pub fn analytics(
        &self,
        bot_id: &str,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<BotAnalytics, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE c.bot_id = ?1 AND m.created_at >= ?2 AND m.created_at < ?3
             ORDER BY m.rowid",
        )?;
        let messages = statement
            .query_map(params![bot_id, from_ms, until_ms], StoredMessage::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        let messages: Vec<StoredMessage> = messages
            .into_iter()
            .filter(StoredMessage::is_visible)
            .collect();

        let mut conversations = std::collections::HashSet::new();
        let (mut waited_ms, mut replies) = (0i64, 0i64);
        let mut asked: Vec<(String, String, u64)> = Vec::new(); // (key, first wording, count)
                                                                // The message before each one in its own conversation.
        let mut previous_in: HashMap<&str, &StoredMessage> = HashMap::new();
        for message in &messages {
            let previous = previous_in.insert(message.conversation_id.as_str(), message);
            conversations.insert(message.conversation_id.as_str());
            match message.role {
                Role::User => {
                    let key = message.content.trim().to_lowercase();
                    match asked.iter_mut().find(|(k, _, _)| *k == key) {
                        Some((_, _, count)) => *count += 1,
                        None => asked.push((key, message.content.trim().to_owned(), 1)),
                    }
                }
                Role::Assistant => {
                    if let Some(question) = previous.filter(|p| p.role == Role::User) {
                        waited_ms += (message.created_at - question.created_at).max(0);
                        replies += 1;
                    }
                }
            }
        }
        // A stable sort keeps the first-asked order among equals.
        asked.sort_by_key(|&(_, _, count)| std::cmp::Reverse(count));
        Ok(BotAnalytics {
            total_messages: messages.len() as u64,
            conversations: conversations.len() as u64,
            average_response_ms: (replies > 0).then(|| waited_ms / replies),
            top_questions: asked
                .into_iter()
                .take(TOP_QUESTIONS)
                .map(|(_, text, _)| text)
                .collect(),
        })
    }

    /// The conversation a message belongs to, if the message exists.
    pub fn conversation_of_message(&self, message_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT conversation_id FROM messages WHERE id = ?1",
                [message_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// A conversation's messages, oldest first.
    pub fn messages(&self, conversation_id: &str) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT * FROM messages WHERE conversation_id = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = statement.query_map([conversation_id], StoredMessage::from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// A conversation's messages stored after the message `after`, in the order they were
    /// stored; all of them without `after`, or when `after` is not a message of this
    /// conversation (a stale cursor gets everything again rather than nothing).
    pub fn messages_after(
        &self,
        conversation_id: &str,
        after: Option<&str>,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.conn();
        let cursor: i64 = match after {
            Some(after) => conn
                .query_row(
                    "SELECT rowid FROM messages WHERE id = ?1 AND conversation_id = ?2",
                    [after, conversation_id],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or(0),
            None => 0,
        };
        let mut statement = conn.prepare(
            "SELECT * FROM messages WHERE conversation_id = ?1 AND rowid > ?2 ORDER BY rowid",
        )?;
        let rows =
            statement.query_map(params![conversation_id, cursor], StoredMessage::from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Brings a database at any earlier schema version (0: empty) to [`SCHEMA_VERSION`].
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version < SCHEMA_VERSION {
        tx.execute_batch(SCHEMA_V1)?;
        for (table, column, definition) in V2_COLUMNS {
            let exists = tx
                .prepare(&format!(
                    "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
                ))?
                .exists([column])?;
            if !exists {
                tx.execute_batch(&format!(
                    "ALTER TABLE {table} ADD COLUMN {column} {definition}"
                ))?;
            }
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    }
    tx.commit()?;
    Ok(())
}

/// Spends one credit and checks the monthly quota (counting `pending` promised replies too).
/// `Some` refusal leaves the transaction to be dropped, which undoes the credit.
fn charge<T>(
    tx: &Transaction<'_>,
    bot_id: &str,
    now: i64,
    pending: u64,
) -> Result<Option<Outcome<T>>, StoreError> {
    let spent = tx.execute(
        "UPDATE bots SET credits = CASE WHEN credits IS NULL THEN NULL ELSE credits - 1 END
         WHERE id = ?1 AND (credits IS NULL OR credits > 0)",
        [bot_id],
    )?;
    if spent == 0 {
        return Ok(Some(Outcome::NoCredits));
    }
    let quota: Option<i64> = tx.query_row(
        "SELECT monthly_quota FROM bots WHERE id = ?1",
        [bot_id],
        |row| row.get(0),
    )?;
    if let Some(quota) = quota {
        let used = replies_since(tx, bot_id, dates::month_start_ms(now))?.saturating_add(pending);
        if used >= u64::try_from(quota).unwrap_or(0) {
            return Ok(Some(Outcome::QuotaExceeded));
        }
    }
    Ok(None)
}

/// Assistant messages of a bot's conversations stored at or after `since_ms`.
fn replies_since(conn: &Connection, bot_id: &str, since_ms: i64) -> Result<u64, StoreError> {
    let count: i64 = conn.query_row(
        "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.bot_id = ?1 AND m.role = 'assistant' AND m.created_at >= ?2",
        params![bot_id, since_ms],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The conversation to store in: `requested` if it is one of the bot's, else a new one.
/// Returns its id and whether it is new.
fn conversation_for(
    tx: &Transaction<'_>,
    bot_id: &str,
    requested: Option<&str>,
    now: i64,
) -> Result<(String, bool), StoreError> {
    let existing = match requested {
        Some(id) => tx
            .query_row(
                "SELECT id FROM conversations WHERE id = ?1 AND bot_id = ?2",
                [id, bot_id],
                |row| row.get::<_, String>(0),
            )
            .optional()?,
        None => None,
    };
    match existing {
        Some(id) => Ok((id, false)),
        None => {
            let id = ids::conversation_id()?;
            tx.execute(
                "INSERT INTO conversations (id, bot_id, created_at) VALUES (?1, ?2, ?3)",
                params![id, bot_id, now],
            )?;
            Ok((id, true))
        }
    }
}

fn first_key(conn: &Connection, bot_id: &str) -> Result<Option<ApiKey>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT * FROM api_keys WHERE bot_id = ?1 ORDER BY rowid LIMIT 1",
            [bot_id],
            ApiKey::from_row,
        )
        .optional()?)
}

fn insert_key(tx: &Transaction<'_>, bot_id: &str) -> Result<ApiKey, StoreError> {
    let key = ApiKey {
        key: ids::publishable_key()?,
        bot_id: bot_id.to_owned(),
        allowed_origins: AllowedOrigins::Any,
        active: true,
    };
    tx.execute(
        "INSERT INTO api_keys (key, bot_id, allowed_origins, active) VALUES (?1, ?2, ?3, 1)",
        params![key.key, key.bot_id, key.allowed_origins.to_string()],
    )?;
    Ok(key)
}

fn insert_message(
    tx: &Transaction<'_>,
    conversation_id: &str,
    role: Role,
    content: &str,
    now: i64,
    complete: bool,
) -> Result<String, StoreError> {
    let id = ids::message_id()?;
    tx.execute(
        "INSERT INTO messages (id, conversation_id, role, content, created_at, complete)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, conversation_id, role.as_str(), content, now, complete],
    )?;
    Ok(id)
}

/// Unix milliseconds (0 if the clock is before 1970).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_version_1_data_directory_is_upgraded_and_keeps_its_data() {
        let dir = TempDir::new("v1");
        {
            // The database as the first release left it.
            let conn = Connection::open(dir.0.join(DATABASE_FILE)).expect("open");
            conn.execute_batch(SCHEMA_V1).expect("v1 schema");
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO bots (id, name, credits, created_at) VALUES ('shop', 'Shop', 7, 1);
                 INSERT INTO api_keys (key, bot_id) VALUES ('pk_live_old', 'shop');
                 INSERT INTO conversations (id, bot_id, created_at) VALUES ('conv_old', 'shop', 1);
                 INSERT INTO messages (id, conversation_id, role, content, created_at)
                     VALUES ('msg_old', 'conv_old', 'user', 'Hello', 1);",
            )
            .expect("v1 data");
        }
        let store = Store::open(&dir.0).expect("upgrade");
        let bot = store.bot("shop").expect("read").expect("kept");
        assert_eq!(
            (bot.credits, bot.monthly_quota, bot.description.as_str()),
            (Some(7), None, "")
        );
        assert_eq!(
            store
                .key("pk_live_old")
                .expect("read")
                .map(|k| k.bot_id)
                .as_deref(),
            Some("shop")
        );
        let messages = store.messages("conv_old").expect("read");
        assert_eq!(
            (
                messages[0].content.as_str(),
                messages[0].suggested_actions.len()
            ),
            ("Hello", 0)
        );
        let version: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        drop(store);
        // Opening again changes nothing.
        let store = Store::open(&dir.0).expect("reopen");
        assert!(store.bot(DEMO_BOT_ID).expect("read").is_some());
    }

    #[test]
    fn the_monthly_quota_counts_replies_and_refuses_the_one_too_many() {
        let dir = TempDir::new("quota");
        let store = Store::open(&dir.0).expect("open");
        let update = BotUpdate {
            monthly_quota: Some(Some(2)),
            credits: Some(Some(10)),
            ..Default::default()
        };
        store.update_bot(DEMO_BOT_ID, &update).expect("update");
        assert!(matches!(
            store.record_exchange(DEMO_BOT_ID, None, "a", "b"),
            Ok(Outcome::Recorded(_))
        ));
        // A promised answer counts as well, until it is stored or given up.
        let Ok(Outcome::Recorded(promised)) = store.record_visitor_message(DEMO_BOT_ID, None, "c")
        else {
            panic!("recorded");
        };
        assert_eq!(store.pending_replies(DEMO_BOT_ID), 1);
        assert!(matches!(
            store.record_visitor_message(DEMO_BOT_ID, None, "c"),
            Ok(Outcome::QuotaExceeded)
        ));
        assert_eq!(
            store
                .record_exchange(DEMO_BOT_ID, None, "d", "e")
                .expect("store"),
            Outcome::QuotaExceeded
        );
        drop(promised.pending);
        assert_eq!(store.pending_replies(DEMO_BOT_ID), 0);
        assert!(matches!(
            store.begin_streamed_exchange(DEMO_BOT_ID, None, "c"),
            Ok(Outcome::Recorded(_))
        ));
        assert_eq!(store.replies_this_month(DEMO_BOT_ID).expect("count"), 2);
        assert_eq!(
            store
                .record_exchange(DEMO_BOT_ID, None, "d", "e")
                .expect("store"),
            Outcome::QuotaExceeded
        );
        let bot = store.bot(DEMO_BOT_ID).expect("read").expect("bot");
        assert_eq!(bot.credits, Some(7), "a refused exchange spends no credit");
        store
            .update_bot(
                DEMO_BOT_ID,
                &BotUpdate {
                    monthly_quota: Some(None),
                    ..Default::default()
                },
            )
            .expect("update");
        assert!(matches!(
            store.record_exchange(DEMO_BOT_ID, None, "d", "e"),
            Ok(Outcome::Recorded(_))
        ));
    }

    #[test]
    fn messages_after_a_cursor_come_in_the_order_they_were_stored() {
        let dir = TempDir::new("after");
        let store = Store::open(&dir.0).expect("open");
        let Outcome::Recorded(PromisedReply { message: first, .. }) = store
            .record_visitor_message(DEMO_BOT_ID, None, "Hi")
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
        let answer = store
            .add_bot_message(conversation, "Hello!", std::slice::from_ref(&action))
            .expect("add");
        assert_eq!((answer.role, answer.complete), (Role::Assistant, true));
        let ids = |after: Option<&str>| -> Vec<String> {
            store
                .messages_after(conversation, after)
                .expect("read")
                .into_iter()
                .map(|m| m.id)
                .collect()
        };
        assert_eq!(ids(None), [first.message_id.clone(), answer.id.clone()]);
        assert_eq!(
            ids(Some(&first.message_id)),
            std::slice::from_ref(&answer.id)
        );
        assert!(ids(Some(&answer.id)).is_empty());
        assert_eq!(
            ids(Some("msg_unknown")).len(),
            2,
            "a stale cursor gets everything again"
        );
        let stored = store
            .messages_after(conversation, Some(&first.message_id))
            .expect("read");
        assert_eq!(stored[0].suggested_actions, vec![action]);
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
}
