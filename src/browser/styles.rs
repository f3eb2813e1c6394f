//! Putting the widget's CSS where its DOM lives: into its shadow root as a constructable
//! stylesheet (allowed by a strict `style-src` CSP), or a `<style>` element where that API is
//! missing; into `document.head` once when there is no shadow root.

use wasm_bindgen::JsCast;

/// The widget's whole stylesheet, from `assets/widget.css`.
pub const WIDGET_CSS: &str = include_str!("../../assets/widget.css");

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
    if shadow.adopted_style_sheets().length() > 0 {
        return;
    }
    let constructed = web_sys::CssStyleSheet::new().and_then(|sheet| {
        sheet.replace_sync(WIDGET_CSS)?;
        Ok(sheet)
    });
    match constructed {
        Ok(sheet) => shadow.set_adopted_style_sheets(&js_sys::Array::of1(&sheet)),
        Err(_) => append_style_element(shadow.unchecked_ref(), "cw-styles"),
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
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Ok(style) = document.create_element("style") {
        style.set_id(id);
        style.set_text_content(Some(WIDGET_CSS));
        let _ = parent.append_child(&style);
    }
}
