//! Copying between stores: complete, verified, resumable, and refusing clashes before writing.

use vectorstore::transfer::{CopyOptions, copy, verify};
use vectorstore::{ErrorKind, FakeVectorStore, Metric, NewVector, VectorStore, VectorStoreExt};
use vectorstore_conformance::check::snapshot;
use vectorstore_conformance::data::clustered;
use vectorstore_testkit::{Fault, FaultyStore};

async fn fake() -> FakeVectorStore {
    let store = FakeVectorStore::new();
    store.initialize().await.unwrap();
    store
}

/// Three kinds of different dimensions and metrics, 2,000 records in all.
async fn source() -> FakeVectorStore {
    let store = fake().await;
    for (kind, dim, metric, count) in
        [("ja3", 8, Metric::L2, 1000), ("hassh", 16, Metric::Cosine, 700), ("dwell", 3, Metric::Dot, 300)]
    {
        store.create_kind(kind, dim, metric).await.unwrap();
        let (vectors, _) = clustered(dim as u64, count, dim, 5, 1.0);
        let items: Vec<NewVector> = vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| NewVector::new(format!("{kind}-{i:05}"), v).with_extractor_version(1 + (i % 2) as u32))
            .collect();
        store.insert_many(kind, &items).await.unwrap();
    }
    store.create_kind("empty", 5, Metric::L2).await.unwrap();
    store
}

#[tokio::test]
async fn copy_moves_everything_and_verify_agrees() {
    let from = source().await;
    let before = snapshot(&from).await;
    let to = fake().await;
    let mut events = 0;
    let report =
        copy(&from, &to, &CopyOptions { batch_size: 128, ..Default::default() }, &mut |_| events += 1).await.unwrap();
    assert_eq!(report.written(), 2000);
    assert_eq!(report.kinds.len(), 4);
    assert!(events >= 4);
    assert_eq!(snapshot(&to).await, before, "the target holds exactly the source's data");
    assert_eq!(snapshot(&from).await, before, "the source was not written to");
    let checked = verify(&from, &to, &[]).await.unwrap();
    assert!(checked.ok(), "{checked:?}");
    assert!(checked.kinds.iter().filter(|k| k.source_count > 0).all(|k| k.queries > 0));
}

#[tokio::test]
async fn an_interrupted_copy_resumes_without_duplicates_or_rewrites() {
    let from = source().await;
    let to = FaultyStore::on_fake(&[Fault::FailBatchesAfter(5)]).await;
    let options = CopyOptions { batch_size: 100, ..Default::default() };
    let err = copy(&from, &to, &options, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let partial: u64 = to.kinds().await.unwrap().iter().map(|k| k.count).sum();
    assert_eq!(partial, 500, "five whole batches landed before the interruption");

    to.heal();
    let report = copy(&from, &to, &options, &mut |_| {}).await.unwrap();
    assert_eq!(report.written(), 1500, "only what was missing is written: {report:?}");
    assert_eq!(report.kinds.iter().map(|k| k.unchanged).sum::<u64>(), 500);
    assert_eq!(snapshot(&to).await, snapshot(&from).await);
    assert!(verify(&from, &to, &[]).await.unwrap().ok());

    let again = copy(&from, &to, &options, &mut |_| {}).await.unwrap();
    assert_eq!(again.written(), 0, "a finished copy re-run writes nothing");
}

/// A copy keeps every record's write time; a record written again at the source since (same
/// vector, new time) is copied again by a re-run, so the target's retention sees its new age.
#[tokio::test]
async fn copies_keep_write_times_and_a_rewritten_record_is_copied_again() {
    let from = source().await;
    from.insert_many("ja3", &[NewVector::new("aged", vec![1.0; 8]).with_written_at_ms(1_000_000)]).await.unwrap();
    let to = fake().await;
    copy(&from, &to, &CopyOptions::default(), &mut |_| {}).await.unwrap();
    for record in from.scan_all("ja3", 500).await.unwrap() {
        let copied = to.get("ja3", &record.id).await.unwrap().expect("copied");
        assert_eq!(copied.written_at_ms, record.written_at_ms, "{}", record.id);
    }
    assert_eq!(to.get("ja3", "aged").await.unwrap().unwrap().written_at_ms, 1_000_000);
    from.insert("ja3", "aged", &[1.0; 8], 1).await.unwrap();
    let again = copy(&from, &to, &CopyOptions::default(), &mut |_| {}).await.unwrap();
    assert_eq!(again.written(), 1, "only the rewritten record: {again:?}");
    let moved = from.get("ja3", "aged").await.unwrap().unwrap().written_at_ms;
    assert_eq!(to.get("ja3", "aged").await.unwrap().unwrap().written_at_ms, moved);
}

#[tokio::test]
async fn a_dimension_or_metric_clash_stops_before_anything_is_written() {
    let from = source().await;
    let to = fake().await;
    to.create_kind("hassh", 4, Metric::Cosine).await.unwrap();
    to.insert("hassh", "theirs", &[1.0, 2.0, 3.0, 4.0], 1).await.unwrap();
    let before = snapshot(&to).await;
    let err = copy(&from, &to, &CopyOptions::default(), &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch);
    assert!(err.to_string().contains("hassh") && err.to_string().contains("replace"), "{err}");
    assert_eq!(snapshot(&to).await, before, "nothing was written, not even the kinds without a clash");

    let to_metric = fake().await;
    to_metric.create_kind("ja3", 8, Metric::Cosine).await.unwrap();
    let err = copy(&from, &to_metric, &CopyOptions::default(), &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetricMismatch);

    let report =
        copy(&from, &to, &CopyOptions { replace_kind: true, ..Default::default() }, &mut |_| {}).await.unwrap();
    assert!(report.kinds.iter().any(|k| k.kind == "hassh" && k.replaced));
    assert_eq!(snapshot(&to).await, snapshot(&from).await, "the replaced kind now matches the source");
}

#[tokio::test]
async fn verify_finds_every_kind_of_difference() {
    let from = source().await;
    let to = fake().await;
    copy(&from, &to, &CopyOptions::default(), &mut |_| {}).await.unwrap();
    assert!(verify(&from, &to, &[]).await.unwrap().ok());

    let mut record = to.get("ja3", "ja3-00007").await.unwrap().unwrap();
    record.vector[0] = f32::from_bits(record.vector[0].to_bits() ^ 1);
    to.insert("ja3", &record.id, &record.vector, record.extractor_version).await.unwrap();
    let report = verify(&from, &to, &[]).await.unwrap();
    assert!(!report.ok());
    let ja3 = report.kinds.iter().find(|k| k.kind == "ja3").unwrap();
    assert_ne!(ja3.source_checksum, ja3.target_checksum, "a one-bit change shows in the checksum");
    assert!(report.kinds.iter().filter(|k| k.kind != "ja3").all(|k| k.ok()));

    to.insert("ja3", "ja3-00007", &record.vector, 9).await.unwrap();
    to.insert("dwell", "extra", &[1.0, 1.0, 1.0], 1).await.unwrap();
    let report = verify(&from, &to, &[]).await.unwrap();
    let dwell = report.kinds.iter().find(|k| k.kind == "dwell").unwrap();
    assert_eq!((dwell.source_count, dwell.target_count), (300, 301));
    to.drop_kind("hassh").await.unwrap();
    let report = verify(&from, &to, &["hassh".to_owned()]).await.unwrap();
    assert_eq!(report.kinds[0].target_shape, None);
    assert!(!report.ok());
}
