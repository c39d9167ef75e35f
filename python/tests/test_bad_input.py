"""Bad input from Python raises a Python exception (typed, naming the value) and never crashes
the interpreter or changes stored data."""

import math
import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest

from decnet_vectorstore import FakeVectorStore, NullVectorStore, SqliteVecVectorStore, VectorStore, errors

from conftest import present

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["fake", "null", "sqlite_vec"])
async def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[VectorStore]:
    makers: dict[str, Callable[[], VectorStore]] = {
        "fake": FakeVectorStore,
        "null": NullVectorStore,
        "sqlite_vec": lambda: SqliteVecVectorStore(tmp_path / "bad.sqlite"),
    }
    s = makers[request.param]()
    await s.initialize()
    yield s
    await s.close()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300])
async def test_non_finite_components_are_invalid_vector(store: VectorStore, bad: float) -> None:
    with pytest.raises(errors.InvalidVector) as caught:
        await store.insert("k", "a", [1.0, bad])
    assert caught.value.kind == "invalid_vector"
    assert isinstance(caught.value, ValueError)
    with pytest.raises(errors.InvalidVector):
        await store.knn("k", np.array([1.0, bad]))
    with pytest.raises(errors.InvalidVector):
        await store.knn("k", np.array([1.0, bad]).astype(np.float32) if math.isinf(bad) or math.isnan(bad) else [bad])


@pytest.mark.parametrize(
    "vector, exception",
    [
        ("abc", TypeError),
        (b"\x00\x00\x80?", TypeError),
        (["1", 2.0], TypeError),
        ([None], TypeError),
        (object(), TypeError),
        (42, TypeError),
        ([], errors.InvalidVector),
        ([0.5] * 5000, errors.InvalidVector),
        (np.zeros((2, 2), dtype=np.float32), TypeError),
    ],
)
async def test_wrong_vector_types_raise(store: VectorStore, vector: Any, exception: type[Exception]) -> None:
    with pytest.raises(exception):
        await store.insert("k", "a", vector)


@pytest.mark.parametrize(
    "kind, id, exception",
    [
        ("Bad-Kind", "a", errors.InvalidKind),
        ("", "a", errors.InvalidKind),
        ("k" * 49, "a", errors.InvalidKind),
        ("k", "", errors.InvalidId),
        ("k", "x" * 513, errors.InvalidId),
        ("k", "x" * 10_000_000, errors.InvalidId),
        ("k", "a\x00b", errors.InvalidId),
        (7, "a", TypeError),
        ("k", None, TypeError),
        ("k", "\ud800", UnicodeEncodeError),
    ],
)
async def test_bad_kinds_and_ids_raise(store: VectorStore, kind: Any, id: Any, exception: type[Exception]) -> None:
    with pytest.raises(exception):
        await store.insert(kind, id, [1.0, 2.0])


async def test_bad_numbers_raise(store: VectorStore) -> None:
    with pytest.raises(errors.InvalidArgument):
        await store.insert("k", "a", [1.0], extractor_version=0)
    with pytest.raises(errors.InvalidArgument):
        await store.insert("k", "a", [1.0], extractor_version=-1)
    with pytest.raises(errors.InvalidArgument):
        await store.insert("k", "a", [1.0], extractor_version=2**40)
    with pytest.raises(OverflowError):
        await store.insert("k", "a", [1.0], extractor_version=2**80)
    with pytest.raises(errors.InvalidArgument):
        await store.knn("k", [1.0], k=10_001)
    with pytest.raises((OverflowError, errors.InvalidArgument)):
        await store.knn("k", [1.0], k=2**100)
    with pytest.raises(TypeError):
        await store.knn("k", [1.0], k="ten")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument):
        await store.scan("k", limit=-1)
    with pytest.raises(errors.InvalidArgument):
        await store.create_kind("k", -3)
    with pytest.raises(errors.InvalidArgument):
        await store.create_kind("k", 3, metric="manhattan")


async def test_bad_batches_raise_and_write_nothing(store: VectorStore) -> None:
    await store.insert("k", "keep", [1.0, 1.0])
    before = await store.health()
    with pytest.raises(errors.InvalidArgument):
        await store.insert_many("k", ["a", "b"], [[1.0, 2.0]])
    with pytest.raises(errors.InvalidVector):
        await store.insert_many("k", ["a", "b"], np.array([[1.0, 2.0], [np.nan, 1.0]], dtype=np.float32))
    if store.backend != "null":  # the Null store keeps no dimensions
        with pytest.raises(errors.DimensionMismatch):
            await store.insert_many("k", ["a", "b"], np.ones((2, 3), dtype=np.float32))
    with pytest.raises(errors.InvalidArgument):
        await store.insert_many("k", ["a"], [[1.0, 2.0]], extractor_version=[1, 2])
    with pytest.raises(TypeError):
        await store.insert_many("k", "ab", [[1.0, 2.0], [1.0, 2.0]])
    with pytest.raises(TypeError):
        await store.insert_many("k", ["a"], np.ones((1, 2, 2), dtype=np.float32))
    ids = [f"i{n}" for n in range(10_001)]
    with pytest.raises(errors.InvalidArgument):
        await store.insert_many("k", ids, np.ones((10_001, 2), dtype=np.float32))
    assert await store.health() == before
    if store.backend != "null":
        assert present(await store.get("k", "keep")).vector == (1.0, 1.0)


async def test_calls_after_close_raise_closed(store: VectorStore) -> None:
    await store.close()
    with pytest.raises(errors.Closed):
        await store.insert("k", "a", [1.0])
    assert (await store.health())["ok"] is False


async def test_calls_before_initialize_raise_not_initialized(tmp_path: pathlib.Path) -> None:
    store = SqliteVecVectorStore(tmp_path / "later.sqlite")
    with pytest.raises(errors.NotInitialized) as caught:
        await store.get("k", "a")
    assert isinstance(caught.value, RuntimeError)
    assert await store.health() == {"ok": False, "backend": "sqlite_vec", "kinds": None, "vectors": None, "reason": "not initialized"}
