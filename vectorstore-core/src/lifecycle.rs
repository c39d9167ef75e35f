//! The `new → open → closed` state every store shares, so that every store answers
//! `NotInitialized` and `Closed` the same way.
//!
//! A store holds one [`Lifecycle`] and hands it to the contract's layer
//! ([`StoreBackend::lifecycle`](crate::StoreBackend::lifecycle)); the layer makes every
//! transition and answers every call made outside the open state, so a store never calls it.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::health::Health;

const NEW: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;

/// A store's lifecycle state. Lock-free; the contract's layer checks it before every operation.
#[derive(Debug, Default)]
pub struct Lifecycle(AtomicU8);

/// The state seen by [`Lifecycle::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not initialised yet.
    New,
    /// Initialised and usable.
    Open,
    /// Closed for good.
    Closed,
}

impl Lifecycle {
    /// A store that has not been initialised.
    pub const fn new() -> Self {
        Lifecycle(AtomicU8::new(NEW))
    }

    /// The current state.
    pub fn state(&self) -> State {
        match self.0.load(Ordering::Acquire) {
            NEW => State::New,
            OPEN => State::Open,
            _ => State::Closed,
        }
    }

    /// Ok when the store is open; `NotInitialized` or `Closed` otherwise.
    pub fn check(&self, backend: &str) -> Result<()> {
        match self.state() {
            State::Open => Ok(()),
            State::New => Err(Error::new(
                ErrorKind::NotInitialized,
                format!("the {backend} store is not initialized: call initialize() first"),
            )),
            State::Closed => Err(Error::new(ErrorKind::Closed, format!("the {backend} store is closed"))),
        }
    }

    /// Whether `initialize` has work to do: `Ok(true)` when new, `Ok(false)` when already open
    /// (initialising twice is a no-op), `Closed` once closed.
    pub fn needs_initialize(&self, backend: &str) -> Result<bool> {
        match self.state() {
            State::New => Ok(true),
            State::Open => Ok(false),
            State::Closed => Err(Error::new(
                ErrorKind::Closed,
                format!("the {backend} store is closed and cannot be initialized again; open a new one"),
            )),
        }
    }

    /// Marks the store open (at the end of a successful `initialize`); false when a close
    /// came first: a close that raced with initialize wins, and the store stays closed.
    pub fn mark_open(&self) -> bool {
        self.0.compare_exchange(NEW, OPEN, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Marks the store closed; returns true the first time (when resources must be released).
    pub fn mark_closed(&self) -> bool {
        self.0.swap(CLOSED, Ordering::AcqRel) != CLOSED
    }

    /// The health answer for a store that is not open, or `None` when it is.
    pub fn unhealthy(&self, backend: &str) -> Option<Health> {
        match self.state() {
            State::Open => None,
            State::New => Some(Health::failed(backend, "not initialized")),
            State::Closed => Some(Health::failed(backend, "closed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_new_open_closed() {
        let life = Lifecycle::new();
        assert_eq!(life.check("x").unwrap_err().kind(), ErrorKind::NotInitialized);
        assert!(life.needs_initialize("x").unwrap());
        assert!(life.mark_open());
        assert!(life.check("x").is_ok());
        assert!(!life.needs_initialize("x").unwrap());
        assert!(life.mark_closed());
        assert!(!life.mark_closed());
        assert_eq!(life.check("x").unwrap_err().kind(), ErrorKind::Closed);
        assert_eq!(life.needs_initialize("x").unwrap_err().kind(), ErrorKind::Closed);
        assert!(!life.mark_open(), "a close wins over a late initialize");
        assert_eq!(life.state(), State::Closed);
    }
}
