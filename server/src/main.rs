//! The `chat-widget-server` binary: reads the command line, then either serves (printing the
//! demo bot, its key and the demo page's address) until Ctrl-C/SIGTERM, or runs the `bot`
//! admin command and exits. All the behaviour lives in the library.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use chat_widget_server::cli::{self, BotCommand, BotTarget, Command, ServeOptions, WebhookAction};
use chat_widget_server::serve::{self as connections, ConnectionLimits};
use chat_widget_server::store::{Bot, StoreOptions, DEMO_BOT_ID};
use chat_widget_server::{app, documents, AppState, Store};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(documents::EXTRACT_ARG) {
        return extract_text(&std::env::args().nth(2).unwrap_or_default());
    }
    // HTML and PDF files are read in a child process: a file the extractor crashes on, or
    // runs away with, costs only the child.
    match std::env::current_exe() {
        Ok(program) => {
            documents::extract_in_child_processes(program, documents::EXTRACTION_TIMEOUT)
        }
        Err(err) => eprintln!("chat-widget-server: documents are read in this process ({err})"),
    }
    let command = cli::parse(std::env::args().skip(1));
    let log_format = match &command {
        Ok(Command::Serve(options)) => options.log_format,
        _ => cli::LogFormat::Text,
    };
    chat_widget_server::middleware::init_logging(log_format);
    let result = match command {
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Ok(Command::Serve(options)) => serve(options),
        Ok(Command::Bot(command)) => admin(command),
        Err(err) => Err(err.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("chat-widget-server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The text extractor's child process ([`documents::EXTRACT_ARG`]): an HTML or PDF file on
/// stdin, its text on stdout, or why not with the status [`documents::EXTRACT_REFUSED`].
fn extract_text(kind: &str) -> ExitCode {
    use std::io::Read;
    let mut bytes = Vec::new();
    if std::io::stdin().read_to_end(&mut bytes).is_err() {
        return ExitCode::FAILURE;
    }
    let (text, status) = match documents::extract_named(kind, &bytes) {
        Ok(text) => (text, ExitCode::SUCCESS),
        Err(why) => (why.0, ExitCode::from(documents::EXTRACT_REFUSED)),
    };
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => status,
        Err(_) => ExitCode::FAILURE,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))
}

async fn open_store(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    connections: Option<u32>,
) -> Result<Store, String> {
    let options = StoreOptions {
        max_connections: connections,
    };
    Store::open_or_connect(data_dir, database_url, &options)
        .await
        .map_err(|err| err.to_string())
}

fn serve(options: ServeOptions) -> Result<(), String> {
    let fd_limit = connections::raise_fd_limit();
    let default_cap = connections::default_max_connections(fd_limit);
    let max_connections = match options.max_connections {
        Some(asked) if asked > default_cap => {
            tracing::warn!(
                asked,
                allowed = default_cap,
                fd_limit,
                "--max-connections leaves no room under the open-files limit; using the lower cap"
            );
            default_cap
        }
        Some(asked) => asked,
        None => default_cap,
    };
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(options.header_timeout_s),
        max_connections,
    };
    runtime()?.block_on(async move {
        let store = open_store(
            &options.data_dir,
            options.database_url.as_deref(),
            options.db_connections,
        )
        .await?;
        let listener = tokio::net::TcpListener::bind(&options.addr)
            .await
            .map_err(|err| format!("cannot listen on {}: {err}", options.addr))?;
        let addr = listener.local_addr().map_err(|err| err.to_string())?;
        let key = store
            .first_key(DEMO_BOT_ID)
            .await
            .map_err(|err| err.to_string())?
            .map(|key| key.key)
            .unwrap_or_default();
        println!("chat-widget-server listening on http://{addr}");
        println!("demo bot: {DEMO_BOT_ID}");
        println!("publishable key: {key}");
        println!("demo page: http://{addr}/");
        // Tests and scripts read these lines through a pipe; do not leave them in a buffer.
        let _ = std::io::stdout().flush();
        let state = AppState::new(store.clone(), options.dist_dir, addr.to_string())
            .with_stream_delay(Duration::from_millis(options.stream_delay_ms))
            .with_reply_delay(Duration::from_millis(options.reply_delay_ms))
            .with_admin_token(options.admin_token)
            .with_max_upload_bytes(options.max_upload_bytes)
            .with_max_extractions(
                options
                    .max_extractions
                    .unwrap_or_else(documents::default_max_extractions),
            )
            .with_conversation_idle(Duration::from_secs(options.conversation_idle_s))
            .with_upstream_timeout(Duration::from_secs(options.upstream_timeout_s))
            .with_retention(
                options.retain_days,
                Duration::from_secs(options.retention_interval_s),
            )
            .with_rate_window_secs(options.rate_window_s)
            .with_request_timeout(Duration::from_secs(options.request_timeout_s))
            .with_trust_forwarded_for(options.trust_forwarded_for);
        let deliveries = std::sync::Arc::clone(state.deliveries());
        tracing::info!(
            %addr,
            max_connections = limits.max_connections,
            fd_limit,
            header_timeout_s = options.header_timeout_s,
            request_timeout_s = options.request_timeout_s,
            "serving"
        );
        tokio::spawn(chat_widget_server::maintain(state.clone()));
        let served = connections::serve(listener, app(state), limits, async move {
            shutdown_signal().await;
            // Listening streams would otherwise hold the shutdown for their idle time.
            deliveries.close();
        })
        .await
        .map_err(|err| format!("server error: {err}"));
        // Unfinished replies of streams cut by the shutdown are written by tasks; give them a
        // moment (they are marked interrupted by the next instance otherwise).
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.close().await;
        served
    })
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

fn admin(command: BotCommand) -> Result<(), String> {
    runtime()?.block_on(async move {
        let store = open_store(&command.data_dir, command.database_url.as_deref(), Some(2)).await?;
        let id = match &command.target {
            BotTarget::Existing(id) => id.clone(),
            BotTarget::Create { id, name } => {
                let (bot, key) = store
                    .create_bot(id, name)
                    .await
                    .map_err(|err| err.to_string())?;
                println!("bot: {}", bot.id);
                println!("publishable key: {}", key.key);
                let secret = store
                    .create_secret_key(&bot.id)
                    .await
                    .map_err(|err| err.to_string())?;
                println!("secret key: {secret} (shown once: keep it on your servers)");
                bot.id
            }
        };
        let bot = store
            .update_bot(&id, &command.update)
            .await
            .map_err(|err| err.to_string())?;
        if command.new_secret_key {
            let secret = store
                .create_secret_key(&id)
                .await
                .map_err(|err| err.to_string())?;
            println!("secret key: {secret} (shown once: keep it on your servers)");
        }
        let key = store.first_key(&id).await.map_err(|err| err.to_string())?;
        println!("{}", describe(&bot, key.as_ref()));
        if let Some(action) = &command.webhook {
            webhook_admin(&store, &id, action).await?;
        }
        if let Some(upstream) = &command.upstream {
            chat_widget_server::upstream::set_settings(&store, &id, upstream.as_ref())
                .await
                .map_err(|err| err.to_string())?;
            match upstream {
                Some(s) => println!(
                    "upstream: {} model {}{}",
                    s.endpoint(),
                    s.model,
                    s.key_env
                        .as_ref()
                        .map(|name| format!(", key from ${name}"))
                        .unwrap_or_default()
                ),
                None => println!("upstream: none (answers from the training documents)"),
            }
        }
        if let Some(path) = &command.train {
            train(&store, &id, path).await?;
        }
        let _ = std::io::stdout().flush();
        store.close().await;
        Ok(())
    })
}

/// The `bot` command's `--train FILE`: the file becomes one of the bot's training documents,
/// read and split exactly as an upload to `POST /v1/bots/{id}/train` is.
async fn train(store: &Store, bot_id: &str, path: &std::path::Path) -> Result<(), String> {
    use chat_widget_server::documents::{self, Kind, NewDocument};
    let shown = path.display();
    let name = path.file_name().and_then(|n| n.to_str());
    let kind = Kind::detect(name, None)
        .ok_or_else(|| format!("{shown}: not a training document (.md, .txt, .html or .pdf)"))?;
    let bytes = std::fs::read(path).map_err(|err| format!("{shown}: {err}"))?;
    let title = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("document");
    let passages =
        documents::passages(kind, &bytes, title).map_err(|err| format!("{shown}: {}", err.0))?;
    let new = NewDocument {
        bot_id,
        title,
        category: "",
        kind,
        bytes: bytes.len(),
    };
    let document = documents::add(store, &new, &passages)
        .await
        .map_err(|err| err.to_string())?;
    println!(
        "document: {} {:?} ({} passages)",
        document.id, document.title, document.chunks
    );
    Ok(())
}

/// The `bot` command's webhook part: prints what it did (a new endpoint's secret only then).
async fn webhook_admin(store: &Store, bot_id: &str, action: &WebhookAction) -> Result<(), String> {
    use chat_widget_server::webhooks;
    match action {
        WebhookAction::Add {
            url,
            events,
            secret,
        } => {
            let secret = match secret {
                Some(secret) => secret.clone(),
                None => format!(
                    "whsec_{}",
                    chat_widget_server::ids::random_hex(32).map_err(|err| err.to_string())?
                ),
            };
            let hook = webhooks::add(store, bot_id, url, events, &secret, false)
                .await
                .map_err(|err| err.to_string())?;
            println!(
                "webhook: {} {} {}",
                hook.id,
                hook.url,
                hook.events.join(",")
            );
            println!("secret: {secret}");
        }
        WebhookAction::Delete(id) => {
            if !webhooks::delete(store, bot_id, id)
                .await
                .map_err(|err| err.to_string())?
            {
                return Err(format!("bot {bot_id} has no webhook {id:?}"));
            }
            println!("webhook {id} deleted");
        }
        WebhookAction::List => {
            for hook in webhooks::list(store, bot_id)
                .await
                .map_err(|err| err.to_string())?
            {
                println!(
                    "webhook: {} {} {}",
                    hook.id,
                    hook.url,
                    hook.events.join(",")
                );
            }
        }
    }
    Ok(())
}

/// One line describing a bot's settings after the admin command.
fn describe(bot: &Bot, key: Option<&chat_widget_server::store::ApiKey>) -> String {
    let credits = bot
        .credits
        .map_or_else(|| "unlimited".to_owned(), |c| c.to_string());
    let (origins, active) = key.map_or(("-".to_owned(), false), |k| {
        (k.allowed_origins.to_string(), k.active)
    });
    let quota = bot
        .monthly_quota
        .map_or_else(|| "unlimited".to_owned(), |q| q.to_string());
    format!(
        "bot {}: credits {credits}, rate limit {}/min, visitor rate limit {}/min, origins {origins}, stream default {}, key {}, monthly quota {quota}",
        bot.id,
        bot.rate_limit_per_minute,
        bot.visitor_rate_limit,
        bot.stream_default,
        if active { "active" } else { "inactive" }
    )
}
