"""How much the Python layer adds: knn per call and insert_many from numpy, Python vs Rust.

    python bench.py [--rust-baseline JSON_OR_BINARY]

Runs the same calls on the same seeded data as examples/rust_baseline.rs (best of 5 rounds each) (which it runs with
cargo, profile `wheel` as the wheel, unless given its output or binary), on the Fake store and on sqlite_vec, and
prints a Markdown table. Use a release wheel (scripts/python-test builds one).

insert_many from a numpy array is compared with Rust's insert_many of items built beforehand
(the ratio, the strictest baseline: Rust's items cost nothing in the timing) and shown beside
Rust's insert_rows from one row-major buffer, which is what the package calls for an array.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

# numpy's BLAS threads poll for work after numpy calls and take CPU from the store's own
# threads; nothing measured here uses BLAS, and the Rust side has no such threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import decnet_vectorstore as dv

KNN_VECTORS, DIM, KNN_CALLS = 1_000, 128, 5_000
P50_VECTORS, P50_CALLS = 10_000, 1_000
INSERT_VECTORS, BATCH = 100_000, 10_000
ROUNDS = 5  # best round kept, on both sides: the least disturbed by other work on the machine
HERE = pathlib.Path(__file__).resolve().parent


def lcg(seed: int, count: int) -> np.ndarray:
    """The generator of rust_baseline.rs: the same float32 values."""
    state, mask = seed, (1 << 64) - 1
    values = []
    append = values.append
    for _ in range(count * DIM):
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        append(state >> 40)
    return (np.array(values, dtype=np.float64) / float(1 << 24)).astype(np.float32).reshape(count, DIM)


async def knn_micros(store: dv.VectorStore, as_list: bool) -> float:
    data = lcg(1, KNN_VECTORS)
    await store.insert_many("knn", [f"v{n:05}" for n in range(KNN_VECTORS)], data)
    queries = lcg(2, KNN_CALLS)
    rows = [q.tolist() for q in queries] if as_list else list(queries)
    for query in rows[:200]:
        await store.knn("knn", query, 10)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for query in rows:
            hits = await store.knn("knn", query, 10)
            assert len(hits) == 10
        best = min(best, (time.perf_counter() - started) * 1e6 / KNN_CALLS)
    return best


async def knn_p50_micros(store: dv.VectorStore) -> float:
    """The median time of one knn call on a kind of 10,000 x 128, each call timed alone (a numpy
    query, as DECNET's extractors produce); the lowest round median, as rust_baseline.rs."""
    data = lcg(4, P50_VECTORS)
    ids = [f"p{n:05}" for n in range(P50_VECTORS)]
    for start in range(0, P50_VECTORS, BATCH):
        await store.insert_many("p50", ids[start : start + BATCH], data[start : start + BATCH])
    queries = list(lcg(5, P50_CALLS))
    for query in queries[:100]:
        await store.knn("p50", query, 10)
    best = float("inf")
    clock = time.perf_counter
    for _ in range(ROUNDS):
        times = []
        for query in queries:
            started = clock()
            hits = await store.knn("p50", query, 10)
            times.append((clock() - started) * 1e6)
            assert len(hits) == 10
        times.sort()
        best = min(best, times[len(times) // 2])
    return best


async def insert_rate(store: dv.VectorStore) -> float:
    data = lcg(3, INSERT_VECTORS)
    ids = [f"i{n:06}" for n in range(INSERT_VECTORS)]
    best = 0.0
    for _ in range(ROUNDS):
        await store.drop_kind("bulk")
        started = time.perf_counter()
        for start in range(0, INSERT_VECTORS, BATCH):
            await store.insert_many("bulk", ids[start : start + BATCH], data[start : start + BATCH])
        best = max(best, INSERT_VECTORS / (time.perf_counter() - started))
    return best


async def python_side(directory: str) -> dict:
    results = {}
    for name, make in [("fake", dv.FakeVectorStore), ("sqlite_vec", lambda: dv.SqliteVecVectorStore(f"{directory}/py.sqlite"))]:
        store = make()
        await store.initialize()
        knn_numpy = await knn_micros(store, as_list=False)
        await store.drop_kind("knn")
        knn_list = await knn_micros(store, as_list=True)
        knn_p50 = await knn_p50_micros(store)
        rate = await insert_rate(store)
        await store.close()
        results[name] = {
            "knn_us": knn_numpy,
            "knn_list_us": knn_list,
            "knn_p50_10k_us": knn_p50,
            "insert_many_per_s": rate,
        }
    return results


def rust_side(given: str | None, directory: str) -> dict:
    if given and pathlib.Path(given).suffix == ".json":
        return json.loads(pathlib.Path(given).read_text())
    command = [given, directory] if given else [
        "cargo", "run", "--quiet", "--profile", "wheel", "--locked", "-p", "decnet-vectorstore-python",
        "--example", "rust_baseline", "--", directory,
    ]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True, cwd=HERE).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rust-baseline", help="rust_baseline's JSON output or binary (default: cargo run --profile wheel)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rust = rust_side(args.rust_baseline, directory)
        python = asyncio.run(python_side(directory))
    print(f"Python {sys.version.split()[0]}, {KNN_VECTORS} x {DIM} searched with k = 10 ({KNN_CALLS} calls), "
          f"{INSERT_VECTORS:,} x {DIM} inserted in batches of {BATCH:,}\n")
    print("| store | knn, Rust | knn, Python (numpy query) | overhead | knn, Python (list query) | overhead "
          "| insert_many, Rust | insert_rows, Rust | insert_many, Python (numpy) | Rust / Python |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in ("fake", "sqlite_vec"):
        r, p = rust[name], python[name]
        print(f"| {name} | {r['knn_us']:.1f} µs | {p['knn_us']:.1f} µs | {p['knn_us'] - r['knn_us']:+.1f} µs "
              f"| {p['knn_list_us']:.1f} µs | {p['knn_list_us'] - r['knn_us']:+.1f} µs "
              f"| {r['insert_many_per_s']:,.0f}/s | {r.get('insert_rows_per_s', float('nan')):,.0f}/s "
              f"| {p['insert_many_per_s']:,.0f}/s "
              f"| {r['insert_many_per_s'] / p['insert_many_per_s']:.2f}× |")
    print(f"\nknn p50, one call timed alone, {P50_VECTORS:,} x {DIM}, k = 10, numpy query:\n")
    print("| store | Rust | Python | overhead |")
    print("|---|---|---|---|")
    for name in ("fake", "sqlite_vec"):
        r, p = rust[name]["knn_p50_10k_us"], python[name]["knn_p50_10k_us"]
        print(f"| {name} | {r:.1f} µs | {p:.1f} µs | {p - r:+.1f} µs |")
    print("\n" + json.dumps({"rust": rust, "python": python}))


if __name__ == "__main__":
    main()
