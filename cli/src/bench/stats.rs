//! Latency statistics.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Latency {
    /// The percentiles of `samples` (nearest-rank); zeros when empty.
    ///
    /// Kept here rather than taken from `hdrhistogram`: a run keeps every sample (at most a few
    /// hundred thousand), so the percentiles are exact; a histogram rounds each value to its
    /// bucket and is made for streams too long to keep.
    pub fn of(samples: &mut [Duration]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |p: f64| {
            let rank = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1].as_secs_f64() * 1e3
        };
        let mean = samples.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e3 / samples.len() as f64;
        Latency { p50_ms: at(0.50), p95_ms: at(0.95), p99_ms: at(0.99), mean_ms: mean }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let latency = Latency::of(&mut samples);
        assert_eq!((latency.p50_ms, latency.p95_ms, latency.p99_ms), (50.0, 95.0, 99.0));
        assert!((latency.mean_ms - 50.5).abs() < 1e-9);
        assert_eq!(Latency::of(&mut []), Latency::default());
    }
}
