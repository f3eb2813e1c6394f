//! Rate limits: fixed windows (60 seconds unless the server is started with
//! `--rate-window-s`; a window starts with the first request after the previous one ended)
//! counted in the database per scope string (`bot:<id>`, `visitor:<hash>`,
//! `address:<hash>`, `keyfail:<addr>`, …), so every instance sharing the database counts in
//! the same window; and the `X-RateLimit-*` headers describing one. The limits themselves are
//! bot settings read from storage on every request, so changing one takes effect at once (an
//! address's is derived from them: [`address_limit`]). Ended windows are deleted in bounded
//! batches ([`RateLimiter::prune`]), whatever scopes clients make up.

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

/// How many visitors' worth of requests one client address may send a bot per window (with
/// one key), whatever conversation or visitor ids it sends them with: [`address_limit`].
///
/// Visitor ids come from the client, so without a limit per address one client inventing a
/// new id per request would get a fresh visitor's budget each time and could spend the whole
/// bot's (and the operator's AI-model money), leaving every real visitor with 429 until the
/// window ends. Ten visitors' worth, because one address is often many people: an office,
/// a school or a mobile carrier's NAT, several tabs each in its own conversation.
pub const VISITORS_PER_ADDRESS: u32 = 10;

/// The requests one address may send a bot per window: [`VISITORS_PER_ADDRESS`] times the
/// bot's visitor limit, at most the bot's own limit, and never less than the visitor limit
/// (one visitor always fits). Derived from the bot's two settings, so nothing stores it.
pub fn address_limit(visitor_limit: u32, bot_limit: u32) -> u32 {
    visitor_limit
        .saturating_mul(VISITORS_PER_ADDRESS)
        .min(bot_limit)
        .max(visitor_limit)
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

    /// Counts a request against its `windows`, the narrowest first (a visitor's, its
    /// address's, the bot's), in one store call. Every window but the first guards: nothing is
    /// counted while one of them is used up already, so a narrower window is only made while
    /// the wider ones have room. Otherwise each is counted in order up to the first that
    /// refuses: a narrower window's refusal spends none of the wider ones'. So whatever ids
    /// and addresses clients use, a new window is made only with a request the bot's own
    /// window counts: a bot's visitors and addresses hold at most about twice its limit in
    /// windows. A window whose limit is 0 refuses before anything is counted (a window made
    /// per made-up id that refuses at once would be bounded by nothing). Refused: the window
    /// that refused; allowed: the tightest ([`tightest`]).
    pub async fn check_windows(
        &self,
        store: &Store,
        windows: &[(&str, u32)],
        now: u64,
    ) -> Result<Decision, StoreError> {
        let limited = |status: RateLimitStatus| Decision::Limited {
            status,
            retry_after_s: status.reset_unix.saturating_sub(now).max(1),
        };
        if windows.iter().any(|(_, limit)| *limit == 0) {
            return Ok(limited(self.status(0, now, 0)));
        }
        let guards = windows.get(1..).unwrap_or_default();
        let hits = store
            .hit_rate_windows(guards, windows, self.window_secs, now)
            .await?;
        Ok(match hits {
            RateHits::Full {
                guard,
                window: (start, hits),
            } => {
                let limit = guards.get(guard).map_or(0, |(_, limit)| *limit);
                limited(self.status(limit, start, hits))
            }
            RateHits::Counted(counted) => {
                let counted: Vec<(RateLimitStatus, bool)> = windows
                    .iter()
                    .zip(counted)
                    .map(|((_, limit), (start, hits))| {
                        (self.status(*limit, start, hits), hits > *limit)
                    })
                    .collect();
                if let Some((refused, _)) = counted.iter().find(|(_, over)| *over) {
                    return Ok(limited(*refused));
                }
                match tightest(counted.into_iter().map(|(status, _)| status)) {
                    Some(status) => Decision::Allowed(status),
                    None => {
                        let limit = windows.last().map_or(0, |(_, limit)| *limit);
                        limited(self.status(limit, now, limit))
                    }
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

    /// The tightest of the statuses of `windows` (scopes and their limits) at `now`, without
    /// counting (one read); a fresh window of no requests when `windows` is empty.
    pub async fn peek_windows(
        &self,
        store: &Store,
        windows: &[(&str, u32)],
        now: u64,
    ) -> Result<RateLimitStatus, StoreError> {
        let scopes: Vec<&str> = windows.iter().map(|(scope, _)| *scope).collect();
        let found = store.peek_rate_windows(&scopes, now).await?;
        let statuses = windows
            .iter()
            .zip(found)
            .map(|((_, limit), window)| self.window_status(*limit, window, now));
        Ok(tightest(statuses).unwrap_or_else(|| self.status(0, now, 0)))
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

/// Of some windows, the one the caller is closest to the end of ([`tighter`]); `None` for none.
pub fn tightest(statuses: impl IntoIterator<Item = RateLimitStatus>) -> Option<RateLimitStatus> {
    statuses.into_iter().reduce(tighter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_ten_visitors_worth_within_the_bots_limit() {
        assert_eq!(VISITORS_PER_ADDRESS, 10);
        assert_eq!(address_limit(30, 600), 300, "the defaults");
        assert_eq!(address_limit(2, 100), 20);
        assert_eq!(address_limit(30, 100), 100, "never above the bot's");
        assert_eq!(address_limit(200, 100), 200, "never under a visitor's");
        assert_eq!(address_limit(u32::MAX, u32::MAX), u32::MAX);
        assert_eq!(address_limit(0, 600), 0);
    }

    #[test]
    fn the_tightest_window_has_the_fewest_requests_left_then_the_smallest_limit() {
        let status = |limit, remaining| RateLimitStatus {
            limit,
            remaining,
            reset_unix: 60,
        };
        let windows = [status(30, 29), status(300, 1), status(600, 1)];
        assert_eq!(tightest(windows), Some(status(300, 1)));
        assert_eq!(tightest([status(2, 1), status(20, 1)]), Some(status(2, 1)));
        assert_eq!(tightest([]), None);
    }
}
