//! Rate limits: fixed windows (60 seconds unless the server is started with
//! `--rate-window-s`; a window starts with the first request after the previous one ended)
//! counted in the database per scope string (`bot:<id>` today; `visitor:<hash>`, `ip:<addr>`
//! fit the same table), so every instance sharing the database counts in the same window;
//! and the `X-RateLimit-*` headers describing one. The limit itself is a bot setting read
//! from storage on every request, so changing it takes effect at once. Ended windows are
//! deleted in bounded batches ([`RateLimiter::prune`]), whatever scopes clients make up.

use axum::http::HeaderValue;
use axum::response::{IntoResponseParts, ResponseParts};

use crate::store::{RateHits, Store, StoreError};

/// The window length unless the server says otherwise ([`RateLimiter::new`]).
pub const DEFAULT_WINDOW_SECS: u64 = 60;

/// What the `X-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Unix seconds when the current window ends.
    pub reset_unix: u64,
}

impl IntoResponseParts for RateLimitStatus {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        let headers = res.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_unix));
        Ok(res)
    }
}

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Counted; the status after counting it.
    Allowed(RateLimitStatus),
    /// Over the limit; wait `retry_after_s` seconds (at least 1).
    Limited {
        /// The status (nothing remaining).
        status: RateLimitStatus,
        /// Seconds until the window ends.
        retry_after_s: u64,
    },
}

/// The scope of a bot's own limit.
pub fn bot_scope(bot_id: &str) -> String {
    format!("bot:{bot_id}")
}

/// Counts requests per scope in windows of a fixed length, in the database.
#[derive(Debug, Clone, Copy)]
pub struct RateLimiter {
    window_secs: u64,
}

impl Default for RateLimiter {
    /// Windows of [`DEFAULT_WINDOW_SECS`].
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW_SECS)
    }
}

impl RateLimiter {
    /// A limiter whose windows last `window_secs` seconds (at least 1).
    pub fn new(window_secs: u64) -> Self {
        Self {
            window_secs: window_secs.max(1),
        }
    }

    /// How long a window lasts, in seconds.
    pub fn window_secs(&self) -> u64 {
        self.window_secs
    }

    /// The status of a window read from the store (`None`: no window open at `now`).
    pub fn window_status(
        &self,
        limit: u32,
        window: Option<(u64, u32)>,
        now: u64,
    ) -> RateLimitStatus {
        match window {
            Some((start, hits)) => self.status(limit, start, hits),
            None => self.status(limit, now, 0),
        }
    }

    fn status(&self, limit: u32, start: u64, hits: u32) -> RateLimitStatus {
        RateLimitStatus {
            limit,
            remaining: limit.saturating_sub(hits),
            reset_unix: start + self.window_secs,
        }
    }

    /// Counts a request for `scope` at unix second `now`, if the limit allows it.
    pub async fn check(
        &self,
        store: &Store,
        scope: &str,
        limit: u32,
        now: u64,
    ) -> Result<Decision, StoreError> {
        let (start, hits) = store
            .hit_rate_window(scope, limit, self.window_secs, now)
            .await?;
        let status = self.status(limit, start, hits);
        Ok(if hits > limit {
            Decision::Limited {
                status,
                retry_after_s: status.reset_unix.saturating_sub(now).max(1),
            }
        } else {
            Decision::Allowed(status)
        })
    }

    /// Counts a request against the visitor's window and then the bot's, in one store call:
    /// nothing when the bot's window is used up already (so a bot's visitor windows number at
    /// most its own limit per window, whatever ids clients invent), and not the bot's when
    /// the visitor's refuses. Allowed: the tighter of the two statuses.
    pub async fn check_visitor_and_bot(
        &self,
        store: &Store,
        visitor: (&str, u32),
        bot: (&str, u32),
        now: u64,
    ) -> Result<Decision, StoreError> {
        let limited = |status: RateLimitStatus| Decision::Limited {
            status,
            retry_after_s: status.reset_unix.saturating_sub(now).max(1),
        };
        let hits = store
            .hit_rate_windows(&[bot], &[visitor, bot], self.window_secs, now)
            .await?;
        Ok(match hits {
            RateHits::Full {
                window: (start, hits),
                ..
            } => limited(self.status(bot.1, start, hits)),
            RateHits::Counted(counted) => {
                let mut allowed: Option<RateLimitStatus> = None;
                for ((_, limit), (start, hits)) in [visitor, bot].into_iter().zip(counted) {
                    let status = self.status(limit, start, hits);
                    if hits > limit {
                        return Ok(limited(status));
                    }
                    allowed = Some(allowed.map_or(status, |other| tighter(other, status)));
                }
                match allowed {
                    Some(status) => Decision::Allowed(status),
                    None => limited(self.status(bot.1, now, bot.1)),
                }
            }
        })
    }

    /// The status for `scope` at `now` without counting a request (for refused requests).
    pub async fn peek(
        &self,
        store: &Store,
        scope: &str,
        limit: u32,
        now: u64,
    ) -> Result<RateLimitStatus, StoreError> {
        Ok(self.window_status(limit, store.peek_rate_window(scope, now).await?, now))
    }

    /// The tighter of the statuses of two scopes at `now`, without counting (one read).
    pub async fn peek_both(
        &self,
        store: &Store,
        first: (&str, u32),
        second: (&str, u32),
        now: u64,
    ) -> Result<RateLimitStatus, StoreError> {
        let windows = store.peek_rate_windows(&[first.0, second.0], now).await?;
        Ok(tighter(
            self.window_status(first.1, windows.first().copied().flatten(), now),
            self.window_status(second.1, windows.get(1).copied().flatten(), now),
        ))
    }

    /// Deletes up to `batch` windows that have ended by `now`; returns how many.
    pub async fn prune(&self, store: &Store, now: u64, batch: u32) -> Result<u64, StoreError> {
        store.prune_rate_windows(now, batch).await
    }
}

/// Of two windows, the one the caller is closer to the end of (fewer requests left; then the
/// smaller limit).
pub fn tighter(a: RateLimitStatus, b: RateLimitStatus) -> RateLimitStatus {
    if (b.remaining, b.limit) < (a.remaining, a.limit) {
        b
    } else {
        a
    }
}
