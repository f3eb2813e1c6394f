-- Distinct conversations of a period without reading every conversation: each row of
-- daily_conversations (a conversation active on a day) is counted here under the day it was
-- active and the conversation's previous active day (-1: none). The conversations active in
-- the days [a, b) are then the sum over those days of the counts whose prev_day < a (each is
-- counted on its first day in the period): O(days), not O(conversations).
CREATE TABLE daily_conversation_days (
    bot_id        TEXT NOT NULL,
    day           INTEGER NOT NULL,
    prev_day      INTEGER NOT NULL,
    conversations INTEGER NOT NULL,
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
CREATE TRIGGER daily_conversations_days AFTER INSERT ON daily_conversations
BEGIN
    UPDATE daily_conversation_days SET conversations = conversations - 1
    WHERE bot_id = NEW.bot_id
      AND day = (SELECT MIN(day) FROM daily_conversations
                 WHERE bot_id = NEW.bot_id AND conversation_id = NEW.conversation_id
                   AND day > NEW.day)
      AND prev_day = (SELECT COALESCE(MAX(day), -1) FROM daily_conversations
                      WHERE bot_id = NEW.bot_id AND conversation_id = NEW.conversation_id
                        AND day < NEW.day);
    INSERT INTO daily_conversation_days (bot_id, day, prev_day, conversations)
    SELECT NEW.bot_id, next_day, NEW.day, 1 FROM (
        SELECT MIN(day) AS next_day FROM daily_conversations
        WHERE bot_id = NEW.bot_id AND conversation_id = NEW.conversation_id AND day > NEW.day)
    WHERE next_day IS NOT NULL
    ON CONFLICT (bot_id, day, prev_day) DO UPDATE SET conversations = conversations + 1;
    INSERT INTO daily_conversation_days (bot_id, day, prev_day, conversations)
    SELECT NEW.bot_id, NEW.day, COALESCE(MAX(day), -1), 1 FROM daily_conversations
    WHERE bot_id = NEW.bot_id AND conversation_id = NEW.conversation_id AND day < NEW.day
    ON CONFLICT (bot_id, day, prev_day) DO UPDATE SET conversations = conversations + 1;
END;
