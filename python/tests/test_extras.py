"""The Rust extras from Python: insert_many (numpy and sequences), filtered search, kinds,
scan, create_kind / drop_kind, copy / verify, and the exception classes."""

import datetime
import pathlib
import re
import time
from array import array
from collections.abc import AsyncIterator

import anyio
import numpy as np
import pytest

import decnet_vectorstore
from decnet_vectorstore import (
    VECTORSTORE_SCHEMA_VERSION,
    FakeVectorStore,
    KindInfo,
    SqliteVecVectorStore,
    VectorStore,
    copy,
    errors,
    verify,
)

from conftest import present

pytestmark = pytest.mark.anyio


@pytest.fixture
async def fake() -> AsyncIterator[VectorStore]:
    s = FakeVectorStore()
    await s.initialize()
    yield s
    await s.close()


def test_schema_version_counts_the_write_time_layout() -> None:
    # 1 in the original; 2 since records carry the time they were last written.
    assert VECTORSTORE_SCHEMA_VERSION == 2


def test_every_error_kind_has_its_class() -> None:
    names = {
        "invalid_kind": "InvalidKind", "invalid_id": "InvalidId", "invalid_vector": "InvalidVector",
        "invalid_argument": "InvalidArgument", "dimension_mismatch": "DimensionMismatch",
        "metric_mismatch": "MetricMismatch", "metric_unsupported": "MetricUnsupported",
        "limit_exceeded": "LimitExceeded", "not_initialized": "NotInitialized", "closed": "Closed",
        "unavailable": "Unavailable", "incompatible_schema": "IncompatibleSchema", "config": "Config",
        "backend": "Backend",
    }
    assert {kind: cls.__name__ for kind, cls in errors.BY_KIND.items()} == names
    for cls in errors.BY_KIND.values():
        assert issubclass(cls, errors.VectorStoreError)
    assert issubclass(errors.DimensionMismatch, ValueError)
    assert issubclass(errors.Unavailable, ConnectionError)


async def test_insert_many_from_numpy_is_bit_exact(fake: VectorStore) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    ids = [f"s{n:04}" for n in range(500)]
    await fake.insert_many("ja3", ids, vectors, extractor_version=2)
    record = present(await fake.get("ja3", "s0123"))
    assert record.vector == tuple(vectors[123].tolist())
    assert record.extractor_version == 2
    for n in (0, 1, 255, 498, 499):  # rows at both ends of the buffer, read in place
        assert present(await fake.get("ja3", f"s{n:04}")).vector == tuple(vectors[n].tolist())
    # A strided (non-contiguous) view and a Fortran-ordered copy read the same rows.
    await fake.insert_many("strided", ids[:250], vectors[::2])
    assert present(await fake.get("strided", "s0100")).vector == tuple(vectors[200].tolist())
    await fake.insert_many("fortran", ids, np.asfortranarray(vectors))
    assert present(await fake.get("fortran", "s0499")).vector == tuple(vectors[499].tolist())
    # float64 arrays and lists of array("f") work too (through Python floats).
    await fake.insert_many("f64", ids[:2], vectors[:2].astype(np.float64))
    assert present(await fake.get("f64", "s0001")).vector == tuple(vectors[1].tolist())
    await fake.insert_many("arr", ["a", "b"], [array("f", [1, 2]), (3.0, 4.0)], extractor_version=[1, 5])
    assert [present(await fake.get("arr", i)).extractor_version for i in "ab"] == [1, 5]


async def test_an_array_is_validated_row_by_row_and_written_whole_or_not_at_all(fake: VectorStore) -> None:
    vectors = np.arange(40, dtype=np.float32).reshape(10, 4)
    ids = [f"r{n}" for n in range(10)]
    await fake.insert_many("rows", ids[:2], vectors[:2])
    bad = vectors.copy()
    bad[6, 3] = np.inf
    with pytest.raises(errors.InvalidVector, match="item 6"):
        await fake.insert_many("rows", ids, bad)
    with pytest.raises(errors.InvalidId, match="item 4"):
        await fake.insert_many("rows", ids[:4] + [""] + ids[5:], vectors)
    with pytest.raises(errors.DimensionMismatch):
        await fake.insert_many("rows", ids, np.ones((10, 3), dtype=np.float32))
    with pytest.raises(errors.InvalidVector):
        await fake.insert_many("rows", ids, np.ones((10, 0), dtype=np.float32))
    assert [info.count for info in await fake.kinds()] == [2]
    await fake.insert_many("rows", ids, vectors, extractor_version=4)
    assert present(await fake.get("rows", "r9")).vector == (36.0, 37.0, 38.0, 39.0)
    assert present(await fake.get("rows", "r0")).extractor_version == 4
    await fake.insert_many("rows", [], np.zeros((0, 4), dtype=np.float32))
    assert [info.count for info in await fake.kinds()] == [10]


async def test_knn_accepts_numpy_and_filters(fake: VectorStore) -> None:
    await fake.insert_many("k", ["a", "b", "c"], [[0.0], [1.0], [3.0]], extractor_version=[1, 2, 2])
    query = np.array([0.0], dtype=np.float32)
    assert [h.id for h in await fake.knn("k", query)] == ["a", "b", "c"]
    assert [h.id for h in await fake.knn("k", query, extractor_version=2)] == ["b", "c"]
    assert [h.id for h in await fake.knn("k", query, max_distance=1.0)] == ["a", "b"]
    assert [h.id for h in await fake.knn("k", query, k=1, extractor_version=2)] == ["b"]


async def test_knn_batch_answers_each_row_as_knn(fake: VectorStore) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((200, 8)).astype(np.float32)
    await fake.insert_many("b", [f"s{i:03}" for i in range(200)], vectors, extractor_version=[1, 2] * 100)
    queries = rng.standard_normal((25, 8)).astype(np.float32)
    for kwargs in ({}, {"k": 1}, {"k": 500}, {"k": 7, "extractor_version": 2}, {"max_distance": 2.5}):
        answers = await fake.knn_batch("b", queries, **kwargs)
        assert len(answers) == len(queries)
        for query, answer in zip(queries, answers):
            single = await fake.knn("b", query, **kwargs)
            assert [(h.id, h.distance) for h in answer] == [(h.id, h.distance) for h in single]
    assert await fake.knn_batch("b", np.zeros((0, 8), dtype=np.float32)) == []
    assert await fake.knn_batch("unknown", [[1.0] * 8, [2.0] * 8]) == [[], []]
    bad = queries.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="query 3"):
        await fake.knn_batch("b", bad)
    with pytest.raises(ValueError, match="query 1"):
        await fake.knn_batch("b", [[1.0] * 8, [1.0] * 3])


async def test_kinds_scan_create_and_drop(fake: VectorStore) -> None:
    info = await fake.create_kind("hassh", 3, metric="cosine")
    assert info == KindInfo(kind="hassh", dim=3, metric="cosine", count=0)
    with pytest.raises(errors.MetricMismatch):
        await fake.create_kind("hassh", 3, metric="l2")
    with pytest.raises(errors.InvalidVector):
        await fake.insert("hassh", "zero", [0.0, 0.0, 0.0])  # zero vector under cosine
    for n in range(5):
        await fake.insert("hassh", f"id{n}", [1.0, float(n), 0.0])
    kinds = await fake.kinds()
    assert [(k.kind, k.dim, k.metric, k.count) for k in kinds] == [("hassh", 3, "cosine", 5)]
    page = await fake.scan("hassh", limit=2)
    assert [r.id for r in page] == ["id0", "id1"]
    page = await fake.scan("hassh", after_id="id1", limit=10)
    assert [r.id for r in page] == ["id2", "id3", "id4"]
    assert await fake.drop_kind("hassh") is True
    assert await fake.drop_kind("hassh") is False
    assert await fake.kinds() == []


async def test_bulk_by_id_versions_and_write_times(fake: VectorStore) -> None:
    before = time.time_ns() // 1_000_000
    await fake.insert_many("ja3", ["a", "b", "c"], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], extractor_version=[1, 2, 2])
    after = time.time_ns() // 1_000_000
    got = await fake.get_many("ja3", ["c", "missing", "a"])
    assert [r and r.id for r in got] == ["c", None, "a"]
    assert all(before <= r.written_at_ms <= after for r in got if r is not None)
    assert await fake.delete_version("ja3", 2) == 2
    assert await fake.delete_many("ja3", ["a", "a", "zz"]) == 1
    assert await fake.kinds() == [KindInfo(kind="ja3", dim=2, metric="l2", count=0)]
    with pytest.raises(errors.InvalidArgument):
        await fake.delete_version("ja3", 0)


async def test_expire_by_age_and_by_cutoff(fake: VectorStore) -> None:
    await fake.insert("ja3", "old", [1.0, 0.0])
    written = present(await fake.get("ja3", "old")).written_at_ms
    while time.time_ns() // 1_000_000 <= written:
        await anyio.sleep(0.001)
    await fake.insert("hassh", "other", [1.0])
    assert await fake.expire("ja3", datetime.timedelta(days=1)) == 0
    assert await fake.expire("ja3", written_before_ms=written) == 0
    assert await fake.expire("ja3", written_before_ms=written + 1) == 1
    assert await fake.get("hassh", "other") is not None
    with pytest.raises(errors.InvalidArgument, match="future"):
        await fake.expire("ja3", written_before_ms=time.time_ns() // 1_000_000 + 60_000)
    with pytest.raises(errors.InvalidArgument):
        await fake.expire("ja3", -5.0)
    with pytest.raises(TypeError):
        await fake.expire("ja3")
    with pytest.raises(errors.InvalidKind):
        await fake.expire("JA3", 0)


async def test_copy_and_verify_between_backends(fake: VectorStore, tmp_path: pathlib.Path) -> None:
    await fake.insert_many("ja3", [f"s{n}" for n in range(50)], np.arange(100, dtype=np.float32).reshape(50, 2))
    target = SqliteVecVectorStore(tmp_path / "copy.sqlite")
    await target.initialize()
    report = await copy(fake, target, batch_size=7)
    assert report["written"] == 50
    assert (await verify(fake, target))["ok"] is True
    again = await copy(fake, target)
    assert again["written"] == 0 and again["kinds"][0]["unchanged"] == 50
    await target.delete("ja3", "s3")
    assert (await verify(fake, target))["ok"] is False
    with pytest.raises(errors.InvalidArgument):
        await copy(fake, target, batch_size=0)
    await target.close()


async def test_records_compare_by_value_and_are_immutable(fake: VectorStore) -> None:
    await fake.insert("k", "a", [1.0, 2.0], extractor_version=3)
    record = present(await fake.get("k", "a"))
    assert record == decnet_vectorstore.VectorRecord("k", "a", [1.0, 2.0], 2, 3, record.written_at_ms)
    assert record != decnet_vectorstore.VectorRecord("k", "a", [1.0, 2.0], 2, 3, record.written_at_ms + 1)
    with pytest.raises(AttributeError):
        record.written_at_ms = 0  # type: ignore[misc]
    assert await fake.knn("k", [1.0, 2.0]) == [decnet_vectorstore.Neighbor("k", "a", 0.0)]
    hit = (await fake.knn("k", [1.0, 2.0]))[0]
    with pytest.raises(AttributeError):
        hit.distance = 5.0  # type: ignore[misc]
    assert repr(fake) == "<FakeVectorStore backend='fake'>"


def project_backends() -> list[str]:
    """The project's backends: the Fake, the Null store and the one list in vectorstore/src/lib.rs."""
    source = (pathlib.Path(__file__).resolve().parents[2] / "vectorstore" / "src" / "lib.rs").read_text()
    listed = source[source.index("project_backends! {") :]
    listed = listed[: listed.index("\n}\n")]
    names: list[str] = re.findall(r'^\s*(\w+): feature "', listed, re.MULTILINE)
    assert names, "no backend found in the list"
    return ["fake", "null", *names]


def test_the_wheel_holds_every_backend_and_reports_capabilities(tmp_path: pathlib.Path) -> None:
    assert decnet_vectorstore.compiled_backends() == sorted(project_backends())
    sqlite = SqliteVecVectorStore(tmp_path / "caps.sqlite").capabilities()
    assert sqlite["metrics"] == ["l2", "cosine"] and sqlite["persistent"] is True
    assert FakeVectorStore().capabilities()["metrics"] == ["l2", "cosine", "dot"]
    qdrant = decnet_vectorstore.QdrantVectorStore("http://127.0.0.1:1", exact=True)
    assert qdrant.backend == "qdrant"
