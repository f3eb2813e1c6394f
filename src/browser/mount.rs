//! Where a widget lives in the page: its host element's shadow root, and the Leptos views built
//! and mounted into it, kept for as long as the current reactive owner (the widget) lives.

use leptos::prelude::*;
use leptos::tachys::view::{Mountable, Render};
use wasm_bindgen::{JsCast, JsValue};

/// An element the widget can be mounted into (its shadow root's host).
pub type HostElement = web_sys::HtmlElement;

/// An element a Leptos app gives `ChatWidget` to add its host element to.
pub type MountTarget = web_sys::Element;

/// The shadow root a widget is drawn in, with the launcher the loader drew there before the
/// widget arrived, if it did.
pub struct Shadow {
    root: web_sys::ShadowRoot,
    placeholder: Option<web_sys::Element>,
}

impl Shadow {
    /// Attaches an open shadow root to `host`, or takes the one the loader attached to draw its
    /// launcher (`[data-cw-placeholder]`): the widget renders beside that launcher and then
    /// takes its place ([`Shadow::replace_placeholder`]). A root that holds anything else (a
    /// mounted widget) is an error.
    pub fn attach(host: &HostElement) -> Result<Self, JsValue> {
        match host.shadow_root() {
            None => Ok(Self {
                root: host
                    .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?,
                placeholder: None,
            }),
            Some(root) => match super::dom::placeholder_in(&root) {
                Some(placeholder) => Ok(Self {
                    root,
                    placeholder: Some(placeholder),
                }),
                None => Err(JsValue::from_str(
                    "chat-widget: this element already holds a widget",
                )),
            },
        }
    }

    /// Builds `view` under the current owner and mounts it at the end of the shadow root (see
    /// [`append_view`]).
    pub fn append_view<V: IntoView + 'static>(&self, view: V) {
        append_view(self.root.unchecked_ref::<web_sys::Element>(), view);
    }

    /// Removes the loader's launcher, if it drew one, now that the widget's own is in place
    /// (keyboard focus moves with it).
    pub fn replace_placeholder(self) {
        if let Some(placeholder) = self.placeholder {
            super::dom::replace_placeholder(&self.root, placeholder);
        }
    }
}

/// Empties `host`'s shadow root (an unmounted widget leaves nothing behind).
pub fn clear_shadow(host: &HostElement) {
    if let Some(shadow) = host.shadow_root() {
        shadow.set_text_content(None);
    }
}

/// Builds `view` under the current owner (its effects are that owner's) and mounts it at the
/// end of `parent` (Leptos mounts with the `Node` methods every parent has, a shadow root's
/// too). It is taken out of the DOM when the owner is cleaned up.
fn append_view<V: IntoView + 'static>(parent: &web_sys::Element, view: V) {
    let mut state = view.into_view().build();
    state.mount(parent, None);
    StoredValue::<_, LocalStorage>::new_local(Mounted(state));
}

/// A mounted view's state: unmounted when dropped.
struct Mounted<M: Mountable>(M);

impl<M: Mountable> Drop for Mounted<M> {
    fn drop(&mut self) {
        self.0.unmount();
    }
}

/// Writes `value` into a text area when it differs from what it holds (writing moves the
/// caret to the end, so a value the visitor just typed is left alone).
pub fn set_value_if_changed(input: &web_sys::HtmlTextAreaElement, value: &str) {
    if input.value() != value {
        input.set_value(value);
    }
}
