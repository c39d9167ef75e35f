#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod faults;
mod privileges;
#[cfg(feature = "servers")]
pub mod servers;
mod smoke;

pub use faults::{Fault, FaultyStore};
pub use privileges::running_as_root;
pub use smoke::round_trip;
