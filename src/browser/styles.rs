//! Putting the widget's CSS where its DOM lives: into its shadow root as a constructable
//! stylesheet (allowed by a strict `style-src` CSP), or a `<style>` element where that API is
//! missing; into `document.head` once when there is no shadow root.
//!
//! The stylesheet comes in two parts. `assets/launcher.css` is what a closed widget needs; the
//! script tag's loader carries it and has adopted it before the widget arrives, so the
//! script-tag build (feature `embedded-css` off) leaves it out. `assets/widget.css` (the
//! greeting bubble and the panel) is always compiled in and added after it. Both are compiled
//! in minified (`build.rs`).

use std::cell::OnceCell;

use wasm_bindgen::JsCast;

/// The part of the stylesheet this build installs.
#[cfg(feature = "embedded-css")]
pub const WIDGET_CSS: &str = concat!(
    include_str!(concat!(env!("OUT_DIR"), "/launcher.css")),
    include_str!(concat!(env!("OUT_DIR"), "/widget.css"))
);
/// The part of the stylesheet this build installs (the loader brought the launcher's part).
#[cfg(not(feature = "embedded-css"))]
pub const WIDGET_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/widget.css"));

thread_local! {
    /// One constructed sheet, shared by every widget on the page.
    static SHEET: OnceCell<Option<web_sys::CssStyleSheet>> = const { OnceCell::new() };
}

/// Installs [`WIDGET_CSS`] into the root (shadow root or document) that contains `node`.
pub fn install_for(node: &web_sys::Node) {
    let root = node.get_root_node();
    if let Some(shadow) = root.dyn_ref::<web_sys::ShadowRoot>() {
        install_in_shadow(shadow);
    } else if let Some(document) = root.dyn_ref::<web_sys::Document>() {
        install_in_document(document);
    }
}

fn install_in_shadow(shadow: &web_sys::ShadowRoot) {
    let sheet = SHEET.with(|cell| {
        cell.get_or_init(|| {
            let sheet = web_sys::CssStyleSheet::new().ok()?;
            sheet.replace_sync(WIDGET_CSS).ok()?;
            Some(sheet)
        })
        .clone()
    });
    match sheet {
        Some(sheet) => {
            // After whatever the loader adopted (the launcher's part), once.
            let adopted = shadow.adopted_style_sheets();
            if !adopted.includes(&sheet, 0) {
                shadow.set_adopted_style_sheets(&adopted.concat(&js_sys::Array::of1(&sheet)));
            }
        }
        None if shadow.get_element_by_id("cw-styles").is_none() => {
            append_style_element(shadow.unchecked_ref(), "cw-styles")
        }
        None => {}
    }
}

fn install_in_document(document: &web_sys::Document) {
    if document.get_element_by_id("chat-widget-styles").is_some() {
        return;
    }
    if let Some(head) = document.head() {
        append_style_element(head.unchecked_ref(), "chat-widget-styles");
    }
}

fn append_style_element(parent: &web_sys::Node, id: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(style) = document.create_element("style") {
        style.set_id(id);
        style.set_text_content(Some(WIDGET_CSS));
        let _ = parent.append_child(&style);
    }
}
