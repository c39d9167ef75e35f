//! Checking that two stores hold the same data: counts, a checksum over every record, and
//! search answers on a sample of queries.

use serde::Serialize;
use vectorstore_core::fnv1a::Fnv1a64;
use vectorstore_core::{KindInfo, Metric, Neighbor, Result, SearchKind, VectorStore};

use super::pages::{Pages, chosen_kinds};

/// Relative tolerance on distances between two stores' answers.
const TOLERANCE: f32 = 1e-4;
/// Queries sampled per kind for the search comparison.
const SAMPLED_QUERIES: usize = 8;
/// Neighbours compared per sampled query.
const SAMPLED_K: usize = 10;

/// The comparison of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindCheck {
    /// The kind.
    pub kind: String,
    /// Dimension and metric in the source.
    pub source_shape: (usize, Metric),
    /// Dimension and metric in the target, if it has the kind.
    pub target_shape: Option<(usize, Metric)>,
    /// Records in the source.
    pub source_count: u64,
    /// Records in the target.
    pub target_count: u64,
    /// FNV-1a 64 over (id, extractor_version, vector bits) of every record in id order.
    pub source_checksum: String,
    /// The same over the target.
    pub target_checksum: String,
    /// Sampled queries run on both stores.
    pub queries: usize,
    /// Sampled queries whose answers differ (beyond near-ties; for an approximate target, only
    /// distances of shared ids are compared).
    pub query_mismatches: usize,
}

impl KindCheck {
    /// True when both sides agree on everything.
    pub fn ok(&self) -> bool {
        Some(self.source_shape) == self.target_shape
            && self.source_count == self.target_count
            && self.source_checksum == self.target_checksum
            && self.query_mismatches == 0
    }
}

/// The comparison of two stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// One entry per source kind.
    pub kinds: Vec<KindCheck>,
}

impl VerifyReport {
    /// True when every kind agrees.
    pub fn ok(&self) -> bool {
        self.kinds.iter().all(KindCheck::ok)
    }
}

/// Reads a kind in id order; returns its count, checksum, and a sample of its vectors.
async fn digest(store: &dyn VectorStore, kind: &str, expected: u64) -> Result<(u64, String, Vec<Vec<f32>>)> {
    // FNV-1a: stable across versions and platforms, which a checksum printed in reports must be.
    let mut hash = Fnv1a64::new();
    let mut count = 0u64;
    let every = (expected / SAMPLED_QUERIES as u64).max(1);
    let mut sample = Vec::new();
    let mut pages = Pages::new(store, kind, 1000);
    while let Some(records) = pages.next().await? {
        for record in records {
            hash.write(record.id.as_bytes());
            hash.write(&[0xff]);
            hash.write(&record.extractor_version.to_le_bytes());
            hash.write(&(record.vector.len() as u32).to_le_bytes());
            for value in &record.vector {
                hash.write(&value.to_bits().to_le_bytes());
            }
            if count.is_multiple_of(every) && sample.len() < SAMPLED_QUERIES {
                sample.push(record.vector);
            }
            count += 1;
        }
    }
    Ok((count, format!("{:016x}", hash.finish()), sample))
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= TOLERANCE * b.abs().max(1.0)
}

/// Whether two answers to the same query agree: same length and distances rank by rank, and
/// the same id wherever the distance is not tied with a neighbour's. For an approximate
/// target only the distances of ids both answers share are compared.
fn answers_agree(source: &[Neighbor], target: &[Neighbor], target_search: SearchKind) -> bool {
    if target_search == SearchKind::Approximate {
        return target
            .iter()
            .all(|t| source.iter().find(|s| s.id == t.id).is_none_or(|s| close(t.distance, s.distance)));
    }
    if source.len() != target.len() {
        return false;
    }
    source.iter().zip(target).enumerate().all(|(rank, (s, t))| {
        let tied = source.iter().enumerate().any(|(other, n)| other != rank && close(n.distance, s.distance));
        close(t.distance, s.distance) && (tied || rank + 1 == source.len() || s.id == t.id)
    })
}

/// Compares `from` and `to` on every kind of `from` (or the chosen ones).
pub async fn verify(from: &dyn VectorStore, to: &dyn VectorStore, kinds: &[String]) -> Result<VerifyReport> {
    let target_kinds: Vec<KindInfo> = to.kinds().await?;
    let mut report = VerifyReport::default();
    for info in chosen_kinds(from, kinds).await? {
        let target = target_kinds.iter().find(|k| k.kind == info.kind);
        let (source_count, source_checksum, sample) = digest(from, &info.kind, info.count).await?;
        let (target_count, target_checksum, _) = match target {
            Some(t) => digest(to, &info.kind, t.count).await?,
            None => (0, String::from("absent"), Vec::new()),
        };
        let mut mismatches = 0;
        if target.is_some_and(|t| t.dim == info.dim) {
            for query in &sample {
                let expected = from.knn(&info.kind, query, SAMPLED_K).await?;
                let actual = to.knn(&info.kind, query, SAMPLED_K).await?;
                if !answers_agree(&expected, &actual, to.capabilities().search) {
                    mismatches += 1;
                }
            }
        }
        report.kinds.push(KindCheck {
            kind: info.kind.clone(),
            source_shape: (info.dim, info.metric),
            target_shape: target.map(|t| (t.dim, t.metric)),
            source_count,
            target_count,
            source_checksum,
            target_checksum,
            queries: sample.len(),
            query_mismatches: mismatches,
        });
    }
    Ok(report)
}
