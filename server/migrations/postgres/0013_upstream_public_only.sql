-- An AI model's URL that a bot's secret key set is asked at public addresses only (not
-- loopback, private or link-local ones). Settings made before, or by the operator, may be
-- anywhere (a model on 127.0.0.1, say).
ALTER TABLE bot_upstreams ADD COLUMN public_only BIGINT NOT NULL DEFAULT 0;
