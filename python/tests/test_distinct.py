"""``knn_distinct`` on every store: the nearest distinct vectors, each with how many records share
it and its first ids, equal to a brute force over the data the test wrote."""

import dataclasses
import math
import pathlib
import pickle
from collections.abc import AsyncIterator

import pytest

from decnet_vectorstore import (
    DistinctNeighbor,
    FakeVectorStore,
    VectorStore,
    errors,
)

from conftest import dispose, open_backend

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["fake", "sqlite_vec", "pgvector", "qdrant"])
async def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[VectorStore]:
    s = open_backend(request.param, request, tmp_path)
    await s.initialize()
    yield s
    await dispose(s)


def brute_force(
    data: dict[str, tuple[tuple[float, ...], int]],
    query: list[float],
    k: int,
    ids: int,
    version: int | None = None,
) -> list[tuple[float, int, tuple[str, ...]]]:
    """Every record grouped by its vector, l2 distances, sorted by (distance, smallest id)."""
    groups: dict[tuple[float, ...], list[str]] = {}
    for record_id in sorted(data):
        vector, record_version = data[record_id]
        if version is None or version == record_version:
            groups.setdefault(vector, []).append(record_id)
    ranked = sorted((math.dist(vector, query), members) for vector, members in groups.items())
    return [(d, len(members), tuple(members[:ids])) for d, members in ranked[:k]]


async def test_knn_distinct_counts_shared_vectors(store: VectorStore) -> None:
    # A botnet: 60 sessions replay one vector; 3 share another; 40 are alone.
    data: dict[str, tuple[tuple[float, ...], int]] = {}
    for n in range(60):
        data[f"bot-{(n * 37) % 60:03d}"] = ((1.0, 1.0, 1.0), 1 + n % 2)
    for n in range(3):
        data[f"pair-{n}"] = ((1.0, 1.0, 3.0), 1)
    for n in range(40):
        data[f"lone-{n:02d}"] = ((float(n % 7), float(n // 7), 5.0 + n), 1)
    ids = list(data)
    await store.insert_many("ja3", ids, [list(data[i][0]) for i in ids], [data[i][1] for i in ids])

    query = [1.0, 1.0, 1.0]
    for k, ids_per_vector, version in [(1, 5, None), (3, 2, None), (100, 1, None), (5, 0, None), (4, 3, 2)]:
        got = await store.knn_distinct("ja3", query, k, ids_per_vector=ids_per_vector, extractor_version=version)
        want = brute_force(data, query, k, ids_per_vector, version)
        assert [(g.count, g.ids) for g in got] == [(w[1], w[2]) for w in want], (k, ids_per_vector, version)
        assert [g.distance for g in got] == pytest.approx([w[0] for w in want], rel=1e-5)
        assert all(g.kind == "ja3" for g in got)

    top = (await store.knn_distinct("ja3", query, 1, ids_per_vector=3))[0]
    assert (top.distance, top.count, top.ids) == (0.0, 60, ("bot-000", "bot-001", "bot-002"))
    near = await store.knn_distinct("ja3", query, 10, max_distance=2.0)
    assert [(g.count, g.distance) for g in near] == [(60, 0.0), (3, 2.0)]

    # Deletes inside the group are counted out, and its smallest ids move on.
    await store.delete_many("ja3", ["bot-000", "bot-001"])
    top = (await store.knn_distinct("ja3", query, 1, ids_per_vector=2))[0]
    assert (top.count, top.ids) == (58, ("bot-002", "bot-003"))

    assert await store.knn_distinct("unknown", query, 3) == []
    assert await store.knn_distinct("ja3", query, 0) == []
    with pytest.raises(errors.InvalidArgument):
        await store.knn_distinct("ja3", query, 3, ids_per_vector=1001)
    with pytest.raises(errors.InvalidArgument):
        await store.knn_distinct("ja3", query, 3, ids_per_vector=-1)
    with pytest.raises(errors.DimensionMismatch):
        await store.knn_distinct("ja3", [1.0, 2.0], 3)


async def test_distinct_neighbors_are_frozen_dataclasses() -> None:
    store = FakeVectorStore()
    await store.initialize()
    await store.insert("ja3", "a", [1.0, 2.0])
    await store.insert("ja3", "b", [1.0, 2.0])
    (group,) = await store.knn_distinct("ja3", [1.0, 2.0], 5)
    assert isinstance(group, DistinctNeighbor)
    assert group == DistinctNeighbor(kind="ja3", distance=0.0, count=2, ids=("a", "b"))
    assert hash(group) == hash(DistinctNeighbor("ja3", 0.0, 2, ("a", "b")))
    assert pickle.loads(pickle.dumps(group)) == group
    assert dataclasses.asdict(group)["count"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        group.count = 3  # type: ignore[misc]
    await store.close()
