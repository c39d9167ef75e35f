//! The `zipf` workload: recall and load rate on a kind full of duplicate fingerprints. Half of
//! `count` records fall into `zipf_groups` groups of identical vectors whose sizes follow Zipf's
//! law (the r-th largest holds a share proportional to 1/r), the other half are distinct; group
//! members are spread through the id order. Beside it, a plain kind of `count` distinct vectors
//! of the same dimension, so the duplicates' cost on loads is a ratio measured in one run.
//!
//! Measurements (engines `store` and `fake`, a Fake holding the same data in the same run):
//! - `zipf_insert_many` / `plain_insert_many`: vectors per second through `insert_many`, the two
//!   kinds loaded batch by batch in turn (the one going first alternating), so both meet the same
//!   machine; `zipf_index_build` / `plain_index_build`: the work `settle` finishes after the load
//!   (pgvector's HNSW build, Qdrant's optimiser), when the store defers any, both kinds at once.
//!   The searches start after it, so they meet the stores' indexes, not exact scans of what
//!   is not indexed yet.
//! - `zipf_data`: searches at the vectors of records drawn uniformly from the kind (about half of
//!   them at a group's vector, where the answer is a tie cut by id); `zipf_data_group`: those of
//!   them at a group's vector; `zipf_outside`: at vectors from the same distribution that are not
//!   stored; `plain_data` / `plain_outside`: the same on the plain kind.
//!
//! Recall is the share of the Fake's ids the store found, over all searches of a set: the Fake is
//! exact and cuts ties by id, so at a group anything but the group's k smallest ids is a miss.

use std::time::{Duration, Instant};

use vectorstore::{Error, ErrorKind, FakeVectorStore, NewVector, Result, VectorStore};

use super::report::{BenchOptions, BenchProgress, BenchReport, bench_kind, rate, recall, search};
use vectorstore_conformance::data::{Rng, clustered};

/// The record id of the `i`-th record of a zipf or plain kind: fixed width, so id order is
/// number order.
fn zipf_id(i: usize) -> String {
    format!("z{i:07}")
}

/// Sizes of `groups` groups holding `members` records in all, the r-th (from 1) proportional to
/// 1/r, each at least 2 (a group of one is no duplicate), largest first.
pub(crate) fn zipf_sizes(members: usize, groups: usize) -> Result<Vec<usize>> {
    if groups == 0 || members < 2 * groups {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("zipf workload: {groups} groups cannot share {members} records (at least 2 each); raise --count"),
        ));
    }
    let harmonic: f64 = (1..=groups).map(|r| 1.0 / r as f64).sum();
    let mut sizes: Vec<usize> =
        (1..=groups).map(|r| ((members as f64 / (r as f64 * harmonic)) as usize).max(2)).collect();
    // Rounding leaves the total off by less than `groups` either way; the largest group absorbs
    // it (it stays the largest: it is ~members / ln(groups) and the error below `groups`).
    let total: usize = sizes.iter().sum();
    if total <= members {
        sizes[0] += members - total;
    } else {
        sizes[0] -= total - members;
    }
    Ok(sizes)
}

/// What each record of the zipf kind holds: `Some(g)` the vector of group `g`, `None` a distinct
/// vector of its own.
fn assignment(sizes: &[usize], count: usize, rng: &mut Rng) -> Vec<Option<usize>> {
    let mut slots: Vec<Option<usize>> =
        sizes.iter().enumerate().flat_map(|(g, &size)| std::iter::repeat_n(Some(g), size)).collect();
    slots.resize(count, None);
    // Fisher–Yates with the seeded generator: members spread through the id order.
    for i in (1..slots.len()).rev() {
        slots.swap(i, rng.below(i + 1));
    }
    slots
}

/// One set of searches: the store's and the Fake's latencies and answers.
#[derive(Default)]
struct Searches {
    store: Vec<Duration>,
    fake: Vec<Duration>,
    store_answers: Vec<Vec<String>>,
    fake_answers: Vec<Vec<String>>,
    /// The first answer that differed from the Fake's, with distances, for the log.
    first_miss: Option<String>,
}

impl Searches {
    /// The searches whose index `keep` accepts.
    fn subset(&self, keep: impl Fn(usize) -> bool) -> Searches {
        let mut out = Searches::default();
        for i in (0..self.store.len()).filter(|&i| keep(i)) {
            out.store.push(self.store[i]);
            out.fake.push(self.fake[i]);
            out.store_answers.push(self.store_answers[i].clone());
            out.fake_answers.push(self.fake_answers[i].clone());
        }
        out
    }

    fn report(self, workload: &str, n: usize, report: &mut BenchReport) {
        let found = recall(&self.store_answers, &self.fake_answers);
        let wrong = self.store_answers.iter().zip(&self.fake_answers).filter(|(got, want)| got != want).count();
        if wrong > 0 {
            let first = self.first_miss.as_deref().unwrap_or("");
            tracing::warn!(workload, wrong, searches = self.store.len(), first, "answers differ from the Fake's");
        }
        for (engine, samples, found) in [("store", self.store, found), ("fake", self.fake, 1.0)] {
            // Searches one after another: the rate is the reciprocal of their mean time.
            let seconds = samples.iter().map(Duration::as_secs_f64).sum();
            report.measurements.push(search(workload, engine, 1, n, samples, seconds, Some(found)));
        }
    }
}

/// Runs the workload on `store` and adds its figures to `report`.
pub(super) async fn run(
    store: &dyn VectorStore,
    options: &BenchOptions,
    report: &mut BenchReport,
    progress: BenchProgress<'_>,
) -> Result<()> {
    let count = options.count;
    let groups = options.zipf_groups;
    let sizes = zipf_sizes(count / 2, groups)?;
    let queries = options.queries.max(1);
    let clusters = (count / 1000).clamp(16, 256);
    // One draw from one distribution: the plain kind's `count` vectors, the groups' vectors,
    // then the queries from outside the data.
    let (all, _) = clustered(options.seed, count + groups + queries, options.dim, clusters, 1.0);
    let plain = &all[..count];
    let group_vectors = &all[count..count + groups];
    let outside = &all[count + groups..];
    let mut rng = Rng::new(options.seed ^ 0x5A1F);
    let slots = assignment(&sizes, count, &mut rng);
    let mut distinct = 0;
    let zipf: Vec<&Vec<f32>> = slots
        .iter()
        .map(|slot| match slot {
            Some(g) => &group_vectors[*g],
            None => {
                distinct += 1;
                &plain[distinct - 1]
            }
        })
        .collect();
    tracing::info!(count, groups, largest = sizes[0], smallest = sizes[groups - 1], "zipf kind");

    let base = bench_kind(options);
    let (zipf_kind, plain_kind) = (format!("{base}_zipf"), format!("{base}_plain"));
    let fake = FakeVectorStore::new();
    fake.initialize().await?;
    for engine in [store, &fake as &dyn VectorStore] {
        for kind in [&zipf_kind, &plain_kind] {
            engine.drop_kind(kind).await?;
            engine.create_kind(kind, options.dim, options.metric).await?;
        }
    }

    // The two kinds in turn, batch by batch, the one going first alternating.
    let batch = options.batch_size.clamp(1, vectorstore::limits::MAX_BATCH);
    let (mut zipf_seconds, mut plain_seconds) = (0.0, 0.0);
    for (n, first) in (0..count).step_by(batch).enumerate() {
        let last = (first + batch).min(count);
        let zipf_items: Vec<NewVector> = (first..last).map(|i| NewVector::new(zipf_id(i), zipf[i].clone())).collect();
        let plain_items: Vec<NewVector> = (first..last).map(|i| NewVector::new(zipf_id(i), plain[i].clone())).collect();
        for turn in 0..2 {
            let started = Instant::now();
            if (turn == 0) == (n % 2 == 0) {
                store.insert_many(&zipf_kind, &zipf_items).await?;
                zipf_seconds += started.elapsed().as_secs_f64();
            } else {
                store.insert_many(&plain_kind, &plain_items).await?;
                plain_seconds += started.elapsed().as_secs_f64();
            }
        }
        fake.insert_many(&zipf_kind, &zipf_items).await?;
        fake.insert_many(&plain_kind, &plain_items).await?;
        progress("zipf load", last as u64, count as u64);
    }
    report.measurements.push(rate("zipf_insert_many", "store", 1, count, count as u64, zipf_seconds));
    report.measurements.push(rate("plain_insert_many", "store", 1, count, count as u64, plain_seconds));
    // Both kinds settle at once, each timed to its own end: Qdrant optimises both collections
    // in the background from the load on, so one waited for after the other would show only
    // what was left of the second. (Two pgvector builds at once share the cores: a ratio
    // measured so is nearer 1 than the builds' ratio one after the other.)
    progress("index build", 0, 1);
    let timed_settle = |kind: String| async move {
        let started = Instant::now();
        Ok::<_, Error>(store.settle(&kind).await?.map(|_| started.elapsed().as_secs_f64()))
    };
    let (zipf_built, plain_built) = tokio::join!(timed_settle(zipf_kind.clone()), timed_settle(plain_kind.clone()));
    for (workload, built) in [("zipf_index_build", zipf_built?), ("plain_index_build", plain_built?)] {
        if let Some(seconds) = built {
            report.measurements.push(rate(workload, "store", 1, count, count as u64, seconds));
        }
    }

    // Searches: each query on the store then on the Fake, the four sets in alternation, so
    // that all meet the same machine and server state.
    let mut sets: [Searches; 4] = Default::default();
    let mut at_group = Vec::with_capacity(queries);
    for (q, away) in outside.iter().enumerate() {
        let record = rng.below(count);
        at_group.push(slots[record].is_some());
        let plain_record = rng.below(count);
        let asked: [(&str, &[f32]); 4] =
            [(&zipf_kind, zipf[record]), (&zipf_kind, away), (&plain_kind, &plain[plain_record]), (&plain_kind, away)];
        for (set, (kind, query)) in sets.iter_mut().zip(asked) {
            let began = Instant::now();
            let got = store.knn(kind, query, options.k).await?;
            set.store.push(began.elapsed());
            let began = Instant::now();
            let want = fake.knn(kind, query, options.k).await?;
            set.fake.push(began.elapsed());
            if set.first_miss.is_none() && got.iter().map(|n| &n.id).ne(want.iter().map(|n| &n.id)) {
                let show = |hits: &[vectorstore::Neighbor]| {
                    hits.iter().map(|n| format!("{} {:.4}", n.id, n.distance)).collect::<Vec<_>>().join(", ")
                };
                set.first_miss = Some(format!("store [{}], Fake [{}]", show(&got), show(&want)));
            }
            set.store_answers.push(got.into_iter().map(|n| n.id).collect());
            set.fake_answers.push(want.into_iter().map(|n| n.id).collect());
        }
        progress("zipf search", q as u64 + 1, queries as u64);
    }
    let [zipf_data, zipf_outside, plain_data, plain_outside] = sets;
    zipf_data.subset(|i| at_group[i]).report("zipf_data_group", count, report);
    zipf_data.report("zipf_data", count, report);
    zipf_outside.report("zipf_outside", count, report);
    plain_data.report("plain_data", count, report);
    plain_outside.report("plain_outside", count, report);
    for kind in [&zipf_kind, &plain_kind] {
        store.drop_kind(kind).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_sizes_add_up_fall_by_rank_and_are_groups() {
        let sizes = zipf_sizes(100_000, 500).unwrap();
        assert_eq!(sizes.len(), 500);
        assert_eq!(sizes.iter().sum::<usize>(), 100_000);
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "sizes fall with the rank");
        assert!(sizes[499] >= 2);
        // Zipf: the largest about twice the second and 500 times the smallest (1/H(500) ≈ 14.7%).
        assert!((14_000..15_500).contains(&sizes[0]), "largest {}", sizes[0]);
        assert!((7_000..7_600).contains(&sizes[1]), "second {}", sizes[1]);
        assert!((28..31).contains(&sizes[499]), "smallest {}", sizes[499]);
    }

    #[test]
    fn too_few_records_for_the_groups_is_an_error_naming_them() {
        let err = zipf_sizes(900, 500).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("500 groups"), "{err}");
    }

    #[test]
    fn assignment_holds_each_group_at_its_size_among_distinct_records() {
        let sizes = zipf_sizes(1_000, 20).unwrap();
        let slots = assignment(&sizes, 2_000, &mut Rng::new(7));
        assert_eq!(slots.len(), 2_000);
        for (g, &size) in sizes.iter().enumerate() {
            assert_eq!(slots.iter().filter(|s| **s == Some(g)).count(), size);
        }
        assert_eq!(slots.iter().filter(|s| s.is_none()).count(), 1_000);
        // Spread: the largest group is not one run at the start.
        let first_half = slots[..1_000].iter().filter(|s| **s == Some(0)).count();
        assert!(first_half > 0 && first_half < sizes[0], "largest group in the first half: {first_half}");
    }
}
