//! The sqlite backend's vector BLOBs: any bytes decode without panicking (wrong lengths are
//! errors), every vector round-trips bit for bit, and table names of valid kinds never collide.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vectorstore_sqlite_vec::codec::{decode_vector, encode_vector, table_name};

#[derive(Debug, Arbitrary)]
struct Input {
    blob: Vec<u8>,
    dim: u16,
    vector: Vec<f32>,
    kinds: (String, String),
}

fuzz_target!(|input: Input| {
    match decode_vector(&input.blob, input.dim as usize, "k") {
        Ok(vector) => assert_eq!(vector.len() * 4, input.blob.len()),
        Err(err) => assert_eq!(err.kind(), vectorstore_core::ErrorKind::Backend),
    }
    let blob = encode_vector(&input.vector);
    let back = decode_vector(&blob, input.vector.len(), "k").expect("an encoded vector decodes");
    assert!(back.iter().zip(&input.vector).all(|(a, b)| a.to_bits() == b.to_bits()));
    let (a, b) = &input.kinds;
    match (table_name(a), table_name(b)) {
        (Ok(table_a), Ok(table_b)) => {
            assert_eq!(a == b, table_a == table_b, "{a:?} and {b:?}");
            assert!(!table_a.starts_with("sqlite_"));
        }
        // A name the kind rule refuses never becomes a table name.
        (table_a, _) => assert_eq!(table_a.is_ok(), vectorstore_core::validate::kind(a).is_ok(), "{a:?}"),
    }
});
