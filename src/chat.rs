//! The conversation as the visitor sees it: the messages, their delivery and streaming state,
//! and the actions that change them (send, stop, retry, quick replies). Components read these
//! signals; only this module writes them.

use chat_widget_protocol::markdown::{render_markdown, MarkdownStream, StreamOp, StreamUpdate};
use chat_widget_protocol::stream::{ReplyBuilder, StreamEvent};
use chat_widget_protocol::{ApiError, ErrorCode, OutgoingMessage, SuggestedAction};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Map, Value};
use std::rc::Rc;

use crate::api::{BotLook, Earlier, Turn};
use crate::browser::http::Abort;
use crate::browser::{dom, storage, storage::ConversationStore, storage::Slot};
use crate::config::{Position, Theme, WidgetConfig};
use crate::events::WidgetEvent;
use crate::text::{Locale, Strings};
use crate::theme::Color;
use chat_widget_protocol::transcript::{self, Author, Entry};

/// Whether the widget keeps the conversation itself: the dialects whose server gives none
/// back ([`crate::api::ChatDialect::KEEPS_TRANSCRIPT`]). A constant in a build without such
/// a dialect, so the transcript's code goes.
fn keeps_transcript(config: &WidgetConfig) -> bool {
    crate::api::keeps_transcript(config.dialect)
}

/// The `request` of a restored reply: it answers no message of this page (ids start at 1).
const RESTORED: u64 = 0;

/// Who hears about [`WidgetEvent`]s.
type Listener = Rc<dyn Fn(WidgetEvent)>;

/// Told once whether a message was delivered (`None`) or given up (the reason).
type Settled = Box<dyn FnOnce(Option<ApiError>)>;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The visitor.
    Visitor,
    /// The bot.
    Bot,
}

/// Where a visitor's message is on its way to the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Written while offline: it goes as soon as the connection is back.
    Waiting,
    /// Sent, no reply yet.
    Sending,
    /// Being sent by another tab of the same site, which shows how it goes: this tab offers
    /// no Retry (it would send it twice) and shows the outcome once that tab is done.
    InAnotherTab,
    /// The server answered.
    Delivered,
    /// It did not get through; the visitor is told why and can retry.
    Failed(ApiError),
}

/// How far a bot reply got.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyState {
    /// Text is still arriving.
    Streaming,
    /// The whole reply arrived.
    Complete,
    /// The visitor pressed Stop; what arrived stays.
    Stopped,
    /// The stream broke (connection, server error); what arrived stays and Retry is offered.
    Interrupted(ApiError),
}

/// One bubble in the list.
#[derive(Debug, Clone)]
pub struct Message {
    /// Stable key for the list.
    pub id: u64,
    /// Who wrote it.
    pub role: Role,
    /// For visitor messages: what is shown (what they typed, or a quick reply's label).
    pub text: String,
    /// For visitor messages: what is sent instead of `text` (a quick reply's payload).
    pub payload: Option<String>,
    /// For visitor messages: delivery state.
    pub delivery: RwSignal<Delivery>,
    /// For visitor messages that failed on the way (network, 5xx): when the next automatic
    /// attempt happens (ms since the epoch), and how many there were.
    pub auto_retry: RwSignal<Option<f64>>,
    /// Automatic attempts so far.
    attempts: StoredValue<u32>,
    /// For visitor messages a server stores apart from their reply (chataibot): the message's
    /// id there once an attempt got it stored, so that trying again only waits for the reply
    /// instead of posting it twice ([`crate::api::Session::accepted`]). Empty until then.
    accepted: StoredValue<String>,
    /// What this message's signals belong to: cleaned up (and so its signals freed) when the
    /// message leaves the conversation (reset, logout) and the view lets go of it.
    _owner: Owner,
    /// For bot messages: the reply.
    pub reply: Option<BotReply>,
    /// When it was written (ms since the epoch; for a restored message, the server's time).
    pub at: f64,
}

/// A reply's HTML as a view draws it: the steps that build it while it streams (applied to the
/// DOM by `browser::reply_dom`, each frame costing what changed), or its whole HTML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyHtml {
    /// Which attempt this is: Retry starts another, which a view draws from scratch.
    pub attempt: u32,
    /// The steps so far, in order: finished blocks, the shell of the block being written and
    /// its finished parts ([`StreamOp`]). A view applies those it has not applied yet.
    pub ops: Vec<StreamOp>,
    /// The HTML of the unfinished rest, at the end of the block being written.
    pub live: String,
    /// The exact HTML of the whole reply, drawn instead of the steps: a reply that came in one
    /// piece (restored, or a JSON answer), ended early (with its unfinished inline markers
    /// closed, as it looked while streaming), or whose parts cannot add up to the whole render
    /// ([`MarkdownStream::needs_full_render`]).
    pub whole: Option<String>,
    /// This is the reply's final HTML: nothing more will be drawn. A view marks the reply busy
    /// (`aria-busy`) until then; it can come a few frames after the reply ended, when the end
    /// of a long reply arrived faster than a frame draws ([`BotReply`]).
    pub settled: bool,
}

impl ReplyHtml {
    fn has_text(&self) -> bool {
        match &self.whole {
            Some(html) => !html.is_empty(),
            None => !self.ops.is_empty() || !self.live.is_empty(),
        }
    }

    fn extend(&mut self, update: StreamUpdate) {
        self.ops.extend(update.ops);
        self.live = update.live;
    }
}

/// How much of a reply's text one frame draws when more came since the last: this much at
/// first; then as much as the last frame's work says fits in [`FRAME_TARGET_MS`] (at most twice
/// the last share), and never less than [`FRAME_LEAST_BYTES`] or a sixteenth of the text drawn.
/// Text that comes faster waits for the next frames, so one frame's work stays short when a
/// fast server sends a long reply in a burst (or the tab was hidden). Each frame also lays out
/// the whole block being written, so the least share grows with the reply and catching up
/// stays linear.
const FRAME_BYTES: usize = 2 * 1024;

/// The least share of pending text a frame draws.
const FRAME_LEAST_BYTES: usize = 2 * 1024;

/// What a reply that has ended draws at once, without waiting for frames: a short reply that
/// came in one burst (2,000 tokens are about 10 KB) is drawn whole in one task of well under
/// 50 ms, where shares of [`FRAME_BYTES`] and up would add frames after its last byte.
const LAST_FRAME_BYTES: usize = 16 * 1024;

/// The work a frame aims at: under the 50 ms of a long task, with room for the browser's own.
const FRAME_TARGET_MS: f64 = 30.0;

/// One frame at 60 Hz: a frame that came back this long after the last did almost no work.
const VSYNC_MS: f64 = 16.7;

/// How long a message written this long ago that another tab was sending is shown as on its
/// way there ([`Delivery::InAnotherTab`]) when this page reads it. A tab that went away says
/// so (`pagehide`); one that crashed cannot, and after this its messages are shown failed, with
/// Retry: at once when read later, and when the time comes when read earlier.
const IN_ANOTHER_TAB_MS: f64 = 120_000.0;

/// A bot reply, rendered as it streams in.
#[derive(Debug, Clone, Copy)]
pub struct BotReply {
    /// Its HTML, brought up to date at most once per animation frame while it streams.
    pub html: RwSignal<ReplyHtml>,
    /// How far it got.
    pub state: RwSignal<ReplyState>,
    /// Quick replies offered under it.
    pub actions: RwSignal<Vec<SuggestedAction>>,
    /// The visitor message it answers (for Retry).
    pub request: u64,
    markdown: StoredValue<MarkdownStream, LocalStorage>,
    /// Text received but not drawn yet (more than a frame's share came at once).
    pending: StoredValue<String>,
    /// The last frame that drew some of it.
    pace: StoredValue<Option<Pace>>,
    frame_pending: StoredValue<bool>,
    revision: RwSignal<u64>,
}

/// A frame that drew some of a reply's pending text ([`BotReply::frame_share`]).
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// How much it could draw.
    share: usize,
    /// When it started.
    at: f64,
    /// Whether text was left for the next frame.
    limited: bool,
}

impl BotReply {
    fn new(request: u64, revision: RwSignal<u64>) -> Self {
        Self {
            html: RwSignal::new(ReplyHtml::default()),
            state: RwSignal::new(ReplyState::Streaming),
            actions: RwSignal::new(Vec::new()),
            request,
            markdown: StoredValue::new_local(MarkdownStream::new()),
            pending: StoredValue::new(String::new()),
            pace: StoredValue::new(None),
            frame_pending: StoredValue::new(false),
            revision,
        }
    }

    /// The reply's Markdown so far (drawn or not).
    pub fn source(&self) -> String {
        let mut source = self
            .markdown
            .try_with_value(|markdown| markdown.source().to_owned())
            .unwrap_or_default();
        self.pending
            .try_with_value(|pending| source.push_str(pending));
        source
    }

    /// Whether any text has been shown yet.
    pub fn has_text(&self) -> bool {
        self.html.with(ReplyHtml::has_text)
    }

    /// Appends text; the DOM catches up on the next animation frame, once per frame however
    /// many chunks arrive in between (and at most a frame's share of it: [`FRAME_BYTES`]).
    fn push(&self, text: &str) {
        self.pending.update_value(|pending| pending.push_str(text));
        self.next_frame();
    }

    fn next_frame(&self) {
        if !self.frame_pending.get_value() {
            self.frame_pending.set_value(true);
            let reply = *self;
            dom::next_frame(move || reply.flush());
        }
    }

    /// The least share of pending text a frame draws.
    fn least_share(&self) -> usize {
        let drawn = self.markdown.with_value(|markdown| markdown.source().len());
        FRAME_LEAST_BYTES.max(drawn / 16)
    }

    /// How much pending text the frame starting `now` draws (see [`FRAME_BYTES`]). The last
    /// frame's work is measured from the start of its callback to the start of the first task
    /// after it, once the browser has laid out and painted it ([`dom::measure_frame`]); when the
    /// next frame comes first, the time since the last one beyond one vsync stands in for it.
    /// A frame that drew all there was says nothing about a larger share.
    fn frame_share(&self, now: f64) -> usize {
        match self.pace.get_value() {
            Some(last) => {
                let work = dom::frame_work(last.at)
                    .unwrap_or(now - last.at - VSYNC_MS)
                    .max(1.0);
                let grown = if last.limited {
                    last.share.saturating_mul(2)
                } else {
                    last.share
                };
                ((last.share as f64 * FRAME_TARGET_MS / work) as usize).min(grown)
            }
            None => FRAME_BYTES,
        }
        .max(self.least_share())
    }

    /// Draws this frame's share of the pending text, and measures the frame's work; whether
    /// some is left.
    fn draw_share(&self) -> bool {
        let at = dom::now_ms();
        let share = self.frame_share(at);
        let limited = self.take_pending(share);
        self.pace.set_value(Some(Pace { share, at, limited }));
        dom::measure_frame(at);
        limited
    }

    /// Hands up to `limit` bytes of the pending text to the Markdown stream; whether some is
    /// left.
    fn take_pending(&self, limit: usize) -> bool {
        let Some((taken, left)) = self.pending.try_update_value(|pending| {
            let mut end = limit.min(pending.len());
            while !pending.is_char_boundary(end) {
                end += 1;
            }
            let rest = pending.split_off(end);
            (std::mem::replace(pending, rest), !pending.is_empty())
        }) else {
            return false;
        };
        if !taken.is_empty() {
            self.markdown.update_value(|markdown| markdown.push(&taken));
        }
        left
    }

    /// The frame's update: what became final since the last one, and the live rest. The signal
    /// is written only when something changed.
    fn flush(&self) {
        if self.html.is_disposed() {
            return; // the widget was unmounted before this frame
        }
        self.frame_pending.set_value(false);
        // Ended but not settled: it ended complete with text still pending (`finish`).
        let ended = self.state.get_untracked() != ReplyState::Streaming;
        if ended && self.html.with_untracked(|html| html.settled) {
            return; // it ended before this frame
        }
        if self.draw_share() {
            self.next_frame();
        } else if ended {
            self.settle_with(true);
            self.revision.update(|r| *r += 1);
            return;
        }
        let Some(update) = self.markdown.try_update_value(MarkdownStream::update) else {
            return;
        };
        let changed =
            !update.ops.is_empty() || self.html.with_untracked(|html| html.live != update.live);
        if changed {
            self.html.update(|html| html.extend(update));
            self.revision.update(|r| *r += 1);
        }
    }

    /// Ends the reply. A complete reply that was streamed gets its last update (the live rest
    /// rendered exactly as it stands), so the time from the last byte to the final paint stays
    /// short however long the reply; otherwise one render of the whole text gives its HTML.
    /// When more than [`LAST_FRAME_BYTES`] of it is still pending, the frames go on drawing it
    /// first; the reply's state and actions are set at once all the same.
    fn finish(&self, state: ReplyState, actions: Vec<SuggestedAction>) {
        let complete = state == ReplyState::Complete;
        let pending = self.pending.with_value(String::len);
        if complete
            && pending > LAST_FRAME_BYTES.max(self.least_share())
            && !self.html.with_untracked(|html| html.whole.is_some())
        {
            self.next_frame(); // the frames draw the rest, then settle it
        } else {
            self.take_pending(usize::MAX);
            self.frame_pending.set_value(false);
            self.settle_with(complete);
        }
        self.actions.set(actions);
        self.state.set(state);
        self.revision.update(|r| *r += 1);
    }

    /// The reply's final HTML, all its text being in the Markdown stream.
    fn settle_with(&self, complete: bool) {
        let streamed = self
            .html
            .with_untracked(|html| html.whole.is_none() && html.has_text());
        let last = if complete && streamed {
            self.markdown
                .try_update_value(MarkdownStream::finish)
                .flatten()
        } else {
            None
        };
        match last {
            Some(update) => self.html.update(|html| {
                html.extend(update);
                html.settled = true;
            }),
            None => {
                let whole = self.markdown.with_value(|markdown| {
                    if complete {
                        render_markdown(markdown.source())
                    } else {
                        markdown.partial_html()
                    }
                });
                self.html.update(|html| {
                    html.ops = Vec::new();
                    html.live = String::new();
                    html.whole = Some(whole);
                    html.settled = true;
                });
            }
        }
    }

    /// Clears it for another attempt.
    fn reset(&self) {
        self.markdown.set_value(MarkdownStream::new());
        self.pending.set_value(String::new());
        self.pace.set_value(None);
        self.html.update(|html| {
            *html = ReplyHtml {
                attempt: html.attempt.wrapping_add(1),
                ..ReplyHtml::default()
            }
        });
        self.actions.set(Vec::new());
        self.state.set(ReplyState::Streaming);
    }
}

/// The widget's look: the page's settings, and where the page set none, the bot's own from the
/// server where the dialect has one (`BotLook`): the greeting, the brand colour and the corner.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// Shown as the bot's first message and in the greeting bubble.
    pub greeting: Option<String>,
    /// The brand colour.
    pub primary: Color,
    /// The launcher's corner.
    pub position: Position,
    /// Light, dark, or the visitor's system setting.
    pub theme: Theme,
}

/// The request in flight, so Stop can cancel it.
struct InFlight {
    abort: Abort,
    stopping: bool,
    /// The browser went offline while it was on its way.
    went_offline: bool,
}

/// A request whose reply is settled is done; one dropped before that (the widget was
/// unmounted, its values disposed) is aborted, so nothing of a widget that is gone goes on.
impl Drop for InFlight {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// The conversation and the actions on it. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The messages, oldest first.
    pub messages: RwSignal<Vec<Message>>,
    /// A reply is on its way: sending is paused and the send button is a Stop button.
    pub busy: RwSignal<bool>,
    /// Bumps whenever something visible in the list changes (for auto-scroll).
    pub revision: RwSignal<u64>,
    config: StoredValue<WidgetConfig>,
    store: StoredValue<Rc<ConversationStore>, LocalStorage>,
    in_flight: StoredValue<Option<InFlight>, LocalStorage>,
    next_id: StoredValue<u64>,
    /// The widget's reactive owner: each message added later (from a request's task) gets an
    /// owner of its own under it, so a message's signals live no longer than the widget.
    owner: StoredValue<Option<WeakOwner>>,
    /// Bumped by `reset`: a request started before it does not touch the new conversation.
    generation: StoredValue<u64>,
    /// What the site attached with `identify` and `setContext`, sent as metadata.
    metadata: StoredValue<Value>,
    /// Who hears about [`WidgetEvent`]s (the host element's DOM events).
    listener: StoredValue<Option<Listener>, LocalStorage>,
    /// Sending is paused until then (ms since the epoch): a 429, or a window used up.
    pub cooldown_until: RwSignal<Option<f64>>,
    /// The pause is a 429's (the server refused a message), not a used-up window's: the
    /// visitor's new text stays in the input instead of waiting its turn.
    refused: StoredValue<bool>,
    /// Who is told when a message was delivered or given up (the page's `send()` Promises).
    settled: StoredValue<Vec<(u64, Settled)>, LocalStorage>,
    /// The clock the countdowns read, ticking once a second while one runs.
    pub now: RwSignal<f64>,
    /// Whether the browser is online.
    pub online: RwSignal<bool>,
    /// Greeting, colour and corner (page settings, or the bot's configuration where unset).
    pub look: RwSignal<Look>,
    /// Bumped when focus should go back to the composer (the quick reply that had it is gone).
    pub focus_composer: RwSignal<u32>,
    /// A message the server refused as invalid, taken back out of the list to be changed
    /// ([`Chat::edit`]): the composer takes its text.
    pub edited: RwSignal<Option<String>>,
    /// What screen readers should hear next: a reply, once, when it has ended (never each
    /// chunk as it streams in).
    pub announcement: RwSignal<String>,
    /// Whether the panel is open (a dialect that polls for replies slows down while it is
    /// closed).
    pub visible: StoredValue<bool>,
    /// Bumped by `logout`: the view drops what it holds of the previous visitor (the draft in
    /// the input, the unread count).
    pub forgotten: RwSignal<u32>,
    /// The language everything is said in.
    pub locale: Locale,
    /// The visitor's stable id (for a dialect whose server needs one), and the transcript the
    /// widget keeps where the server keeps none ([`Chat::save_transcript`]).
    visitor: StoredValue<Rc<Slot>, LocalStorage>,
    transcript: StoredValue<Rc<Slot>, LocalStorage>,
    /// The visitor's messages the server does not have yet ([`Chat::save_unsent`]), and the
    /// text in the composer ([`Chat::keep_draft`]), for the next page.
    unsent: StoredValue<Rc<Slot>, LocalStorage>,
    draft: StoredValue<Rc<Slot>, LocalStorage>,
    /// Another tab of the same site changed the kept conversation: this one shows it again
    /// from storage once nothing is on its way ([`Chat::catch_up`]).
    stale: StoredValue<bool>,
    /// The page is going away: what it was sending is no longer on its way
    /// ([`Chat::save_unsent`]).
    leaving: StoredValue<bool>,
}

impl Chat {
    /// A chat for this config; the conversation id is looked up lazily in storage.
    pub fn new(config: WidgetConfig) -> Self {
        let store = Rc::new(ConversationStore::new(&config.bot_id));
        let locale = config.locale.unwrap_or_else(|| {
            let languages = dom::browser_languages();
            Locale::negotiate(languages.iter().map(String::as_str))
        });
        let chat = Self {
            messages: RwSignal::new(Vec::new()),
            busy: RwSignal::new(false),
            revision: RwSignal::new(0),
            config: StoredValue::new(config.clone()),
            store: StoredValue::new_local(store),
            in_flight: StoredValue::new_local(None),
            next_id: StoredValue::new(1),
            owner: StoredValue::new(Owner::current().map(|owner| owner.downgrade())),
            generation: StoredValue::new(0),
            metadata: StoredValue::new(Value::Object(Map::new())),
            listener: StoredValue::new_local(None),
            cooldown_until: RwSignal::new(None),
            refused: StoredValue::new(false),
            settled: StoredValue::new_local(Vec::new()),
            now: RwSignal::new(dom::now_ms()),
            online: RwSignal::new(dom::is_online()),
            look: RwSignal::new(Look {
                greeting: config.greeting.clone(),
                primary: config.primary_color,
                // Right-to-left languages mirror the launcher unless the owner chose a corner.
                position: match (config.explicit.position, locale.is_rtl()) {
                    (false, true) => Position::BottomLeft,
                    _ => config.position,
                },
                theme: config.theme,
            }),
            visible: StoredValue::new(false),
            forgotten: RwSignal::new(0),
            announcement: RwSignal::new(String::new()),
            focus_composer: RwSignal::new(0),
            edited: RwSignal::new(None),
            locale,
            visitor: StoredValue::new_local(Rc::new(Slot::new(&config.bot_id, "visitor"))),
            transcript: StoredValue::new_local(Rc::new(Slot::new(&config.bot_id, "transcript"))),
            unsent: StoredValue::new_local(Rc::new(Slot::new(&config.bot_id, "unsent"))),
            draft: StoredValue::new_local(Rc::new(Slot::new(&config.bot_id, "draft"))),
            stale: StoredValue::new(false),
            leaving: StoredValue::new(false),
        };
        // Unmounting (the owner's cleanup) cancels the request on its way.
        let in_flight = chat.in_flight;
        on_cleanup(move || {
            if let Some(in_flight) = in_flight.try_update_value(Option::take).flatten() {
                in_flight.abort.abort();
            }
        });
        chat
    }

    /// Brings back what a reload (or another page of the same site) should show: the bot's
    /// own look where the dialect's server has one (for what the page did not set), and the
    /// conversation. Where the dialect's server keeps the conversation it is read from there
    /// (`crate::api::restore_history`); otherwise from the transcript this widget keeps in `localStorage`
    /// ([`chat_widget_protocol::transcript`]). After it come the visitor's messages that an
    /// earlier page could not get to the server (`Chat::save_unsent`), failed, with Retry.
    /// Runs once when the widget mounts, before the visitor opens the panel.
    pub fn restore(&self) {
        let config = self.config.get_value();
        let this = *self;
        let explicit = config.explicit;
        if !(explicit.greeting && explicit.primary_color && explicit.position) {
            spawn_local(async move {
                match crate::api::bot_look(&config).await {
                    Ok(Some(bot)) => this.apply_bot_look(bot),
                    Ok(None) => {}
                    Err(error) => dom::console_warn(&format!(
                        "chat-widget: could not read the bot's configuration: {error}"
                    )),
                }
            });
        }
        self.restore_conversation();
    }

    /// The conversation part of [`Chat::restore`]: at mount, and when another tab changed it
    /// ([`Chat::catch_up`]).
    fn restore_conversation(&self) {
        let config = self.config.get_value();
        let this = *self;
        let kept = |slot: StoredValue<Rc<Slot>, LocalStorage>, decode: fn(&str) -> Vec<Entry>| {
            slot.with_value(|slot| slot.get())
                .map(|text| decode(&text))
                .unwrap_or_default()
        };
        // The visitor's messages that did not reach the server, after what it has: failed,
        // with Retry (one that was on its way may have arrived, so none goes by itself),
        // except those another tab is sending now.
        let unsent = kept(self.unsent, transcript::decode_unsent);
        let held = unsent.len();
        if keeps_transcript(&config) {
            let entries = kept(self.transcript, transcript::decode);
            let last = entries.len();
            for (index, entry) in entries.into_iter().enumerate() {
                let actions = if index + 1 == last {
                    entry.actions
                } else {
                    Vec::new()
                };
                let earlier = Earlier {
                    from_visitor: entry.from == Author::Visitor,
                    text: entry.text,
                    payload: entry.payload,
                    at: entry.at.map(|at| at as f64),
                    actions,
                    awaiting: None,
                };
                self.push_restored(earlier);
            }
        }
        let now = dom::now_ms();
        let not_sent = || {
            Delivery::Failed(ApiError::new(
                ErrorCode::Other("NOT_SENT".to_owned()),
                "not sent before the page changed",
            ))
        };
        for entry in unsent {
            // How long the other tab still has before this one takes it for gone.
            let left = entry
                .at
                .map(|at| IN_ANOTHER_TAB_MS - (now - at as f64))
                .filter(|left| entry.on_its_way && *left > 0.0);
            let message = self.push_restored(Earlier {
                from_visitor: true,
                text: entry.text,
                payload: entry.payload,
                at: entry.at.map(|at| at as f64),
                actions: Vec::new(),
                awaiting: None,
            });
            let Some(message) = message else { continue };
            let Some(left) = left else {
                message.delivery.set(not_sent());
                continue;
            };
            message.delivery.set(Delivery::InAnotherTab);
            // Still on its way there when the bound runs out: the same as reading it then
            // (a tab that finishes or goes away changes storage, and this list is read again).
            let delivery = message.delivery;
            dom::after_ms(left.ceil() as u32, move || {
                if delivery.try_get_untracked() == Some(Delivery::InAnotherTab) {
                    delivery.set(not_sent());
                }
            });
        }
        if keeps_transcript(&config) {
            return;
        }
        let Some(conversation) = self.store.with_value(|store| store.get()) else {
            return;
        };
        let generation = self.generation.get_value();
        let show = move |history: Result<Vec<Earlier>, ApiError>| match history {
            // A reset or logout while it loaded: that conversation is not shown. The visitor
            // may have written before it arrived: then the list is theirs.
            Ok(history)
                if this.generation.try_get_value() == Some(generation)
                    && this.messages.try_with_untracked(Vec::len) == Some(held) =>
            {
                let last_asked = history
                    .iter()
                    .rev()
                    .find(|earlier| earlier.from_visitor)
                    .map(|earlier| earlier.text.clone());
                for earlier in history {
                    this.push_restored(earlier);
                }
                // The unsent messages go after the history; the one that was on its way when
                // the last page went, if the server has it after all, shows once.
                this.messages.update(|messages| {
                    let mut unsent: Vec<Message> = messages.drain(..held).collect();
                    unsent.retain(|m| Some(&m.text) != last_asked.as_ref());
                    messages.append(&mut unsent);
                });
                this.save_unsent();
                // A message sent before the reload whose answer is still to come.
                this.resume();
            }
            Ok(_) => {}
            Err(error) => {
                dom::console_warn(&format!(
                    "chat-widget: could not restore the conversation: {error}"
                ));
                // The server no longer has it (expired, deleted): the next message starts a
                // new one instead of failing against the old id.
                if error.http_status == Some(404)
                    && this.generation.try_get_value() == Some(generation)
                {
                    this.store.with_value(|store| store.clear());
                }
            }
        };
        spawn_local(async move { show(crate::api::restore_history(&config, &conversation).await) });
    }

    /// Takes the bot's own look for what the page did not set.
    fn apply_bot_look(&self, bot: BotLook) {
        let explicit = self.config.with_value(|config| config.explicit);
        let _ = self.look.try_update(|look| {
            if let Some(greeting) = bot.greeting.filter(|_| !explicit.greeting) {
                look.greeting = Some(greeting);
            }
            if let Some(color) = bot.primary.filter(|_| !explicit.primary_color) {
                look.primary = color;
            }
            if let Some(position) = bot.position.filter(|_| !explicit.position) {
                look.position = position;
            }
        });
    }

    /// Shows a message from an earlier visit (delivered, or a complete reply), with its time when
    /// known and its quick replies (last message only); returns a visitor's. A visitor message
    /// whose answer is still to come waits, as stored, for [`Chat::resume`] to await it.
    fn push_restored(&self, earlier: Earlier) -> Option<Message> {
        let mut visitor = None;
        if earlier.from_visitor {
            let id = self.push_visitor(earlier.text, earlier.payload);
            visitor = self.find(id);
            if let Some(message) = &visitor {
                message.delivery.set(match earlier.awaiting {
                    Some(accepted) => {
                        message.accepted.set_value(accepted);
                        Delivery::Waiting
                    }
                    None => Delivery::Delivered,
                });
            }
        } else {
            let reply = self.push_reply(RESTORED);
            reply
                .markdown
                .update_value(|markdown| markdown.push(&earlier.text));
            reply.finish(ReplyState::Complete, earlier.actions);
        }
        if let Some(at) = earlier.at {
            self.messages.update(|messages| {
                if let Some(last) = messages.last_mut() {
                    last.at = at;
                }
            });
        }
        visitor
    }

    /// The conversation so far, for a dialect that sends it with each message, leaving out
    /// message `before` and later: delivered visitor messages and finished replies.
    fn turns(&self, before: u64) -> Vec<Turn> {
        self.messages.with_untracked(|messages| {
            messages
                .iter()
                .take_while(|m| m.id != before)
                .filter_map(|m| match m.reply {
                    None if m.delivery.get_untracked() == Delivery::Delivered => Some(Turn {
                        from_visitor: true,
                        text: m.payload.clone().unwrap_or_else(|| m.text.clone()),
                    }),
                    Some(reply)
                        if matches!(
                            reply.state.get_untracked(),
                            ReplyState::Complete | ReplyState::Stopped
                        ) =>
                    {
                        Some(Turn {
                            from_visitor: false,
                            text: reply.source(),
                        })
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// Keeps the conversation in `localStorage` where the server keeps none, so a reload or
    /// another page shows it again (and a dialect that sends the history continues it):
    /// delivered messages and finished replies, the newest 100 or 200 KB
    /// ([`transcript::encode`]), with the quick replies under the last one.
    fn save_transcript(&self) {
        // The dialect read out first: the test folds to a constant in a build without such a
        // dialect, and the transcript's code goes.
        if !crate::api::keeps_transcript(self.config.with_value(|config| config.dialect)) {
            return;
        }
        let entries: Vec<Entry> = self.messages.with_untracked(|messages| {
            let last = messages.len();
            let entry = |from, text, payload, m: &Message| Entry {
                from,
                text,
                payload,
                at: Some(m.at.max(0.0) as u64),
                actions: Vec::new(),
                on_its_way: false,
            };
            messages
                .iter()
                .enumerate()
                .filter_map(|(index, m)| match m.reply {
                    None if m.delivery.get_untracked() == Delivery::Delivered => {
                        Some(entry(Author::Visitor, m.text.clone(), m.payload.clone(), m))
                    }
                    Some(reply)
                        if matches!(
                            reply.state.get_untracked(),
                            ReplyState::Complete | ReplyState::Stopped
                        ) =>
                    {
                        let actions = if index + 1 == last {
                            reply.actions.get_untracked()
                        } else {
                            Vec::new()
                        };
                        Some(Entry {
                            actions,
                            ..entry(Author::Bot, reply.source(), None, m)
                        })
                    }
                    _ => None,
                })
                .collect()
        });
        // Never removed when empty: another tab takes a removed transcript as a Reset.
        let encode: fn(&[Entry]) -> Option<String> = |entries| Some(transcript::encode(entries));
        self.keep(self.transcript, &entries, encode, transcript::decode);
    }

    /// Writes `ours` (this page's list) to `slot`, as `encode` has it (`None` removes it).
    /// Where another tab of the same site wrote the slot since this page last read or wrote
    /// it, what is written is that tab's list with this page's changes since applied
    /// ([`transcript::merge`]), and the slot remembers this page's own list as what it last
    /// saw, so that each later write merges too until this page shows the merged list
    /// ([`Chat::catch_up`]).
    fn keep(
        &self,
        slot: StoredValue<Rc<Slot>, LocalStorage>,
        ours: &[Entry],
        encode: fn(&[Entry]) -> Option<String>,
        decode: fn(&str) -> Vec<Entry>,
    ) {
        let write = |slot: &Slot, entries: &[Entry]| match encode(entries) {
            None => slot.clear(),
            Some(text) => slot.set(&text),
        };
        slot.with_value(|slot| match slot.elsewhere() {
            None => write(slot, ours),
            Some((seen, now)) => {
                self.stale.set_value(true);
                let read = |text: Option<String>| text.map(|t| decode(&t)).unwrap_or_default();
                write(slot, &transcript::merge(&read(seen), ours, &read(now)));
                slot.remember_as(encode(ours));
            }
        });
    }

    /// Keeps the visitor's messages that the server does not have yet (waiting their turn, on
    /// their way, failed) in `localStorage`, so that another page shows them again
    /// ([`Chat::restore`]) instead of losing what the visitor wrote.
    fn save_unsent(&self) {
        let leaving = self.leaving.get_value();
        let entries: Vec<Entry> = self.messages.with_untracked(|messages| {
            messages
                .iter()
                .filter(|m| {
                    m.role == Role::Visitor
                        && m.delivery.get_untracked() != Delivery::Delivered
                        && m.accepted.with_value(String::is_empty)
                })
                .map(|m| Entry {
                    from: Author::Visitor,
                    text: m.text.clone(),
                    payload: m.payload.clone(),
                    at: Some(m.at.max(0.0) as u64),
                    actions: Vec::new(),
                    on_its_way: match m.delivery.get_untracked() {
                        Delivery::InAnotherTab => true,
                        Delivery::Waiting | Delivery::Sending => !leaving,
                        _ => !leaving && m.auto_retry.get_untracked().is_some(),
                    },
                })
                .collect()
        });
        let encode: fn(&[Entry]) -> Option<String> =
            |entries| (!entries.is_empty()).then(|| transcript::encode_unsent(entries));
        self.keep(self.unsent, &entries, encode, transcript::decode_unsent);
    }

    /// The draft the visitor left in the composer on an earlier page, if any.
    pub fn saved_draft(&self) -> Option<String> {
        self.draft.with_value(|slot| slot.get())
    }

    /// Keeps the composer's text for the next page (blank: forgets it).
    pub fn keep_draft(&self, text: &str) {
        self.draft.with_value(|slot| match text.trim().is_empty() {
            true => slot.clear(),
            false => slot.set(text),
        });
    }

    /// The visitor-facing strings, in the widget's language.
    pub fn strings(&self) -> &'static Strings {
        self.locale.strings()
    }

    /// Follows the browser's connection: offline shows a banner and gives up the reply on its
    /// way (what arrived stays, interrupted; a message with no reply yet waits); back online
    /// sends what waited.
    pub fn watch_connection(&self) {
        let this = *self;
        dom::watch_online(move |online| {
            if this.online.try_set(online).is_some() {
                return; // unmounted
            }
            if online {
                this.resume();
            } else {
                this.in_flight.update_value(|in_flight| {
                    if let Some(in_flight) = in_flight {
                        in_flight.went_offline = true;
                        in_flight.abort.abort();
                    }
                });
            }
        });
    }

    /// Seconds until sending is allowed again, while a cooldown runs.
    pub fn cooldown_left_s(&self) -> Option<u64> {
        let until = self.cooldown_until.get()?;
        let left = ((until - self.now.get()) / 1000.0).ceil();
        (left > 0.0).then_some(left as u64)
    }

    /// Whether the visitor can send now: no reply on its way, no 429 countdown (during a
    /// used-up window a message is taken and waits its turn).
    pub fn can_send(&self) -> bool {
        !self.busy.get() && !self.refusing(self.cooldown_until.get().is_some())
    }

    /// Whether the countdown is a 429's (the visitor's text stays in the input meanwhile), not a
    /// used-up window's (what they write waits for it).
    pub fn cooldown_refuses(&self) -> bool {
        self.refused.get_value()
    }

    /// Whether the countdown that runs (`running`) is a 429's.
    fn refusing(&self, running: bool) -> bool {
        running && self.refused.get_value()
    }

    /// Pauses sending for `seconds`; a countdown shows, and sending comes back by itself.
    fn start_cooldown(&self, seconds: u64, refused: bool) {
        if refused {
            self.refused.set_value(true);
        }
        let until = dom::now_ms() + seconds as f64 * 1000.0;
        if self
            .cooldown_until
            .get_untracked()
            .is_some_and(|current| current >= until)
        {
            return;
        }
        let running = self.cooldown_until.get_untracked().is_some();
        self.cooldown_until.set(Some(until));
        self.now.set(dom::now_ms());
        if !running {
            self.tick();
        }
    }

    fn tick(&self) {
        let this = *self;
        dom::after_ms(250, move || {
            let now = dom::now_ms();
            if this.now.try_set(now).is_some() {
                return; // unmounted
            }
            match this.cooldown_until.get_untracked() {
                Some(until) if now >= until => {
                    this.refused.set_value(false);
                    this.cooldown_until.set(None);
                    this.announcement
                        .set(this.strings().can_send_again.to_owned());
                    this.resume();
                }
                Some(_) => this.tick(),
                None => {}
            }
        });
    }

    /// Sends the oldest message that waited (offline, cooldown), if the way is clear.
    fn resume(&self) {
        if self.busy.get_untracked()
            || self.cooldown_until.get_untracked().is_some()
            || !self.online.get_untracked()
        {
            return;
        }
        let waiting = self.messages.with_untracked(|messages| {
            messages
                .iter()
                .find(|m| m.delivery.get_untracked() == Delivery::Waiting)
                .map(|m| m.id)
        });
        if let Some(id) = waiting {
            if let Some(message) = self.find(id) {
                message.delivery.set(Delivery::Sending);
            }
            self.deliver(id, None);
        }
    }

    /// Sets who hears about the widget's events.
    pub fn set_listener(&self, listener: impl Fn(WidgetEvent) + 'static) {
        self.listener.set_value(Some(Rc::new(listener)));
    }

    /// Whether someone listens.
    pub fn has_listener(&self) -> bool {
        self.listener.with_value(Option::is_some)
    }

    /// Tells the listener, if any.
    pub fn emit(&self, event: WidgetEvent) {
        if let Some(listener) = self.listener.try_get_value().flatten() {
            listener(event);
        }
    }

    /// Attaches who the visitor is (`userId`, `name`, `email`), sent as metadata from now on.
    pub fn identify(&self, user_id: Option<String>, name: Option<String>, email: Option<String>) {
        self.metadata.update_value(|metadata| {
            let Value::Object(fields) = metadata else {
                return;
            };
            for (key, value) in [("userId", user_id), ("name", name), ("email", email)] {
                match value.filter(|v| !v.trim().is_empty()) {
                    Some(value) => fields.insert(key.to_owned(), value.into()),
                    None => fields.remove(key),
                };
            }
        });
    }

    /// Attaches the page's context (an object), sent as metadata from now on. Replaces the
    /// previous context; identity fields stay.
    pub fn set_context(&self, context: Map<String, Value>) {
        let identity = |key: &str| matches!(key, "userId" | "name" | "email");
        self.metadata.update_value(|metadata| {
            let kept = metadata
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(key, _)| identity(key))
                .map(|(key, value)| (key.clone(), value.clone()));
            let added = context.into_iter().filter(|(key, _)| !identity(key));
            *metadata = Value::Object(kept.chain(added).collect());
        });
    }

    /// Starts over: stops a reply on its way, clears the messages and forgets the stored
    /// conversation; the next message starts a new one.
    pub fn reset(&self) {
        self.start_over("the conversation was reset before it went out");
        self.store.with_value(|store| store.clear());
        self.transcript.with_value(|slot| slot.clear());
        self.unsent.with_value(|slot| slot.clear());
    }

    /// [`Chat::reset`] on this page only, leaving storage alone: another tab started over
    /// (and may have written its new conversation since).
    fn start_over(&self, why: &str) {
        self.settle_all(why);
        self.generation.update_value(|g| *g += 1);
        self.in_flight.update_value(|in_flight| {
            if let Some(in_flight) = in_flight.take() {
                in_flight.abort.abort();
            }
        });
        self.forget_memory();
        self.stale.set_value(false);
        // The old messages' owners are freed as the last holder lets go: here, or (for a
        // message still drawn) when the view removes its row.
        let gone = self.messages.try_update(std::mem::take);
        drop(gone);
        self.announcement.set(String::new());
        self.busy.set(false);
        self.revision.update(|r| *r += 1);
    }

    /// Drops what this page holds of the kept conversation, so it is read from storage again.
    fn forget_memory(&self) {
        self.store.with_value(|store| store.forget_memory());
        for slot in [self.transcript, self.unsent] {
            slot.with_value(|slot| slot.forget_memory());
        }
    }

    /// Follows what other tabs of the same site (and other chats of this page) do with this
    /// bot's conversation, so that no tab overwrites what another kept, and each shows the
    /// same conversation: one that starts over (Reset, logout) starts this one over; one
    /// that adds messages has this one show them (`Chat::catch_up`). A message this page
    /// sends meanwhile is merged in (`Chat::keep`).
    pub fn follow_other_tabs(&self) {
        let this = *self;
        let bot_id = self.config.with_value(|config| config.bot_id.clone());
        storage::watch_other_tabs(&bot_id, move |name, removed, this_page| {
            if this.messages.is_disposed() {
                return;
            }
            // Another chat of this page for the same bot (a floating widget and an inline
            // panel) is followed like another tab; this one's own writes are no news to it.
            if this_page && !this.is_news(name) {
                return;
            }
            match (name, removed) {
                ("conversation" | "transcript", true) => {
                    this.start_over("the conversation was reset in another tab")
                }
                ("visitor", true) => this.visitor.with_value(|slot| slot.forget_memory()),
                ("conversation" | "transcript", false) | ("unsent", _) => {
                    this.stale.set_value(true);
                    this.catch_up();
                }
                _ => {}
            }
        });
        // What a page that goes away was sending is no longer on its way: other tabs offer
        // its Retry (and when it comes back from the back-forward cache, it is again).
        dom::watch_page_shown(move |shown| {
            if this.messages.is_disposed() {
                return;
            }
            this.leaving.set_value(!shown);
            this.save_unsent();
        });
    }

    /// Whether what storage holds under `name` is not what this chat last read or wrote.
    fn is_news(&self, name: &str) -> bool {
        let differs = |slot: StoredValue<Rc<Slot>, LocalStorage>| {
            slot.with_value(|slot| slot.elsewhere().is_some())
        };
        match name {
            "conversation" => self.store.with_value(|store| store.is_news()),
            "transcript" => differs(self.transcript),
            "unsent" => differs(self.unsent),
            "visitor" => differs(self.visitor),
            _ => false,
        }
    }

    /// Shows the conversation again from storage, which another tab changed, once nothing of
    /// this page is on its way or waits its turn (a message's state would be lost).
    fn catch_up(&self) {
        let quiet = !self.busy.get_untracked()
            && self.settled.with_value(Vec::is_empty)
            && self.messages.with_untracked(|messages| {
                messages.iter().all(|m| {
                    m.auto_retry.get_untracked().is_none()
                        && !matches!(
                            m.delivery.get_untracked(),
                            Delivery::Waiting | Delivery::Sending
                        )
                })
            });
        if !quiet || !self.stale.get_value() {
            return;
        }
        self.stale.set_value(false);
        self.generation.update_value(|g| *g += 1);
        self.forget_memory();
        let gone = self.messages.try_update(std::mem::take);
        drop(gone);
        self.restore_conversation();
        self.revision.update(|r| *r += 1);
    }

    /// Like [`Chat::reset`], and also forgets who the visitor is and everything kept for this
    /// bot, in memory and in storage: the identity and context, the visitor id, the
    /// transcript, the draft and the unread count. The next person on a shared computer starts
    /// clean.
    pub fn logout(&self) {
        self.reset();
        self.metadata.set_value(Value::Object(Map::new()));
        self.visitor.with_value(|slot| slot.clear());
        let bot_id = self.config.with_value(|config| config.bot_id.clone());
        storage::forget_bot(&bot_id);
        self.forgotten.update(|n| *n += 1);
    }

    /// Whether the typing dots show: a message awaits its reply, or a reply has no text yet.
    pub fn is_waiting(&self) -> bool {
        self.messages.with(|messages| {
            messages.iter().any(|m| match (m.role, m.reply) {
                (Role::Visitor, _) => m.delivery.get() == Delivery::Sending,
                (Role::Bot, Some(reply)) => {
                    reply.state.get() == ReplyState::Streaming && !reply.has_text()
                }
                (Role::Bot, None) => false,
            })
        })
    }

    /// How many bot replies have completed on this page (for the unread count): restored ones,
    /// which answer no message of this page, were read before and do not count.
    pub fn completed_replies(&self) -> usize {
        self.messages.with(|messages| {
            messages
                .iter()
                .filter(|m| {
                    m.reply.is_some_and(|r| {
                        r.request != RESTORED && r.state.get() == ReplyState::Complete
                    })
                })
                .count()
        })
    }

    /// The visitor-facing explanation of the newest problem still on screen, if any.
    pub fn latest_error(&self) -> Option<String> {
        self.messages.with(|messages| {
            messages.iter().rev().find_map(|m| {
                match (m.delivery.get(), m.reply.map(|r| r.state.get())) {
                    (Delivery::Failed(err), _) => Some(self.strings().visitor_error(&err)),
                    (_, Some(ReplyState::Interrupted(err))) => {
                        Some(self.strings().interrupted_reply(&err))
                    }
                    _ => None,
                }
            })
        })
    }

    /// Sends what the visitor typed in the composer. Offline, or during a used-up rate-limit
    /// window, it is taken and waits its turn. Blank text, or text while a reply is arriving or
    /// a 429's countdown runs, is not taken (the caller keeps it in the input). Returns whether
    /// it was taken.
    pub fn send(&self, text: &str) -> bool {
        if !self.can_send_untracked() {
            return false;
        }
        self.submit(text).is_some()
    }

    /// Sends on the visitor's behalf (the page's `send()`): while a reply is arriving, during
    /// a countdown or offline, the message waits its turn, and the queue goes out in order.
    /// Returns the message's id (see [`Chat::when_settled`]); `None` for blank text.
    pub fn send_queued(&self, text: &str) -> Option<u64> {
        self.submit(text)
    }

    fn can_send_untracked(&self) -> bool {
        !self.busy.get_untracked() && !self.refusing(self.cooldown_until.get_untracked().is_some())
    }

    fn submit(&self, text: &str) -> Option<u64> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let id = self.push_visitor(text.to_owned(), None);
        self.emit(WidgetEvent::MessageSent {
            text: text.to_owned(),
        });
        if let Some(message) = self.find(id) {
            message.delivery.set(Delivery::Waiting);
        }
        // Messages go in order: this one after any that wait already.
        self.resume();
        self.save_unsent();
        Some(id)
    }

    /// Calls `f` once message `id` is delivered (`None`) or given up (why): failed with no
    /// automatic retry left, or dropped by a reset, a logout or the widget's removal.
    pub fn when_settled(&self, id: u64, f: impl FnOnce(Option<ApiError>) + 'static) {
        self.settled
            .update_value(|settled| settled.push((id, Box::new(f))));
    }

    /// Tells who waits for message `id` (every message: `None`) how it went.
    fn settle(&self, id: Option<u64>, outcome: Option<ApiError>) {
        let settled = self
            .settled
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        for (of, f) in settled {
            if id.is_none_or(|id| id == of) {
                f(outcome.clone());
            } else {
                self.settled.update_value(|settled| settled.push((of, f)));
            }
        }
    }

    /// Gives up every message still waiting to be settled (reset, logout, unmount).
    pub fn settle_all(&self, why: &str) {
        self.settle(
            None,
            Some(ApiError::new(
                ErrorCode::Other("NOT_DELIVERED".to_owned()),
                why,
            )),
        );
    }

    /// Sends a quick reply: its label is shown as the visitor's message, its payload is sent,
    /// and the buttons go away.
    pub fn choose_action(&self, from: BotReply, action: &SuggestedAction) {
        if self.busy.get_untracked() || self.cooldown_until.get_untracked().is_some() {
            return;
        }
        from.actions.set(Vec::new());
        self.focus_composer.update(|n| *n += 1);
        let id = self.push_visitor(action.text.clone(), action.payload.clone());
        self.emit(WidgetEvent::MessageSent {
            text: action.text.clone(),
        });
        self.deliver(id, None);
        self.save_unsent();
    }

    /// Sends a failed visitor message again (now, or in its turn when a reply is arriving or
    /// the rate-limit window is used up; not during a 429's countdown).
    pub fn retry(&self, id: u64) {
        let Some(message) = self.find(id) else { return };
        if !self.refusing(self.cooldown_until.get_untracked().is_some())
            && matches!(message.delivery.get_untracked(), Delivery::Failed(_))
        {
            message.auto_retry.set(None);
            message.delivery.set(Delivery::Waiting);
            self.resume();
        }
    }

    /// Takes a failed visitor message out of the conversation (and out of what is kept as
    /// unsent) and hands its text to the composer ([`Chat::edited`]) to be changed: what a
    /// message the server refused as invalid (too long, say) offers instead of a Retry that
    /// would be refused again.
    pub fn edit(&self, id: u64) {
        let Some(message) = self.find(id) else { return };
        if !matches!(message.delivery.get_untracked(), Delivery::Failed(_)) {
            return;
        }
        self.messages
            .update(|messages| messages.retain(|m| m.id != id));
        self.save_unsent();
        self.edited.set(Some(message.text.clone()));
        self.revision.update(|r| *r += 1);
    }

    /// After a network failure or a 5xx, tries again by itself: 1, 2, 4, 8 s (with jitter,
    /// at most 30 s), up to four times; then the visitor's Retry button is what is left.
    /// Returns whether one was scheduled.
    fn schedule_auto_retry(&self, message: &Message) -> bool {
        const MAX_AUTOMATIC: u32 = 4;
        let attempt = message.attempts.get_value();
        if attempt >= MAX_AUTOMATIC {
            message.auto_retry.set(None);
            return false;
        }
        message.attempts.set_value(attempt + 1);
        let base = (1000.0 * 2f64.powi(attempt as i32)).min(30_000.0);
        let delay = base * (0.5 + js_sys::Math::random() * 0.5);
        message.auto_retry.set(Some(dom::now_ms() + delay));
        if self.cooldown_until.get_untracked().is_none() {
            self.now.set(dom::now_ms());
        }
        let (this, id, when) = (*self, message.id, message.auto_retry);
        dom::after_ms(delay as u32, move || {
            if when.try_get_untracked().flatten().is_none() {
                return; // retried by hand, reset, or unmounted
            }
            if this.online.get_untracked() {
                this.retry(id);
            }
        });
        self.tick_for_display();
        true
    }

    /// Keeps the "retrying in N s" text current while an automatic retry is pending.
    fn tick_for_display(&self) {
        let this = *self;
        dom::after_ms(500, move || {
            if this.now.try_set(dom::now_ms()).is_some() {
                return;
            }
            let pending = this
                .messages
                .with_untracked(|m| m.iter().any(|m| m.auto_retry.get_untracked().is_some()));
            if pending {
                this.tick_for_display();
            }
        });
    }

    /// Asks again for a reply that was interrupted; it streams into the same bubble.
    pub fn retry_reply(&self, reply: BotReply) {
        if !self.busy.get_untracked()
            && matches!(reply.state.get_untracked(), ReplyState::Interrupted(_))
        {
            reply.reset();
            self.deliver(reply.request, Some(reply));
        }
    }

    /// Stops the reply on its way. What arrived stays, marked as stopped.
    pub fn stop(&self) {
        self.in_flight.update_value(|in_flight| {
            if let Some(in_flight) = in_flight {
                in_flight.stopping = true;
                in_flight.abort.abort();
            }
        });
    }

    /// Message `id`, if it is still in the conversation.
    pub fn find(&self, id: u64) -> Option<Message> {
        self.messages
            .with_untracked(|messages| messages.iter().find(|m| m.id == id).cloned())
    }

    fn next_id(&self) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    /// A new owner for a message's signals: a child of the widget's owner (so unmounting
    /// frees it too), cleaned up when the message leaves and nothing holds it any more.
    fn message_owner(&self) -> Owner {
        match self
            .owner
            .try_with_value(|owner| owner.as_ref().and_then(WeakOwner::upgrade))
            .flatten()
        {
            Some(parent) => parent.child(),
            None => Owner::new(),
        }
    }

    fn push_visitor(&self, text: String, payload: Option<String>) -> u64 {
        let id = self.next_id();
        let owner = self.message_owner();
        let (delivery, auto_retry, attempts, accepted) = owner.with(|| {
            (
                RwSignal::new(Delivery::Sending),
                RwSignal::new(None),
                StoredValue::new(0),
                StoredValue::new(String::new()),
            )
        });
        let message = Message {
            id,
            role: Role::Visitor,
            text,
            payload,
            delivery,
            auto_retry,
            attempts,
            accepted,
            _owner: owner,
            reply: None,
            at: dom::now_ms(),
        };
        self.messages.update(|messages| messages.push(message));
        self.revision.update(|r| *r += 1);
        id
    }

    fn push_reply(&self, request: u64) -> BotReply {
        let owner = self.message_owner();
        let (reply, delivery, auto_retry, attempts, accepted) = owner.with(|| {
            (
                BotReply::new(request, self.revision),
                RwSignal::new(Delivery::Delivered),
                RwSignal::new(None),
                StoredValue::new(0),
                StoredValue::new(String::new()),
            )
        });
        let message = Message {
            id: self.next_id(),
            role: Role::Bot,
            text: String::new(),
            payload: None,
            delivery,
            auto_retry,
            attempts,
            accepted,
            _owner: owner,
            reply: Some(reply),
            at: dom::now_ms(),
        };
        // Right under the message it answers (and that message's earlier replies): messages
        // still waiting their turn stay below it, so the conversation reads in order.
        self.messages.update(|messages| {
            let at = messages
                .iter()
                .position(|m| m.id == request)
                .map(|question| {
                    question
                        + 1
                        + messages[question + 1..]
                            .iter()
                            .take_while(|m| m.reply.is_some_and(|r| r.request == request))
                            .count()
                });
            messages.insert(at.unwrap_or(messages.len()), message);
        });
        reply
    }

    /// Sends visitor message `id` and streams the answer into `reply` (a new bubble if `None`).
    fn deliver(&self, id: u64, reply: Option<BotReply>) {
        let Some(message) = self.find(id) else { return };
        let this = *self;
        let config = self.config.get_value();
        let previous_conversation = self.store.with_value(|store| store.get());
        let metadata = self.metadata.with_value(|m| {
            m.as_object()
                .is_some_and(|fields| !fields.is_empty())
                .then(|| m.clone())
        });
        let outgoing = OutgoingMessage {
            message: message
                .payload
                .clone()
                .unwrap_or_else(|| message.text.clone()),
            conversation_id: previous_conversation.clone(),
            stream: Some(config.stream),
            metadata,
        };
        let generation = self.generation.get_value();
        let abort = Abort::with_deadline(Some(config.reply_timeout_ms));
        self.in_flight.set_value(Some(InFlight {
            abort: abort.clone(),
            stopping: false,
            went_offline: false,
        }));
        self.busy.set(true);

        let history = if crate::api::sends_history(config.dialect) {
            self.turns(id)
        } else {
            Vec::new()
        };
        let visitor_id = if crate::api::has_visitor_id(config.dialect) {
            self.visitor.with_value(|slot| storage::visitor_id(slot))
        } else {
            String::new()
        };

        spawn_local(async move {
            let mut reply = reply;
            let mut builder = ReplyBuilder::new();
            let current = || {
                !this.messages.is_disposed() && this.generation.try_get_value() == Some(generation)
            };
            let visible = || this.visible.try_get_value().unwrap_or(true);
            let session = crate::api::Session {
                config: &config,
                history,
                visitor_id,
                visible: &visible,
                accepted: message.accepted,
            };
            let result = crate::api::send(&session, &outgoing, &abort, |event| {
                if !current() {
                    return;
                }
                // Kept at once: the page may go while the reply is awaited (a chataibot
                // answer, or a long stream), and the next page finds the conversation.
                if let StreamEvent::Start {
                    conversation_id: Some(id),
                    ..
                } = &event
                {
                    this.store.with_value(|store| store.set(id));
                    this.save_unsent(); // the server has the message (chataibot's `accepted`)
                }
                if let Ok(Some(text)) = builder.apply(event) {
                    // Signals are set only when something changes: this runs once per chunk.
                    let reply = reply.get_or_insert_with(|| {
                        message.delivery.set(Delivery::Delivered);
                        // Now: the page may go before the reply ends.
                        this.save_unsent();
                        #[cfg(any(feature = "chatbots", feature = "jombot", feature = "openai"))]
                        this.save_transcript();
                        this.push_reply(id)
                    });
                    reply.push(&text);
                }
            })
            .await;
            if !current() {
                return; // unmounted or reset while the reply was on its way: nothing to update
            }
            let (stopped, went_offline) = this.in_flight.with_value(|f| {
                f.as_ref()
                    .map_or((false, false), |f| (f.stopping, f.went_offline))
            });
            this.in_flight.set_value(None);

            let built = builder.into_reply();
            if !built.conversation_id.is_empty() {
                this.store
                    .with_value(|store| store.set(&built.conversation_id));
                // Started on the server even when its reply then failed: a retry continues it.
                if previous_conversation.is_none() {
                    this.emit(WidgetEvent::ConversationStarted {
                        conversation_id: built.conversation_id.clone(),
                    });
                }
            }
            match (result, reply) {
                (Ok(wait), reply) => {
                    message.delivery.set(Delivery::Delivered);
                    message.attempts.set_value(0);
                    if let Some(seconds) = wait {
                        this.start_cooldown(seconds, false);
                    }
                    let reply = reply.unwrap_or_else(|| this.push_reply(id));
                    reply.finish(ReplyState::Complete, built.suggested_actions);
                    this.announce(reply, built.text.clone(), None, generation);
                    this.save_transcript();
                    this.emit(WidgetEvent::MessageReceived {
                        text: built.text,
                        conversation_id: built.conversation_id,
                    });
                    this.settle(Some(id), None);
                }
                (Err(_), reply) if stopped => {
                    message.delivery.set(Delivery::Delivered);
                    let reply = reply.unwrap_or_else(|| this.push_reply(id));
                    reply.finish(ReplyState::Stopped, Vec::new());
                    this.announce(reply, built.text, Some(this.strings().stopped), generation);
                    this.save_transcript();
                    this.settle(Some(id), None);
                }
                (Err(_), None) if went_offline => {
                    // Nothing of the reply came: the message waits for the connection, like
                    // one written while offline, and goes by itself when it is back.
                    message.delivery.set(Delivery::Waiting);
                }
                (Err(error), Some(reply)) => {
                    let error = if went_offline {
                        ApiError::network("the connection was lost")
                    } else {
                        error
                    };
                    this.report(&error, &config);
                    reply.finish(ReplyState::Interrupted(error), Vec::new());
                    this.announce(
                        reply,
                        built.text,
                        Some(this.strings().interrupted),
                        generation,
                    );
                    this.settle(Some(id), None); // the message got through; its reply broke off
                }
                (Err(error), None) => {
                    this.report(&error, &config);
                    let code = error.code.clone();
                    let wait = error.retry_after_s;
                    message.delivery.set(Delivery::Failed(error.clone()));
                    let retrying = match code {
                        ErrorCode::RateLimitExceeded => {
                            this.start_cooldown(wait.unwrap_or(10).max(1), true);
                            false
                        }
                        ErrorCode::Network | ErrorCode::Server => this
                            .find(id)
                            .is_some_and(|message| this.schedule_auto_retry(&message)),
                        _ => false,
                    };
                    if !retrying {
                        this.settle(Some(id), Some(error));
                    }
                }
            }
            this.busy.set(false);
            this.revision.update(|r| *r += 1);
            this.resume();
            this.save_unsent();
            this.catch_up();
        });
    }

    /// Queues a finished reply for screen readers, as plain text with the bot's prefix, in a
    /// task after the frame that drew its final HTML: the plain text of a long reply takes a
    /// while, and its last frames do not wait for it. A reset since `generation` (the
    /// conversation the reply belongs to) drops it.
    fn announce(
        &self,
        reply: BotReply,
        markdown: String,
        note: Option<&'static str>,
        generation: u64,
    ) {
        let this = *self;
        dom::next_frame(move || {
            let current = move || this.generation.try_get_value() == Some(generation);
            if !current() {
                return;
            }
            if reply.html.try_with_untracked(|html| html.settled) == Some(false) {
                return this.announce(reply, markdown, note, generation); // still drawing
            }
            // In a task of its own after that frame: the text of a long reply takes a while
            // to lay out, even off screen.
            dom::after_ms(0, move || {
                let text = chat_widget_protocol::markdown::plain_text(&markdown);
                if !current() || (text.is_empty() && note.is_none()) {
                    return;
                }
                let said = [
                    Some(this.strings().bot_said),
                    Some(text.as_str()).filter(|t| !t.is_empty()),
                    note,
                ];
                let _ = this
                    .announcement
                    .try_set(said.into_iter().flatten().collect::<Vec<_>>().join(" "));
            });
        });
    }

    fn report(&self, error: &ApiError, config: &WidgetConfig) {
        self.emit(WidgetEvent::Error {
            code: error.code.as_str().to_owned(),
            message: error.message.clone(),
        });
        match crate::text::owner_diagnostic(error, &config.bot_id, &config.api_url) {
            Some(diagnostic) => dom::console_error(&diagnostic),
            None => dom::console_warn(&format!("chat-widget: no complete reply: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Every signal of the messages that left is freed: after 20 resets none of the 100
    /// messages' signals is alive, while the chat's own still are.
    #[wasm_bindgen_test]
    fn a_reset_frees_the_signals_of_the_messages_that_left() {
        let root = Owner::new();
        let chat = root.with(|| Chat::new(WidgetConfig::new("owners", "http://127.0.0.1:9")));
        let mut delivery = Vec::new();
        let mut replies = Vec::new();
        for round in 0..20 {
            for _ in 0..5 {
                let id = chat.push_visitor(format!("question {round}"), None);
                let reply = chat.push_reply(id);
                reply.push("an *answer*");
                delivery.push(chat.find(id).expect("just added").delivery);
                replies.push(reply);
            }
            let alive = delivery.iter().filter(|d| !d.is_disposed()).count();
            assert_eq!(
                alive, 5,
                "round {round}: only this round's messages are alive"
            );
            chat.reset();
            assert!(chat.messages.with_untracked(Vec::is_empty));
        }
        assert!(delivery.iter().all(|d| d.is_disposed()));
        assert!(replies
            .iter()
            .all(|r| r.html.is_disposed() && r.markdown.is_disposed()));
        assert!(!chat.messages.is_disposed(), "the chat itself lives on");
        root.cleanup();
        assert!(chat.messages.is_disposed(), "unmounting frees the chat");
    }

    /// The HTML a reply's steps add up to so far.
    fn drawn(reply: &BotReply) -> String {
        reply.html.with_untracked(|html| {
            if let Some(whole) = &html.whole {
                return whole.clone();
            }
            let mut applied = chat_widget_protocol::markdown::AppliedHtml::default();
            StreamUpdate {
                ops: html.ops.clone(),
                live: html.live.clone(),
            }
            .apply_to(&mut applied);
            applied.html()
        })
    }

    /// A long reply that arrives at once (a fast server, or a tab that was hidden) is drawn a
    /// share per frame, so no frame holds the page for long; the reply counts as complete at
    /// once, nothing of its text is lost, and it ends exactly as its whole render.
    #[wasm_bindgen_test]
    async fn a_long_reply_that_comes_at_once_is_drawn_over_frames_and_ends_whole() {
        let root = Owner::new();
        let chat = root.with(|| Chat::new(WidgetConfig::new("owners", "http://127.0.0.1:9")));
        let id = chat.push_visitor("a long one".into(), None);
        let reply = chat.push_reply(id);
        let text: String = (0..4000)
            .map(|i| format!("- item {i} with **bold** text\n"))
            .collect();
        let whole = render_markdown(&text);
        reply.push(&text);
        assert_eq!(reply.source(), text, "nothing waits outside the reply");
        reply.flush(); // a frame (the one `push` asked for comes later)
        let first = drawn(&reply);
        assert!(
            !first.is_empty() && first.len() < whole.len() / 4,
            "the first frame draws a share: {} of {} bytes",
            first.len(),
            whole.len()
        );
        reply.finish(ReplyState::Complete, Vec::new());
        assert_eq!(reply.state.get_untracked(), ReplyState::Complete);
        assert!(
            !reply.html.with_untracked(|html| html.settled),
            "still drawing"
        );
        assert_eq!(reply.source(), text);
        let mut waited = 0;
        while !reply.html.with_untracked(|html| html.settled) && waited < 10_000 {
            dom::sleep_ms(20).await;
            waited += 20;
        }
        assert!(reply.html.with_untracked(|html| html.settled), "it ends");
        assert_eq!(drawn(&reply), whole, "exactly the whole render");
        root.cleanup();
    }
}
