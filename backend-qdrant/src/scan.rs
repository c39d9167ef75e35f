//! Keyset pagination in id byte order, which Qdrant has no index for.
//!
//! Qdrant scrolls in point-id order (our point ids are hashes), or ordered by one numeric
//! payload field, and it has no range filter on strings. So every point carries its id's
//! [sort keys](crate::layout::sort_keys): bytes 0–5, 6–11, … 24–29 of the id as
//! order-preserving integers, each with an integer index. The ids after `after` are then found
//! level by level: a set of points sharing the first `n` keys is either small enough to be
//! read whole and sorted here (one call), or walked in order of key `n`, window by window.
//! Ids sharing their first 30 bytes form one group read whole.
//!
//! What is emitted only ever comes from reads that Qdrant answers exactly under any read
//! consistency: scrolls in point-id order, filtered by exact keys or a range of key `n`. An
//! ordered scroll (read from one replica per shard, see [`Scroll::one_replica`]) only says
//! where the page probably ends: the window of keys below its last value is then read whole
//! (narrowed if it holds more than the page), and the group of its last value is walked one
//! level down. If the guide is wrong (a stale replica, concurrent writes) the scan costs more
//! calls, never a record missed or repeated: emitted ids always increase.
//!
//! The five integer indexes are made with the collection (the groups of identical vectors are
//! read in id order through them, see the crate docs); a collection made before that gets them
//! from the first scan that needs an ordered scroll (a kind with more ids than fit in one
//! read). Building them is a write, which a cluster refuses while a replica is down: the scan
//! then goes on without a guide (range reads narrowed from the whole key range, a few more
//! calls per page), as it does while indexes just built on a large collection that Qdrant is
//! still optimising are not usable yet.
//!
//! Cost: a page costs a few light scrolls that return only ids (typically four or five), plus
//! one read of the page's records, whatever the collection's size, as long as ids differ
//! within their first 30 bytes. Ids sharing a longer prefix are read in groups of that prefix.

use std::future::Future;
use std::pin::Pin;

use qdrant_client::qdrant::{Condition, Filter, Range, RetrievedPoint};
use vectorstore_core::{Error, ErrorKind, Result};

use crate::core::{Connection, Scroll, Scrolled};
use crate::layout::{ID_FIELD, SORT_FIELDS, SORT_LEVELS, sort_keys, stored_id};

/// Least number of points read when probing whether a set fits in one read.
const MIN_PROBE: usize = 100;

/// Points per call when a whole group must be read.
const GROUP_PAGE: usize = 1_000;

/// What is known of a collection's sort indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortIndexes {
    /// Not known to exist: built when a scan first needs them.
    Unknown,
    /// They exist.
    Present,
    /// Building them just failed because the cluster could not apply it (a replica is down):
    /// scans go on without them for now.
    Unbuildable,
}

/// Up to `limit` ids of `collection` after `after` (byte order), in ascending order, and what
/// is now known of its sort indexes (`indexes`: what was known before); `None` when the
/// collection does not exist.
pub(crate) async fn ids_after(
    connection: &Connection,
    collection: &str,
    after: Option<&str>,
    limit: usize,
    indexes: SortIndexes,
) -> Result<Option<(Vec<String>, SortIndexes)>> {
    first_ids_matching(connection, collection, None, after, limit, indexes).await
}

/// [`ids_after`] among the points matching `base` only (e.g. the members of one group of
/// identical vectors): the same walk, every read also filtered by `base`.
pub(crate) async fn first_ids_matching(
    connection: &Connection,
    collection: &str,
    base: Option<Filter>,
    after: Option<&str>,
    limit: usize,
    indexes: SortIndexes,
) -> Result<Option<(Vec<String>, SortIndexes)>> {
    let mut walk = Walk { connection, collection, base, limit, out: Vec::new(), missing: false, indexes, built: false };
    if limit > 0 {
        walk.collect(Vec::new(), after).await?;
    }
    Ok((!walk.missing).then_some((walk.out, walk.indexes)))
}

type Step<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

struct Walk<'a> {
    connection: &'a Connection,
    collection: &'a str,
    /// What every read is also filtered by.
    base: Option<Filter>,
    limit: usize,
    out: Vec<String>,
    missing: bool,
    /// What is known of the sort indexes; without them the walk is not guided by ordered scrolls.
    indexes: SortIndexes,
    /// This walk built them (so a failure is not retried again).
    built: bool,
}

impl<'a> Walk<'a> {
    /// Points whose first sort keys equal `fixed` and that match the walk's base filter.
    fn filter(&self, fixed: &[i64]) -> Option<Filter> {
        match (filter(fixed), &self.base) {
            (None, base) => base.clone(),
            (Some(keys), None) => Some(keys),
            (Some(keys), Some(base)) => Some(Filter::must([Condition::from(keys), Condition::from(base.clone())])),
        }
    }

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
                    Some(next) => from = next,
                    None => return Ok(()),
                }
            }
            while !self.full() {
                let asked = self.remaining() + 1;
                let Some(last) = self.guide(&fixed, from, asked).await? else {
                    // The guide saw the end: everything from `from` on, checked by reading it.
                    return self.window(&fixed, from, i64::MAX).await;
                };
                // The page probably ends in the group of `last`: what lies below it is read
                // whole, the group itself one level down.
                if last > from {
                    self.window(&fixed, from, last - 1).await?;
                    if self.full() {
                        return Ok(());
                    }
                }
                self.collect(with(&fixed, last), None).await?;
                match last.checked_add(1) {
                    Some(next) => from = next,
                    None => return Ok(()),
                }
            }
            Ok(())
        })
    }

    /// Appends, in order, the ids of the set `fixed` whose key of the next level lies in
    /// `from..=to`: a range read whole when it holds less than the rest of the page, else
    /// narrowed (a single key is walked one level down).
    async fn window(&mut self, fixed: &[i64], mut from: i64, to: i64) -> Result<()> {
        let level = fixed.len();
        while !self.full() && from <= to {
            let mut upto = to;
            loop {
                if from == upto {
                    self.collect(with(fixed, upto), None).await?;
                    break;
                }
                let asked = self.remaining() + 1;
                let ids = self.ids(fixed, Some((from, upto)), asked).await?;
                if ids.iter().any(|id| !(from..=upto).contains(&sort_keys(id)[level])) {
                    // Narrowing relies on it (and ends because of it).
                    return Err(Error::new(
                        ErrorKind::Backend,
                        format!("Qdrant returned points outside a range filter of {:?}", self.collection),
                    ));
                }
                if ids.len() < asked {
                    self.emit(ids, None);
                    break;
                }
                upto = narrower(level, from, upto, &ids);
            }
            match upto.checked_add(1) {
                Some(next) => from = next,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// Sorts `ids` and appends those after `after` and after every id already out, until the
    /// page is full: whatever a read returned, the page never repeats an id.
    fn emit(&mut self, mut ids: Vec<String>, after: Option<&str>) {
        ids.sort_unstable();
        ids.dedup();
        let remaining = self.remaining();
        let floor = self.out.last().map(String::as_str).max(after).map(str::to_owned);
        let fresh = ids.into_iter().filter(|id| floor.as_deref().is_none_or(|floor| id.as_str() > floor));
        self.out.extend(fresh.take(remaining));
    }

    /// Up to `limit` ids of the set `fixed`, in no particular order; with `range`, only those
    /// whose key of the next level lies in it (inclusive). Read with the configured consistency.
    async fn ids(&mut self, fixed: &[i64], range: Option<(i64, i64)>, limit: usize) -> Result<Vec<String>> {
        let mut filter = self.filter(fixed);
        if let Some((from, to)) = range {
            let condition = Condition::range(SORT_FIELDS[fixed.len()], key_range(from, to));
            filter = Some(match filter {
                Some(mut filter) => {
                    filter.must.push(condition);
                    filter
                }
                None => Filter::must([condition]),
            });
        }
        let scroll = Scroll {
            collection: self.collection,
            filter,
            limit,
            offset: None,
            order_by: None,
            fields: vec![ID_FIELD.to_owned()],
            with_vectors: false,
            one_replica: false,
        };
        match self.connection.scroll(scroll).await? {
            Scrolled::Page(points, _) => Ok(stored_ids(&points)),
            Scrolled::CollectionMissing => {
                self.missing = true;
                Ok(Vec::new())
            }
            Scrolled::OrderIndexMissing => {
                Err(Error::new(ErrorKind::Backend, "Qdrant asked for an index on an unordered scroll"))
            }
        }
    }

    /// Where the next `limit` ids of the set `fixed` from key `from` (of the next level) on
    /// probably end: the key of the last of them, or `None` when there seem to be fewer. Read
    /// from one replica of each shard, in order of that key; only a guide (see the module docs).
    async fn guide(&mut self, fixed: &[i64], from: i64, limit: usize) -> Result<Option<i64>> {
        let usable = match self.indexes {
            SortIndexes::Present => true,
            SortIndexes::Unknown => self.try_build_indexes().await?,
            SortIndexes::Unbuildable => false,
        };
        if !usable {
            return Ok(None);
        }
        let level = fixed.len();
        loop {
            let scroll = Scroll {
                collection: self.collection,
                filter: self.filter(fixed),
                limit,
                offset: None,
                order_by: Some((SORT_FIELDS[level], from)),
                fields: vec![ID_FIELD.to_owned()],
                with_vectors: false,
                one_replica: true,
            };
            match self.connection.scroll(scroll).await? {
                Scrolled::Page(points, _) => {
                    let ids = stored_ids(&points);
                    let last = ids.iter().map(|id| sort_keys(id)[level]).filter(|key| *key >= from).max();
                    return Ok(last.filter(|_| points.len() >= limit));
                }
                Scrolled::CollectionMissing => {
                    self.missing = true;
                    return Ok(None);
                }
                // Another process re-created the kind since its indexes were seen: build them.
                Scrolled::OrderIndexMissing if !self.built => {
                    if !self.try_build_indexes().await? {
                        return Ok(None);
                    }
                }
                // Just built, yet not in every segment: seen while Qdrant's optimiser rebuilds the
                // segments of a large load. The walk goes on unguided (range reads, checked).
                Scrolled::OrderIndexMissing => {
                    tracing::debug!(collection = %self.collection, "sort indexes not usable yet; walking without them");
                    self.indexes = SortIndexes::Unbuildable;
                    return Ok(None);
                }
            }
        }
    }

    /// [`build_indexes`](Self::build_indexes), or `false` when the cluster cannot apply them
    /// now (a replica is down: creating an index is a write). The walk then goes on unguided,
    /// by range reads alone, which need no index: a read must not fail for want of one.
    async fn try_build_indexes(&mut self) -> Result<bool> {
        match self.build_indexes().await {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::Unavailable => {
                tracing::warn!(collection = %self.collection, error = %err, "sort indexes not built; scanning without them");
                self.indexes = SortIndexes::Unbuildable;
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Creates the sort indexes; only the last request waits, since a collection applies its
    /// updates in order.
    async fn build_indexes(&mut self) -> Result<()> {
        for (level, field) in SORT_FIELDS.iter().enumerate() {
            self.connection.create_index(self.collection, field, level + 1 == SORT_LEVELS).await?;
        }
        tracing::info!(collection = %self.collection, "built the sort indexes of a Qdrant collection");
        self.indexes = SortIndexes::Present;
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
                filter: self.filter(fixed),
                limit: GROUP_PAGE,
                offset: offset.take(),
                order_by: None,
                fields: vec![ID_FIELD.to_owned()],
                with_vectors: false,
                one_replica: false,
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
            ids.extend(stored_ids(&points));
            match next {
                Some(next) => offset = Some(next),
                None => return Ok(ids),
            }
        }
    }
}

/// A smaller window than `from..=to` (which holds more than a page) that still starts at
/// `from`: up to the lower median of the keys `ids` (some of its points) have below `to`, or,
/// when they all have `to`, everything below `to`. Always in `from..to`, so narrowing ends.
fn narrower(level: usize, from: i64, to: i64, ids: &[String]) -> i64 {
    let mut keys: Vec<i64> = ids.iter().map(|id| sort_keys(id)[level]).filter(|key| (from..to).contains(key)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.get(keys.len().saturating_sub(1) / 2).copied().unwrap_or(to - 1)
}

/// The range `from..=to` of a sort key as a Qdrant range (sort keys are below 2^53, so exact
/// in `f64`; the extreme bounds are left open).
fn key_range(from: i64, to: i64) -> Range {
    Range {
        gte: (from != i64::MIN).then_some(from as f64),
        lte: (to != i64::MAX).then_some(to as f64),
        ..Range::default()
    }
}

fn stored_ids(points: &[RetrievedPoint]) -> Vec<String> {
    points.iter().filter_map(|p| stored_id(&p.payload).map(str::to_owned)).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn narrowing_a_window_always_shrinks_it_and_keeps_its_start() {
        let key = |id: &str| sort_keys(id)[0];
        let (from, to) = (key("a"), key("z"));
        // Keys seen below the end: the lower median of them.
        assert_eq!(narrower(0, from, to, &ids(&["m", "c", "c", "x", "z", "z"])), key("m"));
        // Every key seen is the end itself: everything below it.
        assert_eq!(narrower(0, from, to, &ids(&["z", "z"])), to - 1);
        // Narrowing the way a scan does (each read sees only what lies in its window) ends
        // with a window of one key in a few steps, even when most points share the last key.
        let mut points: Vec<String> = (0..200).map(|i| format!("z{i:03}")).collect();
        points.extend(["b", "d", "f", "h", "k", "n", "p", "r", "t", "w"].map(str::to_owned));
        let mut end = to;
        let mut steps = 0;
        while end > from {
            let seen: Vec<String> = points.iter().filter(|p| (from..=end).contains(&key(p))).take(8).cloned().collect();
            let next = narrower(0, from, end, &seen);
            assert!((from..end).contains(&next), "{next} not in {from}..{end}");
            end = next;
            steps += 1;
            if seen.len() < 8 {
                break;
            }
        }
        assert!(steps <= 8, "{steps} steps");
    }

    #[test]
    fn key_ranges_are_inclusive_and_open_at_the_extremes() {
        let range = key_range(5, 9);
        assert_eq!((range.gte, range.lte, range.gt, range.lt), (Some(5.0), Some(9.0), None, None));
        let all = key_range(i64::MIN, i64::MAX);
        assert_eq!((all.gte, all.lte), (None, None));
        // Sort keys are exact in f64.
        let top = sort_keys(&"\u{10ffff}".repeat(2))[0];
        assert_eq!(key_range(top, top).gte.map(|v| v as i64), Some(top));
    }
}
