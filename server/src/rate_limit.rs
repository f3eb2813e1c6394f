//! The per-bot rate limit: a fixed window (60 seconds unless the server is started with
//! `--rate-window-s`) counted in memory (it starts with the first request after the previous
//! one ended), and the `X-RateLimit-*` headers describing it. The limit itself is a bot
//! setting read from storage on every request, so changing it takes effect at once.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::http::HeaderValue;
use axum::response::{IntoResponseParts, ResponseParts};

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

#[derive(Debug, Clone, Copy)]
struct Window {
    start: u64,
    count: u32,
}

impl Window {
    fn status(self, limit: u32, length: u64) -> RateLimitStatus {
        RateLimitStatus {
            limit,
            remaining: limit.saturating_sub(self.count),
            reset_unix: self.start + length,
        }
    }
}

/// Counts requests per bot in windows of a fixed length. Only bots that exist are counted,
/// so the map stays as small as the bots table.
#[derive(Debug)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
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
            windows: Mutex::default(),
            window_secs: window_secs.max(1),
        }
    }

    /// How long a window lasts, in seconds.
    pub fn window_secs(&self) -> u64 {
        self.window_secs
    }

    /// Counts a request for `bot_id` at unix second `now`, if the limit allows it.
    pub fn check(&self, bot_id: &str, limit: u32, now: u64) -> Decision {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(bot_id.to_owned()).or_insert(Window {
            start: now,
            count: 0,
        });
        if now >= window.start + self.window_secs {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        if window.count >= limit {
            let status = window.status(limit, self.window_secs);
            return Decision::Limited {
                status,
                retry_after_s: status.reset_unix.saturating_sub(now).max(1),
            };
        }
        window.count += 1;
        Decision::Allowed(window.status(limit, self.window_secs))
    }

    /// The status for `bot_id` at `now` without counting a request (for refused requests).
    pub fn peek(&self, bot_id: &str, limit: u32, now: u64) -> RateLimitStatus {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        match windows.get(bot_id) {
            Some(window) if now < window.start + self.window_secs => {
                window.status(limit, self.window_secs)
            }
            _ => Window {
                start: now,
                count: 0,
            }
            .status(limit, self.window_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_the_limit_then_refuses_until_it_ends() {
        let limiter = RateLimiter::default();
        let t0 = 1_000_000;
        for used in 1..=3 {
            let expected = RateLimitStatus {
                limit: 3,
                remaining: 3 - used,
                reset_unix: t0 + 60,
            };
            assert_eq!(
                limiter.check("bot", 3, t0 + u64::from(used) - 1),
                Decision::Allowed(expected)
            );
        }
        let refused = limiter.check("bot", 3, t0 + 20);
        let status = RateLimitStatus {
            limit: 3,
            remaining: 0,
            reset_unix: t0 + 60,
        };
        assert_eq!(
            refused,
            Decision::Limited {
                status,
                retry_after_s: 40
            }
        );
        // Other bots have their own window.
        assert!(matches!(
            limiter.check("other", 3, t0 + 20),
            Decision::Allowed(_)
        ));
        // A new window starts once the old one is over.
        let after = limiter.check("bot", 3, t0 + 60);
        assert_eq!(
            after,
            Decision::Allowed(RateLimitStatus {
                limit: 3,
                remaining: 2,
                reset_unix: t0 + 120
            })
        );
    }

    #[test]
    fn peeking_counts_nothing_and_a_changed_limit_applies_at_once() {
        let limiter = RateLimiter::default();
        assert_eq!(
            limiter.peek("bot", 5, 100),
            RateLimitStatus {
                limit: 5,
                remaining: 5,
                reset_unix: 160
            }
        );
        assert!(matches!(limiter.check("bot", 5, 100), Decision::Allowed(_)));
        assert_eq!(limiter.peek("bot", 5, 110).remaining, 4);
        assert_eq!(limiter.peek("bot", 1, 110).remaining, 0);
        assert!(matches!(
            limiter.check("bot", 1, 110),
            Decision::Limited { .. }
        ));
        assert!(matches!(
            limiter.check("bot", 0, 500),
            Decision::Limited {
                retry_after_s: 60,
                ..
            }
        ));
    }

    #[test]
    fn a_shorter_window_ends_sooner() {
        let limiter = RateLimiter::new(3);
        assert_eq!(limiter.window_secs(), 3);
        assert!(matches!(limiter.check("bot", 1, 100), Decision::Allowed(_)));
        assert_eq!(
            limiter.check("bot", 1, 101),
            Decision::Limited {
                status: RateLimitStatus {
                    limit: 1,
                    remaining: 0,
                    reset_unix: 103
                },
                retry_after_s: 2
            }
        );
        assert_eq!(limiter.peek("bot", 1, 102).reset_unix, 103);
        assert_eq!(
            limiter.check("bot", 1, 103),
            Decision::Allowed(RateLimitStatus {
                limit: 1,
                remaining: 0,
                reset_unix: 106
            })
        );
        assert_eq!(
            RateLimiter::new(0).window_secs(),
            1,
            "never a window of no time"
        );
        assert_eq!(RateLimiter::default().window_secs(), DEFAULT_WINDOW_SECS);
    }
}
