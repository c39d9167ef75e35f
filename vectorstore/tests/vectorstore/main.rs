//! The library's tests: opening stores by configuration with whichever backends this build's
//! features link, moving data between stores, secrets, and the conformance suite against the
//! deployment `DECNET_VECTORSTORE_*` describes.

mod copy;
mod env;
mod features;
mod secrets;
mod transfer;
