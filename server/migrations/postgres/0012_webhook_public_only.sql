-- Endpoints registered with a bot's secret key are posted to public addresses only (not
-- loopback, private or link-local ones: the server's own network is not the bot owner's).
-- Endpoints registered before, or by the operator, may be anywhere.
ALTER TABLE webhooks ADD COLUMN public_only BIGINT NOT NULL DEFAULT 0;
