//! [`Connection`]: the Qdrant calls the store makes, with the configured consistency, ordering
//! and `wait`, and every error mapped to the contract in one place ([`crate::error`]).
//!
//! Calls on one collection answer `None` when the collection does not exist, so that the
//! store can tell "this kind was dropped (maybe by another process)" from a failure.

use std::collections::{BTreeMap, HashMap};

use qdrant_client::QdrantError;
use qdrant_client::qdrant::{
    CollectionInfo, Condition, CountPointsBuilder, CreateCollection, CreateFieldIndexCollectionBuilder,
    DeleteCollectionBuilder, DeletePointsBuilder, Direction, FacetCountsBuilder, FieldType, Filter, GetPointsBuilder,
    OrderByBuilder, PayloadIncludeSelector, PointId, PointStruct, PointsIdsList, PointsUpdateOperation, Query,
    QueryBatchPoints, QueryPoints, QueryPointsBuilder, Range, ReadConsistencyType, ReplicaState, RetrievedPoint,
    ScoredPoint, ScrollPointsBuilder, SearchParamsBuilder, SetPayloadPointsBuilder, UpdateBatchPointsBuilder,
    UpdateCollectionBuilder, UpsertPointsBuilder, Value, WriteOrderingType, facet_value, points_update_operation,
    read_consistency, start_from,
};
use vectorstore_core::{Error, ErrorKind, Result};

use crate::config::{QdrantConfig, ReadConsistency, WriteOrdering};
use crate::error::{
    Redactor, is_already_exists, is_dimension_error, is_missing_facet_index, is_missing_order_index, is_not_found,
    map_error, setup_error,
};
use crate::grpc::{Client, ClientOptions};
use crate::layout;

/// A Qdrant client with this store's options.
#[derive(Clone)]
pub(crate) struct Connection {
    client: Client,
    options: QdrantConfig,
    redactor: Redactor,
}

/// What an upsert came to.
pub(crate) enum Upsert {
    /// Every point is written and visible to reads.
    Done,
    /// The collection does not exist (any more).
    CollectionMissing,
    /// The collection's vectors have another size (it was re-created by another process).
    WrongDimension,
}

/// What a scroll came to.
pub(crate) enum Scrolled {
    /// The points, and the offset of the next page (point-id order only).
    Page(Vec<RetrievedPoint>, Option<PointId>),
    /// The collection does not exist (any more).
    CollectionMissing,
    /// An ordered scroll's field has no range index (yet).
    OrderIndexMissing,
}

/// Where a collection's replicas are.
pub(crate) struct Placement {
    /// Peers holding at least one replica.
    pub peers: usize,
    /// The fewest replicas any shard has.
    pub fewest_replicas: usize,
    /// Every replica is active (a new collection's are initialising for a while).
    pub all_active: bool,
}

/// What a search asks for.
pub(crate) struct Search<'a> {
    pub collection: &'a str,
    pub query: &'a [f32],
    pub limit: usize,
    pub extractor_version: Option<u32>,
    pub score_threshold: Option<f32>,
    /// Vector hashes whose points are left out (groups already read another way).
    pub exclude_hashes: &'a [i64],
    /// A brute-force search on the server whatever the store's configuration.
    pub exact: bool,
    /// A search of a kind's companion (one point per distinct vector): `exclude_hashes` leave
    /// out points by id, and the reply carries no payload (the id is the hash).
    pub companion: bool,
}

/// What a scroll asks for: points matching `filter`, either in Qdrant's point-id order from
/// `offset`, or ordered by an integer payload field from a value on.
pub(crate) struct Scroll<'a> {
    pub collection: &'a str,
    pub filter: Option<Filter>,
    pub limit: usize,
    pub offset: Option<PointId>,
    pub order_by: Option<(&'static str, i64)>,
    pub fields: Vec<String>,
    pub with_vectors: bool,
    /// Read one replica of each shard whatever the configured read consistency. Qdrant (up to
    /// 1.18.3 at least) merges the answers of several replicas as if they listed the same
    /// points in the same order; an ordered scroll whose values tie breaks that (points
    /// repeated, others left out, a short page). A scroll that only guides the caller, which
    /// then checks with reads that merge correctly, asks for one replica instead.
    pub one_replica: bool,
}

/// Most distinct extractor versions one kind's count lists (Qdrant's facet needs a limit).
const MAX_VERSIONS_LISTED: u64 = 1 << 20;

/// Points whose extractor version is `version`.
pub(crate) fn version_filter(version: u32) -> Filter {
    Filter::must([Condition::matches(layout::VERSION_FIELD, i64::from(version))])
}

/// Points last written before `written_before_ms`. Qdrant's range bounds are `f64`, exact for
/// every millisecond time up to the year 287,000.
pub(crate) fn written_before_filter(written_before_ms: u64) -> Filter {
    let range = Range { lt: Some(layout::stored_time(written_before_ms) as f64), ..Default::default() };
    Filter::must([Condition::range(layout::WRITTEN_FIELD, range)])
}

impl Connection {
    /// A client for the configured server. Does no I/O: gRPC connects on first use.
    pub(crate) fn new(options: QdrantConfig) -> Result<Connection> {
        let redactor = Redactor::new(&options.url, options.api_key.as_deref());
        let client = Client::new(ClientOptions {
            url: options.url.clone(),
            api_key: options.api_key.clone(),
            ca_pem: options.ca_pem.clone(),
            timeout: options.timeout,
            connect_timeout: options.connect_timeout(),
        })
        .map_err(|err| setup_error(err, &redactor))?;
        Ok(Connection { client, options, redactor })
    }

    fn fail(&self, err: QdrantError, what: &str) -> Error {
        map_error(err, what, &self.redactor)
    }

    /// The server's version.
    pub(crate) async fn version(&self) -> Result<String> {
        let reply = self.client.health_check().await.map_err(|err| self.fail(err, "health check"))?;
        Ok(reply.version)
    }

    /// Every collection name on the server.
    pub(crate) async fn collections(&self) -> Result<Vec<String>> {
        let reply = self.client.list_collections().await.map_err(|err| self.fail(err, "list collections"))?;
        Ok(reply.collections.into_iter().map(|c| c.name).collect())
    }

    pub(crate) async fn collection_info(&self, name: &str) -> Result<Option<CollectionInfo>> {
        match self.client.collection_info(name).await {
            Ok(reply) => Ok(reply.result),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("info of collection {name}"))),
        }
    }

    /// Where the collection's replicas are, as the peer the client talks to sees it.
    pub(crate) async fn placement(&self, name: &str) -> Result<Option<Placement>> {
        let reply = match self.client.collection_cluster_info(name).await {
            Ok(reply) => reply,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(self.fail(err, &format!("cluster info of collection {name}"))),
        };
        let mut peers: Vec<u64> = reply.remote_shards.iter().map(|shard| shard.peer_id).collect();
        peers.push(reply.peer_id);
        peers.sort_unstable();
        peers.dedup();
        let replicas = |shard: u32| {
            reply.local_shards.iter().filter(|s| s.shard_id == shard).count()
                + reply.remote_shards.iter().filter(|s| s.shard_id == shard).count()
        };
        let shards = u32::try_from(reply.shard_count).unwrap_or(u32::MAX);
        let active = ReplicaState::Active as i32;
        Ok(Some(Placement {
            peers: peers.len(),
            fewest_replicas: (0..shards).map(replicas).min().unwrap_or(0),
            all_active: reply.local_shards.iter().all(|s| s.state == active)
                && reply.remote_shards.iter().all(|s| s.state == active),
        }))
    }

    /// Creates a collection; `false` when it exists already (another process created it first).
    pub(crate) async fn create_collection(&self, mut request: CreateCollection, name: &str) -> Result<bool> {
        // Qdrant waits 10 s for the cluster to agree by default, too little for a busy cluster.
        request.timeout = Some(self.consensus_timeout());
        match self.client.create_collection(request).await {
            Ok(_) => Ok(true),
            Err(err) if is_already_exists(&err) => Ok(false),
            Err(err) => Err(self.fail(err, &format!("create collection {name}"))),
        }
    }

    /// Creates the integer payload index `field` (creating an existing one again is accepted);
    /// with `wait`, returns once it and every earlier update of the collection are applied.
    pub(crate) async fn create_index(&self, name: &str, field: &str, wait: bool) -> Result<()> {
        let request = CreateFieldIndexCollectionBuilder::new(name, field, FieldType::Integer)
            .field_index_params(layout::index_params(field))
            .wait(wait);
        self.client
            .create_field_index(request)
            .await
            .map_err(|err| self.fail(err, &format!("index {field} of {name}")))?;
        Ok(())
    }

    /// Deletes a collection; `false` when it did not exist.
    pub(crate) async fn delete_collection(&self, name: &str) -> Result<bool> {
        match self.client.delete_collection(DeleteCollectionBuilder::new(name).timeout(self.consensus_timeout())).await
        {
            Ok(reply) => Ok(reply.result),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(self.fail(err, &format!("delete collection {name}"))),
        }
    }

    /// The exact number of points of a collection.
    pub(crate) async fn count(&self, name: &str) -> Result<Option<u64>> {
        let mut request = CountPointsBuilder::new(name).exact(true);
        if let Some(consistency) = self.read_consistency() {
            request = request.read_consistency(consistency);
        }
        match self.client.count(request).await {
            Ok(reply) => Ok(Some(reply.result.map_or(0, |r| r.count))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("count of {name}"))),
        }
    }

    /// The exact number of points of a collection whose extractor version is `version`.
    pub(crate) async fn count_version(&self, name: &str, version: u32) -> Result<Option<u64>> {
        self.count_matching(name, version_filter(version), &format!("version {version}")).await
    }

    /// The exact number of points of a collection that match `filter` (`what` names them in
    /// errors).
    pub(crate) async fn count_matching(&self, name: &str, filter: Filter, what: &str) -> Result<Option<u64>> {
        let mut request = CountPointsBuilder::new(name).exact(true).filter(filter);
        if let Some(consistency) = self.read_consistency() {
            request = request.read_consistency(consistency);
        }
        match self.client.count(request).await {
            Ok(reply) => Ok(Some(reply.result.map_or(0, |r| r.count))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("count of {what} in {name}"))),
        }
    }

    /// The exact number of points per extractor version (versions without points left out),
    /// read from the version's payload index in one facet request to one replica of each shard.
    ///
    /// Qdrant (1.18.3 at least) adds up the facets of several replicas of a shard instead of
    /// merging them (a read consistency of 2 over 2 replicas counted 13,366 points of 10,060),
    /// so the facet always reads one replica; [`Connection::reads_several_replicas`] tells the
    /// caller when to confirm each count with [`Connection::count_version`].
    pub(crate) async fn version_counts(&self, name: &str) -> Result<Option<BTreeMap<u32, u64>>> {
        let request = FacetCountsBuilder::new(name, layout::VERSION_FIELD)
            .exact(true)
            .limit(MAX_VERSIONS_LISTED)
            .read_consistency(read_consistency::Value::Factor(1));
        let mut reply = self.client.facet(request.clone()).await;
        if reply.as_ref().is_err_and(is_missing_facet_index) {
            // A kind created moments ago: wait until its index is applied, then ask again.
            self.create_index(name, layout::VERSION_FIELD, true).await?;
            reply = self.client.facet(request).await;
        }
        let reply = match reply {
            Ok(reply) => reply,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(self.fail(err, &format!("versions of {name}"))),
        };
        let mut counts = BTreeMap::new();
        for hit in reply.hits {
            let version = match hit.value.and_then(|value| value.variant) {
                Some(facet_value::Variant::IntegerValue(version)) => u32::try_from(version).ok(),
                _ => None,
            };
            let version = version.ok_or_else(|| {
                Error::new(
                    ErrorKind::Backend,
                    format!("collection {name} holds a point with an invalid extractor_version"),
                )
            })?;
            // The index may still list a value whose last point was deleted, with count 0.
            if hit.count > 0 {
                counts.insert(version, hit.count);
            }
        }
        Ok(Some(counts))
    }

    /// How many points hold each of `hashes` as their vector hash (and `version` as their
    /// extractor version, when given), from the hash's payload index in one facet request to
    /// one replica of each shard (see [`Connection::version_counts`] for why one); hashes
    /// without points are left out. `None` when the collection is gone.
    pub(crate) async fn hash_counts(
        &self,
        name: &str,
        hashes: &[i64],
        version: Option<u32>,
    ) -> Result<Option<HashMap<i64, u64>>> {
        let mut filter = Filter::must([Condition::matches(layout::HASH_FIELD, hashes.to_vec())]);
        if let Some(version) = version {
            filter.must.push(Condition::matches(layout::VERSION_FIELD, i64::from(version)));
        }
        let request = FacetCountsBuilder::new(name, layout::HASH_FIELD)
            .exact(true)
            .limit(hashes.len() as u64)
            .filter(filter)
            .read_consistency(read_consistency::Value::Factor(1));
        let mut reply = self.client.facet(request.clone()).await;
        if reply.as_ref().is_err_and(is_missing_facet_index) {
            // An index asked for moments ago (a collection adopted without it): wait until it
            // is applied, then ask again.
            self.create_index(name, layout::HASH_FIELD, true).await?;
            reply = self.client.facet(request).await;
        }
        let reply = match reply {
            Ok(reply) => reply,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(self.fail(err, &format!("vector-hash counts of {name}"))),
        };
        let counts = reply
            .hits
            .into_iter()
            .filter_map(|hit| match hit.value.and_then(|value| value.variant) {
                Some(facet_value::Variant::IntegerValue(hash)) if hit.count > 0 => Some((hash, hit.count)),
                _ => None,
            })
            .collect();
        Ok(Some(counts))
    }

    /// Deletes every point that matches `filter` with one filtered delete, and waits until
    /// reads see it; `None` when the collection is gone (`what` names the points in errors).
    pub(crate) async fn delete_matching(&self, name: &str, filter: Filter, what: &str) -> Result<Option<()>> {
        let mut request = DeletePointsBuilder::new(name).points(filter).wait(true);
        if let Some(ordering) = self.write_ordering() {
            request = request.ordering(ordering);
        }
        match self.client.delete_points(request).await {
            Ok(_) => Ok(Some(())),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("delete {what} from {name}"))),
        }
    }

    /// Gives every point without a write time the time `written_at_ms`, with one filtered
    /// payload update, and waits until reads see it; `None` when the collection is gone.
    pub(crate) async fn stamp_untimed(&self, name: &str, written_at_ms: u64) -> Result<Option<()>> {
        let payload: std::collections::HashMap<String, Value> =
            [(layout::WRITTEN_FIELD.to_owned(), Value::from(layout::stored_time(written_at_ms)))].into();
        let untimed = Filter::must([Condition::is_empty(layout::WRITTEN_FIELD)]);
        let mut request = SetPayloadPointsBuilder::new(name, payload).points_selector(untimed).wait(true);
        if let Some(ordering) = self.write_ordering() {
            request = request.ordering(ordering);
        }
        match self.client.set_payload(request).await {
            Ok(_) => Ok(Some(())),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("write times of {name}"))),
        }
    }

    /// Gives up to `page` points without a vector hash theirs, read from their stored vector
    /// (the raw payload copy under cosine, which Qdrant normalises), and waits until reads see
    /// it. Each point is updated through a filter that also requires it to have no hash yet, so
    /// a writer that rewrote the point meanwhile (with its own hash) is never overwritten.
    /// `Some(n)`: the points hashed (0 when none is left); `None` when the collection is gone.
    pub(crate) async fn hash_unhashed(
        &self,
        name: &str,
        metric: vectorstore_core::Metric,
        page: usize,
    ) -> Result<Option<usize>> {
        let unhashed = Filter::must([Condition::is_empty(layout::HASH_FIELD)]);
        let raw = !layout::needs_stored_vector(metric);
        let scroll = Scroll {
            collection: name,
            filter: Some(unhashed),
            limit: page,
            offset: None,
            order_by: None,
            fields: if raw { vec![layout::RAW_VECTOR_FIELD.to_owned()] } else { Vec::new() },
            with_vectors: !raw,
            one_replica: false,
        };
        let points = match self.scroll(scroll).await? {
            Scrolled::Page(points, _) => points,
            Scrolled::CollectionMissing => return Ok(None),
            Scrolled::OrderIndexMissing => {
                return Err(Error::new(ErrorKind::Backend, "Qdrant asked for an index on an unordered scroll"));
            }
        };
        let mut operations = Vec::with_capacity(points.len());
        for point in &points {
            let Some(id) = point.id.clone() else { continue };
            let vector = if raw {
                point
                    .payload
                    .get(layout::RAW_VECTOR_FIELD)
                    .and_then(|v| v.as_str())
                    .and_then(|t| layout::decode_vector(t))
            } else {
                layout::stored_vector(point)
            };
            let Some(vector) = vector else {
                return Err(Error::new(
                    ErrorKind::Backend,
                    format!("a point of {name} has no readable vector to hash"),
                ));
            };
            let payload: std::collections::HashMap<String, Value> =
                [(layout::HASH_FIELD.to_owned(), Value::from(layout::vector_hash(&vector)))].into();
            let only_if_unhashed = Filter::must([Condition::has_id([id]), Condition::is_empty(layout::HASH_FIELD)]);
            operations.push(PointsUpdateOperation {
                operation: Some(points_update_operation::Operation::SetPayload(points_update_operation::SetPayload {
                    payload,
                    points_selector: Some(only_if_unhashed.into()),
                    shard_key_selector: None,
                    key: None,
                })),
            });
        }
        if operations.is_empty() {
            return Ok(Some(0));
        }
        let hashed = operations.len();
        let mut request = UpdateBatchPointsBuilder::new(name, operations).wait(true);
        if let Some(ordering) = self.write_ordering() {
            request = request.ordering(ordering);
        }
        match self.client.update_batch(request).await {
            Ok(_) => Ok(Some(hashed)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("vector hashes of {name}"))),
        }
    }

    /// Records `version` as the collection's schema version in its metadata (merged with the
    /// rest of it by Qdrant).
    pub(crate) async fn record_schema_version(&self, name: &str, version: i64) -> Result<()> {
        let mut request = UpdateCollectionBuilder::new(name).timeout(self.consensus_timeout()).build();
        request.metadata = [(layout::META_SCHEMA.to_owned(), Value::from(version))].into();
        self.client
            .update_collection(request)
            .await
            .map_err(|err| self.fail(err, &format!("schema version of {name}")))?;
        Ok(())
    }

    /// Writes points and waits until reads see them.
    pub(crate) async fn upsert(&self, name: &str, points: Vec<PointStruct>) -> Result<Upsert> {
        self.upsert_updating(name, points, None).await
    }

    /// Writes the points that do not exist yet and leaves existing ones untouched (their
    /// vector is the same: a companion point's id is its vector's hash), so that a vector
    /// written again and again does not rewrite its point in the graph each time. Waits until
    /// reads see them.
    pub(crate) async fn upsert_absent(&self, name: &str, points: Vec<PointStruct>) -> Result<Upsert> {
        // Matches no companion point (each has a hash): existing points are not updated.
        let nothing = Filter::must([Condition::is_empty(layout::HASH_FIELD)]);
        self.upsert_updating(name, points, Some(nothing)).await
    }

    /// Writes points (existing ones only where `update_filter` matches them, when given) and
    /// waits until reads see them.
    async fn upsert_updating(
        &self,
        name: &str,
        points: Vec<PointStruct>,
        update_filter: Option<Filter>,
    ) -> Result<Upsert> {
        let mut request = UpsertPointsBuilder::new(name, points).wait(true);
        if let Some(filter) = update_filter {
            request = request.update_filter(filter);
        }
        if let Some(ordering) = self.write_ordering() {
            request = request.ordering(ordering);
        }
        match self.client.upsert_points(request).await {
            Ok(_) => Ok(Upsert::Done),
            Err(err) if is_not_found(&err) => Ok(Upsert::CollectionMissing),
            Err(err) if is_dimension_error(&err) => Ok(Upsert::WrongDimension),
            Err(err) => Err(self.fail(err, &format!("upsert into {name}"))),
        }
    }

    /// Records in a companion's metadata that it holds every vector of its kind.
    pub(crate) async fn record_companion_complete(&self, name: &str) -> Result<()> {
        let mut request = UpdateCollectionBuilder::new(name).timeout(self.consensus_timeout()).build();
        request.metadata = [(layout::META_COMPLETE.to_owned(), Value::from(true))].into();
        self.client.update_collection(request).await.map_err(|err| self.fail(err, &format!("metadata of {name}")))?;
        Ok(())
    }

    /// Deletes points by id and waits until reads see it; `None` when the collection is gone.
    pub(crate) async fn delete_points(&self, name: &str, ids: Vec<PointId>) -> Result<Option<()>> {
        let mut request = DeletePointsBuilder::new(name).points(PointsIdsList { ids }).wait(true);
        if let Some(ordering) = self.write_ordering() {
            request = request.ordering(ordering);
        }
        match self.client.delete_points(request).await {
            Ok(_) => Ok(Some(())),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("delete from {name}"))),
        }
    }

    /// Points by id, with the payload `fields` and, when asked, the stored vector.
    pub(crate) async fn get(
        &self,
        name: &str,
        ids: Vec<PointId>,
        fields: Vec<String>,
        with_vectors: bool,
    ) -> Result<Option<Vec<RetrievedPoint>>> {
        let mut request = GetPointsBuilder::new(name, ids)
            .with_payload(PayloadIncludeSelector::new(fields))
            .with_vectors(with_vectors);
        if let Some(consistency) = self.read_consistency() {
            request = request.read_consistency(consistency);
        }
        match self.client.get_points(request).await {
            Ok(reply) => Ok(Some(reply.result)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("get from {name}"))),
        }
    }

    /// The `limit` best points for a query, by Qdrant's score, with their stored id.
    ///
    /// Read from one replica of each shard whatever the configured read consistency: Qdrant
    /// (1.18.3 at least) merges several replicas' answers as if they listed the same points in
    /// the same order, and where a shard's answer ends inside a tie of equal scores each
    /// replica ends it elsewhere, so the merge leaves out points of that shard, invisibly in
    /// the collection's answer (another shard's farther points fill it). One replica's answer
    /// leaves nothing nearer out; the caller confirms what it keeps with reads that merge
    /// correctly (see `QdrantStore::confirmed`).
    pub(crate) async fn search(&self, search: &Search<'_>) -> Result<Option<Vec<ScoredPoint>>> {
        match self.client.query(self.query_request(search)).await {
            Ok(reply) => Ok(Some(reply.result)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("search in {}", search.collection))),
        }
    }

    /// Searches of one collection in one request (Qdrant's batch query): each answer is what
    /// [`search`](Self::search) gives for its search, in order.
    pub(crate) async fn search_batch(
        &self,
        collection: &str,
        searches: &[Search<'_>],
    ) -> Result<Option<Vec<Vec<ScoredPoint>>>> {
        let request = QueryBatchPoints {
            collection_name: collection.to_owned(),
            query_points: searches.iter().map(|search| self.query_request(search)).collect(),
            // One replica, as for `search`.
            read_consistency: Some(qdrant_client::qdrant::ReadConsistency {
                value: Some(read_consistency::Value::Factor(1)),
            }),
            timeout: None,
        };
        match self.client.query_batch(request).await {
            Ok(reply) if reply.result.len() == searches.len() => {
                Ok(Some(reply.result.into_iter().map(|batch| batch.result).collect()))
            }
            Ok(reply) => Err(Error::new(
                ErrorKind::Backend,
                format!("batch search in {collection}: {} answers to {} searches", reply.result.len(), searches.len()),
            )),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.fail(err, &format!("batch search in {collection}"))),
        }
    }

    fn query_request(&self, search: &Search<'_>) -> QueryPoints {
        let mut params = SearchParamsBuilder::default().exact(self.options.exact || search.exact);
        if let Some(ef) = self.options.hnsw_ef {
            params = params.hnsw_ef(ef);
        }
        let fields = if search.companion {
            Vec::new()
        } else {
            vec![layout::ID_FIELD.to_owned(), layout::HASH_FIELD.to_owned()]
        };
        let mut request = QueryPointsBuilder::new(search.collection)
            .query(Query::new_nearest(search.query.to_vec()))
            .limit(search.limit as u64)
            .params(params)
            .with_payload(PayloadIncludeSelector::new(fields))
            .with_vectors(false);
        // Filtered inside the search (the fields are indexed), so k matching points come back.
        let mut filter = Filter::default();
        if let Some(version) = search.extractor_version {
            filter.must.push(Condition::matches(layout::VERSION_FIELD, i64::from(version)));
        }
        if search.companion {
            // A companion has no extractor versions: its points are filtered by id only.
            filter.must.clear();
            if !search.exclude_hashes.is_empty() {
                let ids: Vec<PointId> =
                    search.exclude_hashes.iter().map(|hash| layout::distinct_point_id(*hash)).collect();
                filter.must_not.push(Condition::has_id(ids));
            }
        } else if !search.exclude_hashes.is_empty() {
            filter.must_not.push(Condition::matches(layout::HASH_FIELD, search.exclude_hashes.to_vec()));
        }
        if !filter.must.is_empty() || !filter.must_not.is_empty() {
            request = request.filter(filter);
        }
        if let Some(threshold) = search.score_threshold {
            request = request.score_threshold(threshold);
        }
        // One replica of each shard: see `search`.
        request.read_consistency(read_consistency::Value::Factor(1)).into()
    }

    /// One page of a scroll.
    pub(crate) async fn scroll(&self, scroll: Scroll<'_>) -> Result<Scrolled> {
        let limit = u32::try_from(scroll.limit).map_err(|_| {
            Error::new(ErrorKind::InvalidArgument, format!("scroll page of {} points is too large", scroll.limit))
        })?;
        let mut request = ScrollPointsBuilder::new(scroll.collection)
            .limit(limit)
            .with_payload(PayloadIncludeSelector::new(scroll.fields))
            .with_vectors(scroll.with_vectors);
        if let Some(filter) = scroll.filter {
            request = request.filter(filter);
        }
        if let Some(offset) = scroll.offset {
            request = request.offset(offset);
        }
        if let Some((field, from)) = scroll.order_by {
            request = request.order_by(
                OrderByBuilder::new(field)
                    .direction(Direction::Asc as i32)
                    .start_from(start_from::Value::Integer(from)),
            );
        }
        let consistency =
            if scroll.one_replica { Some(read_consistency::Value::Factor(1)) } else { self.read_consistency() };
        if let Some(consistency) = consistency {
            request = request.read_consistency(consistency);
        }
        match self.client.scroll(request).await {
            Ok(reply) => Ok(Scrolled::Page(reply.result, reply.next_page_offset)),
            Err(err) if is_not_found(&err) => Ok(Scrolled::CollectionMissing),
            Err(err) if is_missing_order_index(&err) => Ok(Scrolled::OrderIndexMissing),
            Err(err) => Err(self.fail(err, &format!("scroll of {}", scroll.collection))),
        }
    }

    /// True when the configured read consistency reads more than one replica of a shard.
    pub(crate) fn reads_several_replicas(&self) -> bool {
        !matches!(self.options.read_consistency, None | Some(ReadConsistency::Replicas(1)))
    }

    /// Seconds a collection change may wait for the cluster's agreement: the request timeout.
    fn consensus_timeout(&self) -> u64 {
        self.options.timeout.as_secs().max(1)
    }

    fn read_consistency(&self) -> Option<read_consistency::Value> {
        self.options.read_consistency.map(|consistency| match consistency {
            ReadConsistency::All => read_consistency::Value::Type(ReadConsistencyType::All as i32),
            ReadConsistency::Majority => read_consistency::Value::Type(ReadConsistencyType::Majority as i32),
            ReadConsistency::Quorum => read_consistency::Value::Type(ReadConsistencyType::Quorum as i32),
            ReadConsistency::Replicas(n) => read_consistency::Value::Factor(n),
        })
    }

    fn write_ordering(&self) -> Option<qdrant_client::qdrant::WriteOrdering> {
        self.options.write_ordering.map(|ordering| qdrant_client::qdrant::WriteOrdering {
            r#type: match ordering {
                WriteOrdering::Weak => WriteOrderingType::Weak,
                WriteOrdering::Medium => WriteOrderingType::Medium,
                WriteOrdering::Strong => WriteOrderingType::Strong,
            } as i32,
        })
    }
}
