//! The pure core shared by the chat widget and its reference server.
//!
//! * [`model`]: the one internal model every dialect maps to ([`Reply`], [`ApiError`], ...).
//! * [`dialect`]: one module per vendor wire format, each shape a serde type; only these
//!   modules know a wire shape.
//! * [`sse`]: a byte-fed Server-Sent Events parser; [`stream`]: what streamed events mean.
//! * [`markdown`]: bot replies as Markdown, rendered to HTML that is safe to insert in a page.
//! * [`transcript`]: the conversation the widget keeps in the browser where the server keeps none.
//!
//! Architecture invariant: this crate never touches `web_sys`, `leptos` or any I/O. It is
//! tested natively with `cargo test -p chat-widget-protocol`.
//!
//! JSON goes through serde and serde_json, for the widget and the server alike.
#![deny(missing_docs)]

pub mod dialect;
pub mod markdown;
pub mod model;
pub mod sse;
pub mod stream;
pub mod transcript;

pub use model::{
    ActionKind, ApiError, ErrorCode, OutgoingMessage, RateLimit, Reply, ResponseMeta,
    SuggestedAction, MAX_REPLY_BYTES,
};
