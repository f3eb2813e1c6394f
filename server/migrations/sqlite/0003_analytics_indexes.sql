-- Analytics over whole days read these covering indexes in key order: the distinct
-- conversations of a period, and each question's count and first appearance.
CREATE INDEX daily_conversations_by_conversation
    ON daily_conversations (bot_id, conversation_id, day);
CREATE INDEX daily_questions_by_key
    ON daily_questions (bot_id, question_key, day, asked, first_seq);
