//! The demo host page at `/` (an "Acme Store" help page with the widget's script tag) and its
//! stylesheet at `/demo.css`. The page has no inline script or style, so it can be served
//! under a strict Content-Security-Policy. Templates live in `server/demo/`.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse};

use crate::error::AppError;
use crate::store::DEMO_BOT_ID;
use crate::AppState;

/// The page, with `{{NAME}}` placeholders.
pub const INDEX_TEMPLATE: &str = include_str!("../demo/index.html");
/// The page's stylesheet.
pub const STYLESHEET: &str = include_str!("../demo/demo.css");
/// The page's icon (so browsers do not log a 404 for `/favicon.ico`).
pub const FAVICON: &str = include_str!("../demo/favicon.svg");

/// `GET /`: the demo page, wired to the demo bot, its first key and this server's address.
pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    let bot = state.store.bot(DEMO_BOT_ID).await?.ok_or_else(|| {
        AppError::Internal("the demo bot is missing from the database".to_owned())
    })?;
    let key = state
        .store
        .first_key(DEMO_BOT_ID)
        .await?
        .map(|key| key.key)
        .unwrap_or_default();
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| !host.is_empty())
        .unwrap_or(&state.listen_addr);
    let api_url = format!("http://{host}");
    Ok(Html(render(
        INDEX_TEMPLATE,
        &[
            ("BOT_ID", &bot.id),
            ("API_URL", &api_url),
            ("API_KEY", &key),
            ("GREETING", &bot.greeting),
            ("PRIMARY_COLOR", &bot.primary_color),
            ("BOT_NAME", &bot.name),
        ],
    )))
}

/// `GET /demo.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
}

/// `GET /favicon.ico` and `GET /favicon.svg`: the demo's icon.
pub async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// Replaces each `{{NAME}}` with its value, HTML-escaped, in one pass (so a value that contains
/// `{{...}}` is never expanded again). Unknown placeholders are left as they are.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            values
                .iter()
                .find(|(name, _)| *name == &after[..end])
                .map(|(_, v)| (end, v))
        });
        match value {
            Some((end, value)) => {
                out.push_str(&escape_html(value));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML content and double- or single-quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_never_expanded_twice() {
        let out = render(
            "<p title=\"{{A}}\">{{B}} {{C}} {{",
            &[("A", "\"><script>"), ("B", "{{A}}")],
        );
        assert_eq!(out, "<p title=\"&quot;&gt;&lt;script&gt;\">{{A}} {{C}} {{");
    }

    #[test]
    fn the_template_has_every_placeholder_and_no_inline_code() {
        for name in [
            "BOT_ID",
            "API_URL",
            "API_KEY",
            "GREETING",
            "PRIMARY_COLOR",
            "BOT_NAME",
        ] {
            assert!(
                INDEX_TEMPLATE.contains(&format!("{{{{{name}}}}}")),
                "{name}"
            );
        }
        assert_eq!(INDEX_TEMPLATE.matches("<script").count(), 1);
        assert!(!INDEX_TEMPLATE.contains("<style") && !INDEX_TEMPLATE.contains("style="));
        // No inline event handler attributes (` onclick=` and the like).
        let lower = INDEX_TEMPLATE.to_lowercase();
        let handlers = lower.match_indices(" on").filter(|(at, _)| {
            let name: String = lower[at + 3..]
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            !name.is_empty() && lower[at + 3 + name.len()..].starts_with('=')
        });
        assert_eq!(handlers.count(), 0);
    }
}
