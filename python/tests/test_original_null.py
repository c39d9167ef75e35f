"""The original package's test of the Null store."""

import pytest

from decnet_vectorstore.fake import NullVectorStore

pytestmark = pytest.mark.anyio


async def test_null_store_is_inert() -> None:
    s = NullVectorStore()
    await s.initialize()
    await s.insert("k", "a", [1.0, 2.0])
    assert await s.get("k", "a") is None
    assert await s.knn("k", [1.0, 2.0]) == []
    assert await s.delete("k", "a") is False
    assert await s.health() == {"ok": True, "backend": "null", "kinds": 0, "vectors": 0}
    await s.close()
