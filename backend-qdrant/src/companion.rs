//! A kind's companion collection: one point per distinct vector, the only HNSW graph of the
//! kind. Searches walk its points in distance order and read each group's records in id order
//! through the records' vector-hash index; writes and deletes keep it in step with the records.
//! See "Duplicate vectors" in the crate docs.
//!
//! Why a group never loses its point: an insert writes its record, then the group's point; a
//! delete removes records, and for each vector whose records are all gone removes the point,
//! then counts the records again and writes the point back when some arrived meanwhile. An
//! insert racing that delete either wrote its point after the delete removed it (the point
//! stays), or before it: then its record was written before the delete's second count, which
//! sees it and writes the point back. A point whose group is empty (left by a delete racing a
//! build) is harmless: searches find no record for it and go on.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use qdrant_client::qdrant::{PointStruct, RetrievedPoint};
use vectorstore_core::distance::sort_neighbors;
use vectorstore_core::{Error, ErrorKind, KnnOptions, Metric, Neighbor, NewVector, Result};

use super::{PARALLEL_READS, QdrantStore, hash_filter, search_request};
use crate::core::{Connection, Scroll, Scrolled, Search, Upsert};
use crate::layout::{self, KindMeta};

/// Records read per request when a companion is built for a kind written before it existed.
const BUILD_PAGE: usize = 1_000;

/// Records deleted per round by `delete_version` and `expire`, so that the vectors they held
/// are known and bounded.
pub(super) const DELETE_PAGE: usize = 1_000;

/// Rounds of companion searches one search may take (each reads `k + 1` distinct vectors,
/// the ones already read left out) before it falls back to an exact search of the records:
/// vectors whose records are all filtered out (another extractor version) or gone are skipped.
const MAX_GROUP_ROUNDS: usize = 8;

/// Most vector hashes one facet request counts.
const FACET_CHUNK: usize = 256;

/// A companion point read back for a possible rewrite: its hash and the vector as written.
struct DistinctVector {
    hash: i64,
    vector: Vec<f32>,
}

impl QdrantStore {
    /// The companion collection of `kind`.
    pub(super) fn companion(&self, kind: &str) -> String {
        layout::companion_name(&self.options.prefix, kind)
    }

    /// Creates the companion of a new kind (empty, so complete). `false` when it existed.
    pub(super) async fn create_companion(&self, connection: &Connection, kind: &str, meta: KindMeta) -> Result<bool> {
        let name = self.companion(kind);
        let request = layout::create_companion(&name, kind, meta, &self.options, true);
        let created = connection.create_collection(request, &name).await?;
        if created {
            self.settle_placement(connection, &name).await?;
        }
        Ok(created)
    }

    /// `meta` with its companion known: complete already, or built now (a kind written before
    /// companions existed, or whose companion was lost): the companion is created, then every
    /// record is read page by page and its vector written to the companion (points already
    /// there are left alone), then the companion is marked complete (logged once at WARN).
    /// Writers of this version write their vectors to the companion once it exists, so none is
    /// missed. `None` when the kind's collection vanished meanwhile.
    pub(super) async fn with_companion(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
    ) -> Result<Option<KindMeta>> {
        let companion = self.companion(kind);
        match connection.collection_info(&companion).await? {
            Some(info) => match layout::companion_state(kind, &info) {
                Some(true) => return Ok(Some(KindMeta { companion: true, ..meta })),
                Some(false) => {}
                None => {
                    return Err(Error::new(
                        ErrorKind::IncompatibleSchema,
                        format!(
                            "Qdrant collection {companion:?} exists but is not this store's companion of kind \
                             {kind:?}; choose another DECNET_VECTORSTORE_QDRANT_COLLECTION_PREFIX"
                        ),
                    ));
                }
            },
            None => {
                let request = layout::create_companion(&companion, kind, meta, &self.options, false);
                if connection.create_collection(request, &companion).await? {
                    self.settle_placement(connection, &companion).await?;
                }
            }
        }
        let started = Instant::now();
        let name = self.collection(kind);
        let raw = !layout::needs_stored_vector(meta.metric);
        let fields = if raw {
            vec![layout::HASH_FIELD.to_owned(), layout::RAW_VECTOR_FIELD.to_owned()]
        } else {
            vec![layout::HASH_FIELD.to_owned()]
        };
        let (mut records, mut vectors) = (0usize, 0usize);
        let mut offset = None;
        loop {
            let scroll = Scroll {
                collection: &name,
                filter: None,
                limit: BUILD_PAGE,
                offset,
                order_by: None,
                fields: fields.clone(),
                with_vectors: !raw,
                one_replica: false,
            };
            let (points, next) = match connection.scroll(scroll).await? {
                Scrolled::Page(points, next) => (points, next),
                Scrolled::CollectionMissing => return Ok(None),
                Scrolled::OrderIndexMissing => {
                    return Err(Error::new(ErrorKind::Backend, "Qdrant asked for an index on an unordered scroll"));
                }
            };
            records += points.len();
            let mut page: HashMap<i64, Vec<f32>> = HashMap::new();
            for point in &points {
                let vector = point_vector(point, raw).ok_or_else(|| {
                    Error::new(ErrorKind::Backend, format!("a point of {name} has no readable vector"))
                })?;
                let hash = point
                    .payload
                    .get(layout::HASH_FIELD)
                    .and_then(|value| value.as_integer())
                    .unwrap_or_else(|| layout::vector_hash(&vector));
                page.entry(hash).or_insert(vector);
            }
            vectors += page.len();
            let distinct: Vec<DistinctVector> =
                page.into_iter().map(|(hash, vector)| DistinctVector { hash, vector }).collect();
            match self.write_distinct(connection, &companion, meta.metric, &distinct).await? {
                Upsert::Done => {}
                Upsert::CollectionMissing | Upsert::WrongDimension => {
                    return Err(Error::new(
                        ErrorKind::Backend,
                        format!("the companion {companion:?} of kind {kind:?} vanished or changed while being built"),
                    ));
                }
            }
            match next {
                Some(next) => offset = Some(next),
                None => break,
            }
        }
        connection.record_companion_complete(&companion).await?;
        tracing::warn!(
            collection = %name,
            companion = %companion,
            records,
            distinct_vectors_written = vectors,
            seconds = started.elapsed().as_secs_f64(),
            "upgraded the Qdrant kind once: built its companion collection of distinct vectors"
        );
        Ok(Some(KindMeta { companion: true, ..meta }))
    }

    /// Writes the companion points of `distinct` that do not exist yet, in requests of the
    /// configured batch size.
    async fn write_distinct(
        &self,
        connection: &Connection,
        companion: &str,
        metric: Metric,
        distinct: &[DistinctVector],
    ) -> Result<Upsert> {
        let per_request = self.options.batch_size.max(1);
        let mut requests = Vec::with_capacity(distinct.len().div_ceil(per_request));
        for chunk in distinct.chunks(per_request) {
            let mut points = Vec::with_capacity(chunk.len());
            for d in chunk {
                points.push(PointStruct::new(
                    layout::distinct_point_id(d.hash),
                    d.vector.clone(),
                    layout::distinct_payload(&d.vector, metric),
                ));
            }
            requests.push(connection.upsert_absent(companion, points));
        }
        let outcomes: Vec<Upsert> =
            futures::stream::iter(requests).buffer_unordered(super::PARALLEL_WRITES).try_collect().await?;
        Ok(outcomes.into_iter().find(|outcome| !matches!(outcome, Upsert::Done)).unwrap_or(Upsert::Done))
    }

    /// After records of `items` were written: their vectors' companion points, each vector
    /// once. A missing companion (a kind being upgraded elsewhere, or whose companion was
    /// lost) is left to the build, which the next process meeting the kind runs.
    pub(super) async fn write_companion_points(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        items: &[&NewVector],
    ) -> Result<Upsert> {
        let mut seen = HashSet::with_capacity(items.len());
        let distinct: Vec<DistinctVector> = items
            .iter()
            .map(|item| DistinctVector { hash: layout::vector_hash(&item.vector), vector: item.vector.clone() })
            .filter(|d| seen.insert(d.hash))
            .collect();
        let outcome = self.write_distinct(connection, &self.companion(kind), meta.metric, &distinct).await?;
        if matches!(outcome, Upsert::CollectionMissing) {
            if meta.companion {
                tracing::warn!(kind, "the kind's companion collection is gone; it is rebuilt when next read");
                self.forget(kind);
            }
            return Ok(Upsert::Done);
        }
        Ok(outcome)
    }

    /// After records holding the vectors `hashes` were deleted: the companion points of those
    /// vectors that no record holds any more are removed, then written back if a record of
    /// theirs arrived meanwhile (see the module docs for why this loses no group).
    pub(super) async fn reconcile_companion(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        mut hashes: Vec<i64>,
    ) -> Result<()> {
        hashes.sort_unstable();
        hashes.dedup();
        if hashes.is_empty() {
            return Ok(());
        }
        let name = self.collection(kind);
        let companion = self.companion(kind);
        let Some(counts) = self.hash_counts_chunked(connection, kind, &hashes, None).await? else { return Ok(()) };
        let candidates: Vec<i64> = hashes.into_iter().filter(|hash| !counts.contains_key(hash)).collect();
        // The facet reads one replica: each empty group is confirmed by an exact count.
        let Some(empty) = self.empty_groups(connection, &name, candidates).await? else { return Ok(()) };
        if empty.is_empty() {
            return Ok(());
        }
        let raw = !layout::needs_stored_vector(meta.metric);
        let fields = if raw { vec![layout::RAW_VECTOR_FIELD.to_owned()] } else { Vec::new() };
        let ids = empty.iter().map(|hash| layout::distinct_point_id(*hash)).collect();
        let Some(points) = connection.get(&companion, ids, fields, !raw).await? else { return Ok(()) };
        let read: Vec<DistinctVector> = points
            .iter()
            .filter_map(|point| {
                let hash = layout::hash_of_distinct_point(point.id.as_ref()?)?;
                Some(DistinctVector { hash, vector: point_vector(point, raw)? })
            })
            .collect();
        if read.is_empty() {
            return Ok(());
        }
        let ids = read.iter().map(|d| layout::distinct_point_id(d.hash)).collect();
        if connection.delete_points(&companion, ids).await?.is_none() {
            return Ok(());
        }
        let hashes: Vec<i64> = read.iter().map(|d| d.hash).collect();
        let Some(still_empty) = self.empty_groups(connection, &name, hashes).await? else { return Ok(()) };
        let arrived: Vec<DistinctVector> = read.into_iter().filter(|d| !still_empty.contains(&d.hash)).collect();
        if !arrived.is_empty() {
            tracing::debug!(kind, vectors = arrived.len(), "records arrived while their vectors' points were removed");
            self.write_distinct(connection, &companion, meta.metric, &arrived).await?;
        }
        Ok(())
    }

    /// Those of `hashes` that no record of the kind holds, by exact counts read with the
    /// configured consistency; `None` when the kind's collection is gone.
    async fn empty_groups(&self, connection: &Connection, name: &str, hashes: Vec<i64>) -> Result<Option<Vec<i64>>> {
        let mut reads = Vec::with_capacity(hashes.len());
        for hash in hashes {
            reads.push(async move {
                let count =
                    connection.count_matching(name, hash_filter(&[hash], None), "records of one vector").await?;
                Ok::<_, Error>(count.map(|count| (hash, count)))
            });
        }
        let counts: Vec<Option<(i64, u64)>> =
            futures::stream::iter(reads).buffered(PARALLEL_READS).try_collect().await?;
        Ok(counts
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(|counts| counts.into_iter().filter(|(_, count)| *count == 0).map(|(hash, _)| hash).collect()))
    }

    /// A search through the companion: its points in distance order (`k + 1` per round, the
    /// ones read left out of the next), and the records of each vector read through the hash
    /// index with the extractor-version filter (see [`QdrantStore::take_groups`]), until `k`
    /// records are known and the next vector is farther than the `k`-th. `None` when the
    /// answer needs the exact fallback: the companion is gone, or [`MAX_GROUP_ROUNDS`] rounds
    /// did not find `k` records (vectors whose records are all of other versions, or gone).
    ///
    /// Bounds, per round: one reply of `k + 1` points, and O(log k) reads of at most `k + 1`
    /// records plus walks of at most `k` ids; the exclusion list grows by `k + 1` ids a round.
    pub(super) async fn search_by_groups(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        query: &[f32],
        options: &KnnOptions,
    ) -> Result<Option<Vec<Neighbor>>> {
        let companion = self.companion(kind);
        let k = options.k;
        let limit = k + 1;
        let within = |distance: f32| options.max_distance.is_none_or(|max| distance <= max);
        let mut answer: Vec<Neighbor> = Vec::with_capacity(k);
        let mut seen: Vec<i64> = Vec::new();
        // Vectors read from the companion and not yet taken: those at the last reply's end.
        let mut pending: Vec<(f32, i64)> = Vec::new();
        for _ in 0..MAX_GROUP_ROUNDS {
            let search =
                Search { companion: true, ..search_request(&companion, meta, query, limit, options, None, &seen) };
            let Some(points) = connection.search(&search).await? else {
                self.forget(kind);
                return Ok(None);
            };
            let full = points.len() == limit;
            for point in points {
                let Some(hash) = point.id.as_ref().and_then(layout::hash_of_distinct_point) else { continue };
                if !seen.contains(&hash) {
                    seen.push(hash);
                    pending.push((layout::distance_from_score(meta.metric, point.score), hash));
                }
            }
            pending.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            // A full reply may end inside the vectors at its last distance: those wait for the
            // next round; a reply that is not full held every vector left.
            let horizon = if full { pending.last().map_or(f32::INFINITY, |p| p.0) } else { f32::INFINITY };
            let ready_len = pending.iter().take_while(|(distance, _)| *distance < horizon).count();
            let ready: Vec<(f32, i64)> = pending.drain(..ready_len).collect();
            let beyond = ready.iter().any(|(distance, _)| !within(*distance));
            let ready: Vec<(f32, i64)> = ready.into_iter().filter(|(distance, _)| within(*distance)).collect();
            if !ready.is_empty() && self.take_groups(connection, kind, &ready, options, &mut answer).await?.is_none() {
                return Ok(None);
            }
            if answer.len() >= k || !full || beyond {
                sort_neighbors(&mut answer);
                answer.truncate(k);
                return Ok(Some(answer));
            }
        }
        tracing::debug!(kind, k, rounds = MAX_GROUP_ROUNDS, "companion walk found too few records; exact search");
        Ok(None)
    }

    /// Adds to `answer` the records of `ready` (distinct vectors in distance order, every one
    /// nearer than any not read yet) up to `k` in all, with the version filter. Reads of "the
    /// records of these vectors, at most the room left + 1" say whether they all fit: first all
    /// of `ready` (usually they fit: no group larger than the room left), otherwise runs of
    /// vector distances from the nearest, starting with the nearest alone, a run doubling after
    /// a fit and halving after an overflow, until one distance alone overflows: its first ids
    /// are then read in id order by the walk. O(log k) reads per search whatever the
    /// groups' sizes (two and a walk at a group), no count of a group.
    /// `None` when the kind is gone.
    async fn take_groups(
        &self,
        connection: &Connection,
        kind: &str,
        ready: &[(f32, i64)],
        options: &KnnOptions,
        answer: &mut Vec<Neighbor>,
    ) -> Result<Option<()>> {
        let version = options.extractor_version;
        let mut levels: Vec<(f32, Vec<i64>)> = Vec::new();
        for (distance, hash) in ready {
            match levels.last_mut() {
                Some((last, hashes)) if *last == *distance => hashes.push(*hash),
                _ => levels.push((*distance, vec![*hash])),
            }
        }
        let mut at = 0;
        let mut run = levels.len();
        while at < levels.len() {
            let room = options.k.saturating_sub(answer.len());
            if room == 0 {
                break;
            }
            let end = (at + run).min(levels.len());
            let distances: HashMap<i64, f32> = levels[at..end]
                .iter()
                .flat_map(|(distance, hashes)| hashes.iter().map(move |hash| (*hash, *distance)))
                .collect();
            let Some(members) = self.read_members(connection, kind, &distances, version, room + 1).await? else {
                return Ok(None);
            };
            if members.len() <= room {
                answer.extend(members);
                at = end;
                run = (run * 2).max(1);
                continue;
            }
            if end - at > 1 {
                // After the first overflow (of every vector) the nearest distance alone is
                // tried: a search at a group meets it there. Later overflows halve the run.
                run = if end - at == levels.len() { 1 } else { ((end - at) / 2).max(1) };
                continue;
            }
            // One distance holds more records than the room left: its first ids in id order.
            let (distance, hashes) = &levels[at];
            let Some(ids) = self.first_members(connection, kind, hashes, version, room).await? else {
                return Ok(None);
            };
            answer.extend(ids.into_iter().map(|id| Neighbor { kind: kind.to_owned(), id, distance: *distance }));
            at += 1;
            run = 1;
        }
        Ok(Some(()))
    }

    /// Up to `limit` records (in no order) holding the vectors of `distances` (hash → its
    /// distance from the query), with the search's version filter, by one scroll read with the
    /// configured consistency; `None` when the kind is gone or a record is not this store's.
    async fn read_members(
        &self,
        connection: &Connection,
        kind: &str,
        distances: &HashMap<i64, f32>,
        version: Option<u32>,
        limit: usize,
    ) -> Result<Option<Vec<Neighbor>>> {
        let name = self.collection(kind);
        let hashes: Vec<i64> = distances.keys().copied().collect();
        let scroll = Scroll {
            collection: &name,
            filter: Some(hash_filter(&hashes, version)),
            limit,
            offset: None,
            order_by: None,
            fields: vec![layout::ID_FIELD.to_owned(), layout::HASH_FIELD.to_owned()],
            with_vectors: false,
            one_replica: false,
        };
        let points = match connection.scroll(scroll).await? {
            Scrolled::Page(points, _) => points,
            Scrolled::CollectionMissing => {
                self.forget(kind);
                return Ok(None);
            }
            Scrolled::OrderIndexMissing => return Ok(None),
        };
        let mut members = Vec::with_capacity(points.len());
        for point in points {
            let id = layout::stored_id(&point.payload).map(str::to_owned);
            let hash = point.payload.get(layout::HASH_FIELD).and_then(|value| value.as_integer());
            let (Some(id), Some(distance)) = (id, hash.and_then(|hash| distances.get(&hash).copied())) else {
                return Ok(None);
            };
            members.push(Neighbor { kind: kind.to_owned(), id, distance });
        }
        Ok(Some(members))
    }

    /// [`Connection::hash_counts`] in requests of at most [`FACET_CHUNK`] hashes (a facet
    /// filtered by thousands of values takes seconds); `None` when the kind is gone.
    async fn hash_counts_chunked(
        &self,
        connection: &Connection,
        kind: &str,
        hashes: &[i64],
        version: Option<u32>,
    ) -> Result<Option<HashMap<i64, u64>>> {
        let name = self.collection(kind);
        let mut counts = HashMap::with_capacity(hashes.len());
        for chunk in hashes.chunks(FACET_CHUNK) {
            let Some(part) = connection.hash_counts(&name, chunk, version).await? else {
                self.forget(kind);
                return Ok(None);
            };
            counts.extend(part);
        }
        Ok(Some(counts))
    }

    /// The distinct vectors nearest the query through the companion: exact (brute-force)
    /// searches of the companion, `k + 1` points each, leaving out those read, keeping the
    /// vectors some record holds (one facet per round, with the version filter), until `k` of
    /// them lie before a full reply's last distance or the companion has no more. Answers the
    /// vectors found and that horizon, or `None` after `rounds` rounds (vectors filtered out):
    /// the caller then searches the records.
    pub(super) async fn distinct_by_companion(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        query: &[f32],
        options: &KnnOptions,
        rounds: usize,
    ) -> Result<Option<(Vec<(f32, i64)>, f32)>> {
        let companion = self.companion(kind);
        let k = options.k;
        let within = |distance: f32| options.max_distance.is_none_or(|max| distance <= max);
        let mut found: Vec<(f32, i64)> = Vec::new();
        let mut excluded: Vec<i64> = Vec::new();
        for _ in 0..rounds {
            let search = Search {
                exact: true,
                companion: true,
                ..search_request(&companion, meta, query, k + 1, options, None, &excluded)
            };
            let Some(points) = connection.search(&search).await? else {
                self.forget(kind);
                return Ok(None);
            };
            let returned = points.len();
            let mut last = f32::INFINITY;
            let mut fresh = Vec::new();
            for point in points {
                let Some(hash) = point.id.as_ref().and_then(layout::hash_of_distinct_point) else { continue };
                let distance = layout::distance_from_score(meta.metric, point.score);
                last = distance;
                if !excluded.contains(&hash) {
                    excluded.push(hash);
                    if within(distance) {
                        fresh.push((distance, hash));
                    }
                }
            }
            if !fresh.is_empty() {
                let hashes: Vec<i64> = fresh.iter().map(|(_, hash)| *hash).collect();
                let Some(counts) =
                    self.hash_counts_chunked(connection, kind, &hashes, options.extractor_version).await?
                else {
                    return Ok(None);
                };
                found.extend(fresh.into_iter().filter(|(_, hash)| counts.contains_key(hash)));
            }
            if returned < k + 1 {
                return Ok(Some((found, f32::INFINITY)));
            }
            // Scores and the kernel may disagree in the last bits: k vectors clearly before the
            // last distance leave every vector the kernel ties with the k-th in the reply.
            let clear = last - layout::score_slack(last);
            if found.iter().filter(|(distance, _)| *distance < clear).count() >= k || !within(last) {
                return Ok(Some((found, last)));
            }
        }
        tracing::debug!(kind, k, rounds, "companion distinct search found too few vectors; searching the records");
        Ok(None)
    }
}

/// A point's vector as written: the payload's copy when `raw` (cosine), else the stored one.
fn point_vector(point: &RetrievedPoint, raw: bool) -> Option<Vec<f32>> {
    if raw {
        point
            .payload
            .get(layout::RAW_VECTOR_FIELD)
            .and_then(|value| value.as_str())
            .and_then(|t| layout::decode_vector(t))
    } else {
        layout::stored_vector(point)
    }
}
