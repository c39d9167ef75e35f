//! Importing arbitrary bytes in the binary format never panics nor allocates what hostile
//! lengths claim; whatever was imported round-trips through the binary format.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vectorstore::transfer::Format;

fuzz_target!(|data: &[u8]| common::import_round_trip(data, Format::Binary, 2));
