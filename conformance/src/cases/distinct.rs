//! Searches by distinct vector (`knn_distinct`): each answer equals a brute force computed here
//! from the data the case wrote (not from any store): the `k` nearest distinct vectors, each
//! with its distance, how many records share it and its smallest ids, ties by smallest id.

use std::collections::BTreeMap;

use vectorstore_core::limits::{MAX_IDS_PER_VECTOR, MAX_K};
use vectorstore_core::{DistinctNeighbor, ErrorKind, KnnOptions, Metric, NewVector, VectorStore, distance};

use super::support::{shuffled_ids, stores_data, supports};
use crate::check::{TOLERANCE, expect_error, ok};
use crate::data::Rng;
use crate::runner::Ctx;

/// What the case wrote: id -> (vector, extractor version).
type Model = BTreeMap<String, (Vec<f32>, u32)>;

/// The answer by brute force over `model`: every record that passes the filters, grouped by its
/// vector's bits, sorted by (distance, smallest id), the first `k`.
fn brute_force(
    model: &Model,
    metric: Metric,
    query: &[f32],
    options: &KnnOptions,
    ids_per_vector: usize,
) -> Vec<(f32, u64, Vec<String>)> {
    let mut groups: BTreeMap<Vec<u32>, (f32, Vec<String>)> = BTreeMap::new();
    // The model iterates in id order, so each group's ids come sorted.
    for (record_id, (vector, version)) in model {
        let d = distance::distance(metric, query, vector);
        if options.extractor_version.is_some_and(|v| v != *version) || options.max_distance.is_some_and(|max| d > max) {
            continue;
        }
        let bits = vector.iter().map(|x| x.to_bits()).collect();
        groups.entry(bits).or_insert_with(|| (d, Vec::new())).1.push(record_id.clone());
    }
    let mut all: Vec<(f32, Vec<String>)> = groups.into_values().collect();
    all.sort_by(|a, b| distance::cmp_hits(a.0, &a.1[0], b.0, &b.1[0]));
    all.into_iter()
        .take(options.k)
        .map(|(d, ids)| (d, ids.len() as u64, ids.into_iter().take(ids_per_vector).collect()))
        .collect()
}

/// Asserts the store's answer equals the brute force: same groups in the same order (counts and
/// ids exactly), distances within [`TOLERANCE`]. Names the first rank that differs.
#[track_caller]
fn assert_same(what: &str, got: &[DistinctNeighbor], want: &[(f32, u64, Vec<String>)], kind: &str) {
    let close = |a: f32, b: f32| (a - b).abs() <= TOLERANCE * b.abs().max(1.0);
    for (rank, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.kind == kind && close(g.distance, w.0) && g.count == w.1 && g.ids == w.2,
            "{what}: rank {rank} is {} × {:?}.. at {}, brute force has {} × {:?}.. at {}",
            g.count,
            g.ids.first(),
            g.distance,
            w.1,
            w.2.first(),
            w.0
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: {} groups, brute force has {}", got.len(), want.len());
}

/// Runs every search of `searches` on `store` and checks it against the brute force.
async fn assert_searches(
    store: &dyn VectorStore,
    model: &Model,
    kind: &str,
    metric: Metric,
    queries: &[(&str, Vec<f32>)],
    searches: &[(KnnOptions, usize)],
) {
    for (name, query) in queries {
        for (options, ids_per_vector) in searches {
            let what =
                format!("[{}] knn_distinct {kind} query {name} {options:?} ids {ids_per_vector}", store.backend());
            let got = ok(store.knn_distinct(kind, query, options, *ids_per_vector).await, &what);
            assert_same(&what, &got, &brute_force(model, metric, query, options, *ids_per_vector), kind);
        }
    }
}

/// Writes `model` into `kind` (created with `dim` and `metric`), 1,000 records a call.
async fn write(store: &dyn VectorStore, kind: &str, dim: usize, metric: Metric, model: &Model) {
    ok(store.create_kind(kind, dim, metric).await, "create_kind");
    let items: Vec<NewVector> = model
        .iter()
        .map(|(record_id, (vector, version))| {
            NewVector::new(record_id.clone(), vector.clone()).with_extractor_version(*version)
        })
        .collect();
    for chunk in items.chunks(1000) {
        ok(store.insert_many(kind, chunk).await, "insert_many");
    }
}

/// One big group (1,000 records at A), a second (300 at B, equidistant with A from a query
/// between them) and 2,000 others of small integers over two extractor versions: at A, between
/// A and B and near the origin, k from 1 to beyond the number of distinct vectors, 0 to 50 ids
/// per vector, with the version and max-distance filters, before and after deletes inside the
/// group, `knn_distinct` equals the brute force.
pub async fn knn_distinct_counts_one_big_group(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    const GROUP: usize = 1_000;
    const GROUP_B: usize = 300;
    const OTHERS: usize = 2_000;
    let kind = "distinct_big";
    let a = vec![5.0_f32, 5.0, 5.0, 5.0];
    let b = vec![7.0_f32, 5.0, 5.0, 5.0];
    let mut rng = Rng::new(0xd15);
    let mut model = Model::new();
    for (n, record_id) in shuffled_ids(&mut rng, GROUP + GROUP_B + OTHERS).into_iter().enumerate() {
        let vector = if n < GROUP {
            a.clone()
        } else if n < GROUP + GROUP_B {
            b.clone()
        } else {
            (0..4).map(|_| (rng.below(7) as f32) - 3.0).collect()
        };
        model.insert(record_id, (vector, 1 + u32::from(n % 3 == 0)));
    }
    write(&*store, kind, 4, Metric::L2, &model).await;
    let queries =
        [("at A", a.clone()), ("between A and B", vec![6.0, 5.0, 5.0, 5.0]), ("near the origin", vec![0.5; 4])];
    let searches = [
        (KnnOptions::new(1), 10),
        (KnnOptions::new(2), 1),
        (KnnOptions::new(10), 5),
        (KnnOptions::new(10), 0),
        (KnnOptions::new(3_000), 2),
        (KnnOptions::new(5).extractor_version(2), 50),
        (KnnOptions::new(10).max_distance(0.0), 3),
        (KnnOptions::new(10).max_distance(1.0).extractor_version(1), 3),
        (KnnOptions::new(0), 3),
    ];
    assert_searches(&*store, &model, kind, Metric::L2, &queries, &searches).await;
    // At A: one group of GROUP records, its ten smallest ids, without leaning on any oracle.
    let at_a = ok(store.knn_distinct(kind, &a, &KnnOptions::new(1), 10).await, "knn_distinct at A");
    let mut group_ids: Vec<String> = model.iter().filter(|(_, (v, _))| *v == a).map(|(i, _)| i.clone()).collect();
    group_ids.sort();
    assert_eq!(at_a.len(), 1);
    assert_eq!(at_a[0].count, GROUP as u64, "every member of the group counts");
    assert_eq!(at_a[0].ids, group_ids[..10], "the group's ten smallest ids");

    // Deletes inside the group: its smallest ids, then every 7th member.
    let gone: Vec<String> = group_ids[..3].to_vec();
    for record_id in &gone {
        assert!(ok(store.delete(kind, record_id).await, "delete"), "{record_id} was stored");
        model.remove(record_id);
    }
    let every_seventh: Vec<String> = group_ids[3..].iter().step_by(7).cloned().collect();
    let refs: Vec<&str> = every_seventh.iter().map(String::as_str).collect();
    assert_eq!(ok(store.delete_many(kind, &refs).await, "delete_many"), refs.len() as u64);
    for record_id in &every_seventh {
        model.remove(record_id);
    }
    assert_searches(&*store, &model, kind, Metric::L2, &queries, &searches).await;
}

/// Forty groups with Zipf sizes (the r-th largest about 600 / r records) among 600 distinct
/// vectors, under L2 (groups of small integers, tied at equal distances) and cosine: at a
/// group, at twice a group and elsewhere, k of 1, 10 and beyond the number of groups, with the
/// version filter, `knn_distinct` equals the brute force.
pub async fn knn_distinct_counts_zipf_groups(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    const GROUPS: usize = 40;
    const SINGLES: usize = 600;
    for (kind, metric) in [("distinct_zipf_l2", Metric::L2), ("distinct_zipf_cos", Metric::Cosine)] {
        if !supports(ctx, &*store, metric) {
            continue;
        }
        let mut rng = Rng::new(0x21f);
        let mut group_vectors: Vec<Vec<f32>> = Vec::with_capacity(GROUPS);
        while group_vectors.len() < GROUPS {
            let v: Vec<f32> = match metric {
                Metric::L2 => (0..6).map(|_| (rng.below(9) as f32) - 4.0).collect(),
                _ => rng.gaussian_vector(6),
            };
            if v.iter().any(|x| *x != 0.0) && !group_vectors.contains(&v) {
                group_vectors.push(v);
            }
        }
        let sizes: Vec<usize> = (1..=GROUPS).map(|rank| (600 / rank).max(2)).collect();
        let total = sizes.iter().sum::<usize>() + SINGLES;
        let mut ids = shuffled_ids(&mut rng, total).into_iter();
        let mut model = Model::new();
        for (group, size) in sizes.iter().enumerate() {
            for member in 0..*size {
                let record_id = ids.next().expect("an id per record");
                model.insert(record_id, (group_vectors[group].clone(), 1 + u32::from(member % 4 == 0)));
            }
        }
        for record_id in ids {
            model.insert(record_id, (rng.gaussian_vector(6), 1));
        }
        write(&*store, kind, 6, metric, &model).await;
        let queries = [
            ("at the largest group", group_vectors[0].clone()),
            ("at group 9", group_vectors[9].clone()),
            ("twice group 3", group_vectors[3].iter().map(|x| x * 2.0).collect()),
            ("elsewhere", vec![0.5, -1.0, 2.0, 0.0, 1.0, -0.5]),
        ];
        let searches = [
            (KnnOptions::new(1), 3),
            (KnnOptions::new(10), 4),
            (KnnOptions::new(GROUPS + SINGLES + 10), 1),
            (KnnOptions::new(25).extractor_version(2), 2),
        ];
        assert_searches(&*store, &model, kind, metric, &queries, &searches).await;
    }
}

/// Every ordering of `[1, 2, 3, 4, 5, 6]`: 720 distinct vectors at one distance from the
/// origin (and one dot product with, and one angle to, `[1; 6]`), exactly, since small integers
/// sum exactly in any order, each held by 1 to 4 records written in an order unrelated to
/// their ids, beside 20 records at `[1; 6]`. A store must cut these ties by smallest id without
/// holding every tied vector (what an attacker gets by writing many vectors at one distance):
/// under each metric, for k of 1 to beyond the number of vectors and the version filter,
/// `knn_distinct` equals the brute force (a store that picks candidates by its own rounding of
/// the distances, as Qdrant's cosine does, must still cut the kernel's ties by id), and under
/// l2 and dot `knn` gives the records in (distance, id) order (cosine's `knn` distances are the
/// server's own on Qdrant, within the suite's tolerance, so its ties need not be the kernel's).
pub async fn knn_distinct_cuts_many_tied_vectors(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let mut vectors: Vec<Vec<f32>> = vec![Vec::new()];
    for _ in 0..6 {
        let mut longer = Vec::new();
        for prefix in &vectors {
            for x in (1..=6).map(|x| x as f32).filter(|x| !prefix.contains(x)) {
                let mut next = prefix.clone();
                next.push(x);
                longer.push(next);
            }
        }
        vectors = longer;
    }
    assert_eq!(vectors.len(), 720);
    let mut rng = Rng::new(0x7ed);
    let mut rows: Vec<Vec<f32>> =
        vectors.iter().flat_map(|v| std::iter::repeat_n(v.clone(), 1 + rng.below(4))).collect();
    rows.extend(std::iter::repeat_n(vec![1.0; 6], 20));
    let ids = shuffled_ids(&mut rng, rows.len());
    for (kind, metric) in
        [("distinct_tied_l2", Metric::L2), ("distinct_tied_dot", Metric::Dot), ("distinct_tied_cos", Metric::Cosine)]
    {
        if !supports(ctx, &*store, metric) {
            continue;
        }
        let model: Model = ids
            .iter()
            .zip(&rows)
            .enumerate()
            .map(|(n, (record_id, vector))| (record_id.clone(), (vector.clone(), 1 + u32::from(n % 5 == 0))))
            .collect();
        // The model writes in id order; write in the shuffled order instead, so that neither
        // insertion order nor storage order follows the ids.
        ok(store.create_kind(kind, 6, metric).await, "create_kind");
        let items: Vec<NewVector> = ids
            .iter()
            .map(|record_id| {
                let (vector, version) = &model[record_id];
                NewVector::new(record_id.clone(), vector.clone()).with_extractor_version(*version)
            })
            .collect();
        for chunk in items.chunks(500) {
            ok(store.insert_many(kind, chunk).await, "insert_many");
        }
        let query = match metric {
            Metric::L2 => vec![0.0; 6],
            _ => vec![1.0; 6],
        };
        let searches = [
            (KnnOptions::new(1), 2),
            (KnnOptions::new(3), 0),
            (KnnOptions::new(10), 4),
            (KnnOptions::new(100), 1),
            (KnnOptions::new(800), 1),
            (KnnOptions::new(7).extractor_version(2), 3),
        ];
        assert_searches(&*store, &model, kind, metric, &[("at the shared distance", query.clone())], &searches).await;
        if metric == Metric::Cosine {
            continue;
        }
        // Plain knn over the same ties: records in (distance, id) order, the ids exactly (the
        // distances tie exactly, so no tolerance can excuse another id).
        let mut ranked: Vec<(f32, &String)> =
            model.iter().map(|(record_id, (v, _))| (distance::distance(metric, &query, v), record_id)).collect();
        ranked.sort_by(|a, b| distance::cmp_hits(a.0, a.1, b.0, b.1));
        for k in [1, 5, 50, 1_000] {
            let what = format!("[{}] knn {kind} k={k} at the shared distance", store.backend());
            let got = ok(store.knn(kind, &query, k).await, &what);
            let want: Vec<&str> = ranked.iter().take(k).map(|(_, record_id)| record_id.as_str()).collect();
            assert_eq!(got.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), want, "{what}");
        }
    }
}

/// An unknown kind and an empty kind answer `[]`; a bad kind, query, `k` or `ids_per_vector`
/// is refused with its typed error, and a query of another dimension than its kind's is
/// `DimensionMismatch`; vectors differing only in the sign of a zero are two groups.
pub async fn knn_distinct_edges_and_invalid_input(ctx: &Ctx) {
    let store = ctx.store().await;
    let options = KnnOptions::new(3);
    let none = ok(store.knn_distinct("distinct_nowhere", &[1.0, 2.0], &options, 2).await, "unknown kind");
    assert!(none.is_empty(), "an unknown kind answers [], got {none:?}");
    let what = "knn_distinct";
    expect_error(store.knn_distinct("Bad-Kind", &[1.0], &options, 2).await, ErrorKind::InvalidKind, what);
    expect_error(store.knn_distinct("distinct_x", &[], &options, 2).await, ErrorKind::InvalidVector, what);
    expect_error(store.knn_distinct("distinct_x", &[f32::NAN], &options, 2).await, ErrorKind::InvalidVector, what);
    let too_many = MAX_IDS_PER_VECTOR + 1;
    expect_error(store.knn_distinct("distinct_x", &[1.0], &options, too_many).await, ErrorKind::InvalidArgument, what);
    let too_far = KnnOptions::new(MAX_K + 1);
    expect_error(store.knn_distinct("distinct_x", &[1.0], &too_far, 1).await, ErrorKind::InvalidArgument, what);
    let too_wide = KnnOptions::new(MAX_K);
    let ids = MAX_IDS_PER_VECTOR;
    expect_error(store.knn_distinct("distinct_x", &[1.0], &too_wide, ids).await, ErrorKind::LimitExceeded, what);
    let nan_max = KnnOptions::new(3).max_distance(f32::NAN);
    expect_error(store.knn_distinct("distinct_x", &[1.0], &nan_max, 1).await, ErrorKind::InvalidArgument, what);
    let bad_version = KnnOptions::new(3).extractor_version(0);
    expect_error(store.knn_distinct("distinct_x", &[1.0], &bad_version, 1).await, ErrorKind::InvalidArgument, what);
    if !store.capabilities().stores_data {
        return;
    }
    ok(store.create_kind("distinct_empty", 2, Metric::L2).await, "create_kind");
    let empty = ok(store.knn_distinct("distinct_empty", &[1.0, 2.0], &options, 2).await, "empty kind");
    assert!(empty.is_empty(), "an empty kind answers [], got {empty:?}");
    expect_error(
        store.knn_distinct("distinct_empty", &[1.0, 2.0, 3.0], &options, 2).await,
        ErrorKind::DimensionMismatch,
        "a query of another dimension",
    );
    ok(store.insert("distinct_empty", "only", &[1.0, 2.0], 1).await, "insert");
    let one = ok(store.knn_distinct("distinct_empty", &[1.0, 2.0], &options, 2).await, "one record");
    assert_eq!(one.len(), 1);
    assert_eq!((one[0].count, one[0].ids.as_slice(), one[0].distance), (1, &["only".to_owned()][..], 0.0));

    // Groups are bit-identical vectors: -0.0 and 0.0 compare equal as numbers, not as bits.
    ok(store.insert("distinct_zero", "p", &[0.0, 1.0], 1).await, "insert");
    ok(store.insert("distinct_zero", "n", &[-0.0, 1.0], 1).await, "insert");
    ok(store.insert("distinct_zero", "m", &[-0.0, 1.0], 1).await, "insert");
    let signed = ok(store.knn_distinct("distinct_zero", &[0.0, 1.0], &options, 5).await, "signed zeros");
    let groups: Vec<(u64, Vec<String>)> = signed.iter().map(|g| (g.count, g.ids.clone())).collect();
    assert_eq!(groups, [(2, vec!["m".to_owned(), "n".to_owned()]), (1, vec!["p".to_owned()])], "{signed:?}");
}
