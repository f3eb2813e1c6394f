//! Training documents over HTTP, in the jelytech dialect's shapes (the seed's
//! `POST /bots/:botId/train`):
//!
//! * `POST /v1/bots/{botId}/train`, `multipart/form-data` with `file` (Markdown, plain text,
//!   HTML or PDF) and optional `metadata` (`{"title","category"}`; the title defaults to the
//!   file's name): stores the document split into passages ([`crate::documents`]) and answers
//!   201 `{"success":true,"document":{"id","title","category","type","bytes","chunks",
//!   "createdAt"}}`.
//! * `GET /v1/bots/{botId}/documents`: `{"success":true,"documents":[…]}`, oldest first.
//! * `DELETE /v1/bots/{botId}/documents/{documentId}`: `{"success":true,"deleted":"doc_…"}`,
//!   or 404 `DOCUMENT_NOT_FOUND`.
//!
//! They need the bot's secret key (`sk_…`) or the server's admin token as the bearer, never a
//! publishable key (403 `SECRET_KEY_REQUIRED`: a page's key must not change what the bot says). Bad uploads are 400 `INVALID_REQUEST` (no `file` field,
//! an unsupported type, an empty file, text that is not UTF-8, a corrupt PDF, bad metadata) or
//! 413 `INVALID_REQUEST` (over `--max-upload-bytes`); nothing is stored then.
//!
//! HTML and PDF text is extracted a few files at a time (`--max-extractions`, one per CPU by
//! default: [`AppState::with_max_extractions`]). An upload that finds every slot taken waits
//! for one, at most [`AppState::extraction_wait`] (10 seconds by default), then gets 503
//! `SERVER_ERROR` with `Retry-After`, and nothing is stored.

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::PathRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::Dialect;
use serde::{Deserialize, Serialize};

use crate::access::{self, respond};
use crate::caller::Caller;
use crate::documents::{self, Document, Kind, NewDocument, MAX_TITLE_CHARS};
use crate::error::AppError;
use crate::jelytech::ADMIN_BUCKET;
use crate::rate_limit::{Decision, RateLimitStatus};
use crate::store::DEFAULT_RATE_LIMIT;
use crate::{dates, AppState};

/// A document as answered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocumentInfo {
    /// `doc_…`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its category ("" when none).
    pub category: String,
    /// `markdown`, `text`, `html` or `pdf`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The uploaded file's size in bytes.
    pub bytes: i64,
    /// How many passages it was split into.
    pub chunks: i64,
    /// ISO 8601.
    pub created_at: String,
}

impl From<Document> for DocumentInfo {
    fn from(document: Document) -> Self {
        Self {
            id: document.id,
            title: document.title,
            category: document.category,
            kind: document.kind,
            bytes: document.bytes,
            chunks: document.chunks,
            created_at: dates::iso8601(document.created_at),
        }
    }
}

/// `POST …/train`'s answer.
#[derive(Debug, Serialize)]
struct Trained {
    success: bool,
    document: DocumentInfo,
}

/// `GET …/documents`' answer.
#[derive(Debug, Serialize)]
struct Listed {
    success: bool,
    documents: Vec<DocumentInfo>,
}

/// `DELETE …/documents/{id}`'s answer.
#[derive(Debug, Serialize)]
struct Deleted {
    success: bool,
    deleted: String,
}

/// The `metadata` field.
#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    category: Option<String>,
}

/// The checks every document and webhook endpoint makes first: the server's admin token (any
/// bot) or the bot's own secret key (`sk_…`); a publishable key is refused with 403
/// `SECRET_KEY_REQUIRED` (a page's key must not change what the bot says), and a wrong key
/// counts against the caller's address like everywhere else ([`access::admit_owner`]). The
/// request is then counted, the admin token in the admin window and a secret key in its bot's
/// owner window, and the bot must exist.
pub(crate) async fn authorise(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    bot_id: &str,
) -> (RateLimitStatus, Result<(), AppError>) {
    let bucket = if access::admin_admitted(state, headers, caller).await {
        ADMIN_BUCKET.to_owned()
    } else {
        let (status, owner) = access::admit_owner(state, headers, caller, bot_id).await;
        if let Err(err) = owner {
            return (status, Err(err));
        }
        format!("owner:{bot_id}")
    };
    let status = match access::check_rate(state, &bucket, DEFAULT_RATE_LIMIT).await {
        Err(err) => {
            let status = access::peek_status(state, &bucket, DEFAULT_RATE_LIMIT).await;
            return (status, Err(err));
        }
        Ok(Decision::Allowed(status)) => status,
        Ok(Decision::Limited {
            status,
            retry_after_s,
        }) => return (status, Err(AppError::RateLimited { retry_after_s })),
    };
    let found = match state.store.bot(bot_id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(AppError::BotNotFound),
        Err(err) => Err(err.into()),
    };
    (status, found)
}

/// `POST /v1/bots/{botId}/train`.
pub async fn train(
    State(state): State<AppState>,
    bot_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    caller: Caller,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let bot_id = bot_id.map(|Path(id)| id).unwrap_or_default();
    let (rate_limit, allowed) = authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        let mut form = form.map_err(|rejection| {
            AppError::InvalidRequest(format!(
                "Expected a multipart/form-data body with a \"file\" field ({})",
                rejection.body_text()
            ))
        })?;
        let upload = read_form(&mut form, state.max_upload_bytes()).await?;
        let Some(file) = upload.file else {
            return Err(AppError::InvalidRequest(
                "The \"file\" field is missing: send the document as multipart/form-data \
                 with -F \"file=@document.pdf\""
                    .to_owned(),
            ));
        };
        let kind =
            Kind::detect(file.name.as_deref(), file.content_type.as_deref()).ok_or_else(|| {
                AppError::InvalidRequest(format!(
                    "Unsupported file type{}: upload Markdown (.md), plain text (.txt), HTML \
                     (.html) or PDF (.pdf)",
                    file.name
                        .as_deref()
                        .map(|name| format!(" ({name})"))
                        .unwrap_or_default()
                ))
            })?;
        let metadata = upload.metadata.unwrap_or_default();
        let title = clean_text(
            metadata
                .title
                .or_else(|| file.name.clone().map(|name| file_stem(&name)))
                .unwrap_or_default(),
            "title",
        )?;
        let title = if title.is_empty() {
            "Untitled document".to_owned()
        } else {
            title
        };
        let category = clean_text(metadata.category.unwrap_or_default(), "category")?;
        let bytes = file.bytes;
        let size = bytes.len();
        let passage_title = title.clone();
        let slot = if kind.is_extracted() {
            Some(extraction_slot(&state, &bot_id).await?)
        } else {
            None
        };
        let passages = tokio::task::spawn_blocking(move || {
            // Held by the extraction itself: a client that leaves (or the request timeout)
            // drops this handler, not the extraction, which keeps its slot until it ends.
            let _slot = slot;
            documents::passages(kind, &bytes, &passage_title)
        })
        .await
        .map_err(|err| AppError::Internal(format!("extracting a document: {err}")))?
        .map_err(|why| AppError::InvalidRequest(why.0))?;
        let new = NewDocument {
            bot_id: &bot_id,
            title: &title,
            category: &category,
            kind,
            bytes: size,
        };
        let document = documents::add(&state.store, &new, &passages).await?;
        tracing::info!(
            bot = %bot_id,
            document = %document.id,
            kind = kind.as_str(),
            bytes = size,
            chunks = document.chunks,
            "trained"
        );
        let body = Trained {
            success: true,
            document: DocumentInfo::from(document),
        };
        Ok((StatusCode::CREATED, Json(body)).into_response())
    }
    .await;
    respond(Dialect::Jelytech, rate_limit, result)
}

/// One of the server's text extraction slots ([`AppState::with_max_extractions`]), waited for
/// at most [`AppState::extraction_wait`]; after that 503 with `Retry-After`, rather than a
/// request that hangs behind extractions that may each run a minute.
async fn extraction_slot(
    state: &AppState,
    bot_id: &str,
) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
    let wait = state.extraction_wait();
    let slots = std::sync::Arc::clone(state.extraction_slots());
    match tokio::time::timeout(wait, slots.acquire_owned()).await {
        Ok(Ok(slot)) => Ok(slot),
        Ok(Err(closed)) => Err(AppError::Internal(format!("extraction slots: {closed}"))),
        Err(_) => {
            tracing::warn!(
                bot = %bot_id,
                waited_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "every text extraction slot is taken; upload refused"
            );
            Err(AppError::ExtractorsBusy {
                retry_after_s: wait.as_secs().max(1),
            })
        }
    }
}

/// `GET /v1/bots/{botId}/documents`.
pub async fn list(
    State(state): State<AppState>,
    bot_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    caller: Caller,
) -> Response {
    let bot_id = bot_id.map(|Path(id)| id).unwrap_or_default();
    let (rate_limit, allowed) = authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        let documents: Vec<DocumentInfo> = documents::list(&state.store, &bot_id)
            .await?
            .into_iter()
            .map(DocumentInfo::from)
            .collect();
        Ok(Json(Listed {
            success: true,
            documents,
        })
        .into_response())
    }
    .await;
    respond(Dialect::Jelytech, rate_limit, result)
}

/// `DELETE /v1/bots/{botId}/documents/{documentId}`.
pub async fn delete(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    caller: Caller,
) -> Response {
    let (bot_id, document_id) = ids.map(|Path(ids)| ids).unwrap_or_default();
    let (rate_limit, allowed) = authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        if !documents::delete(&state.store, &bot_id, &document_id).await? {
            return Err(AppError::DocumentNotFound);
        }
        tracing::info!(bot = %bot_id, document = %document_id, "document deleted");
        Ok(Json(Deleted {
            success: true,
            deleted: document_id,
        })
        .into_response())
    }
    .await;
    respond(Dialect::Jelytech, rate_limit, result)
}

struct UploadedFile {
    name: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Upload {
    file: Option<UploadedFile>,
    metadata: Option<Metadata>,
}

/// The form's `file` (read up to `max_bytes`, 413 beyond) and `metadata`; other fields are
/// ignored.
async fn read_form(form: &mut Multipart, max_bytes: usize) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    let form_error = |err| form_error(err, max_bytes);
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(str::to_owned);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                    if bytes.len() + chunk.len() > max_bytes {
                        return Err(too_large(max_bytes));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                upload.file = Some(UploadedFile {
                    name,
                    content_type,
                    bytes,
                });
            }
            Some("metadata") => {
                let text = field.text().await.map_err(form_error)?;
                let metadata = if text.trim().is_empty() {
                    Metadata::default()
                } else {
                    serde_json::from_str(&text).map_err(|err| {
                        AppError::InvalidRequest(format!(
                            "The \"metadata\" field must be JSON like \
                             {{\"title\":\"Product Documentation\",\"category\":\"support\"}}: {err}"
                        ))
                    })?
                };
                upload.metadata = Some(metadata);
            }
            _ => {}
        }
    }
    Ok(upload)
}

fn too_large(max_bytes: usize) -> AppError {
    AppError::UploadTooLarge(format!(
        "The file is too large: at most {} bytes ({:.1} MB) are accepted",
        max_bytes,
        max_bytes as f64 / 1_000_000.0
    ))
}

fn form_error(err: MultipartError, max_bytes: usize) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(max_bytes);
    }
    AppError::InvalidRequest(format!(
        "The multipart/form-data body cannot be read: {}",
        err.body_text()
    ))
}

/// A title or category: trimmed, on one line, not too long.
fn clean_text(text: String, field: &str) -> Result<String, AppError> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > MAX_TITLE_CHARS {
        return Err(AppError::InvalidRequest(format!(
            "The \"{field}\" is too long: at most {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(text)
}

/// A file name without its folder and extension ("docs/Returns policy.md" is
/// "Returns policy").
fn file_stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.')
        .map_or(base, |(stem, _)| stem)
        .trim()
        .to_owned()
}
