//! Opens the store `DECNET_VECTORSTORE_*` selects (`counted_sqlite` included), writes and
//! searches one fingerprint, and prints the store's health as JSON.

// Links the application's backend into this binary, as the facade links the project's.
use vectorstore_downstream_example as _;

#[tokio::main]
async fn main() -> Result<(), vectorstore::Error> {
    let store = vectorstore::open_from_env()?;
    store.initialize().await?;
    store.insert("ja3", "session-1", &[0.1, 0.9, 0.3], 1).await?;
    let hits = store.knn("ja3", &[0.1, 0.8, 0.3], 1).await?;
    assert_eq!(hits.first().map(|hit| hit.id.as_str()), Some("session-1"));
    let health = store.health().await;
    store.close().await?;
    println!("{}", serde_json::to_string(&health).expect("health is JSON"));
    Ok(())
}
