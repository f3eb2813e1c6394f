//! Shared by the server's test binaries: where a test's data lives. With
//! `CHAT_TEST_DATABASE_URL=postgres://user@host:port/db` (scripts/test.sh sets it for its
//! PostgreSQL run) each test gets a fresh PostgreSQL database of its own on that server;
//! without it, SQLite in the test's data directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chat_widget_server::store::StoreOptions;
use chat_widget_server::{ids, AppState, Store};
use sqlx::Connection;

/// The PostgreSQL server the tests run against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("CHAT_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_database(server_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("t_{}", ids::random_hex(16).expect("random"));
    let mut admin = sqlx::AnyConnection::connect(server_url)
        .await
        .expect("connect to CHAT_TEST_DATABASE_URL");
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.expect("close");
    let base = server_url
        .rsplit_once('/')
        .map_or(server_url, |(base, _)| base);
    format!("{base}/{name}")
}

/// The PostgreSQL database that stands for `data_dir` (made on first use, the same one
/// afterwards, so a test can "restart" on the same data), when the tests run against
/// PostgreSQL.
pub async fn database_for(data_dir: &Path) -> Option<String> {
    static DATABASES: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    let server = postgres_url()?;
    let known = DATABASES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(dir, _)| dir == data_dir)
        .map(|(_, url)| url.clone());
    if known.is_some() {
        return known;
    }
    let url = fresh_database(&server).await;
    DATABASES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((data_dir.to_owned(), url.clone()));
    Some(url)
}

/// The store of a test's data: SQLite in `data_dir`, or its PostgreSQL database
/// ([`database_for`]).
pub async fn store(data_dir: &Path) -> Store {
    match database_for(data_dir).await {
        Some(url) => {
            let options = StoreOptions {
                max_connections: Some(4),
            };
            Store::connect(&url, &options).await.expect("connect")
        }
        None => Store::open(data_dir).await.expect("open data dir"),
    }
}

/// A state over [`store`].
pub async fn state(data_dir: &Path, dist_dir: &Path, listen_addr: &str) -> AppState {
    AppState::new(store(data_dir).await, dist_dir, listen_addr)
}

/// The extra arguments that point a server binary at the data of `data_dir`: none for
/// SQLite (its `--data-dir` is given anyway), `--database-url` for PostgreSQL.
pub fn database_args(data_dir: &Path) -> Vec<String> {
    postgres_url().map_or_else(Vec::new, |_| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let url = runtime
            .block_on(database_for(data_dir))
            .expect("a database");
        vec!["--database-url".to_owned(), url]
    })
}

/// Waits (up to 20 s, checking every 20 ms) until `check` is true; panics with `what`
/// otherwise. For effects that a dropped stream leaves to a task.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("never happened: {what}");
}

/// A data directory of its own under the system temp dir (created empty), removed when
/// dropped. `label` names the test binary or the test in the directory's name.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "chat-widget-server-{label}-{}-{}",
            std::process::id(),
            ids::random_hex(8).expect("random")
        ));
        std::fs::create_dir_all(&path).expect("create the test's data directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends a request to the app with this state (no socket) and reads the whole response: the
/// status, the headers and the body's bytes.
pub async fn send_to(
    state: &AppState,
    request: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = chat_widget_server::app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, body.to_vec())
}
