//! The conversation as the widget keeps it in the visitor's browser, for the dialects whose
//! server has no history to read back (`chatbots`, `jombot`, `openai`): what a reload or
//! another page of the same site shows again, and (openai) the history it sends.
//!
//! Stored as a JSON list, oldest first, of `{"from":"visitor"|"bot","text","payload"?,"at"?,
//! "actions"?}`: `text` is what was shown (Markdown for the bot), `payload` what a quick reply
//! sent instead, `at` the time in ms since the epoch, `actions` the quick replies under the
//! last bot message. [`encode`] keeps the newest messages that fit in [`MAX_MESSAGES`] and
//! [`MAX_BYTES`]. [`decode`] skips what it cannot read, and also reads the `[{"role",
//! "content"}]` turns that earlier versions kept for openai.
//!
//! [`encode_unsent`] and [`decode_unsent`] keep, in every dialect, the visitor's messages that
//! have not reached the server yet, for the next page to show with Retry.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::SuggestedAction;

/// At most this many messages are kept (the newest).
pub const MAX_MESSAGES: usize = 100;

/// At most this many bytes of JSON are kept (the newest messages that fit).
pub const MAX_BYTES: usize = 200 * 1024;

/// Who wrote a kept message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The visitor.
    Visitor,
    /// The bot.
    Bot,
}

/// One kept message.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Who wrote it.
    pub from: Author,
    /// What was shown: the visitor's text (or a quick reply's label), or the bot's Markdown.
    pub text: String,
    /// What was sent instead of `text` (a quick reply's payload).
    pub payload: Option<String>,
    /// When it was written, in ms since the epoch.
    pub at: Option<u64>,
    /// The quick replies under it (kept for the last message only).
    pub actions: Vec<SuggestedAction>,
    /// An unsent message that a page still open is sending (on its way, waiting its turn or
    /// for the connection): another tab shows it as such, without a Retry that would send it
    /// twice. Kept in the unsent list only ([`encode_unsent`]); false in a transcript.
    pub on_its_way: bool,
}

/// One kept message as it is written.
#[derive(Serialize)]
struct Written<'a> {
    from: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<u64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    actions: &'a [SuggestedAction],
}

/// One kept message as it is read: every field lenient (a wrong type reads as absent), and
/// the legacy openai spelling (`role`, `content`) beside ours.
#[derive(Deserialize)]
struct Read {
    #[serde(default, deserialize_with = "crate::dialect::lenient")]
    from: Option<String>,
    #[serde(default, deserialize_with = "crate::dialect::lenient")]
    role: Option<String>,
    #[serde(default, deserialize_with = "crate::dialect::lenient")]
    text: Option<String>,
    #[serde(default, deserialize_with = "crate::dialect::lenient")]
    content: Option<String>,
    #[serde(default, deserialize_with = "crate::dialect::lenient")]
    payload: Option<String>,
    #[serde(default, deserialize_with = "crate::dialect::lenient")]
    at: Option<f64>,
    #[serde(default, deserialize_with = "crate::dialect::lenient_actions")]
    actions: Vec<SuggestedAction>,
}

impl Entry {
    fn to_json(&self) -> String {
        let from = match self.from {
            Author::Visitor => "visitor",
            Author::Bot => "bot",
        };
        crate::dialect::to_json(&Written {
            from,
            text: &self.text,
            payload: self.payload.as_deref(),
            at: self.at,
            actions: &self.actions,
        })
    }

    fn from_json(json: &Value) -> Option<Self> {
        let read = Read::deserialize(json).ok()?;
        let from = match read.from.or(read.role)?.as_str() {
            "visitor" | "user" => Author::Visitor,
            "bot" | "assistant" => Author::Bot,
            _ => return None,
        };
        Some(Self {
            from,
            text: read.text.or(read.content)?,
            payload: read.payload,
            at: read
                .at
                .filter(|at| at.is_finite() && *at >= 0.0)
                .map(|at| at as u64),
            actions: read.actions,
            on_its_way: false,
        })
    }
}

/// The newest entries that fit in [`MAX_MESSAGES`] and [`MAX_BYTES`], as JSON. A single
/// message bigger than the whole allowance is left out (with everything before it).
pub fn encode(entries: &[Entry]) -> String {
    let mut kept: Vec<String> = Vec::new();
    let mut bytes = 2; // the brackets
    for entry in entries.iter().rev().take(MAX_MESSAGES) {
        let json = entry.to_json();
        let added = json.len() + usize::from(!kept.is_empty());
        if bytes + added > MAX_BYTES {
            break;
        }
        bytes += added;
        kept.push(json);
    }
    kept.reverse();
    format!("[{}]", kept.join(","))
}

/// The entries in stored text, oldest first. Garbage gives none; an entry that does not
/// read (another version, a hand edit) is skipped, and so are a legacy `system` turn and
/// anything past the caps.
pub fn decode(text: &str) -> Vec<Entry> {
    let Ok(Value::Array(items)) = serde_json::from_str(text) else {
        return Vec::new();
    };
    let entries: Vec<Entry> = items.iter().filter_map(Entry::from_json).collect();
    entries[entries.len().saturating_sub(MAX_MESSAGES)..].to_vec()
}

/// The visitor's messages that the server does not have yet (waiting, on their way, failed),
/// as the widget keeps them for the next page: `[[text, payload or null, at or null,
/// on its way], …]`.
/// Kept apart from the transcript (every dialect has unsent messages, only some keep a
/// transcript) and in the plainer shape, which costs the smallest build (about 2.6 KB of
/// brotli less than [`encode`]'s objects in a chataibot build).
pub fn encode_unsent(entries: &[Entry]) -> String {
    let list: Vec<_> = entries
        .iter()
        .map(|entry| (&entry.text, &entry.payload, entry.at, entry.on_its_way))
        .collect();
    crate::dialect::to_json(&list)
}

/// The visitor's messages in [`encode_unsent`]'s text; an item that does not read is skipped.
pub fn decode_unsent(text: &str) -> Vec<Entry> {
    let Ok(Value::Array(items)) = serde_json::from_str(text) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let field = |index| item.get(index);
            Some(Entry {
                from: Author::Visitor,
                text: field(0)?.as_str()?.to_owned(),
                payload: field(1).and_then(Value::as_str).map(str::to_owned),
                at: field(2).and_then(Value::as_u64),
                actions: Vec::new(),
                on_its_way: field(3).and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .take(MAX_MESSAGES)
        .collect()
}

/// What to keep when another tab of the same site changed the stored list since this one
/// last read or wrote it (`base`): `theirs` (what storage holds now) with this tab's own
/// changes since `base` applied, its removals taken out and its additions after. Two tabs
/// that each add messages keep both; a message one tab delivered leaves the other's unsent.
/// Entries are matched by who wrote them and their text and payload, as many times as they
/// occur (the time may be missing from an old entry and filled in since). Only the newest
/// [`MAX_MESSAGES`] of `ours` count, as only those were kept.
pub fn merge(base: &[Entry], ours: &[Entry], theirs: &[Entry]) -> Vec<Entry> {
    let ours = &ours[ours.len().saturating_sub(MAX_MESSAGES)..];
    let mut kept = without(theirs, &without(base, ours));
    kept.extend(without(ours, base));
    kept
}

/// `list` less one occurrence of each entry of `taken`.
fn without(list: &[Entry], taken: &[Entry]) -> Vec<Entry> {
    let mut used = vec![false; taken.len()];
    list.iter()
        .filter(|entry| {
            let found = taken.iter().enumerate().position(|(index, other)| {
                !used[index]
                    && other.from == entry.from
                    && other.text == entry.text
                    && other.payload == entry.payload
            });
            found.map(|index| used[index] = true).is_none()
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActionKind;

    fn visitor(text: &str, at: u64) -> Entry {
        Entry {
            from: Author::Visitor,
            text: text.into(),
            payload: None,
            at: Some(at),
            actions: Vec::new(),
            on_its_way: false,
        }
    }

    fn bot(text: &str, at: u64) -> Entry {
        Entry {
            from: Author::Bot,
            text: text.into(),
            payload: None,
            at: Some(at),
            actions: Vec::new(),
            on_its_way: false,
        }
    }

    #[test]
    fn a_conversation_comes_back_as_it_was_kept() {
        let mut last = bot(
            "Pick **one**:\n\n| a | b |\n|---|---|\n| 1 | 2 |",
            1_733_300_000_500,
        );
        last.actions = vec![
            SuggestedAction {
                kind: ActionKind::QuickReply,
                text: "Yes".into(),
                payload: Some("yes".into()),
            },
            SuggestedAction {
                kind: ActionKind::Url,
                text: "Docs".into(),
                payload: Some("https://x.test".into()),
            },
        ];
        let chosen = Entry {
            payload: Some("check_order".into()),
            ..visitor("Check order status", 1_733_300_000_000)
        };
        let entries = vec![
            chosen,
            bot("Hello \"there\"\n\u{1} 😀", 1_733_300_000_100),
            visitor("é/..?#%", 1_733_300_000_200),
            last,
        ];
        assert_eq!(decode(&encode(&entries)), entries);
    }

    #[test]
    fn only_the_newest_hundred_messages_are_kept() {
        let entries: Vec<Entry> = (0..150)
            .map(|i| visitor(&format!("message {i}"), i))
            .collect();
        let kept = decode(&encode(&entries));
        assert_eq!(kept.len(), MAX_MESSAGES);
        assert_eq!(kept[0].text, "message 50");
        assert_eq!(kept[99].text, "message 149");
    }

    #[test]
    fn only_the_newest_200_kb_are_kept() {
        let entries: Vec<Entry> = (0..10)
            .map(|i| bot(&format!("{i}{}", "x".repeat(50 * 1024)), i))
            .collect();
        let text = encode(&entries);
        assert!(text.len() <= MAX_BYTES, "{}", text.len());
        let kept = decode(&text);
        assert_eq!(
            kept.len(),
            3,
            "three 50 KB replies fit in 200 KB, four do not"
        );
        assert!(
            kept[0].text.starts_with('7') && kept[2].text.starts_with('9'),
            "the newest"
        );
        let huge = vec![visitor("before", 1), bot(&"y".repeat(MAX_BYTES), 2)];
        assert_eq!(
            decode(&encode(&huge)),
            vec![],
            "nothing fits after a message bigger than the whole allowance"
        );
    }

    #[test]
    fn what_earlier_versions_kept_for_openai_still_reads() {
        let legacy = r#"[{"role":"system","content":"Be kind"},{"role":"user","content":"Hi"},{"role":"assistant","content":"**Hello**"}]"#;
        let entries = decode(legacy);
        assert_eq!(
            entries
                .iter()
                .map(|e| (e.from, e.text.as_str(), e.at))
                .collect::<Vec<_>>(),
            [
                (Author::Visitor, "Hi", None),
                (Author::Bot, "**Hello**", None)
            ]
        );
    }

    #[test]
    fn garbage_reads_as_nothing_and_bad_entries_are_skipped() {
        for garbage in ["", "garbage", "{}", "null", "[1,2", "\"text\""] {
            assert_eq!(decode(garbage), vec![], "{garbage:?}");
        }
        let mixed = r#"[{"from":"visitor","text":"kept","at":5},{"from":"martian","text":"x"},{"from":"bot"},7,
            {"from":"bot","text":"also kept","at":-3,"actions":"nope","payload":12}]"#;
        let entries = decode(mixed);
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].text.as_str(), entries[0].at), ("kept", Some(5)));
        assert_eq!(
            (
                entries[1].text.as_str(),
                entries[1].at,
                entries[1].payload.as_ref(),
                entries[1].actions.len()
            ),
            ("also kept", None, None, 0)
        );
    }

    #[test]
    fn unsent_messages_come_back_with_their_payload_and_time_and_garbage_is_skipped() {
        let mut chosen = visitor("Yes please", 1_733_300_000_000);
        chosen.payload = Some("confirm_order".into());
        chosen.on_its_way = true;
        let kept = [visitor("Call me \"back\"\n", 5), chosen];
        let text = encode_unsent(&kept);
        assert_eq!(decode_unsent(&text), kept);
        for garbage in ["", "garbage", "{}", "[1,2", "\"text\""] {
            assert_eq!(decode_unsent(garbage), vec![], "{garbage:?}");
        }
        // An earlier version's three fields read as not on its way.
        let mixed =
            r#"[["kept",null,7],[3],"text",["no time",12,"x","yes"],[],["going",null,8,true]]"#;
        let read = decode_unsent(mixed);
        assert_eq!(
            read.iter()
                .map(|e| (e.text.as_str(), e.payload.as_deref(), e.at, e.on_its_way))
                .collect::<Vec<_>>(),
            [
                ("kept", None, Some(7), false),
                ("no time", None, None, false),
                ("going", None, Some(8), true)
            ]
        );
    }

    fn texts(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.text.as_str()).collect()
    }

    #[test]
    fn two_tabs_that_both_add_messages_keep_both() {
        let base = [visitor("hi", 1), bot("hello", 2)];
        // This tab asked one more; the other asked its own meanwhile.
        let ours = [&base[..], &[visitor("from A", 3), bot("answer A", 4)]].concat();
        let theirs = [&base[..], &[visitor("from B", 5), bot("answer B", 6)]].concat();
        assert_eq!(
            texts(&merge(&base, &ours, &theirs)),
            ["hi", "hello", "from B", "answer B", "from A", "answer A"]
        );
        // The same words asked in both tabs are two messages, not one.
        let ours = [&base[..], &[visitor("hi", 7)]].concat();
        let theirs = [&base[..], &[visitor("hi", 8)]].concat();
        assert_eq!(
            texts(&merge(&base, &ours, &theirs)),
            ["hi", "hello", "hi", "hi"]
        );
    }

    #[test]
    fn a_message_delivered_in_one_tab_leaves_the_unsent_list_of_the_other() {
        let base = [visitor("order 1", 1), visitor("order 2", 2)];
        // The other tab delivered "order 1" and had "later" fail; this tab delivered "order 2".
        let theirs = [visitor("order 2", 2), visitor("later", 3)];
        let ours = [visitor("order 1", 1), visitor("mine", 4)];
        assert_eq!(texts(&merge(&base, &ours, &theirs)), ["later", "mine"]);
        // The other tab started over (its list is empty): only what this tab added since.
        assert_eq!(texts(&merge(&base, &ours, &[])), ["mine"]);
    }
}
