//! Every string the visitor can see or hear, in one table per language, so wording stays
//! consistent and a translation touches one place. The language comes from `data-locale` or
//! the browser. Console messages for the site owner are English and live with
//! [`owner_diagnostic`].

use chat_widget_protocol::{ApiError, ErrorCode};

/// A language the widget speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Locale {
    /// English (the fallback).
    #[default]
    En,
    /// Spanish.
    Es,
    /// German.
    De,
    /// French.
    Fr,
    /// Arabic (right to left).
    Ar,
    /// Hebrew (right to left).
    He,
}

impl Locale {
    /// Picks the language for a BCP 47 tag such as `es-MX` or `he`; `None` when unsupported.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "es" => Some(Self::Es),
            "de" => Some(Self::De),
            "fr" => Some(Self::Fr),
            "ar" => Some(Self::Ar),
            "he" | "iw" => Some(Self::He),
            _ => None,
        }
    }

    /// The first supported language in a preference list (the browser's), else English.
    pub fn negotiate<'a>(preferences: impl IntoIterator<Item = &'a str>) -> Self {
        preferences
            .into_iter()
            .find_map(Self::parse)
            .unwrap_or_default()
    }

    /// The BCP 47 tag, for `lang` attributes and `Intl`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Ar => "ar",
            Self::He => "he",
        }
    }

    /// Whether the language is written right to left.
    pub fn is_rtl(self) -> bool {
        matches!(self, Self::Ar | Self::He)
    }

    /// The strings in this language.
    pub fn strings(self) -> &'static Strings {
        match self {
            Self::En => &EN,
            Self::Es => &ES,
            Self::De => &DE,
            Self::Fr => &FR,
            Self::Ar => &AR,
            Self::He => &HE,
        }
    }
}

/// The visitor-facing strings of one language. `{n}` in a template is replaced by a number.
pub struct Strings {
    /// Launcher's accessible name while the panel is closed.
    pub open_chat: &'static str,
    /// Launcher's and close button's accessible name while the panel is open.
    pub close_chat: &'static str,
    /// The textarea's accessible name.
    pub input_label: &'static str,
    /// Placeholder text in the textarea.
    pub input_placeholder: &'static str,
    /// The send button's accessible name.
    pub send: &'static str,
    /// Said while the bot is typing.
    pub typing: &'static str,
    /// Under a message that failed.
    pub not_sent: &'static str,
    /// The button that sends a failed message again.
    pub retry: &'static str,
    /// The button that takes a message the server refused as invalid (too long, say) back
    /// into the input, to change it.
    pub edit: &'static str,
    /// The panel's accessible name, `{name}` is the bot's name.
    pub chat_with: &'static str,
    /// Screen-reader prefix of a visitor's message.
    pub you_said: &'static str,
    /// Screen-reader prefix of a bot's message.
    pub bot_said: &'static str,
    /// The Stop button's accessible name.
    pub stop: &'static str,
    /// Under a reply the visitor stopped.
    pub stopped: &'static str,
    /// Under a reply that broke off.
    pub interrupted: &'static str,
    /// The pill that scrolls down to messages that arrived while scrolled up.
    pub new_messages: &'static str,
    /// The button above a long restored conversation that shows the older messages.
    pub earlier_messages: &'static str,
    /// The accessible name of the group of quick replies.
    pub suggestions: &'static str,
    /// The message list's accessible name.
    pub messages: &'static str,
    /// The greeting bubble's close button.
    pub dismiss_greeting: &'static str,
    /// The banner while the browser is offline.
    pub offline: &'static str,
    /// Under a message written while offline.
    pub waiting_for_connection: &'static str,
    /// A message that waits its turn: a reply is still arriving, or the rate-limit window is used up.
    pub waiting_to_send: &'static str,
    /// A message another tab of the same site is sending.
    pub sending_in_another_tab: &'static str,
    /// The header button that starts over.
    pub new_conversation: &'static str,
    /// The question before starting over.
    pub confirm_new_conversation: &'static str,
    /// Confirms starting over.
    pub start_over: &'static str,
    /// Keeps the conversation.
    pub cancel: &'static str,
    /// One unread reply.
    pub unread_one: &'static str,
    /// `{n}` unread replies.
    pub unread_many: &'static str,
    /// The countdown while sending is paused (`{n}` seconds).
    pub cooldown: &'static str,
    /// The countdown of a used-up rate-limit window, when what the visitor writes waits for it
    /// (`{n}` seconds).
    pub cooldown_queued: &'static str,
    /// Announced once when the countdown ends.
    pub can_send_again: &'static str,
    /// Next to a failed message that will be tried again by itself (`{n}` seconds).
    pub retrying_in: &'static str,
    /// Key, origin or bot refused.
    pub error_unavailable: &'static str,
    /// Out of credits or quota.
    pub error_usage_limit: &'static str,
    /// Rate-limited, with the seconds to wait (`{n}`).
    pub error_too_quickly_wait: &'static str,
    /// Rate-limited, no wait given.
    pub error_too_quickly: &'static str,
    /// The request never reached a server.
    pub error_network: &'static str,
    /// No reply came before the deadline on silence (`data-reply-timeout`).
    pub error_timeout: &'static str,
    /// A 5xx.
    pub error_server: &'static str,
    /// A reply that could not be understood.
    pub error_malformed: &'static str,
    /// The request was refused as invalid.
    pub error_invalid: &'static str,
    /// Anything else.
    pub error_other: &'static str,
    /// A stream that broke off because the connection dropped.
    pub interrupted_network: &'static str,
    /// A stream that broke off for another reason.
    pub interrupted_other: &'static str,
}

impl Strings {
    /// The panel's accessible name for a bot.
    pub fn chat_with(&self, bot_name: &str) -> String {
        self.chat_with.replace("{name}", bot_name)
    }

    /// "1 unread message", "3 unread messages".
    pub fn unread_count(&self, count: u32) -> String {
        let template = if count == 1 {
            self.unread_one
        } else {
            self.unread_many
        };
        template.replace("{n}", &count.to_string())
    }

    /// The countdown while sending is paused by a rate limit.
    pub fn cooldown(&self, seconds: u64, queued: bool) -> String {
        (if queued {
            self.cooldown_queued
        } else {
            self.cooldown
        })
        .replace("{n}", &seconds.to_string())
    }

    /// Next to a failed message that will be tried again by itself.
    pub fn retrying_in(&self, seconds: u64) -> String {
        self.retrying_in.replace("{n}", &seconds.to_string())
    }

    /// What the visitor is told when sending failed. Calm, specific where it helps the
    /// visitor, and silent about configuration details (those go to the console).
    pub fn visitor_error(&self, error: &ApiError) -> String {
        match &error.code {
            ErrorCode::InvalidApiKey | ErrorCode::OriginNotAllowed | ErrorCode::BotNotFound => {
                self.error_unavailable.to_owned()
            }
            _ if error.is_misdirected() => self.error_unavailable.to_owned(),
            ErrorCode::InsufficientCredits | ErrorCode::QuotaExceeded => {
                self.error_usage_limit.to_owned()
            }
            ErrorCode::RateLimitExceeded => match error.retry_after_s {
                Some(seconds) if seconds > 0 => self
                    .error_too_quickly_wait
                    .replace("{n}", &seconds.to_string()),
                _ => self.error_too_quickly.to_owned(),
            },
            ErrorCode::Network => self.error_network.to_owned(),
            ErrorCode::Server => self.error_server.to_owned(),
            ErrorCode::MalformedResponse => self.error_malformed.to_owned(),
            ErrorCode::InvalidRequest => self.error_invalid.to_owned(),
            ErrorCode::Other(_) if error.is_timeout() => self.error_timeout.to_owned(),
            ErrorCode::Other(_) => self.error_other.to_owned(),
        }
    }

    /// What the visitor is told when a reply broke off part-way (the text so far stays).
    pub fn interrupted_reply(&self, error: &ApiError) -> String {
        match &error.code {
            ErrorCode::Network => self.interrupted_network.to_owned(),
            ErrorCode::RateLimitExceeded
            | ErrorCode::InsufficientCredits
            | ErrorCode::QuotaExceeded => self.visitor_error(error),
            _ => self.interrupted_other.to_owned(),
        }
    }
}

/// English.
pub const EN: Strings = Strings {
    open_chat: "Open chat",
    close_chat: "Close chat",
    input_label: "Message",
    input_placeholder: "Type a message…",
    send: "Send message",
    typing: "Typing…",
    not_sent: "Not sent.",
    retry: "Retry",
    edit: "Edit",
    chat_with: "Chat with {name}",
    you_said: "You:",
    bot_said: "Bot:",
    stop: "Stop generating",
    stopped: "Stopped.",
    interrupted: "Reply interrupted.",
    new_messages: "New messages",
    earlier_messages: "Show earlier messages",
    suggestions: "Suggested replies",
    messages: "Messages",
    dismiss_greeting: "Dismiss greeting",
    offline: "You're offline. Messages will be sent when the connection is back.",
    waiting_for_connection: "Waiting for the connection…",
    waiting_to_send: "Waiting to be sent…",
    sending_in_another_tab: "Sending from another tab…",
    new_conversation: "Start a new conversation",
    confirm_new_conversation: "Start a new conversation? The messages here will be cleared.",
    start_over: "Start over",
    cancel: "Cancel",
    unread_one: "1 unread message",
    unread_many: "{n} unread messages",
    cooldown: "You can send again in {n} s.",
    cooldown_queued: "Messages go out again in {n} s.",
    can_send_again: "You can send messages again.",
    retrying_in: "Retrying in {n} s…",
    error_unavailable: "Chat is unavailable right now. Please try again later.",
    error_usage_limit: "This chat has reached its usage limit for now. Please try again later, or contact us another way.",
    error_too_quickly_wait: "You're sending messages too quickly. Please wait {n} s and retry.",
    error_too_quickly: "You're sending messages too quickly. Please wait a moment and retry.",
    error_network: "Can't reach the chat service. Check your connection, then retry.",
    error_timeout: "No answer came in time. Retry to ask again.",
    error_server: "The chat service had a problem. Please retry in a moment.",
    error_malformed: "Something went wrong receiving the reply. Please retry.",
    error_invalid: "That message couldn't be sent. Try rephrasing it.",
    error_other: "Your message couldn't be sent. Please retry.",
    interrupted_network: "The connection dropped before the reply was finished. Retry to get the whole answer.",
    interrupted_other: "The chat service stopped before the reply was finished. Please retry.",
};

/// Spanish.
pub const ES: Strings = Strings {
    open_chat: "Abrir el chat",
    close_chat: "Cerrar el chat",
    input_label: "Mensaje",
    input_placeholder: "Escribe un mensaje…",
    send: "Enviar mensaje",
    typing: "Escribiendo…",
    not_sent: "No enviado.",
    retry: "Reintentar",
    edit: "Editar",
    chat_with: "Chat con {name}",
    you_said: "Tú:",
    bot_said: "Bot:",
    stop: "Detener la respuesta",
    stopped: "Detenida.",
    interrupted: "Respuesta interrumpida.",
    new_messages: "Mensajes nuevos",
    earlier_messages: "Ver mensajes anteriores",
    suggestions: "Respuestas sugeridas",
    messages: "Mensajes",
    dismiss_greeting: "Cerrar el saludo",
    offline: "Estás sin conexión. Los mensajes se enviarán cuando vuelva la conexión.",
    waiting_for_connection: "Esperando la conexión…",
    waiting_to_send: "Esperando para enviarse…",
    sending_in_another_tab: "Enviándose desde otra pestaña…",
    new_conversation: "Empezar una conversación nueva",
    confirm_new_conversation: "¿Empezar una conversación nueva? Se borrarán los mensajes de aquí.",
    start_over: "Empezar de nuevo",
    cancel: "Cancelar",
    unread_one: "1 mensaje sin leer",
    unread_many: "{n} mensajes sin leer",
    cooldown: "Podrás enviar de nuevo en {n} s.",
    cooldown_queued: "Los mensajes saldrán de nuevo en {n} s.",
    can_send_again: "Ya puedes volver a enviar mensajes.",
    retrying_in: "Reintentando en {n} s…",
    error_unavailable: "El chat no está disponible en este momento. Inténtalo de nuevo más tarde.",
    error_usage_limit: "Este chat ha alcanzado su límite de uso por ahora. Inténtalo más tarde o contáctanos por otra vía.",
    error_too_quickly_wait: "Estás enviando mensajes demasiado rápido. Espera {n} s y vuelve a intentarlo.",
    error_too_quickly: "Estás enviando mensajes demasiado rápido. Espera un momento y vuelve a intentarlo.",
    error_network: "No se puede conectar con el servicio de chat. Revisa tu conexión y vuelve a intentarlo.",
    error_timeout: "La respuesta no llegó a tiempo. Reintenta para preguntar de nuevo.",
    error_server: "El servicio de chat ha tenido un problema. Vuelve a intentarlo en un momento.",
    error_malformed: "Algo ha fallado al recibir la respuesta. Vuelve a intentarlo.",
    error_invalid: "No se ha podido enviar ese mensaje. Prueba a formularlo de otra manera.",
    error_other: "No se ha podido enviar tu mensaje. Vuelve a intentarlo.",
    interrupted_network: "La conexión se cortó antes de terminar la respuesta. Reintenta para recibirla completa.",
    interrupted_other: "El servicio de chat se detuvo antes de terminar la respuesta. Vuelve a intentarlo.",
};

/// German.
pub const DE: Strings = Strings {
    open_chat: "Chat öffnen",
    close_chat: "Chat schließen",
    input_label: "Nachricht",
    input_placeholder: "Nachricht schreiben…",
    send: "Nachricht senden",
    typing: "Schreibt…",
    not_sent: "Nicht gesendet.",
    retry: "Erneut versuchen",
    edit: "Bearbeiten",
    chat_with: "Chat mit {name}",
    you_said: "Sie:",
    bot_said: "Bot:",
    stop: "Antwort anhalten",
    stopped: "Angehalten.",
    interrupted: "Antwort unterbrochen.",
    new_messages: "Neue Nachrichten",
    earlier_messages: "Frühere Nachrichten anzeigen",
    suggestions: "Antwortvorschläge",
    messages: "Nachrichten",
    dismiss_greeting: "Begrüßung schließen",
    offline: "Sie sind offline. Nachrichten werden gesendet, sobald die Verbindung wieder steht.",
    waiting_for_connection: "Warte auf die Verbindung…",
    waiting_to_send: "Wartet auf das Senden…",
    sending_in_another_tab: "Wird in einem anderen Tab gesendet…",
    new_conversation: "Neues Gespräch beginnen",
    confirm_new_conversation: "Ein neues Gespräch beginnen? Die Nachrichten hier werden gelöscht.",
    start_over: "Neu beginnen",
    cancel: "Abbrechen",
    unread_one: "1 ungelesene Nachricht",
    unread_many: "{n} ungelesene Nachrichten",
    cooldown: "Sie können in {n} s wieder senden.",
    cooldown_queued: "Nachrichten werden in {n} s wieder gesendet.",
    can_send_again: "Sie können wieder Nachrichten senden.",
    retrying_in: "Neuer Versuch in {n} s…",
    error_unavailable: "Der Chat ist gerade nicht verfügbar. Bitte versuchen Sie es später noch einmal.",
    error_usage_limit: "Dieser Chat hat sein Nutzungslimit vorerst erreicht. Bitte versuchen Sie es später oder kontaktieren Sie uns auf anderem Weg.",
    error_too_quickly_wait: "Sie senden Nachrichten zu schnell. Bitte warten Sie {n} s und versuchen Sie es dann erneut.",
    error_too_quickly: "Sie senden Nachrichten zu schnell. Bitte warten Sie einen Moment und versuchen Sie es dann erneut.",
    error_network: "Der Chat-Dienst ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
    error_timeout: "Es kam rechtzeitig keine Antwort. Versuchen Sie es erneut.",
    error_server: "Beim Chat-Dienst ist ein Problem aufgetreten. Bitte versuchen Sie es gleich noch einmal.",
    error_malformed: "Beim Empfangen der Antwort ist etwas schiefgegangen. Bitte versuchen Sie es erneut.",
    error_invalid: "Diese Nachricht konnte nicht gesendet werden. Versuchen Sie, sie anders zu formulieren.",
    error_other: "Ihre Nachricht konnte nicht gesendet werden. Bitte versuchen Sie es erneut.",
    interrupted_network: "Die Verbindung brach ab, bevor die Antwort fertig war. Versuchen Sie es erneut, um die ganze Antwort zu erhalten.",
    interrupted_other: "Der Chat-Dienst hat aufgehört, bevor die Antwort fertig war. Bitte versuchen Sie es erneut.",
};

/// French.
pub const FR: Strings = Strings {
    open_chat: "Ouvrir le chat",
    close_chat: "Fermer le chat",
    input_label: "Message",
    input_placeholder: "Écrivez un message…",
    send: "Envoyer le message",
    typing: "En train d’écrire…",
    not_sent: "Non envoyé.",
    retry: "Réessayer",
    edit: "Modifier",
    chat_with: "Discuter avec {name}",
    you_said: "Vous :",
    bot_said: "Bot :",
    stop: "Arrêter la réponse",
    stopped: "Arrêtée.",
    interrupted: "Réponse interrompue.",
    new_messages: "Nouveaux messages",
    earlier_messages: "Afficher les messages précédents",
    suggestions: "Réponses suggérées",
    messages: "Messages",
    dismiss_greeting: "Fermer le message d’accueil",
    offline: "Vous êtes hors ligne. Les messages partiront dès le retour de la connexion.",
    waiting_for_connection: "En attente de la connexion…",
    waiting_to_send: "En attente d’envoi…",
    sending_in_another_tab: "Envoi depuis un autre onglet…",
    new_conversation: "Commencer une nouvelle conversation",
    confirm_new_conversation: "Commencer une nouvelle conversation ? Les messages affichés ici seront effacés.",
    start_over: "Recommencer",
    cancel: "Annuler",
    unread_one: "1 message non lu",
    unread_many: "{n} messages non lus",
    cooldown: "Vous pourrez envoyer à nouveau dans {n} s.",
    cooldown_queued: "Les messages repartiront dans {n} s.",
    can_send_again: "Vous pouvez de nouveau envoyer des messages.",
    retrying_in: "Nouvel essai dans {n} s…",
    error_unavailable: "Le chat est indisponible pour le moment. Veuillez réessayer plus tard.",
    error_usage_limit: "Ce chat a atteint sa limite d’utilisation pour le moment. Réessayez plus tard ou contactez-nous autrement.",
    error_too_quickly_wait: "Vous envoyez des messages trop vite. Patientez {n} s puis réessayez.",
    error_too_quickly: "Vous envoyez des messages trop vite. Patientez un instant puis réessayez.",
    error_network: "Impossible de joindre le service de chat. Vérifiez votre connexion, puis réessayez.",
    error_timeout: "Aucune réponse n’est arrivée à temps. Réessayez pour reposer la question.",
    error_server: "Le service de chat a rencontré un problème. Réessayez dans un instant.",
    error_malformed: "Un problème est survenu à la réception de la réponse. Veuillez réessayer.",
    error_invalid: "Ce message n’a pas pu être envoyé. Essayez de le reformuler.",
    error_other: "Votre message n’a pas pu être envoyé. Veuillez réessayer.",
    interrupted_network: "La connexion a été coupée avant la fin de la réponse. Réessayez pour l’obtenir en entier.",
    interrupted_other: "Le service de chat s’est arrêté avant la fin de la réponse. Veuillez réessayer.",
};

/// Arabic (Modern Standard, gender-neutral where the language allows).
pub const AR: Strings = Strings {
    open_chat: "فتح المحادثة",
    close_chat: "إغلاق المحادثة",
    input_label: "الرسالة",
    input_placeholder: "اكتب رسالة…",
    send: "إرسال الرسالة",
    typing: "يكتب الآن…",
    not_sent: "لم تُرسَل.",
    retry: "إعادة المحاولة",
    edit: "تعديل",
    chat_with: "محادثة مع {name}",
    you_said: "أنت:",
    bot_said: "المساعد:",
    stop: "إيقاف الرد",
    stopped: "أُوقِف.",
    interrupted: "انقطع الرد.",
    new_messages: "رسائل جديدة",
    earlier_messages: "عرض الرسائل السابقة",
    suggestions: "ردود مقترحة",
    messages: "الرسائل",
    dismiss_greeting: "إغلاق التحية",
    offline: "أنت غير متصل بالإنترنت. ستُرسَل الرسائل عند عودة الاتصال.",
    waiting_for_connection: "في انتظار الاتصال…",
    waiting_to_send: "في انتظار الإرسال…",
    sending_in_another_tab: "يُرسَل من علامة تبويب أخرى…",
    new_conversation: "بدء محادثة جديدة",
    confirm_new_conversation: "هل تريد بدء محادثة جديدة؟ ستُحذف الرسائل الظاهرة هنا.",
    start_over: "البدء من جديد",
    cancel: "إلغاء",
    unread_one: "رسالة واحدة غير مقروءة",
    unread_many: "رسائل غير مقروءة: {n}",
    cooldown: "يمكنك الإرسال مجددًا بعد {n} ث.",
    cooldown_queued: "ستُرسل الرسائل مجددًا بعد {n} ث.",
    can_send_again: "يمكنك إرسال الرسائل مجددًا.",
    retrying_in: "إعادة المحاولة بعد {n} ث…",
    error_unavailable: "المحادثة غير متاحة حاليًا. يُرجى المحاولة لاحقًا.",
    error_usage_limit: "بلغت هذه المحادثة حدّ الاستخدام في الوقت الحالي. يُرجى المحاولة لاحقًا أو التواصل معنا بطريقة أخرى.",
    error_too_quickly_wait: "ترسل الرسائل بسرعة كبيرة. يُرجى الانتظار {n} ث ثم إعادة المحاولة.",
    error_too_quickly: "ترسل الرسائل بسرعة كبيرة. يُرجى الانتظار قليلًا ثم إعادة المحاولة.",
    error_network: "تعذّر الوصول إلى خدمة المحادثة. تحقّق من اتصالك ثم أعد المحاولة.",
    error_timeout: "لم يصل أي رد في الوقت المناسب. أعد المحاولة لتسأل مجددًا.",
    error_server: "واجهت خدمة المحادثة مشكلة. يُرجى إعادة المحاولة بعد قليل.",
    error_malformed: "حدث خطأ أثناء استلام الرد. يُرجى إعادة المحاولة.",
    error_invalid: "تعذّر إرسال هذه الرسالة. جرّب صياغتها بطريقة أخرى.",
    error_other: "تعذّر إرسال رسالتك. يُرجى إعادة المحاولة.",
    interrupted_network: "انقطع الاتصال قبل اكتمال الرد. أعد المحاولة للحصول على الإجابة كاملة.",
    interrupted_other: "توقفت خدمة المحادثة قبل اكتمال الرد. يُرجى إعادة المحاولة.",
};

/// Hebrew.
pub const HE: Strings = Strings {
    open_chat: "פתיחת הצ׳אט",
    close_chat: "סגירת הצ׳אט",
    input_label: "הודעה",
    input_placeholder: "כתבו הודעה…",
    send: "שליחת ההודעה",
    typing: "מקליד…",
    not_sent: "לא נשלחה.",
    retry: "ניסיון חוזר",
    edit: "עריכה",
    chat_with: "צ׳אט עם {name}",
    you_said: "אתם:",
    bot_said: "הבוט:",
    stop: "עצירת התשובה",
    stopped: "נעצרה.",
    interrupted: "התשובה נקטעה.",
    new_messages: "הודעות חדשות",
    earlier_messages: "הצגת הודעות קודמות",
    suggestions: "תשובות מוצעות",
    messages: "הודעות",
    dismiss_greeting: "סגירת הברכה",
    offline: "אין חיבור לאינטרנט. ההודעות יישלחו כשהחיבור יחזור.",
    waiting_for_connection: "ממתין לחיבור…",
    waiting_to_send: "ממתין לשליחה…",
    sending_in_another_tab: "נשלח מכרטיסייה אחרת…",
    new_conversation: "התחלת שיחה חדשה",
    confirm_new_conversation: "להתחיל שיחה חדשה? ההודעות כאן יימחקו.",
    start_over: "להתחיל מחדש",
    cancel: "ביטול",
    unread_one: "הודעה אחת שלא נקראה",
    unread_many: "הודעות שלא נקראו: {n}",
    cooldown: "אפשר לשלוח שוב בעוד {n} שנ׳.",
    cooldown_queued: "ההודעות יישלחו שוב בעוד {n} שנ׳.",
    can_send_again: "אפשר לשלוח הודעות שוב.",
    retrying_in: "ניסיון חוזר בעוד {n} שנ׳…",
    error_unavailable: "הצ׳אט אינו זמין כרגע. נסו שוב מאוחר יותר.",
    error_usage_limit:
        "הצ׳אט הגיע למגבלת השימוש שלו לעת עתה. נסו שוב מאוחר יותר או צרו איתנו קשר בדרך אחרת.",
    error_too_quickly_wait: "נשלחות הודעות מהר מדי. המתינו {n} שנ׳ ונסו שוב.",
    error_too_quickly: "נשלחות הודעות מהר מדי. המתינו רגע ונסו שוב.",
    error_network: "אין גישה לשירות הצ׳אט. בדקו את החיבור ונסו שוב.",
    error_timeout: "לא הגיעה תשובה בזמן. נסו שוב כדי לשאול שוב.",
    error_server: "אירעה תקלה בשירות הצ׳אט. נסו שוב בעוד רגע.",
    error_malformed: "משהו השתבש בקבלת התשובה. נסו שוב.",
    error_invalid: "לא ניתן היה לשלוח את ההודעה. נסו לנסח אותה אחרת.",
    error_other: "לא ניתן היה לשלוח את ההודעה. נסו שוב.",
    interrupted_network: "החיבור נותק לפני שהתשובה הסתיימה. נסו שוב כדי לקבל את התשובה המלאה.",
    interrupted_other: "שירות הצ׳אט הפסיק לפני שהתשובה הסתיימה. נסו שוב.",
};

/// What the site owner is told in the console, or `None` when it is not their problem.
pub fn owner_diagnostic(error: &ApiError, bot_id: &str, api_url: &str) -> Option<String> {
    let hint = match &error.code {
        ErrorCode::InvalidApiKey => format!(
            "the API rejected the key (INVALID_API_KEY). Check data-api-key: it must be an active publishable key for bot \"{bot_id}\""
        ),
        ErrorCode::OriginNotAllowed => format!(
            "the key is not allowed on this page's origin (ORIGIN_NOT_ALLOWED). Add this origin to the key's allowed origins on {api_url}"
        ),
        ErrorCode::BotNotFound => format!(
            "no bot \"{bot_id}\" at {api_url} (CHATBOT_NOT_FOUND). Check data-bot-id and data-api-url"
        ),
        ErrorCode::InsufficientCredits | ErrorCode::QuotaExceeded => format!(
            "the bot's plan is out of credits or quota ({}). Visitors see a polite message until it is topped up",
            error.code.as_str()
        ),
        ErrorCode::InvalidRequest => format!("the API refused the request as invalid: {}", error.message),
        _ if error.is_misdirected() => format!(
            "no chat API answered at {api_url} (HTTP {}). Check data-api-url (the API server's address, like https://chat.example.com, without an endpoint's path) and data-dialect",
            error.http_status.unwrap_or_default()
        ),
        _ => return None,
    };
    Some(format!(
        "chat-widget: {hint}. Server said: {}",
        error.message
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A `data-api-url` with a path too many, or pointing at a web server that is not the chat
    /// API: the visitor is told the chat is unavailable (a retry would not mend it) and the
    /// site owner which settings to check. A 404 about something the API knows (a bot, a
    /// conversation) is not that.
    #[test]
    fn a_request_that_reached_no_chat_api_names_the_settings_to_check() {
        let error = |code: &str, status| ApiError {
            http_status: Some(status),
            ..ApiError::new(ErrorCode::from_wire(code), "No endpoint at this path")
        };
        for (code, status) in [
            ("NOT_FOUND", 404),
            ("METHOD_NOT_ALLOWED", 405),
            ("SERVER_ERROR", 501),
        ] {
            let error = error(code, status);
            assert_eq!(EN.visitor_error(&error), EN.error_unavailable, "{code}");
            let said = owner_diagnostic(&error, "demo", "https://x.test/api/v1").unwrap();
            assert!(
                said.contains("data-api-url") && said.contains("https://x.test/api/v1"),
                "{said}"
            );
        }
        for (code, status) in [
            ("CONVERSATION_NOT_FOUND", 404),
            ("SERVER_ERROR", 500),
            ("CHATBOT_NOT_FOUND", 404),
        ] {
            let said = owner_diagnostic(&error(code, status), "demo", "https://x.test")
                .unwrap_or_default();
            assert!(!said.contains("no chat API answered"), "{code}: {said}");
        }
        assert_ne!(
            EN.visitor_error(&error("SERVER_ERROR", 500)),
            EN.error_unavailable
        );
    }

    #[test]
    fn the_language_follows_the_page_or_the_browser() {
        assert_eq!(Locale::parse("es-MX"), Some(Locale::Es));
        assert_eq!(Locale::parse("he"), Some(Locale::He));
        assert_eq!(
            Locale::parse("iw-IL"),
            Some(Locale::He),
            "the old code for Hebrew"
        );
        assert_eq!(Locale::parse("pt-BR"), None);
        assert_eq!(Locale::negotiate(["pt-BR", "fr-CA", "en"]), Locale::Fr);
        assert_eq!(Locale::negotiate(["ja"]), Locale::En);
        assert!(Locale::Ar.is_rtl() && Locale::He.is_rtl() && !Locale::De.is_rtl());
    }

    #[test]
    fn every_language_fills_every_template() {
        let error = ApiError {
            retry_after_s: Some(7),
            ..ApiError::new(ErrorCode::RateLimitExceeded, "x")
        };
        for locale in [
            Locale::En,
            Locale::Es,
            Locale::De,
            Locale::Fr,
            Locale::Ar,
            Locale::He,
        ] {
            let strings = locale.strings();
            for text in [
                strings.unread_count(3),
                strings.cooldown(9, false),
                strings.cooldown(9, true),
                strings.retrying_in(4),
                strings.visitor_error(&error),
                strings.chat_with("Acme"),
            ] {
                assert!(!text.contains('{'), "{locale:?}: {text}");
            }
            assert!(
                strings.unread_count(3).contains('3') && strings.cooldown(9, true).contains('9')
            );
            assert!(strings.visitor_error(&error).contains('7'));
            assert!(strings.chat_with("Acme").contains("Acme"));
        }
    }
}
