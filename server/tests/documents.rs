//! Training documents: the brain answering from the demo bot's built-in FAQ document through
//! the database's full-text search (FTS5 on SQLite, tsvector on PostgreSQL), and the
//! `/v1/bots/{botId}/train` and `/documents` endpoints, bad uploads included, driven through
//! `app(state).oneshot(request)`.

mod support;
use support::TempDir;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_widget_protocol::ActionKind;
use chat_widget_server::faq::{self, Answer, AnswerKind, Faq, TOPICS};
use chat_widget_server::store::DEMO_BOT_ID;
use chat_widget_server::AppState;
use serde_json::{json, Value};

const ADMIN: &str = "test-admin-token";
const BOUNDARY: &str = "----chat-widget-test-boundary";

struct TestServer {
    state: AppState,
    key: String,
    _dir: TempDir,
}

/// One part of a multipart form: (name, file name, content type, bytes).
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

impl TestServer {
    async fn start() -> Self {
        Self::with_limit(chat_widget_server::documents::DEFAULT_MAX_UPLOAD_BYTES).await
    }

    async fn with_limit(max_upload_bytes: usize) -> Self {
        let dir = TempDir::new("documents");
        let state = support::state(dir.path(), dir.path(), "127.0.0.1:0")
            .await
            .with_admin_token(Some(ADMIN.to_owned()))
            .with_max_upload_bytes(max_upload_bytes);
        let key = state
            .store
            .first_key(DEMO_BOT_ID)
            .await
            .expect("read")
            .expect("demo key")
            .key;
        Self {
            state,
            key,
            _dir: dir,
        }
    }

    async fn ask(&self, message: &str) -> Answer {
        faq::answer(&self.state.store, DEMO_BOT_ID, "Acme Assistant", message)
            .await
            .expect("an answer")
    }

    async fn kind(&self, message: &str) -> AnswerKind {
        self.ask(message).await.kind
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, _, body) = send_to(&self.state, request).await;
        (status, body)
    }

    async fn train_as(&self, bearer: &str, bot: &str, parts: &[Part<'_>]) -> (StatusCode, Value) {
        self.send(train_request(bearer, bot, parts)).await
    }

    async fn train(&self, parts: &[Part<'_>]) -> (StatusCode, Value) {
        self.train_as(ADMIN, DEMO_BOT_ID, parts).await
    }

    async fn documents(&self) -> Vec<Value> {
        let (status, body) = self
            .send(
                Request::builder()
                    .uri("/v1/bots/demo/documents")
                    .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["documents"].as_array().cloned().unwrap_or_default()
    }

    async fn delete(&self, id: &str) -> (StatusCode, Value) {
        self.send(
            Request::builder()
                .method(Method::DELETE)
                .uri(format!("/v1/bots/demo/documents/{id}"))
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    /// Asks through the jelytech chat endpoint, as the widget does, with the demo's key.
    async fn chat(&self, message: &str) -> Value {
        let (status, body) = self
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri("/v1/chat/send")
                    .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(
                        json!({ "botId": DEMO_BOT_ID, "message": message }).to_string(),
                    ))
                    .expect("request"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// Sends a request to a server with this state: the status, headers and JSON body.
async fn send_to(state: &AppState, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, bytes) = support::send_to(state, request).await;
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `POST /v1/bots/{bot}/train` with these form parts.
fn train_request(bearer: &str, bot: &str, parts: &[Part<'_>]) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/bots/{bot}/train"))
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(parts)))
        .expect("request")
}

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file_name {
            Some(file) => format!("form-data; name=\"{name}\"; filename=\"{file}\""),
            None => format!("form-data; name=\"{name}\""),
        };
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        if let Some(content_type) = content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn entry(title: &str) -> AnswerKind {
    AnswerKind::Entry(title.to_owned())
}

const RETURNS_MD: &str = "# Warranty\n\n## How long is the warranty on a blender?\n\
    Keywords: guarantee, broken, repair\n\nEvery Acme blender has a **five-year warranty**: \
    we repair or replace it free of charge.\n\nFollow-ups: Where is my order?\n";

// ---------------------------------------------------------------------------------------------
// The brain, from the demo bot's built-in FAQ document.

#[tokio::test]
async fn visitors_questions_find_the_right_faq_entry() {
    let server = TestServer::start().await;
    let cases = [
        ("where is my order", "Where is my order?"),
        ("Where's my parcel??", "Where is my order?"),
        ("can I return shoes", "How do I return an item?"),
        ("I want a refund", "How do I return an item?"),
        (
            "how long does delivery take to Canada",
            "How long does shipping take?",
        ),
        (
            "do you ship internationally",
            "How long does shipping take?",
        ),
        (
            "can I pay with PayPal",
            "Which payment methods do you accept?",
        ),
        (
            "I need to speak to a real person",
            "How do I talk to a human?",
        ),
        ("are you open on sunday", "When are you open?"),
        ("what are your opening hours", "When are you open?"),
        ("what is this widget", "What is this chat widget?"),
        (
            "how do I embed it on my website",
            "How do I embed the widget on my site?",
        ),
        (
            "is it accessible with a screen reader",
            "Is the widget accessible?",
        ),
        ("markdown demo", "Show me what Markdown looks like"),
        ("do you store my personal data", "Is my data private?"),
        ("do you sell gift cards", "Do you have gift cards?"),
        ("hello, where is my order?", "Where is my order?"),
        ("help", "How do I talk to a human?"),
    ];
    let mut wrong = Vec::new();
    for (question, title) in cases {
        let found = server.kind(question).await;
        if found != entry(title) {
            wrong.push(format!("{question:?} -> {found:?}, expected {title:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn clicking_a_quick_reply_answers_that_entry_with_its_follow_ups() {
    let server = TestServer::start().await;
    let faq = Faq::builtin();
    for e in faq.entries() {
        let answer = server.ask(&e.title).await;
        assert_eq!(answer.kind, entry(&e.title));
        assert_eq!(answer.text, e.answer);
        assert_eq!(answer.confidence, 1.0);
        let follow_ups: Vec<&str> = answer
            .suggested_actions
            .iter()
            .map(|a| a.text.as_str())
            .collect();
        assert_eq!(follow_ups, e.follow_ups, "{}", e.title);
        // Typed a little differently, the search still finds it.
        let typed = e.title.to_uppercase().replace('?', "");
        assert_eq!(
            server.kind(&format!("{typed} please")).await,
            entry(&e.title),
            "{typed}"
        );
    }
    let searched = server
        .ask("my parcel still has not arrived, where is it")
        .await;
    assert!(matches!(searched.kind, AnswerKind::Entry(_)));
    assert!(
        (0.5..1.0).contains(&searched.confidence),
        "{}",
        searched.confidence
    );
}

#[tokio::test]
async fn greetings_thanks_and_gibberish_get_a_rule_answer_with_topics() {
    let server = TestServer::start().await;
    let topics: Vec<String> = Faq::builtin().entries()[..TOPICS]
        .iter()
        .map(|e| e.title.clone())
        .collect();
    for hello in [
        "hi",
        "Hello!",
        "hey there",
        "good morning",
        "hello, how are you?",
    ] {
        assert_eq!(server.kind(hello).await, AnswerKind::Greeting, "{hello}");
    }
    let greeting = server.ask("hi").await;
    assert!(greeting.text.contains("Acme Assistant"));
    let offered: Vec<&str> = greeting
        .suggested_actions
        .iter()
        .map(|a| a.text.as_str())
        .collect();
    assert_eq!(offered, topics);
    for thanks in ["thanks", "Thank you so much!", "ok bye"] {
        assert_eq!(server.kind(thanks).await, AnswerKind::Thanks, "{thanks}");
    }
    for nonsense in [
        "asdfgh",
        "",
        "   ",
        "?!",
        "the of and",
        "quantum chromodynamics",
    ] {
        let answer = server.ask(nonsense).await;
        assert_eq!(answer.kind, AnswerKind::Fallback, "{nonsense:?}");
        assert_eq!(answer.confidence, 0.0, "{nonsense:?}");
        let offered: Vec<&str> = answer
            .suggested_actions
            .iter()
            .map(|a| a.text.as_str())
            .collect();
        assert_eq!(offered, topics);
        assert!(answer
            .suggested_actions
            .iter()
            .all(|a| a.kind == ActionKind::QuickReply
                && a.payload.as_deref() == Some(a.text.as_str())));
    }
}

// ---------------------------------------------------------------------------------------------
// Training through the API.

#[tokio::test]
async fn a_bot_trained_from_a_markdown_file_answers_what_only_that_file_knows() {
    let server = TestServer::start().await;
    let question = "is my blender under warranty if it broke?";
    let before = server.chat(question).await;
    assert!(
        !before["response"]
            .as_str()
            .unwrap_or_default()
            .contains("five-year"),
        "{before}"
    );

    let (status, body) = server
        .train(&[
            ("file", Some("warranty.md"), None, RETURNS_MD.as_bytes()),
            (
                "metadata",
                None,
                None,
                br#"{"title":"Warranty guide","category":"support"}"#,
            ),
        ])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["success"], true);
    let document = &body["document"];
    assert_eq!(document["title"], "Warranty guide");
    assert_eq!(document["category"], "support");
    assert_eq!(document["type"], "markdown");
    assert_eq!(document["chunks"], 1);
    let id = document["id"].as_str().expect("an id").to_owned();
    assert!(id.starts_with("doc_"), "{id}");

    let after = server.chat(question).await;
    let text = after["response"].as_str().unwrap_or_default();
    assert!(text.contains("five-year warranty"), "{after}");
    assert_eq!(after["suggested_actions"][0]["text"], "Where is my order?");
    // The FAQ still answers its own questions.
    let order = server.chat("where is my order").await;
    assert!(
        order["response"]
            .as_str()
            .unwrap_or_default()
            .contains("Track my parcel"),
        "{order}"
    );

    let listed = server.documents().await;
    let titles: Vec<&str> = listed.iter().filter_map(|d| d["title"].as_str()).collect();
    assert_eq!(titles, ["Acme Store FAQ", "Warranty guide"]);

    let (status, body) = server.delete(&id).await;
    assert_eq!((status, &body["deleted"]), (StatusCode::OK, &json!(id)));
    let gone = server.chat(question).await;
    assert!(
        !gone["response"]
            .as_str()
            .unwrap_or_default()
            .contains("five-year"),
        "{gone}"
    );
    assert_eq!(server.documents().await.len(), 1);
    let (status, body) = server.delete(&id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "DOCUMENT_NOT_FOUND");
}

#[tokio::test]
async fn text_and_html_uploads_are_searched_and_html_scripts_are_dropped() {
    let server = TestServer::start().await;
    let (status, body) = server
        .train(&[(
            "file",
            Some("Store locations.txt"),
            Some("text/plain"),
            b"Our flagship shop is on Harbour Street in Wellington.\n\nThe Dunedin shop closed in 2020.",
        )])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["document"]["title"], "Store locations");
    assert_eq!(body["document"]["type"], "text");
    let html = b"<html><head><script>var tracking = 'zebracode';</script><style>.x{}</style></head>\
        <body><h1>Loyalty club</h1><p>Members collect <b>stamps</b>: ten stamps earn a free coffee.</p></body></html>";
    let (status, body) = server
        .train(&[("file", Some("club.html"), Some("text/html"), html)])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["document"]["type"], "html");

    let shop = server.ask("which street is the Wellington shop on").await;
    assert!(shop.text.contains("Harbour Street"), "{shop:?}");
    let club = server.ask("how many stamps for a coffee").await;
    assert_eq!(club.kind, entry("Loyalty club"));
    assert!(club.text.contains("ten stamps"), "{club:?}");
    assert_eq!(
        server.kind("zebracode").await,
        AnswerKind::Fallback,
        "the script's text is not learnt"
    );
}

/// HTML and PDF text is extracted a few files at a time (`--max-extractions`): an upload that
/// finds every slot taken waits for one and then succeeds, and one that gets none in time is
/// refused with 503 and `Retry-After` in the JelyTech shape, storing nothing. Meanwhile the
/// server answers everything else, and Markdown, which needs no extraction, is learnt at once.
#[tokio::test]
async fn html_uploads_past_the_extraction_limit_wait_their_turn_or_get_503_and_the_rest_goes_on() {
    let mut server = TestServer::start().await;
    server.state = server
        .state
        .clone()
        .with_max_extractions(1)
        .with_extraction_wait(Duration::from_secs(20));
    let page = |title: &str| {
        format!("<html><body><h1>{title}</h1><p>Opening hours are nine to five.</p></body></html>")
    };
    let (first, second) = (page("Opening hours"), page("Holiday hours"));
    let upload = |html: &str| {
        train_request(
            ADMIN,
            DEMO_BOT_ID,
            &[(
                "file",
                Some("hours.html"),
                Some("text/html"),
                html.as_bytes(),
            )],
        )
    };

    // The one slot is taken, as by a long extraction under way.
    let slots = Arc::clone(server.state.extraction_slots());
    let busy = Arc::clone(&slots).acquire_owned().await.expect("the slot");
    let waiting = tokio::spawn({
        let (state, request) = (server.state.clone(), upload(&first));
        async move { send_to(&state, request).await }
    });
    // Everything else is answered meanwhile.
    assert_eq!(
        server.chat("How long does shipping take?").await["success"],
        true
    );
    let before = server.documents().await.len();
    let (status, body) = server
        .train(&[(
            "file",
            Some("returns.md"),
            Some("text/markdown"),
            RETURNS_MD.as_bytes(),
        )])
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "Markdown takes no slot: {body}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "the HTML upload waits for the slot");
    drop(busy);
    let (status, _, body) = waiting.await.expect("the waiting upload");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["document"]["type"], "html");

    // An upload that gets no slot within its wait is refused, and learns nothing.
    let busy = Arc::clone(&slots).acquire_owned().await.expect("the slot");
    let impatient = server
        .state
        .clone()
        .with_extraction_wait(Duration::from_millis(300));
    let asked = Instant::now();
    let (status, headers, body) = send_to(&impatient, upload(&second)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        asked.elapsed() >= Duration::from_millis(300),
        "it waited first"
    );
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "SERVER_ERROR");
    assert_eq!(body["error"]["statusCode"], 503);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|text| text.contains("send this one again")),
        "{body}"
    );
    assert_eq!(server.documents().await.len(), before + 2, "nothing stored");
    assert_ne!(server.kind("Holiday hours").await, entry("Holiday hours"));

    // Once the slot is free, the same upload is learnt.
    drop(busy);
    let (status, _, body) = send_to(&impatient, upload(&second)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(server.kind("Holiday hours").await, entry("Holiday hours"));
}

#[tokio::test]
async fn bad_uploads_get_a_clear_error_and_store_nothing() {
    let server = TestServer::with_limit(1000).await;
    let big = vec![b'a'; 1001];
    // Beyond the form's room around the file too: refused while the body arrives.
    let huge = vec![b'a'; 200_000];
    let cases: Vec<(Vec<Part<'_>>, StatusCode, &str)> = vec![
        (
            vec![("file", Some("slides.pptx"), None, b"PK..".as_slice())],
            StatusCode::BAD_REQUEST,
            "Unsupported file type",
        ),
        (
            vec![("file", Some("empty.md"), None, b"".as_slice())],
            StatusCode::BAD_REQUEST,
            "empty",
        ),
        (
            vec![("file", Some("big.txt"), None, big.as_slice())],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
        (
            vec![("file", Some("huge.md"), None, huge.as_slice())],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
        (
            vec![(
                "file",
                Some("broken.pdf"),
                Some("application/pdf"),
                b"%PDF-1.7\n1 0 obj << /Type /Catalog".as_slice(),
            )],
            StatusCode::BAD_REQUEST,
            "PDF",
        ),
        (
            vec![(
                "file",
                Some("latin1.txt"),
                None,
                b"caf\xe9 au lait".as_slice(),
            )],
            StatusCode::BAD_REQUEST,
            "UTF-8",
        ),
        (
            vec![("metadata", None, None, br#"{"title":"No file"}"#.as_slice())],
            StatusCode::BAD_REQUEST,
            "\"file\" field is missing",
        ),
        (
            vec![
                ("file", Some("ok.md"), None, b"# Fine".as_slice()),
                ("metadata", None, None, b"{not json".as_slice()),
            ],
            StatusCode::BAD_REQUEST,
            "metadata",
        ),
    ];
    for (parts, status, says) in cases {
        let (got, body) = server.train(&parts).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(body["success"], false, "{body}");
        assert_eq!(body["error"]["code"], "INVALID_REQUEST", "{body}");
        assert_eq!(body["error"]["statusCode"], status.as_u16(), "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{says:?} in {body}");
    }
    // A body that is not a form at all.
    let (status, body) = server
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/bots/demo/train")
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_REQUEST");
    assert_eq!(server.documents().await.len(), 1, "only the FAQ");
}

#[tokio::test]
async fn only_the_admin_token_or_the_secret_key_may_train_list_or_delete() {
    let server = TestServer::start().await;
    let file: Part<'_> = ("file", Some("x.md"), None, RETURNS_MD.as_bytes());
    // The page's publishable key is refused (403), a wrong key is no key (401).
    for (bearer, refused, code) in [
        (
            server.key.as_str(),
            StatusCode::FORBIDDEN,
            "SECRET_KEY_REQUIRED",
        ),
        ("wrong-token", StatusCode::UNAUTHORIZED, "INVALID_API_KEY"),
    ] {
        let (status, body) = server.train_as(bearer, DEMO_BOT_ID, &[file]).await;
        assert_eq!(status, refused, "{body}");
        assert_eq!(body["error"]["code"], code);
        let (status, _) = server
            .send(
                Request::builder()
                    .uri("/v1/bots/demo/documents")
                    .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(status, refused);
    }
    let (status, body) = server.train_as(ADMIN, "nobody", &[file]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "BOT_NOT_FOUND");
    assert_eq!(server.documents().await.len(), 1);
}

#[tokio::test]
async fn another_bot_learns_only_from_its_own_documents() {
    let server = TestServer::start().await;
    server
        .state
        .store
        .create_bot("other", "Other")
        .await
        .expect("create");
    let other = |message: &'static str| {
        let store = server.state.store.clone();
        async move {
            faq::answer(&store, "other", "Other", message)
                .await
                .expect("answer")
        }
    };
    let fresh = other("where is my order").await;
    assert_eq!(fresh.kind, AnswerKind::Fallback, "no documents, no FAQ");
    assert!(fresh.suggested_actions.is_empty());
    assert!(other("hi").await.text.contains("Other"));
    let (status, body) = server
        .train_as(
            ADMIN,
            "other",
            &[("file", Some("w.md"), None, RETURNS_MD.as_bytes())],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(other("my blender broke").await.text.contains("five-year"));
    assert_eq!(
        server.kind("blender").await,
        AnswerKind::Fallback,
        "the demo bot did not learn it"
    );
}

#[tokio::test]
async fn a_deleted_faq_stays_deleted_after_a_restart() {
    let dir = TempDir::new("documents");
    let store = support::store(dir.path()).await;
    assert_eq!(
        chat_widget_server::documents::list(&store, DEMO_BOT_ID)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(chat_widget_server::documents::delete(
        &store,
        DEMO_BOT_ID,
        chat_widget_server::documents::DEMO_FAQ_DOCUMENT_ID
    )
    .await
    .expect("delete"));
    store.close().await;
    let again = support::store(dir.path()).await;
    assert!(chat_widget_server::documents::list(&again, DEMO_BOT_ID)
        .await
        .expect("list")
        .is_empty());
    let answer = faq::answer(&again, DEMO_BOT_ID, "Acme", "where is my order")
        .await
        .expect("answer");
    assert_eq!(answer.kind, AnswerKind::Fallback);
}
