//! JSON Lines export and import: bit-exact round trips, and what a bad line leaves behind.

use std::io::Cursor;

use vectorstore::transfer::{ExportOptions, Format, ImportOptions, TransferSummary, export, export_to_string, import};
use vectorstore::{ErrorKind, FakeVectorStore, Metric, NewVector, VectorStore, VectorStoreExt};
use vectorstore_conformance::check::snapshot;
use vectorstore_conformance::data::Rng;

async fn store() -> FakeVectorStore {
    let store = FakeVectorStore::new();
    store.initialize().await.unwrap();
    store
}

async fn import_str(store: &dyn VectorStore, text: &str, batch_size: usize) -> vectorstore::Result<TransferSummary> {
    import(store, &mut Cursor::new(text.as_bytes()), &ImportOptions { batch_size, ..Default::default() }, &mut |_| {})
        .await
}

#[tokio::test]
async fn export_then_import_is_bit_exact_with_kinds_and_metrics() {
    let source = store().await;
    source.create_kind("dwell", 3, Metric::Cosine).await.unwrap();
    source.create_kind("empty", 7, Metric::Dot).await.unwrap();
    let mut rng = Rng::new(9);
    for i in 0..2500 {
        let v = vec![rng.gaussian(), -0.0, f32::from_bits(1 + i)];
        source.insert("dwell", &format!("s{i}"), &v, 1 + i % 3).await.unwrap();
    }
    source.insert("ja3", "\"quoted\"\n'id'", &[f32::MAX, f32::MIN_POSITIVE], 1).await.unwrap();

    let mut out = Vec::new();
    let mut events = 0;
    let summary =
        export(&source, &mut out, &ExportOptions { page_size: 333, ..Default::default() }, &mut |_| events += 1)
            .await
            .unwrap();
    assert_eq!(summary, TransferSummary { kinds: 3, records: 2501, settle_ms: 0 });
    assert!(events > 3, "progress was reported");

    let target = store().await;
    let imported = import_str(&target, std::str::from_utf8(&out).unwrap(), 700).await.unwrap();
    assert_eq!(imported, TransferSummary { kinds: 3, records: 2501, settle_ms: 0 });
    assert_eq!(snapshot(&target).await, snapshot(&source).await);

    // Importing again changes nothing: records are upserts.
    import_str(&target, std::str::from_utf8(&out).unwrap(), 700).await.unwrap();
    assert_eq!(snapshot(&target).await, snapshot(&source).await);
}

#[tokio::test]
async fn export_can_choose_kinds_and_refuses_unknown_ones() {
    let source = store().await;
    source.insert("a", "1", &[1.0], 1).await.unwrap();
    source.insert("b", "1", &[1.0], 1).await.unwrap();
    let mut out = Vec::new();
    let options = ExportOptions { kinds: vec!["b".into()], ..Default::default() };
    let summary = export(&source, &mut out, &options, &mut |_| {}).await.unwrap();
    assert_eq!(summary.records, 1);
    assert!(String::from_utf8(out).unwrap().lines().all(|l| l.contains("\"kind\":\"b\"")));
    let options = ExportOptions { kinds: vec!["c".into()], ..Default::default() };
    let err = export(&source, &mut Vec::new(), &options, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn a_bad_line_stops_the_import_naming_it_and_keeps_only_whole_earlier_batches() {
    let mut lines = vec![r#"{"kind":"ja3","dim":2,"metric":"l2"}"#.to_owned()];
    for i in 0..10 {
        lines.push(format!(r#"{{"kind":"ja3","id":"r{i}","vector":[{i},1]}}"#));
    }
    // Line 9 (1-based) is the 8th record: batches of 3 are r0-r2, r3-r5 (written), r6-r8 (not).
    lines[8] = r#"{"kind":"ja3","id":"r7","vector":[1,"x"]}"#.to_owned();
    let target = store().await;
    let err = import_str(&target, &lines.join("\n"), 3).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().starts_with("line 9:"), "{err}");
    let ids: Vec<String> = target.scan("ja3", None, 100).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["r0", "r1", "r2", "r3", "r4", "r5"]);
}

#[tokio::test]
async fn every_kind_of_bad_line_is_named() {
    let cases = [
        ("not json", ErrorKind::InvalidArgument),
        ("[1,2]", ErrorKind::InvalidArgument),
        (r#"{"id":"x","vector":[1]}"#, ErrorKind::InvalidArgument),
        (r#"{"kind":"Bad","id":"x","vector":[1]}"#, ErrorKind::InvalidKind),
        (r#"{"kind":"ja3","id":"","vector":[1]}"#, ErrorKind::InvalidId),
        (r#"{"kind":"ja3","id":"x","vector":[]}"#, ErrorKind::InvalidVector),
        (r#"{"kind":"ja3","id":"x","vector":[1e39]}"#, ErrorKind::InvalidVector),
        (r#"{"kind":"ja3","id":"x","vector":[1],"extractor_version":0}"#, ErrorKind::InvalidArgument),
        (r#"{"kind":"ja3","id":"x","vector":[1,2],"dim":3}"#, ErrorKind::InvalidArgument),
        (r#"{"kind":"ja3","id":"x","vector":[1,2,3]}"#, ErrorKind::DimensionMismatch),
        (r#"{"kind":"ja3","dim":2,"metric":"cosine"}"#, ErrorKind::MetricMismatch),
        (r#"{"kind":"ja3","dim":5,"metric":"l2"}"#, ErrorKind::DimensionMismatch),
        (r#"{"kind":"new","dim":2,"metric":"hamming"}"#, ErrorKind::InvalidArgument),
    ];
    for (line, kind) in cases {
        let target = store().await;
        target.insert_many("ja3", &[NewVector::new("seed", vec![1.0, 2.0])]).await.unwrap();
        let text = format!("{}\n\n{line}\n", r#"{"kind":"ja3","id":"ok","vector":[3,4]}"#);
        let err = import_str(&target, &text, 100).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{line}: {err}");
        assert!(err.message().starts_with("line 3:"), "{line}: {err}");
        assert!(target.get("ja3", "ok").await.unwrap().is_none(), "{line}: the batch with the bad line was written");
    }
}

#[tokio::test]
async fn export_format_is_one_object_per_line() {
    let source = store().await;
    let written = 1_764_633_600_123;
    source
        .insert_many(
            "ja3",
            &[NewVector::new("a", vec![0.5, -0.0]).with_extractor_version(2).with_written_at_ms(written)],
        )
        .await
        .unwrap();
    let text = export_to_string(&source).await.unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], serde_json::json!({"kind": "ja3", "dim": 2, "metric": "l2"}));
    assert_eq!(
        lines[1],
        serde_json::json!({
            "kind": "ja3", "id": "a", "vector": [0.5, -0.0], "dim": 2, "extractor_version": 2, "written_at_ms": written
        })
    );
}

#[tokio::test]
async fn binary_round_trip_is_bit_exact_and_smaller() {
    let source = store().await;
    source.create_kind("wide", 64, Metric::Dot).await.unwrap();
    let mut rng = Rng::new(3);
    for i in 0..300 {
        source.insert("wide", &format!("id-{i}"), &rng.gaussian_vector(64), 1 + i % 4).await.unwrap();
    }
    let binary_options = ExportOptions { format: Format::Binary, ..Default::default() };
    let mut binary = Vec::new();
    export(&source, &mut binary, &binary_options, &mut |_| {}).await.unwrap();
    let json = export_to_string(&source).await.unwrap();
    assert!(binary.len() * 2 < json.len(), "binary {} bytes vs JSON {}", binary.len(), json.len());

    let target = store().await;
    let options = ImportOptions { batch_size: 64, format: Format::Binary };
    let summary = import(&target, &mut Cursor::new(&binary), &options, &mut |_| {}).await.unwrap();
    assert_eq!(summary.records, 300);
    assert_eq!(snapshot(&target).await, snapshot(&source).await);

    // A truncated file is an error, not a silent partial import; nothing of its last batch lands.
    let truncated = &binary[..binary.len() - 100];
    let target = store().await;
    let err = import(&target, &mut Cursor::new(truncated), &options, &mut |_| {}).await.unwrap_err();
    assert!(err.message().contains("truncated"), "{err}");
    assert_eq!(target.kinds().await.unwrap()[0].count % 64, 0, "whole batches only");

    // Garbage is refused without allocating what its lengths claim.
    let err = import(
        &store().await,
        &mut Cursor::new(b"DNVSTORE\x01\0\0\0R\x03ja3\xff\xff".as_slice()),
        &options,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidId, "{err}");
    let err =
        import(&store().await, &mut Cursor::new(b"not a file".as_slice()), &options, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

/// A binary export of format version 1 (no write times), written by the last build of that
/// format (see `tests/fixtures/README.md`), imports with every record and kind intact; its
/// records count as written at the import.
#[tokio::test]
async fn a_version_1_binary_export_still_imports() {
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/export-v1.bin")).unwrap();
    let target = store().await;
    let before = vectorstore::now_ms();
    let options = ImportOptions { format: Format::Binary, ..Default::default() };
    let summary = import(&target, &mut Cursor::new(file), &options, &mut |_| {}).await.unwrap();
    assert_eq!((summary.kinds, summary.records), (3, 4));
    let kinds: Vec<(String, usize, Metric, u64)> =
        target.kinds().await.unwrap().into_iter().map(|k| (k.kind, k.dim, k.metric, k.count)).collect();
    assert_eq!(
        kinds,
        [
            ("emptied".into(), 4, Metric::L2, 0),
            ("hassh".into(), 2, Metric::Cosine, 1),
            ("ja3".into(), 3, Metric::L2, 3)
        ]
    );
    let b = target.get("ja3", "session-b").await.unwrap().expect("imported");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&b.vector), bits(&[1e-7, 3.402_823_5e38, -0.0]));
    assert_eq!(b.extractor_version, 2);
    assert!((before..=vectorstore::now_ms()).contains(&b.written_at_ms), "{b:?}");
    assert_eq!(target.get("hassh", "attacker-1").await.unwrap().map(|r| r.extractor_version), Some(3));
}

/// Write times survive an export and an import in both formats; a JSON line without one is
/// written at the import, and one that is not a whole number is refused with its line.
#[tokio::test]
async fn write_times_survive_export_and_import() {
    let source = store().await;
    let items = [
        NewVector::new("old", vec![1.0, 2.0]).with_written_at_ms(1_000_000_000_000),
        NewVector::new("epoch", vec![3.0, 4.0]).with_written_at_ms(0),
    ];
    source.insert_many("ja3", &items).await.unwrap();
    for format in [Format::JsonLines, Format::Binary] {
        let mut out = Vec::new();
        export(&source, &mut out, &ExportOptions { format, ..Default::default() }, &mut |_| {}).await.unwrap();
        let target = store().await;
        import(&target, &mut Cursor::new(out), &ImportOptions { format, ..Default::default() }, &mut |_| {})
            .await
            .unwrap();
        for (id, time) in [("old", 1_000_000_000_000), ("epoch", 0)] {
            let record = target.get("ja3", id).await.unwrap().expect("imported");
            assert_eq!(record.written_at_ms, time, "{format:?}: {id}");
        }
    }
    let target = store().await;
    let before = vectorstore::now_ms();
    import_str(&target, r#"{"kind":"ja3","id":"untimed","vector":[1,2]}"#, 10).await.unwrap();
    let untimed = target.get("ja3", "untimed").await.unwrap().expect("imported");
    assert!((before..=vectorstore::now_ms()).contains(&untimed.written_at_ms));
    let err = import_str(&target, r#"{"kind":"ja3","id":"bad","vector":[1,2],"written_at_ms":-3}"#, 10)
        .await
        .expect_err("a negative time");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.message().contains("written_at_ms") && err.message().contains("line 1"), "{err}");
    let future = vectorstore::now_ms() + 3 * 86_400_000;
    let line = format!(r#"{{"kind":"ja3","id":"late","vector":[1,2],"written_at_ms":{future}}}"#);
    let err = import_str(&target, &line, 10).await.expect_err("a time days ahead");
    assert!(err.message().contains(&future.to_string()), "{err}");
    assert!(target.get("ja3", "late").await.unwrap().is_none());
}

/// An endless line of digits, counting what was read from it.
struct Endless {
    served: usize,
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = b"{\"kind\":\"ja3\",\"id\":\"a\",\"vector\":[";
        for (i, byte) in buf.iter_mut().enumerate() {
            let at = self.served + i;
            *byte = if at < start.len() {
                start[at]
            } else if at.is_multiple_of(2) {
                b'1'
            } else {
                b','
            };
        }
        self.served += buf.len();
        Ok(buf.len())
    }
}

/// A line longer than the largest valid one is refused once the limit is read, without
/// reading on (a vector of 20 million numbers, or a line that never ends), and nothing is
/// written; the largest valid line still imports.
#[tokio::test]
async fn an_oversized_line_is_refused_without_reading_on() {
    use vectorstore::transfer::MAX_JSONL_LINE_BYTES;

    let target = store().await;
    target.insert("ja3", "kept", &[1.0; 4], 1).await.unwrap();
    let mut endless = std::io::BufReader::new(Endless { served: 0 });
    let err = import(&target, &mut endless, &ImportOptions::default(), &mut |_| {}).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("line 1"), "names the line: {err}");
    let served = endless.get_ref().served;
    assert!(served <= MAX_JSONL_LINE_BYTES + 64 * 1024, "read {served} bytes for a limit of {MAX_JSONL_LINE_BYTES}");
    assert_eq!(target.scan_all("ja3", 100).await.unwrap().len(), 1, "the store is as it was");

    // After good lines: the good batch before it is kept, the import stops at the long line.
    let mut text = String::from("{\"kind\":\"hassh\",\"id\":\"h\",\"vector\":[1.0]}\n");
    text.push_str(&format!(
        "{{\"kind\":\"hassh\",\"id\":\"x\",\"vector\":[{}1]}}\n",
        "1,".repeat(MAX_JSONL_LINE_BYTES)
    ));
    let err = import_str(&target, &text, 1).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("line 2"), "names the line: {err}");

    // The largest valid record: 4,096 components in a long spelling, an id of 512 bytes that
    // all need escaping.
    let id = "\u{1}".repeat(vectorstore::limits::MAX_ID_BYTES);
    let components = vec!["-1.17549435082228750796873653722e-38"; vectorstore::limits::MAX_DIM].join(", ");
    let line =
        format!("{{\"kind\":\"wide\",\"id\":{},\"vector\":[{components}]}}\n", serde_json::to_string(&id).unwrap());
    assert!(line.len() < MAX_JSONL_LINE_BYTES, "{} bytes", line.len());
    import_str(&target, &line, 10).await.expect("the largest valid line imports");
    assert_eq!(target.get("wide", &id).await.unwrap().expect("stored").vector.len(), vectorstore::limits::MAX_DIM);
}
