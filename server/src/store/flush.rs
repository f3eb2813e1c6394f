//! SQLite's flush, taken off the writer. The group commit ([`super::group`]) commits a batch
//! of exchanges with `synchronous = NORMAL`: SQLite appends the batch to its write-ahead log
//! (the `-wal` file next to the database) and returns without waiting for the disk, and the
//! writer goes on with the next batch at once. The batch's requests are answered here, once
//! this task has flushed the log (`fdatasync`): one flush answers every batch committed
//! before it began, and while it runs the next batches commit, for the flush after it. The
//! one writer's time goes to writing and the disk's to flushing, side by side, where with
//! `synchronous = FULL` each commit waited for its own flush while holding the writer.
//!
//! Why an answered exchange is as durable as with `synchronous = FULL`:
//! * A commit appends frames to the log. After a power cut, SQLite replays the log's frames
//!   in order up to the first one that does not check out, so a flushed batch survives, and
//!   a batch never survives without the ones committed before it.
//! * When the log starts over after a checkpoint, or goes when the last connection closes,
//!   the frames it drops are in the database file already, which SQLite flushes at the end
//!   of every checkpoint (with `NORMAL` too). So a log that is gone when we look needs no
//!   flush.
//! * A log file that is new since the last flush also gets its directory flushed, so the file
//!   itself survives, as SQLite does for the logs it flushes itself.
//!
//! Other connections can read a batch in the few milliseconds before its flush: the webhook
//! worker, for one, could deliver an event whose message a power cut then takes back.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::group::{Done, Job, Queue, Running};
use super::{Store, StoreError};

/// A job with what its batch made of it, to send once the log is flushed.
pub(super) type Answer = (Job, Result<Done, StoreError>);

/// The answers waiting for the next flush.
#[derive(Default)]
pub(super) struct Flush {
    queue: Queue<Answer>,
    /// The log file flushed last (device and inode), to notice a new one.
    log: Mutex<Option<(u64, u64)>>,
}

/// Sends `answers` once everything committed so far is on disk.
pub(super) fn answer_after_flush(store: &Store, answers: Vec<Answer>) {
    if store.inner.flush.queue.push(answers) {
        tokio::spawn(run(store.clone()));
    }
}

async fn run(store: Store) {
    let flush = &store.inner.flush;
    let mut running = Running::new(&flush.queue);
    let log = store.path().map(log_path);
    while let Some(answers) = running.take(usize::MAX) {
        let failed = match log.clone() {
            Some(log) => {
                let known = *flush.log.lock().unwrap_or_else(PoisonError::into_inner);
                let flushed = tokio::task::spawn_blocking(move || flush_log(&log, known)).await;
                match flushed {
                    Ok(Ok(now)) => {
                        *flush.log.lock().unwrap_or_else(PoisonError::into_inner) = now;
                        None
                    }
                    Ok(Err(err)) => Some(err),
                    Err(err) => Some(io::Error::other(err)),
                }
            }
            // Not a file (never on SQLite): nothing to flush.
            None => None,
        };
        if let Some(err) = &failed {
            tracing::error!(error = %err, "flushing the database's log failed; the requests it would have answered get an error");
        }
        for (job, result) in answers {
            let result = match (&failed, result) {
                (Some(err), Ok(_)) => Err(StoreError::Io(
                    log.clone().unwrap_or_default(),
                    io::Error::new(err.kind(), err.to_string()),
                )),
                (_, result) => result,
            };
            job.answer(result);
        }
    }
}

/// The write-ahead log of the database at `database`.
fn log_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Flushes the log at `log` and, when it is another file than `known` (device and inode),
/// its directory too. Returns the file flushed (`known` when there was none: a log that is
/// gone was checkpointed into the database file, and flushed there).
fn flush_log(log: &Path, known: Option<(u64, u64)>) -> io::Result<Option<(u64, u64)>> {
    let file = match std::fs::File::open(log) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(known),
        Err(err) => return Err(err),
    };
    file.sync_data()?;
    let id = file_id(&file.metadata()?);
    if id.is_some() && id != known {
        if let Some(dir) = log.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            sync_dir(dir)?;
        }
    }
    Ok(id.or(known))
}

#[cfg(unix)]
fn file_id(metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_the_database_path_with_wal_appended() {
        assert_eq!(
            log_path(Path::new("/srv/data/chat.sqlite3")),
            PathBuf::from("/srv/data/chat.sqlite3-wal")
        );
    }

    #[test]
    fn a_missing_log_needs_no_flush_and_a_new_one_is_noticed() {
        let dir = std::env::temp_dir().join(format!("flush-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let log = dir.join("db-wal");
        let _ = std::fs::remove_file(&log);
        assert_eq!(flush_log(&log, None).expect("no log"), None);
        assert_eq!(flush_log(&log, Some((1, 2))).expect("no log"), Some((1, 2)));

        std::fs::write(&log, b"frames").expect("log");
        let first = flush_log(&log, None).expect("flushed");
        assert!(cfg!(not(unix)) || first.is_some(), "{first:?}");
        assert_eq!(flush_log(&log, first).expect("again"), first);

        // The log starts over as a new file (the last connection closed and one opened);
        // the old file is kept so that the new one cannot get its inode.
        std::fs::rename(&log, dir.join("old-wal")).expect("rename");
        std::fs::write(&log, b"frames").expect("new log");
        let second = flush_log(&log, first).expect("flushed");
        assert!(cfg!(not(unix)) || second != first, "{first:?} {second:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
