-- Distinct conversations of a period without reading every conversation: each row of
-- daily_conversations (a conversation active on a day) is counted here under the day it was
-- active and the conversation's previous active day (-1: none). The conversations active in
-- the days [a, b) are then the sum over those days of the counts whose prev_day < a (each is
-- counted on its first day in the period): O(days), not O(conversations).
CREATE TABLE daily_conversation_days (
    bot_id        TEXT NOT NULL,
    day           BIGINT NOT NULL,
    prev_day      BIGINT NOT NULL,
    conversations BIGINT NOT NULL,
    PRIMARY KEY (bot_id, day, prev_day)
);

INSERT INTO daily_conversation_days (bot_id, day, prev_day, conversations)
SELECT bot_id, day, prev_day, COUNT(*) FROM (
    SELECT bot_id, day, COALESCE(LAG(day) OVER (PARTITION BY bot_id, conversation_id
                                                 ORDER BY day), -1) AS prev_day
    FROM daily_conversations) d
GROUP BY bot_id, day, prev_day;

-- A new active day of a conversation: counted after its previous day; the conversation's
-- next active day (if a message came in out of order) now follows this one instead.
CREATE FUNCTION daily_conversations_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev BIGINT;
    next BIGINT;
BEGIN
    -- One conversation's days are counted one transaction at a time (two instances storing
    -- its messages of two days at once would each miss the other's day).
    PERFORM pg_advisory_xact_lock(hashtext('conversation_days/' || NEW.conversation_id));
    SELECT COALESCE(MAX(day), -1) INTO prev FROM daily_conversations
    WHERE bot_id = NEW.bot_id AND conversation_id = NEW.conversation_id AND day < NEW.day;
    SELECT MIN(day) INTO next FROM daily_conversations
    WHERE bot_id = NEW.bot_id AND conversation_id = NEW.conversation_id AND day > NEW.day;
    IF next IS NOT NULL THEN
        UPDATE daily_conversation_days SET conversations = conversations - 1
        WHERE bot_id = NEW.bot_id AND day = next AND prev_day = prev;
        INSERT INTO daily_conversation_days (bot_id, day, prev_day, conversations)
        VALUES (NEW.bot_id, next, NEW.day, 1)
        ON CONFLICT (bot_id, day, prev_day) DO UPDATE SET
            conversations = daily_conversation_days.conversations + 1;
    END IF;
    INSERT INTO daily_conversation_days (bot_id, day, prev_day, conversations)
    VALUES (NEW.bot_id, NEW.day, prev, 1)
    ON CONFLICT (bot_id, day, prev_day) DO UPDATE SET
        conversations = daily_conversation_days.conversations + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER daily_conversations_days AFTER INSERT ON daily_conversations
    FOR EACH ROW EXECUTE FUNCTION daily_conversations_days();
