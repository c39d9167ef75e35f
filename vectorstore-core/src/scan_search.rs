//! Exact searches over what every store has, [`StoreBackend::scan`]: the whole kind read in
//! pages of [`SCAN_PAGE`] records, in id order, with distances computed here by
//! [`distance::distance`] (the Fake's numbers). `O(N × dim)` time and `N` records transferred
//! per query, memory bounded by one page and the answer: the fallback of a store whose own
//! search cannot settle an answer within its bounds (e.g. thousands of distinct vectors an
//! attacker wrote at one distance from a query).

use std::collections::BinaryHeap;

use crate::distance;
use crate::distinct::passes;
use crate::error::Result;
use crate::record::{KindInfo, KnnOptions, Neighbor, VectorRecord};
use crate::store::StoreBackend;
use crate::validate;

/// Records one page of a scan search reads.
pub const SCAN_PAGE: usize = 1_000;

/// The kind's description, with `query` checked against it; `None` for an unknown kind.
pub(crate) async fn kind_for<B: StoreBackend + ?Sized>(
    store: &B,
    kind: &str,
    query: &[f32],
) -> Result<Option<KindInfo>> {
    let Some(info) = store.kinds().await?.into_iter().find(|info| info.kind == kind) else {
        return Ok(None);
    };
    validate::against_kind(&info, query)?;
    Ok(Some(info))
}

/// Calls `each` with every record of `kind` that passes `options`' filters, its distance from
/// `query` and its position in the scan (which orders records as their ids do), in id order.
pub(crate) async fn each_passing_record<B: StoreBackend + ?Sized>(
    store: &B,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
    mut each: impl FnMut(&VectorRecord, f32, u64),
) -> Result<()> {
    let kind = info.kind.as_str();
    let mut after: Option<String> = None;
    let mut position = 0u64;
    loop {
        let page = store.scan(kind, after.as_deref(), SCAN_PAGE).await?;
        for record in &page {
            if record.vector.len() != query.len() {
                continue;
            }
            let d = distance::distance(info.metric, query, &record.vector);
            if passes(options, record.extractor_version, d) {
                each(record, d, position);
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
            _ => return Ok(()),
        }
    }
}

/// One candidate of [`knn_by_scan`], ordered as the contract orders hits (distance, then id:
/// the scan's position stands for the id).
struct Candidate {
    distance: f32,
    position: u64,
    id: String,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        distance::cmp_distances(self.distance, other.distance).then(self.position.cmp(&other.position))
    }
}

/// [`crate::VectorStore::knn_with`] by one scan of the kind: exact, the contract's order and
/// tie rule, holding at most `k` records (a max-heap of the best so far) and one page.
pub async fn knn_by_scan<B: StoreBackend + ?Sized>(
    store: &B,
    kind: &str,
    query: &[f32],
    options: &KnnOptions,
) -> Result<Vec<Neighbor>> {
    let Some(info) = kind_for(store, kind, query).await? else { return Ok(Vec::new()) };
    let k = options.k;
    if k == 0 {
        return Ok(Vec::new());
    }
    let mut best: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k + 1);
    each_passing_record(store, &info, query, options, |record, distance, position| {
        let worse_than_all = best.len() == k
            && best.peek().is_some_and(|worst| distance::cmp_distances(distance, worst.distance).is_ge());
        if !worse_than_all {
            best.push(Candidate { distance, position, id: record.id.clone() });
            if best.len() > k {
                best.pop();
            }
        }
    })
    .await?;
    Ok(best
        .into_sorted_vec()
        .into_iter()
        .map(|c| Neighbor { kind: kind.to_owned(), id: c.id, distance: c.distance })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FakeVectorStore, Metric, NewVector, VectorStore};

    #[tokio::test]
    async fn a_scan_search_answers_as_the_fake_through_ties_and_filters() {
        let fake = FakeVectorStore::new();
        let store: &dyn VectorStore = &fake;
        store.initialize().await.unwrap();
        store.create_kind("t", 3, Metric::L2).await.unwrap();
        // 2,500 records (three pages) of small integers: many exact ties, ids in no order.
        let items: Vec<NewVector> = (0..2_500u32)
            .map(|i| {
                let v = vec![(i % 5) as f32, ((i / 5) % 3) as f32, ((i * 7) % 4) as f32];
                NewVector::new(format!("r{:05}", (i * 7_919) % 2_500), v).with_extractor_version(1 + i % 2)
            })
            .collect();
        store.insert_many("t", &items).await.unwrap();
        for query in [[0.0, 0.0, 0.0], [2.0, 1.0, 1.5]] {
            for options in [
                KnnOptions::new(1),
                KnnOptions::new(10),
                KnnOptions::new(700),
                KnnOptions::new(3_000),
                KnnOptions::new(10).extractor_version(2),
                KnnOptions::new(50).max_distance(1.0),
                KnnOptions::new(0),
            ] {
                let want = store.knn_with("t", &query, &options).await.unwrap();
                let got = knn_by_scan(&fake, "t", &query, &options).await.unwrap();
                assert_eq!(got, want, "{query:?} {options:?}");
            }
        }
        assert!(knn_by_scan(&fake, "none", &[0.0; 3], &KnnOptions::new(3)).await.unwrap().is_empty());
        let wrong = knn_by_scan(&fake, "t", &[0.0; 2], &KnnOptions::new(3)).await.unwrap_err();
        assert_eq!(wrong.kind(), crate::ErrorKind::DimensionMismatch);
    }
}
