"""The original round trip on the real backends: sqlite_vec (a file per test), pgvector (a
schema per test on the session's server) and qdrant (a collection prefix per test)."""

import pathlib
from array import array
from collections.abc import AsyncIterator

import numpy as np
import pytest

from decnet_vectorstore import PgvectorVectorStore, VectorStore, errors

from conftest import PG_TEST_SERVER_OPTIONS, dispose, open_backend, present

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite_vec", "pgvector", "qdrant"])
async def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[VectorStore]:
    s = open_backend(request.param, request, tmp_path)
    await s.initialize()
    yield s
    await dispose(s)


async def test_round_trip(store: VectorStore) -> None:
    assert (await store.health())["vectors"] == 0
    await store.insert("ja3", "sess-1", [0.1, 0.2, 0.3])
    await store.insert("ja3", "sess-2", [0.1, 0.2, 0.4], extractor_version=2)
    rec = present(await store.get("ja3", "sess-1"))
    assert (rec.kind, rec.id, rec.dim, rec.extractor_version) == ("ja3", "sess-1", 3, 1)
    assert rec.vector == tuple(array("f", [0.1, 0.2, 0.3]).tolist())  # bit for bit as float32
    assert present(await store.get("ja3", "sess-2")).extractor_version == 2


async def test_knn_orders_by_distance(store: VectorStore) -> None:
    await store.insert("k", "near", [1.0, 0.0])
    await store.insert("k", "exact", [0.99, 0.01])
    await store.insert("k", "far", [0.0, 1.0])
    hits = await store.knn("k", [1.0, 0.0], k=3)
    assert [h.id for h in hits] == ["near", "exact", "far"]
    assert [h.kind for h in hits] == ["k", "k", "k"]
    assert hits[0].distance == pytest.approx(0.0)
    assert hits[2].distance == pytest.approx(2**0.5, rel=1e-6)
    assert await store.knn("unknown", [1.0, 0.0]) == []
    assert await store.knn("k", [1.0, 0.0], k=0) == []


async def test_dimension_mismatch_delete_and_health(store: VectorStore) -> None:
    await store.insert("k", "a", [1.0, 2.0])
    with pytest.raises(errors.DimensionMismatch, match="dim mismatch"):
        await store.insert("k", "b", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="dim mismatch"):
        await store.knn("k", [1.0])
    await store.insert("k", "a", [3.0, 4.0])
    assert present(await store.get("k", "a")).vector == (3.0, 4.0)
    await store.insert("b", "1", [1.0])
    health = await store.health()
    assert (health["ok"], health["kinds"], health["vectors"]) == (True, 2, 2)
    assert await store.delete("k", "a") is True
    assert await store.delete("k", "a") is False
    assert await store.get("k", "a") is None
    # The kind keeps its dimension after its last vector is gone.
    with pytest.raises(errors.DimensionMismatch):
        await store.insert("k", "c", [1.0])


async def test_an_array_writes_what_its_rows_as_lists_write(store: VectorStore) -> None:
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((40, 6)).astype(np.float32)
    ids = [f"s{n:02}" for n in range(40)]
    ids[7] = ids[3]  # a repeated id: the later row wins, as with lists
    versions = [1 + n % 3 for n in range(40)]
    await store.insert_many("arr", ids, vectors, extractor_version=versions)
    await store.insert_many("lst", ids, vectors.tolist(), extractor_version=versions)
    for n in sorted(set(ids)):
        from_array, from_lists = present(await store.get("arr", n)), present(await store.get("lst", n))
        assert (from_array.vector, from_array.extractor_version) == (from_lists.vector, from_lists.extractor_version)
    assert present(await store.get("arr", ids[3])).vector == tuple(vectors[7].tolist())
    bad = vectors.copy()
    bad[5, 2] = np.nan
    with pytest.raises(errors.InvalidVector, match="item 5"):
        await store.insert_many("arr", ids, bad)
    assert present(await store.get("arr", ids[5])).vector == tuple(vectors[5].tolist())


async def test_kind_info_and_settle(store: VectorStore) -> None:
    assert await store.kind_info("ja3") is None
    assert await store.settle("ja3") is None  # an unknown kind: nothing pending
    await store.insert_many("ja3", [f"s{n}" for n in range(50)], np.eye(50, 8, dtype=np.float32) + 0.5)
    info = present(await store.kind_info("ja3"))
    assert (info.kind, info.dim, info.metric, info.count) == ("ja3", 8, "l2", 50)
    # Only pgvector (with an index) defers work; with index="none" here, nothing is pending.
    assert await store.settle("ja3") is None
    with pytest.raises(errors.InvalidKind):
        await store.settle("Bad Kind")


async def test_settle_waits_for_pgvectors_deferred_index(pgvector_server: str, pgvector_schema: str) -> None:
    import datetime

    store = PgvectorVectorStore(
        pgvector_server, schema=pgvector_schema, index_delay_ms=3_600_000, **PG_TEST_SERVER_OPTIONS
    )
    await store.initialize()
    try:
        await store.insert_many("ja3", [f"s{n}" for n in range(200)], np.random.default_rng(1).random((200, 16), dtype=np.float32))
        took = await store.settle("ja3")
        assert isinstance(took, datetime.timedelta) and took >= datetime.timedelta(0)
        assert await store.settle("ja3") is None  # built: nothing pending any more
        assert present(await store.kind_info("ja3")).count == 200
    finally:
        await store.drop_kind("ja3")
        await store.close()
