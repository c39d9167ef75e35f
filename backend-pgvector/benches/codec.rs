//! The work the pgvector backend does per vector on the client: building the `pgvector::Vector`
//! it binds and encoding it into PostgreSQL's binary format, as one bind and as the array
//! `insert_many` sends through `UNNEST`.

#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pgvector::Vector;
use sqlx::Encode;
use sqlx::postgres::{PgArgumentBuffer, Postgres};
use vectorstore_conformance::data::Rng;

fn encode(value: &impl for<'q> Encode<'q, Postgres>) -> usize {
    let mut buffer = PgArgumentBuffer::default();
    let _ = value.encode_by_ref(&mut buffer);
    buffer.len()
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("pgvector_codec");
    for dim in [32usize, 128, 384] {
        let v = Rng::new(7).gaussian_vector(dim);
        group.throughput(Throughput::Bytes((dim * 4) as u64));
        group.bench_with_input(BenchmarkId::new("bind_one", dim), &dim, |bench, _| {
            bench.iter(|| encode(&Vector::from(black_box(&v).clone())))
        });
        let batch: Vec<Vector> = (0..1000).map(|_| Vector::from(v.clone())).collect();
        group.throughput(Throughput::Bytes((dim * 4 * batch.len()) as u64));
        group.bench_with_input(BenchmarkId::new("bind_batch_1000", dim), &dim, |bench, _| {
            bench.iter(|| encode(black_box(&batch)))
        });
        group.throughput(Throughput::Bytes((dim * 4) as u64));
        let stored = Vector::from(v.clone());
        group.bench_with_input(BenchmarkId::new("read_back", dim), &dim, |bench, _| {
            bench.iter(|| black_box(&stored).to_vec())
        });
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
