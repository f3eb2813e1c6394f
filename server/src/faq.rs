//! The demo bot's brain: the Markdown FAQ in `server/faq.md`, parsed into entries, and a
//! BM25 search that picks the entry answering a visitor's message (or a greeting, a
//! "you're welcome", or a fallback that offers topics). No I/O and no storage here.

use std::collections::{HashMap, HashSet};

use chat_widget_protocol::{ActionKind, SuggestedAction};

/// The FAQ the binary ships with, embedded so the server works from any directory.
pub const BUILTIN_FAQ: &str = include_str!("../faq.md");

/// Titles offered when the bot does not understand (each must be an entry of the built-in FAQ;
/// a test checks).
pub const FALLBACK_TOPICS: [&str; 4] = [
    "Where is my order?",
    "How long does shipping take?",
    "How do I return an item?",
    "What is this chat widget?",
];

/// The lowest BM25 score that counts as an answer; below it the visitor gets the fallback.
const MIN_SCORE: f64 = 0.9;
/// BM25 term-frequency saturation.
const K1: f64 = 1.2;
/// BM25 length normalisation.
const B: f64 = 0.75;
/// How many times a title's words count, compared with the body's.
const TITLE_WEIGHT: usize = 3;
/// How many times a keyword counts, compared with the body's words.
const KEYWORD_WEIGHT: usize = 2;

/// Words too common to say anything about the topic (also greetings, which are answered apart).
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

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqEntry {
    /// The question, as a visitor would ask it; also the text of quick replies pointing here.
    pub title: String,
    /// Extra words that should find this entry.
    pub keywords: Vec<String>,
    /// The answer, in Markdown.
    pub answer: String,
    /// Titles of other entries offered as quick replies under the answer.
    pub follow_ups: Vec<String>,
}

/// How an answer was chosen (for tests and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerKind {
    /// The FAQ entry with this title.
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

/// A BM25 score squashed to 0..1: `score / (score + MIN_SCORE)`, so the weakest score that
/// still counts as an answer is 0.5 and stronger matches approach 1. Rounded to 2 decimals.
pub fn confidence(score: f64) -> f64 {
    if !score.is_finite() || score <= 0.0 {
        return 0.0;
    }
    (score / (score + MIN_SCORE) * 100.0).round() / 100.0
}

/// The confidence of an answer chosen by a rule rather than a search (a greeting, a thank-you).
const RULE_CONFIDENCE: f64 = 0.9;

/// A parsed FAQ with its search index.
#[derive(Debug, Clone)]
pub struct Faq {
    entries: Vec<FaqEntry>,
    index: Bm25Index,
}

impl Faq {
    /// The FAQ embedded in the binary.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_FAQ)
    }

    /// Parses the FAQ format (see the top of `server/faq.md`). Never fails: text it does not
    /// recognise is part of an answer, and text before the first `## ` heading is ignored.
    pub fn parse(markdown: &str) -> Self {
        let entries = parse_entries(markdown);
        let index = Bm25Index::new(entries.iter().map(entry_tokens).collect());
        Self { entries, index }
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

    /// Answers a visitor's message. `bot_name` is how the bot introduces itself.
    pub fn answer(&self, message: &str, bot_name: &str) -> Answer {
        if let Some(entry) = self.entry(message) {
            // A clicked quick reply, or a question asked exactly as the FAQ words it.
            return self.entry_answer(entry, 1.0);
        }
        let words: Vec<String> = words(message).collect();
        if is_made_of(&words, GREETING_WORDS, GREETING_CORE) {
            return Answer {
                text: format!(
                    "Hi! I'm {bot_name}. I can help with orders, shipping, returns and payments, \
                     or tell you about this chat widget. What would you like to know?"
                ),
                suggested_actions: self.topic_actions(),
                kind: AnswerKind::Greeting,
                confidence: RULE_CONFIDENCE,
            };
        }
        if is_made_of(&words, THANKS_WORDS, THANKS_CORE) {
            return Answer {
                text: "You're welcome! Is there anything else I can help you with?".to_owned(),
                suggested_actions: Vec::new(),
                kind: AnswerKind::Thanks,
                confidence: RULE_CONFIDENCE,
            };
        }
        let query: Vec<String> = tokens(message).collect();
        match self.index.best(&query) {
            Some((doc, score)) if score >= MIN_SCORE => match self.entries.get(doc) {
                Some(entry) => self.entry_answer(entry, confidence(score)),
                None => self.fallback(0.0),
            },
            Some((_, score)) => self.fallback(confidence(score)),
            None => self.fallback(0.0),
        }
    }

    fn entry_answer(&self, entry: &FaqEntry, confidence: f64) -> Answer {
        Answer {
            text: entry.answer.clone(),
            suggested_actions: entry
                .follow_ups
                .iter()
                .map(|title| quick_reply(title))
                .collect(),
            kind: AnswerKind::Entry(entry.title.clone()),
            confidence,
        }
    }

    /// The "I don't know" answer; `confidence` is that of the best (too weak) match.
    fn fallback(&self, confidence: f64) -> Answer {
        Answer {
            text: "Sorry, I don't know the answer to that one yet. I can help with orders, \
                   shipping, returns and this chat widget: pick a topic below or ask in other \
                   words. To reach a person, email **help@acme.example**."
                .to_owned(),
            suggested_actions: self.topic_actions(),
            kind: AnswerKind::Fallback,
            confidence,
        }
    }

    /// Quick replies for the [`FALLBACK_TOPICS`] this FAQ has.
    fn topic_actions(&self) -> Vec<SuggestedAction> {
        FALLBACK_TOPICS
            .iter()
            .filter_map(|topic| self.entry(topic))
            .map(|entry| quick_reply(&entry.title))
            .collect()
    }
}

/// A quick reply that sends its own text.
fn quick_reply(text: &str) -> SuggestedAction {
    SuggestedAction {
        kind: ActionKind::QuickReply,
        text: text.to_owned(),
        payload: Some(text.to_owned()),
    }
}

fn normalise_title(title: &str) -> String {
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

fn parse_entries(markdown: &str) -> Vec<FaqEntry> {
    let mut entries = Vec::new();
    let mut current: Option<(FaqEntry, Vec<&str>)> = None;
    let mut in_fence = false;
    for line in markdown.lines() {
        if !in_fence {
            if let Some(title) = line.strip_prefix("## ") {
                entries.extend(current.take().map(finish_entry));
                let entry = FaqEntry {
                    title: title.trim().to_owned(),
                    keywords: Vec::new(),
                    answer: String::new(),
                    follow_ups: Vec::new(),
                };
                current = Some((entry, Vec::new()));
                continue;
            }
        }
        let Some((entry, body)) = current.as_mut() else {
            continue;
        };
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
    entries.extend(current.take().map(finish_entry));
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

/// An entry's searchable words: the title and keywords count more than the answer's words.
fn entry_tokens(entry: &FaqEntry) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..TITLE_WEIGHT {
        out.extend(tokens(&entry.title));
    }
    for keyword in &entry.keywords {
        for _ in 0..KEYWORD_WEIGHT {
            out.extend(tokens(keyword));
        }
    }
    out.extend(tokens(&entry.answer));
    out
}

/// Lower-case words of letters and digits (an apostrophe is dropped: "don't" is "dont").
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|word| word.replace('\'', "").to_lowercase())
        .filter(|word| !word.is_empty())
}

/// The words that say something about a topic, lightly stemmed ("returns" and "returned" are
/// "return").
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
}

/// A deliberately tiny English stemmer: plural `s`/`ies`, `ing`, `ed`, a final `e`.
fn stem(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let len = chars.len();
    let ends = |suffix: &str| word.ends_with(suffix);
    let mut stem: String = if len > 4 && ends("ies") {
        format!("{}y", &word[..word.len() - 3])
    } else if len > 4 && ends("sses") {
        word[..word.len() - 2].to_owned()
    } else if len > 3 && ends("s") && !ends("ss") && !ends("us") && !ends("is") {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    };
    for suffix in ["ing", "ed"] {
        if stem.chars().count() > suffix.len() + 3 && stem.ends_with(suffix) {
            stem.truncate(stem.len() - suffix.len());
            let tail: Vec<char> = stem.chars().rev().take(2).collect();
            if let [last, before] = tail[..] {
                if last == before && !matches!(last, 'l' | 's' | 'z') && !"aeiou".contains(last) {
                    stem.pop();
                }
            }
            break;
        }
    }
    // "arrive" and "arrived" both become "arriv".
    if stem.chars().count() > 4 && stem.ends_with('e') {
        stem.pop();
    }
    stem
}

/// Okapi BM25 over a handful of documents.
#[derive(Debug, Clone)]
struct Bm25Index {
    term_freqs: Vec<HashMap<String, usize>>,
    lengths: Vec<usize>,
    average_length: f64,
    doc_freq: HashMap<String, usize>,
}

impl Bm25Index {
    fn new(docs: Vec<Vec<String>>) -> Self {
        let lengths: Vec<usize> = docs.iter().map(Vec::len).collect();
        let average_length = if docs.is_empty() {
            1.0
        } else {
            (lengths.iter().sum::<usize>() as f64 / docs.len() as f64).max(1.0)
        };
        let mut doc_freq = HashMap::new();
        let term_freqs = docs
            .into_iter()
            .map(|doc| {
                let mut freqs = HashMap::new();
                for token in doc {
                    *freqs.entry(token).or_insert(0) += 1;
                }
                for term in freqs.keys() {
                    *doc_freq.entry(term.clone()).or_insert(0) += 1;
                }
                freqs
            })
            .collect();
        Self {
            term_freqs,
            lengths,
            average_length,
            doc_freq,
        }
    }

    fn score(&self, doc: usize, query: &HashSet<&String>) -> f64 {
        let n = self.term_freqs.len() as f64;
        let length = self.lengths.get(doc).copied().unwrap_or(0) as f64;
        let Some(freqs) = self.term_freqs.get(doc) else {
            return 0.0;
        };
        query
            .iter()
            .filter_map(|term| {
                let tf = *freqs.get(*term)? as f64;
                let df = self.doc_freq.get(*term).copied().unwrap_or(0) as f64;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                Some(
                    idf * tf * (K1 + 1.0)
                        / (tf + K1 * (1.0 - B + B * length / self.average_length)),
                )
            })
            .sum()
    }

    /// The best-scoring document and its score, if any document shares a word with the query.
    fn best(&self, query: &[String]) -> Option<(usize, f64)> {
        let query: HashSet<&String> = query.iter().collect();
        (0..self.term_freqs.len())
            .map(|doc| (doc, self.score(doc, &query)))
            .filter(|(_, score)| *score > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(message: &str) -> AnswerKind {
        Faq::builtin().answer(message, "Acme Assistant").kind
    }

    fn entry(title: &str) -> AnswerKind {
        AnswerKind::Entry(title.to_owned())
    }

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
        for topic in FALLBACK_TOPICS {
            assert!(faq.entry(topic).is_some(), "{topic}");
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
        let mut queue: Vec<&str> = FALLBACK_TOPICS.to_vec();
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
    fn clicking_a_quick_reply_answers_that_entry() {
        let faq = Faq::builtin();
        for e in faq.entries() {
            assert_eq!(faq.answer(&e.title, "Bot").kind, entry(&e.title));
            // Typed a little differently, the search still finds it.
            let typed = e.title.to_uppercase().replace('?', "");
            assert_eq!(
                faq.answer(&format!("{typed} please"), "Bot").kind,
                entry(&e.title),
                "{typed}"
            );
        }
    }

    #[test]
    fn visitors_questions_find_the_right_entry() {
        let cases = [
            ("where is my order", "Where is my order?"),
            ("Where's my parcel??", "Where is my order?"),
            ("can I return shoes", "How do I return an item?"),
            ("I want a refund", "How do I return an item?"),
            (
                "how long does delivery take to Canada",
                "How long does shipping take?",
            ),
            (
                "do you ship internationally",
                "How long does shipping take?",
            ),
            (
                "can I pay with PayPal",
                "Which payment methods do you accept?",
            ),
            (
                "I need to speak to a real person",
                "How do I talk to a human?",
            ),
            ("are you open on sunday", "When are you open?"),
            ("what are your opening hours", "When are you open?"),
            ("what is this widget", "What is this chat widget?"),
            (
                "how do I embed it on my website",
                "How do I embed the widget on my site?",
            ),
            (
                "is it accessible with a screen reader",
                "Is the widget accessible?",
            ),
            ("markdown demo", "Show me what Markdown looks like"),
            ("do you store my personal data", "Is my data private?"),
            ("do you sell gift cards", "Do you have gift cards?"),
        ];
        for (question, title) in cases {
            assert_eq!(ask(question), entry(title), "{question}");
        }
    }

    #[test]
    fn greetings_and_thanks_get_a_friendly_word() {
        for hello in [
            "hi",
            "Hello!",
            "hey there",
            "good morning",
            "hello, how are you?",
            "Hello, how can you help me?",
        ] {
            assert_eq!(ask(hello), AnswerKind::Greeting, "{hello}");
        }
        let greeting = Faq::builtin().answer("hi", "Acme Assistant");
        assert!(greeting.text.contains("Acme Assistant"));
        assert_eq!(greeting.suggested_actions.len(), FALLBACK_TOPICS.len());
        for thanks in ["thanks", "Thank you so much!", "ok bye"] {
            assert_eq!(ask(thanks), AnswerKind::Thanks, "{thanks}");
        }
        // A greeting followed by a question answers the question.
        assert_eq!(
            ask("hello, where is my order?"),
            entry("Where is my order?")
        );
        assert_eq!(ask("help"), entry("How do I talk to a human?"));
    }

    #[test]
    fn gibberish_gets_the_fallback_with_topics() {
        for nonsense in [
            "asdfgh",
            "",
            "   ",
            "?!",
            "the of and",
            "quantum chromodynamics",
        ] {
            assert_eq!(ask(nonsense), AnswerKind::Fallback, "{nonsense:?}");
        }
        let fallback = Faq::builtin().answer("asdfgh", "Bot");
        let topics: Vec<&str> = fallback
            .suggested_actions
            .iter()
            .map(|a| a.text.as_str())
            .collect();
        assert_eq!(topics, FALLBACK_TOPICS);
        assert!(fallback
            .suggested_actions
            .iter()
            .all(|a| a.kind == ActionKind::QuickReply
                && a.payload.as_deref() == Some(a.text.as_str())));
    }

    #[test]
    fn follow_ups_become_quick_replies() {
        let answer = Faq::builtin().answer("where is my order", "Bot");
        let texts: Vec<&str> = answer
            .suggested_actions
            .iter()
            .map(|a| a.text.as_str())
            .collect();
        assert_eq!(
            texts,
            ["How long does shipping take?", "How do I talk to a human?"]
        );
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
        assert_eq!(
            Faq::parse("").answer("hi there", "B").kind,
            AnswerKind::Greeting
        );
    }

    #[test]
    fn stemming_joins_word_forms() {
        for (word, stemmed) in [
            ("returns", "return"),
            ("returned", "return"),
            ("shipping", "ship"),
            ("shipped", "ship"),
            ("deliveries", "delivery"),
            ("hours", "hour"),
            ("address", "address"),
            ("status", "status"),
            ("opening", "open"),
            ("calling", "call"),
            ("embed", "embed"),
            ("arrived", "arriv"),
            ("arrive", "arriv"),
            ("free", "free"),
        ] {
            assert_eq!(stem(word), stemmed, "{word}");
        }
    }
}

#[cfg(test)]
mod confidence_tests {
    use super::*;

    #[test]
    fn confidence_says_how_well_the_answer_matched() {
        let faq = Faq::builtin();
        let clicked = faq.answer("How long does shipping take?", "B");
        assert_eq!(clicked.confidence, 1.0);
        let searched = faq.answer("my parcel still has not arrived, where is it", "B");
        assert!(matches!(searched.kind, AnswerKind::Entry(_)));
        assert!(
            (0.5..1.0).contains(&searched.confidence),
            "{}",
            searched.confidence
        );
        assert_eq!(faq.answer("hi", "B").confidence, RULE_CONFIDENCE);
        let lost = faq.answer("asdfgh", "B");
        assert_eq!((lost.kind, lost.confidence), (AnswerKind::Fallback, 0.0));
        assert_eq!(confidence(MIN_SCORE), 0.5);
        assert_eq!(confidence(f64::NAN), 0.0);
        assert!(confidence(1e9) <= 1.0);
    }
}
