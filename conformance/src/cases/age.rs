//! The time each record was last written, and `expire`, which removes records older than a
//! cutoff.

use std::time::Duration;

use vectorstore_core::limits::MAX_CLOCK_SKEW_MS;
use vectorstore_core::{ErrorKind, NewVector, VectorRecord, VectorStoreExt, now_ms};

use super::support::stores_data;
use crate::check::{expect_error, ok, snapshot};
use crate::runner::Ctx;

const DAY_MS: u64 = 86_400_000;

/// Waits until the store's clock has moved past `since`, so that two writes get different times.
async fn clock_past(since: u64) -> u64 {
    while now_ms() <= since {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    now_ms()
}

fn time_of(record: &Option<VectorRecord>, what: &str) -> u64 {
    record.as_ref().unwrap_or_else(|| panic!("{what}: record missing")).written_at_ms
}

/// Every record carries the time of its last write, set by the store (between the call's start
/// and its end) and moved by an overwrite; get, get_many and scan agree on it.
pub async fn records_carry_their_write_time(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let before = now_ms();
    ok(store.insert("ja3", "a", &[1.0, 2.0], 1).await, "insert a");
    ok(store.insert_many("ja3", &[NewVector::new("b", vec![3.0, 4.0])]).await, "insert_many b");
    let after = clock_past(now_ms()).await;
    let a = time_of(&ok(store.get("ja3", "a").await, "get a"), "a");
    let b = time_of(&ok(store.get("ja3", "b").await, "get b"), "b");
    for (id, time) in [("a", a), ("b", b)] {
        assert!((before..after).contains(&time), "{id} written at {time}, outside the call [{before}, {after})");
    }
    let many = ok(store.get_many("ja3", &["b", "a"]).await, "get_many");
    assert_eq!((time_of(&many[0], "b"), time_of(&many[1], "a")), (b, a), "get_many and get disagree");
    let scanned: Vec<(String, u64)> =
        ok(store.scan("ja3", None, 10).await, "scan").into_iter().map(|r| (r.id, r.written_at_ms)).collect();
    assert_eq!(scanned, [("a".to_owned(), a), ("b".to_owned(), b)], "scan and get disagree");
    ok(store.insert("ja3", "a", &[5.0, 6.0], 2).await, "overwrite a");
    let moved = time_of(&ok(store.get("ja3", "a").await, "get a again"), "a");
    assert!(moved >= after, "an overwrite at or after {after} left the time at {moved} (was {a})");
    let b_again = time_of(&ok(store.get("ja3", "b").await, "get b again"), "b");
    assert_eq!(b_again, b, "overwriting a moved b's time");
}

/// A write time given with an item (a copy or an import keeping a record's age) is stored as
/// given, to the millisecond, the epoch included; one more than a day ahead of the store's clock
/// refuses the whole batch before anything is written.
pub async fn given_write_times_are_kept(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let now = now_ms();
    let times = [0, 1, 1_000_000_000_123, now - 3 * DAY_MS + 7, now + DAY_MS / 2];
    let items: Vec<NewVector> = times
        .iter()
        .enumerate()
        .map(|(i, &time)| NewVector::new(format!("t{i}"), vec![i as f32, 1.0]).with_written_at_ms(time))
        .collect();
    ok(store.insert_many("ja3", &items).await, "insert_many with given times");
    let ids: Vec<String> = (0..times.len()).map(|i| format!("t{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let got: Vec<u64> =
        ok(store.get_many("ja3", &ids).await, "get_many").iter().map(|r| time_of(r, "given time")).collect();
    assert_eq!(got, times, "given times must come back exactly");
    let before = snapshot(&*store).await;
    let too_late = now_ms() + MAX_CLOCK_SKEW_MS + 60_000;
    let batch =
        [NewVector::new("fine", vec![1.0, 1.0]), NewVector::new("late", vec![2.0, 2.0]).with_written_at_ms(too_late)];
    let err = store.insert_many("ja3", &batch).await.expect_err("a time two days ahead must be refused");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.message().contains(&too_late.to_string()), "the error names the time: {err}");
    assert!(err.message().contains("batch item 1"), "the error names the item: {err}");
    assert_eq!(snapshot(&*store).await, before, "a refused batch wrote something");
}

/// expire removes exactly the records of one kind written before the cutoff and returns how
/// many; a kind (or a cutoff) with nothing that old gives 0, and an emptied kind keeps its
/// dimension.
pub async fn expire_removes_only_older_records(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let now = now_ms();
    let aged = |id: &str, days: u64| NewVector::new(id, vec![days as f32, 1.0]).with_written_at_ms(now - days * DAY_MS);
    let batch = [aged("ten", 10), aged("five", 5), aged("six", 6), NewVector::new("fresh", vec![0.0, 1.0])];
    ok(store.insert_many("ja3", &batch).await, "insert_many ja3");
    ok(store.insert_many("hassh", &[aged("ten", 10)]).await, "insert_many hassh");
    assert_eq!(ok(store.expire("ja3", now - 7 * DAY_MS).await, "expire before 7 days ago"), 1);
    assert_eq!(ok(store.expire("ja3", now - 7 * DAY_MS).await, "the same again"), 0);
    assert_eq!(ok(store.expire("ja3", 0).await, "expire before the epoch"), 0);
    assert_eq!(ok(store.expire("never_written", now).await, "an unknown kind"), 0);
    let removed = ok(store.expire_older_than("ja3", Duration::from_secs(86_400)).await, "expire older than a day");
    assert_eq!(removed, 2, "five and six days old");
    let snap = snapshot(&*store).await;
    let left: Vec<(&str, &str)> = snap.records.keys().map(|(kind, id)| (kind.as_str(), id.as_str())).collect();
    assert_eq!(left, [("hassh", "ten"), ("ja3", "fresh")], "only ja3's old records went");
    let fresh = time_of(&ok(store.get("ja3", "fresh").await, "get fresh"), "fresh");
    let later = clock_past(fresh).await;
    assert_eq!(ok(store.expire("ja3", later).await, "expire up to now"), 1);
    let info = ok(store.kind_info("ja3").await, "kind_info").expect("an emptied kind stays");
    assert_eq!((info.dim, info.count), (2, 0), "{info:?}");
    assert_eq!(ok(store.expire("ja3", later).await, "expire an empty kind"), 0);
    expect_error(store.insert("ja3", "x", &[1.0, 2.0, 3.0], 1).await, ErrorKind::DimensionMismatch, "insert 3-d");
    assert!(ok(store.knn("ja3", &[1.0, 0.0], 5).await, "knn").is_empty(), "expired records are still found");
}

/// expire of a few old records among many (the periodic retention job of a sensor) removes
/// exactly those, however their ids and times interleave: more than a thousand old records
/// (past a page of 1,024) spread through the ids, many at one shared time, among four times as
/// many newer ones, some exactly at the cutoff (kept), with another kind's old record untouched.
pub async fn expire_of_a_few_among_many_removes_exactly_those(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    const TOTAL: usize = 6_000;
    let now = now_ms();
    let cutoff = now - 30 * DAY_MS;
    // Every 5th record is old: 1,200 of them, a third sharing one time, the others a
    // millisecond or a few apart; every 50th of the others sits exactly at the cutoff.
    let written = |n: usize| match n {
        n if n % 5 == 0 && n % 3 == 0 => cutoff - 40 * DAY_MS,
        n if n % 5 == 0 => cutoff - 1 - (n % 7) as u64,
        n if n % 50 == 1 => cutoff,
        n => cutoff + 1 + (n % 1000) as u64,
    };
    let id = |n: usize| format!("s{:05}", (n * 7919) % TOTAL);
    let items: Vec<NewVector> =
        (0..TOTAL).map(|n| NewVector::new(id(n), vec![n as f32, 1.0]).with_written_at_ms(written(n))).collect();
    for chunk in items.chunks(2_000) {
        ok(store.insert_many("ja3", chunk).await, "insert_many ja3");
    }
    ok(store.insert_many("hassh", &[NewVector::new("s00000", vec![1.0]).with_written_at_ms(1)]).await, "hassh");
    let old: usize = (0..TOTAL).filter(|&n| written(n) < cutoff).count();
    assert!(old > 1_024 && old * 4 < TOTAL, "the case needs a few, yet more than a page: {old}");
    let before = snapshot(&*store).await;
    assert_eq!(ok(store.expire("ja3", cutoff).await, "expire the old few"), old as u64);
    let kept: std::collections::BTreeSet<String> = (0..TOTAL).filter(|&n| written(n) >= cutoff).map(id).collect();
    let mut want = before.clone();
    want.records.retain(|(kind, record), _| kind != "ja3" || kept.contains(record));
    if let Some((_, _, count)) = want.kinds.get_mut("ja3") {
        *count -= old as u64;
    }
    assert_eq!(snapshot(&*store).await, want, "expire removed other records than the old ones");
    assert_eq!(ok(store.expire("ja3", cutoff).await, "the same again"), 0);
    for n in [1, 51, 2, 5, 15] {
        let record = ok(store.get("ja3", &id(n)).await, "get");
        assert_eq!(record.is_some(), written(n) >= cutoff, "{} written at {}", id(n), written(n));
    }
}

/// A cutoff in the future or an invalid kind is a typed error before anything is removed, on
/// every store.
pub async fn expire_is_validated_before_any_work(ctx: &Ctx) {
    let store = ctx.store().await;
    ok(store.insert("ja3", "a", &[1.0, 2.0], 1).await, "seed insert");
    let before = snapshot(&*store).await;
    let future = now_ms() + 60_000;
    let err = store.expire("ja3", future).await.expect_err("a cutoff in the future must be refused");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.message().contains(&future.to_string()) && err.message().contains("future"), "{err}");
    expect_error(store.expire("ja3", u64::MAX).await, ErrorKind::InvalidArgument, "expire at u64::MAX");
    for bad in ["", "JA3", "ja-3", "ja3 "] {
        expect_error(store.expire(bad, 1).await, ErrorKind::InvalidKind, &format!("expire in kind {bad:?}"));
    }
    assert_eq!(snapshot(&*store).await, before, "a refused expire changed the store");
}
