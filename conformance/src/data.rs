//! Seeded synthetic data: the same seed gives the same vectors on every machine and every
//! version (the generator is defined here, not borrowed from a crate that may change it).

/// SplitMix64: tiny, fast, and fully specified, which is all test data needs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit() as f32
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f32 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// A vector of `dim` standard normal components.
    pub fn gaussian_vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.gaussian()).collect()
    }
}

/// `count` vectors of `dim` components around `clusters` random centres (spread 1 per
/// component around centres drawn with spread 4), in generation order. Returns the vectors
/// and each one's cluster.
pub fn clustered(seed: u64, count: usize, dim: usize, clusters: usize, spread: f32) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let centres: Vec<Vec<f32>> =
        (0..clusters.max(1)).map(|_| rng.gaussian_vector(dim).into_iter().map(|v| v * 4.0).collect()).collect();
    let mut vectors = Vec::with_capacity(count);
    let mut labels = Vec::with_capacity(count);
    for _ in 0..count {
        let cluster = rng.below(centres.len());
        vectors.push(centres[cluster].iter().map(|c| c + spread * rng.gaussian()).collect());
        labels.push(cluster);
    }
    (vectors, labels)
}

/// The id used for the `n`th generated record: fixed width so byte order equals number order.
pub fn id(n: usize) -> String {
    format!("s-{n:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_pinned() {
        // Pinned so test data never silently changes between releases.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        let (a, _) = clustered(7, 10, 4, 3, 1.0);
        let (b, _) = clustered(7, 10, 4, 3, 1.0);
        assert_eq!(a, b);
        let mean: f32 = (0..10_000).map(|_| rng.gaussian()).sum::<f32>() / 10_000.0;
        assert!(mean.abs() < 0.05, "{mean}");
    }
}
