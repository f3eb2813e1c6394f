//! Webhooks against a real HTTP receiver on loopback: every event arrives in the seeds'
//! envelope with a signature that verifies, a receiver failing a few times gets the event on
//! a retry, and a receiver that is down across a server restart still gets it (the outbox is
//! in the database). Deliveries are driven with `AppState::deliver_webhooks`, what the
//! serving process runs every second.

mod support;
use support::TempDir;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use chat_widget_server::store::DEMO_BOT_ID;
use chat_widget_server::AppState;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const ADMIN: &str = "test-admin-token";
const SECRET: &str = "whsec_0123456789abcdef";

/// What the receiver got: (headers, body).
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// An HTTP receiver on `addr` that answers 500 to its first `failures` requests, then 200.
async fn receiver(addr: &str, failures: usize) -> (String, Received) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let received: Received = Arc::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let log = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = Arc::clone(&log);
            let seen = Arc::clone(&seen);
            async move {
                if seen.fetch_add(1, Ordering::SeqCst) < failures {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let body = String::from_utf8_lossy(&body).into_owned();
                log.lock().expect("log").push((headers, body));
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, received)
}

async fn state(dir: &Path) -> AppState {
    support::state(dir, dir, "127.0.0.1:0")
        .await
        .with_admin_token(Some(ADMIN.to_owned()))
        .with_webhook_retry(Duration::from_millis(20))
}

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, bytes) = support::send_to(state, request).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn register(state: &AppState, url: &str, events: &[&str]) -> String {
    let (status, body) = send(
        state,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/bots/demo/webhooks")
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({ "url": url, "events": events, "secret": SECRET }).to_string(),
            ))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["secret"], SECRET, "shown once, at creation");
    body["webhook"]["id"].as_str().expect("id").to_owned()
}

async fn chat(state: &AppState, message: &str) -> Value {
    let key = state
        .store
        .first_key(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("key")
        .key;
    let (status, body) = send(
        state,
        Request::builder()
            .method(Method::POST)
            .uri("/v1/chat/send")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
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

/// Runs the delivery worker until `received` has `count` events.
async fn deliver_until(state: &AppState, received: &Received, count: usize) {
    for _ in 0..500 {
        state.deliver_webhooks().await.expect("deliver");
        if received.lock().expect("log").len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "only {} of {count} events arrived",
        received.lock().expect("log").len()
    );
}

/// Checks the signature as a receiver would (README's recipe) and returns the event.
fn verified(headers: &HeaderMap, body: &str) -> Value {
    let signature = headers
        .get("x-webhook-signature")
        .and_then(|v| v.to_str().ok())
        .expect("signature header");
    let (t, v1) = signature
        .split_once(",v1=")
        .and_then(|(t, v1)| Some((t.strip_prefix("t=")?, v1)))
        .expect("t=…,v1=…");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature verifies");
    serde_json::from_str(body).expect("JSON")
}

#[tokio::test]
async fn every_event_of_a_chat_arrives_signed_in_the_seed_envelope() {
    let dir = TempDir::new("webhooks");
    let state = state(dir.path()).await;
    let (url, received) = receiver("127.0.0.1:0", 0).await;
    let id = register(
        &state,
        &url,
        &[
            "conversation.started",
            "message.received",
            "message.sent",
            "bot.response",
        ],
    )
    .await;
    let reply = chat(&state, "where is my order").await;
    deliver_until(&state, &received, 4).await;
    // Posted concurrently: they may arrive in any order.
    let order = [
        "conversation.started",
        "message.received",
        "message.sent",
        "bot.response",
    ];
    let mut events: Vec<Value> = received
        .lock()
        .expect("log")
        .iter()
        .map(|(headers, body)| verified(headers, body))
        .collect();
    events.sort_by_key(|e| order.iter().position(|name| e["event"] == *name));
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(names, order);
    for event in &events {
        assert!(event["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
        assert_eq!(event["data"]["botId"], DEMO_BOT_ID);
        assert_eq!(event["data"]["conversationId"], reply["conversationId"]);
    }
    assert_eq!(events[1]["data"]["message"], "where is my order");
    assert_eq!(events[2]["data"]["response"], reply["response"]);

    // The list never shows the secret; the deliveries show each event delivered.
    let (_, listed) = send(
        &state,
        Request::builder()
            .uri("/v1/bots/demo/webhooks")
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(listed["webhooks"][0]["id"], json!(id));
    assert!(!listed.to_string().contains(SECRET), "{listed}");
    let (_, log) = send(
        &state,
        Request::builder()
            .uri(format!("/v1/bots/demo/webhooks/{id}/deliveries"))
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    let statuses: Vec<&str> = log["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter_map(|d| d["status"].as_str())
        .collect();
    assert_eq!(statuses, ["delivered"; 4], "{log}");
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_event_on_a_retry() {
    let dir = TempDir::new("webhooks");
    let state = state(dir.path()).await;
    let (url, received) = receiver("127.0.0.1:0", 3).await;
    let id = register(&state, &url, &["message.received"]).await;
    chat(&state, "hi").await;
    deliver_until(&state, &received, 1).await;
    let (headers, body) = received.lock().expect("log")[0].clone();
    assert_eq!(verified(&headers, &body)["event"], "message.received");
    let (_, log) = send(
        &state,
        Request::builder()
            .uri(format!("/v1/bots/demo/webhooks/{id}/deliveries"))
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    let delivery = &log["deliveries"][0];
    assert_eq!(delivery["status"], "delivered", "{log}");
    assert_eq!(delivery["attempts"], 4, "{log}");
    assert_eq!(delivery["lastStatus"], 200, "{log}");
}

#[tokio::test]
async fn a_receiver_down_across_a_restart_still_gets_its_events() {
    let dir = TempDir::new("webhooks");
    // A port with nobody listening (yet).
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    {
        let first = state(dir.path()).await;
        let id = register(&first, &url, &["message.received"]).await;
        chat(&first, "where is my order").await;
        first.deliver_webhooks().await.expect("deliver");
        let pending = chat_widget_server::webhooks::deliveries(&first.store, DEMO_BOT_ID, &id)
            .await
            .expect("read")
            .expect("webhook");
        assert_eq!(pending[0].status, "pending");
        assert_eq!(pending[0].attempts, 1);
        assert_eq!(
            pending[0].last_error.as_deref(),
            Some("cannot connect to the receiver")
        );
        first.store.close().await;
    }
    let (_, received) = receiver(&format!("127.0.0.1:{port}"), 0).await;
    let restarted = state(dir.path()).await;
    deliver_until(&restarted, &received, 1).await;
    let (headers, body) = received.lock().expect("log")[0].clone();
    let event = verified(&headers, &body);
    assert_eq!(event["data"]["message"], "where is my order");
}

#[tokio::test]
async fn registration_needs_the_admin_token_an_http_url_and_known_events() {
    let dir = TempDir::new("webhooks");
    let state = state(dir.path()).await;
    let key = state
        .store
        .first_key(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("key")
        .key;
    let post = |bearer: String, body: Value| {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/bots/demo/webhooks")
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let good = json!({ "url": "http://127.0.0.1:9/h", "events": ["message.sent"] });
    // The page's publishable key may not send visitors' words elsewhere.
    let (status, body) = send(&state, post(key, good.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "SECRET_KEY_REQUIRED");
    for bad in [
        json!({ "url": "ftp://x.test/h", "events": ["message.sent"] }),
        json!({ "url": "http://x.test/h", "events": ["message.nope"] }),
        json!({ "url": "http://x.test/h", "events": [] }),
        json!({ "url": "http://x.test/h", "events": ["message.sent"], "secret": "short" }),
    ] {
        let (status, body) = send(&state, post(ADMIN.to_owned(), bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {body}");
        assert_eq!(body["error"]["code"], "INVALID_REQUEST");
    }
    // Without a secret, one is made and shown once.
    let (status, body) = send(&state, post(ADMIN.to_owned(), good)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["secret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsec_") && s.len() > 30));
}

#[tokio::test]
async fn quota_warning_arrives_once_at_eighty_percent_of_the_monthly_quota() {
    let dir = TempDir::new("webhooks");
    let state = state(dir.path()).await;
    state
        .store
        .update_bot(
            DEMO_BOT_ID,
            &chat_widget_server::store::BotUpdate {
                monthly_quota: Some(Some(5)),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    let (url, received) = receiver("127.0.0.1:0", 0).await;
    register(&state, &url, &["quota.warning"]).await;
    for _ in 0..3 {
        chat(&state, "hi").await;
    }
    state.deliver_webhooks().await.expect("deliver");
    assert!(received.lock().expect("log").is_empty(), "3 of 5 is 60 %");
    chat(&state, "hi").await;
    chat(&state, "hi").await;
    deliver_until(&state, &received, 1).await;
    for _ in 0..3 {
        state.deliver_webhooks().await.expect("deliver");
    }
    let events: Vec<Value> = received
        .lock()
        .expect("log")
        .iter()
        .map(|(headers, body)| verified(headers, body))
        .collect();
    assert_eq!(events.len(), 1, "once: {events:?}");
    assert_eq!(events[0]["event"], "quota.warning");
    assert_eq!(events[0]["data"]["used"], 4);
    assert_eq!(events[0]["data"]["monthlyQuota"], 5);
}

#[tokio::test]
async fn an_idle_conversation_ends_once_with_its_webhook() {
    let dir = TempDir::new("webhooks");
    let state = state(dir.path())
        .await
        .with_conversation_idle(Duration::from_millis(50));
    let (url, received) = receiver("127.0.0.1:0", 0).await;
    register(&state, &url, &["conversation.ended"]).await;
    let reply = chat(&state, "where is my order").await;
    deliver_until(&state, &received, 1).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        state.deliver_webhooks().await.expect("deliver");
    }
    let events: Vec<Value> = received
        .lock()
        .expect("log")
        .iter()
        .map(|(headers, body)| verified(headers, body))
        .collect();
    assert_eq!(events.len(), 1, "once: {events:?}");
    assert_eq!(events[0]["event"], "conversation.ended");
    assert_eq!(events[0]["data"]["conversationId"], reply["conversationId"]);
}

#[tokio::test]
async fn a_new_jombot_user_id_is_user_created_once() {
    let dir = TempDir::new("webhooks");
    let state = state(dir.path()).await;
    let (url, received) = receiver("127.0.0.1:0", 0).await;
    register(&state, &url, &["user.created"]).await;
    let key = state
        .store
        .first_key(DEMO_BOT_ID)
        .await
        .expect("read")
        .expect("key")
        .key;
    for user in ["user_1", "user_1", "user_2"] {
        let (status, body) = send(
            &state,
            Request::builder()
                .method(Method::POST)
                .uri("/v1/chat/message")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({ "bot_id": DEMO_BOT_ID, "message": "hi", "user_id": user }).to_string(),
                ))
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    deliver_until(&state, &received, 2).await;
    state.deliver_webhooks().await.expect("deliver");
    let mut users: Vec<String> = received
        .lock()
        .expect("log")
        .iter()
        .map(|(headers, body)| verified(headers, body)["data"]["userId"].to_string())
        .collect();
    users.sort();
    assert_eq!(users, ["\"user_1\"", "\"user_2\""]);
}

/// A receiver that holds every request until released: however long it takes, chat replies
/// are answered meanwhile (the worker posts apart from them), and once it answers, every
/// event arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_takes_its_time_never_delays_a_chat_reply() {
    let dir = TempDir::new("webhooks");
    let state = state(dir.path()).await;
    let (release, released) = tokio::sync::watch::channel(false);
    let arrived = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let (arrived, answered) = (Arc::clone(&arrived), Arc::clone(&answered));
            move || {
                let (arrived, answered) = (Arc::clone(&arrived), Arc::clone(&answered));
                let mut released = released.clone();
                async move {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let _ = released.wait_for(|r| *r).await;
                    answered.fetch_add(1, Ordering::SeqCst);
                    StatusCode::OK
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let id = register(
        &state,
        &url,
        &[
            "conversation.started",
            "message.received",
            "message.sent",
            "bot.response",
        ],
    )
    .await;
    chat(&state, "where is my order").await;
    // The delivery worker, as the serving process runs it.
    let worker = tokio::spawn({
        let state = state.clone();
        async move {
            loop {
                let _ = state.deliver_webhooks().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    support::eventually("the receiver holds a delivery", || async {
        arrived.load(Ordering::SeqCst) >= 1
    })
    .await;
    for i in 0..3 {
        let reply = chat(&state, &format!("how do I return an item {i}")).await;
        assert!(reply["response"].as_str().is_some_and(|r| !r.is_empty()));
    }
    assert_eq!(
        answered.load(Ordering::SeqCst),
        0,
        "every chat was answered while the receiver still held its first delivery"
    );
    release.send(true).expect("release");
    support::eventually("all 16 events are delivered", || async {
        let log = chat_widget_server::webhooks::deliveries(&state.store, DEMO_BOT_ID, &id)
            .await
            .expect("read")
            .expect("webhook");
        log.len() == 16 && log.iter().all(|d| d.status == "delivered")
    })
    .await;
    worker.abort();
}

/// A bot owner's secret key may not turn the server into a client of its own network: what
/// it registers is posted to public addresses only (here, a receiver on loopback named by
/// address, by a name that resolves there, and by an address in another notation, gets
/// nothing, and the delivery log says why), while the operator's endpoints reach anywhere.
#[tokio::test]
async fn a_secret_keys_webhooks_never_reach_the_servers_own_network() {
    let dir = TempDir::new("webhooks-ssrf");
    let state = state(dir.path()).await;
    let secret = state
        .store
        .create_secret_key(DEMO_BOT_ID)
        .await
        .expect("a secret key");
    let (url, received) = receiver("127.0.0.1:0", 0).await;
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .expect("port")
        .to_owned();
    let path = url.splitn(4, '/').nth(3).unwrap_or("").to_owned();
    let mut ids = Vec::new();
    for target in [
        url.clone(),
        format!("http://localhost:{port}/{path}"),
        format!("http://2130706433:{port}/{path}"),
        format!("http://[::ffff:127.0.0.1]:{port}/{path}"),
    ] {
        let (status, body) = send(
            &state,
            Request::builder()
                .method(Method::POST)
                .uri("/v1/bots/demo/webhooks")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({ "url": target, "events": ["message.received"], "secret": SECRET })
                        .to_string(),
                ))
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["webhook"]["id"].as_str().expect("id").to_owned());
    }
    // The same receiver registered by the operator: its event arrives, the others' never do.
    register(&state, &url, &["message.received"]).await;
    chat(&state, "where is my order").await;
    deliver_until(&state, &received, 1).await;
    for _ in 0..5 {
        state.deliver_webhooks().await.expect("deliver");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(received.lock().expect("log").len(), 1);
    for id in ids {
        let (_, log) = send(
            &state,
            Request::builder()
                .uri(format!("/v1/bots/demo/webhooks/{id}/deliveries"))
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        let delivery = &log["deliveries"][0];
        assert_ne!(delivery["status"], "delivered", "{log}");
        assert_eq!(
            delivery["lastError"], "the receiver's address is not public",
            "{log}"
        );
    }
}
