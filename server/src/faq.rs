//! The bot's brain without an upstream model: it answers a visitor's message with the best
//! passage of the bot's training documents ([`crate::documents`], searched with the database's
//! own full-text search), with that passage's follow-ups as quick replies; or with a greeting,
//! a "you're welcome", or a fallback that offers topics. Also the Markdown FAQ format the demo
//! bot's built-in document (`server/faq.md`) is written in, which any Markdown upload may use.

use chat_widget_protocol::{ActionKind, SuggestedAction};

use crate::documents::{self, Hit};
use crate::store::{Store, StoreError};

/// The FAQ the binary ships with, embedded so the server works from any directory; the demo
/// bot's first training document.
pub const BUILTIN_FAQ: &str = include_str!("../faq.md");

/// How many topics a greeting or the fallback offers: the first titles of the bot's documents.
pub const TOPICS: usize = 4;

/// Words too common to say anything about the topic (also greetings, which are answered apart);
/// left out of the search query.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "am", "an", "and", "any", "anything", "are", "as", "at", "be",
    "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "get", "got", "had",
    "has", "have", "hello", "hey", "hi", "how", "i", "if", "im", "in", "into", "is", "it", "its",
    "just", "know", "like", "me", "much", "my", "need", "no", "not", "of", "on", "or", "our",
    "please", "so", "some", "tell", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "up", "us", "use", "want", "was", "we", "were", "what", "whats",
    "when", "where", "wheres", "which", "who", "why", "will", "with", "would", "you", "youre",
    "your", "dont", "cant", "ive", "id", "hows",
];

/// Words that make up a greeting ("hi there", "good morning").
#[rustfmt::skip]
const GREETING_WORDS: &[&str] = &[
    "hi", "hello", "hey", "hiya", "howdy", "yo", "greetings", "hallo", "hola", "bonjour",
    "good", "morning", "afternoon", "evening", "there", "everyone", "all", "how", "are", "you",
    "doing", "today", "can", "could", "help", "me", "i", "what", "do", "may",
];
/// The words of [`GREETING_WORDS`] that are a greeting on their own.
#[rustfmt::skip]
const GREETING_CORE: &[&str] = &[
    "hi", "hello", "hey", "hiya", "howdy", "yo", "greetings", "hallo", "hola", "bonjour",
    "morning", "afternoon", "evening",
];
/// Words that make up a thank-you or goodbye ("thanks a lot", "ok bye").
#[rustfmt::skip]
const THANKS_WORDS: &[&str] = &[
    "thanks", "thank", "thx", "ty", "cheers", "you", "so", "much", "a", "lot", "very", "ok",
    "okay", "great", "cool", "perfect", "awesome", "nice", "bye", "goodbye", "that", "helps",
    "helped", "it",
];
/// The words of [`THANKS_WORDS`] that are a thank-you or goodbye on their own.
const THANKS_CORE: &[&str] = &["thanks", "thank", "thx", "ty", "cheers", "bye", "goodbye"];

/// One section of a Markdown document: a question (or heading) and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqEntry {
    /// The heading, as a visitor would ask it; also the text of quick replies pointing here.
    /// Empty for text before a document's first heading.
    pub title: String,
    /// Extra words that should find this entry (`Keywords: a, b`).
    pub keywords: Vec<String>,
    /// The answer, in Markdown.
    pub answer: String,
    /// Titles of other entries offered as quick replies under the answer (`Follow-ups: A | B`).
    pub follow_ups: Vec<String>,
}

/// How an answer was chosen (for tests and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerKind {
    /// The passage with this title.
    Entry(String),
    /// The message was a greeting.
    Greeting,
    /// The message was a thank-you or goodbye.
    Thanks,
    /// Nothing matched well enough.
    Fallback,
}

/// What the bot says back.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The reply, in Markdown.
    pub text: String,
    /// Quick replies offered under it.
    pub suggested_actions: Vec<SuggestedAction>,
    /// How it was chosen.
    pub kind: AnswerKind,
    /// How sure the bot is, 0..=1 (see [`confidence`]).
    pub confidence: f64,
}

/// A search score squashed to 0..1: `score / (score + min)`, where `min` is the weakest score
/// that still counts as an answer (so that one is 0.5, and stronger matches approach 1).
/// Rounded to 2 decimals.
pub fn confidence(score: f64, min: f64) -> f64 {
    if !score.is_finite() || score <= 0.0 || min <= 0.0 {
        return 0.0;
    }
    (score / (score + min) * 100.0).round() / 100.0
}

/// The confidence of an answer chosen by a rule rather than a search (a greeting, a thank-you).
pub const RULE_CONFIDENCE: f64 = 0.9;

/// A parsed FAQ (the format at the top of `server/faq.md`).
#[derive(Debug, Clone)]
pub struct Faq {
    entries: Vec<FaqEntry>,
}

impl Faq {
    /// The FAQ embedded in the binary.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_FAQ)
    }

    /// Parses the FAQ format: `## ` headings start entries. Never fails: text it does not
    /// recognise is part of an answer, and text before the first `## ` heading is ignored.
    pub fn parse(markdown: &str) -> Self {
        let entries = parse_entries(markdown, HeadingLevels::Two)
            .into_iter()
            .filter(|entry| !entry.title.is_empty())
            .collect();
        Self { entries }
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[FaqEntry] {
        &self.entries
    }

    /// The entry with this title (case and surrounding spaces ignored).
    pub fn entry(&self, title: &str) -> Option<&FaqEntry> {
        let wanted = normalise_title(title);
        self.entries
            .iter()
            .find(|entry| normalise_title(&entry.title) == wanted)
    }
}

/// The sections of any Markdown document: every heading (`#` to `######`, outside code
/// fences) starts one; text before the first heading is a section with an empty title.
pub fn sections(markdown: &str) -> Vec<FaqEntry> {
    parse_entries(markdown, HeadingLevels::All)
}

/// Answers a visitor's message to the bot `bot_id` (called `bot_name`) from its training
/// documents: a clicked quick reply (a passage's exact title), a greeting, a thank-you, the
/// best passage the full-text search finds, or the fallback with topics.
pub async fn answer(
    store: &Store,
    bot_id: &str,
    bot_name: &str,
    message: &str,
) -> Result<Answer, StoreError> {
    let title_key = normalise_title(message);
    let words: Vec<String> = words(message).collect();
    let greeting = is_made_of(&words, GREETING_WORDS, GREETING_CORE);
    let thanks = is_made_of(&words, THANKS_WORDS, THANKS_CORE);
    // A greeting or a thank-you needs only the title match; anything else reads the title
    // match and the search in one go.
    let terms = if greeting || thanks {
        Vec::new()
    } else {
        query_terms(message)
    };
    let found = documents::answer_passage(store, bot_id, &title_key, &terms).await?;
    if let Some((true, hit)) = found {
        // A clicked quick reply, or a question asked exactly as a heading words it.
        return Ok(entry_answer(hit, 1.0));
    }
    if greeting {
        let topics = documents::topics(store, bot_id, TOPICS).await?;
        let text = if topics.is_empty() {
            format!("Hi! I'm {bot_name}. What would you like to know?")
        } else {
            format!("Hi! I'm {bot_name}. Ask me anything, or pick a topic below.")
        };
        return Ok(Answer {
            text,
            suggested_actions: topics.iter().map(|t| quick_reply(t)).collect(),
            kind: AnswerKind::Greeting,
            confidence: RULE_CONFIDENCE,
        });
    }
    if thanks {
        return Ok(Answer {
            text: "You're welcome! Is there anything else I can help you with?".to_owned(),
            suggested_actions: Vec::new(),
            kind: AnswerKind::Thanks,
            confidence: RULE_CONFIDENCE,
        });
    }
    let min = documents::min_score(store.backend());
    match found.map(|(_, hit)| hit) {
        Some(hit) if hit.score >= min || hit.strong => {
            // A topic named in a title counts as at least a fair match.
            let confidence = confidence(hit.score, min).max(0.5);
            Ok(entry_answer(hit, confidence))
        }
        Some(hit) => fallback(store, bot_id, confidence(hit.score, min)).await,
        None => fallback(store, bot_id, 0.0).await,
    }
}

fn entry_answer(hit: Hit, confidence: f64) -> Answer {
    Answer {
        text: hit.body,
        suggested_actions: hit.follow_ups.iter().map(|t| quick_reply(t)).collect(),
        kind: AnswerKind::Entry(hit.title),
        confidence,
    }
}

/// The "I don't know" answer; `confidence` is that of the best (too weak) match.
async fn fallback(store: &Store, bot_id: &str, confidence: f64) -> Result<Answer, StoreError> {
    let topics = documents::topics(store, bot_id, TOPICS).await?;
    let text = if topics.is_empty() {
        "Sorry, I don't know the answer to that one yet. Please ask in other words."
    } else {
        "Sorry, I don't know the answer to that one yet. Pick a topic below or ask in other words."
    };
    Ok(Answer {
        text: text.to_owned(),
        suggested_actions: topics.iter().map(|t| quick_reply(t)).collect(),
        kind: AnswerKind::Fallback,
        confidence,
    })
}

/// A quick reply that sends its own text.
fn quick_reply(text: &str) -> SuggestedAction {
    SuggestedAction {
        kind: ActionKind::QuickReply,
        text: text.to_owned(),
        payload: Some(text.to_owned()),
    }
}

/// A title as compared with a visitor's message: trimmed, lower-case, without a final `?!.`.
pub fn normalise_title(title: &str) -> String {
    title
        .trim()
        .trim_end_matches(['?', '!', '.'])
        .trim()
        .to_lowercase()
}

/// Whether `words` is non-empty, uses only `allowed` words, and has at least one `core` word.
fn is_made_of(words: &[String], allowed: &[&str], core: &[&str]) -> bool {
    !words.is_empty()
        && words.iter().all(|w| allowed.contains(&w.as_str()))
        && words.iter().any(|w| core.contains(&w.as_str()))
}

/// Which headings start an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadingLevels {
    /// `## ` only (the FAQ format).
    Two,
    /// `#` to `######`.
    All,
}

/// The heading text of a Markdown heading line.
fn heading(line: &str, levels: HeadingLevels) -> Option<&str> {
    match levels {
        HeadingLevels::Two => line.strip_prefix("## "),
        HeadingLevels::All => {
            let hashes = line.len() - line.trim_start_matches('#').len();
            let rest = &line[hashes..];
            ((1..=6).contains(&hashes) && (rest.starts_with(' ') || rest.is_empty()))
                .then(|| rest.trim().trim_end_matches('#').trim())
        }
    }
}

fn parse_entries(markdown: &str, levels: HeadingLevels) -> Vec<FaqEntry> {
    let mut entries = Vec::new();
    let empty = || FaqEntry {
        title: String::new(),
        keywords: Vec::new(),
        answer: String::new(),
        follow_ups: Vec::new(),
    };
    let mut current: (FaqEntry, Vec<&str>) = (empty(), Vec::new());
    let mut in_fence = false;
    for line in markdown.lines() {
        if !in_fence {
            if let Some(title) = heading(line, levels) {
                entries.push(finish_entry(std::mem::replace(
                    &mut current,
                    (empty(), Vec::new()),
                )));
                current.0.title = title.trim().to_owned();
                continue;
            }
        }
        let (entry, body) = &mut current;
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            body.push(line);
        } else if let (false, Some(list)) = (in_fence, line.strip_prefix("Keywords:")) {
            entry.keywords.extend(split_list(list, ','));
        } else if let (false, Some(list)) = (in_fence, line.strip_prefix("Follow-ups:")) {
            entry.follow_ups.extend(split_list(list, '|'));
        } else {
            body.push(line);
        }
    }
    entries.push(finish_entry(current));
    // Text before the first heading only counts when there is some.
    entries.retain(|entry| {
        !(entry.title.is_empty() && entry.answer.is_empty() && entry.keywords.is_empty())
    });
    entries
}

fn split_list(list: &str, separator: char) -> impl Iterator<Item = String> + '_ {
    list.split(separator)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
}

fn finish_entry((mut entry, body): (FaqEntry, Vec<&str>)) -> FaqEntry {
    entry.answer = body.join("\n").trim().to_owned();
    entry
}

/// Lower-case words of letters and digits (an apostrophe is dropped: "don't" is "dont").
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|word| word.replace('\'', "").to_lowercase())
        .filter(|word| !word.is_empty())
}

/// The words of a message that say something about a topic (no stopwords, no repeats), as
/// the search query; the database stems them.
pub fn query_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in words(text) {
        if !STOPWORDS.contains(&word.as_str()) && !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_faq_has_a_dozen_entries_with_answers() {
        let faq = Faq::builtin();
        assert!(
            (10..=14).contains(&faq.entries().len()),
            "{} entries",
            faq.entries().len()
        );
        for e in faq.entries() {
            assert!(!e.answer.is_empty(), "{} has no answer", e.title);
            assert!(
                !e.answer.contains("Keywords:") && !e.answer.contains("Follow-ups:"),
                "{}",
                e.title
            );
        }
    }

    #[test]
    fn every_follow_up_and_fallback_topic_names_an_entry() {
        let faq = Faq::builtin();
        for e in faq.entries() {
            for follow_up in &e.follow_ups {
                assert!(faq.entry(follow_up).is_some(), "{} -> {follow_up}", e.title);
            }
        }
    }

    #[test]
    fn a_visitor_can_click_through_to_every_entry() {
        let faq = Faq::builtin();
        for e in faq.entries() {
            assert!(
                (2..=3).contains(&e.follow_ups.len()),
                "{} offers {} follow-ups",
                e.title,
                e.follow_ups.len()
            );
            assert!(
                !e.follow_ups.iter().any(|f| faq.entry(f) == Some(e)),
                "{} offers itself",
                e.title
            );
        }
        // Starting from the topics a greeting or the fallback offers, quick replies alone reach
        // every entry.
        let mut reached: Vec<&str> = Vec::new();
        let mut queue: Vec<&str> = faq.entries()[..TOPICS]
            .iter()
            .map(|e| e.title.as_str())
            .collect();
        while let Some(title) = queue.pop() {
            let Some(e) = faq.entry(title) else { continue };
            if reached.contains(&e.title.as_str()) {
                continue;
            }
            reached.push(&e.title);
            queue.extend(e.follow_ups.iter().map(String::as_str));
        }
        for e in faq.entries() {
            assert!(
                reached.contains(&e.title.as_str()),
                "{} is unreachable",
                e.title
            );
        }
    }

    #[test]
    fn the_embed_answer_keeps_its_code_block() {
        let faq = Faq::builtin();
        let embed = faq
            .entry("How do I embed the widget on my site?")
            .map(|e| e.answer.clone());
        let embed = embed.unwrap_or_default();
        assert!(embed.contains("```html\n<script src="), "{embed}");
        assert!(embed.contains("data-api-key=\"pk_live_...\""));
    }

    #[test]
    fn parsing_keeps_fenced_lines_and_ignores_the_preamble() {
        let faq = Faq::parse(
            "# Title\nintro\n## Q one\nKeywords: a b, c\n\nBody\n```\nKeywords: inside\nFollow-ups: not\n```\nFollow-ups: Q two | \n## Q two\nTwo",
        );
        let [one, two] = faq.entries() else {
            panic!("two entries expected")
        };
        assert_eq!(one.title, "Q one");
        assert_eq!(one.keywords, ["a b", "c"]);
        assert_eq!(
            one.answer,
            "Body\n```\nKeywords: inside\nFollow-ups: not\n```"
        );
        assert_eq!(one.follow_ups, ["Q two"]);
        assert_eq!((two.title.as_str(), two.answer.as_str()), ("Q two", "Two"));
        assert!(Faq::parse("").entries().is_empty());
    }

    #[test]
    fn any_heading_starts_a_section_and_the_text_before_counts() {
        let found = sections(
            "Intro text\n# Guide\nSee below\n### Setup ###\nKeywords: install\nRun it\n```\n# not a heading\n```\n#hashtag stays",
        );
        let titles: Vec<&str> = found.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["", "Guide", "Setup"]);
        assert_eq!(found[0].answer, "Intro text");
        assert_eq!(found[2].keywords, ["install"]);
        assert_eq!(
            found[2].answer,
            "Run it\n```\n# not a heading\n```\n#hashtag stays"
        );
        assert!(sections("").is_empty());
        assert_eq!(query_terms("Where is MY order, my order?"), ["order"]);
    }
}
