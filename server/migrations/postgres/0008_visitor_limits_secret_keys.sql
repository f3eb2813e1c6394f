-- Per-visitor rate limits and secret keys (issue 17).
-- visitor_rate_limit: requests per window for each visitor of the bot (the key, the
-- conversation or visitor id, the client address); rate_limit_per_minute stays the limit of
-- the whole bot. Secret keys (sk_live_...) are stored as the hex SHA-256 of the key only.
ALTER TABLE bots ADD COLUMN visitor_rate_limit BIGINT NOT NULL DEFAULT 30;

CREATE TABLE secret_keys (
    hash       TEXT PRIMARY KEY,
    bot_id     TEXT NOT NULL REFERENCES bots(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX secret_keys_by_bot ON secret_keys(bot_id);

-- Retention (--retain-days): old conversations and old webhook deliveries are found by time.
CREATE INDEX conversations_by_created ON conversations(created_at);
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries(created_at);
