//! For authors of backends, not for applications: what a crate needs to implement
//! [`StoreBackend`] and register itself so that [`open`](crate::open) finds it by name (see the
//! README's "Adding a backend"). Every `StoreBackend` is a [`VectorStore`](crate::VectorStore)
//! through the contract's one layer, which checks each call's input before the backend sees it.
//!
//! - Registration: a const [`BackendRegistration`] submitted with [`inventory::submit!`] next
//!   to the backend's name constant; [`isolate_unchanged`] and [`purge_nothing`] for stores with
//!   nothing to isolate or remove; [`check_settings`] is what `open` checks the
//!   `DECNET_VECTORSTORE_*` settings with.
//! - Implementing the trait: [`async_trait`] (the macro version the trait is declared with),
//!   [`validate`] (the contract's checks: the layer runs those that need no stored data; a
//!   backend runs those against a kind's stored dimension and metric), [`Lifecycle`] (the
//!   `initialize` / `close` state a store holds and returns from
//!   [`StoreBackend::lifecycle`]; the layer walks it and refuses calls outside the open state),
//!   [`in_request_order`] (the order
//!   `get_many` answers in), [`ExactIndex`] (the Fake's exact search over vectors kept in
//!   memory), [`fnv1a`] (a hash whose values never change, for stored names and keys).
//! - Secrets: [`is_secret_option`] and [`url_secrets`] say what `Debug`, logs and errors must
//!   never show; [`UNSHOWN_LOCATION`] stands for a location that cannot be shown safely.
//! - Tests of the fallback rules: [`open_among`] opens as if only some registrations were
//!   compiled in.
//!
//! The backend crates of this project take the same items from `vectorstore-core` directly.

pub use vectorstore_core::{
    BackendRegistration, ExactIndex, Lifecycle, PurgeFuture, State, StoreBackend, UNSHOWN_LOCATION, async_trait,
    check_settings, fnv1a, in_request_order, inventory, is_secret_option, isolate_unchanged, open_among, purge_nothing,
    url_secrets, validate,
};

/// A backend of this project as the `vectorstore` crate links it: one entry of the list in
/// `vectorstore/src/lib.rs` (`project_backends!`), the one place a backend is added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectBackend {
    /// Its registered name (`DECNET_VECTORSTORE_TYPE`), also its module here (`vectorstore::pgvector`).
    pub name: &'static str,
    /// The cargo feature of `vectorstore` that links it.
    pub feature: &'static str,
    /// Whether this build links it (its feature is on); then it must be registered.
    pub linked: bool,
    /// A location a store of it can be configured with: a file path (relative: put it in a
    /// directory of your own) or a server URL (`scheme://...`), which need not answer.
    pub location: &'static str,
}

impl ProjectBackend {
    /// Whether [`location`](Self::location) is a server URL rather than a file path.
    pub fn is_server(&self) -> bool {
        self.location.contains("://")
    }
}

/// Every backend of this project besides the Fake and Null stores, linked or not, in the order
/// of the list.
pub fn project_backends() -> &'static [ProjectBackend] {
    crate::PROJECT_BACKEND_CRATES
}

/// Byte equality in a constant, for the list's check that each crate's `NAME` is its entry's.
#[doc(hidden)]
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
