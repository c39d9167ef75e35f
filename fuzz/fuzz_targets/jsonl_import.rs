//! Importing arbitrary bytes as JSON Lines never panics; whatever was imported exports and
//! re-imports to the same data.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vectorstore::transfer::Format;

fuzz_target!(|data: &[u8]| common::import_round_trip(data, Format::JsonLines, 3));
