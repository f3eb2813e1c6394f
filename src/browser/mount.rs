//! Leptos views inside the widget's DOM: built and mounted at the end of an element, kept for
//! as long as the current reactive owner (the widget) lives.

use leptos::prelude::*;
use leptos::tachys::view::{Mountable, Render};
use wasm_bindgen::JsCast;

/// The DOM types the widget's view code passes on (made here or by Leptos).
pub use web_sys::{Element, Node};

/// Builds `view` under the current owner (its effects are that owner's) and mounts it at the
/// end of `parent`. It is taken out of the DOM when the owner is cleaned up.
pub fn append_view<V: IntoView + 'static>(parent: &web_sys::Element, view: V) {
    let mut state = view.into_view().build();
    state.mount(parent, None);
    StoredValue::<_, LocalStorage>::new_local(Mounted(state));
}

/// [`append_view`] for any node that holds children (the widget's shadow root: Leptos mounts
/// with the `Node` methods every parent has).
pub fn append_view_to<V: IntoView + 'static>(parent: &Node, view: V) {
    append_view(parent.unchecked_ref::<Element>(), view);
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
