//! The real binary, several processes on one database (SQLite file, or PostgreSQL with
//! `CHAT_TEST_DATABASE_URL`): two instances serve one bot as one, and a `kill -9` loses no
//! acknowledged message.

mod support;
use support::TempDir;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_chat-widget-server");

/// A running server process, killed when dropped.
struct Server {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    addr: String,
    key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(["--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--dist-dir"])
            .arg(data_dir.join("no-dist"))
            .args(support::database_args(data_dir))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = || {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read a line");
            line.trim_end().to_owned()
        };
        let addr = line()
            .strip_prefix("chat-widget-server listening on http://")
            .expect("the address line")
            .to_owned();
        line();
        let key = line()
            .strip_prefix("publishable key: ")
            .expect("the key line")
            .to_owned();
        line();
        Self {
            child,
            _stdout: stdout,
            addr,
            key,
        }
    }

    /// `kill -9`: no shutdown, no cleanup.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// One request with the demo key; returns the status and the JSON body (`Null` if none).
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            self.key,
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("receive");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let json = response
            .split_once("\r\n\r\n")
            .and_then(|(_, body)| serde_json::from_str(body).ok())
            .unwrap_or(Value::Null);
        (status, json)
    }

    /// A JSON chat message to the demo bot, in `conversation` if given.
    fn say(&self, message: &str, conversation: Option<&str>) -> (u16, Value) {
        let mut body = json!({ "message": message, "stream": false });
        if let Some(id) = conversation {
            body["conversationId"] = json!(id);
        }
        self.call("POST", "/api/v1/chatbots/demo/chat", Some(body))
    }

    /// A chataibot visitor message: a new conversation, or the next message of one.
    fn chataibot(&self, text: &str, conversation: Option<&str>) -> (u16, Value) {
        let message = json!({ "type": "text", "data": { "body": text } });
        match conversation {
            None => self.call(
                "POST",
                "/api/v1/conversations",
                Some(json!({
                    "channel": "API",
                    "bot_key": "demo",
                    "from": { "user_external_id": "visitor-1", "type": "VISITOR" },
                    "message": message,
                })),
            ),
            Some(id) => self.call(
                "POST",
                &format!("/api/v1/conversation/{id}/messages"),
                Some(json!({ "message": message, "user": { "type": "VISITOR" } })),
            ),
        }
    }

    /// A chataibot conversation's messages: (sender, body) in order.
    fn chataibot_messages(&self, conversation: &str) -> Vec<(String, String)> {
        let (status, json) = self.call(
            "GET",
            &format!("/api/v1/conversation/{conversation}/messages"),
            None,
        );
        assert_eq!(status, 200, "{json}");
        json["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| {
                (
                    m["from"].as_str().unwrap_or_default().to_owned(),
                    m["body"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

fn admin(data_dir: &Path, args: &[&str]) {
    let output = Command::new(BINARY)
        .arg("bot")
        .arg("--data-dir")
        .arg(data_dir)
        .args(support::database_args(data_dir))
        .args(args)
        .output()
        .expect("run the bot command");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Polls `check` every 100 ms until it is true, for at most `limit`.
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_instances_serve_one_bot_as_one() {
    let dir = TempDir::new("two");
    let a = Server::start(&dir.0, &["--reply-delay-ms", "50"]);
    let b = Server::start(&dir.0, &["--reply-delay-ms", "50"]);
    assert_ne!(a.addr, b.addr);
    assert_eq!(a.key, b.key, "one demo bot, one key");
    admin(&dir.0, &["--bot", "demo", "--rate-limit", "4"]);

    // One conversation, whichever instance answers.
    let (status, first) = a.say("where is my order", None);
    assert_eq!(status, 200, "{first}");
    let conversation = first["data"]["conversationId"]
        .as_str()
        .expect("id")
        .to_owned();
    for server in [&b, &a, &b] {
        let (status, reply) = server.say("and shipping?", Some(&conversation));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["data"]["conversationId"], json!(conversation));
    }

    // One rate limit: four requests were counted, by two processes; the fifth is refused by
    // either.
    let (status, refused) = a.say("hi", None);
    assert_eq!(status, 429, "{refused}");
    assert_eq!(b.say("hi", None).0, 429);

    // One quota: four replies this month; a quota of 6 leaves two, whoever sends them.
    admin(
        &dir.0,
        &["--bot", "demo", "--rate-limit", "1000", "--quota", "6"],
    );
    assert_eq!(b.say("hi", None).0, 200);
    assert_eq!(a.say("hi", None).0, 200);
    let (status, over) = b.say("hi", None);
    assert_eq!(status, 403, "{over}");
    assert_eq!(a.say("hi", None).0, 403);

    // A chataibot message accepted by one instance is answered and read through the other.
    admin(&dir.0, &["--bot", "demo", "--quota", "unlimited"]);
    let (status, started) = a.chataibot("How long does shipping take?", None);
    assert_eq!(status, 200, "{started}");
    let id = started["conversation"]["id"]
        .as_str()
        .expect("conversation id")
        .to_owned();
    wait_until(
        "the answer, read through B",
        Duration::from_secs(10),
        || {
            b.chataibot_messages(&id)
                .iter()
                .any(|(from, _)| from == "BOT")
        },
    );
    let (status, sent) = b.chataibot("Thanks!", Some(&id));
    assert_eq!(status, 200, "{sent}");
    wait_until(
        "both answers, read through A",
        Duration::from_secs(10),
        || {
            let messages = a.chataibot_messages(&id);
            messages.iter().filter(|(from, _)| from == "BOT").count() == 2
        },
    );
    let senders: Vec<String> = a
        .chataibot_messages(&id)
        .into_iter()
        .map(|(from, _)| from)
        .collect();
    assert_eq!(senders, ["VISITOR", "BOT", "VISITOR", "BOT"]);
}

#[test]
fn a_kill_9_loses_no_acknowledged_answer_and_interrupts_the_reply_it_cut() {
    let dir = TempDir::new("kill");
    admin(&dir.0, &["--bot", "demo", "--credits", "100"]);
    // Answers due 3 s after each message: the process dies with all of them pending.
    let server = Server::start(
        &dir.0,
        &["--reply-delay-ms", "3000", "--stream-delay-ms", "300"],
    );
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        let (status, started) = server.chataibot(&format!("Where is my order {n}?"), None);
        assert_eq!(status, 200, "{started}");
        acknowledged.push(
            started["conversation"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    // And a streamed reply cut off after its first words.
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    let body = r#"{"message":"where is my order","stream":true}"#;
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
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while seen.matches("event: delta").count() < 2 {
        let n = stream.read(&mut buffer).expect("read");
        assert!(n > 0, "the stream ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let cut = seen
        .split("\"conversationId\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the streamed conversation")
        .to_owned();

    server.kill_9();
    drop(stream);

    // Restarted: every acknowledged message gets its answer.
    let server = Server::start(&dir.0, &["--reply-delay-ms", "3000"]);
    wait_until(
        "every acknowledged message answered",
        Duration::from_secs(30),
        || {
            acknowledged.iter().all(|id| {
                server
                    .chataibot_messages(id)
                    .iter()
                    .any(|(from, body)| from == "BOT" && !body.is_empty())
            })
        },
    );
    for id in &acknowledged {
        let senders: Vec<String> = server
            .chataibot_messages(id)
            .into_iter()
            .map(|(from, _)| from)
            .collect();
        assert_eq!(senders, ["VISITOR", "BOT"], "answered once: {id}");
    }

    // The cut reply: shown in the history as partial (what was sent, possibly nothing, as the
    // dead process never wrote it), its credit given back once the dead instance is noticed.
    let history = || {
        let (status, json) = server.call("GET", &format!("/v1/chat/history/{cut}"), None);
        assert_eq!(status, 200, "{json}");
        json["messages"].as_array().cloned().unwrap_or_default()
    };
    wait_until(
        "the cut reply marked interrupted",
        Duration::from_secs(30),
        || history().len() == 2,
    );
    let messages = history();
    assert_eq!(messages[1]["role"], json!("assistant"));
    assert_eq!(messages[1]["partial"], json!(true), "{messages:?}");
    let (runtime, store) = open_alongside(&dir.0);
    let bot = runtime
        .block_on(store.bot("demo"))
        .expect("read")
        .expect("demo");
    // 5 chataibot answers and 1 streamed reply were paid for; the streamed one came back.
    assert_eq!(bot.credits, Some(95), "the interrupted reply costs nothing");
    let month = runtime
        .block_on(store.replies_this_month("demo"))
        .expect("read");
    assert_eq!(month, 5, "nor does it count towards the quota");
}

/// The server's store, opened alongside it, and a runtime to use it with.
fn open_alongside(data_dir: &Path) -> (tokio::runtime::Runtime, chat_widget_server::Store) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let args = support::database_args(data_dir);
    let store = runtime
        .block_on(chat_widget_server::Store::open_or_connect(
            data_dir,
            args.get(1).map(String::as_str),
            &Default::default(),
        ))
        .expect("open the database alongside");
    (runtime, store)
}
