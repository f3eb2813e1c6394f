-- The store as sqlx first creates it (SQLite). Times are unix milliseconds; flags are 0/1.
-- A data directory made by the rusqlite releases (PRAGMA user_version 1 or 2) is moved into
-- these tables by Store::open (see store.rs, "legacy").

CREATE TABLE bots (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    greeting              TEXT NOT NULL DEFAULT '',
    primary_color         TEXT NOT NULL DEFAULT '#0a7cff',
    position              TEXT NOT NULL DEFAULT 'bottom-right',
    stream_default        INTEGER NOT NULL DEFAULT 0,
    credits               INTEGER,            -- NULL: unlimited
    rate_limit_per_minute INTEGER NOT NULL DEFAULT 30,
    monthly_quota         INTEGER,            -- NULL: unlimited; assistant replies per UTC month
    description           TEXT NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL
);

CREATE TABLE api_keys (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL UNIQUE,
    bot_id          TEXT NOT NULL REFERENCES bots(id),
    allowed_origins TEXT NOT NULL DEFAULT '*', -- '*' or comma-separated origins
    active          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX api_keys_by_bot ON api_keys(bot_id, seq);

CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    bot_id     TEXT NOT NULL REFERENCES bots(id),
    created_at INTEGER NOT NULL
);

-- seq orders messages (history, the chataibot `after` cursor, "first asked").
CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    bot_id          TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    complete        INTEGER NOT NULL DEFAULT 1,
    actions         TEXT,                  -- JSON list of suggested actions, NULL when none
    interrupted     INTEGER NOT NULL DEFAULT 0, -- a crash cut the reply off (see writer)
    writer          TEXT,                  -- the instance streaming an unfinished reply
    question_key    TEXT,                  -- user messages: the text compared for topQuestions
    response_ms     INTEGER                -- replies: ms since the visitor message they answer
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
CREATE INDEX messages_by_bot_time ON messages(bot_id, created_at);
CREATE INDEX messages_unfinished ON messages(writer) WHERE complete = 0 AND interrupted = 0;

-- Replies stored (and promised, pending) per bot per UTC month (month = its first ms): what
-- the monthly quota compares, updated in the transaction that stores the message.
CREATE TABLE monthly_usage (
    bot_id  TEXT NOT NULL,
    month   INTEGER NOT NULL,
    replies INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bot_id, month)
);

-- Analytics rollups per bot per UTC day (day = unix ms / 86400000).
CREATE TABLE daily_stats (
    bot_id      TEXT NOT NULL,
    day         INTEGER NOT NULL,
    messages    INTEGER NOT NULL DEFAULT 0,
    replies     INTEGER NOT NULL DEFAULT 0, -- replies with a response time
    response_ms INTEGER NOT NULL DEFAULT 0, -- their sum
    PRIMARY KEY (bot_id, day)
);
CREATE TABLE daily_conversations (
    bot_id          TEXT NOT NULL,
    day             INTEGER NOT NULL,
    conversation_id TEXT NOT NULL,
    PRIMARY KEY (bot_id, day, conversation_id)
);
CREATE TABLE daily_questions (
    bot_id       TEXT NOT NULL,
    day          INTEGER NOT NULL,
    question_key TEXT NOT NULL,
    first_seq    INTEGER NOT NULL,
    asked        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bot_id, day, question_key)
);

-- Fixed rate-limit windows per scope ("bot:<id>", "visitor:<hash>", "ip:<addr>", ...).
CREATE TABLE rate_windows (
    scope        TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL, -- unix seconds
    window_secs  INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);
CREATE INDEX rate_windows_by_end ON rate_windows(window_start);

-- Chataibot answers that are due: stored with the visitor message, claimed by one instance
-- (claimed_until is its lease), deleted in the transaction that stores the answer.
CREATE TABLE reply_jobs (
    id                  TEXT PRIMARY KEY,
    bot_id              TEXT NOT NULL,
    conversation_id     TEXT NOT NULL,
    question_message_id TEXT NOT NULL,
    month               INTEGER NOT NULL,
    due_at              INTEGER NOT NULL,
    claimed_by          TEXT,
    claimed_until       INTEGER
);
CREATE INDEX reply_jobs_by_due ON reply_jobs(due_at);

-- Running server processes and when each was last seen alive.
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
