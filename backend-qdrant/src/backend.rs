//! [`QdrantStore`]: the contract on a Qdrant server, one collection per kind.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use qdrant_client::qdrant::{Condition, Filter, PointStruct};
use vectorstore_core::distance::sort_neighbors;
use vectorstore_core::limits::MAX_KINDS;
use vectorstore_core::{
    Capabilities, Config, DistinctNeighbor, Error, ErrorKind, Health, KindInfo, KnnOptions, Lifecycle, Metric,
    Neighbor, NewVector, Result, SearchKind, StoreBackend, VectorRecord, async_trait, in_request_order, validate,
};

use crate::config::QdrantConfig;
use crate::core::{Connection, Search, Upsert, version_filter, written_before_filter};
use crate::layout::{self, KindMeta};
use crate::scan::{self, SortIndexes};
use crate::{CAPABILITIES, NAME};

#[path = "companion.rs"]
mod companion;

/// How often `settle` asks whether Qdrant's optimiser is done with a collection.
const SETTLE_POLL: Duration = Duration::from_millis(200);

/// How long `settle` waits for the optimiser at most: indexing 1M vectors takes minutes here.
const SETTLE_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Most bytes of vectors and payload put in one upsert request (Qdrant refuses requests over
/// 32 MiB by default).
const MAX_REQUEST_BYTES: usize = 16 << 20;

/// Upsert requests of one batch in flight at once.
const PARALLEL_WRITES: usize = 4;

/// How long scans do without sort indexes that could not be built (a cluster replica was down)
/// before trying to build them again.
const SORT_INDEX_RETRY: Duration = Duration::from_secs(10);

/// Kinds whose collection info and count are read at once by `kinds()` and `health()`.
const PARALLEL_READS: usize = 16;

/// The vector store on a Qdrant server (single node or cluster).
///
/// Each kind is the collection `<prefix><kind>`, created with the kind's dimension and metric
/// (recorded in the collection's metadata, so any process adopts it). A record is the point
/// whose id is the UUIDv5 of `(kind, id)`; its payload keeps the id, the extractor version
/// (indexed, so version filters apply inside the search) and the id's sort keys (see "Scans
/// in id order" in the crate docs). Writes wait until they are visible to reads.
pub struct QdrantStore {
    life: Lifecycle,
    connection: RwLock<Option<Connection>>,
    options: QdrantConfig,
    /// Kinds seen so far; dropped entries are re-read when Qdrant reports the collection gone
    /// or of another size (another process dropped or re-created it).
    kinds: RwLock<HashMap<String, KindMeta>>,
    /// Kinds whose collection is known to have its sort indexes.
    sort_indexed: RwLock<HashSet<String>>,
    /// Kinds whose sort indexes could not be built (a cluster replica was down), and when.
    sort_index_failures: RwLock<HashMap<String, Instant>>,
    /// Serialises kind creation within this process; between processes Qdrant's "already
    /// exists" settles it.
    creating: tokio::sync::Mutex<()>,
}

impl fmt::Debug for QdrantStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QdrantStore").field("state", &self.life.state()).field("options", &self.options).finish()
    }
}

/// How a batch is checked against the kind it is written to.
type KindCheck<'a> = &'a (dyn Fn(&KindInfo) -> Result<()> + Send + Sync);

impl QdrantStore {
    /// A store for the server and options `config` describes (see
    /// [`QdrantConfig::from_config`]). Does no I/O: the connection is made by
    /// [`initialize`](vectorstore_core::VectorStore::initialize).
    pub fn from_config(config: &Config) -> Result<Self> {
        QdrantStore::with_config(QdrantConfig::from_config(config)?)
    }

    /// A store for an already parsed configuration, not connected yet.
    pub fn with_config(options: QdrantConfig) -> Result<Self> {
        let connection = Connection::new(options.clone())?;
        Ok(QdrantStore {
            life: Lifecycle::new(),
            connection: RwLock::new(Some(connection)),
            options,
            kinds: RwLock::new(HashMap::new()),
            sort_indexed: RwLock::new(HashSet::new()),
            sort_index_failures: RwLock::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
        })
    }

    /// The parsed configuration.
    pub fn config(&self) -> &QdrantConfig {
        &self.options
    }

    /// The connection, until closed. The layer lets operations through only on an open store;
    /// a resource guard, not a lifecycle check: a close racing a call takes the connection,
    /// and the call answers `Closed`.
    fn connection(&self) -> Result<Connection> {
        self.connection
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::Closed, format!("the {NAME} store is closed")))
    }

    fn collection(&self, kind: &str) -> String {
        layout::collection_name(&self.options.prefix, kind)
    }

    fn cached(&self, kind: &str) -> Option<KindMeta> {
        self.kinds.read().unwrap_or_else(|p| p.into_inner()).get(kind).copied()
    }

    fn remember(&self, kind: &str, meta: KindMeta) {
        self.kinds.write().unwrap_or_else(|p| p.into_inner()).insert(kind.to_owned(), meta);
    }

    fn forget(&self, kind: &str) {
        self.kinds.write().unwrap_or_else(|p| p.into_inner()).remove(kind);
        self.sort_indexed.write().unwrap_or_else(|p| p.into_inner()).remove(kind);
        self.sort_index_failures.write().unwrap_or_else(|p| p.into_inner()).remove(kind);
    }

    /// What is known of the kind's sort indexes: present, or not buildable a moment ago (then
    /// scans do without them for a while rather than failing or waiting for the cluster each
    /// time), or unknown.
    fn sort_indexes(&self, kind: &str) -> SortIndexes {
        if self.sort_indexed.read().unwrap_or_else(|p| p.into_inner()).contains(kind) {
            return SortIndexes::Present;
        }
        let failed = self.sort_index_failures.read().unwrap_or_else(|p| p.into_inner()).get(kind).copied();
        match failed {
            Some(when) if when.elapsed() < SORT_INDEX_RETRY => SortIndexes::Unbuildable,
            _ => SortIndexes::Unknown,
        }
    }

    fn learn_sort_indexes(&self, kind: &str, before: SortIndexes, now: SortIndexes) {
        match now {
            SortIndexes::Present if before != now => {
                self.sort_indexed.write().unwrap_or_else(|p| p.into_inner()).insert(kind.to_owned());
                self.sort_index_failures.write().unwrap_or_else(|p| p.into_inner()).remove(kind);
            }
            SortIndexes::Unbuildable if before != now => {
                self.sort_index_failures
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(kind.to_owned(), Instant::now());
            }
            _ => {}
        }
    }

    /// The kind's dimension and metric, read from its collection the first time; `None` when
    /// it has no collection. A collection this store did not make is `IncompatibleSchema`.
    async fn kind(&self, connection: &Connection, kind: &str) -> Result<Option<KindMeta>> {
        if let Some(meta) = self.cached(kind) {
            return Ok(Some(meta));
        }
        let name = self.collection(kind);
        let Some(meta) = self.adopt(connection, kind, &name).await? else { return Ok(None) };
        meta.map(Some).ok_or_else(|| {
            Error::new(
                ErrorKind::IncompatibleSchema,
                format!(
                    "Qdrant collection {name:?} exists but was not created by this store for kind {kind:?}; \
                     choose another DECNET_VECTORSTORE_QDRANT_COLLECTION_PREFIX"
                ),
            )
        })
    }

    /// Reads the collection `name`: `None` when absent, `Some(None)` when it is not one of this
    /// store's, else its kind (remembered). Adds payload indexes a crashed creator left out,
    /// and upgrades a collection of an older schema version (see [`QdrantStore::upgrade`]).
    async fn adopt(&self, connection: &Connection, kind: &str, name: &str) -> Result<Option<Option<KindMeta>>> {
        let Some(info) = connection.collection_info(name).await? else {
            self.forget(kind);
            return Ok(None);
        };
        let Some(layout) = layout::kind_meta(name, kind, &info)? else { return Ok(Some(None)) };
        let meta = layout.meta;
        for field in [layout::VERSION_FIELD, layout::WRITTEN_FIELD, layout::HASH_FIELD] {
            if !info.payload_schema.contains_key(field) {
                connection.create_index(name, field, false).await?;
            }
        }
        if layout.version < i64::from(vectorstore_core::SCHEMA_VERSION)
            && !self.upgrade(connection, name, layout).await?
        {
            self.forget(kind);
            return Ok(None);
        }
        if !self.hash_vectors(connection, name, meta).await? {
            self.forget(kind);
            return Ok(None);
        }
        let Some(meta) = self.with_companion(connection, kind, meta).await? else {
            self.forget(kind);
            return Ok(None);
        };
        self.remember(kind, meta);
        if layout::has_sort_indexes(&info) {
            self.sort_indexed.write().unwrap_or_else(|p| p.into_inner()).insert(kind.to_owned());
        }
        Ok(Some(Some(meta)))
    }

    /// Brings a collection of schema version 1 to the current one: every point without a write
    /// time gets the time of the upgrade (one filtered payload update, safe to repeat and to
    /// race with writers, which always set the time), then the metadata records the new
    /// version. False when the collection vanished meanwhile.
    async fn upgrade(&self, connection: &Connection, name: &str, layout: layout::Layout) -> Result<bool> {
        let Some(()) = connection.stamp_untimed(name, vectorstore_core::now_ms()).await? else { return Ok(false) };
        connection.record_schema_version(name, i64::from(vectorstore_core::SCHEMA_VERSION)).await?;
        tracing::warn!(
            collection = %name,
            from = layout.version,
            to = vectorstore_core::SCHEMA_VERSION,
            "upgraded the Qdrant collection once; the records it held count as written now (they carried no write \
             time)"
        );
        Ok(true)
    }

    /// Gives every point of a collection written before vectors were hashed its vector hash,
    /// page by page (see [`Connection::hash_unhashed`]), when this process first meets the
    /// collection (one empty read when every point has its hash; an upgrade cut short goes on
    /// the next time). Until it is done, searches that meet a tie take the legacy tie loop.
    /// False when the collection vanished meanwhile.
    async fn hash_vectors(&self, connection: &Connection, name: &str, meta: KindMeta) -> Result<bool> {
        let started = Instant::now();
        let mut hashed = 0;
        loop {
            match connection.hash_unhashed(name, meta.metric, HASH_PAGE).await? {
                None => return Ok(false),
                Some(0) => break,
                Some(page) => hashed += page,
            }
        }
        if hashed > 0 {
            tracing::warn!(collection = %name, points = hashed, seconds = started.elapsed().as_secs_f64(), "upgraded the Qdrant collection once: its points now carry vector hashes");
        }
        Ok(true)
    }

    /// Creates the kind, or adopts it when another process created it first.
    async fn create(&self, connection: &Connection, kind: &str, meta: KindMeta) -> Result<KindMeta> {
        let _creating = self.creating.lock().await;
        if let Some(existing) = self.kind(connection, kind).await? {
            return Ok(existing);
        }
        self.check_kind_limit(connection, kind).await?;
        // The companion first: once the records' collection exists, every writer finds it.
        self.create_companion(connection, kind, meta).await?;
        let meta = KindMeta { companion: true, ..meta };
        let name = self.collection(kind);
        let request = layout::create_collection(&name, kind, meta, &self.options);
        if !connection.create_collection(request, &name).await? {
            // Another process won the race: its kind stands.
            return self.kind(connection, kind).await?.ok_or_else(|| {
                Error::new(ErrorKind::Backend, format!("Qdrant collection {name:?} vanished while being created"))
            });
        }
        self.settle_placement(connection, &name).await?;
        // Applied before any later write of the collection; search filters work meanwhile. The
        // sort indexes too: a tie among identical vectors reads its group in id order through
        // them (see "Duplicate vectors" in the crate docs), and built later, on a large
        // collection that Qdrant is still optimising, they are not usable for a while.
        for field in
            [layout::VERSION_FIELD, layout::WRITTEN_FIELD, layout::HASH_FIELD].into_iter().chain(layout::SORT_FIELDS)
        {
            connection.create_index(&name, field, false).await?;
        }
        tracing::info!(collection = %name, dim = meta.dim, metric = %meta.metric, "created Qdrant collection");
        self.remember(kind, meta);
        self.sort_indexed.write().unwrap_or_else(|p| p.into_inner()).insert(kind.to_owned());
        Ok(meta)
    }

    /// Checks a collection just created on a cluster: refuses (and removes) it when it has
    /// fewer replicas per shard than `REPLICATION_FACTOR` asks (Qdrant accepts a factor above
    /// the number of peers and silently places one replica per peer; a single node keeps one
    /// copy whatever the factor, as Qdrant documents, and is accepted), and waits until its
    /// replicas are active (writes to initialising replicas fail), at most the request timeout.
    async fn settle_placement(&self, connection: &Connection, name: &str) -> Result<()> {
        let deadline = Instant::now() + self.options.timeout;
        loop {
            let Some(placement) = connection.placement(name).await? else { return Ok(()) };
            if let Some(wanted) = self.options.replication_factor
                && placement.peers > 1
                && placement.fewest_replicas < wanted as usize
            {
                connection.delete_collection(name).await?;
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "invalid DECNET_VECTORSTORE_QDRANT_REPLICATION_FACTOR \"{wanted}\": the Qdrant cluster placed only \
                         {} replicas of a shard of {name:?} ({} peers hold it); use at most the number of peers",
                        placement.fewest_replicas, placement.peers
                    ),
                ));
            }
            if placement.all_active {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("the replicas of Qdrant collection {name:?} are not all active yet; retry"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn check_kind_limit(&self, connection: &Connection, kind: &str) -> Result<()> {
        let names = connection.collections().await?;
        let candidates = names.iter().filter(|n| layout::kind_of_collection(&self.options.prefix, n).is_some()).count();
        // Names alone may over-count (a longer prefix's collections match too); count exactly
        // only near the limit.
        if candidates < MAX_KINDS || self.list_kinds(connection, false).await?.len() < MAX_KINDS {
            return Ok(());
        }
        Err(vectorstore_core::validate::too_many_kinds(kind))
    }

    /// Every kind of this prefix with its count, sorted by name; with `versions`, also its
    /// count per extractor version (one facet request per kind, which health does without).
    async fn list_kinds(&self, connection: &Connection, versions: bool) -> Result<Vec<KindInfo>> {
        let mut names: Vec<(String, String)> = connection
            .collections()
            .await?
            .into_iter()
            .filter_map(|name| {
                let kind = layout::kind_of_collection(&self.options.prefix, &name)?.to_owned();
                Some((kind, name))
            })
            .collect();
        names.sort();
        let infos: Vec<Option<KindInfo>> = futures::stream::iter(names)
            .map(|(kind, name)| async move {
                let Some(Some(meta)) = self.adopt(connection, &kind, &name).await? else { return Ok(None) };
                let Some(count) = connection.count(&name).await? else { return Ok(None) };
                let mut info = info(&kind, meta, count);
                if versions {
                    let Some(mut counts) = connection.version_counts(&name).await? else { return Ok(None) };
                    if connection.reads_several_replicas() {
                        // The facet read one replica: count each version with the configured
                        // consistency (which Qdrant merges correctly).
                        for (version, count) in &mut counts {
                            let Some(exact) = connection.count_version(&name, *version).await? else {
                                return Ok(None);
                            };
                            *count = exact;
                        }
                        counts.retain(|_, count| *count > 0);
                    }
                    info.versions = counts;
                }
                Ok(Some(info))
            })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        Ok(infos.into_iter().flatten().collect())
    }

    /// The kind for a write of vectors of `dim`: checked with `check` (against the existing
    /// kind, or the one the write would create) before anything is created.
    async fn writable_kind(
        &self,
        connection: &Connection,
        kind: &str,
        dim: usize,
        check: KindCheck<'_>,
    ) -> Result<KindMeta> {
        if let Some(meta) = self.kind(connection, kind).await? {
            check(&info(kind, meta, 0))?;
            return Ok(meta);
        }
        let wanted = KindMeta::new(dim, self.options.default_metric);
        check(&info(kind, wanted, 0))?;
        let made = self.create(connection, kind, wanted).await?;
        if !made.same_vectors(&wanted) {
            check(&info(kind, made, 0))?;
        }
        Ok(made)
    }

    /// Writes validated items (the last of a repeated id wins) in batches, re-reading the kind
    /// once if another process dropped or re-created it meanwhile.
    async fn write(&self, kind: &str, items: &[NewVector], check: KindCheck<'_>) -> Result<()> {
        let Some(first) = items.first() else { return self.connection().map(|_| ()) };
        let connection = self.connection()?;
        let items = last_of_each_id(items);
        for attempt in 0..2 {
            let meta = self.writable_kind(&connection, kind, first.vector.len(), check).await?;
            match self.upsert(&connection, kind, meta, &items).await? {
                Upsert::Done => return Ok(()),
                Upsert::CollectionMissing | Upsert::WrongDimension if attempt == 0 => self.forget(kind),
                Upsert::CollectionMissing | Upsert::WrongDimension => break,
            }
        }
        Err(Error::new(
            ErrorKind::Backend,
            format!("kind {kind:?} was dropped or re-created by another process during the write"),
        ))
    }

    async fn upsert(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        items: &[&NewVector],
    ) -> Result<Upsert> {
        let name = self.collection(kind);
        let per_point = meta.dim * if meta.metric == Metric::Cosine { 10 } else { 4 } + 256;
        let per_request = (MAX_REQUEST_BYTES / per_point).clamp(1, self.options.batch_size);
        let name = name.as_str();
        // Requests of one batch go out together: they hold distinct ids (repeats were removed),
        // so their order does not matter, and each waits until it is applied.
        let mut requests = Vec::with_capacity(items.len().div_ceil(per_request));
        let now = vectorstore_core::now_ms();
        for chunk in items.chunks(per_request) {
            let points: Vec<PointStruct> = chunk
                .iter()
                .map(|item| {
                    PointStruct::new(
                        layout::point_id(kind, &item.id),
                        item.vector.clone(),
                        layout::payload(
                            &item.id,
                            &item.vector,
                            item.extractor_version,
                            item.written_at_or(now),
                            meta.metric,
                        ),
                    )
                })
                .collect();
            requests.push(connection.upsert(name, points));
        }
        let outcomes: Vec<Upsert> =
            futures::stream::iter(requests).buffer_unordered(PARALLEL_WRITES).try_collect().await?;
        if let Some(failed) = outcomes.into_iter().find(|outcome| !matches!(outcome, Upsert::Done)) {
            return Ok(failed);
        }
        // Records first, then their vectors' points: see the companion module for why.
        self.write_companion_points(connection, kind, meta, items).await
    }

    /// One search's reply as candidates (see [`candidates`]) and how many points Qdrant
    /// returned (repeats included, for the tie rules); `None` when the kind's collection is gone,
    /// which this store then forgets.
    async fn candidates_of(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        search: &Search<'_>,
    ) -> Result<Option<(Vec<Candidate>, usize)>> {
        let Some(points) = connection.search(search).await? else {
            self.forget(kind);
            return Ok(None);
        };
        let returned = points.len();
        Ok(Some((candidates(kind, meta, points), returned)))
    }

    /// The search itself, once the kind is known and the query checked.
    ///
    /// Qdrant orders equal scores arbitrarily, and an HNSW graph cannot be counted on to reach
    /// every copy of a vector shared by many records: one more point than k is asked for, and
    /// when the points at the last distance may continue past it (a tie), the tie is resolved
    /// by groups of identical vectors (see [`resolve_ties`](Self::resolve_ties)). Searches read
    /// one replica of each shard (see [`Connection::search`]); under a read consistency of
    /// several replicas what they found is then [confirmed](Self::confirmed).
    async fn search(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        query: &[f32],
        options: &KnnOptions,
    ) -> Result<Vec<Neighbor>> {
        if meta.companion
            && let Some(answer) = self.search_by_groups(connection, kind, meta, query, options).await?
        {
            return Ok(answer);
        }
        // The records themselves: kinds without a complete companion, and the exact fallback
        // of those with one (their records have no graph, so Qdrant scans them).
        let name = self.collection(kind);
        let limit = options.k + 1;
        let search = search_request(&name, meta, query, limit, options, None, &[]);
        let Some((candidates, returned)) = self.candidates_of(connection, kind, meta, &search).await? else {
            return Ok(Vec::new());
        };
        let hits: Vec<Neighbor> = candidates.iter().map(|c| c.hit.clone()).collect();
        if !whole(&hits, returned, limit, options.k) {
            return self.resolve_ties(connection, kind, meta, query, options, candidates, returned == limit).await;
        }
        let found = found_by_search(&candidates);
        let Some(answer) = self.complete_groups(connection, kind, options, finish(hits, options), &found).await? else {
            return Ok(Vec::new());
        };
        let mut answers = [answer];
        if self.confirmed(connection, kind, &mut answers, &found).await?.is_none() {
            return Ok(Vec::new());
        }
        let [answer] = answers;
        Ok(answer)
    }

    /// The answer when the first reply may end inside a tie: round by round, the records of each
    /// vector at the reply's last distance are read in id order through the vector-hash index
    /// (their first k only), then Qdrant is asked for points of other vectors as near as the
    /// k-th answer (every vector already read left out), until none is left or the k-th answer
    /// is nearer than the reply's last distance. Each round holds one reply of at most k + 1
    /// points and at most k ids of a group, whatever the group's size; at most
    /// [`MAX_TIE_ROUNDS`] rounds, then the contract's scan of the kind (exact, `k` records held,
    /// the whole kind read: many distinct vectors tied at one distance). Points without a vector hash (written by an older version)
    /// cannot be grouped: those kinds take the bounded legacy loop instead. The group members
    /// are read with the configured read consistency; the other hits, found by searches of one
    /// replica, are [confirmed](Self::confirmed) at the end.
    #[allow(clippy::too_many_arguments)]
    async fn resolve_ties(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        query: &[f32],
        options: &KnnOptions,
        first: Vec<Candidate>,
        first_full: bool,
    ) -> Result<Vec<Neighbor>> {
        let name = self.collection(kind);
        let started = Instant::now();
        let (mut walking, mut searching) = (Duration::ZERO, Duration::ZERO);
        let unhashed = Filter::must([Condition::is_empty(layout::HASH_FIELD)]);
        let Some(without_hash) = connection.count_matching(&name, unhashed, "points without a vector hash").await?
        else {
            self.forget(kind);
            return Ok(Vec::new());
        };
        if without_hash > 0 {
            return self.legacy_ties(connection, kind, meta, query, options).await;
        }
        let k = options.k;
        let mut answer: Vec<Neighbor> = Vec::new();
        // The hits taken from searches' replies (not read as group members), with their hash.
        let mut found: HashMap<String, Option<i64>> = HashMap::new();
        let mut seen: Vec<i64> = Vec::new();
        let (mut reply, mut full) = (first, first_full);
        let mut rounds = 0;
        for round in 0.. {
            rounds = round + 1;
            let Some(last) = reply.last().map(|c| c.hit.distance) else { break };
            let cut: Vec<i64> = unique(reply.iter().filter(|c| c.hit.distance == last).filter_map(|c| c.hash));
            let below = reply.iter().filter(|c| c.hit.distance < last);
            found.extend(below.clone().map(|c| (c.hit.id.clone(), c.hash)));
            answer.extend(below.map(|c| c.hit.clone()));
            seen.extend(reply.iter().filter_map(|c| c.hash));
            let walk_started = Instant::now();
            let Some(members) = self.group_members(connection, kind, &cut, options).await? else {
                return Ok(Vec::new());
            };
            walking += walk_started.elapsed();
            answer.extend(members.into_iter().map(|id| Neighbor { kind: kind.to_owned(), id, distance: last }));
            sort_neighbors(&mut answer);
            let mut ids = HashSet::with_capacity(answer.len());
            answer.retain(|hit| ids.insert(hit.id.clone()));
            answer.truncate(k);
            let settled = answer.len() >= k && answer[k - 1].distance < last;
            // A reply of one replica per shard that is not full left nothing out.
            if settled || !full {
                break;
            }
            if round + 1 == MAX_TIE_ROUNDS {
                // Many distinct vectors tie at the k-th distance (an attacker can write them):
                // the contract's scan answers exactly, holding k records, reading the kind once,
                // rather than an answer that breaks the tie rule.
                tracing::warn!(
                    kind,
                    k,
                    rounds = MAX_TIE_ROUNDS,
                    "tie not settled within the rounds allowed; answering by a scan of the kind"
                );
                return vectorstore_core::scan_search::knn_by_scan(self, kind, query, options).await;
            }
            seen.sort_unstable();
            seen.dedup();
            let nearer_than = (answer.len() >= k).then(|| answer[k - 1].distance);
            let search = search_request(&name, meta, query, k + 1, options, nearer_than, &seen);
            let search_started = Instant::now();
            let Some((next, returned)) = self.candidates_of(connection, kind, meta, &search).await? else {
                return Ok(Vec::new());
            };
            searching += search_started.elapsed();
            full = returned == k + 1;
            reply = next;
        }
        tracing::debug!(
            kind,
            k,
            rounds,
            excluded = seen.len(),
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            walks_ms = walking.as_secs_f64() * 1e3,
            searches_ms = searching.as_secs_f64() * 1e3,
            "tie resolved by groups"
        );
        let Some(answer) = self.complete_groups(connection, kind, options, finish(answer, options), &found).await?
        else {
            return Ok(Vec::new());
        };
        let mut answers = [answer];
        if self.confirmed(connection, kind, &mut answers, &found).await?.is_none() {
            return Ok(Vec::new());
        }
        let [answer] = answers;
        Ok(answer)
    }

    /// `answer` with the groups of identical vectors it holds only in part completed. An HNSW
    /// graph does not reach every copy of a vector that many records share (its neighbour
    /// selection keeps one copy and prunes the others as redundant, so copies link to few
    /// points), and a search near such a group finds a few of its members, not the first ones
    /// in id order, beside farther points that the group's other members should have pushed
    /// out (measured at 200,000 records, half of them in 500 groups: 4% of the ids missed for
    /// searches at a group's vector). When the search's reply (`searched`: hash by id) holds
    /// two points of one vector, one facet request counts the records of each vector hash the
    /// answer's hits hold; then, distance by distance from the nearest,
    /// each distance whose groups have more records than the answer shows has its groups' first
    /// k ids read in id order by the hash walk, until the k-th answer is nearer than the next
    /// such distance. Bounds: one facet of at most k values, at most k walks of k ids. Members
    /// read so are confirmed like the tie's (read with the configured consistency). `None` when
    /// the kind is gone.
    async fn complete_groups(
        &self,
        connection: &Connection,
        kind: &str,
        options: &KnnOptions,
        mut answer: Vec<Neighbor>,
        searched: &HashMap<String, Option<i64>>,
    ) -> Result<Option<Vec<Neighbor>>> {
        // Only a reply holding two points of one vector asks: a kind without duplicates pays
        // nothing, and a search that met a group (whose copies link mostly to each other in
        // the graph) finds several of them.
        let mut seen_hashes = HashSet::with_capacity(searched.len());
        if !searched.values().flatten().any(|hash| !seen_hashes.insert(*hash)) {
            return Ok(Some(answer));
        }
        // Hits shown per hash, and the hash's distance.
        let mut shown: HashMap<i64, (u64, f32)> = HashMap::new();
        for hit in &answer {
            if let Some(Some(hash)) = searched.get(&hit.id) {
                shown.entry(*hash).or_insert((0, hit.distance)).0 += 1;
            }
        }
        if shown.is_empty() {
            return Ok(Some(answer));
        }
        let mut hashes: Vec<i64> = shown.keys().copied().collect();
        hashes.sort_unstable();
        let name = self.collection(kind);
        let Some(counts) = connection.hash_counts(&name, &hashes, options.extractor_version).await? else {
            self.forget(kind);
            return Ok(None);
        };
        let mut partial: Vec<(f32, i64)> = shown
            .iter()
            .filter(|(hash, (seen, _))| counts.get(hash).is_some_and(|count| count > seen))
            .map(|(hash, (_, distance))| (*distance, *hash))
            .collect();
        if partial.is_empty() {
            return Ok(Some(answer));
        }
        partial.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let k = options.k;
        let mut at = 0;
        while at < partial.len() {
            let distance = partial[at].0;
            if answer.len() >= k && answer[k - 1].distance < distance {
                break;
            }
            let same: Vec<i64> = partial[at..].iter().take_while(|(d, _)| *d == distance).map(|(_, h)| *h).collect();
            at += same.len();
            let Some(members) = self.group_members(connection, kind, &same, options).await? else {
                return Ok(None);
            };
            answer.extend(members.into_iter().map(|id| Neighbor { kind: kind.to_owned(), id, distance }));
            sort_neighbors(&mut answer);
            let mut ids = HashSet::with_capacity(answer.len());
            answer.retain(|hit| ids.insert(hit.id.clone()));
            answer.truncate(k);
        }
        Ok(Some(answer))
    }

    /// The k nearest distinct vectors on the server: exact searches (Qdrant's brute force, no
    /// graph, so no copy is missed) of `k + 1` points that leave out every vector already
    /// found, until the reply's last distance is beyond `k` vectors found or nothing is left;
    /// at most [`MAX_DISTINCT_ROUNDS`] rounds (then a WARN and the contract's scan, exact but
    /// reading the whole kind). Every vector
    /// nearer than a full reply's last point was in that reply or left out as found, so the
    /// vectors before it are all known. Then for each vector up to the `k`-th distance (those
    /// tied there included, to order them by their smallest id): one exact count of its records
    /// and its first ids by the hash walk, read with the configured consistency (a vector no
    /// replica read holds counts 0 and is dropped); then one retrieve of the groups' first
    /// records, whose vectors give the distances with the contract's kernel, bit for bit. Bounds: per round one reply of `k + 1`
    /// points and an exclusion list of at most `rounds × (k + 1)` hashes; per vector one count
    /// and a walk of `max(ids_per_vector, 1)` ids. Kinds with points written before vectors
    /// were hashed take the contract's scan. `None` when the kind is gone.
    async fn distinct(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Option<Vec<DistinctNeighbor>>> {
        let name = self.collection(kind);
        let k = options.k;
        let within = |distance: f32| options.max_distance.is_none_or(|max| distance <= max);
        let mut found: Vec<(f32, i64)> = Vec::new();
        let mut excluded: Vec<i64> = Vec::new();
        let mut horizon = f32::INFINITY;
        let through_companion = if meta.companion {
            self.distinct_by_companion(connection, kind, meta, query, options, MAX_DISTINCT_ROUNDS).await?
        } else {
            None
        };
        let searched = through_companion.is_some();
        if let Some((vectors, companion_horizon)) = through_companion {
            found = vectors;
            horizon = companion_horizon;
        }
        for round in 0.. {
            if searched {
                break;
            }
            let search = Search { exact: true, ..search_request(&name, meta, query, k + 1, options, None, &excluded) };
            let Some((reply, returned)) = self.candidates_of(connection, kind, meta, &search).await? else {
                return Ok(None);
            };
            if reply.iter().any(|c| c.hash.is_none()) {
                return Ok(Some(
                    vectorstore_core::distinct::knn_distinct_by_scan(self, kind, query, options, ids_per_vector)
                        .await?,
                ));
            }
            for candidate in &reply {
                let Some(hash) = candidate.hash else { continue };
                if !excluded.contains(&hash) {
                    excluded.push(hash);
                    if within(candidate.hit.distance) {
                        found.push((candidate.hit.distance, hash));
                    }
                }
            }
            if returned < k + 1 {
                // Nothing left beyond this reply: every vector is known.
                horizon = f32::INFINITY;
                break;
            }
            horizon = reply.last().map_or(f32::INFINITY, |c| c.hit.distance);
            // As in `distinct_by_companion`: k vectors clearly before the horizon.
            let clear = horizon - layout::score_slack(horizon);
            if found.iter().filter(|(distance, _)| *distance < clear).count() >= k {
                break;
            }
            if round + 1 == MAX_DISTINCT_ROUNDS {
                // Many distinct vectors at or before the k-th distance (an attacker can write
                // them): the contract's scan answers exactly, in bounded memory, reading the
                // kind once, rather than an answer cut short.
                tracing::warn!(
                    kind,
                    k,
                    rounds = MAX_DISTINCT_ROUNDS,
                    "distinct vectors not settled within the rounds allowed; answering by a scan of the kind"
                );
                return Ok(Some(
                    vectorstore_core::distinct::knn_distinct_by_scan(self, kind, query, options, ids_per_vector)
                        .await?,
                ));
            }
            excluded.sort_unstable();
        }
        found.retain(|(distance, _)| *distance < horizon);
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        let Some(cut) = found.get(k.saturating_sub(1)).or(found.last()).map(|(distance, _)| *distance) else {
            return Ok(Some(Vec::new()));
        };
        // Every vector the kernel may put at or before the k-th: the answer is cut below, by the
        // kernel's distances and then smallest ids.
        found.retain(|(distance, _)| *distance <= cut + layout::score_slack(cut));
        let version = options.extractor_version;
        let first = ids_per_vector.max(1);
        let reads: Vec<_> = found
            .iter()
            .copied()
            .map(|(distance, hash)| {
                let name = name.clone();
                async move {
                    let Some(count) = connection
                        .count_matching(&name, hash_filter(&[hash], version), "records of one vector")
                        .await?
                    else {
                        return Ok::<_, Error>(None);
                    };
                    let Some(ids) = self.first_members(connection, kind, &[hash], version, first).await? else {
                        return Ok(None);
                    };
                    Ok(Some((distance, count, ids)))
                }
            })
            .collect();
        let groups: Vec<Option<(f32, u64, Vec<String>)>> =
            futures::stream::iter(reads).buffered(PARALLEL_READS).try_collect().await?;
        let mut groups: Vec<(u64, Vec<String>)> = match groups.into_iter().collect::<Option<Vec<_>>>() {
            Some(groups) => groups.into_iter().map(|(_, count, ids)| (count, ids)).collect(),
            None => {
                self.forget(kind);
                return Ok(None);
            }
        };
        groups.retain(|(count, ids)| *count > 0 && !ids.is_empty());
        // The distance from each group's first record's vector as written, with the kernel every
        // store uses: Qdrant's scores are computed otherwise and differ in the last bits.
        let smallest: Vec<String> = groups.iter().map(|(_, ids)| ids[0].clone()).collect();
        let Some(records) = self.records(connection, kind, meta, &smallest).await? else { return Ok(None) };
        let vectors: HashMap<String, Vec<f32>> = records.into_iter().map(|r| (r.id, r.vector)).collect();
        let mut answer = Vec::with_capacity(groups.len());
        for (count, mut ids) in groups {
            let Some(vector) = vectors.get(&ids[0]) else { continue };
            let distance = vectorstore_core::distance::distance(meta.metric, query, vector);
            if !within(distance) {
                continue;
            }
            let smallest = ids[0].clone();
            ids.truncate(ids_per_vector);
            answer.push((smallest, DistinctNeighbor { kind: kind.to_owned(), distance, count, ids }));
        }
        answer.sort_by(|a, b| a.1.distance.total_cmp(&b.1.distance).then_with(|| a.0.cmp(&b.0)));
        answer.truncate(k);
        Ok(Some(answer.into_iter().map(|(_, group)| group).collect()))
    }

    /// The first `options.k` ids, in id order, of the records whose vector hash is one of
    /// `hashes` (and of the extractor version asked for); `None` when the kind is gone.
    async fn group_members(
        &self,
        connection: &Connection,
        kind: &str,
        hashes: &[i64],
        options: &KnnOptions,
    ) -> Result<Option<Vec<String>>> {
        self.first_members(connection, kind, hashes, options.extractor_version, options.k).await
    }

    /// The first `limit` ids, in id order, of the records whose vector hash is one of `hashes`
    /// (and of `version`, when given), read with the keyset walk; `None` when the kind is gone.
    async fn first_members(
        &self,
        connection: &Connection,
        kind: &str,
        hashes: &[i64],
        version: Option<u32>,
        limit: usize,
    ) -> Result<Option<Vec<String>>> {
        if hashes.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let name = self.collection(kind);
        let filter = hash_filter(hashes, version);
        let before = self.sort_indexes(kind);
        match scan::first_ids_matching(connection, &name, Some(filter), None, limit, before).await? {
            Some((ids, now)) => {
                self.learn_sort_indexes(kind, before, now);
                Ok(Some(ids))
            }
            None => {
                self.forget(kind);
                Ok(None)
            }
        }
    }

    /// The tie loop of kinds holding points without a vector hash: asks for twice as many points
    /// while the k-th distance ties up to the last one returned, at most [`MAX_LEGACY_TIE_LIMIT`]
    /// points; past that the answer is what the last reply held (logged).
    async fn legacy_ties(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        query: &[f32],
        options: &KnnOptions,
    ) -> Result<Vec<Neighbor>> {
        let name = self.collection(kind);
        let mut limit = (options.k + 1).saturating_mul(2).min(MAX_LEGACY_TIE_LIMIT);
        loop {
            let search = search_request(&name, meta, query, limit, options, None, &[]);
            let Some((candidates, returned)) = self.candidates_of(connection, kind, meta, &search).await? else {
                return Ok(Vec::new());
            };
            let hits: Vec<Neighbor> = candidates.iter().map(|c| c.hit.clone()).collect();
            let complete = whole(&hits, returned, limit, options.k);
            if complete || limit >= MAX_LEGACY_TIE_LIMIT {
                if !complete {
                    tracing::warn!(
                        kind,
                        limit,
                        "a tie runs past the most points asked for in a kind whose points lack vector hashes; the \
                         answer may not hold the tie's smallest ids (rewrite the kind to give its points hashes)"
                    );
                }
                let found = found_by_search(&candidates);
                let mut answers = [finish(hits, options)];
                if self.confirmed(connection, kind, &mut answers, &found).await?.is_none() {
                    return Ok(Vec::new());
                }
                let [answer] = answers;
                return Ok(answer);
            }
            limit = limit.saturating_mul(2).min(MAX_LEGACY_TIE_LIMIT);
        }
    }

    /// The searches of a batch, in as few requests as Qdrant's batch query allows: each
    /// answer is what [`search`](Self::search) gives for its query. An answer the first pass
    /// cannot show whole (ties running past the k + 1 points asked for) is searched again on
    /// its own.
    async fn search_batch(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        queries: &[&[f32]],
        options: &KnnOptions,
    ) -> Result<Vec<Vec<Neighbor>>> {
        if meta.companion {
            // Each query walks the companion on its own (a few light requests each).
            let mut searches = Vec::with_capacity(queries.len());
            for query in queries {
                searches.push(self.search(connection, kind, meta, query, options));
            }
            return futures::stream::iter(searches).buffered(PARALLEL_WRITES).try_collect().await;
        }
        let name = self.collection(kind);
        let limit = options.k + 1;
        let per_request = (MAX_BATCH_POINTS / limit).clamp(1, MAX_BATCH_QUERIES);
        let mut answers = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(per_request) {
            // Hits of answers taken whole from this chunk's replies, confirmed in one read.
            let mut found: HashMap<String, Option<i64>> = HashMap::new();
            let mut taken_whole = Vec::new();
            let searches: Vec<_> =
                chunk.iter().map(|query| search_request(&name, meta, query, limit, options, None, &[])).collect();
            let Some(results) = connection.search_batch(&name, &searches).await? else {
                self.forget(kind);
                return Ok(vec![Vec::new(); queries.len()]);
            };
            for (query, points) in chunk.iter().zip(results) {
                let returned = points.len();
                let candidates = candidates(kind, meta, points);
                let hits: Vec<Neighbor> = candidates.iter().map(|c| c.hit.clone()).collect();
                let answer = if whole(&hits, returned, limit, options.k) {
                    let mut by_id = found_by_search(&candidates);
                    let Some(answer) =
                        self.complete_groups(connection, kind, options, finish(hits, options), &by_id).await?
                    else {
                        return Ok(vec![Vec::new(); queries.len()]);
                    };
                    found.extend(answer.iter().filter_map(|hit| by_id.remove_entry(&hit.id)));
                    taken_whole.push(answers.len());
                    answer
                } else {
                    self.resolve_ties(connection, kind, meta, query, options, candidates, returned == limit).await?
                };
                answers.push(answer);
            }
            let mut whole_answers: Vec<Vec<Neighbor>> =
                taken_whole.iter().map(|at| std::mem::take(&mut answers[*at])).collect();
            if self.confirmed(connection, kind, &mut whole_answers, &found).await?.is_none() {
                return Ok(vec![Vec::new(); queries.len()]);
            }
            for (at, answer) in taken_whole.into_iter().zip(whole_answers) {
                answers[at] = answer;
            }
        }
        Ok(answers)
    }

    /// Under a read consistency of several replicas, removes from `answers` the hits found by
    /// searches (`found`: their ids, with the vector hash each search saw) that the replicas
    /// consulted do not all hold, or hold with another vector: one retrieve of their point ids,
    /// read with the configured consistency, which Qdrant merges correctly (points by id). A
    /// search reads one replica of each shard, so this keeps the guarantee asked for; hits
    /// read otherwise (members of a group, read with that consistency) are kept as they are.
    /// `None` when the kind is gone. In a cluster whose replicas agree nothing is removed.
    async fn confirmed(
        &self,
        connection: &Connection,
        kind: &str,
        answers: &mut [Vec<Neighbor>],
        found: &HashMap<String, Option<i64>>,
    ) -> Result<Option<()>> {
        if !self.options.reads_several_replicas() {
            return Ok(Some(()));
        }
        let asked: Vec<&str> =
            answers.iter().flatten().filter(|hit| found.contains_key(&hit.id)).map(|hit| hit.id.as_str()).collect();
        if asked.is_empty() {
            return Ok(Some(()));
        }
        let name = self.collection(kind);
        let fields = vec![layout::ID_FIELD.to_owned(), layout::HASH_FIELD.to_owned()];
        let Some(points) = connection.get(&name, distinct_point_ids(kind, &asked), fields, false).await? else {
            self.forget(kind);
            return Ok(None);
        };
        let held: HashMap<&str, Option<i64>> = points
            .iter()
            .filter_map(|point| {
                let id = layout::stored_id(&point.payload)?;
                Some((id, point.payload.get(layout::HASH_FIELD).and_then(|value| value.as_integer())))
            })
            .collect();
        let mut removed = 0;
        for answer in answers.iter_mut() {
            answer.retain(|hit| {
                let keep = match found.get(&hit.id) {
                    None => true,
                    Some(seen) => held.get(hit.id.as_str()).is_some_and(|stored| seen.is_none() || stored == seen),
                };
                removed += usize::from(!keep);
                keep
            });
        }
        if removed > 0 {
            tracing::warn!(
                kind,
                removed,
                "hits found by a search are not held alike by every replica read; left out of the answer"
            );
        }
        Ok(Some(()))
    }

    /// Deletes the records of `kind` that match `filter` (`what` names them in errors), page
    /// by page: the ids and vector hashes of up to [`companion::DELETE_PAGE`] of them, one
    /// delete of those ids that still match `filter` (a record written again meanwhile may no
    /// longer match), then the companion brought in step for the page's vectors; until none is
    /// left. Answers how many the pages held.
    async fn delete_matching(&self, kind: &str, filter: Filter, what: &str) -> Result<u64> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(0) };
        let name = self.collection(kind);
        let mut deleted = 0;
        loop {
            let scroll = crate::core::Scroll {
                collection: &name,
                filter: Some(filter.clone()),
                limit: companion::DELETE_PAGE,
                offset: None,
                order_by: None,
                fields: vec![layout::HASH_FIELD.to_owned()],
                with_vectors: false,
                one_replica: false,
            };
            let points = match connection.scroll(scroll).await? {
                crate::core::Scrolled::Page(points, _) => points,
                crate::core::Scrolled::CollectionMissing => {
                    self.forget(kind);
                    return Ok(deleted);
                }
                crate::core::Scrolled::OrderIndexMissing => {
                    return Err(Error::new(ErrorKind::Backend, "Qdrant asked for an index on an unordered scroll"));
                }
            };
            let ids: Vec<_> = points.iter().filter_map(|point| point.id.clone()).collect();
            if ids.is_empty() {
                return Ok(deleted);
            }
            let mut page = filter.clone();
            page.must.push(Condition::has_id(ids.clone()));
            if connection.delete_matching(&name, page, what).await?.is_none() {
                self.forget(kind);
                return Ok(deleted);
            }
            deleted += ids.len() as u64;
            self.reconcile_companion(&connection, kind, meta, hashes_of(&points)).await?;
        }
    }

    /// Records of `kind` by id, in the order of `ids`; ids no longer stored are left out.
    async fn records(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        ids: &[String],
    ) -> Result<Option<Vec<VectorRecord>>> {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let Some(found) = self.found(connection, kind, meta, &refs).await? else { return Ok(None) };
        let mut by_id: HashMap<String, VectorRecord> = found.into_iter().map(|r| (r.id.clone(), r)).collect();
        Ok(Some(ids.iter().filter_map(|id| by_id.remove(id)).collect()))
    }

    /// The stored records among `ids` (in any order, each once), by one retrieve of their
    /// point ids; `None` when the collection is gone.
    async fn found(
        &self,
        connection: &Connection,
        kind: &str,
        meta: KindMeta,
        ids: &[&str],
    ) -> Result<Option<Vec<VectorRecord>>> {
        let name = self.collection(kind);
        let fields = layout::record_fields(meta.metric);
        let point_ids = distinct_point_ids(kind, ids);
        let Some(points) = connection.get(&name, point_ids, fields, layout::needs_stored_vector(meta.metric)).await?
        else {
            self.forget(kind);
            return Ok(None);
        };
        points.into_iter().map(|point| layout::record(kind, meta, point)).collect::<Result<_>>().map(Some)
    }

    /// Health; with `detailed`, also the URL, the collection prefix and a failure's full text.
    async fn report(&self, detailed: bool) -> Health {
        let described = |health: Health| {
            let health = health.with_detail("search", if self.options.exact { "exact" } else { "hnsw" });
            if detailed {
                health
                    .with_detail("url", self.options.shown_url())
                    .with_detail("collection_prefix", self.options.prefix.clone())
            } else {
                health
            }
        };
        let connection = match self.connection() {
            Ok(connection) => connection,
            Err(err) => return Health::failed_with(NAME, &err, detailed),
        };
        let version = match connection.version().await {
            Ok(version) => version,
            Err(err) => return described(Health::failed_with(NAME, &err, detailed)),
        };
        match self.list_kinds(&connection, false).await {
            Ok(kinds) => {
                let vectors = kinds.iter().map(|k| k.count).sum();
                described(Health::ok(NAME, kinds.len() as u64, vectors).with_version("qdrant", version))
            }
            Err(err) => described(Health::failed_with(NAME, &err, detailed).with_version("qdrant", version)),
        }
    }
}

/// The vector hashes the points hold (read with the hash payload field).
fn hashes_of(points: &[qdrant_client::qdrant::RetrievedPoint]) -> Vec<i64> {
    points
        .iter()
        .filter_map(|point| point.payload.get(layout::HASH_FIELD).and_then(|value| value.as_integer()))
        .collect()
}

/// The point ids of `ids` in `kind`, each id once.
fn distinct_point_ids(kind: &str, ids: &[&str]) -> Vec<qdrant_client::qdrant::PointId> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().filter(|id| seen.insert(**id)).map(|id| layout::point_id(kind, id)).collect()
}

fn info(kind: &str, meta: KindMeta, count: u64) -> KindInfo {
    KindInfo::new(kind, meta.dim, meta.metric).with_count(count)
}

/// The items to write: for a repeated id only its last occurrence, in batch order.
fn last_of_each_id(items: &[NewVector]) -> Vec<&NewVector> {
    let mut seen = HashSet::with_capacity(items.len());
    let mut kept: Vec<&NewVector> = items.iter().rev().filter(|item| seen.insert(item.id.as_str())).collect();
    kept.reverse();
    kept
}

/// Opens the store for the registry (no I/O).
#[async_trait]
impl StoreBackend for QdrantStore {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn capabilities(&self) -> Capabilities {
        let search = if self.options.exact { SearchKind::Exact } else { SearchKind::Approximate };
        Capabilities { search, ..CAPABILITIES }
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    async fn initialize(&self) -> Result<()> {
        // The client connects lazily: what initialize acquires is a first answer from the server.
        let version = self.connection()?.version().await?;
        tracing::info!(url = %self.options.shown_url(), version = %version, prefix = %self.options.prefix, "connected to Qdrant");
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.connection.write().unwrap_or_else(|p| p.into_inner()).take();
        self.kinds.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.sort_indexed.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.sort_index_failures.write().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }

    async fn health(&self) -> Health {
        self.report(false).await
    }

    async fn health_detailed(&self) -> Health {
        self.report(true).await
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        let connection = self.connection()?;
        let meta = match self.kind(&connection, kind).await? {
            Some(existing) => existing,
            None => self.create(&connection, kind, KindMeta::new(dim, metric)).await?,
        };
        validate::same_kind(&info(kind, meta, 0), dim, metric)?;
        let count = connection.count(&self.collection(kind)).await?.unwrap_or(0);
        Ok(info(kind, meta, count))
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        let item = [NewVector::new(id, vector.to_vec()).with_extractor_version(extractor_version)];
        self.write(kind, &item, &|info: &KindInfo| validate::against_kind(info, vector)).await
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        self.write(kind, items, &|info: &KindInfo| validate::batch_against_kind(info, items)).await
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(None) };
        let ids = [id.to_owned()];
        Ok(self.records(&connection, kind, meta, &ids).await?.and_then(|mut records| records.pop()))
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(false) };
        let name = self.collection(kind);
        let point = layout::point_id(kind, id);
        let fields = vec![layout::HASH_FIELD.to_owned()];
        let Some(found) = connection.get(&name, vec![point.clone()], fields, false).await? else {
            self.forget(kind);
            return Ok(false);
        };
        // Deleted even when the read did not find it: a read of one replica may miss what a
        // write that failed midway left on another (the delete reaches every replica).
        if connection.delete_points(&name, vec![point]).await?.is_none() {
            return Ok(false);
        }
        self.reconcile_companion(&connection, kind, meta, hashes_of(&found)).await?;
        Ok(!found.is_empty())
    }

    /// One retrieve of the requested point ids.
    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(vec![None; ids.len()]) };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.found(&connection, kind, meta, ids).await?.unwrap_or_default();
        Ok(in_request_order(ids, found))
    }

    /// One retrieve of the requested point ids (to count those stored, with their vectors'
    /// hashes), then one delete of the ones found, then the companion brought in step. The
    /// count is what the retrieve saw.
    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(0) };
        if ids.is_empty() {
            return Ok(0);
        }
        let name = self.collection(kind);
        let fields = vec![layout::HASH_FIELD.to_owned()];
        let Some(found) = connection.get(&name, distinct_point_ids(kind, ids), fields, false).await? else {
            self.forget(kind);
            return Ok(0);
        };
        let hashes = hashes_of(&found);
        let found: Vec<_> = found.into_iter().filter_map(|point| point.id).collect();
        if found.is_empty() {
            return Ok(0);
        }
        let removed = found.len() as u64;
        if connection.delete_points(&name, found).await?.is_none() {
            self.forget(kind);
            return Ok(0);
        }
        self.reconcile_companion(&connection, kind, meta, hashes).await?;
        Ok(removed)
    }

    /// Page by page, on the version index: the ids and vector hashes of 1,000 matching records,
    /// one delete of those still matching, then the companion brought in step; until none is left.
    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        let what = format!("version {extractor_version}");
        self.delete_matching(kind, version_filter(extractor_version), &what).await
    }

    /// Page by page, on the write-time index, as `delete_version` does.
    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        let what = format!("records written before {written_before_ms}");
        self.delete_matching(kind, written_before_filter(written_before_ms), &what).await
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(Vec::new()) };
        validate::against_kind(&info(kind, meta, 0), query)?;
        if options.k == 0 {
            return Ok(Vec::new());
        }
        self.search(&connection, kind, meta, query, options).await
    }

    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(vec![Vec::new(); queries.len()]) };
        validate::queries_against_kind(&info(kind, meta, 0), queries)?;
        if options.k == 0 || queries.is_empty() {
            return Ok(vec![Vec::new(); queries.len()]);
        }
        self.search_batch(&connection, kind, meta, queries, options).await
    }

    /// On the server: exact searches that leave found vectors out, then a count and the
    /// id-ordered walk per vector (see the README, "Distinct vectors").
    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<DistinctNeighbor>> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(Vec::new()) };
        validate::against_kind(&info(kind, meta, 0), query)?;
        if options.k == 0 {
            return Ok(Vec::new());
        }
        Ok(self.distinct(&connection, kind, meta, query, options, ids_per_vector).await?.unwrap_or_default())
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        let connection = self.connection()?;
        self.list_kinds(&connection, true).await
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        let connection = self.connection()?;
        let Some(meta) = self.kind(&connection, kind).await? else { return Ok(Vec::new()) };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let collection = self.collection(kind);
        let mut page = Vec::with_capacity(limit.min(1024));
        let mut after = after_id.map(str::to_owned);
        // One round normally; another only if records vanished between finding their ids and
        // reading them (a concurrent delete), so that a short page still means the end.
        while page.len() < limit {
            let wanted = limit - page.len();
            let indexes = self.sort_indexes(kind);
            let Some((ids, indexes_now)) =
                scan::ids_after(&connection, &collection, after.as_deref(), wanted, indexes).await?
            else {
                self.forget(kind);
                return Ok(Vec::new());
            };
            self.learn_sort_indexes(kind, indexes, indexes_now);
            let Some(last) = ids.last().cloned() else { break };
            let complete = ids.len() < wanted;
            page.extend(self.records(&connection, kind, meta, &ids).await?.unwrap_or_default());
            if complete {
                break;
            }
            after = Some(last);
        }
        Ok(page)
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        let connection = self.connection()?;
        if self.kind(&connection, kind).await?.is_none() {
            return Ok(false);
        }
        let dropped = connection.delete_collection(&self.collection(kind)).await?;
        connection.delete_collection(&self.companion(kind)).await?;
        self.forget(kind);
        Ok(dropped)
    }

    /// Waits until Qdrant's optimiser has finished with the kind's collection (status no longer
    /// yellow: segments merged and their HNSW graphs built), polling every 200 ms, at most
    /// 30 minutes (then a WARN, and the time waited). Until then
    /// Qdrant searches the segments it has not indexed yet by brute force: answers are exact
    /// there, slower, and a recall measured then is not the index's. `None` when the collection
    /// was already idle or the kind is unknown.
    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>> {
        let connection = self.connection()?;
        if self.kind(&connection, kind).await?.is_none() {
            return Ok(None);
        }
        let started = Instant::now();
        let optimising = qdrant_client::qdrant::CollectionStatus::Yellow as i32;
        let mut waited = false;
        let mut names = vec![self.collection(kind), self.companion(kind)];
        loop {
            let Some(name) = names.first().cloned() else { return Ok(waited.then(|| started.elapsed())) };
            let Some(info) = connection.collection_info(&name).await? else {
                names.remove(0);
                continue;
            };
            if info.status != optimising {
                names.remove(0);
                continue;
            }
            if started.elapsed() >= SETTLE_LIMIT {
                tracing::warn!(
                    collection = %name,
                    waited_s = started.elapsed().as_secs(),
                    "Qdrant is still optimising the collection; settle stops waiting"
                );
                return Ok(Some(started.elapsed()));
            }
            waited = true;
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }
}

/// The [`BackendRegistration::purge`](vectorstore_core::BackendRegistration::purge) of this
/// backend: deletes every collection of this store under the configured prefix (a namespace made by
/// [`crate::config::isolate`]). Collections without this store's metadata are left alone.
pub fn purge(config: Config) -> vectorstore_core::PurgeFuture {
    Box::pin(async move {
        let options = QdrantConfig::from_config(&config)?;
        let prefix = options.prefix.clone();
        let connection = Connection::new(options)?;
        for name in connection.collections().await? {
            if !name.starts_with(&prefix) {
                continue;
            }
            if let Some(info) = connection.collection_info(&name).await?
                && layout::is_ours(&info)
            {
                connection.delete_collection(&name).await?;
            }
        }
        Ok(())
    })
}

/// Most queries one batch request carries.
const MAX_BATCH_QUERIES: usize = 1_000;
/// Most points one batch request may return; a batch with a large `k` takes several requests.
const MAX_BATCH_POINTS: usize = 50_000;

/// Points given their vector hash per request when upgrading a collection.
const HASH_PAGE: usize = 1_000;

/// Most rounds of [`QdrantStore::resolve_ties`]: each reads a reply of at most k + 1 points and
/// at most k ids of the groups it cut.
const MAX_TIE_ROUNDS: usize = 8;

/// Rounds of exact searches a distinct search may take (see [`QdrantStore::distinct`]): each
/// finds at least one new vector, and past `k` of them before a reply's end the answer is known.
const MAX_DISTINCT_ROUNDS: usize = 16;

/// Most points the legacy tie loop (kinds whose points lack vector hashes) asks for at once.
const MAX_LEGACY_TIE_LIMIT: usize = 4 * vectorstore_core::limits::MAX_K;

/// Whether `hits`, from `returned` points of the `limit` asked for (one replica of each
/// shard), hold the whole answer for `k`: a full reply may end too early, in the k-th
/// distance's tie, or (repeats taking room) before k distinct points.
fn whole(hits: &[Neighbor], returned: usize, limit: usize, k: usize) -> bool {
    let kth = hits.get(k - 1).map(|h| h.distance);
    let last = hits.last().map(|h| h.distance);
    let tie_reaches_the_end = returned == limit && (hits.len() <= k || last <= kth);
    !tie_reaches_the_end
}

/// The hash of each candidate, by id: the hits a search found, to be
/// [confirmed](QdrantStore::confirmed).
fn found_by_search(candidates: &[Candidate]) -> HashMap<String, Option<i64>> {
    candidates.iter().map(|c| (c.hit.id.clone(), c.hash)).collect()
}

/// The search for one query, asking for `limit` points no farther than `options.max_distance`
/// and `within` (both loosely: the caller applies the exact bound), the points of the vectors
/// hashed in `exclude_hashes` left out.
fn search_request<'a>(
    name: &'a str,
    meta: KindMeta,
    query: &'a [f32],
    limit: usize,
    options: &KnnOptions,
    within: Option<f32>,
    exclude_hashes: &'a [i64],
) -> Search<'a> {
    let max = match (options.max_distance, within) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Search {
        collection: name,
        query,
        limit,
        extractor_version: options.extractor_version,
        score_threshold: max.and_then(|max| layout::loose_score_threshold(meta.metric, max)),
        exclude_hashes,
        exact: false,
        companion: false,
    }
}

/// The points whose vector hash is one of `hashes`, of extractor version `version` when given.
fn hash_filter(hashes: &[i64], version: Option<u32>) -> Filter {
    let mut filter = Filter::must([Condition::matches(layout::HASH_FIELD, hashes.to_vec())]);
    if let Some(version) = version {
        filter.must.push(Condition::matches(layout::VERSION_FIELD, i64::from(version)));
    }
    filter
}

/// A point of a search's reply: the neighbour and its vector's hash (`None` for points written
/// before vectors were hashed).
struct Candidate {
    hit: Neighbor,
    hash: Option<i64>,
}

/// Qdrant's points as candidates: distances in the contract's terms, sorted, repeats removed.
fn candidates(kind: &str, meta: KindMeta, points: Vec<qdrant_client::qdrant::ScoredPoint>) -> Vec<Candidate> {
    let mut found: Vec<Candidate> = points
        .into_iter()
        .filter_map(|point| {
            let id = layout::stored_id(&point.payload)?.to_owned();
            let hash = point.payload.get(layout::HASH_FIELD).and_then(|value| value.as_integer());
            let distance = layout::distance_from_score(meta.metric, point.score);
            Some(Candidate { hit: Neighbor { kind: kind.to_owned(), id, distance }, hash })
        })
        .collect();
    found.sort_by(|a, b| vectorstore_core::distance::cmp_hits(a.hit.distance, &a.hit.id, b.hit.distance, &b.hit.id));
    // Searches read one replica (see `Connection::search`); a point listed twice all the same
    // (as merged reads of several replicas did) must not take two places.
    let mut seen = HashSet::with_capacity(found.len());
    found.retain(|c| seen.insert(c.hit.id.clone()));
    found
}

/// The distinct values of `values`, in first-seen order.
fn unique(values: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(*v)).collect()
}

/// The contract's answer from a whole list of hits: within max_distance, at most k.
fn finish(mut hits: Vec<Neighbor>, options: &KnnOptions) -> Vec<Neighbor> {
    if let Some(max) = options.max_distance {
        hits.retain(|hit| hit.distance <= max);
    }
    hits.truncate(options.k);
    hits
}
