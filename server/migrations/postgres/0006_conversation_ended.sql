-- When a conversation was reported ended (webhook `conversation.ended`, after
-- --conversation-idle-s without a message). Conversations from before this migration count as
-- ended (0), so no event is sent for them.
ALTER TABLE conversations ADD COLUMN ended_at BIGINT;
UPDATE conversations SET ended_at = 0;
CREATE INDEX conversations_open ON conversations(bot_id) WHERE ended_at IS NULL;
