//! The connection loop the binary runs: hyper's HTTP/1 server under a cap on open connections.
//!
//! * At most [`ConnectionLimits::max_connections`] connections are open at once: the loop takes
//!   a permit before it accepts, so further clients wait in the kernel's listen queue instead
//!   of using up the file descriptors that the database, the widget's files and the log need
//!   ([`default_max_connections`] leaves that room under the process's limit).
//! * A connection must send a complete request head within
//!   [`ConnectionLimits::header_timeout`] of opening, and of the end of its previous response
//!   (hyper's `header_read_timeout`, which runs from the moment hyper waits for a head): so it
//!   bounds both a client that trickles its headers and an idle keep-alive connection. The
//!   body and the handler are bounded by the router's request timeout ([`crate::app`]).
//! * Each request carries the peer's address as axum's [`ConnectInfo`].
//! * On shutdown the loop stops accepting, lets the requests under way finish (for at most
//!   [`SHUTDOWN_GRACE`]) and closes idle connections at once.
//!
//! What this module does not do: TLS (put a proxy in front), HTTP/2.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long the requests under way may take to finish once shutdown has begun.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The default for [`ConnectionLimits::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// File descriptors kept free under the process's limit, at the least: the database and its
/// journal, the widget's files being sent, the log, the listening socket.
pub const RESERVED_FDS: u64 = 64;

/// The limits on connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The time a connection has to send a request's complete head, from its opening or from
    /// the end of its previous response (so also the idle keep-alive timeout).
    pub header_timeout: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
}

/// The connection cap that leaves room under a file-descriptor limit of `fd_limit`: a tenth of
/// it, and at least [`RESERVED_FDS`], stays free for everything else (never below 16).
pub fn default_max_connections(fd_limit: u64) -> usize {
    let reserve = (fd_limit / 10).max(RESERVED_FDS);
    usize::try_from(fd_limit.saturating_sub(reserve).max(16)).unwrap_or(usize::MAX)
}

/// Raises this process's soft limit on open files to its hard limit (as far as the system
/// lets it) and returns the soft limit in force afterwards.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read or raise the open-files limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then shuts down
/// gracefully (see the module documentation).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    // Out of file descriptors despite the cap, or the like: wait instead of
                    // spinning, as axum's own loop does.
                    tracing::error!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still under way after {}s of shutdown were cut",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    Ok(())
}

/// Errors that concern one connection only (the loop goes on at once).
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The peer of a request, when it came through [`serve`] (tests driving the router directly
/// have none unless they add [`ConnectInfo`] themselves).
pub fn peer(request_extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    request_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_room_under_the_fd_limit() {
        assert_eq!(default_max_connections(20_000), 18_000);
        assert_eq!(default_max_connections(1024), 922);
        assert_eq!(default_max_connections(256), 192);
        assert_eq!(
            default_max_connections(10),
            16,
            "never no connection at all"
        );
    }
}
