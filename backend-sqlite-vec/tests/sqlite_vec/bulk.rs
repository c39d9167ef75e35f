//! Bulk reads and deletes by id and by extractor version on a file of realistic size, and the
//! published health, which must not name the file.

use std::time::Instant;

use vectorstore_conformance::check::assert_publishable;
use vectorstore_conformance::data;
use vectorstore_core::{NewVector, VectorStore, VectorStoreExt};
use vectorstore_sqlite_vec::SqliteVecStore;

use crate::common::fresh;

#[tokio::test]
async fn the_published_health_names_no_path_and_the_detailed_one_does() {
    let (config, _scratch) = fresh("health_path");
    let path = config.path.clone().expect("a path");
    let store = SqliteVecStore::from_config(&config).expect("open");
    store.initialize().await.expect("initialize");
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.expect("insert");
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    assert_publishable(&health);
    let json = serde_json::to_string(&health).expect("json");
    let file = path.file_name().expect("a file name").to_string_lossy().into_owned();
    let dir = path.parent().expect("a directory").display().to_string();
    for leak in [path.display().to_string(), file, dir] {
        assert!(!json.contains(&leak), "{leak} in {json}");
    }
    let detailed = store.health_detailed().await;
    assert_eq!(detailed.detail.get("path"), Some(&path.display().to_string()), "{detailed:?}");
    assert_eq!((detailed.kinds, detailed.vectors), (Some(1), Some(1)));
    store.close().await.expect("close");
}

#[tokio::test]
async fn bulk_operations_on_twenty_thousand_records() {
    let (config, _scratch) = fresh("bulk_20k");
    let store = SqliteVecStore::from_config(&config).expect("open");
    store.initialize().await.expect("initialize");
    let (vectors, _) = data::clustered(5, 20_000, 16, 8, 1.0);
    let items: Vec<NewVector> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| NewVector::new(data::id(i), v).with_extractor_version(1 + (i % 4) as u32))
        .collect();
    for chunk in items.chunks(5_000) {
        store.insert_many("cmd_ngram", chunk).await.expect("insert_many");
    }
    let info = store.kind_info("cmd_ngram").await.expect("kinds").expect("the kind");
    assert_eq!(info.versions.values().copied().collect::<Vec<_>>(), [5_000; 4], "{info:?}");

    let asked: Vec<String> = (0..10_000).map(|i| data::id(i * 2 + 1)).collect();
    let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
    let started = Instant::now();
    let got = store.get_many("cmd_ngram", &asked).await.expect("get_many");
    let get_many = started.elapsed();
    assert!(got.iter().zip(&asked).all(|(r, id)| r.as_ref().is_some_and(|r| r.id == *id)), "in order, all found");

    let started = Instant::now();
    assert_eq!(store.delete_many("cmd_ngram", &asked).await.expect("delete_many"), 10_000);
    let delete_many = started.elapsed();
    let started = Instant::now();
    // Odd ids are gone: versions 2 (i % 4 == 1) and 4 (i % 4 == 3) are empty, 1 and 3 hold 5,000 each.
    assert_eq!(store.delete_version("cmd_ngram", 1).await.expect("delete_version"), 5_000);
    let delete_version = started.elapsed();
    assert_eq!(store.delete_version("cmd_ngram", 2).await.expect("delete_version 2"), 0);
    let info = store.kind_info("cmd_ngram").await.expect("kinds").expect("the kind");
    assert_eq!((info.count, info.versions.clone()), (5_000, [(3, 5_000)].into()), "{info:?}");
    vectorstore_conformance::report(&format!(
        "sqlite_vec, 20,000 records of dim 16: get_many of 10,000 ids {get_many:?}, delete_many of 10,000 {delete_many:?}, delete_version of 5,000 {delete_version:?}"
    ));
    store.close().await.expect("close");
}
