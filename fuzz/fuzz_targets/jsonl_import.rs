//! Importing arbitrary bytes as JSON Lines never panics; whatever was imported exports and
//! re-imports to the same data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vectorstore::transfer::{ExportOptions, Format, ImportOptions, export, import};
use vectorstore::{FakeVectorStore, VectorStore};

async fn fake() -> FakeVectorStore {
    let store = FakeVectorStore::new();
    store.initialize().await.expect("initialize");
    store
}

fuzz_target!(|data: &[u8]| {
    futures::executor::block_on(async {
        let store = fake().await;
        let options = ImportOptions { batch_size: 3, format: Format::JsonLines };
        let _ = import(&store, &mut &data[..], &options, &mut |_| {}).await;
        let mut out = Vec::new();
        export(&store, &mut out, &ExportOptions::default(), &mut |_| {}).await.expect("export of a valid store");
        let copy = fake().await;
        import(&copy, &mut &out[..], &options, &mut |_| {}).await.expect("an export always imports");
        assert_eq!(store.kinds().await.expect("kinds"), copy.kinds().await.expect("kinds"));
    });
});
