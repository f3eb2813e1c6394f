//! Webhooks: per-bot endpoints (`url`, `events`, `secret`) and an outbox of deliveries in the
//! database. An event ([`EVENTS`], the seeds' names) is written to the outbox, one row per
//! endpoint that wants it, in the transaction that stores the change it reports (so a crash,
//! even `kill -9`, can never keep the change and lose the event); the background worker
//! ([`deliver_due`], run by [`crate::maintain`] every second) claims due rows (with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances share the work), posts each as
//! `{"event","timestamp","data"}` with the signature header, and on failure retries with
//! exponential back-off and jitter for about a day ([`retry_delay_ms`]). A chat reply never
//! waits for a receiver: the request only writes the outbox row.
//!
//! The signature: `X-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>" keyed with the endpoint's secret>` (also `X-Webhook-Timestamp: <t>`,
//! `X-Webhook-Event`, `X-Webhook-Delivery`).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::store::{now_ms, Backend, Store, StoreError};
use crate::{dates, ids};

/// The events an endpoint may ask for.
pub const EVENTS: [&str; 7] = [
    "user.created",
    "message.received",
    "message.sent",
    "bot.response",
    "conversation.started",
    "conversation.ended",
    "quota.warning",
];
/// How long a conversation may go without a message before it has ended, unless the server
/// says otherwise (`--conversation-idle-s`).
pub const DEFAULT_CONVERSATION_IDLE: Duration = Duration::from_secs(30 * 60);
/// The share of the monthly quota at which `quota.warning` is sent, in percent.
pub const QUOTA_WARNING_PERCENT: i64 = 80;
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// Attempts before a delivery is given up as failed (about a day of back-off in all).
pub const MAX_ATTEMPTS: i64 = 18;
/// The first retry's delay; each next one doubles, up to [`MAX_RETRY_DELAY_MS`].
pub const FIRST_RETRY_DELAY_MS: i64 = 10_000;
/// The longest single wait between two attempts.
pub const MAX_RETRY_DELAY_MS: i64 = 4 * 3_600_000;
/// How long a receiver may take to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery is its instance's (longer than [`DELIVERY_TIMEOUT`]).
const CLAIM_MS: i64 = 30_000;

/// A registered endpoint, as answered (without its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// `wh_…`.
    pub id: String,
    /// The bot whose events it receives.
    pub bot_id: String,
    /// Where they are posted.
    pub url: String,
    /// Which events.
    pub events: Vec<String>,
    /// ISO 8601.
    pub created_at: String,
}

impl Webhook {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let events: String = row.try_get("events")?;
        Ok(Self {
            id: row.try_get("id")?,
            bot_id: row.try_get("bot_id")?,
            url: row.try_get("url")?,
            events: events
                .split(',')
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: dates::iso8601(row.try_get("created_at")?),
        })
    }
}

/// One delivery of an event to an endpoint, as answered.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Its number.
    pub id: i64,
    /// The event's name.
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it is next tried (pending only), ISO 8601.
    pub next_attempt_at: Option<String>,
    /// When the event happened, ISO 8601.
    pub created_at: String,
    /// When the receiver accepted it, ISO 8601.
    pub delivered_at: Option<String>,
}

/// Why an endpoint cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

/// Checks a registration: an `https://` or `http://` URL, known events.
pub fn validate(url: &str, events: &[String]) -> Result<(), Invalid> {
    let url = url.trim();
    let Ok(parsed) = url.parse::<reqwest::Url>() else {
        return Err(Invalid(format!("The \"url\" {url:?} is not a URL")));
    };
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(Invalid(
            "The \"url\" must be an https:// or http:// URL".to_owned(),
        ));
    }
    if events.is_empty() {
        return Err(Invalid(format!(
            "The \"events\" field must list at least one of {}",
            EVENTS.join(", ")
        )));
    }
    if let Some(unknown) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        return Err(Invalid(format!(
            "Unknown event {unknown:?}: use {}",
            EVENTS.join(", ")
        )));
    }
    Ok(())
}

/// Registers an endpoint (already [`validate`]d). `public_only`: it is posted to public
/// addresses only ([`is_public`]), as for endpoints a bot's secret key registers.
pub async fn add(
    store: &Store,
    bot_id: &str,
    url: &str,
    events: &[String],
    secret: &str,
    public_only: bool,
) -> Result<Webhook, StoreError> {
    let id = format!("wh_{}", ids::random_hex(24)?);
    let mut tx = store.begin().await?;
    let row = sqlx::query(
        "INSERT INTO webhooks (id, bot_id, url, events, secret, created_at, public_only)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, bot_id, url, events, created_at",
    )
    .bind(&id)
    .bind(bot_id)
    .bind(url.trim())
    .bind(format!(",{},", events.join(",")))
    .bind(secret)
    .bind(now_ms())
    .bind(i64::from(public_only))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Webhook::from_row(&row)?)
}

/// The bot's endpoints, oldest first.
pub async fn list(store: &Store, bot_id: &str) -> Result<Vec<Webhook>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, bot_id, url, events, created_at FROM webhooks WHERE bot_id = $1 ORDER BY seq",
    )
    .bind(bot_id)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(Webhook::from_row)
        .collect::<Result<_, _>>()?)
}

/// Removes the bot's endpoint `id` and its pending deliveries; `false` when there is none.
pub async fn delete(store: &Store, bot_id: &str, id: &str) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND bot_id = $2")
        .bind(id)
        .bind(bot_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted > 0 {
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(deleted > 0)
}

/// The endpoint's deliveries, newest first (at most 100); `None` when the bot has no such
/// endpoint.
pub async fn deliveries(
    store: &Store,
    bot_id: &str,
    id: &str,
) -> Result<Option<Vec<Delivery>>, StoreError> {
    let owner = sqlx::query("SELECT id FROM webhooks WHERE id = $1 AND bot_id = $2")
        .bind(id)
        .bind(bot_id)
        .fetch_optional(store.reader())
        .await?;
    if owner.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT seq, event, status, attempts, last_status, last_error, next_at, created_at,
                delivered_at
         FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY seq DESC LIMIT 100",
    )
    .bind(id)
    .fetch_all(store.reader())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let status: String = row.try_get("status")?;
        out.push(Delivery {
            id: row.try_get("seq")?,
            next_attempt_at: (status == "pending")
                .then(|| row.try_get::<i64, _>("next_at").map(dates::iso8601))
                .transpose()?,
            event: row.try_get("event")?,
            status,
            attempts: row.try_get("attempts")?,
            last_status: row.try_get("last_status")?,
            last_error: row.try_get("last_error")?,
            created_at: dates::iso8601(row.try_get("created_at")?),
            delivered_at: row
                .try_get::<Option<i64>, _>("delivered_at")?
                .map(dates::iso8601),
        });
    }
    Ok(Some(out))
}

/// Writes `event` about `bot_id`, stamped `now`, to the outbox of every endpoint of the bot
/// that wants it, on `conn`: inside the caller's transaction when it has one (the store's
/// group commit queues an exchange's events in the transaction that stores it).
pub(crate) async fn queue_on(
    conn: &mut AnyConnection,
    bot_id: &str,
    event: &str,
    data: Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    let envelope = Envelope {
        event,
        timestamp: dates::iso8601(now),
        data,
    };
    let body = serde_json::to_string(&envelope).unwrap_or_default();
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, event, body, next_at, created_at)
         SELECT id, $1, $2, $3, $3 FROM webhooks
         WHERE bot_id = $4 AND events LIKE $5",
    )
    .bind(event)
    .bind(&body)
    .bind(now)
    .bind(bot_id)
    .bind(format!("%,{event},%"))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The events of a visitor's message and (when it is stored too) the bot's reply, in the
/// order they are queued: `conversation.started` (when the message started it),
/// `message.received`, `message.sent` and `bot.response`.
pub(crate) fn exchange_events(
    bot_id: &str,
    conversation_id: &str,
    new_conversation: bool,
    message: (&str, &str),
    reply: Option<(&str, &str)>,
) -> Vec<(&'static str, Value)> {
    let mut events = Vec::with_capacity(4);
    if new_conversation {
        events.push((
            "conversation.started",
            json!({ "botId": bot_id, "conversationId": conversation_id }),
        ));
    }
    let (message_id, text) = message;
    events.push((
        "message.received",
        json!({ "botId": bot_id, "conversationId": conversation_id, "messageId": message_id,
                "message": text }),
    ));
    if let Some((reply_id, reply)) = reply {
        for event in ["message.sent", "bot.response"] {
            events.push((
                event,
                json!({ "botId": bot_id, "conversationId": conversation_id,
                        "messageId": reply_id, "response": reply }),
            ));
        }
    }
    events
}

/// `quota.warning`'s data when a reply brings this month's count to `replies` of `quota`:
/// `Some` for the reply that reaches [`QUOTA_WARNING_PERCENT`] (once).
pub(crate) fn quota_warning_data(bot_id: &str, quota: i64, replies: i64) -> Option<Value> {
    if quota <= 0 {
        return None;
    }
    // The first whole reply count at or over the share.
    let threshold = (quota * QUOTA_WARNING_PERCENT + 99) / 100;
    (replies == threshold).then(|| {
        json!({ "botId": bot_id, "monthlyQuota": quota, "used": replies,
                "remaining": quota - replies })
    })
}

/// Records that the bot has seen the visitor id `visitor_id` (jombot's `user_id`) and queues
/// `user.created` the first time, in one transaction (so a crash between them loses nothing).
pub async fn visitor_seen(store: &Store, bot_id: &str, visitor_id: &str, conversation_id: &str) {
    let visitor_id = visitor_id.trim();
    if visitor_id.is_empty() || visitor_id.len() > 200 {
        return;
    }
    let stored = async {
        let mut tx = store.begin().await?;
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO visitors (bot_id, visitor_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(bot_id)
        .bind(visitor_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted > 0 {
            let data = json!({ "botId": bot_id, "userId": visitor_id,
                               "conversationId": conversation_id });
            queue_on(&mut tx, bot_id, "user.created", data, now).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(())
    }
    .await;
    if let Err(err) = stored {
        tracing::error!(bot = %bot_id, error = %err, "cannot record a visitor");
    }
}

/// `message.sent` and `bot.response` for a reply stored on `conn`, queued there (in the
/// transaction that stores the reply); with `check_quota`, also `quota.warning` when this
/// reply brought the month to [`QUOTA_WARNING_PERCENT`] of the quota.
pub(crate) async fn queue_reply_on(
    conn: &mut AnyConnection,
    bot_id: &str,
    conversation_id: &str,
    reply: (&str, &str),
    check_quota: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (reply_id, text) = reply;
    for event in ["message.sent", "bot.response"] {
        let data = json!({ "botId": bot_id, "conversationId": conversation_id,
                           "messageId": reply_id, "response": text });
        queue_on(conn, bot_id, event, data, now).await?;
    }
    if !check_quota {
        return Ok(());
    }
    let row = sqlx::query(
        "SELECT b.monthly_quota AS quota, u.replies AS replies FROM bots b
         LEFT JOIN monthly_usage u ON u.bot_id = b.id AND u.month = $2
         WHERE b.id = $1",
    )
    .bind(bot_id)
    .bind(dates::month_start_ms(now))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let quota: Option<i64> = row.try_get("quota")?;
    let replies: i64 = row.try_get::<Option<i64>, _>("replies")?.unwrap_or(0);
    if let Some(data) = quota.and_then(|quota| quota_warning_data(bot_id, quota, replies)) {
        queue_on(conn, bot_id, "quota.warning", data, now).await?;
    }
    Ok(())
}

/// Stores a streamed reply complete and queues its `message.sent` and `bot.response` in the
/// same transaction. (Its credit and quota were counted, and any `quota.warning` queued, when
/// the exchange began.) Returns false if there is no such reply.
pub async fn finish_reply_queued(
    store: &Store,
    bot_id: &str,
    conversation_id: &str,
    message_id: &str,
    text: &str,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let updated = sqlx::query(
        "UPDATE messages SET content = $2, complete = 1, writer = NULL
         WHERE id = $1 AND role = 'assistant'",
    )
    .bind(message_id)
    .bind(text)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    let reply = (message_id, text);
    queue_reply_on(&mut tx, bot_id, conversation_id, reply, false, now_ms()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Sends `conversation.ended` for conversations (of bots with an endpoint that wants it)
/// whose last message is older than `idle`, at most `limit` of them; each is marked ended in
/// the same transaction that queues its event. Returns how many ended.
pub async fn end_idle_conversations(
    store: &Store,
    idle: Duration,
    limit: u32,
) -> Result<u64, StoreError> {
    // Most servers have no such endpoint: no write lock taken then.
    let wanted =
        sqlx::query("SELECT id FROM webhooks WHERE events LIKE '%,conversation.ended,%' LIMIT 1")
            .fetch_optional(store.reader())
            .await?;
    if wanted.is_none() {
        return Ok(0);
    }
    let now = now_ms();
    let cutoff = now - i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
    let lock = match store.backend() {
        Backend::Postgres => "FOR UPDATE OF c SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let mut tx = store.begin().await?;
    let rows = sqlx::query(&format!(
        "SELECT c.id, c.bot_id,
                (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id) AS last_at
         FROM conversations c
         WHERE c.ended_at IS NULL
           AND c.bot_id IN (SELECT bot_id FROM webhooks WHERE events LIKE '%,conversation.ended,%')
           AND (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id) < $1
         LIMIT $2 {lock}"
    ))
    .bind(cutoff)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let mut ended = 0;
    for row in &rows {
        let id: String = row.try_get("id")?;
        let bot_id: String = row.try_get("bot_id")?;
        let last_at: Option<i64> = row.try_get("last_at")?;
        sqlx::query("UPDATE conversations SET ended_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        let envelope = Envelope {
            event: "conversation.ended",
            timestamp: dates::iso8601(now),
            data: json!({ "botId": bot_id, "conversationId": id,
                          "lastMessageAt": last_at.map(dates::iso8601) }),
        };
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, event, body, next_at, created_at)
             SELECT id, $1, $2, $3, $3 FROM webhooks WHERE bot_id = $4 AND events LIKE $5",
        )
        .bind("conversation.ended")
        .bind(serde_json::to_string(&envelope).unwrap_or_default())
        .bind(now)
        .bind(&bot_id)
        .bind("%,conversation.ended,%")
        .execute(&mut *tx)
        .await?;
        ended += 1;
    }
    tx.commit().await?;
    Ok(ended)
}

/// An event as posted, fields in the seed's order.
#[derive(Serialize)]
struct Envelope<'a> {
    event: &'a str,
    timestamp: String,
    data: Value,
}

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

/// The wait before attempt `attempts + 1`, after `attempts` failures: 10 s doubling up to
/// 4 h, times a random factor in 0.5..1 (so receivers coming back are not hit all at once).
/// Eighteen attempts span about a day (17 to 34 hours).
pub fn retry_delay_ms(attempts: i64, base_ms: i64) -> i64 {
    let exponent = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    let full = base_ms
        .saturating_mul(2_i64.saturating_pow(exponent))
        .min(MAX_RETRY_DELAY_MS.max(base_ms));
    let mut byte = [0u8; 1];
    let jitter = match getrandom::fill(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 510.0,
        Err(_) => 0.75,
    };
    (full as f64 * jitter) as i64
}

struct Due {
    seq: i64,
    event: String,
    body: String,
    attempts: i64,
    url: String,
    secret: String,
    public_only: bool,
}

/// The HTTP clients deliveries are posted with: any address, or public ones only.
#[derive(Debug, Clone)]
pub struct Clients {
    /// For endpoints the operator registered (the admin token, the `bot` command).
    pub anywhere: reqwest::Client,
    /// For endpoints a bot's secret key registered ([`public_client`]).
    pub public_only: reqwest::Client,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            anywhere: client(),
            public_only: public_client(),
        }
    }
}

/// Claims the due deliveries (at most `limit`) and posts each, concurrently; returns how many
/// were tried. `base_ms` is the first retry delay ([`FIRST_RETRY_DELAY_MS`] in production).
pub async fn deliver_due(
    store: &Store,
    clients: &Clients,
    limit: u32,
    base_ms: i64,
) -> Result<usize, StoreError> {
    let now = now_ms();
    let lock = match store.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // Claimed: its next_at moves past the claim, so nobody else takes it meanwhile; an
    // instance that dies holding it leaves it due again when the claim ends.
    let claimed: Vec<i64> = sqlx::query_scalar(&format!(
        "UPDATE webhook_deliveries SET next_at = $1
         WHERE seq IN (SELECT seq FROM webhook_deliveries
                       WHERE status = 'pending' AND next_at <= $2
                       ORDER BY next_at, seq LIMIT $3 {lock})
         RETURNING seq"
    ))
    .bind(now + CLAIM_MS)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(store.writer())
    .await?;
    let mut due = Vec::with_capacity(claimed.len());
    for seq in claimed {
        let row = sqlx::query(
            "SELECT d.seq, d.event, d.body, d.attempts, w.url, w.secret, w.public_only
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.seq = $1",
        )
        .bind(seq)
        .fetch_optional(store.writer())
        .await?;
        if let Some(row) = row {
            due.push(Due {
                seq: row.try_get("seq")?,
                event: row.try_get("event")?,
                body: row.try_get("body")?,
                attempts: row.try_get("attempts")?,
                url: row.try_get("url")?,
                secret: row.try_get("secret")?,
                public_only: row.try_get::<i64, _>("public_only")? != 0,
            });
        }
    }
    let tried = due.len();
    let posts = due.into_iter().map(|due| async move {
        let outcome = if due.public_only {
            post_public(&clients.public_only, &due).await
        } else {
            post(&clients.anywhere, &due).await
        };
        if let Err(err) = record(store, &due, outcome, base_ms).await {
            tracing::error!(delivery = due.seq, error = %err, "cannot record a webhook delivery");
        }
    });
    futures_util::future::join_all(posts).await;
    Ok(tried)
}

/// `Ok(status)` for a 2xx, else the status (if any) and why.
async fn post(client: &reqwest::Client, due: &Due) -> Result<u16, (Option<u16>, String)> {
    let timestamp = crate::system_now_unix();
    let response = client
        .post(&due.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            SIGNATURE_HEADER,
            signature(&due.secret, timestamp, &due.body),
        )
        .header("x-webhook-timestamp", timestamp.to_string())
        .header("x-webhook-event", &due.event)
        .header("x-webhook-delivery", due.seq.to_string())
        .timeout(DELIVERY_TIMEOUT)
        .body(due.body.clone())
        .send()
        .await
        .map_err(|err| (None, describe(&err)))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("the receiver answered {status}")))
    }
}

/// What a public-only endpoint is told about an address it may not reach.
const NOT_PUBLIC: &str = "the receiver's address is not public";

/// [`post`] to a public address only: an address in the URL itself is checked here (the
/// client's resolver never sees it), a name by [`public_client`]'s resolver.
async fn post_public(client: &reqwest::Client, due: &Due) -> Result<u16, (Option<u16>, String)> {
    if url_names_a_private_address(&due.url) {
        return Err((None, NOT_PUBLIC.to_owned()));
    }
    post(client, due).await
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, IPv6
/// unique local), link-local (cloud metadata services live there), shared (RFC 6598),
/// unspecified, multicast, broadcast, documentation or reserved; IPv4-mapped and
/// IPv4-compatible IPv6 addresses are judged as their IPv4 address.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            // ::a.b.c.d (deprecated IPv4-compatible) and the NAT64 prefix 64:ff9b::/96.
            if v6.segments()[..6] == [0; 6] || v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [.., c, d] = v6.segments();
                let v4 = std::net::Ipv4Addr::from((u32::from(c) << 16) | u32::from(d));
                return !v6.is_unspecified() && !v6.is_loopback() && is_public(IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

/// A resolver that answers a name's public addresses only ([`is_public`]), and an error when
/// it has none: a name that points at the server's own network reaches nothing.
#[derive(Debug, Default)]
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> =
                found.filter(|addr| is_public(addr.ip())).collect();
            if public.is_empty() {
                return Err(NOT_PUBLIC.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// A client error's kind, never its URL (it could hold a token).
fn describe(err: &reqwest::Error) -> String {
    if is_not_public(err) {
        NOT_PUBLIC.to_owned()
    } else if err.is_timeout() {
        "the receiver did not answer in time".to_owned()
    } else if err.is_connect() {
        "cannot connect to the receiver".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

async fn record(
    store: &Store,
    due: &Due,
    outcome: Result<u16, (Option<u16>, String)>,
    base_ms: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    let attempts = due.attempts + 1;
    match outcome {
        Ok(status) => {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = $1,
                     last_status = $2, last_error = NULL, delivered_at = $3 WHERE seq = $4",
            )
            .bind(attempts)
            .bind(i64::from(status))
            .bind(now)
            .bind(due.seq)
            .execute(store.writer())
            .await?;
        }
        Err((status, why)) => {
            let status_text = if attempts >= MAX_ATTEMPTS {
                "failed"
            } else {
                "pending"
            };
            tracing::warn!(
                delivery = due.seq,
                event = %due.event,
                attempts,
                reason = %why,
                "webhook delivery failed"
            );
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status = $3,
                     last_error = $4, next_at = $5 WHERE seq = $6",
            )
            .bind(status_text)
            .bind(attempts)
            .bind(status.map(i64::from))
            .bind(why)
            .bind(now + retry_delay_ms(attempts, base_ms))
            .bind(due.seq)
            .execute(store.writer())
            .await?;
        }
    }
    Ok(())
}

/// The client for endpoints a bot's secret key registered: as [`client`], but every name is
/// resolved to its public addresses only ([`is_public`]) and redirects are not followed (a
/// redirect could name an address the resolver never sees).
pub fn public_client() -> reqwest::Client {
    public_only(reqwest::Client::builder().connect_timeout(Duration::from_secs(5)))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// A client builder that reaches public addresses only: names resolved to their public
/// addresses ([`is_public`]), no redirects, no proxy. An address written in the URL itself
/// never reaches the resolver: check it with [`url_names_a_private_address`].
pub fn public_only(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(PublicOnly))
}

/// Whether a URL's host is an address (in any notation the URL parser reads) that is not
/// public.
pub fn url_names_a_private_address(url: &str) -> bool {
    let literal = reqwest::Url::parse(url).ok().and_then(|url| {
        let host = url.host_str()?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        host.parse::<std::net::IpAddr>().ok()
    });
    literal.is_some_and(|ip| !is_public(ip))
}

/// Whether a client error is `PublicOnly`'s refusal.
pub fn is_not_public(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(err) = source {
        if err.to_string() == NOT_PUBLIC {
            return true;
        }
        source = err.source();
    }
    false
}

/// The HTTP client webhooks are posted with (HTTP/1, https with rustls, no proxy from the environment).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature("whsec_test", 1_700_000_000, "{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(
            signature("whsec_test", 1_700_000_000, "{}"),
            signature("whsec_other", 1_700_000_000, "{}")
        );
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_for_about_a_day() {
        for attempts in 1..20 {
            let full = (FIRST_RETRY_DELAY_MS << (attempts - 1).min(30)).min(MAX_RETRY_DELAY_MS);
            let delay = retry_delay_ms(attempts, FIRST_RETRY_DELAY_MS);
            assert!(
                delay >= full / 2 && delay <= full,
                "{attempts}: {delay} of {full}"
            );
        }
        let longest: i64 = (1..MAX_ATTEMPTS)
            .map(|a| (FIRST_RETRY_DELAY_MS << (a - 1)).min(MAX_RETRY_DELAY_MS))
            .sum();
        assert!(
            (24 * 3_600_000..40 * 3_600_000).contains(&longest),
            "{longest} ms"
        );
    }

    #[test]
    fn only_addresses_on_the_public_internet_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "240.0.0.1",
            "224.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "ff02::1",
        ] {
            let ip: std::net::IpAddr = private.parse().expect(private);
            assert!(!is_public(ip), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            let ip: std::net::IpAddr = public.parse().expect(public);
            assert!(is_public(ip), "{public}");
        }
    }

    #[test]
    fn only_http_urls_and_known_events_register() {
        let events = |list: &[&str]| list.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>();
        assert!(validate("http://127.0.0.1:9/hook", &events(&["message.received"])).is_ok());
        assert!(validate("https://example.com/hook", &events(&["message.sent"])).is_ok());
        assert!(validate("ftp://example.com/hook", &events(&["message.sent"])).is_err());
        assert!(validate("not a url", &events(&["message.sent"])).is_err());
        assert!(validate("http://x.test/", &events(&[])).is_err());
        assert!(validate("http://x.test/", &events(&["message.deleted"])).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// The admin API, in the jelytech dialect's shapes, with the admin token (as training).

/// `POST /v1/bots/{botId}/webhooks` body.
#[derive(Debug, serde::Deserialize)]
pub struct NewWebhook {
    url: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    secret: Option<String>,
}

/// The shortest secret accepted.
pub const MIN_SECRET_CHARS: usize = 16;

/// `POST /v1/bots/{botId}/webhooks`: 201 with the endpoint and its secret (shown this once;
/// generated when the body has none).
pub async fn create(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    bot_id: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    headers: axum::http::HeaderMap,
    caller: crate::caller::Caller,
    body: Result<axum::Json<NewWebhook>, axum::extract::rejection::JsonRejection>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bot_id = bot_id.map(|axum::extract::Path(id)| id).unwrap_or_default();
    let (rate_limit, allowed) =
        crate::training::authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        let axum::Json(request) = body?;
        validate(&request.url, &request.events)
            .map_err(|e| crate::AppError::InvalidRequest(e.0))?;
        let secret = match request.secret {
            Some(secret) if secret.chars().count() < MIN_SECRET_CHARS => {
                return Err(crate::AppError::InvalidRequest(format!(
                    "The \"secret\" must have at least {MIN_SECRET_CHARS} characters"
                )))
            }
            Some(secret) => secret,
            None => format!("whsec_{}", ids::random_hex(32).map_err(StoreError::from)?),
        };
        // The operator's network is not a bot owner's to reach: what a secret key registers
        // is posted to public addresses only.
        let public_only = !crate::access::admin_admitted(&state, &headers, &caller).await;
        let webhook = add(
            &state.store,
            &bot_id,
            &request.url,
            &request.events,
            &secret,
            public_only,
        )
        .await?;
        tracing::info!(bot = %bot_id, webhook = %webhook.id, "webhook registered");
        let body = json!({ "success": true, "webhook": webhook, "secret": secret });
        Ok((axum::http::StatusCode::CREATED, axum::Json(body)).into_response())
    }
    .await;
    crate::access::respond(
        chat_widget_protocol::dialect::Dialect::Jelytech,
        rate_limit,
        result,
    )
}

/// `GET /v1/bots/{botId}/webhooks`: the endpoints, without their secrets.
pub async fn index(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    bot_id: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    headers: axum::http::HeaderMap,
    caller: crate::caller::Caller,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bot_id = bot_id.map(|axum::extract::Path(id)| id).unwrap_or_default();
    let (rate_limit, allowed) =
        crate::training::authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        let webhooks = list(&state.store, &bot_id).await?;
        Ok(axum::Json(json!({ "success": true, "webhooks": webhooks })).into_response())
    }
    .await;
    crate::access::respond(
        chat_widget_protocol::dialect::Dialect::Jelytech,
        rate_limit,
        result,
    )
}

/// `DELETE /v1/bots/{botId}/webhooks/{id}`.
pub async fn remove(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    ids: Result<axum::extract::Path<(String, String)>, axum::extract::rejection::PathRejection>,
    headers: axum::http::HeaderMap,
    caller: crate::caller::Caller,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (bot_id, id) = ids.map(|axum::extract::Path(ids)| ids).unwrap_or_default();
    let (rate_limit, allowed) =
        crate::training::authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        if !delete(&state.store, &bot_id, &id).await? {
            return Err(crate::AppError::WebhookNotFound);
        }
        Ok(axum::Json(json!({ "success": true, "deleted": id })).into_response())
    }
    .await;
    crate::access::respond(
        chat_widget_protocol::dialect::Dialect::Jelytech,
        rate_limit,
        result,
    )
}

/// `GET /v1/bots/{botId}/webhooks/{id}/deliveries`: newest first, each with its status.
pub async fn delivery_log(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    ids: Result<axum::extract::Path<(String, String)>, axum::extract::rejection::PathRejection>,
    headers: axum::http::HeaderMap,
    caller: crate::caller::Caller,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (bot_id, id) = ids.map(|axum::extract::Path(ids)| ids).unwrap_or_default();
    let (rate_limit, allowed) =
        crate::training::authorise(&state, &headers, &caller, &bot_id).await;
    let result = async {
        allowed?;
        let Some(found) = deliveries(&state.store, &bot_id, &id).await? else {
            return Err(crate::AppError::WebhookNotFound);
        };
        Ok(axum::Json(json!({ "success": true, "deliveries": found })).into_response())
    }
    .await;
    crate::access::respond(
        chat_widget_protocol::dialect::Dialect::Jelytech,
        rate_limit,
        result,
    )
}
