-- Visitor ids a bot has seen (jombot's `user_id`), for the `user.created` webhook.
CREATE TABLE visitors (
    bot_id     TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, visitor_id)
);
