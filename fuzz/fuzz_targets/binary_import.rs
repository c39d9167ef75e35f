//! Importing arbitrary bytes in the binary format never panics nor allocates what hostile
//! lengths claim; whatever was imported round-trips through the binary format.
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
        let options = ImportOptions { batch_size: 2, format: Format::Binary };
        let _ = import(&store, &mut &data[..], &options, &mut |_| {}).await;
        let mut out = Vec::new();
        let binary = ExportOptions { format: Format::Binary, ..ExportOptions::default() };
        export(&store, &mut out, &binary, &mut |_| {}).await.expect("export of a valid store");
        let copy = fake().await;
        import(&copy, &mut &out[..], &options, &mut |_| {}).await.expect("an export always imports");
        assert_eq!(store.kinds().await.expect("kinds"), copy.kinds().await.expect("kinds"));
    });
});
