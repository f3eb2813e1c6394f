//! HTTP through gloo-net: one POST with a JSON body (or a GET), its status and headers, and its
//! body read either whole or chunk by chunk as it streams in. Requests are aborted through an
//! `AbortController` (gloo-net's `abort_signal`). Transport failures become [`ApiError`]s with
//! the widget's own codes; what a body means is the dialect's business.
//!
//! gloo-net builds the request ([`gloo_net::http::RequestBuilder`]) and wraps the response
//! ([`gloo_net::http::Response`]). web_sys is used where gloo-net has no API: the body as a
//! stream (`Response::body()` is a `ReadableStream`, and gloo-net has no reader for it), and
//! the `fetch` call itself, because gloo-net's `send` panics when a page's own `fetch` wrapper
//! rejects with something that is not an `Error` or resolves with something that is not a
//! `Response`; with `panic = "abort"` that would kill the widget, where it must show a network
//! error and keep the visitor's message.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use chat_widget_protocol::{ApiError, ResponseMeta};
use gloo_net::http::{Request, RequestBuilder, Response};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RequestMode;

/// A way to cancel a request (and the reading of its body) from elsewhere, and optionally a
/// deadline on silence: when no byte arrives for that long (headers, body chunks, keep-alive
/// comments all count), the request is aborted and fails with [`ApiError::timeout`]. Clones
/// share one controller and one deadline, so every request of one reply is under it.
#[derive(Clone)]
pub struct Abort(Rc<AbortState>);

struct AbortState {
    controller: Option<web_sys::AbortController>,
    /// How long silence may last, ms.
    silence_ms: Option<f64>,
    /// Whether a request is being waited on (between requests, e.g. chataibot's polling pauses,
    /// the clock stops).
    watching: Cell<bool>,
    /// When the last sign of life came.
    last_activity: Cell<f64>,
    /// A timer is pending (one at a time; it re-arms itself for the time left).
    scheduled: Cell<bool>,
    timed_out: Cell<bool>,
    /// Rejects when the signal fires ([`Abort::race`]); made at the first race, so that its
    /// rejection is always handled.
    aborted: RefCell<Option<js_sys::Promise>>,
}

impl Abort {
    /// A new, untriggered abort handle.
    #[cfg_attr(
        not(any(feature = "jelytech", feature = "chataibot")),
        allow(dead_code)
    )]
    pub fn new() -> Self {
        Self::with_deadline(None)
    }

    /// An abort handle that also fires when a response is silent for `silence_ms`.
    pub fn with_deadline(silence_ms: Option<u32>) -> Self {
        Self(Rc::new(AbortState {
            controller: web_sys::AbortController::new().ok(),
            silence_ms: silence_ms.map(f64::from),
            watching: Cell::new(false),
            last_activity: Cell::new(0.0),
            scheduled: Cell::new(false),
            timed_out: Cell::new(false),
            aborted: RefCell::new(None),
        }))
    }

    /// Cancels the request; its pending futures fail.
    pub fn abort(&self) {
        if let Some(controller) = &self.0.controller {
            controller.abort();
        }
    }

    /// Whether it was aborted (by [`Abort::abort`] or by the deadline).
    pub fn is_aborted(&self) -> bool {
        self.signal().is_some_and(|signal| signal.aborted())
    }

    /// Whether the deadline on silence fired.
    pub fn timed_out(&self) -> bool {
        self.0.timed_out.get()
    }

    fn signal(&self) -> Option<web_sys::AbortSignal> {
        self.0
            .controller
            .as_ref()
            .map(web_sys::AbortController::signal)
    }

    /// Waits for `promise`, or fails as soon as this is aborted, whichever comes first. A page's
    /// own `fetch` wrapper may pass the request on without its signal: aborting would then end
    /// neither the request nor the reading of its body, and a silent reply or a Stop would
    /// leave the widget waiting for good.
    fn race(&self, promise: js_sys::Promise) -> JsFuture {
        let Some(signal) = self.signal() else {
            return JsFuture::from(promise);
        };
        let aborted = self
            .0
            .aborted
            .borrow_mut()
            .get_or_insert_with(|| {
                js_sys::Promise::new(&mut |_, reject| {
                    if signal.aborted() {
                        let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("aborted"));
                    } else {
                        let _ = signal.add_event_listener_with_callback("abort", &reject);
                    }
                })
            })
            .clone();
        JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(
            &promise, &aborted,
        )))
    }

    /// Something arrived (or a request starts): the silence is counted from now.
    fn alive(&self) {
        let Some(limit) = self.0.silence_ms else {
            return;
        };
        self.0.last_activity.set(super::dom::now_ms());
        self.0.watching.set(true);
        if !self.0.scheduled.replace(true) {
            Self::check_after(self.0.clone(), limit);
        }
    }

    /// The response is read: silence from now on is not the server's.
    fn rest(&self) {
        self.0.watching.set(false);
    }

    fn check_after(state: Rc<AbortState>, ms: f64) {
        super::dom::after_ms(ms.ceil() as u32, move || {
            state.scheduled.set(false);
            let Some(limit) = state.silence_ms else {
                return;
            };
            if !state.watching.get() {
                return;
            }
            let silent = super::dom::now_ms() - state.last_activity.get();
            if silent >= limit {
                state.timed_out.set(true);
                if let Some(controller) = &state.controller {
                    controller.abort();
                }
            } else {
                state.scheduled.set(true);
                Self::check_after(state, limit - silent);
            }
        });
    }

    /// What went wrong, for a console message: `aborted` when it was (the rejection may be
    /// [`Abort::race`]'s, which says nothing), else the error's message.
    fn describe(&self, err: &JsValue) -> String {
        match self.is_aborted() {
            true => "aborted".to_owned(),
            false => describe(err),
        }
    }

    /// The error for a request that failed: the deadline's, if it fired.
    fn failure(&self, otherwise: ApiError) -> ApiError {
        if self.timed_out() {
            ApiError::timeout(otherwise.message)
        } else {
            otherwise
        }
    }
}

/// A response whose headers have arrived; the body is still to be read.
pub struct HttpResponse {
    /// Status and the headers the dialects care about.
    pub meta: ResponseMeta,
    response: Response,
    url: String,
    abort: Abort,
}

/// POSTs `body` as JSON to `url`, with `Authorization: Bearer <key>` when a key is given, and
/// waits for the response's headers.
pub async fn post_json(
    url: &str,
    body: &str,
    bearer: Option<&str>,
    abort: &Abort,
) -> Result<HttpResponse, ApiError> {
    let request = prepare(
        Request::post(url),
        bearer,
        "text/event-stream, application/json",
        abort,
    )
    .header("Content-Type", "application/json")
    .body(body);
    fetch(url, request, abort).await
}

/// GETs `url` asking for `accept`, with the query parameters `query` (escaped by
/// `URLSearchParams`), and waits for the response's headers.
#[cfg_attr(
    not(any(feature = "jelytech", feature = "chataibot")),
    allow(dead_code)
)]
pub async fn get(
    url: &str,
    query: &[(&str, &str)],
    bearer: Option<&str>,
    accept: &str,
    abort: &Abort,
) -> Result<HttpResponse, ApiError> {
    let request = prepare(Request::get(url), bearer, accept, abort)
        .query(query.iter().copied())
        .build();
    fetch(url, request, abort).await
}

/// The request's headers, mode and abort signal.
fn prepare(
    request: RequestBuilder,
    bearer: Option<&str>,
    accept: &str,
    abort: &Abort,
) -> RequestBuilder {
    let request = request
        .mode(RequestMode::Cors)
        .header("Accept", accept)
        .abort_signal(abort.signal().as_ref());
    match bearer {
        Some(key) => {
            let mut value = String::with_capacity(7 + key.len());
            value.push_str("Bearer ");
            value.push_str(key);
            request.header("Authorization", &value)
        }
        None => request,
    }
}

/// Sends the request and waits for the response's headers.
async fn fetch(
    url: &str,
    request: Result<Request, gloo_net::Error>,
    abort: &Abort,
) -> Result<HttpResponse, ApiError> {
    let request = request
        .map_err(|err| ApiError::network(format!("could not build the request to {url}: {err}")))?;
    abort.alive();
    let response = send(request, abort).await.map_err(|err| {
        abort.rest();
        abort.failure(ApiError::network(format!(
            "request to {url} failed: {}",
            abort.describe(&err)
        )))
    })?;
    abort.alive();
    let headers = response.headers();
    let meta = ResponseMeta::from_headers(response.status(), super::dom::now_unix(), |name| {
        headers.get(name)
    });
    Ok(HttpResponse {
        meta,
        response,
        url: url.to_owned(),
        abort: abort.clone(),
    })
}

/// `fetch(request)`, where a rejection of any kind (or a result that is not a `Response`, from
/// a page's own `fetch` wrapper) is an error rather than a panic (see the module doc).
async fn send(request: Request, abort: &Abort) -> Result<Response, JsValue> {
    let request: web_sys::Request = request.into();
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    abort
        .race(window.fetch_with_request(&request))
        .await?
        .dyn_into::<web_sys::Response>()
        .map(Response::from)
        .map_err(|_| JsValue::from_str("fetch gave something that is not a Response"))
}

/// The most bytes read of one response body. A reply's text has its own, lower limit
/// ([`chat_widget_protocol::MAX_REPLY_BYTES`]); this one bounds what a server that never ends
/// its body, or never ends a line of its stream, can make the widget hold.
const MAX_BODY_BYTES: usize = 32 << 20;

/// How much of a large body chunk is handed over at a time (a few hundred SSE events), so a
/// reply that comes in one burst is read in tasks of about [`TASK_BUDGET_MS`](super::dom::TASK_BUDGET_MS).
const CHUNK_SLICE_BYTES: usize = 16 * 1024;

impl HttpResponse {
    /// Reads the whole body (chunk by chunk, so the deadline on silence sees it arrive).
    pub async fn bytes(self) -> Result<Vec<u8>, ApiError> {
        let mut bytes = Vec::new();
        self.stream(|chunk| {
            bytes.extend_from_slice(chunk);
            true
        })
        .await?;
        Ok(bytes)
    }

    /// Reads the body chunk by chunk as it arrives, handing each to `on_chunk`, which returns
    /// whether to go on reading (`false` cancels the rest of the body).
    /// Ends with `Ok` when the server closed the body or reading was stopped, `Err` when the
    /// connection broke, the request was aborted, or nothing arrived before the deadline.
    /// A body longer than [`MAX_BODY_BYTES`] is cut off there, and fails as malformed.
    pub async fn stream(self, mut on_chunk: impl FnMut(&[u8]) -> bool) -> Result<(), ApiError> {
        let mut left = MAX_BODY_BYTES;
        let result = self
            .read(&mut |chunk| {
                left = left.saturating_sub(chunk.len());
                left > 0 && on_chunk(chunk)
            })
            .await;
        self.abort.rest();
        if left == 0 {
            return Err(ApiError::malformed(
                self.meta.status,
                format!(
                    "the reply from {} passed 32 MiB and was cut there",
                    self.url
                ),
            ));
        }
        result.map_err(|err| self.abort.failure(self.broke_off(&err)))
    }

    /// One copy of the read loop for every caller (`on_chunk` is not generic).
    async fn read(&self, on_chunk: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), JsValue> {
        let Some(body) = self.response.body() else {
            return Ok(());
        };
        let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        // When bytes arrive faster than they are handled, every read resolves at once and the
        // loop would never leave the current task: yield to the browser every few ms so it can
        // paint and handle input (a long task would freeze the page). A large chunk (a burst
        // from a buffering proxy: a whole reply can come as one) is handed over in slices,
        // with the same yields between them.
        let mut budget = super::dom::TaskBudget::start();
        let (mut chunk, mut at) = (Vec::new(), 0);
        loop {
            budget.pause().await;
            // Stopped or timed out during a pause: the rest of the chunk is not wanted, and the
            // read fails.
            if at == chunk.len() || self.abort.is_aborted() {
                let result = match self.abort.race(reader.read()).await {
                    Ok(result) => result,
                    Err(err) => {
                        cancel(&reader);
                        return Err(err);
                    }
                };
                self.abort.alive();
                let done = js_sys::Reflect::get(&result, &"done".into())
                    .ok()
                    .and_then(|d| d.as_bool())
                    .unwrap_or(true);
                if done {
                    return Ok(());
                }
                let value = js_sys::Reflect::get(&result, &"value".into()).unwrap_or_default();
                let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() else {
                    continue;
                };
                (chunk, at) = (bytes.to_vec(), 0);
            }
            let end = chunk.len().min(at + CHUNK_SLICE_BYTES);
            if !on_chunk(&chunk[at..end]) {
                cancel(&reader);
                return Ok(());
            }
            at = end;
        }
    }

    fn broke_off(&self, err: &JsValue) -> ApiError {
        ApiError::network(format!(
            "the reply from {} broke off: {}",
            self.url,
            self.abort.describe(err)
        ))
    }
}

/// Cancels the rest of a body. Awaited in the background, so that its rejection (the stream
/// broke or was aborted meanwhile) is handled rather than reported as uncaught.
fn cancel(reader: &web_sys::ReadableStreamDefaultReader) {
    let cancelled = JsFuture::from(reader.cancel());
    wasm_bindgen_futures::spawn_local(async move {
        let _ = cancelled.await;
    });
}

/// A JS exception as text for a console message.
fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
