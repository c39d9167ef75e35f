//! The Fake store's exact kNN: one query over 100k x 128 (the target is within 2x of a plain
//! memory-speed scan of the 51 MB, i.e. p50 <= 3 ms on the reference 2-core machine).

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vectorstore_core::{FakeVectorStore, KnnOptions, Metric, NewVector, VectorStore};

fn pseudo(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn fake_knn(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let mut group = c.benchmark_group("fake_knn");
    group.sample_size(30);
    for (count, dim) in [(10_000usize, 128usize), (100_000, 128), (100_000, 32)] {
        for metric in Metric::ALL {
            let store = FakeVectorStore::with_metric(metric);
            let mut next = pseudo(7);
            runtime.block_on(async {
                store.initialize().await.expect("init");
                for start in (0..count).step_by(10_000) {
                    let batch: Vec<NewVector> = (start..(start + 10_000).min(count))
                        .map(|i| NewVector::new(format!("s-{i:06}"), (0..dim).map(|_| next()).collect()))
                        .collect();
                    store.insert_many("bench", &batch).await.expect("load");
                }
            });
            let query: Vec<f32> = (0..dim).map(|_| next()).collect();
            group.throughput(Throughput::Bytes((count * dim * 4) as u64));
            group.bench_with_input(BenchmarkId::new(format!("{metric}_k10_{dim}d"), count), &count, |bench, _| {
                bench.iter(|| {
                    runtime.block_on(store.knn_with("bench", black_box(&query), &KnnOptions::new(10))).expect("knn")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, fake_knn);
criterion_main!(benches);
