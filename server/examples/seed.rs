//! Seeds a server's database with many stored messages, fast (one SQL statement, not HTTP),
//! for `bench/server.mjs`.
//!
//! ```sh
//! seed create-db postgres://user@host:port/postgres NAME   # prints the new database's URL
//! seed messages (--data-dir DIR | --database-url URL) COUNT [--legacy]
//! ```
//!
//! `messages` adds COUNT messages to the demo bot: exchanges of a visitor question (one of
//! 1,000 wordings) and an answer, 10 exchanges per conversation, spread over the 30 days
//! before now, then rebuilds the analytics rollups and the month's usage counter. `--legacy`
//! writes the schema of the server before sqlx (a SQLite data directory that server made).

use std::path::PathBuf;

use chat_widget_server::store::{self, Backend, Store, StoreOptions};
use sqlx::Connection;

const ANSWER: &str = "You can track your order under **Account → Orders**. Orders ship within \
one business day; the tracking link arrives by email as soon as the parcel leaves our warehouse.";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    match args.first().map(String::as_str) {
        Some("create-db") if args.len() == 3 => runtime.block_on(create_db(&args[1], &args[2])),
        Some("messages") => runtime.block_on(messages(&args[1..])),
        _ => Err("usage: seed create-db SERVER_URL NAME | seed messages (--data-dir DIR | --database-url URL) COUNT [--legacy]".into()),
    }
}

async fn create_db(server: &str, name: &str) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    println!("{base}/{name}");
    Ok(())
}

async fn messages(args: &[String]) -> Result<(), String> {
    let (mut data_dir, mut url, mut count, mut legacy) = (None, None, None, false);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--data-dir" => data_dir = iter.next().map(PathBuf::from),
            "--database-url" => url = iter.next().cloned(),
            "--legacy" => legacy = true,
            n => count = Some(n.parse::<i64>().map_err(|_| format!("not a count: {n}"))?),
        }
    }
    let count = count.ok_or("COUNT is missing")?;
    let exchanges = count / 2;
    let now = store::now_ms();
    let start = now - 30 * 86_400_000;
    let step = (30 * 86_400_000 / exchanges.max(1)).max(1);
    if legacy {
        let dir = data_dir.ok_or("--legacy needs --data-dir")?;
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}", dir.join(store::DATABASE_FILE).display());
        let mut conn = sqlx::AnyConnection::connect(&url)
            .await
            .map_err(|e| e.to_string())?;
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO conversations (id, bot_id, created_at)
             SELECT 'conv_seed_' || i, 'demo', {start} + i * 10 * {step} FROM n;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count_1})
             INSERT INTO messages (id, conversation_id, role, content, created_at, complete)
             SELECT 'msg_seed_' || i, 'conv_seed_' || (i / 20),
                    CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END,
                    CASE WHEN i % 2 = 0 THEN 'Question ' || ((i / 2) % 1000) ELSE '{ANSWER}' END,
                    {start} + (i / 2) * {step} + (i % 2) * 40, 1 FROM n;",
            last = (exchanges / 10).max(1) - 1,
            count_1 = exchanges * 2 - 1,
        );
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        conn.close().await.map_err(|e| e.to_string())?;
        return Ok(());
    }
    let store = Store::open_or_connect(
        &data_dir.unwrap_or_else(|| PathBuf::from("./data")),
        url.as_deref(),
        &StoreOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let numbers = match store.backend() {
        Backend::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) "
                .to_owned()
        }
        Backend::Postgres => String::new(),
    };
    let from = |last: i64| match store.backend() {
        Backend::Sqlite => "n".to_owned(),
        Backend::Postgres => format!("generate_series(CAST(0 AS BIGINT), {last}) AS n(i)"),
    };
    let conversations_last = (exchanges / 10).max(1) - 1;
    let messages_last = exchanges * 2 - 1;
    let sql = format!(
        "{with_c} INSERT INTO conversations (id, bot_id, created_at)
         SELECT 'conv_seed_' || i, 'demo', {start} + i * 10 * {step} FROM {from_c};
         {with_m} INSERT INTO messages (id, bot_id, conversation_id, role, content, created_at,
             complete, question_key, response_ms)
         SELECT 'msg_seed_' || i, 'demo', 'conv_seed_' || (i / 20),
                CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END,
                CASE WHEN i % 2 = 0 THEN 'Question ' || ((i / 2) % 1000) ELSE '{ANSWER}' END,
                {start} + (i / 2) * {step} + (i % 2) * 40, 1,
                CASE WHEN i % 2 = 0 THEN 'question ' || ((i / 2) % 1000) ELSE NULL END,
                CASE WHEN i % 2 = 0 THEN NULL ELSE 40 END
         FROM {from_m};",
        with_c = numbers.replace("{last}", &conversations_last.to_string()),
        from_c = from(conversations_last),
        with_m = numbers.replace("{last}", &messages_last.to_string()),
        from_m = from(messages_last),
    );
    // The per-row rollup trigger is off while seeding: the rollups are rebuilt in one go below.
    let (off, on) = match store.backend() {
        Backend::Sqlite => (
            "DROP TRIGGER messages_rollup".to_owned(),
            trigger_sql(&store).await?,
        ),
        Backend::Postgres => (
            "ALTER TABLE messages DISABLE TRIGGER messages_rollup".to_owned(),
            "ALTER TABLE messages ENABLE TRIGGER messages_rollup".to_owned(),
        ),
    };
    store
        .execute_script(&off)
        .await
        .map_err(|e| e.to_string())?;
    store
        .execute_script(&sql)
        .await
        .map_err(|e| e.to_string())?;
    store.execute_script(&on).await.map_err(|e| e.to_string())?;
    store::rebuild_rollups(&store)
        .await
        .map_err(|e| e.to_string())?;
    if store.backend() == Backend::Postgres {
        store
            .execute_script("ANALYZE")
            .await
            .map_err(|e| e.to_string())?;
    }
    store.close().await;
    Ok(())
}

/// The SQLite rollup trigger's own `CREATE TRIGGER` text.
async fn trigger_sql(store: &Store) -> Result<String, String> {
    let url = format!(
        "sqlite://{}?mode=ro",
        store.path().ok_or("no SQLite file")?.display()
    );
    let mut conn = sqlx::AnyConnection::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    let sql: String = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_rollup'",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    conn.close().await.map_err(|e| e.to_string())?;
    Ok(sql)
}
