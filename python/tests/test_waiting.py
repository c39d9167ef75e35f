"""How a call that must wait reaches Python: a lone call may finish on the calling thread
(DECNET_VECTORSTORE_PYTHON_INLINE_WAIT_US), overlapping calls go through the event loop."""

import asyncio
import pathlib

import numpy as np
import pytest

import decnet_vectorstore as dv
from decnet_vectorstore import SqliteVecVectorStore, errors

from conftest import present

VARIABLE = "DECNET_VECTORSTORE_PYTHON_INLINE_WAIT_US"


def sqlite_store(monkeypatch: pytest.MonkeyPatch, path: pathlib.Path, inline_us: int | str | None) -> SqliteVecVectorStore:
    for key in ("DECNET_VECTORSTORE_TYPE", "DECNET_VECTORSTORE_PATH", "DECNET_VECTORSTORE_ENABLED", VARIABLE):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "sqlite_vec")
    monkeypatch.setenv("DECNET_VECTORSTORE_PATH", str(path))
    if inline_us is not None:
        monkeypatch.setenv(VARIABLE, str(inline_us))
    store = dv.get_vectorstore()
    assert isinstance(store, SqliteVecVectorStore)
    return store


def kind_of(awaitable: object) -> str:
    return type(awaitable).__name__


@pytest.mark.parametrize("value", ["-1", "abc", "100001", "0.5"])
def test_a_bad_inline_wait_is_a_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, value: str) -> None:
    with pytest.raises(errors.Config) as raised:
        sqlite_store(monkeypatch, tmp_path / "bad.sqlite", value)
    assert VARIABLE in str(raised.value) and f'"{value}"' in str(raised.value)


def test_a_lone_call_finishes_inline_and_zero_sends_every_call_through_the_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    async def main() -> None:
        # 100 ms: a lone sqlite call on any machine finishes well within it.
        inline = sqlite_store(monkeypatch, tmp_path / "inline.sqlite", 100_000)
        looped = sqlite_store(monkeypatch, tmp_path / "looped.sqlite", 0)
        for store in (inline, looped):
            await store.initialize()
            await store.insert("k", "a", [1.0, 2.0, 3.0])
        call = inline._native.knn("k", [1.0, 2.0, 3.0], 1, None, None)
        assert kind_of(call) == "Ready"
        assert [hit.id for hit in await call] == ["a"]
        call = looped._native.knn("k", [1.0, 2.0, 3.0], 1, None, None)
        assert kind_of(call) == "Waiting"
        assert [hit.id for hit in await call] == ["a"]
        for store in (inline, looped):
            await store.close()

    asyncio.run(main())


def test_calls_overlapping_a_waiting_one_go_through_the_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    async def main() -> None:
        looped = sqlite_store(monkeypatch, tmp_path / "slow.sqlite", 0)
        inline = sqlite_store(monkeypatch, tmp_path / "quick.sqlite", 100_000)
        for store in (looped, inline):
            await store.initialize()
        await inline.insert("k", "a", [1.0, 2.0, 3.0])
        rows = np.random.default_rng(3).random((10_000, 64), dtype=np.float32)
        slow = looped._native.insert_many("big", [f"v{n}" for n in range(10_000)], rows, None)
        assert kind_of(slow) == "Waiting"
        quick = inline._native.get("k", "a")
        assert kind_of(quick) == "Waiting", "a call made while another waits must not block the loop"
        record, _ = await asyncio.gather(quick, slow)
        assert present(record).id == "a"
        assert (await looped.health())["vectors"] == 10_000
        # Nothing in flight any more: a lone call finishes inline again.
        assert kind_of(inline._native.get("k", "a")) == "Ready"
        for store in (looped, inline):
            await store.close()

    asyncio.run(main())
