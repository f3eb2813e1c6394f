//! What a client of the reference server sees, told as stories and driven through
//! `app(state).oneshot(request)` without a socket: chatting, every error in the chatbots
//! dialect's shape, rate limits, CORS, the demo page, the widget's files, and a data directory
//! that outlives the process. Chat here is the JSON form; streamed replies are in `stream.rs`.

mod support;
use support::TempDir;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use chat_widget_protocol::dialect::chatbots::{chat_path, decode_response};
use chat_widget_protocol::{ActionKind, ResponseMeta};
use chat_widget_server::caller::{address_scope, visitor_scope, Caller};
use chat_widget_server::rate_limit::bot_scope;
use chat_widget_server::store::{AllowedOrigins, BotUpdate, Role, DEMO_BOT_ID};
use chat_widget_server::AppState;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Test harness: a server on a fresh data directory, requests, and what comes back.

/// The server as a test sees it: state over a fresh data directory, the demo key, a clock.
struct TestServer {
    state: AppState,
    key: String,
    clock: Arc<AtomicU64>,
    _dir: TempDir,
}

const T0: u64 = 1_700_000_000;

impl TestServer {
    async fn start() -> Self {
        let dir = TempDir::new("api");
        Self::start_in(dir).await
    }

    async fn start_in(dir: TempDir) -> Self {
        let clock = Arc::new(AtomicU64::new(T0));
        let tick = clock.clone();
        let state = support::state(
            &dir.path().join("data"),
            &dir.path().join("dist"),
            "127.0.0.1:8787",
        )
        .await
        .with_clock(move || tick.load(Ordering::SeqCst))
        .with_stream_delay(Duration::ZERO);
        let key = state
            .store
            .first_key(DEMO_BOT_ID)
            .await
            .expect("read key")
            .expect("demo key")
            .key;
        Self {
            state,
            key,
            clock,
            _dir: dir,
        }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let (status, headers, body) = support::send_to(&self.state, request).await;
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Sends `{"message": ..., "stream": false}` (plus `extra` fields, which may override
    /// `stream`) to the demo bot with the demo key: the JSON form, which a client gets by
    /// saying so (the demo bot streams by default).
    async fn say(&self, message: &str, extra: Value) -> Reply {
        let mut body = json!({ "message": message, "stream": false });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.send(
            chat(DEMO_BOT_ID, Some(&self.key))
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
    }

    async fn update_demo(&self, update: BotUpdate) {
        self.state
            .store
            .update_bot(DEMO_BOT_ID, &update)
            .await
            .expect("update bot");
    }

    fn advance(&self, seconds: u64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }
}

/// A chat request to `bot` with a JSON content type and, if given, a bearer key.
fn chat(bot: &str, key: Option<&str>) -> axum::http::request::Builder {
    let builder = Request::builder()
        .method(Method::POST)
        .uri(chat_path(bot))
        .header(header::CONTENT_TYPE, "application/json");
    match key {
        Some(key) => builder.header(header::AUTHORIZATION, format!("Bearer {key}")),
        None => builder,
    }
}

fn get(uri: &str) -> Request<Body> {
    get_with(uri, &[])
}

/// A GET with these extra headers.
fn get_with(uri: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .uri(uri)
        .header(header::HOST, "shop.test:8787");
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    builder.body(Body::empty()).expect("request")
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether any of the response's `Vary` headers names `name` (case-insensitively).
    fn varies_on(&self, name: &str) -> bool {
        self.headers
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case(name))
    }

    fn number(&self, name: &str) -> u64 {
        self.header(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric {name} header"))
    }

    /// What the widget's decoder makes of this response.
    fn decoded(&self) -> Result<chat_widget_protocol::Reply, chat_widget_protocol::ApiError> {
        let meta = ResponseMeta::from_headers(self.status.as_u16(), T0, |name| {
            self.header(name).map(str::to_owned)
        });
        decode_response(&meta, &self.body)
    }

    /// Asserts the `X-RateLimit-*` headers are there and returns (limit, remaining, reset).
    fn rate_limit(&self) -> (u64, u64, u64) {
        (
            self.number("x-ratelimit-limit"),
            self.number("x-ratelimit-remaining"),
            self.number("x-ratelimit-reset"),
        )
    }

    /// Asserts an error in exactly the seed's shape: `{"success":false,"error","code"}`.
    fn assert_error(&self, status: u16, code: &str, text: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(
            self.json(),
            json!({ "success": false, "error": text, "code": code })
        );
        assert!(self
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")));
        self.rate_limit();
    }

    /// Asserts a 400 INVALID_REQUEST whose text mentions `hint`.
    fn assert_invalid_request(&self, hint: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.text());
        let body = self.json();
        assert_eq!(
            (body["success"].clone(), body["code"].clone()),
            (json!(false), json!("INVALID_REQUEST"))
        );
        let text = body["error"].as_str().unwrap_or_default();
        assert!(text.contains(hint), "{text:?} should mention {hint:?}");
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(3),
            "only success, error, code: {body}"
        );
        self.rate_limit();
    }
}

// ---------------------------------------------------------------------------------------------
// Chatting.

#[tokio::test]
async fn a_visitor_asks_two_questions_in_one_conversation() {
    let server = TestServer::start().await;

    let first = server.say("Hello, how can you help me?", json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert!(first
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json")));
    let body = first.json();
    assert_eq!(body["success"], json!(true));
    let data = body["data"].as_object().expect("data object");
    let conversation = data["conversationId"]
        .as_str()
        .expect("conversationId")
        .to_owned();
    assert!(conversation.starts_with("conv_"), "{conversation}");
    assert!(data["messageId"]
        .as_str()
        .is_some_and(|id| id.starts_with("msg_")));
    assert!(!data["response"].as_str().unwrap_or_default().is_empty());

    // The widget's own decoder reads what the server wrote.
    let reply = first.decoded().expect("the widget decodes the reply");
    assert_eq!(reply.conversation_id, conversation);
    assert_eq!(reply.text, data["response"].as_str().unwrap_or_default());

    let second = server
        .say(
            "Can I return shoes?",
            json!({ "conversationId": conversation }),
        )
        .await;
    let reply = second.decoded().expect("second reply");
    assert_eq!(
        reply.conversation_id, conversation,
        "the conversation continues"
    );
    assert!(reply.text.contains("30 days"), "{}", reply.text);
    // The visitor's limit: a message in the conversation is counted apart from the one that
    // started it (which had no conversation id yet).
    assert_eq!(second.rate_limit(), (30, 29, T0 + 60));

    let messages = server
        .state
        .store
        .messages(&conversation)
        .await
        .expect("messages");
    let stored: Vec<(Role, &str)> = messages
        .iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[0], (Role::User, "Hello, how can you help me?"));
    assert_eq!(stored[1].0, Role::Assistant);
    assert_eq!(stored[2], (Role::User, "Can I return shoes?"));
    assert_eq!(stored[3], (Role::Assistant, reply.text.as_str()));
    assert_eq!(Some(messages[3].id.clone()), reply.message_id);
    assert!(messages.iter().all(|m| m.complete));
}

#[tokio::test]
async fn the_success_body_has_exactly_the_documented_fields() {
    let server = TestServer::start().await;
    // A fallback answer has quick replies; a thank-you has none.
    let plain = server
        .say(
            "thanks!",
            json!({ "stream": false, "metadata": { "source": "test" } }),
        )
        .await;
    let body = plain.json();
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    assert_eq!(keys(&body), ["data", "success"]);
    assert_eq!(
        keys(&body["data"]),
        ["conversationId", "messageId", "response"]
    );
}

#[tokio::test]
async fn faq_follow_ups_arrive_as_quick_replies() {
    let server = TestServer::start().await;
    let answer = server.say("where is my order", json!({})).await;
    assert_eq!(
        answer.json()["data"]["suggested_actions"],
        json!([
            { "type": "quick_reply", "text": "How long does shipping take?", "payload": "How long does shipping take?" },
            { "type": "quick_reply", "text": "How do I talk to a human?", "payload": "How do I talk to a human?" }
        ])
    );
    let reply = answer.decoded().expect("decodes");
    assert!(reply
        .suggested_actions
        .iter()
        .all(|a| a.kind == ActionKind::QuickReply));

    // Clicking one sends its payload and gets that entry's answer.
    let clicked = server
        .say("How long does shipping take?", json!({}))
        .await
        .decoded()
        .expect("decodes");
    assert!(clicked.text.contains("Express"), "{}", clicked.text);

    let lost = server
        .say("asdfgh", json!({}))
        .await
        .decoded()
        .expect("decodes");
    assert!(lost.text.contains("don't know"), "{}", lost.text);
    assert_eq!(lost.suggested_actions.len(), 4);
}

#[tokio::test]
async fn a_stale_or_foreign_conversation_id_starts_a_new_conversation() {
    let server = TestServer::start().await;
    let stale = server
        .say(
            "hi",
            json!({ "conversationId": "conv_from_a_wiped_database" }),
        )
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    let fresh = stale.decoded().expect("decodes").conversation_id;
    assert_ne!(fresh, "conv_from_a_wiped_database");
    assert_eq!(
        server
            .state
            .store
            .conversation_bot(&fresh)
            .await
            .expect("read"),
        Some(DEMO_BOT_ID.to_owned())
    );

    // Another bot's conversation is not continued by the demo bot.
    let (_, other_key) = server
        .state
        .store
        .create_bot("other", "Other")
        .await
        .expect("create");
    let other = server
        .send(
            chat("other", Some(&other_key.key))
                .body(Body::from(r#"{"message":"hi"}"#))
                .expect("request"),
        )
        .await
        .decoded()
        .expect("decodes")
        .conversation_id;
    let reply = server
        .say("hi", json!({ "conversationId": other }))
        .await
        .decoded()
        .expect("decodes");
    assert_ne!(reply.conversation_id, other);
    assert_eq!(
        server
            .state
            .store
            .messages(&other)
            .await
            .expect("read")
            .len(),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// Errors, each in the seed's shape and with the rate-limit headers.

#[tokio::test]
async fn a_request_without_a_valid_key_is_401() {
    let server = TestServer::start().await;
    let text = "Invalid or inactive API key";
    let body = || Body::from(r#"{"message":"hi"}"#);

    let missing = server
        .send(chat(DEMO_BOT_ID, None).body(body()).expect("request"))
        .await;
    missing.assert_error(401, "INVALID_API_KEY", text);

    let wrong = server
        .send(
            chat(DEMO_BOT_ID, Some("pk_live_000000000000000000000000"))
                .body(body())
                .expect("r"),
        )
        .await;
    wrong.assert_error(401, "INVALID_API_KEY", text);

    let basic = Request::builder()
        .method(Method::POST)
        .uri(chat_path(DEMO_BOT_ID))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Basic {}", server.key))
        .body(body())
        .expect("request");
    server
        .send(basic)
        .await
        .assert_error(401, "INVALID_API_KEY", text);

    server
        .update_demo(BotUpdate {
            keys_active: Some(false),
            ..Default::default()
        })
        .await;
    let inactive = server.say("hi", json!({})).await;
    inactive.assert_error(401, "INVALID_API_KEY", text);
    // The widget's decoder names it too.
    assert_eq!(
        inactive.decoded().map_err(|e| e.code),
        Err(chat_widget_protocol::ErrorCode::InvalidApiKey)
    );

    server
        .update_demo(BotUpdate {
            keys_active: Some(true),
            ..Default::default()
        })
        .await;
    assert_eq!(server.say("hi", json!({})).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_bot_or_another_bots_key_is_404() {
    let server = TestServer::start().await;
    let text = "Chatbot not found or access denied";
    let body = || Body::from(r#"{"message":"hi"}"#);

    let unknown = server
        .send(
            chat("no-such-bot", Some(&server.key))
                .body(body())
                .expect("request"),
        )
        .await;
    unknown.assert_error(404, "CHATBOT_NOT_FOUND", text);

    let (_, other_key) = server
        .state
        .store
        .create_bot("other", "Other Bot")
        .await
        .expect("create");
    let crossed = server
        .send(
            chat(DEMO_BOT_ID, Some(&other_key.key))
                .body(body())
                .expect("request"),
        )
        .await;
    crossed.assert_error(404, "CHATBOT_NOT_FOUND", text);
    let crossed_back = server
        .send(
            chat("other", Some(&server.key))
                .body(body())
                .expect("request"),
        )
        .await;
    crossed_back.assert_error(404, "CHATBOT_NOT_FOUND", text);

    // A bot id that is not even UTF-8 names no bot.
    let garbled = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/chatbots/%FF%FE/chat")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", server.key))
        .body(body())
        .expect("request");
    server
        .send(garbled)
        .await
        .assert_error(404, "CHATBOT_NOT_FOUND", text);
}

#[tokio::test]
async fn a_key_only_works_from_the_origins_it_allows() {
    let server = TestServer::start().await;
    server
        .update_demo(BotUpdate {
            allowed_origins: Some(AllowedOrigins::parse("https://a.test,https://b.test")),
            ..Default::default()
        })
        .await;
    let from = |origin: &str| {
        chat(DEMO_BOT_ID, Some(&server.key))
            .header(header::ORIGIN, origin)
            .body(Body::from(r#"{"message":"hi"}"#))
            .expect("request")
    };

    let evil = server.send(from("https://evil.test")).await;
    evil.assert_error(
        403,
        "ORIGIN_NOT_ALLOWED",
        "Origin https://evil.test is not allowed to use this API key",
    );
    assert_eq!(
        evil.decoded().map_err(|e| e.code),
        Err(chat_widget_protocol::ErrorCode::OriginNotAllowed)
    );
    // CORS still lets the page read the refusal.
    assert_eq!(
        evil.header("access-control-allow-origin"),
        Some("https://evil.test")
    );

    assert_eq!(
        server.send(from("https://a.test")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        server.send(from("https://b.test")).await.status,
        StatusCode::OK
    );
    // No Origin header (curl, a server-side proxy): allowed.
    assert_eq!(server.say("hi", json!({})).await.status, StatusCode::OK);

    server
        .update_demo(BotUpdate {
            allowed_origins: Some(AllowedOrigins::Any),
            ..Default::default()
        })
        .await;
    assert_eq!(
        server.send(from("https://evil.test")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_bot_without_credits_answers_402_and_each_reply_spends_one() {
    let server = TestServer::start().await;
    server
        .update_demo(BotUpdate {
            credits: Some(Some(2)),
            ..Default::default()
        })
        .await;
    assert_eq!(server.say("hi", json!({})).await.status, StatusCode::OK);
    assert_eq!(server.say("hi", json!({})).await.status, StatusCode::OK);

    let broke = server.say("hi", json!({})).await;
    broke.assert_error(
        402,
        "INSUFFICIENT_CREDITS",
        "Insufficient credits to generate AI response. Please upgrade your plan.",
    );
    let bot = server
        .state
        .store
        .bot(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("demo bot");
    assert_eq!(bot.credits, Some(0));

    server
        .update_demo(BotUpdate {
            credits: Some(None),
            ..Default::default()
        })
        .await;
    assert_eq!(server.say("hi", json!({})).await.status, StatusCode::OK);
    let bot = server
        .state
        .store
        .bot(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("demo bot");
    assert_eq!(bot.credits, None, "unlimited stays unlimited");
}

#[tokio::test]
async fn too_many_requests_in_a_minute_is_429_until_the_window_ends() {
    let server = TestServer::start().await;
    server
        .update_demo(BotUpdate {
            rate_limit_per_minute: Some(2),
            ..Default::default()
        })
        .await;

    let first = server.say("hi", json!({})).await;
    assert_eq!(first.rate_limit(), (2, 1, T0 + 60));
    server.advance(15);
    let second = server.say("hi", json!({})).await;
    assert_eq!(second.rate_limit(), (2, 0, T0 + 60));

    server.advance(5);
    let limited = server.say("hi", json!({})).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        limited.json(),
        json!({
            "success": false,
            "error": "Rate limit exceeded. Please wait before sending another message.",
            "code": "RATE_LIMIT_EXCEEDED",
            "retryAfter": 40
        })
    );
    assert_eq!(limited.header("retry-after"), Some("40"));
    assert_eq!(limited.rate_limit(), (2, 0, T0 + 60));
    let error = limited.decoded().expect_err("an error");
    assert_eq!(
        (error.code, error.retry_after_s),
        (chat_widget_protocol::ErrorCode::RateLimitExceeded, Some(40))
    );

    // Refused requests (here a bad key) do not use up the window but still see it.
    let refused = server
        .send(
            chat(DEMO_BOT_ID, None)
                .body(Body::from("{}"))
                .expect("request"),
        )
        .await;
    assert_eq!(refused.rate_limit(), (2, 0, T0 + 60));

    server.advance(40);
    let later = server.say("hi", json!({})).await;
    assert_eq!(later.status, StatusCode::OK);
    assert_eq!(later.rate_limit(), (2, 1, T0 + 120));

    // Raising the limit takes effect at once.
    server
        .update_demo(BotUpdate {
            rate_limit_per_minute: Some(10),
            ..Default::default()
        })
        .await;
    assert_eq!(
        server.say("hi", json!({})).await.rate_limit(),
        (10, 8, T0 + 120)
    );
}

#[tokio::test]
async fn a_server_with_a_short_rate_window_lets_the_visitor_send_again_seconds_later() {
    let mut server = TestServer::start().await;
    server.state = server.state.clone().with_rate_window_secs(3);
    assert_eq!(server.state.rate_window_secs(), 3);
    server
        .update_demo(BotUpdate {
            rate_limit_per_minute: Some(1),
            ..Default::default()
        })
        .await;

    let first = server.say("hi", json!({})).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.rate_limit(), (1, 0, T0 + 3));
    server.advance(1);
    let limited = server.say("hi", json!({})).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.json()["retryAfter"], 2);
    assert_eq!(limited.header("retry-after"), Some("2"));
    assert_eq!(limited.rate_limit(), (1, 0, T0 + 3));

    server.advance(2);
    let again = server.say("hi", json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "the window of 3 s is over");
    assert_eq!(again.rate_limit(), (1, 0, T0 + 6));
}

/// The demo bot's state behind a reverse proxy (`--trust-forwarded-for`): [`say_from`]
/// names the client's address.
async fn behind_a_proxy(visitor_rate_limit: u32, rate_limit: u32) -> TestServer {
    let mut server = TestServer::start().await;
    server.state = server.state.clone().with_trust_forwarded_for(true);
    server
        .update_demo(BotUpdate {
            visitor_rate_limit: Some(visitor_rate_limit),
            rate_limit_per_minute: Some(rate_limit),
            ..Default::default()
        })
        .await;
    server
}

/// "hi" to the demo bot in `conversation` (made up or not) from `address`, as the proxy's
/// `X-Forwarded-For` entry says.
async fn say_from(server: &TestServer, address: &str, conversation: &str) -> Reply {
    let body = json!({ "message": "hi", "stream": false, "conversationId": conversation });
    server
        .send(
            chat(DEMO_BOT_ID, Some(&server.key))
                .header("x-forwarded-for", address)
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
}

#[tokio::test]
async fn one_address_inventing_a_conversation_per_request_is_refused_after_its_address_limit() {
    // Visitors 2 each, the bot 100: an address may send ten visitors' worth, 20.
    let server = behind_a_proxy(2, 100).await;
    let attacker = "203.0.113.7";
    let mut allowed = Vec::new();
    let mut conversations = Vec::new();
    let refused = loop {
        let made_up = format!("conv_made_up_{}", allowed.len());
        let reply = say_from(&server, attacker, &made_up).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            break reply;
        }
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        allowed.push(reply.rate_limit());
        let conversation = reply.json()["data"]["conversationId"]
            .as_str()
            .map(str::to_owned);
        conversations.push(conversation.expect("a conversation"));
        assert!(allowed.len() <= 20, "never refused: {allowed:?}");
    };
    assert_eq!(allowed.len(), 20, "{allowed:?}");
    // Each made-up id is a fresh visitor with one of its two left, until the address's last.
    assert!(
        allowed[..19]
            .iter()
            .all(|status| *status == (2, 1, T0 + 60)),
        "{allowed:?}"
    );
    assert_eq!(allowed[19], (20, 0, T0 + 60));
    // The 429 says which window refused, and when it ends.
    assert_eq!(refused.rate_limit(), (20, 0, T0 + 60));
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(refused.json()["code"], "RATE_LIMIT_EXCEEDED");

    // Whatever id it sends next, even one of its visitors' with room left, until the window
    // ends.
    server.advance(20);
    for conversation in ["conv_made_up_again", "conv_made_up_0"] {
        let again = say_from(&server, attacker, conversation).await;
        assert_eq!(
            again.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            again.text()
        );
        assert_eq!(again.header("retry-after"), Some("40"));
    }
    // Reads from there report the address's window too (tighter than the visitor's).
    let history = server
        .send(get_with(
            &format!("/v1/chat/history/{}", conversations[0]),
            &[
                (header::AUTHORIZATION, &format!("Bearer {}", server.key)),
                (header::HeaderName::from_static("x-forwarded-for"), attacker),
            ],
        ))
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text());
    assert_eq!(history.rate_limit(), (20, 0, T0 + 60));

    // The bot's window still has room: only what the address was allowed was counted in it,
    // and the refused ids got no window of their own.
    let now = T0 + 20;
    let store = &server.state.store;
    let bot = store
        .peek_rate_window(&bot_scope(DEMO_BOT_ID), now)
        .await
        .expect("peek");
    assert_eq!(bot, Some((T0, 20)));
    let caller = Caller {
        ip: attacker.to_owned(),
    };
    let never_let_in = visitor_scope(&server.key, Some("conv_made_up_again"), &caller);
    assert_eq!(
        store
            .peek_rate_window(&never_let_in, now)
            .await
            .expect("peek"),
        None
    );
    // A new window lets it in again.
    server.advance(40);
    let later = say_from(&server, attacker, "conv_made_up_later").await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.text());
}

#[tokio::test]
async fn a_visitor_elsewhere_still_chats_while_one_address_sends_the_bots_whole_budget() {
    // Visitors 2 each, the bot 30, an address 20.
    let server = behind_a_proxy(2, 30).await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        let reply = say_from(&server, "203.0.113.7", &format!("conv_made_up_{i}")).await;
        statuses.push(reply.status.as_u16());
    }

    // Someone else, at another address, in the same window: not refused.
    server.advance(5);
    let first = say_from(&server, "198.51.100.2", "conv_real").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.rate_limit(), (2, 1, T0 + 65), "its own window");
    let conversation = first.json()["data"]["conversationId"]
        .as_str()
        .expect("a conversation")
        .to_owned();
    let second = say_from(&server, "198.51.100.2", &conversation).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    // The first address got its 20; the rest of the bot's 30 was not spent on it.
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!((count(200), count(429)), (20, 10), "{statuses:?}");
    // Of the bot's 30, the 20 the first address got and these two were spent.
    let bot = server
        .state
        .store
        .peek_rate_window(&bot_scope(DEMO_BOT_ID), T0 + 5)
        .await
        .expect("peek");
    assert_eq!(bot, Some((T0, 22)));
}

#[tokio::test]
async fn a_visitor_limit_of_0_refuses_everyone_without_storing_a_window_per_made_up_id() {
    let server = behind_a_proxy(0, 100).await;
    for i in 0..3 {
        let refused = say_from(&server, "203.0.113.7", &format!("conv_made_up_{i}")).await;
        assert_eq!(
            refused.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            refused.text()
        );
        assert_eq!(refused.rate_limit(), (0, 0, T0 + 60));
    }
    let caller = Caller {
        ip: "203.0.113.7".to_owned(),
    };
    let store = &server.state.store;
    for scope in [
        visitor_scope(&server.key, Some("conv_made_up_0"), &caller),
        address_scope(&server.key, &caller),
        bot_scope(DEMO_BOT_ID),
    ] {
        assert_eq!(
            store.peek_rate_window(&scope, T0).await.expect("peek"),
            None
        );
    }
}

#[tokio::test]
async fn a_malformed_request_is_400_with_a_helpful_text() {
    let server = TestServer::start().await;
    let send = |content_type: &str, body: Body| {
        Request::builder()
            .method(Method::POST)
            .uri(chat_path(DEMO_BOT_ID))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::AUTHORIZATION, format!("Bearer {}", server.key))
            .body(body)
            .expect("request")
    };
    let json_body = |body: &str| send("application/json", Body::from(body.to_owned()));

    server
        .send(json_body(r#"{"message": "hi""#))
        .await
        .assert_invalid_request("not valid JSON");
    server
        .send(json_body(""))
        .await
        .assert_invalid_request("not valid JSON");
    server
        .send(json_body("{}"))
        .await
        .assert_invalid_request("message");
    server
        .send(json_body("[]"))
        .await
        .assert_invalid_request("{\"message\": \"Hello\"}");
    server
        .send(json_body("null"))
        .await
        .assert_invalid_request("message");
    server
        .send(json_body(r#"{"message": 5}"#))
        .await
        .assert_invalid_request("message");
    server
        .send(json_body(r#"{"message": "hi", "conversationId": 7}"#))
        .await
        .assert_invalid_request("conversationId");
    server
        .send(json_body(r#"{"message": ""}"#))
        .await
        .assert_invalid_request("must not be empty");
    server
        .send(json_body(r#"{"message": " \n\t "}"#))
        .await
        .assert_invalid_request("must not be empty");
    let long = json!({ "message": "a".repeat(4001) }).to_string();
    server
        .send(json_body(&long))
        .await
        .assert_invalid_request("too long");
    let longest = json!({ "message": "a".repeat(4000) }).to_string();
    assert_eq!(
        server.send(json_body(&longest)).await.status,
        StatusCode::OK
    );
    let huge = json!({ "message": "a".repeat(200_000) }).to_string();
    server.send(json_body(&huge)).await.assert_error(
        413,
        "PAYLOAD_TOO_LARGE",
        "The request body is too large",
    );
    server
        .send(json_body("\u{0}\u{ff}"))
        .await
        .assert_invalid_request("not valid JSON");
    server
        .send(send("application/json", Body::from(vec![0xff, 0xfe, 0x00])))
        .await
        .assert_invalid_request("JSON");

    server
        .send(send("text/plain", Body::from(r#"{"message":"hi"}"#)))
        .await
        .assert_invalid_request("Content-Type: application/json");
    let no_type = Request::builder()
        .method(Method::POST)
        .uri(chat_path(DEMO_BOT_ID))
        .header(header::AUTHORIZATION, format!("Bearer {}", server.key))
        .body(Body::from(r#"{"message":"hi"}"#))
        .expect("request");
    server
        .send(no_type)
        .await
        .assert_invalid_request("Content-Type: application/json");

    // None of that was stored or charged.
    let bot = server
        .state
        .store
        .bot(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("demo bot");
    assert_eq!(bot.credits, None);
}

// ---------------------------------------------------------------------------------------------
// CORS.

#[tokio::test]
async fn a_page_on_another_origin_may_call_the_api() {
    let server = TestServer::start().await;
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri(chat_path(DEMO_BOT_ID))
        .header(header::ORIGIN, "https://shop.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .body(Body::empty())
        .expect("request");
    let answer = server.send(preflight).await;
    assert!(answer.status.is_success(), "{}", answer.status);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let methods = answer
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        methods.contains("post") && methods.contains("get") && methods.contains("options"),
        "{methods}"
    );
    let allowed = answer
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert_eq!(answer.header("access-control-max-age"), Some("600"));

    let real = server
        .send(
            chat(DEMO_BOT_ID, Some(&server.key))
                .header(header::ORIGIN, "https://shop.example")
                .body(Body::from(r#"{"message":"hi"}"#))
                .expect("request"),
        )
        .await;
    assert_eq!(
        real.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let exposed = real
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_lowercase();
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
    ] {
        assert!(exposed.contains(name), "{name} not in {exposed}");
    }
}

// ---------------------------------------------------------------------------------------------
// The demo page and the widget's files.

#[tokio::test]
async fn the_demo_page_embeds_the_widget_with_one_script_tag() {
    let server = TestServer::start().await;
    let page = server.send(get("/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("text/html")));
    let html = page.text();
    let expected = format!(
        "<script src=\"/widget/chat-widget.js\" data-bot-id=\"demo\" data-api-url=\"http://shop.test:8787\" \
         data-api-key=\"{}\" data-greeting=\"Hi! I&#39;m the Acme assistant. Ask me about orders, shipping, \
         returns or this widget.\" data-primary-color=\"#0a7cff\" data-bot-name=\"Acme Assistant\" async></script>",
        server.key
    );
    assert!(html.contains(&expected), "{html}");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "exactly one script tag, and it has a src"
    );
    assert!(
        !html.contains("<style") && !html.contains("style="),
        "no inline style"
    );
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/demo.css\">"));
    assert!(html.contains("bottom-right"));
    assert!(!html.contains("{{"), "every placeholder filled");
}

#[tokio::test]
async fn a_hostile_host_header_cannot_break_out_of_the_attribute() {
    let server = TestServer::start().await;
    let request = Request::builder()
        .uri("/")
        .header(header::HOST, "evil.test\"><script>alert(1)</script>")
        .body(Body::empty())
        .expect("request");
    let html = server.send(request).await.text();
    assert!(html.contains(
        "data-api-url=\"http://evil.test&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""
    ));
    assert_eq!(html.matches("<script").count(), 1);

    // Without a Host header the listen address stands in.
    let request = Request::builder()
        .uri("/")
        .body(Body::empty())
        .expect("request");
    assert!(server
        .send(request)
        .await
        .text()
        .contains("data-api-url=\"http://127.0.0.1:8787\""));
}

#[tokio::test]
async fn the_page_stylesheet_and_health_check_are_served() {
    let server = TestServer::start().await;
    let css = server.send(get("/demo.css")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains(".card"));

    let health = server.send(get("/healthz")).await;
    assert_eq!(
        (health.status, health.text().as_str()),
        (StatusCode::OK, "ok")
    );
}

#[tokio::test]
async fn the_built_widget_is_served_with_the_right_types() {
    let server = TestServer::start().await;
    // Before the widget is built: its script 404s, the page still renders.
    assert_eq!(
        server.send(get("/widget/chat-widget.js")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.send(get("/")).await.status, StatusCode::OK);

    std::fs::create_dir_all(&server.state.dist_dir).expect("dist dir");
    std::fs::write(
        server.state.dist_dir.join("chat-widget.js"),
        "console.log('hi')",
    )
    .expect("write js");
    std::fs::write(
        server.state.dist_dir.join("chat-widget_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .expect("write wasm");

    let script = server.send(get("/widget/chat-widget.js")).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.header("content-type"), Some("text/javascript"));
    assert_eq!(script.text(), "console.log('hi')");

    let mut request = get("/widget/chat-widget_bg.wasm");
    request.headers_mut().insert(
        header::ORIGIN,
        "https://shop.example".parse().expect("origin"),
    );
    let wasm = server.send(request).await;
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(
        wasm.header("access-control-allow-origin"),
        Some("https://shop.example")
    );

    assert_eq!(
        server
            .send(get("/widget/../data/chat.sqlite3"))
            .await
            .status
            .as_u16()
            / 100,
        4
    );
}

/// A content-hashed core file, as the build names them.
const HASHED_WASM: &str = "core/chat-widget.3f9a1c0b2d7e.wasm";

/// The `Cache-Control` of content-hashed files, and of everything else (the loader).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "public, max-age=300, stale-while-revalidate=86400";

/// Writes `bytes` to `path` under the server's dist directory (creating directories).
fn dist_file(server: &TestServer, path: &str, bytes: &[u8]) {
    let path = server.state.dist_dir.join(path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dist dir");
    std::fs::write(&path, bytes).expect("write dist file");
}

/// A dist directory as the build makes it: the loader and the hashed wasm, each with a brotli
/// and a gzip sibling (fake bytes, told apart by their prefix).
fn built_dist(server: &TestServer) {
    for (path, raw) in [
        (
            "chat-widget.js",
            &b"import('./core/chat-widget.3f9a1c0b2d7e.js')"[..],
        ),
        (HASHED_WASM, &b"\0asm\x01\0\0\0"[..]),
    ] {
        dist_file(server, path, raw);
        dist_file(server, &format!("{path}.br"), &[b"br:", raw].concat());
        dist_file(server, &format!("{path}.gz"), &[b"gz:", raw].concat());
    }
}

#[tokio::test]
async fn the_brotli_sibling_goes_to_a_browser_that_accepts_it() {
    let server = TestServer::start().await;
    built_dist(&server);

    let wasm = server
        .send(get_with(
            &format!("/widget/{HASHED_WASM}"),
            &[
                (header::ACCEPT_ENCODING, "gzip, deflate, br, zstd"),
                (header::ORIGIN, "https://shop.example"),
            ],
        ))
        .await;
    assert_eq!(wasm.status, StatusCode::OK);
    assert_eq!(wasm.body, b"br:\0asm\x01\0\0\0");
    assert_eq!(wasm.header("content-encoding"), Some("br"));
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.number("content-length"), wasm.body.len() as u64);
    assert!(wasm.varies_on("accept-encoding"));
    assert_eq!(wasm.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(
        wasm.header("access-control-allow-origin"),
        Some("https://shop.example")
    );

    let loader = server
        .send(get_with(
            "/widget/chat-widget.js",
            &[(header::ACCEPT_ENCODING, "br;q=1.0, gzip;q=0.8, *;q=0.1")],
        ))
        .await;
    assert_eq!(loader.status, StatusCode::OK);
    assert!(loader.body.starts_with(b"br:import("));
    assert_eq!(loader.header("content-encoding"), Some("br"));
    assert_eq!(loader.header("content-type"), Some("text/javascript"));
    assert!(loader.varies_on("accept-encoding"));
    assert_eq!(loader.header("cache-control"), Some(REVALIDATE));
    assert!(loader.header("last-modified").is_some());
}

#[tokio::test]
async fn gzip_goes_to_a_browser_without_brotli_and_the_file_itself_to_one_without_either() {
    let server = TestServer::start().await;
    built_dist(&server);
    let wasm_url = format!("/widget/{HASHED_WASM}");

    for accept in ["gzip", "gzip, deflate", "br;q=0, gzip"] {
        let wasm = server
            .send(get_with(&wasm_url, &[(header::ACCEPT_ENCODING, accept)]))
            .await;
        assert_eq!(wasm.status, StatusCode::OK, "{accept}");
        assert_eq!(wasm.body, b"gz:\0asm\x01\0\0\0", "{accept}");
        assert_eq!(wasm.header("content-encoding"), Some("gzip"), "{accept}");
        assert_eq!(wasm.header("content-type"), Some("application/wasm"));
        assert!(wasm.varies_on("accept-encoding"));
        assert_eq!(wasm.header("cache-control"), Some(IMMUTABLE));
    }

    for accept in [
        None,
        Some("identity"),
        Some("deflate"),
        Some("br;q=0, gzip;q=0"),
    ] {
        let headers: Vec<_> = accept
            .map(|accept| (header::ACCEPT_ENCODING, accept))
            .into_iter()
            .collect();
        let loader = server
            .send(get_with("/widget/chat-widget.js", &headers))
            .await;
        assert_eq!(loader.status, StatusCode::OK, "{accept:?}");
        assert_eq!(
            loader.text(),
            "import('./core/chat-widget.3f9a1c0b2d7e.js')"
        );
        assert_eq!(loader.header("content-encoding"), None, "{accept:?}");
        assert_eq!(loader.header("content-type"), Some("text/javascript"));
        assert!(loader.varies_on("accept-encoding"), "{accept:?}");
        assert_eq!(loader.header("cache-control"), Some(REVALIDATE));
    }
}

#[tokio::test]
async fn a_file_without_siblings_goes_out_as_it_is_and_a_sibling_by_its_own_name_too() {
    let server = TestServer::start().await;
    // A dist from an older build script: no siblings at all.
    dist_file(&server, "core/chat-widget.0123456789ab.js", b"export {}");
    // Only a gzip sibling.
    dist_file(&server, "widget.css", b"p{}");
    dist_file(&server, "widget.css.gz", b"gz:p{}");
    let both = [(header::ACCEPT_ENCODING, "br, gzip")];

    let script = server
        .send(get_with("/widget/core/chat-widget.0123456789ab.js", &both))
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.text(), "export {}");
    assert_eq!(script.header("content-encoding"), None);
    assert_eq!(script.header("content-type"), Some("text/javascript"));
    assert_eq!(script.header("cache-control"), Some(IMMUTABLE));

    let css = server.send(get_with("/widget/widget.css", &both)).await;
    assert_eq!(css.text(), "gz:p{}");
    assert_eq!(css.header("content-encoding"), Some("gzip"));
    assert_eq!(css.header("content-type"), Some("text/css"));
    assert_eq!(css.header("cache-control"), Some(REVALIDATE));

    // Asked for by name, a sibling is just a file: its bytes, no Content-Encoding.
    let sibling = server.send(get_with("/widget/widget.css.gz", &both)).await;
    assert_eq!(sibling.status, StatusCode::OK);
    assert_eq!(sibling.text(), "gz:p{}");
    assert_eq!(sibling.header("content-encoding"), None);
}

#[tokio::test]
async fn an_unchanged_file_answers_304_with_its_cache_and_cors_headers() {
    let server = TestServer::start().await;
    built_dist(&server);

    for (url, cache_control) in [
        ("/widget/chat-widget.js".to_owned(), REVALIDATE),
        (format!("/widget/{HASHED_WASM}"), IMMUTABLE),
    ] {
        for accept in ["br, gzip", "identity"] {
            let first = server
                .send(get_with(&url, &[(header::ACCEPT_ENCODING, accept)]))
                .await;
            let last_modified = first.header("last-modified").expect("Last-Modified");

            let again = server
                .send(get_with(
                    &url,
                    &[
                        (header::ACCEPT_ENCODING, accept),
                        (header::IF_MODIFIED_SINCE, last_modified),
                        (header::ORIGIN, "https://shop.example"),
                    ],
                ))
                .await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{url} {accept}");
            assert!(again.body.is_empty());
            assert_eq!(again.header("cache-control"), Some(cache_control));
            assert!(again.varies_on("accept-encoding"));
            assert_eq!(
                again.header("access-control-allow-origin"),
                Some("https://shop.example")
            );

            // A copy older than the file is sent the file again.
            let stale = server
                .send(get_with(
                    &url,
                    &[
                        (header::ACCEPT_ENCODING, accept),
                        (header::IF_MODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT"),
                    ],
                ))
                .await;
            assert_eq!(stale.status, StatusCode::OK, "{url} {accept}");
            assert_eq!(stale.body, first.body);
        }
    }
}

#[tokio::test]
async fn what_is_not_a_file_is_never_cached() {
    let server = TestServer::start().await;
    // Not built yet: the hashed file the next build brings must not be cached as missing.
    for url in [
        format!("/widget/{HASHED_WASM}"),
        "/widget/chat-widget.js".to_owned(),
    ] {
        let missing = server
            .send(get_with(&url, &[(header::ORIGIN, "https://shop.example")]))
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{url}");
        assert_eq!(missing.header("cache-control"), Some("no-store"), "{url}");
        assert_eq!(
            missing.header("access-control-allow-origin"),
            Some("https://shop.example")
        );
    }

    built_dist(&server);
    let post = server
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/widget/{HASHED_WASM}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("cache-control"), Some("no-store"));
}

// ---------------------------------------------------------------------------------------------
// The data directory outlives the process.

#[tokio::test]
async fn conversations_and_the_key_survive_a_restart() {
    let dir = TempDir::new("api");
    let dir_path = dir.path().to_owned();
    let server = TestServer::start_in(dir).await;
    let key = server.key.clone();
    let conversation = server
        .say("where is my order", json!({}))
        .await
        .decoded()
        .expect("reply")
        .conversation_id;
    server
        .update_demo(BotUpdate {
            credits: Some(Some(5)),
            ..Default::default()
        })
        .await;

    // "Restart": drop every handle on the database, then open the same directory again.
    let TestServer {
        state, _dir: dir, ..
    } = server;
    drop(state);
    assert_eq!(dir.path(), dir_path);
    let server = TestServer::start_in(dir).await;

    assert_eq!(server.key, key, "the demo key is reused");
    let messages = server
        .state
        .store
        .messages(&conversation)
        .await
        .expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].content, "where is my order");
    let bot = server
        .state
        .store
        .bot(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("demo bot");
    assert_eq!(bot.credits, Some(5), "settings persist too");

    let reply = server
        .say("thanks", json!({ "conversationId": conversation }))
        .await
        .decoded()
        .expect("reply");
    assert_eq!(
        reply.conversation_id, conversation,
        "the visitor's conversation continues"
    );
    assert_eq!(
        server
            .state
            .store
            .messages(&conversation)
            .await
            .expect("messages")
            .len(),
        4
    );
    let bot = server
        .state
        .store
        .bot(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("demo bot");
    assert_eq!(bot.credits, Some(4));
}
