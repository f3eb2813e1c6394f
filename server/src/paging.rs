//! Pages of a conversation's messages, for the reads that list them (jelytech history,
//! chataibot messages): `limit` (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]) and a
//! cursor, `before` or `after` a message id. Without a cursor a page is the latest messages
//! (what a reloaded widget restores); with `before`, the ones just older; with `after`, the
//! ones just newer. A page is always oldest first. Where there is more, the response says so
//! twice: a `Link` header (RFC 8288, relative to the request's own URL, so a path prefix
//! added by a proxy still works) with `rel="prev"` for older messages and `rel="next"` for
//! newer ones, and one field added to the vendor's body in its own case (`"hasMore": true`,
//! `"has_more": true`, left out when false so the body stays the vendor's shape): more in the
//! page's direction, older for the latest page and `before`, newer for `after`.

use axum::http::HeaderValue;

use crate::access::query_param;
use crate::error::AppError;

/// Messages in a page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 50;

/// The most messages a page may have.
pub const MAX_LIMIT: u32 = 200;

/// Where a page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The latest messages.
    Latest,
    /// The messages just before this message id.
    Before(String),
    /// The messages just after this message id.
    After(String),
}

/// A page asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many messages.
    pub limit: u32,
    /// Where.
    pub cursor: Cursor,
}

impl PageRequest {
    /// The page a query string asks for; `after` may also come from elsewhere (chataibot's
    /// `Last-Event-ID`), given as `after_fallback`.
    pub fn from_query(query: &str, after_fallback: Option<String>) -> Result<Self, AppError> {
        let given = |name: &str| query_param(query, name).filter(|v| !v.trim().is_empty());
        let limit = match given("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(AppError::InvalidRequest(format!(
                        "\"limit\" must be a whole number from 1 to {MAX_LIMIT}, not {text:?}"
                    )))
                }
            },
        };
        let cursor = match (given("before"), given("after").or(after_fallback)) {
            (Some(_), Some(_)) => {
                return Err(AppError::InvalidRequest(
                    "Give \"before\" or \"after\", not both".to_owned(),
                ))
            }
            (Some(before), None) => Cursor::Before(before),
            (None, Some(after)) => Cursor::After(after),
            (None, None) => Cursor::Latest,
        };
        Ok(Self { limit, cursor })
    }
}

impl PageRequest {
    /// What the response says about a page of this request whose messages run from
    /// `first_id` to `last_id`: its `Link` header, and whether there is more in the page's
    /// direction (the body's `hasMore`).
    pub fn describe(
        &self,
        first_id: Option<&str>,
        older: bool,
        last_id: Option<&str>,
        newer: bool,
    ) -> (Option<HeaderValue>, bool) {
        let link = link_header("", self.limit, first_id, older, last_id, newer);
        let more = match self.cursor {
            Cursor::After(_) => newer,
            Cursor::Latest | Cursor::Before(_) => older,
        };
        (link, more)
    }
}

/// 400 for a `before` that is not a message of the conversation.
pub fn unknown_before() -> AppError {
    AppError::InvalidRequest(
        "\"before\" is not the id of a message of this conversation".to_owned(),
    )
}

/// The `Link` header of a page at `path` whose messages run from `first_id` to `last_id`:
/// `prev` when older messages exist, `next` when newer ones do.
pub fn link_header(
    path: &str,
    limit: u32,
    first_id: Option<&str>,
    older: bool,
    last_id: Option<&str>,
    newer: bool,
) -> Option<HeaderValue> {
    let mut links = Vec::new();
    if let (true, Some(first)) = (older, first_id) {
        links.push(format!(
            "<{path}?before={}&limit={limit}>; rel=\"prev\"",
            escape(first)
        ));
    }
    if let (true, Some(last)) = (newer, last_id) {
        links.push(format!(
            "<{path}?after={}&limit={limit}>; rel=\"next\"",
            escape(last)
        ));
    }
    (!links.is_empty())
        .then(|| HeaderValue::from_str(&links.join(", ")).ok())
        .flatten()
}

/// A message id in a query: ours are `msg_<hex>`; anything else is percent-encoded.
fn escape(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_has_a_limit_and_at_most_one_cursor() {
        assert_eq!(
            PageRequest::from_query("", None),
            Ok(PageRequest {
                limit: DEFAULT_LIMIT,
                cursor: Cursor::Latest
            })
        );
        assert_eq!(
            PageRequest::from_query("limit=20&before=msg_1", None),
            Ok(PageRequest {
                limit: 20,
                cursor: Cursor::Before("msg_1".into())
            })
        );
        assert_eq!(
            PageRequest::from_query("after=", Some("msg_9".into())).map(|p| p.cursor),
            Ok(Cursor::After("msg_9".into()))
        );
        for bad in [
            "limit=0",
            "limit=201",
            "limit=ten",
            "limit=-1",
            "before=a&after=b",
        ] {
            assert!(PageRequest::from_query(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_link_header_points_both_ways_when_there_is_more() {
        let both = link_header(
            "/v1/chat/history/c",
            2,
            Some("msg_a"),
            true,
            Some("msg b"),
            true,
        );
        assert_eq!(
            both.unwrap(),
            "</v1/chat/history/c?before=msg_a&limit=2>; rel=\"prev\", \
             </v1/chat/history/c?after=msg%20b&limit=2>; rel=\"next\""
        );
        assert_eq!(
            link_header("/p", 2, Some("a"), false, Some("b"), false),
            None
        );
        assert_eq!(link_header("/p", 2, None, true, None, true), None);
    }
}
