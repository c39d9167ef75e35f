//! What the Qdrant backend computes for every point it writes or reads: the point id, the id's
//! sort keys, the payload, and the base64 copy of cosine vectors.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vectorstore_conformance::data::Rng;
use vectorstore_core::Metric;
use vectorstore_qdrant::codec::{decode_vector, encode_vector, payload, point_uuid, sort_keys};

const ID: &str = "203.0.113.77:51234/session-0042";

fn ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("qdrant_codec");
    group.bench_function("point_uuid", |bench| bench.iter(|| point_uuid(black_box("ja3"), black_box(ID))));
    group.bench_function("sort_keys", |bench| bench.iter(|| sort_keys(black_box(ID))));
    let v = Rng::new(7).gaussian_vector(128);
    for metric in [Metric::L2, Metric::Cosine] {
        group.bench_with_input(BenchmarkId::new("payload_128d", metric), &metric, |bench, &metric| {
            bench.iter(|| payload(black_box(ID), black_box(&v), 1, 1_764_633_600_000, metric))
        });
    }
    group.finish();
}

fn vectors(c: &mut Criterion) {
    let mut group = c.benchmark_group("qdrant_codec");
    for dim in [32usize, 128, 384] {
        let v = Rng::new(7).gaussian_vector(dim);
        let text = encode_vector(&v);
        group.throughput(Throughput::Bytes((dim * 4) as u64));
        group.bench_with_input(BenchmarkId::new("encode", dim), &dim, |bench, _| {
            bench.iter(|| encode_vector(black_box(&v)))
        });
        group.bench_with_input(BenchmarkId::new("decode", dim), &dim, |bench, _| {
            bench.iter(|| decode_vector(black_box(&text)))
        });
    }
    group.finish();
}

criterion_group!(benches, ids, vectors);
criterion_main!(benches);
