//! Training documents: an uploaded file's text (Markdown, plain text, HTML through
//! `html2text` with scripts and styles dropped, PDF through `pdf-extract`), split into
//! passages, stored and indexed by the database's own full-text search: SQLite FTS5 with its
//! bm25 ranking (porter stemming), or PostgreSQL's `tsvector` with `ts_rank` ('english'
//! configuration). The brain ([`crate::faq::answer`]) asks [`search`] for the best passage.
//!
//! A passage is a Markdown section (every heading starts one; `Keywords:` and `Follow-ups:`
//! lines work as in the FAQ format), or for text without headings a run of paragraphs; a long
//! section is cut at paragraph ends into passages of at most [`MAX_PASSAGE_CHARS`].

use std::fmt;
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::faq::{self, FaqEntry, BUILTIN_FAQ};
use crate::ids;
use crate::store::{now_ms, Backend, Store, StoreError, Tx, DEMO_BOT_ID};

/// The upload size limit unless the server says otherwise (`--max-upload-bytes`).
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// The longest passage, in characters (a longer section is cut at paragraph ends).
pub const MAX_PASSAGE_CHARS: usize = 1500;
/// The longest title and category accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The id of the demo bot's built-in FAQ document.
pub const DEMO_FAQ_DOCUMENT_ID: &str = "doc_demo_faq";
const DEMO_FAQ_TITLE: &str = "Acme Store FAQ";
const DEMO_FAQ_FLAG: &str = "demo_faq_loaded";

/// The kinds of file a bot can be trained from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.md`, `.markdown`, `text/markdown`.
    Markdown,
    /// `.txt`, `text/plain`.
    Text,
    /// `.html`, `.htm`, `text/html`.
    Html,
    /// `.pdf`, `application/pdf`.
    Pdf,
}

impl Kind {
    /// The kind named by a file name's extension, else by the part's content type.
    pub fn detect(file_name: Option<&str>, content_type: Option<&str>) -> Option<Self> {
        let extension = file_name
            .and_then(|name| name.rsplit_once('.'))
            .map(|(_, ext)| ext.to_ascii_lowercase());
        let by_extension = match extension.as_deref() {
            Some("md" | "markdown") => Some(Self::Markdown),
            Some("txt" | "text") => Some(Self::Text),
            Some("html" | "htm") => Some(Self::Html),
            Some("pdf") => Some(Self::Pdf),
            _ => None,
        };
        let essence = content_type.map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        by_extension.or(match essence.as_deref() {
            Some("text/markdown" | "text/x-markdown") => Some(Self::Markdown),
            Some("text/plain") => Some(Self::Text),
            Some("text/html") => Some(Self::Html),
            Some("application/pdf") => Some(Self::Pdf),
            _ => None,
        })
    }

    /// Whether its text is extracted (HTML, PDF): by an extractor that may take a core for
    /// up to [`EXTRACTION_TIMEOUT`], in a child process in the binary, so an upload of it
    /// waits for one of the server's few extraction slots
    /// ([`crate::AppState::with_max_extractions`]). Markdown and plain text are read as they
    /// are.
    pub fn is_extracted(self) -> bool {
        matches!(self, Self::Html | Self::Pdf)
    }

    /// The name stored and shown (`markdown`, `text`, `html`, `pdf`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Markdown => "markdown",
            Self::Text => "text",
            Self::Html => "html",
            Self::Pdf => "pdf",
        }
    }
}

/// Why an upload cannot become a document (a 400 `INVALID_REQUEST`; the text says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One passage to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// Its section's heading, else the document's title.
    pub title: String,
    /// Extra words that find it.
    pub keywords: Vec<String>,
    /// The text, in Markdown.
    pub body: String,
    /// Titles offered as quick replies under it.
    pub follow_ups: Vec<String>,
}

/// The passages of an uploaded file, or why it has none. CPU-bound (a PDF can take a while):
/// call it off the async threads. HTML and PDF text is extracted in a child process when the
/// binary set one up ([`extract_in_child_processes`]); a file the extractor fails on, crashes
/// on or takes too long with is reported as unreadable.
pub fn passages(kind: Kind, bytes: &[u8], title: &str) -> Result<Vec<Passage>, Unreadable> {
    if bytes.is_empty() {
        return Err(Unreadable("The file is empty".to_owned()));
    }
    let text = match kind {
        Kind::Markdown | Kind::Text => utf8_text(bytes)?.to_owned(),
        Kind::Html | Kind::Pdf => {
            if kind == Kind::Html {
                utf8_text(bytes)?;
            } else if !bytes.starts_with(b"%PDF-") {
                return Err(Unreadable("The file is not a PDF document".to_owned()));
            }
            match EXTRACTOR.get() {
                Some((program, timeout)) => text_in_child(program, *timeout, kind, bytes)?,
                None => extracted_text(kind, bytes)?,
            }
        }
    };
    let passages = match kind {
        Kind::Markdown | Kind::Html => markdown_passages(&text, title),
        Kind::Text | Kind::Pdf => text_passages(&text, title),
    };
    if passages.is_empty() {
        return Err(Unreadable("The file has no text to learn from".to_owned()));
    }
    Ok(passages)
}

/// A text file's text, without a byte order mark.
fn utf8_text(bytes: &[u8]) -> Result<&str, Unreadable> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        Unreadable(format!(
            "The file is not UTF-8 text (invalid byte at offset {})",
            err.valid_up_to()
        ))
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// The argument that makes the binary extract an HTML or PDF file's text
/// ([`extracted_text`]): `__extract-text html|pdf`, the file on stdin, the text on stdout
/// (exit status 0), or why not (exit status [`EXTRACT_REFUSED`]).
pub const EXTRACT_ARG: &str = "__extract-text";

/// The extractor's exit status for a file it cannot read; its stdout says why.
pub const EXTRACT_REFUSED: u8 = 3;

/// How long an isolated extraction may take in the binary.
pub const EXTRACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an HTML or PDF upload waits for an extraction slot when all are taken, unless the
/// server says otherwise ([`crate::AppState::with_extraction_wait`]); then it is refused with
/// 503 and `Retry-After`.
pub const EXTRACTION_WAIT: Duration = Duration::from_secs(10);

/// Extractions at once unless the server says otherwise (`--max-extractions`): one per CPU
/// (the extractors are CPU-bound), 2 when the number of CPUs is unknown.
pub fn default_max_extractions() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// The most text an isolated extraction may give (a small PDF of compressed streams can
/// inflate to far more).
pub const MAX_EXTRACTED_TEXT_BYTES: usize = 32 * 1024 * 1024;

static EXTRACTOR: std::sync::OnceLock<(std::path::PathBuf, Duration)> = std::sync::OnceLock::new();

/// Extracts HTML and PDF text in a child process from now on: `program` run with
/// [`EXTRACT_ARG`] (the binary sets itself, with [`EXTRACTION_TIMEOUT`]), each killed after
/// `timeout`. The extractors misbehave on hostile files: the
/// PDF one panics on some and recurses without end on others (a page that is its own parent),
/// and the HTML one takes time quadratic in the nesting depth (200 KB of nested `<div>`s takes
/// it most of a minute, a 10 MiB upload hours). In a child, that kills the child or is killed
/// after the timeout, and the upload is refused; in this process a stack overflow,
/// or any panic under the release profile's `panic = "abort"`, would take the whole server
/// down, and a runaway extraction would hold a core for hours. Without it (the library in
/// tests) extraction runs in this process.
///
/// Either way the uploads take turns: the training endpoint extracts only as many files at once
/// as the server has extraction slots ([`crate::AppState::with_max_extractions`], one per CPU
/// by default), so clients with secret keys, or many bots' owners, cannot start hundreds of
/// children at once and exhaust the machine.
pub fn extract_in_child_processes(program: std::path::PathBuf, timeout: Duration) {
    let _ = EXTRACTOR.set((program, timeout));
}

/// The kind's name on the extractor's command line.
fn extractor_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Pdf => "pdf",
        _ => "html",
    }
}

/// What the extractor child process does with `html` or `pdf` ([`EXTRACT_ARG`]).
pub fn extract_named(kind: &str, bytes: &[u8]) -> Result<String, Unreadable> {
    match kind {
        "pdf" => extracted_text(Kind::Pdf, bytes),
        "html" => extracted_text(Kind::Html, bytes),
        _ => Err(Unreadable(format!("No extractor for {kind:?}"))),
    }
}

/// An HTML or PDF file's text, extracted in this process.
pub fn extracted_text(kind: Kind, bytes: &[u8]) -> Result<String, Unreadable> {
    match kind {
        Kind::Pdf => pdf_text_here(bytes),
        _ => html2text::from_read(utf8_text(bytes)?.as_bytes(), 120)
            .map_err(|err| Unreadable(format!("The HTML file cannot be read: {err}"))),
    }
}

fn unreadable(kind: Kind) -> Unreadable {
    match kind {
        Kind::Pdf => Unreadable("The PDF file is corrupt or unreadable".to_owned()),
        _ => Unreadable("The HTML file cannot be read (it broke or took too long)".to_owned()),
    }
}

/// A PDF's text, extracted in this process.
#[cfg(feature = "pdf")]
fn pdf_text_here(bytes: &[u8]) -> Result<String, Unreadable> {
    // The extractor panics on some broken files: that is a corrupt upload, not a crash.
    std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
        .map_err(|_| unreadable(Kind::Pdf))?
        .map_err(|_| unreadable(Kind::Pdf))
}

/// A PDF's text, extracted in this process.
#[cfg(not(feature = "pdf"))]
fn pdf_text_here(_: &[u8]) -> Result<String, Unreadable> {
    Err(Unreadable(
        "This server was built without PDF support (the `pdf` feature)".to_owned(),
    ))
}

/// A file's text from `program` run with [`EXTRACT_ARG`]: the file on its stdin, the text on
/// its stdout; killed after `timeout` or past [`MAX_EXTRACTED_TEXT_BYTES`] of text.
/// Blocking: call it off the async threads.
fn text_in_child(
    program: &std::path::Path,
    timeout: Duration,
    kind: Kind,
    bytes: &[u8],
) -> Result<String, Unreadable> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args([EXTRACT_ARG, extractor_kind(kind)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| {
            tracing::error!(error = %err, "cannot start the text extractor");
            Unreadable("Text extraction is not available right now".to_owned())
        })?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(unreadable(kind));
    };
    let input = bytes.to_vec();
    // A child that stops reading must not block us: the file goes in from a thread of its own.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let limit = u64::try_from(MAX_EXTRACTED_TEXT_BYTES).unwrap_or(u64::MAX) + 1;
        let _ = stdout.take(limit).read_to_end(&mut text);
        text
    });
    let mut deadline = std::time::Instant::now() + timeout;
    let mut output_ended = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                if !output_ended && reader.is_finished() {
                    // Its output ended (or passed the limit): a moment to exit, no more.
                    output_ended = true;
                    deadline = deadline.min(std::time::Instant::now() + Duration::from_secs(1));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let _ = writer.join();
    let text = reader.join().unwrap_or_default();
    let Some(status) = status.filter(|_| text.len() <= MAX_EXTRACTED_TEXT_BYTES) else {
        return Err(unreadable(kind));
    };
    let text = String::from_utf8(text).map_err(|_| unreadable(kind))?;
    match status.code() {
        Some(0) => Ok(text),
        // The extractor's own words about the file.
        Some(code) if code == i32::from(EXTRACT_REFUSED) && !text.is_empty() => {
            Err(Unreadable(text.chars().take(500).collect()))
        }
        _ => Err(unreadable(kind)),
    }
}

/// A Markdown text's passages: its sections ([`faq::sections`]), long ones cut up.
pub fn markdown_passages(markdown: &str, document_title: &str) -> Vec<Passage> {
    faq::sections(markdown)
        .into_iter()
        .flat_map(|entry| section_passages(entry, document_title))
        .collect()
}

fn section_passages(entry: FaqEntry, document_title: &str) -> Vec<Passage> {
    let title = if entry.title.is_empty() {
        document_title.to_owned()
    } else {
        entry.title
    };
    let mut pieces = cut(&entry.answer);
    if pieces.is_empty() {
        // A heading with keywords but no text still names a topic; one with nothing is skipped.
        if entry.keywords.is_empty() {
            return Vec::new();
        }
        pieces.push(title.clone());
    }
    pieces
        .into_iter()
        .map(|body| Passage {
            title: title.clone(),
            keywords: entry.keywords.clone(),
            body,
            follow_ups: entry.follow_ups.clone(),
        })
        .collect()
}

/// Plain text's passages: runs of paragraphs, titled with the document's title.
pub fn text_passages(text: &str, document_title: &str) -> Vec<Passage> {
    cut(text)
        .into_iter()
        .map(|body| Passage {
            title: document_title.to_owned(),
            keywords: Vec::new(),
            body,
            follow_ups: Vec::new(),
        })
        .collect()
}

/// `text` in pieces of at most [`MAX_PASSAGE_CHARS`], cut at paragraph ends (blank lines)
/// outside code fences, or inside a paragraph that is longer on its own at line ends and
/// then at character boundaries.
fn cut(text: &str) -> Vec<String> {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && line.trim().is_empty() {
            if !current.trim().is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            current.clear();
            continue;
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line.trim_end());
    }
    if !current.trim().is_empty() {
        paragraphs.push(current);
    }
    let mut pieces: Vec<String> = Vec::new();
    let mut piece = String::new();
    for paragraph in paragraphs.iter().flat_map(|p| split_long(p)) {
        let extra = paragraph.chars().count() + if piece.is_empty() { 0 } else { 2 };
        if !piece.is_empty() && piece.chars().count() + extra > MAX_PASSAGE_CHARS {
            pieces.push(std::mem::take(&mut piece));
        }
        if !piece.is_empty() {
            piece.push_str("\n\n");
        }
        piece.push_str(&paragraph);
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// A paragraph longer than [`MAX_PASSAGE_CHARS`] in pieces that fit.
fn split_long(paragraph: &str) -> Vec<String> {
    if paragraph.chars().count() <= MAX_PASSAGE_CHARS {
        return vec![paragraph.to_owned()];
    }
    let mut out = Vec::new();
    let mut piece = String::new();
    for word in paragraph.split_inclusive(char::is_whitespace) {
        if piece.chars().count() + word.chars().count() > MAX_PASSAGE_CHARS && !piece.is_empty() {
            out.push(std::mem::take(&mut piece));
        }
        if word.chars().count() > MAX_PASSAGE_CHARS {
            let chars: Vec<char> = word.chars().collect();
            out.extend(
                chars
                    .chunks(MAX_PASSAGE_CHARS)
                    .map(|chunk| chunk.iter().collect::<String>()),
            );
            continue;
        }
        piece.push_str(word);
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

/// A stored document, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// `doc_…`.
    pub id: String,
    /// The bot it trains.
    pub bot_id: String,
    /// Its title (the metadata's, else the file's name).
    pub title: String,
    /// The metadata's category ("" when none).
    pub category: String,
    /// `markdown`, `text`, `html` or `pdf`.
    pub kind: String,
    /// The uploaded file's size.
    pub bytes: i64,
    /// How many passages it was split into.
    pub chunks: i64,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Document {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            bot_id: row.try_get("bot_id")?,
            title: row.try_get("title")?,
            category: row.try_get("category")?,
            kind: row.try_get("kind")?,
            bytes: row.try_get("bytes")?,
            chunks: row.try_get("chunks")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const DOCUMENT_COLUMNS: &str = "id, bot_id, title, category, kind, bytes, chunks, created_at";

/// What a new document is.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    /// The bot it trains.
    pub bot_id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its category ("" when none).
    pub category: &'a str,
    /// Its kind.
    pub kind: Kind,
    /// The uploaded file's size.
    pub bytes: usize,
}

/// Stores a document and its passages in one transaction (all or nothing), under a new id.
pub async fn add(
    store: &Store,
    new: &NewDocument<'_>,
    passages: &[Passage],
) -> Result<Document, StoreError> {
    let id = format!("doc_{}", ids::random_hex(24)?);
    let mut tx = store.begin().await?;
    let document = insert(&mut tx, &id, new, passages).await?;
    tx.commit().await?;
    Ok(document)
}

async fn insert(
    tx: &mut Tx,
    id: &str,
    new: &NewDocument<'_>,
    passages: &[Passage],
) -> Result<Document, StoreError> {
    let bytes = i64::try_from(new.bytes).unwrap_or(i64::MAX);
    let chunks = i64::try_from(passages.len()).unwrap_or(i64::MAX);
    let row = sqlx::query(&format!(
        "INSERT INTO documents (id, bot_id, title, category, kind, bytes, chunks, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {DOCUMENT_COLUMNS}"
    ))
    .bind(id)
    .bind(new.bot_id)
    .bind(new.title)
    .bind(new.category)
    .bind(new.kind.as_str())
    .bind(bytes)
    .bind(chunks)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    for (position, passage) in passages.iter().enumerate() {
        sqlx::query(
            "INSERT INTO passages (document_id, bot_id, position, title, title_key, keywords,
                 body, follow_ups)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(new.bot_id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&passage.title)
        .bind(faq::normalise_title(&passage.title))
        .bind(passage.keywords.join(", "))
        .bind(&passage.body)
        .bind(passage.follow_ups.join(" | "))
        .execute(&mut **tx)
        .await?;
    }
    Ok(Document::from_row(&row)?)
}

/// The bot's documents, oldest first.
pub async fn list(store: &Store, bot_id: &str) -> Result<Vec<Document>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE bot_id = $1 ORDER BY seq"
    ))
    .bind(bot_id)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(Document::from_row)
        .collect::<Result<_, _>>()?)
}

/// Deletes the bot's document `id` and its passages; `false` when the bot has no such one.
pub async fn delete(store: &Store, bot_id: &str, id: &str) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "DELETE FROM passages WHERE document_id = $1
           AND document_id IN (SELECT id FROM documents WHERE bot_id = $2)",
    )
    .bind(id)
    .bind(bot_id)
    .execute(&mut *tx)
    .await?;
    let deleted = sqlx::query("DELETE FROM documents WHERE id = $1 AND bot_id = $2")
        .bind(id)
        .bind(bot_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted > 0)
}

/// Loads the built-in FAQ as the demo bot's first document, once per database (a deleted one
/// stays deleted). Safe when several instances start together.
pub async fn ensure_demo_documents(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let first = sqlx::query("INSERT INTO store_flags (name) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(DEMO_FAQ_FLAG)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    if first {
        // The text above the first `##` heading describes the format; it is not an answer.
        let body = BUILTIN_FAQ
            .find("\n## ")
            .map_or(BUILTIN_FAQ, |at| &BUILTIN_FAQ[at + 1..]);
        let passages = markdown_passages(body, DEMO_FAQ_TITLE);
        let new = NewDocument {
            bot_id: DEMO_BOT_ID,
            title: DEMO_FAQ_TITLE,
            category: "faq",
            kind: Kind::Markdown,
            bytes: BUILTIN_FAQ.len(),
        };
        insert(&mut tx, DEMO_FAQ_DOCUMENT_ID, &new, &passages).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A passage found for a question.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Its title.
    pub title: String,
    /// Its text (Markdown).
    pub body: String,
    /// Titles offered as quick replies under it.
    pub follow_ups: Vec<String>,
    /// How well it matches: higher is better (SQLite: minus FTS5's bm25; PostgreSQL:
    /// `ts_rank`); 0 for a title match.
    pub score: f64,
    /// Whether a query word is in its title or keywords (a word in many passages scores
    /// almost nothing in bm25, yet names the topic when it is in a title).
    pub strong: bool,
}

impl Hit {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let follow_ups: String = row.try_get("follow_ups")?;
        Ok(Self {
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            follow_ups: follow_ups
                .split('|')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            score: row.try_get("score")?,
            strong: row.try_get::<i64, _>("strong")? != 0,
        })
    }
}

/// The weakest score that counts as an answer, per backend (their scales differ).
pub fn min_score(backend: Backend) -> f64 {
    match backend {
        Backend::Sqlite => 0.9,
        Backend::Postgres => 0.1,
    }
}

/// The bot's `limit` best passages for `terms` (words, unstemmed: the database stems them),
/// best first; any term may match. No terms, no hits.
pub async fn search(
    store: &Store,
    bot_id: &str,
    terms: &[String],
    limit: u32,
) -> Result<Vec<Hit>, StoreError> {
    let Some((sql, query, in_titles)) = search_sql(store.backend(), terms) else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(sql)
        .bind(query)
        .bind(bot_id)
        .bind(i64::from(limit))
        .bind(in_titles)
        .fetch_all(store.reader())
        .await?;
    Ok(rows.iter().map(Hit::from_row).collect::<Result<_, _>>()?)
}

/// The passage that answers a question, in one read: the bot's first passage titled
/// `title_key` ([`faq::normalise_title`]; `Some((true, hit))`), else its best passage for
/// `terms` as [`search`] finds it (`Some((false, hit))`).
pub async fn answer_passage(
    store: &Store,
    bot_id: &str,
    title_key: &str,
    terms: &[String],
) -> Result<Option<(bool, Hit)>, StoreError> {
    if title_key.is_empty() {
        let found = search(store, bot_id, terms, 1).await?;
        return Ok(found.into_iter().next().map(|hit| (false, hit)));
    }
    let Some((search_sql, query, in_titles)) = search_sql(store.backend(), terms) else {
        let found = passage_titled(store, bot_id, title_key).await?;
        return Ok(found.map(|hit| (true, hit)));
    };
    // The title match ranks first; the search's own order after it.
    let sql = format!(
        "SELECT title, body, follow_ups, score, strong, exact FROM (
             SELECT CAST(1 AS BIGINT) AS exact, title, body, follow_ups,
                    CAST(0 AS DOUBLE PRECISION) AS score, CAST(1 AS BIGINT) AS strong, id AS pid
             FROM passages WHERE bot_id = $2 AND title_key = $5
             UNION ALL
             SELECT CAST(0 AS BIGINT) AS exact, s.title, s.body, s.follow_ups, s.score, s.strong,
                    s.pid
             FROM ({search_sql}) s
         ) found ORDER BY exact DESC, score DESC, pid LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(query)
        .bind(bot_id)
        .bind(1_i64)
        .bind(in_titles)
        .bind(title_key)
        .fetch_optional(store.reader())
        .await?;
    Ok(match row {
        Some(row) => Some((row.try_get::<i64, _>("exact")? != 0, Hit::from_row(&row)?)),
        None => None,
    })
}

/// The search statement for `terms` on `backend` (binds: `$1` the query, `$2` the bot, `$3`
/// the limit, `$4` the title-words query; columns as [`Hit`] reads them, and `pid`), or
/// `None` when no term is left to search for.
fn search_sql(backend: Backend, terms: &[String]) -> Option<(&'static str, String, String)> {
    // Only letters and digits reach the query languages: nothing in a term is an operator.
    let terms: Vec<&String> = terms
        .iter()
        .filter(|t| !t.is_empty() && t.chars().all(char::is_alphanumeric))
        .collect();
    if terms.is_empty() {
        return None;
    }
    Some(match backend {
        Backend::Sqlite => {
            let any = terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" OR ");
            (
                "SELECT p.title, p.body, p.follow_ups,
                        -bm25(passages_fts, 3.0, 2.0, 1.0) AS score,
                        CASE WHEN p.id IN (SELECT rowid FROM passages_fts
                                           WHERE passages_fts MATCH $4)
                             THEN 1 ELSE 0 END AS strong, p.id AS pid
                 FROM passages_fts JOIN passages p ON p.id = passages_fts.rowid
                 WHERE passages_fts MATCH $1 AND p.bot_id = $2
                 ORDER BY score DESC, p.id LIMIT $3",
                any.clone(),
                format!("{{title keywords}} : ({any})"),
            )
        }
        Backend::Postgres => (
            "SELECT title, body, follow_ups,
                    CAST(ts_rank(ARRAY[0.3, 0.4, 0.6, 1.0]::float4[], search,
                                 to_tsquery('english', $1)) AS DOUBLE PRECISION) AS score,
                    CASE WHEN search @@ to_tsquery('english', $4) THEN 1 ELSE 0 END AS strong,
                    id AS pid
             FROM passages
             WHERE bot_id = $2 AND search @@ to_tsquery('english', $1)
             ORDER BY score DESC, id LIMIT $3",
            terms
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            terms
                .iter()
                .map(|t| format!("{t}:AB"))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
    })
}

/// The bot's first passage titled `title_key` ([`faq::normalise_title`]).
pub async fn passage_titled(
    store: &Store,
    bot_id: &str,
    title_key: &str,
) -> Result<Option<Hit>, StoreError> {
    if title_key.is_empty() {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT title, body, follow_ups, CAST(0 AS DOUBLE PRECISION) AS score, 1 AS strong
         FROM passages
         WHERE bot_id = $1 AND title_key = $2 ORDER BY id LIMIT 1",
    )
    .bind(bot_id)
    .bind(title_key)
    .fetch_optional(store.reader())
    .await?;
    Ok(row.as_ref().map(Hit::from_row).transpose()?)
}

/// The first `limit` distinct section titles of the bot's documents (titles that are only a
/// document's own title are left out), as topics to offer.
pub async fn topics(store: &Store, bot_id: &str, limit: usize) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.title FROM passages p JOIN documents d ON d.id = p.document_id
         WHERE p.bot_id = $1 AND p.title <> d.title
         ORDER BY d.seq, p.position LIMIT $2",
    )
    .bind(bot_id)
    .bind(i64::try_from(limit * 4).unwrap_or(i64::MAX))
    .fetch_all(store.reader())
    .await?;
    let mut titles: Vec<String> = Vec::new();
    for row in &rows {
        let title: String = row.try_get("title")?;
        if !titles.contains(&title) && titles.len() < limit {
            titles.push(title);
        }
    }
    Ok(titles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_extension_then_the_content_type() {
        assert_eq!(Kind::detect(Some("a.MD"), None), Some(Kind::Markdown));
        assert_eq!(
            Kind::detect(Some("notes"), Some("text/plain; charset=utf-8")),
            Some(Kind::Text)
        );
        assert_eq!(
            Kind::detect(Some("page.htm"), Some("application/octet-stream")),
            Some(Kind::Html)
        );
        assert_eq!(Kind::detect(Some("x.pdf"), None), Some(Kind::Pdf));
        assert_eq!(Kind::detect(Some("x.docx"), None), None);
        assert_eq!(Kind::detect(None, Some("image/png")), None);
    }

    #[test]
    fn html_loses_its_scripts_and_styles_and_keeps_its_sections() {
        let html = b"<html><head><style>p{color:red}</style><script>var secret=1</script></head>\
            <body><h1>Opening hours</h1><p>We open at <b>nine</b>.</p><script>alert(2)</script>\
            <h2>Parking</h2><p>Free parking behind the shop.</p></body></html>";
        let found = passages(Kind::Html, html, "Shop").expect("passages");
        let all: String = found
            .iter()
            .map(|p| format!("{}\n{}\n", p.title, p.body))
            .collect();
        assert!(!all.contains("secret") && !all.contains("alert") && !all.contains("color"));
        let titles: Vec<&str> = found.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Opening hours", "Parking"]);
        assert!(found[1].body.contains("Free parking"), "{found:?}");
    }

    #[test]
    fn bad_files_say_why() {
        let why = |kind, bytes: &[u8]| passages(kind, bytes, "T").map(|_| ()).unwrap_err().0;
        assert!(why(Kind::Text, b"").contains("empty"));
        assert!(why(Kind::Markdown, b"caf\xe9").contains("not UTF-8"));
        assert!(why(Kind::Text, b" \n\n\t").contains("no text"));
        assert!(why(Kind::Pdf, b"hello").contains("PDF"));
        assert!(why(Kind::Pdf, b"%PDF-1.4\n1 0 obj broken").contains("PDF"));
    }

    #[test]
    fn long_text_is_cut_at_paragraphs_into_passages_that_fit() {
        let paragraph = "word ".repeat(100);
        let text = [paragraph.trim(); 10].join("\n\n");
        let found = text_passages(&text, "Long");
        assert!(found.len() >= 3, "{}", found.len());
        assert!(found
            .iter()
            .all(|p| p.body.chars().count() <= MAX_PASSAGE_CHARS && p.title == "Long"));
        let words: usize = found
            .iter()
            .map(|p| p.body.split_whitespace().count())
            .sum();
        assert_eq!(words, 1000, "nothing lost");
        let huge = "x".repeat(MAX_PASSAGE_CHARS * 2 + 5);
        let cut_up = text_passages(&huge, "H");
        assert_eq!(cut_up.len(), 3);
        assert_eq!(
            cut_up.iter().map(|p| p.body.len()).sum::<usize>(),
            huge.len()
        );
    }
}
