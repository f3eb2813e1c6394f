//! The widget's own small reactive system: signals, stored values and effects, owned by an
//! [`Owner`] that disposes them all at once (a widget's unmount).
//!
//! It replaces `reactive_graph` (Leptos) in the script-tag build: the same few ideas, a
//! fraction of the code. Handles are `Copy` (an index and a generation into one table), so
//! closures capture them freely; a disposed handle is detected by its generation.
//!
//! Effects track what they read and re-run when it changes: a new effect runs at once, and a
//! write queues the effects that read it for one microtask later (as Leptos does), so a run of
//! writes is seen as one change and an effect never sees a half-done update or re-enters
//! itself.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::rc::Rc;

pub use wasm_bindgen_futures::spawn_local;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Id {
    index: u32,
    generation: u32,
}

enum Kind {
    Value(Rc<dyn Any>),
    Effect(Rc<EffectCell>),
    Owner(Rc<RefCell<Vec<Id>>>),
}

struct Node {
    generation: u32,
    kind: Option<Kind>,
    /// The effects that read this signal in their last run.
    subscribers: Vec<Id>,
}

struct EffectCell {
    run: RefCell<Box<dyn FnMut()>>,
    sources: RefCell<Vec<Id>>,
    owner: Option<Id>,
}

#[derive(Default)]
struct Runtime {
    nodes: RefCell<Vec<Node>>,
    free: RefCell<Vec<u32>>,
    observer: Cell<Option<Id>>,
    owner: Cell<Option<Id>>,
    /// Signal borrows and effect runs under way: while any is, effects wait in `pending`.
    busy: Cell<u32>,
    pending: RefCell<Vec<Id>>,
    /// A microtask will run `pending`.
    scheduled: Cell<bool>,
}

thread_local! {
    static RT: Runtime = Runtime::default();
}

fn alloc(kind: Kind) -> Id {
    RT.with(|rt| {
        let mut nodes = rt.nodes.borrow_mut();
        let id = match rt.free.borrow_mut().pop() {
            Some(index) => {
                let node = &mut nodes[index as usize];
                node.kind = Some(kind);
                Id {
                    index,
                    generation: node.generation,
                }
            }
            None => {
                nodes.push(Node {
                    generation: 0,
                    kind: Some(kind),
                    subscribers: Vec::new(),
                });
                Id {
                    index: nodes.len() as u32 - 1,
                    generation: 0,
                }
            }
        };
        if let Some(owner) = rt.owner.get() {
            if let Some(Node {
                kind: Some(Kind::Owner(children)),
                generation,
                ..
            }) = nodes.get(owner.index as usize)
            {
                if *generation == owner.generation {
                    children.borrow_mut().push(id);
                }
            }
        }
        id
    })
}

fn value(id: Id) -> Option<Rc<dyn Any>> {
    RT.with(|rt| match rt.nodes.borrow().get(id.index as usize) {
        Some(Node {
            generation,
            kind: Some(Kind::Value(value)),
            ..
        }) if *generation == id.generation => Some(value.clone()),
        _ => None,
    })
}

fn is_alive(id: Id) -> bool {
    RT.with(|rt| {
        rt.nodes
            .borrow()
            .get(id.index as usize)
            .is_some_and(|n| n.generation == id.generation && n.kind.is_some())
    })
}

/// Frees a node and, for an owner, everything it owns. Values are dropped after the table is
/// released (a value's `Drop` may dispose more).
fn dispose(id: Id) {
    let kind = RT.with(|rt| {
        let mut nodes = rt.nodes.borrow_mut();
        let node = nodes.get_mut(id.index as usize)?;
        if node.generation != id.generation {
            return None;
        }
        let kind = node.kind.take()?;
        node.generation = node.generation.wrapping_add(1);
        node.subscribers.clear();
        rt.free.borrow_mut().push(id.index);
        Some(kind)
    });
    if let Some(Kind::Owner(children)) = &kind {
        let children = std::mem::take(&mut *children.borrow_mut());
        for child in children.into_iter().rev() {
            dispose(child);
        }
    }
    drop(kind);
}

/// Records that the running effect read `id`.
fn track(id: Id) {
    RT.with(|rt| {
        let Some(observer) = rt.observer.get() else {
            return;
        };
        let mut nodes = rt.nodes.borrow_mut();
        let Some(node) = nodes
            .get_mut(id.index as usize)
            .filter(|n| n.generation == id.generation)
        else {
            return;
        };
        if node.subscribers.contains(&observer) {
            return;
        }
        node.subscribers.push(observer);
        if let Some(Node {
            kind: Some(Kind::Effect(effect)),
            ..
        }) = nodes.get(observer.index as usize)
        {
            effect.sources.borrow_mut().push(id);
        }
    })
}

/// Queues the effects that read `id`; they run in a microtask, once however many writes.
fn notify(id: Id) {
    RT.with(|rt| {
        let subscribers = match rt.nodes.borrow_mut().get_mut(id.index as usize) {
            Some(node) if node.generation == id.generation => std::mem::take(&mut node.subscribers),
            _ => return,
        };
        let mut pending = rt.pending.borrow_mut();
        for effect in subscribers {
            if !pending.contains(&effect) {
                pending.push(effect);
            }
        }
    });
    schedule();
}

fn schedule() {
    if !RT.with(|rt| rt.scheduled.replace(true)) {
        spawn_local(async {
            RT.with(|rt| rt.scheduled.set(false));
            flush();
        });
    }
}

/// Runs the queued effects (and those they queue), unless something is under way.
fn flush() {
    loop {
        let next = RT.with(|rt| {
            if rt.busy.get() > 0 {
                return None;
            }
            let mut pending = rt.pending.borrow_mut();
            (!pending.is_empty()).then(|| pending.remove(0))
        });
        match next {
            Some(effect) => run_effect(effect),
            None => return,
        }
    }
}

struct Busy;

impl Busy {
    fn enter() -> Self {
        RT.with(|rt| rt.busy.set(rt.busy.get() + 1));
        Busy
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        RT.with(|rt| rt.busy.set(rt.busy.get() - 1));
    }
}

fn run_effect(id: Id) {
    let effect = RT.with(|rt| match rt.nodes.borrow().get(id.index as usize) {
        Some(Node {
            generation,
            kind: Some(Kind::Effect(effect)),
            ..
        }) if *generation == id.generation => Some(effect.clone()),
        _ => None,
    });
    let Some(effect) = effect else { return };
    // What it read last time is forgotten: this run says what it reads now.
    let sources = std::mem::take(&mut *effect.sources.borrow_mut());
    RT.with(|rt| {
        let mut nodes = rt.nodes.borrow_mut();
        for source in sources {
            if let Some(node) = nodes
                .get_mut(source.index as usize)
                .filter(|n| n.generation == source.generation)
            {
                node.subscribers.retain(|s| *s != id);
            }
        }
    });
    let (observer, owner) = RT.with(|rt| {
        (
            rt.observer.replace(Some(id)),
            rt.owner.replace(effect.owner),
        )
    });
    {
        let _busy = Busy::enter();
        (effect.run.borrow_mut())();
    }
    RT.with(|rt| {
        rt.observer.set(observer);
        rt.owner.set(owner);
    });
}

/// Runs `f` without tracking what it reads.
pub fn untrack<R>(f: impl FnOnce() -> R) -> R {
    let observer = RT.with(|rt| rt.observer.take());
    let result = f();
    RT.with(|rt| rt.observer.set(observer));
    result
}

/// A reactive value: effects that read it re-run when it is written.
pub struct RwSignal<T> {
    id: Id,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for RwSignal<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for RwSignal<T> {}

impl<T> std::fmt::Debug for RwSignal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RwSignal")
    }
}

fn cell<T: 'static>(id: Id) -> Option<Rc<RefCell<T>>> {
    value(id).and_then(|value| value.downcast::<RefCell<T>>().ok())
}

impl<T: 'static> RwSignal<T> {
    /// A new signal, owned by the current [`Owner`].
    pub fn new(value: T) -> Self {
        Self {
            id: alloc(Kind::Value(Rc::new(RefCell::new(value)))),
            _type: PhantomData,
        }
    }

    /// Whether its owner was disposed.
    pub fn is_disposed(&self) -> bool {
        !is_alive(self.id)
    }

    /// Makes the running effect depend on it without reading it.
    pub fn track(&self) {
        track(self.id);
    }

    /// Reads it without tracking; `None` once disposed.
    pub fn try_with_untracked<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let cell = cell::<T>(self.id)?;
        let _busy = Busy::enter();
        let value = cell.borrow();
        Some(f(&value))
    }

    /// Reads it, tracking; `None` once disposed.
    pub fn try_with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        track(self.id);
        self.try_with_untracked(f)
    }

    /// Reads it, tracking. Panics once disposed.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with(f).unwrap_or_else(|| disposed())
    }

    /// Reads it without tracking. Panics once disposed.
    pub fn with_untracked<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with_untracked(f).unwrap_or_else(|| disposed())
    }

    /// Changes it and re-runs the effects that read it; `None` once disposed.
    pub fn try_update<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let result = self.try_update_silently(f)?;
        notify(self.id);
        Some(result)
    }

    /// Changes it without re-running anything (what [`StoredValue`] is); `None` once disposed.
    fn try_update_silently<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let cell = cell::<T>(self.id)?;
        let _busy = Busy::enter();
        let mut value = cell.borrow_mut();
        Some(f(&mut value))
    }

    /// Changes it and re-runs the effects that read it (nothing once disposed).
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        self.try_update(f);
    }

    /// Replaces it. Gives the value back once disposed (`None`: it was set), as Leptos does.
    pub fn try_set(&self, value: T) -> Option<T> {
        match cell::<T>(self.id) {
            Some(_) => {
                self.try_update(|v| *v = value);
                None
            }
            None => Some(value),
        }
    }

    /// Replaces it (nothing once disposed).
    pub fn set(&self, value: T) {
        self.try_set(value);
    }
}

impl<T: Clone + 'static> RwSignal<T> {
    /// Its value, tracking. Panics once disposed.
    pub fn get(&self) -> T {
        self.with(T::clone)
    }

    /// Its value without tracking. Panics once disposed.
    pub fn get_untracked(&self) -> T {
        self.with_untracked(T::clone)
    }

    /// Its value without tracking; `None` once disposed.
    pub fn try_get_untracked(&self) -> Option<T> {
        self.try_with_untracked(T::clone)
    }

    /// Its value, tracking; `None` once disposed.
    pub fn try_get(&self) -> Option<T> {
        self.try_with(T::clone)
    }
}

#[cold]
fn disposed() -> ! {
    wasm_bindgen::throw_str("chat-widget: a signal was read after its widget was unmounted")
}

/// A value owned like a signal but not reactive: reading it is never tracked and writing it
/// re-runs nothing.
pub struct StoredValue<T>(RwSignal<T>);

impl<T> Clone for StoredValue<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for StoredValue<T> {}

impl<T> std::fmt::Debug for StoredValue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredValue")
    }
}

impl<T: 'static> StoredValue<T> {
    /// A new stored value, owned by the current [`Owner`].
    pub fn new(value: T) -> Self {
        Self(RwSignal::new(value))
    }

    /// Reads it; `None` once disposed.
    pub fn try_with_value<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.0.try_with_untracked(f)
    }

    /// Changes it; `None` once disposed.
    pub fn try_update_value<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.0.try_update_silently(f)
    }

    /// Reads it. Panics once disposed.
    pub fn with_value<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with_value(f).unwrap_or_else(|| disposed())
    }

    /// Changes it (nothing once disposed).
    pub fn update_value(&self, f: impl FnOnce(&mut T)) {
        self.try_update_value(f);
    }

    /// Replaces it (nothing once disposed).
    pub fn set_value(&self, value: T) {
        self.try_update_value(|v| *v = value);
    }

    /// Whether its owner was disposed.
    pub fn is_disposed(&self) -> bool {
        self.0.is_disposed()
    }
}

impl<T: Clone + 'static> StoredValue<T> {
    /// Its value. Panics once disposed.
    pub fn get_value(&self) -> T {
        self.with_value(T::clone)
    }

    /// Its value; `None` once disposed.
    pub fn try_get_value(&self) -> Option<T> {
        self.try_with_value(T::clone)
    }
}

/// An effect: runs now, and again whenever a signal it read changes, until disposed (with its
/// owner, or by [`Effect::dispose`]).
#[derive(Clone, Copy)]
pub struct Effect {
    id: Id,
}

impl Effect {
    /// Runs `f` now and whenever what it read changes. `f` gets what it returned last time.
    pub fn new<T: 'static>(mut f: impl FnMut(Option<T>) -> T + 'static) -> Self {
        let mut last = None;
        let run: Box<dyn FnMut()> = Box::new(move || last = Some(f(last.take())));
        let owner = RT.with(|rt| rt.owner.get());
        let id = alloc(Kind::Effect(Rc::new(EffectCell {
            run: RefCell::new(run),
            sources: RefCell::default(),
            owner,
        })));
        // Now, unless inside another effect or a signal's closure: then right after it.
        if RT.with(|rt| rt.busy.get()) == 0 {
            run_effect(id);
            flush();
        } else {
            RT.with(|rt| rt.pending.borrow_mut().push(id));
            schedule();
        }
        Self { id }
    }

    /// Stops it.
    pub fn dispose(self) {
        dispose(self.id);
    }
}

/// An effect that stops when this guard is dropped (for effects tied to a DOM node's life).
pub struct EffectGuard(Effect);

impl EffectGuard {
    /// Runs `f` now and whenever what it read changes, until the guard is dropped.
    pub fn new(f: impl FnMut(Option<()>) + 'static) -> Self {
        Self(Effect::new(f))
    }
}

impl Drop for EffectGuard {
    fn drop(&mut self) {
        self.0.dispose();
    }
}

/// What signals, stored values and effects belong to: disposing it disposes them all.
#[derive(Clone, Copy)]
pub struct Owner {
    id: Id,
}

impl Owner {
    /// A new owner (itself owned by the current one, if any).
    pub fn new() -> Self {
        Self {
            id: alloc(Kind::Owner(Rc::default())),
        }
    }

    /// The owner things are created under now.
    pub fn current() -> Option<Self> {
        RT.with(|rt| rt.owner.get())
            .filter(|id| is_alive(*id))
            .map(|id| Self { id })
    }

    /// Runs `f` with this as the current owner.
    pub fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = RT.with(|rt| rt.owner.replace(Some(self.id)));
        let result = f();
        RT.with(|rt| rt.owner.set(previous));
        result
    }

    /// Whether it is still alive.
    pub fn is_alive(&self) -> bool {
        is_alive(self.id)
    }

    /// Disposes it and everything it owns.
    pub fn dispose(&self) {
        dispose(self.id);
    }
}

impl Default for Owner {
    fn default() -> Self {
        Self::new()
    }
}

struct Cleanup(Option<Box<dyn FnOnce()>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// Runs `f` when the current owner is disposed.
pub fn on_cleanup(f: impl FnOnce() + 'static) {
    StoredValue::new(Cleanup(Some(Box::new(f))));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Lets queued effects run (they run in a microtask).
    async fn settle() {
        let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(
            &wasm_bindgen::JsValue::NULL,
        ))
        .await;
    }

    #[wasm_bindgen_test]
    async fn an_effect_runs_at_once_then_once_per_batch_of_writes_to_what_it_read() {
        let owner = Owner::new();
        let runs = Rc::new(Cell::new(0));
        let (a, b, unread) = owner.with(|| (RwSignal::new(1), RwSignal::new(10), RwSignal::new(0)));
        let seen = Rc::new(Cell::new(0));
        owner.with(|| {
            let (runs, seen) = (runs.clone(), seen.clone());
            Effect::new(move |_| {
                runs.set(runs.get() + 1);
                seen.set(a.get() + b.get());
            })
        });
        assert_eq!((runs.get(), seen.get()), (1, 11), "runs when created");
        a.set(2);
        b.update(|b| *b = 20);
        assert_eq!(runs.get(), 1, "writes are not seen half-done");
        settle().await;
        assert_eq!((runs.get(), seen.get()), (2, 22), "one run for both writes");
        unread.set(5);
        settle().await;
        assert_eq!(runs.get(), 2, "a signal it did not read does not wake it");
        owner.dispose();
    }

    #[wasm_bindgen_test]
    async fn disposing_the_owner_stops_its_effects_and_its_handles_say_so() {
        let owner = Owner::new();
        let runs = Rc::new(Cell::new(0));
        let (count, stored) = owner.with(|| (RwSignal::new(0), StoredValue::new("kept")));
        owner.with(|| {
            let runs = runs.clone();
            Effect::new(move |_| {
                count.track();
                runs.set(runs.get() + 1);
            })
        });
        let cleaned = Rc::new(Cell::new(false));
        owner.with(|| {
            let cleaned = cleaned.clone();
            on_cleanup(move || cleaned.set(true));
        });
        owner.dispose();
        assert!(cleaned.get(), "cleanups run");
        assert!(count.is_disposed() && stored.is_disposed());
        assert_eq!(count.try_get_untracked(), None);
        assert_eq!(
            count.try_set(3),
            Some(3),
            "a disposed signal gives the value back"
        );
        assert_eq!(stored.try_get_value(), None);
        // A new signal may take the freed slot: the old handle still reads as disposed.
        let fresh = RwSignal::new(7);
        assert!(count.is_disposed() && !fresh.is_disposed());
        settle().await;
        assert_eq!(runs.get(), 1);
    }

    #[wasm_bindgen_test]
    async fn an_effect_guard_stops_its_effect_when_dropped_and_effects_made_in_effects_run_after() {
        let owner = Owner::new();
        let count = owner.with(|| RwSignal::new(0));
        let inner_runs = Rc::new(Cell::new(0));
        let guard: Rc<RefCell<Option<EffectGuard>>> = Rc::default();
        owner.with(|| {
            let (guard, inner_runs) = (guard.clone(), inner_runs.clone());
            Effect::new(move |_| {
                let runs = inner_runs.clone();
                // Made inside a running effect: it runs right after that one, not inside it.
                *guard.borrow_mut() = Some(EffectGuard::new(move |_| {
                    count.track();
                    runs.set(runs.get() + 1);
                }));
                assert_eq!(inner_runs.get(), 0);
            })
        });
        assert_eq!(inner_runs.get(), 1);
        count.set(1);
        settle().await;
        assert_eq!(inner_runs.get(), 2);
        guard.borrow_mut().take();
        count.set(2);
        settle().await;
        assert_eq!(inner_runs.get(), 2, "a dropped guard's effect is stopped");
        owner.dispose();
    }
}
