-- Training documents (POST /v1/bots/{botId}/train) and the passages they are split into,
-- searched with PostgreSQL's full-text search ('english' configuration; title weight A,
-- keywords B, body D; ts_rank). The demo bot's built-in FAQ is its first document, loaded
-- once (store_flags remembers it, so a deleted FAQ stays deleted).

CREATE TABLE documents (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    bot_id       TEXT NOT NULL REFERENCES bots(id),
    title        TEXT NOT NULL,
    category     TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,            -- markdown, text, html, pdf
    bytes        BIGINT NOT NULL,          -- size of the uploaded file
    chunks       BIGINT NOT NULL,          -- passages
    created_at   BIGINT NOT NULL
);
CREATE INDEX documents_by_bot ON documents(bot_id, seq);

CREATE TABLE passages (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id),
    bot_id      TEXT NOT NULL,
    position    BIGINT NOT NULL,           -- order in its document
    title       TEXT NOT NULL,             -- its section's heading (else the document's title)
    title_key   TEXT NOT NULL,             -- the title lower-cased, without final ?!.
    keywords    TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,             -- Markdown
    follow_ups  TEXT NOT NULL DEFAULT '',  -- titles offered as quick replies, '|'-separated
    search      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', keywords), 'B')
        || setweight(to_tsvector('english', body), 'D')
    ) STORED
);
CREATE INDEX passages_by_bot_title ON passages(bot_id, title_key);
CREATE INDEX passages_by_document ON passages(document_id);
CREATE INDEX passages_search ON passages USING GIN (search);

CREATE TABLE store_flags (
    name TEXT PRIMARY KEY
);
