//! Keyset pagination in id byte order, which Qdrant has no index for.
//!
//! Qdrant scrolls in point-id order (our point ids are hashes), or ordered by one numeric
//! payload field, and it has no range filter on strings. So every point carries its id's
//! [sort keys](crate::schema::sort_keys): bytes 0–5, 6–11, … 24–29 of the id as
//! order-preserving integers, each with an integer index. The ids after `after` are then found
//! level by level: a set of points sharing the first `n` keys is either small enough to be
//! read whole and sorted here (one call), or walked in order of key `n` with an ordered scroll
//! starting after `after`'s key, descending into a group of equal keys only when a page ends
//! inside it. Ids sharing their first 30 bytes form one group read whole.
//!
//! The five integer indexes are built by the first scan that needs an ordered scroll (a kind
//! with more ids than fit in one read), not when the kind is created: most kinds are never
//! scanned past a page, and building them costs creation time and memory.
//!
//! Cost: a page costs a few light scrolls that return only ids (typically three), plus one
//! read of the page's records, whatever the collection's size, as long as ids differ within
//! their first 30 bytes. Ids sharing a longer prefix are read in groups of that prefix.

use std::future::Future;
use std::pin::Pin;

use qdrant_client::qdrant::{Condition, Filter};
use vectorstore_core::{Error, ErrorKind, Result};

use crate::core::{Connection, Scroll, Scrolled};
use crate::schema::{ID_FIELD, SORT_FIELDS, SORT_LEVELS, sort_keys, stored_id};

/// Least number of points read when probing whether a set fits in one read.
const MIN_PROBE: usize = 100;

/// Points per call when a whole group must be read.
const GROUP_PAGE: usize = 1_000;

/// Up to `limit` ids of `collection` after `after` (byte order), in ascending order, and
/// whether the collection now has its sort indexes (`indexed` says whether it had them);
/// `None` when the collection does not exist.
pub(crate) async fn ids_after(
    connection: &Connection,
    collection: &str,
    after: Option<&str>,
    limit: usize,
    indexed: bool,
) -> Result<Option<(Vec<String>, bool)>> {
    let mut walk = Walk { connection, collection, limit, out: Vec::new(), missing: false, indexed, built: false };
    if limit > 0 {
        walk.collect(Vec::new(), after).await?;
    }
    Ok((!walk.missing).then_some((walk.out, walk.indexed)))
}

type Step<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

struct Walk<'a> {
    connection: &'a Connection,
    collection: &'a str,
    limit: usize,
    out: Vec<String>,
    missing: bool,
    /// The sort indexes are known to exist.
    indexed: bool,
    /// This walk built them (so a failure is not retried again).
    built: bool,
}

impl<'a> Walk<'a> {
    fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.out.len())
    }

    fn full(&self) -> bool {
        self.out.len() >= self.limit || self.missing
    }

    /// Appends, in order, the ids after `after` among the points whose first `fixed.len()`
    /// sort keys equal `fixed` (`after`, when given, shares those keys).
    fn collect<'s>(&'s mut self, fixed: Vec<i64>, after: Option<&'s str>) -> Step<'s> {
        Box::pin(async move {
            let level = fixed.len();
            if level == SORT_LEVELS {
                let ids = self.whole_group(&fixed).await?;
                self.emit(ids, after);
                return Ok(());
            }
            let probe = self.remaining().saturating_add(1).max(MIN_PROBE);
            let ids = self.ids(&fixed, None, probe).await?;
            if ids.len() < probe {
                self.emit(ids, after);
                return Ok(());
            }
            let mut from = i64::MIN;
            if let Some(after) = after {
                let key = sort_keys(after)[level];
                self.collect(with(&fixed, key), Some(after)).await?;
                match key.checked_add(1) {
                    Some(next) if !self.full() => from = next,
                    _ => return Ok(()),
                }
            }
            loop {
                let asked = self.remaining() + 1;
                let ids = self.ids(&fixed, Some((level, from)), asked).await?;
                let Some(last) = ids.last() else { return Ok(()) };
                let last_key = sort_keys(last)[level];
                // Every group but the last is complete; the last is too unless the page is full.
                let complete = ids.len() < asked;
                let mut group: Vec<String> = Vec::new();
                let mut group_key = None;
                for id in ids {
                    let key = sort_keys(&id)[level];
                    if group_key != Some(key) && !group.is_empty() {
                        self.emit(std::mem::take(&mut group), None);
                        if self.full() {
                            return Ok(());
                        }
                    }
                    group_key = Some(key);
                    group.push(id);
                }
                if complete {
                    self.emit(group, None);
                    return Ok(());
                }
                self.collect(with(&fixed, last_key), None).await?;
                match last_key.checked_add(1) {
                    Some(next) if !self.full() => from = next,
                    _ => return Ok(()),
                }
            }
        })
    }

    /// Sorts `ids` and appends those after `after` until the page is full.
    fn emit(&mut self, mut ids: Vec<String>, after: Option<&str>) {
        ids.sort_unstable();
        let remaining = self.remaining();
        self.out.extend(ids.into_iter().filter(|id| after.is_none_or(|after| id.as_str() > after)).take(remaining));
    }

    /// Up to `limit` ids of the set `fixed`: unordered, or ordered by the sort key of `level`
    /// from the value `from` on.
    async fn ids(&mut self, fixed: &[i64], order: Option<(usize, i64)>, limit: usize) -> Result<Vec<String>> {
        if order.is_some() && !self.indexed {
            self.build_indexes().await?;
        }
        loop {
            let scroll = Scroll {
                collection: self.collection,
                filter: filter(fixed),
                limit,
                offset: None,
                order_by: order.map(|(level, from)| (SORT_FIELDS[level], from)),
                fields: vec![ID_FIELD.to_owned()],
                with_vectors: false,
            };
            match self.connection.scroll(scroll).await? {
                Scrolled::Page(points, _) => {
                    return Ok(points.iter().filter_map(|p| stored_id(&p.payload).map(str::to_owned)).collect());
                }
                Scrolled::CollectionMissing => {
                    self.missing = true;
                    return Ok(Vec::new());
                }
                // Another process re-created the kind since its indexes were seen: build them.
                Scrolled::OrderIndexMissing if !self.built => self.build_indexes().await?,
                Scrolled::OrderIndexMissing => {
                    return Err(Error::new(
                        ErrorKind::Backend,
                        format!("Qdrant collection {:?} has no sort index even after creating it", self.collection),
                    ));
                }
            }
        }
    }

    /// Creates the sort indexes; only the last request waits, since a collection applies its
    /// updates in order.
    async fn build_indexes(&mut self) -> Result<()> {
        for (level, field) in SORT_FIELDS.iter().enumerate() {
            self.connection.create_index(self.collection, field, level + 1 == SORT_LEVELS).await?;
        }
        tracing::info!(collection = %self.collection, "built the sort indexes of a Qdrant collection");
        self.indexed = true;
        self.built = true;
        Ok(())
    }

    /// Every id of the set `fixed`, read page by page in point-id order.
    async fn whole_group(&mut self, fixed: &[i64]) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut offset = None;
        loop {
            let scroll = Scroll {
                collection: self.collection,
                filter: filter(fixed),
                limit: GROUP_PAGE,
                offset: offset.take(),
                order_by: None,
                fields: vec![ID_FIELD.to_owned()],
                with_vectors: false,
            };
            let (points, next) = match self.connection.scroll(scroll).await? {
                Scrolled::Page(points, next) => (points, next),
                Scrolled::CollectionMissing => {
                    self.missing = true;
                    return Ok(Vec::new());
                }
                Scrolled::OrderIndexMissing => {
                    return Err(Error::new(ErrorKind::Backend, "Qdrant asked for an index on an unordered scroll"));
                }
            };
            ids.extend(points.iter().filter_map(|p| stored_id(&p.payload).map(str::to_owned)));
            match next {
                Some(next) => offset = Some(next),
                None => return Ok(ids),
            }
        }
    }
}

fn with(fixed: &[i64], key: i64) -> Vec<i64> {
    let mut keys = fixed.to_vec();
    keys.push(key);
    keys
}

/// Points whose first sort keys equal `fixed` (exact integer matches).
fn filter(fixed: &[i64]) -> Option<Filter> {
    (!fixed.is_empty())
        .then(|| Filter::must(fixed.iter().zip(SORT_FIELDS).map(|(key, field)| Condition::matches(field, *key))))
}
