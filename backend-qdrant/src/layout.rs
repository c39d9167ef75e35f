//! How kinds and records are laid out in Qdrant: one collection per kind, its description in
//! the collection's own metadata, and one point per record whose payload keeps what Qdrant
//! does not (the original id, the extractor version, the id's sort keys, and for cosine the
//! vector as written).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use qdrant_client::qdrant::vector_output::Vector as OutputVector;
use qdrant_client::qdrant::{
    CollectionInfo, CreateCollection, CreateCollectionBuilder, Distance, HnswConfigDiffBuilder, PointId,
    RetrievedPoint, Value, VectorParamsBuilder, vectors_config,
};
use qdrant_client::{Payload, qdrant};
use uuid::Uuid;
use vectorstore_core::{Error, ErrorKind, Metric, Result, SCHEMA_VERSION, VectorRecord};

use crate::config::QdrantConfig;

/// Payload field holding the caller's id, verbatim.
pub const ID_FIELD: &str = "id";
/// Payload field holding the extractor version (integer, indexed so searches filter on it).
pub const VERSION_FIELD: &str = "extractor_version";
/// Payload field holding the time the record was last written (integer milliseconds since the
/// Unix epoch, indexed for ranges so that `expire` deletes by a filter). Schema version 2 added
/// it; a collection of version 1 gains it when this store first opens the collection.
pub const WRITTEN_FIELD: &str = "written_at_ms";
/// Payload field holding the vector exactly as written (base64 of little-endian `f32`s), for
/// cosine kinds only: Qdrant normalises cosine vectors when it stores them.
pub const RAW_VECTOR_FIELD: &str = "vector_f32le";
/// Payload field holding [`vector_hash`] of the record's vector (integer index, equality only):
/// the records sharing a vector are found by it, in id order, without the similarity index.
pub const HASH_FIELD: &str = "vector_hash";
/// Id bytes per sort key: 48 bits, because Qdrant turns an ordered scroll's integer start
/// into an `f64`, exact only up to 2^53.
pub const SORT_KEY_BYTES: usize = 6;
/// Number of sort keys stored per point (the first 30 bytes of the id); see [`sort_keys`].
pub const SORT_LEVELS: usize = 5;
/// Payload fields holding the sort keys, one integer index each.
pub const SORT_FIELDS: [&str; SORT_LEVELS] = ["sort_0", "sort_1", "sort_2", "sort_3", "sort_4"];

/// Collection-metadata keys that describe a kind.
pub(crate) const META_SCHEMA: &str = "decnet_vectorstore_schema";
const META_KIND: &str = "decnet_vectorstore_kind";
const META_METRIC: &str = "decnet_vectorstore_metric";
/// Companion-metadata key naming the kind whose distinct vectors the collection holds.
const META_DISTINCT_OF: &str = "decnet_vectorstore_distinct_of";
/// Companion-metadata key set to `true` once every vector of the kind has its point (at
/// creation for a new kind; after the build of [`QdrantStore`](crate::QdrantStore)'s upgrade).
pub(crate) const META_COMPLETE: &str = "decnet_vectorstore_distinct_complete";
/// Suffix of a kind's companion collection: `-` never occurs in a kind, so the name is never
/// taken for a kind's collection.
const COMPANION_SUFFIX: &str = "-distinct";

/// Namespace of the point ids (UUIDv5 of `kind NUL id`); fixed forever, or stored points
/// could no longer be addressed.
const POINT_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_0c4e_5d2b_4f0a_9c3e_8b7d_2e1f_4a60);

/// What the store knows about a kind once it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindMeta {
    /// The fixed dimension.
    pub dim: usize,
    /// The metric.
    pub metric: Metric,
    /// Whether the kind's companion collection is complete: one point per distinct vector,
    /// searched instead of the records (see "Duplicate vectors" in the crate docs).
    pub companion: bool,
}

impl KindMeta {
    /// A kind of `dim` and `metric`, its companion not known yet.
    pub fn new(dim: usize, metric: Metric) -> KindMeta {
        KindMeta { dim, metric, companion: false }
    }

    /// The same kind, ignoring what is known of its companion.
    pub fn same_vectors(&self, other: &KindMeta) -> bool {
        self.dim == other.dim && self.metric == other.metric
    }
}

/// A collection's layout as [`kind_meta`] reads it: the kind, and the schema version its
/// metadata records (older than [`SCHEMA_VERSION`] until it is upgraded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The kind.
    pub meta: KindMeta,
    /// The schema version recorded in the collection's metadata.
    pub version: i64,
}

/// The collection of `kind` under `prefix`. Kinds are validated first, so the name only ever
/// holds `[A-Za-z0-9_-]`.
pub fn collection_name(prefix: &str, kind: &str) -> String {
    format!("{prefix}{kind}")
}

/// The kind a collection of this prefix holds, judged by its name alone.
/// A collection under the prefix whose rest is not a valid kind is left out and logged at
/// debug: it is often not damage but another store's, whose longer prefix (which may hold `-`)
/// starts with this one, and a warning would repeat at every listing and health check.
pub fn kind_of_collection<'a>(prefix: &str, collection: &'a str) -> Option<&'a str> {
    let rest = collection.strip_prefix(prefix)?;
    if rest.strip_suffix(COMPANION_SUFFIX).is_some_and(|kind| vectorstore_core::validate::kind(kind).is_ok()) {
        // A kind's companion: part of that kind, not a kind of its own.
        return None;
    }
    if vectorstore_core::validate::kind(rest).is_ok() {
        return Some(rest);
    }
    tracing::debug!(
        collection = %vectorstore_core::Escaped(collection),
        "a collection under the store's prefix is not named for a valid kind; it is left out"
    );
    None
}

/// The companion collection of `kind` under `prefix`: one point per distinct vector.
pub fn companion_name(prefix: &str, kind: &str) -> String {
    format!("{prefix}{kind}{COMPANION_SUFFIX}")
}

/// The point of a distinct vector in the companion: its hash's bits as the numeric point id, so
/// every writer of that vector addresses the same point (idempotent, no election).
pub fn distinct_point_id(hash: i64) -> PointId {
    PointId::from(hash as u64)
}

/// The vector hash of a companion point, from its id; `None` for an id this store never makes.
pub fn hash_of_distinct_point(id: &PointId) -> Option<i64> {
    match id.point_id_options.as_ref()? {
        qdrant::point_id::PointIdOptions::Num(number) => Some(*number as i64),
        qdrant::point_id::PointIdOptions::Uuid(_) => None,
    }
}

/// The payload of a companion point: its hash, and for cosine the vector as written (Qdrant
/// normalises it), so that the point can be written again bit for bit.
pub fn distinct_payload(vector: &[f32], metric: Metric) -> Payload {
    let mut payload = Payload::with_capacity(2);
    payload.insert(HASH_FIELD, vector_hash(vector));
    if metric == Metric::Cosine {
        payload.insert(RAW_VECTOR_FIELD, encode_vector(vector));
    }
    payload
}

/// The deterministic point id of `(kind, id)`: neither may contain NUL, so `kind NUL id` is
/// unambiguous.
pub fn point_uuid(kind: &str, id: &str) -> Uuid {
    let mut name = Vec::with_capacity(kind.len() + 1 + id.len());
    name.extend_from_slice(kind.as_bytes());
    name.push(0);
    name.extend_from_slice(id.as_bytes());
    Uuid::new_v5(&POINT_NAMESPACE, &name)
}

/// [`point_uuid`] as a Qdrant point id.
pub fn point_id(kind: &str, id: &str) -> PointId {
    PointId::from(point_uuid(kind, id).to_string())
}

/// The id's sort keys: bytes `6i..6i+6` of the id, zero-padded, read as a big-endian integer.
///
/// Ids hold no NUL, so zero padding sorts a shorter id before its extensions, and comparing
/// `(keys, rest of id)` gives exactly the byte order of ids. Qdrant can order a scroll by one
/// integer payload field at a time, which is what the scan builds keyset pagination on.
pub fn sort_keys(id: &str) -> [i64; SORT_LEVELS] {
    let bytes = id.as_bytes();
    let mut keys = [0i64; SORT_LEVELS];
    for (level, key) in keys.iter_mut().enumerate() {
        let mut chunk = [0u8; 8];
        let start = (level * SORT_KEY_BYTES).min(bytes.len());
        let end = (start + SORT_KEY_BYTES).min(bytes.len());
        chunk[8 - SORT_KEY_BYTES..8 - SORT_KEY_BYTES + end - start].copy_from_slice(&bytes[start..end]);
        *key = u64::from_be_bytes(chunk) as i64;
    }
    keys
}

/// A write time as the integer payload holds it (validated times are far below `i64::MAX`).
pub fn stored_time(written_at_ms: u64) -> i64 {
    i64::try_from(written_at_ms).unwrap_or(i64::MAX)
}

/// The content hash of a vector, shared with the other stores: see [`vectorstore_core::vector_hash`].
pub use vectorstore_core::vector_hash;

/// The payload of a record.
pub fn payload(id: &str, vector: &[f32], extractor_version: u32, written_at_ms: u64, metric: Metric) -> Payload {
    let mut payload = Payload::with_capacity(5 + SORT_LEVELS);
    payload.insert(ID_FIELD, id);
    payload.insert(HASH_FIELD, vector_hash(vector));
    payload.insert(VERSION_FIELD, i64::from(extractor_version));
    payload.insert(WRITTEN_FIELD, stored_time(written_at_ms));
    for (field, key) in SORT_FIELDS.iter().zip(sort_keys(id)) {
        payload.insert(*field, key);
    }
    if metric == Metric::Cosine {
        payload.insert(RAW_VECTOR_FIELD, encode_vector(vector));
    }
    payload
}

/// The payload fields a read of whole records needs.
pub fn record_fields(metric: Metric) -> Vec<String> {
    let mut fields = vec![ID_FIELD.to_owned(), VERSION_FIELD.to_owned(), WRITTEN_FIELD.to_owned()];
    if metric == Metric::Cosine {
        fields.push(RAW_VECTOR_FIELD.to_owned());
    }
    fields
}

/// Whether a read of whole records needs Qdrant's stored vector (not for cosine, where it is
/// normalised and the payload keeps the original).
pub fn needs_stored_vector(metric: Metric) -> bool {
    metric != Metric::Cosine
}

/// A vector as the payload keeps it for cosine kinds: base64 of little-endian `f32`, bit for bit.
pub fn encode_vector(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    BASE64.encode(bytes)
}

/// The payload's base64 back to the vector; `None` when it is not base64 of whole `f32`s.
pub fn decode_vector(text: &str) -> Option<Vec<f32>> {
    let bytes = BASE64.decode(text).ok()?;
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// The caller's id stored in a point's payload.
pub fn stored_id(payload: &HashMap<String, Value>) -> Option<&str> {
    payload.get(ID_FIELD).and_then(Value::as_str).map(String::as_str)
}

/// A retrieved point as a record of `kind`; a point that lacks what this store writes is a
/// `Backend` error (the collection holds foreign or damaged data).
pub fn record(kind: &str, meta: KindMeta, point: RetrievedPoint) -> Result<VectorRecord> {
    let damaged = |what: &str| {
        Error::new(
            ErrorKind::Backend,
            format!("a point of kind {kind:?} in Qdrant has {what}; was it written by another program?"),
        )
    };
    let id = stored_id(&point.payload).ok_or_else(|| damaged("no id"))?.to_owned();
    let version = point
        .payload
        .get(VERSION_FIELD)
        .and_then(Value::as_integer)
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v >= 1)
        .ok_or_else(|| damaged("no valid extractor_version"))?;
    // Absent only on a point of a version-1 collection not yet upgraded.
    let written_at_ms = match point.payload.get(WRITTEN_FIELD).map(Value::as_integer) {
        None => 0,
        Some(time) => {
            time.and_then(|time| u64::try_from(time).ok()).ok_or_else(|| damaged("an invalid written_at_ms"))?
        }
    };
    let vector = if meta.metric == Metric::Cosine {
        point.payload.get(RAW_VECTOR_FIELD).and_then(Value::as_str).and_then(|text| decode_vector(text))
    } else {
        point.vectors.and_then(|vectors| vectors.get_vector()).and_then(|vector| match vector {
            OutputVector::Dense(dense) => Some(dense.data),
            _ => None,
        })
    }
    .ok_or_else(|| damaged("no readable vector"))?;
    if vector.len() != meta.dim {
        return Err(damaged(&format!("a vector of {} components, the kind has {}", vector.len(), meta.dim)));
    }
    Ok(VectorRecord { kind: kind.to_owned(), id, dim: meta.dim, vector, extractor_version: version, written_at_ms })
}

/// The dense vector Qdrant stores for a point read with its vectors (normalised under cosine).
pub(crate) fn stored_vector(point: &RetrievedPoint) -> Option<Vec<f32>> {
    point.vectors.clone().and_then(|vectors| vectors.get_vector()).and_then(|vector| match vector {
        OutputVector::Dense(dense) => Some(dense.data),
        _ => None,
    })
}

/// The Qdrant distance that serves `metric`.
pub fn distance_of(metric: Metric) -> Distance {
    match metric {
        Metric::L2 => Distance::Euclid,
        Metric::Cosine => Distance::Cosine,
        Metric::Dot => Distance::Dot,
    }
}

/// The contract's distance for a Qdrant score: Euclid scores are distances already, Cosine and
/// Dot scores are similarities.
pub fn distance_from_score(metric: Metric, score: f32) -> f32 {
    let distance = match metric {
        Metric::L2 => score,
        Metric::Cosine => 1.0 - score.clamp(-1.0, 1.0),
        Metric::Dot => -score,
    };
    distance + 0.0
}

/// How far the distance from a Qdrant score may lie from the contract kernel's distance for the
/// same point, as searches that cut by one and report the other allow for: Qdrant computes its
/// scores in its own order of operations (cosine over unit vectors it rounded when storing
/// them), so vectors that tie exactly in the kernel differ by a few units in the last place.
/// Twice a relative 1e-5 (at least 1e-5 absolute): a margin for single-precision sums of a few
/// hundred terms, not a proof for every cancellation.
pub fn score_slack(distance: f32) -> f32 {
    if distance.is_finite() { 2e-5 * distance.abs().max(1.0) } else { 0.0 }
}

/// A score threshold that keeps every point within `max_distance` and a little beyond (the
/// exact, inclusive bound is applied to the converted distances afterwards), or `None` when it
/// would not prune anything.
pub fn loose_score_threshold(metric: Metric, max_distance: f32) -> Option<f32> {
    if !max_distance.is_finite() {
        return None;
    }
    let slack = 1e-3 * max_distance.abs().max(1.0);
    let threshold = match metric {
        Metric::L2 => max_distance + slack,
        Metric::Cosine => 1.0 - (max_distance + slack),
        Metric::Dot => -(max_distance + slack),
    };
    threshold.is_finite().then_some(threshold)
}

/// The request that creates the collection of `kind`, described in its metadata. Its records
/// get no HNSW graph (`m = 0`): searches go through the companion, and the records' vectors
/// serve exact scans and filters, so loads do not build two graphs.
pub fn create_collection(name: &str, kind: &str, meta: KindMeta, options: &QdrantConfig) -> CreateCollection {
    let metadata: HashMap<String, Value> = [
        (META_SCHEMA.to_owned(), Value::from(i64::from(SCHEMA_VERSION))),
        (META_KIND.to_owned(), Value::from(kind)),
        (META_METRIC.to_owned(), Value::from(meta.metric.as_str())),
    ]
    .into();
    collection_request(name, meta, options, Some(0), metadata)
}

/// The request that creates the companion of `kind`: the kind's vectors, the configured HNSW
/// graph, and metadata naming the kind (`complete` for a new kind, which holds no vector yet).
pub fn create_companion(
    name: &str,
    kind: &str,
    meta: KindMeta,
    options: &QdrantConfig,
    complete: bool,
) -> CreateCollection {
    let metadata: HashMap<String, Value> = [
        (META_SCHEMA.to_owned(), Value::from(i64::from(SCHEMA_VERSION))),
        (META_DISTINCT_OF.to_owned(), Value::from(kind)),
        (META_COMPLETE.to_owned(), Value::from(complete)),
    ]
    .into();
    collection_request(name, meta, options, options.hnsw_m, metadata)
}

/// Whether a companion's info says it is the complete companion of `kind`; `None` when it is
/// not a companion of `kind` at all (another store's collection).
pub fn companion_state(kind: &str, info: &CollectionInfo) -> Option<bool> {
    let config = info.config.as_ref()?;
    if config.metadata.get(META_DISTINCT_OF).and_then(Value::as_str).map(String::as_str) != Some(kind) {
        return None;
    }
    Some(config.metadata.get(META_COMPLETE).and_then(Value::as_bool).unwrap_or(false))
}

fn collection_request(
    name: &str,
    meta: KindMeta,
    options: &QdrantConfig,
    hnsw_m: Option<u64>,
    metadata: HashMap<String, Value>,
) -> CreateCollection {
    let mut vectors = VectorParamsBuilder::new(meta.dim as u64, distance_of(meta.metric));
    if options.on_disk {
        // `on_disk` is what servers before 1.19 understand; newer ones prefer `memory`, which
        // overrides it when both are set.
        vectors = vectors.on_disk(true).memory(qdrant::Memory::Cold);
    }
    let mut request = CreateCollectionBuilder::new(name).vectors_config(vectors);
    if hnsw_m.is_some() || options.hnsw_ef_construct.is_some() {
        let mut hnsw = HnswConfigDiffBuilder::default();
        if let Some(m) = hnsw_m {
            hnsw = hnsw.m(m);
        }
        if let Some(ef) = options.hnsw_ef_construct {
            hnsw = hnsw.ef_construct(ef);
        }
        request = request.hnsw_config(hnsw);
    }
    if let Some(shards) = options.shard_number {
        request = request.shard_number(shards);
    }
    if let Some(replicas) = options.replication_factor {
        request = request.replication_factor(replicas);
    }
    if let Some(factor) = options.write_consistency_factor() {
        request = request.write_consistency_factor(factor);
    }
    // Set on the message: the builder only takes metadata as serde_json values.
    let mut request = request.build();
    request.metadata = metadata;
    request
}

/// Whether a collection carries this store's metadata.
pub fn is_ours(info: &CollectionInfo) -> bool {
    info.config.as_ref().is_some_and(|config| config.metadata.contains_key(META_SCHEMA))
}

/// The kind described by a collection's info, with the schema version it records: dimension
/// and distance from its vector parameters, schema version and metric from its metadata. `None` when the collection is not
/// this store's collection of `kind` (no metadata of ours, or another kind: a longer prefix's).
///
/// A newer schema version, or metadata that contradicts the collection, is `IncompatibleSchema`.
pub fn kind_meta(name: &str, kind: &str, info: &CollectionInfo) -> Result<Option<Layout>> {
    let Some(config) = info.config.as_ref() else { return Ok(None) };
    let Some(version) = config.metadata.get(META_SCHEMA).and_then(Value::as_integer) else { return Ok(None) };
    if config.metadata.get(META_KIND).and_then(Value::as_str).map(String::as_str) != Some(kind) {
        return Ok(None);
    }
    let incompatible =
        |why: String| Error::new(ErrorKind::IncompatibleSchema, format!("Qdrant collection {name:?} {why}"));
    if version > i64::from(SCHEMA_VERSION) || version < 1 {
        return Err(incompatible(format!(
            "was written by schema version {version}; this build knows versions 1 to {SCHEMA_VERSION}"
        )));
    }
    let metric: Metric = config
        .metadata
        .get(META_METRIC)
        .and_then(Value::as_str)
        .and_then(|metric| metric.parse().ok())
        .ok_or_else(|| incompatible("names no known metric".to_owned()))?;
    let params = config
        .params
        .as_ref()
        .and_then(|params| params.vectors_config.as_ref())
        .and_then(|vectors| vectors.config.as_ref());
    let Some(vectors_config::Config::Params(params)) = params else {
        return Err(incompatible("has no single unnamed vector".to_owned()));
    };
    if params.distance != distance_of(metric) as i32 {
        return Err(incompatible(format!("searches with another distance than its metric {metric}")));
    }
    let dim = usize::try_from(params.size).map_err(|_| incompatible("has an impossible vector size".to_owned()))?;
    Ok(Some(Layout { meta: KindMeta::new(dim, metric), version }))
}

/// Whether the collection has every sort-key index (built by the first scan that needs them).
pub fn has_sort_indexes(info: &CollectionInfo) -> bool {
    SORT_FIELDS.iter().all(|field| info.payload_schema.contains_key(*field))
}

/// Integer index parameters for `field`: the version and the vector hash only need equality;
/// sort keys also need ranges, which ordered scrolls require; the write time only ranges.
pub fn index_params(field: &str) -> qdrant::IntegerIndexParams {
    qdrant::IntegerIndexParamsBuilder::new(field != WRITTEN_FIELD, field != VERSION_FIELD && field != HASH_FIELD)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_like_bytes() {
        let mut ids = vec![
            "a",
            "ab",
            "a\u{1}",
            "b",
            "s-000001",
            "s-000001x",
            "s-000002",
            "é",
            "🦀",
            "\u{7f}",
            "aaaaaaaabbbbbbbbc",
            "aaaaaaaabbbbbbbb",
            "aaaaaaaabbbbbbbbccccccccddddddddz",
            "aaaaaaaabbbbbbbbccccccccdddddddd",
        ];
        ids.sort();
        let mut by_keys = ids.clone();
        by_keys.sort_by(|a, b| sort_keys(a).cmp(&sort_keys(b)).then_with(|| a.cmp(b)));
        assert_eq!(ids, by_keys);
        for pair in ids.windows(2) {
            assert!(sort_keys(pair[0]) <= sort_keys(pair[1]), "{pair:?}");
        }
        let max = sort_keys(&"\u{10ffff}".repeat(10));
        assert!(max.iter().all(|k| *k >= 0 && *k < 1 << 53), "keys must be exact as f64: {max:?}");
    }

    #[test]
    fn point_ids_are_stable_and_distinct() {
        assert_eq!(point_uuid("ja3", "a"), point_uuid("ja3", "a"));
        assert_ne!(point_uuid("ja3", "a"), point_uuid("ja3", "b"));
        assert_ne!(point_uuid("ja", "3a"), point_uuid("ja3", "a"));
        assert_eq!(point_uuid("ja3", "a").get_version_num(), 5);
    }

    #[test]
    fn raw_vectors_round_trip_bit_exact() {
        let v = [-0.0, f32::MIN_POSITIVE, f32::from_bits(1), f32::MAX, f32::MIN, 0.1];
        let back = decode_vector(&encode_vector(&v)).unwrap();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn scores_become_contract_distances() {
        assert_eq!(distance_from_score(Metric::L2, 5.0), 5.0);
        assert_eq!(distance_from_score(Metric::Cosine, 1.0000001), 0.0);
        assert_eq!(distance_from_score(Metric::Dot, 32.0), -32.0);
        assert!(distance_from_score(Metric::Dot, 0.0).is_sign_positive());
        assert_eq!(loose_score_threshold(Metric::L2, f32::INFINITY), None);
        assert!(loose_score_threshold(Metric::Cosine, 0.5).unwrap() < 0.5);
    }

    #[test]
    fn kinds_are_read_back_from_collection_names() {
        assert_eq!(kind_of_collection("decnet_", "decnet_ja3"), Some("ja3"));
        assert_eq!(kind_of_collection("decnet_", "other_ja3"), None);
        assert_eq!(kind_of_collection("decnet_", "decnet_Bad"), None);
        assert_eq!(kind_of_collection("decnet_", &companion_name("decnet_", "ja3")), None, "a companion is no kind");
    }

    #[test]
    fn companion_points_are_addressed_by_their_vector_hash() {
        for vector in [[1.0f32, 2.0], [-0.0, 0.0], [f32::MAX, f32::MIN_POSITIVE]] {
            let hash = vector_hash(&vector);
            assert_eq!(hash_of_distinct_point(&distinct_point_id(hash)), Some(hash), "{vector:?}");
        }
        assert_ne!(distinct_point_id(vector_hash(&[0.0, 0.0])), distinct_point_id(vector_hash(&[-0.0, 0.0])));
        assert_eq!(hash_of_distinct_point(&point_id("ja3", "a")), None, "record points are UUIDs");
    }
}
