-- Training documents (POST /v1/bots/{botId}/train) and the passages they are split into,
-- searched with FTS5 (porter stemming, bm25 ranking). The demo bot's built-in FAQ is its
-- first document, loaded once (store_flags remembers it, so a deleted FAQ stays deleted).

CREATE TABLE documents (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    bot_id       TEXT NOT NULL REFERENCES bots(id),
    title        TEXT NOT NULL,
    category     TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,            -- markdown, text, html, pdf
    bytes        INTEGER NOT NULL,         -- size of the uploaded file
    chunks       INTEGER NOT NULL,         -- passages
    created_at   INTEGER NOT NULL
);
CREATE INDEX documents_by_bot ON documents(bot_id, seq);

CREATE TABLE passages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(id),
    bot_id      TEXT NOT NULL,
    position    INTEGER NOT NULL,          -- order in its document
    title       TEXT NOT NULL,             -- its section's heading (else the document's title)
    title_key   TEXT NOT NULL,             -- the title lower-cased, without final ?!.
    keywords    TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,             -- Markdown
    follow_ups  TEXT NOT NULL DEFAULT ''   -- titles offered as quick replies, '|'-separated
);
CREATE INDEX passages_by_bot_title ON passages(bot_id, title_key);
CREATE INDEX passages_by_document ON passages(document_id);

CREATE VIRTUAL TABLE passages_fts USING fts5(
    title, keywords, body,
    content = 'passages', content_rowid = 'id', tokenize = 'porter unicode61'
);
CREATE TRIGGER passages_fts_insert AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts (rowid, title, keywords, body)
    VALUES (new.id, new.title, new.keywords, new.body);
END;
CREATE TRIGGER passages_fts_delete AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts (passages_fts, rowid, title, keywords, body)
    VALUES ('delete', old.id, old.title, old.keywords, old.body);
END;

CREATE TABLE store_flags (
    name TEXT PRIMARY KEY
);
