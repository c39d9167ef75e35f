//! The suite's own tests: the whole suite on the Fake (the oracle) and on the Null store, and
//! proof that it fails stores with deliberate bugs.

mod catches_broken_stores;
mod fake;
mod null;
