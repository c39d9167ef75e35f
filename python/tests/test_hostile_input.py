"""Hostile input reaching the package from Python: an answer too large to hold is refused
before any work (the process used to abort on allocation failure), passwords never show in
errors whatever the location's shape, and ids shaped to forge log lines are shown escaped
while stored unchanged."""

import os
import pathlib

import numpy as np
import pytest

from decnet_vectorstore import FakeVectorStore, SqliteVecVectorStore, VectorStore, errors
from decnet_vectorstore.factory import get_vectorstore

pytestmark = pytest.mark.anyio


async def test_a_batch_answer_over_the_limit_is_refused_before_any_work() -> None:
    store = FakeVectorStore()
    await store.initialize()
    await store.insert_many("ja3", [f"s{i}" for i in range(100)], np.ones((100, 4), dtype=np.float32))
    queries = np.ones((10_000, 4), dtype=np.float32)
    with pytest.raises(errors.LimitExceeded) as caught:
        await store.knn_batch("ja3", queries, k=10_000)
    assert "10000 queries" in str(caught.value), caught.value
    # Within the limit the same store answers.
    answers = await store.knn_batch("ja3", queries[:100], k=10_000)
    assert len(answers) == 100 and len(answers[0]) == 100
    await store.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgres://app:ab/cd?ef#gh@127.0.0.1:1/x?sslmode=disable",
        "host=127.0.0.1 port=1 password=ab/cd?ef#gh",
        "app:ab/cd?ef#gh@127.0.0.1:1/x",
    ],
)
async def test_passwords_never_show_whatever_the_location_shape(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("DECNET_VECTORSTORE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "pgvector")
    monkeypatch.setenv("DECNET_VECTORSTORE_URL", url)
    monkeypatch.setenv("DECNET_VECTORSTORE_PGVECTOR_ACQUIRE_TIMEOUT_MS", "200")
    shown: list[str] = []
    try:
        store = get_vectorstore()
        shown.append(repr(store))
        try:
            await store.initialize()
        except errors.VectorStoreError as err:
            shown.append(f"{err} {err.message} {err.context}")
        shown.append(str(await store.health()))
    except errors.VectorStoreError as err:
        shown.append(f"{err} {err.message} {err.context}")
    assert shown and not any("ab/cd" in text or "ef#gh" in text for text in shown), shown


async def test_ids_shaped_to_forge_log_lines_are_escaped_in_errors_and_stored_as_given(
    tmp_path: pathlib.Path,
) -> None:
    hostile = "a\nFAKE LOG LINE\x1b[31m"
    store: VectorStore = SqliteVecVectorStore(tmp_path / "hostile.sqlite")
    await store.initialize()
    await store.insert("ja3", hostile, [1.0, 2.0])
    # A batch error names the item's id in its context: shown escaped.
    with pytest.raises(errors.DimensionMismatch) as caught:
        await store.insert_many("ja3", ["b", hostile], np.ones((2, 3), dtype=np.float32))
    text = str(caught.value)
    assert "FAKE LOG LINE" in text or "batch item" in text, repr(text)
    assert "\n" not in text and "\x1b" not in text, repr(text)
    record = await store.get("ja3", hostile)
    assert record is not None and record.id == hostile
    await store.close()
