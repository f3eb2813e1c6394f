//! Group commit for the chat hot path. A request's exchange (its visitor message and the
//! bot's reply, with the credit, the monthly quota and the webhook events they cost) and, on
//! SQLite, its rate-limit hit are queued here instead of each taking the write connection for
//! a transaction of its own. One task at a time takes everything queued (up to [`MAX_BATCH`]
//! jobs): the rate-limit hits first, in one transaction that does not wait for the disk,
//! answered at once; then the exchanges, in one transaction with a few statements for the
//! whole batch (multi-row inserts for the messages, one counter update per bot), on disk
//! before each request is answered: what a request was told is stored, is stored. (On
//! PostgreSQL the commit waits for the flush; on SQLite the commit does not, and
//! [`super::flush`] answers the batch after flushing the log, while this task commits the
//! next one.) Requests that arrive while a batch commits form the next batch, so batches
//! grow with the load and no timer waits for company.
//!
//! A batch that fails as a whole (a database error) is retried one job per transaction, so
//! one bad job fails alone. Within a batch, jobs are decided in the order they came: credits
//! and the quota are read once per bot (locked on PostgreSQL, so instances sharing the
//! database take turns per batch, not per request) and spent in memory, then written once.
//! Locks are taken in bot-id order, so two instances' batches cannot deadlock on them.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

use super::*;

/// The most jobs one transaction takes (its messages insert binds 22 values per exchange,
/// well under both databases' limits).
pub(super) const MAX_BATCH: usize = 64;

/// Items waiting for the task that takes them: jobs for the next batch here, answers for the
/// next flush in [`super::flush`]. One task at a time takes them; a push that finds none
/// running starts one.
pub(super) struct Queue<T> {
    state: Mutex<QueueState<T>>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(QueueState {
                items: Vec::new(),
                running: false,
            }),
        }
    }
}

struct QueueState<T> {
    items: Vec<T>,
    /// Whether a task is taking items (then it will take what is queued).
    running: bool,
}

impl<T> Queue<T> {
    fn state(&self) -> std::sync::MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `items`; `true` when no task is taking items, so the caller must start one
    /// (it counts as running from now on).
    pub(super) fn push(&self, items: impl IntoIterator<Item = T>) -> bool {
        let mut state = self.state();
        state.items.extend(items);
        !std::mem::replace(&mut state.running, true)
    }

    /// Up to `max` of the queued items, oldest first; `None` when there are none, and then
    /// the task taking them must end (it no longer counts as running).
    fn take(&self, max: usize) -> Option<Vec<T>> {
        let mut state = self.state();
        if state.items.is_empty() {
            state.running = false;
            return None;
        }
        let take = state.items.len().min(max);
        Some(state.items.drain(..take).collect())
    }
}

/// The task taking a queue's items ([`Running::take`]). A task that did not finish (a panic,
/// its runtime shutting down) marks the queue as not running when it is dropped and fails
/// what is still queued rather than leave it waiting: dropping an item drops its sender, so
/// its request gets an error ([`gone`]), and the next push starts a new task. A task that
/// found the queue empty has already handed it over: by then a push may have started the
/// next task, whose items are not this one's to drop.
pub(super) struct Running<'a, T> {
    queue: &'a Queue<T>,
    finished: bool,
}

impl<'a, T> Running<'a, T> {
    pub(super) fn new(queue: &'a Queue<T>) -> Self {
        Self {
            queue,
            finished: false,
        }
    }

    /// [`Queue::take`]; after `None` the task must end.
    pub(super) fn take(&mut self, max: usize) -> Option<Vec<T>> {
        let taken = self.queue.take(max);
        self.finished = taken.is_none();
        taken
    }
}

impl<T> Drop for Running<'_, T> {
    fn drop(&mut self) {
        if !self.finished {
            let mut state = self.queue.state();
            state.running = false;
            state.items.clear();
        }
    }
}

pub(super) enum Job {
    Exchange(ExchangeJob),
    Hit(HitJob, oneshot::Sender<Result<RawHits, StoreError>>),
}

/// An exchange to store ([`Store::record_exchange`], [`Store::begin_streamed_exchange`]).
pub(super) struct ExchangeJob {
    pub bot_id: String,
    pub requested: Option<String>,
    pub user_text: String,
    pub reply_text: String,
    pub reply_complete: bool,
    pub done: oneshot::Sender<Result<ExchangeOutcome, StoreError>>,
}

/// Rate-limit hits ([`Store::hit_rate_windows`]; on SQLite through the group commit).
pub(super) struct HitJob {
    /// Windows that, any of them used up, refuse the request before anything is counted.
    pub guards: Vec<(String, i64)>,
    /// The windows to count in, in order, with their limits.
    pub hits: Vec<(String, i64)>,
    pub window_secs: i64,
    pub now: i64,
}

impl HitJob {
    /// The hits on `conn` as one query ([`rate_hits_sql`]): on SQLite in the group commit's
    /// transaction, on PostgreSQL one statement of its own.
    pub(super) async fn run_on(
        &self,
        conn: &mut AnyConnection,
        backend: Backend,
    ) -> Result<RawHits, StoreError> {
        let sql = rate_hits_sql(backend, self.guards.len(), self.hits.len());
        let mut query = sqlx::query(&sql).bind(self.now).bind(self.window_secs);
        for (scope, limit) in self.guards.iter().chain(&self.hits) {
            query = query.bind(scope.as_str()).bind(*limit);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        hits_outcome(&rows, self.hits.len())
    }
}

pub(super) enum Done {
    Exchange(ExchangeOutcome),
    Hit(RawHits),
}

impl Job {
    pub(super) fn answer(self, result: Result<Done, StoreError>) {
        // A receiver that is gone belonged to a request that was dropped (its client left):
        // what it asked for is stored all the same.
        match (self, result) {
            (Job::Exchange(job), Ok(Done::Exchange(outcome))) => drop(job.done.send(Ok(outcome))),
            (Job::Hit(_, done), Ok(Done::Hit(hits))) => drop(done.send(Ok(hits))),
            (Job::Exchange(job), Err(err)) => drop(job.done.send(Err(err))),
            (Job::Hit(_, done), Err(err)) => drop(done.send(Err(err))),
            (Job::Exchange(job), Ok(Done::Hit(_))) => drop(job.done.send(Err(mixed_up()))),
            (Job::Hit(_, done), Ok(Done::Exchange(_))) => drop(done.send(Err(mixed_up()))),
        }
    }
}

fn mixed_up() -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(
        "a batch answered the wrong job".into(),
    ))
}

/// Queues `job` and makes sure a task is taking batches.
pub(super) fn push(store: &Store, job: Job) {
    if store.inner.queue.push([job]) {
        tokio::spawn(run(store.clone()));
    }
}

/// What a job's receiver gets when its batch task ended without answering (it panicked or
/// its runtime shut down).
pub(super) fn gone<T>(_: oneshot::error::RecvError) -> Result<T, StoreError> {
    Err(StoreError::Database(sqlx::Error::WorkerCrashed))
}

async fn run(store: Store) {
    let mut running = Running::new(&store.inner.queue);
    while let Some(batch) = running.take(MAX_BATCH) {
        execute(&store, batch).await;
    }
}

/// Stores a batch and answers its jobs. Rate-limit hits (queued on SQLite only) go first, in
/// a transaction of their own, answered as soon as it commits: a request's hit never waits
/// for other requests' messages (the writer is one connection, so one transaction for both
/// would make the hits share the exchanges' wait). Hits and exchanges write different rows,
/// so storing them apart changes nothing either decides. Then the exchanges, answered once
/// their commit is on disk: on PostgreSQL when it returns, on SQLite after the flush that
/// follows it ([`super::flush`]), while this task goes on with the next batch.
async fn execute(store: &Store, jobs: Vec<Job>) {
    let (hits, exchanges): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| matches!(job, Job::Hit(..)));
    if !hits.is_empty() {
        for (job, result) in execute_part(store, hits).await {
            job.answer(result);
        }
    }
    if !exchanges.is_empty() {
        let answers = execute_part(store, exchanges).await;
        match store.inner.backend {
            Backend::Sqlite => super::flush::answer_after_flush(store, answers),
            Backend::Postgres => {
                for (job, result) in answers {
                    job.answer(result);
                }
            }
        }
    }
}

/// The jobs with what each gets: the batch's outcomes, or when the batch fails as a whole,
/// each job's own attempt.
async fn execute_part(store: &Store, jobs: Vec<Job>) -> Vec<(Job, Result<Done, StoreError>)> {
    match attempt(store, &jobs).await {
        Ok(results) => jobs.into_iter().zip(results.into_iter().map(Ok)).collect(),
        Err(err) if jobs.len() == 1 => jobs.into_iter().zip([Err(err)]).collect(),
        Err(err) => {
            tracing::warn!(jobs = jobs.len(), error = %err, "a batch failed; storing its jobs one by one");
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                let result = attempt(store, std::slice::from_ref(&job))
                    .await
                    .map(|mut done| done.remove(0));
                answers.push((job, result));
            }
            answers
        }
    }
}

/// Stores `jobs`, all hits or all exchanges ([`execute`]), in one transaction; the outcome of
/// each, in order. On SQLite the transaction commits without waiting for the disk
/// ([`unsynced`]): the flush comes after, for the exchanges.
async fn attempt(store: &Store, jobs: &[Job]) -> Result<Vec<Done>, StoreError> {
    match store.inner.backend {
        Backend::Sqlite => unsynced(store, jobs).await,
        Backend::Postgres => {
            let mut tx = store.begin().await?;
            let done = run_jobs(store, &mut tx, jobs).await?;
            tx.commit().await?;
            Ok(done)
        }
    }
}

/// `jobs` (all hits or all exchanges) on `conn`, a transaction.
async fn run_jobs(
    store: &Store,
    conn: &mut AnyConnection,
    jobs: &[Job],
) -> Result<Vec<Done>, StoreError> {
    let exchanges: Vec<(usize, &ExchangeJob)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job {
            Job::Exchange(exchange) => Some((i, exchange)),
            Job::Hit(..) => None,
        })
        .collect();
    if exchanges.is_empty() {
        let mut done = Vec::with_capacity(jobs.len());
        for job in jobs {
            if let Job::Hit(hit, _) = job {
                done.push(Done::Hit(hit.run_on(conn, Backend::Sqlite).await?));
            }
        }
        return Ok(done);
    }
    let mut done: Vec<Option<Done>> = jobs.iter().map(|_| None).collect();
    for (i, outcome) in store_exchanges(store, conn, &exchanges).await? {
        done[i] = Some(Done::Exchange(outcome));
    }
    Ok(done
        .into_iter()
        .map(|done| done.unwrap_or(Done::Exchange(Outcome::NoCredits)))
        .collect())
}

/// SQLite: `jobs` in a transaction that commits with `synchronous = NORMAL`, so the commit
/// appends to the write-ahead log and returns without waiting for the disk. For hits that
/// is all they need (as PostgreSQL's counters pool: a window lost in a power cut is
/// harmless); exchanges are answered only after [`super::flush`] has flushed the log. The
/// connection is back to `synchronous = FULL` before any other write uses it, so every
/// other write stays durable by itself; one that cannot be reset is closed.
async fn unsynced(store: &Store, jobs: &[Job]) -> Result<Vec<Done>, StoreError> {
    let mut conn = store.inner.writer.acquire().await?;
    let result = async {
        // One round trip to the connection's thread for both statements.
        let mut tx = sqlx::Connection::begin_with(
            &mut *conn,
            "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE",
        )
        .await?;
        let done = run_jobs(store, &mut tx, jobs).await?;
        tx.commit().await?;
        Ok(done)
    }
    .await;
    if conn.execute("PRAGMA synchronous = FULL").await.is_err() {
        conn.close_on_drop();
    }
    result
}

/// A bot's limits as the batch spends them.
struct Limits {
    credits: Option<i64>,
    quota: Option<i64>,
    /// This month's replies and pending answers (read only when there is a quota).
    replies: i64,
    pending: i64,
    spent: i64,
    admitted: i64,
}

/// `ids` padded to a power of two by repeating the last (an `IN` list of the same length has
/// the same SQL text, so a few prepared statements serve every batch size).
fn padded<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    let mut out = ids.to_vec();
    if let Some(last) = ids.last() {
        out.resize(ids.len().next_power_of_two(), last);
    }
    out
}

/// `0..n` split into runs whose lengths are powers of two, at most 32, longest first (one
/// multi-row insert each: a few statement texts for every batch size).
fn runs(n: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let left = n - start;
        let len = if left >= 32 {
            32
        } else {
            1 << (usize::BITS - 1 - left.leading_zeros())
        };
        out.push(start..start + len);
        start += len;
    }
    out
}

/// `$first, $first+1, …` (`count` of them).
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, …, $width), ($width+1, …), …` (`rows` of them).
fn value_rows(width: usize, rows: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stores the exchanges of a batch: decides each (credits, quota) in order, then writes the
/// counters, the new conversations, all messages and the webhook events.
async fn store_exchanges(
    store: &Store,
    tx: &mut AnyConnection,
    exchanges: &[(usize, &ExchangeJob)],
) -> Result<Vec<(usize, ExchangeOutcome)>, StoreError> {
    let now = now_ms();
    let month = dates::month_start_ms(now);
    let postgres = store.inner.backend == Backend::Postgres;

    // The bots' limits, and on PostgreSQL their hot rows locked, in bot-id order.
    let mut bot_ids: Vec<&str> = exchanges.iter().map(|(_, e)| e.bot_id.as_str()).collect();
    bot_ids.sort_unstable();
    bot_ids.dedup();
    let listed = padded(&bot_ids);
    // With each bot, whether it has webhook endpoints (its events are queued below).
    let sql = format!(
        "SELECT id, credits, monthly_quota,
                CAST(CASE WHEN EXISTS (SELECT 1 FROM webhooks w WHERE w.bot_id = bots.id)
                          THEN 1 ELSE 0 END AS BIGINT) AS hooked
         FROM bots WHERE id IN ({})",
        placeholders(1, listed.len())
    );
    let rows = listed
        .iter()
        .fold(sqlx::query(&sql), |query, id| query.bind(*id))
        .fetch_all(&mut *tx)
        .await?;
    let mut limits: HashMap<String, Limits> = HashMap::new();
    let mut hooked: HashSet<String> = HashSet::new();
    for row in &rows {
        if row.try_get::<i64, _>("hooked")? != 0 {
            hooked.insert(row.try_get("id")?);
        }
        limits.insert(
            row.try_get("id")?,
            Limits {
                credits: row.try_get("credits")?,
                quota: row.try_get("monthly_quota")?,
                replies: 0,
                pending: 0,
                spent: 0,
                admitted: 0,
            },
        );
    }
    for id in &bot_ids {
        let Some(bot) = limits.get_mut(*id) else {
            continue;
        };
        if bot.credits.is_some() && postgres {
            // The committed count, locked until this batch commits.
            bot.credits = sqlx::query_scalar("SELECT credits FROM bots WHERE id = $1 FOR UPDATE")
                .bind(*id)
                .fetch_one(&mut *tx)
                .await?;
        }
        if bot.quota.is_some() {
            // The month's row, locked until this batch commits (PostgreSQL; SQLite holds the
            // write lock already). Locking reads writes no new row version; only the first
            // batch of a month creates the row.
            let locked = sqlx::query(if postgres {
                "SELECT replies, pending FROM monthly_usage
                 WHERE bot_id = $1 AND month = $2 FOR UPDATE"
            } else {
                "SELECT replies, pending FROM monthly_usage WHERE bot_id = $1 AND month = $2"
            })
            .bind(*id)
            .bind(month)
            .fetch_optional(&mut *tx)
            .await?;
            let usage = match locked {
                Some(usage) => usage,
                None => {
                    sqlx::query(
                        "INSERT INTO monthly_usage (bot_id, month, replies, pending)
                         VALUES ($1, $2, 0, 0)
                         ON CONFLICT (bot_id, month) DO UPDATE SET replies = monthly_usage.replies
                         RETURNING replies, pending",
                    )
                    .bind(*id)
                    .bind(month)
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            bot.replies = usage.try_get("replies")?;
            bot.pending = usage.try_get("pending")?;
        }
    }

    // Each exchange in the order it came.
    let mut outcomes = Vec::with_capacity(exchanges.len());
    let mut admitted: Vec<(usize, &ExchangeJob, Option<i64>)> = Vec::new();
    for &(i, job) in exchanges {
        let Some(bot) = limits.get_mut(&job.bot_id) else {
            outcomes.push((i, Outcome::NoCredits));
            continue;
        };
        if bot.credits.is_some_and(|credits| credits - bot.spent <= 0) {
            outcomes.push((i, Outcome::NoCredits));
            continue;
        }
        if bot
            .quota
            .is_some_and(|quota| bot.replies + bot.pending >= quota)
        {
            outcomes.push((i, Outcome::QuotaExceeded));
            continue;
        }
        if bot.credits.is_some() {
            bot.spent += 1;
        }
        bot.admitted += 1;
        bot.replies += 1;
        // The quota warning goes with the reply that reaches its share.
        let warning_at = bot
            .quota
            .filter(|_| job.reply_complete)
            .map(|_| bot.replies);
        admitted.push((i, job, warning_at));
    }
    if admitted.is_empty() {
        return Ok(outcomes);
    }

    // The counters, once per bot.
    for id in &bot_ids {
        let Some(bot) = limits.get(*id) else { continue };
        if bot.spent > 0 {
            sqlx::query("UPDATE bots SET credits = credits - $2 WHERE id = $1")
                .bind(*id)
                .bind(bot.spent)
                .execute(&mut *tx)
                .await?;
        }
        if bot.admitted > 0 {
            add_usage(tx, id, month, bot.admitted).await?;
        }
    }

    // The conversations: the requested one if it is the bot's, else a new one.
    let requested: Vec<&str> = admitted
        .iter()
        .filter_map(|(_, job, _)| job.requested.as_deref())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut owners: HashMap<String, String> = HashMap::new();
    if !requested.is_empty() {
        let requested = padded(&requested);
        let sql = format!(
            "SELECT id, bot_id FROM conversations WHERE id IN ({})",
            placeholders(1, requested.len())
        );
        let query = sqlx::query(&sql);
        let rows = requested
            .iter()
            .fold(query, |query, id| query.bind(*id))
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            owners.insert(row.try_get("id")?, row.try_get("bot_id")?);
        }
    }
    struct Stored<'a> {
        index: usize,
        job: &'a ExchangeJob,
        warning_at: Option<i64>,
        conversation_id: String,
        new_conversation: bool,
        user_message_id: String,
        reply_message_id: String,
    }
    let mut stored = Vec::with_capacity(admitted.len());
    for (index, job, warning_at) in admitted {
        let existing = job
            .requested
            .as_deref()
            .filter(|id| owners.get(*id).is_some_and(|owner| *owner == job.bot_id));
        let (conversation_id, new_conversation) = match existing {
            Some(id) => (id.to_owned(), false),
            None => (ids::conversation_id()?, true),
        };
        stored.push(Stored {
            index,
            job,
            warning_at,
            conversation_id,
            new_conversation,
            user_message_id: ids::message_id()?,
            reply_message_id: ids::message_id()?,
        });
    }
    let new: Vec<&Stored> = stored.iter().filter(|s| s.new_conversation).collect();
    for run in runs(new.len()) {
        let sql = format!(
            "INSERT INTO conversations (id, bot_id, created_at) VALUES {}",
            value_rows(3, run.len())
        );
        let query = sqlx::query(&sql);
        new[run]
            .iter()
            .fold(query, |query, s| {
                query
                    .bind(s.conversation_id.as_str())
                    .bind(s.job.bot_id.as_str())
                    .bind(now)
            })
            .execute(&mut *tx)
            .await?;
    }

    // The messages in a few multi-row inserts, grouped by bot (the rollup triggers lock each
    // bot's day rows in one order), each question before its reply.
    let mut order: Vec<&Stored> = stored.iter().collect();
    order.sort_by(|a, b| a.job.bot_id.cmp(&b.job.bot_id));
    let instance = store.inner.instance.as_str();
    let keys: Vec<String> = order
        .iter()
        .map(|s| question_key(&s.job.user_text))
        .collect();
    for run in runs(order.len()) {
        let sql = format!(
        "INSERT INTO messages (id, bot_id, conversation_id, role, content, created_at, complete,
             actions, writer, question_key, response_ms)
         VALUES {}",
        value_rows(11, run.len() * 2)
    );
        let query =
            order[run.clone()]
                .iter()
                .zip(&keys[run])
                .fold(sqlx::query(&sql), |query, (s, key)| {
                    let job = s.job;
                    query
                        .bind(s.user_message_id.as_str())
                        .bind(job.bot_id.as_str())
                        .bind(s.conversation_id.as_str())
                        .bind(Role::User.as_str())
                        .bind(job.user_text.as_str())
                        .bind(now)
                        .bind(1_i64)
                        .bind(None::<&str>)
                        .bind(None::<&str>)
                        .bind(Some(key.as_str()))
                        .bind(None::<i64>)
                        .bind(s.reply_message_id.as_str())
                        .bind(job.bot_id.as_str())
                        .bind(s.conversation_id.as_str())
                        .bind(Role::Assistant.as_str())
                        .bind(job.reply_text.as_str())
                        .bind(now)
                        .bind(i64::from(job.reply_complete))
                        .bind(None::<&str>)
                        .bind((!job.reply_complete).then_some(instance))
                        .bind(None::<&str>)
                        .bind(Some(0_i64))
                });
        query.execute(&mut *tx).await?;
    }

    // The webhook events, in this transaction, for the bots that have endpoints.
    for s in stored.iter().filter(|s| hooked.contains(&s.job.bot_id)) {
        let job = s.job;
        let reply = job
            .reply_complete
            .then_some((s.reply_message_id.as_str(), job.reply_text.as_str()));
        let events = crate::webhooks::exchange_events(
            &job.bot_id,
            &s.conversation_id,
            s.new_conversation,
            (&s.user_message_id, &job.user_text),
            reply,
        );
        for (event, data) in events {
            crate::webhooks::queue_on(tx, &job.bot_id, event, data, now).await?;
        }
        let quota = limits.get(&job.bot_id).and_then(|bot| bot.quota);
        if let (Some(quota), Some(replies)) = (quota, s.warning_at) {
            if let Some(data) = crate::webhooks::quota_warning_data(&job.bot_id, quota, replies) {
                crate::webhooks::queue_on(tx, &job.bot_id, "quota.warning", data, now).await?;
            }
        }
    }

    outcomes.extend(stored.into_iter().map(|s| {
        (
            s.index,
            Outcome::Recorded(RecordedExchange {
                conversation_id: s.conversation_id,
                new_conversation: s.new_conversation,
                user_message_id: s.user_message_id,
                reply_message_id: s.reply_message_id,
                created_at: now,
            }),
        )
    }));
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_that_found_its_queue_empty_leaves_the_next_tasks_items_alone() {
        let queue = Queue::default();
        assert!(queue.push([1]), "the first push starts a task");
        let mut first = Running::new(&queue);
        assert_eq!(first.take(8), Some(vec![1]));
        assert!(!queue.push([2]), "a task is running: it takes this too");
        assert_eq!(first.take(8), Some(vec![2]));
        assert_eq!(first.take(8), None);
        // Between the empty queue and the end of the first task, a push starts the next.
        assert!(queue.push([3]));
        drop(first);
        let mut next = Running::new(&queue);
        assert_eq!(
            next.take(8),
            Some(vec![3]),
            "not dropped by the task before"
        );
        assert!(!queue.push([4]), "still running");
        assert_eq!(next.take(8), Some(vec![4]));

        // A task that stops before the queue is empty (a panic, a shutdown) fails what is
        // queued and lets the next push start a new task.
        assert!(!queue.push([5]));
        drop(next);
        assert!(queue.push([6]));
        assert_eq!(Running::new(&queue).take(8), Some(vec![6]));
    }

    #[test]
    fn batches_of_any_size_use_a_few_statement_texts() {
        assert_eq!(padded(&["a", "b", "c"]), ["a", "b", "c", "c"]);
        assert_eq!(padded(&["a"]), ["a"]);
        assert!(padded(&[]).is_empty());
        let lengths = |n| runs(n).iter().map(|r| r.len()).collect::<Vec<_>>();
        assert_eq!(lengths(0), Vec::<usize>::new());
        assert_eq!(lengths(1), [1]);
        assert_eq!(lengths(13), [8, 4, 1]);
        assert_eq!(lengths(64), [32, 32]);
        assert_eq!(lengths(45), [32, 8, 4, 1]);
        assert_eq!(runs(13).last(), Some(&(12..13)));
    }
}
