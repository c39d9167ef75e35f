"""Many tasks and threads on one store at once, under asyncio, trio and anyio, and tasks
cancelled in the middle of a call."""

import asyncio
import pathlib
import threading

import anyio
import pytest
import trio

from decnet_vectorstore import FakeVectorStore, SqliteVecVectorStore, VectorStore

from conftest import present

TASKS = 100


async def hammer(store: VectorStore, n: int) -> None:
    """Writes its own id, reads it back and searches, checking each answer."""
    vector = [float(n), float(n % 7), 1.0]
    await store.insert("k", f"id-{n:03}", vector, extractor_version=1 + n % 3)
    record = present(await store.get("k", f"id-{n:03}"))
    assert record is not None and record.vector == tuple(vector) and record.extractor_version == 1 + n % 3
    hits = await store.knn("k", vector, k=1)
    assert hits[0].id == f"id-{n:03}" and hits[0].distance == 0.0


def stores(tmp_path: pathlib.Path) -> list[VectorStore]:
    return [FakeVectorStore(), SqliteVecVectorStore(tmp_path / "c.sqlite")]


@pytest.mark.parametrize("kind", ["fake", "sqlite_vec"])
def test_100_asyncio_tasks(tmp_path: pathlib.Path, kind: str) -> None:
    async def main() -> None:
        store = dict(zip(["fake", "sqlite_vec"], stores(tmp_path)))[kind]
        await store.initialize()
        await asyncio.gather(*(asyncio.create_task(hammer(store, n)) for n in range(TASKS)))
        health = await store.health()
        assert health["vectors"] == TASKS, health
        await store.close()

    asyncio.run(main())


@pytest.mark.parametrize("loop", ["asyncio", "trio"])
@pytest.mark.parametrize("kind", ["fake", "sqlite_vec"])
def test_100_anyio_tasks(tmp_path: pathlib.Path, kind: str, loop: str) -> None:
    async def main() -> None:
        store = dict(zip(["fake", "sqlite_vec"], stores(tmp_path)))[kind]
        await store.initialize()
        async with anyio.create_task_group() as group:
            for n in range(TASKS):
                group.start_soon(hammer, store, n)
        assert (await store.health())["vectors"] == TASKS
        await store.close()

    anyio.run(main, backend=loop)


@pytest.mark.parametrize("kind", ["fake", "sqlite_vec"])
def test_100_trio_tasks(tmp_path: pathlib.Path, kind: str) -> None:
    async def main() -> None:
        store = dict(zip(["fake", "sqlite_vec"], stores(tmp_path)))[kind]
        await store.initialize()
        async with trio.open_nursery() as nursery:
            for n in range(TASKS):
                nursery.start_soon(hammer, store, n)
        assert (await store.health())["vectors"] == TASKS
        await store.close()

    trio.run(main)


@pytest.mark.parametrize("loop", ["asyncio", "trio"])
def test_cancelled_calls_leave_the_store_whole(tmp_path: pathlib.Path, loop: str) -> None:
    """Tasks cancelled while their call runs in Rust (timeouts of a few hundred µs) leave every
    batch either wholly written or not at all, and the store keeps answering."""

    async def main() -> None:
        store = SqliteVecVectorStore(tmp_path / f"cancel-{loop}.sqlite")
        await store.initialize()
        await store.insert("k", "first", [0.0, 0.0, 0.0])
        cancelled = 0
        for batch in range(40):
            ids = [f"b{batch:02}-{n:03}" for n in range(300)]
            vectors = [[float(batch), float(n), 1.0] for n in range(300)]
            with anyio.move_on_after(0.0002 * (batch % 8)) as scope:
                await store.insert_many("k", ids, vectors)
            cancelled += scope.cancelled_caught
        counts: dict[str, int] = {}
        after = None
        while True:
            page = await store.scan("k", after, 1000)
            if not page:
                break
            for record in page:
                counts[record.id[:3]] = counts.get(record.id[:3], 0) + 1
            after = page[-1].id
        assert counts.pop("fir") == 1
        assert all(count == 300 for count in counts.values()), counts
        assert cancelled > 0, "no call was cancelled while running: the test proves nothing"
        hits = await store.knn("k", [0.0, 0.0, 0.0], k=1)
        assert hits[0].id == "first"
        await store.close()

    anyio.run(main, backend=loop)


def test_threads_each_with_an_event_loop_share_one_store(tmp_path: pathlib.Path) -> None:
    store = SqliteVecVectorStore(tmp_path / "t.sqlite")
    asyncio.run(store.initialize())
    failures = []

    def worker(first: int) -> None:
        async def run() -> None:
            await asyncio.gather(*(hammer(store, n) for n in range(first, first + 25)))

        try:
            asyncio.run(run())
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    threads = [threading.Thread(target=worker, args=(t * 25,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert asyncio.run(store.health())["vectors"] == TASKS
    asyncio.run(store.close())


def test_a_slow_call_does_not_block_the_event_loop(tmp_path: pathlib.Path) -> None:
    """While a big search runs in Rust, other coroutines keep running (the GIL is released)."""

    async def main() -> None:
        import numpy as np

        store = SqliteVecVectorStore(tmp_path / "slow.sqlite")
        await store.initialize()
        rng = np.random.default_rng(7)
        for start in range(0, 20_000, 10_000):
            ids = [f"v{i}" for i in range(start, start + 10_000)]
            await store.insert_many("big", ids, rng.random((10_000, 64), dtype=np.float32))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        tick_task = asyncio.create_task(ticker())
        searches = [store.knn("big", rng.random(64, dtype=np.float32).tolist(), k=100) for _ in range(8)]
        results = await asyncio.gather(*searches)
        tick_task.cancel()
        assert all(len(hits) == 100 for hits in results)
        assert ticks > 8, f"the event loop ran only {ticks} times during 8 searches"
        await store.close()

    asyncio.run(main())


@pytest.mark.parametrize("ending", ["collected", "kept to exit", "mid-call"])
def test_exit_without_close_does_not_crash(tmp_path: pathlib.Path, ending: str) -> None:
    """A store never closed (collected early, kept until interpreter exit, or exit while a call
    is still waiting) is closed by the package; the process exits cleanly."""
    import subprocess
    import sys

    script = f"""
import asyncio, decnet_vectorstore as dv
kept = []
async def main():
    s = dv.SqliteVecVectorStore({str(tmp_path / 'exit.sqlite')!r})
    await s.initialize()
    await s.insert("k", "a", [1.0, 2.0])
    await s.knn("k", [1.0, 2.0])
    if {ending!r} == "kept to exit":
        kept.append(s)
    if {ending!r} == "mid-call":
        kept.append(s)
        asyncio.ensure_future(s.insert_many("k", [str(n) for n in range(5000)], [[1.0, 2.0]] * 5000))
        await asyncio.sleep(0)
asyncio.run(main())
print("done")
"""
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stdout.strip()) == (0, "done"), result.stderr[-2000:]
