//! Arbitrary operation sequences on the Fake store never panic, and its listings stay
//! consistent with what scan and get return.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vectorstore::{FakeVectorStore, KnnOptions, Metric, NewVector, Rows, VectorStore, VectorStoreExt};

#[derive(Debug, Arbitrary)]
enum Op {
    Insert { kind: u8, id: String, vector: Vec<f32>, version: u32 },
    InsertMany { kind: u8, items: Vec<(String, Vec<f32>, u32, Option<u64>)> },
    InsertRows { kind: u8, ids: Vec<String>, dim: u8, values: Vec<f32>, versions: Option<Vec<u32>> },
    Expire { kind: u8, before: u64 },
    Delete { kind: u8, id: String },
    Knn { kind: u8, query: Vec<f32>, k: u16, version: Option<u32>, max: Option<f32> },
    Create { kind: u8, dim: u16, metric: u8 },
    Drop { kind: u8 },
    Scan { kind: u8, after: Option<String>, limit: u16 },
}

const KINDS: [&str; 4] = ["a", "b_1", "Bad", ""];

fuzz_target!(|ops: Vec<Op>| {
    futures::executor::block_on(async {
        let store = FakeVectorStore::new();
        store.initialize().await.expect("initialize");
        for op in ops {
            match op {
                Op::Insert { kind, id, vector, version } => {
                    let _ = store.insert(KINDS[kind as usize % 4], &id, &vector, version).await;
                }
                Op::InsertMany { kind, items } => {
                    let items: Vec<NewVector> = items
                        .into_iter()
                        .map(|(id, vector, v, written_at_ms)| NewVector {
                            id,
                            vector,
                            extractor_version: v,
                            written_at_ms,
                        })
                        .collect();
                    let _ = store.insert_many(KINDS[kind as usize % 4], &items).await;
                }
                Op::InsertRows { kind, ids, dim, values, versions } => {
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    // A shape that does not fit is refused when the rows are built.
                    let Ok(rows) = Rows::new(&ids, dim as usize, &values) else { continue };
                    let rows = match &versions {
                        Some(versions) => match rows.with_extractor_versions(versions) {
                            Ok(rows) => rows,
                            Err(_) => continue,
                        },
                        None => rows,
                    };
                    let kind = KINDS[kind as usize % 4];
                    let before = store.scan_all(kind, 1_000).await.ok();
                    if store.insert_rows(kind, rows).await.is_err() {
                        assert_eq!(store.scan_all(kind, 1_000).await.ok(), before, "refused rows wrote something");
                    }
                }
                Op::Expire { kind, before } => {
                    let now = vectorstore::now_ms();
                    if store.expire(KINDS[kind as usize % 4], before).await.is_ok() {
                        assert!(before <= now + 1_000, "a cutoff in the future was accepted");
                    }
                    if let Ok(records) = store.scan_all(KINDS[kind as usize % 4], 1_000).await
                        && before <= now
                    {
                        assert!(records.iter().all(|r| r.written_at_ms >= before), "expire left an older record");
                    }
                }
                Op::Delete { kind, id } => {
                    let _ = store.delete(KINDS[kind as usize % 4], &id).await;
                }
                Op::Knn { kind, query, k, version, max } => {
                    let options = KnnOptions { k: k as usize, extractor_version: version, max_distance: max };
                    if let Ok(hits) = store.knn_with(KINDS[kind as usize % 4], &query, &options).await {
                        assert!(hits.len() <= k as usize);
                    }
                }
                Op::Create { kind, dim, metric } => {
                    let _ = store
                        .create_kind(KINDS[kind as usize % 4], dim as usize, Metric::ALL[metric as usize % 3])
                        .await;
                }
                Op::Drop { kind } => {
                    let _ = store.drop_kind(KINDS[kind as usize % 4]).await;
                }
                Op::Scan { kind, after, limit } => {
                    let _ = store.scan(KINDS[kind as usize % 4], after.as_deref(), limit as usize).await;
                }
            }
        }
        for info in store.kinds().await.expect("kinds") {
            let all = store.scan_all(&info.kind, 100).await.expect("scan");
            assert_eq!(all.len() as u64, info.count);
            for record in all {
                assert_eq!(record.vector.len(), info.dim);
                assert!(store.get(&info.kind, &record.id).await.expect("get").is_some());
            }
        }
    });
});
