//! For authors of backends, not for applications: what a crate needs to implement
//! [`VectorStore`](crate::VectorStore) and register itself so that [`open`](crate::open) finds
//! it by name (see the README's "Adding a backend").
//!
//! - Registration: a const [`BackendRegistration`] submitted with [`inventory::submit!`] next
//!   to the backend's name constant; [`isolate_unchanged`] and [`purge_nothing`] for stores with
//!   nothing to isolate or remove; [`check_settings`] is what `open` checks the
//!   `DECNET_VECTORSTORE_*` settings with.
//! - Implementing the trait: [`async_trait`] (the macro version the trait is declared with),
//!   [`validate`] (the contract's checks, at every entry point), [`Lifecycle`] (`initialize` /
//!   `close` states and the errors of calls outside them), [`in_request_order`] (the order
//!   `get_many` answers in), [`ExactIndex`] (the Fake's exact search over vectors kept in
//!   memory), [`fnv1a`] (a hash whose values never change, for stored names and keys).
//! - Secrets: [`is_secret_option`] and [`url_secrets`] say what `Debug`, logs and errors must
//!   never show; [`UNSHOWN_LOCATION`] stands for a location that cannot be shown safely.
//! - Tests of the fallback rules: [`open_among`] opens as if only some registrations were
//!   compiled in.
//!
//! The backend crates of this project take the same items from `vectorstore-core` directly.

pub use vectorstore_core::{
    BackendRegistration, Escaped, ExactIndex, Lifecycle, PurgeFuture, State, UNSHOWN_LOCATION, async_trait,
    check_settings, escaped, fnv1a, in_request_order, inventory, is_secret_option, isolate_unchanged, open_among,
    purge_nothing, url_secrets, validate,
};
