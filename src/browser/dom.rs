//! Small DOM and console helpers used by the components.

use serde_json::Value;
use wasm_bindgen::JsCast;

/// The current time, unix seconds.
pub fn now_unix() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Writes an error for the site owner to the console.
pub fn console_error(message: &str) {
    web_sys::console::error_1(&message.into());
}

/// Writes a warning for the site owner to the console.
pub fn console_warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}

/// Inserts HTML the widget wrote as `insertAdjacentHTML` does; whether the page let it in.
/// Where the browser has Trusted Types, the HTML goes through the widget's own policy,
/// `chat-widget`, which passes it as it is: it is the Markdown renderer's, safe by its rules
/// (ARCHITECTURE.md). So a page that enforces Trusted Types takes it, as long as its CSP allows
/// that policy name (the console says so once when it does not).
pub fn insert_html(element: &web_sys::Element, position: &str, html: &str) -> bool {
    TRUSTED_HTML.with(|policy| match policy {
        Some(create) => create
            .call1(&wasm_bindgen::JsValue::NULL, &html.into())
            .is_ok_and(|html| {
                let element: &TrustedTarget = element.unchecked_ref();
                element.insert_adjacent(position, &html).is_ok()
            }),
        None => element.insert_adjacent_html(position, html).is_ok(),
    })
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// An element, given `TrustedHTML`.
    type TrustedTarget;

    /// `insertAdjacentHTML` with a `TrustedHTML`.
    #[wasm_bindgen(method, catch, js_name = insertAdjacentHTML)]
    fn insert_adjacent(
        this: &TrustedTarget,
        position: &str,
        html: &wasm_bindgen::JsValue,
    ) -> Result<(), wasm_bindgen::JsValue>;
}

thread_local! {
    /// The `chat-widget` Trusted Types policy's `createHTML`, bound to it, where the browser
    /// has Trusted Types and the page allows the policy.
    static TRUSTED_HTML: Option<js_sys::Function> = trusted_html_policy();
}

fn trusted_html_policy() -> Option<js_sys::Function> {
    let global = js_sys::global();
    let get = |target: &wasm_bindgen::JsValue, key: &str| {
        js_sys::Reflect::get(target, &key.into())
            .ok()
            .filter(|value| !value.is_undefined())
    };
    let factory = get(&global, "trustedTypes")?;
    let rules = js_sys::Object::new();
    // `String` gives back the string it is given: no code is compiled (the strict CSP
    // forbids it).
    js_sys::Reflect::set(&rules, &"createHTML".into(), &get(&global, "String")?).ok()?;
    let create: js_sys::Function = get(&factory, "createPolicy")?.dyn_into().ok()?;
    let policy = create
        .call2(&factory, &"chat-widget".into(), &rules)
        .map_err(|_| {
            console_error(
                "chat-widget: add chat-widget to the trusted-types directive of this page's \
                 Content-Security-Policy",
            )
        })
        .ok()?;
    get(&policy, "createHTML")?
        .dyn_into::<js_sys::Function>()
        .ok()
        .map(|create| create.bind0(&policy))
}

/// Takes the avatar or launcher picture inside `container` out of the document when it fails
/// to load (a wrong or unreachable URL), so the stylesheet shows what it covered (a picture in
/// a reply stays, showing its alt text). In the capture phase: `error` does not bubble.
pub fn drop_broken_pictures(container: &web_sys::Element) {
    listen(container, &["error"], true, |event| {
        let target = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        let ours = |t: &web_sys::Element| t.matches(".cw-avatar--image, .cw-icon--image");
        if let Some(picture) = target.filter(|t| ours(t).unwrap_or(false)) {
            picture.remove();
        }
    });
}

/// Keeps what a visitor does inside `container` (keys, wheel, touch moves, the clipboard,
/// selecting, the context menu) from reaching the page's own handlers, which would take it as
/// done on the page: an event leaves the shadow root retargeted to its host, which is no text
/// field and no scrolling list.
/// - A page that focuses its search on "/" or "s" (documentation sites do) took those
///   characters from the composer.
/// - A page that scroll-jacks (`preventDefault()` on every wheel or touch move, as full-page
///   sliders do) kept the message list from scrolling.
/// - A page that forbids pasting, copying or selecting its text forbade it in the chat too:
///   no pasting an order number in, no copying an answer out.
///
/// The widget's own handlers are on elements inside, so they have run by then.
pub fn keep_events_inside(container: &web_sys::Element) {
    let names = [
        "keydown",
        "keypress",
        "keyup",
        "wheel",
        "touchmove",
        "paste",
        "copy",
        "cut",
        "selectstart",
        "contextmenu",
    ];
    listen(container, &names, false, |event| event.stop_propagation());
}

/// Calls `handler` for the events named `names` on `container` (in the capture phase when
/// `capture`; passive: it never cancels one), for as long as the current Leptos owner keeps
/// the closure (the container goes with it).
fn listen(
    container: &web_sys::Element,
    names: &[&str],
    capture: bool,
    handler: impl Fn(web_sys::Event) + 'static,
) {
    let callback = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new(handler);
    let options = web_sys::AddEventListenerOptions::new();
    options.set_capture(capture);
    options.set_passive(true);
    for name in names {
        let _ = container.add_event_listener_with_callback_and_add_event_listener_options(
            name,
            callback.as_ref().unchecked_ref(),
            &options,
        );
    }
    leptos::prelude::StoredValue::new_local(callback);
}

/// Moves keyboard focus to an element, if it is still in the document.
pub fn focus(element: &web_sys::HtmlElement) {
    let _ = element.focus();
}

/// The launcher the loader drew in `shadow` before the widget arrived (`[data-cw-placeholder]`),
/// or `None` when the shadow root holds something else (a mounted widget).
pub fn placeholder_in(shadow: &web_sys::ShadowRoot) -> Option<web_sys::Element> {
    let mut child = shadow.first_child();
    let mut found = None;
    while let Some(node) = child {
        if let Some(element) = node.dyn_ref::<web_sys::Element>() {
            if element.has_attribute("data-cw-placeholder") {
                found = Some(element.clone());
            } else if element.tag_name() != "STYLE" {
                return None;
            }
        }
        child = node.next_sibling();
    }
    found
}

/// Removes the loader's launcher now that the widget's own is in place (same look, same
/// spot: both are drawn with the same stylesheet, in the same task, so nothing flashes). If it
/// had keyboard focus, the widget's launcher gets it.
pub fn replace_placeholder(shadow: &web_sys::ShadowRoot, placeholder: web_sys::Element) {
    let had_focus = shadow
        .active_element()
        .is_some_and(|active| placeholder.contains(Some(&active)));
    placeholder.remove();
    if had_focus {
        let mut child = shadow.first_child();
        while let Some(node) = child {
            if let Some(element) = node.dyn_ref::<web_sys::Element>() {
                if let Ok(Some(launcher)) = element.query_selector(".cw-launcher") {
                    if let Some(launcher) = launcher.dyn_ref::<web_sys::HtmlElement>() {
                        focus(launcher);
                    }
                    return;
                }
            }
            child = node.next_sibling();
        }
    }
}

#[cfg(feature = "leptos")]
/// The page's document.
pub fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .unwrap_or_else(|| wasm_bindgen::throw_str("chat-widget: no document"))
}

#[cfg(feature = "leptos")]
/// A new element with a class.
pub fn element(tag: &str, class: &str) -> web_sys::Element {
    let element = document()
        .create_element(tag)
        .unwrap_or_else(|_| wasm_bindgen::throw_str("createElement"));
    if !class.is_empty() {
        element.set_class_name(class);
    }
    element
}

/// Runs `f` on the next animation frame (after the DOM has been updated and laid out).
pub fn next_frame(f: impl FnOnce() + 'static) {
    let f: Box<dyn FnOnce()> = Box::new(f);
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(callback.unchecked_ref());
    }
}

/// Sets a CSS custom property through the CSSOM (allowed under a strict `style-src` CSP,
/// unlike a `style="..."` attribute).
pub fn set_css_variable(element: &web_sys::HtmlElement, name: &str, value: &str) {
    let _ = element.style().set_property(name, value);
}

/// Scrolls an element to its bottom, and keeps it there for the next few frames while what
/// comes into view is laid out and grows (`content-visibility: auto` gives rows not yet seen
/// an estimated size), unless the visitor scrolls meanwhile.
pub fn scroll_to_bottom(element: &web_sys::Element) {
    fn settle(element: web_sys::Element, top: i32, frames: u8) {
        next_frame(move || {
            // Scrolled up: the visitor is reading. (Down is the browser's scroll anchoring
            // keeping the view while rows above grow.)
            if frames == 0 || element.scroll_top() < top {
                return;
            }
            // The browser decides what came into view after these callbacks: a row may grow
            // a frame later, so this looks again for a few frames even when nothing changed.
            element.set_scroll_top(element.scroll_height());
            let top = element.scroll_top();
            settle(element, top, frames - 1);
        });
    }
    element.set_scroll_top(element.scroll_height());
    settle(element.clone(), element.scroll_top(), 8);
}

/// How far an element is scrolled: from its top, and from its bottom (px).
pub fn scroll_position(element: &web_sys::Element) -> (i32, i32) {
    let top = element.scroll_top();
    (top, element.scroll_height() - top - element.client_height())
}

/// How long one piece of work may hold the main thread before it yields (well under the
/// 50 ms that makes a long task).
pub const TASK_BUDGET_MS: f64 = 8.0;

/// Work done in steps that gives the browser its turn once a task has run for
/// [`TASK_BUDGET_MS`].
pub struct TaskBudget(f64);

impl TaskBudget {
    /// The task's time counts from now.
    pub fn start() -> Self {
        Self(now_ms())
    }

    /// Between two steps: yields to the browser if this task has had its time, and resumes in
    /// a task of ordinary priority, so a frame that is due is drawn first: `scheduler.postTask`
    /// where the browser has it, else a zero timeout. (`scheduler.yield()` would resume ahead of
    /// the frame: a reply read faster than it is drawn had no frame drawn for a long while.)
    /// Each step after a frame is the first task after it ([`task_started`]).
    pub async fn pause(&mut self) {
        task_started();
        if now_ms() - self.0 <= TASK_BUDGET_MS {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let scheduler = js_sys::Reflect::get(&window, &"scheduler".into()).unwrap_or_default();
        let post = js_sys::Reflect::get(&scheduler, &"postTask".into()).unwrap_or_default();
        let turn = js_sys::Promise::new(&mut |resolve, _| {
            let posted = post
                .dyn_ref::<js_sys::Function>()
                .is_some_and(|post| post.call1(&scheduler, &resolve).is_ok());
            if !posted {
                let _ = window.set_timeout_with_callback(&resolve);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(turn).await;
        task_started();
        self.0 = now_ms();
    }
}

thread_local! {
    /// The frame being measured ([`measure_frame`]): when it started, and when the first task
    /// after it did.
    static FRAME: std::cell::Cell<(f64, Option<f64>)> = const { std::cell::Cell::new((0.0, None)) };
}

/// Measures the work of the animation frame being drawn, which started at `at`: it lasts
/// until the first task after it starts, once the browser has laid out and painted it. That
/// task is a zero timeout, or the read loop's next step when it comes first ([`task_started`]).
pub fn measure_frame(at: f64) {
    FRAME.set((at, None));
    after_ms(0, task_started);
}

/// How long the frame that started at `at` took, once measured ([`measure_frame`]).
pub fn frame_work(at: f64) -> Option<f64> {
    match FRAME.get() {
        (started, Some(end)) if started == at => Some(end - at),
        _ => None,
    }
}

/// Marks the start of a task (called only at one): the end of the frame being measured.
pub fn task_started() {
    if let (at, None) = FRAME.get() {
        FRAME.set((at, Some(now_ms())));
    }
}

/// Dispatches `chat-widget:<name>` with a JSON `detail` on the element hosting `node`'s shadow
/// root (or on `node` itself outside a shadow root). It bubbles and crosses shadow boundaries.
pub fn dispatch_widget_event(node: &web_sys::Node, name: &str, detail: &Value) {
    let root = node.get_root_node();
    let target: web_sys::EventTarget = match root.dyn_ref::<web_sys::ShadowRoot>() {
        Some(shadow) => shadow.host().into(),
        None => node.clone().into(),
    };
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    if let Ok(detail) = js_sys::JSON::parse(&detail.to_string()) {
        init.set_detail(&detail);
    }
    if let Ok(event) =
        web_sys::CustomEvent::new_with_event_init_dict(&format!("chat-widget:{name}"), &init)
    {
        let _ = target.dispatch_event(&event);
    }
}

/// Runs `f` once after `ms` milliseconds.
pub fn after_ms(ms: u32, f: impl FnOnce() + 'static) {
    let f: Box<dyn FnOnce()> = Box::new(f);
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.unchecked_ref(),
            ms as i32,
        );
    }
}

/// Whether the browser believes it is online (`navigator.onLine`; `true` when unknown).
pub fn is_online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

/// Calls `on_change(online)` whenever the browser goes offline or comes back, until the
/// current Leptos owner is cleaned up (the widget unmounts): the listeners go with it.
pub fn watch_online(on_change: impl Fn(bool) + 'static) {
    watch_either([("online", true), ("offline", false)], on_change);
}

/// Calls `on_change(false)` when the page goes away (closed, reloaded, navigated from:
/// `pagehide`) and `on_change(true)` when it comes back from the back-forward cache
/// (`pageshow`), until the current Leptos owner is cleaned up.
pub fn watch_page_shown(on_change: impl Fn(bool) + 'static) {
    watch_either([("pageshow", true), ("pagehide", false)], on_change);
}

/// Calls `on_change(value)` on each of two window events, each with its value, until the
/// current Leptos owner is cleaned up.
fn watch_either(events: [(&'static str, bool); 2], on_change: impl Fn(bool) + 'static) {
    if web_sys::window().is_none() {
        return;
    }
    let on_change = std::rc::Rc::new(on_change);
    for (name, value) in events {
        let on_change = on_change.clone();
        let listener =
            leptos::prelude::window_event_listener_untyped(name, move |_| on_change(value));
        leptos::prelude::on_cleanup(move || listener.remove());
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Waits `ms` milliseconds.
#[cfg_attr(not(feature = "chataibot"), allow(dead_code))] // chataibot's polling
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// What `variables.system` says about the visitor: IANA time zone, the page they are on (or
/// came from), and the browser's language.
#[cfg_attr(not(feature = "chataibot"), allow(dead_code))] // chataibot's `variables.system`
pub fn system_variables() -> (Option<String>, Option<String>, Option<String>) {
    let timezone = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options()
        .dyn_into::<js_sys::Object>()
        .ok()
        .and_then(|options| js_sys::Reflect::get(&options, &"timeZone".into()).ok())
        .and_then(|zone| zone.as_string());
    let window = web_sys::window();
    let document = window.as_ref().and_then(|w| w.document());
    let referrer = document
        .as_ref()
        .map(|d| d.referrer())
        .filter(|r| !r.is_empty())
        .or_else(|| document.as_ref().and_then(|d| d.url().ok()));
    let language = window.and_then(|w| w.navigator().language());
    (timezone, referrer, language)
}

/// The browser's preferred languages, most preferred first (`navigator.languages`).
pub fn browser_languages() -> Vec<String> {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return Vec::new();
    };
    let mut languages: Vec<String> = navigator
        .languages()
        .iter()
        .filter_map(|l| l.as_string())
        .collect();
    if languages.is_empty() {
        languages.extend(navigator.language());
    }
    languages
}

/// Whether a media query matches (`false` when it cannot be asked).
pub fn media_matches(query: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.match_media(query).ok().flatten())
        .is_some_and(|m| m.matches())
}

/// Phones, upright or sideways, also where a page without a viewport meta tag is laid out
/// wider than the phone (the device's size): the open panel covers the screen and is modal
/// (widget.css has the same query).
pub fn is_small_screen() -> bool {
    media_matches(
        "(max-width: 480px), (max-height: 430px), (max-device-width: 480px), (max-device-height: 430px)",
    )
}

/// Touch screens: no autofocus (it would pop the on-screen keyboard up uninvited).
pub fn is_coarse_pointer() -> bool {
    media_matches("(pointer: coarse)")
}

/// The page's scroll position and `overflow`, kept while the full-screen panel is open so the
/// page behind it does not scroll; [`PageScrollLock::release`] puts both back.
pub struct PageScrollLock {
    overflow: String,
    x: f64,
    y: f64,
}

impl PageScrollLock {
    /// Stops the page from scrolling.
    pub fn engage() -> Option<Self> {
        let window = web_sys::window()?;
        let html = window
            .document()?
            .document_element()?
            .dyn_into::<web_sys::HtmlElement>()
            .ok()?;
        let style = html.style();
        let lock = Self {
            overflow: style.get_property_value("overflow").unwrap_or_default(),
            x: window.scroll_x().unwrap_or(0.0),
            y: window.scroll_y().unwrap_or(0.0),
        };
        let _ = style.set_property("overflow", "hidden");
        Some(lock)
    }

    /// Lets the page scroll again, where it was.
    pub fn release(self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some(html) = window
            .document()
            .and_then(|d| d.document_element())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let style = html.style();
            let _ = if self.overflow.is_empty() {
                style.remove_property("overflow").map(|_| ())
            } else {
                style.set_property("overflow", &self.overflow)
            };
        }
        window.scroll_to_with_x_and_y(self.x, self.y);
    }
}

/// Follows the visual viewport (what is visible above an on-screen keyboard): calls
/// `on_change(height, offset_top)` now and whenever it changes.
pub fn watch_visual_viewport(on_change: impl Fn(f64, f64) + 'static) {
    let Some(viewport) = web_sys::window().and_then(|w| w.visual_viewport()) else {
        return;
    };
    let on_change = std::rc::Rc::new(on_change);
    let report = {
        let viewport = viewport.clone();
        let on_change = on_change.clone();
        move || on_change(viewport.height(), viewport.offset_top())
    };
    report();
    let report = std::rc::Rc::new(report);
    let mut listeners = Vec::new();
    for name in ["resize", "scroll"] {
        let report = report.clone();
        let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || report());
        let _ = viewport.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        listeners.push((name, callback));
    }
    // Removed (and the closures freed) when the current Leptos owner is cleaned up. The
    // wrapper only satisfies `on_cleanup`'s `Send`: the widget runs on one thread.
    let listeners = send_wrapper::SendWrapper::new((viewport, listeners));
    leptos::prelude::on_cleanup(move || {
        let (viewport, listeners) = listeners.take();
        for (name, callback) in listeners {
            let _ = viewport
                .remove_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        }
    });
}

/// Keeps Tab and Shift+Tab inside `container` (a modal dialog): from the last focusable
/// element to the first and back. Returns whether it moved focus.
pub fn trap_tab(container: &web_sys::Element, backwards: bool) -> bool {
    let Ok(list) = container.query_selector_all(
        "button:not([disabled]), textarea, a[href], [tabindex]:not([tabindex='-1'])",
    ) else {
        return false;
    };
    let items: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into().ok())
        .collect();
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return false;
    };
    let active = container
        .get_root_node()
        .dyn_into::<web_sys::ShadowRoot>()
        .ok()
        .and_then(|root| root.active_element());
    let active: Option<web_sys::Element> =
        active.or_else(|| web_sys::window()?.document()?.active_element());
    let at = |item: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == item.unchecked_ref::<web_sys::Element>())
    };
    match (backwards, at(first), at(last)) {
        (true, true, _) => {
            focus(last);
            true
        }
        (false, _, true) => {
            focus(first);
            true
        }
        _ => false,
    }
}

/// A time of day in the widget's language, as the browser's `Intl` writes it ("2:05 PM",
/// "14:05"), and the same instant as ISO 8601 for `<time datetime>`.
/// One formatter per language is kept: making an `Intl.DateTimeFormat` is slow (a third of the
/// time to restore a 1,000-message conversation when each message made its own).
pub fn format_time(ms: f64, locale: &str) -> (String, String) {
    thread_local! {
        static FORMATS: std::cell::RefCell<Vec<(String, js_sys::Function)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    let format = FORMATS.with(|formats| {
        let mut formats = formats.borrow_mut();
        if let Some((_, format)) = formats.iter().find(|(tag, _)| tag == locale) {
            return format.clone();
        }
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"hour".into(), &"numeric".into());
        let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
        // `format` is a bound getter: the function it returns can be called on its own.
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::of1(&locale.into()), &options)
                .format();
        formats.push((locale.to_owned(), format.clone()));
        format
    });
    let text = format
        .call1(&wasm_bindgen::JsValue::UNDEFINED, &date)
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    (text, String::from(date.to_iso_string()))
}

/// Milliseconds since the epoch of an ISO 8601 date, or `None` if it is not one.
#[cfg_attr(
    not(any(feature = "jelytech", feature = "chataibot")),
    allow(dead_code)
)] // restored times
pub fn parse_date_ms(iso: &str) -> Option<f64> {
    let ms = js_sys::Date::parse(iso);
    (!ms.is_nan()).then_some(ms)
}

#[cfg(feature = "leptos")]
/// A new element at the end of `parent` (or of `<body>`), to host a widget's shadow root.
pub fn new_host(parent: Option<&web_sys::Element>) -> web_sys::HtmlElement {
    let host: web_sys::HtmlElement = element("div", "").unchecked_into();
    match parent {
        Some(parent) => {
            let _ = parent.append_child(&host);
        }
        None => {
            if let Some(body) = document().body() {
                let _ = body.append_child(&host);
            }
        }
    }
    host
}

#[cfg(feature = "leptos")]
/// Sets an element's `class` attribute.
pub fn set_class_name(element: &web_sys::Element, class: &str) {
    element.set_class_name(class);
}

#[cfg(feature = "leptos")]
/// Takes an element out of the page.
pub fn remove(element: &web_sys::Element) {
    element.remove();
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::Owner;
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn dispatch(target: &web_sys::EventTarget, name: &str) {
        let _ = target.dispatch_event(&web_sys::Event::new(name).unwrap());
    }

    #[wasm_bindgen_test]
    fn the_online_watch_stops_when_its_owner_is_cleaned_up() {
        let window = web_sys::window().unwrap();
        let seen = Rc::new(Cell::new(0));
        let owner = Owner::new();
        owner.with(|| {
            let seen = seen.clone();
            watch_online(move |_| seen.set(seen.get() + 1));
        });
        dispatch(&window, "offline");
        dispatch(&window, "online");
        assert_eq!(seen.get(), 2, "both changes were reported");
        owner.cleanup();
        dispatch(&window, "offline");
        assert_eq!(
            seen.get(),
            2,
            "nothing is reported after the widget is gone"
        );
    }

    #[wasm_bindgen_test]
    fn the_visual_viewport_watch_stops_when_its_owner_is_cleaned_up() {
        let Some(viewport) = web_sys::window().unwrap().visual_viewport() else {
            return; // a browser without a visual viewport has nothing to watch
        };
        let seen = Rc::new(Cell::new(0));
        let owner = Owner::new();
        owner.with(|| {
            let seen = seen.clone();
            watch_visual_viewport(move |_, _| seen.set(seen.get() + 1));
        });
        assert_eq!(seen.get(), 1, "reported once at the start");
        dispatch(&viewport, "resize");
        assert_eq!(seen.get(), 2, "a resize is reported");
        owner.cleanup();
        dispatch(&viewport, "resize");
        dispatch(&viewport, "scroll");
        assert_eq!(
            seen.get(),
            2,
            "nothing is reported after the widget is gone"
        );
    }
}
