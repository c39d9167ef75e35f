//! The core crate's integration tests: the factory and registry on a build that links only
//! the Fake and Null stores.

mod factory;
mod instrument;
mod layer;
