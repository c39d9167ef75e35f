//! Many tasks sharing one store.

use std::sync::Arc;

use vectorstore_core::{NewVector, VectorStore};

use super::support::stores_data;
use crate::check::ok;
use crate::runner::Ctx;

const TASKS: usize = 16;
const PER_TASK: usize = 40;

/// 16 tasks inserting, reading and searching through one shared store at once all succeed,
/// and every write is there afterwards.
pub async fn concurrent_inserts_and_queries(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("busy", "seed", &[0.0, 0.0, 0.0], 1).await, "seed");
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store: Arc<dyn VectorStore> = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                // In-process stores never block; yield so the tasks really interleave.
                tokio::task::yield_now().await;
                let id = format!("t{task:02}-{i:03}");
                let v = [task as f32, i as f32, 1.0];
                if i % 10 == 9 {
                    let batch = vec![NewVector::new(id.clone(), v.to_vec())];
                    ok(store.insert_many("busy", &batch).await, "insert_many");
                } else {
                    ok(store.insert("busy", &id, &v, 1).await, "insert");
                }
                let got = ok(store.get("busy", &id).await, "get").expect("read after own write");
                assert_eq!(got.vector, v);
                let hits = ok(store.knn("busy", &v, 3).await, "knn");
                assert!(!hits.is_empty());
                if i % 8 == 0 {
                    ok(store.kinds().await, "kinds");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task failed");
    }
    let kinds = ok(store.kinds().await, "kinds");
    assert_eq!(kinds[0].count as usize, TASKS * PER_TASK + 1);
    for task in 0..TASKS {
        for i in 0..PER_TASK {
            let id = format!("t{task:02}-{i:03}");
            assert!(ok(store.get("busy", &id).await, "get").is_some(), "{id} lost");
        }
    }
}
