//! The real binary in front of the public: sockets that never send a request, or send it a
//! byte at a time, do not shut out a visitor and are closed after the header timeout; the
//! connection cap keeps further clients waiting instead of failing; a body that does not
//! arrive gets a 408; oversized and unknown requests get JSON errors in the shape of the
//! dialect their path names; and the log has one line per request, with its id, and never a
//! key, a token or a visitor's words.

mod support;
use support::TempDir;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_chat-widget-server");

/// The AI upstream's key, in the environment of every server these tests start (a bot's
/// settings name the variable; the key must never show).
const UPSTREAM_KEY_ENV: &str = "CHAT_TEST_UPSTREAM_KEY";
const UPSTREAM_KEY: &str = "sk-upstream-never-shown-5f3a9c";

/// The fake OpenAI-compatible upstream (`support/fake_upstream.mjs`), killed when dropped.
struct FakeUpstream(Child, u16);

impl FakeUpstream {
    fn start() -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_upstream.mjs");
        let mut child = Command::new("node")
            .args([script.as_os_str(), "0".as_ref()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the fake upstream with node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("its port");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{line:?}"));
        Self(child, port)
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running server, what it printed, and where its log goes.
struct Running {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    addr: String,
    key: String,
    log: PathBuf,
}

impl Running {
    /// Everything the server logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, extra_args: &[&str]) -> Running {
    let log = dir.join(format!(
        "server-{}.log",
        chat_widget_server::ids::random_hex(8).expect("random")
    ));
    let mut child = Command::new(BINARY)
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--dist-dir"])
        .arg(dir.join("no-dist"))
        .args(extra_args)
        .env(UPSTREAM_KEY_ENV, UPSTREAM_KEY)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("start the server");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read a line");
        lines.push(line.trim_end().to_owned());
    }
    let addr = lines[0]
        .strip_prefix("chat-widget-server listening on http://")
        .unwrap_or_else(|| panic!("first line: {:?}", lines[0]))
        .to_owned();
    let key = lines[2]
        .strip_prefix("publishable key: ")
        .unwrap_or_else(|| panic!("{:?}", lines[2]))
        .to_owned();
    Running {
        child,
        _stdout: stdout,
        addr,
        key,
        log,
    }
}

/// A response: status, headers (names in lower case), body.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {self:?}"))
    }
}

fn parse_response(raw: &str) -> Response {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Sends `request` (raw bytes) on a fresh connection and reads the whole response.
fn exchange(addr: &str, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request).expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&String::from_utf8_lossy(&raw))
}

/// One HTTP/1.1 request over a fresh connection.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    exchange(addr, request.as_bytes())
}

/// Asks the demo bot (chatbots dialect) for a JSON reply.
fn say(server: &Running, message: &str) -> Response {
    let auth = format!("Bearer {}", server.key);
    http(
        &server.addr,
        "POST",
        "/api/v1/chatbots/demo/chat",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        &serde_json::json!({ "message": message, "stream": false }).to_string(),
    )
}

/// Whether the server closed `stream` (end of file or reset) before `deadline`; anything it
/// sends before closing is read and dropped.
fn closed_by_server(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buffer = [0_u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream
            .set_read_timeout(Some(left.min(Duration::from_secs(1))))
            .expect("timeout");
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
}

#[test]
fn two_thousand_idle_or_trickling_sockets_do_not_stop_a_visitor_and_are_closed_after_the_timeout() {
    // 2,000 sockets here and as many in the server, with room to spare.
    let fd_limit = chat_widget_server::serve::raise_fd_limit();
    assert!(fd_limit >= 4_500, "the open-files limit is {fd_limit}");
    let dir = TempDir::new("idle");
    let server = start(&dir.0, &["--header-timeout-s", "3"]);
    assert_eq!(say(&server, "hello").status, 200);

    let mut idle: Vec<TcpStream> = (0..1_000)
        .map(|_| TcpStream::connect(&server.addr).expect("an idle socket"))
        .collect();
    let mut trickling: Vec<TcpStream> = (0..1_000)
        .map(|_| {
            let mut stream = TcpStream::connect(&server.addr).expect("a trickling socket");
            stream
                .write_all(b"POST /api/v1/chatbots/demo/chat HTTP/1.1\r\n")
                .expect("the request line");
            stream
        })
        .collect();

    // While all of them are open, a visitor chats as usual; the tricklers send a header byte
    // at a time in between.
    for round in 0..3 {
        for stream in &mut trickling {
            let _ = stream.write_all(b"X");
        }
        let reply = say(&server, &format!("where is my order {round}"));
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["success"], true);
    }

    // Then the server closes them: the idle ones that never sent a byte and the trickling
    // ones that never finished their headers.
    let deadline = Instant::now() + Duration::from_secs(60);
    for stream in idle
        .iter_mut()
        .step_by(50)
        .chain(trickling.iter_mut().step_by(50))
    {
        assert!(
            closed_by_server(stream, deadline),
            "a socket without a complete request is closed after the header timeout"
        );
    }
    assert_eq!(say(&server, "still there?").status, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let dir = TempDir::new("keepalive");
    let server = start(&dir.0, &["--header-timeout-s", "2"]);
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes())
        .expect("send");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buffer = [0_u8; 1024];
    let n = stream.read(&mut buffer).expect("the response");
    let response = String::from_utf8_lossy(&buffer[..n]);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("\r\n\r\nok"), "kept alive: {response}");
    assert!(
        closed_by_server(&mut stream, Instant::now() + Duration::from_secs(30)),
        "the kept-alive connection is closed once it has been idle for the timeout"
    );
}

#[test]
fn past_the_connection_cap_a_client_waits_and_is_served_when_room_frees_up() {
    let dir = TempDir::new("cap");
    let server = start(
        &dir.0,
        &["--max-connections", "20", "--header-timeout-s", "120"],
    );
    let mut holders: Vec<TcpStream> = Vec::new();
    // Fill the cap with idle connections; the server has accepted all of them once a
    // request on the last one is answered.
    for _ in 0..19 {
        holders.push(TcpStream::connect(&server.addr).expect("connect"));
    }
    let mut last = TcpStream::connect(&server.addr).expect("connect");
    last.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes())
        .expect("send");
    last.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut buffer = [0_u8; 512];
    let n = last.read(&mut buffer).expect("answered within the cap");
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    holders.push(last);

    // One more client: connected by the kernel, but not answered while the cap is full.
    let mut waiting = TcpStream::connect(&server.addr).expect("queued by the kernel");
    waiting
        .write_all(
            format!(
                "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                server.addr
            )
            .as_bytes(),
        )
        .expect("send");
    waiting
        .set_read_timeout(Some(Duration::from_millis(700)))
        .expect("timeout");
    let early = waiting.read(&mut buffer);
    assert!(
        matches!(&early, Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "not served past the cap: {early:?}"
    );
    // Room frees up: it is served.
    holders.truncate(10);
    waiting
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut raw = Vec::new();
    waiting.read_to_end(&mut raw).expect("served");
    let response = parse_response(&String::from_utf8_lossy(&raw));
    assert_eq!((response.status, response.body.as_str()), (200, "ok"));
}

#[test]
fn a_body_that_does_not_arrive_in_time_gets_a_json_408() {
    let dir = TempDir::new("body");
    let server = start(&dir.0, &["--request-timeout-s", "1"]);
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "POST /v1/chat/message HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {}\r\nContent-Length: 100\r\n\r\n{{\"mess",
        server.addr, server.key
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let response = parse_response(&String::from_utf8_lossy(&raw));
    assert_eq!(response.status, 408, "{response:?}");
    // The jombot shape, since the path is jombot's.
    assert_eq!(
        response.json()["error"]["code"],
        "REQUEST_TIMEOUT",
        "{response:?}"
    );
    assert_eq!(say(&server, "hi").status, 200);
}

#[test]
fn oversized_and_unknown_requests_get_json_errors_in_the_dialect_of_their_path() {
    let dir = TempDir::new("errors");
    let server = start(&dir.0, &[]);
    let auth = format!("Bearer {}", server.key);
    let json_headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let huge = "a".repeat(300_000);

    // 413, in each dialect's own shape.
    let chatbots = http(
        &server.addr,
        "POST",
        "/api/v1/chatbots/demo/chat",
        &json_headers,
        &serde_json::json!({ "message": huge }).to_string(),
    );
    assert_eq!(chatbots.status, 413, "{chatbots:?}");
    assert_eq!(
        chatbots.json(),
        serde_json::json!({"success": false, "error": "The request body is too large", "code": "PAYLOAD_TOO_LARGE"})
    );
    let jombot = http(
        &server.addr,
        "POST",
        "/v1/chat/message",
        &json_headers,
        &serde_json::json!({ "bot_id": "demo", "message": huge }).to_string(),
    );
    assert_eq!(jombot.status, 413);
    assert_eq!(jombot.json()["error"]["code"], "PAYLOAD_TOO_LARGE");
    let openai = http(
        &server.addr,
        "POST",
        "/v1/chat/completions",
        &json_headers,
        &serde_json::json!({ "model": "demo", "messages": [{"role": "user", "content": huge.repeat(3)}] }).to_string(),
    );
    assert_eq!(openai.status, 413);
    assert_eq!(
        openai.json()["error"]["code"],
        "payload_too_large",
        "{openai:?}"
    );

    // No such route: 404; a method the route does not take: 405 with Allow.
    let missing = http(&server.addr, "GET", "/api/v1/nothing", &[], "");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "NOT_FOUND");
    assert_eq!(
        missing.header("content-type"),
        Some("application/json"),
        "{missing:?}"
    );
    let wrong_method = http(&server.addr, "GET", "/api/v1/chatbots/demo/chat", &[], "");
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    assert_eq!(wrong_method.json()["code"], "METHOD_NOT_ALLOWED");
    let chataibot = http(&server.addr, "DELETE", "/api/v1/conversations", &[], "");
    assert_eq!(chataibot.status, 405);
    assert_eq!(
        chataibot.json()["ok"],
        false,
        "chataibot's shape: {chataibot:?}"
    );
    let jelytech = http(&server.addr, "GET", "/v1/chat/nothing", &[], "");
    assert_eq!(jelytech.status, 404);
    assert_eq!(jelytech.json()["error"]["statusCode"], 404, "{jelytech:?}");
    assert_eq!(
        http(&server.addr, "GET", "/widget/missing.js", &[], "").json()["code"],
        "NOT_FOUND"
    );

    // A URL or headers too large: 414 and 431, as JSON.
    let long_url = format!("/v1/chat/history/c?{}", "q".repeat(10_000));
    let too_long = http(&server.addr, "GET", &long_url, &[], "");
    assert_eq!(too_long.status, 414);
    assert_eq!(too_long.json()["error"]["code"], "URI_TOO_LONG");
    let cookie = "c".repeat(40_000);
    let too_large = http(
        &server.addr,
        "GET",
        "/api/v1/chatbots/demo/chat",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(too_large.status, 431);
    assert_eq!(too_large.json()["code"], "HEADERS_TOO_LARGE");

    // And every error carries the request's id, as every response does.
    assert!(too_large
        .header("x-request-id")
        .is_some_and(|id| id.len() == 36));
    assert_eq!(say(&server, "hi").status, 200);
}

#[test]
fn the_log_has_a_line_per_request_and_no_key_token_or_message_text() {
    let dir = TempDir::new("log");
    let admin_token = "admin-token-b7c1e5d9";
    let server = start(
        &dir.0,
        &[
            "--log-format",
            "json",
            "--admin-token",
            admin_token,
            "--reply-delay-ms",
            "0",
        ],
    );
    let secret_words = "zebra quartz 7781 ada@example.com";
    let auth = format!("Bearer {}", server.key);
    let json_headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];

    let reply = say(&server, secret_words);
    assert_eq!(reply.status, 200, "{reply:?}");
    let request_id = reply.header("x-request-id").expect("an id").to_owned();
    let streamed = http(
        &server.addr,
        "POST",
        "/api/v1/chatbots/demo/chat",
        &json_headers,
        &serde_json::json!({ "message": secret_words, "stream": true }).to_string(),
    );
    assert_eq!(streamed.status, 200);
    let jelytech = http(
        &server.addr,
        "POST",
        "/v1/chat/send",
        &json_headers,
        &serde_json::json!({ "botId": "demo", "message": secret_words }).to_string(),
    );
    assert_eq!(jelytech.status, 200, "{jelytech:?}");
    let started = http(
        &server.addr,
        "POST",
        "/api/v1/conversations",
        &json_headers,
        &serde_json::json!({
            "channel": "API",
            "message": { "type": "TEXT", "data": { "body": secret_words } },
            "bot_key": "demo",
            "from": { "user_external_id": "visitor-1", "type": "VISITOR" },
        })
        .to_string(),
    );
    assert_eq!(started.status, 200, "{started:?}");
    // A wrong key, a client's own request id, and the admin token at work.
    let wrong = http(
        &server.addr,
        "POST",
        "/api/v1/chatbots/demo/chat",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer pk_live_wrongwrongwrongwrong00"),
            ("X-Request-Id", "client-chosen-id-123"),
        ],
        &serde_json::json!({ "message": secret_words }).to_string(),
    );
    assert_eq!(wrong.status, 401);
    assert_ne!(wrong.header("x-request-id"), Some("client-chosen-id-123"));
    let admin_auth = format!("Bearer {admin_token}");
    let created = http(
        &server.addr,
        "POST",
        "/v1/bots",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &admin_auth),
        ],
        &serde_json::json!({ "name": "Logged", "configuration": { "greeting": secret_words } })
            .to_string(),
    );
    assert!(created.status < 300, "{created:?}");

    // A webhook whose secret is chosen, posted to a receiver that is not there (so its
    // failures are logged), and bots with an AI upstream: one that answers, one that fails.
    let webhook_secret = "whsec-never-shown-again-8d2e";
    let hook = http(
        &server.addr,
        "POST",
        "/v1/bots/demo/webhooks",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &admin_auth),
        ],
        &serde_json::json!({ "url": "http://127.0.0.1:9/hook", "events": ["message.received"],
                             "secret": webhook_secret })
        .to_string(),
    );
    assert_eq!(hook.status, 201, "{hook:?}");
    let hooks = http(
        &server.addr,
        "GET",
        "/v1/bots/demo/webhooks",
        &[("Authorization", &admin_auth)],
        "",
    );
    assert_eq!(hooks.status, 200, "{hooks:?}");
    assert!(!hooks.body.contains(webhook_secret), "{hooks:?}");
    let fake = FakeUpstream::start();
    let mut upstream_replies = Vec::new();
    for (name, model, status) in [("Modelled", "echo", 200), ("Broken", "fail-500", 502)] {
        let bot = http(
            &server.addr,
            "POST",
            "/v1/bots",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &admin_auth),
            ],
            &serde_json::json!({ "name": name, "configuration": { "upstream": {
                "url": format!("http://127.0.0.1:{}/v1", fake.1), "model": model,
                "apiKeyEnv": UPSTREAM_KEY_ENV } } })
            .to_string(),
        );
        assert_eq!(bot.status, 201, "{bot:?}");
        let (id, key) = (
            bot.json()["bot"]["id"].as_str().expect("id").to_owned(),
            bot.json()["publishableKey"]
                .as_str()
                .expect("key")
                .to_owned(),
        );
        let auth = format!("Bearer {key}");
        let reply = http(
            &server.addr,
            "POST",
            "/v1/chat/send",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            &serde_json::json!({ "botId": id, "message": secret_words }).to_string(),
        );
        assert_eq!(reply.status, status, "{reply:?}");
        let read = http(
            &server.addr,
            "GET",
            &format!("/v1/bots/{id}"),
            &[("Authorization", &admin_auth)],
            "",
        );
        upstream_replies.extend([bot, reply, read]);
    }
    assert!(upstream_replies[1].body.contains("You said: zebra"));
    for reply in upstream_replies.iter().chain([&hook, &hooks, &created]) {
        assert!(!reply.body.contains(UPSTREAM_KEY), "{reply:?}");
    }

    // The lines are written as the responses go out; wait for the last one.
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = server.log();
        if log.contains("\"status\":2")
            && log.lines().filter(|l| l.contains("\"status\"")).count() >= 14
            && log.contains("upstream failed")
        {
            break log;
        }
        assert!(Instant::now() < deadline, "log so far: {log}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let ours = lines
        .iter()
        .find(|line| line["span"]["id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("a line for {request_id}: {log}"));
    assert_eq!(ours["status"], 200);
    assert_eq!(ours["span"]["method"], "POST");
    assert_eq!(ours["span"]["path"], "/api/v1/chatbots/demo/chat");
    assert!(
        ours["latency"].as_str().is_some_and(|l| l.ends_with(" ms")),
        "{ours}"
    );
    assert!(lines.iter().any(|line| line["status"] == 401));

    for forbidden in [
        server.key.as_str(),
        admin_token,
        "pk_live_wrongwrong",
        "zebra",
        "quartz",
        "ada@example.com",
        "client-chosen-id",
        UPSTREAM_KEY,
        webhook_secret,
    ] {
        assert!(
            !log.contains(forbidden),
            "{forbidden:?} is in the log:\n{log}"
        );
    }
}

/// Runs the `bot` admin command; returns (success, stdout, stderr).
fn admin(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BINARY)
        .arg("bot")
        .args(args)
        .output()
        .expect("run the bot command");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The value after `prefix` on a line of `out`.
fn printed<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {out}"))
}

#[test]
fn a_publishable_key_chats_but_analytics_needs_the_secret_key_or_the_admin_token() {
    let dir = TempDir::new("keys");
    let data = dir.0.join("data");
    let data = data.to_string_lossy();
    let server = start(&dir.0, &["--admin-token", "admin-9f3e"]);
    assert_eq!(say(&server, "my email is ada@example.com").status, 200);
    let analytics = |key: &str| {
        http(
            &server.addr,
            "GET",
            "/v1/bots/demo/analytics",
            &[("Authorization", &format!("Bearer {key}"))],
            "",
        )
    };

    // The key every page carries cannot read what visitors wrote.
    let refused = analytics(&server.key);
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.json()["error"]["code"], "SECRET_KEY_REQUIRED");
    assert!(!refused.body.contains("ada@example.com"));
    // Nor can it create bots.
    let create = http(
        &server.addr,
        "POST",
        "/v1/bots",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {}", server.key)),
        ],
        r#"{"name":"Sneaky"}"#,
    );
    assert_eq!(create.status, 401, "{create:?}");
    // It still reads the bot's public look.
    let look = http(
        &server.addr,
        "GET",
        "/v1/bots/demo",
        &[("Authorization", &format!("Bearer {}", server.key))],
        "",
    );
    assert_eq!(look.status, 200, "{look:?}");

    // A secret key, made by the bot command and shown once, reads the analytics.
    let (ok, out, err) = admin(&["--data-dir", &data, "--bot", "demo", "--new-secret-key"]);
    assert!(ok, "{err}");
    let secret = printed(&out, "secret key: ")
        .split(' ')
        .next()
        .unwrap_or("")
        .to_owned();
    assert!(
        secret.starts_with("sk_live_") && secret.len() >= 40,
        "{secret}"
    );
    let (ok, again, _) = admin(&["--data-dir", &data, "--bot", "demo", "--credits", "100"]);
    assert!(ok && !again.contains(&secret), "shown only once: {again}");
    let stored = std::fs::read(dir.0.join("data").join("chat.sqlite3")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&stored).contains(&secret[8..]),
        "stored hashed, not as it is"
    );
    let allowed = analytics(&secret);
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert!(allowed.body.contains("ada@example.com"), "{allowed:?}");
    assert_eq!(analytics("admin-9f3e").status, 200);

    // Another bot's secret key reads only its own bot.
    let (ok, out, err) = admin(&["--data-dir", &data, "--create", "shop", "--name", "Shop"]);
    assert!(ok, "{err}");
    let shop_secret = printed(&out, "secret key: ")
        .split(' ')
        .next()
        .unwrap_or("")
        .to_owned();
    assert_ne!(shop_secret, secret);
    assert_eq!(analytics(&shop_secret).status, 404);
    assert_eq!(
        http(
            &server.addr,
            "GET",
            "/v1/bots/shop/analytics",
            &[("Authorization", &format!("Bearer {shop_secret}"))],
            "",
        )
        .status,
        200
    );
    // A made-up secret key is no key at all.
    assert_eq!(
        analytics("sk_live_0000000000000000000000000000000000").status,
        401
    );

    // Training documents and webhooks change what the bot says and where its visitors' words
    // go: the secret key or the admin token, never the page's key.
    let call = |method: &str, path: &str, key: &str, body: &str| {
        http(
            &server.addr,
            method,
            path,
            &[
                ("Authorization", &format!("Bearer {key}")),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    };
    let hook = r#"{"url":"http://127.0.0.1:9/hook","events":["message.received"]}"#;
    for (method, path, body) in [
        ("GET", "/v1/bots/demo/documents", ""),
        ("DELETE", "/v1/bots/demo/documents/doc_nope", ""),
        ("GET", "/v1/bots/demo/webhooks", ""),
        ("POST", "/v1/bots/demo/webhooks", hook),
        ("POST", "/v1/bots/demo/train", ""),
    ] {
        let refused = call(method, path, &server.key, body);
        assert_eq!(refused.status, 403, "{method} {path}: {refused:?}");
        assert_eq!(refused.json()["error"]["code"], "SECRET_KEY_REQUIRED");
        // Another bot's secret key finds no such bot.
        assert_eq!(call(method, path, &shop_secret, body).status, 404);
    }
    let listed = call("GET", "/v1/bots/demo/documents", &secret, "");
    assert_eq!(listed.status, 200, "{listed:?}");
    assert!(listed.json()["documents"].is_array(), "{listed:?}");
    let added = call("POST", "/v1/bots/demo/webhooks", &secret, hook);
    assert_eq!(added.status, 201, "{added:?}");
    let hooks = call("GET", "/v1/bots/demo/webhooks", "admin-9f3e", "");
    assert_eq!(hooks.json()["webhooks"].as_array().map(Vec::len), Some(1));
    let missing = call("DELETE", "/v1/bots/demo/documents/doc_nope", &secret, "");
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.json()["error"]["code"], "DOCUMENT_NOT_FOUND");
}

/// Asks the demo bot as a visitor of `conversation` (chatbots dialect) from `ip` (sent as
/// `X-Forwarded-For`, which the server trusts in these tests).
fn say_as(server: &Running, key: &str, ip: &str, conversation: Option<&str>) -> Response {
    let mut body = serde_json::json!({ "message": "hello", "stream": false });
    if let Some(conversation) = conversation {
        body["conversationId"] = conversation.into();
    }
    http(
        &server.addr,
        "POST",
        "/api/v1/chatbots/demo/chat",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {key}")),
            ("X-Forwarded-For", ip),
        ],
        &body.to_string(),
    )
}

fn number_header(response: &Response, name: &str) -> u64 {
    response
        .header(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name}: {response:?}"))
}

#[test]
fn a_second_visitor_still_chats_while_the_first_is_rate_limited() {
    let dir = TempDir::new("visitors");
    let data = dir.0.join("data");
    let server = start(&dir.0, &["--trust-forwarded-for"]);
    let (ok, _, err) = admin(&[
        "--data-dir",
        &data.to_string_lossy(),
        "--bot",
        "demo",
        "--visitor-rate-limit",
        "3",
    ]);
    assert!(ok, "{err}");

    // The first visitor starts a conversation and keeps talking until refused.
    let first = say_as(&server, &server.key, "203.0.113.1", None);
    assert_eq!(first.status, 200, "{first:?}");
    let conversation = first.json()["data"]["conversationId"]
        .as_str()
        .expect("a conversation")
        .to_owned();
    let mut remaining = Vec::new();
    let refused = loop {
        let reply = say_as(&server, &server.key, "203.0.113.1", Some(&conversation));
        if reply.status == 429 {
            break reply;
        }
        assert_eq!(reply.status, 200, "{reply:?}");
        remaining.push(number_header(&reply, "x-ratelimit-remaining"));
        assert!(remaining.len() <= 3, "never refused: {remaining:?}");
    };
    assert_eq!(remaining, [2, 1, 0], "the visitor's own window");
    assert_eq!(number_header(&refused, "x-ratelimit-limit"), 3);
    assert_eq!(number_header(&refused, "x-ratelimit-remaining"), 0);
    assert!(refused.json()["retryAfter"]
        .as_u64()
        .is_some_and(|s| s >= 1));

    // Another visitor of the same bot, elsewhere: untouched by the first one's limit.
    let second = say_as(&server, &server.key, "198.51.100.2", None);
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(number_header(&second, "x-ratelimit-limit"), 3);
    assert_eq!(number_header(&second, "x-ratelimit-remaining"), 2);
    // The same address in another conversation is another visitor too.
    let other_tab = say_as(
        &server,
        &server.key,
        "203.0.113.1",
        Some("conv_made_up_elsewhere"),
    );
    assert_ne!(other_tab.status, 429, "{other_tab:?}");
    // While the first is still refused.
    assert_eq!(
        say_as(&server, &server.key, "203.0.113.1", Some(&conversation)).status,
        429
    );
}

#[test]
fn wrong_keys_are_limited_per_address() {
    let dir = TempDir::new("keyfail");
    let server = start(&dir.0, &["--trust-forwarded-for"]);
    let mut statuses = Vec::new();
    for attempt in 0..40 {
        let guess = format!("pk_live_{attempt:024}");
        let reply = say_as(&server, &guess, "203.0.113.66", None);
        statuses.push(reply.status);
        if reply.status == 429 {
            assert!(reply.header("retry-after").is_some(), "{reply:?}");
            break;
        }
        assert_eq!(reply.status, 401, "{reply:?}");
    }
    assert_eq!(
        statuses.last(),
        Some(&429),
        "guessing is throttled: {statuses:?}"
    );
    // While refused, that address gets no answer about keys, right or wrong.
    assert_eq!(
        say_as(&server, &server.key, "203.0.113.66", None).status,
        429
    );
    // Visitors elsewhere are not affected.
    assert_eq!(
        say_as(&server, &server.key, "198.51.100.3", None).status,
        200
    );
}

/// Runs `sql` on the server's SQLite file through a second connection (the server keeps
/// running): the test's seam to age rows and to count them. A `SELECT` gives its first
/// column of its first row.
fn sql(dir: &Path, statement: &str) -> Option<i64> {
    let url = format!(
        "sqlite://{}",
        dir.join("data").join("chat.sqlite3").display()
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("open");
            let found = if statement.trim_start().starts_with("SELECT") {
                let row: (i64,) = sqlx::query_as(statement)
                    .fetch_one(&pool)
                    .await
                    .expect(statement);
                Some(row.0)
            } else {
                sqlx::query(statement)
                    .execute(&pool)
                    .await
                    .expect(statement);
                None
            };
            pool.close().await;
            found
        })
}

/// Waits (at most `limit`) until `done` holds.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

#[test]
fn invented_ids_and_addresses_cost_at_most_twice_the_bots_limit_in_windows_and_ended_ones_go() {
    let dir = TempDir::new("invented");
    let data = dir.0.join("data");
    let server = start(&dir.0, &["--trust-forwarded-for", "--rate-window-s", "10"]);
    let (ok, _, err) = admin(&[
        "--data-dir",
        &data.to_string_lossy(),
        "--bot",
        "demo",
        "--rate-limit",
        "20",
    ]);
    assert!(ok, "{err}");
    let windows = || sql(&dir.0, "SELECT COUNT(*) FROM rate_windows").unwrap_or(-1);

    // 150 visitors that never were: a new conversation id and a new address each time.
    let mut statuses = Vec::new();
    for i in 0..150 {
        let ip = format!("10.9.{}.{}", i / 200, i % 200 + 1);
        let reply = say_as(&server, &server.key, &ip, Some(&format!("made-up-{i}")));
        statuses.push(reply.status);
        if i % 50 == 49 {
            // A window per visitor and one per address the bot let in, and no more: twice the
            // bot's limit in each of the current and the just-ended window, plus the bot's own.
            let stored = windows();
            assert!(
                stored <= 2 * (2 * 20) + 2,
                "{stored} windows after {i} requests"
            );
        }
    }
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 100,
        "the bot's own limit refused the rest: {statuses:?}"
    );
    // Ended windows are deleted in the background.
    assert!(
        eventually(Duration::from_secs(30), || windows() == 0),
        "{} windows left",
        windows()
    );
}

#[test]
fn with_retain_days_old_conversations_are_deleted_in_the_background() {
    let dir = TempDir::new("retain");
    let server = start(
        &dir.0,
        &[
            "--retain-days",
            "30",
            "--retention-interval-s",
            "1",
            "--admin-token",
            "admin-r",
        ],
    );
    let conversation = |reply: Response| {
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()["data"]["conversationId"]
            .as_str()
            .expect("a conversation")
            .to_owned()
    };
    let old = conversation(say(&server, "an old question about returns"));
    let recent = conversation(say(&server, "a recent question about shipping"));
    let history = |id: &str| {
        http(
            &server.addr,
            "GET",
            &format!("/v1/chat/history/{id}"),
            &[("Authorization", &format!("Bearer {}", server.key))],
            "",
        )
    };
    let total = || {
        let reply = http(
            &server.addr,
            "GET",
            "/v1/bots/demo/analytics",
            &[("Authorization", "Bearer admin-r")],
            "",
        );
        reply.json()["analytics"]["totalMessages"]
            .as_u64()
            .expect("a total")
    };
    assert_eq!(history(&old).status, 200);
    let before = total();
    assert_eq!(before, 4, "two exchanges");

    // 40 days pass for the first conversation (the seam: its rows are aged through SQL).
    let day_ms = 86_400_000_i64;
    for table in ["messages", "conversations"] {
        let column = if table == "messages" {
            "conversation_id"
        } else {
            "id"
        };
        sql(
            &dir.0,
            &format!(
                "UPDATE {table} SET created_at = created_at - {} WHERE {column} = '{old}'",
                40 * day_ms
            ),
        );
    }
    assert!(
        eventually(Duration::from_secs(30), || history(&old).status == 404),
        "the old conversation is still there: {:?}",
        history(&old)
    );
    let gone = history(&old);
    assert_eq!(gone.json()["error"]["code"], "CONVERSATION_NOT_FOUND");
    assert_eq!(
        sql(
            &dir.0,
            &format!("SELECT COUNT(*) FROM messages WHERE conversation_id = '{old}'")
        ),
        Some(0),
        "its messages went with it"
    );
    // The recent one stays, and the day's totals are kept as aggregates.
    let kept = history(&recent);
    assert_eq!(kept.status, 200, "{kept:?}");
    assert_eq!(kept.json()["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(total(), before);
    assert!(server.log().contains("deleted old conversations"));
}

/// The `Link` header's target for `rel`, if any (a reference relative to the request's URL:
/// `?before=…&limit=…`).
fn link(response: &Response, rel: &str) -> Option<String> {
    let header = response.header("link")?;
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        params
            .contains(&format!("rel=\"{rel}\""))
            .then(|| target.trim().trim_matches(['<', '>']).to_owned())
    })
}

fn ids(messages: &serde_json::Value) -> Vec<String> {
    messages
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[test]
fn history_comes_in_pages_latest_first_and_older_pages_follow_the_cursor() {
    let dir = TempDir::new("pages");
    let server = start(&dir.0, &[]);
    let auth = format!("Bearer {}", server.key);
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let mut conversation = serde_json::Value::Null;
    for i in 0..6 {
        let mut body = serde_json::json!({ "botId": "demo", "message": format!("question {i}") });
        if !conversation.is_null() {
            body["conversationId"] = conversation.clone();
        }
        let sent = http(
            &server.addr,
            "POST",
            "/v1/chat/send",
            &headers,
            &body.to_string(),
        );
        assert_eq!(sent.status, 200, "{sent:?}");
        conversation = sent.json()["conversationId"].clone();
    }
    let path = format!("/v1/chat/history/{}", conversation.as_str().expect("an id"));
    let get = |query: &str| http(&server.addr, "GET", &format!("{path}{query}"), &headers, "");

    // Without parameters: everything fits the default page, oldest first, nothing more.
    let all = get("");
    assert_eq!(all.status, 200, "{all:?}");
    let everything = ids(&all.json()["messages"]);
    assert_eq!(everything.len(), 12);
    assert_eq!(all.json()["messages"][0]["content"], "question 0");
    assert_eq!(
        all.json().get("hasMore"),
        None,
        "the vendor's shape when nothing is left"
    );
    assert_eq!(all.header("link"), None);

    // A small page is the latest messages, still oldest first, and points to the older ones.
    let latest = get("?limit=5");
    assert_eq!(ids(&latest.json()["messages"]), everything[7..]);
    assert_eq!(latest.json()["hasMore"], true);
    assert_eq!(link(&latest, "next"), None);
    // Following the cursor back reads the whole conversation once.
    let mut pages = vec![ids(&latest.json()["messages"])];
    let mut older = link(&latest, "prev");
    while let Some(query) = older {
        let page = get(&query);
        assert_eq!(page.status, 200, "{query}: {page:?}");
        pages.push(ids(&page.json()["messages"]));
        older = link(&page, "prev");
        assert_eq!(page.json()["hasMore"] == true, older.is_some());
        assert!(pages.len() <= 3, "{pages:?}");
    }
    pages.reverse();
    assert_eq!(pages.concat(), everything);
    // And forward from a message.
    let newer = get(&format!("?after={}&limit=3", everything[2]));
    assert_eq!(ids(&newer.json()["messages"]), everything[3..6]);
    assert_eq!(newer.json()["hasMore"], true);
    assert!(link(&newer, "next").is_some_and(|next| next.contains(&everything[5])));

    // Bad paging is a clear 400 in the dialect's shape.
    for bad in [
        "?limit=0",
        "?limit=201",
        "?before=msg_nope",
        "?before=a&after=b",
    ] {
        let refused = get(bad);
        assert_eq!(refused.status, 400, "{bad}: {refused:?}");
        assert_eq!(refused.json()["error"]["code"], "INVALID_REQUEST");
    }
}

#[test]
fn chataibot_messages_come_in_pages_and_polling_after_a_message_still_works() {
    let dir = TempDir::new("cpages");
    let server = start(&dir.0, &["--reply-delay-ms", "0"]);
    let auth = format!("Bearer {}", server.key);
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let started = http(
        &server.addr,
        "POST",
        "/api/v1/conversations",
        &headers,
        &serde_json::json!({
            "channel": "API",
            "message": { "type": "text", "data": { "body": "question 0" } },
            "bot_key": "demo",
            "from": { "user_external_id": "visitor-pages", "type": "VISITOR" },
        })
        .to_string(),
    );
    assert_eq!(started.status, 200, "{started:?}");
    let id = started.json()["conversation"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let path = format!("/api/v1/conversation/{id}/messages");
    for i in 1..4 {
        let sent = http(
            &server.addr,
            "POST",
            &path,
            &headers,
            &serde_json::json!({
                "message": { "type": "text", "data": { "body": format!("question {i}") } },
                "user": { "type": "VISITOR" },
            })
            .to_string(),
        );
        assert_eq!(sent.status, 200, "{sent:?}");
    }
    let get = |query: &str| http(&server.addr, "GET", &format!("{path}{query}"), &headers, "");
    // Every answer is delivered (4 questions, 4 answers).
    assert!(
        eventually(Duration::from_secs(20), || get("").json()["messages"]
            .as_array()
            .is_some_and(|m| m.len() == 8)),
        "{:?}",
        get("")
    );
    let all = get("");
    let everything = ids(&all.json()["messages"]);
    assert_eq!(all.json().get("has_more"), None);

    let latest = get("?limit=3");
    assert_eq!(ids(&latest.json()["messages"]), everything[5..]);
    assert_eq!(latest.json()["has_more"], true);
    let older = link(&latest, "prev").expect("a link to older messages");
    let page = get(&older);
    assert_eq!(ids(&page.json()["messages"]), everything[2..5]);
    // A poll after a message gets what came after it, oldest first, as before.
    let polled = get(&format!("?after={}", everything[3]));
    assert_eq!(ids(&polled.json()["messages"]), everything[4..]);
    assert_eq!(polled.json().get("has_more"), None);
    let refused = get("?limit=ten");
    assert_eq!(refused.status, 400, "{refused:?}");
}
