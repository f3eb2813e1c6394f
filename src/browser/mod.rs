//! The only place that calls browser APIs through `web_sys`: HTTP, storage, the shadow root
//! and its styles, console, focus. Everything above this module sees plain Rust types.

pub mod dom;
pub mod http;
pub mod storage;
pub mod styles;
