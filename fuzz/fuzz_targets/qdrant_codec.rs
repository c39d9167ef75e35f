//! The qdrant backend's point mapping: point ids are deterministic and distinct per
//! (kind, id), sort keys order ids exactly as their bytes do, and stored vectors round-trip.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vectorstore_qdrant::codec::{decode_vector, encode_vector, point_uuid, sort_keys};

#[derive(Debug, Arbitrary)]
struct Input {
    kind: String,
    ids: (String, String),
    vector: Vec<f32>,
    text: String,
}

fuzz_target!(|input: Input| {
    let (a, b) = &input.ids;
    if a.contains('\0') || b.contains('\0') || input.kind.contains('\0') {
        return;
    }
    assert_eq!(point_uuid(&input.kind, a), point_uuid(&input.kind, a));
    if a != b {
        assert_ne!(point_uuid(&input.kind, a), point_uuid(&input.kind, b));
    }
    // Equal keys leave the order to the rest of the id; different keys must agree with bytes.
    let (ka, kb) = (sort_keys(a), sort_keys(b));
    if ka != kb {
        assert_eq!(ka.cmp(&kb), a.as_bytes().cmp(b.as_bytes()), "{a:?} vs {b:?}");
    }
    let back = decode_vector(&encode_vector(&input.vector)).expect("round trip");
    assert!(
        back.iter().zip(&input.vector).all(|(x, y)| x.to_bits() == y.to_bits()) && back.len() == input.vector.len()
    );
    let _ = decode_vector(&input.text);
});
