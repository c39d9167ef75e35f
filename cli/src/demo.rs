//! The re-identification demo: a seeded synthetic population of attackers, each leaving
//! sessions whose behavioural fingerprints (one vector per kind) scatter around the attacker's
//! own profile. Most sessions are stored; the held-out ones are re-identified by nearest
//! neighbours, per kind and by a vote over all kinds, and scored against the truth.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use vectorstore::{Metric, NewVector, Result, VectorStore};

/// One feature family of the demo.
#[derive(Debug, Clone, Copy)]
struct DemoKind {
    name: &'static str,
    dim: usize,
    metric: Metric,
    /// Per-component session noise around the attacker's profile (profiles are N(0, 1)).
    noise: f32,
}

/// The kinds the demo writes: noisy enough that one kind alone misidentifies some sessions,
/// which the vote over kinds mostly repairs.
const KINDS: [DemoKind; 4] = [
    DemoKind { name: "demo_ja3", dim: 24, metric: Metric::L2, noise: 1.1 },
    DemoKind { name: "demo_hassh", dim: 16, metric: Metric::Cosine, noise: 0.95 },
    DemoKind { name: "demo_keystroke_dwell", dim: 32, metric: Metric::L2, noise: 1.25 },
    DemoKind { name: "demo_cmd_ngram", dim: 48, metric: Metric::Cosine, noise: 1.45 },
];

/// Neighbours consulted per kind for each held-out session.
const VOTE_K: usize = 5;

/// Size and seed of the synthetic population.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Number of attackers.
    pub attackers: usize,
    /// Sessions each attacker leaves.
    pub sessions_per_attacker: usize,
    /// Of those, how many are held out and re-identified.
    pub held_out_per_attacker: usize,
    /// Seed of the population.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { attackers: 40, sessions_per_attacker: 12, held_out_per_attacker: 2, seed: 2026 }
    }
}

/// How well one kind alone re-identified the held-out sessions.
#[derive(Debug, Clone, Serialize)]
pub struct KindScore {
    /// The kind.
    pub kind: String,
    /// Its dimension.
    pub dim: usize,
    /// Its metric.
    pub metric: Metric,
    /// Share of held-out sessions whose nearest stored session belongs to the right attacker.
    pub top1_accuracy: f64,
}

/// One held-out session and what the store said about it.
#[derive(Debug, Clone, Serialize)]
pub struct Identification {
    /// The held-out session.
    pub session: String,
    /// Who really produced it.
    pub attacker: String,
    /// Who the vote names.
    pub predicted: String,
    /// The winner's share of the vote.
    pub confidence: f64,
    /// Nearest stored session of the first kind, with its distance.
    pub nearest: Vec<(String, f32)>,
}

/// The demo's findings.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The backend that served the demo.
    pub backend: String,
    /// Attackers in the population.
    pub attackers: usize,
    /// Sessions stored (per kind).
    pub stored_sessions: usize,
    /// Sessions held out and re-identified.
    pub held_out_sessions: usize,
    /// Accuracy of each kind alone.
    pub kinds: Vec<KindScore>,
    /// Accuracy of the vote over every kind.
    pub combined_accuracy: f64,
    /// Vectors written per second while loading.
    pub load_vectors_per_second: f64,
    /// Mean milliseconds per knn query.
    pub mean_query_ms: f64,
    /// The first few identifications, for show.
    pub examples: Vec<Identification>,
}

fn attacker_name(attacker: usize) -> String {
    format!("attacker-{attacker:03}")
}

fn attacker_of(session_id: &str) -> &str {
    session_id.split_once('/').map_or(session_id, |(attacker, _)| attacker)
}

/// Runs the demo on `store` (initialised by the caller). Its kinds are prefixed `demo_` and
/// replaced if present. `progress` receives the number of vectors written so far and the total.
pub async fn run(
    store: &dyn VectorStore,
    options: &DemoOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<DemoReport> {
    let mut rng = vectorstore_conformance::data::Rng::new(options.seed);
    let sessions = options.sessions_per_attacker.max(2);
    let held_out = options.held_out_per_attacker.clamp(1, sessions - 1);
    let kinds: Vec<DemoKind> = KINDS
        .iter()
        .map(|k| if store.capabilities().supports(k.metric) { *k } else { DemoKind { metric: Metric::L2, ..*k } })
        .collect();

    // Profiles first, then sessions, so the population depends only on the seed.
    let profiles: Vec<Vec<Vec<f32>>> =
        kinds.iter().map(|k| (0..options.attackers).map(|_| rng.gaussian_vector(k.dim)).collect()).collect();
    let mut stored: Vec<Vec<NewVector>> = vec![Vec::new(); kinds.len()];
    let mut queries: Vec<(String, String, Vec<Vec<f32>>)> = Vec::new();
    for attacker in 0..options.attackers {
        for session in 0..sessions {
            let id = format!("{}/session-{session:02}", attacker_name(attacker));
            let vectors: Vec<Vec<f32>> = kinds
                .iter()
                .zip(&profiles)
                .map(|(k, p)| p[attacker].iter().map(|c| c + k.noise * rng.gaussian()).collect())
                .collect();
            if session < held_out {
                queries.push((id, attacker_name(attacker), vectors));
            } else {
                for (slot, vector) in vectors.into_iter().enumerate() {
                    stored[slot].push(NewVector::new(id.clone(), vector));
                }
            }
        }
    }

    let total = (stored.iter().map(Vec::len).sum::<usize>()) as u64;
    let mut written = 0u64;
    let started = Instant::now();
    for (kind, items) in kinds.iter().zip(&stored) {
        store.drop_kind(kind.name).await?;
        store.create_kind(kind.name, kind.dim, kind.metric).await?;
        for chunk in items.chunks(500) {
            store.insert_many(kind.name, chunk).await?;
            written += chunk.len() as u64;
            progress(written, total);
        }
    }
    let load_seconds = started.elapsed().as_secs_f64();

    let mut correct_per_kind = vec![0usize; kinds.len()];
    let mut correct_vote = 0usize;
    let mut examples = Vec::new();
    let mut query_count = 0usize;
    let started = Instant::now();
    for (session, attacker, vectors) in &queries {
        let mut votes: BTreeMap<String, f64> = BTreeMap::new();
        let mut first_kind_hits = Vec::new();
        for (slot, (kind, vector)) in kinds.iter().zip(vectors).enumerate() {
            let hits = store.knn(kind.name, vector, VOTE_K).await?;
            query_count += 1;
            if hits.first().is_some_and(|h| attacker_of(&h.id) == attacker) {
                correct_per_kind[slot] += 1;
            }
            for (rank, hit) in hits.iter().enumerate() {
                *votes.entry(attacker_of(&hit.id).to_owned()).or_default() += 1.0 / (1.0 + rank as f64);
            }
            if slot == 0 {
                first_kind_hits = hits.iter().take(3).map(|h| (h.id.clone(), h.distance)).collect();
            }
        }
        let total_votes: f64 = votes.values().sum();
        let (predicted, score) = votes
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(name, score)| (name.clone(), *score))
            .unwrap_or_default();
        if &predicted == attacker {
            correct_vote += 1;
        }
        if examples.len() < 5 {
            examples.push(Identification {
                session: session.clone(),
                attacker: attacker.clone(),
                predicted,
                confidence: if total_votes > 0.0 { score / total_votes } else { 0.0 },
                nearest: first_kind_hits,
            });
        }
    }
    let query_seconds = started.elapsed().as_secs_f64();
    let held = queries.len().max(1) as f64;
    Ok(DemoReport {
        backend: store.backend().to_owned(),
        attackers: options.attackers,
        stored_sessions: stored.first().map_or(0, Vec::len),
        held_out_sessions: queries.len(),
        kinds: kinds
            .iter()
            .zip(&correct_per_kind)
            .map(|(k, &c)| KindScore {
                kind: k.name.to_owned(),
                dim: k.dim,
                metric: k.metric,
                top1_accuracy: c as f64 / held,
            })
            .collect(),
        combined_accuracy: correct_vote as f64 / held,
        load_vectors_per_second: total as f64 / load_seconds.max(1e-9),
        mean_query_ms: query_seconds * 1000.0 / query_count.max(1) as f64,
        examples,
    })
}
