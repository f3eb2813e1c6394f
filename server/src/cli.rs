//! The command line, read with clap: serving (the default) and the `bot` admin command.
//! Pure: this module reads arguments and nothing else; `main.rs` acts on the result.

use std::fmt;
use std::path::PathBuf;

use crate::store::{AllowedOrigins, BotUpdate};

/// `--help` text.
pub const USAGE: &str = "\
chat-widget-server: the chat widget's reference server

USAGE:
  chat-widget-server [--addr 127.0.0.1:8787] [--data-dir ./data] [--dist-dir ./dist]
                     [--database-url postgres://user@host:5432/db] [--db-connections 16]
                     [--stream-delay-ms 25] [--reply-delay-ms 300] [--admin-token TOKEN]
                     [--rate-window-s 60] [--header-timeout-s 20] [--request-timeout-s 30]
                     [--max-connections N] [--log-format text|json] [--trust-forwarded-for]
                     [--max-upload-bytes 10485760] [--max-extractions N]
                     [--conversation-idle-s 1800] [--upstream-timeout-s 20]
                     [--retain-days N] [--retention-interval-s 3600]
      Serves the API, the demo page at / and the built widget at /widget/ (from --dist-dir;
      a file's .br/.gz sibling when the browser accepts it; content-hashed names are cached
      for a year, chat-widget.js and the rest for 5 minutes).
      The database is DATA_DIR/chat.sqlite3, or the PostgreSQL database at --database-url
      (several instances may share it; --db-connections sizes each one's pool). The schema is
      migrated, and the demo bot and its key are created, on first start. A PostgreSQL server
      that does not answer yet is waited for up to 60 seconds (the log says why at once).
      Streamed replies send a word every --stream-delay-ms milliseconds (0: as fast as possible).
      Chataibot answers are delivered --reply-delay-ms milliseconds after the visitor's message.
      POST /v1/bots (jelytech) creates bots only with --admin-token as the bearer key. The
      training-document endpoints (/v1/bots/ID/train, /v1/bots/ID/documents, taking files of
      at most --max-upload-bytes, default 10 MiB), webhooks and analytics take the bot's
      secret key or --admin-token, never a publishable key. The text of at most
      --max-extractions HTML or PDF uploads is extracted at once (default: one per CPU); an
      upload that finds them all busy waits up to 10 seconds (at most half of
      --request-timeout-s), then gets 503 with Retry-After.
      A conversation without a message for --conversation-idle-s seconds has ended (its
      conversation.ended webhook).
      A bot's AI upstream (bot --upstream-url) that stays silent --upstream-timeout-s seconds,
      before its reply starts or between two chunks, fails the reply with 504.
      A bot's --rate-limit counts requests per window of --rate-window-s seconds (default 60),
      and so do its --visitor-rate-limit and the limit of each client address (ten visitors'
      worth, at most --rate-limit).
      A connection must send each request's headers within --header-timeout-s seconds of
      opening or of its previous response (so an idle keep-alive connection is closed then);
      a request's body must have arrived, and its answer begun, within --request-timeout-s
      (else 408). At most --max-connections are open at once (default: 90% of the open-files
      limit, which the server raises to its hard limit); more wait to be accepted.
      Behind a reverse proxy, --trust-forwarded-for takes the client's address (which the
      rate limits count by) from the last X-Forwarded-For entry instead of the connection.
      One log line per request goes to stderr, as text or (--log-format json) JSON lines;
      RUST_LOG filters them (default info).
      With --retain-days N, conversations with no message for N days are deleted with their
      messages (checked every --retention-interval-s seconds); daily totals stay. Without it,
      everything is kept.

  chat-widget-server bot [--data-dir ./data | --database-url URL] --bot ID [SETTINGS]
      Changes a bot's settings; a running server sees them on its next request.
  chat-widget-server bot [--data-dir ./data | --database-url URL] --create ID [--name NAME] [SETTINGS]
      Creates a bot with its own publishable key (printed).

SETTINGS:
  --credits N|unlimited       replies left (0 answers 402 INSUFFICIENT_CREDITS)
  --quota N|unlimited         replies per calendar month (UTC); once used up: 403 QUOTA_EXCEEDED
  --visitor-rate-limit N      requests per rate window for each visitor (default 30)
  --new-secret-key            make a secret key (sk_live_...) for the bot and print it once
  --rate-limit N              requests per rate window, all visitors together (default 600)
  --origins \"https://a.test,https://b.test\"|*   page origins the bot's keys work from
                              (scheme://host[:port], no path; checked when given)
  --stream-default true|false streamed replies when a request does not say
  --key-active true|false     deactivated keys answer 401 INVALID_API_KEY

TRAINING (with --bot or --create):
  --train FILE                adds FILE (.md, .txt, .html or .pdf) as a training document,
                              titled after its file name, as POST /v1/bots/ID/train does

AI MODEL (with --bot or --create): an OpenAI-compatible chat-completions upstream
  --upstream-url https://host/v1|none   where replies come from (none: the documents)
  --upstream-model NAME       the model asked for (required with --upstream-url)
  --upstream-system-prompt TEXT             said before the passages and the conversation
  --upstream-temperature T    0 to 2        --upstream-max-tokens N
  --upstream-key-env VAR      the environment variable of the serving process that holds
                              the upstream's key (never stored, printed or logged)

WEBHOOKS (with --bot):
  --webhook-add http://host/path --events message.received,message.sent [--webhook-secret S]
                              registers an endpoint; prints its id and secret (only now)
  --webhook-delete ID         removes an endpoint and its pending deliveries
  --webhooks                  lists the bot's endpoints (without secrets)
";

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8787";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// The default directory of the built widget.
pub const DEFAULT_DIST_DIR: &str = "./dist";
/// The default pause between two words of a streamed reply, in milliseconds.
pub const DEFAULT_STREAM_DELAY_MS: u64 = 25;
/// The default delay of a chataibot answer, in milliseconds.
pub const DEFAULT_REPLY_DELAY_MS: u64 = 300;
/// The default length of a rate-limit window, in seconds.
pub const DEFAULT_RATE_WINDOW_S: u64 = crate::rate_limit::DEFAULT_WINDOW_SECS;

/// The default for `--header-timeout-s`.
pub const DEFAULT_HEADER_TIMEOUT_S: u64 = 20;
/// The default for `--request-timeout-s`.
pub const DEFAULT_REQUEST_TIMEOUT_S: u64 = 30;

/// How log lines are written (on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve(ServeOptions),
    /// Change or create a bot, then exit.
    Bot(BotCommand),
    /// Print [`USAGE`].
    Help,
}

/// Options of the server, as clap reads them (the defaults are in the attributes).
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(
    no_binary_name = true,
    disable_help_flag = true,
    args_override_self = true
)]
pub struct ServeOptions {
    /// `--addr`: where to listen (port 0 picks a free port; the printed line says which).
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// `--data-dir`: where `chat.sqlite3` lives.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// `--database-url`: a PostgreSQL database instead of the data directory.
    #[arg(long, value_parser = database_url)]
    pub database_url: Option<String>,
    /// `--db-connections`: the PostgreSQL pool's size.
    #[arg(long, value_parser = at_least_one::<u32>)]
    pub db_connections: Option<u32>,
    /// `--dist-dir`: the built widget, served under `/widget/`.
    #[arg(long, default_value = DEFAULT_DIST_DIR)]
    pub dist_dir: PathBuf,
    /// `--stream-delay-ms`: the pause between two deltas of a streamed reply.
    #[arg(long, default_value_t = DEFAULT_STREAM_DELAY_MS)]
    pub stream_delay_ms: u64,
    /// `--reply-delay-ms`: how long after the visitor's message a chataibot answer arrives.
    #[arg(long, default_value_t = DEFAULT_REPLY_DELAY_MS)]
    pub reply_delay_ms: u64,
    /// `--admin-token`: the bearer token that may create bots over HTTP (`POST /v1/bots`).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub admin_token: Option<String>,
    /// `--rate-window-s`: how long a bot's rate-limit window lasts, in seconds (at least 1).
    #[arg(long, default_value_t = DEFAULT_RATE_WINDOW_S, value_parser = at_least_one::<u64>)]
    pub rate_window_s: u64,
    /// `--header-timeout-s`: the time to send a request's headers, from the connection's
    /// opening or the end of its previous response (at least 1).
    #[arg(long, default_value_t = DEFAULT_HEADER_TIMEOUT_S, value_parser = at_least_one::<u64>)]
    pub header_timeout_s: u64,
    /// `--request-timeout-s`: the time from a request's headers to its answer's, reading the
    /// body included (at least 1).
    #[arg(long, default_value_t = DEFAULT_REQUEST_TIMEOUT_S, value_parser = at_least_one::<u64>)]
    pub request_timeout_s: u64,
    /// `--max-connections`: connections open at once; `None` for the default under the
    /// open-files limit ([`crate::serve::default_max_connections`]).
    #[arg(long, value_parser = at_least_one::<usize>)]
    pub max_connections: Option<usize>,
    /// `--log-format`.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// `--trust-forwarded-for`: the client's address comes from `X-Forwarded-For`.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_forwarded_for: bool,
    /// `--max-upload-bytes`: the largest training document accepted (at least 1).
    #[arg(long, default_value_t = crate::documents::DEFAULT_MAX_UPLOAD_BYTES,
          value_parser = at_least_one::<usize>)]
    pub max_upload_bytes: usize,
    /// `--max-extractions`: HTML or PDF texts extracted at once; `None` for one per CPU
    /// ([`crate::documents::default_max_extractions`]).
    #[arg(long, value_parser = at_least_one::<usize>)]
    pub max_extractions: Option<usize>,
    /// `--conversation-idle-s`: a conversation without a message this long has ended.
    #[arg(long, default_value_t = crate::webhooks::DEFAULT_CONVERSATION_IDLE.as_secs(),
          value_parser = at_least_one::<u64>)]
    pub conversation_idle_s: u64,
    /// `--upstream-timeout-s`: how long an AI upstream may stay silent.
    #[arg(long, default_value_t = crate::upstream::DEFAULT_TIMEOUT.as_secs(),
          value_parser = at_least_one::<u64>)]
    pub upstream_timeout_s: u64,
    /// `--retain-days`: delete conversations with no message for this many days (`None`:
    /// keep everything).
    #[arg(long, value_parser = at_least_one::<u32>)]
    pub retain_days: Option<u32>,
    /// `--retention-interval-s`: how often to look for them (at least 1).
    #[arg(long, default_value_t = crate::retention::DEFAULT_INTERVAL.as_secs(),
          value_parser = at_least_one::<u64>)]
    pub retention_interval_s: u64,
}

impl Default for ServeOptions {
    /// What no flag gives.
    fn default() -> Self {
        <Self as clap::Parser>::try_parse_from(Vec::<String>::new()).expect("the defaults parse")
    }
}

/// The `bot` admin command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCommand {
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// Which bot.
    pub target: BotTarget,
    /// The settings to change.
    pub update: BotUpdate,
    /// A webhook change or listing, if asked.
    pub webhook: Option<WebhookAction>,
    /// `--train FILE`: a training document to add.
    pub train: Option<PathBuf>,
    /// `--upstream-url …`: the bot's AI upstream to set (`Some(None)`: removed).
    pub upstream: Option<Option<crate::upstream::Settings>>,
    /// `--new-secret-key`: make a secret key for the bot and print it (once).
    pub new_secret_key: bool,
}

/// What the `bot` command does with the bot's webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAction {
    /// `--webhook-add URL --events a,b [--webhook-secret S]`.
    Add {
        /// Where events are posted.
        url: String,
        /// Which events.
        events: Vec<String>,
        /// The signing secret (one is made when `None`).
        secret: Option<String>,
    },
    /// `--webhook-delete ID`.
    Delete(String),
    /// `--webhooks`.
    List,
}

/// The bot the `bot` command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotTarget {
    /// `--bot ID`: an existing bot.
    Existing(String),
    /// `--create ID [--name NAME]`: a new bot (named after its id if no name is given).
    Create {
        /// The new bot's id.
        id: String,
        /// Its display name.
        name: String,
    },
}

/// A command line that makes no sense, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (see --help)", self.0)
    }
}

impl std::error::Error for CliError {}

/// Parses the arguments after the program name (with clap: `--flag value` and `--flag=value`
/// both work, a flag given twice keeps the last value). `--help` prints [`USAGE`].
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, CliError> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h")
        || args.first().is_some_and(|a| a == "help")
    {
        return Ok(Command::Help);
    }
    match args.split_first() {
        Some((first, rest)) if first == "bot" => parse_bot(read::<BotArgs>(rest)?),
        _ => Ok(Command::Serve(read::<ServeOptions>(&args)?)),
    }
}

/// The arguments as `T`, or clap's reason on one line (without its `error: ` and its tip).
fn read<T: clap::Parser>(args: &[String]) -> Result<T, CliError> {
    T::try_parse_from(args).map_err(|err| {
        let text = err.to_string();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
            .collect();
        CliError(lines.join(" ").trim_start_matches("error: ").to_owned())
    })
}

/// The `bot` command's options as clap reads them ([`USAGE`] documents each).
#[derive(clap::Parser, Debug)]
#[command(
    no_binary_name = true,
    disable_help_flag = true,
    args_override_self = true
)]
struct BotArgs {
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    #[arg(long, value_parser = database_url)]
    database_url: Option<String>,
    #[arg(long)]
    bot: Option<String>,
    #[arg(long)]
    create: Option<String>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long, value_parser = limit)]
    credits: Option<Limit>,
    #[arg(long, value_parser = limit)]
    quota: Option<Limit>,
    #[arg(long)]
    rate_limit: Option<u32>,
    #[arg(long)]
    visitor_rate_limit: Option<u32>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false",
          value_parser = clap::builder::BoolishValueParser::new())]
    new_secret_key: bool,
    #[arg(long, value_parser = origins)]
    origins: Option<AllowedOrigins>,
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    stream_default: Option<bool>,
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    key_active: Option<bool>,
    #[arg(long)]
    webhook_add: Option<String>,
    #[arg(long, value_parser = events)]
    events: Option<Events>,
    #[arg(long)]
    webhook_secret: Option<String>,
    #[arg(long)]
    webhook_delete: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false",
          value_parser = clap::builder::BoolishValueParser::new())]
    webhooks: bool,
    #[arg(long)]
    train: Option<PathBuf>,
    #[arg(long)]
    upstream_url: Option<String>,
    #[arg(long)]
    upstream_model: Option<String>,
    #[arg(long)]
    upstream_system_prompt: Option<String>,
    #[arg(long)]
    upstream_temperature: Option<f64>,
    #[arg(long)]
    upstream_max_tokens: Option<u32>,
    #[arg(long)]
    upstream_key_env: Option<String>,
}

/// `N` or `unlimited` (`None`).
#[derive(Debug, Clone, Copy)]
struct Limit(Option<u64>);

fn limit(value: &str) -> Result<Limit, String> {
    if value.trim().eq_ignore_ascii_case("unlimited") {
        return Ok(Limit(None));
    }
    let n = value
        .trim()
        .parse()
        .map_err(|_| "needs a whole number or unlimited".to_owned())?;
    Ok(Limit(Some(n)))
}

/// `--events a,b`: the names, blanks left out.
#[derive(Debug, Clone)]
struct Events(Vec<String>);

fn events(value: &str) -> Result<Events, String> {
    Ok(Events(
        value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

fn parse_bot(args: BotArgs) -> Result<Command, CliError> {
    let update = BotUpdate {
        credits: args.credits.map(|l| l.0),
        monthly_quota: args.quota.map(|l| l.0),
        rate_limit_per_minute: args.rate_limit,
        visitor_rate_limit: args.visitor_rate_limit,
        allowed_origins: args.origins,
        stream_default: args.stream_default,
        keys_active: args.key_active,
    };
    let target = match (args.bot, args.create) {
        (Some(id), None) if args.name.is_none() => BotTarget::Existing(id),
        (Some(_), None) => return Err(CliError("--name only goes with --create".to_owned())),
        (None, Some(id)) => BotTarget::Create {
            name: args.name.unwrap_or_else(|| id.clone()),
            id,
        },
        (Some(_), Some(_)) => {
            return Err(CliError(
                "give either --bot or --create, not both".to_owned(),
            ))
        }
        (None, None) => {
            return Err(CliError(
                "the bot command needs --bot ID or --create ID".to_owned(),
            ))
        }
    };
    let hook_events = args.events.map(|e| e.0);
    let hook_secret = args.webhook_secret;
    let webhook = match (args.webhook_add, args.webhook_delete, args.webhooks) {
        (Some(url), None, false) => {
            let events = hook_events.unwrap_or_default();
            crate::webhooks::validate(&url, &events).map_err(|e| CliError(e.0))?;
            if let Some(secret) = &hook_secret {
                if secret.chars().count() < crate::webhooks::MIN_SECRET_CHARS {
                    return Err(CliError(format!(
                        "--webhook-secret needs at least {} characters",
                        crate::webhooks::MIN_SECRET_CHARS
                    )));
                }
            }
            Some(WebhookAction::Add {
                url,
                events,
                secret: hook_secret,
            })
        }
        (None, Some(id), false) => Some(WebhookAction::Delete(id)),
        (None, None, true) => Some(WebhookAction::List),
        (None, None, false) if hook_events.is_none() && hook_secret.is_none() => None,
        (None, None, false) => {
            return Err(CliError(
                "--events and --webhook-secret go with --webhook-add".to_owned(),
            ))
        }
        _ => {
            return Err(CliError(
                "give one of --webhook-add, --webhook-delete or --webhooks".to_owned(),
            ))
        }
    };
    let upstream_parts = args.upstream_model.is_some()
        || args.upstream_system_prompt.is_some()
        || args.upstream_temperature.is_some()
        || args.upstream_max_tokens.is_some()
        || args.upstream_key_env.is_some();
    let upstream = match args.upstream_url {
        Some(url) if url.eq_ignore_ascii_case("none") => {
            if upstream_parts {
                return Err(CliError(
                    "--upstream-url none removes the upstream: give no other --upstream-* option"
                        .to_owned(),
                ));
            }
            Some(None)
        }
        Some(url) => {
            let upstream = crate::upstream::Settings {
                system_prompt: args.upstream_system_prompt.unwrap_or_default(),
                temperature: args.upstream_temperature,
                max_tokens: args.upstream_max_tokens,
                key_env: args.upstream_key_env,
                ..crate::upstream::Settings::new(&url, &args.upstream_model.unwrap_or_default())
            };
            upstream.check().map_err(CliError)?;
            Some(Some(upstream))
        }
        None if upstream_parts => {
            return Err(CliError(
                "the --upstream-* options go with --upstream-url".to_owned(),
            ))
        }
        None => None,
    };
    Ok(Command::Bot(BotCommand {
        data_dir: args.data_dir,
        database_url: args.database_url,
        target,
        update,
        webhook,
        train: args.train,
        upstream,
        new_secret_key: args.new_secret_key,
    }))
}

/// A whole number of at least 1.
fn at_least_one<T: std::str::FromStr + PartialEq + From<u8>>(value: &str) -> Result<T, String> {
    match value.trim().parse() {
        Ok(n) if n != T::from(0) => Ok(n),
        _ => Err("needs a whole number of at least 1".to_owned()),
    }
}

/// A `--database-url` this server can use (PostgreSQL).
fn database_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        Ok(value.to_owned())
    } else {
        Err("needs postgres://user@host:port/database (SQLite is --data-dir)".to_owned())
    }
}

/// `*`, or page origins as a browser sends them in `Origin` (`https://shop.test`, the default
/// port left out, the host lower-cased and punycoded). A URL with a path is refused rather
/// than cut: no `Origin` has one, so the operator is told which origin to write.
fn origins(value: &str) -> Result<AllowedOrigins, String> {
    if value.trim() == "*" {
        return Ok(AllowedOrigins::Any);
    }
    let mut list = Vec::new();
    for written in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let refuse = |why: String| format!("{written:?} {why}");
        let url = match url::Url::parse(written) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Err(refuse(format!("needs its scheme: https://{written}")))
            }
            Err(err) => return Err(refuse(format!("is not an origin ({err})"))),
        };
        let origin = url.origin().ascii_serialization();
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(refuse("is not an http or https origin".to_owned()));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(refuse(format!("has a path; its origin is {origin}")));
        }
        list.push(origin);
    }
    Ok(AllowedOrigins::List(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Command, CliError> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn serving_has_defaults_and_takes_each_flag() {
        assert_eq!(parse_line(""), Ok(Command::Serve(ServeOptions::default())));
        let expected = ServeOptions {
            addr: "0.0.0.0:9000".into(),
            data_dir: "/tmp/d".into(),
            database_url: Some("postgres://chat@db:5432/chat".into()),
            db_connections: Some(8),
            dist_dir: "dist2".into(),
            stream_delay_ms: 0,
            reply_delay_ms: 20,
            admin_token: Some("s3cret".into()),
            rate_window_s: 3,
            header_timeout_s: 2,
            request_timeout_s: 4,
            max_connections: Some(100),
            log_format: LogFormat::Json,
            trust_forwarded_for: true,
            max_upload_bytes: 5000,
            max_extractions: Some(3),
            conversation_idle_s: 60,
            upstream_timeout_s: 5,
            retain_days: Some(30),
            retention_interval_s: 5,
        };
        assert_eq!(
            parse_line(
                "--addr 0.0.0.0:9000 --data-dir /tmp/d --dist-dir=dist2 --stream-delay-ms 0 \
                 --reply-delay-ms 20 --admin-token s3cret --rate-window-s 3 \
                 --header-timeout-s 2 --request-timeout-s 4 --max-connections 100 --log-format json \
                 --trust-forwarded-for --database-url postgres://chat@db:5432/chat --db-connections 8 \
                 --max-upload-bytes 5000 --max-extractions 3 --conversation-idle-s 60 \
                 --upstream-timeout-s 5 \
                 --retain-days 30 --retention-interval-s 5"
            ),
            Ok(Command::Serve(expected))
        );
        assert_eq!(ServeOptions::default().stream_delay_ms, 25);
        assert!(parse_line("--stream-delay-ms fast").is_err());
        assert!(parse_line("--stream-delay-ms -5").is_err());
        assert!(parse_line("--admin-token=").is_err());
        assert_eq!(ServeOptions::default().admin_token, None);
        assert_eq!(ServeOptions::default().rate_window_s, 60);
        assert!(parse_line("--rate-window-s 0").is_err());
        assert!(parse_line("--retain-days 0").is_err());
        assert_eq!(ServeOptions::default().retain_days, None);
        assert!(parse_line("--rate-window-s soon").is_err());
        assert!(parse_line("--header-timeout-s 0").is_err());
        assert!(parse_line("--request-timeout-s 0").is_err());
        assert!(parse_line("--max-connections 0").is_err());
        assert!(parse_line("--max-upload-bytes 0").is_err());
        assert!(parse_line("--max-extractions 0").is_err());
        assert_eq!(ServeOptions::default().max_extractions, None);
        assert_eq!(ServeOptions::default().max_upload_bytes, 10 * 1024 * 1024);
        assert!(parse_line("--log-format xml").is_err());
        assert!(matches!(
            parse_line("--trust-forwarded-for=false --addr 1.2.3.4:5"),
            Ok(Command::Serve(ServeOptions {
                trust_forwarded_for: false,
                ..
            }))
        ));
        assert!(
            parse_line("--database-url mysql://x/y").is_err(),
            "PostgreSQL only"
        );
        assert!(parse_line("--db-connections 0").is_err());
        assert!(parse_line("--addr").is_err());
        assert!(parse_line("--port 1").is_err());
        assert!(parse_line("serve").is_err());
        assert_eq!(parse_line("--help"), Ok(Command::Help));
    }

    #[test]
    fn the_bot_command_changes_settings() {
        let command = parse(
            [
                "bot",
                "--data-dir",
                "d",
                "--bot",
                "demo",
                "--credits",
                "0",
                "--rate-limit",
                "5",
                "--origins",
                "https://a.test,https://b.test",
                "--stream-default",
                "true",
                "--key-active",
                "false",
                "--quota",
                "100",
            ]
            .map(str::to_owned),
        );
        let update = BotUpdate {
            credits: Some(Some(0)),
            rate_limit_per_minute: Some(5),
            visitor_rate_limit: None,
            allowed_origins: Some(AllowedOrigins::List(vec![
                "https://a.test".into(),
                "https://b.test".into(),
            ])),
            stream_default: Some(true),
            keys_active: Some(false),
            monthly_quota: Some(Some(100)),
        };
        assert_eq!(
            command,
            Ok(Command::Bot(BotCommand {
                data_dir: "d".into(),
                database_url: None,
                target: BotTarget::Existing("demo".into()),
                update,
                webhook: None,
                train: None,
                upstream: None,
                new_secret_key: false,
            }))
        );
        let Ok(Command::Bot(unlimited)) =
            parse_line("bot --bot demo --credits unlimited --origins * --quota unlimited")
        else {
            panic!("expected a bot command");
        };
        assert_eq!(unlimited.update.credits, Some(None));
        assert_eq!(unlimited.update.monthly_quota, Some(None));
        assert_eq!(unlimited.update.allowed_origins, Some(AllowedOrigins::Any));
        // Origins as a browser sends them; what can never match one is refused, saying why.
        let origins = |list: &str| {
            parse(["bot", "--bot", "demo", "--origins", list].map(str::to_owned)).map(|command| {
                let Command::Bot(bot) = command else {
                    panic!("expected a bot command")
                };
                bot.update.allowed_origins
            })
        };
        assert_eq!(
            origins(" HTTPS://Shop.TEST:443/ , http://localhost:8080,https://bücher.test"),
            Ok(Some(AllowedOrigins::List(vec![
                "https://shop.test".into(),
                "http://localhost:8080".into(),
                "https://xn--bcher-kva.test".into(),
            ])))
        );
        for (written, said) in [
            ("shop.test", "needs its scheme: https://shop.test"),
            (
                "https://shop.test/help",
                "has a path; its origin is https://shop.test",
            ),
            (
                "https://a.test,ftp://b.test",
                "is not an http or https origin",
            ),
        ] {
            let error = origins(written).expect_err(written).0;
            assert!(error.contains(said), "{written}: {error}");
        }
        assert_eq!(unlimited.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn the_bot_command_creates_bots() {
        let Ok(Command::Bot(command)) =
            parse_line("bot --data-dir d --create shop2 --name Shopper")
        else {
            panic!("expected a bot command");
        };
        assert_eq!(
            command.target,
            BotTarget::Create {
                id: "shop2".into(),
                name: "Shopper".into()
            }
        );
        for bad in [
            "bot",
            "bot --bot a --create b",
            "bot --bot a --name X",
            "bot --bot a --credits lots",
            "bot --bot a --rate-limit -1",
            "bot --bot a --stream-default maybe",
            "bot --bot a --quota -1",
            "bot --bot a --quota some",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_bot_command_manages_webhooks() {
        let webhook = |line: &str| match parse_line(line) {
            Ok(Command::Bot(command)) => Ok(command.webhook),
            Ok(other) => panic!("{other:?}"),
            Err(err) => Err(err),
        };
        assert_eq!(
            webhook(
                "bot --bot demo --webhook-add http://127.0.0.1:9000/h \
                 --events message.received,message.sent --webhook-secret 0123456789abcdef"
            ),
            Ok(Some(WebhookAction::Add {
                url: "http://127.0.0.1:9000/h".into(),
                events: vec!["message.received".into(), "message.sent".into()],
                secret: Some("0123456789abcdef".into()),
            }))
        );
        assert_eq!(
            webhook("bot --bot demo --webhook-delete wh_1"),
            Ok(Some(WebhookAction::Delete("wh_1".into())))
        );
        assert_eq!(
            webhook("bot --bot demo --webhooks"),
            Ok(Some(WebhookAction::List))
        );
        for bad in [
            "bot --bot demo --webhook-add http://x.test/h",
            "bot --bot demo --webhook-add ftp://x.test/h --events message.sent",
            "bot --bot demo --webhook-add http://x.test/h --events nope",
            "bot --bot demo --webhook-add http://x.test/h --events message.sent --webhook-secret s",
            "bot --bot demo --events message.sent",
            "bot --bot demo --webhooks --webhook-delete wh_1",
        ] {
            assert!(webhook(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_bot_command_sets_and_removes_an_upstream() {
        let upstream = |line: &str| match parse_line(line) {
            Ok(Command::Bot(command)) => Ok(command.upstream),
            Ok(other) => panic!("{other:?}"),
            Err(err) => Err(err),
        };
        let expected = crate::upstream::Settings {
            system_prompt: "Brief.".into(),
            temperature: Some(0.5),
            max_tokens: Some(300),
            key_env: Some("OPENAI_KEY".into()),
            ..crate::upstream::Settings::new("http://127.0.0.1:11434/v1", "llama3")
        };
        assert_eq!(
            upstream(
                "bot --bot demo --upstream-url http://127.0.0.1:11434/v1 --upstream-model llama3 \
                 --upstream-system-prompt Brief. --upstream-temperature 0.5 \
                 --upstream-max-tokens 300 --upstream-key-env OPENAI_KEY"
            ),
            Ok(Some(Some(expected)))
        );
        assert_eq!(
            upstream("bot --bot demo --upstream-url none"),
            Ok(Some(None))
        );
        assert_eq!(upstream("bot --bot demo --credits 3"), Ok(None));
        for bad in [
            "bot --bot demo --upstream-model llama3",
            "bot --bot demo --upstream-url http://h/v1",
            "bot --bot demo --upstream-url ftp://h/v1 --upstream-model m",
            "bot --bot demo --upstream-url none --upstream-model m",
            "bot --bot demo --upstream-url http://h/v1 --upstream-model m --upstream-temperature 9",
            "bot --bot demo --upstream-url http://h/v1 --upstream-model m --upstream-key-env A-B",
        ] {
            assert!(upstream(bad).is_err(), "{bad}");
        }
    }
}
