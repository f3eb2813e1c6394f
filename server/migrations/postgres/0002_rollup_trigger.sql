-- The daily analytics rollups follow every stored message inside PostgreSQL (no round trip
-- per rollup row from the server): a message counts on the UTC day it was created.
CREATE FUNCTION messages_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO daily_stats (bot_id, day, messages, replies, response_ms)
    VALUES (NEW.bot_id, NEW.created_at / 86400000, 1,
            CASE WHEN NEW.response_ms IS NULL THEN 0 ELSE 1 END, COALESCE(NEW.response_ms, 0))
    ON CONFLICT (bot_id, day) DO UPDATE SET
        messages = daily_stats.messages + 1,
        replies = daily_stats.replies + EXCLUDED.replies,
        response_ms = daily_stats.response_ms + EXCLUDED.response_ms;
    INSERT INTO daily_conversations (bot_id, day, conversation_id)
    VALUES (NEW.bot_id, NEW.created_at / 86400000, NEW.conversation_id)
    ON CONFLICT (bot_id, day, conversation_id) DO NOTHING;
    IF NEW.question_key IS NOT NULL THEN
        INSERT INTO daily_questions (bot_id, day, question_key, first_seq, asked)
        VALUES (NEW.bot_id, NEW.created_at / 86400000, NEW.question_key, NEW.seq, 1)
        ON CONFLICT (bot_id, day, question_key) DO UPDATE SET asked = daily_questions.asked + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER messages_rollup AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_rollup();
