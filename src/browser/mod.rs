//! The only place that calls browser APIs through `web_sys`: HTTP, storage, the shadow root
//! and its styles, console, focus, a streamed reply's DOM. Everything above this module sees plain Rust types.

pub mod dom;
pub mod http;
pub mod mount;
pub mod reply_dom;
pub mod storage;
pub mod styles;
