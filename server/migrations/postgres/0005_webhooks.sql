-- Webhook endpoints per bot and the outbox of their deliveries. An event is written to the
-- outbox for every endpoint that wants it; a background worker posts it, signed, and retries
-- with exponential back-off (times are unix milliseconds).

CREATE TABLE webhooks (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    bot_id     TEXT NOT NULL REFERENCES bots(id),
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,             -- ',message.received,message.sent,' (commas around)
    secret     TEXT NOT NULL,             -- never answered after creation
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_by_bot ON webhooks(bot_id, seq);

CREATE TABLE webhook_deliveries (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id    TEXT NOT NULL,
    event         TEXT NOT NULL,
    body          TEXT NOT NULL,           -- the JSON posted, {"event","timestamp","data"}
    status        TEXT NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       BIGINT NOT NULL,        -- when it is due (or its claim ends)
    last_status   BIGINT,                 -- the receiver's last HTTP status
    last_error    TEXT,                    -- why the last attempt failed
    created_at    BIGINT NOT NULL,
    delivered_at  BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, seq);
