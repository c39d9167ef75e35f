//! Searches by distinct vector ([`crate::VectorStore::knn_distinct`]): the `k` nearest
//! *distinct* vectors of a kind, each with how many records share it, so that a caller can tell
//! a rare fingerprint from one thousands of sessions replay (a botnet's TLS or SSH client).
//!
//! [`DistinctCollector`] computes the answer exactly from records offered in any order, holding
//! at most about `2k` groups plus the groups tied at the current `k`-th distance, each with at
//! most `ids_per_vector` ids; [`knn_distinct_by_scan`] feeds it every record of a kind through
//! [`StoreBackend::scan`], the default every store has.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::distance;
use crate::error::Result;
use crate::record::{KnnOptions, Metric};
use crate::store::StoreBackend;
use crate::validate;

/// Records one page of the default search reads ([`knn_distinct_by_scan`]).
pub const SCAN_PAGE: usize = 1_000;

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
}

/// Collects the `k` nearest distinct vectors from records offered one by one, in any order.
///
/// Exactness: a vector's distance is the same for every record holding it, and the distance a
/// group must beat (the `k`-th smallest group distance seen so far) only falls, so a group
/// farther than it can be dropped for good: every later member is as far. Groups *at* that
/// distance are kept to the end, since a later member may give one a smaller id and move it
/// ahead of its ties (the answer orders ties by each group's smallest id).
///
/// Memory: at most `2k` groups plus those tied at the cut distance, each holding its vector's
/// bits, its smallest id and at most `ids_per_vector` ids; pruning, when the groups reach that size, costs
/// `O(g log g)` for `g` groups, so offering a record costs `O(dim + log ids_per_vector)`
/// amortised.
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
        }
    }

    /// Whether a record at `distance` could still be in the answer: false once `k` groups
    /// nearer or as near are known. Lets a caller skip work (reading the vector's bits).
    pub fn wants(&self, distance: f32) -> bool {
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
        self.last = Some((hash, found.unwrap_or(bucket.len())));
        let group = match found {
            Some(at) => &mut bucket[at],
            None => {
                self.held += 1;
                bucket.push(Group {
                    bits: vector.iter().map(|v| v.to_bits()).collect(),
                    distance,
                    count: 0,
                    smallest: (order, id.to_owned()),
                    ids: BTreeMap::new(),
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

    /// Drops every group farther than the `k`-th smallest group distance.
    fn prune(&mut self) {
        if self.held > self.k {
            let mut distances: Vec<f32> = self.groups.values().flatten().map(|g| g.distance).collect();
            let (_, kth, _) = distances.select_nth_unstable_by(self.k - 1, |a, b| distance::cmp_distances(*a, *b));
            let cut = *kth;
            self.groups.retain(|_, bucket| {
                bucket.retain(|g| distance::cmp_distances(g.distance, cut) != Ordering::Greater);
                !bucket.is_empty()
            });
            self.held = self.groups.values().map(Vec::len).sum();
            self.cut = Some(cut);
            self.last = None;
        }
        // Groups tied at the cut stay; prune again only once as many more have come.
        self.prune_at = (2 * self.k.max(1)).max(2 * self.held);
    }

    /// The answer: the `k` nearest groups in ascending distance, ties by smallest id.
    pub fn finish(self, kind: &str) -> Vec<DistinctNeighbor> {
        let mut groups: Vec<Group> = self.groups.into_values().flatten().collect();
        groups.sort_by(|a, b| distance::cmp_distances(a.distance, b.distance).then(a.smallest.0.cmp(&b.smallest.0)));
        groups.truncate(self.k);
        groups
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
    vector.iter().fold(vector.len() as u64, |hash, v| {
        (hash.rotate_left(5) ^ u64::from(v.to_bits())).wrapping_mul(0x517c_c1b7_2722_0a95)
    })
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
    let Some(info) = store.kinds().await?.into_iter().find(|info| info.kind == kind) else {
        return Ok(Vec::new());
    };
    validate::against_kind(&info, query)?;
    let metric: Metric = info.metric;
    let mut collector = DistinctCollector::new(options.k, ids_per_vector);
    if options.k == 0 {
        return Ok(Vec::new());
    }
    let mut after: Option<String> = None;
    // The scan pages in id order, so a record's position orders it as its id does.
    let mut position = 0u64;
    loop {
        let page = store.scan(kind, after.as_deref(), SCAN_PAGE).await?;
        for record in &page {
            if record.vector.len() != query.len() {
                continue;
            }
            let d = distance::distance(metric, query, &record.vector);
            if passes(options, record.extractor_version, d) {
                collector.offer(&record.vector, d, &record.id, position);
            }
            position += 1;
        }
        let full = page.len() == SCAN_PAGE;
        match page.into_iter().next_back() {
            Some(last) if full => {
                if after.as_deref().is_some_and(|previous| last.id.as_str() <= previous) {
                    return Err(crate::Error::new(
                        crate::ErrorKind::Backend,
                        format!("scan of kind {kind:?} returned ids not after {:?}", validate::shown(&last.id)),
                    ));
                }
                after = Some(last.id);
            }
            _ => break,
        }
    }
    Ok(collector.finish(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

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
                for (id, v) in &rows {
                    collector.offer(v, distance::distance(Metric::L2, &query, v), id, order_of(id));
                }
                let got: Vec<(u32, u64, Vec<String>)> =
                    collector.finish("k").into_iter().map(|n| (n.distance.to_bits(), n.count, n.ids)).collect();
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
        let got = collector.finish("k");
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].count, got[0].ids.clone()), (11, vec!["a".to_owned()]));
    }
}
