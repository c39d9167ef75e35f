//! Distance kernels for each metric and dimension (the Fake's inner loop).

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vectorstore_core::{Metric, distance};

fn vector(seed: u32, dim: usize) -> Vec<f32> {
    (0..dim).map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0).collect()
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("distance");
    for dim in [32usize, 128, 384, 1536] {
        let (a, b) = (vector(1, dim), vector(2, dim));
        group.throughput(Throughput::Elements(dim as u64));
        group.bench_with_input(BenchmarkId::new("l2_squared", dim), &dim, |bench, _| {
            bench.iter(|| distance::l2_squared(black_box(&a), black_box(&b)))
        });
        group.bench_with_input(BenchmarkId::new("dot", dim), &dim, |bench, _| {
            bench.iter(|| distance::dot(black_box(&a), black_box(&b)))
        });
        for metric in Metric::ALL {
            group.bench_with_input(BenchmarkId::new(format!("distance_{metric}"), dim), &dim, |bench, _| {
                bench.iter(|| distance::distance(metric, black_box(&a), black_box(&b)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
