-- A bot's AI model: an OpenAI-compatible chat-completions upstream. Without a row the bot
-- answers from its training documents. The upstream's secret key is never stored: key_env
-- names the environment variable of the serving process that holds it.
CREATE TABLE bot_upstreams (
    bot_id        TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    model         TEXT NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    temperature   DOUBLE PRECISION,
    max_tokens    BIGINT,
    key_env       TEXT
);
