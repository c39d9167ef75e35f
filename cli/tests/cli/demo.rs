//! The re-identification demo finds attackers, and the vote over kinds beats each kind alone.

use vectorstore::{FakeVectorStore, VectorStore};
use vectorstore_cli::demo::{DemoOptions, run};

#[tokio::test]
async fn the_vote_reidentifies_attackers_better_than_any_single_kind() {
    let store = FakeVectorStore::new();
    store.initialize().await.unwrap();
    let options = DemoOptions { attackers: 30, sessions_per_attacker: 8, held_out_per_attacker: 2, seed: 7 };
    let mut last = (0, 0);
    let report = run(&store, &options, &mut |done, total| last = (done, total)).await.unwrap();
    assert_eq!(report.held_out_sessions, 60);
    assert_eq!(report.stored_sessions, 180);
    assert_eq!(last, (720, 720), "progress reaches the total (180 sessions x 4 kinds)");
    assert_eq!(report.kinds.len(), 4);
    let best_single = report.kinds.iter().map(|k| k.top1_accuracy).fold(0.0, f64::max);
    assert!(report.combined_accuracy >= 0.9, "{report:?}");
    assert!(report.combined_accuracy >= best_single, "{report:?}");
    assert!(report.kinds.iter().all(|k| k.top1_accuracy > 1.0 / 30.0 * 3.0), "every kind beats chance: {report:?}");
    // The demo leaves exactly its own kinds, with every stored session.
    let kinds = store.kinds().await.unwrap();
    assert!(kinds.iter().all(|k| k.kind.starts_with("demo_") && k.count == 180), "{kinds:?}");
    // Running again replaces the demo's kinds instead of adding to them.
    run(&store, &options, &mut |_, _| {}).await.unwrap();
    assert!(store.kinds().await.unwrap().iter().all(|k| k.count == 180));
}
