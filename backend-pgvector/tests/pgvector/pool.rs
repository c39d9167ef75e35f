//! Many more concurrent calls than pooled connections wait for a connection and all succeed.

use std::sync::Arc;

use vectorstore_core::{KnnOptions, NewVector, VectorStore};

const TASKS: usize = 64;

/// 64 tasks on a pool of 8 connections: every insert, batch, get, search and listing succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_share_eight_connections() {
    let Some((store, _cleanup)) =
        crate::common::store("sixty_four_tasks_share_eight_connections", &[("pool_size", "8")]).await
    else {
        return;
    };
    let store = Arc::new(store);
    store.insert("busy", "seed", &[-100.0, -100.0, 1.0], 1).await.expect("seed");
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let id = format!("t{task:02}-{i}");
                let vector = [task as f32, i as f32, 1.0];
                store.insert("busy", &id, &vector, 1).await.expect("insert");
                let batch = [NewVector::new(format!("{id}-b"), vector.to_vec()).with_extractor_version(2)];
                store.insert_many("busy", &batch).await.expect("insert_many");
                assert_eq!(store.get("busy", &id).await.expect("get").expect("own write").vector, vector);
                let hits = store.knn_with("busy", &vector, &KnnOptions::new(3)).await.expect("knn");
                assert_eq!(hits[0].id, id);
                store.kinds().await.expect("kinds");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task failed");
    }
    let kinds = store.kinds().await.expect("kinds");
    assert_eq!(kinds[0].count as usize, 1 + TASKS * 10 * 2);
}
