//! The cases, one `pub async fn` per rule, each with a one-line doc of the rule it checks.
//! They are flattened here so the case list can name them without paths.

mod age;
mod bulk;
mod concurrency;
mod distinct;
mod duplicates;
mod kinds;
mod lifecycle;
mod metrics;
mod persistence;
mod properties;
mod records;
mod scan;
mod search;
mod support;
mod validation;

pub use age::*;
pub use bulk::*;
pub use concurrency::*;
pub use distinct::*;
pub use duplicates::*;
pub use kinds::*;
pub use lifecycle::*;
pub use metrics::*;
pub use persistence::*;
pub use properties::*;
pub use records::*;
pub use scan::*;
pub use search::*;
pub use validation::*;
