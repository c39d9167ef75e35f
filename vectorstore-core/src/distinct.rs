//! Searches by distinct vector ([`crate::VectorStore::knn_distinct`]): the `k` nearest
//! *distinct* vectors of a kind, each with how many records share it, so that a caller can tell
//! a rare fingerprint from one thousands of sessions replay (a botnet's TLS or SSH client).
//!
//! [`DistinctCollector`] computes the answer exactly from records offered in any order, holding
//! at most `2k` groups, each with at most `ids_per_vector` ids, however many distinct vectors
//! tie at the `k`-th distance (one pass, or two when such ties are cut while the records come
//! in no particular order); [`knn_distinct_by_scan`] feeds it every record of a kind through
//! [`StoreBackend::scan`], the default every store has.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::distance;
use crate::error::Result;
use crate::record::KnnOptions;
use crate::scan_search;
use crate::store::StoreBackend;

/// Records one page of the default search reads ([`knn_distinct_by_scan`]).
pub use crate::scan_search::SCAN_PAGE;

/// One distinct vector near a query, as [`crate::VectorStore::knn_distinct`] returns it: the
/// records whose vectors are bit-for-bit this one form its group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistinctNeighbor {
    /// The kind searched (always the query's kind).
    pub kind: String,
    /// Distance from the query to the shared vector under the kind's metric.
    pub distance: f32,
    /// How many records of the kind that pass the search's filters hold this vector.
    pub count: u64,
    /// The group's smallest ids (byte order), at most the `ids_per_vector` asked for.
    pub ids: Vec<String>,
}

/// One group while collecting: its distance, its member count, its smallest id and its
/// smallest ids to answer with, so far, each under its order number. The smallest id is kept
/// even when no ids are asked for: it orders groups tied at one distance.
#[derive(Debug)]
struct Group {
    /// The shared vector's bits, what identifies the group.
    bits: Box<[u32]>,
    distance: f32,
    count: u64,
    smallest: (u64, String),
    ids: BTreeMap<u64, String>,
    /// Made at the distance where tied groups were dropped, after they were: it may be one of
    /// them come back, so its count and ids may miss the members offered before.
    late: bool,
}

/// Collects the `k` nearest distinct vectors from records offered one by one, in any order.
///
/// Use: [`offer`](Self::offer) every record once; then, while
/// [`needs_recount`](Self::needs_recount) says so (at most once), offer every record again;
/// then [`finish`](Self::finish).
///
/// Exactness: a vector's distance is the same for every record holding it, and the distance a
/// group must beat (the `k`-th smallest group distance seen so far) only falls, so a group
/// farther than it can be dropped for good: every later member is as far. Groups *at* that
/// distance (the cut) are ordered by their smallest order number; beyond the `k` first of
/// them, the rest are dropped too. A dropped tied group can come back: its member with the
/// smallest order number, offered later, makes it anew, and it takes its place if that number
/// beats a kept group's (so the groups answered are exactly the `k` first by smallest order:
/// a group among them is never dropped once its smallest member has been offered, since fewer
/// than `k` groups come before it). A group made anew this way has missed the members offered
/// before it was dropped, so when one is in the answer the caller offers every record again
/// and the groups at the cut are counted afresh; records offered in id order never need it (a
/// group first seen after a cut has a larger smallest id than every group kept).
///
/// Memory: at most `2k` groups, each holding its vector's bits, its smallest id and at most
/// `ids_per_vector` ids, whatever the data: an attacker who writes a million distinct vectors
/// at one distance from a query costs a second pass, not memory. Pruning, when the groups reach
/// `2k`, costs `O(k log k)`, so offering a record costs `O(dim + log ids_per_vector)` amortised.
#[derive(Debug)]
pub struct DistinctCollector {
    k: usize,
    ids_per_vector: usize,
    /// Groups by a hash of their vector's bits (several in a bucket only on a collision), so
    /// that offering a member of a known group allocates nothing.
    groups: HashMap<u64, Vec<Group>, BuildHasherDefault<Prehashed>>,
    /// How many groups `groups` holds.
    held: usize,
    /// The `k`-th smallest group distance at the last pruning; farther records are skipped.
    cut: Option<f32>,
    /// Prune when this many groups are held.
    prune_at: usize,
    /// Where the group last offered to sits in `groups` (its hash, its place in the bucket):
    /// members of one large group, offered one after another, are matched by comparing their
    /// bits with it, without hashing each.
    last: Option<(u64, usize)>,
    /// The cut at which tied groups were last dropped.
    ties_dropped_at: Option<f32>,
    /// Set during the second pass: the distance of the groups counted afresh.
    recounting: Option<f32>,
    /// The most groups held at once (checked by the tests against the `2k` bound).
    #[cfg(test)]
    peak: usize,
}

impl DistinctCollector {
    /// A collector of the `k` nearest distinct vectors, keeping `ids_per_vector` ids of each.
    pub fn new(k: usize, ids_per_vector: usize) -> Self {
        DistinctCollector {
            k,
            ids_per_vector,
            groups: HashMap::default(),
            held: 0,
            cut: None,
            prune_at: 2 * k.max(1),
            last: None,
            ties_dropped_at: None,
            recounting: None,
            #[cfg(test)]
            peak: 0,
        }
    }

    /// Whether a record at `distance` could still be in the answer: false once `k` groups
    /// nearer or as near are known. Lets a caller skip work (reading the vector's bits).
    pub fn wants(&self, distance: f32) -> bool {
        if let Some(counted) = self.recounting {
            return distance::cmp_distances(distance, counted) == Ordering::Equal;
        }
        self.k > 0 && self.cut.is_none_or(|cut| distance::cmp_distances(distance, cut) != Ordering::Greater)
    }

    /// Offers one record that passed the search's filters: `vector` at `distance` from the
    /// query, stored under `id`, with `order` a number that sorts as `id` does among the
    /// records offered (e.g. the record's position in a scan, which pages in id order).
    /// Comparing these rather than the ids keeps a large group cheap: a member that cannot
    /// change the answer's ids is counted without its id being read.
    pub fn offer(&mut self, vector: &[f32], distance: f32, id: &str, order: u64) {
        if !self.wants(distance) {
            return;
        }
        let ids_per_vector = self.ids_per_vector;
        let same = |group: &Group| {
            group.bits.len() == vector.len() && group.bits.iter().zip(vector).all(|(b, v)| *b == v.to_bits())
        };
        let last =
            self.last.filter(|(hash, at)| self.groups.get(hash).and_then(|bucket| bucket.get(*at)).is_some_and(same));
        let hash = last.map_or_else(|| bits_hash(vector), |(hash, _)| hash);
        let bucket = self.groups.entry(hash).or_default();
        let found = last.map(|(_, at)| at).or_else(|| bucket.iter().position(same));
        if self.recounting.is_some() && found.is_none() {
            // The second pass counts the groups it holds and makes none.
            return;
        }
        self.last = Some((hash, found.unwrap_or(bucket.len())));
        let late = self.ties_dropped_at.is_some_and(|at| distance::cmp_distances(at, distance) == Ordering::Equal);
        let group = match found {
            Some(at) => &mut bucket[at],
            None => {
                self.held += 1;
                #[cfg(test)]
                {
                    self.peak = self.peak.max(self.held);
                }
                bucket.push(Group {
                    bits: vector.iter().map(|v| v.to_bits()).collect(),
                    distance,
                    count: 0,
                    smallest: (order, id.to_owned()),
                    ids: BTreeMap::new(),
                    late,
                });
                bucket.last_mut().expect("pushed above")
            }
        };
        group.count += 1;
        if order < group.smallest.0 {
            group.smallest = (order, id.to_owned());
        }
        // Only ids that would be kept are copied.
        let keep =
            group.ids.len() < ids_per_vector || group.ids.last_key_value().is_some_and(|(last, _)| order < *last);
        if keep && !group.ids.contains_key(&order) {
            group.ids.insert(order, id.to_owned());
            if group.ids.len() > ids_per_vector {
                group.ids.pop_last();
            }
        }
        if self.held >= self.prune_at {
            self.prune();
        }
    }

    /// Drops every group farther than the `k`-th smallest group distance, and the groups at
    /// that distance after the `k` first by smallest order number.
    fn prune(&mut self) {
        if self.held > self.k {
            let mut distances: Vec<f32> = self.groups.values().flatten().map(|g| g.distance).collect();
            let (_, kth, _) = distances.select_nth_unstable_by(self.k - 1, |a, b| distance::cmp_distances(*a, *b));
            let cut = *kth;
            let at_cut = |g: &Group| distance::cmp_distances(g.distance, cut);
            let nearer = self.groups.values().flatten().filter(|g| at_cut(g) == Ordering::Less).count();
            // At least one group is at the cut, and fewer than k are nearer.
            let room = self.k - nearer;
            let mut tied: Vec<u64> =
                self.groups.values().flatten().filter(|g| at_cut(g) == Ordering::Equal).map(|g| g.smallest.0).collect();
            let last_tied = (tied.len() > room).then(|| *tied.select_nth_unstable(room - 1).1);
            self.groups.retain(|_, bucket| {
                bucket.retain(|g| match at_cut(g) {
                    Ordering::Less => true,
                    Ordering::Equal => last_tied.is_none_or(|last| g.smallest.0 <= last),
                    Ordering::Greater => false,
                });
                !bucket.is_empty()
            });
            if last_tied.is_some() {
                self.ties_dropped_at = Some(cut);
            }
            self.held = self.groups.values().map(Vec::len).sum();
            self.cut = Some(cut);
            self.last = None;
        }
        // At most k groups stay (more only when fewer than k were held).
        self.prune_at = (2 * self.k.max(1)).max(2 * self.held);
    }

    /// Called once every record has been offered: whether the caller must offer every record
    /// again (once), because a group in the answer may have missed members (see the type's
    /// docs). If so, the answer's groups are fixed from here, and those at the cut are
    /// counted afresh by the second pass.
    pub fn needs_recount(&mut self) -> bool {
        if self.recounting.is_some() {
            return false;
        }
        let Some(dropped_at) = self.ties_dropped_at else { return false };
        let answer = self.answer();
        let counted_anew = |g: &Group| distance::cmp_distances(g.distance, dropped_at) == Ordering::Equal;
        let recount = answer.iter().any(|g| g.late && counted_anew(g));
        self.held = answer.len();
        self.last = None;
        for mut group in answer {
            if recount && counted_anew(&group) {
                group.count = 0;
                group.ids.clear();
            }
            let hash = bits_hash_of(&group.bits);
            self.groups.entry(hash).or_default().push(group);
        }
        if recount {
            self.recounting = Some(dropped_at);
        }
        recount
    }

    /// The `k` nearest groups held, in the answer's order, taken out of the map.
    fn answer(&mut self) -> Vec<Group> {
        let mut groups: Vec<Group> = std::mem::take(&mut self.groups).into_values().flatten().collect();
        groups.sort_by(|a, b| distance::cmp_distances(a.distance, b.distance).then(a.smallest.0.cmp(&b.smallest.0)));
        groups.truncate(self.k);
        groups
    }

    /// The answer: the `k` nearest groups in ascending distance, ties by smallest id.
    pub fn finish(mut self, kind: &str) -> Vec<DistinctNeighbor> {
        self.answer()
            .into_iter()
            .map(|g| DistinctNeighbor {
                kind: kind.to_owned(),
                distance: g.distance,
                count: g.count,
                ids: g.ids.into_values().collect(),
            })
            .collect()
    }
}

/// The hasher of [`DistinctCollector`]'s map, whose keys are [`bits_hash`]es already: each
/// key is its own hash. Keys an attacker aligns only lengthen the probes among the few groups
/// a collector holds (see its memory bound).
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; any other input still gets a deterministic value.
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash of a vector's bits (a multiply-rotate fold: fast, and collisions only cost a
/// comparison, since groups are told apart by their bits).
fn bits_hash(vector: &[f32]) -> u64 {
    bits_hash_of_iter(vector.len(), vector.iter().map(|v| v.to_bits()))
}

/// [`bits_hash`] of a vector given as its bits.
fn bits_hash_of(bits: &[u32]) -> u64 {
    bits_hash_of_iter(bits.len(), bits.iter().copied())
}

fn bits_hash_of_iter(len: usize, bits: impl Iterator<Item = u32>) -> u64 {
    bits.fold(len as u64, |hash, b| (hash.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95))
}

/// Whether a record passes `options`' filters, given its version and distance (as the exact
/// index filters: a NaN distance passes a max-distance filter).
pub fn passes(options: &KnnOptions, extractor_version: u32, distance: f32) -> bool {
    options.extractor_version.is_none_or(|v| v == extractor_version)
        && options.max_distance.is_none_or(|max| distance <= max || distance.is_nan())
}

/// [`crate::VectorStore::knn_distinct`] over what every store has: the kind's metric from
/// [`StoreBackend::kinds`], then every record through [`StoreBackend::scan`] in pages of
/// [`SCAN_PAGE`], distances computed here with [`distance::distance`] (the Fake's numbers).
///
/// Exact, with memory bounded by one page and the collector (see [`DistinctCollector`]), but
/// it reads the whole kind: `O(N × dim)` time and `N` records transferred per query. A fallback
/// for stores with no faster path. Not a snapshot: records written during the scan may or may
/// not be counted.
pub async fn knn_distinct_by_scan<B: StoreBackend + ?Sized>(
    store: &B,
    kind: &str,
    query: &[f32],
    options: &KnnOptions,
    ids_per_vector: usize,
) -> Result<Vec<DistinctNeighbor>> {
    let Some(info) = scan_search::kind_for(store, kind, query).await? else { return Ok(Vec::new()) };
    let mut collector = DistinctCollector::new(options.k, ids_per_vector);
    if options.k == 0 {
        return Ok(Vec::new());
    }
    // Records come in id order here, which never needs a second pass; it stays correct if a
    // store's scan ever did not.
    for _pass in 0..2 {
        scan_search::each_passing_record(store, &info, query, options, |record, d, position| {
            collector.offer(&record.vector, d, &record.id, position)
        })
        .await?;
        if !collector.needs_recount() {
            break;
        }
    }
    Ok(collector.finish(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Metric;

    /// The answer by brute force: every group, sorted, the first `k`.
    fn brute(rows: &[(String, Vec<f32>)], query: &[f32], k: usize, ids: usize) -> Vec<(u32, u64, Vec<String>)> {
        let mut groups: std::collections::BTreeMap<Vec<u32>, (f32, Vec<String>)> = Default::default();
        for (id, v) in rows {
            let entry = groups
                .entry(v.iter().map(|x| x.to_bits()).collect())
                .or_insert_with(|| (distance::distance(Metric::L2, query, v), Vec::new()));
            entry.1.push(id.clone());
        }
        let mut all: Vec<(f32, Vec<String>)> = groups
            .into_values()
            .map(|(d, mut members)| {
                members.sort();
                (d, members)
            })
            .collect();
        all.sort_by(|a, b| distance::cmp_hits(a.0, &a.1[0], b.0, &b.1[0]));
        all.into_iter()
            .take(k)
            .map(|(d, members)| (d.to_bits(), members.len() as u64, members.into_iter().take(ids).collect()))
            .collect()
    }

    /// An order number for ids of at most 8 bytes: their bytes, big-endian, zero-padded.
    fn order_of(id: &str) -> u64 {
        let mut bytes = [0u8; 8];
        bytes[..id.len()].copy_from_slice(id.as_bytes());
        u64::from_be_bytes(bytes)
    }

    /// Offers `rows` (id, vector, order) in the given order, again while the collector asks,
    /// and returns the answer and how many passes it took.
    fn collect(
        collector: &mut DistinctCollector,
        rows: &[(String, Vec<f32>, u64)],
        query: &[f32],
    ) -> (Vec<(u32, u64, Vec<String>)>, usize) {
        let mut passes = 0;
        loop {
            passes += 1;
            for (id, v, order) in rows {
                collector.offer(v, distance::distance(Metric::L2, query, v), id, *order);
            }
            if !collector.needs_recount() {
                break;
            }
        }
        let taken = std::mem::replace(collector, DistinctCollector::new(0, 0));
        let answer = taken.finish("k").into_iter().map(|n| (n.distance.to_bits(), n.count, n.ids)).collect();
        (answer, passes)
    }

    /// Every ordering of `[1, 2, 3, 4, 5, 6]` (720 distinct vectors, all at one distance from
    /// the origin, exactly: small integers sum exactly), each held by 1 to 4 records, and 30
    /// records at `[1; 6]`, nearer.
    fn tied_rows(next: &mut impl FnMut(u64) -> u64) -> Vec<(String, Vec<f32>)> {
        fn permutations(rest: &mut Vec<f32>, prefix: &mut Vec<f32>, out: &mut Vec<Vec<f32>>) {
            if rest.is_empty() {
                out.push(prefix.clone());
            }
            for i in 0..rest.len() {
                let x = rest.remove(i);
                prefix.push(x);
                permutations(rest, prefix, out);
                prefix.pop();
                rest.insert(i, x);
            }
        }
        let mut vectors = Vec::new();
        permutations(&mut (1..=6).map(|x| x as f32).collect(), &mut Vec::new(), &mut vectors);
        let mut rows: Vec<Vec<f32>> = vectors.iter().flat_map(|v| vec![v.clone(); 1 + next(4) as usize]).collect();
        rows.extend(std::iter::repeat_n(vec![1.0; 6], 30));
        // Ids drawn without replacement, so that id order and offer order are unrelated.
        let mut numbers: Vec<usize> = (0..rows.len()).collect();
        for i in (1..numbers.len()).rev() {
            numbers.swap(i, next(i as u64 + 1) as usize);
        }
        rows.into_iter().zip(numbers).map(|(v, n)| (format!("t{n:05}"), v)).collect()
    }

    #[test]
    fn many_distinct_vectors_tied_at_the_cut_cost_a_second_pass_not_memory() {
        let mut state = 11u64;
        let mut next = move |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let rows = tied_rows(&mut next);
        let origin = [0.0; 6];
        let in_offer_order: Vec<(String, Vec<f32>, u64)> =
            rows.iter().map(|(id, v)| (id.clone(), v.clone(), order_of(id))).collect();
        let mut in_id_order = in_offer_order.clone();
        in_id_order.sort_by(|a, b| a.0.cmp(&b.0));
        let brute_rows: Vec<(String, Vec<f32>)> = rows.clone();
        let mut second_passes = 0;
        for (k, ids) in [(1, 0), (1, 3), (2, 1), (5, 2), (30, 4), (800, 1)] {
            let want = brute(&brute_rows, &origin, k, ids);
            for (order, feed) in [("shuffled", &in_offer_order), ("id order", &in_id_order)] {
                let mut collector = DistinctCollector::new(k, ids);
                let (got, passes) = collect(&mut collector, feed, &origin);
                assert_eq!(got, want, "{order}, k {k}, ids {ids}");
                // The bound, whatever the ties: 2k groups (721 exist).
                assert!(collector_peak_within(&feed[..], k, ids), "{order}, k {k}");
                if order == "id order" {
                    assert_eq!(passes, 1, "records in id order never need a second pass (k {k})");
                }
                second_passes += passes - 1;
            }
        }
        assert!(second_passes > 0, "the shuffled feeds reach the second pass");
    }

    /// Whether a collector fed `rows` once never held more than `2k` groups.
    fn collector_peak_within(rows: &[(String, Vec<f32>, u64)], k: usize, ids: usize) -> bool {
        let mut collector = DistinctCollector::new(k, ids);
        for (id, v, order) in rows {
            collector.offer(v, distance::distance(Metric::L2, &[0.0; 6], v), id, *order);
        }
        collector.peak <= 2 * k
    }

    #[test]
    fn a_collector_fed_in_any_order_gives_the_brute_force_answer() {
        let mut state = 7u64;
        let mut next = move |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        // 3,000 records over about 60 vectors of small integers: many groups and many ties.
        let rows: Vec<(String, Vec<f32>)> = (0..3_000)
            .map(|i| (format!("r{:05}", (i * 7_919) % 3_000), (0..3).map(|_| next(4) as f32).collect()))
            .collect();
        for query in [[0.0, 0.0, 0.0], [1.5, 1.5, 1.5], [3.0, 0.0, 2.0]] {
            for (k, ids) in [(1, 1), (1, 0), (10, 0), (3, 5), (10, 2), (40, 3), (100, 1)] {
                let want = brute(&rows, &query, k, ids);
                let mut collector = DistinctCollector::new(k, ids);
                let feed: Vec<(String, Vec<f32>, u64)> =
                    rows.iter().map(|(id, v)| (id.clone(), v.clone(), order_of(id))).collect();
                let (got, _) = collect(&mut collector, &feed, &query);
                assert_eq!(got, want, "query {query:?} k {k} ids {ids}");
            }
        }
        assert!(DistinctCollector::new(0, 3).finish("k").is_empty());
    }

    #[test]
    fn a_tied_group_seen_late_with_a_smaller_id_moves_ahead() {
        // b's first members come when k = 1 is filled by a at the same distance; its smallest
        // id comes last and must win the tie.
        let mut collector = DistinctCollector::new(1, 1);
        let (a, b) = ([1.0_f32, 0.0], [0.0_f32, 1.0]);
        collector.offer(&a, 1.0, "m", order_of("m"));
        for n in 0..10 {
            let id = format!("z{n}");
            collector.offer(&b, 1.0, &id, order_of(&id));
        }
        collector.offer(&b, 1.0, "a", order_of("a"));
        // b was dropped behind a, then made anew by "a": its earlier members are counted by
        // the second pass.
        assert!(collector.needs_recount());
        collector.offer(&a, 1.0, "m", order_of("m"));
        for n in 0..10 {
            let id = format!("z{n}");
            collector.offer(&b, 1.0, &id, order_of(&id));
        }
        collector.offer(&b, 1.0, "a", order_of("a"));
        assert!(!collector.needs_recount(), "one second pass at most");
        let got = collector.finish("k");
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].count, got[0].ids.clone()), (11, vec!["a".to_owned()]));
    }
}
