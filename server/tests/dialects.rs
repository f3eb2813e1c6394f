//! What a client of each of the other four dialects sees, driven through
//! `app(state).oneshot(request)`: jombot, jelytech (chat, history, bots), chataibot (start,
//! send, poll and listen) and openai (JSON and `[DONE]`-ended streams). Every body is read back
//! with the protocol crate's decoders, the widget's own. Then the refusals every dialect shares
//! (401, 402, 403 for the quota and the origin, 404, 429), each in the dialect's own shape.

mod support;
use support::TempDir;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use chat_widget_protocol::dialect::{chataibot, chatbots, jelytech, jombot, openai, Dialect};
use chat_widget_protocol::sse::{SseEvent, SseParser};
use chat_widget_protocol::stream::{decode_event, ReplyBuilder};
use chat_widget_protocol::{ActionKind, ApiError, ErrorCode, OutgoingMessage, ResponseMeta};
use chat_widget_server::access::KEY_FAILURES_PER_WINDOW;
use chat_widget_server::store::{AllowedOrigins, BotUpdate, Role, DEMO_BOT_ID};
use chat_widget_server::{app, AppState};
use serde_json::{json, Value};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// Test harness.

const T0: u64 = 1_700_000_000;
const ADMIN_TOKEN: &str = "admin-secret-for-tests";

/// A fresh server: fixed clock, unpaced streams, chataibot answers after 20 ms, listening
/// streams that end after 300 ms of quiet, and an admin token.
struct TestServer {
    state: AppState,
    key: String,
    _dir: TempDir,
}

impl TestServer {
    /// A chataibot conversation started with "hi": its id.
    async fn chataibot_conversation(&self) -> String {
        let started = self
            .post(chataibot::START_PATH, chataibot_start("hi"))
            .await;
        chataibot::decode_start(&started.meta(), &started.body)
            .expect("decodes")
            .conversation_id
    }

    /// A request for the listening form of conversation `id`, with the page's key.
    fn listen_request(&self, id: &str) -> Request<Body> {
        Request::builder()
            .uri(chataibot::poll_path(id, None))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(header::ACCEPT, "text/event-stream")
            .body(Body::empty())
            .expect("request")
    }

    async fn start() -> Self {
        let dir = TempDir::new("dialects");
        let state = support::state(
            &dir.path().join("data"),
            &dir.path().join("dist"),
            "127.0.0.1:8787",
        )
        .await
        .with_clock(|| T0)
        .with_stream_delay(Duration::ZERO)
        .with_reply_delay(Duration::from_millis(20))
        .with_listen_idle_timeout(Duration::from_millis(300))
        .with_admin_token(Some(ADMIN_TOKEN.to_owned()));
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
            _dir: dir,
        }
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        send_to(&self.state, request).await
    }

    /// POSTs JSON with the demo key.
    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(post(path, Some(&self.key), &body)).await
    }

    /// GETs with another key.
    async fn send_get(&self, key: &str, path: &str) -> Answer {
        self.send(get(path, Some(key))).await
    }

    /// GETs with the demo key.
    async fn get(&self, path: &str) -> Answer {
        self.send(get(path, Some(&self.key))).await
    }

    async fn update_demo(&self, update: BotUpdate) {
        self.state
            .store
            .update_bot(DEMO_BOT_ID, &update)
            .await
            .expect("update bot");
    }
}

/// Sends a request to a server with this state and reads the whole response.
async fn send_to(state: &AppState, request: Request<Body>) -> Answer {
    let (status, headers, body) = support::send_to(state, request).await;
    Answer {
        status,
        headers,
        body,
    }
}

fn post(path: &str, key: Option<&str>, body: &Value) -> Request<Body> {
    let builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    let builder = match key {
        Some(key) => builder.header(header::AUTHORIZATION, format!("Bearer {key}")),
        None => builder,
    };
    builder.body(Body::from(body.to_string())).expect("request")
}

fn get(path: &str, key: Option<&str>) -> Request<Body> {
    let builder = Request::builder().uri(path);
    let builder = match key {
        Some(key) => builder.header(header::AUTHORIZATION, format!("Bearer {key}")),
        None => builder,
    };
    builder.body(Body::empty()).expect("request")
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
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

    /// What a decoder is told about the response.
    fn meta(&self) -> ResponseMeta {
        ResponseMeta::from_headers(self.status.as_u16(), T0, |name| {
            self.header(name).map(str::to_owned)
        })
    }

    /// The `X-RateLimit-*` headers, which every response carries: (limit, remaining, reset).
    fn rate_limit(&self) -> (u64, u64, u64) {
        let number = |name: &str| {
            self.header(name)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no numeric {name} header: {}", self.text()))
        };
        (
            number("x-ratelimit-limit"),
            number("x-ratelimit-remaining"),
            number("x-ratelimit-reset"),
        )
    }

    fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json"))
    }

    fn events(&self) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events: Vec<SseEvent> = self
            .body
            .chunks(5)
            .flat_map(|chunk| parser.feed(chunk))
            .collect();
        events.extend(parser.finish());
        events
    }
}

/// The sorted keys of a JSON object.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn is_iso8601(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
}

// ---------------------------------------------------------------------------------------------
// jombot.

#[tokio::test]
async fn a_jombot_client_gets_the_documented_reply_with_confidence_and_quick_replies() {
    let server = TestServer::start().await;
    let message = OutgoingMessage {
        message: "Hello, I need help with my order".into(),
        conversation_id: Some("conv_12345".into()),
        ..Default::default()
    };
    let context = json!({"customer_tier": "premium", "last_order": "ORD-2025-001"});
    let body: Value = serde_json::from_str(&jombot::encode_request(
        &message,
        DEMO_BOT_ID,
        Some("user_67890"),
        Some(&context),
    ))
    .expect("json");
    let first = server.post(jombot::CHAT_PATH, body).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert!(first.is_json());
    let json = first.json();
    assert_eq!(
        keys(&json),
        [
            "bot_id",
            "confidence",
            "conversation_id",
            "response",
            "suggested_actions",
            "timestamp"
        ]
    );
    assert_eq!(json["bot_id"], json!(DEMO_BOT_ID));
    assert!(
        is_iso8601(json["timestamp"].as_str().unwrap_or("")),
        "{json}"
    );
    let conversation = json["conversation_id"].as_str().unwrap_or("").to_owned();
    assert_ne!(
        conversation, "conv_12345",
        "an unknown id starts a new conversation"
    );
    for action in json["suggested_actions"].as_array().expect("a list") {
        assert_eq!(keys(action), ["payload", "text", "type"]);
        assert_eq!(action["type"], json!("quick_reply"));
    }
    assert_eq!(first.rate_limit(), (30, 29, T0 + 60));

    let reply = jombot::decode_response(&first.meta(), &first.body).expect("decodes");
    assert_eq!(reply.conversation_id, conversation);
    let confidence = reply.confidence.expect("a confidence");
    assert!((0.0..=1.0).contains(&confidence), "{confidence}");

    // Clicking a quick reply continues the conversation, with full confidence.
    let clicked = reply.suggested_actions[0].clone();
    let next = OutgoingMessage {
        message: clicked.payload.clone().unwrap_or(clicked.text.clone()),
        conversation_id: Some(conversation.clone()),
        ..Default::default()
    };
    let second = server
        .send(post(
            jombot::CHAT_PATH,
            Some(&server.key),
            &serde_json::from_str(&jombot::encode_request(&next, DEMO_BOT_ID, None, None))
                .expect("json"),
        ))
        .await;
    let reply = jombot::decode_response(&second.meta(), &second.body).expect("decodes");
    assert_eq!(
        (reply.conversation_id.as_str(), reply.confidence),
        (conversation.as_str(), Some(1.0))
    );
    assert_eq!(
        server
            .state
            .store
            .messages(&conversation)
            .await
            .expect("read")
            .len(),
        4
    );

    // A question the bot cannot place: low confidence, topics offered.
    let lost = server
        .post(
            jombot::CHAT_PATH,
            json!({"message": "asdfgh", "bot_id": DEMO_BOT_ID}),
        )
        .await;
    let reply = jombot::decode_response(&lost.meta(), &lost.body).expect("decodes");
    assert!(reply.confidence.unwrap_or(1.0) < 0.5);
    assert!(reply
        .suggested_actions
        .iter()
        .all(|a| a.kind == ActionKind::QuickReply));
}

#[tokio::test]
async fn jombot_requests_that_name_no_bot_or_say_nothing_are_400() {
    let server = TestServer::start().await;
    for (body, hint) in [
        (json!({"message": "hi"}), "bot_id"),
        (json!({"message": "hi", "bot_id": "  "}), "bot_id"),
        (json!({"message": " ", "bot_id": DEMO_BOT_ID}), "message"),
        (json!({"bot_id": DEMO_BOT_ID}), "message"),
        (json!(["hi"]), "JSON"),
    ] {
        let answer = server.post(jombot::CHAT_PATH, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let json = answer.json();
        assert_eq!(json["error"]["code"], json!("INVALID_REQUEST"));
        let text = json["error"]["message"].as_str().unwrap_or("");
        assert!(
            text.contains(hint) || hint == "JSON",
            "{text:?} should mention {hint}"
        );
        answer.rate_limit();
    }
}

// ---------------------------------------------------------------------------------------------
// jelytech.

#[tokio::test]
async fn a_jelytech_visitor_chats_and_a_reloaded_page_restores_the_conversation() {
    let server = TestServer::start().await;
    let first = OutgoingMessage {
        message: "thanks!".into(),
        metadata: Some(json!({"source": "website", "userAgent": "Mozilla/5.0..."})),
        ..Default::default()
    };
    let body: Value =
        serde_json::from_str(&jelytech::encode_send(&first, DEMO_BOT_ID, Some("user_1")))
            .expect("json");
    let sent = server.post(jelytech::SEND_PATH, body).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    let json = sent.json();
    // A thank-you has no quick replies: exactly the document's fields.
    assert_eq!(
        keys(&json),
        [
            "conversationId",
            "messageId",
            "response",
            "success",
            "timestamp"
        ]
    );
    assert!(is_iso8601(json["timestamp"].as_str().unwrap_or("")));
    let reply = jelytech::decode_response(&sent.meta(), &sent.body).expect("decodes");
    let conversation = reply.conversation_id.clone();

    let second = OutgoingMessage {
        message: "Can I return shoes?".into(),
        conversation_id: Some(conversation.clone()),
        ..Default::default()
    };
    let sent = server
        .post(
            jelytech::SEND_PATH,
            serde_json::from_str(&jelytech::encode_send(&second, DEMO_BOT_ID, None)).expect("json"),
        )
        .await;
    let second_reply = jelytech::decode_response(&sent.meta(), &sent.body).expect("decodes");
    assert_eq!(second_reply.conversation_id, conversation);
    assert!(
        second_reply.text.contains("30 days"),
        "{}",
        second_reply.text
    );
    assert!(!second_reply.suggested_actions.is_empty(), "our addition");
    // The visitor's window: the conversation's messages count apart from the first one.
    assert_eq!(sent.rate_limit().1, 29);

    let history = server.get(&jelytech::history_path(&conversation)).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text());
    assert_eq!(
        history.rate_limit().1,
        29,
        "reading the history is not counted"
    );
    let json = history.json();
    assert_eq!(keys(&json), ["conversationId", "messages", "success"]);
    for message in json["messages"].as_array().expect("list") {
        assert_eq!(keys(message), ["content", "id", "role", "timestamp"]);
    }
    let restored = jelytech::decode_history(&history.meta(), &history.body).expect("decodes");
    assert_eq!(restored.conversation_id, conversation);
    let seen: Vec<(jelytech::Role, &str)> = restored
        .messages
        .iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (jelytech::Role::User, "thanks!"),
            (jelytech::Role::Assistant, reply.text.as_str()),
            (jelytech::Role::User, "Can I return shoes?"),
            (jelytech::Role::Assistant, second_reply.text.as_str()),
        ]
    );
    assert_eq!(
        restored.messages[3].id,
        second_reply.message_id.expect("an id")
    );
}

#[tokio::test]
async fn history_shows_only_the_keys_own_conversations_and_partial_replies_are_marked() {
    let server = TestServer::start().await;
    let unknown = server
        .get(&jelytech::history_path("conv_does_not_exist"))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json(),
        json!({"success": false, "error": {"code": "CONVERSATION_NOT_FOUND", "message": "Conversation not found or access denied", "statusCode": 404}})
    );
    unknown.rate_limit();

    let (_, other_key) = server
        .state
        .store
        .create_bot("other", "Other")
        .await
        .expect("create");
    let store = &server.state.store;
    let theirs = match store.record_exchange("other", None, "hi", "hello").await {
        Ok(chat_widget_server::store::Outcome::Recorded(r)) => r.conversation_id,
        other => panic!("{other:?}"),
    };
    let refused = server.get(&jelytech::history_path(&theirs)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let err = jelytech::decode_history(&refused.meta(), &refused.body).expect_err("refused");
    assert_eq!(err.code, ErrorCode::Other("CONVERSATION_NOT_FOUND".into()));
    let allowed = server
        .send(get(&jelytech::history_path(&theirs), Some(&other_key.key)))
        .await;
    assert_eq!(allowed.status, StatusCode::OK);

    // A streamed reply cut off mid-way, and one that has not sent anything yet.
    let exchange = match store
        .begin_streamed_exchange(DEMO_BOT_ID, None, "Tell me a story")
        .await
    {
        Ok(chat_widget_server::store::Outcome::Recorded(r)) => r,
        other => panic!("{other:?}"),
    };
    store
        .finish_reply(&exchange.reply_message_id, "Once upon", false)
        .await
        .expect("store");
    let pending = match store
        .begin_streamed_exchange(DEMO_BOT_ID, Some(&exchange.conversation_id), "And then?")
        .await
    {
        Ok(chat_widget_server::store::Outcome::Recorded(r)) => r,
        other => panic!("{other:?}"),
    };
    let history = server
        .get(&jelytech::history_path(&exchange.conversation_id))
        .await;
    let restored = jelytech::decode_history(&history.meta(), &history.body).expect("decodes");
    let seen: Vec<(&str, bool)> = restored
        .messages
        .iter()
        .map(|m| (m.content.as_str(), m.partial))
        .collect();
    assert_eq!(
        seen,
        [
            ("Tell me a story", false),
            ("Once upon", true),
            ("And then?", false)
        ]
    );
    assert!(restored
        .messages
        .iter()
        .all(|m| m.id != pending.reply_message_id));
    assert_eq!(history.json()["messages"][1]["partial"], json!(true));
}

/// Guessing the admin token costs the address its budget of wrong keys, as guessing a key
/// does; past the budget even the right token is refused with 429, so the answers never tell
/// a guesser which guess was right.
#[tokio::test]
async fn guessing_the_admin_token_uses_up_the_addresss_budget_of_wrong_keys() {
    let server = TestServer::start().await;
    let seed = json!({"name": "Guessed"});
    for n in 0..KEY_FAILURES_PER_WINDOW {
        let guess = format!("guess-{n}");
        let refused = server
            .send(post(jelytech::BOTS_PATH, Some(&guess), &seed))
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    let refused = server
        .send(post(jelytech::BOTS_PATH, Some("one-more-guess"), &seed))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text()
    );
    assert_eq!(
        refused.json()["error"]["code"],
        json!("RATE_LIMIT_EXCEEDED")
    );

    // The right token from this address now gets the same answer as a wrong one, everywhere.
    let created = server
        .send(post(jelytech::BOTS_PATH, Some(ADMIN_TOKEN), &seed))
        .await;
    assert_eq!(
        created.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        created.text()
    );
    for path in [
        jelytech::bot_path(DEMO_BOT_ID),
        jelytech::analytics_path(DEMO_BOT_ID, None, None, &[]),
        "/v1/bots/demo/documents".to_owned(),
        "/v1/bots/demo/webhooks".to_owned(),
        "/v1/bots/demo/upstream".to_owned(),
    ] {
        let read = server.send(get(&path, Some(ADMIN_TOKEN))).await;
        assert_eq!(
            read.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}: {}",
            read.text()
        );
    }
}

/// The admin token is taken only whole: a guess that is a prefix of it, runs past its end,
/// differs in one character or in case, or has nothing to do with it (shorter, longer) is a
/// wrong key wherever the token works, and each one costs the address a guess of its budget.
/// (That the comparison takes the same time for all of them is not something a test on a
/// shared machine can tell; `access::is_admin` compares digests with a constant-time `==`.)
#[tokio::test]
async fn the_admin_token_is_taken_only_whole_and_a_wrong_one_of_any_length_costs_a_guess() {
    let server = TestServer::start().await;
    let seed = json!({"name": "Whole token"});
    let created = server
        .send(post(jelytech::BOTS_PATH, Some(ADMIN_TOKEN), &seed))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let documents = "/v1/bots/demo/documents";
    assert_eq!(
        server.send(get(documents, Some(ADMIN_TOKEN))).await.status,
        StatusCode::OK
    );

    let last = ADMIN_TOKEN.len() - 1;
    let wrong = [
        ADMIN_TOKEN[..last].to_owned(),
        ADMIN_TOKEN[..1].to_owned(),
        format!("{ADMIN_TOKEN}x"),
        format!("{ADMIN_TOKEN}{ADMIN_TOKEN}"),
        format!("{}X", &ADMIN_TOKEN[..last]),
        ADMIN_TOKEN.to_ascii_uppercase(),
        "a".repeat(4000),
    ];
    for (n, guess) in wrong.iter().enumerate() {
        let refused = if n % 2 == 0 {
            server
                .send(post(jelytech::BOTS_PATH, Some(guess), &seed))
                .await
        } else {
            server.send(get(documents, Some(guess))).await
        };
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "guess {n}");
        assert_eq!(refused.json()["error"]["code"], json!("INVALID_API_KEY"));
    }

    // Each of them was counted: the budget's rest, and then no more.
    let counted = u32::try_from(wrong.len()).expect("a few");
    for n in counted..KEY_FAILURES_PER_WINDOW {
        let refused = server
            .send(get(documents, Some(&format!("guess-{n}"))))
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    let over = server
        .send(post(jelytech::BOTS_PATH, Some(ADMIN_TOKEN), &seed))
        .await;
    assert_eq!(
        over.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        over.text()
    );
}

#[tokio::test]
async fn an_operator_creates_a_bot_over_http_and_the_widget_reads_its_launcher_settings() {
    let server = TestServer::start().await;
    let seed = json!({
        "name": "Customer Support Bot",
        "description": "Handles customer inquiries",
        "configuration": {
            "greeting": "Hello! How can I help you today?",
            "theme": {"primaryColor": "#007bff", "position": "bottom-left"}
        }
    });

    // A publishable key must not create bots; neither may a request without the admin token.
    for key in [Some(server.key.as_str()), None, Some("wrong-token")] {
        let refused = server.send(post(jelytech::BOTS_PATH, key, &seed)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.json()["error"]["code"], json!("INVALID_API_KEY"));
        assert_eq!(refused.json()["error"]["statusCode"], json!(401));
        refused.rate_limit();
    }

    let created = server
        .send(post(jelytech::BOTS_PATH, Some(ADMIN_TOKEN), &seed))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let json = created.json();
    assert_eq!(keys(&json), ["bot", "publishableKey", "success"]);
    assert_eq!(keys(&json["bot"]), ["createdAt", "id", "name", "status"]);
    assert_eq!(json["bot"]["status"], json!("active"));
    let bot = jelytech::decode_created_bot(&created.meta(), &created.body).expect("decodes");
    assert_eq!(bot.name, "Customer Support Bot");
    assert!(bot.id.starts_with("bot_"), "{}", bot.id);
    let key = bot.publishable_key.expect("our publishableKey");

    // The widget, with the new bot's key, reads the launcher settings.
    let read = server
        .send(get(&jelytech::bot_path(&bot.id), Some(&key)))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    assert_eq!(
        read.json()["bot"]["configuration"],
        json!({"greeting": "Hello! How can I help you today?", "theme": {"primaryColor": "#007bff", "position": "bottom-left"}})
    );
    assert_eq!(
        read.json()["bot"]["description"],
        json!("Handles customer inquiries")
    );
    assert_eq!(
        jelytech::decode_bot(&read.meta(), &read.body).expect("decodes"),
        jelytech::BotConfiguration {
            name: Some("Customer Support Bot".into()),
            greeting: Some("Hello! How can I help you today?".into()),
            primary_color: Some("#007bff".into()),
            position: Some("bottom-left".into()),
        }
    );
    read.rate_limit();
    // The admin token reads it too; another bot's key does not.
    let by_admin = server
        .send(get(&jelytech::bot_path(&bot.id), Some(ADMIN_TOKEN)))
        .await;
    assert_eq!(by_admin.status, StatusCode::OK);
    let crossed = server.get(&jelytech::bot_path(&bot.id)).await;
    assert_eq!(crossed.status, StatusCode::NOT_FOUND);
    assert_eq!(
        jelytech::decode_bot(&crossed.meta(), &crossed.body).map_err(|e| e.code),
        Err(ErrorCode::BotNotFound)
    );
    assert_eq!(crossed.json()["error"]["code"], json!("BOT_NOT_FOUND"));

    // The new bot chats with its new key.
    let chat = server
        .send(post(
            jelytech::SEND_PATH,
            Some(&key),
            &json!({"botId": bot.id, "message": "What are your business hours?"}),
        ))
        .await;
    let reply = jelytech::decode_response(&chat.meta(), &chat.body).expect("decodes");
    assert!(!reply.text.is_empty());

    // The demo bot's settings read the same way, defaults included.
    let demo = server.get(&jelytech::bot_path(DEMO_BOT_ID)).await;
    let settings = jelytech::decode_bot(&demo.meta(), &demo.body).expect("decodes");
    assert_eq!(
        (
            settings.primary_color.as_deref(),
            settings.position.as_deref()
        ),
        (Some("#0a7cff"), Some("bottom-right"))
    );
}

#[tokio::test]
async fn bot_creation_refuses_settings_the_widget_could_not_use() {
    let server = TestServer::start().await;
    for (body, hint) in [
        (json!({"description": "x"}), "name"),
        (json!({"name": " "}), "name"),
        (
            json!({"name": "B", "configuration": {"theme": {"primaryColor": "red; background: url(x)"}}}),
            "primaryColor",
        ),
        (
            json!({"name": "B", "configuration": {"theme": {"position": "top-left"}}}),
            "position",
        ),
    ] {
        let answer = server
            .send(post(jelytech::BOTS_PATH, Some(ADMIN_TOKEN), &body))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let error = &answer.json()["error"];
        assert_eq!(
            (error["code"].clone(), error["statusCode"].clone()),
            (json!("INVALID_REQUEST"), json!(400))
        );
        assert!(
            error["message"].as_str().unwrap_or("").contains(hint),
            "{error}"
        );
    }
    // Only the name is needed; the rest defaults.
    let minimal = server
        .send(post(
            jelytech::BOTS_PATH,
            Some(ADMIN_TOKEN),
            &json!({"name": "Minimal"}),
        ))
        .await;
    assert_eq!(minimal.status, StatusCode::CREATED, "{}", minimal.text());
}

#[tokio::test]
async fn the_bot_owner_reads_analytics_computed_from_the_conversations() {
    let server = TestServer::start().await;
    // Analytics show what visitors wrote: the bot's secret key reads them, not the page's key.
    let secret = server
        .state
        .store
        .create_secret_key(DEMO_BOT_ID)
        .await
        .expect("a secret key");
    let refused = server
        .get(&jelytech::analytics_path(DEMO_BOT_ID, None, None, &[]))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let say = |message: &str, conversation: Option<&str>| {
        let mut body = json!({"botId": DEMO_BOT_ID, "message": message});
        if let Some(id) = conversation {
            body["conversationId"] = json!(id);
        }
        post(jelytech::SEND_PATH, Some(&server.key), &body)
    };
    let first = server.send(say("thanks!", None)).await;
    let conversation = jelytech::decode_response(&first.meta(), &first.body)
        .expect("decodes")
        .conversation_id;
    server
        .send(say("Can I return shoes?", Some(&conversation)))
        .await;
    server.send(say("  Thanks! ", Some(&conversation))).await;
    server.send(say("Can I return shoes?", None)).await;
    // A chataibot answer arrives later: a response time above zero.
    let started = server
        .post(chataibot::START_PATH, chataibot_start("When are you open?"))
        .await;
    let started = chataibot::decode_start(&started.meta(), &started.body).expect("decodes");
    poll_for_bot(
        &server,
        &started.conversation_id,
        started.message_id.as_deref().unwrap_or(""),
    )
    .await;

    let all = server
        .send_get(
            &secret,
            &jelytech::analytics_path(DEMO_BOT_ID, None, None, &[]),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    assert_eq!(keys(&all.json()), ["analytics", "success"]);
    all.rate_limit();
    let figures = jelytech::decode_analytics(&all.meta(), &all.body).expect("decodes");
    assert_eq!(figures.total_messages, Some(10));
    assert_eq!(figures.unique_users, Some(3), "one per conversation");
    assert_eq!(
        figures.average_satisfaction, None,
        "no ratings are collected"
    );
    let response_time = figures.response_time.expect("a response time");
    assert!(response_time.ends_with('s'), "{response_time}");
    assert_eq!(
        figures.top_questions.expect("questions"),
        ["thanks!", "Can I return shoes?", "When are you open?"]
    );

    let users_only = server
        .send_get(
            &secret,
            &jelytech::analytics_path(DEMO_BOT_ID, Some("2000-01-01"), None, &["users"]),
        )
        .await;
    assert_eq!(
        users_only.json(),
        json!({"success": true, "analytics": {"uniqueUsers": 3}})
    );
    let future = server
        .send_get(
            &secret,
            &jelytech::analytics_path(
                DEMO_BOT_ID,
                Some("2999-01-01"),
                Some("2999-01-31T23:59:59Z"),
                &[],
            ),
        )
        .await;
    let figures = jelytech::decode_analytics(&future.meta(), &future.body).expect("decodes");
    assert_eq!(
        (figures.total_messages, figures.response_time),
        (Some(0), None)
    );

    for path in [
        jelytech::analytics_path(DEMO_BOT_ID, Some("last week"), None, &[]),
        jelytech::analytics_path(DEMO_BOT_ID, None, None, &["mood"]),
        jelytech::analytics_path(DEMO_BOT_ID, Some("2025-02-01"), Some("2025-01-01"), &[]),
        // An offset no zone has, large enough to overflow the milliseconds.
        jelytech::analytics_path(
            DEMO_BOT_ID,
            Some("2025-01-10T00:00:00+99999999999999999:00"),
            None,
            &[],
        ),
        jelytech::analytics_path(
            DEMO_BOT_ID,
            None,
            Some("2025-01-10T00:00-00:9999999999999"),
            &[],
        ),
    ] {
        let refused = server.send_get(&secret, &path).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            jelytech::decode_analytics(&refused.meta(), &refused.body).map_err(|e| e.code),
            Err(ErrorCode::InvalidRequest)
        );
    }
    let (_, other) = server
        .state
        .store
        .create_bot("other", "Other")
        .await
        .expect("create");
    let crossed = server
        .send(get(
            &jelytech::analytics_path(DEMO_BOT_ID, None, None, &[]),
            Some(&other.key),
        ))
        .await;
    assert_eq!(crossed.status, StatusCode::NOT_FOUND);
    let by_admin = server
        .send(get(
            &jelytech::analytics_path("other", None, None, &[]),
            Some(ADMIN_TOKEN),
        ))
        .await;
    assert_eq!(by_admin.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// chataibot.

/// The seed's start body for the demo bot.
fn chataibot_start(message: &str) -> Value {
    let params = chataibot::StartParams {
        visitor_id: "visitor-42".into(),
        bot_key: DEMO_BOT_ID.into(),
        system: Some(chataibot::SystemVariables {
            timezone: Some("Asia/Calcutta".into()),
            referrer_url: Some("https://chataibot.io".into()),
            browser_language: Some("en-GB".into()),
        }),
        contact: Some(chataibot::Contact {
            name: Some("User Name".into()),
            email: Some("example@domain.com".into()),
            phone: Some("1234567890".into()),
        }),
        conversation: Some(json!({"variable": "value"})),
    };
    serde_json::from_str(&chataibot::encode_start(message, &params)).expect("json")
}

/// Polls `after` until a bot message arrives (or two seconds pass); returns the last poll.
async fn poll_for_bot(server: &TestServer, conversation: &str, after: &str) -> Answer {
    for _ in 0..100 {
        let answer = server
            .get(&chataibot::poll_path(conversation, Some(after)))
            .await;
        let replies = chataibot::decode_bot_replies(&answer.meta(), &answer.body, conversation)
            .expect("decodes");
        if !replies.is_empty() {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no bot message arrived");
}

#[tokio::test]
async fn a_chataibot_visitor_starts_a_conversation_and_polls_for_the_answers() {
    let server = TestServer::start().await;
    let started = server
        .post(chataibot::START_PATH, chataibot_start("Where is my order?"))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let json = started.json();
    assert_eq!(keys(&json), ["contact", "conversation", "message_id", "ok"]);
    assert_eq!(
        keys(&json["conversation"]),
        ["assignee", "created_at", "id"]
    );
    assert_eq!(keys(&json["conversation"]["assignee"]), ["id", "to"]);
    assert_eq!(
        json["contact"],
        json!({"name": "User Name", "email": "example@domain.com", "phone": "1234567890", "visitor_key": "visitor-42_demo"})
    );
    let created_at = json["conversation"]["created_at"].as_str().unwrap_or("");
    assert_eq!(
        created_at.len(),
        "2025-02-10 20:21:03.913000".len(),
        "{created_at}"
    );
    assert_eq!(started.rate_limit(), (30, 29, T0 + 60));
    let conversation = chataibot::decode_start(&started.meta(), &started.body).expect("decodes");
    let first_id = conversation.message_id.clone().expect("our message_id");
    let id = conversation.conversation_id.as_str();

    // The answer is not in the reply: it arrives a moment later.
    let polled = poll_for_bot(&server, id, &first_id).await;
    // The poll is in the conversation's window, which no POST has used yet.
    assert_eq!(polled.rate_limit().1, 30, "polls are not counted");
    let replies = chataibot::decode_bot_replies(&polled.meta(), &polled.body, id).expect("decodes");
    assert_eq!(replies.len(), 1);
    assert!(replies[0].text.contains("Orders"), "{}", replies[0].text);
    assert_eq!(
        replies[0].suggested_actions.len(),
        2,
        "the FAQ's follow-ups"
    );
    let answer_id = replies[0].message_id.clone().expect("an id");

    // Everything from the start: the visitor's message, then the bot's.
    let all = server.get(&chataibot::poll_path(id, None)).await;
    let messages = chataibot::decode_messages(&all.meta(), &all.body).expect("decodes");
    let senders: Vec<chataibot::Sender> = messages.iter().map(|m| m.from).collect();
    assert_eq!(
        senders,
        [chataibot::Sender::Visitor, chataibot::Sender::Bot]
    );
    assert_eq!(messages[0].body, "Where is my order?");

    // The next visitor message, and its answer after the previous one.
    let sent = server
        .post(
            &chataibot::messages_path(id),
            serde_json::from_str(&chataibot::encode_send("Can I return shoes?")).expect("json"),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    assert_eq!(keys(&sent.json()), ["message_id", "ok"]);
    let visitor_id = chataibot::decode_send(&sent.meta(), &sent.body).expect("decodes");
    let polled = poll_for_bot(&server, id, &answer_id).await;
    let messages = chataibot::decode_messages(&polled.meta(), &polled.body).expect("decodes");
    assert_eq!(messages[0].id, visitor_id);
    let replies = chataibot::decode_bot_replies(&polled.meta(), &polled.body, id).expect("decodes");
    assert!(replies[0].text.contains("30 days"), "{}", replies[0].text);

    let stored = server.state.store.messages(id).await.expect("read");
    let roles: Vec<Role> = stored.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
}

#[tokio::test]
async fn the_chataibot_listening_form_delivers_the_answer_as_it_arrives() {
    let server = TestServer::start().await;
    let started = server
        .post(chataibot::START_PATH, chataibot_start("hi"))
        .await;
    let conversation = chataibot::decode_start(&started.meta(), &started.body).expect("decodes");
    let id = conversation.conversation_id.as_str();
    let listen = |after: Option<&str>, last_event_id: Option<&str>| {
        let builder = Request::builder()
            .uri(chataibot::poll_path(id, after))
            .header(header::AUTHORIZATION, format!("Bearer {}", server.key))
            .header(header::ACCEPT, chataibot::EVENT_STREAM);
        let builder = match last_event_id {
            Some(last) => builder.header("last-event-id", last),
            None => builder,
        };
        builder.body(Body::empty()).expect("request")
    };

    // Listening from the visitor's message: the answer arrives, then, after a quiet while,
    // the stream ends.
    let stream = server
        .send(listen(conversation.message_id.as_deref(), None))
        .await;
    assert_eq!(stream.status, StatusCode::OK);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    stream.rate_limit();
    let events = stream.events();
    let replies: Vec<_> = events
        .iter()
        .filter_map(|event| chataibot::decode_stream_event(event, id))
        .collect();
    assert_eq!(replies.len(), 1, "{}", stream.text());
    let reply = replies[0].clone().expect("a reply");
    assert!(
        reply.text.starts_with("Hi! I'm Acme Assistant"),
        "{}",
        reply.text
    );
    assert_eq!(reply.suggested_actions.len(), 4);
    let answer_id = reply.message_id.clone().expect("an id");
    assert_eq!(
        events.last().and_then(|e| e.id.clone()),
        Some(answer_id.clone())
    );

    // Resuming with Last-Event-ID: nothing new, and the stream ends.
    let resumed = server.send(listen(None, Some(&answer_id))).await;
    assert!(resumed
        .events()
        .iter()
        .all(|e| chataibot::decode_stream_event(e, id).is_none()));

    // Listening from the start replays both messages.
    let replay = server.send(listen(None, None)).await;
    let names: Vec<String> = replay.events().into_iter().map(|e| e.event).collect();
    assert_eq!(names, ["message", "message"]);
}

#[tokio::test]
async fn a_stopping_server_ends_the_listening_streams() {
    let server = TestServer::start().await;
    let id = server.chataibot_conversation().await;
    // The answer is stored first (a background task does it): the stream has two messages to
    // send, however slow the machine, whenever the stop comes.
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let stored = server.state.store.messages(&id).await.expect("messages");
            if stored.iter().filter(|m| m.complete).count() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the answer is stored");
    let patient = server
        .state
        .clone()
        .with_listen_idle_timeout(Duration::from_secs(3600));
    let request = server.listen_request(&id);
    let deliveries = std::sync::Arc::clone(server.state.deliveries());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        deliveries.close();
    });
    let stream = tokio::time::timeout(Duration::from_secs(10), send_to(&patient, request))
        .await
        .expect("the stream ends when the server stops");
    assert_eq!(stream.status, StatusCode::OK);
    assert_eq!(
        stream.events().len(),
        2,
        "what was there was sent first: {}",
        stream.text()
    );
}

/// One address holds at most `MAX_LISTENERS_PER_ADDRESS` listening streams at once (each asks
/// the database every second): the next is refused with 429 until one of them ends.
#[tokio::test]
async fn one_address_cannot_hold_open_more_than_its_share_of_listening_streams() {
    let server = TestServer::start().await;
    let id = server.chataibot_conversation().await;
    let listen = || app(server.state.clone()).oneshot(server.listen_request(&id));
    let mut open = Vec::new();
    for _ in 0..chat_widget_server::chataibot::MAX_LISTENERS_PER_ADDRESS {
        let response = listen().await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        open.push(response);
    }
    let refused = listen().await.expect("infallible");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    // The conversation can still be read, not listened to.
    let page = server.get(&chataibot::poll_path(&id, None)).await;
    assert_eq!(page.status, StatusCode::OK);
    // A stream that ends (its client went away) frees its place.
    drop(open.pop());
    assert_eq!(listen().await.expect("infallible").status(), StatusCode::OK);
}

#[tokio::test]
async fn chataibot_conversations_belong_to_their_bot() {
    let server = TestServer::start().await;
    let id = server.chataibot_conversation().await;
    let (_, other) = server
        .state
        .store
        .create_bot("other", "Other")
        .await
        .expect("create");
    let send_body: Value = serde_json::from_str(&chataibot::encode_send("hi")).expect("json");

    for (request, what) in [
        (
            post(&chataibot::messages_path(&id), Some(&other.key), &send_body),
            "another bot's key",
        ),
        (
            get(&chataibot::poll_path(&id, None), Some(&other.key)),
            "another bot's key polling",
        ),
        (
            post(
                &chataibot::messages_path("conv_nope"),
                Some(&server.key),
                &send_body,
            ),
            "an unknown conversation",
        ),
    ] {
        let answer = server.send(request).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(
            answer.json(),
            json!({"ok": false, "error": {"code": "CONVERSATION_NOT_FOUND", "message": "Conversation not found or access denied"}}),
            "{what}"
        );
        answer.rate_limit();
    }

    for (body, hint) in [
        (
            json!({"message": {"data": {"body": "x"}, "type": "image"}, "user": {"type": "VISITOR"}}),
            "text",
        ),
        (
            json!({"message": {"data": {"body": "  "}, "type": "text"}}),
            "message.data.body",
        ),
        (
            json!({"message": {"data": {"body": "x"}}, "user": {"type": "BOT"}}),
            "VISITOR",
        ),
    ] {
        let answer = server.post(&chataibot::messages_path(&id), body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        let err = chataibot::decode_send(&answer.meta(), &answer.body).expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.message.contains(hint), "{}", err.message);
    }
    let mut no_visitor = chataibot_start("hi");
    no_visitor["from"]["user_external_id"] = json!("");
    let answer = server.post(chataibot::START_PATH, no_visitor).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let unknown_bot = {
        let mut body = chataibot_start("hi");
        body["bot_key"] = json!("nope");
        server.post(chataibot::START_PATH, body).await
    };
    assert_eq!(unknown_bot.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown_bot.json()["error"]["code"], json!("BOT_NOT_FOUND"));
}

// ---------------------------------------------------------------------------------------------
// openai.

fn history() -> Vec<openai::ChatTurn> {
    vec![
        openai::ChatTurn::new(openai::Role::System, "You are Acme's assistant."),
        openai::ChatTurn::new(openai::Role::User, "Hi"),
        openai::ChatTurn::new(openai::Role::Assistant, "Hello! How can I help?"),
        openai::ChatTurn::new(openai::Role::User, "Can I return shoes?"),
    ]
}

#[tokio::test]
async fn an_openai_client_gets_a_chat_completion() {
    let server = TestServer::start().await;
    let body: Value = serde_json::from_str(&openai::encode_request(&history(), DEMO_BOT_ID, false))
        .expect("json");
    let answer = server.post(openai::CHAT_COMPLETIONS_PATH, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let json = answer.json();
    assert_eq!(
        keys(&json),
        ["choices", "created", "id", "model", "object", "usage"]
    );
    assert_eq!(json["object"], json!("chat.completion"));
    assert_eq!(json["model"], json!(DEMO_BOT_ID));
    assert_eq!(json["choices"][0]["index"], json!(0));
    assert_eq!(json["choices"][0]["message"]["role"], json!("assistant"));
    assert_eq!(json["choices"][0]["finish_reason"], json!("stop"));
    assert_eq!(
        keys(&json["usage"]),
        ["completion_tokens", "prompt_tokens", "total_tokens"]
    );
    answer.rate_limit();

    let reply = openai::decode_response(&answer.meta(), &answer.body).expect("decodes");
    assert!(reply.text.contains("30 days"), "{}", reply.text);
    assert!(reply
        .message_id
        .as_deref()
        .is_some_and(|id| id.starts_with("chatcmpl-")));
}

#[tokio::test]
async fn an_openai_stream_is_chunks_ending_with_done() {
    let server = TestServer::start().await;
    let body: Value =
        serde_json::from_str(&openai::encode_request(&history(), DEMO_BOT_ID, true)).expect("json");
    let answer = server.post(openai::CHAT_COMPLETIONS_PATH, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some("text/event-stream"));
    answer.rate_limit();

    let events = answer.events();
    assert!(
        events.iter().all(|e| e.event == "message"),
        "unnamed events"
    );
    assert_eq!(events.last().map(|e| e.data.as_str()), Some("[DONE]"));
    let chunks: Vec<openai::CompletionChunk> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(&e.data).expect("a chunk"))
        .collect();
    assert_eq!(
        chunks[0].choices[0].delta.role,
        Some(openai::Role::Assistant)
    );
    assert!(chunks.iter().all(|c| c.object == "chat.completion.chunk"
        && c.id == chunks[0].id
        && c.model == DEMO_BOT_ID));
    let last = chunks.last().expect("chunks");
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("stop"));

    let mut builder = ReplyBuilder::new();
    for event in events.iter().filter_map(decode_event) {
        builder.apply(event).expect("no error");
    }
    assert!(builder.is_done());
    let text = builder.reply().text.clone();
    assert!(text.contains("30 days"), "{text}");

    // Stored complete, as a conversation of its own.
    let reply_id = chunks[0].id.trim_start_matches("chatcmpl-");
    let conversations: Vec<_> = server
        .state
        .store
        .messages_after(
            &server
                .state
                .store
                .conversation_of_message(reply_id)
                .await
                .expect("read")
                .expect("stored"),
            None,
        )
        .await
        .expect("read");
    assert_eq!(conversations.len(), 2);
    assert_eq!(
        (conversations[1].content.as_str(), conversations[1].complete),
        (text.as_str(), true)
    );
}

#[tokio::test]
async fn openai_requests_need_a_known_model_and_a_user_message() {
    let server = TestServer::start().await;
    let unknown = server
        .post(
            openai::CHAT_COMPLETIONS_PATH,
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["error"]["code"], json!("model_not_found"));
    assert_eq!(
        openai::decode_response(&unknown.meta(), &unknown.body).map_err(|e| e.code),
        Err(ErrorCode::BotNotFound)
    );
    for body in [
        json!({"model": DEMO_BOT_ID, "messages": [{"role": "system", "content": "Be brief"}]}),
        json!({"model": DEMO_BOT_ID, "messages": [{"role": "user", "content": ""}]}),
        json!({"model": DEMO_BOT_ID}),
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    ] {
        let answer = server
            .post(openai::CHAT_COMPLETIONS_PATH, body.clone())
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            answer.json()["error"]["type"],
            json!("invalid_request_error")
        );
        assert_eq!(
            openai::decode_response(&answer.meta(), &answer.body).map_err(|e| e.code),
            Err(ErrorCode::InvalidRequest)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The refusals every dialect shares.

/// One chat request in `dialect` to the demo bot, with `key` and, if given, an `Origin`.
fn ask(dialect: Dialect, key: Option<&str>, origin: Option<&str>) -> Request<Body> {
    let message = OutgoingMessage {
        message: "hi".into(),
        stream: Some(false),
        ..Default::default()
    };
    let (path, body) = match dialect {
        Dialect::Chatbots => (
            chatbots::chat_path(DEMO_BOT_ID),
            chatbots::encode_request(&message),
        ),
        Dialect::Jombot => (
            jombot::CHAT_PATH.to_owned(),
            jombot::encode_request(&message, DEMO_BOT_ID, None, None),
        ),
        Dialect::Jelytech => (
            jelytech::SEND_PATH.to_owned(),
            jelytech::encode_send(&message, DEMO_BOT_ID, None),
        ),
        Dialect::Chataibot => (
            chataibot::START_PATH.to_owned(),
            chataibot::encode_start(
                "hi",
                &chataibot::StartParams {
                    visitor_id: "v".into(),
                    bot_key: DEMO_BOT_ID.into(),
                    ..Default::default()
                },
            ),
        ),
        Dialect::Openai => (
            openai::CHAT_COMPLETIONS_PATH.to_owned(),
            openai::encode_request(
                &[openai::ChatTurn::new(openai::Role::User, "hi")],
                DEMO_BOT_ID,
                false,
            ),
        ),
    };
    let mut request = post(&path, key, &serde_json::from_str(&body).expect("json"));
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert(header::ORIGIN, origin.parse().expect("header"));
    }
    request
}

/// What the widget's decoder for `dialect` makes of an error answer.
fn decode_error(dialect: Dialect, answer: &Answer) -> ApiError {
    let meta = answer.meta();
    let result = match dialect {
        Dialect::Chatbots => chatbots::decode_response(&meta, &answer.body).map(|_| ()),
        Dialect::Jombot => jombot::decode_response(&meta, &answer.body).map(|_| ()),
        Dialect::Jelytech => jelytech::decode_response(&meta, &answer.body).map(|_| ()),
        Dialect::Chataibot => chataibot::decode_start(&meta, &answer.body).map(|_| ()),
        Dialect::Openai => openai::decode_response(&meta, &answer.body).map(|_| ()),
    };
    result.expect_err("an error")
}

/// The code as `dialect` spells it in the body, after checking the body has exactly the
/// dialect's error shape.
fn wire_code(dialect: Dialect, answer: &Answer) -> String {
    let json = answer.json();
    let status = answer.status.as_u16();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    match dialect {
        Dialect::Chatbots => {
            assert_eq!(json["success"], json!(false));
            let expected = if status == 429 {
                vec!["code", "error", "retryAfter", "success"]
            } else {
                vec!["code", "error", "success"]
            };
            assert_eq!(keys(&json), expected);
            text(&json["code"])
        }
        Dialect::Jombot => {
            assert_eq!(keys(&json), ["error"]);
            let mut expected = vec!["code", "message"];
            if status == 429 {
                expected.push("retry_after");
            }
            assert_eq!(keys(&json["error"]), expected);
            text(&json["error"]["code"])
        }
        Dialect::Jelytech => {
            assert_eq!(json["success"], json!(false));
            assert_eq!(keys(&json["error"]), ["code", "message", "statusCode"]);
            assert_eq!(json["error"]["statusCode"], json!(status));
            text(&json["error"]["code"])
        }
        Dialect::Chataibot => {
            assert_eq!(json["ok"], json!(false));
            let mut expected = vec!["code", "message"];
            if status == 429 {
                expected.push("retry_after");
            }
            assert_eq!(keys(&json["error"]), expected);
            text(&json["error"]["code"])
        }
        Dialect::Openai => {
            assert_eq!(keys(&json), ["error"]);
            assert_eq!(keys(&json["error"]), ["code", "message", "param", "type"]);
            text(&json["error"]["code"])
        }
    }
}

#[tokio::test]
async fn every_dialect_answers_each_refusal_in_its_own_shape() {
    let server = TestServer::start().await;
    // (what is set up, status, model code, wire code per dialect in Dialect::ALL order)
    type Case = (&'static str, u16, ErrorCode, [&'static str; 5]);
    let cases: [Case; 6] = [
        (
            "no key",
            401,
            ErrorCode::InvalidApiKey,
            [
                "INVALID_API_KEY",
                "INVALID_API_KEY",
                "INVALID_API_KEY",
                "INVALID_API_KEY",
                "invalid_api_key",
            ],
        ),
        (
            "another bot's key",
            404,
            ErrorCode::BotNotFound,
            [
                "CHATBOT_NOT_FOUND",
                "BOT_NOT_FOUND",
                "BOT_NOT_FOUND",
                "BOT_NOT_FOUND",
                "model_not_found",
            ],
        ),
        (
            "a page on another origin",
            403,
            ErrorCode::OriginNotAllowed,
            [
                "ORIGIN_NOT_ALLOWED",
                "ORIGIN_NOT_ALLOWED",
                "ORIGIN_NOT_ALLOWED",
                "ORIGIN_NOT_ALLOWED",
                "origin_not_allowed",
            ],
        ),
        (
            "no credits left",
            402,
            ErrorCode::InsufficientCredits,
            [
                "INSUFFICIENT_CREDITS",
                "INSUFFICIENT_CREDITS",
                "INSUFFICIENT_CREDITS",
                "INSUFFICIENT_CREDITS",
                "insufficient_credits",
            ],
        ),
        (
            "the monthly quota used up",
            403,
            ErrorCode::QuotaExceeded,
            [
                "QUOTA_EXCEEDED",
                "QUOTA_EXCEEDED",
                "QUOTA_EXCEEDED",
                "QUOTA_EXCEEDED",
                "insufficient_quota",
            ],
        ),
        (
            "the rate limit used up",
            429,
            ErrorCode::RateLimitExceeded,
            [
                "RATE_LIMIT_EXCEEDED",
                "RATE_LIMIT_EXCEEDED",
                "RATE_LIMIT_EXCEEDED",
                "RATE_LIMIT_EXCEEDED",
                "rate_limit_exceeded",
            ],
        ),
    ];
    let (_, other) = server
        .state
        .store
        .create_bot("other", "Other")
        .await
        .expect("create");
    server
        .update_demo(BotUpdate {
            allowed_origins: Some(AllowedOrigins::parse("https://shop.test")),
            ..Default::default()
        })
        .await;

    for (setup, status, code, wire) in cases {
        let (key, origin) = match setup {
            "no key" => (None, None),
            "another bot's key" => (Some(other.key.as_str()), None),
            "a page on another origin" => (Some(server.key.as_str()), Some("https://evil.test")),
            _ => (Some(server.key.as_str()), Some("https://shop.test")),
        };
        let update = match setup {
            "no credits left" => Some(BotUpdate {
                credits: Some(Some(0)),
                ..Default::default()
            }),
            "the monthly quota used up" => Some(BotUpdate {
                credits: Some(None),
                monthly_quota: Some(Some(0)),
                ..Default::default()
            }),
            "the rate limit used up" => Some(BotUpdate {
                monthly_quota: Some(None),
                rate_limit_per_minute: Some(0),
                ..Default::default()
            }),
            _ => None,
        };
        if let Some(update) = update {
            server.update_demo(update).await;
        }
        for (dialect, wire) in Dialect::ALL.into_iter().zip(wire) {
            let answer = server.send(ask(dialect, key, origin)).await;
            let what = format!("{dialect}, {setup}");
            assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.text());
            assert!(answer.is_json(), "{what}");
            assert_eq!(wire_code(dialect, &answer), wire, "{what}");
            answer.rate_limit();
            let error = decode_error(dialect, &answer);
            assert_eq!(error.code, code, "{what}");
            assert_eq!(error.http_status, Some(status), "{what}");
            if status == 429 {
                assert!(answer.header("retry-after").is_some(), "{what}");
                assert!(error.retry_after_s.is_some_and(|s| s > 0), "{what}");
            }
        }
    }
}

#[tokio::test]
async fn the_monthly_quota_counts_the_replies_of_every_dialect() {
    let server = TestServer::start().await;
    server
        .update_demo(BotUpdate {
            monthly_quota: Some(Some(4)),
            ..Default::default()
        })
        .await;
    for dialect in [
        Dialect::Chatbots,
        Dialect::Jombot,
        Dialect::Jelytech,
        Dialect::Openai,
    ] {
        let answer = server.send(ask(dialect, Some(&server.key), None)).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{dialect}: {}",
            answer.text()
        );
    }
    assert_eq!(
        server
            .state
            .store
            .replies_this_month(DEMO_BOT_ID)
            .await
            .expect("count"),
        4
    );
    let refused = server
        .send(ask(Dialect::Chataibot, Some(&server.key), None))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        decode_error(Dialect::Chataibot, &refused).code,
        ErrorCode::QuotaExceeded
    );
    assert_eq!(
        refused.json()["error"]["message"],
        json!("Monthly message quota exceeded")
    );

    // A chataibot answer still on its way counts too.
    server
        .update_demo(BotUpdate {
            monthly_quota: Some(Some(5)),
            ..Default::default()
        })
        .await;
    let slow = server
        .state
        .clone()
        .with_reply_delay(Duration::from_secs(60));
    let accepted = send_to(&slow, ask(Dialect::Chataibot, Some(&server.key), None)).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text());
    assert_eq!(
        server
            .state
            .store
            .pending_replies(DEMO_BOT_ID)
            .await
            .expect("read"),
        1
    );
    let refused = send_to(&slow, ask(Dialect::Jombot, Some(&server.key), None)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
}

#[tokio::test]
async fn pages_on_other_origins_may_listen_and_read_with_their_key() {
    let server = TestServer::start().await;
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri(chataibot::poll_path("conv_1", Some("msg_1")))
        .header(header::ORIGIN, "https://shop.test")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,accept,last-event-id",
        )
        .body(Body::empty())
        .expect("request");
    let answer = server.send(preflight).await;
    assert!(answer.status.is_success());
    let allowed = answer
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    for name in ["authorization", "accept", "last-event-id", "content-type"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(answer
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("GET")));
}
