//! The test kit's own tests: the conformance suite fails every store that carries one of the
//! kit's deliberate faults.

mod catches_broken_stores;
