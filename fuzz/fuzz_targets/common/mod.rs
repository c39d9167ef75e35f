//! What the import targets share: arbitrary bytes imported into a Fake must never panic, and
//! whatever got in must export and re-import to the same data.

use vectorstore::transfer::{ExportOptions, Format, ImportOptions, export, import};
use vectorstore::{FakeVectorStore, VectorStore};

async fn fake() -> FakeVectorStore {
    let store = FakeVectorStore::new();
    store.initialize().await.expect("initialize");
    store
}

/// Imports `data` in `format` (batches of `batch_size`), then round-trips what was imported.
pub fn import_round_trip(data: &[u8], format: Format, batch_size: usize) {
    futures::executor::block_on(async {
        let store = fake().await;
        let options = ImportOptions { batch_size, format };
        let _ = import(&store, &mut &data[..], &options, &mut |_| {}).await;
        let mut out = Vec::new();
        let same_format = ExportOptions { format, ..ExportOptions::default() };
        export(&store, &mut out, &same_format, &mut |_| {}).await.expect("export of a valid store");
        let copy = fake().await;
        import(&copy, &mut &out[..], &options, &mut |_| {}).await.expect("an export always imports");
        assert_eq!(store.kinds().await.expect("kinds"), copy.kinds().await.expect("kinds"));
    });
}
