//! HTTP through `fetch`: one POST with a JSON body, its status and headers, and its body read
//! either whole or chunk by chunk as it streams in. Requests can be aborted. Transport failures
//! become [`ApiError`]s with the widget's own codes; what a body means is the dialect's business.

use chat_widget_protocol::{ApiError, ResponseMeta};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A way to cancel a request (and the reading of its body) from elsewhere.
#[derive(Clone)]
pub struct Abort(Option<web_sys::AbortController>);

impl Abort {
    /// A new, untriggered abort handle.
    pub fn new() -> Self {
        Self(web_sys::AbortController::new().ok())
    }

    /// Cancels the request; its pending futures fail.
    pub fn abort(&self) {
        if let Some(controller) = &self.0 {
            controller.abort();
        }
    }

    fn signal(&self) -> Option<web_sys::AbortSignal> {
        self.0.as_ref().map(web_sys::AbortController::signal)
    }
}

/// A response whose headers have arrived; the body is still to be read.
pub struct HttpResponse {
    /// Status and the headers the dialects care about.
    pub meta: ResponseMeta,
    response: web_sys::Response,
    url: String,
}

/// POSTs `body` as JSON to `url`, with `Authorization: Bearer <key>` when a key is given, and
/// waits for the response's headers.
pub async fn post_json(url: &str, body: &str, bearer: Option<&str>, abort: &Abort) -> Result<HttpResponse, ApiError> {
    fetch(url, Some(body), bearer, "text/event-stream, application/json", abort).await
}

/// GETs `url` asking for `accept`, and waits for the response's headers.
pub async fn get(url: &str, bearer: Option<&str>, accept: &str, abort: &Abort) -> Result<HttpResponse, ApiError> {
    fetch(url, None, bearer, accept, abort).await
}

async fn fetch(url: &str, body: Option<&str>, bearer: Option<&str>, accept: &str, abort: &Abort) -> Result<HttpResponse, ApiError> {
    let request = build_request(url, body, bearer, accept, abort)
        .map_err(|err| ApiError::network(format!("could not build the request to {url}: {}", describe(&err))))?;
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(|err| ApiError::network(format!("request to {url} failed: {}", describe(&err))))?;
    let headers = response.headers();
    let meta = ResponseMeta::from_headers(response.status(), super::dom::now_unix(), |name| {
        headers.get(name).ok().flatten()
    });
    Ok(HttpResponse { meta, response, url: url.to_owned() })
}

impl HttpResponse {
    /// Reads the whole body.
    pub async fn bytes(self) -> Result<Vec<u8>, ApiError> {
        let buffer = match self.response.array_buffer() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(err) => Err(err),
        }
        .map_err(|err| self.broke_off(&err))?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }

    /// Reads the body chunk by chunk as it arrives, handing each to `on_chunk`, which returns
    /// whether to go on reading (`false` cancels the rest of the body).
    /// Ends with `Ok` when the server closed the body or reading was stopped, `Err` when the
    /// connection broke or the request was aborted.
    pub async fn stream(self, mut on_chunk: impl FnMut(&[u8]) -> bool) -> Result<(), ApiError> {
        let Some(body) = self.response.body() else { return Ok(()) };
        let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        // When bytes arrive faster than they are handled, every read resolves at once and the
        // loop would never leave the current task: yield to the browser every few ms so it can
        // paint and handle input (a long task would freeze the page).
        let mut slice_started = js_sys::Date::now();
        loop {
            if js_sys::Date::now() - slice_started > super::dom::TASK_BUDGET_MS {
                super::dom::yield_to_browser().await;
                slice_started = js_sys::Date::now();
            }
            let result = JsFuture::from(reader.read()).await.map_err(|err| self.broke_off(&err))?;
            let done = js_sys::Reflect::get(&result, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true);
            if done {
                return Ok(());
            }
            if let Ok(value) = js_sys::Reflect::get(&result, &"value".into()) {
                if let Some(chunk) = value.dyn_ref::<js_sys::Uint8Array>() {
                    if !on_chunk(&chunk.to_vec()) {
                        let _ = reader.cancel();
                        return Ok(());
                    }
                }
            }
        }
    }

    fn broke_off(&self, err: &JsValue) -> ApiError {
        ApiError::network(format!("the reply from {} broke off: {}", self.url, describe(err)))
    }
}

fn build_request(url: &str, body: Option<&str>, bearer: Option<&str>, accept: &str, abort: &Abort) -> Result<web_sys::Request, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", accept)?;
    if let Some(key) = bearer {
        headers.set("Authorization", &format!("Bearer {key}"))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_mode(web_sys::RequestMode::Cors);
    match body {
        Some(body) => {
            headers.set("Content-Type", "application/json")?;
            init.set_method("POST");
            init.set_body(&JsValue::from_str(body));
        }
        None => init.set_method("GET"),
    }
    init.set_headers(&headers);
    if let Some(signal) = abort.signal() {
        init.set_signal(Some(&signal));
    }
    web_sys::Request::new_with_str_and_init(url, &init)
}

/// A JS exception as text for a console message.
fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
