//! A peer of a three-peer Qdrant cluster killed (SIGKILL) and restarted while writers and
//! readers run against another peer. Kinds have 3 shards of 2 replicas and every acknowledged
//! write is applied by both (`WRITE_CONSISTENCY=all`).
//!
//! Reads must keep answering; a write either succeeds or fails with `Unavailable` (its outcome
//! is then unknown: Qdrant may have applied it on the surviving replica); after the restart
//! every acknowledged write must be there. Writers then write again what failed, as a client
//! retrying an `Unavailable` would, and the store, read through the client's peer and through
//! the restarted one, must hold exactly what a Fake replaying every writer's log holds.
//! Needs a `qdrant` executable; skipped, loudly, otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vectorstore_conformance::Unavailable;
use vectorstore_conformance::data::Rng;
use vectorstore_core::{
    Config, Error, ErrorKind, FakeVectorStore, KnnOptions, Metric, NewVector, VectorRecord, VectorStore,
};
use vectorstore_qdrant::{NAME, QdrantStore};
use vectorstore_testkit::servers::qdrant::{CLUSTER_PEERS, dedicated_cluster, skip_without_dedicated};

const KINDS: [(&str, usize, Metric); 2] = [("ja3", 8, Metric::L2), ("hassh", 4, Metric::Cosine)];
const WRITERS: usize = 3;
const READERS: usize = 2;
const IDS_PER_WRITER: usize = 40;
/// Running before the kill, while the peer is down, and after it is back.
const BEFORE: Duration = Duration::from_secs(2);
const OUTAGE: Duration = Duration::from_secs(8);
const AFTER: Duration = Duration::from_secs(3);

/// The state a write leaves an id in: a vector and its version, or nothing.
type State = Option<(Vec<f32>, u32)>;

/// One writer's view of its ids (no other writer touches them).
#[derive(Default)]
struct Writer {
    /// Every write, in order, with whether it was acknowledged.
    log: Vec<(&'static str, String, State, bool)>,
    acknowledged: u64,
    failed: u64,
    failed_during_outage: u64,
    acknowledged_during_outage: u64,
    errors: BTreeMap<String, u64>,
    /// The first message of each kind of error.
    samples: BTreeMap<String, String>,
}

#[derive(Default)]
struct Reader {
    ok: u64,
    ok_during_outage: u64,
    errors: BTreeMap<String, u64>,
}

fn state_of(record: Option<VectorRecord>) -> State {
    record.map(|r| (r.vector, r.extractor_version))
}

fn same(a: &State, b: &State) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some((va, xa)), Some((vb, xb))) => {
            xa == xb && va.len() == vb.len() && va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        _ => false,
    }
}

fn id(writer: usize, n: usize) -> String {
    format!("w{writer}-{n:03}")
}

fn vector(rng: &mut Rng, dim: usize) -> Vec<f32> {
    let mut v = rng.gaussian_vector(dim);
    v[0] += 0.5;
    v
}

async fn write_loop(store: Arc<QdrantStore>, writer: usize, stop: Arc<AtomicBool>, outage: Arc<AtomicBool>) -> Writer {
    let mut rng = Rng::new(0xfa17 + writer as u64);
    let mut out = Writer::default();
    while !stop.load(Ordering::Relaxed) {
        let (kind, dim, _) = KINDS[rng.below(KINDS.len())];
        let during = outage.load(Ordering::Relaxed);
        let choice = rng.below(10);
        let (writes, result): (Vec<(String, State)>, Result<(), Error>) = if choice < 6 {
            let (n, v, version) = (rng.below(IDS_PER_WRITER), vector(&mut rng, dim), 1 + rng.below(3) as u32);
            let result = store.insert(kind, &id(writer, n), &v, version).await;
            (vec![(id(writer, n), Some((v, version)))], result)
        } else if choice < 8 {
            let items: Vec<NewVector> = (0..1 + rng.below(5))
                .map(|_| NewVector::new(id(writer, rng.below(IDS_PER_WRITER)), vector(&mut rng, dim)))
                .collect();
            let result = store.insert_many(kind, &items).await;
            // The last of a repeated id wins.
            (items.into_iter().map(|item| (item.id, Some((item.vector, 1)))).collect(), result)
        } else {
            let n = rng.below(IDS_PER_WRITER);
            (vec![(id(writer, n), None)], store.delete(kind, &id(writer, n)).await.map(|_| ()))
        };
        let acknowledged = result.is_ok();
        match result {
            Ok(()) if during => out.acknowledged_during_outage += 1,
            Ok(()) => {}
            Err(err) => {
                *out.errors.entry(format!("{:?}", err.kind())).or_default() += 1;
                out.samples.entry(format!("{:?}", err.kind())).or_insert_with(|| err.to_string());
                out.failed_during_outage += u64::from(during);
                if err.kind() != ErrorKind::Unavailable {
                    *out.errors.entry(format!("not Unavailable: {err}")).or_default() += 1;
                }
            }
        }
        if acknowledged {
            out.acknowledged += 1;
        } else {
            out.failed += 1;
        }
        for (id, state) in writes {
            out.log.push((kind, id, state, acknowledged));
        }
    }
    out
}

async fn read_loop(store: Arc<QdrantStore>, reader: usize, stop: Arc<AtomicBool>, outage: Arc<AtomicBool>) -> Reader {
    let mut rng = Rng::new(0x4ead + reader as u64);
    let mut out = Reader::default();
    while !stop.load(Ordering::Relaxed) {
        let (kind, dim, _) = KINDS[rng.below(KINDS.len())];
        let during = outage.load(Ordering::Relaxed);
        let result = match rng.below(3) {
            0 => store.get(kind, &id(rng.below(WRITERS), rng.below(IDS_PER_WRITER))).await.map(|_| ()),
            1 => store.knn_with(kind, &vector(&mut rng, dim), &KnnOptions::new(10)).await.map(|_| ()),
            _ => store.scan(kind, None, 50).await.map(|_| ()),
        };
        match result {
            Ok(()) => {
                out.ok += 1;
                out.ok_during_outage += u64::from(during);
            }
            Err(err) => *out.errors.entry(format!("{:?}: {err}", err.kind())).or_default() += 1,
        }
    }
    out
}

/// Every record of `kind`, by id, read with `scan`.
async fn contents(store: &dyn VectorStore, kind: &str) -> BTreeMap<String, State> {
    let mut all = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.scan(kind, after.as_deref(), 500).await.unwrap();
        let full = page.len() == 500;
        after = page.last().map(|r| r.id.clone());
        for record in page {
            all.insert(record.id.clone(), state_of(Some(record)));
        }
        if !full {
            return all;
        }
    }
}

/// How many ids hold another state in `b` than in `a`; each is printed.
#[allow(clippy::print_stderr)]
fn differences(a: &BTreeMap<String, State>, b: &BTreeMap<String, State>) -> usize {
    let ids: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let differ: Vec<&String> =
        ids.into_iter().filter(|id| !same(a.get(*id).unwrap_or(&None), b.get(*id).unwrap_or(&None))).collect();
    for id in &differ {
        eprintln!("{id}: the Fake replay holds {:?}, the store {:?}", a.get(*id), b.get(*id));
    }
    differ.len()
}

async fn open(config: &Config) -> Arc<QdrantStore> {
    let store = QdrantStore::from_config(config).unwrap();
    store.initialize().await.unwrap();
    Arc::new(store)
}

#[allow(clippy::print_stderr)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_killed_and_restarted_loses_no_acknowledged_write() {
    let started = Instant::now();
    let mut cluster = match dedicated_cluster().await {
        Ok(cluster) => cluster,
        Err(Unavailable(reason)) => return skip_without_dedicated("cluster_faults", &reason),
    };
    let cluster_up = started.elapsed();
    // The client talks to peer 0; the last peer is killed.
    let victim = CLUSTER_PEERS - 1;
    let options = |config: Config| {
        config
            .with_option(NAME, "SHARD_NUMBER", "3")
            .with_option(NAME, "REPLICATION_FACTOR", "2")
            .with_option(NAME, "WRITE_CONSISTENCY", "all")
            .with_option(NAME, "TIMEOUT_MS", "10000")
            .with_option(NAME, "COLLECTION_PREFIX", "faults_")
    };
    // Creating collections goes through consensus, slow on a busy machine: not under the
    // shorter timeout the workload uses (so that a write to a dead peer fails in seconds).
    let setup = open(&options(cluster.config()).with_option(NAME, "TIMEOUT_MS", "90000")).await;
    for (kind, dim, metric) in KINDS {
        setup.create_kind(kind, dim, metric).await.unwrap();
    }
    // A kind only scanned while the peer is down, whose sort indexes do not exist (as in a
    // collection created before they were made with it: built by the first scan that needs
    // them, a write the cluster refuses then).
    let cold: Vec<NewVector> =
        (0..300).map(|n| NewVector::new(format!("cold-{:03}", (n * 7) % 300), vec![n as f32, 1.0, 2.0])).collect();
    setup.create_kind("cold", 3, Metric::L2).await.unwrap();
    setup.insert_many("cold", &cold).await.unwrap();
    let api_key = vectorstore_qdrant::QdrantConfig::from_config(&cluster.config()).unwrap().api_key;
    let raw =
        qdrant_client::Qdrant::from_url(&cluster.url()).api_key(api_key).skip_compatibility_check().build().unwrap();
    for field in vectorstore_qdrant::codec::SORT_FIELDS {
        raw.delete_field_index(
            qdrant_client::qdrant::DeleteFieldIndexCollectionBuilder::new("faults_cold", field).wait(true),
        )
        .await
        .unwrap();
    }
    let store = open(&options(cluster.config())).await;

    let (stop, outage) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let writers: Vec<_> =
        (0..WRITERS).map(|w| tokio::spawn(write_loop(store.clone(), w, stop.clone(), outage.clone()))).collect();
    let readers: Vec<_> =
        (0..READERS).map(|r| tokio::spawn(read_loop(store.clone(), r, stop.clone(), outage.clone()))).collect();
    tokio::time::sleep(BEFORE).await;
    cluster.kill(victim).await;
    outage.store(true, Ordering::Relaxed);
    let down = Instant::now();
    let mut cold_ids = Vec::new();
    loop {
        let page =
            store.scan("cold", cold_ids.last().map(String::as_str), 50).await.expect("a scan while a peer is down");
        cold_ids.extend(page.iter().map(|r| r.id.clone()));
        if page.len() < 50 {
            break;
        }
    }
    let cold_scan = down.elapsed();
    let mut expected: Vec<String> = cold.iter().map(|item| item.id.clone()).collect();
    expected.sort();
    assert!(cold_ids == expected, "a kind without sort indexes scanned while a peer is down: {cold_ids:?}");
    tokio::time::sleep(OUTAGE.saturating_sub(cold_scan)).await;
    cluster.start(victim).await.expect("the killed peer starts again and rejoins");
    outage.store(false, Ordering::Relaxed);
    let outage_lasted = down.elapsed();
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::Relaxed);
    let mut writers_out = Vec::new();
    for writer in writers {
        writers_out.push(writer.await.unwrap());
    }
    let mut readers_out = Vec::new();
    for reader in readers {
        readers_out.push(reader.await.unwrap());
    }

    // Every acknowledged write is there: an id holds the state of its last acknowledged write,
    // or of a later write that failed (it may have been applied).
    let mut lost = 0;
    let mut acknowledged_ids = 0;
    for (kind, _, _) in KINDS {
        let stored = contents(&*store, kind).await;
        let mut allowed: BTreeMap<&str, (State, Vec<State>)> = BTreeMap::new();
        for (k, id, state, acknowledged) in writers_out.iter().flat_map(|w| &w.log) {
            if *k != kind {
                continue;
            }
            let entry = allowed.entry(id.as_str()).or_insert((None, Vec::new()));
            if *acknowledged {
                *entry = (state.clone(), Vec::new());
            } else {
                entry.1.push(state.clone());
            }
        }
        for (id, (last_acknowledged, maybe)) in &allowed {
            acknowledged_ids += usize::from(maybe.is_empty());
            let found = stored.get(*id).cloned().unwrap_or(None);
            if !same(&found, last_acknowledged) && !maybe.iter().any(|state| same(&found, state)) {
                lost += 1;
                eprintln!("{kind}/{id}: holds {found:?}, acknowledged {last_acknowledged:?}, maybe {maybe:?}");
            }
        }
        let unknown = stored.keys().filter(|id| !allowed.contains_key(id.as_str())).count();
        assert_eq!(unknown, 0, "{kind}: records nobody wrote");
    }

    // Writers write again whatever failed last, until acknowledged; then the store must hold
    // exactly what a Fake replaying every log holds, through either peer.
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.unwrap();
    for (kind, dim, metric) in KINDS {
        oracle.create_kind(kind, dim, metric).await.unwrap();
    }
    let mut repaired = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    for writer in &writers_out {
        let mut last: BTreeMap<(&str, &str), (&State, bool)> = BTreeMap::new();
        for (kind, id, state, acknowledged) in &writer.log {
            last.insert((kind, id.as_str()), (state, *acknowledged));
            match state {
                Some((v, version)) => oracle.insert(kind, id, v, *version).await.unwrap(),
                None => {
                    oracle.delete(kind, id).await.unwrap();
                }
            }
        }
        for ((kind, id), (state, _)) in last.into_iter().filter(|(_, (_, acknowledged))| !acknowledged) {
            repaired += 1;
            loop {
                let result = match state {
                    Some((v, version)) => store.insert(kind, id, v, *version).await,
                    None => store.delete(kind, id).await.map(|_| ()),
                };
                match result {
                    Ok(()) => break,
                    Err(err) if err.kind() == ErrorKind::Unavailable && Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(err) => panic!("{kind}/{id} cannot be written again after the restart: {err}"),
                }
            }
        }
    }
    // Compared once the restarted peer's replicas have caught up (Active, no transfer left):
    // before that a read it routes to its own copy may see an older state.
    for kind in KINDS.iter().map(|(kind, _, _)| kind) {
        cluster.wait_replicas_active(&format!("faults_{kind}")).await.expect("the replicas catch up");
        // The kind's companion of distinct vectors, which searches read.
        cluster.wait_replicas_active(&format!("faults_{kind}-distinct")).await.expect("the replicas catch up");
    }
    let restarted = open(&options(cluster.peer_config(victim))).await;
    let mut mismatches = 0;
    let mut records = 0;
    for (kind, dim, _) in KINDS {
        let expected = contents(&oracle, kind).await;
        records += expected.len();
        let through_client = contents(&*store, kind).await;
        let through_restarted = contents(&*restarted, kind).await;
        mismatches += differences(&expected, &through_client) + differences(&expected, &through_restarted);
        let mut rng = Rng::new(7);
        for _ in 0..10 {
            let query = vector(&mut rng, dim);
            let want = oracle.knn(kind, &query, 5).await.unwrap();
            for store in [&store, &restarted] {
                let got = store.knn(kind, &query, 5).await.unwrap();
                let ids = |hits: &[vectorstore_core::Neighbor]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
                if ids(&got) != ids(&want) {
                    eprintln!("{kind}: knn answered {got:?}, the Fake replay {want:?}");
                    mismatches += 1;
                }
            }
        }
    }

    let sum = |f: &dyn Fn(&Writer) -> u64| writers_out.iter().map(f).sum::<u64>();
    let mut write_errors: BTreeMap<String, u64> = BTreeMap::new();
    for (kind, n) in writers_out.iter().flat_map(|w| &w.errors) {
        *write_errors.entry(kind.clone()).or_default() += n;
    }
    let mut read_errors: BTreeMap<String, u64> = BTreeMap::new();
    for (kind, n) in readers_out.iter().flat_map(|r| &r.errors) {
        *read_errors.entry(kind.clone()).or_default() += n;
    }
    let samples: BTreeMap<&String, &String> = writers_out.iter().flat_map(|w| &w.samples).collect();
    let reads_ok: u64 = readers_out.iter().map(|r| r.ok).sum();
    let reads_during: u64 = readers_out.iter().map(|r| r.ok_during_outage).sum();
    eprintln!(
        "cluster fault (peer {victim} of {CLUSTER_PEERS} killed with SIGKILL, down {:.1} s; cluster up in {:.1} s, \
         test {:.1} s):\n  writes: {} acknowledged ({} during the outage), {} failed ({} during the outage); \
         errors by kind {write_errors:?}, e.g. {samples:?}\n  reads: {reads_ok} answered ({reads_during} during the outage); errors \
         {read_errors:?}\n  acknowledged writes lost: {lost} (of {acknowledged_ids} ids whose last write was \
         acknowledged); written again after the restart: {repaired}; records {records}; differences from the \
         Fake replay, through peer 0 and through the restarted peer: {mismatches}\n  a kind without sort \
         indexes scanned while the peer was down: {} records in {:.1} s",
        outage_lasted.as_secs_f64(),
        cluster_up.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        sum(&|w| w.acknowledged),
        sum(&|w| w.acknowledged_during_outage),
        sum(&|w| w.failed),
        sum(&|w| w.failed_during_outage),
        cold_ids.len(),
        cold_scan.as_secs_f64(),
    );
    assert_eq!(lost, 0, "acknowledged writes lost");
    assert!(
        write_errors.keys().all(|kind| kind == "Unavailable"),
        "write errors other than Unavailable: {write_errors:?}"
    );
    assert!(read_errors.is_empty(), "reads failed: {read_errors:?}");
    assert!(reads_during > 0, "no read answered during the outage");
    assert!(sum(&|w| w.acknowledged) > 0);
    assert_eq!(mismatches, 0, "differences from the Fake replay after the restart");
    for (kind, _, _) in KINDS {
        setup.drop_kind(kind).await.unwrap();
    }
    setup.drop_kind("cold").await.unwrap();
}
