"""The original package's tests of the Fake store (its tests/vectorstore/test_fake.py), written
for this package from the original's list of cases: same calls, same
expectations, the stores imported from `decnet_vectorstore.fake` as DECNET's tests import them
from `decnet.vectorstore.fake`."""

from collections.abc import AsyncIterator

import pytest

from decnet_vectorstore import VectorStore
from decnet_vectorstore.fake import FakeVectorStore

from conftest import present

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store() -> AsyncIterator[VectorStore]:
    s = FakeVectorStore()
    await s.initialize()
    yield s
    await s.close()


async def test_fake_roundtrip(store: VectorStore) -> None:
    await store.insert("ja3", "sess-1", [0.1, 0.2, 0.3])
    rec = present(await store.get("ja3", "sess-1"))
    assert rec is not None
    assert rec.kind == "ja3"
    assert rec.id == "sess-1"
    assert rec.dim == 3
    assert list(rec.vector) == pytest.approx([0.1, 0.2, 0.3])


async def test_fake_knn_orders_by_distance(store: VectorStore) -> None:
    await store.insert("k", "near", [1.0, 0.0])
    await store.insert("k", "exact", [0.99, 0.01])
    await store.insert("k", "far", [0.0, 1.0])
    hits = await store.knn("k", [1.0, 0.0], k=3)
    assert [h.id for h in hits] == ["near", "exact", "far"]
    assert hits[0].distance == pytest.approx(0.0)


async def test_fake_knn_unknown_kind_empty(store: VectorStore) -> None:
    assert await store.knn("nope", [1.0, 2.0]) == []


async def test_fake_insert_dim_mismatch_raises(store: VectorStore) -> None:
    await store.insert("k", "a", [1.0, 2.0])
    with pytest.raises(ValueError, match="dim mismatch"):
        await store.insert("k", "b", [1.0, 2.0, 3.0])


async def test_fake_query_dim_mismatch_raises(store: VectorStore) -> None:
    await store.insert("k", "a", [1.0, 2.0])
    with pytest.raises(ValueError, match="dim mismatch"):
        await store.knn("k", [1.0, 2.0, 3.0])


async def test_fake_replace_existing(store: VectorStore) -> None:
    await store.insert("k", "a", [1.0, 0.0])
    await store.insert("k", "a", [0.0, 1.0])
    rec = present(await store.get("k", "a"))
    assert list(rec.vector) == [0.0, 1.0]


async def test_fake_delete(store: VectorStore) -> None:
    await store.insert("k", "a", [1.0])
    assert await store.delete("k", "a") is True
    assert await store.delete("k", "a") is False
    assert await store.get("k", "a") is None


async def test_fake_health_counts(store: VectorStore) -> None:
    h = await store.health()
    assert h == {"ok": True, "backend": "fake", "kinds": 0, "vectors": 0}
    await store.insert("a", "1", [1.0])
    await store.insert("a", "2", [2.0])
    await store.insert("b", "1", [1.0, 2.0])
    h = await store.health()
    assert h["kinds"] == 2
    assert h["vectors"] == 3
