//! What a client of the reference server sees when it asks for a streamed reply, driven
//! through `app(state).oneshot(request)`: the Server-Sent Events, read with the protocol
//! crate's own parser and decoder (the widget's), the reply they add up to and how it is
//! stored, the bot default that chooses between SSE and JSON, errors that stay JSON, and a
//! visitor who leaves mid-reply.

mod support;
use support::TempDir;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, Response, StatusCode};
use chat_widget_protocol::dialect::chatbots::events::{sse_frame, Actions, Delta, Done, Start};
use chat_widget_protocol::dialect::chatbots::{chat_path, ErrorBody};
use chat_widget_protocol::sse::{SseEvent, SseParser};
use chat_widget_protocol::stream::{decode_event, ReplyBuilder, StreamEvent};
use chat_widget_protocol::ErrorCode;
use chat_widget_server::sse::word_pieces;
use chat_widget_server::store::{Backend, BotUpdate, Role, StoredMessage, DEMO_BOT_ID};
use chat_widget_server::{app, AppError, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// Test harness: a server on a fresh data directory, and what a streaming client reads.

struct TestServer {
    state: AppState,
    key: String,
    _dir: TempDir,
}

impl TestServer {
    /// A fresh server whose streamed replies are not paced (fast tests).
    async fn start() -> Self {
        Self::with_delay(Duration::ZERO).await
    }

    /// A fresh server with this pause between deltas.
    async fn with_delay(delay: Duration) -> Self {
        let dir = TempDir::new("stream");
        let state = support::state(
            &dir.path().join("data"),
            &dir.path().join("dist"),
            "127.0.0.1:8787",
        )
        .await
        .with_stream_delay(delay);
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

    /// The request that posts exactly this JSON body to the demo bot with the demo key.
    fn post_request(&self, body: Value) -> Request<Body> {
        Request::builder()
            .method(Method::POST)
            .uri(chat_path(DEMO_BOT_ID))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .body(Body::from(body.to_string()))
            .expect("request")
    }

    /// Posts exactly this JSON body to the demo bot with the demo key; the body is not read.
    async fn post(&self, body: Value) -> Response<Body> {
        self.request(self.post_request(body)).await
    }

    async fn request(&self, request: Request<Body>) -> Response<Body> {
        app(self.state.clone())
            .oneshot(request)
            .await
            .expect("infallible")
    }

    /// Sends `request` and reads the response to the end.
    async fn answer(&self, request: Request<Body>) -> Answer {
        let (status, headers, body) = support::send_to(&self.state, request).await;
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Posts `body` and reads the response to the end.
    async fn send(&self, body: Value) -> Answer {
        self.answer(self.post_request(body)).await
    }

    /// Asks for a streamed reply to `message` (plus `extra` fields).
    async fn stream(&self, message: &str, extra: Value) -> Answer {
        let mut body = json!({ "message": message, "stream": true });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.send(body).await
    }

    async fn update_demo(&self, update: BotUpdate) {
        self.state
            .store
            .update_bot(DEMO_BOT_ID, &update)
            .await
            .expect("update bot");
    }

    async fn credits(&self) -> Option<u64> {
        self.state
            .store
            .bot(DEMO_BOT_ID)
            .await
            .expect("read")
            .expect("demo bot")
            .credits
    }

    async fn messages(&self, conversation: &str) -> Vec<StoredMessage> {
        self.state
            .store
            .messages(conversation)
            .await
            .expect("messages")
    }
}

/// A whole response as the client received it.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn is_event_stream(&self) -> bool {
        self.header("content-type") == Some("text/event-stream")
    }

    fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json"))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    /// The SSE events, parsed by the widget's parser fed in awkward 3-byte chunks (which
    /// split UTF-8 characters and line ends).
    fn events(&self) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events: Vec<SseEvent> = self
            .body
            .chunks(3)
            .flat_map(|chunk| parser.feed(chunk))
            .collect();
        events.extend(parser.finish());
        events
    }

    fn event_names(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.event).collect()
    }

    /// The events as the widget's decoder understands them.
    fn decoded(&self) -> Vec<StreamEvent> {
        self.events()
            .iter()
            .map(|e| decode_event(e).unwrap_or_else(|| panic!("undecodable event {e:?}")))
            .collect()
    }

    /// The `content` of every `delta`, in order.
    fn deltas(&self) -> Vec<String> {
        self.decoded()
            .into_iter()
            .filter_map(|e| match e {
                StreamEvent::Delta(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    /// The `done` event's payload, as the server's type.
    fn done(&self) -> Done {
        let events = self.events();
        let done = events
            .iter()
            .find(|e| e.event == "done")
            .expect("a done event");
        serde_json::from_str(&done.data).expect("done payload")
    }

    fn start(&self) -> Start {
        let events = self.events();
        let start = events.first().expect("a first event");
        assert_eq!(start.event, "start");
        serde_json::from_str(&start.data).expect("start payload")
    }
}

/// The frames a client has read so far from a body it is still reading.
async fn read_frames(body: &mut Body, count: usize) -> Vec<Bytes> {
    let mut frames = Vec::new();
    while frames.len() < count {
        let frame = body
            .frame()
            .await
            .expect("the stream goes on")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            frames.push(data);
        }
    }
    frames
}

/// The delta texts in some frames.
fn delta_texts(frames: &[Bytes]) -> String {
    let mut parser = SseParser::new();
    frames
        .iter()
        .flat_map(|frame| parser.feed(frame))
        .filter_map(|event| match decode_event(&event) {
            Some(StreamEvent::Delta(text)) => Some(text),
            _ => None,
        })
        .collect()
}

/// What the demo bot answers from its training documents (the built-in FAQ).
async fn faq_answer(server: &TestServer, message: &str) -> chat_widget_server::faq::Answer {
    chat_widget_server::faq::answer(&server.state.store, "demo", "Acme Assistant", message)
        .await
        .expect("an answer")
}

// ---------------------------------------------------------------------------------------------
// A streamed reply.

#[tokio::test]
async fn a_streamed_reply_is_start_then_deltas_then_quick_replies_then_done() {
    let server = TestServer::start().await;
    let answer = server.stream("where is my order", json!({})).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.is_event_stream(),
        "{:?}",
        answer.header("content-type")
    );
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    assert_eq!(answer.header("x-ratelimit-limit"), Some("30"));
    assert_eq!(answer.header("x-ratelimit-remaining"), Some("29"));
    assert!(answer.header("x-ratelimit-reset").is_some());

    let names = answer.event_names();
    let deltas = names.iter().filter(|n| *n == "delta").count();
    assert!(deltas > 20, "word-sized deltas, got {deltas}");
    let mut expected = vec!["start".to_owned()];
    expected.extend(std::iter::repeat_n("delta".to_owned(), deltas));
    expected.extend(["actions".to_owned(), "done".to_owned()]);
    assert_eq!(names, expected);

    // Byte for byte what the protocol crate's types encode: the server cannot drift from the
    // format the widget parses.
    let faq = faq_answer(&server, "where is my order").await;
    let start = answer.start();
    assert!(start.conversation_id.starts_with("conv_"));
    assert!(start
        .message_id
        .as_deref()
        .is_some_and(|id| id.starts_with("msg_")));
    let mut wire = sse_frame("start", &start);
    for piece in word_pieces(&faq.text) {
        wire.push_str(&sse_frame(
            "delta",
            &Delta {
                content: piece.to_owned(),
            },
        ));
    }
    wire.push_str(&sse_frame(
        "actions",
        &Actions {
            suggested_actions: faq.suggested_actions.clone(),
        },
    ));
    wire.push_str(&sse_frame(
        "done",
        &Done {
            conversation_id: start.conversation_id.clone(),
            message_id: start.message_id.clone(),
            response: Some(faq.text.clone()),
        },
    ));
    assert_eq!(String::from_utf8_lossy(&answer.body), wire);
}

#[tokio::test]
async fn the_deltas_add_up_to_the_reply_the_widget_shows_and_the_server_stores() {
    let server = TestServer::start().await;
    // Arrows and dashes (multi-byte UTF-8), a table, a code block, a greeting, a fallback.
    for message in [
        "where is my order",
        "How long does shipping take?",
        "How do I embed the widget on my site?",
        "Show me what Markdown looks like",
        "hi",
        "asdfgh",
        "thanks",
    ] {
        let answer = server.stream(message, json!({})).await;
        let faq = faq_answer(&server, message).await;
        let deltas = answer.deltas();
        assert!(
            deltas
                .iter()
                .all(|d| !d.is_empty() && d.split_whitespace().count() <= 1),
            "word-sized: {deltas:?}"
        );
        let streamed = deltas.concat();
        let done = answer.done();
        assert_eq!(streamed, faq.text, "{message}");
        assert_eq!(done.response.as_deref(), Some(streamed.as_str()));

        // The widget's decoder folds the events into the same reply as the JSON form.
        let mut builder = ReplyBuilder::new();
        for event in answer.decoded() {
            builder.apply(event).expect("no error event");
        }
        assert!(builder.is_done());
        let reply = builder.into_reply();
        assert_eq!(reply.text, faq.text);
        assert_eq!(reply.suggested_actions, faq.suggested_actions);
        assert_eq!(reply.conversation_id, done.conversation_id);
        assert_eq!(reply.message_id, done.message_id);

        let stored = server.messages(&done.conversation_id).await;
        assert_eq!(stored.len(), 2);
        assert_eq!(
            (stored[0].role, stored[0].content.as_str()),
            (Role::User, message)
        );
        assert_eq!(stored[1].role, Role::Assistant);
        assert_eq!(stored[1].content, streamed, "stored as streamed");
        assert!(stored[1].complete);
        assert_eq!(Some(stored[1].id.clone()), done.message_id);
    }
}

#[tokio::test]
async fn a_reply_without_quick_replies_has_no_actions_event() {
    let server = TestServer::start().await;
    let answer = server.stream("thank you!", json!({})).await;
    let names = answer.event_names();
    assert_eq!(names.first().map(String::as_str), Some("start"));
    assert_eq!(names.last().map(String::as_str), Some("done"));
    assert!(!names.iter().any(|n| n == "actions"), "{names:?}");
}

#[tokio::test]
async fn a_streamed_conversation_continues_and_mixes_with_json() {
    let server = TestServer::start().await;
    let first = server.stream("hi", json!({})).await.done();
    let conversation = first.conversation_id;

    let second = server
        .stream(
            "How do I return an item?",
            json!({ "conversationId": conversation }),
        )
        .await;
    assert_eq!(second.start().conversation_id, conversation);
    assert_eq!(second.done().conversation_id, conversation);

    let third = server
        .send(json!({ "message": "thanks", "conversationId": conversation, "stream": false }))
        .await;
    assert!(third.is_json());
    assert_eq!(third.json()["data"]["conversationId"], json!(conversation));

    let stored = server.messages(&conversation).await;
    let roles: Vec<Role> = stored.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant
        ]
    );
    assert!(stored[3].content.contains("30 days"));
    assert!(stored.iter().all(|m| m.complete));
}

#[tokio::test]
async fn a_streamed_page_on_another_origin_can_read_the_stream_and_its_headers() {
    let server = TestServer::start().await;
    let request = Request::builder()
        .method(Method::POST)
        .uri(chat_path(DEMO_BOT_ID))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", server.key))
        .header(header::ORIGIN, "https://shop.example")
        .body(Body::from(r#"{"message":"hi","stream":true}"#))
        .expect("request");
    let answer = server.answer(request).await;
    assert!(answer.is_event_stream());
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let exposed = answer
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(exposed.contains("x-ratelimit-remaining"), "{exposed}");
}

// ---------------------------------------------------------------------------------------------
// SSE or JSON: the request says, or else the bot.

#[tokio::test]
async fn the_bots_default_decides_when_the_request_does_not_say() {
    let server = TestServer::start().await;
    let demo = server.state.store.bot(DEMO_BOT_ID).await.expect("read");
    assert!(
        demo.is_some_and(|bot| bot.stream_default),
        "the demo bot streams by default"
    );

    let absent = server.send(json!({ "message": "hi" })).await;
    assert!(absent.is_event_stream());
    assert_eq!(
        absent.event_names().last().map(String::as_str),
        Some("done")
    );

    let refused = server
        .send(json!({ "message": "hi", "stream": false }))
        .await;
    assert!(refused.is_json(), "stream:false wins over the default");
    assert_eq!(refused.json()["success"], json!(true));

    server
        .update_demo(BotUpdate {
            stream_default: Some(false),
            ..Default::default()
        })
        .await;
    let absent = server.send(json!({ "message": "hi" })).await;
    assert!(absent.is_json(), "default false: JSON");
    assert_eq!(absent.json()["success"], json!(true));
    let asked = server
        .send(json!({ "message": "hi", "stream": true }))
        .await;
    assert!(asked.is_event_stream(), "stream:true wins over the default");

    // Other bots start with JSON by default.
    let (bot, key) = server
        .state
        .store
        .create_bot("other", "Other")
        .await
        .expect("create");
    assert!(!bot.stream_default);
    let other = server
        .answer(
            Request::builder()
                .method(Method::POST)
                .uri(chat_path("other"))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {}", key.key))
                .body(Body::from(r#"{"message":"hi"}"#))
                .expect("request"),
        )
        .await;
    assert!(other.is_json());
}

#[tokio::test]
async fn an_existing_data_dir_keeps_its_demo_bots_setting() {
    let dir = TempDir::new("stream");
    let data = dir.path().join("data");
    let state = AppState::open(&data, dir.path().join("dist"), "x")
        .await
        .expect("open");
    state
        .store
        .update_bot(
            DEMO_BOT_ID,
            &BotUpdate {
                stream_default: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    state.store.close().await;
    drop(state);
    let state = AppState::open(&data, dir.path().join("dist"), "x")
        .await
        .expect("reopen");
    let bot = state
        .store
        .bot(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("demo");
    assert!(!bot.stream_default);
}

// ---------------------------------------------------------------------------------------------
// Errors are decided before the stream starts, so they are JSON with their status.

#[tokio::test]
async fn errors_before_the_stream_are_json_with_their_status() {
    let server = TestServer::start().await;
    let assert_json_error = |answer: &Answer, status: u16, code: &str| {
        assert_eq!(answer.status.as_u16(), status);
        assert!(answer.is_json(), "{:?}", answer.header("content-type"));
        assert_eq!(answer.json()["code"], json!(code));
        assert_eq!(answer.json()["success"], json!(false));
        assert!(answer.header("x-ratelimit-limit").is_some());
    };
    let streamed = |key: &str, bot: &str, body: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(chat_path(bot))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::from(body.to_owned()))
            .expect("request")
    };
    let ask = r#"{"message":"hi","stream":true}"#;

    let bad_key = server
        .answer(streamed("pk_live_nope", DEMO_BOT_ID, ask))
        .await;
    assert_json_error(&bad_key, 401, "INVALID_API_KEY");
    let no_bot = server.answer(streamed(&server.key, "nope", ask)).await;
    assert_json_error(&no_bot, 404, "CHATBOT_NOT_FOUND");
    let empty = server.send(json!({ "message": " ", "stream": true })).await;
    assert_json_error(&empty, 400, "INVALID_REQUEST");

    server
        .update_demo(BotUpdate {
            credits: Some(Some(0)),
            ..Default::default()
        })
        .await;
    let broke = server.stream("hi", json!({})).await;
    assert_json_error(&broke, 402, "INSUFFICIENT_CREDITS");
    // The bot's default (stream) does not change that either.
    let broke = server.send(json!({ "message": "hi" })).await;
    assert_json_error(&broke, 402, "INSUFFICIENT_CREDITS");

    server
        .update_demo(BotUpdate {
            credits: Some(None),
            rate_limit_per_minute: Some(4),
            ..Default::default()
        })
        .await;
    // Three of the four were used by the requests refused for their body or credits above
    // (a bad key or bot is refused before it counts).
    assert!(server.stream("hi", json!({})).await.is_event_stream());
    let limited = server.stream("hi", json!({})).await;
    assert_json_error(&limited, 429, "RATE_LIMIT_EXCEEDED");
    assert!(limited.json()["retryAfter"].as_u64().is_some());
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test]
async fn each_streamed_reply_spends_one_credit() {
    let server = TestServer::start().await;
    server
        .update_demo(BotUpdate {
            credits: Some(Some(2)),
            ..Default::default()
        })
        .await;
    server.stream("hi", json!({})).await.done();
    assert_eq!(server.credits().await, Some(1));
    server.stream("where is my order", json!({})).await.done();
    assert_eq!(server.credits().await, Some(0));
    assert_eq!(server.stream("hi", json!({})).await.status.as_u16(), 402);
}

// ---------------------------------------------------------------------------------------------
// The visitor leaves mid-reply.

#[tokio::test]
async fn a_visitor_who_leaves_mid_reply_leaves_what_was_sent_stored_as_incomplete() {
    let server = TestServer::with_delay(Duration::from_millis(5)).await;
    server
        .update_demo(BotUpdate {
            credits: Some(Some(5)),
            ..Default::default()
        })
        .await;
    let full = faq_answer(&server, "where is my order").await.text;

    let response = server
        .post(json!({ "message": "where is my order", "stream": true }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    // `start` and four deltas, then the visitor closes the page.
    let frames = read_frames(&mut body, 5).await;
    let start: Start = {
        let mut parser = SseParser::new();
        let events = parser.feed(&frames[0]);
        serde_json::from_str(&events[0].data).expect("start")
    };
    let received = delta_texts(&frames);
    drop(body);
    // The dropped stream's reply is written by a task.
    support::eventually("the cut reply is stored", || async {
        let stored = server.messages(&start.conversation_id).await;
        stored.len() == 2 && !stored[1].content.is_empty()
    })
    .await;

    let stored = server.messages(&start.conversation_id).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].content, "where is my order");
    let reply = &stored[1];
    assert_eq!(Some(reply.id.clone()), start.message_id);
    assert!(!reply.complete, "marked incomplete");
    assert_eq!(reply.content, received, "exactly what was sent");
    assert!(full.starts_with(&reply.content) && reply.content.len() < full.len());
    assert_eq!(
        server.credits().await,
        Some(4),
        "a reply that was partly sent spends its credit"
    );

    // The next question in the same conversation is answered normally.
    let next = server
        .stream(
            "How long does shipping take?",
            json!({ "conversationId": start.conversation_id }),
        )
        .await;
    let done = next.done();
    assert_eq!(done.conversation_id, start.conversation_id);
    assert_eq!(
        done.response.as_deref(),
        Some(
            faq_answer(&server, "How long does shipping take?")
                .await
                .text
                .as_str()
        )
    );
    let stored = server.messages(&start.conversation_id).await;
    let shape: Vec<(Role, bool)> = stored.iter().map(|m| (m.role, m.complete)).collect();
    assert_eq!(
        shape,
        [
            (Role::User, true),
            (Role::Assistant, false),
            (Role::User, true),
            (Role::Assistant, true)
        ]
    );
    assert_eq!(server.credits().await, Some(3));
}

#[tokio::test]
async fn a_visitor_who_leaves_before_the_first_word_costs_nothing() {
    let server = TestServer::with_delay(Duration::from_millis(5)).await;
    server
        .update_demo(BotUpdate {
            credits: Some(Some(3)),
            ..Default::default()
        })
        .await;

    // Gone after reading `start` only.
    let response = server
        .post(json!({ "message": "where is my order", "stream": true }))
        .await;
    let mut body = response.into_body();
    let frames = read_frames(&mut body, 1).await;
    let start: Start = {
        let mut parser = SseParser::new();
        serde_json::from_str(&parser.feed(&frames[0])[0].data).expect("start")
    };
    drop(body);
    // The dropped stream's withdrawal is written by a task.
    support::eventually("the empty reply is withdrawn", || async {
        server.messages(&start.conversation_id).await.len() == 1
    })
    .await;
    let stored = server.messages(&start.conversation_id).await;
    assert_eq!(
        stored.len(),
        1,
        "the question is kept, the empty reply is not"
    );
    assert_eq!(stored[0].role, Role::User);
    assert_eq!(server.credits().await, Some(3), "the credit is given back");

    // Gone before reading anything.
    drop(
        server
            .post(json!({ "message": "hi", "stream": true }))
            .await,
    );
    support::eventually("the credit is given back", || async {
        server.credits().await == Some(3)
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Failures after the stream started, and silence.

#[tokio::test]
async fn a_failure_after_the_stream_started_ends_it_with_an_error_event() {
    let server = TestServer::start().await;
    // Break the database the way a full disk would: replies can no longer be written.
    let trigger = match server.state.store.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER broken BEFORE UPDATE ON messages
             BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION broken() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'disk I/O error'; END; $$ LANGUAGE plpgsql;
             CREATE TRIGGER broken BEFORE UPDATE ON messages
             FOR EACH ROW EXECUTE FUNCTION broken();"
        }
    };
    server
        .state
        .store
        .execute_script(trigger)
        .await
        .expect("trigger");

    let answer = server.stream("where is my order", json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "the stream had started");
    let names = answer.event_names();
    assert_eq!(names.first().map(String::as_str), Some("start"));
    assert_eq!(names.last().map(String::as_str), Some("error"));
    assert!(!names.iter().any(|n| n == "done"), "{names:?}");

    let events = answer.events();
    let error = events.last().expect("an error event");
    let expected = AppError::Internal("x".into()).body();
    assert_eq!(
        serde_json::from_str::<ErrorBody>(&error.data).expect("error body"),
        expected
    );
    assert_eq!(
        serde_json::from_str::<Value>(&error.data).expect("json"),
        json!({ "success": false, "error": "Internal server error. Please try again later.", "code": "SERVER_ERROR" })
    );
    match decode_event(error) {
        Some(StreamEvent::Error(err)) => assert_eq!(err.code, ErrorCode::Server),
        other => panic!("the widget reads an error, not {other:?}"),
    }

    let stored = server.messages(&answer.start().conversation_id).await;
    assert!(!stored[1].complete, "never stored as complete");
}

#[tokio::test]
async fn a_silent_stream_sends_keep_alive_comments() {
    // A "model" that takes 40 s per word. The clock is paused once the reply has started (and
    // jumps ahead when idle): the database work before it runs on real time, as a paused
    // clock would jump past the request's timeout while a query is on its way.
    let server = TestServer::with_delay(Duration::from_secs(40)).await;
    let response = server
        .post(json!({ "message": "where is my order", "stream": true }))
        .await;
    let mut body = response.into_body();
    let mut frames = read_frames(&mut body, 2).await;
    tokio::time::pause();
    frames.extend(read_frames(&mut body, 3).await);
    let text: Vec<String> = frames
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    assert!(text[0].starts_with("event: start\n"));
    assert!(text[1].starts_with("event: delta\n"));
    assert_eq!(text[2], ": keep-alive\n\n", "after 15 s of silence");
    assert_eq!(text[3], ": keep-alive\n\n", "and again 15 s later");
    assert!(
        text[4].starts_with("event: delta\n"),
        "the next word at 40 s"
    );
    // The widget's parser skips comments.
    let mut parser = SseParser::new();
    let names: Vec<String> = frames
        .iter()
        .flat_map(|f| parser.feed(f))
        .map(|e| e.event)
        .collect();
    assert_eq!(names, ["start", "delta", "delta"]);
}
