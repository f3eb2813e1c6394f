//! A bot backed by an AI model: the reference server (driven with `oneshot`) against a real
//! second process on loopback, `support/fake_upstream.mjs`, an OpenAI-compatible server with
//! injectable faults. Streaming in every dialect, the context sent (system prompt, passages,
//! the conversation), the key from an environment variable, usage counted in credits, Stop
//! and hang-up aborting the upstream request, and each failure as the dialect's error with
//! the visitor's message kept.

mod support;
use support::TempDir;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chat_widget_protocol::sse::SseParser;
use chat_widget_server::store::{BotUpdate, Role, StoredMessage, DEMO_BOT_ID};
use chat_widget_server::upstream::{self, Settings};
use chat_widget_server::{app, chataibot, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use support::eventually;
use tower::ServiceExt;

/// The key the fake upstream should receive, from the variable the bot's settings name.
const KEY_ENV: &str = "CHAT_TEST_UPSTREAM_KEY";
const KEY: &str = "sk-test-upstream-0123456789";
const ADMIN: &str = "test-admin-token";

/// The fake upstream process, killed when dropped.
struct Fake {
    child: Child,
    port: u16,
}

impl Fake {
    fn start() -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_upstream.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg("0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node tests/support/fake_upstream.mjs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the port");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    async fn log(&self) -> Value {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let text = client
            .get(format!("http://127.0.0.1:{}/log", self.port))
            .send()
            .await
            .expect("GET /log")
            .text()
            .await
            .expect("log body");
        serde_json::from_str(&text).expect("log JSON")
    }

    async fn aborted(&self) -> u64 {
        self.log().await["aborted"].as_u64().unwrap_or(0)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Server {
    state: AppState,
    key: String,
    fake: Fake,
    _dir: TempDir,
}

impl Server {
    /// A fresh server whose demo bot has no upstream yet, and a secret key for it.
    async fn without_upstream() -> (Self, String) {
        let server = Self::with_model("echo").await;
        upstream::set_settings(&server.state.store, DEMO_BOT_ID, None)
            .await
            .expect("no upstream yet");
        let secret = server
            .state
            .store
            .create_secret_key(DEMO_BOT_ID)
            .await
            .expect("a secret key");
        (server, secret)
    }

    /// A fresh server whose demo bot asks the fake for `model`.
    async fn with_model(model: &str) -> Self {
        std::env::set_var(KEY_ENV, KEY);
        let dir = TempDir::new("upstream");
        let state = support::state(
            &dir.path().join("data"),
            &dir.path().join("dist"),
            "127.0.0.1:8787",
        )
        .await
        .with_stream_delay(Duration::ZERO)
        .with_reply_delay(Duration::ZERO)
        .with_upstream_timeout(Duration::from_millis(1500))
        .with_admin_token(Some(ADMIN.to_owned()));
        let key = state
            .store
            .first_key(DEMO_BOT_ID)
            .await
            .expect("key")
            .expect("demo key")
            .key;
        let fake = Fake::start();
        let server = Self {
            state,
            key,
            fake,
            _dir: dir,
        };
        server.use_model(model).await;
        server
    }

    async fn use_model(&self, model: &str) {
        let settings = Settings {
            system_prompt: "You are the Acme Store's assistant.".to_owned(),
            temperature: Some(0.3),
            max_tokens: Some(200),
            key_env: Some(KEY_ENV.to_owned()),
            ..Settings::new(&self.fake.url(), model)
        };
        upstream::set_settings(&self.state.store, DEMO_BOT_ID, Some(&settings))
            .await
            .expect("set the upstream");
    }

    fn request(&self, method: Method, path: &str, body: Option<Value>) -> Request<Body> {
        self.request_as(&self.key, method, path, body)
    }

    fn request_as(
        &self,
        bearer: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Request<Body> {
        let builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request")
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.key.clone(), method, path, body).await
    }

    async fn call_as(
        &self,
        bearer: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let request = self.request_as(bearer, method, path, body);
        let (status, headers, body) = support::send_to(&self.state, request).await;
        Reply {
            status,
            retry_after: headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: String::from_utf8(body).expect("UTF-8"),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn chat(&self, body: Value) -> Reply {
        self.post("/api/v1/chatbots/demo/chat", body).await
    }

    async fn conversation_of(&self, message_id: &str) -> String {
        self.state
            .store
            .conversation_of_message(message_id)
            .await
            .expect("read")
            .expect("a conversation")
    }

    async fn messages(&self, conversation: &str) -> Vec<StoredMessage> {
        self.state.store.messages(conversation).await.expect("read")
    }

    async fn credits(&self) -> Option<u64> {
        let bot = self.state.store.bot(DEMO_BOT_ID).await.expect("read");
        bot.expect("demo").credits
    }
}

struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    /// `(event name, data)` of each SSE event.
    fn events(&self) -> Vec<(String, String)> {
        let mut parser = SseParser::new();
        let mut events = parser.feed(self.body.as_bytes());
        events.extend(parser.finish());
        events.into_iter().map(|e| (e.event, e.data)).collect()
    }

    /// The text of the `delta` events (chatbots) or chunks (openai).
    fn streamed_text(&self) -> String {
        self.events()
            .iter()
            .filter_map(|(name, data)| {
                let value: Value = serde_json::from_str(data).ok()?;
                match name.as_str() {
                    "delta" => value["content"].as_str().map(str::to_owned),
                    "message" => value["choices"][0]["delta"]["content"]
                        .as_str()
                        .map(str::to_owned),
                    _ => None,
                }
            })
            .collect()
    }
}

#[tokio::test]
async fn replies_stream_from_the_model_in_every_dialect_with_the_conversation_and_passages() {
    let server = Server::with_model("echo").await;
    server
        .state
        .store
        .update_bot(
            DEMO_BOT_ID,
            &BotUpdate {
                credits: Some(Some(1000)),
                ..Default::default()
            },
        )
        .await
        .expect("credits");

    // chatbots, SSE: the upstream's deltas, as they came, then `done` with the whole reply.
    let first = server
        .chat(json!({"message": "How long does shipping take?", "stream": true}))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let events = first.events();
    assert_eq!(events[0].0, "start");
    let deltas: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "delta")
        .map(|(_, d)| d.as_str())
        .collect();
    assert!(deltas.len() >= 5, "word by word: {deltas:?}");
    assert_eq!(
        first.streamed_text(),
        "You said: How long does shipping take?"
    );
    let done: Value = serde_json::from_str(&events.last().expect("done").1).expect("done JSON");
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("done"));
    let conversation = done["conversationId"].as_str().expect("id").to_owned();
    let stored = server.messages(&conversation).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].content, "You said: How long does shipping take?");
    assert!(stored[1].complete);
    // Usage: the upstream reported 42 tokens for the reply, counted in credits.
    eventually("the reply's tokens are counted", || async {
        server.credits().await == Some(1000 - 42)
    })
    .await;
    let used = server.state.store.replies_this_month(DEMO_BOT_ID).await;
    assert_eq!(used.expect("read"), 42, "the monthly quota counts them too");

    // What the model was sent: the system prompt, the demo FAQ's passages with their titles,
    // the key from the environment variable, and the sampling settings.
    let log = server.fake.log().await;
    let request = &log["requests"][0];
    assert_eq!(request["authorization"], format!("Bearer {KEY}"));
    let body = &request["body"];
    assert_eq!(body["stream"], true);
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["max_tokens"], 200);
    let system = body["messages"][0]["content"].as_str().expect("system");
    assert!(system.starts_with("You are the Acme Store's assistant."));
    assert!(
        system.contains("[How long does shipping take?]") && system.contains("working days"),
        "the shipping passage, titled: {system}"
    );

    // chatbots, JSON, in the same conversation: the conversation so far is sent.
    let second = server
        .chat(json!({"message": "And to Canada?", "conversationId": conversation, "stream": false}))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(
        second.json()["data"]["response"],
        "You said: And to Canada?"
    );
    let log = server.fake.log().await;
    let turns: Vec<(String, String)> = log["requests"][1]["body"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or("").to_owned(),
                m["content"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(turns.len(), 4, "{turns:?}");
    assert_eq!(turns[0].0, "system");
    assert_eq!(
        turns[1],
        ("user".into(), "How long does shipping take?".into())
    );
    assert_eq!(
        turns[2],
        (
            "assistant".into(),
            "You said: How long does shipping take?".into()
        )
    );
    assert_eq!(turns[3], ("user".into(), "And to Canada?".into()));

    // jombot and jelytech: JSON with the whole reply.
    let jombot = server
        .post(
            "/v1/chat/message",
            json!({"message": "Hi jombot", "bot_id": "demo"}),
        )
        .await;
    assert_eq!(jombot.status, StatusCode::OK, "{}", jombot.body);
    assert_eq!(jombot.json()["response"], "You said: Hi jombot");
    let jelytech = server
        .post(
            "/v1/chat/send",
            json!({"message": "Hi jelytech", "botId": "demo"}),
        )
        .await;
    assert_eq!(jelytech.status, StatusCode::OK, "{}", jelytech.body);
    assert_eq!(jelytech.json()["response"], "You said: Hi jelytech");

    // openai: the client's own history is the conversation; chunks ending with [DONE].
    let history = json!([
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer"},
        {"role": "user", "content": "Hi openai"}
    ]);
    let streamed = server
        .post(
            "/v1/chat/completions",
            json!({"model": "demo", "messages": history, "stream": true}),
        )
        .await;
    assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.body);
    assert_eq!(streamed.streamed_text(), "You said: Hi openai");
    assert_eq!(
        streamed.events().last().map(|e| e.1.as_str()),
        Some("[DONE]")
    );
    let log = server.fake.log().await;
    let sent = log["requests"][4]["body"]["messages"]
        .as_array()
        .expect("m");
    assert_eq!(sent.len(), 4, "system + the client's three turns: {sent:?}");
    assert_eq!(sent[2]["content"], "First answer");
    let plain = server
        .post(
            "/v1/chat/completions",
            json!({"model": "demo", "messages": history}),
        )
        .await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    assert_eq!(
        plain.json()["choices"][0]["message"]["content"],
        "You said: Hi openai"
    );
    assert_eq!(plain.json()["usage"]["total_tokens"], 42);

    // chataibot: the model's reply is the delivered BOT message.
    let started = server
        .post(
            "/api/v1/conversations",
            json!({"bot_key": "demo", "channel": "API",
                   "from": {"user_external_id": "v1"},
                   "message": {"type": "text", "data": {"body": "Hi chataibot"}}}),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let id = started.json()["conversation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    eventually("the model's answer is delivered", || async {
        let poll = server
            .call(
                Method::GET,
                &format!("/api/v1/conversation/{id}/messages"),
                None,
            )
            .await;
        poll.json()["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["body"] == "You said: Hi chataibot"))
    })
    .await;

    // A model that ignores `stream` and answers one JSON object works too.
    server.use_model("json").await;
    let json_model = server
        .chat(json!({"message": "Plain please", "stream": true}))
        .await;
    assert_eq!(json_model.streamed_text(), "Plainly: Plain please");

    // The key never reaches a client.
    for reply in [&first, &second, &jombot, &jelytech, &streamed, &plain] {
        assert!(!reply.body.contains(KEY));
    }
}

/// A broken or hostile model may report any number of tokens (u64::MAX, i64::MAX and one past
/// it): each reply is counted at most [`upstream::MAX_REPORTED_TOKENS`], so nothing overflows
/// or wraps, the counters stay readable numbers on both databases, and the bot goes on
/// answering within its credits and quota.
#[tokio::test]
async fn a_model_that_reports_absurd_usage_is_counted_a_sane_amount_and_the_bot_goes_on_answering()
{
    let cap = upstream::MAX_REPORTED_TOKENS;
    let server = Server::with_model(&format!("usage:{}", u64::MAX)).await;
    server
        .state
        .store
        .update_bot(
            DEMO_BOT_ID,
            &BotUpdate {
                credits: Some(Some(5 * cap)),
                monthly_quota: Some(Some(10 * cap)),
                ..BotUpdate::default()
            },
        )
        .await
        .expect("limits");
    let used = || async {
        let used = server.state.store.replies_this_month(DEMO_BOT_ID).await;
        used.expect("the month's usage reads as a number")
    };

    // Streamed: counted once the stream has ended.
    let streamed = server.chat(json!({"message": "Hi", "stream": true})).await;
    assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.body);
    assert_eq!(streamed.streamed_text(), "You said: Hi");
    eventually("u64::MAX tokens cost the cap", || async {
        server.credits().await == Some(4 * cap)
    })
    .await;
    assert_eq!(used().await, cap);

    // Collected (JSON): i64::MAX, the largest the databases hold, and one past it.
    let i64_max = u64::try_from(i64::MAX).expect("fits");
    for (n, reported) in [i64_max, i64_max + 1].into_iter().enumerate() {
        server.use_model(&format!("usage:{reported}")).await;
        let reply = server
            .chat(json!({"message": "Again", "stream": false}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reported}: {}", reply.body);
        assert_eq!(reply.json()["data"]["response"], "You said: Again");
        let left = (3 - n as u64) * cap;
        eventually("the cap is spent again", || async {
            server.credits().await == Some(left)
        })
        .await;
        assert_eq!(used().await, (2 + n as u64) * cap);
    }

    // The openai dialect answers the usage it counted, not the model's number.
    server.use_model(&format!("usage:{}", u64::MAX)).await;
    let plain = server
        .post(
            "/v1/chat/completions",
            json!({"model": "demo", "messages": [{"role": "user", "content": "Sum?"}]}),
        )
        .await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    assert_eq!(plain.json()["usage"]["total_tokens"], cap);
    eventually("the cap is spent a fourth time", || async {
        server.credits().await == Some(cap)
    })
    .await;
    assert_eq!(used().await, 4 * cap);

    // The bot still answers, an honest model's usage counts as before, and the owner's
    // analytics still read.
    server.use_model("echo").await;
    let honest = server
        .chat(json!({"message": "Still there?", "stream": false}))
        .await;
    assert_eq!(honest.status, StatusCode::OK, "{}", honest.body);
    assert_eq!(honest.json()["data"]["response"], "You said: Still there?");
    assert_eq!(server.credits().await, Some(cap - 42));
    assert_eq!(used().await, 4 * cap + 42);
    let analytics = server
        .call_as(ADMIN, Method::GET, "/v1/bots/demo/analytics", None)
        .await;
    assert_eq!(analytics.status, StatusCode::OK, "{}", analytics.body);
}

#[tokio::test]
async fn stop_and_hang_up_abort_the_upstream_request_and_keep_the_partial_reply() {
    let server = Server::with_model("slow").await;

    // SSE: the visitor stops after a few words (the widget aborts its fetch: the body is
    // dropped).
    let response = app(server.state.clone())
        .oneshot(server.request(
            Method::POST,
            "/api/v1/chatbots/demo/chat",
            Some(json!({"message": "Tell me a long story", "stream": true})),
        ))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut seen = String::new();
    while seen.matches("event: delta").count() < 3 {
        let frame = body.frame().await.expect("a frame").expect("ok");
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    let start: Value = serde_json::from_str(
        seen.lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("start data"),
    )
    .expect("start JSON");
    let reply_id = start["messageId"].as_str().expect("message id").to_owned();
    drop(body);
    eventually("the fake sees its connection closed", || async {
        server.fake.aborted().await == 1
    })
    .await;
    let conversation = server.conversation_of(&reply_id).await;
    eventually("the partial reply is stored as incomplete", || async {
        let messages = server.messages(&conversation).await;
        messages.len() == 2 && !messages[1].complete && messages[1].content.starts_with("w0 w1 w2")
    })
    .await;
    let log = server.fake.log().await;
    assert_eq!(log["completed"], 0);

    // JSON (jelytech): the visitor hangs up while the reply is collected.
    let call = app(server.state.clone()).oneshot(server.request(
        Method::POST,
        "/v1/chat/send",
        Some(json!({"message": "Another long one", "botId": "demo"})),
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(600), call)
            .await
            .is_err(),
        "the slow model cannot have finished"
    );
    eventually("the fake sees the second connection closed", || async {
        server.fake.aborted().await == 2
    })
    .await;
}

/// Each failure of the model, in the chatbots dialect (JSON and SSE) and another dialect's
/// shape; the visitor's message is stored every time, and nothing half-stored stays complete.
#[tokio::test]
async fn model_failures_become_each_dialects_error_and_keep_the_visitors_message() {
    let server = Server::with_model("fail-500").await;
    let cases = [
        // (model, status before any text, code, message part)
        ("fail-500", StatusCode::BAD_GATEWAY, "SERVER_ERROR"),
        (
            "fail-429",
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
        ),
        ("hang", StatusCode::GATEWAY_TIMEOUT, "SERVER_ERROR"),
    ];
    for (model, status, code) in cases {
        server.use_model(model).await;
        let message = format!("question for {model}");
        for stream in [false, true] {
            let reply = server
                .chat(json!({"message": message, "stream": stream}))
                .await;
            assert_eq!(
                reply.status, status,
                "{model} stream={stream}: {}",
                reply.body
            );
            assert_eq!(reply.json()["code"], code, "{model}");
            assert_eq!(reply.json()["success"], false);
            if model == "fail-429" {
                assert_eq!(reply.retry_after.as_deref(), Some("7"));
                assert_eq!(reply.json()["retryAfter"], 7, "{}", reply.body);
            }
        }
        let jombot = server
            .post(
                "/v1/chat/message",
                json!({"message": message, "bot_id": "demo"}),
            )
            .await;
        assert_eq!(jombot.status, status, "{}", jombot.body);
        assert!(
            jombot.json()["error"]["code"].is_string(),
            "{}",
            jombot.body
        );
        let openai = server
            .post(
                "/v1/chat/completions",
                json!({"model": "demo", "messages": [{"role": "user", "content": message}]}),
            )
            .await;
        assert_eq!(openai.status, status, "{}", openai.body);
        assert!(openai.json()["error"]["message"].is_string());
    }

    // Failures after the stream began: the error event ends it, the text so far is stored
    // incomplete. Before it began (JSON): the dialect's error.
    let cases = [
        ("malformed", "Partly ", StatusCode::BAD_GATEWAY),
        ("drop", "Half a reply ", StatusCode::BAD_GATEWAY),
        ("stall", "", StatusCode::GATEWAY_TIMEOUT),
    ];
    for (model, partial, status) in cases {
        server.use_model(model).await;
        let reply = server
            .chat(json!({"message": format!("stream {model}"), "stream": true}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{model}: {}", reply.body);
        let events = reply.events();
        assert_eq!(
            events.last().map(|e| e.0.as_str()),
            Some("error"),
            "{model}"
        );
        assert_eq!(reply.streamed_text(), partial, "{model}");
        let error: Value = serde_json::from_str(&events.last().expect("e").1).expect("JSON");
        assert_eq!(error["code"], "SERVER_ERROR");
        // (From the start event: a reply of which nothing was sent is withdrawn, so its id
        // may name nothing by now.)
        let conversation = serde_json::from_str::<Value>(&events[0].1).expect("start")
            ["conversationId"]
            .as_str()
            .expect("id")
            .to_owned();
        eventually("the partial reply is settled", || async {
            let messages = server.messages(&conversation).await;
            let visitor_kept =
                messages[0].role == Role::User && messages[0].content == format!("stream {model}");
            let settled = if partial.is_empty() {
                messages.len() == 1
            } else {
                messages.len() == 2 && !messages[1].complete && messages[1].content == partial
            };
            visitor_kept && settled
        })
        .await;
        let json_reply = server
            .post(
                "/v1/chat/send",
                json!({"message": format!("json {model}"), "botId": "demo"}),
            )
            .await;
        assert_eq!(json_reply.status, status, "{model}: {}", json_reply.body);
        assert_eq!(json_reply.json()["success"], false);
        assert_eq!(
            json_reply.json()["error"]["statusCode"],
            status.as_u16(),
            "{}",
            json_reply.body
        );
    }

    // A missing key variable is a 502 that names nothing secret.
    let settings = Settings {
        key_env: Some("CHAT_TEST_UNSET_VARIABLE".into()),
        ..Settings::new(&server.fake.url(), "echo")
    };
    upstream::set_settings(&server.state.store, DEMO_BOT_ID, Some(&settings))
        .await
        .expect("set");
    let reply = server
        .chat(json!({"message": "no key", "stream": false}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.body);

    // An https URL is spoken to with TLS: the fake speaks plain HTTP, so the handshake fails,
    // a 502 like any unreachable model.
    let https = Settings::new(
        &format!("https://127.0.0.1:{}/v1", server.fake.port),
        "echo",
    );
    upstream::set_settings(&server.state.store, DEMO_BOT_ID, Some(&https))
        .await
        .expect("set");
    let reply = server
        .chat(json!({"message": "over TLS", "stream": false}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.body);
    let log = server.fake.log().await;
    assert!(
        !log["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .any(|r| r["body"]["messages"].to_string().contains("over TLS")),
        "no plain-text request was made"
    );

    // Without an upstream the documents answer again.
    upstream::set_settings(&server.state.store, DEMO_BOT_ID, None)
        .await
        .expect("remove");
    let reply = server
        .chat(json!({"message": "How long does shipping take?", "stream": false}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json()["data"]["response"]
        .as_str()
        .is_some_and(|r| r.contains("working days")));
}

#[tokio::test]
async fn the_settings_endpoint_takes_the_secret_key_or_the_admin_token_never_a_publishable_key() {
    let (server, secret) = Server::without_upstream().await;
    let settings = json!({"url": server.fake.url(), "model": "echo",
                          "systemPrompt": "Be brief.", "temperature": 0.2,
                          "maxTokens": 100, "apiKeyEnv": KEY_ENV});
    let pk = server.key.clone();

    // The page's publishable key changes nothing the bot says: refused on every platform
    // endpoint (the AI model's settings, training documents, webhooks).
    for (method, path, body) in [
        (Method::GET, "/v1/bots/demo/upstream", None),
        (
            Method::PUT,
            "/v1/bots/demo/upstream",
            Some(settings.clone()),
        ),
        (Method::DELETE, "/v1/bots/demo/upstream", None),
        (Method::GET, "/v1/bots/demo/documents", None),
        (Method::POST, "/v1/bots/demo/train", Some(json!({}))),
        (Method::DELETE, "/v1/bots/demo/documents/doc_demo_faq", None),
        (Method::GET, "/v1/bots/demo/webhooks", None),
        (
            Method::POST,
            "/v1/bots/demo/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/h", "events": ["message.sent"]})),
        ),
    ] {
        let reply = server.call_as(&pk, method.clone(), path, body).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(
            reply.json()["error"]["code"],
            "SECRET_KEY_REQUIRED",
            "{path}"
        );
    }
    assert!(upstream::settings(&server.state.store, DEMO_BOT_ID)
        .await
        .expect("read")
        .is_none());

    // The admin token names the key's variable (a secret key may not: see
    // `a_secret_key_cannot_send_the_servers_environment_to_a_url_of_its_choice`); the bot's
    // secret key changes the rest. They are answered with the key's variable by name.
    let named = server
        .call_as(
            ADMIN,
            Method::PUT,
            "/v1/bots/demo/upstream",
            Some(settings.clone()),
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.body);
    let mut settings = settings;
    settings["systemPrompt"] = json!("Be very brief.");
    let put = server
        .call_as(
            &secret,
            Method::PUT,
            "/v1/bots/demo/upstream",
            Some(settings),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.json()["upstream"]["model"], "echo");
    assert_eq!(put.json()["upstream"]["apiKeyEnv"], KEY_ENV);
    assert_eq!(put.json()["upstream"]["maxTokens"], 100);
    assert_eq!(put.json()["upstream"]["systemPrompt"], "Be very brief.");
    assert!(!put.body.contains(KEY));
    let reply = server
        .chat(json!({"message": "Are you a model?", "stream": false}))
        .await;
    assert_eq!(
        reply.json()["data"]["response"],
        "You said: Are you a model?"
    );
    let read = server
        .call_as(ADMIN, Method::GET, "/v1/bots/demo/upstream", None)
        .await;
    assert_eq!(read.json()["upstream"], put.json()["upstream"]);

    // A key in the settings, or a URL this server cannot speak to, is refused and changes
    // nothing.
    for bad in [
        json!({"url": server.fake.url(), "model": "echo", "apiKey": KEY}),
        json!({"url": "ftp://api.example/v1", "model": "echo"}),
        json!({"url": server.fake.url()}),
        json!({"url": server.fake.url(), "model": "echo", "temperature": "hot"}),
    ] {
        let reply = server
            .call_as(&secret, Method::PUT, "/v1/bots/demo/upstream", Some(bad))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "INVALID_REQUEST");
        assert!(!reply.body.contains(KEY));
    }
    let read = server
        .call_as(&secret, Method::GET, "/v1/bots/demo/upstream", None)
        .await;
    assert_eq!(read.json()["upstream"]["model"], "echo");

    // The admin token removes them: the documents answer again.
    let removed = server
        .call_as(ADMIN, Method::DELETE, "/v1/bots/demo/upstream", None)
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(removed.json()["upstream"], Value::Null);
    let reply = server
        .chat(json!({"message": "How long does shipping take?", "stream": false}))
        .await;
    assert!(reply.json()["data"]["response"]
        .as_str()
        .is_some_and(|r| r.contains("working days")));
}

/// `apiKeyEnv` names a variable of the server's environment whose value goes to the URL as the
/// bearer key: a bot owner with a secret key must not choose which variable goes where, or a
/// PUT with its own URL and `"apiKeyEnv": "DATABASE_PASSWORD"` (or another bot's upstream key)
/// hands the server's secrets to the owner's server with the next chat message.
#[tokio::test]
async fn a_secret_key_cannot_send_the_servers_environment_to_a_url_of_its_choice() {
    const OPERATOR_ENV: &str = "CHAT_TEST_OPERATOR_ONLY_SECRET";
    const OPERATOR_SECRET: &str = "operator-only-secret-9876543210";
    std::env::set_var(OPERATOR_ENV, OPERATOR_SECRET);
    let (server, secret) = Server::without_upstream().await;
    // The fake stands for the bot owner's own server.
    let attack = json!({"url": server.fake.url(), "model": "echo", "apiKeyEnv": OPERATOR_ENV});
    let put = server
        .call_as(&secret, Method::PUT, "/v1/bots/demo/upstream", Some(attack))
        .await;
    assert_eq!(put.status, StatusCode::FORBIDDEN, "{}", put.body);
    assert_eq!(put.json()["error"]["code"], "ADMIN_TOKEN_REQUIRED");
    assert!(upstream::settings(&server.state.store, DEMO_BOT_ID)
        .await
        .expect("read")
        .is_none());

    // Settings the admin made with a key: a secret key cannot send that key elsewhere either.
    let admin = json!({"url": server.fake.url(), "model": "echo", "apiKeyEnv": KEY_ENV});
    let put = server
        .call_as(ADMIN, Method::PUT, "/v1/bots/demo/upstream", Some(admin))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    for attack in [
        json!({"url": server.fake.url(), "model": "echo", "apiKeyEnv": OPERATOR_ENV}),
        json!({"url": "http://127.0.0.1:9/v1", "model": "echo", "apiKeyEnv": KEY_ENV}),
    ] {
        let put = server
            .call_as(&secret, Method::PUT, "/v1/bots/demo/upstream", Some(attack))
            .await;
        assert_eq!(put.status, StatusCode::FORBIDDEN, "{}", put.body);
        assert_eq!(put.json()["error"]["code"], "ADMIN_TOKEN_REQUIRED");
    }
    let kept = upstream::settings(&server.state.store, DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.key_env.as_deref(), Some(KEY_ENV));
    assert_eq!(kept.url, server.fake.url());

    // The chat sends only the variable the admin chose.
    let reply = server
        .chat(json!({"message": "Who gets the key?", "stream": false}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let log = server.fake.log().await;
    assert!(!log.to_string().contains(OPERATOR_SECRET), "{log}");

    // A secret key still sets a URL of its own without a key variable.
    let own = json!({"url": server.fake.url(), "model": "echo"});
    let put = server
        .call_as(&secret, Method::PUT, "/v1/bots/demo/upstream", Some(own))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.json()["upstream"]["apiKeyEnv"], Value::Null);
}

/// A URL a secret key chooses for the bot's AI model is asked at public addresses only: the
/// server never posts a visitor's chat into its own network for a bot owner (a model on
/// loopback, named by address or by a name that resolves there, gets nothing, and the
/// visitor gets the 502 of an unreachable model), while the operator's settings reach it.
#[tokio::test]
async fn a_secret_key_cannot_aim_the_bots_model_at_the_servers_own_network() {
    let (server, secret) = Server::without_upstream().await;
    let port = server.fake.port;
    let before = server.fake.log().await["requests"]
        .as_array()
        .map_or(0, Vec::len);
    for url in [
        server.fake.url(),
        format!("http://localhost:{port}/v1"),
        format!("http://2130706433:{port}/v1"),
    ] {
        let put = server
            .call_as(
                &secret,
                Method::PUT,
                "/v1/bots/demo/upstream",
                Some(json!({"url": url, "model": "echo"})),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        let reply = server
            .chat(json!({"message": "Who is inside?", "stream": false}))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{url}: {}",
            reply.body
        );
    }
    let after = server.fake.log().await["requests"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(after, before, "nothing reached the model on loopback");

    // The operator's settings reach it, and a secret key that keeps their URL keeps that.
    let put = server
        .call_as(
            ADMIN,
            Method::PUT,
            "/v1/bots/demo/upstream",
            Some(json!({"url": server.fake.url(), "model": "echo"})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let put = server
        .call_as(
            &secret,
            Method::PUT,
            "/v1/bots/demo/upstream",
            Some(json!({"url": server.fake.url(), "model": "echo", "systemPrompt": "Brief."})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let reply = server
        .chat(json!({"message": "Who is inside?", "stream": false}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["data"]["response"], "You said: Who is inside?");
}

/// A chataibot answer whose model keeps failing is tried a few times, then the visitor gets an
/// apology (never silence), which costs no credit.
#[tokio::test]
async fn a_chataibot_answer_whose_model_keeps_failing_ends_in_an_apology_and_costs_nothing() {
    let server = Server::with_model("fail-500").await;
    server
        .state
        .store
        .update_bot(
            DEMO_BOT_ID,
            &BotUpdate {
                credits: Some(Some(10)),
                ..BotUpdate::default()
            },
        )
        .await
        .expect("credits");
    // Retries are claimed by the maintenance loop, as in the server.
    tokio::spawn(chat_widget_server::maintain(server.state.clone()));
    let started = server
        .post(
            "/api/v1/conversations",
            json!({"bot_key": "demo", "channel": "API",
                   "from": {"user_external_id": "v-fail"},
                   "message": {"type": "text", "data": {"body": "Are you there?"}}}),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let id = started.json()["conversation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/conversation/{id}/messages");
    eventually("the apology is delivered", || async {
        let poll = server.call(Method::GET, &path, None).await;
        poll.json()["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["body"] == chataibot::UPSTREAM_APOLOGY))
    })
    .await;
    let asked = server.fake.log().await["requests"]
        .as_array()
        .map_or(0, |requests| requests.len());
    assert_eq!(
        asked as u32,
        chataibot::UPSTREAM_ATTEMPTS,
        "tried, then given up"
    );
    assert_eq!(server.credits().await, Some(10), "the apology is free");
    // Given up: no more attempts after the apology.
    tokio::time::sleep(chataibot::UPSTREAM_RETRY * 2).await;
    let later = server.fake.log().await["requests"]
        .as_array()
        .map_or(0, |requests| requests.len());
    assert_eq!(later, asked);
}

/// An instance answering a crashed one's chataibot question with a model that writes for a
/// while keeps its heartbeat: the other instances do not take it for dead, so the reply it is
/// streaming meanwhile is not marked interrupted (its visitor would find it cut off).
#[tokio::test]
async fn an_instance_answering_a_slow_model_for_another_still_counts_as_alive() {
    let server = Server::with_model("slow").await;
    // This instance's streamed reply, under way.
    server
        .state
        .store
        .begin_streamed_exchange(DEMO_BOT_ID, None, "Tell me everything")
        .await
        .expect("a streamed reply begins");
    // A question whose timer died with its instance: only the maintenance loop answers it.
    server
        .state
        .store
        .record_visitor_message(DEMO_BOT_ID, None, "Are you there?", Duration::ZERO)
        .await
        .expect("a question waits for its answer");
    tokio::spawn(chat_widget_server::maintain(server.state.clone()));
    eventually("the model is asked", || async {
        server.fake.log().await["requests"]
            .as_array()
            .is_some_and(|requests| !requests.is_empty())
    })
    .await;
    // The model writes for 20 s; 5 s into it, another instance looks for dead ones.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let peer = support::store(&server._dir.path().join("data")).await;
    let swept = peer
        .sweep_interrupted(Duration::from_secs(3))
        .await
        .expect("sweep");
    assert_eq!(
        swept, 0,
        "the streaming reply was taken for a dead instance's"
    );
}

/// A JSON reply is one HTTP answer: a model still writing at `--request-timeout-s` is cut
/// off with 408, and the visitor's message and what the model had written stay stored.
#[tokio::test]
async fn a_json_reply_still_written_at_the_request_timeout_is_cut_and_kept() {
    let mut server = Server::with_model("echo").await;
    let first = server
        .chat(json!({"message": "Hello", "stream": false}))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let conversation = first.json()["data"]["conversationId"]
        .as_str()
        .expect("conversation")
        .to_owned();
    server.state = server
        .state
        .clone()
        .with_request_timeout(Duration::from_secs(1));
    server.use_model("slow").await;
    let cut = server
        .chat(json!({"message": "Write a lot", "stream": false,
                     "conversationId": conversation}))
        .await;
    assert_eq!(cut.status, StatusCode::REQUEST_TIMEOUT, "{}", cut.body);
    eventually("the partial reply is stored", || async {
        let stored = server.messages(&conversation).await;
        stored.len() == 4
            && stored[2].content == "Write a lot"
            && stored[3].content.starts_with("w0 w1")
            && !stored[3].complete
    })
    .await;
}

/// A model caught in a loop, or an upstream whose answer never ends, is cut off: the visitor
/// gets the first `MAX_REPLY_BYTES` of text and then an error, that text is stored marked
/// incomplete, and the upstream's connection is closed instead of read for as long as it
/// writes. An answer whose JSON never ends is given up at `MAX_UPSTREAM_BYTES`.
#[tokio::test]
async fn a_reply_that_never_ends_is_cut_at_the_limit_and_the_upstream_hung_up_on() {
    let server = Server::with_model("endless").await;
    let reply = server
        .chat(json!({"message": "Loop forever", "stream": true}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let events = reply.events();
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("error"));
    let text = reply.streamed_text();
    assert_eq!(text.len(), upstream::MAX_REPLY_BYTES);
    assert!(text.starts_with("again and again again"), "{}", &text[..40]);
    let conversation = serde_json::from_str::<Value>(&events[0].1).expect("start")
        ["conversationId"]
        .as_str()
        .expect("id")
        .to_owned();
    eventually("the cut reply is stored, incomplete", || async {
        let messages = server.messages(&conversation).await;
        messages.len() == 2
            && messages[0].content == "Loop forever"
            && !messages[1].complete
            && messages[1].content.len() == upstream::MAX_REPLY_BYTES
    })
    .await;
    eventually("the fake sees the first stream closed", || async {
        server.fake.aborted().await == 1
    })
    .await;

    // A JSON dialect collects the reply before answering: the same cut is its error.
    let json_reply = server
        .post(
            "/v1/chat/send",
            json!({"message": "Loop in JSON", "botId": "demo"}),
        )
        .await;
    assert_eq!(
        json_reply.status,
        StatusCode::BAD_GATEWAY,
        "{}",
        json_reply.body
    );
    eventually("the fake sees the second stream closed", || async {
        server.fake.aborted().await == 2
    })
    .await;

    server.use_model("endless-json").await;
    let reply = server
        .chat(json!({"message": "Endless JSON", "stream": false}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.body);
    assert_eq!(reply.json()["code"], "SERVER_ERROR");
    eventually("the fake sees the JSON answer closed", || async {
        server.fake.aborted().await == 3
    })
    .await;
    let log = server.fake.log().await;
    assert_eq!(log["completed"], 0);
}
