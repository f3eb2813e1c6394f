//! The real binary, as a person or a script at a terminal uses it: start it on a free port,
//! read the printed lines, chat over a socket (as JSON and streamed, paced by
//! `--stream-delay-ms`, including a visitor who hangs up mid-reply), change the bot with the
//! `bot` admin command while it runs, stop it with SIGTERM, and start it again on the same data
//! directory.

mod support;
use support::TempDir;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_chat-widget-server");

/// A running server and what it printed.
struct Running {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    addr: String,
    key: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &Path) -> Running {
    start_with(data_dir, &[])
}

fn database_args(data_dir: &Path) -> Vec<String> {
    support::database_args(data_dir)
}

/// The server's store, opened alongside it, and a runtime to use it with.
fn open_alongside(data_dir: &Path) -> (tokio::runtime::Runtime, chat_widget_server::Store) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let args = database_args(data_dir);
    let store = runtime
        .block_on(chat_widget_server::Store::open_or_connect(
            data_dir,
            args.get(1).map(String::as_str),
            &Default::default(),
        ))
        .expect("open the database alongside");
    (runtime, store)
}

fn start_with(data_dir: &Path, extra_args: &[&str]) -> Running {
    let mut child = Command::new(BINARY)
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(database_args(data_dir))
        .args(["--dist-dir"])
        .arg(data_dir.join("no-dist"))
        .args(extra_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
    assert_eq!(lines[1], "demo bot: demo");
    let key = lines[2]
        .strip_prefix("publishable key: ")
        .unwrap_or_else(|| panic!("{:?}", lines[2]))
        .to_owned();
    assert!(key.starts_with("pk_live_") && key.len() == 32, "{key}");
    assert_eq!(lines[3], format!("demo page: http://{addr}/"));
    Running {
        child,
        _stdout: stdout,
        addr,
        key,
    }
}

/// One HTTP/1.1 exchange over a fresh connection: returns (status, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("receive");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Asks the demo bot for a JSON reply.
fn say(server: &Running, message: &str) -> (u16, String) {
    let auth = format!("Bearer {}", server.key);
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    http(
        &server.addr,
        "POST",
        "/api/v1/chatbots/demo/chat",
        &headers,
        &format!("{{\"message\":\"{message}\",\"stream\":false}}"),
    )
}

/// Opens a connection and asks the demo bot for a streamed reply; the response is left to
/// read from the returned socket.
fn ask_streamed(server: &Running, message: &str) -> TcpStream {
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = format!("{{\"message\":\"{message}\",\"stream\":true}}");
    let request = format!(
        "POST /api/v1/chatbots/demo/chat HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        server.addr,
        server.key,
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    stream
}

/// Reads from a streamed response until `needle` has been seen `times` times; returns all
/// that was read and when each read arrived.
fn read_until(stream: &mut TcpStream, needle: &str, times: usize) -> (String, Vec<Instant>) {
    let (mut text, mut arrivals) = (String::new(), Vec::new());
    let mut buffer = [0_u8; 4096];
    while text.matches(needle).count() < times {
        let n = stream.read(&mut buffer).expect("read");
        assert!(n > 0, "the stream ended early: {text}");
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        arrivals.push(Instant::now());
    }
    (text, arrivals)
}

fn admin(args: &[&str]) -> (bool, String, String) {
    let data_dir = args
        .iter()
        .position(|arg| *arg == "--data-dir")
        .and_then(|at| args.get(at + 1))
        .map(|dir| database_args(Path::new(dir)))
        .unwrap_or_default();
    let output = Command::new(BINARY)
        .arg("bot")
        .args(args)
        .args(data_dir)
        .output()
        .expect("run the bot command");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[cfg(unix)]
fn terminate(server: &mut Running) -> bool {
    let pid = server.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .is_ok_and(|s| s.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.child.try_wait() {
            return sent && status.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn an_operator_runs_the_server_and_changes_the_bot_while_it_runs() {
    let dir = TempDir::new("operator");
    let data = dir.0.to_string_lossy().into_owned();
    let mut server = start(&dir.0);
    let first_key = server.key.clone();

    assert_eq!(
        http(&server.addr, "GET", "/healthz", &[], ""),
        (200, "ok".to_owned())
    );
    let (status, page) = http(&server.addr, "GET", "/", &[], "");
    assert_eq!(status, 200);
    assert!(page.contains(&format!("data-api-key=\"{}\"", server.key)));
    assert!(page.contains(&format!("data-api-url=\"http://{}\"", server.addr)));
    assert_eq!(
        http(&server.addr, "GET", "/widget/chat-widget.js", &[], "").0,
        404
    );

    let (status, body) = say(&server, "where is my order");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("{\"success\":true,\"data\":{\"response\":"),
        "{body}"
    );

    // No credits left: the running server answers 402 on the next request.
    let (ok, out, err) = admin(&["--data-dir", &data, "--bot", "demo", "--credits", "0"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "bot demo: credits 0, rate limit 600/min, visitor rate limit 30/min, origins *, stream default true, key active, monthly quota unlimited"
    );
    let (status, body) = say(&server, "hi");
    assert_eq!(status, 402, "{body}");
    assert!(body.contains("\"code\":\"INSUFFICIENT_CREDITS\""));

    let (ok, out, err) = admin(&[
        "--data-dir",
        &data,
        "--bot",
        "demo",
        "--credits",
        "unlimited",
        "--rate-limit",
        "1",
        "--origins",
        "https://a.test,https://b.test",
        "--stream-default",
        "true",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("credits unlimited, rate limit 1/min, visitor rate limit 30/min, origins https://a.test,https://b.test"),
        "{out}"
    );
    // Two requests were already counted in this minute, so a limit of 1 refuses the next.
    let (status, body) = say(&server, "hi");
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("\"retryAfter\":"), "{body}");

    // A second bot with its own key.
    let (ok, out, err) = admin(&[
        "--data-dir",
        &data,
        "--create",
        "shop2",
        "--name",
        "Shop Two",
    ]);
    assert!(ok, "{err}");
    let key = out
        .lines()
        .find_map(|line| line.strip_prefix("publishable key: "))
        .expect("key line");
    assert!(
        out.starts_with("bot: shop2\n") && key.starts_with("pk_live_"),
        "{out}"
    );
    let (ok, _, err) = admin(&["--data-dir", &data, "--create", "shop2"]);
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = admin(&["--data-dir", &data, "--bot", "nope", "--credits", "1"]);
    assert!(!ok && err.contains("no bot"), "{err}");

    #[cfg(unix)]
    assert!(
        terminate(&mut server),
        "SIGTERM shuts the server down cleanly"
    );
    drop(server);

    // Started again on the same directory: the same key, the settings kept, and the
    // rate-limit window too (it lives in the database, like the quota).
    let server = start(&dir.0);
    assert_eq!(server.key, first_key);
    let (status, body) = say(&server, "hi");
    assert_eq!(status, 429, "a restart does not reset the window: {body}");
    let (ok, _, err) = admin(&["--data-dir", &data, "--bot", "demo", "--rate-limit", "10"]);
    assert!(ok, "{err}");
    assert_eq!(
        say(&server, "hi").0,
        200,
        "the raised limit applies at once"
    );
}

#[test]
fn a_streamed_reply_arrives_word_by_word_and_a_visitor_can_hang_up() {
    let dir = TempDir::new("stream");
    let server = start_with(&dir.0, &["--stream-delay-ms", "40"]);

    // Paced: the deltas of a reply arrive over time, not in one burst.
    let mut stream = ask_streamed(&server, "where is my order");
    let (text, arrivals) = read_until(&mut stream, "event: done", 1);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.to_lowercase()
            .contains("content-type: text/event-stream"),
        "{text}"
    );
    assert!(text.contains("event: start\ndata: {\"conversationId\":\"conv_"));
    assert!(text.contains("event: delta\ndata: {\"content\":\"You \"}"));
    assert!(text.contains("event: actions\n"));
    let elapsed = arrivals.last().copied().unwrap_or_else(Instant::now)
        - arrivals.first().copied().unwrap_or_else(Instant::now);
    assert!(
        elapsed >= Duration::from_millis(1000),
        "about 80 words 40 ms apart took {elapsed:?}"
    );
    drop(stream);

    // A visitor who hangs up after two words: the server stores what it sent, unfinished.
    let mut stream = ask_streamed(&server, "where is my order");
    let (text, _) = read_until(&mut stream, "event: delta", 2);
    let conversation = text
        .split("\"conversationId\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a conversation id")
        .to_owned();
    drop(stream);

    let (runtime, store) = open_alongside(&dir.0);
    let deadline = Instant::now() + Duration::from_secs(5);
    let reply = loop {
        let messages = runtime
            .block_on(store.messages(&conversation))
            .expect("messages");
        match messages.get(1) {
            Some(reply) if !reply.content.is_empty() => break reply.clone(),
            _ if Instant::now() > deadline => panic!("nothing stored: {messages:?}"),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let full = runtime
        .block_on(chat_widget_server::faq::answer(
            &store,
            "demo",
            "Acme Assistant",
            "where is my order",
        ))
        .expect("an answer")
        .text;
    assert!(!reply.complete, "{reply:?}");
    assert!(
        reply.content.starts_with("You can "),
        "what was read: {reply:?}"
    );
    assert!(
        full.starts_with(&reply.content) && reply.content.len() < full.len() / 2,
        "a prefix, cut soon after the hang-up: {reply:?}"
    );

    // And the server carries on.
    assert_eq!(say(&server, "thanks").0, 200);
}

#[test]
fn with_a_short_rate_window_a_limited_visitor_may_send_again_seconds_later() {
    let dir = TempDir::new("window");
    let data = dir.0.to_string_lossy().into_owned();
    let (ok, _, err) = admin(&["--data-dir", &data, "--bot", "demo", "--rate-limit", "1"]);
    assert!(ok, "{err}");
    let server = start_with(&dir.0, &["--rate-window-s", "2"]);

    assert_eq!(say(&server, "hi").0, 200);
    let (status, body) = say(&server, "hi");
    assert_eq!(status, 429, "{body}");
    let retry_after: u64 = body
        .split("\"retryAfter\":")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches('}').parse().ok())
        .unwrap_or_else(|| panic!("{body}"));
    assert!((1..=2).contains(&retry_after), "{body}");
    std::thread::sleep(Duration::from_secs(retry_after));
    assert_eq!(say(&server, "hi").0, 200, "the 2-second window is over");
}

#[test]
fn help_and_bad_arguments() {
    let output = Command::new(BINARY).arg("--help").output().expect("run");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("--data-dir"));
    let output = Command::new(BINARY)
        .arg("--port")
        .arg("1")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unexpected argument '--port'"));
}

/// An operator whose PostgreSQL is down (or on another port) reads at once where the server
/// looked and why it got no answer, without the password, while it waits for the database.
#[test]
fn a_database_that_does_not_answer_is_named_at_once_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(BINARY)
        .args(["--addr", "127.0.0.1:0", "--database-url"])
        .arg(format!("postgres://chat:s3cret@127.0.0.1:{port}/chat"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let line = stderr
        .lines()
        .map_while(Result::ok)
        .find(|line| line.contains("does not answer"));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a line saying the database does not answer");
    assert!(
        line.contains(&format!("postgres://chat:***@127.0.0.1:{port}/chat"))
            && line.contains("refused")
            && line.contains("waiting up to 60 s"),
        "{line}"
    );
    assert!(!line.contains("s3cret"), "{line}");
}

/// A small valid PDF whose one page is its own parent: `pdf-extract` looks up the page's
/// inherited resources through `/Parent` without end, overflowing its stack, which aborts the
/// process it runs in whatever the panic strategy.
fn self_parented_pdf() -> String {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        "<< /Length 35 >>\nstream\nBT /F1 12 Tf 72 712 Td (Hi) Tj ET\nendstream",
    ];
    let mut pdf = "%PDF-1.4\n".to_owned();
    let mut offsets = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{object}\nendobj\n", n + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        pdf.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf
}

#[test]
fn a_pdf_that_crashes_the_extractor_is_refused_and_the_server_keeps_serving() {
    let dir = TempDir::new("pdf-crash");
    let server = start_with(&dir.0, &["--admin-token", "pdf-admin-token"]);
    let boundary = "chatwidgetboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"loop.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n{}\r\n--{boundary}--\r\n",
        self_parented_pdf()
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let (status, reply) = http(
        &server.addr,
        "POST",
        "/v1/bots/demo/train",
        &[
            ("Authorization", "Bearer pdf-admin-token"),
            ("Content-Type", &content_type),
        ],
        &body,
    );
    assert_eq!(status, 400, "{reply}");
    assert!(reply.contains("corrupt"), "{reply}");
    // Still serving.
    assert_eq!(
        http(&server.addr, "GET", "/healthz", &[], ""),
        (200, "ok".to_owned())
    );
    let (status, reply) = say(&server, "where is my order");
    assert_eq!(status, 200, "{reply}");

    // The admin command refuses it the same way (and says why) rather than crashing.
    let file = dir.0.join("loop.pdf");
    std::fs::write(&file, self_parented_pdf()).expect("write the PDF");
    let data = dir.0.to_string_lossy().into_owned();
    let file = file.to_string_lossy().into_owned();
    let (ok, _, stderr) = admin(&["--data-dir", &data, "--bot", "demo", "--train", &file]);
    assert!(!ok);
    assert!(stderr.contains("corrupt"), "{stderr}");
}

/// HTML nested thousands deep takes the extractor time quadratic in the depth (a 10 MiB
/// upload of `<div>`s would hold a core for hours): in its child process it is cut off at the
/// timeout and refused, while ordinary HTML still reads.
#[test]
fn html_that_would_run_the_extractor_for_hours_is_cut_off_and_refused() {
    use chat_widget_server::documents::{self, Kind};
    documents::extract_in_child_processes(BINARY.into(), Duration::from_secs(2));
    let nested = format!("{}hi{}", "<div>".repeat(40_000), "</div>".repeat(40_000));
    let started = Instant::now();
    let refused = documents::passages(Kind::Html, nested.as_bytes(), "Deep");
    assert!(refused.is_err(), "{:?}", refused.map(|p| p.len()));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let read = documents::passages(
        Kind::Html,
        b"<h1>Returns</h1><p>Within 30 days.</p><script>x()</script>",
        "Shop",
    )
    .map_err(|why| why.0)
    .expect("ordinary HTML reads");
    assert!(read.iter().any(|p| p.body.contains("Within 30 days")));
    assert!(!read.iter().any(|p| p.body.contains("x()")));
    let not_utf8 = documents::passages(Kind::Html, b"caf\xe9", "Shop").map_err(|why| why.0);
    assert!(not_utf8.is_err_and(|why| why.contains("not UTF-8")));
}
