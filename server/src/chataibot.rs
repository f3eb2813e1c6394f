//! The chataibot dialect's endpoints ("API as a channel"): the visitor's messages go in, and
//! the bot's answers are delivered apart from them, as the vendor does.
//!
//! * `POST /api/v1/conversations`: starts a conversation for the bot whose id is `bot_key`,
//!   with the visitor's first message; answers `{"ok":true,"conversation":{"id","created_at",
//!   "assignee":{"id","to"}},"contact":{...,"visitor_key"},"message_id"}` (the assignee is the
//!   bot: its id and `<bot id>@bots.chat-widget.invalid`; `visitor_key` is
//!   `<user_external_id>_<bot id>`; `message_id`, the visitor message's, is ours).
//! * `POST /api/v1/conversation/{id}/messages`: the visitor's next message; `{"ok":true,
//!   "message_id"}`.
//! * `GET /api/v1/conversation/{id}/messages?after=<message_id>` (ours): the messages stored
//!   after `after`, both senders, oldest first; with `Accept: text/event-stream`, the same as
//!   Server-Sent Events, one `message` event per message as it appears (`Last-Event-ID` works
//!   as `after`), `: keep-alive` comments, and the end of the stream after
//!   [`AppState::listen_idle_timeout`] without a new message.
//!
//! Each visitor message costs a credit and counts towards the monthly quota when it is
//! accepted (402/403 are decided then). The answer is due [`AppState::reply_delay`] later: it
//! is stored as a job in the same transaction as the message (until it is answered the quota
//! counts it as pending, see [`crate::store::Store::record_visitor_message`]). A timer of the
//! accepting process claims the job when it is due and stores the demo brain's answer as a
//! `BOT` message ([`deliver`]); if that process died, [`crate::maintain`] in any instance
//! sharing the database claims it once the job's lease allows, so a restart, even after
//! `kill -9`, still answers every acknowledged message. [`Deliveries`] wakes the listening
//! streams of this process when an answer is stored; the others see it within a second. Later calls name the conversation, whose bot the
//! key must belong to: an unknown conversation, or another bot's, is 404
//! `CONVERSATION_NOT_FOUND`. Errors are `{"ok":false,"error":{"code","message",
//! "retry_after"?}}`. The poll and the stream are reads: not counted against the rate limit.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_widget_protocol::dialect::chataibot::{
    self, Assignee, ChatMessage, ContactInfo, ConversationInfo, MessagesReply, SendReply,
    SendRequest, Sender, StartReply, StartRequest, MESSAGE_EVENT,
};
use chat_widget_protocol::dialect::Dialect;
use tokio::sync::watch;

use crate::access::{self, admit, check_message, respond, Admitted, BotChoice, Counting};
use crate::error::AppError;
use crate::paging::{self, Cursor, PageRequest};
use crate::sse::{KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TEXT};
use crate::store::{
    Bot, Outcome, PromisedReply, RecordedMessage, ReplyJob, Role, Store, StoredMessage,
};
use crate::{dates, AppState};

/// How long after the visitor's message the answer is delivered, unless
/// [`AppState::with_reply_delay`] says otherwise.
pub const DEFAULT_REPLY_DELAY: Duration = Duration::from_millis(300);

/// How long a listening stream stays open without a new message, unless
/// [`AppState::with_listen_idle_timeout`] says otherwise.
pub const DEFAULT_LISTEN_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a listening stream looks for new messages when no delivery signal came (another
/// process may have written them).
const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The listening streams one client address may hold open at once on one instance. Each asks
/// the database once a second while it waits, so without a cap one address could open
/// thousands; a visitor holds one per open chat.
pub const MAX_LISTENERS_PER_ADDRESS: u32 = 64;

// ---------------------------------------------------------------------------------------------
// Answers on their way.

/// The signal that an answer was stored, for the listening streams of this process, and the
/// one that the server is stopping (which ends them, so a graceful shutdown need not wait for
/// their idle time).
#[derive(Debug)]
pub struct Deliveries {
    arrived: watch::Sender<u64>,
    closing: AtomicBool,
    /// The listening streams open per client address ([`MAX_LISTENERS_PER_ADDRESS`]).
    listening: std::sync::Mutex<HashMap<String, u32>>,
}

impl Default for Deliveries {
    fn default() -> Self {
        Self {
            arrived: watch::channel(0).0,
            closing: AtomicBool::new(false),
            listening: std::sync::Mutex::default(),
        }
    }
}

/// One listening stream of a client address, counted until it is dropped (the stream ended or
/// the client went away).
#[derive(Debug)]
pub struct ListeningSlot {
    deliveries: Arc<Deliveries>,
    address: String,
}

impl Drop for ListeningSlot {
    fn drop(&mut self) {
        let mut listening = self.deliveries.listening_counts();
        if let Some(count) = listening.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                listening.remove(&self.address);
            }
        }
    }
}

impl Deliveries {
    /// Tells every listener that an answer was stored.
    pub fn notify(&self) {
        self.arrived.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ends every listening stream (now and from now on): the server is stopping.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.notify();
    }

    /// Whether [`Deliveries::close`] was called.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// A slot for one more listening stream from `address`, unless it holds
    /// [`MAX_LISTENERS_PER_ADDRESS`] already.
    pub fn listening_slot(self: &Arc<Self>, address: &str) -> Option<ListeningSlot> {
        let mut listening = self.listening_counts();
        let count = listening.entry(address.to_owned()).or_insert(0);
        if *count >= MAX_LISTENERS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(ListeningSlot {
            deliveries: Arc::clone(self),
            address: address.to_owned(),
        })
    }

    fn listening_counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        // The map stays consistent whatever panicked while it was held.
        self.listening
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A receiver that sees a change after every stored answer.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.arrived.subscribe()
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers.

/// `POST /api/v1/conversations`.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
    body: Result<Json<StartRequest>, JsonRejection>,
) -> Response {
    let bot_key = access::bot_named_in(&body, |request| &request.bot_key);
    let choice = BotChoice::from_body(bot_key.as_deref());
    let visitor = body
        .as_ref()
        .ok()
        .map(|Json(request)| request.from.user_external_id.trim().to_owned());
    let (rate_limit, admitted) = admit(
        &state,
        &headers,
        &caller,
        choice,
        Counting::Count,
        visitor.as_deref(),
    )
    .await;
    let result = async {
        let Admitted { bot, .. } = admitted?;
        let Json(request) = body?;
        if bot_key.is_none() {
            return Err(invalid("The \"bot_key\" field must name a bot"));
        }
        if !request.channel.is_empty() && !request.channel.eq_ignore_ascii_case("API") {
            return Err(invalid("The \"channel\" field must be \"API\""));
        }
        let visitor = request.from.user_external_id.trim();
        if visitor.is_empty() {
            return Err(invalid(
                "The \"from.user_external_id\" field must name the visitor",
            ));
        }
        let text = text_of(&request.message)?;
        let recorded = accept(&state, &bot, None, text).await?;
        let contact = request
            .variables
            .and_then(|variables| variables.contact)
            .unwrap_or_default();
        let reply = StartReply {
            ok: true,
            conversation: ConversationInfo {
                id: recorded.conversation_id,
                created_at: Some(dates::chataibot_timestamp(recorded.created_at)),
                assignee: Some(Assignee {
                    to: format!("{}@bots.chat-widget.invalid", bot.id),
                    id: bot.id.clone(),
                }),
            },
            contact: Some(ContactInfo {
                name: contact.name,
                email: contact.email,
                phone: contact.phone,
                visitor_key: Some(format!("{visitor}_{}", bot.id)),
            }),
            message_id: Some(recorded.message_id),
        };
        Ok(Json(reply).into_response())
    }
    .await;
    respond(Dialect::Chataibot, rate_limit, result)
}

/// `POST /api/v1/conversation/{id}/messages`.
pub async fn send(
    State(state): State<AppState>,
    conversation_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    caller: crate::caller::Caller,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Response {
    let conversation_id = conversation_id.map(|Path(id)| id).unwrap_or_default();
    let (rate_limit, admitted) = admit(
        &state,
        &headers,
        &caller,
        BotChoice::KeysBot,
        Counting::Count,
        Some(&conversation_id),
    )
    .await;
    let result = async {
        let Admitted { bot, .. } = admitted?;
        owned_conversation(&state, &bot, &conversation_id).await?;
        let Json(request) = body?;
        if !request.user.kind.eq_ignore_ascii_case("VISITOR") {
            return Err(invalid("The \"user.type\" field must be \"VISITOR\""));
        }
        let text = text_of(&request.message)?;
        let recorded = accept(&state, &bot, Some(&conversation_id), text).await?;
        let reply = SendReply {
            ok: true,
            message_id: recorded.message_id,
        };
        Ok(Json(reply).into_response())
    }
    .await;
    respond(Dialect::Chataibot, rate_limit, result)
}

/// `GET /api/v1/conversation/{id}/messages?limit&before&after`: JSON (a page, [`paging`]:
/// the latest without a cursor, `has_more` and a `Link` header when there is more), or SSE
/// when the client accepts it (everything after `after`, then what arrives).
pub async fn messages(
    State(state): State<AppState>,
    conversation_id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    caller: crate::caller::Caller,
) -> Response {
    let conversation_id = conversation_id.map(|Path(id)| id).unwrap_or_default();
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|id| !id.trim().is_empty());
    let listen = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(chataibot::EVENT_STREAM));
    let (rate_limit, admitted) = admit(
        &state,
        &headers,
        &caller,
        BotChoice::KeysBot,
        Counting::Peek,
        Some(&conversation_id),
    )
    .await;
    let result = async {
        let Admitted { bot, .. } = admitted?;
        owned_conversation(&state, &bot, &conversation_id).await?;
        let request = PageRequest::from_query(uri.query().unwrap_or(""), last_event_id)?;
        if listen {
            let after = match request.cursor {
                Cursor::After(after) => Some(after),
                Cursor::Latest | Cursor::Before(_) => None,
            };
            let slot = state
                .deliveries()
                .listening_slot(&caller.ip)
                .ok_or(AppError::RateLimited { retry_after_s: 5 })?;
            return Ok(listen_response(&state, conversation_id, after, slot));
        }
        let page = state
            .store
            .messages_page(&conversation_id, &request.cursor, request.limit)
            .await?
            .ok_or_else(paging::unknown_before)?;
        let stored = page.messages.len();
        // Up to a reply that has not sent a word yet: the next poll starts there.
        let ready: Vec<StoredMessage> = page
            .messages
            .into_iter()
            .take_while(StoredMessage::is_visible)
            .collect();
        let newer = page.newer || ready.len() < stored;
        let (link, has_more) = request.describe(
            ready.first().map(|m| m.id.as_str()),
            page.older,
            ready.last().map(|m| m.id.as_str()),
            newer,
        );
        let reply = PagedMessages {
            reply: MessagesReply {
                ok: true,
                messages: ready.into_iter().map(chat_message).collect(),
            },
            has_more,
        };
        let mut response = Json(reply).into_response();
        if let Some(link) = link {
            response.headers_mut().insert(header::LINK, link);
        }
        Ok(response)
    }
    .await;
    respond(Dialect::Chataibot, rate_limit, result)
}

/// The messages reply with whether there is more in the page's direction ([`paging`]).
#[derive(Debug, serde::Serialize)]
struct PagedMessages {
    #[serde(flatten)]
    reply: MessagesReply,
    /// Only when true: otherwise the body is exactly the vendor's shape.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    has_more: bool,
}

fn invalid(text: &str) -> AppError {
    AppError::InvalidRequest(text.to_owned())
}

/// The text of a `{"data":{"body"},"type":"text"}` message, if it is a text the bot can answer.
fn text_of(message: &chataibot::MessageContent) -> Result<&str, AppError> {
    if !message.kind.eq_ignore_ascii_case("text") {
        return Err(invalid(
            "Only text messages are supported: \"message.type\" must be \"text\"",
        ));
    }
    check_message(&message.data.body, "message.data.body")?;
    Ok(&message.data.body)
}

/// 404 unless the conversation exists and is the bot's.
async fn owned_conversation(
    state: &AppState,
    bot: &Bot,
    conversation_id: &str,
) -> Result<(), AppError> {
    match state.store.conversation_bot(conversation_id).await? {
        Some(owner) if owner == bot.id => Ok(()),
        _ => Err(AppError::ConversationNotFound),
    }
}

/// Stores the visitor's message with the job for its answer (spending the credit and
/// counting the quota, with the answers already on their way) and starts this process's
/// timer for the answer.
async fn accept(
    state: &AppState,
    bot: &Bot,
    conversation_id: Option<&str>,
    text: &str,
) -> Result<RecordedMessage, AppError> {
    let delay = state.reply_delay();
    let promised = match state
        .store
        .record_visitor_message(&bot.id, conversation_id, text, delay)
        .await?
    {
        Outcome::Recorded(promised) => promised,
        Outcome::NoCredits => return Err(AppError::InsufficientCredits),
        Outcome::QuotaExceeded => return Err(AppError::QuotaExceeded),
    };
    // Its webhook events were queued in the transaction that stored it.
    let PromisedReply { message, job_id } = promised;
    let state = state.clone();
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match state.store.claim_job(&job_id).await {
            Ok(Some(job)) => deliver(&state, job).await,
            // Another instance holds it.
            Ok(None) => {}
            // Still stored: [`crate::maintain`] claims it.
            Err(err) => tracing::error!(job = %job_id, error = %err, "cannot claim an answer"),
        }
    });
    Ok(message)
}

/// Attempts at an AI model's answer to a chataibot message before the visitor gets
/// [`UPSTREAM_APOLOGY`] instead (a model that keeps failing must not leave them waiting
/// forever in silence).
pub const UPSTREAM_ATTEMPTS: u32 = 3;
/// The wait before the next attempt, times the attempts so far (2 s, then 4 s).
pub const UPSTREAM_RETRY: Duration = Duration::from_secs(2);
/// The answer a chataibot visitor gets when the AI model failed [`UPSTREAM_ATTEMPTS`] times
/// (it costs no credit and no quota).
pub const UPSTREAM_APOLOGY: &str =
    "Sorry, I can't answer right now: the assistant is not available. Please try again in a few minutes.";

/// Stores the demo brain's answer to a claimed job and wakes this process's listeners. On
/// failure the job stays, and is claimed again when its lease ends; an AI model's failure is
/// retried after [`UPSTREAM_RETRY`] times the attempts, and after [`UPSTREAM_ATTEMPTS`] the
/// visitor gets [`UPSTREAM_APOLOGY`].
pub async fn deliver(state: &AppState, job: ReplyJob) {
    let (bot, upstream) = match state.store.bot(&job.bot_id).await {
        Ok(Some(bot)) => match crate::upstream::settings(&state.store, &bot.id).await {
            Ok(upstream) => (Some(bot), upstream),
            Err(err) => {
                tracing::error!(job = %job.id, error = %err, "cannot deliver an answer");
                return;
            }
        },
        Ok(None) => (None, None),
        Err(err) => {
            tracing::error!(job = %job.id, error = %err, "cannot deliver an answer");
            return;
        }
    };
    let (text, actions, usage) = match (bot, upstream) {
        // With an AI upstream: its whole reply to the conversation so far. If it fails, the
        // job stays and is claimed again when its lease ends.
        (Some(bot), Some(settings)) => {
            let reply = crate::upstream::reply_to_stored(
                state,
                &bot,
                &settings,
                &job.conversation_id,
                &job.question,
            );
            // The claim is renewed while the model writes, so no instance asks it again.
            let renew = async {
                let every = Duration::from_millis(crate::store::JOB_LEASE_MS as u64 / 2);
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(err) = state.store.extend_job_lease(&job.id).await {
                        tracing::warn!(job = %job.id, error = %err, "cannot renew a job's claim");
                    }
                }
            };
            let reply = tokio::select! {
                reply = reply => reply,
                never = renew => never,
            };
            match reply {
                Ok((text, usage)) => (text, Vec::new(), usage),
                Err(err) if job.attempts >= UPSTREAM_ATTEMPTS => {
                    tracing::warn!(job = %job.id, attempts = job.attempts, error = %err,
                        "the upstream gave no answer; the visitor gets an apology");
                    match state.store.deliver_failed_job(&job, UPSTREAM_APOLOGY).await {
                        Ok(Some(_)) => state.deliveries().notify(),
                        Ok(None) => {}
                        Err(err) => {
                            tracing::error!(job = %job.id, error = %err, "cannot deliver an apology");
                        }
                    }
                    return;
                }
                Err(err) => {
                    let after = UPSTREAM_RETRY * job.attempts.max(1);
                    tracing::warn!(job = %job.id, attempts = job.attempts, error = %err,
                        retry_in_s = after.as_secs(), "the upstream gave no answer; retried later");
                    if let Err(err) = state.store.retry_job_later(&job.id, after).await {
                        tracing::error!(job = %job.id, error = %err, "cannot schedule a retry");
                    }
                    return;
                }
            }
        }
        (bot, _) => {
            let name = bot.map(|bot| bot.name).unwrap_or_default();
            match crate::faq::answer(&state.store, &job.bot_id, &name, &job.question).await {
                Ok(answer) => (answer.text, answer.suggested_actions, None),
                Err(err) => {
                    tracing::error!(job = %job.id, error = %err, "cannot deliver an answer");
                    return;
                }
            }
        }
    };
    match state.store.deliver_job(&job, &text, &actions).await {
        Ok(Some(_)) => {
            state.deliveries().notify();
            if let Some(tokens) = usage {
                if let Err(err) =
                    crate::upstream::charge_usage(&state.store, &job.bot_id, tokens).await
                {
                    tracing::error!(job = %job.id, error = %err, "cannot count a reply's tokens");
                }
            }
            // Its webhook events were queued in the transaction that stored it.
        }
        Ok(None) => {}
        Err(err) => {
            tracing::error!(job = %job.id, error = %err, "cannot deliver an answer");
        }
    }
}

/// The messages after `after` that a client may see, stopping before a streamed reply that
/// has not sent a word yet (so a cursor never skips past it).
async fn ready_messages(
    store: &Store,
    conversation_id: &str,
    after: Option<&str>,
) -> Result<Vec<StoredMessage>, AppError> {
    Ok(store
        .messages_after(conversation_id, after)
        .await?
        .into_iter()
        .take_while(StoredMessage::is_visible)
        .collect())
}

fn chat_message(message: StoredMessage) -> ChatMessage {
    ChatMessage {
        id: message.id,
        from: match message.role {
            Role::User => Sender::Visitor,
            Role::Assistant => Sender::Bot,
        },
        body: message.content,
        created_at: Some(dates::chataibot_timestamp(message.created_at)),
        suggested_actions: message.suggested_actions,
    }
}

// ---------------------------------------------------------------------------------------------
// The listening form.

fn listen_response(
    state: &AppState,
    conversation_id: String,
    after: Option<String>,
    slot: ListeningSlot,
) -> Response {
    let idle = state.listen_idle_timeout();
    let listener = Listener {
        _slot: slot,
        store: state.store.clone(),
        arrived: state.deliveries().subscribe(),
        deliveries: Arc::clone(state.deliveries()),
        conversation_id,
        cursor: after,
        queue: VecDeque::new(),
        idle,
        deadline: tokio::time::Instant::now() + idle,
        ended: false,
    };
    let events = futures_util::stream::unfold(listener, |mut listener| async move {
        let event = listener.next_event().await?;
        Some((Ok::<_, Infallible>(event), listener))
    });
    Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(KEEP_ALIVE_INTERVAL)
                .text(KEEP_ALIVE_TEXT),
        )
        .into_response()
}

/// One client listening to a conversation.
struct Listener {
    /// Counted against its address while it lives.
    _slot: ListeningSlot,
    store: Store,
    arrived: watch::Receiver<u64>,
    deliveries: Arc<Deliveries>,
    conversation_id: String,
    cursor: Option<String>,
    queue: VecDeque<StoredMessage>,
    idle: Duration,
    deadline: tokio::time::Instant,
    ended: bool,
}

impl Listener {
    /// The next message event, or `None` once the conversation has been quiet for the idle
    /// time (or after an error event, or when the server is stopping).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if self.ended || self.deliveries.is_closing() {
                return None;
            }
            if let Some(message) = self.queue.pop_front() {
                self.cursor = Some(message.id.clone());
                return Some(message_event(chat_message(message)));
            }
            // Marked seen before reading, so a delivery during the read is not missed.
            self.arrived.borrow_and_update();
            match ready_messages(&self.store, &self.conversation_id, self.cursor.as_deref()).await {
                Ok(messages) if !messages.is_empty() => {
                    self.queue.extend(messages);
                    self.deadline = tokio::time::Instant::now() + self.idle;
                    continue;
                }
                Ok(_) => {}
                Err(err) => {
                    self.ended = true;
                    return Some(error_event(&err));
                }
            }
            let now = tokio::time::Instant::now();
            if now >= self.deadline {
                return None;
            }
            let wait = (self.deadline - now).min(RECHECK_INTERVAL);
            let signal = tokio::time::timeout(wait, self.arrived.changed()).await;
            if let Ok(Err(_)) = signal {
                // The server is going away: no delivery will come; wait out, then look once more.
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// `id: <message id>`, `event: message`, `data: <poll item>`: what
/// [`chataibot::sse_frame`] writes.
fn message_event(message: ChatMessage) -> Event {
    let data = serde_json::to_string(&message).unwrap_or_else(|_| "{}".to_owned());
    Event::default()
        .id(message.id.replace(['\r', '\n', '\0'], ""))
        .event(MESSAGE_EVENT)
        .data(data)
}

/// `event: error` with the chataibot error body.
fn error_event(err: &AppError) -> Event {
    if let AppError::Internal(detail) = err {
        tracing::error!(detail = %detail, "internal error while listening");
    }
    let body = chataibot::ErrorBody::new(
        chataibot::wire_code(&err.code()),
        err.message_in(Dialect::Chataibot),
        None,
    );
    let json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event("error").data(json)
}
