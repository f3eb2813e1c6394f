//! The message list: the greeting, every message with its state, quick replies, the typing
//! dots. A `role="log"` region that follows new text as it streams in, unless the visitor has
//! scrolled up to read; then a "New messages" pill offers the way back down.

use chat_widget_protocol::markdown::allowed_url;
use chat_widget_protocol::ActionKind;
use wasm_bindgen::JsCast;

use super::icon;
use crate::browser::dom;
use crate::browser::reply_dom::ReplyDom;
use crate::chat::{BotReply, Chat, Delivery, Message, ReplyState};
use crate::text::Strings;
use leptos::prelude::*;

/// How close to the bottom (in px) still counts as "at the bottom".
const STICKY_SLACK_PX: i32 = 48;

/// A restored conversation shows its latest this many messages at first; the older ones
/// come in this many at a time, when the visitor scrolls near the top or presses the button.
/// A thousand restored messages cost the time of fifty.
const WINDOW: usize = 50;

/// Draws the list of messages at the end of `parent` (the panel, shown while `open`).
pub fn message_list(parent: &web_sys::Element, chat: Chat, open: RwSignal<bool>) {
    let t = chat.strings();
    let wrap = dom::element("div", "cw-messages-wrap");
    let _ = parent.append_child(&wrap);
    // A log, but not a live one: streamed text would be read out chunk by chunk.
    // Finished replies are announced once, through the status region below.
    let list = dom::html(
        "div",
        "cw-messages",
        &[
            ("role", "log"),
            ("aria-live", "off"),
            ("aria-label", t.messages),
            ("tabindex", "-1"),
        ],
    );
    let _ = wrap.append_child(&list);
    // The greeting, shown first as the bot's.
    let greeting = dom::element("div", "cw-msg cw-msg--bot cw-msg--greeting");
    dom::append(&greeting, "span", "cw-sr-only", &format!("{} ", t.bot_said));
    let greeting_text = dom::append(&greeting, "p", "cw-bubble", "");
    let _ = greeting_text.set_attribute("dir", "auto");
    let greeting = dom::Optional::new(&list, greeting);
    let earlier = dom::html("button", "cw-earlier", &[("type", "button")]);
    earlier.set_text_content(Some(t.earlier_messages));
    let earlier_button = earlier.clone();
    let earlier = dom::Optional::new(&list, earlier.into());
    let rows = dom::element("div", "cw-rows");
    let _ = list.append_child(&rows);
    let typing = dom::html(
        "div",
        "cw-typing",
        &[("role", "status"), ("aria-label", t.typing)],
    );
    for _ in 0..3 {
        dom::append(&typing, "span", "", "");
    }
    let typing = dom::Optional::new(&list, typing.into());
    let announcement = dom::html(
        "div",
        "cw-sr-only",
        &[
            ("role", "status"),
            ("aria-live", "polite"),
            ("aria-atomic", "true"),
        ],
    );
    let _ = wrap.append_child(&announcement);
    let pill = dom::html("button", "cw-pill", &[("type", "button")]);
    let _ = pill.append_with_str_1(t.new_messages);
    let _ = pill.append_child(&dom::icon(icon::DOWN, 16, ""));
    let pill_button = pill.clone();
    let pill = dom::Optional::new(&wrap, pill.into());

    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(false);
    // Whenever something visible changes: follow it if the visitor is at the bottom,
    // otherwise let them read and show the pill.
    {
        let list = list.clone();
        super::effect(move |_| {
            chat.revision.track();
            chat.is_waiting();
            if at_bottom.get_untracked() {
                let list = list.clone();
                dom::next_frame(move || dom::scroll_to_bottom(&list));
            } else {
                unseen.set(true);
            }
        });
    }
    // A closed panel cannot scroll: on opening, a visitor who was at the bottom (or has not
    // opened it yet, with a conversation restored meanwhile) sees the newest messages.
    {
        let list = list.clone();
        super::effect(move |_| {
            if open.get() && at_bottom.get_untracked() {
                let list = list.clone();
                dom::next_frame(move || dom::scroll_to_bottom(&list));
            }
        });
    }
    // Messages held back at the start of a long restored conversation.
    let hidden = RwSignal::new(0usize);
    let seen_len = StoredValue::new(0usize);
    let show_earlier = move || {
        if hidden.get_untracked() > 0 {
            hidden.update(|h| *h = h.saturating_sub(WINDOW));
        }
    };
    {
        let element = list.clone();
        dom::on(&list, "scroll", move |_: web_sys::Event| {
            if element.scroll_top() < 200 {
                show_earlier();
            }
            let bottom = element.scroll_height() - element.scroll_top() - element.client_height()
                <= STICKY_SLACK_PX;
            at_bottom.set(bottom);
            if bottom {
                unseen.set(false);
            }
        });
    }
    {
        let list = list.clone();
        dom::on(&pill_button, "click", move |_: web_sys::Event| {
            at_bottom.set(true);
            unseen.set(false);
            dom::scroll_to_bottom(&list);
        });
    }
    {
        let list = list.clone();
        dom::on(&earlier_button, "click", move |_: web_sys::Event| {
            show_earlier();
            if hidden.get_untracked() == 0 {
                dom::focus(&list);
            }
        });
    }
    dom::on(&rows, "click", move |ev: web_sys::Event| {
        on_control(chat, ev.target());
    });
    super::effect(move |_| {
        let text = chat.look.with(|look| look.greeting.clone());
        greeting.show(text.is_some());
        greeting_text.set_text_content(text.as_deref());
    });
    super::effect(move |_| earlier.show(hidden.get() > 0));
    super::effect(move |_| typing.show(chat.is_waiting()));
    super::effect(move |_| announcement.set_text_content(Some(&chat.announcement.get())));
    super::effect(move |_| pill.show(unseen.get()));
    // The rows, kept in step with the messages shown. Each row's effects belong to an owner
    // of its own under this one (not to this effect, which cleans up what it made on each run).
    let parent = Owner::current().unwrap_or_default();
    let mut drawn = Vec::new();
    super::effect(move |_| {
        let visible = chat.messages.with(|messages| {
            // A jump of more than a window at once is a restore: hold back all but the
            // latest window. A shrink is a new conversation.
            let (before, now) = (seen_len.get_value(), messages.len());
            seen_len.set_value(now);
            if now < before {
                hidden.set(0);
            } else if now > before + WINDOW && before == 0 {
                hidden.set(now - WINDOW);
            }
            messages[hidden.get().min(now)..].to_vec()
        });
        sync_rows(chat, &parent, &rows, &mut drawn, visible);
    });
}

/// One drawn message: its element, and the effect that keeps it current (dropped, and so
/// stopped, with the row, and with it the row's owner). The row holds the message, whose
/// signals are freed once it left the conversation and its row is gone.
struct Row {
    id: u64,
    node: web_sys::Element,
    _effect: RenderEffect<()>,
    _owner: Owner,
    _message: Message,
}

impl Row {
    fn new(chat: Chat, parent: &Owner, message: Message) -> Self {
        let t = chat.strings();
        let node = dom::element("div", "cw-msg");
        let _ = node.set_attribute("data-cw-id", &message.id.to_string());
        let owner = parent.child();
        let effect = owner.with(|| match message.reply {
            Some(reply) => bot_row(chat, t, &node, message.id, message.at, reply),
            None => visitor_row(chat, t, &node, &message),
        });
        Row {
            id: message.id,
            node,
            _effect: effect,
            _owner: owner,
            _message: message,
        }
    }
}

/// Brings the drawn rows in line with the messages to show, in their order: a row is kept
/// (and moved only when it is out of place, so a focused control keeps focus), made, or
/// removed.
fn sync_rows(
    chat: Chat,
    parent: &Owner,
    container: &web_sys::Element,
    drawn: &mut Vec<Row>,
    visible: Vec<Message>,
) {
    let mut old: Vec<Option<Row>> = std::mem::take(drawn).into_iter().map(Some).collect();
    let mut previous: Option<web_sys::Element> = None;
    for message in visible {
        let found = old
            .iter_mut()
            .find(|row| row.as_ref().is_some_and(|row| row.id == message.id))
            .and_then(Option::take);
        let row = found.unwrap_or_else(|| Row::new(chat, parent, message));
        dom::place_after(container, &row.node, previous.as_ref());
        previous = Some(row.node.clone());
        drawn.push(row);
    }
    for gone in old.into_iter().flatten() {
        gone.node.remove();
    }
}

/// A control in a row was pressed: `data-cw` names it (Retry on a message, Retry on a reply,
/// or the index of a quick reply), the row's `data-cw-id` names the message.
fn on_control(chat: Chat, target: Option<web_sys::EventTarget>) -> Option<()> {
    let target: web_sys::Element = target?.dyn_into().ok()?;
    let control = target.closest("[data-cw]").ok()??;
    let id: u64 = control
        .closest(".cw-msg")
        .ok()??
        .get_attribute("data-cw-id")?
        .parse()
        .ok()?;
    let name = control.get_attribute("data-cw")?;
    if name == "retry" {
        chat.retry(id);
        return Some(());
    }
    let reply = chat.find(id)?.reply?;
    if name == "again" {
        chat.retry_reply(reply);
    } else {
        let action = reply
            .actions
            .with_untracked(|actions| actions.get(name.parse::<usize>().ok()?).cloned())?;
        chat.choose_action(reply, &action);
    }
    Some(())
}

/// When a message was written, in the widget's language (the browser's `Intl`).
fn time_element(chat: Chat, at: f64) -> web_sys::Element {
    let (text, iso) = dom::format_time(at, chat.locale.tag());
    let time = dom::element("time", "cw-time");
    time.set_text_content(Some(&text));
    let _ = time.set_attribute("datetime", &iso);
    time
}

/// A visitor's message: its text, time, and while it is not through, why and a Retry.
fn visitor_row(
    chat: Chat,
    t: &'static Strings,
    node: &web_sys::Element,
    message: &Message,
) -> RenderEffect<()> {
    dom::set_class(node, "cw-msg--visitor", true);
    dom::append(node, "span", "cw-sr-only", &format!("{} ", t.you_said));
    let _ = dom::append(node, "p", "cw-bubble", &message.text).set_attribute("dir", "auto");
    let _ = node.append_child(&time_element(chat, message.at));
    // Built once, then shown, hidden and updated, so a focused Retry keeps focus.
    let failed = dom::element("p", "cw-status");
    dom::append(&failed, "span", "", t.not_sent);
    let note = dom::append(&failed, "span", "", "");
    let retry = dom::append_button(&failed, "cw-retry", t.retry, "retry");
    let waiting = dom::element("p", "cw-status cw-status--muted");
    let (node, delivery, auto_retry) = (node.clone(), message.delivery, message.auto_retry);
    RenderEffect::new(move |_| {
        let delivery = delivery.get();
        let is_failed = matches!(delivery, Delivery::Failed(_));
        dom::set_class(&node, "cw-msg--failed", is_failed);
        dom::set_class(&node, "cw-msg--sending", delivery == Delivery::Sending);
        show(&node, &failed, is_failed);
        show(&node, &waiting, delivery == Delivery::Waiting);
        if delivery == Delivery::Waiting {
            // Offline, it waits for the connection; online, for its turn (a reply on its way,
            // a used-up rate-limit window).
            waiting.set_text_content(Some(if chat.online.get() {
                t.waiting_to_send
            } else {
                t.waiting_for_connection
            }));
        }
        if is_failed {
            let left = auto_retry
                .get()
                .map(|at| ((at - chat.now.get()) / 1000.0).ceil().max(1.0) as u64);
            note.set_text_content(left.map(|left| t.retrying_in(left)).as_deref());
            dom::set_flag(&retry, "disabled", !chat.can_send());
        }
    })
}

/// Appends `child` to `parent` when `on` (unless it is there already: moving it would take
/// focus from it), removes it otherwise.
fn show(parent: &web_sys::Element, child: &web_sys::Element, on: bool) {
    match (on, child.parent_node().is_some()) {
        (true, false) => {
            let _ = parent.append_child(child);
        }
        (false, true) => child.remove(),
        _ => {}
    }
}

/// A bot reply: its HTML brought up to date with what changed in each frame (or its whole
/// HTML); under it its time, its state and the quick replies.
fn bot_row(
    chat: Chat,
    t: &'static Strings,
    node: &web_sys::Element,
    id: u64,
    at: f64,
    reply: BotReply,
) -> RenderEffect<()> {
    dom::set_class(node, "cw-msg--bot", true);
    dom::append(node, "span", "cw-sr-only", t.bot_said);
    let bubble = dom::append(node, "div", "cw-bubble cw-markdown", "");
    let _ = bubble.set_attribute("dir", "auto");
    let time = time_element(chat, at);
    let node = node.clone();
    // What is drawn: the reply's HTML (its steps applied as they come); the footer's key
    // (state and quick replies shown) and its buttons.
    let mut drawn = ReplyDom::new(&bubble);
    let mut classes: Option<(bool, bool)> = None;
    let mut footer: Option<(u8, bool)> = None;
    let mut footer_nodes: Vec<web_sys::Element> = Vec::new();
    let mut buttons: Vec<web_sys::Element> = Vec::new();
    RenderEffect::new(move |_| {
        let state = reply.state.get();
        let streaming = state == ReplyState::Streaming;
        // Touched only when they change (this runs once per frame while the reply streams).
        let now = (streaming, streaming && !reply.has_text());
        if classes != Some(now) {
            classes = Some(now);
            dom::set_class(&node, "cw-msg--streaming", now.0);
            dom::set_class(&node, "cw-msg--hidden", now.1);
        }
        reply.html.with(|html| {
            drawn.show(html.attempt, &html.ops, &html.live, html.whole.as_deref());
        });

        // The footer is rebuilt only when what it shows changes.
        let is_last = chat.messages.with(|messages| messages.last().map(|m| m.id)) == Some(id);
        let kind = match state {
            ReplyState::Streaming => 0,
            ReplyState::Complete => 1,
            ReplyState::Stopped => 2,
            ReplyState::Interrupted(_) => 3,
        };
        let with_actions =
            kind == 1 && is_last && reply.actions.with(|actions| !actions.is_empty());
        if footer != Some((kind, with_actions)) {
            footer = Some((kind, with_actions));
            for old in footer_nodes.drain(..) {
                old.remove();
            }
            buttons.clear();
            if !streaming {
                footer_nodes.push(time.clone());
            }
            if kind == 2 {
                let stopped = dom::element("p", "cw-status cw-status--muted");
                stopped.set_text_content(Some(t.stopped));
                footer_nodes.push(stopped);
            }
            if kind == 3 {
                let status = dom::element("p", "cw-status");
                dom::append(&status, "span", "", t.interrupted);
                buttons.push(dom::append_button(&status, "cw-retry", t.retry, "again"));
                footer_nodes.push(status);
            }
            if with_actions {
                let group = dom::element("div", "cw-actions");
                let _ = group.set_attribute("role", "group");
                let _ = group.set_attribute("aria-label", t.suggestions);
                reply.actions.with_untracked(|actions| {
                    for (index, action) in actions.iter().enumerate() {
                        if action.kind == ActionKind::Url {
                            // A link that opens the page, when it is one we may link to.
                            let href = action
                                .payload
                                .as_deref()
                                .and_then(|url| allowed_url(url, &["http:", "https:"]));
                            if let Some(href) = href {
                                let link = dom::append(&group, "a", "cw-action", &action.text);
                                for (name, value) in [
                                    ("dir", "auto"),
                                    ("href", href),
                                    ("target", "_blank"),
                                    ("rel", "noopener noreferrer"),
                                ] {
                                    let _ = link.set_attribute(name, value);
                                }
                            }
                        } else {
                            let button = dom::append_button(
                                &group,
                                "cw-action",
                                &action.text,
                                &index.to_string(),
                            );
                            let _ = button.set_attribute("dir", "auto");
                            buttons.push(button);
                        }
                    }
                });
                footer_nodes.push(group);
            }
            for part in &footer_nodes {
                let _ = node.append_child(part);
            }
        }
        let busy = chat.busy.get();
        for button in &buttons {
            dom::set_flag(button, "disabled", busy);
        }
    })
}
