//! Who is calling, for the rate limits: the client's IP address ([`Caller`], an extractor) and
//! the scopes the limits count in ([`visitor_scope`], [`address_scope`], [`ip_scope`]).
//!
//! * The IP is the TCP peer's. Behind a reverse proxy (`--trust-forwarded-for`), it is the
//!   last address in `X-Forwarded-For`, the one the proxy itself appended; earlier entries
//!   are whatever the client claimed and are ignored. An IPv6 address counts by its /64
//!   prefix, since one host commonly holds a whole /64.
//! * A visitor is the key, plus the conversation or visitor id where the dialect has one, plus
//!   the IP. Its scope is a fixed-length hash of the three, so a made-up id of any length
//!   costs one short row, and the key itself is never stored in a scope.
//! * An address is the key plus the IP, whatever ids its requests carry (every visitor a
//!   client there claims to be counts in it): a hash of the two, likewise.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::AppState;

/// The header a reverse proxy appends the client's address to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client's address as the limits count it: an IPv4 address, an IPv6 /64 prefix
    /// (`2001:db8:1:2::/64`), or `unknown` when the request came without a peer (tests that
    /// drive the router directly).
    pub ip: String,
}

impl Caller {
    /// The caller of a request from `peer` with `headers`, trusting `X-Forwarded-For` or not.
    pub fn of(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded_for: bool) -> Self {
        let forwarded = trust_forwarded_for
            .then(|| last_forwarded_for(headers))
            .flatten();
        let ip = forwarded.or(peer.map(|peer| peer.ip()));
        Self {
            ip: ip.map_or_else(|| "unknown".to_owned(), counted_as),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer);
        let trusted = state.trusts_forwarded_for();
        if !trusted {
            warn_of_an_untrusted_proxy(&parts.headers, peer);
        }
        Ok(Self::of(&parts.headers, peer, trusted))
    }
}

/// Says once, in the log, that the server seems to run behind a reverse proxy it was not told
/// to trust: a request from a loopback or private address carries `X-Forwarded-For`. Every
/// client then counts as the proxy's one address, and the address's rate limit
/// ([`crate::rate_limit::address_limit`]) becomes the whole bot's. (Only a warning: a client
/// can send the header itself.)
fn warn_of_an_untrusted_proxy(headers: &HeaderMap, peer: Option<SocketAddr>) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    if looks_forwarded(headers, peer) {
        WARNED.call_once(|| {
            tracing::warn!(
                proxy = %peer.map_or_else(String::new, |peer| peer.ip().to_string()),
                "requests come through a proxy (X-Forwarded-For) that --trust-forwarded-for does \
                 not trust: every client counts as the proxy's one address for the rate limits"
            );
        });
    }
}

/// Whether a request seems to come through a reverse proxy: from a loopback or private
/// address, with `X-Forwarded-For`.
fn looks_forwarded(headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
    let nearby = peer.is_some_and(|peer| match peer.ip() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local(),
    });
    nearby && headers.contains_key(FORWARDED_FOR)
}

/// The last valid address of the last `X-Forwarded-For` header.
fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get_all(FORWARDED_FOR).iter().next_back()?;
    let last = value.to_str().ok()?.rsplit(',').next()?.trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// An address as the limits count it (see [`Caller::ip`]).
fn counted_as(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// The rate-limit scope of a visitor: `visitor:` and 32 hex digits of a SHA-256 of the key,
/// the conversation or visitor id (if any) and the caller's address.
pub fn visitor_scope(key: &str, visitor_id: Option<&str>, caller: &Caller) -> String {
    hashed_scope("visitor", &[key, visitor_id.unwrap_or(""), &caller.ip])
}

/// The rate-limit scope of the caller's address for a key: `address:` and 32 hex digits of a
/// SHA-256 of the key and the caller's address.
pub fn address_scope(key: &str, caller: &Caller) -> String {
    hashed_scope("address", &[key, &caller.ip])
}

/// `kind:` and 32 hex digits of a SHA-256 of `parts`, each after its length (so no part can
/// pass for the end of the one before it).
fn hashed_scope(kind: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

/// The rate-limit scope of failed key attempts from the caller's address.
pub fn ip_scope(caller: &Caller) -> String {
    format!("keyfail:{}", caller.ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn peer(addr: &str) -> Option<SocketAddr> {
        Some(addr.parse().unwrap())
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_peer_counts_unless_a_proxy_is_trusted() {
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            Caller::of(&headers, peer("10.0.0.2:5000"), false).ip,
            "10.0.0.2"
        );
        assert_eq!(
            Caller::of(&headers, peer("10.0.0.2:5000"), true).ip,
            "203.0.113.9"
        );
        // What a client wrote before the proxy's own entry is ignored.
        let spoofed = forwarded(&["1.1.1.1, 198.51.100.7", "9.9.9.9,203.0.113.4"]);
        assert_eq!(
            Caller::of(&spoofed, peer("10.0.0.2:1"), true).ip,
            "203.0.113.4"
        );
        // Garbage falls back to the peer.
        let garbage = forwarded(&["not an address"]);
        assert_eq!(
            Caller::of(&garbage, peer("10.0.0.2:1"), true).ip,
            "10.0.0.2"
        );
        assert_eq!(Caller::of(&HeaderMap::new(), None, true).ip, "unknown");
    }

    #[test]
    fn ipv6_counts_by_its_64_prefix() {
        let a = Caller::of(&HeaderMap::new(), peer("[2001:db8:1:2:aaaa::1]:80"), false);
        let b = Caller::of(&HeaderMap::new(), peer("[2001:db8:1:2:bbbb::9]:80"), false);
        assert_eq!(a.ip, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        let mapped = Caller::of(&HeaderMap::new(), peer("[::ffff:192.0.2.1]:80"), false);
        assert_eq!(mapped.ip, "192.0.2.1");
    }

    #[test]
    fn a_visitor_is_the_key_the_id_and_the_address_in_a_short_scope() {
        let here = Caller {
            ip: "192.0.2.1".into(),
        };
        let there = Caller {
            ip: "192.0.2.2".into(),
        };
        let scope = visitor_scope("pk_live_1", Some("conv_1"), &here);
        assert_eq!(scope.len(), "visitor:".len() + 32);
        assert!(!scope.contains("pk_live"));
        assert_eq!(scope, visitor_scope("pk_live_1", Some("conv_1"), &here));
        for other in [
            visitor_scope("pk_live_2", Some("conv_1"), &here),
            visitor_scope("pk_live_1", Some("conv_2"), &here),
            visitor_scope("pk_live_1", None, &here),
            visitor_scope("pk_live_1", Some("conv_1"), &there),
            // No ambiguity where one part ends and the next begins.
            visitor_scope("pk_live_1c", Some("onv_1"), &here),
        ] {
            assert_ne!(scope, other);
        }
        let long = "x".repeat(100_000);
        assert_eq!(visitor_scope(&long, Some(&long), &here).len(), scope.len());
        assert_eq!(ip_scope(&here), "keyfail:192.0.2.1");
    }

    #[test]
    fn a_request_through_a_nearby_proxy_is_told_from_a_client_that_sends_the_header() {
        let through = forwarded(&["203.0.113.9"]);
        assert!(looks_forwarded(&through, peer("127.0.0.1:4000")));
        assert!(looks_forwarded(&through, peer("10.0.0.2:4000")));
        assert!(looks_forwarded(&through, peer("[fd00::2]:4000")));
        // A client on the internet that sends the header itself, or a proxy that adds none.
        assert!(!looks_forwarded(&through, peer("198.51.100.7:4000")));
        assert!(!looks_forwarded(&HeaderMap::new(), peer("127.0.0.1:4000")));
        assert!(!looks_forwarded(&through, None));
    }

    #[test]
    fn an_address_is_the_key_and_the_address_whatever_the_id() {
        let here = Caller {
            ip: "192.0.2.1".into(),
        };
        let there = Caller {
            ip: "192.0.2.2".into(),
        };
        let scope = address_scope("pk_live_1", &here);
        assert!(scope.starts_with("address:"), "{scope}");
        assert_eq!(scope.len(), "address:".len() + 32);
        assert!(!scope.contains("pk_live") && !scope.contains("192.0.2"));
        assert_eq!(scope, address_scope("pk_live_1", &here));
        assert_ne!(scope, address_scope("pk_live_2", &here));
        assert_ne!(scope, address_scope("pk_live_1", &there));
        // Not the scope of any of its visitors, not even one without an id.
        assert_ne!(scope[8..], visitor_scope("pk_live_1", None, &here)[8..]);
    }
}
