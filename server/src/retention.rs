//! Retention (`--retain-days N`): conversations whose last message is older than N days are
//! deleted in the background ([`crate::maintain`], every `--retention-interval-s`), with their
//! messages and pending answers, in batches of [`BATCH`] conversations per transaction.
//!
//! What stays: the analytics aggregates that hold no visitor's words (messages and replies per
//! day, response times, which conversations were active on a day, the monthly usage), so
//! `totalMessages`, `uniqueUsers` and `responseTime` for old periods do not change. What goes
//! with the conversations: the visitors' words everywhere else, i.e. the top questions of the
//! days before the cut-off (`daily_questions`) and the webhook deliveries older than the
//! cut-off that are no longer pending (their bodies carry messages).

use std::time::Duration;

use sqlx::Row;

use crate::store::{now_ms, Store, StoreError};

/// Conversations deleted per transaction.
pub const BATCH: usize = 200;

/// How often the background work looks for old conversations unless
/// `--retention-interval-s` says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

const DAY_MS: i64 = 86_400_000;

/// What one [`purge`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Conversations (with all their messages).
    pub conversations: u64,
    /// Messages.
    pub messages: u64,
}

/// Deletes everything older than `days` days as the module says, batch by batch until none
/// is left. Returns what it deleted.
pub async fn purge(store: &Store, days: u32) -> Result<Purged, StoreError> {
    let cutoff = now_ms().saturating_sub(i64::from(days).saturating_mul(DAY_MS));
    let mut purged = Purged::default();
    loop {
        let batch = purge_batch(store, cutoff).await?;
        purged.conversations += batch.conversations;
        purged.messages += batch.messages;
        if batch.conversations < BATCH as u64 {
            break;
        }
    }
    let mut tx = store.begin().await?;
    // Top questions are visitors' words: those of days wholly before the cut-off go.
    sqlx::query("DELETE FROM daily_questions WHERE day < $1")
        .bind(cutoff / DAY_MS)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending'")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(purged)
}

/// Deletes up to [`BATCH`] conversations whose newest message (or, with none, whose start) is
/// before `cutoff` (unix ms), in one transaction.
async fn purge_batch(store: &Store, cutoff: i64) -> Result<Purged, StoreError> {
    let mut tx = store.begin().await?;
    let rows = sqlx::query(
        "SELECT c.id FROM conversations c
         WHERE c.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM messages m
                           WHERE m.conversation_id = c.id AND m.created_at >= $1)
         ORDER BY c.created_at LIMIT $2",
    )
    .bind(cutoff)
    .bind(BATCH as i64)
    .fetch_all(&mut *tx)
    .await?;
    let ids = rows
        .iter()
        .map(|row| row.try_get::<String, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Ok(Purged::default());
    }
    let list = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut deleted = [0u64; 3];
    for (i, table) in ["reply_jobs", "messages"].into_iter().enumerate() {
        let sql = format!("DELETE FROM {table} WHERE conversation_id IN ({list})");
        let mut query = sqlx::query(&sql);
        for id in &ids {
            query = query.bind(id);
        }
        deleted[i] = query.execute(&mut *tx).await?.rows_affected();
    }
    let sql = format!("DELETE FROM conversations WHERE id IN ({list})");
    let mut query = sqlx::query(&sql);
    for id in &ids {
        query = query.bind(id);
    }
    deleted[2] = query.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(Purged {
        conversations: deleted[2],
        messages: deleted[1],
    })
}
