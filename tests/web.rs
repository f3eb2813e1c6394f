//! Browser tests: each mounts a widget into a fresh element of a real Chromium page, acts as a
//! visitor would (click, type, press keys) and checks what the visitor would see. The network
//! is a stand-in `window.fetch` that records requests and answers like the reference server.
//!
//! Run with `cargo test --target wasm32-unknown-unknown --test web` (or
//! `wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

use chat_widget::{mount_config, Color, MountedWidget, WidgetConfig};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement, ShadowRoot};

/// An empty JSON object, for the stubbed server's bodies (filled with [`With::with`]).
fn object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Fills a JSON object field by field: `object().with("success", true)`.
trait With {
    fn with(self, key: &str, value: impl Into<Value>) -> Value;
}

impl With for Value {
    fn with(mut self, key: &str, value: impl Into<Value>) -> Value {
        if let Value::Object(fields) = &mut self {
            fields.insert(key.to_owned(), value.into());
        }
        self
    }
}

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function stub_fetch(responses) {
  window.__cwRequests = [];
  window.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const body = await request.text();
    window.__cwRequests.push({ url: request.url, auth: request.headers.get('authorization'), body: JSON.parse(body) });
    const next = responses.length > 1 ? responses.shift() : responses[0];
    if (next.network) throw new TypeError('Failed to fetch');
    return new Response(next.body, { status: next.status || 200, headers: next.headers || { 'content-type': 'application/json' } });
  };
}
export function requests() { return window.__cwRequests || []; }
export function stub_stream() {
  window.__cwRequests = [];
  window.__cwStreams = [];
  window.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const body = await request.text();
    window.__cwRequests.push({ url: request.url, auth: request.headers.get('authorization'), body: JSON.parse(body) });
    const entry = { aborted: false, cancelled: false };
    const stream = new ReadableStream({
      start(controller) { entry.controller = controller; },
      cancel() { entry.cancelled = true; },
    });
    request.signal.addEventListener('abort', () => {
      entry.aborted = true;
      try { entry.controller.error(new DOMException('The user aborted a request.', 'AbortError')); } catch (e) {}
    });
    window.__cwStreams.push(entry);
    return new Response(stream, { headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
  };
}
export function stream_count() { return (window.__cwStreams || []).length; }
export function stream_send(index, text) { window.__cwStreams[index].controller.enqueue(new TextEncoder().encode(text)); }
export function stream_close(index) { window.__cwStreams[index].controller.close(); }
export function stream_fail(index) { window.__cwStreams[index].controller.error(new TypeError('network error')); }
export function stream_aborted(index) { return window.__cwStreams[index].aborted; }
export function stream_cancelled(index) { return window.__cwStreams[index].cancelled; }
export function count_renders(element) {
  const counter = { mutations: 0, frames: 0, running: true };
  new MutationObserver((records) => { counter.mutations += records.length; }).observe(element, { childList: true, subtree: true, characterData: true });
  const tick = () => { if (!counter.running) return; counter.frames += 1; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  window.__cwCounter = counter;
}
export function stop_counting() { window.__cwCounter.running = false; return [window.__cwCounter.mutations, window.__cwCounter.frames]; }
export function eval_js(code) { return (0, eval)(code); }
export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
"#)]
extern "C" {
    fn stub_fetch(responses: JsValue);
    fn requests() -> js_sys::Array;
    fn stub_stream();
    fn stream_count() -> u32;
    fn stream_send(index: u32, text: &str);
    fn stream_close(index: u32);
    fn stream_fail(index: u32);
    fn stream_aborted(index: u32) -> bool;
    fn stream_cancelled(index: u32) -> bool;
    fn count_renders(element: &Element);
    fn stop_counting() -> js_sys::Array;
    fn eval_js(code: &str) -> JsValue;
    fn sleep(ms: u32) -> js_sys::Promise;
}

/// A mounted widget and the shortcuts a test needs to act on it.
struct Visit {
    host: HtmlElement,
    shadow: ShadowRoot,
    _widget: MountedWidget,
}

impl Visit {
    async fn start(config: WidgetConfig) -> Self {
        let document = web_sys::window().unwrap().document().unwrap();
        let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&host).unwrap();
        let widget = mount_config(host.clone(), config).unwrap();
        let shadow = host.shadow_root().unwrap();
        let visit = Self {
            host,
            shadow,
            _widget: widget,
        };
        visit.settle().await;
        visit
    }

    fn find(&self, selector: &str) -> Option<Element> {
        self.shadow.query_selector(selector).unwrap()
    }

    fn get(&self, selector: &str) -> HtmlElement {
        self.find(selector)
            .unwrap_or_else(|| panic!("no {selector} in the widget"))
            .unchecked_into()
    }

    fn all(&self, selector: &str) -> Vec<Element> {
        let list = self.shadow.query_selector_all(selector).unwrap();
        (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into().ok())
            .collect()
    }

    fn text(&self, selector: &str) -> String {
        self.get(selector).text_content().unwrap_or_default()
    }

    fn focused_class(&self) -> String {
        self.shadow
            .active_element()
            .map(|e| e.class_name())
            .unwrap_or_default()
    }

    async fn settle(&self) {
        for _ in 0..3 {
            wasm_bindgen_futures::JsFuture::from(sleep(20))
                .await
                .unwrap();
        }
    }

    /// Polls until `condition` holds (the widget answers asynchronously), failing after ~3 s.
    async fn until(&self, what: &str, condition: impl Fn(&Self) -> bool) {
        for _ in 0..150 {
            if condition(self) {
                return;
            }
            wasm_bindgen_futures::JsFuture::from(sleep(20))
                .await
                .unwrap();
        }
        panic!("timed out waiting for: {what}");
    }

    /// A widget whose replies stream from `stub_stream`, open, with `message` sent and its
    /// request on its way (stream 0).
    async fn streaming(name: &str, message: &str) -> Self {
        stub_stream();
        let visit = Self::start(config(name)).await;
        visit.open().await;
        visit.send(message).await;
        visit.until("the request", |_| stream_count() == 1).await;
        visit
    }

    async fn open(&self) {
        self.get(".cw-launcher").click();
        self.settle().await;
    }

    /// Presses Retry on the failed message, waits for the bot's reply, and returns the text
    /// the (first) request carried.
    async fn retry_until_reply(&self) -> Option<String> {
        self.get(".cw-msg--failed .cw-retry").click();
        self.until("the reply", |v| v.bot_bubbles().len() == 1)
            .await;
        request_field(0, "body.message").as_string()
    }

    async fn close_panel(&self) {
        if self
            .get(".cw-launcher")
            .get_attribute("aria-expanded")
            .as_deref()
            == Some("true")
        {
            self.get(".cw-launcher").click();
            self.settle().await;
        }
    }

    fn type_text(&self, text: &str) {
        let input: HtmlTextAreaElement = self.get(".cw-input").unchecked_into();
        input.set_value(text);
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        input
            .dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).unwrap())
            .unwrap();
    }

    fn press(&self, selector: &str, key: &str, shift: bool) {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(key);
        init.set_shift_key(shift);
        init.set_bubbles(true);
        init.set_cancelable(true);
        let event =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        self.get(selector).dispatch_event(&event).unwrap();
    }

    async fn send(&self, text: &str) {
        self.type_text(text);
        self.settle().await;
        self.press(".cw-input", "Enter", false);
        self.settle().await;
    }

    fn bot_bubbles(&self) -> Vec<String> {
        self.all(".cw-msg--bot:not(.cw-msg--greeting) .cw-bubble")
            .iter()
            .map(|e| e.inner_html())
            .collect()
    }
}

impl Drop for Visit {
    fn drop(&mut self) {
        self.host.remove();
    }
}

fn reply(text: &str, conversation: &str) -> JsValue {
    let data = object()
        .with("response", text)
        .with("conversationId", conversation)
        .with("messageId", "m1");
    response(
        200,
        &object()
            .with("success", true)
            .with("data", data)
            .to_string(),
    )
}

fn response(status: u16, body: &str) -> JsValue {
    let object = js_sys::Object::new();
    js_sys::Reflect::set(&object, &"status".into(), &status.into()).unwrap();
    js_sys::Reflect::set(&object, &"body".into(), &body.into()).unwrap();
    object.into()
}

fn network_failure() -> JsValue {
    let object = js_sys::Object::new();
    js_sys::Reflect::set(&object, &"network".into(), &true.into()).unwrap();
    object.into()
}

fn answers(list: Vec<JsValue>) -> JsValue {
    list.into_iter().collect::<js_sys::Array>().into()
}

/// What a `send()` Promise resolved to, as JSON.
async fn outcome(promise: js_sys::Promise) -> String {
    let value = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("send() never rejects");
    js_sys::JSON::stringify(&value)
        .unwrap()
        .as_string()
        .unwrap()
}

fn request_field(index: u32, path: &str) -> JsValue {
    let mut value = requests().get(index);
    for key in path.split('.') {
        value = js_sys::Reflect::get(&value, &key.into()).unwrap_or(JsValue::UNDEFINED);
    }
    value
}

fn config(bot: &str) -> WidgetConfig {
    forget_bot(bot);
    WidgetConfig::new(bot, "https://api.example.test/")
        .api_key("pk_test_1")
        .greeting("Hi! How can I help?")
        .bot_name("Acme")
}

#[wasm_bindgen_test]
async fn a_visitor_opens_the_panel_and_closes_it_with_escape() {
    let visit = Visit::start(config("open-close")).await;
    let launcher = visit.get(".cw-launcher");
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Open chat")
    );
    assert!(
        visit.get(".cw-panel").has_attribute("hidden"),
        "the panel starts closed"
    );

    visit.open().await;
    let panel = visit.get(".cw-panel");
    assert!(!panel.has_attribute("hidden"));
    assert_eq!(panel.get_attribute("role").as_deref(), Some("dialog"));
    assert_eq!(
        panel.get_attribute("aria-label").as_deref(),
        Some("Chat with Acme")
    );
    assert_eq!(visit.text(".cw-title"), "Acme");
    assert!(visit
        .text(".cw-msg--greeting")
        .contains("Hi! How can I help?"));
    visit
        .until("focus in the input", |v| v.focused_class() == "cw-input")
        .await;
    for button in visit.all("button") {
        let name = button
            .get_attribute("aria-label")
            .or(button.text_content())
            .unwrap_or_default();
        assert!(
            !name.trim().is_empty(),
            "a button without an accessible name: {}",
            button.outer_html()
        );
    }

    visit.press(".cw-input", "Escape", false);
    visit.settle().await;
    assert!(
        visit.get(".cw-panel").has_attribute("hidden"),
        "Escape closes the panel"
    );
    visit
        .until("focus back on the launcher", |v| {
            v.focused_class().contains("cw-launcher")
        })
        .await;
    assert_eq!(
        launcher.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
}

#[wasm_bindgen_test]
async fn a_visitor_sends_a_message_and_sees_the_formatted_reply() {
    stub_fetch(answers(vec![
        reply(
            "**Sure!** Here are the steps:\n\n1. Open *Orders*\n2. Click `Track`",
            "conv_1",
        ),
        reply("You're welcome.", "conv_1"),
    ]));
    let visit = Visit::start(config("send")).await;
    visit.open().await;

    let send = visit.get(".cw-send");
    assert!(
        send.has_attribute("disabled"),
        "send is disabled while the input is empty"
    );
    visit.type_text("   ");
    visit.settle().await;
    assert!(
        visit.get(".cw-send").has_attribute("disabled"),
        "blank text cannot be sent"
    );

    visit.type_text("Where is my order?\nIt's late");
    visit.settle().await;
    assert!(!visit.get(".cw-send").has_attribute("disabled"));
    visit.press(".cw-input", "Enter", true);
    visit.settle().await;
    assert_eq!(
        requests().length(),
        0,
        "Shift+Enter adds a newline instead of sending"
    );

    visit.press(".cw-input", "Enter", false);
    visit.settle().await;
    assert!(visit
        .text(".cw-msg--visitor")
        .contains("Where is my order?\nIt's late"));
    let input: HtmlTextAreaElement = visit.get(".cw-input").unchecked_into();
    assert_eq!(input.value(), "", "the input is cleared after sending");

    visit
        .until("the bot's reply", |v| !v.bot_bubbles().is_empty())
        .await;
    assert!(
        visit.find(".cw-typing").is_none(),
        "the typing dots are gone once the reply is in"
    );
    let html = &visit.bot_bubbles()[0];
    assert!(html.contains("<strong>Sure!</strong>"), "{html}");
    assert!(
        html.contains("<ol>") && html.contains("<code>Track</code>"),
        "{html}"
    );

    assert_eq!(
        request_field(0, "url").as_string().unwrap(),
        "https://api.example.test/api/v1/chatbots/send/chat"
    );
    assert_eq!(
        request_field(0, "auth").as_string().unwrap(),
        "Bearer pk_test_1"
    );
    assert_eq!(
        request_field(0, "body.message").as_string().unwrap(),
        "Where is my order?\nIt's late"
    );
    assert!(
        request_field(0, "body.conversationId").is_undefined(),
        "a first message starts a conversation"
    );

    visit.send("Thanks").await;
    visit
        .until("the second reply", |v| v.bot_bubbles().len() == 2)
        .await;
    assert_eq!(
        request_field(1, "body.conversationId")
            .as_string()
            .as_deref(),
        Some("conv_1")
    );
    assert_eq!(
        eval_js("localStorage.getItem('chat-widget:send:conversation')")
            .as_string()
            .as_deref(),
        Some("conv_1"),
        "the conversation survives a reload"
    );
}

#[wasm_bindgen_test]
async fn a_typing_indicator_shows_while_the_reply_is_on_its_way() {
    let _ = eval_js(
        "window.__cwRelease = null; window.fetch = () => new Promise((resolve) => { window.__cwRelease = () => resolve(new Response(JSON.stringify({success: true, data: {response: 'Done', conversationId: 'c'}}), {headers: {'content-type': 'application/json'}})); });",
    );
    let visit = Visit::start(config("typing")).await;
    visit.open().await;
    visit.send("Hello").await;
    assert!(
        visit.find(".cw-typing").is_some(),
        "typing dots while waiting"
    );
    let _ = eval_js("window.__cwRelease()");
    visit
        .until("the reply", |v| !v.bot_bubbles().is_empty())
        .await;
    assert!(visit.find(".cw-typing").is_none());
}

#[wasm_bindgen_test]
async fn hostile_markdown_is_inert_in_the_real_dom() {
    let hostile = "<script>window.__cwPwned = 1</script>\n\n<img src=x onerror=\"window.__cwPwned = 2\">\n\n<iframe src=\"javascript:window.__cwPwned=3\"></iframe>\n\n[click](javascript:window.__cwPwned=4) [ref][r] <javascript:alert(1)> [enc](&#106;avascript:alert(1)) [data](data:text/html,hi) [vb](vbscript:x)\n\n![x](javascript:alert(1)) ![cat](https://example.com/cat.png) [docs](https://example.com/docs)\n\n[r]: javascript:alert(1)";
    stub_fetch(answers(vec![reply(hostile, "conv_x")]));
    let _ = eval_js("window.__cwPwned = 0");
    let visit = Visit::start(config("hostile")).await;
    visit.open().await;
    visit.send("show me").await;
    visit
        .until("the reply", |v| !v.bot_bubbles().is_empty())
        .await;
    visit.settle().await;

    let bubble = visit.get(".cw-msg--bot:not(.cw-msg--greeting) .cw-bubble");
    for tag in ["script", "iframe", "object", "embed", "svg"] {
        assert!(
            bubble.query_selector(tag).unwrap().is_none(),
            "a live <{tag}> element"
        );
    }
    let html = bubble.inner_html();
    assert!(
        html.contains("&lt;script&gt;"),
        "raw HTML is shown as text: {html}"
    );
    for element in visit.all(".cw-markdown *") {
        for name in element
            .get_attribute_names()
            .iter()
            .filter_map(|n| n.as_string())
        {
            assert!(
                !name.starts_with("on"),
                "event handler attribute {name} on {}",
                element.outer_html()
            );
        }
    }
    let links = visit.all(".cw-markdown a");
    assert_eq!(links.len(), 1, "only the https link stays a link: {html}");
    assert_eq!(
        links[0].get_attribute("href").as_deref(),
        Some("https://example.com/docs")
    );
    assert_eq!(links[0].get_attribute("target").as_deref(), Some("_blank"));
    assert_eq!(
        links[0].get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );
    let images = visit.all(".cw-markdown img");
    assert_eq!(images.len(), 1, "only the https image stays: {html}");
    assert_eq!(
        images[0].get_attribute("src").as_deref(),
        Some("https://example.com/cat.png")
    );
    assert_eq!(
        eval_js("window.__cwPwned").as_f64(),
        Some(0.0),
        "no injected code ran"
    );
}

#[wasm_bindgen_test]
async fn a_rate_limit_counts_down_then_retry_and_automatic_back_off_deliver_the_message() {
    let rate_limited = r#"{"success":false,"error":"Rate limit exceeded. Please wait before sending another message.","code":"RATE_LIMIT_EXCEEDED","retryAfter":2}"#;
    stub_fetch(answers(vec![
        response(429, rate_limited),
        network_failure(),
        reply("Got it.", "conv_r"),
    ]));
    let visit = Visit::start(config("retry")).await;
    visit.open().await;
    visit.send("Please call me back").await;

    visit
        .until("the message marked not sent", |v| {
            v.find(".cw-msg--failed").is_some()
        })
        .await;
    assert!(
        visit
            .text(".cw-msg--failed")
            .contains("Please call me back"),
        "the visitor's text is kept"
    );
    assert!(visit
        .text(".cw-msg--failed .cw-status")
        .contains("Not sent"));
    assert!(
        visit.text(".cw-alert").contains("wait 2 s"),
        "{}",
        visit.text(".cw-alert")
    );
    assert_eq!(
        visit.get(".cw-alert").get_attribute("aria-live").as_deref(),
        Some("polite"),
        "errors are announced politely"
    );
    assert!(
        visit.text(".cw-cooldown").contains("You can send again in"),
        "a countdown"
    );
    visit.type_text("Another question");
    visit.settle().await;
    assert!(
        visit.get(".cw-send").has_attribute("disabled"),
        "sending waits for the countdown"
    );
    assert!(visit.get(".cw-retry").has_attribute("disabled"));
    visit.press(".cw-input", "Enter", false);
    visit.settle().await;
    let input: HtmlTextAreaElement = visit.get(".cw-input").unchecked_into();
    assert_eq!(
        input.value(),
        "Another question",
        "Enter during the countdown keeps the draft"
    );

    visit
        .until("the end of the countdown", |v| {
            v.find(".cw-cooldown").is_none()
        })
        .await;
    assert!(
        !visit.get(".cw-send").has_attribute("disabled"),
        "sending comes back by itself"
    );
    assert_eq!(
        visit
            .get(".cw-messages-wrap [role=status][aria-live=polite]")
            .text_content()
            .as_deref(),
        Some("You can send messages again."),
        "the end of the countdown is announced once"
    );
    assert_eq!(
        requests().length(),
        1,
        "nothing was sent during the countdown"
    );

    visit.get(".cw-retry").click();
    visit
        .until("the network failure", |v| {
            v.find(".cw-alert")
                .is_some_and(|a| a.text_content().unwrap_or_default().contains("Can't reach"))
        })
        .await;
    assert!(
        visit
            .text(".cw-msg--failed .cw-status")
            .contains("Retrying in"),
        "{}",
        visit.text(".cw-msg--failed .cw-status")
    );
    visit
        .until("the automatic retry's reply", |v| {
            !v.bot_bubbles().is_empty()
        })
        .await;
    assert!(
        visit.find(".cw-msg--failed").is_none(),
        "delivered by the automatic retry"
    );
    assert!(
        visit.find(".cw-alert").is_none(),
        "the notice goes away once it is delivered"
    );
    assert_eq!(
        visit.all(".cw-msg--visitor").len(),
        1,
        "retrying does not duplicate the message"
    );
    assert_eq!(
        request_field(2, "body.message").as_string().as_deref(),
        Some("Please call me back")
    );
}

#[wasm_bindgen_test]
async fn a_used_up_window_pauses_sending_until_the_reset_instead_of_provoking_a_429() {
    let reset = (js_sys::Date::now() / 1000.0) as u64 + 2;
    let body =
        r#"{ "success": true, "data": { "response": "Sure.", "conversationId": "conv_w" } }"#
            .to_string();
    let headers = js_sys::Object::new();
    js_sys::Reflect::set(&headers, &"content-type".into(), &"application/json".into()).unwrap();
    js_sys::Reflect::set(&headers, &"x-ratelimit-limit".into(), &"3".into()).unwrap();
    js_sys::Reflect::set(&headers, &"x-ratelimit-remaining".into(), &"0".into()).unwrap();
    js_sys::Reflect::set(
        &headers,
        &"x-ratelimit-reset".into(),
        &reset.to_string().into(),
    )
    .unwrap();
    let first = response(200, &body);
    js_sys::Reflect::set(&first, &"headers".into(), &headers).unwrap();
    stub_fetch(answers(vec![first, reply("And again.", "conv_w")]));
    let visit = Visit::start(config("window")).await;
    visit.open().await;
    visit.send("one").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    visit
        .until("the pause", |v| v.find(".cw-cooldown").is_some())
        .await;
    // A message written during the pause is taken, waits, and goes by itself at the reset.
    visit.type_text("two");
    visit.settle().await;
    assert!(
        !visit.get(".cw-send").has_attribute("disabled"),
        "the visitor can write and send"
    );
    visit.press(".cw-input", "Enter", false);
    visit.settle().await;
    let input: HtmlTextAreaElement = visit.get(".cw-input").unchecked_into();
    assert_eq!(input.value(), "", "the message left the input");
    assert!(
        visit
            .text(".cw-cooldown")
            .contains("Messages go out again in"),
        "{}",
        visit.text(".cw-cooldown")
    );
    let waiting = &visit.all(".cw-msg--visitor")[1];
    assert!(
        waiting
            .text_content()
            .unwrap()
            .contains("Waiting to be sent"),
        "{:?}",
        waiting.text_content()
    );
    assert!(
        visit.find(".cw-alert").is_none(),
        "nothing went wrong: the widget just waits"
    );
    assert_eq!(requests().length(), 1, "nothing is sent during the pause");
    visit
        .until("the reset", |v| v.find(".cw-cooldown").is_none())
        .await;
    visit
        .until("the second reply", |v| v.bot_bubbles().len() == 2)
        .await;
    assert_eq!(requests().length(), 2);
    assert_eq!(
        request_field(1, "body.message").as_string().as_deref(),
        Some("two")
    );
}

#[wasm_bindgen_test]
async fn offline_shows_a_banner_and_messages_go_out_when_the_connection_is_back() {
    stub_fetch(answers(vec![reply("Back online!", "conv_o")]));
    let visit = Visit::start(config("offline")).await;
    visit.open().await;
    let _ = eval_js("Object.defineProperty(Navigator.prototype, 'onLine', { configurable: true, get: () => false }); window.dispatchEvent(new Event('offline'));");
    visit.settle().await;
    assert!(
        visit.text(".cw-banner").contains("offline"),
        "an offline banner"
    );
    visit.send("Are you there?").await;
    assert!(visit.text(".cw-msg--visitor").contains("Are you there?"));
    assert!(visit
        .text(".cw-msg--visitor .cw-status")
        .contains("Waiting for the connection"));
    assert_eq!(requests().length(), 0, "nothing is sent while offline");

    let _ = eval_js("delete Navigator.prototype.onLine; Object.defineProperty(Navigator.prototype, 'onLine', { configurable: true, get: () => true }); window.dispatchEvent(new Event('online'));");
    visit
        .until("the reply", |v| !v.bot_bubbles().is_empty())
        .await;
    assert!(visit.find(".cw-banner").is_none());
    assert_eq!(
        request_field(0, "body.message").as_string().as_deref(),
        Some("Are you there?")
    );
}

#[wasm_bindgen_test]
async fn each_server_error_gets_a_clear_message() {
    let cases = [
        (
            401,
            r#"{"success":false,"error":"Invalid or inactive API key","code":"INVALID_API_KEY"}"#,
            "unavailable",
        ),
        (
            402,
            r#"{"success":false,"error":"Insufficient credits","code":"INSUFFICIENT_CREDITS"}"#,
            "usage limit",
        ),
        (
            404,
            r#"{"success":false,"error":"Chatbot not found or access denied","code":"CHATBOT_NOT_FOUND"}"#,
            "unavailable",
        ),
        (
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "had a problem",
        ),
        (200, r#"{"success":true,"data":{"resp"#, "went wrong"),
    ];
    for (status, body, expected) in cases {
        stub_fetch(answers(vec![response(status, body)]));
        let visit = Visit::start(config(&format!("error-{status}"))).await;
        visit.open().await;
        visit.send("hello").await;
        visit
            .until("an error notice", |v| v.find(".cw-alert").is_some())
            .await;
        let notice = visit.text(".cw-alert");
        assert!(notice.contains(expected), "{status}: {notice}");
        assert!(
            visit.find(".cw-msg--failed .cw-retry").is_some(),
            "{status}: Retry is offered"
        );
        assert!(
            visit.find(".cw-launcher").is_some(),
            "{status}: the widget is still there"
        );
    }
}

#[wasm_bindgen_test]
async fn blocked_storage_keeps_the_conversation_in_memory() {
    let _ = eval_js(
        "window.__cwStorage = Object.getOwnPropertyDescriptor(window, 'localStorage') || Object.getOwnPropertyDescriptor(Window.prototype, 'localStorage'); Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });",
    );
    stub_fetch(answers(vec![
        reply("First", "conv_mem"),
        reply("Second", "conv_mem"),
    ]));
    let visit = Visit::start(WidgetConfig::new("blocked", "https://api.example.test")).await;
    visit.open().await;
    visit.send("one").await;
    visit
        .until("the first reply", |v| v.bot_bubbles().len() == 1)
        .await;
    visit.send("two").await;
    visit
        .until("the second reply", |v| v.bot_bubbles().len() == 2)
        .await;
    let _ = eval_js("Object.defineProperty(window, 'localStorage', window.__cwStorage)");

    assert_eq!(
        request_field(1, "body.conversationId")
            .as_string()
            .as_deref(),
        Some("conv_mem")
    );
    assert!(
        visit.find(".cw-alert").is_none(),
        "the visitor is not alarmed"
    );
    assert!(
        request_field(0, "auth").is_null(),
        "no key configured, no Authorization header"
    );
}

#[wasm_bindgen_test]
async fn garbage_in_storage_is_ignored_and_a_full_storage_is_survived() {
    let _ = eval_js(
        "localStorage.setItem('chat-widget:garbage:conversation', '<script>{\"not\": an id}')",
    );
    let _ = eval_js("window.__cwSetItem = Storage.prototype.setItem; Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); };");
    stub_fetch(answers(vec![
        reply("Hello", "conv_g"),
        reply("Again", "conv_g"),
    ]));
    let visit = Visit::start(WidgetConfig::new("garbage", "https://api.example.test")).await;
    visit.open().await;
    visit.send("hi").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    visit.send("hi again").await;
    visit
        .until("the second reply", |v| v.bot_bubbles().len() == 2)
        .await;
    let _ = eval_js("Storage.prototype.setItem = window.__cwSetItem");

    assert!(
        request_field(0, "body.conversationId").is_undefined(),
        "garbage is not sent as an id"
    );
    assert_eq!(
        request_field(1, "body.conversationId")
            .as_string()
            .as_deref(),
        Some("conv_g")
    );
    assert!(visit.find(".cw-alert").is_none());
}

#[wasm_bindgen_test]
async fn the_primary_colour_themes_the_launcher_with_readable_text() {
    for (hex, expected_text) in [
        ("#ffeb3b", "rgb(17, 24, 39)"),
        ("#1a1a2e", "rgb(255, 255, 255)"),
    ] {
        let config = config("colour").primary_color(Color::parse_hex(hex).unwrap());
        let visit = Visit::start(config).await;
        let style = web_sys::window()
            .unwrap()
            .get_computed_style(&visit.get(".cw-launcher"))
            .unwrap()
            .unwrap();
        let background = style.get_property_value("background-color").unwrap();
        let color = style.get_property_value("color").unwrap();
        let brand = Color::parse_hex(hex).unwrap();
        assert_eq!(
            background,
            format!("rgb({}, {}, {})", brand.r, brand.g, brand.b)
        );
        assert_eq!(color, expected_text, "text on {hex}");
    }
}

#[wasm_bindgen_test]
async fn the_launcher_sits_in_the_configured_corner() {
    let visit = Visit::start(config("corner").position(chat_widget::Position::BottomLeft)).await;
    let rect = visit.get(".cw-launcher").get_bounding_client_rect();
    let width = web_sys::window()
        .unwrap()
        .inner_width()
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        rect.left() < width / 2.0,
        "bottom-left launcher at x={}",
        rect.left()
    );
    drop(visit);
    let visit = Visit::start(config("corner")).await;
    let rect = visit.get(".cw-launcher").get_bounding_client_rect();
    assert!(
        rect.left() > width / 2.0,
        "bottom-right launcher at x={}",
        rect.left()
    );
}

#[wasm_bindgen_test]
async fn the_leptos_component_renders_an_isolated_widget() {
    use leptos::prelude::*;
    stub_fetch(answers(vec![reply("Hello from Leptos", "conv_l")]));
    let document = web_sys::window().unwrap().document().unwrap();
    let before = document.query_selector_all("body > div").unwrap().length();
    let parent: HtmlElement = document.create_element("section").unwrap().unchecked_into();
    document.body().unwrap().append_child(&parent).unwrap();
    let config = config("component");
    let handle = leptos::mount::mount_to(
        parent.clone(),
        move || view! { <chat_widget::ChatWidget config/> },
    );
    leptos::task::tick().await;
    wasm_bindgen_futures::JsFuture::from(sleep(50))
        .await
        .unwrap();

    let hosts = document.query_selector_all("body > div").unwrap();
    assert_eq!(
        hosts.length(),
        before + 1,
        "the component adds one host element to <body>"
    );
    let host: HtmlElement = hosts.item(hosts.length() - 1).unwrap().unchecked_into();
    let shadow = host
        .shadow_root()
        .expect("the widget lives in a shadow root");
    assert!(shadow.query_selector(".cw-launcher").unwrap().is_some());
    assert!(
        document.query_selector(".cw-launcher").unwrap().is_none(),
        "nothing leaks into the page's DOM"
    );
    let sheets = shadow.adopted_style_sheets().length();
    assert_eq!(
        sheets, 1,
        "its stylesheet is adopted by its own shadow root"
    );

    drop(handle);
    leptos::task::tick().await;
    assert_eq!(
        document.query_selector_all("body > div").unwrap().length(),
        before,
        "unmounting removes it"
    );
    parent.remove();
}

/// `<ChatWidget>`'s props: the app's `open` signal works both ways, `on_message` hears the
/// visitor's message and the bot's reply, and `primary_color` is reactive.
#[wasm_bindgen_test]
async fn the_leptos_component_binds_open_both_ways_and_calls_on_message() {
    use chat_widget::{ChatMessage, ChatWidget};
    use leptos::prelude::*;
    async fn wait_for(what: &str, condition: impl Fn() -> bool) {
        for _ in 0..150 {
            if condition() {
                return;
            }
            wasm_bindgen_futures::JsFuture::from(sleep(20))
                .await
                .unwrap();
        }
        panic!("timed out waiting for: {what}");
    }
    stub_fetch(answers(vec![reply("Hi from the bot", "conv_b")]));
    let document = web_sys::window().unwrap().document().unwrap();
    let parent: HtmlElement = document.create_element("section").unwrap().unchecked_into();
    document.body().unwrap().append_child(&parent).unwrap();
    let config = config("bound");
    let open = RwSignal::new(false);
    let heard = RwSignal::new(Vec::<String>::new());
    let color = RwSignal::new(Color::parse_hex("#7c3aed"));
    let handle = leptos::mount::mount_to(parent.clone(), move || {
        view! {
            <ChatWidget
                config
                open
                primary_color=color
                on_message=move |m: ChatMessage| heard.update(|h| h.push(m.text))
            />
        }
    });
    let hosts = document.query_selector_all("body > div").unwrap();
    wait_for("the widget", || {
        document.query_selector_all("body > div").unwrap().length() > hosts.length()
    })
    .await;
    let all = document.query_selector_all("body > div").unwrap();
    let host: HtmlElement = all.item(all.length() - 1).unwrap().unchecked_into();
    let shadow = host.shadow_root().unwrap();
    let find = |selector: &str| -> HtmlElement {
        shadow
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no {selector}"))
            .unchecked_into()
    };
    let panel = find(".cw-panel");
    assert!(
        panel.has_attribute("hidden"),
        "closed, as the app's signal says"
    );

    open.set(true);
    wait_for("the app's signal to open the panel", || {
        !panel.has_attribute("hidden")
    })
    .await;
    find(r#"[aria-label="Close chat"]"#).click();
    wait_for("the close button to reach the app's signal", || {
        !open.get_untracked()
    })
    .await;
    wait_for("the panel to hide", || panel.has_attribute("hidden")).await;

    open.set(true);
    wait_for("the panel", || !panel.has_attribute("hidden")).await;
    let input: HtmlTextAreaElement = find(".cw-input").unchecked_into();
    input.set_value("hello");
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    input
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).unwrap())
        .unwrap();
    let keys = web_sys::KeyboardEventInit::new();
    keys.set_key("Enter");
    keys.set_bubbles(true);
    keys.set_cancelable(true);
    input
        .dispatch_event(
            &web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &keys).unwrap(),
        )
        .unwrap();
    wait_for("on_message to hear both messages", || {
        heard.with_untracked(|h| h.len() == 2)
    })
    .await;
    assert_eq!(
        heard.get_untracked(),
        vec!["hello".to_owned(), "Hi from the bot".to_owned()]
    );

    let background = || {
        let launcher = find(".cw-launcher");
        web_sys::window()
            .unwrap()
            .get_computed_style(&launcher)
            .unwrap()
            .unwrap()
            .get_property_value("background-color")
            .unwrap()
    };
    assert_eq!(background(), "rgb(124, 58, 237)");
    color.set(Color::parse_hex("#0b5cad"));
    wait_for("the new brand colour", || {
        background() == "rgb(11, 92, 173)"
    })
    .await;

    drop(handle);
    wait_for("unmounting to remove it", || !host.is_connected()).await;
    parent.remove();
}

fn delta(text: &str) -> String {
    format!("event: delta\ndata: {}\n\n", object().with("content", text))
}

const START: &str = "event: start\ndata: {\"conversationId\":\"conv_s\",\"messageId\":\"m1\"}\n\n";

fn done(full: &str) -> String {
    let done = object()
        .with("conversationId", "conv_s")
        .with("messageId", "m1")
        .with("response", full);
    format!("event: done\ndata: {done}\n\n")
}

impl Visit {
    fn streaming_text(&self) -> String {
        self.find(".cw-msg--bot:not(.cw-msg--greeting) .cw-bubble")
            .and_then(|b| b.text_content())
            .unwrap_or_default()
    }
}

#[wasm_bindgen_test]
async fn a_streamed_reply_appears_as_it_arrives_and_ends_with_quick_replies() {
    let visit = Visit::streaming("stream", "Where is my order?").await;
    assert_eq!(
        request_field(0, "body.stream").as_bool(),
        Some(true),
        "the widget asks for a stream"
    );
    assert!(
        visit.find(".cw-typing").is_some(),
        "typing dots until the first token"
    );
    assert!(
        visit.find(".cw-stop").is_some(),
        "the send button became Stop"
    );
    assert_eq!(
        visit.get(".cw-stop").get_attribute("aria-label").as_deref(),
        Some("Stop generating")
    );

    stream_send(0, START);
    stream_send(0, &delta("You can **track"));
    visit
        .until("the first words", |v| {
            v.streaming_text().contains("You can")
        })
        .await;
    assert!(
        visit.find(".cw-typing").is_none(),
        "the dots go once text shows"
    );
    // An event split across network chunks, even inside a UTF-8 character, still arrives whole.
    let split = delta("** it — café\n\n- step one\n");
    let bytes = split.as_bytes();
    let cut = split.find('é').unwrap() + 1;
    let _ = eval_js(&format!(
        "window.__cwStreams[0].controller.enqueue(new Uint8Array({:?})); window.__cwStreams[0].controller.enqueue(new Uint8Array({:?}));",
        &bytes[..cut], &bytes[cut..]
    ));
    visit
        .until("the split event", |v| v.streaming_text().contains("café"))
        .await;
    assert!(
        visit
            .get(".cw-msg--bot:not(.cw-msg--greeting) .cw-bubble")
            .inner_html()
            .contains("<strong>track</strong> it"),
        "markdown renders while streaming"
    );

    let actions = r#"event: actions
data: {"suggested_actions":[{"type":"quick_reply","text":"Check order status","payload":"check_order"},{"type":"quick_reply","text":"Talk to a human"}]}

"#;
    stream_send(0, &delta("- step two"));
    stream_send(0, actions);
    stream_send(
        0,
        &done("You can **track** it — café\n\n- step one\n- step two"),
    );
    stream_close(0);
    visit
        .until("the end of the stream", |v| v.find(".cw-stop").is_none())
        .await;
    let html = visit
        .get(".cw-msg--bot:not(.cw-msg--greeting) .cw-bubble")
        .inner_html();
    assert!(
        html.contains("<li>step one</li>") && html.contains("<li>step two</li>"),
        "{html}"
    );
    assert_eq!(
        eval_js("localStorage.getItem('chat-widget:stream:conversation')")
            .as_string()
            .as_deref(),
        Some("conv_s")
    );

    let buttons = visit.all(".cw-actions .cw-action");
    assert_eq!(buttons.len(), 2);
    assert_eq!(
        visit.get(".cw-actions").get_attribute("role").as_deref(),
        Some("group")
    );
    assert_eq!(
        buttons[0].text_content().unwrap().trim(),
        "Check order status"
    );
    buttons[0].unchecked_ref::<HtmlElement>().focus().unwrap();
    assert!(
        visit.focused_class().contains("cw-action"),
        "quick replies take keyboard focus"
    );
    buttons[0].unchecked_ref::<HtmlElement>().click();
    visit.settle().await;
    visit
        .until("the second request", |_| stream_count() == 2)
        .await;
    assert_eq!(
        request_field(1, "body.message").as_string().as_deref(),
        Some("check_order"),
        "the payload is sent"
    );
    assert_eq!(
        request_field(1, "body.conversationId")
            .as_string()
            .as_deref(),
        Some("conv_s")
    );
    let visitor = visit.all(".cw-msg--visitor");
    assert!(
        visitor[1]
            .text_content()
            .unwrap()
            .contains("Check order status"),
        "the label is shown as the visitor's message"
    );
    assert!(
        visit.find(".cw-actions").is_none(),
        "the buttons are gone after the click"
    );
    stream_send(1, START);
    stream_send(1, &done("Order ACM-1 is on its way."));
    stream_close(1);
    visit
        .until("the answer to the quick reply", |v| {
            v.bot_bubbles().len() == 2
        })
        .await;
}

/// A reply that is one block of `shape` all along (a list, a paragraph, a code block or a
/// table), of about `bytes` bytes, with inline Markdown, entities and raw HTML in it.
fn one_block_reply(shape: &str, bytes: usize) -> String {
    let words = [
        "reply",
        "café",
        "<b>raw</b>",
        "a & b",
        "naïve",
        "x<y",
        "日本",
    ];
    let mut text = match shape {
        "table" => "| # | item | price |\n|---:|:---|:-:|\n".to_owned(),
        "code" => "```rust\n".to_owned(),
        _ => String::new(),
    };
    let mut i = 0;
    while text.len() < bytes {
        let (word, other) = (words[i % words.len()], words[(i + 3) % words.len()]);
        text.push_str(&match shape {
            "list" => format!("- item {i} {word} **{other}** and `code`\n"),
            "paragraph" => format!("{word} *{other}* [link {i}](https://example.com/{i}) "),
            "code" => format!("let value_{i} = f({i}, \"{word}\"); // <{other}> &amp;\n"),
            _ => format!("| {i} | {word} **{other}** | {i}.00 |\n"),
        });
        i += 1;
    }
    if shape == "code" {
        text.push_str("```\n");
    }
    text
}

/// HTML as the browser reads it back (`<br />` becomes `<br>`, ...).
fn parsed(html: &str) -> String {
    let document = web_sys::window().unwrap().document().unwrap();
    let element = document.create_element("div").unwrap();
    element.set_inner_html(html);
    element.inner_html()
}

#[wasm_bindgen_test]
async fn a_reply_that_is_one_long_block_is_drawn_in_steps_and_ends_as_the_whole_render() {
    stub_stream();
    let visit = Visit::start(config("shapes")).await;
    visit.open().await;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for (round, shape) in ["list", "paragraph", "code", "table"]
        .into_iter()
        .enumerate()
    {
        let round = round as u32;
        let text = one_block_reply(shape, 3_000);
        visit.send(&format!("one long {shape}")).await;
        visit
            .until("the request", |_| stream_count() == round + 1)
            .await;
        stream_send(round, START);
        // Random pieces, a few events to a network chunk, a frame or two now and then.
        let (mut at, mut chunk, mut middle) = (0, String::new(), None);
        while at < text.len() {
            if middle.is_none() && at > text.len() / 2 {
                stream_send(round, &chunk);
                chunk.clear();
                visit
                    .until("half of it drawn", |v| {
                        v.find(".cw-msg--streaming .cw-bubble > *").is_some()
                    })
                    .await;
                middle = visit.find(".cw-msg--streaming .cw-bubble > *");
            }
            let mut end = (at + 1 + random(12)).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            chunk.push_str(&delta(&text[at..end]));
            at = end;
            if random(3) == 0 {
                stream_send(round, &chunk);
                chunk.clear();
            }
            if random(10) == 0 {
                wasm_bindgen_futures::JsFuture::from(sleep(20))
                    .await
                    .unwrap();
            }
        }
        stream_send(round, &chunk);
        stream_send(round, &done(&text));
        stream_close(round);
        visit
            .until("the end of the reply", |v| {
                v.find(".cw-msg--streaming").is_none()
                    && v.bot_bubbles().len() == round as usize + 1
            })
            .await;
        let bubbles = visit.all(".cw-msg--bot:not(.cw-msg--greeting) .cw-bubble");
        let bubble = bubbles.last().unwrap();
        // Drawn in steps: the block's element from the middle of the stream is still there.
        assert!(
            middle.as_ref().is_some_and(|m| m.is_connected()),
            "{shape}: drawn in steps, not again as a whole"
        );
        assert_eq!(
            bubble.inner_html(),
            parsed(&chat_widget_protocol::markdown::render_markdown(&text)),
            "{shape}: the final DOM is the whole render"
        );
    }
}

#[wasm_bindgen_test]
async fn stop_keeps_the_partial_text_and_the_next_message_works_every_time() {
    stub_stream();
    let visit = Visit::start(config("stop")).await;
    visit.open().await;
    for round in 0..3u32 {
        visit.send(&format!("question {round}")).await;
        visit
            .until("the request", |_| stream_count() == round + 1)
            .await;
        stream_send(round, START);
        stream_send(round, &delta(&format!("Partial answer {round}")));
        visit
            .until("the partial text", |v| {
                v.bot_bubbles().len() == round as usize + 1
                    || v.all(".cw-msg--streaming").len() == 1
            })
            .await;
        visit
            .until("text on screen", |v| {
                v.all(".cw-msg--bot .cw-bubble").iter().any(|b| {
                    b.text_content()
                        .unwrap_or_default()
                        .contains(&format!("Partial answer {round}"))
                })
            })
            .await;
        visit.get(".cw-stop").click();
        visit
            .until("the stop to land", |v| v.find(".cw-stop").is_none())
            .await;
        assert!(
            stream_aborted(round),
            "round {round}: Stop aborts the request"
        );
        let bubbles = visit.bot_bubbles();
        assert!(
            bubbles[round as usize].contains(&format!("Partial answer {round}")),
            "round {round}: partial text kept: {bubbles:?}"
        );
        let statuses = visit.all(".cw-status--muted");
        assert_eq!(statuses.len() as u32, round + 1);
        assert!(statuses[round as usize]
            .text_content()
            .unwrap()
            .contains("Stopped"));
        assert!(
            visit.find(".cw-alert").is_none(),
            "stopping is not an error"
        );
    }
    // And a message after the stops gets its whole reply.
    visit.send("one more").await;
    visit.until("the request", |_| stream_count() == 4).await;
    stream_send(3, START);
    stream_send(3, &done("Complete answer."));
    stream_close(3);
    visit
        .until("the complete reply", |v| v.bot_bubbles().len() == 4)
        .await;
    assert!(visit.bot_bubbles()[3].contains("Complete answer."));
}

#[wasm_bindgen_test]
async fn a_broken_stream_keeps_the_text_and_retry_finishes_the_reply() {
    let visit = Visit::streaming("broken", "Tell me about returns").await;
    stream_send(0, START);
    stream_send(0, &delta("You have 30 days"));
    visit
        .until("the partial text", |v| {
            v.streaming_text().contains("30 days")
        })
        .await;
    stream_fail(0);
    visit
        .until("the interruption", |v| v.find(".cw-alert").is_some())
        .await;
    assert!(
        visit.streaming_text().contains("You have 30 days"),
        "the partial text stays"
    );
    assert!(
        visit.text(".cw-alert").contains("connection dropped"),
        "{}",
        visit.text(".cw-alert")
    );
    assert!(visit
        .text(".cw-msg--bot .cw-status")
        .contains("interrupted"));
    assert!(
        visit.find(".cw-msg--failed").is_none(),
        "the visitor's message was delivered"
    );
    assert!(visit
        .text(".cw-msg--visitor")
        .contains("Tell me about returns"));

    visit.get(".cw-msg--bot .cw-retry").click();
    visit
        .until("the retried request", |_| stream_count() == 2)
        .await;
    assert_eq!(
        request_field(1, "body.message").as_string().as_deref(),
        Some("Tell me about returns")
    );
    stream_send(1, START);
    stream_send(1, &delta("You have 30 days to return anything."));
    stream_send(1, &done("You have 30 days to return anything."));
    stream_close(1);
    visit
        .until("the complete reply", |v| {
            v.find(".cw-stop").is_none() && v.find(".cw-alert").is_none()
        })
        .await;
    assert_eq!(
        visit.bot_bubbles().len(),
        1,
        "the retry fills the same bubble"
    );
    assert!(visit.bot_bubbles()[0].contains("30 days to return anything."));

    // An error event part-way is said too, and a stream that just ends without `done` is cut off.
    visit.send("and exchanges?").await;
    visit.until("the request", |_| stream_count() == 3).await;
    stream_send(2, START);
    stream_send(2, &delta("Exchanges are"));
    stream_send(2, "event: error\ndata: {\"success\":false,\"error\":\"Model overloaded\",\"code\":\"SERVER_ERROR\"}\n\n");
    stream_close(2);
    visit
        .until("the error", |v| v.find(".cw-alert").is_some())
        .await;
    assert!(visit
        .text(".cw-alert")
        .contains("stopped before the reply was finished"));
    assert!(visit.bot_bubbles()[1].contains("Exchanges are"));
}

/// A visitor asks, the reply begins, and they follow a link before it ends: the next page
/// still shows their question (the transcript keeps it from the reply's first words).
#[wasm_bindgen_test]
async fn a_question_whose_reply_has_begun_is_kept_for_the_next_page() {
    let visit = Visit::streaming("keep-asked", "Where is my order?").await;
    assert_eq!(stored("chat-widget:keep-asked:transcript"), None);
    stream_send(0, START);
    stream_send(0, &delta("Let me look"));
    visit
        .until("the reply's first words", |v| {
            v.streaming_text().contains("Let me look")
        })
        .await;
    let kept = stored("chat-widget:keep-asked:transcript").unwrap_or_default();
    assert!(kept.contains("Where is my order?"), "{kept}");
    assert!(
        !kept.contains("Let me look"),
        "a reply still on its way is not kept as if it were whole: {kept}"
    );
}

/// The same bot on the next page: what the last page kept is there (unlike [`config`], which
/// starts from a clean slate).
fn next_page(bot: &str) -> WidgetConfig {
    WidgetConfig::new(bot, "https://api.example.test/")
        .api_key("pk_test_1")
        .bot_name("Acme")
}

/// A message the server refused, then the visitor follows a link: the next page shows it,
/// failed, with Retry, and Retry sends it. Nothing goes out by itself.
#[wasm_bindgen_test]
async fn a_message_that_was_not_sent_is_there_on_the_next_page_with_retry() {
    stub_fetch(answers(vec![response(
        400,
        r#"{"success":false,"error":"Invalid request","code":"INVALID_REQUEST"}"#,
    )]));
    let visit = Visit::start(config("unsent")).await;
    visit.open().await;
    visit.send("Please call me back on Monday").await;
    visit
        .until("the failure", |v| v.find(".cw-msg--failed").is_some())
        .await;
    let kept = stored("chat-widget:unsent:unsent").unwrap_or_default();
    assert!(kept.contains("Please call me back on Monday"), "{kept}");
    drop(visit);

    stub_fetch(answers(vec![reply(
        "We will call you on **Monday**.",
        "conv_u",
    )]));
    let visit = Visit::start(next_page("unsent")).await;
    visit.open().await;
    assert_eq!(visit.all(".cw-msg--visitor").len(), 1);
    assert!(visit
        .text(".cw-msg--failed")
        .contains("Please call me back on Monday"));
    assert!(
        visit.text(".cw-alert").contains("couldn't be sent"),
        "{}",
        visit.text(".cw-alert")
    );
    visit.settle().await;
    assert_eq!(
        requests().length(),
        0,
        "nothing is sent without the visitor"
    );

    assert_eq!(
        visit.retry_until_reply().await.as_deref(),
        Some("Please call me back on Monday")
    );
    assert!(visit.bot_bubbles()[0].contains("<strong>Monday</strong>"));
    assert!(visit.find(".cw-msg--failed").is_none());
    assert_eq!(
        stored("chat-widget:unsent:unsent"),
        None,
        "delivered: no longer kept as unsent"
    );
    drop(visit);

    // And the page after that shows the conversation once, delivered.
    let visit = Visit::start(next_page("unsent")).await;
    visit.open().await;
    assert_eq!(visit.all(".cw-msg--visitor").len(), 1);
    assert!(visit.find(".cw-msg--failed").is_none());
    assert_eq!(visit.bot_bubbles().len(), 1);
}

/// Another tab was sending a message when this page read it, and then neither finished nor
/// went away (it crashed): at the bound, the message is shown failed with Retry here, as a
/// page reading it then would show it, instead of "Sending from another tab…" for good.
#[wasm_bindgen_test]
async fn a_message_another_tab_never_finished_sending_turns_failed_with_retry() {
    stub_fetch(answers(vec![reply("We will call you.", "conv_g")]));
    let _ = config("gone-tab");
    let _ = eval_js(
        r#"localStorage.setItem('chat-widget:gone-tab:unsent',
            JSON.stringify([["Please call me back", null, Date.now() - 119000, true]]))"#,
    );
    let visit = Visit::start(next_page("gone-tab")).await;
    visit.open().await;
    assert!(
        visit
            .text(".cw-msg--visitor")
            .contains("Sending from another tab"),
        "{}",
        visit.text(".cw-msg--visitor")
    );
    assert!(
        visit.find(".cw-retry").is_none(),
        "no Retry while it is on its way there"
    );
    visit
        .until("the bound", |v| {
            v.find(".cw-msg--failed .cw-retry").is_some()
        })
        .await;
    assert!(!visit
        .text(".cw-msg--visitor")
        .contains("Sending from another tab"));
    assert_eq!(
        requests().length(),
        0,
        "nothing is sent without the visitor"
    );

    assert_eq!(
        visit.retry_until_reply().await.as_deref(),
        Some("Please call me back")
    );
}

/// A message the server refuses as invalid (too long, say) would be refused again: instead of
/// Retry it offers Edit, which takes it out of the conversation and puts its text back in the
/// input, before what the visitor had started meanwhile, with focus there. Changed, it goes.
#[wasm_bindgen_test]
async fn a_message_refused_as_invalid_goes_back_into_the_input_to_be_changed() {
    stub_fetch(answers(vec![
        response(
            400,
            r#"{"success":false,"error":"The message is too long","code":"INVALID_REQUEST"}"#,
        ),
        reply("Got it.", "conv_e"),
    ]));
    let visit = Visit::start(config("edit")).await;
    visit.open().await;
    visit.send("A very long question").await;
    visit
        .until("the refusal", |v| v.find(".cw-msg--failed").is_some())
        .await;
    let button = visit.get(".cw-msg--failed .cw-retry");
    assert_eq!(button.text_content().unwrap_or_default(), "Edit");
    assert!(stored("chat-widget:edit:unsent").is_some());
    visit.type_text("and more");
    button.click();
    visit.settle().await;
    assert!(
        visit.find(".cw-msg--visitor").is_none(),
        "taken out of the conversation"
    );
    assert_eq!(
        stored("chat-widget:edit:unsent"),
        None,
        "no longer kept as unsent"
    );
    let input: HtmlTextAreaElement = visit.get(".cw-input").unchecked_into();
    assert_eq!(input.value(), "A very long question\nand more");
    assert_eq!(visit.focused_class(), "cw-input");
    assert_eq!(requests().length(), 1, "nothing sent again by itself");

    visit.type_text("A short question");
    visit.press(".cw-input", "Enter", false);
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(
        request_field(1, "body.message").as_string().as_deref(),
        Some("A short question")
    );
    assert_eq!(visit.all(".cw-msg--visitor").len(), 1);
}

/// Half a message in the composer, then another page: the composer there has it. Sent, it is
/// no longer kept (and a logout forgets it: see the logout test, whose draft is kept first).
#[wasm_bindgen_test]
async fn a_half_typed_message_waits_in_the_composer_on_the_next_page() {
    stub_fetch(answers(vec![reply("Sure.", "conv_d")]));
    let visit = Visit::start(config("draft")).await;
    visit.open().await;
    visit.type_text("I would like to change the delivery address of");
    visit.settle().await;
    drop(visit);

    let visit = Visit::start(next_page("draft")).await;
    visit.open().await;
    let input: HtmlTextAreaElement = visit.get(".cw-input").unchecked_into();
    assert_eq!(
        input.value(),
        "I would like to change the delivery address of"
    );
    visit
        .send("I would like to change the delivery address of order 42")
        .await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(input.value(), "");
    assert_eq!(stored("chat-widget:draft:draft"), None);
    drop(visit);

    let visit = Visit::start(next_page("draft")).await;
    visit.open().await;
    let input: HtmlTextAreaElement = visit.get(".cw-input").unchecked_into();
    assert_eq!(input.value(), "", "a sent message is not a draft any more");
}

/// A jelytech visitor whose message was on its way when they left: the server may have it
/// (then the history shows it once) or not (then it comes back failed, after the history).
#[wasm_bindgen_test]
async fn unsent_messages_come_after_the_restored_history_and_show_once() {
    let history = r#"{ "success": true, "conversationId": "conv_x", "messages": [
        { "id": "m1", "role": "user", "content": "Where is my order?", "timestamp": "2025-01-10T14:30:00Z" },
        { "id": "m2", "role": "assistant", "content": "It left on **Monday**.", "timestamp": "2025-01-10T14:30:05Z" } ] }"#;
    stub_routes(routes(&[(
        "GET /v1/chat/history/conv_x",
        vec![(JSON, history.to_string())],
    )]));
    let config = dialect_config("jely-unsent", "jelytech");
    let _ = eval_js(
        r#"localStorage.setItem('chat-widget:jely-unsent:conversation', 'conv_x');
        localStorage.setItem('chat-widget:jely-unsent:unsent', JSON.stringify([["Where is my order?", null, 1736519400000], ["And my refund?", null, 1736519460000]]))"#,
    );
    let visit = Visit::start(config).await;
    visit
        .until("the history", |v| v.bot_bubbles().len() == 1)
        .await;
    visit.open().await;
    let visitor: Vec<String> = visit
        .all(".cw-msg--visitor .cw-bubble")
        .iter()
        .map(|e| e.text_content().unwrap_or_default())
        .collect();
    assert_eq!(visitor, vec!["Where is my order?", "And my refund?"]);
    let rows: Vec<String> = visit
        .all(".cw-msg:not(.cw-msg--greeting)")
        .iter()
        .map(|e| e.class_name())
        .collect();
    assert!(rows[2].contains("cw-msg--failed"), "{rows:?}");
    assert!(!rows[0].contains("cw-msg--failed"), "{rows:?}");
    let kept = stored("chat-widget:jely-unsent:unsent").unwrap_or_default();
    assert!(
        kept.contains("And my refund?") && !kept.contains("Where is my order?"),
        "{kept}"
    );
}

#[wasm_bindgen_test]
async fn renders_at_most_once_per_frame_however_many_chunks_arrive() {
    let visit = Visit::streaming("frames", "go").await;
    stream_send(0, START);
    stream_send(0, &delta("first "));
    visit
        .until("the first words", |v| v.streaming_text().contains("first"))
        .await;
    count_renders(&visit.get(".cw-msg--streaming"));
    let mut burst = String::new();
    for i in 0..400 {
        burst.push_str(&delta(&format!("word{i} ")));
    }
    // 400 events in a handful of network chunks, as a fast server delivers them.
    for piece in burst.as_bytes().chunks(997) {
        let _ = eval_js(&format!(
            "window.__cwStreams[0].controller.enqueue(new Uint8Array({piece:?}))"
        ));
    }
    visit
        .until("the last word", |v| v.streaming_text().contains("word399"))
        .await;
    visit.settle().await;
    let counts = stop_counting();
    let (mutations, frames) = (
        counts.get(0).as_f64().unwrap(),
        counts.get(1).as_f64().unwrap(),
    );
    // Each render replaces the tail's content: a couple of DOM records. 400 renders would be ~800.
    assert!(
        mutations <= 2.0 * (frames + 2.0),
        "{mutations} DOM mutations in {frames} frames"
    );
    stream_close(0);
}

/// A whole reply can come as one network chunk (a proxy that buffers the stream): it is read
/// in slices, with the browser's turns between them, and every word arrives, in order, even
/// where a slice ends inside an event or inside a character. It is drawn over a few frames,
/// busy meanwhile, and announced to screen readers once drawn.
/// An API that never ends its reply (a model in a loop, a hostile server) would grow one
/// bubble, and the work of drawing it, until the page froze: the reply is cut at
/// `MAX_REPLY_BYTES`, the text up to the cut stays with "interrupted" and Retry, the rest of
/// the stream is let go, and the visitor can write again.
#[wasm_bindgen_test]
async fn a_reply_that_never_ends_is_cut_at_the_limit_and_its_stream_let_go() {
    use chat_widget_protocol::MAX_REPLY_BYTES;
    let visit = Visit::streaming("endless", "Loop forever").await;
    stream_send(0, START);
    // 16 KiB of text an event, 20 of them: more than the limit.
    let piece = delta(&"again and again ".repeat(1024));
    for _ in 0..20 {
        stream_send(0, &piece);
    }
    visit
        .until("the reply, cut and interrupted", |v| {
            v.find(".cw-alert").is_some()
                && v.find(".cw-bubble[aria-busy]").is_none()
                && v.streaming_text().len() > MAX_REPLY_BYTES - 16
        })
        .await;
    let text = visit.streaming_text();
    assert!(text.len() <= MAX_REPLY_BYTES, "{} bytes shown", text.len());
    assert!(text.starts_with("again and again again"));
    assert!(stream_cancelled(0), "the rest of the stream is not read");
    assert!(visit
        .text(".cw-msg--bot .cw-status")
        .contains("interrupted"));
    assert!(visit.find(".cw-msg--bot .cw-retry").is_some());
    assert!(
        visit.find(".cw-msg--failed").is_none(),
        "the message was delivered"
    );

    visit.send("A short one now").await;
    visit
        .until("the next request", |_| stream_count() == 2)
        .await;
    stream_send(1, START);
    stream_send(1, &delta("Short."));
    stream_send(1, &done("Short."));
    stream_close(1);
    visit
        .until("the next reply", |v| {
            v.bot_bubbles().last().is_some_and(|b| b.contains("Short."))
        })
        .await;

    // A stream whose line never ends is given up after 32 MiB: the message can be retried.
    visit.send("And now?").await;
    visit
        .until("the third request", |_| stream_count() == 3)
        .await;
    let line = "x".repeat(1 << 20);
    stream_send(2, ": ");
    for _ in 0..33 {
        stream_send(2, &line);
    }
    visit
        .until("the message, not sent", |v| {
            v.find(".cw-msg--failed .cw-retry").is_some()
        })
        .await;
    assert!(stream_cancelled(2), "the rest of the stream is not read");
}

#[wasm_bindgen_test]
async fn a_reply_in_one_large_network_chunk_arrives_whole_and_is_announced_once_drawn() {
    let visit = Visit::streaming("one-chunk", "all at once").await;
    let words: Vec<String> = (0..5000).map(|i| format!("wörd{i}")).collect();
    let mut body = START.to_owned();
    for word in &words {
        body.push_str(&delta(&format!("{word} ")));
    }
    body.push_str(&done(&(words.join(" ") + " ")));
    assert!(body.len() > 200_000, "several slices: {} bytes", body.len());
    let announcer = ".cw-messages-wrap [role=status][aria-live=polite]";
    let announced_while_drawing = std::cell::Cell::new(false);
    let seen_drawing = std::cell::Cell::new(false);
    stream_send(0, &body);
    stream_close(0);
    visit
        .until("the whole reply, drawn and announced", |v| {
            if v.find(".cw-bubble[aria-busy]").is_some() {
                seen_drawing.set(true);
                announced_while_drawing
                    .set(announced_while_drawing.get() || v.text(announcer).contains("wörd"));
                return false;
            }
            v.find(".cw-msg--streaming").is_none() && v.text(announcer).contains("wörd4999")
        })
        .await;
    assert!(
        seen_drawing.get(),
        "a reply this long is drawn over several frames"
    );
    assert!(
        !announced_while_drawing.get(),
        "announced before it was drawn"
    );
    let text = visit.streaming_text();
    let shown: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(shown.len(), words.len());
    assert!(shown.iter().zip(&words).all(|(shown, word)| shown == word));
}

#[wasm_bindgen_test]
async fn scrolled_up_visitors_are_not_dragged_down_and_get_a_new_messages_pill() {
    let visit = Visit::streaming("pill", "long please").await;
    stream_send(0, START);
    let long: String = (0..40)
        .map(|i| format!("Paragraph {i} with some text.\n\n"))
        .collect();
    stream_send(0, &delta(&long));
    visit
        .until("the long text", |v| {
            v.streaming_text().contains("Paragraph 39")
        })
        .await;
    visit.settle().await;
    let list = visit.get(".cw-messages");
    let bottom =
        |list: &HtmlElement| list.scroll_height() - list.scroll_top() - list.client_height();
    assert!(bottom(&list) < 50, "following the stream at the bottom");
    assert!(visit.find(".cw-pill").is_none());

    list.set_scroll_top(0);
    let init = web_sys::EventInit::new();
    list.dispatch_event(&web_sys::Event::new_with_event_init_dict("scroll", &init).unwrap())
        .unwrap();
    visit.settle().await;
    stream_send(0, &delta("More text arrives."));
    visit
        .until("the pill", |v| v.find(".cw-pill").is_some())
        .await;
    assert_eq!(
        list.scroll_top(),
        0,
        "the visitor reading above is not moved"
    );
    assert!(visit.text(".cw-pill").contains("New messages"));
    visit.get(".cw-pill").click();
    visit.settle().await;
    assert!(bottom(&list) < 50, "the pill brings them back down");
    assert!(visit.find(".cw-pill").is_none());
    stream_close(0);
}

#[wasm_bindgen_test]
async fn quick_replies_in_a_json_reply_work_like_streamed_ones() {
    let body = r#"{
        "success": true,
        "data": {
            "response": "What would you like to do?",
            "conversationId": "conv_j",
            "suggested_actions": [
                { "type": "quick_reply", "text": "Track my order", "payload": "track_order" },
                { "type": "url", "text": "Open the help centre", "payload": "https://example.com/help" },
                { "type": "url", "text": "Sneaky", "payload": "javascript:alert(1)" }
            ]
        }
    }"#;
    stub_fetch(answers(vec![
        response(200, body),
        reply("Your order ships today.", "conv_j"),
    ]));
    let visit = Visit::start(config("json-actions")).await;
    visit.open().await;
    visit.send("hi").await;
    visit
        .until("the quick replies", |v| v.find(".cw-actions").is_some())
        .await;
    let link = visit.get("a.cw-action");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://example.com/help")
    );
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );
    assert_eq!(
        visit.all(".cw-action").len(),
        2,
        "a javascript: URL action is not offered"
    );
    visit.get("button.cw-action").click();
    visit
        .until("the answer", |v| v.bot_bubbles().len() == 2)
        .await;
    assert_eq!(
        request_field(1, "body.message").as_string().as_deref(),
        Some("track_order")
    );
    assert!(visit.all(".cw-msg--visitor")[1]
        .text_content()
        .unwrap()
        .contains("Track my order"));
}

#[wasm_bindgen(inline_js = r#"
export function record_events(host) {
  const seen = [];
  for (const name of ['ready', 'open', 'close', 'message-sent', 'message-received', 'conversation-started', 'error']) {
    host.addEventListener(`chat-widget:${name}`, (event) => seen.push(`${name} ${JSON.stringify(event.detail)}`));
  }
  // Events bubble out of the widget to the document, as a page's listeners expect.
  document.addEventListener('chat-widget:message-sent', (event) => { window.__cwBubbled = event.target === host; }, { once: true });
  return seen;
}
"#)]
extern "C" {
    fn record_events(host: &HtmlElement) -> js_sys::Array;
}

#[wasm_bindgen_test]
async fn the_widget_tells_the_page_what_happens_through_dom_events() {
    stub_fetch(answers(vec![
        reply("Hello!", "conv_e"),
        response(
            402,
            r#"{"success":false,"error":"Out of credits","code":"INSUFFICIENT_CREDITS"}"#,
        ),
    ]));
    let document = web_sys::window().unwrap().document().unwrap();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    let seen = record_events(&host);
    let widget = mount_config(host.clone(), config("events")).unwrap();
    let visit = Visit {
        shadow: host.shadow_root().unwrap(),
        host,
        _widget: widget,
    };
    visit.settle().await;
    visit._widget.open();
    visit
        ._widget
        .identify(&eval_js("({ userId: 'u1', name: 'Ada' })"))
        .unwrap();
    visit
        ._widget
        .set_context(&eval_js("({ plan: 'pro' })"))
        .unwrap();
    for not_an_object in ["[1, 2]", "'pro'", "null", "undefined", "42"] {
        let refused = visit
            ._widget
            .set_context(&eval_js(&format!("({not_an_object})")))
            .unwrap_err();
        assert_eq!(
            refused.as_string().as_deref(),
            Some("chat-widget: setContext takes a plain object"),
            "{not_an_object}"
        );
    }
    let delivered = visit._widget.send("Hi there");
    visit
        .until("the reply", |v| !v.bot_bubbles().is_empty())
        .await;
    assert_eq!(
        outcome(delivered).await,
        r#"{"delivered":true}"#,
        "send() says when it was delivered"
    );
    assert_eq!(
        request_field(0, "body.metadata.userId")
            .as_string()
            .as_deref(),
        Some("u1")
    );
    assert_eq!(
        request_field(0, "body.metadata.plan")
            .as_string()
            .as_deref(),
        Some("pro")
    );
    let refused = visit._widget.send("again");
    visit
        .until("the error", |v| v.find(".cw-alert").is_some())
        .await;
    assert_eq!(
        outcome(refused).await,
        r#"{"delivered":false,"error":{"code":"INSUFFICIENT_CREDITS","message":"Out of credits"}}"#,
        "and when it failed, with why"
    );
    visit._widget.close();
    visit.settle().await;
    let seen: Vec<String> = seen.iter().filter_map(|v| v.as_string()).collect();
    assert_eq!(
        seen,
        vec![
            "ready {}".to_owned(),
            "open {}".to_owned(),
            r#"message-sent {"text":"Hi there"}"#.to_owned(),
            r#"conversation-started {"conversationId":"conv_e"}"#.to_owned(),
            r#"message-received {"conversationId":"conv_e","text":"Hello!"}"#.to_owned(),
            r#"message-sent {"text":"again"}"#.to_owned(),
            r#"error {"code":"INSUFFICIENT_CREDITS","message":"Out of credits"}"#.to_owned(),
            "close {}".to_owned(),
        ]
    );
    assert_eq!(
        eval_js("window.__cwBubbled").as_bool(),
        Some(true),
        "events bubble out of the host"
    );
    visit._widget.reset();
    visit.settle().await;
    assert!(
        visit.all(".cw-msg--visitor").is_empty(),
        "reset clears the conversation"
    );
    assert!(eval_js("localStorage.getItem('chat-widget:events:conversation')").is_null());
}

#[wasm_bindgen_test]
async fn a_page_sets_the_public_custom_properties_and_the_dark_theme_darkens() {
    let _ = eval_js("const s = document.createElement('style'); s.id = 'cw-test-style'; s.textContent = '.cw-test-host { --cw-radius: 3px; --cw-font: monospace; }'; document.head.append(s);");
    let document = web_sys::window().unwrap().document().unwrap();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    host.set_class_name("cw-test-host");
    document.body().unwrap().append_child(&host).unwrap();
    let widget = mount_config(
        host.clone(),
        config("custom-props").theme(chat_widget::Theme::Dark),
    )
    .unwrap();
    let visit = Visit {
        shadow: host.shadow_root().unwrap(),
        host,
        _widget: widget,
    };
    visit.settle().await;
    visit.open().await;
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&visit.get(".cw-panel"))
        .unwrap()
        .unwrap();
    assert_eq!(
        style.get_property_value("border-top-left-radius").unwrap(),
        "3px"
    );
    assert_eq!(
        style.get_property_value("font-family").unwrap(),
        "monospace"
    );
    assert_eq!(
        style.get_property_value("background-color").unwrap(),
        "rgb(24, 27, 33)",
        "dark surface"
    );
    let _ = eval_js("document.getElementById('cw-test-style').remove()");
}

#[wasm_bindgen_test]
async fn unmounting_in_the_middle_of_a_reply_aborts_its_request() {
    let visit = Visit::streaming("unmount-stream", "hello").await;
    stream_send(0, START);
    stream_send(0, &delta("Half an answer"));
    visit
        .until("the partial text", |v| {
            v.all(".cw-msg--bot .cw-bubble")
                .iter()
                .any(|b| b.text_content().unwrap_or_default().contains("Half"))
        })
        .await;
    assert!(!stream_aborted(0), "the reply is still coming");
    drop(visit);
    wasm_bindgen_futures::JsFuture::from(sleep(50))
        .await
        .unwrap();
    assert!(
        stream_aborted(0),
        "a widget that is gone aborts its request"
    );
}

#[wasm_bindgen_test]
async fn an_unmounted_widget_stops_everything_it_had_scheduled() {
    stub_fetch(answers(vec![network_failure()]));
    let visit = Visit::start(config("unmount")).await;
    visit.open().await;
    visit.send("hello").await;
    visit
        .until("the automatic retry to be scheduled", |v| {
            v.find(".cw-msg--failed")
                .is_some_and(|m| m.text_content().unwrap_or_default().contains("Retrying in"))
        })
        .await;
    assert_eq!(requests().length(), 1);
    drop(visit);
    wasm_bindgen_futures::JsFuture::from(sleep(2200))
        .await
        .unwrap();
    assert_eq!(
        requests().length(),
        1,
        "no request from a widget that is gone"
    );
}

/// Unmounting while a reply streams in: the request is aborted, the widget's DOM goes, nothing
/// throws (no console error, no uncaught error or rejection), and the text that arrives late
/// is read by nobody.
#[wasm_bindgen_test]
async fn unmounting_in_the_middle_of_a_stream_aborts_the_request_without_an_error() {
    let _ = eval_js(
        "window.__cwErrors = []; window.__cwConsoleError = console.error; \
         console.error = (...a) => { if (window.__cwErrors) window.__cwErrors.push(a.join(' ')); window.__cwConsoleError(...a); }; \
         window.addEventListener('error', (ev) => window.__cwErrors && window.__cwErrors.push(String(ev.message))); \
         window.addEventListener('unhandledrejection', (ev) => window.__cwErrors && window.__cwErrors.push(String(ev.reason)));",
    );
    let visit = Visit::streaming("unmount-stream", "Tell me a long story").await;
    stream_send(0, START);
    stream_send(0, &delta("Once upon a *time*"));
    visit
        .until("the first words", |v| {
            v.streaming_text().contains("Once upon")
        })
        .await;
    assert!(!stream_aborted(0));
    let shadow = visit.shadow.clone();
    drop(visit); // the widget with it, as a Leptos app's unmount or `unmount()` does
    assert!(
        stream_aborted(0),
        "unmounting aborts the request on its way"
    );
    assert!(
        shadow.query_selector(".cw-panel").unwrap().is_none(),
        "the widget's DOM is gone"
    );
    // Late bytes and the frames after them find nothing to draw into, and say nothing.
    let _ = eval_js("try { window.__cwStreams[0].controller.enqueue(new TextEncoder().encode('x')); } catch (e) {}");
    wasm_bindgen_futures::JsFuture::from(sleep(300))
        .await
        .unwrap();
    let errors = eval_js("window.__cwErrors.join('\\n')")
        .as_string()
        .unwrap_or_default();
    let _ = eval_js("console.error = window.__cwConsoleError; window.__cwErrors = undefined");
    assert_eq!(errors, "", "no error from a widget unmounted mid-stream");
}

#[wasm_bindgen(inline_js = r#"
export function stub_routes(routes) {
  // routes: { "METHOD /path-prefix": [responses...] }; each request takes the next response
  // for the longest matching key (the last one repeats).
  window.__cwRequests = [];
  window.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const text = request.method === 'GET' ? '' : await request.text();
    window.__cwRequests.push({ method: request.method, path: url.pathname + url.search, accept: request.headers.get('accept'), auth: request.headers.get('authorization'), body: text ? JSON.parse(text) : null });
    const key = Object.keys(routes).filter((k) => `${request.method} ${url.pathname}`.startsWith(k)).sort((a, b) => b.length - a.length)[0];
    if (!key) return new Response('not found', { status: 404 });
    const list = routes[key];
    const next = list.length > 1 ? list.shift() : list[0];
    return new Response(next.body, { status: next.status || 200, headers: { 'content-type': next.type || 'application/json' } });
  };
}
"#)]
extern "C" {
    fn stub_routes(routes: JsValue);
}

fn routes(entries: &[(&str, Vec<(&str, String)>)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, answers) in entries {
        let list = js_sys::Array::new();
        for (content_type, body) in answers {
            let item = js_sys::Object::new();
            js_sys::Reflect::set(&item, &"type".into(), &(*content_type).into()).unwrap();
            js_sys::Reflect::set(&item, &"body".into(), &body.as_str().into()).unwrap();
            list.push(&item);
        }
        js_sys::Reflect::set(&object, &(*key).into(), &list).unwrap();
    }
    object.into()
}

/// Clears what an earlier run kept for `bot` (conversation id, transcript, flags).
fn forget_bot(bot: &str) {
    let _ = eval_js(&format!("Object.keys(localStorage).filter((k) => k.startsWith('chat-widget:{bot}:')).forEach((k) => localStorage.removeItem(k))"));
}

fn dialect_config(bot: &str, dialect: &str) -> WidgetConfig {
    forget_bot(bot);
    let (config, _) = WidgetConfig::from_settings(
        [
            ("bot-id", bot),
            ("api-url", "https://api.example.test"),
            ("dialect", dialect),
            ("user-id", "user_7"),
            ("greeting-delay", "off"),
        ],
        "https://x.test",
    )
    .unwrap();
    config
}

const JSON: &str = "application/json";

#[wasm_bindgen_test]
async fn jombot_sends_its_own_shape_and_its_suggested_actions_become_quick_replies() {
    let reply = r#"{
        "response": "Hello! Could you please provide your order number?", "conversation_id": "conv_12345", "bot_id": "bot_1",
        "timestamp": "2025-01-15T10:30:00Z", "confidence": 0.95,
        "suggested_actions": [{ "type": "quick_reply", "text": "Check order status", "payload": "check_order" }]
    }"#;
    stub_routes(routes(&[(
        "POST /v1/chat/message",
        vec![(JSON, reply.to_string())],
    )]));
    let visit = Visit::start(dialect_config("bot_1", "jombot")).await;
    visit.open().await;
    visit.send("Hello, I need help with my order").await;
    visit
        .until("the quick replies", |v| v.find(".cw-actions").is_some())
        .await;
    assert_eq!(
        request_field(0, "body.bot_id").as_string().as_deref(),
        Some("bot_1")
    );
    assert_eq!(
        request_field(0, "body.user_id").as_string().as_deref(),
        Some("user_7")
    );
    assert!(request_field(0, "body.conversation_id").is_undefined());
    visit.get(".cw-action").click();
    visit
        .until("the second request", |_| requests().length() == 2)
        .await;
    assert_eq!(
        request_field(1, "body.message").as_string().as_deref(),
        Some("check_order")
    );
    assert_eq!(
        request_field(1, "body.conversation_id")
            .as_string()
            .as_deref(),
        Some("conv_12345")
    );
}

#[wasm_bindgen_test]
async fn jelytech_restores_the_conversation_and_takes_the_bots_look_where_the_page_set_none() {
    let _ = eval_js("localStorage.setItem('chat-widget:jely:conversation', 'conv_h')");
    let bot = r##"{ "success": true, "bot": { "id": "jely", "name": "Jely", "status": "active",
        "configuration": { "greeting": "Welcome to Jely!", "theme": { "primaryColor": "#e11d48", "position": "bottom-left" } } } }"##;
    let history = r#"{ "success": true, "conversationId": "conv_h", "messages": [
        { "id": "m1", "role": "user", "content": "What are your business hours?", "timestamp": "2025-01-10T14:30:00Z" },
        { "id": "m2", "role": "assistant", "content": "We're open **Monday through Friday**.", "timestamp": "2025-01-10T14:30:05Z" } ] }"#;
    let sent = r#"{ "success": true, "response": "Yes, on Saturdays too.", "conversationId": "conv_h", "messageId": "m4", "timestamp": "2025-01-10T14:31:00Z" }"#;
    stub_routes(routes(&[
        ("GET /v1/bots/jely", vec![(JSON, bot.to_string())]),
        (
            "GET /v1/chat/history/conv_h",
            vec![(JSON, history.to_string())],
        ),
        ("POST /v1/chat/send", vec![(JSON, sent.to_string())]),
    ]));
    let config = dialect_config("jely", "jelytech");
    let _ = eval_js("localStorage.setItem('chat-widget:jely:conversation', 'conv_h')");
    let visit = Visit::start(config).await;
    visit
        .until("the restored conversation", |v| {
            v.all(".cw-msg--visitor").len() == 1 && v.bot_bubbles().len() == 1
        })
        .await;
    assert!(visit
        .text(".cw-msg--visitor")
        .contains("What are your business hours?"));
    assert!(visit.bot_bubbles()[0].contains("<strong>Monday through Friday</strong>"));
    let restored: Vec<String> = visit
        .all(".cw-time")
        .iter()
        .filter_map(|t| t.get_attribute("datetime"))
        .collect();
    assert_eq!(
        restored,
        vec!["2025-01-10T14:30:00.000Z", "2025-01-10T14:30:05.000Z"],
        "restored messages keep the server's times"
    );
    visit
        .until("the bot's colour", |v| {
            let style = web_sys::window()
                .unwrap()
                .get_computed_style(&v.get(".cw-launcher"))
                .unwrap()
                .unwrap();
            style.get_property_value("background-color").unwrap() == "rgb(225, 29, 72)"
        })
        .await;
    let rect = visit.get(".cw-launcher").get_bounding_client_rect();
    assert!(rect.left() < 200.0, "the bot's position: bottom-left");
    visit.open().await;
    assert!(visit.text(".cw-msg--greeting").contains("Welcome to Jely!"));
    visit.send("Are you open on Saturday?").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 2)
        .await;
    let send = requests()
        .iter()
        .position(|r| {
            js_sys::Reflect::get(&r, &"method".into())
                .unwrap()
                .as_string()
                .as_deref()
                == Some("POST")
        })
        .unwrap() as u32;
    assert_eq!(
        request_field(send, "body.botId").as_string().as_deref(),
        Some("jely")
    );
    assert_eq!(
        request_field(send, "body.conversationId")
            .as_string()
            .as_deref(),
        Some("conv_h")
    );
    assert_eq!(
        request_field(send, "body.userId").as_string().as_deref(),
        Some("user_7")
    );
}

#[wasm_bindgen_test]
async fn a_conversation_the_server_pages_is_read_back_to_its_first_message() {
    let page = |from: usize, to: usize, more: bool| {
        let messages: Vec<Value> = (from..to)
            .map(|i| {
                let role = if i % 2 == 0 { "user" } else { "assistant" };
                object()
                    .with("id", format!("m{i}"))
                    .with("role", role)
                    .with("content", format!("message number {i}"))
            })
            .collect();
        let mut page = object()
            .with("success", true)
            .with("conversationId", "conv_paged")
            .with("messages", messages);
        if more {
            page = page.with("hasMore", true);
        }
        (JSON, page.to_string())
    };
    stub_routes(routes(&[
        (
            "GET /v1/bots/jely4",
            vec![(
                JSON,
                r#"{ "success": false, "error": "not found", "code": "CHATBOT_NOT_FOUND" }"#
                    .to_string(),
            )],
        ),
        (
            "GET /v1/chat/history/conv_paged",
            vec![
                page(100, 120, true),
                page(40, 100, true),
                page(0, 40, false),
            ],
        ),
    ]));
    let config = dialect_config("jely4", "jelytech")
        .primary_color(Color::parse_hex("#1a1a2e").unwrap())
        .position(chat_widget::Position::BottomRight);
    let _ = eval_js("localStorage.setItem('chat-widget:jely4:conversation', 'conv_paged')");
    let visit = Visit::start(config).await;
    let shown = |v: &Visit| v.all(".cw-msg:not(.cw-msg--greeting)").len();
    visit.until("the latest fifty", |v| shown(v) == 50).await;
    let history: Vec<String> = paths()
        .into_iter()
        .filter(|path| path.starts_with("/v1/chat/history/"))
        .collect();
    assert_eq!(
        history,
        [
            "/v1/chat/history/conv_paged",
            "/v1/chat/history/conv_paged?before=m100&limit=200",
            "/v1/chat/history/conv_paged?before=m40&limit=200",
        ],
        "the latest page, then the older ones until the server says there are no more"
    );
    visit.open().await;
    visit.get(".cw-earlier").click();
    visit.until("fifty more", |v| shown(v) == 100).await;
    visit.get(".cw-earlier").click();
    visit.until("all of them", |v| shown(v) == 120).await;
    let first = visit
        .all(".cw-msg:not(.cw-msg--greeting) .cw-bubble")
        .first()
        .and_then(|m| m.text_content())
        .unwrap_or_default();
    assert!(
        first.contains("message number 0"),
        "the conversation's first message is there, in order: {first}"
    );
    let last = visit
        .all(".cw-msg:not(.cw-msg--greeting) .cw-bubble")
        .last()
        .and_then(|m| m.text_content())
        .unwrap_or_default();
    assert!(
        last.contains("message number 119"),
        "the newest is last: {last}"
    );
}

#[wasm_bindgen_test]
async fn a_long_restored_conversation_shows_its_latest_fifty_then_the_rest_on_demand() {
    let messages: Vec<Value> = (0..120)
        .map(|i| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            object()
                .with("id", format!("m{i}"))
                .with("role", role)
                .with("content", format!("message number {i}"))
        })
        .collect();
    let history = object()
        .with("success", true)
        .with("conversationId", "conv_long")
        .with("messages", messages);
    stub_routes(routes(&[
        (
            "GET /v1/bots/jely3",
            vec![(
                JSON,
                r#"{ "success": false, "error": "not found", "code": "CHATBOT_NOT_FOUND" }"#
                    .to_string(),
            )],
        ),
        (
            "GET /v1/chat/history/conv_long",
            vec![(JSON, history.to_string())],
        ),
    ]));
    let config = dialect_config("jely3", "jelytech")
        .primary_color(Color::parse_hex("#1a1a2e").unwrap())
        .position(chat_widget::Position::BottomRight);
    let _ = eval_js("localStorage.setItem('chat-widget:jely3:conversation', 'conv_long')");
    let visit = Visit::start(config).await;
    let shown = |v: &Visit| v.all(".cw-msg:not(.cw-msg--greeting)").len();
    visit.until("the latest fifty", |v| shown(v) == 50).await;
    visit.open().await;
    let texts: Vec<String> = visit
        .all(".cw-msg:not(.cw-msg--greeting) .cw-bubble")
        .iter()
        .map(|m| m.text_content().unwrap_or_default())
        .collect();
    assert!(
        texts[0].contains("message number 70"),
        "the oldest shown is the 71st: {}",
        texts[0]
    );
    assert!(
        texts[49].contains("message number 119"),
        "the newest is last"
    );
    visit.get(".cw-earlier").click();
    visit.until("fifty more", |v| shown(v) == 100).await;
    visit.get(".cw-earlier").click();
    visit.until("all of them", |v| shown(v) == 120).await;
    visit.settle().await;
    assert!(
        visit.all(".cw-earlier").is_empty(),
        "nothing left to show: the button is gone"
    );
}

#[wasm_bindgen_test]
async fn jelytech_page_settings_win_over_the_bots_configuration() {
    let bot = r##"{ "success": true, "bot": { "id": "jely2", "name": "Jely", "status": "active",
        "configuration": { "greeting": "From the bot", "theme": { "primaryColor": "#e11d48", "position": "bottom-left" } } } }"##;
    stub_routes(routes(&[(
        "GET /v1/bots/jely2",
        vec![(JSON, bot.to_string())],
    )]));
    let config = dialect_config("jely2", "jelytech")
        .greeting("From the page")
        .primary_color(Color::parse_hex("#1a1a2e").unwrap());
    let visit = Visit::start(config).await;
    visit
        .until("the bot configuration request", |_| {
            requests().length() == 1
        })
        .await;
    visit.settle().await;
    visit.open().await;
    assert!(visit.text(".cw-msg--greeting").contains("From the page"));
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&visit.get(".cw-launcher"))
        .unwrap()
        .unwrap();
    assert_eq!(
        style.get_property_value("background-color").unwrap(),
        "rgb(26, 26, 46)"
    );
    assert!(
        visit.get(".cw-launcher").get_bounding_client_rect().left() < 200.0,
        "position was not set by the page: the bot's wins"
    );
}

#[wasm_bindgen_test]
async fn chataibot_starts_a_conversation_then_listens_for_the_bots_message() {
    let started = r#"{ "ok": true, "conversation": { "id": "c_1", "created_at": "2025-02-10 20:21:03.913000" }, "message_id": "m_1" }"#;
    let event = format!(
        "event: message\nid: m_2\ndata: {}\n\n",
        r#"{ "id": "m_2", "from": "BOT", "body": "Hi! How can I **help**?" }"#
    );
    let posted = r#"{ "ok": true, "message_id": "m_3" }"#;
    let event2 = format!(
        "event: message\nid: m_4\ndata: {}\n\n",
        r#"{ "id": "m_4", "from": "BOT", "body": "Here you go." }"#
    );
    stub_routes(routes(&[
        (
            "POST /api/v1/conversations",
            vec![(JSON, started.to_string())],
        ),
        (
            "GET /api/v1/conversation/c_1/messages",
            vec![("text/event-stream", event), ("text/event-stream", event2)],
        ),
        (
            "POST /api/v1/conversation/c_1/messages",
            vec![(JSON, posted.to_string())],
        ),
    ]));
    let visit = Visit::start(dialect_config("chatai", "chataibot")).await;
    visit.open().await;
    visit.send("Hello").await;
    visit
        .until("the bot's message", |v| v.bot_bubbles().len() == 1)
        .await;
    assert!(visit.bot_bubbles()[0].contains("<strong>help</strong>"));
    assert_eq!(
        request_field(0, "body.channel").as_string().as_deref(),
        Some("API")
    );
    assert_eq!(
        request_field(0, "body.message.data.body")
            .as_string()
            .as_deref(),
        Some("Hello")
    );
    assert_eq!(
        request_field(0, "body.bot_key").as_string().as_deref(),
        Some("chatai")
    );
    let visitor = request_field(0, "body.from.user_external_id")
        .as_string()
        .unwrap();
    assert!(
        visitor.starts_with("v_"),
        "a generated visitor id: {visitor}"
    );
    assert!(request_field(0, "body.variables.system.timezone")
        .as_string()
        .is_some_and(|tz| !tz.is_empty()));
    assert!(request_field(0, "body.variables.system.browserLanguage")
        .as_string()
        .is_some());
    assert_eq!(
        request_field(1, "path").as_string().as_deref(),
        Some("/api/v1/conversation/c_1/messages?after=m_1")
    );
    assert_eq!(
        request_field(1, "accept").as_string().as_deref(),
        Some("text/event-stream")
    );
    assert_eq!(
        eval_js("localStorage.getItem('chat-widget:chatai:visitor')")
            .as_string()
            .as_deref(),
        Some(visitor.as_str()),
        "the visitor id is kept"
    );

    visit.send("More please").await;
    visit
        .until("the second message", |v| v.bot_bubbles().len() == 2)
        .await;
    assert_eq!(
        request_field(2, "path").as_string().as_deref(),
        Some("/api/v1/conversation/c_1/messages")
    );
    assert_eq!(
        request_field(2, "body.message.data.body")
            .as_string()
            .as_deref(),
        Some("More please")
    );
    assert_eq!(
        request_field(3, "path").as_string().as_deref(),
        Some("/api/v1/conversation/c_1/messages?after=m_3")
    );
}

#[wasm_bindgen_test]
async fn chataibot_tries_the_wait_for_the_reply_again_without_posting_the_message_twice() {
    let started = r#"{ "ok": true, "conversation": { "id": "c_9" }, "message_id": "m_1" }"#;
    let event = format!(
        "event: message\nid: m_2\ndata: {}\n\n",
        r#"{ "id": "m_2", "from": "BOT", "body": "It ships today." }"#
    );
    let posted = r#"{ "ok": true, "message_id": "m_3" }"#;
    let path = "GET /api/v1/conversation/c_9/messages";
    let stub = routes(&[
        (
            "POST /api/v1/conversations",
            vec![(JSON, started.to_string())],
        ),
        (
            path,
            vec![
                (JSON, r#"{ "ok": false, "error": "busy" }"#.to_string()),
                ("text/event-stream", event),
            ],
        ),
        (
            "POST /api/v1/conversation/c_9/messages",
            vec![(JSON, posted.to_string())],
        ),
    ]);
    // The message is stored, then the wait for the bot's answer fails with a 503 (retried by
    // itself after about a second).
    let failing = js_sys::Reflect::get(
        &js_sys::Reflect::get(&stub, &path.into()).unwrap(),
        &0.into(),
    )
    .unwrap();
    js_sys::Reflect::set(&failing, &"status".into(), &503.into()).unwrap();
    stub_routes(stub);
    let visit = Visit::start(dialect_config("retry-chatai", "chataibot")).await;
    visit.open().await;
    visit.send("Where is my order?").await;
    visit
        .until("the bot's answer after the retry", |v| {
            v.bot_bubbles().len() == 1
        })
        .await;
    assert!(visit.bot_bubbles()[0].contains("It ships today."));
    let paths: Vec<String> = requests()
        .iter()
        .map(|r| {
            let field = |name: &str| {
                js_sys::Reflect::get(&r, &name.into())
                    .unwrap()
                    .as_string()
                    .unwrap_or_default()
            };
            format!("{} {}", field("method"), field("path"))
        })
        .collect();
    assert_eq!(
        paths,
        [
            "POST /api/v1/conversations",
            "GET /api/v1/conversation/c_9/messages?after=m_1",
            "GET /api/v1/conversation/c_9/messages?after=m_1",
        ],
        "the message is posted once; the retry only waits for its answer again"
    );
    assert_eq!(
        visit.all(".cw-msg--visitor").len(),
        1,
        "one visitor message on screen"
    );
    // The conversation the failed attempt started goes on.
    visit.send("And the returns?").await;
    visit
        .until("the next message", |_| requests().length() >= 4)
        .await;
    assert_eq!(
        request_field(3, "path").as_string().as_deref(),
        Some("/api/v1/conversation/c_9/messages")
    );
}

#[wasm_bindgen_test]
async fn openai_sends_the_whole_history_and_a_reload_shows_it_again() {
    let completion = |text: &str| {
        let message = object().with("role", "assistant").with("content", text);
        let choice = object()
            .with("index", 0_u64)
            .with("message", message)
            .with("finish_reason", "stop");
        let completion = object()
            .with("id", "chatcmpl-1")
            .with("object", "chat.completion");
        completion.with("choices", vec![choice]).to_string()
    };
    let chunks = "data: {\"choices\":[{\"delta\":{\"content\":\"Second \"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"answer.\"}}]}\n\ndata: [DONE]\n\n".to_owned();
    stub_routes(routes(&[(
        "POST /v1/chat/completions",
        vec![
            (JSON, completion("First answer.")),
            ("text/event-stream", chunks),
        ],
    )]));
    let config = dialect_config("gpt", "openai");
    let visit = Visit::start(config.clone()).await;
    visit.open().await;
    visit.send("First question").await;
    visit
        .until("the first answer", |v| v.bot_bubbles().len() == 1)
        .await;
    visit.send("Second question").await;
    visit
        .until("the second answer", |v| v.bot_bubbles().len() == 2)
        .await;
    assert_eq!(
        request_field(0, "body.model").as_string().as_deref(),
        Some("gpt")
    );
    let messages = js_sys::JSON::stringify(&request_field(1, "body.messages"))
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(
        messages,
        r#"[{"role":"user","content":"First question"},{"role":"assistant","content":"First answer."},{"role":"user","content":"Second question"}]"#
    );
    assert!(visit.bot_bubbles()[1].contains("Second answer."));
    drop(visit);

    // A reload: the transcript is shown again and goes with the next question.
    let visit = Visit::start(config).await;
    visit.open().await;
    assert_eq!(visit.all(".cw-msg--visitor").len(), 2);
    assert_eq!(visit.bot_bubbles().len(), 2);
}

#[wasm_bindgen_test]
async fn new_conversation_asks_first_then_starts_over() {
    stub_fetch(answers(vec![
        reply("Hi!", "conv_n"),
        reply("Fresh start.", "conv_n2"),
    ]));
    let visit = Visit::start(config("new-conv")).await;
    visit.open().await;
    assert!(
        visit.get(".cw-new-conversation").has_attribute("disabled"),
        "nothing to clear yet"
    );
    visit.send("hello").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    visit.get(".cw-new-conversation").click();
    visit.settle().await;
    assert!(visit
        .text(".cw-confirm")
        .contains("Start a new conversation?"));
    visit
        .until("focus on the confirmation", |v| {
            v.focused_class() == "cw-confirm-yes"
        })
        .await;
    visit.get(".cw-confirm-no").click();
    visit.settle().await;
    assert!(visit.find(".cw-confirm").is_none());
    assert_eq!(
        visit.bot_bubbles().len(),
        1,
        "cancel keeps the conversation"
    );
    visit.get(".cw-new-conversation").click();
    visit.settle().await;
    visit.get(".cw-confirm-yes").click();
    visit.settle().await;
    assert!(
        visit.all(".cw-msg--visitor").is_empty(),
        "the list is cleared"
    );
    assert!(
        eval_js("localStorage.getItem('chat-widget:new-conv:conversation')").is_null(),
        "the stored id is forgotten"
    );
    visit.send("again").await;
    visit
        .until("the new reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert!(
        request_field(1, "body.conversationId").is_undefined(),
        "a new conversation"
    );
}

#[wasm_bindgen_test]
async fn arabic_reads_right_to_left_with_the_launcher_mirrored_and_mixed_text_isolated() {
    stub_fetch(answers(vec![reply(
        "Order **ACM-123** ships today.",
        "conv_ar",
    )]));
    let config = config("rtl").locale(chat_widget::text::Locale::Ar);
    let visit = Visit::start(config).await;
    let root = visit.get(".cw-root");
    assert_eq!(root.get_attribute("dir").as_deref(), Some("rtl"));
    assert_eq!(root.get_attribute("lang").as_deref(), Some("ar"));
    assert_eq!(
        visit
            .get(".cw-launcher")
            .get_attribute("aria-label")
            .as_deref(),
        Some("فتح المحادثة")
    );
    let width = web_sys::window()
        .unwrap()
        .inner_width()
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        visit.get(".cw-launcher").get_bounding_client_rect().left() < width / 2.0,
        "mirrored to bottom-left"
    );
    visit.open().await;
    assert_eq!(
        visit
            .get(".cw-panel")
            .get_attribute("aria-label")
            .as_deref(),
        Some("محادثة مع Acme")
    );
    assert_eq!(
        visit
            .get(".cw-input")
            .get_attribute("placeholder")
            .as_deref(),
        Some("اكتب رسالة…")
    );
    visit.send("أين طلبي ACM-123؟").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    for bubble in visit.all(".cw-bubble") {
        let dir = bubble.get_attribute("dir");
        assert!(
            matches!(dir.as_deref(), Some("auto" | "ltr")),
            "each message finds its own direction, whatever the widget's: {dir:?}"
        );
    }
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&visit.get(".cw-msg--visitor .cw-bubble"))
        .unwrap()
        .unwrap();
    assert_eq!(
        style.get_property_value("direction").unwrap(),
        "rtl",
        "the Arabic message reads right to left"
    );
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&visit.get(".cw-msg--bot:not(.cw-msg--greeting) .cw-bubble"))
        .unwrap()
        .unwrap();
    assert_eq!(
        style.get_property_value("direction").unwrap(),
        "ltr",
        "the English reply reads left to right"
    );
}

#[wasm_bindgen_test]
async fn the_owners_corner_wins_over_mirroring_and_other_languages_speak_their_own() {
    let config = config("de")
        .locale(chat_widget::text::Locale::He)
        .position(chat_widget::Position::BottomRight);
    let visit = Visit::start(config).await;
    let width = web_sys::window()
        .unwrap()
        .inner_width()
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        visit.get(".cw-launcher").get_bounding_client_rect().left() > width / 2.0,
        "the owner's bottom-right stays"
    );
    drop(visit);
    let visit = Visit::start(config_for_locale("de", chat_widget::text::Locale::De)).await;
    assert_eq!(
        visit
            .get(".cw-launcher")
            .get_attribute("aria-label")
            .as_deref(),
        Some("Chat öffnen")
    );
    visit.open().await;
    assert_eq!(
        visit.get(".cw-send").get_attribute("aria-label").as_deref(),
        Some("Nachricht senden")
    );
}

fn config_for_locale(bot: &str, locale: chat_widget::text::Locale) -> WidgetConfig {
    config(bot).locale(locale)
}

#[wasm_bindgen_test]
async fn screen_readers_hear_a_streamed_reply_once_when_it_is_complete_not_per_chunk() {
    stub_stream();
    let visit = Visit::start(config("announce")).await;
    visit.open().await;
    assert_eq!(
        visit
            .get(".cw-messages")
            .get_attribute("aria-live")
            .as_deref(),
        Some("off"),
        "the log itself is not read out live"
    );
    let announcer = visit.get(".cw-messages-wrap [role=status][aria-live=polite]");
    visit.send("hello").await;
    visit.until("the request", |_| stream_count() == 1).await;
    stream_send(0, START);
    for word in ["Your ", "order ", "**ships** ", "today."] {
        stream_send(0, &delta(word));
        visit.settle().await;
        assert_eq!(
            announcer.text_content().unwrap_or_default(),
            "",
            "nothing is announced while it streams"
        );
    }
    stream_send(0, &done("Your order **ships** today."));
    stream_close(0);
    visit
        .until("the announcement", |_| {
            !announcer.text_content().unwrap_or_default().is_empty()
        })
        .await;
    assert_eq!(
        announcer.text_content().unwrap(),
        "Bot: Your order ships today."
    );
}

#[wasm_bindgen_test]
async fn message_times_are_written_by_the_browsers_intl_in_the_widgets_language() {
    for (locale, tag) in [
        (chat_widget::text::Locale::De, "de"),
        (chat_widget::text::Locale::En, "en"),
        (chat_widget::text::Locale::Ar, "ar"),
    ] {
        stub_fetch(answers(vec![reply("Gern.", "conv_t")]));
        let visit = Visit::start(config(&format!("time-{tag}")).locale(locale)).await;
        visit.open().await;
        visit.send("Hallo").await;
        visit
            .until("the reply", |v| v.bot_bubbles().len() == 1)
            .await;
        let times = visit.all(".cw-time");
        assert_eq!(
            times.len(),
            2,
            "one under the visitor's message, one under the reply"
        );
        for time in times {
            let iso = time.get_attribute("datetime").unwrap();
            let expected = eval_js(&format!(
                "new Intl.DateTimeFormat('{tag}', {{ hour: 'numeric', minute: '2-digit' }}).format(new Date('{iso}'))"
            ));
            assert_eq!(time.text_content(), expected.as_string(), "{tag}");
        }
    }
}

fn parse_rgb(css: &str) -> Color {
    let numbers: Vec<u8> = css
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    Color {
        r: numbers[0],
        g: numbers[1],
        b: numbers[2],
    }
}

#[wasm_bindgen_test]
async fn controls_stay_visible_and_quick_replies_readable_for_a_very_light_brand() {
    let body = r#"{ "success": true, "data": { "response": "Pick one", "conversationId": "c",
        "suggested_actions": [{ "type": "quick_reply", "text": "Yes" }] } }"#;
    stub_fetch(answers(vec![response(200, body)]));
    let visit =
        Visit::start(config("light-brand").primary_color(Color::parse_hex("#ffeb3b").unwrap()))
            .await;
    visit.open().await;
    visit.send("hi").await;
    visit
        .until("the quick reply", |v| v.find(".cw-action").is_some())
        .await;
    let window = web_sys::window().unwrap();
    let action = window
        .get_computed_style(&visit.get(".cw-action"))
        .unwrap()
        .unwrap();
    let ink = parse_rgb(&action.get_property_value("color").unwrap());
    assert!(
        ink.contrast_ratio(Color::WHITE) >= 4.5,
        "quick reply text {} on white",
        ink.to_hex()
    );
    let input = window
        .get_computed_style(&visit.get(".cw-input"))
        .unwrap()
        .unwrap();
    let border = parse_rgb(&input.get_property_value("border-top-color").unwrap());
    assert!(
        border.contrast_ratio(Color::WHITE) >= 3.0,
        "the input's edge {} is visible (3:1)",
        border.to_hex()
    );
}

#[wasm_bindgen_test]
async fn an_owner_can_make_the_panel_modal_on_desktop_too() {
    let (config, _) =
        WidgetConfig::from_settings([("bot-id", "modal"), ("modal", "true")], "https://x.test")
            .unwrap();
    let visit = Visit::start(config).await;
    visit.open().await;
    assert_eq!(
        visit
            .get(".cw-panel")
            .get_attribute("aria-modal")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        eval_js("getComputedStyle(document.documentElement).overflow")
            .as_string()
            .as_deref(),
        Some("hidden")
    );
    visit.press(".cw-input", "Escape", false);
    visit.settle().await;
    assert_ne!(
        eval_js("getComputedStyle(document.documentElement).overflow")
            .as_string()
            .as_deref(),
        Some("hidden"),
        "released on close"
    );
}

/// What visitor A's session leaves behind, for one dialect: every answer the fake server gives
/// A, then B (`conv_alpha…` for A, `conv_beta` for B), and where the conversation id shows.
struct LogoutCase {
    dialect: &'static str,
    routes: Vec<(&'static str, Vec<(&'static str, String)>)>,
}

fn logout_cases() -> Vec<LogoutCase> {
    let chatbots = |text: &str, conversation: &str| {
        let data = object()
            .with("response", text)
            .with("conversationId", conversation)
            .with("messageId", "m1");
        object()
            .with("success", true)
            .with("data", data)
            .to_string()
    };
    let jombot = |text: &str, conversation: &str| {
        object()
            .with("response", text)
            .with("conversation_id", conversation)
            .with("bot_id", "b")
            .to_string()
    };
    let jelytech = |text: &str, conversation: &str| {
        object()
            .with("success", true)
            .with("response", text)
            .with("conversationId", conversation)
            .with("messageId", "m4")
            .to_string()
    };
    let openai = |text: &str| {
        let message = object().with("role", "assistant").with("content", text);
        let choice = object()
            .with("index", 0_u64)
            .with("message", message)
            .with("finish_reason", "stop");
        object()
            .with("id", "chatcmpl-1")
            .with("choices", vec![choice])
            .to_string()
    };
    let chataibot_started = |conversation: &str| {
        format!(
            r#"{{ "ok": true, "conversation": {{ "id": "{conversation}" }}, "message_id": "m_1" }}"#
        )
    };
    let chataibot_event = |text: &str| {
        format!(
            "event: message\nid: m_2\ndata: {}\n\n",
            object()
                .with("id", "m_2")
                .with("from", "BOT")
                .with("body", text)
        )
    };
    vec![
        LogoutCase {
            dialect: "chatbots",
            routes: vec![(
                "POST /api/v1/chatbots/",
                vec![
                    (JSON, chatbots("Alpha answer", "conv_alpha")),
                    (JSON, chatbots("Alpha answer again", "conv_alpha")),
                    (JSON, chatbots("Beta answer", "conv_beta")),
                ],
            )],
        },
        LogoutCase {
            dialect: "jombot",
            routes: vec![(
                "POST /v1/chat/message",
                vec![
                    (JSON, jombot("Alpha answer", "conv_alpha")),
                    (JSON, jombot("Alpha answer again", "conv_alpha")),
                    (JSON, jombot("Beta answer", "conv_beta")),
                ],
            )],
        },
        LogoutCase {
            dialect: "jelytech",
            routes: vec![(
                "POST /v1/chat/send",
                vec![
                    (JSON, jelytech("Alpha answer", "conv_alpha")),
                    (JSON, jelytech("Alpha answer again", "conv_alpha")),
                    (JSON, jelytech("Beta answer", "conv_beta")),
                ],
            )],
        },
        LogoutCase {
            dialect: "chataibot",
            routes: vec![
                (
                    "POST /api/v1/conversations",
                    vec![
                        (JSON, chataibot_started("conv_alpha")),
                        (JSON, chataibot_started("conv_beta")),
                    ],
                ),
                (
                    "GET /api/v1/conversation/conv_alpha/",
                    vec![("text/event-stream", chataibot_event("Alpha answer"))],
                ),
                (
                    "POST /api/v1/conversation/conv_alpha/",
                    vec![(JSON, r#"{ "ok": true, "message_id": "m_3" }"#.to_owned())],
                ),
                (
                    "GET /api/v1/conversation/conv_beta/",
                    vec![("text/event-stream", chataibot_event("Beta answer"))],
                ),
            ],
        },
        LogoutCase {
            dialect: "openai",
            routes: vec![(
                "POST /v1/chat/completions",
                vec![
                    (JSON, openai("Alpha answer")),
                    (JSON, openai("Alpha answer again")),
                    (JSON, openai("Beta answer")),
                ],
            )],
        },
    ]
}

/// Everything in `localStorage`, keys and values, as one text.
fn all_storage() -> String {
    eval_js("JSON.stringify(Object.entries(localStorage))")
        .as_string()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn logout_leaves_nothing_of_the_previous_visitor_in_the_widget_storage_or_next_requests() {
    for case in logout_cases() {
        let dialect = case.dialect;
        stub_routes(routes(&case.routes));
        let bot = format!("logout-{dialect}");
        let visit = Visit::start(dialect_config(&bot, dialect)).await;
        let widget = &visit._widget;
        widget
            .identify(&eval_js(
                "({ userId: 'alpha_user', name: 'Alpha Person', email: 'alpha@example.test' })",
            ))
            .unwrap();
        widget
            .set_context(&eval_js("({ plan: 'alpha-plan' })"))
            .unwrap();
        // Visitor A asks, closes the panel before the answer: the launcher counts it as unread.
        let _ = widget.send("Alpha question");
        widget.close();
        visit
            .until(&format!("{dialect}: A's answer, unread"), |v| {
                v.find(".cw-badge").is_some()
            })
            .await;
        visit.open().await;
        visit
            .until(&format!("{dialect}: A's answer"), |v| {
                v.bot_bubbles().iter().any(|b| b.contains("Alpha answer"))
            })
            .await;
        visit
            .until(&format!("{dialect}: the announcement"), |v| {
                v.text(".cw-messages-wrap [role=status][aria-live=polite]")
                    .contains("Alpha answer")
            })
            .await;
        let visitor_id = if dialect == "chataibot" {
            request_field(0, "body.from.user_external_id")
                .as_string()
                .unwrap()
        } else {
            "alpha".to_owned()
        };
        visit.close_panel().await;
        let _ = widget.send("Alpha second question");
        widget.close();
        visit
            .until(&format!("{dialect}: unread badge"), |v| {
                v.find(".cw-badge").is_some()
            })
            .await;
        visit.open().await;
        visit.type_text("Alpha draft");
        visit.settle().await;
        assert!(
            all_storage().contains(&format!("chat-widget:{bot}:")),
            "{dialect}: A's session was kept in storage"
        );

        widget.logout();
        visit.settle().await;
        let html = visit.shadow.inner_html();
        let lower = html.to_lowercase();
        assert!(
            !lower.contains("alpha"),
            "{dialect}: A's words are gone from the widget: {html}"
        );
        assert!(
            !html.contains(&visitor_id),
            "{dialect}: A's visitor id is gone from the widget"
        );
        let input: HtmlTextAreaElement = visit.get(".cw-input").unchecked_into();
        assert_eq!(input.value(), "", "{dialect}: A's draft is gone");
        let stored = all_storage();
        assert!(
            !stored.contains(&format!("chat-widget:{bot}:")),
            "{dialect}: nothing stored for the bot: {stored}"
        );
        visit.close_panel().await;
        assert!(
            visit.find(".cw-badge").is_none(),
            "{dialect}: no unread badge for B"
        );
        assert_eq!(
            visit.text(".cw-unread-status"),
            "",
            "{dialect}: the unread status is empty"
        );

        // Visitor B: a fresh conversation, nothing of A's in the request.
        let before = requests().length();
        let _ = widget.send("Beta question");
        visit
            .until(&format!("{dialect}: B's answer"), |v| {
                v.bot_bubbles().iter().any(|b| b.contains("Beta answer"))
            })
            .await;
        let sent = js_sys::JSON::stringify(&requests().slice(before, requests().length()))
            .unwrap()
            .as_string()
            .unwrap();
        assert!(
            !sent.to_lowercase().contains("alpha"),
            "{dialect}: nothing of A's in B's requests: {sent}"
        );
        assert!(
            !sent.contains(&visitor_id),
            "{dialect}: B gets a visitor id of their own: {sent}"
        );
        assert!(sent.contains("Beta question"), "{dialect}: {sent}");
        let html = visit.shadow.inner_html().to_lowercase();
        assert!(
            !html.contains("alpha"),
            "{dialect}: A's words do not come back"
        );
        assert!(
            !all_storage().to_lowercase().contains("alpha"),
            "{dialect}: storage holds B's conversation only"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What a reload shows, in every dialect (issue 20).

fn stored(key: &str) -> Option<String> {
    eval_js(&format!("localStorage.getItem('{key}')")).as_string()
}

fn times(visit: &Visit) -> Vec<String> {
    visit
        .all(".cw-msg:not(.cw-msg--greeting) .cw-time")
        .iter()
        .filter_map(|t| t.get_attribute("datetime"))
        .collect()
}

fn action_labels(visit: &Visit) -> Vec<String> {
    visit
        .all(".cw-action")
        .iter()
        .map(|a| a.text_content().unwrap_or_default())
        .collect()
}

fn paths() -> Vec<String> {
    requests()
        .iter()
        .map(|r| {
            js_sys::Reflect::get(&r, &"path".into())
                .unwrap()
                .as_string()
                .unwrap_or_default()
        })
        .collect()
}

/// A visitor talks (a typed question, then a quick reply), reloads, and sees the same
/// conversation: same texts, same times, Markdown rendered, the quick replies only under the
/// last bot message; the conversation then goes on. For the dialects whose server keeps no
/// history, so the widget keeps a transcript.
async fn reload_journey(
    dialect: &str,
    route: &str,
    first: String,
    second: String,
    third: String,
    conversation_field: &str,
) {
    let bot = format!("reload-{dialect}");
    stub_routes(routes(&[(
        route,
        vec![(JSON, first), (JSON, second), (JSON, third)],
    )]));
    let config = dialect_config(&bot, dialect);
    let visit = Visit::start(config.clone()).await;
    visit.open().await;
    visit.send("Where is my order?").await;
    visit
        .until("the first reply's quick replies", |v| {
            v.find(".cw-action").is_some()
        })
        .await;
    visit.get(".cw-action").click();
    visit
        .until("the second reply", |v| v.bot_bubbles().len() == 2)
        .await;
    visit
        .until("its quick replies", |v| {
            action_labels(v) == ["Talk to a human", "Done"]
        })
        .await;
    let before_times = times(&visit);
    let before_bubbles = visit.bot_bubbles();
    assert_eq!(before_times.len(), 4);
    assert!(
        stored(&format!("chat-widget:{bot}:transcript")).is_some(),
        "{dialect}: the transcript is kept"
    );
    drop(visit);

    let visit = Visit::start(config.clone()).await;
    visit
        .until("the restored conversation", |v| {
            v.all(".cw-msg--visitor").len() == 2 && v.bot_bubbles().len() == 2
        })
        .await;
    visit.open().await;
    let visitor: Vec<String> = visit
        .all(".cw-msg--visitor .cw-bubble")
        .iter()
        .map(|m| m.text_content().unwrap_or_default())
        .collect();
    assert_eq!(
        visitor,
        ["Where is my order?", "Check order status"],
        "{dialect}: the quick reply shows as its label"
    );
    assert_eq!(
        visit.bot_bubbles(),
        before_bubbles,
        "{dialect}: the replies look as they did, Markdown rendered"
    );
    assert!(
        visit.bot_bubbles()[1].contains("<strong>ACM-123</strong>"),
        "{dialect}: {}",
        visit.bot_bubbles()[1]
    );
    assert_eq!(
        times(&visit),
        before_times,
        "{dialect}: restored messages keep their times"
    );
    assert_eq!(
        visit.all(".cw-actions").len(),
        1,
        "{dialect}: quick replies under one message only"
    );
    assert_eq!(
        action_labels(&visit),
        ["Talk to a human", "Done"],
        "{dialect}: the last bot message's"
    );
    assert!(
        visit.find(".cw-alert").is_none() && visit.find(".cw-msg--failed").is_none(),
        "{dialect}: nothing looks wrong"
    );

    // The conversation goes on, in the same conversation.
    visit.get(".cw-action").click();
    visit
        .until("the third reply", |v| v.bot_bubbles().len() == 3)
        .await;
    assert_eq!(
        request_field(2, &format!("body.{conversation_field}"))
            .as_string()
            .as_deref(),
        Some("conv_r1"),
        "{dialect}"
    );
    assert_eq!(
        request_field(2, "body.message").as_string().as_deref(),
        Some("human"),
        "{dialect}: the restored quick reply sends its payload"
    );
    drop(visit);
    let visit = Visit::start(config).await;
    visit
        .until("the longer conversation", |v| v.bot_bubbles().len() == 3)
        .await;
    assert!(
        visit.all(".cw-actions").is_empty(),
        "{dialect}: the last message has no quick replies, so none show"
    );
}

fn chatbots_reply(text: &str, actions: &str) -> String {
    format!(
        r#"{{"success":true,"data":{{"response":{},"conversationId":"conv_r1","messageId":"m1","suggested_actions":[{actions}]}}}}"#,
        Value::from(text)
    )
}

fn jombot_reply(text: &str, actions: &str) -> String {
    format!(
        r#"{{"response":{},"conversation_id":"conv_r1","bot_id":"b","timestamp":"2025-01-15T10:30:00Z","confidence":0.9,"suggested_actions":[{actions}]}}"#,
        Value::from(text)
    )
}

const FIRST_ACTIONS: &str =
    r#"{"type":"quick_reply","text":"Check order status","payload":"check_order"}"#;
const SECOND_ACTIONS: &str = r#"{"type":"quick_reply","text":"Talk to a human","payload":"human"},{"type":"quick_reply","text":"Done"}"#;

#[wasm_bindgen_test]
async fn chatbots_shows_the_conversation_again_after_a_reload() {
    let replies = [
        chatbots_reply("I can help with that.", FIRST_ACTIONS),
        chatbots_reply("Order **ACM-123** ships *today*.", SECOND_ACTIONS),
        chatbots_reply("A human will call.", ""),
    ];
    let [first, second, third] = replies;
    reload_journey(
        "chatbots",
        "POST /api/v1/chatbots/reload-chatbots/chat",
        first,
        second,
        third,
        "conversationId",
    )
    .await;
}

#[wasm_bindgen_test]
async fn jombot_shows_the_conversation_again_after_a_reload() {
    let [first, second, third] = [
        jombot_reply("I can help with that.", FIRST_ACTIONS),
        jombot_reply("Order **ACM-123** ships *today*.", SECOND_ACTIONS),
        jombot_reply("A human will call.", ""),
    ];
    reload_journey(
        "jombot",
        "POST /v1/chat/message",
        first,
        second,
        third,
        "conversation_id",
    )
    .await;
}

#[wasm_bindgen_test]
async fn openai_shows_the_conversation_again_with_its_times_and_reads_what_earlier_versions_kept() {
    let completion = |text: &str| {
        let message = object().with("role", "assistant").with("content", text);
        let choice = object()
            .with("index", 0_u64)
            .with("message", message)
            .with("finish_reason", "stop");
        object()
            .with("id", "chatcmpl-1")
            .with("choices", vec![choice])
            .to_string()
    };
    stub_routes(routes(&[(
        "POST /v1/chat/completions",
        vec![(JSON, completion("Order **ACM-123** ships today."))],
    )]));
    let config = dialect_config("reload-openai", "openai");
    let visit = Visit::start(config.clone()).await;
    visit.open().await;
    visit.send("Where is my order?").await;
    visit
        .until("the answer", |v| v.bot_bubbles().len() == 1)
        .await;
    let before = times(&visit);
    drop(visit);
    let visit = Visit::start(config.clone()).await;
    visit
        .until("the restored conversation", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(times(&visit), before, "restored messages keep their times");
    assert!(visit.bot_bubbles()[0].contains("<strong>ACM-123</strong>"));
    drop(visit);

    // What the widget kept before transcripts had times: still shown, and still sent.
    let _ = eval_js(
        r#"localStorage.setItem('chat-widget:reload-openai:transcript', '[{"role":"user","content":"Hi"},{"role":"assistant","content":"**Hello**"}]')"#,
    );
    let visit = Visit::start(config).await;
    visit
        .until("the earlier transcript", |v| v.bot_bubbles().len() == 1)
        .await;
    assert!(visit.bot_bubbles()[0].contains("<strong>Hello</strong>"));
    visit.open().await;
    visit.send("Next").await;
    visit
        .until("the answer", |v| v.bot_bubbles().len() == 2)
        .await;
    let sent = js_sys::JSON::stringify(&request_field(1, "body.messages"))
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(
        sent,
        r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":"**Hello**"},{"role":"user","content":"Next"}]"#
    );
}

#[wasm_bindgen_test]
async fn chataibot_shows_the_conversation_again_from_the_server_with_its_times() {
    let history = r#"{ "ok": true, "messages": [
        { "id": "m1", "from": "VISITOR", "body": "Where is my order?", "created_at": "2025-02-10 20:21:03.913000" },
        { "id": "m2", "from": "BOT", "body": "Which one?", "created_at": "2025-02-10 20:21:04.000000",
          "suggested_actions": [{ "type": "quick_reply", "text": "Old choice" }] },
        { "id": "m3", "from": "VISITOR", "body": "ACM-123", "created_at": "2025-02-10 20:21:09.500000" },
        { "id": "m4", "from": "BOT", "body": "Order **ACM-123** ships today.", "created_at": "2025-02-10 20:21:10.250000",
          "suggested_actions": [{ "type": "quick_reply", "text": "Talk to a human", "payload": "human" }] } ] }"#;
    let posted = r#"{ "ok": true, "message_id": "m5" }"#;
    let answer = format!(
        "event: message\nid: m6\ndata: {}\n\n",
        r#"{ "id": "m6", "from": "BOT", "body": "Connecting you." }"#
    );
    stub_routes(routes(&[
        (
            "GET /api/v1/conversation/c_9/messages",
            vec![(JSON, history.to_string()), ("text/event-stream", answer)],
        ),
        (
            "POST /api/v1/conversation/c_9/messages",
            vec![(JSON, posted.to_string())],
        ),
    ]));
    let config = dialect_config("reload-chatai", "chataibot");
    let _ = eval_js("localStorage.setItem('chat-widget:reload-chatai:conversation', 'c_9')");
    let visit = Visit::start(config).await;
    visit
        .until("the restored conversation", |v| {
            v.all(".cw-msg--visitor").len() == 2 && v.bot_bubbles().len() == 2
        })
        .await;
    assert_eq!(
        paths()[0],
        "/api/v1/conversation/c_9/messages",
        "all the messages: no `after`"
    );
    assert!(
        stored("chat-widget:reload-chatai:transcript").is_none(),
        "the server keeps it: no copy in the browser"
    );
    visit.settle().await;
    assert!(
        visit.find(".cw-badge").is_none(),
        "replies read on an earlier visit are not unread"
    );
    visit.open().await;
    assert!(visit.bot_bubbles()[1].contains("<strong>ACM-123</strong>"));
    assert_eq!(
        times(&visit),
        [
            "2025-02-10T20:21:03.913Z",
            "2025-02-10T20:21:04.000Z",
            "2025-02-10T20:21:09.500Z",
            "2025-02-10T20:21:10.250Z"
        ],
        "the server's times, read as UTC"
    );
    assert_eq!(
        action_labels(&visit),
        ["Talk to a human"],
        "only the last bot message's quick replies"
    );
    visit.get(".cw-action").click();
    visit
        .until("the answer", |v| v.bot_bubbles().len() == 3)
        .await;
    assert_eq!(
        request_field(1, "body.message.data.body")
            .as_string()
            .as_deref(),
        Some("human")
    );
    assert_eq!(paths()[2], "/api/v1/conversation/c_9/messages?after=m5");
}

/// Two chats for the same bot on one page (a site-wide floating widget and an inline panel
/// on the help page) show one conversation: what the visitor writes in one shows in the
/// other, and a new conversation in one starts the other over. Before, the other one showed
/// none of it until the next page.
#[wasm_bindgen_test]
async fn two_chats_for_the_same_bot_on_one_page_show_one_conversation() {
    stub_fetch(answers(vec![reply("It ships today.", "conv_twin")]));
    let floating = Visit::start(config("twin")).await;
    let inline = Visit::start(next_page("twin")).await;
    floating.open().await;
    inline.open().await;
    floating.send("Where is my order?").await;
    floating
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    inline
        .until("the exchange in the other chat", |v| {
            v.all(".cw-msg--visitor").len() == 1 && v.bot_bubbles().len() == 1
        })
        .await;
    assert!(inline.bot_bubbles()[0].contains("It ships today."));
    assert!(inline
        .text(".cw-msg--visitor")
        .contains("Where is my order?"));

    // The other way round, and nothing doubled.
    inline.send("Thanks").await;
    floating
        .until("the second exchange in the first chat", |v| {
            v.all(".cw-msg--visitor").len() == 2 && v.bot_bubbles().len() == 2
        })
        .await;
    inline.settle().await;
    assert_eq!(inline.all(".cw-msg--visitor").len(), 2);
    assert_eq!(inline.bot_bubbles().len(), 2);

    floating._widget.reset();
    inline
        .until("the other chat starts over", |v| {
            v.all(".cw-msg--visitor").is_empty() && v.bot_bubbles().is_empty()
        })
        .await;
}

#[wasm_bindgen_test]
async fn a_new_conversation_and_logout_erase_the_kept_transcript() {
    let key = "chat-widget:erase:transcript";
    stub_fetch(answers(vec![reply("Noted.", "conv_e")]));
    let config = config("erase");
    let visit = Visit::start(config.clone()).await;
    visit.open().await;
    visit.send("My address is 1 Main St").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert!(stored(key).is_some_and(|t| t.contains("1 Main St")));
    visit._widget.reset();
    visit.settle().await;
    assert_eq!(stored(key), None, "a new conversation forgets the old one");
    drop(visit);
    let visit = Visit::start(config.clone()).await;
    assert!(
        visit.all(".cw-msg--visitor").is_empty() && visit.bot_bubbles().is_empty(),
        "nothing comes back"
    );

    visit.open().await;
    visit.send("My phone is 555-0100").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert!(stored(key).is_some());
    visit._widget.logout();
    visit.settle().await;
    assert_eq!(stored(key), None, "logout forgets it");
    drop(visit);
    let visit = Visit::start(config).await;
    assert!(
        visit.all(".cw-msg--visitor").is_empty() && visit.bot_bubbles().is_empty(),
        "the next person sees nothing"
    );
}

#[wasm_bindgen_test]
async fn the_transcript_keeps_the_latest_hundred_messages() {
    let seeded: Vec<Value> = (0..150)
        .map(|i| {
            object()
                .with("from", if i % 2 == 0 { "visitor" } else { "bot" })
                .with("text", format!("message {i}"))
                .with("at", 1_733_300_000_000_u64 + i)
        })
        .collect();
    let config = config("cap");
    let _ = eval_js(&format!(
        "localStorage.setItem('chat-widget:cap:transcript', {})",
        Value::from(Value::Array(seeded).to_string())
    ));
    stub_fetch(answers(vec![reply("The newest.", "conv_c")]));
    let visit = Visit::start(config).await;
    visit.open().await;
    visit
        .until("the restored messages", |v| v.find(".cw-earlier").is_some())
        .await;
    visit
        .until("the newest messages in view on opening", |v| {
            let list = v.get(".cw-messages");
            list.scroll_height() > list.client_height()
                && list.scroll_height() - list.scroll_top() - list.client_height() <= 2
        })
        .await;
    visit.get(".cw-earlier").click();
    visit
        .until("all of them", |v| v.find(".cw-earlier").is_none())
        .await;
    let shown: Vec<String> = visit
        .all(".cw-msg:not(.cw-msg--greeting) .cw-bubble")
        .iter()
        .map(|m| m.text_content().unwrap_or_default())
        .collect();
    assert_eq!(shown.len(), 100, "the newest hundred");
    assert!(shown[0].contains("message 50") && shown[99].contains("message 149"));
    visit.send("One more").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 51)
        .await;
    let kept =
        serde_json::from_str::<Value>(&stored("chat-widget:cap:transcript").unwrap()).unwrap();
    let kept = kept.as_array().unwrap();
    assert_eq!(kept.len(), 100, "still a hundred after two more");
    assert_eq!(
        kept[0].get("text").and_then(Value::as_str),
        Some("message 52")
    );
    assert_eq!(
        kept[99].get("text").and_then(Value::as_str),
        Some("The newest.")
    );
}

#[wasm_bindgen_test]
async fn full_or_blocked_storage_never_shows_an_outdated_conversation() {
    // Full: the new transcript cannot be written, so the old one must not stay behind.
    let config = config("full");
    let _ = eval_js(
        r#"localStorage.setItem('chat-widget:full:transcript', '[{"from":"visitor","text":"an old visit"}]')"#,
    );
    stub_fetch(answers(vec![reply("Fine.", "conv_f")]));
    let visit = Visit::start(config.clone()).await;
    visit
        .until("the old visit", |v| v.all(".cw-msg--visitor").len() == 1)
        .await;
    let _ = eval_js("window.__cwSetItem = Storage.prototype.setItem; Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); };");
    visit.open().await;
    visit.send("a new message").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    let _ = eval_js("Storage.prototype.setItem = window.__cwSetItem");
    assert!(
        visit.find(".cw-alert").is_none(),
        "the visitor is not alarmed"
    );
    assert_eq!(
        stored("chat-widget:full:transcript"),
        None,
        "nothing outdated is left"
    );
    drop(visit);
    let visit = Visit::start(config).await;
    visit.settle().await;
    assert!(
        visit.all(".cw-msg--visitor").is_empty(),
        "a fresh start rather than a stale one"
    );
    drop(visit);

    // Blocked: the conversation lives in memory; a reload starts afresh, quietly.
    let _ = eval_js(
        "window.__cwStorage = Object.getOwnPropertyDescriptor(window, 'localStorage') || Object.getOwnPropertyDescriptor(Window.prototype, 'localStorage'); Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });",
    );
    stub_fetch(answers(vec![reply("Hello.", "conv_b")]));
    let config = WidgetConfig::new("blocked-restore", "https://api.example.test");
    let visit = Visit::start(config.clone()).await;
    visit.open().await;
    visit.send("hi").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    drop(visit);
    let visit = Visit::start(config).await;
    visit.open().await;
    let _ = eval_js("Object.defineProperty(window, 'localStorage', window.__cwStorage)");
    assert!(visit.all(".cw-msg--visitor").is_empty() && visit.find(".cw-alert").is_none());
}

// ---------------------------------------------------------------------------------------------
// Ids from a server or from storage are one path segment, or refused (issue 20).

#[wasm_bindgen_test]
async fn chatbots_and_jombot_keep_only_ids_that_can_be_a_path_segment() {
    for (dialect, route, field) in [
        ("chatbots", "POST /api/v1/chatbots/", "conversationId"),
        ("jombot", "POST /v1/chat/message", "conversation_id"),
    ] {
        let body = |id: &str| match dialect {
            "chatbots" => format!(
                r#"{{"success":true,"data":{{"response":"ok","conversationId":{}}}}}"#,
                Value::from(id)
            ),
            _ => format!(
                r#"{{"response":"ok","conversation_id":{},"bot_id":"b"}}"#,
                Value::from(id)
            ),
        };
        let bot = format!("ids-{dialect}");
        let key = format!("chat-widget:{bot}:conversation");
        stub_routes(routes(&[(
            route,
            vec![
                (JSON, body("..")),
                (JSON, body("a/b?c#d%25")),
                (JSON, body("x")),
            ],
        )]));
        let config = dialect_config(&bot, dialect);
        let _ = eval_js(&format!("localStorage.setItem('{key}', '..')"));
        let visit = Visit::start(config).await;
        visit.open().await;
        visit.send("one").await;
        visit
            .until("the reply", |v| v.bot_bubbles().len() == 1)
            .await;
        assert!(
            request_field(0, &format!("body.{field}")).is_undefined(),
            "{dialect}: `..` in storage is not an id"
        );
        assert_eq!(
            stored(&key),
            None,
            "{dialect}: `..` from the server is not kept"
        );
        visit.send("two").await;
        visit
            .until("the reply", |v| v.bot_bubbles().len() == 2)
            .await;
        assert!(
            request_field(1, &format!("body.{field}")).is_undefined(),
            "{dialect}: a new conversation instead"
        );
        assert_eq!(
            stored(&key).as_deref(),
            Some("a/b?c#d%25"),
            "{dialect}: an odd but usable id is kept as it is"
        );
        visit.send("three").await;
        visit
            .until("the reply", |v| v.bot_bubbles().len() == 3)
            .await;
        assert_eq!(
            request_field(2, &format!("body.{field}"))
                .as_string()
                .as_deref(),
            Some("a/b?c#d%25"),
            "{dialect}"
        );
        assert!(
            paths().iter().all(|p| p == paths()[0].as_str()),
            "{dialect}: always the same endpoint: {:?}",
            paths()
        );
    }
    // The bot id in chatbots' path is one segment too.
    stub_routes(routes(&[(
        "POST /api/v1/chatbots/",
        vec![(JSON, reply_body("ok", "c"))],
    )]));
    let visit = Visit::start(dialect_config("a/b?x#y", "chatbots")).await;
    visit.open().await;
    visit.send("hi").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(paths(), ["/api/v1/chatbots/a%2Fb%3Fx%23y/chat"]);
}

fn reply_body(text: &str, conversation: &str) -> String {
    object()
        .with("success", true)
        .with(
            "data",
            object()
                .with("response", text)
                .with("conversationId", conversation),
        )
        .to_string()
}

#[wasm_bindgen_test]
async fn jelytech_reads_history_only_for_an_id_that_is_one_path_segment() {
    let history = |id: &str| {
        format!(
            r#"{{ "success": true, "conversationId": {}, "messages": [] }}"#,
            Value::from(id)
        )
    };
    let sent = |id: &str| {
        format!(
            r#"{{ "success": true, "response": "ok", "conversationId": {}, "messageId": "m" }}"#,
            Value::from(id)
        )
    };
    let bot_config = r#"{ "success": false, "error": { "code": "BOT_NOT_FOUND", "message": "no", "statusCode": 404 } }"#.to_string();
    for (stored_id, expected) in [
        ("../../bots/x", Some("/v1/chat/history/..%2F..%2Fbots%2Fx")),
        ("a?b#c%2F", Some("/v1/chat/history/a%3Fb%23c%252F")),
        (".", None),
        ("..", None),
    ] {
        stub_routes(routes(&[
            ("GET /v1/bots/", vec![(JSON, bot_config.clone())]),
            ("GET /v1/chat/history/", vec![(JSON, history(stored_id))]),
            ("POST /v1/chat/send", vec![(JSON, sent(".."))]),
        ]));
        let config = dialect_config("ids-jely", "jelytech")
            .greeting("Hi")
            .primary_color(Color::parse_hex("#1a1a2e").unwrap())
            .position(chat_widget::Position::BottomRight);
        let _ = eval_js(&format!(
            "localStorage.setItem('chat-widget:ids-jely:conversation', {})",
            Value::from(stored_id)
        ));
        let visit = Visit::start(config).await;
        visit.settle().await;
        visit.settle().await;
        match expected {
            Some(path) => assert_eq!(
                paths(),
                [path],
                "{stored_id:?}: the page set the look, so only the history is asked for"
            ),
            None => {
                assert!(
                    requests().length() == 0,
                    "{stored_id:?}: no request at all: {:?}",
                    paths()
                );
                assert_eq!(
                    stored("chat-widget:ids-jely:conversation"),
                    None,
                    "{stored_id:?}: removed from storage"
                );
            }
        }
        drop(visit);
    }
    // `..` in a reply is not kept.
    let visit = Visit::start(
        dialect_config("ids-jely", "jelytech")
            .greeting("Hi")
            .primary_color(Color::parse_hex("#1a1a2e").unwrap())
            .position(chat_widget::Position::BottomRight),
    )
    .await;
    visit.open().await;
    visit.send("hi").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(stored("chat-widget:ids-jely:conversation"), None);
}

/// A visitor sends a message and goes to another page of the site before the bot answers:
/// the restored conversation ends with that message, and the widget waits for its answer
/// (after that message, never posting it again) instead of leaving it unanswered until the
/// next reload.
#[wasm_bindgen_test]
async fn chataibot_waits_after_a_reload_for_the_answer_to_a_message_sent_before_it() {
    let history = r#"{ "ok": true, "messages": [
        { "id": "m1", "from": "VISITOR", "body": "Where is my order?" } ] }"#;
    let answer = format!(
        "event: message\nid: m2\ndata: {}\n\n",
        r#"{ "id": "m2", "from": "BOT", "body": "It ships **today**." }"#
    );
    stub_routes(routes(&[(
        "GET /api/v1/conversation/c_7/messages",
        vec![(JSON, history.to_string()), ("text/event-stream", answer)],
    )]));
    let config = dialect_config("await-chatai", "chataibot");
    let _ = eval_js("localStorage.setItem('chat-widget:await-chatai:conversation', 'c_7')");
    let visit = Visit::start(config).await;
    visit
        .until("the answer to the message sent before the reload", |v| {
            v.bot_bubbles().len() == 1
        })
        .await;
    assert_eq!(
        paths(),
        [
            "/api/v1/conversation/c_7/messages",
            "/api/v1/conversation/c_7/messages?after=m1"
        ],
        "the history, then the answer after the visitor's message; nothing posted"
    );
    visit.settle().await;
    assert!(
        visit.find(".cw-badge").is_some(),
        "an answer that came while the panel was closed is unread"
    );
    visit.open().await;
    assert!(visit.bot_bubbles()[0].contains("<strong>today</strong>"));
    assert_eq!(visit.all(".cw-msg--visitor").len(), 1);
}

#[wasm_bindgen_test]
async fn chataibot_never_builds_a_path_from_an_id_that_is_not_one_segment() {
    // A start reply whose conversation id is `..`: polling it would hit another endpoint.
    let started = |id: &str, message: &str| {
        format!(
            r#"{{ "ok": true, "conversation": {{ "id": {} }}, "message_id": {} }}"#,
            Value::from(id),
            Value::from(message)
        )
    };
    stub_routes(routes(&[
        (
            "POST /api/v1/conversations",
            vec![(JSON, started("..", "m1"))],
        ),
        (
            "GET /api/v1/",
            vec![(JSON, r#"{"ok":true,"messages":[]}"#.to_string())],
        ),
    ]));
    let visit = Visit::start(dialect_config("ids-chatai", "chataibot")).await;
    visit.open().await;
    visit.send("hello").await;
    visit
        .until("the message marked not sent", |v| {
            v.find(".cw-msg--failed").is_some()
        })
        .await;
    assert_eq!(paths(), ["/api/v1/conversations"], "nothing else was asked");
    assert!(
        visit.text(".cw-msg--failed").contains("hello"),
        "the visitor's text stays, with Retry"
    );
    drop(visit);

    // Odd but usable ids are escaped: one segment, and the cursor stays in the query.
    let event = format!(
        "event: message\nid: m2\ndata: {}\n\n",
        r#"{ "id": "m2", "from": "BOT", "body": "Hi!" }"#
    );
    stub_routes(routes(&[
        (
            "POST /api/v1/conversations",
            vec![(JSON, started("a/b", "m#1&after=0"))],
        ),
        (
            "GET /api/v1/conversation/",
            vec![("text/event-stream", event)],
        ),
    ]));
    let visit = Visit::start(dialect_config("ids-chatai", "chataibot")).await;
    visit.open().await;
    visit.send("hello").await;
    visit
        .until("the bot's message", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(
        paths()[1],
        "/api/v1/conversation/a%2Fb/messages?after=m%231%26after%3D0"
    );
    assert_eq!(
        stored("chat-widget:ids-chatai:conversation").as_deref(),
        Some("a/b")
    );
    drop(visit);

    // Hostile ids in storage: dropped, never asked for.
    let long = "x".repeat(300);
    for hostile in ["..", ".", "a\u{7}b", "a b", long.as_str()] {
        stub_routes(routes(&[(
            "GET /api/v1/",
            vec![(JSON, r#"{"ok":true,"messages":[]}"#.to_string())],
        )]));
        let config = dialect_config("ids-chatai", "chataibot");
        let _ = eval_js(&format!(
            "localStorage.setItem('chat-widget:ids-chatai:conversation', {})",
            Value::from(hostile)
        ));
        let visit = Visit::start(config).await;
        visit.settle().await;
        assert_eq!(requests().length(), 0, "{hostile:?}: {:?}", paths());
        drop(visit);
    }
}

#[wasm_bindgen_test]
async fn openai_has_no_id_in_its_path_whatever_the_bot_or_storage_say() {
    let completion = r#"{"id":"../../x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#;
    stub_routes(routes(&[(
        "POST /v1/chat/completions",
        vec![(JSON, completion.to_string())],
    )]));
    let config = dialect_config("../models?x", "openai");
    let _ = eval_js("localStorage.setItem('chat-widget:../models?x:conversation', '..')");
    let visit = Visit::start(config).await;
    visit.open().await;
    visit.send("hi").await;
    visit
        .until("the reply", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(paths(), ["/v1/chat/completions"]);
    assert_eq!(
        request_field(0, "body.model").as_string().as_deref(),
        Some("../models?x"),
        "the bot id is the model, in the body"
    );
}

#[wasm_bindgen_test]
async fn openai_waits_as_long_as_a_429_body_says() {
    let limited = r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded","retryAfter":42}}"#;
    stub_fetch(answers(vec![response(429, limited)]));
    let visit = Visit::start(dialect_config("openai-429", "openai")).await;
    visit.open().await;
    visit.send("hello").await;
    visit
        .until("the notice", |v| v.find(".cw-alert").is_some())
        .await;
    assert!(
        visit.text(".cw-alert").contains("wait 42 s"),
        "{}",
        visit.text(".cw-alert")
    );
    assert!(
        visit.text(".cw-cooldown").contains("42") || visit.text(".cw-cooldown").contains("41"),
        "{}",
        visit.text(".cw-cooldown")
    );
}

#[wasm_bindgen_test]
async fn a_conversation_the_server_no_longer_has_is_let_go_and_the_next_message_starts_anew() {
    let gone = r#"{ "ok": false, "error": { "code": "CONVERSATION_NOT_FOUND", "message": "no such conversation" } }"#;
    let started = r#"{ "ok": true, "conversation": { "id": "c_new" }, "message_id": "m1" }"#;
    let event = format!(
        "event: message\nid: m2\ndata: {}\n\n",
        r#"{ "id": "m2", "from": "BOT", "body": "Hello again." }"#
    );
    let object = routes(&[
        (
            "GET /api/v1/conversation/c_gone/messages",
            vec![(JSON, gone.to_string())],
        ),
        (
            "POST /api/v1/conversations",
            vec![(JSON, started.to_string())],
        ),
        (
            "GET /api/v1/conversation/c_new/messages",
            vec![("text/event-stream", event)],
        ),
    ]);
    // The history answers 404.
    let first =
        js_sys::Reflect::get(&object, &"GET /api/v1/conversation/c_gone/messages".into()).unwrap();
    js_sys::Reflect::set(
        &js_sys::Array::from(&first).get(0),
        &"status".into(),
        &404.into(),
    )
    .unwrap();
    stub_routes(object);
    let config = dialect_config("gone-chatai", "chataibot");
    let _ = eval_js("localStorage.setItem('chat-widget:gone-chatai:conversation', 'c_gone')");
    let visit = Visit::start(config).await;
    visit
        .until("the old id let go", |_| {
            stored("chat-widget:gone-chatai:conversation").is_none()
        })
        .await;
    visit.open().await;
    assert!(
        visit.find(".cw-alert").is_none(),
        "nothing alarming before the visitor writes"
    );
    visit.send("Hi").await;
    visit
        .until("the answer", |v| v.bot_bubbles().len() == 1)
        .await;
    assert_eq!(
        paths()[1],
        "/api/v1/conversations",
        "a new conversation, not a post to the gone one"
    );
    assert_eq!(
        stored("chat-widget:gone-chatai:conversation").as_deref(),
        Some("c_new")
    );
}

#[wasm_bindgen(inline_js = r#"
export function stub_script(routes) {
  // routes: { "METHOD /path-prefix": [answers...] }, each request takes the next answer of the
  // longest matching key (the last one repeats). An answer: { type, body } sent at once, and:
  // hang: the headers never come; stall: the body stays open after `body`;
  // keepalive: ms between keep-alive comments, for `for` ms, then `tail` and the end.
  window.__cwRequests = [];
  window.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const text = request.method === 'GET' ? '' : await request.text();
    window.__cwRequests.push({ method: request.method, path: url.pathname + url.search, body: text ? JSON.parse(text) : null });
    const key = Object.keys(routes).filter((k) => `${request.method} ${url.pathname}`.startsWith(k)).sort((a, b) => b.length - a.length)[0];
    if (!key) return new Response('not found', { status: 404 });
    const list = routes[key];
    const next = list.length > 1 ? list.shift() : list[0];
    const aborted = () => new DOMException('The user aborted a request.', 'AbortError');
    if (next.hang) return new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(aborted())));
    if (!next.stall && !next.keepalive) return new Response(next.body, { headers: { 'content-type': next.type } });
    const bytes = (s) => new TextEncoder().encode(s);
    const stream = new ReadableStream({
      start(controller) {
        if (next.body) controller.enqueue(bytes(next.body));
        request.signal.addEventListener('abort', () => { try { controller.error(aborted()); } catch (e) {} });
        if (next.keepalive) {
          const started = Date.now();
          const beat = setInterval(() => {
            try {
              if (Date.now() - started < next.for) return controller.enqueue(bytes(': keep-alive\n\n'));
              clearInterval(beat);
              controller.enqueue(bytes(next.tail));
              controller.close();
            } catch (e) { clearInterval(beat); }
          }, next.keepalive);
        }
      },
    });
    return new Response(stream, { headers: { 'content-type': next.type } });
  };
}
"#)]
extern "C" {
    fn stub_script(routes: JsValue);
}

/// A scripted answer for [`stub_script`].
fn scripted(content_type: &str, body: &str, extra: &str) -> JsValue {
    let answer = eval_js(&format!("({{ {extra} }})"));
    js_sys::Reflect::set(&answer, &"type".into(), &content_type.into()).unwrap();
    js_sys::Reflect::set(&answer, &"body".into(), &body.into()).unwrap();
    answer
}

fn script(entries: Vec<(&str, Vec<JsValue>)>) -> JsValue {
    let object = js_sys::Object::new();
    for (key, answers) in entries {
        js_sys::Reflect::set(
            &object,
            &key.into(),
            &answers.into_iter().collect::<js_sys::Array>(),
        )
        .unwrap();
    }
    object.into()
}

/// Per dialect: where the reply comes from, and the answers a silent server gives: headers that
/// never come, then a reply that starts and goes silent, then a whole reply, then a reply that
/// takes a while but keeps the connection alive.
fn silent_server(dialect: &str) -> (bool, JsValue) {
    const SSE: &str = "text/event-stream";
    let hang = || scripted(JSON, "", "hang: true");
    let slow = |tail: &str| {
        scripted(
            SSE,
            "",
            &format!("keepalive: 100, for: 1500, tail: {}", Value::from(tail)),
        )
    };
    let openai_delta = |text: &str| {
        format!(
            "data: {}\n\n",
            object().with(
                "choices",
                vec![object().with("delta", object().with("content", text))]
            )
        )
    };
    let chataibot_event = |text: &str| {
        format!(
            "event: message\nid: m_2\ndata: {}\n\n",
            object()
                .with("id", "m_2")
                .with("from", "BOT")
                .with("body", text)
        )
    };
    match dialect {
        "chatbots" => (
            true,
            script(vec![(
                "POST /api/v1/chatbots/",
                vec![
                    hang(),
                    scripted(
                        SSE,
                        &format!("{START}{}", delta("Partial words")),
                        "stall: true",
                    ),
                    scripted(
                        SSE,
                        &format!(
                            "{START}{}{}",
                            delta("Complete answer"),
                            done("Complete answer")
                        ),
                        "",
                    ),
                    slow(&format!(
                        "{START}{}{}",
                        delta("Worth the wait"),
                        done("Worth the wait")
                    )),
                ],
            )]),
        ),
        "openai" => (
            true,
            script(vec![(
                "POST /v1/chat/completions",
                vec![
                    hang(),
                    scripted(SSE, &openai_delta("Partial words"), "stall: true"),
                    scripted(
                        SSE,
                        &format!("{}data: [DONE]\n\n", openai_delta("Complete answer")),
                        "",
                    ),
                    slow(&format!(
                        "{}data: [DONE]\n\n",
                        openai_delta("Worth the wait")
                    )),
                ],
            )]),
        ),
        "jombot" => {
            let answer = |text: &str| {
                object()
                    .with("response", text)
                    .with("conversation_id", "conv_j")
                    .with("bot_id", "b")
                    .to_string()
            };
            (
                false,
                script(vec![(
                    "POST /v1/chat/message",
                    vec![
                        hang(),
                        scripted(JSON, r#"{"response": "Partial wo"#, "stall: true"),
                        scripted(JSON, &answer("Complete answer"), ""),
                        scripted(JSON, &answer("Worth the wait"), ""),
                    ],
                )]),
            )
        }
        "jelytech" => {
            let answer = |text: &str| {
                object()
                    .with("success", true)
                    .with("response", text)
                    .with("conversationId", "conv_j")
                    .with("messageId", "m")
                    .to_string()
            };
            (
                false,
                script(vec![(
                    "POST /v1/chat/send",
                    vec![
                        hang(),
                        scripted(
                            JSON,
                            r#"{"success": true, "response": "Partial wo"#,
                            "stall: true",
                        ),
                        scripted(JSON, &answer("Complete answer"), ""),
                        scripted(JSON, &answer("Worth the wait"), ""),
                    ],
                )]),
            )
        }
        _ => {
            let started = r#"{ "ok": true, "conversation": { "id": "c_1" }, "message_id": "m_1" }"#;
            (
                false,
                script(vec![
                    (
                        "POST /api/v1/conversations",
                        vec![hang(), scripted(JSON, started, "")],
                    ),
                    (
                        "POST /api/v1/conversation/c_1/",
                        vec![scripted(JSON, r#"{ "ok": true, "message_id": "m_3" }"#, "")],
                    ),
                    (
                        "GET /api/v1/conversation/c_1/",
                        vec![
                            scripted(SSE, ": listening\n\n", "stall: true"),
                            scripted(SSE, &chataibot_event("Complete answer"), ""),
                            slow(&chataibot_event("Worth the wait")),
                        ],
                    ),
                ]),
            )
        }
    }
}

#[wasm_bindgen_test]
async fn a_reply_that_goes_silent_is_given_up_after_the_reply_timeout_in_every_dialect() {
    for dialect in ["chatbots", "jombot", "jelytech", "chataibot", "openai"] {
        let (streams, answers) = silent_server(dialect);
        stub_script(answers);
        let visit = Visit::start(
            dialect_config(&format!("silent-{dialect}"), dialect).reply_timeout_ms(600),
        )
        .await;
        visit.open().await;

        // The headers never come: the message is marked, with the reason and Retry.
        visit.send("Are you there?").await;
        assert!(
            visit.find(".cw-typing").is_some(),
            "{dialect}: typing dots while it waits"
        );
        visit
            .until(&format!("{dialect}: the hung request given up"), |v| {
                v.find(".cw-msg--failed .cw-retry").is_some()
            })
            .await;
        assert!(
            visit.text(".cw-alert").contains("No answer came in time"),
            "{dialect}: {}",
            visit.text(".cw-alert")
        );
        assert!(
            visit.find(".cw-typing").is_none(),
            "{dialect}: no endless typing"
        );
        assert!(
            visit.find(".cw-stop").is_none(),
            "{dialect}: the send button is back"
        );

        // The reply starts, then goes silent: what arrived stays, with Retry.
        visit.get(".cw-msg--failed .cw-retry").click();
        visit.settle().await;
        if streams {
            visit
                .until(&format!("{dialect}: the partial reply"), |v| {
                    v.streaming_text().contains("Partial words")
                })
                .await;
            visit
                .until(&format!("{dialect}: the silent reply given up"), |v| {
                    v.find(".cw-msg--bot .cw-retry").is_some()
                })
                .await;
            assert!(
                visit.streaming_text().contains("Partial words"),
                "{dialect}: the partial text stays"
            );
            assert!(
                visit
                    .text(".cw-alert")
                    .contains("stopped before the reply was finished"),
                "{dialect}: {}",
                visit.text(".cw-alert")
            );
            visit.get(".cw-msg--bot .cw-retry").click();
            visit.settle().await;
        } else {
            visit
                .until(&format!("{dialect}: the silent reply given up"), |v| {
                    v.find(".cw-msg--failed .cw-retry").is_some()
                })
                .await;
            assert!(
                visit.text(".cw-alert").contains("No answer came in time"),
                "{dialect}: {}",
                visit.text(".cw-alert")
            );
            assert!(
                visit.bot_bubbles().is_empty(),
                "{dialect}: no fragment of the cut body is shown: {:?}",
                visit.bot_bubbles()
            );
            visit.get(".cw-msg--failed .cw-retry").click();
            visit.settle().await;
        }
        // Retry gets the whole reply.
        visit
            .until(&format!("{dialect}: the whole reply"), |v| {
                v.bot_bubbles()
                    .iter()
                    .any(|b| b.contains("Complete answer"))
            })
            .await;
        assert_eq!(
            visit.bot_bubbles().len(),
            1,
            "{dialect}: into the same bubble"
        );
        assert!(
            visit.find(".cw-alert").is_none(),
            "{dialect}: the notice is gone"
        );

        // A slow reply that keeps the connection alive is not given up.
        visit.send("Take your time").await;
        visit
            .until(&format!("{dialect}: the slow reply"), |v| {
                v.bot_bubbles().iter().any(|b| b.contains("Worth the wait"))
            })
            .await;
        assert!(
            visit.find(".cw-alert").is_none(),
            "{dialect}: keep-alive comments count as bytes"
        );
    }
}

#[wasm_bindgen_test]
async fn a_stream_cut_in_the_middle_of_an_event_never_shows_wire_text() {
    let openai_chunk = |text: &str| {
        format!("data: {{\"id\":\"chatcmpl-9xA7\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n")
    };
    let cases = [
        ("openai", openai_chunk("Partial words")),
        ("chatbots", format!("{START}{}", delta("Partial words"))),
    ];
    for (dialect, first) in cases {
        for broken in [false, true] {
            stub_stream();
            let visit = Visit::start(dialect_config(&format!("cut-{dialect}"), dialect)).await;
            visit.open().await;
            visit.send("Tell me").await;
            visit.until("the request", |_| stream_count() == 1).await;
            stream_send(0, &first);
            visit
                .until("the first words", |v| {
                    v.streaming_text().contains("Partial words")
                })
                .await;
            // The next event is cut after its first bytes of JSON.
            let next = if dialect == "openai" {
                openai_chunk(" and more")
            } else {
                delta(" and more")
            };
            stream_send(0, &next[..next.find("and").unwrap()]);
            if broken {
                stream_fail(0)
            } else {
                stream_close(0)
            }
            visit
                .until("the end of the reply", |v| v.find(".cw-stop").is_none())
                .await;
            visit.settle().await;
            let shown = visit.streaming_text();
            assert_eq!(
                shown.trim(),
                "Partial words",
                "{dialect} (broken: {broken}): only the reply's text is shown"
            );
            assert!(
                visit.find(".cw-msg--bot .cw-retry").is_some(),
                "{dialect} (broken: {broken}): the cut reply offers Retry"
            );
        }
    }
}

fn go_offline() {
    let _ = eval_js("Object.defineProperty(Navigator.prototype, 'onLine', { configurable: true, get: () => false }); window.dispatchEvent(new Event('offline'));");
}

fn go_online() {
    let _ = eval_js("delete Navigator.prototype.onLine; Object.defineProperty(Navigator.prototype, 'onLine', { configurable: true, get: () => true }); window.dispatchEvent(new Event('online'));");
}

#[wasm_bindgen_test]
async fn going_offline_mid_reply_keeps_what_arrived_and_the_chat_recovers_in_every_dialect() {
    for dialect in ["chatbots", "jombot", "jelytech", "chataibot", "openai"] {
        // The same server as for silence: a request that hangs, one that stalls part-way, then
        // whole replies.
        let (streams, answers) = silent_server(dialect);
        stub_script(answers);
        let visit = Visit::start(dialect_config(&format!("offline-{dialect}"), dialect)).await;
        visit.open().await;

        // Offline before the reply began: the message waits and goes by itself once online.
        let earlier = requests().length();
        visit.send("Are you there?").await;
        visit
            .until(&format!("{dialect}: the request"), |_| {
                requests().length() > earlier
            })
            .await;
        go_offline();
        visit
            .until(&format!("{dialect}: the message waits"), |v| {
                v.find(".cw-msg--visitor .cw-status--muted").is_some()
            })
            .await;
        assert!(
            visit
                .text(".cw-msg--visitor .cw-status--muted")
                .contains("Waiting for the connection"),
            "{dialect}"
        );
        assert!(
            visit.find(".cw-stop").is_none() && visit.find(".cw-typing").is_none(),
            "{dialect}: not stuck on the reply"
        );
        let before = requests().length();
        go_online();
        visit
            .until(&format!("{dialect}: sent again once online"), |_| {
                requests().length() > before
            })
            .await;

        // Offline while the reply streams in: what arrived stays, marked, with Retry.
        if streams {
            visit
                .until(&format!("{dialect}: the partial reply"), |v| {
                    v.streaming_text().contains("Partial words")
                })
                .await;
            go_offline();
            visit
                .until(&format!("{dialect}: the reply interrupted"), |v| {
                    v.find(".cw-msg--bot .cw-retry").is_some()
                })
                .await;
            assert!(
                visit.streaming_text().contains("Partial words"),
                "{dialect}: the partial text stays"
            );
            assert!(
                visit.text(".cw-alert").contains("connection dropped"),
                "{dialect}: {}",
                visit.text(".cw-alert")
            );
            go_online();
            visit.settle().await;
            visit.get(".cw-msg--bot .cw-retry").click();
        } else {
            // The answer had not begun: the message waits again, and goes again once online.
            visit.settle().await;
            go_offline();
            visit
                .until(&format!("{dialect}: the message waits again"), |v| {
                    v.find(".cw-msg--visitor .cw-status--muted").is_some()
                })
                .await;
            go_online();
        }
        visit
            .until(&format!("{dialect}: the whole reply"), |v| {
                v.bot_bubbles()
                    .iter()
                    .any(|b| b.contains("Complete answer"))
            })
            .await;
        assert_eq!(
            visit.bot_bubbles().len(),
            1,
            "{dialect}: one reply, in one bubble"
        );
        assert_eq!(
            visit.all(".cw-msg--visitor").len(),
            1,
            "{dialect}: the message is not duplicated"
        );
        assert!(
            visit.find(".cw-alert").is_none(),
            "{dialect}: the notice is gone"
        );

        // And the next message works.
        visit.send("Take your time").await;
        visit
            .until(&format!("{dialect}: the next reply"), |v| {
                v.bot_bubbles().iter().any(|b| b.contains("Worth the wait"))
            })
            .await;
    }
}

#[wasm_bindgen_test]
async fn send_during_a_reply_queues_the_text_and_every_message_goes_out_in_order() {
    stub_stream();
    let visit = Visit::start(config("queue")).await;
    let widget = &visit._widget;
    let first = widget.send("message 0");
    visit
        .until("the first request", |_| stream_count() == 1)
        .await;
    // Two hundred more while the first reply is still arriving: none is refused.
    let promises: Vec<js_sys::Promise> = (1..=200)
        .map(|i| widget.send(&format!("message {i}")))
        .collect();
    visit.settle().await;
    assert_eq!(
        visit.all(".cw-msg--visitor").len(),
        201,
        "every message is in the list"
    );
    assert_eq!(stream_count(), 1, "they wait for the reply on its way");
    assert!(visit.all(".cw-msg--visitor")[200]
        .text_content()
        .unwrap()
        .contains("Waiting to be sent"));
    for i in 0..=200u32 {
        visit
            .until(&format!("request {i}"), |_| stream_count() == i + 1)
            .await;
        stream_send(i, START);
        stream_send(i, &done(&format!("answer {i}")));
        stream_close(i);
    }
    visit
        .until("the last answer", |v| v.bot_bubbles().len() == 201)
        .await;
    for i in 0..=200u32 {
        assert_eq!(
            request_field(i, "body.message").as_string(),
            Some(format!("message {i}")),
            "in order"
        );
    }
    // Each answer sits right under its question, though the questions were all written first.
    let rows: Vec<String> = visit
        .all(".cw-rows > .cw-msg .cw-bubble")
        .iter()
        .map(|b| b.text_content().unwrap_or_default())
        .collect();
    for i in 0..=200usize {
        assert!(
            rows[2 * i].contains(&format!("message {i}"))
                && rows[2 * i + 1].contains(&format!("answer {i}")),
            "row {}: {:?}",
            2 * i,
            &rows[2 * i..2 * i + 2]
        );
    }
    assert_eq!(outcome(first).await, r#"{"delivered":true}"#);
    for promise in promises {
        assert_eq!(outcome(promise).await, r#"{"delivered":true}"#);
    }
    // Blank text is not sent, and the Promise says so.
    assert!(outcome(widget.send("  "))
        .await
        .starts_with(r#"{"delivered":false"#));
    // A message still waiting when the conversation is reset is given up, and says so.
    let answering = widget.send("one more");
    let dropped = widget.send("and another");
    visit.until("the request", |_| stream_count() == 202).await;
    widget.reset();
    assert!(outcome(answering).await.contains("NOT_DELIVERED"));
    assert!(outcome(dropped).await.contains("NOT_DELIVERED"));
    assert_eq!(
        stream_count(),
        202,
        "nothing of the old conversation goes out after the reset"
    );
}

/// The parts on their own, in an app's page: `<Composer>` and `<Launcher>` take their state as
/// signals and say what the visitor did through their callbacks.
#[wasm_bindgen_test]
async fn the_composer_and_launcher_parts_work_with_signals_and_callbacks() {
    use chat_widget::{Composer, Launcher};
    use leptos::prelude::*;
    let document = web_sys::window().unwrap().document().unwrap();
    let parent: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&parent).unwrap();
    let sent = RwSignal::new(Vec::<String>::new());
    let accept = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let stops = RwSignal::new(0u32);
    let open = RwSignal::new(false);
    let unread = RwSignal::new(2u32);
    let toggles = RwSignal::new(0u32);
    let draft = RwSignal::new(String::new());
    let handle = leptos::mount::mount_to(parent.clone(), move || {
        view! {
            <Launcher open unread class="app-launcher" on_toggle=move |()| toggles.update(|n| *n += 1)/>
            <Composer
                draft
                busy
                class="app-composer"
                on_send=move |text: String| {
                    sent.update(|s| s.push(text));
                    accept.get_untracked()
                }
                on_stop=move |()| stops.update(|n| *n += 1)
            />
        }
    });
    let tick = || async {
        leptos::task::tick().await;
        wasm_bindgen_futures::JsFuture::from(sleep(30))
            .await
            .unwrap();
    };
    tick().await;
    let get = |selector: &str| -> HtmlElement {
        parent
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no {selector}"))
            .unchecked_into()
    };
    let press = |key: &str, shift: bool| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(key);
        init.set_shift_key(shift);
        init.set_bubbles(true);
        init.set_cancelable(true);
        let event =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        get(".cw-input").dispatch_event(&event).unwrap();
    };

    // The launcher: its name counts the unread replies, its badge shows them, a click is heard.
    let launcher = get(".cw-launcher.app-launcher");
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Open chat (2 unread messages)")
    );
    assert_eq!(get(".cw-badge").text_content().as_deref(), Some("2"));
    launcher.click();
    tick().await;
    assert_eq!(toggles.get_untracked(), 1, "on_toggle heard the click");
    open.set(true);
    tick().await;
    assert_eq!(
        launcher.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Close chat")
    );
    assert!(
        parent.query_selector(".cw-badge").unwrap().is_none(),
        "no badge while open"
    );

    // The composer: Send is disabled while blank; Shift+Enter does not send; a refused text
    // stays in the input, a taken one clears it.
    assert!(get("form.cw-composer.app-composer .cw-send").has_attribute("disabled"));
    let input: HtmlTextAreaElement = get(".cw-input").unchecked_into();
    input.set_value("Hello");
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    input
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).unwrap())
        .unwrap();
    tick().await;
    assert_eq!(
        draft.get_untracked(),
        "Hello",
        "the bound draft follows the input"
    );
    assert!(!get(".cw-send").has_attribute("disabled"));
    press("Enter", true);
    tick().await;
    assert!(
        sent.get_untracked().is_empty(),
        "Shift+Enter is a new line, not a send"
    );
    press("Enter", false);
    tick().await;
    assert_eq!(sent.get_untracked(), vec!["Hello".to_owned()]);
    assert_eq!(input.value(), "Hello", "refused: the text stays");
    accept.set(true);
    press("Enter", false);
    tick().await;
    assert_eq!(sent.get_untracked().len(), 2);
    assert_eq!(input.value(), "", "taken: the input is cleared");
    draft.set("Prefilled".into());
    tick().await;
    assert_eq!(input.value(), "Prefilled", "the app can prefill the draft");

    // While a reply is on its way, Send becomes Stop.
    busy.set(true);
    tick().await;
    assert!(parent
        .query_selector("button.cw-send:not(.cw-stop)")
        .unwrap()
        .is_none());
    get(".cw-stop").click();
    tick().await;
    assert_eq!(stops.get_untracked(), 1, "on_stop heard Stop");

    drop(handle);
    assert!(
        parent.query_selector(".cw-composer").unwrap().is_none(),
        "unmounting removes them"
    );
    parent.remove();
}
