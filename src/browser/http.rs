//! One POST with a JSON body through `fetch`, read to the end. Transport failures become
//! [`ApiError`]s with the widget's own codes; what the body means is the dialect's business.

use chat_widget_protocol::{ApiError, ResponseMeta};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A response, status and headers read, body read to the end.
pub struct HttpResponse {
    /// Status and the headers the dialects care about.
    pub meta: ResponseMeta,
    /// The raw body.
    pub body: Vec<u8>,
}

/// POSTs `body` as JSON to `url`, with `Authorization: Bearer <key>` when a key is given.
pub async fn post_json(url: &str, body: &str, bearer: Option<&str>) -> Result<HttpResponse, ApiError> {
    let request = build_request(url, body, bearer)
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
    let buffer = match response.array_buffer() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(err) => Err(err),
    }
    .map_err(|err| ApiError::network(format!("the reply from {url} broke off: {}", describe(&err))))?;
    Ok(HttpResponse { meta, body: js_sys::Uint8Array::new(&buffer).to_vec() })
}

fn build_request(url: &str, body: &str, bearer: Option<&str>) -> Result<web_sys::Request, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("Content-Type", "application/json")?;
    headers.set("Accept", "application/json, text/event-stream")?;
    if let Some(key) = bearer {
        headers.set("Authorization", &format!("Bearer {key}"))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_mode(web_sys::RequestMode::Cors);
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(body));
    web_sys::Request::new_with_str_and_init(url, &init)
}

/// A JS exception as text for a console message.
fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
