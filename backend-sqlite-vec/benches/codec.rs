//! Vector encoding and decoding as the sqlite-vec backend does it for every write and read.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vectorstore_conformance::data::Rng;
use vectorstore_sqlite_vec::codec::{decode_vector, encode_vector};

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_vec_codec");
    for dim in [32usize, 128, 384] {
        let v = Rng::new(7).gaussian_vector(dim);
        let blob = encode_vector(&v);
        group.throughput(Throughput::Bytes((dim * 4) as u64));
        group.bench_with_input(BenchmarkId::new("encode", dim), &dim, |bench, _| {
            bench.iter(|| encode_vector(black_box(&v)))
        });
        group.bench_with_input(BenchmarkId::new("decode", dim), &dim, |bench, &dim| {
            bench.iter(|| decode_vector(black_box(&blob), dim, "bench"))
        });
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
