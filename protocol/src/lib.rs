//! The pure core shared by the chat widget and its reference server.
//!
//! * [`model`]: the one internal model every dialect maps to ([`Reply`], [`ApiError`], ...).
//! * [`dialect`]: one module per vendor wire format; only these modules know a wire shape.
//! * [`json`]: the small JSON value, parser and writer the dialects read and write with.
//! * [`sse`]: a byte-fed Server-Sent Events parser; [`stream`]: what streamed events mean.
//! * [`markdown`]: bot replies as Markdown, rendered to HTML that is safe to insert in a page.
//! * [`transcript`]: the conversation the widget keeps in the browser where the server keeps none.
//!
//! Architecture invariant: this crate never touches `web_sys`, `leptos` or any I/O. It is
//! tested natively with `cargo test -p chat-widget-protocol`.
//!
//! Feature `serde` (on by default; the widget turns it off): serde derives on the wire types
//! and the server-side helpers that need them. Everything the widget calls works without it.
#![deny(missing_docs)]

pub mod dialect;
pub mod json;
pub mod markdown;
pub mod model;
pub mod sse;
pub mod stream;
pub mod transcript;

pub use json::Json;
pub use model::{
    ActionKind, ApiError, ErrorCode, OutgoingMessage, RateLimit, Reply, ResponseMeta,
    SuggestedAction,
};
