//! The content hash of a vector, shared by the stores that index duplicate vectors by it, so
//! that every backend groups the same vectors under the same number.

/// The content hash of a vector: the first 8 bytes of the SHA-256 of its components' bits
/// (little-endian), as a signed integer (a SQL `bigint`, an integer payload). Equal exactly
/// for bit-identical vectors (`0.0` and `-0.0` differ, as the contract's distinct vectors do).
/// The vectors come from attackers: a non-cryptographic hash would let one make two different
/// vectors share a group; a collision at 64 bits of SHA-256 is out of reach.
pub fn vector_hash(vector: &[f32]) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for component in vector {
        hasher.update(component.to_bits().to_le_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::vector_hash;

    #[test]
    fn hashes_are_the_first_bytes_of_sha256_over_little_endian_bits() {
        // `printf '\x00\x00\x80\x3f' | sha256sum` (1.0f32, little-endian) begins e00e5eb9444182f3.
        let expected = i64::from_le_bytes([0xe0, 0x0e, 0x5e, 0xb9, 0x44, 0x41, 0x82, 0xf3]);
        assert_eq!(vector_hash(&[1.0]), expected);
    }

    #[test]
    fn only_bit_identical_vectors_share_a_hash() {
        assert_eq!(vector_hash(&[0.5, -2.0]), vector_hash(&[0.5, -2.0]));
        assert_ne!(vector_hash(&[0.0, 1.0]), vector_hash(&[-0.0, 1.0]));
        assert_ne!(vector_hash(&[1.0, 2.0]), vector_hash(&[2.0, 1.0]));
        assert_ne!(vector_hash(&[1.0]), vector_hash(&[1.0, 0.0]));
    }
}
