//! The built widget under `/widget/*`: which bytes go out and how long they may be cached.
//!
//! The dist directory holds the loader `chat-widget.js` (a stable name that pages put in their
//! script tag), the content-hashed core (`core/chat-widget.<hash>.js` and `.wasm`), and next to
//! each file, usually, a brotli (`<file>.br`) and a gzip (`<file>.gz`) sibling.
//!
//! * **Encoding.** When the request's `Accept-Encoding` allows it, the `.br` sibling is sent
//!   (else the `.gz` one, else the file itself; a missing sibling just falls through), with
//!   `Content-Encoding` and the `Content-Type` of the original file (`text/javascript`,
//!   `application/wasm`). Every file response says `Vary: Accept-Encoding`. A `.br` or `.gz`
//!   requested by its own name is sent as it is, without `Content-Encoding`.
//! * **Caching.** A file whose name carries a content hash ([`is_content_hashed`]) never
//!   changes under that name: [`IMMUTABLE`]. Everything else, the loader first of all, may
//!   change with the next build: [`REVALIDATE`], a few minutes fresh and then checked again
//!   with `If-Modified-Since` against the `Last-Modified` every file response carries (`304`
//!   when unchanged). Responses that are not a file (`404`, `405`, `5xx`...) get
//!   [`NOT_A_FILE`], so that no cache keeps a "not there yet" for a year.
//!
//! The CORS layer of [`crate::app`] wraps all of this, so pages on other origins can
//! `import()` the scripts and `fetch` the `.wasm`, on `200` and `304` alike.
//!
//! No `ETag`: [`ServeDir`] does not make one, and `Last-Modified` already lets the loader be
//! revalidated cheaply.

use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any_service, MethodRouter};
use tower_http::services::ServeDir;

/// `Cache-Control` of a content-hashed file: a year (the longest that caches are asked to
/// honour), and `immutable` so that browsers do not revalidate it on reload either.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of a file with a stable name, the loader `chat-widget.js` above all: fresh
/// for 5 minutes, so a new build reaches every page within minutes. After that, for up to a
/// day, a cache may answer once more with its old copy while it fetches the new one in the
/// background (`stale-while-revalidate`), so a returning visitor never waits for the check.
/// Such an old loader asks for the previous build's hashed files: a cache that kept the
/// loader has usually kept those too (they are immutable), but a deploy is safest when the
/// previous build's `core/` files stay for a day.
pub const REVALIDATE: &str = "public, max-age=300, stale-while-revalidate=86400";

/// `Cache-Control` of a response that is not a file: a `404` for a file the next build brings
/// must not be remembered, least of all under a hashed name.
pub const NOT_A_FILE: &str = "no-store";

/// The shortest run of hex digits taken as a content hash (the build writes 10 or more).
pub const MIN_HASH_CHARS: usize = 8;

/// Whether the file that `path` (a URL path, as requested) names carries a content hash: a
/// `.`-separated part of its name, after the first, of at least [`MIN_HASH_CHARS`] lower-case
/// hex digits, like `chat-widget.3f9a1c0b2d7e.wasm` (or its `.br`). Only the last path segment
/// counts, not directories. Deliberately narrow, since a wrong "yes" pins a file for a year:
/// the first part is the file's own name (`deadbeef.js` could be a name anyone picks),
/// upper-case hex is not what the build writes, and a name with `%` escapes is not decoded
/// but answered "no".
pub fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    !name.contains('%') && name.split('.').skip(1).any(is_hash)
}

fn is_hash(part: &str) -> bool {
    part.len() >= MIN_HASH_CHARS && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The `Cache-Control` for a file found at `path` (a URL path under `/widget`):
/// [`IMMUTABLE`] if its name is content-hashed ([`is_content_hashed`]), else [`REVALIDATE`].
pub fn cache_control_for(path: &str) -> &'static str {
    if is_content_hashed(path) {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

/// The service mounted at `/widget`: the files of `dist_dir` with their precompressed siblings
/// and cache headers, as the module documentation describes.
pub fn service(dist_dir: &Path) -> MethodRouter {
    let files = ServeDir::new(dist_dir)
        .precompressed_br()
        .precompressed_gzip();
    any_service(files).layer(middleware::from_fn(cache_headers))
}

/// Adds `Cache-Control` to every response, and `Vary: Accept-Encoding` to those that are (or
/// stand for, `304`) a file.
async fn cache_headers(request: Request, next: Next) -> Response {
    let for_a_file = cache_control_for(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(for_a_file));
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NOT_A_FILE));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_the_builds_core_files_and_their_siblings() {
        for path in [
            "/core/chat-widget.3f9a1c0b2d7e.wasm",
            "/core/chat-widget.3f9a1c0b2d7e.js",
            "/core/chat-widget.3f9a1c0b2d7e.wasm.br",
            "/core/chat-widget.3f9a1c0b2d7e.js.gz",
            "core/chat-widget.0123456789abcdef0123.wasm",
            "/chat-widget.deadbeef.js",
            "/a.b.12345678.css",
        ] {
            assert!(is_content_hashed(path), "{path}");
            assert_eq!(cache_control_for(path), IMMUTABLE, "{path}");
        }
    }

    #[test]
    fn stable_names_are_not_hashed() {
        for path in [
            "/chat-widget.js",
            "/chat-widget.js.br",
            "/chat-widget_bg.wasm",
            "/core/chat-widget.js",
            "/index.html",
            "/",
            "",
            // Too short, not hex, upper case, or the file's own name.
            "/core/chat-widget.3f9a1c0.wasm",
            "/core/chat-widget.3f9a1c0b2g7e.wasm",
            "/core/chat-widget.3F9A1C0B2D7E.wasm",
            "/core/chat-widget-3f9a1c0b2d7e.wasm",
            "/3f9a1c0b2d7e.wasm",
            "/deadbeef",
            // A hash in a directory name does not make the file in it hashed.
            "/core.3f9a1c0b2d7e/chat-widget.js",
            "/3f9a1c0b2d7e/chat-widget.js",
            // Escapes are not decoded.
            "/core/chat-widget.3f9a1c0b2d7e%2ejs",
            "/x.3f9a1c0b2d7e.y%2Fchat-widget.js",
        ] {
            assert!(!is_content_hashed(path), "{path}");
            assert_eq!(cache_control_for(path), REVALIDATE, "{path}");
        }
    }

    #[test]
    fn the_hash_must_be_a_whole_part_of_at_least_eight_hex_digits() {
        assert!(is_content_hashed("/x.01234567.js"));
        assert!(!is_content_hashed("/x.0123456.js"));
        assert!(!is_content_hashed("/x.01234567-a.js"));
        assert!(!is_content_hashed("/x..js"));
    }

    #[test]
    fn the_header_values_are_valid() {
        for value in [IMMUTABLE, REVALIDATE, NOT_A_FILE] {
            assert!(HeaderValue::from_str(value).is_ok(), "{value}");
        }
    }
}
