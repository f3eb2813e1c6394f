-- The daily analytics rollups follow every stored message inside SQLite (no round trip per
-- rollup row from the server): a message counts on the UTC day it was created.
CREATE TRIGGER messages_rollup AFTER INSERT ON messages
BEGIN
    INSERT INTO daily_stats (bot_id, day, messages, replies, response_ms)
    VALUES (NEW.bot_id, NEW.created_at / 86400000, 1,
            CASE WHEN NEW.response_ms IS NULL THEN 0 ELSE 1 END, COALESCE(NEW.response_ms, 0))
    ON CONFLICT (bot_id, day) DO UPDATE SET
        messages = messages + 1,
        replies = replies + excluded.replies,
        response_ms = response_ms + excluded.response_ms;
    INSERT INTO daily_conversations (bot_id, day, conversation_id)
    VALUES (NEW.bot_id, NEW.created_at / 86400000, NEW.conversation_id)
    ON CONFLICT (bot_id, day, conversation_id) DO NOTHING;
    INSERT INTO daily_questions (bot_id, day, question_key, first_seq, asked)
    SELECT NEW.bot_id, NEW.created_at / 86400000, NEW.question_key, NEW.seq, 1
    WHERE NEW.question_key IS NOT NULL
    ON CONFLICT (bot_id, day, question_key) DO UPDATE SET asked = asked + 1;
END;
