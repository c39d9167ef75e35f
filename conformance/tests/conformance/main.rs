//! The suite's own tests: the whole suite on the Fake (the oracle) and on the Null store. The
//! proof that it fails stores with deliberate bugs is with the faults, in the test kit's tests.

mod fake;
mod null;
