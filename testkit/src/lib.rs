#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod data;
pub mod faults;
mod require;
#[cfg(feature = "servers")]
pub mod servers;
mod smoke;

pub use faults::{Fault, FaultyStore};
pub use require::{REQUIRE_VAR, Unavailable, is_required, report, running_as_root, skip, unique_tag};
pub use smoke::round_trip;
