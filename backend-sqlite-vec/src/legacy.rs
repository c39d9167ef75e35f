//! Adopting the file of the original (Python) sqlite-vec store.
//!
//! The original kept `vectors(kind, id, extractor_version, dim, rowid_in_vec, PRIMARY KEY
//! (kind, id))` and one `vec_<kind>` table `USING vec0(embedding float[dim])` per kind, whose
//! rowid is `rowid_in_vec`, always searched with l2. Adoption copies every kind (with its
//! dimension, read from the vec0 definition so that an emptied kind keeps it) and every record
//! (id verbatim, extractor version, the vector's exact bits) into the current layout, in the
//! caller's one write transaction, and records that it happened in `vectorstore_meta`. The
//! original tables are only read.
//!
//! What cannot be adopted as it is (see [`Problem`]) makes the whole adoption fail with a
//! `Config` error listing it, unless the caller asked to skip it; a kind whose name the current
//! rules reject is adopted under [`legacy_kind_name`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};
use vectorstore_core::fnv1a;
use vectorstore_core::limits::{MAX_DIM, MAX_KINDS};
use vectorstore_core::validate::{self, shown};
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, Result};

use crate::config::METRICS;
use crate::error::operation_error;
use crate::layout::{self, META_TABLE};
use crate::records::{self, NewRow};

/// The original's table of records.
const LEGACY_TABLE: &str = "vectors";

/// Prefix of the original's vec0 table of a kind.
const LEGACY_PREFIX: &str = "vec_";

/// `vectorstore_meta` key recording that the file's original tables were adopted (its value
/// is the Unix time of the adoption).
pub(crate) const ADOPTED_KEY: &str = "legacy_adopted";

/// `vectorstore_meta` key holding the adoption's summary (kinds, counts, renames, skips).
const SUMMARY_KEY: &str = "legacy_adoption";

/// Prefix of the `vectorstore_meta` keys recording a renamed kind: `legacy_name:<original>`
/// holds the name it was adopted under.
const RENAMED_KEY_PREFIX: &str = "legacy_name:";

/// Records read and written per step when adopting a kind.
const BATCH: usize = 1024;

/// Problems listed one by one in an error or a warning; the rest are counted.
const LISTED_RECORD_PROBLEMS: usize = 20;

/// The kind under which a kind of the original store is adopted: the kind itself when the
/// current rules (`^[a-z][a-z0-9_]{0,47}$`) accept it, else
/// `legacy_<slug>_<hash>`, where `<slug>` is the kind's ASCII letters (lowercased), digits and
/// `_`, in order, cut to 32 characters, and `<hash>` the 32-bit FNV-1a hash of the kind's
/// UTF-8 bytes in 8 lowercase hex digits. `JA3` becomes `legacy_ja3_<hash>`, `Größe`
/// `legacy_gre_<hash>`; the hash keeps `JA3` and `Ja3` apart. The result always passes the
/// current rules.
pub fn legacy_kind_name(kind: &str) -> String {
    if validate::kind(kind).is_ok() {
        return kind.to_owned();
    }
    let slug: String = kind
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .take(32)
        .collect();
    let name = format!("legacy_{slug}_{:08x}", fnv1a::hash32(kind.as_bytes()));
    debug_assert!(validate::kind(&name).is_ok(), "{name}");
    name
}

/// What was adopted by one open of a file holding the original (Python) store's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAdoption {
    /// Every adopted kind, sorted by its original name.
    pub kinds: Vec<AdoptedKind>,
    /// What could not be adopted and was skipped (only with
    /// `DECNET_VECTORSTORE_SQLITE_VEC_LEGACY_SKIP_INVALID=true`); it stays in the original
    /// tables.
    pub skipped: Vec<String>,
    /// True when the data was adopted into a private in-memory copy (read-only mode) rather
    /// than into the file.
    pub in_memory: bool,
}

impl LegacyAdoption {
    /// Records adopted, over every kind.
    pub fn records(&self) -> u64 {
        self.kinds.iter().map(|k| k.records).sum()
    }
}

impl fmt::Display for LegacyAdoption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kinds, {} records:", self.kinds.len(), self.records())?;
        for (index, kind) in self.kinds.iter().enumerate() {
            let separator = if index == 0 { " " } else { ", " };
            write!(f, "{separator}{kind}")?;
        }
        if !self.skipped.is_empty() {
            write!(f, "; skipped {}: {}", self.skipped.len(), self.skipped.join("; "))?;
        }
        Ok(())
    }
}

/// One kind adopted from the original store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptedKind {
    /// Its name in the original store.
    pub legacy: String,
    /// Its name now: the same, or [`legacy_kind_name`] of it when the current rules reject it.
    pub kind: String,
    /// Its dimension.
    pub dim: usize,
    /// Its metric (l2: the only one the original searched with).
    pub metric: Metric,
    /// Records adopted.
    pub records: u64,
    /// Records not adopted because the current layout already held their id in this kind
    /// (written by this store after the original stopped, so newer).
    pub superseded: u64,
}

impl fmt::Display for AdoptedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == self.legacy {
            write!(f, "{}", self.kind)?;
        } else {
            write!(f, "{:?} as {}", self.legacy, self.kind)?;
        }
        write!(f, " (dim {}, {} records", self.dim, self.records)?;
        if self.superseded > 0 {
            write!(f, ", {} superseded by newer records", self.superseded)?;
        }
        f.write_str(")")
    }
}

/// The connections adoption reads from and writes to: one and the same (adoption into the
/// file, in its write transaction), or the file and an in-memory copy (read-only mode).
pub(crate) enum Conns<'a> {
    /// Read and write the same connection.
    Same(&'a mut SqliteConnection),
    /// Read `src`, write `dst`.
    Split {
        /// The file.
        src: &'a mut SqliteConnection,
        /// The in-memory copy.
        dst: &'a mut SqliteConnection,
    },
}

impl Conns<'_> {
    fn src(&mut self) -> &mut SqliteConnection {
        match self {
            Conns::Same(conn) => conn,
            Conns::Split { src, .. } => src,
        }
    }

    fn dst(&mut self) -> &mut SqliteConnection {
        match self {
            Conns::Same(conn) => conn,
            Conns::Split { dst, .. } => dst,
        }
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// SQL naming the original's tables: sound because every name is quoted with [`quoted`].
fn sql(text: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(text)
}

fn read_error(err: sqlx::Error) -> Error {
    operation_error(err, "legacy adoption")
}

/// True when the file has the original store's `vectors` table (with its columns).
pub(crate) async fn has_legacy_layout(conn: &mut SqliteConnection) -> Result<bool> {
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?1)")
        .bind(LEGACY_TABLE)
        .fetch_all(&mut *conn)
        .await
        .map_err(read_error)?;
    Ok(["kind", "id", "extractor_version", "dim", "rowid_in_vec"].iter().all(|c| columns.iter().any(|n| n == c)))
}

/// True when the file records that its original tables were adopted.
pub(crate) async fn adopted(conn: &mut SqliteConnection) -> Result<bool> {
    let meta: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")
        .bind(META_TABLE)
        .fetch_one(&mut *conn)
        .await
        .map_err(read_error)?;
    if meta == 0 {
        return Ok(false);
    }
    let found: i64 = sqlx::query_scalar(sql(format!("SELECT count(*) FROM {META_TABLE} WHERE key = ?1")))
        .bind(ADOPTED_KEY)
        .fetch_one(&mut *conn)
        .await
        .map_err(read_error)?;
    Ok(found > 0)
}

/// True when the file holds the original store's tables and they were not adopted yet.
pub(crate) async fn pending(conn: &mut SqliteConnection) -> Result<bool> {
    Ok(has_legacy_layout(conn).await? && !adopted(conn).await?)
}

/// Why something of the original store cannot be adopted as it is.
#[derive(Debug)]
enum Problem {
    /// A whole kind.
    Kind(String),
    /// One record.
    Record(String),
}

/// A vec0 table of the original store: its name, and its dimension and metric or why they
/// cannot be had.
type LegacyTable = (String, std::result::Result<(usize, Metric), String>);

/// A kind of the original store, as found in its tables.
#[derive(Debug)]
struct LegacyKind {
    /// Its vec0 table, if it has one.
    table: Option<LegacyTable>,
    /// Records in `vectors`.
    records: u64,
}

/// Dimension and metric of a vec0 definition such as `CREATE VIRTUAL TABLE vec_ja3 USING
/// vec0(embedding float[4])` (a `distance_metric=` of l2 or cosine is honoured).
fn parse_vec0(definition: &str) -> std::result::Result<(usize, Metric), String> {
    let lower = definition.to_ascii_lowercase();
    let unreadable = || format!("its vec0 definition {:?} has no `embedding float[N]` column", shown(definition));
    let open = lower.find("vec0(").ok_or_else(unreadable)?;
    let close = lower.rfind(')').filter(|close| *close > open).ok_or_else(unreadable)?;
    let column = lower[open + 5..close]
        .split(',')
        .map(str::trim)
        .find(|column| column.split_whitespace().next() == Some("embedding"))
        .ok_or_else(unreadable)?;
    let start = column.find("float[").ok_or_else(unreadable)? + "float[".len();
    let end = column[start..].find(']').ok_or_else(unreadable)? + start;
    let dim: usize = column[start..end].trim().parse().map_err(|_| unreadable())?;
    if !(1..=MAX_DIM).contains(&dim) {
        return Err(format!("its dimension {dim} is outside 1..={MAX_DIM}"));
    }
    let metric = match column.find("distance_metric") {
        None => Metric::L2,
        Some(at) => {
            let value = column[at + "distance_metric".len()..].trim_start().trim_start_matches('=').trim_start();
            let value: String = value.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            match value.parse::<Metric>() {
                Ok(metric) if METRICS.contains(&metric) => metric,
                _ => return Err(format!("its distance metric {value:?} is not supported")),
            }
        }
    };
    Ok((dim, metric))
}

/// Every kind of the original store: those with records in `vectors` and those with a vec0
/// table (an emptied kind has only its table), keyed by name. Records whose kind is not text
/// are reported as problems.
///
/// SQLite compares table names without regard to ASCII case, so the original gave kinds that
/// differ only so (`JA3`, `ja3`) one `vec_` table, each kind's rows told apart by
/// `rowid_in_vec`: tables are matched to kinds the same way, and a table names an emptied kind
/// only when no kind with records uses it.
async fn legacy_kinds(
    conn: &mut SqliteConnection,
    problems: &mut Vec<Problem>,
) -> Result<BTreeMap<String, LegacyKind>> {
    let mut tables: BTreeMap<String, LegacyTable> = BTreeMap::new();
    let found = sqlx::query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) = 'vec_' \
         AND sql LIKE 'CREATE VIRTUAL TABLE%'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    for row in found {
        let name: String = row.try_get(0).map_err(read_error)?;
        let definition: String = row.try_get(1).map_err(read_error)?;
        if definition.to_ascii_lowercase().contains("vec0(") {
            let parsed = parse_vec0(&definition);
            tables.insert(name.to_ascii_lowercase(), (name, parsed));
        }
    }
    let table_of = |kind: &str| format!("{LEGACY_PREFIX}{kind}").to_ascii_lowercase();
    let mut kinds: BTreeMap<String, LegacyKind> = BTreeMap::new();
    let counted = sqlx::query(sql(format!(
        "SELECT CAST(kind AS BLOB), typeof(kind), count(*) FROM {LEGACY_TABLE} GROUP BY kind ORDER BY kind"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    for row in counted {
        let bytes: Option<Vec<u8>> = row.try_get(0).map_err(read_error)?;
        let kind_type: String = row.try_get(1).map_err(read_error)?;
        let count: i64 = row.try_get(2).map_err(read_error)?;
        match (kind_type.as_str(), bytes.map(String::from_utf8)) {
            ("text", Some(Ok(kind))) => {
                let table = tables.get(&table_of(&kind)).cloned();
                kinds.insert(kind, LegacyKind { table, records: count as u64 });
            }
            _ => problems.push(Problem::Kind(format!(
                "{count} records of `{LEGACY_TABLE}` have a kind that is not UTF-8 text ({kind_type})"
            ))),
        }
    }
    let used: std::collections::HashSet<String> = kinds.keys().map(|kind| table_of(kind)).collect();
    for (key, (name, parsed)) in tables {
        if !used.contains(&key) {
            let kind = name[LEGACY_PREFIX.len()..].to_owned();
            kinds.insert(kind, LegacyKind { table: Some((name, parsed)), records: 0 });
        }
    }
    Ok(kinds)
}

/// One record of the original store that can be adopted.
struct Adoptable {
    id: String,
    blob: Vec<u8>,
    extractor_version: u32,
}

/// Reads the records of `kind` (of dimension `dim`), sorted by id, keeping those that can be
/// adopted and reporting the others.
async fn read_records(
    conn: &mut SqliteConnection,
    kind: &str,
    table: &str,
    dim: usize,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Adoptable>> {
    let table = quoted(table);
    let rows = sqlx::query(sql(format!("SELECT rowid, embedding FROM {table}")))
        .fetch_all(&mut *conn)
        .await
        .map_err(read_error)?;
    let mut vectors: HashMap<i64, Vec<u8>> = HashMap::with_capacity(rows.len());
    for row in rows {
        let rowid: i64 = row.try_get(0).map_err(read_error)?;
        let blob: Option<Vec<u8>> = row.try_get(1).map_err(read_error)?;
        vectors.insert(rowid, blob.unwrap_or_default());
    }
    let rows = sqlx::query(sql(format!(
        "SELECT CAST(id AS BLOB), typeof(id), CAST(extractor_version AS INTEGER), typeof(extractor_version), \
         CAST(dim AS INTEGER), CAST(rowid_in_vec AS INTEGER) FROM {LEGACY_TABLE} \
         WHERE kind = ?1 AND typeof(kind) = 'text' ORDER BY id"
    )))
    .bind(kind)
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let id_bytes: Option<Vec<u8>> = row.try_get(0).map_err(read_error)?;
        let id_type: String = row.try_get(1).map_err(read_error)?;
        let version: Option<i64> = row.try_get(2).map_err(read_error)?;
        let version_type: String = row.try_get(3).map_err(read_error)?;
        let record_dim: Option<i64> = row.try_get(4).map_err(read_error)?;
        let rowid: Option<i64> = row.try_get(5).map_err(read_error)?;
        let shown_id = match &id_bytes {
            Some(bytes) => shown(&String::from_utf8_lossy(bytes)),
            None => "NULL".to_owned(),
        };
        let mut reject = |reason: String| {
            problems.push(Problem::Record(format!("kind {kind:?}, id {shown_id:?}: {reason}")));
        };
        let id = match (id_type.as_str(), id_bytes.map(String::from_utf8)) {
            ("text", Some(Ok(id))) => id,
            ("text", _) => {
                reject("the id is not valid UTF-8".to_owned());
                continue;
            }
            (other, _) => {
                reject(format!("the id is a(n) {other} value, not text"));
                continue;
            }
        };
        if let Err(err) = validate::id(&id) {
            reject(err.message().to_owned());
            continue;
        }
        let extractor_version = match version.map(u32::try_from) {
            Some(Ok(version)) if version_type == "integer" && version >= 1 => version,
            _ => {
                reject(format!("extractor_version {version:?} ({version_type}) is not an integer in 1..=4294967295"));
                continue;
            }
        };
        if record_dim != Some(dim as i64) {
            reject(format!("its recorded dimension {record_dim:?} differs from the kind's {dim}"));
            continue;
        }
        let Some(blob) = rowid.and_then(|rowid| vectors.remove(&rowid)) else {
            reject(format!("its vector (rowid {rowid:?}) is missing from {table}"));
            continue;
        };
        let vector = match layout::decode_vector(&blob, dim, kind) {
            Ok(vector) => vector,
            Err(err) => {
                reject(err.message().to_owned());
                continue;
            }
        };
        if let Err(err) = validate::vector(&vector) {
            reject(err.message().to_owned());
            continue;
        }
        // The stored bytes themselves: the exact bits, NaN payloads and -0.0 included.
        records.push(Adoptable { id, blob, extractor_version });
    }
    Ok(records)
}

/// Adopts the original store's tables read from `conns.src()` into the current layout of
/// `conns.dst()`. Nothing is committed here: the caller runs this inside one transaction on
/// `dst` (the write transaction that found the adoption pending) and commits it, or drops it
/// on error. `Config` error, listing every problem, when something cannot be adopted as it is
/// and `skip_invalid` is false.
pub(crate) async fn adopt(
    conns: &mut Conns<'_>,
    path: &Path,
    skip_invalid: bool,
    in_memory: bool,
) -> Result<LegacyAdoption> {
    let mut problems = Vec::new();
    let kinds = legacy_kinds(conns.src(), &mut problems).await?;

    // Where each kind goes, and which of them would land on the same name.
    let mut targets: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for name in kinds.keys() {
        targets.entry(legacy_kind_name(name)).or_default().push(name);
    }
    let current: HashMap<String, KindInfo> =
        layout::kind_rows(conns.dst()).await?.into_iter().map(|info| (info.kind.clone(), info)).collect();
    let mut total_kinds = current.len();

    let mut adoption = LegacyAdoption { kinds: Vec::new(), skipped: Vec::new(), in_memory };
    for (name, legacy) in &kinds {
        let target = legacy_kind_name(name);
        let kind_problem = |reason: String| {
            let renamed = if target == *name { String::new() } else { format!(" (to be adopted as {target})") };
            Problem::Kind(format!("kind {:?}{renamed}: {reason}", shown(name)))
        };
        let others: Vec<String> = targets[&target]
            .iter()
            .filter(|other| **other != name)
            .map(|other| format!("{:?}", shown(other)))
            .collect();
        let (table, dim, metric) = match &legacy.table {
            _ if !others.is_empty() => {
                problems.push(kind_problem(format!("its name collides with kind {}", others.join(", "))));
                continue;
            }
            None => {
                problems
                    .push(kind_problem(format!("its {} records have no table {LEGACY_PREFIX}{name}", legacy.records)));
                continue;
            }
            Some((_, Err(reason))) => {
                problems.push(kind_problem(reason.clone()));
                continue;
            }
            Some((table, Ok((dim, metric)))) => (table, *dim, *metric),
        };
        let existing = current.get(&target);
        if let Some(info) = existing
            && (info.dim != dim || info.metric != metric)
        {
            problems.push(kind_problem(format!(
                "the current layout already has kind {target} with dim {} and metric {}, the original's has dim \
                 {dim} and metric {metric}",
                info.dim, info.metric
            )));
            continue;
        }
        if existing.is_none() && total_kinds >= MAX_KINDS {
            problems.push(kind_problem(format!("the store would exceed its limit of {MAX_KINDS} kinds")));
            continue;
        }
        let records = read_records(conns.src(), name, table, dim, &mut problems).await?;
        let mut adopted =
            AdoptedKind { legacy: name.clone(), kind: target.clone(), dim, metric, records: 0, superseded: 0 };
        // Writing stops at the first problem (the transaction will be dropped) unless problems
        // are skipped; reading goes on, so that every problem is reported.
        if !problems.is_empty() && !skip_invalid {
            continue;
        }
        if existing.is_none() {
            layout::create_kind(conns.dst(), &target, dim, metric).await?;
            total_kinds += 1;
        }
        // The original kept no write times: adopted records count as written now.
        let now = vectorstore_core::now_ms();
        for batch in records.chunks(BATCH) {
            let stored = if existing.is_some() {
                let ids: Vec<&str> = batch.iter().map(|r| r.id.as_str()).collect();
                records::existing_ids(conns.dst(), &target, &ids).await?
            } else {
                Default::default()
            };
            let rows: Vec<NewRow<'_>> = batch
                .iter()
                .filter(|r| !stored.contains(&r.id))
                .map(|r| NewRow {
                    id: &r.id,
                    blob: r.blob.clone(),
                    extractor_version: r.extractor_version,
                    written_at_ms: now,
                })
                .collect();
            records::insert_new(conns.dst(), &target, &rows).await?;
            adopted.records += rows.len() as u64;
            adopted.superseded += (batch.len() - rows.len()) as u64;
        }
        // Processes keeping a copy of the kind see it changed.
        layout::bump_counter(conns.dst(), &target).await?;
        adoption.kinds.push(adopted);
    }

    if !problems.is_empty() && !skip_invalid {
        return Err(refusal(path, &problems));
    }
    adoption.skipped = listed(&problems);
    record(conns.dst(), &adoption).await?;
    Ok(adoption)
}

/// Every kind problem and the first record problems, then a count of the rest.
fn listed(problems: &[Problem]) -> Vec<String> {
    let mut lines: Vec<String> =
        problems.iter().filter_map(|p| if let Problem::Kind(line) = p { Some(line.clone()) } else { None }).collect();
    let records: Vec<&String> =
        problems.iter().filter_map(|p| if let Problem::Record(line) = p { Some(line) } else { None }).collect();
    lines.extend(records.iter().take(LISTED_RECORD_PROBLEMS).map(|line| (*line).clone()));
    if records.len() > LISTED_RECORD_PROBLEMS {
        lines.push(format!("and {} more records", records.len() - LISTED_RECORD_PROBLEMS));
    }
    lines
}

fn refusal(path: &Path, problems: &[Problem]) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "the {} store at {} holds tables of the original (Python) store that cannot be adopted as they are, so \
             nothing was adopted and the store was not opened: {}. To proceed, correct these records in the \
             original table `{LEGACY_TABLE}` (or delete their rows there); or set \
             DECNET_VECTORSTORE_SQLITE_VEC_LEGACY_SKIP_INVALID=true to adopt everything else and leave these in the \
             original tables only (deleting the `{ADOPTED_KEY}` row of `{META_TABLE}` later makes the next open \
             adopt again)",
            crate::NAME,
            path.display(),
            listed(problems).join("; ")
        ),
    )
}

/// Records the adoption in `vectorstore_meta`: when, what, and the renamed kinds.
async fn record(conn: &mut SqliteConnection, adoption: &LegacyAdoption) -> Result<()> {
    let write = |e| operation_error(e, "legacy adoption");
    let insert = format!("INSERT OR REPLACE INTO {META_TABLE} (key, value) VALUES (?1, ?2)");
    sqlx::query(sql(insert.clone())).bind(ADOPTED_KEY).bind(layout::now()).execute(&mut *conn).await.map_err(write)?;
    sqlx::query(sql(insert.clone()))
        .bind(SUMMARY_KEY)
        .bind(adoption.to_string())
        .execute(&mut *conn)
        .await
        .map_err(write)?;
    for kind in adoption.kinds.iter().filter(|k| k.kind != k.legacy) {
        sqlx::query(sql(insert.clone()))
            .bind(format!("{RENAMED_KEY_PREFIX}{}", kind.legacy))
            .bind(&kind.kind)
            .execute(&mut *conn)
            .await
            .map_err(write)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec0_definitions_give_dimension_and_metric() {
        let parse = |sql: &str| parse_vec0(sql);
        assert_eq!(parse("CREATE VIRTUAL TABLE vec_ja3 USING vec0(embedding float[4])"), Ok((4, Metric::L2)));
        assert_eq!(parse("create virtual table \"vec_x\" using VEC0( embedding  FLOAT[ 12 ] )"), Ok((12, Metric::L2)));
        assert_eq!(
            parse("CREATE VIRTUAL TABLE v USING vec0(id text primary key, embedding float[3] distance_metric=cosine)"),
            Ok((3, Metric::Cosine))
        );
        assert_eq!(
            parse("CREATE VIRTUAL TABLE v USING vec0(embedding float[3] distance_metric = l2)"),
            Ok((3, Metric::L2))
        );
        for bad in [
            "CREATE VIRTUAL TABLE v USING vec0(embedding int8[4])",
            "CREATE VIRTUAL TABLE v USING vec0(other float[4])",
            "CREATE VIRTUAL TABLE v USING vec0(embedding float[0])",
            "CREATE VIRTUAL TABLE v USING vec0(embedding float[5000])",
            "CREATE VIRTUAL TABLE v USING vec0(embedding float[4] distance_metric=l1)",
            "CREATE VIRTUAL TABLE v USING fts5(embedding)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn legacy_kind_names_are_valid_deterministic_and_distinct() {
        assert_eq!(legacy_kind_name("ja3"), "ja3");
        assert_eq!(legacy_kind_name("cmd_ngram"), "cmd_ngram");
        let names = ["JA3", "Ja3", "jA3", "Größe", "指纹", "", "3des", "_x", &"k".repeat(49), &"Long".repeat(40)];
        let mut seen = std::collections::HashSet::new();
        for name in names {
            let adopted = legacy_kind_name(name);
            assert!(validate::kind(&adopted).is_ok(), "{name:?} -> {adopted:?}");
            assert!(adopted.starts_with("legacy_"), "{adopted}");
            assert_eq!(legacy_kind_name(name), adopted, "deterministic");
            assert!(seen.insert(adopted.clone()), "{name:?} -> {adopted:?} collides");
        }
        assert_eq!(legacy_kind_name("JA3"), format!("legacy_ja3_{:08x}", fnv1a::hash32(b"JA3")));
        assert!(legacy_kind_name("Größe").starts_with("legacy_gre_"));
    }
}
